//! Which expressions read nothing of their document but the context node's subtree.
//!
//! Such an expression is a pure function of that subtree (the names, prefixes, attributes,
//! text, comments and processing instructions of the node and its descendants, and their
//! arrangement), of documents loaded by `doc()` and of constant variables: two nodes with
//! identical subtrees give it the same value, in any document. The structuration minimale's
//! datatype rules (an `hl7:id`, `hl7:code` or `hl7:effectiveTime` checked against `II`, `CD`,
//! `TS`, with a dozen asserts each) are such expressions, on elements that repeat from document
//! to document; a caller may keep their results by a hash of the subtree.
//!
//! The analysis is conservative: a reverse or sideways axis from a node of the subtree, the
//! root of its tree, its in-scope namespaces (inherited from ancestors), `lang()`, base and
//! document URIs, the context position at the top level, the clock, or an unknown variable
//! makes the expression not confined. Nodes of loaded documents may be navigated freely.

use crate::ast::{Axis, Expr};
use crate::context::VarId;
use crate::functions::Func;

/// Atomic values.
const ATOMIC: u8 = 1;
/// Nodes of the context node's subtree (the node itself, its attributes, its descendants and
/// theirs).
const SUBTREE: u8 = 2;
/// Nodes of documents loaded with `doc()`, which do not change during a process.
const LOADED: u8 = 4;

/// What a confined expression or variable may hold: a value that depends only on the context
/// node's subtree (see [`Expr::confinement`](crate::Expr::confinement)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Confinement {
    kinds: u8,
}

impl Confinement {
    /// A value that depends on no document (a literal, or nodes of loaded documents).
    pub fn constant() -> Confinement {
        Confinement {
            kinds: ATOMIC | LOADED,
        }
    }
}

/// The focus a subexpression is evaluated with.
#[derive(Clone, Copy, PartialEq)]
enum Focus {
    /// The context node itself (the top level of the expression): its position among the nodes
    /// a rule was applied to is not part of its subtree.
    Node,
    /// Items of the given kinds (inside a predicate, or the right of a `/`).
    Items(u8),
}

impl Focus {
    fn kinds(self) -> u8 {
        match self {
            Focus::Node => SUBTREE,
            Focus::Items(k) => k,
        }
    }
}

struct Analysis<'a> {
    vars: &'a dyn Fn(VarId) -> Option<Confinement>,
    /// Kinds of the range variables (`for`, `some`, `every`), by slot.
    locals: Vec<u8>,
}

impl Expr {
    /// The kinds of items this expression yields when it reads nothing of the document but
    /// the context node's subtree; `None` when it may read more.
    pub(crate) fn confinement(
        &self,
        vars: &dyn Fn(VarId) -> Option<Confinement>,
    ) -> Option<Confinement> {
        let kinds = Analysis {
            vars,
            locals: Vec::new(),
        }
        .of(self, Focus::Node)?;
        Some(Confinement { kinds })
    }
}

impl Analysis<'_> {
    fn of(&mut self, e: &Expr, focus: Focus) -> Option<u8> {
        Some(match e {
            Expr::Empty | Expr::Literal(_) => ATOMIC,
            Expr::ContextItem => focus.kinds(),
            // The root of a subtree node's tree lies outside the subtree.
            Expr::Root => loaded_only(focus.kinds())?,
            Expr::Var(i, _) => (self.vars)(VarId(*i))?.kinds,
            Expr::Local(slot) => *self.locals.get(*slot)?,
            Expr::Seq(items) => self.union(items.iter(), focus)?,
            Expr::Path(l, r) => {
                let left = self.of(l, focus)?;
                self.of(r, Focus::Items(left))?
            }
            Expr::Step(step) => {
                let kinds = step_kinds(step.axis, focus.kinds())?;
                self.predicates(step.preds.iter().map(|p| &p.expr), kinds)?;
                kinds
            }
            Expr::SelfNames(steps) => {
                let kinds = focus.kinds();
                for step in steps.iter() {
                    self.predicates(step.preds.iter().map(|p| &p.expr), kinds)?;
                }
                kinds
            }
            Expr::Filter(base, preds) => {
                let kinds = self.of(base, focus)?;
                self.predicates(preds.iter().map(|p| &p.expr), kinds)?;
                kinds
            }
            Expr::Or(l, r)
            | Expr::And(l, r)
            | Expr::General(_, l, r)
            | Expr::Value(_, l, r)
            | Expr::Node(_, l, r)
            | Expr::Arith(_, l, r)
            | Expr::Range(l, r) => {
                self.of(l, focus)?;
                self.of(r, focus)?;
                ATOMIC
            }
            Expr::Set(_, l, r) => self.of(l, focus)? | self.of(r, focus)?,
            Expr::Neg(x)
            | Expr::InstanceOf(x, _)
            | Expr::Exists(x)
            | Expr::CmpStrs(_, x, _)
            | Expr::CountCmp(_, x, _) => {
                self.of(x, focus)?;
                ATOMIC
            }
            Expr::Cast { expr, .. } | Expr::Castable { expr, .. } => {
                self.of(expr, focus)?;
                ATOMIC
            }
            Expr::Treat(x, _) | Expr::CastableOr { expr: x, .. } => self.of(x, focus)?,
            Expr::If(c, t, f) => {
                self.of(c, focus)?;
                self.of(t, focus)? | self.of(f, focus)?
            }
            Expr::Quantified { bindings, body, .. } => {
                self.bind(bindings, focus)?;
                self.of(body, focus)?;
                ATOMIC
            }
            Expr::For { bindings, body } => {
                self.bind(bindings, focus)?;
                self.of(body, focus)?
            }
            Expr::Call(func, args) => self.call(*func, args, focus)?,
            Expr::RegexCall(_, args, _) => {
                self.union(args.iter(), focus)?;
                ATOMIC
            }
            // A subexpression of literal `doc()` URIs only.
            Expr::Memo(..) => ATOMIC | LOADED,
        })
    }

    fn union<'e>(&mut self, items: impl Iterator<Item = &'e Expr>, focus: Focus) -> Option<u8> {
        let mut kinds = 0;
        for item in items {
            kinds |= self.of(item, focus)?;
        }
        Some(kinds)
    }

    fn predicates<'e>(&mut self, preds: impl Iterator<Item = &'e Expr>, kinds: u8) -> Option<()> {
        for p in preds {
            self.of(p, Focus::Items(kinds))?;
        }
        Some(())
    }

    fn bind(&mut self, bindings: &[(usize, Expr)], focus: Focus) -> Option<()> {
        for (slot, e) in bindings {
            let kinds = self.of(e, focus)?;
            if self.locals.len() <= *slot {
                self.locals.resize(*slot + 1, ATOMIC);
            }
            self.locals[*slot] = kinds;
        }
        Some(())
    }

    fn call(&mut self, func: Func, args: &[Expr], focus: Focus) -> Option<u8> {
        use Func::*;
        if args.is_empty() {
            return match func {
                True | False => Some(ATOMIC),
                // The position among the nodes a rule was applied to is not in the subtree;
                // inside a predicate it is.
                Position | Last => matches!(focus, Focus::Items(_)).then_some(ATOMIC),
                String | StringLength | NormalizeSpace | Number | Data | LocalName | Name
                | NamespaceUri | NodeName => Some(ATOMIC),
                // The rule's context node.
                Current => Some(SUBTREE),
                Root | BaseUri | DocumentUri => {
                    loaded_only(focus.kinds()).map(|_| if func == Root { LOADED } else { ATOMIC })
                }
                _ => None,
            };
        }
        let kinds = self.union(args.iter(), focus)?;
        Some(match func {
            // Documents do not change during a process; `doc()` resolves its URI against the
            // static base URI, `document()` a node's against that node's base URI.
            Doc => LOADED,
            Document => {
                loaded_only(kinds)?;
                LOADED
            }
            // The clock; ancestors' `xml:lang`; the in-scope namespaces (inherited from
            // ancestors); the root, base and document URIs of a subtree's node.
            CurrentDateTime | CurrentDate | Lang => return None,
            ResolveQName | InScopePrefixes | NamespaceUriForPrefix | BaseUri | DocumentUri => {
                loaded_only(kinds)?;
                ATOMIC
            }
            Root => {
                loaded_only(kinds)?;
                LOADED
            }
            // Sequence functions hand their items on.
            Subsequence | Reverse | InsertBefore | Remove | Unordered | ExactlyOne | ZeroOrOne
            | OneOrMore => kinds,
            // Everything else atomizes its arguments, tests them, or reads their names.
            _ => ATOMIC,
        })
    }
}

/// `kinds` when it holds no node of the subtree (`LOADED` for the caller to use).
fn loaded_only(kinds: u8) -> Option<u8> {
    (kinds & SUBTREE == 0).then_some(LOADED)
}

/// The kinds an axis step yields from items of `kinds`: from the subtree's nodes only the
/// axes that stay in it.
fn step_kinds(axis: Axis, kinds: u8) -> Option<u8> {
    if kinds & SUBTREE != 0
        && !matches!(
            axis,
            Axis::Child
                | Axis::Descendant
                | Axis::DescendantOrSelf
                | Axis::SelfNode
                | Axis::Attribute
        )
    {
        return None;
    }
    // A step from atomic values is a type error, the same for every node.
    Some(kinds & (SUBTREE | LOADED))
}

#[cfg(test)]
mod tests {
    use segur_xml::{Document, Limits, NodeKind};

    use super::Confinement;
    use crate::{DynamicContext, StaticContext, compile};

    fn static_context() -> (StaticContext, crate::VarId, crate::VarId) {
        let mut sc = StaticContext::new();
        sc.bind_namespace("hl7", "urn:hl7-org:v3");
        let constant = sc.declare_variable("constant");
        let unknown = sc.declare_variable("unknown");
        (sc, constant, unknown)
    }

    fn confined(src: &str) -> bool {
        let (sc, constant, _) = static_context();
        let e = compile(src, &sc).expect("compile");
        e.confinement(&|v| (v == constant).then(Confinement::constant))
            .is_some()
    }

    /// Expressions read as functions of the context node's subtree.
    const CONFINED: &[&str] = &[
        "@root",
        "@nullFlavor or (not(@nullFlavor) and @root)",
        "not(string-length(@root) <= 128)",
        "matches(@root, '^[0-2](\\.(0|[1-9]\\d*))*$')",
        "count(hl7:item) <= 1",
        "hl7:low/@value < hl7:high/@value",
        "every $e in descendant-or-self::* satisfies $e[not(@nullFlavor) or not(*)]",
        "*[not(@nullFlavor or self::hl7:useablePeriod)][normalize-space(.) = '']",
        "string-join((.//@use | .//text()), '')",
        "count(tokenize(@qualifier, '\\s')) = count(distinct-values(tokenize(@qualifier, '\\s')))",
        "name(.) = 'hl7:id' and local-name() = 'id' and namespace-uri() != ''",
        "hl7:entry[position() = last()]/@typeCode",
        "string(.) = $constant",
        "doc('vs.xml')//@code = @code",
        "for $c in hl7:component return $c/hl7:section",
        "if (@xsi:type) then substring-after(@xsi:type, ':') else 'none'",
        "current()/@root = @root",
        "hl7:a is hl7:a",
    ];

    /// Expressions that may read more than the subtree.
    const NOT_CONFINED: &[&str] = &[
        "..",
        "../@root",
        "preceding-sibling::*[local-name() = 'id']",
        "following-sibling::hl7:id",
        "ancestor::hl7:section",
        "parent::*",
        "following::hl7:x",
        "preceding::hl7:x",
        "/hl7:ClinicalDocument",
        "//hl7:id",
        "root(.)",
        "root()",
        "hl7:id/..",
        "hl7:id[..]",
        "descendant-or-self::*/ancestor::*",
        "lang('fr')",
        "in-scope-prefixes(.)",
        "namespace-uri-for-prefix('hl7', .)",
        "resolve-QName(@xsi:type, .)",
        "base-uri(.)",
        "document-uri(root())",
        "current-dateTime()",
        "position() = 1",
        "last() > 1",
        "$unknown",
        "document(@href)",
    ];

    #[test]
    fn subtree_reads_are_told_apart() {
        for src in CONFINED {
            assert!(confined(src), "should be confined: {src}");
        }
        for src in NOT_CONFINED {
            assert!(!confined(src), "should not be confined: {src}");
        }
    }

    /// The point of the analysis: a confined expression has the same value at two nodes with
    /// identical subtrees, whatever surrounds them (other ancestors, siblings, namespace
    /// declarations, `xml:lang`, position).
    #[test]
    fn confined_expressions_agree_on_identical_subtrees() {
        let copy = r#"<hl7:id xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" root="1.2.3" extension="A" xsi:type="hl7:II" qualifier="LS LS" use="H"><hl7:item position="1">x</hl7:item><hl7:item>y <hl7:b/></hl7:item><!--c--><hl7:low value="1"/><hl7:high value="2"/></hl7:id>"#;
        let xml = format!(
            r#"<hl7:doc xmlns:hl7="urn:hl7-org:v3" xml:lang="fr"><hl7:section><hl7:id root="9"/>{copy}<hl7:entry typeCode="X"/></hl7:section><hl7:other xml:lang="en" xmlns:z="urn:z"><hl7:deep><hl7:id root="1.2.3"/><hl7:id root="8"/>{copy}</hl7:deep></hl7:other></hl7:doc>"#
        );
        let doc = Document::parse(xml.as_bytes(), &Limits::default()).expect("parse");
        let ids: Vec<_> = (0..doc.len() as u32)
            .map(segur_xml::NodeId::from_index)
            .filter(|&n| {
                doc.kind(n) == NodeKind::Element
                    && doc.name(n).local.as_str() == "id"
                    && doc
                        .attribute(n, segur_xml::ExpandedName::new("", "extension"))
                        .is_some()
            })
            .collect();
        assert_eq!(ids.len(), 2);
        let (sc, constant, _) = static_context();
        let mut sc = sc;
        sc.bind_namespace("xsi", "http://www.w3.org/2001/XMLSchema-instance");
        let mut ctx = DynamicContext::new(&doc);
        ctx.set_variable(
            constant,
            [crate::Item::Atomic(crate::Atomic::String("x".into()))].into(),
        );
        let value = |src: &str, n| {
            let e = compile(src, &sc).expect("compile");
            let r = e
                .evaluate_node(&ctx, ctx.node(n))
                .map(|seq| seq.iter().map(|i| ctx.string_value(i)).collect::<Vec<_>>());
            format!("{r:?}")
        };
        for src in CONFINED.iter().filter(|s| !s.contains("doc(")) {
            assert_eq!(value(src, ids[0]), value(src, ids[1]), "{src}");
        }
        // And the analysis has reasons: each of these differs between the two copies.
        for src in [
            "name(..)",
            "preceding-sibling::*[local-name() = 'id']/@root",
            "lang('fr')",
            "count(ancestor::*)",
            "in-scope-prefixes(.)",
        ] {
            assert!(!confined(src), "{src}");
            assert_ne!(value(src, ids[0]), value(src, ids[1]), "{src}");
        }
    }
}
