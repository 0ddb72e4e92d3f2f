//! Streams over several connections: consumer groups with failover,
//! idle times driven by the test clock, keyspace events.

use crate::common::*;

fn read_str(r: &mut Raw) -> String {
    String::from_utf8_lossy(&r.read_reply()).into_owned()
}

#[test]
fn consumer_dies_and_another_recovers_with_xautoclaim() {
    let t = TestServer::start();
    let mut producer = t.raw();
    for i in 1..=10 {
        assert_eq!(
            producer.cmd(&format!("XADD jobs {i}-0 job j{i}")),
            format!("${}\r\n{i}-0\r\n", 3 + (i >= 10) as usize)
        );
    }
    producer.cmd("XGROUP CREATE jobs workers 0");
    let mut a = t.raw();
    let got = a.cmd("XREADGROUP GROUP workers alice COUNT 5 STREAMS jobs >");
    assert!(got.starts_with("*1\r\n*2\r\n$4\r\njobs\r\n*5\r\n"), "{got}");
    drop(a); // alice dies without acknowledging
    let mut b = t.raw();
    let got = b.cmd("XREADGROUP GROUP workers bob STREAMS jobs >");
    assert!(got.starts_with("*1\r\n*2\r\n$4\r\njobs\r\n*5\r\n*2\r\n$3\r\n6-0\r\n"), "{got}");
    assert_eq!(b.cmd("XACK jobs workers 6-0 7-0 8-0 9-0 10-0"), ":5\r\n");
    // Not idle long enough yet: nothing to claim.
    t.advance_ms(10_000);
    assert_eq!(b.cmd("XAUTOCLAIM jobs workers bob 30000 0 JUSTID"), "*3\r\n$3\r\n0-0\r\n*0\r\n*0\r\n");
    assert!(b.cmd("XPENDING jobs workers IDLE 5000 - + 10 alice").starts_with("*5\r\n*4\r\n$3\r\n1-0\r\n"));
    assert_eq!(b.cmd("XPENDING jobs workers IDLE 20000 - + 10"), "*0\r\n");
    t.advance_ms(30_000);
    // One entry was deleted meanwhile: reported, and dropped from the PEL.
    producer.cmd("XDEL jobs 3-0");
    let got = b.cmd("XAUTOCLAIM jobs workers bob 30000 0 COUNT 2");
    assert_eq!(
        got,
        "*3\r\n$3\r\n3-0\r\n*2\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$3\r\njob\r\n$2\r\nj1\r\n*2\r\n$3\r\n2-0\r\n*2\r\n$3\r\njob\r\n$2\r\nj2\r\n*0\r\n"
    );
    let got = b.cmd("XAUTOCLAIM jobs workers bob 30000 3-0");
    assert!(got.starts_with("*3\r\n$3\r\n0-0\r\n*2\r\n*2\r\n$3\r\n4-0\r\n"), "{got}");
    assert!(got.ends_with("*1\r\n$3\r\n3-0\r\n"), "{got}");
    let summary = b.cmd("XPENDING jobs workers");
    assert_eq!(summary, "*4\r\n:4\r\n$3\r\n1-0\r\n$3\r\n5-0\r\n*1\r\n*2\r\n$3\r\nbob\r\n$1\r\n4\r\n");
    // Each claimed entry was delivered twice.
    let detail = b.cmd("XPENDING jobs workers - + 1");
    assert!(detail.contains("$3\r\nbob\r\n:") && detail.ends_with(":2\r\n"), "{detail}");
    assert_eq!(b.cmd("XACK jobs workers 1-0 2-0 4-0 5-0"), ":4\r\n");
    assert_eq!(b.cmd("XPENDING jobs workers"), "*4\r\n:0\r\n$-1\r\n$-1\r\n*-1\r\n");
    // alice still exists, idle since her read; bob was just active.
    let consumers = b.cmd("XINFO CONSUMERS jobs workers");
    let idle = |name: &str| -> i64 {
        let at = consumers.find(&format!("${}\r\n{name}\r\n", name.len())).unwrap();
        consumers[at..].split("idle\r\n:").nth(1).unwrap().split("\r\n").next().unwrap().parse().unwrap()
    };
    assert!(idle("alice") >= 40_000, "{consumers}");
    assert!(idle("bob") < 40_000, "{consumers}");
}

#[test]
fn xclaim_idle_and_time() {
    let t = TestServer::start();
    let mut c = t.raw();
    c.cmd("XADD s 1-1 f v");
    c.cmd("XGROUP CREATE s g 0");
    c.cmd("XREADGROUP GROUP g a STREAMS s >");
    t.advance_ms(1000);
    assert_eq!(c.cmd("XCLAIM s g b 5000 1-1 JUSTID"), "*0\r\n");
    assert_eq!(c.cmd("XCLAIM s g b 500 1-1 JUSTID IDLE 250"), "*1\r\n$3\r\n1-1\r\n");
    let idle =
        |r: String| -> i64 { r.split("$1\r\nb\r\n:").nth(1).unwrap().split("\r\n").next().unwrap().parse().unwrap() };
    let first = idle(c.cmd("XPENDING s g - + 10"));
    assert!(first >= 250, "{first}");
    t.advance_ms(100_000);
    assert!(idle(c.cmd("XPENDING s g - + 10")) >= first + 100_000);
    // IDLE in the future of the last delivery is clamped to now.
    assert_eq!(c.cmd("XCLAIM s g a 0 1-1 JUSTID TIME 99999999999999"), "*1\r\n$3\r\n1-1\r\n");
    assert!(idle(c.cmd("XPENDING s g - + 10").replace("$1\r\na\r\n", "$1\r\nb\r\n")) < 100_000);
}

#[test]
fn stream_keyspace_events() {
    let t = TestServer::with(&[("notify-keyspace-events", "Et")]);
    let mut sub = t.raw();
    sub.cmd("PSUBSCRIBE __keyevent@0__:*");
    let mut c = t.raw();
    c.cmd("XADD s MAXLEN 1 1-1 f v");
    c.cmd("XADD s MAXLEN 1 1-2 f v");
    c.cmd("XDEL s 1-2");
    c.cmd("XADD s 1-3 f v");
    c.cmd("XGROUP CREATE s g 0");
    c.cmd("XGROUP CREATECONSUMER s g c1");
    c.cmd("XREADGROUP GROUP g c2 STREAMS s >");
    c.cmd("XGROUP SETID s g 0");
    c.cmd("XGROUP DELCONSUMER s g c1");
    c.cmd("XGROUP DESTROY s g");
    c.cmd("XSETID s 9-9");
    c.cmd("XTRIM s MAXLEN 0");
    let mut events = Vec::new();
    for _ in 0..13 {
        let r = read_str(&mut sub);
        let ev = r.split("__keyevent@0__:").nth(2).unwrap().split("\r\n").next().unwrap().to_string();
        events.push(ev);
    }
    assert_eq!(
        events,
        [
            "xadd",
            "xadd",
            "xtrim",
            "xdel",
            "xadd",
            "xgroup-create",
            "xgroup-createconsumer",
            "xgroup-createconsumer",
            "xgroup-setid",
            "xgroup-delconsumer",
            "xgroup-destroy",
            "xsetid",
            "xtrim"
        ]
    );
}

#[test]
fn wrongtype_and_big_streams() {
    let t = TestServer::start();
    let mut c = t.raw();
    for i in 1..=1000 {
        c.send_cmd(&[b"XADD", b"big", format!("{i}-0").as_bytes(), b"field", format!("{i}").as_bytes()]);
    }
    for _ in 0..1000 {
        c.read_reply();
    }
    assert_eq!(c.cmd("XLEN big"), ":1000\r\n");
    assert_eq!(c.cmd("XRANGE big 500 500"), "*1\r\n*2\r\n$5\r\n500-0\r\n*2\r\n$5\r\nfield\r\n$3\r\n500\r\n");
    assert_eq!(c.cmd("XREVRANGE big + - COUNT 1"), "*1\r\n*2\r\n$6\r\n1000-0\r\n*2\r\n$5\r\nfield\r\n$4\r\n1000\r\n");
    assert_eq!(c.cmd("XTRIM big MAXLEN ~ 10"), ":900\r\n");
    assert_eq!(c.cmd("GET big"), "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    assert_eq!(c.cmd("TYPE big"), "+stream\r\n");
}

/// Waits until `n` clients are blocked (the server registers them
/// asynchronously); the bound only keeps a broken build from hanging.
fn wait_blocked(t: &TestServer, n: usize) {
    for _ in 0..2000 {
        if t.srv.blocking.blocked_clients() >= n {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    panic!("clients never blocked");
}

#[test]
fn blocking_xread_and_xreadgroup_are_served_by_xadd() {
    let t = TestServer::start();
    let mut w = t.raw();
    w.cmd("XADD s 1-1 f old");
    w.cmd("XGROUP CREATE s g $");
    let mut r1 = t.raw();
    r1.send_cmd(&[b"XREAD", b"BLOCK", b"0", b"STREAMS", b"s", b"$"]);
    let mut r2 = t.raw();
    r2.send_cmd(&[b"XREADGROUP", b"GROUP", b"g", b"c", b"BLOCK", b"0", b"STREAMS", b"s", b">"]);
    let mut r3 = t.raw();
    r3.send_cmd(&[b"XREAD", b"BLOCK", b"0", b"STREAMS", b"s", b"5-0"]);
    wait_blocked(&t, 3);
    w.cmd("XADD s 2-1 f new");
    let entry = "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n2-1\r\n*2\r\n$1\r\nf\r\n$3\r\nnew\r\n";
    assert_eq!(read_str(&mut r1), entry);
    assert_eq!(read_str(&mut r2), entry);
    assert_eq!(w.cmd("XPENDING s g"), "*4\r\n:1\r\n$3\r\n2-1\r\n$3\r\n2-1\r\n*1\r\n*2\r\n$1\r\nc\r\n$1\r\n1\r\n");
    // The third waits for IDs above 5-0: still blocked, served later.
    assert_eq!(t.srv.blocking.blocked_clients(), 1);
    w.cmd("XADD s 6-1 f later");
    assert!(read_str(&mut r3).contains("$3\r\n6-1\r\n"));
}

#[test]
fn blocked_xreadgroup_learns_its_group_or_stream_is_gone() {
    let t = TestServer::start();
    let mut w = t.raw();
    w.cmd("XGROUP CREATE s g $ MKSTREAM");
    let mut r = t.raw();
    r.send_cmd(&[b"XREADGROUP", b"GROUP", b"g", b"c", b"BLOCK", b"0", b"STREAMS", b"s", b">"]);
    wait_blocked(&t, 1);
    assert_eq!(w.cmd("XGROUP DESTROY s g"), ":1\r\n");
    assert_eq!(read_str(&mut r), "-NOGROUP the consumer group this client was blocked on no longer exists\r\n");
    w.cmd("XGROUP CREATE s g $");
    r.send_cmd(&[b"XREADGROUP", b"GROUP", b"g", b"c", b"BLOCK", b"0", b"STREAMS", b"s", b">"]);
    wait_blocked(&t, 1);
    w.cmd("DEL s");
    assert_eq!(read_str(&mut r), "-UNBLOCKED the stream key no longer exists\r\n");
}

#[test]
fn blocking_xread_times_out() {
    let t = TestServer::start();
    let mut r = t.raw();
    assert_eq!(r.cmd("XREAD BLOCK 50 STREAMS s $"), "*-1\r\n");
    r.cmd("XGROUP CREATE s g $ MKSTREAM");
    assert_eq!(r.cmd("XREADGROUP GROUP g c BLOCK 50 STREAMS s >"), "*-1\r\n");
    r.cmd("HELLO 3");
    assert_eq!(r.cmd("XREAD BLOCK 50 STREAMS s $"), "_\r\n");
    assert_eq!(t.srv.blocking.blocked_clients(), 0);
    assert_eq!(r.cmd("XREAD BLOCK -1 STREAMS s 0"), "-ERR timeout is negative\r\n");
    assert_eq!(r.cmd("XREAD BLOCK x STREAMS s 0"), "-ERR timeout is not an integer or out of range\r\n");
}
