//! The event-driven validator: feed it start tags, text and end tags of one document.

use crate::error::{EventError, Severity, XsdError};
use crate::model::*;
use crate::names::{NsId, QId};
use crate::schema::Schema;
use crate::simple::{Ctx, Fault, IdState, PrefixResolver, ValidValues, Value};

/// A position in the instance document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column (characters).
    pub column: u32,
    /// Byte offset.
    pub offset: u64,
}

/// An attribute of a start tag (namespace declarations may be included; they are ignored).
#[derive(Debug, Clone, Copy)]
pub struct Attr<'a> {
    /// Namespace URI, "" for none.
    pub ns_uri: &'a str,
    /// Local name.
    pub local: &'a str,
    /// Prefix as written, "" for none (used in messages).
    pub prefix: &'a str,
    /// Value after XML attribute-value normalization.
    pub value: &'a str,
    /// `schema.name_key(ns_uri, local)` when the caller has it (skips the string lookups).
    pub key: Option<NameKey>,
}

/// A namespace URI and local name resolved against one schema ([`Schema::name_key`]): a caller
/// that meets the same names again passes it in [`StartElement`] and [`Attr`] to skip the string
/// lookups. A key made by another schema, or for other strings, gives wrong findings (no panic).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameKey {
    q: Option<QId>,
    ns: Option<NsId>,
    flags: u8,
}

/// The namespace URI is empty.
const K_NS_EMPTY: u8 = 1;
/// A namespace declaration (`xmlns` namespace, or `xmlns` without namespace).
const K_XMLNS: u8 = 2;
/// `xsi:type`.
const K_XSI_TYPE: u8 = 4;
/// `xsi:nil`.
const K_XSI_NIL: u8 = 8;
/// `xsi:type`, `xsi:nil`, `xsi:schemaLocation` or `xsi:noNamespaceSchemaLocation`.
const K_XSI_ATTR: u8 = 16;

impl Schema {
    /// This schema's identity, unique in the process (never shared by two loaded schemas): a
    /// caller that keeps [`NameKey`]s across documents keeps them per identity.
    pub fn id(&self) -> u64 {
        self.uid
    }

    /// The key of the name (`ns_uri`, "" for none, and `local`) in this schema.
    pub fn name_key(&self, ns_uri: &str, local: &str) -> NameKey {
        let mut flags = 0;
        if ns_uri.is_empty() {
            flags |= K_NS_EMPTY;
            if local == "xmlns" {
                flags |= K_XMLNS;
            }
        } else if ns_uri == "http://www.w3.org/2000/xmlns/" {
            flags |= K_XMLNS;
        } else if ns_uri == crate::schema::XSI_NS {
            match local {
                "type" => flags |= K_XSI_TYPE | K_XSI_ATTR,
                "nil" => flags |= K_XSI_NIL | K_XSI_ATTR,
                "schemaLocation" | "noNamespaceSchemaLocation" => flags |= K_XSI_ATTR,
                _ => {}
            }
        }
        NameKey {
            q: self.names.find(ns_uri, local),
            ns: self.names.find_ns(ns_uri),
            flags,
        }
    }
}

/// In-scope namespace bindings of an element, used to resolve `xsi:type` and QName values.
pub trait NamespaceLookup {
    /// The URI bound to `prefix` ("" = the default namespace), if any.
    fn lookup(&self, prefix: &str) -> Option<&str>;
}

/// Bindings in document order, innermost last (searched from the end).
impl NamespaceLookup for &[(&str, &str)] {
    fn lookup(&self, prefix: &str) -> Option<&str> {
        if prefix == "xml" {
            return Some("http://www.w3.org/XML/1998/namespace");
        }
        self.iter()
            .rev()
            .find(|(p, _)| *p == prefix)
            .map(|(_, u)| *u)
    }
}

/// Bindings in document order, innermost last (searched from the end).
impl NamespaceLookup for Vec<(String, String)> {
    fn lookup(&self, prefix: &str) -> Option<&str> {
        if prefix == "xml" {
            return Some("http://www.w3.org/XML/1998/namespace");
        }
        self.iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .map(|(_, u)| u.as_str())
    }
}

/// A start tag.
#[derive(Clone, Copy)]
pub struct StartElement<'a> {
    /// Namespace URI, "" for none.
    pub ns_uri: &'a str,
    /// Local name.
    pub local: &'a str,
    /// Prefix as written, "" for none (used in messages).
    pub prefix: &'a str,
    /// Attributes in document order.
    pub attributes: &'a [Attr<'a>],
    /// In-scope namespace bindings.
    pub namespaces: &'a dyn NamespaceLookup,
    /// Position of the `<`.
    pub start: Pos,
    /// Position just after the `>` (Xerces reports there); `start` is used when absent.
    pub end: Option<Pos>,
    /// `schema.name_key(ns_uri, local)` when the caller has it (skips the string lookups).
    pub key: Option<NameKey>,
}

struct Resolver<'a>(&'a dyn NamespaceLookup);

impl PrefixResolver for Resolver<'_> {
    fn resolve(&self, prefix: &str) -> Option<&str> {
        self.0.lookup(prefix)
    }
}

const CM_ERROR: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Frame {
    ty: TypeRef,
    decl: Option<ElemId>,
    cm: Option<CmId>,
    state: u32,
    nil: bool,
    sub_element: bool,
    saw_text: bool,
    saw_chars: bool,
    /// [`text_mode`] of `ty` and `decl`.
    text_mode: u8,
    text_start: u32,
    name_start: u32,
}

/// [`text_mode`]: the character data is kept for the end tag (simple content, or a value
/// constraint).
const TEXT_COLLECT: u8 = 1;
/// [`text_mode`]: element-only content, where text other than whitespace is an error.
const TEXT_ELEMENT_ONLY: u8 = 2;
/// [`text_mode`]: empty content, where any text is an error (at the end tag).
const TEXT_EMPTY: u8 = 4;
/// [`text_mode`]: mixed content, where text is allowed.
const TEXT_MIXED: u8 = 8;

/// What [`Validator::text`] does with the character data of an element of type `ty` declared
/// by `decl`, decided once at its start tag.
fn text_mode(s: &Schema, ty: TypeRef, decl: Option<ElemId>) -> u8 {
    let mut mode = match ty {
        TypeRef::Simple(_) => TEXT_COLLECT,
        TypeRef::Complex(c) => match s.complex.get(c as usize).map(|ct| ct.content) {
            Some(Content::Simple(_)) => TEXT_COLLECT,
            Some(Content::Element(_)) => TEXT_ELEMENT_ONLY,
            Some(Content::Empty) => TEXT_EMPTY,
            Some(Content::Mixed(_)) => TEXT_MIXED,
            None => 0,
        },
    };
    if decl.is_some_and(|d| s.elems.get(d as usize).is_some_and(|d| d.value.is_some())) {
        mode |= TEXT_COLLECT;
    }
    mode
}

/// Validation state of one document; reuse it with [`Validator::reset`] to keep its buffers.
pub struct Validator<'s> {
    s: &'s Schema,
    frames: Vec<Frame>,
    names: String,
    text: String,
    errors: Vec<XsdError>,
    ids: IdState,
    skip: u32,
    root_done: bool,
    attr_keys: Vec<NameKey>,
    memo: ValueMemo,
}

/// Values found valid against one schema, kept from one [`Validator`] to the next
/// ([`Schema::validator_with`], [`Validator::take_memo`]) so that a value seen before is not
/// checked again (for the types whose check depends on the value alone), with the
/// content-model transitions taken before. Bounded: 16 384 short values and 4 096
/// transitions at most (1.2 MB).
#[derive(Debug, Default)]
pub struct ValueMemo {
    /// The identity of the schema it was made with; 0 for none yet.
    schema: u64,
    valid: ValidValues,
    /// Content-model transitions taken before ([`STEP_SLOTS`] slots once the first is kept).
    steps: Vec<StepSlot>,
    /// The ID/IDREF tables of the last document, emptied, for the next one to fill without
    /// growing them again ([`IdState::reusable`]).
    ids: IdState,
}

/// Slots of the transitions a [`ValueMemo`] keeps (a power of two).
const STEP_SLOTS: usize = 4096;

/// A transition of content model `cm` from `state` on the element named `q` (a name of the
/// schema: its namespace, hence what a wildcard allows, follows from it), and where it went.
#[derive(Debug, Clone, Copy)]
struct StepSlot {
    /// `u32::MAX` for a slot that holds nothing.
    cm: CmId,
    state: u32,
    q: QId,
    next: u32,
    matched: Matched,
}

impl ValueMemo {
    /// [`Cm::step`] of `cm` (id `cm_id`) for a name of the schema, remembered: a direct-mapped
    /// cache (a newer transition takes the slot of an older one). Only transitions that exist
    /// are kept; a refused element is stepped again each time.
    fn step(
        &mut self,
        cm: &Cm,
        cm_id: CmId,
        state: u32,
        q: QId,
        allows: impl Fn(WildId) -> bool,
    ) -> Option<(u32, Matched)> {
        let h = (u64::from(cm_id) << 40 ^ u64::from(state) << 20 ^ u64::from(q))
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let i = (h >> (64 - STEP_SLOTS.trailing_zeros())) as usize;
        if let Some(slot) = self.steps.get(i)
            && slot.cm == cm_id
            && slot.state == state
            && slot.q == q
        {
            return Some((slot.next, slot.matched));
        }
        let r = cm.step(state, Some(q), allows);
        if let Some((next, matched)) = r {
            if self.steps.is_empty() {
                let empty = StepSlot {
                    cm: u32::MAX,
                    state: 0,
                    q: 0,
                    next: 0,
                    matched: Matched::Elem(0),
                };
                self.steps = vec![empty; STEP_SLOTS];
            }
            if let Some(slot) = self.steps.get_mut(i) {
                *slot = StepSlot {
                    cm: cm_id,
                    state,
                    q,
                    next,
                    matched,
                };
            }
        }
        r
    }
}

impl Schema {
    /// A validator for one document.
    pub fn validator(&self) -> Validator<'_> {
        self.validator_with(ValueMemo::default())
    }

    /// A validator for one document that starts from the values `memo` found valid (emptied
    /// first when it was made with another schema).
    pub fn validator_with(&self, mut memo: ValueMemo) -> Validator<'_> {
        if memo.schema != self.uid {
            memo = ValueMemo {
                schema: self.uid,
                valid: ValidValues::default(),
                steps: Vec::new(),
                ids: IdState::default(),
            };
        }
        let mut ids = std::mem::take(&mut memo.ids);
        ids.clear();
        Validator {
            s: self,
            frames: Vec::with_capacity(64),
            names: String::with_capacity(1024),
            text: String::new(),
            errors: Vec::new(),
            ids,
            skip: 0,
            root_done: false,
            attr_keys: Vec::new(),
            memo,
        }
    }
}

fn is_ws_byte(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Whether `s` is whitespace only. Most such text is indentation: line ends, then a run of
/// spaces or of tabs, which is compared eight bytes at a time (other blocks byte by byte); the
/// bytes after the last whole block are compared as the last eight bytes, which overlap it.
#[inline]
fn is_ws_only(s: &str) -> bool {
    const SPACES: u64 = u64::from_ne_bytes([b' '; 8]);
    const TABS: u64 = u64::from_ne_bytes([b'\t'; 8]);
    let block_ok = |c: &[u8]| {
        let w = <[u8; 8]>::try_from(c).map_or(0, u64::from_ne_bytes);
        w == SPACES || w == TABS || c.iter().all(|&c| is_ws_byte(c))
    };
    let b = s.as_bytes();
    let lead = b.iter().take_while(|&&c| c == b'\n' || c == b'\r').count();
    let rest = b.get(lead..).unwrap_or_default();
    let Some(last) = rest.len().checked_sub(8).and_then(|i| rest.get(i..)) else {
        return rest.iter().all(|&c| is_ws_byte(c));
    };
    rest.chunks_exact(8).all(block_ok) && block_ok(last)
}

fn raw(prefix: &str, local: &str, out: &mut String) {
    if !prefix.is_empty() {
        out.push_str(prefix);
        out.push(':');
    }
    out.push_str(local);
}

impl<'s> Validator<'s> {
    /// Clears the state for a new document (buffers are kept).
    pub fn reset(&mut self) {
        self.frames.clear();
        self.names.clear();
        self.text.clear();
        self.errors.clear();
        self.ids.clear();
        self.skip = 0;
        self.root_done = false;
    }

    /// The values found valid so far, for the next validator ([`Schema::validator_with`]); this
    /// one goes on with an empty memo.
    pub fn take_memo(&mut self) -> ValueMemo {
        let mut memo = std::mem::take(&mut self.memo);
        memo.ids = std::mem::take(&mut self.ids).reusable();
        memo
    }

    /// Findings so far.
    pub fn errors(&self) -> &[XsdError] {
        &self.errors
    }

    /// Ends the document and returns the findings.
    pub fn finish(mut self) -> Vec<XsdError> {
        std::mem::take(&mut self.errors)
    }

    /// Ends the document and moves the findings out, keeping the buffers for [`Validator::reset`].
    pub fn take_errors(&mut self) -> Vec<XsdError> {
        std::mem::take(&mut self.errors)
    }

    fn report(&mut self, pos: Pos, code: &'static str, message: String) {
        self.errors.push(XsdError {
            line: pos.line,
            column: pos.column,
            offset: pos.offset,
            code,
            message,
            severity: Severity::Error,
        });
    }

    fn fault(&mut self, pos: Pos, f: Fault) {
        self.report(pos, f.code, f.message);
    }

    fn not_checked(&mut self, pos: Pos, what: String, u: UnsId) {
        let detail = self
            .s
            .unsupported
            .get(u as usize)
            .map(|x| format!(" ({x})"))
            .unwrap_or_default();
        self.errors.push(XsdError {
            line: pos.line,
            column: pos.column,
            offset: pos.offset,
            code: "segur-xsd.not-checked",
            message: format!("segur-xsd.not-checked: {what} was not checked: the schema uses an unsupported construct{detail}."),
            severity: Severity::NotChecked,
        });
    }

    fn expected_str(&self, cm: &Cm, state: u32) -> String {
        let mut s = String::from("{");
        let mut first = true;
        for sym in cm.expected(state) {
            if !first {
                s.push_str(", ");
            }
            first = false;
            match sym {
                Sym::Elem(e) => self
                    .s
                    .names
                    .xerces_decl(self.s.elems[e as usize].name, &mut s),
                Sym::Wild(w) => s.push_str(&self.s.wilds[w as usize].display),
                Sym::Unsupported(_) => s.push_str("WC[?]"),
            }
        }
        s.push('}');
        s
    }

    /// A start tag (an empty-element tag is a start tag followed by an end tag).
    pub fn start_element(&mut self, e: &StartElement<'_>) -> Result<(), EventError> {
        if self.skip > 0 {
            self.skip += 1;
            return Ok(());
        }
        if self.frames.is_empty() && self.root_done {
            return Err(EventError::SecondRoot);
        }
        let s = self.s;
        let pos = e.end.unwrap_or(e.start);
        let key = e.key.unwrap_or_else(|| s.name_key(e.ns_uri, e.local));
        let qid = key.q;
        let ns_id: Option<NsId> = key.ns;
        let name_start = self.names.len() as u32;
        raw(e.prefix, e.local, &mut self.names);
        let rawname_range = name_start as usize..self.names.len();

        let mut decl: Option<ElemId> = None;
        let mut wildcard: Option<WildId> = None;
        if let Some(parent) = self.frames.last_mut() {
            parent.sub_element = true;
            if let (Some(cm_id), true) = (parent.cm, parent.state != CM_ERROR) {
                let cm = &s.cms[cm_id as usize];
                let state = parent.state;
                let empty_ns = key.flags & K_NS_EMPTY != 0;
                let allows = |w: WildId| s.wilds[w as usize].allows(ns_id, empty_ns);
                let stepped = match qid {
                    Some(q) => self.memo.step(cm, cm_id, state, q, allows),
                    None => cm.step(state, None, allows),
                };
                match stepped {
                    Some((next, m)) => {
                        parent.state = next;
                        match m {
                            Matched::Elem(d) => decl = Some(d),
                            Matched::Wild(w) => wildcard = Some(w),
                            Matched::Unsupported(u) => {
                                let what =
                                    format!("element '{}'", &self.names[rawname_range.clone()]);
                                self.not_checked(pos, what, u);
                                self.names.truncate(name_start as usize);
                                self.skip = 1;
                                return Ok(());
                            }
                        }
                    }
                    None => {
                        parent.state = CM_ERROR;
                        let elem = if e.ns_uri.is_empty() {
                            e.local.to_string()
                        } else {
                            format!("{{\"{}\":{}}}", e.ns_uri, e.local)
                        };
                        if cm.expected(state).next().is_some() {
                            let exp = self.expected_str(cm, state);
                            self.report(
                                pos,
                                "cvc-complex-type.2.4.a",
                                format!("cvc-complex-type.2.4.a: Invalid content was found starting with element '{elem}'. One of '{exp}' is expected."),
                            );
                        } else {
                            self.report(
                                pos,
                                "cvc-complex-type.2.4.d",
                                format!("cvc-complex-type.2.4.d: Invalid content was found starting with element '{elem}'. No child element is expected at this point."),
                            );
                        }
                    }
                }
            }
        }
        let mut strict_wildcard = false;
        if let Some(w) = wildcard {
            match s.wilds[w as usize].pc {
                ProcessContents::Skip => {
                    self.names.truncate(name_start as usize);
                    self.skip = 1;
                    return Ok(());
                }
                pc => {
                    strict_wildcard = pc == ProcessContents::Strict;
                    decl = qid.and_then(|q| s.global_elems.get(&q).copied());
                }
            }
        } else if decl.is_none() {
            decl = qid.and_then(|q| s.global_elems.get(&q).copied());
        }

        let mut ty: Option<TypeRef> = decl.map(|d| s.elems[d as usize].ty);
        // xsi:type and xsi:nil
        let mut xsi_type: Option<&str> = None;
        let mut xsi_nil: Option<&str> = None;
        let mut attr_keys = std::mem::take(&mut self.attr_keys);
        attr_keys.clear();
        for a in e.attributes {
            let k = a.key.unwrap_or_else(|| s.name_key(a.ns_uri, a.local));
            if k.flags & K_XSI_TYPE != 0 {
                xsi_type = Some(a.value);
            } else if k.flags & K_XSI_NIL != 0 {
                xsi_nil = Some(a.value);
            }
            attr_keys.push(k);
        }
        self.attr_keys = attr_keys;
        if let Some(xt) = xsi_type
            && let Some(t) = self.xsi_type(e, &rawname_range, xt, ty, decl, pos)
        {
            ty = Some(t);
        }
        let ty = match ty {
            Some(t) => t,
            None => {
                if self.frames.is_empty() && xsi_type.is_none() {
                    let m = format!(
                        "cvc-elt.1.a: Cannot find the declaration of element '{}'.",
                        &self.names[rawname_range.clone()]
                    );
                    self.report(pos, "cvc-elt.1.a", m);
                } else if strict_wildcard && xsi_type.is_none() {
                    let m = format!(
                        "cvc-complex-type.2.4.c: The matching wildcard is strict, but no declaration can be found for element '{}'.",
                        &self.names[rawname_range.clone()]
                    );
                    self.report(pos, "cvc-complex-type.2.4.c", m);
                }
                TypeRef::Complex(ANY_TYPE)
            }
        };
        if let Some(d) = decl
            && s.elems[d as usize].abstract_
        {
            let m = format!(
                "cvc-elt.2: The value of {{abstract}} in the element declaration for '{}' must be false.",
                &self.names[rawname_range.clone()]
            );
            self.report(pos, "cvc-elt.2", m);
        }
        if ty == TypeRef::Complex(UNSUPPORTED_TYPE) {
            let what = format!("element '{}'", &self.names[rawname_range.clone()]);
            self.not_checked(pos, what, u32::MAX);
            self.names.truncate(name_start as usize);
            self.skip = 1;
            return Ok(());
        }
        if let TypeRef::Complex(c) = ty
            && s.complex[c as usize].abstract_
        {
            let m = format!(
                "cvc-type.2: The type definition cannot be abstract for element {}.",
                &self.names[rawname_range.clone()]
            );
            self.report(pos, "cvc-type.2", m);
        }
        let mut nil = false;
        if let (Some(v), Some(d)) = (xsi_nil, decl) {
            let d = &s.elems[d as usize];
            if !d.nillable {
                let m = format!(
                    "cvc-elt.3.1: Attribute 'http://www.w3.org/2001/XMLSchema-instance,nil' must not appear on element '{0}', because the {{nillable}} property of '{0}' is false.",
                    &self.names[rawname_range.clone()]
                );
                self.report(pos, "cvc-elt.3.1", m);
            } else {
                nil = matches!(v.trim(), "true" | "1");
                if nil && d.value.as_ref().is_some_and(|(f, _)| *f) {
                    let m = format!(
                        "cvc-elt.3.2.2: There must be no fixed {{value constraint}} for element '{}', because 'http://www.w3.org/2001/XMLSchema-instance,nil' is specified.",
                        &self.names[rawname_range.clone()]
                    );
                    self.report(pos, "cvc-elt.3.2.2", m);
                }
            }
        }
        self.attributes(e, &rawname_range, ty, pos);
        let cm = match ty {
            TypeRef::Complex(c) => match s.complex[c as usize].content {
                Content::Element(cm) | Content::Mixed(cm) => Some(cm),
                _ => None,
            },
            TypeRef::Simple(_) => None,
        };
        self.frames.push(Frame {
            ty,
            decl,
            cm,
            state: 0,
            nil,
            sub_element: false,
            saw_text: false,
            saw_chars: false,
            text_mode: text_mode(s, ty, decl),
            text_start: self.text.len() as u32,
            name_start,
        });
        Ok(())
    }

    /// Resolves and checks `xsi:type` (cvc-elt.4.*); None when it fails.
    fn xsi_type(
        &mut self,
        e: &StartElement<'_>,
        rawname: &std::ops::Range<usize>,
        value: &str,
        declared: Option<TypeRef>,
        decl: Option<ElemId>,
        pos: Pos,
    ) -> Option<TypeRef> {
        let s = self.s;
        let v = value.trim_matches([' ', '\t', '\n', '\r']);
        let (prefix, local) = v.split_once(':').unwrap_or(("", v));
        if !crate::simple::is_ncname(local)
            || (!prefix.is_empty() && !crate::simple::is_ncname(prefix))
        {
            self.report(
                pos,
                "cvc-datatype-valid.1.2.1",
                format!("cvc-datatype-valid.1.2.1: '{v}' is not a valid value for 'QName'."),
            );
            let m = format!(
                "cvc-elt.4.1: The value '{value}' of attribute 'http://www.w3.org/2001/XMLSchema-instance,type' of element '{}' is not a valid QName.",
                &self.names[rawname.clone()]
            );
            self.report(pos, "cvc-elt.4.1", m);
            return None;
        }
        let uri = match e.namespaces.lookup(prefix) {
            Some(u) => u,
            None if prefix.is_empty() => "",
            None => {
                self.report(
                    pos,
                    "UndeclaredPrefix",
                    format!("UndeclaredPrefix: Cannot resolve '{v}' as a QName: the prefix '{prefix}' is not declared."),
                );
                let m = format!(
                    "cvc-elt.4.1: The value '{value}' of attribute 'http://www.w3.org/2001/XMLSchema-instance,type' of element '{}' is not a valid QName.",
                    &self.names[rawname.clone()]
                );
                self.report(pos, "cvc-elt.4.1", m);
                return None;
            }
        };
        let t = s
            .names
            .find(uri, local)
            .and_then(|q| s.global_types.get(&q).copied());
        let Some(t) = t else {
            let m = format!(
                "cvc-elt.4.2: Cannot resolve '{value}' to a type definition for element '{}'.",
                &self.names[rawname.clone()]
            );
            self.report(pos, "cvc-elt.4.2", m);
            return None;
        };
        if let Some(d) = declared {
            let mut block = decl.map_or(0, |d| s.elems[d as usize].block);
            if let TypeRef::Complex(c) = d {
                block |= s.complex[c as usize].block;
            }
            if !s.derived_ok(t, d, block & (DERIV_EXT | DERIV_RESTR)) {
                let m = format!(
                    "cvc-elt.4.3: Type '{value}' is not validly derived from the type definition, '{}', of element '{}'.",
                    s.type_name(d),
                    &self.names[rawname.clone()]
                );
                self.report(pos, "cvc-elt.4.3", m);
            }
        }
        Some(t)
    }

    fn attributes(
        &mut self,
        e: &StartElement<'_>,
        rawname: &std::ops::Range<usize>,
        ty: TypeRef,
        pos: Pos,
    ) {
        let s = self.s;
        let ct = match ty {
            TypeRef::Complex(c) => Some(&s.complex[c as usize]),
            TypeRef::Simple(_) => None,
        };
        let index = match ty {
            TypeRef::Complex(c) => s.attr_index.get(c as usize),
            TypeRef::Simple(_) => None,
        };
        // The uses found, as bits by index (a type of more than 64 uses walks its required
        // ones below instead).
        let mut seen = 0u64;
        let attr_keys = std::mem::take(&mut self.attr_keys);
        for (a, k) in e.attributes.iter().zip(&attr_keys) {
            let q = k.q;
            // Looked up for every attribute, as the required uses are below.
            let found = match (ct, q) {
                (Some(ct), Some(q)) => match index {
                    Some(ix) => ix.find(q),
                    None => ct.attrs.iter().position(|u| u.name == q),
                },
                _ => None,
            };
            if let Some(i) = found
                && i < 64
            {
                seen |= 1 << i;
            }
            if k.flags & K_XMLNS != 0 || a.prefix == "xmlns" {
                continue;
            }
            if k.flags & K_XSI_ATTR != 0 {
                continue;
            }
            let araw = AttrName(a.prefix, a.local);
            let Some(ct) = ct else {
                let m = format!(
                    "cvc-type.3.1.1: Element '{}' is a simple type, so it cannot have attributes, excepting those whose namespace name is identical to 'http://www.w3.org/2001/XMLSchema-instance' and whose [local name] is one of 'type', 'nil', 'schemaLocation' or 'noNamespaceSchemaLocation'. However, the attribute, '{araw}' was found.",
                    &self.names[rawname.clone()]
                );
                self.report(pos, "cvc-type.3.1.1", m);
                continue;
            };
            let use_ = match found.and_then(|i| ct.attrs.get(i)) {
                Some(u) => Some(u),
                None => {
                    let allowed = ct
                        .attr_wildcard
                        .map(|w| &s.wilds[w as usize])
                        .filter(|w| w.allows(k.ns, k.flags & K_NS_EMPTY != 0));
                    match allowed {
                        None => {
                            let m = format!(
                                "cvc-complex-type.3.2.2: Attribute '{araw}' is not allowed to appear in element '{}'.",
                                &self.names[rawname.clone()]
                            );
                            self.report(pos, "cvc-complex-type.3.2.2", m);
                            continue;
                        }
                        Some(w) if w.pc == ProcessContents::Skip => continue,
                        Some(w) => match q.and_then(|q| s.global_attrs.get(&q)) {
                            Some(g) => Some(g),
                            None => {
                                if w.pc == ProcessContents::Strict {
                                    let m = format!(
                                        "cvc-complex-type.3.2.2: Attribute '{araw}' is not allowed to appear in element '{}'.",
                                        &self.names[rawname.clone()]
                                    );
                                    self.report(pos, "cvc-complex-type.3.2.2", m);
                                }
                                continue;
                            }
                        },
                    }
                }
            };
            let Some(u) = use_ else { continue };
            self.attribute_value(e, rawname, araw, a.value, u, pos);
        }
        let missing = match index.and_then(|ix| ix.required) {
            Some(required) => required & !seen != 0,
            None => true,
        };
        if let Some(ct) = ct
            && missing
        {
            for u in ct.attrs.iter().filter(|u| u.required) {
                if !attr_keys.iter().any(|k| k.q == Some(u.name)) {
                    let m = format!(
                        "cvc-complex-type.4: Attribute '{}' must appear on element '{}'.",
                        s.names.local(u.name),
                        &self.names[rawname.clone()]
                    );
                    self.report(pos, "cvc-complex-type.4", m);
                }
            }
        }
        self.attr_keys = attr_keys;
    }

    fn attribute_value(
        &mut self,
        e: &StartElement<'_>,
        rawname: &std::ops::Range<usize>,
        araw: AttrName<'_>,
        value: &str,
        u: &AttrUse,
        pos: Pos,
    ) {
        let s = self.s;
        let st = s.simple.get(u.ty);
        if let Some(un) = st.unsupported {
            let what = format!(
                "attribute '{araw}' of element '{}'",
                &self.names[rawname.clone()]
            );
            self.not_checked(pos, what, un);
            return;
        }
        let resolver = Resolver(e.namespaces);
        let mut ctx = Ctx {
            ns: Some(&resolver),
            ids: Some(&mut self.ids),
        };
        if u.decl_fixed.is_none() && u.use_fixed.is_none() {
            // No fixed value to compare: the check alone, without the actual value.
            if let Err(f) = self.memo.valid.check(&s.simple, u.ty, value, &mut ctx) {
                self.attribute_fault(rawname, araw, value, st, f, pos);
            }
            return;
        }
        match s.simple.validate_value(u.ty, value, &mut ctx) {
            Err(f) => self.attribute_fault(rawname, araw, value, st, f, pos),
            Ok(v) => {
                if let Some((fv, ft)) = &u.decl_fixed
                    && !same(&v, fv)
                {
                    let m = format!(
                        "cvc-attribute.4: The value '{value}' of attribute '{araw}' on element '{}' is not valid with respect to its fixed {{value constraint}}. The attribute must have a value of '{ft}'.",
                        &self.names[rawname.clone()]
                    );
                    self.report(pos, "cvc-attribute.4", m);
                }
                if let Some((fv, ft)) = &u.use_fixed
                    && !same(&v, fv)
                {
                    let m = format!(
                        "cvc-complex-type.3.1: Value '{value}' of attribute '{araw}' of element '{}' is not valid with respect to the corresponding attribute use. Attribute '{araw}' has a fixed value of '{ft}'.",
                        &self.names[rawname.clone()]
                    );
                    self.report(pos, "cvc-complex-type.3.1", m);
                }
            }
        }
    }

    /// An attribute value that is not valid for its type: the type's fault, then cvc-attribute.3.
    fn attribute_fault(
        &mut self,
        rawname: &std::ops::Range<usize>,
        araw: AttrName<'_>,
        value: &str,
        st: &crate::simple::SimpleType,
        f: Fault,
        pos: Pos,
    ) {
        self.fault(pos, f);
        let m = format!(
            "cvc-attribute.3: The value '{value}' of attribute '{araw}' on element '{}' is not valid with respect to its type, '{}'.",
            &self.names[rawname.clone()],
            st.name
        );
        self.report(pos, "cvc-attribute.3", m);
    }

    /// Character data (already decoded; CDATA sections included). Comments and PIs are not text.
    #[inline]
    pub fn text(&mut self, text: &str, _pos: Pos) {
        if self.skip > 0 || text.is_empty() {
            return;
        }
        let Some(f) = self.frames.last_mut() else {
            return;
        };
        f.saw_text = true;
        if f.text_mode & TEXT_ELEMENT_ONLY != 0 && !f.saw_chars && !is_ws_only(text) {
            f.saw_chars = true;
        }
        if f.text_mode & TEXT_COLLECT != 0 {
            self.text.push_str(text);
        }
    }

    /// An end tag; `pos` is just after its `>`.
    #[inline]
    pub fn end_element(&mut self, pos: Pos) -> Result<(), EventError> {
        if self.skip == 0
            && let Some(&f) = self.frames.last()
            && self.end_is_clean(&f)
        {
            self.frames.pop();
            self.text.truncate(f.text_start as usize);
            self.names.truncate(f.name_start as usize);
            if self.frames.is_empty() {
                self.root_done = true;
                self.check_idrefs(pos);
            }
            return Ok(());
        }
        self.end_element_general(pos)
    }

    /// Whether the end tag of `f` raises nothing and has no value to check: an element that is
    /// not nil and has no value constraint, of element-only content with no text or of mixed
    /// content, with a complete (or already refused) content model, or of empty content with
    /// nothing in it.
    #[inline]
    fn end_is_clean(&self, f: &Frame) -> bool {
        if f.nil {
            return false;
        }
        match f.text_mode {
            TEXT_ELEMENT_ONLY => {
                !f.saw_chars
                    && (f.state == CM_ERROR
                        || f.cm
                            .and_then(|c| self.s.cms.get(c as usize))
                            .and_then(|cm| cm.accept.get(f.state as usize))
                            .is_some_and(|&a| a))
            }
            TEXT_MIXED => {
                f.state == CM_ERROR
                    || f.cm
                        .and_then(|c| self.s.cms.get(c as usize))
                        .and_then(|cm| cm.accept.get(f.state as usize))
                        .is_some_and(|&a| a)
            }
            TEXT_EMPTY => !f.sub_element && !f.saw_text,
            _ => false,
        }
    }

    /// [`Validator::end_element`] in full.
    #[inline(never)]
    fn end_element_general(&mut self, pos: Pos) -> Result<(), EventError> {
        if self.skip > 0 {
            self.skip -= 1;
            if self.skip == 0 && self.frames.is_empty() {
                self.root_done = true;
            }
            return Ok(());
        }
        let Some(f) = self.frames.pop() else {
            return Err(EventError::UnbalancedEnd);
        };
        let s = self.s;
        let rawname = f.name_start as usize..self.names.len();
        let mut text = std::mem::take(&mut self.text);
        let content_start = f.text_start as usize;
        {
            let mut value: &str = &text[content_start.min(text.len())..];
            let decl = f.decl.map(|d| &s.elems[d as usize]);
            let default_used;
            if f.nil {
                if f.sub_element || f.saw_text {
                    let m = format!(
                        "cvc-elt.3.2.1: Element '{}' cannot have character or element information [children], because 'http://www.w3.org/2001/XMLSchema-instance,nil' is specified.",
                        &self.names[rawname.clone()]
                    );
                    self.report(pos, "cvc-elt.3.2.1", m);
                }
            } else {
                default_used =
                    !f.sub_element && value.is_empty() && decl.is_some_and(|d| d.value.is_some());
                if default_used && let Some((_, v)) = decl.and_then(|d| d.value.as_ref()) {
                    value = v;
                }
                // The actual value is needed for a fixed value constraint only.
                let want =
                    !default_used && decl.is_some_and(|d| matches!(d.value, Some((true, _))));
                let actual = self.end_content(&f, &rawname, value, pos, want);
                if !default_used
                    && let (Some(d), Some(actual)) = (decl, actual)
                    && let Some((true, fixed)) = &d.value
                {
                    let fixed_ok = match f.ty {
                        TypeRef::Simple(st) => s
                            .simple
                            .facet_value(st, fixed)
                            .is_some_and(|fv| same(&actual, &fv)),
                        TypeRef::Complex(c) => match s.complex[c as usize].content {
                            Content::Simple(st) => s
                                .simple
                                .facet_value(st, fixed)
                                .is_some_and(|fv| same(&actual, &fv)),
                            _ => value == &**fixed,
                        },
                    };
                    if !fixed_ok {
                        let m = format!(
                            "cvc-elt.5.2.2.2.2: The value '{value}' of element '{}' does not match the {{value constraint}} value '{fixed}'.",
                            &self.names[rawname.clone()]
                        );
                        self.report(pos, "cvc-elt.5.2.2.2.2", m);
                    }
                }
            }
        }
        text.truncate(content_start.min(text.len()));
        self.text = text;
        self.names.truncate(f.name_start as usize);
        if self.frames.is_empty() {
            self.root_done = true;
            self.check_idrefs(pos);
        }
        Ok(())
    }

    fn check_idrefs(&mut self, pos: Pos) {
        let missing: Vec<Box<str>> = self
            .ids
            .idrefs
            .iter()
            .filter(|r| !self.ids.ids.contains(*r))
            .cloned()
            .collect();
        for r in missing {
            self.report(
                pos,
                "cvc-id.1",
                format!("cvc-id.1: There is no ID/IDREF binding for IDREF '{r}'."),
            );
        }
    }

    /// Content checks at the end tag (Xerces `elementLocallyValidType`); returns the actual value
    /// when `want` (else `None`).
    fn end_content(
        &mut self,
        f: &Frame,
        rawname: &std::ops::Range<usize>,
        value: &str,
        pos: Pos,
        want: bool,
    ) -> Option<Value> {
        let s = self.s;
        match f.ty {
            TypeRef::Simple(st) => {
                if f.sub_element {
                    let m = format!(
                        "cvc-type.3.1.2: Element '{}' is a simple type, so it must have no element information item [children].",
                        &self.names[rawname.clone()]
                    );
                    self.report(pos, "cvc-type.3.1.2", m);
                }
                self.simple_value(st, value, rawname, pos, true, want)
            }
            TypeRef::Complex(c) => {
                let ct = &s.complex[c as usize];
                match ct.content {
                    Content::Empty => {
                        if f.sub_element || f.saw_text {
                            let m = format!(
                                "cvc-complex-type.2.1: Element '{}' must have no character or element information item [children], because the type's content type is empty.",
                                &self.names[rawname.clone()]
                            );
                            self.report(pos, "cvc-complex-type.2.1", m);
                        }
                        None
                    }
                    Content::Simple(st) => {
                        if f.sub_element {
                            let m = format!(
                                "cvc-complex-type.2.2: Element '{}' must have no element [children], and the value must be valid.",
                                &self.names[rawname.clone()]
                            );
                            self.report(pos, "cvc-complex-type.2.2", m);
                        }
                        self.simple_value(st, value, rawname, pos, false, want)
                    }
                    Content::Element(cm) | Content::Mixed(cm) => {
                        if matches!(ct.content, Content::Element(_)) && f.saw_chars {
                            let m = format!(
                                "cvc-complex-type.2.3: Element '{}' cannot have character [children], because the type's content type is element-only.",
                                &self.names[rawname.clone()]
                            );
                            self.report(pos, "cvc-complex-type.2.3", m);
                        }
                        let cmr = &s.cms[cm as usize];
                        if f.state != CM_ERROR && !cmr.accept[f.state as usize] {
                            let exp = self.expected_str(cmr, f.state);
                            let m = format!(
                                "cvc-complex-type.2.4.b: The content of element '{}' is not complete. One of '{exp}' is expected.",
                                &self.names[rawname.clone()]
                            );
                            self.report(pos, "cvc-complex-type.2.4.b", m);
                        }
                        want.then(|| Value::Str(value.into()))
                    }
                }
            }
        }
    }

    fn simple_value(
        &mut self,
        st: crate::simple::StId,
        value: &str,
        rawname: &std::ops::Range<usize>,
        pos: Pos,
        simple_type: bool,
        want: bool,
    ) -> Option<Value> {
        let s = self.s;
        if let Some(u) = s.simple.get(st).unsupported {
            let what = format!("the value of element '{}'", &self.names[rawname.clone()]);
            self.not_checked(pos, what, u);
            return None;
        }
        let mut ctx = Ctx {
            ns: None,
            ids: Some(&mut self.ids),
        };
        let r = if want {
            s.simple.validate_value(st, value, &mut ctx)
        } else {
            self.memo
                .valid
                .check(&s.simple, st, value, &mut ctx)
                .map(|()| Value::Lex)
        };
        match r {
            Ok(v) => want.then_some(v),
            Err(fault) => {
                self.fault(pos, fault);
                if simple_type {
                    let m = format!(
                        "cvc-type.3.1.3: The value '{value}' of element '{}' is not valid.",
                        &self.names[rawname.clone()]
                    );
                    self.report(pos, "cvc-type.3.1.3", m);
                } else {
                    let m = format!(
                        "cvc-complex-type.2.2: Element '{}' must have no element [children], and the value must be valid.",
                        &self.names[rawname.clone()]
                    );
                    self.report(pos, "cvc-complex-type.2.2", m);
                }
                None
            }
        }
    }
}

/// An attribute's name as written (`prefix:local`), formatted only for messages.
#[derive(Clone, Copy)]
struct AttrName<'a>(&'a str, &'a str);

impl std::fmt::Display for AttrName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.0.is_empty() {
            write!(f, "{}:", self.0)?;
        }
        f.write_str(self.1)
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x == y || (x.is_nan() && y.is_nan()),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ANS kit's CDA schema (`SEGUR_ANS_DIR`, else `../shared/ans` beside the checkout).
    fn cda_schema() -> Schema {
        let ans = match std::env::var_os("SEGUR_ANS_DIR") {
            Some(d) => std::path::PathBuf::from(d),
            None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ans"),
        };
        Schema::load(&ans.join("testcontenucda/infrastructure/cda/CDA_extended.xsd"))
            .expect("the ANS kit's CDA schema loads")
    }

    /// Remembered transitions are the automata's: every state of every content model of the
    /// CDA schema, on the names it expects and on others, twice (the second time mostly from
    /// the cache, the first time with the cache filling and overwriting itself).
    #[test]
    fn remembered_steps_are_the_automata() {
        let s = cda_schema();
        let (_, qnames) = s.names.parts();
        let mut memo = ValueMemo::default();
        let mut steps = 0;
        for round in 0..2 {
            for (cm_id, cm) in s.cms.iter().enumerate() {
                let mut names: Vec<QId> = cm.by_name.iter().map(|e| e.0).collect();
                names.extend((0..qnames.len() as QId).step_by(97));
                for state in 0..cm.accept.len() as u32 {
                    for &q in &names {
                        let ns = qnames[q as usize].0;
                        let allows = |w: WildId| {
                            s.wilds[w as usize].allows(Some(ns), ns == crate::names::NO_NS)
                        };
                        let want = cm.step(state, Some(q), allows);
                        let got = memo.step(cm, cm_id as CmId, state, q, allows);
                        assert_eq!(
                            format!("{got:?}"),
                            format!("{want:?}"),
                            "{cm_id} {state} {q}"
                        );
                        steps += usize::from(want.is_some());
                    }
                }
            }
            assert!(steps > 1000, "round {round}: {steps} transitions");
        }
    }

    /// The attribute index finds the use `attrs` gives first for a name, and its required mask
    /// tells a missing required use exactly when the walk of the uses does: every complex type
    /// of the CDA schema, on its uses' names and others, with each one or two of its names
    /// absent; and on made-up types with a name used twice and with more than 64 uses.
    #[test]
    fn attribute_index_is_the_uses() {
        let s = cda_schema();
        let (_, qnames) = s.names.parts();
        let walk_misses = |ct: &ComplexType, present: &[QId]| {
            ct.attrs
                .iter()
                .filter(|u| u.required)
                .any(|u| !present.contains(&u.name))
        };
        let check = |ct: &ComplexType, ix: &AttrIndex| -> usize {
            let mut names: Vec<QId> = ct.attrs.iter().map(|u| u.name).collect();
            names.dedup();
            let mut others = names.clone();
            others.extend((0..qnames.len() as QId).step_by(101));
            for &q in &others {
                let want = ct.attrs.iter().position(|u| u.name == q);
                assert_eq!(ix.find(q), want, "{} {q}", ct.name);
            }
            let Some(required) = ix.required else {
                return 0;
            };
            let mut missing = 0;
            for i in 0..=names.len() {
                for j in i..=names.len() {
                    let present: Vec<QId> = (0..names.len())
                        .filter(|&k| k != i && k != j)
                        .map(|k| names[k])
                        .chain(others.iter().copied().step_by(7))
                        .collect();
                    let mut seen = 0u64;
                    for &q in &present {
                        if let Some(k) = ix.find(q).filter(|&k| k < 64) {
                            seen |= 1 << k;
                        }
                    }
                    let want = walk_misses(ct, &present);
                    assert_eq!(required & !seen != 0, want, "{} {i} {j}", ct.name);
                    missing += usize::from(want);
                }
            }
            missing
        };
        let mut missing = 0;
        assert_eq!(s.attr_index.len(), s.complex.len());
        for (ct, ix) in s.complex.iter().zip(&s.attr_index) {
            missing += check(ct, ix);
        }
        assert!(missing > 100, "required uses found missing: {missing}");
        // Made-up types: a name used twice (optional first, then required), and 70 uses.
        let base = s
            .complex
            .iter()
            .find(|ct| ct.attrs.iter().any(|u| u.required))
            .expect("a type with a required use");
        let use_ = |name: QId, required: bool| AttrUse {
            name,
            required,
            ..base.attrs[0].clone()
        };
        let mut twice = base.clone();
        twice.attrs = vec![use_(5, false), use_(9, true), use_(5, true)];
        let ix = AttrIndex::of(&twice);
        assert_eq!(ix.required, Some(0b011));
        assert!(check(&twice, &ix) > 0);
        let mut wide = base.clone();
        wide.attrs = (0..70).map(|q| use_(q, q % 3 == 0)).collect();
        let ix = AttrIndex::of(&wide);
        assert_eq!(ix.required, None);
        check(&wide, &ix);
    }

    /// The text mode decided at the start tag is what `text` derived from the frame's type and
    /// declaration on every call before: every declaration of the CDA schema with its own type,
    /// and every type with no declaration.
    #[test]
    fn text_mode_is_the_per_call_derivation() {
        let s = cda_schema();
        // The derivation `text` made on each call before (collect, whitespace check).
        let before = |ty: TypeRef, decl: Option<ElemId>| {
            let (collect, ws, empty, mixed) = match ty {
                TypeRef::Simple(_) => (true, false, false, false),
                TypeRef::Complex(c) => match s.complex[c as usize].content {
                    Content::Simple(_) => (true, false, false, false),
                    Content::Element(_) => (false, true, false, false),
                    Content::Empty => (false, false, true, false),
                    Content::Mixed(_) => (false, false, false, true),
                },
            };
            let collect = collect || decl.is_some_and(|d| s.elems[d as usize].value.is_some());
            (collect, ws, empty, mixed)
        };
        let mut cases: Vec<(TypeRef, Option<ElemId>)> = (0..s.elems.len() as ElemId)
            .map(|d| (s.elems[d as usize].ty, Some(d)))
            .collect();
        cases.extend((0..s.complex.len() as CtId).map(|c| (TypeRef::Complex(c), None)));
        cases.extend((0..s.simple.types.len() as u32).map(|t| (TypeRef::Simple(t), None)));
        let mut seen = [0usize; 16];
        for (ty, decl) in cases {
            let mode = text_mode(&s, ty, decl);
            let got = (
                mode & TEXT_COLLECT != 0,
                mode & TEXT_ELEMENT_ONLY != 0,
                mode & TEXT_EMPTY != 0,
                mode & TEXT_MIXED != 0,
            );
            assert_eq!(got, before(ty, decl), "{ty:?} {decl:?}");
            seen[usize::from(mode)] += 1;
        }
        // Simple, element-only, empty and mixed content all occur.
        assert!(
            seen[1] > 0 && seen[2] > 0 && seen[4] > 0 && seen[8] > 0,
            "{seen:?}"
        );
    }

    /// An end tag taken by the clean shortcut leaves the validator as the full check does: same
    /// findings (none), frames, kept text and names; on every declaration of the CDA schema, in
    /// every state of its content model (and the refused state), nil or not, with or without
    /// element children, text and characters, under a parent and as the root.
    #[test]
    fn clean_end_tags_are_the_full_check() {
        let s = cda_schema();
        let frame = |d: ElemId, state: u32, bits: u8| {
            let ty = s.elems[d as usize].ty;
            let cm = match ty {
                TypeRef::Complex(c) => match s.complex[c as usize].content {
                    Content::Element(cm) | Content::Mixed(cm) => Some(cm),
                    _ => None,
                },
                TypeRef::Simple(_) => None,
            };
            Frame {
                ty,
                decl: Some(d),
                cm,
                state,
                nil: bits & 1 != 0,
                sub_element: bits & 2 != 0,
                saw_text: bits & 4 != 0,
                saw_chars: bits & 8 != 0,
                text_mode: text_mode(&s, ty, Some(d)),
                text_start: 3,
                name_start: 4,
            }
        };
        let (mut clean, mut full, mut mixed) = (0, 0, 0);
        for d in 0..s.elems.len() as ElemId {
            let states = match frame(d, 0, 0).cm {
                Some(cm) => s.cms[cm as usize].accept.len() as u32,
                None => 1,
            };
            for state in (0..states.min(6)).chain([CM_ERROR]) {
                for bits in 0..16u8 {
                    for root in [false, true] {
                        let f = frame(d, state, bits);
                        let mut a = s.validator();
                        let mut b = s.validator();
                        for v in [&mut a, &mut b] {
                            if !root {
                                v.frames.push(frame(0, 0, 0));
                            }
                            v.frames.push(f);
                            v.text.push_str("abcdef");
                            v.names.push_str("p:namexyz");
                        }
                        let pos = Pos {
                            line: 1,
                            column: 2,
                            offset: 3,
                        };
                        if a.end_is_clean(&f) {
                            clean += 1;
                            mixed += usize::from(f.text_mode == TEXT_MIXED);
                        } else {
                            full += 1;
                        }
                        a.end_element(pos).expect("balanced");
                        b.end_element_general(pos).expect("balanced");
                        assert_eq!(a.errors, b.errors, "{d} {state} {bits} {root}");
                        assert_eq!(
                            (a.frames.len(), &a.text, &a.names, a.root_done),
                            (b.frames.len(), &b.text, &b.names, b.root_done),
                            "{d} {state} {bits} {root}"
                        );
                    }
                }
            }
        }
        assert!(
            clean > 1000 && full > 1000 && mixed > 100,
            "{clean} clean ({mixed} mixed), {full} in full"
        );
    }

    /// The blockwise whitespace check agrees with the byte-by-byte definition on every string
    /// of up to 6 bytes over whitespace and a letter, and on long runs with one byte changed.
    #[test]
    fn ws_only_is_the_definition() {
        for b in crate::simple::short_strings(b" \t\n\ra", 6) {
            let s = std::str::from_utf8(&b).expect("ascii");
            assert_eq!(is_ws_only(s), b.iter().all(|&c| is_ws_byte(c)), "{b:?}");
        }
        for lead in ["", "\n", "\r\n", "\n\n"] {
            for fill in [' ', '\t'] {
                for len in 0..40 {
                    let run: String = std::iter::repeat_n(fill, len).collect();
                    let s = format!("{lead}{run}");
                    assert!(is_ws_only(&s), "{s:?}");
                    for i in 0..s.len() {
                        for c in ["a", " ", "\t", "\n", "é"] {
                            let t = format!("{}{c}{}", &s[..i], &s[i + 1..]);
                            let want = t.bytes().all(is_ws_byte);
                            assert_eq!(is_ws_only(&t), want, "{t:?}");
                        }
                    }
                }
            }
        }
    }
}
