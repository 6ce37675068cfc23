//! A binary image of a parsed document, to reload a large document without parsing it again
//! (the rules' terminology files: 11.5 MB of RDF/XML take about 0.3 s to parse, their image
//! a few milliseconds to read).
//!
//! The image holds the node arrays as they are, the character data, the namespace bindings and
//! the names as strings (ids are per process, so names are interned again on reading). It ends
//! with a checksum of everything before it. Reading checks the checksum and every index a node
//! holds, so a truncated or damaged image is an error, never a panic nor a malformed tree.

use std::fmt;
use std::io::Read;
use std::sync::OnceLock;

use crate::document::{Document, NONE, NodeData, NodeKind, NsBinding};
use crate::hash::{Checksum, FNV1A_START, FxMap, fnv1a};
use crate::intern::{ExpandedName, Name};

/// Bumped whenever the layout of an image changes: an image of another format is refused.
pub const SNAPSHOT_FORMAT: u32 = 2;

/// A fingerprint of the parser's and document model's source, computed at compile time: a
/// cache of parsed documents keyed with it is never read by a build that parses differently.
pub const PARSER_FINGERPRINT: u64 = {
    let mut h = fnv1a(FNV1A_START, include_bytes!("parse.rs"));
    h = fnv1a(h, include_bytes!("parse/fast.rs"));
    h = fnv1a(h, include_bytes!("parse/chars.rs"));
    h = fnv1a(h, include_bytes!("document.rs"));
    fnv1a(h, include_bytes!("snapshot.rs"))
};

const MAGIC: &[u8; 8] = b"SEGURXML";

/// Why an image could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotError(&'static str);

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a usable document image: {}", self.0)
    }
}

impl std::error::Error for SnapshotError {}

fn kind_code(k: NodeKind) -> u8 {
    match k {
        NodeKind::Document => 0,
        NodeKind::Element => 1,
        NodeKind::Attribute => 2,
        NodeKind::Text => 3,
        NodeKind::Comment => 4,
        NodeKind::ProcessingInstruction => 5,
    }
}

fn kind_of(code: u8) -> Option<NodeKind> {
    Some(match code {
        0 => NodeKind::Document,
        1 => NodeKind::Element,
        2 => NodeKind::Attribute,
        3 => NodeKind::Text,
        4 => NodeKind::Comment,
        5 => NodeKind::ProcessingInstruction,
        _ => return None,
    })
}

/// Names of a document as indexes into a string table.
#[derive(Default)]
struct NameTable {
    index: FxMap<Name, u32>,
    names: Vec<Name>,
}

impl NameTable {
    fn id(&mut self, n: Name) -> u32 {
        let next = self.names.len() as u32;
        *self.index.entry(n).or_insert_with(|| {
            self.names.push(n);
            next
        })
    }
}

fn put(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put(out, b.len() as u32);
    out.extend_from_slice(b);
}

/// Reads an image field by field from a stream, feeding the checksum; no read goes past the
/// image's body, so a damaged length cannot make it allocate more than the image holds.
struct Stream<R> {
    inner: R,
    sum: Checksum,
    left: u64,
}

const TRUNCATED: SnapshotError = SnapshotError("truncated");

impl<R: Read> Stream<R> {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), SnapshotError> {
        if buf.len() as u64 > self.left {
            return Err(TRUNCATED);
        }
        self.inner
            .read_exact(buf)
            .map_err(|_| SnapshotError("cannot be read"))?;
        self.sum.update(buf);
        self.left -= buf.len() as u64;
        Ok(())
    }

    fn u32(&mut self) -> Result<u32, SnapshotError> {
        let mut b = [0; 4];
        self.fill(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn len(&mut self) -> Result<usize, SnapshotError> {
        Ok(self.u32()? as usize)
    }

    fn bytes(&mut self) -> Result<Vec<u8>, SnapshotError> {
        let n = self.len()?;
        if n as u64 > self.left {
            return Err(TRUNCATED);
        }
        let mut v = vec![0; n];
        self.fill(&mut v)?;
        Ok(v)
    }

    fn string(&mut self) -> Result<String, SnapshotError> {
        String::from_utf8(self.bytes()?).map_err(|_| SnapshotError("text is not UTF-8"))
    }
}

/// The bit of a record's kind byte that says its value lies in the source, not the text.
const IN_SOURCE: u8 = 0x80;

/// Bytes per node record: the kind (with [`IN_SOURCE`]), then 14 `u32` fields.
const NODE_RECORD: usize = 1 + 14 * 4;

impl Document {
    /// The document's binary image (see the module documentation); [`Document::from_snapshot`]
    /// reads it back. The document URI is not part of it.
    ///
    /// Layout (little-endian `u32` counts and lengths): magic, format, names, namespace
    /// bindings, character data, source, node records, then the checksum of all before it.
    /// Nodes come last so that reading can check each one against everything it refers to.
    pub fn snapshot(&self) -> Vec<u8> {
        let mut names = NameTable::default();
        let mut nodes = Vec::with_capacity(self.nodes.len() * NODE_RECORD);
        for n in &self.nodes {
            nodes.push(kind_code(n.kind) | if n.in_source { IN_SOURCE } else { 0 });
            for v in [
                n.parent,
                n.next,
                n.prev,
                n.attr_end,
                n.subtree_end,
                names.id(n.name.ns),
                names.id(n.name.local),
                names.id(n.prefix),
                n.value_start,
                n.value_len,
                n.offset,
                n.tag_end,
                n.close,
                n.scope,
            ] {
                put(&mut nodes, v);
            }
        }
        let mut scopes = Vec::with_capacity(self.scopes.len() * 12);
        for s in &self.scopes {
            put(&mut scopes, names.id(s.prefix));
            put(&mut scopes, names.id(s.uri));
            put(&mut scopes, s.parent);
        }
        let mut out = Vec::with_capacity(
            64 + nodes.len() + scopes.len() + self.text.len() + self.source.len(),
        );
        out.extend_from_slice(MAGIC);
        put(&mut out, SNAPSHOT_FORMAT);
        put(&mut out, names.names.len() as u32);
        for n in &names.names {
            put_bytes(&mut out, n.as_str().as_bytes());
        }
        put(&mut out, self.scopes.len() as u32);
        out.extend_from_slice(&scopes);
        put_bytes(&mut out, self.text.as_bytes());
        put_bytes(&mut out, self.source.as_bytes());
        put(&mut out, self.nodes.len() as u32);
        out.extend_from_slice(&nodes);
        let mut sum = Checksum::new();
        sum.update(&out);
        out.extend_from_slice(&sum.finish().to_le_bytes());
        out
    }

    /// Reads an image written by [`Document::snapshot`] (of this [`SNAPSHOT_FORMAT`]).
    pub fn from_snapshot(image: &[u8]) -> Result<Document, SnapshotError> {
        Document::read_snapshot(image, image.len() as u64)
    }

    /// Reads an image of `len` bytes from `reader` as it comes, so that reading a large image
    /// never holds it whole in memory beside the document it builds.
    pub fn read_snapshot(reader: impl Read, len: u64) -> Result<Document, SnapshotError> {
        let body = len.checked_sub(8).ok_or(TRUNCATED)?;
        let mut r = Stream {
            inner: reader,
            sum: Checksum::new(),
            left: body,
        };
        let mut magic = [0; MAGIC.len()];
        r.fill(&mut magic)?;
        if &magic != MAGIC {
            return Err(SnapshotError("not a segur document image"));
        }
        if r.u32()? != SNAPSHOT_FORMAT {
            return Err(SnapshotError("written by another version of segur"));
        }
        let name_count = r.len()?;
        let mut names = Vec::with_capacity(name_count.min(1 << 16));
        for _ in 0..name_count {
            names.push(Name::intern(&r.string()?));
        }
        let name = |i: u32| {
            names
                .get(i as usize)
                .copied()
                .ok_or(SnapshotError("name index out of range"))
        };
        let scope_count = r.len()?;
        if scope_count as u64 * 12 > r.left {
            return Err(TRUNCATED);
        }
        let mut scopes = Vec::with_capacity(scope_count);
        let mut rec = [0u8; 12];
        for i in 0..scope_count {
            r.fill(&mut rec)?;
            let w = |k: usize| u32::from_le_bytes([rec[k], rec[k + 1], rec[k + 2], rec[k + 3]]);
            let parent = w(8);
            if parent != NONE && parent as usize >= i {
                return Err(SnapshotError("namespace scope chain out of order"));
            }
            scopes.push(NsBinding {
                prefix: name(w(0))?,
                uri: name(w(4))?,
                parent,
            });
        }
        let text = r.string()?;
        let source = r.string()?.into_boxed_str();
        let node_count = r.len()?;
        if node_count as u64 * NODE_RECORD as u64 != r.left {
            return Err(SnapshotError("node table does not fill the image"));
        }
        let n = node_count as u32;
        // A link is another node or NONE; an end index may also be one past the last node.
        let link = |v: u32| -> Result<u32, SnapshotError> {
            if v == NONE || v < n {
                Ok(v)
            } else {
                Err(SnapshotError("node link out of range"))
            }
        };
        let end = |v: u32, i: u32| -> Result<u32, SnapshotError> {
            if v > i && v <= n {
                Ok(v)
            } else {
                Err(SnapshotError("node range out of range"))
            }
        };
        let mut nodes = Vec::with_capacity(node_count);
        // Records are read a batch at a time.
        let mut batch = vec![0u8; NODE_RECORD * 4096];
        let mut i = 0u32;
        while i < n {
            let count = (n - i).min(4096) as usize;
            let buf = &mut batch[..count * NODE_RECORD];
            r.fill(buf)?;
            for rec in buf.chunks_exact(NODE_RECORD) {
                let word = |k: usize| {
                    let b = &rec[1 + 4 * k..5 + 4 * k];
                    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
                };
                let kind =
                    kind_of(rec[0] & !IN_SOURCE).ok_or(SnapshotError("unknown node kind"))?;
                let in_source = rec[0] & IN_SOURCE != 0;
                let (value_start, value_len) = (word(8), word(9));
                let value_end = value_start
                    .checked_add(value_len)
                    .ok_or(SnapshotError("value out of range"))?
                    as usize;
                let data: &str = if in_source { &source } else { &text };
                if !(data.is_char_boundary(value_start as usize)
                    && data.is_char_boundary(value_end))
                {
                    return Err(SnapshotError("value out of range"));
                }
                let parent = link(word(0))?;
                let (next, prev) = (link(word(1))?, link(word(2))?);
                // Links only point where the tree does: parents and previous siblings before
                // the node, next siblings after it (so no walk can cycle).
                if (parent != NONE && parent >= i)
                    || (prev != NONE && prev >= i)
                    || (next != NONE && next <= i)
                {
                    return Err(SnapshotError("node links out of document order"));
                }
                let scope = word(13);
                if scope != NONE && scope as usize >= scope_count {
                    return Err(SnapshotError("namespace scope out of range"));
                }
                nodes.push(NodeData {
                    kind,
                    parent,
                    next,
                    prev,
                    next_element: NONE,
                    attr_end: end(word(3), i)?,
                    subtree_end: end(word(4), i)?,
                    name: ExpandedName {
                        ns: name(word(5))?,
                        local: name(word(6))?,
                    },
                    prefix: name(word(7))?,
                    in_source,
                    value_start,
                    value_len,
                    offset: word(10),
                    tag_end: word(11),
                    close: word(12),
                    scope,
                });
                i += 1;
            }
        }
        let mut sum = [0; 8];
        r.inner
            .read_exact(&mut sum)
            .map_err(|_| SnapshotError("cannot be read"))?;
        if r.sum.finish() != u64::from_le_bytes(sum) {
            return Err(SnapshotError("checksum mismatch (damaged or truncated)"));
        }
        crate::document::link_element_siblings(&mut nodes);
        Ok(Document {
            nodes,
            text,
            scopes,
            source,
            line_starts: Default::default(),
            by_name: OnceLock::new(),
            child_attributes: Default::default(),
            uri: None,
            serial: crate::document::next_serial(),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::{Document, Limits};

    const XML: &str = r#"<?xml version="1.0"?>
<r xmlns="urn:a" xmlns:p="urn:p"><!-- c --><p:e a="1" p:b="é&amp;">text <i>x</i> tail</p:e>
<?pi data?><e/></r>"#;

    fn same(a: &Document, b: &Document) {
        assert_eq!(a.len(), b.len());
        let mut ea = Vec::new();
        let mut eb = Vec::new();
        a.for_each_event(|e| ea.push(format!("{e:?}")));
        b.for_each_event(|e| eb.push(format!("{e:?}")));
        assert_eq!(ea, eb);
        for n in a.descendants(a.root()) {
            assert_eq!(a.name(n), b.name(n));
            assert_eq!(a.qualified_name(n), b.qualified_name(n));
            assert_eq!(a.string_value(n), b.string_value(n));
            assert_eq!(a.parent(n), b.parent(n));
            assert_eq!(a.offset(n), b.offset(n));
            assert_eq!(a.lookup_namespace(n, "p"), b.lookup_namespace(n, "p"));
        }
    }

    #[test]
    fn an_image_reads_back_as_the_same_document() {
        let doc = Document::parse(XML.as_bytes(), &Limits::default()).expect("parse");
        let back = Document::from_snapshot(&doc.snapshot()).expect("read back");
        same(&doc, &back);
        assert_eq!(doc.source(), back.source());
        assert_eq!(back.line_col(doc.offset(doc.root())), (1, 1));
        let stripped = doc.without_source();
        let back = Document::from_snapshot(&stripped.snapshot()).expect("read back");
        same(&stripped, &back);
    }

    #[test]
    fn damaged_or_truncated_images_are_refused() {
        let doc = Document::parse(XML.as_bytes(), &Limits::default()).expect("parse");
        let image = doc.snapshot();
        for cut in [0, 1, 8, 12, image.len() / 2, image.len() - 1] {
            assert!(
                Document::from_snapshot(&image[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        for at in [9, 20, image.len() / 3, image.len() - 9] {
            let mut bad = image.clone();
            bad[at] ^= 0x40;
            assert!(Document::from_snapshot(&bad).is_err(), "flip at {at}");
        }
        let mut other_format = image.clone();
        other_format[8] = other_format[8].wrapping_add(1);
        let err = Document::from_snapshot(&other_format).expect_err("other format");
        assert!(err.to_string().contains("another version"), "{err}");
    }
}
