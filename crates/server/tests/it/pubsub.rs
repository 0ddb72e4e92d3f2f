//! Pub/sub over real connections: fan-out, patterns, shard channels,
//! RESP2 subscribed mode, RESP3 pushes, slow subscribers.

use crate::common::*;

fn read_str(r: &mut Raw) -> String {
    String::from_utf8_lossy(&r.read_reply()).into_owned()
}

fn msg(ch: &str, m: &str) -> String {
    format!("*3\r\n$7\r\nmessage\r\n${}\r\n{ch}\r\n${}\r\n{m}\r\n", ch.len(), m.len())
}

/// Waits until `cond` holds (the server works asynchronously); no timing
/// is asserted, the bound only keeps a broken build from hanging.
fn eventually(mut cond: impl FnMut() -> bool) {
    for _ in 0..2000 {
        if cond() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    panic!("condition never held");
}

#[test]
fn fan_out_in_publish_order() {
    let t = TestServer::start();
    let mut subs: Vec<Raw> = (0..16).map(|_| t.raw()).collect();
    for s in subs.iter_mut() {
        assert_eq!(s.cmd("SUBSCRIBE news"), "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n");
    }
    let mut p = t.raw();
    for i in 0..50 {
        assert_eq!(p.cmd(&format!("PUBLISH news m{i}")), ":16\r\n");
    }
    assert_eq!(p.cmd("PUBLISH other x"), ":0\r\n");
    for s in subs.iter_mut() {
        for i in 0..50 {
            assert_eq!(read_str(s), msg("news", &format!("m{i}")));
        }
    }
    assert_eq!(p.cmd("PUBSUB NUMSUB news other"), "*4\r\n$4\r\nnews\r\n:16\r\n$5\r\nother\r\n:0\r\n");
    drop(subs);
    eventually(|| p.cmd("PUBSUB NUMSUB news") == "*2\r\n$4\r\nnews\r\n:0\r\n");
}

#[test]
fn patterns_and_counts() {
    let t = TestServer::start();
    let mut s = t.raw();
    assert_eq!(s.cmd("PSUBSCRIBE n* x?"), "*3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:1\r\n");
    assert_eq!(read_str(&mut s), "*3\r\n$10\r\npsubscribe\r\n$2\r\nx?\r\n:2\r\n");
    assert_eq!(s.cmd("SUBSCRIBE news"), "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:3\r\n");
    let mut p = t.raw();
    assert_eq!(p.cmd("PUBLISH news hi"), ":2\r\n");
    assert_eq!(p.cmd("PUBSUB NUMPAT"), ":2\r\n");
    let got = [read_str(&mut s), read_str(&mut s)];
    assert!(got.contains(&msg("news", "hi")), "{got:?}");
    assert!(got.contains(&"*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n".to_string()), "{got:?}");
    let info = t.srv.clients.all();
    let me = info.iter().find(|c| c.psub.load(std::sync::atomic::Ordering::Relaxed) == 2).expect("subscriber");
    assert_eq!(me.sub.load(std::sync::atomic::Ordering::Relaxed), 1);
    // PUNSUBSCRIBE without arguments: in subscription order, then nothing.
    assert_eq!(s.cmd("PUNSUBSCRIBE"), "*3\r\n$12\r\npunsubscribe\r\n$2\r\nn*\r\n:2\r\n");
    assert_eq!(read_str(&mut s), "*3\r\n$12\r\npunsubscribe\r\n$2\r\nx?\r\n:1\r\n");
    assert_eq!(s.cmd("PUNSUBSCRIBE"), "*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:1\r\n");
    assert_eq!(s.cmd("UNSUBSCRIBE"), "*3\r\n$11\r\nunsubscribe\r\n$4\r\nnews\r\n:0\r\n");
    assert_eq!(s.cmd("UNSUBSCRIBE"), "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n");
    // Out of subscribed mode: normal commands again.
    assert_eq!(s.cmd("PING"), "+PONG\r\n");
}

#[test]
fn shard_channels_ignore_patterns() {
    let t = TestServer::start();
    let mut s = t.raw();
    let mut ps = t.raw();
    assert_eq!(s.cmd("SSUBSCRIBE {a}x"), "*3\r\n$10\r\nssubscribe\r\n$4\r\n{a}x\r\n:1\r\n");
    ps.cmd("PSUBSCRIBE *");
    let mut p = t.raw();
    assert_eq!(p.cmd("SPUBLISH {a}x hi"), ":1\r\n");
    assert_eq!(read_str(&mut s), "*3\r\n$8\r\nsmessage\r\n$4\r\n{a}x\r\n$2\r\nhi\r\n");
    assert_eq!(p.cmd("PUBLISH {a}x hi"), ":1\r\n");
    assert_eq!(p.cmd("PUBSUB SHARDCHANNELS"), "*1\r\n$4\r\n{a}x\r\n");
    assert_eq!(p.cmd("PUBSUB SHARDNUMSUB {a}x"), "*2\r\n$4\r\n{a}x\r\n:1\r\n");
    assert_eq!(p.cmd("PUBSUB CHANNELS"), "*0\r\n");
    assert_eq!(s.cmd("SUNSUBSCRIBE"), "*3\r\n$12\r\nsunsubscribe\r\n$4\r\n{a}x\r\n:0\r\n");
}

#[test]
fn resp2_subscribed_context() {
    let t = TestServer::start();
    let mut s = t.raw();
    s.cmd("SUBSCRIBE c");
    assert_eq!(
        s.cmd("GET k"),
        "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
    );
    assert_eq!(s.cmd("PING"), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    assert_eq!(s.cmd("PING hi"), "*2\r\n$4\r\npong\r\n$2\r\nhi\r\n");
    assert_eq!(s.cmd("QUIT"), "+OK\r\n");
    assert!(s.is_closed());
}

#[test]
fn resp3_pushes_interleave_with_replies() {
    let t = TestServer::start();
    let mut s = t.raw();
    s.cmd("HELLO 3");
    assert_eq!(s.cmd("SUBSCRIBE c"), ">3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n");
    assert_eq!(s.cmd("SET k v"), "+OK\r\n");
    // Its own message comes before the reply to PUBLISH, as in Redis.
    s.send_cmd(&[b"PUBLISH", b"c", b"me"]);
    assert_eq!(read_str(&mut s), ">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$2\r\nme\r\n");
    assert_eq!(read_str(&mut s), ":1\r\n");
    let mut p = t.raw();
    p.cmd("PUBLISH c other");
    assert_eq!(read_str(&mut s), ">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$5\r\nother\r\n");
    assert_eq!(s.cmd("PING"), "+PONG\r\n");
}

#[test]
fn slow_subscriber_is_disconnected() {
    let t = TestServer::with(&[("client-output-buffer-limit", "pubsub 256kb 128kb 60")]);
    let mut slow = t.raw();
    slow.cmd("SUBSCRIBE firehose");
    let mut fast = t.raw();
    fast.cmd("SUBSCRIBE firehose");
    let mut p = t.raw();
    let big = vec![b'x'; 64 * 1024];
    let mut fast_got = 0;
    // The slow subscriber never reads: its socket fills, then its queue
    // passes the hard limit and the server drops it. The fast one keeps up.
    let mut n = 0;
    loop {
        p.send_cmd(&[b"PUBLISH", b"firehose", &big]);
        let r = read_str(&mut p);
        n += 1;
        while fast_got < n {
            let m = fast.read_reply();
            assert!(m.len() > 64 * 1024);
            fast_got += 1;
        }
        if r == ":1\r\n" {
            break;
        }
        assert_eq!(r, ":2\r\n");
        assert!(n < 100_000, "slow subscriber never cut off");
    }
    assert!(slow.is_closed());
    assert_eq!(p.cmd("PUBSUB NUMSUB firehose"), "*2\r\n$8\r\nfirehose\r\n:1\r\n");
}

#[test]
fn output_buffer_limit_config_parses_like_redis() {
    let t = TestServer::with(&[("client-output-buffer-limit", "pubsub 1mb 2k 7")]);
    assert_eq!(
        t.srv.config.get_text("client-output-buffer-limit").unwrap(),
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 2000 7"
    );
    let c = &t.srv.config;
    let e = c.runtime_set("client-output-buffer-limit", "pubsub 1 2").unwrap_err();
    assert!(e.ends_with("Wrong number of arguments in buffer limit configuration."), "{e}");
    let e = c.runtime_set("client-output-buffer-limit", "master 1 2 3").unwrap_err();
    assert!(e.ends_with("Invalid client class specified in buffer limit configuration."), "{e}");
    let e = c.runtime_set("client-output-buffer-limit", "normal -1 2 3").unwrap_err();
    assert!(e.ends_with("Error in hard, soft or soft_seconds setting in buffer limit configuration."), "{e}");
    c.runtime_set("client-output-buffer-limit", "replica 1 2 3 normal 4 5 6").unwrap();
    assert_eq!(c.get_text("client-output-buffer-limit").unwrap(), "normal 4 5 6 slave 1 2 3 pubsub 1048576 2000 7");
}

#[test]
fn pubsub_introspection() {
    let t = TestServer::start();
    let mut a = t.raw();
    a.cmd("SUBSCRIBE abc abd xyz");
    let mut p = t.raw();
    let (_, mut els) = elements(&p.read_reply_of("PUBSUB CHANNELS ab*")).unwrap();
    els.sort();
    assert_eq!(els, vec![b"$3\r\nabc\r\n".to_vec(), b"$3\r\nabd\r\n".to_vec()]);
    assert_eq!(p.cmd("PUBSUB NUMSUB"), "*0\r\n");
    assert!(p
        .cmd("PUBSUB CHANNELS a b")
        .starts_with("-ERR unknown subcommand or wrong number of arguments for 'CHANNELS'"));
    assert!(p.cmd("PUBSUB HELP").starts_with("*14\r\n+PUBSUB <subcommand>"));
    assert_eq!(p.cmd("PUBSUB FOO"), "-ERR unknown subcommand 'FOO'. Try PUBSUB HELP.\r\n");
}
