//! XML 1.0 well-formedness constraints quick-xml leaves to the caller: names (`Name`), `]]>`
//! in character data, `<` in attribute values, characters outside `Char`, reserved
//! processing instruction targets, whitespace between attributes, the XML declaration's
//! pseudo-attributes and the encoding it names; and the qualified names of Namespaces in XML
//! 1.0. Each malformed input is refused with its cause and the place of the offending
//! character; valid documents, the ANS examples and generated ones with every kind of name
//! character, still parse.

use std::path::PathBuf;

use proptest::prelude::*;
use segur_xml::{Document, Limits, NodeKind, ParseError, ParseErrorKind};

fn parse(xml: &[u8]) -> Result<Document, ParseError> {
    Document::parse(xml, &Limits::default())
}

/// The error `xml` is refused with, read both ways (plain and stripping whitespace).
fn refused(xml: &str) -> ParseError {
    let e = match parse(xml.as_bytes()) {
        Ok(_) => panic!("accepted: {xml:?}"),
        Err(e) => e,
    };
    let stripped = Document::parse_stripping_space(xml.as_bytes(), &Limits::default())
        .expect_err("refused when stripping whitespace too");
    assert_eq!(format!("{e:?}"), format!("{stripped:?}"), "{xml:?}");
    assert!(e.offset < xml.len(), "{xml:?}: {e:?}");
    e
}

/// Asserts that `xml` is refused at byte `offset` with a kind `check` accepts.
fn refused_at(xml: &str, offset: usize, check: impl Fn(&ParseErrorKind) -> bool) {
    let e = refused(xml);
    assert!(check(&e.kind), "{xml:?}: {e:?}");
    assert_eq!(e.offset, offset, "{xml:?}: {e}");
    assert!(!e.to_string().is_empty());
}

fn invalid_name(expected: &str) -> impl Fn(&ParseErrorKind) -> bool + '_ {
    move |k| matches!(k, ParseErrorKind::InvalidName { name } if name == expected)
}

fn invalid_char(expected: u32) -> impl Fn(&ParseErrorKind) -> bool {
    move |k| matches!(k, ParseErrorKind::InvalidChar { code } if *code == expected)
}

#[test]
fn names_must_start_with_a_name_start_character() {
    refused_at("<1a/>", 1, invalid_name("1a"));
    refused_at("<r><-a></-a></r>", 4, invalid_name("-a"));
    refused_at("<a 1b=\"x\"/>", 3, invalid_name("1b"));
    refused_at("<a x='1' .b='2'/>", 9, invalid_name(".b"));
    refused_at("<a></1b>", 5, invalid_name("1b"));
    // quick-xml's: an end tag with no start tag.
    let unexpected = |k: &ParseErrorKind| matches!(k, ParseErrorKind::UnexpectedEndTag { .. });
    refused_at("</1b>", 0, unexpected);
    refused_at("<a><? pi?></a>", 5, invalid_name(""));
    refused_at("<a><?1pi?></a>", 5, invalid_name("1pi"));
    // Non-ASCII: U+00B7 and combining marks follow a first character, never start a name;
    // U+00D7, U+037E, U+00A0 and U+F0000 are in no name.
    refused_at("<\u{b7}a/>", 1, invalid_name("\u{b7}a"));
    refused_at("<\u{300}a/>", 1, invalid_name("\u{300}a"));
    refused_at("<a\u{d7}/>", 2, invalid_name("a\u{d7}"));
    refused_at("<r a\u{37e}b='1'/>", 4, invalid_name("a\u{37e}b"));
    refused_at("<é\u{a0}/>", 3, invalid_name("é\u{a0}"));
    refused_at("<\u{f0000}/>", 1, invalid_name("\u{f0000}"));
    refused_at("<a/b/>", 2, invalid_name("a/b"));
}

#[test]
fn names_with_every_kind_of_name_character_are_read() {
    let xml = "<a\u{b7}b\u{300}c\u{203f}d-e.f_9 \u{10000}\u{effff}='1' \u{f900}\u{fdf0}='2'>\
               <é名/><?\u{c0}pi x?><?xml-stylesheet href='x'?></a\u{b7}b\u{300}c\u{203f}d-e.f_9>";
    let doc = parse(xml.as_bytes()).expect("well-formed");
    let root = doc.document_element().expect("root");
    assert_eq!(doc.local_name(root), "a\u{b7}b\u{300}c\u{203f}d-e.f_9");
    let attrs: Vec<_> = doc.attributes(root).map(|a| doc.local_name(a)).collect();
    assert_eq!(attrs, ["\u{10000}\u{effff}", "\u{f900}\u{fdf0}"]);
}

#[test]
fn cdata_end_is_refused_in_character_data() {
    let cdata_end = |k: &ParseErrorKind| matches!(k, ParseErrorKind::CdataEndInText);
    refused_at("<a>]]></a>", 3, cdata_end);
    refused_at("<a>x ]]]> y</a>", 6, cdata_end);
    // In text that is normalised (a CR, a reference before it) and in a later chunk.
    refused_at("<a>x\r\n]]></a>", 6, cdata_end);
    refused_at("<a>&amp;]]></a>", 8, cdata_end);
    refused_at("<a><![CDATA[x]]>]]></a>", 16, cdata_end);
    let long = format!("<a>{}]]></a>", "QUJD\r\n".repeat(200));
    refused_at(&long, long.len() - 7, cdata_end);
    // The first of two faults is reported.
    refused_at("<a>\u{1}]]></a>", 3, invalid_char(1));
    refused_at("<a>]]>\u{1}</a>", 3, cdata_end);
    // Allowed: escaped, in a CDATA section, in an attribute value, apart.
    for ok in [
        "<a>]]&gt;</a>",
        "<a><![CDATA[]]]]><![CDATA[>]]></a>",
        "<a b=']]>'/>",
        "<a>] ]> ]]x ]></a>",
    ] {
        assert!(parse(ok.as_bytes()).is_ok(), "{ok:?}");
    }
}

#[test]
fn lt_is_refused_in_attribute_values() {
    let lt = |k: &ParseErrorKind| matches!(k, ParseErrorKind::LtInAttributeValue);
    refused_at("<a b=\"<\"/>", 6, lt);
    refused_at("<a b='x\r\n<y'/>", 9, lt);
    refused_at("<a b='&amp;<'/>", 11, lt);
    refused_at("<a xmlns:p='urn:<'/>", 16, lt);
    refused_at("<a xmlns='<'/>", 10, lt);
    assert!(parse(b"<a b='&lt;' c='>'/>").is_ok());
}

#[test]
fn characters_outside_char_are_refused_everywhere() {
    refused_at("<a\u{1} b=\"1\"/>", 2, invalid_name("a\u{1}"));
    refused_at("<a b\u{2}='1'/>", 4, invalid_name("b\u{2}"));
    refused_at("<a></a\u{1}>", 6, invalid_name("a\u{1}"));
    refused_at("<a>\u{8}</a>", 3, invalid_char(8));
    refused_at("<a b='\u{1f}'/>", 6, invalid_char(0x1f));
    refused_at("<a><!--\u{c}--></a>", 7, invalid_char(0xc));
    refused_at("<a><?pi x\u{b}?></a>", 9, invalid_char(0xb));
    refused_at("<a><![CDATA[\u{e}]]></a>", 12, invalid_char(0xe));
    refused_at("<?xml version=\"1.0\"\u{1}?><a/>", 19, invalid_char(1));
    refused_at("<a/><!--\u{1}-->", 8, invalid_char(1));
    refused_at("<a>\u{fffe}</a>", 3, invalid_char(0xfffe));
    refused_at("<a b='\u{ffff}'/>", 6, invalid_char(0xffff));
    refused_at("<a><!--é\u{ffff}--></a>", 9, invalid_char(0xffff));
    refused_at("<a><![CDATA[\u{fffe}]]></a>", 12, invalid_char(0xfffe));
    // Their neighbours are characters.
    assert!(
        parse("<a b='\u{fffd}\u{7f}\u{85}'>\t\r\n\u{feff}\u{efff}\u{10ffff}</a>".as_bytes())
            .is_ok()
    );
}

#[test]
fn processing_instruction_targets_and_comments_follow_xml() {
    let reserved = |name: &'static str| move |k: &ParseErrorKind| matches!(k, ParseErrorKind::ReservedPiTarget { target } if target == name);
    refused_at("<a><?XmL x?></a>", 5, reserved("XmL"));
    refused_at("<?XML version='1.0'?><a/>", 2, reserved("XML"));
    let misplaced = |k: &ParseErrorKind| matches!(k, ParseErrorKind::MisplacedDeclaration);
    refused_at("<a/><?xml version=\"1.0\"?>", 4, misplaced);
    refused_at(" <?xml version=\"1.0\"?><a/>", 1, misplaced);
    refused_at("<a><?xml version=\"1.0\"?></a>", 3, misplaced);
    // quick-xml's: `--` in a comment, a comment ending in `--->`.
    for bad in [
        "<a><!-- a -- b --></a>",
        "<a><!-- a ---></a>",
        "<a><!---></a>",
    ] {
        let e = refused(bad);
        assert!(
            matches!(e.kind, ParseErrorKind::Malformed { .. }),
            "{bad:?}: {e}"
        );
        assert!((3..bad.len() - 4).contains(&e.offset), "{bad:?}: {e:?}");
    }
    let ok = "<?xml version='1.0'?><a><!-- a - b --><!----><!--->--><?xml-model x?></a>";
    assert!(parse(ok.as_bytes()).is_ok());
}

#[test]
fn attributes_are_separated_by_whitespace() {
    let joined = |expected: &'static str| move |k: &ParseErrorKind| matches!(k, ParseErrorKind::NoSpaceBetweenAttributes { name } if name == expected);
    refused_at("<a b=\"1\"c='2'/>", 8, joined("c"));
    refused_at("<a b='1'c=\"2\"></a>", 8, joined("c"));
    refused_at("<r><a x = '1' b=\"1\"xsi:c='2'/></r>", 19, joined("xsi:c"));
    // Before a name that is not one; the tag's shape before what its values hold (as names
    // are).
    refused_at("<a b='1'1c='2'/>", 8, joined("1c"));
    refused_at("<a b='<'c='2'/>", 8, joined("c"));
    for ok in [
        "<a b='1'\nc='2'/>",
        "<a b='1'\r\n\tc='2' />",
        "<a b='1'/>",
        "<a b='1'></a>",
    ] {
        assert!(parse(ok.as_bytes()).is_ok(), "{ok:?}");
    }
}

/// The problem a malformed XML declaration is refused with, at `offset`.
fn malformed_declaration(xml: &str, offset: usize, words: &str) {
    refused_at(
        xml,
        offset,
        |k| matches!(k, ParseErrorKind::MalformedDeclaration { problem } if problem.contains(words)),
    );
}

#[test]
fn the_xml_declaration_is_version_then_encoding_then_standalone() {
    malformed_declaration("<?xml?><a/>", 5, "expected version, found ?>");
    malformed_declaration("<?xml ?><a/>", 6, "expected version");
    malformed_declaration("<?xml encoding='UTF-8'?><a/>", 6, "expected version");
    malformed_declaration("<?xml versio=\"1.0\"?><a/>", 6, "found \"versio\"");
    malformed_declaration(
        "<?xml version=\"2.0\"?><a/>",
        15,
        "unsupported version \"2.0\"",
    );
    malformed_declaration("<?xml version=\"1.x\"?><a/>", 15, "unsupported version");
    malformed_declaration("<?xml version=\"1.0'?><a/>", 14, "not closed");
    malformed_declaration("<?xml version=1.0?><a/>", 14, "must be quoted");
    malformed_declaration(
        "<?xml version='1.0'encoding='UTF-8'?><a/>",
        19,
        "whitespace",
    );
    malformed_declaration(
        "<?xml version='1.0' standalone='yes' encoding='UTF-8'?><a/>",
        37,
        "expected ?>, found \"encoding\"",
    );
    malformed_declaration(
        "<?xml version='1.0' encoding='8859-1'?><a/>",
        30,
        "encoding name",
    );
    malformed_declaration(
        "<?xml version='1.0' standalone='maybe'?><a/>",
        32,
        "\"yes\" or \"no\"",
    );
    malformed_declaration("<?xml version='1.0' bogus?><a/>", 20, "found \"bogus\"");
    // After a byte order mark, at its place in the input.
    malformed_declaration("\u{feff}<?xml?><a/>", 8, "expected version");
    for ok in [
        "<?xml version=\"1.0\"?><a/>",
        "<?xml version='1.1'?><a/>",
        "<?xml version = \"1.0\"\r\n encoding = 'US-ASCII' standalone=\"yes\" ?><a/>",
        "<?xml version='1.0' standalone='no'?><a/>",
        "\u{feff}<?xml version='1.0' encoding='utf-8'?>\n<a/>",
    ] {
        assert!(parse(ok.as_bytes()).is_ok(), "{ok:?}");
    }
}

/// The single-byte encodings the official chain reads are read (ASCII bytes, or accented
/// letters of that encoding), UTF-16 by its byte order mark; an encoding segur does not read is
/// refused at the declaration, and so is a UTF-16 declaration on bytes that are not UTF-16, or
/// a UTF-8 byte order mark before another declared encoding. UTF-8 bytes that are not valid are
/// still reported where they are.
#[test]
fn encodings_are_read_or_refused_at_the_declaration() {
    let unsupported = |xml: &[u8], offset: usize, expected: &str| {
        let e = parse(xml).expect_err("another encoding");
        assert!(
            matches!(&e.kind, ParseErrorKind::UnsupportedEncoding { encoding } if encoding == expected),
            "{e}"
        );
        assert_eq!(e.offset, offset, "{e}");
        let message = e.to_string();
        assert!(message.contains("segur reads UTF-8"), "{message}");
    };
    for encoding in [
        "ISO-8859-1",
        "windows-1252",
        "latin1",
        "ISO-8859-15",
        "IBM819",
        "LATIN-9",
    ] {
        let ascii = format!("<?xml version='1.0' encoding='{encoding}'?><a>e</a>");
        assert!(parse(ascii.as_bytes()).is_ok(), "{encoding}");
        let mut latin =
            format!("<?xml version=\"1.0\" encoding=\"{encoding}\"?>\n<a b='").into_bytes();
        latin.extend_from_slice(b"\xe9t\xe9'>\xc0 \xe9crire</a>");
        let doc = parse(&latin).expect(encoding);
        let a = doc.document_element().expect("a");
        assert_eq!(doc.attribute_value(a, "", "b"), Some("été"), "{encoding}");
        assert_eq!(doc.string_value(a), "À écrire", "{encoding}");
        // A UTF-8 byte order mark before it is dropped, as the chain's parser drops it.
        let mut with_bom = b"\xef\xbb\xbf".to_vec();
        with_bom.extend_from_slice(&latin);
        let doc = parse(&with_bom).expect(encoding);
        assert_eq!(
            doc.string_value(doc.document_element().expect("a")),
            "À écrire"
        );
    }
    unsupported(
        b"<?xml version='1.0' encoding='UTF-16'?><a>e</a>",
        0,
        "UTF-16",
    );
    unsupported(
        b"<?xml version='1.0' encoding='EBCDIC-CP-US'?><a/>",
        0,
        "EBCDIC-CP-US",
    );
    for utf16 in [
        &[0xFF, 0xFE, b'<', 0, b'a', 0, b'/', 0, b'>', 0][..],
        &[0xFE, 0xFF, 0, b'<', 0, b'a', 0, b'/', 0, b'>'],
    ] {
        let doc = parse(utf16).expect("UTF-16");
        assert_eq!(doc.local_name(doc.document_element().expect("a")), "a");
    }
    // Declared UTF-8 (or nothing declared): the byte that is not UTF-8.
    for (xml, offset) in [
        (
            &b"<?xml version='1.0' encoding='UTF-8'?><a>\xe9</a>"[..],
            41,
        ),
        (b"<?xml version='1.0'?><a>\xe9</a>", 24),
        (b"<a>\xe9</a>", 3),
        // A byte that is not UTF-8 inside the declaration: it is not read.
        (b"<?xml version='1.0' encoding='ISO-8859-1\xe9'?><a/>", 40),
        // A declaration quick-xml would not take for one.
        (b"<?xmlx encoding='ISO-8859-1'?><a>\xe9</a>", 33),
    ] {
        let e = parse(xml).expect_err("not UTF-8");
        assert!(matches!(e.kind, ParseErrorKind::InvalidUtf8), "{e}");
        assert_eq!(e.offset, offset, "{e}");
    }
    // A malformed declaration before bytes that are not UTF-8: the first fault.
    let e = parse(b"<?xml encoding='ISO-8859-1'?><a>\xe9</a>").expect_err("malformed");
    assert!(
        matches!(e.kind, ParseErrorKind::MalformedDeclaration { .. }),
        "{e}"
    );
    assert_eq!(e.offset, 6);
}

/// Each ANS example written in ISO-8859-1 (or windows-1252) and saying so is read as the same
/// document as its UTF-8 original: the same nodes, values, and line:column of every element.
#[test]
fn ans_examples_in_latin_1_are_read_as_their_utf8_originals() {
    for (k, path) in ans_examples().iter().enumerate() {
        let text = std::fs::read_to_string(path).expect("a UTF-8 example");
        // Latin-1 has no byte order mark; characters beyond it are written `?` in both.
        let text: String = text
            .trim_start_matches('\u{feff}')
            .chars()
            .map(|c| {
                if u32::from(c) < 0x80 || (0xA0..0x100).contains(&u32::from(c)) {
                    c
                } else {
                    '?'
                }
            })
            .collect();
        let encoding = if k % 2 == 0 {
            "ISO-8859-1"
        } else {
            "windows-1252"
        };
        let declared = text
            .replacen("encoding=\"UTF-8\"", &format!("encoding=\"{encoding}\""), 1)
            .replacen("encoding=\"utf-8\"", &format!("encoding=\"{encoding}\""), 1);
        assert_ne!(declared, text, "{}", path.display());
        let latin: Vec<u8> = declared.chars().map(|c| c as u8).collect();
        assert!(latin.iter().any(|&b| b >= 0x80), "{}", path.display());
        let original = parse(text.as_bytes()).expect("UTF-8");
        let read = parse(&latin).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(read.len(), original.len(), "{}", path.display());
        for i in 0..original.len() as u32 {
            let n = segur_xml::NodeId::from_index(i);
            assert_eq!(read.kind(n), original.kind(n));
            assert_eq!(read.local_name(n), original.local_name(n));
            if read.kind(n) != segur_xml::NodeKind::Element {
                assert_eq!(read.value(n), original.value(n), "{}", path.display());
            } else {
                assert_eq!(
                    read.line_col(read.offset(n)),
                    original.line_col(original.offset(n)),
                    "{}",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn names_are_qualified_names() {
    let qname = |expected: &'static str| move |k: &ParseErrorKind| matches!(k, ParseErrorKind::InvalidQName { name } if name == expected);
    refused_at("<:a/>", 1, qname(":a"));
    refused_at("<a:/>", 2, qname("a:"));
    refused_at("<a:b:c/>", 4, qname("a:b:c"));
    refused_at("<p:a:b xmlns:p='urn:p'/>", 4, qname("p:a:b"));
    refused_at("<p:1a xmlns:p='urn:p'/>", 3, qname("p:1a"));
    refused_at("<r><a x:y:z='1'/></r>", 9, qname("x:y:z"));
    refused_at("<a xmlns:p='urn:p' p:='1'/>", 20, qname("p:"));
    refused_at("<a :b='1'/>", 3, qname(":b"));
    // Before the namespace declarations of its tag (document order), and before an
    // undeclared prefix.
    refused_at("<:a xmlns:p=''/>", 1, qname(":a"));
    refused_at("<q:a:b/>", 4, qname("q:a:b"));
    // Declarations: `xmlns:` then a name without a colon.
    refused_at("<a xmlns:='urn:p'/>", 8, qname("xmlns:"));
    refused_at("<a xmlns:p:q='urn:p'/>", 10, qname("xmlns:p:q"));
    refused_at("<a xmlns:1='urn:p'/>", 9, qname("xmlns:1"));
    // Processing instruction targets have no colon.
    refused_at(
        "<a><?p:i x?></a>",
        6,
        |k| matches!(k, ParseErrorKind::ColonInPiTarget { target } if target == "p:i"),
    );
    refused_at(
        "<?a:?><a/>",
        3,
        |k| matches!(k, ParseErrorKind::ColonInPiTarget { target } if target == "a:"),
    );
    // Prefixes: declared, `xml` bound to its namespace alone, `xmlns` never bound nor used.
    let undeclared = |expected: &'static str| move |k: &ParseErrorKind| matches!(k, ParseErrorKind::UndeclaredPrefix { prefix } if prefix == expected);
    refused_at("<p:a/>", 0, undeclared("p"));
    refused_at("<a p:b='1'/>", 3, undeclared("p"));
    refused_at("<r xmlns:p='urn:p'/><!-- --><p:a/>", 28, |k| {
        matches!(k, ParseErrorKind::ContentOutsideRoot)
    });
    refused_at("<a><b xmlns:p='urn:p'/><p:c/></a>", 23, undeclared("p"));
    refused_at("<xmlns:a/>", 0, undeclared("xmlns"));
    let declaration = |expected: &'static str| move |k: &ParseErrorKind| matches!(k, ParseErrorKind::InvalidNamespaceDeclaration { name, .. } if name == expected);
    refused_at("<a xmlns:xmlns='urn:x'/>", 3, declaration("xmlns:xmlns"));
    refused_at("<a xmlns:xml='urn:x'/>", 3, declaration("xmlns:xml"));
    refused_at("<a xmlns:p=''/>", 3, declaration("xmlns:p"));
    refused_at(
        "<a xmlns:p='http://www.w3.org/XML/1998/namespace'/>",
        3,
        declaration("xmlns:p"),
    );
    refused_at(
        "<a xmlns='http://www.w3.org/2000/xmlns/'/>",
        3,
        declaration("xmlns"),
    );
    for ok in [
        "<p:a xmlns:p='urn:p' p:b='1' xml:lang='fr'/>",
        "<a xmlns:xml='http://www.w3.org/XML/1998/namespace' xml:space='preserve'/>",
        "<a xmlns='urn:a'><b xmlns=''/></a>",
        "<é:名 xmlns:é='urn:e' é:_x='1'/>",
        "<a><?p-i x:y?></a>",
    ] {
        assert!(parse(ok.as_bytes()).is_ok(), "{ok:?}");
    }
}

fn ans_examples() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/ans/testcontenucda/ExemplesCDA");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("the ANS examples")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    files.sort();
    files
}

/// Every ANS example still parses; each fault inserted right after its root's start tag is
/// refused there.
#[test]
fn ans_examples_parse_and_each_inserted_fault_is_refused_at_its_place() {
    let files = ans_examples();
    assert_eq!(files.len(), 94, "the ANS corpus has 94 examples");
    let faults: &[(&str, usize)] = &[
        ("<1a/>", 1),
        ("<b 1b='x'/>", 3),
        ("]]>", 0),
        ("<b c='<'/>", 6),
        ("<b\u{1} c='1'/>", 2),
        ("x\u{1}", 1),
        ("<!--\u{1f}-->", 4),
        ("<?XML x?>", 2),
        ("<?xml version='1.0'?>", 0),
        ("\u{ffff}", 0),
        ("<b c='1'd='2'/>", 8),
        ("<:b/>", 1),
        ("<b:/>", 2),
        ("<b x:y:z='1'/>", 6),
        ("<b xmlns:='urn:b'/>", 8),
        ("<?p:i?>", 3),
    ];
    for path in &files {
        let bytes = std::fs::read(path).expect("a readable example");
        let doc = parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let root = doc.document_element().expect("a root element");
        let at = doc.tag_end(root);
        assert_eq!(bytes[at - 1], b'>', "{}", path.display());
        for &(fault, offset) in faults {
            let mut bad = bytes[..at].to_vec();
            bad.extend_from_slice(fault.as_bytes());
            bad.extend_from_slice(&bytes[at..]);
            let e = parse(&bad).expect_err("a fault");
            assert_eq!(e.offset, at + offset, "{}: {fault:?}: {e}", path.display());
        }
    }
}

/// A name: a name start character, then name characters, every range of the productions
/// (no `:`, so that no prefix needs declaring).
fn name() -> impl Strategy<Value = String> {
    const START: &[std::ops::RangeInclusive<char>] = &[
        'A'..='Z',
        '_'..='_',
        'a'..='z',
        '\u{C0}'..='\u{D6}',
        '\u{D8}'..='\u{F6}',
        '\u{F8}'..='\u{2FF}',
        '\u{370}'..='\u{37D}',
        '\u{37F}'..='\u{1FFF}',
        '\u{200C}'..='\u{200D}',
        '\u{2070}'..='\u{218F}',
        '\u{2C00}'..='\u{2FEF}',
        '\u{3001}'..='\u{D7FF}',
        '\u{F900}'..='\u{FDCF}',
        '\u{FDF0}'..='\u{FFFD}',
        '\u{10000}'..='\u{EFFFF}',
    ];
    const MORE: &[std::ops::RangeInclusive<char>] = &[
        '-'..='.',
        '0'..='9',
        '\u{B7}'..='\u{B7}',
        '\u{300}'..='\u{36F}',
        '\u{203F}'..='\u{2040}',
    ];
    let start = prop::char::ranges(START.into());
    let more = prop_oneof![
        prop::char::ranges(START.into()),
        prop::char::ranges(MORE.into())
    ];
    (start, prop::collection::vec(more, 0..6))
        .prop_map(|(first, rest)| std::iter::once(first).chain(rest).collect())
}

/// Character data: characters that are not markup, with brackets and `>` that never make
/// a `]]>`.
fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("]".to_owned()),
            Just("]]".to_owned()),
            Just(">".to_owned()),
            Just("]>".to_owned()),
            Just(" ".to_owned()),
            Just("\r\n".to_owned()),
            Just("&amp;".to_owned()),
            "[a-zé€😀]{1,4}",
            prop::char::range('\u{E000}', '\u{FFFD}').prop_map(String::from),
        ],
        0..8,
    )
    .prop_map(|parts| {
        // `]]` then `>` would close a CDATA section: a space between.
        let mut out = parts.concat();
        while out.contains("]]>") {
            out = out.replace("]]>", "]] >");
        }
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// Documents of generated names, text and values parse, and read back as written.
    #[test]
    fn valid_generated_documents_parse(
        root in name(),
        child in name(),
        attr in name(),
        value in text(),
        content in text(),
    ) {
        let xml = format!("<{root} {attr}='{value}'>{content}<{child}/>{content}</{root}>");
        let doc = parse(xml.as_bytes()).map_err(|e| TestCaseError::fail(format!("{xml:?}: {e}")))?;
        let r = doc.document_element().expect("root");
        prop_assert_eq!(doc.local_name(r), root.as_str());
        let a = doc.attributes(r).next().expect("an attribute");
        prop_assert_eq!(doc.local_name(a), attr.as_str());
        let elements = doc.children(r).filter(|&c| doc.kind(c) == NodeKind::Element);
        prop_assert_eq!(elements.count(), 1);
    }

    /// A character outside `Char` inserted anywhere in a valid document is refused, at its
    /// place or at the start of the markup it breaks.
    #[test]
    fn an_inserted_forbidden_character_is_refused_at_or_before_its_place(
        seed in 0..SEEDS.len(),
        at in 0usize..1000,
        bad in prop_oneof![
            (1u32..0x20).prop_filter("not whitespace", |c| !matches!(c, 9 | 10 | 13)),
            Just(0xFFFE),
            Just(0xFFFF),
        ],
    ) {
        let seed = SEEDS[seed];
        let mut at = at * seed.len() / 1000;
        while !seed.is_char_boundary(at) {
            at -= 1;
        }
        let c = char::from_u32(bad).expect("a character");
        let xml = format!("{}{c}{}", &seed[..at], &seed[at..]);
        match parse(xml.as_bytes()) {
            Ok(_) => prop_assert!(false, "accepted: {:?}", xml),
            Err(e) => prop_assert!(e.offset <= at, "{:?}: {:?}", xml, e),
        }
    }
}

/// Valid documents with every construct, for the insertion test.
const SEEDS: &[&str] = &[
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<ClinicalDocument xmlns=\"urn:hl7-org:v3\" \
     xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\r\n  <id root=\"1.2.250.1\" \
     extension=\"a&amp;b\"/>\r\n  <title>Compte rendu &#233;</title>\r\n  \
     <value xsi:type=\"PQ\" value=\"1\" unit=\"mg\"/>\r\n</ClinicalDocument>",
    "<a xmlns:p=\"u\" p:x='1' y=\"&lt;&gt;\"><p:b><![CDATA[<not markup> ]] ]]></p:b>\
     <!-- note --><?pi data?>text&#10;more</a>",
    "\u{FEFF}<r>\r\n<t>\t \r\n</t><e/><e a=\"\t\n\r\"/>é€𝄞</r><!-- end -->",
];
