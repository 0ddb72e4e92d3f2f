//! Client-side caching: invalidations in each mode, over separate connections.

use crate::common::*;

fn read_str(r: &mut Raw) -> String {
    String::from_utf8_lossy(&r.read_reply()).into_owned()
}

fn inval(key: &str) -> String {
    format!(">2\r\n$10\r\ninvalidate\r\n*1\r\n${}\r\n{key}\r\n", key.len())
}

/// A RESP3 connection, and its client id.
fn resp3(t: &TestServer) -> (Raw, u64) {
    let mut r = t.raw();
    let h = r.cmd("HELLO 3");
    let id = h.split("$2\r\nid\r\n:").nth(1).unwrap().split("\r\n").next().unwrap().parse().unwrap();
    (r, id)
}

fn client_id(r: &mut Raw) -> u64 {
    let h = r.cmd("HELLO 2");
    h.split("$2\r\nid\r\n:").nth(1).unwrap().split("\r\n").next().unwrap().parse().unwrap()
}

#[test]
fn default_mode_invalidates_once_per_read() {
    let t = TestServer::start();
    let (mut a, _) = resp3(&t);
    let mut w = t.raw();
    assert_eq!(a.cmd("CLIENT TRACKING ON"), "+OK\r\n");
    w.cmd("SET k v");
    assert_eq!(a.cmd("GET k"), "$1\r\nv\r\n");
    w.cmd("SET k v2");
    assert_eq!(read_str(&mut a), inval("k"));
    // Not read again: no further message. A PING proves the stream is clean.
    w.cmd("SET k v3");
    assert_eq!(a.cmd("PING"), "+PONG\r\n");
    // Its own write: the reply first, then the invalidation.
    a.cmd("GET k");
    a.send_cmd(&[b"SET", b"k", b"mine"]);
    assert_eq!(read_str(&mut a), "+OK\r\n");
    assert_eq!(read_str(&mut a), inval("k"));
    // Expiry found by another client's access invalidates too.
    a.cmd("SET e v PX 1000");
    a.cmd("GET e");
    t.advance_ms(5000);
    assert_eq!(w.cmd("GET e"), "$-1\r\n");
    assert_eq!(read_str(&mut a), inval("e"));
    // A flush invalidates everything with a null.
    w.cmd("FLUSHALL");
    assert_eq!(read_str(&mut a), ">2\r\n$10\r\ninvalidate\r\n_\r\n");
    assert_eq!(a.cmd("CLIENT TRACKING OFF"), "+OK\r\n");
    a.cmd("GET k");
    w.cmd("SET k again");
    assert_eq!(a.cmd("PING"), "+PONG\r\n");
}

#[test]
fn noloop_skips_own_writes() {
    let t = TestServer::start();
    let (mut a, _) = resp3(&t);
    let mut w = t.raw();
    a.cmd("CLIENT TRACKING ON NOLOOP");
    a.cmd("GET k");
    a.cmd("SET k mine");
    assert_eq!(a.cmd("PING"), "+PONG\r\n");
    a.cmd("GET k");
    w.cmd("SET k theirs");
    assert_eq!(read_str(&mut a), inval("k"));
}

#[test]
fn resp2_redirect_to_subscriber() {
    let t = TestServer::start();
    let mut sink = t.raw();
    let sink_id = client_id(&mut sink);
    sink.cmd("SUBSCRIBE __redis__:invalidate");
    let mut a = t.raw();
    assert_eq!(a.cmd(&format!("CLIENT TRACKING ON REDIRECT {sink_id}")), "+OK\r\n");
    assert_eq!(a.cmd("CLIENT GETREDIR"), format!(":{sink_id}\r\n"));
    a.cmd("GET k1");
    a.cmd("GET k2");
    let mut w = t.raw();
    w.cmd("SET k2 x");
    assert_eq!(read_str(&mut sink), "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$2\r\nk2\r\n");
    w.cmd("FLUSHALL");
    assert_eq!(read_str(&mut sink), "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n");
}

#[test]
fn broken_redirect_is_reported() {
    let t = TestServer::start();
    let (mut a, _) = resp3(&t);
    let mut gone = t.raw();
    let gone_id = client_id(&mut gone);
    a.cmd(&format!("CLIENT TRACKING ON REDIRECT {gone_id}"));
    a.cmd("GET k");
    drop(gone);
    // The server notices the disconnect asynchronously.
    for _ in 0..2000 {
        if t.srv.clients.get(gone_id).is_none() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let mut w = t.raw();
    w.cmd("SET k v");
    assert_eq!(read_str(&mut a), format!(">2\r\n$21\r\ntracking-redir-broken\r\n:{gone_id}\r\n"));
    let info = a.cmd("CLIENT TRACKINGINFO");
    assert!(info.contains("$15\r\nbroken_redirect\r\n"), "{info}");
}

#[test]
fn bcast_prefixes() {
    let t = TestServer::start();
    let (mut a, _) = resp3(&t);
    assert_eq!(a.cmd("CLIENT TRACKING ON BCAST PREFIX user: PREFIX obj:"), "+OK\r\n");
    let mut w = t.raw();
    w.cmd("SET user:1 x");
    assert_eq!(read_str(&mut a), inval("user:1"));
    w.cmd("SET other x");
    w.cmd("SET obj:9 x");
    assert_eq!(read_str(&mut a), inval("obj:9"));
    assert_eq!(
        a.cmd("CLIENT TRACKINGINFO"),
        "%3\r\n$5\r\nflags\r\n~2\r\n$2\r\non\r\n$5\r\nbcast\r\n$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*2\r\n$4\r\nobj:\r\n$5\r\nuser:\r\n"
    );
    let (mut all, _) = resp3(&t);
    all.cmd("CLIENT TRACKING ON BCAST");
    w.cmd("SET anything x");
    assert_eq!(read_str(&mut all), inval("anything"));
}

#[test]
fn optin_and_optout() {
    let t = TestServer::start();
    let (mut a, _) = resp3(&t);
    let mut w = t.raw();
    a.cmd("CLIENT TRACKING ON OPTIN");
    a.cmd("GET notcached");
    assert_eq!(a.cmd("CLIENT CACHING YES"), "+OK\r\n");
    a.cmd("GET cached");
    w.cmd("SET notcached x");
    w.cmd("SET cached x");
    assert_eq!(read_str(&mut a), inval("cached"));
    a.cmd("CLIENT TRACKING OFF");
    a.cmd("CLIENT TRACKING ON OPTOUT");
    assert_eq!(a.cmd("CLIENT CACHING NO"), "+OK\r\n");
    a.cmd("GET skipped");
    a.cmd("GET kept");
    w.cmd("SET skipped x");
    w.cmd("SET kept x");
    assert_eq!(read_str(&mut a), inval("kept"));
}

#[test]
fn table_is_capped() {
    let t = TestServer::with(&[("tracking-table-max-keys", "2")]);
    let (mut a, _) = resp3(&t);
    a.cmd("CLIENT TRACKING ON");
    a.cmd("GET a");
    a.cmd("GET b");
    a.send_cmd(&[b"GET", b"c"]);
    assert_eq!(read_str(&mut a), "_\r\n");
    // One of the three keys was dropped from the table, with a message.
    let r = read_str(&mut a);
    assert!(r.starts_with(">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\n"), "{r}");
    assert_eq!(t.srv.tracking.table_len(), 2);
}

#[test]
fn bcast_batches_the_keys_of_one_command() {
    let t = TestServer::start();
    let (mut a, _) = resp3(&t);
    a.cmd("CLIENT TRACKING ON BCAST PREFIX a");
    let mut w = t.raw();
    w.cmd("MSET a2 x b1 y a1 z");
    // One message per prefix, keys in key order.
    assert_eq!(read_str(&mut a), ">2\r\n$10\r\ninvalidate\r\n*2\r\n$2\r\na1\r\n$2\r\na2\r\n");
    let info = w.cmd("INFO stats");
    assert!(info.contains("tracking_total_prefixes:1\r\n"), "{info}");
    assert!(w.cmd("INFO clients").contains("tracking_clients:1\r\n"));
    w.cmd("SUBSCRIBE x");
    let mut p = t.raw();
    assert!(p.cmd("INFO stats").contains("pubsub_channels:1\r\n"));
}
