//! A per-thread table of qualified names as written (`prefix:local`) to their interned parts,
//! kept from one document to the next: CDA documents repeat the same few hundred element and
//! attribute names, and a name seen once is found again with a hash of at most four words and
//! a comparison of those words, without the interner's lock, its hash of the string, nor a
//! byte comparison.
//!
//! The answer for a name is a function of its bytes alone (interned names live for the whole
//! process), so a cache shared by every document of a thread gives the same names as the
//! per-document reading.

use std::cell::Cell;

use crate::intern::Name;

/// Longest name kept (in bytes): four words. Longer names take the per-document map.
pub(super) const MAX_LEN: usize = 32;

/// Slots of the open-addressing table (a power of two).
const SLOTS: usize = 2048;

/// Names kept at most (half the slots, so that a probe ends soon); the table is emptied when
/// a name would go beyond.
const MAX_NAMES: usize = SLOTS / 2;

#[derive(Clone, Copy)]
struct Slot {
    /// The name's bytes, little-endian, zero after its end.
    words: [u64; 4],
    /// The name's length; 0 for an empty slot (no name is empty).
    len: u32,
    prefix: Name,
    local: Name,
}

const EMPTY: Slot = Slot {
    words: [0; 4],
    len: 0,
    prefix: Name::EMPTY,
    local: Name::EMPTY,
};

/// The slots and how many of them hold a name.
struct Table {
    slots: [Slot; SLOTS],
    len: usize,
}

/// The table of one thread, lent to one parse at a time (see [`QnameCache::take`]).
pub(super) struct QnameCache {
    /// Always `Some` but in [`Drop`].
    table: Option<Box<Table>>,
}

thread_local! {
    /// The thread's table between two parses.
    static CACHE: Cell<Option<Box<Table>>> = const { Cell::new(None) };
}

/// A name's bytes as cache words: `len` bytes of `input` at `at`, read eight at a time (so
/// up to seven bytes past the name, which must lie in `input`), zero after the name.
#[inline]
pub(super) fn key(input: &[u8], at: usize, len: usize) -> Option<[u64; 4]> {
    if len == 0 || len > MAX_LEN {
        return None;
    }
    let words = len.div_ceil(8);
    let bytes = input.get(at..at + words * 8)?;
    let mut key = [0u64; 4];
    for (k, chunk) in bytes.chunks_exact(8).enumerate() {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        key[k] = u64::from_le_bytes(w);
    }
    let tail = len % 8;
    if tail != 0 {
        key[words - 1] &= (1u64 << (8 * tail)) - 1;
    }
    Some(key)
}

/// The slot of a key.
#[inline]
fn slot_of(key: &[u64; 4], len: usize) -> usize {
    let mixed = key[0] ^ key[1].rotate_left(17) ^ key[2].rotate_left(31) ^ key[3].rotate_left(47);
    let h = (mixed ^ len as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (h >> (64 - SLOTS.trailing_zeros())) as usize
}

impl QnameCache {
    /// The thread's table (a fresh one the first time, or while another parse of the thread
    /// holds it); [`Drop`] gives it back.
    pub(super) fn take() -> QnameCache {
        let table = CACHE
            .try_with(Cell::take)
            .ok()
            .flatten()
            .unwrap_or_else(|| {
                Box::new(Table {
                    slots: [EMPTY; SLOTS],
                    len: 0,
                })
            });
        QnameCache { table: Some(table) }
    }

    /// The parts of the name with this key and length, when kept.
    #[inline]
    pub(super) fn get(&self, key: &[u64; 4], len: usize) -> Option<(Name, Name)> {
        let slots = &self.table.as_deref()?.slots;
        let mut i = slot_of(key, len);
        loop {
            let s = &slots[i];
            if s.len as usize == len && s.words == *key {
                return Some((s.prefix, s.local));
            }
            if s.len == 0 {
                return None;
            }
            i = (i + 1) % SLOTS;
        }
    }

    /// Keeps the parts of the name with this key and length (not kept yet).
    pub(super) fn insert(&mut self, key: [u64; 4], len: usize, parts: (Name, Name)) {
        let Some(table) = self.table.as_deref_mut() else {
            return;
        };
        if table.len >= MAX_NAMES {
            table.slots.fill(EMPTY);
            table.len = 0;
        }
        let mut i = slot_of(&key, len);
        while table.slots[i].len != 0 {
            i = (i + 1) % SLOTS;
        }
        table.slots[i] = Slot {
            words: key,
            len: len as u32,
            prefix: parts.0,
            local: parts.1,
        };
        table.len += 1;
    }
}

impl Drop for QnameCache {
    fn drop(&mut self) {
        let table = self.table.take();
        // A thread that is ending has no table to give back to: this one is dropped.
        let _ = CACHE.try_with(|c| c.set(table));
    }
}

#[cfg(test)]
mod tests {
    use super::{MAX_LEN, MAX_NAMES, QnameCache, key};
    use crate::intern::Name;
    use crate::{Document, Limits};

    /// Keys are the name's bytes, whatever follows them in the input; too long a name, or one
    /// too near the end of the input to be read by words, has none.
    #[test]
    fn keys_hold_the_name_and_nothing_after_it() {
        let input = b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH";
        for len in 1..=MAX_LEN {
            let a = key(input, 0, len).expect("a key");
            let other = [input[..len].to_vec(), b"########".to_vec()].concat();
            assert_eq!(Some(a), key(&other, 0, len), "{len}");
            assert_ne!(Some(a), key(input, 1, len), "{len}");
        }
        assert_eq!(key(input, 0, 0), None);
        assert_eq!(key(input, 0, MAX_LEN + 1), None);
        assert_eq!(key(input, input.len() - 3, 3), None);
        assert!(key(input, input.len() - 8, 8).is_some());
    }

    /// Names are found again with their parts, names of the same bytes but another length
    /// are apart, and a table past its size starts again empty.
    #[test]
    fn the_table_finds_what_it_keeps() {
        let mut cache = QnameCache::take();
        let names: Vec<String> = (0..3 * MAX_NAMES).map(|i| format!("p:n{i}")).collect();
        for (i, n) in names.iter().enumerate() {
            let k = key(format!("{n}        ").as_bytes(), 0, n.len()).expect("a key");
            if cache.get(&k, n.len()).is_none() {
                cache.insert(k, n.len(), (Name::intern("p"), Name::intern(&n[2..])));
            }
            let got = cache.get(&k, n.len()).expect("just kept");
            assert_eq!(got, (Name::intern("p"), Name::intern(&n[2..])), "{i}");
        }
        let with_nul = key(b"p:n1\0       ", 0, 5).expect("a key");
        assert_eq!(cache.get(&with_nul, 5), None);
    }

    /// Documents read one after the other by a thread share the table: the names of each are
    /// those its own reading gives, past the table's size too.
    #[test]
    fn documents_of_one_thread_read_their_own_names() {
        for round in 0..3 {
            let xml: String = std::iter::once("<r xmlns:p='urn:p'>".to_owned())
                .chain((0..MAX_NAMES + 100).map(|i| {
                    let i = i * (round + 1);
                    format!("<p:e{i} a{i}='1' p:b{i}='2'/><e{i}/>")
                }))
                .chain(std::iter::once("</r>".to_owned()))
                .collect();
            let doc = Document::parse(xml.as_bytes(), &Limits::default()).expect("parses");
            let root = doc.document_element().expect("a root");
            for (k, e) in doc.element_children(root).enumerate() {
                let i = (k / 2) * (round + 1);
                let (ns, prefix) = if k % 2 == 0 { ("urn:p", "p") } else { ("", "") };
                assert_eq!(doc.local_name(e), format!("e{i}"));
                assert_eq!(doc.namespace_uri(e), ns);
                assert_eq!(doc.prefix(e).as_str(), prefix);
                let attrs: Vec<_> = doc
                    .attributes(e)
                    .map(|a| (doc.qualified_name(a).into_owned(), doc.namespace_uri(a)))
                    .collect();
                if k % 2 == 0 {
                    assert_eq!(attrs, [(format!("a{i}"), ""), (format!("p:b{i}"), "urn:p")]);
                }
            }
        }
    }
}
