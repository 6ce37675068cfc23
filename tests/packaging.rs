//! `segur package`, `segur unpack` and `segur validate` on packages, driven as a user would.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::*;

/// One document of every type, built by `segur build all`.
fn documents(dir: &Path) -> Vec<PathBuf> {
    let o = segur(&["build", "all", "--out", path(dir), "--seed", "3"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    v.sort();
    assert_eq!(v.len(), 4);
    v
}

/// `segur package mss DOCS --out OUT --time TIME`, which must succeed.
fn package_mss(docs: &[&Path], out: &Path, time: &str) {
    let mut args = vec!["package", "mss"];
    args.extend(docs.iter().map(|d| path(d)));
    args.extend(["--out", path(out), "--time", time]);
    let o = segur(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn every_type_packaged_every_way_validates_with_zero_findings() {
    let tmp = tempfile::tempdir().expect("tmp");
    let docs = documents(&tmp.path().join("docs"));
    let mut packages = Vec::new();
    for doc in &docs {
        for (kind, ext) in [("mss", "eml"), ("iti41", "mtom"), ("mhd", "json")] {
            let out = tmp.path().join(format!(
                "{}.{ext}",
                doc.file_stem().and_then(|s| s.to_str()).unwrap_or("x")
            ));
            let o = segur(&[
                "package",
                kind,
                path(doc),
                "--out",
                path(&out),
                "--time",
                "1736000000",
            ]);
            assert_eq!(
                o.status.code(),
                Some(0),
                "{kind} {}: {}",
                doc.display(),
                stderr(&o)
            );
            packages.push(out);
        }
    }
    let rules = rules();
    let mut args = vec!["validate", "--rules", &rules];
    args.extend(packages.iter().map(|p| path(p)));
    let o = segur(&args);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}{}", stderr(&o));
    // 12 packages, each with its one document.
    assert!(
        text.ends_with(
            "24 documents: 24 conformant, 0 non-conformant, 0 unreadable; 0 errors, 0 warnings\n"
        ),
        "{text}"
    );
    assert_eq!(text.lines().count(), 1, "{text}");
}

#[test]
fn a_package_is_reproducible_for_a_given_time() {
    let tmp = tempfile::tempdir().expect("tmp");
    let docs = documents(&tmp.path().join("docs"));
    // The second goes into folders that do not exist yet: they are made.
    let (a, b) = (
        tmp.path().join("a.eml"),
        tmp.path().join("new/folder/b.eml"),
    );
    for out in [&a, &b] {
        package_mss(&[&docs[0], &docs[3]], out, "1");
    }
    assert_eq!(std::fs::read(&a).expect("a"), std::fs::read(&b).expect("b"));
}

#[test]
fn corruptions_are_reported_by_rule_id() {
    let tmp = tempfile::tempdir().expect("tmp");
    let docs = documents(&tmp.path().join("docs"));
    let mail = tmp.path().join("m.eml");
    package_mss(&[&docs[1]], &mail, "5");
    let text = std::fs::read_to_string(&mail).expect("mail");
    let cases = [
        (
            "SEGUR-MSS-INS-QUALIF",
            text.replace("X-MSS-INS: O", "X-MSS-INS: N"),
        ),
        ("SEGUR-MIME-TRUNCATED", text[..text.len() / 2].to_string()),
        (
            "SEGUR-MIME-CTE",
            text.replace(
                "Content-Transfer-Encoding: base64\r\nContent-Disposition",
                "Content-Transfer-Encoding: base-64\r\nContent-Disposition",
            ),
        ),
        (
            "SEGUR-MSS-NIL",
            text.replace("X-MSS-NIL: SEGUR-TEST\r\n", ""),
        ),
    ];
    for (rule, body) in cases {
        let f = tmp.path().join(format!("{rule}.eml"));
        std::fs::write(&f, body).expect("write");
        let o = segur(&["validate", "--rules", &rules(), path(&f)]);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{rule}: {}{}",
            stdout(&o),
            stderr(&o)
        );
        assert!(
            stdout(&o).contains(&format!(" {rule} ")),
            "{rule}: {}",
            stdout(&o)
        );
    }
    // A zip entry climbing out of the extraction folder: reported, and never written there.
    let zip = segur_exchange::zip::write(&[
        ("README.TXT".into(), b"r".to_vec()),
        ("../escape.txt".into(), b"x".to_vec()),
    ]);
    let z = tmp.path().join("in/IHE_XDM.ZIP");
    std::fs::create_dir_all(z.parent().expect("parent")).expect("mkdir");
    std::fs::write(&z, zip).expect("write");
    let out = tmp.path().join("in/out");
    let o = segur(&["unpack", path(&z), "--out", path(&out)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stdout(&o).contains(" SEGUR-XDM-PATH "), "{}", stdout(&o));
    assert!(!tmp.path().join("in/escape.txt").exists());
    assert!(out.join("README.TXT").exists());
}

#[test]
fn unpack_extracts_documents_metadata_and_files() {
    let tmp = tempfile::tempdir().expect("tmp");
    let docs = documents(&tmp.path().join("docs"));
    let mail = tmp.path().join("m.eml");
    let o = segur(&[
        "package",
        "mss",
        path(&docs[0]),
        path(&docs[3]),
        "--out",
        path(&mail),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = tmp.path().join("out");
    let o = segur(&["unpack", path(&mail), "--out", path(&out)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("mss package, 2 document(s)"),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        std::fs::read(out.join("IHE_XDM/SUBSET01/DOC0001.XML")).expect("doc 1"),
        std::fs::read(&docs[0]).expect("input 1")
    );
    assert_eq!(
        std::fs::read(out.join("IHE_XDM/SUBSET01/DOC0002.XML")).expect("doc 2"),
        std::fs::read(&docs[3]).expect("input 2")
    );
    for f in ["README.TXT", "INDEX.HTM", "IHE_XDM/SUBSET01/METADATA.XML"] {
        assert!(out.join(f).is_file(), "{f}");
    }

    // Links already in the output folder are never written through: nothing lands outside
    // the folder. A folder link is replaced; a file or link where a part belongs is left as
    // it was, the part written under a free name.
    let outside = tmp.path().join("outside");
    std::fs::create_dir(&outside).expect("mkdir");
    std::fs::write(outside.join("victim.txt"), "ORIGINAL").expect("write");
    let linked = tmp.path().join("linked");
    std::fs::create_dir(&linked).expect("mkdir");
    std::os::unix::fs::symlink(outside.join("victim.txt"), linked.join("README.TXT"))
        .expect("link");
    std::os::unix::fs::symlink(&outside, linked.join("IHE_XDM")).expect("link");
    let o = segur(&["unpack", path(&mail), "--out", path(&linked)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(outside.join("victim.txt")).expect("victim"),
        "ORIGINAL"
    );
    assert_eq!(
        std::fs::read_dir(&outside).expect("outside").count(),
        1,
        "written outside"
    );
    assert!(linked.join("IHE_XDM/SUBSET01/DOC0001.XML").is_file());
    assert!(linked.join("README.TXT").is_symlink());
    assert!(linked.join("README-2.TXT").is_file());
    assert!(
        stdout(&o).contains("note: README.TXT is already in "),
        "{}",
        stdout(&o)
    );

    // A part named by the sender like the message itself, unpacked beside it: the message is
    // not replaced.
    let text = std::fs::read_to_string(&mail).expect("mail");
    let boundary = text
        .split("boundary=\"")
        .nth(1)
        .and_then(|b| b.split('"').next())
        .expect("boundary")
        .to_string();
    let end = text.rfind(&format!("--{boundary}--")).expect("end");
    let trap = format!(
        "{}--{boundary}\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"m2.eml\"\r\n\r\nowned\r\n{}",
        &text[..end],
        &text[end..]
    );
    let mail2 = tmp.path().join("m2.eml");
    std::fs::write(&mail2, &trap).expect("write");
    let o = segur(&["unpack", path(&mail2), "--out", path(tmp.path())]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(std::fs::read_to_string(&mail2).expect("mail"), trap);
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("m2-2.eml")).expect("part"),
        "owned"
    );
}

#[test]
fn unpack_of_the_ans_pdsm_example_yields_its_document() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../../shared/fhir/examples/valid/pdsm-iti65-Bundle-bundle-exemple-comprehensiveprovidedocument-replace.json",
    );
    let tmp = tempfile::tempdir().expect("tmp");
    let o = segur(&["unpack", path(&example), "--out", path(tmp.path())]);
    // Its declared hash is the SHA-1 of "hello", not of the "Hello" it carries.
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stdout(&o).contains(" SEGUR-XDS-HASH "), "{}", stdout(&o));
    assert_eq!(
        std::fs::read(tmp.path().join("DOC0001.XML")).expect("doc"),
        b"Hello"
    );
}

#[test]
fn bad_inputs_are_one_line_usage_errors() {
    let tmp = tempfile::tempdir().expect("tmp");
    let not_cda = tmp.path().join("note.xml");
    std::fs::write(&not_cda, "<note/>").expect("write");
    let o = segur(&[
        "package",
        "mhd",
        path(&not_cda),
        "--out",
        path(&tmp.path().join("b.json")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        format!(
            "segur: {}: the root element is not a CDA ClinicalDocument\n",
            path(&not_cda)
        )
    );
    let o = segur(&[
        "unpack",
        path(&not_cda),
        "--out",
        path(&tmp.path().join("u")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    let o = segur(&[
        "package",
        "mss",
        path(&tmp.path().join("missing.xml")),
        "--out",
        "x",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("missing.xml: cannot read"),
        "{}",
        stderr(&o)
    );

    // An output that is also an input would destroy it, even through a link.
    let docs = documents(&tmp.path().join("docs"));
    let before = std::fs::read(&docs[1]).expect("read");
    let link = tmp.path().join("link.xml");
    std::os::unix::fs::symlink(&docs[1], &link).expect("link");
    for out in [path(&docs[1]), path(&link)] {
        let o = segur(&["package", "mhd", path(&docs[1]), "--out", out]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains("it is also an input"), "{}", stderr(&o));
    }
    assert_eq!(std::fs::read(&docs[1]).expect("read"), before);

    // Options of another kind of package would be ignored: refused, all named.
    let o = segur(&[
        "package",
        "iti41",
        path(&docs[1]),
        "--out",
        path(&tmp.path().join("r.xml")),
        "--to",
        "a@b.fr",
        "--read-receipt",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "segur: --to, --read-receipt do not apply to a package of kind iti41\n"
    );
}

#[test]
fn a_signed_iti41_request_validates_and_a_tampered_one_does_not() {
    let tmp = tempfile::tempdir().expect("tmp");
    let docs = documents(&tmp.path().join("docs"));
    let (key, cert) = (tmp.path().join("k.pem"), tmp.path().join("c.pem"));
    let o = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        // An end-entity signing certificate (OpenSSL's default for -x509 is a CA).
        .args([
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-addext",
            "keyUsage=critical,digitalSignature",
        ])
        .args([
            "-subj",
            "/C=FR/O=SEGUR TEST/CN=DMP SIGN",
            "-keyout",
            path(&key),
            "-out",
            path(&cert),
        ])
        .output()
        .expect("openssl (needed to generate the test key)");
    assert!(o.status.success(), "{}", stderr(&o));
    let req = tmp.path().join("r.mtom");
    let o = segur(&[
        "package",
        "iti41",
        path(&docs[2]),
        "--out",
        path(&req),
        "--sign-key",
        path(&key),
        "--sign-cert",
        path(&cert),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("signed VIHF"), "{}", stdout(&o));
    let o = segur(&[
        "validate",
        "--rules",
        &rules(),
        "--format",
        "json",
        path(&req),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("VIHF signature verified"),
        "{}",
        stdout(&o)
    );
    // With trust anchors: its own (self-issued) certificate chains, another does not.
    let other = tmp.path().join("other.pem");
    let o = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=AUTRE AC", "-keyout"])
        .arg(tmp.path().join("other.key"))
        .arg("-out")
        .arg(&other)
        .output()
        .expect("openssl");
    assert!(o.status.success(), "{}", stderr(&o));
    let o = segur(&[
        "validate",
        "--rules",
        &rules(),
        "--vihf-ca",
        path(&cert),
        path(&req),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let o = segur(&[
        "validate",
        "--rules",
        &rules(),
        "--vihf-ca",
        path(&other),
        path(&req),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains(" SEGUR-ITI41-VIHF-CERT "),
        "{}",
        stdout(&o)
    );
    let text = std::fs::read_to_string(&req)
        .expect("req")
        .replace(">urn:dmp<", ">urn:dmx<");
    std::fs::write(&req, text).expect("write");
    let o = segur(&["validate", "--rules", &rules(), path(&req)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(" SEGUR-ITI41-VIHF-SIGNATURE "),
        "{}",
        stdout(&o)
    );
    let o = segur(&[
        "package",
        "mss",
        path(&docs[2]),
        "--out",
        path(&req),
        "--sign-key",
        path(&key),
        "--sign-cert",
        path(&cert),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
}

#[test]
fn a_package_report_passes_the_json_report_schema() {
    let tmp = tempfile::tempdir().expect("tmp");
    let docs = documents(&tmp.path().join("docs"));
    let mail = tmp.path().join("m.eml");
    let o = segur(&["package", "mss", path(&docs[0]), "--out", path(&mail)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(&mail)
        .expect("mail")
        .replace("X-MSS-INS: O", "X-MSS-INS: N");
    std::fs::write(&mail, text).expect("write");
    let report = tmp.path().join("r.json");
    let o = segur(&[
        "validate",
        "--rules",
        &rules(),
        "--format",
        "json",
        "--output",
        path(&report),
        path(&mail),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).expect("report")).expect("json");
    assert_eq!(
        v["documents"][0]["findings"][0]["rule"],
        "SEGUR-MSS-INS-QUALIF"
    );
    assert_eq!(v["documents"][0]["findings"][0]["source"]["file"], "segur");
    assert_eq!(v["documents"].as_array().map(Vec::len), Some(2));
    let o = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/json_schema_check.py"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/schemas/report.schema.json"))
        .arg(&report)
        .output()
        .expect("python3");
    assert!(o.status.success(), "{}", stdout(&o));
}

#[test]
fn a_read_receipt_is_answered_with_an_mdn_that_validates_and_checks() {
    let tmp = tempfile::tempdir().expect("tmp");
    let docs = documents(&tmp.path().join("docs"));
    let sent = tmp.path().join("sent.eml");
    let o = segur(&[
        "package",
        "mss",
        path(&docs[0]),
        "--out",
        path(&sent),
        "--read-receipt",
        "--time",
        "1736000000",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (ok, ko) = (tmp.path().join("ok.eml"), tmp.path().join("ko.eml"));
    for (out, extra) in [
        (&ok, vec![]),
        (&ko, vec!["--error", "902^Identifiant de patient inconnu"]),
    ] {
        let mut args = vec![
            "package",
            "mdn",
            "--for",
            path(&sent),
            "--out",
            path(out),
            "--time",
            "1736000100",
        ];
        args.extend(extra);
        let o = segur(&args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    // Both MDNs are well-formed packages: zero findings, and the report notes what each says.
    let o = segur(&[
        "validate",
        "--rules",
        &rules(),
        "--format",
        "json",
        path(&ok),
        path(&ko),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    assert!(text.contains(": processed\""), "{text}");
    assert!(text.contains("processed with error 902^"), "{text}");
    // Checked against the sent message: the success passes, the failure is reported.
    let o = segur(&["mdn", path(&ok), "--for", path(&sent)]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    // A field an MDN may hold once, twice: reported by `segur mdn` as by `segur validate`.
    let twice = tmp.path().join("twice.eml");
    let text = std::fs::read_to_string(&ok).expect("mdn");
    let subject = text
        .lines()
        .find(|l| l.starts_with("Subject:"))
        .expect("subject")
        .to_string();
    std::fs::write(
        &twice,
        text.replacen(&subject, &format!("{subject}\r\n{subject}"), 1),
    )
    .expect("write");
    let o = segur(&["mdn", path(&twice), "--for", path(&sent)]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("SEGUR-MSS-DUPLICATE"), "{}", stdout(&o));
    let o = segur(&["mdn", path(&ko), "--for", path(&sent)]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("SEGUR-MDN-NOT-PROCESSED"),
        "{}",
        stdout(&o)
    );
    // Against another message: not its answer.
    let other = tmp.path().join("other.eml");
    package_mss(&[&docs[1]], &other, "1736000000");
    let o = segur(&["mdn", path(&ok), "--for", path(&other)]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("SEGUR-MDN-MISMATCH"), "{}", stdout(&o));
    // A message that asked for no MDN is not answered unless forced.
    let o = segur(&["package", "mdn", "--for", path(&other), "--out", path(&ko)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("asks for no MDN"), "{}", stderr(&o));
    let o = segur(&["mdn", path(&sent)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// A rules directory beside the ANS kit: its XSD and schematrons (linked folders, only
/// read), and a `jeuxDeValeurs/` folder of its own holding *copies* of the kit's value sets but
/// those whose name starts with `skip`, so that a test may write there without touching the
/// kit.
#[cfg(unix)]
fn rules_without(dir: &Path, skip: &str) -> PathBuf {
    let shared = PathBuf::from(rules());
    let r = dir.join("rules");
    std::fs::create_dir_all(r.join("jeuxDeValeurs")).expect("mkdir");
    for d in ["infrastructure", "schematrons"] {
        std::os::unix::fs::symlink(shared.join(d), r.join(d)).expect("link");
    }
    // The ANS CI tool's mapping beside the rules, as `segur rules fetch` puts it.
    std::os::unix::fs::symlink(shared.join("../peer"), dir.join("peer")).expect("link");
    for e in std::fs::read_dir(shared.join("jeuxDeValeurs")).expect("jeuxDeValeurs") {
        let e = e.expect("entry");
        if !e.file_name().to_string_lossy().starts_with(skip) {
            std::fs::copy(e.path(), r.join("jeuxDeValeurs").join(e.file_name())).expect("copy");
        }
    }
    r
}

#[test]
fn a_code_outside_its_value_set_is_reported_by_its_rule() {
    let tmp = tempfile::tempdir().expect("tmp");
    let docs = documents(&tmp.path().join("docs"));
    let req = tmp.path().join("r.mtom");
    let o = segur(&[
        "package",
        "iti41",
        path(&docs[1]),
        "--out",
        path(&req),
        "--time",
        "5",
        "--rules",
        &rules(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("value set JDV_J07 (typeCode): ")
            && stdout(&o).contains("JDV_J07_XdsTypeCode_CISIS.xml sha256:"),
        "{}",
        stdout(&o)
    );
    let bytes = std::fs::read(&req).expect("read");
    let text = String::from_utf8_lossy(&bytes);
    // The healthcareFacilityTypeCode's codingScheme: its code still agrees with the document.
    let facility = "<rim:Value>1.2.250.1.71.4.2.4</rim:Value>";
    assert_eq!(text.matches(facility).count(), 1, "{text}");
    let bad = tmp.path().join("bad.mtom");
    std::fs::write(
        &bad,
        text.replace(facility, "<rim:Value>1.2.250.1.71.4.2.5</rim:Value>"),
    )
    .expect("write");
    let o = segur(&["validate", "--rules", &rules(), path(&bad)]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.contains(" SEGUR-XDS-VALUESET-FACILITY "), "{out}");
    assert_eq!(out.matches(" SEGUR-XDS-").count(), 1, "{out}");
}

#[cfg(unix)]
#[test]
fn a_missing_value_set_is_noted_and_a_broken_one_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let docs = documents(&tmp.path().join("docs"));
    let mail = tmp.path().join("m.eml");
    package_mss(&[&docs[0]], &mail, "5");
    // JDV_J08 is the one of the five that no ANS schematron reads: the documents still validate.
    let r = rules_without(tmp.path(), "JDV_J08");
    // Absent: the check is not made, and the package's notes say so.
    let o = segur(&[
        "unpack",
        path(&mail),
        "--out",
        path(&tmp.path().join("out")),
        "--rules",
        path(&r),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains(&format!(
            "note: confidentialityCode not checked against JDV_J08-XdsConfidentialityCode-CISIS (SEGUR-XDS-VALUESET-CONFIDENTIALITY): absent, not checked (no JDV_J08 file in {})",
            r.join("jeuxDeValeurs").display()
        )),
        "{out}"
    );
    assert!(
        out.contains("note: value set JDV_J02 (healthcareFacilityTypeCode): ")
            && !out.contains("healthcareFacilityTypeCode not checked"),
        "{out}"
    );
    let o = segur(&[
        "validate",
        "--rules",
        path(&r),
        "--format",
        "json",
        path(&mail),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let notes = report.to_string();
    assert!(
        notes.contains(
            "confidentialityCode not checked against JDV_J08-XdsConfidentialityCode-CISIS"
        ) && !notes.contains("typeCode not checked"),
        "{notes}"
    );
    // Broken: one line naming the file and the reason, exit 2, for every command that reads it.
    let j08 = r.join("jeuxDeValeurs/JDV_J08_XdsConfidentialityCode_CISIS.xml");
    // A new file of the test's own folder: nothing of the kit is written to.
    assert!(
        std::fs::symlink_metadata(&j08).is_err(),
        "{}",
        j08.display()
    );
    std::fs::write(
        &j08,
        "<RetrieveValueSetResponse xmlns=\"urn:ihe:iti:svs:2008\"><ValueSet",
    )
    .expect("write");
    for args in [
        vec![
            "unpack",
            path(&mail),
            "--out",
            path(&tmp.path().join("out2")),
        ],
        vec![
            "package",
            "mss",
            path(&docs[0]),
            "--out",
            path(&tmp.path().join("m2.eml")),
        ],
        vec!["validate", path(&mail)],
    ] {
        let mut args = args.clone();
        args.extend(["--rules", path(&r)]);
        let o = segur(&args);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{args:?}: {}{}",
            stdout(&o),
            stderr(&o)
        );
        let err = stderr(&o);
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.contains(&format!("{}: not XML", j08.display())),
            "{args:?}: {err}"
        );
    }
    // `segur validate` reads the tables when it meets the first package: a run of CDA
    // documents only does not, and is not failed by them.
    let o = segur(&["validate", "--rules", path(&r), path(&docs[0])]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(!stderr(&o).contains("JDV_J08"), "{}", stderr(&o));
}

#[test]
fn an_mhd_bundle_with_a_byte_order_mark_is_still_a_package() {
    let tmp = tempfile::tempdir().expect("tmp");
    let docs = documents(&tmp.path().join("docs"));
    let bundle = tmp.path().join("b.json");
    let o = segur(&["package", "mhd", path(&docs[0]), "--out", path(&bundle)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // A wrong hash, and a byte order mark in front: the packaging rules still run.
    let text = std::fs::read_to_string(&bundle).expect("bundle");
    let wrong = text.replacen("\"hash\": \"", "\"hash\": \"AAAA", 1);
    assert_ne!(wrong, text);
    std::fs::write(&bundle, format!("\u{feff}{wrong}")).expect("write");
    let o = segur(&["validate", "--rules", &rules(), path(&bundle)]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains(" SEGUR-XDS-HASH "), "{}", stdout(&o));
}
