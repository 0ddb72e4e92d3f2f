//! Redis's compact blobs: listpacks (written and read), ziplists, intsets
//! and zipmaps (read; intsets also written).
//!
//! Listpack: `total bytes (u32 LE) | count (u16 LE, 65535 = unknown) |
//! entries | 0xFF`. An entry is its encoding, its data and a "backlen" (the
//! length of encoding plus data, in 1 to 5 bytes of 7 bits, read from the
//! right) so the list can be walked both ways. Encodings: `0xxxxxxx` a 7-bit
//! unsigned integer; `10xxxxxx` a string of up to 63 bytes; `110xxxxx` +1
//! byte a 13-bit signed integer; `1110xxxx` +1 byte a string of up to 4095
//! bytes; `0xF0` + u32 LE a longer string; `0xF1`..`0xF4` signed integers of
//! 16, 24, 32 and 64 bits (LE). A string that is the canonical form of an
//! integer is always stored as the smallest integer encoding, as Redis does,
//! so our listpacks are byte for byte Redis's.
//!
//! Ziplist (before Redis 7.0): `bytes (u32) | tail offset (u32) | count
//! (u16) | entries | 0xFF`; an entry is the previous entry's length (1 byte,
//! or 0xFE + u32), an encoding (`00` 6-bit, `01` 14-bit BE, `10` 32-bit BE
//! string lengths; `0xC0` i16, `0xD0` i32, `0xE0` i64, `0xF0` i24, `0xFE` i8,
//! `0xF1`..`0xFD` the integers 0..12) and the data.
//!
//! Intset: `encoding (u32 LE: 2, 4 or 8) | count (u32 LE) | sorted values`.
//! Zipmap (Redis 2.4 hashes): `count byte | (len key len free value
//! padding)* | 0xFF`, lengths of 1 byte, or 0xFE + u32.
//!
//! Every reader validates the whole blob and returns `None` for anything
//! Redis would not have written.

/// One listpack or ziplist element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Item<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl<'a> Item<'a> {
    /// The element as bytes (integers formatted into `buf`).
    pub fn bytes<'b>(&'b self, buf: &'b mut itoa::Buffer) -> &'b [u8]
    where
        'a: 'b,
    {
        match self {
            Item::Int(n) => buf.format(*n).as_bytes(),
            Item::Str(s) => s,
        }
    }
}

const HEADER: usize = 6;

/// Builds a listpack.
pub struct Writer {
    buf: Vec<u8>,
    count: usize,
}

impl Writer {
    pub fn new() -> Writer {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(&[0; HEADER]);
        Writer { buf, count: 0 }
    }

    /// Bytes of the finished listpack so far (Redis's lpBytes).
    pub fn bytes(&self) -> usize {
        self.buf.len() + 1
    }

    pub fn count(&self) -> usize {
        self.count
    }

    fn backlen(&mut self, l: usize) {
        let n = types::stream::lp_backlen_bytes(l);
        let l = l as u64;
        for i in (0..n).rev() {
            let b = ((l >> (7 * i)) & 127) as u8;
            self.buf.push(if i == n - 1 { b } else { b | 128 });
        }
    }

    /// Appends an integer in its smallest encoding.
    pub fn push_int(&mut self, v: i64) {
        let start = self.buf.len();
        if (0..=127).contains(&v) {
            self.buf.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            let u = (v as u64) & 0x1fff;
            self.buf.extend_from_slice(&[0xC0 | (u >> 8) as u8, u as u8]);
        } else if let Ok(x) = i16::try_from(v) {
            self.buf.push(0xF1);
            self.buf.extend_from_slice(&x.to_le_bytes());
        } else if (-(1 << 23)..(1 << 23)).contains(&v) {
            self.buf.push(0xF2);
            self.buf.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        } else if let Ok(x) = i32::try_from(v) {
            self.buf.push(0xF3);
            self.buf.extend_from_slice(&x.to_le_bytes());
        } else {
            self.buf.push(0xF4);
            self.buf.extend_from_slice(&v.to_le_bytes());
        }
        self.backlen(self.buf.len() - start);
        self.count += 1;
    }

    /// Appends a string, as an integer when it is the canonical form of one.
    pub fn push_str(&mut self, s: &[u8]) {
        if let Some(v) = types::num::parse_i64(s) {
            return self.push_int(v);
        }
        let start = self.buf.len();
        let n = s.len();
        if n < 64 {
            self.buf.push(0x80 | n as u8);
        } else if n < 4096 {
            self.buf.extend_from_slice(&[0xE0 | (n >> 8) as u8, n as u8]);
        } else {
            self.buf.push(0xF0);
            self.buf.extend_from_slice(&(n as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(s);
        self.backlen(self.buf.len() - start);
        self.count += 1;
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(0xFF);
        let total = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&total.to_le_bytes());
        let count = self.count.min(65535) as u16;
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.buf
    }
}

fn le(b: &[u8]) -> u64 {
    b.iter().rev().fold(0, |acc, &x| (acc << 8) | x as u64)
}

/// Sign-extends the low `bits` bits of `v`.
fn sext(v: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((v << shift) as i64) >> shift
}

/// The elements of a valid listpack.
pub fn parse_listpack(b: &[u8]) -> Option<Vec<Item<'_>>> {
    if b.len() < HEADER + 1 || le(&b[..4]) != b.len() as u64 || b[b.len() - 1] != 0xFF {
        return None;
    }
    let declared = le(&b[4..6]) as usize;
    let end = b.len() - 1;
    let mut items = Vec::with_capacity(declared.min(end / 2));
    let mut p = HEADER;
    while p < end {
        let c = b[p];
        let (hdr, item) = match c {
            0x00..=0x7F => (1, Some(Item::Int(c as i64))),
            0x80..=0xBF => (1, None),
            0xC0..=0xDF => (2, Some(Item::Int(sext(((c as u64 & 0x1f) << 8) | *b.get(p + 1)? as u64, 13)))),
            0xE0..=0xEF => (2, None),
            0xF0 => (5, None),
            0xF1 => (3, Some(Item::Int(sext(le(b.get(p + 1..p + 3)?), 16)))),
            0xF2 => (4, Some(Item::Int(sext(le(b.get(p + 1..p + 4)?), 24)))),
            0xF3 => (5, Some(Item::Int(sext(le(b.get(p + 1..p + 5)?), 32)))),
            0xF4 => (9, Some(Item::Int(le(b.get(p + 1..p + 9)?) as i64))),
            _ => return None,
        };
        let (len, item) = match item {
            Some(it) => (hdr, it),
            None => {
                let slen = match c {
                    0x80..=0xBF => (c & 0x3f) as usize,
                    0xE0..=0xEF => ((c as usize & 0x0f) << 8) | *b.get(p + 1)? as usize,
                    _ => le(b.get(p + 1..p + 5)?) as usize,
                };
                let data = b.get(p + hdr..(p + hdr).checked_add(slen)?)?;
                (hdr + slen, Item::Str(data))
            }
        };
        p += len;
        // The backlen must be exactly what Redis writes for this length.
        let mut w = Writer { buf: Vec::new(), count: 0 };
        w.backlen(len);
        if b.get(p..p + w.buf.len())? != &w.buf[..] || p + w.buf.len() > end {
            return None;
        }
        p += w.buf.len();
        items.push(item);
    }
    if p != end || (declared != 65535 && declared != items.len()) {
        return None;
    }
    Some(items)
}

/// The elements of a valid ziplist.
pub fn parse_ziplist(b: &[u8]) -> Option<Vec<Item<'_>>> {
    const ZHDR: usize = 10;
    if b.len() < ZHDR + 1 || le(&b[..4]) != b.len() as u64 || b[b.len() - 1] != 0xFF {
        return None;
    }
    let tail = le(&b[4..8]) as usize;
    let declared = le(&b[8..10]) as usize;
    let end = b.len() - 1;
    let mut items = Vec::with_capacity(declared.min(end / 2));
    let (mut p, mut prev_len, mut last) = (ZHDR, 0usize, ZHDR);
    while p < end {
        let start = p;
        let prev = if b[p] < 254 {
            p += 1;
            b[start] as usize
        } else if b[p] == 254 {
            p += 5;
            le(b.get(start + 1..start + 5)?) as usize
        } else {
            return None;
        };
        if prev != prev_len {
            return None;
        }
        let c = *b.get(p)?;
        let item = match c >> 6 {
            0..=2 => {
                let (h, n) = match c >> 6 {
                    0 => (1, (c & 0x3f) as usize),
                    1 => (2, ((c as usize & 0x3f) << 8) | *b.get(p + 1)? as usize),
                    _ if c == 0x80 => (5, u32::from_be_bytes(b.get(p + 1..p + 5)?.try_into().ok()?) as usize),
                    _ => return None,
                };
                let data = b.get(p + h..(p + h).checked_add(n)?)?;
                p += h + n;
                Item::Str(data)
            }
            _ => {
                let (n, v) = match c {
                    0xC0 => (2, sext(le(b.get(p + 1..p + 3)?), 16)),
                    0xD0 => (4, sext(le(b.get(p + 1..p + 5)?), 32)),
                    0xE0 => (8, le(b.get(p + 1..p + 9)?) as i64),
                    0xF0 => (3, sext(le(b.get(p + 1..p + 4)?), 24)),
                    0xFE => (1, sext(le(b.get(p + 1..p + 2)?), 8)),
                    0xF1..=0xFD => (0, (c & 0x0f) as i64 - 1),
                    _ => return None,
                };
                p += 1 + n;
                Item::Int(v)
            }
        };
        if p > end {
            return None;
        }
        prev_len = p - start;
        last = start;
        items.push(item);
    }
    if p != end || tail != last || (declared != 65535 && declared != items.len()) {
        return None;
    }
    Some(items)
}

/// The members of a valid intset: a known cell width, the exact size, at
/// least one member, strictly ascending.
pub fn parse_intset(b: &[u8]) -> Option<Vec<i64>> {
    if b.len() < 8 {
        return None;
    }
    let width = le(&b[..4]) as usize;
    let count = le(&b[4..8]) as usize;
    if !matches!(width, 2 | 4 | 8) || count == 0 || count.checked_mul(width)?.checked_add(8)? != b.len() {
        return None;
    }
    let vals: Vec<i64> = b[8..].chunks_exact(width).map(|c| sext(le(c), width as u32 * 8)).collect();
    vals.windows(2).all(|w| w[0] < w[1]).then_some(vals)
}

/// An intset of cell width `width` holding `vals` (ascending).
pub fn write_intset(width: u8, len: usize, vals: impl Iterator<Item = i64>) -> Vec<u8> {
    let w = width as usize;
    let mut b = Vec::with_capacity(8 + len * w);
    b.extend_from_slice(&(w as u32).to_le_bytes());
    b.extend_from_slice(&(len as u32).to_le_bytes());
    for v in vals {
        b.extend_from_slice(&v.to_le_bytes()[..w]);
    }
    b
}

/// The pairs of a valid zipmap.
pub fn parse_zipmap(b: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    if b.len() < 2 || b[b.len() - 1] != 0xFF {
        return None;
    }
    let declared = b[0] as usize;
    let end = b.len() - 1;
    let mut p = 1;
    let read_len = |p: &mut usize| -> Option<usize> {
        let c = *b.get(*p)?;
        match c {
            0..=253 => {
                *p += 1;
                Some(c as usize)
            }
            254 => {
                let v = le(b.get(*p + 1..*p + 5)?) as usize;
                *p += 5;
                Some(v)
            }
            _ => None,
        }
    };
    let mut pairs = Vec::new();
    while p < end {
        let klen = read_len(&mut p)?;
        let key = b.get(p..p.checked_add(klen)?)?;
        p += klen;
        let vlen = read_len(&mut p)?;
        let free = *b.get(p)? as usize;
        p += 1;
        let val = b.get(p..p.checked_add(vlen)?)?;
        p += vlen + free;
        if p > end {
            return None;
        }
        pairs.push((key, val));
    }
    if p != end || (declared < 254 && declared != pairs.len()) {
        return None;
    }
    Some(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lp(items: &[&[u8]]) -> Vec<u8> {
        let mut w = Writer::new();
        for i in items {
            w.push_str(i);
        }
        w.finish()
    }

    #[test]
    fn listpack_encodings_match_redis() {
        // Captured from redis-server 7.0.15: RPUSH of these values, the
        // listpack inside the DUMP payload.
        assert_eq!(lp(&[b"a", b"1"]), b"\x0c\x00\x00\x00\x02\x00\x81a\x02\x01\x01\xff");
        assert_eq!(lp(&[]), b"\x07\x00\x00\x00\x00\x00\xff");
        let mut w = Writer::new();
        for v in [0, 127, 128, -1, 4095, -4096, 4096, 32767, -32768, 32768, 8388607, -8388608, 8388608, i32::MAX as i64]
        {
            w.push_int(v);
        }
        w.push_int(i64::MIN);
        w.push_int(i64::MAX);
        let b = w.finish();
        let items = parse_listpack(&b).unwrap();
        let want: Vec<i64> = vec![
            0,
            127,
            128,
            -1,
            4095,
            -4096,
            4096,
            32767,
            -32768,
            32768,
            8388607,
            -8388608,
            8388608,
            i32::MAX as i64,
            i64::MIN,
            i64::MAX,
        ];
        assert_eq!(items, want.iter().map(|&v| Item::Int(v)).collect::<Vec<_>>());
        // Entry sizes: 1, 1, 2 (13-bit), 2, 2, 2, 3 (16-bit), ...
        assert_eq!(&b[6..10], &[0x00, 0x01, 0x7f, 0x01]);
        assert_eq!(&b[10..13], &[0xC0, 0x80, 0x02]);
    }

    #[test]
    fn listpack_strings() {
        let long = vec![b'x'; 5000];
        let mid = vec![b'y'; 200];
        let b = lp(&[b"", b"-0", b"007", &mid, &long, b"+1"]);
        let items = parse_listpack(&b).unwrap();
        assert_eq!(
            items,
            vec![
                Item::Str(b""),
                Item::Str(b"-0"),
                Item::Str(b"007"),
                Item::Str(&mid),
                Item::Str(&long),
                Item::Str(b"+1")
            ]
        );
        // Corruptions are refused.
        for cut in 0..b.len() {
            assert!(parse_listpack(&b[..cut]).is_none());
        }
        let mut bad = b.clone();
        bad[4] = 9;
        assert!(parse_listpack(&bad).is_none());
        let mut unknown = b.clone();
        unknown[4..6].copy_from_slice(&[0xff, 0xff]);
        assert_eq!(parse_listpack(&unknown).unwrap().len(), 6);
    }

    #[test]
    fn ziplist() {
        // A ziplist of "a", 5, 1000, "hello" (hand-built per ziplist.c).
        let mut z = vec![0u8; 10];
        let entries: &[&[u8]] = &[b"\x00\x01a", b"\x03\xf6", b"\x02\xc0\xe8\x03", b"\x04\x05hello"];
        let mut last = 0;
        for e in entries {
            last = z.len();
            z.extend_from_slice(e);
        }
        z.push(0xff);
        let n = z.len() as u32;
        z[..4].copy_from_slice(&n.to_le_bytes());
        z[4..8].copy_from_slice(&(last as u32).to_le_bytes());
        z[8..10].copy_from_slice(&4u16.to_le_bytes());
        let items = parse_ziplist(&z).unwrap();
        assert_eq!(items, vec![Item::Str(b"a"), Item::Int(5), Item::Int(1000), Item::Str(b"hello")]);
        for cut in 0..z.len() {
            assert!(parse_ziplist(&z[..cut]).is_none());
        }
        let mut bad = z.clone();
        bad[4] += 1;
        assert!(parse_ziplist(&bad).is_none());
    }

    #[test]
    fn intsets() {
        let b = write_intset(2, 3, [-5, 1, 300].into_iter());
        assert_eq!(b, b"\x02\x00\x00\x00\x03\x00\x00\x00\xfb\xff\x01\x00\x2c\x01");
        assert_eq!(parse_intset(&b), Some(vec![-5, 1, 300]));
        let unsorted = write_intset(2, 2, [3, 1].into_iter());
        assert_eq!(parse_intset(&unsorted), None);
        let dup = write_intset(4, 2, [3, 3].into_iter());
        assert_eq!(parse_intset(&dup), None);
        assert_eq!(parse_intset(&write_intset(8, 0, [].into_iter())), None);
        assert_eq!(parse_intset(&b[..b.len() - 1]), None);
        let mut odd = b.clone();
        odd[0] = 3;
        assert_eq!(parse_intset(&odd), None);
    }

    #[test]
    fn zipmap() {
        let z = b"\x02\x03foo\x03\x00bar\x01k\x02\x01vvX\xff";
        assert_eq!(parse_zipmap(z), Some(vec![(&b"foo"[..], &b"bar"[..]), (&b"k"[..], &b"vv"[..])]));
        for cut in 0..z.len() {
            assert!(parse_zipmap(&z[..cut]).is_none());
        }
    }
}
