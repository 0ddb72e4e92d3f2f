//! Bitmap commands over TCP: SETBIT/GETBIT, BITCOUNT, BITPOS, BITOP,
//! BITFIELD, limits and write bookkeeping.

use crate::common::*;
use std::sync::atomic::Ordering;

#[test]
fn setbit_getbit() {
    let t = TestServer::start();
    let mut r = t.raw();
    assert_eq!(r.cmd("SETBIT b 7 1"), ":0\r\n");
    assert_eq!(r.cmd("SETBIT b 7 1"), ":1\r\n");
    assert_eq!(r.cmd("GET b"), "$1\r\n\x01\r\n");
    assert_eq!(r.cmd("GETBIT b 7"), ":1\r\n");
    assert_eq!(r.cmd("GETBIT b 8"), ":0\r\n");
    assert_eq!(r.cmd("GETBIT nokey 8"), ":0\r\n");
    assert_eq!(r.cmd("SETBIT b 23 1"), ":0\r\n");
    assert_eq!(r.cmd("GET b"), "$3\r\n\x01\x00\x01\r\n");
    let off = "-ERR bit offset is not an integer or out of range\r\n";
    let bit = "-ERR bit is not an integer or out of range\r\n";
    assert_eq!(r.cmd("SETBIT b -1 1"), off);
    assert_eq!(r.cmd("SETBIT b 4294967296 1"), off);
    assert_eq!(r.cmd("GETBIT b 4294967296"), off);
    assert_eq!(r.cmd("SETBIT b 1 2"), bit);
    assert_eq!(r.cmd("SETBIT b 1 x"), bit);
    r.cmd("SET n 12");
    assert_eq!(r.cmd("GETBIT n 2"), ":1\r\n");
    assert_eq!(r.cmd("SETBIT n 6 1"), ":0\r\n");
    assert_eq!(r.cmd("GET n"), "$2\r\n32\r\n");
}

#[test]
fn writes_are_counted_only_when_something_changes() {
    let t = TestServer::start();
    let mut r = t.raw();
    r.cmd("SETBIT b 3 1");
    let d = t.srv.dirty.load(Ordering::Relaxed);
    r.cmd("SETBIT b 3 1");
    r.cmd("SETBIT b 4 0");
    assert_eq!(t.srv.dirty.load(Ordering::Relaxed), d);
    r.cmd("SETBIT b 100 0"); // grows the string: a write
    assert_eq!(t.srv.dirty.load(Ordering::Relaxed), d + 1);
    r.cmd("BITFIELD b SET u8 0 16 GET u8 0");
    assert_eq!(t.srv.dirty.load(Ordering::Relaxed), d + 1);
    r.cmd("BITFIELD b SET u8 0 1 SET u8 8 1");
    assert_eq!(t.srv.dirty.load(Ordering::Relaxed), d + 3);
}

#[test]
fn offset_limit_follows_proto_max_bulk_len() {
    let t = TestServer::with(&[("proto-max-bulk-len", "1mb")]);
    let mut r = t.raw();
    let off = "-ERR bit offset is not an integer or out of range\r\n";
    assert_eq!(r.cmd("SETBIT b 8388608 1"), off);
    assert_eq!(r.cmd("BITFIELD b SET u8 #1048576 1"), off);
    assert_eq!(r.cmd("SETBIT b 8388607 1"), ":0\r\n");
    assert_eq!(r.cmd("BITCOUNT b"), ":1\r\n");
    assert_eq!(r.cmd("BITPOS b 1"), ":8388607\r\n");
    assert_eq!(r.cmd("BITPOS b 0 -1"), ":8388600\r\n");
    // A field that ends past the limit still fits: Redis checks the start.
    assert_eq!(r.cmd("BITFIELD b SET u8 8388607 255"), "*1\r\n:128\r\n");
}

#[test]
fn bitcount_bitpos() {
    let t = TestServer::start();
    let mut c = t.client();
    let mut r = t.raw();
    let big = vec![0xffu8; 1 << 20];
    let _: () = redis::cmd("SET").arg("big").arg(&big[..]).query(&mut c).unwrap();
    assert_eq!(r.cmd("BITCOUNT big"), format!(":{}\r\n", 8 << 20));
    assert_eq!(r.cmd("BITCOUNT big 1 -2"), format!(":{}\r\n", (8 << 20) - 16));
    assert_eq!(r.cmd("BITCOUNT big 3 12 BIT"), ":10\r\n");
    assert_eq!(r.cmd("BITPOS big 0"), format!(":{}\r\n", 8 << 20));
    assert_eq!(r.cmd("BITPOS big 0 0 -1"), ":-1\r\n");
    assert_eq!(r.cmd("BITPOS big 1 5 9 BIT"), ":5\r\n");
    r.cmd("SET k foobar");
    assert_eq!(r.cmd("BITCOUNT k"), ":26\r\n");
    assert_eq!(r.cmd("BITCOUNT k 1 1"), ":6\r\n");
    assert_eq!(r.cmd("BITCOUNT k 5 30 BIT"), ":17\r\n");
    assert_eq!(r.cmd("BITCOUNT k -1 -2 nonsense"), ":0\r\n");
    assert_eq!(r.cmd("BITCOUNT k 0 1 nonsense"), "-ERR syntax error\r\n");
    assert_eq!(r.cmd("BITCOUNT k 0"), "-ERR syntax error\r\n");
    assert_eq!(r.cmd("BITCOUNT nokey 0"), ":0\r\n");
    assert_eq!(r.cmd("BITPOS k 2"), "-ERR The bit argument must be 1 or 0.\r\n");
    assert_eq!(r.cmd("BITPOS nokey 0"), ":0\r\n");
    assert_eq!(r.cmd("BITPOS nokey 1"), ":-1\r\n");
    r.cmd(r#"SET z "\xff\xf0\x00""#);
    assert_eq!(r.cmd("BITPOS z 0"), ":12\r\n");
    assert_eq!(r.cmd("BITPOS z 1 2"), ":-1\r\n");
    r.cmd(r#"SET o "\xff\xff""#);
    assert_eq!(r.cmd("BITPOS o 0"), ":16\r\n");
    assert_eq!(r.cmd("BITPOS o 0 0"), ":16\r\n");
    assert_eq!(r.cmd("BITPOS o 0 0 -1"), ":-1\r\n");
}

#[test]
fn bitop() {
    let t = TestServer::start();
    let mut r = t.raw();
    let mut c = t.client();
    let mut get = |k: &str| -> Option<Vec<u8>> { redis::cmd("GET").arg(k).query(&mut c).unwrap() };
    r.cmd(r#"SET {b}a "\xff\x0f""#);
    r.cmd(r#"SET {b}b "\x0f""#);
    assert_eq!(r.cmd("BITOP AND {b}d {b}a {b}b"), ":2\r\n");
    assert_eq!(get("{b}d"), Some(vec![0x0f, 0x00]));
    assert_eq!(r.cmd("BITOP OR {b}d {b}a {b}b"), ":2\r\n");
    assert_eq!(get("{b}d"), Some(vec![0xff, 0x0f]));
    assert_eq!(r.cmd("BITOP XOR {b}d {b}b {b}b"), ":1\r\n");
    assert_eq!(get("{b}d"), Some(vec![0x00]));
    assert_eq!(r.cmd("BITOP NOT {b}d {b}b"), ":1\r\n");
    assert_eq!(r.cmd("BITOP NOT {b}d {b}a {b}b"), "-ERR BITOP NOT must be called with a single source key.\r\n");
    assert_eq!(r.cmd("BITOP NAND {b}d {b}a"), "-ERR syntax error\r\n");
    // An empty result deletes the destination.
    assert_eq!(r.cmd("BITOP OR {b}d {b}x {b}y"), ":0\r\n");
    assert_eq!(get("{b}d"), None);
}

#[test]
fn bitfield() {
    let t = TestServer::start();
    let mut r = t.raw();
    assert_eq!(r.cmd("BITFIELD f SET i8 0 100 GET i8 0"), "*2\r\n:0\r\n:100\r\n");
    assert_eq!(r.cmd("BITFIELD f INCRBY i8 0 100"), "*1\r\n:-56\r\n");
    assert_eq!(r.cmd("BITFIELD f OVERFLOW SAT INCRBY i8 0 -100"), "*1\r\n:-128\r\n");
    assert_eq!(r.cmd("BITFIELD f OVERFLOW FAIL INCRBY i8 0 -1"), "*1\r\n$-1\r\n");
    assert_eq!(r.cmd("BITFIELD f SET u4 #1 15 GET u8 0"), "*2\r\n:0\r\n:143\r\n");
    assert_eq!(r.cmd("BITFIELD f GET i64 0"), format!("*1\r\n:{}\r\n", 0x8f00_0000_0000_0000u64 as i64));
    let ty = "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n";
    assert_eq!(r.cmd("BITFIELD f GET u64 0"), ty);
    assert_eq!(r.cmd("BITFIELD f GET i65 0"), ty);
    assert_eq!(r.cmd("BITFIELD f GET u8 -1"), "-ERR bit offset is not an integer or out of range\r\n");
    assert_eq!(r.cmd("BITFIELD f OVERFLOW NONE GET u8 0"), "-ERR Invalid OVERFLOW type specified\r\n");
    assert_eq!(r.cmd("BITFIELD f GET u8"), "-ERR syntax error\r\n");
    assert_eq!(r.cmd("BITFIELD_RO f GET u8 0"), "*1\r\n:143\r\n");
    assert_eq!(r.cmd("BITFIELD_RO f SET u8 0 1"), "-ERR BITFIELD_RO only supports the GET subcommand\r\n");
    // Reads never create the key.
    assert_eq!(r.cmd("BITFIELD nokey GET u8 0"), "*1\r\n:0\r\n");
    assert_eq!(r.cmd("GET nokey"), "$-1\r\n");
    r.cmd("HELLO 3");
    assert_eq!(r.cmd("BITFIELD f OVERFLOW FAIL INCRBY u2 0 100"), "*1\r\n_\r\n");
}
