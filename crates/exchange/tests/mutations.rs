//! One defect at a time, each reported by its rule id, with the rest of the package still
//! read: corrupt MIME, hostile zips, metadata that contradicts the document, wrong headers.

mod common;

use common::{document, ids, options, same_patient};
use segur_cda::DocType;
use segur_exchange::metadata::Metadata;
use segur_exchange::package::prepare;
use segur_exchange::unpack::{Unpacked, unpack};
use segur_exchange::xdm::{self, Origin};
use segur_exchange::{iti41, mhd, mss, zip};

fn has(u: &Unpacked, rule: &str) -> bool {
    u.findings.iter().any(|f| f.rule == rule)
}

fn assert_only(u: &Unpacked, rules: &[&str]) {
    let mut got = ids(&u.findings);
    got.sort();
    got.dedup();
    let mut want: Vec<String> = rules.iter().map(|r| r.to_string()).collect();
    want.sort();
    assert_eq!(got, want, "{:#?}", u.findings);
}

fn mail() -> String {
    let input = document(DocType::CrBio, 5);
    String::from_utf8(mss::build(&[input], &options()).expect("mss")).expect("ascii")
}

/// The entries of a fresh XDM archive of one document, to mutate.
fn xdm_entries() -> Vec<(String, Vec<u8>)> {
    let input = document(DocType::Fludt, 9);
    let mut p = prepare(std::slice::from_ref(&input), &options(), Vec::new()).expect("prepare");
    p.metadata.entries[0].uri = Some("DOC0001.XML".into());
    let z = xdm::build(&p.metadata, &[input.bytes], &origin());
    zip::read(&z, "x", &zip::ZipLimits::default())
        .entries
        .into_iter()
        .map(|e| (e.name, e.data))
        .collect()
}

fn origin() -> Origin {
    Origin {
        sender: "a@b.mssante.fr".into(),
        software: "t".into(),
        version: "1".into(),
    }
}

fn with_metadata(edit: impl Fn(String) -> String) -> Unpacked {
    let mut entries = xdm_entries();
    for (n, d) in &mut entries {
        if n.ends_with("METADATA.XML") {
            *d = edit(String::from_utf8(d.clone()).expect("utf8")).into_bytes();
        }
    }
    unpack(&zip::write(&entries), "IHE_XDM.ZIP", None)
}

/// A change to METADATA.XML.
type Edit = Box<dyn Fn(String) -> String>;

fn documents(u: &Unpacked) -> usize {
    u.documents.len()
}

#[test]
fn truncated_message() {
    let m = mail();
    let cut = &m[..m.len() * 2 / 3];
    let u = unpack(cut.as_bytes(), "m.eml", None);
    assert!(has(&u, "SEGUR-MIME-TRUNCATED"), "{:#?}", u.findings);
    assert!(has(&u, "SEGUR-XDM-ZIP"), "{:#?}", u.findings);
    assert!(
        u.files.iter().any(|(p, _)| p.starts_with("body-")),
        "text part lost"
    );
}

#[test]
fn misspelled_transfer_encoding_is_read() {
    let m = mail().replace("Content-Transfer-Encoding", "Content-Transfert-Encoding");
    let u = unpack(m.as_bytes(), "m.eml", None);
    assert_only(&u, &["SEGUR-MIME-CTE-HEADER"]);
    assert_eq!(documents(&u), 1);
}

#[test]
fn unknown_transfer_encoding() {
    let m = mail().replacen(
        "Content-Transfer-Encoding: base64\r\nContent-Disposition",
        "Content-Transfer-Encoding: base65\r\nContent-Disposition",
        1,
    );
    let u = unpack(m.as_bytes(), "m.eml", None);
    assert!(has(&u, "SEGUR-MIME-CTE"), "{:#?}", u.findings);
    assert!(has(&u, "SEGUR-XDM-ZIP"));
    assert!(
        u.files.iter().any(|(p, _)| p.starts_with("body-")),
        "text part lost"
    );
}

#[test]
fn invalid_base64() {
    let m = mail();
    let at = m
        .find("filename=\"IHE_XDM.ZIP\"\r\n\r\n")
        .expect("zip part")
        + 30;
    let m = format!("{}*{}", &m[..at], &m[at + 1..]);
    let u = unpack(m.as_bytes(), "m.eml", None);
    assert!(has(&u, "SEGUR-MIME-BASE64"), "{:#?}", u.findings);
}

#[test]
fn zip_slip_and_absolute_names() {
    for evil in [
        "../../etc/cron.d/x",
        "/etc/passwd",
        "IHE_XDM/../../x",
        "C:/x",
    ] {
        let mut e = xdm_entries();
        e.push((evil.into(), b"x".to_vec()));
        let u = unpack(&zip::write(&e), "IHE_XDM.ZIP", None);
        assert_only(&u, &["SEGUR-XDM-PATH"]);
        assert_eq!(documents(&u), 1, "{evil}: document lost");
        assert!(
            u.files
                .iter()
                .all(|(p, _)| !p.contains("..") && !p.starts_with('/'))
        );
    }
}

#[test]
fn zip_bomb() {
    let mut e = xdm_entries();
    e.push(("IHE_XDM/SUBSET01/BOMB.BIN".into(), vec![0; 16 << 20]));
    let z = zip::write(&e);
    assert!(
        z.len() < 200_000,
        "the bomb should compress well: {}",
        z.len()
    );
    let u = unpack(&z, "IHE_XDM.ZIP", None);
    assert_only(&u, &["SEGUR-XDM-BOMB"]);
    assert_eq!(documents(&u), 1);
}

#[test]
fn missing_metadata() {
    let e: Vec<_> = xdm_entries()
        .into_iter()
        .filter(|(n, _)| !n.ends_with("METADATA.XML"))
        .collect();
    let u = unpack(&zip::write(&e), "IHE_XDM.ZIP", None);
    assert_only(&u, &["SEGUR-XDM-METADATA", "SEGUR-XDM-UNREFERENCED"]);
    assert!(
        u.files.iter().any(|(p, _)| p.ends_with("DOC0001.XML")),
        "document lost"
    );
}

#[test]
fn layout_unreferenced_missing_subset() {
    let e: Vec<_> = xdm_entries()
        .into_iter()
        .filter(|(n, _)| n != "README.TXT")
        .collect();
    assert_only(&unpack(&zip::write(&e), "z", None), &["SEGUR-XDM-LAYOUT"]);
    let mut e = xdm_entries();
    e.push(("IHE_XDM/SUBSET01/EXTRA.XML".into(), b"<a/>".to_vec()));
    assert_only(
        &unpack(&zip::write(&e), "z", None),
        &["SEGUR-XDM-UNREFERENCED"],
    );
    let u = with_metadata(|m| m.replace("DOC0001.XML", "DOC0009.XML"));
    assert_only(&u, &["SEGUR-XDM-MISSING", "SEGUR-XDM-UNREFERENCED"]);
    let u = with_metadata(|m| {
        let start = m.find("<rim:RegistryPackage").expect("ss");
        let end = m.find("</rim:RegistryPackage>").expect("ss") + 22;
        let ss = m[start..end].replace("urn:uuid:", "urn:uuid:0").replacen(
            "<rim:Slot",
            "<rim:Classification classificationNode=\"urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd\" id=\"x\"/><rim:Slot",
            1,
        );
        format!("{}{ss}{}", &m[..end], &m[end..])
    });
    assert!(has(&u, "SEGUR-XDM-SUBSET"), "{:#?}", u.findings);
    let u = with_metadata(|m| {
        let start = m
            .find("<rim:Classification classificationNode")
            .expect("node");
        let end = m[start..].find("/>").expect("end") + start + 2;
        format!("{}{}", &m[..start], &m[end..])
    });
    assert_only(&u, &["SEGUR-XDM-SUBSET"]);
}

#[test]
fn metadata_that_contradicts_the_document() {
    let entries = xdm_entries();
    let meta = entries
        .iter()
        .find(|(n, _)| n.ends_with("METADATA.XML"))
        .map(|(_, d)| String::from_utf8(d.clone()).expect("utf8"))
        .expect("metadata");
    let slot = |name: &str| {
        let at = meta.find(&format!("name=\"{name}\"")).expect(name);
        let v = meta[at..].find("<rim:Value>").expect("value") + at + 11;
        let end = meta[v..].find('<').expect("end") + v;
        meta[v..end].to_string()
    };
    let hash = slot("hash");
    let size = slot("size");
    let creation = slot("creationTime");
    let header = segur_exchange::cda::read_header(
        &entries
            .iter()
            .find(|(n, _)| n.ends_with("DOC0001.XML"))
            .expect("doc")
            .1,
    )
    .expect("header");
    let ins = header.ins.expect("ins");
    let doc_id = header.id.to_xds();
    let cases: Vec<(&str, Edit)> = vec![
        (
            "SEGUR-XDS-HASH",
            Box::new(move |m| m.replace(&hash, &"0".repeat(40))),
        ),
        (
            "SEGUR-XDS-SIZE",
            Box::new(move |m| m.replace(&format!(">{size}<"), ">1<")),
        ),
        (
            "SEGUR-XDS-HEADER",
            Box::new(move |m| m.replace(&creation, "20000101000000")),
        ),
        (
            "SEGUR-XDS-UNIQUEID",
            Box::new(move |m| m.replace(&format!("value=\"{doc_id}\""), "value=\"1.2.3\"")),
        ),
        (
            "SEGUR-XDS-TYPECODE",
            Box::new(|m| {
                m.replace(
                    "nodeRepresentation=\"74207-2\"",
                    "nodeRepresentation=\"11502-2\"",
                )
            }),
        ),
        (
            "SEGUR-XDS-CLASSCODE",
            Box::new(|m| m.replace("nodeRepresentation=\"11\"", "nodeRepresentation=\"10\"")),
        ),
        (
            "SEGUR-XDS-FORMATCODE",
            Box::new(|m| {
                m.replace(
                    "nodeRepresentation=\"urn:asip:ci-sis:fludt:2017\"",
                    "nodeRepresentation=\"urn:asip:ci-sis:dlu:2015\"",
                )
            }),
        ),
    ];
    for (rule, edit) in cases {
        let u = with_metadata(edit);
        assert_only(&u, &[rule]);
        assert_eq!(documents(&u), 1);
    }
    // A patientId of another INS: the entry disagrees with the document and with its SubmissionSet.
    let other = ins
        .to_cx()
        .replacen(&ins.matricule[..3], "199", 1)
        .replace('&', "&amp;");
    let cx = ins.to_cx().replace('&', "&amp;");
    let u = with_metadata(move |m| m.replacen(&cx, &other, 1));
    assert_only(&u, &["SEGUR-XDS-PATIENTID"]);
}

#[test]
fn duplicate_unique_ids() {
    let inputs = same_patient(DocType::CrBio, DocType::Fludt, 4);
    let mut p = prepare(&inputs, &options(), Vec::new()).expect("prepare");
    for (i, e) in p.metadata.entries.iter_mut().enumerate() {
        e.uri = Some(xdm::document_name(i + 1));
    }
    let first = p.metadata.entries[0].unique_id.clone();
    p.metadata.entries[1].unique_id = first;
    let m = Metadata { ..p.metadata };
    let docs: Vec<Vec<u8>> = inputs.iter().map(|i| i.bytes.clone()).collect();
    let u = unpack(&xdm::build(&m, &docs, &origin()), "IHE_XDM.ZIP", None);
    assert!(has(&u, "SEGUR-XDS-DUPLICATE"), "{:#?}", u.findings);
    assert!(has(&u, "SEGUR-XDS-UNIQUEID"));
    assert_eq!(documents(&u), 2);
}

#[test]
fn mss_headers() {
    let m = mail();
    let cases: Vec<(&str, String)> = vec![
        ("SEGUR-MSS-NIL", m.replace("X-MSS-NIL: SEGUR-TEST\r\n", "")),
        ("SEGUR-MSS-MESSAGEID", {
            let s = m.find("Message-ID:").expect("mid");
            let e = m[s..].find("\r\n").expect("eol") + s + 2;
            format!("{}{}", &m[..s], &m[e..])
        }),
        (
            "SEGUR-MSS-CODECDA",
            m.replace("X-MSS-CODECDA: 11502-2", "X-MSS-CODECDA: 11490-0"),
        ),
        (
            "SEGUR-MSS-CODECDA",
            m.replace("X-MSS-CODECDA: 11502-2\r\n", ""),
        ),
        ("SEGUR-MSS-INS", m.replace("X-MSS-INS: O", "X-MSS-INS: oui")),
        (
            "SEGUR-MSS-INS-QUALIF",
            m.replace("X-MSS-INS: O", "X-MSS-INS: N"),
        ),
        (
            "SEGUR-MSS-MES",
            m.replace("X-MSS-INS: O\r\n", "X-MSS-INS: O\r\nX-MSS-MES: STOP\r\n"),
        ),
        ("SEGUR-MSS-SUBJECT", {
            let s = m.find("Subject:").expect("subject");
            let e = m[s..].find("\r\nMIME").expect("eol") + s;
            format!("{}Subject: Résultats{}", &m[..s], &m[e..])
        }),
        ("SEGUR-MSS-PATIENT-ADDR", {
            let s = m.find("To: ").expect("to") + 4;
            format!("{}199{}", &m[..s], &m[s + 3..])
        }),
    ];
    for (rule, text) in cases {
        let u = unpack(text.as_bytes(), "m.eml", None);
        assert_only(&u, &[rule]);
        assert_eq!(documents(&u), 1, "{rule}");
    }
    let to_pro = m.replace("X-MSS-INS: O\r\n", "X-MSS-INS: O\r\nX-MSS-MES: FIN\r\n");
    let s = to_pro.find("To: ").expect("to");
    let e = to_pro[s..].find("\r\n").expect("eol") + s;
    let to_pro = format!(
        "{}To: dr.x@ch-test.mssante.fr{}",
        &to_pro[..s],
        &to_pro[e..]
    );
    assert_only(
        &unpack(to_pro.as_bytes(), "m.eml", None),
        &["SEGUR-MSS-MES"],
    );
}

/// `text` with the header line starting with `name:` written twice.
fn twice(text: &str, name: &str) -> String {
    let s = if text.starts_with(&format!("{name}:")) {
        0
    } else {
        text.find(&format!("\r\n{name}:")).expect(name) + 2
    };
    let e = text[s..].find("\r\n").expect("eol") + s + 2;
    format!("{}{}", &text[..e], &text[s..])
}

#[test]
fn repeated_message_fields_are_reported() {
    let m = mail();
    for name in [
        "Date",
        "From",
        "To",
        "Message-ID",
        "Subject",
        "X-MSS-NIL",
        "X-MSS-CODECDA",
        "X-MSS-INS",
    ] {
        let u = unpack(twice(&m, name).as_bytes(), "m.eml", None);
        assert_only(&u, &["SEGUR-MSS-DUPLICATE"]);
        assert_eq!(documents(&u), 1, "{name}");
        let f = &u.findings[0];
        assert!(
            f.message.contains(&format!("{name} appears 2 times")),
            "{f:?}"
        );
        assert!(f.location.line.is_some(), "{f:?}");
    }
    let fin = m.replace("X-MSS-INS: O\r\n", "X-MSS-INS: O\r\nX-MSS-MES: FIN\r\n");
    assert_only(&unpack(fin.as_bytes(), "m.eml", None), &[]);
    assert_only(
        &unpack(twice(&fin, "X-MSS-MES").as_bytes(), "m.eml", None),
        &["SEGUR-MSS-DUPLICATE"],
    );
}

#[test]
fn a_repeated_content_type_is_reported_and_the_archive_still_read() {
    let m = mail();
    let s = m
        .find("Content-Type: multipart/mixed")
        .expect("content type");
    // A reader taking the first Content-Type sees a text body and no archive.
    let hidden = format!("{}Content-Type: text/plain\r\n{}", &m[..s], &m[s..]);
    let u = unpack(hidden.as_bytes(), "m.eml", None);
    assert_only(&u, &["SEGUR-MIME-DUPLICATE"]);
    assert_eq!(documents(&u), 1);
    // The other order, and a repeated encoding in a part.
    let after = m.replacen(
        "\r\n\r\nThis is a multi-part",
        "\r\nContent-Type: text/plain\r\n\r\nThis is a multi-part",
        1,
    );
    let u = unpack(after.as_bytes(), "m.eml", None);
    assert_only(&u, &["SEGUR-MIME-DUPLICATE"]);
    assert_eq!(documents(&u), 1);
    let cte = m.replacen(
        "Content-Transfer-Encoding: base64\r\n",
        "Content-Transfer-Encoding: base64\r\nContent-Transfer-Encoding: base64\r\n",
        1,
    );
    assert_only(
        &unpack(cte.as_bytes(), "m.eml", None),
        &["SEGUR-MIME-DUPLICATE"],
    );
}

#[test]
fn x_mss_ins_o_needs_traits() {
    let input = document(DocType::N1CrBio, 8);
    let text = String::from_utf8(input.bytes).expect("utf8");
    let s = text.find("<birthTime").expect("birthTime");
    let e = text[s..].find("/>").expect("end") + s + 2;
    let stripped = format!("{}{}", &text[..s], &text[e..]);
    let input = segur_exchange::package::Input {
        name: "n1.xml".into(),
        bytes: stripped.into_bytes(),
        header: None,
    };
    let m = String::from_utf8(mss::build(&[input], &options()).expect("mss")).expect("ascii");
    assert!(m.contains("X-MSS-INS: N\r\n"));
    assert_only(&unpack(m.as_bytes(), "m.eml", None), &[]);
    let lie = m.replace("X-MSS-INS: N", "X-MSS-INS: O");
    assert_only(
        &unpack(lie.as_bytes(), "m.eml", None),
        &["SEGUR-MSS-INS-QUALIF"],
    );
}

#[test]
fn iti41_defects() {
    let input = document(DocType::N1LdlSes, 12);
    let req = iti41::build(&[input], &options())
        .expect("iti41")
        .to_capture();
    let text = String::from_utf8(req).expect("utf8");
    let cases: Vec<(&str, String)> = vec![
        (
            "SEGUR-ITI41-WSA",
            text.replace(
                ">urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b</wsa:Action>",
                ">urn:ihe:iti:2007:RegistryStoredQuery</wsa:Action>",
            ),
        ),
        (
            "SEGUR-ITI41-VIHF",
            text.replace(
                "urn:oasis:names:tc:xacml:2.0:resource:resource-id",
                "resource",
            ),
        ),
        (
            "SEGUR-ITI41-XOP",
            text.replace("href=\"cid:0.2\"", "href=\"cid:0.9\""),
        ),
        (
            "SEGUR-ITI41-SOAP",
            text.replace(
                "http://www.w3.org/2003/05/soap-envelope",
                "http://schemas.xmlsoap.org/soap/envelope/",
            ),
        ),
    ];
    for (rule, t) in cases {
        let u = unpack(t.as_bytes(), "req.mtom", None);
        assert!(has(&u, rule), "{rule}: {:#?}", u.findings);
        assert!(
            u.findings
                .iter()
                .all(|f| f.rule.starts_with("SEGUR-ITI41-")),
            "{rule}: {:#?}",
            u.findings
        );
    }
    // A bare HTTP capture (request line, then headers) is read too.
    let http = format!("POST /si-dmp-server/v2/services/repository HTTP/1.1\r\nHost: x\r\n{text}");
    let u = unpack(http.as_bytes(), "req.http", None);
    assert_only(&u, &[]);
    assert_eq!(documents(&u), 1);
}

#[test]
fn an_mhd_bundle_with_a_repeated_key_is_not_read() {
    let input = document(DocType::CrBio, 13);
    let text = String::from_utf8(mhd::build(&[input], &options()).expect("mhd")).expect("utf8");
    assert_only(&unpack(text.as_bytes(), "b.json", None), &[]);
    let at = text.find("\"transaction\"").expect("type") + "\"transaction\"".len();
    // One reader takes the transaction, another the batch.
    let twice = format!("{}, \"type\": \"batch\"{}", &text[..at], &text[at..]);
    let u = unpack(twice.as_bytes(), "b.json", None);
    assert_only(&u, &["SEGUR-MHD-BUNDLE"]);
    assert!(
        u.findings[0].message.contains("duplicate key \"type\""),
        "{:?}",
        u.findings
    );
    assert!(u.findings[0].location.line.is_some(), "{:?}", u.findings);
    assert_eq!(documents(&u), 0);
    // A byte order mark in front is read past (RFC 8259 8.1), as the FHIR validator does:
    // the Bundle is still a package, its rules still run.
    let bom = [b"\xef\xbb\xbf".as_slice(), twice.as_bytes()].concat();
    assert_eq!(
        segur_exchange::unpack::detect(&bom),
        Some(segur_exchange::unpack::Kind::Mhd)
    );
    assert_only(&unpack(&bom, "b.json", None), &["SEGUR-MHD-BUNDLE"]);
    let bom = [b"\xef\xbb\xbf".as_slice(), text.as_bytes()].concat();
    let u = unpack(&bom, "b.json", None);
    assert_only(&u, &[]);
    assert_eq!(documents(&u), 1);
    // Two entries with one fullUrl (bdl-7): a second Binary that differs is not read.
    let mut b: serde_json::Value = serde_json::from_str(&text).expect("json");
    let entries = b["entry"].as_array_mut().expect("entries");
    let binary = entries
        .iter()
        .find(|e| e["resource"]["resourceType"] == "Binary")
        .cloned()
        .expect("binary");
    let mut other = binary.clone();
    other["resource"]["data"] = serde_json::json!("AAAA");
    entries.push(other);
    let u = unpack(&serde_json::to_vec(&b).expect("json"), "b.json", None);
    assert_only(&u, &["SEGUR-MHD-BUNDLE"]);
    assert!(
        u.findings[0].message.contains("repeats the fullUrl"),
        "{:?}",
        u.findings
    );
    // Deeper down too: a second `data` in a Binary.
    let at = text.find("\"data\"").expect("data");
    let twice = format!("{}\"data\": \"AAAA\", {}", &text[..at], &text[at..]);
    let u = unpack(twice.as_bytes(), "b.json", None);
    assert_only(&u, &["SEGUR-MHD-BUNDLE"]);
}

#[test]
fn mhd_defects() {
    let input = document(DocType::CrBio, 13);
    let bundle: serde_json::Value =
        serde_json::from_slice(&mhd::build(&[input], &options()).expect("mhd")).expect("json");
    let edit = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut b = bundle.clone();
        f(&mut b);
        unpack(&serde_json::to_vec(&b).expect("json"), "b.json", None)
    };
    let docref = |b: &mut serde_json::Value| -> usize {
        b["entry"]
            .as_array()
            .and_then(|a| {
                a.iter()
                    .position(|e| e["resource"]["resourceType"] == "DocumentReference")
            })
            .expect("docref")
    };
    let binary = |b: &mut serde_json::Value| -> usize {
        b["entry"]
            .as_array()
            .and_then(|a| {
                a.iter()
                    .position(|e| e["resource"]["resourceType"] == "Binary")
            })
            .expect("binary")
    };
    let u = edit(&|b| {
        let i = docref(b);
        b["entry"][i]["resource"]["content"][0]["attachment"]["hash"] = "AAAA".into();
    });
    assert_only(&u, &["SEGUR-XDS-HASH"]);
    let u = edit(&|b| {
        let i = docref(b);
        b["entry"][i]["resource"]["content"][0]["attachment"]["url"] = "urn:uuid:nowhere".into();
    });
    assert_only(&u, &["SEGUR-MHD-REFERENCE"]);
    let u = edit(&|b| {
        let i = binary(b);
        b["entry"][i]["resource"]["data"] = "@@@".into();
    });
    assert_only(&u, &["SEGUR-MIME-BASE64"]);
    let u = edit(&|b| b["type"] = "document".into());
    assert_only(&u, &["SEGUR-MHD-BUNDLE"]);
    let u = edit(&|b| {
        let i = b["entry"]
            .as_array()
            .and_then(|a| {
                a.iter()
                    .position(|e| e["resource"]["resourceType"] == "Patient")
            })
            .expect("patient");
        b["entry"][i]["resource"]["identifier"][0]["value"] = "199999999999999".into();
    });
    assert!(has(&u, "SEGUR-XDS-PATIENTID"), "{:#?}", u.findings);
    assert_eq!(documents(&u), 1);
}

#[test]
fn garbage_never_panics() {
    let m = mail();
    for cut in (0..m.len()).step_by(m.len() / 97 + 1) {
        let _ = unpack(&m.as_bytes()[..cut], "m.eml", None);
    }
    for bytes in [
        &b""[..],
        b"PK\x03\x04",
        b"{",
        b"--x\r\n",
        b"<soap:Envelope",
        b"\xff\xfe\x00",
    ] {
        let _ = unpack(bytes, "g", None);
    }
}

/// A read acknowledgement in the shape the ANS IG gives (multipart/report, an error subject,
/// the original message and a re-attached archive), with a placeholder instead of the
/// archive: every part is kept, the error-subject prefix is accepted, the archive is reported.
#[test]
fn mdn_shaped_report_is_read() {
    let text = "Date: Mon, 6 Jan 2025 10:00:00 +0100\r\nFrom: auto@ch-a.mssante.fr\r\n\
        Message-ID: <1@ch-a.mssante.fr>\r\nTo: dr@ch-b.mssante.fr\r\nX-MSS-NIL: T1\r\n\
        Subject: [KO Int\u{e9}gration syst\u{e8}me !][902] XDM/1.0/DDM+CR NOM Prenom 01/02/1990\r\n\
        MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=disposition-notification;\r\n boundary=\"B\"\r\n\r\n\
        --B\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nerreur 902\r\n\
        --B\r\nContent-Type: message/disposition-notification\r\n\r\nFinal-Recipient: rfc822;dr@ch-b.mssante.fr\r\nDisposition: automatic-action/MDN-sent-automatically; processed/Error: 902^x\r\n\
        --B\r\nContent-Type: message/rfc822\r\n\r\nSubject: original\r\n\r\nbody\r\n\
        --B\r\nContent-Type: application/zip; name=\"IHE_XDM.zip\"\r\nContent-Transfer-Encoding: base64\r\n\r\nbm90IGEgemlw\r\n\
        --B--\r\n";
    let u = unpack(text.as_bytes(), "mdn.eml", None);
    // The notification lacks the Original-Message-ID and Original-Recipient the ANS volet wants.
    assert_only(&u, &["SEGUR-MDN-FIELDS", "SEGUR-XDM-ZIP"]);
    let names: Vec<&str> = u.files.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        names,
        ["body-1.txt", "part-2.mdn.txt", "part-3.eml", "IHE_XDM.zip"]
    );
    assert_eq!(u.files[3].1, b"not a zip");
}

/// For a typeCode outside segur's table, any classCode must still be a TRE_A03 class.
#[test]
fn class_code_outside_tre_a03() {
    let input = document(DocType::CrBio, 31);
    let text = String::from_utf8(input.bytes).expect("utf8").replacen(
        "code=\"11502-2\"",
        "code=\"34133-9\"",
        1,
    );
    let input = segur_exchange::package::Input {
        name: "x.xml".into(),
        bytes: text.into_bytes(),
        header: None,
    };
    let build = |class: &str| {
        let mut p = prepare(std::slice::from_ref(&input), &options(), Vec::new()).expect("prepare");
        assert!(
            p.metadata.entries[0].class_code.is_none(),
            "34133-9 is outside the table"
        );
        p.metadata.entries[0].uri = Some("DOC0001.XML".into());
        p.metadata.entries[0].class_code = Some(segur_exchange::metadata::Code::new(
            class,
            segur_exchange::codes::CLASS_SCHEME,
            "x",
        ));
        unpack(
            &xdm::build(&p.metadata, std::slice::from_ref(&input.bytes), &origin()),
            "z",
            None,
        )
    };
    assert_only(&build("11"), &[]);
    assert_only(&build("77"), &["SEGUR-XDS-CLASSCODE"]);
}

/// An IHE DSG signature document beside the CDA (as DRIMbox sends the XAdES signature of the
/// submission set): its hash and size are checked, it is not read as CDA, and a note says its
/// signature is not verified.
#[test]
fn a_dsg_signature_document_is_kept_and_not_read_as_cda() {
    use segur_exchange::metadata::{Code, DSG_CLASS, DSG_FORMAT, sha1_hex};
    let input = document(DocType::CrBio, 41);
    let mut p = prepare(std::slice::from_ref(&input), &options(), Vec::new()).expect("prepare");
    p.metadata.entries[0].uri = Some("DOC0001.XML".into());
    let sig =
        br#"<Signature xmlns="http://www.w3.org/2000/09/xmldsig#" Id="urn:uuid:0"/>"#.to_vec();
    let mut entry = p.metadata.entries[0].clone();
    entry.uri = Some("DOC0002.XML".into());
    entry.entry_uuid = "urn:uuid:6f1b1a3e-0000-5000-8000-000000000001".into();
    entry.unique_id = "2.25.4242".into();
    entry.hash = sha1_hex(&sig);
    entry.size = sig.len() as u64;
    entry.class_code = Some(Code::new(DSG_CLASS, "URN", "Digital Signature"));
    entry.type_code = Code::new("E1762", "ASTM", "Full Document");
    entry.format_code = Some(Code::new(DSG_FORMAT, "URN", "Default Signature Style"));
    entry.language = "art".into();
    assert!(entry.is_signature() && !p.metadata.entries[0].is_signature());
    p.metadata.entries.push(entry);
    let build = |sig: &[u8]| {
        unpack(
            &xdm::build(&p.metadata, &[input.bytes.clone(), sig.to_vec()], &origin()),
            "IHE_XDM.ZIP",
            None,
        )
    };
    let u = build(&sig);
    assert_only(&u, &[]);
    assert_eq!(documents(&u), 2);
    assert!(
        u.notes
            .iter()
            .any(|n| n.contains("submission-set signature document (IHE DSG)")),
        "{:?}",
        u.notes
    );
    // Altered after the metadata was made: its hash no longer matches.
    let mut altered = sig.clone();
    altered[10] = b'X';
    assert_only(&build(&altered), &["SEGUR-XDS-HASH"]);
}

/// The line (1-based) of the first line of `text` that starts with `prefix`.
fn line_starting(text: &str, prefix: &str) -> u32 {
    let i = text
        .split("\r\n")
        .position(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?}"));
    u32::try_from(i + 1).expect("line")
}

#[test]
fn message_findings_point_at_their_header_or_where_it_is_missing() {
    let m = mail();
    let positions = |text: &str, rule: &str| -> Vec<(Option<u32>, Option<u32>)> {
        unpack(text.as_bytes(), "m.eml", None)
            .findings
            .iter()
            .filter(|f| f.rule == rule)
            .map(|f| (f.location.line, f.location.column))
            .collect()
    };
    // A wrong header: its own line.
    let wrong = m.replace("X-MSS-INS: O", "X-MSS-INS: oui");
    let line = line_starting(&wrong, "X-MSS-INS:");
    assert_eq!(positions(&wrong, "SEGUR-MSS-INS"), [(Some(line), Some(1))]);
    // A missing header: the blank line that ends the headers, where it belongs.
    let missing = m.replace("X-MSS-NIL: SEGUR-TEST\r\n", "");
    let end = missing
        .split("\r\n")
        .position(str::is_empty)
        .map(|i| u32::try_from(i + 1).expect("line"));
    assert!(end > Some(5));
    assert_eq!(positions(&missing, "SEGUR-MSS-NIL"), [(end, Some(1))]);
    // A part's header, counted in the whole message.
    let cte = m.replacen(
        "Content-Transfer-Encoding: base64\r\nContent-Disposition",
        "Content-Transfer-Encoding: base65\r\nContent-Disposition",
        1,
    );
    let line = line_starting(&cte, "Content-Transfer-Encoding: base65");
    assert_eq!(positions(&cte, "SEGUR-MIME-CTE"), [(Some(line), Some(1))]);
    // An ITI-41 capture of a bare multipart body after an HTTP request line (the reader puts
    // a Content-Type header in front of it): lines are still those of the file.
    let input = document(DocType::CrBio, 5);
    let request = iti41::build(&[input], &options()).expect("iti41");
    let body = String::from_utf8_lossy(&request.body).replacen(
        "Content-Transfer-Encoding: binary",
        "Content-Transfer-Encoding: base65",
        1,
    );
    assert!(body.starts_with("--"), "{body:.100}");
    let capture = format!("POST /iti41 HTTP/1.1\r\n{body}");
    let line = line_starting(&capture, "Content-Transfer-Encoding: base65");
    assert_eq!(
        positions(&capture, "SEGUR-MIME-CTE"),
        [(Some(line), Some(1))]
    );
}

#[test]
fn a_message_with_a_long_header_block_is_still_a_message() {
    // Mail servers put Received, DKIM and ARC fields first: 40 of them and an 8 KiB folded
    // field must not hide the message's own fields.
    let m = mail();
    let received: String = (0..40)
        .map(|i| format!("Received: from relay{i}.example.fr (relay{i}.example.fr [192.0.2.{i}])\r\n\tby mx.example.fr with ESMTPS id {i:08x}; Mon, 6 Jan 2025 10:00:00 +0100\r\n"))
        .collect();
    // A long field folded as mail servers fold it (one of 8 KiB on one line would pass the
    // 998-octet limit: SEGUR-MIME-LINE-LENGTH).
    let long = format!(
        "DKIM-Signature: v=1; b={}\r\n",
        vec!["A".repeat(76); 108].join("\r\n\t")
    );
    let relayed = format!("{received}{long}{m}");
    assert_eq!(
        segur_exchange::unpack::detect(relayed.as_bytes()),
        Some(segur_exchange::unpack::Kind::Mss)
    );
    let u = unpack(relayed.as_bytes(), "m.eml", None);
    assert_only(&u, &[]);
    assert_eq!(documents(&u), 1);
}

/// `text` without the metadata slot `name` (its whole `rim:Slot` element).
fn without_slot(text: &str, name: &str) -> String {
    let start = text
        .find(&format!("<rim:Slot name=\"{name}\""))
        .unwrap_or_else(|| panic!("no slot {name}"));
    let end = start + text[start..].find("</rim:Slot>").expect("slot end") + "</rim:Slot>".len();
    format!("{}{}", &text[..start], &text[end..])
}

#[test]
fn metadata_findings_are_reported_once_at_their_entry() {
    let about_language = |u: &Unpacked| -> Vec<segur_finding::Finding> {
        u.findings
            .iter()
            .filter(|f| f.message.contains("languageCode"))
            .cloned()
            .collect()
    };
    // ITI-41: the ExtrinsicObject's XPath, and its line:column in the request file.
    let input = document(DocType::CrBio, 5);
    let req = iti41::build(&[input], &options())
        .expect("iti41")
        .to_capture();
    let text = without_slot(&String::from_utf8(req).expect("utf8"), "languageCode");
    let found = about_language(&unpack(text.as_bytes(), "req.mtom", None));
    assert_eq!(found.len(), 1, "{found:#?}");
    let f = &found[0];
    assert_eq!(f.rule, "SEGUR-XDS-METADATA");
    let at = text.find("<rim:ExtrinsicObject").expect("entry");
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = 1 + text[..at].matches('\n').count();
    let column = 1 + text[line_start..at].chars().count();
    assert_eq!(
        (f.location.line, f.location.column),
        (Some(line as u32), Some(column as u32))
    );
    let xpath = f.location.xpath.as_deref().unwrap_or("");
    assert!(
        xpath.starts_with("/soap:Envelope/")
            && xpath.ends_with("/rim:RegistryObjectList/rim:ExtrinsicObject"),
        "{xpath}"
    );
    // XDM: the archive entry and the XPath in it; no line, which would be one of the zip.
    let u = with_metadata(|m| without_slot(&m, "languageCode"));
    let found = about_language(&u);
    assert_eq!(found.len(), 1, "{found:#?}");
    let xpath = found[0].location.xpath.as_deref().unwrap_or("");
    assert!(
        xpath.starts_with("IHE_XDM.ZIP!IHE_XDM/SUBSET01/METADATA.XML/")
            && xpath.ends_with("/rim:RegistryObjectList/rim:ExtrinsicObject"),
        "{xpath}"
    );
    assert_eq!(found[0].location.line, None);
}

/// The whole element starting at the first `start` of `text` and ending at the next `end`.
fn element<'t>(text: &'t str, start: &str, end: &str) -> &'t str {
    let from = text.find(start).unwrap_or_else(|| panic!("no {start}"));
    let to = from + text[from..].find(end).expect("element end") + end.len();
    &text[from..to]
}

#[test]
fn metadata_given_twice_is_reported_where_only_the_first_is_read() {
    let input = document(DocType::CrBio, 5);
    let req = iti41::build(&[input], &options())
        .expect("iti41")
        .to_capture();
    let text = String::from_utf8(req).expect("utf8");
    // A second patientId: a registry reading it would file the document under another patient.
    let pid = element(
        &text,
        "<rim:ExternalIdentifier identificationScheme=\"urn:uuid:58a6f841",
        "</rim:ExternalIdentifier>",
    );
    let value_at = pid.find("value=\"").expect("value") + "value=\"".len();
    let other = format!("{}9{}", &pid[..value_at], &pid[value_at + 1..]);
    let hash = element(&text, "<rim:Slot name=\"hash\">", "</rim:Slot>");
    let two_values = hash.replacen("</rim:Value>", "</rim:Value><rim:Value>00</rim:Value>", 1);
    for (what, edited) in [
        ("patientId", text.replacen(pid, &format!("{pid}{other}"), 1)),
        ("hash", text.replacen(hash, &format!("{hash}{hash}"), 1)),
        ("hash", text.replacen(hash, &two_values, 1)),
    ] {
        let u = unpack(edited.as_bytes(), "req.mtom", None);
        assert_only(&u, &["SEGUR-XDS-REPEATED"]);
        let f = &u.findings[0];
        assert!(
            f.message.contains(&format!("gives {what} more than once")),
            "{}",
            f.message
        );
        let entry = edited.find("<rim:ExtrinsicObject").expect("entry");
        let line = 1 + edited[..entry].matches('\n').count() as u32;
        assert_eq!(f.location.line, Some(line), "{what}");
    }
    // A repeated ExtrinsicObject is read once and reported once, at the repetition.
    let entry = element(&text, "<rim:ExtrinsicObject", "</rim:ExtrinsicObject>");
    let twice = text.replacen(entry, &format!("{entry}\n{entry}"), 1);
    let u = unpack(twice.as_bytes(), "req.mtom", None);
    assert_only(&u, &["SEGUR-XDS-DUPLICATE"]);
    assert_eq!(u.findings.len(), 1, "{:#?}", u.findings);
    let second = twice.rfind("<rim:ExtrinsicObject").expect("second");
    let line = 1 + twice[..second].matches('\n').count() as u32;
    assert_eq!(u.findings[0].location.line, Some(line));
    // The same in XDM: one document, one finding; a SubmissionSet with two sourceIds.
    let u = with_metadata(|m| {
        let entry = element(&m, "<rim:ExtrinsicObject", "</rim:ExtrinsicObject>").to_string();
        m.replacen(&entry, &format!("{entry}{entry}"), 1)
    });
    assert_only(&u, &["SEGUR-XDS-DUPLICATE"]);
    assert_eq!(
        (u.findings.len(), documents(&u)),
        (1, 1),
        "{:#?}",
        u.findings
    );
    let u = with_metadata(|m| {
        let source = element(
            &m,
            "<rim:ExternalIdentifier identificationScheme=\"urn:uuid:554ac39e",
            "</rim:ExternalIdentifier>",
        )
        .to_string();
        m.replacen(&source, &format!("{source}{source}"), 1)
    });
    assert_only(&u, &["SEGUR-XDS-REPEATED"]);
    assert!(
        u.findings[0]
            .message
            .contains("SubmissionSet gives sourceId")
    );
}
