//! The list type: a deque of packed chunks, the interior ones compressed
//! (Redis's quicklist, in our words). Depends on nothing of ours.
//!
//! Representation. A `List` is a `VecDeque` of `Chunk`s; a chunk holds a run
//! of entries, each laid out as `[len][bytes][len reversed]`, where `len` is a
//! LEB128 varint. The leading length lets a chunk be walked forward, the
//! trailing (byte-reversed) copy lets it be walked backward from its end, so
//! both ends of every chunk are reachable without an index. An element
//! therefore costs its bytes plus two to ten bytes, not a separate allocation.
//! A chunk is either *plain* (those bytes in a `Vec`, possibly after some
//! free room at its start, see `Plain`) or *packed* (the same bytes
//! LZ4-compressed into an exactly sized `Box<[u8]>`, beside their raw
//! length); it always knows its element count.
//!
//! Chunk size follows `list-max-listpack-size` as captured when the list is
//! created (Redis fixes a quicklist's fill at creation too): a positive fill
//! caps the entries of a chunk (and, as a safety net, its bytes at 8 KiB); a
//! negative fill -1..-5 caps its bytes at 4, 8, 16, 32 or 64 KiB. An empty
//! chunk accepts any element, so an oversized element gets a chunk of its own.
//!
//! Compression rules. A chunk's *depth* is its distance from the nearer end
//! of the deque, 1 for the first and the last chunk.
//! - Depth 1 (the end chunks) is always plain: pushes and pops only ever
//!   touch plain bytes.
//! - Depth 2 may be either. This slack is the hysteresis that keeps the work
//!   amortised: a chunk is packed when it reaches depth 3 and unpacked when it
//!   becomes an end, so pushes and pops alternating across a chunk boundary
//!   never pack or unpack anything; each pack or unpack needs a chunk-full of
//!   pushes or pops since the previous one at that end.
//! - Depth 3 and more is packed, unless compression did not pay: chunks under
//!   `MIN_PACK_BYTES`, or whose compressed form would not save an eighth of
//!   the bytes (random data), stay plain, flagged `stay` so that the attempt
//!   is not repeated until the bytes change.
//!
//! Unlike Redis, this is on by default and not configurable:
//! `list-compress-depth` is accepted by CONFIG (and reported back) but does
//! not change the representation, which always compresses at depth 3 and
//! more. LZ4 costs little CPU (a few microseconds per 8 KiB chunk).
//!
//! Costs: push and pop at either end touch one plain chunk, amortised O(1)
//! at both ends (the room kept at the front of a plain buffer takes pushes
//! at the front without moving the other entries, and pops there only move
//! the start); a new end chunk packs at most one other chunk and an emptied
//! one unpacks at most one. Indexed access walks chunk counts from the
//! nearer end, O(N / chunk), then decodes one chunk (decompressed into a
//! scratch buffer when packed; reads never change the list). Reads therefore
//! hand elements to callbacks or through a `Cursor` that owns its scratch
//! buffer, never as a slice borrowed from the list. Edits in the middle
//! (LSET, LINSERT, remove) decode the one chunk they touch, re-pack it
//! (splitting it if it grew past the fill) and compress the result again if
//! it is still deep. Bulk edits (LREM, LTRIM) are O(N) or better; LREM
//! rebuilds only the chunks that lose elements.
//!
//! Memory: one million elements `element:0..999999` take about 4.3 bytes
//! each (16 plain); only the two or four chunks near the ends are plain, and
//! a plain buffer's room in front and spare capacity stay within a few times
//! its fill, except in a deep chunk left plain, which is trimmed to its bytes.
//!
//! Invariants: no chunk is empty; `len` is the sum of chunk counts; a chunk's
//! count is the number of entries in its bytes; the rules above on depth.
//!
//! Redis 7.0 reports every list as "quicklist" (the listpack list encoding
//! arrived in 7.2), so the encoding is not modelled beyond the chunks.

use std::cell::RefCell;
use std::collections::VecDeque;

/// Byte caps of the negative fill levels -1..-5.
const BYTE_LEVELS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// Byte cap applied even to count-limited chunks.
const SAFETY_BYTES: usize = 8192;
/// Redis's default `list-max-listpack-size`.
pub const DEFAULT_FILL: i32 = -2;
/// Chunks smaller than this are never compressed (Redis's threshold too).
const MIN_PACK_BYTES: usize = 48;
/// Compressed output up to this size goes through a per-thread scratch
/// buffer; a bigger chunk (one huge element) uses a temporary one, so the
/// scratch never keeps a huge allocation alive.
const SCRATCH_MAX: usize = 1 << 17;

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

/// Byte range (entry start, data start, data end, entry end) of entry `i`
/// of the `count` entries in `buf`, walked from the nearer end.
fn locate(buf: &[u8], count: usize, i: usize) -> (usize, usize, usize, usize) {
    if i <= count / 2 {
        let mut p = 0;
        for _ in 0..i {
            p = entry_at(buf, p).2;
        }
        let (ds, de, next) = entry_at(buf, p);
        (p, ds, de, next)
    } else {
        let mut e = buf.len();
        for _ in 0..count - 1 - i {
            e = entry_before(buf, e).0;
        }
        let (s, ds, de) = entry_before(buf, e);
        (s, ds, de, e)
    }
}

/// LZ4-compresses `raw`, if that saves at least an eighth of its bytes.
fn compress(raw: &[u8]) -> Option<Box<[u8]>> {
    if raw.len() < MIN_PACK_BYTES {
        return None;
    }
    let budget = raw.len() - raw.len() / 8;
    let need = lz4_flex::block::get_maximum_output_size(raw.len());
    let run = |out: &mut Vec<u8>| {
        if out.len() < need {
            out.resize(need, 0);
        }
        let n = lz4_flex::block::compress_into(raw, out).ok()?;
        (n <= budget).then(|| Box::from(&out[..n]))
    };
    if need <= SCRATCH_MAX {
        thread_local! {
            static OUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
        }
        // `run` calls nothing that could reach this buffer again.
        OUT.with(|o| run(&mut o.borrow_mut()))
    } else {
        run(&mut Vec::new())
    }
}

/// Decompresses a packed chunk's `data` (of `raw` bytes) into `out`.
fn decompress_into(data: &[u8], raw: usize, out: &mut Vec<u8>) {
    out.clear();
    out.resize(raw, 0);
    // The bytes were produced by `compress` from exactly `raw` bytes and
    // never change afterwards, so decoding cannot fail.
    let n = lz4_flex::block::decompress_into(data, out).expect("a chunk compressed by this module");
    debug_assert_eq!(n, raw);
}

/// A plain chunk's bytes: the entries are `buf[start..]`. The room before
/// `start` takes pushes at the front and is left by pops at the front, so
/// neither moves the other entries (amortised O(1), like the back).
#[derive(Clone, Debug, Default)]
struct Plain {
    buf: Vec<u8>,
    start: usize,
    /// Compression was tried on exactly these bytes and did not pay
    /// (cleared by any change).
    stay: bool,
}

impl Plain {
    fn bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    fn len(&self) -> usize {
        self.buf.len() - self.start
    }

    fn push_back(&mut self, v: &[u8]) {
        let n = entry_size(v.len());
        // Reclaim the room at the front before the buffer would grow, when
        // it is at least as large as the entries (amortised O(1)).
        if self.start > 0 && self.buf.len() + n > self.buf.capacity() && self.start >= self.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        encode_into(&mut self.buf, v);
    }

    fn push_front(&mut self, v: &[u8]) {
        let mut hdr = [0u8; 10];
        let k = put_leb(v.len(), &mut hdr);
        let n = v.len() + 2 * k;
        if self.start < n {
            // Move the entries into a new buffer with room in front as large
            // as they are (doubling, as a Vec grows at the back).
            let live = self.len();
            let room = n.max(live).max(16);
            let mut buf = Vec::with_capacity(room + live);
            buf.resize(room, 0);
            buf.extend_from_slice(self.bytes());
            self.buf = buf;
            self.start = room;
        }
        let s = self.start - n;
        self.buf[s..s + k].copy_from_slice(&hdr[..k]);
        self.buf[s + k..s + k + v.len()].copy_from_slice(v);
        hdr[..k].reverse();
        self.buf[s + k + v.len()..self.start].copy_from_slice(&hdr[..k]);
        self.start = s;
    }

    fn pop_front_with<R>(&mut self, f: impl FnOnce(&[u8]) -> R) -> R {
        let (ds, de, next) = entry_at(&self.buf, self.start);
        let r = f(&self.buf[ds..de]);
        self.start = next;
        r
    }

    fn pop_back_with<R>(&mut self, f: impl FnOnce(&[u8]) -> R) -> R {
        let (s, ds, de) = entry_before(&self.buf, self.buf.len());
        let r = f(&self.buf[ds..de]);
        self.buf.truncate(s);
        r
    }

    fn drop_front(&mut self, n: usize) {
        for _ in 0..n {
            self.start = entry_at(&self.buf, self.start).2;
        }
    }

    fn drop_back(&mut self, n: usize) {
        let mut e = self.buf.len();
        for _ in 0..n {
            e = entry_before(&self.buf, e).0;
        }
        self.buf.truncate(e);
    }
}

#[derive(Clone, Debug)]
enum Body {
    Plain(Plain),
    /// The entries LZ4-compressed; `raw` is their plain length.
    Packed {
        raw: usize,
        data: Box<[u8]>,
    },
}

#[derive(Clone, Debug)]
struct Chunk {
    count: usize,
    body: Body,
}

impl Chunk {
    fn with(v: &[u8]) -> Chunk {
        let mut buf = Vec::with_capacity(entry_size(v.len()));
        encode_into(&mut buf, v);
        Chunk { count: 1, body: Body::Plain(Plain { buf, start: 0, stay: false }) }
    }

    /// Length of the entries' bytes (uncompressed).
    fn raw_len(&self) -> usize {
        match &self.body {
            Body::Plain(p) => p.len(),
            Body::Packed { raw, .. } => *raw,
        }
    }

    fn is_packed(&self) -> bool {
        matches!(self.body, Body::Packed { .. })
    }

    fn heap_bytes(&self) -> usize {
        match &self.body {
            Body::Plain(p) => p.buf.capacity(),
            Body::Packed { data, .. } => data.len(),
        }
    }

    /// The entries' bytes: borrowed when plain, decompressed into `scratch`
    /// when packed.
    fn bytes<'s>(&'s self, scratch: &'s mut Vec<u8>) -> &'s [u8] {
        match &self.body {
            Body::Plain(p) => p.bytes(),
            Body::Packed { raw, data } => {
                decompress_into(data, *raw, scratch);
                scratch
            }
        }
    }

    /// The plain bytes for editing (unpacking first if needed); the chunk is
    /// about to change, so a failed compression no longer applies.
    fn plain_mut(&mut self) -> &mut Plain {
        if self.is_packed() {
            self.unpack();
        }
        match &mut self.body {
            Body::Plain(p) => {
                p.stay = false;
                p
            }
            Body::Packed { .. } => unreachable!("unpacked above"),
        }
    }

    fn unpack(&mut self) {
        if let Body::Packed { raw, data } = &self.body {
            let mut buf = Vec::new();
            decompress_into(data, *raw, &mut buf);
            self.body = Body::Plain(Plain { buf, start: 0, stay: false });
        }
    }

    /// Compresses a plain chunk, unless that was tried already on these
    /// bytes or does not pay.
    fn pack(&mut self) {
        if let Body::Plain(p) = &mut self.body {
            if p.stay {
                return;
            }
            match compress(p.bytes()) {
                Some(data) => self.body = Body::Packed { raw: p.len(), data },
                None => {
                    // It stays plain where it is: no spare room.
                    p.buf.drain(..p.start);
                    p.buf.shrink_to_fit();
                    p.start = 0;
                    p.stay = true;
                }
            }
        }
    }

    fn push_back(&mut self, v: &[u8]) {
        self.plain_mut().push_back(v);
        self.count += 1;
    }

    fn push_front(&mut self, v: &[u8]) {
        self.plain_mut().push_front(v);
        self.count += 1;
    }

    /// Removes the first entry, handing its bytes to `f` first.
    fn pop_front_with<R>(&mut self, f: impl FnOnce(&[u8]) -> R) -> R {
        let r = self.plain_mut().pop_front_with(f);
        self.count -= 1;
        r
    }

    /// Removes the last entry, handing its bytes to `f` first.
    fn pop_back_with<R>(&mut self, f: impl FnOnce(&[u8]) -> R) -> R {
        let r = self.plain_mut().pop_back_with(f);
        self.count -= 1;
        r
    }

    /// Drops the first `n` entries.
    fn drop_front(&mut self, n: usize) {
        self.plain_mut().drop_front(n);
        self.count -= n;
    }

    /// Drops the last `n` entries.
    fn drop_back(&mut self, n: usize) {
        self.plain_mut().drop_back(n);
        self.count -= n;
    }
}

/// The entries of one chunk's bytes, front to back.
struct Entries<'a> {
    buf: &'a [u8],
    front: usize,
}

impl<'a> Entries<'a> {
    fn new(buf: &'a [u8]) -> Entries<'a> {
        Entries { buf, front: 0 }
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.front >= self.buf.len() {
            return None;
        }
        let (ds, de, next) = entry_at(self.buf, self.front);
        self.front = next;
        Some(&self.buf[ds..de])
    }
}

/// True if a chunk holding `count` entries in `bytes` may take one more
/// element of `len` bytes, under `fill`.
fn fits(fill: i32, count: usize, bytes: usize, len: usize) -> bool {
    let new = bytes + entry_size(len);
    if fill < 0 {
        let level = (-fill - 1) as usize;
        new <= BYTE_LEVELS[level]
    } else {
        new <= SAFETY_BYTES && count < fill as usize
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
        if self.len != other.len {
            return false;
        }
        let (mut a, mut b) = (self.iter(), other.iter());
        loop {
            match (a.next(), b.next()) {
                (Some(x), Some(y)) if x == y => {}
                (None, None) => return true,
                _ => return false,
            }
        }
    }
}

impl List {
    /// An empty list whose chunks follow `fill` (`list-max-listpack-size`;
    /// clamped to -5 below, as Redis does).
    pub fn new(fill: i32) -> List {
        List { chunks: VecDeque::new(), len: 0, fill: fill.max(-5) }
    }

    /// The `list-max-listpack-size` the list was created with.
    pub fn fill(&self) -> i32 {
        self.fill
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

    /// Number of compressed chunks.
    pub fn packed_count(&self) -> usize {
        self.chunks.iter().filter(|c| c.is_packed()).count()
    }

    /// Heap bytes held: the chunk table and every chunk's bytes, compressed
    /// ones at their compressed size (O(chunks)).
    pub fn heap_bytes(&self) -> usize {
        self.chunks.capacity() * std::mem::size_of::<Chunk>() + self.chunks.iter().map(Chunk::heap_bytes).sum::<usize>()
    }

    /// Brings chunk `i` in line with its depth (see the module doc): an end
    /// chunk is unpacked, a chunk at depth 3 or more is packed, depth 2 is
    /// left as it is. Out of range: nothing.
    fn settle(&mut self, i: usize) {
        let n = self.chunks.len();
        if i >= n {
            return;
        }
        let depth = (i + 1).min(n - i);
        let c = &mut self.chunks[i];
        match depth {
            1 => c.unpack(),
            2 => {}
            _ => c.pack(),
        }
    }

    /// Settles the chunks whose depth class can change when one chunk in the
    /// middle is replaced by `k` others: chunks move by up to `k - 1`
    /// places, so the first and last `k + 2` are looked at (a look is a
    /// match when nothing is to do).
    fn settle_edges(&mut self, k: usize) {
        let n = self.chunks.len();
        for j in 0..(k + 2).min(n) {
            self.settle(j);
            self.settle(n - 1 - j);
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
        let fill = self.fill;
        match self.chunks.back_mut() {
            Some(c) if fits(fill, c.count, c.raw_len(), v.len()) => c.push_back(v),
            _ => {
                self.chunks.push_back(Chunk::with(v));
                // The old tail stays plain at depth 2; the one before it
                // reaches depth 3.
                self.settle(self.chunks.len().wrapping_sub(3));
            }
        }
        self.len += 1;
    }

    pub fn push_front(&mut self, v: &[u8]) {
        let fill = self.fill;
        match self.chunks.front_mut() {
            Some(c) if fits(fill, c.count, c.raw_len(), v.len()) => c.push_front(v),
            _ => {
                self.chunks.push_front(Chunk::with(v));
                self.settle(2);
            }
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
                    self.settle(0);
                }
                r
            }
            End::Tail => {
                let c = self.chunks.back_mut()?;
                let r = c.pop_back_with(f);
                if c.count == 0 {
                    self.chunks.pop_back();
                    self.settle(self.chunks.len().wrapping_sub(1));
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

    /// The chunk holding position `i` (< len) and the offset inside it.
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

    /// Hands the element at position `i` (0-based from the head) to `f`;
    /// None if out of range. An element of a compressed chunk is read from a
    /// decompressed copy; the list itself is not changed.
    pub fn get_with<R>(&self, i: usize, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        if i >= self.len {
            return None;
        }
        let (ci, off) = self.seek(i);
        let c = &self.chunks[ci];
        let mut scratch = Vec::new();
        let buf = c.bytes(&mut scratch);
        let (_, ds, de, _) = locate(buf, c.count, off);
        Some(f(&buf[ds..de]))
    }

    /// A copy of the element at position `i`.
    pub fn get(&self, i: usize) -> Option<Vec<u8>> {
        self.get_with(i, <[u8]>::to_vec)
    }

    /// Rewrites chunk `ci` through `f` on its decoded elements, re-packing
    /// the result into as many chunks as the fill needs (none if it left no
    /// element), compressed where deep.
    fn repack(&mut self, ci: usize, f: impl FnOnce(&mut Vec<Vec<u8>>)) {
        let mut scratch = Vec::new();
        let mut items: Vec<Vec<u8>> = Entries::new(self.chunks[ci].bytes(&mut scratch)).map(<[u8]>::to_vec).collect();
        let before = items.len();
        f(&mut items);
        self.len = self.len - before + items.len();
        let mut new: Vec<Chunk> = Vec::new();
        for it in &items {
            match new.last_mut() {
                Some(c) if fits(self.fill, c.count, c.raw_len(), it.len()) => c.push_back(it),
                _ => new.push(Chunk::with(it)),
            }
        }
        let k = new.len();
        let mut new = new.into_iter();
        match new.next() {
            Some(first) => self.chunks[ci] = first,
            None => drop(self.chunks.remove(ci)),
        }
        for (j, c) in new.enumerate() {
            self.chunks.insert(ci + 1 + j, c);
        }
        for j in ci..ci + k {
            self.settle(j);
        }
        self.settle_edges(k);
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
        let mut it = self.iter();
        let mut i = 0;
        while let Some(e) = it.next() {
            if e == v {
                return Some(i);
            }
            i += 1;
        }
        None
    }

    /// Removes elements equal to `v`: `count > 0` the first `count` from the
    /// head, `count < 0` the first `|count|` from the tail, 0 all of them.
    /// Returns how many were removed.
    pub fn remove_matching(&mut self, v: &[u8], count: i64) -> usize {
        let limit = if count == 0 { usize::MAX } else { count.unsigned_abs().min(usize::MAX as u64) as usize };
        let mut drop_at: Vec<usize> = Vec::new();
        let back = count < 0;
        let mut it = if back { self.iter_rev() } else { self.iter() };
        let mut k = 0;
        while drop_at.len() < limit {
            let Some(e) = it.next() else { break };
            if e == v {
                drop_at.push(if back { self.len - 1 - k } else { k });
            }
            k += 1;
        }
        drop(it);
        if drop_at.is_empty() {
            return 0;
        }
        if back {
            drop_at.reverse();
        }
        // Chunks that lose nothing are kept as they are (compressed or not);
        // the survivors of the others are packed anew, runs of neighbouring
        // touched chunks together.
        let old = std::mem::take(&mut self.chunks);
        let mut drops = drop_at.iter().copied().peekable();
        let mut open: Option<Chunk> = None;
        let mut scratch = Vec::new();
        let mut base = 0;
        for c in old {
            let end = base + c.count;
            if drops.peek().is_none_or(|&d| d >= end) {
                self.chunks.extend(open.take());
                self.chunks.push_back(c);
            } else {
                for (j, e) in Entries::new(c.bytes(&mut scratch)).enumerate() {
                    if drops.peek() == Some(&(base + j)) {
                        drops.next();
                        continue;
                    }
                    match &mut open {
                        Some(o) if fits(self.fill, o.count, o.raw_len(), e.len()) => o.push_back(e),
                        _ => self.chunks.extend(open.replace(Chunk::with(e))),
                    }
                }
            }
            base = end;
        }
        self.chunks.extend(open);
        self.len -= drop_at.len();
        for i in 0..self.chunks.len() {
            self.settle(i);
        }
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
        self.settle(0);
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
        self.settle(self.chunks.len().wrapping_sub(1));
    }

    /// Every element, head to tail.
    pub fn iter(&self) -> Cursor<'_> {
        self.iter_from(0)
    }

    /// Every element, tail to head.
    pub fn iter_rev(&self) -> Cursor<'_> {
        self.iter_rev_from(self.len.wrapping_sub(1))
    }

    /// Elements from position `i` toward the tail (none if `i >= len`).
    pub fn iter_from(&self, i: usize) -> Cursor<'_> {
        Cursor::new(self, i, false)
    }

    /// Elements from position `i` toward the head (none if `i >= len`).
    pub fn iter_rev_from(&self, i: usize) -> Cursor<'_> {
        Cursor::new(self, i, true)
    }
}

/// A walk over a list's elements in one direction. Not an `Iterator`: an
/// element of a compressed chunk lives in the cursor's own scratch buffer,
/// so each one is borrowed from the cursor until the next call:
/// `while let Some(v) = cur.next() { ... }`.
pub struct Cursor<'a> {
    chunks: &'a VecDeque<Chunk>,
    /// Current chunk.
    ci: usize,
    /// Byte offset in the current chunk: the next entry's start (forward) or
    /// the end of the next entry (backward).
    pos: usize,
    /// Elements still to hand out.
    left: usize,
    back: bool,
    /// The current chunk's bytes when it is plain.
    plain: &'a [u8],
    /// The current chunk's bytes when it is packed (`in_scratch`).
    scratch: Vec<u8>,
    in_scratch: bool,
}

impl<'a> Cursor<'a> {
    fn new(list: &'a List, i: usize, back: bool) -> Cursor<'a> {
        let mut c = Cursor {
            chunks: &list.chunks,
            ci: 0,
            pos: 0,
            left: 0,
            back,
            plain: &[],
            scratch: Vec::new(),
            in_scratch: false,
        };
        if i >= list.len {
            return c;
        }
        let (ci, off) = list.seek(i);
        c.ci = ci;
        c.load();
        let (s, _, _, e) = locate(c.bytes(), list.chunks[ci].count, off);
        c.pos = if back { e } else { s };
        c.left = if back { i + 1 } else { list.len - i };
        c
    }

    /// Makes chunk `ci` the current one.
    fn load(&mut self) {
        let chunk = &self.chunks[self.ci];
        match &chunk.body {
            Body::Plain(p) => {
                self.plain = p.bytes();
                self.in_scratch = false;
            }
            Body::Packed { raw, data } => {
                decompress_into(data, *raw, &mut self.scratch);
                self.in_scratch = true;
            }
        }
    }

    fn bytes(&self) -> &[u8] {
        if self.in_scratch {
            &self.scratch
        } else {
            self.plain
        }
    }

    /// Elements still to come.
    pub fn remaining(&self) -> usize {
        self.left
    }

    /// The next element, or None at the end of the list.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<&[u8]> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        // Chunks are never empty, so one step reaches the next element.
        if self.back {
            if self.pos == 0 {
                self.ci -= 1;
                self.load();
                self.pos = self.bytes().len();
            }
        } else if self.pos == self.bytes().len() {
            self.ci += 1;
            self.load();
            self.pos = 0;
        }
        let buf: &[u8] = if self.in_scratch { &self.scratch } else { self.plain };
        if self.back {
            let (s, ds, de) = entry_before(buf, self.pos);
            self.pos = s;
            Some(&buf[ds..de])
        } else {
            let (ds, de, next) = entry_at(buf, self.pos);
            self.pos = next;
            Some(&buf[ds..de])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn model(l: &List) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut it = l.iter();
        while let Some(v) = it.next() {
            out.push(v.to_vec());
        }
        out
    }

    fn model_rev(l: &List) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut it = l.iter_rev();
        while let Some(v) = it.next() {
            out.push(v.to_vec());
        }
        out
    }

    /// Every invariant of the module doc.
    fn check(l: &List) {
        let n = l.chunks.len();
        let mut total = 0;
        let mut scratch = Vec::new();
        for (i, c) in l.chunks.iter().enumerate() {
            assert!(c.count > 0, "empty chunk {i}");
            let buf = c.bytes(&mut scratch);
            assert_eq!(buf.len(), c.raw_len());
            assert_eq!(Entries::new(buf).count(), c.count, "count of chunk {i}");
            total += c.count;
            let depth = (i + 1).min(n - i);
            match (&c.body, depth) {
                (Body::Packed { data, raw }, _) => {
                    assert!(depth >= 2, "packed end chunk {i} of {n}");
                    assert!(data.len() <= raw - raw / 8);
                }
                (Body::Plain(p), 3..) => {
                    assert!(p.stay, "plain deep chunk {i} of {n} not flagged");
                    assert!(compress(p.bytes()).is_none(), "deep chunk {i} would compress");
                    assert_eq!(p.start, 0, "deep chunk {i} keeps room in front");
                }
                (Body::Plain(p), _) => assert!(p.start <= p.buf.len()),
            }
        }
        assert_eq!(total, l.len());
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
    fn compression_pays_or_is_skipped() {
        let text: Vec<u8> = (0..4000).flat_map(|i| format!("element:{i}").into_bytes()).collect();
        let packed = compress(&text).expect("text compresses");
        assert!(packed.len() < text.len() / 2);
        let mut out = Vec::new();
        decompress_into(&packed, text.len(), &mut out);
        assert_eq!(out, text);
        let mut rng = StdRng::seed_from_u64(1);
        let noise: Vec<u8> = (0..8000).map(|_| rng.gen()).collect();
        assert!(compress(&noise).is_none());
        assert!(compress(b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").is_none(), "under MIN_PACK_BYTES");
        // Over the scratch cap: a temporary buffer.
        let big = vec![b'z'; SCRATCH_MAX * 2];
        let packed = compress(&big).expect("compresses");
        decompress_into(&packed, big.len(), &mut out);
        assert_eq!(out, big);
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
        assert!(l.chunks.iter().all(|c| c.raw_len() <= 4096));
        let mut l = List::new(-2);
        l.push_back(&vec![1u8; 100_000]);
        l.push_back(b"a");
        assert_eq!(l.chunk_count(), 2);
        assert_eq!(l.get(0).unwrap().len(), 100_000);
    }

    #[test]
    fn interior_chunks_are_compressed() {
        let mut l = List::default();
        for i in 0..100_000 {
            l.push_back(format!("element:{i}").as_bytes());
        }
        check(&l);
        let n = l.chunk_count();
        assert!(n > 100);
        // All but the two ends and (at most) their neighbours.
        assert!(l.packed_count() >= n - 4);
        let raw: usize = l.chunks.iter().map(Chunk::raw_len).sum();
        assert!(l.heap_bytes() < raw / 2, "heap {} raw {raw}", l.heap_bytes());
        assert_eq!(l.get(50_000).unwrap(), b"element:50000");
        assert_eq!(l.get_with(99_999, |v| v.len()), Some(13));
        assert_eq!(l.position(b"element:77777"), Some(77_777));
        let mut it = l.iter_from(40_000);
        assert_eq!(it.next(), Some(&b"element:40000"[..]));
        assert_eq!(it.remaining(), 59_999);
        let mut it = l.iter_rev_from(40_000);
        assert_eq!(it.next(), Some(&b"element:40000"[..]));
        assert_eq!(it.next(), Some(&b"element:39999"[..]));
        assert_eq!(it.remaining(), 39_999);
        // Draining from both ends unpacks one chunk per chunk-full.
        while l.len() > 10 {
            l.pop_front();
            l.pop_back();
            assert!(l.chunks.front().is_none_or(|c| !c.is_packed()));
            assert!(l.chunks.back().is_none_or(|c| !c.is_packed()));
        }
        check(&l);
    }

    #[test]
    fn push_pop_across_a_boundary_does_not_thrash() {
        let mut l = List::new(8);
        for i in 0..64 {
            l.push_back(format!("element:{i:06}").as_bytes());
        }
        check(&l);
        // The tail chunk is full: each push makes a new one, each pop drops
        // it; after the first round trip nothing is packed or unpacked.
        l.push_back(b"element:xxxxxx");
        l.pop_back();
        let packed = l.packed_count();
        for _ in 0..100 {
            l.push_back(b"element:xxxxxx");
            check(&l);
            let before = l.packed_count();
            l.pop_back();
            assert_eq!(l.packed_count(), before);
        }
        assert_eq!(l.packed_count(), packed);
        for _ in 0..100 {
            l.pop_front();
            l.push_front(b"element:yyyyyy");
        }
        check(&l);
        assert_eq!(l.packed_count(), packed);
    }

    #[test]
    fn room_in_front_stays_bounded() {
        // A queue inside one chunk: pushes at the back, pops at the front.
        let mut l = List::new(-2);
        for i in 0..100 {
            l.push_back(format!("element:{i}").as_bytes());
        }
        for i in 100..100_000 {
            l.push_back(format!("element:{i}").as_bytes());
            assert_eq!(l.pop_front().unwrap(), format!("element:{}", i - 100).into_bytes());
        }
        assert_eq!(l.chunk_count(), 1);
        assert!(l.heap_bytes() < 8192, "{}", l.heap_bytes());
        // The other way round.
        for i in 0..100_000 {
            l.push_front(format!("element:{i}").as_bytes());
            l.pop_back().unwrap();
        }
        assert_eq!(l.chunk_count(), 1);
        assert!(l.heap_bytes() < 8192, "{}", l.heap_bytes());
        assert_eq!(l.len(), 100);
        // Pushes at the front grow the room by doubling, within the fill.
        let mut l = List::new(-2);
        for i in 0..10_000 {
            l.push_front(format!("element:{i}").as_bytes());
        }
        assert!(l.chunks.iter().all(|c| c.heap_bytes() <= 2 * 8192 + 64));
        check(&l);
        assert_eq!(l.get(0).unwrap(), b"element:9999");
        assert_eq!(l.get(9999).unwrap(), b"element:0");
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
            assert_eq!(l.iter_from(i).remaining(), 10 - i);
            let mut back = l.iter_rev_from(i);
            assert_eq!(back.remaining(), i + 1);
            assert_eq!(back.next().unwrap(), format!("{i}").as_bytes());
        }
        assert!(l.iter_from(10).next().is_none());
        assert!(l.iter_rev_from(10).next().is_none());
        assert!(l.get(10).is_none());
        assert!(List::default().iter_rev().next().is_none());
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

    /// Applies `o` to both the list and the model, comparing results.
    fn apply(l: &mut List, m: &mut VecDeque<Vec<u8>>, o: Op) {
        match o {
            Op::Push(true, v) => {
                l.push_front(&v);
                m.push_front(v);
            }
            Op::Push(false, v) => {
                l.push_back(&v);
                m.push_back(v);
            }
            Op::Pop(true) => assert_eq!(l.pop_front(), m.pop_front()),
            Op::Pop(false) => assert_eq!(l.pop_back(), m.pop_back()),
            Op::Set(i, v) => {
                let ok = i < m.len();
                assert_eq!(l.set(i, &v), ok);
                if ok {
                    m[i] = v;
                }
            }
            Op::Insert(i, v) => {
                let i = i.min(m.len());
                l.insert(i, &v);
                m.insert(i, v);
            }
            Op::Remove(i) => assert_eq!(l.remove(i), m.remove(i)),
            Op::RemoveMatching(v, c) => {
                let mut idx: Vec<usize> = (0..m.len()).filter(|&i| m[i] == v).collect();
                if c < 0 {
                    idx.reverse();
                }
                if c != 0 {
                    idx.truncate(c.unsigned_abs() as usize);
                }
                idx.sort_unstable();
                for &i in idx.iter().rev() {
                    m.remove(i);
                }
                assert_eq!(l.remove_matching(&v, c), idx.len());
            }
            Op::DropFront(n) => {
                l.drop_front(n);
                for _ in 0..n {
                    m.pop_front();
                }
            }
            Op::DropBack(n) => {
                l.drop_back(n);
                for _ in 0..n {
                    m.pop_back();
                }
            }
        }
    }

    /// Compares every read path against the model.
    fn compare(l: &List, m: &VecDeque<Vec<u8>>) {
        check(l);
        let want: Vec<Vec<u8>> = m.iter().cloned().collect();
        assert_eq!(model(l), want);
        let mut rev = want.clone();
        rev.reverse();
        assert_eq!(model_rev(l), rev);
        for (i, v) in m.iter().enumerate() {
            assert_eq!(l.get(i).as_ref(), Some(v));
        }
        let step = (m.len() / 7).max(1);
        for i in (0..m.len()).step_by(step) {
            let mut f = l.iter_from(i);
            let mut k = i;
            while let Some(v) = f.next() {
                assert_eq!(v, &m[k][..]);
                k += 1;
            }
            assert_eq!(k, m.len());
            let mut b = l.iter_rev_from(i);
            let mut k = i + 1;
            while let Some(v) = b.next() {
                k -= 1;
                assert_eq!(v, &m[k][..]);
            }
            assert_eq!(k, 0);
        }
        if let Some(v) = m.get(m.len() / 2) {
            assert_eq!(l.position(v), m.iter().position(|e| e == v));
        }
    }

    /// Element data of a random kind: short compressible text, longer text,
    /// random bytes (incompressible), empty, or bigger than a chunk.
    fn random_value(rng: &mut StdRng, big: bool) -> Vec<u8> {
        // Lists with big elements get random bytes often, the others rarely
        // (a random element in a chunk of text can make it incompressible).
        let noise = if big { 4 } else { 1 };
        match rng.gen_range(0..16 + noise) {
            0..=9 => format!("element:{}", rng.gen_range(0..40)).into_bytes(),
            10..=12 => format!("{:0>60}", rng.gen_range(0..1000)).into_bytes(),
            13 => Vec::new(),
            14 => vec![b'a' + rng.gen_range(0..3); rng.gen_range(1..4)],
            15 => b"element:7".to_vec(),
            _ if big && rng.gen_bool(0.2) => {
                let n = rng.gen_range(8000..20000);
                if rng.gen() {
                    vec![b'q'; n]
                } else {
                    (0..n).map(|_| rng.gen()).collect()
                }
            }
            _ => (0..rng.gen_range(0..200)).map(|_| rng.gen()).collect(),
        }
    }

    fn random_op(rng: &mut StdRng, len: usize, big: bool) -> Op {
        let at = rng.gen_range(0..len + 2);
        match rng.gen_range(0..40) {
            0..=11 => Op::Push(rng.gen(), random_value(rng, big)),
            12..=19 => Op::Pop(rng.gen()),
            20..=23 => Op::Set(at, random_value(rng, big)),
            24..=28 => Op::Insert(at, random_value(rng, big)),
            29..=31 => Op::Remove(at),
            32..=33 => Op::RemoveMatching(random_value(rng, false), rng.gen_range(-3..4)),
            34..=35 => Op::DropFront(rng.gen_range(0..10)),
            36..=37 => Op::DropBack(rng.gen_range(0..10)),
            _ => Op::Pop(rng.gen()),
        }
    }

    /// Thousands of random operations against a `VecDeque` model, with small
    /// fills so that many chunks exist and most of them are compressed.
    #[test]
    fn randomized_against_model() {
        for (seed, fill) in [(1u64, 8i32), (2, 16), (3, 32), (4, -1), (6, -2), (5, 1), (7, 3), (8, 4)] {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut l = List::new(fill);
            let mut m: VecDeque<Vec<u8>> = VecDeque::new();
            let mut packed_seen = 0;
            let mut max_chunks = 0;
            for step in 0..6000 {
                // Grow in waves so lists reach hundreds of elements, then shrink.
                let o = if (step / 500) % 2 == 0 && rng.gen_bool(0.5) {
                    Op::Push(rng.gen(), random_value(&mut rng, seed % 2 == 0))
                } else {
                    random_op(&mut rng, m.len(), seed % 2 == 0)
                };
                apply(&mut l, &mut m, o);
                assert_eq!(l.len(), m.len());
                packed_seen = packed_seen.max(l.packed_count());
                max_chunks = max_chunks.max(l.chunk_count());
                if step % 97 == 0 {
                    compare(&l, &m);
                } else {
                    check(&l);
                }
            }
            compare(&l, &m);
            eprintln!("fill {fill}: up to {max_chunks} chunks, {packed_seen} compressed");
            assert!(packed_seen >= 4, "fill {fill}: at most {packed_seen} chunks were compressed");
        }
    }

    fn val() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            4 => prop::collection::vec(b'a'..b'd', 0..3),
            2 => (0u32..50).prop_map(|i| format!("element:{i:04}").into_bytes()),
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
                apply(&mut l, &mut m, o);
                prop_assert_eq!(l.len(), m.len());
                check(&l);
            }
            compare(&l, &m);
            let copy = l.clone();
            prop_assert!(copy == l);
        }
    }
}
