//! The RDB value codec: Redis's serialization of one value, as DUMP and
//! RESTORE exchange it (and as RDB files and replication will).
//!
//! A DUMP payload is `type byte, value, RDB version (2 bytes LE), CRC64 of
//! everything before it (8 bytes LE)`. The building blocks:
//!
//! * Lengths: the two top bits of the first byte pick the form: `00` a 6-bit
//!   length, `01` 14 bits (with the next byte, big endian), `10` followed by
//!   0x80 and 32 bits or 0x81 and 64 bits (big endian); `11` marks a
//!   specially encoded string instead (its low six bits say which).
//! * Strings: a length and the bytes; or an integer (`0xC0` + i8, `0xC1` +
//!   i16 LE, `0xC2` + i32 LE) when the string is the canonical form of one;
//!   or `0xC3`, the compressed length, the original length and LZF data
//!   (`lzf`), which Redis uses for strings over 20 bytes that compress by 4
//!   bytes or more. `write_string` makes those choices exactly as Redis's
//!   `rdbSaveRawString` does.
//! * Blobs inside strings: listpacks, ziplists, intsets and zipmaps
//!   (`listpack`), Redis's compact encodings, which we write for small values
//!   (listpacks, intsets) and read in every form Redis may still send.
//!
//! `encode` turns a `Value` into the object type RDB version 10 (Redis 7.0)
//! uses for it; `decode` reads every object type of version 10 and the older
//! ones, validating everything (the checks of Redis's
//! `sanitize-dump-payload yes`, and more): every length is checked against
//! the bytes left before anything is allocated, so no input can panic, loop
//! or allocate without bound. A decoded value is built with our own write
//! paths, so its encoding follows our thresholds.
//!
//! Field TTLs (Redis 7.4) have no version-10 encoding: a hash that has any
//! is written in Redis 7.4.1's object types (`HASH_LISTPACK_EX`,
//! `HASH_METADATA`) with 7.4's RDB version (12), byte for byte as 7.4.1 does
//! for a listpack hash. RESTORE accepts versions 11 and 12 for those two
//! types only; any other payload newer than 10 is refused, as 7.0 refuses it.

mod decode;
mod encode;
pub mod file;
mod listpack;
pub mod lzf;

use std::borrow::Cow;

pub use decode::{load, load_object, LoadConfig};
pub use encode::{dump, dump_with, packed_threshold, quicklist_nodes, write_object, QlNode, DEFAULT_PACKED_THRESHOLD};

/// The RDB version Redis 7.0 writes and the newest it reads.
pub const RDB_VERSION: u16 = 10;
/// Redis 7.4's RDB version, written for hashes with field TTLs.
pub const RDB_VERSION_74: u16 = 12;

/// Object type bytes (`RDB_TYPE_*` of rdb.h).
pub mod ty {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const HASH_ZIPMAP: u8 = 9;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    pub const STREAM_LISTPACKS: u8 = 15;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const STREAM_LISTPACKS_2: u8 = 19;
    /// Redis 7.4: hashes with field TTLs.
    pub const HASH_METADATA: u8 = 24;
    pub const HASH_LISTPACK_EX: u8 = 25;
}

/// Redis's CRC64 (Jones polynomial, reflected).
pub fn crc64(mut crc: u64, data: &[u8]) -> u64 {
    for &b in data {
        crc ^= b as u64;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0x95AC_9329_AC4B_C9B5 } else { crc >> 1 };
        }
    }
    crc
}

/// Appends the RDB version and the CRC64 footer to a payload body.
pub fn seal(p: Vec<u8>) -> Vec<u8> {
    seal_as(p, RDB_VERSION)
}

fn seal_as(mut p: Vec<u8>, version: u16) -> Vec<u8> {
    p.extend_from_slice(&version.to_le_bytes());
    let crc = crc64(0, &p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

/// The body of a payload whose version we can read and whose checksum is
/// right (Redis's verifyDumpPayload); `None` otherwise.
pub fn unseal(p: &[u8]) -> Option<&[u8]> {
    unseal_checked(p, true)
}

/// `unseal`, the CRC64 checked only if `crc` (DEBUG
/// SET-SKIP-CHECKSUM-VALIDATION turns it off, as in Redis; the version is
/// always checked).
pub fn unseal_checked(p: &[u8], crc: bool) -> Option<&[u8]> {
    if p.len() < 10 {
        return None;
    }
    let (body, footer) = p.split_at(p.len() - 8);
    let ver = u16::from_le_bytes([body[body.len() - 2], body[body.len() - 1]]);
    let ttl_hash = matches!(body[0], ty::HASH_METADATA | ty::HASH_LISTPACK_EX);
    if (ver > RDB_VERSION && !(ttl_hash && ver <= RDB_VERSION_74)) || (crc && crc64(0, body).to_le_bytes() != footer) {
        return None;
    }
    Some(&body[..body.len() - 2])
}

/// An RDB length.
pub fn write_len(out: &mut Vec<u8>, n: u64) {
    if n < 64 {
        out.push(n as u8);
    } else if n < 16384 {
        out.push(0x40 | (n >> 8) as u8);
        out.push(n as u8);
    } else if n <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// `rdbcompression`: strings over 20 bytes may be LZF-compressed (in RDB
/// files and DUMP payloads alike, as in Redis, where the setting is
/// server-wide).
pub static COMPRESS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// An RDB string as Redis's `rdbSaveRawString` writes it: a short canonical
/// integer that fits 32 bits as an integer, a string over 20 bytes
/// LZF-compressed when that saves 4 bytes, else length and bytes.
pub fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    if s.len() <= 11 {
        if let Some(n) = types::num::parse_i64(s) {
            if let Ok(b) = i8::try_from(n) {
                out.extend_from_slice(&[0xC0, b as u8]);
                return;
            } else if let Ok(v) = i16::try_from(n) {
                out.push(0xC1);
                out.extend_from_slice(&v.to_le_bytes());
                return;
            } else if let Ok(v) = i32::try_from(n) {
                out.push(0xC2);
                out.extend_from_slice(&v.to_le_bytes());
                return;
            }
        }
    }
    if s.len() > 20 && COMPRESS.load(std::sync::atomic::Ordering::Relaxed) {
        if let Some(c) = lzf::compress(s, s.len() - 4) {
            out.push(0xC3);
            write_len(out, c.len() as u64);
            write_len(out, s.len() as u64);
            out.extend_from_slice(&c);
            return;
        }
    }
    write_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// A cursor over payload bytes. Every read is checked: `None` means the
/// bytes ran out or are malformed.
pub struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Reader { b, pos: 0 }
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.b.len()
    }

    /// Bytes not read yet.
    pub fn left(&self) -> usize {
        self.b.len() - self.pos
    }

    pub fn byte(&mut self) -> Option<u8> {
        let c = *self.b.get(self.pos)?;
        self.pos += 1;
        Some(c)
    }

    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.b.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    /// A length, or `Err(kind)` for a specially encoded string.
    fn len_or_special(&mut self) -> Option<Result<u64, u8>> {
        let c = self.byte()?;
        Some(match c >> 6 {
            0 => Ok((c & 0x3f) as u64),
            1 => Ok((((c & 0x3f) as u64) << 8) | self.byte()? as u64),
            2 => match c {
                0x80 => Ok(u32::from_be_bytes(self.array()?) as u64),
                0x81 => Ok(u64::from_be_bytes(self.array()?)),
                _ => return None,
            },
            _ => Err(c & 0x3f),
        })
    }

    /// A length (not a string encoding).
    pub fn len(&mut self) -> Option<u64> {
        self.len_or_special()?.ok()
    }

    /// A count of items each taking at least one byte: refused when more
    /// than the bytes left could hold, so it can size an allocation.
    pub fn count(&mut self) -> Option<usize> {
        let n = self.len()?;
        (n <= self.left() as u64).then_some(n as usize)
    }

    /// A string in any of its encodings.
    pub fn string(&mut self) -> Option<Cow<'a, [u8]>> {
        Some(match self.len_or_special()? {
            Ok(n) => Cow::Borrowed(self.take(usize::try_from(n).ok()?)?),
            Err(0) => Cow::Owned((self.byte()? as i8).to_string().into_bytes()),
            Err(1) => Cow::Owned(i16::from_le_bytes(self.array()?).to_string().into_bytes()),
            Err(2) => Cow::Owned(i32::from_le_bytes(self.array()?).to_string().into_bytes()),
            Err(3) => {
                let clen = usize::try_from(self.len()?).ok()?;
                let len = usize::try_from(self.len()?).ok()?;
                Cow::Owned(lzf::decompress(self.take(clen)?, len)?)
            }
            Err(_) => return None,
        })
    }

    /// Eight bytes, little endian (binary doubles, millisecond times).
    pub fn u64_le(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.array()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc64_jones() {
        assert_eq!(crc64(0, b"123456789"), 0xe9c6d914c4b8d9ca);
    }

    #[test]
    fn lengths() {
        for n in [0u64, 63, 64, 16383, 16384, u32::MAX as u64, u32::MAX as u64 + 1, u64::MAX] {
            let mut b = Vec::new();
            write_len(&mut b, n);
            let mut r = Reader::new(&b);
            assert_eq!(r.len(), Some(n));
            assert!(r.is_empty());
        }
        let mut b = Vec::new();
        write_len(&mut b, 300);
        assert_eq!(b, [0x41, 0x2c]);
        assert_eq!(Reader::new(&[0x82]).len(), None);
        assert_eq!(Reader::new(&[0x80, 1]).len(), None);
    }

    #[test]
    fn strings() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"short", b"\x05short"),
            (b"12", b"\xc0\x0c"),
            (b"-128", b"\xc0\x80"),
            (b"300", b"\xc1\x2c\x01"),
            (b"-70000", b"\xc2\x90\xee\xfe\xff"),
            (b"012", b"\x03012"),
            (b"4294967296", b"\x0a4294967296"),
            (b"", b"\x00"),
        ];
        for (s, enc) in cases {
            let mut b = Vec::new();
            write_string(&mut b, s);
            assert_eq!(&b[..], *enc, "{:?}", String::from_utf8_lossy(s));
            assert_eq!(&*Reader::new(&b).string().unwrap(), *s);
        }
        let long = b"abcabcabcabcabcabcabcabcabcabcabcabc";
        let mut b = Vec::new();
        write_string(&mut b, long);
        assert_eq!(b[0], 0xC3);
        assert_eq!(&*Reader::new(&b).string().unwrap(), long);
        // Truncated or lying encodings.
        assert!(Reader::new(b"\x05abc").string().is_none());
        assert!(Reader::new(b"\xc3\x02\x7f\x00\x00").string().is_none());
        assert!(Reader::new(b"\xc4").string().is_none());
    }

    #[test]
    fn seal_unseal() {
        let p = seal(b"\x00\x03abc".to_vec());
        assert_eq!(unseal(&p), Some(&b"\x00\x03abc"[..]));
        let mut bad = p.clone();
        bad[2] ^= 1;
        assert_eq!(unseal(&bad), None);
        let mut newer = b"\x00\x03abc".to_vec();
        newer.extend_from_slice(&11u16.to_le_bytes());
        let crc = crc64(0, &newer);
        newer.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(unseal(&newer), None);
        assert_eq!(unseal(b"short"), None);
    }
}

#[cfg(test)]
mod codec_tests;
