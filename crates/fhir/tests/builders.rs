//! The builders' resources conform to their FR Core profiles, and segur-exchange's MHD
//! ITI-65 builder's Bundle conforms to the PDSm profiles.

mod common;

use segur_fhir::build::{organization_finess, patient_ins, practitioner_rpps};
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
fn finess_organization_conforms() {
    no_errors(
        &organization_finess("750712184", "Hôpital de test", "org"),
        "organization",
    );
}

#[test]
fn rpps_practitioner_conforms() {
    no_errors(
        &practitioner_rpps("10001234567", "MARTIN", "Claire", "pr"),
        "practitioner",
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
        // Bindings that cannot be decided offline are said so, not passed silently.
        assert!(
            findings
                .iter()
                .any(|f| f.rule == "FHIR-BINDING-NOT-CHECKED")
        );
    }
}
