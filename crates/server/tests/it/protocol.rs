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
