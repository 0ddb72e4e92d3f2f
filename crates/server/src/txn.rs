//! Transactions: the MULTI queue and optimistic locking with WATCH.
//!
//! A client in MULTI keeps its commands in `Multi::queue` (each already
//! resolved to its table entry, arity checked); a rejection while queuing
//! (unknown command, arity, NOAUTH, no_multi, BUSY) sets `Multi::aborted`, and
//! EXEC then answers EXECABORT. EXEC locks in its handler: it holds
//! the shards of every key its queued commands name (and of the watched keys)
//! while it replays the queue through `dispatch::execute_locked` with one
//! frozen clock, so no command touching those keys can interleave, and the
//! ready keys its commands signal are served only after it returns. All the
//! keys are known at EXEC time, so they are locked at once, in ascending
//! order (`lock_for_exec`); a queued keyspace-wide command (FLUSHALL, KEYS,
//! INFO ...) makes it take every shard, and a queued script (or SCRIPT /
//! FUNCTION command) makes it take the script run lock first (a script may
//! add shards while it runs, see `scripting`).
//!
//! WATCH: `Watches` maps (db, key) to the watchers of that key. A watcher is
//! the watching client's shared dirty flag plus Redis's "was already expired
//! when watched" bit. Every write goes through `Ctx::modified`, which calls
//! `touch_key`; with nobody watching anything that is one relaxed atomic load.
//! Lock order: a shard lock may be held when the registry mutex is taken,
//! never the other way around. Keyspace-wide changes (FLUSHALL, FLUSHDB,
//! SWAPDB) call `touch_all_watched_in_db` before they empty or swap a db.
//! At EXEC, a watched key that has logically expired since WATCH (even if no
//! one deleted it yet) also fails the transaction, as in Redis.

use crate::client::Client;
use crate::commands::Entry;
use crate::server::Server;
use crate::storage::{Key, Locked};
use ahash::AHashMap;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// A queued command: its resolved entry and where its arguments are in its
/// transaction's buffer (`Multi::argv`).
pub struct Queued {
    pub entry: &'static Entry,
    /// Its arguments' indices in `Multi::ends`.
    args: std::ops::Range<u32>,
    /// Its first key: argument index, shard and map hash (0 if not known).
    first_key: Option<(u32, u32, u64)>,
}

/// The state of a client between MULTI and EXEC/DISCARD.
#[derive(Default)]
pub struct Multi {
    pub queue: Vec<Queued>,
    /// The queued arguments, one after another (one buffer for the whole
    /// transaction, reused by the client's next one).
    bytes: Vec<u8>,
    /// End offset of each queued argument in `bytes`.
    ends: Vec<u32>,
    /// The shards of every key of the queued commands (what EXEC locks).
    shards: Vec<u32>,
    /// A queued command needs every shard (see `scripting::needs_all`).
    all: bool,
    /// A queued command takes a Lua state's mutex (scripts and the commands
    /// that manage them), so EXEC takes the script run lock first.
    scripts: bool,
    /// An error while queuing: EXEC answers EXECABORT.
    pub aborted: bool,
}

impl Multi {
    /// Bytes the queued transaction holds (CLIENT LIST `multi-mem`, client
    /// eviction).
    pub fn mem(&self) -> usize {
        // As Redis's multiStateMemOverhead: what is queued, not the room
        // the reused buffers happen to have.
        self.queue.len() * std::mem::size_of::<Queued>() + self.bytes.len() + (self.ends.len() + self.shards.len()) * 4
    }

    /// Queues a command. `known` gives a key's shard and hash when the
    /// prefetcher computed them.
    fn push(
        &mut self,
        ks: &crate::storage::Keyspace,
        entry: &'static Entry,
        argv: &[&[u8]],
        mut known: impl FnMut(&[u8]) -> Option<(usize, u64)>,
    ) {
        let name = entry.spec.name;
        self.scripts |= ["eval", "fcall", "script|", "function|"].iter().any(|p| name.starts_with(p));
        let mut first_key = None;
        if crate::scripting::needs_all(entry) {
            self.all = true;
        } else {
            let mut pos = crate::cmdspec::KeyPositions::new();
            entry.spec.key_positions(argv, &mut pos);
            for (n, &i) in pos.iter().enumerate() {
                let k = argv[i];
                let (shard, hash) = known(k).unwrap_or_else(|| (ks.shard_of(k), 0));
                self.shards.push(shard as u32);
                if n == 0 {
                    first_key = Some((i as u32, shard as u32, hash));
                }
            }
        }
        let first = self.ends.len() as u32;
        for a in argv {
            self.bytes.extend_from_slice(a);
            self.ends.push(self.bytes.len() as u32);
        }
        self.queue.push(Queued { entry, args: first..self.ends.len() as u32, first_key });
    }

    /// The first key of a queued command (among `argv`, from `argv`), with
    /// its shard and hash, for `Locked::hint_key`.
    pub fn first_key<'b>(&self, q: &Queued, argv: &[&'b [u8]]) -> Option<(&'b [u8], usize, u64)> {
        let (i, shard, hash) = q.first_key?;
        Some((argv.get(i as usize)?, shard as usize, hash))
    }

    /// The arguments of a queued command, borrowed.
    pub fn argv(&self, q: &Queued) -> smallvec::SmallVec<[&[u8]; 8]> {
        let (i, j) = (q.args.start as usize, q.args.end as usize);
        let mut start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        self.ends[i..j]
            .iter()
            .map(|&e| {
                let a = &self.bytes[start..e as usize];
                start = e as usize;
                a
            })
            .collect()
    }

    /// Empties the transaction, keeping its buffers unless they grew large.
    fn recycle(mut self) -> Option<Multi> {
        if self.bytes.capacity() > 64 * 1024 || self.queue.capacity() > 1024 {
            return None;
        }
        self.queue.clear();
        self.bytes.clear();
        self.ends.clear();
        self.shards.clear();
        self.all = false;
        self.scripts = false;
        self.aborted = false;
        Some(self)
    }
}

/// Starts a transaction (MULTI), reusing the buffers of the last one.
pub fn begin(client: &mut Client) {
    client.multi = Some(client.multi_spare.take().unwrap_or_default());
}

/// Leaves MULTI, keeping the transaction's buffers for the next one.
pub fn end(client: &mut Client, m: Multi) {
    client.multi_spare = m.recycle();
}

/// The keys a client watches, and its dirty flag (shared with the registry).
#[derive(Default)]
pub struct WatchSet {
    pub dirty: Arc<AtomicBool>,
    pub keys: Vec<(usize, Key)>,
}

struct Watcher {
    dirty: Arc<AtomicBool>,
    /// The key was already logically expired when WATCH ran: its deletion is
    /// not a change.
    expired: bool,
}

/// The server-wide registry of watched keys.
#[derive(Default)]
pub struct Watches {
    /// Number of (db, key) entries: the fast path when nobody watches.
    count: AtomicUsize,
    dbs: Mutex<AHashMap<usize, AHashMap<Key, Vec<Watcher>>>>,
}

impl Watches {
    pub fn is_empty(&self) -> bool {
        self.count.load(Ordering::Relaxed) == 0
    }
}

/// Redis's flagTransaction: an error while queuing.
pub fn flag(client: &mut Client) {
    if let Some(m) = client.multi.as_mut() {
        m.aborted = true;
    }
}

/// Updates what CLIENT LIST and INFO show as `multi=`.
pub fn publish_multi_len(client: &Client) {
    let n = client.multi.as_ref().map(|m| m.queue.len() as i64).unwrap_or(-1);
    client.info.in_multi.store(n, Ordering::Relaxed);
}

/// Queues a command (the caller replies +QUEUED).
pub fn queue(srv: &Server, client: &mut Client, entry: &'static Entry, argv: &[&[u8]]) {
    if let Some(m) = client.multi.as_mut() {
        let hints = &mut client.key_hints;
        m.push(&srv.keyspace, entry, argv, |k| hints.find(k));
    }
    publish_multi_len(client);
}

/// What EXEC holds while it runs the queue of `client` (see the module
/// docs): the script run lock if a script is queued, then the shards. `None`
/// if `give_up` said so while waiting (a busy script).
pub fn lock_for_exec<'a>(
    srv: &'a Server,
    client: &Client,
    give_up: &dyn Fn() -> bool,
) -> Option<(Option<parking_lot::ReentrantMutexGuard<'a, ()>>, Locked<'a>)> {
    let Some(m) = client.multi.as_ref() else { return Some((None, srv.keyspace.lock_none())) };
    let ks = &srv.keyspace;
    let (all, scripts) = (m.all, m.scripts);
    let mut idx: smallvec::SmallVec<[usize; 8]> = client.watch.keys.iter().map(|(_, k)| ks.shard_of(k)).collect();
    idx.extend(m.shards.iter().map(|&s| s as usize));
    let run = if scripts && !m.aborted {
        Some(loop {
            if let Some(g) = srv.scripting.run_lock.try_lock_for(std::time::Duration::from_millis(5)) {
                break g;
            }
            if give_up() {
                return None;
            }
        })
    } else {
        None
    };
    let locked = if all {
        ks.lock_all_unless(give_up)?
    } else {
        idx.sort_unstable();
        idx.dedup();
        ks.lock_indices_unless(&idx, give_up)?
    };
    Some((run, locked))
}

/// Adds `key` of `db` to the client's watched keys. `expired` says whether
/// it is already logically expired now.
pub fn watch_key(srv: &Server, client: &mut Client, db: usize, key: &[u8], expired: bool) {
    if client.watch.keys.iter().any(|(d, k)| *d == db && &k[..] == key) {
        return;
    }
    let mut dbs = srv.watches.dbs.lock();
    let list = dbs.entry(db).or_default().entry(key.into()).or_insert_with(|| {
        srv.watches.count.fetch_add(1, Ordering::Relaxed);
        Vec::new()
    });
    list.push(Watcher { dirty: client.watch.dirty.clone(), expired });
    client.watch.keys.push((db, key.into()));
}

/// Forgets every key the client watches (the dirty flag is left as is).
pub fn unwatch_all(srv: &Server, client: &mut Client) {
    if client.watch.keys.is_empty() {
        return;
    }
    let mut dbs = srv.watches.dbs.lock();
    for (db, key) in client.watch.keys.drain(..) {
        let Some(map) = dbs.get_mut(&db) else { continue };
        let Some(list) = map.get_mut(&key) else { continue };
        list.retain(|w| !Arc::ptr_eq(&w.dirty, &client.watch.dirty));
        if list.is_empty() {
            map.remove(&key);
            srv.watches.count.fetch_sub(1, Ordering::Relaxed);
            if map.is_empty() {
                dbs.remove(&db);
            }
        }
    }
}

/// Ends a transaction (EXEC, DISCARD): leaves MULTI, unwatches everything and
/// clears the dirty flag.
pub fn discard(srv: &Server, client: &mut Client) {
    if let Some(m) = client.multi.take() {
        end(client, m);
    }
    unwatch_all(srv, client);
    client.watch.dirty.store(false, Ordering::Relaxed);
    publish_multi_len(client);
}

/// Called when a connection closes or is RESET.
pub fn on_disconnect(srv: &Server, client: &mut Client) {
    discard(srv, client);
}

/// Redis's touchWatchedKey: `key` of `db` was written. `exists` tells whether
/// the key exists after the write (an already-expired watched key that is now
/// gone is no logical change).
pub fn touch_key(srv: &Server, db: usize, key: &[u8], exists: bool) {
    if srv.watches.is_empty() {
        return;
    }
    let mut dbs = srv.watches.dbs.lock();
    let Some(list) = dbs.get_mut(&db).and_then(|m| m.get_mut(key)) else { return };
    for w in list.iter_mut() {
        if w.expired {
            if !exists {
                w.expired = false;
                continue;
            }
            w.expired = false;
        }
        w.dirty.store(true, Ordering::Relaxed);
    }
}

/// Redis's touchAllWatchedKeysInDb, for FLUSHALL/FLUSHDB (`other` = None,
/// called before `db` is emptied) and SWAPDB (called before the swap, once
/// per side with `other` the db it is swapped with). `locked` must hold every
/// shard. `now_ms` decides logical expiry.
pub fn touch_all_watched_in_db(srv: &Server, locked: &mut Locked<'_>, db: usize, other: Option<usize>, now_ms: i64) {
    if srv.watches.is_empty() {
        return;
    }
    let mut dbs = srv.watches.dbs.lock();
    let Some(map) = dbs.get_mut(&db) else { return };
    for (key, list) in map.iter_mut() {
        let Some(shard) = locked.shard_mut(key) else { continue };
        let in_emptied = shard.dbs.get(db).and_then(|d| d.get(key)).is_some();
        let in_other = other.and_then(|o| shard.dbs.get(o)).and_then(|d| d.get(key));
        let other_expired = in_other.map(|e| e.is_expired(now_ms)).unwrap_or(false);
        if !in_emptied && in_other.is_none() {
            continue;
        }
        for w in list.iter_mut() {
            if w.expired {
                if in_other.is_none() {
                    w.expired = false;
                    continue;
                } else if other_expired {
                    continue;
                }
            } else if !in_emptied && other_expired {
                w.expired = true;
                continue;
            }
            w.dirty.store(true, Ordering::Relaxed);
        }
    }
}

/// Marks every watcher of every db dirty where the watched key exists
/// (FLUSHALL).
pub fn touch_all_watched(srv: &Server, locked: &mut Locked<'_>, now_ms: i64) {
    if srv.watches.is_empty() {
        return;
    }
    let ndb = srv.keyspace.ndb();
    for db in 0..ndb {
        touch_all_watched_in_db(srv, locked, db, None, now_ms);
    }
}

/// Redis's isWatchedKeyExpired: a watched key (alive when watched) is now
/// logically expired. `locked` must hold every shard.
pub fn watched_key_expired(srv: &Server, client: &Client, locked: &mut Locked<'_>, now_ms: i64) -> bool {
    if client.watch.keys.is_empty() {
        return false;
    }
    let dbs = srv.watches.dbs.lock();
    for (db, key) in &client.watch.keys {
        let was_expired = dbs
            .get(db)
            .and_then(|m| m.get(key))
            .and_then(|l| l.iter().find(|w| Arc::ptr_eq(&w.dirty, &client.watch.dirty)))
            .map(|w| w.expired)
            .unwrap_or(false);
        if was_expired {
            continue;
        }
        let Some(shard) = locked.shard_mut(key) else { continue };
        if shard.dbs.get(*db).and_then(|d| d.get(key)).map(|e| e.is_expired(now_ms)).unwrap_or(false) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ClientInfo;
    use crate::Config;

    fn client(id: u64) -> Client {
        Client::new(Arc::new(ClientInfo::new(id, None, None, 0)), true)
    }

    #[test]
    fn watch_touch_unwatch() {
        let srv = Server::new(Config::default());
        let (mut a, mut b) = (client(1), client(2));
        assert!(srv.watches.is_empty());
        watch_key(&srv, &mut a, 0, b"k", false);
        watch_key(&srv, &mut a, 0, b"k", false);
        watch_key(&srv, &mut b, 0, b"k", false);
        watch_key(&srv, &mut b, 1, b"k", false);
        assert_eq!(a.watch.keys.len(), 1);
        touch_key(&srv, 1, b"k", true);
        assert!(!a.watch.dirty.load(Ordering::Relaxed));
        assert!(b.watch.dirty.load(Ordering::Relaxed));
        touch_key(&srv, 0, b"other", true);
        assert!(!a.watch.dirty.load(Ordering::Relaxed));
        touch_key(&srv, 0, b"k", true);
        assert!(a.watch.dirty.load(Ordering::Relaxed));
        discard(&srv, &mut a);
        assert!(!a.watch.dirty.load(Ordering::Relaxed));
        discard(&srv, &mut b);
        assert!(srv.watches.is_empty());
    }

    #[test]
    fn expired_watched_key_deleted_is_no_change() {
        let srv = Server::new(Config::default());
        let mut a = client(1);
        watch_key(&srv, &mut a, 0, b"k", true);
        // The expired key is deleted: no logical change.
        touch_key(&srv, 0, b"k", false);
        assert!(!a.watch.dirty.load(Ordering::Relaxed));
        // Then it is written: a change.
        touch_key(&srv, 0, b"k", true);
        assert!(a.watch.dirty.load(Ordering::Relaxed));
    }

    #[test]
    fn multi_queue_and_flag() {
        let srv = Server::new(Config::default());
        let mut a = client(1);
        flag(&mut a);
        assert!(a.multi.is_none());
        begin(&mut a);
        let e = crate::dispatch::resolve(&[b"get", b"k"]).unwrap();
        queue(&srv, &mut a, e, &[b"get", b"k"]);
        let m = crate::dispatch::resolve(&[b"mset", b"a", b"1", b"b", b"2"]).unwrap();
        queue(&srv, &mut a, m, &[b"mset", b"a", b"1", b"b", b"2"]);
        assert_eq!(a.info.in_multi.load(Ordering::Relaxed), 2);
        {
            let q = a.multi.as_ref().unwrap();
            assert_eq!(q.argv(&q.queue[1]).as_slice(), &[&b"mset"[..], b"a", b"1", b"b", b"2"]);
            let argv = q.argv(&q.queue[0]);
            let (k, shard, _) = q.first_key(&q.queue[0], &argv).unwrap();
            assert_eq!((k, shard), (&b"k"[..], srv.keyspace.shard_of(b"k")));
            let mut want = vec![srv.keyspace.shard_of(b"k"), srv.keyspace.shard_of(b"a"), srv.keyspace.shard_of(b"b")];
            let mut got: Vec<usize> = q.shards.iter().map(|&s| s as usize).collect();
            want.sort();
            got.sort();
            assert_eq!(got, want);
        }
        flag(&mut a);
        assert!(a.multi.as_ref().unwrap().aborted);
        // DISCARD keeps the buffers for the next transaction, emptied.
        discard(&srv, &mut a);
        assert!(a.multi.is_none() && a.multi_spare.is_some());
        begin(&mut a);
        let q = a.multi.as_ref().unwrap();
        assert!(q.queue.is_empty() && q.shards.is_empty() && !q.aborted && q.bytes.capacity() > 0);
    }
}
