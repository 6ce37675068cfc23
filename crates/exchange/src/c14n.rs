//! Exclusive XML Canonicalization 1.0 without comments (W3C `xml-exc-c14n#`), of an element
//! subtree of a `segur_xml` document: what XML-DSig digests and signs.
//!
//! Namespace declarations are rendered where a prefix is visibly used (by the element's or
//! its attributes' names) and not already rendered with that URI by an output ancestor;
//! declarations sorted by prefix, then attributes by namespace URI and local name; the
//! character escapes of the specification; empty elements as start and end tags. No
//! InclusiveNamespaces prefix list (none is needed for what segur signs).

use segur_xml::{Document, NodeId, NodeKind};

fn escape_text(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            _ => out.push(c),
        }
    }
}

fn escape_attr(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            _ => out.push(c),
        }
    }
}

/// The canonical form of the subtree at `apex`, leaving out the subtree at `skip` (the
/// enveloped-signature transform).
pub fn canonicalize(doc: &Document, apex: NodeId, skip: Option<NodeId>) -> String {
    let mut out = String::new();
    // Rendered (prefix, uri) bindings of the output ancestors, innermost last.
    let mut rendered: Vec<Vec<(String, String)>> = Vec::new();
    element(doc, apex, skip, &mut rendered, &mut out);
    out
}

fn in_scope<'a>(rendered: &'a [Vec<(String, String)>], prefix: &str) -> Option<&'a str> {
    rendered
        .iter()
        .rev()
        .flat_map(|level| level.iter())
        .find(|(p, _)| p == prefix)
        .map(|(_, u)| u.as_str())
}

fn element(
    doc: &Document,
    e: NodeId,
    skip: Option<NodeId>,
    rendered: &mut Vec<Vec<(String, String)>>,
    out: &mut String,
) {
    let qname = doc.qualified_name(e);
    let prefix = doc.prefix(e).as_str().to_string();
    let mut needed: Vec<(String, String)> = vec![(prefix, doc.namespace_uri(e).to_string())];
    let mut attrs: Vec<(String, String, String, String)> = Vec::new();
    for a in doc.attributes(e) {
        let p = doc.prefix(a).as_str().to_string();
        let uri = doc.namespace_uri(a).to_string();
        if !p.is_empty() && p != "xml" {
            needed.push((p, uri.clone()));
        }
        attrs.push((
            uri,
            doc.local_name(a).to_string(),
            doc.qualified_name(a).into_owned(),
            doc.value(a).to_string(),
        ));
    }
    needed.sort();
    needed.dedup();
    let mut level = Vec::new();
    for (p, uri) in needed {
        let current = in_scope(rendered, &p).unwrap_or("");
        // The default namespace starts empty; a prefix starts unbound.
        let already = if p.is_empty() {
            current == uri
        } else {
            in_scope(rendered, &p) == Some(uri.as_str())
        };
        if !already {
            level.push((p, uri));
        }
    }
    out.push('<');
    out.push_str(&qname);
    for (p, uri) in &level {
        if p.is_empty() {
            out.push_str(" xmlns=\"");
        } else {
            out.push_str(" xmlns:");
            out.push_str(p);
            out.push_str("=\"");
        }
        escape_attr(uri, out);
        out.push('"');
    }
    attrs.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    for (_, _, q, v) in &attrs {
        out.push(' ');
        out.push_str(q);
        out.push_str("=\"");
        escape_attr(v, out);
        out.push('"');
    }
    out.push('>');
    rendered.push(level);
    for c in doc.children(e) {
        if Some(c) == skip {
            continue;
        }
        match doc.kind(c) {
            NodeKind::Element => element(doc, c, skip, rendered, out),
            NodeKind::Text => escape_text(doc.value(c), out),
            NodeKind::ProcessingInstruction => {
                out.push_str("<?");
                out.push_str(doc.local_name(c));
                let data = doc.value(c);
                if !data.is_empty() {
                    out.push(' ');
                    out.push_str(data);
                }
                out.push_str("?>");
            }
            _ => {}
        }
    }
    rendered.pop();
    out.push_str("</");
    out.push_str(&qname);
    out.push('>');
}

#[cfg(test)]
mod tests {
    use super::*;
    use segur_xml::Limits;

    fn c14n(xml: &str, path: &[&str]) -> String {
        let doc = Document::parse(xml.as_bytes(), &Limits::default()).expect("xml");
        let mut at = doc.document_element().expect("root");
        for step in path {
            at = doc
                .children(at)
                .find(|&c| doc.kind(c) == NodeKind::Element && doc.local_name(c) == *step)
                .expect("step");
        }
        canonicalize(&doc, at, None)
    }

    #[test]
    fn renders_only_utilized_namespaces_sorted_and_escaped() {
        let xml = "<a:root xmlns:a=\"urn:a\" xmlns:b=\"urn:b\" xmlns:c=\"urn:c\"><b:x z=\"1\" c:y=\"&lt;&quot;&#9;\" a=\"2\"><b:e/>t&amp;&gt;<!--no--></b:x></a:root>";
        assert_eq!(
            c14n(xml, &["x"]),
            "<b:x xmlns:b=\"urn:b\" xmlns:c=\"urn:c\" a=\"2\" z=\"1\" c:y=\"&lt;&quot;&#x9;\"><b:e></b:e>t&amp;&gt;</b:x>"
        );
        // W3C exc-c14n §2.2 example: the default namespace of an unused ancestor is not rendered.
        assert_eq!(
            c14n(
                "<n0:local xmlns:n0=\"foo:bar\" xmlns:n3=\"ftp://example.org\"><n1:elem2 xmlns:n1=\"http://example.net\" xml:lang=\"en\"><n3:stuff xmlns:n3=\"ftp://example.org\"/></n1:elem2></n0:local>",
                &["elem2"]
            ),
            "<n1:elem2 xmlns:n1=\"http://example.net\" xml:lang=\"en\"><n3:stuff xmlns:n3=\"ftp://example.org\"></n3:stuff></n1:elem2>"
        );
        assert_eq!(
            c14n("<r xmlns=\"urn:d\"><s><t xmlns=\"\"/></s></r>", &["s"]),
            "<s xmlns=\"urn:d\"><t xmlns=\"\"></t></s>"
        );
    }
}
