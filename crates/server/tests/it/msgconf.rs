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
    wait_blocked(&mut k, 1);
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

/// Reads `n` frames and returns them as one string: a push Redis writes in
/// the middle of a reply makes the reply's bytes parse as several frames.
fn frames(r: &mut Raw, n: usize) -> String {
    (0..n).map(|_| String::from_utf8_lossy(&r.read_reply()).into_owned()).collect()
}

/// Waits until `n` clients are blocked (no timing is asserted; the bound
/// only keeps a broken build from hanging).
fn wait_blocked(k: &mut Raw, n: usize) {
    for _ in 0..5000 {
        if k.cmd("INFO clients").contains(&format!("blocked_clients:{n}\r\n")) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    panic!("never {n} blocked clients");
}

fn event(name: &str) -> String {
    format!(
        ">4\r\n$8\r\npmessage\r\n$16\r\n__keyspace@0__:s\r\n$16\r\n__keyspace@0__:s\r\n${}\r\n{name}\r\n",
        name.len()
    )
}

const ENTRY: &str = "*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n";

/// Redis 7.0 creates a consumer, and emits xgroup-createconsumer, in the
/// middle of the reply that names it: a RESP3 client listening to its own
/// keys gets the push there (bytes as redis-server 7.0.15 writes them).
#[test]
fn createconsumer_event_inside_the_reply() {
    let t = TestServer::start();
    let mut a = t.raw();
    a.cmd("CONFIG SET notify-keyspace-events KEA");
    a.cmd("HELLO 3");
    a.cmd("XADD s 1-1 f v");
    a.cmd("XGROUP CREATE s g 0");
    a.cmd("PSUBSCRIBE __keyspace@0__:s");
    a.send_cmd(&[b"XREADGROUP", b"GROUP", b"g", b"c1", b"STREAMS", b"s", b">"]);
    let ev = event("xgroup-createconsumer");
    assert_eq!(frames(&mut a, 2), format!("%1\r\n$1\r\ns\r\n{ev}*1\r\n{ENTRY}"));
    a.send_cmd(&[b"XREADGROUP", b"GROUP", b"g", b"c2", b"STREAMS", b"s", b"0"]);
    assert_eq!(frames(&mut a, 2), format!("%1\r\n$1\r\ns\r\n{ev}*0\r\n"));
    a.send_cmd(&[b"XGROUP", b"CREATECONSUMER", b"s", b"g", b"c3"]);
    assert_eq!(frames(&mut a, 2), format!("{ev}:1\r\n"));
    a.send_cmd(&[b"XCLAIM", b"s", b"g", b"c4", b"0", b"1-1"]);
    assert_eq!(frames(&mut a, 2), format!("*1\r\n{ev}{ENTRY}"));
    a.send_cmd(&[b"XAUTOCLAIM", b"s", b"g", b"c5", b"0", b"0"]);
    assert_eq!(frames(&mut a, 2), format!("*3\r\n$3\r\n0-0\r\n*1\r\n{ev}{ENTRY}*0\r\n"));
    // Inside MULTI the push lands inside EXEC's reply, at the same place.
    a.cmd("MULTI");
    a.cmd("XADD s 2-1 f v");
    a.cmd("XREADGROUP GROUP g c6 STREAMS s >");
    a.send_cmd(&[b"EXEC"]);
    let entry2 = ENTRY.replace("1-1", "2-1");
    assert_eq!(frames(&mut a, 3), format!("*2\r\n$3\r\n2-1\r\n{}%1\r\n$1\r\ns\r\n{ev}*1\r\n{entry2}", event("xadd")));
}

/// A blocked XREADGROUP served by another client's XADD: the writer's xadd
/// event, then xgroup-createconsumer (Redis creates the consumer before it
/// starts the reply), then the reply.
#[test]
fn createconsumer_event_before_a_served_reply() {
    let t = TestServer::start();
    let mut w = t.raw();
    w.cmd("CONFIG SET notify-keyspace-events KEA");
    w.cmd("XGROUP CREATE s g $ MKSTREAM");
    let mut a = t.raw();
    a.cmd("HELLO 3");
    a.cmd("PSUBSCRIBE __keyspace@0__:s");
    a.send_cmd(&[b"XREADGROUP", b"GROUP", b"g", b"c1", b"BLOCK", b"0", b"STREAMS", b"s", b">"]);
    wait_blocked(&mut w, 1);
    w.cmd("XADD s 1-1 f v");
    let want = format!("{}{}%1\r\n$1\r\ns\r\n*1\r\n{ENTRY}", event("xadd"), event("xgroup-createconsumer"));
    assert_eq!(frames(&mut a, 3), want);
}

/// Sends `block` on a new connection, waits until it is blocked, runs `txn`
/// in one MULTI/EXEC on `w`, and returns the blocked connection.
fn block_then(t: &TestServer, w: &mut Raw, block: &str, txn: &[&str]) -> Raw {
    let mut b = t.raw();
    let args = split(block);
    b.send_cmd(&args.iter().map(|a| a.as_slice()).collect::<Vec<_>>());
    wait_blocked(w, 1);
    w.cmd("MULTI");
    for c in txn {
        assert_eq!(w.cmd(c), "+QUEUED\r\n", "{c}");
    }
    w.read_reply_of("EXEC");
    b
}

/// A blocked reader is served when the stream's last ID passes its own,
/// even if the entries were deleted before it ran: an empty entry list, as
/// Redis 7.0 answers (not a longer wait).
#[test]
fn served_reader_after_entries_deleted() {
    let t = TestServer::start();
    let mut w = t.raw();
    w.cmd("XGROUP CREATE s g $ MKSTREAM");
    let empty = "*1\r\n*2\r\n$1\r\ns\r\n*0\r\n";
    let mut b = block_then(&t, &mut w, "XREAD BLOCK 0 STREAMS s $", &["XADD s 1-1 f v", "XDEL s 1-1"]);
    assert_eq!(b.read_reply(), empty.as_bytes());
    let mut b = block_then(&t, &mut w, "XREADGROUP GROUP g c BLOCK 0 STREAMS s >", &["XADD s 2-1 f v", "XDEL s 2-1"]);
    assert_eq!(b.read_reply(), empty.as_bytes());
    let mut b =
        block_then(&t, &mut w, "XREADGROUP GROUP g c BLOCK 0 STREAMS s >", &["XADD s 3-1 f v", "XTRIM s MAXLEN 0"]);
    assert_eq!(b.read_reply(), empty.as_bytes());
    assert_eq!(w.cmd("XINFO CONSUMERS s g").matches("$4\r\nname\r\n$1\r\nc\r\n").count(), 1);
    // A synchronous read looks at live entries: nothing to serve.
    w.cmd("MULTI");
    w.cmd("XREAD BLOCK 0 STREAMS s 0");
    assert_eq!(w.cmd("EXEC"), "*1\r\n*-1\r\n");
}

/// Redis 7.0 serves a client blocked on several keys from the key that
/// became ready alone, in the order the keys were signalled (replies as
/// redis-server 7.0.15 gives them).
#[test]
fn served_from_the_ready_key_alone() {
    let t = TestServer::start();
    let mut w = t.raw();
    // Another key of the command holds a wrong type and the ready key is
    // empty again: the client stays blocked (no WRONGTYPE), and is served
    // by the next push.
    for (block, txn, push, reply) in [
        ("BLPOP a b 0", ["SET a s", "LPUSH b x", "LPOP b"], "LPUSH b y", "*2\r\n$1\r\nb\r\n$1\r\ny\r\n"),
        ("BLMPOP 0 2 a b LEFT", ["SET a s", "LPUSH b x", "LPOP b"], "LPUSH b y", "*2\r\n$1\r\nb\r\n*1\r\n$1\r\ny\r\n"),
        (
            "BZPOPMIN a b 0",
            ["SET a s", "ZADD b 1 x", "ZPOPMIN b"],
            "ZADD b 1 y",
            "*3\r\n$1\r\nb\r\n$1\r\ny\r\n$1\r\n1\r\n",
        ),
        (
            "BZMPOP 0 2 a b MIN",
            ["SET a s", "ZADD b 1 x", "ZPOPMIN b"],
            "ZADD b 1 y",
            "*2\r\n$1\r\nb\r\n*1\r\n*2\r\n$1\r\ny\r\n$1\r\n1\r\n",
        ),
    ] {
        w.cmd("FLUSHALL");
        let mut b = block_then(&t, &mut w, block, &txn);
        assert!(w.cmd("INFO clients").contains("blocked_clients:1\r\n"), "{block}");
        w.cmd(push);
        assert_eq!(String::from_utf8_lossy(&b.read_reply()), reply, "{block}");
    }
    // Several keys filled in one transaction: the first signalled serves,
    // and the reply names that key alone.
    for (block, txn, reply) in [
        ("BLMPOP 0 2 a b RIGHT COUNT 5", ["RPUSH b x z", "RPUSH a y"], "*2\r\n$1\r\nb\r\n*2\r\n$1\r\nz\r\n$1\r\nx\r\n"),
        (
            "XREAD BLOCK 0 STREAMS a b $ $",
            ["XADD b 1-1 f v", "XADD a 1-1 f v"],
            "*1\r\n*2\r\n$1\r\nb\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n",
        ),
    ] {
        w.cmd("FLUSHALL");
        let mut b = block_then(&t, &mut w, block, &txn);
        assert_eq!(String::from_utf8_lossy(&b.read_reply()), reply, "{block}");
    }
}

/// CLIENT REPLY SKIP or OFF before a blocking command silences its reply
/// whenever it comes: served, timed out or CLIENT UNBLOCKed (Redis keeps
/// the flag until the client unblocks). Messages are not silenced.
#[test]
fn reply_skip_and_off_cover_a_blocked_reply() {
    let t = TestServer::start();
    let mut w = t.raw();
    let mut a = t.raw();
    let id = client_id(&mut a);
    let skip_block = |a: &mut Raw, timeout: &str| {
        a.send_cmd(&[b"CLIENT", b"REPLY", b"SKIP"]);
        a.send_cmd(&[b"BLPOP", b"k", timeout.as_bytes()]);
    };
    skip_block(&mut a, "0");
    wait_blocked(&mut w, 1);
    w.cmd("RPUSH k x");
    assert_eq!(a.cmd("PING"), "+PONG\r\n");
    skip_block(&mut a, "0");
    wait_blocked(&mut w, 1);
    assert_eq!(w.cmd(&format!("CLIENT UNBLOCK {id} ERROR")), ":1\r\n");
    assert_eq!(a.cmd("PING"), "+PONG\r\n");
    skip_block(&mut a, "0.05");
    wait_blocked(&mut w, 1);
    t.advance_ms(1000);
    wait_blocked(&mut w, 0);
    assert_eq!(a.cmd("PING"), "+PONG\r\n");
    a.send_cmd(&[b"CLIENT", b"REPLY", b"OFF"]);
    a.send_cmd(&[b"BLPOP", b"k", b"0"]);
    wait_blocked(&mut w, 1);
    w.cmd("RPUSH k y");
    a.send_cmd(&[b"PING"]);
    assert_eq!(a.cmd("CLIENT REPLY ON"), "+OK\r\n");
    assert_eq!(w.cmd("LLEN k"), ":0\r\n");
    // A RESP3 subscriber gets its messages while blocked, and a served reply
    // after the messages that came before it.
    a.cmd("HELLO 3");
    a.cmd("SUBSCRIBE ch");
    a.send_cmd(&[b"BLPOP", b"k", b"0"]);
    wait_blocked(&mut w, 1);
    w.cmd("PUBLISH ch m1");
    let m = |s: &str| format!(">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\n{s}\r\n");
    assert_eq!(String::from_utf8_lossy(&a.read_reply()), m("m1"));
    w.cmd("MULTI");
    w.cmd("PUBLISH ch m2");
    w.cmd("RPUSH k z");
    w.cmd("PUBLISH ch m3");
    w.cmd("EXEC");
    // (Blocked clients are served after the whole transaction.)
    assert_eq!(frames(&mut a, 3), format!("{}{}*2\r\n$1\r\nk\r\n$1\r\nz\r\n", m("m2"), m("m3")));
    skip_block(&mut a, "0");
    wait_blocked(&mut w, 1);
    w.cmd("PUBLISH ch m4");
    w.cmd("RPUSH k x");
    assert_eq!(String::from_utf8_lossy(&a.read_reply()), m("m4"));
    assert_eq!(a.cmd("PING"), "+PONG\r\n");
}

/// CLIENT REPLY OFF and SKIP silence replies, not the pushes a command sends
/// its own connection (bytes as redis-server 7.0.15 writes them).
#[test]
fn silenced_replies_keep_own_pushes() {
    let t = TestServer::start();
    let mut a = t.raw();
    a.cmd("CONFIG SET notify-keyspace-events KEA");
    a.cmd("HELLO 3");
    a.cmd("PSUBSCRIBE __keyevent@0__:set");
    let ev = |s: &str| {
        format!(">4\r\n$8\r\npmessage\r\n$18\r\n__keyevent@0__:set\r\n$18\r\n__keyevent@0__:set\r\n$1\r\n{s}\r\n")
    };
    for c in ["CLIENT REPLY OFF", "SET k v", "PUBLISH __keyevent@0__:set m", "CLIENT REPLY ON"] {
        let args = split(c);
        a.send_cmd(&args.iter().map(|x| x.as_slice()).collect::<Vec<_>>());
    }
    assert_eq!(frames(&mut a, 3), format!("{}{}+OK\r\n", ev("k"), ev("m")));
    a.cmd("CLIENT TRACKING on");
    a.cmd("GET k");
    a.send_cmd(&[b"CLIENT", b"REPLY", b"SKIP"]);
    a.send_cmd(&[b"SET", b"k", b"v"]);
    a.send_cmd(&[b"PING"]);
    assert_eq!(frames(&mut a, 3), format!("{}>2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n+PONG\r\n", ev("k")));
}

/// A killed tracking client leaves the tracking registry before CLIENT
/// KILL replies (INFO tracking_clients, its BCAST prefixes); keys it read
/// stay in the table, as in Redis.
#[test]
fn client_kill_stops_tracking_at_once() {
    let t = TestServer::start();
    let mut a = t.raw();
    let a_id = client_id(&mut a);
    a.cmd("CLIENT TRACKING on BCAST PREFIX x");
    let mut b = t.raw();
    let b_id = client_id(&mut b);
    b.cmd("CLIENT TRACKING on");
    b.cmd("GET k");
    let mut k = t.raw();
    k.cmd("MULTI");
    k.cmd(&format!("CLIENT KILL ID {a_id}"));
    k.cmd(&format!("CLIENT KILL ID {b_id}"));
    k.cmd("INFO");
    let info = k.cmd("EXEC");
    for want in ["tracking_clients:0\r\n", "tracking_total_prefixes:0\r\n", "tracking_total_keys:1\r\n"] {
        assert!(info.contains(want), "{want} in {info}");
    }
    assert!(a.is_closed() && b.is_closed());
    assert!(k.cmd("INFO").contains("tracking_clients:0\r\n"));
}

/// A served BLMOVE's reply comes before the invalidation its own push
/// caused (Redis's tcl unit/tracking checks the same).
#[test]
fn served_reply_before_own_invalidation() {
    let t = TestServer::start();
    let mut w = t.raw();
    w.cmd("RPUSH dst a");
    let mut a = t.raw();
    a.cmd("HELLO 3");
    a.cmd("CLIENT TRACKING on");
    a.cmd("LRANGE dst 0 -1");
    a.send_cmd(&[b"BLMOVE", b"src", b"dst", b"LEFT", b"LEFT", b"0"]);
    wait_blocked(&mut w, 1);
    w.cmd("RPUSH src foo");
    assert_eq!(frames(&mut a, 2), "$3\r\nfoo\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$3\r\ndst\r\n");
}

/// Under CLIENT REPLY OFF / SKIP, a push Redis writes in the middle of a
/// reply (XREADGROUP's xgroup-createconsumer event, a pop's event for a
/// RESP3 client listening to its own keys) still goes out without the
/// reply (bytes as redis-server 7.0.15 writes them).
#[test]
fn silenced_replies_keep_pushes_written_inside_them() {
    let t = TestServer::start();
    let mut a = t.raw();
    a.cmd("CONFIG SET notify-keyspace-events KEA");
    a.cmd("HELLO 3");
    a.cmd("XADD st 1-1 f v");
    a.cmd("XGROUP CREATE st g 0");
    a.cmd("PSUBSCRIBE __keyevent@0__:xgroup-createconsumer");
    for c in ["CLIENT REPLY OFF", "XREADGROUP GROUP g c1 STREAMS st >", "CLIENT REPLY ON"] {
        let args = split(c);
        a.send_cmd(&args.iter().map(|x| x.as_slice()).collect::<Vec<_>>());
    }
    let ch = "__keyevent@0__:xgroup-createconsumer";
    assert_eq!(
        frames(&mut a, 2),
        format!(">4\r\n$8\r\npmessage\r\n${n}\r\n{ch}\r\n${n}\r\n{ch}\r\n$2\r\nst\r\n+OK\r\n", n = ch.len())
    );
    a.cmd("ZADD z 1 a 2 b");
    a.cmd("PSUBSCRIBE __keyevent@0__:zpopmin");
    for c in ["CLIENT REPLY SKIP", "ZPOPMIN z", "PING"] {
        let args = split(c);
        a.send_cmd(&args.iter().map(|x| x.as_slice()).collect::<Vec<_>>());
    }
    let ch = "__keyevent@0__:zpopmin";
    assert_eq!(
        frames(&mut a, 2),
        format!(">4\r\n$8\r\npmessage\r\n${n}\r\n{ch}\r\n${n}\r\n{ch}\r\n$1\r\nz\r\n+PONG\r\n", n = ch.len())
    );
}
