//! Shared helpers: the packages and examples of ../shared/fhir, opened once.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use segur_fhir::{Packages, Validator};
use segur_finding::{Finding, Severity};

/// `../shared/fhir` beside the checkout (or SEGUR_FHIR_SHARED).
pub fn shared() -> PathBuf {
    std::env::var_os("SEGUR_FHIR_SHARED").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fhir")),
        PathBuf::from,
    )
}

/// The packages, indexed once per test binary.
pub fn packages() -> &'static Packages {
    static P: OnceLock<Packages> = OnceLock::new();
    P.get_or_init(|| Packages::open(&shared().join("packages")).expect("../shared/fhir/packages"))
}

/// A validator over [`packages`] with the FHIRPath engine, as the CLI runs it (its caches
/// live as long as the test binary).
pub fn validator() -> &'static Validator<'static> {
    static V: OnceLock<Validator<'static>> = OnceLock::new();
    V.get_or_init(|| Validator::new(packages()).with_fhirpath())
}

/// Validate a file of the examples.
pub fn validate_file(rel: &str) -> Vec<Finding> {
    let bytes = std::fs::read(shared().join("examples").join(rel)).expect(rel);
    let doc = segur_fhir::json::parse(&bytes, segur_fhir::Limits::default()).expect(rel);
    validator().validate(&doc, &[])
}

/// The error findings.
pub fn errors(findings: &[Finding]) -> Vec<&Finding> {
    findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect()
}
