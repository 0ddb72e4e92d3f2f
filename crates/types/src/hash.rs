//! Hashes, in Redis's encodings, with per-field expiry (Redis 7.4).
//!
//! * `Pack` ("listpack"): every field and value in one byte buffer, in
//!   insertion order. Lookups are linear scans; the form is used while the
//!   hash is small (`hash-max-listpack-entries` pairs, no string longer than
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
//!
//! ## The pack block
//!
//! One exact-size block held unboxed in the keyspace's value, so a small
//! hash costs one allocation (none while empty):
//!
//! ```text
//! varint(count * 2 + ttl column?)  entry*
//! entry = code(field against the previous field)
//!         code(value against the previous value)  [ttl: i64 LE, listpackex]
//! code  = byte (keep << 4 | tail)  [varint keep-15]  [varint tail-15]  tail bytes
//! ```
//!
//! Front coding: each string is stored as the length of the prefix it
//! shares with the same column of the previous entry (`keep`) and the
//! bytes after it (`tail`); the first entry codes against "". A nibble of 15
//! means 15 plus a varint that follows, so any length fits. Typical small
//! hashes have numbered fields and similar values: `field0..field9` with
//! `value123..value132` take 54 bytes (16 for the first pair, then 4 per
//! pair: two code bytes and a one-byte tail each) against 165 with plain
//! length-prefixed strings.
//!
//! A string can only be read by walking from the first entry, rebuilding
//! the current field and value in inline 64-byte buffers (`Buf`; longer
//! strings, possible with a raised hash-max-listpack-value, move to the
//! heap). So reads from a pack hand out owned strings: `get` and
//! `get_index` return a `Val` (borrowed from a table, inline for a pack: no
//! allocation), iteration lends each pair to a callback or through a
//! `Cursor`, and `pairs` decodes a pack once for random access.
//!
//! Costs (n pairs, all O(block)):
//! * Lookup (`Pack::seek`): one pass. Fields are never rebuilt: the pass
//!   tracks how long a prefix the current field shares with the wanted
//!   one, so each entry costs a comparison of its tail at most; values are
//!   rebuilt (tails copied) only when the caller wants one.
//! * New field (HSET's hot path): the same pass, then the entry is appended,
//!   keeping the prefix the pass measured against the last field and coded
//!   against the last value it rebuilt; the block grows by one `realloc`.
//! * Replaced value (HSET/HINCRBY of an existing field): the same pass; the
//!   field codes do not change, only the value codes of the entry and of
//!   the one after it.
//! * Other edits (removal, a TTL that moves an entry, purging expired
//!   entries) walk to the entry (`Walk`, which compares a field before
//!   applying its entry, so it stops holding the entry before) and splice:
//!   earlier entries stay as they are, the new entry is coded against its
//!   predecessor, the one after the edit is coded again against its new
//!   predecessor, the rest moves. Every edit happens in place in the block
//!   (one `realloc` when its size changes). Adding the TTL column copies
//!   every entry's codes unchanged.
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

fn varint_len(mut n: usize) -> usize {
    let mut l = 1;
    while n >= 0x80 {
        n >>= 7;
        l += 1;
    }
    l
}

/// Length of the prefix `a` and `b` share.
fn lcp(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Bytes of a string's code: `keep` bytes of the previous string, then
/// `tail` new bytes.
fn code_len(keep: usize, tail: usize) -> usize {
    let ext = |n: usize| if n >= 15 { varint_len(n - 15) } else { 0 };
    1 + ext(keep) + ext(tail) + tail
}

/// Writes into `out` at `at` the code of a string keeping `keep` bytes of
/// the previous one, then `tail`: one byte holding the kept length (high
/// nibble) and the tail length (low nibble), 15 in a nibble meaning "15 + a
/// varint that follows", then the tail. Returns the offset after it.
fn write_code(out: &mut [u8], mut at: usize, keep: usize, tail: &[u8]) -> usize {
    out[at] = ((keep.min(15) as u8) << 4) | tail.len().min(15) as u8;
    at += 1;
    if keep >= 15 {
        at = write_varint(out, at, keep - 15);
    }
    if tail.len() >= 15 {
        at = write_varint(out, at, tail.len() - 15);
    }
    out[at..at + tail.len()].copy_from_slice(tail);
    at + tail.len()
}

fn write_varint(out: &mut [u8], mut at: usize, mut n: usize) -> usize {
    while n >= 0x80 {
        out[at] = (n & 0x7f) as u8 | 0x80;
        n >>= 7;
        at += 1;
    }
    out[at] = n as u8;
    at + 1
}

/// Reads a code at `at`: (prefix kept, tail start, tail end).
#[inline(always)]
fn get_code(buf: &[u8], at: usize) -> (usize, usize, usize) {
    let h = buf[at];
    let (mut keep, mut tail, mut at) = ((h >> 4) as usize, (h & 15) as usize, at + 1);
    if keep == 15 {
        keep += get_ext(buf, &mut at);
    }
    if tail == 15 {
        tail += get_ext(buf, &mut at);
    }
    (keep, at, at + tail)
}

/// A length's varint extension (one byte below 143, the usual case).
#[inline(always)]
fn get_ext(buf: &[u8], at: &mut usize) -> usize {
    let b = buf[*at];
    if b < 0x80 {
        *at += 1;
        return b as usize;
    }
    let (n, p) = get_varint(buf, *at);
    *at = p;
    n
}

/// An entry to write: for the field and the value, the bytes kept from
/// the entry before and the tail.
#[derive(Clone, Copy)]
struct Entry<'x> {
    fk: usize,
    ft: &'x [u8],
    vk: usize,
    vt: &'x [u8],
    ttl: i64,
}

impl<'x> Entry<'x> {
    /// `f`/`v` coded after the entry holding `pf`/`pv`.
    fn after((pf, pv): (&[u8], &[u8]), f: &'x [u8], v: &'x [u8], ttl: i64) -> Entry<'x> {
        let (fk, vk) = (lcp(pf, f), lcp(pv, v));
        Entry { fk, ft: &f[fk..], vk, vt: &v[vk..], ttl }
    }

    fn len(&self, ex: bool) -> usize {
        code_len(self.fk, self.ft.len()) + code_len(self.vk, self.vt.len()) + if ex { 8 } else { 0 }
    }

    fn write(&self, out: &mut [u8], at: usize, ex: bool) -> usize {
        let at = write_code(out, at, self.fk, self.ft);
        let at = write_code(out, at, self.vk, self.vt);
        if !ex {
            return at;
        }
        out[at..at + 8].copy_from_slice(&self.ttl.to_le_bytes());
        at + 8
    }
}

/// The pack header: pair count times two, plus 1 with the TTL column.
fn header_len(n: usize, ex: bool) -> usize {
    varint_len(n << 1 | ex as usize)
}

fn write_header(out: &mut [u8], n: usize, ex: bool) -> usize {
    write_varint(out, 0, n << 1 | ex as usize)
}

/// Inline room of a rebuilt string: a pack's strings are at most
/// hash-max-listpack-value bytes (64 by default), so they never allocate.
const SMALL: usize = 64;

/// A field or value rebuilt while walking a pack.
#[derive(Clone, Debug)]
enum Buf {
    Small(u8, [u8; SMALL]),
    Heap(Vec<u8>),
}

impl Buf {
    fn new() -> Buf {
        Buf::Small(0, [0; SMALL])
    }

    fn as_slice(&self) -> &[u8] {
        match self {
            Buf::Small(n, b) => &b[..*n as usize],
            Buf::Heap(v) => v,
        }
    }

    /// Keeps the first `keep` bytes and appends `tail`.
    #[inline(always)]
    fn set(&mut self, keep: usize, tail: &[u8]) {
        if let Buf::Small(n, b) = self {
            let len = keep + tail.len();
            if keep <= *n as usize && len <= SMALL {
                copy_short(&mut b[keep..len], tail);
                *n = len as u8;
                return;
            }
        }
        self.set_slow(keep, tail);
    }

    #[cold]
    fn set_slow(&mut self, keep: usize, tail: &[u8]) {
        match self {
            Buf::Small(n, b) => {
                let keep = keep.min(*n as usize);
                let len = keep + tail.len();
                if len <= SMALL {
                    b[keep..len].copy_from_slice(tail);
                    *n = len as u8;
                } else {
                    let mut v = Vec::with_capacity(len);
                    v.extend_from_slice(&b[..keep]);
                    v.extend_from_slice(tail);
                    *self = Buf::Heap(v);
                }
            }
            Buf::Heap(v) => {
                v.truncate(keep);
                v.extend_from_slice(tail);
            }
        }
    }
}

/// Copies `src` (as long as `dst`). Tails are mostly short (numbered
/// fields and values): up to 16 bytes take two overlapping fixed-size
/// copies instead of a `memcpy` call.
#[inline(always)]
fn copy_short(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    if n > 16 || n != dst.len() {
        dst.copy_from_slice(src);
    } else if n >= 8 {
        dst[..8].copy_from_slice(&src[..8]);
        dst[n - 8..].copy_from_slice(&src[n - 8..]);
    } else if n >= 4 {
        dst[..4].copy_from_slice(&src[..4]);
        dst[n - 4..].copy_from_slice(&src[n - 4..]);
    } else if n >= 2 {
        dst[..2].copy_from_slice(&src[..2]);
        dst[n - 2..].copy_from_slice(&src[n - 2..]);
    } else if n == 1 {
        dst[0] = src[0];
    }
}

/// A field or value read from a hash: borrowed from a table, rebuilt from a
/// pack (inline up to 64 bytes, so reading a pack does not allocate).
#[derive(Clone, Debug)]
pub struct Val<'a>(ValRepr<'a>);

#[derive(Clone, Debug)]
enum ValRepr<'a> {
    Ref(&'a [u8]),
    Own(Buf),
}

impl std::ops::Deref for Val<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &self.0 {
            ValRepr::Ref(b) => b,
            ValRepr::Own(b) => b.as_slice(),
        }
    }
}

impl AsRef<[u8]> for Val<'_> {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

/// One pack entry's codes, located in the block.
#[derive(Clone, Copy, Debug)]
struct Codes {
    start: usize,
    /// Field: bytes kept from the previous field, tail range.
    fk: usize,
    ft: (usize, usize),
    /// Value: likewise against the previous value.
    vk: usize,
    vt: (usize, usize),
    ttl: i64,
    end: usize,
}

impl Codes {
    /// Decodes the entry at `at`, if the block goes on.
    #[inline(always)]
    fn at(buf: &[u8], at: usize, ex: bool) -> Option<Codes> {
        if at >= buf.len() {
            return None;
        }
        let (fk, a, b) = get_code(buf, at);
        let (vk, c, d) = get_code(buf, b);
        let mut end = d;
        let mut ttl = NO_TTL;
        if ex {
            ttl = i64::from_le_bytes(buf[end..end + 8].try_into().expect("8 bytes"));
            end += 8;
        }
        Some(Codes { start: at, fk, ft: (a, b), vk, vt: (c, d), ttl, end })
    }

    fn field_len(&self) -> usize {
        self.fk + self.ft.1 - self.ft.0
    }

    fn value_len(&self) -> usize {
        self.vk + self.vt.1 - self.vt.0
    }
}

/// A walk over a pack's entries, rebuilding the current field and value.
/// Entries are decoded (`peek`) before they are applied, so a walk stopped
/// at an entry still holds its predecessor, which edits code against.
#[derive(Clone, Debug)]
struct Walk<'a> {
    buf: &'a [u8],
    n: usize,
    ex: bool,
    hdr: usize,
    at: usize,
    field: Buf,
    value: Buf,
}

impl<'a> Walk<'a> {
    fn peek(&self) -> Option<Codes> {
        Codes::at(self.buf, self.at, self.ex)
    }

    #[inline(always)]
    fn apply(&mut self, c: &Codes) {
        self.field.set(c.fk, &self.buf[c.ft.0..c.ft.1]);
        self.value.set(c.vk, &self.buf[c.vt.0..c.vt.1]);
        self.at = c.end;
    }

    /// Applies the next entry, if any (`next` without building its codes:
    /// the iteration fast path).
    #[inline(always)]
    fn step(&mut self) -> bool {
        if self.at >= self.buf.len() {
            return false;
        }
        let (fk, a, b) = get_code(self.buf, self.at);
        let (vk, c, d) = get_code(self.buf, b);
        self.field.set(fk, &self.buf[a..b]);
        self.value.set(vk, &self.buf[c..d]);
        self.at = d + if self.ex { 8 } else { 0 };
        true
    }

    fn next(&mut self) -> Option<Codes> {
        let c = self.peek()?;
        self.apply(&c);
        Some(c)
    }

    /// Whether the entry `c` (not applied yet) holds `field`.
    fn is(&self, c: &Codes, field: &[u8]) -> bool {
        let prev = self.field.as_slice();
        c.field_len() == field.len()
            && c.fk <= prev.len()
            && prev[..c.fk] == field[..c.fk]
            && self.buf[c.ft.0..c.ft.1] == field[c.fk..]
    }

    /// The (field, value) coded against by the next entry.
    fn prev(&self) -> (&[u8], &[u8]) {
        (self.field.as_slice(), self.value.as_slice())
    }

    /// Plans replacing `remove` entries at the walk's position by `new`
    /// (field, value): the entry after them is then coded again against
    /// its new predecessor. The block is edited by `Pack::apply` once the
    /// walk (which borrows it) is over.
    fn plan(mut self, remove: usize, new: Option<(&[u8], &[u8])>) -> Plan {
        let start = self.at;
        let new_keeps = new.map(|(f, v)| (lcp(self.field.as_slice(), f), lcp(self.value.as_slice(), v)));
        // Without a new entry, the follower is coded against the current one.
        let pred = new.is_none().then(|| (self.field.clone(), self.value.clone()));
        let mut removed = 0;
        while removed < remove && self.next().is_some() {
            removed += 1;
        }
        let (end, follower) = match self.peek() {
            Some(c) => {
                self.apply(&c);
                (c.end, Some((self.field, self.value, c.ttl)))
            }
            None => (self.at, None),
        };
        let n = self.n - removed + new.is_some() as usize;
        Plan { start, end, n, new_keeps, pred, follower }
    }

    /// Plans removing the entry `c` the walk stands before; also returns
    /// that entry's value.
    fn take_out(self, c: &Codes) -> (Plan, Buf) {
        let mut at = self.clone();
        at.apply(c);
        (self.plan(1, None), at.value)
    }
}

/// An edit of a pack's block, planned by `Walk::plan`.
struct Plan {
    start: usize,
    end: usize,
    /// Pair count after the edit.
    n: usize,
    new_keeps: Option<(usize, usize)>,
    pred: Option<(Buf, Buf)>,
    follower: Option<(Buf, Buf, i64)>,
}

/// What `Pack::seek` found: the entry, and when it is missing what a new
/// last entry keeps of the last field.
struct Seek {
    found: Option<Codes>,
    keep: usize,
}

/// The block of a pack: a varint header (pair count * 2, + 1 when the
/// entries carry TTLs), then the entries, front-coded (see the module
/// doc). Exactly sized; an empty pack without the TTL column holds no block.
#[derive(Clone, Debug, Default)]
pub struct Pack {
    buf: Box<[u8]>,
}

impl Pack {
    /// (pair count, TTL column, header length).
    fn header(&self) -> (usize, bool, usize) {
        if self.buf.is_empty() {
            return (0, false, 0);
        }
        let (h, at) = get_varint(&self.buf, 0);
        (h >> 1, h & 1 == 1, at)
    }

    fn len(&self) -> usize {
        self.header().0
    }

    fn ex(&self) -> bool {
        self.buf.first().is_some_and(|b| b & 1 == 1)
    }

    fn walk(&self) -> Walk<'_> {
        let (n, ex, hdr) = self.header();
        Walk { buf: &self.buf, n, ex, hdr, at: hdr, field: Buf::new(), value: Buf::new() }
    }

    /// Finds `field` with a walk that stands before its entry (holding
    /// the entry before it), for edits.
    fn locate(&self, field: &[u8]) -> Option<(Walk<'_>, Codes)> {
        let mut w = self.walk();
        while let Some(c) = w.peek() {
            if w.is(&c, field) {
                return Some((w, c));
            }
            w.apply(&c);
        }
        None
    }

    /// Looks `field` up in one pass, comparing each field as it is decoded
    /// through the length of the prefix the current field shares with
    /// `field` (no field is copied), and rebuilding values only with
    /// `VALUES` into `value`: the found entry's value, or the last value
    /// when the field is missing. `pred` receives the value before the
    /// found entry's. (Results go to the caller's buffers: returning them
    /// would copy a few hundred bytes per lookup.)
    fn seek<const VALUES: bool>(&self, field: &[u8], value: &mut Buf, pred: Option<&mut Buf>) -> Seek {
        let (_, ex, hdr) = self.header();
        let buf = &self.buf[..];
        let (mut at, mut keep) = (hdr, 0);
        while at < buf.len() {
            let (fk, a, b) = get_code(buf, at);
            let (vk, c, d) = get_code(buf, b);
            let end = d + if ex { 8 } else { 0 };
            // Keeping more than `keep` bytes keeps the mismatch at `keep`.
            if fk <= keep {
                let (tail, rest) = (&buf[a..b], &field[fk..]);
                let l = lcp(tail, rest);
                keep = fk + l;
                if l == tail.len() && l == rest.len() {
                    let ttl = if ex { i64::from_le_bytes(buf[d..end].try_into().expect("8 bytes")) } else { NO_TTL };
                    let found = Codes { start: at, fk, ft: (a, b), vk, vt: (c, d), ttl, end };
                    if let Some(p) = pred {
                        p.clone_from(value);
                    }
                    if VALUES {
                        value.set(vk, &buf[c..d]);
                    }
                    return Seek { found: Some(found), keep };
                }
            }
            if VALUES {
                value.set(vk, &buf[c..d]);
            }
            at = end;
        }
        Seek { found: None, keep }
    }

    /// Rewrites the block: `n` pairs, the entries before `start` as they
    /// are, then `new` and `follower`, then the bytes from `end`. Edits the
    /// block in place (grown or shrunk by one `realloc`).
    fn splice(&mut self, n: usize, start: usize, end: usize, new: Option<Entry<'_>>, follower: Option<Entry<'_>>) {
        let (_, ex, hdr) = self.header();
        if n == 0 && !ex {
            self.buf = Box::default();
            return;
        }
        let old_len = self.buf.len();
        let hdr2 = header_len(n, ex);
        let mid = new.map_or(0, |e| e.len(ex)) + follower.map_or(0, |e| e.len(ex));
        let total = hdr2 + (start - hdr) + mid + (old_len - end);
        let mut v = std::mem::take(&mut self.buf).into_vec();
        if total > old_len {
            // Grow exactly: the block is stored back at its length.
            v.reserve_exact(total - old_len);
            v.resize(total, 0);
        }
        // Entries before the edit move by the header's change, the rest by
        // the edit's; whichever moves right goes first.
        let t_dst = hdr2 + (start - hdr) + mid;
        if hdr2 > hdr {
            v.copy_within(end..old_len, t_dst);
            v.copy_within(hdr..start, hdr2);
        } else {
            v.copy_within(hdr..start, hdr2);
            v.copy_within(end..old_len, t_dst);
        }
        write_header(&mut v, n, ex);
        let mut at = hdr2 + (start - hdr);
        for e in [new, follower].into_iter().flatten() {
            at = e.write(&mut v, at, ex);
        }
        v.truncate(total);
        self.buf = v.into_boxed_slice();
    }

    /// Carries out a planned edit (`new` as given to `Walk::plan`).
    fn apply(&mut self, plan: Plan, new: Option<(&[u8], &[u8], i64)>) {
        let new_e =
            new.zip(plan.new_keeps).map(|((f, v, ttl), (fk, vk))| Entry { fk, ft: &f[fk..], vk, vt: &v[vk..], ttl });
        let before = match (&new, &plan.pred) {
            (Some((f, v, _)), _) => (*f, *v),
            (None, Some((f, v))) => (f.as_slice(), v.as_slice()),
            (None, None) => (&[][..], &[][..]),
        };
        let fol = plan.follower.as_ref().map(|(f, v, ttl)| Entry::after(before, f.as_slice(), v.as_slice(), *ttl));
        self.splice(plan.n, plan.start, plan.end, new_e, fol);
    }

    /// Replaces the value of the entry `s` found, keeping its place and
    /// TTL: only the value codes of that entry and of the next one change.
    /// `cur` holds the entry's value, `pred` the one before it.
    fn replace_value(&mut self, c: Codes, (pred, cur): (&Buf, Buf), field: &[u8], value: &[u8]) {
        let (n, ex, _) = self.header();
        let vk = lcp(pred.as_slice(), value);
        let new = Entry { fk: c.fk, ft: &field[c.fk..], vk, vt: &value[vk..], ttl: c.ttl };
        let (mut next_value, mut next_field) = (cur, Buf::new());
        let follower = Codes::at(&self.buf, c.end, ex).inspect(|d| {
            next_value.set(d.vk, &self.buf[d.vt.0..d.vt.1]);
            next_field.set(0, &self.buf[d.ft.0..d.ft.1]);
        });
        let end = follower.map_or(c.end, |d| d.end);
        let follower = follower.map(|d| {
            let vk = lcp(value, next_value.as_slice());
            Entry { fk: d.fk, ft: next_field.as_slice(), vk, vt: &next_value.as_slice()[vk..], ttl: d.ttl }
        });
        self.splice(n, c.start, end, Some(new), follower);
    }

    /// Appends an entry keeping `keep` bytes of the last field and coded
    /// against the last value `last_value`.
    fn append(&mut self, keep: usize, last_value: &[u8], field: &[u8], value: &[u8], ttl: i64) {
        let n = self.len();
        let vk = lcp(last_value, value);
        let e = Entry { fk: keep, ft: &field[keep..], vk, vt: &value[vk..], ttl };
        let end = self.buf.len();
        self.splice(n + 1, end, end, Some(e), None);
    }

    /// Inserts an entry where Redis's listpackex puts it: no TTL at the end,
    /// otherwise before the first entry with no TTL or a TTL >= this one.
    fn insert(&mut self, field: &[u8], value: &[u8], ttl: i64) {
        let mut w = self.walk();
        while let Some(c) = w.peek() {
            if ttl != NO_TTL && (c.ttl == NO_TTL || c.ttl >= ttl) {
                let plan = w.plan(0, Some((field, value)));
                self.apply(plan, Some((field, value, ttl)));
                return;
            }
            w.apply(&c);
        }
        let Walk { field: lf, value: lv, .. } = w;
        self.append(lcp(lf.as_slice(), field), lv.as_slice(), field, value, ttl);
    }

    /// Adds the TTL column (listpack -> listpackex): entry codes do not
    /// depend on it, so they are copied as they are.
    fn make_ex(&mut self) {
        if self.ex() {
            return;
        }
        let mut w = self.walk();
        let mut buf = vec![0; header_len(w.n, true)];
        buf.reserve_exact(self.buf.len() - w.hdr + 8 * w.n);
        write_header(&mut buf, w.n, true);
        while let Some(c) = w.peek() {
            buf.extend_from_slice(&self.buf[c.start..c.end]);
            buf.extend_from_slice(&NO_TTL.to_le_bytes());
            w.at = c.end;
        }
        self.buf = buf.into_boxed_slice();
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

    /// True when fields are found through an index (`prefetch_field` does
    /// something).
    pub fn has_index(&self) -> bool {
        matches!(self, Hash::Table(_))
    }

    /// Prefetch step `step` for a field of hash `h` (`slots::hash`), see
    /// `Dense::prefetch`; nothing to do for a pack.
    #[inline]
    pub fn prefetch_field(&self, h: u64, step: u8) {
        if let Hash::Table(t) = self {
            t.map.prefetch(h, step);
        }
    }

    pub fn get(&self, field: &[u8]) -> Option<Val<'_>> {
        match self {
            Hash::Pack(p) => {
                let mut v = Buf::new();
                p.seek::<true>(field, &mut v, None).found?;
                Some(Val(ValRepr::Own(v)))
            }
            Hash::Table(t) => t.map.find(field).map(|i| Val(ValRepr::Ref(&t.map.get(i).expect("found").1))),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        match self {
            Hash::Pack(p) => p.seek::<false>(field, &mut Buf::new(), None).found.is_some(),
            Hash::Table(t) => t.map.contains(field),
        }
    }

    /// The length of a field's value (HSTRLEN), without rebuilding it.
    pub fn value_len(&self, field: &[u8]) -> Option<usize> {
        match self {
            Hash::Pack(p) => p.seek::<false>(field, &mut Buf::new(), None).found.map(|c| c.value_len()),
            Hash::Table(t) => t.map.find(field).map(|i| t.map.get(i).expect("found").1.len()),
        }
    }

    fn convert_to_table(&mut self) {
        if let Hash::Pack(p) = self {
            let mut t = Table { map: Dense::with_capacity(p.len() + 1), ttl: None };
            let mut w = p.walk();
            while let Some(c) = w.next() {
                let (f, v) = w.prev();
                t.map.push_new((Bytes16::new(f), Bytes16::new(v)));
                if c.ttl != NO_TTL {
                    t.ttl.get_or_insert_with(Default::default).set(f, c.ttl);
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
                let (mut cur, mut pred) = (Buf::new(), Buf::new());
                let s = p.seek::<true>(field, &mut cur, Some(&mut pred));
                match s.found {
                    None => {
                        // Entries without a TTL go last in both pack forms.
                        p.append(s.keep, cur.as_slice(), field, value, NO_TTL);
                        true
                    }
                    Some(c) if c.ttl != NO_TTL && keep == Keep::Nothing => {
                        // Redis 7.4 re-inserts a field whose TTL HSET clears.
                        if let Some((w, _)) = p.locate(field) {
                            let plan = w.plan(1, None);
                            p.apply(plan, None);
                            p.insert(field, value, NO_TTL);
                        }
                        false
                    }
                    Some(c) => {
                        p.replace_value(c, (&pred, cur), field, value);
                        false
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
            Hash::Pack(p) => match p.locate(field) {
                Some((w, _)) => {
                    let plan = w.plan(1, None);
                    p.apply(plan, None);
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

    /// Fields and values in the encoding's order, lent one pair at a time.
    pub fn cursor(&self) -> Cursor<'_> {
        match self {
            Hash::Pack(p) => Cursor(CursorRepr::Pack(p.walk())),
            Hash::Table(t) => Cursor(CursorRepr::Table(t.map.items())),
        }
    }

    /// Calls `f` on every pair in the encoding's order.
    pub fn for_each(&self, mut f: impl FnMut(&[u8], &[u8])) {
        let mut c = self.cursor();
        while let Some((k, v)) = c.next_pair() {
            f(k, v);
        }
    }

    /// The length of each field plus its value, in order, without
    /// rebuilding the strings.
    pub fn pair_sizes(&self) -> PairSizes<'_> {
        match self {
            Hash::Pack(p) => PairSizes(SizesRepr::Pack(p.walk())),
            Hash::Table(t) => PairSizes(SizesRepr::Table(t.map.items())),
        }
    }

    /// The pair at position `i` (< len). O(i) for packs.
    pub fn get_index(&self, i: usize) -> Option<(Val<'_>, Val<'_>)> {
        match self {
            Hash::Pack(p) => {
                let mut w = p.walk();
                for _ in 0..=i {
                    w.next()?;
                }
                Some((Val(ValRepr::Own(w.field)), Val(ValRepr::Own(w.value))))
            }
            Hash::Table(t) => t.map.get(i).map(|(f, v)| (Val(ValRepr::Ref(f)), Val(ValRepr::Ref(v)))),
        }
    }

    /// All pairs, for repeated random access (a pack is decoded once).
    pub fn pairs(&self) -> Pairs<'_> {
        match self {
            Hash::Pack(p) => {
                let mut bytes = Vec::new();
                let mut ends = Vec::with_capacity(p.len());
                let mut w = p.walk();
                while w.step() {
                    let (f, v) = w.prev();
                    bytes.extend_from_slice(f);
                    let fe = bytes.len();
                    bytes.extend_from_slice(v);
                    ends.push((fe, bytes.len()));
                }
                Pairs(PairsRepr::Pack { bytes, ends })
            }
            Hash::Table(t) => Pairs(PairsRepr::Table(&t.map)),
        }
    }

    /// A uniformly random pair.
    pub fn random(&self, rng: &mut impl Rng) -> Option<(Val<'_>, Val<'_>)> {
        if self.is_empty() {
            return None;
        }
        self.get_index(rng.gen_range(0..self.len()))
    }

    /// One HSCAN step. Packs are returned whole (cursor 0), as Redis does;
    /// tables visit up to `count` positions below the cursor. Returns the
    /// next cursor (0 = done).
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], &[u8])) -> u64 {
        match self {
            Hash::Pack(_) => {
                self.for_each(f);
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
            Hash::Pack(p) => match p.seek::<false>(field, &mut Buf::new(), None).found {
                None => FieldTtl::Missing,
                Some(c) if c.ttl == NO_TTL => FieldTtl::Persistent,
                Some(c) => FieldTtl::At(c.ttl),
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
            Hash::Pack(p) => match p.locate(field) {
                Some((w, c)) => {
                    let (plan, value) = w.take_out(&c);
                    p.apply(plan, None);
                    p.insert(field, value.as_slice(), at.max(1));
                    true
                }
                None => false,
            },
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
            Hash::Pack(p) => match p.locate(field) {
                Some((w, c)) if c.ttl != NO_TTL => {
                    let (plan, value) = w.take_out(&c);
                    p.apply(plan, None);
                    p.insert(field, value.as_slice(), NO_TTL);
                    true
                }
                _ => false,
            },
            Hash::Table(t) => t.clear_ttl(field),
        }
    }

    /// The nearest field expiry, if any field has one.
    pub fn min_ttl(&self) -> Option<i64> {
        match self {
            Hash::Pack(p) if p.ex() => p.walk().peek().map(|c| c.ttl).filter(|&t| t != NO_TTL),
            Hash::Pack(_) => None,
            Hash::Table(t) => t.ttl.as_ref().and_then(|x| x.order.first().map(|(at, _)| *at)),
        }
    }

    /// Removes up to `max` fields whose expiry is at or before `now`.
    /// Returns how many were removed.
    pub fn purge_expired(&mut self, now: i64, max: usize) -> usize {
        self.purge_expired_names(now, max, None)
    }

    /// `purge_expired`, also collecting the removed fields' names (in the
    /// order they expired) when `names` is given.
    pub fn purge_expired_names(&mut self, now: i64, max: usize, mut names: Option<&mut Vec<Vec<u8>>>) -> usize {
        match self {
            Hash::Pack(p) => {
                if !p.ex() {
                    return 0;
                }
                let (mut w, mut n) = (p.walk(), 0);
                while let Some(c) = w.peek().filter(|c| n < max && c.ttl != NO_TTL && c.ttl <= now) {
                    n += 1;
                    match names.as_deref_mut() {
                        Some(v) => {
                            w.apply(&c);
                            v.push(w.field.as_slice().to_vec());
                        }
                        None => w.at = c.end,
                    }
                }
                if n > 0 {
                    let plan = p.walk().plan(n, None);
                    p.apply(plan, None);
                }
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
                    if let Some(v) = names.as_deref_mut() {
                        v.push(field[..].to_vec());
                    }
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

/// A lending walk over a hash's pairs (`Hash::cursor`).
pub struct Cursor<'a>(CursorRepr<'a>);

enum CursorRepr<'a> {
    Pack(Walk<'a>),
    Table(std::slice::Iter<'a, (Bytes16, Bytes16)>),
}

impl Cursor<'_> {
    /// The next (field, value), valid until the cursor moves again.
    pub fn next_pair(&mut self) -> Option<(&[u8], &[u8])> {
        match &mut self.0 {
            CursorRepr::Pack(w) => w.step().then(|| w.prev()),
            CursorRepr::Table(it) => it.next().map(|(f, v)| (&**f, &**v)),
        }
    }
}

/// Field + value lengths in order (`Hash::pair_sizes`).
pub struct PairSizes<'a>(SizesRepr<'a>);

enum SizesRepr<'a> {
    Pack(Walk<'a>),
    Table(std::slice::Iter<'a, (Bytes16, Bytes16)>),
}

impl Iterator for PairSizes<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        match &mut self.0 {
            SizesRepr::Pack(w) => {
                let c = w.peek()?;
                w.at = c.end;
                Some(c.field_len() + c.value_len())
            }
            SizesRepr::Table(it) => it.next().map(|(f, v)| f.len() + v.len()),
        }
    }
}

/// Every pair of a hash, by position (`Hash::pairs`).
pub struct Pairs<'a>(PairsRepr<'a>);

enum PairsRepr<'a> {
    Table(&'a Dense<(Bytes16, Bytes16)>),
    /// Fields and values back to back; (field end, value end) per pair.
    Pack {
        bytes: Vec<u8>,
        ends: Vec<(usize, usize)>,
    },
}

impl Pairs<'_> {
    pub fn len(&self) -> usize {
        match &self.0 {
            PairsRepr::Table(m) => m.len(),
            PairsRepr::Pack { ends, .. } => ends.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, i: usize) -> Option<(&[u8], &[u8])> {
        match &self.0 {
            PairsRepr::Table(m) => m.get(i).map(|(f, v)| (&**f, &**v)),
            PairsRepr::Pack { bytes, ends } => {
                let start = if i == 0 { 0 } else { ends.get(i - 1)?.1 };
                let (fe, ve) = *ends.get(i)?;
                Some((&bytes[start..fe], &bytes[fe..ve]))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::Rng;
    use std::collections::BTreeMap;

    const LIM: Limits = Limits { max_entries: 4, max_value: 8 };

    fn fields(h: &Hash) -> Vec<String> {
        let mut out = Vec::new();
        h.for_each(|f, _| out.push(String::from_utf8(f.to_vec()).unwrap()));
        out
    }

    #[test]
    fn pack_is_one_exact_block() {
        // A hash is held unboxed in the keyspace's 24-byte value.
        assert_eq!(std::mem::size_of::<Hash>(), 16);
        let mut h = Hash::new();
        assert_eq!(h.mem_usage(), 0);
        h.set(b"f", b"v", LIM);
        // Header, then two codes of one byte plus the tail.
        assert_eq!(h.mem_usage(), 5);
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
        assert_eq!(h.get(b"b").as_deref(), Some(&b"3"[..]));
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
        assert_eq!(h.get(&big).as_deref(), Some(&big[..]));
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
                prop_assert_eq!(h.get(f).map(|x| x.to_vec()), Some(v.clone()));
                let want = t.map(FieldTtl::At).unwrap_or(FieldTtl::Persistent);
                prop_assert_eq!(h.ttl(f), want);
            }
            prop_assert_eq!(h.pair_sizes().count(), model.len());
        }
    }

    /// Strings that share long prefixes, share nothing, are empty, long
    /// (past the 4-bit and the one-byte lengths) or binary.
    fn string() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            3 => (0u8..6).prop_map(|i| format!("field{i}").into_bytes()),
            3 => (0u32..40).prop_map(|i| format!("value{i}").into_bytes()),
            1 => Just(Vec::new()),
            1 => (0u8..4).prop_map(|i| vec![b'a'; i as usize]),
            2 => (0usize..4, 0u8..3).prop_map(|(n, c)| {
                let mut v = b"a-long-common-prefix:".repeat(n + 1);
                v.push(c);
                v
            }),
            2 => (0u8..3, 0usize..3).prop_map(|(c, n)| {
                let mut v = vec![b'x'; 300 + n];
                v.push(c);
                v
            }),
            1 => (14usize..18).prop_map(|n| vec![b'y'; n]),
            2 => proptest::collection::vec(any::<u8>(), 0..40),
            1 => proptest::collection::vec(prop_oneof![Just(0u8), Just(0xff), Just(0x80)], 0..20),
        ]
    }

    #[derive(Debug, Clone)]
    enum Step {
        Set(Vec<u8>, Vec<u8>),
        SetKeep(Vec<u8>, Vec<u8>),
        Remove(Vec<u8>),
        Ttl(Vec<u8>, i64),
        Persist(Vec<u8>),
        Purge(i64, usize),
        ConvertFor(Vec<u8>),
        Get(Vec<u8>),
        Index(usize),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            6 => (string(), string()).prop_map(|(f, v)| Step::Set(f, v)),
            2 => (string(), string()).prop_map(|(f, v)| Step::SetKeep(f, v)),
            2 => string().prop_map(Step::Remove),
            2 => (string(), 1i64..60).prop_map(|(f, t)| Step::Ttl(f, t)),
            1 => string().prop_map(Step::Persist),
            1 => (0i64..60, 1usize..4).prop_map(|(n, m)| Step::Purge(n, m)),
            1 => string().prop_map(Step::ConvertFor),
            2 => string().prop_map(Step::Get),
            1 => (0usize..20).prop_map(Step::Index),
        ]
    }

    /// Redis's listpack(ex) order, as a plain vector of (field, value, ttl).
    #[derive(Default)]
    struct Model {
        pairs: Vec<(Vec<u8>, Vec<u8>, i64)>,
        table: bool,
    }

    impl Model {
        fn pos(&self, f: &[u8]) -> Option<usize> {
            self.pairs.iter().position(|p| p.0 == f)
        }

        fn place(&mut self, f: Vec<u8>, v: Vec<u8>, ttl: i64) {
            let at = if ttl == NO_TTL {
                self.pairs.len()
            } else {
                self.pairs.iter().position(|p| p.2 == NO_TTL || p.2 >= ttl).unwrap_or(self.pairs.len())
            };
            self.pairs.insert(at, (f, v, ttl));
        }

        fn remove(&mut self, f: &[u8]) -> bool {
            self.pos(f).map(|i| self.pairs.remove(i)).is_some()
        }

        /// Moves an existing field where its new TTL puts it.
        fn set_ttl(&mut self, f: &[u8], t: i64) -> bool {
            let Some(i) = self.pos(f) else { return false };
            let (f, v, _) = self.pairs.remove(i);
            self.place(f, v, t);
            true
        }

        fn persist(&mut self, f: &[u8]) -> bool {
            match self.pos(f) {
                Some(i) if self.pairs[i].2 != NO_TTL => self.set_ttl(f, NO_TTL),
                _ => false,
            }
        }

        fn set(&mut self, f: &[u8], v: &[u8], keep: bool, lim: Limits) -> bool {
            if f.len() > lim.max_value || v.len() > lim.max_value {
                self.table = true;
            }
            let created = match self.pos(f) {
                Some(i) if !keep && self.pairs[i].2 != NO_TTL => {
                    self.pairs.remove(i);
                    self.place(f.to_vec(), v.to_vec(), NO_TTL);
                    false
                }
                Some(i) => {
                    self.pairs[i].1 = v.to_vec();
                    false
                }
                None => {
                    self.pairs.push((f.to_vec(), v.to_vec(), NO_TTL));
                    true
                }
            };
            if self.pairs.len() > lim.max_entries {
                self.table = true;
            }
            created
        }
    }

    fn check(h: &Hash, m: &Model) -> Result<(), TestCaseError> {
        prop_assert_eq!(h.len(), m.pairs.len());
        prop_assert_eq!(matches!(h, Hash::Table(_)), m.table);
        let mut got = Vec::new();
        h.for_each(|f, v| got.push((f.to_vec(), v.to_vec())));
        let mut want: Vec<_> = m.pairs.iter().map(|p| (p.0.clone(), p.1.clone())).collect();
        if m.table {
            got.sort();
            want.sort();
        }
        prop_assert_eq!(&got, &want);
        let sizes: Vec<usize> = h.pair_sizes().collect();
        let mut want_sizes: Vec<usize> = got.iter().map(|p| p.0.len() + p.1.len()).collect();
        let mut sizes_sorted = sizes.clone();
        if m.table {
            sizes_sorted.sort();
            want_sizes.sort();
        }
        prop_assert_eq!(sizes_sorted, want_sizes);
        // Positional access agrees with the walk order.
        let mut walked = Vec::new();
        h.for_each(|f, v| walked.push((f.to_vec(), v.to_vec())));
        let pairs = h.pairs();
        prop_assert_eq!(pairs.len(), walked.len());
        for (i, (f, v)) in walked.iter().enumerate() {
            let (a, b) = h.get_index(i).expect("below len");
            prop_assert_eq!((&a[..], &b[..]), (&f[..], &v[..]));
            prop_assert_eq!(pairs.get(i), Some((&f[..], &v[..])));
        }
        prop_assert!(h.get_index(walked.len()).is_none());
        prop_assert!(pairs.get(walked.len()).is_none());
        let mut scanned = Vec::new();
        let mut cursor = 0;
        loop {
            cursor = h.scan(cursor, 3, |f, v| scanned.push((f.to_vec(), v.to_vec())));
            if cursor == 0 {
                break;
            }
        }
        if m.table {
            scanned.sort();
        }
        prop_assert_eq!(&scanned, &want);
        for (f, v, t) in &m.pairs {
            prop_assert_eq!(h.get(f).map(|x| x.to_vec()), Some(v.clone()));
            prop_assert!(h.contains(f));
            prop_assert_eq!(h.value_len(f), Some(v.len()));
            prop_assert_eq!(h.ttl(f), if *t == NO_TTL { FieldTtl::Persistent } else { FieldTtl::At(*t) });
        }
        prop_assert_eq!(h.min_ttl(), m.pairs.iter().map(|p| p.2).filter(|&t| t != NO_TTL).min());
        if let Hash::Pack(p) = h {
            // The block is exactly what its entries need.
            let mut w = p.walk();
            let mut last = w.hdr;
            while let Some(c) = w.next() {
                prop_assert_eq!(c.start, last);
                last = c.end;
            }
            prop_assert_eq!(last, p.buf.len());
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        #[test]
        fn pack_matches_ordered_model(
            steps in proptest::collection::vec(step(), 0..80),
            me in 1usize..16,
            big in any::<bool>(),
        ) {
            let lim = Limits { max_entries: me, max_value: if big { 400 } else { 24 } };
            let (mut h, mut m) = (Hash::new(), Model::default());
            for s in steps {
                match s {
                    Step::Set(f, v) => {
                        let created = h.set(&f, &v, lim);
                        prop_assert_eq!(created, m.set(&f, &v, false, lim));
                    }
                    Step::SetKeep(f, v) => {
                        let created = h.set_keep_ttl(&f, &v, lim);
                        prop_assert_eq!(created, m.set(&f, &v, true, lim));
                    }
                    Step::Remove(f) => prop_assert_eq!(h.remove(&f), m.remove(&f)),
                    Step::Ttl(f, t) => {
                        h.enable_ttl();
                        prop_assert_eq!(h.encoding() == "listpackex", !m.table);
                        prop_assert_eq!(h.set_ttl(&f, t), m.set_ttl(&f, t));
                    }
                    Step::Persist(f) => prop_assert_eq!(h.persist(&f), m.persist(&f)),
                    Step::Purge(now, max) => {
                        let n = if m.table {
                            // A table purges by time, not by position.
                            let due = |p: &(Vec<u8>, Vec<u8>, i64)| p.2 != NO_TTL && p.2 <= now;
                            let mut due_t: Vec<i64> = m.pairs.iter().filter(|p| due(p)).map(|p| p.2).collect();
                            due_t.sort();
                            let n = due_t.len().min(max);
                            prop_assert_eq!(h.purge_expired(now, max), n);
                            let mut gone = Vec::new();
                            for p in &m.pairs {
                                if due(p) && !h.contains(&p.0) {
                                    gone.push(p.0.clone());
                                }
                            }
                            prop_assert_eq!(gone.len(), n);
                            m.pairs.retain(|p| !gone.contains(&p.0));
                            n
                        } else {
                            let n = m.pairs.iter().take(max).take_while(|p| p.2 != NO_TTL && p.2 <= now).count();
                            m.pairs.drain(..n);
                            prop_assert_eq!(h.purge_expired(now, max), n);
                            n
                        };
                        prop_assert!(n <= max);
                    }
                    Step::ConvertFor(s) => {
                        h.convert_for([&s[..]], lim);
                        if s.len() > lim.max_value {
                            m.table = true;
                        }
                    }
                    Step::Get(f) => {
                        let want = m.pos(&f).map(|i| m.pairs[i].1.clone());
                        prop_assert_eq!(h.get(&f).map(|v| v.to_vec()), want.clone());
                        prop_assert_eq!(h.contains(&f), want.is_some());
                        prop_assert_eq!(h.value_len(&f), want.map(|v| v.len()));
                        if m.pos(&f).is_none() {
                            prop_assert_eq!(h.ttl(&f), FieldTtl::Missing);
                        }
                    }
                    Step::Index(i) => {
                        let got = h.get_index(i).map(|(f, v)| (f.to_vec(), v.to_vec()));
                        if !m.table {
                            prop_assert_eq!(got, m.pairs.get(i).map(|p| (p.0.clone(), p.1.clone())));
                        } else {
                            prop_assert_eq!(got.is_some(), i < m.pairs.len());
                        }
                    }
                }
                check(&h, &m)?;
            }
            let mut rng = rand::thread_rng();
            if let Some((f, v)) = h.random(&mut rng) {
                let i = m.pos(&f).expect("a present field");
                prop_assert_eq!(&m.pairs[i].1[..], &v[..]);
            } else {
                prop_assert!(m.pairs.is_empty());
            }
        }
    }

    #[test]
    fn front_coding_sizes() {
        // The benchmark's hash: field0..field9, value123..value132.
        let lim = Limits { max_entries: 128, max_value: 64 };
        let mut h = Hash::new();
        for f in 0..10 {
            h.set(format!("field{f}").as_bytes(), format!("value{}", 123 + f).as_bytes(), lim);
        }
        // 1 header byte, 16 for the first pair, 4 for each next one (one
        // more where the value's tens digit changes: value129 -> value130).
        assert_eq!(h.mem_usage(), 1 + 16 + 9 * 4 + 1);
        // Lengths past one nibble and past one byte.
        let mut h = Hash::new();
        let lim = Limits { max_entries: 128, max_value: 1000 };
        let long = vec![b'z'; 700];
        h.set(&long, &long, lim);
        let mut long2 = long.clone();
        long2.push(b'!');
        h.set(&long2, b"", lim);
        assert_eq!(h.get(&long2).as_deref(), Some(&b""[..]));
        assert_eq!(h.get(&long).map(|v| v.len()), Some(700));
        assert_eq!(fields(&h).len(), 2);
    }

    #[test]
    fn big_packs_across_header_sizes() {
        // Counts around 64 change the header's length (count * 2 needs a
        // second varint byte), in both directions and with the TTL column.
        use rand::{rngs::StdRng, SeedableRng};
        let lim = Limits { max_entries: 1000, max_value: 400 };
        let mut rng = StdRng::seed_from_u64(7);
        let (mut h, mut m) = (Hash::new(), Model::default());
        let key = |i: u32| format!("key:{i}").into_bytes();
        let mut crossings = 0;
        for step in 0..4000 {
            let before = h.len();
            let f = key(rng.gen_range(0..100));
            let v = format!("value:{}", rng.gen_range(0..1000)).into_bytes();
            // Phases that mostly grow, then mostly shrink the hash.
            let grow = (step / 100) % 2 == 0;
            let op = match rng.gen_range(0..10) {
                0..=4 if !grow => 5,
                5..=6 if grow => 0,
                op => op,
            };
            match op {
                0..=3 => assert_eq!(h.set(&f, &v, lim), m.set(&f, &v, false, lim)),
                4 => assert_eq!(h.set_keep_ttl(&f, &v, lim), m.set(&f, &v, true, lim)),
                5..=6 => assert_eq!(h.remove(&f), m.remove(&f)),
                7 => {
                    let t = rng.gen_range(1..1000);
                    assert_eq!(h.set_ttl(&f, t), m.set_ttl(&f, t));
                }
                8 => assert_eq!(h.persist(&f), m.persist(&f)),
                _ => {
                    let (now, max) = (rng.gen_range(0..200), rng.gen_range(1..5));
                    let n = m.pairs.iter().take(max).take_while(|p| p.2 != NO_TTL && p.2 <= now).count();
                    m.pairs.drain(..n);
                    assert_eq!(h.purge_expired(now, max), n);
                }
            }
            let mut got = Vec::new();
            h.for_each(|f, v| got.push((f.to_vec(), v.to_vec())));
            let want: Vec<_> = m.pairs.iter().map(|p| (p.0.clone(), p.1.clone())).collect();
            assert_eq!(got, want, "step {step}");
            if step % 50 == 0 {
                check(&h, &m).unwrap();
            }
            crossings += ((before < 64) != (h.len() < 64)) as usize;
        }
        assert!(matches!(h, Hash::Pack(_)));
        assert!(crossings >= 10, "{crossings}");
    }
}
