//! Lexer and precedence-climbing parser from FHIRPath source text to [`Ast`].

use crate::decimal::Decimal;
use crate::error::ParseError;
use crate::functions::Func;
use crate::temporal::Temporal;

/// Nesting deeper than this is a parse error, so that recursion stays bounded.
pub(crate) const MAX_DEPTH: usize = 300;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    Ident(String),
    /// A backquoted identifier: never a keyword.
    Delimited(String),
    Str(String),
    Int(i64),
    Long(i64),
    Dec(Decimal),
    Date(Temporal),
    Time(Temporal),
    Var(String),
    Special(&'static str),
    Sym(&'static str),
    Eof,
}

const SYMBOLS: [&str; 21] = [
    "<=", ">=", "!=", "!~", "(", ")", "[", "]", "{", "}", ".", ",", "=", "~", "<", ">", "+", "-",
    "*", "/", "|",
];

pub(crate) fn lex(src: &str) -> Result<Vec<(Tok, usize)>, ParseError> {
    let b = src.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if src[i..].starts_with("//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if src[i..].starts_with("/*") {
            match src[i + 2..].find("*/") {
                Some(end) => i += end + 4,
                None => return Err(ParseError::new(start, "unterminated comment")),
            }
            continue;
        }
        if c == b'\'' || c == b'`' {
            let (s, next) = lex_quoted(src, i, c)?;
            out.push((
                if c == b'\'' {
                    Tok::Str(s)
                } else {
                    Tok::Delimited(s)
                },
                start,
            ));
            i = next;
            continue;
        }
        if c == b'@' {
            let (tok, next) = lex_temporal(src, i)?;
            out.push((tok, start));
            i = next;
            continue;
        }
        if c == b'%' {
            i += 1;
            match b.get(i) {
                Some(b'`') | Some(b'\'') => {
                    let (s, next) = lex_quoted(src, i, b[i])?;
                    out.push((Tok::Var(s), start));
                    i = next;
                }
                Some(ch) if ch.is_ascii_alphabetic() || *ch == b'_' => {
                    let s = i;
                    while i < b.len()
                        && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'-')
                    {
                        i += 1;
                    }
                    out.push((Tok::Var(src[s..i].to_owned()), start));
                }
                _ => return Err(ParseError::new(start, "expected a variable name after '%'")),
            }
            continue;
        }
        if c == b'$' {
            i += 1;
            while i < b.len() && b[i].is_ascii_alphanumeric() {
                i += 1;
            }
            let name = match &src[start..i] {
                "$this" => "$this",
                "$index" => "$index",
                "$total" => "$total",
                other => {
                    return Err(ParseError::new(
                        start,
                        format!("unknown special variable {other}"),
                    ));
                }
            };
            out.push((Tok::Special(name), start));
            continue;
        }
        if c.is_ascii_digit() {
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let mut decimal = false;
            if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
                decimal = true;
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
            let text = &src[start..i];
            if decimal {
                let d = Decimal::parse(text)
                    .ok_or_else(|| ParseError::new(start, "decimal out of range"))?;
                out.push((Tok::Dec(d), start));
            } else if b.get(i) == Some(&b'L') {
                let v = text
                    .parse()
                    .map_err(|_| ParseError::new(start, "long out of range"))?;
                i += 1;
                out.push((Tok::Long(v), start));
            } else {
                match text.parse::<i64>() {
                    Ok(v) if v <= i64::from(i32::MAX) => out.push((Tok::Int(v), start)),
                    _ => {
                        // Too large for an Integer: FHIRPath reads it as a Decimal.
                        let d = Decimal::parse(text)
                            .ok_or_else(|| ParseError::new(start, "number out of range"))?;
                        out.push((Tok::Dec(d), start));
                    }
                }
            }
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push((Tok::Ident(src[start..i].to_owned()), start));
            continue;
        }
        if c == b'&' {
            out.push((Tok::Sym("&"), start));
            i += 1;
            continue;
        }
        match SYMBOLS.iter().find(|s| src[i..].starts_with(**s)) {
            Some(s) => {
                out.push((Tok::Sym(s), start));
                i += s.len();
            }
            None => {
                let ch = src[i..].chars().next().unwrap_or('?');
                return Err(ParseError::new(
                    start,
                    format!("unexpected character {ch:?}"),
                ));
            }
        }
    }
    out.push((Tok::Eof, src.len()));
    Ok(out)
}

fn lex_quoted(src: &str, start: usize, quote: u8) -> Result<(String, usize), ParseError> {
    let b = src.as_bytes();
    let mut i = start + 1;
    let mut out = String::new();
    loop {
        let Some(&c) = b.get(i) else {
            return Err(ParseError::new(start, "unterminated string or identifier"));
        };
        if c == quote {
            return Ok((out, i + 1));
        }
        if c == b'\\' {
            let Some(&e) = b.get(i + 1) else {
                return Err(ParseError::new(i, "unterminated escape"));
            };
            i += 2;
            match e {
                b'\'' => out.push('\''),
                b'"' => out.push('"'),
                b'`' => out.push('`'),
                b'\\' => out.push('\\'),
                b'/' => out.push('/'),
                b'f' => out.push('\u{c}'),
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                b'u' => {
                    let hex = src
                        .get(i..i + 4)
                        .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()))
                        .ok_or_else(|| ParseError::new(i, "\\u needs four hex digits"))?;
                    let code = u32::from_str_radix(hex, 16)
                        .map_err(|_| ParseError::new(i, "bad \\u escape"))?;
                    out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                    i += 4;
                }
                _ => return Err(ParseError::new(i - 2, "unknown escape")),
            }
            continue;
        }
        let ch = src[i..].chars().next().unwrap_or('\u{fffd}');
        out.push(ch);
        i += ch.len_utf8();
    }
}

fn lex_temporal(src: &str, start: usize) -> Result<(Tok, usize), ParseError> {
    let b = src.as_bytes();
    let mut i = start + 1;
    while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'-' | b':' | b'+' | b'.'))
    {
        // A '.' is part of the literal only when digits follow (fractional seconds).
        if b[i] == b'.' && !b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            break;
        }
        // '+' and '-' after the time are an offset, not an operator, only before digits.
        if (b[i] == b'+' || b[i] == b'-') && !b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            break;
        }
        i += 1;
    }
    let text = &src[start + 1..i];
    let bad = || ParseError::new(start, format!("invalid date/time literal @{text}"));
    if let Some(t) = text.strip_prefix('T') {
        return Ok((Tok::Time(Temporal::parse_time(t).ok_or_else(bad)?), i));
    }
    Ok((
        Tok::Date(Temporal::parse_date_or_datetime(text).ok_or_else(bad)?),
        i,
    ))
}

/// A literal value.
#[derive(Clone, Debug)]
pub(crate) enum Lit {
    Empty,
    Bool(bool),
    Str(String),
    Int(i64),
    Dec(Decimal),
    Temporal(Temporal),
    Quantity(Decimal, String),
}

/// Binary operators, by FHIRPath name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BinOp {
    Mul,
    Div,
    IntDiv,
    Mod,
    Add,
    Sub,
    Concat,
    Union,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    Equiv,
    NotEquiv,
    In,
    Contains,
    And,
    Or,
    Xor,
    Implies,
}

impl BinOp {
    /// The operator as written.
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::IntDiv => "div",
            BinOp::Mod => "mod",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Concat => "&",
            BinOp::Union => "|",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Eq => "=",
            BinOp::Ne => "!=",
            BinOp::Equiv => "~",
            BinOp::NotEquiv => "!~",
            BinOp::In => "in",
            BinOp::Contains => "contains",
            BinOp::And => "and",
            BinOp::Or => "or",
            BinOp::Xor => "xor",
            BinOp::Implies => "implies",
        }
    }
}

/// A parsed expression node.
#[derive(Clone, Debug)]
pub(crate) enum Ast {
    Lit(Lit),
    /// An identifier at the start of a path: a type name filter or a member of `$this`.
    Ident(String),
    /// `.name` on a target.
    Member(Box<Ast>, String),
    /// A function call, on a target or on the input (`where(...)` alone).
    Call(Option<Box<Ast>>, Func, Vec<Ast>),
    This,
    IndexVar,
    Total,
    Var(String),
    Indexer(Box<Ast>, Box<Ast>),
    Neg(Box<Ast>),
    Bin(BinOp, Box<Ast>, Box<Ast>),
    Is(Box<Ast>, TypeSpec),
    As(Box<Ast>, TypeSpec),
}

/// A type name, optionally qualified (`FHIR.Patient`, `System.String`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeSpec {
    /// `FHIR`, `System`, or None when unqualified.
    pub namespace: Option<String>,
    /// The type name.
    pub name: String,
}

impl TypeSpec {
    /// A name that cannot be a type: an unknown namespace, or a lower-case name that is not a
    /// FHIR primitive (`string1`). Other names are not checked here (`System.Patient` is a
    /// valid test that is false; resource names depend on the FHIR version).
    fn unknown_reason(&self) -> Option<String> {
        let ns = self.namespace.as_deref();
        if ns.is_some_and(|n| n != "System" && n != "FHIR") {
            return Some(format!("unknown type namespace {}", ns.unwrap_or_default()));
        }
        if self.name.starts_with(|c: char| c.is_ascii_lowercase())
            && !crate::model::PRIMITIVE_TYPES.contains(&self.name.as_str())
        {
            return Some(format!("unknown type {}", self.name));
        }
        None
    }

    pub(crate) fn from_ast(ast: &Ast) -> Option<TypeSpec> {
        match ast {
            Ast::Ident(n) => Some(TypeSpec {
                namespace: None,
                name: n.clone(),
            }),
            Ast::Member(t, n) => match &**t {
                Ast::Ident(ns) => Some(TypeSpec {
                    namespace: Some(ns.clone()),
                    name: n.clone(),
                }),
                _ => None,
            },
            _ => None,
        }
    }
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    depth: usize,
}

const CALENDAR_UNITS: [&str; 16] = [
    "year",
    "years",
    "month",
    "months",
    "week",
    "weeks",
    "day",
    "days",
    "hour",
    "hours",
    "minute",
    "minutes",
    "second",
    "seconds",
    "millisecond",
    "milliseconds",
];

fn precedence(tok: &Tok) -> Option<(u8, BinOp)> {
    let p = match tok {
        Tok::Sym("*") => (10, BinOp::Mul),
        Tok::Sym("/") => (10, BinOp::Div),
        Tok::Ident(s) if s == "div" => (10, BinOp::IntDiv),
        Tok::Ident(s) if s == "mod" => (10, BinOp::Mod),
        Tok::Sym("+") => (9, BinOp::Add),
        Tok::Sym("-") => (9, BinOp::Sub),
        Tok::Sym("&") => (9, BinOp::Concat),
        Tok::Sym("|") => (7, BinOp::Union),
        Tok::Sym("<") => (6, BinOp::Lt),
        Tok::Sym("<=") => (6, BinOp::Le),
        Tok::Sym(">") => (6, BinOp::Gt),
        Tok::Sym(">=") => (6, BinOp::Ge),
        Tok::Sym("=") => (5, BinOp::Eq),
        Tok::Sym("!=") => (5, BinOp::Ne),
        Tok::Sym("~") => (5, BinOp::Equiv),
        Tok::Sym("!~") => (5, BinOp::NotEquiv),
        Tok::Ident(s) if s == "in" => (4, BinOp::In),
        Tok::Ident(s) if s == "contains" => (4, BinOp::Contains),
        Tok::Ident(s) if s == "and" => (3, BinOp::And),
        Tok::Ident(s) if s == "or" => (2, BinOp::Or),
        Tok::Ident(s) if s == "xor" => (2, BinOp::Xor),
        Tok::Ident(s) if s == "implies" => (1, BinOp::Implies),
        _ => return None,
    };
    Some(p)
}

/// Precedence of `is` / `as` (between additive and union).
const TYPE_OP_PREC: u8 = 8;

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos.min(self.toks.len() - 1)].0
    }
    fn offset(&self) -> usize {
        self.toks[self.pos.min(self.toks.len() - 1)].1
    }
    fn next(&mut self) -> Tok {
        let t = self.peek().clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }
    fn err<T>(&self, msg: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError::new(self.offset(), msg))
    }
    fn expect(&mut self, sym: &'static str) -> Result<(), ParseError> {
        if *self.peek() == Tok::Sym(sym) {
            self.next();
            Ok(())
        } else {
            self.err(format!("expected '{sym}'"))
        }
    }
    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.err("expression nested too deeply")
        } else {
            Ok(())
        }
    }

    fn expression(&mut self, min_prec: u8) -> Result<Ast, ParseError> {
        // Every fold below deepens the tree by one: count it, and restore on the way out.
        let saved = self.depth;
        self.enter()?;
        let mut lhs = self.unary()?;
        loop {
            let tok = self.peek().clone();
            if let Tok::Ident(s) = &tok
                && (s == "is" || s == "as")
                && TYPE_OP_PREC >= min_prec
            {
                self.next();
                let at = self.offset();
                let spec = self.type_spec()?;
                if let Some(reason) = spec.unknown_reason() {
                    return Err(ParseError::new(at, reason));
                }
                lhs = if s == "is" {
                    Ast::Is(Box::new(lhs), spec)
                } else {
                    Ast::As(Box::new(lhs), spec)
                };
                self.enter()?;
                continue;
            }
            let Some((prec, op)) = precedence(&tok) else {
                break;
            };
            if prec < min_prec {
                break;
            }
            self.next();
            let rhs = self.expression(prec + 1)?;
            lhs = Ast::Bin(op, Box::new(lhs), Box::new(rhs));
            self.enter()?;
        }
        self.depth = saved;
        Ok(lhs)
    }

    fn type_spec(&mut self) -> Result<TypeSpec, ParseError> {
        let first = self.identifier()?;
        if *self.peek() == Tok::Sym(".") {
            self.next();
            let name = self.identifier()?;
            return Ok(TypeSpec {
                namespace: Some(first),
                name,
            });
        }
        Ok(TypeSpec {
            namespace: None,
            name: first,
        })
    }

    fn identifier(&mut self) -> Result<String, ParseError> {
        match self.peek() {
            Tok::Ident(_) | Tok::Delimited(_) => match self.next() {
                Tok::Ident(s) | Tok::Delimited(s) => Ok(s),
                _ => self.err("expected an identifier"),
            },
            _ => self.err("expected an identifier"),
        }
    }

    fn unary(&mut self) -> Result<Ast, ParseError> {
        match self.peek() {
            Tok::Sym("-") => {
                self.next();
                self.enter()?;
                let inner = self.unary()?;
                self.depth -= 1;
                Ok(match inner {
                    Ast::Lit(Lit::Int(v)) => Ast::Lit(Lit::Int(-v)),
                    Ast::Lit(Lit::Dec(d)) => Ast::Lit(Lit::Dec(d.negate())),
                    Ast::Lit(Lit::Quantity(d, u)) => Ast::Lit(Lit::Quantity(d.negate(), u)),
                    other => Ast::Neg(Box::new(other)),
                })
            }
            Tok::Sym("+") => {
                self.next();
                self.enter()?;
                let inner = self.unary();
                self.depth -= 1;
                inner
            }
            _ => self.postfix(),
        }
    }

    fn postfix(&mut self) -> Result<Ast, ParseError> {
        let saved = self.depth;
        let mut e = self.term()?;
        loop {
            if matches!(self.peek(), Tok::Sym(".") | Tok::Sym("[")) {
                self.enter()?;
            }
            match self.peek() {
                Tok::Sym(".") => {
                    self.next();
                    let at = self.offset();
                    let name = self.identifier()?;
                    if *self.peek() == Tok::Sym("(") {
                        let (func, args) = self.call(&name, at)?;
                        e = Ast::Call(Some(Box::new(e)), func, args);
                    } else {
                        e = Ast::Member(Box::new(e), name);
                    }
                }
                Tok::Sym("[") => {
                    self.next();
                    let idx = self.expression(0)?;
                    self.expect("]")?;
                    e = Ast::Indexer(Box::new(e), Box::new(idx));
                }
                _ => {
                    self.depth = saved;
                    return Ok(e);
                }
            }
        }
    }

    fn call(&mut self, name: &str, at: usize) -> Result<(Func, Vec<Ast>), ParseError> {
        self.expect("(")?;
        let mut args = Vec::new();
        if *self.peek() != Tok::Sym(")") {
            loop {
                args.push(self.expression(0)?);
                if *self.peek() == Tok::Sym(",") {
                    self.next();
                } else {
                    break;
                }
            }
        }
        self.expect(")")?;
        let func = Func::lookup(name)
            .ok_or_else(|| ParseError::new(at, format!("unknown function {name}()")))?;
        let (min, max) = func.arity();
        if args.len() < min || args.len() > max {
            return Err(ParseError::new(
                at,
                format!(
                    "{name}() takes {min} to {max} arguments, got {}",
                    args.len()
                ),
            ));
        }
        if func.takes_type()
            && let Some(a) = args.first()
        {
            match TypeSpec::from_ast(a) {
                None => return Err(ParseError::new(at, format!("{name}() expects a type name"))),
                Some(spec) => {
                    if let Some(reason) = spec.unknown_reason() {
                        return Err(ParseError::new(at, reason));
                    }
                }
            }
        }
        Ok((func, args))
    }

    fn term(&mut self) -> Result<Ast, ParseError> {
        let at = self.offset();
        let tok = self.next();
        Ok(match tok {
            Tok::Sym("(") => {
                let e = self.expression(0)?;
                self.expect(")")?;
                e
            }
            Tok::Sym("{") => {
                self.expect("}")?;
                Ast::Lit(Lit::Empty)
            }
            Tok::Str(s) => Ast::Lit(Lit::Str(s)),
            Tok::Int(v) | Tok::Long(v) => self
                .maybe_quantity(Decimal::from_i64(v))
                .unwrap_or(Ast::Lit(Lit::Int(v))),
            Tok::Dec(d) => self.maybe_quantity(d).unwrap_or(Ast::Lit(Lit::Dec(d))),
            Tok::Date(t) | Tok::Time(t) => Ast::Lit(Lit::Temporal(t)),
            Tok::Var(v) => Ast::Var(v),
            Tok::Special("$this") => Ast::This,
            Tok::Special("$index") => Ast::IndexVar,
            Tok::Special(_) => Ast::Total,
            Tok::Ident(s) if s == "true" || s == "false" => Ast::Lit(Lit::Bool(s == "true")),
            Tok::Ident(s) | Tok::Delimited(s) => {
                if *self.peek() == Tok::Sym("(") {
                    let (func, args) = self.call(&s, at)?;
                    Ast::Call(None, func, args)
                } else {
                    Ast::Ident(s)
                }
            }
            Tok::Eof => return self.err("unexpected end of expression"),
            Tok::Sym(s) => {
                self.pos = self.pos.saturating_sub(1);
                return self.err(format!("unexpected '{s}'"));
            }
        })
    }

    fn maybe_quantity(&mut self, value: Decimal) -> Option<Ast> {
        let unit = match self.peek() {
            Tok::Str(u) => u.clone(),
            Tok::Ident(u) if CALENDAR_UNITS.contains(&u.as_str()) => u.clone(),
            _ => return None,
        };
        self.next();
        Some(Ast::Lit(Lit::Quantity(value, unit)))
    }
}

pub(crate) fn parse(src: &str) -> Result<Ast, ParseError> {
    let toks = lex(src)?;
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
    };
    let e = p.expression(0)?;
    if *p.peek() != Tok::Eof {
        return p.err("unexpected token after the expression");
    }
    Ok(e)
}
