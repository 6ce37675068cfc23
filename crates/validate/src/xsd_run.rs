//! Feed a parsed document to the CDA XSD validator: the DOM replays its events, so the input
//! is tokenized once for both the XSD and the schematrons.

use std::cell::Cell;

use segur_xml::hash::FxMap;
use segur_xml::{Document, Event, ExpandedName, Name, NodeId};
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
    /// The names this thread's previous validations resolved (emptied when the schema changes).
    static KEYS: Cell<Option<NameKeys>> = const { Cell::new(None) };
}

/// A name resolved against the schema, with its strings.
#[derive(Clone, Copy)]
struct Resolved {
    ns: Name,
    key: NameKey,
    ns_uri: &'static str,
    local: &'static str,
}

/// Local names above this interned id are kept in the map only (bounds the table).
const MAX_INDEXED_NAME: usize = 1 << 16;

/// Names resolved against one schema ([`Schema::name_key`]), kept across documents: by the
/// interned id of the local name (an index, no hashing) for the first namespace met with it,
/// in a map for the others. Name ids and a schema's keys never change in a process, so an
/// entry stays right as long as the schema is the same.
#[derive(Default)]
struct NameKeys {
    /// [`Schema::id`] of the schema the keys were made with; 0 for none yet.
    schema: u64,
    by_local: Vec<Option<Resolved>>,
    others: FxMap<ExpandedName, Resolved>,
}

impl NameKeys {
    /// The keys kept for `schema`: these, or none when they were made with another.
    fn for_schema(mut self, schema: &Schema) -> NameKeys {
        if self.schema != schema.id() {
            self = NameKeys {
                schema: schema.id(),
                ..NameKeys::default()
            };
        }
        self
    }

    /// The key and strings of `name`.
    #[inline]
    fn get(&mut self, schema: &Schema, name: ExpandedName) -> Resolved {
        if let Some(Some(r)) = self.by_local.get(name.local.id() as usize)
            && r.ns == name.ns
        {
            return *r;
        }
        self.resolve(schema, name)
    }

    #[cold]
    fn resolve(&mut self, schema: &Schema, name: ExpandedName) -> Resolved {
        if let Some(r) = self.others.get(&name) {
            return *r;
        }
        let (ns_uri, local) = (name.ns.as_str(), name.local.as_str());
        let r = Resolved {
            ns: name.ns,
            key: schema.name_key(ns_uri, local),
            ns_uri,
            local,
        };
        let i = name.local.id() as usize;
        if i < MAX_INDEXED_NAME {
            if self.by_local.len() <= i {
                self.by_local.resize(i + 1, None);
            }
            if let Some(slot @ None) = self.by_local.get_mut(i) {
                *slot = Some(r);
                return r;
            }
        }
        self.others.insert(name, r);
        r
    }
}

/// Validate `doc` against the CDA schema; errors in document order.
pub fn validate(schema: &Schema, doc: &Document) -> Vec<XsdError> {
    let memo = MEMO.with(Cell::take).unwrap_or_default();
    let mut v = schema.validator_with(memo);
    let mut keys = KEYS.with(Cell::take).unwrap_or_default().for_schema(schema);
    let mut key = |name: ExpandedName| {
        let r = keys.get(schema, name);
        (r.key, r.ns_uri, r.local)
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
    KEYS.with(|k| k.set(Some(keys)));
    let mut errors = v.finish();
    for e in &mut errors {
        (e.line, e.column) = doc.line_col(e.offset as usize);
    }
    errors
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// The `.xml` files of `dir` (the ANS kit beside the checkout), by name, with their bytes.
    fn xml_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
        let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "xml"))
            .map(|p| (p.display().to_string(), std::fs::read(&p).expect("read")))
            .collect();
        v.sort();
        v
    }

    /// Kept name keys are those of the schema, for names that share a local name across
    /// namespaces too, in any order, and are dropped for another schema.
    #[test]
    fn kept_name_keys_are_the_schemas() {
        let ans = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ans");
        let xsd = ans.join("testcontenucda/infrastructure/cda/CDA_extended.xsd");
        let a = Schema::load(&xsd).expect("schema loads");
        let b = Schema::load(&xsd).expect("schema loads");
        assert_ne!(a.id(), b.id());
        let names = [
            ("urn:hl7-org:v3", "id"),
            ("", "id"),
            ("urn:hl7-org:sdtc", "id"),
            ("http://www.w3.org/2001/XMLSchema-instance", "type"),
            ("", "type"),
            ("urn:hl7-org:v3", "nowhere-in-the-schema"),
            ("", ""),
        ];
        for order in [false, true] {
            let mut keys = NameKeys::default().for_schema(&a);
            for round in 0..2 {
                for i in 0..names.len() {
                    let (ns, local) = names[if order { names.len() - 1 - i } else { i }];
                    let r = keys.get(&a, ExpandedName::new(ns, local));
                    assert_eq!(r.key, a.name_key(ns, local), "{ns} {local} {round}");
                    assert_eq!((r.ns_uri, r.local), (ns, local));
                }
            }
            let kept = keys.by_local.iter().flatten().count() + keys.others.len();
            assert_eq!(kept, names.len());
            let keys = keys.for_schema(&b);
            assert_eq!(keys.schema, b.id());
            assert!(keys.by_local.is_empty() && keys.others.is_empty());
        }
    }

    /// The DOM replay (names by key, values remembered by this thread across documents) gives
    /// the errors of the streaming validator with a fresh validator, on the ANS examples, broken
    /// variants of them and the stored mutants, cold and warm.
    #[test]
    fn replay_matches_a_fresh_streaming_validation() {
        let ans = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ans");
        let schema = Schema::load(&ans.join("testcontenucda/infrastructure/cda/CDA_extended.xsd"))
            .expect("schema loads");
        let mut docs = xml_files(&ans.join("testcontenucda/ExemplesCDA"));
        assert_eq!(docs.len(), 94, "the 94 ANS examples");
        // Each example broken once by one of these edits (values, names, attributes).
        let edits = [
            ("moodCode=\"EVN\"", "moodCode=\"XYZ\""),
            ("root=\"1.2.250", "root=\"1..2.250"),
            (
                "<effectiveTime value=\"",
                "<effectiveTime value=\"2024-13-45T",
            ),
            ("<confidentialityCode ", "<confidentialityKode "),
            ("<code ", "<code bogus=\"1\" "),
            ("xsi:type=\"", "xsi:type=\"NOPE"),
        ];
        let broken: Vec<(String, Vec<u8>)> = docs
            .iter()
            .enumerate()
            .filter_map(|(i, (name, xml))| {
                let (from, to) = edits[i % edits.len()];
                let text = std::str::from_utf8(xml).ok()?;
                let at = text.rfind(from)?;
                let s = format!("{}{to}{}", &text[..at], &text[at + from.len()..]);
                Some((format!("{name}#{i}"), s.into_bytes()))
            })
            .collect();
        docs.extend(broken);
        docs.extend(xml_files(&ans.join("oracle/mutants-seed1")));
        let mut with_errors = 0;
        for round in 0..2 {
            for (name, xml) in &docs {
                let want = segur_xsd::validate_bytes(&schema, xml).expect("parses");
                let doc = Document::parse(xml, &segur_xml::Limits::default()).expect("parses");
                let got = validate(&schema, &doc);
                assert_eq!(got, want, "{name}, round {round}");
                with_errors += usize::from(!want.is_empty());
            }
        }
        // Another schema in between: what this thread kept for the first is not used for it,
        // nor what it kept for the second when the first comes back.
        let other = Schema::load(&ans.join("testcontenucda/infrastructure/cda/CDA_extended.xsd"))
            .expect("schema loads");
        for (i, (name, xml)) in docs.iter().enumerate().step_by(5) {
            let s = if i % 2 == 0 { &other } else { &schema };
            let want = segur_xsd::validate_bytes(s, xml).expect("parses");
            let doc = Document::parse(xml, &segur_xml::Limits::default()).expect("parses");
            assert_eq!(validate(s, &doc), want, "{name}, alternating schemas");
        }
        assert!(
            with_errors >= 2 * 90,
            "the broken documents have errors: {with_errors}"
        );
    }
}
