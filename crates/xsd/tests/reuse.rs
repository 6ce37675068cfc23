//! What the validator remembers between documents and names changes no finding: a
//! [`ValueMemo`] carried from document to document (warm, in any order, or made with another
//! schema) and [`NameKey`]s passed by the caller give exactly the errors of a fresh validator.

use std::path::Path;

use segur_xsd::{
    Attr, NameKey, Pos, Schema, StartElement, Validator, XsdError, validate_bytes, validate_with,
};

mod common;
use common::*;

/// Each example with one attribute value broken in ways a remembered value must not hide: the
/// same value valid elsewhere in the corpus becomes invalid here (a code, an OID, a date).
fn broken_values(name: &str, xml: &[u8]) -> Vec<(String, Vec<u8>)> {
    let Ok(text) = std::str::from_utf8(xml) else {
        return Vec::new();
    };
    let edits: [(&str, &str, &str); 5] = [
        ("mood", "moodCode=\"EVN\"", "moodCode=\"EVN \""),
        ("class", "classCode=\"", "classCode=\"Z"),
        ("root", "root=\"1.2.250", "root=\"1..2.250"),
        ("date", "value=\"20", "value=\"2O"),
        ("system", "codeSystem=\"", "codeSystem=\" "),
    ];
    let mut out = Vec::new();
    for (tag, from, to) in edits {
        if let Some(i) = text.rfind(from) {
            let s = format!("{}{to}{}", &text[..i], &text[i + from.len()..]);
            out.push((format!("{name}#{tag}"), s.into_bytes()));
        }
    }
    out
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    let ans = ans_dir();
    let examples = xml_files(&ans.join("testcontenucda/ExemplesCDA"));
    assert_eq!(examples.len(), 94, "the 94 ANS examples");
    let mut docs = examples.clone();
    docs.extend(xml_files(&ans.join("oracle/mutants-seed1")));
    for (name, xml) in &examples {
        docs.extend(broken_values(name, xml));
    }
    docs
}

fn errors_with(v: &mut Validator<'_>, xml: &[u8]) -> Result<Vec<XsdError>, String> {
    validate_with(v, xml).map_err(|e| e.to_string())?;
    Ok(v.take_errors())
}

/// One validator (hence one memo) for the whole corpus, twice over, against a fresh validator
/// per document.
#[test]
fn a_warm_memo_changes_no_finding() {
    let schema =
        Schema::load(&ans_dir().join("testcontenucda/infrastructure/cda/CDA_extended.xsd"))
            .expect("schema loads");
    let docs = corpus();
    let fresh: Vec<Result<Vec<XsdError>, String>> = docs
        .iter()
        .map(|(_, xml)| validate_bytes(&schema, xml).map_err(|e| e.to_string()))
        .collect();
    let failing = fresh
        .iter()
        .filter(|r| r.as_ref().is_ok_and(|e| !e.is_empty()));
    assert!(failing.count() > 300, "the broken values do fail");
    let mut v = schema.validator();
    for round in 0..2 {
        for ((name, xml), want) in docs.iter().zip(&fresh) {
            assert_eq!(&errors_with(&mut v, xml), want, "{name}, round {round}");
        }
    }
    // Carried to a new validator, as a caller keeping it per thread does.
    let memo = v.take_memo();
    let mut v = schema.validator_with(memo);
    for ((name, xml), want) in docs.iter().zip(&fresh) {
        assert_eq!(&errors_with(&mut v, xml), want, "{name}, carried");
    }
}

/// A small schema whose one simple type `Code` (of `c` and `@a`) allows the letters of
/// `pattern`: two such schemas have the same type ids and different verdicts.
fn code_schema(pattern: &str) -> String {
    format!(
        r###"<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns="urn:t" targetNamespace="urn:t"
  elementFormDefault="qualified">
  <xs:element name="root"><xs:complexType><xs:sequence>
    <xs:element name="c" type="Code" maxOccurs="unbounded"/>
  </xs:sequence><xs:attribute name="a" type="Code"/></xs:complexType></xs:element>
  <xs:simpleType name="Code"><xs:restriction base="xs:token"><xs:pattern value="{pattern}"/></xs:restriction></xs:simpleType>
</xs:schema>"###
    )
}

fn load(dir: &Path, name: &str, text: &str) -> Schema {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    Schema::load(&path).expect("loads")
}

/// A memo made with one schema is not trusted by another one whose types have the same ids.
#[test]
fn a_memo_from_another_schema_is_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let small = load(dir.path(), "small.xsd", &code_schema("[A-C]"));
    let other = load(dir.path(), "other.xsd", &code_schema("[X-Z]"));
    let doc = br#"<root xmlns="urn:t" a="B"><c>A</c><c>B</c></root>"#;
    let mut v = small.validator();
    assert_eq!(errors_with(&mut v, doc), Ok(Vec::new()));
    let memo = v.take_memo();
    let mut w = other.validator_with(memo);
    let got = errors_with(&mut w, doc).expect("parses");
    assert_eq!(
        Ok(got.clone()),
        validate_bytes(&other, doc).map_err(|e| e.to_string())
    );
    assert_eq!(
        got.iter().filter(|e| e.code == "cvc-pattern-valid").count(),
        3
    );
    // And back: the first schema's memo was emptied, its verdicts are still its own.
    let mut v = small.validator_with(w.take_memo());
    assert_eq!(errors_with(&mut v, doc), Ok(Vec::new()));
}

/// Keys from [`Schema::name_key`] give the findings of the string lookups, including for the
/// names the schema does not know and for `xsi` and namespace-declaration attributes.
#[test]
fn name_keys_change_no_finding() {
    let dir = tempfile::tempdir().expect("tempdir");
    let small = load(dir.path(), "small.xsd", &code_schema("[A-C]"));
    const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
    let run = |keyed: bool| -> Vec<XsdError> {
        let key = |ns: &str, local: &str| keyed.then(|| small.name_key(ns, local));
        let attr = |ns: &'static str, local: &'static str, prefix: &'static str, value| Attr {
            ns_uri: ns,
            local,
            prefix,
            value,
            key: key(ns, local),
        };
        let ns: &[(&str, &str)] = &[("", "urn:t"), ("xsi", XSI)];
        let mut v = small.validator();
        let mut at = 0u64;
        let mut pos = || {
            at += 10;
            Pos {
                line: 1,
                column: at as u32,
                offset: at,
            }
        };
        let start = |v: &mut Validator<'_>, local: &str, attrs: &[Attr<'_>], p: Pos| {
            let k: Option<NameKey> = key("urn:t", local);
            let _ = v.start_element(&StartElement {
                ns_uri: "urn:t",
                local,
                prefix: "",
                attributes: attrs,
                namespaces: &ns,
                start: p,
                end: Some(p),
                key: k,
            });
        };
        let root_attrs = [
            attr("http://www.w3.org/2000/xmlns/", "xsi", "xmlns", XSI),
            attr("", "xmlns", "", "urn:t"),
            attr("", "a", "", "D"),
            attr("", "b", "", "1"),
            attr(XSI, "schemaLocation", "xsi", "urn:t t.xsd"),
        ];
        start(&mut v, "root", &root_attrs, pos());
        for (local, text, attrs) in [
            ("c", "A", vec![attr(XSI, "nil", "xsi", "true")]),
            ("d", "A", Vec::new()),
            ("c", "Q", vec![attr(XSI, "type", "xsi", "Code")]),
        ] {
            start(&mut v, local, &attrs, pos());
            v.text(text, pos());
            let _ = v.end_element(pos());
        }
        let _ = v.end_element(pos());
        v.finish()
    };
    let plain = run(false);
    assert!(plain.len() >= 4, "{plain:?}");
    assert_eq!(run(true), plain);
}

/// The memo is bounded: a long run of distinct valid values keeps validating correctly.
#[test]
fn many_distinct_values_stay_correct() {
    let dir = tempfile::tempdir().expect("tempdir");
    let schema = load(
        dir.path(),
        "oid.xsd",
        r###"<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:element name="r"><xs:complexType><xs:sequence>
    <xs:element name="o" maxOccurs="unbounded"><xs:simpleType><xs:restriction base="xs:string"><xs:pattern value="[0-2](\.(0|[1-9][0-9]*))*"/></xs:restriction></xs:simpleType></xs:element>
  </xs:sequence></xs:complexType></xs:element>
</xs:schema>"###,
    );
    let mut doc = String::from("<r>");
    for i in 0..20_000u32 {
        // Every 7th value is invalid (a leading zero).
        if i % 7 == 3 {
            doc.push_str(&format!("<o>1.0{i}</o>"));
        } else {
            doc.push_str(&format!("<o>1.2.{i}</o>"));
        }
    }
    doc.push_str("</r>");
    let mut v = schema.validator();
    for _ in 0..2 {
        let got = errors_with(&mut v, doc.as_bytes()).expect("parses");
        let bad = got.iter().filter(|e| e.code == "cvc-pattern-valid").count();
        assert_eq!(bad, (0..20_000u32).filter(|i| i % 7 == 3).count());
    }
}

/// The ID/IDREF tables carried in the memo from one document to the next are emptied: an ID
/// seen by the previous document is neither a duplicate nor a target in the next; and tables
/// grown past the bound are dropped, not kept.
#[test]
fn carried_id_tables_start_empty() {
    let dir = tempfile::tempdir().expect("tempdir");
    let schema = load(
        dir.path(),
        "ids.xsd",
        r###"<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:element name="r"><xs:complexType><xs:sequence>
    <xs:element name="e" maxOccurs="unbounded"><xs:complexType>
      <xs:attribute name="id" type="xs:ID"/><xs:attribute name="ref" type="xs:IDREF"/>
    </xs:complexType></xs:element>
  </xs:sequence></xs:complexType></xs:element>
</xs:schema>"###,
    );
    let many: String = (0..40_000).map(|i| format!("<e id='x{i}'/>")).collect();
    let docs = [
        "<r><e id='a'/><e ref='a'/></r>".to_string(),
        "<r><e id='a'/><e ref='b'/></r>".to_string(),
        "<r><e ref='a'/><e id='c'/><e id='c'/></r>".to_string(),
        format!("<r>{many}<e ref='x7'/></r>"),
        "<r><e id='x7'/><e ref='x8'/></r>".to_string(),
        "<r><e id='a'/><e id='a'/></r>".to_string(),
    ];
    let mut memo = schema.validator().take_memo();
    let mut found = 0;
    for round in 0..2 {
        for doc in &docs {
            let want = validate_bytes(&schema, doc.as_bytes()).expect("parses");
            let mut v = schema.validator_with(memo);
            let got = errors_with(&mut v, doc.as_bytes()).expect("parses");
            assert_eq!(got, want, "{}, round {round}", &doc[..doc.len().min(60)]);
            found += got.len();
            memo = v.take_memo();
        }
    }
    // cvc-id.1 for 'b', 'a' and 'x8'; cvc-id.2 (with its cvc-attribute.3) for 'c' and 'a'.
    assert_eq!(found, 2 * (3 + 2 * 2));
}
