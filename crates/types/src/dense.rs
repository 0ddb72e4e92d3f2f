//! `Dense`: insertion-ordered keyed items laid out for memory (`DenseSet`
//! for large sets, `Dense<(field, value)>` for large hashes).
//!
//! The items sit in one dense vector (short `Bytes16` strings inline, no
//! allocation each); a `Slots` table of tagged positions indexes them (8
//! bytes per slot, grown without re-hashing a key, prefetchable a pipeline
//! ahead). Semantically an `IndexSet`/`IndexMap` restricted
//! to what large sets need: O(1) lookup, append, swap-remove (the last
//! member moves into the hole) and access by position, which gives random
//! members and a scan cursor that walks positions downward.

use crate::bytes16::Bytes16;
use crate::slots::{self, Slots};

/// What a dense collection stores: something with a byte-string key.
pub trait Keyed {
    fn key(&self) -> &[u8];
    /// Heap bytes owned besides the item itself.
    fn heap_bytes(&self) -> usize;
    /// Prefetches the heap bytes a lookup or an update reads.
    fn prefetch_heap(&self);
}

impl Keyed for Bytes16 {
    #[inline]
    fn key(&self) -> &[u8] {
        self
    }

    fn heap_bytes(&self) -> usize {
        Bytes16::heap_bytes(self)
    }

    #[inline]
    fn prefetch_heap(&self) {
        slots::prefetch(self.as_slice().as_ptr());
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

    #[inline]
    fn prefetch_heap(&self) {
        slots::prefetch(self.0.as_slice().as_ptr());
        slots::prefetch(self.1.as_slice().as_ptr());
    }
}

/// Items in insertion order (until a swap-remove), indexed by key.
#[derive(Clone)]
pub struct Dense<T> {
    items: Vec<T>,
    index: Slots,
}

pub type DenseSet = Dense<Bytes16>;

impl<T> Default for Dense<T> {
    fn default() -> Self {
        Dense { items: Vec::new(), index: Slots::new() }
    }
}

impl<T: Keyed + std::fmt::Debug> std::fmt::Debug for Dense<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.items.iter()).finish()
    }
}

impl<T: Keyed> Dense<T> {
    pub fn with_capacity(n: usize) -> Self {
        Dense { items: Vec::with_capacity(n), index: Slots::with_capacity(n) }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The position of the item with key `k`.
    #[inline]
    pub fn find(&self, k: &[u8]) -> Option<usize> {
        self.find_hashed(slots::hash(k), k)
    }

    /// `find` with the key's hash (`slots::hash`) already computed.
    #[inline]
    pub fn find_hashed(&self, h: u64, k: &[u8]) -> Option<usize> {
        let items = &self.items;
        self.index.find(h, |i| items[i].key() == k)
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
        self.push_new_hashed(slots::hash(item.key()), item);
    }

    /// `push_new` with the key's hash already computed.
    pub fn push_new_hashed(&mut self, h: u64, item: T) {
        self.index.insert(h, self.items.len());
        self.items.push(item);
    }

    /// Removes the item with key `k`, moving the last item into its position.
    pub fn swap_remove_key(&mut self, k: &[u8]) -> Option<T> {
        let items = &self.items;
        let i = self.index.remove(slots::hash(k), |i| items[i].key() == k)?;
        Some(self.fill_hole(i))
    }

    /// Removes and returns the item at position `i`.
    pub fn swap_remove_index(&mut self, i: usize) -> Option<T> {
        let h = slots::hash(self.items.get(i)?.key());
        self.index.remove_pos(h, i);
        Some(self.fill_hole(i))
    }

    /// Moves the last item into position `i` (already unindexed) and
    /// returns the item that was there.
    fn fill_hole(&mut self, i: usize) -> T {
        let last = self.items.len() - 1;
        if i != last {
            self.index.repoint(slots::hash(self.items[last].key()), last, i);
        }
        let out = self.items.swap_remove(i);
        if self.items.capacity() > 64 && self.items.len() < self.items.capacity() / 4 {
            self.items.shrink_to(self.items.len() * 2);
        }
        self.index.shrink_if_sparse();
        out
    }

    /// Prefetch step `step` for a key of hash `h` (`slots::hash`): 0 its
    /// slot line, 1 (once 0 has landed) the item that slot points at, 2 the
    /// item's heap bytes. Only hints: nothing changes, nothing is compared.
    #[inline]
    pub fn prefetch(&self, h: u64, step: u8) {
        if step == 0 {
            return self.index.prefetch_slot(h);
        }
        if let Some(item) = self.index.candidate(h).and_then(|i| self.items.get(i)) {
            if step == 1 {
                slots::prefetch(item as *const T);
            } else {
                item.prefetch_heap();
            }
        }
    }

    pub fn items(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }

    /// Approximate heap bytes used.
    pub fn mem_usage(&self) -> usize {
        self.items.capacity() * std::mem::size_of::<T>()
            + self.index.mem_usage()
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
