//! Every example of `examples/invalid` (ORIGINS.tsv says its one defect, made on a published
//! example) is caught with the right rule at the right element path: exactly one error more
//! than the published example it was made from has, besides the failed invariants that the
//! same defect breaks (listed per example: an INS Patient without its INS identifier fails
//! FR Core's `fr-core-1`; a Bundle without `type` or of type `document` fails `bdl-*`) and the
//! references to the broken resource whose targetProfile it no longer meets
//! (`FHIR-REF-PROFILE`, its message giving the defect).

mod common;

/// The published example each broken one was made from (ORIGINS.tsv).
fn original(file: &str) -> &'static str {
    if file.starts_with("ins-") {
        "valid/pdsm-iti65-Patient-fr-patient-123.json"
    } else {
        "valid/pdsm-iti65-Bundle-bundle-exemple-comprehensiveprovidedocument-replace.json"
    }
}

fn caught(file: &str, rule: &str, path: &str) {
    caught_with(file, rule, path, &[]);
}

/// [`caught`], the defect also failing exactly these invariants (at the resource).
fn caught_with(file: &str, rule: &str, path: &str, invariants: &[&str]) {
    caught_all(file, rule, path, invariants, &[]);
}

/// [`caught_with`], the defect also making the references at `references` point to a
/// resource that no longer conforms to their targetProfile.
fn caught_all(file: &str, rule: &str, path: &str, invariants: &[&str], references: &[&str]) {
    let findings = common::validate_file(&format!("invalid/{file}"));
    let before = common::validate_file(original(file));
    let known: Vec<(String, Option<String>)> = common::errors(&before)
        .iter()
        .map(|f| (f.rule.clone(), f.location.xpath.clone()))
        .collect();
    let (failed, errors): (Vec<_>, Vec<_>) = common::errors(&findings)
        .into_iter()
        .filter(|f| !known.contains(&(f.rule.clone(), f.location.xpath.clone())))
        .partition(|f| f.rule == "FHIR-INVARIANT");
    let keys: Vec<&str> = failed
        .iter()
        .filter_map(|f| f.message.split(':').next())
        .collect();
    assert_eq!(keys, invariants, "{file}: failed invariants");
    let resource = path.split(['.', '[']).next();
    assert!(
        failed
            .iter()
            .all(|f| f.location.xpath.as_deref() == resource),
        "{file}: invariants fail at the resource"
    );
    let (mismatches, errors): (Vec<_>, Vec<_>) = errors
        .into_iter()
        .partition(|f| f.rule == "FHIR-REF-PROFILE");
    let at: Vec<&str> = mismatches
        .iter()
        .filter_map(|f| f.location.xpath.as_deref())
        .collect();
    assert_eq!(at, references, "{file}: references to the broken resource");
    for m in &mismatches {
        assert!(
            m.message.contains(&format!("{rule} {path} ")),
            "{file}: the mismatch names the defect: {}",
            m.message
        );
    }
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
    caught_with(
        "ins-no-identifier.json",
        "FHIR-CARD-MIN",
        "Patient.identifier",
        &["fr-core-1"],
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
    caught_with(
        "ins-wrong-ins-system.json",
        "FHIR-PATTERN",
        "Patient.identifier[0].system",
        &["fr-core-1"],
    );
}

#[test]
fn iti65_no_type() {
    // Without a type, `entry.request` is neither required nor prohibited: bdl-3/bdl-4 fail.
    caught_with(
        "iti65-no-type.json",
        "FHIR-CARD-MIN",
        "Bundle.type",
        &["bdl-3", "bdl-4"],
    );
}

#[test]
fn iti65_type_document() {
    // A `document` Bundle: requests are prohibited, and an identifier, a timestamp and a
    // Composition first are required.
    caught_with(
        "iti65-type-document.json",
        "FHIR-PATTERN",
        "Bundle.type",
        &["bdl-3", "bdl-9", "bdl-10", "bdl-11"],
    );
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
    // The SubmissionSet's entry must be a PDSm DocumentReference (or Folder).
    caught_all(
        "iti65-docref-bad-status.json",
        "FHIR-BINDING-REQUIRED",
        "Bundle.entry[1].resource.status",
        &[],
        &["Bundle.entry[0].resource.entry[0].item"],
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
