//! `Dense`: insertion-ordered keyed items laid out for memory (`DenseSet`
//! for large sets, `Dense<(field, value)>` for large hashes).
//!
//! The items sit in one dense vector (short `Bytes16` strings inline, no
//! allocation each); a hash table of `u32` positions indexes them (4 bytes
//! and a control byte per bucket, no cached hash: the table re-hashes
//! keys when it grows). Semantically an `IndexSet`/`IndexMap` restricted
//! to what large sets need: O(1) lookup, append, swap-remove (the last
//! member moves into the hole) and access by position, which gives random
//! members and a scan cursor that walks positions downward.

use crate::bytes16::Bytes16;
use hashbrown::HashTable;

/// What a dense collection stores: something with a byte-string key.
pub trait Keyed {
    fn key(&self) -> &[u8];
    /// Heap bytes owned besides the item itself.
    fn heap_bytes(&self) -> usize;
}

impl Keyed for Bytes16 {
    #[inline]
    fn key(&self) -> &[u8] {
        self
    }

    fn heap_bytes(&self) -> usize {
        Bytes16::heap_bytes(self)
    }
}

/// A field and its value (large hashes).
impl Keyed for (Bytes16, Bytes16) {
    #[inline]
    fn key(&self) -> &[u8] {
        &self.0
    }

    fn heap_bytes(&self) -> usize {
        self.0.heap_bytes() + self.1.heap_bytes()
    }
}

/// Items in insertion order (until a swap-remove), indexed by key.
#[derive(Clone)]
pub struct Dense<T> {
    items: Vec<T>,
    index: HashTable<u32>,
    hasher: ahash::RandomState,
}

pub type DenseSet = Dense<Bytes16>;

impl<T> Default for Dense<T> {
    fn default() -> Self {
        Dense { items: Vec::new(), index: HashTable::new(), hasher: Default::default() }
    }
}

impl<T: Keyed + std::fmt::Debug> std::fmt::Debug for Dense<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.items.iter()).finish()
    }
}

impl<T: Keyed> Dense<T> {
    pub fn with_capacity(n: usize) -> Self {
        Dense { items: Vec::with_capacity(n), index: HashTable::with_capacity(n), hasher: Default::default() }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    #[inline]
    fn hash(&self, k: &[u8]) -> u64 {
        self.hasher.hash_one(k)
    }

    /// The position of the item with key `k`.
    pub fn find(&self, k: &[u8]) -> Option<usize> {
        let items = &self.items;
        self.index.find(self.hash(k), |&i| items[i as usize].key() == k).map(|&i| i as usize)
    }

    pub fn contains(&self, k: &[u8]) -> bool {
        self.find(k).is_some()
    }

    pub fn get(&self, i: usize) -> Option<&T> {
        self.items.get(i)
    }

    pub fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        self.items.get_mut(i)
    }

    /// Appends an item whose key is absent (the caller checked).
    pub fn push_new(&mut self, item: T) {
        let pos = u32::try_from(self.items.len()).expect("fewer than 2^32 items");
        let (items, hasher) = (&self.items, &self.hasher);
        self.index.insert_unique(hasher.hash_one(item.key()), pos, |&i| hasher.hash_one(items[i as usize].key()));
        self.items.push(item);
    }

    /// Removes the item with key `k`, moving the last item into its position.
    pub fn swap_remove_key(&mut self, k: &[u8]) -> Option<T> {
        let h = self.hash(k);
        let items = &self.items;
        let e = self.index.find_entry(h, |&i| items[i as usize].key() == k).ok()?;
        let i = e.remove().0 as usize;
        Some(self.fill_hole(i))
    }

    /// Removes and returns the item at position `i`.
    pub fn swap_remove_index(&mut self, i: usize) -> Option<T> {
        let h = self.hash(self.items.get(i)?.key());
        if let Ok(found) = self.index.find_entry(h, |&j| j as usize == i) {
            found.remove();
        }
        Some(self.fill_hole(i))
    }

    /// Moves the last item into position `i` (already unindexed) and
    /// returns the item that was there.
    fn fill_hole(&mut self, i: usize) -> T {
        let last = self.items.len() - 1;
        if i != last {
            let lh = self.hash(self.items[last].key());
            let slot = self.index.find_mut(lh, |&j| j as usize == last).expect("every position is indexed");
            *slot = i as u32;
        }
        let out = self.items.swap_remove(i);
        if self.items.capacity() > 64 && self.items.len() < self.items.capacity() / 4 {
            self.items.shrink_to(self.items.len() * 2);
            let (items, hasher) = (&self.items, &self.hasher);
            self.index.shrink_to(items.len() * 2, |&j| hasher.hash_one(items[j as usize].key()));
        }
        out
    }

    pub fn items(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }

    /// Approximate heap bytes used.
    pub fn mem_usage(&self) -> usize {
        self.items.capacity() * std::mem::size_of::<T>()
            + self.index.capacity() * 5
            + self.items.iter().map(|b| b.heap_bytes()).sum::<usize>()
    }
}

/// The set view (large sets).
impl Dense<Bytes16> {
    /// Appends `m` if absent; true if it was added.
    pub fn insert(&mut self, m: &[u8]) -> bool {
        if self.contains(m) {
            return false;
        }
        self.push_new(Bytes16::new(m));
        true
    }

    /// Removes `m`, moving the last member into its position.
    pub fn swap_remove(&mut self, m: &[u8]) -> bool {
        self.swap_remove_key(m).is_some()
    }

    pub fn get_index(&self, i: usize) -> Option<&[u8]> {
        self.items.get(i).map(|b| &**b)
    }

    pub fn iter(&self) -> DenseIter<'_> {
        DenseIter(self.items.iter())
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
