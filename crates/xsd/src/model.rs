//! Compiled schema components and content-model automata.

use crate::names::{FxMap, NsId, QId};
use crate::simple::{StId, Value};

pub(crate) type ElemId = u32;
pub(crate) type CtId = u32;
pub(crate) type WildId = u32;
pub(crate) type CmId = u32;
pub(crate) type UnsId = u32;

/// `anyType`.
pub(crate) const ANY_TYPE: CtId = 0;
/// Placeholder type of an element whose type could not be compiled.
pub(crate) const UNSUPPORTED_TYPE: CtId = 1;

/// Derivation methods, as bits (for `block`).
pub(crate) const DERIV_EXT: u8 = 1;
pub(crate) const DERIV_RESTR: u8 = 2;
pub(crate) const DERIV_SUBST: u8 = 4;

#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub(crate) enum TypeRef {
    Simple(StId),
    Complex(CtId),
}

#[derive(Debug, Clone)]
pub(crate) struct ElemDecl {
    pub(crate) name: QId,
    pub(crate) ty: TypeRef,
    pub(crate) nillable: bool,
    pub(crate) abstract_: bool,
    /// Value constraint: (is fixed, lexical form).
    pub(crate) value: Option<(bool, Box<str>)>,
    pub(crate) block: u8,
    /// Elements that may substitute for this one (transitively), when it is global.
    pub(crate) substitutes: Vec<ElemId>,
    pub(crate) subst_head: Option<ElemId>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ProcessContents {
    Skip,
    Lax,
    Strict,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum NsConstraint {
    Any,
    /// `##other`: neither these namespaces (the target namespace) nor no namespace.
    Not(Vec<NsId>),
    List(Vec<NsId>),
}

#[derive(Clone, Debug)]
pub(crate) struct Wildcard {
    pub(crate) ns: NsConstraint,
    pub(crate) pc: ProcessContents,
    /// Xerces' `toString()`: `WC[##any]`, `WC[##other:"ns"]`, `WC["a","b"]`.
    pub(crate) display: Box<str>,
}

impl Wildcard {
    pub(crate) fn allows(&self, ns: Option<NsId>, ns_is_empty: bool) -> bool {
        match &self.ns {
            NsConstraint::Any => true,
            NsConstraint::Not(list) => !ns_is_empty && !ns.is_some_and(|n| list.contains(&n)),
            NsConstraint::List(list) => match ns {
                Some(n) => list.contains(&n),
                None => false,
            },
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Content {
    Empty,
    Simple(StId),
    Element(CmId),
    Mixed(CmId),
}

#[derive(Debug, Clone)]
pub(crate) struct AttrUse {
    pub(crate) name: QId,
    pub(crate) ty: StId,
    pub(crate) required: bool,
    /// Fixed value of the declaration (cvc-attribute.4).
    pub(crate) decl_fixed: Option<(Value, Box<str>)>,
    /// Fixed value of the use (cvc-complex-type.3.1).
    pub(crate) use_fixed: Option<(Value, Box<str>)>,
}

#[derive(Debug, Clone)]
pub(crate) struct ComplexType {
    pub(crate) name: Box<str>,
    pub(crate) base: TypeRef,
    pub(crate) derivation: u8,
    pub(crate) abstract_: bool,
    pub(crate) block: u8,
    pub(crate) content: Content,
    pub(crate) particle: Option<Particle>,
    pub(crate) mixed: bool,
    /// In Xerces' order: own uses first, then inherited ones.
    pub(crate) attrs: Vec<AttrUse>,
    pub(crate) attr_wildcard: Option<WildId>,
}

/// A complex type's attribute uses by name, derived from [`ComplexType::attrs`] when a schema
/// is compiled or decoded (images do not hold it): the names in a dense array for the search,
/// and the required uses as a bit mask, so that a start tag checks them with one test.
#[derive(Debug, Clone, Default)]
pub(crate) struct AttrIndex {
    /// The uses' names, in the order of `attrs`.
    pub(crate) names: Box<[QId]>,
    /// Bit `i` set for the first use `i` that bears the name of a required use; `None` when
    /// the type has more than 64 uses (its required uses are then walked one by one).
    pub(crate) required: Option<u64>,
}

impl AttrIndex {
    /// The index of `ct`'s uses.
    pub(crate) fn of(ct: &ComplexType) -> AttrIndex {
        let names: Box<[QId]> = ct.attrs.iter().map(|u| u.name).collect();
        let required = (names.len() <= 64).then(|| {
            let mut mask = 0u64;
            for u in ct.attrs.iter().filter(|u| u.required) {
                if let Some(i) = names.iter().position(|&n| n == u.name) {
                    mask |= 1 << i;
                }
            }
            mask
        });
        AttrIndex { names, required }
    }

    /// The indexes of every complex type's uses, in type order.
    pub(crate) fn all(types: &[ComplexType]) -> Vec<AttrIndex> {
        types.iter().map(AttrIndex::of).collect()
    }

    /// The first use named `q` (as `attrs.iter().position(|u| u.name == q)`).
    #[inline]
    pub(crate) fn find(&self, q: QId) -> Option<usize> {
        self.names.iter().position(|&n| n == q)
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Term {
    Elem(ElemId),
    Wild(WildId),
    Seq(Vec<Particle>),
    Choice(Vec<Particle>),
    All(Vec<Particle>),
    Unsupported(UnsId),
}

#[derive(Debug, Clone)]
pub(crate) struct Particle {
    pub(crate) min: u32,
    /// None = unbounded.
    pub(crate) max: Option<u32>,
    pub(crate) term: Term,
}

impl Particle {
    /// Empty in the sense of XSD 1.0 §3.4.2 (no content at all).
    pub(crate) fn is_empty(&self) -> bool {
        if self.max == Some(0) {
            return true;
        }
        match &self.term {
            Term::Seq(v) | Term::All(v) => v.iter().all(Particle::is_empty),
            Term::Choice(v) => {
                v.is_empty() && self.min == 0 || (!v.is_empty() && v.iter().all(Particle::is_empty))
            }
            _ => false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Sym {
    Elem(ElemId),
    Wild(WildId),
    Unsupported(UnsId),
}

/// A deterministic automaton over the element map (Xerces `XSDFACM`).
#[derive(Debug, Default)]
pub(crate) struct Cm {
    /// The element map, in order of first appearance in the model.
    pub(crate) syms: Vec<Sym>,
    /// `trans[state * syms.len() + sym]`, `NO_STATE` when absent.
    pub(crate) trans: Vec<u32>,
    pub(crate) accept: Vec<bool>,
    /// (element name, symbol, declaration actually matched), sorted; includes substitutes.
    pub(crate) by_name: Vec<(QId, u16, ElemId)>,
    pub(crate) wild_syms: Vec<u16>,
}

pub(crate) const NO_STATE: u32 = u32::MAX;

/// What a child element matched.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Matched {
    Elem(ElemId),
    Wild(WildId),
    Unsupported(UnsId),
}

impl Cm {
    pub(crate) fn step(
        &self,
        state: u32,
        q: Option<QId>,
        allows: impl Fn(WildId) -> bool,
    ) -> Option<(u32, Matched)> {
        let n = self.syms.len();
        let row = &self.trans[state as usize * n..state as usize * n + n];
        let mut best: Option<(u16, Matched)> = None;
        if let Some(q) = q {
            let start = self.by_name.partition_point(|e| e.0 < q);
            for &(qq, sym, decl) in &self.by_name[start..] {
                if qq != q {
                    break;
                }
                if row[sym as usize] != NO_STATE {
                    let m = match self.syms[sym as usize] {
                        Sym::Unsupported(u) => Matched::Unsupported(u),
                        _ => Matched::Elem(decl),
                    };
                    best = Some((sym, m));
                    break;
                }
            }
        }
        for &w in &self.wild_syms {
            if best.is_some_and(|(b, _)| b < w) {
                break;
            }
            if row[w as usize] != NO_STATE
                && let Sym::Wild(wid) = self.syms[w as usize]
                && allows(wid)
            {
                best = Some((w, Matched::Wild(wid)));
                break;
            }
        }
        best.map(|(sym, m)| (row[sym as usize], m))
    }

    /// Symbols with a transition from `state`, in element-map order (Xerces `whatCanGoHere`).
    pub(crate) fn expected(&self, state: u32) -> impl Iterator<Item = Sym> + '_ {
        let n = self.syms.len();
        (0..n)
            .filter(move |&s| self.trans[state as usize * n + s] != NO_STATE)
            .map(|s| self.syms[s])
    }
}

/// Why an automaton could not be built.
#[derive(Debug)]
pub(crate) enum CmError {
    TooLarge,
    AllTooLarge,
    NestedAll,
}

const MAX_POSITIONS: usize = 20_000;
const MAX_STATES: usize = 20_000;

struct Builder {
    pos_sym: Vec<u16>,
    follow: Vec<Vec<u32>>,
    syms: Vec<Sym>,
    sym_index: FxMap<Sym, u16>,
}

impl std::hash::Hash for Sym {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        match *self {
            Sym::Elem(e) => (0u8, e).hash(h),
            Sym::Wild(w) => (1u8, w).hash(h),
            Sym::Unsupported(u) => (2u8, u).hash(h),
        }
    }
}

impl Eq for Sym {}

struct Frag {
    nullable: bool,
    first: Vec<u32>,
    last: Vec<u32>,
}

impl Builder {
    fn sym(&mut self, s: Sym) -> Result<u16, CmError> {
        if let Some(&i) = self.sym_index.get(&s) {
            return Ok(i);
        }
        let i = u16::try_from(self.syms.len()).map_err(|_| CmError::TooLarge)?;
        self.syms.push(s);
        self.sym_index.insert(s, i);
        Ok(i)
    }

    fn leaf(&mut self, s: Sym) -> Result<Frag, CmError> {
        let sym = self.sym(s)?;
        if self.pos_sym.len() >= MAX_POSITIONS {
            return Err(CmError::TooLarge);
        }
        let p = self.pos_sym.len() as u32;
        self.pos_sym.push(sym);
        self.follow.push(Vec::new());
        Ok(Frag {
            nullable: false,
            first: vec![p],
            last: vec![p],
        })
    }

    fn concat(&mut self, a: Frag, b: Frag) -> Frag {
        for &p in &a.last {
            self.follow[p as usize].extend_from_slice(&b.first);
        }
        let mut first = a.first;
        if a.nullable {
            first.extend_from_slice(&b.first);
        }
        let mut last = b.last;
        if b.nullable {
            last.extend_from_slice(&a.last);
        }
        Frag {
            nullable: a.nullable && b.nullable,
            first,
            last,
        }
    }

    fn empty() -> Frag {
        Frag {
            nullable: true,
            first: Vec::new(),
            last: Vec::new(),
        }
    }

    fn term(&mut self, t: &Term, depth: u32) -> Result<Frag, CmError> {
        if depth > 64 {
            return Err(CmError::TooLarge);
        }
        match t {
            Term::Elem(e) => self.leaf(Sym::Elem(*e)),
            Term::Wild(w) => self.leaf(Sym::Wild(*w)),
            Term::Unsupported(u) => self.leaf(Sym::Unsupported(*u)),
            Term::Seq(ps) => {
                let mut acc = Builder::empty();
                for p in ps {
                    let f = self.particle(p, depth + 1)?;
                    acc = self.concat(acc, f);
                }
                Ok(acc)
            }
            Term::Choice(ps) => {
                let mut acc = Frag {
                    nullable: ps.is_empty(),
                    first: Vec::new(),
                    last: Vec::new(),
                };
                for p in ps {
                    let f = self.particle(p, depth + 1)?;
                    acc.nullable |= f.nullable;
                    acc.first.extend(f.first);
                    acc.last.extend(f.last);
                }
                Ok(acc)
            }
            Term::All(_) => Err(CmError::NestedAll),
        }
    }

    fn particle(&mut self, p: &Particle, depth: u32) -> Result<Frag, CmError> {
        if p.max == Some(0) {
            return Ok(Builder::empty());
        }
        let mut acc = Builder::empty();
        let copies_required = p.min.max(1);
        if copies_required as usize > MAX_POSITIONS {
            return Err(CmError::TooLarge);
        }
        match p.max {
            None => {
                for i in 0..copies_required {
                    let mut f = self.term(&p.term, depth)?;
                    if i + 1 == copies_required {
                        for &l in &f.last {
                            self.follow[l as usize].extend_from_slice(&f.first);
                        }
                        if p.min == 0 {
                            f.nullable = true;
                        }
                    }
                    acc = self.concat(acc, f);
                }
            }
            Some(max) => {
                let max = max.max(p.min);
                if max as usize > MAX_POSITIONS {
                    return Err(CmError::TooLarge);
                }
                for i in 0..max {
                    let mut f = self.term(&p.term, depth)?;
                    if i >= p.min {
                        f.nullable = true;
                    }
                    acc = self.concat(acc, f);
                }
            }
        }
        Ok(acc)
    }
}

/// Builds the automaton of a content model (`None` particle: accepts only the empty sequence).
pub(crate) fn build_cm(p: Option<&Particle>) -> Result<Cm, CmError> {
    if let Some(Particle {
        term: Term::All(items),
        min,
        ..
    }) = p
    {
        return build_all(items, *min == 0);
    }
    let mut b = Builder {
        pos_sym: Vec::new(),
        follow: Vec::new(),
        syms: Vec::new(),
        sym_index: FxMap::default(),
    };
    let root = match p {
        Some(p) => b.particle(p, 0)?,
        None => Builder::empty(),
    };
    let mut last_set = vec![false; b.pos_sym.len()];
    for &l in &root.last {
        last_set[l as usize] = true;
    }
    for f in &mut b.follow {
        f.sort_unstable();
        f.dedup();
    }
    let nsyms = b.syms.len();
    let mut first = root.first.clone();
    first.sort_unstable();
    first.dedup();
    // State 0 is the start: its successors are `first`.
    let mut states: Vec<Vec<u32>> = vec![Vec::new()];
    let mut index: FxMap<Vec<u32>, u32> = FxMap::default();
    let mut trans: Vec<u32> = Vec::new();
    let mut accept = vec![root.nullable];
    let mut i = 0;
    while i < states.len() {
        let succ: Vec<u32> = if i == 0 {
            first.clone()
        } else {
            let mut s: Vec<u32> = states[i]
                .iter()
                .flat_map(|&p| b.follow[p as usize].iter().copied())
                .collect();
            s.sort_unstable();
            s.dedup();
            s
        };
        let mut row = vec![NO_STATE; nsyms];
        let mut by_sym: Vec<Vec<u32>> = vec![Vec::new(); nsyms];
        for &q in &succ {
            by_sym[b.pos_sym[q as usize] as usize].push(q);
        }
        for (sym, set) in by_sym.into_iter().enumerate() {
            if set.is_empty() {
                continue;
            }
            let id = match index.get(&set) {
                Some(&id) => id,
                None => {
                    if states.len() >= MAX_STATES {
                        return Err(CmError::TooLarge);
                    }
                    let id = states.len() as u32;
                    accept.push(set.iter().any(|&p| last_set[p as usize]));
                    index.insert(set.clone(), id);
                    states.push(set);
                    id
                }
            };
            row[sym] = id;
        }
        trans.extend_from_slice(&row);
        i += 1;
    }
    Ok(finish_cm(b.syms, trans, accept))
}

fn finish_cm(syms: Vec<Sym>, trans: Vec<u32>, accept: Vec<bool>) -> Cm {
    let wild_syms = syms
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(s, Sym::Wild(_)))
        .map(|(i, _)| i as u16)
        .collect();
    Cm {
        syms,
        trans,
        accept,
        by_name: Vec::new(),
        wild_syms,
    }
}

/// `xs:all`: a state is the set of members already seen.
fn build_all(items: &[Particle], optional: bool) -> Result<Cm, CmError> {
    let items: Vec<&Particle> = items.iter().filter(|p| p.max != Some(0)).collect();
    if items.len() > 12 {
        return Err(CmError::AllTooLarge);
    }
    let mut syms = Vec::new();
    let mut required = 0u32;
    for (i, p) in items.iter().enumerate() {
        let s = match p.term {
            Term::Elem(e) => Sym::Elem(e),
            Term::Wild(w) => Sym::Wild(w),
            Term::Unsupported(u) => Sym::Unsupported(u),
            _ => return Err(CmError::NestedAll),
        };
        syms.push(s);
        if p.min > 0 {
            required |= 1 << i;
        }
    }
    let n = syms.len();
    let nstates = 1usize << n;
    let mut trans = vec![NO_STATE; nstates * n];
    let mut accept = vec![false; nstates];
    for mask in 0..nstates {
        accept[mask] = (mask as u32 & required) == required || (mask == 0 && optional);
        for s in 0..n {
            if mask & (1 << s) == 0 {
                trans[mask * n + s] = (mask | (1 << s)) as u32;
            }
        }
    }
    Ok(finish_cm(syms, trans, accept))
}
