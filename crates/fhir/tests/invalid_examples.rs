//! Every example of `examples/invalid` (ORIGINS.tsv says its one defect) is caught with the
//! right rule at the right element path, and with nothing else as an error.

mod common;

fn caught(file: &str, rule: &str, path: &str) {
    let findings = common::validate_file(&format!("invalid/{file}"));
    let errors = common::errors(&findings);
    let shown: Vec<String> = errors
        .iter()
        .map(|f| format!("{} {:?} {}", f.rule, f.location.xpath, f.message))
        .collect();
    assert_eq!(errors.len(), 1, "{file}: {shown:#?}");
    let f = errors[0];
    assert_eq!(f.rule, rule, "{file}: {shown:#?}");
    assert_eq!(
        f.location.xpath.as_deref(),
        Some(path),
        "{file}: {shown:#?}"
    );
    assert!(f.location.line.is_some() && f.location.column.is_some());
}

#[test]
fn ins_no_identifier() {
    caught(
        "ins-no-identifier.json",
        "FHIR-CARD-MIN",
        "Patient.identifier",
    );
}

#[test]
fn ins_bad_gender() {
    caught(
        "ins-bad-gender.json",
        "FHIR-BINDING-REQUIRED",
        "Patient.gender",
    );
}

#[test]
fn ins_no_birthdate() {
    caught(
        "ins-no-birthdate.json",
        "FHIR-CARD-MIN",
        "Patient.birthDate",
    );
}

#[test]
fn ins_bad_birthdate_format() {
    caught(
        "ins-bad-birthdate-format.json",
        "FHIR-PRIMITIVE-FORMAT",
        "Patient.birthDate",
    );
}

#[test]
fn ins_unknown_element() {
    caught(
        "ins-unknown-element.json",
        "FHIR-ELEMENT-UNKNOWN",
        "Patient.foo",
    );
}

#[test]
fn ins_no_name() {
    caught("ins-no-name.json", "FHIR-CARD-MIN", "Patient.name");
}

#[test]
fn ins_wrong_ins_system() {
    // The INS-NIR slice is chosen by the identifier type; its system has a pattern.
    caught(
        "ins-wrong-ins-system.json",
        "FHIR-PATTERN",
        "Patient.identifier[0].system",
    );
}

#[test]
fn iti65_no_type() {
    caught("iti65-no-type.json", "FHIR-CARD-MIN", "Bundle.type");
}

#[test]
fn iti65_type_document() {
    caught("iti65-type-document.json", "FHIR-PATTERN", "Bundle.type");
}

#[test]
fn iti65_no_submissionset() {
    caught(
        "iti65-no-submissionset.json",
        "FHIR-SLICE-MIN",
        "Bundle.entry",
    );
}

#[test]
fn iti65_docref_bad_status() {
    caught(
        "iti65-docref-bad-status.json",
        "FHIR-BINDING-REQUIRED",
        "Bundle.entry[1].resource.status",
    );
}

#[test]
fn every_invalid_example_has_a_test() {
    let dir = common::shared().join("examples/invalid");
    let n = std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "json")
        })
        .count();
    assert_eq!(n, 11);
}
