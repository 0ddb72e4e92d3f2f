//! Number formatting exactly as Redis 7.0 prints numbers.

/// `%.17g` as C's printf writes it.
pub fn fmt_g17(d: f64) -> String {
    if d.is_nan() {
        return if d.is_sign_negative() { "-nan".into() } else { "nan".into() };
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    // Fast path: an integral value below 1e17 prints as its integer digits
    // (%.17g switches to exponent form only from 1e17 on).
    if d.fract() == 0.0 && d.abs() < 1e17 {
        if d == 0.0 && d.is_sign_negative() {
            return "-0".into();
        }
        return itoa::Buffer::new().format(d as i64).to_string();
    }
    const P: i32 = 17;
    // 17 significant digits, correctly rounded, as d.ddddde[-]x
    let e = format!("{:.16e}", d);
    let (mant, exp) = e.split_once('e').expect("exponent");
    let exp: i32 = exp.parse().expect("exponent digits");
    let neg = mant.starts_with('-');
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let mut s = String::with_capacity(32);
    if neg {
        s.push('-');
    }
    if exp < -4 || exp >= P {
        let (first, rest) = digits.split_at(1);
        let rest = rest.trim_end_matches('0');
        s.push_str(first);
        if !rest.is_empty() {
            s.push('.');
            s.push_str(rest);
        }
        s.push('e');
        s.push(if exp < 0 { '-' } else { '+' });
        let a = exp.unsigned_abs();
        if a < 10 {
            s.push('0');
        }
        s.push_str(&a.to_string());
    } else if exp >= 0 {
        let (int, frac) = digits.split_at(exp as usize + 1);
        s.push_str(int);
        let frac = frac.trim_end_matches('0');
        if !frac.is_empty() {
            s.push('.');
            s.push_str(frac);
        }
    } else {
        s.push_str("0.");
        for _ in 0..(-exp - 1) {
            s.push('0');
        }
        s.push_str(digits.trim_end_matches('0'));
    }
    s
}

/// How Redis 7.0 replies with a double (`addReplyDouble`): `%.17g`, with
/// `inf` and `-inf` for the infinities.
pub fn fmt_double(d: f64) -> String {
    fmt_g17(d)
}

/// Formats an integral or fractional value the way Redis prints a long double
/// in human form (`%.17Lf`, then trailing zeros and dot removed). Used with an
/// f64 where Redis has one; the exact long double path lives in `types::num`.
pub fn fmt_long_double(d: f64) -> String {
    let mut s = format!("{:.17}", d);
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" {
        s = "0".into();
    }
    s
}

/// Parses a double the way Redis's `string2d`/`strtod` path accepts it:
/// no leading space, the whole string consumed, no NaN.
pub fn parse_double_strict(b: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(b).ok()?;
    if s.is_empty() || s.as_bytes()[0].is_ascii_whitespace() {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    let v = match lower.as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => {
            if !lower.bytes().all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'-' | b'+')) {
                return None;
            }
            lower.parse::<f64>().ok()?
        }
    };
    if v.is_nan() {
        return None;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g17() {
        assert_eq!(fmt_g17(1.5), "1.5");
        assert_eq!(fmt_g17(0.1), "0.10000000000000001");
        assert_eq!(fmt_g17(100.0), "100");
        assert_eq!(fmt_g17(-0.0), "-0");
        assert_eq!(fmt_g17(1e17), "1e+17");
        assert_eq!(fmt_g17(1e16), "10000000000000000");
        assert_eq!(fmt_g17(0.0001), "0.0001");
        assert_eq!(fmt_g17(0.00001), "1.0000000000000001e-05");
        assert_eq!(fmt_g17(123456789.123), "123456789.123");
        assert_eq!(fmt_g17(3.0e-300), "3.0000000000000002e-300");
        assert_eq!(fmt_g17(f64::INFINITY), "inf");
        assert_eq!(fmt_g17(99999999999999999.0), "1e+17");
        assert_eq!(fmt_g17(-12345.0), "-12345");
        assert_eq!(fmt_g17(9007199254740993.0), "9007199254740992");
        assert_eq!(fmt_g17(0.0), "0");
    }

    #[test]
    fn integral_fast_path_agrees() {
        for i in 0..2000 {
            let d = (i as f64 - 1000.0) * 1234567.0 + (i as f64) * 1e13;
            if d.fract() == 0.0 && d.abs() < 1e17 {
                let slow = format!("{:.16e}", d);
                let (m, e) = slow.split_once('e').unwrap();
                let e: i32 = e.parse().unwrap();
                let digits: String = m.chars().filter(|c| c.is_ascii_digit()).collect();
                let int_part = &digits[..(e as usize + 1)];
                let expect = format!("{}{}", if d < 0.0 { "-" } else { "" }, int_part.trim_start_matches('0'));
                let expect = if expect.is_empty() || expect == "-" { "0".to_string() } else { expect };
                assert_eq!(fmt_g17(d), expect, "{d}");
            }
        }
    }

    #[test]
    fn strict() {
        assert_eq!(parse_double_strict(b"1.5"), Some(1.5));
        assert_eq!(parse_double_strict(b" 1"), None);
        assert_eq!(parse_double_strict(b"1 "), None);
        assert_eq!(parse_double_strict(b"nan"), None);
        assert_eq!(parse_double_strict(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_double_strict(b""), None);
    }
}
