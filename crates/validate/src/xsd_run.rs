//! Feed a parsed document to the CDA XSD validator: the DOM replays its events, so the input
//! is tokenized once for both the XSD and the schematrons.

use segur_xml::{Document, Event, NodeId};
use segur_xsd::{Attr, NamespaceLookup, Pos, Schema, StartElement, XsdError};

struct Scope<'a> {
    doc: &'a Document,
    node: NodeId,
}

impl NamespaceLookup for Scope<'_> {
    fn lookup(&self, prefix: &str) -> Option<&str> {
        self.doc.lookup_namespace(self.node, prefix)
    }
}

/// A position by offset only: lines and columns are computed for the errors alone, at the end
/// (most events raise none, and a line lookup per event cost more than the validation).
fn pos(_doc: &Document, offset: usize) -> Pos {
    Pos {
        line: 0,
        column: 0,
        offset: offset as u64,
    }
}

/// The offset after the `>` of the end tag that starts at `close` (Xerces reports
/// incomplete content there).
fn after_end_tag(doc: &Document, close: usize) -> usize {
    let src = doc.source();
    src.get(close..)
        .and_then(|s| s.iter().position(|&b| b == b'>'))
        .map_or(src.len(), |i| close + i + 1)
}

/// Validate `doc` against the CDA schema; errors in document order.
pub fn validate(schema: &Schema, doc: &Document) -> Vec<XsdError> {
    let mut v = schema.validator();
    let mut attrs: Vec<(&str, &str, &str, &str)> = Vec::new();
    let mut empty_stack: Vec<bool> = Vec::new();
    doc.for_each_event(|e| match e {
        Event::Start {
            node,
            ns_uri,
            local,
            attributes,
            start_offset,
            tag_end_offset,
        } => {
            attrs.clear();
            for a in attributes {
                attrs.push((
                    doc.namespace_uri(a),
                    doc.local_name(a),
                    doc.prefix(a).as_str(),
                    doc.value(a),
                ));
            }
            let list: Vec<Attr<'_>> = attrs
                .iter()
                .map(|&(ns_uri, local, prefix, value)| Attr {
                    ns_uri,
                    local,
                    prefix,
                    value,
                })
                .collect();
            let scope = Scope { doc, node };
            let se = StartElement {
                ns_uri,
                local,
                prefix: doc.prefix(node).as_str(),
                attributes: &list,
                namespaces: &scope,
                start: pos(doc, start_offset),
                end: Some(pos(doc, tag_end_offset)),
            };
            let _ = v.start_element(&se);
            empty_stack.push(doc.close_offset(node) == start_offset);
        }
        Event::Text { text, offset, .. } => v.text(text, pos(doc, offset)),
        Event::End { node, offset } => {
            let empty = empty_stack.pop().unwrap_or(false);
            let at = if empty {
                doc.tag_end(node)
            } else {
                after_end_tag(doc, offset)
            };
            let _ = v.end_element(pos(doc, at));
        }
        _ => {}
    });
    let mut errors = v.finish();
    for e in &mut errors {
        (e.line, e.column) = doc.line_col(e.offset as usize);
    }
    errors
}
