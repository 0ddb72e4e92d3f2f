//! `hematite-load`: a load generator for the request shapes redis-benchmark
//! cannot send (tools/bench.sh runs it against both servers).
//!
//!     hematite-load txn PORT ROUNDS CLIENTS [PIPE]
//!         MULTI, 5 x INCR txn:<i>, EXEC; PIPE transactions per write.
//!     hematite-load xrg PORT ROUNDS CLIENTS
//!         XREADGROUP GROUP g c<k> COUNT 10 STREAMS bench:xs >, then XACK of
//!         the IDs it returned (stream and group made beforehand).
//!     hematite-load cmd PORT REQUESTS CLIENTS PIPE RANGE ARG...
//!         the request shape of redis-benchmark: the command ARG... with
//!         every `__rand_int__` replaced by its own random number below
//!         RANGE, written as 12 digits with leading zeros; PIPE requests per
//!         write. It costs the generator about half of what redis-benchmark
//!         spends per request (no per-request epoll_ctl calls), so at
//!         pipeline 1 the servers rather than the generator set the pace.
//!
//! Prints "<requests per second> <p99 latency in ms>", as
//! tools/bench_load.py does: for txn, transactions per second; for xrg,
//! rounds per second. CLIENTS connections share ROUNDS rounds on one thread
//! (a current-thread runtime; pin it with taskset), each connection sending
//! its round in one write and reading every reply before the next. Replies
//! are parsed completely, so an error reply or a short read is reported and
//! fails the run rather than being counted.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One RESP2 reply.
#[derive(Debug)]
enum Reply {
    Simple,
    Int,
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

/// Parses one reply at the start of `b`: the reply and its length, None if
/// incomplete, an error for an error reply or bad input.
fn parse(b: &[u8]) -> Result<Option<(Reply, usize)>, String> {
    let Some(nl) = b.windows(2).position(|w| w == b"\r\n") else { return Ok(None) };
    let line = &b[1..nl];
    let num = || -> Result<i64, String> {
        std::str::from_utf8(line).ok().and_then(|s| s.parse().ok()).ok_or_else(|| "bad length".to_string())
    };
    let mut at = nl + 2;
    match b.first() {
        Some(b'+') => Ok(Some((Reply::Simple, at))),
        Some(b':') => Ok(Some((Reply::Int, at))),
        Some(b'-') => Err(String::from_utf8_lossy(line).into_owned()),
        Some(b'$') => {
            let n = num()?;
            if n < 0 {
                return Ok(Some((Reply::Bulk(None), at)));
            }
            let end = at + n as usize;
            if b.len() < end + 2 {
                return Ok(None);
            }
            Ok(Some((Reply::Bulk(Some(b[at..end].to_vec())), end + 2)))
        }
        Some(b'*') => {
            let n = num()?;
            if n < 0 {
                return Ok(Some((Reply::Array(None), at)));
            }
            let mut items = Vec::with_capacity(n as usize);
            for _ in 0..n {
                match parse(&b[at..])? {
                    Some((r, used)) => {
                        items.push(r);
                        at += used;
                    }
                    None => return Ok(None),
                }
            }
            Ok(Some((Reply::Array(Some(items)), at)))
        }
        _ => Err(format!("bad reply {:?}", String::from_utf8_lossy(&b[..nl.min(40)]))),
    }
}

/// The length of the reply at the start of `b` without building it: None
/// if incomplete, an error for an error reply or bad input.
fn skip(b: &[u8]) -> Result<Option<usize>, String> {
    let Some(nl) = b.iter().position(|&c| c == b'\n') else { return Ok(None) };
    if nl == 0 || b[nl - 1] != b'\r' {
        return Err("bad line".to_string());
    }
    let line = &b[1..nl - 1];
    let num = || -> Result<i64, String> {
        std::str::from_utf8(line).ok().and_then(|s| s.parse().ok()).ok_or_else(|| "bad length".to_string())
    };
    let mut at = nl + 1;
    match b[0] {
        b'+' | b':' | b',' | b'_' | b'#' | b'(' => Ok(Some(at)),
        b'-' => Err(String::from_utf8_lossy(line).into_owned()),
        b'$' => {
            let n = num()?;
            if n < 0 {
                return Ok(Some(at));
            }
            let end = at + n as usize + 2;
            Ok((b.len() >= end).then_some(end))
        }
        b'*' => {
            let n = num()?;
            for _ in 0..n.max(0) {
                match skip(&b[at..])? {
                    Some(used) => at += used,
                    None => return Ok(None),
                }
            }
            Ok(Some(at))
        }
        _ => Err(format!("bad reply {:?}", String::from_utf8_lossy(&b[..nl.min(40)]))),
    }
}

/// A connection with its input buffer.
struct Conn {
    s: TcpStream,
    buf: Vec<u8>,
    at: usize,
    /// cmd mode: the request buffer, reused, and the random state.
    req: Vec<u8>,
    rng: u64,
}

impl Conn {
    async fn open(port: u16) -> Conn {
        let s = TcpStream::connect(("127.0.0.1", port)).await.unwrap_or_else(|e| fail(&format!("connect: {e}")));
        let _ = s.set_nodelay(true);
        Conn { s, buf: Vec::with_capacity(64 * 1024), at: 0, req: Vec::new(), rng: 0 }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).await.unwrap_or_else(|e| fail(&format!("write: {e}")));
    }

    /// Reads past the next reply without keeping it (an error reply fails
    /// the run, as in `reply`).
    async fn skip(&mut self) {
        loop {
            match skip(&self.buf[self.at..]) {
                Ok(Some(used)) => {
                    self.at += used;
                    if self.at == self.buf.len() {
                        self.buf.clear();
                        self.at = 0;
                    }
                    return;
                }
                Ok(None) => {}
                Err(e) => fail(&format!("reply: {e}")),
            }
            self.fill().await;
        }
    }

    async fn fill(&mut self) {
        if self.at > 0 {
            self.buf.drain(..self.at);
            self.at = 0;
        }
        self.buf.reserve(16 * 1024);
        let n = self.s.read_buf(&mut self.buf).await.unwrap_or_else(|e| fail(&format!("read: {e}")));
        if n == 0 {
            fail("connection closed");
        }
    }

    /// The next reply, reading as much as needed.
    async fn reply(&mut self) -> Reply {
        loop {
            match parse(&self.buf[self.at..]) {
                Ok(Some((r, used))) => {
                    self.at += used;
                    if self.at == self.buf.len() {
                        self.buf.clear();
                        self.at = 0;
                    }
                    return r;
                }
                Ok(None) => {}
                Err(e) => fail(&format!("reply: {e}")),
            }
            self.fill().await;
        }
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("hematite-load: {msg}");
    std::process::exit(1);
}

fn cmd(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// Runs ROUNDS rounds over CLIENTS connections; each round is `one`
/// (given the connection and the client's number). Returns rounds per
/// second and the p99 round latency in milliseconds.
async fn run<F, Fut>(port: u16, rounds: u64, clients: usize, one: F) -> (f64, f64)
where
    F: Fn(Conn, usize) -> Fut + Clone + 'static,
    Fut: std::future::Future<Output = Conn>,
{
    let left = Rc::new(Cell::new(rounds));
    let lat = Rc::new(std::cell::RefCell::new(Vec::with_capacity(rounds as usize)));
    let mut conns = Vec::new();
    for _ in 0..clients {
        conns.push(Conn::open(port).await);
    }
    let t0 = Instant::now();
    let local = tokio::task::LocalSet::new();
    for (k, mut c) in conns.into_iter().enumerate() {
        let (left, lat, one) = (left.clone(), lat.clone(), one.clone());
        local.spawn_local(async move {
            while left.get() > 0 {
                left.set(left.get() - 1);
                let t = Instant::now();
                c = one(c, k).await;
                lat.borrow_mut().push(t.elapsed().as_secs_f64());
            }
        });
    }
    local.await;
    let dt = t0.elapsed().as_secs_f64();
    let mut lat = lat.borrow_mut();
    lat.sort_by(|a, b| a.total_cmp(b));
    let p99 = lat.get((lat.len() * 99 / 100).min(lat.len().saturating_sub(1))).copied().unwrap_or(0.0);
    (rounds as f64 / dt, p99 * 1000.0)
}

fn usage() -> ! {
    fail("usage: hematite-load txn|xrg PORT ROUNDS CLIENTS [PIPE] | cmd PORT REQUESTS CLIENTS PIPE RANGE ARG...")
}

/// The placeholder redis-benchmark replaces in a command's arguments.
const RAND: &[u8] = b"__rand_int__";

/// One command in RESP with room for its random numbers: `bytes` with a
/// 12-byte hole at each of `holes`.
struct Template {
    bytes: Vec<u8>,
    holes: Vec<usize>,
}

impl Template {
    fn new(args: &[&[u8]]) -> Template {
        let mut bytes = format!("*{}\r\n", args.len()).into_bytes();
        let mut holes = Vec::new();
        for a in args {
            bytes.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            let start = bytes.len();
            bytes.extend_from_slice(a);
            let mut i = 0;
            while i + RAND.len() <= a.len() {
                if &a[i..i + RAND.len()] == RAND {
                    holes.push(start + i);
                    i += RAND.len();
                } else {
                    i += 1;
                }
            }
            bytes.extend_from_slice(b"\r\n");
        }
        Template { bytes, holes }
    }

    /// Appends one request to `out`, each hole filled from `rng`.
    fn fill(&self, out: &mut Vec<u8>, rng: &mut u64, range: u64) {
        let at = out.len();
        out.extend_from_slice(&self.bytes);
        for &h in &self.holes {
            let mut n = next(rng) % range.max(1);
            for d in out[at + h..at + h + RAND.len()].iter_mut().rev() {
                *d = b'0' + (n % 10) as u8;
                n /= 10;
            }
        }
    }
}

/// xorshift64*: fast and good enough to spread keys.
fn next(s: &mut u64) -> u64 {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    s.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 5 {
        usage();
    }
    let port: u16 = a[2].parse().unwrap_or_else(|_| usage());
    let rounds: u64 = a[3].parse().unwrap_or_else(|_| usage());
    let clients: usize = a[4].parse().unwrap_or_else(|_| usage());
    let pipe: usize = a.get(5).map(|p| p.parse().unwrap_or_else(|_| usage())).unwrap_or(1).max(1);
    let rt = tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap_or_else(|e| fail(&e.to_string()));
    let (rps, p99) = rt.block_on(async move {
        match a[1].as_str() {
            "txn" => {
                let mut one = Vec::new();
                cmd(&mut one, &[b"MULTI"]);
                for i in 0..5 {
                    cmd(&mut one, &[b"INCR", format!("txn:{i}").as_bytes()]);
                }
                cmd(&mut one, &[b"EXEC"]);
                let batch = Rc::new(one.repeat(pipe));
                let rounds = (rounds / pipe as u64).max(1);
                let (r, l) = run(port, rounds, clients, move |mut c: Conn, _| {
                    let batch = batch.clone();
                    async move {
                        c.send(&batch).await;
                        for _ in 0..pipe {
                            for _ in 0..6 {
                                c.reply().await;
                            }
                            match c.reply().await {
                                Reply::Array(Some(v)) if v.len() == 5 => {}
                                r => fail(&format!("EXEC replied {r:?}")),
                            }
                        }
                        c
                    }
                })
                .await;
                (r * pipe as f64, l)
            }
            "xrg" => {
                run(port, rounds, clients, |mut c: Conn, k| async move {
                    let mut req = Vec::new();
                    let consumer = format!("c{k}");
                    cmd(
                        &mut req,
                        &[
                            b"XREADGROUP",
                            b"GROUP",
                            b"g",
                            consumer.as_bytes(),
                            b"COUNT",
                            b"10",
                            b"STREAMS",
                            b"bench:xs",
                            b">",
                        ],
                    );
                    c.send(&req).await;
                    let ids: Vec<Vec<u8>> = match c.reply().await {
                        Reply::Array(Some(streams)) => streams
                            .into_iter()
                            .flat_map(|s| match s {
                                Reply::Array(Some(mut kv)) if kv.len() == 2 => match kv.pop() {
                                    Some(Reply::Array(Some(entries))) => entries,
                                    _ => Vec::new(),
                                },
                                _ => Vec::new(),
                            })
                            .filter_map(|e| match e {
                                Reply::Array(Some(mut idf)) if !idf.is_empty() => match idf.swap_remove(0) {
                                    Reply::Bulk(Some(id)) => Some(id),
                                    _ => None,
                                },
                                _ => None,
                            })
                            .collect(),
                        _ => Vec::new(),
                    };
                    if !ids.is_empty() {
                        let mut args: Vec<&[u8]> = vec![b"XACK", b"bench:xs", b"g"];
                        args.extend(ids.iter().map(|i| i.as_slice()));
                        req.clear();
                        cmd(&mut req, &args);
                        c.send(&req).await;
                        match c.reply().await {
                            Reply::Int => {}
                            r => fail(&format!("XACK replied {r:?}")),
                        }
                    }
                    c
                })
                .await
            }
            "cmd" => {
                let range: u64 = a.get(6).and_then(|r| r.parse().ok()).unwrap_or_else(|| usage());
                if a.len() < 8 {
                    usage();
                }
                let args: Vec<&[u8]> = a[7..].iter().map(|x| x.as_bytes()).collect();
                let t = Rc::new(Template::new(&args));
                let rounds = (rounds / pipe as u64).max(1);
                let (r, l) = run(port, rounds, clients, move |c: Conn, k| {
                    let t = t.clone();
                    async move {
                        let mut c = c;
                        let mut req = std::mem::take(&mut c.req);
                        req.clear();
                        if c.rng == 0 {
                            c.rng = (k as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                        }
                        for _ in 0..pipe {
                            t.fill(&mut req, &mut c.rng, range);
                        }
                        c.send(&req).await;
                        c.req = req;
                        for _ in 0..pipe {
                            c.skip().await;
                        }
                        c
                    }
                })
                .await;
                (r * pipe as f64, l)
            }
            _ => usage(),
        }
    });
    println!("{rps:.2} {p99:.3}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_replies_and_waits_for_the_rest() {
        let full = b"*2\r\n$3\r\nabc\r\n*1\r\n:5\r\n+OK\r\n";
        let (r, used) = parse(full).unwrap().unwrap();
        assert_eq!(used, full.len() - 5);
        assert!(matches!(r, Reply::Array(Some(ref v)) if v.len() == 2));
        for cut in 0..used {
            assert!(parse(&full[..cut]).unwrap().is_none(), "cut {cut}");
        }
        assert!(matches!(parse(b"$-1\r\n").unwrap(), Some((Reply::Bulk(None), 5))));
        assert!(matches!(parse(b"*-1\r\n").unwrap(), Some((Reply::Array(None), 5))));
        assert_eq!(parse(b"-ERR no\r\n").unwrap_err(), "ERR no");
        assert!(parse(b"?\r\n").is_err());
    }

    #[test]
    fn skips_replies_and_waits_for_the_rest() {
        let full = b"*2\r\n$3\r\nabc\r\n*1\r\n:5\r\n+OK\r\n";
        assert_eq!(skip(full).unwrap(), Some(full.len() - 5));
        for cut in 0..full.len() - 5 {
            assert_eq!(skip(&full[..cut]).unwrap(), None, "cut {cut}");
        }
        assert_eq!(skip(b"$-1\r\n").unwrap(), Some(5));
        assert_eq!(skip(b"-ERR no\r\n").unwrap_err(), "ERR no");
    }

    #[test]
    fn template_fills_each_placeholder_with_its_own_number() {
        let t = Template::new(&[b"SET", b"key:__rand_int__", b"__rand_int__:__rand_int__"]);
        assert_eq!(t.holes.len(), 3);
        let mut out = Vec::new();
        let mut rng = 7;
        t.fill(&mut out, &mut rng, 1000);
        let s = String::from_utf8(out).unwrap();
        let parts: Vec<&str> = s.split("\r\n").collect();
        assert_eq!(parts[0], "*3");
        assert_eq!(parts[3], "$16");
        assert!(parts[4].starts_with("key:000000000"), "{s}");
        let (a, b) = parts[6].split_once(':').unwrap();
        assert_eq!((a.len(), b.len()), (12, 12));
        assert!(a.parse::<u64>().unwrap() < 1000 && b.parse::<u64>().unwrap() < 1000);
        assert_ne!(parts[4][4..].to_string() + a + b, "0".repeat(36));
    }
}
