//! The `segur` binary, driven as a user would: exit codes, messages, reproducibility.

use std::path::Path;
use std::process::{Command, Output};

mod common;
use common::*;

#[test]
fn ins_check_accepts_a_valid_matricule() {
    let o = segur(&[
        "ins",
        "check",
        "279035121518989",
        "--oid",
        "1.2.250.1.213.1.4.10",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o).trim(),
        "valid: 279035121518989 (key 89), OID 1.2.250.1.213.1.4.10 (INS-NIR de test)"
    );
}

#[test]
fn ins_check_rejects_a_wrong_key_and_names_the_expected_one() {
    let o = segur(&["ins", "check", "279035121518988"]);
    assert_eq!(o.status.code(), Some(1));
    let line = stdout(&o);
    assert!(line.contains("expected 89"), "{line}");
    assert_eq!(line.lines().count(), 1);
    // What was given is shown escaped: one line still.
    let o = segur(&["ins", "check", "27903512151898\n9"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).starts_with(r"invalid: 27903512151898\n9: "),
        "{}",
        stdout(&o)
    );
    assert_eq!(stdout(&o).lines().count(), 1);
}

#[test]
fn ins_check_json_reports_the_error() {
    let o = segur(&["ins", "check", "2790351215189", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).expect("json");
    assert_eq!(v["valid"], false);
    assert!(
        v["error"].as_str().expect("error").contains("length"),
        "{v}"
    );
}

#[test]
fn ins_check_with_an_unknown_oid_is_a_usage_error() {
    let o = segur(&["ins", "check", "279035121518989", "--oid", "1.2.3"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.starts_with("segur: --oid 1.2.3:"), "{err}");
    assert_eq!(err.lines().count(), 1);
}

#[test]
fn ins_gen_is_seeded_json_lines_of_valid_identities() {
    let a = segur(&["ins", "gen", "--count", "5", "--seed", "42"]);
    let b = segur(&["ins", "gen", "--count", "5", "--seed", "42"]);
    assert_eq!(a.status.code(), Some(0));
    assert_eq!(a.stdout, b.stdout, "same seed, same identities");
    let lines: Vec<String> = stdout(&a).lines().map(String::from).collect();
    assert_eq!(lines.len(), 5);
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line).expect("json line");
        let m = v["matricule"].as_str().expect("matricule");
        assert!(segur(&["ins", "check", m]).status.success(), "{m}");
        assert_eq!(v["oid"], "1.2.250.1.213.1.4.10");
        assert_eq!(v["status"], "QUAL");
    }
    assert_ne!(
        stdout(&segur(&["ins", "gen", "--count", "5", "--seed", "43"])),
        stdout(&a)
    );
}

#[test]
fn build_list_names_every_type() {
    let o = segur(&["build", "--list"]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    for name in ["n1-cr-bio", "n1-ldl-ses", "cr-bio", "fludt"] {
        assert!(
            text.lines().any(|l| l.starts_with(name)),
            "{name} in {text}"
        );
    }
}

#[test]
fn build_is_byte_for_byte_reproducible() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    for (out, seed) in [(&a, "9"), (&b, "9"), (&c, "10")] {
        let o = segur(&[
            "build",
            "all",
            "--count",
            "3",
            "--seed",
            seed,
            "--out",
            path(out),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let mut names: Vec<_> = std::fs::read_dir(&a)
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    names.sort();
    assert_eq!(names.len(), 12);
    for name in &names {
        let x = std::fs::read(a.join(name)).expect("read");
        assert_eq!(
            x,
            std::fs::read(b.join(name)).expect("read"),
            "{name:?} differs between runs"
        );
        assert_ne!(
            x,
            std::fs::read(c.join(name)).expect("read"),
            "{name:?} ignores the seed"
        );
    }
}

#[test]
fn build_again_with_a_smaller_count_leaves_only_what_it_built_for_that_type() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path();
    for (kind, count) in [("cr-bio", "3"), ("fludt", "2")] {
        let o = segur(&["build", kind, "--count", count, "--out", path(out)]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    for other in [
        "notes.txt",
        "cr-bio-0000.xml",
        "other-0009.xml",
        "cr-bio-0002.xml.tmp",
    ] {
        std::fs::write(out.join(other), b"x").expect("write");
    }
    let o = segur(&["build", "cr-bio", "--count", "1", "--out", path(out)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("removed 3 file(s) of these types"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let mut names: Vec<String> = std::fs::read_dir(out)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "cr-bio-0000.xml",
            "cr-bio-0001.xml",
            "fludt-0001.xml",
            "fludt-0002.xml",
            "notes.txt",
            "other-0009.xml"
        ]
    );
}

#[test]
fn documents_of_one_build_never_share_a_matricule() {
    // One generator for the whole build: 1,000 patients, 1,000 matricules (a generator per
    // document repeated one in about 20,000).
    let dir = tempfile::tempdir().expect("temp dir");
    let o = segur(&[
        "build",
        "n1-cr-bio",
        "--count",
        "1000",
        "--out",
        path(dir.path()),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut seen = std::collections::HashSet::new();
    for e in std::fs::read_dir(dir.path()).expect("list") {
        let text = std::fs::read_to_string(e.expect("entry").path()).expect("read");
        let at = text
            .find(r#"<id root="1.2.250.1.213.1.4.10" extension=""#)
            .expect("an INS-NIR de test");
        let ins = &text[at + 43..at + 58];
        assert!(seen.insert(ins.to_string()), "{ins} given twice");
    }
    assert_eq!(seen.len(), 1000);
}

#[test]
fn build_for_given_matricules_uses_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let o = segur(&[
        "build",
        "fludt",
        "--count",
        "2",
        "--out",
        path(dir.path()),
        "--ins",
        "279035121518989",
        "212017231012386",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let first = std::fs::read_to_string(dir.path().join("fludt-0001.xml")).expect("read");
    let second = std::fs::read_to_string(dir.path().join("fludt-0002.xml")).expect("read");
    assert!(first.contains(r#"<id root="1.2.250.1.213.1.4.10" extension="279035121518989"/>"#));
    assert!(
        first.contains("<administrativeGenderCode code=\"F\""),
        "sex follows the matricule"
    );
    assert!(
        first.contains("<county>51215</county>"),
        "birth place follows the matricule"
    );
    assert!(second.contains(r#"extension="212017231012386""#));
}

#[test]
fn build_rejects_bad_input_with_one_line_and_exit_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = path(dir.path());
    for (args, expect) in [
        (
            vec!["build", "cr-bi0", "--out", out],
            "unknown document type 'cr-bi0'",
        ),
        (
            vec!["build", "cr-bio", "--out", out, "--count", "0"],
            "--count 0",
        ),
        (
            vec!["build", "cr-bio", "--out", out, "--ins", "279035121518988"],
            "expected 89",
        ),
    ] {
        let o = segur(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("segur: ") && err.contains(expect), "{err}");
    }
    let o = segur(&["build", "cr-bio"]);
    assert_eq!(o.status.code(), Some(2), "missing --out is a usage error");
    let o = segur(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn build_into_an_unwritable_place_is_an_infrastructure_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").expect("write");
    let o = segur(&["build", "cr-bio", "--out", path(&file)]);
    assert_eq!(o.status.code(), Some(3));
    let err = stderr(&o);
    assert!(
        err.contains("not-a-dir") && err.lines().count() == 1,
        "{err}"
    );
}

fn pki_rules(o: &Output) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(stdout(o).trim()).expect("json");
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["severity"] != "info")
        .map(|f| f["rule"].as_str().expect("rule").to_string())
        .collect()
}

#[test]
fn pki_init_then_inspect_lints_each_certificate_as_designed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = path(dir.path());
    let o = segur(&["pki", "init", d, "--clients", "2"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let root = dir.path().join("ca/root.pem");
    let inspect = |file: &str| {
        let f = dir.path().join(file);
        segur(&[
            "pki",
            "inspect",
            path(&f),
            "--ca",
            path(&root),
            "--format",
            "json",
        ])
    };
    for good in [
        "clients/client-001.chain.pem",
        "clients/client-002.chain.pem",
    ] {
        let o = inspect(good);
        assert_eq!(o.status.code(), Some(0), "{good}: {}", stdout(&o));
        assert!(pki_rules(&o).is_empty(), "{good}: {:?}", pki_rules(&o));
    }
    for (file, rule) in [
        ("broken/expired.chain.pem", "SEGUR-CERT-EXPIRED"),
        ("broken/not-yet-valid.chain.pem", "SEGUR-CERT-NOT-YET-VALID"),
        ("broken/wrong-eku.chain.pem", "SEGUR-CERT-EKU-CLIENTAUTH"),
        ("broken/unknown-ca.chain.pem", "SEGUR-CERT-CHAIN"),
        (
            "broken/no-structure-id.chain.pem",
            "SEGUR-CERT-STRUCTURE-ID",
        ),
    ] {
        let o = inspect(file);
        assert_eq!(o.status.code(), Some(1), "{file}");
        assert_eq!(pki_rules(&o), vec![rule.to_string()], "{file}");
    }
    let text = segur(&[
        "pki",
        "inspect",
        path(&dir.path().join("clients/client-001.pem")),
    ]);
    assert_eq!(text.status.code(), Some(0));
    let text = stdout(&text);
    assert!(
        text.contains("structure id:       FINESS 99000001"),
        "{text}"
    );
    assert!(text.contains("extended key usage: clientAuth"), "{text}");
    assert!(
        text.trim_end().ends_with("ok: 0 error(s), 0 warning(s)"),
        "{text}"
    );
}

#[test]
fn pki_init_does_not_overwrite_without_force() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = path(dir.path());
    assert_eq!(
        segur(&["pki", "init", d, "--clients", "0"]).status.code(),
        Some(0)
    );
    let o = segur(&["pki", "init", d, "--clients", "0"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("pki.toml already exists") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
    let o = segur(&["pki", "init", d, "--clients", "0", "--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn pki_inspect_of_an_unreadable_input_is_one_line_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing.pem");
    let not_pem = dir.path().join("notes.txt");
    std::fs::write(&not_pem, "hello").expect("write");
    for f in [&missing, &not_pem] {
        let o = segur(&["pki", "inspect", path(f)]);
        assert_eq!(o.status.code(), Some(2));
        let err = stderr(&o);
        assert!(err.starts_with(&format!("segur: {}: ", path(f))), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

/// A one-commit git repository at `dir` holding `files`; its commit id.
fn git_repo(dir: &Path, files: &[(&str, &str)]) -> String {
    for (name, content) in files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, content).expect("write");
    }
    let git = |args: &[&str]| {
        let o = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.email=ci@segur.invalid", "-c", "user.name=ci"])
            .args(args)
            .output()
            .expect("git runs");
        assert!(o.status.success(), "git {args:?}: {}", stderr(&o));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    git(&["init", "--quiet"]);
    git(&["add", "-A"]);
    git(&["commit", "--quiet", "-m", "fixture"]);
    git(&["rev-parse", "HEAD"])
}

#[test]
fn rules_fetch_checks_out_the_rules_and_puts_the_mapping_beside_them() {
    // Local repositories stand in for the ANS and validateCDA ones (no network in CI): the
    // same commands with --repository/--commit, as a user with a mirror would run them.
    let tmp = tempfile::tempdir().expect("tempdir");
    let ans = tmp.path().join("ans");
    let map = tmp.path().join("map");
    let ans_commit = git_repo(
        &ans,
        &[
            ("infrastructure/cda/CDA_extended.xsd", "<schema/>"),
            ("schematrons/README", "fixture"),
        ],
    );
    let map_commit = git_repo(
        &map,
        &[
            (
                "mapping.properties",
                "1.2.250.1.213.1.1.1.55.2024.01=BIO-CR-BIO_2024.01\n",
            ),
            ("other/big.txt", "not needed"),
        ],
    );
    let rules = tmp.path().join("data/rules");
    let map_url = format!("file://{}", map.display());
    // A mirror of the NOS folder holding two of the three association tables (segur's own
    // fixtures, laid out as BASE/NAME/NAME.xml).
    let nos = tmp.path().join("nos");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../exchange/tests/fixtures/tables/svs/terminologies");
    for name in [
        "ASS_A11-CorresModeleCDA-XdsFormatCode-CISIS",
        "ASS_X04-CorrespondanceType-Classe-CISIS",
    ] {
        std::fs::create_dir_all(nos.join(name)).expect("mkdir");
        std::fs::copy(
            fixtures.join(format!("{name}.xml")),
            nos.join(name).join(format!("{name}.xml")),
        )
        .expect("copy");
    }
    let nos_url = format!("file://{}", nos.display());
    let fetch = |mapping_commit: &str| {
        segur(&[
            "rules",
            "fetch",
            "--dir",
            path(&rules),
            "--repository",
            path(&ans),
            "--commit",
            &ans_commit,
            "--mapping-repository",
            &map_url,
            "--mapping-commit",
            mapping_commit,
            "--tables-base",
            &nos_url,
        ])
    };
    let o = fetch(&map_commit);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(rules.join("infrastructure/cda/CDA_extended.xsd").is_file());
    let x04 = rules.join("terminologies/ASS_X04-CorrespondanceType-Classe-CISIS.xml");
    assert!(x04.is_file(), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("ASS_A12: not fetched") && stdout(&o).contains("built-in partial rows"),
        "{}",
        stdout(&o)
    );
    // `segur package` with these rules names the fetched file for ASS_X04 and the built-in
    // rows for ASS_A12.
    let docs = tmp.path().join("docs");
    let b = segur(&["build", "cr-bio", "--out", path(&docs), "--seed", "2"]);
    assert_eq!(b.status.code(), Some(0), "{}", stderr(&b));
    let doc = std::fs::read_dir(&docs)
        .expect("docs")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .next()
        .expect("a document");
    let p = segur(&[
        "package",
        "mss",
        path(&doc),
        "--out",
        path(&tmp.path().join("m.eml")),
        "--rules",
        path(&rules),
    ]);
    assert_eq!(p.status.code(), Some(0), "{}", stderr(&p));
    let text = stdout(&p);
    assert!(
        text.contains(&format!("table ASS_X04: {} sha256:", x04.display())),
        "{text}"
    );
    assert!(text.contains("table ASS_A12: built-in partial"), "{text}");
    let mapping = tmp.path().join("data/peer/mapping.properties");
    assert_eq!(
        std::fs::read_to_string(&mapping).expect("mapping fetched"),
        "1.2.250.1.213.1.1.1.55.2024.01=BIO-CR-BIO_2024.01\n"
    );
    // Again on the existing checkout: an update, not a failure.
    let o = fetch(&map_commit);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("already a checkout"), "{}", stdout(&o));
    // A commit the mapping repository does not have: one line, infrastructure exit code.
    let missing = "0123456789abcdef0123456789abcdef01234567";
    let o = fetch(missing);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(stderr(&o).trim().lines().count(), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains(missing), "{}", stderr(&o));
}

#[test]
fn usage_errors_are_one_line() {
    for args in [
        &["validate"][..],
        &["frob"],
        &["package", "mss", "x.xml", "--out", "y", "--time", "-1"],
        &["ins", "gen", "--count", "many"],
    ] {
        let o = segur(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("segur: ") && err.contains("(see --help)"),
            "{err}"
        );
    }
    let help = segur(&["validate", "--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(stdout(&help).contains("Usage:"));
}

#[test]
fn an_endless_device_is_read_within_the_bound() {
    // /dev/zero says nothing of its length: certificates and trust stores are read to 16 MiB,
    // then refused, in one line (it grew to gigabytes).
    let dir = tempfile::tempdir().expect("temp dir");
    let doc = dir.path().join("d.xml");
    std::fs::write(&doc, "<a/>").expect("write");
    for args in [
        vec!["pki", "inspect", "/dev/zero"],
        vec!["validate", "--vihf-ca", "/dev/zero", path(&doc)],
    ] {
        let o = segur(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert_eq!(
            stderr(&o),
            "segur: /dev/zero: larger than 16777216 bytes\n",
            "{args:?}"
        );
    }
}

#[test]
fn an_error_line_stays_one_line_whatever_a_file_name_holds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let odd = dir.path().join("x\ny.xml");
    std::fs::write(&odd, "<a>").expect("write");
    let o = segur(&["validate", path(&odd), "--rules", &rules()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(r"x\ny.xml"), "{err}");
}

/// A document that cannot be written (a folder in its place) stops the build with exit 3 and
/// leaves no half-written temporary file behind.
#[test]
fn a_failed_write_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("cr-bio-0002.xml")).expect("mkdir");
    let o = segur(&["build", "cr-bio", "--count", "3", "--out", path(dir.path())]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cr-bio-0002.xml: cannot write"),
        "{}",
        stderr(&o)
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
