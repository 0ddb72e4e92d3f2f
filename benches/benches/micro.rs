//! Micro-benchmarks of the hot path below the network: RESP parsing and
//! encoding of a pipelined batch, command-table lookup, and GET/SET run
//! through `dispatch` on an in-process server (no sockets, no runtime).
//!
//! `cargo bench -p hematite-benches` (add `-- --quick` for a short run).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use hematite::client::{Client, ClientInfo};
use hematite::{Config, Server};
use resp::{Limits, Out, Protocol};
use std::sync::Arc;

const BATCH: usize = 16;

/// A pipeline of `BATCH` SET commands with 64-byte values, as a client sends it.
fn set_batch() -> Vec<u8> {
    let val = [b'x'; 64];
    let mut buf = Vec::new();
    for i in 0..BATCH {
        let key = format!("key:{:06}", i * 7919 % 100_000);
        buf.extend_from_slice(format!("*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n$64\r\n", key.len()).as_bytes());
        buf.extend_from_slice(&val);
        buf.extend_from_slice(b"\r\n");
    }
    buf
}

fn bench_resp(c: &mut Criterion) {
    let batch = set_batch();
    let mut g = c.benchmark_group("resp");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("parse_pipeline_16_set", |b| {
        let mut args = Vec::with_capacity(8);
        b.iter(|| {
            let mut pos = 0;
            let mut n = 0;
            while pos < batch.len() {
                args.clear();
                let p = resp::parse(&batch[pos..], Limits::default(), &mut args).unwrap().unwrap();
                pos += p.consumed;
                n += args.len();
            }
            black_box(n)
        })
    });
    g.bench_function("encode_pipeline_16_replies", |b| {
        let val = [b'x'; 64];
        let mut out = Out::new(Protocol::Resp2);
        b.iter(|| {
            out.clear();
            for i in 0..BATCH as i64 {
                match i % 4 {
                    0 => out.ok(),
                    1 => out.bulk(black_box(&val[..])),
                    2 => out.int(black_box(i * 1000)),
                    _ => {
                        out.array(2);
                        out.bulk(b"field");
                        out.null();
                    }
                }
            }
            black_box(out.len())
        })
    });
    g.finish();
}

fn bench_lookup(c: &mut Criterion) {
    let reg = hematite::commands::registry();
    let names: [&[u8]; 8] = [b"get", b"SET", b"incr", b"MSET", b"zrangebyscore", b"XREADGROUP", b"evalsha", b"nosuch"];
    let mut g = c.benchmark_group("lookup");
    g.throughput(Throughput::Elements(names.len() as u64));
    g.bench_function("registry_get_8_names", |b| {
        b.iter(|| names.iter().filter(|n| reg.get(black_box(n)).is_some()).count())
    });
    g.finish();
}

fn new_client(id: u64) -> Client {
    Client::new(Arc::new(ClientInfo::new(id, None, None, 0)), true)
}

fn bench_dispatch(c: &mut Criterion) {
    let srv = Server::new(Config::default());
    let mut client = new_client(1);
    let mut out = Out::new(Protocol::Resp2);
    let keys: Vec<Vec<u8>> = (0..1024).map(|i| format!("key:{i}").into_bytes()).collect();
    let val = vec![b'v'; 64];
    for k in &keys {
        hematite::dispatch::dispatch(&srv, &mut client, &[b"SET", k, &val], &mut out);
    }
    out.clear();
    let mut g = c.benchmark_group("dispatch");
    g.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    g.bench_function("set_64b", |b| {
        b.iter(|| {
            i = (i + 1) & 1023;
            out.clear();
            hematite::dispatch::dispatch(&srv, &mut client, &[b"SET", &keys[i], &val], &mut out);
        })
    });
    g.bench_function("get_hit", |b| {
        b.iter(|| {
            i = (i + 1) & 1023;
            out.clear();
            hematite::dispatch::dispatch(&srv, &mut client, &[b"GET", &keys[i]], &mut out);
        })
    });
    g.bench_function("get_miss", |b| {
        b.iter(|| {
            out.clear();
            hematite::dispatch::dispatch(&srv, &mut client, &[b"GET", b"missing"], &mut out);
        })
    });
    g.finish();
}

criterion_group!(benches, bench_resp, bench_lookup, bench_dispatch);
criterion_main!(benches);
