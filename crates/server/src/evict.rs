//! maxmemory: key eviction, as Redis 7.0's evict.c does it.
//!
//! Used memory is what the counting allocator reports (alloc.rs; the same
//! figure as INFO `used_memory`: we have no replication or AOF buffers to
//! leave out). Before every command, when `maxmemory` is set and usage is
//! above it, keys are evicted by `maxmemory-policy` until enough memory was
//! freed (`perform`). If that is impossible (noeviction, or nothing left to
//! evict) the command is refused with Redis's OOM error when it is flagged
//! `denyoom` (or is queued in MULTI, or is an EXEC of such commands, or a
//! script whose shebang flags do not allow OOM), as processCommand does. The
//! outcome is remembered on the client (`Client::oom`) for scripts: a script
//! that started out of memory may not run a denyoom command before its
//! first write (Redis's scriptVerifyOOM).
//!
//! Choosing keys. Random policies take a random key of a random non-empty
//! shard. LRU, LFU and TTL policies use Redis's approximation: a pool of the
//! 16 best candidates seen so far, ordered by score (idle seconds; 255 minus
//! the decayed LFU counter; or how soon the key expires), refilled before
//! each pick by sampling `maxmemory-samples` keys from successive shards
//! starting at a random one (keys are spread uniformly over shards, so this
//! is a uniform sample of the keyspace, as Redis's per-database sample). The best candidate that still exists
//! (and, for volatile policies, still has a TTL) is evicted. The pool outlives
//! the call, so good candidates accumulate across evictions.
//!
//! Locking: eviction runs before the command takes its locks and holds one
//! shard at a time (sampling a shard, or deleting a key), so it can never
//! wait in a cycle with a command. The pool has its own mutex, taken only
//! while evicting; CONFIG SET maxmemory inside EXEC (which holds every shard)
//! evicts with the shards it holds and a private pool (`perform_held`).
//!
//! Each eviction: the key is deleted, `evicted_keys` counted, WATCH touched,
//! client-side caches invalidated, and the `evicted` event (class `e`)
//! published. Blocked clients are not woken (the key is gone, nothing can be
//! served). The time spent is bounded by `maxmemory-eviction-tenacity`; when
//! the bound is hit the command runs anyway and a background task goes on
//! evicting, a pass at a time (`background`, as Redis's timer proc).

use crate::client::Client;
use crate::cmdspec::{f, CommandSpec};
use crate::commands::Entry;
use crate::error::CmdError;
use crate::scripting::flags;
use crate::server::Server;
use crate::storage::{Key, Locked, Shard, NO_EXPIRE};
use parking_lot::{Mutex, MutexGuard};
use resp::Out;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

/// Redis's shared.oomerr.
pub const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// Candidates kept between evictions (Redis's EVPOOL_SIZE).
const POOL_SIZE: usize = 16;

/// Server-wide eviction state.
#[derive(Default)]
pub struct Evictor {
    /// The allocator accounting domain of this server (0: the process).
    domain: AtomicU16,
    pool: Mutex<Vec<Candidate>>,
    /// Where random eviction looks next (visits databases in turn).
    next: AtomicUsize,
    /// Since when (µs after server start, plus one) used memory has stayed
    /// above maxmemory after eviction; 0 when it has not.
    exceeded_since_us: AtomicU64,
    /// Total µs of past such periods (INFO total_eviction_exceeded_time).
    exceeded_total_us: AtomicU64,
    /// Wakes `background` when a pass stopped at its time bound.
    wake: tokio::sync::Notify,
}

impl Evictor {
    /// Counts this server's memory in allocator domain `d` (test servers).
    pub fn set_domain(&self, d: u16) {
        self.domain.store(d, Ordering::Relaxed);
    }

    /// INFO stats: (total_eviction_exceeded_time, current_eviction_exceeded_time)
    /// in milliseconds.
    pub fn exceeded_ms(&self, srv: &Server) -> (u64, u64) {
        let since = self.exceeded_since_us.load(Ordering::Relaxed);
        let current = if since == 0 { 0 } else { now_us(srv).saturating_sub(since - 1) };
        ((self.exceeded_total_us.load(Ordering::Relaxed) + current) / 1000, current / 1000)
    }

    /// Redis's update_metrics step of performEvictions.
    fn record(&self, srv: &Server, outcome: Outcome) {
        let since = self.exceeded_since_us.load(Ordering::Relaxed);
        match outcome {
            Outcome::Ok
                if since != 0
                    && self
                        .exceeded_since_us
                        .compare_exchange(since, 0, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok() =>
            {
                self.exceeded_total_us.fetch_add(now_us(srv).saturating_sub(since - 1), Ordering::Relaxed);
            }
            Outcome::Running | Outcome::Fail if since == 0 => {
                let _ =
                    self.exceeded_since_us.compare_exchange(0, now_us(srv) + 1, Ordering::Relaxed, Ordering::Relaxed);
            }
            _ => {}
        }
    }

    /// CONFIG RESETSTAT.
    pub fn reset_stats(&self) {
        self.exceeded_total_us.store(0, Ordering::Relaxed);
    }
}

fn now_us(srv: &Server) -> u64 {
    srv.started.elapsed().as_micros() as u64
}

/// Bytes in use, as INFO `used_memory` reports and maxmemory compares.
pub fn used_memory(srv: &Server) -> u64 {
    crate::alloc::allocated_in(srv.evictor.domain.load(Ordering::Relaxed))
}

/// `used_memory` with the calling thread's own pending bytes published
/// first, so what it allocated itself counts exactly (other threads lag by
/// under alloc's BATCH each): for INFO and for an eviction pass, not for
/// the per-command check.
pub fn used_memory_now(srv: &Server) -> u64 {
    crate::alloc::flush_thread();
    used_memory(srv)
}

/// Bytes not counted for eviction (INFO `mem_not_counted_for_evict`): the
/// connections' output room that holds no output waiting for a slow client
/// (see `ClientRegistry::out_room`).
pub fn not_counted(srv: &Server) -> u64 {
    srv.clients.out_room.load(Ordering::Relaxed).max(0) as u64
}

/// What maxmemory is compared with: `used_memory` less the output room
/// (more than `used_memory` when connections' reply buffers are smaller
/// than Redis's).
fn counted(srv: &Server) -> u64 {
    less_room(srv, used_memory(srv))
}

/// `counted` with this thread's own bytes published first.
fn counted_now(srv: &Server) -> u64 {
    less_room(srv, used_memory_now(srv))
}

fn less_room(srv: &Server, used: u64) -> u64 {
    (used as i64 - srv.clients.out_room.load(Ordering::Relaxed)).max(0) as u64
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Policy {
    NoEviction,
    AllKeysLru,
    AllKeysLfu,
    AllKeysRandom,
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
}

impl Policy {
    fn of(srv: &Server) -> Policy {
        match srv.config.get_text("maxmemory-policy").as_deref() {
            Some("allkeys-lru") => Policy::AllKeysLru,
            Some("allkeys-lfu") => Policy::AllKeysLfu,
            Some("allkeys-random") => Policy::AllKeysRandom,
            Some("volatile-lru") => Policy::VolatileLru,
            Some("volatile-lfu") => Policy::VolatileLfu,
            Some("volatile-random") => Policy::VolatileRandom,
            Some("volatile-ttl") => Policy::VolatileTtl,
            _ => Policy::NoEviction,
        }
    }

    fn all_keys(self) -> bool {
        matches!(self, Policy::AllKeysLru | Policy::AllKeysLfu | Policy::AllKeysRandom)
    }

    fn random(self) -> bool {
        matches!(self, Policy::AllKeysRandom | Policy::VolatileRandom)
    }
}

/// One entry of the eviction pool: higher `score` is evicted first.
struct Candidate {
    score: u64,
    shard: usize,
    db: usize,
    key: Key,
}

/// Adds a candidate to the pool (kept in ascending score order, at most
/// `POOL_SIZE` long), unless it is worse than all of a full pool.
fn pool_insert(pool: &mut Vec<Candidate>, c: Candidate) {
    if pool.len() >= POOL_SIZE && c.score <= pool[0].score {
        return;
    }
    if pool.iter().any(|p| p.db == c.db && p.key == c.key) {
        return;
    }
    let at = pool.partition_point(|p| p.score < c.score);
    pool.insert(at, c);
    if pool.len() > POOL_SIZE {
        pool.remove(0);
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
    /// Usage is within the limit (or was brought there).
    Ok,
    /// The time bound was hit before enough was freed.
    Running,
    /// Over the limit and nothing (more) may be evicted.
    Fail,
}

/// A shard: locked for the moment, or one the caller already holds.
enum ShardRef<'s> {
    Guard(MutexGuard<'s, Shard>),
    Held(&'s mut Shard),
}

impl Deref for ShardRef<'_> {
    type Target = Shard;
    fn deref(&self) -> &Shard {
        match self {
            ShardRef::Guard(g) => g,
            ShardRef::Held(s) => s,
        }
    }
}

impl DerefMut for ShardRef<'_> {
    fn deref_mut(&mut self) -> &mut Shard {
        match self {
            ShardRef::Guard(g) => g,
            ShardRef::Held(s) => s,
        }
    }
}

/// How eviction reaches shards.
enum Access<'l, 'a> {
    /// Lock each shard for a moment (the caller holds none).
    Lock,
    /// The caller holds every shard.
    Held(&'l mut Locked<'a>),
}

impl Access<'_, '_> {
    fn shard<'s>(&'s mut self, srv: &'s Server, i: usize) -> Option<ShardRef<'s>> {
        match self {
            Access::Lock => Some(ShardRef::Guard(srv.keyspace.lock_shard(i))),
            Access::Held(l) => l.shard_at(i).map(ShardRef::Held),
        }
    }
}

/// Redis's evictionTimeLimitUs: `None` for no bound.
fn time_limit_us(tenacity: i64) -> Option<u64> {
    match tenacity {
        t if t <= 10 => Some(50 * t.max(0) as u64),
        t if t < 100 => Some((500.0 * 1.15f64.powi(t as i32 - 10)) as u64),
        _ => None,
    }
}

/// Redis's isSafeToPerformEvictions: not behind a script that holds every
/// shard (eviction would wait for it; Redis does not evict while a script
/// runs long either), and not while clients are paused (the dataset must
/// stay still: no expiry, no eviction).
fn safe_to_evict(srv: &Server) -> bool {
    if srv.scripting.busy.running() {
        return false;
    }
    !srv.pause.any() || !srv.pause.holds(srv.clock.now_ms(), true)
}

/// True if maxmemory is set and used memory is above it.
fn over_limit(srv: &Server) -> bool {
    let max = srv.config.maxmemory();
    max != 0 && counted(srv) > max
}

/// Redis's performEvictions, for a caller that holds no shard.
pub fn perform(srv: &Server) -> Outcome {
    if !safe_to_evict(srv) {
        return Outcome::Ok;
    }
    // The common case (within the limit) takes no lock.
    let outcome = if over_limit(srv) {
        let mut pool = srv.evictor.pool.lock();
        run(srv, &mut Access::Lock, &mut pool)
    } else {
        Outcome::Ok
    };
    srv.evictor.record(srv, outcome);
    if outcome == Outcome::Running {
        srv.evictor.wake.notify_one();
    }
    outcome
}

/// Goes on evicting after a pass stopped at its time bound, one pass at a
/// time with other tasks in between, until the limit is met or nothing is
/// left to evict (Redis's eviction timer proc). Spawned once per server.
pub async fn background(srv: std::sync::Arc<Server>) {
    loop {
        srv.evictor.wake.notified().await;
        while !srv.shutting_down.load(Ordering::Relaxed) && safe_to_evict(&srv) {
            if perform(&srv) != Outcome::Running {
                break;
            }
            tokio::task::yield_now().await;
        }
    }
}

/// `perform` for a caller holding every shard (CONFIG SET inside EXEC).
/// Holding only some shards, it cannot evict safely and does nothing.
pub fn perform_held(srv: &Server, locked: &mut Locked<'_>) -> Outcome {
    if !locked.holds_all() || !safe_to_evict(srv) {
        return Outcome::Ok;
    }
    // Another worker may hold the shared pool while waiting for our shards:
    // never wait for it here.
    let mut own = Vec::new();
    let mut guard = srv.evictor.pool.try_lock();
    let pool = guard.as_deref_mut().unwrap_or(&mut own);
    let outcome = run(srv, &mut Access::Held(locked), pool);
    srv.evictor.record(srv, outcome);
    if outcome == Outcome::Running {
        srv.evictor.wake.notify_one();
    }
    outcome
}

/// CONFIG SET maxmemory: evicts at once down to the new limit (Redis's
/// updateMaxmemory), with the locks the command holds (none, or every
/// shard inside EXEC).
pub fn maxmemory_changed(srv: &Server, locked: &mut Locked<'_>) {
    if srv.config.maxmemory() == 0 {
        return;
    }
    if locked.holds_all() {
        perform_held(srv, locked);
    } else {
        perform(srv);
    }
}

fn run(srv: &Server, acc: &mut Access<'_, '_>, pool: &mut Vec<Candidate>) -> Outcome {
    let max = srv.config.maxmemory();
    let used = counted_now(srv);
    if max == 0 || used <= max {
        return Outcome::Ok;
    }
    let policy = Policy::of(srv);
    if policy == Policy::NoEviction {
        return Outcome::Fail;
    }
    let to_free = (used - max) as i64;
    let limit = time_limit_us(crate::cfg_num!(srv.config, "maxmemory-eviction-tenacity"));
    let t0 = Instant::now();
    let (mut freed, mut evicted) = (0i64, 0u64);
    let mut outcome = Outcome::Ok;
    while freed < to_free {
        let delta = if policy.random() { evict_random(srv, acc, policy) } else { evict_pooled(srv, acc, policy, pool) };
        let Some(delta) = delta else {
            outcome = Outcome::Fail;
            break;
        };
        freed += delta;
        evicted += 1;
        if evicted % 16 == 0 {
            // Other threads allocate and free meanwhile: stop as soon as
            // the limit is met, and within the time bound.
            if counted(srv) <= max {
                break;
            }
            if limit.is_some_and(|l| t0.elapsed().as_micros() as u64 > l) {
                outcome = Outcome::Running;
                break;
            }
        }
    }
    if evicted > 0 {
        srv.tracking.flush_bcast(srv);
    }
    // Out of candidates while values evicted earlier may still be being
    // freed in the background (lazyfree-lazy-eviction): wait for the
    // lazyfree thread a little, within the same time bound, as Redis does.
    if outcome == Outcome::Fail && srv.lazyfree.pending() > 0 {
        let t = crate::latency::Monitor::start(srv);
        while srv.lazyfree.pending() > 0
            && counted(srv) > max
            && limit.is_none_or(|l| (t0.elapsed().as_micros() as u64) < l)
        {
            std::thread::sleep(std::time::Duration::from_micros(limit.map_or(1000, |l| l.clamp(1, 1000))));
        }
        srv.latency.end(srv, crate::latency::event::EVICTION_LAZYFREE, t);
    }
    srv.latency.observe(srv, crate::latency::event::EVICTION_CYCLE, t0.elapsed().as_micros() as u64);
    if outcome == Outcome::Fail && counted(srv) <= max {
        outcome = Outcome::Ok;
    }
    outcome
}

/// Deletes `key` from database `dbi` of `shard` with everything an eviction
/// entails; returns the bytes freed (negative if others allocated meanwhile).
fn evict_key(srv: &Server, shard: &mut Shard, dbi: usize, key: &[u8]) -> i64 {
    // Exact for this thread's own frees (what others allocate meanwhile
    // still shows, as in Redis); the invalidations and notifications the
    // eviction sends go after the measure, as Redis's do, so memory they
    // take does not make the pass evict more (no feedback loop).
    let before = used_memory_now(srv) as i64;
    let t = crate::latency::Monitor::start(srv);
    if let Some(e) = shard.dbs[dbi].remove(key) {
        srv.lazyfree.free(&srv.config, crate::lazyfree::Why::Evict, e.value);
    }
    srv.latency.end(srv, crate::latency::event::EVICTION_DEL, t);
    let delta = before - used_memory_now(srv) as i64;
    if srv.feed.on() {
        let del = crate::propagate::deletion(srv, "lazyfree-lazy-eviction");
        srv.feed.commit_one(dbi, &[del, key]);
    }
    srv.stats.evicted_keys.fetch_add(1, Ordering::Relaxed);
    crate::txn::touch_key(srv, dbi, key, false);
    srv.tracking.invalidate_key(srv, key, 0);
    crate::notify::emit(srv, crate::notify::EVICTED, "evicted", dbi, key);
    delta
}

/// allkeys-random / volatile-random: a random key of the next database (in
/// turn) that has any, in a random shard. `None` if there is none at all.
fn evict_random(srv: &Server, acc: &mut Access<'_, '_>, policy: Policy) -> Option<i64> {
    let n = srv.keyspace.nshards();
    let ndb = srv.keyspace.ndb();
    let start = rand::random::<usize>() % n;
    let first_db = srv.evictor.next.fetch_add(1, Ordering::Relaxed);
    for step in 0..n {
        let i = (start + step) % n;
        let mut shard = acc.shard(srv, i)?;
        for d in 0..ndb {
            let dbi = (first_db + d) % ndb;
            let db = &shard.dbs[dbi];
            let key = if policy.all_keys() { db.random_key() } else { db.random_volatile() };
            if let Some(key) = key.cloned() {
                return Some(evict_key(srv, &mut shard, dbi, &key));
            }
        }
    }
    None
}

/// The score of an entry under `policy`: higher goes first.
fn score(srv: &Server, policy: Policy, e: &crate::storage::Entry, now_ms: i64) -> u64 {
    match policy {
        Policy::AllKeysLfu | Policy::VolatileLfu => {
            let decay = crate::cfg_num!(srv.config, "lfu-decay-time");
            255 - crate::storage::lfu::decayed(e.lru, now_ms, decay).min(255) as u64
        }
        Policy::VolatileTtl => u64::MAX - e.expire_at.max(0) as u64,
        // Idle time; the LRU clock is in seconds (as Redis's, at 1000 ms
        // resolution) and follows the server clock.
        _ => srv.lru_clock_at(now_ms).saturating_sub(e.lru) as u64,
    }
}

/// Samples `maxmemory-samples` keys into the pool, from successive shards
/// starting at a random one (each database's part of a shard is sampled;
/// a part no larger than what is still needed is taken whole). False if no
/// shard has a key the policy may evict.
fn populate(srv: &Server, acc: &mut Access<'_, '_>, policy: Policy, pool: &mut Vec<Candidate>) -> bool {
    let n = srv.keyspace.nshards();
    let samples = crate::cfg_num!(srv.config, "maxmemory-samples").clamp(1, 64) as usize;
    let now = srv.clock.now_ms();
    let start = rand::random::<usize>() % n;
    let mut taken = 0;
    for step in 0..n {
        let i = (start + step) % n;
        let Some(shard) = acc.shard(srv, i) else { return taken > 0 };
        for (dbi, db) in shard.dbs.iter().enumerate() {
            let len = if policy.all_keys() { db.len() } else { db.volatile.len() };
            if len == 0 {
                continue;
            }
            let want = samples.saturating_sub(taken).max(1);
            let whole = len <= want;
            for j in 0..want.min(len) {
                let at = if whole { j } else { rand::random::<usize>() % len };
                let key =
                    if policy.all_keys() { db.map.get_index(at).map(|(k, _)| k) } else { db.volatile.get_index(at) };
                let Some(key) = key else { continue };
                let Some(e) = db.get(key) else { continue };
                let c = Candidate { score: score(srv, policy, e, now), shard: i, db: dbi, key: key.clone() };
                pool_insert(pool, c);
            }
            taken += want.min(len);
        }
        if taken >= samples {
            return true;
        }
    }
    taken > 0
}

/// LRU, LFU and TTL policies: evicts the best pool candidate that still
/// qualifies, refilling the pool first. `None` if nothing may be evicted.
fn evict_pooled(srv: &Server, acc: &mut Access<'_, '_>, policy: Policy, pool: &mut Vec<Candidate>) -> Option<i64> {
    loop {
        if !populate(srv, acc, policy, pool) {
            return None;
        }
        while let Some(c) = pool.pop() {
            let mut shard = acc.shard(srv, c.shard)?;
            let ok = match shard.dbs[c.db].get(&c.key) {
                Some(e) => policy.all_keys() || e.expire_at != NO_EXPIRE,
                None => false,
            };
            if ok {
                return Some(evict_key(srv, &mut shard, c.db, &c.key));
            }
            // A ghost: deleted (or made persistent) since it was sampled.
        }
    }
}

/// The flags of the script an EVAL / EVALSHA / FCALL (or _RO) names, if it
/// is one and they can be known without waiting (Redis's getCommandFlags).
/// Also what a WRITE pause asks of a script command (net.rs).
pub(crate) fn script_flags(srv: &Server, spec: &CommandSpec, arg1: &[u8]) -> Option<u32> {
    match spec.name {
        "eval" | "eval_ro" => crate::scripting::parse_shebang(arg1).ok().map(|(fl, _)| fl),
        "evalsha" | "evalsha_ro" => {
            let sha = String::from_utf8_lossy(arg1).to_ascii_lowercase();
            let g = srv.scripting.eval.try_lock()?;
            g.as_ref()?.scripts.get(&sha).map(|s| s.flags)
        }
        "fcall" | "fcall_ro" => {
            let g = srv.scripting.functions.try_lock()?;
            g.as_ref()?.flags_of(&String::from_utf8_lossy(arg1))
        }
        _ => None,
    }
}

/// True if running the command may not start out of memory: `denyoom`, or
/// a script with flags that allow neither writes-free running nor OOM.
fn denies_oom(srv: &Server, spec: &CommandSpec, argv: &[&[u8]]) -> bool {
    if spec.name.starts_with("eval") || spec.name.starts_with("fcall") {
        if let Some(fl) = argv.get(1).and_then(|a| script_flags(srv, spec, a)) {
            if fl & flags::EVAL_COMPAT == 0 {
                return fl & (flags::ALLOW_OOM | flags::NO_WRITES) == 0;
            }
        }
    }
    spec.has(f::DENYOOM)
}

/// The dispatcher's maxmemory step (before the command locks anything):
/// evicts as needed, remembers the outcome for scripts, and refuses the
/// command with the OOM error when it may not run. True if refused.
pub fn refuse_oom(srv: &Server, client: &mut Client, entry: &'static Entry, argv: &[&[u8]], out: &mut Out) -> bool {
    if srv.config.maxmemory() == 0 {
        client.oom = false;
        return false;
    }
    client.oom = perform(srv) == Outcome::Fail;
    // Invalidations of evicted keys this client tracks precede the reply
    // of the command that caused the eviction, as in Redis (which sends
    // them at once: the command has not started executing).
    if client.reply_mode == crate::client::ReplyMode::On {
        client.info.take_mail(&mut out.buf);
    }
    if !client.oom {
        return false;
    }
    let spec = entry.spec;
    let refused = match &client.multi {
        // Queuing may use any amount of memory; EXEC is refused only for
        // the commands it would run.
        Some(_) if !matches!(spec.name, "exec" | "discard" | "quit" | "reset") => true,
        Some(m) if spec.name == "exec" => m.queue.iter().any(|q| denies_oom(srv, q.entry.spec, &m.argv(q))),
        _ => denies_oom(srv, spec, argv),
    };
    if refused {
        crate::dispatch::refuse(srv, client, entry, argv, out, CmdError::msg(OOM));
    }
    refused
}

/// Redis's scriptPrepareForRun OOM check: a script with a shebang that
/// allows neither OOM nor only reads may not start out of memory.
pub fn script_start(srv: &Server, client: &Client, script_flags: u32) -> Result<(), CmdError> {
    if client.oom
        && srv.config.maxmemory() != 0
        && script_flags & flags::EVAL_COMPAT == 0
        && script_flags & (flags::ALLOW_OOM | flags::NO_WRITES) == 0
    {
        return Err(CmdError::msg(
            "OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'",
        ));
    }
    Ok(())
}

/// Redis's scriptVerifyOOM: inside a script that started out of memory,
/// before its first write, a denyoom command fails (unless the script has
/// the allow-oom flag).
pub fn script_call_refused(srv: &Server, client: &Client, spec: &CommandSpec, allow_oom: bool) -> bool {
    !allow_oom
        && srv.config.maxmemory() != 0
        && client.oom
        && !srv.scripting.busy.wrote.load(Ordering::Relaxed)
        && spec.has(f::DENYOOM)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(score: u64, key: &str) -> Candidate {
        Candidate { score, shard: 0, db: 0, key: Key::from(key.as_bytes()) }
    }

    #[test]
    fn pool_keeps_the_best_in_order() {
        let mut pool = Vec::new();
        for i in 0..40u64 {
            pool_insert(&mut pool, cand((i * 7) % 40, &format!("k{i}")));
        }
        assert_eq!(pool.len(), POOL_SIZE);
        let scores: Vec<u64> = pool.iter().map(|c| c.score).collect();
        assert_eq!(scores, (24..40).collect::<Vec<u64>>());
        // Worse than everything in a full pool: ignored; a duplicate too.
        pool_insert(&mut pool, cand(3, "low"));
        let dup = String::from_utf8(pool[5].key.to_vec()).unwrap();
        pool_insert(&mut pool, cand(99, &dup));
        assert_eq!(pool.len(), POOL_SIZE);
        assert_eq!(pool[0].score, 24);
        assert_eq!(pool.last().unwrap().score, 39);
    }

    #[test]
    fn tenacity_bounds() {
        assert_eq!(time_limit_us(0), Some(0));
        assert_eq!(time_limit_us(10), Some(500));
        assert_eq!(time_limit_us(11), Some(575));
        assert_eq!(time_limit_us(100), None);
    }
}
