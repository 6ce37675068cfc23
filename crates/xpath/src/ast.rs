//! The compiled expression tree: names resolved to interned ids, variables to slots,
//! functions to an enum, literal regexes compiled.

use std::sync::Arc;

use segur_xml::{ExpandedName, Name};

use crate::functions::Func;
use crate::value::{Atomic, AtomicType};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Axis {
    Child,
    Descendant,
    DescendantOrSelf,
    SelfNode,
    Parent,
    Ancestor,
    AncestorOrSelf,
    FollowingSibling,
    PrecedingSibling,
    Following,
    Preceding,
    Attribute,
}

impl Axis {
    pub(crate) fn is_reverse(self) -> bool {
        matches!(
            self,
            Axis::Parent
                | Axis::Ancestor
                | Axis::AncestorOrSelf
                | Axis::PrecedingSibling
                | Axis::Preceding
        )
    }

    pub(crate) fn from_name(name: &str) -> Option<Axis> {
        Some(match name {
            "child" => Axis::Child,
            "descendant" => Axis::Descendant,
            "descendant-or-self" => Axis::DescendantOrSelf,
            "self" => Axis::SelfNode,
            "parent" => Axis::Parent,
            "ancestor" => Axis::Ancestor,
            "ancestor-or-self" => Axis::AncestorOrSelf,
            "following-sibling" => Axis::FollowingSibling,
            "preceding-sibling" => Axis::PrecedingSibling,
            "following" => Axis::Following,
            "preceding" => Axis::Preceding,
            "attribute" => Axis::Attribute,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum NodeTest {
    /// An exact expanded name (of the axis' principal node kind).
    Name(ExpandedName),
    /// `prefix:*`.
    Namespace(Name),
    /// `*:local`.
    Local(Name),
    /// `*`.
    AnyName,
    /// `node()`.
    AnyNode,
    Text,
    Comment,
    Pi(Option<Name>),
    /// `element()`, `element(name)`, `element(*)`.
    Element(Option<ExpandedName>),
    /// `attribute()`, `attribute(name)`.
    Attribute(Option<ExpandedName>),
    Document,
}

#[derive(Clone, Debug)]
pub(crate) struct Step {
    pub(crate) axis: Axis,
    pub(crate) test: NodeTest,
    pub(crate) preds: Vec<Predicate>,
}

#[derive(Clone, Debug)]
pub(crate) struct Predicate {
    pub(crate) expr: Expr,
    /// Statically known never to be numeric nor to use position()/last(): filter by EBV.
    pub(crate) boolean: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    /// The operator with its operands swapped (`a < b` is `b > a`).
    pub(crate) fn flipped(self) -> Cmp {
        match self {
            Cmp::Lt => Cmp::Gt,
            Cmp::Le => Cmp::Ge,
            Cmp::Gt => Cmp::Lt,
            Cmp::Ge => Cmp::Le,
            other => other,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NodeCmp {
    Is,
    Precedes,
    Follows,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    IDiv,
    Mod,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SetOp {
    Union,
    Intersect,
    Except,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Occurrence {
    One,
    Optional,
    Many,
    OneOrMore,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ItemType {
    Item,
    Atomic(AtomicType),
    Node(NodeTest),
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SeqType {
    /// `None` for `empty-sequence()`.
    pub(crate) item: Option<ItemType>,
    pub(crate) occurrence: Occurrence,
}

#[derive(Clone, Debug)]
pub(crate) enum Expr {
    Empty,
    Literal(Atomic),
    ContextItem,
    /// The root of the context node's tree (leading `/`).
    Root,
    Var(usize, Box<str>),
    Local(usize),
    Seq(Vec<Expr>),
    /// `lhs/rhs` with node-set semantics.
    Path(Box<Expr>, Box<Expr>),
    Step(Box<Step>),
    Filter(Box<Expr>, Vec<Predicate>),
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    General(Cmp, Box<Expr>, Box<Expr>),
    Value(Cmp, Box<Expr>, Box<Expr>),
    Node(NodeCmp, Box<Expr>, Box<Expr>),
    Arith(Arith, Box<Expr>, Box<Expr>),
    Neg(Box<Expr>),
    Range(Box<Expr>, Box<Expr>),
    Set(SetOp, Box<Expr>, Box<Expr>),
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    Quantified {
        every: bool,
        bindings: Vec<(usize, Expr)>,
        body: Box<Expr>,
    },
    For {
        bindings: Vec<(usize, Expr)>,
        body: Box<Expr>,
    },
    InstanceOf(Box<Expr>, SeqType),
    Treat(Box<Expr>, SeqType),
    Cast {
        expr: Box<Expr>,
        target: AtomicType,
        optional: bool,
    },
    Castable {
        expr: Box<Expr>,
        target: AtomicType,
        optional: bool,
    },
    /// `if (E castable as T) then E else ()` with the same `E` twice (the datatype rules'
    /// `if (substring($ts, 5, 2) castable as xs:integer) then substring($ts, 5, 2) else ()`,
    /// a dozen on every timestamp): `E`'s value, evaluated once, when it is castable; else
    /// empty.
    CastableOr {
        expr: Box<Expr>,
        target: AtomicType,
        optional: bool,
    },
    Call(Func, Vec<Expr>),
    /// A regex function call whose pattern and flags are literals, compiled once.
    RegexCall(Func, Vec<Expr>, Arc<crate::regex::XRegex>),
    /// A subexpression that depends on nothing but a literal `doc()` URI (a value set read
    /// through a path): evaluated once per dynamic context, under a process-unique id.
    Memo(u64, Box<Expr>),
    /// A node path in a boolean position (`not(a/b[c])`, a predicate): whether it selects a
    /// node, walked lazily up to the first (see [`Expr::optimize`]).
    Exists(Box<Expr>),
    /// A node path compared with string literals (`cda:templateId/@root = 'x'`), operator
    /// oriented with the path on the left: compared node by node as they are reached.
    CmpStrs(Cmp, Box<Expr>, Box<[Box<str>]>),
    /// `count(path) op k` for a path whose nodes are distinct by construction (child,
    /// attribute and self steps): counted lazily, up to `k + 1`.
    CountCmp(Cmp, Box<Expr>, i64),
    /// A union of `self::name[…]` steps in a boolean position (the closed-template rules'
    /// `not(self::hl7:a | self::hl7:b[…] | …)`), in their order: only the steps naming the
    /// context node are tried, instead of a name test per step. Its value is the context
    /// node when one of them selects it, else empty.
    SelfNames(Box<[Step]>),
}

impl Expr {
    /// Calls `f` on each direct subexpression, with whether it sits in a boolean position
    /// (`own` is whether this expression does: the branches of an `if` inherit it).
    fn for_each_child_mut(&mut self, own: bool, f: &mut dyn FnMut(&mut Expr, bool)) {
        match self {
            Expr::Seq(v) => v.iter_mut().for_each(|e| f(e, false)),
            Expr::Step(step) => step
                .preds
                .iter_mut()
                .for_each(|p| f(&mut p.expr, p.boolean)),
            Expr::SelfNames(steps) => steps
                .iter_mut()
                .flat_map(|s| s.preds.iter_mut())
                .for_each(|p| f(&mut p.expr, p.boolean)),
            Expr::Filter(e, ps) => {
                f(e, false);
                ps.iter_mut().for_each(|p| f(&mut p.expr, p.boolean));
            }
            Expr::Or(l, r) | Expr::And(l, r) => {
                f(l, true);
                f(r, true);
            }
            Expr::Path(l, r)
            | Expr::General(_, l, r)
            | Expr::Value(_, l, r)
            | Expr::Node(_, l, r)
            | Expr::Arith(_, l, r)
            | Expr::Range(l, r)
            | Expr::Set(_, l, r) => {
                f(l, false);
                f(r, false);
            }
            Expr::Neg(e)
            | Expr::InstanceOf(e, _)
            | Expr::Treat(e, _)
            | Expr::Memo(_, e)
            | Expr::Exists(e)
            | Expr::CmpStrs(_, e, _)
            | Expr::CountCmp(_, e, _) => f(e, false),
            Expr::Cast { expr, .. }
            | Expr::Castable { expr, .. }
            | Expr::CastableOr { expr, .. } => f(expr, false),
            Expr::If(c, t, e) => {
                f(c, true);
                f(t, own);
                f(e, own);
            }
            Expr::Quantified { bindings, body, .. } => {
                bindings.iter_mut().for_each(|(_, e)| f(e, false));
                f(body, true);
            }
            Expr::For { bindings, body } => {
                bindings.iter_mut().for_each(|(_, e)| f(e, false));
                f(body, false);
            }
            Expr::Call(func, args) => {
                // not(), boolean(), exists() and empty() only ask whether their argument
                // selects something.
                let b = matches!(func, Func::Not | Func::Boolean | Func::Exists | Func::Empty);
                args.iter_mut().for_each(|a| f(a, b));
            }
            Expr::RegexCall(_, args, _) => args.iter_mut().for_each(|a| f(a, false)),
            Expr::Empty
            | Expr::Literal(_)
            | Expr::ContextItem
            | Expr::Root
            | Expr::Var(..)
            | Expr::Local(_) => {}
        }
    }

    /// Marks, in place, the largest subexpressions that are constant for a dynamic context
    /// (see [`Expr::Memo`]).
    pub(crate) fn memoize(&mut self) {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(1);
        if self.is_constant_document_path() {
            let inner = std::mem::replace(self, Expr::Empty);
            *self = Expr::Memo(NEXT.fetch_add(1, Ordering::Relaxed), Box::new(inner));
            return;
        }
        self.for_each_child_mut(false, &mut |c, _| c.memoize());
    }

    /// `doc('literal')` followed by steps that refer to nothing outside themselves.
    fn is_constant_document_path(&self) -> bool {
        match self {
            Expr::Path(l, r) => {
                matches!(&**l, Expr::Call(Func::Doc, args) if matches!(args.as_slice(), [Expr::Literal(Atomic::String(_))]))
                    && r.self_contained()
                    || l.is_constant_document_path() && r.self_contained()
            }
            _ => false,
        }
    }

    /// Relative steps and predicates that use no variable, `current()` or outer binding.
    fn self_contained(&self) -> bool {
        match self {
            Expr::Step(s) => s.preds.iter().all(|p| p.expr.no_outer_refs()),
            Expr::Path(l, r) => l.self_contained() && r.self_contained(),
            _ => false,
        }
    }

    fn no_outer_refs(&self) -> bool {
        self.refs_within(false)
    }

    /// Whether the value depends on nothing but the focus and the documents: no variable, no
    /// `current()`, no outer binding. Memoized `doc()` paths are allowed: they are constant for
    /// a dynamic context.
    pub(crate) fn depends_on_focus_only(&self) -> bool {
        self.refs_within(true)
    }

    fn refs_within(&self, memo_ok: bool) -> bool {
        let rec = |e: &Expr| e.refs_within(memo_ok);
        match self {
            Expr::Memo(..) => memo_ok,
            Expr::Exists(e) | Expr::CmpStrs(_, e, _) | Expr::CountCmp(_, e, _) => rec(e),
            Expr::Var(..) | Expr::Local(_) | Expr::Quantified { .. } | Expr::For { .. } => false,
            Expr::Call(Func::Current, _) => false,
            Expr::Empty | Expr::Literal(_) | Expr::ContextItem | Expr::Root => true,
            Expr::Seq(v) | Expr::Call(_, v) | Expr::RegexCall(_, v, _) => v.iter().all(rec),
            Expr::Step(s) => s.preds.iter().all(|p| rec(&p.expr)),
            Expr::SelfNames(steps) => steps.iter().all(|s| s.preds.iter().all(|p| rec(&p.expr))),
            Expr::Filter(e, ps) => rec(e) && ps.iter().all(|p| rec(&p.expr)),
            Expr::Path(l, r)
            | Expr::Or(l, r)
            | Expr::And(l, r)
            | Expr::General(_, l, r)
            | Expr::Value(_, l, r)
            | Expr::Node(_, l, r)
            | Expr::Arith(_, l, r)
            | Expr::Range(l, r)
            | Expr::Set(_, l, r) => rec(l) && rec(r),
            Expr::Neg(e) | Expr::InstanceOf(e, _) | Expr::Treat(e, _) => rec(e),
            Expr::Cast { expr, .. }
            | Expr::Castable { expr, .. }
            | Expr::CastableOr { expr, .. } => rec(expr),
            Expr::If(c, t, e) => rec(c) && rec(t) && rec(e),
        }
    }
}

impl Expr {
    /// Rewrites in place, once at compile time, the shapes the evaluator answers without
    /// building sequences: node paths in boolean positions become [`Expr::Exists`], comparisons
    /// of a node path with string literals [`Expr::CmpStrs`], `count(path) op k`
    /// [`Expr::CountCmp`]. `boolean` says whether this expression sits in a boolean position.
    pub(crate) fn optimize(&mut self, boolean: bool) {
        self.for_each_child_mut(boolean, &mut |c, b| c.optimize(b));
        if let Expr::If(c, t, e) = self
            && matches!(**e, Expr::Empty)
            && let Expr::Castable {
                expr,
                target,
                optional,
            } = &mut **c
            // The same expression: texts compiled alike (expressions with a process-unique
            // memo id never compare equal, and stay as they are).
            && format!("{expr:?}") == format!("{t:?}")
        {
            *self = Expr::CastableOr {
                expr: std::mem::replace(expr, Box::new(Expr::Empty)),
                target: *target,
                optional: *optional,
            };
            return;
        }
        let general = matches!(self, Expr::General(..));
        if let Expr::General(c, l, r) | Expr::Value(c, l, r) = self {
            let c = *c;
            if count_of_distinct(l).is_some()
                && let Some(k) = integer_literal(r)
            {
                let path = take_count_argument(l);
                *self = Expr::CountCmp(c, path, k);
                return;
            }
            if count_of_distinct(r).is_some()
                && let Some(k) = integer_literal(l)
            {
                let path = take_count_argument(r);
                *self = Expr::CountCmp(c.flipped(), path, k);
                return;
            }
            if general {
                if let Some(lits) = string_literals(r)
                    && l.is_node_path()
                {
                    let path = std::mem::replace(l, Box::new(Expr::Empty));
                    *self = Expr::CmpStrs(c, path, lits);
                    return;
                }
                if let Some(lits) = string_literals(l)
                    && r.is_node_path()
                {
                    let path = std::mem::replace(r, Box::new(Expr::Empty));
                    *self = Expr::CmpStrs(c.flipped(), path, lits);
                    return;
                }
            }
        }
        if boolean && let Some(steps) = self_name_steps(self) {
            *self = Expr::SelfNames(steps.into_boxed_slice());
            return;
        }
        // A single step without predicates already has a fast existence test.
        let plain_step = matches!(&*self, Expr::Step(s) if s.preds.is_empty());
        if boolean && !plain_step && self.is_node_path() {
            let inner = std::mem::replace(self, Expr::Empty);
            *self = Expr::Exists(Box::new(inner));
        }
    }

    /// A path that selects nodes only, from the context node or the root, through steps whose
    /// predicates are boolean (never positional): the evaluator walks it lazily.
    pub(crate) fn is_node_path(&self) -> bool {
        match self {
            Expr::Root | Expr::ContextItem | Expr::SelfNames(_) => true,
            Expr::Step(s) => s.preds.iter().all(|p| p.boolean),
            Expr::Path(l, r) => {
                l.is_node_path()
                    && matches!(**r, Expr::Step(_) | Expr::Filter(..))
                    && r.is_node_path()
            }
            Expr::Filter(base, preds) => {
                matches!(**base, Expr::Step(_) | Expr::Path(..))
                    && base.is_node_path()
                    && preds.iter().all(|p| p.boolean)
            }
            Expr::Set(SetOp::Union, a, b) => a.is_node_path() && b.is_node_path(),
            _ => false,
        }
    }

    /// Whether the value is never numeric and does not depend on position()/last(), so a
    /// predicate with it filters by effective boolean value alone.
    pub(crate) fn is_boolean_predicate(&self) -> bool {
        self.never_numeric() && !self.uses_position()
    }

    fn never_numeric(&self) -> bool {
        match self {
            Expr::Or(..)
            | Expr::And(..)
            | Expr::General(..)
            | Expr::Value(..)
            | Expr::Node(..)
            | Expr::Step(_)
            | Expr::Root
            | Expr::InstanceOf(..)
            | Expr::Castable { .. }
            | Expr::Quantified { .. }
            | Expr::Set(..)
            | Expr::Exists(_)
            | Expr::CmpStrs(..)
            | Expr::CountCmp(..) => true,
            Expr::Path(_, rhs) => {
                matches!(**rhs, Expr::Step(_) | Expr::Filter(..)) && rhs.never_numeric()
            }
            Expr::Filter(base, _) => base.never_numeric(),
            Expr::Literal(a) => !a.is_numeric(),
            Expr::If(_, t, e) => t.never_numeric() && e.never_numeric(),
            Expr::Call(f, _) | Expr::RegexCall(f, _, _) => f.returns_boolean_or_string(),
            _ => false,
        }
    }

    fn uses_position(&self) -> bool {
        let mut found = false;
        self.visit(&mut |e| {
            if let Expr::Call(f, _) = e {
                found |= matches!(f, Func::Position | Func::Last);
            }
        });
        found
    }

    /// Visits this expression and its sub-expressions evaluated with the same focus.
    fn visit(&self, f: &mut impl FnMut(&Expr)) {
        f(self);
        match self {
            Expr::Seq(v) | Expr::Call(_, v) | Expr::RegexCall(_, v, _) => {
                v.iter().for_each(|e| e.visit(f))
            }
            Expr::Path(a, _) => a.visit(f),
            Expr::Filter(a, _) => a.visit(f),
            Expr::Or(a, b)
            | Expr::And(a, b)
            | Expr::General(_, a, b)
            | Expr::Value(_, a, b)
            | Expr::Node(_, a, b)
            | Expr::Arith(_, a, b)
            | Expr::Range(a, b)
            | Expr::Set(_, a, b) => {
                a.visit(f);
                b.visit(f);
            }
            Expr::Neg(a) | Expr::InstanceOf(a, _) | Expr::Treat(a, _) => a.visit(f),
            Expr::Exists(a) | Expr::CmpStrs(_, a, _) | Expr::CountCmp(_, a, _) => a.visit(f),
            Expr::Cast { expr, .. }
            | Expr::Castable { expr, .. }
            | Expr::CastableOr { expr, .. } => expr.visit(f),
            Expr::If(a, b, c) => {
                a.visit(f);
                b.visit(f);
                c.visit(f);
            }
            Expr::Quantified { bindings, body, .. } | Expr::For { bindings, body } => {
                bindings.iter().for_each(|(_, e)| e.visit(f));
                body.visit(f);
            }
            _ => {}
        }
    }
}

/// The strings of a string literal or of a parenthesized list of them.
fn string_literals(e: &Expr) -> Option<Box<[Box<str>]>> {
    match e {
        Expr::Literal(Atomic::String(s)) => Some(Box::new([Box::from(&**s)])),
        Expr::Seq(items) if !items.is_empty() => items
            .iter()
            .map(|i| match i {
                Expr::Literal(Atomic::String(s)) => Some(Box::from(&**s)),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// `count(path)` where the path's nodes are distinct by construction: from the context item or
/// the root, through child, attribute and self steps with boolean predicates (each node is
/// reached through its one parent). The path.
fn count_of_distinct(e: &Expr) -> Option<&Expr> {
    fn distinct(e: &Expr) -> bool {
        match e {
            Expr::Root | Expr::ContextItem => true,
            Expr::Step(s) => {
                matches!(s.axis, Axis::Child | Axis::Attribute | Axis::SelfNode)
                    && s.preds.iter().all(|p| p.boolean)
            }
            Expr::Path(l, r) => {
                distinct(l) && matches!(**r, Expr::Step(_) | Expr::Filter(..)) && distinct(r)
            }
            Expr::Filter(base, preds) => {
                matches!(**base, Expr::Step(_) | Expr::Path(..))
                    && distinct(base)
                    && preds.iter().all(|p| p.boolean)
            }
            _ => false,
        }
    }
    match e {
        Expr::Call(Func::Count, args) if args.len() == 1 && distinct(&args[0]) => Some(&args[0]),
        _ => None,
    }
}

/// The value of an integer literal.
fn integer_literal(e: &Expr) -> Option<i64> {
    match e {
        Expr::Literal(Atomic::Integer(k)) => Some(*k),
        _ => None,
    }
}

/// The argument of `count(…)`, moved out (the call is about to be replaced).
fn take_count_argument(e: &mut Expr) -> Box<Expr> {
    match e {
        Expr::Call(_, args) if !args.is_empty() => Box::new(args.swap_remove(0)),
        _ => Box::new(Expr::Empty),
    }
}

/// The steps of a union (two or more) of `self::name[…]` steps with boolean predicates, left to
/// right; `None` for any other expression (it is left as it is).
fn self_name_steps(e: &Expr) -> Option<Vec<Step>> {
    fn collect(e: &Expr, out: &mut Vec<Step>) -> bool {
        match e {
            Expr::Set(SetOp::Union, a, b) => collect(a, out) && collect(b, out),
            Expr::Step(s)
                if s.axis == Axis::SelfNode
                    && matches!(s.test, NodeTest::Name(_))
                    && s.preds.iter().all(|p| p.boolean) =>
            {
                out.push((**s).clone());
                true
            }
            _ => false,
        }
    }
    let Expr::Set(SetOp::Union, ..) = e else {
        return None;
    };
    let mut steps = Vec::new();
    collect(e, &mut steps).then_some(steps)
}
