//! `KeyMap`: the insertion-ordered key → entry map of one database.
//!
//! Semantically an `IndexMap<Key, Entry>` restricted to what the keyspace
//! needs (lookups by `&[u8]`, insert, swap-remove, access by position), laid
//! out for memory and for prefetching: the dense vector holds `(Key, Entry)`
//! without a cached hash, and the index is an open-addressing table of
//! `u64` slots, each the upper 32 bits of the key's hash (the tag) beside
//! its position + 1 (0 = empty), probed linearly from `tag & mask` and kept
//! at most 3/4 full. Because a slot's home is derived from its own tag, the
//! table grows without touching a key, and a lookup's first cache line is
//! known from the hash alone: the connection loop prefetches the slots, the
//! entries and the values of a whole pipeline of commands before running
//! them (`prefetch_*`), so their cache misses overlap instead of following
//! one another. Removal shifts the following slots back (no tombstones).
//!
//! Hashes come from one process-wide keyed hasher (`hash_key`), so they can
//! be computed before any lock is taken.
//!
//! Order rules (SCAN depends on them, see the module above): insert appends;
//! removal moves the last entry into the hole.

use std::sync::OnceLock;

use super::{Entry, Key};

/// The process-wide key hasher (random keys, chosen once).
fn hasher() -> &'static ahash::RandomState {
    static H: OnceLock<ahash::RandomState> = OnceLock::new();
    H.get_or_init(ahash::RandomState::new)
}

/// The hash every `KeyMap` indexes `key` by.
#[inline]
pub fn hash_key(key: &[u8]) -> u64 {
    hasher().hash_one(key)
}

#[inline]
fn tag_of(h: u64) -> u32 {
    (h >> 32) as u32
}

#[inline]
fn slot_tag(s: u64) -> u32 {
    (s >> 32) as u32
}

#[inline]
fn slot_pos(s: u64) -> usize {
    (s as u32 as usize) - 1
}

#[inline]
fn make_slot(tag: u32, pos: usize) -> u64 {
    ((tag as u64) << 32) | (pos as u64 + 1)
}

#[inline]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch(p as *const i8, std::arch::x86_64::_MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

#[derive(Default)]
pub struct KeyMap {
    /// Power-of-two length, or empty.
    slots: Vec<u64>,
    entries: Vec<(Key, Entry)>,
}

impl KeyMap {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    #[inline]
    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    /// The slot index holding `key` (hash `h`), if present.
    #[inline]
    fn find_slot(&self, h: u64, key: &[u8]) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let (tag, mask) = (tag_of(h), self.mask());
        let mut i = tag as usize & mask;
        loop {
            let s = self.slots[i];
            if s == 0 {
                return None;
            }
            if slot_tag(s) == tag && &*self.entries[slot_pos(s)].0 == key {
                return Some(i);
            }
            i = (i + 1) & mask;
        }
    }

    /// The position of `key` given its hash.
    #[inline]
    pub fn position_hashed(&self, h: u64, key: &[u8]) -> Option<usize> {
        self.find_slot(h, key).map(|i| slot_pos(self.slots[i]))
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

    /// Doubles the table (or creates it) when one more key would pass 3/4.
    fn reserve_one(&mut self) {
        let cap = self.slots.len();
        if (self.entries.len() + 1) * 4 <= cap * 3 {
            return;
        }
        let new_cap = (cap * 2).max(8);
        let old = std::mem::replace(&mut self.slots, vec![0; new_cap]);
        let mask = new_cap - 1;
        for s in old.into_iter().filter(|&s| s != 0) {
            let mut i = slot_tag(s) as usize & mask;
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = s;
        }
    }

    /// Appends a key known to be absent, with the hash `find_or_slot` gave.
    pub fn insert_absent(&mut self, h: u64, key: Key, entry: Entry) {
        self.reserve_one();
        let pos = self.entries.len();
        assert!(pos < u32::MAX as usize, "fewer than 2^32 - 1 keys per shard and database");
        let mask = self.mask();
        let mut i = tag_of(h) as usize & mask;
        while self.slots[i] != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = make_slot(tag_of(h), pos);
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

    /// Empties slot `i`, shifting back the slots of its probe run that may
    /// move closer to their home (linear probing without tombstones).
    fn clear_slot(&mut self, mut i: usize) {
        let mask = self.mask();
        let mut j = i;
        loop {
            j = (j + 1) & mask;
            let s = self.slots[j];
            if s == 0 {
                break;
            }
            let home = slot_tag(s) as usize & mask;
            // The slot may fill the hole at `i` unless its home lies
            // cyclically in (i, j].
            let stays = if i <= j { i < home && home <= j } else { i < home || home <= j };
            if !stays {
                self.slots[i] = s;
                i = j;
            }
        }
        self.slots[i] = 0;
    }

    /// Removes `key`, moving the last entry into its position.
    pub fn swap_remove(&mut self, key: &[u8]) -> Option<Entry> {
        let si = self.find_slot(hash_key(key), key)?;
        let i = slot_pos(self.slots[si]);
        self.clear_slot(si);
        let last = self.entries.len() - 1;
        if i != last {
            let lh = hash_key(&self.entries[last].0);
            let (tag, mask) = (tag_of(lh), self.mask());
            let mut j = tag as usize & mask;
            while self.slots[j] != make_slot(tag, last) {
                j = (j + 1) & mask;
            }
            self.slots[j] = make_slot(tag, i);
        }
        let e = self.entries.swap_remove(i).1;
        if self.entries.is_empty() {
            self.slots = Vec::new();
        }
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
        if !self.slots.is_empty() {
            prefetch(&self.slots[tag_of(h) as usize & self.mask()]);
        }
    }

    /// Prefetch, step 3 (after step 2): the first heap line of the value of
    /// `key`, for the values whose reply reads it (strings).
    #[inline]
    pub fn prefetch_value(&self, h: u64, key: &[u8]) {
        if let Some(i) = self.position_hashed(h, key) {
            match &self.entries[i].1.value {
                super::Value::Str(super::Str::Emb(b)) => prefetch(b.as_ptr()),
                super::Value::Str(super::Str::Raw(v)) => prefetch(v.as_ptr()),
                _ => {}
            }
        }
    }

    /// Prefetch, step 2 (after step 1 has had time to land): the entry of
    /// the first slot whose tag matches, without comparing keys.
    #[inline]
    pub fn prefetch_entry(&self, h: u64) {
        if self.slots.is_empty() {
            return;
        }
        let (tag, mask) = (tag_of(h), self.mask());
        let mut i = tag as usize & mask;
        for _ in 0..8 {
            let s = self.slots[i];
            if s == 0 {
                return;
            }
            if slot_tag(s) == tag {
                prefetch(&self.entries[slot_pos(s)]);
                return;
            }
            i = (i + 1) & mask;
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
        assert!(m.slots.len() * 3 >= m.len() * 4);
        for i in (0..5000).rev().step_by(2) {
            assert_eq!(m.swap_remove(format!("k{i}").as_bytes()).map(|e| val(&e)), Some(i));
        }
        for i in 0..5000 {
            assert_eq!(m.get(format!("k{i}").as_bytes()).map(val), (i % 2 == 0).then_some(i));
        }
        for i in (0..5000).step_by(2) {
            assert!(m.swap_remove(format!("k{i}").as_bytes()).is_some());
        }
        assert!(m.is_empty() && m.slots.is_empty());
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
        // Every slot points at its own entry.
        assert_eq!(m.slots.iter().filter(|&&s| s != 0).count(), m.len());
        assert_eq!(m.iter().count(), m.len());
    }
}
