//! RDB files: the whole dataset in Redis's snapshot format, written by SAVE,
//! BGSAVE and shutdown, read at startup and by DEBUG RELOAD.
//!
//! Layout: `REDIS` and the version as four ASCII digits; auxiliary fields
//! (`AUX` key value); function libraries (`FUNCTION2` code); then per
//! database `SELECTDB n`, `RESIZEDB keys expires` and the keys, each an
//! optional `EXPIRETIME_MS` (8 bytes LE), the object type byte, the key as a
//! string and the object (see `encode`); then `EOF` and the CRC64 of
//! everything before it (8 bytes LE, 0 when checksums are off).
//!
//! Hematite writes one `SELECTDB` group per keyspace shard, so a database
//! may appear in several groups; Redis's loader (and ours) switches the
//! current database at every `SELECTDB`, so the file loads the same.

use super::decode::{load_object, LoadConfig};
use super::{write_len, write_string, Reader};
use crate::storage::{Entry, Value, NO_EXPIRE};
use std::borrow::Cow;

pub const OP_SLOT_INFO: u8 = 244;
pub const OP_FUNCTION2: u8 = 245;
pub const OP_FUNCTION_PRE_GA: u8 = 246;
pub const OP_MODULE_AUX: u8 = 247;
pub const OP_IDLE: u8 = 248;
pub const OP_FREQ: u8 = 249;
pub const OP_AUX: u8 = 250;
pub const OP_RESIZEDB: u8 = 251;
pub const OP_EXPIRETIME_MS: u8 = 252;
pub const OP_EXPIRETIME: u8 = 253;
pub const OP_SELECTDB: u8 = 254;
pub const OP_EOF: u8 = 255;

/// The newest RDB version we read (Redis 7.4's).
pub const MAX_VERSION: u16 = 12;

/// Redis's CRC64 (Jones polynomial, reflected), a byte at a time from a
/// table; `super::crc64` is the bitwise reference.
pub struct Crc64(pub u64);

const TABLE: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u64;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ 0x95AC_9329_AC4B_C9B5 } else { c >> 1 };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

impl Crc64 {
    pub fn update(&mut self, data: &[u8]) {
        let mut c = self.0;
        for &b in data {
            c = TABLE[((c ^ b as u64) & 0xff) as usize] ^ (c >> 8);
        }
        self.0 = c;
    }
}

pub fn header(out: &mut Vec<u8>, version: u16) {
    out.extend_from_slice(b"REDIS");
    out.extend_from_slice(format!("{version:04}").as_bytes());
}

pub fn aux(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    out.push(OP_AUX);
    write_string(out, key);
    write_string(out, value);
}

pub fn function(out: &mut Vec<u8>, code: &[u8]) {
    out.push(OP_FUNCTION2);
    write_string(out, code);
}

pub fn select_db(out: &mut Vec<u8>, db: usize, keys: usize, expires: usize) {
    out.push(OP_SELECTDB);
    write_len(out, db as u64);
    out.push(OP_RESIZEDB);
    write_len(out, keys as u64);
    write_len(out, expires as u64);
}

/// What a key's record says of its access history (Redis writes it under
/// LRU and LFU maxmemory policies).
#[derive(Clone, Copy)]
pub enum Access {
    None,
    /// Seconds since the last access.
    Idle(u64),
    /// The LFU counter.
    Freq(u8),
}

/// One key: its expiry, access history, type, name and object. `scratch`
/// is reused between calls. True if the object needs RDB version 12 (see
/// `write_object`).
pub fn key_value(
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
    key: &[u8],
    e: &Entry,
    threshold: usize,
    access: Access,
) -> bool {
    if e.expire_at != NO_EXPIRE {
        out.push(OP_EXPIRETIME_MS);
        out.extend_from_slice(&(e.expire_at as u64).to_le_bytes());
    }
    match access {
        Access::None => {}
        Access::Idle(s) => {
            out.push(OP_IDLE);
            write_len(out, s);
        }
        Access::Freq(f) => {
            out.push(OP_FREQ);
            out.push(f);
        }
    }
    scratch.clear();
    let v12 = super::write_object(scratch, &e.value, threshold);
    out.push(scratch[0]);
    write_string(out, key);
    out.extend_from_slice(&scratch[1..]);
    v12
}

/// The end marker and checksum of a file whose bytes so far hashed to `crc`
/// (`None`: checksums are off, Redis writes 0).
pub fn finish(out: &mut Vec<u8>, crc: &mut Crc64, checksum: bool) {
    out.push(OP_EOF);
    crc.update(&[OP_EOF]);
    let c = if checksum { crc.0 } else { 0 };
    out.extend_from_slice(&c.to_le_bytes());
}

/// What a file holds, in order.
pub enum Item<'a> {
    Aux(Cow<'a, [u8]>, Cow<'a, [u8]>),
    Function(Cow<'a, [u8]>),
    /// The database the keys that follow go to.
    Db(usize),
    /// A key whose collection was empty: skipped (keys cannot be empty).
    EmptyKey(Cow<'a, [u8]>),
    Key {
        key: Cow<'a, [u8]>,
        value: Value,
        expire_at: i64,
        idle: Option<u64>,
        freq: Option<u8>,
    },
}

/// Reads a whole file, handing each item to `f` (which may stop the load
/// with an error). Every byte is checked: a malformed or truncated file is
/// an error, never a panic. `verify`: check the CRC64 footer (when it is
/// not 0, as Redis does). Returns the length of the RDB data.
pub fn parse<'a>(
    data: &'a [u8],
    cfg: &LoadConfig,
    verify: bool,
    mut f: impl FnMut(Item<'a>) -> Result<(), String>,
) -> Result<usize, String> {
    parse_at(data, cfg, verify, |item, _| f(item))
}

/// `parse`, also telling `f` how many bytes of `data` are read once the
/// item is (for loading progress).
pub fn parse_at<'a>(
    data: &'a [u8],
    cfg: &LoadConfig,
    verify: bool,
    mut f: impl FnMut(Item<'a>, usize) -> Result<(), String>,
) -> Result<usize, String> {
    if data.len() < 9 || &data[..5] != b"REDIS" {
        return Err("Wrong signature trying to load DB from file".into());
    }
    let version = std::str::from_utf8(&data[5..9])
        .ok()
        .filter(|v| v.bytes().all(|c| c.is_ascii_digit()))
        .and_then(|v| v.parse::<u16>().ok())
        .unwrap_or(0);
    if !(1..=MAX_VERSION).contains(&version) {
        return Err(format!("Can't handle RDB format version {}", String::from_utf8_lossy(&data[5..9])));
    }
    let short = || "Short read or OOM loading DB. Unrecoverable error, aborting now.".to_string();
    let mut r = Reader::new(&data[9..]);
    let (mut expire_at, mut idle, mut freq) = (NO_EXPIRE, None, None);
    loop {
        let op = r.byte().ok_or_else(short)?;
        match op {
            OP_EXPIRETIME_MS => {
                expire_at = r.u64_le().ok_or_else(short)? as i64;
                continue;
            }
            OP_EXPIRETIME => {
                let s = i32::from_le_bytes(r.take(4).ok_or_else(short)?.try_into().expect("4 bytes"));
                expire_at = s as i64 * 1000;
                continue;
            }
            OP_IDLE => {
                idle = Some(r.len().ok_or_else(short)?);
                continue;
            }
            OP_FREQ => {
                freq = Some(r.byte().ok_or_else(short)?);
                continue;
            }
            OP_EOF => break,
            OP_SELECTDB => {
                let db = r.len().ok_or_else(short)?;
                f(Item::Db(usize::try_from(db).unwrap_or(usize::MAX)), data.len() - r.left())?;
            }
            OP_RESIZEDB => {
                r.len().ok_or_else(short)?;
                r.len().ok_or_else(short)?;
            }
            OP_AUX => {
                let k = r.string().ok_or_else(short)?;
                let v = r.string().ok_or_else(short)?;
                f(Item::Aux(k, v), data.len() - r.left())?;
            }
            OP_SLOT_INFO => {
                for _ in 0..3 {
                    r.len().ok_or_else(short)?;
                }
            }
            OP_FUNCTION2 => {
                let code = r.string().ok_or_else(short)?;
                f(Item::Function(code), data.len() - r.left())?;
            }
            OP_FUNCTION_PRE_GA => return Err("Pre-release function format not supported.".into()),
            OP_MODULE_AUX => {
                return Err("The RDB file contains AUX module data I can't load: no matching module".into())
            }
            t => {
                let key = r.string().ok_or_else(short)?;
                let value = match load_object(&mut r, t, cfg) {
                    Some(v) => v,
                    None if super::decode::take_empty() => {
                        f(Item::EmptyKey(key), data.len() - r.left())?;
                        (expire_at, idle, freq) = (NO_EXPIRE, None, None);
                        continue;
                    }
                    None if super::decode::known_type(t) => {
                        return Err(format!(
                            "Bad data format loading key '{}' (type {t}): integrity check failed",
                            String::from_utf8_lossy(&key)
                        ))
                    }
                    None => return Err(format!("Unknown RDB encoding type {t}")),
                };
                f(Item::Key { key, value, expire_at, idle, freq }, data.len() - r.left())?;
            }
        }
        (expire_at, idle, freq) = (NO_EXPIRE, None, None);
    }
    let body_len = data.len() - r.left();
    if version >= 5 {
        let sum = r.u64_le().ok_or_else(short)?;
        if verify && sum != 0 {
            let mut c = Crc64(0);
            c.update(&data[..body_len]);
            if c.0 != sum {
                return Err(format!(
                    "Wrong RDB checksum expected: ({:x}) got ({:x}). Aborting now. (RDB CRC error)",
                    sum, c.0
                ));
            }
        }
    }
    // (What follows is not ours: an old AOF's commands after its preamble.)
    Ok(data.len() - r.left())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Str;

    fn entry(v: &str, exp: i64) -> Entry {
        let mut e = Entry::new(Value::Str(Str::from_bytes(v.as_bytes())), 0);
        e.expire_at = exp;
        e
    }

    fn file(keys: &[(usize, &str, Entry)]) -> Vec<u8> {
        let mut out = Vec::new();
        header(&mut out, 10);
        aux(&mut out, b"redis-ver", b"7.0.15");
        function(&mut out, b"#!lua name=x\nredis.register_function('f', function() return 1 end)");
        let mut scratch = Vec::new();
        for (db, k, e) in keys {
            select_db(&mut out, *db, 1, 0);
            key_value(&mut out, &mut scratch, k.as_bytes(), e, usize::MAX, Access::None);
        }
        let mut crc = Crc64(0);
        crc.update(&out);
        finish(&mut out, &mut crc, true);
        out
    }

    #[test]
    fn table_crc_matches_bitwise() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
        let mut c = Crc64(0);
        c.update(&data[..10]);
        c.update(&data[10..]);
        assert_eq!(c.0, super::super::crc64(0, &data));
    }

    #[test]
    fn round_trip() {
        let f =
            file(&[(0, "a", entry("1", NO_EXPIRE)), (3, "b", entry("hello", 1234)), (0, "c", entry("x", NO_EXPIRE))]);
        let mut seen = Vec::new();
        let mut db = 0;
        parse(&f, &LoadConfig::default(), true, |it| {
            match it {
                Item::Db(d) => db = d,
                Item::Key { key, value, expire_at, .. } => {
                    let Value::Str(s) = value else { panic!() };
                    seen.push((db, key.into_owned(), s.to_vec(), expire_at))
                }
                Item::Function(c) => assert!(c.starts_with(b"#!lua")),
                Item::Aux(k, _) => assert_eq!(&*k, b"redis-ver"),
                Item::EmptyKey(_) => panic!("no empty keys here"),
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(
            seen,
            vec![
                (0, b"a".to_vec(), b"1".to_vec(), NO_EXPIRE),
                (3, b"b".to_vec(), b"hello".to_vec(), 1234),
                (0, b"c".to_vec(), b"x".to_vec(), NO_EXPIRE)
            ]
        );
    }

    #[test]
    fn empty_collections_are_skipped() {
        let mut f = Vec::new();
        header(&mut f, 10);
        select_db(&mut f, 0, 3, 0);
        // A set of no members, a list of no elements, then a real key.
        f.extend_from_slice(&[super::super::ty::SET, 1, b'a', 0]);
        f.extend_from_slice(&[super::super::ty::LIST, 1, b'b', 0]);
        let mut scratch = Vec::new();
        key_value(&mut f, &mut scratch, b"c", &entry("x", NO_EXPIRE), usize::MAX, Access::None);
        let mut crc = Crc64(0);
        crc.update(&f);
        finish(&mut f, &mut crc, true);
        let (mut empty, mut keys) = (Vec::new(), Vec::new());
        parse(&f, &LoadConfig::default(), true, |it| {
            match it {
                Item::EmptyKey(k) => empty.push(k.into_owned()),
                Item::Key { key, .. } => keys.push(key.into_owned()),
                _ => {}
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(empty, vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(keys, vec![b"c".to_vec()]);
    }

    #[test]
    fn damage_is_an_error() {
        let f = file(&[(0, "a", entry("some value", NO_EXPIRE))]);
        let ok = |d: &[u8]| parse(d, &LoadConfig::default(), true, |_| Ok(())).is_ok();
        assert!(ok(&f));
        // Every truncation and every single-byte change fails (the checksum
        // catches what the structure does not), and none panics.
        for n in 0..f.len() {
            assert!(!ok(&f[..n]), "truncated at {n}");
        }
        for i in 0..f.len() - 8 {
            let mut d = f.clone();
            d[i] ^= 0x5a;
            assert!(!ok(&d), "changed byte {i}");
        }
        // A zero checksum is not checked.
        let mut d = f.clone();
        let n = d.len();
        d[n - 8..].fill(0);
        assert!(ok(&d));
        assert!(!ok(b"REDIS0013\xff"));
        assert!(!ok(b"RADIS0010\xff\0\0\0\0\0\0\0\0"));
    }
}
