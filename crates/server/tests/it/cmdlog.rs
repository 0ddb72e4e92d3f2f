//! SLOWLOG and MONITOR (crates/server/src/cmdlog.rs): entries and lines as
//! Redis 7.0.15 writes them. Durations, timestamps and ports vary, so the
//! tests look at the parts that do not.

use crate::common::*;

/// The entries of a SLOWLOG GET reply: (id, args, addr, name), newest first.
fn entries(c: &mut Raw, count: &str) -> Vec<(i64, Vec<String>, String, String)> {
    let reply = c.cmd_bytes(&format!("SLOWLOG GET {count}"));
    let (_, items) = elements(&reply).expect("array");
    items
        .iter()
        .map(|e| {
            let (_, f) = elements(e).expect("entry");
            assert_eq!(f.len(), 6);
            let int = |b: &[u8]| String::from_utf8_lossy(&b[1..b.len() - 2]).parse::<i64>().unwrap();
            let bulk = |b: &[u8]| {
                let s = String::from_utf8_lossy(b).into_owned();
                s.split_once("\r\n").unwrap().1.trim_end_matches("\r\n").to_string()
            };
            assert!(int(&f[1]) > 1_700_000_000, "unix time");
            assert!(int(&f[2]) >= 0);
            let (_, args) = elements(&f[3]).expect("args");
            (int(&f[0]), args.iter().map(|a| bulk(a)).collect(), bulk(&f[4]), bulk(&f[5]))
        })
        .collect()
}

fn args_of(e: &[(i64, Vec<String>, String, String)]) -> Vec<String> {
    e.iter().map(|x| x.1.join(" ")).collect()
}

fn my_addr(c: &mut Raw) -> String {
    let info = c.cmd("CLIENT INFO");
    info.split(' ').find_map(|f| f.strip_prefix("addr=")).unwrap().to_string()
}

#[test]
fn slowlog_subcommands_and_errors() {
    let t = TestServer::start();
    let mut c = t.raw();
    assert_eq!(c.cmd("SLOWLOG LEN"), ":0\r\n");
    assert_eq!(c.cmd("SLOWLOG GET"), "*0\r\n");
    let help = c.cmd("SLOWLOG HELP");
    assert!(help
        .starts_with("*12\r\n+SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+GET [<count>]\r\n"));
    assert!(help.ends_with("+HELP\r\n+    Prints this help.\r\n"));
    for bad in ["-2", "-222", "abc", "1.5", "99999999999999999999"] {
        assert_eq!(c.cmd(&format!("SLOWLOG GET {bad}")), "-ERR count should be greater than or equal to -1\r\n");
    }
    assert_eq!(
        c.cmd("SLOWLOG GET 1 2"),
        "-ERR unknown subcommand or wrong number of arguments for 'GET'. Try SLOWLOG HELP.\r\n"
    );
    assert_eq!(c.cmd("SLOWLOG LEN x"), "-ERR wrong number of arguments for 'slowlog|len' command\r\n");
    assert_eq!(c.cmd("SLOWLOG RESET x"), "-ERR wrong number of arguments for 'slowlog|reset' command\r\n");
    assert_eq!(c.cmd("SLOWLOG foo"), "-ERR unknown subcommand 'foo'. Try SLOWLOG HELP.\r\n");
}

/// 0 logs everything, ids grow, GET's count, -1, max-len trimming (at the
/// next entry), RESET, and a negative threshold disables the log.
#[test]
fn slowlog_threshold_len_and_reset() {
    let t = TestServer::start();
    let mut c = t.raw();
    assert_eq!(c.cmd("CONFIG SET slowlog-log-slower-than 0"), "+OK\r\n");
    assert_eq!(c.cmd("SLOWLOG RESET"), "+OK\r\n");
    for _ in 0..20 {
        c.cmd("PING");
    }
    // The RESET itself is logged (after it ran), then 20 PINGs.
    assert_eq!(c.cmd("SLOWLOG LEN"), ":21\r\n");
    let e = entries(&mut c, "5");
    assert_eq!(e.len(), 5);
    // The LEN just above is the newest.
    assert_eq!(args_of(&e[..2]), ["SLOWLOG LEN", "PING"]);
    assert!(e.windows(2).all(|w| w[0].0 == w[1].0 + 1));
    assert_eq!(entries(&mut c, "0").len(), 0);
    assert_eq!(entries(&mut c, "").len(), 10);
    assert_eq!(entries(&mut c, "-1").len(), 25);
    assert_eq!(entries(&mut c, "1000").len(), 26);
    assert_eq!(c.cmd("CONFIG SET slowlog-max-len 3"), "+OK\r\n");
    assert_eq!(c.cmd("SLOWLOG LEN"), ":3\r\n");
    assert_eq!(args_of(&entries(&mut c, "-1")), ["SLOWLOG LEN", "CONFIG SET slowlog-max-len 3", "SLOWLOG GET 1000"]);
    assert_eq!(c.cmd("CONFIG SET slowlog-max-len 0"), "+OK\r\n");
    assert_eq!(c.cmd("SLOWLOG LEN"), ":0\r\n");
    assert_eq!(c.cmd("CONFIG SET slowlog-max-len 128"), "+OK\r\n");
    // Ids go on after a reset.
    let last = entries(&mut c, "1")[0].0;
    assert_eq!(c.cmd("SLOWLOG RESET"), "+OK\r\n");
    assert_eq!(entries(&mut c, "1")[0].0, last + 2);

    assert_eq!(c.cmd("CONFIG SET slowlog-log-slower-than -1"), "+OK\r\n");
    assert_eq!(c.cmd("SLOWLOG RESET"), "+OK\r\n");
    c.cmd("PING");
    assert_eq!(c.cmd("SLOWLOG LEN"), ":0\r\n");
}

/// With a threshold, only what took that long is logged.
#[test]
fn slowlog_only_slow_commands() {
    let t = TestServer::with(&[("enable-debug-command", "yes")]);
    let mut c = t.raw();
    assert_eq!(c.cmd("CONFIG SET slowlog-log-slower-than 10000"), "+OK\r\n");
    c.cmd("PING");
    c.cmd("CLIENT SETNAME sleeper");
    assert_eq!(c.cmd("SLOWLOG LEN"), ":0\r\n");
    assert_eq!(c.cmd("DEBUG SLEEP 0.02"), "+OK\r\n");
    let e = entries(&mut c, "");
    assert_eq!(args_of(&e), ["DEBUG SLEEP 0.02"]);
    assert_eq!(e[0].3, "sleeper");
    let reply = c.cmd_bytes("SLOWLOG GET");
    let (_, items) = elements(&reply).unwrap();
    let (_, f) = elements(&items[0]).unwrap();
    let usec: i64 = String::from_utf8_lossy(&f[2][1..f[2].len() - 2]).parse().unwrap();
    assert!(usec >= 20_000, "{usec}");
}

/// Redis's limits: 32 arguments (the last says how many more), 128 bytes
/// per argument; the client's address and name.
#[test]
fn slowlog_entry_shape() {
    let t = TestServer::start();
    let mut c = t.raw();
    let addr = my_addr(&mut c);
    c.cmd("CLIENT SETNAME foobar");
    c.cmd("CONFIG SET slowlog-log-slower-than 0");
    c.cmd("SLOWLOG RESET");
    let many: String = (3..=33).map(|i| i.to_string()).collect::<Vec<_>>().join(" ");
    c.cmd(&format!("SADD set {many}"));
    let long = "A".repeat(129);
    c.cmd(&format!("SADD set foo {long}"));
    c.cmd(&format!("SADD set {}", &long[..128]));
    let e = entries(&mut c, "4");
    assert_eq!(e[3].1, ["SLOWLOG", "RESET"]);
    assert_eq!(e[2].1.len(), 32);
    assert_eq!(e[2].1[31], "... (2 more arguments)");
    assert_eq!(e[2].1[30], "31");
    assert_eq!(e[1].1[3], format!("{}... (1 more bytes)", &long[..128]));
    assert_eq!(e[0].1[2], &long[..128]);
    assert_eq!((e[0].2.as_str(), e[0].3.as_str()), (addr.as_str(), "foobar"));
    // Exactly 32 arguments are kept whole.
    c.cmd("SLOWLOG RESET");
    let thirty: String = (0..30).map(|i| i.to_string()).collect::<Vec<_>>().join(" ");
    c.cmd(&format!("SADD set {thirty}"));
    assert_eq!(entries(&mut c, "2")[0].1.last().unwrap(), "29");
}

/// EXEC is not logged but what it ran is; a script is logged after the
/// commands it called, which show the script client (`?:0`, no name);
/// MULTI is logged, queued commands are not (until run).
#[test]
fn slowlog_exec_and_scripts() {
    let t = TestServer::start();
    let mut c = t.raw();
    let addr = my_addr(&mut c);
    c.cmd("CLIENT SETNAME me");
    c.cmd("CONFIG SET slowlog-log-slower-than 0");
    c.cmd("SLOWLOG RESET");
    c.cmd("MULTI");
    c.cmd("SET a 1");
    c.cmd("INCR a");
    assert_eq!(c.cmd("EXEC"), "*2\r\n+OK\r\n:2\r\n");
    c.cmd("EVAL \"redis.call('set','x','y') return 1\" 0");
    let e = entries(&mut c, "-1");
    assert_eq!(
        args_of(&e),
        ["EVAL redis.call('set','x','y') return 1 0", "set x y", "INCR a", "SET a 1", "MULTI", "SLOWLOG RESET"]
    );
    assert_eq!((e[1].2.as_str(), e[1].3.as_str()), ("?:0", ""));
    assert_eq!((e[0].2.as_str(), e[0].3.as_str()), (addr.as_str(), "me"));
    assert_eq!((e[2].2.as_str(), e[2].3.as_str()), (addr.as_str(), "me"));
}

/// A blocked command is logged once, when it is served, with the
/// arguments it was called with.
#[test]
fn slowlog_blocked_command_when_served() {
    let t = TestServer::start();
    let mut c = t.raw();
    let mut b = t.raw();
    c.cmd("CONFIG SET slowlog-log-slower-than 0");
    b.cmd("CLIENT SETNAME waiter");
    c.cmd("SLOWLOG RESET");
    b.send_cmd(&[b"BLPOP", b"l", b"0"]);
    // Wait until it is blocked (no sleeping on time: poll the server).
    while !c.cmd("INFO clients").contains("blocked_clients:1") {
        std::thread::yield_now();
    }
    assert_eq!(args_of(&entries(&mut c, "-1")).iter().filter(|a| a.starts_with("BLPOP")).count(), 0);
    c.cmd("MULTI");
    c.cmd("LPUSH l foo");
    c.cmd("SLOWLOG RESET");
    c.cmd("EXEC");
    assert_eq!(b.read_reply(), b"*2\r\n$1\r\nl\r\n$3\r\nfoo\r\n");
    let e = entries(&mut c, "-1");
    assert_eq!(args_of(&e), ["BLPOP l 0", "SLOWLOG RESET"]);
    assert_eq!(e[0].3, "waiter");
    assert_eq!(args_of(&e).iter().filter(|a| a.starts_with("BLPOP")).count(), 1);
}

/// Secrets show as (redacted) where Redis redacts them; AUTH and HELLO
/// are logged (they are not skip_slowlog in 7.0).
#[test]
fn slowlog_redaction() {
    let t = TestServer::start();
    let mut c = t.raw();
    c.cmd("CONFIG SET slowlog-log-slower-than 0");
    c.cmd("SLOWLOG RESET");
    c.cmd("AUTH pw");
    c.cmd("AUTH user pw");
    c.cmd("AUTH a b c");
    c.cmd("HELLO 2 AUTH default secret SETNAME n");
    c.cmd("HELLO 9 AUTH default secret");
    c.cmd("CONFIG SET masterauth zz maxmemory 0 requirepass \"\"");
    c.cmd("CONFIG SET masteruser u nosuch 1");
    let e = entries(&mut c, "7");
    assert_eq!(
        args_of(&e),
        [
            "CONFIG SET masteruser (redacted) nosuch 1",
            "CONFIG SET masterauth (redacted) maxmemory 0 requirepass (redacted)",
            "HELLO 9 AUTH default secret",
            "HELLO 2 AUTH (redacted) (redacted) SETNAME n",
            "AUTH a b c",
            "AUTH (redacted) (redacted)",
            "AUTH (redacted)",
        ]
    );
}

/// Reads monitor lines until `n` were read; each without its timestamp,
/// checked for Redis's `+<sec>.<6 digits> ` form.
fn lines(m: &mut Raw, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let l = String::from_utf8(m.read_reply()).unwrap();
            let (ts, rest) = l[1..].split_once(' ').unwrap();
            let (s, us) = ts.split_once('.').unwrap();
            assert!(s.parse::<u64>().unwrap() > 1_700_000_000 && us.len() == 6, "{l}");
            rest.trim_end().to_string()
        })
        .collect()
}

#[test]
fn monitor_shows_commands() {
    let t = TestServer::start();
    let mut m = t.raw();
    let mut c = t.raw();
    let addr = my_addr(&mut c);
    assert_eq!(m.cmd("MONITOR"), "+OK\r\n");
    assert!(c.cmd("CLIENT LIST").contains("flags=O "));
    c.cmd("SELECT 2");
    c.send_cmd(&[b"SET", b"k", b"a\"\x01\n\\\t\r\x07\x08\xff ~"]);
    c.read_reply();
    c.cmd("CONFIG GET maxmemory");
    c.cmd("GET k");
    assert_eq!(
        lines(&mut m, 3),
        [
            // The database after the command ran, as Redis.
            format!("[2 {addr}] \"SELECT\" \"2\""),
            format!("[2 {addr}] \"SET\" \"k\" \"a\\\"\\x01\\n\\\\\\t\\r\\a\\b\\xff ~\""),
            format!("[2 {addr}] \"GET\" \"k\""),
        ]
    );
}

/// Scripts show first, the commands they call follow as `lua` (with the
/// script's current database); EXEC follows what it ran; a refused EXEC is
/// shown too; AUTH and HELLO credentials are redacted.
#[test]
fn monitor_scripts_transactions_redaction() {
    let t = TestServer::start();
    let mut m = t.raw();
    let mut c = t.raw();
    let addr = my_addr(&mut c);
    m.cmd("MONITOR");
    c.cmd("EVAL \"redis.call('set','x','y') redis.call('select',5) return redis.call('get','x')\" 0");
    let lib = b"#!lua name=lib\nredis.register_function('f', function() return redis.call('ping') end)";
    c.send_cmd(&[b"FUNCTION", b"LOAD", lib]);
    assert_eq!(c.read_reply(), b"$3\r\nlib\r\n");
    c.cmd("FCALL f 0");
    c.cmd("MULTI");
    c.cmd("SET a b");
    c.cmd("EXEC");
    c.cmd("MULTI");
    c.cmd("NOSUCHCOMMAND");
    assert!(c.cmd("EXEC").starts_with("-EXECABORT"));
    c.cmd("MULTI");
    assert!(c.cmd("EXEC foo").starts_with("-EXECABORT"));
    c.cmd("AUTH secret");
    c.cmd("HELLO 2 AUTH default secret");
    let a = |s: &str| format!("[0 {addr}] {s}");
    assert_eq!(
        lines(&mut m, 16),
        [
            a("\"EVAL\" \"redis.call('set','x','y') redis.call('select',5) return redis.call('get','x')\" \"0\""),
            "[0 lua] \"set\" \"x\" \"y\"".to_string(),
            "[5 lua] \"select\" \"5\"".to_string(),
            "[5 lua] \"get\" \"x\"".to_string(),
            a("\"FUNCTION\" \"LOAD\" \"#!lua name=lib\\nredis.register_function('f', function() return redis.call('ping') end)\""),
            a("\"FCALL\" \"f\" \"0\""),
            "[0 lua] \"ping\"".to_string(),
            a("\"MULTI\""),
            a("\"SET\" \"a\" \"b\""),
            a("\"EXEC\""),
            a("\"MULTI\""),
            a("\"EXEC\""),
            a("\"MULTI\""),
            a("\"EXEC\" \"foo\""),
            a("\"AUTH\" \"(redacted)\""),
            a("\"HELLO\" \"2\" \"AUTH\" \"(redacted)\" \"(redacted)\""),
        ]
    );
}

/// A monitor may not use the keyspace (Redis treats it as a replica), may
/// run other commands, gets no reply to a second MONITOR, and RESET ends
/// monitoring. MONITOR inside EXEC is refused.
#[test]
fn monitor_client_restrictions() {
    let t = TestServer::start();
    let mut m = t.raw();
    let mut c = t.raw();
    assert_eq!(c.cmd("MULTI"), "+OK\r\n");
    assert_eq!(c.cmd("MONITOR"), "+QUEUED\r\n");
    assert_eq!(c.cmd("EXEC"), "*1\r\n-ERR MONITOR isn't allowed for DENY BLOCKING client\r\n");
    m.cmd("MONITOR");
    let refused = "-ERR Replica can't interact with the keyspace\r\n";
    for cmd in ["GET a", "SET a 1", "PUBLISH c m", "EVAL \"return 1\" 0"] {
        assert_eq!(m.cmd(cmd), refused, "{cmd}");
    }
    // A script declaring no-writes does not touch the keyspace for Redis.
    m.send_cmd(&[b"EVAL", b"#!lua flags=no-writes\nreturn redis.call('ping')", b"0"]);
    // A script shows itself when it starts: its line (and those of what it
    // calls) come before its reply, as in Redis.
    let line = String::from_utf8(m.read_reply()).unwrap();
    assert!(line.ends_with("\"EVAL\" \"#!lua flags=no-writes\\nreturn redis.call('ping')\" \"0\"\r\n"), "{line}");
    assert!(String::from_utf8(m.read_reply()).unwrap().ends_with(" lua] \"ping\"\r\n"));
    assert_eq!(m.read_reply(), b"+PONG\r\n");
    m.send_cmd(&[b"EVAL", b"#!lua\nreturn 1", b"0"]);
    assert_eq!(m.read_reply(), refused.as_bytes());
    assert_eq!(m.cmd("EVAL_RO \"return 1\" 0"), refused);
    assert_eq!(m.cmd("PING"), "+PONG\r\n");
    // Its own PING is shown to it, after the reply (CLIENT LIST is admin:
    // not shown).
    assert!(String::from_utf8(m.read_reply()).unwrap().ends_with("\"PING\"\r\n"));
    m.send_cmd(&[b"MONITOR"]);
    assert_eq!(m.cmd("RESET"), "+RESET\r\n");
    assert!(!c.cmd("CLIENT LIST").contains("flags=O"));
    assert_eq!(m.cmd("SET a 1"), "+OK\r\n");
    assert_eq!(c.cmd("GET a"), "$1\r\n1\r\n");
}

/// Every monitor gets every line, in one order, whichever connection (and
/// core) ran the command.
#[test]
fn monitors_see_one_order() {
    let t = TestServer::start();
    let mut m1 = t.raw();
    let mut m2 = t.raw();
    m1.cmd("MONITOR");
    m2.cmd("MONITOR");
    let mut writers: Vec<Raw> = (0..4).map(|_| t.raw()).collect();
    for i in 0..50 {
        for (w, c) in writers.iter_mut().enumerate() {
            c.send_cmd(&[b"INCRBY", format!("k{}", i % 3).as_bytes(), format!("{w}").as_bytes()]);
        }
    }
    for c in writers.iter_mut() {
        for _ in 0..50 {
            c.read_reply();
        }
    }
    let a = lines(&mut m1, 200);
    let b = lines(&mut m2, 200);
    assert_eq!(a, b);
}

/// As Redis 7.0.15: a served XREAD is logged as called (`$`, not the ID it
/// was resolved to), a timed-out command is not logged, and one ended by
/// CLIENT UNBLOCK is logged without its arguments.
#[test]
fn slowlog_blocked_xread_timeout_unblock() {
    let t = TestServer::start();
    let mut c = t.raw();
    let mut b = t.raw();
    let b_id = b.cmd("CLIENT ID")[1..].trim().to_string();
    b.cmd("CLIENT SETNAME bb");
    c.cmd("XADD s 1-1 f v");
    c.cmd("CONFIG SET slowlog-log-slower-than 0");
    c.cmd("SLOWLOG RESET");
    assert_eq!(b.cmd("BLPOP k 0.01"), "*-1\r\n");
    let wait_blocked = |c: &mut Raw| {
        while !c.cmd("INFO clients").contains("blocked_clients:1") {
            std::thread::yield_now();
        }
    };
    b.send_cmd(&[b"XREAD", b"BLOCK", b"0", b"STREAMS", b"s", b"$"]);
    wait_blocked(&mut c);
    c.cmd("XADD s 2-1 f v");
    b.read_reply();
    b.send_cmd(&[b"BLPOP", b"k", b"0"]);
    wait_blocked(&mut c);
    assert_eq!(c.cmd(&format!("CLIENT UNBLOCK {b_id}")), ":1\r\n");
    assert_eq!(b.read_reply(), b"*-1\r\n");
    c.cmd("CONFIG SET slowlog-log-slower-than -1");
    let e: Vec<_> = entries(&mut c, "-1").into_iter().filter(|e| e.3 == "bb").collect();
    assert_eq!(args_of(&e), ["", "XREAD BLOCK 0 STREAMS s $"]);
}
