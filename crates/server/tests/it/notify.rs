//! Keyspace notifications: configuration, channels, events of the commands
//! of this branch, expiry seen through lazy access.

use crate::common::*;

fn read_str(r: &mut Raw) -> String {
    String::from_utf8_lossy(&r.read_reply()).into_owned()
}

fn pmsg(pat: &str, ch: &str, m: &str) -> String {
    format!("*4\r\n$8\r\npmessage\r\n${}\r\n{pat}\r\n${}\r\n{ch}\r\n${}\r\n{m}\r\n", pat.len(), ch.len(), m.len())
}

/// A subscriber to every keyspace and keyevent channel of every db.
fn listener(t: &TestServer) -> Raw {
    let mut s = t.raw();
    s.cmd("PSUBSCRIBE __key*__:*");
    s
}

/// The next event, as (channel, payload).
fn next_event(s: &mut Raw) -> (String, String) {
    let r = s.read_reply();
    let (_, els) = elements(&r).expect("pmessage");
    let text = |b: &Vec<u8>| {
        let s = String::from_utf8_lossy(b).into_owned();
        s.split("\r\n").nth(1).unwrap_or("").to_string()
    };
    (text(&els[2]), text(&els[3]))
}

#[test]
fn config_letters_render_like_redis() {
    let t = TestServer::start();
    let c = &t.srv.config;
    assert_eq!(c.get_text("notify-keyspace-events").unwrap(), "");
    for (set, shown) in [("KEA", "AKE"), ("Ex$", "$xE"), ("gAm", "Am"), ("K$lshzxetdn", "$lshzxetdnK"), ("", "")] {
        c.runtime_set("notify-keyspace-events", set).unwrap();
        assert_eq!(c.get_text("notify-keyspace-events").unwrap(), shown, "{set}");
    }
    let e = c.runtime_set("notify-keyspace-events", "KQ").unwrap_err();
    assert_eq!(
        e,
        "CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'."
    );
}

#[test]
fn set_del_and_both_channels() {
    let t = TestServer::with(&[("notify-keyspace-events", "KEA")]);
    let mut s = listener(&t);
    let mut c = t.raw();
    c.cmd("SET k v");
    assert_eq!(read_str(&mut s), pmsg("__key*__:*", "__keyspace@0__:k", "set"));
    assert_eq!(read_str(&mut s), pmsg("__key*__:*", "__keyevent@0__:set", "k"));
    c.cmd("SELECT 3");
    c.cmd("SET k2 v EX 100");
    assert_eq!(next_event(&mut s), ("__keyspace@3__:k2".into(), "set".into()));
    assert_eq!(next_event(&mut s), ("__keyevent@3__:set".into(), "k2".into()));
    assert_eq!(next_event(&mut s), ("__keyspace@3__:k2".into(), "expire".into()));
    assert_eq!(next_event(&mut s), ("__keyevent@3__:expire".into(), "k2".into()));
    c.cmd("DEL k2 nokey");
    assert_eq!(next_event(&mut s), ("__keyspace@3__:k2".into(), "del".into()));
    assert_eq!(next_event(&mut s), ("__keyevent@3__:del".into(), "k2".into()));
}

#[test]
fn classes_filter_events() {
    // Only keyevent, only generic: SET is not announced, DEL is.
    let t = TestServer::with(&[("notify-keyspace-events", "Eg")]);
    let mut s = listener(&t);
    let mut c = t.raw();
    c.cmd("SET k v");
    c.cmd("DEL k");
    assert_eq!(next_event(&mut s), ("__keyevent@0__:del".into(), "k".into()));
    // Key misses (m) and new keys (n) are outside A.
    t.srv.config.runtime_set("notify-keyspace-events", "KA").unwrap();
    c.cmd("GET nokey");
    c.cmd("SET k v");
    assert_eq!(next_event(&mut s), ("__keyspace@0__:k".into(), "set".into()));
    t.srv.config.runtime_set("notify-keyspace-events", "Kmn").unwrap();
    c.cmd("GET nokey");
    assert_eq!(next_event(&mut s), ("__keyspace@0__:nokey".into(), "keymiss".into()));
    c.cmd("SET fresh v");
    c.cmd("SET fresh v2");
    c.cmd("SET other v");
    assert_eq!(next_event(&mut s), ("__keyspace@0__:fresh".into(), "new".into()));
    assert_eq!(next_event(&mut s), ("__keyspace@0__:other".into(), "new".into()));
}

#[test]
fn expired_on_lazy_access() {
    let t = TestServer::with(&[("notify-keyspace-events", "Ex"), ("hz", "1")]);
    let mut s = listener(&t);
    let mut c = t.raw();
    c.cmd("SET k v PX 5000");
    t.advance_ms(10_000);
    assert_eq!(c.cmd("GET k"), "$-1\r\n");
    assert_eq!(next_event(&mut s), ("__keyevent@0__:expired".into(), "k".into()));
}

#[test]
fn resp3_self_notification_precedes_reply() {
    let t = TestServer::with(&[("notify-keyspace-events", "K$")]);
    let mut c = t.raw();
    c.cmd("HELLO 3");
    c.cmd("SUBSCRIBE __keyspace@0__:k");
    c.send_cmd(&[b"SET", b"k", b"v"]);
    assert_eq!(read_str(&mut c), ">3\r\n$7\r\nmessage\r\n$16\r\n__keyspace@0__:k\r\n$3\r\nset\r\n");
    assert_eq!(read_str(&mut c), "+OK\r\n");
}
