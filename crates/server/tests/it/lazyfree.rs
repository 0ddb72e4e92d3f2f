//! Lazy freeing (lazyfree.rs): which removals hand a value to the
//! background thread, and the INFO counters that show it. The thread's
//! progress is awaited by polling `lazyfree_pending_objects` (bounded, no
//! timing assertion).

use crate::common::*;

fn info_field(r: &mut Raw, section: &str, field: &str) -> u64 {
    let info = r.cmd(&format!("INFO {section}"));
    let prefix = format!("{field}:");
    let v = info.split("\r\n").find_map(|l| l.strip_prefix(&prefix)).unwrap_or_else(|| panic!("no {field}"));
    v.parse().unwrap()
}

/// Waits until the thread has freed everything queued; returns
/// `lazyfreed_objects`.
fn freed(r: &mut Raw) -> u64 {
    for _ in 0..2000 {
        if info_field(r, "memory", "lazyfree_pending_objects") == 0 {
            return info_field(r, "memory", "lazyfreed_objects");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    panic!("lazyfree_pending_objects never reached 0");
}

/// `CMD key ...` with `n` generated members (with a score for ZADD, a
/// value for HSET).
fn fill(r: &mut Raw, cmd: &str, key: &str, n: usize) {
    let mut line = format!("{cmd} {key}");
    for i in 0..n {
        match cmd {
            "ZADD" => line.push_str(&format!(" {i} m{i}")),
            "HSET" => line.push_str(&format!(" f{i} v{i}")),
            _ => line.push_str(&format!(" m{i}")),
        }
    }
    let reply = r.cmd(&line);
    assert!(reply.starts_with(':'), "{cmd}: {reply}");
}

/// A set of `n` non-integer members (hashtable encoding).
fn big_set(r: &mut Raw, key: &str, n: usize) {
    fill(r, "SADD", key, n);
}

fn stream_with_groups(r: &mut Raw, key: &str) {
    assert_eq!(r.cmd("CONFIG SET stream-node-max-entries 5"), "+OK\r\n");
    for i in 1..=500 {
        assert!(r.cmd(&format!("XADD {key} {i}-0 f {i}")).starts_with('$'));
    }
    assert_eq!(r.cmd(&format!("XGROUP CREATE {key} g1 0")), "+OK\r\n");
    assert_eq!(r.cmd(&format!("XGROUP CREATE {key} g2 0")), "+OK\r\n");
    assert!(r.cmd(&format!("XREADGROUP GROUP g1 alice COUNT 10 STREAMS {key} >")).starts_with('*'));
    assert_eq!(r.cmd(&format!("XACK {key} g1 1-0")), ":1\r\n");
    assert_eq!(r.cmd(&format!("XDEL {key} 5-0")), ":1\r\n");
}

#[test]
fn unlink_frees_big_values_in_the_background() {
    let s = TestServer::start();
    let mut r = s.raw();
    assert_eq!(r.cmd("CONFIG SET list-max-listpack-size 4"), "+OK\r\n");
    big_set(&mut r, "set", 1000);
    fill(&mut r, "ZADD", "zset", 1000);
    fill(&mut r, "HSET", "hash", 1000);
    fill(&mut r, "RPUSH", "list", 1000);
    stream_with_groups(&mut r, "stream");
    assert_eq!(r.cmd("OBJECT ENCODING zset"), "$8\r\nskiplist\r\n");
    assert_eq!(r.cmd("OBJECT ENCODING hash"), "$9\r\nhashtable\r\n");
    let mut expect = freed(&mut r);
    assert_eq!(expect, 0);
    for key in ["set", "zset", "hash", "list", "stream"] {
        assert_eq!(r.cmd(&format!("UNLINK {key}")), ":1\r\n", "{key}");
        // Gone for everyone at once; only the deallocation waits.
        assert_eq!(r.cmd(&format!("EXISTS {key}")), ":0\r\n", "{key}");
        expect += 1;
        assert_eq!(freed(&mut r), expect, "{key}");
    }
    // Several keys in one UNLINK: one object each.
    big_set(&mut r, "a", 200);
    big_set(&mut r, "b", 200);
    assert_eq!(r.cmd("UNLINK a b missing"), ":2\r\n");
    assert_eq!(freed(&mut r), expect + 2);
}

#[test]
fn small_values_are_freed_inline() {
    let s = TestServer::start();
    let mut r = s.raw();
    // Strings, compact encodings and hashtables of at most 64 elements.
    let big_string = "x".repeat(100_000);
    assert_eq!(r.cmd(&format!("SET str {big_string}")), "+OK\r\n");
    fill(&mut r, "ZADD", "zpack", 100);
    assert_eq!(r.cmd("OBJECT ENCODING zpack"), "$8\r\nlistpack\r\n");
    fill(&mut r, "HSET", "hpack", 100);
    let mut line = "SADD ints".to_string();
    for i in 0..500 {
        line.push_str(&format!(" {i}"));
    }
    assert_eq!(r.cmd(&line), ":500\r\n");
    assert_eq!(r.cmd("OBJECT ENCODING ints"), "$6\r\nintset\r\n");
    big_set(&mut r, "set64", 64);
    fill(&mut r, "RPUSH", "list", 1000);
    assert_eq!(r.cmd("XADD s 1-1 a b"), "$3\r\n1-1\r\n");
    assert_eq!(r.cmd("XGROUP CREATE s bla $"), "+OK\r\n");
    assert_eq!(r.cmd("XGROUP DESTROY s bla"), ":1\r\n");
    assert_eq!(r.cmd("UNLINK str zpack hpack ints set64 list s"), ":7\r\n");
    assert_eq!(info_field(&mut r, "memory", "lazyfree_pending_objects"), 0);
    assert_eq!(freed(&mut r), 0);
}

#[test]
fn flush_async_hands_whole_databases_to_the_thread() {
    let s = TestServer::start();
    let mut r = s.raw();
    let setup = |r: &mut Raw| {
        assert_eq!(r.cmd("SELECT 0"), "+OK\r\n");
        for i in 0..30 {
            assert_eq!(r.cmd(&format!("SET k{i} v")), "+OK\r\n");
        }
        assert_eq!(r.cmd("SELECT 1"), "+OK\r\n");
        for i in 0..20 {
            assert_eq!(r.cmd(&format!("SET k{i} v")), "+OK\r\n");
        }
    };
    setup(&mut r);
    // FLUSHDB ASYNC: the current database's keys, each counted.
    assert_eq!(r.cmd("FLUSHDB ASYNC"), "+OK\r\n");
    assert_eq!(r.cmd("DBSIZE"), ":0\r\n");
    assert_eq!(freed(&mut r), 20);
    setup(&mut r);
    assert_eq!(r.cmd("FLUSHALL ASYNC"), "+OK\r\n");
    assert_eq!(r.cmd("DBSIZE"), ":0\r\n");
    assert_eq!(r.cmd("SELECT 0"), "+OK\r\n");
    assert_eq!(r.cmd("DBSIZE"), ":0\r\n");
    assert_eq!(freed(&mut r), 20 + 50);
    // SYNC and the default (lazyfree-lazy-user-flush no) free inline.
    setup(&mut r);
    assert_eq!(r.cmd("FLUSHDB SYNC"), "+OK\r\n");
    assert_eq!(r.cmd("FLUSHALL"), "+OK\r\n");
    assert_eq!(freed(&mut r), 70);
    // lazyfree-lazy-user-flush yes: no option means ASYNC; SYNC still wins.
    assert_eq!(r.cmd("CONFIG SET lazyfree-lazy-user-flush yes"), "+OK\r\n");
    setup(&mut r);
    assert_eq!(r.cmd("FLUSHDB"), "+OK\r\n");
    assert_eq!(freed(&mut r), 90);
    assert_eq!(r.cmd("FLUSHALL SYNC"), "+OK\r\n");
    assert_eq!(freed(&mut r), 90);
    setup(&mut r);
    assert_eq!(r.cmd("FLUSHALL"), "+OK\r\n");
    assert_eq!(freed(&mut r), 140);
    // An empty flush queues nothing.
    assert_eq!(r.cmd("FLUSHALL ASYNC"), "+OK\r\n");
    assert_eq!(freed(&mut r), 140);
    // Syntax.
    for bad in ["FLUSHALL LAZY", "FLUSHALL ASYNC SYNC", "FLUSHDB SYNC ASYNC", "FLUSHDB x"] {
        assert_eq!(r.cmd(bad), "-ERR syntax error\r\n", "{bad}");
    }
}

#[test]
fn lazy_user_del_makes_del_lazy() {
    let s = TestServer::start();
    let mut r = s.raw();
    big_set(&mut r, "s", 500);
    assert_eq!(r.cmd("DEL s"), ":1\r\n");
    assert_eq!(freed(&mut r), 0);
    assert_eq!(r.cmd("CONFIG SET lazyfree-lazy-user-del yes"), "+OK\r\n");
    big_set(&mut r, "s", 500);
    assert_eq!(r.cmd("DEL s"), ":1\r\n");
    assert_eq!(r.cmd("EXISTS s"), ":0\r\n");
    assert_eq!(freed(&mut r), 1);
    // Small values stay inline whatever the setting.
    big_set(&mut r, "s", 5);
    assert_eq!(r.cmd("DEL s"), ":1\r\n");
    assert_eq!(freed(&mut r), 1);
}

#[test]
fn lazy_server_del_frees_overwritten_values() {
    let s = TestServer::start();
    let mut r = s.raw();
    // Off: overwrites free inline.
    big_set(&mut r, "s", 500);
    assert_eq!(r.cmd("SET s x"), "+OK\r\n");
    assert_eq!(freed(&mut r), 0);
    assert_eq!(r.cmd("CONFIG SET lazyfree-lazy-server-del yes"), "+OK\r\n");
    // SET over a big value.
    assert_eq!(r.cmd("DEL s"), ":1\r\n");
    big_set(&mut r, "s", 500);
    assert_eq!(r.cmd("SET s x"), "+OK\r\n");
    assert_eq!(r.cmd("GET s"), "$1\r\nx\r\n");
    assert_eq!(freed(&mut r), 1);
    // RENAME onto a big value.
    big_set(&mut r, "{t}dst", 500);
    assert_eq!(r.cmd("SET {t}src y"), "+OK\r\n");
    assert_eq!(r.cmd("RENAME {t}src {t}dst"), "+OK\r\n");
    assert_eq!(freed(&mut r), 2);
    // A *STORE destination, replaced or deleted.
    big_set(&mut r, "{t}d", 500);
    big_set(&mut r, "{t}a", 3);
    assert_eq!(r.cmd("SUNIONSTORE {t}d {t}a"), ":3\r\n");
    assert_eq!(freed(&mut r), 3);
    big_set(&mut r, "{t}d", 500);
    assert_eq!(r.cmd("SINTERSTORE {t}d {t}a {t}none"), ":0\r\n");
    assert_eq!(r.cmd("EXISTS {t}d"), ":0\r\n");
    assert_eq!(freed(&mut r), 4);
    // COPY ... REPLACE.
    big_set(&mut r, "{t}d", 500);
    assert_eq!(r.cmd("COPY {t}a {t}d REPLACE"), ":1\r\n");
    assert_eq!(r.cmd("SCARD {t}d"), ":3\r\n");
    assert_eq!(freed(&mut r), 5);
    // DEL is a user delete, not a server one.
    assert_eq!(r.cmd("DEL s"), ":1\r\n");
    big_set(&mut r, "s", 500);
    assert_eq!(r.cmd("DEL s"), ":1\r\n");
    assert_eq!(freed(&mut r), 5);
}

#[test]
fn lazy_expire_frees_expired_values() {
    let s = TestServer::with(&[("enable-debug-command", "yes")]);
    let mut r = s.raw();
    assert_eq!(r.cmd("DEBUG SET-ACTIVE-EXPIRE 0"), "+OK\r\n");
    big_set(&mut r, "s", 500);
    assert_eq!(r.cmd("PEXPIRE s 100"), ":1\r\n");
    s.advance_ms(200);
    assert_eq!(r.cmd("EXISTS s"), ":0\r\n");
    assert_eq!(freed(&mut r), 0);
    assert_eq!(r.cmd("CONFIG SET lazyfree-lazy-expire yes"), "+OK\r\n");
    big_set(&mut r, "s", 500);
    assert_eq!(r.cmd("PEXPIRE s 100"), ":1\r\n");
    s.advance_ms(200);
    assert_eq!(r.cmd("SCARD s"), ":0\r\n");
    assert_eq!(freed(&mut r), 1);
    // EXPIRE with a time in the past deletes at once.
    big_set(&mut r, "s", 500);
    assert_eq!(r.cmd("EXPIRE s -1"), ":1\r\n");
    assert_eq!(r.cmd("EXISTS s"), ":0\r\n");
    assert_eq!(freed(&mut r), 2);
    // The active cycle too.
    assert_eq!(r.cmd("DEBUG SET-ACTIVE-EXPIRE 1"), "+OK\r\n");
    big_set(&mut r, "s", 500);
    assert_eq!(r.cmd("PEXPIRE s 100"), ":1\r\n");
    s.advance_ms(200);
    let mut gone = false;
    for _ in 0..2000 {
        if info_field(&mut r, "stats", "expired_keys") == 3 {
            gone = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(gone, "the active expiry cycle never reclaimed the key");
    assert_eq!(freed(&mut r), 3);
}

#[test]
fn resetstat_zeroes_lazyfreed_objects() {
    let s = TestServer::start();
    let mut r = s.raw();
    big_set(&mut r, "s", 500);
    assert_eq!(r.cmd("UNLINK s"), ":1\r\n");
    assert_eq!(freed(&mut r), 1);
    assert_eq!(r.cmd("CONFIG RESETSTAT"), "+OK\r\n");
    assert_eq!(freed(&mut r), 0);
    big_set(&mut r, "s", 500);
    assert_eq!(r.cmd("UNLINK s"), ":1\r\n");
    assert_eq!(freed(&mut r), 1);
}

#[test]
fn unlink_gives_memory_back() {
    let s = TestServer::start();
    let mut r = s.raw();
    let before = info_field(&mut r, "memory", "used_memory");
    big_set(&mut r, "s", 50_000);
    let peak = info_field(&mut r, "memory", "used_memory");
    assert!(peak > before + 1_000_000, "{before} -> {peak}");
    assert_eq!(r.cmd("UNLINK s"), ":1\r\n");
    assert_eq!(freed(&mut r), 1);
    let after = info_field(&mut r, "memory", "used_memory");
    assert!(after < peak - 1_000_000, "{peak} -> {after}");
}

#[test]
fn script_and_function_flush_free_big_caches_in_the_background() {
    let s = TestServer::start();
    let mut r = s.raw();
    let load_scripts = |r: &mut Raw, n: usize| {
        for i in 0..n {
            assert!(r.cmd(&format!("SCRIPT LOAD \"return {i}\"")).starts_with('$'));
        }
    };
    // At most 64 scripts: freed inline even with ASYNC.
    load_scripts(&mut r, 64);
    assert_eq!(r.cmd("SCRIPT FLUSH ASYNC"), "+OK\r\n");
    assert_eq!(freed(&mut r), 0);
    load_scripts(&mut r, 65);
    assert_eq!(r.cmd("SCRIPT FLUSH ASYNC"), "+OK\r\n");
    assert_eq!(freed(&mut r), 65);
    assert_eq!(r.cmd("EVAL \"return 7\" 0"), ":7\r\n");
    load_scripts(&mut r, 65);
    assert_eq!(r.cmd("SCRIPT FLUSH"), "+OK\r\n");
    assert_eq!(freed(&mut r), 65);

    let mut code = "#!lua name=big".to_string();
    for i in 0..65 {
        code.push_str(&format!("\nredis.register_function('f{i}', function() return {i} end)"));
    }
    let load = |r: &mut Raw| {
        r.send_cmd(&[b"FUNCTION", b"LOAD", code.as_bytes()]);
        assert_eq!(r.read_reply(), b"$3\r\nbig\r\n");
    };
    load(&mut r);
    assert_eq!(r.cmd("FUNCTION FLUSH ASYNC"), "+OK\r\n");
    assert_eq!(r.cmd("FUNCTION LIST"), "*0\r\n");
    assert_eq!(freed(&mut r), 130);
    // A fresh state serves the next library.
    load(&mut r);
    assert_eq!(r.cmd("FCALL f64 0"), ":64\r\n");
    assert_eq!(r.cmd("FUNCTION FLUSH SYNC"), "+OK\r\n");
    assert_eq!(freed(&mut r), 130);

    // lazyfree-lazy-user-flush: no option means ASYNC for both.
    assert_eq!(r.cmd("CONFIG SET lazyfree-lazy-user-flush yes"), "+OK\r\n");
    load(&mut r);
    assert_eq!(r.cmd("FUNCTION FLUSH"), "+OK\r\n");
    load_scripts(&mut r, 65);
    assert_eq!(r.cmd("SCRIPT FLUSH"), "+OK\r\n");
    assert_eq!(freed(&mut r), 260);
    assert_eq!(r.cmd("SCRIPT FLUSH LAZY"), "-ERR SCRIPT FLUSH only support SYNC|ASYNC option\r\n");
    assert_eq!(r.cmd("FUNCTION FLUSH LAZY"), "-ERR FUNCTION FLUSH only supports SYNC|ASYNC option\r\n");
}

#[test]
fn lazy_eviction_frees_evicted_values_in_the_background() {
    let s = TestServer::start();
    let mut r = s.raw();
    assert_eq!(r.cmd("CONFIG SET maxmemory-policy allkeys-lru"), "+OK\r\n");
    big_set(&mut r, "off", 500);
    assert_eq!(r.cmd("CONFIG SET maxmemory 1"), "+OK\r\n");
    assert_eq!(r.cmd("CONFIG SET maxmemory 0"), "+OK\r\n");
    assert_eq!(r.cmd("DBSIZE"), ":0\r\n");
    assert_eq!(freed(&mut r), 0);
    assert_eq!(r.cmd("CONFIG SET lazyfree-lazy-eviction yes"), "+OK\r\n");
    big_set(&mut r, "on", 500);
    assert_eq!(r.cmd("SET small x"), "+OK\r\n");
    assert_eq!(r.cmd("CONFIG SET maxmemory 1"), "+OK\r\n");
    assert_eq!(r.cmd("CONFIG SET maxmemory 0"), "+OK\r\n");
    assert_eq!(r.cmd("DBSIZE"), ":0\r\n");
    assert!(info_field(&mut r, "stats", "evicted_keys") >= 3);
    assert_eq!(freed(&mut r), 1);
}

#[test]
fn lazily_freed_keys_leave_like_deleted_ones() {
    let s = TestServer::start();
    let mut r = s.raw();
    let mut other = s.raw();
    let mut sub = s.raw();
    assert_eq!(r.cmd("CONFIG SET notify-keyspace-events Kg"), "+OK\r\n");
    assert!(sub.cmd("SUBSCRIBE __keyspace@0__:s").starts_with('*'));
    big_set(&mut r, "s", 500);
    // WATCH sees the UNLINK; the subscriber gets `del`.
    assert_eq!(r.cmd("WATCH s"), "+OK\r\n");
    assert_eq!(other.cmd("UNLINK s"), ":1\r\n");
    assert_eq!(r.cmd("MULTI"), "+OK\r\n");
    assert_eq!(r.cmd("SCARD s"), "+QUEUED\r\n");
    assert_eq!(r.cmd("EXEC"), "*-1\r\n");
    let msg = String::from_utf8_lossy(&sub.read_reply()).into_owned();
    assert!(msg.ends_with("$3\r\ndel\r\n"), "{msg}");
    assert_eq!(freed(&mut r), 1);
}
