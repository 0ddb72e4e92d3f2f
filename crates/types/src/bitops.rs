//! Bit operations on strings: the pure half of SETBIT, GETBIT, BITCOUNT,
//! BITPOS, BITOP and BITFIELD.
//!
//! Bit numbering follows Redis: bit 0 is the most significant bit of the
//! first byte, so a string reads left to right as one long big-endian bit
//! array. Reads past the end of a string see zero bits; writers grow the
//! string first (the server decides how far, after its limit checks), so the
//! setters here may assume the bytes exist.
//!
//! Ranges (`start`/`end`, negative from the end, in bytes or bits) are
//! normalized exactly as Redis 7.0 does, including its special cases: an
//! explicit end makes BITPOS for a clear bit answer -1 instead of "the first
//! bit past the end"; BITCOUNT with two negative indexes in the wrong order
//! is 0.

/// Population count of a byte slice, eight bytes at a time.
pub fn popcount(p: &[u8]) -> u64 {
    let mut chunks = p.chunks_exact(8);
    let mut n: u64 = 0;
    for c in &mut chunks {
        n += u64::from_ne_bytes(c.try_into().expect("8 bytes")).count_ones() as u64;
    }
    n + chunks.remainder().iter().map(|b| b.count_ones() as u64).sum::<u64>()
}

/// Position of the first bit equal to `bit` in `p`. When looking for a clear
/// bit in a string of set bits, the answer is the first bit past the end (the
/// string is taken as zero-padded); when looking for a set bit and there is
/// none, -1.
pub fn first_bit(p: &[u8], bit: bool) -> i64 {
    let skip = if bit { 0u8 } else { 0xff };
    let mut chunks = p.chunks_exact(8);
    let skipw = if bit { 0u64 } else { u64::MAX };
    let mut base = 0usize;
    for c in &mut chunks {
        if u64::from_ne_bytes(c.try_into().expect("8 bytes")) != skipw {
            break;
        }
        base += 8;
    }
    for (i, &b) in p[base..].iter().enumerate() {
        if b != skip {
            let lead = if bit { b.leading_zeros() } else { b.leading_ones() };
            return ((base + i) * 8) as i64 + lead as i64;
        }
    }
    if bit {
        -1
    } else {
        p.len() as i64 * 8
    }
}

/// The bit at `offset` (0 past the end).
pub fn get_bit(p: &[u8], offset: u64) -> bool {
    let byte = (offset >> 3) as usize;
    byte < p.len() && p[byte] & (0x80 >> (offset & 7)) != 0
}

/// Sets the bit at `offset`, which must be inside `p`. Returns the old bit.
pub fn set_bit(p: &mut [u8], offset: u64, on: bool) -> bool {
    let byte = (offset >> 3) as usize;
    let mask = 0x80u8 >> (offset & 7);
    let old = p[byte] & mask != 0;
    if on {
        p[byte] |= mask;
    } else {
        p[byte] &= !mask;
    }
    old
}

/// A range normalized as Redis does: negative values count from the end of
/// the string (in bits when `bits`), both ends are clamped into it, and a bit
/// range becomes its bytes plus the masks of the bits outside it in the
/// first and last byte. `None` when the range is empty.
fn byte_range(len: usize, mut start: i64, mut end: i64, bits: bool) -> Option<(i64, i64, u8, u8)> {
    let totlen = if bits { (len as i64) << 3 } else { len as i64 };
    if start < 0 {
        start += totlen;
    }
    if end < 0 {
        end += totlen;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= totlen {
        end = totlen - 1;
    }
    if start > end {
        return None;
    }
    if !bits {
        return Some((start, end, 0, 0));
    }
    let first = !((1u16 << (8 - (start & 7))) - 1) as u8;
    let last = ((1u16 << (7 - (end & 7))) - 1) as u8;
    Some((start >> 3, end >> 3, first, last))
}

/// BITCOUNT over `[start, end]` (bytes, or bits when `bits`), both given;
/// the caller handles the absent range (`popcount` of the whole string).
pub fn count_range(p: &[u8], start: i64, end: i64, bits: bool) -> u64 {
    let Some((start, end, fm, lm)) = byte_range(p.len(), start, end, bits) else { return 0 };
    let (s, e) = (start as usize, end as usize);
    let mut n = popcount(&p[s..=e]);
    n -= (p[s] & fm).count_ones() as u64;
    n -= (p[e] & lm).count_ones() as u64;
    n
}

/// BITPOS with a start (and optionally an end) given: bytes, or bits when
/// `bits` (only possible with an end).
pub fn pos_range(p: &[u8], bit: bool, start: i64, end: Option<i64>, bits: bool) -> i64 {
    let end_given = end.is_some();
    // Without an end the range runs to the end of the string.
    let end = end.unwrap_or(if bits { i64::MAX } else { p.len() as i64 - 1 });
    let Some((mut start, end, fm, lm)) = byte_range(p.len(), start, end, bits) else { return -1 };
    let mut bytes = end - start + 1;
    // Keeps only the bits inside the range: outside bits are made to look
    // like the opposite of what is searched for.
    let masked = |b: u8, m: u8| if bit { b & !m } else { b | m };
    let pos = 'found: {
        if fm != 0 {
            let mut t = masked(p[start as usize], fm);
            if lm != 0 && bytes == 1 {
                t = masked(t, lm);
            }
            let pos = first_bit(&[t], bit);
            if bytes == 1 || (pos != -1 && pos != 8) {
                break 'found pos;
            }
            start += 1;
            bytes -= 1;
        }
        let cur = bytes - if lm != 0 { 1 } else { 0 };
        if cur > 0 {
            let s = start as usize;
            let pos = first_bit(&p[s..s + cur as usize], bit);
            if bytes == cur || (pos != -1 && pos != cur << 3) {
                break 'found pos;
            }
            start += cur;
            bytes -= cur;
        }
        first_bit(&[masked(p[end as usize], lm)], bit)
    };
    if end_given && !bit && pos == bytes << 3 {
        return -1;
    }
    if pos != -1 {
        pos + (start << 3)
    } else {
        pos
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// BITOP over the sources (absent keys are empty strings); the result is as
/// long as the longest source, shorter sources read as zero-padded.
pub fn bitop(op: BitOp, srcs: &[&[u8]]) -> Vec<u8> {
    let maxlen = srcs.iter().map(|s| s.len()).max().unwrap_or(0);
    let Some((first, rest)) = srcs.split_first() else { return Vec::new() };
    let mut res = bitop_first(op, first, maxlen);
    for s in rest {
        bitop_fold(op, &mut res, s);
    }
    res
}

/// Starts a BITOP result of `maxlen` bytes from the first source (NOT is
/// applied here: it has a single source).
pub fn bitop_first(op: BitOp, first: &[u8], maxlen: usize) -> Vec<u8> {
    let mut res = vec![0u8; maxlen.max(first.len())];
    res[..first.len()].copy_from_slice(first);
    if op == BitOp::Not {
        res.iter_mut().for_each(|b| *b = !*b);
    }
    res
}

/// Folds one more source into a BITOP result; the source reads as
/// zero-padded to the result's length.
pub fn bitop_fold(op: BitOp, res: &mut [u8], src: &[u8]) {
    let n = src.len().min(res.len());
    let (head, tail) = res.split_at_mut(n);
    let pairs = head.iter_mut().zip(&src[..n]);
    match op {
        BitOp::And => {
            pairs.for_each(|(r, b)| *r &= b);
            tail.fill(0);
        }
        BitOp::Or => pairs.for_each(|(r, b)| *r |= b),
        BitOp::Xor => pairs.for_each(|(r, b)| *r ^= b),
        BitOp::Not => {}
    }
}

// ---- BITFIELD ---------------------------------------------------------------

/// An integer type of BITFIELD: `i1`..`i64` or `u1`..`u63`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldType {
    pub signed: bool,
    pub bits: u32,
}

impl FieldType {
    /// Parses `i<bits>` / `u<bits>` as Redis does (the digits end at a NUL).
    pub fn parse(s: &[u8]) -> Option<FieldType> {
        let (&sign, rest) = s.split_first()?;
        let signed = match sign {
            b'i' => true,
            b'u' => false,
            _ => return None,
        };
        let digits = rest.split(|&b| b == 0).next().unwrap_or(&[]);
        let bits = crate::num::parse_i64(digits)?;
        let max = if signed { 64 } else { 63 };
        (1..=max).contains(&bits).then_some(FieldType { signed, bits: bits as u32 })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    Wrap,
    Sat,
    Fail,
}

/// The unsigned value of `bits` bits at bit `offset` (zero past the end).
pub fn get_unsigned(p: &[u8], offset: u64, bits: u32) -> u64 {
    let mut v = 0u64;
    for j in 0..bits as u64 {
        v = (v << 1) | get_bit(p, offset + j) as u64;
    }
    v
}

pub fn get_signed(p: &[u8], offset: u64, bits: u32) -> i64 {
    let v = get_unsigned(p, offset, bits);
    if bits < 64 && v & (1u64 << (bits - 1)) != 0 {
        (v | (u64::MAX << bits)) as i64
    } else {
        v as i64
    }
}

/// Writes the low `bits` bits of `value` at bit `offset` (inside `p`).
pub fn set_field(p: &mut [u8], offset: u64, bits: u32, value: u64) {
    for j in 0..bits as u64 {
        let on = value & (1u64 << (bits as u64 - 1 - j)) != 0;
        set_bit(p, offset + j, on);
    }
}

/// Checks `value + incr` against an unsigned field of `bits` bits. `None` if
/// it fits; otherwise the value to store under `ow` (for Fail the value is
/// meaningless).
pub fn unsigned_overflow(value: u64, incr: i64, bits: u32, ow: Overflow) -> Option<u64> {
    let max = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = (value as i64).wrapping_neg();
    let wrap = || value.wrapping_add(incr as u64) & !(u64::MAX.checked_shl(bits).unwrap_or(0));
    if value > max || (incr > 0 && incr > maxincr) {
        Some(match ow {
            Overflow::Wrap => wrap(),
            _ => max,
        })
    } else if incr < 0 && incr < minincr {
        Some(match ow {
            Overflow::Wrap => wrap(),
            _ => 0,
        })
    } else {
        None
    }
}

/// Like `unsigned_overflow`, for a signed field.
pub fn signed_overflow(value: i64, incr: i64, bits: u32, ow: Overflow) -> Option<i64> {
    let max = if bits == 64 { i64::MAX } else { (1i64 << (bits - 1)) - 1 };
    let min = -max - 1;
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wrap = || {
        let c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if c & (1u64 << (bits - 1)) != 0 {
                (c | mask) as i64
            } else {
                (c & !mask) as i64
            }
        } else {
            c as i64
        }
    };
    if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
        Some(match ow {
            Overflow::Wrap => wrap(),
            _ => max,
        })
    } else if value < min || (bits != 64 && incr < minincr) || (value < 0 && incr < 0 && incr < minincr) {
        Some(match ow {
            Overflow::Wrap => wrap(),
            _ => min,
        })
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive_bits(p: &[u8]) -> Vec<bool> {
        (0..p.len() as u64 * 8).map(|i| get_bit(p, i)).collect()
    }

    #[test]
    fn bit_numbering() {
        let mut p = vec![0u8; 2];
        assert!(!set_bit(&mut p, 7, true));
        assert_eq!(p, [1, 0]);
        assert!(get_bit(&p, 7));
        assert!(!get_bit(&p, 1000));
        set_field(&mut p, 7, 5, 23);
        assert_eq!(p, [0b0000_0001, 0b0111_0000]);
        assert_eq!(get_unsigned(&p, 7, 5), 23);
        assert_eq!(get_signed(&p, 7, 5), 23 - 32);
    }

    #[test]
    fn first_bit_cases() {
        assert_eq!(first_bit(&[0xff, 0xf0], false), 12);
        assert_eq!(first_bit(&[0xff; 3], false), 24);
        assert_eq!(first_bit(&[0; 20], true), -1);
        assert_eq!(first_bit(&[], false), 0);
        let mut v = vec![0u8; 40];
        v[33] = 0x10;
        assert_eq!(first_bit(&v, true), 33 * 8 + 3);
    }

    #[test]
    fn overflow_rules() {
        assert_eq!(unsigned_overflow(250, 10, 8, Overflow::Wrap), Some(4));
        assert_eq!(unsigned_overflow(250, 10, 8, Overflow::Sat), Some(255));
        assert_eq!(unsigned_overflow(5, -10, 8, Overflow::Sat), Some(0));
        assert_eq!(unsigned_overflow(5, -10, 8, Overflow::Wrap), Some(251));
        assert_eq!(unsigned_overflow(5, 10, 8, Overflow::Wrap), None);
        assert_eq!(signed_overflow(120, 10, 8, Overflow::Wrap), Some(-126));
        assert_eq!(signed_overflow(120, 10, 8, Overflow::Sat), Some(127));
        assert_eq!(signed_overflow(-120, -10, 8, Overflow::Sat), Some(-128));
        assert_eq!(signed_overflow(i64::MAX, 1, 64, Overflow::Wrap), Some(i64::MIN));
        assert_eq!(signed_overflow(i64::MIN, -1, 64, Overflow::Sat), Some(i64::MIN));
        assert_eq!(signed_overflow(-5, 3, 64, Overflow::Sat), None);
        // SET of a negative value into an unsigned field saturates high.
        assert_eq!(unsigned_overflow(-1i64 as u64, 0, 8, Overflow::Sat), Some(255));
    }

    #[test]
    fn field_types() {
        assert_eq!(FieldType::parse(b"i64"), Some(FieldType { signed: true, bits: 64 }));
        assert_eq!(FieldType::parse(b"u63"), Some(FieldType { signed: false, bits: 63 }));
        assert_eq!(FieldType::parse(b"u64"), None);
        assert_eq!(FieldType::parse(b"i0"), None);
        assert_eq!(FieldType::parse(b"x8"), None);
        assert_eq!(FieldType::parse(b""), None);
    }

    proptest! {
        #[test]
        fn popcount_matches(p in proptest::collection::vec(any::<u8>(), 0..100)) {
            prop_assert_eq!(popcount(&p), naive_bits(&p).iter().filter(|b| **b).count() as u64);
        }

        #[test]
        fn count_range_bits_matches(p in proptest::collection::vec(any::<u8>(), 1..20), s in -200i64..200, e in -200i64..200) {
            let bits = naive_bits(&p);
            let n = bits.len() as i64;
            let (mut a, mut b) = (if s < 0 { s + n } else { s }, if e < 0 { e + n } else { e });
            a = a.max(0);
            b = b.max(0).min(n - 1);
            let want = if a > b { 0 } else { bits[a as usize..=b as usize].iter().filter(|x| **x).count() as u64 };
            prop_assert_eq!(count_range(&p, s, e, true), want);
        }

        #[test]
        fn pos_range_bits_matches(p in proptest::collection::vec(any::<u8>(), 1..20), s in -200i64..200, e in -200i64..200, bit in any::<bool>()) {
            let bits = naive_bits(&p);
            let n = bits.len() as i64;
            let (mut a, mut b) = (if s < 0 { s + n } else { s }, if e < 0 { e + n } else { e });
            a = a.max(0);
            b = b.max(0).min(n - 1);
            let want = if a > b { -1 } else {
                (a..=b).find(|&i| bits[i as usize] == bit).unwrap_or(-1)
            };
            prop_assert_eq!(pos_range(&p, bit, s, Some(e), true), want);
        }

        #[test]
        fn field_roundtrip(off in 0u64..100, bits in 1u32..=64, v in any::<u64>()) {
            let mut p = vec![0u8; 30];
            set_field(&mut p, off, bits, v);
            let mask = if bits == 64 { u64::MAX } else { (1 << bits) - 1 };
            prop_assert_eq!(get_unsigned(&p, off, bits), v & mask);
        }

        #[test]
        fn bitop_matches(a in proptest::collection::vec(any::<u8>(), 0..50), b in proptest::collection::vec(any::<u8>(), 0..50)) {
            let n = a.len().max(b.len());
            let at = |v: &Vec<u8>, i: usize| v.get(i).copied().unwrap_or(0);
            let and: Vec<u8> = (0..n).map(|i| at(&a, i) & at(&b, i)).collect();
            let or: Vec<u8> = (0..n).map(|i| at(&a, i) | at(&b, i)).collect();
            let xor: Vec<u8> = (0..n).map(|i| at(&a, i) ^ at(&b, i)).collect();
            prop_assert_eq!(bitop(BitOp::And, &[&a, &b]), and);
            prop_assert_eq!(bitop(BitOp::Or, &[&a, &b]), or);
            prop_assert_eq!(bitop(BitOp::Xor, &[&a, &b]), xor);
            let not: Vec<u8> = a.iter().map(|x| !x).collect();
            prop_assert_eq!(bitop(BitOp::Not, &[&a]), not);
        }
    }
}
