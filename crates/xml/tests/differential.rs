//! The arena against an independent reading of the same bytes: quick-xml's events, namespaces
//! resolved and values normalised here, for every ANS example and for inputs built to cross
//! every path of the parser (values borrowed from the input, shared, copied, joined).

use std::path::PathBuf;

use quick_xml::Reader;
use quick_xml::events::Event as QEvent;
use segur_xml::{Document, Limits, NodeId, NodeKind};

/// What the test expects of one node, in document order.
#[derive(Debug, PartialEq, Eq)]
struct Node {
    kind: NodeKind,
    parent: Option<u32>,
    ns: String,
    local: String,
    prefix: String,
    value: String,
    offset: usize,
    tag_end: Option<usize>,
    close: Option<usize>,
}

/// Line ends as XML 1.0 §2.11 normalises them.
fn line_ends(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

/// The replacement of one reference (`amp`, `#38`, `#x26`).
fn reference(name: &str) -> char {
    let escaped = format!("&{name};");
    let un = quick_xml::escape::unescape(&escaped).expect("a known reference");
    un.chars().next().expect("one character")
}

/// An attribute value normalised (XML 1.0 §3.3.3): whitespace characters written as such
/// become spaces, references are replaced after.
fn attribute_value(raw: &str) -> String {
    let mut out = String::new();
    let mut rest = raw;
    while let Some(c) = rest.chars().next() {
        if c == '&' {
            let end = rest.find(';').expect("a terminated reference");
            out.push(reference(&rest[1..end]));
            rest = &rest[end + 1..];
            continue;
        }
        if rest.starts_with("\r\n") {
            out.push(' ');
            rest = &rest[2..];
            continue;
        }
        out.push(if matches!(c, '\r' | '\n' | '\t') {
            ' '
        } else {
            c
        });
        rest = &rest[c.len_utf8()..];
    }
    out
}

fn split(qname: &str) -> (&str, &str) {
    qname.split_once(':').unwrap_or(("", qname))
}

/// The nodes of `bytes` as read from quick-xml's events.
fn expected(bytes: &[u8]) -> Vec<Node> {
    let base = if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        3
    } else {
        0
    };
    let body = std::str::from_utf8(&bytes[base..]).expect("UTF-8");
    let mut reader = Reader::from_str(body);
    reader.config_mut().check_end_names = false;
    let mut nodes: Vec<Node> = vec![Node {
        kind: NodeKind::Document,
        parent: None,
        ns: String::new(),
        local: String::new(),
        prefix: String::new(),
        value: String::new(),
        offset: 0,
        tag_end: None,
        close: None,
    }];
    // Open elements: node index and the bindings they declare.
    let mut open: Vec<(u32, Vec<(String, String)>)> = vec![(0, Vec::new())];
    let mut text: Option<usize> = None;
    let lookup = |open: &[(u32, Vec<(String, String)>)], prefix: &str| -> Option<String> {
        if prefix == "xml" {
            return Some(segur_xml::XML_NAMESPACE.to_owned());
        }
        open.iter()
            .rev()
            .flat_map(|(_, b)| b.iter().rev())
            .find(|(p, _)| p == prefix)
            .map(|(_, u)| u.clone())
    };
    loop {
        let pos = base + reader.buffer_position() as usize;
        let event = reader.read_event().expect("well-formed");
        let end = base + reader.buffer_position() as usize;
        let parent = open.last().map(|(n, _)| *n);
        let chunk = match &event {
            QEvent::Text(t) => Some(line_ends(t)),
            QEvent::CData(t) => Some(line_ends(t)),
            QEvent::GeneralRef(r) => Some(reference(r).to_string()),
            _ => None,
        };
        if let Some(chunk) = chunk {
            if open.len() > 1 {
                match text {
                    Some(i) => nodes[i].value.push_str(&chunk),
                    None => {
                        text = Some(nodes.len());
                        nodes.push(Node {
                            kind: NodeKind::Text,
                            parent,
                            ns: String::new(),
                            local: String::new(),
                            prefix: String::new(),
                            value: chunk,
                            offset: pos,
                            tag_end: None,
                            close: None,
                        });
                    }
                }
            }
            continue;
        }
        text = None;
        match event {
            QEvent::Start(e) | QEvent::Empty(e) => {
                let empty = reader.buffer_position() as usize >= 2
                    && body.as_bytes()[reader.buffer_position() as usize - 2] == b'/';
                let mut bindings = Vec::new();
                let mut attrs = Vec::new();
                for a in e.attributes() {
                    let a = a.expect("attribute");
                    let key = a.key.0.to_owned();
                    let at = base + (a.key.0.as_ptr() as usize - body.as_ptr() as usize);
                    let value = attribute_value(&a.value);
                    if key == "xmlns" {
                        bindings.push((String::new(), value));
                    } else if let Some(p) = key.strip_prefix("xmlns:") {
                        bindings.push((p.to_owned(), value));
                    } else {
                        attrs.push((key, value, at));
                    }
                }
                let index = nodes.len() as u32;
                let name = e.name().0.to_owned();
                open.push((index, bindings));
                let (prefix, local) = split(&name);
                nodes.push(Node {
                    kind: NodeKind::Element,
                    parent,
                    ns: lookup(&open, prefix).unwrap_or_default(),
                    local: local.to_owned(),
                    prefix: prefix.to_owned(),
                    value: String::new(),
                    offset: pos,
                    tag_end: Some(end),
                    close: empty.then_some(pos),
                });
                for (key, value, at) in attrs {
                    let (prefix, local) = split(&key);
                    nodes.push(Node {
                        kind: NodeKind::Attribute,
                        parent: Some(index),
                        ns: if prefix.is_empty() {
                            String::new()
                        } else {
                            lookup(&open, prefix).expect("declared prefix")
                        },
                        local: local.to_owned(),
                        prefix: prefix.to_owned(),
                        value,
                        offset: at,
                        tag_end: None,
                        close: None,
                    });
                }
                if empty {
                    open.pop();
                }
            }
            QEvent::End(_) => {
                let (n, _) = open.pop().expect("open element");
                nodes[n as usize].close = Some(pos);
            }
            QEvent::Comment(c) => nodes.push(Node {
                kind: NodeKind::Comment,
                parent,
                ns: String::new(),
                local: String::new(),
                prefix: String::new(),
                value: line_ends(&c),
                offset: pos,
                tag_end: None,
                close: None,
            }),
            QEvent::PI(p) => nodes.push(Node {
                kind: NodeKind::ProcessingInstruction,
                parent,
                ns: String::new(),
                local: p.target().to_owned(),
                prefix: String::new(),
                value: line_ends(p.content().trim_start()),
                offset: pos,
                tag_end: None,
                close: None,
            }),
            QEvent::Eof => break,
            _ => {}
        }
    }
    nodes
}

/// The nodes of a parsed document, read through its public accessors.
fn actual(doc: &Document) -> Vec<Node> {
    (0..doc.len() as u32)
        .map(NodeId::from_index)
        .map(|n| {
            let kind = doc.kind(n);
            let element = kind == NodeKind::Element;
            Node {
                kind,
                parent: doc.parent(n).map(NodeId::index),
                ns: doc.namespace_uri(n).to_owned(),
                local: doc.local_name(n).to_owned(),
                prefix: doc.prefix(n).as_str().to_owned(),
                value: doc.value(n).to_owned(),
                offset: doc.offset(n),
                tag_end: element.then(|| doc.tag_end(n)),
                close: element.then(|| doc.close_offset(n)),
            }
        })
        .collect()
}

fn check(name: &str, bytes: &[u8]) {
    let doc = Document::parse(bytes, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let want = expected(bytes);
    let got = actual(&doc);
    assert_eq!(got.len(), want.len(), "{name}: node count");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "{name}: node {i}");
    }
    assert_eq!(doc.source(), bytes, "{name}: source");
    // Values borrowed from the source survive it being dropped, and an image.
    let image = Document::from_snapshot(&doc.snapshot()).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(actual(&image), want, "{name}: image");
    let stripped = doc.without_source();
    let values: Vec<_> = want.iter().map(|n| n.value.as_str()).collect();
    let kept: Vec<_> = (0..stripped.len() as u32)
        .map(|i| stripped.value(NodeId::from_index(i)))
        .collect();
    assert_eq!(kept, values, "{name}: values without the source");
    let image =
        Document::from_snapshot(&stripped.snapshot()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let kept: Vec<_> = (0..image.len() as u32)
        .map(|i| image.value(NodeId::from_index(i)))
        .collect();
    assert_eq!(
        kept, values,
        "{name}: values of the image without the source"
    );
}

#[test]
fn every_ans_example_reads_as_quick_xml_events_say() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/ans/testcontenucda/ExemplesCDA");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "xml"));
    files.sort();
    assert_eq!(files.len(), 94, "the ANS corpus has 94 examples");
    for path in &files {
        let bytes = std::fs::read(path).expect("readable example");
        check(&path.display().to_string(), &bytes);
    }
}

#[test]
fn every_value_path_reads_as_quick_xml_events_say() {
    let cases: &[&str] = &[
        // Borrowed text, attribute values, comments and instructions.
        "<r a='x' b=\"y\"><!-- c --><?pi  data?>text<e/>tail</r>",
        // CRLF indentation (shared values), lone CR, CR inside text and attributes.
        "<r>\r\n  <a>x\r\ny</a>\r\n  <b c='1\r\n2\t3\n4'/>\r\n\r\n  <d>\r</d>\r\n  <e>\r\n</e>\r\n</r>",
        // Whitespace with a CR that does not start with it (normalised into a value of its
        // own), next to the same whitespace starting with CR (shared).
        "<r> \r\n <a/>\t\r\n<a/>\r\n <a/> \r\n <a/>\n\r<a/></r>",
        // The same indentation repeated, then joined by a reference or CDATA.
        "<r>\r\n <a/>\r\n <a/>\r\n &amp;<a/>\r\n <![CDATA[x]]>\r\n</r>",
        // Text joined from several chunks: text, references, CDATA, in every order.
        "<r>a&amp;b<![CDATA[<c>]]>d&#x41;&#66;<![CDATA[]]>e</r>",
        "<r>&lt;x&gt;<a/>&quot;&apos;</r>",
        "<r><![CDATA[only]]><![CDATA[ two\r\n]]></r>",
        // Whitespace alone, between markup and at the end.
        "<r> <a> </a>\t<b>\n</b></r>",
        // Namespaces: default, prefixed, undeclared default, the xml prefix.
        "<r xmlns='urn:a' xmlns:p='urn:p'><p:e p:x='1' xml:lang='fr'><f xmlns=''/></p:e></r>",
        // A byte order mark and non-ASCII text.
        "\u{FEFF}<r a='é'>çà€😀</r>",
        // Comments and instructions with line ends, inside and outside the root.
        "<!--a\r\nb--><?t x\r\ny?><r><!--\r--><?u\r\nv?></r><!--z-->",
        // Attribute values with references and whitespace references.
        "<r a='&amp;&#10;&#x9;x' b='&lt;' c=''/>",
    ];
    for (i, case) in cases.iter().enumerate() {
        check(&format!("case {i}: {case:?}"), case.as_bytes());
    }
}

#[test]
fn a_long_text_is_borrowed_whole_and_cut_where_it_needs_normalising() {
    let long = "QUJD".repeat(100_000);
    for text in [
        long.clone(),
        format!("{long}\r\n{long}"),
        format!("{long}&amp;{long}"),
    ] {
        let xml = format!("<r><b>{text}</b>\r\n</r>");
        check("long text", xml.as_bytes());
    }
}
