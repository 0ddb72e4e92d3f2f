//! The reply writer: one growing buffer per connection, answered in one write.
//!
//! Every method appends one complete RESP value (or an aggregate header).
//! RESP3-only types degrade to the shape Redis 7 sends a RESP2 client:
//! map -> flat array of 2n, set -> array, double -> bulk string,
//! null -> `$-1` (or `*-1` for [`Out::null_array`]), boolean -> integer,
//! verbatim and big number -> bulk string, push -> array.

use crate::double::fmt_double;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Protocol {
    #[default]
    Resp2,
    Resp3,
}

/// Kind of aggregate whose length is only known after its items are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Agg {
    Array,
    Map,
    Set,
}

#[derive(Debug, Default)]
pub struct Out {
    pub buf: Vec<u8>,
    pub proto: Protocol,
}

impl Out {
    pub fn new(proto: Protocol) -> Self {
        Out { buf: Vec::with_capacity(4096), proto }
    }

    pub fn resp3(&self) -> bool {
        self.proto == Protocol::Resp3
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn clear(&mut self) {
        self.buf.clear();
    }

    /// Appends bytes that are already RESP.
    pub fn raw(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    fn line(&mut self, prefix: u8, n: i64) {
        self.buf.push(prefix);
        let mut b = itoa::Buffer::new();
        self.buf.extend_from_slice(b.format(n).as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// `+s`. Newlines in `s` would break the protocol and are replaced by spaces.
    pub fn simple(&mut self, s: impl AsRef<[u8]>) {
        self.buf.push(b'+');
        self.push_line_safe(s.as_ref());
    }

    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// `-msg`, where `msg` starts with its code (`ERR ...`, `WRONGTYPE ...`).
    pub fn error(&mut self, msg: impl AsRef<[u8]>) {
        self.buf.push(b'-');
        self.push_line_safe(msg.as_ref());
    }

    fn push_line_safe(&mut self, s: &[u8]) {
        for &c in s {
            self.buf.push(if c == b'\r' || c == b'\n' { b' ' } else { c });
        }
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn int(&mut self, n: i64) {
        self.line(b':', n);
    }

    pub fn bulk(&mut self, b: impl AsRef<[u8]>) {
        let b = b.as_ref();
        self.line(b'$', b.len() as i64);
        self.buf.extend_from_slice(b);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// A bulk string holding the decimal form of `n`.
    pub fn bulk_int(&mut self, n: i64) {
        let mut b = itoa::Buffer::new();
        let s = b.format(n);
        self.bulk(s.as_bytes());
    }

    /// The null bulk string (`$-1` in RESP2, `_` in RESP3).
    pub fn null(&mut self) {
        if self.resp3() {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"$-1\r\n");
        }
    }

    /// The null array (`*-1` in RESP2, `_` in RESP3).
    pub fn null_array(&mut self) {
        if self.resp3() {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"*-1\r\n");
        }
    }

    pub fn array(&mut self, n: usize) {
        self.line(b'*', n as i64);
    }

    pub fn empty_array(&mut self) {
        self.buf.extend_from_slice(b"*0\r\n");
    }

    /// A map of `n` pairs (`%n`; RESP2: an array of 2n).
    pub fn map(&mut self, n: usize) {
        if self.resp3() {
            self.line(b'%', n as i64);
        } else {
            self.line(b'*', 2 * n as i64);
        }
    }

    /// A set of `n` members (`~n`; RESP2: an array).
    pub fn set(&mut self, n: usize) {
        if self.resp3() {
            self.line(b'~', n as i64);
        } else {
            self.line(b'*', n as i64);
        }
    }

    /// An out-of-band push of `n` items (`>n`; RESP2: an array).
    pub fn push(&mut self, n: usize) {
        if self.resp3() {
            self.line(b'>', n as i64);
        } else {
            self.line(b'*', n as i64);
        }
    }

    /// A double as Redis 7.0 sends it: `%.17g`, `inf`, `-inf`.
    pub fn double(&mut self, d: f64) {
        let s = fmt_double(d);
        if self.resp3() {
            self.buf.push(b',');
            self.buf.extend_from_slice(s.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(s.as_bytes());
        }
    }

    pub fn bool(&mut self, b: bool) {
        if self.resp3() {
            self.buf.extend_from_slice(if b { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(b as i64);
        }
    }

    /// Verbatim string with a three-letter format such as `txt`.
    pub fn verbatim(&mut self, format: &str, data: impl AsRef<[u8]>) {
        let data = data.as_ref();
        if self.resp3() {
            self.line(b'=', (data.len() + 4) as i64);
            self.buf.extend_from_slice(format.as_bytes());
            self.buf.push(b':');
            self.buf.extend_from_slice(data);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(data);
        }
    }

    pub fn bignum(&mut self, digits: &str) {
        if self.resp3() {
            self.buf.push(b'(');
            self.buf.extend_from_slice(digits.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(digits.as_bytes());
        }
    }

    /// Starts an aggregate whose length is not known yet; finish it with
    /// [`Out::end_deferred`] once its items are written.
    pub fn begin_deferred(&mut self) -> usize {
        self.buf.len()
    }

    /// Inserts the header of an aggregate begun at `at` holding `n` items
    /// (pairs, for a map).
    pub fn end_deferred(&mut self, at: usize, kind: Agg, n: usize) {
        let mut tmp = Out { buf: Vec::with_capacity(16), proto: self.proto };
        match kind {
            Agg::Array => tmp.array(n),
            Agg::Map => tmp.map(n),
            Agg::Set => tmp.set(n),
        }
        self.buf.splice(at..at, tmp.buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn degrade() {
        let mut o = Out::new(Protocol::Resp2);
        o.map(2);
        o.null();
        o.null_array();
        o.double(1.5);
        o.bool(true);
        assert_eq!(o.buf, b"*4\r\n$-1\r\n*-1\r\n$3\r\n1.5\r\n:1\r\n");
        let mut o = Out::new(Protocol::Resp3);
        o.map(2);
        o.null();
        o.double(f64::INFINITY);
        o.bool(false);
        o.verbatim("txt", "hi");
        assert_eq!(o.buf, b"%2\r\n_\r\n,inf\r\n#f\r\n=6\r\ntxt:hi\r\n");
    }

    #[test]
    fn deferred() {
        let mut o = Out::new(Protocol::Resp2);
        o.int(1);
        let at = o.begin_deferred();
        o.bulk("a");
        o.end_deferred(at, Agg::Array, 1);
        assert_eq!(o.buf, b":1\r\n*1\r\n$1\r\na\r\n");
    }

    #[test]
    fn error_newlines() {
        let mut o = Out::new(Protocol::Resp2);
        o.error("ERR a\r\nb");
        assert_eq!(o.buf, b"-ERR a  b\r\n");
    }
}

/// The length of the complete reply value at the start of `buf` (as `Out`
/// writes them), or `None` if it is cut short or malformed. Lets a caller
/// walk the values of a reply buffer (CLIENT REPLY OFF keeps the pushes of
/// a silenced command and drops the rest).
pub fn value_len(buf: &[u8]) -> Option<usize> {
    value_len_pushes(buf, &mut |_, _| {})
}

/// `value_len`, where a push met in place of an element of the value (a
/// push Redis writes in the middle of a reply: a keyspace event for the
/// client itself) is not an element: `on_push` gets its offset and length,
/// and the walk goes on after it.
pub fn value_len_pushes(buf: &[u8], on_push: &mut dyn FnMut(usize, usize)) -> Option<usize> {
    let mut pos = 0;
    // Values still to read: a stack would be needed only for the depth, a
    // count of pending values is enough.
    let mut pending: u64 = 1;
    while pending > 0 {
        let kind = *buf.get(pos)?;
        if kind == b'>' && pos > 0 {
            // Pushes hold no pushes, so this walk ends within it.
            let n = value_len(&buf[pos..])?;
            on_push(pos, n);
            pos += n;
            continue;
        }
        let nl = pos + buf[pos..].windows(2).position(|w| w == b"\r\n")?;
        let head = &buf[pos + 1..nl];
        pos = nl + 2;
        pending -= 1;
        let n = || std::str::from_utf8(head).ok()?.parse::<i64>().ok();
        match kind {
            b'$' | b'=' | b'!' => {
                let len = n()?;
                if len >= 0 {
                    pos = pos.checked_add(len as usize + 2)?;
                    if pos > buf.len() {
                        return None;
                    }
                }
            }
            b'*' | b'>' | b'~' => pending += n()?.max(0) as u64,
            b'%' | b'|' => pending += 2 * n()?.max(0) as u64,
            _ => {}
        }
    }
    Some(pos)
}

#[cfg(test)]
mod value_len_tests {
    use super::*;

    #[test]
    fn walks_values() {
        let mut o = Out::new(Protocol::Resp3);
        o.map(1);
        o.bulk("k");
        o.array(2);
        o.double(1.5);
        o.null();
        let whole = o.len();
        o.push(2);
        o.bulk("a\r\nb");
        o.int(3);
        assert_eq!(value_len(&o.buf), Some(whole));
        assert_eq!(value_len(&o.buf[whole..]), Some(o.len() - whole));
        // A push written between the elements of a reply is not one of them.
        let mut r = Out::new(Protocol::Resp3);
        r.array(2);
        r.bulk("x");
        let at = r.len();
        r.push(1);
        r.bulk("ev");
        let plen = r.len() - at;
        r.int(7);
        let mut seen = Vec::new();
        assert_eq!(value_len_pushes(&r.buf, &mut |a, n| seen.push((a, n))), Some(r.len()));
        assert_eq!(seen, vec![(at, plen)]);
        assert_eq!(value_len(&o.buf[..whole - 1]), None);
        assert_eq!(value_len(b"*-1\r\n"), Some(5));
        assert_eq!(value_len(b"$-1\r\n+OK\r\n"), Some(5));
        assert_eq!(value_len(b""), None);
    }
}
