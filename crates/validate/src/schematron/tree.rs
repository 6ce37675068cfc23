//! Schematron files as an owned tree, with ISO `include` resolved and abstract patterns
//! expanded exactly as the ANS compilation chain does (`iso_dsdl_include.xsl` then
//! `iso_abstract_expand.xsl` of `schematrons/moteur/`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use segur_xml::Name;

use super::LoadError;

/// The ISO Schematron namespace.
pub(crate) const SCH_NS: &str = "http://purl.oclc.org/dsdl/schematron";

/// An element of a schematron file. Names are interned: StrucMin alone is tens of thousands
/// of elements, and an owned string per name made loading (and dropping) allocation-bound.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// Namespace URI.
    pub ns: Name,
    /// Local name.
    pub name: Name,
    /// Attributes as `(qualified name, value)`.
    pub attrs: Vec<(Name, String)>,
    /// Content.
    pub children: Vec<Child>,
    /// The file it was read from, relative to the rules directory.
    pub file: Arc<str>,
    /// Its line in that file.
    pub line: u32,
}

/// Element content.
#[derive(Debug, Clone)]
pub(crate) enum Child {
    /// A child element.
    Element(Node),
    /// Character data.
    Text(String),
}

impl Node {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k.as_str() == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the element is in the Schematron namespace.
    pub fn in_sch(&self) -> bool {
        self.ns.as_str() == SCH_NS
    }

    pub fn is_sch(&self, name: &str) -> bool {
        self.in_sch() && self.name.as_str() == name
    }

    pub fn elements(&self) -> impl Iterator<Item = &Node> {
        self.children.iter().filter_map(|c| match c {
            Child::Element(e) => Some(e),
            Child::Text(_) => None,
        })
    }
}

/// Notes on what the loader had to work around (a case-insensitive include, say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadNote {
    /// File and line of the construct.
    pub at: String,
    /// What happened.
    pub note: String,
}

/// Reads schematron files under a rules directory, caching parsed files.
pub(crate) struct Loader<'a> {
    root: &'a Path,
    cache: HashMap<PathBuf, Node>,
    /// Files parsed at least once.
    seen: std::collections::HashSet<PathBuf>,
    pub notes: Vec<LoadNote>,
    /// Every file the result depends on, in the order first met: those read (with their
    /// SHA-256) and the include targets found absent or empty (no hash). A cached load is
    /// valid while each is unchanged.
    pub deps: Vec<super::SourceFile>,
    depth: usize,
}

/// Byte offsets where lines start, to turn offsets into line numbers in O(log n).
struct Lines(Vec<usize>);

impl Lines {
    fn new(text: &str) -> Self {
        Lines(
            std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .collect(),
        )
    }

    fn line(&self, offset: usize) -> u32 {
        self.0.partition_point(|&start| start <= offset) as u32
    }
}

/// The element as an owned tree. Text is kept only where a message can read it (inside
/// `assert` and `report`): elsewhere it is the whitespace between elements.
fn convert(node: roxmltree::Node<'_, '_>, lines: &Lines, file: &Arc<str>, keep_text: bool) -> Node {
    let line = lines.line(node.range().start);
    let attrs = node
        .attributes()
        .map(|a| {
            let key = match a.namespace() {
                Some("http://www.w3.org/XML/1998/namespace") => {
                    Name::intern(&format!("xml:{}", a.name()))
                }
                _ => Name::intern(a.name()),
            };
            (key, a.value().to_string())
        })
        .collect();
    let ns = Name::intern(node.tag_name().namespace().unwrap_or_default());
    let name = Name::intern(node.tag_name().name());
    let keep_text =
        keep_text || (ns.as_str() == SCH_NS && matches!(name.as_str(), "assert" | "report"));
    let mut children = Vec::new();
    for c in node.children() {
        if c.is_element() {
            children.push(Child::Element(convert(c, lines, file, keep_text)));
        } else if c.is_text() && keep_text {
            children.push(Child::Text(c.text().unwrap_or_default().to_string()));
        }
    }
    Node {
        ns,
        name,
        attrs,
        children,
        file: file.clone(),
        line,
    }
}

/// Find `rel` under `base`, matching each path component case-insensitively when the exact
/// name does not exist (the ANS files were authored on Windows).
fn resolve_case_insensitive(base: &Path, rel: &str) -> Option<PathBuf> {
    let mut cur = base.to_path_buf();
    for comp in Path::new(rel).components() {
        use std::path::Component;
        match comp {
            Component::ParentDir => {
                cur.pop();
            }
            Component::CurDir => {}
            Component::Normal(name) => {
                let exact = cur.join(name);
                if exact.exists() {
                    cur = exact;
                    continue;
                }
                let wanted = name.to_string_lossy().to_lowercase();
                let found = std::fs::read_dir(&cur)
                    .ok()?
                    .filter_map(Result::ok)
                    .find(|e| e.file_name().to_string_lossy().to_lowercase() == wanted)?;
                cur = found.path();
            }
            _ => return None,
        }
    }
    Some(cur)
}

impl<'a> Loader<'a> {
    pub fn new(root: &'a Path) -> Self {
        Self {
            root,
            cache: HashMap::new(),
            seen: std::collections::HashSet::new(),
            notes: Vec::new(),
            deps: Vec::new(),
            depth: 0,
        }
    }

    /// The path relative to the rules directory, normalised (`profils/../abstract/x.sch` is
    /// `abstract/x.sch`): one file has one name in rule ids and sources.
    fn relative(&self, path: &Path) -> Arc<str> {
        let path = crate::resolver::normalize(path);
        let root = crate::resolver::normalize(self.root);
        let rel = path.strip_prefix(&root).unwrap_or(&path);
        Arc::from(rel.to_string_lossy().replace('\\', "/"))
    }

    /// Parse one file (cached), without resolving its includes.
    fn parse(&mut self, path: &Path) -> Result<Node, LoadError> {
        let canonical = path.to_path_buf();
        if let Some(n) = self.cache.get(&canonical) {
            return Ok(n.clone());
        }
        let file = self.relative(path);
        let bytes = std::fs::read(path).map_err(|e| LoadError::Read {
            file: file.to_string(),
            source: e,
        })?;
        if !self.seen.contains(&canonical) {
            self.deps.push(super::SourceFile {
                path: file.to_string(),
                sha256: Some(crate::rules::sha256(&bytes)),
            });
        }
        let text = String::from_utf8(bytes).map_err(|e| LoadError::Read {
            file: file.to_string(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        })?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let doc = roxmltree::Document::parse_with_options(
            text,
            roxmltree::ParsingOptions {
                allow_dtd: false,
                ..Default::default()
            },
        )
        .map_err(|e| LoadError::Xml {
            file: file.to_string(),
            message: e.to_string(),
        })?;
        let node = convert(doc.root_element(), &Lines::new(text), &file, false);
        // Most files are read once: keep a copy only from the second time a file is asked for.
        if !self.seen.insert(canonical.clone()) {
            self.cache.insert(canonical, node.clone());
        }
        Ok(node)
    }

    /// Record an include target that contributed nothing (absent, empty or a directory).
    fn absent(&mut self, path: &Path) {
        let file = self.relative(path).to_string();
        if !self.deps.iter().any(|d| d.path == file) {
            self.deps.push(super::SourceFile {
                path: file,
                sha256: None,
            });
        }
    }

    /// Load a schematron with its includes resolved (recursively).
    pub fn load(&mut self, path: &Path) -> Result<Node, LoadError> {
        let node = self.parse(path)?;
        let dir = path.parent().unwrap_or(self.root).to_path_buf();
        self.resolve_includes(node, &dir)
    }

    fn resolve_includes(&mut self, mut node: Node, dir: &Path) -> Result<Node, LoadError> {
        self.depth += 1;
        if self.depth > 64 {
            return Err(LoadError::IncludeLoop {
                file: node.file.to_string(),
                line: node.line,
            });
        }
        let children = std::mem::take(&mut node.children);
        for child in children {
            match child {
                Child::Element(e) if e.is_sch("include") => {
                    if let Some(included) = self.include(&e, dir)? {
                        node.children.push(Child::Element(included));
                    }
                }
                Child::Element(e) => {
                    let resolved = self.resolve_includes(e, dir)?;
                    node.children.push(Child::Element(resolved));
                }
                text => node.children.push(text),
            }
        }
        self.depth -= 1;
        Ok(node)
    }

    /// The element an `include` stands for: the root of the referenced file when it is a
    /// Schematron element other than `schema` (as `iso_dsdl_include.xsl` does), else nothing.
    fn include(&mut self, inc: &Node, dir: &Path) -> Result<Option<Node>, LoadError> {
        let at = format!("{}:{}", inc.file, inc.line);
        let href = inc.attr("href").unwrap_or_default();
        let (doc_uri, fragment) = href.split_once('#').unwrap_or((href, ""));
        if !fragment.is_empty() {
            return Err(LoadError::Unsupported {
                at,
                construct: format!("include with a fragment id: {href}"),
            });
        }
        let path = dir.join(doc_uri);
        let path = if path.exists() {
            path
        } else if let Some(found) = resolve_case_insensitive(dir, doc_uri) {
            // Should the exact name appear later, the include would read it instead.
            self.absent(&path);
            self.notes.push(LoadNote {
                at: at.clone(),
                note: format!(
                    "include {href} resolved as {} (letter case differs; the official chain needs the same fix)",
                    self.relative(&found)
                ),
            });
            found
        } else {
            // Saxon's ISO include step reports "Unable to open referenced included file" and
            // goes on without it (CR-BIO 2023.01 includes paths under 0-byte files); so do we,
            // with a note.
            self.notes.push(LoadNote {
                at,
                note: format!(
                    "include {href}: no such file; nothing included (as in the official chain)"
                ),
            });
            self.absent(&path);
            return Ok(None);
        };
        if path.is_dir()
            || std::fs::metadata(&path)
                .map(|m| m.len() == 0)
                .unwrap_or(false)
        {
            // CR-BIO 2023.01 includes paths that are empty files in the ANS repository: Saxon
            // includes nothing and says so; we record it.
            self.notes.push(LoadNote {
                at,
                note: format!(
                    "include {href} is empty: nothing included (as in the official chain)"
                ),
            });
            self.absent(&path);
            return Ok(None);
        }
        let root = self.parse(&path)?;
        if !root.in_sch() || root.name.as_str() == "schema" {
            self.notes.push(LoadNote {
                at,
                note: format!("include {href}: root element {} is not a Schematron fragment; nothing included", root.name),
            });
            return Ok(None);
        }
        let sub_dir = path.parent().unwrap_or(dir).to_path_buf();
        self.resolve_includes(root, &sub_dir).map(Some)
    }
}

/// Expand abstract patterns (`pattern is-a="…"` with `param`s) as `iso_abstract_expand.xsl`:
/// for each instance, a copy of every abstract pattern with that id, whose `test`, `context`
/// and `select` attributes and text nodes have each `$name` replaced by the param's value, one
/// param after the other in document order. Other attributes (`value` of a `let` included) are
/// copied unchanged. Abstract patterns stay in the tree (the skeleton ignores them).
pub(crate) fn expand_abstract(schema: &mut Node) {
    let abstracts: Vec<Node> = schema
        .elements()
        .filter(|p| p.is_sch("pattern") && p.attr("abstract") == Some("true"))
        .cloned()
        .collect();
    let children = std::mem::take(&mut schema.children);
    for child in children {
        match child {
            Child::Element(p) if p.is_sch("pattern") && p.attr("is-a").is_some() => {
                let is_a = p.attr("is-a").unwrap_or_default();
                let params: Vec<(String, String)> = p
                    .elements()
                    .filter(|e| e.is_sch("param"))
                    .map(|e| {
                        (
                            format!("${}", e.attr("name").unwrap_or_default()),
                            e.attr("value").unwrap_or_default().to_string(),
                        )
                    })
                    .collect();
                let caller = p.attr("id").unwrap_or_default().to_string();
                for a in abstracts.iter().filter(|a| a.attr("id") == Some(is_a)) {
                    let id = if caller.is_empty() {
                        format!("{is_a}-{}", a.line)
                    } else {
                        caller.clone()
                    };
                    let mut instance = Node {
                        ns: a.ns,
                        name: a.name,
                        // `is-a` marks the instance: its checks' ids name it (see model.rs).
                        attrs: vec![
                            (Name::intern("id"), id),
                            (Name::intern("is-a"), is_a.to_string()),
                        ],
                        children: Vec::new(),
                        file: p.file.clone(),
                        line: p.line,
                    };
                    instance.children = a.children.iter().map(|c| substitute(c, &params)).collect();
                    schema.children.push(Child::Element(instance));
                }
            }
            other => schema.children.push(other),
        }
    }
}

fn macro_expand(text: &str, params: &[(String, String)]) -> String {
    let mut out = text.to_string();
    for (name, value) in params {
        if out.contains(name.as_str()) {
            out = out.replace(name.as_str(), value);
        }
    }
    out
}

fn substitute(child: &Child, params: &[(String, String)]) -> Child {
    match child {
        Child::Text(t) => Child::Text(macro_expand(t, params)),
        Child::Element(e) => {
            let attrs = e
                .attrs
                .iter()
                .map(|(k, v)| {
                    if matches!(k.as_str(), "test" | "context" | "select") {
                        (*k, macro_expand(v, params))
                    } else {
                        (*k, v.clone())
                    }
                })
                .collect();
            Child::Element(Node {
                ns: e.ns,
                name: e.name,
                attrs,
                children: e.children.iter().map(|c| substitute(c, params)).collect(),
                file: e.file.clone(),
                line: e.line,
            })
        }
    }
}
