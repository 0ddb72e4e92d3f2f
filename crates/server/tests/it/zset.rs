//! Sorted sets over the wire: every command, encodings, big sets, RESP3.

use crate::common::*;
use std::collections::{BTreeMap, HashSet};

/// The OBJECT ENCODING of `key` in db 0, read from the keyspace directly.
pub fn encoding_of(t: &TestServer, key: &str) -> Option<&'static str> {
    let mut l = t.srv.keyspace.lock_keys([key.as_bytes()]);
    let shard = l.shard_mut(key.as_bytes()).unwrap();
    shard.dbs[0].get(key.as_bytes()).map(|e| e.value.encoding())
}

fn zrange_ws(c: &mut redis::Connection, key: &str) -> Vec<(String, f64)> {
    redis::cmd("ZRANGE").arg(key).arg(0).arg(-1).arg("WITHSCORES").query(c).unwrap()
}

#[test]
fn zadd_options_and_replies() {
    let t = TestServer::start();
    let mut r = t.raw();
    assert_eq!(r.cmd("ZADD z 1 a 2 b"), ":2\r\n");
    assert_eq!(r.cmd("ZADD z CH 5 a 2 b 3 c"), ":2\r\n");
    assert_eq!(r.cmd("ZADD z NX 9 a 4 d"), ":1\r\n");
    assert_eq!(r.cmd("ZADD z XX 9 a 4 e"), ":0\r\n");
    assert_eq!(r.cmd("ZADD z GT CH 1 a 10 a"), ":1\r\n");
    assert_eq!(r.cmd("ZSCORE z a"), "$2\r\n10\r\n");
    assert_eq!(r.cmd("ZADD z INCR 0.5 a"), "$4\r\n10.5\r\n");
    assert_eq!(r.cmd("ZADD z INCR NX 1 a"), "$-1\r\n");
    assert_eq!(r.cmd("ZADD z NX XX 1 a"), "-ERR XX and NX options at the same time are not compatible\r\n");
    assert_eq!(r.cmd("ZADD z GT LT 1 a"), "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n");
    assert_eq!(r.cmd("ZADD z INCR 1 a 2 b"), "-ERR INCR option supports a single increment-element pair\r\n");
    assert_eq!(r.cmd("ZADD z 1 a 2"), "-ERR syntax error\r\n");
    assert_eq!(r.cmd("ZADD z nan a"), "-ERR value is not a valid float\r\n");
    assert_eq!(r.cmd("ZADD z +inf a"), ":0\r\n");
    assert_eq!(r.cmd("ZINCRBY z -inf a"), "-ERR resulting score is not a number (NaN)\r\n");
    assert_eq!(r.cmd("ZSCORE z a"), "$3\r\ninf\r\n");
    assert_eq!(r.cmd("ZCARD z"), ":4\r\n");
    assert_eq!(r.cmd("ZRANK z a"), ":3\r\n");
    assert_eq!(r.cmd("ZREVRANK z a"), ":0\r\n");
    assert_eq!(r.cmd("ZRANK z zz"), "$-1\r\n");
    assert_eq!(r.cmd("ZRANK z a WITHSCORE"), "-ERR wrong number of arguments for 'zrank' command\r\n");
    assert_eq!(r.cmd("ZMSCORE z b zz"), "*2\r\n$1\r\n2\r\n$-1\r\n");
    assert_eq!(r.cmd("SET s x"), "+OK\r\n");
    assert_eq!(r.cmd("ZADD s 1 a"), "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    assert_eq!(r.cmd("ZREM z a b c d"), ":4\r\n");
    assert_eq!(r.cmd("EXISTS z"), ":0\r\n");
}

#[test]
fn resp3_doubles_and_pairs() {
    let t = TestServer::start();
    let mut r = t.raw();
    r.cmd("HELLO 3");
    assert_eq!(r.cmd("ZADD z 1.5 a 2 b"), ":2\r\n");
    assert_eq!(r.cmd("ZSCORE z a"), ",1.5\r\n");
    assert_eq!(r.cmd("ZRANGE z 0 -1 WITHSCORES"), "*2\r\n*2\r\n$1\r\na\r\n,1.5\r\n*2\r\n$1\r\nb\r\n,2\r\n");
    assert_eq!(r.cmd("ZPOPMIN z"), "*2\r\n$1\r\na\r\n,1.5\r\n");
    assert_eq!(r.cmd("ZPOPMIN z 1"), "*1\r\n*2\r\n$1\r\nb\r\n,2\r\n");
    assert_eq!(r.cmd("ZMPOP 1 z MIN"), "_\r\n");
    assert_eq!(r.cmd("ZSCORE z a"), "_\r\n");
}

#[test]
fn encodings_follow_the_thresholds() {
    let t = TestServer::with(&[("zset-max-listpack-entries", "4"), ("zset-max-listpack-value", "8")]);
    let mut r = t.raw();
    r.cmd("ZADD z 1 a 2 b 3 c 4 d");
    assert_eq!(encoding_of(&t, "z"), Some("listpack"));
    r.cmd("ZADD z 5 e");
    assert_eq!(encoding_of(&t, "z"), Some("skiplist"));
    r.cmd("ZREM z e");
    assert_eq!(encoding_of(&t, "z"), Some("skiplist"), "never converts back by itself");
    r.cmd("ZADD w 1 123456789");
    assert_eq!(encoding_of(&t, "w"), Some("skiplist"));
    // Store commands shrink small results.
    r.cmd("ZUNIONSTORE u 1 z");
    assert_eq!(encoding_of(&t, "u"), Some("listpack"));
    r.cmd("ZRANGESTORE rs z 0 -1");
    assert_eq!(encoding_of(&t, "rs"), Some("listpack"));
    r.cmd("ZADD z 5 e 6 f");
    r.cmd("ZRANGESTORE rs z 0 -1");
    assert_eq!(encoding_of(&t, "rs"), Some("skiplist"));
    r.cmd("ZRANGESTORE rs z -inf +inf BYSCORE");
    assert_eq!(encoding_of(&t, "rs"), Some("skiplist"));
}

#[test]
fn big_set_matches_a_model() {
    let t = TestServer::start();
    let mut c = t.client();
    let mut model: BTreeMap<String, f64> = BTreeMap::new();
    let mut seed = 12345u64;
    let mut next = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 33) as i64
    };
    for _ in 0..3000 {
        let m = format!("m{}", next() % 1000);
        let s = (next() % 200 - 100) as f64 / 4.0;
        let _: i64 = redis::cmd("ZADD").arg("z").arg(s).arg(&m).query(&mut c).unwrap();
        model.insert(m, s);
        if next() % 5 == 0 {
            let m = format!("m{}", next() % 1000);
            let _: i64 = redis::cmd("ZREM").arg("z").arg(&m).query(&mut c).unwrap();
            model.remove(&m);
        }
    }
    let mut want: Vec<(String, f64)> = model.iter().map(|(m, s)| (m.clone(), *s)).collect();
    want.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap().then(a.0.cmp(&b.0)));
    assert_eq!(zrange_ws(&mut c, "z"), want);
    for i in (0..want.len()).step_by(37) {
        let r: i64 = redis::cmd("ZRANK").arg("z").arg(&want[i].0).query(&mut c).unwrap();
        assert_eq!(r as usize, i);
    }
    let n: usize = redis::cmd("ZCOUNT").arg("z").arg("(-10").arg(10).query(&mut c).unwrap();
    assert_eq!(n, want.iter().filter(|(_, s)| *s > -10.0 && *s <= 10.0).count());
    let got: Vec<String> =
        redis::cmd("ZREVRANGEBYSCORE").arg("z").arg(5).arg(-5).arg("LIMIT").arg(3).arg(10).query(&mut c).unwrap();
    let exp: Vec<String> =
        want.iter().rev().filter(|(_, s)| (-5.0..=5.0).contains(s)).skip(3).take(10).map(|(m, _)| m.clone()).collect();
    assert_eq!(got, exp);
    // ZSCAN visits every member of a tree-encoded set.
    let mut seen = HashSet::new();
    let mut cursor = 0u64;
    loop {
        let (next, items): (u64, Vec<String>) =
            redis::cmd("ZSCAN").arg("z").arg(cursor).arg("COUNT").arg(50).query(&mut c).unwrap();
        for pair in items.chunks(2) {
            seen.insert(pair[0].clone());
        }
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(seen.len(), want.len());
    // Remove by rank in the middle, then pop from both ends.
    let removed: usize = redis::cmd("ZREMRANGEBYRANK").arg("z").arg(10).arg(19).query(&mut c).unwrap();
    assert_eq!(removed, 10);
    want.drain(10..20);
    let popped: Vec<(String, f64)> = redis::cmd("ZPOPMAX").arg("z").arg(3).query(&mut c).unwrap();
    let exp: Vec<(String, f64)> = want.iter().rev().take(3).cloned().collect();
    assert_eq!(popped, exp);
    want.truncate(want.len() - 3);
    assert_eq!(zrange_ws(&mut c, "z"), want);
}

#[test]
fn zrandmember_counts() {
    let t = TestServer::start();
    let mut c = t.client();
    let mut r = t.raw();
    for i in 0..200 {
        r.cmd(&format!("ZADD z {i} m{i}"));
    }
    for n in [1usize, 5, 50, 150, 199] {
        let v: Vec<String> = redis::cmd("ZRANDMEMBER").arg("z").arg(n).query(&mut c).unwrap();
        assert_eq!(v.len(), n);
        assert_eq!(v.iter().collect::<HashSet<_>>().len(), n, "distinct members");
    }
    let v: Vec<String> = redis::cmd("ZRANDMEMBER").arg("z").arg(-500).query(&mut c).unwrap();
    assert_eq!(v.len(), 500);
    let v: Vec<(String, f64)> = redis::cmd("ZRANDMEMBER").arg("z").arg(-5).arg("WITHSCORES").query(&mut c).unwrap();
    for (m, s) in v {
        assert_eq!(m, format!("m{s}"));
    }
    // Huge counts never allocate without bound.
    assert!(r.cmd("ZRANDMEMBER z -9223372036854775807").starts_with("-ERR"));
    assert_eq!(r.cmd("ZRANDMEMBER z 9223372036854775807").len() > 100, true);
    assert_eq!(r.cmd("ZRANDMEMBER z -9223372036854775807 WITHSCORES"), "-ERR value is out of range\r\n");
}

#[test]
fn store_commands_replace_and_delete() {
    let t = TestServer::start();
    let mut r = t.raw();
    r.cmd("ZADD a 1 x 2 y");
    r.cmd("ZADD b 3 y 4 z");
    r.cmd("SET d str");
    assert_eq!(r.cmd("ZINTERSTORE d 2 a b"), ":1\r\n");
    assert_eq!(r.cmd("TYPE d"), "+zset\r\n");
    assert_eq!(r.cmd("ZRANGE d 0 -1 WITHSCORES"), "*2\r\n$1\r\ny\r\n$1\r\n5\r\n");
    assert_eq!(r.cmd("ZDIFFSTORE d 2 a a"), ":0\r\n");
    assert_eq!(r.cmd("EXISTS d"), ":0\r\n");
    assert_eq!(r.cmd("ZRANGESTORE d a 0 0"), ":1\r\n");
    assert_eq!(r.cmd("ZRANGESTORE d nokey 0 -1"), ":0\r\n");
    assert_eq!(r.cmd("EXISTS d"), ":0\r\n");
    assert_eq!(r.cmd("ZINTERCARD 2 a b LIMIT 0"), ":1\r\n");
    assert_eq!(
        r.cmd("ZUNION 2 a b AGGREGATE MIN WITHSCORES"),
        "*6\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$1\r\n2\r\n$1\r\nz\r\n$1\r\n4\r\n"
    );
}

#[test]
fn lex_and_score_range_errors() {
    let t = TestServer::start();
    let mut r = t.raw();
    r.cmd("ZADD l 0 a 0 b 0 c");
    assert_eq!(r.cmd("ZRANGEBYLEX l a c"), "-ERR min or max not valid string range item\r\n");
    assert_eq!(r.cmd("ZRANGEBYSCORE l nan 1"), "-ERR min or max is not a float\r\n");
    assert_eq!(r.cmd("ZLEXCOUNT l (a +"), ":2\r\n");
    assert_eq!(r.cmd("ZREMRANGEBYLEX l - (c"), ":2\r\n");
    assert_eq!(r.cmd("ZREMRANGEBYSCORE l -inf +inf"), ":1\r\n");
    assert_eq!(r.cmd("EXISTS l"), ":0\r\n");
}

/// Waits until exactly `n` clients are blocked (bounded; no timing assertion).
fn blocked_now(t: &TestServer, n: usize) {
    let t0 = std::time::Instant::now();
    while t.srv.blocking.blocked_clients() != n {
        assert!(t0.elapsed() < std::time::Duration::from_secs(10), "expected {n} blocked clients");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

fn send_line(r: &mut Raw, line: &str) {
    let args = split(line);
    let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
    r.send_cmd(&refs);
}

#[test]
fn bzpop_blocks_until_zadd() {
    let t = TestServer::start();
    let (mut w, mut p) = (t.raw(), t.raw());
    send_line(&mut w, "BZPOPMIN a b 0");
    blocked_now(&t, 1);
    p.cmd("SET other str");
    assert_eq!(p.cmd("ZADD b 2 y 1 x"), ":2\r\n");
    assert_eq!(String::from_utf8_lossy(&w.read_reply()), "*3\r\n$1\r\nb\r\n$1\r\nx\r\n$1\r\n1\r\n");
    blocked_now(&t, 0);
    send_line(&mut w, "BZMPOP 0 1 c MAX COUNT 5");
    blocked_now(&t, 1);
    // A store command creating the key serves the waiter too.
    assert_eq!(p.cmd("ZUNIONSTORE c 1 b"), ":1\r\n");
    assert_eq!(String::from_utf8_lossy(&w.read_reply()), "*2\r\n$1\r\nc\r\n*1\r\n*2\r\n$1\r\ny\r\n$1\r\n2\r\n");
    assert_eq!(p.cmd("EXISTS c"), ":0\r\n");
    send_line(&mut w, "BZPOPMAX g 0");
    blocked_now(&t, 1);
    assert_eq!(p.cmd("GEOADD g 1 1 pt"), ":1\r\n");
    assert_eq!(String::from_utf8_lossy(&w.read_reply()), "*3\r\n$1\r\ng\r\n$2\r\npt\r\n$16\r\n3377822707026402\r\n");
}

#[test]
fn bzpop_immediate_timeout_and_errors() {
    let t = TestServer::start();
    let mut r = t.raw();
    r.cmd("ZADD z 1 a 2 b 3 c");
    assert_eq!(r.cmd("BZPOPMAX nokey z 0"), "*3\r\n$1\r\nz\r\n$1\r\nc\r\n$1\r\n3\r\n");
    assert_eq!(
        r.cmd("BZMPOP 0 2 nokey z MIN COUNT 5"),
        "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
    assert_eq!(r.cmd("EXISTS z"), ":0\r\n");
    assert_eq!(r.cmd("BZPOPMIN z 0.05"), "*-1\r\n");
    assert_eq!(r.cmd("BZMPOP 0.05 1 z MIN"), "*-1\r\n");
    assert_eq!(r.cmd("BZPOPMIN z -1"), "-ERR timeout is negative\r\n");
    assert_eq!(r.cmd("BZPOPMIN z x"), "-ERR timeout is not a float or out of range\r\n");
    assert_eq!(r.cmd("BZMPOP x 0 z MIN"), "-ERR numkeys should be greater than 0\r\n");
    r.cmd("SET s v");
    assert_eq!(r.cmd("BZPOPMIN s 0"), "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    r.cmd("HELLO 3");
    assert_eq!(r.cmd("BZPOPMIN z 0.05"), "_\r\n");
}
