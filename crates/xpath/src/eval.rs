//! The tree-walking evaluator: sequences of cheap items, nodes compared by index, node values
//! borrowed from their documents for comparisons.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use segur_xml::{Document, ExpandedName, NodeId, NodeKind};

use crate::DynamicContext;
use crate::ast::{
    Arith, Axis, Cmp, Expr, ItemType, NodeCmp, NodeTest, Occurrence, Predicate, SeqType, SetOp,
    Step,
};
use crate::error::EvalError;
use crate::value::{Atomic, AtomicType, Item, NodeRef, Sequence, parse_double};

pub(crate) type Res<T> = Result<T, EvalError>;

/// The strings of a constant sequence, for membership tests.
pub(crate) type StringSet = std::collections::HashSet<Box<str>>;

#[derive(Clone, Debug)]
pub(crate) struct Focus {
    pub(crate) item: Option<Item>,
    pub(crate) pos: usize,
    pub(crate) size: usize,
}

impl Focus {
    pub(crate) fn of(item: Option<Item>) -> Focus {
        Focus {
            item,
            pos: 1,
            size: 1,
        }
    }
}

pub(crate) struct Evaluator<'c, 'a> {
    pub(crate) ctx: &'c DynamicContext<'a>,
    pub(crate) current: Option<Item>,
    pub(crate) locals: Sequence,
}

/// An atomized operand of a comparison: node values stay borrowed.
#[derive(Debug)]
pub(crate) enum Val<'x> {
    Untyped(Cow<'x, str>),
    Atom(Cow<'x, Atomic>),
}

const MAX_RANGE: i64 = 1 << 26;

impl<'c, 'a> Evaluator<'c, 'a> {
    pub(crate) fn doc(&self, n: NodeRef) -> &'c Document {
        let ctx: &'c DynamicContext<'a> = self.ctx;
        // Node references only come from this context, so the document is present.
        ctx.document(n).unwrap_or(ctx.main_document())
    }

    pub(crate) fn node_string(&self, n: NodeRef) -> Cow<'c, str> {
        self.doc(n).string_value(n.node)
    }

    pub(crate) fn item_string<'x>(&self, item: &'x Item) -> Cow<'x, str>
    where
        'c: 'x,
    {
        match item {
            Item::Node(n) => self.node_string(*n),
            Item::Atomic(Atomic::String(s) | Atomic::Untyped(s) | Atomic::AnyUri(s)) => {
                Cow::Borrowed(s)
            }
            Item::Atomic(a) => Cow::Owned(a.to_string()),
        }
    }

    pub(crate) fn atomize_item(&self, item: &Item) -> Atomic {
        match item {
            Item::Node(n) => Atomic::Untyped(Arc::from(&*self.node_string(*n))),
            Item::Atomic(a) => a.clone(),
        }
    }

    pub(crate) fn atomize(&self, seq: &[Item]) -> Vec<Atomic> {
        seq.iter().map(|i| self.atomize_item(i)).collect()
    }

    pub(crate) fn vals<'x>(&self, seq: &'x [Item]) -> Vec<Val<'x>>
    where
        'c: 'x,
    {
        seq.iter().map(|i| self.val(i)).collect()
    }

    /// One item atomized for a comparison (node values borrowed where they can be).
    pub(crate) fn val<'x>(&self, item: &'x Item) -> Val<'x>
    where
        'c: 'x,
    {
        match item {
            Item::Node(n) => Val::Untyped(self.node_string(*n)),
            Item::Atomic(Atomic::Untyped(s)) => Val::Untyped(Cow::Borrowed(s)),
            Item::Atomic(a) => Val::Atom(Cow::Borrowed(a)),
        }
    }

    /// `v castable as target` (`target?` when `optional`).
    fn castable(&self, v: &[Item], target: AtomicType, optional: bool) -> bool {
        match v {
            [] => optional,
            [item] => self.cast(&self.atomize_item(item), target).is_ok(),
            _ => false,
        }
    }

    /// The value of variable `i` where it lies (`name` names it in the error when it is unset).
    pub(crate) fn variable(&self, i: usize, name: &str) -> Res<&'c Sequence> {
        self.ctx.variable(i)?.ok_or_else(|| unset(name))
    }

    /// The value of `e`. Variables and literals, the most frequent operands, are answered
    /// here, without entering [`Evaluator::eval_any`] (whose frame is large to set up).
    #[inline]
    pub(crate) fn eval(&mut self, e: &Expr, f: &Focus) -> Res<Sequence> {
        match e {
            Expr::Var(i, name) => Ok(self.variable(*i, name)?.clone()),
            Expr::Literal(a) => Ok(Sequence::from_buf([Item::Atomic(a.clone())])),
            _ => self.eval_any(e, f),
        }
    }

    /// The value of `e`, any expression.
    fn eval_any(&mut self, e: &Expr, f: &Focus) -> Res<Sequence> {
        Ok(match e {
            Expr::Empty => Sequence::new(),
            Expr::Literal(a) => Sequence::from_buf([Item::Atomic(a.clone())]),
            Expr::ContextItem => {
                Sequence::from_buf([f.item.clone().ok_or(EvalError::NoContextItem)?])
            }
            Expr::Root => Sequence::from_buf([Item::Node(self.root_of(f)?)]),
            Expr::Var(i, name) => self.variable(*i, name)?.clone(),
            Expr::Local(i) => self.locals.get(*i).cloned().into_iter().collect(),
            Expr::Seq(items) => {
                // Room for one item each (`string-join(($a, $b, …), '')` joins a dozen
                // variables of one item on every timestamp), and single items pushed, not
                // extended.
                let mut out = Sequence::with_capacity(items.len());
                for i in items {
                    let mut v = self.eval(i, f)?;
                    match v.pop() {
                        None => {}
                        Some(last) if v.is_empty() => out.push(last),
                        Some(last) => {
                            out.extend(v);
                            out.push(last);
                        }
                    }
                }
                out
            }
            Expr::Path(lhs, rhs) => self.path(lhs, rhs, f)?,
            Expr::Memo(id, inner) => {
                if let Some(v) = self.ctx.memo.borrow().get(id) {
                    return Ok(v.clone());
                }
                let v = match self.ctx.shared_memo(*id)? {
                    Some(v) => v,
                    None => {
                        let v = self.eval(inner, f)?;
                        self.ctx.share_memo(*id, &v);
                        v
                    }
                };
                self.ctx.memo.borrow_mut().insert(*id, v.clone());
                v
            }
            Expr::Step(step) => {
                let n = self.context_node(f, "an axis step")?;
                let mut out = Sequence::new();
                self.step(n, step, &mut out)?;
                if step.axis.is_reverse() {
                    out.reverse();
                }
                out
            }
            Expr::Filter(base, preds) => {
                let mut items = self.eval(base, f)?;
                for p in preds {
                    items = self.filter(items, p)?;
                }
                items
            }
            Expr::SelfNames(steps) => {
                let n = self.context_node(f, "an axis step")?;
                if self.self_names(n, steps)? {
                    Sequence::from_buf([Item::Node(n)])
                } else {
                    Sequence::new()
                }
            }
            Expr::Or(..)
            | Expr::And(..)
            | Expr::Exists(_)
            | Expr::CmpStrs(..)
            | Expr::CountCmp(..)
            | Expr::General(..)
            | Expr::Quantified { .. }
            | Expr::InstanceOf(..)
            | Expr::Castable { .. } => {
                Sequence::from_buf([Item::Atomic(Atomic::Boolean(self.ebv(e, f)?))])
            }
            Expr::Value(op, a, b) => match self.value_compare(*op, a, b, f)? {
                Some(r) => Sequence::from_buf([Item::Atomic(Atomic::Boolean(r))]),
                None => Sequence::new(),
            },
            Expr::Node(op, a, b) => match self.node_compare(*op, a, b, f)? {
                Some(r) => Sequence::from_buf([Item::Atomic(Atomic::Boolean(r))]),
                None => Sequence::new(),
            },
            Expr::Arith(op, a, b) => {
                let x = self.eval(a, f)?;
                let y = self.eval(b, f)?;
                self.arith(*op, &x, &y)?
                    .map(Item::Atomic)
                    .into_iter()
                    .collect()
            }
            Expr::Neg(a) => {
                let x = self.eval(a, f)?;
                match self.numeric_operand(&x, "unary minus")? {
                    None => Sequence::new(),
                    Some(Atomic::Integer(i)) => Sequence::from_buf([Item::Atomic(
                        Atomic::Integer(i.checked_neg().ok_or(EvalError::Overflow)?),
                    )]),
                    Some(Atomic::Decimal(d)) => {
                        Sequence::from_buf([Item::Atomic(Atomic::Decimal(-d))])
                    }
                    Some(Atomic::Double(d)) => {
                        Sequence::from_buf([Item::Atomic(Atomic::Double(-d))])
                    }
                    Some(_) => Sequence::new(),
                }
            }
            Expr::Range(a, b) => {
                let x = self.eval(a, f)?;
                let y = self.eval(b, f)?;
                let (Some(lo), Some(hi)) = (
                    self.integer_operand(&x, "to")?,
                    self.integer_operand(&y, "to")?,
                ) else {
                    return Ok(Sequence::new());
                };
                if hi < lo {
                    return Ok(Sequence::new());
                }
                if hi.saturating_sub(lo) >= MAX_RANGE {
                    return Err(EvalError::InvalidArgument {
                        code: "XPDY0130",
                        context: "to",
                        value: format!("{lo} to {hi}"),
                    });
                }
                (lo..=hi)
                    .map(|i| Item::Atomic(Atomic::Integer(i)))
                    .collect()
            }
            Expr::Set(op, a, b) => {
                let x = self.eval(a, f)?;
                let y = self.eval(b, f)?;
                set_op(*op, x, y)?
            }
            Expr::CastableOr {
                expr,
                target,
                optional,
            } => {
                let v = self.eval(expr, f)?;
                if self.castable(&v, *target, *optional) {
                    v
                } else {
                    Sequence::new()
                }
            }
            Expr::If(c, t, other) => {
                if self.ebv(c, f)? {
                    self.eval(t, f)?
                } else {
                    self.eval(other, f)?
                }
            }
            Expr::For { bindings, body } => {
                let mut out = Sequence::new();
                self.for_each(bindings, 0, f, &mut |ev, f| {
                    out.extend(ev.eval(body, f)?);
                    Ok(true)
                })?;
                out
            }
            Expr::Treat(a, t) => {
                let v = self.eval(a, f)?;
                if !self.matches_type(&v, t) {
                    return Err(EvalError::Type {
                        context: "treat as",
                        expected: "the declared type",
                        found: describe_seq(&v),
                    });
                }
                v
            }
            Expr::Cast {
                expr,
                target,
                optional,
            } => {
                let v = self.eval(expr, f)?;
                match v.as_slice() {
                    [] if *optional => Sequence::new(),
                    [item] => Sequence::from_buf([Item::Atomic(
                        self.cast(&self.atomize_item(item), *target)?,
                    )]),
                    _ => {
                        return Err(EvalError::Cardinality {
                            code: "XPTY0004",
                            context: "cast as",
                            expected: "exactly one item",
                            count: v.len(),
                        });
                    }
                }
            }
            Expr::Call(func, args) => self.call(*func, args, None, f)?,
            Expr::RegexCall(func, args, re) => self.call(*func, args, Some(re), f)?,
        })
    }

    fn root_of(&self, f: &Focus) -> Res<NodeRef> {
        let n = self.context_node(f, "'/'")?;
        let doc = self.doc(n);
        let mut top = n.node;
        while let Some(p) = doc.parent(top) {
            top = p;
        }
        if doc.kind(top) != NodeKind::Document {
            return Err(EvalError::NotANode {
                code: "XPDY0050",
                context: "'/'",
                found: "a tree without document node".into(),
            });
        }
        Ok(NodeRef {
            doc: n.doc,
            node: top,
        })
    }

    pub(crate) fn context_node(&self, f: &Focus, context: &'static str) -> Res<NodeRef> {
        match &f.item {
            Some(Item::Node(n)) => Ok(*n),
            Some(Item::Atomic(a)) => Err(EvalError::NotANode {
                code: "XPTY0020",
                context,
                found: a.type_name().into(),
            }),
            None => Err(EvalError::NoContextItem),
        }
    }

    fn path(&mut self, lhs: &Expr, rhs: &Expr, f: &Focus) -> Res<Sequence> {
        let input = self.eval(lhs, f)?;
        let mut out = Sequence::new();
        let size = input.len();
        if let Expr::Step(step) = rhs {
            for item in &input {
                let Item::Node(n) = item else {
                    return Err(EvalError::NotANode {
                        code: "XPTY0019",
                        context: "'/'",
                        found: describe_item(item),
                    });
                };
                self.step(*n, step, &mut out)?;
            }
            doc_order(&mut out);
            return Ok(out);
        }
        let mut nodes = 0usize;
        for (i, item) in input.into_iter().enumerate() {
            if !matches!(item, Item::Node(_)) {
                return Err(EvalError::NotANode {
                    code: "XPTY0019",
                    context: "'/'",
                    found: describe_item(&item),
                });
            }
            let focus = Focus {
                item: Some(item),
                pos: i + 1,
                size,
            };
            let r = self.eval(rhs, &focus)?;
            nodes += r.iter().filter(|i| matches!(i, Item::Node(_))).count();
            out.extend(r);
        }
        if nodes == out.len() {
            doc_order(&mut out);
        } else if nodes != 0 {
            return Err(EvalError::MixedPath);
        }
        Ok(out)
    }

    /// Appends the step's result for context node `n`, in axis order.
    pub(crate) fn step(&mut self, n: NodeRef, step: &Step, out: &mut Sequence) -> Res<()> {
        if n.doc != 0 && n.node == segur_xml::NodeId::ROOT && self.indexed_lookup(n, step, out)? {
            return Ok(());
        }
        if n.doc == 0
            && n.node == segur_xml::NodeId::ROOT
            && matches!(step.axis, Axis::Descendant | Axis::DescendantOrSelf)
            && matches!(step.test, NodeTest::Name(_) | NodeTest::Local(_))
        {
            // `//name` or `//*:local` (or `//self::name`) over the context document: its
            // elements of that name, from an index (the document node has no name).
            let local;
            let found: &[u32] = match &step.test {
                NodeTest::Name(name) => self.ctx.elements_named(*name),
                NodeTest::Local(l) => {
                    local = self.ctx.elements_with_local_name(*l);
                    &local
                }
                _ => &[],
            };
            let mut nodes: Sequence = found
                .iter()
                .map(|&i| {
                    Item::Node(NodeRef {
                        doc: 0,
                        node: segur_xml::NodeId::from_index(i),
                    })
                })
                .collect();
            for p in &step.preds {
                nodes = self.filter(nodes, p)?;
            }
            append(out, nodes);
            return Ok(());
        }
        if step.preds.is_empty() {
            axis_nodes(self.doc(n), n, step.axis, &step.test, out);
            return Ok(());
        }
        let mut nodes = Sequence::new();
        let doc = self.doc(n);
        let mut preds = step.preds.as_slice();
        match self.local_names_wanted(&preds[0]) {
            Ok(Some(wanted)) => {
                let named = |m: NodeId| {
                    let name = local_name_of(doc, m);
                    wanted.iter().any(|w| *w == name)
                };
                axis_nodes_where(doc, n, step.axis, &step.test, named, &mut nodes);
                preds = &preds[1..];
            }
            Ok(None) => axis_nodes(doc, n, step.axis, &step.test, &mut nodes),
            Err(e) => {
                // The predicate raises this error on the first node it is applied to.
                axis_nodes(doc, n, step.axis, &step.test, &mut nodes);
                if !nodes.is_empty() {
                    return Err(e);
                }
            }
        }
        for p in preds {
            nodes = self.filter(nodes, p)?;
        }
        append(out, nodes);
        Ok(())
    }

    /// For a predicate `[local-name() = $v]` (or a literal), the names it keeps, worked out
    /// once for all the nodes of a step, not once per node: StrucMin's datatype rules bind
    /// `preceding-sibling::*[local-name()=$name] | following-sibling::*[local-name()=$name]` on
    /// every identifier, code, address and quantity, over all their siblings. The predicate
    /// does not depend on position, so applying it while the axis is walked leaves the later
    /// predicates the same sequence. `None` for any other predicate, or when a value on the
    /// right is not text (the general comparison then decides, errors included).
    fn local_names_wanted(
        &self,
        p: &Predicate,
    ) -> Res<Option<smallvec::SmallVec<[Cow<'c, str>; 2]>>> {
        let Expr::General(Cmp::Eq, lhs, rhs) = &p.expr else {
            return Ok(None);
        };
        let Expr::Call(crate::functions::Func::LocalName, args) = &**lhs else {
            return Ok(None);
        };
        if !args.is_empty() {
            return Ok(None);
        }
        let ctx = self.ctx;
        let mut wanted = smallvec::SmallVec::new();
        match &**rhs {
            Expr::Literal(lit) => match lit.as_text() {
                Some(t) => wanted.push(Cow::Owned(t.to_owned())),
                None => return Ok(None),
            },
            Expr::Var(i, var) => {
                for item in ctx.variable(*i)?.ok_or_else(|| unset(var))? {
                    wanted.push(match item {
                        Item::Atomic(a) => match a.as_text() {
                            Some(t) => Cow::Borrowed(t),
                            None => return Ok(None),
                        },
                        Item::Node(m) => self.node_string(*m),
                    });
                }
            }
            _ => return Ok(None),
        }
        Ok(Some(wanted))
    }

    /// `doc(…)//name[text() = $x]` or `doc(…)//name[. = $x]` over a loaded (shared,
    /// immutable) document, with `$x` independent of the focus: answered from an index built
    /// once per process (value-set and terminology files are scanned once, not per lookup).
    /// Returns false when the step does not have that shape (the caller evaluates it).
    fn indexed_lookup(&mut self, n: NodeRef, step: &Step, out: &mut Sequence) -> Res<bool> {
        let (Axis::Descendant, NodeTest::Name(name), [pred]) =
            (step.axis, &step.test, step.preds.as_slice())
        else {
            return Ok(false);
        };
        let (lhs, rhs, lits) = match &pred.expr {
            Expr::General(Cmp::Eq, lhs, rhs) => (lhs, Some(rhs), None),
            Expr::CmpStrs(Cmp::Eq, lhs, lits) => (lhs, None, Some(lits)),
            _ => return Ok(false),
        };
        let by_text = match &**lhs {
            Expr::ContextItem => false,
            Expr::Step(s)
                if s.axis == Axis::Child && s.test == NodeTest::Text && s.preds.is_empty() =>
            {
                true
            }
            _ => return Ok(false),
        };
        if rhs.is_some_and(|r| !focus_free(r)) {
            return Ok(false);
        }
        let Some(doc) = self.ctx.loaded_document(n.doc) else {
            return Ok(false);
        };
        let mut wanted: Vec<Arc<str>> = Vec::new();
        if let Some(rhs) = rhs {
            let keys = self.eval(rhs, &Focus::of(None))?;
            for k in &keys {
                match self.atomize_item(k) {
                    Atomic::String(v) | Atomic::Untyped(v) | Atomic::AnyUri(v) => wanted.push(v),
                    _ => return Ok(false),
                }
            }
        }
        wanted.extend(lits.into_iter().flatten().map(|l| Arc::from(&**l)));
        let mut found: Vec<u32> = Vec::new();
        match value_index(&doc, *name, by_text) {
            Some(index) => {
                for v in &wanted {
                    index.lookup(v, &mut found);
                }
            }
            // The first lookups in a document scan it: one document's few codes are found
            // sooner than an index is sorted (start-up), a corpus's many pay for the index.
            None => {
                for &e in doc.elements_named(*name) {
                    let el = segur_xml::NodeId::from_index(e);
                    let hit = if by_text {
                        doc.children(el).any(|t| {
                            doc.kind(t) == NodeKind::Text
                                && wanted.iter().any(|v| **v == *doc.value(t))
                        })
                    } else {
                        let sv = doc.string_value(el);
                        wanted.iter().any(|v| **v == *sv)
                    };
                    if hit {
                        found.push(e);
                    }
                }
            }
        }
        if wanted.len() > 1 {
            found.sort_unstable();
            found.dedup();
        }
        out.extend(found.into_iter().map(|i| {
            Item::Node(NodeRef {
                doc: n.doc,
                node: segur_xml::NodeId::from_index(i),
            })
        }));
        Ok(true)
    }

    pub(crate) fn filter(&mut self, items: Sequence, p: &Predicate) -> Res<Sequence> {
        if let Expr::Literal(Atomic::Integer(k)) = p.expr {
            let keep = usize::try_from(k)
                .ok()
                .and_then(|k| k.checked_sub(1))
                .and_then(|k| items.get(k).cloned());
            return Ok(keep.into_iter().collect());
        }
        let size = items.len();
        let mut out = Sequence::new();
        for (i, item) in items.into_iter().enumerate() {
            let focus = Focus {
                item: Some(item),
                pos: i + 1,
                size,
            };
            let keep = if p.boolean {
                self.ebv(&p.expr, &focus)?
            } else {
                let v = self.eval(&p.expr, &focus)?;
                match v.as_slice() {
                    [Item::Atomic(a)] if a.is_numeric() => a.as_f64() == Some((i + 1) as f64),
                    _ => ebv_of(&v)?,
                }
            };
            if keep && let Some(item) = focus.item {
                out.push(item);
            }
        }
        Ok(out)
    }

    /// The effective boolean value, short-circuiting where the operator allows. The
    /// connectives, `not()` and attribute or child tests, which make most of a schematron's
    /// checks (`not(@nullFlavor and @identifierName)`), are answered here, in a small frame;
    /// the rest in [`Evaluator::ebv_any`].
    pub(crate) fn ebv(&mut self, e: &Expr, f: &Focus) -> Res<bool> {
        match e {
            Expr::Or(a, b) => Ok(self.ebv(a, f)? || self.ebv(b, f)?),
            Expr::And(a, b) => Ok(self.ebv(a, f)? && self.ebv(b, f)?),
            Expr::Call(crate::functions::Func::Not, args) if args.len() == 1 => {
                Ok(!self.ebv(&args[0], f)?)
            }
            Expr::Step(step) if step.preds.is_empty() => {
                let n = self.context_node(f, "an axis step")?;
                Ok(axis_exists(self.doc(n), n, step.axis, &step.test))
            }
            _ => self.ebv_any(e, f),
        }
    }

    /// [`Evaluator::ebv`] of any expression.
    fn ebv_any(&mut self, e: &Expr, f: &Focus) -> Res<bool> {
        match e {
            Expr::Or(a, b) => Ok(self.ebv(a, f)? || self.ebv(b, f)?),
            Expr::And(a, b) => Ok(self.ebv(a, f)? && self.ebv(b, f)?),
            Expr::General(op, a, b) => self.general_compare(*op, a, b, f),
            Expr::Value(op, a, b) => Ok(self.value_compare(*op, a, b, f)?.unwrap_or(false)),
            Expr::Node(op, a, b) => Ok(self.node_compare(*op, a, b, f)?.unwrap_or(false)),
            Expr::Literal(a) => ebv_of(std::slice::from_ref(&Item::Atomic(a.clone()))),
            Expr::Quantified {
                every,
                bindings,
                body,
            } if let Some((slot, range, preds)) = quantified_filter(bindings, body) => {
                // `every $x in S satisfies $x[P]`: `$x[P]` is non-empty exactly when the
                // predicates hold with `$x` as context item (position 1 of 1), so they are
                // evaluated there directly, in the same order, without building `$x[P]`.
                let every = *every;
                if let Expr::Step(step) = range
                    && step.preds.is_empty()
                    && matches!(step.axis, Axis::Descendant | Axis::DescendantOrSelf)
                    && let Some(Item::Node(n)) = &f.item
                    && n.node != segur_xml::NodeId::ROOT
                {
                    // The range walked in document order as it would be built (`descendant`
                    // steps have no predicates to filter here), without building it.
                    let n = *n;
                    let doc = self.doc(n);
                    for m in descendants(doc, n.node, step.axis) {
                        if !name_test(doc, m, &step.test, NodeKind::Element) {
                            continue;
                        }
                        let v = Item::Node(NodeRef {
                            doc: n.doc,
                            node: m,
                        });
                        if self.bound_filter_holds(slot, v, preds)? != every {
                            return Ok(!every);
                        }
                    }
                    return Ok(every);
                }
                for v in self.eval(range, f)? {
                    if self.bound_filter_holds(slot, v, preds)? != every {
                        return Ok(!every);
                    }
                }
                Ok(every)
            }
            Expr::Quantified {
                every,
                bindings,
                body,
            } => {
                let every = *every;
                let mut result = every;
                self.for_each(bindings, 0, f, &mut |ev, f| {
                    let b = ev.ebv(body, f)?;
                    if b != every {
                        result = !every;
                        return Ok(false);
                    }
                    Ok(true)
                })?;
                Ok(result)
            }
            Expr::InstanceOf(a, t) => {
                let v = self.eval(a, f)?;
                Ok(self.matches_type(&v, t))
            }
            Expr::Castable {
                expr,
                target,
                optional,
            } => {
                let v = self.eval(expr, f)?;
                Ok(self.castable(&v, *target, *optional))
            }
            Expr::Step(step) if step.preds.is_empty() => {
                let n = self.context_node(f, "an axis step")?;
                Ok(axis_exists(self.doc(n), n, step.axis, &step.test))
            }
            Expr::Exists(path) => self.any_node(path, f, &mut |_, _| Ok(true)),
            Expr::SelfNames(steps) => {
                let n = self.context_node(f, "an axis step")?;
                self.self_names(n, steps)
            }
            Expr::CountCmp(op, path, k) => {
                // Counting past k + 1 cannot change the comparison with k.
                let cap = k.saturating_add(1).max(0);
                let mut count = 0i64;
                if cap > 0 {
                    self.any_node(path, f, &mut |_, _| {
                        count += 1;
                        Ok(count >= cap)
                    })?;
                }
                Ok(ord_matches(*op, count.cmp(k)))
            }
            Expr::CmpStrs(op, path, lits) => self.any_node(path, f, &mut |ev, n| {
                let v = ev.node_string(n);
                Ok(lits.iter().any(|l| str_cmp(*op, &v, l)))
            }),
            Expr::Call(func, args) => match self.call_boolean(*func, args, f)? {
                Some(b) => Ok(b),
                None => {
                    let v = self.call(*func, args, None, f)?;
                    ebv_of(&v)
                }
            },
            _ => {
                let v = self.eval(e, f)?;
                ebv_of(&v)
            }
        }
    }

    /// Binds range variable `slot` to `v` and tells whether the boolean predicates hold with
    /// `v` as context item, evaluated in order up to the first that fails (`$x[P]` in a
    /// quantifier, see [`quantified_filter`]).
    fn bound_filter_holds(&mut self, slot: usize, v: Item, preds: &[Predicate]) -> Res<bool> {
        if self.locals.len() <= slot {
            self.locals
                .resize(slot + 1, Item::Atomic(Atomic::Boolean(false)));
        }
        self.locals[slot] = v.clone();
        let focus = Focus::of(Some(v));
        for p in preds {
            if !self.ebv(&p.expr, &focus)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Binds the range variables one after another and calls `body` for each combination
    /// until it returns `false`.
    pub(crate) fn for_each(
        &mut self,
        bindings: &[(usize, Expr)],
        i: usize,
        f: &Focus,
        body: &mut dyn FnMut(&mut Self, &Focus) -> Res<bool>,
    ) -> Res<bool> {
        let Some((slot, e)) = bindings.get(i) else {
            return body(self, f);
        };
        let values = self.eval(e, f)?;
        for v in values {
            if self.locals.len() <= *slot {
                self.locals
                    .resize(*slot + 1, Item::Atomic(Atomic::Boolean(false)));
            }
            self.locals[*slot] = v;
            if !self.for_each(bindings, i + 1, f, body)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn general_compare(&mut self, op: Cmp, a: &Expr, b: &Expr, f: &Focus) -> Res<bool> {
        if op == Cmp::Eq
            && let Some(found) = self.in_constant_sets(a, b, f)?
        {
            return Ok(found);
        }
        if let Some(found) = self.local_name_compare(op, a, b, f)? {
            return Ok(found);
        }
        // A variable's value is compared where it lies, not copied; a literal or a single item
        // is atomized without collecting a vector (this runs for every sibling tested by
        // StrucMin's `preceding-sibling::*[local-name()=$name]`).
        let x_owned;
        let x: &[Item] = match a {
            Expr::Var(i, name) => self.variable(*i, name)?,
            _ => {
                x_owned = self.eval(a, f)?;
                &x_owned
            }
        };
        let y_owned;
        let y: &[Item] = match b {
            Expr::Literal(lit) => {
                let lit = Val::Atom(Cow::Borrowed(lit));
                for item in x {
                    if compare_general(op, &self.val(item), &lit)? {
                        return Ok(true);
                    }
                }
                return Ok(false);
            }
            Expr::Var(i, name) => self.variable(*i, name)?,
            _ => {
                y_owned = self.eval(b, f)?;
                &y_owned
            }
        };
        match y {
            [] => Ok(false),
            [one] => {
                let w = self.val(one);
                for item in x {
                    if compare_general(op, &self.val(item), &w)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            _ => {
                let ys = self.vals(y);
                for item in x {
                    let v = self.val(item);
                    for w in &ys {
                        if compare_general(op, &v, w)? {
                            return Ok(true);
                        }
                    }
                }
                Ok(false)
            }
        }
    }

    /// `local-name() op $v` (or a literal) when every item of the right side is text: the
    /// context node's interned name is compared in place, with no string built for it (the
    /// datatype rules of the structuration minimale test it on every sibling of thousands of
    /// nodes). `None`: not that shape, the general comparison decides.
    fn local_name_compare(&mut self, op: Cmp, a: &Expr, b: &Expr, f: &Focus) -> Res<Option<bool>> {
        let Expr::Call(crate::functions::Func::LocalName, args) = a else {
            return Ok(None);
        };
        if !args.is_empty() {
            return Ok(None);
        }
        let Some(Item::Node(n)) = &f.item else {
            return Ok(None);
        };
        let name = local_name_of(self.doc(*n), n.node);
        let ctx = self.ctx;
        let items: &[Item] = match b {
            Expr::Var(i, var) => ctx.variable(*i)?.ok_or_else(|| unset(var))?,
            Expr::Literal(lit) => {
                return Ok(lit.as_text().map(|t| str_cmp(op, name, t)));
            }
            _ => return Ok(None),
        };
        let mut found = false;
        for item in items {
            // xs:string against text (a string, an untyped value, a URI): compared as strings.
            let text = match item {
                Item::Atomic(a) => match a.as_text() {
                    Some(t) => Cow::Borrowed(t),
                    None => return Ok(None),
                },
                Item::Node(m) => self.node_string(*m),
            };
            found |= str_cmp(op, name, &text);
        }
        Ok(Some(found))
    }

    /// Calls `found` on the nodes of the node path `e` (see [`node_path`]) as they are
    /// reached, until it returns true. The order may differ from document order and a node may
    /// come more than once: only for existential uses (effective boolean value, comparisons).
    pub(crate) fn any_node(
        &mut self,
        e: &Expr,
        f: &Focus,
        found: &mut dyn FnMut(&mut Self, NodeRef) -> Res<bool>,
    ) -> Res<bool> {
        match e {
            Expr::Root => {
                let r = self.root_of(f)?;
                found(self, r)
            }
            Expr::ContextItem => {
                let n = self.context_node(f, "'.'")?;
                found(self, n)
            }
            Expr::Step(step) => {
                let n = self.context_node(f, "an axis step")?;
                self.any_in_step(n, step, found)
            }
            Expr::Path(lhs, rhs)
                if let Some((child, attr)) = child_attribute_path(lhs, rhs)
                    && let Some(Item::Node(n)) = &f.item
                    && n.doc == 0 =>
            {
                // `child/@attr` from the context document: the index has the pairs.
                for (_, a) in self.ctx.child_attributes(n.node, child, attr) {
                    if found(self, NodeRef { doc: 0, node: a })? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Expr::Path(lhs, rhs) => self.any_node(lhs, f, &mut |ev, n| {
                ev.any_node(rhs, &Focus::of(Some(Item::Node(n))), found)
            }),
            Expr::Set(SetOp::Union, a, b) => {
                Ok(self.any_node(a, f, found)? || self.any_node(b, f, found)?)
            }
            Expr::Filter(base, preds) => self.any_node(base, f, &mut |ev, n| {
                let focus = Focus::of(Some(Item::Node(n)));
                for p in preds {
                    if !ev.ebv(&p.expr, &focus)? {
                        return Ok(false);
                    }
                }
                found(ev, n)
            }),
            other => {
                let v = self.eval(other, f)?;
                self.any_of(v, found)
            }
        }
    }

    /// Whether one of the `self::name[…]` steps selects `n` (see [`Expr::SelfNames`]): the
    /// predicates of the steps naming `n` are evaluated in order, up to the first that holds.
    fn self_names(&mut self, n: NodeRef, steps: &[Step]) -> Res<bool> {
        let doc = self.doc(n);
        let focus = Focus::of(Some(Item::Node(n)));
        'steps: for step in steps {
            if !name_test(doc, n.node, &step.test, NodeKind::Element) {
                continue;
            }
            for p in &step.preds {
                if !self.ebv(&p.expr, &focus)? {
                    continue 'steps;
                }
            }
            return Ok(true);
        }
        Ok(false)
    }

    fn any_in_step(
        &mut self,
        n: NodeRef,
        step: &Step,
        found: &mut dyn FnMut(&mut Self, NodeRef) -> Res<bool>,
    ) -> Res<bool> {
        let doc = self.doc(n);
        // One monomorphic walk per axis: this runs for every predicate test, and a boxed
        // iterator cost an allocation each time.
        match step.axis {
            Axis::Child
                if n.doc == 0
                    && let Some((child, attr, op, lits)) = child_with_attribute_compared(step) =>
            {
                // `child[@attr op '…'][…]` from the context document: the index has the
                // children with that attribute, and the first predicate is that attribute's
                // comparison; the others are tested as `any_of_nodes` tests them.
                'children: for (c, a) in self.ctx.child_attributes(n.node, child, attr) {
                    let value = doc.value(a);
                    if !lits.iter().any(|l| str_cmp(op, value, l)) {
                        continue;
                    }
                    let c = NodeRef { doc: 0, node: c };
                    let focus = Focus::of(Some(Item::Node(c)));
                    for p in &step.preds[1..] {
                        if !self.ebv(&p.expr, &focus)? {
                            continue 'children;
                        }
                    }
                    if found(self, c)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Axis::Child if only_elements(&step.test) => self.any_of_nodes(
                n,
                step,
                NodeKind::Element,
                doc.element_children(n.node),
                found,
            ),
            Axis::Child => {
                self.any_of_nodes(n, step, NodeKind::Element, doc.children(n.node), found)
            }
            Axis::Attribute => {
                self.any_of_nodes(n, step, NodeKind::Attribute, doc.attributes(n.node), found)
            }
            Axis::SelfNode => {
                self.any_of_nodes(n, step, NodeKind::Element, std::iter::once(n.node), found)
            }
            // Walked in document order over the node's index range, without building the
            // sequence (a document node keeps the name indexes of `step`).
            Axis::Descendant | Axis::DescendantOrSelf if n.node != segur_xml::NodeId::ROOT => self
                .any_of_nodes(
                    n,
                    step,
                    NodeKind::Element,
                    descendants(doc, n.node, step.axis),
                    found,
                ),
            _ => {
                let mut v = Sequence::new();
                self.step(n, step, &mut v)?;
                self.any_of(v, found)
            }
        }
    }

    /// The nodes of `nodes` (from `n`'s document) that pass the step's test and predicates,
    /// given to `found` until it returns true.
    fn any_of_nodes(
        &mut self,
        n: NodeRef,
        step: &Step,
        principal: NodeKind,
        nodes: impl Iterator<Item = NodeId>,
        found: &mut dyn FnMut(&mut Self, NodeRef) -> Res<bool>,
    ) -> Res<bool> {
        let doc = self.doc(n);
        'nodes: for m in nodes {
            if !name_test(doc, m, &step.test, principal) {
                continue;
            }
            let m = NodeRef {
                doc: n.doc,
                node: m,
            };
            let focus = Focus::of(Some(Item::Node(m)));
            for p in &step.preds {
                if !self.ebv(&p.expr, &focus)? {
                    continue 'nodes;
                }
            }
            if found(self, m)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn any_of(
        &mut self,
        items: Sequence,
        found: &mut dyn FnMut(&mut Self, NodeRef) -> Res<bool>,
    ) -> Res<bool> {
        for item in items {
            match item {
                Item::Node(m) => {
                    if found(self, m)? {
                        return Ok(true);
                    }
                }
                other => {
                    return Err(EvalError::NotANode {
                        code: "XPTY0019",
                        context: "'/'",
                        found: describe_item(&other),
                    });
                }
            }
        }
        Ok(false)
    }

    /// `x = (doc('…')/…/@code)`: membership of `x`'s strings in the strings of memoized
    /// value-set paths (see [`Expr::Memo`]), through a hash set built once per process
    /// instead of a scan per comparison. `None` when `b` is not such a path or a value is not a
    /// string (the caller compares in full).
    fn in_constant_sets(&mut self, a: &Expr, b: &Expr, f: &Focus) -> Res<Option<bool>> {
        let memos: Vec<(u64, &Expr)> = match b {
            Expr::Memo(id, inner) => vec![(*id, &**inner)],
            Expr::Seq(items) if !items.is_empty() => {
                let mut v = Vec::with_capacity(items.len());
                for i in items {
                    let Expr::Memo(id, inner) = i else {
                        return Ok(None);
                    };
                    v.push((*id, &**inner));
                }
                v
            }
            _ => return Ok(None),
        };
        let mut sets = Vec::with_capacity(memos.len());
        for (id, inner) in memos {
            match self.constant_set(id, inner, f)? {
                Some(set) => sets.push(set),
                None => return Ok(None),
            }
        }
        let x = self.eval(a, f)?;
        let mut keys = Vec::with_capacity(x.len());
        for item in &x {
            match item {
                Item::Node(n) => keys.push(self.node_string(*n)),
                Item::Atomic(atom) => match atom.as_text() {
                    Some(t) => keys.push(Cow::Borrowed(t)),
                    None => return Ok(None),
                },
            }
        }
        Ok(Some(
            keys.iter()
                .any(|k| sets.iter().any(|set| set.contains(&**k))),
        ))
    }

    /// The strings of memoized expression `id` as a set, shared by every context of the
    /// process (the expression depends on a literal document URI alone); `None` when it holds
    /// a value that does not compare as a string.
    fn constant_set(&mut self, id: u64, inner: &Expr, f: &Focus) -> Res<Option<Arc<StringSet>>> {
        use std::sync::{Mutex, OnceLock};
        static SETS: OnceLock<Mutex<HashMap<u64, Option<Arc<StringSet>>>>> = OnceLock::new();
        if let Some(known) = self.ctx.memo_sets.borrow().get(&id) {
            return Ok(known.clone());
        }
        let sets = SETS.get_or_init(|| Mutex::new(HashMap::new()));
        let shared = sets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .cloned();
        let set = match shared {
            Some(set) => set,
            None => {
                let v = self.eval(&Expr::Memo(id, Box::new(inner.clone())), f)?;
                let mut set = StringSet::with_capacity(v.len());
                let mut all_text = true;
                for item in &v {
                    match item {
                        Item::Node(n) => {
                            set.insert(Box::from(&*self.node_string(*n)));
                        }
                        Item::Atomic(atom) => match atom.as_text() {
                            Some(t) => {
                                set.insert(Box::from(t));
                            }
                            None => all_text = false,
                        },
                    }
                }
                let set = all_text.then(|| Arc::new(set));
                sets.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(id, set.clone());
                set
            }
        };
        self.ctx.memo_sets.borrow_mut().insert(id, set.clone());
        Ok(set)
    }

    fn single_atomic(&self, seq: &[Item], context: &'static str) -> Res<Option<Atomic>> {
        match seq {
            [] => Ok(None),
            [item] => Ok(Some(self.atomize_item(item))),
            _ => Err(EvalError::Cardinality {
                code: "XPTY0004",
                context,
                expected: "at most one item",
                count: seq.len(),
            }),
        }
    }

    fn value_compare(&mut self, op: Cmp, a: &Expr, b: &Expr, f: &Focus) -> Res<Option<bool>> {
        let x = self.eval(a, f)?;
        let y = self.eval(b, f)?;
        let (Some(x), Some(y)) = (
            self.single_atomic(&x, "value comparison")?,
            self.single_atomic(&y, "value comparison")?,
        ) else {
            return Ok(None);
        };
        let untyped_to_string = |a: Atomic| match a {
            Atomic::Untyped(s) => Atomic::String(s),
            other => other,
        };
        let (x, y) = (untyped_to_string(x), untyped_to_string(y));
        compare_atomic(op, &x, &y).map(Some)
    }

    fn node_compare(&mut self, op: NodeCmp, a: &Expr, b: &Expr, f: &Focus) -> Res<Option<bool>> {
        let x = self.eval(a, f)?;
        let y = self.eval(b, f)?;
        let node = |s: &[Item]| -> Res<Option<NodeRef>> {
            match s {
                [] => Ok(None),
                [Item::Node(n)] => Ok(Some(*n)),
                [other] => Err(EvalError::Type {
                    context: "node comparison",
                    expected: "a node",
                    found: describe_item(other),
                }),
                _ => Err(EvalError::Cardinality {
                    code: "XPTY0004",
                    context: "node comparison",
                    expected: "at most one node",
                    count: s.len(),
                }),
            }
        };
        let (Some(m), Some(n)) = (node(&x)?, node(&y)?) else {
            return Ok(None);
        };
        Ok(Some(match op {
            NodeCmp::Is => m == n,
            NodeCmp::Precedes => m < n,
            NodeCmp::Follows => m > n,
        }))
    }

    pub(crate) fn numeric_operand(
        &self,
        seq: &[Item],
        context: &'static str,
    ) -> Res<Option<Atomic>> {
        let Some(a) = self.single_atomic(seq, context)? else {
            return Ok(None);
        };
        match a {
            Atomic::Untyped(s) => {
                let d = parse_double(&s).ok_or_else(|| EvalError::Cast {
                    value: s.to_string(),
                    target: "xs:double",
                })?;
                Ok(Some(Atomic::Double(d)))
            }
            a if a.is_numeric() => Ok(Some(a)),
            other => Err(EvalError::Type {
                context,
                expected: "a numeric value",
                found: other.type_name().into(),
            }),
        }
    }

    fn integer_operand(&self, seq: &[Item], context: &'static str) -> Res<Option<i64>> {
        let Some(a) = self.single_atomic(seq, context)? else {
            return Ok(None);
        };
        match a {
            Atomic::Integer(i) => Ok(Some(i)),
            Atomic::Untyped(_) => match self.cast(&a, AtomicType::Integer)? {
                Atomic::Integer(i) => Ok(Some(i)),
                _ => Ok(None),
            },
            other => Err(EvalError::Type {
                context,
                expected: "xs:integer",
                found: other.type_name().into(),
            }),
        }
    }

    pub(crate) fn arith(&self, op: Arith, x: &[Item], y: &[Item]) -> Res<Option<Atomic>> {
        let (Some(a), Some(b)) = (
            self.numeric_operand(x, "arithmetic")?,
            self.numeric_operand(y, "arithmetic")?,
        ) else {
            return Ok(None);
        };
        arith(op, &a, &b).map(Some)
    }

    pub(crate) fn matches_type(&self, v: &[Item], t: &SeqType) -> bool {
        let count_ok = match (t.occurrence, v.len()) {
            (_, 0) => matches!(t.occurrence, Occurrence::Optional | Occurrence::Many),
            (Occurrence::One | Occurrence::Optional, 1) => true,
            (Occurrence::One | Occurrence::Optional, _) => false,
            _ => true,
        };
        let Some(item_type) = &t.item else {
            return v.is_empty();
        };
        count_ok
            && v.iter().all(|item| match (item_type, item) {
                (ItemType::Item, _) => true,
                (ItemType::Atomic(at), Item::Atomic(a)) => a.is_instance(*at),
                (ItemType::Node(test), Item::Node(n)) => {
                    kind_test_matches(self.doc(*n), n.node, test)
                }
                _ => false,
            })
    }
}

pub(crate) fn describe_item(item: &Item) -> String {
    match item {
        Item::Node(_) => "a node".into(),
        Item::Atomic(a) => format!("{} {:?}", a.type_name(), a.to_string()),
    }
}

pub(crate) fn describe_seq(seq: &[Item]) -> String {
    match seq {
        [] => "an empty sequence".into(),
        [item] => describe_item(item),
        _ => format!("a sequence of {} items", seq.len()),
    }
}

pub(crate) fn ebv_of(seq: &[Item]) -> Res<bool> {
    match seq {
        [] => Ok(false),
        [Item::Node(_), ..] => Ok(true),
        [Item::Atomic(a)] => match a {
            Atomic::Boolean(b) => Ok(*b),
            Atomic::String(s) | Atomic::Untyped(s) | Atomic::AnyUri(s) => Ok(!s.is_empty()),
            Atomic::Integer(i) => Ok(*i != 0),
            Atomic::Decimal(d) | Atomic::Double(d) => Ok(*d != 0.0 && !d.is_nan()),
            other => Err(EvalError::EffectiveBoolean {
                found: other.type_name().into(),
            }),
        },
        _ => Err(EvalError::EffectiveBoolean {
            found: describe_seq(seq),
        }),
    }
}

/// Sorts nodes into document order without duplicates (cheaply when already ordered).
pub(crate) fn doc_order(v: &mut Sequence) {
    let key = |i: &Item| match i {
        Item::Node(n) => *n,
        Item::Atomic(_) => NodeRef {
            doc: u32::MAX,
            node: NodeId::from_index(u32::MAX),
        },
    };
    if v.windows(2).all(|w| key(&w[0]) < key(&w[1])) {
        return;
    }
    if v.windows(2).all(|w| key(&w[0]) > key(&w[1])) {
        v.reverse();
        return;
    }
    v.sort_unstable_by_key(key);
    v.dedup_by_key(|i| key(i));
}

fn set_op(op: SetOp, mut x: Sequence, mut y: Sequence) -> Res<Sequence> {
    for item in x.iter().chain(&y) {
        if !matches!(item, Item::Node(_)) {
            return Err(EvalError::Type {
                context: "union/intersect/except",
                expected: "nodes",
                found: describe_item(item),
            });
        }
    }
    Ok(match op {
        SetOp::Union => {
            x.append(&mut y);
            doc_order(&mut x);
            x
        }
        SetOp::Intersect | SetOp::Except => {
            doc_order(&mut x);
            doc_order(&mut y);
            let keys: Vec<NodeRef> = y
                .iter()
                .filter_map(|i| {
                    if let Item::Node(n) = i {
                        Some(*n)
                    } else {
                        None
                    }
                })
                .collect();
            let want = op == SetOp::Intersect;
            x.retain(|i| matches!(i, Item::Node(n) if keys.binary_search(n).is_ok() == want));
            x
        }
    })
}

#[inline]
pub(crate) fn name_test(doc: &Document, n: NodeId, test: &NodeTest, principal: NodeKind) -> bool {
    match test {
        NodeTest::Name(en) => doc.is_named(n, principal, *en),
        NodeTest::Namespace(ns) => {
            let (kind, name) = doc.kind_and_name(n);
            kind == principal && name.ns == *ns
        }
        NodeTest::Local(l) => {
            let (kind, name) = doc.kind_and_name(n);
            kind == principal && name.local == *l
        }
        NodeTest::AnyName => doc.kind(n) == principal,
        other => kind_test_matches(doc, n, other),
    }
}

pub(crate) fn kind_test_matches(doc: &Document, n: NodeId, test: &NodeTest) -> bool {
    let kind = doc.kind(n);
    match test {
        NodeTest::AnyNode => true,
        NodeTest::Text => kind == NodeKind::Text,
        NodeTest::Comment => kind == NodeKind::Comment,
        NodeTest::Document => kind == NodeKind::Document,
        NodeTest::Pi(t) => {
            kind == NodeKind::ProcessingInstruction && t.is_none_or(|t| doc.name(n).local == t)
        }
        NodeTest::Element(name) => {
            kind == NodeKind::Element && name.is_none_or(|en| doc.name(n) == en)
        }
        NodeTest::Attribute(name) => {
            kind == NodeKind::Attribute && name.is_none_or(|en| doc.name(n) == en)
        }
        NodeTest::Name(_) | NodeTest::Namespace(_) | NodeTest::Local(_) | NodeTest::AnyName => {
            name_test(doc, n, test, NodeKind::Element)
        }
    }
}

/// XPDY0002 for a variable read before it has a value.
/// `items` added at the end of `out`: moved as a whole when `out` is empty (a step's result
/// is most often the whole of its caller's).
fn append(out: &mut Sequence, items: Sequence) {
    if out.is_empty() {
        *out = items;
    } else {
        out.extend(items);
    }
}

fn unset(name: &str) -> EvalError {
    EvalError::UnsetVariable {
        name: name.to_string(),
    }
}

/// Pushes the nodes of `axis` from `n` that pass `test`, in axis order.
pub(crate) fn axis_nodes(
    doc: &Document,
    n: NodeRef,
    axis: Axis,
    test: &NodeTest,
    out: &mut Sequence,
) {
    axis_nodes_where(doc, n, axis, test, |_| true, out);
}

/// [`axis_nodes`], keeping only the nodes `keep` accepts.
pub(crate) fn axis_nodes_where(
    doc: &Document,
    n: NodeRef,
    axis: Axis,
    test: &NodeTest,
    mut keep: impl FnMut(NodeId) -> bool,
    out: &mut Sequence,
) {
    let principal = if axis == Axis::Attribute {
        NodeKind::Attribute
    } else {
        NodeKind::Element
    };
    let mut push = |m: NodeId| {
        if name_test(doc, m, test, principal) && keep(m) {
            out.push(Item::Node(NodeRef {
                doc: n.doc,
                node: m,
            }));
        }
    };
    let node = n.node;
    match axis {
        Axis::Child if only_elements(test) => doc.element_children(node).for_each(push),
        Axis::Child => doc.children(node).for_each(push),
        Axis::Attribute => doc.attributes(node).for_each(push),
        Axis::SelfNode => push(node),
        Axis::Parent => doc.parent(node).into_iter().for_each(push),
        Axis::Descendant | Axis::DescendantOrSelf => {
            if axis == Axis::DescendantOrSelf {
                push(node);
            }
            for i in doc.descendant_range(node) {
                let m = NodeId::from_index(i);
                if doc.kind(m) != NodeKind::Attribute {
                    push(m);
                }
            }
        }
        Axis::Ancestor => doc.ancestors(node).for_each(push),
        Axis::AncestorOrSelf => {
            push(node);
            doc.ancestors(node).for_each(push);
        }
        Axis::FollowingSibling => {
            let mut s = if doc.kind(node) == NodeKind::Attribute {
                None
            } else {
                doc.next_sibling(node)
            };
            while let Some(m) = s {
                push(m);
                s = doc.next_sibling(m);
            }
        }
        Axis::PrecedingSibling => {
            let mut s = if doc.kind(node) == NodeKind::Attribute {
                None
            } else {
                doc.prev_sibling(node)
            };
            while let Some(m) = s {
                push(m);
                s = doc.prev_sibling(m);
            }
        }
        Axis::Following => {
            for i in doc.subtree_end(node)..doc.len() as u32 {
                let m = NodeId::from_index(i);
                if doc.kind(m) != NodeKind::Attribute {
                    push(m);
                }
            }
        }
        Axis::Preceding => {
            for i in (1..node.index()).rev() {
                let m = NodeId::from_index(i);
                if doc.kind(m) != NodeKind::Attribute && doc.subtree_end(m) <= node.index() {
                    push(m);
                }
            }
        }
    }
}

/// Whether the axis holds a node passing `test`, stopping at the first.
fn axis_exists(doc: &Document, n: NodeRef, axis: Axis, test: &NodeTest) -> bool {
    let principal = if axis == Axis::Attribute {
        NodeKind::Attribute
    } else {
        NodeKind::Element
    };
    match axis {
        Axis::Child if only_elements(test) => doc
            .element_children(n.node)
            .any(|m| name_test(doc, m, test, principal)),
        Axis::Child => doc
            .children(n.node)
            .any(|m| name_test(doc, m, test, principal)),
        Axis::Attribute => doc
            .attributes(n.node)
            .any(|m| name_test(doc, m, test, principal)),
        Axis::Descendant => doc
            .descendant_range(n.node)
            .map(NodeId::from_index)
            .any(|m| doc.kind(m) != NodeKind::Attribute && name_test(doc, m, test, principal)),
        _ => {
            let mut out = Sequence::new();
            axis_nodes(doc, n, axis, test, &mut out);
            !out.is_empty()
        }
    }
}

/// Whether `test`, on the child axis (whose principal node kind is element), can select
/// elements only: a name test or `element()`. Such a step walks the element children alone.
fn only_elements(test: &NodeTest) -> bool {
    matches!(
        test,
        NodeTest::Name(_)
            | NodeTest::Namespace(_)
            | NodeTest::Local(_)
            | NodeTest::AnyName
            | NodeTest::Element(_)
    )
}

/// `child/@attr` with both steps plain names (`hl7:templateId/@root`): the two names.
fn child_attribute_path(lhs: &Expr, rhs: &Expr) -> Option<(ExpandedName, ExpandedName)> {
    let (Expr::Step(c), Expr::Step(a)) = (lhs, rhs) else {
        return None;
    };
    match (c.axis, &c.test, a.axis, &a.test) {
        (Axis::Child, NodeTest::Name(child), Axis::Attribute, NodeTest::Name(attr))
            if c.preds.is_empty() && a.preds.is_empty() =>
        {
            Some((*child, *attr))
        }
        _ => None,
    }
}

/// A child step by name whose first predicate compares one attribute, by name, with string
/// literals (`hl7:templateId[@root = '…']`, `hl7:code[@code = '…'][@codeSystem = '…']`), the
/// others being boolean: the names, the comparison and the literals.
fn child_with_attribute_compared(
    step: &Step,
) -> Option<(ExpandedName, ExpandedName, Cmp, &[Box<str>])> {
    let (NodeTest::Name(child), [p, rest @ ..]) = (&step.test, step.preds.as_slice()) else {
        return None;
    };
    if !rest.iter().all(|p| p.boolean) {
        return None;
    }
    let Expr::CmpStrs(op, path, lits) = &p.expr else {
        return None;
    };
    match &**path {
        Expr::Step(a)
            if a.axis == Axis::Attribute
                && a.preds.is_empty()
                && let NodeTest::Name(attr) = a.test =>
        {
            Some((*child, attr, *op, lits))
        }
        _ => None,
    }
}

/// What `local-name()` returns for `n`: the local name of an element, attribute or
/// processing instruction, else the empty string.
fn local_name_of(doc: &Document, n: NodeId) -> &'static str {
    match doc.kind(n) {
        NodeKind::Element | NodeKind::Attribute | NodeKind::ProcessingInstruction => {
            doc.local_name(n)
        }
        _ => "",
    }
}

fn str_cmp(op: Cmp, a: &str, b: &str) -> bool {
    ord_matches(op, a.cmp(b))
}

fn ord_matches(op: Cmp, o: Ordering) -> bool {
    match op {
        Cmp::Eq => o == Ordering::Equal,
        Cmp::Ne => o != Ordering::Equal,
        Cmp::Lt => o == Ordering::Less,
        Cmp::Le => o != Ordering::Greater,
        Cmp::Gt => o == Ordering::Greater,
        Cmp::Ge => o != Ordering::Less,
    }
}

fn f64_cmp(op: Cmp, a: f64, b: f64) -> bool {
    match a.partial_cmp(&b) {
        Some(o) => ord_matches(op, o),
        None => op == Cmp::Ne,
    }
}

/// One pair of a general comparison (XPath 2.0 §3.5.2): untyped against untyped or string
/// compares as strings, against a number as a double, else it is cast to the other's type.
pub(crate) fn compare_general(op: Cmp, x: &Val<'_>, y: &Val<'_>) -> Res<bool> {
    match (x, y) {
        (Val::Untyped(a), Val::Untyped(b)) => Ok(str_cmp(op, a, b)),
        (Val::Untyped(a), Val::Atom(b)) if b.as_text().is_some() => {
            Ok(str_cmp(op, a, b.as_text().unwrap_or_default()))
        }
        (Val::Atom(a), Val::Untyped(b)) if a.as_text().is_some() => {
            Ok(str_cmp(op, a.as_text().unwrap_or_default(), b))
        }
        (Val::Untyped(a), Val::Atom(b)) => {
            let a = untyped_as(a, b)?;
            compare_atomic(op, &a, b)
        }
        (Val::Atom(a), Val::Untyped(b)) => {
            let b = untyped_as(b, a)?;
            compare_atomic(op, a, &b)
        }
        (Val::Atom(a), Val::Atom(b)) => compare_atomic(op, a, b),
    }
}

fn untyped_as(s: &str, other: &Atomic) -> Res<Atomic> {
    Ok(match other {
        Atomic::String(_) | Atomic::Untyped(_) | Atomic::AnyUri(_) => Atomic::String(Arc::from(s)),
        a if a.is_numeric() => Atomic::Double(parse_double(s).ok_or_else(|| EvalError::Cast {
            value: s.into(),
            target: "xs:double",
        })?),
        other => crate::functions::cast_string(s, other.atomic_type())?,
    })
}

/// The nodes of the `descendant` or `descendant-or-self` axis of `node`, in document order
/// (attributes are not descendants).
fn descendants(doc: &Document, node: NodeId, axis: Axis) -> impl Iterator<Item = NodeId> + '_ {
    let own = (axis == Axis::DescendantOrSelf).then_some(node);
    own.into_iter().chain(
        doc.descendant_range(node)
            .map(NodeId::from_index)
            .filter(|&m| doc.kind(m) != NodeKind::Attribute),
    )
}

/// A quantifier of one binding whose body filters its variable by boolean predicates
/// (`every $x in S satisfies $x[P]`): the binding's slot, its range and the predicates.
fn quantified_filter<'e>(
    bindings: &'e [(usize, Expr)],
    body: &'e Expr,
) -> Option<(usize, &'e Expr, &'e [Predicate])> {
    let [(slot, range)] = bindings else {
        return None;
    };
    // In a boolean position the filter may have become an existence test.
    let body = match body {
        Expr::Exists(inner) => inner,
        other => other,
    };
    let Expr::Filter(base, preds) = body else {
        return None;
    };
    (matches!(**base, Expr::Local(s) if s == *slot) && preds.iter().all(|p| p.boolean)).then_some((
        *slot,
        range,
        preds.as_slice(),
    ))
}

/// A value comparison between two atomic values (untyped already converted).
pub(crate) fn compare_atomic(op: Cmp, a: &Atomic, b: &Atomic) -> Res<bool> {
    if let (Some(x), Some(y)) = (a.as_text(), b.as_text()) {
        return Ok(str_cmp(op, x, y));
    }
    match (a, b) {
        (Atomic::Integer(x), Atomic::Integer(y)) => Ok(ord_matches(op, x.cmp(y))),
        _ if a.is_numeric() && b.is_numeric() => Ok(f64_cmp(
            op,
            a.as_f64().unwrap_or(f64::NAN),
            b.as_f64().unwrap_or(f64::NAN),
        )),
        (Atomic::Boolean(x), Atomic::Boolean(y)) => Ok(ord_matches(op, x.cmp(y))),
        (Atomic::Date(x), Atomic::Date(y)) | (Atomic::DateTime(x), Atomic::DateTime(y)) => {
            Ok(f64_cmp(op, x.timeline(0), y.timeline(0)))
        }
        (Atomic::QName(x), Atomic::QName(y)) if matches!(op, Cmp::Eq | Cmp::Ne) => {
            Ok((x == y) == (op == Cmp::Eq))
        }
        _ => Err(EvalError::Type {
            context: "comparison",
            expected: "comparable types",
            found: format!("{} and {}", a.type_name(), b.type_name()),
        }),
    }
}

pub(crate) fn arith(op: Arith, a: &Atomic, b: &Atomic) -> Res<Atomic> {
    match (a, b) {
        (Atomic::Integer(x), Atomic::Integer(y)) => {
            let (x, y) = (*x, *y);
            let r = match op {
                Arith::Add => x.checked_add(y),
                Arith::Sub => x.checked_sub(y),
                Arith::Mul => x.checked_mul(y),
                Arith::Div => {
                    if y == 0 {
                        return Err(EvalError::DivisionByZero);
                    }
                    return Ok(Atomic::Decimal(x as f64 / y as f64));
                }
                Arith::IDiv | Arith::Mod => {
                    if y == 0 {
                        return Err(EvalError::DivisionByZero);
                    }
                    if op == Arith::IDiv {
                        x.checked_div(y)
                    } else {
                        x.checked_rem(y)
                    }
                }
            };
            r.map(Atomic::Integer).ok_or(EvalError::Overflow)
        }
        _ => {
            let double = matches!(a, Atomic::Double(_)) || matches!(b, Atomic::Double(_));
            let (x, y) = (
                a.as_f64().unwrap_or(f64::NAN),
                b.as_f64().unwrap_or(f64::NAN),
            );
            let wrap = |v: f64| {
                if double {
                    Atomic::Double(v)
                } else {
                    Atomic::Decimal(v)
                }
            };
            match op {
                Arith::Add => Ok(wrap(x + y)),
                Arith::Sub => Ok(wrap(x - y)),
                Arith::Mul => Ok(wrap(x * y)),
                Arith::Div => {
                    if !double && y == 0.0 {
                        return Err(EvalError::DivisionByZero);
                    }
                    Ok(wrap(x / y))
                }
                Arith::Mod => {
                    if !double && y == 0.0 {
                        return Err(EvalError::DivisionByZero);
                    }
                    Ok(wrap(x % y))
                }
                Arith::IDiv => {
                    if y == 0.0 {
                        return Err(EvalError::DivisionByZero);
                    }
                    let q = (x / y).trunc();
                    if !q.is_finite() || q.abs() > 9.2e18 {
                        return Err(EvalError::Overflow);
                    }
                    Ok(Atomic::Integer(q as i64))
                }
            }
        }
    }
}

/// Whether an expression's value does not depend on the focus (context item, position, size).
fn focus_free(e: &Expr) -> bool {
    match e {
        Expr::Literal(_) | Expr::Var(..) | Expr::Local(_) | Expr::Empty => true,
        Expr::Seq(items) => items.iter().all(focus_free),
        Expr::Call(_, args) => !args.is_empty() && args.iter().all(focus_free),
        _ => false,
    }
}

/// The elements of one name in a loaded document, sorted by their key (the value of a text
/// child, or the string value), as `(key node, element)` pairs: 8 bytes an entry, the keys
/// read from the document itself.
struct ValueIndex {
    doc: Arc<Document>,
    by_text: bool,
    entries: Vec<(u32, u32)>,
}

impl ValueIndex {
    fn key(&self, (key, _): (u32, u32)) -> Cow<'_, str> {
        let n = NodeId::from_index(key);
        if self.by_text {
            Cow::Borrowed(self.doc.value(n))
        } else {
            self.doc.string_value(n)
        }
    }

    /// The elements whose key is `v`, in document order, into `out`.
    fn lookup(&self, v: &str, out: &mut Vec<u32>) {
        let start = self.entries.partition_point(|&e| &*self.key(e) < v);
        let mut last = None;
        for &e in self.entries[start..]
            .iter()
            .take_while(|&&e| self.key(e) == v)
        {
            if last != Some(e.1) {
                out.push(e.1);
                last = Some(e.1);
            }
        }
    }
}

/// The index of the elements named `name` of `doc` by the value of their text children (or
/// their string value), built once per (document, name) for the life of the process; the
/// index keeps the document alive so its address cannot be reused by another.
/// `None` for the first [`SCANS_BEFORE_INDEX`] lookups of a (document, name): the caller
/// scans.
fn value_index(doc: &Arc<Document>, name: ExpandedName, by_text: bool) -> Option<Arc<ValueIndex>> {
    use std::sync::{Mutex, OnceLock};
    type Key = (usize, ExpandedName, bool);
    enum Slot {
        Scans(u32),
        Built(Arc<ValueIndex>),
    }
    static INDEXES: OnceLock<Mutex<HashMap<Key, Slot>>> = OnceLock::new();
    let key = (Arc::as_ptr(doc) as usize, name, by_text);
    let map = INDEXES.get_or_init(|| Mutex::new(HashMap::new()));
    {
        let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
        match map.entry(key).or_insert(Slot::Scans(0)) {
            Slot::Built(idx) => return Some(idx.clone()),
            Slot::Scans(n) if *n < SCANS_BEFORE_INDEX => {
                *n += 1;
                return None;
            }
            Slot::Scans(_) => {}
        }
    }
    let mut entries = Vec::new();
    for &e in doc.elements_named(name) {
        let el = NodeId::from_index(e);
        if by_text {
            entries.extend(
                doc.children(el)
                    .filter(|&t| doc.kind(t) == NodeKind::Text)
                    .map(|t| (t.index(), e)),
            );
        } else {
            entries.push((e, e));
        }
    }
    let mut idx = ValueIndex {
        doc: doc.clone(),
        by_text,
        entries: Vec::new(),
    };
    // Each key is read once (a string value may be computed), not once per comparison.
    entries.sort_by_cached_key(|&e| (idx.key(e), e.1));
    entries.shrink_to_fit();
    idx.entries = entries;
    let idx = Arc::new(idx);
    // The built index holds the document, so its address cannot be reused by another one
    // (a count left by a dropped document only moves when another's index gets built).
    map.lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key, Slot::Built(idx.clone()));
    Some(idx)
}

/// Lookups in a (document, name) answered by scanning before its index is built.
const SCANS_BEFORE_INDEX: u32 = 8;
