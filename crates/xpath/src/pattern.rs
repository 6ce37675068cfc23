//! XSLT 2.0 match patterns (schematron rule contexts), matched right to left.

use segur_xml::{Document, ExpandedName, NodeId, NodeKind};

use crate::ast::{Axis, Cmp, Expr, NodeTest, Predicate};
use crate::error::{CompileError, CompileErrorKind, EvalError};
use crate::eval::{Evaluator, Focus, axis_nodes, name_test};
use crate::parser::{Parser, Tok};
use crate::value::{Atomic, Item, NodeRef};
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
    /// Per step `i`, the process-wide id of the prefix `anchor steps[0..=i]` when whether a
    /// node matches it is worth remembering for the dynamic context: the prefix has
    /// predicates or a `//`, and they depend on the node alone (see [`prefix_ids`]).
    memo_ids: Vec<Option<u32>>,
}

/// Ids for the prefixes of a path pattern: equal prefixes (same anchor, same step texts) get
/// the same id, so a match computed for one rule serves the others. The ids key a memo that
/// lives in one dynamic context, which runs the patterns of one schematron, compiled against
/// one static context: there, equal texts are equal steps. `None` where a predicate reads a
/// variable or `current()`, and for the last step (its result is the pattern's, asked once
/// per node).
fn prefix_ids(anchor: Anchor, steps: &[PatternStep], texts: &[&str]) -> Vec<Option<u32>> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static PREFIXES: OnceLock<Mutex<HashMap<(u32, String), u32>>> = OnceLock::new();
    let mut ids = Vec::with_capacity(steps.len());
    let mut parent = 0u32;
    let mut worth = false;
    for (i, step) in steps.iter().enumerate() {
        let pure = step.preds.iter().all(|p| p.expr.depends_on_focus_only());
        worth |= !step.preds.is_empty() || step.descendant;
        if !pure || i + 1 == steps.len() {
            break;
        }
        let text = texts.get(i).copied().unwrap_or_default();
        let separator = if step.descendant { "//" } else { "/" };
        let key = if i == 0 {
            format!("{anchor:?}{separator}{text}")
        } else {
            format!("{separator}{text}")
        };
        let map = PREFIXES.get_or_init(|| Mutex::new(HashMap::new()));
        let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
        let next = map.len() as u32 + 1;
        parent = *map.entry((parent, key)).or_insert(next);
        ids.push(worth.then_some(parent));
    }
    ids.resize(steps.len(), None);
    ids
}

/// A necessary condition on the nodes a pattern can match (see [`Pattern::prefilter`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prefilter {
    /// Any node may match.
    Any,
    /// Only a document node (the pattern `/`).
    Root,
    /// Only elements with one of these names.
    Names(Vec<ExpandedName>),
    /// Only elements whose parent element has one of these names.
    ChildOf(Vec<ExpandedName>),
    /// Only elements with a child element `child` whose attribute `attr` has one of these
    /// values (the shape `*[cda:templateId/@root = '…']` of most ANS rule contexts).
    ChildAttribute {
        /// The child element's name.
        child: ExpandedName,
        /// The attribute's name.
        attr: ExpandedName,
        /// The values, compared as strings.
        values: Vec<String>,
    },
    /// Only elements named `name` whose parent element has a child element `child` whose
    /// attribute `attr` has one of these values (`cda:observation[cda:templateId/@root =
    /// '…']/cda:code`, the value-set rules' contexts): the children of the elements a
    /// [`Prefilter::ChildAttribute`] would give.
    ParentChildAttribute {
        /// The element's name.
        name: ExpandedName,
        /// The parent's child element's name.
        child: ExpandedName,
        /// The attribute's name.
        attr: ExpandedName,
        /// The values, compared as strings.
        values: Vec<String>,
    },
}

impl Prefilter {
    /// Whether `node` passes the condition that a child-attribute prefilter states (names are
    /// checked by the structural match, so only [`Prefilter::ChildAttribute`] and
    /// [`Prefilter::ParentChildAttribute`] look at the node or its parent here): a few string
    /// comparisons instead of evaluating the rule's predicate.
    pub fn admits(&self, doc: &Document, node: NodeId) -> bool {
        let (at, child, attr, values) = match self {
            Prefilter::ChildAttribute {
                child,
                attr,
                values,
            } => (Some(node), child, attr, values),
            Prefilter::ParentChildAttribute {
                child,
                attr,
                values,
                ..
            } => (doc.parent(node), child, attr, values),
            _ => return true,
        };
        at.is_some_and(|at| {
            doc.element_children(at).any(|c| {
                doc.name(c) == *child
                    && doc
                        .attribute(c, *attr)
                        .is_some_and(|a| values.iter().any(|v| v == doc.value(a)))
            })
        })
    }
}

/// The child-attribute condition on the parent of a path pattern's last step, when that step
/// names its element and is joined to its parent's step by `/` (`a[c/@x = 'v']/b`).
fn parent_child_attribute(alt: &PathPattern) -> Option<(ExpandedName, ExpandedName, Vec<String>)> {
    let [.., parent, last] = alt.steps.as_slice() else {
        return None;
    };
    if last.axis != Axis::Child || last.descendant || parent.axis != Axis::Child {
        return None;
    }
    if !matches!(last.test, NodeTest::Name(_) | NodeTest::Element(Some(_))) {
        return None;
    }
    step_child_attribute(parent)
}

/// The first child-attribute condition among a step's predicates that filter by their
/// boolean value.
fn step_child_attribute(step: &PatternStep) -> Option<(ExpandedName, ExpandedName, Vec<String>)> {
    step.preds
        .iter()
        .filter(|p| p.boolean)
        .find_map(|p| child_attr_equals(&p.expr))
}

/// `child/@attr = 'literal'` (either side, possibly inside `and`): its parts.
fn child_attr_equals(e: &Expr) -> Option<(ExpandedName, ExpandedName, Vec<String>)> {
    match e {
        Expr::And(a, b) => child_attr_equals(a).or_else(|| child_attr_equals(b)),
        Expr::CmpStrs(Cmp::Eq, path, lits) => {
            let (c, a) = child_attribute_path(path)?;
            Some((c, a, lits.iter().map(|l| l.to_string()).collect()))
        }
        Expr::General(Cmp::Eq, l, r) => {
            let (path, lit) = match (&**l, &**r) {
                (p @ Expr::Path(..), Expr::Literal(a)) | (Expr::Literal(a), p @ Expr::Path(..)) => {
                    (p, a)
                }
                _ => return None,
            };
            let value = match lit {
                Atomic::String(v) | Atomic::Untyped(v) => v.to_string(),
                _ => return None,
            };
            let (c, a) = child_attribute_path(path)?;
            Some((c, a, vec![value]))
        }
        // `child[@attr = '…']` (the ANS's `*[cda:templateId[@root = '…']]`): a child element
        // with the attribute value exists.
        Expr::Exists(inner) => {
            let Expr::Step(step) = &**inner else {
                return None;
            };
            let (Axis::Child, NodeTest::Name(child)) = (step.axis, &step.test) else {
                return None;
            };
            let (attr, values) = step
                .preds
                .iter()
                .filter(|p| p.boolean)
                .find_map(|p| attribute_equals(&p.expr))?;
            Some((*child, attr, values))
        }
        _ => None,
    }
}

/// An attribute of the context node compared for equality with string literals (`@a = '…'`,
/// possibly among other conditions joined by `and`): its name and the values.
fn attribute_equals(e: &Expr) -> Option<(ExpandedName, Vec<String>)> {
    let attribute = |e: &Expr| match e {
        Expr::Step(s) if s.axis == Axis::Attribute && s.preds.is_empty() => match s.test {
            NodeTest::Name(a) => Some(a),
            _ => None,
        },
        _ => None,
    };
    match e {
        Expr::And(a, b) => attribute_equals(a).or_else(|| attribute_equals(b)),
        Expr::CmpStrs(Cmp::Eq, path, lits) => Some((
            attribute(path)?,
            lits.iter().map(|l| l.to_string()).collect(),
        )),
        Expr::General(Cmp::Eq, l, r) => {
            let (a, lit) = match (&**l, &**r) {
                (a, Expr::Literal(lit)) | (Expr::Literal(lit), a) => (attribute(a)?, lit),
                _ => return None,
            };
            match lit {
                Atomic::String(v) | Atomic::Untyped(v) => Some((a, vec![v.to_string()])),
                _ => None,
            }
        }
        _ => None,
    }
}

/// `child/@attr` without predicates: the two names (one child step of the paths that key kept
/// results, see [`crate::dependence::child_attribute_path`]).
fn child_attribute_path(path: &Expr) -> Option<(ExpandedName, ExpandedName)> {
    let key = crate::dependence::child_attribute_path(path)?;
    match *key.path {
        [child] => Some((child, key.name)),
        _ => None,
    }
}

/// A compiled XSLT 2.0 match pattern.
#[derive(Clone, Debug)]
pub struct Pattern {
    alternatives: Vec<PathPattern>,
    source: String,
    /// The predicate of the last step that [`Pattern::prefilter`] states exactly, when the
    /// pattern has one alternative and its prefilter is a [`Prefilter::ChildAttribute`]: a
    /// node the prefilter admits satisfies it (see [`Pattern::matches_admitted`]).
    admitted: Option<usize>,
}

/// Compiles a match pattern (a union of path patterns with child and attribute steps).
pub fn compile_pattern(src: &str, ctx: &StaticContext) -> Result<Pattern, CompileError> {
    let mut p = Parser::new(src, ctx)?;
    let mut alternatives = Vec::new();
    loop {
        alternatives.push(path_pattern(&mut p, src)?);
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
    let mut pattern = Pattern {
        alternatives,
        source: src.to_owned(),
        admitted: None,
    };
    if let (Prefilter::ChildAttribute { .. }, [alt]) =
        (pattern.prefilter(), pattern.alternatives.as_slice())
        && let Some(last) = alt.steps.last()
    {
        // The predicate the prefilter was read from (see `step_child_attribute`), when it says
        // no more than the prefilter does.
        pattern.admitted = last
            .preds
            .iter()
            .position(|p| p.boolean && child_attr_equals(&p.expr).is_some())
            .filter(|&k| states_child_attribute(&last.preds[k].expr));
    }
    Ok(pattern)
}

/// Whether `e` is exactly a condition [`child_attr_equals`] reads (`child/@attr = 'v'`, or
/// `child[@attr = 'v']` with no other predicate), not a part of a larger one: it holds exactly
/// when an element has a child `child` whose `attr` is one of the literals.
fn states_child_attribute(e: &Expr) -> bool {
    let attribute_equals_only =
        |e: &Expr| !matches!(e, Expr::And(..)) && attribute_equals(e).is_some();
    match e {
        Expr::CmpStrs(..) | Expr::General(..) => child_attr_equals(e).is_some(),
        Expr::Exists(inner) => match &**inner {
            Expr::Step(step) => {
                matches!((step.axis, &step.test), (Axis::Child, NodeTest::Name(_)))
                    && matches!(step.preds.as_slice(), [p] if p.boolean && attribute_equals_only(&p.expr))
            }
            _ => false,
        },
        _ => false,
    }
}

fn path_pattern(p: &mut Parser<'_, '_>, src: &str) -> Result<PathPattern, CompileError> {
    let anchor = if p.eat(&Tok::Slash) {
        Anchor::Root
    } else if p.eat(&Tok::DSlash) {
        Anchor::AnyRoot
    } else {
        Anchor::None
    };
    let mut steps = Vec::new();
    if anchor == Anchor::Root && matches!(p.peek(), Tok::Eof | Tok::Pipe) {
        return Ok(PathPattern {
            anchor,
            steps,
            memo_ids: Vec::new(),
        });
    }
    let mut descendant = false;
    let mut texts = Vec::new();
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
        texts.push(src.get(at..p.offset()).unwrap_or_default().trim());
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
            preds: step
                .preds
                .into_iter()
                .map(|mut p| {
                    p.expr.optimize(p.boolean);
                    p
                })
                .collect(),
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
    let memo_ids = prefix_ids(anchor, &steps, &texts);
    Ok(PathPattern {
        anchor,
        steps,
        memo_ids,
    })
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

    /// A necessary condition on the nodes this pattern can match, cheap to index: callers
    /// look up candidates instead of trying the pattern on every node.
    pub fn prefilter(&self) -> Prefilter {
        let mut names = Vec::new();
        let mut parents = Vec::new();
        let mut all_child_of = true;
        let mut child_attr: Option<(ExpandedName, ExpandedName, Vec<String>)> = None;
        let mut all_child_attr = true;
        let mut all_named = true;
        if self.alternatives.iter().all(|alt| alt.steps.is_empty()) {
            return Prefilter::Root;
        }
        for alt in &self.alternatives {
            let Some(last) = alt.steps.last() else {
                return Prefilter::Any;
            };
            if last.axis != Axis::Child {
                return Prefilter::Any;
            }
            let parent_name = match alt.steps.len().checked_sub(2).map(|i| &alt.steps[i]) {
                Some(PatternStep {
                    axis: Axis::Child,
                    test: NodeTest::Name(pn) | NodeTest::Element(Some(pn)),
                    ..
                }) if !last.descendant => Some(*pn),
                _ => None,
            };
            match parent_name {
                Some(pn) => parents.push(pn),
                None => all_child_of = false,
            }
            match &last.test {
                NodeTest::Name(en) | NodeTest::Element(Some(en)) => names.push(*en),
                NodeTest::AnyName
                | NodeTest::Element(None)
                | NodeTest::Namespace(_)
                | NodeTest::Local(_) => all_named = false,
                _ => return Prefilter::Any,
            }
            let found = step_child_attribute(last);
            match (found, &mut child_attr) {
                (Some((c, a, v)), None) => child_attr = Some((c, a, v)),
                (Some((c, a, v)), Some((c0, a0, vs))) if c == *c0 && a == *a0 => vs.extend(v),
                _ => all_child_attr = false,
            }
        }
        match child_attr {
            Some((child, attr, values)) if all_child_attr => Prefilter::ChildAttribute {
                child,
                attr,
                values,
            },
            _ if let ([alt], [name]) = (self.alternatives.as_slice(), names.as_slice())
                && let Some((child, attr, values)) = parent_child_attribute(alt) =>
            {
                Prefilter::ParentChildAttribute {
                    name: *name,
                    child,
                    attr,
                    values,
                }
            }
            _ if all_named => Prefilter::Names(names),
            _ if all_child_of => Prefilter::ChildOf(parents),
            _ => Prefilter::Any,
        }
    }

    /// Whether the kinds and names of `node` and of its ancestors, along the trailing steps
    /// joined by `/`, fit some alternative: a necessary condition for [`Pattern::matches`] that
    /// depends only on the kinds and names on the path from the document node to `node`, so
    /// callers may remember it per such path.
    pub fn fits_structure(&self, doc: &Document, node: NodeId) -> bool {
        let node = NodeRef { doc: 0, node };
        self.alternatives.iter().any(|alt| {
            if alt.steps.is_empty() {
                doc.kind(node.node) == NodeKind::Document
            } else {
                structure_fits(doc, alt, node)
            }
        })
    }

    /// Whether `node` matches (predicates see `current()` as the node being matched).
    pub fn matches(&self, node: NodeRef, ctx: &DynamicContext<'_>) -> Result<bool, EvalError> {
        self.matches_with(node, ctx, false, None)
    }

    /// [`Pattern::matches`] for a node the caller knows [`Pattern::fits_structure`] (a rule
    /// runner remembers that per node path): a pattern of one alternative skips that check.
    pub fn matches_fitting(
        &self,
        node: NodeRef,
        ctx: &DynamicContext<'_>,
    ) -> Result<bool, EvalError> {
        self.matches_with(node, ctx, self.alternatives.len() == 1, None)
    }

    /// [`Pattern::matches_fitting`] for a node that [`Pattern::prefilter`] admits too (see
    /// [`Prefilter::admits`]): the predicate the prefilter states is not evaluated again.
    pub fn matches_admitted(
        &self,
        node: NodeRef,
        ctx: &DynamicContext<'_>,
    ) -> Result<bool, EvalError> {
        self.matches_with(node, ctx, self.alternatives.len() == 1, self.admitted)
    }

    fn matches_with(
        &self,
        node: NodeRef,
        ctx: &DynamicContext<'_>,
        fits: bool,
        admitted: Option<usize>,
    ) -> Result<bool, EvalError> {
        let mut ev = Evaluator {
            ctx,
            current: Some(Item::Node(node)),
            locals: crate::value::Sequence::new(),
        };
        for alt in &self.alternatives {
            if alt.steps.is_empty() {
                if ev.doc(node).kind(node.node) == NodeKind::Document {
                    return Ok(true);
                }
                continue;
            }
            // The last step's result is not kept (see `prefix_ids`): it is matched here,
            // without the predicate the caller's prefilter decided.
            if (fits || structure_fits(ev.doc(node), alt, node))
                && match_prefix(&mut ev, alt, alt.steps.len() - 1, node, admitted)?
            {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// A necessary condition, checked before any predicate: the node and its ancestors have the
/// kinds and names of the trailing steps joined by `/` (most rule contexts are long absolute
/// paths, so this rejects almost every candidate without evaluating an expression).
fn structure_fits(doc: &Document, alt: &PathPattern, node: NodeRef) -> bool {
    let mut n = node.node;
    for i in (0..alt.steps.len()).rev() {
        let step = &alt.steps[i];
        let kind = doc.kind(n);
        let principal = match step.axis {
            Axis::Attribute if kind == NodeKind::Attribute => NodeKind::Attribute,
            Axis::Child if !matches!(kind, NodeKind::Attribute | NodeKind::Document) => {
                NodeKind::Element
            }
            _ => return false,
        };
        if !name_test(doc, n, &step.test, principal) {
            return false;
        }
        let Some(parent) = doc.parent(n) else {
            return false;
        };
        if i == 0 {
            return alt.anchor != Anchor::Root || doc.kind(parent) == NodeKind::Document;
        }
        if step.descendant {
            return true;
        }
        n = parent;
    }
    true
}

/// Whether `node` matches `alt.steps[0..=i]` (with the anchor), remembered in the dynamic
/// context for prefixes that have an id.
fn match_from(
    ev: &mut Evaluator<'_, '_>,
    alt: &PathPattern,
    i: usize,
    node: NodeRef,
) -> Result<bool, EvalError> {
    let Some(id) = alt.memo_ids[i] else {
        return match_prefix(ev, alt, i, node, None);
    };
    if let Some(&known) = ev.ctx.pattern_memo.borrow().get(&(id, node)) {
        return Ok(known);
    }
    let result = match_prefix(ev, alt, i, node, None)?;
    ev.ctx.pattern_memo.borrow_mut().insert((id, node), result);
    Ok(result)
}

/// Whether `node` matches steps `..=i` of `alt`, step `i`'s predicate `skip` taken as true.
fn match_prefix(
    ev: &mut Evaluator<'_, '_>,
    alt: &PathPattern,
    i: usize,
    node: NodeRef,
    skip: Option<usize>,
) -> Result<bool, EvalError> {
    let step = &alt.steps[i];
    if !step_matches(ev, step, node, skip)? {
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
    skip: Option<usize>,
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
        for (k, p) in step.preds.iter().enumerate() {
            if Some(k) != skip && !ev.ebv(&p.expr, &focus)? {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    // Positional predicates count among the siblings the step selects from the parent.
    let Some(parent) = doc.parent(node.node) else {
        return Ok(false);
    };
    let mut candidates = crate::value::Sequence::new();
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
