//! Numbers as Redis reads and writes them.
//!
//! Integers follow `string2ll` (no '+', no leading zeros, no spaces), doubles
//! follow `strtod` with Redis's extra checks, and INCRBYFLOAT's long double
//! arithmetic is done in C (csrc/num.c) so the digits agree with Redis.

use std::os::raw::{c_char, c_int};

extern "C" {
    fn hm_add_long_double(
        cur: *const c_char,
        cur_len: usize,
        incr: *const c_char,
        incr_len: usize,
        out: *mut c_char,
        cap: usize,
        out_len: *mut usize,
    ) -> c_int;
    fn hm_parse_double(s: *const c_char, len: usize, out: *mut f64) -> c_int;
    fn hm_is_long_double(s: *const c_char, len: usize) -> c_int;
}

const TWO63: f64 = 9_223_372_036_854_775_808.0;

/// C's `(int64_t)` cast of a double as x86-64 code performs it (the bundled
/// Lua libraries and Redis's geo code cast without range checks): a
/// truncation, and 2^63 as i64::MIN for NaN and anything out of range.
pub fn c_cast_i64(x: f64) -> i64 {
    if x.is_nan() || !(-TWO63..TWO63).contains(&x) {
        i64::MIN
    } else {
        x as i64
    }
}

/// C's `(uint64_t)` cast of a double on x86-64: below 2^63 the signed
/// truncation (negative values wrap around), from 2^63 on the same after
/// subtracting 2^63, with the top bit flipped back (so 2^64 and more, and
/// NaN, give 0).
pub fn c_cast_u64(x: f64) -> u64 {
    if x < TWO63 {
        c_cast_i64(x) as u64
    } else {
        (c_cast_i64(x - TWO63) as u64) ^ (1 << 63)
    }
}

/// Redis's `string2ll`.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = if s[0] == b'-' { (true, &s[1..]) } else { (false, s) };
    if digits.is_empty() || !(b'1'..=b'9').contains(&digits[0]) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// Redis's `string2ull`-style parse for unsigned values.
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || s[0] == b'-' || s[0] == b'+' {
        return None;
    }
    if s.len() > 1 && s[0] == b'0' {
        return None;
    }
    let mut v: u64 = 0;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(v)
}

/// Fast path of `parse_f64` for `-?[0-9]{1,15}` (scores such as `0` or
/// `1700000000`): below 10^15 the integer is exact in a double, so it is
/// what `strtod` returns ("-0" gives -0.0 as there).
fn small_decimal(s: &[u8]) -> Option<f64> {
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 15 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as u64;
    }
    let v = v as f64;
    Some(if neg { -v } else { v })
}

/// A double as Redis accepts one in an argument: C `strtod` rules (hex floats,
/// `inf`, `infinity`), no surrounding space, no NaN.
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    if let Some(v) = small_decimal(s) {
        return Some(v);
    }
    let mut v = 0f64;
    // SAFETY: the pointer and length describe a live slice; C copies it.
    let ok = unsafe { hm_parse_double(s.as_ptr() as *const c_char, s.len(), &mut v) };
    (ok == 1).then_some(v)
}

/// True if Redis would accept `s` as a long double.
pub fn is_long_double(s: &[u8]) -> bool {
    // SAFETY: as above.
    unsafe { hm_is_long_double(s.as_ptr() as *const c_char, s.len()) == 1 }
}

#[derive(Debug, PartialEq, Eq)]
pub enum IncrFloatError {
    /// The stored value is not a float.
    NotFloat,
    /// The increment is not a float.
    BadIncrement,
    /// The sum is NaN or infinite.
    NanOrInf,
}

/// `cur + incr` in long double, formatted as INCRBYFLOAT replies.
/// `cur == None` means the key did not exist (0).
pub fn incr_by_float(cur: Option<&[u8]>, incr: &[u8]) -> Result<Vec<u8>, IncrFloatError> {
    let mut out = vec![0u8; 5200];
    let mut len = 0usize;
    let (cp, cl) = match cur {
        Some(c) => (c.as_ptr() as *const c_char, c.len()),
        None => (std::ptr::null(), 0),
    };
    // SAFETY: all pointers describe live buffers of the given lengths.
    let r = unsafe {
        hm_add_long_double(
            cp,
            cl,
            incr.as_ptr() as *const c_char,
            incr.len(),
            out.as_mut_ptr() as *mut c_char,
            out.len(),
            &mut len,
        )
    };
    match r {
        1 => {
            out.truncate(len);
            Ok(out)
        }
        -1 => Err(IncrFloatError::NotFloat),
        -2 => Err(IncrFloatError::BadIncrement),
        _ => Err(IncrFloatError::NanOrInf),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_decimals_match_strtod() {
        let slow = |s: &[u8]| {
            let mut v = 0f64;
            // SAFETY: as in parse_f64.
            let ok = unsafe { hm_parse_double(s.as_ptr() as *const c_char, s.len(), &mut v) };
            (ok == 1).then_some(v)
        };
        let cases: &[&[u8]] = &[
            b"0",
            b"-0",
            b"7",
            b"007",
            b"-12",
            b"999999999999999",
            b"-999999999999999",
            b"1000000000000000",
            b"-",
            b"",
            b"1a",
            b"+5",
            b" 5",
            b"5 ",
            b"1.5",
            b"1e3",
            b"0x10",
            b"--1",
        ];
        for c in cases {
            let (a, b) = (parse_f64(c), slow(c));
            assert_eq!(a.map(f64::to_bits), b.map(f64::to_bits), "{:?}", String::from_utf8_lossy(c));
        }
        for i in (0..2_000_000u64).step_by(997) {
            for s in [i.to_string(), format!("-{i}")] {
                assert_eq!(parse_f64(s.as_bytes()).map(f64::to_bits), slow(s.as_bytes()).map(f64::to_bits));
            }
        }
    }

    #[test]
    fn ints() {
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"+1"), None);
        assert_eq!(parse_i64(b"01"), None);
        assert_eq!(parse_i64(b"-0"), None);
        assert_eq!(parse_i64(b" 1"), None);
    }

    #[test]
    fn floats() {
        assert_eq!(parse_f64(b"0x10"), Some(16.0));
        assert_eq!(parse_f64(b"1e3"), Some(1000.0));
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b" 1"), None);
        assert_eq!(parse_f64(b"1 "), None);
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
    }

    #[test]
    fn incr_float() {
        assert_eq!(incr_by_float(Some(b"10.5"), b"0.1").unwrap(), b"10.6");
        assert_eq!(incr_by_float(None, b"3.0e3").unwrap(), b"3000");
        assert_eq!(incr_by_float(Some(b"5.0e3"), b"2.0e2").unwrap(), b"5200");
        assert_eq!(incr_by_float(Some(b"abc"), b"1"), Err(IncrFloatError::NotFloat));
        assert_eq!(incr_by_float(None, b"inf"), Err(IncrFloatError::NanOrInf));
    }

    #[test]
    fn casts_like_c() {
        assert_eq!(c_cast_u64(-1.0), u64::MAX);
        assert_eq!(c_cast_u64(-0.5), 0);
        assert_eq!(c_cast_u64(-1e30), 1 << 63);
        assert_eq!(c_cast_u64(f64::NEG_INFINITY), 1 << 63);
        assert_eq!(c_cast_u64(f64::INFINITY), 0);
        assert_eq!(c_cast_u64(1e30), 0);
        assert_eq!(c_cast_u64(1.8e19), 18_000_000_000_000_000_000);
        assert_eq!(c_cast_u64(4503599627370496.0), 1 << 52);
        assert_eq!(c_cast_i64(TWO63), i64::MIN);
        assert_eq!(c_cast_i64(-TWO63), i64::MIN);
        assert_eq!(c_cast_i64(f64::NAN), i64::MIN);
        assert_eq!(c_cast_i64(-3.7), -3);
    }
}
