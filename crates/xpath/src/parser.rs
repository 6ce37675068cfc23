//! Tokenizer and recursive-descent parser for XPath 2.0 and XSLT 2.0 patterns, producing the
//! resolved tree of [`crate::ast`]. Nesting is bounded so no input overflows the stack.

use segur_xml::{ExpandedName, Name};

use crate::StaticContext;
use crate::ast::{
    Arith, Axis, Cmp, Expr, ItemType, NodeCmp, NodeTest, Occurrence, Predicate, SeqType, SetOp,
    Step,
};
use crate::error::{CompileError, CompileErrorKind};
use crate::functions::{self, Func};
use crate::value::{Atomic, AtomicType, parse_decimal, parse_double};

/// Deepest nesting of expressions (parentheses, predicates, arguments); bounds parser and
/// evaluator recursion so a debug build's 2 MiB thread stack suffices.
const MAX_DEPTH: usize = 64;
pub(crate) const XS_NAMESPACE: &str = "http://www.w3.org/2001/XMLSchema";
pub(crate) const FN_NAMESPACE: &str = "http://www.w3.org/2005/xpath-functions";

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok<'s> {
    /// A (possibly prefixed) name; `local == "*"` for `prefix:*`, `prefix == Some("*")` for `*:local`.
    Name(Option<&'s str>, &'s str),
    Star,
    Str(String),
    Integer(&'s str),
    Decimal(&'s str),
    Double(&'s str),
    Var(&'s str),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Slash,
    DSlash,
    At,
    Dot,
    DDot,
    ColonColon,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    LtLt,
    GtGt,
    Plus,
    Minus,
    Pipe,
    Question,
    Eof,
}

fn describe(t: &Tok<'_>) -> String {
    match t {
        Tok::Name(Some(p), l) => format!("'{p}:{l}'"),
        Tok::Name(None, l) => format!("'{l}'"),
        Tok::Str(s) => format!("string literal {s:?}"),
        Tok::Integer(s) | Tok::Decimal(s) | Tok::Double(s) => format!("number {s}"),
        Tok::Var(v) => format!("${v}"),
        Tok::Eof => "end of expression".into(),
        other => format!("{other:?}"),
    }
}

fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric()
        || matches!(c, '_' | '-' | '.' | '\u{B7}')
        || ('\u{300}'..='\u{36F}').contains(&c)
}

type Spanned<'s> = (Tok<'s>, usize);

fn err(kind: CompileErrorKind, offset: usize, src: &str) -> CompileError {
    CompileError {
        kind,
        offset,
        source_text: src.to_owned(),
    }
}

pub(crate) fn tokenize(src: &str) -> Result<Vec<Spanned<'_>>, CompileError> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let name_end = |from: usize| -> usize {
        src[from..]
            .char_indices()
            .find(|&(_, c)| !is_name_char(c))
            .map_or(src.len(), |(j, _)| from + j)
    };
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if src[i..].starts_with("(:") {
            let mut depth = 0usize;
            while i < bytes.len() {
                if src[i..].starts_with("(:") {
                    depth += 1;
                    i += 2;
                } else if src[i..].starts_with(":)") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            if depth != 0 {
                return Err(err(
                    CompileErrorKind::Syntax {
                        expected: "':)' closing the comment",
                        found: "end".into(),
                    },
                    start,
                    src,
                ));
            }
            continue;
        }
        let two = src.get(i..i + 2).unwrap_or("");
        let (tok, len) = match two {
            "//" => (Tok::DSlash, 2),
            ".." => (Tok::DDot, 2),
            "::" => (Tok::ColonColon, 2),
            "!=" => (Tok::Ne, 2),
            "<=" => (Tok::Le, 2),
            ">=" => (Tok::Ge, 2),
            "<<" => (Tok::LtLt, 2),
            ">>" => (Tok::GtGt, 2),
            _ => match c {
                b'(' => (Tok::LParen, 1),
                b')' => (Tok::RParen, 1),
                b'[' => (Tok::LBracket, 1),
                b']' => (Tok::RBracket, 1),
                b',' => (Tok::Comma, 1),
                b'/' => (Tok::Slash, 1),
                b'@' => (Tok::At, 1),
                b'.' => (Tok::Dot, 1),
                b'=' => (Tok::Eq, 1),
                b'<' => (Tok::Lt, 1),
                b'>' => (Tok::Gt, 1),
                b'+' => (Tok::Plus, 1),
                b'-' => (Tok::Minus, 1),
                b'|' => (Tok::Pipe, 1),
                b'?' => (Tok::Question, 1),
                _ => (Tok::Eof, 0),
            },
        };
        if len > 0 && !(c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            out.push((tok, start));
            i += len;
            continue;
        }
        if c == b'"' || c == b'\'' {
            let mut s = String::new();
            i += 1;
            loop {
                let Some(rel) = src[i..].find(c as char) else {
                    return Err(err(
                        CompileErrorKind::Syntax {
                            expected: "closing quote",
                            found: "end".into(),
                        },
                        start,
                        src,
                    ));
                };
                s.push_str(&src[i..i + rel]);
                i += rel + 1;
                if bytes.get(i) == Some(&c) {
                    s.push(c as char);
                    i += 1;
                } else {
                    break;
                }
            }
            out.push((Tok::Str(s), start));
            continue;
        }
        if c.is_ascii_digit() || c == b'.' {
            let mut j = i;
            while j < bytes.len() && bytes[j].is_ascii_digit() {
                j += 1;
            }
            let mut decimal = false;
            if j < bytes.len() && bytes[j] == b'.' {
                decimal = true;
                j += 1;
                while j < bytes.len() && bytes[j].is_ascii_digit() {
                    j += 1;
                }
            }
            let mut double = false;
            if j < bytes.len() && (bytes[j] == b'e' || bytes[j] == b'E') {
                let mut k = j + 1;
                if k < bytes.len() && (bytes[k] == b'+' || bytes[k] == b'-') {
                    k += 1;
                }
                if k < bytes.len() && bytes[k].is_ascii_digit() {
                    while k < bytes.len() && bytes[k].is_ascii_digit() {
                        k += 1;
                    }
                    double = true;
                    j = k;
                }
            }
            let text = &src[i..j];
            let tok = if double {
                Tok::Double(text)
            } else if decimal {
                Tok::Decimal(text)
            } else {
                Tok::Integer(text)
            };
            out.push((tok, start));
            i = j;
            continue;
        }
        if c == b'$' {
            let j = skip_ws(src, i + 1);
            let (prefix, local, end) = lex_qname(src, j, &name_end).ok_or_else(|| {
                err(
                    CompileErrorKind::Syntax {
                        expected: "variable name",
                        found: "'$'".into(),
                    },
                    start,
                    src,
                )
            })?;
            let name = if prefix.is_some() {
                &src[j..end]
            } else {
                local
            };
            out.push((Tok::Var(name), start));
            i = end;
            continue;
        }
        if c == b'*' {
            if bytes.get(i + 1) == Some(&b':')
                && src[i + 2..].chars().next().is_some_and(is_name_start)
            {
                let end = name_end(i + 2);
                out.push((Tok::Name(Some("*"), &src[i + 2..end]), start));
                i = end;
            } else {
                out.push((Tok::Star, start));
                i += 1;
            }
            continue;
        }
        if src[i..].chars().next().is_some_and(is_name_start) {
            let (prefix, local, end) = lex_qname(src, i, &name_end).unwrap_or((None, "", i + 1));
            out.push((Tok::Name(prefix, local), start));
            i = end;
            continue;
        }
        let found = src[i..]
            .chars()
            .next()
            .map(String::from)
            .unwrap_or_default();
        return Err(err(
            CompileErrorKind::Syntax {
                expected: "a token",
                found,
            },
            start,
            src,
        ));
    }
    out.push((Tok::Eof, src.len()));
    Ok(out)
}

fn skip_ws(src: &str, mut i: usize) -> usize {
    while src.as_bytes().get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

fn lex_qname<'s>(
    src: &'s str,
    i: usize,
    name_end: &impl Fn(usize) -> usize,
) -> Option<(Option<&'s str>, &'s str, usize)> {
    if !src[i..].chars().next().is_some_and(is_name_start) {
        return None;
    }
    let end = name_end(i);
    let first = &src[i..end];
    let rest = &src[end..];
    if rest.starts_with(':') && !rest.starts_with("::") {
        if rest[1..].starts_with('*') {
            return Some((Some(first), "*", end + 2));
        }
        if rest[1..].chars().next().is_some_and(is_name_start) {
            let end2 = name_end(end + 1);
            return Some((Some(first), &src[end + 1..end2], end2));
        }
    }
    Some((None, first, end))
}

pub(crate) struct Parser<'s, 'c> {
    pub(crate) src: &'s str,
    toks: Vec<Spanned<'s>>,
    pos: usize,
    ctx: &'c StaticContext,
    locals: Vec<String>,
    pub(crate) max_locals: usize,
    depth: usize,
}

const KIND_TESTS: &[&str] = &[
    "node",
    "text",
    "comment",
    "processing-instruction",
    "element",
    "attribute",
    "document-node",
    "schema-element",
    "schema-attribute",
    "item",
    "empty-sequence",
];

impl<'s, 'c> Parser<'s, 'c> {
    pub(crate) fn new(
        src: &'s str,
        ctx: &'c StaticContext,
    ) -> Result<Parser<'s, 'c>, CompileError> {
        Ok(Parser {
            src,
            toks: tokenize(src)?,
            pos: 0,
            ctx,
            locals: Vec::new(),
            max_locals: 0,
            depth: 0,
        })
    }

    pub(crate) fn peek(&self) -> &Tok<'s> {
        &self.toks[self.pos.min(self.toks.len() - 1)].0
    }

    pub(crate) fn peek_at(&self, n: usize) -> &Tok<'s> {
        &self.toks[(self.pos + n).min(self.toks.len() - 1)].0
    }

    pub(crate) fn offset(&self) -> usize {
        self.toks[self.pos.min(self.toks.len() - 1)].1
    }

    pub(crate) fn next(&mut self) -> Tok<'s> {
        let t = self.peek().clone();
        self.pos += 1;
        t
    }

    pub(crate) fn eat(&mut self, t: &Tok<'_>) -> bool {
        if self.peek() == t {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn fail<T>(&self, kind: CompileErrorKind) -> Result<T, CompileError> {
        Err(err(kind, self.offset(), self.src))
    }

    pub(crate) fn fail_at<T>(
        &self,
        kind: CompileErrorKind,
        offset: usize,
    ) -> Result<T, CompileError> {
        Err(err(kind, offset, self.src))
    }

    pub(crate) fn expect(
        &mut self,
        t: &Tok<'_>,
        expected: &'static str,
    ) -> Result<(), CompileError> {
        if self.eat(t) {
            Ok(())
        } else {
            self.fail(CompileErrorKind::Syntax {
                expected,
                found: describe(self.peek()),
            })
        }
    }

    fn is_keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Name(None, l) if *l == kw)
    }

    fn eat_keyword(&mut self, kw: &str) -> bool {
        if self.is_keyword(kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn enter(&mut self) -> Result<(), CompileError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.fail(CompileErrorKind::TooDeep);
        }
        Ok(())
    }

    pub(crate) fn parse_all(&mut self) -> Result<Expr, CompileError> {
        let e = self.expr()?;
        if *self.peek() != Tok::Eof {
            return self.fail(CompileErrorKind::Syntax {
                expected: "an operator or end",
                found: describe(self.peek()),
            });
        }
        Ok(e)
    }

    fn expr(&mut self) -> Result<Expr, CompileError> {
        let first = self.expr_single()?;
        if *self.peek() != Tok::Comma {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.eat(&Tok::Comma) {
            items.push(self.expr_single()?);
        }
        Ok(Expr::Seq(items))
    }

    fn expr_single(&mut self) -> Result<Expr, CompileError> {
        self.enter()?;
        let r = self.expr_single_inner();
        self.depth -= 1;
        r
    }

    fn expr_single_inner(&mut self) -> Result<Expr, CompileError> {
        if let Tok::Name(None, kw) = *self.peek()
            && matches!(self.peek_at(1), Tok::Var(_))
        {
            match kw {
                "for" => return self.for_expr(),
                "some" | "every" => return self.quantified(kw == "every"),
                _ => {}
            }
        }
        if self.is_keyword("if") && *self.peek_at(1) == Tok::LParen {
            self.pos += 2;
            let cond = self.expr()?;
            self.expect(&Tok::RParen, "')' after if condition")?;
            if !self.eat_keyword("then") {
                return self.fail(CompileErrorKind::Syntax {
                    expected: "'then'",
                    found: describe(self.peek()),
                });
            }
            let then = self.expr_single()?;
            if !self.eat_keyword("else") {
                return self.fail(CompileErrorKind::Syntax {
                    expected: "'else'",
                    found: describe(self.peek()),
                });
            }
            let other = self.expr_single()?;
            return Ok(Expr::If(Box::new(cond), Box::new(then), Box::new(other)));
        }
        self.or_expr()
    }

    fn bindings(
        &mut self,
        keyword: &'static str,
    ) -> Result<(Vec<(usize, Expr)>, usize), CompileError> {
        let mut bindings = Vec::new();
        let scope = self.locals.len();
        loop {
            let Tok::Var(name) = self.next() else {
                return self.fail(CompileErrorKind::Syntax {
                    expected: "a variable",
                    found: describe(self.peek()),
                });
            };
            if !self.eat_keyword("in") {
                return self.fail(CompileErrorKind::Syntax {
                    expected: "'in'",
                    found: describe(self.peek()),
                });
            }
            let e = self.expr_single()?;
            let slot = self.locals.len();
            self.locals.push(name.to_owned());
            self.max_locals = self.max_locals.max(self.locals.len());
            bindings.push((slot, e));
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        if !self.eat_keyword(keyword) {
            return self.fail(CompileErrorKind::Syntax {
                expected: if keyword == "return" {
                    "'return'"
                } else {
                    "'satisfies'"
                },
                found: describe(self.peek()),
            });
        }
        Ok((bindings, scope))
    }

    fn for_expr(&mut self) -> Result<Expr, CompileError> {
        self.pos += 1;
        let (bindings, scope) = self.bindings("return")?;
        let body = self.expr_single()?;
        self.locals.truncate(scope);
        Ok(Expr::For {
            bindings,
            body: Box::new(body),
        })
    }

    fn quantified(&mut self, every: bool) -> Result<Expr, CompileError> {
        self.pos += 1;
        let (bindings, scope) = self.bindings("satisfies")?;
        let body = self.expr_single()?;
        self.locals.truncate(scope);
        Ok(Expr::Quantified {
            every,
            bindings,
            body: Box::new(body),
        })
    }

    fn or_expr(&mut self) -> Result<Expr, CompileError> {
        let mut lhs = self.and_expr()?;
        while self.eat_keyword("or") {
            let rhs = self.and_expr()?;
            lhs = Expr::Or(Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    fn and_expr(&mut self) -> Result<Expr, CompileError> {
        let mut lhs = self.comparison()?;
        while self.eat_keyword("and") {
            let rhs = self.comparison()?;
            lhs = Expr::And(Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    fn comparison(&mut self) -> Result<Expr, CompileError> {
        let lhs = self.range()?;
        enum Op {
            G(Cmp),
            V(Cmp),
            N(NodeCmp),
        }
        let op = match self.peek() {
            Tok::Eq => Op::G(Cmp::Eq),
            Tok::Ne => Op::G(Cmp::Ne),
            Tok::Lt => Op::G(Cmp::Lt),
            Tok::Le => Op::G(Cmp::Le),
            Tok::Gt => Op::G(Cmp::Gt),
            Tok::Ge => Op::G(Cmp::Ge),
            Tok::LtLt => Op::N(NodeCmp::Precedes),
            Tok::GtGt => Op::N(NodeCmp::Follows),
            Tok::Name(None, "eq") => Op::V(Cmp::Eq),
            Tok::Name(None, "ne") => Op::V(Cmp::Ne),
            Tok::Name(None, "lt") => Op::V(Cmp::Lt),
            Tok::Name(None, "le") => Op::V(Cmp::Le),
            Tok::Name(None, "gt") => Op::V(Cmp::Gt),
            Tok::Name(None, "ge") => Op::V(Cmp::Ge),
            Tok::Name(None, "is") => Op::N(NodeCmp::Is),
            _ => return Ok(lhs),
        };
        self.pos += 1;
        let rhs = Box::new(self.range()?);
        let lhs = Box::new(lhs);
        Ok(match op {
            Op::G(c) => Expr::General(c, lhs, rhs),
            Op::V(c) => Expr::Value(c, lhs, rhs),
            Op::N(c) => Expr::Node(c, lhs, rhs),
        })
    }

    fn range(&mut self) -> Result<Expr, CompileError> {
        let lhs = self.additive()?;
        if self.eat_keyword("to") {
            let rhs = self.additive()?;
            return Ok(Expr::Range(Box::new(lhs), Box::new(rhs)));
        }
        Ok(lhs)
    }

    fn additive(&mut self) -> Result<Expr, CompileError> {
        let mut lhs = self.multiplicative()?;
        loop {
            let op = match self.peek() {
                Tok::Plus => Arith::Add,
                Tok::Minus => Arith::Sub,
                _ => return Ok(lhs),
            };
            self.pos += 1;
            let rhs = self.multiplicative()?;
            lhs = Expr::Arith(op, Box::new(lhs), Box::new(rhs));
        }
    }

    fn multiplicative(&mut self) -> Result<Expr, CompileError> {
        let mut lhs = self.union()?;
        loop {
            let op = match self.peek() {
                Tok::Star => Arith::Mul,
                Tok::Name(None, "div") => Arith::Div,
                Tok::Name(None, "idiv") => Arith::IDiv,
                Tok::Name(None, "mod") => Arith::Mod,
                _ => return Ok(lhs),
            };
            self.pos += 1;
            let rhs = self.union()?;
            lhs = Expr::Arith(op, Box::new(lhs), Box::new(rhs));
        }
    }

    fn union(&mut self) -> Result<Expr, CompileError> {
        let mut lhs = self.intersect()?;
        while matches!(self.peek(), Tok::Pipe | Tok::Name(None, "union")) {
            self.pos += 1;
            let rhs = self.intersect()?;
            lhs = Expr::Set(SetOp::Union, Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    fn intersect(&mut self) -> Result<Expr, CompileError> {
        let mut lhs = self.instance_of()?;
        loop {
            let op = match self.peek() {
                Tok::Name(None, "intersect") => SetOp::Intersect,
                Tok::Name(None, "except") => SetOp::Except,
                _ => return Ok(lhs),
            };
            self.pos += 1;
            let rhs = self.instance_of()?;
            lhs = Expr::Set(op, Box::new(lhs), Box::new(rhs));
        }
    }

    fn instance_of(&mut self) -> Result<Expr, CompileError> {
        let e = self.treat()?;
        if self.is_keyword("instance") && matches!(self.peek_at(1), Tok::Name(None, "of")) {
            self.pos += 2;
            let t = self.sequence_type()?;
            return Ok(Expr::InstanceOf(Box::new(e), t));
        }
        Ok(e)
    }

    fn treat(&mut self) -> Result<Expr, CompileError> {
        let e = self.castable()?;
        if self.is_keyword("treat") && matches!(self.peek_at(1), Tok::Name(None, "as")) {
            self.pos += 2;
            let t = self.sequence_type()?;
            return Ok(Expr::Treat(Box::new(e), t));
        }
        Ok(e)
    }

    fn castable(&mut self) -> Result<Expr, CompileError> {
        let e = self.cast()?;
        if self.is_keyword("castable") && matches!(self.peek_at(1), Tok::Name(None, "as")) {
            self.pos += 2;
            let (target, optional) = self.single_type()?;
            return Ok(Expr::Castable {
                expr: Box::new(e),
                target,
                optional,
            });
        }
        Ok(e)
    }

    fn cast(&mut self) -> Result<Expr, CompileError> {
        let e = self.unary()?;
        if self.is_keyword("cast") && matches!(self.peek_at(1), Tok::Name(None, "as")) {
            self.pos += 2;
            let (target, optional) = self.single_type()?;
            return Ok(Expr::Cast {
                expr: Box::new(e),
                target,
                optional,
            });
        }
        Ok(e)
    }

    fn single_type(&mut self) -> Result<(AtomicType, bool), CompileError> {
        let t = self.atomic_type()?;
        if matches!(t, AtomicType::AnyAtomic | AtomicType::Numeric) {
            return self.fail(CompileErrorKind::Unsupported {
                construct: "cast to an abstract type".into(),
            });
        }
        Ok((t, self.eat(&Tok::Question)))
    }

    fn atomic_type(&mut self) -> Result<AtomicType, CompileError> {
        let at = self.offset();
        let Tok::Name(prefix, local) = self.next() else {
            return self.fail_at(
                CompileErrorKind::Syntax {
                    expected: "a type name",
                    found: "other".into(),
                },
                at,
            );
        };
        let uri = self.resolve_prefix(prefix.unwrap_or(""), at, false)?;
        match AtomicType::from_local(local).filter(|_| uri == XS_NAMESPACE) {
            Some(t) => Ok(t),
            None => self.fail_at(
                CompileErrorKind::Unsupported {
                    construct: format!("type {local}"),
                },
                at,
            ),
        }
    }

    fn sequence_type(&mut self) -> Result<SeqType, CompileError> {
        let at = self.offset();
        if self.is_keyword("empty-sequence") && *self.peek_at(1) == Tok::LParen {
            self.pos += 2;
            self.expect(&Tok::RParen, "')'")?;
            return Ok(SeqType {
                item: None,
                occurrence: Occurrence::Optional,
            });
        }
        let item = match self.peek().clone() {
            Tok::Name(None, "item") if *self.peek_at(1) == Tok::LParen => {
                self.pos += 2;
                self.expect(&Tok::RParen, "')'")?;
                ItemType::Item
            }
            Tok::Name(None, kw) if KIND_TESTS.contains(&kw) && *self.peek_at(1) == Tok::LParen => {
                ItemType::Node(self.kind_test()?)
            }
            Tok::Name(..) => ItemType::Atomic(self.atomic_type()?),
            other => {
                return self.fail_at(
                    CompileErrorKind::Syntax {
                        expected: "a sequence type",
                        found: describe(&other),
                    },
                    at,
                );
            }
        };
        let occurrence = match self.peek() {
            Tok::Question => Occurrence::Optional,
            Tok::Star => Occurrence::Many,
            Tok::Plus => Occurrence::OneOrMore,
            _ => {
                return Ok(SeqType {
                    item: Some(item),
                    occurrence: Occurrence::One,
                });
            }
        };
        self.pos += 1;
        Ok(SeqType {
            item: Some(item),
            occurrence,
        })
    }

    fn unary(&mut self) -> Result<Expr, CompileError> {
        let mut negate = false;
        let mut any = false;
        loop {
            match self.peek() {
                Tok::Minus => negate = !negate,
                Tok::Plus => {}
                _ => break,
            }
            any = true;
            self.pos += 1;
        }
        let e = self.path()?;
        Ok(match (any, negate) {
            (false, _) => e,
            (true, true) => Expr::Neg(Box::new(e)),
            // Unary plus atomizes and checks the operand is numeric: `0 + e` does the same.
            (true, false) => Expr::Arith(
                Arith::Add,
                Box::new(Expr::Literal(Atomic::Integer(0))),
                Box::new(e),
            ),
        })
    }

    fn starts_step(&self) -> bool {
        matches!(
            self.peek(),
            Tok::Name(..)
                | Tok::Star
                | Tok::At
                | Tok::Dot
                | Tok::DDot
                | Tok::Var(_)
                | Tok::LParen
                | Tok::Str(_)
                | Tok::Integer(_)
                | Tok::Decimal(_)
                | Tok::Double(_)
        )
    }

    fn path(&mut self) -> Result<Expr, CompileError> {
        let mut e = if self.eat(&Tok::Slash) {
            if !self.starts_step() {
                return Ok(Expr::Root);
            }
            let step = self.step_expr()?;
            join(Expr::Root, step)
        } else if self.eat(&Tok::DSlash) {
            let step = self.step_expr()?;
            join(join(Expr::Root, descendant_or_self()), step)
        } else {
            self.step_expr()?
        };
        loop {
            if self.eat(&Tok::Slash) {
                let step = self.step_expr()?;
                e = join(e, step);
            } else if self.eat(&Tok::DSlash) {
                let step = self.step_expr()?;
                e = join(join(e, descendant_or_self()), step);
            } else {
                return Ok(e);
            }
        }
    }

    fn step_expr(&mut self) -> Result<Expr, CompileError> {
        let at = self.offset();
        let primary = match self.peek().clone() {
            Tok::Dot => {
                self.pos += 1;
                Some(Expr::ContextItem)
            }
            Tok::DDot => {
                self.pos += 1;
                let step = Step {
                    axis: Axis::Parent,
                    test: NodeTest::AnyNode,
                    preds: Vec::new(),
                };
                return Ok(Expr::Step(Box::new(step)));
            }
            Tok::Var(name) => {
                self.pos += 1;
                Some(self.variable(name, at)?)
            }
            Tok::LParen => {
                self.pos += 1;
                if self.eat(&Tok::RParen) {
                    Some(Expr::Empty)
                } else {
                    let e = self.expr()?;
                    self.expect(&Tok::RParen, "')'")?;
                    Some(e)
                }
            }
            Tok::Str(s) => {
                self.pos += 1;
                Some(Expr::Literal(Atomic::string(&s)))
            }
            Tok::Integer(s) => {
                self.pos += 1;
                let lit = match s.parse() {
                    Ok(i) => Atomic::Integer(i),
                    Err(_) => match parse_decimal(s) {
                        Some(d) => Atomic::Decimal(d),
                        None => {
                            return self
                                .fail_at(CompileErrorKind::Literal { literal: s.into() }, at);
                        }
                    },
                };
                Some(Expr::Literal(lit))
            }
            Tok::Decimal(s) => {
                self.pos += 1;
                let d = parse_decimal(s).ok_or_else(|| {
                    err(
                        CompileErrorKind::Literal { literal: s.into() },
                        at,
                        self.src,
                    )
                })?;
                Some(Expr::Literal(Atomic::Decimal(d)))
            }
            Tok::Double(s) => {
                self.pos += 1;
                let d = parse_double(s).ok_or_else(|| {
                    err(
                        CompileErrorKind::Literal { literal: s.into() },
                        at,
                        self.src,
                    )
                })?;
                Some(Expr::Literal(Atomic::Double(d)))
            }
            Tok::Name(prefix, local)
                if *self.peek_at(1) == Tok::LParen
                    && !(prefix.is_none() && (KIND_TESTS.contains(&local) || local == "if")) =>
            {
                Some(self.function_call(prefix, local)?)
            }
            _ => None,
        };
        if let Some(e) = primary {
            let preds = self.predicates()?;
            return Ok(if preds.is_empty() {
                e
            } else {
                Expr::Filter(Box::new(e), preds)
            });
        }
        let step = self.axis_step()?;
        Ok(Expr::Step(Box::new(step)))
    }

    pub(crate) fn axis_step(&mut self) -> Result<Step, CompileError> {
        let axis = if self.eat(&Tok::At) {
            Axis::Attribute
        } else if let Tok::Name(None, name) = *self.peek()
            && *self.peek_at(1) == Tok::ColonColon
        {
            let at = self.offset();
            let Some(axis) = Axis::from_name(name) else {
                let construct = format!("axis {name}::");
                return self.fail_at(CompileErrorKind::Unsupported { construct }, at);
            };
            self.pos += 2;
            axis
        } else if matches!(self.peek(), Tok::Name(None, "attribute"))
            && *self.peek_at(1) == Tok::LParen
        {
            Axis::Attribute
        } else {
            Axis::Child
        };
        let test = self.node_test(axis == Axis::Attribute)?;
        let preds = self.predicates()?;
        Ok(Step { axis, test, preds })
    }

    pub(crate) fn node_test(&mut self, attribute: bool) -> Result<NodeTest, CompileError> {
        let at = self.offset();
        match self.peek().clone() {
            Tok::Star => {
                self.pos += 1;
                Ok(NodeTest::AnyName)
            }
            Tok::Name(None, kw) if KIND_TESTS.contains(&kw) && *self.peek_at(1) == Tok::LParen => {
                self.kind_test()
            }
            Tok::Name(Some("*"), local) => {
                self.pos += 1;
                Ok(NodeTest::Local(Name::intern(local)))
            }
            Tok::Name(Some(prefix), "*") => {
                self.pos += 1;
                let uri = self.resolve_prefix(prefix, at, false)?;
                Ok(NodeTest::Namespace(Name::intern(uri)))
            }
            Tok::Name(prefix, local) => {
                self.pos += 1;
                let uri = match prefix {
                    Some(p) => self.resolve_prefix(p, at, false)?,
                    None if attribute => "",
                    None => self.ctx.default_element_namespace.as_str(),
                };
                Ok(NodeTest::Name(ExpandedName::new(uri, local)))
            }
            other => self.fail_at(
                CompileErrorKind::Syntax {
                    expected: "a node test",
                    found: describe(&other),
                },
                at,
            ),
        }
    }

    fn kind_test(&mut self) -> Result<NodeTest, CompileError> {
        let at = self.offset();
        let Tok::Name(None, kw) = self.next() else {
            return self.fail_at(
                CompileErrorKind::Syntax {
                    expected: "a kind test",
                    found: "other".into(),
                },
                at,
            );
        };
        self.expect(&Tok::LParen, "'('")?;
        let test = match kw {
            "node" => NodeTest::AnyNode,
            "text" => NodeTest::Text,
            "comment" => NodeTest::Comment,
            "document-node" => NodeTest::Document,
            "processing-instruction" => match self.peek().clone() {
                Tok::Name(None, target) => {
                    self.pos += 1;
                    NodeTest::Pi(Some(Name::intern(target)))
                }
                Tok::Str(target) => {
                    self.pos += 1;
                    NodeTest::Pi(Some(Name::intern(target.trim())))
                }
                _ => NodeTest::Pi(None),
            },
            "element" | "attribute" => {
                let attribute = kw == "attribute";
                let name = match self.peek().clone() {
                    Tok::Star => {
                        self.pos += 1;
                        None
                    }
                    Tok::Name(prefix, local) if prefix != Some("*") && local != "*" => {
                        self.pos += 1;
                        let uri = match prefix {
                            Some(p) => self.resolve_prefix(p, at, false)?,
                            None if attribute => "",
                            None => self.ctx.default_element_namespace.as_str(),
                        };
                        Some(ExpandedName::new(uri, local))
                    }
                    _ => None,
                };
                if self.eat(&Tok::Comma) {
                    return self.fail_at(
                        CompileErrorKind::Unsupported {
                            construct: format!("{kw}(name, type)"),
                        },
                        at,
                    );
                }
                if attribute {
                    NodeTest::Attribute(name)
                } else {
                    NodeTest::Element(name)
                }
            }
            other => {
                return self.fail_at(
                    CompileErrorKind::Unsupported {
                        construct: format!("{other}()"),
                    },
                    at,
                );
            }
        };
        self.expect(&Tok::RParen, "')' closing the kind test")?;
        Ok(test)
    }

    pub(crate) fn predicates(&mut self) -> Result<Vec<Predicate>, CompileError> {
        let mut preds = Vec::new();
        while self.eat(&Tok::LBracket) {
            let e = self.expr()?;
            self.expect(&Tok::RBracket, "']'")?;
            preds.push(Predicate {
                boolean: e.is_boolean_predicate(),
                expr: e,
            });
        }
        Ok(preds)
    }

    fn variable(&mut self, name: &str, at: usize) -> Result<Expr, CompileError> {
        if let Some(slot) = self.locals.iter().rposition(|l| l == name) {
            return Ok(Expr::Local(slot));
        }
        match self.ctx.variables.iter().rposition(|v| &**v == name) {
            Some(i) => Ok(Expr::Var(i, name.into())),
            None => self.fail_at(CompileErrorKind::UnknownVariable { name: name.into() }, at),
        }
    }

    pub(crate) fn resolve_prefix(
        &self,
        prefix: &str,
        at: usize,
        _element: bool,
    ) -> Result<&'c str, CompileError> {
        match self.ctx.namespaces.get(prefix) {
            Some(uri) => Ok(uri),
            None if prefix.is_empty() => Ok(""),
            None => self.fail_at(
                CompileErrorKind::UnboundPrefix {
                    prefix: prefix.into(),
                },
                at,
            ),
        }
    }

    fn function_call(&mut self, prefix: Option<&str>, local: &str) -> Result<Expr, CompileError> {
        let at = self.offset();
        self.pos += 2;
        let mut args = Vec::new();
        if !self.eat(&Tok::RParen) {
            loop {
                args.push(self.expr_single()?);
                if self.eat(&Tok::RParen) {
                    break;
                }
                self.expect(&Tok::Comma, "',' or ')' in the argument list")?;
            }
        }
        let uri = match prefix {
            None => FN_NAMESPACE,
            Some(p) => self.resolve_prefix(p, at, false)?,
        };
        let display = match prefix {
            Some(p) => format!("{p}:{local}"),
            None => local.to_owned(),
        };
        let unknown = || {
            err(
                CompileErrorKind::UnknownFunction {
                    name: display.clone(),
                    arity: args.len(),
                },
                at,
                self.src,
            )
        };
        let func = if uri == XS_NAMESPACE {
            let t = AtomicType::from_local(local)
                .filter(|t| !matches!(t, AtomicType::AnyAtomic | AtomicType::Numeric))
                .ok_or_else(unknown)?;
            if args.len() != 1 {
                return Err(unknown());
            }
            Func::Constructor(t)
        } else if uri == FN_NAMESPACE {
            Func::lookup(local, args.len()).ok_or_else(unknown)?
        } else {
            return Err(unknown());
        };
        functions::finish_call(func, args, at, self.src)
    }
}

fn descendant_or_self() -> Expr {
    Expr::Step(Box::new(Step {
        axis: Axis::DescendantOrSelf,
        test: NodeTest::AnyNode,
        preds: Vec::new(),
    }))
}

/// Builds `lhs/rhs`, rewriting `lhs//child::t[p]` to `lhs/descendant::t[p]` and
/// `lhs//self::t[p]` to `lhs/descendant-or-self::t[p]` when no predicate is positional (the
/// result is the same and avoids materialising every node).
fn join(lhs: Expr, rhs: Expr) -> Expr {
    if let Expr::Path(inner, last) = &lhs
        && let Expr::Step(dos) = &**last
        && dos.axis == Axis::DescendantOrSelf
        && dos.test == NodeTest::AnyNode
        && dos.preds.is_empty()
        && let Expr::Step(step) = &rhs
        && matches!(step.axis, Axis::Child | Axis::SelfNode)
        && step.preds.iter().all(|p| p.boolean)
    {
        let step = Step {
            axis: match step.axis {
                Axis::Child => Axis::Descendant,
                _ => Axis::DescendantOrSelf,
            },
            test: step.test.clone(),
            preds: step.preds.clone(),
        };
        return Expr::Path(inner.clone(), Box::new(Expr::Step(Box::new(step))));
    }
    Expr::Path(Box::new(lhs), Box::new(rhs))
}
