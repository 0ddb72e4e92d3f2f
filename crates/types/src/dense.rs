//! `DenseSet`: an insertion-ordered set of byte strings laid out for memory.
//!
//! The members sit in one dense vector of `Bytes16` (short members inline,
//! no allocation each); a hash table of `u32` positions indexes them (4 bytes
//! and a control byte per bucket, no cached hash: the table re-hashes
//! members when it grows). Semantically an `IndexSet<Box<[u8]>>` restricted
//! to what large sets need: O(1) lookup, append, swap-remove (the last
//! member moves into the hole) and access by position, which gives random
//! members and a scan cursor that walks positions downward.

use crate::bytes16::Bytes16;
use hashbrown::HashTable;

#[derive(Clone, Default)]
pub struct DenseSet {
    items: Vec<Bytes16>,
    index: HashTable<u32>,
    hasher: ahash::RandomState,
}

impl std::fmt::Debug for DenseSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.items.iter()).finish()
    }
}

impl DenseSet {
    pub fn with_capacity(n: usize) -> DenseSet {
        DenseSet { items: Vec::with_capacity(n), index: HashTable::with_capacity(n), hasher: Default::default() }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    #[inline]
    fn hash(&self, m: &[u8]) -> u64 {
        self.hasher.hash_one(m)
    }

    fn position(&self, m: &[u8]) -> Option<usize> {
        let items = &self.items;
        self.index.find(self.hash(m), |&i| &*items[i as usize] == m).map(|&i| i as usize)
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        self.position(m).is_some()
    }

    /// Appends `m` if absent; true if it was added.
    pub fn insert(&mut self, m: &[u8]) -> bool {
        if self.contains(m) {
            return false;
        }
        let pos = u32::try_from(self.items.len()).expect("fewer than 2^32 members");
        let (items, hasher) = (&self.items, &self.hasher);
        self.index.insert_unique(hasher.hash_one(m), pos, |&i| hasher.hash_one(&*items[i as usize]));
        self.items.push(Bytes16::new(m));
        true
    }

    /// Removes `m`, moving the last member into its position.
    pub fn swap_remove(&mut self, m: &[u8]) -> bool {
        let h = self.hash(m);
        let items = &self.items;
        match self.index.find_entry(h, |&i| &*items[i as usize] == m) {
            Ok(e) => {
                let i = e.remove().0 as usize;
                self.fill_hole(i);
                true
            }
            Err(_) => false,
        }
    }

    /// Removes and returns the member at position `i`.
    pub fn swap_remove_index(&mut self, i: usize) -> Option<Bytes16> {
        let h = self.hash(self.items.get(i)?);
        let found = self.index.find_entry(h, |&j| j as usize == i).ok().expect("every position is indexed");
        found.remove();
        Some(self.fill_hole(i))
    }

    /// Moves the last member into position `i` (already unindexed) and
    /// returns the member that was there.
    fn fill_hole(&mut self, i: usize) -> Bytes16 {
        let last = self.items.len() - 1;
        if i != last {
            let lh = self.hash(&self.items[last]);
            let slot = self.index.find_mut(lh, |&j| j as usize == last).expect("every position is indexed");
            *slot = i as u32;
        }
        let out = self.items.swap_remove(i);
        if self.items.capacity() > 64 && self.items.len() < self.items.capacity() / 4 {
            self.items.shrink_to(self.items.len() * 2);
            let (items, hasher) = (&self.items, &self.hasher);
            self.index.shrink_to(items.len() * 2, |&j| hasher.hash_one(&*items[j as usize]));
        }
        out
    }

    pub fn get_index(&self, i: usize) -> Option<&[u8]> {
        self.items.get(i).map(|b| &**b)
    }

    pub fn iter(&self) -> DenseIter<'_> {
        DenseIter(self.items.iter())
    }

    /// Approximate heap bytes used.
    pub fn mem_usage(&self) -> usize {
        self.items.capacity() * 16
            + self.index.capacity() * 5
            + self.items.iter().map(|b| b.heap_bytes()).sum::<usize>()
    }
}

pub struct DenseIter<'a>(std::slice::Iter<'a, Bytes16>);

impl<'a> Iterator for DenseIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        self.0.next().map(|b| &**b)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn behaves_like_a_set() {
        let mut s = DenseSet::default();
        let mut model = BTreeSet::new();
        for i in 0..5000u32 {
            let m = format!("member-{}", (i * 7919) % 3000).into_bytes();
            assert_eq!(s.insert(&m), model.insert(m.clone()));
            if i % 3 == 0 {
                let r = format!("member-{}", (i * 31) % 3000).into_bytes();
                assert_eq!(s.swap_remove(&r), model.remove(&r));
            }
            if i % 11 == 0 && !s.is_empty() {
                let m = s.swap_remove_index(i as usize % s.len()).expect("in range");
                assert!(model.remove(&*m));
            }
        }
        assert_eq!(s.len(), model.len());
        assert_eq!(s.iter().map(|m| m.to_vec()).collect::<BTreeSet<_>>(), model);
        for m in &model {
            assert!(s.contains(m));
        }
        while !s.is_empty() {
            s.swap_remove_index(0);
        }
        assert!(!s.contains(b"member-1"));
    }
}
