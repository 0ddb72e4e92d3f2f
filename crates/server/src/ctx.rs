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

use crate::client::Client;
use crate::cmdspec::CommandSpec;
use crate::error::CmdError;
use crate::server::Server;
use crate::storage::{Db, Entry, Key, Locked, Str, Value, NO_EXPIRE};
use resp::Out;
use std::sync::atomic::Ordering;

/// What the connection should do after a command.
#[derive(Debug, Default, PartialEq, Eq)]
pub enum After {
    #[default]
    Continue,
    /// Write what is pending, then close (QUIT, CLIENT KILL of self).
    Close,
}

/// Effects a command declares, carried out after it.
#[derive(Default)]
pub struct Effects {
    pub after: After,
    /// (db, key) pairs that may now serve blocked clients.
    pub ready_keys: Vec<(usize, Key)>,
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
    /// Inside EXEC or a script: blocking commands must not block.
    pub nested: bool,
}

fn not_locked() -> CmdError {
    CmdError::err("internal error: key accessed outside the command's key specs")
}

impl<'a> Ctx<'a> {
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
        shard.dbs.get_mut(dbi).ok_or(CmdError::DbIndexOutOfRange)
    }

    /// Deletes `key` if its TTL has passed. True if it was deleted.
    pub fn expire_if_needed(&mut self, key: &[u8]) -> Result<bool, CmdError> {
        let now = self.now_ms;
        let db = self.raw_db(key)?;
        match db.get(key) {
            Some(e) if e.is_expired(now) => {
                db.remove(key);
                self.srv.stats.expired_keys.fetch_add(1, Ordering::Relaxed);
                self.notify(crate::notify::EXPIRED, "expired", key);
                self.modified(key);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Looks a key up for reading: expires it if due, counts a hit or miss,
    /// touches its LRU clock (unless CLIENT NO-TOUCH).
    pub fn lookup_read(&mut self, key: &[u8]) -> Result<Option<&mut Entry>, CmdError> {
        self.expire_if_needed(key)?;
        let lru = self.srv.lru_clock();
        let touch = !self.client.no_touch;
        let stats = &self.srv.stats;
        let db = {
            let dbi = self.client.db;
            let shard = self.locked.shard_mut(key).ok_or_else(not_locked)?;
            shard.dbs.get_mut(dbi).ok_or(CmdError::DbIndexOutOfRange)?
        };
        match db.get_mut(key) {
            Some(e) => {
                stats.keyspace_hits.fetch_add(1, Ordering::Relaxed);
                if touch {
                    e.lru = lru;
                }
                Ok(Some(e))
            }
            None => {
                stats.keyspace_misses.fetch_add(1, Ordering::Relaxed);
                Ok(None)
            }
        }
    }

    /// Looks a key up for writing: expires it if due, touches its LRU clock.
    pub fn lookup_write(&mut self, key: &[u8]) -> Result<Option<&mut Entry>, CmdError> {
        self.expire_if_needed(key)?;
        let lru = self.srv.lru_clock();
        let db = self.raw_db(key)?;
        Ok(db.get_mut(key).map(|e| {
            e.lru = lru;
            e
        }))
    }

    /// Like `lookup_read` but without touching statistics or LRU (TYPE,
    /// EXISTS-style checks, OBJECT).
    pub fn peek(&mut self, key: &[u8]) -> Result<Option<&mut Entry>, CmdError> {
        self.expire_if_needed(key)?;
        let db = self.raw_db(key)?;
        Ok(db.get_mut(key))
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
                #[allow(unreachable_patterns)]
                _ => Err(CmdError::WrongType),
            },
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
        let lru = self.srv.lru_clock();
        self.raw_db(key)?.set(key, value, keep_ttl, lru);
        self.modified(key);
        Ok(())
    }

    /// Deletes a key (expired or not). True if it existed and was alive.
    pub fn delete(&mut self, key: &[u8]) -> Result<bool, CmdError> {
        if self.expire_if_needed(key)? {
            return Ok(false);
        }
        let removed = self.raw_db(key)?.remove(key).is_some();
        if removed {
            self.modified(key);
        }
        Ok(removed)
    }

    /// Sets an absolute expiry (ms) on an existing key; a time already past
    /// deletes the key as Redis does. Returns false if the key is absent.
    pub fn set_expire(&mut self, key: &[u8], at_ms: i64) -> Result<bool, CmdError> {
        if self.peek(key)?.is_none() {
            return Ok(false);
        }
        if at_ms <= self.now_ms {
            self.raw_db(key)?.remove(key);
            self.modified(key);
            self.notify(crate::notify::GENERIC, "del", key);
            return Ok(true);
        }
        self.raw_db(key)?.set_expire(key, at_ms);
        self.modified(key);
        Ok(true)
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
        self.srv.dirty.fetch_add(1, Ordering::Relaxed);
        if !self.srv.watches.is_empty() {
            let exists = self.raw_db_at(db, key).map(|d| d.get(key).is_some()).unwrap_or(false);
            crate::txn::touch_key(self.srv, db, key, exists);
        }
    }

    /// A keyspace event of `class` (see `notify`) named `event` for `key`.
    pub fn notify(&mut self, class: u32, event: &str, key: &[u8]) {
        crate::notify::emit(self.srv, class, event, self.client.db, key);
    }

    /// The key may now serve clients blocked on it.
    pub fn signal_ready(&mut self, key: &[u8]) {
        self.effects.ready_keys.push((self.client.db, key.into()));
    }

    pub fn no_expire() -> i64 {
        NO_EXPIRE
    }
}
