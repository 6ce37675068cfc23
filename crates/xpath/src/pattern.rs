//! XSLT 2.0 match patterns (schematron rule contexts), matched right to left.

use segur_xml::{ExpandedName, NodeKind};

use crate::ast::{Axis, NodeTest, Predicate};
use crate::error::{CompileError, CompileErrorKind, EvalError};
use crate::eval::{Evaluator, Focus, axis_nodes, name_test};
use crate::parser::{Parser, Tok};
use crate::value::{Item, NodeRef};
use crate::{DynamicContext, StaticContext};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Anchor {
    /// `a/b`: the first step may be anywhere.
    None,
    /// `/a`: the first step's parent is a document node.
    Root,
    /// `//a`: the first step has a document node ancestor.
    AnyRoot,
}

#[derive(Clone, Debug)]
struct PatternStep {
    axis: Axis,
    test: NodeTest,
    preds: Vec<Predicate>,
    /// Whether `//` (rather than `/`) separates this step from the previous one.
    descendant: bool,
}

#[derive(Clone, Debug)]
struct PathPattern {
    anchor: Anchor,
    /// Empty for the pattern `/` (the document node).
    steps: Vec<PatternStep>,
}

/// A compiled XSLT 2.0 match pattern.
#[derive(Clone, Debug)]
pub struct Pattern {
    alternatives: Vec<PathPattern>,
    source: String,
}

/// Compiles a match pattern (a union of path patterns with child and attribute steps).
pub fn compile_pattern(src: &str, ctx: &StaticContext) -> Result<Pattern, CompileError> {
    let mut p = Parser::new(src, ctx)?;
    let mut alternatives = Vec::new();
    loop {
        alternatives.push(path_pattern(&mut p)?);
        match p.peek() {
            Tok::Pipe | Tok::Name(None, "union") => {
                p.next();
            }
            Tok::Eof => break,
            other => {
                let found = format!("{other:?}");
                return p.fail(CompileErrorKind::Syntax {
                    expected: "'|' or end of pattern",
                    found,
                });
            }
        }
    }
    Ok(Pattern {
        alternatives,
        source: src.to_owned(),
    })
}

fn path_pattern(p: &mut Parser<'_, '_>) -> Result<PathPattern, CompileError> {
    let anchor = if p.eat(&Tok::Slash) {
        Anchor::Root
    } else if p.eat(&Tok::DSlash) {
        Anchor::AnyRoot
    } else {
        Anchor::None
    };
    let mut steps = Vec::new();
    if anchor == Anchor::Root && matches!(p.peek(), Tok::Eof | Tok::Pipe) {
        return Ok(PathPattern { anchor, steps });
    }
    let mut descendant = false;
    loop {
        let at = p.offset();
        if let Tok::Name(None, name) = *p.peek()
            && matches!(name, "id" | "key")
            && *p.peek_at(1) == Tok::LParen
        {
            return p.fail_at(
                CompileErrorKind::Unsupported {
                    construct: format!("{name}() in a pattern"),
                },
                at,
            );
        }
        let step = p.axis_step()?;
        if !matches!(step.axis, Axis::Child | Axis::Attribute) {
            return p.fail_at(
                CompileErrorKind::Unsupported {
                    construct: format!("{:?} axis in a pattern", step.axis),
                },
                at,
            );
        }
        steps.push(PatternStep {
            axis: step.axis,
            test: step.test,
            preds: step.preds,
            descendant,
        });
        if p.eat(&Tok::Slash) {
            descendant = false;
        } else if p.eat(&Tok::DSlash) {
            descendant = true;
        } else {
            break;
        }
    }
    Ok(PathPattern { anchor, steps })
}

impl Pattern {
    /// The pattern source.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The element names the pattern's last steps require, when every alternative ends in an
    /// element step with an exact name: index rules by these to skip non-candidates.
    pub fn final_names(&self) -> Option<Vec<ExpandedName>> {
        self.alternatives
            .iter()
            .map(|alt| match alt.steps.last() {
                Some(PatternStep {
                    axis: Axis::Child,
                    test: NodeTest::Name(en) | NodeTest::Element(Some(en)),
                    ..
                }) => Some(*en),
                _ => None,
            })
            .collect()
    }

    /// Whether `node` matches (predicates see `current()` as the node being matched).
    pub fn matches(&self, node: NodeRef, ctx: &DynamicContext<'_>) -> Result<bool, EvalError> {
        let mut ev = Evaluator {
            ctx,
            current: Some(Item::Node(node)),
            locals: Vec::new(),
        };
        for alt in &self.alternatives {
            if alt.steps.is_empty() {
                if ev.doc(node).kind(node.node) == NodeKind::Document {
                    return Ok(true);
                }
                continue;
            }
            if match_from(&mut ev, alt, alt.steps.len() - 1, node)? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

fn match_from(
    ev: &mut Evaluator<'_, '_>,
    alt: &PathPattern,
    i: usize,
    node: NodeRef,
) -> Result<bool, EvalError> {
    let step = &alt.steps[i];
    if !step_matches(ev, step, node)? {
        return Ok(false);
    }
    let doc = ev.doc(node);
    let parent = doc.parent(node.node).map(|p| NodeRef {
        doc: node.doc,
        node: p,
    });
    if i == 0 {
        return Ok(match alt.anchor {
            Anchor::None => true,
            Anchor::Root => parent.is_some_and(|p| doc.kind(p.node) == NodeKind::Document),
            Anchor::AnyRoot => doc
                .ancestors(node.node)
                .last()
                .is_some_and(|r| doc.kind(r) == NodeKind::Document),
        });
    }
    let Some(parent) = parent else {
        return Ok(false);
    };
    if !step.descendant {
        return match_from(ev, alt, i - 1, parent);
    }
    let mut a = Some(parent);
    while let Some(candidate) = a {
        if match_from(ev, alt, i - 1, candidate)? {
            return Ok(true);
        }
        a = doc.parent(candidate.node).map(|p| NodeRef {
            doc: node.doc,
            node: p,
        });
    }
    Ok(false)
}

fn step_matches(
    ev: &mut Evaluator<'_, '_>,
    step: &PatternStep,
    node: NodeRef,
) -> Result<bool, EvalError> {
    let doc = ev.doc(node);
    let kind = doc.kind(node.node);
    let principal = match step.axis {
        Axis::Attribute if kind == NodeKind::Attribute => NodeKind::Attribute,
        Axis::Child if !matches!(kind, NodeKind::Attribute | NodeKind::Document) => {
            NodeKind::Element
        }
        _ => return Ok(false),
    };
    if !name_test(doc, node.node, &step.test, principal) {
        return Ok(false);
    }
    if step.preds.is_empty() {
        return Ok(true);
    }
    if step.preds.iter().all(|p| p.boolean) {
        let focus = Focus::of(Some(Item::Node(node)));
        for p in &step.preds {
            if !ev.ebv(&p.expr, &focus)? {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    // Positional predicates count among the siblings the step selects from the parent.
    let Some(parent) = doc.parent(node.node) else {
        return Ok(false);
    };
    let mut candidates = Vec::new();
    axis_nodes(
        doc,
        NodeRef {
            doc: node.doc,
            node: parent,
        },
        step.axis,
        &step.test,
        &mut candidates,
    );
    for p in &step.preds {
        candidates = ev.filter(candidates, p)?;
    }
    Ok(candidates.contains(&Item::Node(node)))
}
