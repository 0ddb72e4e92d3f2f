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

#[test]
fn every_command_on_a_multi_chunk_list() {
    // Two entries per chunk, so every edit crosses chunk boundaries.
    let t = TestServer::with(&[("list-max-listpack-size", "2")]);
    let mut r = t.raw();
    assert_eq!(r.cmd("RPUSH l 0 1 2 3 4 5 6 7 8 9"), ":10\r\n");
    assert_eq!(r.cmd("LINDEX l 7"), "$1\r\n7\r\n");
    assert_eq!(r.cmd("LINDEX l -3"), "$1\r\n7\r\n");
    assert_eq!(r.cmd("LSET l 5 five"), "+OK\r\n");
    assert_eq!(r.cmd("LINSERT l AFTER five 5b"), ":11\r\n");
    assert_eq!(r.cmd("LINSERT l BEFORE 0 -1"), ":12\r\n");
    assert_eq!(r.cmd("LRANGE l 4 8"), "*5\r\n$1\r\n3\r\n$1\r\n4\r\n$4\r\nfive\r\n$2\r\n5b\r\n$1\r\n6\r\n");
    assert_eq!(r.cmd("LPOS l 6"), ":8\r\n");
    assert_eq!(r.cmd("LREM l 0 five"), ":1\r\n");
    assert_eq!(r.cmd("LTRIM l 2 -3"), "+OK\r\n");
    assert_eq!(
        r.cmd("LRANGE l 0 -1"),
        "*7\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$2\r\n5b\r\n$1\r\n6\r\n$1\r\n7\r\n"
    );
    assert_eq!(r.cmd("LMOVE l l RIGHT LEFT"), "$1\r\n7\r\n");
    assert_eq!(r.cmd("LPOP l 3"), "*3\r\n$1\r\n7\r\n$1\r\n1\r\n$1\r\n2\r\n");
    assert_eq!(r.cmd("RPOP l 2"), "*2\r\n$1\r\n6\r\n$2\r\n5b\r\n");
    assert_eq!(r.cmd("LLEN l"), ":2\r\n");
    assert_eq!(r.cmd("TYPE l"), "+list\r\n");
}

/// A deterministic generator (no extra test dependency).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[test]
fn random_commands_match_a_model() {
    use std::collections::VecDeque;
    let t = TestServer::with(&[("list-max-listpack-size", "3")]);
    let mut r = t.raw();
    let mut m: VecDeque<String> = VecDeque::new();
    let mut g = Lcg(42);
    let bulk = |s: &str| format!("${}\r\n{}\r\n", s.len(), s);
    for step in 0..1500 {
        let v = format!("v{}", g.next(6));
        let len = m.len() as i64;
        let idx = g.next(30) as i64 - 15;
        let pos = if idx < 0 { len + idx } else { idx };
        match g.next(10) {
            0 | 1 => {
                assert_eq!(r.cmd(&format!("LPUSH l {v}")), format!(":{}\r\n", len + 1));
                m.push_front(v);
            }
            2 | 3 => {
                assert_eq!(r.cmd(&format!("RPUSH l {v}")), format!(":{}\r\n", len + 1));
                m.push_back(v);
            }
            4 => {
                let want = m.pop_front().map_or("$-1\r\n".to_string(), |x| bulk(&x));
                assert_eq!(r.cmd("LPOP l"), want, "step {step}");
            }
            5 => {
                let ok = (0..len).contains(&pos);
                let want = if ok {
                    "+OK\r\n"
                } else if len == 0 {
                    "-ERR no such key\r\n"
                } else {
                    "-ERR index out of range\r\n"
                };
                assert_eq!(r.cmd(&format!("LSET l {idx} {v}")), want, "step {step}");
                if ok {
                    m[pos as usize] = v;
                }
            }
            6 => {
                let pivot = format!("v{}", g.next(6));
                let after = g.next(2) == 1;
                let got = r.cmd(&format!("LINSERT l {} {pivot} {v}", if after { "AFTER" } else { "BEFORE" }));
                let want = match m.iter().position(|x| *x == pivot) {
                    _ if m.is_empty() => ":0\r\n".to_string(),
                    None => ":-1\r\n".to_string(),
                    Some(p) => {
                        m.insert(p + after as usize, v);
                        format!(":{}\r\n", m.len())
                    }
                };
                assert_eq!(got, want, "step {step}");
            }
            7 => {
                let count = g.next(5) as i64 - 2;
                let mut idx: Vec<usize> = (0..m.len()).filter(|&i| m[i] == v).collect();
                if count < 0 {
                    idx.reverse();
                }
                if count != 0 {
                    idx.truncate(count.unsigned_abs() as usize);
                }
                idx.sort_unstable();
                for &i in idx.iter().rev() {
                    m.remove(i);
                }
                assert_eq!(r.cmd(&format!("LREM l {count} {v}")), format!(":{}\r\n", idx.len()), "step {step}");
            }
            8 => {
                let want = if (0..len).contains(&pos) { bulk(&m[pos as usize]) } else { "$-1\r\n".into() };
                assert_eq!(r.cmd(&format!("LINDEX l {idx}")), want, "step {step}");
            }
            _ => {
                if g.next(8) == 0 {
                    let (s, e) = (g.next(4) as i64, -(g.next(4) as i64) - 1);
                    let (a, b) = ((s.min(len)) as usize, (len + e + 1).max(0) as usize);
                    assert_eq!(r.cmd(&format!("LTRIM l {s} {e}")), "+OK\r\n");
                    m = if a < b { m.range(a..b).cloned().collect() } else { VecDeque::new() };
                }
            }
        }
        let want: String =
            std::iter::once(if m.is_empty() { "*0\r\n".to_string() } else { format!("*{}\r\n", m.len()) })
                .chain(m.iter().map(|x| bulk(x)))
                .collect();
        if step % 25 == 0 || m.len() < 3 {
            assert_eq!(r.cmd("LRANGE l 0 -1"), want, "step {step}");
        }
        assert_eq!(r.cmd("EXISTS l"), format!(":{}\r\n", (!m.is_empty()) as i32));
    }
}

#[test]
fn ttl_survives_pushes_and_goes_with_the_key() {
    let t = TestServer::start();
    let mut r = t.raw();
    r.cmd("RPUSH l a b");
    r.cmd("SET s x");
    // No EXPIRE command on this branch yet: set the TTL on the keyspace.
    {
        let mut locked = t.srv.keyspace.lock_keys([b"l".as_ref()]);
        let now = t.srv.clock.now_ms();
        locked.shard_mut(b"l").unwrap().dbs[0].set_expire(b"l", now + 1000);
    }
    r.cmd("RPUSH l c");
    assert_eq!(r.cmd("LLEN l"), ":3\r\n");
    t.advance_ms(2000);
    assert_eq!(r.cmd("LLEN l"), ":0\r\n");
    assert_eq!(r.cmd("LPUSHX l a"), ":0\r\n");
    assert_eq!(r.cmd("RPOPLPUSH s l"), "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
}

#[test]
fn huge_arguments_do_not_overallocate() {
    let t = TestServer::start();
    let mut r = t.raw();
    r.cmd("RPUSH l a b c");
    assert_eq!(r.cmd("LPOP l 9223372036854775807"), "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n");
    r.cmd("RPUSH l a b c");
    assert_eq!(r.cmd("LRANGE l -9223372036854775808 9223372036854775807"), "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n");
    assert_eq!(
        r.cmd("LPOS l c RANK -9223372036854775807 COUNT 9223372036854775807 MAXLEN 9223372036854775807"),
        "*0\r\n"
    );
    assert_eq!(
        r.cmd("LMPOP 1 l LEFT COUNT 9223372036854775807"),
        "*2\r\n$1\r\nl\r\n*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"
    );
    assert_eq!(r.cmd("LMPOP 9223372036854775807 l LEFT"), "-ERR syntax error\r\n");
    assert_eq!(r.cmd("BLMPOP 0 9223372036854775807 l LEFT"), "-ERR syntax error\r\n");
    assert_eq!(r.cmd("LTRIM l 9223372036854775807 -9223372036854775808"), "+OK\r\n");
}

#[test]
fn remaining_commands_exact_replies() {
    let t = TestServer::start();
    let mut r = t.raw();
    assert_eq!(r.cmd("LPUSHX l a"), ":0\r\n");
    assert_eq!(r.cmd("RPUSHX l a"), ":0\r\n");
    r.cmd("RPUSH l a b a c");
    assert_eq!(r.cmd("LPUSHX l z"), ":5\r\n");
    assert_eq!(r.cmd("RPUSHX l y x"), ":7\r\n");
    assert_eq!(r.cmd("LPOS l a"), ":1\r\n");
    assert_eq!(r.cmd("LPOS l a RANK -1 COUNT 0"), "*2\r\n:3\r\n:1\r\n");
    assert_eq!(r.cmd("LPOS l a MAXLEN 1"), "$-1\r\n");
    assert_eq!(r.cmd("LREM l -1 a"), ":1\r\n");
    assert_eq!(r.cmd("LTRIM l 1 -1"), "+OK\r\n");
    assert_eq!(r.cmd("LMOVE l m RIGHT LEFT"), "$1\r\nx\r\n");
    assert_eq!(r.cmd("RPOPLPUSH l m"), "$1\r\ny\r\n");
    assert_eq!(r.cmd("LRANGE m 0 -1"), "*2\r\n$1\r\ny\r\n$1\r\nx\r\n");
    assert_eq!(r.cmd("LMPOP 2 none l LEFT COUNT 2"), "*2\r\n$1\r\nl\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    assert_eq!(r.cmd("LMPOP 1 l LEFT"), "*2\r\n$1\r\nl\r\n*1\r\n$1\r\nc\r\n");
    assert_eq!(r.cmd("LMPOP 1 l LEFT"), "*-1\r\n");
    assert_eq!(r.cmd("LPOS l a"), "$-1\r\n");
    assert_eq!(r.cmd("RPOPLPUSH l m"), "$-1\r\n");
    r.cmd("HELLO 3");
    assert_eq!(r.cmd("LMPOP 1 l LEFT"), "_\r\n");
    assert_eq!(r.cmd("LPOP l"), "_\r\n");
    assert_eq!(r.cmd("LINDEX m 9"), "_\r\n");
    assert_eq!(r.cmd("LPOS m q COUNT 1"), "*0\r\n");
}
