//! Clients blocked on keys (BLPOP, BLMOVE, BZPOPMIN, XREAD BLOCK ...).
//!
//! The protocol, in the order things happen:
//!
//! 1. A blocking handler that finds nothing to serve, and may block
//!    (`ctx.may_block()`: not inside MULTI/EXEC or a script), writes no reply
//!    and declares `ctx.block(BlockRequest { .. })`. Where it may not block it
//!    replies as on timeout instead.
//! 2. `dispatch::execute` sees the request while it still holds the shard
//!    locks of the command's keys and registers a [`Waiter`] here: a FIFO
//!    queue per (db, key). Registering under the locks means no write to those
//!    keys can fall between the handler's check and the registration.
//! 3. The connection (net.rs) flushes what it has and awaits one of: the
//!    reply (put in its mailbox behind the messages that came first, then
//!    announced on the waiter's oneshot channel), the deadline, CLIENT KILL,
//!    or the socket closing; messages (pub/sub, invalidations) that arrive
//!    meanwhile are written out as they come, as Redis does. Whoever ends the
//!    wait first *claims* the waiter (a CAS on `claimed`); a loser knows a
//!    reply is already on its way.
//! 4. Writers call `ctx.signal_ready(key)`; it records the key only while
//!    someone is blocked (one atomic load). After the writer has released its
//!    locks, dispatch serves each ready key, in the order they were signalled:
//!    it claims the key's waiters in FIFO order and re-executes each one's
//!    command with a shadow client, narrowed to the ready key (Redis 7.0
//!    serves from that key alone; see `dispatch::narrow_to_ready_key`). If
//!    the command would block again, the waiter is unclaimed *before the
//!    locks of that re-execution are released* (so a concurrent writer that
//!    follows can claim it) and stays where it was in line; otherwise it is
//!    unregistered from all its keys and the reply bytes are sent. Commands
//!    served this way may make more keys ready (BLMOVE): dispatch loops until
//!    none are left.
//!
//! Inside MULTI/EXEC and scripts the ready keys accumulate on the outer
//! context and are served when the whole transaction or script is done, so a
//! blocked client never sees an intermediate state.
//!
//! Using it from a blocking command (BZPOPMIN shown; XREAD alike):
//!
//! ```text
//! let deadline = blocking::parse_timeout(timeout_arg, ctx.now_ms)?;   // XREAD: parse_timeout_ms
//! ... try to serve; on success reply and return ...
//! if ctx.may_block() {
//!     ctx.block(BlockRequest::new(keys, deadline, blocking::reply_null_array).for_type("zset"));
//! } else {
//!     ctx.out.null_array();                // what Redis replies inside MULTI
//! }
//! ```
//!
//! XREAD also sets `argv_override` (its `$` resolved to the last ID, so the
//! re-execution asks for what arrived after the block) and `serve_all`.
//! Writers call `ctx.signal_ready(key)` after adding elements; storing a
//! value whose `Value::wakes_waiters()` is true signals by itself, and code
//! that moves entries between keys or databases (RENAME, MOVE, COPY, SWAPDB)
//! calls `signal_ready` / `signal_ready_in` for them.
//!
//! The registry itself is one mutex: it is touched only when a client blocks,
//! unblocks or is served, never on the plain command path.

use crate::client::ClientInfo;
use crate::error::CmdError;
use crate::storage::Key;
use parking_lot::Mutex;
use resp::{Out, Protocol};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::oneshot;

/// What a blocking handler asks for when it finds nothing to serve.
pub struct BlockRequest {
    /// The keys whose writes may serve the client.
    pub keys: Vec<Key>,
    /// Absolute deadline in ms (server clock); `None` blocks forever.
    pub deadline_ms: Option<i64>,
    /// Writes the reply sent on timeout (and for CLIENT UNBLOCK ... TIMEOUT).
    pub timeout_reply: fn(&mut Out),
    /// The command to re-execute when served, if not the original one (XREAD
    /// stores `$` resolved to a concrete ID).
    pub argv_override: Option<Vec<Vec<u8>>>,
    /// When a served waiter would block again, also try the ones behind it:
    /// waiters of one key may wait for different things (stream IDs). Lists
    /// and sorted sets leave this false: a waiter that finds the key empty
    /// means every waiter behind it would too.
    pub serve_all: bool,
    /// The type (`Value::type_name`) the client waits for. A key that holds
    /// another type skips this waiter, which stays blocked, as Redis 7.0
    /// serves only the clients whose blocking type matches the key's.
    pub key_type: Option<&'static str>,
    /// The first run's µs, when it reached the slow log threshold (set by
    /// cmdlog.rs: the command is logged when its wait ends, as Redis does).
    pub first_usec: Option<u64>,
    /// The first run's ns (set by the dispatcher): a blocked command's
    /// latency histogram counts both runs, once, when it is served.
    pub first_ns: u64,
}

impl BlockRequest {
    pub fn new(keys: Vec<Key>, deadline_ms: Option<i64>, timeout_reply: fn(&mut Out)) -> Self {
        BlockRequest {
            keys,
            deadline_ms,
            timeout_reply,
            argv_override: None,
            serve_all: false,
            key_type: None,
            first_usec: None,
            first_ns: 0,
        }
    }

    /// Waits only for values of `type_name` ("list", "zset", "stream").
    pub fn for_type(self, type_name: &'static str) -> Self {
        BlockRequest { key_type: Some(type_name), ..self }
    }
}

/// The null array: Redis 7.0's timeout reply for every list, sorted set and
/// stream blocking command (BLMOVE and BRPOPLPUSH included).
pub fn reply_null_array(out: &mut Out) {
    out.null_array();
}

/// Parses a blocking timeout in (float) seconds, Redis's way: the value
/// times 1000, rounded up to whole ms; 0 means forever (`None`). Values out of
/// the i64 range end up negative in Redis (the C conversion), and so here.
pub fn parse_timeout(arg: &[u8], now_ms: i64) -> Result<Option<i64>, CmdError> {
    if !types::num::is_long_double(arg) {
        return Err(CmdError::err("timeout is not a float or out of range"));
    }
    // A long double can exceed a double: such a value is far out of range.
    let secs = types::num::parse_f64(arg).unwrap_or(f64::INFINITY);
    let ms = (secs * 1000.0).ceil();
    // 2^63: the first value past i64::MAX.
    const I64_END: f64 = 9_223_372_036_854_775_808.0;
    if !(0.0..I64_END).contains(&ms) {
        return Err(CmdError::err("timeout is negative"));
    }
    let ms = ms as i64;
    Ok((ms > 0).then(|| now_ms.saturating_add(ms)))
}

/// Parses a blocking timeout in integer milliseconds (XREAD BLOCK): 0 means
/// forever (`None`).
pub fn parse_timeout_ms(arg: &[u8], now_ms: i64) -> Result<Option<i64>, CmdError> {
    let ms = types::num::parse_i64(arg).ok_or_else(|| CmdError::err("timeout is not an integer or out of range"))?;
    if ms < 0 {
        return Err(CmdError::err("timeout is negative"));
    }
    Ok((ms > 0).then(|| now_ms.saturating_add(ms)))
}

/// A client blocked on keys.
pub struct Waiter {
    pub client_id: u64,
    pub info: Arc<ClientInfo>,
    pub db: usize,
    pub proto: Protocol,
    /// The command re-executed to serve it.
    pub argv: Vec<Vec<u8>>,
    pub keys: Vec<Key>,
    pub deadline_ms: Option<i64>,
    pub timeout_reply: fn(&mut Out),
    pub serve_all: bool,
    pub key_type: Option<&'static str>,
    /// See `BlockRequest::first_usec`.
    pub first_usec: Option<u64>,
    /// See `BlockRequest::first_ns`.
    pub first_ns: u64,
    /// The command as called, when `argv` is an override (the slow log
    /// shows what the client sent).
    pub called_argv: Option<Vec<Vec<u8>>>,
    /// The client blocked under CLIENT REPLY OFF or SKIP: whatever ends the
    /// wait sends no reply (Redis keeps the flag until it unblocks).
    pub silent: bool,
    claimed: AtomicBool,
    tx: Mutex<Option<oneshot::Sender<Vec<u8>>>>,
    rx: Mutex<Option<oneshot::Receiver<Vec<u8>>>>,
}

impl std::fmt::Debug for Waiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Waiter(client {}, db {}, {} keys)", self.client_id, self.db, self.keys.len())
    }
}

/// Waiters compare by identity.
impl PartialEq for Waiter {
    fn eq(&self, other: &Waiter) -> bool {
        std::ptr::eq(self, other)
    }
}
impl Eq for Waiter {}

impl Waiter {
    pub fn new(info: Arc<ClientInfo>, db: usize, proto: Protocol, argv: Vec<Vec<u8>>, req: BlockRequest) -> Self {
        let (tx, rx) = oneshot::channel();
        let mut keys = req.keys;
        // BLPOP k k: one registration per distinct key.
        let mut seen = std::collections::HashSet::new();
        keys.retain(|k| seen.insert(k.clone()));
        let (argv, called_argv) = match req.argv_override {
            Some(run) => (run, Some(argv)),
            None => (argv, None),
        };
        Waiter {
            client_id: info.id,
            info,
            db,
            proto,
            argv,
            first_usec: req.first_usec,
            first_ns: req.first_ns,
            called_argv,
            keys,
            deadline_ms: req.deadline_ms,
            timeout_reply: req.timeout_reply,
            serve_all: req.serve_all,
            key_type: req.key_type,
            silent: false,
            claimed: AtomicBool::new(false),
            tx: Mutex::new(Some(tx)),
            rx: Mutex::new(Some(rx)),
        }
    }

    /// Takes the right to end this wait. False if someone else has it.
    pub fn claim(&self) -> bool {
        self.claimed.compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    /// Gives the claim back (a served command that would block again). The
    /// connection, which leaves its mail alone while the waiter is claimed,
    /// is woken to look again.
    pub fn unclaim(&self) {
        self.claimed.store(false, Ordering::Release);
        self.info.mailbox.signal.raise(crate::client::SIG_MAIL);
    }

    /// True while someone has the right to end the wait (being served).
    pub fn is_claimed(&self) -> bool {
        self.claimed.load(Ordering::Acquire)
    }

    /// Sends the reply (the claimer only): it joins the client's mailbox,
    /// behind the messages that reached it first, and the connection is
    /// woken with nothing on the channel.
    pub fn send(&self, bytes: Vec<u8>) {
        self.send_before(bytes, None);
    }

    /// `send`, the reply going before the mail queued since `mail_mark`
    /// (`ClientInfo::mail_len` before serving: what the served command sent
    /// its own connection, such as invalidations, follows its reply).
    pub fn send_before(&self, bytes: Vec<u8>, mail_mark: Option<usize>) {
        if let Some(tx) = self.tx.lock().take() {
            if !self.silent {
                self.info.deliver_reply(&bytes, mail_mark);
            }
            let _ = tx.send(Vec::new());
        }
    }

    /// Wakes the connection with `note` on the channel and no reply (the
    /// connection writes its own: WAIT's count at CLIENT UNBLOCK).
    pub fn wake_with(&self, note: Vec<u8>) {
        if let Some(tx) = self.tx.lock().take() {
            let _ = tx.send(note);
        }
    }

    /// The receiving end, taken once by the blocked connection.
    pub fn take_receiver(&self) -> Option<oneshot::Receiver<Vec<u8>>> {
        self.rx.lock().take()
    }

    /// The timeout reply in the waiter's protocol (nothing if silent).
    pub fn timeout_bytes(&self) -> Vec<u8> {
        if self.silent {
            return Vec::new();
        }
        let mut out = Out::new(self.proto);
        (self.timeout_reply)(&mut out);
        out.buf
    }
}

#[derive(Default)]
struct Inner {
    by_key: HashMap<(usize, Key), VecDeque<Arc<Waiter>>>,
    by_client: HashMap<u64, Arc<Waiter>>,
}

/// The argv a WAIT's waiter is registered with.
pub const WAIT_ARGV: &[u8] = b"wait";
/// What CLIENT UNBLOCK ... TIMEOUT sends a WAIT's connection.
pub const WAIT_UNBLOCKED: &[u8] = b"unblocked";

/// The registry of blocked clients (`Server::blocking`).
#[derive(Default)]
pub struct Blocking {
    inner: Mutex<Inner>,
    /// Blocked clients (INFO blocked_clients); also the cheap "anyone
    /// waiting?" check of `signal_ready`.
    blocked: AtomicUsize,
    /// Distinct (db, key) pairs with waiters.
    keys: AtomicUsize,
}

impl Blocking {
    /// True while at least one client is blocked.
    pub fn has_waiters(&self) -> bool {
        self.blocked.load(Ordering::Acquire) > 0
    }

    /// INFO's blocked_clients.
    pub fn blocked_clients(&self) -> usize {
        self.blocked.load(Ordering::Relaxed)
    }

    /// Keys that have at least one blocked client.
    pub fn blocking_keys(&self) -> usize {
        self.keys.load(Ordering::Relaxed)
    }

    /// Registers a waiter at the end of the queue of each of its keys. Called
    /// by dispatch with the keys' shards locked.
    pub fn register(&self, w: Arc<Waiter>) {
        let mut g = self.inner.lock();
        for k in &w.keys {
            let q = g.by_key.entry((w.db, k.clone())).or_default();
            if q.is_empty() {
                self.keys.fetch_add(1, Ordering::Relaxed);
            }
            q.push_back(w.clone());
        }
        w.info.set_flag('b', true);
        if let Some(old) = g.by_client.insert(w.client_id, w) {
            // A client blocks on one command at a time; a stale entry would be
            // a bug, but never leave it counted.
            Self::remove_from_keys(&mut g, &old, &self.keys);
        } else {
            self.blocked.fetch_add(1, Ordering::AcqRel);
        }
    }

    fn remove_from_keys(g: &mut Inner, w: &Arc<Waiter>, keys: &AtomicUsize) {
        for k in &w.keys {
            let id = (w.db, k.clone());
            if let Some(q) = g.by_key.get_mut(&id) {
                q.retain(|x| !Arc::ptr_eq(x, w));
                if q.is_empty() {
                    g.by_key.remove(&id);
                    keys.fetch_sub(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// Removes a waiter from every queue (idempotent).
    pub fn unregister(&self, w: &Arc<Waiter>) {
        let mut g = self.inner.lock();
        match g.by_client.get(&w.client_id) {
            Some(cur) if Arc::ptr_eq(cur, w) => {
                g.by_client.remove(&w.client_id);
                w.info.set_flag('b', false);
                self.blocked.fetch_sub(1, Ordering::AcqRel);
            }
            _ => return,
        }
        Self::remove_from_keys(&mut g, w, &self.keys);
    }

    /// The waiters of a key, first in line first.
    pub fn waiters_of(&self, db: usize, key: &[u8]) -> Vec<Arc<Waiter>> {
        let g = self.inner.lock();
        g.by_key.get(&(db, Key::from(key))).map(|q| q.iter().cloned().collect()).unwrap_or_default()
    }

    /// The keys of `db` that have waiters (SWAPDB re-checks them).
    pub fn keys_in_db(&self, db: usize) -> Vec<Key> {
        let g = self.inner.lock();
        g.by_key.keys().filter(|(d, _)| *d == db).map(|(_, k)| k.clone()).collect()
    }

    /// True if the client is blocked on keys.
    pub fn is_blocked(&self, client_id: u64) -> bool {
        self.inner.lock().by_client.contains_key(&client_id)
    }

    /// Ends a killed client's wait without a reply (its connection is
    /// closing). Nothing if it is not blocked or is being served.
    pub fn cancel(&self, client_id: u64) {
        let w = match self.inner.lock().by_client.get(&client_id) {
            Some(w) => w.clone(),
            None => return,
        };
        if w.claim() {
            self.unregister(&w);
        }
    }

    /// CLIENT UNBLOCK: ends a client's wait with its timeout reply, or with an
    /// UNBLOCKED error. `None` if it is not blocked (or is being served).
    pub fn unblock(&self, client_id: u64, error: bool) -> Option<Arc<Waiter>> {
        let w = self.inner.lock().by_client.get(&client_id)?.clone();
        if !w.claim() {
            return None;
        }
        self.unregister(&w);
        let bytes = if error {
            let mut out = Out::new(w.proto);
            out.error("UNBLOCKED client unblocked via CLIENT UNBLOCK");
            out.buf
        } else if w.argv.first().is_some_and(|a| a.as_slice() == WAIT_ARGV) {
            // WAIT answers with the replicas acknowledged by then, which
            // its connection counts.
            w.wake_with(WAIT_UNBLOCKED.to_vec());
            return Some(w);
        } else {
            w.timeout_bytes()
        };
        w.send(bytes);
        Some(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiter(id: u64, keys: &[&str]) -> Arc<Waiter> {
        let info = Arc::new(ClientInfo::new(id, None, None, 0));
        let req = BlockRequest::new(keys.iter().map(|k| Key::from(k.as_bytes())).collect(), None, reply_null_array);
        Arc::new(Waiter::new(info, 0, Protocol::Resp2, vec![b"blpop".to_vec()], req))
    }

    #[test]
    fn register_fifo_and_unregister() {
        let b = Blocking::default();
        let (w1, w2) = (waiter(1, &["a", "b", "a"]), waiter(2, &["a"]));
        assert_eq!(w1.keys.len(), 2);
        b.register(w1.clone());
        b.register(w2.clone());
        assert_eq!(b.blocked_clients(), 2);
        assert_eq!(b.blocking_keys(), 2);
        let q = b.waiters_of(0, b"a");
        assert!(Arc::ptr_eq(&q[0], &w1) && Arc::ptr_eq(&q[1], &w2));
        b.unregister(&w1);
        b.unregister(&w1);
        assert_eq!(b.blocked_clients(), 1);
        assert_eq!(b.blocking_keys(), 1);
        assert!(b.waiters_of(0, b"b").is_empty());
        b.unregister(&w2);
        assert!(!b.has_waiters());
        assert_eq!(b.blocking_keys(), 0);
    }

    #[test]
    fn claim_once_and_unblock() {
        let b = Blocking::default();
        let w = waiter(7, &["k"]);
        let mut rx = w.take_receiver().unwrap();
        b.register(w.clone());
        assert!(w.claim());
        assert!(!w.claim());
        assert!(b.unblock(7, false).is_none(), "claimed elsewhere");
        w.unclaim();
        assert!(b.unblock(7, true).is_some());
        assert_eq!(rx.try_recv().unwrap(), b"");
        let mut mail = Vec::new();
        w.info.take_mail(&mut mail);
        assert_eq!(mail, b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
        assert!(!b.is_blocked(7));
        assert!(b.unblock(7, false).is_none());
    }

    #[test]
    fn timeouts() {
        let e = |s: &str| parse_timeout(s.as_bytes(), 1000).unwrap_err().to_string();
        assert_eq!(parse_timeout(b"0", 1000), Ok(None));
        assert_eq!(parse_timeout(b"0.1", 1000), Ok(Some(1100)));
        assert_eq!(parse_timeout(b"0.0001", 1000), Ok(Some(1001)));
        assert_eq!(parse_timeout(b"-0.0001", 1000), Ok(None));
        assert_eq!(parse_timeout(b"0x10", 1000), Ok(Some(17000)));
        assert_eq!(e("-1"), "ERR timeout is negative");
        assert_eq!(e("inf"), "ERR timeout is negative");
        assert_eq!(e("1e16"), "ERR timeout is negative");
        assert_eq!(e("1e400"), "ERR timeout is negative");
        assert_eq!(e("abc"), "ERR timeout is not a float or out of range");
        assert_eq!(e("nan"), "ERR timeout is not a float or out of range");
        assert_eq!(e(" 1"), "ERR timeout is not a float or out of range");
        assert_eq!(parse_timeout_ms(b"0", 5), Ok(None));
        assert_eq!(parse_timeout_ms(b"10", 5), Ok(Some(15)));
        assert_eq!(parse_timeout_ms(b"9223372036854775807", 5), Ok(Some(i64::MAX)));
        assert_eq!(parse_timeout_ms(b"-1", 5).unwrap_err().to_string(), "ERR timeout is negative");
        assert_eq!(
            parse_timeout_ms(b"1.5", 5).unwrap_err().to_string(),
            "ERR timeout is not an integer or out of range"
        );
    }
}
