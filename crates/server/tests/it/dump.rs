//! DUMP and RESTORE over TCP: options, TTLs, LRU/LFU hints, WATCH, blocked
//! clients, keyspace events, and a cross-check with redis-server 7.0.15
//! (values dumped by one server restored into the other read the same).

use crate::common::*;
use crate::diff::{reference_bin, start_ref};
use redis::Connection;

fn dump(c: &mut Connection, key: &str) -> Option<Vec<u8>> {
    redis::cmd("DUMP").arg(key).query(c).unwrap()
}

fn restore(c: &mut Connection, key: &str, p: &[u8], extra: &[&str]) -> redis::RedisResult<String> {
    redis::cmd("RESTORE").arg(key).arg(0).arg(p).arg(extra).query(c)
}

#[test]
fn round_trip_every_type() {
    let t = TestServer::start();
    let mut c = t.client();
    let setup = [
        "SET s hello",
        "RPUSH l a b 1 2",
        "SADD si 1 2 3",
        "SADD ss a b c",
        "HSET h f v g w",
        "ZADD z 1 a 2 b",
        "XADD x 1-1 f v",
        "XGROUP CREATE x g 0",
    ];
    let mut r = t.raw();
    for s in setup {
        r.cmd(s);
    }
    let reads = [
        "GET s",
        "LRANGE l 0 -1",
        "SMEMBERS si",
        "HGETALL h",
        "ZRANGE z 0 -1 WITHSCORES",
        "XRANGE x - +",
        "XINFO GROUPS x",
    ];
    let before: Vec<String> = reads.iter().map(|q| r.cmd(q)).collect();
    for k in ["s", "l", "si", "ss", "h", "z", "x"] {
        let p = dump(&mut c, k).unwrap();
        assert_eq!(restore(&mut c, k, &p, &[]).unwrap_err().code(), Some("BUSYKEY"));
        assert_eq!(restore(&mut c, k, &p, &["REPLACE"]).unwrap(), "OK");
        assert_eq!(dump(&mut c, k).unwrap(), p, "{k}");
    }
    let after: Vec<String> = reads.iter().map(|q| r.cmd(q)).collect();
    assert_eq!(before, after);
    assert_eq!(dump(&mut c, "nokey"), None);
    // A hash with field TTLs: Redis 7.4.1's bytes, and back.
    r.cmd("HSET ht f v g w");
    r.cmd("HPEXPIREAT ht 1900000000000 FIELDS 1 f");
    let p = dump(&mut c, "ht").unwrap();
    assert_eq!(p[..10], *b"\x19\x00\x38\xd3\x60\xba\x01\x00\x00\x1f");
    assert_eq!(restore(&mut c, "ht2", &p, &[]).unwrap(), "OK");
    assert_eq!(r.cmd("HEXPIRETIME ht2 FIELDS 2 f g"), "*2\r\n:1900000000\r\n:-1\r\n");
    assert_eq!(r.cmd("HGETALL ht2"), r.cmd("HGETALL ht"));
}

#[test]
fn ttls_and_access_hints() {
    let t = TestServer::start();
    let mut c = t.client();
    let mut r = t.raw();
    r.cmd("SET k v");
    let p = dump(&mut c, "k").unwrap();
    let _: () = redis::cmd("RESTORE").arg("t").arg(5000).arg(&p).query(&mut c).unwrap();
    let pttl: i64 = redis::cmd("PTTL").arg("t").query(&mut c).unwrap();
    assert!(pttl > 4000 && pttl <= 5000, "{pttl}");
    t.advance_ms(6000);
    assert_eq!(r.cmd("EXISTS t"), ":0\r\n");
    // A TTL in the past: OK, nothing created, a replaced key deleted.
    let _: () = redis::cmd("RESTORE").arg("k").arg(1).arg(&p).arg("ABSTTL").arg("REPLACE").query(&mut c).unwrap();
    assert_eq!(r.cmd("EXISTS k"), ":0\r\n");
    assert_eq!(restore(&mut c, "i", &p, &["IDLETIME", "1000"]).unwrap(), "OK");
    let idle: i64 = redis::cmd("OBJECT").arg("IDLETIME").arg("i").query(&mut c).unwrap();
    assert!((1000..1010).contains(&idle), "{idle}");
    r.cmd("CONFIG SET maxmemory-policy allkeys-lfu");
    assert_eq!(restore(&mut c, "f", &p, &["FREQ", "100"]).unwrap(), "OK");
    assert_eq!(r.cmd("OBJECT FREQ f"), ":100\r\n");
    // Under LFU, IDLETIME is accepted and ignored.
    assert_eq!(restore(&mut c, "f2", &p, &["IDLETIME", "100"]).unwrap(), "OK");
    assert_eq!(r.cmd("OBJECT FREQ f2"), ":5\r\n");
}

#[test]
fn watch_events_and_waiters() {
    let t = TestServer::start();
    let mut c = t.client();
    let mut r = t.raw();
    r.cmd("RPUSH src x");
    let p = dump(&mut c, "src").unwrap();
    // WATCH sees a RESTORE.
    let mut w = t.raw();
    w.cmd("WATCH l");
    w.cmd("MULTI");
    w.cmd("GET l");
    assert_eq!(restore(&mut c, "l", &p, &[]).unwrap(), "OK");
    assert_eq!(w.cmd("EXEC"), "*-1\r\n");
    // A client blocked on a list is served by a RESTORE.
    let mut b = t.raw();
    b.send_cmd(&[b"BLPOP", b"bl", b"0"]);
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(restore(&mut c, "bl", &p, &[]).unwrap(), "OK");
    assert_eq!(String::from_utf8_lossy(&b.read_reply()), "*2\r\n$2\r\nbl\r\n$1\r\nx\r\n");
    // ... and so are clients blocked on a sorted set or a stream.
    r.cmd("ZADD zsrc 1 m");
    r.cmd("XADD xsrc 5-1 f v");
    let (pz, px) = (dump(&mut c, "zsrc").unwrap(), dump(&mut c, "xsrc").unwrap());
    let (mut bz, mut bx) = (t.raw(), t.raw());
    bz.send_cmd(&[b"BZPOPMIN", b"bz", b"0"]);
    bx.send_cmd(&[b"XREAD", b"BLOCK", b"0", b"STREAMS", b"bx", b"0-0"]);
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(restore(&mut c, "bz", &pz, &[]).unwrap(), "OK");
    assert_eq!(restore(&mut c, "bx", &px, &[]).unwrap(), "OK");
    assert_eq!(String::from_utf8_lossy(&bz.read_reply()), "*3\r\n$2\r\nbz\r\n$1\r\nm\r\n$1\r\n1\r\n");
    assert!(String::from_utf8_lossy(&bx.read_reply()).contains("5-1"));
    // Client-side caching: a RESTORE invalidates the key.
    let mut tr = t.raw();
    tr.cmd("HELLO 3");
    tr.cmd("CLIENT TRACKING ON");
    tr.cmd("GET tk");
    assert_eq!(restore(&mut c, "tk", &p, &[]).unwrap(), "OK");
    assert_eq!(String::from_utf8_lossy(&tr.read_reply()), ">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\ntk\r\n");
    // Keyspace events: restore; del when a REPLACE with a past TTL
    // deletes the key.
    r.cmd("CONFIG SET notify-keyspace-events KEA");
    let mut s = t.raw();
    s.cmd("SUBSCRIBE __keyevent@0__:restore __keyevent@0__:del");
    s.read_reply();
    assert_eq!(restore(&mut c, "e", &p, &[]).unwrap(), "OK");
    assert!(String::from_utf8_lossy(&s.read_reply()).ends_with("$1\r\ne\r\n"));
    let _: () = redis::cmd("RESTORE").arg("e").arg(1).arg(&p).arg("ABSTTL").arg("REPLACE").query(&mut c).unwrap();
    let ev = String::from_utf8_lossy(&s.read_reply()).into_owned();
    assert!(ev.contains(":del") && ev.ends_with("$1\r\ne\r\n"), "{ev}");
}

#[test]
fn cross_check_with_redis() {
    let Some(bin) = reference_bin() else {
        eprintln!("cross-check skipped: no redis-server");
        return;
    };
    let reference = start_ref(&bin);
    let mut rc =
        redis::Client::open(format!("redis://127.0.0.1:{}/", reference.port)).unwrap().get_connection().unwrap();
    let t = TestServer::start();
    let mut hc = t.client();
    let big: Vec<String> = (0..3000).map(|i| format!("element-{i}")).collect();
    let mut setup: Vec<Vec<String>> = [
        "SET s hello",
        "SET n 123",
        "RPUSH l a 1 -5 b",
        "SADD si 1 5 -70000",
        "SADD ss a b c d",
        "HSET h f v n 12",
        "ZADD z 1 a 2.5 b inf c",
        "XADD x 1-1 a 1 b 2",
        "XADD x 2-1 a 3 b 4",
        "XDEL x 1-1",
        "XGROUP CREATE x g 0",
    ]
    .iter()
    .map(|s| s.split(' ').map(String::from).collect())
    .collect();
    setup.push([vec!["RPUSH".into(), "bl".into()], big.clone()].concat());
    let mut hz = vec!["HSET".to_string(), "bh".into()];
    let mut zz = vec!["ZADD".to_string(), "bz".into()];
    for (i, e) in big.iter().take(500).enumerate() {
        hz.extend([e.clone(), i.to_string()]);
        zz.extend([(i as f64 / 7.0).to_string(), e.clone()]);
    }
    setup.extend([hz, zz]);
    for cmd in &setup {
        let _: redis::Value = redis::cmd(&cmd[0]).arg(&cmd[1..]).query(&mut rc).unwrap();
    }
    let reads: &[&[&str]] = &[
        &["GET", "s"],
        &["GET", "n"],
        &["LRANGE", "l", "0", "-1"],
        &["SMEMBERS", "si"],
        &["SCARD", "ss"],
        &["HGETALL", "h"],
        &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        &["XRANGE", "x", "-", "+"],
        &["XINFO", "STREAM", "x"],
        &["LRANGE", "bl", "0", "-1"],
        &["HLEN", "bh"],
        &["HGET", "bh", "element-77"],
        &["ZRANGE", "bz", "0", "-1", "WITHSCORES"],
        &["OBJECT", "ENCODING", "bh"],
        &["OBJECT", "ENCODING", "bz"],
        &["OBJECT", "ENCODING", "si"],
        &["OBJECT", "ENCODING", "h"],
    ];
    let keys = ["s", "n", "l", "si", "ss", "h", "z", "x", "bl", "bh", "bz"];
    let read_all = |c: &mut Connection| -> Vec<redis::Value> {
        reads.iter().map(|q| redis::cmd(q[0]).arg(&q[1..]).query(c).unwrap()).collect()
    };
    // Redis -> Hematite.
    for k in keys {
        let p = dump(&mut rc, k).unwrap();
        assert_eq!(restore(&mut hc, k, &p, &[]).unwrap(), "OK", "{k}");
    }
    assert_eq!(read_all(&mut rc), read_all(&mut hc));
    // Hematite -> Redis.
    for k in keys {
        let p = dump(&mut hc, k).unwrap();
        assert_eq!(restore(&mut rc, k, &p, &["REPLACE"]).unwrap(), "OK", "{k}");
    }
    assert_eq!(read_all(&mut rc), read_all(&mut hc));
}

/// MIGRATE to another server: keys move (or are copied) with their TTL,
/// the target's errors come back, and a missing target is an IOERR.
#[test]
fn migrate_between_servers() {
    let src = TestServer::start();
    let dst = TestServer::with(&[("requirepass", "pw")]);
    let mut s = src.raw();
    let mut d = dst.raw();
    assert_eq!(d.cmd("AUTH pw"), "+OK\r\n");
    let port = dst.addr.port();
    s.cmd("SET a 1");
    s.cmd("RPUSH l x y z");
    s.cmd("SET t v PX 100000");
    let m = |s: &mut Raw, rest: &str| s.cmd(&format!("MIGRATE 127.0.0.1 {port} {rest}"));
    assert_eq!(m(&mut s, "a 0 1000"), "-ERR Target instance replied with error: NOAUTH Authentication required.\r\n");
    assert_eq!(s.cmd("EXISTS a"), ":1\r\n");
    assert_eq!(m(&mut s, "a 0 1000 AUTH pw"), "+OK\r\n");
    assert_eq!(s.cmd("EXISTS a"), ":0\r\n");
    assert_eq!(d.cmd("GET a"), "$1\r\n1\r\n");
    assert_eq!(m(&mut s, "a 0 1000 AUTH2 default pw"), "+NOKEY\r\n");
    // Several keys into database 3, copied; a TTL travels with its key.
    assert_eq!(m(&mut s, "\"\" 3 1000 COPY AUTH pw KEYS l t nosuch"), "+OK\r\n");
    assert_eq!(s.cmd("EXISTS l t"), ":2\r\n");
    d.cmd("SELECT 3");
    assert_eq!(d.cmd("LRANGE l 0 -1"), "*3\r\n$1\r\nx\r\n$1\r\ny\r\n$1\r\nz\r\n");
    let ttl: i64 = d.cmd("PTTL t").trim_start_matches(':').trim().parse().unwrap();
    assert!(ttl > 0 && ttl <= 100000, "{ttl}");
    // The target already has them: BUSYKEY, unless REPLACE.
    assert_eq!(
        m(&mut s, "l 3 1000 AUTH pw"),
        "-ERR Target instance replied with error: BUSYKEY Target key name already exists.\r\n"
    );
    assert_eq!(s.cmd("EXISTS l"), ":1\r\n");
    assert_eq!(m(&mut s, "l 3 1000 REPLACE AUTH pw"), "+OK\r\n");
    assert_eq!(s.cmd("EXISTS l"), ":0\r\n");
    // The connection is kept for the next MIGRATE, and one the target has
    // closed meanwhile is replaced without an error.
    assert_eq!(s.info_field("stats", "migrate_cached_sockets"), "1");
    assert_eq!(d.cmd("CLIENT KILL TYPE normal SKIPME yes"), ":1\r\n");
    s.cmd("SET again 1");
    assert_eq!(m(&mut s, "again 0 1000 AUTH pw"), "+OK\r\n");
    assert_eq!(s.info_field("stats", "migrate_cached_sockets"), "1");
    // Keys the target refuses stay; the others move.
    s.cmd("MSET k1 1 k2 2 k3 3");
    d.cmd("SELECT 5");
    d.cmd("SET k2 busy");
    assert_eq!(
        m(&mut s, "\"\" 5 1000 AUTH pw KEYS k1 k2 k3"),
        "-ERR Target instance replied with error: BUSYKEY Target key name already exists.\r\n"
    );
    assert_eq!(s.cmd("EXISTS k1 k2 k3"), ":1\r\n");
    assert_eq!(d.cmd("MGET k1 k2 k3"), "*3\r\n$1\r\n1\r\n$4\r\nbusy\r\n$1\r\n3\r\n");
    // Errors of its own.
    assert_eq!(
        m(&mut s, "t 0 1000 KEYS t"),
        "-ERR When using MIGRATE KEYS option, the key argument must be set to the empty string\r\n"
    );
    assert_eq!(m(&mut s, "t x 1000"), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(m(&mut s, "t 0 1000 AUTH"), "-ERR syntax error\r\n");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    assert_eq!(
        s.cmd(&format!("MIGRATE 127.0.0.1 {closed} t 0 100")),
        "-IOERR error or timeout writing to target instance\r\n"
    );
    assert_eq!(s.cmd("EXISTS t"), ":1\r\n");
}
