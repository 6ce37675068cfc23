//! Runs HL7's FHIRPath test suite file given as the first argument and prints each failure,
//! the failing groups and the pass rate: `cargo run -p segur-fhirpath --example fhirpath_suite
//! -- path/to/tests-fhir-r4.xml [path/to/fhir/packages/hl7.fhir.r4.core#4.0.1/package]`.

#[path = "../tests/support/suite_runner.rs"]
mod suite_runner;

use std::collections::BTreeMap;
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let Some(xml) = args.get(1) else {
        return Err("usage: fhirpath_suite TESTS.xml [R4-CORE-PACKAGE-DIR]".into());
    };
    let model = match args.get(2) {
        Some(dir) => Some(segur_fhirpath::StructureDefinitionModel::from_package_dir(
            Path::new(dir),
        )?),
        None => None,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    let outcomes = suite_runner::run_suite(
        Path::new(xml),
        model.as_ref().map(|m| m as &dyn segur_fhirpath::Model),
        i64::try_from(now)?,
    )?;
    let mut groups: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for o in &outcomes {
        let g = groups.entry(&o.group).or_default();
        g.1 += 1;
        if o.passed {
            g.0 += 1;
        } else {
            println!("FAIL {}/{}: {}", o.group, o.name, o.detail);
        }
    }
    for (g, (p, t)) in &groups {
        if p != t {
            println!("group {g}: {p}/{t}");
        }
    }
    let passed = outcomes.iter().filter(|o| o.passed).count();
    println!("passed {passed}/{}", outcomes.len());
    Ok(())
}
