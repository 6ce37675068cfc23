//! Every `constraint.expression` of every StructureDefinition snapshot in
//! ../shared/fhir/packages parses.

use std::collections::BTreeSet;
use std::path::PathBuf;

use segur_fhirpath::Expr;
use serde_json::Value;

#[test]
fn every_snapshot_invariant_parses() {
    let packages = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fhir/packages");
    if !packages.is_dir() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is missing",
            packages.display()
        );
        eprintln!("skipped: {} is missing", packages.display());
        return;
    }
    let mut occurrences = 0;
    let mut distinct = BTreeSet::new();
    let mut sds = 0;
    for pkg in std::fs::read_dir(&packages)
        .expect("packages")
        .filter_map(Result::ok)
    {
        let Ok(files) = std::fs::read_dir(pkg.path().join("package")) else {
            continue;
        };
        for f in files.filter_map(Result::ok) {
            if f.path().extension().is_none_or(|x| x != "json") {
                continue;
            }
            let Ok(v) = serde_json::from_slice::<Value>(&std::fs::read(f.path()).expect("read"))
            else {
                continue;
            };
            if v.get("resourceType").and_then(Value::as_str) != Some("StructureDefinition") {
                continue;
            }
            sds += 1;
            for e in v
                .pointer("/snapshot/element")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                for c in e
                    .get("constraint")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(x) = c.get("expression").and_then(Value::as_str) {
                        occurrences += 1;
                        distinct.insert(x.to_owned());
                    }
                }
            }
        }
    }
    let failures: Vec<String> = distinct
        .iter()
        .filter_map(|x| Expr::parse(x).err().map(|e| format!("{x:?}: {e}")))
        .collect();
    eprintln!(
        "{sds} StructureDefinitions, {occurrences} constraint expressions, {} distinct, {} parse",
        distinct.len(),
        distinct.len() - failures.len()
    );
    assert!(
        distinct.len() > 150,
        "expected the R4 core invariants, found {}",
        distinct.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
