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

/// The prefetcher also loads the members a pipeline names in large hashes,
/// sets and sorted sets (commands::Members). The replies must be those of
/// running the commands one by one: members added, updated, removed and
/// looked up within one pipeline, ZADD with options before its pairs, wrong
/// types and collections that change encoding or vanish mid-pipeline.
#[test]
fn pipelined_members_of_large_collections() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    let mut lines: Vec<String> = Vec::new();
    for i in 0..600 {
        lines.push(format!("HSET h field:{i:012} v{i}"));
        lines.push(format!("SADD s member:{i:012}"));
        lines.push(format!("ZADD z {i} member:{i:012}"));
    }
    let r = pipeline_bytes(&mut c, &lines);
    assert!(r.iter().all(|x| x == ":1\r\n"), "{:?}", &r[..6]);
    assert_eq!(c.cmd("OBJECT ENCODING h"), "$9\r\nhashtable\r\n");
    assert_eq!(c.cmd("OBJECT ENCODING z"), "$8\r\nskiplist\r\n");

    let mut lines: Vec<String> = Vec::new();
    let mut want: Vec<String> = Vec::new();
    let bulk = |s: &str| format!("${}\r\n{s}\r\n", s.len());
    for i in (0..600).step_by(7) {
        lines.push(format!("HSET h field:{i:012} new{i} extra:{i} x"));
        want.push(":1\r\n".into());
        lines.push(format!("HGET h field:{i:012}"));
        want.push(bulk(&format!("new{i}")));
        lines.push(format!("HDEL h extra:{i} field:{:012}", i + 1));
        want.push(if i + 1 < 600 { ":2\r\n" } else { ":1\r\n" }.into());
        lines.push(format!("HEXISTS h field:{:012}", i + 1));
        want.push(":0\r\n".into());
        lines.push(format!("SISMEMBER s member:{i:012}"));
        want.push(":1\r\n".into());
        lines.push(format!("SREM s member:{i:012} nosuch"));
        want.push(":1\r\n".into());
        lines.push(format!("SMISMEMBER s member:{i:012} member:{:012}", i + 2));
        want.push(format!("*2\r\n:0\r\n:{}\r\n", u8::from(i + 2 < 600)));
        lines.push(format!("ZADD z XX CH GT {} member:{i:012} 5 nosuch", i + 1000));
        want.push(":1\r\n".into());
        lines.push(format!("ZSCORE z member:{i:012}"));
        want.push(bulk(&format!("{}", i + 1000)));
        lines.push(format!("ZINCRBY z 1 member:{i:012}"));
        want.push(bulk(&format!("{}", i + 1001)));
        lines.push(format!("ZREM z member:{i:012}"));
        want.push(":1\r\n".into());
        lines.push(format!("ZSCORE z member:{i:012}"));
        want.push("$-1\r\n".into());
        lines.push(format!("SADD h member:{i:012}"));
        want.push("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n".into());
    }
    // A collection deleted and recreated small within the pipeline.
    lines.push("DEL s".into());
    want.push(":1\r\n".into());
    lines.push("SADD s member:000000000001 member:000000000002".into());
    want.push(":2\r\n".into());
    lines.push("SISMEMBER s member:000000000002".into());
    want.push(":1\r\n".into());
    let r = pipeline_bytes(&mut c, &lines);
    for (i, (got, w)) in r.iter().zip(&want).enumerate() {
        assert_eq!(got, w, "reply {i} to {}", lines[i]);
    }
    assert_eq!(c.cmd("SCARD s"), ":2\r\n");
    assert_eq!(c.cmd("ZCARD z"), format!(":{}\r\n", 600 - 86));
}
