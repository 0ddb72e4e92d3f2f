//! Replication between Hematite servers, and with redis-server 7.0.15 on
//! either side: full sync, the command stream, WAIT, partial resync after a
//! broken link, a read-only replica, REPLICAOF NO ONE.

use crate::common::Raw;
use crate::persist::{hematite, spawn, test_dir, Proc};
use std::time::{Duration, Instant};

/// Waits until `f` holds (or fails after 30 s).
fn until(what: &str, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < Duration::from_secs(30), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn link_up(r: &mut Raw) {
    until("the link to the master", || r.info_field("replication", "master_link_status") == "up");
}

/// Both sides hold the same data (DEBUG DIGEST of every database used).
fn same_data(m: &mut Raw, r: &mut Raw) {
    let off = m.info_field("replication", "master_repl_offset");
    until("the replica to catch up", || r.info_field("replication", "slave_repl_offset") == off);
    for db in ["0", "3"] {
        m.cmd(&format!("SELECT {db}"));
        r.cmd(&format!("SELECT {db}"));
        assert_eq!(m.cmd("DEBUG DIGEST"), r.cmd("DEBUG DIGEST"), "db {db}");
    }
    m.cmd("SELECT 0");
    r.cmd("SELECT 0");
}

fn writes(m: &mut Raw, tag: &str) {
    for l in [
        format!("SET s{tag} v"),
        format!("RPUSH l{tag} a b c"),
        format!("HSET h{tag} f v g w"),
        format!("ZADD z{tag} 1 a 2 b"),
        format!("SADD set{tag} x y"),
        format!("SET ttl{tag} v EX 1000"),
        format!("INCRBYFLOAT f{tag} 1.5"),
        format!("XADD x{tag} 1-1 k v"),
        "SELECT 3".into(),
        format!("SET in3{tag} 1"),
        "SELECT 0".into(),
        "MULTI".into(),
        format!("INCR n{tag}"),
        format!("LPUSH l{tag} d"),
        "EXEC".into(),
        format!("EVAL \"redis.call('set', KEYS[1], 'x'); return redis.call('append', KEYS[1], 'y')\" 1 lua{tag}"),
        format!("SPOP set{tag}"),
    ] {
        assert!(!m.cmd(&l).starts_with('-'), "{l}");
    }
}

fn start_pair(name: &str) -> (Proc, Proc, std::path::PathBuf) {
    let dir = test_dir(name);
    std::fs::create_dir_all(dir.join("m")).unwrap();
    std::fs::create_dir_all(dir.join("r")).unwrap();
    let m = hematite(&dir.join("m"), &["--save", ""]);
    let r = hematite(&dir.join("r"), &["--save", ""]);
    (m, r, dir)
}

#[test]
fn a_replica_follows_its_master() {
    let (mp, rp, dir) = start_pair("repl");
    let (mut m, mut r) = (mp.raw(), rp.raw());
    writes(&mut m, "a");
    assert_eq!(r.cmd(&format!("REPLICAOF 127.0.0.1 {}", mp.port)), "+OK\r\n");
    assert_eq!(r.cmd(&format!("REPLICAOF 127.0.0.1 {}", mp.port)), "+OK Already connected to specified master\r\n");
    link_up(&mut r);
    same_data(&mut m, &mut r);
    writes(&mut m, "b");
    assert_eq!(m.cmd("WAIT 1 5000"), ":1\r\n");
    // WAIT for more replicas than there are, ended by CLIENT UNBLOCK:
    // the count by then, as Redis answers.
    let mut w = mp.raw();
    let id = w.cmd("CLIENT ID");
    w.send_cmd(&[b"WAIT", b"2", b"0"]);
    until("WAIT to block", || m.cmd(&format!("CLIENT UNBLOCK {}", id.trim_start_matches(':').trim())) == ":1\r\n");
    assert_eq!(w.read_reply(), b":1\r\n");
    same_data(&mut m, &mut r);
    assert_eq!(r.cmd("GET luab"), "$2\r\nxy\r\n");
    assert!(r.cmd("TTL ttla").starts_with(":"));
    assert_eq!(r.cmd("SET nope 1"), "-READONLY You can't write against a read only replica.\r\n");
    assert_eq!(r.cmd("GET s_a"), "$-1\r\n");
    assert_eq!(m.info_field("replication", "connected_slaves"), "1");
    assert_eq!(m.info_field("stats", "sync_full"), "1");
    let role = r.cmd("ROLE");
    assert!(
        role.starts_with(&format!("*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:{}\r\n$9\r\nconnected\r\n", mp.port)),
        "{role}"
    );
    // A broken link: the replica comes back with PSYNC and gets the rest.
    assert_eq!(m.cmd("CLIENT KILL TYPE replica"), ":1\r\n");
    writes(&mut m, "c");
    link_up(&mut r);
    until("the partial resync", || m.info_field("stats", "sync_partial_ok") == "1");
    same_data(&mut m, &mut r);
    assert_eq!(m.info_field("stats", "sync_full"), "1");
    // The link is a client of the replica (flags=M); killing it makes the
    // replica connect again.
    assert!(r.cmd("CLIENT LIST TYPE master").contains("flags=M"));
    assert_eq!(r.cmd("CLIENT KILL TYPE master"), ":1\r\n");
    link_up(&mut r);
    m.cmd("SET afterkill 1");
    same_data(&mut m, &mut r);
    // Keys expire on the master, which sends the DEL.
    m.cmd("SET short v PX 50");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(m.cmd("GET short"), "$-1\r\n");
    same_data(&mut m, &mut r);
    assert_eq!(r.cmd("EXISTS short"), ":0\r\n");
    // min-replicas-to-write counts replicas that acknowledged in time.
    assert_eq!(m.cmd("CONFIG SET min-replicas-to-write 2"), "+OK\r\n");
    assert_eq!(m.cmd("SET w 1"), "-NOREPLICAS Not enough good replicas to write.\r\n");
    assert_eq!(m.cmd("GET w"), "$-1\r\n");
    assert_eq!(m.cmd("CONFIG SET min-replicas-to-write 1"), "+OK\r\n");
    assert_eq!(m.cmd("SET w 1"), "+OK\r\n");
    assert_eq!(m.cmd("CONFIG SET min-replicas-to-write 0"), "+OK\r\n");
    // Promoted, it keeps its data and takes writes.
    assert_eq!(r.cmd("REPLICAOF NO ONE"), "+OK\r\n");
    assert_eq!(r.info_field("replication", "role"), "master");
    assert_eq!(r.cmd("SET mine 1"), "+OK\r\n");
    assert_eq!(r.cmd("GET sc"), "$1\r\nv\r\n");
    drop((mp, rp));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Three servers in a chain, master -> replica -> its replica, links up.
fn start_chain(name: &str) -> ((Proc, Proc, Proc, std::path::PathBuf), (Raw, Raw, Raw)) {
    let (mp, rp, dir) = start_pair(name);
    std::fs::create_dir_all(dir.join("s")).unwrap();
    let sp = hematite(&dir.join("s"), &["--save", ""]);
    let (m, mut r, mut s) = (mp.raw(), rp.raw(), sp.raw());
    r.cmd(&format!("REPLICAOF 127.0.0.1 {}", mp.port));
    link_up(&mut r);
    s.cmd(&format!("REPLICAOF 127.0.0.1 {}", rp.port));
    link_up(&mut s);
    ((mp, rp, sp, dir), (m, r, s))
}

#[test]
fn replicas_chain_and_resync_after_a_flush() {
    let ((mp, rp, sp, dir), (mut m, mut r, mut s)) = start_chain("chain");
    writes(&mut m, "a");
    m.cmd("FLUSHDB");
    writes(&mut m, "b");
    same_data(&mut m, &mut r);
    same_data(&mut m, &mut s);
    assert_eq!(s.info_field("replication", "master_replid"), m.info_field("replication", "master_replid"));
    drop((mp, rp, sp));
    let _ = std::fs::remove_dir_all(&dir);
}

/// replica-lazy-flush: the data a replica held before its full sync is
/// freed in the background and counted in lazyfreed_objects, as Redis.
#[test]
fn replica_lazy_flush_frees_the_old_data_in_the_background() {
    let (mp, rp, dir) = start_pair("repllazy");
    let (mut m, mut r) = (mp.raw(), rp.raw());
    writes(&mut m, "a");
    for i in 0..50 {
        r.cmd(&format!("SET old{i} v"));
    }
    r.cmd("SELECT 2");
    r.cmd("RPUSH oldlist a b c");
    r.cmd("SELECT 0");
    assert_eq!(r.cmd("CONFIG SET replica-lazy-flush yes"), "+OK\r\n");
    r.cmd(&format!("REPLICAOF 127.0.0.1 {}", mp.port));
    link_up(&mut r);
    same_data(&mut m, &mut r);
    until("the old keys to be freed", || r.info_field("memory", "lazyfreed_objects") == "51");
    assert_eq!(r.cmd("EXISTS old0"), ":0\r\n");
    drop((mp, rp));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A writable replica (replica-read-only no) in the middle of a chain:
/// keys its own clients give a TTL expire there (Redis's
/// expireSlaveKeys), keys from its master wait for the master's DEL, and
/// its own writes never reach its replica, which stays byte for byte its
/// master's master.
#[test]
fn a_writable_replica_expires_its_own_keys_and_passes_on_only_the_stream() {
    let ((mp, rp, sp, dir), (mut m, mut r, mut s)) = start_chain("replwritable");
    // The master's own key expires on the master only when it says so.
    assert_eq!(m.cmd("DEBUG SET-ACTIVE-EXPIRE 0"), "+OK\r\n");
    assert_eq!(m.cmd("SET fromm v PX 1"), "+OK\r\n");
    writes(&mut m, "a");
    same_data(&mut m, &mut r);
    assert_eq!(r.cmd("CONFIG SET replica-read-only no"), "+OK\r\n");
    for l in [
        "SET mine v PX 1",
        "SET later v",
        "PEXPIRE later 1",
        "SET keep v",
        "SET moved v PX 1",
        "RENAME moved moved2",
        "SET long v EX 100000",
        "SELECT 3",
        "SET in3 v PX 1",
        "SELECT 0",
    ] {
        assert!(!r.cmd(l).starts_with('-'), "{l}");
    }
    until("the replica to expire its own keys", || r.info_field("stats", "expired_keys") == "4");
    assert_eq!(r.cmd("EXISTS keep long"), ":2\r\n");
    // `fromm` is still there (DBSIZE counts it) though reads see it gone.
    assert_eq!(r.cmd("EXISTS fromm"), ":0\r\n");
    let n: i64 = m.cmd("DBSIZE").trim_start_matches(':').trim().parse().unwrap();
    assert_eq!(r.cmd("DBSIZE"), format!(":{}\r\n", n + 2));
    // The replica's replica has exactly the master's data and offset.
    writes(&mut m, "b");
    same_data(&mut m, &mut s);
    assert_eq!(s.cmd("EXISTS keep"), ":0\r\n");
    // Promoted, it expires every key again.
    assert_eq!(r.cmd("REPLICAOF NO ONE"), "+OK\r\n");
    // (the master still holds `fromm`; the replica now drops it.)
    let n: i64 = m.cmd("DBSIZE").trim_start_matches(':').trim().parse().unwrap();
    until("the promoted replica to expire the master's key", || r.cmd("DBSIZE") == format!(":{}\r\n", n + 1));
    drop((mp, rp, sp));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn replication_with_redis_on_either_side() {
    let Some(redis) = crate::diff::reference_bin() else {
        assert!(std::env::var("HEMATITE_SKIP_DIFF").is_ok(), "redis-server is needed (HEMATITE_SKIP_DIFF=1 to skip)");
        return;
    };
    let dir = test_dir("replredis");
    for d in ["rm", "hr", "hm", "rr"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    // redis-server master (diskless sync, EOF-marked), Hematite replica.
    let qm = spawn(&redis, &dir.join("rm"), &["--save", "", "--repl-diskless-sync-delay", "0"]);
    let hr = hematite(&dir.join("hr"), &["--save", ""]);
    let (mut m, mut r) = (qm.raw(), hr.raw());
    writes(&mut m, "a");
    r.cmd(&format!("REPLICAOF 127.0.0.1 {}", qm.port));
    link_up(&mut r);
    writes(&mut m, "b");
    assert_eq!(m.cmd("WAIT 1 5000"), ":1\r\n");
    same_data(&mut m, &mut r);
    // Hematite master, redis-server replica.
    let hm = hematite(&dir.join("hm"), &["--save", ""]);
    let qr = spawn(&redis, &dir.join("rr"), &["--save", ""]);
    let (mut m, mut r) = (hm.raw(), qr.raw());
    writes(&mut m, "a");
    r.cmd(&format!("REPLICAOF 127.0.0.1 {}", hm.port));
    link_up(&mut r);
    writes(&mut m, "b");
    assert_eq!(m.cmd("WAIT 1 5000"), ":1\r\n");
    same_data(&mut m, &mut r);
    drop((qm, hr, hm, qr));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Many clients on different cores write the same keys at once: the
/// replica and the AOF (reloaded) end with exactly the master's data, so
/// the stream's order is the order the writes took effect.
#[test]
fn concurrent_writers_keep_replica_and_aof_exact() {
    let dir = test_dir("replrace");
    std::fs::create_dir_all(dir.join("m")).unwrap();
    std::fs::create_dir_all(dir.join("r")).unwrap();
    let mp = hematite(&dir.join("m"), &["--save", "", "--appendonly", "yes"]);
    let rp = hematite(&dir.join("r"), &["--save", ""]);
    let mut r = rp.raw();
    r.cmd(&format!("REPLICAOF 127.0.0.1 {}", mp.port));
    link_up(&mut r);
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let mut c = mp.raw();
            std::thread::spawn(move || {
                for i in 0..300 {
                    let k = (i * 7 + t) % 13;
                    let line = match i % 9 {
                        0 => format!("SET s{k} t{t}i{i}"),
                        1 => format!("APPEND s{k} {t}"),
                        2 => format!("RPUSH l{k} {t}-{i}"),
                        3 => format!("LPOP l{k}"),
                        4 => format!("INCRBYFLOAT f{k} 0.{t}"),
                        5 => format!("ZADD z{k} {i} m{t}"),
                        6 => format!("SPOP set{k}"),
                        7 => format!("SADD set{k} {t} {i}"),
                        _ => format!("EVAL \"redis.call('incr', KEYS[1]); return redis.call('lpush', KEYS[2], ARGV[1])\" 2 n{k} l{k} {t}"),
                    };
                    let rep = c.cmd(&line);
                    assert!(!rep.starts_with('-') || rep.starts_with("-WRONGTYPE"), "{line}: {rep}");
                    if i % 50 == 0 {
                        c.cmd("MULTI");
                        c.cmd(&format!("INCR n{k}"));
                        c.cmd(&format!("RENAME s{k} s{}", (k + 1) % 13));
                        c.cmd("EXEC");
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut m = mp.raw();
    assert_eq!(m.cmd("WAIT 1 10000"), ":1\r\n");
    assert!(m.cmd("LLEN l3").trim_start_matches(':').trim().parse::<i64>().unwrap() > 0);
    assert!(m.cmd("GET n3").len() > 5);
    same_data(&mut m, &mut r);
    let digest = m.cmd("DEBUG DIGEST");
    assert_eq!(m.cmd("DEBUG LOADAOF"), "+OK\r\n");
    assert_eq!(m.cmd("DEBUG DIGEST"), digest);
    drop((mp, rp));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A replica connection only sends short acknowledgements: input that is
/// no protocol, or piles up, closes it instead of growing without bound.
#[test]
fn a_replica_connection_sending_junk_is_closed() {
    let dir = test_dir("repljunk");
    let mp = hematite(&dir, &["--save", ""]);
    let mut m = mp.raw();
    m.cmd("SET a 1");
    let mut r = mp.raw();
    r.send_cmd(&[b"PSYNC", b"?", b"-1"]);
    until("the replica to be online", || m.cmd("INFO replication").contains("state=online"));
    r.send(&vec![b'x'; 100 * 1024]);
    until("the replica to be dropped", || m.info_field("replication", "connected_slaves") == "0");
    drop(mp);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A replica loading its master's snapshot answers LOADING meanwhile.
#[test]
fn a_replica_loading_the_snapshot_answers_loading() {
    let (mp, rp, dir) = start_pair("replloading");
    let mut m = mp.raw();
    let mut r = rp.raw();
    assert_eq!(m.cmd("DEBUG POPULATE 20000 key 10"), "+OK\r\n");
    assert_eq!(r.cmd("SET mine 1"), "+OK\r\n");
    // 20000 keys at 1 ms each: the load outlasts the test.
    assert_eq!(r.cmd("CONFIG SET key-load-delay 1000"), "+OK\r\n");
    assert_eq!(r.cmd(&format!("REPLICAOF 127.0.0.1 {}", mp.port)), "+OK\r\n");
    until("the replica to load", || r.info_field("persistence", "loading") == "1");
    assert_eq!(r.cmd("GET mine"), "-LOADING Redis is loading the dataset in memory\r\n");
    assert_eq!(r.info_field("replication", "role"), "slave");
    drop(rp);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A master and its replica, in sync up to `before`, then paused (a paused
/// replica applies nothing) and one write (`lagging`) behind;
/// shutdown-timeout set on the master.
fn lagging_pair(name: &str, timeout: u32) -> (Proc, Proc, std::path::PathBuf, Raw, Raw) {
    let (mp, rp, dir) = start_pair(name);
    let (mut m, mut r) = (mp.raw(), rp.raw());
    assert_eq!(r.cmd(&format!("REPLICAOF 127.0.0.1 {}", mp.port)), "+OK\r\n");
    link_up(&mut r);
    assert_eq!(m.cmd("SET before 1"), "+OK\r\n");
    assert_eq!(m.cmd("WAIT 1 5000"), ":1\r\n");
    assert_eq!(m.cmd("SHUTDOWN ABORT"), "-ERR No shutdown in progress.\r\n");
    assert_eq!(r.cmd("CLIENT PAUSE 100000 WRITE"), "+OK\r\n");
    assert_eq!(m.cmd("SET lagging 1"), "+OK\r\n");
    assert_eq!(m.cmd(&format!("CONFIG SET shutdown-timeout {timeout}")), "+OK\r\n");
    (mp, rp, dir, m, r)
}

/// SHUTDOWN waits for lagging replicas (shutdown-timeout) with writes
/// paused; SHUTDOWN ABORT ends the wait; NOW skips it; once the replica
/// has taken the whole stream the master exits, nothing lost.
#[test]
fn shutdown_waits_for_replicas_and_can_be_aborted() {
    let (mut mp, _rp, dir, mut m, mut r) = lagging_pair("replshutdown", 60);
    let mut waiter = mp.raw();
    waiter.send_cmd(&[b"SHUTDOWN", b"NOSAVE"]);
    // Wait until the shutdown holds writes: a write from another client
    // then waits (seen as a blocked client).
    let mut w2 = mp.raw();
    until("the shutdown to start waiting", || m.cmd("CLIENT LIST").lines().any(|l| l.contains("cmd=shutdown")));
    w2.send_cmd(&[b"SET", b"held", b"1"]);
    until("the write to be held", || m.info_field("clients", "blocked_clients") != "0");
    assert_eq!(m.cmd("SHUTDOWN ABORT"), "+OK\r\n");
    assert_eq!(waiter.read_reply(), b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n");
    assert_eq!(w2.read_reply(), b"+OK\r\n");
    assert_eq!(m.cmd("PING"), "+PONG\r\n");
    // Again; this time the replica catches up and the master exits.
    waiter.send_cmd(&[b"SHUTDOWN", b"NOSAVE"]);
    until("the shutdown to start waiting", || m.cmd("CLIENT LIST").lines().any(|l| l.contains("cmd=shutdown")));
    assert_eq!(r.cmd("CLIENT UNPAUSE"), "+OK\r\n");
    assert!(mp.wait_exit().success());
    assert_eq!(r.cmd("GET lagging"), "$1\r\n1\r\n");
    assert_eq!(r.cmd("GET held"), "$1\r\n1\r\n");
    let _ = std::fs::remove_dir_all(&dir);
}

/// SHUTDOWN NOW does not wait for a lagging replica.
#[test]
fn shutdown_now_skips_the_wait() {
    let (mut mp, rp, dir, mut m, _r) = lagging_pair("replshutdownnow", 600);
    m.send_cmd(&[b"SHUTDOWN", b"NOSAVE", b"NOW"]);
    assert!(mp.wait_exit().success());
    drop(rp);
    let _ = std::fs::remove_dir_all(&dir);
}

/// replica-serve-stale-data no with the link down: scripts without flags
/// and scripts or functions without allow-stale get MASTERDOWN; with
/// allow-stale they run, but only commands flagged stale inside (replies
/// as redis-server 7.0.15 gives them).
#[test]
fn scripts_on_a_stale_replica() {
    let dir = test_dir("replstale");
    let p = hematite(&dir, &["--save", ""]);
    let mut r = p.raw();
    let lib = "#!lua name=stale\n\
        redis.register_function{function_name='f1', callback=function() return 'hello' end, flags={'no-writes'}}\n\
        redis.register_function{function_name='f2', callback=function() return 'hello' end, flags={'allow-stale', 'no-writes'}}\n\
        redis.register_function{function_name='f3', callback=function() return redis.call('get', 'x') end, flags={'allow-stale', 'no-writes'}}\n\
        redis.register_function{function_name='f4', callback=function() return redis.call('info', 'server') end, flags={'allow-stale', 'no-writes'}}";
    let mut call = |args: &[&str]| {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        r.send_cmd(&a);
        String::from_utf8_lossy(&r.read_reply()).into_owned()
    };
    assert_eq!(call(&["FUNCTION", "LOAD", lib]), "$5\r\nstale\r\n");
    // Before: everything runs.
    assert_eq!(call(&["FCALL", "f1", "0"]), "$5\r\nhello\r\n");
    assert_eq!(call(&["CONFIG", "SET", "replica-serve-stale-data", "no"]), "+OK\r\n");
    // Port 1: the link never comes up.
    assert_eq!(call(&["REPLICAOF", "127.0.0.1", "1"]), "+OK\r\n");
    let down = "-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.\r\n";
    assert_eq!(call(&["FCALL", "f1", "0"]), down);
    assert_eq!(call(&["FCALL_RO", "f1", "0"]), down);
    assert_eq!(call(&["FCALL", "f2", "0"]), "$5\r\nhello\r\n");
    assert_eq!(
        call(&["FCALL", "f3", "0"]),
        "-ERR Can not execute the command on a stale replica script: f3, on @user_function:4.\r\n"
    );
    assert!(call(&["FCALL", "f4", "0"]).contains("redis_version:"));
    assert_eq!(call(&["EVAL", "return 1", "0"]), down);
    assert_eq!(call(&["EVAL", "#!lua flags=no-writes\nreturn 1", "0"]), down);
    assert_eq!(call(&["EVAL", "#!lua flags=no-writes,allow-stale\nreturn 1", "0"]), ":1\r\n");
    assert!(call(&["EVAL", "#!lua flags=no-writes,allow-stale\nreturn redis.call('get', 'x')", "0"])
        .starts_with("-ERR Can not execute the command on a stale replica script: "));
    // Errors that come before the script's run stay as they are.
    assert_eq!(call(&["EVAL", "return 1", "-1"]), "-ERR Number of keys can't be negative\r\n");
    assert_eq!(
        call(&["EVALSHA", "0000000000000000000000000000000000000000", "0"]),
        "-NOSCRIPT No matching script. Please use EVAL.\r\n"
    );
    // A transaction queued while stale data was served, run once it is
    // not: refused if it holds a script whose flags lack allow-stale (or a
    // command not flagged stale), as Redis 7.0.15.
    let mut other = p.raw();
    let mut queued_then_stale = |cmd: &[&str]| {
        assert_eq!(call(&["CONFIG", "SET", "replica-serve-stale-data", "yes"]), "+OK\r\n");
        assert_eq!(call(&["MULTI"]), "+OK\r\n");
        assert_eq!(call(cmd), "+QUEUED\r\n");
        other.send_cmd(&[b"CONFIG", b"SET", b"replica-serve-stale-data", b"no"]);
        assert_eq!(other.read_reply(), b"+OK\r\n");
        let reply = call(&["EXEC"]);
        assert_eq!(call(&["EXEC"]), "-ERR EXEC without MULTI\r\n");
        reply
    };
    let aborted = "-EXECABORT Transaction discarded because of: MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.\r\n";
    assert_eq!(queued_then_stale(&["EVAL", "#!lua flags=no-writes\nreturn 1", "0"]), aborted);
    assert_eq!(queued_then_stale(&["FCALL", "f1", "0"]), aborted);
    assert_eq!(queued_then_stale(&["PING"]), aborted);
    assert_eq!(queued_then_stale(&["EVAL", "#!lua flags=no-writes,allow-stale\nreturn 1", "0"]), "*1\r\n:1\r\n");
    assert_eq!(queued_then_stale(&["FCALL", "f2", "0"]), "*1\r\n$5\r\nhello\r\n");
    assert_eq!(queued_then_stale(&["EVAL", "return 1", "0"]), format!("*1\r\n{down}"));
    // Stale data served again: scripts run.
    assert_eq!(call(&["CONFIG", "SET", "replica-serve-stale-data", "yes"]), "+OK\r\n");
    assert_eq!(call(&["EVAL", "return 1", "0"]), ":1\r\n");
    assert_eq!(call(&["FCALL", "f1", "0"]), "$5\r\nhello\r\n");
    drop(p);
    let _ = std::fs::remove_dir_all(&dir);
}

/// FAILOVER: the errors redis-server 7.0.15 gives, a handover to the
/// replica that caught up (the old master then follows it and has its
/// data), and an abort while waiting, which lets the paused writes go on.
#[test]
fn failover_hands_the_master_role_to_a_replica() {
    let (mp, rp, dir) = start_pair("failover");
    let (mut m, mut r) = (mp.raw(), rp.raw());
    assert_eq!(m.cmd("FAILOVER"), "-ERR FAILOVER requires connected replicas.\r\n");
    assert_eq!(m.cmd("FAILOVER ABORT"), "-ERR No failover in progress.\r\n");
    assert_eq!(m.cmd("FAILOVER TIMEOUT"), "-ERR syntax error\r\n");
    assert_eq!(m.cmd("FAILOVER TIMEOUT 0"), "-ERR FAILOVER timeout must be greater than 0\r\n");
    assert_eq!(m.cmd("FAILOVER TIMEOUT x"), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(m.cmd("FAILOVER TIMEOUT 5 TIMEOUT 6"), "-ERR syntax error\r\n");
    assert_eq!(m.cmd("FAILOVER FORCE FORCE"), "-ERR syntax error\r\n");
    r.cmd(&format!("REPLICAOF 127.0.0.1 {}", mp.port));
    link_up(&mut r);
    writes(&mut m, "a");
    assert_eq!(r.cmd("FAILOVER"), "-ERR FAILOVER is not valid when server is a replica.\r\n");
    assert_eq!(
        m.cmd("FAILOVER FORCE TIMEOUT 10"),
        "-ERR FAILOVER with force option requires both a timeout and target HOST and IP.\r\n"
    );
    assert_eq!(m.cmd("FAILOVER TO 127.0.0.1 1"), "-ERR FAILOVER target HOST and PORT is not a replica.\r\n");
    assert_eq!(r.cmd("PSYNC 0123 1 FAILOVER"), "-ERR PSYNC FAILOVER replid must match my replid.\r\n");
    assert_eq!(m.cmd("PSYNC 0123 1 FAILOVER"), "-ERR PSYNC FAILOVER can't be sent to a master.\r\n");

    // Waiting (the replica's stream held back by a pause): writes wait,
    // REPLICAOF is refused, ABORT ends it and the write goes through.
    assert_eq!(r.cmd("CLIENT PAUSE 100000 WRITE"), "+OK\r\n");
    assert_eq!(m.cmd("SET behind 1"), "+OK\r\n");
    assert_eq!(m.cmd("FAILOVER TIMEOUT 100000"), "+OK\r\n");
    assert_eq!(m.info_field("replication", "master_failover_state"), "waiting-for-sync");
    assert_eq!(m.cmd("FAILOVER"), "-ERR FAILOVER already in progress.\r\n");
    assert_eq!(m.cmd("REPLICAOF NO ONE"), "-ERR REPLICAOF not allowed while failing over.\r\n");
    let mut w = mp.raw();
    w.send_cmd(&[b"SET", b"waited", b"1"]);
    assert_eq!(m.cmd("GET behind"), "$1\r\n1\r\n");
    assert_eq!(m.cmd("FAILOVER ABORT"), "+OK\r\n");
    assert_eq!(w.read_reply(), b"+OK\r\n");
    assert_eq!(m.info_field("replication", "master_failover_state"), "no-failover");
    assert_eq!(m.info_field("replication", "role"), "master");
    // A timeout without FORCE gives up the same way.
    assert_eq!(m.cmd("FAILOVER TIMEOUT 200"), "+OK\r\n");
    until("the failover to time out", || m.info_field("replication", "master_failover_state") == "no-failover");
    assert_eq!(m.info_field("replication", "role"), "master");
    assert_eq!(m.cmd("SET after 1"), "+OK\r\n");
    assert_eq!(r.cmd("CLIENT UNPAUSE"), "+OK\r\n");

    // The handover, to the replica named.
    same_data(&mut m, &mut r);
    assert_eq!(m.cmd(&format!("FAILOVER TO 127.0.0.1 {}", rp.port)), "+OK\r\n");
    until("the replica to take over", || r.info_field("replication", "role") == "master");
    until("the old master to follow it", || {
        m.info_field("replication", "role") == "slave" && m.info_field("replication", "master_link_status") == "up"
    });
    assert_eq!(m.info_field("replication", "master_failover_state"), "no-failover");
    assert_eq!(m.info_field("replication", "master_port"), rp.port.to_string());
    assert_eq!(m.cmd("SET x 1"), "-READONLY You can't write against a read only replica.\r\n");
    writes(&mut r, "b");
    same_data(&mut r, &mut m);
    // No full sync was needed: the new master continued the stream.
    assert_eq!(r.info_field("stats", "sync_full"), "0");
    drop((mp, rp));
    let _ = std::fs::remove_dir_all(&dir);
}
