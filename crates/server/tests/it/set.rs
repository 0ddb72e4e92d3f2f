//! Set commands: encodings and thresholds, random members and pops, SSCAN
//! over a hashtable, the algebra's stored encodings, type checks.

use crate::common::*;
use crate::hash::encoding;
use std::collections::BTreeSet;

fn q(r: &mut Raw, line: &str) -> String {
    r.cmd(line)
}

fn ints(from: i64, to: i64) -> String {
    (from..to).map(|i| i.to_string()).collect::<Vec<_>>().join(" ")
}

#[test]
fn encodings_follow_thresholds() {
    let t = TestServer::start();
    let mut r = t.raw();
    q(&mut r, &format!("SADD s {}", ints(0, 512)));
    assert_eq!(encoding(&t, "s"), Some("intset"));
    q(&mut r, "SADD s 512");
    assert_eq!(encoding(&t, "s"), Some("hashtable"));
    q(&mut r, "SADD a 1 2 3");
    assert_eq!(encoding(&t, "a"), Some("intset"));
    q(&mut r, "SADD a x");
    assert_eq!(encoding(&t, "a"), Some("hashtable"));
    q(&mut r, "SADD b x 1");
    assert_eq!(encoding(&t, "b"), Some("hashtable"));
    q(&mut r, "SREM b x");
    assert_eq!(encoding(&t, "b"), Some("hashtable"));
    t.srv.config.runtime_set("set-max-intset-entries", "2").unwrap();
    q(&mut r, "SADD c 1 2");
    assert_eq!(encoding(&t, "c"), Some("intset"));
    q(&mut r, "SADD c 3");
    assert_eq!(encoding(&t, "c"), Some("hashtable"));
    // Stored results start as intsets, like Redis's.
    t.srv.config.runtime_set("set-max-intset-entries", "512").unwrap();
    q(&mut r, "SUNIONSTORE d c");
    assert_eq!(encoding(&t, "d"), Some("intset"));
    assert_eq!(q(&mut r, "SMEMBERS d"), "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
    q(&mut r, "SINTERSTORE e a b");
    assert_eq!(encoding(&t, "e"), Some("intset"));
}

#[test]
fn pops_and_random_members() {
    let t = TestServer::start();
    let mut c = t.client();
    let mut r = t.raw();
    for (key, members) in [("small", ints(0, 20)), ("big", ints(0, 2000)), ("str", "a b c d e f g h".to_string())] {
        q(&mut r, &format!("SADD {key} {members}"));
        let n: usize = redis::cmd("SCARD").arg(key).query(&mut c).unwrap();
        let v: Vec<String> = redis::cmd("SRANDMEMBER").arg(key).arg(5).query(&mut c).unwrap();
        assert_eq!(v.iter().collect::<BTreeSet<_>>().len(), 5);
        let v: Vec<String> = redis::cmd("SRANDMEMBER").arg(key).arg(-30).query(&mut c).unwrap();
        assert_eq!(v.len(), 30);
        let v: Vec<String> = redis::cmd("SRANDMEMBER").arg(key).arg(n - 1).query(&mut c).unwrap();
        assert_eq!(v.iter().collect::<BTreeSet<_>>().len(), n - 1);
        // SPOP with a count small and large relative to the size.
        let p: Vec<String> = redis::cmd("SPOP").arg(key).arg(2).query(&mut c).unwrap();
        assert_eq!(p.iter().collect::<BTreeSet<_>>().len(), 2);
        for m in &p {
            let is: i64 = redis::cmd("SISMEMBER").arg(key).arg(m).query(&mut c).unwrap();
            assert_eq!(is, 0);
        }
        let left: usize = redis::cmd("SCARD").arg(key).query(&mut c).unwrap();
        assert_eq!(left, n - 2);
        let p: Vec<String> = redis::cmd("SPOP").arg(key).arg(left - 1).query(&mut c).unwrap();
        assert_eq!(p.iter().collect::<BTreeSet<_>>().len(), left - 1);
        let rest: Vec<String> = redis::cmd("SMEMBERS").arg(key).query(&mut c).unwrap();
        assert_eq!(rest.len(), 1);
        assert!(!p.contains(&rest[0]));
        let last: String = redis::cmd("SPOP").arg(key).query(&mut c).unwrap();
        assert_eq!(last, rest[0]);
        assert_eq!(q(&mut r, &format!("EXISTS {key}")), ":0\r\n");
    }
    q(&mut r, "SADD s 1");
    assert_eq!(q(&mut r, "SRANDMEMBER s -9223372036854775807"), "-ERR value is out of range\r\n");
    assert_eq!(
        q(&mut r, "SRANDMEMBER s -9223372036854775808"),
        "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"
    );
    assert_eq!(q(&mut r, "SRANDMEMBER s 9223372036854775807"), "*1\r\n$1\r\n1\r\n");
    assert_eq!(q(&mut r, "SPOP s 9223372036854775807"), "*1\r\n$1\r\n1\r\n");
    q(&mut r, "HELLO 3");
    q(&mut r, "SADD s 1 2");
    assert_eq!(q(&mut r, "SPOP s 5"), "~2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    assert_eq!(q(&mut r, "SPOP s 5"), "~0\r\n");
}

#[test]
fn sscan_walks_a_hashtable() {
    let t = TestServer::start();
    let mut c = t.client();
    let mut r = t.raw();
    q(&mut r, &format!("SADD s {}", ints(0, 1000)));
    let (mut cursor, mut seen) = (0u64, BTreeSet::new());
    loop {
        let (next, items): (u64, Vec<String>) = redis::cmd("SSCAN").arg("s").arg(cursor).query(&mut c).unwrap();
        seen.extend(items);
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(seen.len(), 1000);
    let (_, items): (u64, Vec<String>) =
        redis::cmd("SSCAN").arg("s").arg(0).arg("MATCH").arg("99?").arg("COUNT").arg(5000).query(&mut c).unwrap();
    assert_eq!(items.len(), 10);
}

#[test]
fn algebra_and_types() {
    let t = TestServer::start();
    let mut r = t.raw();
    q(&mut r, "SADD a 1 2 3 x");
    q(&mut r, "SADD b 2 3 4");
    q(&mut r, "SET str v");
    let wt = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    assert_eq!(q(&mut r, "SINTER nokey str"), wt);
    assert_eq!(q(&mut r, "SUNIONSTORE d a str"), wt);
    assert_eq!(q(&mut r, "SMOVE nokey str 1"), ":0\r\n");
    assert_eq!(q(&mut r, "SMOVE a str 1"), wt);
    assert_eq!(q(&mut r, "SMOVE str a 1"), wt);
    assert_eq!(q(&mut r, "SINTER b a"), "*2\r\n$1\r\n2\r\n$1\r\n3\r\n");
    assert_eq!(q(&mut r, "SINTERCARD 2 a b LIMIT 1"), ":1\r\n");
    assert_eq!(q(&mut r, "SDIFFSTORE d b a"), ":1\r\n");
    assert_eq!(q(&mut r, "SMEMBERS d"), "*1\r\n$1\r\n4\r\n");
    assert_eq!(q(&mut r, "SDIFFSTORE d b b"), ":0\r\n");
    assert_eq!(q(&mut r, "EXISTS d"), ":0\r\n");
    assert_eq!(q(&mut r, "SUNIONSTORE str a"), ":4\r\n");
    assert_eq!(q(&mut r, "TYPE str"), "+set\r\n");
    assert_eq!(q(&mut r, "SMOVE a b x"), ":1\r\n");
    assert_eq!(q(&mut r, "SISMEMBER b x"), ":1\r\n");
    assert_eq!(q(&mut r, "SMOVE b fresh 4"), ":1\r\n");
    assert_eq!(encoding(&t, "fresh"), Some("intset"));
}
