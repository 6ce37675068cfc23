//! The binary image of a compiled schema: a decoded schema validates exactly as the loaded
//! one, and a truncated, damaged or inconsistent image is refused without a panic.

use segur_xsd::{DecodeError, Schema, XsdError, validate_bytes};

mod common;
use common::*;

/// Broken variants of a valid document: an unknown element, a value outside an enumeration,
/// a bad date, an unknown attribute, a bad `xsi:type`, a missing required element.
fn broken_variants(name: &str, xml: &[u8]) -> Vec<(String, Vec<u8>)> {
    let Ok(text) = std::str::from_utf8(xml) else {
        return Vec::new();
    };
    let edits: [(&str, &str, &str); 7] = [
        ("title", "<title", "<titel"),
        ("mood", "moodCode=\"EVN\"", "moodCode=\"XYZ\""),
        (
            "date",
            "<effectiveTime value=\"",
            "<effectiveTime value=\"2024-13-45T",
        ),
        ("null", "nullFlavor=\"", "nullFlavor=\"BAD"),
        ("attr", "<ClinicalDocument ", "<ClinicalDocument foo=\"1\" "),
        ("xsitype", "xsi:type=\"", "xsi:type=\"NOPE"),
        ("code", "<code ", "<code codeSystem=\"\" bogus=\"1\" "),
    ];
    let mut out = Vec::new();
    for (tag, from, to) in edits {
        if let Some(i) = text.find(from) {
            let mut s = String::with_capacity(text.len() + 16);
            s.push_str(&text[..i]);
            s.push_str(to);
            s.push_str(&text[i + from.len()..]);
            out.push((format!("{name}#{tag}"), s.into_bytes()));
        }
    }
    // A required element removed: the first `<id .../>` of the header.
    if let Some(i) = text.find("<id ")
        && let Some(j) = text[i..].find("/>")
    {
        let s = format!("{}{}", &text[..i], &text[i + j + 2..]);
        out.push((format!("{name}#noid"), s.into_bytes()));
    }
    out
}

fn errors(s: &Schema, xml: &[u8]) -> Result<Vec<XsdError>, String> {
    validate_bytes(s, xml).map_err(|e| e.to_string())
}

/// The full error lists (line, column, offset, code, message, severity) of the decoded schema
/// are those of the loaded one, on the 94 ANS examples, the stored mutants and broken variants
/// of every example.
#[test]
fn a_decoded_schema_validates_as_the_loaded_one() {
    let ans = ans_dir();
    let loaded = cda_schema();
    let image = loaded.encode().expect("encodes");
    let decoded = Schema::decode(&image).expect("decodes");
    assert_eq!(loaded.unsupported(), decoded.unsupported());
    assert_eq!(
        loaded.global_element_count(),
        decoded.global_element_count()
    );

    let examples = xml_files(&ans.join("testcontenucda/ExemplesCDA"));
    assert_eq!(examples.len(), 94, "the 94 ANS examples");
    let mut docs = examples.clone();
    docs.extend(xml_files(&ans.join("oracle/mutants-seed1")));
    for (name, xml) in &examples {
        docs.extend(broken_variants(name, xml));
    }
    let mut with_errors = 0;
    for (name, xml) in &docs {
        let want = errors(&loaded, xml);
        let got = errors(&decoded, xml);
        assert_eq!(want, got, "{name}");
        if want.is_ok_and(|e| !e.is_empty()) {
            with_errors += 1;
        }
    }
    assert!(
        with_errors > 400,
        "the broken documents do have errors: {with_errors} of {}",
        docs.len()
    );
}

/// A small schema with what the CDA schema lacks: numeric, boolean and float values in
/// enumerations, bounds and fixed values, lists, unions, `xs:all`, patterns, wildcards.
const SMALL: &str = r###"<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns="urn:t" targetNamespace="urn:t"
  elementFormDefault="qualified">
  <xs:element name="root"><xs:complexType><xs:sequence>
    <xs:element name="n" type="Small" minOccurs="0" maxOccurs="3"/>
    <xs:element name="f" type="Ratio" minOccurs="0"/>
    <xs:element name="l" type="Codes" minOccurs="0"/>
    <xs:element name="u" type="NumOrCode" minOccurs="0"/>
    <xs:element name="p" type="Pat" minOccurs="0"/>
    <xs:element name="all" minOccurs="0"><xs:complexType><xs:all><xs:element name="x"/><xs:element name="y" minOccurs="0"/></xs:all></xs:complexType></xs:element>
    <xs:element name="flag" type="xs:boolean" fixed="true" minOccurs="0"/>
    <xs:any namespace="##other" processContents="lax" minOccurs="0" maxOccurs="unbounded"/>
  </xs:sequence><xs:attribute name="d" type="xs:decimal" fixed="1.50"/><xs:anyAttribute namespace="urn:o" processContents="skip"/></xs:complexType></xs:element>
  <xs:simpleType name="Small"><xs:restriction base="xs:decimal"><xs:minExclusive value="-2.5"/><xs:maxInclusive value="10"/><xs:totalDigits value="3"/><xs:fractionDigits value="1"/></xs:restriction></xs:simpleType>
  <xs:simpleType name="Ratio"><xs:restriction base="xs:float"><xs:enumeration value="0.5"/><xs:enumeration value="INF"/><xs:enumeration value="NaN"/></xs:restriction></xs:simpleType>
  <xs:simpleType name="Code"><xs:restriction base="xs:token"><xs:enumeration value="A"/><xs:enumeration value="B"/></xs:restriction></xs:simpleType>
  <xs:simpleType name="Codes"><xs:restriction><xs:simpleType><xs:list itemType="Code"/></xs:simpleType><xs:maxLength value="2"/></xs:restriction></xs:simpleType>
  <xs:simpleType name="NumOrCode"><xs:union memberTypes="Small Code"/></xs:simpleType>
  <xs:simpleType name="Pat"><xs:restriction base="xs:string"><xs:pattern value="\d{2}-[A-Z]+"/><xs:pattern value="x\p{Lu}"/></xs:restriction></xs:simpleType>
</xs:schema>"###;

#[test]
fn a_small_schema_round_trips_with_the_same_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("t.xsd");
    std::fs::write(&p, SMALL).expect("write");
    let loaded = Schema::load(&p).expect("loads");
    let decoded = Schema::decode(&loaded.encode().expect("encodes")).expect("decodes");
    let bodies = [
        "",
        "<n>1.5</n><n>10</n><f>NaN</f><l>A B</l><u>3</u><p>12-AB</p><all><y/><x/></all><flag>true</flag>",
        "<n>-2.5</n><n>10.5</n><n>1.25</n><n>1234</n>",
        "<f>0.25</f>",
        "<f>INF</f><l>A B A</l>",
        "<l>C</l>",
        "<u>Z</u>",
        "<p>1-AB</p>",
        "<p>xQ</p><all><x/><x/></all>",
        "<all><y/></all>",
        "<flag>false</flag>",
        "<o:e xmlns:o=\"urn:o\"/><n>1</n>",
        "<e/>",
    ];
    let mut with_errors = 0;
    for body in bodies {
        for attrs in [
            "",
            " d=\"1.5\"",
            " d=\"2\"",
            " o:a=\"1\" xmlns:o=\"urn:o\"",
            " z=\"1\"",
        ] {
            let doc = format!("<root xmlns=\"urn:t\"{attrs}>{body}</root>");
            let want = errors(&loaded, doc.as_bytes());
            assert_eq!(want, errors(&decoded, doc.as_bytes()), "{doc}");
            with_errors += usize::from(want.is_ok_and(|e| !e.is_empty()));
        }
    }
    assert!(with_errors > 40, "{with_errors}");
}

/// Every truncation and every damaged byte (among several hundred spread over the image, and
/// all of its header and checksum) is refused.
#[test]
fn truncated_or_damaged_images_are_refused() {
    let image = cda_schema().encode().expect("encodes");
    assert!(image.len() > 100_000, "{}", image.len());
    let step = image.len() / 397 + 1;
    for cut in (0..image.len()).step_by(step).chain([image.len() - 1]) {
        assert!(Schema::decode(&image[..cut]).is_err(), "truncated at {cut}");
    }
    let mut longer = image.clone();
    longer.push(0);
    assert!(Schema::decode(&longer).is_err(), "a byte appended");
    let positions = (0..64)
        .chain((0..image.len()).step_by(step))
        .chain(image.len() - 8..image.len());
    for i in positions {
        for flip in [0x01, 0x80, 0xff] {
            let mut b = image.clone();
            b[i] ^= flip;
            let e = Schema::decode(&b).err();
            assert!(e.is_some(), "byte {i} ^ {flip:#x} accepted");
        }
    }
    let mut b = image.clone();
    b[0] ^= 1;
    assert_eq!(Schema::decode(&b).err(), Some(DecodeError::NotAnImage));
    let mut b = image.clone();
    b[9] ^= 1;
    assert_eq!(Schema::decode(&b).err(), Some(DecodeError::OtherBuild));
    let mut b = image.clone();
    b[12] ^= 1;
    assert_eq!(Schema::decode(&b).err(), Some(DecodeError::OtherBuild));
    let mut b = image.clone();
    let mid = b.len() / 2;
    b[mid] ^= 1;
    assert_eq!(Schema::decode(&b).err(), Some(DecodeError::Damaged));
    assert_eq!(Schema::decode(b"").err(), Some(DecodeError::NotAnImage));
}

/// An image damaged behind a valid checksum (as only someone writing it on purpose could
/// make) decodes to an error or to a schema that validates without panicking.
#[test]
fn inconsistent_images_never_panic() {
    let ans = ans_dir();
    let image = cda_schema().encode().expect("encodes");
    let docs: Vec<Vec<u8>> = xml_files(&ans.join("testcontenucda/ExemplesCDA"))
        .into_iter()
        .take(3)
        .map(|(_, x)| x)
        .collect();
    let body = image.len() - 8;
    let reseal = |b: &mut Vec<u8>| {
        let mut sum = segur_xml::hash::Checksum::new();
        sum.update(&b[..body]);
        let total = sum.finish();
        b[body..].copy_from_slice(&total.to_le_bytes());
    };
    let mut refused = 0;
    let step = body / 151 + 1;
    for i in (20..body).step_by(step).chain(20..120) {
        for flip in [0x01, 0x10, 0xff] {
            let mut b = image.clone();
            b[i] ^= flip;
            reseal(&mut b);
            match Schema::decode(&b) {
                Ok(s) => {
                    for d in &docs {
                        let _ = validate_bytes(&s, d);
                    }
                }
                Err(e) => {
                    assert!(
                        matches!(e, DecodeError::Inconsistent { .. }),
                        "byte {i}: {e}"
                    );
                    refused += 1;
                }
            }
        }
    }
    assert!(refused > 0);
}
