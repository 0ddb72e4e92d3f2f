//! The differential suite: every script in tests/diff is replayed against
//! redis-server 7.0.15 and Hematite, and the replies are compared byte for byte.
//!
//! Script lines are commands in redis-cli syntax. Prefixes:
//! * `@sort CMD`: compare the elements of an array reply as a multiset
//!   (commands whose order Redis leaves unspecified).
//! * `@skip CMD`: send to both, compare nothing (non-deterministic replies).
//! * `@docs CMD`: a COMMAND DOCS reply, compared with the prose masked in
//!   both (summaries, history texts and replacement notes are ours) and
//!   commands in name order (see `docmask`); everything else byte for byte.
//! * `@diverge <reason> | CMD`: a known difference, written down: the test
//!   fails if the replies are equal (so fixed divergences get noticed).
//! * `@redis74 ...` at the top of a file: compare with Redis 7.4 (the
//!   redis-stack reference) instead, for commands 7.0 lacks; skipped unless
//!   `REDIS74_SERVER` names that binary.
//! Each script starts on fresh connections after FLUSHALL.
//!
//! The reference comes from `REDIS_SERVER` or `redis-server` on PATH. Without
//! it the suite fails, unless `HEMATITE_SKIP_DIFF=1` says to skip it.

use crate::common::*;
use crate::docmask::mask_docs;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RefServer {
    child: Child,
    pub port: u16,
}

impl Drop for RefServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn start_ref(bin: &str) -> RefServer {
    let port = free_port();
    let child = Command::new(bin)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .args(["--daemonize", "no", "--enable-debug-command", "yes"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t0.elapsed() < Duration::from_secs(20), "reference server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    RefServer { child, port }
}

pub fn reference_bin() -> Option<String> {
    if let Ok(b) = std::env::var("REDIS_SERVER") {
        return Some(b);
    }
    let ok = Command::new("redis-server").arg("--version").stdout(Stdio::null()).status().map(|s| s.success());
    ok.unwrap_or(false).then(|| "redis-server".to_string())
}

fn scripts() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/diff");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/diff")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().map(|e| e == "redis").unwrap_or(false))
        .collect();
    v.sort();
    v
}

pub fn sorted_elements(frame: &[u8]) -> Vec<u8> {
    match elements(frame) {
        Some((head, mut els)) => {
            els.sort();
            let mut v = head;
            for e in els {
                v.extend_from_slice(&e);
            }
            v
        }
        None => frame.to_vec(),
    }
}

fn show(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    let s = s.replace("\r\n", "\\r\\n");
    if s.len() > 300 {
        format!("{}...", s.chars().take(300).collect::<String>())
    } else {
        s
    }
}

/// `a` from a little before its first difference with `b`, so long replies
/// (COMMAND DOCS) show where they differ.
pub fn from_difference(a: &[u8], b: &[u8]) -> Vec<u8> {
    let first = a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
    if first < 200 {
        return a.to_vec();
    }
    let mut v = b"...".to_vec();
    v.extend_from_slice(&a[first - 100..]);
    v
}

fn run_script(path: &PathBuf, text: &str, ours: std::net::SocketAddr, theirs: u16, failures: &mut Vec<String>) {
    let reset = |addr: std::net::SocketAddr| {
        let mut r = Raw::connect(addr);
        r.cmd("FLUSHALL");
    };
    reset(ours);
    reset(format!("127.0.0.1:{theirs}").parse().unwrap());
    let mut a = Raw::connect(ours);
    let mut b = Raw::connect(format!("127.0.0.1:{theirs}").parse().unwrap());
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    for (n, raw_line) in text.lines().enumerate() {
        let line = raw_line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("@redis74") {
            continue;
        }
        let (mode, cmd) = if let Some(rest) = line.strip_prefix("@sort ") {
            ("sort", rest.to_string())
        } else if let Some(rest) = line.strip_prefix("@docs ") {
            ("docs", rest.to_string())
        } else if let Some(rest) = line.strip_prefix("@skip ") {
            ("skip", rest.to_string())
        } else if let Some(rest) = line.strip_prefix("@diverge ") {
            let (_, c) = rest.split_once(" | ").expect("@diverge reason | CMD");
            ("diverge", c.to_string())
        } else {
            ("exact", line.to_string())
        };
        let args = split(&cmd);
        let refs: Vec<&[u8]> = args.iter().map(|x| x.as_slice()).collect();
        a.send_cmd(&refs);
        b.send_cmd(&refs);
        let (ra, rb) = (a.read_reply(), b.read_reply());
        let (ca, cb) = match mode {
            "sort" => (sorted_elements(&ra), sorted_elements(&rb)),
            "docs" => (mask_docs(&ra), mask_docs(&rb)),
            "skip" => continue,
            _ => (ra.clone(), rb.clone()),
        };
        let same = ca == cb;
        if mode == "diverge" && same {
            failures
                .push(format!("{name}:{}: `{cmd}` was a known divergence but now matches; remove the @diverge", n + 1));
        } else if mode != "diverge" && !same {
            failures.push(format!(
                "{name}:{}: `{cmd}`\n    hematite: {}\n    redis:    {}",
                n + 1,
                show(&from_difference(&ca, &cb)),
                show(&from_difference(&cb, &ca))
            ));
        }
    }
}

#[test]
fn differential_against_redis() {
    let Some(bin) = reference_bin() else {
        if std::env::var("HEMATITE_SKIP_DIFF").as_deref() == Ok("1") {
            eprintln!("differential suite skipped: no redis-server");
            return;
        }
        panic!("redis-server not found: install it (apt-get install redis-server) or set HEMATITE_SKIP_DIFF=1");
    };
    let refsrv = start_ref(&bin);
    let r74 = std::env::var("REDIS74_SERVER").ok().map(|b| start_ref(&b));
    let t = TestServer::with(&[("enable-debug-command", "yes")]);
    let mut failures = Vec::new();
    let mut count = 0;
    for path in scripts() {
        let text = std::fs::read_to_string(&path).unwrap();
        let port = if text.lines().any(|l| l.trim().starts_with("@redis74")) {
            match &r74 {
                Some(r) => r.port,
                None => continue,
            }
        } else {
            refsrv.port
        };
        run_script(&path, &text, t.addr, port, &mut failures);
        count += 1;
    }
    assert!(count > 0, "no differential scripts ran");
    assert!(failures.is_empty(), "{} differences:\n{}", failures.len(), failures.join("\n"));
}
