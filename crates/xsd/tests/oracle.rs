//! Agreement with the official chain (JDK JAXP/Xerces) on the 94 ANS examples and 40 mutants:
//! same verdict for every document, and the same (line, message) list of XSD errors.
//!
//! The ANS files are read from `../shared/ans` (or `$SEGUR_ANS_DIR`); the test fails when they
//! are absent (CI has them beside the checkout).

use std::collections::BTreeMap;
use std::path::Path;

use segur_xsd::{Schema, Severity, validate_bytes};

mod common;
use common::*;

/// Documents whose messages may differ from Xerces' (only the code prefix is compared), with why.
/// Empty: every message matches exactly.
const MESSAGE_EXCEPTIONS: &[(&str, &str)] = &[];

struct Expected {
    pass: bool,
    errors: Vec<(u32, String)>,
}

fn oracle(results: &Path) -> BTreeMap<String, Expected> {
    let tsv = std::fs::read_to_string(results.join("peer_results.tsv")).expect("peer_results.tsv");
    let mut lines = tsv.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    let col = header
        .iter()
        .position(|h| *h == "xsd_jaxp")
        .expect("xsd_jaxp column");
    let mut out = BTreeMap::new();
    for l in lines {
        let f: Vec<&str> = l.split('\t').collect();
        out.insert(
            f[0].to_string(),
            Expected {
                pass: f[col] == "pass",
                errors: Vec::new(),
            },
        );
    }
    let jsonl = std::fs::read_to_string(results.join("failed.jsonl")).expect("failed.jsonl");
    for l in jsonl.lines() {
        let v: serde_json::Value = serde_json::from_str(l).expect("json line");
        if v["kind"] != "xsd" {
            continue;
        }
        let doc = v["document"].as_str().expect("document");
        let line: u32 = v["location"]
            .as_str()
            .and_then(|s| s.strip_prefix("line "))
            .and_then(|s| s.parse().ok())
            .expect("line N");
        let text = v["text"].as_str().expect("text").to_string();
        out.get_mut(doc)
            .expect("document in tsv")
            .errors
            .push((line, text));
    }
    out
}

fn code(m: &str) -> &str {
    m.split(':').next().unwrap_or(m)
}

#[test]
fn agrees_with_jaxp_on_examples_and_mutants() {
    let ans = ans_dir();
    let schema = Schema::load(&ans.join("testcontenucda/infrastructure/cda/CDA_extended.xsd"))
        .expect("schema loads");
    let sets = [
        (
            ans.join("testcontenucda/ExemplesCDA"),
            ans.join("oracle/examples"),
        ),
        (
            ans.join("oracle/mutants-seed1"),
            ans.join("oracle/mutants-seed1-results"),
        ),
    ];
    let mut docs = 0;
    let mut verdicts_ok = 0;
    let mut lists_ok = 0;
    let mut problems = Vec::new();
    for (dir, results) in &sets {
        for (name, exp) in oracle(results) {
            let xml = std::fs::read(dir.join(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            let found = validate_bytes(&schema, &xml).unwrap_or_else(|e| panic!("{name}: {e}"));
            let not_checked: Vec<_> = found
                .iter()
                .filter(|e| e.severity == Severity::NotChecked)
                .collect();
            assert!(
                not_checked.is_empty(),
                "{name}: parts not checked: {not_checked:?}"
            );
            let got: Vec<(u32, String)> =
                found.iter().map(|e| (e.line, e.message.clone())).collect();
            docs += 1;
            if got.is_empty() == exp.pass {
                verdicts_ok += 1;
            } else {
                problems.push(format!(
                    "{name}: verdict differs: expected pass={}, got {got:?}",
                    exp.pass
                ));
            }
            let same = if MESSAGE_EXCEPTIONS.iter().any(|(d, _)| *d == name) {
                got.len() == exp.errors.len()
                    && got
                        .iter()
                        .zip(&exp.errors)
                        .all(|(a, b)| a.0 == b.0 && code(&a.1) == code(&b.1))
            } else {
                got == exp.errors
            };
            if same {
                lists_ok += 1;
            } else {
                problems.push(format!(
                    "{name}: errors differ:\n  expected {:?}\n  got      {got:?}",
                    exp.errors
                ));
            }
        }
    }
    eprintln!(
        "oracle: {docs} documents, verdicts {verdicts_ok}/{docs}, exact error lists {lists_ok}/{docs}"
    );
    assert_eq!(docs, 134);
    let shown: Vec<String> = problems
        .iter()
        .map(|p| p.chars().take(1500).collect())
        .collect();
    assert!(problems.is_empty(), "{}", shown.join("\n"));
}
