//! Scripting behaviours found by Redis 7.0.15's tcl suite (unit/scripting,
//! unit/functions, unit/pause; docs/conformance.md) that need more than one
//! connection or a look at INFO.

use crate::blocking::{reply, send};
use crate::common::*;
use std::time::{Duration, Instant};

/// Waits until INFO counts `n` blocked clients (paused ones included).
fn wait_held(c: &mut Raw, n: usize) {
    let t0 = Instant::now();
    loop {
        let info = c.cmd("INFO clients");
        let line = info.lines().find(|l| l.starts_with("blocked_clients:")).unwrap().to_string();
        if line["blocked_clients:".len()..].parse::<usize>().unwrap() == n {
            return;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "expected {n} held clients");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// unit/pause "Test RO scripts are not blocked by pause RO": during a WRITE
/// pause a script command is judged by its script's flags: EVALSHA of a
/// cached no-writes script and FCALL of a no-writes function run; an
/// unknown sha, a script without a shebang and a writing function wait.
#[test]
fn write_pause_judges_scripts_by_their_flags() {
    let t = TestServer::start();
    let (mut c, mut w) = (t.raw(), t.raw());
    let ro = c.cmd("SCRIPT LOAD \"#!lua flags=no-writes\\nreturn 2\"");
    let ro = ro.lines().nth(1).unwrap().to_string();
    let compat = c.cmd("SCRIPT LOAD \"return 3\"");
    let compat = compat.lines().nth(1).unwrap().to_string();
    let lib = "\"#!lua name=lib\\n\
        redis.register_function{function_name='f1', callback=function() return 'hello' end, flags={'no-writes'}}\\n\
        redis.register_function('fw', function() return 'w' end)\"";
    assert_eq!(c.cmd(&format!("FUNCTION LOAD {lib}")), "$3\r\nlib\r\n");
    assert_eq!(c.cmd("CLIENT PAUSE 600000 WRITE"), "+OK\r\n");
    assert_eq!(w.cmd(&format!("EVALSHA {ro} 0")), ":2\r\n");
    assert_eq!(w.cmd(&format!("EVALSHA {} 0", ro.to_uppercase())), ":2\r\n");
    assert_eq!(w.cmd(&format!("EVALSHA_RO {ro} 0")), ":2\r\n");
    assert_eq!(w.cmd("FCALL f1 0"), "$5\r\nhello\r\n");
    assert_eq!(w.cmd("FCALL F1 0"), "$5\r\nhello\r\n");
    assert_eq!(w.cmd("FCALL_RO f1 0"), "$5\r\nhello\r\n");
    // A transaction of no-writes scripts runs too.
    assert_eq!(w.cmd("MULTI"), "+OK\r\n");
    assert_eq!(w.cmd(&format!("EVALSHA {ro} 0")), "+QUEUED\r\n");
    assert_eq!(w.cmd("FCALL f1 0"), "+QUEUED\r\n");
    assert_eq!(w.cmd("EXEC"), "*2\r\n:2\r\n$5\r\nhello\r\n");
    for held in [format!("EVALSHA {compat} 0"), "FCALL fw 0".to_string()] {
        send(&mut w, &held);
        wait_held(&mut c, 1);
        assert_eq!(c.cmd("CLIENT UNPAUSE"), "+OK\r\n");
        assert!(!reply(&mut w).starts_with('-'));
        wait_held(&mut c, 0);
        assert_eq!(c.cmd("CLIENT PAUSE 600000 WRITE"), "+OK\r\n");
    }
    // An unknown sha or function waits too (Redis knows no flags for it).
    send(&mut w, "EVALSHA ffffffffffffffffffffffffffffffffffffffff 0");
    wait_held(&mut c, 1);
    assert_eq!(c.cmd("CLIENT UNPAUSE"), "+OK\r\n");
    assert!(reply(&mut w).starts_with("-NOSCRIPT"));
}

/// unit/pause "Test both active and passive expires are skipped during
/// client pause": while paused, a due key reads as missing but is neither
/// deleted nor counted; after the pause a read expires it.
#[test]
fn no_expiry_while_paused() {
    let t = TestServer::start();
    let mut c = t.raw();
    let expired = |c: &mut Raw| {
        let info = c.cmd("INFO stats");
        let line = info.lines().find(|l| l.starts_with("expired_keys:")).unwrap().to_string();
        line["expired_keys:".len()..].parse::<u64>().unwrap()
    };
    assert_eq!(c.cmd("SET foo bar PX 10"), "+OK\r\n");
    assert_eq!(c.cmd("CLIENT PAUSE 600000 WRITE"), "+OK\r\n");
    t.advance_ms(100);
    hematite::expire::cycle(&t.srv, 0, Duration::from_secs(5));
    assert_eq!(c.cmd("GET foo"), "$-1\r\n");
    assert_eq!(c.cmd("EXISTS foo"), ":0\r\n");
    assert_eq!(c.cmd("DBSIZE"), ":1\r\n");
    assert_eq!(expired(&mut c), 0);
    assert_eq!(c.cmd("CLIENT UNPAUSE"), "+OK\r\n");
    assert_eq!(c.cmd("GET foo"), "$-1\r\n");
    assert_eq!(expired(&mut c), 1);
    assert_eq!(c.cmd("DBSIZE"), ":0\r\n");
}
