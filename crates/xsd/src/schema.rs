//! Loading schema documents (include, import, chameleon includes) and compiling them into
//! automata and checkers.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use segur_xml::xsregex::{Dialect, translate};

use crate::error::SchemaError;
use crate::model::*;
use crate::names::{FxMap, NO_NS, Names, NsId, QId};
use crate::simple::{Bound, Pattern, SimpleType, SimpleTypes, StId, Value, Variety, Ws};
use crate::xsdoc::{XDoc, XElem, XS_NS};

pub(crate) const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// A schema construct this crate does not check, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// The schema file.
    pub file: PathBuf,
    /// 1-based line of the construct.
    pub line: u32,
    /// What is not supported.
    pub construct: String,
}

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: {}",
            self.file.display(),
            self.line,
            self.construct
        )
    }
}

/// A compiled XML Schema: load it once with [`Schema::load`], validate many documents with
/// [`Schema::validator`] or [`crate::validate_bytes`]. It is immutable and `Sync`.
#[derive(Debug)]
pub struct Schema {
    pub(crate) names: Names,
    pub(crate) simple: SimpleTypes,
    pub(crate) complex: Vec<ComplexType>,
    /// [`AttrIndex::of`] each of `complex`, in the same order.
    pub(crate) attr_index: Vec<AttrIndex>,
    pub(crate) elems: Vec<ElemDecl>,
    pub(crate) wilds: Vec<Wildcard>,
    pub(crate) cms: Vec<Cm>,
    pub(crate) global_elems: FxMap<QId, ElemId>,
    pub(crate) global_attrs: FxMap<QId, AttrUse>,
    pub(crate) global_types: FxMap<QId, TypeRef>,
    pub(crate) unsupported: Vec<Unsupported>,
    /// Unique in the process ([`next_uid`]): tells the schema a [`crate::ValueMemo`] was made with.
    pub(crate) uid: u64,
}

/// A fresh schema identity (never 0).
pub(crate) fn next_uid() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl Schema {
    /// Loads and compiles the schema whose entry document is `entry_xsd`, with everything it
    /// includes and imports (locations relative to the including document).
    pub fn load(entry_xsd: &Path) -> Result<Schema, SchemaError> {
        Schema::load_with(entry_xsd, |_, _| {})
    }

    /// [`Schema::load`], calling `read` with the path and the content of each schema file as
    /// it is read (once per file, in reading order): a cache can fingerprint exactly the bytes
    /// the schema was compiled from.
    pub fn load_with(
        entry_xsd: &Path,
        mut read: impl FnMut(&Path, &[u8]),
    ) -> Result<Schema, SchemaError> {
        let mut l = Loader::new(&mut read);
        l.load_all(entry_xsd)?;
        l.compile()?;
        Ok(l.finish())
    }

    /// The constructs of the schema that are not checked (validation reports a
    /// `segur-xsd.not-checked` finding when an instance reaches one).
    pub fn unsupported(&self) -> &[Unsupported] {
        &self.unsupported
    }

    /// Number of global element declarations (all namespaces).
    pub fn global_element_count(&self) -> usize {
        self.global_elems.len()
    }

    pub(crate) fn type_name(&self, t: TypeRef) -> &str {
        match t {
            TypeRef::Simple(s) => &self.simple.get(s).name,
            TypeRef::Complex(c) => &self.complex[c as usize].name,
        }
    }

    /// Type Derivation OK (Complex/Simple), with the disallowed derivations `block`.
    pub(crate) fn derived_ok(&self, derived: TypeRef, base: TypeRef, block: u8) -> bool {
        if derived == base || base == TypeRef::Complex(ANY_TYPE) {
            return true;
        }
        match (derived, base) {
            (TypeRef::Simple(d), TypeRef::Simple(b)) => {
                block & DERIV_RESTR == 0 && self.simple.derives_from(d, b)
            }
            (TypeRef::Simple(_), TypeRef::Complex(_)) => false,
            (TypeRef::Complex(_), _) => {
                let mut cur = derived;
                for _ in 0..1000 {
                    if cur == base {
                        return true;
                    }
                    match cur {
                        TypeRef::Complex(c) => {
                            if c == ANY_TYPE {
                                return false;
                            }
                            let ct = &self.complex[c as usize];
                            if ct.derivation & block != 0 {
                                return false;
                            }
                            cur = ct.base;
                        }
                        TypeRef::Simple(s) => {
                            return matches!(base, TypeRef::Simple(b) if self.simple.derives_from(s, b));
                        }
                    }
                }
                false
            }
        }
    }
}

/// One schema document read for one target namespace (a chameleon document may be read twice).
struct Inst {
    doc: usize,
    tns: NsId,
    chameleon: bool,
    elem_qualified: bool,
    attr_qualified: bool,
    block_default: u8,
}

#[derive(Clone, Copy)]
struct Def {
    inst: u32,
    elem: u32,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Progress {
    Todo,
    Doing,
    Done,
}

struct Loader<'r> {
    read: &'r mut dyn FnMut(&Path, &[u8]),
    names: Names,
    docs: Vec<XDoc>,
    doc_index: FxMap<PathBuf, usize>,
    insts: Vec<Inst>,
    inst_index: FxMap<(usize, NsId), u32>,
    type_defs: FxMap<QId, Def>,
    elem_defs: Vec<(QId, Def)>,
    attr_defs: FxMap<QId, Def>,
    group_defs: FxMap<QId, Def>,
    agroup_defs: FxMap<QId, Def>,
    simple: SimpleTypes,
    complex: Vec<ComplexType>,
    complex_def: Vec<Option<Def>>,
    complex_progress: Vec<Progress>,
    elems: Vec<ElemDecl>,
    wilds: Vec<Wildcard>,
    cms: Vec<Cm>,
    global_elems: FxMap<QId, ElemId>,
    global_attrs: FxMap<QId, AttrUse>,
    types: FxMap<QId, TypeRef>,
    simple_progress: FxMap<QId, Progress>,
    groups: FxMap<QId, Option<Particle>>,
    group_progress: FxMap<QId, Progress>,
    agroups: FxMap<QId, (Vec<AttrUse>, Option<WildId>)>,
    agroup_progress: FxMap<QId, Progress>,
    unsupported: Vec<Unsupported>,
    unsupported_st: StId,
}

type R<T> = Result<T, SchemaError>;

fn parse_occurs(v: Option<&str>, default: u32) -> Option<Option<u32>> {
    match v.map(str::trim) {
        None => Some(Some(default)),
        Some("unbounded") => Some(None),
        Some(s) => s.parse::<u32>().ok().map(Some),
    }
}

fn parse_block(v: Option<&str>) -> u8 {
    let mut b = 0;
    for t in v.unwrap_or("").split_ascii_whitespace() {
        b |= match t {
            "#all" => DERIV_EXT | DERIV_RESTR | DERIV_SUBST,
            "extension" => DERIV_EXT,
            "restriction" => DERIV_RESTR,
            "substitution" => DERIV_SUBST,
            _ => 0,
        };
    }
    b
}

impl<'r> Loader<'r> {
    fn new(read: &'r mut dyn FnMut(&Path, &[u8])) -> Loader<'r> {
        let mut names = Names::new();
        let xs_ns = names.ns_id(XS_NS);
        let mut simple = SimpleTypes::default();
        let b = simple.builtins();
        let mut unsupported_type = SimpleType::new(
            "#unsupported",
            Some(0),
            Variety::Atomic(crate::simple::Prim::AnySimple),
            Ws::Preserve,
        );
        unsupported_type.unsupported = Some(u32::MAX);
        simple.types.push(unsupported_type);
        let unsupported_st = (simple.types.len() - 1) as StId;
        let mut types = FxMap::default();
        for (&n, &id) in &b.by_name {
            let q = names.qid(xs_ns, n);
            types.insert(q, TypeRef::Simple(id));
            simple.types[id as usize].qname = Some(q);
        }
        let any_q = names.qid(xs_ns, "anyType");
        types.insert(any_q, TypeRef::Complex(ANY_TYPE));
        let mut l = Loader {
            read,
            names,
            docs: Vec::new(),
            doc_index: FxMap::default(),
            insts: Vec::new(),
            inst_index: FxMap::default(),
            type_defs: FxMap::default(),
            elem_defs: Vec::new(),
            attr_defs: FxMap::default(),
            group_defs: FxMap::default(),
            agroup_defs: FxMap::default(),
            simple,
            complex: Vec::new(),
            complex_def: Vec::new(),
            complex_progress: Vec::new(),
            elems: Vec::new(),
            wilds: Vec::new(),
            cms: Vec::new(),
            global_elems: FxMap::default(),
            global_attrs: FxMap::default(),
            types,
            simple_progress: FxMap::default(),
            groups: FxMap::default(),
            group_progress: FxMap::default(),
            agroups: FxMap::default(),
            agroup_progress: FxMap::default(),
            unsupported: Vec::new(),
            unsupported_st,
        };
        // anyType: mixed, any element (lax), any attribute (lax).
        let w = l.add_wildcard(NsConstraint::Any, ProcessContents::Lax, "WC[##any]".into());
        let particle = Particle {
            min: 0,
            max: None,
            term: Term::Wild(w),
        };
        let cm = build_cm(Some(&particle)).unwrap_or_default();
        l.cms.push(cm);
        for (name, content) in [
            ("anyType", Content::Mixed(0)),
            ("#unsupported", Content::Empty),
        ] {
            l.complex.push(ComplexType {
                name: name.into(),
                base: TypeRef::Complex(ANY_TYPE),
                derivation: DERIV_RESTR,
                abstract_: false,
                block: 0,
                content,
                particle: Some(particle.clone()),
                mixed: true,
                attrs: Vec::new(),
                attr_wildcard: Some(w),
            });
            l.complex_def.push(None);
            l.complex_progress.push(Progress::Done);
        }
        l
    }

    fn add_wildcard(&mut self, ns: NsConstraint, pc: ProcessContents, display: Box<str>) -> WildId {
        self.wilds.push(Wildcard { ns, pc, display });
        (self.wilds.len() - 1) as WildId
    }

    fn finish(self) -> Schema {
        Schema {
            names: self.names,
            simple: self.simple,
            attr_index: AttrIndex::all(&self.complex),
            complex: self.complex,
            elems: self.elems,
            wilds: self.wilds,
            cms: self.cms,
            global_elems: self.global_elems,
            global_attrs: self.global_attrs,
            global_types: self.types,
            unsupported: self.unsupported,
            uid: next_uid(),
        }
    }

    fn invalid(&self, inst: u32, line: u32, reason: String) -> SchemaError {
        SchemaError::Invalid {
            path: self.docs[self.insts[inst as usize].doc].path.clone(),
            line,
            reason,
        }
    }

    fn note_unsupported(&mut self, inst: u32, line: u32, construct: String) -> UnsId {
        let path = self.docs[self.insts[inst as usize].doc].path.clone();
        self.unsupported.push(Unsupported {
            file: path,
            line,
            construct,
        });
        (self.unsupported.len() - 1) as UnsId
    }

    fn doc(&mut self, path: &Path) -> R<usize> {
        let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if let Some(&d) = self.doc_index.get(&key) {
            return Ok(d);
        }
        let bytes = std::fs::read(path).map_err(|source| SchemaError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        (self.read)(path, &bytes);
        let doc = XDoc::parse(path, &bytes)?;
        self.docs.push(doc);
        let d = self.docs.len() - 1;
        self.doc_index.insert(key, d);
        Ok(d)
    }

    fn load_all(&mut self, entry: &Path) -> R<()> {
        let d = self.doc(entry)?;
        let tns = self.docs[d]
            .attr(self.docs[d].root(), "targetNamespace")
            .unwrap_or("")
            .to_string();
        let tns = self.names.ns_id(&tns);
        let mut queue: VecDeque<(usize, NsId, bool)> = VecDeque::new();
        queue.push_back((d, tns, false));
        while let Some((d, tns, chameleon)) = queue.pop_front() {
            if self.inst_index.contains_key(&(d, tns)) {
                continue;
            }
            let root = &self.docs[d].elems[0];
            let doc = &self.docs[d];
            let inst = Inst {
                doc: d,
                tns,
                chameleon,
                elem_qualified: doc.attr(root, "elementFormDefault") == Some("qualified"),
                attr_qualified: doc.attr(root, "attributeFormDefault") == Some("qualified"),
                block_default: parse_block(doc.attr(root, "blockDefault")),
            };
            self.insts.push(inst);
            let ii = (self.insts.len() - 1) as u32;
            self.inst_index.insert((d, tns), ii);
            let children: Vec<u32> = self.docs[d].elems[0].children.clone();
            for c in children {
                let e = &self.docs[d].elems[c as usize];
                let local = e.local.to_string();
                let line = e.line;
                let name = self.docs[d].attr(e, "name").map(str::to_string);
                let loc = self.docs[d].attr(e, "schemaLocation").map(str::to_string);
                let def = Def { inst: ii, elem: c };
                match local.as_str() {
                    "include" => {
                        let Some(loc) = loc else { continue };
                        let p = self.docs[d]
                            .path
                            .parent()
                            .unwrap_or(Path::new("."))
                            .join(&loc);
                        let nd = self.doc(&p)?;
                        let their = self.docs[nd]
                            .attr(self.docs[nd].root(), "targetNamespace")
                            .map(str::to_string);
                        match their {
                            None => queue.push_back((nd, tns, true)),
                            Some(t) if self.names.ns_id(&t) == tns => {
                                queue.push_back((nd, tns, false))
                            }
                            Some(t) => {
                                return Err(self.invalid(
                                    ii,
                                    line,
                                    format!(
                                        "src-include.2.1: included schema has targetNamespace '{t}'"
                                    ),
                                ));
                            }
                        }
                    }
                    "import" => {
                        let ns = self.docs[d].attr(e, "namespace").unwrap_or("").to_string();
                        if ns == XS_NS {
                            // The schema for schemas: its simple types are built in.
                            continue;
                        }
                        let Some(loc) = loc else { continue };
                        let p = self.docs[d]
                            .path
                            .parent()
                            .unwrap_or(Path::new("."))
                            .join(&loc);
                        let nd = self.doc(&p)?;
                        let their = self.docs[nd]
                            .attr(self.docs[nd].root(), "targetNamespace")
                            .unwrap_or("")
                            .to_string();
                        if their != ns {
                            return Err(self.invalid(
                                ii,
                                line,
                                format!("src-import.3.1: imported schema has targetNamespace '{their}', expected '{ns}'"),
                            ));
                        }
                        let nt = self.names.ns_id(&their);
                        queue.push_back((nd, nt, false));
                    }
                    "redefine" | "override" => {
                        self.note_unsupported(ii, line, format!("xs:{local} (ignored)"));
                    }
                    "element" | "attribute" | "complexType" | "simpleType" | "group"
                    | "attributeGroup" => {
                        let Some(name) = name else {
                            return Err(self.invalid(
                                ii,
                                line,
                                format!("global xs:{local} without a name"),
                            ));
                        };
                        let q = self.names.qid(tns, &name);
                        match local.as_str() {
                            "element" => {
                                if !self.elem_defs.iter().any(|(qq, _)| *qq == q) {
                                    self.elem_defs.push((q, def));
                                }
                            }
                            "attribute" => {
                                self.attr_defs.entry(q).or_insert(def);
                            }
                            "group" => {
                                self.group_defs.entry(q).or_insert(def);
                            }
                            "attributeGroup" => {
                                self.agroup_defs.entry(q).or_insert(def);
                            }
                            _ => {
                                self.type_defs.entry(q).or_insert(def);
                            }
                        }
                    }
                    "notation" => {}
                    other => {
                        self.note_unsupported(ii, line, format!("top-level xs:{other} (ignored)"));
                    }
                }
            }
        }
        Ok(())
    }

    fn x(&self, def: Def) -> (&XDoc, &XElem) {
        let doc = &self.docs[self.insts[def.inst as usize].doc];
        (doc, &doc.elems[def.elem as usize])
    }

    fn attr(&self, def: Def, name: &str) -> Option<&str> {
        let (d, e) = self.x(def);
        d.attr(e, name)
    }

    fn line(&self, def: Def) -> u32 {
        self.x(def).1.line
    }

    fn kids(&self, def: Def) -> Vec<(Def, Box<str>)> {
        let (d, e) = self.x(def);
        d.children(e)
            .map(|(i, c)| {
                (
                    Def {
                        inst: def.inst,
                        elem: i,
                    },
                    c.local.clone(),
                )
            })
            .collect()
    }

    /// Resolves a QName attribute value in the scope of `def`.
    fn resolve(&mut self, def: Def, value: &str) -> R<QId> {
        let value = value.trim();
        let (prefix, local) = value.split_once(':').unwrap_or(("", value));
        let inst = &self.insts[def.inst as usize];
        let (chameleon, tns) = (inst.chameleon, inst.tns);
        let (d, e) = self.x(def);
        let ns = match d.resolve_prefix(e, prefix) {
            Some(u) => u.to_string(),
            None if prefix.is_empty() => String::new(),
            None => {
                return Err(self.invalid(
                    def.inst,
                    e.line,
                    format!("src-resolve.4.1: prefix '{prefix}' of '{value}' is not declared"),
                ));
            }
        };
        let mut ns = self.names.ns_id(&ns);
        if ns == NO_NS && chameleon {
            ns = tns;
        }
        Ok(self.names.qid(ns, local))
    }

    /// Xerces' name for an anonymous type: `#AnonType_` + the `name`s of its ancestors.
    fn anon_name(&self, def: Def) -> String {
        let (d, e) = self.x(def);
        let mut s = String::from("#AnonType_");
        let mut cur = e.parent;
        while let Some(p) = cur {
            let pe = &d.elems[p as usize];
            if pe.parent.is_none() {
                break;
            }
            if let Some(n) = d.attr(pe, "name") {
                s.push_str(n);
            }
            cur = pe.parent;
        }
        s
    }

    fn compile(&mut self) -> R<()> {
        // Named complex types get their ids first, so that references need no recursion.
        let mut tdefs: Vec<(QId, Def)> = self.type_defs.iter().map(|(&q, &d)| (q, d)).collect();
        tdefs.sort_by_key(|(_, d)| (d.inst, d.elem));
        for &(q, def) in &tdefs {
            if &*self.x(def).1.local == "complexType" {
                let id = self.alloc_complex(self.names.local(q).to_string(), Some(def));
                self.types.insert(q, TypeRef::Complex(id));
            }
        }
        // Global elements: ids first (references and substitution groups), bodies next.
        let edefs = self.elem_defs.clone();
        for &(q, _) in &edefs {
            let id = self.elems.len() as ElemId;
            self.elems.push(ElemDecl {
                name: q,
                ty: TypeRef::Complex(ANY_TYPE),
                nillable: false,
                abstract_: false,
                value: None,
                block: 0,
                substitutes: Vec::new(),
                subst_head: None,
            });
            self.global_elems.insert(q, id);
        }
        for &(q, def) in &tdefs {
            if &*self.x(def).1.local == "simpleType" {
                self.simple_by_name(q, def)?;
            }
        }
        let adefs: Vec<(QId, Def)> = {
            let mut v: Vec<_> = self.attr_defs.iter().map(|(&q, &d)| (q, d)).collect();
            v.sort_by_key(|(_, d)| (d.inst, d.elem));
            v
        };
        for (q, def) in adefs {
            let u = self.attr_decl(def, q, true)?;
            self.global_attrs.insert(q, u);
        }
        let mut with_heads = Vec::new();
        for &(q, def) in &edefs {
            let id = self.global_elems[&q];
            let head = self.elem_body(id, def, true)?;
            if let Some(h) = head {
                with_heads.push((id, h, def));
            }
        }
        // Substitution groups: heads know their (transitive) members.
        for &(id, h, def) in &with_heads {
            match self.global_elems.get(&h) {
                Some(&hid) => self.elems[id as usize].subst_head = Some(hid),
                None => {
                    let line = self.line(def);
                    self.note_unsupported(
                        def.inst,
                        line,
                        "substitutionGroup head not found".into(),
                    );
                }
            }
        }
        for &(id, _, _) in &with_heads {
            let mut cur = self.elems[id as usize].subst_head;
            let mut guard = 0;
            while let Some(h) = cur {
                guard += 1;
                if guard > 100 || h == id {
                    break;
                }
                if self.elems[h as usize].block & DERIV_SUBST == 0 {
                    self.elems[h as usize].substitutes.push(id);
                }
                cur = self.elems[h as usize].subst_head;
            }
        }
        // Complex type bodies (named ones not reached yet).
        let mut i = 0;
        while i < self.complex.len() {
            self.ensure_complex(i as CtId)?;
            i += 1;
        }
        // Element names to symbols, with substitutes.
        for cm in &mut self.cms {
            let mut by_name = Vec::new();
            for (s, sym) in cm.syms.iter().enumerate() {
                if let Sym::Elem(e) | Sym::Unsupported(e) = *sym {
                    if matches!(sym, Sym::Unsupported(_)) {
                        let _ = e;
                        continue;
                    }
                    let d = &self.elems[e as usize];
                    by_name.push((d.name, s as u16, e));
                    for &m in &d.substitutes {
                        by_name.push((self.elems[m as usize].name, s as u16, m));
                    }
                }
            }
            by_name.sort_unstable();
            cm.by_name = by_name;
        }
        Ok(())
    }

    fn alloc_complex(&mut self, name: String, def: Option<Def>) -> CtId {
        self.complex.push(ComplexType {
            name: name.into(),
            base: TypeRef::Complex(ANY_TYPE),
            derivation: DERIV_RESTR,
            abstract_: false,
            block: 0,
            content: Content::Empty,
            particle: None,
            mixed: false,
            attrs: Vec::new(),
            attr_wildcard: None,
        });
        self.complex_def.push(def);
        self.complex_progress.push(Progress::Todo);
        (self.complex.len() - 1) as CtId
    }

    fn type_ref(&mut self, def: Def, qname: &str) -> R<TypeRef> {
        let q = self.resolve(def, qname)?;
        if let Some(&t) = self.types.get(&q) {
            return Ok(t);
        }
        if let Some(&tdef) = self.type_defs.get(&q) {
            // a named simple type not compiled yet
            return Ok(TypeRef::Simple(self.simple_by_name(q, tdef)?));
        }
        let line = self.line(def);
        self.note_unsupported(
            def.inst,
            line,
            format!("unresolved type reference '{qname}'"),
        );
        Ok(TypeRef::Complex(UNSUPPORTED_TYPE))
    }

    fn simple_ref(&mut self, def: Def, qname: &str) -> R<StId> {
        match self.type_ref(def, qname)? {
            TypeRef::Simple(s) => Ok(s),
            TypeRef::Complex(UNSUPPORTED_TYPE) => Ok(self.unsupported_st),
            TypeRef::Complex(_) => {
                let line = self.line(def);
                Err(self.invalid(def.inst, line, format!("'{qname}' is not a simple type")))
            }
        }
    }

    fn simple_by_name(&mut self, q: QId, def: Def) -> R<StId> {
        if let Some(&TypeRef::Simple(s)) = self.types.get(&q) {
            return Ok(s);
        }
        if self.simple_progress.get(&q) == Some(&Progress::Doing) {
            let line = self.line(def);
            return Err(self.invalid(
                def.inst,
                line,
                "st-props-correct.2: circular simple type definition".into(),
            ));
        }
        self.simple_progress.insert(q, Progress::Doing);
        let name = self.names.local(q).to_string();
        let id = self.simple_type(def, name)?;
        self.simple.types[id as usize].qname = Some(q);
        self.types.insert(q, TypeRef::Simple(id));
        self.simple_progress.insert(q, Progress::Done);
        Ok(id)
    }

    /// Compiles an `xs:simpleType` element.
    fn simple_type(&mut self, def: Def, name: String) -> R<StId> {
        let kids = self.kids(def);
        let Some((k, kind)) = kids
            .into_iter()
            .find(|(_, l)| matches!(&**l, "restriction" | "list" | "union"))
        else {
            let line = self.line(def);
            return Err(self.invalid(
                def.inst,
                line,
                "simpleType without restriction, list or union".into(),
            ));
        };
        match &*kind {
            "restriction" => {
                let base = match self.attr(k, "base").map(str::to_string) {
                    Some(b) => self.simple_ref(k, &b)?,
                    None => {
                        let inner = self.kids(k).into_iter().find(|(_, l)| &**l == "simpleType");
                        match inner {
                            Some((d, _)) => {
                                let n = self.anon_name(d);
                                self.simple_type(d, n)?
                            }
                            None => {
                                let line = self.line(k);
                                return Err(self.invalid(
                                    k.inst,
                                    line,
                                    "restriction without base".into(),
                                ));
                            }
                        }
                    }
                };
                self.restrict(k, base, name)
            }
            "list" => {
                let item = match self.attr(k, "itemType").map(str::to_string) {
                    Some(t) => self.simple_ref(k, &t)?,
                    None => match self.kids(k).into_iter().find(|(_, l)| &**l == "simpleType") {
                        Some((d, _)) => {
                            let n = self.anon_name(d);
                            self.simple_type(d, n)?
                        }
                        None => {
                            let line = self.line(k);
                            return Err(self.invalid(k.inst, line, "list without itemType".into()));
                        }
                    },
                };
                let mut t = SimpleType::new(&name, Some(0), Variety::List(item), Ws::Collapse);
                t.unsupported = self.simple.get(item).unsupported;
                self.simple.types.push(t);
                Ok((self.simple.types.len() - 1) as StId)
            }
            _ => {
                let mut members = Vec::new();
                if let Some(m) = self.attr(k, "memberTypes").map(str::to_string) {
                    for t in m.split_ascii_whitespace() {
                        members.push(self.simple_ref(k, t)?);
                    }
                }
                for (d, l) in self.kids(k) {
                    if &*l == "simpleType" {
                        let n = self.anon_name(d);
                        members.push(self.simple_type(d, n)?);
                    }
                }
                let unsupported = members.iter().find_map(|&m| self.simple.get(m).unsupported);
                let mut t = SimpleType::new(&name, Some(0), Variety::Union(members), Ws::Collapse);
                t.unsupported = unsupported;
                self.simple.types.push(t);
                Ok((self.simple.types.len() - 1) as StId)
            }
        }
    }

    /// A restriction of `base` with the facets that are children of `k`.
    fn restrict(&mut self, k: Def, base: StId, name: String) -> R<StId> {
        let mut t = SimpleType::derive(&name, base, self.simple.get(base));
        let mut enums: Vec<(Value, Box<str>)> = Vec::new();
        let mut patterns: Vec<String> = Vec::new();
        for (f, local) in self.kids(k) {
            let Some(v) = self.attr(f, "value").map(str::to_string) else {
                continue;
            };
            let line = self.line(f);
            let num = |s: &str| s.trim().parse::<usize>().ok();
            match &*local {
                "enumeration" => match self.simple.facet_value(base, &v) {
                    Some(val) => {
                        let shown =
                            crate::simple::normalize(&v, self.simple.get(base).ws).into_owned();
                        enums.push((val, shown.into()));
                    }
                    None => {
                        return Err(self.invalid(
                            f.inst,
                            line,
                            format!("enumeration value '{v}' is not valid for the base type"),
                        ));
                    }
                },
                "pattern" => patterns.push(v),
                "length" => t.length = num(&v),
                "minLength" => t.min_length = num(&v),
                "maxLength" => t.max_length = num(&v),
                "totalDigits" => t.total_digits = num(&v),
                "fractionDigits" => t.fraction_digits = num(&v),
                "whiteSpace" => {
                    t.ws = match v.trim() {
                        "preserve" => Ws::Preserve,
                        "replace" => Ws::Replace,
                        _ => Ws::Collapse,
                    }
                }
                "minInclusive" | "maxInclusive" | "minExclusive" | "maxExclusive" => {
                    if !self.simple.comparable(base) {
                        let u = self.note_unsupported(
                            f.inst,
                            line,
                            format!("facet {local} on a non-numeric type"),
                        );
                        t.unsupported = Some(u);
                        continue;
                    }
                    let Some(val) = self.simple.facet_value(base, &v) else {
                        return Err(self.invalid(
                            f.inst,
                            line,
                            format!("{local} value '{v}' is not valid for the base type"),
                        ));
                    };
                    let b = Some(Bound {
                        value: val,
                        text: v.trim().into(),
                    });
                    match &*local {
                        "minInclusive" => t.min_incl = b,
                        "maxInclusive" => t.max_incl = b,
                        "minExclusive" => t.min_excl = b,
                        _ => t.max_excl = b,
                    }
                }
                _ => {}
            }
        }
        if !enums.is_empty() {
            t.enum_set = enums
                .iter()
                .all(|(v, _)| matches!(v, Value::Str(_)))
                .then(|| std::sync::Arc::new(enums.iter().map(|(_, s)| s.clone()).collect()));
            t.enumeration = Some(std::sync::Arc::new(enums));
        }
        if !patterns.is_empty() {
            let src = patterns.join("|");
            match translate(&src, Dialect::Schema).ok().and_then(|r| {
                regex::RegexBuilder::new(&r)
                    .size_limit(64 << 20)
                    .build()
                    .ok()
            }) {
                Some(re) => t
                    .patterns
                    .push(std::sync::Arc::new(Pattern::new(re, src.into()))),
                None => {
                    let line = self.line(k);
                    let u = self.note_unsupported(
                        k.inst,
                        line,
                        format!("pattern '{src}' (cannot translate)"),
                    );
                    t.unsupported = Some(u);
                }
            }
        }
        self.simple.types.push(t);
        Ok((self.simple.types.len() - 1) as StId)
    }

    /// Fills element declaration `id` from `def`; returns the substitution group head, if any.
    fn elem_body(&mut self, id: ElemId, def: Def, global: bool) -> R<Option<QId>> {
        let mut head = None;
        if global && let Some(h) = self.attr(def, "substitutionGroup").map(str::to_string) {
            head = Some(self.resolve(def, &h)?);
        }
        let ty = if let Some(t) = self.attr(def, "type").map(str::to_string) {
            self.type_ref(def, &t)?
        } else if let Some((d, l)) = self
            .kids(def)
            .into_iter()
            .find(|(_, l)| matches!(&**l, "complexType" | "simpleType"))
        {
            let n = self.anon_name(d);
            if &*l == "simpleType" {
                TypeRef::Simple(self.simple_type(d, n)?)
            } else {
                let c = self.alloc_complex(n, Some(d));
                self.ensure_complex(c)?;
                TypeRef::Complex(c)
            }
        } else if let Some(h) = head {
            // the head's type (compiled in declaration order; anyType if not yet known)
            match self
                .elem_defs
                .iter()
                .find(|(q, _)| *q == h)
                .map(|&(_, d)| d)
            {
                Some(hd) => match self.attr(hd, "type").map(str::to_string) {
                    Some(t) => self.type_ref(hd, &t)?,
                    None => self
                        .global_elems
                        .get(&h)
                        .map_or(TypeRef::Complex(ANY_TYPE), |&e| self.elems[e as usize].ty),
                },
                None => TypeRef::Complex(ANY_TYPE),
            }
        } else {
            TypeRef::Complex(ANY_TYPE)
        };
        let block_default = self.insts[def.inst as usize].block_default;
        let e = &mut self.elems[id as usize];
        e.ty = ty;
        let (d, x) = {
            let doc = &self.docs[self.insts[def.inst as usize].doc];
            (doc, &doc.elems[def.elem as usize])
        };
        e.nillable = d
            .attr(x, "nillable")
            .is_some_and(|v| matches!(v.trim(), "true" | "1"));
        e.abstract_ = d
            .attr(x, "abstract")
            .is_some_and(|v| matches!(v.trim(), "true" | "1"));
        e.block = match d.attr(x, "block") {
            Some(b) => parse_block(Some(b)),
            None => block_default,
        };
        let vc = if let Some(f) = d.attr(x, "fixed") {
            Some((true, f.into()))
        } else {
            d.attr(x, "default").map(|v| (false, v.into()))
        };
        e.value = vc;
        Ok(head)
    }

    /// A local element particle (declaration or reference).
    fn elem_particle(&mut self, def: Def) -> R<Term> {
        if let Some(r) = self.attr(def, "ref").map(str::to_string) {
            let q = self.resolve(def, &r)?;
            return Ok(match self.global_elems.get(&q) {
                Some(&e) => Term::Elem(e),
                None => {
                    let line = self.line(def);
                    Term::Unsupported(self.note_unsupported(
                        def.inst,
                        line,
                        format!("unresolved element reference '{r}'"),
                    ))
                }
            });
        }
        let Some(name) = self.attr(def, "name").map(str::to_string) else {
            let line = self.line(def);
            return Err(self.invalid(def.inst, line, "local element without name or ref".into()));
        };
        let inst = &self.insts[def.inst as usize];
        let qualified = match self.attr(def, "form") {
            Some(f) => f == "qualified",
            None => inst.elem_qualified,
        };
        let ns = if qualified { inst.tns } else { NO_NS };
        let q = self.names.qid(ns, &name);
        let id = self.elems.len() as ElemId;
        self.elems.push(ElemDecl {
            name: q,
            ty: TypeRef::Complex(ANY_TYPE),
            nillable: false,
            abstract_: false,
            value: None,
            block: 0,
            substitutes: Vec::new(),
            subst_head: None,
        });
        self.elem_body(id, def, false)?;
        Ok(Term::Elem(id))
    }

    fn occurs(&self, def: Def) -> R<(u32, Option<u32>)> {
        let min = parse_occurs(self.attr(def, "minOccurs"), 1).flatten();
        let max = parse_occurs(self.attr(def, "maxOccurs"), 1);
        match (min, max) {
            (Some(min), Some(max)) if max.is_none_or(|m| m >= min) => Ok((min, max)),
            _ => {
                let line = self.line(def);
                Err(self.invalid(def.inst, line, "invalid minOccurs/maxOccurs".into()))
            }
        }
    }

    /// A particle: element, any, group reference, sequence, choice or all.
    fn particle(&mut self, def: Def, kind: &str, depth: u32) -> R<Option<Particle>> {
        if depth > 200 {
            let line = self.line(def);
            return Err(self.invalid(def.inst, line, "model groups nested too deeply".into()));
        }
        let (min, max) = self.occurs(def)?;
        let term = match kind {
            "element" => self.elem_particle(def)?,
            "any" => Term::Wild(self.wildcard(def)?),
            "group" => {
                let Some(r) = self.attr(def, "ref").map(str::to_string) else {
                    let line = self.line(def);
                    return Err(self.invalid(def.inst, line, "local group without ref".into()));
                };
                let q = self.resolve(def, &r)?;
                match self.named_group(q, depth)? {
                    Some(p) => p.term,
                    None => {
                        let line = self.line(def);
                        Term::Unsupported(self.note_unsupported(
                            def.inst,
                            line,
                            format!("unresolved group reference '{r}'"),
                        ))
                    }
                }
            }
            "sequence" | "choice" | "all" => {
                let mut items = Vec::new();
                for (k, l) in self.kids(def) {
                    if matches!(
                        &*l,
                        "element" | "any" | "group" | "sequence" | "choice" | "all"
                    ) && let Some(p) = self.particle(k, &l, depth + 1)?
                    {
                        items.push(p);
                    }
                }
                match kind {
                    "sequence" => Term::Seq(items),
                    "choice" => Term::Choice(items),
                    _ => Term::All(items),
                }
            }
            _ => return Ok(None),
        };
        Ok(Some(Particle { min, max, term }))
    }

    /// The model group of a named `xs:group` (compiled once, so that its element declarations are shared).
    fn named_group(&mut self, q: QId, depth: u32) -> R<Option<Particle>> {
        if let Some(p) = self.groups.get(&q) {
            return Ok(p.clone());
        }
        let Some(&def) = self.group_defs.get(&q) else {
            return Ok(None);
        };
        if self.group_progress.get(&q) == Some(&Progress::Doing) {
            let line = self.line(def);
            return Err(self.invalid(def.inst, line, "mg-props-correct.2: circular group".into()));
        }
        self.group_progress.insert(q, Progress::Doing);
        let mut result = None;
        for (k, l) in self.kids(def) {
            if matches!(&*l, "sequence" | "choice" | "all") {
                result = self.particle(k, &l, depth + 1)?;
                break;
            }
        }
        self.group_progress.insert(q, Progress::Done);
        self.groups.insert(q, result.clone());
        Ok(result)
    }

    fn wildcard(&mut self, def: Def) -> R<WildId> {
        let tns = self.insts[def.inst as usize].tns;
        let ns_attr = self.attr(def, "namespace").unwrap_or("##any").to_string();
        let pc = match self.attr(def, "processContents").map(str::trim) {
            Some("skip") => ProcessContents::Skip,
            Some("lax") => ProcessContents::Lax,
            _ => ProcessContents::Strict,
        };
        let (ns, display) = match ns_attr.trim() {
            "##any" => (NsConstraint::Any, "WC[##any]".to_string()),
            "##other" => (
                NsConstraint::Not(vec![tns]),
                format!("WC[##other:\"{}\"]", self.names.ns_str(tns)),
            ),
            list => {
                let mut ids = Vec::new();
                let mut shown = Vec::new();
                for t in list.split_ascii_whitespace() {
                    let uri = match t {
                        "##targetNamespace" => self.names.ns_str(tns).to_string(),
                        "##local" => String::new(),
                        u => u.to_string(),
                    };
                    ids.push(self.names.ns_id(&uri));
                    shown.push(format!("\"{uri}\""));
                }
                (NsConstraint::List(ids), format!("WC[{}]", shown.join(",")))
            }
        };
        Ok(self.add_wildcard(ns, pc, display.into()))
    }

    /// A global or local attribute declaration; `q` is its name when global.
    fn attr_decl(&mut self, def: Def, q: QId, _global: bool) -> R<AttrUse> {
        let ty = if let Some(t) = self.attr(def, "type").map(str::to_string) {
            self.simple_ref(def, &t)?
        } else if let Some((d, _)) = self
            .kids(def)
            .into_iter()
            .find(|(_, l)| &**l == "simpleType")
        {
            let n = self.anon_name(d);
            self.simple_type(d, n)?
        } else {
            0
        };
        let fixed = match self.attr(def, "fixed") {
            Some(f) => {
                let v = self
                    .simple
                    .facet_value(ty, f)
                    .unwrap_or(Value::Str(f.into()));
                Some((v, f.into()))
            }
            None => None,
        };
        Ok(AttrUse {
            name: q,
            ty,
            required: false,
            decl_fixed: fixed,
            use_fixed: None,
        })
    }

    /// Attribute uses and wildcard among the children of `def` (complexType, extension,
    /// restriction or attributeGroup).
    fn attributes(&mut self, def: Def, depth: u32) -> R<(Vec<AttrUse>, Option<WildId>, Vec<QId>)> {
        let mut uses: Vec<AttrUse> = Vec::new();
        let mut prohibited = Vec::new();
        let mut wild = None;
        let mut group_wild: Option<WildId> = None;
        for (k, l) in self.kids(def) {
            match &*l {
                "attribute" => {
                    let use_ = self.attr(k, "use").unwrap_or("optional").trim().to_string();
                    let mut u = if let Some(r) = self.attr(k, "ref").map(str::to_string) {
                        let q = self.resolve(k, &r)?;
                        match self.global_attrs.get(&q).cloned() {
                            Some(u) => u,
                            None => match self.attr_defs.get(&q).copied() {
                                Some(ad) => {
                                    let u = self.attr_decl(ad, q, true)?;
                                    self.global_attrs.insert(q, u.clone());
                                    u
                                }
                                None => {
                                    let line = self.line(k);
                                    self.note_unsupported(
                                        k.inst,
                                        line,
                                        format!(
                                            "unresolved attribute reference '{r}' (not checked)"
                                        ),
                                    );
                                    AttrUse {
                                        name: q,
                                        ty: self.unsupported_st,
                                        required: false,
                                        decl_fixed: None,
                                        use_fixed: None,
                                    }
                                }
                            },
                        }
                    } else {
                        let Some(name) = self.attr(k, "name").map(str::to_string) else {
                            continue;
                        };
                        let inst = &self.insts[k.inst as usize];
                        let qualified = match self.attr(k, "form") {
                            Some(f) => f == "qualified",
                            None => inst.attr_qualified,
                        };
                        let ns = if qualified { inst.tns } else { NO_NS };
                        let q = self.names.qid(ns, &name);
                        self.attr_decl(k, q, false)?
                    };
                    if use_ == "prohibited" {
                        prohibited.push(u.name);
                        continue;
                    }
                    u.required = use_ == "required";
                    if self.attr(k, "ref").is_some()
                        && let Some(f) = self.attr(k, "fixed")
                    {
                        let v = self
                            .simple
                            .facet_value(u.ty, f)
                            .unwrap_or(Value::Str(f.into()));
                        u.use_fixed = Some((v, f.into()));
                    }
                    if !uses.iter().any(|x| x.name == u.name) {
                        uses.push(u);
                    }
                }
                "attributeGroup" => {
                    let Some(r) = self.attr(k, "ref").map(str::to_string) else {
                        continue;
                    };
                    let q = self.resolve(k, &r)?;
                    let (gu, gw) = self.attr_group(q, k, depth + 1)?;
                    for u in gu {
                        if !uses.iter().any(|x| x.name == u.name) {
                            uses.push(u);
                        }
                    }
                    if gw.is_some() {
                        group_wild = gw;
                    }
                }
                "anyAttribute" => wild = Some(self.wildcard(k)?),
                _ => {}
            }
        }
        let wild = match (wild, group_wild) {
            (Some(a), Some(b)) => Some(self.intersect(a, b)),
            (a, b) => a.or(b),
        };
        Ok((uses, wild, prohibited))
    }

    fn intersect(&mut self, a: WildId, b: WildId) -> WildId {
        let (wa, wb) = (&self.wilds[a as usize], &self.wilds[b as usize]);
        if wa.ns == NsConstraint::Any {
            return b;
        }
        if wb.ns == NsConstraint::Any || wa.ns == wb.ns {
            return a;
        }
        if let (NsConstraint::List(x), NsConstraint::List(y)) = (&wa.ns, &wb.ns) {
            let common: Vec<NsId> = x.iter().copied().filter(|n| y.contains(n)).collect();
            let shown: Vec<String> = common
                .iter()
                .map(|&n| format!("\"{}\"", self.names.ns_str(n)))
                .collect();
            let pc = wa.pc;
            return self.add_wildcard(
                NsConstraint::List(common),
                pc,
                format!("WC[{}]", shown.join(",")).into(),
            );
        }
        a
    }

    fn attr_group(&mut self, q: QId, at: Def, depth: u32) -> R<(Vec<AttrUse>, Option<WildId>)> {
        if let Some(g) = self.agroups.get(&q) {
            return Ok(g.clone());
        }
        let Some(&def) = self.agroup_defs.get(&q) else {
            let line = self.line(at);
            let local = self.names.local(q).to_string();
            self.note_unsupported(
                at.inst,
                line,
                format!("unresolved attributeGroup '{local}' (ignored)"),
            );
            return Ok((Vec::new(), None));
        };
        if self.agroup_progress.get(&q) == Some(&Progress::Doing) || depth > 100 {
            let line = self.line(def);
            return Err(self.invalid(
                def.inst,
                line,
                "src-attribute_group.3: circular attributeGroup".into(),
            ));
        }
        self.agroup_progress.insert(q, Progress::Doing);
        let (u, w, _) = self.attributes(def, depth)?;
        self.agroup_progress.insert(q, Progress::Done);
        self.agroups.insert(q, (u.clone(), w));
        Ok((u, w))
    }

    /// Compiles the body of complex type `c` (its base first).
    fn ensure_complex(&mut self, c: CtId) -> R<()> {
        match self.complex_progress[c as usize] {
            Progress::Done => return Ok(()),
            Progress::Doing => {
                let def = self.complex_def[c as usize];
                let (inst, line) = def.map_or((0, 0), |d| (d.inst, self.line(d)));
                return Err(self.invalid(
                    inst,
                    line,
                    "ct-props-correct.3: circular type derivation".into(),
                ));
            }
            Progress::Todo => {}
        }
        self.complex_progress[c as usize] = Progress::Doing;
        let Some(def) = self.complex_def[c as usize] else {
            self.complex_progress[c as usize] = Progress::Done;
            return Ok(());
        };
        let ct = self.complex_body(c, def)?;
        self.complex[c as usize] = ct;
        self.complex_progress[c as usize] = Progress::Done;
        Ok(())
    }

    fn bool_attr(&self, def: Def, name: &str) -> bool {
        self.attr(def, name)
            .is_some_and(|v| matches!(v.trim(), "true" | "1"))
    }

    fn complex_body(&mut self, c: CtId, def: Def) -> R<ComplexType> {
        let name = self.complex[c as usize].name.clone();
        let inst_block = self.insts[def.inst as usize].block_default;
        let block = match self.attr(def, "block") {
            Some(b) => parse_block(Some(b)) & (DERIV_EXT | DERIV_RESTR),
            None => inst_block & (DERIV_EXT | DERIV_RESTR),
        };
        let abstract_ = self.bool_attr(def, "abstract");
        let mut mixed = self.bool_attr(def, "mixed");
        let kids = self.kids(def);
        let mut ct = ComplexType {
            name,
            base: TypeRef::Complex(ANY_TYPE),
            derivation: DERIV_RESTR,
            abstract_,
            block,
            content: Content::Empty,
            particle: None,
            mixed,
            attrs: Vec::new(),
            attr_wildcard: None,
        };
        let content_kid = kids
            .iter()
            .find(|(_, l)| matches!(&**l, "simpleContent" | "complexContent"))
            .cloned();
        match content_kid {
            Some((cc, kind)) if &*kind == "simpleContent" => {
                let Some((dk, dl)) = self
                    .kids(cc)
                    .into_iter()
                    .find(|(_, l)| matches!(&**l, "restriction" | "extension"))
                else {
                    let line = self.line(cc);
                    return Err(self.invalid(
                        cc.inst,
                        line,
                        "simpleContent without restriction or extension".into(),
                    ));
                };
                let base_name = self.attr(dk, "base").unwrap_or("").to_string();
                let base = self.type_ref(dk, &base_name)?;
                if let TypeRef::Complex(b) = base {
                    self.ensure_complex(b)?;
                }
                ct.base = base;
                let base_simple = match base {
                    TypeRef::Simple(s) => Some(s),
                    TypeRef::Complex(b) => match self.complex[b as usize].content {
                        Content::Simple(s) => Some(s),
                        // a mixed, emptiable base may be restricted to simple content
                        Content::Mixed(_) if &*dl == "restriction" => Some(0),
                        _ => None,
                    },
                };
                let Some(bs) = base_simple else {
                    let line = self.line(dk);
                    let u = self.note_unsupported(
                        dk.inst,
                        line,
                        "simpleContent on a base without simple content".into(),
                    );
                    let _ = u;
                    ct.content = Content::Empty;
                    return Ok(ct);
                };
                let (own, wild, prohibited) = self.attributes(dk, 0)?;
                if &*dl == "extension" {
                    ct.derivation = DERIV_EXT;
                    ct.content = Content::Simple(bs);
                    self.merge_attrs(&mut ct, base, own, wild, &prohibited, true);
                } else {
                    ct.derivation = DERIV_RESTR;
                    let inner = self
                        .kids(dk)
                        .into_iter()
                        .find(|(_, l)| &**l == "simpleType");
                    let start = match inner {
                        Some((d, _)) => {
                            let n = self.anon_name(d);
                            self.simple_type(d, n)?
                        }
                        None => bs,
                    };
                    let n = ct.name.to_string();
                    let st = self.restrict(dk, start, n)?;
                    ct.content = Content::Simple(st);
                    self.merge_attrs(&mut ct, base, own, wild, &prohibited, false);
                }
            }
            Some((cc, _)) => {
                if let Some(m) = self.attr(cc, "mixed") {
                    mixed = matches!(m.trim(), "true" | "1");
                    ct.mixed = mixed;
                }
                let Some((dk, dl)) = self
                    .kids(cc)
                    .into_iter()
                    .find(|(_, l)| matches!(&**l, "restriction" | "extension"))
                else {
                    let line = self.line(cc);
                    return Err(self.invalid(
                        cc.inst,
                        line,
                        "complexContent without restriction or extension".into(),
                    ));
                };
                let base_name = self.attr(dk, "base").unwrap_or("").to_string();
                let base = self.type_ref(dk, &base_name)?;
                let TypeRef::Complex(b) = base else {
                    let line = self.line(dk);
                    return Err(self.invalid(
                        dk.inst,
                        line,
                        "complexContent base is a simple type".into(),
                    ));
                };
                self.ensure_complex(b)?;
                ct.base = base;
                let particle = self.first_particle(dk)?;
                let (own, wild, prohibited) = self.attributes(dk, 0)?;
                if &*dl == "extension" {
                    ct.derivation = DERIV_EXT;
                    let bt = &self.complex[b as usize];
                    let own_p = particle.filter(|p| !p.is_empty());
                    let inherit_mixed = own_p.is_none() && !matches!(bt.content, Content::Empty);
                    let base_mixed = matches!(bt.content, Content::Mixed(_));
                    let merged = match (bt.content, &bt.particle, own_p) {
                        (Content::Empty, _, p) => p,
                        (_, bp, None) => bp.clone(),
                        (_, None, p) => p,
                        (_, Some(bp), Some(p)) => Some(Particle {
                            min: 1,
                            max: Some(1),
                            term: Term::Seq(vec![bp.clone(), p]),
                        }),
                    };
                    ct.mixed = if inherit_mixed { base_mixed } else { mixed };
                    self.set_particle(&mut ct, merged, def)?;
                    self.merge_attrs(&mut ct, base, own, wild, &prohibited, true);
                } else {
                    ct.derivation = DERIV_RESTR;
                    self.set_particle(&mut ct, particle, def)?;
                    self.merge_attrs(&mut ct, base, own, wild, &prohibited, false);
                }
            }
            None => {
                let particle = self.first_particle(def)?;
                let (own, wild, prohibited) = self.attributes(def, 0)?;
                let _ = prohibited;
                self.set_particle(&mut ct, particle, def)?;
                ct.attrs = own;
                ct.attr_wildcard = wild;
            }
        }
        Ok(ct)
    }

    fn first_particle(&mut self, def: Def) -> R<Option<Particle>> {
        for (k, l) in self.kids(def) {
            if matches!(&*l, "group" | "sequence" | "choice" | "all") {
                return self.particle(k, &l, 0);
            }
        }
        Ok(None)
    }

    /// Content type from the effective particle; builds its automaton.
    fn set_particle(&mut self, ct: &mut ComplexType, p: Option<Particle>, def: Def) -> R<()> {
        let p = p.filter(|p| !p.is_empty());
        if p.is_none() && !ct.mixed {
            ct.content = Content::Empty;
            ct.particle = None;
            return Ok(());
        }
        let cm = match build_cm(p.as_ref()) {
            Ok(cm) => cm,
            Err(e) => {
                let line = self.line(def);
                let u = self.note_unsupported(
                    def.inst,
                    line,
                    format!("content model of '{}' too large ({e:?})", ct.name),
                );
                let p2 = Particle {
                    min: 0,
                    max: None,
                    term: Term::Unsupported(u),
                };
                build_cm(Some(&p2)).unwrap_or_default()
            }
        };
        self.cms.push(cm);
        let id = (self.cms.len() - 1) as CmId;
        ct.content = if ct.mixed {
            Content::Mixed(id)
        } else {
            Content::Element(id)
        };
        ct.particle = p;
        Ok(())
    }

    /// Attribute uses: own first, then the base's (minus overridden and prohibited ones).
    fn merge_attrs(
        &mut self,
        ct: &mut ComplexType,
        base: TypeRef,
        own: Vec<AttrUse>,
        wild: Option<WildId>,
        prohibited: &[QId],
        extension: bool,
    ) {
        let mut uses = own;
        let mut base_wild = None;
        if let TypeRef::Complex(b) = base {
            let bt = &self.complex[b as usize];
            base_wild = bt.attr_wildcard;
            for u in &bt.attrs {
                if !uses.iter().any(|x| x.name == u.name) && !prohibited.contains(&u.name) {
                    uses.push(u.clone());
                }
            }
        }
        ct.attrs = uses;
        ct.attr_wildcard = if extension {
            match (wild, base_wild) {
                (Some(a), Some(b)) => Some(self.union_wild(a, b)),
                (a, b) => a.or(b),
            }
        } else {
            wild
        };
    }

    fn union_wild(&mut self, a: WildId, b: WildId) -> WildId {
        let (wa, wb) = (&self.wilds[a as usize], &self.wilds[b as usize]);
        if wa.ns == NsConstraint::Any || wa.ns == wb.ns {
            return a;
        }
        if wb.ns == NsConstraint::Any {
            return b;
        }
        a
    }
}
