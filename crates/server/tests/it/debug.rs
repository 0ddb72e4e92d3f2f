//! DEBUG: digests, POPULATE, OBJECT's fields, PAUSE-CRON, CHANGE-REPL-ID,
//! QUICKLIST-PACKED-THRESHOLD, ERROR, LOG, HELP. Byte-for-byte comparisons
//! with Redis are in tests/diff/120_debug_digest.redis.

use crate::common::*;
use std::sync::atomic::Ordering;

const ZERO: &str = "+0000000000000000000000000000000000000000\r\n";

fn server() -> (TestServer, Raw) {
    let t = TestServer::with(&[("enable-debug-command", "yes")]);
    let r = t.raw();
    (t, r)
}

/// The fields of a DEBUG OBJECT status line.
fn object_fields(r: &mut Raw, key: &str) -> std::collections::HashMap<String, String> {
    let line = r.cmd(&format!("DEBUG OBJECT {key}"));
    let body = line.strip_prefix("+Value at:").unwrap_or_else(|| panic!("{line}")).trim_end();
    let mut m: std::collections::HashMap<String, String> =
        body.split(' ').skip(1).filter_map(|f| f.split_once(':')).map(|(k, v)| (k.into(), v.into())).collect();
    m.insert("at".into(), body.split(' ').next().unwrap().into());
    m
}

#[test]
fn digests() {
    let (t, mut r) = server();
    assert_eq!(r.cmd("DEBUG DIGEST"), ZERO);
    r.cmd("SET s hello");
    // Reference values from redis-server 7.0.15.
    assert_eq!(r.cmd("DEBUG DIGEST"), "+a500c6b54937da22f2ac1167da1da852479c7339\r\n");
    assert_eq!(r.cmd("DEBUG DIGEST-VALUE s"), "*1\r\n+36b23a1456b2dce2c3ed252c456761301dba8060\r\n");
    r.cmd("RPUSH l a b c");
    r.cmd("SADD st 1 2 x");
    r.cmd("ZADD z 1.5 a -0 b");
    r.cmd("HSET h f v");
    assert_eq!(
        r.cmd("DEBUG DIGEST-VALUE l st z h nokey"),
        "*5\r\n+8bf72d812571eea9b927f3c11beb0c4165a6ff89\r\n+4c6eef6b7853d1b76391c849d71b0d35d3faf18f\r\n\
         +36f6fc3c70faf89e0fec053b90258ab21d13116c\r\n+90c76e9e9f4c62d642a34fc97c7dad503b51f906\r\n\
         +0000000000000000000000000000000000000000\r\n"
    );
    assert_eq!(r.cmd("DEBUG DIGEST"), "+4a929bbd2b0fcf391ffbf56aea38430d07f4e3a8\r\n");
    assert_eq!(r.cmd("DEBUG DIGEST-VALUE"), "*0\r\n");
    // Member order does not matter for sets and hashes; it does for lists.
    r.cmd("FLUSHALL");
    r.cmd("SADD a x y z");
    r.cmd("HSET b f v g w");
    r.cmd("RPUSH c 1 2");
    let d1 = r.cmd("DEBUG DIGEST");
    r.cmd("FLUSHALL");
    r.cmd("RPUSH c 1 2");
    r.cmd("HSET b g w f v");
    r.cmd("SADD a z y x");
    assert_eq!(r.cmd("DEBUG DIGEST"), d1);
    r.cmd("DEL c");
    r.cmd("RPUSH c 2 1");
    assert_ne!(r.cmd("DEBUG DIGEST"), d1);
    // The database matters; a TTL is part of a value's digest.
    r.cmd("FLUSHALL");
    r.cmd("SET k v");
    let db0 = r.cmd("DEBUG DIGEST");
    r.cmd("MOVE k 1");
    assert_ne!(r.cmd("DEBUG DIGEST"), db0);
    r.cmd("SELECT 1");
    let plain = r.cmd("DEBUG DIGEST-VALUE k");
    r.cmd("EXPIRE k 100");
    let with_ttl = r.cmd("DEBUG DIGEST-VALUE k");
    assert_ne!(plain, with_ttl);
    // A logically expired key still digests (no expiry check), as in Redis.
    r.cmd("DEBUG SET-ACTIVE-EXPIRE 0");
    t.advance_ms(200_000);
    assert_eq!(r.cmd("DEBUG DIGEST-VALUE k"), with_ttl);
    r.cmd("DEBUG SET-ACTIVE-EXPIRE 1");
    // In RESP3 too, and inside a transaction.
    r.cmd("HELLO 3");
    assert_eq!(r.cmd("DEBUG DIGEST-VALUE k"), with_ttl);
    r.cmd("MULTI");
    r.cmd("DEBUG DIGEST");
    let exec = r.cmd("EXEC");
    assert!(exec.starts_with("*1\r\n+") && exec.len() == 4 + 43, "{exec}");
}

#[test]
fn populate() {
    let (_t, mut r) = server();
    assert_eq!(r.cmd("DEBUG POPULATE 3"), "+OK\r\n");
    assert_eq!(r.cmd("DBSIZE"), ":3\r\n");
    assert_eq!(r.cmd("GET key:2"), "$7\r\nvalue:2\r\n");
    assert_eq!(r.cmd("OBJECT ENCODING key:2"), "$6\r\nembstr\r\n");
    // Existing keys are kept.
    r.cmd("SET key:1 mine");
    r.cmd("DEBUG POPULATE 5");
    assert_eq!(r.cmd("GET key:1"), "$4\r\nmine\r\n");
    assert_eq!(r.cmd("DBSIZE"), ":5\r\n");
    // Prefix and size: zero padded or cut.
    r.cmd("DEBUG POPULATE 2 p 10");
    assert_eq!(r.cmd("GET p:1").as_bytes(), b"$10\r\nvalue:1\0\0\0\r\n");
    r.cmd("DEBUG POPULATE 2 q 3");
    assert_eq!(r.cmd("GET q:0"), "$3\r\nval\r\n");
    // A size no string may have is refused, not allocated.
    assert_eq!(
        r.cmd("DEBUG POPULATE 1 huge 4611686018427387904"),
        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"
    );
    assert_eq!(r.cmd("EXISTS huge:0"), ":0\r\n");
    r.cmd("DEBUG POPULATE 1 big 100");
    assert_eq!(r.cmd("OBJECT ENCODING big:0"), "$3\r\nraw\r\n");
    // The current database only.
    r.cmd("SELECT 2");
    r.cmd("DEBUG POPULATE 2");
    assert_eq!(r.cmd("DBSIZE"), ":2\r\n");
    // A watched key that POPULATE creates aborts the transaction.
    let mut w = _t.raw();
    w.cmd("SELECT 2");
    w.cmd("WATCH key:7");
    w.cmd("MULTI");
    w.cmd("PING");
    r.cmd("DEBUG POPULATE 8");
    assert_eq!(w.cmd("EXEC"), "*-1\r\n");
    for bad in ["DEBUG POPULATE -1", "DEBUG POPULATE x", "DEBUG POPULATE 1 p -5"] {
        assert_eq!(r.cmd(bad), "-ERR value is out of range, must be positive\r\n", "{bad}");
    }
    assert_eq!(
        r.cmd("DEBUG POPULATE 1 p 1 x"),
        "-ERR unknown subcommand or wrong number of arguments for 'POPULATE'. Try DEBUG HELP.\r\n"
    );
}

#[test]
fn object() {
    let (t, mut r) = server();
    assert_eq!(r.cmd("DEBUG OBJECT nokey"), "-ERR no such key\r\n");
    r.cmd("SET s hello");
    let f = object_fields(&mut r, "s");
    assert!(f["at"].starts_with("0x"));
    assert_eq!((f["refcount"].as_str(), f["encoding"].as_str()), ("1", "embstr"));
    // serializedlength is the RDB object's length: DUMP less type byte and trailer.
    assert_eq!(f["serializedlength"], "6");
    r.cmd("SET n 42");
    assert_eq!(object_fields(&mut r, "n")["refcount"], "2147483647");
    r.cmd("RPUSH l a b c 1 2 3");
    let f = object_fields(&mut r, "l");
    assert_eq!(f["encoding"], "quicklist");
    assert_eq!(f["serializedlength"], "25");
    assert_eq!((f["ql_nodes"].as_str(), f["ql_avg_node"].as_str()), ("1", "6.00"));
    assert_eq!((f["ql_listpack_max"].as_str(), f["ql_compressed"].as_str()), ("-2", "0"));
    assert_eq!(f["ql_uncompressed_size"], "22");
    for (key, len) in [("s", 6usize), ("l", 25)] {
        let dump = r.cmd_bytes(&format!("DUMP {key}"));
        let payload = dump.len() - format!("${}\r\n\r\n", dump.len()).len();
        let ser: usize = object_fields(&mut r, key)["serializedlength"].parse().unwrap();
        assert!(payload.abs_diff(ser + 11) <= 1 && ser == len, "{key}: {payload} vs {ser}");
    }
    // Idle time follows the clock; OBJECT reads it without touching it.
    t.advance_ms(5000);
    assert_eq!(object_fields(&mut r, "s")["lru_seconds_idle"], "5");
    assert_eq!(object_fields(&mut r, "s")["lru_seconds_idle"], "5");
    r.cmd("GET s");
    assert_eq!(object_fields(&mut r, "s")["lru_seconds_idle"], "0");
    // A bigger list over several nodes, with compression on.
    r.cmd("CONFIG SET list-compress-depth 1");
    let args: Vec<String> = (0..1000).map(|i| format!("element:{i}")).collect();
    r.cmd(&format!("RPUSH big {}", args.join(" ")));
    let f = object_fields(&mut r, "big");
    assert!(f["ql_nodes"].parse::<usize>().unwrap() > 1);
    assert_eq!(f["ql_compressed"], "1");
    assert_eq!(
        r.cmd("DEBUG OBJECT"),
        "-ERR unknown subcommand or wrong number of arguments for 'OBJECT'. Try DEBUG HELP.\r\n"
    );
}

#[test]
fn quicklist_packed_threshold() {
    let (_t, mut r) = server();
    r.cmd("RPUSH l aaaa bbbb cc");
    assert_eq!(object_fields(&mut r, "l")["ql_nodes"], "1");
    assert_eq!(r.cmd("DEBUG QUICKLIST-PACKED-THRESHOLD 4b"), "+OK\r\n");
    // Elements of 4 bytes or more get plain nodes of their own.
    assert_eq!(object_fields(&mut r, "l")["ql_nodes"], "3");
    let dump = r.cmd_bytes("DUMP l");
    r.cmd("DEL l");
    assert_eq!(r.cmd("DEBUG QUICKLIST-PACKED-THRESHOLD 0"), "+OK\r\n");
    let err = "-ERR argument must be a memory value bigger than 1 and smaller than 4gb\r\n";
    assert_eq!(r.cmd("DEBUG QUICKLIST-PACKED-THRESHOLD 5gb"), err);
    assert_eq!(r.cmd("DEBUG QUICKLIST-PACKED-THRESHOLD x"), err);
    // The plain nodes' payload restores to the same list.
    let mut raw = vec![b"RESTORE".to_vec(), b"l".to_vec(), b"0".to_vec()];
    let body = &dump[dump.iter().position(|&b| b == b'\n').unwrap() + 1..dump.len() - 2];
    raw.push(body.to_vec());
    let refs: Vec<&[u8]> = raw.iter().map(|a| a.as_slice()).collect();
    r.send_cmd(&refs);
    assert_eq!(r.read_reply(), b"+OK\r\n");
    assert_eq!(r.cmd("LRANGE l 0 -1"), "*3\r\n$4\r\naaaa\r\n$4\r\nbbbb\r\n$2\r\ncc\r\n");
}

#[test]
fn pause_cron_and_misc() {
    let (t, mut r) = server();
    assert_eq!(r.cmd("DEBUG PAUSE-CRON 1"), "+OK\r\n");
    assert!(t.srv.cron_paused.load(Ordering::Relaxed));
    r.cmd("SET k v PX 10");
    t.advance_ms(100);
    // Active expiry does not run while the cron is paused.
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(r.cmd("DBSIZE"), ":1\r\n");
    assert_eq!(r.cmd("DEBUG PAUSE-CRON 0"), "+OK\r\n");
    wait_for(|| r.cmd("DBSIZE") == ":0\r\n");
    // CHANGE-REPL-ID draws a new master_replid.
    let before = r.info_field("replication", "master_replid");
    assert_eq!(r.cmd("DEBUG CHANGE-REPL-ID"), "+OK\r\n");
    let after = r.info_field("replication", "master_replid");
    assert!(before != after && after.len() == 40 && after.bytes().all(|b| b.is_ascii_hexdigit()));
    // ERROR: the text as the whole error line, not counted as an error reply.
    assert_eq!(r.cmd("DEBUG ERROR \"FOO bar\\nbaz\""), "-FOO bar baz\r\n");
    assert!(!r.cmd("INFO errorstats").contains("errorstat_FOO"));
    assert_eq!(r.cmd("DEBUG LOG \"a message\""), "+OK\r\n");
    assert_eq!(r.cmd("DEBUG STRINGMATCH-TEST"), "+Apparently Redis did not crash: test passed\r\n");
    r.cmd("RPUSH l a");
    r.cmd("SET s x");
    assert_eq!(r.cmd("DEBUG QUICKLIST l 1"), "+Quicklist structure printed on stdout\r\n");
    assert_eq!(r.cmd("DEBUG QUICKLIST s"), "-ERR Not a quicklist encoded object.\r\n");
    assert_eq!(r.cmd("DEBUG QUICKLIST nokey"), "-ERR no such key\r\n");
}

#[test]
fn help_lists_what_exists() {
    let (_t, mut r) = server();
    let help = r.cmd("DEBUG HELP");
    let names: Vec<String> = help
        .split("\r\n")
        .filter_map(|l| l.strip_prefix('+'))
        .filter(|l| !l.starts_with(' ') && !l.starts_with("DEBUG <subcommand>"))
        .map(|l| l.split(' ').next().unwrap().to_string())
        .collect();
    assert!(names.contains(&"DIGEST".to_string()) && names.contains(&"POPULATE".to_string()));
    assert!(names.contains(&"RELOAD".to_string()) && names.contains(&"LOADAOF".to_string()));
    for gone in ["HTSTATS", "REPLYBUFFER", "SEGFAULT", "JMAP"] {
        assert!(!names.iter().any(|n| n == gone), "{gone} listed");
        assert!(r.cmd(&format!("DEBUG {gone}")).starts_with("-ERR unknown subcommand"), "{gone}");
    }
    // Every listed subcommand is known (a wrong argument count at worst).
    for n in names.iter().filter(|n| *n != "HELP" && *n != "SLEEP") {
        let reply = r.cmd(&format!("DEBUG {n} x y z w v"));
        assert!(reply.contains(&format!("'{n}'")) || !reply.starts_with("-ERR unknown"), "{n}: {reply}");
    }
}

/// DEBUG SET-SKIP-CHECKSUM-VALIDATION: RESTORE accepts a payload whose
/// CRC64 is wrong (its version is still checked), until it is turned off.
#[test]
fn skip_checksum_validation() {
    let (_t, mut r) = server();
    r.cmd("SET k hello");
    let mut dump = r.cmd_bytes("DUMP k");
    // "$n\r\n<payload>\r\n": damage the last CRC byte.
    let n = dump.len();
    dump[n - 3] ^= 0xff;
    let payload = &dump[dump.iter().position(|&b| b == b'\n').unwrap() + 1..n - 2];
    let restore = |r: &mut Raw, key: &[u8]| {
        r.send_cmd(&[b"RESTORE", key, b"0", payload]);
        String::from_utf8(r.read_reply()).unwrap()
    };
    assert_eq!(restore(&mut r, b"a"), "-ERR DUMP payload version or checksum are wrong\r\n");
    assert_eq!(r.cmd("DEBUG SET-SKIP-CHECKSUM-VALIDATION 1"), "+OK\r\n");
    assert_eq!(restore(&mut r, b"a"), "+OK\r\n");
    assert_eq!(r.cmd("GET a"), "$5\r\nhello\r\n");
    assert_eq!(r.cmd("DEBUG SET-SKIP-CHECKSUM-VALIDATION 0"), "+OK\r\n");
    assert_eq!(restore(&mut r, b"b"), "-ERR DUMP payload version or checksum are wrong\r\n");
}
