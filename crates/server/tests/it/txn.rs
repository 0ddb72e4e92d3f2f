//! MULTI/EXEC/WATCH: behavior across clients, expiry, FLUSHALL, and a
//! concurrent check-and-set race that must lose no update.

use crate::common::*;

#[test]
fn watch_sees_writes_from_other_clients() {
    let t = TestServer::start();
    let mut a = t.raw();
    let mut b = t.raw();
    assert_eq!(a.cmd("WATCH k"), "+OK\r\n");
    assert_eq!(b.cmd("SET k 1"), "+OK\r\n");
    assert_eq!(a.cmd("MULTI"), "+OK\r\n");
    assert_eq!(a.cmd("SET k 2"), "+QUEUED\r\n");
    assert_eq!(a.cmd("EXEC"), "*-1\r\n");
    assert_eq!(a.cmd("GET k"), "$1\r\n1\r\n");
    // The transaction ended: watching starts afresh.
    assert_eq!(a.cmd("WATCH k"), "+OK\r\n");
    assert_eq!(a.cmd("MULTI"), "+OK\r\n");
    assert_eq!(a.cmd("SET k 3"), "+QUEUED\r\n");
    assert_eq!(a.cmd("EXEC"), "*1\r\n+OK\r\n");
    // A write by the same client also invalidates.
    assert_eq!(a.cmd("WATCH k"), "+OK\r\n");
    assert_eq!(a.cmd("DEL k"), ":1\r\n");
    assert_eq!(a.cmd("MULTI"), "+OK\r\n");
    assert_eq!(a.cmd("GET k"), "+QUEUED\r\n");
    assert_eq!(a.cmd("EXEC"), "*-1\r\n");
    // A write to another db's key of the same name does not.
    assert_eq!(a.cmd("WATCH k"), "+OK\r\n");
    assert_eq!(b.cmd("SELECT 3"), "+OK\r\n");
    assert_eq!(b.cmd("SET k x"), "+OK\r\n");
    assert_eq!(a.cmd("MULTI"), "+OK\r\n");
    assert_eq!(a.cmd("PING"), "+QUEUED\r\n");
    assert_eq!(a.cmd("EXEC"), "*1\r\n+PONG\r\n");
}

#[test]
fn watch_and_expiry() {
    let t = TestServer::start();
    let mut a = t.raw();
    assert_eq!(a.cmd("SET k v PX 100"), "+OK\r\n");
    assert_eq!(a.cmd("WATCH k"), "+OK\r\n");
    t.advance_ms(200);
    assert_eq!(a.cmd("MULTI"), "+OK\r\n");
    assert_eq!(a.cmd("PING"), "+QUEUED\r\n");
    assert_eq!(a.cmd("EXEC"), "*-1\r\n");
    // Watching a key that is already expired: its deletion is no change.
    assert_eq!(a.cmd("SET j v PX 100"), "+OK\r\n");
    t.advance_ms(200);
    assert_eq!(a.cmd("WATCH j"), "+OK\r\n");
    assert_eq!(a.cmd("GET j"), "$-1\r\n");
    assert_eq!(a.cmd("MULTI"), "+OK\r\n");
    assert_eq!(a.cmd("PING"), "+QUEUED\r\n");
    assert_eq!(a.cmd("EXEC"), "*1\r\n+PONG\r\n");
}

#[test]
fn flushall_touches_watched_keys() {
    let t = TestServer::start();
    let mut a = t.raw();
    let mut b = t.raw();
    a.cmd("SET k 1");
    assert_eq!(a.cmd("WATCH k nokey"), "+OK\r\n");
    assert_eq!(b.cmd("FLUSHALL"), "+OK\r\n");
    a.cmd("MULTI");
    a.cmd("PING");
    assert_eq!(a.cmd("EXEC"), "*-1\r\n");
    // A watched key that did not exist is not touched by FLUSHALL.
    assert_eq!(a.cmd("WATCH nokey"), "+OK\r\n");
    assert_eq!(b.cmd("FLUSHALL"), "+OK\r\n");
    a.cmd("MULTI");
    a.cmd("PING");
    assert_eq!(a.cmd("EXEC"), "*1\r\n+PONG\r\n");
}

#[test]
fn queue_errors_and_state() {
    let t = TestServer::start();
    let mut a = t.raw();
    assert_eq!(a.cmd("MULTI"), "+OK\r\n");
    assert_eq!(a.cmd("SET k 1"), "+QUEUED\r\n");
    assert_eq!(a.cmd("DISCARD"), "+OK\r\n");
    assert_eq!(t.srv.clients.all()[0].in_multi.load(std::sync::atomic::Ordering::Relaxed), -1);
    a.cmd("MULTI");
    a.cmd("SET k 1");
    a.cmd("GET k");
    assert_eq!(t.srv.clients.all()[0].in_multi.load(std::sync::atomic::Ordering::Relaxed), 2);
    assert_eq!(a.cmd("SET k"), "-ERR wrong number of arguments for 'set' command\r\n");
    assert_eq!(a.cmd("EXEC"), "-EXECABORT Transaction discarded because of previous errors.\r\n");
    assert_eq!(a.cmd("GET k"), "$-1\r\n");
    // A disconnect in the middle of MULTI with WATCH leaves nothing behind.
    let mut b = t.raw();
    b.cmd("WATCH k");
    b.cmd("MULTI");
    drop(b);
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(t.srv.watches.is_empty());
}

#[test]
fn concurrent_watch_increments_lose_nothing() {
    let t = TestServer::start();
    let addr = t.addr;
    const CLIENTS: usize = 20;
    const EACH: usize = 25;
    let handles: Vec<_> = (0..CLIENTS)
        .map(|_| {
            std::thread::spawn(move || {
                let mut r = Raw::connect(addr);
                let mut retries = 0;
                for _ in 0..EACH {
                    loop {
                        assert_eq!(r.cmd("WATCH counter"), "+OK\r\n");
                        let v = r.cmd("GET counter");
                        let n: i64 = if v == "$-1\r\n" { 0 } else { v.split("\r\n").nth(1).unwrap().parse().unwrap() };
                        assert_eq!(r.cmd("MULTI"), "+OK\r\n");
                        assert_eq!(r.cmd(&format!("SET counter {}", n + 1)), "+QUEUED\r\n");
                        let res = r.cmd("EXEC");
                        if res == "*1\r\n+OK\r\n" {
                            break;
                        }
                        assert_eq!(res, "*-1\r\n");
                        retries += 1;
                        assert!(retries < 100_000, "livelock");
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let mut r = t.raw();
    assert_eq!(r.cmd("GET counter"), format!("$3\r\n{}\r\n", CLIENTS * EACH));
}

/// A command refused inside MULTI (no-multi flag) counts as a rejected
/// call, as Redis's rejectCommand counts it.
#[test]
fn no_multi_refusal_counts_as_rejected() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    c.cmd("CONFIG RESETSTAT");
    c.cmd("MULTI");
    assert_eq!(c.cmd("SHUTDOWN NOSAVE"), "-ERR Command not allowed inside a transaction\r\n");
    c.cmd("DISCARD");
    let stats = c.cmd("INFO commandstats");
    assert!(
        stats.contains("cmdstat_shutdown:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0"),
        "{stats}"
    );
}
