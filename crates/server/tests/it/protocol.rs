use crate::common::*;

#[test]
fn pipelined_and_inline() {
    let t = TestServer::start();
    let mut r = t.raw();
    r.send(b"PING\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\nGET a\r\n\r\n*1\r\n$4\r\nPING\r\n");
    assert_eq!(r.read_reply(), b"+PONG\r\n");
    assert_eq!(r.read_reply(), b"+OK\r\n");
    assert_eq!(r.read_reply(), b"$1\r\n1\r\n");
    assert_eq!(r.read_reply(), b"+PONG\r\n");
}

#[test]
fn byte_at_a_time() {
    let t = TestServer::start();
    let mut r = t.raw();
    for b in b"*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n" {
        r.send(&[*b]);
    }
    assert_eq!(r.read_reply(), b"$5\r\nhello\r\n");
}

#[test]
fn protocol_errors_close() {
    let t = TestServer::start();
    for (input, err) in [
        (&b"*x\r\n"[..], "-ERR Protocol error: invalid multibulk length\r\n"),
        (b"*1\r\n+a\r\n", "-ERR Protocol error: expected '$', got '+'\r\n"),
        (b"*1\r\n$-5\r\n", "-ERR Protocol error: invalid bulk length\r\n"),
        (b"set \"a\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"),
    ] {
        let mut r = t.raw();
        r.send(input);
        assert_eq!(String::from_utf8_lossy(&r.read_reply()), err);
        assert!(r.is_closed());
    }
    // the server still serves others
    assert_eq!(t.raw().cmd("PING"), "+PONG\r\n");
}

#[test]
fn huge_inline_without_newline_is_cut_off() {
    let t = TestServer::start();
    let mut r = t.raw();
    let chunk = vec![b'a'; 70 * 1024];
    r.send(&chunk);
    assert_eq!(String::from_utf8_lossy(&r.read_reply()), "-ERR Protocol error: too big inline request\r\n");
    assert!(r.is_closed());
}

#[test]
fn huge_multibulk_count_is_harmless() {
    let t = TestServer::start();
    let mut r = t.raw();
    r.send(b"*2000000000\r\n$3\r\nGET\r\n");
    // No reply is due; a second client is served meanwhile.
    assert_eq!(t.raw().cmd("PING"), "+PONG\r\n");
}

/// A client may write a whole pipeline before it reads any reply (redis-py
/// and others do), even when both the requests and the replies are far
/// larger than the sockets' buffers: the server goes on reading while its
/// replies wait to be written, as Redis does with its reply list.
#[test]
fn pipeline_written_before_any_reply_is_read() {
    let t = TestServer::start();
    let mut r = t.raw();
    let value = "v".repeat(1000);
    assert_eq!(r.cmd(&format!("SET k {value}")), "+OK\r\n");
    let n = 200_000;
    let req = encode(&[b"GET", b"k"]).repeat(n);
    let reply = format!("$1000\r\n{value}\r\n");
    let tail = write_then_read(&mut r, &req, n * reply.len(), reply.len() * 2);
    assert!(tail.ends_with(reply.as_bytes()));
    assert_eq!(r.cmd("PING"), "+PONG\r\n");
}

/// Writes `req` whole before reading anything, then reads `want` bytes of
/// replies; returns their last `keep` bytes.
fn write_then_read(r: &mut Raw, req: &[u8], mut want: usize, keep: usize) -> Vec<u8> {
    use std::io::{Read, Write};
    r.s.set_write_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    r.s.write_all(req).expect("the whole pipeline is taken without reading a reply");
    let mut buf = vec![0u8; 1 << 20];
    let mut tail = Vec::new();
    while want > 0 {
        let k = r.s.read(&mut buf).expect("read");
        assert!(k > 0, "closed with {want} bytes of replies missing");
        want -= k.min(want);
        tail.extend_from_slice(&buf[..k]);
        if tail.len() > keep {
            tail.drain(..tail.len() - keep);
        }
    }
    tail
}

/// 50,000 GETs of a 1 KB value, then `middle` (whose replies are
/// `middle_replies`), then a 16 MB SET and a PING, all written before any
/// reply is read: the input after `middle` does not fit the socket buffers,
/// so the replies queued before it must not be waited for while `middle`
/// waits.
fn pipeline_around(t: &TestServer, middle: &[&[&[u8]]], middle_replies: &str) {
    let mut r = t.raw();
    let value = "v".repeat(1000);
    assert_eq!(r.cmd(&format!("SET k {value}")), "+OK\r\n");
    let n = 50_000;
    let mut req = encode(&[b"GET", b"k"]).repeat(n);
    for c in middle {
        req.extend(encode(c));
    }
    let filler = vec![b'f'; 16 << 20];
    req.extend(encode(&[b"SET", b"filler", &filler]));
    req.extend(encode(&[b"PING"]));
    let reply = format!("$1000\r\n{value}\r\n");
    let end = format!("{middle_replies}+OK\r\n+PONG\r\n");
    let tail = write_then_read(&mut r, &req, n * reply.len() + end.len(), 4096);
    assert!(tail.ends_with(format!("{value}\r\n{end}").as_bytes()));
    assert_eq!(r.cmd("STRLEN filler"), format!(":{}\r\n", 16 << 20));
}

/// A blocking command in the middle of such a pipeline: the replies before
/// it stay queued while it waits, and the input after it keeps being taken.
#[test]
fn pipeline_with_a_blocking_command_written_before_any_reply_is_read() {
    let t = TestServer::start();
    pipeline_around(&t, &[&[b"BLPOP", b"nolist", b"0.01"]], "*-1\r\n");
}

/// The same with a command held by CLIENT PAUSE WRITE in the middle.
#[test]
fn pipeline_with_a_paused_command_written_before_any_reply_is_read() {
    let t = TestServer::start();
    assert_eq!(t.raw().cmd("CLIENT PAUSE 1000 WRITE"), "+OK\r\n");
    pipeline_around(&t, &[&[b"SET", b"x", b"1"]], "+OK\r\n");
}

/// Replies waiting for a client that does not read count against the
/// normal class of client-output-buffer-limit: past the hard limit the
/// connection is closed.
#[test]
fn unread_replies_past_the_output_limit_close_the_connection() {
    use std::io::Write;
    let t = TestServer::with(&[("client-output-buffer-limit", "normal 1mb 0 0")]);
    let mut r = t.raw();
    assert_eq!(r.cmd(&format!("SET k {}", "v".repeat(100_000))), "+OK\r\n");
    let req = encode(&[b"GET", b"k"]).repeat(1000);
    r.s.set_write_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    // 100 MB of replies: far past the limit once the socket buffers fill.
    let _ = r.s.write_all(&req);
    let mut other = t.raw();
    wait_for(|| other.cmd("CLIENT LIST").matches("id=").count() == 1);
    let mut n = 0;
    while r.reply_or_closed().is_some() {
        n += 1;
        assert!(n < 1000, "all replies came");
    }
}
