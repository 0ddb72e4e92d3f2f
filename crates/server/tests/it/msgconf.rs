//! Messaging and blocking details where Redis's single thread makes an order
//! or a count observable: CLIENT KILL frees the victim before replying,
//! keyspace events come before the reply that caused them, blocked clients
//! are served from the key that became ready.

use crate::common::*;

/// The id a connection gets (CLIENT ID).
fn client_id(r: &mut Raw) -> String {
    let id = r.cmd("CLIENT ID");
    id.trim_start_matches(':').trim_end().to_string()
}

#[test]
fn client_kill_unsubscribes_and_unblocks_at_once() {
    let t = TestServer::start();
    let mut sub = t.raw();
    let sub_id = client_id(&mut sub);
    sub.cmd("SUBSCRIBE ch");
    sub.cmd("PSUBSCRIBE p*");
    sub.cmd("SSUBSCRIBE sh");
    let mut blocked = t.raw();
    let blocked_id = client_id(&mut blocked);
    blocked.send_cmd(&[b"BLPOP", b"list", b"0"]);
    let mut k = t.raw();
    // Wait until the client is blocked (no timing: BLPOP is registered when
    // INFO says so).
    while !k.cmd("INFO clients").contains("blocked_clients:1") {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    // All in one transaction: the victims' tasks have no chance to run
    // between CLIENT KILL and what follows.
    k.cmd("MULTI");
    for c in [
        format!("CLIENT KILL ID {sub_id}"),
        format!("CLIENT KILL ID {blocked_id}"),
        "PUBLISH ch x".into(),
        "SPUBLISH sh x".into(),
        "PUBSUB NUMSUB ch".into(),
        "PUBSUB SHARDNUMSUB sh".into(),
        "PUBSUB NUMPAT".into(),
        "PUBSUB CHANNELS".into(),
        "RPUSH list a".into(),
        format!("CLIENT KILL ID {sub_id}"),
    ] {
        assert_eq!(k.cmd(&c), "+QUEUED\r\n");
    }
    assert_eq!(
        k.cmd("EXEC"),
        "*10\r\n:1\r\n:1\r\n:0\r\n:0\r\n*2\r\n$2\r\nch\r\n:0\r\n*2\r\n$2\r\nsh\r\n:0\r\n:0\r\n*0\r\n:1\r\n:0\r\n"
    );
    // The element pushed after the kill stayed in the list.
    assert_eq!(k.cmd("LRANGE list 0 -1"), "*1\r\n$1\r\na\r\n");
    let list = k.cmd("CLIENT LIST");
    assert!(!list.contains(&format!("id={sub_id} ")) && !list.contains(&format!("id={blocked_id} ")), "{list}");
    assert!(sub.is_closed() && blocked.is_closed());
}

/// INFO's tracking_total_keys and tracking_total_items after each step
/// (figures taken from redis-server 7.0.15 running the same steps).
#[test]
fn tracking_totals_follow_the_table() {
    let t = TestServer::start();
    let (mut a, mut b, mut w) = (t.raw(), t.raw(), t.raw());
    let totals = |w: &mut Raw| {
        let info = w.cmd("INFO stats");
        let num =
            |name: &str| info.split(&format!("{name}:")).nth(1).unwrap().split("\r\n").next().unwrap().to_string();
        (num("tracking_total_keys"), num("tracking_total_items"))
    };
    let pair = |k: &str, i: &str| (k.to_string(), i.to_string());
    // RESP2 without REDIRECT: keys are recorded, no message is sent.
    a.cmd("CLIENT TRACKING on");
    b.cmd("CLIENT TRACKING on");
    a.cmd("MGET x y z");
    b.cmd("GET x");
    b.cmd("GET x");
    assert_eq!(totals(&mut w), pair("3", "4"));
    w.cmd("SET x 1");
    assert_eq!(totals(&mut w), pair("2", "2"));
    // Turning tracking off leaves the client's keys in the table.
    b.cmd("GET y");
    b.cmd("CLIENT TRACKING off");
    assert_eq!(totals(&mut w), pair("2", "3"));
    w.cmd("SET y 1");
    assert_eq!(totals(&mut w), pair("1", "1"));
    w.cmd("CONFIG SET tracking-table-max-keys 1");
    a.cmd("MGET q r");
    assert_eq!(totals(&mut w), pair("1", "1"));
    w.cmd("CONFIG SET tracking-table-max-keys 0");
    a.cmd("MGET s t");
    assert_eq!(totals(&mut w), pair("3", "3"));
    w.cmd("FLUSHALL");
    assert_eq!(totals(&mut w), pair("0", "0"));
}
