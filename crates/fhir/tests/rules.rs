//! One defect per rule, on small resources: the R4 core and FR Core packages plus a test
//! package (`tests/fixtures/segur.test#0.1.0`, made here) with a Patient profile that slices
//! closed, ordered and open-at-end, fixes a value, narrows cardinalities and binds a local
//! hierarchical CodeSystem with an `is-a` filter.

mod common;

use std::path::Path;
use std::sync::OnceLock;

use segur_fhir::{InvariantEngine, InvariantError, InvariantFocus, Packages, Validator};
use segur_finding::{Finding, Severity};
use serde_json::{Value, json};

const PROFILE: &str = "http://segur.test/StructureDefinition/test-patient";

/// The shared packages and the test package, side by side (symbolic links in a temp dir).
fn packages() -> &'static Packages {
    static P: OnceLock<(tempfile::TempDir, Packages)> = OnceLock::new();
    &P.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        for name in ["hl7.fhir.r4.core#4.0.1", "hl7.fhir.fr.core#2.1.0"] {
            std::os::unix::fs::symlink(
                common::shared().join("packages").join(name),
                dir.path().join(name),
            )
            .expect("link");
        }
        std::os::unix::fs::symlink(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/segur.test#0.1.0"),
            dir.path().join("segur.test#0.1.0"),
        )
        .expect("link");
        let p = Packages::open(dir.path()).expect("packages");
        (dir, p)
    })
    .1
}

fn run(v: &Value) -> Vec<Finding> {
    Validator::new(packages()).validate_value(v, &[])
}

fn has(findings: &[Finding], rule: &str, path: &str) -> bool {
    findings
        .iter()
        .any(|f| f.rule == rule && f.location.xpath.as_deref() == Some(path))
}

#[track_caller]
fn expect(v: Value, rule: &str, path: &str) {
    let f = run(&v);
    assert!(has(&f, rule, path), "{rule} at {path} expected in {f:#?}");
}

fn patient(extra: Value) -> Value {
    let mut p = json!({
        "resourceType": "Patient",
        "meta": {"profile": [PROFILE]},
        "identifier": [{"system": "urn:a", "value": "1"}, {"system": "urn:b", "value": "2"}],
        "gender": "female",
    });
    if let (Some(p), Some(e)) = (p.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            p.insert(k.clone(), v.clone());
        }
    }
    p
}

#[test]
fn the_test_profile_accepts_a_conforming_patient() {
    let f = run(&patient(json!({})));
    let errors: Vec<_> = f.iter().filter(|f| f.severity == Severity::Error).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn slicing_rules() {
    expect(
        patient(
            json!({"identifier": [{"system": "urn:a"}, {"system": "urn:b"}, {"system": "urn:c"}]}),
        ),
        "FHIR-SLICE-CLOSED",
        "Patient.identifier[2]",
    );
    expect(
        patient(json!({"identifier": [{"system": "urn:b"}, {"system": "urn:a"}]})),
        "FHIR-SLICE-ORDER",
        "Patient.identifier[1]",
    );
    expect(
        patient(
            json!({"identifier": [{"system": "urn:a"}, {"system": "urn:a"}, {"system": "urn:b"}]}),
        ),
        "FHIR-SLICE-MAX",
        "Patient.identifier[1]",
    );
    expect(
        patient(json!({"identifier": [{"system": "urn:b"}]})),
        "FHIR-SLICE-MIN",
        "Patient.identifier",
    );
    expect(
        patient(
            json!({"telecom": [{"system": "fax", "value": "1"}, {"system": "phone", "value": "2"}]}),
        ),
        "FHIR-SLICE-OPENATEND",
        "Patient.telecom[1]",
    );
    let ok = run(&patient(
        json!({"telecom": [{"system": "phone", "value": "2"}, {"system": "fax", "value": "1"}]}),
    ));
    assert!(
        !ok.iter().any(|f| f.rule == "FHIR-SLICE-OPENATEND"),
        "{ok:#?}"
    );
}

#[test]
fn cardinality_fixed_types_and_json_shape() {
    expect(
        patient(json!({"name": [{"family": "A"}, {"family": "B"}]})),
        "FHIR-CARD-MAX",
        "Patient.name[1]",
    );
    expect(
        patient(json!({"gender": "male"})),
        "FHIR-FIXED",
        "Patient.gender",
    );
    expect(
        patient(json!({"gender": ["female"]})),
        "FHIR-JSON-ARRAY",
        "Patient.gender",
    );
    expect(
        patient(json!({"name": {"family": "A"}})),
        "FHIR-JSON-ARRAY",
        "Patient.name",
    );
    expect(
        patient(json!({"deceasedString": "yes"})),
        "FHIR-TYPE",
        "Patient.deceasedString",
    );
    expect(
        patient(json!({"active": "true"})),
        "FHIR-TYPE",
        "Patient.active",
    );
    expect(
        patient(json!({"multipleBirthInteger": 0})),
        "FHIR-ELEMENT-UNKNOWN",
        "Patient.multipleBirthInteger",
    );
    assert!(
        run(&json!({"resourceType": "Nope"}))
            .iter()
            .any(|f| f.rule == "FHIR-RESOURCE-TYPE")
    );
    expect(
        json!({"resourceType": "Patient", "meta": {"profile": ["http://nowhere/x"]}}),
        "FHIR-PROFILE-UNKNOWN",
        "Patient",
    );
    expect(
        json!({"resourceType": "Patient", "meta": {"profile": ["http://hl7.org/fhir/StructureDefinition/Observation"]}}),
        "FHIR-PROFILE-TYPE",
        "Patient",
    );
}

#[test]
fn bindings_with_a_local_is_a_expansion() {
    let coded = |code: &str| {
        patient(
            json!({"maritalStatus": {"coding": [{"system": "http://segur.test/CodeSystem/tree", "code": code}]}}),
        )
    };
    for inside in ["root", "child", "grandchild"] {
        let f = run(&coded(inside));
        assert!(
            !f.iter().any(|f| f.rule.starts_with("FHIR-BINDING")),
            "{inside}: {f:#?}"
        );
    }
    expect(
        coded("other"),
        "FHIR-BINDING-REQUIRED",
        "Patient.maritalStatus",
    );
    expect(
        json!({"resourceType": "Observation", "status": "finished", "code": {"text": "x"}}),
        "FHIR-BINDING-REQUIRED",
        "Observation.status",
    );
}

#[test]
fn displays_are_checked_against_local_code_systems() {
    let coded = |display: &str| {
        patient(
            json!({"maritalStatus": {"coding": [{"system": "http://segur.test/CodeSystem/tree", "code": "child", "display": display}]}}),
        )
    };
    for ok in ["Child", " enfant "] {
        let f = run(&coded(ok));
        assert!(!f.iter().any(|f| f.rule == "FHIR-DISPLAY"), "{ok}: {f:#?}");
    }
    expect(
        coded("Kid"),
        "FHIR-DISPLAY",
        "Patient.maritalStatus.coding[0].display",
    );
    // LOINC is not in the packages: its displays are not checked.
    let f = run(&json!({"resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6", "display": "anything"}]}}));
    assert!(!f.iter().any(|f| f.rule == "FHIR-DISPLAY"), "{f:#?}");
}

#[test]
fn a_required_binding_to_an_absent_value_set_is_a_warning() {
    let f = run(&patient(json!({"language": "fr"})));
    assert!(
        has(&f, "FHIR-VALUESET-UNKNOWN", "Patient.language"),
        "{f:#?}"
    );
    assert!(f.iter().all(|f| f.severity != Severity::Error), "{f:#?}");
}

#[test]
fn codes_that_cannot_be_checked_offline_are_said_so() {
    let f = run(&json!({"resourceType": "Binary", "contentType": "application/x-segur"}));
    assert!(
        has(&f, "FHIR-BINDING-NOT-CHECKED", "Binary.contentType"),
        "{f:#?}"
    );
    assert!(f.iter().all(|f| f.severity != Severity::Error), "{f:#?}");
}

#[test]
fn references() {
    expect(
        patient(json!({"managingOrganization": {"reference": "#nope"}})),
        "FHIR-REF-CONTAINED",
        "Patient.managingOrganization",
    );
    expect(
        patient(
            json!({"contained": [{"resourceType": "Practitioner", "id": "p"}],
                       "managingOrganization": {"reference": "#p"}}),
        ),
        "FHIR-REF-TARGET",
        "Patient.managingOrganization",
    );
    expect(
        patient(json!({"managingOrganization": {"reference": "Organization/o1"}})),
        "FHIR-REF-AGGREGATION",
        "Patient.managingOrganization",
    );
    expect(
        json!({"resourceType": "Bundle", "type": "collection", "entry": [
            {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Patient",
                "managingOrganization": {"reference": "urn:uuid:2"}}}]}),
        "FHIR-REF-BUNDLE",
        "Bundle.entry[0].resource.managingOrganization",
    );
    let ok = run(
        &json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Patient",
            "managingOrganization": {"reference": "urn:uuid:2"}}},
        {"fullUrl": "urn:uuid:2", "resource": {"resourceType": "Organization"}},
        {"fullUrl": "http://x/Patient/3", "resource": {"resourceType": "Patient", "id": "3",
            "managingOrganization": {"reference": "Organization/elsewhere"}}}]}),
    );
    assert!(!ok.iter().any(|f| f.severity == Severity::Error), "{ok:#?}");
}

#[test]
fn extensions() {
    let f = run(&json!({"resourceType": "Patient",
        "extension": [{"url": "http://segur.test/unknown", "valueString": "x"}]}));
    assert!(
        has(&f, "FHIR-EXTENSION-UNKNOWN", "Patient.extension[0]"),
        "{f:#?}"
    );
    assert!(f.iter().all(|f| f.severity != Severity::Error), "{f:#?}");
    expect(
        json!({"resourceType": "Patient", "extension": [{"valueString": "x"}]}),
        "FHIR-EXTENSION-URL",
        "Patient.extension[0]",
    );
    // A known extension is validated against its definition (birthPlace takes an Address).
    expect(
        json!({"resourceType": "Patient", "extension": [
            {"url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace", "valueString": "x"}]}),
        "FHIR-TYPE",
        "Patient.extension[0].valueString",
    );
}

struct Always(Result<bool, InvariantError>);

impl InvariantEngine for Always {
    fn evaluate(&self, _: &str, _: &InvariantFocus<'_>) -> Result<bool, InvariantError> {
        self.0.clone()
    }
}

#[test]
fn invariants_go_through_the_engine() {
    let p = json!({"resourceType": "Patient", "gender": "female"});
    let without = Validator::new(packages()).validate_value(&p, &[]);
    let keys: Vec<&Finding> = without
        .iter()
        .filter(|f| f.rule == "FHIR-INVARIANT-NOT-EVALUATED")
        .collect();
    assert!(
        keys.iter()
            .any(|f| f.message.starts_with("invariant dom-3 ")),
        "{keys:#?}"
    );
    assert!(keys.iter().all(|f| f.severity == Severity::Info));
    let ele1 = keys
        .iter()
        .filter(|f| f.message.starts_with("invariant ele-1 "))
        .count();
    assert_eq!(ele1, 1, "one finding per key per resource");

    let failing = Validator::new(packages()).with_invariants(Box::new(Always(Ok(false))));
    let f = failing.validate_value(&p, &[]);
    assert!(f.iter().any(|f| f.rule == "FHIR-INVARIANT"
        && f.message.starts_with("dom-6:")
        && f.severity == Severity::Warning));
    assert!(f.iter().any(|f| f.rule == "FHIR-INVARIANT"
        && f.message.starts_with("ele-1:")
        && f.severity == Severity::Error));
    assert!(!f.iter().any(|f| f.rule == "FHIR-INVARIANT-NOT-EVALUATED"));

    let holding = Validator::new(packages()).with_invariants(Box::new(Always(Ok(true))));
    assert!(
        !holding
            .validate_value(&p, &[])
            .iter()
            .any(|f| f.rule.starts_with("FHIR-INVARIANT"))
    );

    let unsupported = Validator::new(packages()).with_invariants(Box::new(Always(Err(
        InvariantError::Unsupported {
            what: "htmlChecks()".into(),
        },
    ))));
    let f = unsupported.validate_value(&p, &[]);
    assert!(f.iter().any(|f| f.rule == "FHIR-INVARIANT-NOT-EVALUATED" && f.message.contains("htmlChecks()")));
}

#[test]
fn hostile_nesting_is_bounded() {
    let mut v = json!({"resourceType": "Patient"});
    for _ in 0..200 {
        v = json!({"resourceType": "Patient", "contained": [v]});
    }
    let f = run(&v);
    assert!(f.iter().any(|f| f.rule == "FHIR-LIMIT"), "no limit finding");
}

#[test]
fn the_fhirpath_engine_finds_broken_invariants_where_they_are() {
    let v = Validator::new(packages()).with_fhirpath();
    let p = json!({"resourceType": "Patient",
        "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},
        "contained": [{"resourceType": "Practitioner", "id": "lost",
            "meta": {"versionId": "2"}}],
        "name": [{"family": "Durand", "period": {"start": "2020-01-02", "end": "2019-12-31"}}]});
    let f = v.validate_value(&p, &[]);
    let failed: Vec<(&str, Option<&str>, Severity)> = f
        .iter()
        .filter(|f| f.rule == "FHIR-INVARIANT")
        .map(|f| {
            (
                f.message.split(':').next().unwrap_or(""),
                f.location.xpath.as_deref(),
                f.severity,
            )
        })
        .collect();
    assert!(
        failed.contains(&("dom-3", Some("Patient"), Severity::Error)),
        "{failed:?}"
    );
    assert!(
        failed.contains(&("dom-4", Some("Patient"), Severity::Error)),
        "{failed:?}"
    );
    assert!(
        failed.contains(&("per-1", Some("Patient.name[0].period"), Severity::Error)),
        "{failed:?}"
    );
    // The contained Practitioner has no narrative, as contained resources should not (R4
    // DomainResource.text): no dom-6 on it.
    assert_eq!(failed.len(), 3, "{failed:?}");
    assert!(
        !f.iter().any(|f| f.rule == "FHIR-INVARIANT-NOT-EVALUATED"),
        "{f:#?}"
    );

    // Repaired, nothing fails and nothing is left unevaluated.
    let ok = json!({"resourceType": "Patient",
        "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},
        "name": [{"family": "Durand", "period": {"start": "2019-12-31", "end": "2020-01-02"}}]});
    let f = v.validate_value(&ok, &[]);
    assert!(
        !f.iter().any(|f| f.rule.starts_with("FHIR-INVARIANT")),
        "{f:#?}"
    );
}

#[test]
fn dom6_warns_on_resources_without_narrative_but_not_on_contained_ones() {
    let v = Validator::new(packages()).with_fhirpath();
    let p = json!({"resourceType": "Patient",
        "contained": [{"resourceType": "Practitioner", "id": "gp"}],
        "generalPractitioner": [{"reference": "#gp"}]});
    let dom6: Vec<Option<String>> = v
        .validate_value(&p, &[])
        .into_iter()
        .filter(|f| f.rule == "FHIR-INVARIANT" && f.message.starts_with("dom-6:"))
        .map(|f| f.location.xpath)
        .collect();
    assert_eq!(dom6, [Some("Patient".to_string())]);
}

#[test]
fn the_engine_type_model_is_r4_core() {
    use segur_fhirpath::Model;
    let engine = segur_fhir::FhirPathEngine::new(packages());
    let core = common::shared().join("packages/hl7.fhir.r4.core#4.0.1/package");
    let reference = segur_fhirpath::StructureDefinitionModel::from_package_dir(&core).unwrap();
    let model = engine.model();
    assert_eq!(model.types_read(), 0, "read on demand");
    assert!(model.type_count() > 200, "{}", model.type_count());
    for (parent, element, ty) in [
        ("Patient", "birthDate", "date"),
        ("Patient", "contact", "Patient.contact"),
        ("Patient.contact", "name", "HumanName"),
        ("Questionnaire.item", "item", "Questionnaire.item"),
        ("Period", "start", "dateTime"),
    ] {
        assert_eq!(
            model.element_type(parent, element),
            Some(ty),
            "{parent}.{element}"
        );
        assert_eq!(
            reference.element_type(parent, element),
            Some(ty),
            "{parent}.{element}"
        );
    }
    assert!(model.is_subtype("Age", "Quantity"));
    assert!(model.is_subtype("Age", "Element"));
    assert!(model.is_subtype("Patient", "DomainResource"));
    assert!(!model.is_subtype("Quantity", "Age"));
    // Only the types asked about (and their bases) were read.
    assert!(
        (4..=12).contains(&model.types_read()),
        "{}",
        model.types_read()
    );
    // Read type by type, it knows what the whole-package model knows, for every type.
    for ty in [
        "Patient",
        "Bundle",
        "Questionnaire",
        "Observation",
        "Timing",
        "Dosage",
    ] {
        for element in [
            "id",
            "extension",
            "text",
            "contained",
            "code",
            "status",
            "item",
            "repeat",
            "value",
        ] {
            assert_eq!(
                model.element_type(ty, element),
                reference.element_type(ty, element),
                "{ty}.{element}"
            );
            assert_eq!(
                model.has_element(ty, element),
                reference.has_element(ty, element),
                "{ty}.{element}"
            );
        }
    }
}

/// A finding's rule, element path, line and column.
type Placed = (String, Option<String>, Option<u32>, Option<u32>);

/// The errors of `text` (JSON) with their places.
fn placed_errors(v: &Validator<'_>, text: &str) -> Vec<Placed> {
    let doc = segur_fhir::json::parse(text.as_bytes(), segur_fhir::Limits::default()).unwrap();
    v.validate(&doc, &[])
        .into_iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| (f.rule, f.location.xpath, f.location.line, f.location.column))
        .collect()
}

#[test]
fn companions_of_non_primitive_elements_are_errors_with_a_place() {
    let v = Validator::new(packages()).with_fhirpath();
    let text = r##"{
  "resourceType": "Patient",
  "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},
  "contained": [{"resourceType": "Practitioner", "id": "gp"}],
  "_contained": [{"id": "c1"}],
  "generalPractitioner": [{"reference": "#gp"}],
  "name": [{"family": "Durand"}],
  "_name": [{"id": "n1"}],
  "birthDate": "1974-12-25",
  "_birthDate": {"id": "b1"}
}"##;
    let errors = placed_errors(&v, text);
    let at = |path: &str, line, column| {
        (
            "FHIR-ELEMENT-UNKNOWN".to_string(),
            Some(path.to_string()),
            Some(line),
            Some(column),
        )
    };
    // Only the two structural errors: no dom-3 from the companion of `contained`, and a
    // primitive's companion (`_birthDate`) is still fine.
    assert_eq!(
        errors,
        [at("Patient._contained", 5, 17), at("Patient._name", 8, 12)],
        "{errors:#?}"
    );
    // A companion of `contained` alone was read as a contained resource with an id that
    // nothing references (dom-3).
    let text = r##"{"resourceType": "Patient",
  "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},
  "_contained": [{"id": "c1"}]}"##;
    let errors = placed_errors(&v, text);
    assert_eq!(errors, [at("Patient._contained", 3, 17)], "{errors:#?}");
}

#[test]
fn numbers_out_of_range_are_findings_at_their_place_shown_as_written() {
    let v = Validator::new(packages());
    let check = |number: &str, shown: &str, why: &str| {
        let text =
            format!("{{\"resourceType\": \"Patient\",\n  \"multipleBirthInteger\": {number}\n}}");
        let doc = segur_fhir::json::parse(text.as_bytes(), segur_fhir::Limits::default())
            .unwrap_or_else(|e| panic!("{number}: unreadable: {e}"));
        let f: Vec<Finding> = v
            .validate(&doc, &[])
            .into_iter()
            .filter(|f| f.rule == "FHIR-PRIMITIVE-FORMAT")
            .collect();
        assert_eq!(f.len(), 1, "{number}: {f:#?}");
        assert_eq!(
            f[0].location.xpath.as_deref(),
            Some("Patient.multipleBirthInteger")
        );
        assert_eq!(
            (f[0].location.line, f[0].location.column),
            (Some(2), Some(27))
        );
        assert_eq!(
            f[0].message,
            format!("Patient.multipleBirth[x]: {shown} is not a valid integer ({why})"),
        );
    };
    let range = "out of range -2147483648..2147483647";
    check("1E400", "1e+400", "not an integer");
    check(
        "100000000000000000000000",
        "100000000000000000000000",
        range,
    );
    check("2147483648", "2147483648", range);
    check("-99999999999999999999", "-99999999999999999999", range);
    check("2.50", "2.50", "not an integer");
    // A decimal keeps its digits: beyond f64 is no error for a FHIR decimal.
    let text = br#"{"resourceType": "Observation", "status": "final",
        "code": {"text": "x"}, "valueQuantity": {"value": 1e400}}"#;
    let doc = segur_fhir::json::parse(text, segur_fhir::Limits::default()).unwrap();
    let f = v.validate(&doc, &[]);
    assert!(!f.iter().any(|f| f.severity == Severity::Error), "{f:#?}");
}

#[test]
fn a_local_reference_to_nothing_is_reported_once_per_place() {
    // PDSm's SubmissionSet List: the intended-recipient extension is walked against the List
    // profile's slice and against the extension's own definition; its reference was
    // reported once for each.
    let text = std::fs::read_to_string(
        common::shared().join("examples/valid/pdsm311-List-ExampleSubmissionSet.json"),
    )
    .expect("example")
    .replace("\"#practitionerrole-example\"", "\"#nope\"");
    let doc = segur_fhir::json::parse(text.as_bytes(), segur_fhir::Limits::default()).unwrap();
    let mut places: Vec<String> = common::validator()
        .validate(&doc, &[])
        .into_iter()
        .filter(|f| f.rule == "FHIR-REF-CONTAINED")
        .filter_map(|f| f.location.xpath)
        .collect();
    places.sort();
    assert_eq!(places, ["List.extension[3].valueReference", "List.source"]);
}

#[test]
fn a_reference_url_naming_a_type_the_element_does_not_allow() {
    expect(
        json!({"resourceType": "Patient", "managingOrganization": {"reference": "Practitioner/1"}}),
        "FHIR-REF-TARGET",
        "Patient.managingOrganization",
    );
    expect(
        json!({"resourceType": "Patient", "generalPractitioner": [{"reference": "Organization/1"},
            {"reference": "https://x.example/fhir/Patient/2/_history/3"}]}),
        "FHIR-REF-TARGET",
        "Patient.generalPractitioner[1]",
    );
    // Allowed types, conditional, urn: and unknown-type references: nothing to say.
    let ok = run(&json!({"resourceType": "Patient",
        "managingOrganization": {"reference": "https://x.example/fhir/Organization/o.1"},
        "generalPractitioner": [{"reference": "Practitioner/1/_history/2"},
            {"reference": "PractitionerRole?identifier=x"}, {"reference": "urn:uuid:1"},
            {"reference": "Nonsense/1"}],
        "link": [{"other": {"reference": "RelatedPerson/r"}, "type": "seealso"}]}));
    assert!(!ok.iter().any(|f| f.severity == Severity::Error), "{ok:#?}");
}

#[test]
fn resource_ids_must_be_fhir_ids() {
    let long = "a".repeat(65);
    let f = run(&json!({"resourceType": "Patient", "id": "bad id!",
        "contained": [{"resourceType": "Practitioner", "id": long}, {"resourceType": "Organization", "id": "ok-1.2"}],
        "generalPractitioner": [{"reference": format!("#{long}")}],
        "managingOrganization": {"reference": "#ok-1.2"}}));
    let ids: Vec<&str> = f
        .iter()
        .filter(|f| f.rule == "FHIR-RESOURCE-ID")
        .filter_map(|f| f.location.xpath.as_deref())
        .collect();
    assert_eq!(ids, ["Patient.id", "Patient.contained[0].id"], "{f:#?}");
    let ok = run(&json!({"resourceType": "Patient", "id": "A-z.09"}));
    assert!(!ok.iter().any(|f| f.severity == Severity::Error), "{ok:#?}");
}
