//! Any text as a FHIRPath expression: parsing returns an error or an expression, and
//! evaluating it on a small Patient returns a collection or an error, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use segur_fhirpath::{Env, Expr};

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else { return };
    let Ok(expr) = Expr::parse(src) else { return };
    let patient = serde_json::json!({
        "resourceType": "Patient",
        "name": [{"given": ["a", "b"], "family": "c"}],
        "birthDate": "2014-01-01",
        "contained": [{"resourceType": "Patient", "id": "x"}]
    });
    let env = Env::for_resource(&patient);
    let _ = expr.evaluate(&env, &patient);
});
