//! HL7's FHIRPath test suite for R4, run as data (fetched by scripts/fetch-fhirpath-tests.sh,
//! not committed), with a known-failures list that can only shrink: a failure not on the list
//! fails the test, and so does a listed test that now passes.
//!
//! The suite's location: `SEGUR_FHIRPATH_SUITE` (the XML file), else
//! `target/fhirpath-tests/r4/tests-fhir-r4.xml`. When it is absent the test is skipped, except
//! under CI (`CI` set), where it fails.

#[path = "support/suite_runner.rs"]
mod suite_runner;

use std::collections::BTreeSet;
use std::path::PathBuf;

use segur_fhirpath::StructureDefinitionModel;

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn official_fhirpath_r4_suite() {
    let xml = std::env::var_os("SEGUR_FHIRPATH_SUITE")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/fhirpath-tests/r4/tests-fhir-r4.xml"));
    if !xml.is_file() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is missing: run scripts/fetch-fhirpath-tests.sh",
            xml.display()
        );
        eprintln!(
            "skipped: {} is missing (scripts/fetch-fhirpath-tests.sh fetches it)",
            xml.display()
        );
        return;
    }
    let core = workspace_root().join("../shared/fhir/packages/hl7.fhir.r4.core#4.0.1/package");
    let model = StructureDefinitionModel::from_package_dir(&core)
        .expect("the R4 core package beside the repository");
    // A fixed clock: now() and today() only need to be later than the suite's dates.
    let now_ms = 1_790_000_000_000;
    let outcomes = suite_runner::run_suite(&xml, Some(&model), now_ms).expect("suite");
    let known: BTreeSet<&str> = include_str!("official-known-failures.txt")
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .collect();
    let mut unexpected = Vec::new();
    let mut now_passing = Vec::new();
    for o in &outcomes {
        let id = format!("{}/{}", o.group, o.name);
        match (o.passed, known.contains(id.as_str())) {
            (false, false) => unexpected.push(format!("{id}: {}", o.detail)),
            (true, true) => now_passing.push(id),
            _ => {}
        }
    }
    let passed = outcomes.iter().filter(|o| o.passed).count();
    eprintln!("FHIRPath R4 suite: {passed}/{} passed", outcomes.len());
    assert!(
        outcomes.len() > 700,
        "the suite should hold over 700 tests, read {}",
        outcomes.len()
    );
    assert!(
        unexpected.is_empty(),
        "new failures:\n{}",
        unexpected.join("\n")
    );
    assert!(
        now_passing.is_empty(),
        "these pass now, remove them from official-known-failures.txt:\n{}",
        now_passing.join("\n")
    );
}
