//! A binary image of a compiled [`Schema`] ([`Schema::encode`], [`Schema::decode`]): reading the
//! image back takes a fraction of what reading and compiling the schema files takes, so a
//! caller can keep it on disk between processes.
//!
//! Layout (little-endian): magic, [`IMAGE_FORMAT`], [`MODEL_FINGERPRINT`], the size of every
//! table, the tables (names, unsupported constructs, patterns, enumerations, enumeration sets,
//! wildcards, simple types, element declarations, complex types, automata, global
//! components), then a checksum of everything before it. Counts and lengths are `u32`; ids are
//! written as they are. Patterns, enumerations and enumeration sets shared by several types
//! are written once and shared again on reading; a pattern's regular expression is compiled
//! again from its translated form.
//!
//! Decoding checks the checksum first, then every id against the table it points into, every
//! automaton's transitions against its states, and that list items and union members come
//! before the type that uses them: a truncated, damaged or inconsistent image is an error,
//! never a panic, nor a schema the validator could index out of range. No count is believed
//! beyond the bytes left, so a damaged one cannot make decoding allocate more than the image's
//! size.

use std::path::PathBuf;
use std::sync::Arc;

use regex::RegexBuilder;
use segur_xml::hash::{Checksum, FNV1A_START, FxMap, FxSet, fnv1a};

use crate::error::{DecodeError, EncodeError};
use crate::model::*;
use crate::names::Names;
use crate::schema::{Schema, Unsupported};
use crate::simple::{
    Bound, Decimal, Enumeration, Pattern, Prim, SimpleType, SimpleTypes, Special, Value, Variety,
    Ws,
};

/// Bumped whenever the layout of an image changes: an image of another format is refused.
pub const IMAGE_FORMAT: u32 = 1;

/// A fingerprint of the source that decides what a compiled schema holds (the loader, the
/// model, the simple types, this encoding, and the pattern translator), computed at compile
/// time: an image written by a build that compiles differently is refused, and a cache keyed
/// with it is never read by such a build.
pub const MODEL_FINGERPRINT: u64 = {
    let mut h = fnv1a(FNV1A_START, include_bytes!("schema.rs"));
    h = fnv1a(h, include_bytes!("model.rs"));
    h = fnv1a(h, include_bytes!("simple.rs"));
    h = fnv1a(h, include_bytes!("names.rs"));
    h = fnv1a(h, include_bytes!("xsdoc.rs"));
    h = fnv1a(h, include_bytes!("image.rs"));
    fnv1a(h, &segur_xml::xsregex::TRANSLATOR_FINGERPRINT.to_le_bytes())
};

const MAGIC: &[u8; 8] = b"SEGURXSD";

/// The regular expression size limit the loader compiles patterns with.
const REGEX_SIZE_LIMIT: usize = 64 << 20;

/// Deepest nesting of particles and list values an image may hold.
const MAX_DEPTH: u32 = 256;

const PRIMS: [Prim; 24] = [
    Prim::AnySimple,
    Prim::String,
    Prim::Boolean,
    Prim::Decimal,
    Prim::Integer,
    Prim::Float,
    Prim::Double,
    Prim::Duration,
    Prim::DateTime,
    Prim::Time,
    Prim::Date,
    Prim::GYearMonth,
    Prim::GYear,
    Prim::GMonthDay,
    Prim::GDay,
    Prim::GMonth,
    Prim::HexBinary,
    Prim::Base64Binary,
    Prim::AnyUri,
    Prim::QName,
    Prim::Notation,
    Prim::Id,
    Prim::Idref,
    Prim::Entity,
];

impl Schema {
    /// The schema's binary image (see [`Schema::decode`]); the format is private to one build
    /// of this crate ([`MODEL_FINGERPRINT`]).
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut w = Writer::new(self);
        w.schema(self)?;
        let mut sum = Checksum::new();
        sum.update(&w.out);
        let total = sum.finish();
        w.out.extend_from_slice(&total.to_le_bytes());
        Ok(w.out)
    }

    /// The schema an image from [`Schema::encode`] holds; it validates exactly as the schema
    /// that was encoded. A truncated, damaged or inconsistent image, or one written by another
    /// build, is an error.
    pub fn decode(bytes: &[u8]) -> Result<Schema, DecodeError> {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(DecodeError::NotAnImage);
        }
        let header = MAGIC.len() + 4 + 8;
        if bytes.len() < header + 8 {
            return Err(DecodeError::Damaged);
        }
        let format = u32::from_le_bytes(bytes[8..12].try_into().map_err(|_| DecodeError::Damaged)?);
        let build = u64::from_le_bytes(bytes[12..20].try_into().map_err(|_| DecodeError::Damaged)?);
        if format != IMAGE_FORMAT || build != MODEL_FINGERPRINT {
            return Err(DecodeError::OtherBuild);
        }
        let (body, sum) = bytes.split_at(bytes.len() - 8);
        let mut check = Checksum::new();
        check.update(body);
        if u64::from_le_bytes(sum.try_into().map_err(|_| DecodeError::Damaged)?) != check.finish() {
            return Err(DecodeError::Damaged);
        }
        let mut r = Reader { b: &body[header..] };
        let schema = r.schema()?;
        if !r.b.is_empty() {
            return Err(bad("bytes after the last table"));
        }
        Ok(schema)
    }
}

fn bad(what: &'static str) -> DecodeError {
    DecodeError::Inconsistent { what }
}

type Enc = Result<(), EncodeError>;

/// Identity of a shared (`Arc`) part, to write it once.
fn key<T: ?Sized>(a: &Arc<T>) -> usize {
    Arc::as_ptr(a).cast::<()>() as usize
}

/// The shared parts of the simple types, each once, in order of first use.
struct Shared<'s> {
    patterns: Vec<&'s Pattern>,
    pattern_ids: FxMap<usize, u32>,
    enums: Vec<&'s [(Value, Box<str>)]>,
    enum_ids: FxMap<usize, u32>,
    sets: Vec<&'s FxSet<Box<str>>>,
    set_ids: FxMap<usize, u32>,
}

impl<'s> Shared<'s> {
    fn of(simple: &'s SimpleTypes) -> Shared<'s> {
        let mut s = Shared {
            patterns: Vec::new(),
            pattern_ids: FxMap::default(),
            enums: Vec::new(),
            enum_ids: FxMap::default(),
            sets: Vec::new(),
            set_ids: FxMap::default(),
        };
        for t in &simple.types {
            for p in &t.patterns {
                let next = s.patterns.len() as u32;
                s.pattern_ids.entry(key(p)).or_insert_with(|| {
                    s.patterns.push(p);
                    next
                });
            }
            if let Some(e) = &t.enumeration {
                let next = s.enums.len() as u32;
                s.enum_ids.entry(key(e)).or_insert_with(|| {
                    s.enums.push(e);
                    next
                });
            }
            if let Some(set) = &t.enum_set {
                let next = s.sets.len() as u32;
                s.set_ids.entry(key(set)).or_insert_with(|| {
                    s.sets.push(set);
                    next
                });
            }
        }
        s
    }
}

struct Writer<'s> {
    out: Vec<u8>,
    shared: Shared<'s>,
}

impl<'s> Writer<'s> {
    fn new(s: &'s Schema) -> Writer<'s> {
        Writer {
            out: Vec::with_capacity(1 << 20),
            shared: Shared::of(&s.simple),
        }
    }

    fn u8(&mut self, v: u8) {
        self.out.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }
    fn bool(&mut self, b: bool) {
        self.out.push(u8::from(b));
    }
    fn len(&mut self, n: usize, what: &'static str) -> Enc {
        let n = u32::try_from(n).map_err(|_| EncodeError::TooLarge { what })?;
        self.u32(n);
        Ok(())
    }
    fn str(&mut self, s: &str) -> Enc {
        self.len(s.len(), "a string")?;
        self.out.extend_from_slice(s.as_bytes());
        Ok(())
    }
    fn opt_u32(&mut self, v: Option<u32>) {
        match v {
            Some(v) => {
                self.u8(1);
                self.u32(v);
            }
            None => self.u8(0),
        }
    }
    fn opt_usize(&mut self, v: Option<usize>) {
        match v {
            Some(v) => {
                self.u8(1);
                self.u64(v as u64);
            }
            None => self.u8(0),
        }
    }
    fn ids(&mut self, ids: &[u32], what: &'static str) -> Enc {
        self.len(ids.len(), what)?;
        for &i in ids {
            self.u32(i);
        }
        Ok(())
    }

    fn value(&mut self, v: &Value) -> Enc {
        match v {
            Value::Lex => self.u8(0),
            Value::Str(s) => {
                self.u8(1);
                self.str(s)?;
            }
            Value::Dec(d) => {
                self.u8(2);
                self.bool(d.neg);
                self.str(&d.int)?;
                self.str(&d.frac)?;
            }
            Value::Float(f) => {
                self.u8(3);
                self.u64(f.to_bits());
            }
            Value::Bool(b) => {
                self.u8(4);
                self.bool(*b);
            }
            Value::List(items) => {
                self.u8(5);
                self.len(items.len(), "a list value")?;
                for i in items {
                    self.value(i)?;
                }
            }
        }
        Ok(())
    }

    fn fixed(&mut self, f: Option<&(Value, Box<str>)>) -> Enc {
        match f {
            Some((v, s)) => {
                self.u8(1);
                self.value(v)?;
                self.str(s)
            }
            None => {
                self.u8(0);
                Ok(())
            }
        }
    }

    fn bound(&mut self, b: Option<&Bound>) -> Enc {
        match b {
            Some(b) => {
                self.u8(1);
                self.value(&b.value)?;
                self.str(&b.text)
            }
            None => {
                self.u8(0);
                Ok(())
            }
        }
    }

    fn type_ref(&mut self, t: TypeRef) {
        match t {
            TypeRef::Simple(s) => {
                self.u8(0);
                self.u32(s);
            }
            TypeRef::Complex(c) => {
                self.u8(1);
                self.u32(c);
            }
        }
    }

    fn attr_use(&mut self, a: &AttrUse) -> Enc {
        self.u32(a.name);
        self.u32(a.ty);
        self.bool(a.required);
        self.fixed(a.decl_fixed.as_ref())?;
        self.fixed(a.use_fixed.as_ref())
    }

    fn particle(&mut self, p: &Particle) -> Enc {
        self.u32(p.min);
        self.opt_u32(p.max);
        match &p.term {
            Term::Elem(e) => {
                self.u8(0);
                self.u32(*e);
            }
            Term::Wild(w) => {
                self.u8(1);
                self.u32(*w);
            }
            Term::Seq(ps) | Term::Choice(ps) | Term::All(ps) => {
                self.u8(match &p.term {
                    Term::Seq(_) => 2,
                    Term::Choice(_) => 3,
                    _ => 4,
                });
                self.len(ps.len(), "a model group")?;
                for p in ps {
                    self.particle(p)?;
                }
            }
            Term::Unsupported(u) => {
                self.u8(5);
                self.u32(*u);
            }
        }
        Ok(())
    }

    fn simple_type(&mut self, t: &SimpleType) -> Enc {
        self.str(&t.name)?;
        self.opt_u32(t.qname);
        self.opt_u32(t.base);
        match &t.variety {
            Variety::Atomic(p) => {
                self.u8(0);
                let code = PRIMS.iter().position(|x| x == p).unwrap_or(0);
                self.u8(code as u8);
            }
            Variety::List(item) => {
                self.u8(1);
                self.u32(*item);
            }
            Variety::Union(members) => {
                self.u8(2);
                self.ids(members, "a union")?;
            }
        }
        self.u8(match t.ws {
            Ws::Preserve => 0,
            Ws::Replace => 1,
            Ws::Collapse => 2,
        });
        self.u8(match t.special {
            Special::None => 0,
            Special::Nmtoken => 1,
            Special::Name => 2,
            Special::NcName => 3,
        });
        self.len(t.patterns.len(), "patterns")?;
        for p in &t.patterns {
            let id = self.shared.pattern_ids[&key(p)];
            self.u32(id);
        }
        let e = t
            .enumeration
            .as_ref()
            .map(|e| self.shared.enum_ids[&key(e)]);
        self.opt_u32(e);
        let s = t.enum_set.as_ref().map(|s| self.shared.set_ids[&key(s)]);
        self.opt_u32(s);
        self.opt_usize(t.length);
        self.opt_usize(t.min_length);
        self.opt_usize(t.max_length);
        self.bound(t.min_incl.as_ref())?;
        self.bound(t.max_incl.as_ref())?;
        self.bound(t.min_excl.as_ref())?;
        self.bound(t.max_excl.as_ref())?;
        self.opt_usize(t.total_digits);
        self.opt_usize(t.fraction_digits);
        self.opt_u32(t.unsupported);
        Ok(())
    }

    fn complex_type(&mut self, c: &ComplexType) -> Enc {
        self.str(&c.name)?;
        self.type_ref(c.base);
        self.u8(c.derivation);
        self.bool(c.abstract_);
        self.u8(c.block);
        match c.content {
            Content::Empty => self.u8(0),
            Content::Simple(s) => {
                self.u8(1);
                self.u32(s);
            }
            Content::Element(m) => {
                self.u8(2);
                self.u32(m);
            }
            Content::Mixed(m) => {
                self.u8(3);
                self.u32(m);
            }
        }
        match &c.particle {
            Some(p) => {
                self.u8(1);
                self.particle(p)?;
            }
            None => self.u8(0),
        }
        self.bool(c.mixed);
        self.len(c.attrs.len(), "attribute uses")?;
        for a in &c.attrs {
            self.attr_use(a)?;
        }
        self.opt_u32(c.attr_wildcard);
        Ok(())
    }

    fn elem(&mut self, e: &ElemDecl) -> Enc {
        self.u32(e.name);
        self.type_ref(e.ty);
        self.bool(e.nillable);
        self.bool(e.abstract_);
        match &e.value {
            Some((fixed, v)) => {
                self.u8(1);
                self.bool(*fixed);
                self.str(v)?;
            }
            None => self.u8(0),
        }
        self.u8(e.block);
        self.ids(&e.substitutes, "substitutes")?;
        self.opt_u32(e.subst_head);
        Ok(())
    }

    fn wildcard(&mut self, w: &Wildcard) -> Enc {
        match &w.ns {
            NsConstraint::Any => self.u8(0),
            NsConstraint::Not(list) => {
                self.u8(1);
                self.ids(list, "a wildcard")?;
            }
            NsConstraint::List(list) => {
                self.u8(2);
                self.ids(list, "a wildcard")?;
            }
        }
        self.u8(match w.pc {
            ProcessContents::Skip => 0,
            ProcessContents::Lax => 1,
            ProcessContents::Strict => 2,
        });
        self.str(&w.display)
    }

    fn cm(&mut self, cm: &Cm) -> Enc {
        self.len(cm.syms.len(), "an element map")?;
        for s in &cm.syms {
            match *s {
                Sym::Elem(e) => {
                    self.u8(0);
                    self.u32(e);
                }
                Sym::Wild(w) => {
                    self.u8(1);
                    self.u32(w);
                }
                Sym::Unsupported(u) => {
                    self.u8(2);
                    self.u32(u);
                }
            }
        }
        self.len(cm.accept.len(), "an automaton")?;
        for &a in &cm.accept {
            self.bool(a);
        }
        self.ids(&cm.trans, "an automaton")?;
        self.len(cm.by_name.len(), "an automaton")?;
        for &(q, sym, e) in &cm.by_name {
            self.u32(q);
            self.u32(u32::from(sym));
            self.u32(e);
        }
        self.len(cm.wild_syms.len(), "an automaton")?;
        for &w in &cm.wild_syms {
            self.u32(u32::from(w));
        }
        Ok(())
    }

    fn schema(&mut self, s: &Schema) -> Enc {
        self.out.extend_from_slice(MAGIC);
        self.u32(IMAGE_FORMAT);
        self.u64(MODEL_FINGERPRINT);
        let (ns, q) = s.names.parts();
        let sizes = [
            (ns.len(), "namespaces"),
            (q.len(), "names"),
            (s.unsupported.len(), "unsupported constructs"),
            (self.shared.patterns.len(), "patterns"),
            (self.shared.enums.len(), "enumerations"),
            (self.shared.sets.len(), "enumeration sets"),
            (s.wilds.len(), "wildcards"),
            (s.simple.types.len(), "simple types"),
            (s.elems.len(), "element declarations"),
            (s.complex.len(), "complex types"),
            (s.cms.len(), "content models"),
            (s.global_elems.len(), "global elements"),
            (s.global_attrs.len(), "global attributes"),
            (s.global_types.len(), "global types"),
        ];
        for (n, what) in sizes {
            self.len(n, what)?;
        }
        for uri in ns {
            self.str(uri)?;
        }
        for (n, local) in q {
            self.u32(*n);
            self.str(local)?;
        }
        for u in &s.unsupported {
            let file = u.file.to_str().ok_or_else(|| EncodeError::PathNotUtf8 {
                path: u.file.clone(),
            })?;
            self.str(file)?;
            self.u32(u.line);
            self.str(&u.construct)?;
        }
        for i in 0..self.shared.patterns.len() {
            let p = self.shared.patterns[i];
            self.str(&p.src)?;
            self.str(p.re.as_str())?;
        }
        for i in 0..self.shared.enums.len() {
            let e = self.shared.enums[i];
            self.len(e.len(), "an enumeration")?;
            for (v, lexical) in e {
                self.value(v)?;
                self.str(lexical)?;
            }
        }
        for i in 0..self.shared.sets.len() {
            let set = self.shared.sets[i];
            self.len(set.len(), "an enumeration")?;
            for v in set {
                self.str(v)?;
            }
        }
        for w in &s.wilds {
            self.wildcard(w)?;
        }
        for t in &s.simple.types {
            self.simple_type(t)?;
        }
        for e in &s.elems {
            self.elem(e)?;
        }
        for c in &s.complex {
            self.complex_type(c)?;
        }
        for cm in &s.cms {
            self.cm(cm)?;
        }
        for (&q, &e) in &s.global_elems {
            self.u32(q);
            self.u32(e);
        }
        for (&q, a) in &s.global_attrs {
            self.u32(q);
            self.attr_use(a)?;
        }
        for (&q, &t) in &s.global_types {
            self.u32(q);
            self.type_ref(t);
        }
        Ok(())
    }
}

type Dec<T> = Result<T, DecodeError>;

/// Table sizes, to check ids against.
#[derive(Clone, Copy)]
struct Sizes {
    ns: usize,
    q: usize,
    patterns: usize,
    enums: usize,
    sets: usize,
    wilds: usize,
    simple: usize,
    elems: usize,
    complex: usize,
    cms: usize,
}

struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Dec<&'a [u8]> {
        if n > self.b.len() {
            return Err(bad("a table ends early"));
        }
        let (head, rest) = self.b.split_at(n);
        self.b = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Dec<u8> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Dec<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Dec<u64> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes([
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
        ]))
    }
    fn bool(&mut self) -> Dec<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(bad("a flag is neither 0 nor 1")),
        }
    }
    /// A count of items that take at least `item_bytes` bytes each.
    fn count(&mut self, item_bytes: usize) -> Dec<usize> {
        let n = self.u32()? as usize;
        if n.saturating_mul(item_bytes.max(1)) > self.b.len() {
            return Err(bad("a count exceeds the bytes left"));
        }
        Ok(n)
    }
    fn str(&mut self) -> Dec<&'a str> {
        let n = self.u32()? as usize;
        std::str::from_utf8(self.take(n)?).map_err(|_| bad("a string is not UTF-8"))
    }
    fn boxed(&mut self) -> Dec<Box<str>> {
        self.str().map(Box::from)
    }
    /// An id below `limit`.
    fn id(&mut self, limit: usize) -> Dec<u32> {
        let v = self.u32()?;
        if (v as usize) < limit {
            Ok(v)
        } else {
            Err(bad("an id is out of range"))
        }
    }
    fn opt<T>(&mut self, f: impl FnOnce(&mut Self) -> Dec<T>) -> Dec<Option<T>> {
        if self.bool()? {
            f(self).map(Some)
        } else {
            Ok(None)
        }
    }
    fn opt_id(&mut self, limit: usize) -> Dec<Option<u32>> {
        self.opt(|r| r.id(limit))
    }
    fn opt_usize(&mut self) -> Dec<Option<usize>> {
        self.opt(|r| usize::try_from(r.u64()?).map_err(|_| bad("a length is too large")))
    }
    fn ids(&mut self, limit: usize) -> Dec<Vec<u32>> {
        let n = self.count(4)?;
        (0..n).map(|_| self.id(limit)).collect()
    }
    fn vec<T>(&mut self, item_bytes: usize, mut f: impl FnMut(&mut Self) -> Dec<T>) -> Dec<Vec<T>> {
        let n = self.count(item_bytes)?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(f(self)?);
        }
        Ok(v)
    }

    fn value(&mut self, depth: u32) -> Dec<Value> {
        if depth > MAX_DEPTH {
            return Err(bad("values nest too deeply"));
        }
        Ok(match self.u8()? {
            0 => Value::Lex,
            1 => Value::Str(self.boxed()?),
            2 => Value::Dec(Decimal {
                neg: self.bool()?,
                int: self.boxed()?,
                frac: self.boxed()?,
            }),
            3 => Value::Float(f64::from_bits(self.u64()?)),
            4 => Value::Bool(self.bool()?),
            5 => Value::List(self.vec(1, |r| r.value(depth + 1))?),
            _ => return Err(bad("unknown value kind")),
        })
    }

    fn fixed(&mut self) -> Dec<Option<(Value, Box<str>)>> {
        self.opt(|r| Ok((r.value(0)?, r.boxed()?)))
    }

    fn bound(&mut self) -> Dec<Option<Bound>> {
        self.opt(|r| {
            Ok(Bound {
                value: r.value(0)?,
                text: r.boxed()?,
            })
        })
    }

    fn type_ref(&mut self, z: Sizes) -> Dec<TypeRef> {
        match self.u8()? {
            0 => Ok(TypeRef::Simple(self.id(z.simple)?)),
            1 => Ok(TypeRef::Complex(self.id(z.complex)?)),
            _ => Err(bad("unknown type kind")),
        }
    }

    fn attr_use(&mut self, z: Sizes) -> Dec<AttrUse> {
        Ok(AttrUse {
            name: self.id(z.q)?,
            ty: self.id(z.simple)?,
            required: self.bool()?,
            decl_fixed: self.fixed()?,
            use_fixed: self.fixed()?,
        })
    }

    fn particle(&mut self, z: Sizes, depth: u32) -> Dec<Particle> {
        if depth > MAX_DEPTH {
            return Err(bad("particles nest too deeply"));
        }
        let min = self.u32()?;
        let max = self.opt(Reader::u32)?;
        let term = match self.u8()? {
            0 => Term::Elem(self.id(z.elems)?),
            1 => Term::Wild(self.id(z.wilds)?),
            k @ 2..=4 => {
                let ps = self.vec(6, |r| r.particle(z, depth + 1))?;
                match k {
                    2 => Term::Seq(ps),
                    3 => Term::Choice(ps),
                    _ => Term::All(ps),
                }
            }
            5 => Term::Unsupported(self.u32()?),
            _ => return Err(bad("unknown particle kind")),
        };
        Ok(Particle { min, max, term })
    }

    fn simple_type(&mut self, z: Sizes, own: usize, shared: &SharedParts) -> Dec<SimpleType> {
        let name = self.boxed()?;
        let qname = self.opt_id(z.q)?;
        let base = self.opt_id(z.simple)?;
        // List items and union members are compiled before the type that uses them: no
        // cycle can make validation recurse without end.
        let variety = match self.u8()? {
            0 => Variety::Atomic(
                *PRIMS
                    .get(usize::from(self.u8()?))
                    .ok_or_else(|| bad("unknown primitive type"))?,
            ),
            1 => Variety::List(self.id(own)?),
            2 => Variety::Union(self.ids(own)?),
            _ => return Err(bad("unknown simple type variety")),
        };
        let ws = match self.u8()? {
            0 => Ws::Preserve,
            1 => Ws::Replace,
            2 => Ws::Collapse,
            _ => return Err(bad("unknown whitespace facet")),
        };
        let special = match self.u8()? {
            0 => Special::None,
            1 => Special::Nmtoken,
            2 => Special::Name,
            3 => Special::NcName,
            _ => return Err(bad("unknown name check")),
        };
        let patterns = self.vec(4, |r| {
            let i = r.id(z.patterns)?;
            Ok(shared.patterns[i as usize].clone())
        })?;
        let enumeration = self
            .opt_id(z.enums)?
            .map(|i| shared.enums[i as usize].clone());
        let enum_set = self
            .opt_id(z.sets)?
            .map(|i| shared.sets[i as usize].clone());
        Ok(SimpleType {
            name,
            qname,
            base,
            variety,
            ws,
            special,
            patterns,
            enumeration,
            enum_set,
            length: self.opt_usize()?,
            min_length: self.opt_usize()?,
            max_length: self.opt_usize()?,
            min_incl: self.bound()?,
            max_incl: self.bound()?,
            min_excl: self.bound()?,
            max_excl: self.bound()?,
            total_digits: self.opt_usize()?,
            fraction_digits: self.opt_usize()?,
            unsupported: self.opt(Reader::u32)?,
        })
    }

    fn complex_type(&mut self, z: Sizes) -> Dec<ComplexType> {
        Ok(ComplexType {
            name: self.boxed()?,
            base: self.type_ref(z)?,
            derivation: self.u8()?,
            abstract_: self.bool()?,
            block: self.u8()?,
            content: match self.u8()? {
                0 => Content::Empty,
                1 => Content::Simple(self.id(z.simple)?),
                2 => Content::Element(self.id(z.cms)?),
                3 => Content::Mixed(self.id(z.cms)?),
                _ => return Err(bad("unknown content kind")),
            },
            particle: self.opt(|r| r.particle(z, 0))?,
            mixed: self.bool()?,
            attrs: self.vec(11, |r| r.attr_use(z))?,
            attr_wildcard: self.opt_id(z.wilds)?,
        })
    }

    fn elem(&mut self, z: Sizes) -> Dec<ElemDecl> {
        Ok(ElemDecl {
            name: self.id(z.q)?,
            ty: self.type_ref(z)?,
            nillable: self.bool()?,
            abstract_: self.bool()?,
            value: self.opt(|r| Ok((r.bool()?, r.boxed()?)))?,
            block: self.u8()?,
            substitutes: self.ids(z.elems)?,
            subst_head: self.opt_id(z.elems)?,
        })
    }

    fn wildcard(&mut self, z: Sizes) -> Dec<Wildcard> {
        let ns = match self.u8()? {
            0 => NsConstraint::Any,
            1 => NsConstraint::Not(self.ids(z.ns)?),
            2 => NsConstraint::List(self.ids(z.ns)?),
            _ => return Err(bad("unknown namespace constraint")),
        };
        let pc = match self.u8()? {
            0 => ProcessContents::Skip,
            1 => ProcessContents::Lax,
            2 => ProcessContents::Strict,
            _ => return Err(bad("unknown processContents")),
        };
        Ok(Wildcard {
            ns,
            pc,
            display: self.boxed()?,
        })
    }

    fn cm(&mut self, z: Sizes) -> Dec<Cm> {
        let syms = self.vec(5, |r| match r.u8()? {
            0 => Ok(Sym::Elem(r.id(z.elems)?)),
            1 => Ok(Sym::Wild(r.id(z.wilds)?)),
            2 => Ok(Sym::Unsupported(r.u32()?)),
            _ => Err(bad("unknown symbol kind")),
        })?;
        let nsyms = syms.len();
        if nsyms > usize::from(u16::MAX) + 1 {
            return Err(bad("too many symbols"));
        }
        let accept = self.vec(1, Reader::bool)?;
        let nstates = accept.len();
        if nstates == 0 {
            return Err(bad("an automaton has no start state"));
        }
        let n = self.count(4)?;
        if Some(n) != nstates.checked_mul(nsyms) {
            return Err(bad("a transition table does not match its states"));
        }
        let mut trans = Vec::with_capacity(n);
        for c in self.take(n * 4)?.chunks_exact(4) {
            let t = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            if t != NO_STATE && t as usize >= nstates {
                return Err(bad("a transition leads to no state"));
            }
            trans.push(t);
        }
        let sym = |r: &mut Self| -> Dec<u16> {
            let s = r.id(nsyms)?;
            u16::try_from(s).map_err(|_| bad("too many symbols"))
        };
        let by_name = self.vec(12, |r| Ok((r.id(z.q)?, sym(r)?, r.id(z.elems)?)))?;
        let wild_syms = self.vec(4, sym)?;
        Ok(Cm {
            syms,
            trans,
            accept,
            by_name,
            wild_syms,
        })
    }

    fn schema(&mut self) -> Dec<Schema> {
        // Each sized table's items take at least one byte.
        let mut size = || self.count(1);
        let (ns, q, unsupported, patterns, enums, sets) =
            (size()?, size()?, size()?, size()?, size()?, size()?);
        let (wilds, simple, elems, complex, cms) = (size()?, size()?, size()?, size()?, size()?);
        let (global_elems, global_attrs, global_types) = (size()?, size()?, size()?);
        // `anySimpleType`, `anyType` and the placeholder of uncompiled types are always there.
        if simple < 1 || complex < 2 {
            return Err(bad("the built-in types are missing"));
        }
        let z = Sizes {
            ns,
            q,
            patterns,
            enums,
            sets,
            wilds,
            simple,
            elems,
            complex,
            cms,
        };
        let mut ns_str = Vec::with_capacity(ns);
        for _ in 0..ns {
            ns_str.push(self.boxed()?);
        }
        let mut names = Vec::with_capacity(q);
        for _ in 0..q {
            names.push((self.id(ns)?, self.boxed()?));
        }
        let names = Names::from_parts(ns_str, names).ok_or_else(|| bad("names are repeated"))?;
        let mut unsupported_list = Vec::with_capacity(unsupported);
        for _ in 0..unsupported {
            unsupported_list.push(Unsupported {
                file: PathBuf::from(self.str()?),
                line: self.u32()?,
                construct: self.str()?.to_string(),
            });
        }
        let mut shared = SharedParts {
            patterns: Vec::with_capacity(patterns),
            enums: Vec::with_capacity(enums),
            sets: Vec::with_capacity(sets),
        };
        for _ in 0..patterns {
            let src = self.boxed()?;
            let re = RegexBuilder::new(self.str()?)
                .size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map_err(|_| bad("a pattern does not compile"))?;
            shared.patterns.push(Arc::new(Pattern::new(re, src)));
        }
        for _ in 0..enums {
            let e = self.vec(5, |r| Ok((r.value(0)?, r.boxed()?)))?;
            shared.enums.push(Arc::new(e));
        }
        for _ in 0..sets {
            let n = self.count(4)?;
            let mut set = FxSet::default();
            set.reserve(n);
            for _ in 0..n {
                set.insert(self.boxed()?);
            }
            shared.sets.push(Arc::new(set));
        }
        let mut wild_list = Vec::with_capacity(wilds);
        for _ in 0..wilds {
            wild_list.push(self.wildcard(z)?);
        }
        let mut types = Vec::with_capacity(simple);
        for own in 0..simple {
            types.push(self.simple_type(z, own, &shared)?);
        }
        let mut elem_list = Vec::with_capacity(elems);
        for _ in 0..elems {
            elem_list.push(self.elem(z)?);
        }
        let mut complex_list = Vec::with_capacity(complex);
        for _ in 0..complex {
            complex_list.push(self.complex_type(z)?);
        }
        let mut cm_list = Vec::with_capacity(cms);
        for _ in 0..cms {
            cm_list.push(self.cm(z)?);
        }
        let mut ge = FxMap::default();
        ge.reserve(global_elems);
        for _ in 0..global_elems {
            ge.insert(self.id(q)?, self.id(elems)?);
        }
        let mut ga = FxMap::default();
        ga.reserve(global_attrs);
        for _ in 0..global_attrs {
            ga.insert(self.id(q)?, self.attr_use(z)?);
        }
        let mut gt = FxMap::default();
        gt.reserve(global_types);
        for _ in 0..global_types {
            gt.insert(self.id(q)?, self.type_ref(z)?);
        }
        Ok(Schema {
            names,
            simple: SimpleTypes { types },
            attr_index: crate::model::AttrIndex::all(&complex_list),
            complex: complex_list,
            elems: elem_list,
            wilds: wild_list,
            cms: cm_list,
            global_elems: ge,
            global_attrs: ga,
            global_types: gt,
            unsupported: unsupported_list,
            uid: crate::schema::next_uid(),
        })
    }
}

/// The shared parts, decoded once.
struct SharedParts {
    patterns: Vec<Arc<Pattern>>,
    enums: Vec<Arc<Enumeration>>,
    sets: Vec<Arc<FxSet<Box<str>>>>,
}
