//! The list type: a deque of packed chunks (Redis's quicklist, in our words).
//!
//! Representation. A `List` is a `VecDeque` of `Chunk`s; a chunk is one
//! contiguous byte buffer holding a run of entries, each laid out as
//! `[len][bytes][len reversed]`, where `len` is a LEB128 varint. The leading
//! length lets a chunk be walked forward, the trailing (byte-reversed) copy
//! lets it be walked backward from its end, so both ends of every chunk are
//! reachable without an index. An element therefore costs its bytes plus two
//! to ten bytes, not a separate allocation.
//!
//! Chunk size follows `list-max-listpack-size` as captured when the list is
//! created (Redis fixes a quicklist's fill at creation too): a positive fill
//! caps the entries of a chunk (and, as a safety net, its bytes at 8 KiB); a
//! negative fill -1..-5 caps its bytes at 4, 8, 16, 32 or 64 KiB. An empty
//! chunk accepts any element, so an oversized element gets a chunk of its own.
//!
//! Costs: push and pop at either end touch one chunk (a pop at the front moves
//! the rest of that chunk's bytes, bounded by the fill); indexed access walks
//! chunks from the nearer end, O(N / chunk) plus a walk inside one chunk.
//! Edits in the middle (LSET, LINSERT) re-pack the one chunk they touch, and
//! split it if it grew past the fill. Bulk edits (LREM, LTRIM) are O(N) or
//! better. Invariants: no chunk is empty; `len` is the sum of chunk counts.
//!
//! Redis 7.0 reports every list as "quicklist" (the listpack list encoding
//! arrived in 7.2), so the encoding is not modelled beyond the chunks.

use std::collections::VecDeque;

/// Byte caps of the negative fill levels -1..-5.
const BYTE_LEVELS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// Byte cap applied even to count-limited chunks.
const SAFETY_BYTES: usize = 8192;
/// Redis's default `list-max-listpack-size`.
pub const DEFAULT_FILL: i32 = -2;

fn leb_len(mut n: usize) -> usize {
    let mut k = 1;
    while n >= 0x80 {
        n >>= 7;
        k += 1;
    }
    k
}

fn put_leb(mut n: usize, out: &mut [u8]) -> usize {
    let mut i = 0;
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out[i] = b;
            return i + 1;
        }
        out[i] = b | 0x80;
        i += 1;
    }
}

/// Bytes one element occupies in a chunk.
fn entry_size(len: usize) -> usize {
    len + 2 * leb_len(len)
}

/// Appends the encoding of `v` to `buf`.
fn encode_into(buf: &mut Vec<u8>, v: &[u8]) {
    let mut hdr = [0u8; 10];
    let k = put_leb(v.len(), &mut hdr);
    buf.extend_from_slice(&hdr[..k]);
    buf.extend_from_slice(v);
    hdr[..k].reverse();
    buf.extend_from_slice(&hdr[..k]);
}

/// The entry starting at `p`: (data start, data end, next entry start).
fn entry_at(buf: &[u8], p: usize) -> (usize, usize, usize) {
    let (mut n, mut shift, mut i) = (0usize, 0u32, p);
    loop {
        let b = buf[i];
        n |= ((b & 0x7f) as usize) << shift;
        i += 1;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    let k = i - p;
    (i, i + n, i + n + k)
}

/// The entry ending at `e`: (entry start, data start, data end).
fn entry_before(buf: &[u8], e: usize) -> (usize, usize, usize) {
    let (mut n, mut shift, mut i) = (0usize, 0u32, e);
    loop {
        i -= 1;
        let b = buf[i];
        n |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    let k = e - i;
    let data_end = e - k;
    let data_start = data_end - n;
    (data_start - k, data_start, data_end)
}

#[derive(Clone, Debug, Default)]
struct Chunk {
    buf: Vec<u8>,
    count: usize,
}

impl Chunk {
    fn with(v: &[u8]) -> Chunk {
        let mut c = Chunk { buf: Vec::with_capacity(entry_size(v.len())), count: 0 };
        c.push_back(v);
        c
    }

    fn push_back(&mut self, v: &[u8]) {
        encode_into(&mut self.buf, v);
        self.count += 1;
    }

    fn push_front(&mut self, v: &[u8]) {
        // Shift the chunk right in place and write the entry in front.
        let mut hdr = [0u8; 10];
        let k = put_leb(v.len(), &mut hdr);
        let n = v.len() + 2 * k;
        let old = self.buf.len();
        self.buf.resize(old + n, 0);
        self.buf.copy_within(0..old, n);
        self.buf[..k].copy_from_slice(&hdr[..k]);
        self.buf[k..k + v.len()].copy_from_slice(v);
        hdr[..k].reverse();
        self.buf[k + v.len()..n].copy_from_slice(&hdr[..k]);
        self.count += 1;
    }

    /// Removes the first entry, handing its bytes to `f` first.
    fn pop_front_with<R>(&mut self, f: impl FnOnce(&[u8]) -> R) -> R {
        let (ds, de, next) = entry_at(&self.buf, 0);
        let r = f(&self.buf[ds..de]);
        self.buf.drain(..next);
        self.count -= 1;
        r
    }

    /// Removes the last entry, handing its bytes to `f` first.
    fn pop_back_with<R>(&mut self, f: impl FnOnce(&[u8]) -> R) -> R {
        let (start, ds, de) = entry_before(&self.buf, self.buf.len());
        let r = f(&self.buf[ds..de]);
        self.buf.truncate(start);
        self.count -= 1;
        r
    }

    /// Byte range (entry start, data start, data end, entry end) of entry `i`.
    fn locate(&self, i: usize) -> (usize, usize, usize, usize) {
        if i <= self.count / 2 {
            let mut p = 0;
            for _ in 0..i {
                p = entry_at(&self.buf, p).2;
            }
            let (ds, de, next) = entry_at(&self.buf, p);
            (p, ds, de, next)
        } else {
            let mut e = self.buf.len();
            for _ in 0..self.count - 1 - i {
                e = entry_before(&self.buf, e).0;
            }
            let (s, ds, de) = entry_before(&self.buf, e);
            (s, ds, de, e)
        }
    }

    fn get(&self, i: usize) -> &[u8] {
        let (_, ds, de, _) = self.locate(i);
        &self.buf[ds..de]
    }

    /// Drops the first `n` entries.
    fn drop_front(&mut self, n: usize) {
        let mut p = 0;
        for _ in 0..n {
            p = entry_at(&self.buf, p).2;
        }
        self.buf.drain(..p);
        self.count -= n;
    }

    /// Drops the last `n` entries.
    fn drop_back(&mut self, n: usize) {
        let mut e = self.buf.len();
        for _ in 0..n {
            e = entry_before(&self.buf, e).0;
        }
        self.buf.truncate(e);
        self.count -= n;
    }

    fn iter(&self) -> ChunkIter<'_> {
        ChunkIter { buf: &self.buf, front: 0, back: self.buf.len() }
    }
}

struct ChunkIter<'a> {
    buf: &'a [u8],
    front: usize,
    back: usize,
}

impl<'a> Iterator for ChunkIter<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.front >= self.back {
            return None;
        }
        let (ds, de, next) = entry_at(self.buf, self.front);
        self.front = next;
        Some(&self.buf[ds..de])
    }
}

impl<'a> DoubleEndedIterator for ChunkIter<'a> {
    fn next_back(&mut self) -> Option<&'a [u8]> {
        if self.front >= self.back {
            return None;
        }
        let (s, ds, de) = entry_before(self.buf, self.back);
        self.back = s;
        Some(&self.buf[ds..de])
    }
}

/// Which end of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Head,
    Tail,
}

impl End {
    pub fn other(self) -> End {
        match self {
            End::Head => End::Tail,
            End::Tail => End::Head,
        }
    }
}

#[derive(Clone, Debug)]
pub struct List {
    chunks: VecDeque<Chunk>,
    len: usize,
    fill: i32,
}

impl Default for List {
    fn default() -> Self {
        List::new(DEFAULT_FILL)
    }
}

impl PartialEq for List {
    fn eq(&self, other: &List) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl List {
    /// An empty list whose chunks follow `fill` (`list-max-listpack-size`;
    /// clamped to -5 below, as Redis does).
    pub fn new(fill: i32) -> List {
        List { chunks: VecDeque::new(), len: 0, fill: fill.max(-5) }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of chunks (for tests and memory estimates).
    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// Approximate heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.chunks.iter().map(|c| c.buf.capacity() + std::mem::size_of::<Chunk>()).sum()
    }

    /// True if a chunk holding `count` entries in `bytes` may take one more
    /// element of `len` bytes.
    fn fits(&self, count: usize, bytes: usize, len: usize) -> bool {
        let new = bytes + entry_size(len);
        if self.fill < 0 {
            let level = (-self.fill - 1) as usize;
            new <= BYTE_LEVELS[level]
        } else {
            new <= SAFETY_BYTES && count < self.fill as usize
        }
    }

    pub fn push(&mut self, end: End, v: &[u8]) {
        match end {
            End::Head => self.push_front(v),
            End::Tail => self.push_back(v),
        }
    }

    pub fn pop(&mut self, end: End) -> Option<Vec<u8>> {
        match end {
            End::Head => self.pop_front(),
            End::Tail => self.pop_back(),
        }
    }

    pub fn push_back(&mut self, v: &[u8]) {
        match self.chunks.back() {
            Some(c) if self.fits(c.count, c.buf.len(), v.len()) => {
                self.chunks.back_mut().expect("checked").push_back(v);
            }
            _ => self.chunks.push_back(Chunk::with(v)),
        }
        self.len += 1;
    }

    pub fn push_front(&mut self, v: &[u8]) {
        match self.chunks.front() {
            Some(c) if self.fits(c.count, c.buf.len(), v.len()) => {
                self.chunks.front_mut().expect("checked").push_front(v);
            }
            _ => self.chunks.push_front(Chunk::with(v)),
        }
        self.len += 1;
    }

    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        self.pop_with(End::Head, |v| v.to_vec())
    }

    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        self.pop_with(End::Tail, |v| v.to_vec())
    }

    /// Removes the element at `end`, handing its bytes to `f` before they
    /// go (a reply can be written without copying the element out first).
    pub fn pop_with<R>(&mut self, end: End, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let r = match end {
            End::Head => {
                let c = self.chunks.front_mut()?;
                let r = c.pop_front_with(f);
                if c.count == 0 {
                    self.chunks.pop_front();
                }
                r
            }
            End::Tail => {
                let c = self.chunks.back_mut()?;
                let r = c.pop_back_with(f);
                if c.count == 0 {
                    self.chunks.pop_back();
                }
                r
            }
        };
        self.len -= 1;
        Some(r)
    }

    /// Turns a Redis-style index (negative counts from the tail) into a
    /// position, if it is inside the list.
    pub fn resolve(&self, index: i64) -> Option<usize> {
        let len = self.len as i64;
        let i = if index < 0 { len.checked_add(index)? } else { index };
        (0..len).contains(&i).then_some(i as usize)
    }

    /// The chunk holding position `i` and the offset inside it.
    fn seek(&self, i: usize) -> (usize, usize) {
        if i < self.len / 2 {
            let mut rem = i;
            for (ci, c) in self.chunks.iter().enumerate() {
                if rem < c.count {
                    return (ci, rem);
                }
                rem -= c.count;
            }
        } else {
            let mut rem = self.len - 1 - i;
            for (ci, c) in self.chunks.iter().enumerate().rev() {
                if rem < c.count {
                    return (ci, c.count - 1 - rem);
                }
                rem -= c.count;
            }
        }
        unreachable!("seek past the end of a list")
    }

    /// The element at position `i` (0-based from the head).
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        if i >= self.len {
            return None;
        }
        let (ci, off) = self.seek(i);
        Some(self.chunks[ci].get(off))
    }

    /// Rewrites chunk `ci` through `f` on its decoded elements, re-packing
    /// the result into as many chunks as the fill needs.
    fn repack(&mut self, ci: usize, f: impl FnOnce(&mut Vec<Vec<u8>>)) {
        let old = &self.chunks[ci];
        let mut items: Vec<Vec<u8>> = old.iter().map(|s| s.to_vec()).collect();
        let before = items.len();
        f(&mut items);
        self.len = self.len - before + items.len();
        let mut new: Vec<Chunk> = Vec::new();
        for it in &items {
            match new.last_mut() {
                Some(c) if self.fits(c.count, c.buf.len(), it.len()) => c.push_back(it),
                _ => new.push(Chunk::with(it)),
            }
        }
        self.chunks.remove(ci);
        for (k, c) in new.into_iter().enumerate() {
            self.chunks.insert(ci + k, c);
        }
    }

    /// Replaces the element at position `i`. False if out of range.
    pub fn set(&mut self, i: usize, v: &[u8]) -> bool {
        if i >= self.len {
            return false;
        }
        let (ci, off) = self.seek(i);
        self.repack(ci, |items| items[off] = v.to_vec());
        true
    }

    /// Inserts `v` so that it ends up at position `i` (`i == len` appends).
    pub fn insert(&mut self, i: usize, v: &[u8]) {
        if i == 0 {
            return self.push_front(v);
        }
        if i >= self.len {
            return self.push_back(v);
        }
        let (ci, off) = self.seek(i);
        self.repack(ci, |items| items.insert(off, v.to_vec()));
    }

    /// Removes the element at position `i`.
    pub fn remove(&mut self, i: usize) -> Option<Vec<u8>> {
        if i >= self.len {
            return None;
        }
        let (ci, off) = self.seek(i);
        let mut out = None;
        self.repack(ci, |items| out = Some(items.remove(off)));
        out
    }

    /// Position of the first element equal to `v`, from the head.
    pub fn position(&self, v: &[u8]) -> Option<usize> {
        self.iter().position(|e| e == v)
    }

    /// Removes elements equal to `v`: `count > 0` the first `count` from the
    /// head, `count < 0` the first `|count|` from the tail, 0 all of them.
    /// Returns how many were removed.
    pub fn remove_matching(&mut self, v: &[u8], count: i64) -> usize {
        let limit = if count == 0 { usize::MAX } else { count.unsigned_abs().min(usize::MAX as u64) as usize };
        let mut drop_at: Vec<usize> = Vec::new();
        if count >= 0 {
            for (i, e) in self.iter().enumerate() {
                if drop_at.len() == limit {
                    break;
                }
                if e == v {
                    drop_at.push(i);
                }
            }
        } else {
            for (k, e) in self.iter().rev().enumerate() {
                if drop_at.len() == limit {
                    break;
                }
                if e == v {
                    drop_at.push(self.len - 1 - k);
                }
            }
            drop_at.reverse();
        }
        if drop_at.is_empty() {
            return 0;
        }
        let mut rebuilt = List::new(self.fill);
        let mut next = drop_at.iter().copied().peekable();
        for (i, e) in self.iter().enumerate() {
            if next.peek() == Some(&i) {
                next.next();
            } else {
                rebuilt.push_back(e);
            }
        }
        *self = rebuilt;
        drop_at.len()
    }

    /// Drops `n` elements from the head (all of them if `n >= len`).
    pub fn drop_front(&mut self, mut n: usize) {
        n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let c = self.chunks.front_mut().expect("len counted");
            if c.count <= n {
                n -= c.count;
                self.chunks.pop_front();
            } else {
                c.drop_front(n);
                n = 0;
            }
        }
    }

    /// Drops `n` elements from the tail.
    pub fn drop_back(&mut self, mut n: usize) {
        n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let c = self.chunks.back_mut().expect("len counted");
            if c.count <= n {
                n -= c.count;
                self.chunks.pop_back();
            } else {
                c.drop_back(n);
                n = 0;
            }
        }
    }

    /// Every element, head to tail (reversible).
    pub fn iter(&self) -> Iter<'_> {
        let mut chunks = self.chunks.iter();
        let front = chunks.next().map(|c| c.iter());
        let back = chunks.next_back().map(|c| c.iter());
        Iter { chunks, front, back, remaining: self.len }
    }

    /// Elements from position `i` toward the tail.
    pub fn iter_from(&self, i: usize) -> impl Iterator<Item = &[u8]> + '_ {
        let (ci, off) = if i < self.len { self.seek(i) } else { (self.chunks.len(), 0) };
        self.chunks.range(ci..).enumerate().flat_map(move |(k, c)| c.iter().skip(if k == 0 { off } else { 0 }))
    }

    /// Elements from position `i` toward the head.
    pub fn iter_rev_from(&self, i: usize) -> impl Iterator<Item = &[u8]> + '_ {
        let (end, skip) = if i < self.len {
            let (ci, off) = self.seek(i);
            (ci + 1, self.chunks[ci].count - 1 - off)
        } else {
            (0, 0)
        };
        self.chunks
            .range(..end)
            .rev()
            .enumerate()
            .flat_map(move |(k, c)| c.iter().rev().skip(if k == 0 { skip } else { 0 }))
    }
}

/// Iterator over a whole list.
pub struct Iter<'a> {
    chunks: std::collections::vec_deque::Iter<'a, Chunk>,
    front: Option<ChunkIter<'a>>,
    back: Option<ChunkIter<'a>>,
    remaining: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.remaining == 0 {
            return None;
        }
        loop {
            if let Some(f) = &mut self.front {
                if let Some(v) = f.next() {
                    self.remaining -= 1;
                    return Some(v);
                }
            }
            match self.chunks.next() {
                Some(c) => self.front = Some(c.iter()),
                None => {
                    let v = self.back.as_mut()?.next();
                    if v.is_some() {
                        self.remaining -= 1;
                    }
                    return v;
                }
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<'a> DoubleEndedIterator for Iter<'a> {
    fn next_back(&mut self) -> Option<&'a [u8]> {
        if self.remaining == 0 {
            return None;
        }
        loop {
            if let Some(b) = &mut self.back {
                if let Some(v) = b.next_back() {
                    self.remaining -= 1;
                    return Some(v);
                }
            }
            match self.chunks.next_back() {
                Some(c) => self.back = Some(c.iter()),
                None => {
                    let v = self.front.as_mut()?.next_back();
                    if v.is_some() {
                        self.remaining -= 1;
                    }
                    return v;
                }
            }
        }
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn model(l: &List) -> Vec<Vec<u8>> {
        l.iter().map(|s| s.to_vec()).collect()
    }

    #[test]
    fn encoding_round_trip() {
        for n in [0usize, 1, 127, 128, 300, 16383, 16384, 70000] {
            let v = vec![7u8; n];
            let mut buf = Vec::new();
            encode_into(&mut buf, &v);
            encode_into(&mut buf, b"x");
            assert_eq!(buf.len(), entry_size(n) + entry_size(1));
            let (ds, de, next) = entry_at(&buf, 0);
            assert_eq!(&buf[ds..de], &v[..]);
            let (s, ds2, de2) = entry_before(&buf, buf.len());
            assert_eq!(s, next);
            assert_eq!(&buf[ds2..de2], b"x");
            let (s0, ds0, _) = entry_before(&buf, next);
            assert_eq!((s0, ds0), (0, ds));
        }
    }

    #[test]
    fn chunks_follow_fill() {
        let mut l = List::new(4);
        for i in 0..10 {
            l.push_back(format!("{i}").as_bytes());
        }
        assert_eq!(l.chunk_count(), 3);
        let mut l = List::new(-1);
        for _ in 0..100 {
            l.push_front(&[b'a'; 100]);
        }
        assert!(l.chunk_count() >= 3);
        assert!(l.chunks.iter().all(|c| c.buf.len() <= 4096));
        let mut l = List::new(-2);
        l.push_back(&vec![1u8; 100_000]);
        l.push_back(b"a");
        assert_eq!(l.chunk_count(), 2);
        assert_eq!(l.get(0).unwrap().len(), 100_000);
    }

    #[test]
    fn indexes() {
        let mut l = List::new(3);
        for i in 0..10 {
            l.push_back(format!("{i}").as_bytes());
        }
        assert_eq!(l.resolve(-1), Some(9));
        assert_eq!(l.resolve(-11), None);
        assert_eq!(l.resolve(i64::MIN), None);
        assert_eq!(l.resolve(i64::MAX), None);
        for i in 0..10 {
            assert_eq!(l.get(i).unwrap(), format!("{i}").as_bytes());
            let fwd: Vec<_> = l.iter_from(i).map(|s| s.to_vec()).collect();
            assert_eq!(fwd.len(), 10 - i);
            let back: Vec<_> = l.iter_rev_from(i).map(|s| s.to_vec()).collect();
            assert_eq!(back.len(), i + 1);
            assert_eq!(back[0], format!("{i}").into_bytes());
        }
        assert_eq!(l.iter_from(10).count(), 0);
        assert_eq!(l.iter_rev_from(10).count(), 0);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Push(bool, Vec<u8>),
        Pop(bool),
        Set(usize, Vec<u8>),
        Insert(usize, Vec<u8>),
        Remove(usize),
        RemoveMatching(Vec<u8>, i64),
        DropFront(usize),
        DropBack(usize),
    }

    fn val() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            4 => prop::collection::vec(b'a'..b'd', 0..3),
            1 => prop::collection::vec(any::<u8>(), 0..300),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (any::<bool>(), val()).prop_map(|(h, v)| Op::Push(h, v)),
            3 => any::<bool>().prop_map(Op::Pop),
            1 => (0usize..40, val()).prop_map(|(i, v)| Op::Set(i, v)),
            1 => (0usize..40, val()).prop_map(|(i, v)| Op::Insert(i, v)),
            1 => (0usize..40).prop_map(Op::Remove),
            1 => (val(), -3i64..3).prop_map(|(v, c)| Op::RemoveMatching(v, c)),
            1 => (0usize..5).prop_map(Op::DropFront),
            1 => (0usize..5).prop_map(Op::DropBack),
        ]
    }

    proptest! {
        #[test]
        fn behaves_like_vecdeque(fill in prop_oneof![Just(-1i32), Just(-2), Just(1), Just(2), Just(5), Just(0)],
                                 ops in prop::collection::vec(op(), 0..120)) {
            let mut l = List::new(fill);
            let mut m: VecDeque<Vec<u8>> = VecDeque::new();
            for o in ops {
                match o {
                    Op::Push(true, v) => { l.push_front(&v); m.push_front(v); }
                    Op::Push(false, v) => { l.push_back(&v); m.push_back(v); }
                    Op::Pop(true) => prop_assert_eq!(l.pop_front(), m.pop_front()),
                    Op::Pop(false) => prop_assert_eq!(l.pop_back(), m.pop_back()),
                    Op::Set(i, v) => {
                        let ok = i < m.len();
                        prop_assert_eq!(l.set(i, &v), ok);
                        if ok { m[i] = v; }
                    }
                    Op::Insert(i, v) => {
                        let i = i.min(m.len());
                        l.insert(i, &v);
                        m.insert(i, v);
                    }
                    Op::Remove(i) => prop_assert_eq!(l.remove(i), m.remove(i)),
                    Op::RemoveMatching(v, c) => {
                        let mut idx: Vec<usize> = (0..m.len()).filter(|&i| m[i] == v).collect();
                        if c < 0 { idx.reverse(); }
                        if c != 0 { idx.truncate(c.unsigned_abs() as usize); }
                        idx.sort_unstable();
                        for &i in idx.iter().rev() { m.remove(i); }
                        prop_assert_eq!(l.remove_matching(&v, c), idx.len());
                    }
                    Op::DropFront(n) => { l.drop_front(n); for _ in 0..n { m.pop_front(); } }
                    Op::DropBack(n) => { l.drop_back(n); for _ in 0..n { m.pop_back(); } }
                }
                prop_assert_eq!(l.len(), m.len());
                prop_assert!(l.chunks.iter().all(|c| c.count > 0));
                prop_assert_eq!(l.chunks.iter().map(|c| c.count).sum::<usize>(), l.len());
            }
            let want: Vec<Vec<u8>> = m.iter().cloned().collect();
            prop_assert_eq!(model(&l), want.clone());
            let rev: Vec<Vec<u8>> = l.iter().rev().map(|s| s.to_vec()).collect();
            let mut wr = want.clone(); wr.reverse();
            prop_assert_eq!(rev, wr);
            for i in 0..m.len() {
                prop_assert_eq!(l.get(i), Some(&m[i][..]));
                prop_assert_eq!(l.iter_from(i).count(), m.len() - i);
                prop_assert_eq!(l.iter_rev_from(i).next(), Some(&m[i][..]));
            }
            // Mixed iteration from both ends meets in the middle exactly once.
            let mut it = l.iter();
            let mut seen = 0;
            loop {
                let a = it.next(); let b = it.next_back();
                seen += a.is_some() as usize + b.is_some() as usize;
                if a.is_none() || b.is_none() { break; }
            }
            prop_assert_eq!(seen, m.len());
        }
    }
}
