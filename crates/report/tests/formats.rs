//! The machine outputs are contracts: the JSON report passes its published schema
//! (`docs/schemas/report.schema.json`), the JUnit output the Jenkins/Surefire JUnit XSD, the
//! SARIF output the OASIS SARIF 2.1.0 schema. The third-party schemas are fetched by
//! `scripts/fetch-test-schemas.sh` (run by .ci/run); python3-jsonschema and xmllint check.

use std::path::{Path, PathBuf};
use std::process::Command;

use segur_finding::{Finding, Location, RuleSource, Severity};
use segur_report::{
    DocumentReport, InputError, Report, RuleFile, Rules, Verdict, to_junit, to_sarif,
};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn schema(name: &str) -> PathBuf {
    let p = workspace().join("target/test-schemas").join(name);
    assert!(
        p.is_file(),
        "{} is missing: run scripts/fetch-test-schemas.sh",
        p.display()
    );
    p
}

fn finding(rule: &str, severity: Severity, line: Option<u32>) -> Finding {
    Finding {
        rule: rule.into(),
        severity,
        message: format!("message of {rule} with <markup> & \"quotes\""),
        source: RuleSource {
            file: "schematrons/profils/IHE.sch".into(),
            line: Some(12),
            version: "0".repeat(64),
        },
        rule_set: Some("schematrons/profils/IHE.sch".into()),
        location: Location {
            xpath: Some("/ClinicalDocument/recordTarget/patientRole".into()),
            line,
            column: line.map(|_| 7),
        },
    }
}

fn sample() -> Report {
    let docs = vec![
        DocumentReport {
            path: "ok.xml".into(),
            sha256: Some("a".repeat(64)),
            verdict: Verdict::Conformant,
            error: None,
            rule_sets: vec!["XSD:infrastructure/cda/CDA_extended.xsd".into()],
            notes: vec!["no volet schematron".into()],
            findings: vec![finding("W-1", Severity::Warning, Some(3))],
        },
        DocumentReport {
            path: "dir/bad é.xml".into(),
            sha256: Some("b".repeat(64)),
            verdict: Verdict::Nonconformant,
            error: None,
            rule_sets: vec!["schematrons/profils/IHE.sch".into(), "segur".into()],
            notes: vec![],
            findings: vec![
                finding("E-1", Severity::Error, Some(40)),
                finding("SEGUR-INS-KEY", Severity::Error, None),
                finding("I-1", Severity::Info, Some(1)),
            ],
        },
        DocumentReport {
            path: "-".into(),
            sha256: None,
            verdict: Verdict::Unreadable,
            error: Some(InputError {
                message: "not well-formed: mismatched end tag".into(),
                line: Some(2),
                column: Some(5),
            }),
            rule_sets: vec![],
            notes: vec![],
            findings: vec![],
        },
    ];
    Report::new(
        "0.1.0",
        "default",
        Rules {
            dir: "rules".into(),
            files: vec![RuleFile {
                path: "x.sch".into(),
                sha256: "c".repeat(64),
            }],
        },
        docs,
    )
}

fn check_json(schema: &Path, text: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("instance.json");
    std::fs::write(&file, text).expect("write");
    let out = Command::new("python3")
        .arg(workspace().join("tests/json_schema_check.py"))
        .arg(schema)
        .arg(&file)
        .output()
        .expect("run python3 (with the jsonschema package)");
    assert!(
        out.status.success(),
        "{}: {}{}",
        schema.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn json_report_passes_its_published_schema() {
    let report = sample();
    assert_eq!(report.summary.documents, 3);
    assert_eq!((report.summary.errors, report.summary.warnings), (2, 1));
    let json = report.to_json();
    check_json(&workspace().join("docs/schemas/report.schema.json"), &json);
    let back: Report = serde_json::from_str(&json).expect("round trip");
    assert_eq!(back, report);
}

#[test]
fn json_schema_rejects_a_broken_report() {
    let mut v: serde_json::Value = serde_json::from_str(&sample().to_json()).expect("json");
    v["documents"][0]["verdict"] = "maybe".into();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("bad.json");
    std::fs::write(&file, v.to_string()).expect("write");
    let out = Command::new("python3")
        .arg(workspace().join("tests/json_schema_check.py"))
        .arg(workspace().join("docs/schemas/report.schema.json"))
        .arg(&file)
        .output()
        .expect("run python3");
    assert!(!out.status.success(), "the schema must catch a bad verdict");
}

#[test]
fn junit_passes_the_junit_xsd() {
    let xml = to_junit(&sample());
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("junit.xml");
    std::fs::write(&file, &xml).expect("write");
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(schema("junit-10.xsd"))
        .arg(&file)
        .output()
        .expect("run xmllint (apt-get install libxml2-utils)");
    assert!(
        out.status.success(),
        "{}\n{xml}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        xml.contains(r#"failures="1""#) && xml.contains(r#"errors="1""#),
        "{xml}"
    );
    assert!(xml.contains("&lt;markup&gt; &amp;"), "escaped: {xml}");
}

#[test]
fn sarif_passes_the_sarif_schema() {
    let sarif = to_sarif(&sample());
    check_json(&schema("sarif-2.1.0-rtm.5.json"), &sarif);
    let v: serde_json::Value = serde_json::from_str(&sarif).expect("json");
    assert_eq!(
        v["runs"][0]["results"].as_array().map(Vec::len),
        Some(5),
        "4 findings + 1 unreadable input"
    );
}

#[test]
fn text_view_has_one_line_per_finding_and_a_summary() {
    let text = sample().to_text();
    assert_eq!(text.lines().count(), 6, "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("dir/bad é.xml:40:7: error E-1 ")),
        "{text}"
    );
    assert!(
        text.ends_with(
            "3 documents: 1 conformant, 1 non-conformant, 1 unreadable; 2 errors, 1 warnings\n"
        ),
        "{text}"
    );
    // A finding without a text position (a packaging finding about a zip entry, a missing
    // header) names the file alone, not a made-up line 0, column 0.
    assert!(
        text.lines()
            .any(|l| l.starts_with("dir/bad é.xml: error SEGUR-INS-KEY ")),
        "{text}"
    );
    assert!(!text.contains(":0:"), "{text}");
    assert!(!to_junit(&sample()).contains("0:0"));
}

#[test]
fn text_lines_hold_no_control_character() {
    // A file name and a message from outside: their line breaks and escape sequences are
    // written visibly (`segur_finding::printable`), one line per finding still.
    let mut r = sample();
    r.documents[2].path = "a\nb\u{1b}[31m.xml".into();
    r.documents[2].error = Some(InputError {
        message: "bad\r\ttext".into(),
        line: Some(2),
        column: Some(5),
    });
    let text = r.to_text();
    assert_eq!(text.lines().count(), 6, "{text}");
    assert!(
        text.contains(r"a\nb\x1b[31m.xml:2:5: error INPUT bad\r\ttext"),
        "{text}"
    );
}
