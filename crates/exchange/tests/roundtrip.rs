//! build → unpack: the same documents come back, with the metadata derived from them, and
//! segur's packaging rules find nothing — for every document type and every package kind.

mod common;

use common::{document, ids, options, same_patient, types};
use segur_cda::DocType;
use segur_exchange::cda::read_header;
use segur_exchange::metadata::DocumentEntry;
use segur_exchange::package::Options;
use segur_exchange::unpack::{Kind, detect, unpack, unpack_validated, validate_documents};
use segur_exchange::{iti41, mhd, mss};

fn build(kind: Kind, inputs: &[segur_exchange::package::Input]) -> Vec<u8> {
    let o = options();
    match kind {
        Kind::Mss => mss::build(inputs, &o).expect("mss"),
        Kind::Iti41 => iti41::build(inputs, &o).expect("iti41").to_capture(),
        Kind::Mhd => mhd::build(inputs, &o).expect("mhd"),
        Kind::Xdm => unreachable!("built inside mss"),
    }
}

#[test]
fn every_type_every_kind_round_trips_without_findings() {
    for t in types() {
        let input = document(t, 7);
        for kind in [Kind::Mss, Kind::Iti41, Kind::Mhd] {
            let bytes = build(kind, std::slice::from_ref(&input));
            assert_eq!(detect(&bytes), Some(kind), "{t:?} {kind:?}");
            let u = unpack(&bytes, "pkg", None);
            assert!(u.findings.is_empty(), "{t:?} {kind:?}: {:#?}", u.findings);
            // No value set installed here: each check not made is said, never passed silently.
            for jdv in segur_exchange::value_sets::Jdv::ALL {
                assert!(
                    u.notes.iter().any(|n| n.starts_with(&format!(
                        "{} not checked against {}",
                        jdv.metadata(),
                        jdv.name()
                    ))),
                    "{t:?} {kind:?}: {:?}",
                    u.notes
                );
            }
            assert_eq!(u.documents.len(), 1, "{t:?} {kind:?}");
            let d = &u.documents[0];
            assert_eq!(d.bytes, input.bytes, "{t:?} {kind:?}: document changed");
            let header = read_header(&input.bytes).expect("header");
            let derived = DocumentEntry::derive(&header, &input.bytes);
            let got = d.entry.clone().expect("entry");
            assert_eq!(got.unique_id, derived.unique_id);
            assert_eq!(got.patient_id, derived.patient_id);
            assert_eq!(got.hash, derived.hash);
            assert_eq!(got.size, derived.size);
            assert_eq!(got.type_code, derived.type_code);
            assert_eq!(got.class_code, derived.class_code);
            assert_eq!(
                got.format_code.as_ref().map(|f| &f.code),
                derived.format_code.as_ref().map(|f| &f.code)
            );
            assert_eq!(got.creation_time, derived.creation_time);
            if kind != Kind::Mhd {
                // ebRIM carries every slot: the whole entry comes back (URI set by XDM, and
                // where it was read).
                let mut got = d.entry.clone().expect("entry");
                assert!(
                    got.at.as_ref().is_some_and(|a| a.xpath.is_some()),
                    "{t:?} {kind:?}"
                );
                got.uri = None;
                got.at = None;
                assert_eq!(got, derived, "{t:?} {kind:?}");
            }
            assert_eq!(u.submission_sets.len(), 1);
            assert_eq!(u.submission_sets[0].1.patient_id, derived.patient_id);
        }
    }
}

#[test]
fn several_documents_in_one_package() {
    let inputs = same_patient(DocType::CrBio, DocType::N1LdlSes, 3);
    for kind in [Kind::Mss, Kind::Iti41, Kind::Mhd] {
        let u = unpack(&build(kind, &inputs), "pkg", None);
        assert!(u.findings.is_empty(), "{kind:?}: {:#?}", u.findings);
        let got: Vec<&[u8]> = u.documents.iter().map(|d| d.bytes.as_slice()).collect();
        let want: Vec<&[u8]> = inputs.iter().map(|i| i.bytes.as_slice()).collect();
        assert_eq!(got, want, "{kind:?}");
    }
    let mail = String::from_utf8(build(Kind::Mss, &inputs)).expect("ascii");
    assert!(
        mail.contains("X-MSS-CODECDA: 11502-2,11490-0\r\n"),
        "{mail}"
    );
}

#[test]
fn message_headers_follow_the_conventions() {
    let input = document(DocType::Fludt, 11);
    let h = read_header(&input.bytes).expect("header");
    let ins = h.ins.clone().expect("ins");
    let mut o = options();
    o.read_receipt = true;
    o.no_patient_reply = true;
    o.pdf = Some(("copie.pdf".into(), b"%PDF-1.4 x %%EOF".to_vec()));
    let mail = String::from_utf8(mss::build(&[input], &o).expect("mss")).expect("ascii");
    let header = |name: &str| {
        mail.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .map(str::to_string)
    };
    assert_eq!(
        header("To"),
        Some(format!("{}@patient.mssante.fr", ins.matricule))
    );
    assert_eq!(header("X-MSS-INS").as_deref(), Some("O"));
    assert_eq!(header("X-MSS-CODECDA").as_deref(), Some("74207-2"));
    assert_eq!(header("X-MSS-MES").as_deref(), Some("FIN"));
    assert_eq!(header("X-MSS-NIL").as_deref(), Some("SEGUR-TEST"));
    assert_eq!(header("Disposition-Notification-To"), Some(o.from.clone()));
    assert!(header("Message-ID").is_some_and(|m| m.starts_with('<') && m.ends_with('>')));
    let u = unpack(mail.as_bytes(), "m.eml", None);
    assert!(u.findings.is_empty(), "{:#?}", u.findings);
    assert!(
        u.files
            .iter()
            .any(|(p, b)| p == "copie.pdf" && b.starts_with(b"%PDF"))
    );
    for f in ["README.TXT", "INDEX.HTM", "IHE_XDM/SUBSET01/METADATA.XML"] {
        assert!(
            u.files.iter().any(|(p, _)| p == f),
            "{f} missing: {:?}",
            u.files.iter().map(|f| &f.0).collect::<Vec<_>>()
        );
    }
    let subject = segur_exchange::mime::decode_header(
        &mail
            .split("Subject: ")
            .nth(1)
            .and_then(|s| s.split("\r\nMIME").next())
            .unwrap_or("")
            .replace("\r\n", ""),
    );
    assert_eq!(
        subject,
        format!(
            "XDM/1.0/DDM+{} {} {} {}/{}/{}",
            h.title,
            h.patient.birth_name,
            h.patient.first_given,
            &h.patient.birth_time[6..8],
            &h.patient.birth_time[4..6],
            &h.patient.birth_time[..4]
        )
    );
    assert!(ids(&u.findings).is_empty());
}

#[test]
fn packaging_refuses_what_it_cannot_describe() {
    let a = document(DocType::CrBio, 1);
    let b = document(DocType::CrBio, 2);
    let err = mss::build(&[a.clone(), b], &options()).expect_err("two patients");
    assert!(
        err.to_string().contains("package one patient at a time"),
        "{err}"
    );
    let err = mss::build(&[a.clone(), a.clone()], &options()).expect_err("same id");
    assert!(err.to_string().contains("ClinicalDocument/id"), "{err}");
    // Options that would write header lines of their own, or a non-address sender.
    for from in [
        "a@b.fr\r\nBcc: evil@x.com",
        "not an address",
        "a@b.fr, c@d.fr",
        "@b.fr",
    ] {
        let o = Options {
            from: from.into(),
            ..options()
        };
        let err = mss::build(std::slice::from_ref(&a), &o).expect_err(from);
        assert!(err.to_string().contains("is not a mail address"), "{err}");
    }
    let o = Options {
        nil: "X\r\nX-Evil: 1".into(),
        ..options()
    };
    let err = mss::build(std::slice::from_ref(&a), &o).expect_err("nil");
    assert!(err.to_string().contains("control character"), "{err}");
    let no_ins = String::from_utf8(a.bytes.clone())
        .expect("utf8")
        .replace("1.2.250.1.213.1.4.10", "1.2.3.4");
    let err = iti41::build(
        &[segur_exchange::package::Input {
            name: "x.xml".into(),
            bytes: no_ins.into_bytes(),
            header: None,
        }],
        &options(),
    )
    .expect_err("no INS");
    assert!(
        err.to_string()
            .contains("x.xml: recordTarget/patientRole has no INS"),
        "{err}"
    );
    let err = mhd::build(
        &[segur_exchange::package::Input {
            name: "y.xml".into(),
            bytes: b"<a/>".to_vec(),
            header: None,
        }],
        &options(),
    )
    .expect_err("not CDA");
    assert!(err.to_string().starts_with("y.xml:"), "{err}");
}

/// The elements PDSm 3.1.1 / FR Core 2.1.0 make required (1..) are present.
#[test]
fn mhd_bundle_has_the_required_pdsm_elements() {
    let input = document(DocType::Fludt, 17);
    let h = read_header(&input.bytes).expect("header");
    let b: serde_json::Value =
        serde_json::from_slice(&mhd::build(&[input], &options()).expect("mhd")).expect("json");
    let entry = |t: &str| {
        b["entry"]
            .as_array()
            .and_then(|a| a.iter().find(|e| e["resource"]["resourceType"] == t))
            .map(|e| e["resource"].clone())
            .expect(t)
    };
    let list = entry("List");
    assert_eq!(list["source"]["reference"], "#ss-author");
    assert!(list["contained"].as_array().is_some_and(|c| c.len() == 3));
    let doc = entry("DocumentReference");
    for ptr in [
        "/authenticator/reference",
        "/custodian/reference",
        "/context/sourcePatientInfo/reference",
        "/author/0/reference",
        "/content/0/attachment/hash",
        "/context/period/start",
    ] {
        assert!(
            doc.pointer(ptr)
                .and_then(|v| v.as_str())
                .is_some_and(|v| !v.is_empty()),
            "{ptr}"
        );
    }
    let patient = entry("Patient");
    let ext = |url: &str| {
        patient["extension"]
            .as_array()
            .and_then(|a| {
                a.iter()
                    .find(|e| e["url"].as_str().is_some_and(|u| u.ends_with(url)))
            })
            .cloned()
            .expect(url)
    };
    assert_eq!(
        ext("fr-core-identity-reliability")["extension"][0]["valueCoding"]["code"],
        "VALI"
    );
    assert_eq!(
        ext("patient-birthPlace")["valueAddress"]["extension"][0]["valueCoding"]["code"],
        h.patient.birthplace_cog.as_str()
    );
    assert_eq!(
        patient["name"][0]["given"][0],
        h.patient.first_given.as_str()
    );
    assert_eq!(
        patient["identifier"][0]["type"]["coding"][0]["code"],
        "INS-NIR-TEST"
    );
}

/// An engine on the ANS rules beside the repository (no cache directory: nothing written).
fn engine() -> segur_validate::engine::Engine {
    let rules =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ans/testcontenucda");
    let beside = |rel: &str| Some(rules.join(rel)).filter(|p| p.is_file());
    segur_validate::engine::Engine::new(segur_validate::engine::EngineOptions {
        mapping: beside("../peer/mapping.properties"),
        overrides: beside("../sch_overrides.tsv"),
        rules_dir: rules.clone(),
        select: Default::default(),
        profile: Default::default(),
        xsd: true,
        limits: segur_xml::Limits::default(),
        cache_dir: None,
    })
    .expect("engine")
}

/// The rule ids, severities and locations of an outcome's findings, and its input problem.
fn summary(o: &segur_validate::engine::Outcome) -> (Option<String>, Vec<String>) {
    let findings = o
        .findings
        .iter()
        .map(|f| format!("{} {:?} {:?} {}", f.rule, f.severity, f.location, f.message))
        .collect();
    (o.problem.as_ref().map(|p| p.message.clone()), findings)
}

#[test]
fn unpacking_with_the_validator_parses_each_document_once_with_the_same_results() {
    let engine = engine();
    let mut inputs = same_patient(DocType::CrBio, DocType::N1LdlSes, 5);
    // One with an XSD error, one that is not well-formed XML.
    let text = String::from_utf8(inputs[0].bytes.clone()).expect("utf-8");
    let at = text.find("<realmCode").expect("realmCode");
    let mut invalid = inputs[0].clone();
    invalid.name = "invalid.xml".into();
    // Another document id (a package refuses two documents with the same).
    let id = read_header(&inputs[0].bytes).expect("header").id.root;
    invalid.bytes = format!("{}<segurBogus/>{}", &text[..at], &text[at..])
        .replace(&id, "2.25.1234567890")
        .into_bytes();
    // Not well-formed: packaged with the header read from the original, as the builders
    // cannot read it from the document.
    let mut broken = inputs[1].clone();
    broken.name = "broken.xml".into();
    broken.header = Some(read_header(&inputs[1].bytes).expect("header"));
    let id = read_header(&inputs[1].bytes).expect("header").id.root;
    let other = "2.25.9876543210";
    broken.header.as_mut().expect("header").id.root = other.into();
    broken.bytes = String::from_utf8(broken.bytes)
        .expect("utf-8")
        .replace(&id, other)
        .into_bytes();
    broken.bytes.truncate(broken.bytes.len() - 20);
    inputs.push(invalid);
    inputs.push(broken);
    let packages = [
        (Kind::Iti41, build(Kind::Iti41, &inputs)),
        (Kind::Mhd, build(Kind::Mhd, &inputs)),
        (Kind::Mss, build(Kind::Mss, &inputs)),
    ];
    for (kind, bytes) in &packages {
        let plain = unpack(bytes, "pkg", Some(*kind));
        let separate = validate_documents(&plain, &engine);
        let (u, together) = unpack_validated(bytes, "pkg", Some(*kind), &engine);
        assert_eq!(ids(&u.findings), ids(&plain.findings), "{kind:?}");
        assert_eq!(u.documents.len(), 4, "{kind:?}");
        assert_eq!(together.len(), separate.len(), "{kind:?}");
        for ((pa, a), (pb, b)) in together.iter().zip(&separate) {
            assert_eq!(pa, pb);
            assert_eq!(summary(a), summary(b), "{kind:?} {pa}");
        }
        // The invalid document has its XSD finding either way.
        assert!(
            together[2]
                .1
                .findings
                .iter()
                .any(|f| f.rule.starts_with("cvc-")),
            "{kind:?}: {:#?}",
            together[2].1.findings
        );
        assert!(together[3].1.problem.is_some(), "{kind:?}: not checked");
    }
}

#[test]
fn the_header_of_a_built_document_is_the_header_read_from_its_bytes() {
    for t in types() {
        for seed in 0..40 {
            let identity = segur_ins::Generator::new(seed).next_identity();
            let mut rng = segur_ins::SeedRng::new(seed);
            let doc = segur_cda::build(t, &identity, &mut rng);
            let read = read_header(&doc.to_bytes()).expect("header");
            assert_eq!(
                segur_exchange::cda::header_of_built(&doc),
                read,
                "{} seed {seed}",
                t.info().name
            );
        }
    }
}

#[test]
fn an_iti41_capture_unpacks_with_its_soap_envelope_facts() {
    let inputs = [document(DocType::CrBio, 8)];
    let capture = build(Kind::Iti41, &inputs);
    let u = unpack(&capture, "req", None);
    let id = u
        .soap12
        .as_ref()
        .and_then(|s| s.message_id.clone())
        .expect("a SOAP 1.2 envelope with a MessageID");
    assert!(id.starts_with("urn:uuid:"), "{id}");
    let text = String::from_utf8_lossy(&capture);
    assert!(text.contains(&format!("MessageID>{id}</")), "{id}");
    assert_eq!(unpack(&build(Kind::Mhd, &inputs), "b", None).soap12, None);
    // A root part that is not a SOAP 1.2 envelope.
    let soap11 = String::from_utf8(capture).expect("utf-8").replace(
        segur_exchange::iti41::SOAP12,
        "http://schemas.xmlsoap.org/soap/envelope/",
    );
    assert_eq!(
        unpack(soap11.as_bytes(), "req", Some(Kind::Iti41)).soap12,
        None
    );
}

/// Every line of a message, CRLF excluded, is at most RFC 5322's 998 octets.
fn longest_line(bytes: &[u8]) -> usize {
    bytes
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l).len())
        .max()
        .unwrap_or(0)
}

#[test]
fn long_recipient_lists_are_folded_and_an_unfoldable_address_refused() {
    let doc = document(DocType::CrBio, 3);
    let mut o = options();
    o.to = (0..300)
        .map(|i| format!("dr.{i}@ch-test.mssante.fr"))
        .collect();
    let m = mss::build(std::slice::from_ref(&doc), &o).expect("mss");
    assert!(longest_line(&m) <= 78, "{}", longest_line(&m));
    let u = unpack(&m, "m.eml", None);
    assert!(u.findings.is_empty(), "{:#?}", u.findings);
    assert_eq!(
        u.submission_sets[0].1.intended_recipients.len(),
        300,
        "every recipient read back"
    );
    o.to = vec![format!("{}@ch-test.mssante.fr", "a".repeat(5000))];
    let e = mss::build(std::slice::from_ref(&doc), &o).expect_err("over 998");
    assert!(
        matches!(e, segur_exchange::package::PackageError::Field(_)),
        "{e:?}"
    );
    assert!(e.to_string().contains("998"), "{e}");
}
