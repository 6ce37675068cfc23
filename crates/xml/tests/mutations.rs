//! Hostile input, generated: documents cut, spliced and sprinkled with the bytes that steer a
//! parser (markup, references, line ends, byte-order marks, broken UTF-8). Whatever comes in,
//! parsing returns a tree or an error with a position inside the input, never a panic; a tree
//! it returns is well formed (every node inside its parent's range, offsets inside the
//! input, values readable); and the stripping parse agrees with the plain one on acceptance.

use proptest::prelude::*;
use segur_xml::{Document, Limits, NodeId, NodeKind};

/// Small documents that between them reach every kind of construct the parser reads.
const SEEDS: &[&str] = &[
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ClinicalDocument xmlns=\"urn:hl7-org:v3\" \
     xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\r\n  <id root=\"1.2.250.1\" \
     extension=\"a&amp;b\"/>\r\n  <title>Compte rendu &#233;&#x41;</title>\r\n  \
     <value xsi:type=\"PQ\" value=\"1\" unit=\"mg\"/>\r\n</ClinicalDocument>",
    "<a xmlns:p=\"u\" p:x='1' y=\"&lt;&gt;&quot;&apos;\"><p:b><![CDATA[<not markup> ]] ]]>\
     </p:b><!-- note --><?pi data?>text&#10;more</a>",
    "\u{FEFF}<r>\r\n<t>\t \r\n</t><e/><e a=\"\t\n\r\"/>é€𝄞</r>",
    "<!DOCTYPE r><r><x xmlns=\"\"/><y xmlns=\"urn:y\"><z/></y></r>",
];

/// What a mutation may insert.
const TOKENS: &[&[u8]] = &[
    b"<",
    b">",
    b"/>",
    b"</",
    b"&",
    b"&amp;",
    b"&#0;",
    b"&#x110000;",
    b"&undefined;",
    b"\"",
    b"'",
    b"=",
    b"]]>",
    b"<![CDATA[",
    b"<!--",
    b"-->",
    b"<?",
    b"?>",
    b"<!DOCTYPE r [<!ENTITY e \"x\">]>",
    b" xmlns:q=\"urn:q\"",
    b" xmlns:q=\"\"",
    b"q:",
    b"\r",
    b"\r\n",
    b"\t",
    b"\xEF\xBB\xBF",
    b"\x80",
    b"\xC3",
    b"\xF0\x9D",
    b"\x00",
    b"\x01",
    b"<a>",
    b"</a>",
    b" a=\"1\"",
];

#[derive(Debug, Clone)]
enum Edit {
    /// Insert `TOKENS[token]` at a position (a fraction of the length, in 1/1000).
    Insert { at: u16, token: usize },
    /// Remove a run of up to 16 bytes.
    Remove { at: u16, len: u8 },
    /// Repeat a run of up to 64 bytes in place.
    Repeat { at: u16, len: u8 },
    /// Set one byte.
    Set { at: u16, byte: u8 },
    /// Cut the input there.
    Truncate { at: u16 },
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (0u16..=1000, 0..TOKENS.len()).prop_map(|(at, token)| Edit::Insert { at, token }),
        2 => (0u16..=1000, 1u8..=16).prop_map(|(at, len)| Edit::Remove { at, len }),
        1 => (0u16..=1000, 1u8..=64).prop_map(|(at, len)| Edit::Repeat { at, len }),
        2 => (0u16..=1000, any::<u8>()).prop_map(|(at, byte)| Edit::Set { at, byte }),
        1 => (0u16..=1000).prop_map(|at| Edit::Truncate { at }),
    ]
}

fn apply(seed: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for e in edits {
        let pos = |at: u16, len: usize| len * usize::from(at) / 1000;
        match *e {
            Edit::Insert { at, token } => {
                let i = pos(at, b.len());
                b.splice(i..i, TOKENS[token].iter().copied());
            }
            Edit::Remove { at, len } => {
                let i = pos(at, b.len());
                let end = (i + usize::from(len)).min(b.len());
                b.drain(i..end);
            }
            Edit::Repeat { at, len } => {
                let i = pos(at, b.len());
                let end = (i + usize::from(len)).min(b.len());
                let run = b[i..end].to_vec();
                b.splice(end..end, run);
            }
            Edit::Set { at, byte } => {
                if !b.is_empty() {
                    let i = pos(at, b.len() - 1);
                    b[i] = byte;
                }
            }
            Edit::Truncate { at } => {
                let i = pos(at, b.len());
                b.truncate(i);
            }
        }
    }
    b
}

/// Everything a reader of the tree may ask, asked of every node; the tree's invariants.
fn walk(doc: &Document, input: &[u8]) {
    let len = doc.len() as u32;
    let root = doc.root();
    assert_eq!(doc.kind(root), NodeKind::Document);
    for i in 0..len {
        let n = NodeId::from_index(i);
        let kind = doc.kind(n);
        let offset = doc.offset(n);
        assert!(
            offset <= input.len(),
            "node {i} at {offset} of {}",
            input.len()
        );
        let (line, column) = doc.line_col(offset);
        assert!(line >= 1 && column >= 1);
        let _ = doc.string_value(n);
        let _ = doc.qualified_name(n);
        if let Some(p) = doc.parent(n) {
            let range = doc.descendant_range(p);
            assert!(
                range.contains(&i) || kind == NodeKind::Attribute,
                "node {i} outside its parent"
            );
        } else {
            assert_eq!(n, root, "only the document node has no parent");
        }
        if kind == NodeKind::Element {
            assert!(doc.tag_end(n) <= input.len());
            assert!(doc.close_offset(n) <= input.len());
            for a in doc.attributes(n) {
                assert_eq!(doc.parent(a), Some(n));
                let _ = doc.value(a);
            }
            let mut children = 0;
            for c in doc.children(n) {
                assert_eq!(doc.parent(c), Some(n));
                children += 1;
            }
            assert!(children <= len);
            for prefix in ["", "xml", "p", "q"] {
                let _ = doc.lookup_namespace(n, prefix);
            }
        }
    }
    let elements = doc
        .descendants(root)
        .filter(|&d| doc.kind(d) == NodeKind::Element);
    assert!(elements.count() <= len as usize);
    let mut events = 0usize;
    doc.for_each_event(|_| events += 1);
    assert!(events <= 3 * len as usize + 2);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn mutated_documents_parse_or_fail_with_a_position_never_panic(
        seed in 0..SEEDS.len(),
        edits in proptest::collection::vec(edit(), 1..6),
    ) {
        let input = apply(SEEDS[seed].as_bytes(), &edits);
        let limits = Limits::default();
        let plain = Document::parse(&input, &limits);
        match &plain {
            Ok(doc) => walk(doc, &input),
            Err(e) => {
                prop_assert!(e.offset <= input.len(), "{e:?}");
                prop_assert!(e.line >= 1 && e.column >= 1, "{e:?}");
                // Line ends as XML counts them: a line feed, or a carriage return alone.
                let lines = (0..input.len())
                    .filter(|&i| input[i] == b'\n' || (input[i] == b'\r' && input.get(i + 1) != Some(&b'\n')))
                    .count() as u32
                    + 1;
                prop_assert!(e.line <= lines, "{e:?}: line past the input's {lines}");
                prop_assert!(!e.to_string().is_empty());
            }
        }
        let stripped = Document::parse_stripping_space(&input, &limits);
        prop_assert_eq!(plain.is_ok(), stripped.is_ok(), "{:?} / {:?}", plain.as_ref().err(), stripped.as_ref().err());
        if let Ok(doc) = &stripped {
            walk(doc, &input);
        }
    }

    #[test]
    fn arbitrary_bytes_parse_or_fail_with_a_position_never_panic(
        input in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        match Document::parse(&input, &Limits::default()) {
            Ok(doc) => walk(&doc, &input),
            Err(e) => prop_assert!(e.offset <= input.len(), "{e:?}"),
        }
    }
}
