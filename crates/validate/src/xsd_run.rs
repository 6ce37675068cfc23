//! Feed a parsed document to the CDA XSD validator: the DOM replays its events, so the input
//! is tokenized once for both the XSD and the schematrons.

use std::cell::Cell;

use segur_xml::hash::FxMap;
use segur_xml::{Document, Event, ExpandedName, NodeId};
use segur_xsd::{Attr, NameKey, NamespaceLookup, Pos, Schema, StartElement, ValueMemo, XsdError};

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

/// The prefix of an element or attribute as written (most have none).
fn prefix(doc: &Document, n: NodeId) -> &'static str {
    let p = doc.prefix(n);
    if p.is_empty() { "" } else { p.as_str() }
}

/// The offset after the `>` of the end tag that starts at `close` (Xerces reports
/// incomplete content there).
fn after_end_tag(doc: &Document, close: usize) -> usize {
    let src = doc.source();
    src.get(close..)
        .and_then(|s| s.iter().position(|&b| b == b'>'))
        .map_or(src.len(), |i| close + i + 1)
}

thread_local! {
    /// The values found valid by this thread's previous validations (bounded; emptied when the
    /// schema changes).
    static MEMO: Cell<Option<ValueMemo>> = const { Cell::new(None) };
}

/// Validate `doc` against the CDA schema; errors in document order.
pub fn validate(schema: &Schema, doc: &Document) -> Vec<XsdError> {
    let memo = MEMO.with(Cell::take).unwrap_or_default();
    let mut v = schema.validator_with(memo);
    // Names resolved against the schema once per document, by their interned ids, with their
    // strings.
    let mut keys: FxMap<ExpandedName, (NameKey, &'static str, &'static str)> = FxMap::default();
    let mut key = |name: ExpandedName| {
        *keys.entry(name).or_insert_with(|| {
            let (ns, local) = (name.ns.as_str(), name.local.as_str());
            (schema.name_key(ns, local), ns, local)
        })
    };
    let mut list: Vec<Attr<'_>> = Vec::new();
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
            list.clear();
            for a in attributes {
                let (k, ns_uri, local) = key(doc.name(a));
                list.push(Attr {
                    ns_uri,
                    local,
                    prefix: prefix(doc, a),
                    value: doc.value(a),
                    key: Some(k),
                });
            }
            let scope = Scope { doc, node };
            let se = StartElement {
                ns_uri,
                local,
                prefix: prefix(doc, node),
                attributes: &list,
                namespaces: &scope,
                start: pos(doc, start_offset),
                end: Some(pos(doc, tag_end_offset)),
                key: Some(key(doc.name(node)).0),
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
    MEMO.with(|m| m.set(Some(v.take_memo())));
    let mut errors = v.finish();
    for e in &mut errors {
        (e.line, e.column) = doc.line_col(e.offset as usize);
    }
    errors
}
