//! Client-side caching (CLIENT TRACKING): who may hold which keys, and the
//! invalidation messages sent when they change.
//!
//! Default mode: after a read-only command of a tracking client, the keys
//! it named are recorded in the tracking table (key → client ids; OPTIN and
//! OPTOUT decide per command with CLIENT CACHING). When a key is modified
//! (`Ctx::modified`, which also covers expiry), its entry is removed and
//! each client still tracking gets one invalidation; it must read the key
//! again to be told of the next change. BCAST mode records nothing: every
//! modified key that starts with one of the client's prefixes (the empty
//! prefix when none is given) is sent to it. A flush sends a null key list
//! ("everything") to every tracking client and empties the table. The
//! table is capped by `tracking-table-max-keys`: past it, keys are dropped
//! with an invalidation, as if modified.
//!
//! Delivery: a RESP3 client gets a push `>2 invalidate [keys]` on its own
//! connection; with REDIRECT the message goes to the other client: a push
//! if it speaks RESP3, or a pub/sub message on `__redis__:invalidate` if it
//! is a RESP2 client in subscribed mode. A redirect target that has gone is
//! reported to a RESP3 tracking client with `tracking-redir-broken`.
//! Messages travel through the target's mailbox, so an invalidation caused
//! by the client's own command arrives after that command's reply. NOLOOP
//! suppresses invalidations for keys the client itself modified.
//!
//! Each connection owns its `ClientTracking` (options, CLIENT CACHING for
//! the next command); what other connections need to invalidate it lives
//! in the shared registry behind one mutex, taken only while at least one
//! client tracks (an atomic count is the fast path).

use crate::client::{Client, ClientInfo};
use crate::server::Server;
use parking_lot::Mutex;
use resp::{Out, Protocol};
use smallvec::SmallVec;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A connection's own tracking options.
#[derive(Default, Clone)]
pub struct ClientTracking {
    pub on: bool,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    /// CLIENT CACHING YES/NO was given for the next command.
    pub caching: bool,
    /// A script being run called a read-only command: its declared keys are
    /// remembered when it ends (what Redis tracks for scripts).
    pub script_read: bool,
    /// Client id invalidations go to (0: this connection).
    pub redirect: u64,
    /// BCAST prefixes, sorted.
    pub prefixes: Vec<Box<[u8]>>,
}

/// What an invalidating connection needs to know of a tracking client.
struct Tracker {
    info: Arc<ClientInfo>,
    redirect: u64,
    bcast: bool,
    noloop: bool,
    broken_redirect: bool,
}

#[derive(Default)]
struct Inner {
    /// Key → ids of the clients that may cache it.
    table: HashMap<Box<[u8]>, SmallVec<[u64; 2]>, ahash::RandomState>,
    /// (key, client) pairs in `table` (INFO tracking_total_items, without a
    /// walk over the table).
    items: usize,
    /// BCAST prefix → client ids.
    prefixes: BTreeMap<Box<[u8]>, SmallVec<[u64; 2]>>,
    clients: HashMap<u64, Tracker, ahash::RandomState>,
    /// BCAST prefix → keys modified since the last broadcast, in key order,
    /// each with the client that last modified it (for NOLOOP).
    pending: BTreeMap<Box<[u8]>, BTreeMap<Box<[u8]>, u64>>,
}

#[derive(Default)]
pub struct Tracking {
    clients_on: AtomicUsize,
    inner: Mutex<Inner>,
}

/// The key list of an invalidation.
enum Keys<'a> {
    One(&'a [u8]),
    /// Several keys, already encoded as a RESP array.
    Encoded(&'a [u8]),
    /// Every key (after a flush).
    All,
}

impl Tracking {
    /// Turns tracking on (or updates its options) for `client`.
    pub fn enable(&self, client: &mut Client, opts: ClientTracking) {
        let mut inner = self.inner.lock();
        let t = &mut client.tracking;
        t.on = true;
        t.redirect = opts.redirect;
        t.bcast = opts.bcast;
        t.optin = opts.optin;
        t.optout = opts.optout;
        t.noloop = opts.noloop;
        if opts.bcast {
            let new: Vec<Box<[u8]>> = if opts.prefixes.is_empty() { vec![Box::from(&b""[..])] } else { opts.prefixes };
            for p in new {
                if let Err(at) = t.prefixes.binary_search(&p) {
                    t.prefixes.insert(at, p.clone());
                    inner.prefixes.entry(p).or_default().push(client.id);
                }
            }
        }
        client.info.set_flag('t', true);
        client.info.set_flag('R', false);
        client.info.redir.store(t.redirect as i64, Ordering::Relaxed);
        let tracker = Tracker {
            info: client.info.clone(),
            redirect: t.redirect,
            bcast: t.bcast,
            noloop: t.noloop,
            broken_redirect: false,
        };
        // Counted by the registry's entries, which CLIENT KILL also removes.
        if inner.clients.insert(client.id, tracker).is_none() {
            self.clients_on.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Turns tracking off (CLIENT TRACKING OFF, RESET, disconnect).
    pub fn disable(&self, client: &mut Client) {
        let t = &mut client.tracking;
        if !t.on {
            return;
        }
        let mut inner = self.inner.lock();
        for p in t.prefixes.drain(..) {
            if let Some(ids) = inner.prefixes.get_mut(&p) {
                ids.retain(|id| *id != client.id);
                if ids.is_empty() {
                    inner.prefixes.remove(&p);
                }
            }
        }
        // (CLIENT KILL may have taken the client out already.)
        if inner.clients.remove(&client.id).is_some() {
            self.clients_on.fetch_sub(1, Ordering::Relaxed);
        }
        *t = ClientTracking::default();
        client.info.set_flag('t', false);
        client.info.set_flag('R', false);
        client.info.redir.store(-1, Ordering::Relaxed);
    }

    /// CLIENT KILL: takes a client out of the registry at once, as Redis
    /// frees it (INFO tracking_clients drops, its BCAST prefixes go). Its
    /// task's later `disable` finds nothing left to count.
    pub fn forget_killed(&self, id: u64) {
        let mut inner = self.inner.lock();
        if inner.clients.remove(&id).is_none() {
            return;
        }
        self.clients_on.fetch_sub(1, Ordering::Relaxed);
        inner.prefixes.retain(|_, ids| {
            ids.retain(|i| *i != id);
            !ids.is_empty()
        });
    }

    /// True if the redirect target of this client has gone.
    pub fn broken_redirect(&self, id: u64) -> bool {
        self.inner.lock().clients.get(&id).map(|t| t.broken_redirect).unwrap_or(false)
    }

    /// Records that `client` read `keys` (after a read-only command).
    pub fn remember<'k>(&self, srv: &Server, client: &Client, keys: impl Iterator<Item = &'k [u8]>) {
        let t = &client.tracking;
        if !t.on || t.bcast || (t.optin && !t.caching) || (t.optout && t.caching) {
            return;
        }
        let mut inner = self.inner.lock();
        for k in keys {
            let ids = inner.table.entry(k.into()).or_default();
            if !ids.contains(&client.id) {
                ids.push(client.id);
                inner.items += 1;
            }
        }
        inner.limit(srv);
    }

    /// Drops keys past `tracking-table-max-keys` (after CONFIG SET lowers it;
    /// Redis checks before every command).
    pub fn enforce_limit(&self, srv: &Server) {
        if self.clients_on.load(Ordering::Relaxed) > 0 {
            self.inner.lock().limit(srv);
        }
    }

    /// `key` was modified by the client `by` (0: by the server itself).
    pub fn invalidate_key(&self, srv: &Server, key: &[u8], by: u64) {
        if self.clients_on.load(Ordering::Relaxed) == 0 {
            return;
        }
        self.inner.lock().invalidate(srv, key, by, true);
    }

    /// Every key changed (FLUSHALL, FLUSHDB): tell every tracking client.
    /// The table is emptied even when nobody tracks any more: clients that
    /// turned tracking off leave their keys behind (as in Redis).
    pub fn invalidate_all(&self, srv: &Server) {
        if self.clients_on.load(Ordering::Relaxed) == 0 {
            if self.table_len() > 0 {
                self.inner.lock().clear_table();
            }
            return;
        }
        let mut inner = self.inner.lock();
        inner.clear_table();
        let ids: Vec<u64> = inner.clients.keys().copied().collect();
        for id in ids {
            inner.send(srv, id, Keys::All);
        }
    }

    /// Sends BCAST clients the keys modified under their prefixes since the
    /// last call, one message per prefix (Redis does this once per event
    /// loop iteration; we do it once per batch of commands read from a
    /// connection).
    pub fn flush_bcast(&self, srv: &Server) {
        if self.clients_on.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut inner = self.inner.lock();
        if inner.pending.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut inner.pending);
        for (prefix, keys) in pending {
            let ids: SmallVec<[u64; 4]> =
                inner.prefixes.get(&prefix).map(|v| v.iter().copied().collect()).unwrap_or_default();
            for id in ids {
                let noloop = inner.clients.get(&id).map(|t| t.noloop).unwrap_or(false);
                let mut o = Out::new(Protocol::Resp2);
                let mut n = 0;
                for (k, by) in &keys {
                    if !(noloop && *by == id) {
                        o.bulk(k);
                        n += 1;
                    }
                }
                if n == 0 {
                    continue;
                }
                let mut enc = Out::new(Protocol::Resp2);
                enc.array(n);
                enc.raw(&o.buf);
                inner.send(srv, id, Keys::Encoded(&enc.buf));
            }
        }
    }

    /// INFO's tracking_total_keys, tracking_total_items (key, client
    /// pairs) and tracking_total_prefixes.
    pub fn totals(&self) -> (usize, usize, usize) {
        let inner = self.inner.lock();
        (inner.table.len(), inner.items, inner.prefixes.len())
    }

    /// Number of keys in the tracking table.
    pub fn table_len(&self) -> usize {
        self.inner.lock().table.len()
    }
}

impl Inner {
    fn clear_table(&mut self) {
        self.table.clear();
        self.items = 0;
    }

    /// Past `tracking-table-max-keys`, keys are dropped with an invalidation.
    fn limit(&mut self, srv: &Server) {
        let max = crate::cfg_num!(srv.config, "tracking-table-max-keys");
        if max > 0 {
            while self.table.len() as i64 > max {
                let Some(k) = self.table.keys().next().cloned() else { break };
                self.invalidate(srv, &k, 0, false);
            }
        }
    }

    fn invalidate(&mut self, srv: &Server, key: &[u8], by: u64, bcast: bool) {
        if bcast {
            for p in self.prefixes.keys() {
                if key.starts_with(p) {
                    self.pending.entry(p.clone()).or_default().insert(key.into(), by);
                }
            }
        }
        let Some(ids) = self.table.remove(key) else { return };
        self.items -= ids.len();
        for id in ids {
            match self.clients.get(&id) {
                Some(t) if !t.bcast && !(t.noloop && id == by) => self.send(srv, id, Keys::One(key)),
                _ => {}
            }
        }
    }

    fn send(&mut self, srv: &Server, id: u64, keys: Keys<'_>) {
        let Some(t) = self.clients.get_mut(&id) else { return };
        let limits = srv.pubsub.limits(srv);
        let now = srv.clock.now_ms();
        let tracker_resp3 = t.info.is_resp3();
        let (target, redirected) = if t.redirect != 0 {
            match srv.clients.get(t.redirect) {
                Some(c) => (c, true),
                None => {
                    t.broken_redirect = true;
                    t.info.set_flag('R', true);
                    if tracker_resp3 {
                        let mut o = Out::new(Protocol::Resp3);
                        o.push(2);
                        o.bulk("tracking-redir-broken");
                        o.int(t.redirect as i64);
                        t.info.deliver(&o.buf, &limits, now);
                    }
                    return;
                }
            }
        } else {
            (t.info.clone(), false)
        };
        let mut o = Out::new(if target.is_resp3() { Protocol::Resp3 } else { Protocol::Resp2 });
        if target.is_resp3() {
            o.push(2);
            o.bulk("invalidate");
        } else if redirected && target.in_pubsub() {
            o.push(3);
            o.bulk("message");
            o.bulk("__redis__:invalidate");
        } else {
            return;
        }
        match keys {
            Keys::One(k) => {
                o.array(1);
                o.bulk(k);
            }
            // Redis writes the null of the tracking client's protocol.
            Keys::Encoded(b) => o.raw(b),
            Keys::All => o.raw(if tracker_resp3 { b"_\r\n" } else { b"$-1\r\n" }),
        }
        target.deliver(&o.buf, &limits, now);
    }
}
