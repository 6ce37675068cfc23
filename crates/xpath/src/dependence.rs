//! Which expressions are pure functions of a few attribute values of the context node, or of
//! elements reached from it by child steps (`hl7:low/@value`: see [`KeyAttribute`]).
//!
//! A schematron runs the same checks on thousands of nodes, and most of the costly ones (the
//! timestamp checks of the datatype rules, with their 25 lets; code lookups in value sets and
//! terminologies; regex checks on OIDs) read nothing of their node but the values of a few
//! attributes, and of documents that do not change during a process. Their result for one
//! tuple of values is then their result for every node with those values, in every document:
//! the caller may keep it ([`Expr::dependence`] says which attributes make the key).
//!
//! The analysis is conservative: anything it does not recognise as such a read (another axis,
//! the context node's string value, a node's name or identity, the clock, `current()`,
//! `lang()`, an unknown variable) makes the whole expression "not a function of attributes".
//!
//! Keying each check's results by its node's whole subtree (its source text) was tried for the
//! checks that read children: on the ANS examples and built CR-BIO documents, 40–60 % of
//! lookups hit and hashing and keeping the text cost more than the hits saved. Here only
//! attribute values are keys (those of the node, and those at the end of a path of child
//! steps by exact name: the interval rules read their bounds' `hl7:low/@value` and
//! `hl7:high/@value` that way). The caller keeps the outcomes of a whole rule's checks by a
//! hash of small subtrees instead, one lookup for a dozen checks (see [`crate::confined`]).

use segur_xml::ExpandedName;

use crate::ast::{Axis, Expr, NodeTest};
use crate::context::VarId;
use crate::functions::Func;

/// Values that are atomic (strings, numbers…).
const ATOMIC: u8 = 1;
/// Attribute nodes of the context node: they may only be atomized, tested for existence or
/// counted (their names as written, their parent and their order are not part of the key).
const ATTRIBUTE: u8 = 2;
/// Nodes of documents loaded with `doc()`, which do not change during a process.
const LOADED: u8 = 4;

/// An attribute a key reads: of the context node, or of the element reached from it by a path
/// of child steps without predicates (`hl7:low/@value`, the interval rules' bounds).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyAttribute {
    /// The child element names from the context node, outermost first (empty: the node's own
    /// attribute).
    pub path: Box<[ExpandedName]>,
    /// The attribute.
    pub name: ExpandedName,
}

impl KeyAttribute {
    /// An attribute of the context node.
    pub fn own(name: ExpandedName) -> KeyAttribute {
        KeyAttribute {
            path: Box::new([]),
            name,
        }
    }
}

/// What an expression's value depends on, when it is a function of the values of some
/// attributes of the context node or of its descendants along child paths (and of documents
/// loaded by `doc()`, constant in a process).
///
/// A key through a child path stands for the attribute values of every element that path
/// reaches, in document order; a caller that keeps one value per key attribute must check that
/// the path reaches at most one element.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dependence {
    /// The attributes read, each once, in a fixed order: their values (or absence) decide the
    /// value.
    pub attributes: Vec<KeyAttribute>,
    /// The kinds of items the value may hold (see the constants above).
    kinds: u8,
    /// A rough cost of evaluating it (expression nodes, with regexes, document lookups, casts
    /// and iterations counted heavier; variables count what computing them costs).
    pub weight: u32,
}

impl Dependence {
    /// The dependence of a value that is constant (a literal, or built from literals only).
    pub fn constant() -> Dependence {
        Dependence {
            attributes: Vec::new(),
            kinds: ATOMIC | LOADED,
            weight: 0,
        }
    }

    fn atomic(weight: u32) -> Dependence {
        Dependence {
            attributes: Vec::new(),
            kinds: ATOMIC,
            weight,
        }
    }

    fn add(&mut self, other: &Dependence) {
        for a in &other.attributes {
            if let Err(i) = self.attributes.binary_search(a) {
                self.attributes.insert(i, a.clone());
            }
        }
        self.weight = self.weight.saturating_add(other.weight);
    }

    fn has_attribute_nodes(&self) -> bool {
        self.kinds & ATTRIBUTE != 0
    }
}

/// The focus an expression is evaluated with.
#[derive(Clone, Copy, PartialEq)]
enum Focus {
    /// The node the key is about: only its named attributes may be read.
    Node,
    /// Items of the given kinds (inside a predicate, or the right of a `/`).
    Items(u8),
}

/// Weight of operations that cost much more than a node step.
const HEAVY: u32 = 8;

struct Analysis<'a> {
    vars: &'a dyn Fn(VarId) -> Option<Dependence>,
    /// Kinds of the range variables (`for`, `some`, `every`), by slot.
    locals: Vec<u8>,
}

impl Expr {
    /// The attributes of the context node whose values decide this expression's value, when it
    /// reads nothing else of the dynamic context. `vars` gives the dependence of each variable
    /// the expression may read (`None`: unknown, the expression is then not a function of
    /// attributes).
    pub(crate) fn dependence(
        &self,
        vars: &dyn Fn(VarId) -> Option<Dependence>,
    ) -> Option<Dependence> {
        Analysis {
            vars,
            locals: Vec::new(),
        }
        .of(self, Focus::Node)
    }
}

impl Analysis<'_> {
    fn of(&mut self, e: &Expr, focus: Focus) -> Option<Dependence> {
        Some(match e {
            Expr::Empty | Expr::Literal(_) => Dependence::atomic(1),
            Expr::ContextItem => match focus {
                Focus::Node => return None,
                Focus::Items(kinds) => Dependence {
                    kinds,
                    ..Dependence::atomic(1)
                },
            },
            Expr::Root => match focus {
                Focus::Items(kinds) if kinds & ATTRIBUTE == 0 => Dependence {
                    kinds: LOADED,
                    ..Dependence::atomic(1)
                },
                _ => return None,
            },
            Expr::Var(i, _) => {
                let mut d = (self.vars)(VarId(*i))?;
                d.weight = d.weight.saturating_add(1);
                d
            }
            Expr::Local(slot) => Dependence {
                kinds: *self.locals.get(*slot)?,
                ..Dependence::atomic(1)
            },
            Expr::Seq(items) => {
                let mut d = Dependence::atomic(1);
                d.kinds = 0;
                for item in items {
                    let x = self.of(item, focus)?;
                    d.kinds |= x.kinds;
                    d.add(&x);
                }
                d
            }
            Expr::Path(..)
                if focus == Focus::Node
                    && let Some(key) = child_attribute_path(e) =>
            {
                // Attribute nodes of descendants, read by value as the node's own are.
                Dependence {
                    weight: 1 + key.path.len() as u32,
                    attributes: vec![key],
                    kinds: ATTRIBUTE,
                }
            }
            Expr::Path(l, r) => {
                let left = self.of(l, focus)?;
                if left.has_attribute_nodes() {
                    // Navigating from an attribute (`@x/..`) reads more than its value.
                    return None;
                }
                let right = self.of(r, Focus::Items(left.kinds))?;
                let mut d = left;
                d.kinds = right.kinds;
                d.add(&right);
                d
            }
            Expr::Step(step) => match focus {
                Focus::Node => match (&step.axis, &step.test) {
                    (Axis::Attribute, NodeTest::Name(name)) if step.preds.is_empty() => {
                        Dependence {
                            attributes: vec![KeyAttribute::own(*name)],
                            kinds: ATTRIBUTE,
                            weight: 1,
                        }
                    }
                    _ => return None,
                },
                Focus::Items(kinds) if kinds & ATTRIBUTE == 0 => {
                    let mut d = Dependence {
                        kinds: LOADED,
                        ..Dependence::atomic(1)
                    };
                    for p in &step.preds {
                        let x = self.of(&p.expr, Focus::Items(LOADED))?;
                        d.add(&x);
                    }
                    d
                }
                Focus::Items(_) => return None,
            },
            Expr::Filter(base, preds) => {
                let mut d = self.of(base, focus)?;
                let inner = Focus::Items(d.kinds);
                for p in preds {
                    let x = self.of(&p.expr, inner)?;
                    d.add(&x);
                }
                d.weight = d.weight.saturating_add(HEAVY);
                d
            }
            Expr::Or(l, r)
            | Expr::And(l, r)
            | Expr::General(_, l, r)
            | Expr::Value(_, l, r)
            | Expr::Arith(_, l, r)
            | Expr::Range(l, r) => self.atomizing([&**l, &**r], focus, 1)?,
            Expr::Node(_, l, r) | Expr::Set(_, l, r) => {
                // Node identity and document order: only for loaded documents' nodes.
                let a = self.of(l, focus)?;
                let b = self.of(r, focus)?;
                if a.has_attribute_nodes() || b.has_attribute_nodes() {
                    return None;
                }
                let mut d = a;
                d.kinds |= b.kinds;
                if matches!(e, Expr::Node(..)) {
                    d.kinds = ATOMIC;
                }
                d.add(&b);
                d
            }
            Expr::Neg(x) | Expr::InstanceOf(x, _) => self.atomizing([&**x], focus, 1)?,
            Expr::Cast { expr, .. } | Expr::Castable { expr, .. } => {
                self.atomizing([&**expr], focus, HEAVY)?
            }
            Expr::Treat(x, _) => self.of(x, focus)?,
            // As the `if` it stands for: the castable test atomizes `expr`, and the value is
            // `expr`'s.
            Expr::CastableOr { expr, .. } => {
                let mut d = self.atomizing([&**expr], focus, HEAVY)?;
                let a = self.of(expr, focus)?;
                d.kinds = a.kinds;
                d.add(&a);
                d
            }
            Expr::If(c, t, f) => {
                let mut d = self.atomizing([&**c], focus, 1)?;
                let a = self.of(t, focus)?;
                let b = self.of(f, focus)?;
                d.kinds = a.kinds | b.kinds;
                d.add(&a);
                d.add(&b);
                d
            }
            Expr::Quantified { bindings, body, .. } => {
                let mut d = self.bind(bindings, focus)?;
                let b = self.of(body, focus)?;
                d.add(&b);
                d.kinds = ATOMIC;
                d
            }
            Expr::For { bindings, body } => {
                let mut d = self.bind(bindings, focus)?;
                let b = self.of(body, focus)?;
                d.add(&b);
                d.kinds = b.kinds;
                d
            }
            Expr::Call(func, args) => self.call(*func, args, focus)?,
            Expr::RegexCall(_, args, _) => {
                let args: Vec<&Expr> = args.iter().collect();
                self.atomizing(args, focus, HEAVY)?
            }
            // A path from a literal `doc()` URI that refers to nothing outside itself.
            Expr::Memo(..) => Dependence {
                kinds: LOADED,
                ..Dependence::atomic(HEAVY)
            },
            Expr::Exists(x) | Expr::CmpStrs(_, x, _) | Expr::CountCmp(_, x, _) => {
                self.atomizing([&**x], focus, 1)?
            }
            // It reads the context node's name.
            Expr::SelfNames(_) => return None,
        })
    }

    /// Subexpressions whose values are only atomized or tested: attribute nodes are fine there.
    fn atomizing<'e>(
        &mut self,
        args: impl IntoIterator<Item = &'e Expr>,
        focus: Focus,
        weight: u32,
    ) -> Option<Dependence> {
        let mut d = Dependence::atomic(weight);
        for a in args {
            let x = self.of(a, focus)?;
            d.add(&x);
        }
        Some(d)
    }

    fn bind(&mut self, bindings: &[(usize, Expr)], focus: Focus) -> Option<Dependence> {
        let mut d = Dependence::atomic(HEAVY);
        for (slot, e) in bindings {
            let x = self.of(e, focus)?;
            if self.locals.len() <= *slot {
                self.locals.resize(*slot + 1, ATOMIC);
            }
            self.locals[*slot] = x.kinds;
            d.add(&x);
        }
        Some(d)
    }

    fn call(&mut self, func: Func, args: &[Expr], focus: Focus) -> Option<Dependence> {
        use Func::*;
        // Functions of the context item when called without an argument.
        if args.is_empty() {
            return match (func, focus) {
                (True | False, _) => Some(Dependence::atomic(1)),
                (Position | Last, Focus::Items(_)) => Some(Dependence::atomic(1)),
                (String | StringLength | NormalizeSpace | Number, Focus::Items(_)) => {
                    Some(Dependence::atomic(1))
                }
                (LocalName | Name | NamespaceUri | NodeName, Focus::Items(k))
                    if k & ATTRIBUTE == 0 =>
                {
                    Some(Dependence::atomic(1))
                }
                (Root | BaseUri, Focus::Items(k)) if k & ATTRIBUTE == 0 => Some(Dependence {
                    kinds: if func == Root { LOADED } else { ATOMIC },
                    ..Dependence::atomic(1)
                }),
                _ => None,
            };
        }
        if func == Lang && args.len() == 1 {
            // `lang(x)` asks about the context node's ancestors.
            return None;
        }
        let mut all = Dependence::atomic(1);
        all.kinds = 0;
        for a in args {
            let x = self.of(a, focus)?;
            all.kinds |= x.kinds;
            all.add(&x);
        }
        let kinds = match func {
            // Documents do not change during a process.
            Doc => LOADED,
            // The clock, `current()`, the focus: not functions of attribute values.
            Current | CurrentDateTime | CurrentDate | Position | Last => return None,
            // Read a node's name, namespaces, ancestors, document or identity: only for loaded
            // nodes (`document()` resolves a node argument against its base URI).
            LocalName
            | Name
            | NamespaceUri
            | NodeName
            | ResolveQName
            | InScopePrefixes
            | NamespaceUriForPrefix
            | DeepEqual
            | Lang
            | BaseUri
            | DocumentUri
            | Root
            | Document => {
                if all.has_attribute_nodes() {
                    return None;
                }
                if matches!(func, Root | Document) {
                    LOADED
                } else {
                    ATOMIC
                }
            }
            // Sequence functions hand their items on.
            Subsequence | Reverse | InsertBefore | Remove | Unordered | ExactlyOne | ZeroOrOne
            | OneOrMore => all.kinds,
            // Everything else atomizes its arguments or tests them.
            _ => ATOMIC,
        };
        all.kinds = kinds;
        if matches!(
            func,
            Doc | Document
                | DocAvailable
                | Matches
                | Replace
                | Tokenize
                | DistinctValues
                | ResolveQName
        ) {
            all.weight = all.weight.saturating_add(HEAVY);
        }
        Some(all)
    }
}

/// `a/b/@c`: child steps by exact name without predicates, then an attribute step by exact name
/// without predicates.
pub(crate) fn child_attribute_path(e: &Expr) -> Option<KeyAttribute> {
    fn children(e: &Expr, out: &mut Vec<ExpandedName>) -> bool {
        match e {
            Expr::Path(l, r) => children(l, out) && children(r, out),
            Expr::Step(s) if s.axis == Axis::Child && s.preds.is_empty() => match s.test {
                NodeTest::Name(n) => {
                    out.push(n);
                    true
                }
                _ => false,
            },
            _ => false,
        }
    }
    let Expr::Path(l, r) = e else { return None };
    let Expr::Step(attr) = &**r else { return None };
    let (Axis::Attribute, NodeTest::Name(name), true) =
        (attr.axis, &attr.test, attr.preds.is_empty())
    else {
        return None;
    };
    let mut path = Vec::new();
    children(l, &mut path).then(|| KeyAttribute {
        path: path.into_boxed_slice(),
        name: *name,
    })
}

#[cfg(test)]
mod tests {
    use crate::{StaticContext, compile};

    use super::Dependence;

    fn attrs(src: &str) -> Option<Vec<String>> {
        let mut sc = StaticContext::new();
        sc.bind_namespace("hl7", "urn:hl7-org:v3");
        let constant = sc.declare_variable("constant");
        let e = compile(src, &sc).expect("compile");
        e.ast
            .dependence(&|v| (v == constant).then(Dependence::constant))
            .map(|d| {
                let mut names: Vec<String> = d
                    .attributes
                    .iter()
                    .map(|k| {
                        k.path
                            .iter()
                            .map(|c| format!("{}/", c.local.as_str()))
                            .chain(std::iter::once(k.name.local.as_str().to_string()))
                            .collect()
                    })
                    .collect();
                names.sort();
                names
            })
    }

    #[test]
    fn attribute_values_make_the_key() {
        assert_eq!(attrs("@value"), Some(vec!["value".into()]));
        assert_eq!(
            attrs("not(@root) or matches(@root, $constant) or string-length(@extension) > 2"),
            Some(vec!["extension".into(), "root".into()])
        );
        assert_eq!(
            attrs("@code = doc('voc.xml')//concept/@code"),
            Some(vec!["code".into()])
        );
        assert_eq!(
            attrs(
                "exists(doc(concat('t/', @codeSystem, '.rdf'))//n[text() = string(current-dateTime())])"
            ),
            None
        );
        assert_eq!(
            attrs("every $p in tokenize(@use, ' ') satisfies $p = ('H', 'WP')"),
            Some(vec!["use".into()])
        );
        assert_eq!(
            attrs("(@value, @unit)[. = 'x'] or substring(@value, 1, 2) castable as xs:integer"),
            Some(vec!["unit".into(), "value".into()])
        );
    }

    #[test]
    fn attributes_along_child_paths_make_the_key() {
        assert_eq!(attrs("hl7:low/@value"), Some(vec!["low/value".into()]));
        assert_eq!(
            attrs("empty(hl7:high/@value) or (hl7:high/@value = $constant and @value)"),
            Some(vec!["high/value".into(), "value".into()])
        );
        assert_eq!(
            attrs("string-length(hl7:useablePeriod/hl7:low/@value) = 14"),
            Some(vec!["useablePeriod/low/value".into()])
        );
        for src in [
            "hl7:low[1]/@value",
            "hl7:low/@*",
            "*/@value",
            "hl7:low/@value/..",
            "hl7:low/@value is hl7:low/@value",
            "exists(hl7:low) or hl7:low/@value",
            "hl7:low/hl7:*/@value",
            ".//hl7:low/@value",
        ] {
            assert_eq!(attrs(src), None, "{src}");
        }
    }

    #[test]
    fn anything_else_of_the_node_is_not_a_key() {
        for src in [
            ".",
            "string()",
            "normalize-space()",
            "name()",
            "name(@value)",
            "local-name(@*)",
            "@*",
            "@value/..",
            "..",
            "hl7:code",
            "count(hl7:code) <= 1",
            "//hl7:code",
            "/hl7:ClinicalDocument",
            "../@value",
            "preceding-sibling::*[local-name() = 'id']",
            "@a | @b",
            "@a is @b",
            "@value[@x]",
            "root()",
            "lang('fr')",
            "base-uri()",
            "current()/@value",
            "current-dateTime() > xs:dateTime('2020-01-01T00:00:00')",
            "resolve-QName(@type, .)",
            "position() = 1",
            "$unknown",
            "for $a in @value return $a/..",
        ] {
            let mut sc = StaticContext::new();
            sc.bind_namespace("hl7", "urn:hl7-org:v3");
            sc.declare_variable("unknown");
            let e = compile(src, &sc).expect(src);
            assert_eq!(e.ast.dependence(&|_| None), None, "{src}");
        }
    }

    #[test]
    fn weight_counts_the_costly_operations() {
        let sc = StaticContext::new();
        let light = compile("@a = 'x'", &sc).expect("light");
        let heavy =
            compile("matches(@a, '^[0-9]+$') and @b castable as xs:integer", &sc).expect("heavy");
        let w = |e: &crate::Expr| e.ast.dependence(&|_| None).expect("pure").weight;
        assert!(w(&heavy) > w(&light) + 8, "{} {}", w(&heavy), w(&light));
    }
}
