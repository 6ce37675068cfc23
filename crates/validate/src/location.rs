//! Locations of nodes: the XPath notation of the official SVRL reports, and line:column.

use segur_finding::Location;
use segur_xml::{Document, NodeId, NodeKind};

/// The SVRL `@location` of a node as the ANS chain writes it (ISO skeleton, "full-path-notation
/// 2"): `/name` for each ancestor-or-self element with the name as written in the document
/// (prefix included), followed by `[n]` when earlier siblings have the same name (so the first
/// of several gets no index), then `/@name` for a node that is not an element.
pub fn svrl_path(doc: &Document, node: NodeId) -> String {
    let mut chain: Vec<NodeId> = Vec::new();
    if doc.kind(node) == NodeKind::Element {
        chain.push(node);
    }
    chain.extend(
        doc.ancestors(node)
            .filter(|&a| doc.kind(a) == NodeKind::Element),
    );
    let mut out = String::new();
    for &e in chain.iter().rev() {
        let name = doc.qualified_name(e);
        out.push('/');
        out.push_str(&name);
        let mut before = 0usize;
        let mut sib = doc.prev_sibling(e);
        while let Some(s) = sib {
            if doc.kind(s) == NodeKind::Element && doc.qualified_name(s) == name {
                before += 1;
            }
            sib = doc.prev_sibling(s);
        }
        if before > 0 {
            out.push_str(&format!("[{}]", before + 1));
        }
    }
    if doc.kind(node) != NodeKind::Element {
        out.push_str("/@");
        if matches!(
            doc.kind(node),
            NodeKind::Attribute | NodeKind::ProcessingInstruction
        ) {
            out.push_str(&doc.qualified_name(node));
        }
    }
    out
}

/// A finding location for a node: its SVRL path and the line:column of its start.
pub fn locate(doc: &Document, node: NodeId) -> Location {
    let (line, column) = doc.line_col(doc.offset(node));
    Location {
        xpath: Some(svrl_path(doc, node)),
        line: Some(line),
        column: Some(column),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use segur_xml::Limits;

    #[test]
    fn notation_two() {
        let xml = br#"<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:lab="urn:oid:1"><component/><component><section a="1"/><lab:x/></component></ClinicalDocument>"#;
        let doc = Document::parse(xml, &Limits::default()).expect("parse");
        let root = doc.document_element().expect("root");
        let second = doc.children(root).nth(1).expect("second component");
        let section = doc.first_child(second).expect("section");
        let attr = doc.attributes(section).next().expect("@a");
        let lab = doc.next_sibling(section).expect("lab:x");
        assert_eq!(
            svrl_path(&doc, doc.first_child(root).expect("first")),
            "/ClinicalDocument/component"
        );
        assert_eq!(
            svrl_path(&doc, section),
            "/ClinicalDocument/component[2]/section"
        );
        assert_eq!(
            svrl_path(&doc, attr),
            "/ClinicalDocument/component[2]/section/@a"
        );
        assert_eq!(svrl_path(&doc, lab), "/ClinicalDocument/component[2]/lab:x");
        assert_eq!(locate(&doc, section).line, Some(1));
    }
}
