//! MEMORY USAGE / PURGE / MALLOC-STATS / HELP.
//!
//! MEMORY USAGE is an estimate, as it is in Redis: the bytes of the key, of
//! its keyspace entry and of the value. A collection's elements are sampled
//! (the first `SAMPLES` of them, 5 by default, 0 meaning all): their average
//! size times the element count, plus a per-element overhead that depends on
//! the encoding (a few bytes in a compact encoding, an entry and an object
//! header in a hash table or skiplist). The figures are ours, not Redis's
//! allocator sizes, so a value compares only with other Hematite values.
//!
//! The allocator is the system one (INFO reports `mem_allocator:libc`), so
//! PURGE has nothing to do and MALLOC-STATS has no report, as with a Redis
//! built without jemalloc. MEMORY STATS and DOCTOR are not provided.

use super::Cmd;
use crate::args::{is, Args};
use crate::cmdspec::table as t;
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::storage::{Str, Value};
use types::set::Member;

pub static COMMANDS: &[Cmd] = &[
    Cmd::new(&t::MEMORY_USAGE, usage),
    Cmd::new(&t::MEMORY_PURGE, purge),
    Cmd::new(&t::MEMORY_MALLOC_STATS, malloc_stats),
    Cmd::new(&t::MEMORY_HELP, help),
];

/// Samples taken when no SAMPLES option is given (Redis's default).
const DEFAULT_SAMPLES: usize = 5;
/// An object header (type, encoding, LRU, refcount, pointer).
const OBJ: usize = 16;
/// A hash-table entry (key, value, next pointers).
const ENTRY: usize = 24;
/// A string header (length and allocation fields).
const STR_HDR: usize = 3;
/// Per-element bookkeeping in a compact encoding (length prefix and back length).
const PACKED: usize = 2;

/// MEMORY USAGE key [SAMPLES count]
fn usage(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let mut samples = DEFAULT_SAMPLES;
    while !args.is_empty() {
        let a = args.next_bytes()?;
        if !is(a, "samples") || args.is_empty() {
            return Err(CmdError::Syntax);
        }
        let n = args.next_i64()?;
        if n < 0 {
            return Err(CmdError::Syntax);
        }
        samples = if n == 0 { usize::MAX } else { n as usize };
    }
    // Redis looks the key up without expiring it (nor counting a hit).
    let size = ctx.raw_db(key)?.get_mut(key).map(|e| value_size(&e.value, samples));
    match size {
        Some(n) => ctx.out.int((n + key.len() + STR_HDR + ENTRY) as i64),
        None => ctx.out.null(),
    }
    Ok(())
}

/// Average element size over the first `samples` sizes, times `len`.
fn sampled(sizes: impl Iterator<Item = usize>, samples: usize, len: usize) -> usize {
    let (mut n, mut sum) = (0usize, 0usize);
    for s in sizes.take(samples) {
        n += 1;
        sum += s;
    }
    sum.saturating_mul(len).checked_div(n).unwrap_or(0)
}

/// Per-element overhead of an encoding.
fn per_element(encoding: &str, table_extra: usize) -> usize {
    match encoding {
        "hashtable" | "skiplist" => ENTRY + table_extra,
        _ => PACKED,
    }
}

/// Estimated bytes of a value (its object header included).
fn value_size(v: &Value, samples: usize) -> usize {
    let body = match v {
        Value::Str(Str::Int(_)) => 0,
        Value::Str(s) => s.len() + STR_HDR,
        // The chunks' real bytes (compressed ones at their compressed
        // size) and an allocator header each: sampling elements would miss
        // the compression.
        Value::List(l) => l.heap_bytes() + l.chunk_count() * 16,
        Value::Hash(h) => {
            let over = per_element(h.encoding(), 2 * (OBJ + STR_HDR));
            sampled(h.pair_sizes(), samples, h.len()) + h.len() * over
        }
        Value::Set(s) => {
            let size = |m: Member<'_>| match m {
                Member::Int(_) => 8,
                Member::Bytes(b) => b.len(),
            };
            let over = if s.encoding() == "intset" { 0 } else { per_element(s.encoding(), STR_HDR) };
            sampled(s.iter().map(size), samples, s.len()) + s.len() * over
        }
        Value::ZSet(z) => {
            // A skiplist node holds the score and its level pointers too.
            let over = per_element(z.encoding(), STR_HDR + 8 + 32);
            sampled(z.iter().map(|(m, _)| m.len() + 8), samples, z.len()) + z.len() * over
        }
        Value::Stream(s) => {
            let mut sizes = Vec::new();
            let cap = samples.min(s.len as usize);
            s.range(types::stream::StreamId::ZERO, types::stream::StreamId::MAX, false, |e| {
                sizes.push(16 + e.fields.iter().map(|(f, v)| f.len() + v.len() + 2 * PACKED).sum::<usize>());
                sizes.len() < cap
            });
            let groups: usize = s
                .groups
                .iter()
                .map(|(name, g)| {
                    let consumers: usize = g.consumers.iter().map(|(n, c)| n.len() + 64 + c.pel.len() * 24).sum();
                    name.len() + 64 + g.pel.len() * 48 + consumers
                })
                .sum();
            sampled(sizes.into_iter(), usize::MAX, s.len as usize) + s.node_count() * 64 + groups
        }
    };
    OBJ + body
}

/// MEMORY PURGE
fn purge(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    // The system allocator keeps no dirty pages of its own to release.
    ctx.out.ok();
    Ok(())
}

/// MEMORY MALLOC-STATS
fn malloc_stats(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    ctx.out.verbatim("txt", "Stats not supported for the current allocator");
    Ok(())
}

/// MEMORY HELP
fn help(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    super::generic::reply_help(
        ctx,
        &[
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_scales_the_average() {
        assert_eq!(sampled([10, 20].into_iter(), 5, 100), 1500);
        assert_eq!(sampled([10, 20, 1000].into_iter(), 2, 3), 45);
        assert_eq!(sampled(std::iter::empty(), 5, 0), 0);
    }

    #[test]
    fn bigger_values_are_bigger() {
        let small = Value::Str(Str::from_bytes(b"abc"));
        let big = Value::Str(Str::from_bytes(&[b'x'; 1000]));
        assert!(value_size(&big, 5) > value_size(&small, 5) + 900);
        assert_eq!(value_size(&Value::Str(Str::from_bytes(b"12")), 5), OBJ);
    }
}
