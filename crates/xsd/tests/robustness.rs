//! Bad input never panics; the schema's gaps are listed; a sanity check of throughput.

use std::path::{Path, PathBuf};

use segur_xsd::{ParseError, Schema, validate_bytes};

fn schema() -> Schema {
    let dir = match std::env::var_os("SEGUR_ANS_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ans"),
    };
    let xsd = dir.join("testcontenucda/infrastructure/cda/CDA_extended.xsd");
    assert!(
        xsd.is_file(),
        "{}: the ANS kit is missing (set SEGUR_ANS_DIR)",
        xsd.display()
    );
    Schema::load(&xsd).expect("schema loads")
}

#[test]
fn lists_unsupported_constructs() {
    let s = schema();
    for u in s.unsupported() {
        eprintln!("unsupported: {u}");
    }
    assert!(s.global_element_count() > 10);
}

fn cda(body: &str) -> String {
    format!("<ClinicalDocument xmlns=\"urn:hl7-org:v3\">{body}</ClinicalDocument>")
}

#[test]
fn malformed_input_is_a_parse_error() {
    let s = schema();
    for bad in [
        &b"<a><b></a>"[..],
        b"<a",
        b"",
        b"just text",
        b"<a xmlns:p='u'><p:b></q:b></a>",
        b"<q:a/>",
        b"<a>&undefined;</a>",
        b"<a/><b/>",
        b"\xff\xfe<a/>",
        b"<a x='1' x='2'/>",
        b"<a>&#xFFFFFFFF;</a>",
    ] {
        assert!(
            validate_bytes(&s, bad).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn doctype_is_refused() {
    let s = schema();
    let doc = b"<?xml version='1.0'?>\n<!DOCTYPE x [<!ENTITY a 'b'>]>\n<x/>";
    assert!(matches!(
        validate_bytes(&s, doc),
        Err(ParseError::Doctype { line: 2 })
    ));
}

#[test]
fn deep_nesting_does_not_overflow() {
    let s = schema();
    let n = 10_000;
    let mut doc = String::from("<ClinicalDocument xmlns=\"urn:hl7-org:v3\">");
    doc.push_str(&"<x>".repeat(n));
    doc.push_str(&"</x>".repeat(n));
    doc.push_str("</ClinicalDocument>");
    let errors = validate_bytes(&s, doc.as_bytes()).expect("well-formed");
    assert!(errors.iter().any(|e| e.code == "cvc-complex-type.2.4.a"));
    // deep nesting inside content that is checked all the way down
    let mut doc = cda("");
    let inner = "<component><section>".repeat(n) + &"</section></component>".repeat(n);
    doc = doc.replace(
        "</ClinicalDocument>",
        &format!("{inner}</ClinicalDocument>"),
    );
    assert!(validate_bytes(&s, doc.as_bytes()).is_ok());
}

#[test]
fn huge_text_is_fine() {
    let s = schema();
    let big = "A".repeat(20 << 20);
    let doc = cda(&format!("<title>{big}</title>"));
    let errors = validate_bytes(&s, doc.as_bytes()).expect("well-formed");
    assert!(!errors.is_empty());
    let doc = cda(&format!("{big}<id root='1.2'/>"));
    let errors = validate_bytes(&s, doc.as_bytes()).expect("well-formed");
    assert!(errors.iter().any(|e| e.code == "cvc-complex-type.2.3"));
}

#[test]
fn throughput_sanity() {
    let s = schema();
    let dir = match std::env::var_os("SEGUR_ANS_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ans"),
    };
    let docs: Vec<Vec<u8>> = std::fs::read_dir(dir.join("testcontenucda/ExemplesCDA"))
        .expect("examples")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .take(usize::MAX)
        .map(|p| std::fs::read(p).expect("read"))
        .collect();
    let mut v = s.validator();
    let start = std::time::Instant::now();
    let mut bytes = 0;
    for d in &docs {
        segur_xsd::validate_with(&mut v, d).expect("parse");
        assert!(v.errors().is_empty());
        bytes += d.len();
    }
    let secs = start.elapsed().as_secs_f64();
    // the same documents only tokenized by quick-xml (attributes decoded), for the ratio
    let start = std::time::Instant::now();
    let mut events = 0usize;
    for d in &docs {
        let mut r = quick_xml::NsReader::from_str(std::str::from_utf8(d).expect("utf-8"));
        loop {
            match r.read_event().expect("well-formed") {
                quick_xml::events::Event::Eof => break,
                quick_xml::events::Event::Start(s) | quick_xml::events::Event::Empty(s) => {
                    for a in s.attributes() {
                        let a = a.expect("attribute");
                        events += a
                            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .expect("value")
                            .len();
                    }
                }
                _ => events += 1,
            }
        }
    }
    let tok = start.elapsed().as_secs_f64();
    assert!(events > 0);
    eprintln!(
        "{} documents, {:.1} MB: validation {:.1} MB/s, tokenization {:.1} MB/s, ratio {:.2}",
        docs.len(),
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / secs,
        bytes as f64 / 1e6 / tok,
        secs / tok
    );
}
