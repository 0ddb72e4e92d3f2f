//! Per-connection state.
//!
//! `Client` is owned by the connection's task and handed to every command as
//! `ctx.client`. `ClientInfo` is the part other connections may read or act on
//! (CLIENT LIST, CLIENT KILL): it lives in the registry behind an `Arc`.

use parking_lot::Mutex;
use resp::Protocol;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

/// What CLIENT LIST and CLIENT KILL see of a connection.
pub struct ClientInfo {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    pub created_ms: i64,
    pub last_interaction_ms: AtomicI64,
    pub name: Mutex<Option<Vec<u8>>>,
    pub lib_name: Mutex<Option<Vec<u8>>>,
    pub lib_ver: Mutex<Option<Vec<u8>>>,
    /// Registry index of the last command run (`usize::MAX`: none yet).
    pub last_cmd: AtomicUsize,
    pub db: AtomicUsize,
    pub resp: AtomicUsize,
    pub qbuf: AtomicUsize,
    /// Bytes allocated for the query buffer (`qbuf` + `qbuf-free`).
    pub qbuf_cap: AtomicUsize,
    pub omem: AtomicUsize,
    pub in_multi: AtomicI64,
    pub sub: AtomicUsize,
    pub psub: AtomicUsize,
    pub ssub: AtomicUsize,
    pub flags: Mutex<String>,
    pub killed: AtomicBool,
    pub kill: Notify,
    pub tot_net_in: AtomicU64,
    pub tot_net_out: AtomicU64,
    pub tot_cmds: AtomicU64,
    /// The socket's descriptor (CLIENT LIST `fd`), -1 if none.
    pub fd: AtomicI64,
    /// The ACL user the connection is logged in as.
    pub user: Mutex<String>,
    /// Client-side caching redirection (CLIENT LIST `redir`), -1 if none.
    pub redir: AtomicI64,
    /// Set while the connection is waiting out a CLIENT PAUSE.
    pub paused: AtomicBool,
    /// Output other connections send here (see `Mailbox`).
    pub mailbox: Mailbox,
    /// Bytes the connection took from its mailbox but has not written yet.
    pub pending_out: AtomicUsize,
    /// Channels, patterns and shard channels the client is subscribed to
    /// (its own task, and CLIENT KILL, which unsubscribes the victim).
    pub subs: Mutex<crate::pubsub::ClientSubs>,
    /// Memory the connection holds itself, besides its output backlog
    /// (computed by its task, see clientmem.rs).
    pub own_mem: AtomicUsize,
    /// What the client eviction total holds for this client.
    pub mem_reported: AtomicUsize,
    /// Taken out of the client eviction total for good.
    pub mem_gone: AtomicBool,
    /// CLIENT NO-EVICT ON: never chosen by client eviction.
    pub no_evict: AtomicBool,
}

/// The order Redis prints CLIENT LIST flag letters in.
const FLAG_ORDER: &str = "OSMPxbtRBdcuAUreT";

impl ClientInfo {
    /// The name of the last command run (CLIENT LIST `cmd`), "NULL" if none.
    pub fn last_cmd_name(&self) -> &'static str {
        let i = self.last_cmd.load(Ordering::Relaxed);
        crate::commands::registry().entries.get(i).map_or("NULL", |e| e.spec.name)
    }

    pub fn new(id: u64, addr: Option<SocketAddr>, laddr: Option<SocketAddr>, now_ms: i64) -> Self {
        ClientInfo {
            id,
            addr: addr.map(|a| a.to_string()).unwrap_or_default(),
            laddr: laddr.map(|a| a.to_string()).unwrap_or_default(),
            created_ms: now_ms,
            last_interaction_ms: AtomicI64::new(now_ms),
            name: Mutex::new(None),
            lib_name: Mutex::new(None),
            lib_ver: Mutex::new(None),
            last_cmd: AtomicUsize::new(usize::MAX),
            db: AtomicUsize::new(0),
            resp: AtomicUsize::new(2),
            qbuf: AtomicUsize::new(0),
            qbuf_cap: AtomicUsize::new(0),
            omem: AtomicUsize::new(0),
            in_multi: AtomicI64::new(-1),
            sub: AtomicUsize::new(0),
            psub: AtomicUsize::new(0),
            ssub: AtomicUsize::new(0),
            flags: Mutex::new("N".into()),
            killed: AtomicBool::new(false),
            kill: Notify::new(),
            tot_net_in: AtomicU64::new(0),
            tot_net_out: AtomicU64::new(0),
            tot_cmds: AtomicU64::new(0),
            fd: AtomicI64::new(-1),
            user: Mutex::new("default".into()),
            redir: AtomicI64::new(-1),
            paused: AtomicBool::new(false),
            mailbox: Mailbox::default(),
            pending_out: AtomicUsize::new(0),
            subs: Mutex::default(),
            own_mem: AtomicUsize::new(0),
            mem_reported: AtomicUsize::new(0),
            mem_gone: AtomicBool::new(false),
            no_evict: AtomicBool::new(false),
        }
    }

    /// CLIENT LIST `tot-mem`: what the connection holds plus its output
    /// backlog.
    pub fn tot_mem(&self) -> usize {
        self.own_mem.load(Ordering::Relaxed) + self.omem.load(Ordering::Relaxed)
    }

    /// True if the client is subscribed to anything (Redis's CLIENT_PUBSUB).
    pub fn in_pubsub(&self) -> bool {
        self.sub.load(Ordering::Relaxed) + self.psub.load(Ordering::Relaxed) + self.ssub.load(Ordering::Relaxed) > 0
    }

    pub fn is_resp3(&self) -> bool {
        self.resp.load(Ordering::Relaxed) == 3
    }

    /// Queues out-of-band output (a pub/sub message, an invalidation) for
    /// the connection, enforcing the output buffer limit of its class: a
    /// client past its hard limit, or past its soft limit for longer than
    /// allowed, is disconnected and its queue dropped, so memory stays
    /// bounded however slowly it reads. False if the client is gone.
    pub fn deliver(&self, bytes: &[u8], limits: &ObufLimits, now_ms: i64) -> bool {
        if self.killed.load(Ordering::Relaxed) {
            return false;
        }
        let mut m = self.mailbox.inner.lock();
        if m.buf.capacity() - m.buf.len() < bytes.len() {
            // Growing (a first message reserves for a few more at once).
            let cap = m.buf.capacity();
            m.buf.reserve(bytes.len().max(1024));
            self.mailbox.meter_add(m.buf.capacity() as i64 - cap as i64);
        }
        m.buf.extend_from_slice(bytes);
        let used = m.buf.len() + self.pending_out.load(Ordering::Relaxed);
        let class = if self.in_pubsub() { ObufClass::Pubsub } else { ObufClass::Normal };
        let over = limits.exceeded(class, used, &mut m.soft_since_ms, now_ms);
        if over {
            let cap = std::mem::take(&mut m.buf).capacity();
            self.mailbox.meter_add(-(cap as i64));
            self.omem.store(0, Ordering::Relaxed);
        } else {
            self.omem.store(used, Ordering::Relaxed);
        }
        drop(m);
        if over {
            self.request_kill();
            return false;
        }
        self.mailbox.signal.raise(SIG_MAIL);
        true
    }

    /// Queues the reply of a blocked command served by another task behind
    /// the messages already queued, so the connection writes them in the
    /// order Redis would have (a RESP3 subscriber sees the event of the
    /// write that served it first). No limit applies: it is a reply.
    /// `at` (a `mail_len` taken before the command ran) puts it before what
    /// its own run queued (its invalidations come after its reply).
    pub fn deliver_reply(&self, bytes: &[u8], at: Option<usize>) {
        self.mailbox.metered(|m| {
            let at = at.unwrap_or(usize::MAX).min(m.buf.len());
            m.buf.splice(at..at, bytes.iter().copied());
            self.omem.store(m.buf.len() + self.pending_out.load(Ordering::Relaxed), Ordering::Relaxed);
        });
    }

    /// Drops what waits in the mailbox (the client is being closed), so
    /// its memory is back at once.
    pub fn drop_mail(&self) {
        self.mailbox.metered(|m| m.buf = Vec::new());
        self.omem.store(0, Ordering::Relaxed);
    }

    /// Bytes waiting in the mailbox.
    pub fn mail_len(&self) -> usize {
        self.mailbox.inner.lock().buf.len()
    }

    /// Moves what the mailbox holds to the end of `out`.
    pub fn take_mail(&self, out: &mut Vec<u8>) {
        if self.omem.load(Ordering::Relaxed) == 0 {
            return;
        }
        self.mailbox.metered(|m| {
            // With replies still unwritten the moved bytes stay queued
            // output: `omem` keeps counting them until the next write
            // recounts.
            if self.pending_out.load(Ordering::Relaxed) == 0 {
                self.omem.store(0, Ordering::Relaxed);
            }
            if out.is_empty() {
                // The buffers trade places (no allocation in steady state).
                // The connection's buffer now holds mail: its room stays
                // output room until it is handed back (`written_out`).
                std::mem::swap(out, &mut m.buf);
                self.mailbox.out_is_mail.store(true, Ordering::Relaxed);
                self.mailbox.report_out_room(out.capacity() as i64);
            } else {
                out.extend_from_slice(&m.buf);
                m.buf.clear();
            }
            if m.buf.capacity() > 1024 * 1024 {
                m.buf = Vec::new();
            }
        });
    }

    /// Sets or clears one CLIENT LIST flag letter (`x` multi, `P` pubsub,
    /// `b` blocked, `t` tracking, `e` no-evict, `T` no-touch ...). The
    /// letters stay in Redis's order; no letter prints as `N`.
    pub fn set_flag(&self, letter: char, on: bool) {
        let mut f = self.flags.lock();
        let mut letters: Vec<char> = f.chars().filter(|&c| c != 'N' && c != letter).collect();
        if on {
            letters.push(letter);
        }
        letters.sort_by_key(|c| FLAG_ORDER.find(*c).unwrap_or(usize::MAX));
        *f = if letters.is_empty() { "N".into() } else { letters.into_iter().collect() };
    }

    /// The port-qualified peer address as CLIENT LIST and KILL show it.
    pub fn peer_id(&self) -> &str {
        &self.addr
    }

    /// Asks the connection to close (it notices at its next wake-up).
    pub fn request_kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        self.kill.notify_one();
        self.mailbox.signal.raise(SIG_KILL);
    }
}

/// A connection's queue of output written by other tasks, in the order they
/// wrote it. The connection task waits on `signal` besides its socket.
#[derive(Default)]
pub struct Mailbox {
    inner: Mutex<MailInner>,
    pub signal: Signal,
    /// The server's count of output room (`ClientRegistry::out_room`); set
    /// for connections.
    pub meter: Option<Arc<AtomicI64>>,
    /// What this connection last reported to `meter` of its output
    /// buffer's room (`report_out_room`).
    out_room: AtomicI64,
    /// The connection's output buffer is one that held mail (its room is
    /// output room until handed back to the mailbox).
    out_is_mail: AtomicBool,
}

/// `Signal` bits: mail arrived; the connection is to close; an idle
/// connection is to give its empty query buffer back.
pub const SIG_MAIL: u8 = 1;
pub const SIG_KILL: u8 = 2;
pub const SIG_SHRINK: u8 = 4;

/// What other tasks tell a waiting connection task (mail, kill), in one
/// waker slot and one word: the connection loop polls it together with its
/// socket, which costs an atomic load when nothing is pending (tokio's
/// `Notify` would register and unregister a waiter per wait, under a lock).
/// Bits raised while the task is busy stay set until it next polls.
#[derive(Default)]
pub struct Signal {
    waker: atomic_waker::AtomicWaker,
    pending: std::sync::atomic::AtomicU8,
}

impl Signal {
    pub fn raise(&self, bits: u8) {
        self.pending.fetch_or(bits, Ordering::SeqCst);
        self.waker.wake();
    }

    /// Registers the polling task, then takes the pending bits (0: none).
    pub fn poll_take(&self, cx: &mut std::task::Context<'_>) -> u8 {
        self.waker.register(cx.waker());
        if self.pending.load(Ordering::SeqCst) == 0 {
            return 0;
        }
        self.pending.swap(0, Ordering::SeqCst)
    }
}

impl Mailbox {
    /// Runs `f` on the mailbox under its lock, keeping the server's count of
    /// output room (`ClientRegistry::out_room`) up to date.
    fn metered<R>(&self, f: impl FnOnce(&mut MailInner) -> R) -> R {
        let mut m = self.inner.lock();
        let before = m.buf.capacity();
        let r = f(&mut m);
        let after = m.buf.capacity();
        if after != before {
            self.meter_add(after as i64 - before as i64);
        }
        r
    }

    fn meter_add(&self, bytes: i64) {
        if let Some(meter) = &self.meter {
            meter.fetch_add(bytes, Ordering::Relaxed);
        }
    }

    fn report_out_room(&self, room: i64) {
        let Some(meter) = &self.meter else { return };
        let old = self.out_room.load(Ordering::Relaxed);
        if old != room {
            self.out_room.store(room, Ordering::Relaxed);
            meter.fetch_add(room - old, Ordering::Relaxed);
        }
    }

    /// After a write, with `pending` bytes of `out` left for the socket. A
    /// buffer that took mail, once all written, goes back to the mailbox
    /// for the next mail if that is empty and has less room, at most a
    /// fresh buffer's (the connection gets the mailbox's): a burst's room (invalidations of
    /// evicted keys, a flood of messages) then waits there instead of
    /// being held by the connection, and the memory that maxmemory counts
    /// drops back as in Redis, which frees reply blocks once written.
    /// Until then its room, less the pending output, stays output room.
    /// Nothing to do for the usual buffer.
    pub fn written_out(&self, out: &mut Vec<u8>, pending: usize) {
        if !self.out_is_mail.load(Ordering::Relaxed) {
            return;
        }
        if pending == 0 {
            let back = self.metered(|m| {
                // (Only for a buffer no bigger than a fresh one: the
                // connection's own room must not grow by the trade.)
                let back = m.buf.is_empty() && m.buf.capacity() <= OUT_FRESH && m.buf.capacity() < out.capacity();
                if back {
                    std::mem::swap(out, &mut m.buf);
                }
                back
            });
            if back {
                self.out_is_mail.store(false, Ordering::Relaxed);
                self.report_out_room(0);
                return;
            }
        }
        self.report_out_room(out.capacity() as i64 - pending.min(out.capacity()) as i64);
    }
}

impl Drop for Mailbox {
    fn drop(&mut self) {
        if let Some(meter) = &self.meter {
            let room = self.inner.get_mut().buf.capacity() as i64 + *self.out_room.get_mut();
            meter.fetch_sub(room, Ordering::Relaxed);
        }
    }
}

/// The room of a fresh output buffer (`Out::new`).
const OUT_FRESH: usize = 4096;

#[derive(Default)]
struct MailInner {
    buf: Vec<u8>,
    /// When the soft limit was first seen exceeded (0: it is not).
    soft_since_ms: i64,
}

/// Output buffer limit classes, in the order CONFIG GET prints them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObufClass {
    Normal = 0,
    Replica = 1,
    Pubsub = 2,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ObufLimit {
    pub hard: u64,
    pub soft: u64,
    pub soft_secs: i64,
}

/// `client-output-buffer-limit`: per class hard and soft limits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ObufLimits(pub [ObufLimit; 3]);

impl ObufLimits {
    /// Redis's checkClientOutputBufferLimits: the hard limit is reached at
    /// once; the soft one must stay reached for more than its seconds.
    pub fn exceeded(&self, class: ObufClass, used: usize, soft_since_ms: &mut i64, now_ms: i64) -> bool {
        let l = self.0[class as usize];
        let used = used as u64;
        if l.hard > 0 && used >= l.hard {
            return true;
        }
        if l.soft > 0 && used >= l.soft {
            if *soft_since_ms == 0 {
                *soft_since_ms = now_ms.max(1);
                return false;
            }
            return (now_ms - *soft_since_ms) / 1000 > l.soft_secs;
        }
        *soft_since_ms = 0;
        false
    }

    /// Parses the canonical text of `client-output-buffer-limit` (as
    /// CONFIG GET shows it; the config module validates what is set).
    pub fn parse(text: &str) -> ObufLimits {
        Self::parse_canonical(text)
    }

    fn parse_canonical(text: &str) -> ObufLimits {
        let w: Vec<&str> = text.split_whitespace().collect();
        let mut l = ObufLimits::default();
        for (i, c) in w.chunks(4).enumerate().take(3) {
            l.0[i] = ObufLimit {
                hard: c[1].parse().unwrap_or(0),
                soft: c[2].parse().unwrap_or(0),
                soft_secs: c[3].parse().unwrap_or(0),
            };
        }
        l
    }
}

#[derive(Default)]
pub struct ClientRegistry {
    next_id: AtomicU64,
    map: Mutex<BTreeMap<u64, Arc<ClientInfo>>>,
    /// `map.len()`, readable without the lock.
    live: AtomicUsize,
    /// Output room of the connections: their mailboxes (mail other tasks
    /// left, about to be written) and their output buffers less what waits
    /// for a slow socket. Eviction does not count it: Redis would have
    /// written such output before running the next command, and frees its
    /// reply blocks once written (evicting keys sends invalidations, which
    /// must not make eviction go on). What waits for a client that does not
    /// read counts, as Redis's reply buffers do.
    pub out_room: Arc<AtomicI64>,
}

impl ClientRegistry {
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub fn add(&self, c: Arc<ClientInfo>) {
        let mut m = self.map.lock();
        m.insert(c.id, c);
        self.live.store(m.len(), Ordering::Relaxed);
    }

    pub fn remove(&self, id: u64) {
        let mut m = self.map.lock();
        m.remove(&id);
        self.live.store(m.len(), Ordering::Relaxed);
    }

    /// The number of connected clients, without taking the lock (may be
    /// a moment behind).
    pub fn live(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    pub fn count(&self) -> usize {
        self.map.lock().len()
    }

    pub fn get(&self, id: u64) -> Option<Arc<ClientInfo>> {
        self.map.lock().get(&id).cloned()
    }

    /// All clients, in id order.
    pub fn all(&self) -> Vec<Arc<ClientInfo>> {
        self.map.lock().values().cloned().collect()
    }

    pub fn kill_all(&self) {
        for c in self.all() {
            c.request_kill();
        }
    }
}

/// CLIENT REPLY mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ReplyMode {
    #[default]
    On,
    Off,
    /// Skip the reply of the next command only.
    SkipNext,
    /// Set while the command after CLIENT REPLY SKIP runs.
    Skipping,
}

/// A connection's own state, owned by its task.
pub struct Client {
    pub id: u64,
    pub info: Arc<ClientInfo>,
    pub db: usize,
    pub proto: Protocol,
    pub authenticated: bool,
    /// The ACL user (None: an internal client that may run anything).
    pub user: Option<Arc<crate::acl::AclUser>>,
    pub reply_mode: ReplyMode,
    /// Close after the pending replies are written (QUIT, protocol errors).
    pub close_after_reply: bool,
    pub no_evict: bool,
    pub no_touch: bool,
    /// Set between MULTI and EXEC/DISCARD.
    pub multi: Option<crate::txn::Multi>,
    /// The buffers of the last transaction, for the next MULTI.
    pub multi_spare: Option<crate::txn::Multi>,
    /// Keys under WATCH and the shared dirty flag.
    pub watch: crate::txn::WatchSet,
    /// Client-side caching state (CLIENT TRACKING).
    pub tracking: crate::tracking::ClientTracking,
    /// The last command resolved, tried first for the next one.
    pub last_entry: Option<&'static crate::commands::Entry>,
    /// Counters not yet added to the shared ones (see `dispatch::Pending`).
    pub pending: crate::dispatch::Pending,
    /// The connection loop's clock for the batch of input being run (see
    /// `BatchClock`); `None` outside a batch (served waiters and the like).
    pub batch_clock: Option<BatchClock>,
    /// When the command being run started (taken by `execute_locked`).
    pub cmd_start: Option<u64>,
    /// Shards and map hashes of the keys the prefetcher saw in the batch
    /// being run (see `KeyHints`).
    pub key_hints: KeyHints,
    /// Used memory was above maxmemory when the current command started
    /// (Redis's pre_command_oom_state; read by scripts, see evict.rs).
    pub oom: bool,
    /// In MONITOR mode (see cmdlog.rs; CLIENT LIST flag `O`).
    pub monitor: bool,
    /// Serves a blocked client's command (the slow log entry is made by
    /// the server, with the whole wait's figures).
    pub serving: bool,
    /// The link from our master (replica side), or the AOF loader: its
    /// writes are allowed on a read-only replica, it sees keys as its
    /// master does (nothing expires for it), and a TTL in the past is set
    /// as written.
    pub master: bool,
    /// REPLCONF listening-port of a replica connection.
    pub replica_port: u16,
    /// The replication offset after this connection's last write (WAIT).
    pub woff: u64,
}

/// What `prefetch::batch` computed for each key of a batch, in order: the
/// key's address and length in the input buffer, its shard and its map
/// hash, so that locking and lookup need not compute them again. Valid
/// only while the input buffer is untouched: the connection loop clears it
/// at the end of a batch and after every wait.
#[derive(Default)]
pub struct KeyHints {
    v: smallvec::SmallVec<[(usize, usize, usize, u64); 16]>,
    next: usize,
}

impl KeyHints {
    pub fn clear(&mut self) {
        self.v.clear();
        self.next = 0;
    }

    pub fn push(&mut self, key: &[u8], shard: usize, hash: u64) {
        self.v.push((key.as_ptr() as usize, key.len(), shard, hash));
    }

    /// The shard and hash of `key`, if it is the next key seen (or one of
    /// the few after it: keys are asked for in the order they were seen).
    pub fn find(&mut self, key: &[u8]) -> Option<(usize, u64)> {
        let (p, l) = (key.as_ptr() as usize, key.len());
        let end = self.v.len().min(self.next + 4);
        for i in self.next..end {
            let (hp, hl, s, h) = self.v[i];
            if hp == p && hl == l {
                self.next = i + 1;
                return Some((s, h));
            }
        }
        None
    }
}

/// One reading of the wall clock per batch of input, and one monotonic
/// reading per command: a command's start is the previous command's end
/// (`mark`), and its frozen unix time is derived from the batch's reading
/// plus the monotonic time elapsed since, so a pipeline of 16 commands costs
/// 17 clock reads rather than 48.
#[derive(Clone, Copy)]
pub struct BatchClock {
    /// `server::ticks` at the batch's start.
    pub base: u64,
    /// Unix milliseconds at `base`, without the test offset.
    pub base_ms: i64,
    pub mark: u64,
}

impl BatchClock {
    pub fn now() -> BatchClock {
        let base = crate::server::ticks::now();
        BatchClock { base, base_ms: crate::server::Clock::real_ms(), mark: base }
    }
}

impl Client {
    pub fn new(info: Arc<ClientInfo>, authenticated: bool) -> Self {
        Client {
            id: info.id,
            info,
            db: 0,
            proto: Protocol::Resp2,
            authenticated,
            user: None,
            reply_mode: ReplyMode::On,
            close_after_reply: false,
            no_evict: false,
            no_touch: false,
            multi: None,
            multi_spare: None,
            watch: Default::default(),
            tracking: Default::default(),
            last_entry: None,
            pending: Default::default(),
            batch_clock: None,
            cmd_start: None,
            key_hints: KeyHints::default(),
            oom: false,
            monitor: false,
            serving: false,
            master: false,
            replica_port: 0,
            woff: 0,
        }
    }

    /// RESET: back to the state of a new connection (db 0, RESP2, no name,
    /// replies on, authenticated only if no password is required, no
    /// NO-EVICT / NO-TOUCH). Families with per-connection state (MULTI,
    /// WATCH, subscriptions, tracking) add their own reset to
    /// `commands::connection::reset` next to this call.
    pub fn reset(&mut self, needs_auth: bool, default: Arc<crate::acl::AclUser>) {
        *self.info.user.lock() = "default".into();
        self.user = Some(default);
        self.select(0);
        self.proto = Protocol::Resp2;
        self.info.resp.store(2, Ordering::Relaxed);
        *self.info.name.lock() = None;
        self.reply_mode = ReplyMode::On;
        self.authenticated = !needs_auth;
        self.no_evict = false;
        self.info.no_evict.store(false, Ordering::Relaxed);
        self.no_touch = false;
        self.info.set_flag('e', false);
        self.info.set_flag('T', false);
    }

    pub fn select(&mut self, db: usize) {
        self.db = db;
        self.info.db.store(db, Ordering::Relaxed);
    }
}
