//! Lazy freeing: big values leave the keyspace at once but are deallocated
//! on a background thread, so UNLINK of a ten-million-member set or
//! FLUSHALL ASYNC never stalls the shard (and every command queued on it)
//! while the memory is handed back.
//!
//! Only deallocation moves. The key is removed under the shard lock exactly
//! as a synchronous delete would remove it, so keyspace events, WATCH,
//! client-side caching invalidation and the order other clients observe are
//! unchanged; what travels to the thread is the value alone (or, for a
//! flush, the emptied databases). Values own all their memory and point
//! nowhere else (no `Rc`, no borrowed allocator: `Value` and `Db` are
//! `Send`, checked below at compile time), so dropping one on another thread
//! is the same as dropping it here.
//!
//! The rule follows Redis's lazyfree.c. A value's *free effort* estimates
//! how many allocations it is made of: a list counts its chunks (quicklist
//! nodes), a set, hash or sorted set in its big (hashtable / skiplist)
//! encoding counts its elements, a stream counts its radix-tree nodes plus,
//! for consumer groups, the groups times one more than the first group's
//! pending list; everything else (strings, compact encodings) is 1. Only
//! values whose effort exceeds `THRESHOLD` are sent away: for a handful of
//! allocations the hand-off would cost more than the free. Whether a removal
//! may be lazy at all depends on why the value left (`Why`): UNLINK and
//! FLUSH ASYNC always, the others when their `lazyfree-lazy-*` setting is
//! yes.
//!
//! Script caches and function libraries (SCRIPT FLUSH, FUNCTION FLUSH
//! ASYNC) are handed over with the Lua state that owns them when they hold
//! more than `THRESHOLD` scripts or functions (`free_many`): their
//! functions are references into that state, so the two cannot be parted.
//!
//! The thread starts with the first job. It is tagged with the allocator
//! accounting domain of the thread that started it (see alloc.rs), and
//! publishes its pending byte count after every job, so `used_memory` falls
//! as soon as a value is freed. INFO reports `lazyfree_pending_objects`
//! (queued, not yet freed) and `lazyfreed_objects` (freed by the thread,
//! reset by CONFIG RESETSTAT). When the `LazyFree` is dropped (or the
//! server shuts down) the channel closes; the thread finishes what is queued
//! and ends.

use crate::config::Config;
use crate::storage::{Db, Value};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Redis's LAZYFREE_THRESHOLD: values with a larger free effort are freed
/// in the background.
pub const THRESHOLD: usize = 64;

/// Why a value is leaving the keyspace, which decides whether it may be
/// freed lazily.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// UNLINK: always lazy (for big values).
    Unlink,
    /// DEL, GETDEL: `lazyfree-lazy-user-del`.
    UserDel,
    /// Implicit deletes (an overwrite, a RENAME or COPY target, a *STORE
    /// destination, RESTORE REPLACE): `lazyfree-lazy-server-del`.
    ServerDel,
    /// A TTL ran out (lazily or in the active cycle), or EXPIRE/GETEX set
    /// one in the past: `lazyfree-lazy-expire`.
    Expire,
    /// maxmemory eviction: `lazyfree-lazy-eviction`.
    Evict,
}

impl Why {
    /// True if a removal for this reason may be freed in the background
    /// under the current settings.
    pub fn allows_lazy(self, config: &Config) -> bool {
        match self {
            Why::Unlink => true,
            Why::UserDel => crate::cfg_num!(config, "lazyfree-lazy-user-del") != 0,
            Why::ServerDel => crate::cfg_num!(config, "lazyfree-lazy-server-del") != 0,
            Why::Expire => crate::cfg_num!(config, "lazyfree-lazy-expire") != 0,
            Why::Evict => crate::cfg_num!(config, "lazyfree-lazy-eviction") != 0,
        }
    }
}

/// FLUSHALL / FLUSHDB without ASYNC or SYNC: asynchronous when
/// `lazyfree-lazy-user-flush` is yes (SCRIPT FLUSH and FUNCTION FLUSH share
/// the rule).
pub fn user_flush_is_async(config: &Config) -> bool {
    crate::cfg_num!(config, "lazyfree-lazy-user-flush") != 0
}

/// The optional ASYNC | SYNC of the flush commands: true for ASYNC, the
/// setting above without either, None for another word (each command has
/// its own error for that).
pub fn flush_mode(config: &Config, args: &mut crate::args::Args<'_>) -> Option<bool> {
    if args.is_empty() {
        Some(user_flush_is_async(config))
    } else if args.eat("ASYNC") {
        Some(true)
    } else if args.eat("SYNC") {
        Some(false)
    } else {
        None
    }
}

/// Redis's lazyfreeGetFreeEffort: roughly the number of allocations that
/// make up `v` (see the module doc). Constant time, or nearly: a stream's
/// radix-tree nodes are only counted exactly when there are few of them
/// (a tree has at least one node per key, so past the threshold the key
/// count is a lower bound that leads to the same decision).
pub fn free_effort(v: &Value) -> usize {
    match v {
        Value::List(l) => l.chunk_count(),
        Value::Set(s) if s.encoding() == "hashtable" => s.len(),
        Value::Hash(h) if h.encoding() == "hashtable" => h.len(),
        Value::ZSet(z) if !z.is_pack() => z.len(),
        Value::Stream(s) => {
            let keys = s.node_count();
            let mut effort = if keys > THRESHOLD { keys } else { s.rax_nodes() };
            if let Some(first) = s.groups.values().next() {
                effort = effort.saturating_add(s.groups.len().saturating_mul(1 + first.pel.len()));
            }
            effort
        }
        _ => 1,
    }
}

/// What the thread frees.
enum Job {
    Value(Value),
    /// Emptied databases (FLUSHALL / FLUSHDB ASYNC) holding this many keys.
    Dbs(Vec<Db>, usize),
    /// Anything else made of this many objects (a flushed script cache or
    /// function library set, with the Lua state that owns it).
    Other(Box<dyn Send>, usize),
}

// The whole design rests on values being movable to another thread.
const _: fn() = || {
    fn send<T: Send>() {}
    send::<Value>();
    send::<Db>();
};

#[derive(Default)]
struct Counters {
    /// Objects queued and not yet freed.
    pending: AtomicUsize,
    /// Objects freed by the thread since start (or CONFIG RESETSTAT).
    freed: AtomicUsize,
}

#[derive(Default)]
struct Worker {
    tx: Option<Sender<Job>>,
    handle: Option<JoinHandle<()>>,
    /// Set once stopped: later frees happen inline.
    stopped: bool,
}

/// The background freeing thread and its counters (one per server).
#[derive(Default)]
pub struct LazyFree {
    counters: Arc<Counters>,
    worker: Mutex<Worker>,
}

impl LazyFree {
    /// Frees `v`, removed from the keyspace for reason `why`: on the
    /// background thread when the reason allows it under `config` and the
    /// value is big enough, here otherwise.
    pub fn free(&self, config: &Config, why: Why, v: Value) {
        if why.allows_lazy(config) {
            self.free_lazily(v);
        }
    }

    /// `free` for a removal that is allowed to be lazy (Redis's
    /// freeObjAsync): big values go to the thread, small ones are dropped.
    pub fn free_lazily(&self, v: Value) {
        if free_effort(&v) > THRESHOLD {
            self.submit(Job::Value(v), 1);
        }
    }

    /// Frees emptied databases holding `keys` keys in the background
    /// (Redis's emptyDbAsync), whatever their size.
    pub fn free_dbs(&self, dbs: Vec<Db>, keys: usize) {
        if keys > 0 {
            self.submit(Job::Dbs(dbs, keys), keys);
        }
    }

    /// Empties the databases `which` selects in every shard `locked` holds
    /// (FLUSHALL/FLUSHDB, a replica's full sync); with `lazy` the emptied
    /// tables are freed in the background, so the keyspace is empty for
    /// everyone at once. Returns the keys removed.
    pub fn empty_dbs(&self, locked: &mut crate::storage::Locked<'_>, which: impl Fn(usize) -> bool, lazy: bool) -> u64 {
        let (mut removed, mut emptied, mut lazy_keys) = (0u64, Vec::new(), 0);
        for s in locked.shards_mut() {
            for (_, d) in s.dbs.iter_mut().enumerate().filter(|(i, _)| which(*i)) {
                removed += d.len() as u64;
                if lazy && !d.is_empty() {
                    lazy_keys += d.len();
                    emptied.push(std::mem::take(d));
                } else {
                    d.clear();
                }
            }
        }
        self.free_dbs(emptied, lazy_keys);
        removed
    }

    /// Frees `x`, made of `objects` objects (scripts, functions), in the
    /// background if there are more than `THRESHOLD` of them (Redis's
    /// freeLuaScriptsAsync, freeFunctionsAsync), here otherwise.
    pub fn free_many<T: Send + 'static>(&self, x: T, objects: usize) {
        if objects > THRESHOLD {
            self.submit(Job::Other(Box::new(x), objects), objects);
        }
    }

    /// INFO `lazyfree_pending_objects`.
    pub fn pending(&self) -> usize {
        self.counters.pending.load(Ordering::Acquire)
    }

    /// INFO `lazyfreed_objects`.
    pub fn freed(&self) -> usize {
        self.counters.freed.load(Ordering::Relaxed)
    }

    /// CONFIG RESETSTAT.
    pub fn reset_stats(&self) {
        self.counters.freed.store(0, Ordering::Relaxed);
    }

    /// Closes the queue: the thread frees what is queued and ends; later
    /// frees happen inline. Does not wait.
    pub fn stop(&self) {
        let mut w = self.worker.lock();
        w.stopped = true;
        w.tx = None;
    }

    fn submit(&self, job: Job, objects: usize) {
        // A job that cannot be queued is freed here, after the lock.
        if let Err(job) = self.try_submit(job, objects) {
            drop(job);
        }
    }

    fn try_submit(&self, job: Job, objects: usize) -> Result<(), Job> {
        let mut w = self.worker.lock();
        if w.stopped {
            return Err(job);
        }
        if w.tx.is_none() {
            let (tx, rx) = channel();
            let counters = self.counters.clone();
            let domain = crate::alloc::current_domain();
            let spawned = std::thread::Builder::new().name("lazyfree".into()).spawn(move || run(rx, &counters, domain));
            match spawned {
                Ok(h) => {
                    w.tx = Some(tx);
                    w.handle = Some(h);
                }
                // No thread (resource limits): free inline from now on.
                Err(_) => {
                    w.stopped = true;
                    return Err(job);
                }
            }
        }
        let Some(tx) = &w.tx else { return Err(job) };
        self.counters.pending.fetch_add(objects, Ordering::Relaxed);
        tx.send(job).map_err(|back| {
            // The thread is gone (it cannot end while `tx` lives, unless a
            // drop panicked): free inline.
            self.counters.pending.fetch_sub(objects, Ordering::Relaxed);
            back.0
        })
    }
}

impl Drop for LazyFree {
    fn drop(&mut self) {
        let (tx, handle) = {
            let w = self.worker.get_mut();
            (w.tx.take(), w.handle.take())
        };
        drop(tx);
        if let Some(h) = handle {
            let _ = h.join();
        }
    }
}

/// The thread's loop: free each job, count it, publish the memory.
fn run(rx: Receiver<Job>, counters: &Counters, domain: u16) {
    crate::alloc::enter_domain(domain);
    while let Ok(job) = rx.recv() {
        let n = match job {
            Job::Value(v) => {
                drop(v);
                1
            }
            Job::Dbs(dbs, n) => {
                drop(dbs);
                n
            }
            Job::Other(x, n) => {
                drop(x);
                n
            }
        };
        // used_memory must fall now, not once 8 KiB more were freed.
        crate::alloc::flush_thread();
        // (Release: whoever sees the pending count drop sees the freed
        // count and the memory counters that went before.)
        counters.freed.fetch_add(n, Ordering::Relaxed);
        counters.pending.fetch_sub(n, Ordering::Release);
    }
    crate::alloc::flush_thread();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Str;
    use types::stream::{Group, Nack, NodeLimits, StreamId};

    fn big_set(n: usize) -> Value {
        let mut s = types::set::Set::new_ints();
        for i in 0..n {
            s.add(format!("m{i}").as_bytes(), usize::MAX);
        }
        Value::Set(Box::new(s))
    }

    fn wait_idle(lf: &LazyFree) {
        for _ in 0..10_000 {
            if lf.pending() == 0 {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        panic!("lazyfree thread never caught up");
    }

    #[test]
    fn effort_of_each_type() {
        assert_eq!(free_effort(&Value::Str(Str::from_bytes(&[b'x'; 1000]))), 1);
        assert_eq!(free_effort(&big_set(3)), 3);
        assert_eq!(free_effort(&big_set(200)), 200);
        let mut ints = types::set::Set::new_ints();
        for i in 0..200 {
            ints.add(i.to_string().as_bytes(), 512);
        }
        assert_eq!(ints.encoding(), "intset");
        assert_eq!(free_effort(&Value::Set(Box::new(ints))), 1);

        // At most 16 elements per chunk: 125 chunks.
        let mut l = types::list::List::new(16);
        for i in 0..2000 {
            l.push_back(format!("element {i}").as_bytes());
        }
        let chunks = l.chunk_count();
        assert_eq!(chunks, 125);
        assert_eq!(free_effort(&Value::List(Box::new(l))), chunks);
    }

    #[test]
    fn stream_effort_counts_nodes_and_groups() {
        let limits = NodeLimits { max_bytes: 4096, max_entries: 5 };
        let mut s = types::stream::Stream::new();
        for i in 1..=1000u64 {
            s.append(StreamId { ms: i, seq: 0 }, &[(b"f".as_ref(), b"v".as_ref())], limits);
        }
        let nodes = s.node_count();
        assert_eq!(nodes, 200);
        assert!(free_effort(&Value::Stream(Box::new(s.clone()))) >= nodes);

        // One small node: a couple of tree nodes, far below the threshold.
        let mut small = types::stream::Stream::new();
        small.append(StreamId { ms: 1, seq: 0 }, &[(b"a".as_ref(), b"b".as_ref())], limits);
        let base = free_effort(&Value::Stream(Box::new(small.clone())));
        assert_eq!(base, small.rax_nodes());
        assert!(base <= THRESHOLD);

        // Groups count (1 + the first group's PEL) each.
        let mut g = Group::new(StreamId::default(), 0);
        for i in 0..40 {
            g.pel.insert(
                StreamId { ms: i, seq: 0 },
                Nack { delivery_time: 0, delivery_count: 1, consumer: b"c".to_vec().into() },
            );
        }
        small.groups.insert(b"a".to_vec().into(), g);
        small.groups.insert(b"b".to_vec().into(), Group::new(StreamId::default(), 0));
        assert_eq!(free_effort(&Value::Stream(Box::new(small))), base + 2 * 41);
    }

    #[test]
    fn small_values_are_freed_inline_and_big_ones_queued() {
        let cfg = Config::default();
        let lf = LazyFree::default();
        lf.free(&cfg, Why::Unlink, big_set(10));
        assert_eq!((lf.pending(), lf.freed()), (0, 0));
        lf.free(&cfg, Why::Unlink, big_set(1000));
        wait_idle(&lf);
        assert_eq!(lf.freed(), 1);
        // DEL frees synchronously unless lazyfree-lazy-user-del is yes.
        lf.free(&cfg, Why::UserDel, big_set(1000));
        assert_eq!(lf.freed(), 1);
        cfg.load_set("lazyfree-lazy-user-del", "yes").unwrap();
        lf.free(&cfg, Why::UserDel, big_set(1000));
        wait_idle(&lf);
        assert_eq!(lf.freed(), 2);
        lf.reset_stats();
        assert_eq!(lf.freed(), 0);
    }

    #[test]
    fn databases_are_freed_with_their_key_count() {
        let lf = LazyFree::default();
        let mut db = Db::default();
        for i in 0..100 {
            db.set(format!("k{i}").as_bytes(), big_set(2), false, 0);
        }
        lf.free_dbs(vec![db, Db::default()], 100);
        wait_idle(&lf);
        assert_eq!(lf.freed(), 100);
        lf.free_dbs(vec![Db::default()], 0);
        assert_eq!(lf.freed(), 100);
    }

    #[test]
    fn collections_of_objects_over_the_threshold_go_to_the_thread() {
        let lf = LazyFree::default();
        lf.free_many(vec![0u8; 10], THRESHOLD);
        assert_eq!((lf.pending(), lf.freed()), (0, 0));
        lf.free_many(vec![0u8; 10], THRESHOLD + 1);
        wait_idle(&lf);
        assert_eq!(lf.freed(), THRESHOLD + 1);
    }

    #[test]
    fn after_stop_everything_is_freed_inline() {
        let lf = LazyFree::default();
        lf.free_lazily(big_set(1000));
        lf.stop();
        wait_idle(&lf);
        assert_eq!(lf.freed(), 1);
        lf.free_lazily(big_set(1000));
        assert_eq!((lf.pending(), lf.freed()), (0, 1));
    }

    #[test]
    fn background_frees_are_published_to_the_domain() {
        let d = crate::alloc::new_domain();
        let h = std::thread::spawn(move || {
            crate::alloc::enter_domain(d);
            let lf = LazyFree::default();
            let v = big_set(20_000);
            crate::alloc::flush_thread();
            let peak = crate::alloc::allocated_in(d);
            lf.free_lazily(v);
            wait_idle(&lf);
            crate::alloc::flush_thread();
            (peak, crate::alloc::allocated_in(d))
        });
        let (peak, after) = h.join().unwrap();
        assert!(peak > 500_000, "{peak}");
        assert!(after < peak - 400_000, "{peak} -> {after}");
    }
}
