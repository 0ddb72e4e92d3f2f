//! Hash commands: encodings and their thresholds, field expiry (lazy and
//! active, with the test clock), HGETDEL / HGETEX / HSETEX, random fields,
//! HSCAN over a hashtable.

use crate::common::*;
use std::collections::BTreeSet;
use std::time::Duration;

/// OBJECT ENCODING of a key, read from the keyspace (None if absent).
pub fn encoding(t: &TestServer, key: &str) -> Option<&'static str> {
    let mut l = t.srv.keyspace.lock_keys([key.as_bytes()]);
    l.shard_mut(key.as_bytes()).unwrap().dbs[0].get(key.as_bytes()).map(|e| e.value.encoding())
}

/// True if the key is physically present (no lazy expiry applied).
pub fn present(t: &TestServer, key: &str) -> bool {
    let mut l = t.srv.keyspace.lock_keys([key.as_bytes()]);
    l.shard_mut(key.as_bytes()).unwrap().dbs[0].get(key.as_bytes()).is_some()
}

fn q(r: &mut Raw, line: &str) -> String {
    r.cmd(line)
}

#[test]
fn encodings_follow_thresholds() {
    let t = TestServer::start();
    let mut r = t.raw();
    // Redis 7.0's built-in default is 512 (its sample redis.conf says 128).
    assert_eq!(q(&mut r, "CONFIG SET hash-max-listpack-entries 128"), "+OK\r\n");
    let fields: Vec<String> = (0..128).map(|i| format!("f{i} v")).collect();
    assert_eq!(q(&mut r, &format!("HSET h {}", fields.join(" "))), ":128\r\n");
    assert_eq!(encoding(&t, "h"), Some("listpack"));
    assert_eq!(q(&mut r, "HSET h f128 v"), ":1\r\n");
    assert_eq!(encoding(&t, "h"), Some("hashtable"));
    q(&mut r, &format!("HSET lv a {}", "x".repeat(64)));
    assert_eq!(encoding(&t, "lv"), Some("listpack"));
    q(&mut r, &format!("HSET lv b {}", "x".repeat(65)));
    assert_eq!(encoding(&t, "lv"), Some("hashtable"));
    // HINCRBYFLOAT results are checked too.
    q(&mut r, "HSET f a 1");
    q(&mut r, "HINCRBYFLOAT f a 1e80");
    assert_eq!(encoding(&t, "f"), Some("hashtable"));
    // CONFIG SET of the thresholds takes effect on the next write.
    t.srv.config.runtime_set("hash-max-listpack-entries", "2").unwrap();
    t.srv.config.runtime_set("hash-max-ziplist-value", "3").unwrap();
    q(&mut r, "HSET s a 1 b 2");
    assert_eq!(encoding(&t, "s"), Some("listpack"));
    q(&mut r, "HSET s c 3");
    assert_eq!(encoding(&t, "s"), Some("hashtable"));
    q(&mut r, "HSET s2 abcd 1");
    assert_eq!(encoding(&t, "s2"), Some("hashtable"));
    assert_eq!(q(&mut r, "HGET s2 abcd"), "$1\r\n1\r\n");
}

#[test]
fn basic_replies_and_errors() {
    let t = TestServer::start();
    let mut r = t.raw();
    assert_eq!(q(&mut r, "HSET h a 1 b 2"), ":2\r\n");
    assert_eq!(q(&mut r, "HGETALL h"), "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n");
    assert_eq!(q(&mut r, "HSET h a"), "-ERR wrong number of arguments for 'hset' command\r\n");
    assert_eq!(q(&mut r, "HMSET h a"), "-ERR wrong number of arguments for 'hmset' command\r\n");
    assert_eq!(q(&mut r, "HINCRBY h a 9223372036854775807"), "-ERR increment or decrement would overflow\r\n");
    assert_eq!(q(&mut r, "HINCRBYFLOAT h a inf"), "-ERR value is NaN or Infinity\r\n");
    assert_eq!(q(&mut r, "HINCRBYFLOAT h a x"), "-ERR value is not a valid float\r\n");
    q(&mut r, "SET s x");
    let wt = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    for c in ["HGET s a", "HSET s a 1", "HLEN s", "HGETALL s", "HTTL s FIELDS 1 a", "HGETDEL s FIELDS 1 a"] {
        assert_eq!(q(&mut r, c), wt, "{c}");
    }
    assert_eq!(q(&mut r, "HDEL h a b"), ":2\r\n");
    assert_eq!(q(&mut r, "EXISTS h"), ":0\r\n");
    q(&mut r, "HELLO 3");
    assert_eq!(q(&mut r, "HGETALL nokey"), "%0\r\n");
    q(&mut r, "HSET h a 1");
    assert_eq!(q(&mut r, "HGETALL h"), "%1\r\n$1\r\na\r\n$1\r\n1\r\n");
    assert_eq!(q(&mut r, "HRANDFIELD h 5 WITHVALUES"), "*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    assert_eq!(
        q(&mut r, "HRANDFIELD h -2 WITHVALUES"),
        "*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
}

#[test]
fn random_fields() {
    let t = TestServer::start();
    let mut c = t.client();
    let mut r = t.raw();
    let args: Vec<String> = (0..200).map(|i| format!("f{i} {i}")).collect();
    q(&mut r, &format!("HSET big {}", args.join(" ")));
    q(&mut r, "HSET small a 1 b 2 c 3 d 4");
    for key in ["big", "small"] {
        let v: Vec<String> = redis::cmd("HRANDFIELD").arg(key).arg(3).query(&mut c).unwrap();
        assert_eq!(v.iter().collect::<BTreeSet<_>>().len(), 3);
        let v: Vec<String> = redis::cmd("HRANDFIELD").arg(key).arg(-50).query(&mut c).unwrap();
        assert_eq!(v.len(), 50);
        let v: Vec<String> = redis::cmd("HRANDFIELD").arg(key).arg(-7).arg("WITHVALUES").query(&mut c).unwrap();
        assert_eq!(v.len(), 14);
        for p in v.chunks(2) {
            let want: String = redis::cmd("HGET").arg(key).arg(&p[0]).query(&mut c).unwrap();
            assert_eq!(want, p[1]);
        }
    }
    let v: Vec<String> = redis::cmd("HRANDFIELD").arg("big").arg(150).query(&mut c).unwrap();
    assert_eq!(v.iter().collect::<BTreeSet<_>>().len(), 150);
    // A huge negative count is refused rather than built in memory.
    assert_eq!(q(&mut r, "HRANDFIELD big -9223372036854775807"), "-ERR value is out of range\r\n");
    assert!(q(&mut r, "HRANDFIELD big -9223372036854775808").starts_with("-ERR value is out of range, value must"));
}

#[test]
fn hscan_walks_a_hashtable() {
    let t = TestServer::start();
    let mut c = t.client();
    let args: Vec<String> = (0..500).map(|i| format!("f{i} v{i}")).collect();
    let mut r = t.raw();
    q(&mut r, &format!("HSET h {}", args.join(" ")));
    let (mut cursor, mut seen, mut values) = (0u64, BTreeSet::new(), 0);
    loop {
        let (next, items): (u64, Vec<String>) =
            redis::cmd("HSCAN").arg("h").arg(cursor).arg("COUNT").arg(37).query(&mut c).unwrap();
        for p in items.chunks(2) {
            assert_eq!(p[1], format!("v{}", &p[0][1..]));
            seen.insert(p[0].clone());
            values += 1;
        }
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(seen.len(), 500);
    assert!(values >= 500);
    let (_, items): (u64, Vec<String>) = redis::cmd("HSCAN")
        .arg("h")
        .arg(0)
        .arg("MATCH")
        .arg("f1?")
        .arg("COUNT")
        .arg(1000)
        .arg("NOVALUES")
        .query(&mut c)
        .unwrap();
    assert_eq!(items.len(), 10);
}

#[test]
fn field_expiry_is_lazy_and_invisible() {
    let t = TestServer::start();
    let mut r = t.raw();
    q(&mut r, "HSET h a 1 b 2 c 3");
    assert_eq!(q(&mut r, "HPEXPIRE h 100 FIELDS 2 a b"), "*2\r\n:1\r\n:1\r\n");
    assert_eq!(encoding(&t, "h"), Some("listpackex"));
    assert_eq!(q(&mut r, "HTTL h FIELDS 3 a c nope"), "*3\r\n:1\r\n:-1\r\n:-2\r\n");
    assert_eq!(q(&mut r, "HTTL h FIELDS 1 a"), "*1\r\n:1\r\n");
    t.advance_ms(150);
    assert_eq!(q(&mut r, "HLEN h"), ":1\r\n");
    assert_eq!(q(&mut r, "HGET h a"), "$-1\r\n");
    assert_eq!(q(&mut r, "HGETALL h"), "*2\r\n$1\r\nc\r\n$1\r\n3\r\n");
    assert_eq!(q(&mut r, "HTTL h FIELDS 1 a"), "*1\r\n:-2\r\n");
    // HINCRBY keeps a TTL, HSET clears it.
    q(&mut r, "HSET h n 1");
    q(&mut r, "HEXPIRE h 10 FIELDS 1 n");
    q(&mut r, "HINCRBY h n 1");
    assert_eq!(q(&mut r, "HTTL h FIELDS 1 n"), "*1\r\n:10\r\n");
    q(&mut r, "HSET h n 5");
    assert_eq!(q(&mut r, "HTTL h FIELDS 1 n"), "*1\r\n:-1\r\n");
    // The last field expiring deletes the hash.
    q(&mut r, "HPEXPIRE h 10 FIELDS 2 c n");
    t.advance_ms(20);
    assert_eq!(q(&mut r, "EXISTS h"), ":0\r\n");
    assert_eq!(q(&mut r, "HSET h z 1"), ":1\r\n");
    assert_eq!(q(&mut r, "HGETALL h"), "*2\r\n$1\r\nz\r\n$1\r\n1\r\n");
}

#[test]
fn field_expiry_in_a_hashtable() {
    let t = TestServer::start();
    let mut r = t.raw();
    let args: Vec<String> = (0..200).map(|i| format!("f{i} v")).collect();
    q(&mut r, &format!("HSET h {}", args.join(" ")));
    let fields: Vec<String> = (0..150).map(|i| format!("f{i}")).collect();
    let reply = q(&mut r, &format!("HPEXPIRE h 50 FIELDS 150 {}", fields.join(" ")));
    assert_eq!(reply, format!("*150\r\n{}", ":1\r\n".repeat(150)));
    assert_eq!(q(&mut r, "HPERSIST h FIELDS 2 f0 f199"), "*2\r\n:1\r\n:-1\r\n");
    t.advance_ms(60);
    assert_eq!(q(&mut r, "HLEN h"), ":51\r\n");
    assert_eq!(q(&mut r, "HEXISTS h f0"), ":1\r\n");
    assert_eq!(q(&mut r, "HEXISTS h f1"), ":0\r\n");
}

#[test]
fn active_field_expiry_reclaims_unread_hashes() {
    let t = TestServer::start();
    let mut r = t.raw();
    q(&mut r, "HSET gone a 1 b 2");
    q(&mut r, "HPEXPIRE gone 10 FIELDS 2 a b");
    q(&mut r, "HSET part a 1 b 2");
    q(&mut r, "HPEXPIRE part 10 FIELDS 1 a");
    t.advance_ms(20);
    for _ in 0..50 {
        hematite::expire::cycle(&t.srv, 0, Duration::from_millis(100));
    }
    assert!(!present(&t, "gone"));
    let mut l = t.srv.keyspace.lock_keys([b"part".as_ref()]);
    let db = &l.shard_mut(b"part").unwrap().dbs[0];
    match &db.get(b"part".as_ref()).unwrap().value {
        hematite::storage::Value::Hash(h) => {
            assert_eq!(h.len(), 1);
            assert!(h.min_ttl().is_none());
        }
        _ => panic!("not a hash"),
    }
    assert!(db.hexpires.is_empty());
}

#[test]
fn hexpire_codes_and_errors() {
    let t = TestServer::start();
    let mut r = t.raw();
    q(&mut r, "HSET h a 1 b 2");
    assert_eq!(q(&mut r, "HEXPIRE h 100 XX FIELDS 1 a"), "*1\r\n:0\r\n");
    assert_eq!(q(&mut r, "HEXPIRE h 100 NX FIELDS 2 a nope"), "*2\r\n:1\r\n:-2\r\n");
    assert_eq!(q(&mut r, "HEXPIRE h 50 GT FIELDS 1 a"), "*1\r\n:0\r\n");
    assert_eq!(q(&mut r, "HEXPIRE h 50 LT FIELDS 1 a"), "*1\r\n:1\r\n");
    assert_eq!(q(&mut r, "HEXPIRE h 0 FIELDS 1 a"), "*1\r\n:2\r\n");
    assert_eq!(q(&mut r, "HEXPIRE h -1 FIELDS 1 b"), "-ERR invalid expire time, must be >= 0\r\n");
    assert_eq!(q(&mut r, "HEXPIRE h 70368744177664 FIELDS 1 b"), "-ERR invalid expire time in 'hexpire' command\r\n");
    assert_eq!(
        q(&mut r, "HEXPIRE h 1 FIELDS 2 b"),
        "-ERR The `numfields` parameter must match the number of arguments\r\n"
    );
    assert_eq!(q(&mut r, "HEXPIRE h 1 FIELDS 0 b"), "-ERR Parameter `numFields` should be greater than 0\r\n");
    assert_eq!(q(&mut r, "HTTL h FIELDS 0 b"), "-ERR Number of fields must be a positive integer\r\n");
    assert_eq!(
        q(&mut r, "HPERSIST h FOO 1 b"),
        "-ERR Mandatory argument FIELDS is missing or not at the right position\r\n"
    );
    assert_eq!(q(&mut r, "HEXPIRE h 0 FIELDS 1 b"), "*1\r\n:2\r\n");
    assert_eq!(q(&mut r, "EXISTS h"), ":0\r\n");
}

#[test]
fn hgetdel() {
    let t = TestServer::start();
    let mut r = t.raw();
    q(&mut r, "HSET h a 1 b 2 c 3");
    assert_eq!(q(&mut r, "HGETDEL h FIELDS 2 a nope"), "*2\r\n$1\r\n1\r\n$-1\r\n");
    assert_eq!(q(&mut r, "HGETALL h"), "*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n");
    assert_eq!(q(&mut r, "HGETDEL h FIELDS 2 b c"), "*2\r\n$1\r\n2\r\n$1\r\n3\r\n");
    assert_eq!(q(&mut r, "EXISTS h"), ":0\r\n");
    assert_eq!(q(&mut r, "HGETDEL h FIELDS 1 a"), "*1\r\n$-1\r\n");
    assert_eq!(
        q(&mut r, "HGETDEL h FIELDS 2 a"),
        "-ERR The `numfields` parameter must match the number of arguments\r\n"
    );
    assert_eq!(q(&mut r, "HGETDEL h FIELDS x a"), "-ERR Number of fields must be a positive integer\r\n");
    assert_eq!(
        q(&mut r, "HGETDEL h FIELD 1 a"),
        "-ERR Mandatory argument FIELDS is missing or not at the right position\r\n"
    );
}

#[test]
fn hgetex() {
    let t = TestServer::start();
    let mut r = t.raw();
    q(&mut r, "HSET h a 1 b 2 c 3");
    assert_eq!(q(&mut r, "HGETEX h FIELDS 2 a nope"), "*2\r\n$1\r\n1\r\n$-1\r\n");
    assert_eq!(q(&mut r, "HTTL h FIELDS 1 a"), "*1\r\n:-1\r\n");
    assert_eq!(q(&mut r, "HGETEX h EX 100 FIELDS 1 a"), "*1\r\n$1\r\n1\r\n");
    assert_eq!(q(&mut r, "HTTL h FIELDS 1 a"), "*1\r\n:100\r\n");
    assert_eq!(q(&mut r, "HGETEX h PX 5000 FIELDS 1 b"), "*1\r\n$1\r\n2\r\n");
    assert_eq!(q(&mut r, "HTTL h FIELDS 1 b"), "*1\r\n:5\r\n");
    assert_eq!(q(&mut r, "HGETEX h PXAT 4102444800000 FIELDS 1 c"), "*1\r\n$1\r\n3\r\n");
    assert_eq!(q(&mut r, "HPEXPIRETIME h FIELDS 1 c"), "*1\r\n:4102444800000\r\n");
    assert_eq!(q(&mut r, "HGETEX h EXAT 4102444900 FIELDS 1 c"), "*1\r\n$1\r\n3\r\n");
    assert_eq!(q(&mut r, "HEXPIRETIME h FIELDS 1 c"), "*1\r\n:4102444900\r\n");
    assert_eq!(q(&mut r, "HGETEX h PERSIST FIELDS 2 a c"), "*2\r\n$1\r\n1\r\n$1\r\n3\r\n");
    assert_eq!(q(&mut r, "HTTL h FIELDS 2 a c"), "*2\r\n:-1\r\n:-1\r\n");
    // EX 0 returns the value and deletes the field.
    assert_eq!(q(&mut r, "HGETEX h EX 0 FIELDS 1 a"), "*1\r\n$1\r\n1\r\n");
    assert_eq!(q(&mut r, "HEXISTS h a"), ":0\r\n");
    assert_eq!(q(&mut r, "HGETEX h PX 0 FIELDS 2 b c"), "*2\r\n$1\r\n2\r\n$1\r\n3\r\n");
    assert_eq!(q(&mut r, "EXISTS h"), ":0\r\n");
    assert_eq!(q(&mut r, "HGETEX h EX 10 FIELDS 1 a"), "*1\r\n$-1\r\n");
    assert_eq!(q(&mut r, "HGETEX h EX -1 FIELDS 1 a"), "-ERR invalid expire time, must be >= 0\r\n");
    assert_eq!(q(&mut r, "HGETEX h EX x FIELDS 1 a"), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(
        q(&mut r, "HGETEX h EX 1 PX 1 FIELDS 1 a"),
        "-ERR Mandatory argument FIELDS is missing or not at the right position\r\n"
    );
    assert_eq!(
        q(&mut r, "HGETEX h FIELDS 2 a"),
        "-ERR The `numfields` parameter must match the number of arguments\r\n"
    );
    // Expiry set by HGETEX is honoured by the clock.
    q(&mut r, "HSET h a 1 b 2");
    q(&mut r, "HGETEX h PX 10 FIELDS 1 a");
    t.advance_ms(20);
    assert_eq!(q(&mut r, "HGETALL h"), "*2\r\n$1\r\nb\r\n$1\r\n2\r\n");
}

#[test]
fn hsetex() {
    let t = TestServer::start();
    let mut r = t.raw();
    assert_eq!(q(&mut r, "HSETEX h FIELDS 2 a 1 b 2"), ":1\r\n");
    assert_eq!(q(&mut r, "HGETALL h"), "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n");
    assert_eq!(q(&mut r, "HSETEX h FNX FIELDS 2 a 9 c 3"), ":0\r\n");
    assert_eq!(q(&mut r, "HSETEX h FXX FIELDS 2 a 9 c 3"), ":0\r\n");
    assert_eq!(q(&mut r, "HSETEX nokey FXX FIELDS 1 a 1"), ":0\r\n");
    assert_eq!(q(&mut r, "EXISTS nokey"), ":0\r\n");
    assert_eq!(q(&mut r, "HSETEX h FXX EX 100 FIELDS 2 a 9 b 8"), ":1\r\n");
    assert_eq!(q(&mut r, "HTTL h FIELDS 2 a b"), "*2\r\n:100\r\n:100\r\n");
    assert_eq!(q(&mut r, "HSETEX h KEEPTTL FIELDS 1 a 7"), ":1\r\n");
    assert_eq!(q(&mut r, "HTTL h FIELDS 1 a"), "*1\r\n:100\r\n");
    assert_eq!(q(&mut r, "HSETEX h FIELDS 1 a 6"), ":1\r\n");
    assert_eq!(q(&mut r, "HTTL h FIELDS 1 a"), "*1\r\n:-1\r\n");
    assert_eq!(q(&mut r, "HSETEX h FNX PX 50 FIELDS 1 c 3"), ":1\r\n");
    assert_eq!(q(&mut r, "HTTL h FIELDS 1 c"), "*1\r\n:1\r\n");
    assert_eq!(q(&mut r, "HSETEX h PXAT 4102444800000 FIELDS 1 d 4"), ":1\r\n");
    assert_eq!(q(&mut r, "HPEXPIRETIME h FIELDS 1 d"), "*1\r\n:4102444800000\r\n");
    assert_eq!(q(&mut r, "HSETEX h EXAT 1 FIELDS 1 d 5"), ":1\r\n");
    assert_eq!(q(&mut r, "HEXISTS h d"), ":0\r\n");
    t.advance_ms(60);
    assert_eq!(q(&mut r, "HEXISTS h c"), ":0\r\n");
    assert_eq!(q(&mut r, "HSETEX e EX 0 FIELDS 1 a 1"), ":1\r\n");
    assert_eq!(q(&mut r, "EXISTS e"), ":0\r\n");
    // Errors, in Redis 8's words.
    let arity = "-ERR wrong number of arguments for 'hsetex' command\r\n";
    assert_eq!(q(&mut r, "HSETEX h FIELDS 2 a 1"), arity);
    assert_eq!(q(&mut r, "HSETEX h FIELDS 1 a 1 b"), arity);
    assert_eq!(q(&mut r, "HSETEX h EX 1 FIELDS 1 a"), arity);
    assert_eq!(q(&mut r, "HSETEX h FIELDS 0 a 1"), "-ERR invalid number of fields\r\n");
    assert_eq!(
        q(&mut r, "HSETEX h FNX FXX FIELDS 1 a 1"),
        "-ERR Only one of FXX or FNX arguments can be specified\r\n"
    );
    assert_eq!(
        q(&mut r, "HSETEX h EX 1 KEEPTTL FIELDS 1 a 1"),
        "-ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified\r\n"
    );
    assert_eq!(q(&mut r, "HSETEX h BOGUS FIELDS 1 a 1"), "-ERR unknown argument: BOGUS\r\n");
    assert_eq!(q(&mut r, "HSETEX h EX -5 FIELDS 1 a 1"), "-ERR invalid expire time, must be >= 0\r\n");
    q(&mut r, "SET s x");
    assert_eq!(
        q(&mut r, "HSETEX s FIELDS 1 a 1"),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
}
