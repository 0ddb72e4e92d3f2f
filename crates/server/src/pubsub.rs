//! The pub/sub registry: who listens to what, and delivery.
//!
//! Three maps, each name → subscribers: channels (SUBSCRIBE), patterns
//! (PSUBSCRIBE, matched with Redis's glob against every published channel)
//! and shard channels (SSUBSCRIBE; patterns never see them). A subscriber
//! is the `ClientInfo` of its connection; delivering appends the encoded
//! message to that connection's mailbox (`ClientInfo::deliver`), which its
//! task writes out. Publishing is synchronous in the publisher's task and
//! each mailbox is a FIFO, so a publisher's messages arrive in the order it
//! published them, whatever cores the two run on. Mailboxes are bounded by
//! `client-output-buffer-limit`: a subscriber that stops reading is cut off.
//!
//! Each connection also keeps its own sets (`ClientSubs`, in its
//! `ClientInfo` behind a mutex that only its own task and CLIENT KILL take)
//! so confirmations can count subscriptions and a disconnect, RESET or
//! CLIENT KILL can unsubscribe everything. The registry maps are behind read-write locks:
//! publishing only reads. `subscriptions` counts every (client, name) pair
//! so keyspace notifications cost one atomic load when nobody listens.
//!
//! A message for the publishing connection itself (a RESP3 client that
//! publishes on a channel it listens to, or triggers a keyspace event it
//! watches) is written straight into its reply buffer, so it comes before
//! the command's own reply, as in Redis.

use crate::client::{ClientInfo, ObufLimits};
use crate::server::Server;
use indexmap::{IndexMap, IndexSet};
use parking_lot::{Mutex, RwLock};
use resp::{Out, Protocol};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

type Subscribers = IndexMap<u64, Arc<ClientInfo>, ahash::RandomState>;
type NameMap = HashMap<Box<[u8]>, Subscribers, ahash::RandomState>;

/// The kinds of subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    fn subscribe_word(self) -> &'static str {
        match self {
            Kind::Channel => "subscribe",
            Kind::Pattern => "psubscribe",
            Kind::Shard => "ssubscribe",
        }
    }

    fn unsubscribe_word(self) -> &'static str {
        match self {
            Kind::Channel => "unsubscribe",
            Kind::Pattern => "punsubscribe",
            Kind::Shard => "sunsubscribe",
        }
    }
}

/// A connection's own subscriptions. Patterns keep subscription order
/// (Redis keeps them in a list, so PUNSUBSCRIBE without arguments answers in
/// that order).
#[derive(Default)]
pub struct ClientSubs {
    pub channels: IndexSet<Box<[u8]>, ahash::RandomState>,
    pub patterns: IndexSet<Box<[u8]>, ahash::RandomState>,
    pub shard: IndexSet<Box<[u8]>, ahash::RandomState>,
}

impl ClientSubs {
    fn set(&mut self, kind: Kind) -> &mut IndexSet<Box<[u8]>, ahash::RandomState> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard,
        }
    }

    /// The count confirmations show: channels + patterns, or shard channels.
    pub fn count_for(&self, kind: Kind) -> usize {
        match kind {
            Kind::Shard => self.shard.len(),
            _ => self.channels.len() + self.patterns.len(),
        }
    }

    pub fn total(&self) -> usize {
        self.channels.len() + self.patterns.len() + self.shard.len()
    }
}

/// Settings read on every delivery, cached until the config changes.
struct Cached {
    version: AtomicU64,
    notify_flags: AtomicU32,
    limits: Mutex<ObufLimits>,
}

pub struct PubSub {
    channels: RwLock<NameMap>,
    patterns: RwLock<NameMap>,
    shard: RwLock<NameMap>,
    /// Every (client, channel/pattern/shard channel) pair.
    subscriptions: AtomicUsize,
    /// The (client, pattern) pairs: PUBLISH skips the pattern map when 0.
    pattern_subs: AtomicUsize,
    cached: Cached,
}

impl Default for PubSub {
    fn default() -> Self {
        PubSub {
            channels: Default::default(),
            patterns: Default::default(),
            shard: Default::default(),
            subscriptions: AtomicUsize::new(0),
            pattern_subs: AtomicUsize::new(0),
            cached: Cached {
                version: AtomicU64::new(u64::MAX),
                notify_flags: AtomicU32::new(0),
                limits: Mutex::new(ObufLimits::default()),
            },
        }
    }
}

/// Where a message for the connection running the command goes.
pub struct SelfOut<'a> {
    pub id: u64,
    pub out: &'a mut Out,
}

impl PubSub {
    fn map(&self, kind: Kind) -> &RwLock<NameMap> {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard,
        }
    }

    /// True if nobody is subscribed to anything.
    pub fn is_idle(&self) -> bool {
        self.subscriptions.load(Ordering::Relaxed) == 0
    }

    fn refresh(&self, srv: &Server) {
        let v = srv.config.version();
        if self.cached.version.load(Ordering::Acquire) == v {
            return;
        }
        let flags = crate::cfg_num!(srv.config, "notify-keyspace-events") as u32;
        let limits =
            srv.config.get_text("client-output-buffer-limit").map(|t| ObufLimits::parse(&t)).unwrap_or_default();
        self.cached.notify_flags.store(flags, Ordering::Relaxed);
        *self.cached.limits.lock() = limits;
        self.cached.version.store(v, Ordering::Release);
    }

    /// The enabled keyspace-event classes.
    pub fn notify_flags(&self, srv: &Server) -> u32 {
        self.refresh(srv);
        self.cached.notify_flags.load(Ordering::Relaxed)
    }

    /// The output buffer limits.
    pub fn limits(&self, srv: &Server) -> ObufLimits {
        self.refresh(srv);
        *self.cached.limits.lock()
    }

    /// Subscribes the connection to `name`; writes the confirmation. A
    /// client killed meanwhile (its task may still be running the rest of
    /// its input) is not registered again.
    pub fn subscribe(&self, info: &Arc<ClientInfo>, kind: Kind, name: &[u8], out: &mut Out) {
        let mut subs = info.subs.lock();
        if !info.killed.load(Ordering::SeqCst) && subs.set(kind).insert(name.into()) {
            self.map(kind).write().entry(name.into()).or_default().insert(info.id, info.clone());
            self.subscriptions.fetch_add(1, Ordering::Relaxed);
            if kind == Kind::Pattern {
                self.pattern_subs.fetch_add(1, Ordering::Relaxed);
            }
            sync_counts(info, &subs);
        }
        confirm(out, kind.subscribe_word(), Some(name), subs.count_for(kind));
    }

    /// Unsubscribes from `name`; writes the confirmation when `out` is given.
    pub fn unsubscribe(&self, info: &ClientInfo, kind: Kind, name: &[u8], out: Option<&mut Out>) -> bool {
        self.unsubscribe_locked(info, &mut info.subs.lock(), kind, name, out)
    }

    fn unsubscribe_locked(
        &self,
        info: &ClientInfo,
        subs: &mut ClientSubs,
        kind: Kind,
        name: &[u8],
        out: Option<&mut Out>,
    ) -> bool {
        // Patterns keep their order; the others may be reordered.
        let removed =
            if kind == Kind::Pattern { subs.set(kind).shift_remove(name) } else { subs.set(kind).swap_remove(name) };
        if removed {
            let mut map = self.map(kind).write();
            if let Some(s) = map.get_mut(name) {
                s.swap_remove(&info.id);
                if s.is_empty() {
                    map.remove(name);
                }
            }
            drop(map);
            self.subscriptions.fetch_sub(1, Ordering::Relaxed);
            if kind == Kind::Pattern {
                self.pattern_subs.fetch_sub(1, Ordering::Relaxed);
            }
            sync_counts(info, subs);
        }
        if let Some(out) = out {
            confirm(out, kind.unsubscribe_word(), Some(name), subs.count_for(kind));
        }
        removed
    }

    /// Unsubscribes from every name of `kind`, confirming each (or once
    /// with a null name if there were none) when `out` is given.
    pub fn unsubscribe_all(&self, info: &ClientInfo, kind: Kind, out: Option<&mut Out>) {
        self.unsubscribe_all_locked(info, &mut info.subs.lock(), kind, out)
    }

    fn unsubscribe_all_locked(&self, info: &ClientInfo, subs: &mut ClientSubs, kind: Kind, mut out: Option<&mut Out>) {
        let names: Vec<Box<[u8]>> = subs.set(kind).iter().cloned().collect();
        for n in &names {
            self.unsubscribe_locked(info, subs, kind, n, out.as_deref_mut());
        }
        if names.is_empty() {
            if let Some(out) = out {
                confirm(out, kind.unsubscribe_word(), None, subs.count_for(kind));
            }
        }
    }

    /// Drops every subscription of a connection (disconnect, RESET, and
    /// CLIENT KILL, which does it for the victim at once, as Redis frees a
    /// killed client before replying).
    pub fn forget_client(&self, info: &ClientInfo) {
        let mut subs = info.subs.lock();
        for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
            self.unsubscribe_all_locked(info, &mut subs, kind, None);
        }
    }

    /// Publishes `msg` on `channel` (a shard channel when `shard`) at time
    /// `now` (ms, for output-buffer soft limits); returns the number of
    /// receivers.
    pub fn publish(
        &self,
        srv: &Server,
        shard: bool,
        channel: &[u8],
        msg: &[u8],
        mut me: Option<SelfOut<'_>>,
        now: i64,
    ) -> usize {
        if self.is_idle() {
            return 0;
        }
        let limits = self.limits(srv);
        // With client eviction on, each receiver's grown backlog is
        // reported at once (the publisher's own check then evicts).
        let mem = (crate::clientmem::limit(srv) != 0).then_some(&srv.client_mem);
        let mut receivers = 0;
        let kind = if shard { Kind::Shard } else { Kind::Channel };
        {
            let map = self.map(kind).read();
            if let Some(subs) = map.get(channel) {
                let word = if shard { "smessage" } else { "message" };
                let mut enc = Encoded::new(channel.len() + msg.len() + 48, |o| {
                    o.push(3);
                    o.bulk(word);
                    o.bulk(channel);
                    o.bulk(msg);
                });
                for (id, c) in subs {
                    receivers += 1;
                    send(c, *id, &mut enc, &mut me, &limits, now, mem);
                }
            }
        }
        if shard || self.pattern_subs.load(Ordering::Relaxed) == 0 {
            return receivers;
        }
        let pats = self.patterns.read();
        for (pat, subs) in pats.iter() {
            if !crate::glob::matches(pat, channel, false) {
                continue;
            }
            let mut enc = Encoded::new(pat.len() + channel.len() + msg.len() + 64, |o| {
                o.push(4);
                o.bulk("pmessage");
                o.bulk(pat);
                o.bulk(channel);
                o.bulk(msg);
            });
            for (id, c) in subs {
                receivers += 1;
                send(c, *id, &mut enc, &mut me, &limits, now, mem);
            }
        }
        receivers
    }

    /// Names of `kind` (channels or shard channels) with subscribers,
    /// matching `pattern` if given.
    pub fn names(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Box<[u8]>> {
        self.map(kind)
            .read()
            .keys()
            .filter(|n| pattern.map(|p| crate::glob::matches(p, n, false)).unwrap_or(true))
            .cloned()
            .collect()
    }

    /// Subscribers of one channel (or shard channel).
    pub fn numsub(&self, kind: Kind, name: &[u8]) -> usize {
        self.map(kind).read().get(name).map(|s| s.len()).unwrap_or(0)
    }

    /// Names of `kind` with at least one subscriber (INFO).
    pub fn count(&self, kind: Kind) -> usize {
        self.map(kind).read().len()
    }

    /// Patterns with at least one subscriber.
    pub fn numpat(&self) -> usize {
        self.patterns.read().len()
    }

    /// True if someone listens on this exact channel.
    pub fn has_channel(&self, name: &[u8]) -> bool {
        self.channels.read().contains_key(name)
    }
}

fn sync_counts(info: &ClientInfo, subs: &ClientSubs) {
    info.sub.store(subs.channels.len(), Ordering::Relaxed);
    info.psub.store(subs.patterns.len(), Ordering::Relaxed);
    info.ssub.store(subs.shard.len(), Ordering::Relaxed);
    info.set_flag('P', subs.total() > 0);
}

/// A (un)subscribe confirmation: `[word, name or null, count]`.
fn confirm(out: &mut Out, word: &str, name: Option<&[u8]>, count: usize) {
    out.push(3);
    out.bulk(word);
    match name {
        Some(n) => out.bulk(n),
        None => out.null(),
    }
    out.int(count as i64);
}

/// One message encoded lazily for each protocol (RESP2 arrays, RESP3 pushes).
pub struct Encoded<F: Fn(&mut Out)> {
    write: F,
    /// Room for the whole message, so it is encoded with one allocation.
    cap: usize,
    resp2: Option<Vec<u8>>,
    resp3: Option<Vec<u8>>,
}

impl<F: Fn(&mut Out)> Encoded<F> {
    pub fn new(cap: usize, write: F) -> Self {
        Encoded { write, cap, resp2: None, resp3: None }
    }

    pub fn get(&mut self, resp3: bool) -> &[u8] {
        let (slot, proto) = if resp3 { (&mut self.resp3, Protocol::Resp3) } else { (&mut self.resp2, Protocol::Resp2) };
        slot.get_or_insert_with(|| {
            let mut o = Out { buf: Vec::with_capacity(self.cap), proto };
            (self.write)(&mut o);
            o.buf
        })
    }
}

fn send<F: Fn(&mut Out)>(
    c: &ClientInfo,
    id: u64,
    enc: &mut Encoded<F>,
    me: &mut Option<SelfOut<'_>>,
    limits: &ObufLimits,
    now: i64,
    mem: Option<&crate::clientmem::ClientMem>,
) {
    match me {
        Some(m) if m.id == id => {
            let r3 = m.out.resp3();
            m.out.raw(enc.get(r3));
        }
        _ => {
            if c.deliver(enc.get(c.is_resp3()), limits, now) {
                if let Some(m) = mem {
                    m.report(c);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confirm_shapes() {
        let mut o = Out::new(Protocol::Resp2);
        confirm(&mut o, "unsubscribe", None, 0);
        assert_eq!(o.buf, b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n");
        let mut o = Out::new(Protocol::Resp3);
        confirm(&mut o, "subscribe", Some(b"a"), 1);
        assert_eq!(o.buf, b">3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n");
    }

    #[test]
    fn encoded_per_protocol() {
        let mut e = Encoded::new(16, |o| {
            o.push(1);
            o.bulk("x");
        });
        assert_eq!(e.get(false), b"*1\r\n$1\r\nx\r\n");
        assert_eq!(e.get(true), b">1\r\n$1\r\nx\r\n");
    }
}
