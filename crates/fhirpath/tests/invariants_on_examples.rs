//! The FHIRPath invariants of the R4 core StructureDefinitions, run on the 29 published
//! examples of ../shared/fhir/examples/valid: the only failures must be those the HL7
//! validator reports itself (hl7_qa_reference.tsv), and no invariant may fail to evaluate.

#[path = "support/invariant_walker.rs"]
mod invariant_walker;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use invariant_walker::CoreInvariants;

fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fhir")
}

/// (example file prefix, resource file name, constraint key) for each "Constraint failed" the
/// HL7 validator reported.
fn hl7_constraint_failures() -> BTreeSet<(String, String)> {
    let tsv = std::fs::read_to_string(shared().join("hl7_qa_reference.tsv"))
        .expect("hl7_qa_reference.tsv");
    let mut out = BTreeSet::new();
    // "Constraint failed: dom-4: …", or a message that ends its sentence with "(dom-3)".
    let key_re = regex::Regex::new(r"^Constraint failed: ([a-z]+-[0-9]+):|\(([a-z]+-[0-9]+)\)")
        .expect("regex");
    for line in tsv.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (Some(source), Some(file), Some(message)) = (cols.first(), cols.get(1), cols.get(7))
        else {
            continue;
        };
        let Some(caps) = key_re.captures(message) else {
            continue;
        };
        let Some(key) = caps
            .get(1)
            .or_else(|| caps.get(2))
            .map(|m| m.as_str().to_owned())
        else {
            continue;
        };
        let prefix = if source.contains("3.1.1") {
            "pdsm311"
        } else if source.contains("iti65") {
            "pdsm-iti65"
        } else if source.contains("FRCore 2.1.0") {
            "frcore210"
        } else {
            continue;
        };
        out.insert((format!("{prefix}-{file}.json"), key));
    }
    out
}

#[test]
fn core_invariants_on_valid_examples_agree_with_the_hl7_validator() {
    let core_dir = shared().join("packages/hl7.fhir.r4.core#4.0.1/package");
    if !core_dir.is_dir() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is missing",
            core_dir.display()
        );
        eprintln!("skipped: {} is missing", core_dir.display());
        return;
    }
    let mut core = CoreInvariants::load(&core_dir);
    assert!(core.parse_failures.is_empty(), "{:?}", core.parse_failures);
    // Strict mode: every element an R4 invariant names on these examples exists in the model.
    core.strict = true;
    let mut files: Vec<PathBuf> = std::fs::read_dir(shared().join("examples/valid"))
        .expect("examples")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 29);
    let expected = hl7_constraint_failures();
    let mut found = BTreeSet::new();
    let mut unexpected = Vec::new();
    let mut errors = Vec::new();
    let mut per_key: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut total = 0;
    for f in &files {
        let name = f
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_owned();
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(f).expect("read")).expect("json");
        let mut evals = Vec::new();
        core.check(&json, &json, &mut evals);
        total += evals.len();
        for e in evals {
            let entry = per_key.entry(e.key.clone()).or_default();
            entry.0 += 1;
            match e.outcome {
                Ok(true) => {}
                Ok(false) => {
                    entry.1 += 1;
                    if e.severity != "error" {
                        continue;
                    }
                    let id = (name.clone(), e.key.clone());
                    if expected.contains(&id) {
                        found.insert(id);
                    } else {
                        unexpected.push(format!("{name}: {} at {}", e.key, e.location));
                    }
                }
                Err(err) => errors.push(format!("{name}: {} at {}: {err}", e.key, e.location)),
            }
        }
    }
    eprintln!(
        "{total} invariant evaluations on {} examples; per key (evaluations, failures):",
        files.len()
    );
    for (k, (n, fails)) in &per_key {
        eprintln!("  {k}: {n} {fails}");
    }
    assert!(
        errors.is_empty(),
        "evaluation errors:\n{}",
        errors.join("\n")
    );
    assert!(
        unexpected.is_empty(),
        "failures the HL7 validator does not report:\n{}",
        unexpected.join("\n")
    );
    let missed: Vec<_> = expected
        .iter()
        .filter(|e| !found.contains(*e) && files.iter().any(|f| f.ends_with(&e.0)))
        .collect();
    assert!(
        missed.is_empty(),
        "HL7 reports these and we do not: {missed:?}"
    );
    assert!(total > 2_000, "expected a real workload, ran {total}");
}

#[test]
fn core_invariants_catch_broken_resources() {
    let core_dir = shared().join("packages/hl7.fhir.r4.core#4.0.1/package");
    if !core_dir.is_dir() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is missing",
            core_dir.display()
        );
        return;
    }
    let core = CoreInvariants::load(&core_dir);
    let broken = serde_json::json!({
        "resourceType": "Patient",
        "contained": [{"resourceType": "Organization", "id": "o1", "meta": {"versionId": "2"}, "name": "X"}],
        "managingOrganization": {"reference": "#o1"},
        "name": [{}],
        "contact": [{"gender": "male", "period": {"start": "2020-01-01", "end": "2019-12-31"}}],
        "extension": [{"url": "http://example.org/e", "valueString": "v", "extension": [{"url": "x", "valueBoolean": true}]}],
        "link": [{"other": {"reference": "#missing"}, "type": "seealso"}]
    });
    let mut evals = Vec::new();
    core.check(&broken, &broken, &mut evals);
    let failed: BTreeSet<String> = evals
        .iter()
        .filter(|e| matches!(e.outcome, Ok(false)) && e.severity == "error")
        .map(|e| format!("{} {}", e.key, e.location))
        .collect();
    let expected: BTreeSet<String> = [
        "dom-4 Patient",
        "ele-1 Patient.name[0]",
        "pat-1 Patient.contact[0]",
        "per-1 Patient.contact[0].period",
        "ext-1 Patient.extension[0]",
        "ref-1 Patient.link[0].other",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(failed, expected);
}
