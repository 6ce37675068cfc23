//! References resolved inside the document are validated against their `targetProfile`s
//! (`FHIR-REF-PROFILE`): on contained resources and Bundle entries, any of several profiles
//! of the target's type will do, reference cycles end, a (target, profile) pair is validated
//! once, and a profile absent from the packages is said not checked. The profiles are made
//! here from the R4 core snapshots (a temp package beside R4 core).

mod common;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use segur_fhir::package::Kind;
use segur_fhir::{InvariantEngine, InvariantError, InvariantFocus, Packages, Validator};
use segur_finding::Finding;
use serde_json::{Value, json};

const BASE: &str = "http://segur.test/StructureDefinition/";

/// A profile of a core type, from its snapshot: `min` raised to 1 on `required` elements, and
/// `targetProfile`s set on reference elements.
fn derive(
    core: &Packages,
    ty: &str,
    name: &str,
    required: &[&str],
    targets: &[(&str, &[&str])],
) -> Value {
    let mut sd = (*core
        .resource(
            Kind::StructureDefinition,
            &format!("http://hl7.org/fhir/StructureDefinition/{ty}"),
        )
        .expect("core type"))
    .clone();
    sd["url"] = json!(format!("{BASE}{name}"));
    sd["name"] = json!(name);
    sd["derivation"] = json!("constraint");
    sd["baseDefinition"] = json!(format!("http://hl7.org/fhir/StructureDefinition/{ty}"));
    for e in sd["snapshot"]["element"].as_array_mut().expect("snapshot") {
        let path = e["path"].as_str().unwrap_or("").to_string();
        if required.contains(&path.as_str()) {
            e["min"] = json!(1);
        }
        if let Some((_, profiles)) = targets.iter().find(|(p, _)| *p == path) {
            let urls: Vec<String> = profiles
                .iter()
                .map(|p| {
                    if p.contains(':') {
                        p.to_string()
                    } else {
                        format!("{BASE}{p}")
                    }
                })
                .collect();
            e["type"] = json!([{"code": "Reference", "targetProfile": urls}]);
        }
    }
    sd
}

/// R4 core and the test profiles, side by side in a temp folder.
fn packages() -> &'static Packages {
    static P: OnceLock<(tempfile::TempDir, Packages)> = OnceLock::new();
    &P.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let core = "hl7.fhir.r4.core#4.0.1";
        std::os::unix::fs::symlink(
            common::shared().join("packages").join(core),
            dir.path().join(core),
        )
        .expect("link");
        let pkg = dir.path().join("segur.targets#0.1.0/package");
        std::fs::create_dir_all(&pkg).expect("package folder");
        std::fs::write(
            pkg.join("package.json"),
            r#"{"name": "segur.targets", "version": "0.1.0", "canonical": "http://segur.test"}"#,
        )
        .expect("package.json");
        let c = common::packages();
        let profiles = [
            derive(
                c,
                "Practitioner",
                "tp-practitioner",
                &["Practitioner.active"],
                &[],
            ),
            derive(
                c,
                "Practitioner",
                "tp-practitioner-strict",
                &["Practitioner.gender"],
                &[],
            ),
            derive(
                c,
                "Organization",
                "tp-organization",
                &["Organization.active"],
                &[("Organization.partOf", &["tp-organization"])],
            ),
            derive(
                c,
                "Patient",
                "tp-patient",
                &[],
                &[
                    (
                        "Patient.generalPractitioner",
                        &[
                            "tp-practitioner",
                            "tp-practitioner-strict",
                            "tp-organization",
                        ],
                    ),
                    ("Patient.managingOrganization", &["tp-organization"]),
                    (
                        "Patient.link.other",
                        &["http://segur.test/StructureDefinition/absent"],
                    ),
                ],
            ),
        ];
        for p in &profiles {
            std::fs::write(
                pkg.join(format!(
                    "StructureDefinition-{}.json",
                    p["name"].as_str().unwrap()
                )),
                serde_json::to_vec(p).unwrap(),
            )
            .expect("profile");
        }
        let p = Packages::open(dir.path()).expect("packages");
        (dir, p)
    })
    .1
}

fn run(v: &Value) -> Vec<Finding> {
    Validator::new(packages()).validate_value(v, &[])
}

/// The `FHIR-REF-PROFILE` findings: (path, message).
fn mismatches(f: &[Finding]) -> Vec<(String, String)> {
    f.iter()
        .filter(|f| f.rule == "FHIR-REF-PROFILE")
        .map(|f| {
            (
                f.location.xpath.clone().unwrap_or_default(),
                f.message.clone(),
            )
        })
        .collect()
}

fn patient(contained: Value, extra: Value) -> Value {
    let mut p = json!({"resourceType": "Patient", "meta": {"profile": [format!("{BASE}tp-patient")]},
        "contained": contained});
    for (k, v) in extra.as_object().unwrap() {
        p[k] = v.clone();
    }
    p
}

#[test]
fn a_contained_target_must_conform_to_its_target_profile() {
    let bad = patient(
        json!([{"resourceType": "Practitioner", "id": "gp"}]),
        json!({"generalPractitioner": [{"reference": "#gp"}]}),
    );
    let m = mismatches(&run(&bad));
    assert_eq!(m.len(), 1, "{m:#?}");
    assert_eq!(m[0].0, "Patient.generalPractitioner[0]");
    for piece in [
        "a Practitioner at Patient.contained[0]",
        "tp-practitioner: FHIR-CARD-MIN Patient.contained[0].active",
        "tp-practitioner-strict: FHIR-CARD-MIN Patient.contained[0].gender",
        "choices: http://segur.test/StructureDefinition/tp-practitioner, http://segur.test/StructureDefinition/tp-practitioner-strict, http://segur.test/StructureDefinition/tp-organization",
    ] {
        assert!(m[0].1.contains(piece), "{piece} not in {}", m[0].1);
    }
    // The target's own validation (base Practitioner) has nothing to say.
    assert!(!run(&bad).iter().any(|f| f.rule == "FHIR-CARD-MIN"));
}

#[test]
fn any_target_profile_of_the_type_will_do() {
    for gp in [
        json!({"resourceType": "Practitioner", "id": "gp", "active": true}),
        json!({"resourceType": "Practitioner", "id": "gp", "gender": "female"}),
    ] {
        let ok = patient(
            json!([gp]),
            json!({"generalPractitioner": [{"reference": "#gp"}]}),
        );
        let f = run(&ok);
        assert!(mismatches(&f).is_empty(), "{f:#?}");
    }
}

#[test]
fn a_bundle_entry_target_must_conform_to_its_target_profile() {
    let bundle = |active: Value| {
        json!({"resourceType": "Bundle", "type": "collection", "entry": [
            {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Patient",
                "meta": {"profile": [format!("{BASE}tp-patient")]},
                "managingOrganization": {"reference": "urn:uuid:2"}}},
            {"fullUrl": "urn:uuid:2", "resource": {"resourceType": "Organization", "active": active}}]})
    };
    let m = mismatches(&run(&bundle(Value::Null)));
    assert_eq!(m.len(), 1, "{m:#?}");
    assert_eq!(m[0].0, "Bundle.entry[0].resource.managingOrganization");
    assert!(
        m[0].1
            .contains("an Organization at Bundle.entry[1].resource")
            || m[0]
                .1
                .contains("a Organization at Bundle.entry[1].resource"),
        "{}",
        m[0].1
    );
    assert!(mismatches(&run(&bundle(json!(true)))).is_empty());
}

#[test]
fn reference_cycles_end_and_nested_mismatches_count() {
    // a.partOf → b, b.partOf → a: the check of a needs b's, which needs a's (being decided).
    let orgs = |b_active: bool| {
        patient(
            json!([
                {"resourceType": "Organization", "id": "a", "active": true, "partOf": {"reference": "#b"}},
                {"resourceType": "Organization", "id": "b", "active": b_active, "partOf": {"reference": "#a"}}
            ]),
            json!({"managingOrganization": {"reference": "#a"}}),
        )
    };
    assert!(mismatches(&run(&orgs(true))).is_empty());
    let mut broken = orgs(true);
    broken["contained"][1]
        .as_object_mut()
        .unwrap()
        .remove("active");
    let m = mismatches(&run(&broken));
    assert_eq!(m.len(), 1, "{m:#?}");
    assert_eq!(m[0].0, "Patient.managingOrganization");
    // a fails because its partOf (b) does.
    assert!(
        m[0].1
            .contains("FHIR-REF-PROFILE Patient.contained[0].partOf"),
        "{}",
        m[0].1
    );
}

/// Counts the evaluations of invariants on one element path.
struct Counting {
    path: &'static str,
    count: AtomicUsize,
}

impl InvariantEngine for Counting {
    fn evaluate(&self, _: &str, focus: &InvariantFocus<'_>) -> Result<bool, InvariantError> {
        if focus.path == self.path {
            self.count.fetch_add(1, Ordering::Relaxed);
        }
        Ok(true)
    }
}

#[test]
fn a_target_is_validated_once_per_profile() {
    let count = |references: usize| {
        let p = patient(
            json!([{"resourceType": "Practitioner", "id": "gp", "active": true}]),
            json!({"generalPractitioner": vec![json!({"reference": "#gp"}); references]}),
        );
        let engine: &'static Counting = Box::leak(Box::new(Counting {
            path: "Patient.contained[0]",
            count: AtomicUsize::new(0),
        }));
        let v = Validator::new(packages()).with_invariants(Box::new(Shared(engine)));
        v.validate_value(&p, &[]);
        engine.count.load(Ordering::Relaxed)
    };
    let once = count(1);
    assert!(once > 0, "the target's invariants are evaluated");
    assert_eq!(
        count(20),
        once,
        "20 references to one target: validated once"
    );
}

/// An engine shared by reference.
struct Shared(&'static Counting);

impl InvariantEngine for Shared {
    fn evaluate(&self, e: &str, focus: &InvariantFocus<'_>) -> Result<bool, InvariantError> {
        self.0.evaluate(e, focus)
    }
}

#[test]
fn an_absent_target_profile_is_said_not_checked() {
    let p = patient(
        json!([{"resourceType": "Patient", "id": "other"}]),
        json!({"link": [{"other": {"reference": "#other"}, "type": "seealso"}]}),
    );
    let f = run(&p);
    assert!(mismatches(&f).is_empty(), "{f:#?}");
    assert!(
        f.iter().any(|f| f.rule == "FHIR-REF-PROFILE-NOT-CHECKED"
            && f.location.xpath.as_deref() == Some("Patient.link[0].other")
            && f.message.contains("absent not in the packages")),
        "{f:#?}"
    );
}

#[test]
fn a_long_chain_of_references_is_bounded() {
    // 400 Organizations, each partOf the next: far deeper than the validator's limit.
    let n = 400;
    let entries: Vec<Value> = (0..n)
        .map(|i| {
            let mut org = json!({"resourceType": "Organization", "active": true,
                "meta": {"profile": [format!("{BASE}tp-organization")]}});
            if i + 1 < n {
                org["partOf"] = json!({"reference": format!("urn:uuid:{}", i + 1)});
            }
            json!({"fullUrl": format!("urn:uuid:{i}"), "resource": org})
        })
        .collect();
    let b = json!({"resourceType": "Bundle", "type": "collection", "entry": entries});
    let f = std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || run(&b))
        .unwrap()
        .join()
        .expect("no stack overflow");
    assert!(mismatches(&f).is_empty(), "{:#?}", mismatches(&f));
    assert!(
        f.iter()
            .any(|f| f.rule == "FHIR-REF-PROFILE-NOT-CHECKED" && f.message.contains("too deep")),
        "the undecided end of the chain is said so"
    );
}
