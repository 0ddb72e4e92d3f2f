//! LATENCY (crates/server/src/latency.rs, commands/latency.rs): events are
//! made with DEBUG SLEEP past the threshold (20 ms, so that an unlucky
//! pause of another command on a busy machine makes no event of its own);
//! durations vary, so the tests look at which events exist, never at how
//! long they took.

use crate::common::*;
use redis::Value;

fn debug_server() -> TestServer {
    TestServer::with(&[("enable-debug-command", "yes")])
}

fn q(c: &mut redis::Connection, line: &str) -> Value {
    let args = split(line);
    let mut cmd = redis::cmd(std::str::from_utf8(&args[0]).unwrap());
    for a in &args[1..] {
        cmd.arg(a.as_slice());
    }
    cmd.query(c).unwrap_or_else(|e| panic!("{line}: {e}"))
}

fn items(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        other => panic!("not an array: {other:?}"),
    }
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Int(n) => *n,
        other => panic!("not an integer: {other:?}"),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::VerbatimString { text, .. } => text.clone(),
        Value::SimpleString(s) => s.clone(),
        other => panic!("not a string: {other:?}"),
    }
}

/// LATENCY LATEST as (name, time, latency, max).
fn latest(c: &mut redis::Connection) -> Vec<(String, i64, i64, i64)> {
    items(q(c, "LATENCY LATEST"))
        .into_iter()
        .map(|e| {
            let f = items(e);
            assert_eq!(f.len(), 4);
            (text(&f[0]), int(&f[1]), int(&f[2]), int(&f[3]))
        })
        .collect()
}

fn history(c: &mut redis::Connection, event: &str) -> Vec<(i64, i64)> {
    items(q(c, &format!("LATENCY HISTORY {event}")))
        .into_iter()
        .map(|e| {
            let f = items(e);
            (int(&f[0]), int(&f[1]))
        })
        .collect()
}

#[test]
fn debug_sleep_is_a_command_event() {
    let t = debug_server();
    let mut c = t.client();
    // Off by default: nothing is recorded.
    q(&mut c, "DEBUG SLEEP 0.03");
    assert!(latest(&mut c).is_empty());
    q(&mut c, "CONFIG SET latency-monitor-threshold 20");
    q(&mut c, "DEBUG SLEEP 0.03");
    let l = latest(&mut c);
    assert_eq!(l.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(), ["command"]);
    let now = t.srv.clock.now_ms() / 1000;
    assert!((now - 5..=now).contains(&l[0].1), "{l:?}");
    assert!(l[0].3 >= l[0].2);
    assert_eq!(history(&mut c, "command").len(), 1);
    // One sample per second: a second later, a second sample.
    t.advance_ms(1000);
    q(&mut c, "DEBUG SLEEP 0.03");
    let h = history(&mut c, "command");
    assert_eq!(h.len(), 2, "{h:?}");
    assert!(h[0].0 < h[1].0, "oldest first: {h:?}");
    assert_eq!(latest(&mut c)[0].1, h[1].0);
    // Names are matched exactly by HISTORY and GRAPH.
    assert!(history(&mut c, "COMMAND").is_empty());
    let mut r = t.raw();
    assert_eq!(r.cmd("LATENCY GRAPH COMMAND"), "-ERR No samples available for event 'COMMAND'\r\n");
}

#[test]
fn graph_and_doctor_with_events() {
    let t = debug_server();
    let mut r = t.raw();
    r.cmd("CONFIG SET latency-monitor-threshold 20");
    r.cmd("DEBUG SLEEP 0.03");
    let g = r.cmd_bytes("LATENCY GRAPH command");
    let g = String::from_utf8_lossy(&g).into_owned();
    let body = g.split_once("\r\n").unwrap().1;
    assert!(body.starts_with("command - high "), "{g}");
    assert!(body.contains(&format!("\n{}\n", "-".repeat(80))), "{g}");
    // Four rows of bars, a blank row, the label "0s" (or "1s") downwards.
    let rows: Vec<&str> = body.trim_end_matches("\r\n").lines().collect();
    assert_eq!(rows.len(), 2 + 4 + 1 + 2, "{g}");
    assert_eq!(rows[5], "_");
    assert!(rows[7].len() == 1 && rows[8] == "s", "{g}");
    let d = String::from_utf8_lossy(&r.cmd_bytes("LATENCY DOCTOR")).into_owned();
    assert!(d.contains("\n1. command: 1 latency spikes (average "), "{d}");
    assert!(d.contains("SLOWLOG GET"), "{d}");
    // RESP3: verbatim strings.
    r.cmd("HELLO 3");
    assert!(r.cmd("LATENCY GRAPH command").starts_with('='));
    let d = r.cmd("LATENCY DOCTOR");
    assert!(d.starts_with('=') && d.contains("\r\ntxt:"), "{d}");
}

#[test]
fn reset_counts_and_forgets() {
    let t = debug_server();
    let mut r = t.raw();
    r.cmd("CONFIG SET latency-monitor-threshold 20");
    r.cmd("DEBUG SLEEP 0.03");
    assert_eq!(r.cmd("LATENCY RESET nosuch"), ":0\r\n");
    assert_eq!(r.cmd("LATENCY RESET Command command"), ":1\r\n");
    assert_eq!(r.cmd("LATENCY LATEST"), "*0\r\n");
    assert_eq!(r.cmd("LATENCY GRAPH command"), "-ERR No samples available for event 'command'\r\n");
    r.cmd("DEBUG SLEEP 0.03");
    assert_eq!(r.cmd("LATENCY RESET"), ":1\r\n");
    assert_eq!(r.cmd("LATENCY RESET"), ":0\r\n");
    // With no events and the monitor on, the doctor has nothing to say.
    let d = r.cmd("LATENCY DOCTOR");
    assert!(d.contains("Dave, no latency spike was observed"), "{d}");
    // Turned off again, nothing more is recorded.
    r.cmd("CONFIG SET latency-monitor-threshold 0");
    r.cmd("DEBUG SLEEP 0.03");
    assert_eq!(r.cmd("LATENCY LATEST"), "*0\r\n");
    assert!(r.cmd("LATENCY DOCTOR").contains("I'm sorry, Dave, I can't do that."));
}

#[test]
fn commands_inside_exec_are_events() {
    let t = debug_server();
    let mut r = t.raw();
    r.cmd("CONFIG SET latency-monitor-threshold 20");
    r.cmd("MULTI");
    r.cmd("DEBUG SLEEP 0.03");
    r.cmd("EXEC");
    // DEBUG and EXEC both took over 20 ms: both are (non-fast) commands, one
    // sample for the second they ran in.
    let mut c = t.client();
    let l = latest(&mut c);
    assert_eq!(l.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(), ["command"]);
}

/// LATENCY HISTOGRAM as {name: (calls, [(usec, cumulative)])}.
fn histogram(c: &mut redis::Connection, line: &str) -> Vec<(String, i64, Vec<(i64, i64)>)> {
    let pairs = match q(c, line) {
        Value::Map(m) => m,
        Value::Array(a) => a.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect(),
        other => panic!("{other:?}"),
    };
    let flat = |v: Value| -> Vec<Value> {
        match v {
            Value::Map(m) => m.into_iter().flat_map(|(k, v)| [k, v]).collect(),
            Value::Array(a) => a,
            other => panic!("{other:?}"),
        }
    };
    pairs
        .into_iter()
        .map(|(name, body)| {
            let f = flat(body);
            assert_eq!(text(&f[0]), "calls");
            assert_eq!(text(&f[2]), "histogram_usec");
            let b = flat(f[3].clone());
            let buckets = b.chunks(2).map(|p| (int(&p[0]), int(&p[1]))).collect();
            (text(&name), int(&f[1]), buckets)
        })
        .collect()
}

fn check_buckets(calls: i64, buckets: &[(i64, i64)]) {
    assert!(!buckets.is_empty());
    for w in buckets.windows(2) {
        assert!(w[0].0 < w[1].0 && w[0].1 < w[1].1, "{buckets:?}");
    }
    assert_eq!(buckets.last().unwrap().1, calls);
    // Bucket tops are Redis's: 2^k µs-ish steps starting at 1.
    let tops = [1, 2, 4, 8, 16, 33, 66, 132, 264, 528, 1056, 2113, 4227, 8454, 16908, 33816, 67633, 135266];
    for (usec, _) in buckets {
        assert!(tops.contains(usec) || *usec > 135266, "{usec}");
    }
}

#[test]
fn histogram_per_command() {
    let t = debug_server();
    let mut c = t.client();
    q(&mut c, "CONFIG RESETSTAT");
    let h = histogram(&mut c, "LATENCY HISTOGRAM");
    assert_eq!(h.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(), ["config|resetstat"]);
    assert_eq!(h[0].1, 1);
    q(&mut c, "SET a b");
    q(&mut c, "SET c d");
    q(&mut c, "GET a");
    q(&mut c, "CLIENT ID");
    q(&mut c, "CLIENT LIST");
    let h = histogram(&mut c, "LATENCY HISTOGRAM set nosuch client get|x");
    let names: Vec<(&str, i64)> = h.iter().map(|e| (e.0.as_str(), e.1)).collect();
    assert_eq!(names, [("set", 2), ("client|id", 1), ("client|list", 1)]);
    for (_, calls, b) in &h {
        check_buckets(*calls, b);
    }
    let h = histogram(&mut c, "LATENCY HISTOGRAM CLIENT|ID Get");
    assert_eq!(h.iter().map(|e| (e.0.as_str(), e.1)).collect::<Vec<_>>(), [("client|id", 1), ("get", 1)]);
    // All commands with calls, in name order.
    let all = histogram(&mut c, "LATENCY HISTOGRAM");
    let names: Vec<&str> = all.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(names, ["client|id", "client|list", "config|resetstat", "get", "latency|histogram", "set"]);
    // A slow call lands in a high bucket.
    q(&mut c, "DEBUG SLEEP 0.03");
    let h = histogram(&mut c, "LATENCY HISTOGRAM debug");
    assert_eq!(h[0].1, 1);
    assert!(h[0].2[0].0 >= 16908, "{h:?}");
    // RESP3: maps.
    let mut r = t.raw();
    r.cmd("HELLO 3");
    let reply = r.cmd("LATENCY HISTOGRAM set");
    assert!(reply.starts_with("%1\r\n$3\r\nset\r\n%2\r\n$5\r\ncalls\r\n:2\r\n$14\r\nhistogram_usec\r\n%"), "{reply}");
    assert_eq!(r.cmd("LATENCY HISTOGRAM nosuch"), "%0\r\n");
    // CONFIG RESETSTAT clears them; latency-tracking no stops recording.
    q(&mut c, "CONFIG SET latency-tracking no");
    q(&mut c, "CONFIG RESETSTAT");
    q(&mut c, "SET a b");
    assert!(histogram(&mut c, "LATENCY HISTOGRAM").is_empty());
    q(&mut c, "CONFIG SET latency-tracking yes");
    q(&mut c, "SET a b");
    assert_eq!(histogram(&mut c, "LATENCY HISTOGRAM set")[0].1, 1);
}

#[test]
fn errors() {
    let t = TestServer::start();
    let mut r = t.raw();
    assert_eq!(r.cmd("LATENCY"), "-ERR wrong number of arguments for 'latency' command\r\n");
    assert_eq!(r.cmd("LATENCY foo"), "-ERR unknown subcommand 'foo'. Try LATENCY HELP.\r\n");
    assert_eq!(r.cmd("LATENCY HELP x"), "-ERR wrong number of arguments for 'latency|help' command\r\n");
    assert_eq!(r.cmd("LATENCY LATEST x"), "-ERR wrong number of arguments for 'latency|latest' command\r\n");
    assert_eq!(r.cmd("LATENCY GRAPH"), "-ERR wrong number of arguments for 'latency|graph' command\r\n");
    assert_eq!(r.cmd("LATENCY HISTORY a b"), "-ERR wrong number of arguments for 'latency|history' command\r\n");
    assert_eq!(r.cmd("LATENCY GRAPH nosuch"), "-ERR No samples available for event 'nosuch'\r\n");
    assert_eq!(r.cmd("LATENCY HISTORY nosuch"), "*0\r\n");
    let help = r.cmd("LATENCY HELP");
    assert!(help.starts_with("*17\r\n+LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+DOCTOR\r\n"));
    assert!(help.ends_with("+HELP\r\n+    Prints this help.\r\n"));
}

/// Names of the events LATENCY LATEST lists.
fn event_names(r: &mut Raw) -> Vec<String> {
    let reply = r.cmd_bytes("LATENCY LATEST");
    let (_, events) = elements(&reply).expect("array");
    events
        .iter()
        .map(|e| {
            let (_, f) = elements(e).expect("event");
            let s = String::from_utf8_lossy(&f[0]).into_owned();
            s.split("\r\n").nth(1).unwrap().to_string()
        })
        .collect()
}

/// A set of 300,000 members too long to be stored inline, each its own
/// allocation: freeing them takes several ms, past a 1 ms threshold.
/// (Short members live inside the set's vector, which frees at once.)
fn fill_big_set(r: &mut Raw, key: &str) {
    for chunk in 0..30 {
        let members: Vec<String> = (0..10_000).map(|i| format!("member:{:016}", chunk * 10_000 + i)).collect();
        assert_eq!(r.cmd(&format!("SADD {key} {}", members.join(" "))), ":10000\r\n");
    }
}

#[test]
fn freeing_a_big_expired_set_is_an_expire_event() {
    let t = debug_server();
    let mut r = t.raw();
    r.cmd("DEBUG SET-ACTIVE-EXPIRE 0");
    for key in ["big1", "big2"] {
        fill_big_set(&mut r, key);
        r.cmd(&format!("PEXPIRE {key} 1"));
    }
    t.advance_ms(10);
    r.cmd("CONFIG SET latency-monitor-threshold 1");
    // Lazily, by a command that finds it due.
    assert_eq!(r.cmd("EXISTS big1"), ":0\r\n");
    assert!(event_names(&mut r).contains(&"expire-del".to_string()));
    r.cmd("LATENCY RESET");
    // Actively, by an expiry cycle.
    hematite::expire::cycle(&t.srv, 0, std::time::Duration::from_secs(60));
    assert_eq!(r.cmd("DBSIZE"), ":0\r\n");
    let names = event_names(&mut r);
    assert!(names.contains(&"expire-del".to_string()) && names.contains(&"expire-cycle".to_string()), "{names:?}");
}

#[test]
fn evicting_a_big_set_is_an_eviction_event() {
    let t = TestServer::start();
    let mut r = t.raw();
    fill_big_set(&mut r, "big");
    r.cmd("CONFIG SET maxmemory-policy allkeys-random");
    r.cmd("CONFIG SET latency-monitor-threshold 1");
    // The new limit evicts at once.
    r.cmd("CONFIG SET maxmemory 1");
    assert_eq!(r.cmd("EXISTS big"), ":0\r\n");
    r.cmd("CONFIG SET maxmemory 0");
    let names = event_names(&mut r);
    assert!(names.contains(&"eviction-del".to_string()) && names.contains(&"eviction-cycle".to_string()), "{names:?}");
}

#[test]
fn blocked_command_counts_once_when_served() {
    let t = TestServer::start();
    let mut c = t.client();
    q(&mut c, "CONFIG RESETSTAT");
    // Timed out: never in the histogram (Redis 7.0 counts it only when served).
    q(&mut c, "BLPOP nolist 0.01");
    assert!(histogram(&mut c, "LATENCY HISTOGRAM blpop").is_empty());
    let mut waiting = t.raw();
    waiting.send_cmd(&[b"BLPOP", b"l", b"0"]);
    // Wait until it is blocked, then serve it.
    let mut r = t.raw();
    while !r.cmd("INFO clients").contains("blocked_clients:1") {
        std::thread::yield_now();
    }
    assert_eq!(r.cmd("RPUSH l a"), ":1\r\n");
    assert_eq!(waiting.read_reply(), b"*2\r\n$1\r\nl\r\n$1\r\na\r\n");
    let h = histogram(&mut c, "LATENCY HISTOGRAM blpop");
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].1, 1);
}
