//! Helpers: start a server, connect with redis-rs, and a raw-bytes client for
//! exact replies.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

pub use hematite::Server;

pub struct TestServer {
    pub addr: SocketAddr,
    pub srv: Arc<Server>,
}

impl TestServer {
    pub fn start() -> TestServer {
        Self::with(&[])
    }

    pub fn with(settings: &[(&str, &str)]) -> TestServer {
        let (addr, srv) = hematite::spawn_for_tests(settings);
        TestServer { addr, srv }
    }

    pub fn client(&self) -> redis::Connection {
        let c = redis::Client::open(format!("redis://{}/", self.addr)).expect("client");
        c.get_connection().expect("connection")
    }

    pub fn raw(&self) -> Raw {
        Raw::connect(self.addr)
    }

    /// Moves the server's clock forward (expiry without sleeping).
    pub fn advance_ms(&self, ms: i64) {
        self.srv.clock.advance_ms(ms);
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.srv.request_shutdown();
    }
}

/// A client speaking raw RESP, for byte-exact checks.
pub struct Raw {
    pub s: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    pub fn connect(addr: SocketAddr) -> Raw {
        let s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.set_nodelay(true).unwrap();
        Raw { s, buf: Vec::new() }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).expect("write");
    }

    /// Sends one command (each argument a bulk string).
    pub fn send_cmd(&mut self, args: &[&[u8]]) {
        self.send(&encode(args));
    }

    /// Reads one complete reply, returned as its exact bytes.
    pub fn read_reply(&mut self) -> Vec<u8> {
        loop {
            if let Some(n) = frame_len(&self.buf) {
                return self.buf.drain(..n).collect();
            }
            let mut tmp = [0u8; 65536];
            let n = self.s.read(&mut tmp).expect("read");
            if n == 0 {
                panic!("connection closed; pending: {:?}", String::from_utf8_lossy(&self.buf));
            }
            self.buf.extend_from_slice(&tmp[..n]);
        }
    }

    /// Sends a command given as a redis-cli style line and reads the reply.
    pub fn cmd(&mut self, line: &str) -> String {
        let args = split(line);
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        self.send_cmd(&refs);
        String::from_utf8_lossy(&self.read_reply()).into_owned()
    }

    /// Like `cmd`, but returns the reply's exact bytes.
    pub fn cmd_bytes(&mut self, line: &str) -> Vec<u8> {
        let args = split(line);
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        self.send_cmd(&refs);
        self.read_reply()
    }

    /// One field of an INFO section.
    pub fn info_field(&mut self, section: &str, field: &str) -> String {
        let info = self.cmd(&format!("INFO {section}"));
        let prefix = format!("{field}:");
        info.split("\r\n").find_map(|l| l.strip_prefix(&prefix)).unwrap_or_else(|| panic!("no {field}")).to_string()
    }

    /// Reads one reply; None if the server closed the connection instead.
    pub fn reply_or_closed(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(n) = frame_len(&self.buf) {
                return Some(self.buf.drain(..n).collect());
            }
            let mut tmp = [0u8; 65536];
            match self.s.read(&mut tmp) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&tmp[..n]),
            }
        }
    }

    /// True if the server closed the connection (reads until EOF).
    pub fn is_closed(&mut self) -> bool {
        let mut tmp = [0u8; 1024];
        loop {
            match self.s.read(&mut tmp) {
                Ok(0) => return true,
                Ok(n) => self.buf.extend_from_slice(&tmp[..n]),
                Err(_) => return false,
            }
        }
    }
}

pub fn split(line: &str) -> Vec<Vec<u8>> {
    resp::parse(format!("{line}\n").as_bytes(), Default::default(), &mut Vec::new())
        .expect("valid line")
        .expect("complete line")
        .inline
        .expect("inline")
}

pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        v.extend_from_slice(a);
        v.extend_from_slice(b"\r\n");
    }
    v
}

fn line_end(b: &[u8], from: usize) -> Option<usize> {
    b[from..].windows(2).position(|w| w == b"\r\n").map(|p| p + from)
}

/// Length of the complete RESP2/RESP3 value at the start of `b`.
pub fn frame_len(b: &[u8]) -> Option<usize> {
    value_end(b, 0)
}

fn value_end(b: &[u8], at: usize) -> Option<usize> {
    if at >= b.len() {
        return None;
    }
    let le = line_end(b, at)?;
    let head = std::str::from_utf8(&b[at + 1..le]).ok()?;
    let after = le + 2;
    match b[at] {
        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => Some(after),
        b'$' | b'=' | b'!' => {
            let n: i64 = head.parse().ok()?;
            if n < 0 {
                return Some(after);
            }
            let end = after + n as usize + 2;
            (b.len() >= end).then_some(end)
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n: i64 = head.parse().ok()?;
            if n < 0 {
                return Some(after);
            }
            let items = if matches!(b[at], b'%' | b'|') { n * 2 } else { n };
            let mut p = after;
            for _ in 0..items {
                p = value_end(b, p)?;
            }
            if b[at] == b'|' {
                // An attribute precedes the real value.
                return value_end(b, p);
            }
            Some(p)
        }
        _ => None,
    }
}

/// The elements of a top-level aggregate reply, each as raw bytes.
pub fn elements(frame: &[u8]) -> Option<(Vec<u8>, Vec<Vec<u8>>)> {
    let le = line_end(frame, 0)?;
    if !matches!(frame[0], b'*' | b'~' | b'%') {
        return None;
    }
    let n: i64 = std::str::from_utf8(&frame[1..le]).ok()?.parse().ok()?;
    if n < 0 {
        return None;
    }
    let items = if frame[0] == b'%' { n * 2 } else { n };
    let mut p = le + 2;
    let mut out = Vec::new();
    for _ in 0..items {
        let e = value_end(frame, p)?;
        out.push(frame[p..e].to_vec());
        p = e;
    }
    Some((frame[..le + 2].to_vec(), out))
}

impl Raw {
    /// Sends a redis-cli style line and returns the raw reply bytes.
    pub fn read_reply_of(&mut self, line: &str) -> Vec<u8> {
        let args = split(line);
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        self.send_cmd(&refs);
        self.read_reply()
    }
}

/// Waits until `cond` holds (the server works asynchronously); no timing
/// is asserted, the bound only keeps a broken build from hanging.
pub fn wait_for(mut cond: impl FnMut() -> bool) {
    for _ in 0..2000 {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("condition never held");
}
