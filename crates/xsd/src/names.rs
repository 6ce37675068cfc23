//! Interned names: namespace URIs and (namespace, local name) pairs.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A small, fast non-cryptographic hasher (FxHash) for the interning tables.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;
pub(crate) type FxSet<K> = std::collections::HashSet<K, BuildHasherDefault<FxHasher>>;

/// Interned namespace URI; 0 is "no namespace".
pub(crate) type NsId = u32;
/// Interned (namespace, local name).
pub(crate) type QId = u32;

pub(crate) const NO_NS: NsId = 0;

/// Interning tables; lookups by borrowed strings never allocate.
#[derive(Debug, Default)]
pub(crate) struct Names {
    ns: FxMap<Box<str>, NsId>,
    ns_str: Vec<Box<str>>,
    /// Per namespace: local name -> QId.
    locals: Vec<FxMap<Box<str>, QId>>,
    q: Vec<(NsId, Box<str>)>,
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
}
