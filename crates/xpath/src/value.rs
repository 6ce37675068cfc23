//! The data model: items, atomic values, casting and the XPath number formats.

use std::fmt;
use std::sync::Arc;

use segur_xml::{Name, NodeId};

/// A node of some document of the evaluation: the document's slot in the
/// [`crate::DynamicContext`] (0 is the context document) and the node index.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct NodeRef {
    /// The document slot in the dynamic context.
    pub doc: u32,
    /// The node.
    pub node: NodeId,
}

/// An item: a node or an atomic value.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// A node.
    Node(NodeRef),
    /// An atomic value.
    Atomic(Atomic),
}

/// A sequence of items (XPath sequences are flat).
pub type Sequence = smallvec::SmallVec<[Item; 1]>;

/// A QName value: namespace, local name and the prefix it was written with.
#[derive(Clone, Copy, Debug)]
pub struct QNameValue {
    /// Namespace URI (empty for none).
    pub ns: Name,
    /// Local name.
    pub local: Name,
    /// Prefix (empty for none); not part of equality.
    pub prefix: Name,
}

impl PartialEq for QNameValue {
    fn eq(&self, other: &QNameValue) -> bool {
        self.ns == other.ns && self.local == other.local
    }
}

/// An `xs:date` or `xs:dateTime` value (proleptic Gregorian, optional timezone in minutes).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DateTimeValue {
    /// Year (may be negative).
    pub year: i32,
    /// Month 1-12.
    pub month: u8,
    /// Day 1-31.
    pub day: u8,
    /// Hour 0-23 (0 for dates).
    pub hour: u8,
    /// Minute 0-59.
    pub minute: u8,
    /// Seconds with fraction.
    pub second: f64,
    /// Timezone offset in minutes, if any.
    pub tz: Option<i16>,
}

/// An atomic value.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Atomic {
    /// `xs:string`.
    String(Arc<str>),
    /// `xs:untypedAtomic` (atomized node values; there is no schema typing).
    Untyped(Arc<str>),
    /// `xs:anyURI`.
    AnyUri(Arc<str>),
    /// `xs:boolean`.
    Boolean(bool),
    /// `xs:integer` (64-bit; overflow is FOAR0002).
    Integer(i64),
    /// `xs:decimal`, held as a binary double and printed in decimal notation.
    Decimal(f64),
    /// `xs:double`.
    Double(f64),
    /// `xs:QName`.
    QName(QNameValue),
    /// `xs:date`.
    Date(DateTimeValue),
    /// `xs:dateTime`.
    DateTime(DateTimeValue),
}

impl Atomic {
    /// The text of a string, untyped or URI value (they compare as strings).
    pub(crate) fn as_text(&self) -> Option<&str> {
        match self {
            Atomic::String(s) | Atomic::Untyped(s) | Atomic::AnyUri(s) => Some(s),
            _ => None,
        }
    }
}

/// The atomic types that casts, `castable as` and `instance of` name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AtomicType {
    AnyAtomic,
    String,
    Untyped,
    AnyUri,
    Boolean,
    Integer,
    Decimal,
    Double,
    Numeric,
    QName,
    Date,
    DateTime,
}

impl AtomicType {
    pub(crate) fn from_local(local: &str) -> Option<AtomicType> {
        Some(match local {
            "anyAtomicType" => AtomicType::AnyAtomic,
            "string" => AtomicType::String,
            "untypedAtomic" => AtomicType::Untyped,
            "anyURI" => AtomicType::AnyUri,
            "boolean" => AtomicType::Boolean,
            "integer" => AtomicType::Integer,
            "decimal" => AtomicType::Decimal,
            "double" => AtomicType::Double,
            "QName" => AtomicType::QName,
            "date" => AtomicType::Date,
            "dateTime" => AtomicType::DateTime,
            _ => return None,
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            AtomicType::AnyAtomic => "xs:anyAtomicType",
            AtomicType::String => "xs:string",
            AtomicType::Untyped => "xs:untypedAtomic",
            AtomicType::AnyUri => "xs:anyURI",
            AtomicType::Boolean => "xs:boolean",
            AtomicType::Integer => "xs:integer",
            AtomicType::Decimal => "xs:decimal",
            AtomicType::Double => "xs:double",
            AtomicType::Numeric => "numeric",
            AtomicType::QName => "xs:QName",
            AtomicType::Date => "xs:date",
            AtomicType::DateTime => "xs:dateTime",
        }
    }
}

impl Atomic {
    /// A string value.
    pub fn string(s: &str) -> Atomic {
        Atomic::String(Arc::from(s))
    }

    pub(crate) fn type_name(&self) -> &'static str {
        self.atomic_type().name()
    }

    pub(crate) fn atomic_type(&self) -> AtomicType {
        match self {
            Atomic::String(_) => AtomicType::String,
            Atomic::Untyped(_) => AtomicType::Untyped,
            Atomic::AnyUri(_) => AtomicType::AnyUri,
            Atomic::Boolean(_) => AtomicType::Boolean,
            Atomic::Integer(_) => AtomicType::Integer,
            Atomic::Decimal(_) => AtomicType::Decimal,
            Atomic::Double(_) => AtomicType::Double,
            Atomic::QName(_) => AtomicType::QName,
            Atomic::Date(_) => AtomicType::Date,
            Atomic::DateTime(_) => AtomicType::DateTime,
        }
    }

    /// Whether the value is of a type derived from `t` (integer is a decimal).
    pub(crate) fn is_instance(&self, t: AtomicType) -> bool {
        let own = self.atomic_type();
        own == t
            || t == AtomicType::AnyAtomic
            || (t == AtomicType::Decimal && own == AtomicType::Integer)
            || (t == AtomicType::Numeric && self.is_numeric())
    }

    pub(crate) fn is_numeric(&self) -> bool {
        matches!(
            self,
            Atomic::Integer(_) | Atomic::Decimal(_) | Atomic::Double(_)
        )
    }

    /// The numeric value as a double (for numeric types only).
    pub(crate) fn as_f64(&self) -> Option<f64> {
        match *self {
            Atomic::Integer(i) => Some(i as f64),
            Atomic::Decimal(d) | Atomic::Double(d) => Some(d),
            _ => None,
        }
    }

    /// The canonical lexical form (what `string()` returns).
    pub fn to_xpath_string(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Atomic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Atomic::String(s) | Atomic::Untyped(s) | Atomic::AnyUri(s) => f.write_str(s),
            Atomic::Boolean(b) => write!(f, "{b}"),
            Atomic::Integer(i) => write!(f, "{i}"),
            Atomic::Decimal(d) => f.write_str(&format_decimal(*d)),
            Atomic::Double(d) => f.write_str(&format_double(*d)),
            Atomic::QName(q) => {
                if q.prefix.is_empty() {
                    f.write_str(q.local.as_str())
                } else {
                    write!(f, "{}:{}", q.prefix, q.local)
                }
            }
            Atomic::Date(d) => {
                write_date(f, d)?;
                write_tz(f, d.tz)
            }
            Atomic::DateTime(d) => {
                write_date(f, d)?;
                write!(f, "T{:02}:{:02}:", d.hour, d.minute)?;
                let whole = d.second.trunc();
                write!(f, "{:02}", whole as u32)?;
                let frac = d.second - whole;
                if frac > 0.0 {
                    let s = format!("{frac:.9}");
                    f.write_str(s.trim_start_matches('0').trim_end_matches('0'))?;
                }
                write_tz(f, d.tz)
            }
        }
    }
}

fn write_date(f: &mut fmt::Formatter<'_>, d: &DateTimeValue) -> fmt::Result {
    if d.year < 0 {
        write!(f, "-{:04}-{:02}-{:02}", -d.year, d.month, d.day)
    } else {
        write!(f, "{:04}-{:02}-{:02}", d.year, d.month, d.day)
    }
}

fn write_tz(f: &mut fmt::Formatter<'_>, tz: Option<i16>) -> fmt::Result {
    match tz {
        None => Ok(()),
        Some(0) => f.write_str("Z"),
        Some(m) => {
            let sign = if m < 0 { '-' } else { '+' };
            let m = m.unsigned_abs();
            write!(f, "{sign}{:02}:{:02}", m / 60, m % 60)
        }
    }
}

/// `xs:double` to string (XPath 2.0 §17.1.2): plain notation in [1e-6, 1e6), else `1.0E7`.
pub(crate) fn format_double(d: f64) -> String {
    if d.is_nan() {
        return "NaN".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "INF".into() } else { "-INF".into() };
    }
    if d == 0.0 {
        return if d.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let a = d.abs();
    if (1e-6..1e6).contains(&a) {
        return format!("{d}");
    }
    let s = format!("{d:e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    if mantissa.contains('.') {
        format!("{mantissa}E{exp}")
    } else {
        format!("{mantissa}.0E{exp}")
    }
}

/// `xs:decimal` to string: no exponent, no trailing zeros, integral values without a point.
pub(crate) fn format_decimal(d: f64) -> String {
    if !d.is_finite() {
        return format_double(d);
    }
    if d == 0.0 {
        return "0".into();
    }
    format!("{d}")
}

/// Parses an `xs:double` lexical form (whitespace-trimmed, `INF`, `-INF`, `NaN`).
pub(crate) fn parse_double(s: &str) -> Option<f64> {
    let t = s.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
    match t {
        "INF" => return Some(f64::INFINITY),
        "-INF" => return Some(f64::NEG_INFINITY),
        "NaN" => return Some(f64::NAN),
        _ => {}
    }
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let digits_ok = {
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        (!int.is_empty() || !frac.is_empty())
            && int.bytes().all(|b| b.is_ascii_digit())
            && frac.bytes().all(|b| b.is_ascii_digit())
    };
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    if !digits_ok || !exp_ok {
        return None;
    }
    t.parse().ok()
}

/// Parses an `xs:decimal` lexical form (no exponent).
pub(crate) fn parse_decimal(s: &str) -> Option<f64> {
    let t = trim_ws(s);
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let ok = (!int.is_empty() || !frac.is_empty())
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit());
    if !ok {
        return None;
    }
    let normalized = t.strip_suffix('.').unwrap_or(t);
    normalized
        .parse()
        .ok()
        .or_else(|| format!("{normalized}0").parse().ok())
}

/// Parses an `xs:integer` lexical form.
pub(crate) fn parse_integer(s: &str) -> Option<i64> {
    let t = trim_ws(s);
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

pub(crate) fn trim_ws(s: &str) -> &str {
    s.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
}

fn digits<T: std::str::FromStr>(s: &str, n: usize) -> Option<T> {
    (s.len() == n && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

fn parse_tz(s: &str) -> Option<Option<i16>> {
    if s.is_empty() {
        return Some(None);
    }
    if s == "Z" {
        return Some(Some(0));
    }
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = s[1..].split_once(':')?;
    let h: i16 = digits(h, 2)?;
    let m: i16 = digits(m, 2)?;
    (h <= 14 && m < 60 && (h < 14 || m == 0)).then_some(Some(sign * (h * 60 + m)))
}

fn parse_date_part(s: &str) -> Option<(DateTimeValue, &str)> {
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let dash = s.find('-')?;
    if dash < 4 {
        return None;
    }
    let year: i32 = s[..dash]
        .parse()
        .ok()
        .filter(|_| s[..dash].bytes().all(|b| b.is_ascii_digit()))?;
    let rest = &s[dash + 1..];
    let month: u8 = digits(rest.get(..2)?, 2)?;
    if rest.as_bytes().get(2) != Some(&b'-') {
        return None;
    }
    let day: u8 = digits(rest.get(3..5)?, 2)?;
    let year = if neg { -year } else { year };
    // Year 0000 is a year (1 BCE), as in XSD 1.1 and XPath 3.1, and as Saxon reads it: the
    // timestamp rule of the official schematrons casts "0000-01-01T00:00:00" for an empty
    // @value and must find it castable.
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let v = DateTimeValue {
        year,
        month,
        day,
        hour: 0,
        minute: 0,
        second: 0.0,
        tz: None,
    };
    Some((v, &rest[5..]))
}

/// Parses an `xs:date`.
pub(crate) fn parse_date(s: &str) -> Option<DateTimeValue> {
    let (mut v, rest) = parse_date_part(trim_ws(s))?;
    v.tz = parse_tz(rest)?;
    Some(v)
}

/// Parses an `xs:dateTime`.
pub(crate) fn parse_datetime(s: &str) -> Option<DateTimeValue> {
    let (mut v, rest) = parse_date_part(trim_ws(s))?;
    let rest = rest.strip_prefix('T')?;
    let hour: u8 = digits(rest.get(..2)?, 2)?;
    if rest.as_bytes().get(2) != Some(&b':') || rest.as_bytes().get(5) != Some(&b':') {
        return None;
    }
    let minute: u8 = digits(rest.get(3..5)?, 2)?;
    let sec_end = rest[6..]
        .find(['Z', '+', '-'])
        .map_or(rest.len(), |i| i + 6);
    let sec_str = &rest[6..sec_end];
    let (whole, frac) = sec_str.split_once('.').unwrap_or((sec_str, ""));
    let whole: u8 = digits(whole, 2)?;
    if !frac.bytes().all(|b| b.is_ascii_digit()) || (sec_str.contains('.') && frac.is_empty()) {
        return None;
    }
    let second: f64 = sec_str.parse().ok()?;
    let midnight = hour == 24 && minute == 0 && second == 0.0;
    if (hour > 23 && !midnight) || minute > 59 || whole > 59 {
        return None;
    }
    v.hour = hour;
    v.minute = minute;
    v.second = second;
    v.tz = parse_tz(&rest[sec_end..])?;
    Some(v)
}

/// Days since 0001-01-01 (proleptic Gregorian) for ordering.
fn day_number(y: i32, m: u8, d: u8) -> i64 {
    let (y, m) = if m <= 2 {
        (i64::from(y) - 1, i64::from(m) + 12)
    } else {
        (i64::from(y), i64::from(m))
    };
    365 * y + y.div_euclid(4) - y.div_euclid(100)
        + y.div_euclid(400)
        + (153 * (m - 3) + 2) / 5
        + i64::from(d)
}

impl DateTimeValue {
    /// Seconds on a common timeline; values without timezone use `implicit_tz` (minutes).
    pub(crate) fn timeline(&self, implicit_tz: i16) -> f64 {
        let days = day_number(self.year, self.month, self.day) as f64;
        let tz = f64::from(self.tz.unwrap_or(implicit_tz));
        days * 86400.0 + f64::from(self.hour) * 3600.0 + f64::from(self.minute) * 60.0 + self.second
            - tz * 60.0
    }
}
