//! Parsing: the ANS example corpus, every error kind with its position, hostile inputs.

use std::path::PathBuf;

use quick_xml::Reader;
use quick_xml::events::Event as QEvent;
use segur_xml::{Document, Event, Limits, NodeId, NodeKind, ParseError, ParseErrorKind};

fn parse(xml: &str) -> Result<Document, ParseError> {
    Document::parse(xml.as_bytes(), &Limits::default())
}

fn err(xml: &str) -> ParseError {
    match parse(xml) {
        Ok(_) => panic!("accepted: {xml}"),
        Err(e) => e,
    }
}

fn corpus() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/ans/testcontenucda/ExemplesCDA");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "xml"));
    files.sort();
    files
}

fn raw_element_count(bytes: &[u8]) -> usize {
    let mut reader = Reader::from_reader(bytes);
    let mut n = 0;
    loop {
        match reader.read_event() {
            Ok(QEvent::Start(_) | QEvent::Empty(_)) => n += 1,
            Ok(QEvent::Eof) | Err(_) => return n,
            Ok(_) => {}
        }
    }
}

#[test]
fn ans_examples_parse_with_every_element() {
    let files = corpus();
    assert_eq!(files.len(), 94, "the ANS corpus has 94 examples");
    let mut failures = Vec::new();
    for path in &files {
        let bytes = std::fs::read(path).expect("readable example");
        match Document::parse(&bytes, &Limits::default()) {
            Ok(doc) => {
                let elements = doc
                    .descendants(doc.root())
                    .filter(|&n| doc.kind(n) == NodeKind::Element)
                    .count();
                if elements != raw_element_count(&bytes) {
                    failures.push(format!("{}: {elements} elements", path.display()));
                }
            }
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A CDATA section is literal: references in it are text (`&amp;` stays five characters),
/// line ends are normalised, and it merges with the character data around it.
#[test]
fn cdata_sections_are_literal() {
    let doc = parse("<a>x&amp;<![CDATA[&amp; <b> &#x41;\r\ny\rz]]>&lt;</a>").expect("well-formed");
    let a = doc.document_element().expect("root");
    assert_eq!(doc.string_value(a), "x&&amp; <b> &#x41;\ny\nz<");
    assert!(
        parse("<a><![CDATA[\u{1}]]></a>").is_err(),
        "control characters stay forbidden"
    );
}

#[test]
fn tree_shape_and_document_order() {
    let doc = parse("<?xml version='1.0'?><!--c--><a x='1' y='2'><b>t1<![CDATA[<t2>]]>&amp;&#x41;</b><c/><?pi data?></a>")
        .expect("well-formed");
    let a = doc.document_element().expect("root");
    assert_eq!(
        doc.kind(doc.first_child(doc.root()).expect("comment")),
        NodeKind::Comment
    );
    let attrs: Vec<NodeId> = doc.attributes(a).collect();
    assert_eq!(attrs.len(), 2);
    assert_eq!(doc.parent(attrs[0]), Some(a));
    assert!(a < attrs[0] && attrs[1] < doc.first_child(a).expect("b"));
    let b = doc.first_child(a).expect("b");
    assert_eq!(
        doc.children(b).count(),
        1,
        "CDATA and references merge into one text node"
    );
    assert_eq!(doc.string_value(b), "t1<t2>&A");
    assert_eq!(
        doc.string_value(a),
        "t1<t2>&A",
        "processing instructions are not text"
    );
    let c = doc.next_sibling(b).expect("c");
    assert_eq!(doc.prev_sibling(c), Some(b));
    let pi = doc.next_sibling(c).expect("pi");
    assert_eq!(doc.kind(pi), NodeKind::ProcessingInstruction);
    assert_eq!((doc.local_name(pi), doc.value(pi)), ("pi", "data"));
    assert_eq!(doc.ancestors(attrs[1]).collect::<Vec<_>>(), [a, doc.root()]);
    assert_eq!(doc.value(attrs[1]), "2");
}

#[test]
fn comments_and_instructions_keep_ampersands_verbatim() {
    let doc = parse("<a><!-- addr & telecom &amp; --><?pi a & b?></a>").expect("well-formed");
    let a = doc.document_element().expect("root");
    let values: Vec<&str> = doc.children(a).map(|c| doc.value(c)).collect();
    assert_eq!(values, [" addr & telecom &amp; ", "a & b"]);
}

#[test]
fn names_namespaces_and_offsets() {
    let xml = "<r xmlns='urn:d' xmlns:p='urn:p'>\n  <p:e p:a='v' b='w'/>\n  <e xmlns=''/>\n</r>";
    let doc = parse(xml).expect("well-formed");
    let r = doc.document_element().expect("root");
    let e = doc
        .children(r)
        .find(|&n| doc.kind(n) == NodeKind::Element)
        .expect("p:e");
    assert_eq!(
        (
            doc.namespace_uri(e),
            doc.local_name(e),
            &*doc.qualified_name(e)
        ),
        ("urn:p", "e", "p:e")
    );
    let attrs: Vec<_> = doc
        .attributes(e)
        .map(|a| (doc.namespace_uri(a), doc.local_name(a)))
        .collect();
    assert_eq!(attrs, [("urn:p", "a"), ("", "b")]);
    assert_eq!(doc.lookup_namespace(e, "p"), Some("urn:p"));
    assert_eq!(doc.line_col(doc.offset(e)), (2, 3));
    assert_eq!(doc.line_col(doc.tag_end(e)), (2, 23));
    let a = doc.attributes(e).next().expect("p:a");
    assert_eq!(doc.line_col(doc.offset(a)), (2, 8));
    let e2 = doc
        .children(r)
        .filter(|&n| doc.kind(n) == NodeKind::Element)
        .nth(1)
        .expect("e");
    assert_eq!(doc.namespace_uri(e2), "");
    assert_eq!(doc.lookup_namespace(e2, ""), Some(""));
    assert_eq!(doc.line_col(doc.close_offset(r)), (4, 1));
}

#[test]
fn columns_count_characters_and_bom_is_skipped() {
    let doc = Document::parse("\u{feff}<é a='ü'>\n<b/></é>".as_bytes(), &Limits::default())
        .expect("well-formed");
    let root = doc.document_element().expect("root");
    // The byte order mark takes no column, as Xerces and libxml2 count.
    assert_eq!(doc.line_col(doc.offset(root)), (1, 1));
    let a = doc.attributes(root).next().expect("a");
    assert_eq!(doc.line_col(doc.offset(a)), (1, 4));
}

#[test]
fn events_replay_in_document_order() {
    let doc = parse("<a k='v'><b>x</b><c/>y</a>").expect("well-formed");
    let mut seen = Vec::new();
    doc.for_each_event(|e| match e {
        Event::Start {
            local, attributes, ..
        } => seen.push(format!("<{local}:{}", attributes.count())),
        Event::Text { text, .. } => seen.push(text.to_owned()),
        Event::End { node, .. } => seen.push(format!("</{}", doc.local_name(node))),
        _ => {}
    });
    assert_eq!(
        seen,
        ["<a:1", "<b:0", "x", "</b", "<c:0", "</c", "y", "</a"]
    );
}

#[test]
fn whitespace_and_line_ends_are_normalised() {
    let doc = parse("<a v='x\ty\r\nz' w='&#10;'>1\r\n2\r3</a>").expect("well-formed");
    let a = doc.document_element().expect("root");
    let mut attrs = doc.attributes(a);
    assert_eq!(doc.value(attrs.next().expect("v")), "x y z");
    assert_eq!(doc.value(attrs.next().expect("w")), "\n");
    assert_eq!(doc.string_value(a), "1\n2\n3");
}

fn kind_at(xml: &str, line: u32, column: u32) -> ParseErrorKind {
    let e = err(xml);
    assert_eq!((e.line, e.column), (line, column), "{e}");
    e.kind
}

#[test]
fn errors_name_their_cause_and_position() {
    let k = kind_at("<a>\n  <b></c>\n</a>", 2, 6);
    assert!(
        matches!(&k, ParseErrorKind::MismatchedEndTag { expected, found } if expected == "b" && found == "c"),
        "{k}"
    );
    assert!(
        matches!(kind_at("<a>\n<b>", 2, 4), ParseErrorKind::UnclosedElement { name } if name == "b")
    );
    assert!(
        matches!(kind_at("<a>\n <p:b/></a>", 2, 2), ParseErrorKind::UndeclaredPrefix { prefix } if prefix == "p")
    );
    assert!(
        matches!(kind_at("<a\n x='1' x='2'/>", 2, 8), ParseErrorKind::DuplicateAttribute { name } if name == "x")
    );
    let dup_ns = "<a xmlns:p='u' xmlns:q='u' p:x='1' q:x='2'/>";
    assert!(
        matches!(kind_at(dup_ns, 1, 36), ParseErrorKind::DuplicateAttribute { name } if name == "q:x")
    );
    assert!(
        matches!(kind_at("<a>&#0;</a>", 1, 4), ParseErrorKind::InvalidCharRef { reference } if reference == "#0")
    );
    assert!(matches!(
        kind_at("<a v='&#xD800;'/>", 1, 7),
        ParseErrorKind::InvalidCharRef { .. }
    ));
    assert!(
        matches!(kind_at("<a>&nbsp;</a>", 1, 4), ParseErrorKind::UndefinedEntity { name } if name == "nbsp")
    );
    assert!(matches!(
        kind_at("<a v='&foo;'/>", 1, 7),
        ParseErrorKind::UndefinedEntity { .. }
    ));
    assert!(matches!(
        kind_at("<a></a>\n<b/>", 2, 1),
        ParseErrorKind::ContentOutsideRoot
    ));
    assert!(matches!(
        kind_at("<a/>x", 1, 5),
        ParseErrorKind::ContentOutsideRoot
    ));
    assert!(matches!(kind_at("  ", 1, 3), ParseErrorKind::NoRootElement));
    let k = kind_at("</a>", 1, 1);
    assert!(
        matches!(k, ParseErrorKind::UnexpectedEndTag { .. }),
        "{k:?}"
    );
    assert!(matches!(
        kind_at("<a>\u{1}</a>", 1, 4),
        ParseErrorKind::InvalidChar { code: 1 }
    ));
    assert!(matches!(
        kind_at("<a b='1' c></a>", 1, 1),
        ParseErrorKind::Malformed { .. }
    ));
    assert!(matches!(
        kind_at("<a><!-- x -- y --></a>", 1, 11),
        ParseErrorKind::Malformed { .. }
    ));
    let e = err("<a>\n</b>");
    assert_eq!(
        e.to_string(),
        "2:1: end tag </b> does not match start tag <a>"
    );
}

#[test]
fn doctype_is_refused_before_any_expansion() {
    let xxe =
        "<?xml version='1.0'?>\n<!DOCTYPE r [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>\n<r>&x;</r>";
    assert!(matches!(kind_at(xxe, 2, 1), ParseErrorKind::Doctype));
    let lol =
        "<!DOCTYPE l [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;'>]><l>&b;</l>";
    assert!(matches!(kind_at(lol, 1, 1), ParseErrorKind::Doctype));
}

#[test]
fn encodings_other_than_utf8_are_read_as_the_official_chain_reads_them() {
    // UTF-16 by its byte order mark: the same document as in UTF-8.
    let utf16 = [
        0xFF, 0xFE, b'<', 0, b'a', 0, b'>', 0, 0xE9, 0, b'<', 0, b'/', 0, b'a', 0, b'>', 0,
    ];
    let doc = Document::parse(&utf16, &Limits::default()).expect("UTF-16");
    let a = doc.document_element().expect("a");
    assert_eq!(doc.string_value(a), "é");
    // ISO-8859-1: values, and line:column in characters.
    let latin1 = b"<?xml version='1.0' encoding='ISO-8859-1'?>\n<a b='\xe9'>\xe9t\xe9<c/></a>";
    let doc = Document::parse(latin1, &Limits::default()).expect("Latin-1");
    let a = doc.document_element().expect("a");
    assert_eq!(doc.attribute_value(a, "", "b"), Some("é"));
    assert_eq!(doc.string_value(a), "été");
    let c = doc
        .first_child(a)
        .and_then(|t| doc.next_sibling(t))
        .expect("c");
    assert_eq!(doc.line_col(doc.offset(c)), (2, 13));
    // A declared encoding segur does not read is named; one the bytes contradict too.
    let ebcdic = "<?xml version='1.0' encoding='IBM037'?><a/>";
    assert!(
        matches!(kind_at(ebcdic, 1, 1), ParseErrorKind::UnsupportedEncoding { encoding } if encoding == "IBM037")
    );
    let e = Document::parse(
        "<?xml version='1.0' encoding='US-ASCII'?><a>é</a>".as_bytes(),
        &Limits::default(),
    )
    .expect_err("not ASCII");
    assert!(
        matches!(&e.kind, ParseErrorKind::NotInEncoding { encoding, what } if encoding == "US-ASCII" && what == "byte 0xC3"),
        "{e}"
    );
    assert_eq!((e.line, e.column), (1, 45));
    // UTF-16 bytes declared as something else.
    let text = "<?xml version='1.0' encoding='ISO-8859-1'?><a/>";
    let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let e = Document::parse(&be, &Limits::default()).expect_err("UTF-16 declared Latin-1");
    assert!(
        matches!(e.kind, ParseErrorKind::UnsupportedEncoding { .. }),
        "{e}"
    );
    assert!(parse("<?xml version='1.0' encoding='utf-8'?><a/>").is_ok());
    let e = Document::parse(b"<a>\xff</a>", &Limits::default()).expect_err("bad UTF-8");
    assert!(matches!(e.kind, ParseErrorKind::InvalidUtf8));
    assert_eq!((e.line, e.column), (1, 4));
}

#[test]
fn deep_nesting_is_refused_without_recursion() {
    let xml = "<a>".repeat(10_000) + &"</a>".repeat(10_000);
    assert!(matches!(
        err(&xml).kind,
        ParseErrorKind::TooDeep { limit: 256 }
    ));
    let limits = Limits::default().with_max_depth(20_000);
    let doc = Document::parse(xml.as_bytes(), &limits).expect("allowed when the limit is raised");
    assert_eq!(doc.descendants(doc.root()).count(), 10_000);
    let deepest = NodeId::from_index(10_000);
    assert_eq!(doc.ancestors(deepest).count(), 10_000);
    let mut ends = 0;
    doc.for_each_event(|e| ends += usize::from(matches!(e, Event::End { .. })));
    assert_eq!(ends, 10_000);
}

#[test]
fn limits_bound_size_text_and_attributes() {
    let huge = format!("<a>{}</a>", "x".repeat(1 << 20));
    let limits = Limits::default().with_max_text_len(1000);
    let e = Document::parse(huge.as_bytes(), &limits).expect_err("text too long");
    assert!(matches!(
        e.kind,
        ParseErrorKind::TextTooLong { limit: 1000 }
    ));
    let e = Document::parse(huge.as_bytes(), &Limits::default().with_max_bytes(1000))
        .expect_err("too large");
    assert!(matches!(e.kind, ParseErrorKind::TooLarge { .. }));
    let many = format!(
        "<a {}/>",
        (0..20)
            .map(|i| format!("a{i}='1'"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let e = Document::parse(
        many.as_bytes(),
        &Limits::default().with_max_attributes_per_element(10),
    )
    .expect_err("attrs");
    assert!(matches!(
        e.kind,
        ParseErrorKind::TooManyAttributes { limit: 10 }
    ));
    let nodes = Limits::default().with_max_nodes(5);
    let e = Document::parse(b"<a><b/><b/><b/><b/><b/></a>", &nodes).expect_err("nodes");
    assert!(matches!(e.kind, ParseErrorKind::TooManyNodes { limit: 5 }));
}

/// Long character data (a base64 PDF with CRLF line ends, as the ANS files have) goes through
/// the run-copying path: every CR LF and lone CR becomes LF, references are replaced, and a
/// forbidden control character far into the text is reported at its own position.
#[test]
fn long_text_is_normalised_and_checked_to_its_last_byte() {
    let line = "JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSL0Zp";
    let body: String = (0..400).map(|i| format!("{line}{i}\r\n")).collect();
    let xml = format!("<a>{body}&lt;&#x41;\rend</a>");
    let doc = parse(&xml).expect("well-formed");
    let root = doc.document_element().expect("root");
    let expected: String = (0..400).map(|i| format!("{line}{i}\n")).collect();
    assert_eq!(doc.string_value(root), format!("{expected}<A\nend"));

    let bad = format!("<a>{body}x\u{2}</a>");
    let e = err(&bad);
    assert!(
        matches!(e.kind, ParseErrorKind::InvalidChar { code: 2 }),
        "{e}"
    );
    assert_eq!((e.line, e.column), (401, 2), "{e}");
    // A bare ampersand before the forbidden character is what is reported, at its place.
    let e = err(&format!("<a>{body} & x\u{2}</a>"));
    assert!(!matches!(e.kind, ParseErrorKind::InvalidChar { .. }), "{e}");
    assert_eq!((e.line, e.column), (401, 2), "{e}");
}

/// Attribute anomalies keep quick-xml's order: a repeated name is reported before a broken
/// value after it, and before the limit when it comes first; a broken value is malformed.
#[test]
fn attribute_anomalies_are_reported_in_document_order() {
    let k = kind_at("<a x='1' y='2' x=>", 1, 16);
    assert!(
        matches!(&k, ParseErrorKind::DuplicateAttribute { name } if name == "x"),
        "{k}"
    );
    let k = kind_at("<a x='1' y=2/>", 1, 1);
    assert!(matches!(&k, ParseErrorKind::Malformed { .. }), "{k}");
    let many = |dup: &str| {
        let attrs: Vec<_> = (0..12).map(|i| format!("a{i}='1'")).collect();
        format!("<r {dup}{}/>", attrs.join(" "))
    };
    let limits = Limits::default().with_max_attributes_per_element(10);
    let e = Document::parse(many("a0='0' ").as_bytes(), &limits).expect_err("duplicate");
    assert!(
        matches!(e.kind, ParseErrorKind::DuplicateAttribute { .. }),
        "{e}"
    );
    let mut late = many("");
    late.insert_str(late.len() - 2, " a0='2'");
    let e = Document::parse(late.as_bytes(), &limits).expect_err("limit first");
    assert!(
        matches!(e.kind, ParseErrorKind::TooManyAttributes { limit: 10 }),
        "{e}"
    );
}

/// Attributes in every shape XML allows and quick-xml reads: spaces and line ends around `=`,
/// quotes of the other kind and markup characters inside a value; the errors of the broken
/// shapes, at the start tag; no whitespace between two attributes (which quick-xml reads) at
/// the second one.
#[test]
fn attribute_shapes_read_as_quick_xml_reads_them() {
    let doc = parse("<a x = '1'\r\n\ty\t=\"2\" z='\"]>' w=\"'\" v='3' u=\"&lt;\"/>").expect("read");
    let a = doc.document_element().expect("root");
    let attrs: Vec<_> = doc
        .attributes(a)
        .map(|n| (doc.local_name(n), doc.value(n), doc.offset(n)))
        .collect();
    assert_eq!(
        attrs,
        [
            ("x", "1", 3),
            ("y", "2", 13),
            ("z", "\"]>", 20),
            ("w", "'", 28),
            ("v", "3", 34),
            ("u", "<", 40)
        ]
    );
    for broken in [
        "<a x='1' y/>",
        "<a x='1' y=/>",
        "<a x='1' y='2/>",
        "<a x='1' y=2/>",
        "<a x='1' ='2'/>",
        "<a\n x='1' y\n z='2'></a>",
    ] {
        let e = err(broken);
        assert!(
            matches!(e.kind, ParseErrorKind::Malformed { .. }),
            "{broken}: {e}"
        );
        assert_eq!((e.line, e.column), (1, 1), "{broken}: {e}");
    }
    for (joined, column, name) in [
        ("<a x='1'y='2'/>", 9, "y"),
        ("<a x = \"1\"y:z='2'/>", 11, "y:z"),
        ("<a x='1' y=\"2\"z='3'></a>", 15, "z"),
    ] {
        assert!(
            matches!(kind_at(joined, 1, column), ParseErrorKind::NoSpaceBetweenAttributes { name: n } if n == name),
            "{joined}"
        );
    }
    let k = kind_at("<r>\n <a x='1'\n y='2' x='3'/></r>", 3, 8);
    assert!(
        matches!(&k, ParseErrorKind::DuplicateAttribute { name } if name == "x"),
        "{k}"
    );
}

/// Invalid UTF-8 anywhere, however far into a long input, is reported at its first byte.
#[test]
fn invalid_utf8_is_reported_at_its_first_byte() {
    let bad: [&[u8]; 6] = [
        b"\xff",
        b"\xc3",             // a sequence cut short
        b"\xc0\xaf",         // overlong
        b"\xed\xa0\x80",     // a surrogate
        b"\xf4\x90\x80\x80", // past U+10FFFF
        b"\xe2\x82",         // cut short, at the end of the input below
    ];
    for (i, b) in bad.iter().enumerate() {
        for pad in [0, 1, 63, 64, 65, 1000] {
            let mut xml = format!("<a>\u{e9}{}", "x".repeat(pad)).into_bytes();
            let at = xml.len();
            xml.extend_from_slice(b);
            if i + 1 < bad.len() {
                xml.extend_from_slice("\u{20ac}</a>".as_bytes());
            }
            let e = Document::parse(&xml, &Limits::default()).expect_err("bad UTF-8");
            assert!(matches!(e.kind, ParseErrorKind::InvalidUtf8), "{e}");
            assert_eq!((e.line, e.column), (1, at as u32), "{i} {pad}: {e}");
        }
    }
}

/// The first lookups of a document count line ends; later ones read the table of line
/// starts: both give the same line and column, at every offset (CRLF lines, characters of
/// two to four bytes, the offset past the end).
#[test]
fn line_and_column_agree_before_and_after_the_line_table() {
    let xml = "<a>\r\n  <b é='ü'>𝄞x</b>\n\n<c/>é\r\n</a>".as_bytes();
    let fresh = || Document::parse(xml, &Limits::default()).expect("parse");
    let warm = fresh();
    for offset in 0..=xml.len() {
        warm.line_col(offset);
    }
    for offset in 0..=xml.len() + 3 {
        // A fresh document answers by counting, the warm one from its table.
        assert_eq!(
            fresh().line_col(offset),
            warm.line_col(offset),
            "offset {offset}"
        );
    }
    assert_eq!(warm.line_col(xml.len()), (5, 5));
    // A carriage return alone ends a line too (XML 1.0 2.11), and a byte order mark takes no
    // column.
    let xml = "\u{feff}<a>\r<b/>\r\n<c/>\r\r<d/></a>".as_bytes();
    let fresh = || Document::parse(xml, &Limits::default()).expect("parse");
    let warm = fresh();
    for offset in 0..=xml.len() {
        warm.line_col(offset);
    }
    for offset in 0..=xml.len() {
        assert_eq!(
            fresh().line_col(offset),
            warm.line_col(offset),
            "offset {offset}"
        );
    }
    let doc = fresh();
    let a = doc.document_element().expect("a");
    assert_eq!(doc.line_col(doc.offset(a)), (1, 1));
    let at = |name: &str| {
        let e = doc
            .descendants(a)
            .find(|&e| doc.local_name(e) == name)
            .expect("element");
        doc.line_col(doc.offset(e))
    };
    assert_eq!(at("b"), (2, 1));
    assert_eq!(at("c"), (3, 1));
    assert_eq!(at("d"), (5, 1));
    // A parse error after lone carriage returns is on its line.
    let e = Document::parse(b"<a>\r\r<b></a>", &Limits::default()).expect_err("mismatch");
    assert_eq!(e.line, 3, "{e}");
}
