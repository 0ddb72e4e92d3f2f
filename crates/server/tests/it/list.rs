//! List commands over TCP (exact replies, errors, events of emptying).

use crate::common::*;

#[test]
fn push_pop_basics() {
    let t = TestServer::start();
    let mut r = t.raw();
    assert_eq!(r.cmd("RPUSH l a b c"), ":3\r\n");
    assert_eq!(r.cmd("LPUSH l z"), ":4\r\n");
    assert_eq!(r.cmd("LRANGE l 0 -1"), "*4\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n");
    assert_eq!(r.cmd("LPOP l"), "$1\r\nz\r\n");
    assert_eq!(r.cmd("RPOP l 2"), "*2\r\n$1\r\nc\r\n$1\r\nb\r\n");
    assert_eq!(r.cmd("RPOP l 0"), "*0\r\n");
    assert_eq!(r.cmd("LPOP l 5"), "*1\r\n$1\r\na\r\n");
    assert_eq!(r.cmd("EXISTS l"), ":0\r\n");
    assert_eq!(r.cmd("LPOP l"), "$-1\r\n");
    assert_eq!(r.cmd("LPOP l 1"), "*-1\r\n");
    assert_eq!(r.cmd("TYPE l"), "+none\r\n");
}
