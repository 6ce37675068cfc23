//! The document's name index ([`crate::Document::elements_named`]) gathered while elements
//! are read: each element is counted under its name's slot as it comes, and the lists are
//! filled at the end, each allocated once at its final length (growing a list per name as
//! elements came made thousands of reallocations per document).

use crate::hash::FxMap;
use crate::intern::ExpandedName;

/// Entries of the cache in front of the map of slots (a power of two).
const CACHE: usize = 256;

/// A cache key no name has: ids stay below 2^24 (see [`crate::intern`]).
const NO_KEY: u64 = u64::MAX;

/// The elements read so far, by name.
pub(super) struct NameIndex {
    /// Recent names, by a hash of their ids: `(ns << 32 | local, slot)`.
    cache: Box<[(u64, u32); CACHE]>,
    /// The slot of every name seen.
    slots: FxMap<ExpandedName, u32>,
    /// The name of every slot.
    names: Vec<ExpandedName>,
    /// The elements of every slot so far.
    counts: Vec<u32>,
    /// Every element, in document order, with its slot: `(slot, node)`.
    elements: Vec<(u32, u32)>,
}

impl NameIndex {
    /// An empty index for about `elements` elements.
    pub(super) fn with_capacity(elements: usize) -> NameIndex {
        NameIndex {
            cache: Box::new([(NO_KEY, 0); CACHE]),
            slots: FxMap::default(),
            names: Vec::new(),
            counts: Vec::new(),
            elements: Vec::with_capacity(elements),
        }
    }

    /// Adds `node`, an element named `name` (after every element before it).
    #[inline]
    pub(super) fn add(&mut self, name: ExpandedName, node: u32) {
        let key = u64::from(name.ns.id()) << 32 | u64::from(name.local.id());
        let h = (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - CACHE.trailing_zeros())) as usize;
        let slot = match self.cache[h] {
            (k, slot) if k == key => slot,
            _ => {
                let slot = *self.slots.entry(name).or_insert_with(|| {
                    self.names.push(name);
                    self.counts.push(0);
                    (self.names.len() - 1) as u32
                });
                self.cache[h] = (key, slot);
                slot
            }
        };
        self.counts[slot as usize] += 1;
        self.elements.push((slot, node));
    }

    /// The elements by name, in document order.
    pub(super) fn finish(self) -> FxMap<ExpandedName, Vec<u32>> {
        let mut lists: Vec<Vec<u32>> = self
            .counts
            .iter()
            .map(|&c| Vec::with_capacity(c as usize))
            .collect();
        for &(slot, node) in &self.elements {
            lists[slot as usize].push(node);
        }
        self.names.into_iter().zip(lists).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::{CACHE, NameIndex};
    use crate::intern::{ExpandedName, Name};

    /// Names that share a cache entry, and more names than the cache holds, keep their own
    /// lists, in the order elements came.
    #[test]
    fn every_name_keeps_its_elements_in_order() {
        let names: Vec<ExpandedName> = (0..3 * CACHE)
            .map(|i| ExpandedName {
                ns: Name::intern(if i % 3 == 0 { "urn:a" } else { "" }),
                local: Name::intern(&format!("n{}", i % (CACHE + 7))),
            })
            .collect();
        let mut index = NameIndex::with_capacity(0);
        let mut expected: std::collections::HashMap<ExpandedName, Vec<u32>> = Default::default();
        for round in 0..4u32 {
            for (i, &name) in names.iter().enumerate() {
                let node = round * 10_000 + i as u32;
                index.add(name, node);
                expected.entry(name).or_default().push(node);
            }
        }
        let built = index.finish();
        assert_eq!(built.len(), expected.len());
        for (name, nodes) in expected {
            assert_eq!(built[&name], nodes, "{name}");
        }
    }
}
