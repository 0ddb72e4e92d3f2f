//! The keyspace: databases split into independently locked shards.
//!
//! A key belongs to the shard `slot(key) & (nshards - 1)`, where `slot` is the
//! Redis Cluster hash slot (CRC16 of the key or of its `{hash tag}`): keys that
//! share a tag share a shard, so a multi-key command on tagged keys takes one
//! lock, and a future cluster mode moves whole slots. Every shard holds all
//! databases (`Shard::dbs[db]`): SELECT needs no lock, SWAPDB and FLUSHALL
//! take every shard in index order.
//!
//! Locking rule: a command locks the shards of its keys in ascending index
//! order (see `Keyspace::acquire`), so two commands can never wait on each
//! other in a cycle; commands on keys of different shards run in parallel on
//! different cores. Keyspace-wide commands take every shard; MULTI/EXEC and
//! scripts take the shards of their keys, and a script may add shards while
//! it runs (`Locked::acquire_more`, with the escalation rule that keeps it
//! deadlock-free; docs/architecture.md). No I/O is ever done while a shard
//! is held.
//!
//! Within a database, keys live in an insertion-ordered hash map (`KeyMap`,
//! an `IndexMap` laid out for memory).
//! Its dense entry vector gives O(1) random keys (RANDOMKEY, active-expiry
//! sampling, eviction sampling) and a SCAN cursor that walks positions from the
//! end toward zero: removals swap the last entry into the hole and inserts
//! append, so an entry present for a whole scan is never skipped (it may be
//! returned twice, as Redis allows). Keys with a TTL are also in `volatile`,
//! sampled by active expiry.

pub mod compact;
mod crc16;
pub mod keymap;
pub mod lfu;
pub mod value;

use indexmap::IndexSet;
use parking_lot::{Mutex, MutexGuard};
use smallvec::SmallVec;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

pub use crc16::{crc16, key_hash_slot};
pub use value::{Str, Value};

/// Keys: inline up to 23 bytes (see `compact`).
pub type Key = compact::CompactBytes;
pub type Hasher = ahash::RandomState;

/// No expiry.
pub const NO_EXPIRE: i64 = -1;

pub struct Entry {
    pub value: Value,
    /// Absolute unix time in milliseconds, or `NO_EXPIRE`.
    pub expire_at: i64,
    /// LRU clock (seconds) of the last access, for OBJECT IDLETIME.
    pub lru: u32,
    /// The value is a private copy (COPY duplicates the object in Redis), so
    /// a small integer here is not one of Redis's shared integers: OBJECT
    /// REFCOUNT says 1. Any new value clears it.
    pub unshared: bool,
}

impl Entry {
    pub fn new(value: Value, lru: u32) -> Self {
        Entry { value, expire_at: NO_EXPIRE, lru, unshared: false }
    }

    pub fn is_expired(&self, now_ms: i64) -> bool {
        self.expire_at != NO_EXPIRE && self.expire_at <= now_ms
    }
}

#[derive(Default)]
pub struct Db {
    pub map: keymap::KeyMap,
    pub volatile: IndexSet<Key, Hasher>,
    /// Keys of hashes that have fields with a TTL (sampled by active field
    /// expiry). May hold stale names: the sampler drops them.
    pub hexpires: IndexSet<Key, Hasher>,
}

impl Db {
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn get(&self, key: &[u8]) -> Option<&Entry> {
        self.map.get(key)
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.map.get_mut(key)
    }

    /// Inserts or replaces the value. Replacing clears the TTL unless
    /// `keep_ttl`.
    pub fn set(&mut self, key: &[u8], value: Value, keep_ttl: bool, lru: u32) {
        if let Some(e) = self.map.get_mut(key) {
            e.value = value;
            e.lru = lru;
            e.unshared = false;
            if !keep_ttl && e.expire_at != NO_EXPIRE {
                e.expire_at = NO_EXPIRE;
                self.volatile.swap_remove(key);
            }
        } else {
            self.map.insert(key.into(), Entry::new(value, lru));
        }
    }

    /// `set` with one lookup: `access` gives the new LRU/LFU word from the
    /// replaced entry, if any. Returns the replaced value (`None`: the key
    /// is new), for the caller to free (see lazyfree.rs).
    pub fn set_with(
        &mut self,
        h: u64,
        key: &[u8],
        value: Value,
        keep_ttl: bool,
        access: impl FnOnce(Option<&Entry>) -> u32,
    ) -> Option<Value> {
        match self.map.position_hashed(h, key).ok_or(h) {
            Ok(i) => {
                let e = self.map.entry_at_mut(i);
                e.lru = access(Some(e));
                let old = std::mem::replace(&mut e.value, value);
                e.unshared = false;
                if !keep_ttl && e.expire_at != NO_EXPIRE {
                    e.expire_at = NO_EXPIRE;
                    self.volatile.swap_remove(key);
                }
                Some(old)
            }
            Err(h) => {
                self.map.insert_absent(h, key.into(), Entry::new(value, access(None)));
                None
            }
        }
    }

    /// Inserts a whole entry (value and TTL), replacing any old one, which
    /// is returned for the caller to free.
    pub fn insert_entry(&mut self, key: &[u8], entry: Entry) -> Option<Entry> {
        let volatile = entry.expire_at != NO_EXPIRE;
        let old = self.map.insert(key.into(), entry);
        if let Some(old) = &old {
            if old.expire_at != NO_EXPIRE && !volatile {
                self.volatile.swap_remove(key);
            }
        }
        if volatile {
            self.volatile.insert(key.into());
        }
        old
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let e = self.map.swap_remove(key)?;
        if e.expire_at != NO_EXPIRE {
            self.volatile.swap_remove(key);
        }
        Some(e)
    }

    /// Sets the absolute expiry of an existing key. False if it is absent.
    pub fn set_expire(&mut self, key: &[u8], at_ms: i64) -> bool {
        let Some(e) = self.map.get_mut(key) else { return false };
        if e.expire_at == NO_EXPIRE {
            self.volatile.insert(key.into());
        }
        e.expire_at = at_ms;
        true
    }

    /// Removes the TTL. True if there was one.
    pub fn persist(&mut self, key: &[u8]) -> bool {
        match self.map.get_mut(key) {
            Some(e) if e.expire_at != NO_EXPIRE => {
                e.expire_at = NO_EXPIRE;
                self.volatile.swap_remove(key);
                true
            }
            _ => false,
        }
    }

    pub fn clear(&mut self) {
        self.map = keymap::KeyMap::default();
        self.volatile = IndexSet::default();
        self.hexpires = IndexSet::default();
    }

    /// A uniformly random key (expired or not).
    pub fn random_key(&self) -> Option<&Key> {
        if self.map.is_empty() {
            return None;
        }
        let i = rand::random::<usize>() % self.map.len();
        self.map.get_index(i).map(|(k, _)| k)
    }

    /// A random key that has a TTL.
    pub fn random_volatile(&self) -> Option<&Key> {
        if self.volatile.is_empty() {
            return None;
        }
        let i = rand::random::<usize>() % self.volatile.len();
        self.volatile.get_index(i)
    }

    /// One SCAN step over this database: visits up to `count` positions below
    /// `boundary` (clamped to the current length), from high to low, and
    /// returns the new boundary (0 = this database is done).
    pub fn scan_step(&self, boundary: usize, count: usize, mut f: impl FnMut(&Key, &Entry)) -> usize {
        let mut b = boundary.min(self.map.len());
        let mut n = 0;
        while b > 0 && n < count {
            b -= 1;
            let (k, e) = self.map.get_index(b).expect("index below len");
            f(k, e);
            n += 1;
        }
        b
    }
}

pub struct Shard {
    pub dbs: Box<[Db]>,
}

impl Shard {
    fn new(ndb: usize) -> Self {
        Shard { dbs: (0..ndb).map(|_| Db::default()).collect() }
    }
}

pub struct Keyspace {
    shards: Box<[Mutex<Shard>]>,
    mask: usize,
    ndb: usize,
    /// Non-zero while a running script waits for a shard it did not declare
    /// (`Locked::acquire_more`): lockers that hold shards and wait for
    /// another release what they hold and start over (see `acquire`).
    escalating: AtomicUsize,
    /// A point-in-time snapshot in progress (`begin_snapshot`): shards not
    /// captured yet are `pending`; the first locker of such a shard hands
    /// its contents to the sink before doing anything with it.
    snap_any: AtomicBool,
    snap_pending: Box<[AtomicBool]>,
    snap_sink: Mutex<Option<SnapshotSink>>,
}

/// Receives each shard of a snapshot once, as it was when the snapshot
/// began (called with the shard locked, possibly with other shards held:
/// it must not lock shards or wait).
pub type SnapshotSink = std::sync::Arc<dyn Fn(usize, &Shard) + Send + Sync>;

thread_local! {
    static READ_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// While held, shards this thread locks are not copied out for a running
/// snapshot: the locker only reads (or removes keys whose TTL has passed,
/// which a load of the snapshot would drop anyway). A later writer copies
/// them.
pub struct ReadOnly(bool);

impl ReadOnly {
    pub fn enter() -> ReadOnly {
        ReadOnly(READ_ONLY.with(|r| r.replace(true)))
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        READ_ONLY.with(|r| r.set(self.0));
    }
}

/// How long a multi-shard locker waits for one shard before it looks at
/// the escalation flag (and its give-up condition) again.
const SLICE: Duration = Duration::from_millis(2);

impl Keyspace {
    /// `nshards` is rounded up to a power of two (at most 16384).
    pub fn new(ndb: usize, nshards: usize) -> Self {
        let n = nshards.clamp(1, 16384).next_power_of_two();
        Keyspace {
            shards: (0..n).map(|_| Mutex::new(Shard::new(ndb))).collect(),
            mask: n - 1,
            ndb,
            escalating: AtomicUsize::new(0),
            snap_any: AtomicBool::new(false),
            snap_pending: (0..n).map(|_| AtomicBool::new(false)).collect(),
            snap_sink: Mutex::new(None),
        }
    }

    /// Starts a point-in-time snapshot. The caller holds every shard
    /// (`all`), so the moment is the same for all of them. From now on,
    /// whoever locks a shard first (a command, background work, or the
    /// snapshot's own writer) gives it to `sink` before using it: a shard
    /// is copied out before its first change, never the whole keyspace at
    /// once (copy-on-write by shard, no fork).
    pub fn begin_snapshot(&self, all: &Locked<'_>, sink: SnapshotSink) {
        assert!(all.all && std::ptr::eq(all.ks, self), "a snapshot starts with every shard held");
        *self.snap_sink.lock() = Some(sink);
        for p in self.snap_pending.iter() {
            p.store(true, Ordering::Relaxed);
        }
        self.snap_any.store(true, Ordering::Relaxed);
    }

    /// Ends a snapshot whose shards were all given to the sink.
    pub fn end_snapshot(&self) {
        self.snap_any.store(false, Ordering::Relaxed);
        *self.snap_sink.lock() = None;
    }

    /// The snapshot hook on every path that locks a shard. The flags were
    /// set under every shard's lock, so taking shard `i`'s lock makes them
    /// visible here.
    #[inline]
    fn captured<'g>(&self, i: usize, g: MutexGuard<'g, Shard>) -> MutexGuard<'g, Shard> {
        if self.snap_any.load(Ordering::Relaxed) && !READ_ONLY.with(|r| r.get()) {
            self.capture(i, &g);
        }
        g
    }

    #[cold]
    fn capture(&self, i: usize, s: &Shard) {
        if self.snap_pending[i].swap(false, Ordering::AcqRel) {
            let sink = self.snap_sink.lock().clone();
            if let Some(f) = sink {
                f(i, s);
            }
        }
    }

    pub fn nshards(&self) -> usize {
        self.shards.len()
    }

    pub fn ndb(&self) -> usize {
        self.ndb
    }

    pub fn shard_of(&self, key: &[u8]) -> usize {
        key_hash_slot(key) as usize & self.mask
    }

    /// Locks one shard (for background work such as active expiry). The
    /// caller must hold no other shard.
    pub fn lock_shard(&self, i: usize) -> MutexGuard<'_, Shard> {
        self.captured(i, self.shards[i].lock())
    }

    /// Locks one shard if it is free (background work skips busy shards
    /// rather than blocking a worker behind a script or EXEC).
    pub fn try_lock_shard(&self, i: usize) -> Option<MutexGuard<'_, Shard>> {
        self.shards[i].try_lock().map(|g| self.captured(i, g))
    }

    /// Locks the shards of `keys`, in ascending order.
    pub fn lock_keys<'a, K: AsRef<[u8]>>(&'a self, keys: impl IntoIterator<Item = K>) -> Locked<'a> {
        let idx = self.indices(keys);
        self.lock_indices(&idx)
    }

    /// The sorted, unique shard indices of `keys`.
    pub fn indices<K: AsRef<[u8]>>(&self, keys: impl IntoIterator<Item = K>) -> SmallVec<[usize; 4]> {
        let mut idx: SmallVec<[usize; 4]> = keys.into_iter().map(|k| self.shard_of(k.as_ref())).collect();
        idx.sort_unstable();
        idx.dedup();
        idx
    }

    /// Locks the given shard indices, which must be sorted and unique.
    pub fn lock_indices<'a>(&'a self, idx: &[usize]) -> Locked<'a> {
        self.acquire(idx.iter().copied(), false, &|| false).expect("never gives up")
    }

    /// Locks every shard, in order.
    pub fn lock_all(&self) -> Locked<'_> {
        self.acquire(0..self.shards.len(), true, &|| false).expect("never gives up")
    }

    /// Like `lock_keys`, but gives up (releasing what it took) when
    /// `give_up` says so while a shard is contended (a busy script).
    pub fn lock_keys_unless<'a, K: AsRef<[u8]>>(
        &'a self,
        keys: impl IntoIterator<Item = K>,
        give_up: &dyn Fn() -> bool,
    ) -> Option<Locked<'a>> {
        self.lock_keys_hinted(keys, |_| None, give_up)
    }

    /// `lock_keys_unless` where `known` may already know a key's shard and
    /// map hash (computed by the prefetcher), saving their computation.
    pub fn lock_keys_hinted<'a, K: AsRef<[u8]>>(
        &'a self,
        keys: impl IntoIterator<Item = K>,
        mut known: impl FnMut(&[u8]) -> Option<(usize, u64)>,
        give_up: &dyn Fn() -> bool,
    ) -> Option<Locked<'a>> {
        let mut idx: SmallVec<[usize; 4]> = SmallVec::new();
        let mut first: Option<(*const u8, usize, usize, u64)> = None;
        for k in keys {
            let k = k.as_ref();
            let (s, h) = known(k).unwrap_or_else(|| (self.shard_of(k), 0));
            if first.is_none() {
                first = Some((k.as_ptr(), k.len(), s, h));
            }
            idx.push(s);
        }
        if idx.len() > 1 {
            idx.sort_unstable();
            idx.dedup();
        }
        let mut locked = self.acquire(idx.iter().copied(), false, give_up)?;
        if let Some((ptr, len, shard, hash)) = first {
            locked.hint = KeyHint { ptr: ptr as usize, len, shard, hash };
        }
        Some(locked)
    }

    /// Like `lock_indices` (sorted, unique), but gives up as
    /// `lock_keys_unless` does.
    pub fn lock_indices_unless<'a>(&'a self, idx: &[usize], give_up: &dyn Fn() -> bool) -> Option<Locked<'a>> {
        self.acquire(idx.iter().copied(), false, give_up)
    }

    /// Like `lock_all`, but gives up as `lock_keys_unless` does.
    pub fn lock_all_unless(&self, give_up: &dyn Fn() -> bool) -> Option<Locked<'_>> {
        self.acquire(0..self.shards.len(), true, give_up)
    }

    /// Takes the shards `idx` (ascending) one by one. While a shard is
    /// contended it waits in slices; between slices it gives up if
    /// `give_up` says so, and if a script is escalating (see
    /// `Locked::acquire_more`) while this locker holds shards, it releases
    /// them, waits for the escalation to end and starts over. Nothing has
    /// run under the shards yet, so releasing them is invisible.
    fn acquire(
        &self,
        idx: impl Iterator<Item = usize> + Clone,
        all: bool,
        give_up: &dyn Fn() -> bool,
    ) -> Option<Locked<'_>> {
        'start: loop {
            let mut guards = SmallVec::new();
            for i in idx.clone() {
                let g = match self.shards[i].try_lock() {
                    Some(g) => g,
                    None => loop {
                        if let Some(g) = self.shards[i].try_lock_for(SLICE) {
                            break g;
                        }
                        if give_up() {
                            return None;
                        }
                        if !guards.is_empty() && self.escalating.load(Ordering::SeqCst) != 0 {
                            guards.clear();
                            while self.escalating.load(Ordering::SeqCst) != 0 {
                                if give_up() {
                                    return None;
                                }
                                std::thread::sleep(Duration::from_micros(50));
                            }
                            continue 'start;
                        }
                    },
                };
                guards.push((i, self.captured(i, g)));
            }
            return Some(Locked { ks: self, guards, all, hint: KeyHint::NONE });
        }
    }

    /// Locks nothing (commands without keys).
    pub fn lock_none(&self) -> Locked<'_> {
        Locked { ks: self, guards: SmallVec::new(), all: false, hint: KeyHint::NONE }
    }
}

/// The shards a command holds. Dropping it releases them.
pub struct Locked<'a> {
    ks: &'a Keyspace,
    guards: SmallVec<[(usize, MutexGuard<'a, Shard>); 4]>,
    all: bool,
    hint: KeyHint,
}

/// The last key (other than a command's hinted first key) whose shard and
/// hash this thread computed, so the lookups of one command on the same key
/// compute them once. Compared by content, not address (a handler may build
/// keys in buffers that are freed and reused, and a script's strings come
/// and go), and with the keyspace's shard mask, so it never goes stale.
/// Per thread rather than in `Locked`, which moves with every command.
#[derive(Clone, Copy)]
struct Memo {
    /// Key length, or `usize::MAX` when empty.
    len: usize,
    bytes: [u8; Memo::MAX],
    mask: usize,
    shard: usize,
    /// The key's `keymap::hash_key`, or 0 if not known.
    hash: u64,
}

thread_local! {
    static MEMO: std::cell::UnsafeCell<Memo> = const { std::cell::UnsafeCell::new(Memo::NONE) };
}

/// Runs `f` on this thread's memo. `f` must not call back into here.
#[inline]
fn with_memo<R>(f: impl FnOnce(&mut Memo) -> R) -> R {
    // SAFETY: the memo is this thread's alone and `f` does not reenter, so
    // this is the only reference to it.
    MEMO.with(|m| f(unsafe { &mut *m.get() }))
}

impl Memo {
    const MAX: usize = 32;
    const NONE: Memo = Memo { len: usize::MAX, bytes: [0; Memo::MAX], mask: 0, shard: 0, hash: 0 };

    #[inline]
    fn is(&self, key: &[u8], mask: usize) -> bool {
        self.len == key.len() && self.mask == mask && self.bytes[..key.len().min(Memo::MAX)] == *key
    }
}

/// The shard of the first key a command was locked for, remembered by the
/// address and length of the argument: a handler looks that same slice up
/// again, and then the slot hash need not be computed a second time. A
/// different slice with the same address and length cannot exist while the
/// command's arguments are alive, and a stale hint only costs a miss.
#[derive(Clone, Copy)]
struct KeyHint {
    ptr: usize,
    len: usize,
    shard: usize,
    /// The key's `keymap::hash_key`, or 0 if not known.
    hash: u64,
}

impl KeyHint {
    const NONE: KeyHint = KeyHint { ptr: 0, len: 0, shard: 0, hash: 0 };

    #[inline]
    fn is(&self, key: &[u8]) -> bool {
        self.ptr == key.as_ptr() as usize && self.len == key.len() && self.ptr != 0
    }
}

impl<'a> Locked<'a> {
    pub fn keyspace(&self) -> &'a Keyspace {
        self.ks
    }

    pub fn holds_all(&self) -> bool {
        self.all
    }

    /// Tells the lookups that follow the shard and map hash (0: not known)
    /// of `key`, this very slice (see `KeyHint`).
    pub fn hint_key(&mut self, key: &[u8], shard: usize, hash: u64) {
        self.hint = KeyHint { ptr: key.as_ptr() as usize, len: key.len(), shard, hash };
    }

    /// True if the shard of `key` is held.
    pub fn holds(&self, key: &[u8]) -> bool {
        self.all || self.find(self.shard_index(key)).is_some()
    }

    /// The shard index of `key` (see `KeyHint`).
    #[inline]
    fn shard_index(&self, key: &[u8]) -> usize {
        if self.hint.is(key) {
            return self.hint.shard;
        }
        let mask = self.ks.mask;
        with_memo(|m| {
            if m.is(key, mask) {
                return m.shard;
            }
            let shard = self.ks.shard_of(key);
            if key.len() <= Memo::MAX {
                m.len = key.len();
                m.bytes[..key.len()].copy_from_slice(key);
                m.mask = mask;
                m.shard = shard;
                m.hash = 0;
            }
            shard
        })
    }

    /// `keymap::hash_key(key)`, known already for the command's first key
    /// when the prefetcher saw it.
    #[inline]
    pub fn hash_of(&self, key: &[u8]) -> u64 {
        if self.hint.is(key) && self.hint.hash != 0 {
            return self.hint.hash;
        }
        let mask = self.ks.mask;
        with_memo(|m| {
            if m.is(key, mask) {
                if m.hash == 0 {
                    m.hash = keymap::hash_key(key);
                }
                return m.hash;
            }
            keymap::hash_key(key)
        })
    }

    fn find(&self, shard: usize) -> Option<usize> {
        if self.all {
            return Some(shard);
        }
        self.guards.iter().position(|(i, _)| *i == shard)
    }

    /// The held shard that owns `key`; `None` if the command did not lock it
    /// (a bug in a key spec; callers turn it into an error, never a panic).
    pub fn shard_mut(&mut self, key: &[u8]) -> Option<&mut Shard> {
        let s = self.shard_index(key);
        let i = self.find(s)?;
        Some(&mut self.guards[i].1)
    }

    /// The held shard that owns `key`, shared (several at once for
    /// multi-key reads such as ZUNION).
    pub fn shard_ref(&self, key: &[u8]) -> Option<&Shard> {
        self.shard(key)
    }

    /// The held shard that owns `key`, for reading.
    pub fn shard(&self, key: &[u8]) -> Option<&Shard> {
        let i = self.find(self.shard_index(key))?;
        Some(&self.guards[i].1)
    }

    /// Every held shard, in index order.
    pub fn shards_mut(&mut self) -> impl Iterator<Item = &mut Shard> + use<'_, 'a> {
        self.guards.iter_mut().map(|(_, g)| &mut **g)
    }

    /// Adds shard `i` to the held set while the command runs: a script
    /// reaching a key it did not declare. Strict two-phase locking is kept
    /// (shards are only added), so the script stays serializable. A free
    /// shard is simply taken; a contended one is waited for with the
    /// keyspace's escalation flag raised, which makes every multi-shard
    /// locker that holds shards while waiting release them and start over.
    /// The holder is then either such a locker (it backs off) or a command
    /// that runs to its end without waiting for anything, so the wait ends.
    /// This is only deadlock-free if a single thread at a time may call it:
    /// callers hold the script lock (`scripting::Scripting::run_lock`).
    pub fn acquire_more(&mut self, i: usize) {
        if self.all || self.find(i).is_some() {
            return;
        }
        let m = &self.ks.shards[i];
        let g = match m.try_lock() {
            Some(g) => g,
            None => {
                self.ks.escalating.fetch_add(1, Ordering::SeqCst);
                let g = m.lock();
                self.ks.escalating.fetch_sub(1, Ordering::SeqCst);
                g
            }
        };
        let g = self.ks.captured(i, g);
        let pos = self.guards.partition_point(|(j, _)| *j < i);
        self.guards.insert(pos, (i, g));
    }

    /// `acquire_more` for the shard of `key`.
    pub fn acquire_key(&mut self, key: &[u8]) {
        self.acquire_more(self.shard_index(key));
    }

    /// `acquire_more` for every shard not held yet (a keyspace-wide command
    /// from a script); afterwards `holds_all` is true.
    pub fn acquire_rest(&mut self) {
        if self.all {
            return;
        }
        for i in 0..self.ks.nshards() {
            self.acquire_more(i);
        }
        self.all = true;
    }

    /// The held shard with index `i`, if held, shared.
    pub fn shard_at_ref(&self, i: usize) -> Option<&Shard> {
        let p = self.find(i)?;
        Some(&self.guards[p].1)
    }

    /// The held shard with index `i`, if held.
    pub fn shard_at(&mut self, i: usize) -> Option<&mut Shard> {
        let p = self.find(i)?;
        Some(&mut self.guards[p].1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sv(s: &str) -> Value {
        Value::Str(Str::from_bytes(s.as_bytes()))
    }

    #[test]
    fn scan_sees_stable_keys_under_churn() {
        let mut db = Db::default();
        for i in 0..1000 {
            db.set(format!("k{i}").as_bytes(), sv("v"), false, 0);
        }
        let stable: Vec<String> = (0..1000).step_by(3).map(|i| format!("k{i}")).collect();
        let mut seen = std::collections::HashSet::new();
        let mut b = usize::MAX;
        let mut round = 0;
        loop {
            b = db.scan_step(b, 10, |k, _| {
                seen.insert(String::from_utf8(k.to_vec()).unwrap());
            });
            // churn: delete some non-stable keys, add new ones
            for j in 0..5 {
                let i = round * 5 + j;
                if i % 3 != 0 && i < 1000 {
                    db.remove(format!("k{i}").as_bytes());
                }
                db.set(format!("new{round}_{j}").as_bytes(), sv("v"), false, 0);
            }
            round += 1;
            if b == 0 {
                break;
            }
        }
        for k in stable {
            assert!(seen.contains(&k), "missed {k}");
        }
    }

    #[test]
    fn ttl_bookkeeping() {
        let mut db = Db::default();
        db.set(b"a", sv("1"), false, 0);
        assert!(db.set_expire(b"a", 100));
        assert_eq!(db.volatile.len(), 1);
        db.set(b"a", sv("2"), true, 0);
        assert_eq!(db.get(b"a").unwrap().expire_at, 100);
        db.set(b"a", sv("3"), false, 0);
        assert_eq!(db.volatile.len(), 0);
        db.set_expire(b"a", 5);
        db.remove(b"a");
        assert!(db.volatile.is_empty());
    }

    #[test]
    fn lock_order_and_lookup() {
        let ks = Keyspace::new(16, 64);
        let mut l = ks.lock_keys([b"b".as_ref(), b"a".as_ref(), b"{a}x".as_ref()]);
        assert!(l.holds(b"a") && l.holds(b"b") && l.holds(b"{a}y"));
        l.shard_mut(b"a").unwrap().dbs[0].set(b"a", sv("1"), false, 0);
        drop(l);
        let mut l = ks.lock_all();
        assert_eq!(l.shards_mut().map(|s| s.dbs[0].len()).sum::<usize>(), 1);
    }

    #[test]
    fn escalation_out_of_order_makes_lockers_back_off() {
        let ks = std::sync::Arc::new(Keyspace::new(1, 64));
        let mut x = ks.lock_indices(&[10]);
        let (tx, rx) = std::sync::mpsc::channel();
        let k2 = ks.clone();
        let y = std::thread::spawn(move || {
            // Takes 5, then waits for 10 (held by x).
            let mut l = k2.lock_indices(&[5, 10]);
            l.shard_at(5).unwrap().dbs[0].set(b"y", sv("1"), false, 0);
            tx.send(()).unwrap();
        });
        // Give y time to take 5 and start waiting for 10.
        std::thread::sleep(std::time::Duration::from_millis(20));
        x.acquire_more(5);
        assert!(x.shard_at(5).is_some() && x.shard_at(10).is_some());
        assert!(rx.try_recv().is_err(), "y ran while x held its shards");
        x.acquire_rest();
        assert!(x.holds_all());
        assert_eq!(x.shards_mut().count(), 64);
        drop(x);
        y.join().unwrap();
        rx.recv().unwrap();
    }
}
