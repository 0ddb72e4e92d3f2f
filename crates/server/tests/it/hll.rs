//! HyperLogLog commands over TCP: counts, encodings, caching, merges, errors.

use crate::common::*;
use std::sync::atomic::Ordering;

fn get_bytes(c: &mut redis::Connection, key: &str) -> Vec<u8> {
    redis::cmd("GET").arg(key).query(c).unwrap()
}

fn pfadd(c: &mut redis::Connection, key: &str, eles: impl IntoIterator<Item = String>) -> i64 {
    let mut cmd = redis::cmd("PFADD");
    cmd.arg(key);
    for e in eles {
        cmd.arg(e);
    }
    cmd.query(c).unwrap()
}

#[test]
fn counts_are_close_and_stable() {
    let t = TestServer::start();
    let mut c = t.client();
    assert_eq!(pfadd(&mut c, "h", (0..5000).map(|i| format!("e{i}"))), 1);
    let n: i64 = redis::cmd("PFCOUNT").arg("h").query(&mut c).unwrap();
    assert!((4900..=5100).contains(&n), "{n}");
    // Adding the same elements again changes nothing.
    assert_eq!(pfadd(&mut c, "h", (0..5000).map(|i| format!("e{i}"))), 0);
    let again: i64 = redis::cmd("PFCOUNT").arg("h").query(&mut c).unwrap();
    assert_eq!(again, n);
    let mut r = t.raw();
    assert_eq!(r.cmd("PFDEBUG ENCODING h"), "+dense\r\n");
    assert_eq!(r.cmd("PFCOUNT nokey"), ":0\r\n");
    assert_eq!(r.cmd("TYPE h"), "+string\r\n");
}

#[test]
fn new_key_layout_and_cache() {
    let t = TestServer::start();
    let mut c = t.client();
    let mut r = t.raw();
    assert_eq!(r.cmd("PFADD h"), ":1\r\n");
    assert_eq!(r.cmd("PFADD h"), ":0\r\n");
    let v = get_bytes(&mut c, "h");
    // Header, invalid cache bit set by PFADD, then one XZERO of 16384.
    assert_eq!(&v[..5], b"HYLL\x01");
    assert_eq!(v[15], 0x80);
    assert_eq!(&v[16..], &[0x7f, 0xff]);
    assert_eq!(r.cmd("PFADD h a b c"), ":1\r\n");
    let dirty = t.srv.dirty.load(Ordering::Relaxed);
    assert_eq!(r.cmd("PFCOUNT h"), ":3\r\n");
    // The count was stored in the header: a write.
    assert_eq!(t.srv.dirty.load(Ordering::Relaxed), dirty + 1);
    let v = get_bytes(&mut c, "h");
    assert_eq!(&v[8..16], &3u64.to_le_bytes());
    assert_eq!(r.cmd("PFCOUNT h"), ":3\r\n");
    assert_eq!(t.srv.dirty.load(Ordering::Relaxed), dirty + 1, "a cached count is not a write");
    assert_eq!(r.cmd("PFDEBUG DECODE h").matches("v:").count(), 3);
}

#[test]
fn sparse_limit_comes_from_config() {
    let t = TestServer::with(&[("hll-sparse-max-bytes", "40")]);
    let mut c = t.client();
    let mut r = t.raw();
    assert_eq!(r.cmd("PFADD h a"), ":1\r\n");
    assert_eq!(r.cmd("PFDEBUG ENCODING h"), "+sparse\r\n");
    pfadd(&mut c, "h", (0..20).map(|i| format!("x{i}")));
    assert_eq!(r.cmd("PFDEBUG ENCODING h"), "+dense\r\n");
    assert_eq!(get_bytes(&mut c, "h").len(), 16 + 12288);
}

#[test]
fn multi_key_count_leaves_keys_alone() {
    let t = TestServer::start();
    let mut c = t.client();
    let mut r = t.raw();
    pfadd(&mut c, "{k}a", (0..300).map(|i| format!("a{i}")));
    pfadd(&mut c, "{k}b", (0..300).map(|i| format!("b{i}")));
    let (a, b) = (get_bytes(&mut c, "{k}a"), get_bytes(&mut c, "{k}b"));
    let dirty = t.srv.dirty.load(Ordering::Relaxed);
    let n: i64 = redis::cmd("PFCOUNT").arg("{k}a").arg("{k}b").arg("{k}none").query(&mut c).unwrap();
    assert!((580..=620).contains(&n), "{n}");
    assert_eq!(get_bytes(&mut c, "{k}a"), a);
    assert_eq!(get_bytes(&mut c, "{k}b"), b);
    assert_eq!(t.srv.dirty.load(Ordering::Relaxed), dirty);
    assert_eq!(r.cmd("PFMERGE {k}u {k}a {k}b"), "+OK\r\n");
    let u: i64 = redis::cmd("PFCOUNT").arg("{k}u").query(&mut c).unwrap();
    assert_eq!(u, n);
    // The destination takes part in the union.
    pfadd(&mut c, "{k}c", (0..300).map(|i| format!("c{i}")));
    assert_eq!(r.cmd("PFMERGE {k}u {k}c"), "+OK\r\n");
    let all: i64 = redis::cmd("PFCOUNT").arg("{k}a").arg("{k}b").arg("{k}c").query(&mut c).unwrap();
    let u: i64 = redis::cmd("PFCOUNT").arg("{k}u").query(&mut c).unwrap();
    assert_eq!(u, all);
}

#[test]
fn errors() {
    let t = TestServer::start();
    let mut r = t.raw();
    let not_hll = "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n";
    r.cmd("SET s foo");
    r.cmd("SET n 42");
    assert_eq!(r.cmd("PFADD s a"), not_hll);
    assert_eq!(r.cmd("PFADD n a"), not_hll);
    assert_eq!(r.cmd("PFCOUNT s"), not_hll);
    assert_eq!(r.cmd("PFCOUNT n s"), not_hll);
    assert_eq!(r.cmd("PFMERGE d s"), not_hll);
    assert_eq!(r.cmd("PFDEBUG GETREG s"), not_hll);
    r.cmd(r#"SET bad "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xfe""#);
    let corrupt = "-INVALIDOBJ Corrupted HLL object detected\r\n";
    assert_eq!(r.cmd("PFCOUNT bad"), corrupt);
    assert_eq!(r.cmd("PFCOUNT bad s"), corrupt, "keys are checked in order");
    assert_eq!(r.cmd("PFCOUNT s bad"), not_hll);
    assert_eq!(r.cmd("PFMERGE d bad"), corrupt);
    assert_eq!(r.cmd("PFDEBUG TODENSE bad"), corrupt);
    assert_eq!(r.cmd("PFDEBUG ENCODING nokey"), "-ERR The specified key does not exist\r\n");
    r.cmd("PFADD h a");
    assert_eq!(r.cmd("PFDEBUG NOPE h"), "-ERR Unknown PFDEBUG subcommand 'NOPE'\r\n");
    r.cmd("PFDEBUG TODENSE h");
    assert_eq!(r.cmd("PFDEBUG DECODE h"), "-ERR HLL encoding is not sparse\r\n");
    assert_eq!(r.cmd("PFADD"), "-ERR wrong number of arguments for 'pfadd' command\r\n");
}

#[test]
fn debug_and_selftest() {
    let t = TestServer::start();
    let mut r = t.raw();
    r.cmd("PFADD h a b c");
    assert_eq!(r.cmd("PFDEBUG TODENSE h"), ":1\r\n");
    assert_eq!(r.cmd("PFDEBUG TODENSE h"), ":0\r\n");
    r.cmd("PFADD g x");
    let regs = r.cmd("PFDEBUG GETREG g");
    assert!(regs.starts_with("*16384\r\n"));
    assert_eq!(regs.matches(":0\r\n").count(), 16383);
    assert_eq!(r.cmd("PFDEBUG ENCODING g"), "+dense\r\n", "GETREG converts to dense");
    assert_eq!(r.cmd("PFSELFTEST"), "+OK\r\n");
}

#[test]
fn expired_key_starts_over() {
    let t = TestServer::start();
    let mut c = t.client();
    let mut r = t.raw();
    pfadd(&mut c, "h", (0..10).map(|i| i.to_string()));
    let v = get_bytes(&mut c, "h");
    let _: () = redis::cmd("SET").arg("h").arg(v).arg("EX").arg(10).query(&mut c).unwrap();
    assert_eq!(r.cmd("PFCOUNT h"), ":10\r\n");
    t.advance_ms(11_000);
    assert_eq!(r.cmd("PFCOUNT h"), ":0\r\n");
    assert_eq!(r.cmd("PFADD h z"), ":1\r\n");
    assert_eq!(r.cmd("PFCOUNT h"), ":1\r\n");
}

#[test]
fn resp3_replies() {
    let t = TestServer::start();
    let mut r = t.raw();
    r.cmd("HELLO 3");
    assert_eq!(r.cmd("PFADD h a"), ":1\r\n");
    assert_eq!(r.cmd("PFCOUNT h"), ":1\r\n");
    assert_eq!(r.cmd("PFDEBUG ENCODING h"), "+sparse\r\n");
    assert!(r.cmd("PFDEBUG DECODE h").starts_with('$'));
}
