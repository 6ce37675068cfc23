//! Schema features beyond what the CDA examples exercise, on a small schema written here.

use segur_xsd::{Schema, Severity, validate_bytes};

const XSD: &str = r###"<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns="urn:t" targetNamespace="urn:t"
  elementFormDefault="qualified">
  <xs:element name="root" type="Root"/>
  <xs:complexType name="Root">
    <xs:sequence>
      <xs:choice minOccurs="0" maxOccurs="2"><xs:element name="a" type="xs:int"/><xs:element name="b" type="Code"/></xs:choice>
      <xs:element name="all" minOccurs="0"><xs:complexType><xs:all><xs:element name="x"/><xs:element name="y" minOccurs="0"/></xs:all></xs:complexType></xs:element>
      <xs:element ref="head" minOccurs="0" maxOccurs="unbounded"/>
      <xs:element name="v" type="Base" minOccurs="0" maxOccurs="unbounded" nillable="true"/>
      <xs:element name="item" minOccurs="0" maxOccurs="unbounded"><xs:complexType>
        <xs:attribute name="id" type="xs:ID"/><xs:attribute name="ref" type="xs:IDREF"/>
        <xs:attribute name="kind" type="xs:string" fixed="k"/><xs:attribute name="must" type="xs:string" use="required"/>
      </xs:complexType></xs:element>
      <xs:element name="d" type="Dated" minOccurs="0"/>
      <xs:any namespace="##other" processContents="strict" minOccurs="0"/>
    </xs:sequence>
  </xs:complexType>
  <xs:simpleType name="Code"><xs:restriction base="xs:token"><xs:enumeration value="A"/><xs:enumeration value="B"/></xs:restriction></xs:simpleType>
  <xs:simpleType name="Dated"><xs:restriction base="xs:date"><xs:minInclusive value="2000-01-01"/></xs:restriction></xs:simpleType>
  <xs:element name="head" type="xs:string" abstract="true"/>
  <xs:element name="member" substitutionGroup="head"/>
  <xs:complexType name="Base"><xs:attribute name="u" type="xs:string"/></xs:complexType>
  <xs:complexType name="Ext"><xs:complexContent><xs:extension base="Base"><xs:sequence><xs:element name="e" type="xs:string"/></xs:sequence></xs:extension></xs:complexContent></xs:complexType>
  <xs:complexType name="Other"/>
</xs:schema>"###;

fn schema() -> Schema {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("t.xsd");
    std::fs::write(&p, XSD).expect("write");
    Schema::load(&p).expect("loads")
}

fn check(s: &Schema, body: &str) -> Vec<String> {
    let doc = format!(
        "<root xmlns=\"urn:t\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">{body}</root>"
    );
    validate_bytes(s, doc.as_bytes())
        .expect("well-formed")
        .into_iter()
        .map(|e| e.message)
        .collect()
}

#[test]
fn valid_document() {
    let s = schema();
    let body = r#"<a>1</a><b> A </b><all><y/><x/></all><member>m</member><v xsi:type="Ext"><e/></v><v xsi:nil="true"/><item id="i1" must="1" kind="k"/><item ref="i1" must="2"/>"#;
    assert_eq!(check(&s, body), Vec::<String>::new());
}

#[test]
fn content_and_values() {
    let s = schema();
    assert_eq!(
        check(&s, "<a>x</a>"),
        [
            "cvc-datatype-valid.1.2.1: 'x' is not a valid value for 'integer'.",
            "cvc-type.3.1.3: The value 'x' of element 'a' is not valid."
        ]
    );
    assert_eq!(
        check(&s, "<b>C</b>"),
        [
            "cvc-enumeration-valid: Value 'C' is not facet-valid with respect to enumeration '[A, B]'. It must be a value from the enumeration.",
            "cvc-type.3.1.3: The value 'C' of element 'b' is not valid."
        ]
    );
    assert_eq!(
        check(&s, "<a>1</a><a>2</a><a>3</a>"),
        [
            r#"cvc-complex-type.2.4.a: Invalid content was found starting with element '{"urn:t":a}'. One of '{"urn:t":all, "urn:t":head, "urn:t":v, "urn:t":item, "urn:t":d, WC[##other:"urn:t"]}' is expected."#
        ]
    );
    assert_eq!(
        check(&s, "<all><y/></all>"),
        [
            r#"cvc-complex-type.2.4.b: The content of element 'all' is not complete. One of '{"urn:t":x}' is expected."#
        ]
    );
    assert_eq!(
        check(&s, "<head>h</head>"),
        ["cvc-elt.2: The value of {abstract} in the element declaration for 'head' must be false."]
    );
}

#[test]
fn xsi_type_nil_and_attributes() {
    let s = schema();
    assert_eq!(
        check(&s, r#"<v xsi:type="Other"/>"#),
        [
            "cvc-elt.4.3: Type 'Other' is not validly derived from the type definition, 'Base', of element 'v'."
        ]
    );
    assert_eq!(
        check(&s, r#"<v xsi:type="Nope"/>"#),
        ["cvc-elt.4.2: Cannot resolve 'Nope' to a type definition for element 'v'."]
    );
    assert_eq!(
        check(&s, r#"<v xsi:nil="true" u="1"><x/></v>"#)
            .last()
            .map(String::as_str),
        Some(
            "cvc-elt.3.2.1: Element 'v' cannot have character or element information [children], because 'http://www.w3.org/2001/XMLSchema-instance,nil' is specified."
        )
    );
    assert_eq!(
        check(&s, r#"<item kind="z" other="1"/>"#),
        [
            "cvc-attribute.4: The value 'z' of attribute 'kind' on element 'item' is not valid with respect to its fixed {value constraint}. The attribute must have a value of 'k'.",
            "cvc-complex-type.3.2.2: Attribute 'other' is not allowed to appear in element 'item'.",
            "cvc-complex-type.4: Attribute 'must' must appear on element 'item'."
        ]
    );
    assert_eq!(
        check(
            &s,
            r#"<item id="i" must="1"/><item id="i" ref="j" must="1"/>"#
        ),
        [
            "cvc-id.2: There are multiple occurrences of ID value 'i'.",
            "cvc-attribute.3: The value 'i' of attribute 'id' on element 'item' is not valid with respect to its type, 'ID'.",
            "cvc-id.1: There is no ID/IDREF binding for IDREF 'j'."
        ]
    );
    assert_eq!(
        check(&s, r#"<o:x xmlns:o="urn:o"/>"#),
        [
            "cvc-complex-type.2.4.c: The matching wildcard is strict, but no declaration can be found for element 'o:x'."
        ]
    );
}

#[test]
fn unsupported_is_listed_and_reported() {
    let s = schema();
    assert!(
        s.unsupported()
            .iter()
            .any(|u| u.construct.contains("minInclusive") && u.line == 20),
        "{:?}",
        s.unsupported()
    );
    let doc = "<root xmlns=\"urn:t\"><d>2020-01-01</d></root>";
    let found = validate_bytes(&s, doc.as_bytes()).expect("well-formed");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].severity, Severity::NotChecked);
    assert_eq!(found[0].code, "segur-xsd.not-checked");
}

#[test]
fn root_must_be_declared() {
    let s = schema();
    let found = validate_bytes(&s, b"<nope/>").expect("well-formed");
    assert_eq!(
        found[0].message,
        "cvc-elt.1.a: Cannot find the declaration of element 'nope'."
    );
    assert_eq!((found[0].line, found[0].column), (1, 8));
}

#[test]
fn schema_is_shared_between_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<Schema>();
}
