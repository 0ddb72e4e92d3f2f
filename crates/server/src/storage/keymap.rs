//! `KeyMap`: the insertion-ordered key → entry map of one database.
//!
//! Semantically an `IndexMap<Key, Entry>` restricted to what the keyspace
//! needs (lookups by `&[u8]`, insert, swap-remove, access by position), laid
//! out for memory and for prefetching: the dense vector holds `(Key, Entry)`
//! without a cached hash, indexed by a `types::slots::Slots` table of
//! tagged positions, which grows without touching a key and whose first
//! cache line per lookup is known from the hash alone: the connection loop
//! prefetches the slots, the entries and the values of a whole pipeline of
//! commands before running them (`prefetch_*`), so their cache misses
//! overlap instead of following one another.
//!
//! Hashes come from one process-wide keyed hasher (`hash_key`), so they can
//! be computed before any lock is taken.
//!
//! Order rules (SCAN depends on them, see the module above): insert appends;
//! removal moves the last entry into the hole.

use types::slots::{self, prefetch, Slots};

use super::{Entry, Key};

/// The hash every `KeyMap` indexes `key` by.
#[inline]
pub fn hash_key(key: &[u8]) -> u64 {
    slots::hash(key)
}

#[derive(Default)]
pub struct KeyMap {
    index: Slots,
    entries: Vec<(Key, Entry)>,
}

impl KeyMap {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The position of `key` given its hash.
    #[inline]
    pub fn position_hashed(&self, h: u64, key: &[u8]) -> Option<usize> {
        let entries = &self.entries;
        self.index.find(h, |p| *entries[p].0 == *key)
    }

    /// The position of `key`, for `entry_at`/`entry_at_mut` (valid until
    /// the map is next modified).
    #[inline]
    pub fn position(&self, key: &[u8]) -> Option<usize> {
        self.position_hashed(hash_key(key), key)
    }

    pub fn get(&self, key: &[u8]) -> Option<&Entry> {
        self.position(key).map(|i| &self.entries[i].1)
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let i = self.position(key)?;
        Some(&mut self.entries[i].1)
    }

    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.position(key).is_some()
    }

    /// The position of `key`, or its hash for `insert_absent`: one hash
    /// computation for a lookup that may be followed by an insert.
    pub fn find_or_slot(&mut self, key: &[u8]) -> Result<usize, u64> {
        let h = hash_key(key);
        self.position_hashed(h, key).ok_or(h)
    }

    /// Appends a key known to be absent, with the hash `find_or_slot` gave.
    pub fn insert_absent(&mut self, h: u64, key: Key, entry: Entry) {
        self.index.insert(h, self.entries.len());
        self.entries.push((key, entry));
    }

    /// Inserts or replaces; a replaced entry keeps its position and is
    /// returned.
    pub fn insert(&mut self, key: Key, entry: Entry) -> Option<Entry> {
        match self.find_or_slot(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, entry)),
            Err(h) => {
                self.insert_absent(h, key, entry);
                None
            }
        }
    }

    /// Removes `key`, moving the last entry into its position.
    pub fn swap_remove(&mut self, key: &[u8]) -> Option<Entry> {
        let entries = &self.entries;
        let i = self.index.remove(hash_key(key), |p| *entries[p].0 == *key)?;
        let last = self.entries.len() - 1;
        if i != last {
            self.index.repoint(hash_key(&self.entries[last].0), last, i);
        }
        let e = self.entries.swap_remove(i).1;
        self.index.shrink_if_sparse();
        Some(e)
    }

    /// The entry at a position from `position`.
    pub fn entry_at(&self, i: usize) -> &Entry {
        &self.entries[i].1
    }

    pub fn entry_at_mut(&mut self, i: usize) -> &mut Entry {
        &mut self.entries[i].1
    }

    pub fn get_index(&self, i: usize) -> Option<(&Key, &Entry)> {
        self.entries.get(i).map(|(k, e)| (k, e))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Key, &Entry)> {
        self.entries.iter().map(|(k, e)| (k, e))
    }

    /// Prefetch, step 1: the slot line where the probe for hash `h` starts.
    #[inline]
    pub fn prefetch_slot(&self, h: u64) {
        self.index.prefetch_slot(h);
    }

    /// Prefetch, step 3 (after step 2): the first heap line of the value of
    /// `key`, for the values whose reply reads it (strings). Returns the
    /// value, for the prefetch of collection members.
    #[inline]
    pub fn prefetch_value(&self, h: u64, key: &[u8]) -> Option<&super::Value> {
        let value = &self.entries[self.position_hashed(h, key)?].1.value;
        match value {
            super::Value::Str(super::Str::Emb(b)) => prefetch(b.as_ptr()),
            super::Value::Str(super::Str::Raw(v)) => prefetch(v.as_ptr()),
            _ => {}
        }
        Some(value)
    }

    /// Prefetch, step 2 (after step 1 has had time to land): the entry of
    /// the first slot whose tag matches, without comparing keys.
    #[inline]
    pub fn prefetch_entry(&self, h: u64) {
        if let Some(e) = self.index.candidate(h).and_then(|i| self.entries.get(i)) {
            prefetch(e as *const (Key, Entry));
        }
    }
}

impl<'a> IntoIterator for &'a KeyMap {
    type Item = (&'a Key, &'a Entry);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (Key, Entry)>, fn(&'a (Key, Entry)) -> (&'a Key, &'a Entry)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, e)| (k, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Str, Value};

    fn e(n: i64) -> Entry {
        Entry::new(Value::Str(Str::Int(n)), 0)
    }

    fn val(e: &Entry) -> i64 {
        match &e.value {
            Value::Str(s) => s.as_i64().unwrap(),
            _ => unreachable!(),
        }
    }

    #[test]
    fn grows_and_empties() {
        let mut m = KeyMap::default();
        for i in 0..5000 {
            assert!(m.insert(Key::from(format!("k{i}").as_bytes()), e(i)).is_none());
        }
        assert_eq!(m.index.len(), m.len());
        for i in (0..5000).rev().step_by(2) {
            assert_eq!(m.swap_remove(format!("k{i}").as_bytes()).map(|e| val(&e)), Some(i));
        }
        for i in 0..5000 {
            assert_eq!(m.get(format!("k{i}").as_bytes()).map(val), (i % 2 == 0).then_some(i));
        }
        for i in (0..5000).step_by(2) {
            assert!(m.swap_remove(format!("k{i}").as_bytes()).is_some());
        }
        assert!(m.is_empty() && m.index.is_empty() && m.index.mem_usage() == 0);
    }

    #[test]
    fn matches_a_model_under_churn() {
        let mut m = KeyMap::default();
        let mut model: indexmap::IndexMap<Vec<u8>, i64> = indexmap::IndexMap::new();
        let mut x: u64 = 12345;
        for step in 0..20000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let k = format!("key:{}", (x >> 33) % 500).into_bytes();
            if (x >> 20) % 3 == 0 {
                assert_eq!(m.swap_remove(&k).map(|e| val(&e)), model.swap_remove(&k));
            } else {
                assert_eq!(m.insert(Key::from(&k[..]), e(step)).map(|e| val(&e)), model.insert(k, step));
            }
        }
        assert_eq!(m.len(), model.len());
        for (i, (k, v)) in model.iter().enumerate() {
            let (mk, me) = m.get_index(i).unwrap();
            assert_eq!((&mk[..], val(me)), (&k[..], *v));
            assert_eq!(m.get(k).map(val), Some(*v));
        }
        assert!(m.get(b"absent").is_none() && m.get_index(m.len()).is_none());
        assert_eq!(m.index.len(), m.len());
        assert_eq!(m.iter().count(), m.len());
    }
}
