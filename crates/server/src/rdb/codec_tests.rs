//! Round trips of the value codec, against payloads captured from
//! redis-server 7.0.15 (`DUMP k` after the commands shown), old encodings
//! built by hand, and a robustness loop over corrupted payloads.

use super::*;
use crate::storage::Value;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// (commands run on redis-server 7.0.15, DUMP k in hex, our DUMP after
/// RESTORE is byte-identical).
const CAPTURED: &[(&str, &str, bool)] = &[
    ("SET k hello", "000568656c6c6f0a006372df766534200a", true),
    ("SET k -70000", "00c290eefeff0a002875de7b13eb2800", true),
    (
        "RPUSH k a 1 b -5000 300000 99999999999 hello",
        "120102292900000007008161020101816202f178ec03f2e0930404f4ffe7764817000000098568656c6c6f06ff0a008aae76fe63968e63",
        true,
    ),
    ("SADD k 1 2 3 -70000", "0b18040000000400000090eefeff0100000002000000030000000a00a8b63c622cbf2c9c", true),
    ("SADD k x", "020101780a00ffe880ba760c2f09", true),
    ("HSET k f v n 12", "1012120000000400816602817602816e020c01ff0a0001369481d35b8974", true),
    // hash-max-listpack-entries 1: a hash table (Redis's order n, f).
    ("HSET k f v n 12", "0402016ec00c016601760a0051a96948d7aef981", false),
    (
        "ZADD k 1 a 2.5 b -0 c 1e20 d inf e",
        "112b2b0000000a008163020001816102010181620283322e35048164028531652b32300681650283696e6604ff0a00cea14116350b845b",
        true,
    ),
    // zset-max-listpack-entries 1: a skiplist, greatest first.
    ("ZADD k 1 a 2.5 b", "0502016200000000000004400161000000000000f03f0a00f46eb73919767291", false),
    (
        "XADD k 1-1 a 1 b 2; XADD k 2-1 a 3 b 4; XADD k 3-0 c 5; XDEL k 2-1; XGROUP CREATE k g 0; \
         XREADGROUP GROUP g alice COUNT 2 STREAMS k >; XGROUP CREATECONSUMER k g bob",
        "130110000000000000000100000000000000013d3d0000001900020101010201816102816202000102010001000101010201050103010101000103010401050100010201dfff02010181630205010601ff02030001010201030101670300030200000000000000010000000000000001dc6dc616a20100000100000000000000030000000000000000dc6dc616a2010000010205616c696365dc6dc616a201000002000000000000000100000000000000010000000000000003000000000000000003626f62dc6dc616a2010000000a00bcd6f9b915502edc",
        true,
    ),
];

fn restore(p: &[u8]) -> Option<Value> {
    load(unseal(p)?, &LoadConfig::default())
}

fn list_items(v: &Value) -> Vec<Vec<u8>> {
    let Value::List(l) = v else { panic!("not a list") };
    let mut c = l.iter();
    let mut out = Vec::new();
    while let Some(e) = c.next() {
        out.push(e.to_vec());
    }
    out
}

fn hash_pairs(v: &Value) -> Vec<(Vec<u8>, Vec<u8>)> {
    let Value::Hash(h) = v else { panic!("not a hash") };
    let mut out = Vec::new();
    h.for_each(|f, v| out.push((f.to_vec(), v.to_vec())));
    out.sort();
    out
}

fn zset_items(v: &Value) -> Vec<(Vec<u8>, f64)> {
    let Value::ZSet(z) = v else { panic!("not a zset") };
    z.iter().map(|(m, s)| (m.to_vec(), s)).collect()
}

/// A deterministic, fast generator (xorshift64).
fn xorshift(mut x: u64) -> impl FnMut() -> u64 {
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

#[test]
fn captured_payloads_round_trip() {
    for (cmds, h, identical) in CAPTURED {
        let p = hex(h);
        let v = restore(&p).unwrap_or_else(|| panic!("{cmds}: refused"));
        let again = dump(&v);
        if *identical {
            assert_eq!(again, p, "{cmds}");
        }
        // Whatever the bytes, a second round trip gives the same value.
        let v2 = restore(&again).unwrap();
        assert_eq!(dump(&v2), again, "{cmds}");
    }
}

#[test]
fn captured_payloads_contents() {
    let v = restore(&hex(CAPTURED[2].1)).unwrap();
    assert_eq!(list_items(&v), ["a", "1", "b", "-5000", "300000", "99999999999", "hello"].map(b));
    let v = restore(&hex(CAPTURED[3].1)).unwrap();
    let Value::Set(s) = &v else { panic!() };
    assert_eq!((s.len(), s.encoding(), s.contains(b"-70000")), (4, "intset", true));
    let v = restore(&hex(CAPTURED[6].1)).unwrap();
    assert_eq!(hash_pairs(&v), vec![(b("f"), b("v")), (b("n"), b("12"))]);
    let v = restore(&hex(CAPTURED[7].1)).unwrap();
    let z = zset_items(&v);
    assert_eq!(z.iter().map(|x| x.1).collect::<Vec<_>>(), vec![0.0, 1.0, 2.5, 1e20, f64::INFINITY]);
    let v = restore(&hex(CAPTURED[8].1)).unwrap();
    assert_eq!(zset_items(&v), vec![(b("a"), 1.0), (b("b"), 2.5)]);
    let v = restore(&hex(CAPTURED[9].1)).unwrap();
    let Value::Stream(s) = &v else { panic!() };
    assert_eq!((s.len, s.groups.len(), s.max_deleted.ms, s.entries_added), (2, 1, 2, 3));
    let g = &s.groups[&b"g"[..]];
    assert_eq!((g.pel.len(), g.consumers.len()), (2, 2));
}

#[test]
fn large_values_round_trip() {
    // A list past one node, a table set, a table hash, a skiplist zset.
    let mut l = types::list::List::new(-2);
    for i in 0..5000 {
        l.push_back(format!("element-{i}").as_bytes());
    }
    let v = restore(&dump(&Value::List(Box::new(l)))).unwrap();
    let items = list_items(&v);
    assert_eq!(items.len(), 5000);
    assert_eq!(items[4321], b("element-4321"));
    let mut h = types::hash::Hash::new();
    let lim = LoadConfig::default().hash;
    for i in 0..300 {
        h.set(format!("f{i}").as_bytes(), format!("v{i}").as_bytes(), lim);
    }
    let v = restore(&dump(&Value::Hash(h))).unwrap();
    let Value::Hash(h2) = &v else { panic!() };
    assert_eq!((h2.len(), h2.encoding()), (300, "hashtable"));
    let mut z = types::zset::ZSet::new_skip();
    for i in 0..300 {
        z.insert(format!("m{i}").as_bytes(), i as f64 / 3.0, LoadConfig::default().zset);
    }
    let v = restore(&dump(&Value::ZSet(Box::new(z)))).unwrap();
    let zs = zset_items(&v);
    assert_eq!((zs.len(), zs[299].1), (300, 299.0 / 3.0));
}

/// A ziplist of `items` (strings; canonical integers as 16-bit ints).
fn ziplist(items: &[&str]) -> Vec<u8> {
    let mut z = vec![0u8; 10];
    let (mut prev, mut last) = (0usize, 10usize);
    for it in items {
        let start = z.len();
        last = start;
        z.push(prev as u8);
        match it.parse::<i16>() {
            Ok(n) if n.to_string() == *it => {
                z.push(0xC0);
                z.extend_from_slice(&n.to_le_bytes());
            }
            _ => {
                z.push(it.len() as u8);
                z.extend_from_slice(it.as_bytes());
            }
        }
        prev = z.len() - start;
    }
    z.push(0xFF);
    let n = z.len() as u32;
    z[..4].copy_from_slice(&n.to_le_bytes());
    z[4..8].copy_from_slice(&(last as u32).to_le_bytes());
    z[8..10].copy_from_slice(&(items.len() as u16).to_le_bytes());
    z
}

fn payload(t: u8, body: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut p = vec![t];
    body(&mut p);
    seal(p)
}

#[test]
fn old_encodings() {
    let zl = ziplist(&["a", "300", "b"]);
    let v = restore(&payload(ty::LIST_ZIPLIST, |p| write_string(p, &zl))).unwrap();
    assert_eq!(list_items(&v), ["a", "300", "b"].map(b));
    let v = restore(&payload(ty::LIST_QUICKLIST, |p| {
        write_len(p, 2);
        write_string(p, &zl);
        write_string(p, &ziplist(&["c"]));
    }))
    .unwrap();
    assert_eq!(list_items(&v), ["a", "300", "b", "c"].map(b));
    let v = restore(&payload(ty::LIST, |p| {
        write_len(p, 2);
        write_string(p, b"x");
        write_string(p, b"12");
    }))
    .unwrap();
    assert_eq!(list_items(&v), ["x", "12"].map(b));
    let hz = ziplist(&["f", "1", "g", "two"]);
    let v = restore(&payload(ty::HASH_ZIPLIST, |p| write_string(p, &hz))).unwrap();
    assert_eq!(hash_pairs(&v), vec![(b("f"), b("1")), (b("g"), b("two"))]);
    let zz = ziplist(&["m", "5", "n", "1.5"]);
    let v = restore(&payload(ty::ZSET_ZIPLIST, |p| write_string(p, &zz))).unwrap();
    assert_eq!(zset_items(&v), vec![(b("n"), 1.5), (b("m"), 5.0)]);
    let v = restore(&payload(ty::ZSET, |p| {
        write_len(p, 2);
        write_string(p, b"a");
        p.extend_from_slice(b"\x031.5");
        write_string(p, b"b");
        p.push(254);
    }))
    .unwrap();
    assert_eq!(zset_items(&v), vec![(b("a"), 1.5), (b("b"), f64::INFINITY)]);
    let zm = b"\x02\x03foo\x03\x00bar\x01k\x02\x01vvX\xff";
    let v = restore(&payload(ty::HASH_ZIPMAP, |p| write_string(p, zm))).unwrap();
    assert_eq!(hash_pairs(&v), vec![(b("foo"), b("bar")), (b("k"), b("vv"))]);
}

#[test]
fn invalid_contents_refused() {
    let bad: Vec<Vec<u8>> = vec![
        // Unknown type, module type.
        payload(42, |_| {}),
        payload(7, |p| write_len(p, 1)),
        // Empty collections.
        payload(ty::LIST, |p| write_len(p, 0)),
        payload(ty::SET, |p| write_len(p, 0)),
        payload(ty::LIST_QUICKLIST_2, |p| {
            write_len(p, 1);
            write_len(p, 2);
            write_string(p, &listpack::Writer::new().finish());
        }),
        // Duplicates.
        payload(ty::SET, |p| {
            write_len(p, 2);
            write_string(p, b"a");
            write_string(p, b"a");
        }),
        payload(ty::SET, |p| {
            write_len(p, 2);
            write_string(p, b"1");
            write_string(p, b"1");
        }),
        payload(ty::HASH_ZIPLIST, |p| write_string(p, &ziplist(&["f", "1", "f", "2"]))),
        payload(ty::HASH_ZIPLIST, |p| write_string(p, &ziplist(&["f", "1", "g"]))),
        payload(ty::ZSET_ZIPLIST, |p| write_string(p, &ziplist(&["m", "1", "m", "2"]))),
        payload(ty::ZSET_ZIPLIST, |p| write_string(p, &ziplist(&["m", "x"]))),
        // NaN scores.
        payload(ty::ZSET_2, |p| {
            write_len(p, 1);
            write_string(p, b"m");
            p.extend_from_slice(&f64::NAN.to_le_bytes());
        }),
        payload(ty::ZSET, |p| {
            write_len(p, 1);
            write_string(p, b"m");
            p.push(253);
        }),
        // Unsorted intset, bad container.
        payload(ty::SET_INTSET, |p| write_string(p, &listpack::write_intset(2, 2, [2, 1].into_iter()))),
        payload(ty::LIST_QUICKLIST_2, |p| {
            write_len(p, 1);
            write_len(p, 3);
            write_string(p, b"x");
        }),
        // A huge count with nothing after it.
        payload(ty::HASH, |p| write_len(p, u64::MAX)),
    ];
    for (i, p) in bad.iter().enumerate() {
        assert!(restore(p).is_none(), "case {i}");
    }
}

/// A stream payload with its listpack rebuilt from (flags, ms, seq) entries.
fn stream_payload(entries: &[(i64, i64, i64)], len: u64) -> Vec<u8> {
    payload(ty::STREAM_LISTPACKS_2, |p| {
        write_len(p, 1);
        write_string(p, &encode::id_key(types::stream::StreamId::new(1, 0)));
        let mut w = listpack::Writer::new();
        w.push_int(entries.iter().filter(|e| e.0 & 1 == 0).count() as i64);
        w.push_int(entries.iter().filter(|e| e.0 & 1 == 1).count() as i64);
        w.push_int(1);
        w.push_str(b"f");
        w.push_int(0);
        for &(flags, ms, seq) in entries {
            w.push_int(flags);
            w.push_int(ms);
            w.push_int(seq);
            w.push_str(b"v");
            w.push_int(4);
        }
        write_string(p, &w.finish());
        write_len(p, len);
        for _ in 0..6 {
            write_len(p, 9);
        }
        write_len(p, 0);
        write_len(p, 0);
    })
}

#[test]
fn stream_checks() {
    let ok = stream_payload(&[(2, 0, 0), (2, 1, 0)], 2);
    let Some(Value::Stream(s)) = restore(&ok) else { panic!("refused") };
    // The first ID is the payload's, as Redis keeps it.
    assert_eq!((s.len, s.first_id.ms, s.last_id.ms), (2, 9, 9));
    // IDs out of order, a wrong length, an unknown flag.
    assert!(restore(&stream_payload(&[(2, 1, 0), (2, 0, 0)], 2)).is_none());
    assert!(restore(&stream_payload(&[(2, 0, 0), (2, 0, 0)], 2)).is_none());
    assert!(restore(&stream_payload(&[(2, 0, 0)], 2)).is_none());
    assert!(restore(&stream_payload(&[(6, 0, 0)], 1)).is_none());
    // A deleted entry counts as deleted.
    let Some(Value::Stream(s)) = restore(&stream_payload(&[(3, 0, 0), (2, 1, 0)], 1)) else { panic!() };
    assert_eq!((s.len, s.node_count()), (1, 1));
}

#[test]
fn corrupted_payloads_never_panic() {
    let mut rnd = xorshift(0x9E37_79B9_7F4A_7C15);
    let cfg = LoadConfig::default();
    let mut seeds: Vec<Vec<u8>> = CAPTURED.iter().map(|c| hex(c.1)).collect();
    seeds.push(payload(ty::HASH_ZIPLIST, |p| write_string(p, &ziplist(&["f", "1", "g", "two"]))));
    seeds.push(payload(ty::LIST_QUICKLIST, |p| {
        write_len(p, 1);
        write_string(p, &ziplist(&["a", "300"]));
    }));
    seeds.push(payload(ty::HASH_ZIPMAP, |p| write_string(p, b"\x02\x03foo\x03\x00bar\x01k\x02\x01vvX\xff")));
    let mut accepted = 0;
    for round in 0..4000 {
        let seed = &seeds[round % seeds.len()];
        let Some(body) = unseal(seed) else { panic!("seed {round} invalid") };
        let mut b = body.to_vec();
        match rnd() % 4 {
            0 => b.truncate(rnd() as usize % b.len()),
            1 => {
                for _ in 0..1 + rnd() % 3 {
                    let i = rnd() as usize % b.len();
                    b[i] = rnd() as u8;
                }
            }
            2 => {
                let i = rnd() as usize % b.len();
                b[i] ^= 1 << (rnd() % 8);
            }
            _ => {
                let i = rnd() as usize % b.len();
                b.insert(i, rnd() as u8);
            }
        }
        if let Some(v) = load(&b, &cfg) {
            accepted += 1;
            // Whatever was accepted is a valid value that dumps and reloads.
            let again = dump(&v);
            assert!(restore(&again).is_some());
        }
    }
    assert!(accepted < 4000);
}

/// Strings that probe the integer-or-string choices and every length form.
fn sample(rnd: &mut impl FnMut() -> u64) -> Vec<u8> {
    const EDGE: &[&str] = &[
        "",
        "0",
        "-0",
        "007",
        "+1",
        " 1",
        "127",
        "128",
        "-1",
        "4095",
        "4096",
        "-4096",
        "-4097",
        "32767",
        "32768",
        "-32768",
        "8388607",
        "8388608",
        "-8388608",
        "2147483647",
        "2147483648",
        "-2147483649",
        "9223372036854775807",
        "-9223372036854775808",
        "9223372036854775808",
        "1.5",
        "inf",
        "nan",
    ];
    match rnd() % 5 {
        0 | 1 => EDGE[rnd() as usize % EDGE.len()].as_bytes().to_vec(),
        2 => (rnd() as i64 >> (rnd() % 64)).to_string().into_bytes(),
        3 => {
            let n = [1, 20, 21, 63, 64, 100, 4095, 4096, 5000][rnd() as usize % 9];
            let c = b'a' + (rnd() % 3) as u8;
            (0..n).map(|i| if i % 7 == 0 { c } else { b'x' }).collect()
        }
        _ => (0..rnd() % 30).map(|_| rnd() as u8).collect(),
    }
}

#[test]
fn random_values_round_trip() {
    let mut rnd = xorshift(0x2545_F491_4F6C_DD1D);
    let cfg = LoadConfig::default();
    for round in 0..300 {
        let n = 1 + [3, 10, 200, 700][round % 4] * (rnd() % 2 + 1) as usize / 2;
        let mut elems: Vec<Vec<u8>> = (0..n).map(|_| sample(&mut rnd)).collect();
        let v = match round % 5 {
            0 => {
                let mut l = types::list::List::new(cfg.list_fill);
                elems.iter().for_each(|e| l.push_back(e));
                Value::List(Box::new(l))
            }
            1 => {
                let mut h = types::hash::Hash::new();
                elems.iter().for_each(|e| {
                    h.set(e, &sample(&mut rnd), cfg.hash);
                });
                Value::Hash(h)
            }
            2 => {
                let mut s = types::set::Set::for_member(&elems[0]);
                elems.iter().for_each(|e| {
                    s.add(e, cfg.max_intset);
                });
                Value::Set(Box::new(s))
            }
            3 => {
                let mut z = types::zset::ZSet::new_pack();
                for e in &elems {
                    let score = match rnd() % 4 {
                        0 => (rnd() as i64 >> (rnd() % 64)) as f64,
                        1 => f64::from_bits(rnd()),
                        2 => [0.0, -0.0, f64::INFINITY, f64::NEG_INFINITY, 1e17, 4.611686018427388e18]
                            [rnd() as usize % 6],
                        _ => (rnd() % 1000) as f64 / 8.0,
                    };
                    if !score.is_nan() {
                        z.insert(e, score, cfg.zset);
                    }
                }
                Value::ZSet(Box::new(z))
            }
            _ => {
                elems.truncate(1);
                Value::Str(crate::storage::Str::from_bytes(&elems[0]))
            }
        };
        let p = dump(&v);
        let back = restore(&p).unwrap_or_else(|| panic!("round {round}: refused"));
        // Same contents, and the second dump is the first (our encodings
        // are deterministic for a value built the same way).
        assert_eq!(dump(&back), p, "round {round}");
        match (&v, &back) {
            (Value::List(_), Value::List(_)) => assert_eq!(list_items(&v), list_items(&back)),
            (Value::Hash(_), Value::Hash(_)) => assert_eq!(hash_pairs(&v), hash_pairs(&back)),
            (Value::ZSet(_), Value::ZSet(_)) => {
                let (a, b) = (zset_items(&v), zset_items(&back));
                assert_eq!(a.len(), b.len());
                // -0 is stored as 0 in a listpack, as Redis does.
                assert!(a.iter().zip(&b).all(|(p, q)| p.0 == q.0 && p.1 == q.1));
            }
            (Value::Set(a), Value::Set(b)) => {
                assert_eq!(a.len(), b.len());
                assert!(a.iter().all(|m| b.contains(&m.to_vec())));
            }
            (Value::Str(a), Value::Str(b)) => assert_eq!(a.to_vec(), b.to_vec()),
            _ => panic!("round {round}: type changed"),
        }
    }
}

#[test]
fn random_streams_round_trip() {
    use types::stream::{Group, NodeLimits, Stream, StreamId};
    let mut rnd = xorshift(0x1234_5678_9ABC_DEF1);
    for round in 0..40 {
        let mut s = Stream::new();
        let lim = NodeLimits { max_bytes: [0, 200, 4096][round % 3], max_entries: [0, 3, 100][round % 3] };
        let mut ms = 1 + rnd() % 1000;
        let mut ids = Vec::new();
        for _ in 0..1 + rnd() % 300 {
            ms += rnd() % 3;
            let id = StreamId::new(ms, rnd() % 4);
            if id <= s.last_id {
                continue;
            }
            let (f1, v1, v2) = (sample(&mut rnd), sample(&mut rnd), sample(&mut rnd));
            let fields: Vec<(&[u8], &[u8])> =
                if rnd().is_multiple_of(3) { vec![(&f1, &v1)] } else { vec![(b"a", &v1), (b"b", &v2)] };
            s.append(id, &fields, lim);
            ids.push(id);
        }
        for id in &ids {
            if rnd().is_multiple_of(4) {
                s.delete(*id);
            }
        }
        let mut g = Group::new(StreamId::new(ms, 0), 7);
        g.create_consumer(b"alice", 3);
        for id in ids.iter().take(5) {
            g.assign(*id, b"alice", 1000, 2);
        }
        g.create_consumer(b"bob", 5);
        s.groups.insert(Box::from(&b"g"[..]), g);
        let p = dump(&Value::Stream(Box::new(s)));
        let back = restore(&p).unwrap_or_else(|| panic!("round {round}: refused"));
        assert_eq!(dump(&back), p, "round {round}");
    }
}

/// Captured from Redis 7.4.1: `HSET h f v g w`, `HPEXPIREAT h 1900000000000
/// FIELDS 1 f` with the default thresholds (a listpack) and with
/// hash-max-listpack-entries 1 (a hash table); `SET s hello`.
const HASH_TTL_74: &str =
    "190038d360ba0100001f1f0000000600816602817602f40038d360ba010000098167028177020001ff0c0047213e0ec5e83a4d";
const HASH_TTL_TABLE_74: &str = "180038d360ba01000002000167017701016601760c007fd37eace87d239e";
const STRING_74: &str = "000568656c6c6f0c00a804ebb69f1ebe43";

#[test]
fn hash_field_ttls_as_redis_74() {
    use types::hash::FieldTtl;
    let p = hex(HASH_TTL_74);
    let v = restore(&p).unwrap();
    assert_eq!(dump(&v), p);
    for h in [HASH_TTL_74, HASH_TTL_TABLE_74] {
        let Some(Value::Hash(h)) = restore(&hex(h)) else { panic!("refused") };
        assert!(matches!(h.ttl(b"f"), FieldTtl::At(1_900_000_000_000)));
        assert!(matches!(h.ttl(b"g"), FieldTtl::Persistent));
        assert_eq!(h.len(), 2);
    }
    // A large hash with TTLs goes out as HASH_METADATA and comes back.
    let cfg = LoadConfig::default();
    let mut h = types::hash::Hash::new();
    for i in 0..300 {
        h.set(format!("f{i}").as_bytes(), b"v", cfg.hash);
        if i % 3 == 0 {
            h.set_ttl(format!("f{i}").as_bytes(), 1_900_000_000_000 + i);
        }
    }
    let p = dump(&Value::Hash(h));
    assert_eq!(p[0], ty::HASH_METADATA);
    let Some(Value::Hash(back)) = restore(&p) else { panic!("refused") };
    assert!(matches!(back.ttl(b"f297"), FieldTtl::At(1_900_000_000_297)));
    assert!(matches!(back.ttl(b"f298"), FieldTtl::Persistent));
    // Equal and distinct TTLs keep the payload's (7.4's) order.
    let mut h = types::hash::Hash::new();
    for (i, t) in [5, 3, 5, 0, 3, 9].iter().enumerate() {
        h.set(format!("f{i}").as_bytes(), b"v", cfg.hash);
        if *t > 0 {
            h.set_ttl(format!("f{i}").as_bytes(), 1_900_000_000_000 + t);
        }
    }
    let p = dump(&Value::Hash(h));
    assert_eq!(p[0], ty::HASH_LISTPACK_EX);
    assert_eq!(dump(&restore(&p).unwrap()), p);
    // Other 7.4 payloads stay refused, as Redis 7.0 refuses them.
    assert!(restore(&hex(STRING_74)).is_none());
}

#[test]
fn stream_old_format() {
    // STREAM_LISTPACKS (before 7.0): no first / max-deleted IDs, no entries
    // added, no group read counters.
    let p = payload(ty::STREAM_LISTPACKS, |p| {
        write_len(p, 1);
        write_string(p, &encode::id_key(types::stream::StreamId::new(5, 0)));
        let mut w = listpack::Writer::new();
        for v in [2, 0, 1] {
            w.push_int(v);
        }
        w.push_str(b"f");
        w.push_int(0);
        for ms in [0, 1] {
            for v in [2, ms, 0] {
                w.push_int(v);
            }
            w.push_str(b"v");
            w.push_int(4);
        }
        write_string(p, &w.finish());
        write_len(p, 2);
        write_len(p, 6);
        write_len(p, 0);
        write_len(p, 1);
        write_string(p, b"g");
        write_len(p, 6);
        write_len(p, 0);
        write_len(p, 0);
        write_len(p, 0);
    });
    let Some(Value::Stream(s)) = restore(&p) else { panic!("refused") };
    assert_eq!((s.len, s.entries_added, s.first_id.ms, s.last_id.ms), (2, 2, 5, 6));
    assert_eq!(s.groups[&b"g"[..]].entries_read, 2);
    // It comes back in the current format.
    assert_eq!(dump(&Value::Stream(s))[0], ty::STREAM_LISTPACKS_2);
}
