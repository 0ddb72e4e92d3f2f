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

/// INFO memory carries Redis 7.0's script and function fields, in its order,
/// with the figures of the Lua states and caches (unit/scripting "SCRIPTING
/// FLUSH ASYNC" reads number_of_cached_scripts).
#[test]
fn info_memory_script_fields() {
    let t = TestServer::start();
    let mut c = t.raw();
    let info = |c: &mut Raw| -> Vec<(String, String)> {
        c.cmd("INFO memory")
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let num = |i: &[(String, String)], k: &str| -> u64 {
        i.iter().find(|(n, _)| n == k).unwrap_or_else(|| panic!("no {k}")).1.parse().unwrap()
    };
    let names: Vec<String> = info(&mut c).into_iter().map(|(k, _)| k).collect();
    let order = [
        "total_system_memory_human",
        "used_memory_lua",
        "used_memory_vm_eval",
        "used_memory_lua_human",
        "used_memory_scripts_eval",
        "number_of_cached_scripts",
        "number_of_functions",
        "number_of_libraries",
        "used_memory_vm_functions",
        "used_memory_vm_total",
        "used_memory_vm_total_human",
        "used_memory_functions",
        "used_memory_scripts",
        "used_memory_scripts_human",
        "maxmemory",
    ];
    let at = names.iter().position(|n| n == order[0]).unwrap();
    assert_eq!(&names[at..at + order.len()], &order[..]);

    for j in 0..100 {
        c.cmd(&format!("SCRIPT LOAD \"return {j}\""));
    }
    assert_eq!(c.cmd("FUNCTION LOAD \"#!lua name=lib\\nredis.register_function('f1', function() return 1 end)\\nredis.register_function('f2', function() return 2 end)\""), "$3\r\nlib\r\n");
    let i = info(&mut c);
    assert_eq!(num(&i, "number_of_cached_scripts"), 100);
    assert_eq!((num(&i, "number_of_functions"), num(&i, "number_of_libraries")), (2, 1));
    let (vm_eval, vm_fn) = (num(&i, "used_memory_vm_eval"), num(&i, "used_memory_vm_functions"));
    assert!(vm_eval > 0 && vm_eval % 1024 == 0 && vm_eval < 1024 * 1024, "{vm_eval}");
    assert_eq!(num(&i, "used_memory_lua"), vm_eval);
    assert!(vm_fn > 0 && vm_fn % 1024 == 0, "{vm_fn}");
    assert_eq!(num(&i, "used_memory_vm_total"), vm_eval + vm_fn);
    let (scripts, funcs) = (num(&i, "used_memory_scripts_eval"), num(&i, "used_memory_functions"));
    assert!(scripts > 100 * 48 && funcs > 0, "{scripts} {funcs}");
    assert_eq!(num(&i, "used_memory_scripts"), scripts + funcs);
    // Inside a script the figures are those last read.
    let inner = c.cmd("EVAL \"return redis.call('info','memory')\" 0");
    assert!(inner.contains("number_of_cached_scripts:10"), "{inner}");

    assert_eq!(c.cmd("SCRIPT FLUSH ASYNC"), "+OK\r\n");
    assert_eq!(c.cmd("FUNCTION FLUSH"), "+OK\r\n");
    let i = info(&mut c);
    assert_eq!(num(&i, "number_of_cached_scripts"), 0);
    assert_eq!(num(&i, "used_memory_scripts_eval"), 0);
    assert_eq!((num(&i, "number_of_functions"), num(&i, "number_of_libraries")), (0, 0));
}
