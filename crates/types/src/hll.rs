//! HyperLogLog, stored as a plain string in Redis's exact `HYLL` layout, so
//! GET/SET/DUMP of a key move sketches between servers unchanged.
//!
//! Layout: a 16-byte header, then the registers.
//!
//! ```text
//! +------+---+-----+----------+
//! | HYLL | E | N/U | Cardin.  |   4 magic bytes, encoding (0 dense, 1 sparse),
//! +------+---+-----+----------+   3 unused bytes, 8-byte little-endian cache
//! ```
//!
//! The cached cardinality is valid unless the top bit of its last byte is set;
//! every write that can change the estimate sets that bit, and a single-key
//! PFCOUNT recomputes and stores the value (a write to the string's bytes).
//!
//! There are 16384 registers (P = 14), each holding the length of the run of
//! zeroes (plus one) seen in the top 50 bits of a 64-bit MurmurHash64A of the
//! element; the low 14 bits pick the register.
//!
//! * Dense: 16384 registers of 6 bits, packed little-endian-first inside each
//!   byte (register `i` starts at bit `6*i`), 12288 bytes after the header.
//! * Sparse: a run-length code. `00xxxxxx` = ZERO (1..64 zero registers),
//!   `01xxxxxx yyyyyyyy` = XZERO (1..16384 zero registers), `1vvvvvxx` = VAL
//!   (1..4 registers of value 1..32). A new key is one XZERO covering all.
//!   A sparse value is promoted to dense when a register needs a value above
//!   32 or when an update would grow the string past `hll-sparse-max-bytes`.
//!
//! The in-place update of the sparse form follows Redis step by step (split
//! the covering opcode into at most three, then merge up to five neighbouring
//! VAL opcodes), because the bytes are observable with GET and must be equal.
//! Corrupted values (a SETRANGE away) are handled without panics: reads past
//! the end see zero, as Redis sees its string terminator, and every loop is
//! bounded by the string's length.
//!
//! The estimate is Otmar Ertl's improved raw estimator (arXiv:1702.01284),
//! computed from the register histogram with the same floating-point steps as
//! Redis, so counts agree exactly.

pub const P: u32 = 14;
pub const Q: u32 = 64 - P;
pub const REGISTERS: usize = 1 << P;
pub const HDR: usize = 16;
pub const DENSE_SIZE: usize = HDR + (REGISTERS * 6).div_ceil(8);
pub const DENSE: u8 = 0;
pub const SPARSE: u8 = 1;
const REG_MAX: u8 = 63;
const SPARSE_VAL_MAX_VALUE: u8 = 32;
const SPARSE_VAL_MAX_LEN: usize = 4;
const SPARSE_ZERO_MAX_LEN: usize = 64;
const SPARSE_XZERO_MAX_LEN: usize = 16384;
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;
const SEED: u64 = 0xadc8_3b19;

/// The value is not a well-formed sketch (Redis's INVALIDOBJ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

/// MurmurHash2, 64-bit (MurmurHash64A), reading blocks little-endian.
pub fn murmur64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (key.len() as u64).wrapping_mul(M);
    let mut chunks = key.chunks_exact(8);
    for c in &mut chunks {
        let mut k = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= (b as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element maps to and the run length to store there.
pub fn pattern(ele: &[u8]) -> (usize, u8) {
    let hash = murmur64a(ele, SEED);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    // The guard bit bounds the count at Q + 1.
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

/// A new, empty sketch: sparse, one XZERO opcode, cache valid at zero.
pub fn new_sparse() -> Vec<u8> {
    let mut v = Vec::with_capacity(HDR + 8);
    v.extend_from_slice(b"HYLL");
    v.push(SPARSE);
    v.extend_from_slice(&[0; 11]);
    let mut left = REGISTERS;
    while left > 0 {
        let n = left.min(SPARSE_XZERO_MAX_LEN);
        push_xzero(&mut v, n);
        left -= n;
    }
    v
}

/// True if `v` passes Redis's structural check (`isHLLObjectOrReply`).
pub fn is_valid(v: &[u8]) -> bool {
    v.len() >= HDR && &v[..4] == b"HYLL" && v[4] <= SPARSE && (v[4] != DENSE || v.len() == DENSE_SIZE)
}

pub fn is_sparse(v: &[u8]) -> bool {
    v[4] == SPARSE
}

/// The cached cardinality, if valid.
pub fn cached(v: &[u8]) -> Option<u64> {
    if v[15] & 0x80 != 0 {
        return None;
    }
    Some(u64::from_le_bytes(v[8..16].try_into().expect("8 bytes")))
}

pub fn set_cached(v: &mut [u8], card: u64) {
    v[8..16].copy_from_slice(&card.to_le_bytes());
}

pub fn invalidate(v: &mut [u8]) {
    v[15] |= 0x80;
}

// ---- dense registers -------------------------------------------------------

#[inline]
fn byte_at(r: &[u8], i: usize) -> u8 {
    r.get(i).copied().unwrap_or(0)
}

/// Register `i` of a dense register area.
#[inline]
pub fn dense_get(r: &[u8], i: usize) -> u8 {
    let bit = i * 6;
    let (b, fb) = (bit / 8, bit & 7);
    let lo = (byte_at(r, b) as u16) >> fb;
    let hi = (byte_at(r, b + 1) as u16) << (8 - fb);
    ((lo | hi) as u8) & REG_MAX
}

#[inline]
pub fn dense_put(r: &mut [u8], i: usize, val: u8) {
    let bit = i * 6;
    let (b, fb) = (bit / 8, bit & 7);
    let v = (val & REG_MAX) as u16;
    if let Some(x) = r.get_mut(b) {
        *x = (*x & !((REG_MAX as u16) << fb) as u8) | (v << fb) as u8;
    }
    if let Some(x) = r.get_mut(b + 1) {
        let fb8 = 8 - fb;
        *x = (*x & !((REG_MAX as u16) >> fb8) as u8) | (v >> fb8) as u8;
    }
}

fn dense_set(r: &mut [u8], i: usize, count: u8) -> bool {
    if count > dense_get(r, i) {
        dense_put(r, i, count);
        true
    } else {
        false
    }
}

// ---- sparse opcodes --------------------------------------------------------

#[inline]
fn is_zero(b: u8) -> bool {
    b & 0xc0 == 0
}
#[inline]
fn is_xzero(b: u8) -> bool {
    b & 0xc0 == 0x40
}
#[inline]
fn is_val(b: u8) -> bool {
    b & 0x80 != 0
}
#[inline]
fn zero_len(b: u8) -> usize {
    (b & 0x3f) as usize + 1
}
#[inline]
fn xzero_len(b: u8, b2: u8) -> usize {
    ((((b & 0x3f) as usize) << 8) | b2 as usize) + 1
}
#[inline]
fn val_value(b: u8) -> u8 {
    ((b >> 2) & 0x1f) + 1
}
#[inline]
fn val_len(b: u8) -> usize {
    (b & 3) as usize + 1
}
#[inline]
fn val_op(value: u8, len: usize) -> u8 {
    0x80 | ((value - 1) << 2) | (len as u8 - 1)
}
fn push_xzero(v: &mut Vec<u8>, len: usize) {
    let l = len - 1;
    v.push((l >> 8) as u8 | 0x40);
    v.push((l & 0xff) as u8);
}

/// One decoded sparse opcode.
enum Op {
    Zero(usize),
    Val(u8, usize),
}

/// Walks the sparse opcodes of `s` (the bytes after the header), reading a
/// missing second XZERO byte as zero.
fn ops(s: &[u8]) -> impl Iterator<Item = Op> + '_ {
    let mut p = 0;
    std::iter::from_fn(move || {
        let b = *s.get(p)?;
        Some(if is_zero(b) {
            p += 1;
            Op::Zero(zero_len(b))
        } else if is_xzero(b) {
            p += 2;
            Op::Zero(xzero_len(b, byte_at(s, p - 1)))
        } else {
            p += 1;
            Op::Val(val_value(b), val_len(b))
        })
    })
}

/// Converts a sparse value to dense in place (header and cache kept). False
/// if it was already dense.
pub fn to_dense(v: &mut Vec<u8>) -> Result<bool, Corrupt> {
    if v[4] == DENSE {
        return Ok(false);
    }
    let mut d = vec![0u8; DENSE_SIZE];
    d[..HDR].copy_from_slice(&v[..HDR]);
    d[4] = DENSE;
    let regs = &mut d[HDR..];
    let mut idx = 0usize;
    for op in ops(&v[HDR..]) {
        match op {
            Op::Zero(n) => idx += n,
            Op::Val(val, n) => {
                if idx + n > REGISTERS {
                    break;
                }
                for i in idx..idx + n {
                    dense_put(regs, i, val);
                }
                idx += n;
            }
        }
    }
    if idx != REGISTERS {
        return Err(Corrupt);
    }
    *v = d;
    Ok(true)
}

enum SparseOutcome {
    Unchanged,
    Updated,
    Promote,
    Invalid,
}

/// Redis's `hllSparseSet` on a buffer padded with zeroes past `*end` (the
/// logical length), so that reads of the terminator and the short growth
/// of a split stay in bounds.
fn sparse_set_padded(v: &mut [u8], end: &mut usize, index: usize, count: u8, max_bytes: usize) -> SparseOutcome {
    // Step 1: find the opcode covering `index`.
    let mut p = HDR;
    let mut first = 0usize;
    let mut prev: Option<usize> = None;
    let mut span = 0usize;
    while p < *end {
        let b = v[p];
        let oplen;
        if is_zero(b) {
            span = zero_len(b);
            oplen = 1;
        } else if is_val(b) {
            span = val_len(b);
            oplen = 1;
        } else {
            span = xzero_len(b, v[p + 1]);
            oplen = 2;
        }
        if index < first + span {
            break;
        }
        prev = Some(p);
        p += oplen;
        first += span;
    }
    if span == 0 || p >= *end {
        return SparseOutcome::Invalid;
    }
    let b = v[p];
    let next = if is_xzero(b) { p + 2 } else { p + 1 };
    let next = (next < *end).then_some(next);
    let runlen = if is_zero(b) {
        zero_len(b)
    } else if is_xzero(b) {
        xzero_len(b, v[p + 1])
    } else {
        val_len(b)
    };

    // Step 2: the trivial cases are updated in place.
    let mut trivial = false;
    if is_val(b) {
        if val_value(b) >= count {
            return SparseOutcome::Unchanged;
        }
        trivial = runlen == 1;
    } else if is_zero(b) && runlen == 1 {
        trivial = true;
    }
    if trivial {
        v[p] = val_op(count, 1);
    } else {
        // General case: split into up to three opcodes.
        let mut seq = [0u8; 5];
        let mut n = 0;
        let last = first + span - 1;
        let zeros = |seq: &mut [u8; 5], n: &mut usize, len: usize| {
            if len > SPARSE_ZERO_MAX_LEN {
                let l = len - 1;
                seq[*n] = (l >> 8) as u8 | 0x40;
                seq[*n + 1] = (l & 0xff) as u8;
                *n += 2;
            } else {
                seq[*n] = (len - 1) as u8;
                *n += 1;
            }
        };
        if is_val(b) {
            let cur = val_value(b);
            if index != first {
                seq[n] = val_op(cur, index - first);
                n += 1;
            }
            seq[n] = val_op(count, 1);
            n += 1;
            if index != last {
                seq[n] = val_op(cur, last - index);
                n += 1;
            }
        } else {
            if index != first {
                zeros(&mut seq, &mut n, index - first);
            }
            seq[n] = val_op(count, 1);
            n += 1;
            if index != last {
                zeros(&mut seq, &mut n, last - index);
            }
        }
        // Step 3: put the new sequence in place of the old opcode.
        let oldlen = if is_xzero(b) { 2 } else { 1 };
        let delta = n as isize - oldlen as isize;
        if delta > 0 && (*end as isize + delta) as usize > max_bytes {
            return SparseOutcome::Promote;
        }
        if delta != 0 {
            if let Some(nx) = next {
                let to = (nx as isize + delta) as usize;
                v.copy_within(nx..*end, to);
            }
        }
        *end = (*end as isize + delta) as usize;
        v[p..p + n].copy_from_slice(&seq[..n]);
        v[*end] = 0;
    }

    // Step 4: merge adjacent VAL opcodes of equal value, scanning at most
    // five opcodes from the one before the change.
    let mut p = prev.unwrap_or(HDR);
    let mut scan = 5;
    while p < *end {
        if scan == 0 {
            break;
        }
        scan -= 1;
        let b = v[p];
        if is_xzero(b) {
            p += 2;
            continue;
        } else if is_zero(b) {
            p += 1;
            continue;
        }
        if p + 1 < *end && is_val(v[p + 1]) {
            let (v1, v2) = (val_value(b), val_value(v[p + 1]));
            if v1 == v2 {
                let len = val_len(b) + val_len(v[p + 1]);
                if len <= SPARSE_VAL_MAX_LEN {
                    v[p + 1] = val_op(v1, len);
                    v.copy_within(p + 1..*end + 1, p);
                    *end -= 1;
                    continue;
                }
            }
        }
        p += 1;
    }
    invalidate(v);
    SparseOutcome::Updated
}

fn sparse_set(v: &mut Vec<u8>, index: usize, count: u8, max_bytes: usize) -> Result<bool, Corrupt> {
    if count <= SPARSE_VAL_MAX_VALUE {
        let mut end = v.len();
        v.resize(end + 8, 0);
        let r = sparse_set_padded(v, &mut end, index, count, max_bytes);
        v.truncate(end);
        match r {
            SparseOutcome::Unchanged => return Ok(false),
            SparseOutcome::Updated => return Ok(true),
            SparseOutcome::Invalid => return Err(Corrupt),
            SparseOutcome::Promote => {}
        }
    }
    to_dense(v)?;
    Ok(dense_set(&mut v[HDR..], index, count))
}

/// Raises register `index` to `count` if lower. True if it changed.
pub fn set_register(v: &mut Vec<u8>, index: usize, count: u8, sparse_max_bytes: usize) -> Result<bool, Corrupt> {
    match v[4] {
        DENSE => Ok(dense_set(&mut v[HDR..], index, count)),
        SPARSE => sparse_set(v, index, count, sparse_max_bytes),
        _ => Err(Corrupt),
    }
}

/// Adds one element (Redis's `hllAdd`). True if a register changed.
pub fn add(v: &mut Vec<u8>, ele: &[u8], sparse_max_bytes: usize) -> Result<bool, Corrupt> {
    let (index, count) = pattern(ele);
    set_register(v, index, count, sparse_max_bytes)
}

// ---- counting --------------------------------------------------------------

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let zp = z;
        z += x * y;
        y += y;
        if zp == z {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let zp = z;
        y *= 0.5;
        let d = 1.0 - x;
        z -= d * d * y;
        if zp == z {
            return z / 3.0;
        }
    }
}

/// The estimate from a register histogram.
pub fn estimate(h: &[u64; 64]) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - h[Q as usize + 1] as f64) / m);
    for j in (1..=Q as usize).rev() {
        z += h[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(h[0] as f64 / m);
    let e = (ALPHA_INF * m * m / z).round();
    // Redis rounds with llroundl, which on x86-64 answers i64::MIN for a
    // value it cannot represent (z = 0 when every register is above 51,
    // only possible in a hand-made sketch); that bit pattern is what gets
    // cached and replied.
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if e.is_nan() || !(-TWO_63..TWO_63).contains(&e) {
        i64::MIN as u64
    } else {
        e as i64 as u64
    }
}

/// Computes the cardinality of a valid-looking sketch (the cache is ignored).
pub fn count(v: &[u8]) -> Result<u64, Corrupt> {
    let mut h = [0u64; 64];
    if v[4] == DENSE {
        let r = &v[HDR..];
        for i in 0..REGISTERS {
            h[dense_get(r, i) as usize] += 1;
        }
    } else {
        let mut idx = 0usize;
        for op in ops(&v[HDR..]) {
            match op {
                Op::Zero(n) => {
                    idx += n;
                    h[0] += n as u64;
                }
                Op::Val(val, n) => {
                    idx += n;
                    h[val as usize] += n as u64;
                }
            }
        }
        if idx != REGISTERS {
            return Err(Corrupt);
        }
    }
    Ok(estimate(&h))
}

/// Registers as one byte each: the union of several sketches.
pub type Raw = [u8; REGISTERS];

/// Raises `max` to the registers of sketch `v` (Redis's `hllMerge`).
pub fn merge_into(max: &mut Raw, v: &[u8]) -> Result<(), Corrupt> {
    if v[4] == DENSE {
        let r = &v[HDR..];
        if r.len() >= REGISTERS * 6 / 8 {
            // Four 6-bit registers fill three bytes exactly (little-endian
            // bit order, as `dense_get` reads them): a group at a time.
            for (m, b) in max.chunks_exact_mut(4).zip(r.chunks_exact(3)) {
                let w = b[0] as u32 | (b[1] as u32) << 8 | (b[2] as u32) << 16;
                m[0] = m[0].max((w & 63) as u8);
                m[1] = m[1].max((w >> 6 & 63) as u8);
                m[2] = m[2].max((w >> 12 & 63) as u8);
                m[3] = m[3].max((w >> 18 & 63) as u8);
            }
        } else {
            for (i, m) in max.iter_mut().enumerate() {
                *m = (*m).max(dense_get(r, i));
            }
        }
        return Ok(());
    }
    let mut i = 0usize;
    for op in ops(&v[HDR..]) {
        match op {
            Op::Zero(n) => i += n,
            Op::Val(val, n) => {
                if i + n > REGISTERS {
                    break;
                }
                for m in &mut max[i..i + n] {
                    *m = (*m).max(val);
                }
                i += n;
            }
        }
    }
    if i != REGISTERS {
        return Err(Corrupt);
    }
    Ok(())
}

/// The cardinality of a union computed by `merge_into`.
pub fn count_raw(max: &Raw) -> u64 {
    // Eight registers at a time: a word of zeros (most of a small union) is
    // one addition, and four histograms keep equal neighbours from waiting
    // on each other's increments.
    let mut hs = [[0u64; 64]; 4];
    let mut zeros = 0u64;
    for c in max.chunks_exact(8) {
        let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        if w == 0 {
            zeros += 8;
            continue;
        }
        for (j, &r) in c.iter().enumerate() {
            hs[j & 3][r as usize & 63] += 1;
        }
    }
    let mut h = [0u64; 64];
    for (i, x) in h.iter_mut().enumerate() {
        *x = hs[0][i] + hs[1][i] + hs[2][i] + hs[3][i];
    }
    h[0] += zeros;
    estimate(&h)
}

/// PFDEBUG DECODE's text for a sparse value.
pub fn decode(v: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let body = &v[HDR..];
    let mut p = 0;
    while p < body.len() {
        let b = body[p];
        if is_zero(b) {
            let _ = write!(s, "z:{} ", zero_len(b));
            p += 1;
        } else if is_xzero(b) {
            let _ = write!(s, "Z:{} ", xzero_len(b, byte_at(body, p + 1)));
            p += 2;
        } else {
            let _ = write!(s, "v:{},{} ", val_value(b), val_len(b));
            p += 1;
        }
    }
    s.trim_matches(' ').to_string()
}

/// All registers of a dense value.
pub fn registers(v: &[u8]) -> impl Iterator<Item = u8> + '_ {
    let r = &v[HDR..];
    (0..REGISTERS).map(move |i| dense_get(r, i))
}

/// PFSELFTEST: checks register packing and the estimator's error bounds on
/// sparse and dense sketches fed the same elements. `Err` carries the
/// message after the error code.
pub fn self_test(sparse_max_bytes: usize, seed: u64, cycles: usize, elements: u64) -> Result<(), String> {
    let mut rng = seed | 1;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut regs = vec![0u8; DENSE_SIZE - HDR];
    let mut expect = vec![0u8; REGISTERS];
    for _ in 0..cycles {
        for (i, e) in expect.iter_mut().enumerate() {
            *e = (next() & REG_MAX as u64) as u8;
            dense_put(&mut regs, i, *e);
        }
        for (i, &e) in expect.iter().enumerate() {
            let got = dense_get(&regs, i);
            if got != e {
                return Err(format!("Register {i} should be {e} but is {got}"));
            }
        }
    }
    let mut dense = new_sparse();
    to_dense(&mut dense).map_err(|_| "dense conversion failed".to_string())?;
    let mut sparse = new_sparse();
    let relerr = 1.04 / (REGISTERS as f64).sqrt();
    let base = next();
    let mut checkpoint = 1u64;
    for j in 1..=elements {
        let ele = (j ^ base).to_le_bytes();
        add(&mut dense, &ele, sparse_max_bytes).map_err(|_| "corrupted dense sketch".to_string())?;
        add(&mut sparse, &ele, sparse_max_bytes).map_err(|_| "corrupted sparse sketch".to_string())?;
        if j != checkpoint {
            continue;
        }
        if (j as usize) < sparse_max_bytes / 2 && !is_sparse(&sparse) {
            return Err("sparse encoding not used".to_string());
        }
        let c = count(&dense).map_err(|_| "corrupted dense sketch".to_string())?;
        if count(&sparse) != Ok(c) {
            return Err("dense/sparse disagree".to_string());
        }
        let maxerr = if j == 10 { 1 } else { (relerr * 6.0 * j as f64).ceil() as u64 };
        let abserr = j.abs_diff(c);
        if abserr > maxerr {
            return Err(format!("Too big error. card:{j} abserr:{abserr}"));
        }
        checkpoint *= 10;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A plain model: registers as bytes.
    fn model_add(m: &mut Raw, ele: &[u8]) -> bool {
        let (i, c) = pattern(ele);
        if c > m[i] {
            m[i] = c;
            true
        } else {
            false
        }
    }

    fn sparse_registers(v: &[u8]) -> Raw {
        let mut m = [0u8; REGISTERS];
        merge_into(&mut m, v).unwrap();
        m
    }

    #[test]
    fn count_raw_equals_plain_histogram() {
        let mut x: u32 = 99;
        for fill in [0usize, 3, 50, 100] {
            let mut m = [0u8; REGISTERS];
            for r in m.iter_mut() {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                if (x >> 8) as usize % 100 < fill {
                    *r = ((x >> 16) % 40) as u8;
                }
            }
            let mut h = [0u64; 64];
            for &r in m.iter() {
                h[r as usize] += 1;
            }
            assert_eq!(count_raw(&m), estimate(&h), "fill {fill}");
        }
    }

    #[test]
    fn dense_merge_by_groups_equals_register_reads() {
        let mut v = vec![0u8; DENSE_SIZE];
        v[..4].copy_from_slice(b"HYLL");
        v[4] = DENSE;
        let mut x: u32 = 12345;
        for b in &mut v[HDR..] {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            *b = (x >> 16) as u8;
        }
        let mut m = [7u8; REGISTERS];
        merge_into(&mut m, &v).unwrap();
        for (i, &r) in m.iter().enumerate() {
            assert_eq!(r, dense_get(&v[HDR..], i).max(7), "register {i}");
        }
    }

    #[test]
    fn patterns_match_redis() {
        // (register, run) read back with PFDEBUG DECODE from redis-server
        // 7.0.15 after a PFADD of each element: covers every tail length
        // class of the hash (0, 1, 5, 8, 9 and 17 bytes).
        let cases: [(&[u8], usize, u8); 6] = [
            (b"", 5938, 2),
            (b"a", 12711, 2),
            (b"hello", 9216, 1),
            (b"12345678", 10579, 3),
            (b"123456789", 9293, 2),
            (b"user:1000:profile", 15773, 1),
        ];
        for (e, reg, run) in cases {
            assert_eq!(pattern(e), (reg, run), "{}", String::from_utf8_lossy(e));
        }
    }

    #[test]
    fn empty_sketch() {
        let v = new_sparse();
        assert_eq!(v.len(), HDR + 2);
        assert!(is_valid(&v));
        assert_eq!(decode(&v), "Z:16384");
        assert_eq!(count(&v), Ok(0));
        assert_eq!(cached(&v), Some(0));
    }

    #[test]
    fn dense_packing_roundtrip() {
        assert!(self_test(3000, 7, 3, 0).is_ok());
    }

    #[test]
    fn estimates_are_close() {
        assert!(self_test(3000, 11, 0, 100_000).is_ok());
    }

    #[test]
    fn unrepresentable_estimate_is_i64_min() {
        // Every register at 63: Redis's llroundl overflows to i64::MIN.
        let mut v = new_sparse();
        to_dense(&mut v).unwrap();
        v[HDR..].fill(0xff);
        assert_eq!(count(&v), Ok(i64::MIN as u64));
        let mut c = v.clone();
        set_cached(&mut c, i64::MIN as u64);
        assert_eq!(cached(&c), None, "the cache bit reads as invalid");
    }

    #[test]
    fn promotion_on_size() {
        let mut v = new_sparse();
        for i in 0..2000u32 {
            add(&mut v, &i.to_le_bytes(), 3000).unwrap();
        }
        assert!(!is_sparse(&v));
        assert_eq!(v.len(), DENSE_SIZE);
    }

    #[test]
    fn promotion_on_value() {
        let mut v = new_sparse();
        assert_eq!(set_register(&mut v, 100, 33, 3000), Ok(true));
        assert!(!is_sparse(&v));
        assert_eq!(dense_get(&v[HDR..], 100), 33);
        assert_eq!(set_register(&mut v, 16383, 63, 3000), Ok(true));
        assert_eq!(dense_get(&v[HDR..], 16383), 63);
        assert_eq!(dense_get(&v[HDR..], 16382), 0);
    }

    #[test]
    fn corrupted_sparse_is_reported() {
        let mut v = new_sparse();
        v.truncate(HDR + 1); // XZERO without its second byte
        assert!(count(&v).is_err());
        let mut v = new_sparse();
        v.push(0x00); // one register too many
        assert!(count(&v).is_err());
        assert!(add(&mut v.clone(), b"x", 3000).is_ok() || add(&mut v, b"x", 3000).is_err());
    }

    proptest! {
        #[test]
        fn sparse_matches_model(eles in proptest::collection::vec(any::<u32>(), 0..600), max in 20usize..4000) {
            let mut v = new_sparse();
            let mut m = [0u8; REGISTERS];
            for e in &eles {
                let b = e.to_le_bytes();
                let changed = add(&mut v, &b, max).unwrap();
                prop_assert_eq!(changed, model_add(&mut m, &b));
            }
            prop_assert!(is_valid(&v));
            if is_sparse(&v) {
                prop_assert!(v.len() <= max.max(HDR + 2));
            }
            prop_assert_eq!(sparse_registers(&v), m);
            let mut d = v.clone();
            to_dense(&mut d).unwrap();
            prop_assert_eq!(count(&d), count(&v));
            prop_assert_eq!(count_raw(&m), count(&v).unwrap());
        }

        #[test]
        fn sparse_sets_follow_the_registers(
            runs in proptest::collection::vec((0u8..=32, 1usize..300), 1..60),
            sets in proptest::collection::vec((0usize..REGISTERS, 1u8..=40), 1..80),
            max in 20usize..5000,
        ) {
            // Any register layout, encoded as a (non-canonical) valid sparse
            // value: runs of zeroes as ZERO/XZERO, values as VAL opcodes.
            let mut m = [0u8; REGISTERS];
            let mut v = new_sparse();
            v.truncate(HDR);
            let mut idx = 0;
            for (val, len) in runs {
                let len = len.min(REGISTERS - idx);
                if len == 0 {
                    break;
                }
                if val == 0 {
                    if len <= SPARSE_ZERO_MAX_LEN {
                        v.push((len - 1) as u8);
                    } else {
                        push_xzero(&mut v, len);
                    }
                } else {
                    for chunk in 0..len.div_ceil(SPARSE_VAL_MAX_LEN) {
                        let n = (len - chunk * SPARSE_VAL_MAX_LEN).min(SPARSE_VAL_MAX_LEN);
                        v.push(val_op(val, n));
                    }
                    m[idx..idx + len].fill(val);
                }
                idx += len;
            }
            if idx < REGISTERS {
                push_xzero(&mut v, REGISTERS - idx);
            }
            prop_assert_eq!(sparse_registers(&v), m);
            for (i, c) in sets {
                let changed = set_register(&mut v, i, c, max).unwrap();
                prop_assert_eq!(changed, c > m[i]);
                m[i] = m[i].max(c);
                prop_assert!(is_valid(&v));
                let mut got = [0u8; REGISTERS];
                merge_into(&mut got, &v).unwrap();
                prop_assert_eq!(got, m);
            }
        }

        #[test]
        fn random_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..300),
                                    eles in proptest::collection::vec(any::<u16>(), 0..40),
                                    dense in any::<bool>()) {
            let mut v = b"HYLL".to_vec();
            v.push(if dense { DENSE } else { SPARSE });
            v.extend_from_slice(&[0; 11]);
            v.extend_from_slice(&body);
            if dense {
                v.resize(DENSE_SIZE, 0xff);
            }
            let _ = count(&v);
            let _ = decode(&v);
            let mut m = [0u8; REGISTERS];
            let _ = merge_into(&mut m, &v);
            let _ = to_dense(&mut v.clone());
            for e in eles {
                if add(&mut v, &e.to_le_bytes(), 300).is_err() {
                    break;
                }
                prop_assert!(is_valid(&v));
            }
            for i in (0..REGISTERS).step_by(997) {
                let _ = set_register(&mut v, i, (i % 40) as u8 + 1, 3000);
            }
        }
    }
}
