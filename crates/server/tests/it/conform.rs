//! Regressions found by running Redis's own tcl test suite against Hematite
//! (docs/conformance.md): behaviours that need more than one connection.

use crate::blocking::{reply, send, wait_blocked};
use crate::common::*;
use std::time::{Duration, Instant};

/// unit/type/list "SWAPDB awakes blocked client": a client blocked on a key
/// of db 9 is served when SWAPDB brings in a database where the key exists.
#[test]
fn swapdb_serves_blocked_clients() {
    let t = TestServer::start();
    let (mut w, mut p) = (t.raw(), t.raw());
    assert_eq!(p.cmd("SELECT 1"), "+OK\r\n");
    assert_eq!(p.cmd("RPUSH k hello"), ":1\r\n");
    assert_eq!(w.cmd("SELECT 9"), "+OK\r\n");
    send(&mut w, "BRPOP k 0");
    wait_blocked(&t, 1);
    assert_eq!(p.cmd("SWAPDB 1 9"), "+OK\r\n");
    assert_eq!(reply(&mut w), "*2\r\n$1\r\nk\r\n$5\r\nhello\r\n");
    wait_blocked(&t, 0);
    // A blocked client whose key is still missing after the swap stays blocked.
    send(&mut w, "BLPOP nokey 0");
    wait_blocked(&t, 1);
    assert_eq!(p.cmd("SWAPDB 1 9"), "+OK\r\n");
    assert_eq!(p.cmd("SELECT 9"), "+OK\r\n");
    assert_eq!(p.cmd("RPUSH nokey x"), ":1\r\n");
    assert_eq!(reply(&mut w), "*2\r\n$5\r\nnokey\r\n$1\r\nx\r\n");
}

/// unit/pubsub "PubSub messages with CLIENT REPLY OFF": subscription
/// confirmations are pushed even when replies are off (RESP2 and RESP3).
#[test]
fn subscriptions_confirmed_with_replies_off() {
    let t = TestServer::start();
    for hello in ["HELLO 2", "HELLO 3"] {
        let (mut s, mut p) = (t.raw(), t.raw());
        s.cmd(hello);
        let h = if hello == "HELLO 3" { ">" } else { "*" };
        send(&mut s, "CLIENT REPLY OFF");
        send(&mut s, "SUBSCRIBE ch");
        assert_eq!(reply(&mut s), format!("{h}3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"));
        send(&mut s, "PSUBSCRIBE c*");
        assert_eq!(reply(&mut s), format!("{h}3\r\n$10\r\npsubscribe\r\n$2\r\nc*\r\n:2\r\n"));
        assert_eq!(p.cmd("PUBLISH ch m"), ":2\r\n");
        assert_eq!(reply(&mut s), format!("{h}3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nm\r\n"));
        assert_eq!(reply(&mut s), format!("{h}4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$1\r\nm\r\n"));
        send(&mut s, "UNSUBSCRIBE ch");
        assert_eq!(reply(&mut s), format!("{h}3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:1\r\n"));
        // Errors and ordinary replies stay silent.
        send(&mut s, "SUBSCRIBE");
        send(&mut s, "PUNSUBSCRIBE");
        assert_eq!(reply(&mut s), format!("{h}3\r\n$12\r\npunsubscribe\r\n$2\r\nc*\r\n:0\r\n"));
        if hello == "HELLO 3" {
            send(&mut s, "PING");
            send(&mut s, "CLIENT REPLY ON");
            assert_eq!(reply(&mut s), "+OK\r\n");
        }
    }
    // CLIENT REPLY SKIP: the confirmation of the skipped command is still sent.
    let mut s = t.raw();
    s.cmd("HELLO 3");
    send(&mut s, "CLIENT REPLY SKIP");
    send(&mut s, "SUBSCRIBE x");
    assert_eq!(reply(&mut s), ">3\r\n$9\r\nsubscribe\r\n$1\r\nx\r\n:1\r\n");
    assert_eq!(s.cmd("PING"), "+PONG\r\n");
}

/// unit/tracking "Tracking only occurs for scripts when a command calls a
/// read-only command": a script that read anything makes its declared keys
/// tracked (not the keys of the calls inside it).
#[test]
fn scripts_track_their_declared_keys() {
    let t = TestServer::start();
    let (mut c, mut w) = (t.raw(), t.raw());
    c.cmd("HELLO 3");
    assert_eq!(c.cmd("CLIENT TRACKING on"), "+OK\r\n");
    // No read: nothing tracked.
    assert_eq!(c.cmd("EVAL \"redis.call('set', 'k3', 'bar')\" 2 k1 k2"), "_\r\n");
    assert_eq!(w.cmd("MSET k2 1 k1 1 k3 1"), "+OK\r\n");
    // A read of k3: k1 and k2 are tracked.
    assert_eq!(c.cmd("EVAL \"redis.call('get', 'k3')\" 2 k1 k2"), "_\r\n");
    assert_eq!(w.cmd("MSET k3 2 k2 2 k1 2"), "+OK\r\n");
    assert_eq!(reply(&mut c), ">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nk2\r\n");
    assert_eq!(reply(&mut c), ">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nk1\r\n");
    // EVAL_RO behaves the same.
    assert_eq!(c.cmd("EVAL_RO \"redis.call('ping')\" 1 k1"), "_\r\n");
    assert_eq!(w.cmd("SET k1 3"), "+OK\r\n");
    assert_eq!(c.cmd("EVAL_RO \"redis.call('get', 'k3')\" 1 k1"), "_\r\n");
    assert_eq!(w.cmd("SET k1 4"), "+OK\r\n");
    assert_eq!(reply(&mut c), ">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nk1\r\n");
    assert_eq!(c.cmd("PING"), "+PONG\r\n");
}

/// unit/pause: a client held back by CLIENT PAUSE counts in INFO's
/// blocked_clients (the suite waits on that count).
#[test]
fn paused_clients_count_as_blocked() {
    let t = TestServer::start();
    let (mut c, mut w) = (t.raw(), t.raw());
    let blocked = |c: &mut Raw| {
        let info = c.cmd("INFO clients");
        let line = info.lines().find(|l| l.starts_with("blocked_clients:")).unwrap().to_string();
        line["blocked_clients:".len()..].parse::<usize>().unwrap()
    };
    let wait_one = |c: &mut Raw| {
        let t0 = Instant::now();
        while blocked(c) != 1 {
            assert!(t0.elapsed() < Duration::from_secs(10), "the paused client is not counted");
            std::thread::sleep(Duration::from_millis(2));
        }
    };
    assert_eq!(c.cmd("CLIENT PAUSE 60000 WRITE"), "+OK\r\n");
    send(&mut w, "SET foo bar");
    wait_one(&mut c);
    assert_eq!(c.cmd("CLIENT UNPAUSE"), "+OK\r\n");
    assert_eq!(reply(&mut w), "+OK\r\n");
    assert_eq!(blocked(&mut c), 0);
    // EXEC of a transaction that writes waits too; one that only reads runs.
    assert_eq!(w.cmd("MULTI"), "+OK\r\n");
    assert_eq!(w.cmd("GET foo"), "+QUEUED\r\n");
    assert_eq!(c.cmd("CLIENT PAUSE 60000 WRITE"), "+OK\r\n");
    assert_eq!(w.cmd("EXEC"), "*1\r\n$3\r\nbar\r\n");
    assert_eq!(c.cmd("CLIENT UNPAUSE"), "+OK\r\n");
    assert_eq!(w.cmd("MULTI"), "+OK\r\n");
    assert_eq!(w.cmd("SET foo baz"), "+QUEUED\r\n");
    assert_eq!(c.cmd("CLIENT PAUSE 60000 WRITE"), "+OK\r\n");
    send(&mut w, "EXEC");
    wait_one(&mut c);
    assert_eq!(c.cmd("GET foo"), "$3\r\nbar\r\n");
    assert_eq!(c.cmd("CLIENT UNPAUSE"), "+OK\r\n");
    assert_eq!(reply(&mut w), "*1\r\n+OK\r\n");
}

/// unit/tracking "Tracking gets notification on tracking table key
/// eviction": lowering tracking-table-max-keys drops keys at once, with an
/// invalidation for each.
#[test]
fn lowering_the_tracking_table_limit_invalidates() {
    let t = TestServer::start();
    let (mut c, mut w) = (t.raw(), t.raw());
    c.cmd("HELLO 3");
    assert_eq!(c.cmd("CLIENT TRACKING on"), "+OK\r\n");
    assert_eq!(c.cmd("MGET k1 k2"), "*2\r\n_\r\n_\r\n");
    assert_eq!(w.cmd("CONFIG SET tracking-table-max-keys 1"), "+OK\r\n");
    // Which key goes is unspecified (Redis picks at random); the other stays.
    let msg = |k: &str| format!(">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\n{k}\r\n");
    let first = reply(&mut c);
    let kept = if first == msg("k1") { "k2" } else { "k1" };
    assert!(first == msg("k1") || first == msg("k2"), "{first:?}");
    assert_eq!(w.cmd(&format!("SET {kept} v")), "+OK\r\n");
    assert_eq!(reply(&mut c), msg(kept));
    assert_eq!(w.cmd("CONFIG SET tracking-table-max-keys 1000000"), "+OK\r\n");
}

/// unit/multi "EXEC and script timeout": an EXEC refused because a script
/// is busy discards the transaction, with the reason in an EXECABORT.
#[test]
fn exec_refused_while_busy_discards_the_transaction() {
    let t = TestServer::with(&[("busy-reply-threshold", "10")]);
    let addr = t.addr;
    let (mut b, mut m) = (t.raw(), t.raw());
    assert_eq!(b.cmd("SET xx 1"), "+OK\r\n");
    assert_eq!(m.cmd("MULTI"), "+OK\r\n");
    assert_eq!(m.cmd("INCR xx"), "+QUEUED\r\n");
    let runner = std::thread::spawn(move || Raw::connect(addr).cmd("EVAL \"while true do end\" 0"));
    while !b.cmd("PING").starts_with("-BUSY") {
        std::thread::sleep(Duration::from_millis(5));
    }
    let busy = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
    assert_eq!(m.cmd("INCR xx"), format!("-{busy}\r\n"));
    let abort = format!("-EXECABORT Transaction discarded because of: {busy}\r\n");
    assert_eq!(m.cmd("EXEC"), abort);
    // Out of MULTI now; a second EXEC is refused the same way (as in Redis).
    assert_eq!(m.cmd("EXEC"), abort);
    assert_eq!(b.cmd("SCRIPT KILL"), "+OK\r\n");
    assert!(runner.join().unwrap().starts_with("-ERR Script killed"));
    assert_eq!(m.cmd("EXEC"), "-ERR EXEC without MULTI\r\n");
    assert_eq!(b.cmd("GET xx"), "$1\r\n1\r\n");
}

/// unit/type/stream-cgroups "Blocking XREADGROUP: key type changed with
/// SET": a stream overwritten by another type ends the wait with an error.
#[test]
fn xreadgroup_wait_ends_when_the_stream_is_overwritten() {
    let t = TestServer::start();
    let (mut w, mut p) = (t.raw(), t.raw());
    for change in ["SET mystream x", "DEL mystream", "MSET mystream y", "FLUSHDB", "FLUSHALL"] {
        p.cmd("DEL mystream");
        assert_eq!(p.cmd("XADD mystream 666 f v"), "$5\r\n666-0\r\n");
        assert_eq!(p.cmd("XGROUP CREATE mystream mygroup $"), "+OK\r\n");
        send(&mut w, "XREADGROUP GROUP mygroup Alice BLOCK 0 STREAMS mystream >");
        wait_blocked(&t, 1);
        p.cmd(change);
        assert_eq!(reply(&mut w), "-UNBLOCKED the stream key no longer exists\r\n", "{change}");
        wait_blocked(&t, 0);
    }
    // XREAD (no group) keeps waiting for a stream, as in Redis.
    p.cmd("DEL mystream");
    send(&mut w, "XREAD BLOCK 0 STREAMS mystream $");
    wait_blocked(&t, 1);
    assert_eq!(p.cmd("SET mystream x"), "+OK\r\n");
    assert_eq!(p.cmd("DEL mystream"), ":1\r\n");
    assert_eq!(p.cmd("XADD mystream 1-1 f v"), "$3\r\n1-1\r\n");
    assert_eq!(reply(&mut w), "*1\r\n*2\r\n$8\r\nmystream\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
}

/// unit/type/zset "BZPOPMIN, ZADD + DEL + SET should not awake blocked
/// client": a key left holding another type does not serve the waiter.
#[test]
fn bzpop_waits_through_a_key_of_another_type() {
    let t = TestServer::start();
    let (mut w, mut p) = (t.raw(), t.raw());
    for pop in ["BZPOPMIN zset 0", "BZMPOP 0 1 zset MIN"] {
        send(&mut w, pop);
        wait_blocked(&t, 1);
        assert_eq!(p.cmd("MULTI"), "+OK\r\n");
        for c in ["ZADD zset 0 foo", "DEL zset", "SET zset foo"] {
            assert_eq!(p.cmd(c), "+QUEUED\r\n");
        }
        assert_eq!(p.cmd("EXEC"), "*3\r\n:1\r\n:1\r\n+OK\r\n");
        assert_eq!(p.cmd("DEL zset"), ":1\r\n");
        assert_eq!(p.cmd("ZADD zset 1 bar"), ":1\r\n");
        let want = if pop.starts_with("BZPOPMIN") {
            "*3\r\n$4\r\nzset\r\n$3\r\nbar\r\n$1\r\n1\r\n"
        } else {
            "*2\r\n$4\r\nzset\r\n*1\r\n*2\r\n$3\r\nbar\r\n$1\r\n1\r\n"
        };
        assert_eq!(reply(&mut w), want);
        wait_blocked(&t, 0);
    }
}

/// unit/tracking "Tracking info is correct": keys left in the tracking table
/// by a client that turned tracking off go with FLUSHALL.
#[test]
fn flushall_empties_the_tracking_table() {
    let t = TestServer::start();
    let mut c = t.raw();
    let keys = |c: &mut Raw| {
        let info = c.cmd("INFO stats");
        info.lines().find(|l| l.starts_with("tracking_total_keys:")).unwrap().trim().to_string()
    };
    assert_eq!(c.cmd("CLIENT TRACKING on"), "+OK\r\n");
    assert_eq!(c.cmd("GET k"), "$-1\r\n");
    assert_eq!(keys(&mut c), "tracking_total_keys:1");
    assert_eq!(c.cmd("CLIENT TRACKING off"), "+OK\r\n");
    assert_eq!(keys(&mut c), "tracking_total_keys:1");
    assert_eq!(c.cmd("FLUSHALL"), "+OK\r\n");
    assert_eq!(keys(&mut c), "tracking_total_keys:0");
}

/// unit/type/stream-cgroups "XGROUP DESTROY should unblock XREADGROUP with
/// -NOGROUP": a blocked command served later is one call in commandstats.
#[test]
fn a_served_blocked_command_is_one_call() {
    let t = TestServer::start();
    let (mut w, mut p) = (t.raw(), t.raw());
    let stat = |p: &mut Raw, cmd: &str| {
        let info = p.cmd("INFO commandstats");
        let prefix = format!("cmdstat_{cmd}:");
        let line = info.lines().find(|l| l.starts_with(&prefix)).unwrap_or_default().to_string();
        line.split(',').filter(|f| !f.contains("usec")).collect::<Vec<_>>().join(",")
    };
    assert_eq!(p.cmd("CONFIG RESETSTAT"), "+OK\r\n");
    send(&mut w, "BLPOP l 0");
    wait_blocked(&t, 1);
    assert_eq!(p.cmd("RPUSH l a"), ":1\r\n");
    assert_eq!(reply(&mut w), "*2\r\n$1\r\nl\r\n$1\r\na\r\n");
    assert_eq!(stat(&mut p, "blpop"), "cmdstat_blpop:calls=1,rejected_calls=0,failed_calls=0");
    assert_eq!(p.cmd("XGROUP CREATE s g $ MKSTREAM"), "+OK\r\n");
    send(&mut w, "XREADGROUP GROUP g c BLOCK 0 STREAMS s >");
    wait_blocked(&t, 1);
    assert_eq!(p.cmd("XGROUP DESTROY s g"), ":1\r\n");
    assert_eq!(reply(&mut w), "-NOGROUP the consumer group this client was blocked on no longer exists\r\n");
    assert_eq!(stat(&mut p, "xreadgroup"), "cmdstat_xreadgroup:calls=1,rejected_calls=0,failed_calls=1");
}

/// unit/pause "Test RO scripts are not blocked by pause RO": EVAL of a
/// script flagged no-writes runs during a WRITE pause.
#[test]
fn no_writes_eval_runs_during_a_write_pause() {
    let t = TestServer::start();
    let mut c = t.raw();
    assert_eq!(c.cmd("CLIENT PAUSE 600000 WRITE"), "+OK\r\n");
    assert_eq!(c.cmd("EVAL \"#!lua flags=no-writes\\nreturn 'ro'\" 0"), "$2\r\nro\r\n");
    assert_eq!(c.cmd("EVAL_RO \"return 'ro2'\" 0"), "$3\r\nro2\r\n");
    assert_eq!(c.cmd("CLIENT UNPAUSE"), "+OK\r\n");
}
