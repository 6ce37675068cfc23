//! Simple types: the built-in datatypes, facets, lists and unions, checked as Xerces checks them
//! (same order of checks, same message keys and texts).

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashSet;

use regex::Regex;

use crate::names::{FxMap, FxSet, QId};

pub(crate) type StId = u32;

/// Whitespace facet.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Ws {
    Preserve,
    Replace,
    Collapse,
}

/// The primitive validator ("DV" in Xerces) that checks the lexical space.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Prim {
    AnySimple,
    String,
    Boolean,
    Decimal,
    Integer,
    Float,
    Double,
    Duration,
    DateTime,
    Time,
    Date,
    GYearMonth,
    GYear,
    GMonthDay,
    GDay,
    GMonth,
    HexBinary,
    Base64Binary,
    AnyUri,
    QName,
    Notation,
    Id,
    Idref,
    Entity,
}

impl Prim {
    /// The name Xerces puts in `cvc-datatype-valid.1.2.1`.
    fn dv_name(self) -> &'static str {
        match self {
            Prim::AnySimple | Prim::String => "string",
            Prim::Boolean => "boolean",
            Prim::Decimal => "decimal",
            Prim::Integer => "integer",
            Prim::Float => "float",
            Prim::Double => "double",
            Prim::Duration => "duration",
            Prim::DateTime => "dateTime",
            Prim::Time => "time",
            Prim::Date => "date",
            Prim::GYearMonth => "gYearMonth",
            Prim::GYear => "gYear",
            Prim::GMonthDay => "gMonthDay",
            Prim::GDay => "gDay",
            Prim::GMonth => "gMonth",
            Prim::HexBinary => "hexBinary",
            Prim::Base64Binary => "base64Binary",
            Prim::AnyUri => "anyURI",
            Prim::QName => "QName",
            Prim::Notation => "NOTATION",
            Prim::Id | Prim::Idref | Prim::Entity => "NCName",
        }
    }

    fn is_numeric(self) -> bool {
        matches!(
            self,
            Prim::Decimal | Prim::Integer | Prim::Float | Prim::Double
        )
    }
}

/// Name checks Xerces performs in place of patterns for NMTOKEN, Name and NCName.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Special {
    None,
    Nmtoken,
    Name,
    NcName,
}

#[derive(Clone, Debug)]
pub(crate) enum Variety {
    Atomic(Prim),
    List(StId),
    Union(Vec<StId>),
}

/// A decimal number, exactly: sign, integer digits without leading zeros, fraction digits
/// without trailing zeros.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Decimal {
    pub(crate) neg: bool,
    pub(crate) int: Box<str>,
    pub(crate) frac: Box<str>,
}

impl Decimal {
    pub(crate) fn parse(s: &str, integer_only: bool) -> Option<Decimal> {
        let (neg, body) = match s.as_bytes().first()? {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let (ip, fp) = match body.find('.') {
            Some(i) if !integer_only => (&body[..i], &body[i + 1..]),
            Some(_) => return None,
            None => (body, ""),
        };
        if ip.is_empty() && fp.is_empty() {
            return None;
        }
        if !ip.bytes().all(|b| b.is_ascii_digit()) || !fp.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let int = ip.trim_start_matches('0');
        let frac = fp.trim_end_matches('0');
        let zero = int.is_empty() && frac.is_empty();
        Some(Decimal {
            neg: neg && !zero,
            int: int.into(),
            frac: frac.into(),
        })
    }

    fn total_digits(&self) -> usize {
        self.int.len() + self.frac.len()
    }

    fn cmp_abs(&self, o: &Decimal) -> Ordering {
        self.int
            .len()
            .cmp(&o.int.len())
            .then_with(|| self.int.cmp(&o.int))
            .then_with(|| self.frac.cmp(&o.frac))
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, o: &Decimal) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for Decimal {
    fn cmp(&self, o: &Decimal) -> Ordering {
        match (self.neg, o.neg) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.cmp_abs(o),
            (true, true) => o.cmp_abs(self),
        }
    }
}

/// An actual value, as far as this crate compares values (enumerations, fixed values, bounds).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    /// The normalized lexical form is the value (string-like types); not materialized.
    Lex,
    Str(Box<str>),
    Dec(Decimal),
    Float(f64),
    Bool(bool),
    List(Vec<Value>),
}

impl Value {
    fn compare(&self, o: &Value) -> Option<Ordering> {
        match (self, o) {
            (Value::Dec(a), Value::Dec(b)) => Some(a.cmp(b)),
            (Value::Float(a), Value::Float(b)) => a.partial_cmp(b),
            _ => None,
        }
    }

    fn same(&self, o: &Value) -> bool {
        match (self, o) {
            (Value::Float(a), Value::Float(b)) => a == b || (a.is_nan() && b.is_nan()),
            _ => self == o,
        }
    }
}

/// The values of an enumeration facet with their lexical forms, in schema order.
pub(crate) type Enumeration = Vec<(Value, Box<str>)>;

#[derive(Debug)]
pub(crate) struct Pattern {
    pub(crate) re: Regex,
    pub(crate) src: Box<str>,
    /// A direct check equal to `re`, for the patterns most values meet ([`direct_pattern`]).
    pub(crate) direct: Option<fn(&str) -> bool>,
}

impl Pattern {
    /// The pattern `src` (as written in the schema) compiled to `re`.
    pub(crate) fn new(re: Regex, src: Box<str>) -> Pattern {
        let direct = direct_pattern(&src);
        Pattern { re, src, direct }
    }

    /// Whether the whole of `s` matches.
    pub(crate) fn is_match(&self, s: &str) -> bool {
        match self.direct {
            Some(f) => f(s),
            None => self.re.is_match(s),
        }
    }
}

/// A check without the regular expression engine for the patterns of the HL7 data types that
/// most values meet, written from the pattern `src` (an XSD regular expression: anchored at
/// both ends, `\s` is space, tab, line feed and carriage return, `.` anything but a line end);
/// `None` for the others. `tests::direct_patterns_are_the_regexes` compares each with its
/// compiled regular expression.
pub(crate) fn direct_pattern(src: &str) -> Option<fn(&str) -> bool> {
    let f: fn(&str) -> bool = match src {
        // oid
        r"[0-2](\.(0|[1-9][0-9]*))*" => is_oid,
        // uuid
        r"[0-9a-zA-Z]{8}-[0-9a-zA-Z]{4}-[0-9a-zA-Z]{4}-[0-9a-zA-Z]{4}-[0-9a-zA-Z]{12}" => is_uuid,
        // ruid
        r"[A-Za-z][A-Za-z0-9\-]*" => is_ruid,
        // ts
        r"[0-9]{1,8}|([0-9]{9,14}|[0-9]{14,14}\.[0-9]+)([+\-][0-9]{1,4})?" => is_ts,
        // cs
        r"[^\s]+" => |s| !s.is_empty() && !s.bytes().any(is_xml_space),
        // bl
        "true|false" => |s| s == "true" || s == "false",
        r"[\-+]?[0-9]+" => |s| {
            let d = s.strip_prefix(['-', '+']).unwrap_or(s);
            !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())
        },
        ".+" => |s| !s.is_empty() && !s.bytes().any(|b| b == b'\n' || b == b'\r'),
        _ => return None,
    };
    Some(f)
}

/// Space, tab, line feed or carriage return (XSD `\s`).
fn is_xml_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// The number of ASCII digits `b` starts with.
fn leading_digits(b: &[u8]) -> usize {
    b.iter().take_while(|c| c.is_ascii_digit()).count()
}

/// `[0-2](\.(0|[1-9][0-9]*))*`
fn is_oid(s: &str) -> bool {
    let Some((first, mut rest)) = s.as_bytes().split_first() else {
        return false;
    };
    if !matches!(first, b'0'..=b'2') {
        return false;
    }
    while let Some((&dot, after)) = rest.split_first() {
        let n = leading_digits(after);
        if dot != b'.' || n == 0 || (n > 1 && after.first() == Some(&b'0')) {
            return false;
        }
        rest = after.get(n..).unwrap_or_default();
    }
    true
}

/// `[0-9a-zA-Z]{8}-[0-9a-zA-Z]{4}-[0-9a-zA-Z]{4}-[0-9a-zA-Z]{4}-[0-9a-zA-Z]{12}`
fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_alphanumeric(),
        })
}

/// `[A-Za-z][A-Za-z0-9\-]*`
fn is_ruid(s: &str) -> bool {
    let b = s.as_bytes();
    b.first().is_some_and(u8::is_ascii_alphabetic)
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-')
}

/// `[0-9]{1,8}|([0-9]{9,14}|[0-9]{14,14}\.[0-9]+)([+\-][0-9]{1,4})?`
fn is_ts(s: &str) -> bool {
    // `([+\-][0-9]{1,4})?` up to the end.
    fn zone(r: &[u8]) -> bool {
        match r.split_first() {
            None => true,
            Some((sign, d)) => {
                matches!(sign, b'+' | b'-')
                    && (1..=4).contains(&d.len())
                    && d.iter().all(u8::is_ascii_digit)
            }
        }
    }
    let b = s.as_bytes();
    let d = leading_digits(b);
    let rest = b.get(d..).unwrap_or_default();
    if rest.is_empty() {
        return (1..=14).contains(&d);
    }
    if (9..=14).contains(&d) && zone(rest) {
        return true;
    }
    match rest.split_first() {
        Some((b'.', frac)) if d == 14 => {
            let m = leading_digits(frac);
            m > 0 && zone(frac.get(m..).unwrap_or_default())
        }
        _ => false,
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Bound {
    pub(crate) value: Value,
    pub(crate) text: Box<str>,
}

/// A compiled simple type.
#[derive(Debug)]
pub(crate) struct SimpleType {
    /// Name used in messages (`#AnonType_…` for anonymous types, as Xerces names them).
    pub(crate) name: Box<str>,
    pub(crate) qname: Option<QId>,
    pub(crate) base: Option<StId>,
    pub(crate) variety: Variety,
    pub(crate) ws: Ws,
    pub(crate) special: Special,
    pub(crate) patterns: Vec<std::sync::Arc<Pattern>>,
    /// Shared with the types derived from this one.
    pub(crate) enumeration: Option<std::sync::Arc<Enumeration>>,
    /// The enumeration as a set of lexical forms, when its values are strings.
    pub(crate) enum_set: Option<std::sync::Arc<FxSet<Box<str>>>>,
    pub(crate) length: Option<usize>,
    pub(crate) min_length: Option<usize>,
    pub(crate) max_length: Option<usize>,
    pub(crate) min_incl: Option<Bound>,
    pub(crate) max_incl: Option<Bound>,
    pub(crate) min_excl: Option<Bound>,
    pub(crate) max_excl: Option<Bound>,
    pub(crate) total_digits: Option<usize>,
    pub(crate) fraction_digits: Option<usize>,
    /// A construct of this type could not be compiled: values are not checked.
    pub(crate) unsupported: Option<u32>,
}

impl SimpleType {
    pub(crate) fn new(name: &str, base: Option<StId>, variety: Variety, ws: Ws) -> SimpleType {
        SimpleType {
            name: name.into(),
            qname: None,
            base,
            variety,
            ws,
            special: Special::None,
            patterns: Vec::new(),
            enumeration: None,
            enum_set: None,
            length: None,
            min_length: None,
            max_length: None,
            min_incl: None,
            max_incl: None,
            min_excl: None,
            max_excl: None,
            total_digits: None,
            fraction_digits: None,
            unsupported: None,
        }
    }

    /// A restriction of `b` (id `base`) inheriting its facets.
    pub(crate) fn derive(name: &str, base: StId, b: &SimpleType) -> SimpleType {
        SimpleType {
            name: name.into(),
            qname: None,
            base: Some(base),
            variety: b.variety.clone(),
            ws: b.ws,
            special: b.special,
            patterns: b.patterns.clone(),
            enumeration: b.enumeration.clone(),
            enum_set: b.enum_set.clone(),
            length: b.length,
            min_length: b.min_length,
            max_length: b.max_length,
            min_incl: b.min_incl.clone(),
            max_incl: b.max_incl.clone(),
            min_excl: b.min_excl.clone(),
            max_excl: b.max_excl.clone(),
            total_digits: b.total_digits,
            fraction_digits: b.fraction_digits,
            unsupported: b.unsupported,
        }
    }

    /// Whether a value of `len` characters meets the length facets (none: any length).
    fn length_ok(&self, len: usize) -> bool {
        self.length.is_none_or(|m| len == m)
            && self.min_length.is_none_or(|m| len >= m)
            && self.max_length.is_none_or(|m| len <= m)
    }

    /// Whether every value of `bytes` UTF-8 bytes (hence of `bytes / 4` rounded up to `bytes`
    /// characters) meets the length facets: then its characters need no count.
    fn length_ok_for_bytes(&self, bytes: usize) -> bool {
        let (lo, hi) = (bytes.div_ceil(4), bytes);
        self.length.is_none_or(|m| lo == m && hi == m)
            && self.min_length.is_none_or(|m| lo >= m)
            && self.max_length.is_none_or(|m| hi <= m)
    }

    pub(crate) fn prim(&self) -> Option<Prim> {
        match self.variety {
            Variety::Atomic(p) => Some(p),
            _ => None,
        }
    }
}

/// A failed check: the Xerces key and message.
#[derive(Debug, Clone)]
pub(crate) struct Fault {
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

fn fault(code: &'static str, message: String) -> Fault {
    Fault {
        code,
        message: format!("{code}: {message}"),
    }
}

/// [`fault`] when the message is wanted (`msg`); else the key alone, without formatting (a union
/// member that fails is tried for the next one, and its message is never shown).
fn fault_if(msg: bool, code: &'static str, message: impl FnOnce() -> String) -> Fault {
    if msg {
        fault(code, message())
    } else {
        Fault {
            code,
            message: String::new(),
        }
    }
}

/// Resolves namespace prefixes for QName values.
pub(crate) trait PrefixResolver {
    fn resolve(&self, prefix: &str) -> Option<&str>;
}

/// ID/IDREF bookkeeping for one document (cvc-id.1, cvc-id.2).
#[derive(Debug, Default)]
pub(crate) struct IdState {
    // The document chooses these keys: the standard (randomly keyed) hasher, not FxHash.
    pub(crate) ids: HashSet<Box<str>>,
    pub(crate) idrefs: Vec<Box<str>>,
    seen_refs: HashSet<Box<str>>,
}

impl IdState {
    pub(crate) fn clear(&mut self) {
        self.ids.clear();
        self.idrefs.clear();
        self.seen_refs.clear();
    }

    /// These tables emptied, to serve another document; new ones when they grew past
    /// [`MAX_KEPT_IDS`] entries (the memory kept between documents stays bounded).
    pub(crate) fn reusable(mut self) -> IdState {
        let kept = self.ids.capacity() + self.seen_refs.capacity() + self.idrefs.capacity();
        if kept > MAX_KEPT_IDS {
            return IdState::default();
        }
        self.clear();
        self
    }

    fn add_ref(&mut self, r: &str) {
        if !self.seen_refs.contains(r) {
            self.seen_refs.insert(r.into());
            self.idrefs.push(r.into());
        }
    }
}

/// [`IdState::reusable`] keeps tables of at most this many entries in all.
const MAX_KEPT_IDS: usize = 1 << 14;

/// Values of a longer length are not remembered by [`ValidValues`].
const MEMO_VALUE_LEN: usize = 62;
/// Slots of [`ValidValues`] (a power of two): 16 384 of 68 bytes, 1.1 MB per memo. The ANS
/// examples hold about 7 500 distinct remembered values; 4 096 slots lost a third of them to
/// collisions.
const MEMO_SLOTS: usize = 16384;
/// The length of a slot that holds nothing.
const EMPTY_SLOT: u8 = u8::MAX;

/// One remembered value: its type and its bytes.
#[derive(Clone, Copy)]
struct MemoSlot {
    ty: StId,
    len: u8,
    bytes: [u8; MEMO_VALUE_LEN],
}

/// Values found valid before, for the types whose check is worth remembering and depends on
/// the value alone ([`SimpleTypes::memo_worth`]): a value seen again is not checked again. It
/// depends on the schema only, so it may serve several documents. A direct-mapped cache of
/// fixed size (each value has one slot, a newer value takes it): bounded, and keys that collide
/// cost a check each, never more. Only successes are kept: a failing value is checked every
/// time, for its message.
#[derive(Default)]
pub(crate) struct ValidValues {
    /// Per type id, how a value is checked (`None` not yet known).
    kinds: Vec<Option<CheckKind>>,
    /// [`MEMO_SLOTS`] slots once the first value is remembered.
    slots: Vec<MemoSlot>,
}

impl std::fmt::Debug for ValidValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let used = self.slots.iter().filter(|s| s.len != EMPTY_SLOT).count();
        f.debug_struct("ValidValues").field("used", &used).finish()
    }
}

impl ValidValues {
    /// [`SimpleTypes::validate`] without the actual value.
    pub(crate) fn check(
        &mut self,
        types: &SimpleTypes,
        id: StId,
        content: &str,
        ctx: &mut Ctx<'_>,
    ) -> Result<(), Fault> {
        match self.kind(types, id) {
            CheckKind::Memo if content.len() <= MEMO_VALUE_LEN => {}
            CheckKind::Valid => return Ok(()),
            CheckKind::Uri if !content.as_bytes().contains(&b'%') => return Ok(()),
            CheckKind::Id
                if segur_xml::space::is_collapsed(content.as_bytes()) && is_ncname(content) =>
            {
                // What the full check does with a valid name: add it, a duplicate is an error
                // (then checked in full, which finds it there again, for the message).
                let Some(ids) = ctx.ids.as_deref_mut() else {
                    return Ok(());
                };
                if ids.ids.insert(content.into()) {
                    return Ok(());
                }
                return types.validate(id, content, ctx).map(drop);
            }
            CheckKind::Length
                if types.get(id).length_ok_for_bytes(content.len())
                    || types.get(id).length_ok(content.chars().count()) =>
            {
                return Ok(());
            }
            _ => return types.validate(id, content, ctx).map(drop),
        }
        let i = memo_slot(id, content.as_bytes());
        if let Some(slot) = self.slots.get(i)
            && slot.ty == id
            && usize::from(slot.len) == content.len()
            && slot.bytes[..content.len()] == *content.as_bytes()
        {
            return Ok(());
        }
        types.validate(id, content, ctx)?;
        if self.slots.is_empty() {
            let empty = MemoSlot {
                ty: 0,
                len: EMPTY_SLOT,
                bytes: [0; MEMO_VALUE_LEN],
            };
            self.slots = vec![empty; MEMO_SLOTS];
        }
        if let Some(slot) = self.slots.get_mut(i) {
            slot.ty = id;
            slot.len = content.len() as u8;
            slot.bytes[..content.len()].copy_from_slice(content.as_bytes());
        }
        Ok(())
    }

    /// [`SimpleTypes::check_kind`], remembered.
    fn kind(&mut self, types: &SimpleTypes, id: StId) -> CheckKind {
        let i = id as usize;
        if self.kinds.len() <= i {
            self.kinds.resize(types.types.len().max(i + 1), None);
        }
        *self.kinds[i].get_or_insert_with(|| types.check_kind(id))
    }
}

/// The slot of value `b` of type `ty` in [`ValidValues`]: FxHash's multiply over the type and
/// length, then the value's 8-byte words, a last partial word read as the last eight bytes
/// (overlapping the previous word) and a value shorter than a word from its first and last
/// four bytes, or its first, middle and last byte: no copy of a partial word, and, the length
/// being hashed, every byte counts.
#[inline]
fn memo_slot(ty: StId, b: &[u8]) -> usize {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    let add = |h: u64, w: u64| (h.rotate_left(5) ^ w).wrapping_mul(K);
    let word = |c: &[u8]| <[u8; 8]>::try_from(c).map_or(0, u64::from_le_bytes);
    let half = |c: &[u8]| <[u8; 4]>::try_from(c).map_or(0, |w| u64::from(u32::from_le_bytes(w)));
    let n = b.len();
    let mut h = add(0, u64::from(ty) << 32 | n as u64);
    if n >= 8 {
        let mut chunks = b.chunks_exact(8);
        for c in &mut chunks {
            h = add(h, word(c));
        }
        if !chunks.remainder().is_empty() {
            h = add(h, word(b.get(n - 8..).unwrap_or_default()));
        }
    } else if n >= 4 {
        let first = half(b.get(..4).unwrap_or_default());
        let last = half(b.get(n - 4..).unwrap_or_default());
        h = add(h, first | last << 32);
    } else if let (Some(&first), Some(&last)) = (b.first(), b.last()) {
        let mid = b.get(n / 2).copied().unwrap_or(0);
        h = add(
            h,
            u64::from(first) | u64::from(mid) << 8 | u64::from(last) << 16,
        );
    }
    // The high bits of the product depend on every word (its low bits do not).
    (h >> (64 - MEMO_SLOTS.trailing_zeros())) as usize
}

/// How [`ValidValues::check`] checks a value of a type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CheckKind {
    /// In full, remembering the values found valid ([`SimpleTypes::memo_worth`]).
    Memo,
    /// In full, each time.
    Full,
    /// Every value is valid: a string with no facet, pattern nor name rule.
    Valid,
    /// An `anyURI` with no facet: valid unless it has a `%` (then checked in full).
    Uri,
    /// A string whose only facets are lengths, and whose whitespace normalization keeps the
    /// number of characters (preserve or replace): valid when its length is within them
    /// ([`SimpleType::length_ok`]; else checked in full, for the message).
    Length,
    /// An `ID` with no facet nor pattern: a collapsed NCName is added to the document's IDs
    /// (checked in full when it is not one, or is there already, for the message).
    Id,
}

/// Context of one check.
pub(crate) struct Ctx<'a> {
    pub(crate) ns: Option<&'a dyn PrefixResolver>,
    pub(crate) ids: Option<&'a mut IdState>,
}

pub(crate) fn normalize(s: &str, ws: Ws) -> Cow<'_, str> {
    match ws {
        Ws::Preserve => Cow::Borrowed(s),
        Ws::Replace => {
            if s.bytes().any(|b| matches!(b, b'\t' | b'\n' | b'\r')) {
                Cow::Owned(s.replace(['\t', '\n', '\r'], " "))
            } else {
                Cow::Borrowed(s)
            }
        }
        Ws::Collapse => segur_xml::space::collapse(s),
    }
}

/// The simple types of a schema; index 0 is `anySimpleType`.
#[derive(Debug, Default)]
pub(crate) struct SimpleTypes {
    pub(crate) types: Vec<SimpleType>,
}

/// Built-in simple type names in the order they are created.
pub(crate) struct BuiltinIds {
    pub(crate) by_name: FxMap<&'static str, StId>,
}

impl SimpleTypes {
    pub(crate) fn get(&self, id: StId) -> &SimpleType {
        &self.types[id as usize]
    }

    fn push(&mut self, t: SimpleType) -> StId {
        self.types.push(t);
        (self.types.len() - 1) as StId
    }

    /// Creates the built-in types (XSD 1.0 part 2) and returns their ids by local name.
    pub(crate) fn builtins(&mut self) -> BuiltinIds {
        let mut by_name: FxMap<&'static str, StId> = FxMap::default();
        let any = self.push(SimpleType::new(
            "anySimpleType",
            None,
            Variety::Atomic(Prim::AnySimple),
            Ws::Preserve,
        ));
        by_name.insert("anySimpleType", any);
        let prims: &[(&'static str, Prim)] = &[
            ("string", Prim::String),
            ("boolean", Prim::Boolean),
            ("decimal", Prim::Decimal),
            ("float", Prim::Float),
            ("double", Prim::Double),
            ("duration", Prim::Duration),
            ("dateTime", Prim::DateTime),
            ("time", Prim::Time),
            ("date", Prim::Date),
            ("gYearMonth", Prim::GYearMonth),
            ("gYear", Prim::GYear),
            ("gMonthDay", Prim::GMonthDay),
            ("gDay", Prim::GDay),
            ("gMonth", Prim::GMonth),
            ("hexBinary", Prim::HexBinary),
            ("base64Binary", Prim::Base64Binary),
            ("anyURI", Prim::AnyUri),
            ("QName", Prim::QName),
            ("NOTATION", Prim::Notation),
        ];
        for &(n, p) in prims {
            let ws = if p == Prim::String {
                Ws::Preserve
            } else {
                Ws::Collapse
            };
            let id = self.push(SimpleType::new(n, Some(any), Variety::Atomic(p), ws));
            by_name.insert(n, id);
        }
        let mut derive =
            |me: &mut SimpleTypes, n: &'static str, base: &str, f: &dyn Fn(&mut SimpleType)| {
                let b = by_name[base];
                let mut t = SimpleType::derive(n, b, me.get(b));
                f(&mut t);
                let id = me.push(t);
                by_name.insert(n, id);
            };
        derive(self, "normalizedString", "string", &|t| t.ws = Ws::Replace);
        derive(self, "token", "normalizedString", &|t| t.ws = Ws::Collapse);
        derive(self, "language", "token", &|t| {
            t.patterns.push(std::sync::Arc::new(Pattern::new(
                Regex::new(r"\A(?:[a-zA-Z]{1,8}(?:-[a-zA-Z0-9]{1,8})*)\z").expect("static regex"),
                "[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*".into(),
            )))
        });
        derive(self, "NMTOKEN", "token", &|t| t.special = Special::Nmtoken);
        derive(self, "Name", "token", &|t| t.special = Special::Name);
        derive(self, "NCName", "Name", &|t| t.special = Special::NcName);
        derive(self, "ID", "NCName", &|t| {
            t.variety = Variety::Atomic(Prim::Id)
        });
        derive(self, "IDREF", "NCName", &|t| {
            t.variety = Variety::Atomic(Prim::Idref)
        });
        derive(self, "ENTITY", "NCName", &|t| {
            t.variety = Variety::Atomic(Prim::Entity)
        });
        derive(self, "integer", "decimal", &|t| {
            t.variety = Variety::Atomic(Prim::Integer);
            t.fraction_digits = Some(0);
        });
        let int_bound = |s: &str| Bound {
            value: Value::Dec(Decimal::parse(s, true).expect("static bound")),
            text: s.into(),
        };
        let ranges: &[(&'static str, &str, Option<&str>, Option<&str>)] = &[
            ("nonPositiveInteger", "integer", None, Some("0")),
            ("negativeInteger", "nonPositiveInteger", None, Some("-1")),
            (
                "long",
                "integer",
                Some("-9223372036854775808"),
                Some("9223372036854775807"),
            ),
            ("int", "long", Some("-2147483648"), Some("2147483647")),
            ("short", "int", Some("-32768"), Some("32767")),
            ("byte", "short", Some("-128"), Some("127")),
            ("nonNegativeInteger", "integer", Some("0"), None),
            (
                "unsignedLong",
                "nonNegativeInteger",
                None,
                Some("18446744073709551615"),
            ),
            ("unsignedInt", "unsignedLong", None, Some("4294967295")),
            ("unsignedShort", "unsignedInt", None, Some("65535")),
            ("unsignedByte", "unsignedShort", None, Some("255")),
            ("positiveInteger", "nonNegativeInteger", Some("1"), None),
        ];
        for &(n, base, lo, hi) in ranges {
            derive(self, n, base, &|t| {
                if let Some(lo) = lo {
                    t.min_incl = Some(int_bound(lo));
                }
                if let Some(hi) = hi {
                    t.max_incl = Some(int_bound(hi));
                }
            });
        }
        for (n, item) in [
            ("NMTOKENS", "NMTOKEN"),
            ("IDREFS", "IDREF"),
            ("ENTITIES", "ENTITY"),
        ] {
            let mut t = SimpleType::new(n, Some(any), Variety::List(by_name[item]), Ws::Collapse);
            t.min_length = Some(1);
            let id = self.push(t);
            by_name.insert(n, id);
        }
        BuiltinIds { by_name }
    }

    /// Validates `content` against type `id` (Xerces `XSSimpleTypeDecl.validate`).
    pub(crate) fn validate(
        &self,
        id: StId,
        content: &str,
        ctx: &mut Ctx<'_>,
    ) -> Result<Value, Fault> {
        let t = self.get(id);
        let nvalue = normalize(content, t.ws);
        let (value, items) = self.actual_value(id, content, &nvalue, ctx, true)?;
        self.check_facets(t, &nvalue, &value, true)?;
        if let Some(ids) = ctx.ids.as_deref_mut() {
            self.extra_rules(id, &nvalue, &value, items, ids)?;
        }
        Ok(value)
    }

    /// Like [`SimpleTypes::validate`], with string values materialized (for fixed-value checks).
    pub(crate) fn validate_value(
        &self,
        id: StId,
        content: &str,
        ctx: &mut Ctx<'_>,
    ) -> Result<Value, Fault> {
        match self.validate(id, content, ctx)? {
            Value::Lex => Ok(Value::Str(normalize(content, self.get(id).ws).into())),
            v => Ok(v),
        }
    }

    /// ID/IDREF rules; `items` are the item types of a list.
    fn extra_rules(
        &self,
        id: StId,
        nvalue: &str,
        value: &Value,
        item: Option<StId>,
        ids: &mut IdState,
    ) -> Result<(), Fault> {
        let t = self.get(id);
        match (&t.variety, value) {
            // One lookup: a new ID is added by the guard, one already there is left as it was.
            (Variety::Atomic(Prim::Id), _) if !ids.ids.insert(nvalue.into()) => {
                return Err(fault(
                    "cvc-id.2",
                    format!("There are multiple occurrences of ID value '{nvalue}'."),
                ));
            }
            (Variety::Atomic(Prim::Idref), _) => ids.add_ref(nvalue),
            (Variety::List(_), Value::List(vals)) => {
                if let Some(item) = item {
                    for v in vals {
                        if let Value::Str(s) = v {
                            self.extra_rules(item, s, v, None, ids)?;
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Patterns, then the lexical check of the primitive (Xerces `getActualValue`).
    fn actual_value(
        &self,
        id: StId,
        content: &str,
        nvalue: &str,
        ctx: &mut Ctx<'_>,
        msg: bool,
    ) -> Result<(Value, Option<StId>), Fault> {
        let t = self.get(id);
        for p in t.patterns.iter() {
            if !p.is_match(nvalue) {
                return Err(fault_if(msg, "cvc-pattern-valid", || {
                    format!(
                        "Value '{content}' is not facet-valid with respect to pattern '{}' for type '{}'.",
                        p.src, t.name
                    )
                }));
            }
        }
        match &t.variety {
            Variety::Atomic(prim) => {
                let ok = match t.special {
                    Special::None => true,
                    Special::Nmtoken => is_nmtoken(nvalue),
                    Special::Name => is_name(nvalue),
                    Special::NcName => is_ncname(nvalue),
                };
                if !ok {
                    let n = match t.special {
                        Special::Nmtoken => "NMTOKEN",
                        Special::Name => "Name",
                        _ => "NCName",
                    };
                    return Err(fault_if(msg, "cvc-datatype-valid.1.2.1", || {
                        format!("'{nvalue}' is not a valid value for '{n}'.")
                    }));
                }
                let v = lexical(*prim, nvalue, ctx).ok_or_else(|| {
                    fault_if(msg, "cvc-datatype-valid.1.2.1", || {
                        format!("'{nvalue}' is not a valid value for '{}'.", prim.dv_name())
                    })
                })?;
                Ok((v, None))
            }
            Variety::List(item) => {
                let it = self.get(*item);
                let mut vals = Vec::new();
                for tok in nvalue.split(' ').filter(|s| !s.is_empty()) {
                    let (v, _) = self.actual_value(*item, tok, tok, ctx, msg)?;
                    self.check_facets(it, tok, &v, msg)?;
                    vals.push(match v {
                        Value::Lex => Value::Str(tok.into()),
                        v => v,
                    });
                }
                Ok((Value::List(vals), Some(*item)))
            }
            Variety::Union(members) => {
                for &m in members {
                    let mt = self.get(m);
                    let mv = normalize(content, mt.ws);
                    let mut sub = Ctx {
                        ns: ctx.ns,
                        ids: None,
                    };
                    if let Ok((v, _)) = self.actual_value(m, content, &mv, &mut sub, false)
                        && self.check_facets(mt, &mv, &v, false).is_ok()
                    {
                        return Ok((v, None));
                    }
                }
                Err(fault_if(msg, "cvc-datatype-valid.1.2.3", || {
                    format!(
                        "'{content}' is not a valid value of union type '{}'.",
                        t.name
                    )
                }))
            }
        }
    }

    /// Facets other than pattern and whiteSpace, in Xerces' order.
    fn check_facets(
        &self,
        t: &SimpleType,
        content: &str,
        value: &Value,
        msg: bool,
    ) -> Result<(), Fault> {
        let prim = t.prim();
        let length_facet = t.length.is_some() || t.min_length.is_some() || t.max_length.is_some();
        if length_facet && prim != Some(Prim::QName) && prim != Some(Prim::Notation) {
            let len = match (value, prim) {
                (Value::List(v), _) => v.len(),
                (_, Some(Prim::HexBinary)) => content.len() / 2,
                (_, Some(Prim::Base64Binary)) => base64_len(content),
                _ => content.chars().count(),
            };
            let name = &t.name;
            if let Some(m) = t.max_length
                && len > m
            {
                return Err(fault_if(msg, "cvc-maxLength-valid", || {
                    format!(
                        "Value '{content}' with length = '{len}' is not facet-valid with respect to maxLength '{m}' for type '{name}'."
                    )
                }));
            }
            if let Some(m) = t.min_length
                && len < m
            {
                return Err(fault_if(msg, "cvc-minLength-valid", || {
                    format!(
                        "Value '{content}' with length = '{len}' is not facet-valid with respect to minLength '{m}' for type '{name}'."
                    )
                }));
            }
            if let Some(m) = t.length
                && len != m
            {
                return Err(fault_if(msg, "cvc-length-valid", || {
                    format!(
                        "Value '{content}' with length = '{len}' is not facet-valid with respect to length '{m}' for type '{name}'."
                    )
                }));
            }
        }
        let in_enum = |en: &[(Value, Box<str>)]| match (value, &t.enum_set) {
            (Value::Lex | Value::Str(_), Some(set)) => set.contains(content),
            (Value::Lex, None) => en
                .iter()
                .any(|(v, _)| matches!(v, Value::Str(s) if **s == *content)),
            _ => en.iter().any(|(v, _)| v.same(value)),
        };
        if let Some(en) = &t.enumeration
            && !in_enum(en.as_slice())
        {
            return Err(fault_if(msg, "cvc-enumeration-valid", || {
                let list: Vec<&str> = en.iter().map(|(_, s)| &**s).collect();
                format!(
                    "Value '{content}' is not facet-valid with respect to enumeration '[{}]'. It must be a value from the enumeration.",
                    list.join(", ")
                )
            }));
        }
        if let Value::Dec(d) = value {
            if let Some(f) = t.fraction_digits
                && d.frac.len() > f
            {
                return Err(fault_if(msg, "cvc-fractionDigits-valid", || {
                    format!(
                        "Value '{content}' has {} fraction digits, but the number of fraction digits has been limited to {f}.",
                        d.frac.len()
                    )
                }));
            }
            if let Some(m) = t.total_digits
                && d.total_digits() > m
            {
                return Err(fault_if(msg, "cvc-totalDigits-valid", || {
                    format!(
                        "Value '{content}' has {} total digits, but the number of total digits has been limited to {m}.",
                        d.total_digits()
                    )
                }));
            }
        }
        let checks: [BoundCheck<'_>; 4] = [
            (&t.max_incl, "cvc-maxInclusive-valid", "maxInclusive", |o| {
                o != Ordering::Greater
            }),
            (&t.max_excl, "cvc-maxExclusive-valid", "maxExclusive", |o| {
                o == Ordering::Less
            }),
            (&t.min_incl, "cvc-minInclusive-valid", "minInclusive", |o| {
                o != Ordering::Less
            }),
            (&t.min_excl, "cvc-minExclusive-valid", "minExclusive", |o| {
                o == Ordering::Greater
            }),
        ];
        for (bound, code, facet, ok) in checks {
            if let Some(b) = bound {
                let good = value.compare(&b.value).is_some_and(ok);
                if !good {
                    return Err(fault_if(msg, code, || {
                        format!(
                            "Value '{content}' is not facet-valid with respect to {facet} '{}' for type '{}'.",
                            b.text, t.name
                        )
                    }));
                }
            }
        }
        Ok(())
    }

    /// How a value of type `id` is checked: remembered ([`Self::memo_worth`]), skipped when
    /// the check cannot fail (an unrestricted string), reduced to a search for `%` (an
    /// unrestricted `anyURI`: [`is_any_uri`] only refuses bad `%` escapes, and whitespace
    /// normalization neither adds nor removes a `%`), to counting characters (a string with
    /// length facets only, whose normalization replaces a character by one, or none), or in
    /// full.
    fn check_kind(&self, id: StId) -> CheckKind {
        if self.memo_worth(id) {
            return CheckKind::Memo;
        }
        let Some(t) = self.types.get(id as usize) else {
            return CheckKind::Full;
        };
        let lengths = t.length.is_some() || t.min_length.is_some() || t.max_length.is_some();
        let no_facet = t.patterns.is_empty()
            && t.enumeration.is_none()
            && t.enum_set.is_none()
            && t.min_incl.is_none()
            && t.max_incl.is_none()
            && t.min_excl.is_none()
            && t.max_excl.is_none()
            && t.total_digits.is_none()
            && t.fraction_digits.is_none()
            && t.unsupported.is_none();
        let only_lengths = no_facet && t.special == Special::None;
        let unrestricted = only_lengths && !lengths;
        match t.variety {
            Variety::Atomic(Prim::String | Prim::AnySimple) if unrestricted => CheckKind::Valid,
            Variety::Atomic(Prim::AnyUri) if unrestricted => CheckKind::Uri,
            Variety::Atomic(Prim::Id)
                if no_facet && !lengths && t.special == Special::NcName && t.ws == Ws::Collapse =>
            {
                CheckKind::Id
            }
            Variety::Atomic(Prim::String | Prim::AnySimple)
                if only_lengths && matches!(t.ws, Ws::Preserve | Ws::Replace) =>
            {
                CheckKind::Length
            }
            _ => CheckKind::Full,
        }
    }

    /// Whether a check of type `id` is worth remembering: it costs more than a hash lookup
    /// (patterns, names, lists, unions) and depends on the value alone ([`Self::value_only`]).
    fn memo_worth(&self, id: StId) -> bool {
        let Some(t) = self.types.get(id as usize) else {
            return false;
        };
        let costly = !t.patterns.is_empty()
            || t.special != Special::None
            || !matches!(t.variety, Variety::Atomic(_));
        costly && self.value_only(id, 0)
    }

    /// Whether the check of a value of type `id` depends on the value alone: no QName nor
    /// NOTATION (prefixes in scope), no ID nor IDREF (the document's other values).
    fn value_only(&self, id: StId, depth: u32) -> bool {
        if depth > 32 {
            return false;
        }
        let Some(t) = self.types.get(id as usize) else {
            return false;
        };
        match &t.variety {
            Variety::Atomic(p) => {
                !matches!(p, Prim::QName | Prim::Notation | Prim::Id | Prim::Idref)
            }
            Variety::List(item) => self.value_only(*item, depth + 1),
            Variety::Union(members) => members.iter().all(|&m| self.value_only(m, depth + 1)),
        }
    }

    /// Is `derived` the same as or derived from `base` (restriction chain, list, or union member)?
    pub(crate) fn derives_from(&self, derived: StId, base: StId) -> bool {
        if base == 0 {
            return true;
        }
        let mut cur = Some(derived);
        let mut guard = 0;
        while let Some(c) = cur {
            if c == base {
                return true;
            }
            guard += 1;
            if guard > 1000 {
                return false;
            }
            cur = self.get(c).base;
        }
        if let Variety::Union(members) = &self.get(base).variety {
            return members
                .iter()
                .any(|&m| m != base && self.derives_from(derived, m));
        }
        false
    }

    /// Parses a facet value (enumeration, bounds) in the value space of type `id`.
    pub(crate) fn facet_value(&self, id: StId, lexical_form: &str) -> Option<Value> {
        let t = self.get(id);
        let n = normalize(lexical_form, t.ws);
        match &t.variety {
            Variety::Atomic(p) => lexical(
                *p,
                &n,
                &mut Ctx {
                    ns: None,
                    ids: None,
                },
            )
            .map(|v| match v {
                Value::Lex => Value::Str(n.as_ref().into()),
                v => v,
            }),
            Variety::List(_) => Some(Value::List(
                n.split(' ')
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::Str(s.into()))
                    .collect(),
            )),
            Variety::Union(_) => Some(Value::Str(n.as_ref().into())),
        }
    }

    /// Is the primitive of `id` ordered with values this crate can compare?
    pub(crate) fn comparable(&self, id: StId) -> bool {
        self.get(id).prim().is_some_and(Prim::is_numeric)
    }
}

/// A bound facet, its key, its name, and when a comparison passes.
type BoundCheck<'a> = (
    &'a Option<Bound>,
    &'static str,
    &'static str,
    fn(Ordering) -> bool,
);

/// Checks the lexical form of a primitive; returns the value.
fn lexical(p: Prim, s: &str, ctx: &mut Ctx<'_>) -> Option<Value> {
    let ok = match p {
        Prim::AnySimple | Prim::String => true,
        Prim::Boolean => {
            return matches!(s, "true" | "false" | "1" | "0")
                .then(|| Value::Bool(s == "true" || s == "1"));
        }
        Prim::Decimal => return Decimal::parse(s, false).map(Value::Dec),
        Prim::Integer => return Decimal::parse(s, true).map(Value::Dec),
        Prim::Float | Prim::Double => return parse_double(s).map(Value::Float),
        Prim::Duration => is_duration(s),
        Prim::DateTime => s
            .split_once('T')
            .is_some_and(|(d, t)| date_part(d, 3).is_some_and(|r| r.is_empty()) && time_tz(t)),
        Prim::Date => date_part(s, 3).is_some_and(tz),
        Prim::Time => time_tz(s),
        Prim::GYearMonth => date_part(s, 2).is_some_and(tz),
        Prim::GYear => date_part(s, 1).is_some_and(tz),
        Prim::GMonthDay => s
            .strip_prefix("--")
            .and_then(|r| {
                two(r, 1, 12).and_then(|(m, r)| {
                    r.strip_prefix('-')
                        .and_then(|r| two(r, 1, 31).map(|(d, r)| (m, d, r)))
                })
            })
            .is_some_and(|(m, d, r)| d <= days_in(2000, m) && tz(r)),
        Prim::GDay => s
            .strip_prefix("---")
            .and_then(|r| two(r, 1, 31))
            .is_some_and(|(_, r)| tz(r)),
        Prim::GMonth => s
            .strip_prefix("--")
            .and_then(|r| two(r, 1, 12))
            .is_some_and(|(_, r)| tz(r)),
        Prim::HexBinary => s.len().is_multiple_of(2) && s.bytes().all(|b| b.is_ascii_hexdigit()),
        Prim::Base64Binary => is_base64(s),
        Prim::AnyUri => is_any_uri(s),
        Prim::QName | Prim::Notation => {
            let (prefix, local) = s.split_once(':').unwrap_or(("", s));
            let syntax = is_ncname(local) && (prefix.is_empty() || is_ncname(prefix));
            if syntax
                && !prefix.is_empty()
                && let Some(ns) = ctx.ns
                && ns.resolve(prefix).is_none()
            {
                return None;
            }
            syntax
        }
        Prim::Id | Prim::Idref | Prim::Entity => is_ncname(s),
    };
    ok.then_some(Value::Lex)
}

fn parse_double(s: &str) -> Option<f64> {
    match s {
        "INF" => return Some(f64::INFINITY),
        "-INF" => return Some(f64::NEG_INFINITY),
        "NaN" => return Some(f64::NAN),
        _ => {}
    }
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let ds = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i - ds;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let fs = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        digits += i - fs;
    }
    if digits == 0 {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let es = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == es {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    s.parse().ok()
}

fn two(s: &str, lo: u32, hi: u32) -> Option<(u32, &str)> {
    let b = s.as_bytes();
    if b.len() < 2 || !b[0].is_ascii_digit() || !b[1].is_ascii_digit() {
        return None;
    }
    let v = u32::from(b[0] - b'0') * 10 + u32::from(b[1] - b'0');
    (lo..=hi).contains(&v).then_some((v, &s[2..]))
}

fn days_in(year: i64, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 => {
            if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 {
                29
            } else {
                28
            }
        }
        _ => 31,
    }
}

/// `-?YYYY[-MM[-DD]]` with `parts` components; returns the rest.
fn date_part(s: &str, parts: u32) -> Option<&str> {
    let r = s.strip_prefix('-').unwrap_or(s);
    let ylen = r.bytes().take_while(u8::is_ascii_digit).count();
    if ylen < 4 || (ylen > 4 && r.starts_with('0')) {
        return None;
    }
    let year: i64 = r[..ylen].parse().ok()?;
    if year == 0 {
        return None;
    }
    let mut r = &r[ylen..];
    let mut month = 1;
    if parts >= 2 {
        let (m, rest) = two(r.strip_prefix('-')?, 1, 12)?;
        month = m;
        r = rest;
    }
    if parts >= 3 {
        let (d, rest) = two(r.strip_prefix('-')?, 1, 31)?;
        if d > days_in(year, month) {
            return None;
        }
        r = rest;
    }
    Some(r)
}

fn tz(s: &str) -> bool {
    if s.is_empty() || s == "Z" {
        return true;
    }
    let Some(r) = s.strip_prefix('+').or_else(|| s.strip_prefix('-')) else {
        return false;
    };
    let Some((h, r)) = two(r, 0, 14) else {
        return false;
    };
    let Some((m, r)) = r.strip_prefix(':').and_then(|r| two(r, 0, 59)) else {
        return false;
    };
    r.is_empty() && (h < 14 || m == 0)
}

fn time_tz(s: &str) -> bool {
    let Some((h, r)) = two(s, 0, 24) else {
        return false;
    };
    let Some((m, r)) = r.strip_prefix(':').and_then(|r| two(r, 0, 59)) else {
        return false;
    };
    let Some((sec, mut r)) = r.strip_prefix(':').and_then(|r| two(r, 0, 59)) else {
        return false;
    };
    let mut frac_nonzero = false;
    if let Some(f) = r.strip_prefix('.') {
        let n = f.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        frac_nonzero = f[..n].bytes().any(|b| b != b'0');
        r = &f[n..];
    }
    if h == 24 && (m != 0 || sec != 0 || frac_nonzero) {
        return false;
    }
    tz(r)
}

fn is_duration(s: &str) -> bool {
    let r = s.strip_prefix('-').unwrap_or(s);
    let Some(r) = r.strip_prefix('P') else {
        return false;
    };
    let (date, time) = match r.split_once('T') {
        Some((d, t)) => {
            if t.is_empty() {
                return false;
            }
            (d, Some(t))
        }
        None => (r, None),
    };
    let mut any = false;
    let mut check = |part: &str, units: &[u8], allow_frac_last: bool| -> bool {
        let mut rest = part;
        let mut ui = 0;
        while !rest.is_empty() {
            let n = rest
                .bytes()
                .take_while(|b| b.is_ascii_digit() || *b == b'.')
                .count();
            if n == 0 || n >= rest.len() {
                return false;
            }
            let num = &rest[..n];
            let unit = rest.as_bytes()[n];
            let Some(pos) = units[ui..].iter().position(|&u| u == unit) else {
                return false;
            };
            ui += pos + 1;
            if num.contains('.') {
                let frac_ok = allow_frac_last && unit == b'S';
                let (a, b) = num.split_once('.').unwrap_or((num, ""));
                if !frac_ok || a.is_empty() && b.is_empty() || b.contains('.') {
                    return false;
                }
            }
            any = true;
            rest = &rest[n + 1..];
        }
        true
    };
    if !check(date, b"YMD", false) {
        return false;
    }
    if let Some(t) = time
        && !check(t, b"HMS", true)
    {
        return false;
    }
    any
}

fn b64_val(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'+' || c == b'/'
}

/// XSD base64Binary lexical check as Xerces' `Base64.decode` (whitespace ignored).
fn is_base64(s: &str) -> bool {
    let data: Vec<u8> = s
        .bytes()
        .filter(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .collect();
    if !data.len().is_multiple_of(4) {
        return false;
    }
    if data.is_empty() {
        return true;
    }
    let (body, last) = data.split_at(data.len() - 4);
    if !body.iter().all(|&b| b64_val(b)) {
        return false;
    }
    match last {
        [a, b, c, d] if b64_val(*a) && b64_val(*b) => {
            if b64_val(*c) && b64_val(*d) {
                true
            } else if *c == b'=' && *d == b'=' {
                // the last data char must have its four low bits zero
                b"AQgw".contains(b)
            } else if b64_val(*c) && *d == b'=' {
                b"AEIMQUYcgkosw048".contains(c)
            } else {
                false
            }
        }
        _ => false,
    }
}

fn base64_len(s: &str) -> usize {
    let n = s
        .bytes()
        .filter(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .count();
    let pad = s
        .bytes()
        .rev()
        .filter(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .take(2)
        .filter(|&b| b == b'=')
        .count();
    (n / 4) * 3 - pad.min(n / 4 * 3)
}

/// Xerces escapes spaces and non-ASCII before parsing a URI; what still fails is a bad `%` escape.
fn is_any_uri(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if i + 2 >= b.len() {
                return false;
            }
            if !(b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit()) {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

fn is_name_start(c: char) -> bool {
    matches!(c, ':' | 'A'..='Z' | '_' | 'a'..='z' | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}' | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// [`is_name_char`] for an ASCII byte.
fn is_ascii_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b':' | b'_' | b'-' | b'.')
}

/// [`is_name_start`] for an ASCII byte.
fn is_ascii_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || matches!(b, b':' | b'_')
}

pub(crate) fn is_nmtoken(s: &str) -> bool {
    if s.is_ascii() {
        return !s.is_empty() && s.bytes().all(is_ascii_name_char);
    }
    !s.is_empty() && s.chars().all(is_name_char)
}

pub(crate) fn is_name(s: &str) -> bool {
    if s.is_ascii() {
        let b = s.as_bytes();
        return b.first().is_some_and(|&c| is_ascii_name_start(c))
            && b.iter().all(|&c| is_ascii_name_char(c));
    }
    let mut c = s.chars();
    c.next().is_some_and(is_name_start) && c.all(is_name_char)
}

pub(crate) fn is_ncname(s: &str) -> bool {
    is_name(s) && !s.contains(':')
}

/// Every byte string of up to `max_len` bytes over `alphabet`, shortest first: what the tests
/// of the byte-level shortcuts compare with their definitions.
#[cfg(test)]
pub(crate) fn short_strings(alphabet: &[u8], max_len: u32) -> impl Iterator<Item = Vec<u8>> + '_ {
    let k = alphabet.len();
    (0..=max_len).flat_map(move |len| {
        (0..k.pow(len)).map(move |mut n| {
            let mut b = Vec::with_capacity(len as usize);
            for _ in 0..len {
                b.push(alphabet[n % k]);
                n /= k;
            }
            b
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, v: &str) -> Result<Value, Fault> {
        let mut t = SimpleTypes::default();
        let b = t.builtins();
        t.validate(
            b.by_name[name],
            v,
            &mut Ctx {
                ns: None,
                ids: None,
            },
        )
    }

    #[test]
    fn builtins_lexical() {
        assert!(check("int", "42").is_ok());
        assert!(check("int", " 42 ").is_ok());
        let e = check("int", "3000000000").unwrap_err();
        assert_eq!(
            e.message,
            "cvc-maxInclusive-valid: Value '3000000000' is not facet-valid with respect to maxInclusive '2147483647' for type 'int'."
        );
        let e = check("integer", "1.5").unwrap_err();
        assert_eq!(
            e.message,
            "cvc-datatype-valid.1.2.1: '1.5' is not a valid value for 'integer'."
        );
        assert!(check("decimal", "-0.50").is_ok());
        assert!(check("decimal", ".").is_err());
        assert!(check("double", "1.5E3").is_ok());
        assert!(check("double", "INF").is_ok());
        assert!(check("double", "1.5E").is_err());
        assert!(check("boolean", "1").is_ok());
        assert!(check("boolean", "yes").is_err());
        assert!(check("dateTime", "2024-02-29T12:00:00+01:00").is_ok());
        assert!(check("dateTime", "2023-02-29T12:00:00").is_err());
        assert!(check("date", "2024-01-31Z").is_ok());
        assert!(check("time", "24:00:00").is_ok());
        assert!(check("time", "24:00:01").is_err());
        assert!(check("base64Binary", "QUJD").is_ok());
        assert!(check("base64Binary", "QUJ=").is_err());
        assert!(check("base64Binary", "QUI=").is_ok());
        assert!(check("hexBinary", "0A1f").is_ok());
        assert!(check("hexBinary", "0A1").is_err());
        assert!(check("NCName", "a:b").is_err());
        assert!(check("NMTOKENS", "a b c").is_ok());
        let e = check("NMTOKENS", "  ").unwrap_err();
        assert_eq!(e.code, "cvc-minLength-valid");
        assert!(check("language", "fr-FR").is_ok());
        assert!(check("duration", "P1Y2M3DT4H5M6.5S").is_ok());
        assert!(check("duration", "P").is_err());
        assert!(check("positiveInteger", "0").is_err());
    }

    /// The one-pass collapse check agrees with its definition on every short string of
    /// spaces, tabs, line ends and letters.
    #[test]
    fn collapsed_is_the_definition() {
        let is_ws = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
        for b in short_strings(b" \t\n\ra", 6) {
            let want = !b.first().is_some_and(|&c| is_ws(c))
                && !b.last().is_some_and(|&c| is_ws(c))
                && !b.windows(2).any(|w| is_ws(w[0]) && is_ws(w[1]))
                && !b.iter().any(|&c| matches!(c, b'\t' | b'\n' | b'\r'));
            assert_eq!(segur_xml::space::is_collapsed(&b), want, "{b:?}");
        }
    }

    /// Values are remembered for costly value-only types only; IDs, IDREFs and QNames are
    /// checked every time (they depend on the document), plain strings too (cheaper than a
    /// lookup).
    #[test]
    fn what_is_remembered() {
        let mut t = SimpleTypes::default();
        let b = t.builtins();
        for (name, worth) in [
            ("NCName", true),
            ("NMTOKEN", true),
            ("NMTOKENS", true),
            ("ID", false),
            ("IDREF", false),
            ("IDREFS", false),
            ("QName", false),
            ("NOTATION", false),
            ("string", false),
            ("boolean", false),
        ] {
            assert_eq!(t.memo_worth(b.by_name[name]), worth, "{name}");
        }
        // A second ID is refused even after the first was checked through the memo.
        let mut memo = ValidValues::default();
        let mut ids = IdState::default();
        let id = b.by_name["ID"];
        let mut ctx = Ctx {
            ns: None,
            ids: Some(&mut ids),
        };
        assert!(memo.check(&t, id, "a1", &mut ctx).is_ok());
        let e = memo.check(&t, id, "a1", &mut ctx).unwrap_err();
        assert_eq!(e.code, "cvc-id.2");
        // A remembered valid value passes; an invalid one fails each time, with its message.
        let nc = b.by_name["NCName"];
        for _ in 0..2 {
            assert!(memo.check(&t, nc, "ok", &mut ctx).is_ok());
            let e = memo.check(&t, nc, "1bad", &mut ctx).unwrap_err();
            assert_eq!(
                e.message,
                "cvc-datatype-valid.1.2.1: '1bad' is not a valid value for 'NCName'."
            );
        }
    }

    #[test]
    fn ids() {
        let mut t = SimpleTypes::default();
        let b = t.builtins();
        let mut ids = IdState::default();
        let id = b.by_name["ID"];
        assert!(
            t.validate(
                id,
                "a1",
                &mut Ctx {
                    ns: None,
                    ids: Some(&mut ids)
                }
            )
            .is_ok()
        );
        let e = t
            .validate(
                id,
                "a1",
                &mut Ctx {
                    ns: None,
                    ids: Some(&mut ids),
                },
            )
            .unwrap_err();
        assert_eq!(
            e.message,
            "cvc-id.2: There are multiple occurrences of ID value 'a1'."
        );
        assert!(
            t.validate(
                b.by_name["IDREFS"],
                "a1 b2",
                &mut Ctx {
                    ns: None,
                    ids: Some(&mut ids)
                }
            )
            .is_ok()
        );
        assert_eq!(ids.idrefs.len(), 2);
    }

    /// A length accepted from the byte count alone is accepted by the character count: every
    /// combination of length facets up to 5, on every string of up to 6 characters of 1 to 4
    /// bytes each.
    #[test]
    fn lengths_from_bytes_are_lengths() {
        let symbols = ["a", "\u{e9}", "\u{20ac}", "\u{1f600}"];
        let mut strings = vec![String::new()];
        let mut last = strings.clone();
        for _ in 0..6 {
            last = last
                .iter()
                .flat_map(|s| symbols.iter().map(move |c| format!("{s}{c}")))
                .collect();
            strings.extend(last.iter().cloned());
        }
        let facet = [None, Some(0), Some(1), Some(2), Some(3), Some(5)];
        let mut shortcut = 0;
        for length in facet {
            for min_length in facet {
                for max_length in facet {
                    let mut t =
                        SimpleType::new("s", None, Variety::Atomic(Prim::String), Ws::Preserve);
                    (t.length, t.min_length, t.max_length) = (length, min_length, max_length);
                    for s in &strings {
                        if t.length_ok_for_bytes(s.len()) {
                            assert!(
                                t.length_ok(s.chars().count()),
                                "{s:?} {length:?} {min_length:?} {max_length:?}"
                            );
                            shortcut += 1;
                        }
                    }
                }
            }
        }
        assert!(shortcut > 10_000, "{shortcut}");
    }

    /// Every byte of a value decides its memo slot (a change of any one byte moves it, for
    /// every length up to 70 and every position), as do the type and the length; and OIDs or
    /// short codes spread over the slots about as random slots would.
    #[test]
    fn memo_slots_depend_on_every_byte() {
        for n in 0..=70usize {
            let base: Vec<u8> = (0..n).map(|i| b"1.2.250.1.213"[i % 13]).collect();
            let slot = memo_slot(7, &base);
            assert_ne!(slot, memo_slot(8, &base), "type, length {n}");
            let mut longer = base.clone();
            longer.push(0);
            assert_ne!(slot, memo_slot(7, &longer), "length {n}");
            for i in 0..n {
                let moved = (b'0'..=b'9')
                    .chain(*b".-xZ")
                    .filter(|&c| c != base[i])
                    .filter(|&c| {
                        let mut v = base.clone();
                        v[i] = c;
                        memo_slot(7, &v) != slot
                    })
                    .count();
                assert!(moved >= 12, "length {n}, byte {i}: {moved} of 13 moved");
            }
        }
        let spread = |values: Vec<String>| {
            let n = values.len() as f64;
            let m = MEMO_SLOTS as f64;
            let slots: std::collections::HashSet<usize> =
                values.iter().map(|v| memo_slot(3, v.as_bytes())).collect();
            let random = m * (1.0 - (-n / m).exp());
            assert!(
                slots.len() as f64 > 0.97 * random,
                "{} slots for {n} values, {random:.0} expected",
                slots.len()
            );
        };
        spread(
            (0..10_000)
                .map(|i| format!("1.2.250.1.213.1.4.{i}"))
                .collect(),
        );
        spread((0..10_000).map(|i| format!("{i:x}")).collect());
        spread(
            (0..10_000)
                .map(|i| format!("{}.{}", i % 97, i / 97))
                .collect(),
        );
    }

    /// Checked through [`ValidValues`] (shortcuts and memo) and in full, `values` give the same
    /// results and messages for every type of `types`; returns how many values took a shortcut.
    fn shortcuts_agree(types: &SimpleTypes, values: &[String]) -> usize {
        let mut memo = ValidValues::default();
        let (mut ids_a, mut ids_b) = (IdState::default(), IdState::default());
        let mut shortcuts = 0;
        for id in 0..types.types.len() as StId {
            let kind = memo.kind(types, id);
            if matches!(
                kind,
                CheckKind::Valid | CheckKind::Uri | CheckKind::Length | CheckKind::Id
            ) {
                shortcuts += 1;
            }
            for round in 0..2 {
                for v in values {
                    let got = memo.check(
                        types,
                        id,
                        v,
                        &mut Ctx {
                            ns: None,
                            ids: Some(&mut ids_a),
                        },
                    );
                    let want = types.validate(
                        id,
                        v,
                        &mut Ctx {
                            ns: None,
                            ids: Some(&mut ids_b),
                        },
                    );
                    let name = &types.get(id).name;
                    match (got, want) {
                        (Ok(()), Ok(_)) => {}
                        (Err(a), Err(b)) => assert_eq!(
                            (a.code, a.message),
                            (b.code, b.message),
                            "{name} {kind:?} {v:?} round {round}"
                        ),
                        (a, b) => panic!("{name} {kind:?} {v:?}: {a:?} against {b:?}"),
                    }
                }
            }
            // The IDs added are the same too (the second round found them all again).
            assert_eq!(ids_a.ids, ids_b.ids, "{}", types.get(id).name);
        }
        shortcuts
    }

    /// Values that a shortcut could get wrong: escapes, whitespace, empty, long, non-ASCII.
    fn tricky_values() -> Vec<String> {
        let mut v: Vec<String> = [
            "",
            " ",
            "\t",
            "a",
            "ab",
            "é\u{10000}",
            "a\tb\n",
            " a ",
            "a  b",
            "a\tb",
            "\na\r",
            "%",
            "%4",
            "%41",
            "%4g",
            "a%20b",
            "a %41",
            "% 41",
            "%\t41",
            "%A\n",
            " %41 ",
            "http://x.y/a?b=c#d",
            "tel:+33-1-2",
            "mailto:a@b.c",
            "urn:oid:1.2.250.1",
            "1.2.250.1.213",
            "1..2",
            "20240229",
            "2024-13-45",
            "true",
            "false",
            "1",
            "0",
            "-0.50",
            "INF",
            "NaN",
            "1E3",
            "x:y",
            ":y",
            "é",
            "ÉLÉ%C3%A9",
            "\u{10000}",
            "EVN",
            "DOCCLIN",
            "a b c",
            "P1Y",
            "QUJD",
            "0A1f",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.push("x".repeat(70));
        v.push(format!("{}%zz", "y".repeat(70)));
        v
    }

    /// The built-in types, and restrictions of string and anyURI with facets (which take no
    /// shortcut), agree with the full check.
    #[test]
    fn shortcuts_agree_on_builtins() {
        let mut t = SimpleTypes::default();
        let b = t.builtins();
        for base in ["string", "anyURI", "token", "normalizedString"] {
            let id = b.by_name[base];
            let mut d = SimpleType::derive("restricted", id, t.get(id));
            d.max_length = Some(3);
            t.push(d);
            let mut d = SimpleType::derive("non-empty", id, t.get(id));
            d.min_length = Some(1);
            t.push(d);
            let mut d = SimpleType::derive("two", id, t.get(id));
            d.length = Some(2);
            t.push(d);
            let mut d = SimpleType::derive("two to four", id, t.get(id));
            (d.min_length, d.max_length) = (Some(2), Some(4));
            t.push(d);
            let mut d = SimpleType::derive("enumerated", id, t.get(id));
            d.enumeration = Some(std::sync::Arc::new(vec![(
                Value::Str("a".into()),
                "a".into(),
            )]));
            t.push(d);
        }
        // IDs: the shortcut for the built-in one, the full check for a restricted one.
        let id = b.by_name["ID"];
        let mut d = SimpleType::derive("short ID", id, t.get(id));
        d.max_length = Some(2);
        let short = t.push(d);
        assert_eq!(ValidValues::default().kind(&t, id), CheckKind::Id);
        assert_eq!(ValidValues::default().kind(&t, short), CheckKind::Full);
        let mut values = tricky_values();
        values.extend(
            ["id1", " id2 ", "id1", "x:y", "1a", "\u{e9}t\u{e9}", "a\tb"].map(String::from),
        );
        let n = shortcuts_agree(&t, &values);
        assert!(
            n >= 13,
            "unrestricted and length-only strings, anyURI, ID: {n}"
        );
    }

    /// Every simple type of the ANS CDA schema agrees with the full check on the attribute
    /// values of the 94 examples and on tricky values.
    #[test]
    fn shortcuts_agree_on_the_cda_schema() {
        let ans = match std::env::var_os("SEGUR_ANS_DIR") {
            Some(d) => std::path::PathBuf::from(d),
            None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ans"),
        };
        let schema =
            crate::Schema::load(&ans.join("testcontenucda/infrastructure/cda/CDA_extended.xsd"))
                .expect("the ANS kit's CDA schema loads");
        let mut values: std::collections::BTreeSet<String> = tricky_values().into_iter().collect();
        let dir = ans.join("testcontenucda/ExemplesCDA");
        for e in std::fs::read_dir(&dir).expect("examples") {
            let text = std::fs::read_to_string(e.expect("entry").path()).unwrap_or_default();
            for part in text.split("=\"").skip(1) {
                if let Some(end) = part.find('"') {
                    values.insert(part[..end].to_string());
                }
            }
        }
        assert!(values.len() > 2000, "{}", values.len());
        // A sample keeps the test short: every 7th value, and all that have a `%`.
        let sample: Vec<String> = values
            .iter()
            .enumerate()
            .filter(|(i, v)| i % 7 == 0 || v.contains('%') || v.len() > MEMO_VALUE_LEN)
            .map(|(_, v)| v.clone())
            .collect();
        let n = shortcuts_agree(&schema.simple, &sample);
        assert!(
            n >= 5,
            "the CDA schema's unrestricted strings and URIs: {n}"
        );
        // The data types most values have are checked without the regex engine.
        for name in ["oid", "uuid", "ruid", "ts", "cs", "bl"] {
            let t = schema.simple.types.iter().find(|t| &*t.name == name);
            let t = t.unwrap_or_else(|| panic!("type {name}"));
            assert!(
                !t.patterns.is_empty() && t.patterns.iter().all(|p| p.direct.is_some()),
                "{name}"
            );
        }
    }

    /// Each direct pattern check gives its compiled regular expression's answer on every
    /// string of up to 5 characters over an alphabet of digits, separators, letters, spaces
    /// and non-ASCII, and on the valid values of the corpus changed, cut and lengthened.
    #[test]
    fn direct_patterns_are_the_regexes() {
        use segur_xml::xsregex::{Dialect, translate};
        let srcs = [
            r"[0-2](\.(0|[1-9][0-9]*))*",
            r"[0-9a-zA-Z]{8}-[0-9a-zA-Z]{4}-[0-9a-zA-Z]{4}-[0-9a-zA-Z]{4}-[0-9a-zA-Z]{12}",
            r"[A-Za-z][A-Za-z0-9\-]*",
            r"[0-9]{1,8}|([0-9]{9,14}|[0-9]{14,14}\.[0-9]+)([+\-][0-9]{1,4})?",
            r"[^\s]+",
            "true|false",
            r"[\-+]?[0-9]+",
            ".+",
        ];
        let seeds = [
            "1.2.250.1.213.1.4.10",
            "0.0.10.2",
            "2.16.840.1.113883.6.1",
            "6f1c4a9e-0b7d-4c2a-9e3f-1a2b3c4d5e6f",
            "ZZ-ruid-9",
            "20240229",
            "20240229123000",
            "20240229123000+0100",
            "20240229123000.1234-05",
            "202402291230-1",
            "true",
            "false",
            "-42",
            "+7",
            "EVN",
        ];
        let alphabet = [
            "0", "1", "2", "3", "9", ".", "-", "+", "a", "Z", " ", "\t", "\n", "\r", "é", "\u{a0}",
        ];
        let mut values: Vec<String> = vec![String::new()];
        let mut layer = vec![String::new()];
        for _ in 0..4 {
            let next: Vec<String> = layer
                .iter()
                .flat_map(|v| alphabet.iter().map(move |c| format!("{v}{c}")))
                .collect();
            values.extend(next.iter().cloned());
            layer = next;
        }
        for seed in seeds {
            let chars: Vec<char> = seed.chars().collect();
            values.push(seed.to_string());
            for i in 0..=chars.len() {
                let (a, b) = (chars[..i].iter().collect::<String>(), &chars[i..]);
                let b_all: String = b.iter().collect();
                let b_tail: String = b.iter().skip(1).collect();
                values.push(format!("{a}{b_tail}"));
                values.push(format!("{a}{b_all}{b_all}"));
                for c in alphabet {
                    values.push(format!("{a}{c}{b_all}"));
                    values.push(format!("{a}{c}{b_tail}"));
                }
            }
        }
        for src in srcs {
            let direct = direct_pattern(src).expect("a direct check");
            let re = Regex::new(&translate(src, Dialect::Schema).expect("translates"))
                .expect("compiles");
            let mut matched = 0;
            for v in &values {
                assert_eq!(direct(v), re.is_match(v), "{src} on {v:?}");
                matched += usize::from(re.is_match(v));
            }
            assert!(matched > 0, "{src} matches some values");
        }
        assert!(direct_pattern("[a-z]+").is_none());
    }

    /// The ASCII shortcuts of the name checks agree with the character classes on every
    /// string of up to 4 characters over letters, digits, name punctuation, other ASCII and
    /// non-ASCII name and non-name characters.
    #[test]
    fn ascii_names_are_the_definition() {
        let alphabet = [
            'a',
            'Z',
            '0',
            ':',
            '_',
            '-',
            '.',
            ' ',
            '/',
            '\u{7f}',
            '\u{b7}',
            'é',
            '\u{37e}',
            '\u{10000}',
        ];
        let mut layer = vec![String::new()];
        let mut n = 0;
        for _ in 0..4 {
            let mut next = Vec::new();
            for v in &layer {
                for c in alphabet {
                    let s = format!("{v}{c}");
                    let mut chars = s.chars();
                    let name = chars.next().is_some_and(is_name_start) && chars.all(is_name_char);
                    assert_eq!(is_name(&s), name, "{s:?}");
                    assert_eq!(is_nmtoken(&s), s.chars().all(is_name_char), "{s:?}");
                    n += usize::from(name);
                    next.push(s);
                }
            }
            layer = next;
        }
        assert!(n > 1000);
        assert!(!is_name("") && !is_nmtoken(""));
    }

    #[test]
    fn decimal_order() {
        let d = |s| Decimal::parse(s, false).unwrap();
        assert!(d("-1") < d("0"));
        assert!(d("0.5") < d("1"));
        assert!(d("10") > d("9.99"));
        assert_eq!(d("-0"), d("0.000"));
        assert!(d("-2") < d("-1.5"));
    }
}
