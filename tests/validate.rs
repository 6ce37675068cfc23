//! `segur validate` and `segur conformance compare-peer`, driven as a user would.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn segur(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_segur"))
        .args(args)
        .output()
        .expect("run segur")
}

fn segur_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_segur"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn segur");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

/// An ANS example that conforms: the CR-BIO TSH_1.
fn tsh_example() -> PathBuf {
    shared().join("ans/testcontenucda/ExemplesCDA/BIO-CR-BIO_2024.01_TSH_1.xml")
}

/// segur run from `dir`, the command set up by `setup` (arguments, environment).
fn segur_in(dir: &Path, setup: impl FnOnce(&mut Command) -> &mut Command) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_segur"));
    c.current_dir(dir);
    setup(&mut c).output().expect("run segur")
}

fn rules() -> String {
    shared().join("ans/testcontenucda").display().to_string()
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn build(dir: &Path, doc_type: &str, count: &str) {
    let o = segur(&[
        "build",
        doc_type,
        "--count",
        count,
        "--seed",
        "11",
        "--out",
        p(dir),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
}

#[test]
fn built_documents_conform_natively() {
    let dir = tempfile::tempdir().expect("temp dir");
    build(dir.path(), "all", "2");
    let o = segur(&[
        "validate",
        p(dir.path()),
        "--rules",
        &rules(),
        "--select",
        "mapping",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    assert!(
        text(&o.stdout).contains("8 documents: 8 conformant"),
        "{}",
        text(&o.stdout)
    );
}

#[test]
fn agrees_with_the_official_chain_on_the_seeded_mutants() {
    // The 40 mutants of `mutate.py --seed 1` and the official chain's results for them
    // (../shared/ans/oracle): same failed asserts (schematron, SVRL location, message) and the
    // same XSD errors (line, message) for every document.
    let oracle = shared().join("ans/oracle");
    let o = segur(&[
        "conformance",
        "compare-peer",
        p(&oracle.join("mutants-seed1")),
        "--peer-results",
        p(&oracle.join("mutants-seed1-results/failed.jsonl")),
        "--xsd",
        "--verbose",
        "--rules",
        &rules(),
    ]);
    let out = text(&o.stdout);
    assert_eq!(
        out.lines().last(),
        Some("agree 40/40"),
        "{out}{}",
        text(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn agrees_with_the_official_chain_on_a_sample_of_the_ans_examples() {
    // A fixed sample of the 94 examples (the whole set runs with
    // `segur conformance compare-peer ../shared/ans/testcontenucda/ExemplesCDA …`): the N1
    // example, CR-BIO 2024.01 ones, FLUDT, four that the chain rejects on value sets,
    // and the SDM-MR example whose declared schematron is substituted.
    let sample = [
        "DOC_NON_STRUCTURE_CDA-R2-N1.xml",
        "BIO-CR-BIO_2024.01_TSH_1.xml",
        "BIO-CR-BIO_2024.01_Microbiologie_V2.xml",
        "DLU-EHPAD-FLUDT_2022.01.xml",
        "OPH-BRE_2022.02.xml",
        "ANEST-CR-CPA_2022.01.xml",
        "OBP-SAP_2024.01.xml",
        "SDM-MR_2025.01_nouveau-ne.xml",
    ];
    let dir = tempfile::tempdir().expect("temp dir");
    let examples = shared().join("ans/testcontenucda/ExemplesCDA");
    for f in sample {
        std::fs::copy(examples.join(f), dir.path().join(f)).expect("copy example");
    }
    let all =
        std::fs::read_to_string(shared().join("ans/oracle/examples/failed.jsonl")).expect("oracle");
    let mine: String = all
        .lines()
        .filter(|l| {
            sample
                .iter()
                .any(|f| l.contains(&format!("\"document\":\"{f}\"")))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(
        mine.lines().count() >= 5,
        "the sample includes rejected examples"
    );
    let results = dir.path().join("failed.jsonl.txt");
    std::fs::write(&results, mine).expect("write");
    let o = segur(&[
        "conformance",
        "compare-peer",
        p(dir.path()),
        "--peer-results",
        p(&results),
        "--xsd",
        "--verbose",
        "--rules",
        &rules(),
    ]);
    let out = text(&o.stdout);
    assert_eq!(
        out.lines().last(),
        Some(format!("agree {}/{}", sample.len(), sample.len()).as_str()),
        "{out}{}",
        text(&o.stderr)
    );
}

fn edited(dir: &Path, doc_type: &str, from: &str, to: &str) -> PathBuf {
    let src = dir.join(format!("{doc_type}-0001.xml"));
    let xml = std::fs::read_to_string(&src).expect("read built");
    assert!(xml.contains(from), "{from} in the built document");
    let out = dir.join(format!("{doc_type}-edited.xml"));
    std::fs::write(&out, xml.replacen(from, to, 1)).expect("write");
    out
}

#[test]
fn segur_rules_catch_what_the_official_chain_accepts() {
    // Each defect is accepted by the official chain (../shared/ans/README.md): the official
    // profile passes, the default profile fails with the segur rule.
    let dir = tempfile::tempdir().expect("temp dir");
    build(dir.path(), "n1-cr-bio", "1");
    let xml = std::fs::read_to_string(dir.path().join("n1-cr-bio-0001.xml")).expect("read");
    let ins = xml
        .split("root=\"1.2.250.1.213.1.4.10\" extension=\"")
        .nth(1)
        .expect("INS")
        .split('"')
        .next()
        .expect("INS")
        .to_string();
    let wrong_key = format!(
        "{}{:02}",
        &ins[..13],
        (ins[13..].parse::<u8>().expect("key") % 97) + 1
    );
    let county = xml
        .split("<county>")
        .nth(1)
        .expect("county")
        .split('<')
        .next()
        .expect("county")
        .to_string();
    let county_element = format!("<county>{county}</county>");
    let cases = [
        (
            "mediaType=\"application/pdf\"",
            "mediaType=\"image/png\"",
            "SEGUR-N1-MEDIATYPE",
        ),
        (ins.as_str(), wrong_key.as_str(), "SEGUR-INS-KEY"),
        (
            county_element.as_str(),
            "<county>Marne</county>",
            "SEGUR-INS-COG",
        ),
        (
            "root=\"1.2.250.1.213.1.4.10\"",
            "root=\"1.2.250.1.213.1.4.12\"",
            "SEGUR-INS-OID",
        ),
        (
            "extension=\"POCD_HD000040\"",
            "extension=\"POCD_HD000041\"",
            "SEGUR-CDA-TYPEID",
        ),
    ];
    let edits = dir.path().join("edits");
    std::fs::create_dir(&edits).expect("mkdir");
    for (from, to, rule) in cases {
        let file = edited(dir.path(), "n1-cr-bio", from, to);
        std::fs::rename(&file, edits.join(format!("{rule}.xml"))).expect("move");
    }
    let official = segur(&[
        "validate",
        p(&edits),
        "--rules",
        &rules(),
        "--select",
        "mapping",
        "--profile",
        "official",
    ]);
    assert_eq!(
        official.status.code(),
        Some(0),
        "the official rules accept them all: {}",
        text(&official.stdout)
    );
    let default = segur(&[
        "validate",
        p(&edits),
        "--rules",
        &rules(),
        "--select",
        "mapping",
        "--format",
        "json",
    ]);
    assert_eq!(default.status.code(), Some(1), "{}", text(&default.stderr));
    let report: serde_json::Value = serde_json::from_slice(&default.stdout).expect("json report");
    for (_, _, rule) in cases {
        let doc = report["documents"]
            .as_array()
            .expect("documents")
            .iter()
            .find(|d| {
                d["path"]
                    .as_str()
                    .is_some_and(|p| p.ends_with(&format!("{rule}.xml")))
            })
            .expect("document");
        assert_eq!(doc["verdict"], "nonconformant", "{rule}");
        let rules_found: Vec<&str> = doc["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter_map(|f| f["rule"].as_str())
            .collect();
        assert!(rules_found.contains(&rule), "{rule}: {rules_found:?}");
        let errors: Vec<&str> = doc["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["severity"] == "error")
            .filter_map(|f| f["rule"].as_str())
            .collect();
        assert!(
            errors.iter().all(|r| r.starts_with("SEGUR-")),
            "only segur rules find errors: {errors:?}"
        );
    }
}

#[test]
fn reports_pass_their_schemas_end_to_end() {
    let dir = tempfile::tempdir().expect("temp dir");
    build(dir.path(), "cr-bio", "1");
    let bad = edited(
        dir.path(),
        "cr-bio",
        "<title>Compte rendu d'examens biologiques</title>",
        "<title>CR</title>",
    );
    let schemas = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-schemas");
    let check = |schema: PathBuf, file: &Path| {
        let o = Command::new("python3")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/json_schema_check.py"))
            .arg(&schema)
            .arg(file)
            .output()
            .expect("python3");
        assert!(
            o.status.success(),
            "{}: {}",
            schema.display(),
            text(&o.stdout)
        );
    };
    // The reports go beside the documents' folder, not into it: a later run would read a
    // JSON report there as a FHIR resource.
    let reports = tempfile::tempdir().expect("temp dir");
    for (format, name) in [("json", "r.json"), ("sarif", "r.sarif"), ("junit", "r.xml")] {
        let out = reports.path().join(name);
        let o = segur(&[
            "validate",
            p(dir.path()),
            "--rules",
            &rules(),
            "--select",
            "mapping",
            "--format",
            format,
            "--output",
            p(&out),
        ]);
        assert_eq!(
            o.status.code(),
            Some(1),
            "the edited title is refused by the CR-BIO volet"
        );
        match format {
            "json" => check(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/schemas/report.schema.json"),
                &out,
            ),
            "sarif" => check(schemas.join("sarif-2.1.0-rtm.5.json"), &out),
            _ => {
                let x = Command::new("xmllint")
                    .arg("--noout")
                    .arg("--schema")
                    .arg(schemas.join("junit-10.xsd"))
                    .arg(&out)
                    .output()
                    .expect("xmllint");
                assert!(x.status.success(), "{}", text(&x.stderr));
            }
        }
    }
    // A file reached twice (its folder, then itself) is one SARIF artifact: artifacts are
    // unique items in SARIF 2.1.0.
    let twice = reports.path().join("twice.sarif");
    let o = segur(&[
        "validate",
        p(dir.path()),
        p(&bad),
        "--rules",
        &rules(),
        "--format",
        "sarif",
        "--output",
        p(&twice),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    check(schemas.join("sarif-2.1.0-rtm.5.json"), &twice);
    let sarif: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&twice).expect("read")).expect("sarif");
    let files = std::fs::read_dir(dir.path()).expect("dir").count();
    assert_eq!(
        sarif["runs"][0]["artifacts"].as_array().map(Vec::len),
        Some(files)
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(reports.path().join("r.json")).expect("read"))
            .expect("json");
    let docs = json["documents"].as_array().expect("documents");
    let refused = docs
        .iter()
        .find(|d| {
            d["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("cr-bio-edited.xml"))
        })
        .expect("edited doc");
    assert_eq!(refused["verdict"], "nonconformant");
    let f = &refused["findings"][0];
    assert_eq!(f["rule_set"], "schematrons/CI-SIS_BIO-CR-BIO_2024.01.sch");
    assert!(
        f["location"]["xpath"]
            .as_str()
            .is_some_and(|x| x.starts_with("/ClinicalDocument")),
        "{f}"
    );
    assert!(f["location"]["line"].as_u64().is_some_and(|l| l > 1), "{f}");
    assert!(
        f["source"]["version"]
            .as_str()
            .is_some_and(|v| v.len() == 64),
        "{f}"
    );
    let _ = bad;
}

#[test]
fn bad_inputs_are_clear_errors_with_exit_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |name: &str, bytes: &[u8]| {
        let f = dir.path().join(name);
        std::fs::write(&f, bytes).expect("write");
        f
    };
    let malformed = write(
        "malformed.xml",
        b"<ClinicalDocument xmlns=\"urn:hl7-org:v3\">\n  <title>x</titel>\n</ClinicalDocument>",
    );
    let xxe = write(
        "xxe.xml",
        b"<?xml version=\"1.0\"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n<d>&x;</d>",
    );
    let laughs = write(
        "laughs.xml",
        b"<!DOCTYPE l [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]><l>&b;</l>",
    );
    let deep = write(
        "deep.xml",
        format!("{}{}", "<a>".repeat(10_000), "</a>".repeat(10_000)).as_bytes(),
    );
    let ebcdic = write(
        "ebcdic.xml",
        b"<?xml version='1.0' encoding='EBCDIC-CP-US'?><a/>",
    );
    let fhir_xml = write(
        "patient.xml",
        b"<Patient xmlns='http://hl7.org/fhir'><id value='p'/></Patient>",
    );
    let huge = dir.path().join("huge.xml");
    std::fs::File::create(&huge)
        .expect("create")
        .set_len(600 * 1024 * 1024)
        .expect("sparse 600 MiB");
    for (file, expect) in [
        (&malformed, "malformed.xml:2:"),
        (&xxe, "DOCTYPE"),
        (&laughs, "DOCTYPE"),
        (&deep, "deep"),
        (&ebcdic, "encoding"),
        (&fhir_xml, "a FHIR resource in XML"),
        (&huge, "larger than"),
    ] {
        let o = segur(&["validate", p(file), "--rules", &rules()]);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{}: {}{}",
            file.display(),
            text(&o.stdout),
            text(&o.stderr)
        );
        let err = text(&o.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(expect), "{}: {err}", file.display());
    }
    let o = segur(&["validate", "no/such/file.xml", "--rules", &rules()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("no such file"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn standard_input_and_unknown_rules_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    build(dir.path(), "fludt", "1");
    let bytes = std::fs::read(dir.path().join("fludt-0001.xml")).expect("read");
    let o = segur_stdin(
        &[
            "validate",
            "-",
            "--rules",
            &rules(),
            "--select",
            "mapping",
            "--format",
            "json",
        ],
        &bytes,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["documents"][0]["path"], "-");
    assert!(
        v["documents"][0]["rule_sets"]
            .as_array()
            .expect("rule sets")
            .iter()
            .any(|r| r == "schematrons/CI-SIS_DLU-EHPAD-FLUDT_2022.01.sch")
    );
    let o = segur(&["validate", p(dir.path()), "--rules", p(dir.path())]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("segur rules fetch"),
        "{}",
        text(&o.stderr)
    );
}

/// `segur conformance run DIR --junit JUNIT` with the ANS rules.
fn run_suite(dir: &Path, junit: &Path) -> Output {
    segur(&[
        "conformance",
        "run",
        p(dir),
        "--junit",
        p(junit),
        "--rules",
        &rules(),
    ])
}

/// With `case` as DIR/case.toml, the suite in DIR fails (exit 1) and says `expected`.
fn assert_one_case_fails(dir: &Path, case: &str, expected: &str) {
    std::fs::write(dir.join("case.toml"), case).expect("write");
    let o = segur(&["conformance", "run", p(dir), "--rules", &rules()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    assert!(text(&o.stdout).contains(expected), "{}", text(&o.stdout));
}

/// The JUnit report passes the Jenkins/Surefire JUnit XSD.
fn assert_junit_valid(junit: &Path) {
    let x = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-schemas/junit-10.xsd"))
        .arg(junit)
        .output()
        .expect("xmllint");
    assert!(x.status.success(), "{}", text(&x.stderr));
}

#[test]
fn the_conformance_suite_passes_and_a_wrong_expectation_fails() {
    let dir = tempfile::tempdir().expect("temp dir");
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conformance");
    let junit = dir.path().join("conformance.xml");
    let o = run_suite(&suite, &junit);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}{}", text(&o.stderr));
    assert!(
        out.lines()
            .last()
            .is_some_and(|l| l.ends_with("passed, 0 failed")),
        "{out}"
    );
    assert_junit_valid(&junit);

    let wrong = dir.path().join("wrong");
    std::fs::create_dir(&wrong).expect("mkdir");
    assert_one_case_fails(
        &wrong,
        "description = \"expects the wrong verdict\"\nexpect = \"nonconformant\"\nselect = \"mapping\"\n[input]\nbuild = \"fludt\"\n",
        "FAIL case.toml: verdict conformant, expected nonconformant",
    );
    // A case that cannot be judged is not a failure of the input: an `absent` id that no rule
    // set run on the input can report (a check that cannot fail), an input that cannot be made.
    std::fs::write(
        wrong.join("case.toml"),
        "description = \"a typo in an absent id\"\nexpect = \"conformant\"\nselect = \"mapping\"\nabsent = [\"SEGUR-INS-KYE\"]\n[input]\nbuild = \"fludt\"\n",
    )
    .expect("write");
    std::fs::write(
        wrong.join("edit.toml"),
        "description = \"an edit that finds nothing\"\nexpect = \"conformant\"\n[input]\nbuild = \"fludt\"\nedits = [{ replace = \"not in the document\", with = \"x\" }]\n",
    )
    .expect("write");
    std::fs::write(
        wrong.join("empty.toml"),
        "description = \"an edit of nothing\"\nexpect = \"conformant\"\n[input]\nbuild = \"fludt\"\nedits = [{ replace = \"\", with = \"x\" }]\n",
    )
    .expect("write");
    let junit = dir.path().join("broken.xml");
    let o = run_suite(&wrong, &junit);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(
        out.contains("ERROR empty.toml: edit: an empty `replace` matches anywhere"),
        "{out}"
    );
    assert!(
        out.contains("ERROR case.toml: rule SEGUR-INS-KYE is not a rule of the rule sets run"),
        "{out}"
    );
    assert!(
        out.contains("ERROR edit.toml: edit: 'not in the document' not found"),
        "{out}"
    );
    assert!(
        out.ends_with("0 passed, 0 failed, 3 could not be run\n"),
        "{out}"
    );
    assert!(
        text(&o.stderr).contains("3 case(s) could not be run: case.toml, edit.toml, empty.toml"),
        "{}",
        text(&o.stderr)
    );
    let report = std::fs::read_to_string(&junit).expect("junit");
    assert!(report.contains("errors=\"3\""), "{report}");
    assert_junit_valid(&junit);
    std::fs::remove_file(wrong.join("edit.toml")).expect("rm");
    std::fs::remove_file(wrong.join("empty.toml")).expect("rm");

    // An unexpected unreadable verdict says why the input is unreadable, and where.
    assert_one_case_fails(
        &wrong,
        "description = \"broken end tag\"\nexpect = \"conformant\"\n[input]\nbuild = \"fludt\"\nedits = [{ replace = \"</title>\", with = \"</titel>\" }]\n",
        "verdict unreadable, expected conformant (end tag </titel> does not match start tag <title> at line",
    );

    // A case's file taken from the rules directory stays in it.
    std::fs::write(
        wrong.join("edit.toml"),
        "description = \"escapes\"\nexpect = \"conformant\"\n[input]\nfile = \"rules:../../etc/passwd\"\n",
    )
    .expect("write");
    let o = segur(&["conformance", "run", p(&wrong), "--rules", &rules()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stdout)
            .contains("ERROR edit.toml: input `rules:../../etc/passwd` leaves the rules directory"),
        "{}",
        text(&o.stdout)
    );
    std::fs::remove_file(wrong.join("edit.toml")).expect("rm");

    // A case file that is not a case cannot be run; the cases after it still are.
    std::fs::write(wrong.join("case.toml"), "expect = 3").expect("write");
    std::fs::write(
        wrong.join("fine.toml"),
        "description = \"conforms\"\nexpect = \"conformant\"\nselect = \"mapping\"\n[input]\nbuild = \"fludt\"\n",
    )
    .expect("write");
    let o = segur(&["conformance", "run", p(&wrong), "--rules", &rules()]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "a malformed case is an input error"
    );
    let out = text(&o.stdout);
    assert!(
        out.contains("ERROR case.toml: line 1, column 10: "),
        "{out}"
    );
    assert!(out.contains("pass fine.toml"), "{out}");
    assert!(text(&o.stderr).contains("case.toml"), "{}", text(&o.stderr));
}

#[test]
fn every_construct_of_the_official_files_is_supported() {
    // `segur rules --unsupported` lists what segur cannot run in the 64 schematrons and the CDA
    // XSD of the rules directory; the list is empty and must stay so.
    let o = segur(&["rules", "--unsupported", "--rules", &rules()]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert_eq!(
        out.lines().last(),
        Some("0 unsupported construct(s) in 64 schematrons and the CDA XSD"),
        "{out}"
    );
}

#[test]
fn agrees_with_the_official_chain_run_live_on_fresh_mutants() {
    // Mutants the stored oracle has never seen (mutate.py, seed 7), judged by the official
    // chain run here (run_peer.sh: JAXP + Saxon-HE) and by segur: same failed asserts and XSD
    // errors for every document.
    let dir = tempfile::tempdir().expect("temp dir");
    let mutants = dir.path().join("mutants");
    let ans = shared().join("ans");
    let m = Command::new("python3")
        .arg(ans.join("mutate.py"))
        .args(["--seed", "7", "--count", "20", "--out"])
        .arg(&mutants)
        .output()
        .expect("run mutate.py");
    assert!(m.status.success(), "{}", text(&m.stderr));
    let results = dir.path().join("peer");
    let peer = Command::new(ans.join("run_peer.sh"))
        .arg(&mutants)
        .env("OUT", &results)
        .output()
        .expect("run run_peer.sh");
    assert!(
        matches!(peer.status.code(), Some(0 | 1)),
        "peer chain: {}{}",
        text(&peer.stdout),
        text(&peer.stderr)
    );
    let o = segur(&[
        "conformance",
        "compare-peer",
        p(&mutants),
        "--peer-results",
        p(&results.join("failed.jsonl")),
        "--xsd",
        "--verbose",
        "--rules",
        &rules(),
    ]);
    let out = text(&o.stdout);
    assert_eq!(out.lines().last(), Some("agree 20/20"), "{out}");
}

/// `segur bench validate` on a one-document corpus: every figure is on the terminal and, as a
/// positive number, in the JSON file (the first pass's rate beside the timed passes').
#[test]
fn bench_validate_reports_every_figure() {
    let dir = tempfile::tempdir().expect("temp dir");
    let corpus = dir.path().join("corpus");
    std::fs::create_dir(&corpus).expect("mkdir");
    std::fs::copy(
        Path::new(&rules()).join("ExemplesCDA/VAC-NOTE_2023.01.xml"),
        corpus.join("VAC-NOTE_2023.01.xml"),
    )
    .expect("copy an ANS example");
    let json = dir.path().join("bench.json");
    let bench = |passes: &str, json: Option<&Path>| {
        let mut args = vec!["bench", "validate", p(&corpus), "--passes", passes];
        let rules = rules();
        args.extend(["--rules", &rules]);
        if let Some(json) = json {
            args.extend(["--json", p(json)]);
        }
        segur(&args)
    };
    let o = bench("1", Some(&json));
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    for line in [
        "corpus: 1 documents",
        "segur validate, 1 thread",
        "first pass, ",
        "validate / tokenization: ",
        "start-up to first verdict: ",
    ] {
        assert!(out.contains(line), "{line:?} in\n{out}");
    }
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json")).expect("parses");
    for figure in [
        &v["first_pass_docs_per_s"],
        &v["validate_docs_per_s"]["one"],
        &v["validate_docs_per_s"]["all"],
        &v["tokenize_docs_per_s"]["all"],
        &v["start_up_ms"],
    ] {
        assert!(figure.as_f64().is_some_and(|x| x > 0.0), "{figure} in {v}");
    }
    assert_eq!(v["corpus"]["documents"], 1);

    // No pass is no measure (rates would be NaN), and a document the parser refuses would time
    // the refusal: both are input errors, with the place of the refusal.
    let o = bench("0", None);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stdout));
    assert!(text(&o.stderr).contains("--passes"), "{}", text(&o.stderr));
    std::fs::write(corpus.join("broken.xml"), "<a>\n<b></a>").expect("write");
    let o = bench("1", None);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stdout));
    let err = text(&o.stderr);
    assert!(
        err.contains("broken.xml: line 2, column ") && err.contains("take this one out"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn json_report_records_each_input_sha256_as_sha256sum_computes_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    build(dir.path(), "cr-bio", "2");
    let not_xml = dir.path().join("not-xml.xml");
    std::fs::write(&not_xml, b"<ClinicalDocument><unclosed>").expect("write");
    let o = segur(&[
        "validate",
        p(dir.path()),
        "--rules",
        &rules(),
        "--format",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json report");
    let documents = report["documents"].as_array().expect("documents");
    assert_eq!(documents.len(), 3, "{}", text(&o.stdout));
    for d in documents {
        let path = d["path"].as_str().expect("path");
        let sum = Command::new("sha256sum")
            .arg(path)
            .output()
            .expect("sha256sum");
        let expected = text(&sum.stdout);
        let expected = expected.split_whitespace().next().expect("hash");
        assert_eq!(d["sha256"].as_str(), Some(expected), "{path}");
    }
}

#[test]
fn a_declared_schematron_that_cannot_run_is_an_error_of_segurs_rules() {
    // An N1 example whose oxygen PIs declare a schematron the rules directory does not hold
    // and one outside it: the official chain notes them (MISSING_SCH) and passes the
    // document; segur's SEGUR-SCH-ABSENT makes it fail, at the declaring instruction, and
    // the file outside is never read as rules.
    let dir = tempfile::tempdir().expect("temp dir");
    let example = shared().join("ans/testcontenucda/ExemplesCDA/DOC_NON_STRUCTURE_CDA-R2-N1.xml");
    let original = std::fs::read_to_string(example).expect("example");
    let doc = dir.path().join("declares.xml");
    let edited = original
        .replacen(
            "../schematrons/profils/IHE.sch",
            "../schematrons/nope.sch",
            1,
        )
        .replacen(
            "../schematrons/profils/CI-SIS_Modeles_ANS.sch",
            "/etc/hostname",
            1,
        );
    std::fs::write(&doc, edited).expect("write");
    let o = segur(&["validate", "--rules", &rules(), "--format", "json", p(&doc)]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let absent: Vec<_> = report["documents"][0]["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == "SEGUR-SCH-ABSENT")
        .map(|f| {
            (
                f["location"]["line"].as_u64(),
                f["location"]["xpath"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        absent,
        [
            (Some(4), "/processing-instruction('oxygen')[1]".to_string()),
            (Some(8), "/processing-instruction('oxygen')[5]".to_string())
        ]
    );
    let official = segur(&[
        "validate",
        "--rules",
        &rules(),
        "--profile",
        "official",
        p(&doc),
    ]);
    assert_eq!(
        official.status.code(),
        Some(0),
        "{}",
        text(&official.stdout)
    );
}

#[test]
fn the_exit_code_survives_a_reader_that_goes_away() {
    // `segur validate … | head -0`: the verdict (1) is the exit code, not a success, and no
    // panic when nothing can be written.
    let example = shared().join("ans/testcontenucda/ExemplesCDA/OBP-SAP_2024.01.xml");
    let mut child = Command::new(env!("CARGO_BIN_EXE_segur"))
        .args(["validate", "--rules", &rules(), p(&example)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let o = child.wait_with_output().expect("wait");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(!text(&o.stderr).contains("panicked"), "{}", text(&o.stderr));
}

#[test]
fn inputs_are_each_read_once_whatever_the_tree_holds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tree = dir.path().join("tree");
    build(&tree.join("sub"), "cr-bio", "1");
    // A link back up the tree: followed once, not forever.
    std::os::unix::fs::symlink("..", tree.join("sub/up")).expect("symlink");
    let o = segur(&["validate", "--rules", &rules(), p(&tree)]);
    assert_eq!(
        text(&o.stdout).lines().last(),
        Some("1 documents: 1 conformant, 0 non-conformant, 0 unreadable; 0 errors, 0 warnings"),
        "{}",
        text(&o.stdout)
    );
    // A report written into the tree is not validated by the next run; given as an input
    // too, it is refused before anything is overwritten.
    let report = tree.join("report.xml");
    for format in ["junit", "junit", "text", "json", "sarif", "text"] {
        let o = segur(&[
            "validate",
            "--rules",
            &rules(),
            "--format",
            format,
            "--output",
            p(&report),
            p(&tree),
        ]);
        assert_eq!(o.status.code(), Some(0), "{format}: {}", text(&o.stderr));
    }
    let doc = tree.join("sub/cr-bio-0001.xml");
    let before = std::fs::read(&doc).expect("document");
    // A document found in an input directory is no earlier report: refused, not replaced.
    let o = segur(&[
        "validate",
        "--rules",
        &rules(),
        "--output",
        p(&doc),
        p(&tree),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stdout));
    assert!(
        text(&o.stderr).contains("it is a document of an input directory"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(std::fs::read(&doc).expect("document"), before);
    let o = segur(&[
        "validate",
        "--rules",
        &rules(),
        "--output",
        p(&doc),
        p(&doc),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("it is also an input"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(std::fs::read(&doc).expect("document"), before);
    // Nor through a hard link to it.
    let link = dir.path().join("hard-link.xml");
    std::fs::hard_link(&doc, &link).expect("hard link");
    let o = segur(&[
        "validate",
        "--rules",
        &rules(),
        "--output",
        p(&link),
        p(&doc),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read(&doc).expect("document"), before);
    // Standard input once only.
    let o = segur_stdin(&["validate", "--rules", &rules(), "-", "-"], &before);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stdout).contains("standard input is given more than once"),
        "{}",
        text(&o.stdout)
    );
    // compare-peer with nothing to compare is an error, not `agree 0/0`.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).expect("dir");
    let peer = dir.path().join("failed.jsonl");
    std::fs::write(&peer, "").expect("peer");
    let o = segur(&[
        "conformance",
        "compare-peer",
        p(&empty),
        "--peer-results",
        p(&peer),
        "--rules",
        &rules(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stdout));
    let compare = |dir: &Path, peer: &Path| {
        segur(&[
            "conformance",
            "compare-peer",
            p(dir),
            "--peer-results",
            p(peer),
            "--rules",
            &rules(),
        ])
    };
    let o = compare(&dir.path().join("no-such-dir"), &peer);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stdout));
    // Peer results that name none of the directory's documents are another directory's: every
    // document would agree by having no row.
    std::fs::write(empty.join("mine.xml"), &before).expect("write");
    std::fs::write(
        &peer,
        r#"{"document":"theirs.xml","schematron":"s.sch","location":"/a","role":"error","text":"t","kind":"failed-assert"}"#,
    )
    .expect("peer");
    let o = compare(&empty, &peer);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stdout));
    assert!(
        text(&o.stderr).contains("names none of the documents in"),
        "{}",
        text(&o.stderr)
    );
    // Empty results: every document taken as conformant by the peer, and said so.
    std::fs::write(&peer, "").expect("peer");
    let o = compare(&empty, &peer);
    assert!(
        text(&o.stdout)
            .contains("lists no failed assert: the peer found every document conformant"),
        "{}",
        text(&o.stdout)
    );
}

#[test]
fn a_cda_document_over_64_mib_is_unreadable_with_its_size() {
    let dir = tempfile::tempdir().expect("temp dir");
    let big = dir.path().join("big.xml");
    // Well-formed: a 65 MiB title. Refused for its size, not parsed.
    let title = "a".repeat(65 << 20);
    std::fs::write(
        &big,
        format!(
            "<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><title>{title}</title></ClinicalDocument>"
        ),
    )
    .expect("write");
    let o = segur(&["validate", p(&big), "--rules", &rules()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stdout));
    assert!(
        text(&o.stdout).contains("exceeds the limit of 67108864"),
        "{}",
        text(&o.stdout)
    );
}

#[test]
fn links_in_a_folder_that_lead_nowhere_are_unreadable_inputs_not_skipped() {
    let dir = tempfile::tempdir().expect("temp dir");
    build(dir.path(), "cr-bio", "1");
    std::os::unix::fs::symlink(dir.path().join("missing.xml"), dir.path().join("lost.xml"))
        .expect("link");
    std::os::unix::fs::symlink(dir.path().join("loop.xml"), dir.path().join("loop.xml"))
        .expect("loop");
    // Links to nothing with other names are not inputs.
    std::os::unix::fs::symlink(dir.path().join("missing"), dir.path().join("notes.txt"))
        .expect("link");
    let o = segur(&["validate", p(dir.path()), "--rules", &rules()]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(
        out.ends_with(
            "3 documents: 1 conformant, 0 non-conformant, 2 unreadable; 0 errors, 0 warnings\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("lost.xml") && out.contains("loop.xml"),
        "{out}"
    );
    assert!(
        out.contains("a symbolic link that cannot be followed"),
        "{out}"
    );
}

/// A document whose oxygen PIs write the schematron paths another way (Windows separators,
/// an absolute path, another folder before `schematrons/`, upper case) gets the rules the
/// official chain runs for it, in the official profile too: a volet error is still found.
#[test]
fn schematron_paths_written_another_way_still_run_their_rules() {
    let example = tsh_example();
    let original = std::fs::read_to_string(example).expect("example");
    let broken = original.replacen(
        "<title>Compte rendu d'examens biologiques</title>",
        "<title>Autre titre</title>",
        1,
    );
    assert_ne!(broken, original);
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, prefix) in [
        ("backslash", "..\\schematrons\\"),
        ("absolute", "/abs/schematrons/"),
        ("folder", "../TestContenuCDA/Schematrons/"),
        ("upper", "../SCHEMATRONS/"),
    ] {
        let doc = broken.replace(
            "SCHSchema=\"../schematrons/",
            &format!("SCHSchema=\"{prefix}"),
        );
        let doc = if prefix.contains('\\') {
            // Every separator of the path, not only the first.
            doc.replace("profils/", "profils\\")
        } else {
            doc
        };
        let file = dir.path().join(format!("{name}.xml"));
        std::fs::write(&file, doc).expect("write");
        let o = segur(&[
            "validate",
            "--rules",
            &rules(),
            "--profile",
            "official",
            "--format",
            "json",
            p(&file),
        ]);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", text(&o.stdout));
        assert!(
            text(&o.stdout).contains("L'élément title est obligatoire"),
            "{name}: {}",
            text(&o.stdout)
        );
    }
}

/// `--output -` is standard output (no file named `-`), and the two rule profiles cannot both
/// be asked for.
#[test]
fn output_dash_is_standard_output_and_profiles_are_exclusive() {
    let dir = tempfile::tempdir().expect("temp dir");
    let example = tsh_example();
    let o = segur_in(dir.path(), |c| {
        c.args([
            "validate",
            "--rules",
            &rules(),
            "--output",
            "-",
            p(&example),
        ])
    });
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("1 documents: 1 conformant"),
        "{}",
        text(&o.stdout)
    );
    assert!(!dir.path().join("-").exists());
    let o = segur(&[
        "validate",
        "--rules",
        &rules(),
        "--profile",
        "official",
        "--profile",
        "default",
        p(&example),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("choose one"),
        "{}",
        text(&o.stderr)
    );
}

/// A relative `XDG_CACHE_HOME` is ignored (XDG Base Directory specification): the cache goes
/// to `$HOME/.cache/segur`, not under the working directory.
#[test]
fn a_relative_xdg_cache_home_is_ignored() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (home, work) = (dir.path().join("home"), dir.path().join("work"));
    std::fs::create_dir_all(&work).expect("mkdir");
    let example = tsh_example();
    let o = segur_in(&work, |c| {
        c.env_remove("SEGUR_CACHE_DIR")
            .env("XDG_CACHE_HOME", "relative-cache")
            .env("HOME", &home)
            .args(["validate", "--rules", &rules(), p(&example)])
    });
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(!work.join("relative-cache").exists());
    assert!(home.join(".cache/segur/schematron").is_dir());
}

/// Two files whose names differ by a byte that is not UTF-8 keep different names in the report
/// (each such byte written `\xNN`), so a finding says which one it is about.
#[cfg(unix)]
#[test]
fn names_that_are_not_utf8_stay_distinct_in_reports() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let example = tsh_example();
    for name in [&b"r\xe9sultat.xml"[..], b"r\xe8sultat.xml"] {
        let to = dir.path().join(std::ffi::OsStr::from_bytes(name));
        std::fs::copy(&example, to).expect("copy");
    }
    let o = segur(&[
        "validate",
        "--rules",
        &rules(),
        "--format",
        "json",
        p(dir.path()),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let paths: Vec<&str> = report["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .map(|d| d["path"].as_str().expect("path"))
        .collect();
    assert_eq!(paths.len(), 2);
    assert!(paths[0].ends_with("r\\xE8sultat.xml"), "{paths:?}");
    assert!(paths[1].ends_with("r\\xE9sultat.xml"), "{paths:?}");
}
