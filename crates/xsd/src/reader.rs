//! Drives a [`Validator`] from quick-xml, for callers without their own parser.

use std::borrow::Cow;

use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::{PrefixDeclaration, QName, ResolveResult};

use crate::error::{ParseError, XsdError};
use crate::schema::Schema;
use crate::validate::{Attr, NamespaceLookup, Pos, StartElement, Validator};
use crate::xsdoc::LineCounter;

struct QuickXmlScope<'a>(&'a quick_xml::name::NamespaceResolver);

impl NamespaceLookup for QuickXmlScope<'_> {
    fn lookup(&self, prefix: &str) -> Option<&str> {
        if prefix == "xml" {
            return Some("http://www.w3.org/XML/1998/namespace");
        }
        if prefix.is_empty() {
            return match self.0.resolve_prefix(None, true) {
                ResolveResult::Bound(ns) => Some(ns.0),
                _ => None,
            };
        }
        self.0.bindings().find_map(|(p, ns)| match p {
            PrefixDeclaration::Named(n) if n == prefix => Some(ns.0),
            _ => None,
        })
    }
}

fn syntax(lines: &mut LineCounter, input: &[u8], offset: u64, reason: String) -> ParseError {
    let (line, column) = lines.pos_at(input, offset as usize);
    ParseError::Syntax {
        line,
        column,
        reason,
    }
}

/// Parses `xml` with quick-xml and validates it against `schema`.
///
/// Refuses DOCTYPE declarations and documents that are not UTF-8 or not namespace-well-formed.
pub fn validate_bytes(schema: &Schema, xml: &[u8]) -> Result<Vec<XsdError>, ParseError> {
    let mut v = schema.validator();
    validate_with(&mut v, xml)?;
    Ok(v.take_errors())
}

/// Reuses the allocation of an empty vector for another lifetime.
fn recycle<T, U>(mut v: Vec<T>) -> Vec<U> {
    v.clear();
    v.into_iter()
        .map(|_| unreachable!("the vector is empty"))
        .collect()
}

/// Like [`validate_bytes`], reusing a validator (and its buffers); the validator is reset first.
pub fn validate_with(v: &mut Validator<'_>, xml: &[u8]) -> Result<(), ParseError> {
    v.reset();
    let text = std::str::from_utf8(xml).map_err(|e| ParseError::Encoding {
        offset: e.valid_up_to(),
    })?;
    let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let text = &text[bom..];
    let input = text.as_bytes();
    let mut r = NsReader::from_str(text);
    let mut lines = LineCounter::default();
    let mut attrs_buf: Vec<Attr<'static>> = Vec::new();
    let mut raw_buf: Vec<(&str, QName<'static>, Cow<'static, str>)> = Vec::new();
    let mut depth = 0usize;
    let mut seen_root = false;
    let mut chars = [0u8; 4];
    loop {
        let before = r.buffer_position();
        let ev = match r.read_event() {
            Ok(x) => x,
            Err(e) => return Err(syntax(&mut lines, input, r.error_position(), e.to_string())),
        };
        let after = r.buffer_position();
        let at = |lines: &mut LineCounter, off: u64| {
            let (line, column) = lines.pos_at(input, off as usize);
            Pos {
                line,
                column,
                offset: off + bom as u64,
            }
        };
        match ev {
            Event::Start(ref s) | Event::Empty(ref s) => {
                let empty = matches!(ev, Event::Empty(_));
                if depth == 0 && seen_root {
                    return Err(syntax(
                        &mut lines,
                        input,
                        before,
                        "content after the root element".into(),
                    ));
                }
                let resolver = r.resolver();
                let ns: &str = match resolver.resolve_element(s.name()).0 {
                    ResolveResult::Bound(ns) => ns.0,
                    ResolveResult::Unbound => "",
                    ResolveResult::Unknown(p) => {
                        return Err(syntax(
                            &mut lines,
                            input,
                            before,
                            format!("undeclared namespace prefix '{p}'"),
                        ));
                    }
                };
                let name = s.name();
                let local: &str = name.local_name().into_inner();
                let prefix: &str = name.prefix().map_or("", |p| p.into_inner());
                let mut raw_attrs: Vec<(&str, QName<'_>, Cow<'_, str>)> =
                    recycle(std::mem::take(&mut raw_buf));
                for a in s.attributes() {
                    let a = a.map_err(|e| syntax(&mut lines, input, before, e.to_string()))?;
                    let kraw: &str = a.key.0;
                    if kraw == "xmlns" || kraw.starts_with("xmlns:") {
                        continue;
                    }
                    let ans: &str = match resolver.resolve_attribute(a.key).0 {
                        ResolveResult::Bound(ns) => ns.0,
                        ResolveResult::Unbound => "",
                        ResolveResult::Unknown(p) => {
                            return Err(syntax(
                                &mut lines,
                                input,
                                before,
                                format!("undeclared namespace prefix '{p}'"),
                            ));
                        }
                    };
                    let value = a
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|e| syntax(&mut lines, input, before, e.to_string()))?;
                    raw_attrs.push((ans, a.key, value));
                }
                let mut attrs = recycle(std::mem::take(&mut attrs_buf));
                for (ans, key, value) in &raw_attrs {
                    attrs.push(Attr {
                        ns_uri: ans,
                        local: key.local_name().into_inner(),
                        prefix: key.prefix().map_or("", |p| p.into_inner()),
                        value,
                        key: None,
                    });
                }
                let start = at(&mut lines, before);
                let end = at(&mut lines, after);
                let scope = QuickXmlScope(resolver);
                let se = StartElement {
                    ns_uri: ns,
                    local,
                    prefix,
                    attributes: &attrs,
                    namespaces: &scope,
                    start,
                    end: Some(end),
                    key: None,
                };
                let _ = v.start_element(&se);
                attrs_buf = recycle(attrs);
                raw_buf = recycle(raw_attrs);
                seen_root = true;
                if empty {
                    let _ = v.end_element(end);
                } else {
                    depth += 1;
                }
            }
            Event::End(_) => {
                let end = at(&mut lines, after);
                let _ = v.end_element(end);
                depth = depth.saturating_sub(1);
            }
            Event::Text(t) => {
                if depth > 0 {
                    let p = at(&mut lines, before);
                    v.text(&t.xml10_content(), p);
                } else if !t.trim_ascii().is_empty() {
                    return Err(syntax(
                        &mut lines,
                        input,
                        before,
                        "text outside the root element".into(),
                    ));
                }
            }
            Event::CData(t) => {
                if depth > 0 {
                    let p = at(&mut lines, before);
                    v.text(&t.xml10_content(), p);
                }
            }
            Event::GeneralRef(g) => {
                if depth == 0 {
                    return Err(syntax(
                        &mut lines,
                        input,
                        before,
                        "reference outside the root element".into(),
                    ));
                }
                let c = if g.is_char_ref() {
                    match g.resolve_char_ref() {
                        Ok(Some(c)) => c,
                        _ => {
                            return Err(syntax(
                                &mut lines,
                                input,
                                before,
                                format!("invalid character reference '&{};'", &*g),
                            ));
                        }
                    }
                } else {
                    match &*g {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        other => {
                            return Err(syntax(
                                &mut lines,
                                input,
                                before,
                                format!("undeclared entity '&{other};'"),
                            ));
                        }
                    }
                };
                let p = at(&mut lines, before);
                v.text(c.encode_utf8(&mut chars), p);
            }
            Event::DocType(_) => {
                let (line, _) = lines.pos_at(input, before as usize);
                return Err(ParseError::Doctype { line });
            }
            Event::Eof => break,
            Event::Comment(_) | Event::PI(_) | Event::Decl(_) => {}
        }
    }
    if !seen_root {
        return Err(ParseError::NoRoot);
    }
    if depth != 0 {
        return Err(syntax(
            &mut lines,
            input,
            input.len() as u64,
            "unclosed elements at end of document".into(),
        ));
    }
    Ok(())
}
