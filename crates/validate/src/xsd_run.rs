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
    // Names resolved against the schema once per document, by their interned ids.
    let mut keys: FxMap<ExpandedName, NameKey> = FxMap::default();
    let mut key = |name: ExpandedName| -> NameKey {
        *keys
            .entry(name)
            .or_insert_with(|| schema.name_key(name.ns.as_str(), name.local.as_str()))
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
                let name = doc.name(a);
                list.push(Attr {
                    ns_uri: name.ns.as_str(),
                    local: name.local.as_str(),
                    prefix: doc.prefix(a).as_str(),
                    value: doc.value(a),
                    key: Some(key(name)),
                });
            }
            let scope = Scope { doc, node };
            let se = StartElement {
                ns_uri,
                local,
                prefix: doc.prefix(node).as_str(),
                attributes: &list,
                namespaces: &scope,
                start: pos(doc, start_offset),
                end: Some(pos(doc, tag_end_offset)),
                key: Some(key(doc.name(node))),
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
