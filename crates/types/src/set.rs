//! Sets, in Redis 7.0's two encodings.
//!
//! * `Ints` ("intset"): the members are all integers (as `string2ll` reads
//!   them) and there are at most `set-max-intset-entries` of them. They are
//!   kept sorted in one byte buffer whose cell width (2, 4 or 8 bytes) is the
//!   smallest that fits every member, as Redis's intset does; lookups are
//!   binary searches and the iteration order is ascending, which is the order
//!   Redis replies in.
//! * `Table` ("hashtable"): an insertion-ordered hash set (`IndexSet`). Its
//!   dense entry vector gives O(1) random members (SPOP, SRANDMEMBER) and a
//!   scan cursor that walks positions from the end toward zero, so a member
//!   present for a whole SSCAN is never missed (removals swap the last entry
//!   into the hole; inserts append past the cursor).
//!
//! * `Small` (also reported as "hashtable"): a small set of strings packed
//!   in one buffer; Redis 7.0 would use a hash table, whose order is
//!   unspecified anyway, so only memory differs. It becomes a `Table` past
//!   128 members or for a member longer than 64 bytes.
//!
//! Conversions follow Redis 7.0: an intset becomes a table when a non-integer
//! is added or when it grows past the limit, and never converts back. Redis
//! 7.0 has no listpack sets (they came in 7.2), so neither do we.

use crate::dense::{DenseIter, DenseSet};
use crate::hash::{get_varint, put_varint};
use rand::Rng;

pub type TableSet = DenseSet;

/// A sorted set of integers stored in the narrowest cell width that fits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntSet {
    width: u8,
    data: Vec<u8>,
}

impl Default for IntSet {
    fn default() -> Self {
        IntSet { width: 2, data: Vec::new() }
    }
}

fn width_for(v: i64) -> u8 {
    if v >= i16::MIN as i64 && v <= i16::MAX as i64 {
        2
    } else if v >= i32::MIN as i64 && v <= i32::MAX as i64 {
        4
    } else {
        8
    }
}

impl IntSet {
    /// The cell width in bytes (2, 4 or 8): the widest member ever held,
    /// as Redis's intset encoding (it never narrows).
    pub fn width(&self) -> u8 {
        self.width
    }

    pub fn len(&self) -> usize {
        self.data.len() / self.width as usize
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The member at position `i` (ascending order).
    pub fn get(&self, i: usize) -> i64 {
        let w = self.width as usize;
        let c = &self.data[i * w..i * w + w];
        match w {
            2 => i16::from_le_bytes([c[0], c[1]]) as i64,
            4 => i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64,
            _ => i64::from_le_bytes(c.try_into().expect("8 bytes")),
        }
    }

    fn put(&mut self, i: usize, v: i64) {
        let w = self.width as usize;
        let c = &mut self.data[i * w..i * w + w];
        match w {
            2 => c.copy_from_slice(&(v as i16).to_le_bytes()),
            4 => c.copy_from_slice(&(v as i32).to_le_bytes()),
            _ => c.copy_from_slice(&v.to_le_bytes()),
        }
    }

    /// Binary search: `Ok(position)` or `Err(insertion point)`.
    pub fn find(&self, v: i64) -> Result<usize, usize> {
        if width_for(v) > self.width {
            return Err(if v < 0 { 0 } else { self.len() });
        }
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.get(mid).cmp(&v) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }

    pub fn contains(&self, v: i64) -> bool {
        self.find(v).is_ok()
    }

    fn upgrade(&mut self, width: u8) {
        let old: Vec<i64> = self.iter().collect();
        self.width = width;
        self.data = vec![0; old.len() * width as usize];
        for (i, v) in old.into_iter().enumerate() {
            self.put(i, v);
        }
    }

    /// Adds `v`; false if it was present.
    pub fn insert(&mut self, v: i64) -> bool {
        let w = width_for(v);
        if w > self.width {
            self.upgrade(w);
        }
        match self.find(v) {
            Ok(_) => false,
            Err(at) => {
                let wb = self.width as usize;
                let pos = at * wb;
                self.data.splice(pos..pos, std::iter::repeat_n(0, wb));
                self.put(at, v);
                true
            }
        }
    }

    /// Removes `v`; false if it was absent.
    pub fn remove(&mut self, v: i64) -> bool {
        match self.find(v) {
            Ok(at) => {
                self.remove_at(at);
                true
            }
            Err(_) => false,
        }
    }

    pub fn remove_at(&mut self, at: usize) -> i64 {
        let v = self.get(at);
        let w = self.width as usize;
        self.data.drain(at * w..at * w + w);
        v
    }

    pub fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }

    /// Heap bytes used.
    pub fn mem_usage(&self) -> usize {
        self.data.capacity()
    }
}

/// One member as stored: an integer of an intset or the bytes of a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Member<'a> {
    Int(i64),
    Bytes(&'a [u8]),
}

impl Member<'_> {
    /// The member's bytes; integers are formatted into `buf`.
    pub fn as_bytes<'b>(&'b self, buf: &'b mut itoa::Buffer) -> &'b [u8] {
        match self {
            Member::Int(n) => buf.format(*n).as_bytes(),
            Member::Bytes(b) => b,
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.as_bytes(&mut itoa::Buffer::new()).to_vec()
    }
}

/// Members of a small set of strings packed in one buffer (each prefixed by
/// its length as a varint). Redis 7.0 keeps such sets in a hash table and
/// reports "hashtable"; we report the same name (its order is unspecified
/// either way) but spend a few bytes per member instead of a table entry and
/// an allocation. It becomes a real table past `SMALL_MAX_LEN` members or
/// for a member longer than `SMALL_MAX_MEMBER`.
#[derive(Clone, Debug, Default)]
pub struct SmallSet {
    buf: Vec<u8>,
    n: u32,
}

const SMALL_MAX_LEN: usize = 128;
const SMALL_MAX_MEMBER: usize = 64;

impl SmallSet {
    fn len(&self) -> usize {
        self.n as usize
    }

    /// (start, end, member) of each entry.
    fn slots(&self) -> impl Iterator<Item = (usize, usize, &[u8])> + '_ {
        let mut at = 0;
        std::iter::from_fn(move || {
            if at >= self.buf.len() {
                return None;
            }
            let (l, p) = get_varint(&self.buf, at);
            let start = at;
            at = p + l;
            Some((start, at, &self.buf[p..p + l]))
        })
    }

    fn find(&self, m: &[u8]) -> Option<(usize, usize)> {
        self.slots().find(|s| s.2 == m).map(|s| (s.0, s.1))
    }

    fn push(&mut self, m: &[u8]) {
        put_varint(&mut self.buf, m.len());
        self.buf.extend_from_slice(m);
        self.n += 1;
    }

    fn remove_range(&mut self, a: usize, b: usize) {
        self.buf.drain(a..b);
        self.n -= 1;
    }

    fn fits(&self, m: &[u8]) -> bool {
        self.len() < SMALL_MAX_LEN && m.len() <= SMALL_MAX_MEMBER
    }
}

#[derive(Clone, Debug)]
pub enum Set {
    Ints(IntSet),
    Small(SmallSet),
    Table(TableSet),
}

fn as_int(m: &[u8]) -> Option<i64> {
    crate::num::parse_i64(m)
}

impl Set {
    /// An empty set that can hold `first` (Redis's setTypeCreate): an intset
    /// when it is an integer.
    pub fn for_member(first: &[u8]) -> Set {
        if as_int(first).is_some() {
            Set::Ints(IntSet::default())
        } else {
            Set::Small(SmallSet::default())
        }
    }

    /// An empty intset (where SUNION and friends start from).
    pub fn new_ints() -> Set {
        Set::Ints(IntSet::default())
    }

    pub fn len(&self) -> usize {
        match self {
            Set::Ints(s) => s.len(),
            Set::Small(s) => s.len(),
            Set::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Set::Ints(_) => "intset",
            Set::Small(_) | Set::Table(_) => "hashtable",
        }
    }

    /// True when members are found through an index (`prefetch_member`
    /// does something).
    pub fn has_index(&self) -> bool {
        matches!(self, Set::Table(_))
    }

    /// Prefetch step `step` for a member of hash `h` (`slots::hash`), see
    /// `Dense::prefetch`; nothing to do for the compact encodings.
    #[inline]
    pub fn prefetch_member(&self, h: u64, step: u8) {
        if let Set::Table(t) = self {
            t.prefetch(h, step);
        }
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        match self {
            Set::Ints(s) => as_int(m).map(|v| s.contains(v)).unwrap_or(false),
            Set::Small(s) => s.find(m).is_some(),
            Set::Table(t) => t.contains(m),
        }
    }

    /// Membership of a member taken from another set (no formatting when
    /// both sides are intsets).
    pub fn contains_member(&self, m: Member<'_>) -> bool {
        match (self, m) {
            (Set::Ints(s), Member::Int(v)) => s.contains(v),
            (_, m) => self.contains(m.as_bytes(&mut itoa::Buffer::new())),
        }
    }

    fn convert_to_table(&mut self) {
        let mut t = TableSet::with_capacity(self.len() + 1);
        let mut b = itoa::Buffer::new();
        for m in self.iter() {
            t.insert(m.as_bytes(&mut b));
        }
        *self = Set::Table(t);
    }

    /// An intset that receives a non-integer: small ones stay packed.
    fn leave_ints(&mut self, incoming: &[u8]) {
        if let Set::Ints(s) = self {
            if s.len() < SMALL_MAX_LEN && incoming.len() <= SMALL_MAX_MEMBER {
                let mut small = SmallSet::default();
                let mut b = itoa::Buffer::new();
                s.iter().for_each(|v| small.push(b.format(v).as_bytes()));
                *self = Set::Small(small);
            } else {
                self.convert_to_table();
            }
        }
    }

    /// Adds a member; true if it was new. `max_intset` is
    /// set-max-intset-entries.
    pub fn add(&mut self, m: &[u8], max_intset: usize) -> bool {
        if let Set::Ints(s) = self {
            match as_int(m) {
                Some(v) => {
                    if !s.insert(v) {
                        return false;
                    }
                    if s.len() > max_intset.min(1 << 30) {
                        self.convert_to_table();
                    }
                    return true;
                }
                None => self.leave_ints(m),
            }
        }
        if let Set::Small(s) = self {
            if s.find(m).is_some() {
                return false;
            }
            if s.fits(m) {
                s.push(m);
                return true;
            }
            self.convert_to_table();
        }
        match self {
            Set::Table(t) => t.insert(m),
            _ => unreachable!("converted above"),
        }
    }

    /// Adds a member taken from another set.
    pub fn add_member(&mut self, m: Member<'_>, max_intset: usize) -> bool {
        match (&mut *self, m) {
            (Set::Ints(s), Member::Int(v)) => {
                if !s.insert(v) {
                    return false;
                }
                if s.len() > max_intset.min(1 << 30) {
                    self.convert_to_table();
                }
                true
            }
            (_, m) => self.add(m.as_bytes(&mut itoa::Buffer::new()), max_intset),
        }
    }

    /// Removes a member; true if it was present.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self {
            Set::Ints(s) => as_int(m).map(|v| s.remove(v)).unwrap_or(false),
            Set::Small(s) => match s.find(m) {
                Some((a, b)) => {
                    s.remove_range(a, b);
                    true
                }
                None => false,
            },
            Set::Table(t) => t.swap_remove(m),
        }
    }

    pub fn remove_member(&mut self, m: Member<'_>) -> bool {
        match (&mut *self, m) {
            (Set::Ints(s), Member::Int(v)) => s.remove(v),
            (_, m) => self.remove(m.as_bytes(&mut itoa::Buffer::new())),
        }
    }

    /// The member at position `i` (< len): ascending for intsets, entry
    /// order otherwise. O(i) for small packed sets.
    pub fn get_index(&self, i: usize) -> Member<'_> {
        match self {
            Set::Ints(s) => Member::Int(s.get(i)),
            Set::Small(s) => Member::Bytes(s.slots().nth(i).expect("index below len").2),
            Set::Table(t) => Member::Bytes(t.get_index(i).expect("index below len")),
        }
    }

    pub fn iter(&self) -> SetIter<'_> {
        match self {
            Set::Ints(s) => SetIter::Ints(s, 0),
            Set::Small(s) => SetIter::Small(s, 0),
            Set::Table(t) => SetIter::Table(t.iter()),
        }
    }

    /// A uniformly random member; None if empty.
    pub fn random(&self, rng: &mut impl Rng) -> Option<Member<'_>> {
        if self.is_empty() {
            return None;
        }
        Some(self.get_index(rng.gen_range(0..self.len())))
    }

    /// Removes and returns a uniformly random member.
    pub fn pop_random(&mut self, rng: &mut impl Rng) -> Option<Vec<u8>> {
        if self.is_empty() {
            return None;
        }
        let i = rng.gen_range(0..self.len());
        Some(match self {
            Set::Ints(s) => itoa::Buffer::new().format(s.remove_at(i)).as_bytes().to_vec(),
            Set::Small(s) => {
                let (a, b, m) = s.slots().nth(i).expect("index below len");
                let m = m.to_vec();
                s.remove_range(a, b);
                m
            }
            Set::Table(t) => t.swap_remove_index(i).expect("index below len").to_vec(),
        })
    }

    /// One SSCAN step. Intsets and small sets are returned whole (cursor 0),
    /// as Redis does for its compact encodings (and may for a small table);
    /// tables visit up to `count` positions below the cursor. Returns the
    /// next cursor (0 = done).
    pub fn scan<'a>(&'a self, cursor: u64, count: usize, mut f: impl FnMut(Member<'a>)) -> u64 {
        match self {
            Set::Ints(_) | Set::Small(_) => {
                self.iter().for_each(f);
                0
            }
            Set::Table(t) => {
                let mut b = if cursor == 0 || cursor > t.len() as u64 { t.len() } else { cursor as usize };
                let mut n = 0;
                while b > 0 && n < count {
                    b -= 1;
                    f(Member::Bytes(t.get_index(b).expect("below len")));
                    n += 1;
                }
                b as u64
            }
        }
    }

    /// Approximate heap bytes used (for MEMORY USAGE-style accounting).
    pub fn mem_usage(&self) -> usize {
        match self {
            Set::Ints(s) => s.mem_usage(),
            Set::Small(s) => s.buf.capacity(),
            Set::Table(t) => t.mem_usage(),
        }
    }
}

pub enum SetIter<'a> {
    Ints(&'a IntSet, usize),
    Small(&'a SmallSet, usize),
    Table(DenseIter<'a>),
}

impl<'a> Iterator for SetIter<'a> {
    type Item = Member<'a>;

    fn next(&mut self) -> Option<Member<'a>> {
        match self {
            SetIter::Ints(s, i) => {
                if *i >= s.len() {
                    return None;
                }
                *i += 1;
                Some(Member::Int(s.get(*i - 1)))
            }
            SetIter::Small(s, at) => {
                if *at >= s.buf.len() {
                    return None;
                }
                let (l, p) = get_varint(&s.buf, *at);
                *at = p + l;
                Some(Member::Bytes(&s.buf[p..p + l]))
            }
            SetIter::Table(it) => it.next().map(Member::Bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[test]
    fn intset_widths_and_order() {
        let mut s = IntSet::default();
        for v in [5, -3, 70000, i64::MIN, 2, i64::MAX, 5] {
            s.insert(v);
        }
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![i64::MIN, -3, 2, 5, 70000, i64::MAX]);
        assert!(s.remove(70000));
        assert!(!s.contains(70000));
        assert!(s.contains(i64::MIN));
    }

    #[test]
    fn conversions() {
        let mut s = Set::for_member(b"1");
        assert_eq!(s.encoding(), "intset");
        for i in 0..3 {
            s.add(i.to_string().as_bytes(), 3);
        }
        assert_eq!(s.encoding(), "intset");
        s.add(b"3", 3);
        assert_eq!(s.encoding(), "hashtable");
        let mut s = Set::for_member(b"1");
        s.add(b"1", 512);
        s.add(b"a", 512);
        assert_eq!(s.encoding(), "hashtable");
        assert!(s.contains(b"1") && s.contains(b"a"));
        assert_eq!(Set::for_member(b"01").encoding(), "hashtable");
        // A small string set is packed; it becomes a table past the limits.
        let mut s = Set::for_member(b"a");
        for i in 0..SMALL_MAX_LEN {
            s.add(format!("m{i}").as_bytes(), 512);
        }
        assert!(matches!(s, Set::Small(_)));
        s.add(b"one-more", 512);
        assert!(matches!(s, Set::Table(_)));
        assert_eq!(s.len(), SMALL_MAX_LEN + 1);
        let mut s = Set::for_member(b"a");
        s.add(b"a", 512);
        s.add(&[b'x'; 65], 512);
        assert!(matches!(s, Set::Table(_)));
        assert!(s.contains(b"a") && s.contains(&[b'x'; 65]));
    }

    #[test]
    fn scan_table_sees_everything() {
        let mut s = Set::for_member(b"x");
        for i in 0..100 {
            s.add(format!("m{i}").as_bytes(), 512);
        }
        let mut seen = BTreeSet::new();
        let mut c = 0;
        loop {
            c = s.scan(c, 7, |m| {
                seen.insert(m.to_vec());
            });
            if c == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 100);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add(String),
        Rem(String),
        Pop,
    }

    fn op() -> impl Strategy<Value = Op> {
        let member = prop_oneof![
            (-40i64..40).prop_map(|v| v.to_string()),
            Just(i64::MIN.to_string()),
            Just("70000".to_string()),
            "[a-c]{1,2}",
            "m[0-9]{1,3}",
            "x{60,70}",
        ];
        prop_oneof![
            4 => member.clone().prop_map(Op::Add),
            2 => member.prop_map(Op::Rem),
            1 => Just(Op::Pop),
        ]
    }

    proptest! {
        #[test]
        fn matches_model(ops in proptest::collection::vec(op(), 0..400), max in 0usize..20) {
            let mut s = Set::new_ints();
            let mut model = BTreeSet::<Vec<u8>>::new();
            let mut rng = rand::thread_rng();
            for o in ops {
                match o {
                    Op::Add(m) => prop_assert_eq!(s.add(m.as_bytes(), max), model.insert(m.into_bytes())),
                    Op::Rem(m) => prop_assert_eq!(s.remove(m.as_bytes()), model.remove(m.as_bytes())),
                    Op::Pop => {
                        let p = s.pop_random(&mut rng);
                        prop_assert_eq!(p.is_some(), !model.is_empty());
                        if let Some(p) = p { prop_assert!(model.remove(&p)); }
                    }
                }
                prop_assert_eq!(s.len(), model.len());
                if let Set::Ints(i) = &s {
                    prop_assert!(i.len() <= max);
                    let v: Vec<i64> = i.iter().collect();
                    let mut sorted = v.clone();
                    sorted.sort();
                    prop_assert_eq!(v, sorted);
                }
            }
            let got: BTreeSet<Vec<u8>> = s.iter().map(|m| m.to_vec()).collect();
            prop_assert_eq!(got, model);
        }
    }
}
