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
//! built without jemalloc. MEMORY STATS gives Redis's fields with our
//! estimates of the keyspace's structures (`overhead`, also used by INFO
//! memory); MEMORY DOCTOR reports, in its own words, the conditions Redis's
//! checks (peak, fragmentation, client buffers, script cache).

use super::Cmd;
use crate::args::{is, Args};
use crate::cmdspec::table as t;
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::storage::{Str, Value};
use types::set::Member;

pub static COMMANDS: &[Cmd] = &[
    Cmd::new(&t::MEMORY_USAGE, usage),
    Cmd::new(&t::MEMORY_STATS, stats),
    Cmd::new(&t::MEMORY_DOCTOR, doctor),
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
/// Where memory goes (Redis's getMemoryOverheadData), with our estimates
/// of the keyspace's own structures.
pub struct Overhead {
    pub used: u64,
    pub peak: u64,
    pub startup: u64,
    pub clients: u64,
    pub lua_caches: u64,
    pub functions: u64,
    /// Per non-empty database: (index, main table bytes, expires table bytes).
    pub dbs: Vec<(usize, u64, u64)>,
    pub total: u64,
    pub keys: u64,
    pub rss: u64,
}

impl Overhead {
    /// What is left for the data itself.
    pub fn dataset(&self) -> u64 {
        self.used.saturating_sub(self.total)
    }

    /// used minus startup, which the keys' share is worked out of.
    pub fn net(&self) -> u64 {
        self.used.saturating_sub(self.startup)
    }
}

/// `held`: the shards the calling command holds (INFO inside MULTI or a
/// script): those are read as held; the others are then only tried (a
/// locker holding shards must not wait for more), and a busy one is left
/// out of the count. A caller holding nothing locks each shard in turn.
pub fn overhead(srv: &crate::server::Server, held: &mut crate::storage::Locked<'_>) -> Overhead {
    use std::sync::atomic::Ordering;
    let used = crate::evict::used_memory_now(srv);
    let peak = srv.peak_memory.fetch_max(used, Ordering::Relaxed).max(used);
    let startup = srv.startup_memory.load(Ordering::Relaxed);
    let clients: u64 = srv.clients.all().iter().map(|c| c.tot_mem() as u64).sum();
    let lua = srv.scripting.memory();
    // A key costs its slot in the map (key, entry, index word); a key with
    // a TTL also its place in the expires set.
    let per_key =
        (std::mem::size_of::<crate::storage::Key>() + std::mem::size_of::<crate::storage::Entry>() + 8) as u64;
    let per_exp = (std::mem::size_of::<crate::storage::Key>() + 8) as u64;
    let mut counts = vec![(0u64, 0u64); srv.keyspace.ndb()];
    let holds_some = held.shards_mut().next().is_some();
    let mut add = |shard: &crate::storage::Shard| {
        for (d, db) in shard.dbs.iter().enumerate() {
            counts[d].0 += db.len() as u64;
            counts[d].1 += db.volatile.len() as u64;
        }
    };
    for i in 0..srv.keyspace.nshards() {
        if let Some(s) = held.shard_at(i) {
            add(s);
            continue;
        }
        let _r = crate::storage::ReadOnly::enter();
        // While a load holds the shards, they are skipped, not waited for.
        let skip = holds_some || srv.loading.active.load(std::sync::atomic::Ordering::Relaxed);
        let shard = if skip { srv.keyspace.try_lock_shard(i) } else { Some(srv.keyspace.lock_shard(i)) };
        if let Some(shard) = shard {
            add(&shard);
        }
    }
    let dbs: Vec<(usize, u64, u64)> =
        counts.iter().enumerate().filter(|(_, c)| c.0 > 0).map(|(d, c)| (d, c.0 * per_key, c.1 * per_exp)).collect();
    let keys = counts.iter().map(|c| c.0).sum();
    let total = startup + clients + lua.scripts_eval + lua.functions + dbs.iter().map(|d| d.1 + d.2).sum::<u64>();
    Overhead {
        used,
        peak,
        startup,
        clients,
        lua_caches: lua.scripts_eval,
        functions: lua.functions,
        dbs,
        total,
        keys,
        rss: crate::alloc::rss(),
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// MEMORY STATS
fn stats(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    let o = overhead(ctx.srv, &mut ctx.locked);
    let out = &mut *ctx.out;
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    out.map(27 + o.dbs.len());
    let int = |out: &mut resp::Out, k: &str, v: u64| {
        out.bulk(k);
        out.int(v as i64);
    };
    int(out, "peak.allocated", o.peak);
    int(out, "total.allocated", o.used);
    int(out, "startup.allocated", o.startup);
    int(out, "replication.backlog", 0);
    int(out, "clients.slaves", 0);
    int(out, "clients.normal", o.clients);
    int(out, "cluster.links", 0);
    int(out, "aof.buffer", 0);
    int(out, "lua.caches", o.lua_caches);
    int(out, "functions.caches", o.functions);
    for &(d, main, exp) in &o.dbs {
        out.bulk(format!("db.{d}"));
        out.map(3);
        int(out, "overhead.hashtable.main", main);
        int(out, "overhead.hashtable.expires", exp);
        int(out, "overhead.hashtable.slot-to-keys", 0);
    }
    int(out, "overhead.total", o.total);
    int(out, "keys.count", o.keys);
    int(out, "keys.bytes-per-key", o.net().checked_div(o.keys).unwrap_or(0));
    int(out, "dataset.bytes", o.dataset());
    out.bulk("dataset.percentage");
    out.double(percent(o.dataset(), o.net()));
    out.bulk("peak.percentage");
    out.double(percent(o.used, o.peak));
    // The system allocator reports no active/resident split: allocated
    // stands for both, and the whole RSS overhead shows in rss-overhead.
    int(out, "allocator.allocated", o.used);
    int(out, "allocator.active", o.used);
    int(out, "allocator.resident", o.used);
    out.bulk("allocator-fragmentation.ratio");
    out.double(1.0);
    int(out, "allocator-fragmentation.bytes", 0);
    out.bulk("allocator-rss.ratio");
    out.double(1.0);
    int(out, "allocator-rss.bytes", 0);
    out.bulk("rss-overhead.ratio");
    out.double(ratio(o.rss, o.used));
    out.bulk("rss-overhead.bytes");
    out.int(o.rss as i64 - o.used as i64);
    out.bulk("fragmentation");
    out.double(ratio(o.rss, o.used));
    out.bulk("fragmentation.bytes");
    out.int(o.rss as i64 - o.used as i64);
    Ok(())
}

/// MEMORY DOCTOR: a short report of what looks wrong, in words.
fn doctor(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    let o = overhead(ctx.srv, &mut ctx.locked);
    let mut issues: Vec<String> = Vec::new();
    let mb = |b: u64| b as f64 / (1024.0 * 1024.0);
    if o.used < 5 << 20 {
        ctx.out.verbatim(
            "txt",
            "This instance holds almost no data (under 5 MB in use), so there is nothing to diagnose yet.\n",
        );
        return Ok(());
    }
    if o.peak as f64 > o.used as f64 * 1.5 {
        issues.push(format!(
            "Peak memory: the peak ({:.1} MB) is more than 150% of what is in use now ({:.1} MB). Memory given back after a peak may stay with the process; MEMORY STATS and INFO memory show the current split.",
            mb(o.peak),
            mb(o.used)
        ));
    }
    if o.rss as f64 > o.used as f64 * 1.4 && o.rss.saturating_sub(o.used) > 10 << 20 {
        issues.push(format!(
            "Fragmentation: the process holds {:.1} MB of memory for {:.1} MB in use (ratio {:.2}). This usually follows deletions after a peak; it shrinks as freed memory is reused.",
            mb(o.rss),
            mb(o.used),
            o.rss as f64 / o.used as f64
        ));
    }
    let nclients = ctx.srv.clients.count() as u64;
    if nclients > 0 && o.clients / nclients > 200 * 1024 {
        issues.push(format!(
            "Client buffers: connections hold {:.1} KB each on average. Clients that do not read their replies, or very large pipelines, keep buffers large; see CLIENT LIST (omem, qbuf) and client-output-buffer-limit.",
            (o.clients / nclients) as f64 / 1024.0
        ));
    }
    if o.lua_caches > 10 << 20 {
        issues.push(format!(
            "Script cache: {:.1} MB of cached EVAL scripts. Scripts generated with their arguments inside create a new cache entry each; pass arguments as KEYS/ARGV, or use SCRIPT FLUSH.",
            mb(o.lua_caches)
        ));
    }
    let report = if issues.is_empty() {
        "No memory problem found: the peak, the fragmentation, client buffers and the script cache all look normal.\n"
            .to_string()
    } else {
        let mut s = String::from("Memory problems found:\n\n");
        for (i, t) in issues.iter().enumerate() {
            s.push_str(&format!(" * {}. {t}\n\n", i + 1));
        }
        s
    };
    ctx.out.verbatim("txt", report);
    Ok(())
}

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
