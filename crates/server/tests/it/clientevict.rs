//! Client eviction (maxmemory-clients): which connections are closed, and
//! when. Each test keeps its admin connection out of eviction with CLIENT
//! NO-EVICT, as Redis's own tests do.

use crate::common::*;

fn admin(t: &TestServer) -> Raw {
    let mut a = t.raw();
    assert_eq!(a.cmd("CLIENT NO-EVICT ON"), "+OK\r\n");
    a
}

fn named(t: &TestServer, name: &str) -> Raw {
    let mut r = t.raw();
    assert_eq!(r.cmd(&format!("CLIENT SETNAME {name}")), "+OK\r\n");
    r
}

fn evicted(a: &mut Raw) -> u64 {
    a.info_field("stats", "evicted_clients").parse().unwrap()
}

fn listed(a: &mut Raw, name: &str) -> bool {
    a.cmd("CLIENT LIST").contains(&format!("name={name} "))
}

fn field(a: &mut Raw, name: &str, f: &str) -> usize {
    let list = a.cmd("CLIENT LIST");
    let line = list.lines().find(|l| l.contains(&format!("name={name} "))).expect("client listed");
    let v = line.split(' ').find_map(|kv| kv.strip_prefix(&format!("{f}="))).expect("field");
    v.parse().unwrap()
}

/// Starts a command with one bulk argument of `len` bytes and sends
/// `sent` of them: the rest of the command never comes, so the bytes stay
/// in the query buffer.
fn partial(r: &mut Raw, len: usize, sent: usize) {
    let mut b = format!("*1\r\n${len}\r\n").into_bytes();
    b.resize(b.len() + sent, b'v');
    let _ = std::io::Write::write_all(&mut r.s, &b);
}

#[test]
fn off_by_default() {
    let t = TestServer::start();
    let mut a = t.raw();
    assert_eq!(a.cmd("CONFIG GET maxmemory-clients"), "*2\r\n$17\r\nmaxmemory-clients\r\n$1\r\n0\r\n");
    let mut big = named(&t, "big");
    partial(&mut big, 4_000_000, 3_000_000);
    wait_for(|| field(&mut a, "big", "qbuf") >= 3_000_000);
    assert!(field(&mut a, "big", "tot-mem") >= 3_000_000);
    assert_eq!(evicted(&mut a), 0);
}

#[test]
fn large_query_buffer_is_evicted() {
    let t = TestServer::with(&[("maxmemory-clients", "1mb")]);
    let mut a = admin(&t);
    let mut v = named(&t, "victim");
    partial(&mut v, 3_000_000, 2_000_000);
    assert!(v.reply_or_closed().is_none());
    wait_for(|| !listed(&mut a, "victim"));
    assert_eq!(evicted(&mut a), 1);
    // Others go on.
    assert_eq!(a.cmd("PING"), "+PONG\r\n");
    assert_eq!(a.cmd("CONFIG RESETSTAT"), "+OK\r\n");
    assert_eq!(evicted(&mut a), 0);
}

#[test]
fn no_evict_clients_stay() {
    let t = TestServer::with(&[("maxmemory-clients", "1mb")]);
    let mut a = admin(&t);
    let mut kept = named(&t, "kept");
    assert_eq!(kept.cmd("CLIENT NO-EVICT ON"), "+OK\r\n");
    let mut other = named(&t, "other");
    assert_eq!(other.cmd("PING"), "+PONG\r\n");
    // Over the limit on its own, the protected client stays, and the
    // others, however small, are evicted (Redis evicts every evictable
    // client before it gives up).
    partial(&mut kept, 3_000_000, 2_000_000);
    wait_for(|| !listed(&mut a, "other"));
    assert!(other.is_closed());
    assert!(listed(&mut a, "kept"));
    // (The other may go as soon as the first megabyte has come.)
    wait_for(|| field(&mut a, "kept", "tot-mem") >= 2_000_000);
    assert!(a.cmd("CLIENT LIST").contains("flags=e"));
    assert_eq!(evicted(&mut a), 1);
    assert_eq!(a.cmd("PING"), "+PONG\r\n");
}

#[test]
fn large_transaction_is_evicted() {
    let t = TestServer::with(&[("maxmemory-clients", "1mb")]);
    let mut a = admin(&t);
    let mut c = named(&t, "multi");
    let val = "v".repeat(300_000);
    assert_eq!(c.cmd("MULTI"), "+OK\r\n");
    assert_eq!(c.cmd(&format!("SET k {val}")), "+QUEUED\r\n");
    assert_eq!(c.cmd("EXEC"), "*1\r\n+OK\r\n");
    assert_eq!(c.cmd("MULTI"), "+OK\r\n");
    let mut closed = false;
    for _ in 0..10 {
        c.send_cmd(&[b"SET", b"k", val.as_bytes()]);
        match c.reply_or_closed() {
            Some(r) => assert_eq!(r, b"+QUEUED\r\n"),
            None => {
                closed = true;
                break;
            }
        }
    }
    assert!(closed);
    wait_for(|| !listed(&mut a, "multi"));
    assert_eq!(evicted(&mut a), 1);
}

/// Sends `cmd <i>` for i in 0.. in pipelined rounds until the connection
/// is closed; returns how many were sent.
fn grow_until_closed(c: &mut Raw, cmd: &str, max: usize) -> Option<usize> {
    let mut i = 0;
    while i < max {
        let mut b = Vec::new();
        for _ in 0..500 {
            b.extend_from_slice(&encode(&[cmd.as_bytes(), format!("key:{i}").as_bytes()]));
            i += 1;
        }
        if std::io::Write::write_all(&mut c.s, &b).is_err() {
            return Some(i);
        }
        for _ in 0..500 {
            if c.reply_or_closed().is_none() {
                return Some(i);
            }
        }
    }
    None
}

#[test]
fn watched_keys_and_subscriptions_count() {
    let t = TestServer::with(&[("maxmemory-clients", "200000")]);
    let mut a = admin(&t);
    for cmd in ["WATCH", "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE"] {
        let mut c = t.raw();
        let n = grow_until_closed(&mut c, cmd, 200_000).unwrap_or_else(|| panic!("{cmd}: never evicted"));
        assert!(n > 100, "{cmd}: evicted after {n}");
    }
    assert_eq!(evicted(&mut a), 4);
}

#[test]
fn unread_output_is_evicted() {
    let t = TestServer::with(&[("maxmemory-clients", "2mb"), ("client-output-buffer-limit", "pubsub 0 0 0")]);
    let mut a = admin(&t);
    let mut sub = named(&t, "slow");
    assert!(sub.cmd("SUBSCRIBE ch").contains("subscribe"));
    // The subscriber never reads again; the publisher is small.
    let mut p = t.raw();
    let msg = "m".repeat(100_000);
    let mut n = 0;
    while listed(&mut a, "slow") {
        n += 1;
        assert!(n < 2000, "never evicted");
        p.send_cmd(&[b"PUBLISH", b"ch", msg.as_bytes()]);
        let _ = p.read_reply();
    }
    assert_eq!(evicted(&mut a), 1);
    assert_eq!(p.cmd("PING"), "+PONG\r\n");
}

#[test]
fn largest_first_and_only_until_below() {
    let t = TestServer::start();
    let mut a = admin(&t);
    let mut held = Vec::new();
    for (name, size) in [("small", 400_000), ("large", 1_600_000), ("medium", 900_000)] {
        let mut c = named(&t, name);
        partial(&mut c, size + 1000, size);
        wait_for(|| field(&mut a, name, "qbuf") >= size);
        held.push(c);
    }
    let total: usize = a
        .cmd("CLIENT LIST")
        .lines()
        .filter_map(|l| l.split(' ').find_map(|kv| kv.strip_prefix("tot-mem=")))
        .map(|v| v.parse::<usize>().unwrap())
        .sum();
    let small = field(&mut a, "small", "tot-mem");
    // Lowering the limit just under the total evicts one client: the
    // largest one.
    assert_eq!(a.cmd(&format!("CONFIG SET maxmemory-clients {}", total - small / 2)), "+OK\r\n");
    wait_for(|| !listed(&mut a, "large"));
    assert!(listed(&mut a, "medium"));
    assert!(listed(&mut a, "small"));
    assert_eq!(evicted(&mut a), 1);
    // Percent of maxmemory, with maxmemory off: no limit.
    assert_eq!(a.cmd("CONFIG SET maxmemory-clients 1%"), "+OK\r\n");
    assert!(listed(&mut a, "small"));
    // A limit below 128 KiB counts as 128 KiB: the two left are over it.
    assert_eq!(a.cmd("CONFIG SET maxmemory-clients 1"), "+OK\r\n");
    wait_for(|| !listed(&mut a, "medium") && !listed(&mut a, "small"));
    assert_eq!(evicted(&mut a), 3);
    assert_eq!(a.cmd("PING"), "+PONG\r\n");
}
