//! Generic key commands: TTLs with the test clock, active expiry, SCAN's
//! guarantee under churn, cross-database moves and copies.

use crate::common::*;
use redis::Commands;
use std::collections::HashSet;
use std::time::Duration;

fn keys_in_db(t: &TestServer, db: usize) -> usize {
    let mut l = t.srv.keyspace.lock_all();
    l.shards_mut().map(|s| s.dbs[db].len()).sum()
}

#[test]
fn expire_family_and_ttls() {
    let t = TestServer::start();
    let mut c = t.client();
    let _: () = c.set("k", "v").unwrap();
    assert_eq!(c.pttl::<_, i64>("k").unwrap(), -1);
    assert_eq!(c.pttl::<_, i64>("nokey").unwrap(), -2);
    // Margins of seconds: the server clock is real time plus the offset.
    assert!(c.pexpire::<_, bool>("k", 100_000).unwrap());
    t.advance_ms(40_000);
    let p: i64 = c.pttl("k").unwrap();
    assert!(p > 50_000 && p <= 60_000, "{p}");
    // TTL rounds to the nearest second.
    t.advance_ms(400);
    let ttl: i64 = c.ttl("k").unwrap();
    assert!((50..=60).contains(&ttl), "{ttl}");
    // GT/LT compare with the current expiry.
    let gt: i64 = redis::cmd("PEXPIRE").arg("k").arg(10_000).arg("GT").query(&mut c).unwrap();
    assert_eq!(gt, 0);
    let lt: i64 = redis::cmd("PEXPIRE").arg("k").arg(10_000).arg("LT").query(&mut c).unwrap();
    assert_eq!(lt, 1);
    let p: i64 = c.pttl("k").unwrap();
    assert!(p > 0 && p <= 10_000, "{p}");
    let at: i64 = redis::cmd("PEXPIRETIME").arg("k").query(&mut c).unwrap();
    let now = t.srv.clock.now_ms();
    assert!(at > now && at <= now + 10_000);
    t.advance_ms(10_001);
    assert_eq!(c.pttl::<_, i64>("k").unwrap(), -2);
    assert!(!c.exists::<_, bool>("k").unwrap());

    // EXPIREAT in seconds, PERSIST.
    let _: () = c.set("k", "v").unwrap();
    let at = t.srv.clock.now_ms() / 1000 + 100;
    assert!(c.expire_at::<_, bool>("k", at).unwrap());
    let et: i64 = redis::cmd("EXPIRETIME").arg("k").query(&mut c).unwrap();
    assert_eq!(et, at);
    assert!(c.persist::<_, bool>("k").unwrap());
    assert!(!c.persist::<_, bool>("k").unwrap());
    t.advance_ms(200_000);
    assert!(c.exists::<_, bool>("k").unwrap());
    // A time in the past deletes at once.
    assert!(c.expire::<_, bool>("k", -1).unwrap());
    assert!(!c.exists::<_, bool>("k").unwrap());
}

#[test]
fn lazy_expiry_on_every_path() {
    let t = TestServer::start();
    let mut r = t.raw();
    for k in ["a", "b", "c", "d", "e", "f"] {
        r.cmd(&format!("SET {k} v PX 100"));
    }
    t.advance_ms(200);
    // Still in memory until touched.
    assert_eq!(keys_in_db(&t, 0), 6);
    assert_eq!(r.cmd("EXISTS a"), ":0\r\n");
    assert_eq!(r.cmd("TYPE b"), "+none\r\n");
    assert_eq!(r.cmd("RENAME c x"), "-ERR no such key\r\n");
    assert_eq!(r.cmd("KEYS *"), "*0\r\n");
    assert_eq!(r.cmd("OBJECT ENCODING d"), "$-1\r\n");
    assert_eq!(r.cmd("COPY e y"), ":0\r\n");
    assert_eq!(keys_in_db(&t, 0), 1);
    assert_eq!(r.cmd("RANDOMKEY"), "$-1\r\n");
    assert_eq!(keys_in_db(&t, 0), 0);
}

#[test]
fn active_expiry_reclaims_unread_keys() {
    let t = TestServer::start();
    let mut r = t.raw();
    for i in 0..200 {
        r.cmd(&format!("SET k{i} v PX 1000"));
    }
    for i in 0..20 {
        r.cmd(&format!("SET keep{i} v"));
    }
    r.cmd("SELECT 3");
    for i in 0..50 {
        r.cmd(&format!("SET other{i} v EX 5"));
    }
    t.advance_ms(10_000);
    for _ in 0..200 {
        hematite::expire::cycle(&t.srv, 0, Duration::from_secs(5));
        if keys_in_db(&t, 0) == 20 && keys_in_db(&t, 3) == 0 {
            break;
        }
    }
    assert_eq!(keys_in_db(&t, 0), 20);
    assert_eq!(keys_in_db(&t, 3), 0);
    r.cmd("SELECT 0");
    assert_eq!(r.cmd("DBSIZE"), ":20\r\n");
}

#[test]
fn rename_move_copy_carry_ttls() {
    let t = TestServer::start();
    let mut r = t.raw();
    r.cmd("SET a v PX 50000");
    assert_eq!(r.cmd("RENAME a b"), "+OK\r\n");
    assert_eq!(r.cmd("MOVE b 2"), ":1\r\n");
    r.cmd("SELECT 2");
    assert_eq!(r.cmd("COPY b c DB 5"), ":1\r\n");
    r.cmd("SELECT 5");
    let p: i64 = r.cmd("PTTL c").trim_start_matches(':').trim().parse().unwrap();
    assert!(p > 40_000 && p <= 50_000, "{p}");
    t.advance_ms(50_001);
    assert_eq!(r.cmd("GET c"), "$-1\r\n");
    r.cmd("SELECT 2");
    assert_eq!(r.cmd("GET b"), "$-1\r\n");
    // COPY REPLACE into another db overwrites; without it, it refuses.
    r.cmd("SET x 1");
    r.cmd("SELECT 0");
    r.cmd("SET x 2");
    assert_eq!(r.cmd("COPY x x DB 2"), ":0\r\n");
    assert_eq!(r.cmd("COPY x x DB 2 REPLACE"), ":1\r\n");
    r.cmd("SELECT 2");
    assert_eq!(r.cmd("GET x"), "$1\r\n2\r\n");
    // The copy is independent of its source.
    r.cmd("APPEND x 3");
    r.cmd("SELECT 0");
    assert_eq!(r.cmd("GET x"), "$1\r\n2\r\n");
}

fn scan_all(
    c: &mut redis::Connection,
    count: usize,
    mut between: impl FnMut(&mut redis::Connection, usize),
) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor: u64 = 0;
    let mut round = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN").arg(cursor).arg("COUNT").arg(count).query(c).unwrap();
        seen.extend(keys);
        between(c, round);
        round += 1;
        cursor = next;
        if cursor == 0 {
            break;
        }
        assert!(round < 100_000, "scan does not terminate");
    }
    seen
}

#[test]
fn scan_returns_every_stable_key_under_churn() {
    let t = TestServer::start();
    let mut c = t.client();
    for i in 0..2000 {
        let _: () = c.set(format!("k{i}"), "v").unwrap();
    }
    // A full scan without churn returns each key, and terminates.
    let seen = scan_all(&mut c, 10, |_, _| {});
    let set: HashSet<String> = seen.iter().cloned().collect();
    assert_eq!(set.len(), 2000);
    // With churn: keys k{i} with i % 3 != 0 are deleted, new keys added.
    let seen = scan_all(&mut c, 7, |c, round| {
        for j in 0..10 {
            let i = round * 10 + j;
            if i < 2000 && i % 3 != 0 {
                let _: i64 = c.del(format!("k{i}")).unwrap();
            }
            let _: () = c.set(format!("new{round}_{j}"), "v").unwrap();
        }
    });
    let set: HashSet<String> = seen.into_iter().collect();
    for i in (0..2000).step_by(3) {
        assert!(set.contains(&format!("k{i}")), "missed k{i}");
    }
}

#[test]
fn scan_filters() {
    let t = TestServer::start();
    let mut c = t.client();
    for i in 0..100 {
        let _: () = c.set(format!("a{i}"), "v").unwrap();
        let _: () = c.set(format!("b{i}"), "v").unwrap();
    }
    let mut cursor: u64 = 0;
    let mut got = HashSet::new();
    loop {
        let (next, keys): (u64, Vec<String>) =
            redis::cmd("SCAN").arg(cursor).arg("MATCH").arg("a*").arg("TYPE").arg("string").query(&mut c).unwrap();
        for k in keys {
            assert!(k.starts_with('a'));
            got.insert(k);
        }
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(got.len(), 100);
    // A count covering the keyspace finishes in one call.
    let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN").arg(0).arg("COUNT").arg(1000).query(&mut c).unwrap();
    assert_eq!((next, keys.len()), (0, 200));
    let (_, keys): (u64, Vec<String>) =
        redis::cmd("SCAN").arg(0).arg("TYPE").arg("hash").arg("COUNT").arg(1000).query(&mut c).unwrap();
    assert!(keys.is_empty());
    // Any number is a valid cursor.
    let mut r = t.raw();
    assert!(r.cmd("SCAN 99999999999999").starts_with("*2\r\n"));
    assert_eq!(r.cmd("SCAN x"), "-ERR invalid cursor\r\n");
}

#[test]
fn randomkey_and_keys() {
    let t = TestServer::start();
    let mut c = t.client();
    assert_eq!(redis::cmd("RANDOMKEY").query::<Option<String>>(&mut c).unwrap(), None);
    for i in 0..50 {
        let _: () = c.set(format!("k{i}"), "v").unwrap();
    }
    for _ in 0..20 {
        let k: String = redis::cmd("RANDOMKEY").query(&mut c).unwrap();
        assert!(k.starts_with('k'));
    }
    let mut keys: Vec<String> = c.keys("k1*").unwrap();
    keys.sort();
    assert_eq!(keys, vec!["k1", "k10", "k11", "k12", "k13", "k14", "k15", "k16", "k17", "k18", "k19"]);
}

#[test]
fn randomkey_skips_and_reclaims_dead_keys() {
    let t = TestServer::start();
    let mut r = t.raw();
    for i in 0..300 {
        r.cmd(&format!("SET dead{i} v PX 10"));
    }
    r.cmd("SET live v");
    t.advance_ms(100);
    for _ in 0..5 {
        assert_eq!(r.cmd("RANDOMKEY"), "$4\r\nlive\r\n");
    }
    // SCAN also reclaims the dead keys it meets.
    r.cmd("SET dead v PX 10");
    t.advance_ms(100);
    assert!(r.cmd("SCAN 0 COUNT 1000").ends_with("*1\r\n$4\r\nlive\r\n"));
    assert_eq!(keys_in_db(&t, 0), 1);
}

#[test]
fn idletime_follows_reads_only() {
    let t = TestServer::start();
    // Start just after a second boundary, so no real one passes mid-test.
    t.advance_ms(1_050 - t.srv.clock.now_ms() % 1_000);
    let mut r = t.raw();
    r.cmd("SET k v");
    t.advance_ms(10_000);
    assert_eq!(r.cmd("OBJECT IDLETIME k"), ":10\r\n");
    // Lookups without touch leave the clock alone.
    for c in ["TTL k", "PTTL k", "EXISTS k", "TYPE k", "OBJECT ENCODING k", "EXPIRETIME k"] {
        r.cmd(c);
    }
    assert_eq!(r.cmd("OBJECT IDLETIME k"), ":10\r\n");
    r.cmd("GET k");
    assert_eq!(r.cmd("OBJECT IDLETIME k"), ":0\r\n");
    t.advance_ms(5_000);
    r.cmd("TOUCH k");
    assert_eq!(r.cmd("OBJECT IDLETIME k"), ":0\r\n");
    t.advance_ms(5_000);
    assert_eq!(r.cmd("OBJECT IDLETIME nokey"), "$-1\r\n");
}

#[test]
fn lfu_counters_under_an_lfu_policy() {
    let t = TestServer::with(&[("maxmemory-policy", "allkeys-lfu")]);
    // Start just after a minute boundary, so no real one passes mid-test.
    t.advance_ms(61_000 - t.srv.clock.now_ms() % 60_000);
    let mut r = t.raw();
    r.cmd("SET k v");
    assert_eq!(r.cmd("OBJECT FREQ k"), ":5\r\n");
    // The first access above the initial value always counts.
    r.cmd("GET k");
    assert_eq!(r.cmd("OBJECT FREQ k"), ":6\r\n");
    // Lookups without touch, and OBJECT itself, leave it alone.
    for c in ["TYPE k", "EXISTS k", "TTL k", "OBJECT ENCODING k"] {
        r.cmd(c);
    }
    assert_eq!(r.cmd("OBJECT FREQ k"), ":6\r\n");
    assert_eq!(
        r.cmd("OBJECT IDLETIME k"),
        "-ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"
    );
    // One point of decay per minute (lfu-decay-time 1), never below 0.
    t.advance_ms(3 * 60_000);
    assert_eq!(r.cmd("OBJECT FREQ k"), ":3\r\n");
    t.advance_ms(60 * 60_000);
    assert_eq!(r.cmd("OBJECT FREQ k"), ":0\r\n");
    assert_eq!(r.cmd("OBJECT FREQ nokey"), "$-1\r\n");

    let t = TestServer::start();
    let mut r = t.raw();
    r.cmd("SET k v");
    assert_eq!(
        r.cmd("OBJECT FREQ k"),
        "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"
    );
}
