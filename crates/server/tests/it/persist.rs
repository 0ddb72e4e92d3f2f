//! RDB persistence: SAVE, BGSAVE, saving at shutdown, loading at startup,
//! DEBUG RELOAD, and files exchanged with redis-server 7.0.15. These tests
//! start the server binary in a directory of their own (a restart is what
//! they test, and `dir` is the process's working directory).

use crate::common::Raw;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) struct Proc {
    child: Child,
    pub port: u16,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    pub fn raw(&self) -> Raw {
        Raw::connect(([127, 0, 0, 1], self.port).into())
    }

    /// Waits for the process to exit (after SHUTDOWN or a signal).
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        let t0 = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(t0.elapsed() < Duration::from_secs(30), "server did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A fresh, empty directory for one test.
pub(crate) fn test_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hematite-persist-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Starts `bin` and waits until it has loaded its data (INFO loading:0).
pub(crate) fn spawn(bin: &str, dir: &Path, extra: &[&str]) -> Proc {
    let p = spawn_listening(bin, dir, extra);
    let mut r = p.raw();
    let t0 = Instant::now();
    while r.info_field("persistence", "loading") != "0" {
        assert!(t0.elapsed() < Duration::from_secs(60), "the server did not finish loading");
        std::thread::sleep(Duration::from_millis(5));
    }
    p
}

/// Starts `bin` and returns once it accepts connections (it may still be
/// loading its data).
pub(crate) fn spawn_listening(bin: &str, dir: &Path, extra: &[&str]) -> Proc {
    spawn_logged(bin, dir, extra, Stdio::null())
}

/// `spawn_listening` with the server's standard output (its log) sent to
/// `log`.
fn spawn_logged(bin: &str, dir: &Path, extra: &[&str], log: impl Into<Stdio>) -> Proc {
    let port = free_port();
    let mut args: Vec<String> = vec!["--port".into(), port.to_string(), "--enable-debug-command".into(), "yes".into()];
    args.extend(extra.iter().map(|s| s.to_string()));
    let child = Command::new(bin)
        .args(&args)
        .current_dir(dir)
        .stdout(log)
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
    let mut p = Proc { child, port };
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(s) = p.child.try_wait().unwrap() {
            panic!("{bin} exited at start: {s}");
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "server did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    p
}

pub(crate) fn hematite(dir: &Path, extra: &[&str]) -> Proc {
    spawn(env!("CARGO_BIN_EXE_hematite-server"), dir, extra)
}

/// Waits until no BGSAVE runs.
fn wait_bgsave(r: &mut Raw) {
    let t0 = Instant::now();
    while r.info_field("persistence", "rdb_bgsave_in_progress") != "0" {
        assert!(t0.elapsed() < Duration::from_secs(60), "BGSAVE did not end");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Data of every type and encoding, in two databases, with TTLs and a
/// function library.
fn fill(r: &mut Raw) {
    let mut lines: Vec<String> = vec![
        "SET int 12345".into(),
        "SET neg -9000000000".into(),
        "SET emb hello".into(),
        format!("SET raw {}", "r".repeat(3000)),
        format!("SET zeros {}", "0".repeat(100)),
        "SET ttl1 v PX 9000000".into(),
        "RPUSH smalllist a b 1 2".into(),
        "HSET smallhash f1 v1 f2 2".into(),
        "ZADD smallz 1 a 2.5 b -inf c".into(),
        "SADD ints 1 2 3 -4".into(),
        "SADD strs a b c".into(),
        "PFADD hll a b c d".into(),
        "SETBIT bits 1000 1".into(),
        "GEOADD geo 13.361389 38.115556 Palermo".into(),
        "XADD st 1-1 a 1".into(),
        "XADD st 2-1 b 2".into(),
        "XGROUP CREATE st g 0".into(),
        "XREADGROUP GROUP g alice COUNT 1 STREAMS st >".into(),
        "SELECT 7".into(),
        "SET in7 seven".into(),
        "HSET h7 a b".into(),
        "SELECT 0".into(),
    ];
    for i in 0..600 {
        lines.push(format!("RPUSH biglist element-{i}"));
        lines.push(format!("HSET bighash field{i} value{i}"));
        lines.push(format!("ZADD bigz {i}.25 m{i}"));
        lines.push(format!("SADD bigset {i}"));
        lines.push(format!("SADD bigsset s{i}"));
        lines.push(format!("SET k{i} v{i}"));
        if i % 3 == 0 {
            lines.push(format!("PEXPIRE k{i} 8000000"));
        }
    }
    for l in &lines {
        let rep = r.cmd(l);
        assert!(!rep.starts_with('-'), "{l}: {rep}");
    }
    let f = "#!lua name=plib\nredis.register_function('pf', function(keys, args) return 42 end)";
    r.send_cmd(&[b"FUNCTION", b"LOAD", f.as_bytes()]);
    assert_eq!(r.read_reply(), b"$4\r\nplib\r\n");
}

/// What must survive a save and load: the digest of each database and the
/// TTL of a few keys (to the second: the clock moves between the two).
fn state(r: &mut Raw) -> Vec<String> {
    let mut v = Vec::new();
    for db in [0, 7] {
        r.cmd(&format!("SELECT {db}"));
        v.push(r.cmd("DEBUG DIGEST"));
        v.push(r.cmd("DBSIZE"));
    }
    r.cmd("SELECT 0");
    for k in ["ttl1", "k0", "k3", "k1"] {
        let ms: i64 = r.cmd(&format!("PTTL {k}")).trim_start_matches(':').trim().parse().unwrap();
        v.push(format!("{k} {}", if ms < 0 { ms } else { (ms + 500_000) / 1_000_000 }));
    }
    v.push(r.cmd("FCALL pf 0"));
    v.push(r.cmd("OBJECT ENCODING bigz"));
    v.push(r.cmd("OBJECT ENCODING ints"));
    v
}

#[test]
fn save_then_restart_keeps_everything() {
    let dir = test_dir("save");
    let mut p = hematite(&dir, &["--save", ""]);
    let mut r = p.raw();
    fill(&mut r);
    let before = state(&mut r);
    assert_eq!(r.cmd("SAVE"), "+OK\r\n");
    assert!(r.info_field("persistence", "rdb_changes_since_last_save") == "0");
    assert!(dir.join("dump.rdb").exists());
    r.send_cmd(&[b"SHUTDOWN", b"NOSAVE"]);
    assert!(p.wait_exit().success());
    let p2 = hematite(&dir, &["--save", ""]);
    let mut r = p2.raw();
    assert_eq!(state(&mut r), before);
    assert_eq!(r.info_field("persistence", "rdb_last_load_keys_loaded"), "622");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bgsave_writes_the_moment_it_started() {
    let dir = test_dir("bgsave");
    let p = hematite(&dir, &["--save", ""]);
    let mut r = p.raw();
    for i in 0..2000 {
        r.cmd(&format!("SET key{i} old{i}"));
    }
    // Slow the writer down (200 µs per key) so the writes below race it.
    assert_eq!(r.cmd("CONFIG SET rdb-key-save-delay 200"), "+OK\r\n");
    assert_eq!(r.cmd("BGSAVE"), "+Background saving started\r\n");
    let mut w = p.raw();
    for i in 0..2000 {
        w.cmd(&format!("SET key{i} new{i}"));
        w.cmd(&format!("SET added{i} x"));
    }
    w.cmd("DEL key5");
    if r.info_field("persistence", "rdb_bgsave_in_progress") == "1" {
        // (Only while it still runs: the machine may be fast.)
        assert_eq!(r.cmd("BGSAVE"), "-ERR Background save already in progress\r\n");
        assert_eq!(r.cmd("SAVE"), "-ERR Background save already in progress\r\n");
    }
    wait_bgsave(&mut r);
    assert_eq!(r.info_field("persistence", "rdb_last_bgsave_status"), "ok");
    assert_eq!(r.cmd("DBSIZE"), ":3999\r\n");
    // The file has the keys as they were at BGSAVE.
    assert_eq!(r.cmd("DEBUG RELOAD NOSAVE"), "+OK\r\n");
    assert_eq!(r.cmd("DBSIZE"), ":2000\r\n");
    assert_eq!(r.cmd("GET key5"), "$4\r\nold5\r\n");
    assert_eq!(r.cmd("GET key1999"), "$7\r\nold1999\r\n");
    assert_eq!(r.cmd("EXISTS added0"), ":0\r\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn shutdown_saves_with_save_points_and_not_without() {
    let dir = test_dir("shutdown");
    // Redis's default save points are on: SHUTDOWN saves.
    let mut p = hematite(&dir, &[]);
    let mut r = p.raw();
    r.cmd("SET a 1");
    r.send_cmd(&[b"SHUTDOWN"]);
    assert!(r.reply_or_closed().is_none());
    assert!(p.wait_exit().success());
    let mut p = hematite(&dir, &["--save", ""]);
    let mut r = p.raw();
    assert_eq!(r.cmd("GET a"), "$1\r\n1\r\n");
    // No save points, no SAVE: nothing is written.
    r.cmd("SET a 2");
    r.send_cmd(&[b"SHUTDOWN"]);
    assert!(p.wait_exit().success());
    let mut p = hematite(&dir, &["--save", ""]);
    let mut r = p.raw();
    assert_eq!(r.cmd("GET a"), "$1\r\n1\r\n");
    // SHUTDOWN SAVE saves anyway.
    r.cmd("SET a 3");
    r.send_cmd(&[b"SHUTDOWN", b"SAVE"]);
    assert!(p.wait_exit().success());
    let mut p = hematite(&dir, &[]);
    let mut r = p.raw();
    assert_eq!(r.cmd("GET a"), "$1\r\n3\r\n");
    // SIGTERM with save points saves too.
    r.cmd("SET a 4");
    let pid = p.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    assert!(p.wait_exit().success());
    let p = hematite(&dir, &["--save", ""]);
    assert_eq!(p.raw().cmd("GET a"), "$1\r\n4\r\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn flushall_with_save_points_saves_the_empty_dataset() {
    let dir = test_dir("flushall");
    let p = hematite(&dir, &["--save", ""]);
    let mut r = p.raw();
    r.cmd("SET a 1");
    assert_eq!(r.cmd("SAVE"), "+OK\r\n");
    // Without save points FLUSHALL leaves the file alone.
    r.cmd("FLUSHALL");
    assert_eq!(r.cmd("DEBUG RELOAD NOSAVE"), "+OK\r\n");
    assert_eq!(r.cmd("GET a"), "$1\r\n1\r\n");
    assert_eq!(r.cmd("CONFIG SET save \"3600 1\""), "+OK\r\n");
    r.cmd("FLUSHALL");
    assert_eq!(r.cmd("DEBUG RELOAD NOSAVE"), "+OK\r\n");
    assert_eq!(r.cmd("DBSIZE"), ":0\r\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn debug_reload_and_errors() {
    let dir = test_dir("reload");
    let p = hematite(&dir, &["--save", ""]);
    let mut r = p.raw();
    fill(&mut r);
    let before = state(&mut r);
    assert_eq!(r.cmd("DEBUG RELOAD"), "+OK\r\n");
    assert_eq!(state(&mut r), before);
    assert_eq!(r.cmd("DEBUG RELOAD FOO"), "-ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.\r\n");
    // NOFLUSH without MERGE: the keys are already there.
    assert_eq!(r.cmd("DEBUG RELOAD NOSAVE NOFLUSH"), "-ERR Error trying to load the RDB dump\r\n");
    r.cmd("SET emb changed");
    r.cmd("SET extra 1");
    assert_eq!(r.cmd("DEBUG RELOAD NOSAVE NOFLUSH MERGE"), "+OK\r\n");
    assert_eq!(r.cmd("GET emb"), "$5\r\nhello\r\n");
    assert_eq!(r.cmd("GET extra"), "$1\r\n1\r\n");
    // Under an LFU policy the counters are saved and loaded.
    assert_eq!(r.cmd("CONFIG SET maxmemory-policy allkeys-lfu"), "+OK\r\n");
    r.cmd("SET hot v");
    for _ in 0..200 {
        r.cmd("GET hot");
    }
    let freq = r.cmd("OBJECT FREQ hot");
    assert_ne!(freq, ":0\r\n");
    assert_eq!(r.cmd("DEBUG RELOAD"), "+OK\r\n");
    assert_eq!(r.cmd("OBJECT FREQ hot"), freq);
    assert_eq!(r.cmd("CONFIG SET maxmemory-policy allkeys-lru"), "+OK\r\n");
    assert_eq!(r.cmd("DEBUG RELOAD"), "+OK\r\n");
    assert_eq!(r.cmd("OBJECT IDLETIME hot"), ":0\r\n");
    assert_eq!(r.cmd("BGSAVE foo"), "-ERR syntax error\r\n");
    assert_eq!(r.cmd("MULTI"), "+OK\r\n");
    r.cmd("BGSAVE");
    assert_eq!(r.cmd("EXEC"), "*1\r\n+Background saving scheduled\r\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_damaged_file_stops_the_start() {
    let dir = test_dir("damaged");
    let mut p = hematite(&dir, &["--save", ""]);
    let mut r = p.raw();
    fill(&mut r);
    assert_eq!(r.cmd("SAVE"), "+OK\r\n");
    r.send_cmd(&[b"SHUTDOWN", b"NOSAVE"]);
    p.wait_exit();
    let path = dir.join("dump.rdb");
    let mut data = std::fs::read(&path).unwrap();
    let n = data.len();
    data[n / 2] ^= 0x41;
    std::fs::write(&path, &data).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hematite-server"))
        .args(["--port", &free_port().to_string()])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn files_cross_between_redis_and_hematite() {
    let Some(redis) = crate::diff::reference_bin() else {
        assert!(std::env::var("HEMATITE_SKIP_DIFF").is_ok(), "redis-server is needed (HEMATITE_SKIP_DIFF=1 to skip)");
        return;
    };
    // Hematite writes, Redis reads.
    let dir = test_dir("cross");
    let mut p = hematite(&dir, &["--save", ""]);
    let mut r = p.raw();
    fill(&mut r);
    let ours = state(&mut r);
    assert_eq!(r.cmd("SAVE"), "+OK\r\n");
    r.send_cmd(&[b"SHUTDOWN", b"NOSAVE"]);
    p.wait_exit();
    let mut q = spawn(&redis, &dir, &["--save", "", "--appendonly", "no"]);
    let mut r = q.raw();
    let theirs = state(&mut r);
    // (Redis keeps a small integer set as an intset, and so do we.)
    assert_eq!(theirs, ours);
    // Redis writes, Hematite reads.
    r.cmd("SET fromredis 1");
    r.cmd("SELECT 7");
    r.cmd("DEL in7");
    r.cmd("SELECT 0");
    let theirs = state(&mut r);
    assert_eq!(r.cmd("SAVE"), "+OK\r\n");
    r.send_cmd(&[b"SHUTDOWN", b"NOSAVE"]);
    q.wait_exit();
    let p = hematite(&dir, &["--save", ""]);
    let mut r = p.raw();
    assert_eq!(state(&mut r), theirs);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_failed_bgsave_stops_writes_until_a_save_works() {
    let dir = test_dir("misconf");
    let p = hematite(&dir, &["--save", ""]);
    let mut r = p.raw();
    r.cmd("SET a 1");
    // The file cannot replace a directory of the same name.
    std::fs::create_dir(dir.join("dump.rdb")).unwrap();
    assert_eq!(r.cmd("BGSAVE"), "+Background saving started\r\n");
    wait_bgsave(&mut r);
    assert_eq!(r.info_field("persistence", "rdb_last_bgsave_status"), "err");
    // Without save points writes go on.
    assert_eq!(r.cmd("SET a 2"), "+OK\r\n");
    assert_eq!(r.cmd("CONFIG SET save \"3600 1\""), "+OK\r\n");
    let misconf = format!("-{}\r\n", hematite::persist::MISCONF);
    assert_eq!(r.cmd("SET a 3"), misconf);
    assert_eq!(r.cmd("PING"), misconf);
    assert_eq!(r.cmd("GET a"), "$1\r\n2\r\n");
    // Scripts: a write call fails; a shebang script that may write does
    // not start; a read-only one runs.
    assert!(r.cmd("EVAL \"return redis.call('set','a',1)\" 0").starts_with("-MISCONF "));
    assert_eq!(r.cmd("EVAL \"#!lua\\nreturn redis.call('set','a',1)\" 0"), misconf);
    assert_eq!(r.cmd("EVAL \"#!lua flags=no-writes\\nreturn redis.call('get','a')\" 0"), "$1\r\n2\r\n");
    assert_eq!(r.cmd("MULTI"), "+OK\r\n");
    assert_eq!(r.cmd("INCR a"), misconf);
    assert_eq!(r.cmd("EXEC"), "-EXECABORT Transaction discarded because of previous errors.\r\n");
    assert_eq!(r.cmd("CONFIG SET stop-writes-on-bgsave-error no"), "+OK\r\n");
    assert_eq!(r.cmd("SET a 4"), "+OK\r\n");
    assert_eq!(r.cmd("CONFIG SET stop-writes-on-bgsave-error yes"), "+OK\r\n");
    assert_eq!(r.cmd("SET a 5"), misconf);
    std::fs::remove_dir(dir.join("dump.rdb")).unwrap();
    assert_eq!(r.cmd("BGSAVE"), "+Background saving started\r\n");
    wait_bgsave(&mut r);
    assert_eq!(r.info_field("persistence", "rdb_last_bgsave_status"), "ok");
    assert_eq!(r.cmd("SET a 6"), "+OK\r\n");
    let _ = std::fs::remove_dir_all(&dir);
}

// ------------------------------------------------------------------ AOF

fn aof_dir(dir: &Path) -> PathBuf {
    dir.join("appendonlydir")
}

fn manifest(dir: &Path) -> String {
    std::fs::read_to_string(aof_dir(dir).join("appendonly.aof.manifest")).unwrap()
}

fn wait_rewrite(r: &mut Raw) {
    let t0 = Instant::now();
    while r.info_field("persistence", "aof_rewrite_in_progress") != "0" {
        assert!(t0.elapsed() < Duration::from_secs(60), "AOF rewrite did not end");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn aof_restart_keeps_everything() {
    let dir = test_dir("aof");
    let mut p = hematite(&dir, &["--save", "", "--appendonly", "yes"]);
    let mut r = p.raw();
    // A base was written at start, and an incremental file opened.
    assert_eq!(
        manifest(&dir),
        "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    );
    fill(&mut r);
    // A transaction and a script: their effects are in the file.
    r.cmd("MULTI");
    r.cmd("INCR counter");
    r.cmd("INCRBYFLOAT counter 0.5");
    assert_eq!(r.cmd("EXEC"), "*2\r\n:1\r\n$3\r\n1.5\r\n");
    r.cmd("EVAL \"redis.call('set','fromlua','1'); return redis.call('incr','fromlua')\" 0");
    let before = state(&mut r);
    let digest = r.cmd("DEBUG DIGEST");
    assert_eq!(r.info_field("persistence", "aof_enabled"), "1");
    // Nothing is lost without a save: SHUTDOWN NOSAVE still syncs the AOF.
    r.send_cmd(&[b"SHUTDOWN", b"NOSAVE"]);
    assert!(p.wait_exit().success());
    assert!(!dir.join("dump.rdb").exists());
    let p2 = hematite(&dir, &["--save", "", "--appendonly", "yes"]);
    let mut r = p2.raw();
    assert_eq!(state(&mut r), before);
    assert_eq!(r.cmd("DEBUG DIGEST"), digest);
    assert_eq!(r.cmd("GET fromlua"), "$1\r\n2\r\n");
    // DEBUG LOADAOF reloads the same dataset.
    assert_eq!(r.cmd("DEBUG LOADAOF"), "+OK\r\n");
    assert_eq!(r.cmd("DEBUG DIGEST"), digest);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn aof_rewrite_makes_a_new_base_under_writes() {
    let dir = test_dir("aofrw");
    let mut p = hematite(&dir, &["--save", "", "--appendonly", "yes"]);
    let mut r = p.raw();
    for i in 0..2000 {
        r.cmd(&format!("SET key{i} old{i}"));
    }
    assert_eq!(r.cmd("CONFIG SET rdb-key-save-delay 100"), "+OK\r\n");
    assert_eq!(r.cmd("BGREWRITEAOF"), "+Background append only file rewriting started\r\n");
    let mut w = p.raw();
    for i in 0..2000 {
        w.cmd(&format!("SET key{i} new{i}"));
        w.cmd(&format!("RPUSH list{} {i}", i % 7));
    }
    w.cmd("DEL key5");
    if r.info_field("persistence", "aof_rewrite_in_progress") == "1" {
        assert_eq!(r.cmd("BGREWRITEAOF"), "-ERR Background append only file rewriting already in progress\r\n");
        assert!(r.cmd("BGSAVE").starts_with("-ERR Another child process is active (AOF?)"));
    }
    wait_rewrite(&mut r);
    assert_eq!(r.cmd("CONFIG SET rdb-key-save-delay 0"), "+OK\r\n");
    assert_eq!(r.info_field("persistence", "aof_last_bgrewrite_status"), "ok");
    assert_eq!(r.info_field("persistence", "aof_rewrites"), "1");
    // The old files are gone; the new base and incremental file remain.
    assert_eq!(
        manifest(&dir),
        "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
    );
    let mut names: Vec<String> = std::fs::read_dir(aof_dir(&dir))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["appendonly.aof.2.base.rdb", "appendonly.aof.2.incr.aof", "appendonly.aof.manifest"]);
    let digest = r.cmd("DEBUG DIGEST");
    r.send_cmd(&[b"SHUTDOWN", b"NOSAVE"]);
    p.wait_exit();
    let p2 = hematite(&dir, &["--save", "", "--appendonly", "yes"]);
    let mut r = p2.raw();
    assert_eq!(r.cmd("DEBUG DIGEST"), digest);
    assert_eq!(r.cmd("GET key7"), "$4\r\nnew7\r\n");
    assert_eq!(r.cmd("DBSIZE"), ":2006\r\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn aof_turned_on_and_off_at_run_time() {
    let dir = test_dir("aofcfg");
    let mut p = hematite(&dir, &["--save", ""]);
    let mut r = p.raw();
    r.cmd("SET before 1");
    assert_eq!(r.info_field("persistence", "aof_enabled"), "0");
    assert_eq!(r.cmd("CONFIG SET appendonly yes"), "+OK\r\n");
    wait_rewrite(&mut r);
    assert_eq!(r.info_field("persistence", "aof_enabled"), "1");
    r.cmd("SET after 2");
    assert_eq!(r.cmd("CONFIG SET appendonly no"), "+OK\r\n");
    r.cmd("SET lost 3");
    r.send_cmd(&[b"SHUTDOWN", b"NOSAVE"]);
    p.wait_exit();
    let p2 = hematite(&dir, &["--save", "", "--appendonly", "yes"]);
    let mut r = p2.raw();
    assert_eq!(r.cmd("MGET before after lost"), "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn aof_truncated_tail_and_bad_files() {
    let dir = test_dir("aoftrunc");
    let mut p = hematite(&dir, &["--save", "", "--appendonly", "yes", "--appendfsync", "always"]);
    let mut r = p.raw();
    r.cmd("SET a 1");
    r.cmd("SET b 2");
    r.send_cmd(&[b"SHUTDOWN", b"NOSAVE"]);
    p.wait_exit();
    let incr = aof_dir(&dir).join("appendonly.aof.1.incr.aof");
    let whole = std::fs::read(&incr).unwrap();
    // A command cut short at the end.
    let mut cut = whole.clone();
    cut.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$1");
    std::fs::write(&incr, &cut).unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_hematite-server"))
        .args(["--port", &free_port().to_string(), "--appendonly", "yes", "--aof-load-truncated", "no"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let p = hematite(&dir, &["--save", "", "--appendonly", "yes"]);
    let mut r = p.raw();
    assert_eq!(r.cmd("MGET a b c"), "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n");
    drop(r);
    drop(p);
    // The file was cut back to its last whole command.
    assert_eq!(std::fs::read(&incr).unwrap(), whole);
    // Garbage is refused whatever aof-load-truncated says.
    let mut bad = whole.clone();
    bad.extend_from_slice(b"garbage\r\n");
    std::fs::write(&incr, &bad).unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_hematite-server"))
        .args(["--port", &free_port().to_string(), "--appendonly", "yes"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn aof_files_cross_between_redis_and_hematite() {
    let Some(redis) = crate::diff::reference_bin() else {
        assert!(std::env::var("HEMATITE_SKIP_DIFF").is_ok(), "redis-server is needed (HEMATITE_SKIP_DIFF=1 to skip)");
        return;
    };
    // Redis writes an AOF (base and incremental file), Hematite loads it.
    let dir = test_dir("aofcross");
    let mut q = spawn(&redis, &dir, &["--save", "", "--appendonly", "yes"]);
    let mut r = q.raw();
    fill(&mut r);
    r.cmd("SPOP ints");
    r.cmd("MULTI");
    r.cmd("INCR n");
    r.cmd("LPUSH l2 a b");
    r.cmd("EXEC");
    let theirs = state(&mut r);
    r.send_cmd(&[b"SHUTDOWN", b"NOSAVE"]);
    q.wait_exit();
    let mut p = hematite(&dir, &["--save", "", "--appendonly", "yes"]);
    let mut r = p.raw();
    assert_eq!(state(&mut r), theirs);
    // Hematite goes on writing; Redis loads the result.
    r.cmd("SET fromhematite 1");
    r.cmd("BGREWRITEAOF");
    wait_rewrite(&mut r);
    r.cmd("HSET h2 x y");
    let ours = state(&mut r);
    let digest = r.cmd("DEBUG DIGEST");
    r.send_cmd(&[b"SHUTDOWN", b"NOSAVE"]);
    p.wait_exit();
    let q = spawn(&redis, &dir, &["--save", "", "--appendonly", "yes"]);
    let mut r = q.raw();
    assert_eq!(state(&mut r), ours);
    assert_eq!(r.cmd("DEBUG DIGEST"), digest);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_old_single_file_aof_is_upgraded() {
    let dir = test_dir("aofold");
    std::fs::write(
        dir.join("appendonly.aof"),
        b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$3\r\nold\r\n$3\r\nyes\r\n",
    )
    .unwrap();
    let p = hematite(&dir, &["--save", "", "--appendonly", "yes"]);
    let mut r = p.raw();
    assert_eq!(r.cmd("GET old"), "$3\r\nyes\r\n");
    assert!(!dir.join("appendonly.aof").exists());
    assert_eq!(manifest(&dir), "file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn aof_base_in_command_form() {
    let dir = test_dir("aofcmd");
    let mut p = hematite(&dir, &["--save", "", "--appendonly", "yes", "--aof-use-rdb-preamble", "no"]);
    let mut r = p.raw();
    fill(&mut r);
    r.cmd("HSET fh a 1 b 2");
    r.cmd("HPEXPIREAT fh 4102444800000 FIELDS 1 a");
    r.cmd("XADD empty 5-5 k v");
    r.cmd("XDEL empty 5-5");
    r.cmd("XGROUP CREATECONSUMER st g bob");
    assert_eq!(r.cmd("BGREWRITEAOF"), "+Background append only file rewriting started\r\n");
    wait_rewrite(&mut r);
    assert_eq!(
        manifest(&dir),
        "file appendonly.aof.2.base.aof seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
    );
    let base = std::fs::read(aof_dir(&dir).join("appendonly.aof.2.base.aof")).unwrap();
    assert!(base.starts_with(b"*3\r\n$8\r\nFUNCTION\r\n$4\r\nLOAD\r\n"), "{}", String::from_utf8_lossy(&base[..40]));
    let before = state(&mut r);
    let digest = r.cmd("DEBUG DIGEST");
    let fields = r.cmd("HPEXPIRETIME fh FIELDS 2 a b");
    let groups = r.cmd("XINFO GROUPS st");
    r.send_cmd(&[b"SHUTDOWN", b"NOSAVE"]);
    p.wait_exit();
    let p = hematite(&dir, &["--save", "", "--appendonly", "yes"]);
    let mut r = p.raw();
    assert_eq!(state(&mut r), before);
    assert_eq!(r.cmd("DEBUG DIGEST"), digest);
    assert_eq!(r.cmd("HPEXPIRETIME fh FIELDS 2 a b"), fields);
    assert_eq!(r.cmd("XINFO GROUPS st"), groups);
    assert_eq!(r.cmd("XINFO STREAM empty").contains("5-5"), true);
    drop(r);
    drop(p);
    // redis-server 7.0.15 loads it too (without the hash field TTLs,
    // which it does not know: drop that key first).
    if let Some(redis) = crate::diff::reference_bin() {
        let mut p = hematite(&dir, &["--save", "", "--appendonly", "yes", "--aof-use-rdb-preamble", "no"]);
        let mut r = p.raw();
        r.cmd("DEL fh");
        r.cmd("BGREWRITEAOF");
        wait_rewrite(&mut r);
        let before = state(&mut r);
        r.send_cmd(&[b"SHUTDOWN", b"NOSAVE"]);
        p.wait_exit();
        let q = spawn(&redis, &dir, &["--save", "", "--appendonly", "yes"]);
        let mut r = q.raw();
        assert_eq!(state(&mut r), before);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Waits until INFO persistence's `field` reads `want`.
fn wait_field(r: &mut Raw, field: &str, want: &str) {
    let t0 = Instant::now();
    while r.info_field("persistence", field) != want {
        assert!(t0.elapsed() < Duration::from_secs(30), "{field} never became {want}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn prlimit_fsize(pid: u32, limit: &str) {
    let st = Command::new("prlimit").arg("--pid").arg(pid.to_string()).arg(format!("--fsize={limit}:")).status();
    assert!(st.expect("prlimit (util-linux)").success());
}

/// A failing AOF write (here a file size limit set on the running server:
/// EFBIG) refuses writes with Redis's MISCONF text until a write works
/// again; a partial write is cut back off the file, so what was held back
/// lands once, whole.
#[test]
fn aof_write_errors_refuse_writes_until_the_disk_works() {
    let dir = test_dir("aoffail");
    let mut p = hematite(&dir, &["--save", "", "--appendonly", "yes", "--appendfsync", "everysec"]);
    let pid = p.child.id();
    let mut r = p.raw();
    r.cmd("SET a 1");
    r.cmd("INCR n");
    let incr = aof_dir(&dir).join("appendonly.aof.1.incr.aof");
    let t0 = Instant::now();
    while std::fs::metadata(&incr).map(|m| m.len()).unwrap_or(0) == 0 {
        assert!(t0.elapsed() < Duration::from_secs(30), "nothing reached the AOF");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(50));
    let size = std::fs::metadata(&incr).unwrap().len();
    // Room for 10 more bytes: the next write is cut short, then fails.
    prlimit_fsize(pid, &(size + 10).to_string());
    assert_eq!(r.cmd("INCR n"), ":2\r\n");
    wait_field(&mut r, "aof_last_write_status", "err");
    assert_eq!(std::fs::metadata(&incr).unwrap().len(), size, "the short write was not taken back");
    let misconf = "-MISCONF Errors writing to the AOF file: File too large\r\n";
    assert_eq!(r.cmd("SET b 2"), misconf);
    assert_eq!(r.cmd("PING"), misconf);
    assert_eq!(r.cmd("GET a"), "$1\r\n1\r\n");
    assert!(r.cmd("EVAL \"return redis.call('set','b',1)\" 0").contains("MISCONF Errors writing to the AOF file"));
    assert_eq!(r.cmd("EVAL \"#!lua\\nreturn redis.call('set','b',1)\" 0"), misconf);
    assert!(r.info_field("errorstats", "errorstat_MISCONF").starts_with("count="));
    // The limit lifted, the held-back bytes are written and writes resume.
    prlimit_fsize(pid, "unlimited");
    wait_field(&mut r, "aof_last_write_status", "ok");
    assert_eq!(r.cmd("INCR n"), ":3\r\n");
    assert_eq!(r.cmd("PING"), "+PONG\r\n");
    r.send_cmd(&[b"SHUTDOWN", b"NOSAVE"]);
    assert!(p.wait_exit().success());
    let p = hematite(&dir, &["--save", "", "--appendonly", "yes"]);
    let mut r = p.raw();
    assert_eq!(r.cmd("GET n"), "$1\r\n3\r\n");
    assert_eq!(r.cmd("EXISTS b"), ":0\r\n");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A server loading its data at startup listens already: commands without
/// the `loading` flag get LOADING, INFO shows the progress, SHUTDOWN stops
/// it without saving (key-load-delay makes the load last).
#[test]
fn clients_get_loading_while_the_data_loads() {
    let dir = test_dir("loading");
    let mut p = hematite(&dir, &["--save", ""]);
    let mut r = p.raw();
    assert_eq!(r.cmd("DEBUG POPULATE 20000 key 10"), "+OK\r\n");
    assert_eq!(r.cmd("SAVE"), "+OK\r\n");
    r.send_cmd(&[b"SHUTDOWN", b"NOSAVE"]);
    p.wait_exit();
    let size = std::fs::metadata(dir.join("dump.rdb")).unwrap().len();
    // 20000 keys at 1 ms each: far longer than this test.
    let mut p =
        spawn_listening(env!("CARGO_BIN_EXE_hematite-server"), &dir, &["--save", "3600 1", "--key-load-delay", "1000"]);
    let mut r = p.raw();
    let loading = "-LOADING Redis is loading the dataset in memory\r\n";
    assert_eq!(r.cmd("GET key:1"), loading);
    assert_eq!(r.cmd("PING"), loading);
    assert_eq!(r.cmd("DBSIZE"), loading);
    assert_eq!(r.info_field("persistence", "loading"), "1");
    assert_eq!(r.info_field("persistence", "loading_total_bytes"), size.to_string());
    assert!(r.info_field("persistence", "loading_loaded_perc").parse::<f64>().unwrap() < 100.0);
    assert_eq!(r.cmd("CONFIG GET key-load-delay"), "*2\r\n$14\r\nkey-load-delay\r\n$4\r\n1000\r\n");
    // Commands that need no key run; settings flagged deny-loading and
    // commands that need the keyspace are refused, not waited for.
    assert_eq!(r.cmd("DEBUG LOG hello"), "+OK\r\n");
    assert_eq!(r.cmd("CONFIG SET appendonly yes"), loading);
    assert_eq!(r.cmd("CONFIG SET maxmemory 0"), "+OK\r\n");
    assert_eq!(r.cmd("DEBUG DIGEST"), loading);
    assert!(r.cmd("INFO everything").contains("loading:1\r\n"));
    // Queued commands are refused as they come: EXEC then aborts.
    assert_eq!(r.cmd("MULTI"), "+OK\r\n");
    assert_eq!(r.cmd("SET a 1"), loading);
    assert_eq!(r.cmd("EXEC"), "-EXECABORT Transaction discarded because of previous errors.\r\n");
    assert!(r.info_field("errorstats", "errorstat_LOADING").starts_with("count="));
    // No save while loading, even with save points: the file stays.
    let before = std::fs::read(dir.join("dump.rdb")).unwrap();
    r.send_cmd(&[b"SHUTDOWN"]);
    assert!(p.wait_exit().success());
    assert_eq!(std::fs::read(dir.join("dump.rdb")).unwrap(), before);
    // Without the delay the load ends and everything is there.
    let p = hematite(&dir, &["--save", ""]);
    let mut r = p.raw();
    assert_eq!(r.cmd("DBSIZE"), ":20000\r\n");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Under appendfsync everysec a write is in the file (written, if not yet
/// fsynced) before its reply is sent, as Redis writes its AOF buffer
/// before replying: a crash of the process loses no acknowledged write.
#[test]
fn aof_holds_a_write_before_its_reply() {
    let dir = test_dir("aofbefore");
    let p = hematite(&dir, &["--save", "", "--appendonly", "yes", "--appendfsync", "everysec"]);
    let mut r = p.raw();
    let incr = aof_dir(&dir).join("appendonly.aof.1.incr.aof");
    for i in 0..50 {
        let key = format!("key-{i}-end");
        if i == 40 {
            // Each write of the AOF now waits first; replies still follow it.
            assert_eq!(r.cmd("DEBUG AOF-FLUSH-SLEEP 20000"), "+OK\r\n");
        }
        assert_eq!(r.cmd(&format!("SET {key} v")), "+OK\r\n");
        let data = std::fs::read(&incr).unwrap();
        assert!(data.windows(key.len()).any(|w| w == key.as_bytes()), "{key} not in the AOF at its reply");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A script that passes busy-reply-threshold is logged once, as Redis logs
/// it ("Slow script detected ... Script name is: f_<sha>.").
#[test]
fn a_slow_script_is_logged() {
    let dir = test_dir("slowlog");
    let log = dir.join("stdout");
    let p = spawn_logged(
        env!("CARGO_BIN_EXE_hematite-server"),
        &dir,
        &["--save", "", "--busy-reply-threshold", "50"],
        std::fs::File::create(&log).unwrap(),
    );
    let mut runner = p.raw();
    let body = "local i = 0 while true do i = i + 1 end";
    runner.send_cmd(&[b"EVAL", body.as_bytes(), b"0"]);
    let mut r = p.raw();
    let t0 = Instant::now();
    while !r.cmd("PING").starts_with("-BUSY") {
        assert!(t0.elapsed() < Duration::from_secs(20), "the script never became busy");
        std::thread::sleep(Duration::from_millis(10));
    }
    let sha = {
        use std::fmt::Write;
        let mut h = sha1_smol::Sha1::new();
        h.update(body.as_bytes());
        h.digest().bytes().iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    };
    let want = format!("using the SCRIPT KILL command. Script name is: f_{sha}.");
    let t0 = Instant::now();
    while !std::fs::read_to_string(&log).unwrap().contains(&want) {
        assert!(t0.elapsed() < Duration::from_secs(20), "no slow script line in the log");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(std::fs::read_to_string(&log).unwrap().contains("Slow script detected: still in execution after "));
    assert_eq!(r.cmd("SCRIPT KILL"), "+OK\r\n");
    assert!(String::from_utf8_lossy(&runner.read_reply()).contains("Script killed by user with SCRIPT KILL"));
    drop(p);
    let _ = std::fs::remove_dir_all(&dir);
}
