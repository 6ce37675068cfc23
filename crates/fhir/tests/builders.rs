//! The builders' resources conform to their FR Core profiles, and segur-exchange's MHD
//! ITI-65 builder's Bundle conforms to the PDSm profiles.

mod common;

use segur_fhir::build::{organization_finess, patient_ins, practitioner_rpps};
use segur_finding::Severity;
use segur_ins::Generator;

fn no_errors(v: &serde_json::Value, what: &str) {
    let findings = common::validator().validate_value(v, &[]);
    let errors = common::errors(&findings);
    assert!(errors.is_empty(), "{what}: {errors:#?}");
}

#[test]
fn ins_patients_conform_to_fr_core_patient_ins() {
    let mut g = Generator::new(7);
    for i in 0..50 {
        let id = g.next_identity();
        let p = patient_ins(&id, &format!("p{i}"));
        no_errors(&p, &format!("patient {i} ({})", id.matricule.as_str()));
        assert_eq!(p["identifier"][0]["system"], id.oid.fhir_system());
        assert_eq!(p["birthDate"], id.traits.birth_date.to_iso());
    }
}

#[test]
fn a_patient_without_its_ins_is_caught() {
    let mut p = patient_ins(&Generator::new(1).next_identity(), "p");
    p["identifier"][0]["system"] = "urn:oid:1.2.3".into();
    let findings = common::validator().validate_value(&p, &[]);
    assert!(
        common::errors(&findings)
            .iter()
            .any(|f| f.rule == "FHIR-PATTERN"
                && f.location.xpath.as_deref() == Some("Patient.identifier[0].system")),
        "{findings:#?}"
    );
}

#[test]
fn an_extension_value_of_the_wrong_type_is_one_finding_per_defect() {
    // The birth place extension is checked against the Patient slice and against its own
    // profile: each defect once, not once per definition.
    let mut p = patient_ins(&Generator::new(1).next_identity(), "p");
    let extensions = p["extension"].as_array_mut().expect("extensions");
    let birth_place = extensions
        .iter_mut()
        .find(|e| e.get("valueAddress").is_some())
        .expect("an extension with an Address");
    let address = birth_place
        .as_object_mut()
        .expect("object")
        .remove("valueAddress");
    assert!(address.is_some());
    birth_place["valueString"] = "BORDEAUX".into();
    let findings = common::validator().validate_value(&p, &[]);
    let errors = common::errors(&findings);
    let mut rules: Vec<&str> = errors.iter().map(|f| f.rule.as_str()).collect();
    rules.sort_unstable();
    assert_eq!(rules, ["FHIR-CARD-MIN", "FHIR-TYPE"], "{errors:#?}");
}

/// The pattern[x] of an element of a profile, read from the packages.
fn pattern(profile: &str, id: &str) -> serde_json::Value {
    let sd = common::packages().structure(profile).expect(profile);
    let e = sd.by_id(id).map(|i| &sd.elements[i]).expect(id);
    e.pattern.clone().or(e.fixed.clone()).expect("a pattern")
}

const FR: &str = "https://hl7.fr/ig/fhir/core/StructureDefinition/";

#[test]
fn finess_organization_conforms_and_fills_fr_core_slices() {
    let o = organization_finess("750712184", "Hôpital de test", "org");
    no_errors(&o, "organization");
    // Open slicing accepts any identifier: check that these land in the FR Core slices.
    let profile = format!("{FR}fr-core-organization");
    let nat = pattern(&profile, "Organization.identifier:idNatSt.system");
    assert_eq!(o["identifier"][0]["system"], nat);
    let t = pattern(&profile, "Organization.identifier:idNatSt.type");
    assert_eq!(
        o["identifier"][0]["type"]["coding"][0]["code"],
        t["coding"][0]["code"]
    );
    let fin = pattern(&profile, "Organization.identifier:finess.system");
    assert_eq!(o["identifier"][1]["system"], fin);
}

#[test]
fn rpps_practitioner_conforms_and_fills_fr_core_slices() {
    let p = practitioner_rpps("10001234567", "MARTIN", "Claire", "pr");
    no_errors(&p, "practitioner");
    let profile = format!("{FR}fr-core-practitioner");
    assert_eq!(
        p["identifier"][0]["system"],
        pattern(&profile, "Practitioner.identifier:idNatPs.system")
    );
    assert_eq!(
        p["identifier"][1]["system"],
        pattern(&profile, "Practitioner.identifier:rpps.system")
    );
    let t = pattern(&profile, "Practitioner.identifier:rpps.type");
    assert_eq!(
        p["identifier"][1]["type"]["coding"][0]["code"],
        t["coding"][0]["code"]
    );
}

#[test]
fn the_ins_identifier_fills_its_fr_core_slice() {
    let id = Generator::new(9).next_identity();
    let p = patient_ins(&id, "p");
    let profile = format!("{FR}fr-core-patient-ins");
    let slice = match id.oid {
        segur_ins::InsOid::Nir => "INS-NIR",
        segur_ins::InsOid::Nia => "INS-NIA",
        segur_ins::InsOid::TestNir => "INS-NIR-TEST",
        segur_ins::InsOid::DemoNir => "INS-NIR-DEMO",
    };
    let t = pattern(&profile, &format!("Patient.identifier:{slice}.type"));
    assert!(
        p["identifier"][0]["type"]["coding"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["code"] == t["coding"][0]["code"] && c["system"] == t["coding"][0]["system"])
    );
    assert_eq!(
        p["identifier"][0]["system"],
        pattern(&profile, &format!("Patient.identifier:{slice}.system"))
    );
}

/// segur-exchange builds the ITI-65 Bundle (not copied here): validate its output against
/// PDSm `pdsm-comprehensive-provide-document-bundle` and the profiles of its entries.
#[test]
fn exchange_mhd_bundle_conforms_to_pdsm() {
    let doc_type = segur_cda::DocType::from_name("cr-bio").unwrap();
    let mut g = Generator::new(3);
    for i in 0..5 {
        let identity = g.next_identity();
        let mut rng = segur_ins::SeedRng::new(i);
        let cda = segur_cda::build(doc_type, &identity, &mut rng);
        let input = segur_exchange::package::Input {
            name: "cr-bio.xml".into(),
            bytes: cda.to_bytes(),
            header: None,
        };
        let options = segur_exchange::package::Options {
            now: 1_767_225_600,
            ..Default::default()
        };
        let bytes = segur_exchange::mhd::build(&[input], &options).unwrap();
        let doc = segur_fhir::json::parse(&bytes, segur_fhir::Limits::default()).unwrap();
        assert_eq!(
            doc.value["meta"]["profile"][0],
            "https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/pdsm-comprehensive-provide-document-bundle"
        );
        let findings = common::validator().validate(&doc, &[]);
        let errors = common::errors(&findings);
        assert!(errors.is_empty(), "bundle {i}: {errors:#?}");
        // Every invariant that applies is evaluated, and none fails but `dom-6`, a warning:
        // segur-exchange writes no narrative (`text`) in the resources it builds.
        let invariants: Vec<_> = findings
            .iter()
            .filter(|f| f.rule.starts_with("FHIR-INVARIANT"))
            .filter(|f| !(f.message.starts_with("dom-6:") && f.severity == Severity::Warning))
            .collect();
        assert!(invariants.is_empty(), "bundle {i}: {invariants:#?}");
        // Bindings that cannot be decided offline are said so, not passed silently.
        assert!(
            findings
                .iter()
                .any(|f| f.rule == "FHIR-BINDING-NOT-CHECKED")
        );
    }
}

/// A TDDUI Bundle for `identity` carrying a segur-built CDA document of type `name`.
fn tddui(identity: &segur_ins::Identity, name: &str, seed: u64) -> (serde_json::Value, Vec<u8>) {
    let doc_type = segur_cda::DocType::from_name(name).unwrap();
    let mut rng = segur_ins::SeedRng::new(seed);
    let cda = segur_cda::build(doc_type, identity, &mut rng.fork());
    let bytes = cda.to_bytes();
    let attachment = segur_fhir::build::CdaAttachment::of(&cda, &bytes);
    let bundle = segur_fhir::build::tddui_bundle(identity, &[attachment], &mut rng);
    (bundle, bytes)
}

const TDDUI_BUNDLE: &str =
    "https://interop.esante.gouv.fr/ig/fhir/tddui/StructureDefinition/tddui-bundle";

/// TDDUI 1.1.0-ballot bundles built from INS identities and segur CDA documents (the
/// médico-social `fludt` and an N1 type) validate with zero errors against `tddui-bundle`,
/// invariants included, for several seeds; the CDA travels intact as the attachment.
#[test]
fn tddui_bundles_conform_to_tddui_bundle() {
    use base64::Engine as _;
    for seed in [1u64, 2, 17, 4242, 99_999] {
        let identity = Generator::new(seed).next_identity();
        for name in ["fludt", "n1-cr-bio"] {
            let (bundle, cda) = tddui(&identity, name, seed);
            assert_eq!(bundle["meta"]["profile"][0], TDDUI_BUNDLE);
            let findings = common::validator().validate_value(&bundle, &[]);
            let errors = common::errors(&findings);
            assert!(errors.is_empty(), "seed {seed} {name}: {errors:#?}");
            // The invariants were evaluated: none fails but `dom-6` (no narrative), a warning.
            let invariants: Vec<_> = findings
                .iter()
                .filter(|f| f.rule.starts_with("FHIR-INVARIANT"))
                .filter(|f| !(f.message.starts_with("dom-6:") && f.severity == Severity::Warning))
                .collect();
            assert!(invariants.is_empty(), "seed {seed} {name}: {invariants:#?}");
            let entries = bundle["entry"].as_array().unwrap();
            assert_eq!(entries.len(), 2);
            let doc = &entries[1]["resource"];
            assert_eq!(doc["subject"]["reference"], entries[0]["fullUrl"]);
            assert_eq!(
                entries[0]["resource"]["identifier"][0]["value"],
                identity.matricule.as_str()
            );
            let data = doc["content"][0]["attachment"]["data"].as_str().unwrap();
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(data)
                .unwrap();
            assert_eq!(
                decoded, cda,
                "seed {seed} {name}: the attachment is the CDA"
            );
            assert_eq!(doc["content"][0]["attachment"]["size"], cda.len());
        }
    }
}

/// The same seed gives the same Bundle, byte for byte.
#[test]
fn tddui_bundles_are_reproducible() {
    let identity = Generator::new(5).next_identity();
    assert_eq!(
        tddui(&identity, "fludt", 5).0,
        tddui(&identity, "fludt", 5).0
    );
    assert_ne!(
        tddui(&identity, "fludt", 5).0,
        tddui(&identity, "fludt", 6).0
    );
}

/// The validator really checks the built bundle against the TDDUI profiles: a
/// DocumentReference without its required `masterIdentifier`, or one carrying an
/// `identifier` the profile forbids, leaves the `DUIDocumentReference` slice empty or the
/// resource invalid, and the Bundle gets errors.
#[test]
fn a_broken_tddui_document_reference_is_caught() {
    let identity = Generator::new(8).next_identity();
    let (bundle, _) = tddui(&identity, "fludt", 8);
    let mut no_master = bundle.clone();
    no_master["entry"][1]["resource"]
        .as_object_mut()
        .unwrap()
        .remove("masterIdentifier");
    let mut with_identifier = bundle.clone();
    with_identifier["entry"][1]["resource"]["identifier"] =
        serde_json::json!([{"system": "urn:ietf:rfc:3986", "value": "urn:oid:1.2.3"}]);
    let mut get = bundle;
    get["entry"][1]["request"]["method"] = "GET".into();
    for (what, b) in [
        ("no masterIdentifier", no_master),
        ("an identifier", with_identifier),
        ("a GET request", get),
    ] {
        let findings = common::validator().validate_value(&b, &[]);
        assert!(
            !common::errors(&findings).is_empty(),
            "{what}: {findings:#?}"
        );
    }
}
