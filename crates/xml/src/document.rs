//! The arena document: every node is a `u32` index; attributes follow their element, then its
//! children, so index order is document order and a subtree is a contiguous index range.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::hash::FxMap;
use crate::intern::{ExpandedName, Name};

pub(crate) const NONE: u32 = u32::MAX;

/// A node of a [`Document`]: its index in document order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct NodeId(pub(crate) u32);

impl NodeId {
    /// The document node of every document.
    pub const ROOT: NodeId = NodeId(0);

    /// The index of the node in document order (attributes included).
    pub fn index(self) -> u32 {
        self.0
    }

    /// The node at `index`; check it with [`Document::contains`] before use with another document.
    pub fn from_index(index: u32) -> NodeId {
        NodeId(index)
    }
}

/// The kind of a node, as in the XPath data model (namespace nodes are not materialised).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[repr(u8)]
pub enum NodeKind {
    /// The document node (the root of the tree).
    Document,
    /// An element.
    Element,
    /// An attribute (its parent is the owner element).
    Attribute,
    /// Character data (CDATA sections and references merged in).
    Text,
    /// A comment.
    Comment,
    /// A processing instruction (the name is its target).
    ProcessingInstruction,
}

#[derive(Clone, Debug)]
pub(crate) struct NodeData {
    pub(crate) kind: NodeKind,
    pub(crate) parent: u32,
    pub(crate) next: u32,
    pub(crate) prev: u32,
    /// The next sibling that is an element (see [`link_element_siblings`]).
    pub(crate) next_element: u32,
    /// First index after the attributes (elements), else `index + 1`.
    pub(crate) attr_end: u32,
    /// First index after the subtree.
    pub(crate) subtree_end: u32,
    pub(crate) name: ExpandedName,
    pub(crate) prefix: Name,
    /// The value is `source[value_start..][..value_len]` when `in_source` (character data that
    /// needed no normalisation, borrowed from the input), else the same range of `text`.
    pub(crate) in_source: bool,
    pub(crate) value_start: u32,
    pub(crate) value_len: u32,
    pub(crate) offset: u32,
    /// Elements: offset just after the start tag's `>`; others: end of the node's markup.
    pub(crate) tag_end: u32,
    /// Elements: offset of the end tag's `<` (of the start tag for an empty element).
    pub(crate) close: u32,
    /// Elements: head of the in-scope namespace binding chain.
    pub(crate) scope: u32,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct NsBinding {
    pub(crate) prefix: Name,
    pub(crate) uri: Name,
    pub(crate) parent: u32,
}

/// Lookups of a document's line:column answered by counting line ends before the offset;
/// past them, the table of line starts is built (one pass over the whole source).
const DIRECT_LINE_LOOKUPS: u32 = 2;

/// Where a document's lines start, built at its [`DIRECT_LINE_LOOKUPS`]th lookup.
#[derive(Debug, Default)]
pub(crate) struct LineIndex {
    starts: OnceLock<Vec<u32>>,
    lookups: AtomicU32,
}

/// A parsed XML document, immutable, `Send + Sync`.
#[derive(Debug)]
pub struct Document {
    pub(crate) nodes: Vec<NodeData>,
    /// The values that had to be normalised (references, line ends), or all of them once
    /// the source is dropped.
    pub(crate) text: String,
    pub(crate) scopes: Vec<NsBinding>,
    /// The whole input (valid UTF-8, a byte order mark included).
    pub(crate) source: Box<str>,
    pub(crate) line_starts: LineIndex,
    /// The elements by name, in document order, built on first use.
    pub(crate) by_name: OnceLock<FxMap<ExpandedName, Vec<u32>>>,
    /// Elements with an attribute, by (element name, attribute name), built on first use
    /// (see [`Document::children_with_attribute`]).
    pub(crate) child_attributes: Mutex<ChildAttributeIndexes>,
    pub(crate) uri: Option<String>,
    /// A number no other document of this process has (see [`Document::serial`]).
    pub(crate) serial: u64,
}

/// The next [`Document::serial`].
static NEXT_SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A fresh [`Document::serial`].
pub(crate) fn next_serial() -> u64 {
    NEXT_SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// The built indexes of [`Document::children_with_attribute`], by (element name, attribute
/// name).
pub(crate) type ChildAttributeIndexes = FxMap<(ExpandedName, ExpandedName), Arc<[ChildAttribute]>>;

/// An element that carries some attribute, with that attribute and the element's parent (see
/// [`Document::children_with_attribute`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ChildAttribute {
    /// The element's parent.
    pub parent: NodeId,
    /// The element.
    pub child: NodeId,
    /// The attribute.
    pub attribute: NodeId,
}

/// The URI bound to the `xml` prefix in every document.
pub const XML_NAMESPACE: &str = "http://www.w3.org/XML/1998/namespace";

impl Document {
    #[inline]
    fn data(&self, n: NodeId) -> Option<&NodeData> {
        self.nodes.get(n.0 as usize)
    }

    fn link(&self, i: u32) -> Option<NodeId> {
        (i != NONE).then_some(NodeId(i))
    }

    /// Frees the copy of the input kept for positions: for documents that are only queried
    /// (value sets, terminologies), whose nodes are never reported by line. Afterwards
    /// [`Document::source`] is empty and [`Document::line_col`] answers line 1, column 1.
    pub fn without_source(mut self) -> Document {
        // The values borrowed from the source move into the character data first.
        let extra: usize = self
            .nodes
            .iter()
            .filter(|d| d.in_source)
            .map(|d| d.value_len as usize)
            .sum();
        self.text.reserve_exact(extra);
        for d in self.nodes.iter_mut().filter(|d| d.in_source) {
            let start = d.value_start as usize;
            let value = self
                .source
                .get(start..start + d.value_len as usize)
                .unwrap_or("");
            d.value_start = self.text.len() as u32;
            d.value_len = value.len() as u32;
            self.text.push_str(value);
            d.in_source = false;
        }
        self.source = Box::default();
        self.line_starts = LineIndex::default();
        self
    }

    /// Sets the document URI (what `base-uri()` and `document-uri()` return).
    pub fn with_uri(mut self, uri: impl Into<String>) -> Document {
        self.uri = Some(uri.into());
        self
    }

    /// The document URI, if one was set.
    pub fn uri(&self) -> Option<&str> {
        self.uri.as_deref()
    }

    /// The input the document was parsed from.
    pub fn source(&self) -> &[u8] {
        self.source.as_bytes()
    }

    /// The number of nodes (document node and attributes included).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the document has only its document node (never true for a parsed document).
    pub fn is_empty(&self) -> bool {
        self.nodes.len() <= 1
    }

    /// Whether `n` is a node of this document.
    pub fn contains(&self, n: NodeId) -> bool {
        (n.0 as usize) < self.nodes.len()
    }

    /// The document node.
    pub fn root(&self) -> NodeId {
        NodeId::ROOT
    }

    /// The root element.
    pub fn document_element(&self) -> Option<NodeId> {
        self.children(NodeId::ROOT)
            .find(|&c| self.kind(c) == NodeKind::Element)
    }

    /// The node's kind (a foreign id reads as a text node with no value).
    pub fn kind(&self, n: NodeId) -> NodeKind {
        self.data(n).map_or(NodeKind::Text, |d| d.kind)
    }

    /// Whether `n` is of kind `kind` and named `name`: one lookup, for the node tests of
    /// XPath steps (the hottest question of a validation run).
    #[inline]
    pub fn is_named(&self, n: NodeId, kind: NodeKind, name: ExpandedName) -> bool {
        self.data(n)
            .is_some_and(|d| d.kind == kind && d.name == name)
    }

    /// The kind and name of `n` with one lookup (name empty where [`Document::name`] is).
    #[inline]
    pub fn kind_and_name(&self, n: NodeId) -> (NodeKind, ExpandedName) {
        match self.data(n) {
            Some(d) => (d.kind, d.name),
            None => (
                NodeKind::Text,
                ExpandedName {
                    ns: Name::EMPTY,
                    local: Name::EMPTY,
                },
            ),
        }
    }

    /// The parent (for an attribute, its element).
    pub fn parent(&self, n: NodeId) -> Option<NodeId> {
        self.data(n).and_then(|d| self.link(d.parent))
    }

    /// The first child (attributes are not children).
    pub fn first_child(&self, n: NodeId) -> Option<NodeId> {
        let d = self.data(n)?;
        matches!(d.kind, NodeKind::Element | NodeKind::Document)
            .then_some(())
            .filter(|()| d.attr_end < d.subtree_end)
            .map(|()| NodeId(d.attr_end))
    }

    /// A number that identifies this document among all those of the process (given at
    /// parsing or reading from a snapshot): what caches keyed by document use, where an address
    /// could be reused by a later document.
    pub fn serial(&self) -> u64 {
        self.serial
    }

    /// The children that are elements, in document order (what `child::*` selects).
    pub fn element_children(&self, n: NodeId) -> ElementChildren<'_> {
        let next = match self.first_child(n) {
            Some(c) if self.kind(c) == NodeKind::Element => c.0,
            Some(c) => self.nodes[c.0 as usize].next_element,
            None => NONE,
        };
        ElementChildren { doc: self, next }
    }

    /// The next sibling (none for attributes).
    pub fn next_sibling(&self, n: NodeId) -> Option<NodeId> {
        self.data(n).and_then(|d| self.link(d.next))
    }

    /// The previous sibling (none for attributes).
    pub fn prev_sibling(&self, n: NodeId) -> Option<NodeId> {
        self.data(n).and_then(|d| self.link(d.prev))
    }

    /// The children in document order.
    pub fn children(&self, n: NodeId) -> Children<'_> {
        Children {
            doc: self,
            next: self.first_child(n).map_or(NONE, |c| c.0),
        }
    }

    /// The attributes of an element, in document order (empty for other nodes).
    pub fn attributes(&self, n: NodeId) -> Attributes {
        let range = match self.data(n) {
            Some(d) if d.kind == NodeKind::Element => n.0 + 1..d.attr_end,
            _ => 0..0,
        };
        Attributes { range }
    }

    /// The attribute of `element` with this expanded name.
    pub fn attribute(&self, element: NodeId, name: ExpandedName) -> Option<NodeId> {
        self.attributes(element)
            .find(|&a| self.nodes[a.0 as usize].name == name)
    }

    /// The value of the attribute with this namespace and local name (looked up without interning).
    pub fn attribute_value(&self, element: NodeId, ns: &str, local: &str) -> Option<&str> {
        // Compared as strings: an element has a few attributes, and looking the names up in
        // the process-wide interner (a lock and a hash each) cost more than comparing them.
        self.attributes(element)
            .find(|&a| self.local_name(a) == local && self.namespace_uri(a) == ns)
            .map(|a| self.value(a))
    }

    /// The index range of the node's descendants (attributes of descendants included).
    pub fn descendant_range(&self, n: NodeId) -> Range<u32> {
        match self.data(n) {
            Some(d) => d.attr_end.max(n.0 + 1)..d.subtree_end,
            None => 0..0,
        }
    }

    /// The first index after the node's subtree.
    pub fn subtree_end(&self, n: NodeId) -> u32 {
        self.data(n).map_or(n.0, |d| d.subtree_end)
    }

    /// The descendants in document order (no attributes), iteratively.
    pub fn descendants(&self, n: NodeId) -> Descendants<'_> {
        Descendants {
            doc: self,
            range: self.descendant_range(n),
        }
    }

    /// The ancestors, nearest first (for an attribute, its element first).
    pub fn ancestors(&self, n: NodeId) -> Ancestors<'_> {
        Ancestors {
            doc: self,
            next: self.parent(n),
        }
    }

    /// The expanded name of an element, attribute or processing instruction (empty otherwise).
    #[inline]
    pub fn name(&self, n: NodeId) -> ExpandedName {
        self.data(n).map_or(
            ExpandedName {
                ns: Name::EMPTY,
                local: Name::EMPTY,
            },
            |d| d.name,
        )
    }

    /// The prefix as written (empty for none).
    #[inline]
    pub fn prefix(&self, n: NodeId) -> Name {
        self.data(n).map_or(Name::EMPTY, |d| d.prefix)
    }

    /// The namespace URI as a string.
    pub fn namespace_uri(&self, n: NodeId) -> &'static str {
        self.name(n).ns.as_str()
    }

    /// The local name as a string.
    pub fn local_name(&self, n: NodeId) -> &'static str {
        self.name(n).local.as_str()
    }

    /// The name as written, `prefix:local` (what XPath `name()` returns).
    pub fn qualified_name(&self, n: NodeId) -> Cow<'static, str> {
        let prefix = self.prefix(n);
        let local = self.local_name(n);
        if prefix.is_empty() {
            Cow::Borrowed(local)
        } else {
            Cow::Owned(format!("{}:{local}", prefix.as_str()))
        }
    }

    /// The own value of an attribute, text, comment or processing instruction (empty otherwise).
    #[inline]
    pub fn value(&self, n: NodeId) -> &str {
        match self.data(n) {
            Some(d) if !matches!(d.kind, NodeKind::Element | NodeKind::Document) => {
                let start = d.value_start as usize;
                let data = if d.in_source {
                    &*self.source
                } else {
                    &self.text
                };
                data.get(start..start + d.value_len as usize).unwrap_or("")
            }
            _ => "",
        }
    }

    /// The XPath string value: the concatenated descendant text of an element or the document,
    /// the value of other nodes; borrowed when there is at most one text node.
    pub fn string_value(&self, n: NodeId) -> Cow<'_, str> {
        match self.kind(n) {
            NodeKind::Element | NodeKind::Document => {}
            _ => return Cow::Borrowed(self.value(n)),
        }
        let mut texts = self
            .descendant_range(n)
            .filter(|&i| self.nodes[i as usize].kind == NodeKind::Text);
        let Some(first) = texts.next() else {
            return Cow::Borrowed("");
        };
        let first = self.value(NodeId(first));
        match texts.next() {
            None => Cow::Borrowed(first),
            Some(second) => {
                let mut s = String::with_capacity(first.len() * 2);
                s.push_str(first);
                s.push_str(self.value(NodeId(second)));
                for t in texts {
                    s.push_str(self.value(NodeId(t)));
                }
                Cow::Owned(s)
            }
        }
    }

    /// The namespace URI bound to `prefix` ("" for the default namespace) in scope at `element`.
    pub fn lookup_namespace(&self, element: NodeId, prefix: &str) -> Option<&'static str> {
        if prefix == "xml" {
            return Some(XML_NAMESPACE);
        }
        let p = Name::lookup(prefix)?;
        let uri = self
            .in_scope_namespaces(element)
            .find(|&(bp, _)| bp == p)
            .map(|(_, uri)| uri)?;
        // An undeclaration (`xmlns=""`) leaves the default namespace unbound.
        (!uri.is_empty() || prefix.is_empty()).then_some(uri.as_str())
    }

    /// The namespace bindings in scope at `element`, innermost first; a prefix may repeat
    /// (the first occurrence wins) and `xmlns=""` appears as an empty URI.
    pub fn in_scope_namespaces(&self, element: NodeId) -> InScopeNamespaces<'_> {
        let mut n = element;
        if self.kind(n) != NodeKind::Element {
            n = self
                .ancestors(n)
                .find(|&a| self.kind(a) == NodeKind::Element)
                .unwrap_or(NodeId::ROOT);
        }
        InScopeNamespaces {
            doc: self,
            next: self.data(n).map_or(NONE, |d| d.scope),
        }
    }

    /// Byte offset where the node starts (`<` of a start tag, attribute name, first text byte).
    pub fn offset(&self, n: NodeId) -> usize {
        self.data(n).map_or(0, |d| d.offset as usize)
    }

    /// Byte offset just after an element's start tag (after `>`), or after other markup.
    #[inline]
    pub fn tag_end(&self, n: NodeId) -> usize {
        self.data(n).map_or(0, |d| d.tag_end as usize)
    }

    /// Byte offset of an element's end tag `<` (its start tag for an empty element).
    #[inline]
    pub fn close_offset(&self, n: NodeId) -> usize {
        self.data(n).map_or(0, |d| d.close as usize)
    }

    /// The elements named `name`, in document order, as node indexes (the index of every
    /// name is built once per document, on first use, and shared by every reader).
    pub fn elements_named(&self, name: ExpandedName) -> &[u32] {
        self.name_index().get(&name).map_or(&[], Vec::as_slice)
    }

    /// The elements whose local name is `local`, in any namespace (`//*:local`), in document
    /// order, as node indexes: the lists of [`Document::elements_named`] for every namespace
    /// with that local name, merged.
    pub fn elements_with_local_name(&self, local: Name) -> Vec<u32> {
        let mut lists = self
            .name_index()
            .iter()
            .filter(|(name, _)| name.local == local)
            .map(|(_, nodes)| nodes.as_slice());
        let Some(first) = lists.next() else {
            return Vec::new();
        };
        let mut out = first.to_vec();
        let before = out.len();
        lists.for_each(|more| out.extend_from_slice(more));
        if out.len() != before {
            out.sort_unstable();
        }
        out
    }

    /// Every element by name (built once per document, on first use).
    fn name_index(&self) -> &FxMap<ExpandedName, Vec<u32>> {
        self.by_name.get_or_init(|| {
            let mut m: FxMap<ExpandedName, Vec<u32>> = FxMap::default();
            for (i, d) in self.nodes.iter().enumerate() {
                if d.kind == NodeKind::Element {
                    m.entry(self.name(NodeId(i as u32)))
                        .or_default()
                        .push(i as u32);
                }
            }
            m
        })
    }

    /// The elements named `child` that carry the attribute `attr`, each with that attribute
    /// and its parent, sorted by parent and in document order within one parent: what
    /// `child/@attr` and `child[@attr = …]` reach from each element, so that such a step asked
    /// of thousands of elements reads a few entries instead of every child. Built on the first
    /// question about the pair of names and kept, shared by every thread.
    pub fn children_with_attribute(
        &self,
        child: ExpandedName,
        attr: ExpandedName,
    ) -> Arc<[ChildAttribute]> {
        let mut built = self
            .child_attributes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        built
            .entry((child, attr))
            .or_insert_with(|| {
                let mut entries: Vec<ChildAttribute> = self
                    .elements_named(child)
                    .iter()
                    .filter_map(|&c| {
                        let c = NodeId(c);
                        Some(ChildAttribute {
                            parent: self.parent(c)?,
                            child: c,
                            attribute: self.attribute(c, attr)?,
                        })
                    })
                    .collect();
                // Stable: the children of one parent stay in document order.
                entries.sort_by_key(|e| e.parent);
                entries.into()
            })
            .clone()
    }

    /// 1-based line and column (in characters) of a byte offset in the source.
    pub fn line_col(&self, offset: usize) -> (u32, u32) {
        let source = self.source.as_bytes();
        let index = &self.line_starts;
        // The first lookups of a document (the header places segur's own rules read, a few
        // findings) count the line ends before their offset, a pass over that prefix only;
        // later ones build the table of line starts once.
        if index.starts.get().is_none()
            && index.lookups.fetch_add(1, Ordering::Relaxed) < DIRECT_LINE_LOOKUPS
        {
            return crate::line_col_in(source, offset);
        }
        let starts = index.starts.get_or_init(|| {
            let mut v = vec![0u32];
            v.extend(crate::line_starts(source).map(|i| i as u32));
            v
        });
        let offset = offset.min(source.len());
        let line = starts.partition_point(|&s| s as usize <= offset).max(1);
        let start = starts[line - 1] as usize;
        (line as u32, crate::column(source, start, offset))
    }

    /// Replays the elements and text in document order, iteratively (for streaming validators).
    pub fn for_each_event(&self, mut f: impl FnMut(Event<'_>)) {
        let mut open: Vec<NodeId> = Vec::new();
        let mut i = 1u32;
        let end = self.nodes.len() as u32;
        while i < end {
            while let Some(&top) = open.last() {
                if self.nodes[top.0 as usize].subtree_end > i {
                    break;
                }
                open.pop();
                f(Event::End {
                    node: top,
                    offset: self.close_offset(top),
                });
            }
            let n = NodeId(i);
            let d = &self.nodes[i as usize];
            match d.kind {
                NodeKind::Element => {
                    f(Event::Start {
                        node: n,
                        ns_uri: d.name.ns.as_str(),
                        local: d.name.local.as_str(),
                        attributes: self.attributes(n),
                        start_offset: d.offset as usize,
                        tag_end_offset: d.tag_end as usize,
                    });
                    open.push(n);
                    i = d.attr_end;
                    continue;
                }
                NodeKind::Text => f(Event::Text {
                    node: n,
                    text: self.value(n),
                    offset: d.offset as usize,
                }),
                _ => {}
            }
            i += 1;
        }
        while let Some(top) = open.pop() {
            f(Event::End {
                node: top,
                offset: self.close_offset(top),
            });
        }
    }
}

/// What [`Document::for_each_event`] replays.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'d> {
    /// A start tag.
    Start {
        /// The element.
        node: NodeId,
        /// Its namespace URI ("" for none).
        ns_uri: &'static str,
        /// Its local name.
        local: &'static str,
        /// Its attributes (resolve with the document's accessors).
        attributes: Attributes,
        /// Offset of `<`.
        start_offset: usize,
        /// Offset after the start tag's `>`.
        tag_end_offset: usize,
    },
    /// A text node (CDATA merged).
    Text {
        /// The text node.
        node: NodeId,
        /// Its value.
        text: &'d str,
        /// Offset of its first byte.
        offset: usize,
    },
    /// An end tag (also after an empty element).
    End {
        /// The element.
        node: NodeId,
        /// Offset of the end tag's `<`.
        offset: usize,
    },
}

/// Sets each node's `next_element`, the next sibling that is an element, from the `next`
/// links: a walk of an element's element children skips the whitespace and comments between
/// them (about three quarters of a CDA header's children). Siblings follow a node in document
/// order, so a backward pass finds each one's link already set.
pub(crate) fn link_element_siblings(nodes: &mut [NodeData]) {
    for i in (0..nodes.len()).rev() {
        let next = nodes[i].next;
        nodes[i].next_element = match nodes.get(next as usize) {
            None => NONE,
            Some(d) if d.kind == NodeKind::Element => next,
            Some(d) => d.next_element,
        };
    }
}

/// Iterator over the element children of a node (see [`Document::element_children`]).
#[derive(Clone, Debug)]
pub struct ElementChildren<'d> {
    doc: &'d Document,
    next: u32,
}

impl Iterator for ElementChildren<'_> {
    type Item = NodeId;
    fn next(&mut self) -> Option<NodeId> {
        let i = self.next;
        self.next = self.doc.nodes.get(i as usize)?.next_element;
        Some(NodeId(i))
    }
}

/// Iterator over children.
#[derive(Clone, Debug)]
pub struct Children<'d> {
    doc: &'d Document,
    next: u32,
}

impl Iterator for Children<'_> {
    type Item = NodeId;
    fn next(&mut self) -> Option<NodeId> {
        let n = self.doc.link(self.next)?;
        self.next = self.doc.nodes[n.0 as usize].next;
        Some(n)
    }
}

/// Iterator over an element's attributes.
#[derive(Clone, Debug)]
pub struct Attributes {
    range: Range<u32>,
}

impl Iterator for Attributes {
    type Item = NodeId;
    fn next(&mut self) -> Option<NodeId> {
        self.range.next().map(NodeId)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.range.size_hint()
    }
}

/// Iterator over descendants (attributes skipped).
#[derive(Clone, Debug)]
pub struct Descendants<'d> {
    doc: &'d Document,
    range: Range<u32>,
}

impl Iterator for Descendants<'_> {
    type Item = NodeId;
    fn next(&mut self) -> Option<NodeId> {
        for i in self.range.by_ref() {
            if self.doc.nodes[i as usize].kind != NodeKind::Attribute {
                return Some(NodeId(i));
            }
        }
        None
    }
}

/// Iterator over ancestors, nearest first.
#[derive(Clone, Debug)]
pub struct Ancestors<'d> {
    doc: &'d Document,
    next: Option<NodeId>,
}

impl Iterator for Ancestors<'_> {
    type Item = NodeId;
    fn next(&mut self) -> Option<NodeId> {
        let n = self.next?;
        self.next = self.doc.parent(n);
        Some(n)
    }
}

/// Iterator over in-scope namespace bindings `(prefix, uri)`, innermost first.
#[derive(Clone, Debug)]
pub struct InScopeNamespaces<'d> {
    doc: &'d Document,
    next: u32,
}

impl Iterator for InScopeNamespaces<'_> {
    type Item = (Name, Name);
    fn next(&mut self) -> Option<(Name, Name)> {
        let b = self.doc.scopes.get(self.next as usize)?;
        self.next = b.parent;
        Some((b.prefix, b.uri))
    }
}
