//! Blocking commands across connections: a waiter on one connection, a
//! writer on another. Tests synchronise on the server's count of blocked
//! clients (never on elapsed time) before writing.

use crate::common::*;
use std::time::{Duration, Instant};

/// Waits until exactly `n` clients are blocked (bounded).
pub fn wait_blocked(t: &TestServer, n: usize) {
    let t0 = Instant::now();
    while t.srv.blocking.blocked_clients() != n {
        assert!(t0.elapsed() < Duration::from_secs(10), "expected {n} blocked clients");
        std::thread::sleep(Duration::from_millis(2));
    }
}

pub fn send(r: &mut Raw, line: &str) {
    let args = split(line);
    let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
    r.send_cmd(&refs);
}

pub fn reply(r: &mut Raw) -> String {
    String::from_utf8_lossy(&r.read_reply()).into_owned()
}

#[test]
fn blpop_is_served_by_a_push() {
    let t = TestServer::start();
    let (mut w, mut p) = (t.raw(), t.raw());
    send(&mut w, "BLPOP k 0");
    wait_blocked(&t, 1);
    assert_eq!(p.cmd("RPUSH k a"), ":1\r\n");
    assert_eq!(reply(&mut w), "*2\r\n$1\r\nk\r\n$1\r\na\r\n");
    wait_blocked(&t, 0);
    assert_eq!(p.cmd("EXISTS k"), ":0\r\n");
    // The connection goes on normally.
    assert_eq!(w.cmd("PING"), "+PONG\r\n");
}

#[test]
fn waiters_are_served_first_come_first_served() {
    let t = TestServer::start();
    let mut ws: Vec<Raw> = (0..3).map(|_| t.raw()).collect();
    for (i, w) in ws.iter_mut().enumerate() {
        send(w, "BRPOP k 0");
        wait_blocked(&t, i + 1);
    }
    let mut p = t.raw();
    assert_eq!(p.cmd("LPUSH k a b c d"), ":4\r\n");
    let got: Vec<String> = ws.iter_mut().map(reply).collect();
    assert_eq!(got, ["*2\r\n$1\r\nk\r\n$1\r\na\r\n", "*2\r\n$1\r\nk\r\n$1\r\nb\r\n", "*2\r\n$1\r\nk\r\n$1\r\nc\r\n"]);
    assert_eq!(p.cmd("LRANGE k 0 -1"), "*1\r\n$1\r\nd\r\n");
}

#[test]
fn several_keys_and_the_key_that_got_data() {
    let t = TestServer::start();
    let (mut w, mut p) = (t.raw(), t.raw());
    send(&mut w, "BLPOP a b c 0");
    wait_blocked(&t, 1);
    p.cmd("SET x y");
    assert_eq!(p.cmd("RPUSH b v"), ":1\r\n");
    assert_eq!(reply(&mut w), "*2\r\n$1\r\nb\r\n$1\r\nv\r\n");
    // With data present nothing blocks, and the first non-empty key wins.
    p.cmd("RPUSH c 1");
    p.cmd("RPUSH b 2");
    assert_eq!(w.cmd("BLPOP a b c 0"), "*2\r\n$1\r\nb\r\n$1\r\n2\r\n");
}

#[test]
fn timeouts_reply_null() {
    let t = TestServer::start();
    let mut w = t.raw();
    assert_eq!(w.cmd("BLPOP k 0.05"), "*-1\r\n");
    assert_eq!(w.cmd("BRPOP k 0.05"), "*-1\r\n");
    assert_eq!(w.cmd("BLMPOP 0.05 1 k LEFT"), "*-1\r\n");
    // Redis 7.0 times every list command out with a null array.
    assert_eq!(w.cmd("BLMOVE k d LEFT LEFT 0.05"), "*-1\r\n");
    assert_eq!(w.cmd("BRPOPLPUSH k d 0.05"), "*-1\r\n");
    w.cmd("HELLO 3");
    assert_eq!(w.cmd("BLPOP k 0.05"), "_\r\n");
    assert_eq!(w.cmd("BLMOVE k d LEFT LEFT 0.05"), "_\r\n");
    assert_eq!(t.srv.blocking.blocked_clients(), 0);
    assert_eq!(w.cmd("BLPOP k -1"), "-ERR timeout is negative\r\n");
    assert_eq!(w.cmd("BLPOP k x"), "-ERR timeout is not a float or out of range\r\n");
}

#[test]
fn blmove_chain() {
    let t = TestServer::start();
    let (mut w1, mut w2, mut w3, mut p) = (t.raw(), t.raw(), t.raw(), t.raw());
    send(&mut w1, "BLMOVE a b LEFT RIGHT 0");
    wait_blocked(&t, 1);
    send(&mut w2, "BRPOPLPUSH b c 0");
    wait_blocked(&t, 2);
    send(&mut w3, "BLPOP c 0");
    wait_blocked(&t, 3);
    assert_eq!(p.cmd("RPUSH a x"), ":1\r\n");
    assert_eq!(reply(&mut w1), "$1\r\nx\r\n");
    assert_eq!(reply(&mut w2), "$1\r\nx\r\n");
    assert_eq!(reply(&mut w3), "*2\r\n$1\r\nc\r\n$1\r\nx\r\n");
    wait_blocked(&t, 0);
    assert_eq!(p.cmd("EXISTS a b c"), ":0\r\n");
}

#[test]
fn blmove_to_a_wrong_type_gets_the_error() {
    let t = TestServer::start();
    let (mut w, mut p) = (t.raw(), t.raw());
    p.cmd("SET d str");
    send(&mut w, "BLMOVE s d LEFT LEFT 0");
    wait_blocked(&t, 1);
    p.cmd("RPUSH s x");
    assert_eq!(reply(&mut w), "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    assert_eq!(p.cmd("LRANGE s 0 -1"), "*1\r\n$1\r\nx\r\n");
}

#[test]
fn blmpop_served_with_count() {
    let t = TestServer::start();
    let (mut w, mut p) = (t.raw(), t.raw());
    send(&mut w, "BLMPOP 0 2 a b RIGHT COUNT 2");
    wait_blocked(&t, 1);
    p.cmd("RPUSH b 1 2 3");
    assert_eq!(reply(&mut w), "*2\r\n$1\r\nb\r\n*2\r\n$1\r\n3\r\n$1\r\n2\r\n");
    assert_eq!(p.cmd("LRANGE b 0 -1"), "*1\r\n$1\r\n1\r\n");
}

#[test]
fn a_disconnected_waiter_takes_nothing() {
    let t = TestServer::start();
    let mut p = t.raw();
    {
        let mut w = t.raw();
        send(&mut w, "BLPOP k 0");
        wait_blocked(&t, 1);
    }
    wait_blocked(&t, 0);
    assert_eq!(p.cmd("RPUSH k a"), ":1\r\n");
    assert_eq!(p.cmd("LLEN k"), ":1\r\n");
}

#[test]
fn killed_waiter_is_unregistered() {
    let t = TestServer::start();
    let mut w = t.raw();
    let id = w.cmd("HELLO 2");
    assert!(id.contains("id"));
    send(&mut w, "BLPOP k 0");
    wait_blocked(&t, 1);
    for c in t.srv.clients.all() {
        c.request_kill();
    }
    wait_blocked(&t, 0);
    assert!(w.is_closed());
}

#[test]
fn client_unblock_timeout_and_error() {
    let t = TestServer::start();
    let (mut w, mut p) = (t.raw(), t.raw());
    let id = {
        let h = w.cmd("HELLO 2");
        let after = h.split("$2\r\nid\r\n:").nth(1).unwrap();
        after.split("\r\n").next().unwrap().to_string()
    };
    send(&mut w, "BLPOP k 0");
    wait_blocked(&t, 1);
    assert_eq!(p.cmd(&format!("CLIENT UNBLOCK {id}")), ":1\r\n");
    assert_eq!(reply(&mut w), "*-1\r\n");
    send(&mut w, "BLMOVE k d LEFT LEFT 0");
    wait_blocked(&t, 1);
    assert_eq!(p.cmd(&format!("CLIENT UNBLOCK {id} TIMEOUT")), ":1\r\n");
    assert_eq!(reply(&mut w), "*-1\r\n");
    send(&mut w, "BLPOP k 0");
    wait_blocked(&t, 1);
    assert_eq!(p.cmd(&format!("CLIENT UNBLOCK {id} error")), ":1\r\n");
    assert_eq!(reply(&mut w), "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
    wait_blocked(&t, 0);
    assert_eq!(p.cmd(&format!("CLIENT UNBLOCK {id}")), ":0\r\n");
    assert_eq!(p.cmd("CLIENT UNBLOCK 1 FOO"), "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n");
    assert_eq!(p.cmd("CLIENT UNBLOCK x"), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(
        p.cmd("CLIENT UNBLOCK 1 2 3"),
        "-ERR unknown subcommand or wrong number of arguments for 'UNBLOCK'. Try CLIENT HELP.\r\n"
    );
}

#[test]
fn pipelined_commands_wait_for_the_blocked_one() {
    let t = TestServer::start();
    let (mut w, mut p) = (t.raw(), t.raw());
    let mut batch = encode(&[b"BLPOP", b"k", b"0"]);
    batch.extend(encode(&[b"PING"]));
    batch.extend(encode(&[b"LLEN", b"k"]));
    w.send(&batch);
    wait_blocked(&t, 1);
    p.cmd("RPUSH k a b");
    assert_eq!(reply(&mut w), "*2\r\n$1\r\nk\r\n$1\r\na\r\n");
    assert_eq!(reply(&mut w), "+PONG\r\n");
    assert_eq!(reply(&mut w), ":1\r\n");
}

#[test]
fn databases_are_separate() {
    let t = TestServer::start();
    let (mut w, mut p) = (t.raw(), t.raw());
    w.cmd("SELECT 1");
    send(&mut w, "BLPOP k 0");
    wait_blocked(&t, 1);
    p.cmd("RPUSH k in0");
    p.cmd("SELECT 1");
    p.cmd("RPUSH k in1");
    assert_eq!(reply(&mut w), "*2\r\n$1\r\nk\r\n$3\r\nin1\r\n");
    p.cmd("SELECT 0");
    assert_eq!(p.cmd("LLEN k"), ":1\r\n");
}

#[test]
fn resp3_waiter_gets_resp3() {
    let t = TestServer::start();
    let (mut w, mut p) = (t.raw(), t.raw());
    w.cmd("HELLO 3");
    send(&mut w, "BLMPOP 0 1 k LEFT");
    wait_blocked(&t, 1);
    p.cmd("RPUSH k a");
    assert_eq!(reply(&mut w), "*2\r\n$1\r\nk\r\n*1\r\n$1\r\na\r\n");
}

#[test]
fn many_pushers_many_waiters_lose_nothing() {
    let t = TestServer::start();
    let n = 8;
    let mut ws: Vec<Raw> = (0..n).map(|_| t.raw()).collect();
    for (i, w) in ws.iter_mut().enumerate() {
        send(w, "BLPOP q 0");
        wait_blocked(&t, i + 1);
    }
    let addr = t.addr;
    let pushers: Vec<_> = (0..n)
        .map(|i| {
            std::thread::spawn(move || {
                let mut p = Raw::connect(addr);
                p.cmd(&format!("RPUSH q v{i}"));
            })
        })
        .collect();
    for h in pushers {
        h.join().unwrap();
    }
    let mut got: Vec<String> = ws.iter_mut().map(reply).collect();
    got.sort();
    let mut want: Vec<String> = (0..n).map(|i| format!("*2\r\n$1\r\nq\r\n$2\r\nv{i}\r\n")).collect();
    want.sort();
    assert_eq!(got, want);
    let mut p = t.raw();
    assert_eq!(p.cmd("EXISTS q"), ":0\r\n");
}

#[test]
fn served_from_a_later_key() {
    let t = TestServer::start();
    let (mut w, mut p) = (t.raw(), t.raw());
    send(&mut w, "BLPOP k2 k1 0");
    wait_blocked(&t, 1);
    p.cmd("RPUSH k1 x");
    assert_eq!(reply(&mut w), "*2\r\n$2\r\nk1\r\n$1\r\nx\r\n");
}

#[test]
fn timeouts_racing_pushes_lose_no_element() {
    let t = TestServer::start();
    let (mut w, mut p) = (t.raw(), t.raw());
    for i in 0..30 {
        send(&mut w, "BLPOP k 0.002");
        // Sometimes before, sometimes after the deadline: both must conserve.
        std::thread::sleep(Duration::from_micros(500 * (i % 5)));
        p.cmd(&format!("RPUSH k v{i}"));
        let got = reply(&mut w);
        let left = p.cmd("LLEN k");
        if got == "*-1\r\n" {
            assert_eq!(left, ":1\r\n", "round {i}");
            p.cmd("DEL k");
        } else {
            assert_eq!(got, format!("*2\r\n$1\r\nk\r\n${}\r\nv{i}\r\n", 1 + i.to_string().len()), "round {i}");
            assert_eq!(left, ":0\r\n", "round {i}");
        }
    }
    wait_blocked(&t, 0);
}

#[test]
fn repeated_keys_and_rotation() {
    let t = TestServer::start();
    let (mut w, mut p) = (t.raw(), t.raw());
    send(&mut w, "BLPOP k k 0");
    wait_blocked(&t, 1);
    p.cmd("RPUSH k a b");
    assert_eq!(reply(&mut w), "*2\r\n$1\r\nk\r\n$1\r\na\r\n");
    assert_eq!(p.cmd("LRANGE k 0 -1"), "*1\r\n$1\r\nb\r\n");
    p.cmd("DEL k");
    send(&mut w, "BLMOVE k k RIGHT LEFT 0");
    wait_blocked(&t, 1);
    // A string stored at the key wakes nobody.
    p.cmd("SET k s");
    p.cmd("DEL k");
    assert_eq!(t.srv.blocking.blocked_clients(), 1);
    p.cmd("RPUSH k x y");
    assert_eq!(reply(&mut w), "$1\r\ny\r\n");
    assert_eq!(p.cmd("LRANGE k 0 -1"), "*2\r\n$1\r\ny\r\n$1\r\nx\r\n");
}

#[test]
fn waiters_for_another_type_stay_blocked() {
    use hematite::blocking::{reply_null_array, BlockRequest, Waiter};
    use hematite::client::ClientInfo;
    use std::sync::Arc;
    let t = TestServer::start();
    // A waiter for a sorted set on `k`, first in line.
    let info = Arc::new(ClientInfo::new(999_999, None, None, 0));
    let req = BlockRequest::new(vec![b"k".to_vec().into()], None, reply_null_array).for_type("zset");
    let zw = Arc::new(Waiter::new(
        info,
        0,
        resp::Protocol::Resp2,
        vec![b"BLPOP".to_vec(), b"k".to_vec(), b"0".to_vec()],
        req,
    ));
    t.srv.blocking.register(zw.clone());
    let (mut w, mut p) = (t.raw(), t.raw());
    send(&mut w, "BLPOP k 0");
    wait_blocked(&t, 2);
    p.cmd("RPUSH k a");
    assert_eq!(reply(&mut w), "*2\r\n$1\r\nk\r\n$1\r\na\r\n");
    assert!(t.srv.blocking.is_blocked(999_999));
    t.srv.blocking.unregister(&zw);
    wait_blocked(&t, 0);
}

#[test]
fn client_list_shows_blocked_flag() {
    let t = TestServer::start();
    let (mut w, mut p) = (t.raw(), t.raw());
    send(&mut w, "CLIENT ID");
    let id = reply(&mut w);
    let id = id.trim_start_matches(':').trim().to_string();
    send(&mut w, "BLPOP flagkey 0");
    wait_blocked(&t, 1);
    let line = p.cmd(&format!("CLIENT LIST ID {id}"));
    assert!(line.contains(" flags=b "), "{line}");
    assert!(p.cmd("INFO clients").contains("blocked_clients:1\r\n"));
    assert_eq!(p.cmd("RPUSH flagkey a"), ":1\r\n");
    assert_eq!(reply(&mut w), "*2\r\n$7\r\nflagkey\r\n$1\r\na\r\n");
    wait_blocked(&t, 0);
    let line = p.cmd(&format!("CLIENT LIST ID {id}"));
    assert!(line.contains(" flags=N "), "{line}");
}

/// CLIENT UNBLOCK ... ERROR ends the wait with an error reply that counts
/// as one (errorstats, total_error_replies) and as a failed call of the
/// blocked command, as Redis counts it.
#[test]
fn unblock_error_is_counted() {
    let t = TestServer::start();
    let mut a = t.raw();
    let mut b = t.raw();
    assert_eq!(a.cmd("CONFIG RESETSTAT"), "+OK\r\n");
    let id = b.cmd("CLIENT ID");
    let id = id.trim_start_matches(':').trim();
    b.send_cmd(&[b"BLPOP", b"nolist", b"0"]);
    wait_for(|| a.info_field("clients", "blocked_clients") == "1");
    assert_eq!(a.cmd(&format!("CLIENT UNBLOCK {id} ERROR")), ":1\r\n");
    assert_eq!(b.read_reply(), b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
    assert_eq!(a.info_field("errorstats", "errorstat_UNBLOCKED"), "count=1");
    assert_eq!(a.info_field("stats", "total_error_replies"), "1");
    assert!(a.info_field("commandstats", "cmdstat_blpop").ends_with("rejected_calls=0,failed_calls=1"));
}
