//! Agreement with the HL7 reference validator on `examples/valid`: its published per-example
//! messages (`hl7_qa_reference.tsv`, from each IG's QA report) against segur's errors.
//!
//! HL7 errors of kinds segur does not check (listed in `OUT_OF_SCOPE`, explained in
//! docs/fhir.md) are set apart; failed invariants (`Constraint failed: dom-4 …`, `… (dom-3)`)
//! must agree by key with segur's `FHIR-INVARIANT` errors; on the rest, the error element
//! paths must agree both ways. segur validates reference targets against their
//! targetProfiles too (`FHIR-REF-PROFILE`); HL7's five "Unable to find a profile match"
//! errors are on a target whose only HL7 error is an unresolvable reference (out of scope):
//! the test checks that this is so, and that segur finds the same target conforming. The
//! differences that remain are `KNOWN`: the test fails when one disappears (update the list
//! and docs/fhir.md) or a new one appears.

mod common;

use std::collections::BTreeSet;

/// HL7 messages of checks segur does not make, by a piece of their text.
const OUT_OF_SCOPE: &[(&str, &str)] = &[
    (
        "Unable to resolve resource with reference",
        "reference resolution outside the Bundle (the IG publisher resolves against the IG's own resources)",
    ),
    ("Attachment Size", "attachment size against the data"),
    ("hash of the data", "attachment hash against the data"),
    ("Hyperlink", "narrative hyperlinks"),
    (
        "Unable to find a profile match",
        "the target fails its targetProfile only by an error segur does not check (below)",
    ),
];

/// Differences that remain: (example, who alone reports an error, path).
const KNOWN: &[(&str, &str, &str)] = &[];

/// Whether an HL7 error is of a check segur does not make: the kinds above, and wrong
/// displays of codes that no local CodeSystem lists (LOINC is not enumerable offline): segur
/// checks displays against the local CodeSystems only.
fn out_of_scope(message: &str) -> bool {
    if OUT_OF_SCOPE.iter().any(|(m, _)| message.contains(m)) {
        return true;
    }
    if message.starts_with("Wrong Display Name") {
        // "… for http://loinc.org#15507-7. Valid display is …"
        let coded = message.split(" for ").nth(1).unwrap_or("");
        let (system, rest) = coded.split_once('#').unwrap_or(("", ""));
        let code = rest
            .split_whitespace()
            .next()
            .unwrap_or("")
            .trim_end_matches('.');
        return segur_fhir::terminology::Terminology::new(common::packages())
            .displays(system, code)
            .is_none();
    }
    false
}

/// The invariant key of an HL7 "Constraint failed: dom-4: …" or "… (dom-3) …" message.
fn invariant_key(message: &str) -> Option<String> {
    if let Some(rest) = message.strip_prefix("Constraint failed: ") {
        return rest.split(':').next().map(str::to_string);
    }
    let (_, rest) = message.split_once(" (dom-")?;
    let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
    (!n.is_empty() && rest[n.len()..].starts_with(')')).then(|| format!("dom-{n}"))
}

/// `Patient.extension[1].value.ofType(Address).extension[0] (l28/c14)` →
/// `Patient.extension[1].valueAddress.extension[0]`.
fn normalize(path: &str) -> String {
    let mut p = path.split(" (l").next().unwrap_or(path).trim().to_string();
    while let Some(a) = p.find("/*") {
        let Some(b) = p[a..].find("*/") else { break };
        p.replace_range(a..a + b + 2, "");
    }
    while let Some(a) = p.find(".value.ofType(") {
        let Some(b) = p[a..].find(')') else { break };
        let ty = p[a + 14..a + b].to_string();
        p.replace_range(a..a + b + 1, &format!(".value{ty}"));
    }
    p
}

fn related(a: &str, b: &str) -> bool {
    a == b
        || a.starts_with(&format!("{b}."))
        || b.starts_with(&format!("{a}."))
        || a.starts_with(&format!("{b}["))
        || b.starts_with(&format!("{a}["))
}

struct Row {
    source: String,
    resource: String,
    severity: String,
    path: String,
    message: String,
}

#[test]
fn agreement_with_the_hl7_validator() {
    let tsv = std::fs::read_to_string(common::shared().join("hl7_qa_reference.tsv")).unwrap();
    let rows: Vec<Row> = tsv
        .lines()
        .skip(1)
        .filter_map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            Some(Row {
                source: c.first()?.to_string(),
                resource: c.get(1)?.to_string(),
                severity: c.get(5).unwrap_or(&"").to_string(),
                path: c.get(6).unwrap_or(&"").to_string(),
                message: c.get(7).unwrap_or(&"").to_string(),
            })
        })
        .collect();
    let sources = [
        ("frcore210-", "FRCore 2.1.0"),
        ("pdsm311-", "PDSm 3.1.1"),
        ("pdsm-iti65-", "PDSm add-exemples-iti65"),
        ("tddui110b-", "TDDUI 1.1.0-ballot"),
    ];
    let mut files: Vec<String> = std::fs::read_dir(common::shared().join("examples/valid"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 29);
    let (mut compared, mut agreed, mut out_of_scope_count, mut invariants_caught) = (0, 0, 0, 0);
    let mut profile_matches = 0;
    let mut differences = BTreeSet::new();
    for file in &files {
        let Some((prefix, source)) = sources.iter().find(|(p, _)| file.starts_with(p)) else {
            continue;
        };
        let resource = file[prefix.len()..].trim_end_matches(".json");
        let mine: Vec<&Row> = rows
            .iter()
            .filter(|r| r.source.starts_with(source) && r.resource == resource)
            .collect();
        if mine.is_empty() {
            continue;
        }
        compared += 1;
        let findings = common::validate_file(&format!("valid/{file}"));
        profile_matches += profile_matches_explained(file, &mine, &findings);
        let mut theirs = BTreeSet::new();
        let mut their_keys = BTreeSet::new();
        for r in mine.iter().filter(|r| r.severity == "error") {
            if let Some(key) = invariant_key(&r.message) {
                their_keys.insert(key);
            } else if out_of_scope(&r.message) {
                out_of_scope_count += 1;
            } else {
                theirs.insert(normalize(&r.path));
            }
        }
        let errors = common::errors(&findings);
        let (invariants, others): (Vec<&segur_finding::Finding>, Vec<_>) =
            errors.into_iter().partition(|f| f.rule == "FHIR-INVARIANT");
        let ours: BTreeSet<String> = others
            .iter()
            .filter_map(|f| f.location.xpath.clone())
            .collect();
        let our_keys: BTreeSet<String> = invariants
            .iter()
            .filter_map(|f| f.message.split(':').next().map(str::to_string))
            .collect();
        let mut same = true;
        for k in their_keys.symmetric_difference(&our_keys) {
            let who = if their_keys.contains(k) {
                "hl7"
            } else {
                "segur"
            };
            differences.insert((file.clone(), who.to_string(), format!("invariant {k}")));
            same = false;
        }
        invariants_caught += their_keys.intersection(&our_keys).count();
        for t in &theirs {
            if !ours.iter().any(|o| related(o, t)) {
                differences.insert((file.clone(), "hl7".to_string(), t.clone()));
                same = false;
            }
        }
        for o in &ours {
            if !theirs.iter().any(|t| related(o, t)) {
                differences.insert((file.clone(), "segur".to_string(), o.clone()));
                same = false;
            }
        }
        if same {
            agreed += 1;
        }
    }
    eprintln!(
        "agreement: {agreed}/{compared} examples with the same in-scope error set; {invariants_caught} failed invariants agreed; {out_of_scope_count} HL7 errors out of scope"
    );
    let known: BTreeSet<(String, String, String)> = KNOWN
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(
        differences, known,
        "differences changed: update KNOWN and docs/fhir.md"
    );
    assert_eq!(
        (agreed, compared, invariants_caught, out_of_scope_count),
        (27, 27, 5, 37)
    );
    assert_eq!(profile_matches, 5, "HL7's profile-match errors explained");
}

/// HL7's "Unable to find a profile match for #id" errors of one example: each target (a
/// contained resource) carries an HL7 error that segur does not check ("Unable to resolve
/// resource with reference", an IG-wide resolution), and no other HL7 error; segur, which
/// validates the target against the same targetProfiles, finds it conforming (no
/// `FHIR-REF-PROFILE` at that reference). Returns how many such errors the example has.
fn profile_matches_explained(
    file: &str,
    rows: &[&Row],
    findings: &[segur_finding::Finding],
) -> usize {
    let mut n = 0;
    for r in rows.iter().filter(|r| {
        r.severity == "error" && r.message.starts_with("Unable to find a profile match")
    }) {
        let id = r
            .message
            .split("for #")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .expect("target id");
        let inside: Vec<&&Row> = rows
            .iter()
            .filter(|x| x.severity == "error" && x.path.contains(&format!("/{id}*/")))
            .collect();
        assert!(
            !inside.is_empty(),
            "{file}: #{id} has no HL7 error of its own"
        );
        assert!(
            inside.iter().all(|x| x
                .message
                .starts_with("Unable to resolve resource with reference")),
            "{file}: #{id} has HL7 errors segur checks"
        );
        let at = normalize(&r.path);
        assert!(
            !findings
                .iter()
                .any(|f| f.rule == "FHIR-REF-PROFILE" && f.location.xpath.as_deref() == Some(&at)),
            "{file}: segur finds #{id} not conforming at {at}"
        );
        n += 1;
    }
    n
}
