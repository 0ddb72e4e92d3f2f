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
