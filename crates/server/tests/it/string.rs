//! String commands: values through redis-rs, exact errors through Raw,
//! expiry through the server's test clock.

use crate::common::*;
use redis::Commands;

#[test]
fn set_get_and_variants() {
    let t = TestServer::start();
    let mut c = t.client();
    let _: () = c.set("k", "v").unwrap();
    assert_eq!(c.get::<_, String>("k").unwrap(), "v");
    assert_eq!(c.set_nx::<_, _, i64>("k", "x").unwrap(), 0);
    assert_eq!(c.set_nx::<_, _, i64>("n", "x").unwrap(), 1);
    let old: Option<String> = redis::cmd("SET").arg("k").arg("v2").arg("GET").query(&mut c).unwrap();
    assert_eq!(old.as_deref(), Some("v"));
    let old: Option<String> = redis::cmd("SET").arg("new").arg("v").arg("NX").arg("GET").query(&mut c).unwrap();
    assert_eq!(old, None);
    assert_eq!(c.get::<_, String>("new").unwrap(), "v");
    let v: Vec<Option<String>> = c.mget(&["k", "nokey", "n"]).unwrap();
    assert_eq!(v, vec![Some("v2".into()), None, Some("x".into())]);
    let _: () = c.mset(&[("a", "1"), ("b", "2")]).unwrap();
    assert_eq!(c.mset_nx::<_, _, i64>(&[("a", "9"), ("z", "9")]).unwrap(), 0);
    assert!(!c.exists::<_, bool>("z").unwrap());
    assert_eq!(c.getset::<_, _, String>("a", "3").unwrap(), "1");
    let d: Option<String> = redis::cmd("GETDEL").arg("a").query(&mut c).unwrap();
    assert_eq!(d.as_deref(), Some("3"));
    assert!(!c.exists::<_, bool>("a").unwrap());
}

#[test]
fn errors_are_exact() {
    let t = TestServer::start();
    let mut r = t.raw();
    assert_eq!(r.cmd("SET k v NX XX"), "-ERR syntax error\r\n");
    assert_eq!(r.cmd("SET k v EX 0"), "-ERR invalid expire time in 'set' command\r\n");
    assert_eq!(r.cmd("SETEX k 0 v"), "-ERR invalid expire time in 'setex' command\r\n");
    assert_eq!(r.cmd("PSETEX k -1 v"), "-ERR invalid expire time in 'psetex' command\r\n");
    assert_eq!(r.cmd("SET k v"), "+OK\r\n");
    assert_eq!(r.cmd("GETEX k EX 0"), "-ERR invalid expire time in 'getex' command\r\n");
    assert_eq!(r.cmd("MSET a 1 b"), "-ERR wrong number of arguments for 'mset' command\r\n");
    assert_eq!(r.cmd("MSETNX a 1 b"), "-ERR wrong number of arguments for 'msetnx' command\r\n");
    assert_eq!(r.cmd("INCR k"), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(r.cmd("INCRBYFLOAT k 1"), "-ERR value is not a valid float\r\n");
    assert_eq!(r.cmd("SET f 1"), "+OK\r\n");
    assert_eq!(r.cmd("INCRBYFLOAT f inf"), "-ERR increment would produce NaN or Infinity\r\n");
    assert_eq!(r.cmd("DECRBY f -9223372036854775808"), "-ERR decrement would overflow\r\n");
    assert_eq!(r.cmd("SET f 9223372036854775807"), "+OK\r\n");
    assert_eq!(r.cmd("INCR f"), "-ERR increment or decrement would overflow\r\n");
    assert_eq!(r.cmd("SETRANGE f -1 x"), "-ERR offset is out of range\r\n");
    assert_eq!(r.cmd("LCS f k LEN IDX"), "-ERR If you want both the length and indexes, please just use IDX.\r\n");
}

#[test]
fn encodings() {
    let t = TestServer::start();
    let mut r = t.raw();
    let enc = |r: &mut Raw, k: &str| r.cmd(&format!("OBJECT ENCODING {k}"));
    r.cmd("SET i 123");
    assert_eq!(enc(&mut r, "i"), "$3\r\nint\r\n");
    r.cmd("APPEND i 4");
    assert_eq!(enc(&mut r, "i"), "$3\r\nraw\r\n");
    r.cmd("INCR i");
    assert_eq!(enc(&mut r, "i"), "$3\r\nint\r\n");
    r.cmd("INCRBYFLOAT i 1");
    assert_eq!(enc(&mut r, "i"), "$6\r\nembstr\r\n");
    r.cmd("SETRANGE s 0 abc");
    assert_eq!(enc(&mut r, "s"), "$3\r\nraw\r\n");
    assert_eq!(r.cmd("OBJECT REFCOUNT i"), ":1\r\n");
    r.cmd("SET small 7");
    assert_eq!(r.cmd("OBJECT REFCOUNT small"), ":2147483647\r\n");
}

#[test]
fn expiry_with_the_test_clock() {
    let t = TestServer::start();
    let mut c = t.client();
    // Margins of seconds: the server clock is real time plus the offset.
    let _: () = redis::cmd("SET").arg("k").arg("v").arg("PX").arg(100_000).query(&mut c).unwrap();
    let pttl: i64 = c.pttl("k").unwrap();
    assert!(pttl > 90_000 && pttl <= 100_000, "{pttl}");
    t.advance_ms(90_000);
    assert_eq!(c.get::<_, Option<String>>("k").unwrap().as_deref(), Some("v"));
    t.advance_ms(10_001);
    assert_eq!(c.get::<_, Option<String>>("k").unwrap(), None);
    assert!(!c.exists::<_, bool>("k").unwrap());

    // SETEX, then an in-place update keeps the TTL, SET clears it.
    let _: () = c.set_ex("k", "1", 10).unwrap();
    let _: i64 = c.incr("k", 5).unwrap();
    let _: i64 = c.append("k", "0").unwrap();
    let _: i64 = redis::cmd("SETRANGE").arg("k").arg(0).arg("7").query(&mut c).unwrap();
    let _: String = redis::cmd("INCRBYFLOAT").arg("k").arg("0.5").query(&mut c).unwrap();
    assert!(c.ttl::<_, i64>("k").unwrap() > 0);
    let _: () = c.set("k", "x").unwrap();
    assert_eq!(c.ttl::<_, i64>("k").unwrap(), -1);

    // GETEX sets, changes and removes TTLs.
    let v: String = redis::cmd("GETEX").arg("k").arg("PX").arg(50_000).query(&mut c).unwrap();
    assert_eq!(v, "x");
    t.advance_ms(20_000);
    let p: i64 = c.pttl("k").unwrap();
    assert!(p > 20_000 && p <= 30_000, "{p}");
    let _: String = redis::cmd("GETEX").arg("k").arg("PERSIST").query(&mut c).unwrap();
    assert_eq!(c.pttl::<_, i64>("k").unwrap(), -1);
    t.advance_ms(10_000);
    assert_eq!(c.get::<_, String>("k").unwrap(), "x");

    // SET KEEPTTL keeps it; a PXAT in the past makes the key vanish.
    let _: () = redis::cmd("SET").arg("k").arg("v").arg("EX").arg(100).query(&mut c).unwrap();
    let _: () = redis::cmd("SET").arg("k").arg("v2").arg("KEEPTTL").query(&mut c).unwrap();
    assert!((99..=100).contains(&c.ttl::<_, i64>("k").unwrap()));
    let _: () = redis::cmd("SET").arg("k").arg("v").arg("PXAT").arg(1).query(&mut c).unwrap();
    assert_eq!(c.get::<_, Option<String>>("k").unwrap(), None);
}

#[test]
fn string_limits_follow_proto_max_bulk_len() {
    let t = TestServer::with(&[("proto-max-bulk-len", "1mb")]);
    let mut r = t.raw();
    assert_eq!(r.cmd("SETRANGE k 1048575 x"), ":1048576\r\n");
    assert_eq!(r.cmd("SETRANGE k 1048576 x"), "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n");
    assert_eq!(r.cmd("APPEND k x"), "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n");
    assert_eq!(r.cmd("SETRANGE other 1048576 x"), "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n");
    assert_eq!(r.cmd("EXISTS other"), ":0\r\n");
    // LCS refuses a DP table larger than the limit.
    r.cmd("SETRANGE a 999 x");
    assert_eq!(
        r.cmd("LCS a k LEN"),
        "-ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len\r\n"
    );
}

#[test]
fn lcs_shapes() {
    let t = TestServer::start();
    let mut r = t.raw();
    r.cmd("MSET a ohmytext b mynewtext");
    assert_eq!(r.cmd("LCS a b"), "$6\r\nmytext\r\n");
    assert_eq!(r.cmd("LCS a b LEN"), ":6\r\n");
    let idx = "*4\r\n$7\r\nmatches\r\n*2\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n*3\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:6\r\n";
    assert_eq!(r.cmd("LCS a b IDX WITHMATCHLEN"), idx);
    r.cmd("HELLO 3");
    let idx3 = "%2\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n$3\r\nlen\r\n:6\r\n";
    assert_eq!(r.cmd("LCS a b IDX MINMATCHLEN 3"), idx3);
}
