//! Active expiry: reclaims keys whose TTL passed and that nobody reads, and
//! (Redis 7.4) hash fields whose TTL passed: each database's `hexpires`
//! names the hashes with volatile fields; a sample of them is visited per
//! cycle and at most `FIELDS_PER_HASH` fields are reclaimed per hash per
//! visit, so the shard lock is held briefly.
//!
//! `hz` times a second, each shard in turn is locked briefly and, per
//! database, up to 20 random volatile keys are sampled and the dead ones
//! deleted; while more than a quarter of a sample was dead the shard is
//! sampled again, within a time budget per cycle (25% of the cycle period),
//! so a mass expiry never causes a long pause. Shards are visited one at a
//! time, so clients on other shards never wait.

use crate::server::Server;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SAMPLE: usize = 20;
/// Fields reclaimed per hash per visit, so one huge hash never holds a shard
/// for long; the rest goes in later cycles.
const FIELDS_PER_HASH: usize = 200;

pub async fn active_expire_loop(srv: Arc<Server>) {
    let mut next_shard = 0usize;
    loop {
        let hz = crate::cfg_num!(srv.config, "hz").clamp(1, 500) as u64;
        let period = Duration::from_millis(1000 / hz);
        tokio::time::sleep(period).await;
        if srv.shutting_down.load(Ordering::Relaxed) {
            return;
        }
        if !srv.active_expire.load(Ordering::Relaxed) || srv.cron_paused.load(Ordering::Relaxed) {
            continue;
        }
        let budget = period / 4;
        next_shard = cycle(&srv, next_shard, budget);
    }
}

/// One cycle starting at shard `start`; returns where the next one starts.
/// A cycle that reaches the latency monitor's threshold is an
/// `expire-cycle` event.
pub fn cycle(srv: &Server, start: usize, budget: Duration) -> usize {
    let t0 = Instant::now();
    let next = cycle_from(srv, start, budget, t0);
    srv.latency.observe(srv, crate::latency::event::EXPIRE_CYCLE, t0.elapsed().as_micros() as u64);
    next
}

fn cycle_from(srv: &Server, start: usize, budget: Duration, t0: Instant) -> usize {
    // No key expires while clients are paused (see Ctx::live), nor on a
    // replica (its master sends the DELs), but for the keys a writable
    // replica's own clients gave a TTL.
    if srv.pause.holds(srv.clock.now_ms(), true) {
        return start;
    }
    if srv.repl.is_replica() {
        expire_local_keys(srv, budget, t0);
        return start;
    }
    let n = srv.keyspace.nshards();
    for step in 0..n {
        let i = (start + step) % n;
        let now = srv.clock.now_ms();
        // A shard held by a script or EXEC is skipped this cycle.
        // (Active expiry removes only keys a snapshot's load would drop:
        // it leaves pending shards to the next writer.)
        let reading = crate::storage::ReadOnly::enter();
        let Some(mut shard) = srv.keyspace.try_lock_shard(i) else { continue };
        drop(reading);
        for (dbi, db) in shard.dbs.iter_mut().enumerate() {
            loop {
                if db.volatile.is_empty() {
                    break;
                }
                let mut dead = Vec::new();
                for _ in 0..SAMPLE.min(db.volatile.len()) {
                    if let Some(k) = db.random_volatile() {
                        if db.get(k).map(|e| e.is_expired(now)).unwrap_or(false) {
                            dead.push(k.clone());
                        }
                    }
                }
                dead.sort();
                dead.dedup();
                for k in &dead {
                    reclaim(srv, db, dbi, k);
                }
                if dead.len() * 4 <= SAMPLE || t0.elapsed() > budget {
                    break;
                }
            }
            expire_hash_fields(srv, db, dbi, now);
        }
        drop(shard);
        srv.tracking.flush_bcast(srv);
        if t0.elapsed() > budget {
            return (i + 1) % n;
        }
    }
    start
}

/// Deletes the expired key `k` of database `dbi` (whose shard the caller
/// holds) as Redis's activeExpireCycleTryExpire: the deletion is committed
/// (to the AOF only on a replica, which passes on nothing of its own),
/// watchers, `expired` subscribers and tracking clients learn of it.
fn reclaim(srv: &Server, db: &mut crate::storage::Db, dbi: usize, k: &[u8]) {
    let t = crate::latency::Monitor::start(srv);
    if let Some(e) = db.remove(k) {
        srv.lazyfree.free(&srv.config, crate::lazyfree::Why::Expire, e.value);
    }
    srv.latency.end(srv, crate::latency::event::EXPIRE_DEL, t);
    if srv.feed.on() {
        // Under the shard's lock: its place in the serial order.
        let del = crate::propagate::deletion(srv, "lazyfree-lazy-expire");
        let target = if srv.repl.is_replica() { crate::propagate::AOF } else { crate::propagate::ALL };
        srv.feed.commit_one_to(target, dbi, &[del, k]);
    }
    crate::txn::touch_key(srv, dbi, k, false);
    srv.stats.expired_keys.fetch_add(1, Ordering::Relaxed);
    crate::notify::emit(srv, crate::notify::EXPIRED, "expired", dbi, k);
    srv.tracking.invalidate_key(srv, k, 0);
}

/// A writable replica's own keys with a TTL (Redis's expireSlaveKeys): a
/// sample of the remembered names per round; names whose key is gone or
/// persistent are forgotten, expired keys are reclaimed. Rounds go on while
/// more than a quarter of a sample was reclaimed, within `budget`.
fn expire_local_keys(srv: &Server, budget: Duration, t0: Instant) {
    loop {
        // Names are copied out: the set's lock is never held while a shard
        // is taken (a command remembers a name under its shard's lock).
        let sample: Vec<(usize, crate::storage::Key)> = {
            let set = srv.repl.local_volatile.lock();
            if set.is_empty() {
                return;
            }
            let mut v: Vec<_> = (0..SAMPLE.min(set.len()))
                .filter_map(|_| set.get_index(rand::random::<usize>() % set.len()).cloned())
                .collect();
            v.sort();
            v.dedup();
            v
        };
        let (mut forget, mut reclaimed) = (Vec::new(), 0usize);
        for (dbi, k) in sample {
            let reading = crate::storage::ReadOnly::enter();
            let Some(mut shard) = srv.keyspace.try_lock_shard(srv.keyspace.shard_of(&k)) else { continue };
            drop(reading);
            let now = srv.clock.now_ms();
            let Some(db) = shard.dbs.get_mut(dbi) else {
                forget.push((dbi, k));
                continue;
            };
            match db.get(&k) {
                Some(e) if e.is_expired(now) => {
                    reclaim(srv, db, dbi, &k);
                    reclaimed += 1;
                    forget.push((dbi, k));
                }
                Some(e) if e.expire_at != crate::storage::NO_EXPIRE => {}
                _ => forget.push((dbi, k)),
            }
            drop(shard);
            srv.tracking.flush_bcast(srv);
        }
        if !forget.is_empty() {
            let mut set = srv.repl.local_volatile.lock();
            for f in &forget {
                set.swap_remove(f);
            }
        }
        if reclaimed * 4 <= SAMPLE || t0.elapsed() > budget {
            return;
        }
    }
}

/// Hash field expiry (Redis 7.4): samples hashes that have fields with a TTL
/// and reclaims their expired fields (`hexpired`; `del` when the hash is left
/// empty). Stale names (deleted or replaced keys) are dropped on sight.
fn expire_hash_fields(srv: &Server, db: &mut crate::storage::Db, dbi: usize, now: i64) {
    use crate::storage::Value;
    for _ in 0..SAMPLE.min(db.hexpires.len()) {
        let i = rand::random::<usize>() % db.hexpires.len();
        let key = db.hexpires[i].clone();
        let h = match db.map.get_mut(&key) {
            Some(e) if !e.is_expired(now) => match &mut e.value {
                Value::Hash(h) => h,
                _ => {
                    db.hexpires.swap_remove(&key);
                    continue;
                }
            },
            _ => {
                db.hexpires.swap_remove(&key);
                continue;
            }
        };
        let mut names = Vec::new();
        let n = h.purge_expired_names(now, FIELDS_PER_HASH, srv.feed.on().then_some(&mut names));
        let (empty, volatile) = (h.is_empty(), h.min_ttl().is_some());
        if !volatile {
            db.hexpires.swap_remove(&key);
        }
        if empty {
            db.remove(&key);
        }
        if !names.is_empty() {
            // Under the shard's lock: its place in the serial order.
            let mut p = crate::propagate::Pending::default();
            for f in &names {
                p.push(dbi, crate::propagate::ALL, &[b"HDEL".as_slice(), &key, f]);
            }
            srv.feed.commit(&mut p);
        }
        if n > 0 {
            srv.dirty.fetch_add(1, Ordering::Relaxed);
            crate::notify::emit(srv, crate::notify::HASH, "hexpired", dbi, &key);
            if empty {
                crate::notify::emit(srv, crate::notify::GENERIC, "del", dbi, &key);
            }
        }
        if db.hexpires.is_empty() {
            break;
        }
    }
}
