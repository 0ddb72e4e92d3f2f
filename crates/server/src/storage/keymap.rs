//! `KeyMap`: the insertion-ordered key → entry map of one database.
//!
//! Semantically an `IndexMap<Key, Entry>` restricted to what the keyspace
//! needs (lookups by `&[u8]`, insert, swap-remove, access by position), laid
//! out for memory: the dense vector holds `(Key, Entry)` without a cached
//! hash, and the hash table holds `u32` positions (4 bytes + 1 control byte
//! per bucket instead of 8 + 1). The price is re-hashing keys when the table
//! grows, which ahash does quickly for short keys.
//!
//! Order rules (SCAN depends on them, see the module above): insert appends;
//! removal moves the last entry into the hole.

use hashbrown::HashTable;

use super::{Entry, Hasher, Key};

#[derive(Default)]
pub struct KeyMap {
    table: HashTable<u32>,
    entries: Vec<(Key, Entry)>,
    hasher: Hasher,
}

impl KeyMap {
    fn hash(hasher: &Hasher, key: &[u8]) -> u64 {
        hasher.hash_one(key)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The position of `key`, for `entry_at`/`entry_at_mut` (valid until
    /// the map is next modified).
    #[inline]
    pub fn position(&self, key: &[u8]) -> Option<usize> {
        let h = Self::hash(&self.hasher, key);
        let entries = &self.entries;
        self.table.find(h, |&i| &*entries[i as usize].0 == key).map(|&i| i as usize)
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

    /// The position of `key`, or where a new key with the same hash goes:
    /// one hash computation for a lookup that may be followed by an insert.
    pub fn find_or_slot(&mut self, key: &[u8]) -> Result<usize, u64> {
        let h = Self::hash(&self.hasher, key);
        let entries = &self.entries;
        match self.table.find(h, |&i| &*entries[i as usize].0 == key) {
            Some(&i) => Ok(i as usize),
            None => Err(h),
        }
    }

    /// Appends a key known to be absent, with the hash `find_or_slot` gave.
    pub fn insert_absent(&mut self, h: u64, key: Key, entry: Entry) {
        let n = self.entries.len();
        let pos = u32::try_from(n).expect("fewer than 2^32 keys per shard and database");
        let (entries, hasher) = (&self.entries, &self.hasher);
        self.table.insert_unique(h, pos, |&i| Self::hash(hasher, &entries[i as usize].0));
        self.entries.push((key, entry));
    }

    /// Inserts or replaces; a replaced entry keeps its position and is
    /// returned.
    pub fn insert(&mut self, key: Key, entry: Entry) -> Option<Entry> {
        if let Some(i) = self.position(&key) {
            return Some(std::mem::replace(&mut self.entries[i].1, entry));
        }
        let n = self.entries.len();
        let pos = u32::try_from(n).expect("fewer than 2^32 keys per shard and database");
        let h = Self::hash(&self.hasher, &key);
        let (entries, hasher) = (&self.entries, &self.hasher);
        self.table.insert_unique(h, pos, |&i| Self::hash(hasher, &entries[i as usize].0));
        self.entries.push((key, entry));
        None
    }

    /// Removes `key`, moving the last entry into its position.
    pub fn swap_remove(&mut self, key: &[u8]) -> Option<Entry> {
        let h = Self::hash(&self.hasher, key);
        let entries = &self.entries;
        let found = self.table.find_entry(h, |&i| &*entries[i as usize].0 == key).ok()?;
        let i = found.remove().0 as usize;
        let last = self.entries.len() - 1;
        if i != last {
            let lh = Self::hash(&self.hasher, &self.entries[last].0);
            let slot = self.table.find_mut(lh, |&j| j as usize == last).expect("every position is indexed");
            *slot = i as u32;
        }
        Some(self.entries.swap_remove(i).1)
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
        assert_eq!(m.iter().count(), m.len());
    }
}
