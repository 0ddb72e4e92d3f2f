//! SORT_RO over the wire.

use crate::common::*;

#[test]
fn sort_ro_zsets_and_patterns() {
    let t = TestServer::start();
    let mut r = t.raw();
    r.cmd("ZADD z 1 3 2 1 3 2");
    assert_eq!(r.cmd("SORT_RO z"), "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
    assert_eq!(r.cmd("SORT_RO z BY nosort"), "*3\r\n$1\r\n3\r\n$1\r\n1\r\n$1\r\n2\r\n");
    assert_eq!(r.cmd("SORT_RO z BY nosort DESC LIMIT 0 1"), "*1\r\n$1\r\n2\r\n");
    r.cmd("MSET w_1 30 w_2 20 w_3 10 o_1 one");
    assert_eq!(
        r.cmd("SORT_RO z BY w_* GET # GET o_*"),
        "*6\r\n$1\r\n3\r\n$-1\r\n$1\r\n2\r\n$-1\r\n$1\r\n1\r\n$3\r\none\r\n"
    );
    assert_eq!(r.cmd("SORT_RO z STORE d"), "-ERR syntax error\r\n");
    r.cmd("ZADD a 1 x");
    assert_eq!(r.cmd("SORT_RO a"), "-ERR One or more scores can't be converted into double\r\n");
    assert_eq!(r.cmd("SORT_RO a ALPHA"), "*1\r\n$1\r\nx\r\n");
    r.cmd("SET s v");
    assert_eq!(r.cmd("SORT_RO s"), "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    assert_eq!(r.cmd("SORT_RO nokey"), "*0\r\n");
}
