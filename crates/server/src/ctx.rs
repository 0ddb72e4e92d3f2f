//! The context a handler runs in: the connection, the shards it holds, the
//! reply buffer, the command's frozen clock, and the effects it declares.
//!
//! Handlers reach the keyspace only through `Ctx`, which applies Redis's
//! rules on every access: lazy expiry of a dead key (with its `expired`
//! event), WRONGTYPE checks, keyspace hit/miss counters, LRU touch, and the
//! bookkeeping of a write (`modified`: dirty counter, WATCH, client-side
//! caching invalidation). Blocking wake-ups, keyspace notifications and
//! propagation are effects collected here and carried out by the dispatcher
//! after the command, in order.

use crate::blocking::{BlockRequest, Waiter};
use crate::client::Client;
use crate::cmdspec::CommandSpec;
use crate::error::CmdError;
use crate::lazyfree::Why;
use crate::server::Server;
use crate::storage::{Db, Entry, Key, Locked, Str, Value, NO_EXPIRE};
use resp::Out;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use types::hash::{Hash, Limits};
use types::list::List;
use types::set::Set;
use types::zset::ZSet;

/// What the connection should do after a command.
#[derive(Debug, Default, PartialEq, Eq)]
pub enum After {
    #[default]
    Continue,
    /// Write what is pending, then close (QUIT, CLIENT KILL of self).
    Close,
    /// The command blocked (see blocking.rs): write what is pending, then
    /// await the waiter's reply before the next command.
    Block(Arc<Waiter>),
    /// SYNC / PSYNC: the connection becomes a replica (replication.rs).
    Replica(crate::replication::SyncRequest),
    /// WAIT: reply once `n` replicas acknowledged `offset`, or at the
    /// deadline (ms, server clock), with the count then.
    Wait { n: usize, offset: u64, deadline_ms: Option<i64> },
}

/// Effects a command declares, carried out after it.
#[derive(Default)]
pub struct Effects {
    pub after: After,
    /// (db, key) pairs that may now serve blocked clients.
    pub ready_keys: Vec<(usize, Key)>,
    /// Set by a blocking command that found nothing to serve.
    /// (Boxed: rare, and large next to the rest, which moves with every
    /// command.)
    pub block: Option<Box<BlockRequest>>,
}

/// See `Ctx::reader`.
pub struct Reader<'r, 'l> {
    locked: &'r Locked<'l>,
    db: usize,
}

impl<'r, 'l> Reader<'r, 'l> {
    /// The value at `key` as stored (no expiry check, no statistics).
    pub fn get(&self, key: &[u8]) -> Result<Option<&'r Value>, CmdError> {
        let shard = self.locked.shard_ref(key).ok_or_else(not_locked)?;
        let db = shard.dbs.get(self.db).ok_or_else(|| CmdError::DbIndexOutOfRange)?;
        Ok(db.get(key).map(|e| &e.value))
    }
}

pub struct Ctx<'a> {
    pub srv: &'a Server,
    pub client: &'a mut Client,
    pub out: &'a mut Out,
    pub locked: Locked<'a>,
    /// Milliseconds; frozen for the whole command (and for a whole EXEC or
    /// script), as Redis does.
    pub now_ms: i64,
    pub spec: &'static CommandSpec,
    pub effects: Effects,
    /// Inside MULTI/EXEC or a script (EXEC and EVAL set it): commands may not
    /// block there.
    pub nested: bool,
    /// Inside a script (EVAL, FCALL): a few commands refuse options there.
    pub in_script: bool,
    /// Changes made by the running command (Redis's dirty delta of call()):
    /// a command that made any is propagated.
    pub dirty: u64,
    /// The ops of the top-level call waiting for its commit (propagate.rs).
    pub pending: crate::propagate::Pending,
    /// What the running handler said about its own propagation.
    pub prop: crate::propagate::CallFlags,
    /// Targets of a script's calls (redis.set_repl); ALL otherwise.
    pub prop_target: u8,
}

/// What one lookup found (see `Ctx::probe`).
enum Probe {
    Absent,
    /// Present but its TTL (or a field's) has passed: take the slow path.
    Due,
    /// Live, at this position of the database's map.
    At(usize),
}

fn not_locked() -> CmdError {
    CmdError::err("internal error: key accessed outside the command's key specs")
}

impl<'a> Ctx<'a> {
    /// A context for one top-level call (nothing nested, nothing pending).
    pub fn new(
        srv: &'a Server,
        client: &'a mut Client,
        out: &'a mut Out,
        locked: Locked<'a>,
        now_ms: i64,
        spec: &'static CommandSpec,
    ) -> Ctx<'a> {
        Ctx {
            srv,
            client,
            out,
            locked,
            now_ms,
            spec,
            effects: Effects::default(),
            nested: false,
            in_script: false,
            dirty: 0,
            pending: Default::default(),
            prop: Default::default(),
            prop_target: crate::propagate::ALL,
        }
    }

    pub fn db_index(&self) -> usize {
        self.client.db
    }

    /// The database (of the current db index) that owns `key`, without any
    /// expiry check. Prefer the typed lookups below.
    pub fn raw_db(&mut self, key: &[u8]) -> Result<&mut Db, CmdError> {
        let dbi = self.client.db;
        self.raw_db_at(dbi, key)
    }

    pub fn raw_db_at(&mut self, dbi: usize, key: &[u8]) -> Result<&mut Db, CmdError> {
        let shard = self.locked.shard_mut(key).ok_or_else(not_locked)?;
        shard.dbs.get_mut(dbi).ok_or_else(|| CmdError::DbIndexOutOfRange)
    }

    /// Deletes `key` if its TTL has passed. True if it was deleted.
    /// Also reclaims expired hash fields (deleting a hash left empty), so
    /// they are invisible to every command.
    pub fn expire_if_needed(&mut self, key: &[u8]) -> Result<bool, CmdError> {
        if self.srv.repl.is_replica() || self.client.master {
            return Ok(false);
        }
        let (now, srv) = (self.now_ms, self.srv);
        let db = self.raw_db(key)?;
        match db.get(key) {
            Some(e) if e.is_expired(now) => {
                let t = crate::latency::Monitor::start(srv);
                if let Some(e) = db.remove(key) {
                    self.free(Why::Expire, e.value);
                }
                srv.latency.end(srv, crate::latency::event::EXPIRE_DEL, t);
                self.srv.stats.expired_keys.fetch_add(1, Ordering::Relaxed);
                self.notify(crate::notify::EXPIRED, "expired", key);
                // The deletion is propagated on its own (before the
                // command), and is no change of the command's.
                let d = self.dirty;
                self.modified(key);
                self.dirty = d;
                if self.propagating() {
                    // Whatever a script asked (redis.set_repl), as Redis.
                    let del = crate::propagate::deletion(self.srv, "lazyfree-lazy-expire");
                    let db = self.client.db;
                    self.pending.push(db, crate::propagate::ALL, &[del, key]);
                }
                Ok(true)
            }
            Some(Entry { value: Value::Hash(h), .. }) if matches!(h.min_ttl(), Some(t) if t <= now) => {
                self.purge_hash_fields(key)
            }
            _ => Ok(false),
        }
    }

    /// One hash lookup of `key`: absent, due for expiry, or live at a
    /// position (the common case, which then costs no second lookup).
    fn probe(&mut self, key: &[u8]) -> Result<Probe, CmdError> {
        let now = self.now_ms;
        let h = self.locked.hash_of(key);
        let db = self.raw_db(key)?;
        let Some(i) = db.map.position_hashed(h, key) else { return Ok(Probe::Absent) };
        let e = db.map.entry_at(i);
        let due = e.is_expired(now) || matches!(&e.value, Value::Hash(h) if matches!(h.min_ttl(), Some(t) if t <= now));
        Ok(if due { Probe::Due } else { Probe::At(i) })
    }

    /// The live entry at `key` (expiring it first if due), its position in
    /// the map, and the database.
    fn live(&mut self, key: &[u8]) -> Result<Option<usize>, CmdError> {
        match self.probe(key)? {
            Probe::Absent => Ok(None),
            Probe::At(i) => Ok(Some(i)),
            Probe::Due => {
                // A replica never expires keys itself: its master sends the
                // DEL. Its master's commands see the key as the master does
                // (still there); other clients see it gone.
                if self.client.master {
                    return Ok(self.raw_db(key)?.map.position(key));
                }
                if self.srv.repl.is_replica() {
                    return Ok(None);
                }
                // While clients are paused Redis expires nothing (a failover
                // may be under way): a reader sees the key as gone, and it
                // is deleted (and counted) after the pause. Writers, which
                // would store over it, still delete it first.
                if !self.spec.has(crate::cmdspec::f::WRITE) && self.srv.pause.holds(self.now_ms, true) {
                    let now = self.now_ms;
                    if self.raw_db(key)?.get(key).is_some_and(|e| e.is_expired(now)) {
                        return Ok(None);
                    }
                }
                self.expire_if_needed(key)?;
                Ok(self.raw_db(key)?.map.position(key))
            }
        }
    }

    /// Looks a key up for reading: expires it if due, counts a hit or miss,
    /// touches its LRU clock (unless CLIENT NO-TOUCH).
    pub fn lookup_read(&mut self, key: &[u8]) -> Result<Option<&mut Entry>, CmdError> {
        Ok(self.lookup_read_out(key)?.0)
    }

    /// `lookup_read` that also lends the reply buffer, so a value can be
    /// written out without being copied first.
    pub fn lookup_read_out(&mut self, key: &[u8]) -> Result<(Option<&mut Entry>, &mut Out), CmdError> {
        let at = self.live(key)?;
        let (srv, now) = (self.srv, self.now_ms);
        let touch = !self.client.no_touch;
        let db = {
            let dbi = self.client.db;
            let shard = self.locked.shard_mut(key).ok_or_else(not_locked)?;
            shard.dbs.get_mut(dbi).ok_or_else(|| CmdError::DbIndexOutOfRange)?
        };
        let found = match at.map(|i| db.map.entry_at_mut(i)) {
            Some(e) => {
                self.client.pending.keyspace(srv, true);
                if touch {
                    e.lru = srv.touched_access(e.lru, now);
                }
                Some(e)
            }
            None => {
                self.client.pending.keyspace(srv, false);
                // Redis's lookupKeyRead announces a miss ("keymiss", class m).
                let me = crate::pubsub::SelfOut { id: self.client.id, out: &mut *self.out };
                crate::notify::emit_from(srv, crate::notify::KEY_MISS, "keymiss", self.client.db, key, Some(me));
                None
            }
        };
        Ok((found, &mut *self.out))
    }

    /// Looks a key up for writing: expires it if due, touches its LRU clock.
    pub fn lookup_write(&mut self, key: &[u8]) -> Result<Option<&mut Entry>, CmdError> {
        let at = self.live(key)?;
        let (srv, now) = (self.srv, self.now_ms);
        let db = self.raw_db(key)?;
        Ok(at.map(|i| db.map.entry_at_mut(i)).map(|e| {
            e.lru = srv.touched_access(e.lru, now);
            e
        }))
    }

    /// Like `lookup_read` but without touching statistics or LRU (TYPE,
    /// EXISTS-style checks, OBJECT).
    pub fn peek(&mut self, key: &[u8]) -> Result<Option<&mut Entry>, CmdError> {
        let at = self.live(key)?;
        let db = self.raw_db(key)?;
        Ok(at.map(|i| db.map.entry_at_mut(i)))
    }

    pub fn exists(&mut self, key: &[u8]) -> Result<bool, CmdError> {
        Ok(self.peek(key)?.is_some())
    }

    /// The string at `key` for reading; WRONGTYPE for another type.
    pub fn read_str(&mut self, key: &[u8]) -> Result<Option<&mut Str>, CmdError> {
        match self.lookup_read(key)? {
            None => Ok(None),
            Some(e) => match &mut e.value {
                Value::Str(s) => Ok(Some(s)),
                _ => Err(CmdError::WrongType),
            },
        }
    }

    /// The sorted set at `key` for reading (with the reply buffer, so a
    /// handler can reply while it walks the set); WRONGTYPE for another type.
    pub fn read_zset(&mut self, key: &[u8]) -> Result<Option<(&mut ZSet, &mut Out)>, CmdError> {
        if self.lookup_read(key)?.is_none() {
            return Ok(None);
        }
        self.zset_parts(key)
    }

    /// The sorted set at `key` for writing; WRONGTYPE for another type.
    pub fn write_zset(&mut self, key: &[u8]) -> Result<Option<(&mut ZSet, &mut Out)>, CmdError> {
        if self.lookup_write(key)?.is_none() {
            return Ok(None);
        }
        self.zset_parts(key)
    }

    fn zset_parts(&mut self, key: &[u8]) -> Result<Option<(&mut ZSet, &mut Out)>, CmdError> {
        let dbi = self.client.db;
        let out = &mut *self.out;
        let shard = self.locked.shard_mut(key).ok_or_else(not_locked)?;
        let db = shard.dbs.get_mut(dbi).ok_or_else(|| CmdError::DbIndexOutOfRange)?;
        match db.get_mut(key).map(|e| &mut e.value) {
            None => Ok(None),
            Some(Value::ZSet(z)) => Ok(Some((z, out))),
            Some(_) => Err(CmdError::WrongType),
        }
    }

    /// Shared access to several values at once, beside the reply buffer
    /// (multi-key reads such as ZUNION). Call `lookup_read` on each key first:
    /// the reader does no expiry and counts nothing.
    pub fn reader(&mut self) -> (Reader<'_, 'a>, &mut Out) {
        (Reader { locked: &self.locked, db: self.client.db }, &mut *self.out)
    }

    /// The string at `key` for an in-place write (APPEND-style commands):
    /// expires it if due, WRONGTYPE for another type. The caller declares
    /// the write with `modified` once done.
    pub fn write_str(&mut self, key: &[u8]) -> Result<Option<&mut Str>, CmdError> {
        match self.lookup_write(key)? {
            None => Ok(None),
            Some(e) => match &mut e.value {
                Value::Str(s) => Ok(Some(s)),
                #[allow(unreachable_patterns)]
                _ => Err(CmdError::WrongType),
            },
        }
    }

    /// Adds a new string at an absent `key` without declaring a write
    /// (Redis's dbAdd, for commands that count their own changes) and
    /// returns it for in-place edits.
    pub fn add_str(&mut self, key: &[u8], s: Str) -> Result<&mut Str, CmdError> {
        let lru = self.srv.lru_clock();
        let db = self.raw_db(key)?;
        db.set(key, Value::Str(s), false, lru);
        match db.get_mut(key).map(|e| &mut e.value) {
            Some(Value::Str(s)) => Ok(s),
            _ => Err(CmdError::err("internal error: value just added is missing")),
        }
    }

    /// Stores `value` at `key`, replacing any old value and clearing its TTL
    /// (Redis's setKey). Declares the write.
    pub fn set_value(&mut self, key: &[u8], value: Value) -> Result<(), CmdError> {
        self.store(key, value, false)
    }

    /// Stores `value` keeping the key's TTL (SET KEEPTTL, in-place updates).
    pub fn set_value_keep_ttl(&mut self, key: &[u8], value: Value) -> Result<(), CmdError> {
        self.store(key, value, true)
    }

    fn store(&mut self, key: &[u8], value: Value, keep_ttl: bool) -> Result<(), CmdError> {
        let (srv, now) = (self.srv, self.now_ms);
        let wakes = value.wakes_waiters();
        let has_field_ttl = matches!(&value, Value::Hash(h) if h.min_ttl().is_some());
        let h = self.locked.hash_of(key);
        let db = self.raw_db(key)?;
        // Under LFU an overwrite keeps the key's counter (Redis's dbOverwrite).
        let lfu = srv.config.lfu();
        // A stream overwritten by another type ends XREADGROUP waits on it.
        let was_stream =
            srv.blocking.has_waiters() && matches!(db.get(key), Some(e) if matches!(e.value, Value::Stream(_)));
        let old = db.set_with(h, key, value, keep_ttl, |old| match old {
            Some(e) if lfu => e.lru,
            _ => srv.new_access(now),
        });
        let is_new = old.is_none();
        if let Some(old) = old {
            srv.lazyfree.free(&srv.config, Why::ServerDel, old);
        }
        if has_field_ttl {
            db.hexpires.insert(key.into());
        }
        // Redis's dbAdd announces a new key (class `n`) before the command's event.
        if is_new && !srv.pubsub.is_idle() {
            self.notify(crate::notify::NEW, "new", key);
        }
        self.modified(key);
        if wakes || was_stream {
            self.signal_ready(key);
        }
        Ok(())
    }

    /// Deletes a key (expired or not) as an implicit delete of the server
    /// (Redis's dbDelete: a *STORE destination, RESTORE REPLACE). True if
    /// it existed and was alive.
    pub fn delete(&mut self, key: &[u8]) -> Result<bool, CmdError> {
        self.delete_for(key, Why::ServerDel)
    }

    /// `delete` for reason `why`, which decides whether a big value is
    /// freed in the background (DEL, UNLINK, GETDEL; see lazyfree.rs).
    pub fn delete_for(&mut self, key: &[u8], why: Why) -> Result<bool, CmdError> {
        if self.expire_if_needed(key)? {
            return Ok(false);
        }
        let removed = self.raw_db(key)?.remove(key);
        if let Some(e) = &removed {
            // Clients blocked in XREADGROUP on a deleted stream are told so.
            if matches!(e.value, Value::Stream(_)) {
                self.signal_ready(key);
            }
            self.modified(key);
        }
        let existed = removed.is_some();
        if let Some(e) = removed {
            self.free(why, e.value);
        }
        Ok(existed)
    }

    /// Frees a value that left the keyspace for reason `why`: in the
    /// background if that reason allows it and the value is big.
    pub fn free(&self, why: Why, value: Value) {
        self.srv.lazyfree.free(&self.srv.config, why, value);
    }

    /// Sets an absolute expiry (ms) on an existing key; a time already past
    /// deletes the key as Redis does. Returns false if the key is absent.
    pub fn set_expire(&mut self, key: &[u8], at_ms: i64) -> Result<bool, CmdError> {
        if self.peek(key)?.is_none() {
            return Ok(false);
        }
        // A time already past deletes the key, except for the master's
        // stream on a replica and for an AOF being loaded (Redis's
        // checkAlreadyExpired): they set the TTL as written.
        if at_ms <= self.now_ms && !self.client.master && !self.srv.repl.is_replica() {
            if let Some(e) = self.raw_db(key)?.remove(key) {
                self.free(Why::Expire, e.value);
            }
            self.modified(key);
            self.notify(crate::notify::GENERIC, "del", key);
            return Ok(true);
        }
        self.raw_db(key)?.set_expire(key, at_ms);
        self.ttl_set(key);
        self.modified(key);
        Ok(true)
    }

    /// The command gave `key` (of the client's database) a TTL: on a
    /// writable replica, a key of its own clients is remembered so that the
    /// replica expires it (Redis's rememberSlaveKeyWithExpire).
    pub fn ttl_set(&mut self, key: &[u8]) {
        if self.srv.repl.is_replica() && !self.client.master {
            self.srv.repl.remember_local_ttl(self.client.db, key);
        }
    }

    /// The TTL of a live key: `Some(NO_EXPIRE)` for persistent keys.
    pub fn expire_at(&mut self, key: &[u8]) -> Result<Option<i64>, CmdError> {
        Ok(self.peek(key)?.map(|e| e.expire_at))
    }

    /// Redis's signalModifiedKey: the key was written. Counts a dirty write
    /// and invalidates WATCH and client-side caches of the key.
    pub fn modified(&mut self, key: &[u8]) {
        let db = self.client.db;
        self.modified_in_db(db, key);
    }

    /// `modified` for a key of another database (MOVE, COPY ... DB).
    pub fn modified_in_db(&mut self, db: usize, key: &[u8]) {
        self.add_dirty(1);
        self.touched_in_db(db, key);
    }

    /// A second key of the same change (RENAME's destination, MOVE's
    /// target): watchers and tracking clients learn of it, the change
    /// count does not grow again (Redis counts such a command once).
    pub fn also_modified(&mut self, key: &[u8]) {
        let db = self.client.db;
        self.touched_in_db(db, key);
    }

    fn touched_in_db(&mut self, db: usize, key: &[u8]) {
        if !self.srv.watches.is_empty() {
            let exists = self.raw_db_at(db, key).map(|d| d.get(key).is_some()).unwrap_or(false);
            crate::txn::touch_key(self.srv, db, key, exists);
        }
        self.srv.tracking.invalidate_key(self.srv, key, self.client.id);
    }

    /// Counts `n` changes of the running command (server dirty counter and
    /// the command's own, which decides its propagation).
    pub fn add_dirty(&mut self, n: u64) {
        self.srv.dirty.fetch_add(n, Ordering::Relaxed);
        self.dirty += n;
    }

    /// True while AOF or replication take the stream: handlers build their
    /// rewritten forms only then.
    #[inline]
    pub fn propagating(&self) -> bool {
        self.srv.feed.on()
    }

    /// Propagates `argv` instead of the command's arguments (Redis's
    /// rewriteClientCommandVector).
    pub fn rewrite_propagation<A: AsRef<[u8]>>(&mut self, argv: &[A]) {
        if self.propagating() {
            self.prop.rewrite = Some(argv.iter().map(|a| a.as_ref().to_vec()).collect());
        }
    }

    /// The command itself is not propagated (its `also_propagate` ops are).
    pub fn prevent_propagation(&mut self) {
        self.prop.prevent = true;
    }

    /// Propagates the command even if it changed nothing (`target`: AOF,
    /// REPL or both).
    pub fn force_propagation(&mut self, target: u8) {
        self.prop.force |= target;
    }

    /// Adds `argv` to the call's ops, for the current database (Redis's
    /// alsoPropagate).
    pub fn also_propagate<A: AsRef<[u8]>>(&mut self, argv: &[A]) {
        let db = self.client.db;
        self.also_propagate_in(db, argv);
    }

    pub fn also_propagate_in<A: AsRef<[u8]>>(&mut self, db: usize, argv: &[A]) {
        if self.propagating() {
            let t = self.prop_target;
            if t != 0 {
                self.pending.push(db, t, argv);
            }
        }
    }

    /// Databases were flushed: every client-side cache is invalid.
    pub fn flushed(&mut self) {
        self.srv.tracking.invalidate_all(self.srv);
    }

    /// A keyspace event of `class` (see `notify`) named `event` for `key`.
    pub fn notify(&mut self, class: u32, event: &str, key: &[u8]) {
        let me = crate::pubsub::SelfOut { id: self.client.id, out: &mut *self.out };
        crate::notify::emit_from(self.srv, class, event, self.client.db, key, Some(me));
    }

    /// The key may now serve clients blocked on it (a push, or a write that
    /// creates a list, sorted set or stream). Cheap when nobody is blocked.
    pub fn signal_ready(&mut self, key: &[u8]) {
        let db = self.client.db;
        self.signal_ready_in(db, key);
    }

    /// `signal_ready` for a key of another database (MOVE, COPY ... DB,
    /// SWAPDB).
    pub fn signal_ready_in(&mut self, db: usize, key: &[u8]) {
        if self.srv.blocking.has_waiters() {
            self.effects.ready_keys.push((db, key.into()));
        }
    }

    /// False inside MULTI/EXEC and scripts, where a blocking command must
    /// reply as on timeout instead of blocking.
    pub fn may_block(&self) -> bool {
        !self.nested
    }

    /// Declares that the command blocks (it must have written no reply). See
    /// blocking.rs for what follows.
    pub fn block(&mut self, req: BlockRequest) {
        self.effects.block = Some(Box::new(req));
    }

    /// The list at `key` for reading; WRONGTYPE for another type.
    pub fn read_list(&mut self, key: &[u8]) -> Result<Option<&mut List>, CmdError> {
        match self.lookup_read(key)? {
            None => Ok(None),
            Some(e) => match &mut e.value {
                Value::List(l) => Ok(Some(l)),
                _ => Err(CmdError::WrongType),
            },
        }
    }

    /// Like `read_list` (or `write_list` when `write`), also handing out the
    /// reply buffer, so a reply can be written straight from the list.
    pub fn list_and_out(&mut self, key: &[u8], write: bool) -> Result<(Option<&mut List>, &mut Out), CmdError> {
        let found = if write { self.write_list(key)?.is_some() } else { self.read_list(key)?.is_some() };
        let dbi = self.client.db;
        let out = &mut *self.out;
        if !found {
            return Ok((None, out));
        }
        let shard = self.locked.shard_mut(key).ok_or_else(not_locked)?;
        let list = match shard.dbs.get_mut(dbi).and_then(|db| db.get_mut(key)).map(|e| &mut e.value) {
            Some(Value::List(l)) => Some(&mut **l),
            _ => None,
        };
        Ok((list, out))
    }

    /// The list at `key` for writing; WRONGTYPE for another type.
    pub fn write_list(&mut self, key: &[u8]) -> Result<Option<&mut List>, CmdError> {
        match self.lookup_write(key)? {
            None => Ok(None),
            Some(e) => match &mut e.value {
                Value::List(l) => Ok(Some(l)),
                _ => Err(CmdError::WrongType),
            },
        }
    }

    /// Reclaims the expired fields of the hash at `key` (Redis 7.4 field
    /// expiry), with the `hexpired` event, and deletes the key (`del`) when
    /// no field is left: expired fields are invisible to every command.
    /// True if the key was deleted.
    fn purge_hash_fields(&mut self, key: &[u8]) -> Result<bool, CmdError> {
        let now = self.now_ms;
        let propagating = self.srv.feed.on();
        let db = self.raw_db(key)?;
        let Some(Entry { value: Value::Hash(h), .. }) = db.get_mut(key) else { return Ok(false) };
        if !matches!(h.min_ttl(), Some(t) if t <= now) {
            return Ok(false);
        }
        let mut names = Vec::new();
        h.purge_expired_names(now, usize::MAX, propagating.then_some(&mut names));
        let (empty, volatile) = (h.is_empty(), h.min_ttl().is_some());
        if empty {
            db.remove(key);
        }
        if !volatile {
            db.hexpires.swap_remove(key);
        }
        self.notify(crate::notify::HASH, "hexpired", key);
        if empty {
            self.notify(crate::notify::GENERIC, "del", key);
        }
        // The fields' deletion is propagated on its own (one HDEL per
        // field, as Redis 7.4), and is no change of the command's.
        let d = self.dirty;
        self.modified(key);
        self.dirty = d;
        let db = self.client.db;
        for f in &names {
            self.pending.push(db, crate::propagate::ALL, &[b"HDEL", key, f]);
        }
        Ok(empty)
    }

    /// The hash at `key` for reading (expired fields reclaimed first);
    /// WRONGTYPE for another type.
    pub fn read_hash(&mut self, key: &[u8]) -> Result<Option<&mut Hash>, CmdError> {
        match self.lookup_read(key)? {
            None => Ok(None),
            Some(e) => match &mut e.value {
                Value::Hash(h) => Ok(Some(h)),
                _ => Err(CmdError::WrongType),
            },
        }
    }

    /// The hash at `key` for writing (expired fields reclaimed first).
    pub fn write_hash(&mut self, key: &[u8]) -> Result<Option<&mut Hash>, CmdError> {
        match self.lookup_write(key)? {
            None => Ok(None),
            Some(e) => match &mut e.value {
                Value::Hash(h) => Ok(Some(h)),
                _ => Err(CmdError::WrongType),
            },
        }
    }

    /// The hash at `key` for writing, created empty when absent. The caller
    /// must leave it non-empty.
    pub fn write_hash_or_create(&mut self, key: &[u8]) -> Result<&mut Hash, CmdError> {
        if self.write_hash(key)?.is_none() {
            let lru = self.srv.lru_clock();
            self.raw_db(key)?.set(key, Value::Hash(Default::default()), false, lru);
        }
        match self.raw_db(key)?.get_mut(key).map(|e| &mut e.value) {
            Some(Value::Hash(h)) => Ok(h),
            _ => Err(CmdError::WrongType),
        }
    }

    /// The hash at `key` (already looked up and type-checked) together with
    /// the reply buffer, so a handler can reply from it without copying.
    pub fn hash_out(&mut self, key: &[u8]) -> Result<(&mut Hash, &mut Out), CmdError> {
        let dbi = self.client.db;
        let shard = self.locked.shard_mut(key).ok_or_else(not_locked)?;
        let db = shard.dbs.get_mut(dbi).ok_or_else(|| CmdError::DbIndexOutOfRange)?;
        match db.get_mut(key).map(|e| &mut e.value) {
            Some(Value::Hash(h)) => Ok((h, &mut *self.out)),
            _ => Err(CmdError::WrongType),
        }
    }

    /// The set at `key` (already looked up and type-checked) with the reply
    /// buffer.
    pub fn set_out(&mut self, key: &[u8]) -> Result<(&mut Set, &mut Out), CmdError> {
        let dbi = self.client.db;
        let shard = self.locked.shard_mut(key).ok_or_else(not_locked)?;
        let db = shard.dbs.get_mut(dbi).ok_or_else(|| CmdError::DbIndexOutOfRange)?;
        match db.get_mut(key).map(|e| &mut e.value) {
            Some(Value::Set(s)) => Ok((s, &mut *self.out)),
            _ => Err(CmdError::WrongType),
        }
    }

    /// The set at `key` without any check (after `read_set`), for reading
    /// several sets at once.
    pub fn peek_set<'s>(locked: &'s Locked<'_>, dbi: usize, key: &[u8]) -> Option<&'s Set> {
        match locked.shard(key)?.dbs.get(dbi)?.get(key).map(|e| &e.value) {
            Some(Value::Set(s)) => Some(s),
            _ => None,
        }
    }

    /// Registers `key` for active field expiry (after a field got a TTL).
    pub fn track_hash_ttl(&mut self, key: &[u8]) -> Result<(), CmdError> {
        self.raw_db(key)?.hexpires.insert(key.into());
        Ok(())
    }

    /// hash-max-listpack-entries / -value.
    pub fn hash_limits(&self) -> Limits {
        let c = &self.srv.config;
        Limits {
            max_entries: crate::cfg_num!(c, "hash-max-listpack-entries").max(0) as usize,
            max_value: crate::cfg_num!(c, "hash-max-listpack-value").max(0) as usize,
        }
    }

    /// set-max-intset-entries.
    pub fn set_max_intset(&self) -> usize {
        crate::cfg_num!(self.srv.config, "set-max-intset-entries").max(0) as usize
    }

    /// The set at `key` for reading; WRONGTYPE for another type.
    pub fn read_set(&mut self, key: &[u8]) -> Result<Option<&mut Set>, CmdError> {
        match self.lookup_read(key)? {
            None => Ok(None),
            Some(e) => match &mut e.value {
                Value::Set(s) => Ok(Some(s)),
                _ => Err(CmdError::WrongType),
            },
        }
    }

    /// The set at `key` for writing; WRONGTYPE for another type.
    pub fn write_set(&mut self, key: &[u8]) -> Result<Option<&mut Set>, CmdError> {
        match self.lookup_write(key)? {
            None => Ok(None),
            Some(e) => match &mut e.value {
                Value::Set(s) => Ok(Some(s)),
                _ => Err(CmdError::WrongType),
            },
        }
    }

    pub fn no_expire() -> i64 {
        NO_EXPIRE
    }
}
