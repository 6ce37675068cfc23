//! The function library (XPath 2.0 functions the ANS schematrons use, plus XSLT's
//! `current()` and `document()`) and casting.

use std::borrow::Cow;
use std::sync::Arc;

use segur_xml::{Name, NodeKind};

use crate::ast::{Arith, Cmp, Expr};
use crate::error::{CompileError, CompileErrorKind, EvalError};
use crate::eval::{Evaluator, Focus, Res, compare_atomic, describe_item, doc_order};
use crate::regex::{XRegex, compile as compile_regex, replacement};
use crate::value::{
    Atomic, AtomicType, DateTimeValue, Item, NodeRef, QNameValue, Sequence, parse_date,
    parse_datetime, parse_decimal, parse_double, parse_integer, trim_ws,
};

macro_rules! funcs {
    ($($variant:ident = $name:literal ($min:literal, $max:literal)),* $(,)?) => {
        /// A built-in function.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum Func {
            $($variant,)*
            Constructor(AtomicType),
        }

        impl Func {
            pub(crate) fn lookup(name: &str, arity: usize) -> Option<Func> {
                match name {
                    $($name if ($min..=$max).contains(&arity) => Some(Func::$variant),)*
                    _ => None,
                }
            }

            pub(crate) fn name(self) -> &'static str {
                match self {
                    $(Func::$variant => $name,)*
                    Func::Constructor(t) => t.name(),
                }
            }
        }
    };
}

funcs! {
    Not = "not"(1, 1),
    Count = "count"(1, 1),
    ResolveQName = "resolve-QName"(2, 2),
    Empty = "empty"(1, 1),
    Exists = "exists"(1, 1),
    QName = "QName"(2, 2),
    NamespaceUriFromQName = "namespace-uri-from-QName"(1, 1),
    LocalNameFromQName = "local-name-from-QName"(1, 1),
    PrefixFromQName = "prefix-from-QName"(1, 1),
    Matches = "matches"(2, 3),
    Replace = "replace"(3, 4),
    Tokenize = "tokenize"(2, 3),
    StringLength = "string-length"(0, 1),
    Substring = "substring"(2, 3),
    SubstringAfter = "substring-after"(2, 3),
    SubstringBefore = "substring-before"(2, 3),
    String = "string"(0, 1),
    Doc = "doc"(1, 1),
    Document = "document"(1, 2),
    DocAvailable = "doc-available"(1, 1),
    LocalName = "local-name"(0, 1),
    Name = "name"(0, 1),
    NamespaceUri = "namespace-uri"(0, 1),
    NodeName = "node-name"(0, 1),
    Number = "number"(0, 1),
    Contains = "contains"(2, 3),
    StartsWith = "starts-with"(2, 3),
    EndsWith = "ends-with"(2, 3),
    Concat = "concat"(2, 1000),
    NormalizeSpace = "normalize-space"(0, 1),
    StringJoin = "string-join"(1, 2),
    DistinctValues = "distinct-values"(1, 2),
    Translate = "translate"(3, 3),
    UpperCase = "upper-case"(1, 1),
    LowerCase = "lower-case"(1, 1),
    True = "true"(0, 0),
    False = "false"(0, 0),
    Boolean = "boolean"(1, 1),
    IriToUri = "iri-to-uri"(1, 1),
    EscapeHtmlUri = "escape-html-uri"(1, 1),
    EncodeForUri = "encode-for-uri"(1, 1),
    Position = "position"(0, 0),
    Last = "last"(0, 0),
    Sum = "sum"(1, 2),
    Min = "min"(1, 2),
    Max = "max"(1, 2),
    Avg = "avg"(1, 1),
    Abs = "abs"(1, 1),
    Floor = "floor"(1, 1),
    Ceiling = "ceiling"(1, 1),
    Round = "round"(1, 1),
    Root = "root"(0, 1),
    Data = "data"(1, 1),
    Current = "current"(0, 0),
    IndexOf = "index-of"(2, 3),
    Subsequence = "subsequence"(2, 3),
    Reverse = "reverse"(1, 1),
    DeepEqual = "deep-equal"(2, 3),
    Compare = "compare"(2, 3),
    CodepointsToString = "codepoints-to-string"(1, 1),
    StringToCodepoints = "string-to-codepoints"(1, 1),
    ExactlyOne = "exactly-one"(1, 1),
    ZeroOrOne = "zero-or-one"(1, 1),
    OneOrMore = "one-or-more"(1, 1),
    InsertBefore = "insert-before"(3, 3),
    Remove = "remove"(2, 2),
    Unordered = "unordered"(1, 1),
    FormatNumber = "format-number"(2, 3),
    CurrentDateTime = "current-dateTime"(0, 0),
    CurrentDate = "current-date"(0, 0),
    Lang = "lang"(1, 2),
    BaseUri = "base-uri"(0, 1),
    DocumentUri = "document-uri"(1, 1),
    InScopePrefixes = "in-scope-prefixes"(1, 1),
    NamespaceUriForPrefix = "namespace-uri-for-prefix"(2, 2),
    YearFromDate = "year-from-date"(1, 1),
    MonthFromDate = "month-from-date"(1, 1),
    DayFromDate = "day-from-date"(1, 1),
    YearFromDateTime = "year-from-dateTime"(1, 1),
    MonthFromDateTime = "month-from-dateTime"(1, 1),
    DayFromDateTime = "day-from-dateTime"(1, 1),
    HoursFromDateTime = "hours-from-dateTime"(1, 1),
    MinutesFromDateTime = "minutes-from-dateTime"(1, 1),
    SecondsFromDateTime = "seconds-from-dateTime"(1, 1),
}

impl Func {
    pub(crate) fn returns_boolean_or_string(self) -> bool {
        use Func::*;
        matches!(
            self,
            Not | Empty
                | Exists
                | Matches
                | Contains
                | StartsWith
                | EndsWith
                | True
                | False
                | Boolean
                | DocAvailable
                | Lang
                | DeepEqual
                | String
                | LocalName
                | Name
                | NamespaceUri
                | Concat
                | NormalizeSpace
                | Substring
                | SubstringAfter
                | SubstringBefore
                | Translate
                | UpperCase
                | LowerCase
                | Replace
        )
    }
}

/// Finishes a call: compiles literal regexes once, and refuses literal ones that do not translate.
pub(crate) fn finish_call(
    func: Func,
    args: Vec<Expr>,
    at: usize,
    src: &str,
) -> Result<Expr, CompileError> {
    let (pattern_at, flags_at) = match func {
        Func::Matches | Func::Tokenize => (1, 2),
        Func::Replace => (1, 3),
        _ => return Ok(Expr::Call(func, args)),
    };
    let literal = |i: usize| match args.get(i) {
        None => Some(String::new()),
        Some(Expr::Literal(Atomic::String(s))) => Some(s.to_string()),
        Some(_) => None,
    };
    let (Some(pattern), Some(flags)) = (literal(pattern_at), literal(flags_at)) else {
        return Ok(Expr::Call(func, args));
    };
    match compile_regex(&pattern, &flags) {
        Ok(re) => Ok(Expr::RegexCall(func, args, re)),
        Err(e) => Err(CompileError {
            kind: CompileErrorKind::Regex {
                pattern,
                reason: e.reason,
            },
            offset: at,
            source_text: src.to_owned(),
        }),
    }
}

fn bool_item(b: bool) -> Sequence {
    Sequence::from_buf([Item::Atomic(Atomic::Boolean(b))])
}

/// The values of a function call's arguments.
type Args = smallvec::SmallVec<[Sequence; 4]>;

fn str_item(s: impl Into<Arc<str>>) -> Sequence {
    Sequence::from_buf([Item::Atomic(Atomic::String(s.into()))])
}

/// The characters of `s` at the 1-based positions `p` with `start <= p < end` (`start` and
/// `end` are rounded, or infinite, or NaN), as `fn:substring` selects them: one contiguous
/// run, since both bounds are monotone in `p`.
fn substring(s: &str, start: f64, end: f64) -> &str {
    let within = |p: usize| {
        let p = p as f64;
        p >= start && p < end
    };
    if s.is_ascii() {
        // Positions are byte offsets plus one.
        if start.is_nan() || end.is_nan() {
            return "";
        }
        let first = start.max(1.0);
        let last = end.min(s.len() as f64 + 1.0);
        if first >= last {
            return "";
        }
        return &s[first as usize - 1..last as usize - 1];
    }
    let mut from = None;
    let mut to = s.len();
    for (i, (at, _)) in s.char_indices().enumerate() {
        match (from, within(i + 1)) {
            (None, true) => from = Some(at),
            (Some(_), false) => {
                to = at;
                break;
            }
            _ => {}
        }
    }
    from.map_or("", |from| &s[from..to])
}

fn int_item(i: i64) -> Sequence {
    Sequence::from_buf([Item::Atomic(Atomic::Integer(i))])
}

fn one(a: Atomic) -> Sequence {
    Sequence::from_buf([Item::Atomic(a)])
}

/// Casts a string to an atomic type (FORG0001 on a bad lexical form).
pub(crate) fn cast_string(s: &str, target: AtomicType) -> Res<Atomic> {
    let bad = || EvalError::Cast {
        value: s.to_owned(),
        target: target.name(),
    };
    Ok(match target {
        AtomicType::String | AtomicType::AnyAtomic => Atomic::String(Arc::from(s)),
        AtomicType::Untyped => Atomic::Untyped(Arc::from(s)),
        AtomicType::AnyUri => Atomic::AnyUri(Arc::from(trim_ws(s))),
        AtomicType::Boolean => match trim_ws(s) {
            "true" | "1" => Atomic::Boolean(true),
            "false" | "0" => Atomic::Boolean(false),
            _ => return Err(bad()),
        },
        AtomicType::Integer => Atomic::Integer(parse_integer(s).ok_or_else(bad)?),
        AtomicType::Decimal => Atomic::Decimal(parse_decimal(s).ok_or_else(bad)?),
        AtomicType::Double | AtomicType::Numeric => {
            Atomic::Double(parse_double(s).ok_or_else(bad)?)
        }
        AtomicType::Date => Atomic::Date(parse_date(s).ok_or_else(bad)?),
        AtomicType::DateTime => Atomic::DateTime(parse_datetime(s).ok_or_else(bad)?),
        AtomicType::QName => {
            return Err(EvalError::Type {
                context: "cast as xs:QName",
                expected: "a string literal",
                found: s.into(),
            });
        }
    })
}

impl Evaluator<'_, '_> {
    /// Casts an atomic value (XPath 2.0 §17.1).
    pub(crate) fn cast(&self, a: &Atomic, target: AtomicType) -> Res<Atomic> {
        if a.atomic_type() == target {
            return Ok(a.clone());
        }
        let bad = || EvalError::Cast {
            value: a.to_string(),
            target: target.name(),
        };
        match (a, target) {
            (Atomic::String(s) | Atomic::Untyped(s), t) => cast_string(s, t),
            (_, AtomicType::String) => Ok(Atomic::String(Arc::from(a.to_string()))),
            (_, AtomicType::Untyped) => Ok(Atomic::Untyped(Arc::from(a.to_string()))),
            (Atomic::AnyUri(s), AtomicType::AnyUri) => Ok(Atomic::AnyUri(s.clone())),
            (Atomic::Boolean(b), AtomicType::Integer) => Ok(Atomic::Integer(i64::from(*b))),
            (Atomic::Boolean(b), AtomicType::Decimal) => {
                Ok(Atomic::Decimal(f64::from(u8::from(*b))))
            }
            (Atomic::Boolean(b), AtomicType::Double) => Ok(Atomic::Double(f64::from(u8::from(*b)))),
            (n, AtomicType::Boolean) if n.is_numeric() => {
                let d = n.as_f64().unwrap_or(f64::NAN);
                Ok(Atomic::Boolean(d != 0.0 && !d.is_nan()))
            }
            (Atomic::Integer(i), AtomicType::Decimal) => Ok(Atomic::Decimal(*i as f64)),
            (Atomic::Integer(i), AtomicType::Double) => Ok(Atomic::Double(*i as f64)),
            (Atomic::Decimal(d), AtomicType::Double) => Ok(Atomic::Double(*d)),
            (Atomic::Decimal(d) | Atomic::Double(d), AtomicType::Integer) => {
                if !d.is_finite() || d.abs() >= 9.2e18 {
                    return Err(bad());
                }
                Ok(Atomic::Integer(d.trunc() as i64))
            }
            (Atomic::Double(d), AtomicType::Decimal) => {
                if !d.is_finite() {
                    return Err(bad());
                }
                Ok(Atomic::Decimal(*d))
            }
            (Atomic::DateTime(d), AtomicType::Date) => Ok(Atomic::Date(DateTimeValue {
                hour: 0,
                minute: 0,
                second: 0.0,
                ..*d
            })),
            (Atomic::Date(d), AtomicType::DateTime) => Ok(Atomic::DateTime(*d)),
            _ => Err(EvalError::Type {
                context: "cast",
                expected: target.name(),
                found: a.type_name().into(),
            }),
        }
    }

    /// The values of a call's arguments, in order (on the stack for up to four).
    fn args(&mut self, args: &[Expr], f: &Focus) -> Res<Args> {
        let mut out = Args::new();
        for a in args {
            out.push(self.eval(a, f)?);
        }
        Ok(out)
    }

    /// An `xs:string?` argument: empty → "", untyped/anyURI promoted, other types refused.
    fn string_arg<'x>(&self, seq: &'x [Item], context: &'static str) -> Res<Cow<'x, str>>
    where
        Self: 'x,
    {
        match seq {
            [] => Ok(Cow::Borrowed("")),
            [Item::Node(n)] => Ok(self.node_string(*n)),
            [Item::Atomic(Atomic::String(s) | Atomic::Untyped(s) | Atomic::AnyUri(s))] => {
                Ok(Cow::Borrowed(s))
            }
            [Item::Atomic(a)] => Err(EvalError::Type {
                context,
                expected: "xs:string",
                found: a.type_name().into(),
            }),
            _ => Err(EvalError::Cardinality {
                code: "XPTY0004",
                context,
                expected: "at most one item",
                count: seq.len(),
            }),
        }
    }

    fn opt_string_arg<'x>(
        &self,
        seq: &'x [Item],
        context: &'static str,
    ) -> Res<Option<Cow<'x, str>>>
    where
        Self: 'x,
    {
        if seq.is_empty() {
            Ok(None)
        } else {
            self.string_arg(seq, context).map(Some)
        }
    }

    fn double_arg(&self, seq: &[Item], context: &'static str) -> Res<Option<f64>> {
        Ok(self.numeric_operand(seq, context)?.and_then(|a| a.as_f64()))
    }

    /// The rounded `$start` (second argument) and `$length` (third, infinite when absent) of
    /// `substring()` and `subsequence()`.
    fn start_and_length(&self, v: &[Sequence], context: &'static str) -> Res<(f64, f64)> {
        let start = self
            .double_arg(&v[1], context)?
            .unwrap_or(f64::NAN)
            .round_ties_even_xpath();
        let len = match v.get(2) {
            Some(l) => self
                .double_arg(l, context)?
                .unwrap_or(f64::NAN)
                .round_ties_even_xpath(),
            None => f64::INFINITY,
        };
        Ok((start, len))
    }

    fn context_or_arg(&mut self, args: &[Expr], f: &Focus) -> Res<Sequence> {
        match args.first() {
            Some(a) => self.eval(a, f),
            None => Ok(Sequence::from_buf([f
                .item
                .clone()
                .ok_or(EvalError::NoContextItem)?])),
        }
    }

    fn node_arg(
        &mut self,
        args: &[Expr],
        f: &Focus,
        context: &'static str,
    ) -> Res<Option<NodeRef>> {
        let v = self.context_or_arg(args, f)?;
        match v.as_slice() {
            [] => Ok(None),
            [Item::Node(n)] => Ok(Some(*n)),
            [other] => Err(EvalError::Type {
                context,
                expected: "a node",
                found: describe_item(other),
            }),
            _ => Err(EvalError::Cardinality {
                code: "XPTY0004",
                context,
                expected: "at most one node",
                count: v.len(),
            }),
        }
    }

    /// Boolean functions evaluated without building a sequence; `None` when not one of them.
    pub(crate) fn call_boolean(
        &mut self,
        func: Func,
        args: &[Expr],
        f: &Focus,
    ) -> Res<Option<bool>> {
        Ok(Some(match func {
            Func::Not => !self.ebv(&args[0], f)?,
            Func::Boolean => self.ebv(&args[0], f)?,
            Func::True => true,
            Func::False => false,
            Func::Exists | Func::Empty => {
                let exists = match &args[0] {
                    e @ (Expr::Step(_) | Expr::Exists(_)) => self.ebv(e, f)?,
                    // A variable's value is looked at where it is, not copied.
                    Expr::Var(i, name) => !self.variable(*i, name)?.is_empty(),
                    other => !self.eval(other, f)?.is_empty(),
                };
                exists == (func == Func::Exists)
            }
            _ => return Ok(None),
        }))
    }

    pub(crate) fn call(
        &mut self,
        func: Func,
        args: &[Expr],
        re: Option<&Arc<XRegex>>,
        f: &Focus,
    ) -> Res<Sequence> {
        if let Some(b) = self.call_boolean(func, args, f)? {
            return Ok(bool_item(b));
        }
        let name = func.name();
        Ok(match func {
            Func::Count => int_item(self.eval(&args[0], f)?.len() as i64),
            Func::Position => int_item(f.pos as i64),
            Func::Last => int_item(f.size as i64),
            Func::Current => {
                Sequence::from_buf([self.current.clone().ok_or(EvalError::NoContextItem)?])
            }
            Func::String => {
                let v = self.context_or_arg(args, f)?;
                match v.as_slice() {
                    [] => str_item(""),
                    [item] => str_item(&*self.item_string(item)),
                    _ => {
                        return Err(EvalError::Cardinality {
                            code: "XPTY0004",
                            context: name,
                            expected: "at most one item",
                            count: v.len(),
                        });
                    }
                }
            }
            Func::Data => {
                let v = self.eval(&args[0], f)?;
                self.atomize(&v).into_iter().map(Item::Atomic).collect()
            }
            Func::StringLength => {
                let v = self.context_or_arg(args, f)?;
                let s = if args.is_empty() {
                    self.item_string(&v[0])
                } else {
                    self.string_arg(&v, name)?
                };
                int_item(s.chars().count() as i64)
            }
            Func::NormalizeSpace => {
                let v = self.context_or_arg(args, f)?;
                let s = if args.is_empty() {
                    self.item_string(&v[0])
                } else {
                    self.string_arg(&v, name)?
                };
                str_item(segur_xml::space::collapse(&s))
            }
            Func::Number => {
                let v = self.context_or_arg(args, f)?;
                let d = match v.as_slice() {
                    [] => f64::NAN,
                    [Item::Node(n)] => parse_double(&self.node_string(*n)).unwrap_or(f64::NAN),
                    [Item::Atomic(a)] => match self.cast(a, AtomicType::Double) {
                        Ok(Atomic::Double(d)) => d,
                        _ => f64::NAN,
                    },
                    _ => {
                        return Err(EvalError::Cardinality {
                            code: "XPTY0004",
                            context: name,
                            expected: "at most one item",
                            count: v.len(),
                        });
                    }
                };
                one(Atomic::Double(d))
            }
            Func::Concat => {
                // Room for the usual short results (a timestamp rebuilt from its parts), so the
                // string is not grown piece by piece.
                let mut s = String::with_capacity(64);
                for a in args {
                    let v = self.eval(a, f)?;
                    match v.as_slice() {
                        [] => {}
                        [item] => s.push_str(&self.item_string(item)),
                        _ => {
                            return Err(EvalError::Cardinality {
                                code: "XPTY0004",
                                context: name,
                                expected: "at most one item",
                                count: v.len(),
                            });
                        }
                    }
                }
                str_item(s)
            }
            Func::Contains
            | Func::StartsWith
            | Func::EndsWith
            | Func::SubstringAfter
            | Func::SubstringBefore => {
                let a = self.eval(&args[0], f)?;
                let b = self.eval(&args[1], f)?;
                let (a, b) = (self.string_arg(&a, name)?, self.string_arg(&b, name)?);
                match func {
                    Func::Contains => bool_item(a.contains(&*b)),
                    Func::StartsWith => bool_item(a.starts_with(&*b)),
                    Func::EndsWith => bool_item(a.ends_with(&*b)),
                    Func::SubstringAfter => str_item(a.find(&*b).map_or("", |i| &a[i + b.len()..])),
                    _ => str_item(a.find(&*b).map_or("", |i| &a[..i])),
                }
            }
            Func::Substring => {
                let v = self.args(args, f)?;
                let s = self.string_arg(&v[0], name)?;
                let (start, len) = self.start_and_length(&v, name)?;
                str_item(substring(&s, start, start + len))
            }
            Func::Translate => {
                let v = self.args(args, f)?;
                let s = self.string_arg(&v[0], name)?;
                let from: Vec<char> = self.string_arg(&v[1], name)?.chars().collect();
                let to: Vec<char> = self.string_arg(&v[2], name)?.chars().collect();
                let out: String = s
                    .chars()
                    .filter_map(|c| match from.iter().position(|&x| x == c) {
                        Some(i) => to.get(i).copied(),
                        None => Some(c),
                    })
                    .collect();
                str_item(out)
            }
            Func::UpperCase | Func::LowerCase => {
                let v = self.eval(&args[0], f)?;
                let s = self.string_arg(&v, name)?;
                str_item(if func == Func::UpperCase {
                    s.to_uppercase()
                } else {
                    s.to_lowercase()
                })
            }
            Func::StringJoin => {
                let v = self.eval(&args[0], f)?;
                let sep = match args.get(1) {
                    Some(a) => {
                        let s = self.eval(a, f)?;
                        self.string_arg(&s, name)?.into_owned()
                    }
                    None => String::new(),
                };
                let mut out = String::with_capacity(64);
                for (k, item) in v.iter().enumerate() {
                    if k > 0 {
                        out.push_str(&sep);
                    }
                    out.push_str(&self.item_string(item));
                }
                str_item(out)
            }
            Func::Matches | Func::Replace | Func::Tokenize => self.regex_call(func, args, re, f)?,
            Func::Compare => {
                let v = self.args(args, f)?;
                let (Some(a), Some(b)) = (
                    self.opt_string_arg(&v[0], name)?,
                    self.opt_string_arg(&v[1], name)?,
                ) else {
                    return Ok(Sequence::new());
                };
                int_item(match a.cmp(&b) {
                    std::cmp::Ordering::Less => -1,
                    std::cmp::Ordering::Equal => 0,
                    std::cmp::Ordering::Greater => 1,
                })
            }
            Func::CodepointsToString => {
                let v = self.eval(&args[0], f)?;
                let mut s = String::new();
                for a in self.atomize(&v) {
                    let Atomic::Integer(code) = self.cast(&a, AtomicType::Integer)? else {
                        continue;
                    };
                    let c = u32::try_from(code)
                        .ok()
                        .and_then(char::from_u32)
                        .filter(|&c| is_xml_char(c));
                    s.push(c.ok_or(EvalError::CodePoint { code })?);
                }
                str_item(s)
            }
            Func::StringToCodepoints => {
                let v = self.eval(&args[0], f)?;
                let s = self.string_arg(&v, name)?;
                s.chars()
                    .map(|c| Item::Atomic(Atomic::Integer(i64::from(u32::from(c)))))
                    .collect()
            }
            Func::LocalName | Func::Name | Func::NamespaceUri => {
                let Some(n) = self.node_arg(args, f, name)? else {
                    return Ok(str_item(""));
                };
                let doc = self.doc(n);
                let named = matches!(
                    doc.kind(n.node),
                    NodeKind::Element | NodeKind::Attribute | NodeKind::ProcessingInstruction
                );
                if !named {
                    return Ok(str_item(""));
                }
                match func {
                    Func::LocalName => str_item(doc.local_name(n.node)),
                    Func::Name => str_item(&*doc.qualified_name(n.node)),
                    _ => Sequence::from_buf([Item::Atomic(Atomic::AnyUri(Arc::from(
                        doc.namespace_uri(n.node),
                    )))]),
                }
            }
            Func::NodeName => {
                let Some(n) = self.node_arg(args, f, name)? else {
                    return Ok(Sequence::new());
                };
                let doc = self.doc(n);
                if !matches!(
                    doc.kind(n.node),
                    NodeKind::Element | NodeKind::Attribute | NodeKind::ProcessingInstruction
                ) {
                    return Ok(Sequence::new());
                }
                let en = doc.name(n.node);
                one(Atomic::QName(QNameValue {
                    ns: en.ns,
                    local: en.local,
                    prefix: doc.prefix(n.node),
                }))
            }
            Func::Root => {
                let Some(n) = self.node_arg(args, f, name)? else {
                    return Ok(Sequence::new());
                };
                let doc = self.doc(n);
                let top = doc.ancestors(n.node).last().unwrap_or(n.node);
                Sequence::from_buf([Item::Node(NodeRef {
                    doc: n.doc,
                    node: top,
                })])
            }
            Func::BaseUri | Func::DocumentUri => {
                let Some(n) = self.node_arg(args, f, name)? else {
                    return Ok(Sequence::new());
                };
                let doc = self.doc(n);
                if func == Func::DocumentUri && doc.kind(n.node) != NodeKind::Document {
                    return Ok(Sequence::new());
                }
                doc.uri()
                    .map(|u| Item::Atomic(Atomic::AnyUri(Arc::from(u))))
                    .into_iter()
                    .collect()
            }
            Func::Lang => {
                let v = self.eval(&args[0], f)?;
                let want = self.string_arg(&v, name)?.to_lowercase();
                let Some(n) = self.node_arg(&args[1..], f, name)? else {
                    return Ok(bool_item(false));
                };
                let doc = self.doc(n);
                let lang = std::iter::once(n.node)
                    .chain(doc.ancestors(n.node))
                    .find_map(|a| doc.attribute_value(a, segur_xml::XML_NAMESPACE, "lang"));
                let ok = lang.is_some_and(|l| {
                    let l = l.to_lowercase();
                    l == want || l.strip_prefix(&want).is_some_and(|r| r.starts_with('-'))
                });
                bool_item(ok)
            }
            Func::Doc | Func::Document | Func::DocAvailable => {
                let v = self.eval(&args[0], f)?;
                if func == Func::Document {
                    // XSLT 2.0 16.1: failing to retrieve a resource in document() is a
                    // recoverable error; Saxon-HE (the official chain) recovers by warning and
                    // returning nothing for that URI, so a missing value-set file makes every
                    // membership test fail instead of aborting the run.
                    let mut out = Sequence::new();
                    for item in &v {
                        let uri = self.item_string(item).into_owned();
                        if let Some(slot) = self.ctx.load(&uri)? {
                            out.push(Item::Node(NodeRef {
                                doc: slot,
                                node: segur_xml::NodeId::ROOT,
                            }));
                        }
                    }
                    doc_order(&mut out);
                    return Ok(out);
                }
                let Some(uri) = self.opt_string_arg(&v, name)?.map(Cow::into_owned) else {
                    return Ok(if func == Func::DocAvailable {
                        bool_item(false)
                    } else {
                        Sequence::new()
                    });
                };
                if func == Func::DocAvailable {
                    return Ok(bool_item(self.ctx.load(&uri)?.is_some()));
                }
                Sequence::from_buf([self.load_doc(&uri)?])
            }
            Func::ResolveQName => {
                let v = self.eval(&args[0], f)?;
                let Some(qname) = self.opt_string_arg(&v, name)?.map(Cow::into_owned) else {
                    return Ok(Sequence::new());
                };
                let e = self.eval(&args[1], f)?;
                let [Item::Node(elem)] = e.as_slice() else {
                    return Err(EvalError::Type {
                        context: name,
                        expected: "one element",
                        found: crate::eval::describe_seq(&e),
                    });
                };
                let doc = self.doc(*elem);
                let qname = trim_ws(&qname);
                let (prefix, local) = qname.split_once(':').unwrap_or(("", qname));
                if !is_ncname(local) || (!prefix.is_empty() && !is_ncname(prefix)) {
                    return Err(EvalError::InvalidQName {
                        value: qname.into(),
                    });
                }
                let ns = match doc.lookup_namespace(elem.node, prefix) {
                    Some(ns) => ns,
                    None if prefix.is_empty() => "",
                    None => {
                        return Err(EvalError::UnboundPrefix {
                            prefix: prefix.into(),
                        });
                    }
                };
                one(Atomic::QName(QNameValue {
                    ns: Name::intern(ns),
                    local: Name::intern(local),
                    prefix: Name::intern(prefix),
                }))
            }
            Func::QName => {
                let v = self.args(args, f)?;
                let ns = self.string_arg(&v[0], name)?.into_owned();
                let lexical = self.string_arg(&v[1], name)?.into_owned();
                let (prefix, local) = lexical.split_once(':').unwrap_or(("", &lexical));
                if !is_ncname(local)
                    || (!prefix.is_empty() && !is_ncname(prefix))
                    || (ns.is_empty() && !prefix.is_empty())
                {
                    return Err(EvalError::InvalidQName {
                        value: lexical.clone(),
                    });
                }
                one(Atomic::QName(QNameValue {
                    ns: Name::intern(&ns),
                    local: Name::intern(local),
                    prefix: Name::intern(prefix),
                }))
            }
            Func::NamespaceUriFromQName | Func::LocalNameFromQName | Func::PrefixFromQName => {
                let v = self.eval(&args[0], f)?;
                match v.as_slice() {
                    [] => Sequence::new(),
                    [Item::Atomic(Atomic::QName(q))] => match func {
                        Func::NamespaceUriFromQName => {
                            one(Atomic::AnyUri(Arc::from(q.ns.as_str())))
                        }
                        Func::LocalNameFromQName => str_item(q.local.as_str()),
                        _ if q.prefix.is_empty() => Sequence::new(),
                        _ => str_item(q.prefix.as_str()),
                    },
                    _ => {
                        return Err(EvalError::Type {
                            context: name,
                            expected: "xs:QName?",
                            found: crate::eval::describe_seq(&v),
                        });
                    }
                }
            }
            Func::InScopePrefixes => {
                let Some(n) = self.node_arg(args, f, name)? else {
                    return Ok(Sequence::new());
                };
                let doc = self.doc(n);
                let mut seen: Vec<Name> = Vec::new();
                let mut out = str_item("xml");
                for (p, uri) in doc.in_scope_namespaces(n.node) {
                    if !seen.contains(&p) {
                        seen.push(p);
                        if !uri.is_empty() {
                            out.push(Item::Atomic(Atomic::String(Arc::from(p.as_str()))));
                        }
                    }
                }
                out
            }
            Func::NamespaceUriForPrefix => {
                let p = self.eval(&args[0], f)?;
                let prefix = self.string_arg(&p, name)?.into_owned();
                let Some(n) = self.node_arg(&args[1..], f, name)? else {
                    return Ok(Sequence::new());
                };
                match self
                    .doc(n)
                    .lookup_namespace(n.node, &prefix)
                    .filter(|u| !u.is_empty())
                {
                    Some(uri) => one(Atomic::AnyUri(Arc::from(uri))),
                    None => Sequence::new(),
                }
            }
            Func::IriToUri | Func::EscapeHtmlUri | Func::EncodeForUri => {
                let v = self.eval(&args[0], f)?;
                let s = self.string_arg(&v, name)?;
                str_item(percent_encode(&s, func))
            }
            Func::Sum | Func::Avg => {
                let v = self.eval(&args[0], f)?;
                if v.is_empty() {
                    return match (func, args.get(1)) {
                        (Func::Sum, Some(zero)) => self.eval(zero, f),
                        (Func::Sum, None) => Ok(int_item(0)),
                        _ => Ok(Sequence::new()),
                    };
                }
                let mut total: Option<Atomic> = None;
                for a in self.atomize(&v) {
                    let a = match a {
                        Atomic::Untyped(s) => {
                            Atomic::Double(parse_double(&s).ok_or(EvalError::Cast {
                                value: s.to_string(),
                                target: "xs:double",
                            })?)
                        }
                        a if a.is_numeric() => a,
                        other => {
                            return Err(EvalError::Type {
                                context: name,
                                expected: "numeric values",
                                found: other.type_name().into(),
                            });
                        }
                    };
                    total = Some(match total {
                        None => a,
                        Some(t) => crate::eval::arith(Arith::Add, &t, &a)?,
                    });
                }
                let total = total.unwrap_or(Atomic::Integer(0));
                if func == Func::Avg {
                    one(crate::eval::arith(
                        Arith::Div,
                        &total,
                        &Atomic::Integer(v.len() as i64),
                    )?)
                } else {
                    one(total)
                }
            }
            Func::Min | Func::Max => {
                let v = self.eval(&args[0], f)?;
                let mut best: Option<Atomic> = None;
                for a in self.atomize(&v) {
                    let a = match a {
                        Atomic::Untyped(s) => {
                            Atomic::Double(parse_double(&s).ok_or(EvalError::Cast {
                                value: s.to_string(),
                                target: "xs:double",
                            })?)
                        }
                        a => a,
                    };
                    if let Atomic::Double(d) = a
                        && d.is_nan()
                    {
                        return Ok(one(Atomic::Double(f64::NAN)));
                    }
                    let op = if func == Func::Min { Cmp::Lt } else { Cmp::Gt };
                    best = Some(match best {
                        Some(b) if !compare_atomic(op, &a, &b)? => b,
                        _ => a,
                    });
                }
                best.map(Item::Atomic).into_iter().collect()
            }
            Func::Abs | Func::Floor | Func::Ceiling | Func::Round => {
                let v = self.eval(&args[0], f)?;
                let Some(a) = self.numeric_operand(&v, name)? else {
                    return Ok(Sequence::new());
                };
                let op = |d: f64| match func {
                    Func::Abs => d.abs(),
                    Func::Floor => d.floor(),
                    Func::Ceiling => d.ceil(),
                    _ => (d + 0.5).floor(),
                };
                one(match a {
                    Atomic::Integer(i) if func == Func::Abs => {
                        Atomic::Integer(i.checked_abs().ok_or(EvalError::Overflow)?)
                    }
                    Atomic::Integer(i) => Atomic::Integer(i),
                    Atomic::Decimal(d) => Atomic::Decimal(op(d)),
                    Atomic::Double(d) => Atomic::Double(op(d)),
                    other => other,
                })
            }
            Func::DistinctValues => {
                let v = self.eval(&args[0], f)?;
                let mut out: Vec<Atomic> = Vec::new();
                for a in self.atomize(&v) {
                    let a = match a {
                        Atomic::Untyped(s) => Atomic::String(s),
                        a => a,
                    };
                    let nan = |x: &Atomic| matches!(x, Atomic::Double(d) | Atomic::Decimal(d) if d.is_nan());
                    let dup = out.iter().any(|b| {
                        (nan(&a) && nan(b)) || compare_atomic(Cmp::Eq, &a, b).unwrap_or(false)
                    });
                    if !dup {
                        out.push(a);
                    }
                }
                out.into_iter().map(Item::Atomic).collect()
            }
            Func::IndexOf => {
                let v = self.eval(&args[0], f)?;
                let s = self.eval(&args[1], f)?;
                let [key] = s.as_slice() else {
                    return Err(EvalError::Cardinality {
                        code: "XPTY0004",
                        context: name,
                        expected: "one item",
                        count: s.len(),
                    });
                };
                let untyped_str = |a: Atomic| match a {
                    Atomic::Untyped(s) => Atomic::String(s),
                    a => a,
                };
                let key = untyped_str(self.atomize_item(key));
                self.atomize(&v)
                    .into_iter()
                    .enumerate()
                    .filter(|(_, a)| {
                        compare_atomic(Cmp::Eq, &untyped_str(a.clone()), &key).unwrap_or(false)
                    })
                    .map(|(i, _)| Item::Atomic(Atomic::Integer(i as i64 + 1)))
                    .collect()
            }
            Func::Subsequence => {
                let v = self.args(args, f)?;
                let (start, len) = self.start_and_length(&v, name)?;
                let mut seq = v.into_iter().next().unwrap_or_default();
                let end = start + len;
                let mut i = 0usize;
                seq.retain(|_| {
                    i += 1;
                    let p = i as f64;
                    p >= start && p < end
                });
                seq
            }
            Func::Reverse => {
                let mut v = self.eval(&args[0], f)?;
                v.reverse();
                v
            }
            Func::Unordered => self.eval(&args[0], f)?,
            Func::InsertBefore => {
                let v = self.args(args, f)?;
                let Some(pos) = self.numeric_operand(&v[1], name)? else {
                    return Ok(Sequence::new());
                };
                let pos = pos.as_f64().unwrap_or(1.0).max(1.0) as usize;
                let mut it = v.into_iter();
                let mut target = it.next().unwrap_or_default();
                let inserts = it.nth(1).unwrap_or_default();
                let at = (pos - 1).min(target.len());
                target.insert_many(at, inserts);
                target
            }
            Func::Remove => {
                let v = self.args(args, f)?;
                let pos = self
                    .numeric_operand(&v[1], name)?
                    .and_then(|a| a.as_f64())
                    .unwrap_or(0.0);
                let mut target = v.into_iter().next().unwrap_or_default();
                if pos >= 1.0 && (pos as usize) <= target.len() {
                    target.remove(pos as usize - 1);
                }
                target
            }
            Func::ExactlyOne | Func::ZeroOrOne | Func::OneOrMore => {
                let v = self.eval(&args[0], f)?;
                let (ok, code, expected) = match func {
                    Func::ExactlyOne => (v.len() == 1, "FORG0005", "exactly one item"),
                    Func::ZeroOrOne => (v.len() <= 1, "FORG0003", "at most one item"),
                    _ => (!v.is_empty(), "FORG0004", "at least one item"),
                };
                if !ok {
                    return Err(EvalError::Cardinality {
                        code,
                        context: name,
                        expected,
                        count: v.len(),
                    });
                }
                v
            }
            Func::DeepEqual => {
                let a = self.eval(&args[0], f)?;
                let b = self.eval(&args[1], f)?;
                bool_item(self.deep_equal(&a, &b))
            }
            Func::FormatNumber => {
                let v = self.args(args, f)?;
                let d = self.double_arg(&v[0], name)?.unwrap_or(f64::NAN);
                let picture = self.string_arg(&v[1], name)?.into_owned();
                str_item(format_number(d, &picture)?)
            }
            Func::CurrentDateTime => one(Atomic::DateTime(self.ctx.now())),
            Func::CurrentDate => {
                let now = self.ctx.now();
                one(Atomic::Date(DateTimeValue {
                    hour: 0,
                    minute: 0,
                    second: 0.0,
                    ..now
                }))
            }
            Func::YearFromDate
            | Func::MonthFromDate
            | Func::DayFromDate
            | Func::YearFromDateTime
            | Func::MonthFromDateTime
            | Func::DayFromDateTime
            | Func::HoursFromDateTime
            | Func::MinutesFromDateTime
            | Func::SecondsFromDateTime => {
                let v = self.eval(&args[0], f)?;
                let want = if matches!(
                    func,
                    Func::YearFromDate | Func::MonthFromDate | Func::DayFromDate
                ) {
                    AtomicType::Date
                } else {
                    AtomicType::DateTime
                };
                let d = match v.as_slice() {
                    [] => return Ok(Sequence::new()),
                    [item] => match self.cast(&self.atomize_item(item), want)? {
                        Atomic::Date(d) | Atomic::DateTime(d) => d,
                        _ => return Ok(Sequence::new()),
                    },
                    _ => {
                        return Err(EvalError::Cardinality {
                            code: "XPTY0004",
                            context: name,
                            expected: "at most one item",
                            count: v.len(),
                        });
                    }
                };
                match func {
                    Func::YearFromDate | Func::YearFromDateTime => int_item(i64::from(d.year)),
                    Func::MonthFromDate | Func::MonthFromDateTime => int_item(i64::from(d.month)),
                    Func::DayFromDate | Func::DayFromDateTime => int_item(i64::from(d.day)),
                    Func::HoursFromDateTime => int_item(i64::from(d.hour)),
                    Func::MinutesFromDateTime => int_item(i64::from(d.minute)),
                    _ => one(Atomic::Decimal(d.second)),
                }
            }
            Func::Constructor(t) => {
                let v = self.eval(&args[0], f)?;
                match v.as_slice() {
                    [] => Sequence::new(),
                    [item] => one(self.cast(&self.atomize_item(item), t)?),
                    _ => {
                        return Err(EvalError::Cardinality {
                            code: "XPTY0004",
                            context: t.name(),
                            expected: "at most one item",
                            count: v.len(),
                        });
                    }
                }
            }
            Func::Not | Func::Boolean | Func::True | Func::False | Func::Exists | Func::Empty => {
                // Answered by `call_boolean` above.
                Sequence::new()
            }
        })
    }

    fn load_doc(&self, uri: &str) -> Res<Item> {
        match self.ctx.load(uri)? {
            Some(slot) => Ok(Item::Node(NodeRef {
                doc: slot,
                node: segur_xml::NodeId::ROOT,
            })),
            None => Err(EvalError::DocumentNotFound { uri: uri.into() }),
        }
    }

    fn regex_call(
        &mut self,
        func: Func,
        args: &[Expr],
        re: Option<&Arc<XRegex>>,
        f: &Focus,
    ) -> Res<Sequence> {
        let name = func.name();
        let v = self.args(args, f)?;
        let input = self.string_arg(&v[0], name)?;
        let pattern = self.string_arg(&v[1], name)?;
        let compiled;
        let re: &XRegex = match re {
            Some(re) => re,
            None => {
                let flags_at = if func == Func::Replace { 3 } else { 2 };
                let flags = match v.get(flags_at) {
                    Some(s) => self.string_arg(s, name)?,
                    None => Cow::Borrowed(""),
                };
                compiled = compile_regex(&pattern, &flags).map_err(|e| EvalError::Regex {
                    code: if e.bad_flags { "FORX0001" } else { "FORX0002" },
                    pattern: pattern.to_string(),
                    reason: e.reason,
                })?;
                &compiled
            }
        };
        Ok(match func {
            Func::Matches => bool_item(re.is_match(&input)),
            Func::Tokenize => {
                if re.matches_empty {
                    return Err(EvalError::RegexMatchesEmpty {
                        pattern: pattern.into_owned(),
                    });
                }
                if input.is_empty() {
                    return Ok(Sequence::new());
                }
                re.split(&input)
                    .map(|s| Item::Atomic(Atomic::String(Arc::from(s))))
                    .collect()
            }
            _ => {
                if re.matches_empty {
                    return Err(EvalError::RegexMatchesEmpty {
                        pattern: pattern.into_owned(),
                    });
                }
                let rep = self.string_arg(&v[2], name)?;
                let groups = re.captures_len() - 1;
                let template = replacement(&rep, groups).ok_or_else(|| EvalError::Replacement {
                    replacement: rep.into_owned(),
                })?;
                match (template.replace_all(re, &input), v[0].as_slice()) {
                    // Nothing replaced in a string: the same string.
                    (Cow::Borrowed(_), [Item::Atomic(a @ Atomic::String(_))]) => one(a.clone()),
                    (out, _) => str_item(&*out),
                }
            }
        })
    }

    fn deep_equal(&self, a: &[Item], b: &[Item]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Item::Atomic(x), Item::Atomic(y)) => {
                let nan =
                    |v: &Atomic| matches!(v, Atomic::Double(d) | Atomic::Decimal(d) if d.is_nan());
                (nan(x) && nan(y)) || compare_atomic(Cmp::Eq, x, y).unwrap_or(false)
            }
            (Item::Node(m), Item::Node(n)) => self.deep_equal_nodes(*m, *n),
            _ => false,
        })
    }

    fn deep_equal_nodes(&self, m: NodeRef, n: NodeRef) -> bool {
        let (dm, dn) = (self.doc(m), self.doc(n));
        // Iterative walk over both subtrees in parallel (comments and PIs ignored in content).
        let mut stack = vec![(m.node, n.node)];
        while let Some((a, b)) = stack.pop() {
            let kind = dm.kind(a);
            if kind != dn.kind(b) {
                return false;
            }
            match kind {
                NodeKind::Element | NodeKind::Document => {
                    if dm.name(a) != dn.name(b) {
                        return false;
                    }
                    let attrs_a: Vec<_> = dm.attributes(a).collect();
                    if attrs_a.len() != dn.attributes(b).count() {
                        return false;
                    }
                    for x in attrs_a {
                        match dn.attribute(b, dm.name(x)) {
                            Some(y) if dm.value(x) == dn.value(y) => {}
                            _ => return false,
                        }
                    }
                    let content = |d: &segur_xml::Document, e| {
                        d.children(e)
                            .filter(|&c| matches!(d.kind(c), NodeKind::Element | NodeKind::Text))
                            .collect::<Vec<_>>()
                    };
                    let (ca, cb) = (content(dm, a), content(dn, b));
                    if ca.len() != cb.len() {
                        return false;
                    }
                    stack.extend(ca.into_iter().zip(cb));
                }
                _ => {
                    if dm.name(a) != dn.name(b) || dm.value(a) != dn.value(b) {
                        return false;
                    }
                }
            }
        }
        true
    }
}

trait RoundXPath {
    fn round_ties_even_xpath(self) -> f64;
}

impl RoundXPath for f64 {
    /// `fn:round` semantics (half up) used by substring and subsequence positions.
    fn round_ties_even_xpath(self) -> f64 {
        if self.is_finite() {
            (self + 0.5).floor()
        } else {
            self
        }
    }
}

fn is_ncname(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '\u{B7}'))
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn percent_encode(s: &str, func: Func) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let keep = match func {
            Func::EncodeForUri => c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~'),
            Func::IriToUri => {
                c.is_ascii()
                    && !matches!(
                        c,
                        ' ' | '<' | '>' | '"' | '{' | '}' | '|' | '\\' | '^' | '`'
                    )
                    && !c.is_ascii_control()
            }
            _ => (' '..='~').contains(&c),
        };
        if keep {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// `format-number` for the common pictures: `0`, `#`, `.`, `,` grouping, `%`, prefix/suffix text.
fn format_number(d: f64, picture: &str) -> Res<String> {
    let bad = || EvalError::Picture {
        picture: picture.into(),
    };
    let picture = picture.split(';').next().unwrap_or(picture);
    if d.is_nan() {
        return Ok("NaN".into());
    }
    let is_pic = |c: char| matches!(c, '0' | '#' | '.' | ',');
    let start = picture.find(is_pic).ok_or_else(bad)?;
    let end = picture.rfind(is_pic).map_or(start, |e| e + 1);
    let (prefix, body, suffix) = (&picture[..start], &picture[start..end], &picture[end..]);
    let percent = suffix.contains('%') || prefix.contains('%');
    let value = if percent { d * 100.0 } else { d };
    if value.is_infinite() {
        return Ok(format!(
            "{prefix}{}{}",
            if value < 0.0 { "-" } else { "" },
            "Infinity"
        ));
    }
    let (int_pic, frac_pic) = body.split_once('.').unwrap_or((body, ""));
    if frac_pic.contains(',') || frac_pic.contains('.') {
        return Err(bad());
    }
    let min_frac = frac_pic.chars().filter(|&c| c == '0').count();
    let max_frac = frac_pic.len();
    let min_int = int_pic.chars().filter(|&c| c == '0').count();
    let group = int_pic.rfind(',').map(|p| int_pic.len() - p - 1);
    let s = format!("{:.*}", max_frac, value.abs());
    let (int_part, frac_part) = s.split_once('.').unwrap_or((&s, ""));
    let mut frac = frac_part.to_owned();
    while frac.len() > min_frac && frac.ends_with('0') {
        frac.pop();
    }
    let mut int = int_part.trim_start_matches('0').to_owned();
    while int.len() < min_int {
        int.insert(0, '0');
    }
    if let Some(g) = group.filter(|&g| g > 0) {
        let digits: Vec<char> = int.chars().collect();
        let mut grouped = String::new();
        for (i, c) in digits.iter().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(g) {
                grouped.push(',');
            }
            grouped.push(*c);
        }
        int = grouped;
    }
    let sign = if value < 0.0
        && (int.chars().any(|c| c != '0' && c != ',') || frac.chars().any(|c| c != '0'))
    {
        "-"
    } else {
        ""
    };
    let number = if frac.is_empty() {
        int
    } else {
        format!("{int}.{frac}")
    };
    let number = if number.is_empty() {
        "0".to_owned()
    } else {
        number
    };
    Ok(format!("{sign}{prefix}{number}{suffix}"))
}

#[cfg(test)]
mod tests {
    use super::format_number;

    #[test]
    fn format_number_pictures() {
        assert_eq!(
            format_number(12.3456, "0.00").ok().as_deref(),
            Some("12.35")
        );
        assert_eq!(
            format_number(1234567.0, "#,##0").ok().as_deref(),
            Some("1,234,567")
        );
        assert_eq!(format_number(5.0, "00").ok().as_deref(), Some("05"));
        assert_eq!(format_number(0.25, "0%").ok().as_deref(), Some("25%"));
        assert_eq!(format_number(-2.5, "0.0").ok().as_deref(), Some("-2.5"));
        assert_eq!(format_number(2.0, "#.##").ok().as_deref(), Some("2"));
    }
}
