//! Propagation, differentially: the same commands run on redis-server
//! 7.0.15 and on Hematite, both with `appendonly yes`, and what each wrote
//! to its incremental AOF file is compared step by step, byte for byte
//! (as parsed commands), except for absolute times taken from the clock
//! (PXAT / PEXPIREAT / ABSTTL / XCLAIM TIME arguments and stream IDs made
//! by `*`), which must agree within a tolerance.
//!
//! Script lines (one step each; ` ;; ` joins several into one step):
//! * `CMD ...`: sent on client 0, reply read;
//! * `@N CMD ...`: on client N;
//! * `@N& CMD ...`: sent on client N without reading the reply (blocking);
//! * `@N?`: reads client N's pending reply;
//! * `#sleep MS`.
//!
//! `$HELLO` stands for a DUMP payload of the string "hello" (RDB 10), and
//! `$MPORT` for the port of a third server that MIGRATE moves keys to.
//! A step written `~ ...` runs but is not compared: a known, explained
//! difference. SPOP picks members at random: a run of SREMs of one key is
//! compared by its length, and each side's SREMs must name members its
//! own reply returned.
//!
//! Hash field expiry (Redis 7.4) is compared the same way against
//! `REDIS74_SERVER` when that names a binary, skipped otherwise.
//!
//! Debugging: `PROP_TRACE=1` prints each step and reply as it runs,
//! `PROP_SHOW=1` both sides' propagation of every step.

use crate::common::Raw;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const HELLO: &[u8] = b"\x00\x05hello\n\x00cr\xdfve4 \n";

struct Proc {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn spawn(bin: &str, name: &str, extra: &[&str]) -> Proc {
    let dir = std::env::temp_dir().join(format!("hematite-prop-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let p = port.to_string();
    let mut args = vec!["--port", &p, "--bind", "127.0.0.1", "--enable-debug-command", "yes", "--save", ""];
    args.extend_from_slice(extra);
    let child = Command::new(bin)
        .args(&args)
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
    let mut p = Proc { child, port, dir };
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(s) = p.child.try_wait().unwrap() {
            panic!("{bin} exited at start: {s}");
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "{bin} did not start");
        std::thread::sleep(Duration::from_millis(5));
    }
    p
}

const AOF: &[&str] = &["--appendonly", "yes", "--appendfsync", "always"];

fn aof_path(p: &Proc) -> PathBuf {
    p.dir.join("appendonlydir").join("appendonly.aof.1.incr.aof")
}

/// What one step did: its text, the replies, and the bytes it appended.
struct Step {
    text: String,
    replies: Vec<String>,
    aof: Vec<u8>,
    /// Not compared (`~`).
    skip: bool,
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

fn args_of(cmd: &str, mport: u16) -> Vec<Vec<u8>> {
    crate::common::split(cmd)
        .into_iter()
        .map(|a| match a.as_slice() {
            b"$HELLO" => HELLO.to_vec(),
            b"$MPORT" => mport.to_string().into_bytes(),
            _ => a,
        })
        .collect()
}

/// Runs `script` on the server `p` (MIGRATE's target on port `mport`);
/// returns the steps and the time the run started.
fn run(p: &Proc, script: &str, mport: u16) -> (Vec<Step>, i64) {
    let path = aof_path(p);
    let mut clients: Vec<Raw> = Vec::new();
    let mut control = Raw::connect(([127, 0, 0, 1], p.port).into());
    let mut expect_blocked = 0;
    let mut seen = std::fs::read(&path).map(|b| b.len()).unwrap_or(0);
    let base = now_ms();
    let mut steps = Vec::new();
    for line in script.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("//")) {
        if std::env::var("PROP_TRACE").is_ok() {
            eprintln!("{}: {line}", p.port);
        }
        let (skip, line) = match line.strip_prefix("~ ") {
            Some(l) => (true, l),
            None => (false, line),
        };
        let mut replies = Vec::new();
        for part in line.split(" ;; ") {
            let part = part.trim();
            if let Some(ms) = part.strip_prefix("#sleep ") {
                std::thread::sleep(Duration::from_millis(ms.parse().unwrap()));
                continue;
            }
            let (n, wait, cmd) = match part.strip_prefix('@') {
                Some(rest) => {
                    let (who, cmd) = rest.split_once(' ').unwrap_or((rest, ""));
                    match who.strip_suffix('&') {
                        Some(n) => (n.parse::<usize>().unwrap(), false, cmd),
                        None => match who.strip_suffix('?') {
                            Some(n) => (n.parse::<usize>().unwrap(), true, ""),
                            None => (who.parse::<usize>().unwrap(), true, cmd),
                        },
                    }
                }
                None => (0, true, part),
            };
            while clients.len() <= n {
                clients.push(Raw::connect(([127, 0, 0, 1], p.port).into()));
            }
            let c = &mut clients[n];
            if !cmd.is_empty() {
                let args = args_of(cmd, mport);
                let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
                c.send_cmd(&refs);
            }
            if !wait {
                wait_blocked(&mut control, expect_blocked + 1);
                expect_blocked += 1;
            } else if cmd.is_empty() {
                expect_blocked -= 1;
            }
            if wait {
                replies.push(String::from_utf8_lossy(&c.read_reply()).into_owned());
                if std::env::var("PROP_TRACE").is_ok() {
                    eprintln!("{}:   -> {:?}", p.port, replies.last().unwrap());
                }
            }
        }
        let all = std::fs::read(&path).unwrap_or_default();
        steps.push(Step { text: line.to_string(), replies, aof: all[seen.min(all.len())..].to_vec(), skip });
        seen = all.len();
    }
    (steps, base)
}

/// Waits until `n` clients are blocked (so that what unblocks them comes
/// after them).
fn wait_blocked(control: &mut Raw, n: usize) {
    let t0 = Instant::now();
    while control.info_field("clients", "blocked_clients").parse::<usize>().unwrap() < n {
        assert!(t0.elapsed() < Duration::from_secs(5), "the client did not block");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The commands of an AOF fragment.
fn parse(mut b: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, String> {
    fn line<'a>(b: &mut &'a [u8]) -> Result<&'a [u8], String> {
        let at = b.windows(2).position(|w| w == b"\r\n").ok_or("unterminated line")?;
        let l = &b[..at];
        *b = &b[at + 2..];
        Ok(l)
    }
    fn num(l: &[u8], prefix: u8) -> Result<usize, String> {
        if l.first() != Some(&prefix) {
            return Err(format!("expected {}: {:?}", prefix as char, String::from_utf8_lossy(l)));
        }
        std::str::from_utf8(&l[1..]).ok().and_then(|s| s.parse().ok()).ok_or_else(|| "bad length".to_string())
    }
    let mut cmds = Vec::new();
    while !b.is_empty() {
        let n = num(line(&mut b)?, b'*')?;
        let mut cmd = Vec::with_capacity(n);
        for _ in 0..n {
            let len = num(line(&mut b)?, b'$')?;
            if b.len() < len + 2 || &b[len..len + 2] != b"\r\n" {
                return Err("truncated bulk".into());
            }
            cmd.push(b[..len].to_vec());
            b = &b[len + 2..];
        }
        cmds.push(cmd);
    }
    Ok(cmds)
}

/// SPOP's SREMs name random members: each must be one the step's replies
/// returned, and it is then compared as `SREM key *`.
fn normalise(mut cmds: Vec<Vec<Vec<u8>>>, replies: &[String], spop: bool) -> Result<Vec<Vec<Vec<u8>>>, String> {
    if !spop {
        return Ok(cmds);
    }
    for c in cmds.iter_mut().filter(|c| c.len() == 3 && c[0].eq_ignore_ascii_case(b"SREM")) {
        let m = String::from_utf8_lossy(&c[2]).into_owned();
        let bulk = format!("${}\r\n{m}\r\n", m.len());
        if !replies.iter().any(|r| r.contains(&bulk)) {
            return Err(format!("SREM of {m}, which no reply returned"));
        }
        c[2] = b"*".to_vec();
    }
    Ok(cmds)
}

/// A millisecond time near the run's start: its offset from it.
fn time_offset(a: &[u8], base: i64) -> Option<i64> {
    if a.len() != 13 || !a.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v: i64 = std::str::from_utf8(a).ok()?.parse().ok()?;
    let d = v - base;
    (-86_400_000..=86_400_000).contains(&d).then_some(d)
}

/// Two arguments agree: equal, or both times (or stream IDs made of times)
/// at the same offset from their run's start, within a tolerance.
fn same_arg(a: &[u8], ab: i64, b: &[u8], bb: i64) -> bool {
    if a == b {
        return true;
    }
    let split = |x: &[u8]| match x.iter().position(|&c| c == b'-') {
        Some(p) => (x[..p].to_vec(), true),
        None => (x.to_vec(), false),
    };
    let ((ta, ida), (tb, idb)) = (split(a), split(b));
    if ida != idb {
        return false;
    }
    match (time_offset(&ta, ab), time_offset(&tb, bb)) {
        // (Stream IDs made of a time: the sequence may differ too.)
        (Some(x), Some(y)) => (x - y).abs() <= 1500,
        _ => false,
    }
}

fn show(cmds: &[Vec<Vec<u8>>]) -> String {
    let mut s = String::new();
    for c in cmds {
        let words: Vec<String> = c.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        s.push_str(&format!("\n        {}", words.join(" ")));
    }
    if s.is_empty() {
        s.push_str(" (nothing)");
    }
    s
}

/// Compares two runs step by step; returns the differences.
fn compare(ours: &(Vec<Step>, i64), theirs: &(Vec<Step>, i64)) -> Vec<String> {
    let mut failures = Vec::new();
    for (a, b) in ours.0.iter().zip(&theirs.0) {
        if a.skip {
            continue;
        }
        let spop = a.text.to_ascii_uppercase().contains("SPOP");
        let parsed = |s: &Step| parse(&s.aof).and_then(|c| normalise(c, &s.replies, spop));
        let (ca, cb) = match (parsed(a), parsed(b)) {
            (Ok(x), Ok(y)) => (x, y),
            (x, y) => {
                failures.push(format!("`{}`: bad AOF fragment: {:?} / {:?}", a.text, x.err(), y.err()));
                continue;
            }
        };
        let same = ca.len() == cb.len()
            && ca
                .iter()
                .zip(&cb)
                .all(|(x, y)| x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_arg(p, ours.1, q, theirs.1)));
        if std::env::var("PROP_SHOW").is_ok() {
            eprintln!("`{}`\n    hematite:{}\n    redis:{}", a.text, show(&ca), show(&cb));
        }
        if !same {
            failures.push(format!(
                "`{}`\n    hematite:{}\n      replies {:?}\n    redis:{}\n      replies {:?}",
                a.text,
                show(&ca),
                a.replies,
                show(&cb),
                b.replies
            ));
        }
    }
    failures
}

fn reference(var: &str) -> Option<String> {
    if var == "REDIS_SERVER" {
        return crate::diff::reference_bin();
    }
    std::env::var(var).ok()
}

/// Runs `script` on Hematite and on the reference named by `var` (with a
/// MIGRATE target each), and fails on any difference of their AOFs.
fn differential(var: &str, script: &str) {
    let Some(bin) = reference(var) else {
        if var == "REDIS_SERVER" {
            assert!(
                std::env::var("HEMATITE_SKIP_DIFF").is_ok(),
                "redis-server is needed (HEMATITE_SKIP_DIFF=1 to skip)"
            );
        }
        eprintln!("propagation test against {var} skipped");
        return;
    };
    let ours = env!("CARGO_BIN_EXE_hematite-server");
    let tag = var.to_ascii_lowercase();
    let (r, a, h, b) = std::thread::scope(|s| {
        let r = s.spawn(|| spawn(&bin, &format!("{tag}-ref"), AOF));
        let a = s.spawn(|| spawn(&bin, &format!("{tag}-ref-target"), &["--appendonly", "no"]));
        let h = s.spawn(|| spawn(ours, &format!("{tag}-ours"), AOF));
        let b = s.spawn(|| spawn(ours, &format!("{tag}-ours-target"), &["--appendonly", "no"]));
        (r.join().unwrap(), a.join().unwrap(), h.join().unwrap(), b.join().unwrap())
    });
    if std::env::var("PROP_TRACE").is_ok() {
        eprintln!("reference on {}, hematite on {}", r.port, h.port);
    }
    let (theirs, ours) = std::thread::scope(|s| {
        let t = s.spawn(|| run(&r, script, a.port));
        let o = s.spawn(|| run(&h, script, b.port));
        (t.join().unwrap(), o.join().unwrap())
    });
    let failures = compare(&ours, &theirs);
    assert!(failures.is_empty(), "{} of {} steps differ:\n{}", failures.len(), ours.0.len(), failures.join("\n"));
}

#[test]
fn aof_matches_redis() {
    differential("REDIS_SERVER", SCRIPT);
}

#[test]
fn aof_matches_redis74_hash_field_expiry() {
    differential("REDIS74_SERVER", SCRIPT74);
}

#[test]
fn fragments_parse_and_compare() {
    let a = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n";
    let cmds = parse(a).unwrap();
    assert_eq!(cmds.len(), 2);
    assert_eq!(cmds[1], vec![b"DEL".to_vec(), b"k".to_vec()]);
    assert!(parse(b"*1\r\n$3\r\nSE").is_err());
    let base = 1_700_000_000_000;
    assert!(same_arg(b"1700000100000", base, b"1700000100900", base + 100));
    assert!(!same_arg(b"1700000100000", base, b"1700000200000", base));
    assert!(same_arg(b"1700000000001-0", base, b"1700000000002-3", base));
    assert!(!same_arg(b"1700000000001-0", base, b"1700000000001", base));
    assert!(!same_arg(b"100", base, b"101", base));
    let srems = vec![
        vec![b"SREM".to_vec(), b"s".to_vec(), b"b".to_vec()],
        vec![b"SREM".to_vec(), b"s".to_vec(), b"a".to_vec()],
    ];
    let replies = ["*2\r\n$1\r\nb\r\n$1\r\na\r\n".to_string()];
    assert_eq!(normalise(srems.clone(), &replies, true).unwrap()[1][2], b"*");
    assert!(normalise(srems.clone(), &replies[..0], true).is_err());
    assert_eq!(normalise(srems, &replies[..0], false).unwrap()[1][2], b"a");
}

/// The commands compared against Redis 7.0.15.
const SCRIPT: &str = r##"
DEBUG SET-ACTIVE-EXPIRE 0
CONFIG SET stream-node-max-entries 2

// ---- strings: SET and its flags
SET s1 v
SET s1 v NX
SET s2 v XX
SET s1 v2 XX GET
SET s1 v3 GET get
SET s1 v4 NX GET
set s1 v5 get xx
SET s3 v EX 100
SET s3 v PX 100000 GET
SET s3 v EXAT 4102444800
SET s3 v PXAT 4102444800123 XX
SET s3 v KEEPTTL
SET s3 v KEEPTTL GET
SET s4 v NX EX 100
SET s4 v NX EX 100
SET s4 v XX PX 5000 GET
SET s5 v EXAT 1
GET s5
SET s3 v EX 0
SET s3 v EX -5
SET s3 v EX abc
SETEX s6 100 v
PSETEX s6 100000 v
setex s6 100 w
SETEX s6 0 v
SETNX s7 v
SETNX s7 v
GETSET s7 w
getset nokey w
GETSET s1 x
GETDEL s7
GETDEL s7
GETDEL nokey2
GETEX s6
GETEX s6 EX 200
GETEX s6 PX 200000
getex s6 EXAT 4102444800
GETEX s6 PXAT 4102444800000
GETEX s6 PERSIST
GETEX s6 PERSIST
GETEX nokey3 EX 10
GETEX s6 PXAT 1
GETEX s1 EXAT 1
MSET a 1 b 2
MSETNX a 1 c 3
MSETNX c 3 d 4
APPEND a x
APPEND newapp x
SETRANGE a 0 ""
SETRANGE nosr 0 ""
SETRANGE a 1 zz
SETRANGE nosr2 2 zz
INCR n
INCRBY n 5
DECR n
DECRBY n 2
INCR a
INCRBYFLOAT f 1.5
incrbyfloat f 10.1
INCRBYFLOAT f 3.0e3
INCRBYFLOAT f abc
SET ft 1 EX 100
INCRBYFLOAT ft 2.5
SETBIT bits 7 1
SETBIT bits 7 1
SETBIT bits 100 0
BITOP OR bdst bits a
BITOP AND bdst2 nokey nokey2
BITFIELD bf SET u8 0 255
BITFIELD bf GET u8 0
BITFIELD bf INCRBY u8 0 10
BITFIELD bf OVERFLOW FAIL INCRBY u8 0 250
BITFIELD_RO bf GET u8 0
APPEND a ""
APPEND noapp ""
RPUSH wrongtype x
SET wrongtype v GET
GETDEL wrongtype
GETEX wrongtype EX 10
INCRBYFLOAT wrongtype 1

// ---- generic
DEL nokey
DEL a b nokey
UNLINK c
UNLINK c
EXPIRE d 100
EXPIRE d 100 NX
EXPIRE d 200 XX
EXPIRE d 50 GT
EXPIRE d 300 gt
PEXPIRE d 400000 LT
PEXPIRE d 4000000 LT
EXPIREAT d 4102444800
PEXPIREAT d 4102444800000
pexpireat d 4102444800001
pexpireat d 4102444800001 XX
expire d 100
EXPIRE nokey 10
PEXPIREAT nokey 4102444800000
EXPIRE d -1
SET e v
PEXPIREAT e 1
SET e v
EXPIREAT e 100
SET e v
PEXPIRE e 0
PERSIST nokey
SET p v EX 100
PERSIST p
PERSIST p
RENAME p p2
RENAME p2 p2
RENAMENX p2 s1
RENAMENX p2 p3
MOVE p3 1
MOVE nokey 1
COPY s1 s1c
COPY s1 s1c
COPY s1 s1c REPLACE
COPY s1 s1c DB 2
SELECT 1
SET x y
EXPIRE x 100
SELECT 0
SWAPDB 0 1
SWAPDB 0 1
// Redis counts SWAPDB of a database with itself as a change (and
// propagates it); Hematite's swapdb (commands/server.rs) does not yet.
SWAPDB 0 0
TOUCH s1
EXISTS s1

// ---- lazy expiry
SET lz1 v PX 1 ;; SET lz2 v PX 1 ;; SET lz3 v PX 1 ;; SET lz4 v PX 1 ;; SET lz5 v PX 1 ;; RPUSH lz6 a ;; PEXPIRE lz6 1 ;; SET lz7 v PX 1 ;; SET lz8 v PX 1 ;; SET lz9 v PX 1
#sleep 20
GET lz1
SET lz2 new
DEL lz3
EXPIRE lz4 100
GETDEL lz5
LPOP lz6
SET lz7 v NX GET
INCR lz8
MULTI ;; GET lz9 ;; SET lz9 w ;; EXEC

// ---- hashes
HSET h f v
HSET h f v
HSET h f v g w
HSETNX h f v
HSETNX h g2 v
HMSET h a 1
HDEL h nofield
HDEL nokey f
HDEL h a
HINCRBY h n 1
HINCRBYFLOAT h fl 1.5
hincrbyfloat h fl 2.25
HINCRBYFLOAT h fl 1e2
HINCRBYFLOAT h f 1
HDEL h f g g2 n fl

// ---- sets
SADD st a b c
SADD st a
SREM st zz
SREM nokey zz
SREM st a
SMOVE st st2 b
SMOVE st st2 zz
SMOVE nokey st2 zz
SMOVE st2 st2 b
SADD one x
SPOP one
SPOP nokey
SPOP nokey 3
SADD sp 1 2 3
SPOP sp 0
SPOP sp 5
SADD sp2 a b c d e f g h i j
SPOP sp2 3
SPOP sp2 1
SADD sp3 1 2 3 4 5 6
SPOP sp3 5
SADD sp4 a b c d e f
SPOP sp4 5
SPOP sp4 1
SRANDMEMBER sp2 2
SADD st x y z
SINTERSTORE dst st st2
SUNIONSTORE dst st st2
SDIFFSTORE dst st st2
SINTERSTORE dst st nokey
SINTERSTORE dst st nokey
SUNIONSTORE dst nokey nokey2

// ---- lists
RPUSH l a b c d e f g h i j k l m n o p
LPUSHX nol a
RPUSHX l q
LPOP l
RPOP l 2
LPOP nol
LPOP nol 2
LPOP l 0
LSET l 0 A
LINSERT l BEFORE nopivot x
LINSERT l AFTER A x
LINSERT nol AFTER A x
LREM l 0 nomatch
LREM l 1 x
LTRIM l 0 -1
LTRIM l 0 100
LTRIM nol 0 1
LTRIM l 1 -1
LMOVE l l2 LEFT RIGHT
RPOPLPUSH l l2
LMOVE nol l2 left left
LMOVE l l LEFT RIGHT
LMPOP 2 nol l LEFT COUNT 2
lmpop 1 l right
LMPOP 1 l2 RIGHT COUNT 100
LMPOP 1 nol RIGHT
BLPOP nol l 0
BRPOP l 0
BLMPOP 0 1 l left count 2
BLMOVE l l2 left RIGHT 0
BRPOPLPUSH l l2 0
BLPOP nol 0.01
MULTI ;; BLPOP nol 0 ;; EXEC
MULTI ;; RPUSH m a ;; LPOP m ;; EXEC
MULTI ;; RPUSH m a ;; BLPOP m 0 ;; EXEC
@1& BLPOP bk 0
RPUSH bk x ;; @1?
@1& BRPOP bk0 bk1 0
RPUSH bk1 x y ;; @1?
@1& BLMOVE bk2 dst LEFT RIGHT 0
RPUSH bk2 x ;; @1?
@1& BRPOPLPUSH bk3 dst 0
RPUSH bk3 x ;; @1?
@1& BLMPOP 0 2 bk4 bk5 RIGHT COUNT 5
RPUSH bk5 a b ;; @1?
@1& BLMPOP 0 1 bk6 LEFT
RPUSH bk6 a b ;; @1?
@1& BLPOP bk7 0 ;; @2& BLPOP bk7 0
RPUSH bk7 a b c ;; @1? ;; @2?
@1& BLPOP bk8 0
MULTI ;; RPUSH bk8 a ;; RPUSH bk8 b ;; EXEC ;; @1?

// ---- sorted sets
ZADD z 1 a 2 b 3 c 4 d 5 e 6 f 7 g 8 h 9 i 10 j 11 k 12 l
ZADD z 1 a
ZADD z XX 5 nomember
ZADD z NX 9 a
ZADD z GT 0 b
ZADD z INCR 1 a
ZINCRBY z 1 a
ZREM z nomember
ZREM nokey a
ZREMRANGEBYSCORE z 100 200
ZREMRANGEBYRANK nokey 0 1
ZREMRANGEBYLEX z [x [y
ZPOPMIN z
ZPOPMAX z 1
ZPOPMIN nokey
ZPOPMIN z 0
ZPOPMAX nokey 2
ZMPOP 2 noz z MIN COUNT 2
zmpop 1 z max
ZMPOP 1 noz MAX
BZPOPMIN z 0
bzpopmax noz z 0
BZMPOP 0 1 z MAX COUNT 2
BZMPOP 0 1 z MIN COUNT 100
@1& BZPOPMIN bz 0
ZADD bz 1 a 2 b ;; @1?
@1& BZMPOP 0 1 bz2 MIN COUNT 3
ZADD bz2 1 a 2 b ;; @1?
@1& BZPOPMAX bz3 bz4 0
ZADD bz4 1 a ;; @1?
ZADD zs 1 a 2 b 3 c
ZRANGESTORE zd zs 0 1
ZRANGESTORE zd zs 5 6
ZRANGESTORE zd zs 5 6
ZUNIONSTORE zd 2 zs nokey
ZINTERSTORE zd 2 zs nokey
ZDIFFSTORE zd 1 zs

// ---- hyperloglog
PFADD hll a b c
PFADD hll a
PFADD hll
PFADD hll2
PFCOUNT hll
PFCOUNT hll hll2
PFMERGE hll3 hll hll2

// ---- geo
GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
GEOADD g 13.361389 38.115556 Palermo
geoadd g NX 13.361389 38.115556 Palermo 12.5 41.9 Rome
GEOADD g XX CH 13.5 38.1 Palermo
GEORADIUS g 15 37 200 km STORE gdst
GEORADIUS g 15 37 200 km STOREDIST gdst2
GEORADIUSBYMEMBER g Palermo 300 km STORE gdst3
GEOSEARCHSTORE gdst4 g FROMLONLAT 15 37 BYRADIUS 200 km
GEOSEARCHSTORE gdst4 g FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST
GEORADIUS g 0 0 1 km STORE gdst
GEORADIUS g 0 0 1 km STORE gdst
GEOSEARCHSTORE gdst5 g FROMLONLAT 0 0 BYRADIUS 1 km

// ---- streams
XADD x 1-1 f v
XADD x 2-* f v
XADD x * f v
XADD x 1-0 f v
XADD x MAXLEN ~ 1 * f v
XADD x MAXLEN = 3 * f v
XADD x MAXLEN 4 * f v
XADD x MINID ~ 0 * f v
XADD x NOMKSTREAM * f v
XADD nox NOMKSTREAM * f v
XADD nox2 0-0 f v
XADD x 0 f v
XADD xt 1-1 a 1 ;; XADD xt 2-1 a 1 ;; XADD xt 3-1 a 1 ;; XADD xt 4-1 a 1 ;; XADD xt 5-1 a 1 ;; XADD xt 6-1 a 1 ;; XADD xt 7-1 a 1
XTRIM xt MAXLEN 100
XTRIM xt MAXLEN ~ 100
XTRIM xt MAXLEN ~ 4
XTRIM xt MINID ~ 5-0
XTRIM xt MAXLEN 1
XTRIM nox MAXLEN 1
XADD xt MAXLEN ~ 0 LIMIT 1 8-1 a 1
XADD xt MINID ~ 100 9-1 a 1
XDEL xt 9-1
XDEL xt 99-0
XADD xg 1-0 a 1 ;; XADD xg 2-0 b 2 ;; XADD xg 3-0 c 3 ;; XADD xg 4-0 d 4
XGROUP CREATE xg g 0
XGROUP CREATE xg g 0
XGROUP CREATE noxg g $ MKSTREAM
XGROUP CREATE noxg2 g $
XGROUP CREATE noxg g2 $ MKSTREAM
XGROUP SETID noxg g2 $
XGROUP CREATECONSUMER xg g c1
XGROUP CREATECONSUMER xg g c1
XGROUP SETID xg g 0
XGROUP SETID xg g 0 ENTRIESREAD 0
XREADGROUP GROUP g alice COUNT 2 STREAMS xg >
XREADGROUP GROUP g alice STREAMS xg >
XREADGROUP GROUP g alice STREAMS xg >
XREADGROUP GROUP g alice STREAMS xg 0
XREADGROUP GROUP g carol STREAMS xg 0
XGROUP SETID xg g 0
XREADGROUP GROUP g bob NOACK COUNT 1 STREAMS xg >
XREADGROUP GROUP g bob NOACK STREAMS xg >
XACK xg g 1-0
XACK xg g 1-0 99-0
XACK xg nog 1-0
XCLAIM xg g bob 0 2-0 TIME 1000 RETRYCOUNT 5
XCLAIM xg g bob 0 2-0 JUSTID
XCLAIM xg g dave 0 3-0 4-0 IDLE 0
XCLAIM xg g bob 0 99-0
XCLAIM xg g bob 0 99-0 LASTID 99-0
XCLAIM xg g bob 0 2-0 FORCE JUSTID
XAUTOCLAIM xg g dave 0 0-0 COUNT 1
XAUTOCLAIM xg g dave 0 0-0 JUSTID
XDEL xg 3-0
XAUTOCLAIM xg g erin 0 0-0
XCLAIM xg g bob 0 4-0 FORCE
XREADGROUP GROUP g zoe STREAMS xg 0
XGROUP SETID xg g 0
XREADGROUP GROUP g zoe STREAMS xg >
XDEL xg 4-0
XCLAIM xg g bob 0 4-0 2-0
XREADGROUP GROUP g zoe STREAMS xg 0
XADD xg2 1-0 a 1 ;; XADD xg2 2-0 b 2 ;; XGROUP CREATE xg2 g 0
XREADGROUP GROUP g multi COUNT 1 STREAMS xg xg2 > >
XREADGROUP GROUP g multi2 NOACK STREAMS xg xg2 > >
XSETID xg 999-0
XSETID xg 999-0 ENTRIESADDED 10 MAXDELETEDID 3-0
XGROUP DELCONSUMER xg g dave
XGROUP DELCONSUMER xg g nobody
XGROUP DESTROY xg g
XGROUP DESTROY xg g
XGROUP CREATE bx g2 $ MKSTREAM
@1& XREADGROUP GROUP g2 eve BLOCK 0 STREAMS bx >
XADD bx 1-0 f v ;; @1?
@1& XREADGROUP GROUP g2 frank NOACK BLOCK 0 STREAMS bx >
XADD bx 2-0 f v ;; @1?
@1& XREAD BLOCK 0 STREAMS bx $
XADD bx 3-0 f v ;; @1?

// ---- sort, dump/restore, migrate
RPUSH sl 3 1 2
SORT sl STORE sdst
SORT nokey STORE sdst
SORT nokey STORE sdst
SORT sl
SORT_RO sl
RESTORE r1 0 $HELLO
RESTORE r1 0 $HELLO
RESTORE r2 100000 $HELLO
RESTORE r2 100000 $HELLO REPLACE ABSTTL
RESTORE r3 4102444800000 $HELLO ABSTTL
RESTORE r3 1 $HELLO ABSTTL REPLACE
RESTORE r4 1 $HELLO ABSTTL
RESTORE r5 100000 $HELLO IDLETIME 10
SET m1 v ;; SET m2 v ;; SET m3 v
MIGRATE 127.0.0.1 $MPORT m1 0 5000
MIGRATE 127.0.0.1 $MPORT "" 0 5000 KEYS m2 nokey m3
MIGRATE 127.0.0.1 $MPORT nokey 0 5000
SET m4 v
MIGRATE 127.0.0.1 $MPORT m4 0 5000 COPY
MIGRATE 127.0.0.1 $MPORT m4 0 5000 COPY REPLACE

// ---- lazyfree settings: deletions propagated as UNLINK
CONFIG SET lazyfree-lazy-user-del yes
CONFIG SET lazyfree-lazy-expire yes
SET lf1 v ;; SET lf2 v ;; SET lf3 v ;; SET lf4 v ;; SET lf5 v PX 1
GETDEL lf1
EXPIRE lf2 -1
GETEX lf3 PXAT 1
RESTORE lf4 1 $HELLO ABSTTL REPLACE
DEL lf4
#sleep 20
GET lf5
CONFIG SET lazyfree-lazy-user-del no
CONFIG SET lazyfree-lazy-expire no

// ---- scripts, transactions, functions, pub/sub
EVAL "return redis.call('set', KEYS[1], 'v', 'EX', 100)" 1 e1
EVAL "redis.call('set', KEYS[1], 'v') return redis.call('incrbyfloat', KEYS[1] .. 'f', '1.5')" 1 e2
EVAL "return redis.call('get', KEYS[1])" 1 e2
EVAL "return redis.call('spop', KEYS[1])" 1 nokey
EVAL "redis.call('sadd', KEYS[1], 'a') return redis.call('spop', KEYS[1])" 1 e3
EVAL "redis.call('rpush', KEYS[1], 'a', 'b') return redis.call('blpop', KEYS[1], 0)" 1 e4
EVAL "return redis.call('expire', KEYS[1], 100)" 1 e1
EVAL "return redis.call('del', KEYS[1])" 1 nokey
EVAL "redis.call('sadd', KEYS[1], 'a', 'b', 'c') return redis.call('spop', KEYS[1], 3)" 1 e5
EVAL "redis.call('sadd', KEYS[1], 'a', 'b', 'c', 'd', 'e', 'f') return redis.call('spop', KEYS[1], 2)" 1 e6
EVAL "return redis.call('zadd', KEYS[1], 1, 'a')" 1 e7
EVAL "return redis.call('bzpopmin', KEYS[1], 0)" 1 e7
EVAL "redis.call('set', KEYS[1], 'v', 'PX', 1) return redis.call('getex', KEYS[1], 'PERSIST')" 1 e8
EVAL "redis.set_repl(redis.REPL_NONE) redis.call('set', KEYS[1], 'v') redis.set_repl(redis.REPL_ALL) return redis.call('incrbyfloat', KEYS[1], 1)" 1 e9
SCRIPT LOAD "return 1"
SCRIPT FLUSH
MULTI ;; SET t1 v EX 100 ;; GETDEL t1 ;; EXEC
MULTI ;; SADD t4 a b c d e f g ;; SPOP t4 2 ;; SPOP t4 ;; EXEC
MULTI ;; SELECT 3 ;; SET t5 v EX 100 ;; SELECT 0 ;; EXEC
MULTI ;; GET s1 ;; EXEC
MULTI ;; SET t2 v ;; EXEC
MULTI ;; DEL nokey ;; SET t3 v ;; EXEC
FUNCTION LOAD "#!lua name=plib\nredis.register_function('pf', function(keys, args) return redis.call('set', keys[1], 'v', 'PX', 100000) end)"
FCALL pf 1 fc1
FCALL_RO pf 0
FUNCTION DELETE plib
FUNCTION DELETE plib
FUNCTION FLUSH
PUBLISH chan msg
SPUBLISH chan msg
FLUSHDB
FLUSHDB
FLUSHALL
FLUSHALL
SET last v
"##;

/// Hash field expiry, compared against Redis 7.4.
const SCRIPT74: &str = r#"
DEBUG SET-ACTIVE-EXPIRE 0
HSET h a 1 b 2 c 3 d 4 e 5
HEXPIRE h 100 FIELDS 1 a
HEXPIRE h 100 NX FIELDS 1 a
HEXPIRE h 200 XX FIELDS 2 a b
HPEXPIRE h 100000 FIELDS 2 b c
HEXPIREAT h 4102444800 FIELDS 1 c
HPEXPIREAT h 4102444800000 FIELDS 2 c nofield
hpexpireat h 4102444800000 GT FIELDS 2 nofield c
HPEXPIREAT h 4102444800000 FIELDS 1 nofield
HEXPIRE nokey 100 FIELDS 1 a
HEXPIRE h 0 FIELDS 1 d
HPEXPIREAT h 1 FIELDS 2 e nofield
HPERSIST h FIELDS 2 a nofield
HPERSIST h FIELDS 1 a
HSET h4 a 1
HPEXPIREAT h4 1 FIELDS 1 a
HSET h3 g w n 1
HINCRBYFLOAT h3 g 1
HINCRBYFLOAT h3 n 1.5
HEXPIRE h3 100 FIELDS 1 n
// Redis 7.4 propagates HSET, which a replay takes as dropping the field's
// TTL; Hematite propagates HSETEX KEEPTTL, as Redis 8 does.
~ HINCRBYFLOAT h3 n 1.5
// A field found expired on access is deleted and propagated as HDEL,
// before the command (which, a read, is not propagated), as Redis 7.4.
HSET h2 f v
HPEXPIRE h2 1 FIELDS 1 f
#sleep 20
HGET h2 f
SET last v
"#;
