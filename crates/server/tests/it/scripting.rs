//! Scripting over TCP: atomicity under concurrency (a lock with a Lua
//! compare-and-delete release, a token bucket, a sliding-window limiter),
//! busy scripts and SCRIPT KILL, and robustness against hostile scripts.

use crate::common::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const RELEASE: &str =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

#[test]
fn lock_with_lua_release_has_one_holder_at_a_time() {
    let t = TestServer::start();
    let addr = t.addr;
    let holders = Arc::new(AtomicUsize::new(0));
    let acquired = Arc::new(AtomicUsize::new(0));
    const CLIENTS: usize = 50;
    const EACH: usize = 3;
    let handles: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (holders, acquired) = (holders.clone(), acquired.clone());
            std::thread::spawn(move || {
                let c = redis::Client::open(format!("redis://{addr}/")).unwrap();
                let mut con = c.get_connection().unwrap();
                for j in 0..EACH {
                    let token = format!("{i}-{j}");
                    loop {
                        let r: Option<String> = redis::cmd("SET")
                            .arg("lock")
                            .arg(&token)
                            .arg("NX")
                            .arg("PX")
                            .arg(60_000)
                            .query(&mut con)
                            .unwrap();
                        if r.is_some() {
                            break;
                        }
                        std::thread::yield_now();
                    }
                    assert_eq!(holders.fetch_add(1, Ordering::SeqCst), 0, "two holders at once");
                    acquired.fetch_add(1, Ordering::SeqCst);
                    // Someone else's token never releases our lock.
                    let wrong: i64 =
                        redis::cmd("EVAL").arg(RELEASE).arg(1).arg("lock").arg("x").query(&mut con).unwrap();
                    assert_eq!(wrong, 0);
                    holders.fetch_sub(1, Ordering::SeqCst);
                    let n: i64 =
                        redis::cmd("EVAL").arg(RELEASE).arg(1).arg("lock").arg(&token).query(&mut con).unwrap();
                    assert_eq!(n, 1);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(acquired.load(Ordering::SeqCst), CLIENTS * EACH);
}

/// Runs `script` from `clients` threads, `each` times, and counts the
/// replies equal to 1.
fn admitted(
    t: &TestServer,
    script: &'static str,
    keys: &'static [&'static str],
    args: &'static [&'static str],
    clients: usize,
    each: usize,
) -> usize {
    let addr = t.addr;
    let ok = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let ok = ok.clone();
            std::thread::spawn(move || {
                let c = redis::Client::open(format!("redis://{addr}/")).unwrap();
                let mut con = c.get_connection().unwrap();
                let sha: String = redis::cmd("SCRIPT").arg("LOAD").arg(script).query(&mut con).unwrap();
                for _ in 0..each {
                    let mut cmd = redis::cmd("EVALSHA");
                    cmd.arg(&sha).arg(keys.len());
                    for k in keys {
                        cmd.arg(*k);
                    }
                    for a in args {
                        cmd.arg(*a);
                    }
                    let r: i64 = cmd.query(&mut con).unwrap();
                    if r == 1 {
                        ok.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    ok.load(Ordering::SeqCst)
}

#[test]
fn token_bucket_admits_exactly_capacity() {
    let t = TestServer::start();
    // tokens and last refill time in two keys; ARGV: capacity, rate per
    // second, now (ms). With a fixed `now` nothing refills.
    let script = "
        local cap, rate, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
        local tokens = tonumber(redis.call('get', KEYS[1]) or cap)
        local last = tonumber(redis.call('get', KEYS[2]) or now)
        tokens = math.min(cap, tokens + math.floor((now - last) * rate / 1000))
        local ok = 0
        if tokens >= 1 then tokens = tokens - 1; ok = 1 end
        redis.call('set', KEYS[1], tokens)
        redis.call('set', KEYS[2], now)
        return ok";
    let n = admitted(&t, script, &["bucket:tokens", "bucket:ts"], &["37", "10", "1000"], 20, 10);
    assert_eq!(n, 37);
}

#[test]
fn sliding_window_admits_exactly_limit() {
    let t = TestServer::start();
    // One counter per second of the window; ARGV: limit, window (s), now (s).
    let script = "
        local limit, window, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
        local total = 0
        for s = now - window + 1, now do
            total = total + tonumber(redis.call('get', KEYS[1] .. ':' .. s) or 0)
        end
        if total >= limit then return 0 end
        local k = KEYS[1] .. ':' .. now
        redis.call('set', k, tonumber(redis.call('get', k) or 0) + 1, 'PX', window * 1000)
        return 1";
    let n = admitted(&t, script, &["win"], &["23", "10", "5000"], 20, 5);
    assert_eq!(n, 23);
}

#[test]
fn busy_script_and_script_kill() {
    let t = TestServer::with(&[("busy-reply-threshold", "50")]);
    let addr = t.addr;
    let runner = std::thread::spawn(move || {
        let mut r = Raw::connect(addr);
        r.cmd("EVAL \"while true do end\" 0")
    });
    let mut b = t.raw();
    loop {
        let r = b.cmd("PING");
        if r.starts_with("-BUSY") {
            assert_eq!(
                r,
                "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n"
            );
            break;
        }
        assert_eq!(r, "+PONG\r\n");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(b.cmd("GET k").starts_with("-BUSY"));
    assert!(b.cmd("FUNCTION KILL").starts_with("-BUSY"));
    assert_eq!(b.cmd("SCRIPT KILL"), "+OK\r\n");
    let reply = runner.join().unwrap();
    assert!(reply.starts_with("-ERR Script killed by user with SCRIPT KILL... script: "), "{reply}");
    assert_eq!(b.cmd("PING"), "+PONG\r\n");
    assert_eq!(b.cmd("SCRIPT KILL"), "-NOTBUSY No scripts in execution right now.\r\n");
    // pcall cannot swallow the kill.
    let runner = std::thread::spawn(move || {
        let mut r = Raw::connect(addr);
        r.cmd("EVAL \"while true do end\" 0")
    });
    while !b.cmd("PING").starts_with("-BUSY") {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(b.cmd("SCRIPT KILL"), "+OK\r\n");
    assert!(runner.join().unwrap().starts_with("-ERR Script killed"));
    assert_eq!(b.cmd("SET k v"), "+OK\r\n");
}

#[test]
fn busy_function_and_function_kill() {
    let t = TestServer::with(&[("busy-reply-threshold", "50")]);
    let mut b = t.raw();
    let load = "FUNCTION LOAD \"#!lua name=spin\\nredis.register_function('spin', function() while true do end end)\"";
    assert_eq!(b.cmd(load), "$4\r\nspin\r\n");
    let addr = t.addr;
    let runner = std::thread::spawn(move || Raw::connect(addr).cmd("FCALL spin 0"));
    loop {
        let r = b.cmd("PING");
        if r.starts_with("-BUSY") {
            assert!(r.contains("FUNCTION KILL"), "{r}");
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(b.cmd("SCRIPT KILL").starts_with("-BUSY"));
    let stats = b.cmd("FUNCTION STATS");
    assert!(stats.contains("spin") && stats.contains("FCALL"), "{stats}");
    assert_eq!(b.cmd("FUNCTION KILL"), "+OK\r\n");
    assert!(runner.join().unwrap().starts_with("-ERR Script killed"));
    assert_eq!(b.cmd("PING"), "+PONG\r\n");
}

#[test]
fn unkillable_after_write() {
    let t = TestServer::with(&[("busy-reply-threshold", "20")]);
    let addr = t.addr;
    let runner = std::thread::spawn(move || {
        Raw::connect(addr)
            .cmd("EVAL \"redis.call('set','w','1') local i = 0 while i < 30000000 do i = i + 1 end return i\" 0")
    });
    let mut b = t.raw();
    let mut saw = false;
    loop {
        let r = b.cmd("SCRIPT KILL");
        if r.starts_with("-UNKILLABLE") {
            saw = true;
            break;
        }
        if runner.is_finished() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    assert_eq!(runner.join().unwrap(), ":30000000\r\n");
    assert!(saw);
    assert_eq!(b.cmd("GET w"), "$1\r\n1\r\n");
}

#[test]
fn hostile_scripts_fail_cleanly() {
    let t = TestServer::start();
    let mut r = t.raw();
    // Deep recursion.
    let e = r.cmd("EVAL \"local function f(n) return f(n + 1) + 1 end return f(1)\" 0");
    assert!(e.starts_with("-ERR user_script:1: stack overflow"), "{e}");
    // Deeply nested result.
    let e = r.cmd("EVAL \"local t = {} local c = t for i = 1, 5000 do c[1] = {} c = c[1] end return t\" 0");
    assert!(e.contains("reached lua stack limit"), "{}", &e[..e.len().min(100)]);
    // Memory blowup.
    let e = r.cmd("EVAL \"local s = 'x' while true do s = s .. s end\" 0");
    assert!(e.starts_with("-ERR"), "{e}");
    // A big but reasonable result.
    let big = r.cmd("EVAL \"local t = {} for i = 1, 100000 do t[i] = i end return t\" 0");
    assert!(big.starts_with("*100000\r\n"));
    // Errors leave no lock behind.
    assert_eq!(r.cmd("SET k v"), "+OK\r\n");
    assert_eq!(r.cmd("EVAL \"return redis.call('get', 'k')\" 0"), "$1\r\nv\r\n");
}

#[test]
fn script_writes_are_seen_by_watch() {
    let t = TestServer::start();
    let mut a = t.raw();
    let mut b = t.raw();
    assert_eq!(a.cmd("WATCH k"), "+OK\r\n");
    assert_eq!(b.cmd("EVAL \"return redis.call('set', KEYS[1], 'x')\" 1 k"), "+OK\r\n");
    a.cmd("MULTI");
    a.cmd("GET k");
    assert_eq!(a.cmd("EXEC"), "*-1\r\n");
    // Blocking-free EXEC of a script.
    a.cmd("MULTI");
    assert_eq!(a.cmd("EVAL \"return redis.call('get', KEYS[1])\" 1 k"), "+QUEUED\r\n");
    assert_eq!(a.cmd("EXEC"), "*1\r\n$1\r\nx\r\n");
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn function_dump_restore() {
    let t = TestServer::start();
    let mut c = t.client();
    let code = "#!lua name=lib\nredis.register_function('echo1', function(k, a) return a[1] end)";
    let name: String = redis::cmd("FUNCTION").arg("LOAD").arg(code).query(&mut c).unwrap();
    assert_eq!(name, "lib");
    let dump: Vec<u8> = redis::cmd("FUNCTION").arg("DUMP").query(&mut c).unwrap();
    let _: () = redis::cmd("FUNCTION").arg("FLUSH").query(&mut c).unwrap();
    let r: redis::RedisResult<String> = redis::cmd("FCALL").arg("echo1").arg(0).arg("x").query(&mut c);
    assert!(r.is_err());
    let _: () = redis::cmd("FUNCTION").arg("RESTORE").arg(&dump).query(&mut c).unwrap();
    let v: String = redis::cmd("FCALL").arg("echo1").arg(0).arg("x").query(&mut c).unwrap();
    assert_eq!(v, "x");
    // APPEND (the default) refuses an existing library; REPLACE takes it.
    let r: redis::RedisResult<()> = redis::cmd("FUNCTION").arg("RESTORE").arg(&dump).query(&mut c);
    assert_eq!(r.unwrap_err().detail(), Some("Library lib already exists"));
    let _: () = redis::cmd("FUNCTION").arg("RESTORE").arg(&dump).arg("REPLACE").query(&mut c).unwrap();
    // A payload made by redis-server 7.0.15 (its code LZF-compressed).
    let theirs = hex("f5c3408440d91f23216c7561206e616d653d6269670a6c6f63616c2066756e6374696f6e206865166c706572286b6579732c2061726773292072657475726e2006036469732e202c086c2827676574272c204024085b315d2920656e640a801e0872656769737465725fc0500128272064005f802f805b0029e0182a0032205be01f2b0033c02b0172290a00b4f3c65c7f2d91c0");
    let _: () = redis::cmd("FUNCTION").arg("RESTORE").arg(&theirs).arg("FLUSH").query(&mut c).unwrap();
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut c).unwrap();
    let v: String = redis::cmd("FCALL").arg("big_get3").arg(1).arg("k").query(&mut c).unwrap();
    assert_eq!(v, "v");
    let r: redis::RedisResult<String> = redis::cmd("FCALL").arg("echo1").arg(0).query(&mut c);
    assert!(r.is_err(), "FLUSH policy dropped the old library");
    // A corrupted payload is refused.
    let mut bad = theirs.clone();
    bad[10] ^= 1;
    let r: redis::RedisResult<()> = redis::cmd("FUNCTION").arg("RESTORE").arg(&bad).query(&mut c);
    assert_eq!(r.unwrap_err().detail(), Some("DUMP payload version or checksum are wrong"));
}

#[test]
fn function_load_times_out() {
    let t = TestServer::start();
    let mut r = t.raw();
    let e = r.cmd("FUNCTION LOAD \"#!lua name=inf\\nwhile true do end\"");
    assert_eq!(e, "-ERR Error registering functions: ERR FUNCTION LOAD timeout\r\n");
    assert_eq!(r.cmd("FUNCTION LIST"), "*0\r\n");
    let ok = r.cmd("FUNCTION LOAD \"#!lua name=fine\\nredis.register_function('fine', function() return 1 end)\"");
    assert_eq!(ok, "$4\r\nfine\r\n");
    assert_eq!(r.cmd("FCALL fine 0"), ":1\r\n");
}

/// Scripts that reach keys they did not declare (so the server adds shards
/// while they run, in and out of index order), racing transactions and
/// plain reads and writes on the same keys: every observer sees the two
/// keys move together, and nothing is lost.
#[test]
fn undeclared_keys_stay_atomic_under_concurrent_writers() {
    let t = TestServer::start();
    let addr = t.addr;
    // "{a}x" and "{b}y" live in different shards (slots 15495 and 3300).
    let (a, b) = ("{a}x", "{b}y");
    // Moves one unit from the undeclared key to the declared one.
    const MOVE: &str = "redis.call('incr', KEYS[1]) redis.call('decr', ARGV[1]) return 1";
    // Declares nothing; touches both, the second with a keyspace-wide read.
    const BOTH: &str = "redis.call('incr', ARGV[1]) redis.call('decr', ARGV[2]) \
                        return redis.call('dbsize')";
    const ROUNDS: usize = 150;
    let workers: Vec<_> = (0..12)
        .map(|w| {
            std::thread::spawn(move || {
                let c = redis::Client::open(format!("redis://{addr}/")).unwrap();
                let mut con = c.get_connection().unwrap();
                for i in 0..ROUNDS {
                    match (w + i) % 4 {
                        0 => {
                            let _: i64 = redis::cmd("EVAL").arg(MOVE).arg(1).arg(a).arg(b).query(&mut con).unwrap();
                        }
                        1 => {
                            // Declares b, reaches a (a lower shard index).
                            let _: i64 = redis::cmd("EVAL").arg(MOVE).arg(1).arg(b).arg(a).query(&mut con).unwrap();
                            let _: i64 = redis::cmd("EVAL").arg(MOVE).arg(1).arg(a).arg(b).query(&mut con).unwrap();
                        }
                        2 => {
                            let _: () = redis::pipe()
                                .atomic()
                                .cmd("INCR")
                                .arg(a)
                                .ignore()
                                .cmd("DECR")
                                .arg(b)
                                .ignore()
                                .query(&mut con)
                                .unwrap();
                        }
                        _ => {
                            let _: i64 = redis::cmd("EVAL").arg(BOTH).arg(0).arg(a).arg(b).query(&mut con).unwrap();
                            // A writer on other keys of the same shards.
                            let _: () = redis::cmd("SET").arg(format!("{{a}}w{w}")).arg(i).query(&mut con).unwrap();
                            let _: i64 = redis::cmd("INCR").arg(format!("{{b}}w{w}")).query(&mut con).unwrap();
                        }
                    }
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..3)
        .map(|_| {
            std::thread::spawn(move || {
                let c = redis::Client::open(format!("redis://{addr}/")).unwrap();
                let mut con = c.get_connection().unwrap();
                for _ in 0..300 {
                    let (x, y): (Option<i64>, Option<i64>) = redis::cmd("MGET").arg(a).arg(b).query(&mut con).unwrap();
                    assert_eq!(x.unwrap_or(0) + y.unwrap_or(0), 0, "a partial move was seen");
                }
            })
        })
        .collect();
    for h in workers.into_iter().chain(readers) {
        h.join().unwrap();
    }
    // Every round moved one unit from b to a, except the rounds of kind 1,
    // which moved one each way.
    let mut con = t.client();
    let (x, y): (i64, i64) = redis::cmd("MGET").arg(a).arg(b).query(&mut con).unwrap();
    assert_eq!(x + y, 0);
    let moves = (0..12).flat_map(|w| (0..ROUNDS).map(move |i| (w + i) % 4)).filter(|k| *k != 1).count();
    assert_eq!(x, moves as i64);
}

/// Errors a script returns or raises are counted as Redis counts them: a
/// returned error table once (by its code, "ERR" when it has none); an
/// error made by a refused or failing redis.call once, where it happened,
/// and the script's command as failed (redis.pcall'd or raised).
#[test]
fn script_errors_in_errorstats() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    c.cmd("CONFIG RESETSTAT");
    assert_eq!(c.cmd("EVAL \"return redis.error_reply('MY_CODE custom msg')\" 0"), "-MY_CODE custom msg\r\n");
    assert_eq!(c.cmd("EVAL \"return {err='plain'}\" 0"), "-plain\r\n");
    assert!(c
        .cmd("EVAL_RO \"return redis.call('set','x','y')\" 1 x")
        .starts_with("-ERR Write commands are not allowed"));
    c.cmd("SET s 1");
    assert_eq!(
        c.cmd("EVAL \"return redis.pcall('lpush','s','y')\" 0"),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    let info = c.cmd("INFO errorstats");
    assert!(info.contains("errorstat_MY_CODE:count=1\r\n"), "{info}");
    assert!(info.contains("errorstat_ERR:count=2\r\n"), "{info}");
    assert!(info.contains("errorstat_WRONGTYPE:count=1\r\n"), "{info}");
    let stats = c.cmd("INFO commandstats");
    assert!(stats.contains("cmdstat_eval:calls=3,") && stats.contains("failed_calls=3\r\n"), "{stats}");
    assert!(stats.contains("cmdstat_set:calls=1,") && stats.contains("rejected_calls=1,failed_calls=0"), "{stats}");
    assert!(c.cmd("INFO stats").contains("total_error_replies:4\r\n"));
}
