//! A small, fast non-cryptographic hasher (FxHash) for hash maps keyed by integers and short
//! strings inside one process (interning tables, per-document indexes). Not for keys an
//! attacker chooses to collide: the tables it serves are keyed by schema and rule names or by
//! node indexes.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// The FxHash state.
#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// The FNV-1a offset basis: the starting state of [`fnv1a`].
pub const FNV1A_START: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a over `bytes` from state `h`, usable in constants: build fingerprints of source files
/// (`include_bytes!`) that key on-disk caches, so a build that reads differently never reads
/// another build's cache.
pub const fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    h
}

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

/// A `HashMap` with [`FxHasher`].
pub type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;
/// A `HashSet` with [`FxHasher`].
pub type FxSet<K> = HashSet<K, BuildHasherDefault<FxHasher>>;

const MIX: u64 = 0x5170_2d6b_2f37_9a9d;

/// A 64-bit checksum fed eight bytes at a time, for on-disk cache images (detects truncation
/// and damage; not a defence against someone who can write the cache directory).
pub struct Checksum {
    h: u64,
    pending: [u8; 8],
    npending: usize,
    len: u64,
}

impl Checksum {
    /// A checksum of nothing yet.
    pub fn new() -> Self {
        Checksum {
            h: 0x9e37_79b9_7f4a_7c15,
            pending: [0; 8],
            npending: 0,
            len: 0,
        }
    }

    fn word(&mut self, w: u64) {
        self.h = (self.h.rotate_left(5) ^ w).wrapping_mul(MIX);
    }

    /// Feeds `bytes` (any split of the same bytes gives the same checksum).
    pub fn update(&mut self, mut bytes: &[u8]) {
        self.len += bytes.len() as u64;
        if self.npending > 0 {
            let take = (8 - self.npending).min(bytes.len());
            self.pending[self.npending..self.npending + take].copy_from_slice(&bytes[..take]);
            self.npending += take;
            bytes = &bytes[take..];
            if self.npending < 8 {
                return;
            }
            self.word(u64::from_le_bytes(self.pending));
            self.npending = 0;
        }
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.word(u64::from_le_bytes([
                c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
            ]));
        }
        let rest = chunks.remainder();
        self.pending[..rest.len()].copy_from_slice(rest);
        self.npending = rest.len();
    }

    /// The checksum of every byte fed, and of their count.
    pub fn finish(mut self) -> u64 {
        for i in 0..self.npending {
            let b = self.pending[i];
            self.word(u64::from(b));
        }
        let len = self.len;
        self.word(len);
        self.h ^ (self.h >> 29)
    }
}

impl Default for Checksum {
    fn default() -> Self {
        Checksum::new()
    }
}
