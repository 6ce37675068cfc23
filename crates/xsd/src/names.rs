//! Interned names: namespace URIs and (namespace, local name) pairs.

pub(crate) use segur_xml::hash::{FxMap, FxSet};

/// Interned namespace URI; 0 is "no namespace".
pub(crate) type NsId = u32;
/// Interned (namespace, local name).
pub(crate) type QId = u32;

pub(crate) const NO_NS: NsId = 0;

/// A name's namespace and local part.
pub(crate) type QName = (NsId, Box<str>);

/// Interning tables; lookups by borrowed strings never allocate.
#[derive(Debug, Default)]
pub(crate) struct Names {
    ns: FxMap<Box<str>, NsId>,
    ns_str: Vec<Box<str>>,
    /// Per namespace: local name -> QId.
    locals: Vec<FxMap<Box<str>, QId>>,
    q: Vec<QName>,
}

impl Names {
    pub(crate) fn new() -> Names {
        let mut n = Names::default();
        n.ns_id("");
        n
    }

    pub(crate) fn ns_id(&mut self, uri: &str) -> NsId {
        if let Some(&id) = self.ns.get(uri) {
            return id;
        }
        let id = self.ns_str.len() as NsId;
        self.ns.insert(uri.into(), id);
        self.ns_str.push(uri.into());
        self.locals.push(FxMap::default());
        id
    }

    pub(crate) fn find_ns(&self, uri: &str) -> Option<NsId> {
        self.ns.get(uri).copied()
    }

    pub(crate) fn ns_str(&self, id: NsId) -> &str {
        &self.ns_str[id as usize]
    }

    pub(crate) fn qid(&mut self, ns: NsId, local: &str) -> QId {
        if let Some(&q) = self.locals[ns as usize].get(local) {
            return q;
        }
        let q = self.q.len() as QId;
        self.locals[ns as usize].insert(local.into(), q);
        self.q.push((ns, local.into()));
        q
    }

    pub(crate) fn find(&self, ns: &str, local: &str) -> Option<QId> {
        let n = self.find_ns(ns)?;
        self.locals[n as usize].get(local).copied()
    }

    pub(crate) fn local(&self, q: QId) -> &str {
        &self.q[q as usize].1
    }

    /// Xerces' rendering of an element declaration: `"ns":local`, or `local` without namespace.
    pub(crate) fn xerces_decl(&self, q: QId, out: &mut String) {
        let (ns, local) = &self.q[q as usize];
        if *ns != NO_NS {
            out.push('"');
            out.push_str(&self.ns_str[*ns as usize]);
            out.push_str("\":");
        }
        out.push_str(local);
    }

    /// The namespace URIs by id, and the (namespace, local name) pairs by id.
    pub(crate) fn parts(&self) -> (&[Box<str>], &[QName]) {
        (&self.ns_str, &self.q)
    }

    /// The tables whose [`Names::parts`] are these; `None` unless id 0 is "no namespace",
    /// every namespace id is in range and no URI nor pair is repeated.
    pub(crate) fn from_parts(ns_str: Vec<Box<str>>, q: Vec<QName>) -> Option<Names> {
        if ns_str.first().is_none_or(|n| !n.is_empty()) {
            return None;
        }
        let mut ns = FxMap::default();
        ns.reserve(ns_str.len());
        for (id, uri) in ns_str.iter().enumerate() {
            if ns.insert(uri.clone(), id as NsId).is_some() {
                return None;
            }
        }
        let mut locals: Vec<FxMap<Box<str>, QId>> = vec![FxMap::default(); ns_str.len()];
        for (id, (n, local)) in q.iter().enumerate() {
            let table = locals.get_mut(*n as usize)?;
            if table.insert(local.clone(), id as QId).is_some() {
                return None;
            }
        }
        Some(Names {
            ns,
            ns_str,
            locals,
            q,
        })
    }
}
