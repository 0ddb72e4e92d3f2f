//! `Slots`: an open-addressing index from hashes to positions, for the
//! collections that keep their items in a dense vector (large hashes and
//! sets, the member index of large sorted sets).
//!
//! Each slot is one `u64`: the upper 32 bits of the item's hash (the tag)
//! beside its position + 1 (0 = empty). Slots are probed linearly from
//! `tag & mask` and the table is kept at most 3/4 full. Because a slot's
//! home comes from its own tag, the table grows and shrinks without reading
//! a single item, and the first cache line of a lookup is known from the
//! hash alone: a caller that knows several lookups ahead prefetches their
//! slot lines, then the items their tags point at (`prefetch_slot`,
//! `candidate`), so the cache misses of a pipeline of commands overlap.
//! Removal shifts the following slots of the probe run back (no
//! tombstones). The caller compares keys: `find` takes a closure that says
//! whether the item at a position is the one sought.
//!
//! Hashes come from one process-wide keyed hasher (`hash`), so they can be
//! computed before the collection is at hand.

use std::sync::OnceLock;

/// The process-wide member hasher (random keys, chosen once).
fn hasher() -> &'static ahash::RandomState {
    static H: OnceLock<ahash::RandomState> = OnceLock::new();
    H.get_or_init(ahash::RandomState::new)
}

/// The hash every `Slots` index is keyed by.
#[inline]
pub fn hash(b: &[u8]) -> u64 {
    hasher().hash_one(b)
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

/// A hint to the memory system; never faults, whatever the address.
#[inline]
pub fn prefetch<T: ?Sized>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch(p as *const u8 as *const i8, std::arch::x86_64::_MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

#[derive(Clone, Default, Debug)]
pub struct Slots {
    /// Power-of-two length, or empty.
    slots: Vec<u64>,
    len: usize,
}

impl Slots {
    pub fn new() -> Slots {
        Slots::default()
    }

    /// An index that takes `n` positions without growing.
    pub fn with_capacity(n: usize) -> Slots {
        let mut s = Slots::new();
        if n > 0 {
            s.slots = vec![0; Self::table_for(n)];
        }
        s
    }

    /// The table length that holds `n` positions at most 3/4 full.
    fn table_for(n: usize) -> usize {
        (n.saturating_mul(4) / 3 + 1).next_power_of_two().max(8)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Heap bytes of the table.
    pub fn mem_usage(&self) -> usize {
        self.slots.capacity() * 8
    }

    #[inline]
    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    /// The slot holding the position that hash `h` and `eq` select.
    #[inline]
    fn find_slot(&self, h: u64, mut eq: impl FnMut(usize) -> bool) -> Option<usize> {
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
            if slot_tag(s) == tag && eq(slot_pos(s)) {
                return Some(i);
            }
            i = (i + 1) & mask;
        }
    }

    /// The position whose item has hash `h` and satisfies `eq`.
    #[inline]
    pub fn find(&self, h: u64, eq: impl FnMut(usize) -> bool) -> Option<usize> {
        self.find_slot(h, eq).map(|i| slot_pos(self.slots[i]))
    }

    /// Rebuilds the table with `cap` slots (a power of two that holds
    /// every position).
    fn rebuild(&mut self, cap: usize) {
        let old = std::mem::replace(&mut self.slots, vec![0; cap]);
        let mask = cap - 1;
        for s in old.into_iter().filter(|&s| s != 0) {
            let mut i = slot_tag(s) as usize & mask;
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = s;
        }
    }

    /// Adds position `pos` (not yet indexed) for an item of hash `h`.
    pub fn insert(&mut self, h: u64, pos: usize) {
        assert!(pos < u32::MAX as usize, "fewer than 2^32 - 1 items");
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.rebuild((self.slots.len() * 2).max(8));
        }
        let (tag, mask) = (tag_of(h), self.mask());
        let mut i = tag as usize & mask;
        while self.slots[i] != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = make_slot(tag, pos);
        self.len += 1;
    }

    /// Empties slot `i`, shifting back the slots of its probe run that may
    /// move closer to their home.
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
        self.len -= 1;
    }

    /// Removes the position that `h` and `eq` select and returns it.
    pub fn remove(&mut self, h: u64, eq: impl FnMut(usize) -> bool) -> Option<usize> {
        let i = self.find_slot(h, eq)?;
        let pos = slot_pos(self.slots[i]);
        self.clear_slot(i);
        Some(pos)
    }

    /// Removes position `pos`, indexed under hash `h`; false if absent.
    pub fn remove_pos(&mut self, h: u64, pos: usize) -> bool {
        self.remove(h, |p| p == pos).is_some()
    }

    /// The item of hash `h` at position `from` now lives at `to`.
    pub fn repoint(&mut self, h: u64, from: usize, to: usize) {
        if let Some(i) = self.find_slot(h, |p| p == from) {
            self.slots[i] = make_slot(tag_of(h), to);
        }
    }

    /// Gives memory back when the table is at most 1/8 full (the smallest
    /// table that keeps it at most 3/4 full afterwards).
    pub fn shrink_if_sparse(&mut self) {
        if self.len == 0 {
            self.slots = Vec::new();
        } else if self.slots.len() > 64 && self.len * 8 <= self.slots.len() {
            self.rebuild(Self::table_for(self.len));
        }
    }

    pub fn clear(&mut self) {
        self.slots = Vec::new();
        self.len = 0;
    }

    /// Prefetch, step 1: the slot line where the probe for hash `h` starts.
    #[inline]
    pub fn prefetch_slot(&self, h: u64) {
        if !self.slots.is_empty() {
            prefetch(&self.slots[tag_of(h) as usize & self.mask()]);
        }
    }

    /// Prefetch, step 2 (after step 1 has had time to land): the position
    /// of the first slot whose tag matches `h` (the item to prefetch next),
    /// without comparing keys. Looks at most one cache line of slots.
    #[inline]
    pub fn candidate(&self, h: u64) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let (tag, mask) = (tag_of(h), self.mask());
        let mut i = tag as usize & mask;
        for _ in 0..8 {
            let s = self.slots[i];
            if s == 0 {
                return None;
            }
            if slot_tag(s) == tag {
                return Some(slot_pos(s));
            }
            i = (i + 1) & mask;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A model: keys are u64s, items[pos] = key; hashes collide on purpose
    /// (only a few tag values) so probe runs are long.
    struct M {
        idx: Slots,
        items: Vec<u64>,
    }

    fn h(k: u64, collide: bool) -> u64 {
        let x = hash(&k.to_le_bytes());
        if collide {
            (x & 0x0000_0003_0000_0000) | (x & 0xffff_ffff)
        } else {
            x
        }
    }

    impl M {
        fn find(&self, k: u64, c: bool) -> Option<usize> {
            self.idx.find(h(k, c), |p| self.items[p] == k)
        }
        fn add(&mut self, k: u64, c: bool) {
            if self.find(k, c).is_none() {
                self.idx.insert(h(k, c), self.items.len());
                self.items.push(k);
            }
        }
        fn del(&mut self, k: u64, c: bool) -> bool {
            let items = &self.items;
            let Some(p) = self.idx.remove(h(k, c), |p| items[p] == k) else { return false };
            let last = self.items.len() - 1;
            if p != last {
                let lk = self.items[last];
                self.idx.repoint(h(lk, c), last, p);
            }
            self.items.swap_remove(p);
            self.idx.shrink_if_sparse();
            true
        }
    }

    fn churn(collide: bool) {
        let mut m = M { idx: Slots::new(), items: Vec::new() };
        let mut model: HashMap<u64, ()> = HashMap::new();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let n = if collide { 300 } else { 3000 };
        for step in 0..60_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let k = x % n;
            // Grow for a while, then shrink.
            let add = if step < 30_000 { x % 3 != 0 } else { x % 3 == 0 };
            if add {
                m.add(k, collide);
                model.insert(k, ());
            } else {
                assert_eq!(m.del(k, collide), model.remove(&k).is_some());
            }
            assert_eq!(m.idx.len(), model.len());
            if step % 997 == 0 {
                for k in 0..n {
                    assert_eq!(m.find(k, collide).is_some(), model.contains_key(&k), "key {k}");
                }
                for (p, &k) in m.items.iter().enumerate() {
                    assert_eq!(m.find(k, collide), Some(p));
                }
            }
        }
    }

    #[test]
    fn matches_a_model_under_churn() {
        churn(false);
    }

    #[test]
    fn matches_a_model_with_colliding_tags() {
        churn(true);
    }

    #[test]
    fn candidate_points_at_the_item() {
        let mut s = Slots::with_capacity(100);
        for p in 0..100u64 {
            s.insert(hash(&p.to_le_bytes()), p as usize);
        }
        let cap = s.slots.len();
        for p in 0..100u64 {
            let c = s.candidate(hash(&p.to_le_bytes()));
            assert!(c.is_none() || c.is_some_and(|c| c < 100));
        }
        assert_eq!(s.slots.len(), cap, "with_capacity sized the table");
        assert_eq!(Slots::new().candidate(1), None);
        s.clear();
        assert!(s.is_empty() && s.find(hash(b"x"), |_| true).is_none());
    }
}
