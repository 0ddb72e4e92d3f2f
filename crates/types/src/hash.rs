//! Hashes, in Redis's encodings, with per-field expiry (Redis 7.4).
//!
//! * `Pack` ("listpack"): every field and value in one byte buffer, each
//!   string prefixed by its length as a LEB128 varint, in insertion order.
//!   Lookups are linear scans; the form is used while the hash is small
//!   (`hash-max-listpack-entries` pairs, no string longer than
//!   `hash-max-listpack-value`), exactly like Redis's listpack, so replies
//!   list fields in the same order as Redis.
//! * `Pack` with `ex` set ("listpackex", Redis 7.4): once any field is given
//!   a TTL, each entry also carries its expiry time (8 bytes, 0 = none) and
//!   the entries are kept ordered as Redis orders them: fields with a TTL
//!   first, by ascending expiry time (a field whose TTL changes moves before
//!   the first field expiring at the same time or later), then the fields
//!   without one, in insertion order. The nearest expiry is then the first
//!   entry.
//! * `Table` ("hashtable"): a `Dense` map of (field, value) pairs, each
//!   string a `Bytes16` (inline up to 15 bytes, so a short pair costs 32
//!   bytes and no allocation), indexed by the field (O(1) random fields, a scan cursor that walks positions downward so a field
//!   present for the whole HSCAN is never missed). Fields with a TTL are also in a
//!   side index (`Ttls`): a map to their time and an ordered set of
//!   (time, field), so the nearest expiry is the first element. A hash that
//!   never used field expiry pays one null pointer for it.
//! * The pack is one exact-size block (header: pair count, TTL flag) held
//!   unboxed in the keyspace's value, so a small hash costs one allocation.
//!
//! Conversions follow Redis: a pack becomes a table when a string longer
//! than the value limit is stored or the pair count passes the entry limit,
//! and never converts back. Time is not read here: callers pass `now` and
//! decide when expired fields are purged.

use crate::bytes16::Bytes16;
use crate::dense::Dense;
use rand::Rng;
use std::collections::{BTreeSet, HashMap};

type Rs = ahash::RandomState;

/// The conversion thresholds (hash-max-listpack-entries / -value).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_entries: usize,
    pub max_value: usize,
}

/// What a field's expiry looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldTtl {
    Missing,
    Persistent,
    /// Absolute unix time in milliseconds.
    At(i64),
}

/// Pack encoding of a field with no TTL.
const NO_TTL: i64 = 0;

pub(crate) fn put_varint(buf: &mut Vec<u8>, mut n: usize) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            buf.push(b);
            return;
        }
        buf.push(b | 0x80);
    }
}

pub(crate) fn get_varint(buf: &[u8], mut at: usize) -> (usize, usize) {
    let (mut n, mut shift) = (0usize, 0);
    loop {
        let b = buf[at];
        at += 1;
        n |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 {
            return (n, at);
        }
        shift += 7;
    }
}

/// One decoded pack entry: byte offsets and its parts.
#[derive(Clone, Copy, Debug)]
pub struct Slot<'a> {
    start: usize,
    end: usize,
    field: &'a [u8],
    value: &'a [u8],
    ttl: i64,
}

/// The block of a pack: a header (pair count as u32 LE, then 1 if the
/// entries carry TTLs) and the entries. Exactly sized; an empty pack that
/// never had the TTL column holds no block at all.
const HDR: usize = 5;

#[derive(Clone, Debug, Default)]
pub struct Pack {
    buf: Box<[u8]>,
}

impl Pack {
    fn len(&self) -> usize {
        if self.buf.is_empty() {
            0
        } else {
            u32::from_le_bytes(self.buf[..4].try_into().expect("4 bytes")) as usize
        }
    }

    fn ex(&self) -> bool {
        self.buf.len() >= HDR && self.buf[4] != 0
    }

    /// Offset just past the last entry.
    fn end(&self) -> usize {
        self.buf.len().max(HDR)
    }

    /// Edits the block as a vector (header present), adding `dn` to the
    /// pair count; the block is stored back exactly sized.
    fn edit(&mut self, dn: i64, f: impl FnOnce(&mut Vec<u8>)) {
        let mut v = std::mem::take(&mut self.buf).into_vec();
        if v.is_empty() {
            v.extend_from_slice(&[0; HDR]);
        }
        f(&mut v);
        let n = u32::from_le_bytes(v[..4].try_into().expect("4 bytes")) as i64 + dn;
        v[..4].copy_from_slice(&(n as u32).to_le_bytes());
        self.buf = v.into_boxed_slice();
    }

    fn slot_at(&self, start: usize, ex: bool) -> Slot<'_> {
        let (fl, p) = get_varint(&self.buf, start);
        let field = &self.buf[p..p + fl];
        let (vl, p) = get_varint(&self.buf, p + fl);
        let value = &self.buf[p..p + vl];
        let mut end = p + vl;
        let mut ttl = NO_TTL;
        if ex {
            ttl = i64::from_le_bytes(self.buf[end..end + 8].try_into().expect("8 bytes"));
            end += 8;
        }
        Slot { start, end, field, value, ttl }
    }

    fn slots(&self) -> PackIter<'_> {
        PackIter { pack: self, at: HDR.min(self.buf.len()), ex: self.ex() }
    }

    fn find(&self, field: &[u8]) -> Option<Slot<'_>> {
        self.slots().find(|s| s.field == field)
    }

    fn encode(ex: bool, field: &[u8], value: &[u8], ttl: i64, out: &mut Vec<u8>) {
        put_varint(out, field.len());
        out.extend_from_slice(field);
        put_varint(out, value.len());
        out.extend_from_slice(value);
        if ex {
            out.extend_from_slice(&ttl.to_le_bytes());
        }
    }

    /// Inserts an entry where Redis's listpackex puts it: no TTL at the end,
    /// otherwise before the first entry with no TTL or a TTL >= this one.
    fn insert(&mut self, field: &[u8], value: &[u8], ttl: i64) {
        let at = if ttl == NO_TTL {
            self.end()
        } else {
            self.slots().find(|s| s.ttl == NO_TTL || s.ttl >= ttl).map(|s| s.start).unwrap_or(self.end())
        };
        let ex = self.ex();
        self.edit(1, |v| {
            let mut e = Vec::with_capacity(field.len() + value.len() + 12);
            Pack::encode(ex, field, value, ttl, &mut e);
            // Grow exactly: the block is stored back at its length anyway.
            v.reserve_exact(e.len());
            v.splice(at..at, e);
        });
    }

    fn remove_range(&mut self, start: usize, end: usize) {
        self.edit(-1, |v| {
            v.drain(start..end);
        });
    }

    /// Removes the first `n` entries, which end at `end`.
    fn remove_first(&mut self, n: usize, end: usize) {
        if n > 0 {
            self.edit(-(n as i64), |v| {
                v.drain(HDR..end);
            });
        }
    }

    /// Replaces the value in place, keeping position and TTL.
    fn replace_value(&mut self, s_start: usize, field: &[u8], value: &[u8], ttl: i64, s_end: usize) {
        let ex = self.ex();
        self.edit(0, |v| {
            let mut e = Vec::with_capacity(field.len() + value.len() + 12);
            Pack::encode(ex, field, value, ttl, &mut e);
            v.reserve_exact(e.len().saturating_sub(s_end - s_start));
            v.splice(s_start..s_end, e);
        });
    }

    /// Adds the TTL column (listpack -> listpackex).
    fn make_ex(&mut self) {
        if self.ex() {
            return;
        }
        let n = self.len();
        let mut buf = Vec::with_capacity(self.end() + 8 * n);
        buf.extend_from_slice(&(n as u32).to_le_bytes());
        buf.push(1);
        for s in self.slots() {
            Pack::encode(true, s.field, s.value, NO_TTL, &mut buf);
        }
        self.buf = buf.into_boxed_slice();
    }
}

pub struct PackIter<'a> {
    pack: &'a Pack,
    at: usize,
    ex: bool,
}

impl<'a> Iterator for PackIter<'a> {
    type Item = Slot<'a>;

    fn next(&mut self) -> Option<Slot<'a>> {
        if self.at >= self.pack.buf.len() {
            return None;
        }
        let s = self.pack.slot_at(self.at, self.ex);
        self.at = s.end;
        Some(s)
    }
}

/// Field expiry index of a table.
#[derive(Clone, Debug, Default)]
struct Ttls {
    of: HashMap<Box<[u8]>, i64, Rs>,
    order: BTreeSet<(i64, Box<[u8]>)>,
}

impl Ttls {
    fn remove(&mut self, field: &[u8]) -> Option<i64> {
        let at = self.of.remove(field)?;
        self.order.remove(&(at, Box::from(field)));
        Some(at)
    }

    fn set(&mut self, field: &[u8], at: i64) {
        self.remove(field);
        self.of.insert(field.into(), at);
        self.order.insert((at, field.into()));
    }
}

#[derive(Clone, Debug, Default)]
pub struct Table {
    /// (field, value) pairs; short strings inline.
    map: Dense<(Bytes16, Bytes16)>,
    ttl: Option<Box<Ttls>>,
}

impl Table {
    fn ttl_of(&self, field: &[u8]) -> Option<i64> {
        self.ttl.as_ref().and_then(|t| t.of.get(field).copied())
    }

    fn clear_ttl(&mut self, field: &[u8]) -> bool {
        let removed = self.ttl.as_mut().map(|t| t.remove(field).is_some()).unwrap_or(false);
        if removed && self.ttl.as_ref().map(|t| t.of.is_empty()).unwrap_or(false) {
            self.ttl = None;
        }
        removed
    }
}

#[derive(Clone, Debug)]
pub enum Hash {
    Pack(Pack),
    Table(Box<Table>),
}

impl Default for Hash {
    fn default() -> Self {
        Hash::Pack(Pack::default())
    }
}

/// Whether a write keeps the field's TTL (HINCRBY) or clears it (HSET).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keep {
    Ttl,
    Nothing,
}

impl Hash {
    pub fn new() -> Hash {
        Hash::default()
    }

    /// Number of fields, expired-but-not-purged ones included.
    pub fn len(&self) -> usize {
        match self {
            Hash::Pack(p) => p.len(),
            Hash::Table(t) => t.map.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Hash::Pack(p) if p.ex() => "listpackex",
            Hash::Pack(_) => "listpack",
            Hash::Table(_) => "hashtable",
        }
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match self {
            Hash::Pack(p) => p.find(field).map(|s| s.value),
            Hash::Table(t) => t.map.find(field).map(|i| &*t.map.get(i).expect("found").1),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    fn convert_to_table(&mut self) {
        if let Hash::Pack(p) = self {
            let mut t = Table { map: Dense::with_capacity(p.len() + 1), ttl: None };
            for s in p.slots() {
                t.map.push_new((Bytes16::new(s.field), Bytes16::new(s.value)));
                if s.ttl != NO_TTL {
                    t.ttl.get_or_insert_with(Default::default).set(s.field, s.ttl);
                }
            }
            *self = Hash::Table(Box::new(t));
        }
    }

    /// Redis's hashTypeTryConversion: before a write of these strings, a
    /// pack converts if any of them is longer than the value limit.
    pub fn convert_for<'a>(&mut self, strings: impl IntoIterator<Item = &'a [u8]>, lim: Limits) {
        if matches!(self, Hash::Pack(_)) && strings.into_iter().any(|s| s.len() > lim.max_value) {
            self.convert_to_table();
        }
    }

    fn set_inner(&mut self, field: &[u8], value: &[u8], lim: Limits, keep: Keep) -> bool {
        if matches!(self, Hash::Pack(_)) && (field.len() > lim.max_value || value.len() > lim.max_value) {
            self.convert_to_table();
        }
        let created = match self {
            Hash::Pack(p) => {
                match p.find(field).map(|s| (s.start, s.end, s.ttl)) {
                    Some((start, end, ttl)) => {
                        if ttl != NO_TTL && keep == Keep::Nothing {
                            // Redis 7.4 re-inserts a field whose TTL HSET clears.
                            p.remove_range(start, end);
                            p.insert(field, value, NO_TTL);
                        } else {
                            p.replace_value(start, field, value, ttl, end);
                        }
                        false
                    }
                    None => {
                        p.insert(field, value, NO_TTL);
                        true
                    }
                }
            }
            Hash::Table(t) => {
                // A replaced value keeps the entry's position.
                let created = match t.map.find(field) {
                    Some(i) => {
                        t.map.get_mut(i).expect("found").1 = Bytes16::new(value);
                        false
                    }
                    None => {
                        t.map.push_new((Bytes16::new(field), Bytes16::new(value)));
                        true
                    }
                };
                if !created && keep == Keep::Nothing {
                    t.clear_ttl(field);
                }
                created
            }
        };
        if self.len() > lim.max_entries {
            self.convert_to_table();
        }
        created
    }

    /// HSET of one pair: clears the field's TTL. True if the field is new.
    pub fn set(&mut self, field: &[u8], value: &[u8], lim: Limits) -> bool {
        self.set_inner(field, value, lim, Keep::Nothing)
    }

    /// Sets a value keeping the field's TTL (HINCRBY, HINCRBYFLOAT).
    pub fn set_keep_ttl(&mut self, field: &[u8], value: &[u8], lim: Limits) -> bool {
        self.set_inner(field, value, lim, Keep::Ttl)
    }

    /// Removes a field; true if it was present.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            Hash::Pack(p) => match p.find(field).map(|s| (s.start, s.end)) {
                Some((a, b)) => {
                    p.remove_range(a, b);
                    true
                }
                None => false,
            },
            Hash::Table(t) => {
                if t.map.swap_remove_key(field).is_some() {
                    t.clear_ttl(field);
                    true
                } else {
                    false
                }
            }
        }
    }

    /// Fields and values in the encoding's order.
    pub fn iter(&self) -> HashIter<'_> {
        match self {
            Hash::Pack(p) => HashIter::Pack(p.slots()),
            Hash::Table(t) => HashIter::Table(t.map.items()),
        }
    }

    /// The pair at position `i` (< len). O(i) for packs.
    pub fn get_index(&self, i: usize) -> (&[u8], &[u8]) {
        match self {
            Hash::Pack(p) => {
                let s = p.slots().nth(i).expect("index below len");
                (s.field, s.value)
            }
            Hash::Table(t) => {
                let (f, v) = t.map.get(i).expect("index below len");
                (f, v)
            }
        }
    }

    /// All pairs, for repeated random access to a pack.
    pub fn pairs(&self) -> Vec<(&[u8], &[u8])> {
        self.iter().collect()
    }

    /// A uniformly random pair.
    pub fn random(&self, rng: &mut impl Rng) -> Option<(&[u8], &[u8])> {
        if self.is_empty() {
            return None;
        }
        Some(self.get_index(rng.gen_range(0..self.len())))
    }

    /// One HSCAN step. Packs are returned whole (cursor 0), as Redis does;
    /// tables visit up to `count` positions below the cursor. Returns the
    /// next cursor (0 = done).
    pub fn scan<'a>(&'a self, cursor: u64, count: usize, mut f: impl FnMut(&'a [u8], &'a [u8])) -> u64 {
        match self {
            Hash::Pack(p) => {
                p.slots().for_each(|s| f(s.field, s.value));
                0
            }
            Hash::Table(t) => {
                let len = t.map.len();
                let mut b = if cursor == 0 || cursor > len as u64 { len } else { cursor as usize };
                let mut n = 0;
                while b > 0 && n < count {
                    b -= 1;
                    let (k, v) = t.map.get(b).expect("below len");
                    f(k, v);
                    n += 1;
                }
                b as u64
            }
        }
    }

    // ---- field expiry ----

    pub fn ttl(&self, field: &[u8]) -> FieldTtl {
        match self {
            Hash::Pack(p) => match p.find(field) {
                None => FieldTtl::Missing,
                Some(s) if s.ttl == NO_TTL => FieldTtl::Persistent,
                Some(s) => FieldTtl::At(s.ttl),
            },
            Hash::Table(t) => {
                if !t.map.contains(field) {
                    FieldTtl::Missing
                } else {
                    t.ttl_of(field).map(FieldTtl::At).unwrap_or(FieldTtl::Persistent)
                }
            }
        }
    }

    /// Prepares the hash for field TTLs (Redis converts a listpack to a
    /// listpackex as soon as HEXPIRE & co touch it).
    pub fn enable_ttl(&mut self) {
        if let Hash::Pack(p) = self {
            p.make_ex();
        }
    }

    /// Sets the expiry of an existing field (at > 0). False if absent.
    pub fn set_ttl(&mut self, field: &[u8], at: i64) -> bool {
        self.enable_ttl();
        match self {
            Hash::Pack(p) => {
                let Some((start, end, value)) = p.find(field).map(|s| (s.start, s.end, s.value.to_vec())) else {
                    return false;
                };
                p.remove_range(start, end);
                p.insert(field, &value, at.max(1));
                true
            }
            Hash::Table(t) => {
                if !t.map.contains(field) {
                    return false;
                }
                t.ttl.get_or_insert_with(Default::default).set(field, at);
                true
            }
        }
    }

    /// Removes a field's TTL; true if it had one.
    pub fn persist(&mut self, field: &[u8]) -> bool {
        match self {
            Hash::Pack(p) => {
                let Some((start, end, value)) =
                    p.find(field).filter(|s| s.ttl != NO_TTL).map(|s| (s.start, s.end, s.value.to_vec()))
                else {
                    return false;
                };
                p.remove_range(start, end);
                p.insert(field, &value, NO_TTL);
                true
            }
            Hash::Table(t) => t.clear_ttl(field),
        }
    }

    /// The nearest field expiry, if any field has one.
    pub fn min_ttl(&self) -> Option<i64> {
        match self {
            Hash::Pack(p) if p.ex() => p.slots().next().map(|s| s.ttl).filter(|&t| t != NO_TTL),
            Hash::Pack(_) => None,
            Hash::Table(t) => t.ttl.as_ref().and_then(|x| x.order.first().map(|(at, _)| *at)),
        }
    }

    /// Removes up to `max` fields whose expiry is at or before `now`.
    /// Returns how many were removed.
    pub fn purge_expired(&mut self, now: i64, max: usize) -> usize {
        match self {
            Hash::Pack(p) => {
                if !p.ex() {
                    return 0;
                }
                let (mut n, mut end) = (0, 0);
                for s in p.slots() {
                    if n >= max || s.ttl == NO_TTL || s.ttl > now {
                        break;
                    }
                    n += 1;
                    end = s.end;
                }
                p.remove_first(n, end);
                n
            }
            Hash::Table(t) => {
                let mut n = 0;
                while n < max {
                    let Some(ttls) = t.ttl.as_mut() else { break };
                    let Some((at, _)) = ttls.order.first() else { break };
                    if *at > now {
                        break;
                    }
                    let (_, field) = ttls.order.pop_first().expect("non-empty");
                    ttls.of.remove(&field);
                    t.map.swap_remove_key(&field[..]);
                    n += 1;
                    if ttls.of.is_empty() {
                        t.ttl = None;
                    }
                }
                n
            }
        }
    }

    /// Approximate heap bytes used.
    pub fn mem_usage(&self) -> usize {
        match self {
            Hash::Pack(p) => p.buf.len(),
            Hash::Table(t) => t.map.mem_usage(),
        }
    }
}

pub enum HashIter<'a> {
    Pack(PackIter<'a>),
    Table(std::slice::Iter<'a, (Bytes16, Bytes16)>),
}

impl<'a> Iterator for HashIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            HashIter::Pack(it) => it.next().map(|s| (s.field, s.value)),
            HashIter::Table(it) => it.next().map(|(f, v)| (&**f, &**v)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    const LIM: Limits = Limits { max_entries: 4, max_value: 8 };

    fn fields(h: &Hash) -> Vec<String> {
        h.iter().map(|(f, _)| String::from_utf8(f.to_vec()).unwrap()).collect()
    }

    #[test]
    fn pack_is_one_exact_block() {
        // A hash is held unboxed in the keyspace's 24-byte value.
        assert_eq!(std::mem::size_of::<Hash>(), 16);
        let mut h = Hash::new();
        assert_eq!(h.mem_usage(), 0);
        h.set(b"f", b"v", LIM);
        assert_eq!(h.mem_usage(), HDR + 4);
        h.remove(b"f");
        assert!(h.is_empty());
    }

    #[test]
    fn pack_order_and_conversion() {
        let mut h = Hash::new();
        assert!(h.set(b"b", b"1", LIM));
        assert!(h.set(b"a", b"2", LIM));
        assert!(!h.set(b"b", b"3", LIM));
        assert_eq!(fields(&h), ["b", "a"]);
        assert_eq!(h.get(b"b"), Some(&b"3"[..]));
        assert_eq!(h.encoding(), "listpack");
        h.set(b"c", b"123456789", LIM);
        assert_eq!(h.encoding(), "hashtable");
        let mut h = Hash::new();
        for f in ["a", "b", "c", "d"] {
            h.set(f.as_bytes(), b"v", LIM);
        }
        assert_eq!(h.encoding(), "listpack");
        h.set(b"e", b"v", LIM);
        assert_eq!(h.encoding(), "hashtable");
        let big = [b'x'; 300];
        let mut h = Hash::new();
        h.set(&big, &big, Limits { max_entries: 10, max_value: 1000 });
        assert_eq!(h.get(&big), Some(&big[..]));
    }

    #[test]
    fn listpackex_order() {
        let lim = Limits { max_entries: 100, max_value: 100 };
        let mut h = Hash::new();
        for f in ["a", "b", "c", "d"] {
            h.set(f.as_bytes(), b"v", lim);
        }
        h.set_ttl(b"c", 50);
        h.set_ttl(b"a", 20);
        h.set_ttl(b"d", 50);
        assert_eq!(h.encoding(), "listpackex");
        assert_eq!(fields(&h), ["a", "d", "c", "b"]);
        assert_eq!(h.min_ttl(), Some(20));
        assert!(h.persist(b"a"));
        assert_eq!(fields(&h), ["d", "c", "b", "a"]);
        h.set_keep_ttl(b"d", b"w", lim);
        assert_eq!(h.ttl(b"d"), FieldTtl::At(50));
        h.set(b"c", b"w", lim);
        assert_eq!(fields(&h), ["d", "b", "a", "c"]);
        assert_eq!(h.purge_expired(60, 10), 1);
        assert_eq!(fields(&h), ["b", "a", "c"]);
        assert_eq!(h.min_ttl(), None);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Set(u8, u8),
        Incr(u8, u8),
        Del(u8),
        Ttl(u8, i64),
        Persist(u8),
        Purge(i64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u8..12, 0u8..12).prop_map(|(f, v)| Op::Set(f, v)),
            1 => (0u8..12, 0u8..12).prop_map(|(f, v)| Op::Incr(f, v)),
            2 => (0u8..12).prop_map(Op::Del),
            2 => (0u8..12, 1i64..100).prop_map(|(f, t)| Op::Ttl(f, t)),
            1 => (0u8..12).prop_map(Op::Persist),
            1 => (0i64..100).prop_map(Op::Purge),
        ]
    }

    fn val(v: u8) -> Vec<u8> {
        vec![b'v'; v as usize]
    }

    proptest! {
        #[test]
        fn matches_model(ops in proptest::collection::vec(op(), 0..150), me in 1usize..10) {
            let lim = Limits { max_entries: me, max_value: 8 };
            let mut h = Hash::new();
            // field -> (value, ttl)
            let mut model: BTreeMap<Vec<u8>, (Vec<u8>, Option<i64>)> = BTreeMap::new();
            for o in ops {
                match o {
                    Op::Set(f, v) => {
                        let created = h.set(&[f], &val(v), lim);
                        prop_assert_eq!(created, model.insert(vec![f], (val(v), None)).is_none());
                    }
                    Op::Incr(f, v) => {
                        h.set_keep_ttl(&[f], &val(v), lim);
                        let ttl = model.get(&vec![f]).and_then(|e| e.1);
                        model.insert(vec![f], (val(v), ttl));
                    }
                    Op::Del(f) => prop_assert_eq!(h.remove(&[f]), model.remove(&vec![f]).is_some()),
                    Op::Ttl(f, t) => {
                        let ok = h.set_ttl(&[f], t);
                        prop_assert_eq!(ok, model.contains_key(&vec![f]));
                        if let Some(e) = model.get_mut(&vec![f]) { e.1 = Some(t); }
                    }
                    Op::Persist(f) => {
                        let had = model.get(&vec![f]).map(|e| e.1.is_some()).unwrap_or(false);
                        prop_assert_eq!(h.persist(&[f]), had);
                        if let Some(e) = model.get_mut(&vec![f]) { e.1 = None; }
                    }
                    Op::Purge(now) => {
                        let before = model.len();
                        model.retain(|_, e| e.1.map(|t| t > now).unwrap_or(true));
                        prop_assert_eq!(h.purge_expired(now, usize::MAX), before - model.len());
                    }
                }
                prop_assert_eq!(h.len(), model.len());
                if let Hash::Pack(_) = h { prop_assert!(h.len() <= me); }
                let min = model.values().filter_map(|e| e.1).min();
                prop_assert_eq!(h.min_ttl(), min);
            }
            for (f, (v, t)) in &model {
                prop_assert_eq!(h.get(f), Some(&v[..]));
                let want = t.map(FieldTtl::At).unwrap_or(FieldTtl::Persistent);
                prop_assert_eq!(h.ttl(f), want);
            }
            prop_assert_eq!(h.iter().count(), model.len());
        }
    }
}
