//! Regressions found by running Redis's tcl suite with its maxmemory tests
//! included (docs/conformance.md): each test is one of the suite's cases,
//! reduced to what differed.

use crate::common::*;

fn info_field(r: &mut Raw, section: &str, field: &str) -> String {
    let info = r.cmd(&format!("INFO {section}"));
    let prefix = format!("{field}:");
    info.split("\r\n").find_map(|l| l.strip_prefix(&prefix)).unwrap_or_else(|| panic!("no {field}")).to_string()
}

/// INFO memory has mem_not_counted_for_evict and the other buffer fields
/// Redis lists after mem_fragmentation_bytes (unit/tracking computes a
/// limit from used_memory minus it); Hematite has no such buffers.
#[test]
fn info_memory_buffer_fields() {
    let t = TestServer::start();
    let mut c = t.raw();
    let info = c.cmd("INFO memory");
    let names: Vec<&str> = info.split("\r\n").filter_map(|l| l.split_once(':')).map(|(k, _)| k).collect();
    let order = [
        "mem_fragmentation_bytes",
        "mem_not_counted_for_evict",
        "mem_replication_backlog",
        "mem_total_replication_buffers",
        "mem_clients_slaves",
        "mem_cluster_links",
        "mem_aof_buffer",
        "mem_allocator",
    ];
    let at = names.iter().position(|n| *n == order[0]).unwrap();
    assert_eq!(&names[at..at + order.len()], &order[..]);
    assert_eq!(info_field(&mut c, "memory", "mem_not_counted_for_evict"), "0");
}

/// A redis.call refused for OOM inside a script counts as a rejected call
/// of the command and an OOM error reply, once, whether the script raises
/// it, catches it with pcall, or returns it (unit/scripting "Consistent
/// eval error reporting").
#[test]
fn script_oom_refusal_counted() {
    let t = TestServer::start();
    let mut c = t.raw();
    let stats = |c: &mut Raw| {
        let errs = c.cmd("INFO errorstats");
        let oom = errs.split("\r\n").find_map(|l| l.strip_prefix("errorstat_OOM:")).unwrap_or("").to_string();
        let total = info_field(c, "stats", "total_error_replies");
        let cmds = c.cmd("INFO commandstats");
        let line = |name: &str| {
            let p = format!("cmdstat_{name}:");
            let l = cmds.split("\r\n").find_map(|l| l.strip_prefix(p.as_str())).unwrap_or("").to_string();
            // Drop the timings: calls, rejected_calls, failed_calls remain.
            l.split(',').filter(|f| !f.starts_with("usec")).collect::<Vec<_>>().join(",")
        };
        (oom, total, line("set"), line("eval"))
    };
    c.cmd("CONFIG RESETSTAT");
    assert_eq!(c.cmd("CONFIG SET maxmemory 1"), "+OK\r\n");
    let r = c.cmd("EVAL \"return redis.call('set','x','y')\" 1 x");
    assert!(r.starts_with("-OOM command not allowed when used memory > 'maxmemory'. script:"), "{r}");
    let s = stats(&mut c);
    assert_eq!(s.0, "count=1");
    assert_eq!(s.1, "1");
    assert_eq!(s.2, "calls=0,rejected_calls=1,failed_calls=0");
    assert_eq!(s.3, "calls=1,rejected_calls=0,failed_calls=1");

    c.cmd("CONFIG RESETSTAT");
    let script = "local t = redis.pcall('set','x','y') if t['err'] == \"OOM command not allowed when used memory > 'maxmemory'.\" then return 1 else return 0 end";
    c.send_cmd(&[b"EVAL", script.as_bytes(), b"1", b"x"]);
    assert_eq!(c.read_reply(), b":1\r\n");
    let s = stats(&mut c);
    assert_eq!((s.0.as_str(), s.1.as_str()), ("count=1", "1"));
    assert_eq!(s.2, "calls=0,rejected_calls=1,failed_calls=0");
    assert_eq!(s.3, "calls=1,rejected_calls=0,failed_calls=0");

    c.cmd("CONFIG RESETSTAT");
    let r = c.cmd("EVAL \"return redis.pcall('set','x','y')\" 1 x");
    assert_eq!(r, "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
    let s = stats(&mut c);
    assert_eq!((s.0.as_str(), s.1.as_str()), ("count=1", "1"));
    assert_eq!(s.2, "calls=0,rejected_calls=1,failed_calls=0");
    assert_eq!(s.3, "calls=1,rejected_calls=0,failed_calls=1");
    assert_eq!(c.cmd("CONFIG SET maxmemory 0"), "+OK\r\n");
}

/// The invalidation of a tracked key evicted before a command reaches the
/// tracking client ahead of that command's reply (unit/tracking "Tracking
/// invalidation message of eviction keys should be before response").
#[test]
fn eviction_invalidation_before_reply() {
    let t = TestServer::start();
    let mut c = t.raw();
    c.cmd("HELLO 3");
    assert_eq!(c.cmd("CLIENT TRACKING on"), "+OK\r\n");
    let used: u64 = info_field(&mut c, "memory", "used_memory").parse().unwrap();
    assert_eq!(c.cmd(&format!("CONFIG SET maxmemory {}", used + 100 * 1024)), "+OK\r\n");
    assert_eq!(c.cmd("CONFIG SET maxmemory-policy volatile-random"), "+OK\r\n");
    assert_eq!(c.cmd("SETEX volatile-key 10000 x"), "+OK\r\n");
    assert_eq!(c.cmd("GET volatile-key"), "$1\r\nx\r\n");
    // 200 KB: the next command starts above the limit.
    assert_eq!(c.cmd("SETBIT big-key 1600000 0"), ":0\r\n");
    assert_eq!(c.cmd("GETBIT big-key 0"), ">2\r\n$10\r\ninvalidate\r\n*1\r\n$12\r\nvolatile-key\r\n");
    assert_eq!(c.read_reply(), b":0\r\n");
    assert_eq!(c.cmd("CONFIG SET maxmemory 0"), "+OK\r\n");
}
