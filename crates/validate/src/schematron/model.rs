//! The compiled form of one schematron: active patterns, their rules in priority order, the
//! global and rule-local `let`s, and the asserts and reports with their messages.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use super::LoadError;
use super::tree::{Child, LoadNote, Loader, Node, expand_abstract};

/// A `let`: a variable name and its XPath. The name is trimmed, as XSLT trims the QName of
/// the `xsl:variable` the skeleton makes of it (OPH-BRE 2022.02 declares one with a trailing
/// space).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Let {
    /// Name, without `$`.
    pub name: String,
    /// XPath expression (`@value`; shared: abstract-pattern instances repeat their lets).
    pub value: Arc<str>,
}

/// Assert or report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckKind {
    /// `assert`: a finding when the test is false.
    Assert,
    /// `report`: a finding when the test is true.
    Report,
}

/// A piece of an assert's message (shared: abstract patterns repeat the same messages, and a
/// cached schematron holds each distinct text once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessagePart {
    /// Literal text.
    Text(Arc<str>),
    /// `value-of select="…"`.
    ValueOf(Arc<str>),
    /// `name` (of the context node, or of `@path`).
    Name(Option<Arc<str>>),
}

/// An assert or report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Assert or report.
    pub kind: CheckKind,
    /// `@id`, when the file gives one.
    pub id: Option<Arc<str>>,
    /// `@test` (shared, as the message parts).
    pub test: Arc<str>,
    /// `@role`.
    pub role: Option<Arc<str>>,
    /// `@flag`.
    pub flag: Option<Arc<str>>,
    /// The message.
    pub message: Vec<MessagePart>,
    /// File (relative to the rules directory) and line.
    pub file: Arc<str>,
    /// Line in that file.
    pub line: u32,
    /// The id of the abstract-pattern instance (`pattern is-a`) this check was expanded for:
    /// one assert of an abstract pattern is a different rule in each instance.
    pub instance: Option<Arc<str>>,
}

impl Check {
    /// The rule id of the check: its `@id`, else `file:line`, with `@instance` for a check of
    /// an abstract-pattern instance.
    pub fn rule_id(&self) -> String {
        match (&self.id, &self.instance) {
            (Some(id), _) => id.to_string(),
            (None, Some(instance)) => format!("{}:{}@{instance}", self.file, self.line),
            (None, None) => format!("{}:{}", self.file, self.line),
        }
    }
}

/// A step of a rule, in document order: a local `let` or a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A rule-local variable, in scope for the following steps.
    Let(Let),
    /// An assert or a report.
    Check(Check),
}

/// A rule: its context (an XSLT match pattern) and its steps (`extends` already inlined).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// `@id`, when given.
    pub id: Option<String>,
    /// `@context`.
    pub context: String,
    /// Lets and checks, in order.
    pub steps: Vec<Step>,
    /// File and line of the rule.
    pub file: Arc<str>,
    /// Line.
    pub line: u32,
}

/// An active pattern: its rules in priority order (the first matching rule fires).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// `@id` (or a generated one).
    pub id: String,
    /// Rules, highest priority first.
    pub rules: Vec<Rule>,
}

/// A compiled schematron.
#[derive(Debug, Clone)]
pub struct Schematron {
    /// The entry file, relative to the rules directory.
    pub file: String,
    /// `@queryBinding`.
    pub query_binding: String,
    /// The phase that runs (`@defaultPhase` or `#ALL`).
    pub phase: String,
    /// Namespace bindings from `ns` elements.
    pub namespaces: Vec<(String, String)>,
    /// Global variables: the schema's lets and the active patterns' lets (the ISO skeleton
    /// makes both global XSLT variables).
    pub lets: Vec<Let>,
    /// Active patterns, in document order.
    pub patterns: Vec<Pattern>,
    /// Whether the traversal visits attributes (`@*|*`): true when any rule context mentions
    /// `@` or `attribute`, as the skeleton decides.
    pub visit_attributes: bool,
    /// Whether it visits only child elements (`*`) rather than `*|comment()|processing-instruction()`:
    /// true when any rule context contains `(`.
    pub only_child_elements: bool,
    /// What the loader worked around.
    pub notes: Vec<LoadNote>,
    /// The files it was built from (includes resolved), in the order first read.
    pub files: Vec<super::SourceFile>,
}

fn collect_text(node: &Node, out: &mut Vec<MessagePart>) {
    for c in &node.children {
        match c {
            Child::Text(t) => out.push(MessagePart::Text(t.as_str().into())),
            Child::Element(e) if e.is_sch("value-of") => out.push(MessagePart::ValueOf(
                e.attr("select").unwrap_or_default().into(),
            )),
            Child::Element(e) if e.is_sch("name") => {
                out.push(MessagePart::Name(e.attr("path").map(Arc::from)))
            }
            // emph, dir, span, and foreign elements: their text content.
            Child::Element(e) => collect_text(e, out),
        }
    }
}

fn check(node: &Node, kind: CheckKind) -> Check {
    let mut message = Vec::new();
    collect_text(node, &mut message);
    Check {
        kind,
        id: node.attr("id").map(Arc::from),
        test: node.attr("test").unwrap_or_default().into(),
        role: node.attr("role").map(Arc::from),
        flag: node.attr("flag").map(Arc::from),
        message,
        file: node.file.clone(),
        line: node.line,
        instance: None,
    }
}

/// The steps of a rule's children, with `extends` replaced by the abstract rule's steps
/// (preferring a rule of the same pattern, then any rule of the schema, as the skeleton).
/// Rules by id: those of one pattern (preferred by `extends`) and those of the whole schema.
struct RulesById<'a> {
    local: HashMap<&'a str, Vec<&'a Node>>,
    global: &'a HashMap<&'a str, Vec<&'a Node>>,
}

fn rules_by_id<'a>(parents: impl Iterator<Item = &'a Node>) -> HashMap<&'a str, Vec<&'a Node>> {
    let mut m: HashMap<&str, Vec<&Node>> = HashMap::new();
    for p in parents {
        for r in p.elements().filter(|r| r.is_sch("rule")) {
            if let Some(id) = r.attr("id") {
                m.entry(id).or_default().push(r);
            }
        }
    }
    m
}

fn steps(rule: &Node, ids: &RulesById<'_>, out: &mut Vec<Step>, depth: usize) {
    for e in rule.elements().filter(|e| e.in_sch()) {
        match e.name.as_str() {
            "let" => out.push(Step::Let(Let {
                name: e.attr("name").unwrap_or_default().trim().to_string(),
                value: e.attr("value").unwrap_or_default().into(),
            })),
            "assert" => out.push(Step::Check(check(e, CheckKind::Assert))),
            "report" => out.push(Step::Check(check(e, CheckKind::Report))),
            "extends" if depth < 16 => {
                let target = e.attr("rule").unwrap_or_default();
                let found = ids
                    .local
                    .get(target)
                    .or_else(|| ids.global.get(target))
                    .map_or(&[][..], Vec::as_slice);
                for r in found.iter().filter(|r| r.attr("abstract") == Some("true")) {
                    steps(r, ids, out, depth + 1);
                }
            }
            _ => {}
        }
    }
}

impl Schematron {
    /// Load `path` (under `rules_dir`) and compile it.
    pub fn load(rules_dir: &Path, path: &Path) -> Result<Schematron, LoadError> {
        let mut loader = Loader::new(rules_dir);
        let mut schema = loader.load(path)?;
        let file = path
            .strip_prefix(rules_dir)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/");
        if !schema.is_sch("schema") {
            return Err(LoadError::NotSchematron {
                file,
                root: schema.name.to_string(),
            });
        }
        expand_abstract(&mut schema);

        let phase = schema.attr("defaultPhase").unwrap_or("#ALL").to_string();
        let active_ids: Option<Vec<String>> = (phase != "#ALL").then(|| {
            schema
                .elements()
                .filter(|p| p.is_sch("phase") && p.attr("id") == Some(phase.as_str()))
                .flat_map(|p| p.elements().filter(|a| a.is_sch("active")))
                .filter_map(|a| a.attr("pattern").map(str::to_string))
                .collect()
        });

        let namespaces = schema
            .elements()
            .filter(|e| e.is_sch("ns"))
            .map(|e| {
                (
                    e.attr("prefix").unwrap_or_default().to_string(),
                    e.attr("uri").unwrap_or_default().to_string(),
                )
            })
            .collect();

        let mut lets: Vec<Let> = schema
            .elements()
            .filter(|e| e.is_sch("let"))
            .map(|e| Let {
                name: e.attr("name").unwrap_or_default().trim().to_string(),
                value: e.attr("value").unwrap_or_default().into(),
            })
            .collect();

        let mut patterns = Vec::new();
        let mut visit_attributes = false;
        let mut only_child_elements = false;
        let global_ids = rules_by_id(schema.elements());
        for (index, p) in schema
            .elements()
            .enumerate()
            .filter(|(_, p)| p.is_sch("pattern"))
        {
            if p.attr("abstract") == Some("true") {
                continue;
            }
            let id = p
                .attr("id")
                .map(str::to_string)
                .unwrap_or_else(|| format!("pattern-{index}"));
            // The skeleton decides these flags on every rule of the schema, active or not.
            for r in p.elements().filter(|r| r.is_sch("rule")) {
                let ctx = r.attr("context").unwrap_or_default();
                visit_attributes |= ctx.contains('@') || ctx.contains("attribute");
                only_child_elements |= ctx.contains('(');
            }
            let active = match &active_ids {
                None => true,
                Some(ids) => ids.contains(&id),
            };
            if !active {
                continue;
            }
            for l in p.elements().filter(|e| e.is_sch("let")) {
                lets.push(Let {
                    name: l.attr("name").unwrap_or_default().trim().to_string(),
                    value: l.attr("value").unwrap_or_default().into(),
                });
            }
            let ids = RulesById {
                local: rules_by_id(std::iter::once(p)),
                global: &global_ids,
            };
            let mut rules = Vec::new();
            for r in p
                .elements()
                .filter(|r| r.is_sch("rule") && r.attr("abstract") != Some("true"))
            {
                let Some(context) = r.attr("context") else {
                    continue;
                };
                let mut s = Vec::new();
                steps(r, &ids, &mut s, 0);
                if p.attr("is-a").is_some() {
                    let instance: Arc<str> = Arc::from(id.as_str());
                    for step in &mut s {
                        if let Step::Check(c) = step {
                            c.instance = Some(instance.clone());
                        }
                    }
                }
                rules.push(Rule {
                    id: r.attr("id").map(str::to_string),
                    context: context.to_string(),
                    steps: s,
                    file: r.file.clone(),
                    line: r.line,
                });
            }
            patterns.push(Pattern { id, rules });
        }

        Ok(Schematron {
            file,
            query_binding: schema.attr("queryBinding").unwrap_or("xslt").to_string(),
            phase,
            namespaces,
            lets,
            patterns,
            visit_attributes,
            only_child_elements,
            notes: loader.notes,
            files: loader.deps,
        })
    }

    /// Number of asserts and reports in active patterns.
    pub fn check_count(&self) -> usize {
        self.patterns
            .iter()
            .flat_map(|p| &p.rules)
            .flat_map(|r| &r.steps)
            .filter(|s| matches!(s, Step::Check(_)))
            .count()
    }
}

pub use Step as RuleStep;
