//! An arena XML document model for XPath evaluation and schema validation.
//!
//! [`Document::parse`] reads UTF-8 XML once (its own tokenizer, quick-xml's events for anything
//! unusual or malformed) into flat arrays: every node is a `u32` index ([`NodeId`]) in document
//! order, attributes are real nodes placed right after their element, a subtree is a
//! contiguous index range (so `descendant` and document order need no recursion), and names
//! are interned process-wide ([`Name`]) so name tests compare integers across documents. Every
//! element keeps its in-scope namespace bindings (for `resolve-QName` on `xsi:type` values)
//! and the byte offsets of its start tag; [`Document::line_col`] turns an offset into a
//! 1-based line and a column in characters.
//!
//! Input is hostile until parsed: DOCTYPE declarations are refused (no entity expansion, so no
//! XXE nor billion laughs), only UTF-8 is read, only the five predefined entities and character
//! references are resolved, and [`Limits`] bounds depth, size, attributes and text.
//!
//! ```
//! use segur_xml::{Document, Limits, NodeKind};
//!
//! let xml = br#"<doc xmlns="urn:hl7-org:v3"><code code="A" xsi:type="CD"
//!     xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>text</doc>"#;
//! let doc = Document::parse(xml, &Limits::default())?;
//! let root = doc.document_element().expect("a root element");
//! assert_eq!(doc.namespace_uri(root), "urn:hl7-org:v3");
//! let code = doc.first_child(root).expect("a child");
//! let attrs: Vec<_> = doc.attributes(code).map(|a| doc.qualified_name(a)).collect();
//! assert_eq!(attrs, ["code", "xsi:type"]);
//! assert_eq!(doc.lookup_namespace(code, ""), Some("urn:hl7-org:v3"));
//! assert_eq!(doc.string_value(root), "text");
//! assert_eq!(doc.line_col(doc.offset(code)), (1, 29));
//! assert_eq!(doc.kind(doc.next_sibling(code).expect("text")), NodeKind::Text);
//! # Ok::<(), segur_xml::ParseError>(())
//! ```
#![warn(missing_docs)]

mod document;
mod error;
pub mod hash;
mod intern;
mod parse;
mod snapshot;
pub mod space;
pub mod xsregex;

pub use document::{
    Ancestors, Attributes, ChildAttribute, Children, Descendants, Document, ElementChildren, Event,
    InScopeNamespaces, NodeId, NodeKind, XML_NAMESPACE,
};
pub use error::{ParseError, ParseErrorKind};
pub use intern::{ExpandedName, Name};
pub use snapshot::{PARSER_FINGERPRINT, SNAPSHOT_FORMAT, SnapshotError};

/// Bounds on what a document may contain; exceeding one is a [`ParseError`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Limits {
    /// Deepest element nesting (the root element is at depth 1).
    pub max_depth: usize,
    /// Largest input in bytes (at most 4 GiB, offsets are `u32`).
    pub max_bytes: usize,
    /// Most attributes (namespace declarations included) on one element.
    pub max_attributes_per_element: usize,
    /// Longest text node or attribute value, in bytes.
    pub max_text_len: usize,
    /// Most nodes (attributes included).
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_depth: 256,
            max_bytes: 512 << 20,
            max_attributes_per_element: 1024,
            max_text_len: 256 << 20,
            max_nodes: 64 << 20,
        }
    }
}

impl Limits {
    /// Sets [`Limits::max_depth`].
    pub fn with_max_depth(mut self, max_depth: usize) -> Limits {
        self.max_depth = max_depth;
        self
    }

    /// Sets [`Limits::max_bytes`].
    pub fn with_max_bytes(mut self, max_bytes: usize) -> Limits {
        self.max_bytes = max_bytes;
        self
    }

    /// Sets [`Limits::max_attributes_per_element`].
    pub fn with_max_attributes_per_element(mut self, max: usize) -> Limits {
        self.max_attributes_per_element = max;
        self
    }

    /// Sets [`Limits::max_text_len`].
    pub fn with_max_text_len(mut self, max_text_len: usize) -> Limits {
        self.max_text_len = max_text_len;
        self
    }

    /// Sets [`Limits::max_nodes`].
    pub fn with_max_nodes(mut self, max_nodes: usize) -> Limits {
        self.max_nodes = max_nodes;
        self
    }
}

impl Document {
    /// Parses UTF-8 XML (a UTF-8 byte order mark is skipped; offsets count it).
    pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Document, ParseError> {
        parse::parse(bytes, limits, false)
    }

    /// Parses like [`Document::parse`] but drops the text nodes that hold only whitespace, as
    /// XSLT's `xsl:strip-space elements="*"` does: for data files where such whitespace means
    /// nothing (RDF/XML terminologies), it halves their node count. Text nodes with any other
    /// character keep their whitespace.
    pub fn parse_stripping_space(bytes: &[u8], limits: &Limits) -> Result<Document, ParseError> {
        parse::parse(bytes, limits, true)
    }
}

/// Whether `bytes` start as XML does, in an encoding segur reads: `<` after whitespace (and a
/// UTF-8 byte order mark), or UTF-16 (a byte order mark, or `<` in two-byte units). A cheap
/// test to tell XML from other content (a PDF, text) carried in a package.
pub fn looks_like_xml(bytes: &[u8]) -> bool {
    match bytes {
        [0xFE, 0xFF, ..] | [0xFF, 0xFE, ..] | [0, b'<', ..] | [b'<', 0, ..] => true,
        _ => bytes
            .strip_prefix(b"\xEF\xBB\xBF".as_slice())
            .unwrap_or(bytes)
            .trim_ascii_start()
            .starts_with(b"<"),
    }
}

/// Line and column (1-based, column in characters) of `offset` in `input`, by scanning. A
/// line ends at a line feed, or at a carriage return not followed by one (XML 1.0 2.11); a
/// byte order mark takes no column.
pub(crate) fn line_col_in(input: &[u8], offset: usize) -> (u32, u32) {
    let before = &input[..offset.min(input.len())];
    let (line, line_start) = if memchr::memchr(b'\r', before).is_none() {
        let start = memchr::memrchr(b'\n', before).map_or(0, |p| p + 1);
        (before.iter().filter(|&&b| b == b'\n').count() + 1, start)
    } else {
        line_starts(input)
            .take_while(|&s| s <= before.len())
            .fold((1, 0), |(n, _), s| (n + 1, s))
    };
    (line as u32, column(input, line_start, before.len()))
}

/// Where each line after the first starts in `input`: after a line feed, or after a carriage
/// return not followed by one.
pub(crate) fn line_starts(input: &[u8]) -> impl Iterator<Item = usize> + '_ {
    memchr::memchr2_iter(b'\n', b'\r', input).filter_map(move |i| {
        (input[i] == b'\n' || input.get(i + 1) != Some(&b'\n')).then_some(i + 1)
    })
}

/// The 1-based column of `offset` on the line starting at `line_start`: its characters
/// counted, a byte order mark at the start of the input not among them.
pub(crate) fn column(input: &[u8], line_start: usize, offset: usize) -> u32 {
    let line = &input[line_start..offset];
    let bom = usize::from(line_start == 0 && line.starts_with(b"\xEF\xBB\xBF"));
    (line.iter().filter(|&&b| b & 0xC0 != 0x80).count() - bom + 1) as u32
}

#[cfg(test)]
mod tests {
    #[test]
    fn xml_is_told_from_other_content_in_every_encoding_read() {
        for xml in [
            &b"<a/>"[..],
            b"\xEF\xBB\xBF\n <?xml version='1.0'?><a/>",
            b"\xFF\xFE<\0a\0/\0>\0",
            b"\0<\0a\0/\0>",
            b"<\0a\0/\0>\0",
        ] {
            assert!(super::looks_like_xml(xml), "{xml:?}");
        }
        for other in [&b"%PDF-1.4"[..], b"", b"  text", b"\xEF\xBB\xBFtext"] {
            assert!(!super::looks_like_xml(other), "{other:?}");
        }
    }

    #[test]
    fn stripping_space_drops_whitespace_only_text_nodes_alone() {
        use super::{Document, Limits, NodeKind};
        let xml =
            b"<r>\n  <a>x</a>\n  <b> </b><c>  &amp; y </c><d>\n<![CDATA[ ]]>\n</d> <e/>\n</r>";
        let texts = |d: &Document| -> Vec<String> {
            d.descendants(d.root())
                .filter(|&n| d.kind(n) == NodeKind::Text)
                .map(|n| d.value(n).to_owned())
                .collect()
        };
        let kept = Document::parse(xml, &Limits::default()).expect("parses");
        let stripped = Document::parse_stripping_space(xml, &Limits::default()).expect("parses");
        assert_eq!(
            texts(&kept),
            ["\n  ", "x", "\n  ", " ", "  & y ", "\n \n", " ", "\n"]
        );
        assert_eq!(texts(&stripped), ["x", "  & y "]);
        let r = stripped.document_element().expect("root");
        let names: Vec<_> = stripped
            .children(r)
            .map(|n| stripped.local_name(n).to_owned())
            .collect();
        assert_eq!(names, ["a", "b", "c", "d", "e"]);
        assert_eq!(stripped.string_value(r), "x  & y ");
    }

    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn document_is_send_and_sync() {
        assert_send_sync::<Document>();
    }

    /// `element_children` skips text, comments and processing instructions, in a parsed
    /// document and in one read back from its snapshot (which recomputes the links).
    #[test]
    fn element_children_skip_other_children() {
        let xml = b"<r> <a/><!--c--> text <b><x/></b><?p?><c/> </r>";
        let doc = Document::parse(xml, &Limits::default()).expect("parses");
        let back = Document::from_snapshot(&doc.snapshot()).expect("snapshot");
        for d in [&doc, &back] {
            let r = d.document_element().expect("r");
            let names: Vec<_> = d
                .element_children(r)
                .map(|n| d.local_name(n).to_owned())
                .collect();
            assert_eq!(names, ["a", "b", "c"]);
            let all: Vec<_> = d
                .children(r)
                .filter(|&n| d.kind(n) == NodeKind::Element)
                .collect();
            assert_eq!(d.element_children(r).collect::<Vec<_>>(), all);
            let b = all[1];
            assert_eq!(d.element_children(b).count(), 1);
            assert_eq!(d.element_children(all[0]).count(), 0);
            assert_eq!(d.element_children(d.root()).collect::<Vec<_>>(), [r]);
        }
        let text_first = Document::parse(b"<r>t<a/>u</r>", &Limits::default()).expect("parses");
        let r = text_first.document_element().expect("r");
        assert_eq!(text_first.element_children(r).count(), 1);
    }

    /// The index behind `child/@attr` steps: by parent, in document order within a parent
    /// (an element nested in an earlier sibling's subtree comes first in the document but
    /// after in the index), and without the elements that lack the attribute.
    #[test]
    fn children_with_attribute_are_grouped_by_parent() {
        let xml = br#"<r xmlns:p="urn:p"><s><t a="1"/><x><t a="2"/><t/></x><t a="3"/><p:t a="4"/></s></r>"#;
        let doc = Document::parse(xml, &Limits::default()).expect("parses");
        let name = |local: &str| ExpandedName {
            ns: Name::intern(""),
            local: Name::intern(local),
        };
        let read = |d: &Document| -> Vec<(String, String)> {
            d.children_with_attribute(name("t"), name("a"))
                .iter()
                .map(|e| {
                    (
                        d.local_name(e.parent).to_owned(),
                        d.value(e.attribute).to_owned(),
                    )
                })
                .collect()
        };
        let want = [("s", "1"), ("s", "3"), ("x", "2")].map(|(p, v)| (p.into(), v.into()));
        assert_eq!(read(&doc), want);
        // Asked again: the same entries, from the kept index.
        assert_eq!(read(&doc), want);
        assert!(doc.children_with_attribute(name("t"), name("b")).is_empty());
        assert!(
            doc.children_with_attribute(name("nope"), name("a"))
                .is_empty()
        );
    }
}
