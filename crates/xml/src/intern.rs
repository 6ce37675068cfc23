//! The process-wide name interner: names compare as integers across documents and expressions.

use std::collections::HashMap;
use std::fmt;
use std::sync::{LazyLock, OnceLock, RwLock};

/// An interned string (a namespace URI, local name or prefix); equal strings have equal ids.
///
/// Interned strings live for the whole process: the set of distinct names seen is small in
/// practice (CDA, value sets, schematrons), but a process fed unbounded distinct names grows.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(u32);

struct Interner {
    ids: HashMap<&'static str, u32>,
    len: u32,
}

/// Names per chunk of the string table.
const CHUNK: usize = 1 << 12;
/// Chunks: at most `CHUNK * CHUNKS` (16.7 M) distinct names per process.
const CHUNKS: usize = 1 << 12;

/// The strings by id, readable without a lock (each slot is written once, under the
/// interner's write lock, before its id is published): `as_str` runs in hot loops on every
/// thread, and a shared lock there would make the threads contend for its cache line.
static STRINGS: [OnceLock<Box<[OnceLock<&'static str>]>>; CHUNKS] =
    [const { OnceLock::new() }; CHUNKS];

static INTERNER: LazyLock<RwLock<Interner>> = LazyLock::new(|| {
    let mut interner = Interner {
        ids: HashMap::new(),
        len: 0,
    };
    interner.insert("");
    RwLock::new(interner)
});

impl Interner {
    fn insert(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.len;
        let (chunk, slot) = (id as usize / CHUNK, id as usize % CHUNK);
        let Some(chunk) = STRINGS.get(chunk) else {
            // The table is full: further names share the empty string's id (they then match
            // no name test); 16.7 M distinct names means a hostile input anyway.
            return 0;
        };
        let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
        let chunk = chunk.get_or_init(|| (0..CHUNK).map(|_| OnceLock::new()).collect());
        // The slot is fresh (ids only grow), so it cannot already hold a string.
        let _ = chunk[slot].set(leaked);
        self.len += 1;
        self.ids.insert(leaked, id);
        id
    }
}

impl Name {
    /// The empty string: no namespace, no prefix.
    pub const EMPTY: Name = Name(0);

    /// Interns `s`, returning its id.
    pub fn intern(s: &str) -> Name {
        if let Some(name) = Name::lookup(s) {
            return name;
        }
        let mut interner = INTERNER.write().unwrap_or_else(|e| e.into_inner());
        Name(interner.insert(s))
    }

    /// The id of `s` if it was ever interned (a name never interned matches no node).
    pub fn lookup(s: &str) -> Option<Name> {
        let interner = INTERNER.read().unwrap_or_else(|e| e.into_inner());
        interner.ids.get(s).map(|&id| Name(id))
    }

    /// The interned string.
    #[inline]
    pub fn as_str(self) -> &'static str {
        let (chunk, slot) = (self.0 as usize / CHUNK, self.0 as usize % CHUNK);
        STRINGS
            .get(chunk)
            .and_then(OnceLock::get)
            .and_then(|c| c.get(slot))
            .and_then(OnceLock::get)
            .copied()
            .unwrap_or("")
    }

    /// Whether this is the empty string.
    pub fn is_empty(self) -> bool {
        self == Name::EMPTY
    }

    /// The raw id (stable for the life of the process only).
    pub fn id(self) -> u32 {
        self.0
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A namespace URI and a local name: what name tests compare.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct ExpandedName {
    /// The namespace URI ([`Name::EMPTY`] for none).
    pub ns: Name,
    /// The local name.
    pub local: Name,
}

impl ExpandedName {
    /// Interns both parts.
    pub fn new(ns: &str, local: &str) -> ExpandedName {
        ExpandedName {
            ns: Name::intern(ns),
            local: Name::intern(local),
        }
    }
}

impl fmt::Display for ExpandedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ns.is_empty() {
            write!(f, "{}", self.local)
        } else {
            write!(f, "Q{{{}}}{}", self.ns, self.local)
        }
    }
}
