//! Statistics stay exact when a connection's counters are kept locally
//! (dispatch::Pending): a pipeline that ends in INFO or CLIENT INFO sees
//! every command before it, as with Redis.

use crate::common::*;

/// The value of `field` in an INFO reply.
fn field(info: &str, name: &str) -> String {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("{name} missing in {info}"))
        .trim()
        .to_string()
}

fn pipeline(c: &mut Raw, lines: &[&str]) -> Vec<String> {
    let mut bytes = Vec::new();
    for l in lines {
        let args = split(l);
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        bytes.extend(encode(&refs));
    }
    c.send(&bytes);
    lines.iter().map(|_| String::from_utf8_lossy(&c.read_reply()).into_owned()).collect()
}

#[test]
fn pipelined_stats_are_exact() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    c.cmd("CONFIG RESETSTAT");
    let r = pipeline(
        &mut c,
        &["SET a 1", "GET a", "GET a", "GET nokey", "INCR a", "INFO stats", "INFO commandstats", "CLIENT INFO"],
    );
    assert_eq!(r[4], ":2\r\n");
    assert_eq!(field(&r[5], "keyspace_hits"), "2");
    assert_eq!(field(&r[5], "keyspace_misses"), "1");
    // The five commands and INFO itself (RESETSTAT cleared its own count).
    assert_eq!(field(&r[5], "total_commands_processed"), "6");
    let calls = |name: &str| {
        let v = field(&r[6], &format!("cmdstat_{name}"));
        v.split(',').next().unwrap().to_string()
    };
    assert_eq!(calls("get"), "calls=3");
    assert_eq!(calls("set"), "calls=1");
    assert_eq!(calls("incr"), "calls=1");
    assert_eq!(calls("info"), "calls=1");
    assert!(r[7].contains(" cmd=client|info "), "{}", r[7]);

    // Another connection sees this one's counts once its batch is done.
    let mut other = srv.raw();
    let info = other.cmd("INFO commandstats");
    assert!(field(&info, "cmdstat_get").starts_with("calls=3,"), "{info}");

    // Inside a transaction too.
    let r = pipeline(&mut c, &["MULTI", "GET a", "INFO commandstats", "EXEC"]);
    assert!(r[3].contains("cmdstat_get:calls=4,"), "{}", r[3]);
}

/// The last command is tried first for the next one: a container's
/// subcommand must still be found after the container ran alone.
#[test]
fn cached_lookup_keeps_subcommands() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    assert!(c.cmd("COMMAND").starts_with('*'));
    assert!(c.cmd("COMMAND COUNT").starts_with(':'));
    assert_eq!(c.cmd("command nosuch"), "-ERR unknown subcommand 'nosuch'. Try COMMAND HELP.\r\n");
    assert_eq!(c.cmd("GET"), "-ERR wrong number of arguments for 'get' command\r\n");
    assert_eq!(c.cmd("get k x"), "-ERR wrong number of arguments for 'get' command\r\n");
    assert_eq!(c.cmd("get k"), "$-1\r\n");
}

/// Sends `lines` as one write and reads one reply per line.
fn pipeline_bytes(c: &mut Raw, lines: &[String]) -> Vec<String> {
    let refs: Vec<&str> = lines.iter().map(|s| s.as_str()).collect();
    pipeline(c, &refs)
}

/// The prefetcher looks ahead over a pipeline and hands the shards and
/// hashes it computed to the commands that follow (client::KeyHints). The
/// replies must be those of running the commands one by one, whatever the
/// pipeline holds: keys of many shards, multi-key commands, SELECT in the
/// middle, repeated keys, expired keys, commands without keys, unknown
/// commands and wrong arity.
#[test]
fn pipelined_commands_see_their_own_keys() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    let mut lines: Vec<String> = Vec::new();
    for i in 0..200 {
        lines.push(format!("SET k{i} v{i}"));
    }
    lines.push("SET short 1 PX 50".into());
    let r = pipeline_bytes(&mut c, &lines);
    assert!(r.iter().all(|x| x == "+OK\r\n"));
    srv.advance_ms(100);

    let mut lines: Vec<String> = Vec::new();
    let mut want: Vec<String> = Vec::new();
    for i in 0..200 {
        lines.push(format!("GET k{i}"));
        let v = format!("v{i}");
        want.push(format!("${}\r\n{v}\r\n", v.len()));
        if i % 7 == 0 {
            lines.push(format!("INCR n{}", i % 3));
            want.push(format!(":{}\r\n", i / 21 + 1));
        }
        if i % 50 == 0 {
            lines.push("SELECT 1".into());
            want.push("+OK\r\n".into());
            lines.push(format!("GET k{i}"));
            want.push("$-1\r\n".into());
            lines.push(format!("SET k{i} other"));
            want.push("+OK\r\n".into());
            lines.push("SELECT 0".into());
            want.push("+OK\r\n".into());
        }
    }
    lines.push("GET short".into());
    want.push("$-1\r\n".into());
    lines.push("MGET k1 k2 nokey k3".into());
    want.push("*4\r\n$2\r\nv1\r\n$2\r\nv2\r\n$-1\r\n$2\r\nv3\r\n".into());
    lines.push("MSET a1 x b2 y c3 z".into());
    want.push("+OK\r\n".into());
    lines.push("MGET c3 b2 a1".into());
    want.push("*3\r\n$1\r\nz\r\n$1\r\ny\r\n$1\r\nx\r\n".into());
    lines.push("NOSUCH k1".into());
    want.push("-ERR unknown command 'NOSUCH', with args beginning with: 'k1' \r\n".into());
    lines.push("GET".into());
    want.push("-ERR wrong number of arguments for 'get' command\r\n".into());
    lines.push("PING".into());
    want.push("+PONG\r\n".into());
    lines.push("DEL k1 k2".into());
    want.push(":2\r\n".into());
    lines.push("EXISTS k1 k2 k3".into());
    want.push(":1\r\n".into());
    let r = pipeline_bytes(&mut c, &lines);
    for (i, (got, w)) in r.iter().zip(&want).enumerate() {
        assert_eq!(got, w, "reply {i} to {}", lines[i]);
    }
    // The writes made in database 1 went there.
    c.cmd("SELECT 1");
    assert_eq!(c.cmd("GET k50"), "$5\r\nother\r\n");
    assert_eq!(c.cmd("DBSIZE"), ":4\r\n");
}

/// A command that blocks in the middle of a pipeline: the commands after it
/// run once it is served, on their own keys (the prefetcher's hints are
/// dropped while the connection waits).
#[test]
fn pipeline_resumes_after_a_blocked_command() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    let mut lines: Vec<String> = vec!["BLPOP q 0".into()];
    for i in 0..40 {
        lines.push(format!("SET after{i} {i}"));
        lines.push(format!("GET after{i}"));
    }
    let mut bytes = Vec::new();
    for l in &lines {
        let args = split(l);
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        bytes.extend(encode(&refs));
    }
    c.send(&bytes);
    let mut p = srv.raw();
    // Wait until the first client is blocked, then serve it.
    while !p.cmd("INFO clients").contains("blocked_clients:1") {
        std::thread::yield_now();
    }
    assert_eq!(p.cmd("RPUSH q item"), ":1\r\n");
    assert_eq!(String::from_utf8_lossy(&c.read_reply()), "*2\r\n$1\r\nq\r\n$4\r\nitem\r\n");
    for i in 0..40 {
        assert_eq!(String::from_utf8_lossy(&c.read_reply()), "+OK\r\n");
        let v = i.to_string();
        assert_eq!(String::from_utf8_lossy(&c.read_reply()), format!("${}\r\n{v}\r\n", v.len()));
    }
}
