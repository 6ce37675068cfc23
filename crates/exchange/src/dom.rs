//! Navigation helpers over `segur_xml` documents.

use segur_xml::{Document, NodeId, NodeKind};

/// The element children of `n` named `{ns}local`.
pub(crate) fn kids<'d>(
    doc: &'d Document,
    n: NodeId,
    ns: &'d str,
    local: &'d str,
) -> impl Iterator<Item = NodeId> + 'd {
    doc.children(n).filter(move |&c| {
        doc.kind(c) == NodeKind::Element && doc.local_name(c) == local && doc.namespace_uri(c) == ns
    })
}

/// The first element child of `n` named `{ns}local`.
pub(crate) fn kid(doc: &Document, n: NodeId, ns: &str, local: &str) -> Option<NodeId> {
    kids(doc, n, ns, local).next()
}

/// Follow a path of child names in one namespace.
pub(crate) fn path(doc: &Document, n: NodeId, ns: &str, steps: &[&str]) -> Option<NodeId> {
    steps.iter().try_fold(n, |at, step| kid(doc, at, ns, step))
}

/// An attribute without namespace.
pub(crate) fn attr<'d>(doc: &'d Document, n: NodeId, local: &str) -> Option<&'d str> {
    doc.attribute_value(n, "", local)
}

/// The element descendants of `n` named `{ns}local`, in document order.
pub(crate) fn descendants<'d>(
    doc: &'d Document,
    n: NodeId,
    ns: &'d str,
    local: &'d str,
) -> impl Iterator<Item = NodeId> + 'd {
    doc.descendants(n).filter(move |&c| {
        doc.kind(c) == NodeKind::Element && doc.local_name(c) == local && doc.namespace_uri(c) == ns
    })
}

/// The trimmed string value.
pub(crate) fn text(doc: &Document, n: NodeId) -> String {
    doc.string_value(n).trim().to_string()
}
