//! A small DOM of one schema document: the XML Schema elements only, with their
//! unqualified attributes, in-scope namespaces and line numbers.

use std::path::{Path, PathBuf};

use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

use crate::error::SchemaError;

pub(crate) const XS_NS: &str = "http://www.w3.org/2001/XMLSchema";

#[derive(Debug)]
pub(crate) struct XElem {
    /// Local name in the XML Schema namespace (elements of other namespaces are dropped).
    pub(crate) local: Box<str>,
    /// Unqualified attributes, value already normalised by the XML parser.
    pub(crate) attrs: Vec<(Box<str>, Box<str>)>,
    pub(crate) children: Vec<u32>,
    pub(crate) line: u32,
    /// Namespace scope (index into `XDoc::scopes`).
    pub(crate) scope: u32,
    pub(crate) parent: Option<u32>,
}

#[derive(Debug)]
pub(crate) struct Scope {
    parent: Option<u32>,
    bindings: Vec<(Box<str>, Box<str>)>,
}

#[derive(Debug)]
pub(crate) struct XDoc {
    pub(crate) path: PathBuf,
    pub(crate) elems: Vec<XElem>,
    scopes: Vec<Scope>,
}

impl XDoc {
    pub(crate) fn root(&self) -> &XElem {
        &self.elems[0]
    }

    pub(crate) fn attr<'a>(&'a self, e: &'a XElem, name: &str) -> Option<&'a str> {
        e.attrs
            .iter()
            .find(|(k, _)| &**k == name)
            .map(|(_, v)| &**v)
    }

    pub(crate) fn children<'a>(
        &'a self,
        e: &'a XElem,
    ) -> impl Iterator<Item = (u32, &'a XElem)> + 'a {
        e.children
            .iter()
            .map(move |&i| (i, &self.elems[i as usize]))
    }

    /// Resolves a prefix ("" = default namespace) in the scope of `e`.
    pub(crate) fn resolve_prefix<'a>(&'a self, e: &XElem, prefix: &str) -> Option<&'a str> {
        if prefix == "xml" {
            return Some("http://www.w3.org/XML/1998/namespace");
        }
        let mut s = Some(e.scope);
        while let Some(i) = s {
            let sc = &self.scopes[i as usize];
            if let Some((_, u)) = sc.bindings.iter().rev().find(|(p, _)| &**p == prefix) {
                return Some(u);
            }
            s = sc.parent;
        }
        None
    }

    /// Parses the schema document `bytes`, read from `path`.
    pub(crate) fn parse(path: &Path, bytes: &[u8]) -> Result<XDoc, SchemaError> {
        let text = std::str::from_utf8(bytes).map_err(|e| SchemaError::Xml {
            path: path.to_path_buf(),
            line: line_of(bytes, e.valid_up_to()),
            reason: "not UTF-8".into(),
        })?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut r = NsReader::from_str(text);
        let mut doc = XDoc {
            path: path.to_path_buf(),
            elems: Vec::new(),
            scopes: vec![Scope {
                parent: None,
                bindings: Vec::new(),
            }],
        };
        // Open elements: (element index or None when dropped, scope index).
        let mut stack: Vec<(Option<u32>, u32)> = Vec::new();
        let mut lines = LineCounter::default();
        let mut skip_depth = 0usize;
        loop {
            let before = r.buffer_position() as usize;
            let ev = match r.read_event() {
                Ok(ev) => ev,
                Err(e) => {
                    return Err(SchemaError::Xml {
                        path: path.to_path_buf(),
                        line: lines.line_at(text.as_bytes(), r.error_position() as usize),
                        reason: e.to_string(),
                    });
                }
            };
            let is_xs = match &ev {
                Event::Start(s) | Event::Empty(s) => {
                    matches!(r.resolver().resolve_element(s.name()).0, ResolveResult::Bound(ns) if ns.0 == XS_NS)
                }
                _ => false,
            };
            match ev {
                Event::Start(ref s) | Event::Empty(ref s) => {
                    let empty = matches!(ev, Event::Empty(_));
                    if skip_depth > 0 || !is_xs || stack.last().is_some_and(|(e, _)| e.is_none()) {
                        if !empty {
                            skip_depth += 1;
                        }
                        continue;
                    }
                    let line = lines.line_at(text.as_bytes(), before);
                    let parent_scope = stack.last().map_or(0, |&(_, s)| s);
                    let mut scope = parent_scope;
                    let mut attrs = Vec::new();
                    let mut bindings = Vec::new();
                    for a in s.attributes().with_checks(false) {
                        let a = a.map_err(|e| SchemaError::Xml {
                            path: path.to_path_buf(),
                            line,
                            reason: e.to_string(),
                        })?;
                        let key: &str = a.key.as_ref();
                        let value = a
                            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .map_err(|e| SchemaError::Xml {
                                path: path.to_path_buf(),
                                line,
                                reason: e.to_string(),
                            })?;
                        if key == "xmlns" {
                            bindings.push(("".into(), value.as_ref().into()));
                        } else if let Some(p) = key.strip_prefix("xmlns:") {
                            bindings.push((p.into(), value.as_ref().into()));
                        } else if !key.contains(':') {
                            attrs.push((key.into(), value.as_ref().into()));
                        }
                    }
                    if !bindings.is_empty() {
                        doc.scopes.push(Scope {
                            parent: Some(parent_scope),
                            bindings,
                        });
                        scope = (doc.scopes.len() - 1) as u32;
                    }
                    let qn = s.name();
                    let local: &str = qn.local_name().into_inner();
                    let idx = doc.elems.len() as u32;
                    let parent = stack.last().and_then(|&(e, _)| e);
                    doc.elems.push(XElem {
                        local: local.into(),
                        attrs,
                        children: Vec::new(),
                        line,
                        scope,
                        parent,
                    });
                    if let Some(p) = parent {
                        doc.elems[p as usize].children.push(idx);
                    } else if idx != 0 {
                        continue;
                    }
                    // Annotations are dropped with their content.
                    let keep = local != "annotation";
                    if !keep {
                        doc.elems.pop();
                        if let Some(p) = parent {
                            doc.elems[p as usize].children.pop();
                        }
                    }
                    if !empty {
                        stack.push((keep.then_some(idx), scope));
                    }
                }
                Event::End(_) => {
                    if skip_depth > 0 {
                        skip_depth -= 1;
                    } else {
                        stack.pop();
                    }
                }
                Event::Eof => break,
                _ => {}
            }
        }
        if doc.elems.is_empty() || &*doc.elems[0].local != "schema" {
            return Err(SchemaError::NotASchema {
                path: path.to_path_buf(),
            });
        }
        Ok(doc)
    }
}

/// Converts increasing byte offsets to 1-based (line, column) without rescanning.
#[derive(Default)]
pub(crate) struct LineCounter {
    offset: usize,
    line: u32,
    /// Characters between the start of the line and `offset`.
    col: u32,
}

impl LineCounter {
    pub(crate) fn line_at(&mut self, bytes: &[u8], offset: usize) -> u32 {
        self.pos_at(bytes, offset).0
    }

    /// (line, column) of `offset`; the column counts characters, 1-based.
    pub(crate) fn pos_at(&mut self, bytes: &[u8], offset: usize) -> (u32, u32) {
        let offset = offset.min(bytes.len());
        if self.line == 0 || offset < self.offset {
            self.offset = 0;
            self.line = 1;
            self.col = 0;
        }
        let span = &bytes[self.offset..offset];
        // counted in bulk (vectorized); the column only over the last line's part
        let newlines = span.iter().filter(|&&b| b == b'\n').count() as u32;
        let tail = match span.iter().rposition(|&b| b == b'\n') {
            Some(i) => {
                self.col = 0;
                &span[i + 1..]
            }
            None => span,
        };
        self.line += newlines;
        self.col += tail.iter().filter(|&&b| (b & 0xC0) != 0x80).count() as u32;
        self.offset = offset;
        (self.line, self.col + 1)
    }
}

pub(crate) fn line_of(bytes: &[u8], offset: usize) -> u32 {
    LineCounter::default().line_at(bytes, offset)
}
