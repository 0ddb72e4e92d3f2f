//! Incremental request parser.
//!
//! `parse(buf, limits, args)` looks at the bytes of one connection's query
//! buffer starting at a command boundary. On success it fills `args` with the
//! byte ranges of the arguments (multibulk) or returns owned arguments
//! (inline, whose quoting must be undone), and says how many bytes the command
//! took. `Ok(None)` means "not complete yet": the caller keeps the bytes and
//! calls again when more arrive. The error texts are Redis 7's, word for word;
//! after an error the connection is answered and closed.

use std::ops::Range;

/// Longest inline command, and longest header line, Redis accepts (64 KiB).
pub const INLINE_MAX: usize = 64 * 1024;

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// proto-max-bulk-len.
    pub max_bulk: i64,
    /// False while the connection still has to AUTH: Redis then accepts only
    /// small requests.
    pub authenticated: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_bulk: 512 * 1024 * 1024, authenticated: true }
    }
}

#[derive(Debug, PartialEq, Eq, Clone)]
pub enum ParseError {
    TooBigMbulkCount,
    InvalidMultibulkLength,
    UnauthenticatedMultibulkLength,
    TooBigBulkCount,
    ExpectedDollar(u8),
    InvalidBulkLength,
    UnauthenticatedBulkLength,
    TooBigInline,
    UnbalancedQuotes,
}

impl ParseError {
    /// The error line sent to the client before the connection closes.
    pub fn message(&self) -> String {
        match self {
            ParseError::TooBigMbulkCount => "ERR Protocol error: too big mbulk count string".into(),
            ParseError::InvalidMultibulkLength => "ERR Protocol error: invalid multibulk length".into(),
            ParseError::UnauthenticatedMultibulkLength => "ERR Protocol error: unauthenticated multibulk length".into(),
            ParseError::TooBigBulkCount => "ERR Protocol error: too big bulk count string".into(),
            ParseError::ExpectedDollar(c) => {
                format!("ERR Protocol error: expected '$', got '{}'", *c as char)
            }
            ParseError::InvalidBulkLength => "ERR Protocol error: invalid bulk length".into(),
            ParseError::UnauthenticatedBulkLength => "ERR Protocol error: unauthenticated bulk length".into(),
            ParseError::TooBigInline => "ERR Protocol error: too big inline request".into(),
            ParseError::UnbalancedQuotes => "ERR Protocol error: unbalanced quotes in request".into(),
        }
    }
}

/// One complete command found at the start of the buffer.
#[derive(Debug, PartialEq, Eq)]
pub struct Parsed {
    /// Bytes of the buffer this command used.
    pub consumed: usize,
    /// For inline commands, the unquoted arguments; for multibulk, `None` and
    /// the ranges are in the `args` vector given to [`parse`].
    pub inline: Option<Vec<Vec<u8>>>,
}

/// Parses one command at the start of `buf`. See the module header.
/// A `Parsed` with no arguments (an empty inline line, `*0`) is to be skipped.
pub fn parse(buf: &[u8], limits: Limits, args: &mut Vec<Range<usize>>) -> Result<Option<Parsed>, ParseError> {
    args.clear();
    if buf.is_empty() {
        return Ok(None);
    }
    if buf[0] == b'*' {
        parse_multibulk(buf, limits, args)
    } else {
        parse_inline(buf)
    }
}

/// For an incomplete multibulk command whose last bulk string has begun
/// (its `$<len>` line is complete), where that bulk's data starts and the
/// bytes still to come to complete it and its CRLF; None otherwise (complete, inline, or cut inside
/// a length line). Lets the reader size its buffer for a big argument at
/// once, as Redis does for arguments of 32 KiB or more, rather than
/// doubling it while the argument arrives.
pub fn pending_bulk(buf: &[u8]) -> Option<(usize, usize)> {
    if buf.first() != Some(&b'*') {
        return None;
    }
    let nl = find(buf, 0, b'\r')?;
    let count = parse_ll(&buf[1..nl])?;
    let mut pos = nl + 2;
    for _ in 0..count.max(0) {
        if buf.get(pos) != Some(&b'$') {
            return None;
        }
        let nl = find(buf, pos, b'\r')?;
        let len = usize::try_from(parse_ll(&buf[pos + 1..nl])?).ok()?;
        let end = (nl + 2).checked_add(len)?.checked_add(2)?;
        if end > buf.len() {
            return (nl + 2 <= buf.len()).then(|| (nl + 2, end - buf.len()));
        }
        pos = end;
    }
    None
}

/// Redis's `string2ll`: optional '-', no '+', no leading zeros, no spaces.
fn parse_ll(s: &[u8]) -> Option<i64> {
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

/// The common case of a length line, `<digits>\r\n` at `from` with no
/// leading zero: the number and the position of its `\r`, read in one pass.
/// `None` for anything else (a sign, an empty or long number, a leading
/// zero, another byte, an incomplete line); the caller then takes the
/// general path, which answers those exactly as before.
#[inline]
fn digits_line(buf: &[u8], from: usize) -> Option<(i64, usize)> {
    let rest = buf.get(from..)?;
    let first = *rest.first()?;
    if !(b'1'..=b'9').contains(&first) {
        return None;
    }
    let mut v = (first - b'0') as i64;
    // At most 17 digits: no overflow possible.
    let end = rest.len().min(18);
    let mut i = 1;
    while i < end {
        let c = rest[i];
        if c.is_ascii_digit() {
            v = v * 10 + (c - b'0') as i64;
        } else if c == b'\r' && i + 1 < rest.len() {
            return Some((v, from + i));
        } else {
            return None;
        }
        i += 1;
    }
    None
}

fn find(buf: &[u8], from: usize, c: u8) -> Option<usize> {
    buf[from..].iter().position(|&b| b == c).map(|p| p + from)
}

fn parse_multibulk(buf: &[u8], limits: Limits, args: &mut Vec<Range<usize>>) -> Result<Option<Parsed>, ParseError> {
    let (count, nl) = match digits_line(buf, 1) {
        Some(x) => x,
        None => {
            let Some(nl) = find(buf, 0, b'\r') else {
                if buf.len() > INLINE_MAX {
                    return Err(ParseError::TooBigMbulkCount);
                }
                return Ok(None);
            };
            if nl + 2 > buf.len() {
                return Ok(None);
            }
            (parse_ll(&buf[1..nl]).ok_or(ParseError::InvalidMultibulkLength)?, nl)
        }
    };
    if count > i32::MAX as i64 {
        return Err(ParseError::InvalidMultibulkLength);
    }
    if count > 10 && !limits.authenticated {
        return Err(ParseError::UnauthenticatedMultibulkLength);
    }
    let mut pos = nl + 2;
    if count <= 0 {
        return Ok(Some(Parsed { consumed: pos, inline: None }));
    }
    // Reserve only what could possibly be present, never the claimed count.
    args.reserve((count as usize).min(1024));
    for _ in 0..count {
        let fast = match buf.get(pos) {
            Some(b'$') => digits_line(buf, pos + 1),
            _ => None,
        };
        let (n, nl) = match fast {
            Some(x) => x,
            None => {
                let Some(nl) = find(buf, pos, b'\r') else {
                    if buf.len() - pos > INLINE_MAX {
                        return Err(ParseError::TooBigBulkCount);
                    }
                    return Ok(None);
                };
                if nl + 2 > buf.len() {
                    return Ok(None);
                }
                if buf[pos] != b'$' {
                    return Err(ParseError::ExpectedDollar(buf[pos]));
                }
                (parse_ll(&buf[pos + 1..nl]).ok_or(ParseError::InvalidBulkLength)?, nl)
            }
        };
        let len = match n {
            n if n >= 0 && n <= limits.max_bulk => n as usize,
            _ => return Err(ParseError::InvalidBulkLength),
        };
        if len > 16384 && !limits.authenticated {
            return Err(ParseError::UnauthenticatedBulkLength);
        }
        let start = nl + 2;
        // Redis skips the two bytes after the payload without looking at them.
        if buf.len() - start < len + 2 {
            return Ok(None);
        }
        args.push(start..start + len);
        pos = start + len + 2;
    }
    Ok(Some(Parsed { consumed: pos, inline: None }))
}

fn parse_inline(buf: &[u8]) -> Result<Option<Parsed>, ParseError> {
    let Some(nl) = find(buf, 0, b'\n') else {
        if buf.len() > INLINE_MAX {
            return Err(ParseError::TooBigInline);
        }
        return Ok(None);
    };
    let end = if nl > 0 && buf[nl - 1] == b'\r' { nl - 1 } else { nl };
    let argv = split_args(&buf[..end]).ok_or(ParseError::UnbalancedQuotes)?;
    Ok(Some(Parsed { consumed: nl + 1, inline: Some(argv) }))
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\n' | b'\r' | b'\t' | 0x0b | 0x0c)
}

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Splits a line the way redis-cli and inline commands do: spaces separate
/// arguments, "double quotes" take C-like escapes (`\n`, `\xff`), 'single
/// quotes' only `\'`. A closing quote must be followed by a space or the end.
/// `None` for unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && is_space(line[i]) {
            i += 1;
        }
        if i >= n || line[i] == 0 {
            return Some(out);
        }
        let mut cur = Vec::new();
        let (mut inq, mut insq) = (false, false);
        loop {
            if inq {
                if i >= n {
                    return None;
                }
                let c = line[i];
                if c == b'\\' && i + 3 < n && line[i + 1] == b'x' {
                    if let (Some(h), Some(l)) = (hex_val(line[i + 2]), hex_val(line[i + 3])) {
                        cur.push(h * 16 + l);
                        i += 4;
                        continue;
                    }
                }
                if c == b'\\' && i + 1 < n {
                    i += 1;
                    cur.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    if i + 1 < n && !is_space(line[i + 1]) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
                i += 1;
            } else if insq {
                if i >= n {
                    return None;
                }
                let c = line[i];
                if c == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    cur.push(b'\'');
                    i += 2;
                    continue;
                } else if c == b'\'' {
                    if i + 1 < n && !is_space(line[i + 1]) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
                i += 1;
            } else {
                if i >= n {
                    break;
                }
                match line[i] {
                    b' ' | b'\n' | b'\r' | b'\t' => break,
                    // C strings end at NUL: Redis ignores the rest of the line.
                    0 => {
                        out.push(cur);
                        return Some(out);
                    }
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    c => cur.push(c),
                }
                i += 1;
            }
        }
        out.push(cur);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn pending_bulk_sizes() {
        assert_eq!(super::pending_bulk(b"*2\r\n$3\r\nSET\r\n$100000\r\nvvvv"), Some((22, 100_000 - 4 + 2)));
        assert_eq!(super::pending_bulk(b"*1\r\n$5\r\n"), Some((8, 7)));
        assert_eq!(super::pending_bulk(b"*1\r\n$5\r\nabcde\r"), Some((8, 1)));
        assert_eq!(super::pending_bulk(b"*1\r\n$5\r\nabcde\r\n"), None);
        assert_eq!(super::pending_bulk(b"*2\r\n$1\r\na\r\n$12"), None);
        assert_eq!(super::pending_bulk(b"PING"), None);
        assert_eq!(super::pending_bulk(b"*1\r\n$99999999999999999999\r\n"), None);
    }

    use super::*;

    /// The one-pass length reader agrees with the general path (first `\r`,
    /// then `parse_ll`) on every line it accepts, over all short strings of
    /// the bytes that matter.
    #[test]
    fn digits_line_agrees_with_general_path() {
        let alphabet = b"0159-+\r\na ";
        let mut line = Vec::new();
        for len in 1..=6u32 {
            for mut n in 0..alphabet.len().pow(len) {
                line.clear();
                for _ in 0..len {
                    line.push(alphabet[n % alphabet.len()]);
                    n /= alphabet.len();
                }
                if let Some((v, nl)) = digits_line(&line, 0) {
                    let general = find(&line, 0, b'\r').expect("a line");
                    assert_eq!(nl, general, "{line:?}");
                    assert!(nl + 2 <= line.len(), "{line:?}");
                    assert_eq!(parse_ll(&line[..nl]), Some(v), "{line:?}");
                }
            }
        }
        assert_eq!(digits_line(b"12345678901234567\r\n", 0), Some((12345678901234567, 17)));
        assert_eq!(digits_line(b"123456789012345678\r\n", 0), None);
        assert_eq!(digits_line(b"0\r\n", 0), None);
        assert_eq!(digits_line(b"12\r", 0), None);
    }

    fn p(buf: &[u8]) -> Result<Option<(usize, Vec<Vec<u8>>)>, ParseError> {
        let mut r = Vec::new();
        Ok(parse(buf, Limits::default(), &mut r)?.map(|pd| {
            let args = pd.inline.unwrap_or_else(|| r.iter().map(|x| buf[x.clone()].to_vec()).collect());
            (pd.consumed, args)
        }))
    }

    #[test]
    fn multibulk() {
        let b = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1";
        let (n, a) = p(b).unwrap().unwrap();
        assert_eq!(n, b.len() - 2);
        assert_eq!(a, vec![b"GET".to_vec(), b"k".to_vec()]);
        for cut in 0..n {
            assert_eq!(p(&b[..cut]).unwrap(), None, "cut {cut}");
        }
    }

    #[test]
    fn errors() {
        assert_eq!(p(b"*x\r\n"), Err(ParseError::InvalidMultibulkLength));
        assert_eq!(p(b"*3000000000\r\n"), Err(ParseError::InvalidMultibulkLength));
        assert_eq!(p(b"*1\r\n+a\r\n"), Err(ParseError::ExpectedDollar(b'+')));
        assert_eq!(p(b"*1\r\n$-1\r\n"), Err(ParseError::InvalidBulkLength));
        assert_eq!(p(b"*1\r\n$600000000\r\n"), Err(ParseError::InvalidBulkLength));
        assert_eq!(p(b"*1\r\n$01\r\n"), Err(ParseError::InvalidBulkLength));
        assert_eq!(p(&vec![b'a'; INLINE_MAX + 1]), Err(ParseError::TooBigInline));
        assert_eq!(p(b"set \"a\n"), Err(ParseError::UnbalancedQuotes));
        assert_eq!(p(b"set \"a\"b\n"), Err(ParseError::UnbalancedQuotes));
        let mut r = Vec::new();
        let l = Limits { authenticated: false, ..Limits::default() };
        assert_eq!(parse(b"*11\r\n", l, &mut r), Err(ParseError::UnauthenticatedMultibulkLength));
    }

    #[test]
    fn huge_count_does_not_allocate() {
        let mut r = Vec::new();
        assert_eq!(parse(b"*2000000000\r\n$1\r\na\r\n", Limits::default(), &mut r), Ok(None));
        assert!(r.capacity() <= 1024);
    }

    #[test]
    fn inline() {
        let (n, a) = p(b"set  \"a\\x41\\n\" 'b\\'c'\r\nx").unwrap().unwrap();
        assert_eq!(n, 23);
        assert_eq!(a, vec![b"set".to_vec(), b"aA\n".to_vec(), b"b'c".to_vec()]);
        assert_eq!(p(b"\r\n").unwrap().unwrap(), (2, vec![]));
        assert_eq!(p(b"ping").unwrap(), None);
    }

    #[test]
    fn empty_multibulk() {
        assert_eq!(p(b"*0\r\n").unwrap().unwrap(), (4, vec![]));
        assert_eq!(p(b"*-1\r\n").unwrap().unwrap(), (5, vec![]));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = p(&data);
        }

        #[test]
        fn roundtrip(args in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..20), 1..6)) {
            let mut b = format!("*{}\r\n", args.len()).into_bytes();
            for a in &args {
                b.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
                b.extend_from_slice(a);
                b.extend_from_slice(b"\r\n");
            }
            let (n, got) = p(&b).unwrap().unwrap();
            proptest::prop_assert_eq!(n, b.len());
            proptest::prop_assert_eq!(got, args);
        }
    }
}
