//! Replication: master and replica sides of Redis's protocol (SYNC, PSYNC,
//! REPLCONF, REPLICAOF), so Hematite replicates to and from Hematite or
//! redis-server.
//!
//! Master side. The replication stream is the feed's REPL consumer
//! (`ReplSink`, attached when the first replica connects): every committed
//! write is appended to the backlog (a ring of repl-backlog-size bytes) and
//! to the output buffer of every replica, and the master offset grows by
//! its length. A replica that asks for a full sync gets a fork-less
//! snapshot (persist.rs) taken with every shard held, at the same moment as
//! its output buffer starts and the offset it is told (`+FULLRESYNC`): so
//! the snapshot plus the buffered stream are exactly the master's state. A
//! replica that comes back with an offset the backlog still holds gets
//! `+CONTINUE` and the bytes from there.
//!
//! Replica side. REPLICAOF starts a task that connects, shakes hands (PING,
//! AUTH with masterauth, REPLCONF listening-port and capa, PSYNC), loads the
//! snapshot (length-prefixed or EOF-marked, as Redis's diskless sync
//! sends), then runs the master's commands as the master client (replies
//! dropped, REPLCONF GETACK answered), acknowledging its offset every
//! second and reconnecting with PSYNC after a broken link. The bytes it
//! applies go on unchanged into its own stream, so its offset stays the
//! master's and replicas can chain.

use crate::server::Server;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

/// A replica's state as the master sees it.
pub const WAIT_BGSAVE: u8 = 0;
pub const SEND_BULK: u8 = 1;
pub const ONLINE: u8 = 2;

/// One connected replica (master side).
pub struct ReplicaOut {
    pub id: u64,
    pub ip: String,
    pub port: std::sync::atomic::AtomicU16,
    buf: Mutex<Vec<u8>>,
    wake: Notify,
    pub ack: AtomicU64,
    pub last_ack_ms: AtomicI64,
    pub state: AtomicU8,
    /// Over its output buffer limit: the connection closes.
    dropped: AtomicBool,
    /// Bytes taken from `buf` and not yet accepted by the socket.
    inflight: AtomicU64,
}

impl ReplicaOut {
    /// Bytes waiting to go to this replica (INFO's replication buffers).
    pub fn pending(&self) -> u64 {
        self.buf.lock().len() as u64 + self.inflight.load(Ordering::Relaxed)
    }
}

struct Backlog {
    buf: VecDeque<u8>,
    cap: usize,
    /// Offset of the byte at buf[0] (Redis's repl_backlog_first_byte_offset).
    first: u64,
}

#[derive(Default)]
struct StreamInner {
    /// master_repl_offset: bytes ever put in the stream.
    offset: u64,
    backlog: Option<Backlog>,
    replicas: Vec<Arc<ReplicaOut>>,
}

/// The replication stream (backlog, offset, replicas' buffers).
#[derive(Default)]
pub struct Stream {
    inner: Mutex<StreamInner>,
}

impl Stream {
    /// Appends bytes of the stream (a commit, or the master's bytes on a
    /// replica).
    fn put(&self, bytes: &[u8], limit: usize) {
        let mut s = self.inner.lock();
        s.offset += bytes.len() as u64;
        if let Some(b) = s.backlog.as_mut() {
            b.buf.extend(bytes);
            if b.buf.len() > b.cap {
                let cut = b.buf.len() - b.cap;
                b.buf.drain(..cut);
                b.first += cut as u64;
            }
        }
        for r in &s.replicas {
            let mut buf = r.buf.lock();
            buf.extend_from_slice(bytes);
            if limit > 0 && buf.len() > limit && !r.dropped.swap(true, Ordering::SeqCst) {
                tracing::warn!(
                    "Client id={} addr={}:{} scheduled to be closed ASAP for overcoming of output buffer limits.",
                    r.id,
                    r.ip,
                    r.port.load(Ordering::Relaxed)
                );
            }
        }
    }

    fn wake_all(&self) {
        for r in &self.inner.lock().replicas {
            r.wake.notify_one();
        }
    }

    pub fn offset(&self) -> u64 {
        self.inner.lock().offset
    }

    /// Starts the backlog (empty, at the current offset) if there is none.
    fn ensure_backlog(&self, cap: usize) {
        let mut s = self.inner.lock();
        if s.backlog.is_none() {
            let first = s.offset + 1;
            s.backlog = Some(Backlog { buf: VecDeque::with_capacity(cap.min(1 << 20)), cap, first });
        }
    }

    fn set_offset(&self, off: u64) {
        let mut s = self.inner.lock();
        s.offset = off;
        if let Some(b) = s.backlog.as_mut() {
            b.buf.clear();
            b.first = off + 1;
        }
    }
}

/// The feed's REPL consumer.
struct ReplSink {
    stream: Arc<Stream>,
    selected: Option<usize>,
    limit: usize,
}

impl crate::propagate::Sink for ReplSink {
    fn target(&self) -> u8 {
        crate::propagate::REPL
    }
    fn selected(&mut self) -> &mut Option<usize> {
        &mut self.selected
    }
    fn put(&mut self, bytes: &[u8]) {
        self.stream.put(bytes, self.limit);
    }
    fn committed(&mut self) {
        self.stream.wake_all();
    }
}

/// The link to our master (replica side).
pub struct MasterLink {
    pub host: String,
    pub port: u16,
    /// "connect", "connecting", "sync", "connected".
    pub state: Mutex<&'static str>,
    stop: AtomicBool,
    stop_notify: Notify,
    pub last_io_ms: AtomicI64,
    pub sync_in_progress: AtomicBool,
    /// The master's offset of the bytes read (applied or not yet:
    /// slave_read_repl_offset).
    pub read_offset: AtomicU64,
}

/// Replication state of a server.
pub struct Repl {
    pub stream: Arc<Stream>,
    sink_attached: AtomicBool,
    pub master: Mutex<Option<Arc<MasterLink>>>,
    is_replica: AtomicBool,
    /// (replid2, second_repl_offset) after a replica was promoted.
    pub replid2: Mutex<(String, i64)>,
    /// Replicas acknowledged something (WAIT).
    pub acks: Notify,
    pub sync_full: AtomicU64,
    pub sync_partial_ok: AtomicU64,
    pub sync_partial_err: AtomicU64,
    seq: AtomicU64,
    /// (database, key) of keys a writable replica's own clients gave a TTL
    /// (Redis's slaveKeysWithExpire): the master never sends their DELs,
    /// so the replica reclaims them itself (expire.rs). May hold names
    /// since deleted or made persistent: the sampler drops them.
    pub local_volatile: Mutex<indexmap::IndexSet<(usize, crate::storage::Key), crate::storage::Hasher>>,
    /// FAILOVER's progress (master side).
    pub failover: Mutex<Failover>,
}

/// FAILOVER's state (Redis's failover_state, target_replica_host/port,
/// failover_end_time and force_failover).
#[derive(Default)]
pub struct Failover {
    pub state: FailoverState,
    /// The replica to hand over to: named by TO, or the first one found
    /// caught up.
    pub target: Option<(String, u16)>,
    /// Unix ms when TIMEOUT runs out; 0: no timeout.
    pub end_ms: i64,
    pub force: bool,
}

#[derive(Default, Clone, Copy, PartialEq, Eq, Debug)]
pub enum FailoverState {
    #[default]
    None,
    /// Writes paused, waiting for a replica to acknowledge the whole stream.
    WaitForSync,
    /// A replica of the target, asking it with PSYNC ... FAILOVER to take over.
    InProgress,
}

impl FailoverState {
    /// INFO's master_failover_state.
    pub fn name(self) -> &'static str {
        match self {
            FailoverState::None => "no-failover",
            FailoverState::WaitForSync => "waiting-for-sync",
            FailoverState::InProgress => "failover-in-progress",
        }
    }
}

impl Default for Repl {
    fn default() -> Self {
        Repl {
            stream: Arc::new(Stream::default()),
            sink_attached: AtomicBool::new(false),
            master: Mutex::new(None),
            is_replica: AtomicBool::new(false),
            replid2: Mutex::new(("0".repeat(40), -1)),
            acks: Notify::new(),
            sync_full: AtomicU64::new(0),
            sync_partial_ok: AtomicU64::new(0),
            sync_partial_err: AtomicU64::new(0),
            seq: AtomicU64::new(0),
            local_volatile: Mutex::new(Default::default()),
            failover: Mutex::new(Failover::default()),
        }
    }
}

fn new_replid() -> String {
    (0..40).map(|_| format!("{:x}", rand::random::<u8>() % 16)).collect()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// client-output-buffer-limit's hard limit for replicas (bytes; 0: none).
fn replica_limit(srv: &Server) -> usize {
    let text = srv.config.get_text("client-output-buffer-limit").unwrap_or_default();
    let w: Vec<&str> = text.split_whitespace().collect();
    for c in w.chunks(4) {
        if c.len() == 4 && (c[0] == "replica" || c[0] == "slave") {
            return crate::config::parse_memory(c[1]).unwrap_or(0).max(0) as usize;
        }
    }
    256 << 20
}

impl Repl {
    #[inline]
    pub fn is_replica(&self) -> bool {
        self.is_replica.load(Ordering::Relaxed)
    }

    /// A client of this replica (not its master) gave `key` of database
    /// `db` a TTL: see `local_volatile`.
    pub fn remember_local_ttl(&self, db: usize, key: &[u8]) {
        self.local_volatile.lock().insert((db, key.into()));
    }

    /// (backlog bytes, bytes waiting for replicas): INFO's
    /// mem_replication_backlog and replication buffers.
    pub fn buffers(&self) -> (u64, u64) {
        let g = self.stream.inner.lock();
        let backlog = g.backlog.as_ref().map_or(0, |b| b.buf.len() as u64);
        (backlog, g.replicas.iter().map(|r| r.pending()).sum())
    }

    pub fn replicas(&self) -> Vec<Arc<ReplicaOut>> {
        self.stream.inner.lock().replicas.clone()
    }

    /// Replicas whose acknowledged offset reached `offset` (WAIT).
    pub fn acked(&self, offset: u64) -> usize {
        self.stream
            .inner
            .lock()
            .replicas
            .iter()
            .filter(|r| r.state.load(Ordering::Relaxed) == ONLINE && r.ack.load(Ordering::Relaxed) >= offset)
            .count()
    }

    /// A replication stream (backlog) exists: offsets mean something.
    #[inline]
    pub fn streaming(&self) -> bool {
        self.sink_attached.load(Ordering::Relaxed)
    }

    /// A replica whose link to its master is up.
    pub fn link_up(&self) -> bool {
        self.master.lock().as_ref().is_some_and(|l| *l.state.lock() == "connected")
    }

    /// Online replicas that acknowledged within `max_lag` seconds
    /// (min-replicas-to-write).
    pub fn good(&self, max_lag: i64) -> usize {
        let now = now_ms();
        self.stream
            .inner
            .lock()
            .replicas
            .iter()
            .filter(|r| {
                r.state.load(Ordering::Relaxed) == ONLINE
                    && (now - r.last_ack_ms.load(Ordering::Relaxed)) / 1000 <= max_lag
            })
            .count()
    }

    /// Asks every replica for its offset (WAIT).
    pub fn request_acks(&self, srv: &Server) {
        if self.stream.inner.lock().replicas.is_empty() {
            return;
        }
        let mut p = crate::propagate::Pending::default();
        p.push(0, crate::propagate::REPL, &[b"REPLCONF".as_slice(), b"GETACK", b"*"]);
        commit_raw(srv, &p);
    }
}

/// Why a write must be refused by replication's rules, if it must: a
/// read-only replica (but for its master's client), or a master with fewer
/// good replicas than min-replicas-to-write.
pub fn write_refusal(srv: &Server, client: &crate::client::Client) -> Option<&'static str> {
    if srv.repl.is_replica() {
        if !client.master && crate::cfg_num!(srv.config, "replica-read-only") != 0 {
            return Some("READONLY You can't write against a read only replica.");
        }
        return None;
    }
    let min_good = crate::cfg_num!(srv.config, "min-replicas-to-write");
    if min_good > 0 {
        let lag = crate::cfg_num!(srv.config, "min-replicas-max-lag");
        if lag > 0 && (srv.repl.good(lag) as i64) < min_good {
            return Some("NOREPLICAS Not enough good replicas to write.");
        }
    }
    None
}

/// Puts ops in the replication stream outside any command (PING, GETACK),
/// without a SELECT.
fn commit_raw(srv: &Server, p: &crate::propagate::Pending) {
    let limit = replica_limit(srv);
    for (_, _, bytes) in p.iter() {
        srv.repl.stream.put(bytes, limit);
    }
    srv.repl.stream.wake_all();
}

/// Creates the backlog and attaches the REPL sink (every shard held by the
/// caller, so no write is half in).
fn ensure_sink(srv: &Server) {
    let r = &srv.repl;
    r.stream.ensure_backlog(backlog_cap(srv));
    if !r.sink_attached.swap(true, Ordering::SeqCst) {
        srv.feed.attach(Box::new(ReplSink { stream: r.stream.clone(), selected: None, limit: replica_limit(srv) }));
    } else {
        // The stream after a new snapshot starts with its own SELECT.
        srv.feed.with_sinks(|sinks| {
            for s in sinks.iter_mut().filter(|s| s.target() == crate::propagate::REPL) {
                *s.selected() = None;
            }
        });
    }
}

/// The backlog's size in bytes (repl-backlog-size, at least 16 KiB).
fn backlog_cap(srv: &Server) -> usize {
    crate::cfg_num!(srv.config, "repl-backlog-size").max(16 * 1024) as usize
}

/// repl-backlog-size changed: the ring keeps its newest bytes.
pub fn backlog_size_changed(srv: &Server) {
    let cap = backlog_cap(srv);
    let mut s = srv.repl.stream.inner.lock();
    if let Some(b) = s.backlog.as_mut() {
        b.cap = cap;
        if b.buf.len() > cap {
            let cut = b.buf.len() - cap;
            b.buf.drain(..cut);
            b.first += cut as u64;
        }
    }
}

// ------------------------------------------------------------ master side

/// What a SYNC or PSYNC asked.
#[derive(Debug, PartialEq, Eq)]
pub struct SyncRequest {
    /// PSYNC's replication ID and offset; None for SYNC.
    pub psync: Option<(String, i64)>,
}

/// Serves a connection that became a replica (after SYNC / PSYNC), until it
/// closes. `pending` is input that followed the command.
pub async fn serve_replica(
    srv: &Arc<Server>,
    client: &mut crate::client::Client,
    stream: &mut TcpStream,
    mut pending: Vec<u8>,
    req: SyncRequest,
) -> std::io::Result<()> {
    let info = client.info.clone();
    let ip = info
        .addr
        .rsplit_once(':')
        .map(|(h, _)| h.trim_matches(|c| c == '[' || c == ']').to_string())
        .unwrap_or_default();
    let out = Arc::new(ReplicaOut {
        id: info.id,
        ip,
        port: std::sync::atomic::AtomicU16::new(client.replica_port),
        buf: Mutex::new(Vec::new()),
        wake: Notify::new(),
        ack: AtomicU64::new(0),
        last_ack_ms: AtomicI64::new(now_ms()),
        state: AtomicU8::new(WAIT_BGSAVE),
        dropped: AtomicBool::new(false),
        inflight: AtomicU64::new(0),
    });
    *info.flags.lock() = "S".into();
    let replid = srv.replid.lock().clone();
    // A partial resynchronization when the backlog has what is asked.
    if let Some((id, off)) = &req.psync {
        let (id2, off2) = srv.repl.replid2.lock().clone();
        let known = *id == replid || (*id == id2 && *off <= off2 + 1);
        if known && !srv.repl.streaming() {
            // A promoted replica's first replica: its backlog is there, its
            // own writes start going into the stream now (with every shard
            // held, so that none is half in).
            let s2 = srv.clone();
            tokio::task::spawn_blocking(move || {
                let busy = || s2.scripting.busy.running();
                if let Some(_all) = s2.keyspace.lock_all_unless(&busy) {
                    ensure_sink(&s2);
                }
            })
            .await
            .map_err(std::io::Error::other)?;
        }
        let taken = known && srv.repl.streaming() && {
            let mut s = srv.repl.stream.inner.lock();
            let from = *off as u64;
            let ok = match &s.backlog {
                Some(b) => from >= b.first && from <= b.first + b.buf.len() as u64,
                None => false,
            };
            if ok {
                let b = s.backlog.as_ref().expect("backlog");
                let skip = (from - b.first) as usize;
                let tail: Vec<u8> = b.buf.iter().skip(skip).copied().collect();
                *out.buf.lock() = tail;
                out.state.store(ONLINE, Ordering::Relaxed);
                s.replicas.push(out.clone());
            }
            ok
        };
        if taken {
            srv.repl.sync_partial_ok.fetch_add(1, Ordering::Relaxed);
            tracing::info!("Partial resynchronization request from {} accepted.", info.addr);
            stream.write_all(format!("+CONTINUE {replid}\r\n").as_bytes()).await?;
            return replica_loop(srv, stream, &out, &mut pending).await.inspect(|_| drop_replica(srv, &out));
        }
        if id != "?" {
            srv.repl.sync_partial_err.fetch_add(1, Ordering::Relaxed);
        }
    }
    // A full resynchronization: wait for any other snapshot to end, then
    // take ours, every shard held, with the replica's buffer starting now.
    srv.repl.sync_full.fetch_add(1, Ordering::Relaxed);
    let (offset, mut rx) = loop {
        match start_full_sync(srv, &out).await? {
            Attempt::Started(off, rx) => break (off, rx),
            Attempt::Failed => {
                drop_replica(srv, &out);
                return Ok(());
            }
            Attempt::Busy => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                if info.killed.load(Ordering::SeqCst) || srv.shutting_down.load(Ordering::Relaxed) {
                    return Ok(());
                }
            }
        }
    };
    tracing::info!("Starting BGSAVE for SYNC with target: replicas sockets");
    let r = async {
        if req.psync.is_some() {
            stream.write_all(format!("+FULLRESYNC {replid} {offset}\r\n").as_bytes()).await?;
        }
        // While the snapshot is written, a newline every second keeps the
        // replica from timing out (it skips them).
        let done = loop {
            tokio::select! {
                r = &mut rx => break r.unwrap_or_else(|_| Err("snapshot lost".into())),
                _ = tokio::time::sleep(Duration::from_secs(1)) => stream.write_all(b"\n").await?,
            }
        };
        let path = match done {
            Ok(p) => p,
            Err(e) => return Err(std::io::Error::other(e)),
        };
        out.state.store(SEND_BULK, Ordering::Relaxed);
        let data = std::fs::read(&path);
        let _ = std::fs::remove_file(&path);
        let data = data?;
        stream.write_all(format!("${}\r\n", data.len()).as_bytes()).await?;
        stream.write_all(&data).await?;
        tracing::info!("Synchronization with replica {} succeeded", info.addr);
        out.state.store(ONLINE, Ordering::Relaxed);
        out.last_ack_ms.store(now_ms(), Ordering::Relaxed);
        replica_loop(srv, stream, &out, &mut pending).await
    }
    .await;
    drop_replica(srv, &out);
    r
}

enum Attempt {
    Started(u64, tokio::sync::oneshot::Receiver<Result<String, String>>),
    Busy,
    Failed,
}

/// Takes the snapshot for a full sync (see `serve_replica`).
async fn start_full_sync(srv: &Arc<Server>, out: &Arc<ReplicaOut>) -> std::io::Result<Attempt> {
    let s2 = srv.clone();
    let o2 = out.clone();
    let n = srv.repl.seq.fetch_add(1, Ordering::Relaxed);
    tokio::task::spawn_blocking(move || {
        if s2.persist.snapshot_busy.load(Ordering::SeqCst) {
            return Attempt::Busy;
        }
        let busy = || s2.scripting.busy.running();
        let Some(locked) = s2.keyspace.lock_all_unless(&busy) else { return Attempt::Busy };
        if s2.persist.snapshot_busy.load(Ordering::SeqCst) {
            return Attempt::Busy;
        }
        let f = match crate::persist::RdbFile::create_at(format!("temp-repl-{}-{n}.rdb", std::process::id())) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!("Can't write the snapshot for a replica: {e}");
                return Attempt::Failed;
            }
        };
        ensure_sink(&s2);
        let offset = {
            let mut s = s2.repl.stream.inner.lock();
            o2.buf.lock().clear();
            s.replicas.push(o2.clone());
            s.offset
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        let tx = Mutex::new(Some(tx));
        let never = Arc::new(|s: &Server| s.shutting_down.load(Ordering::Relaxed));
        let r = crate::persist::start_snapshot(
            &s2,
            &locked,
            crate::persist::Form::Rdb,
            f,
            never,
            Box::new(move |_srv, r| {
                if let Some(tx) = tx.lock().take() {
                    let _ = tx.send(r);
                }
            }),
        );
        drop(locked);
        match r {
            Ok(()) => Attempt::Started(offset, rx),
            Err(e) => {
                tracing::warn!("Can't start the snapshot for a replica: {e}");
                Attempt::Failed
            }
        }
    })
    .await
    .map_err(std::io::Error::other)
}

fn drop_replica(srv: &Server, out: &Arc<ReplicaOut>) {
    srv.repl.stream.inner.lock().replicas.retain(|r| !Arc::ptr_eq(r, out));
    srv.repl.acks.notify_waiters();
}

/// An online replica: the stream goes out as it comes; REPLCONF ACKs come
/// in.
async fn replica_loop(
    srv: &Arc<Server>,
    stream: &mut TcpStream,
    out: &Arc<ReplicaOut>,
    pending: &mut Vec<u8>,
) -> std::io::Result<()> {
    let mut inbuf = std::mem::take(pending);
    let mut chunk = vec![0u8; 16 * 1024];
    let info_killed = || srv.clients.get(out.id).is_none_or(|i| i.killed.load(Ordering::SeqCst));
    loop {
        let data = std::mem::take(&mut *out.buf.lock());
        let stop = || out.dropped.load(Ordering::SeqCst) || srv.shutting_down.load(Ordering::Relaxed) || info_killed();
        // A replica that stops reading (its socket full) is still dropped
        // on time (repl-timeout, output limit): the write is given up when
        // told to.
        let mut sent = 0;
        out.inflight.store(data.len() as u64, Ordering::Relaxed);
        while sent < data.len() {
            tokio::select! {
                r = stream.write(&data[sent..]) => {
                    let n = r?;
                    if n == 0 {
                        return Err(std::io::ErrorKind::WriteZero.into());
                    }
                    sent += n;
                    out.inflight.store((data.len() - sent) as u64, Ordering::Relaxed);
                }
                _ = out.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
            if stop() {
                // At shutdown, one last write of what the socket takes
                // without waiting, as Redis flushes its replicas' buffers.
                if srv.shutting_down.load(Ordering::Relaxed) {
                    let _ = stream.try_write(&data[sent..]);
                }
                return Ok(());
            }
        }
        srv.stats.net_repl_output_bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
        if stop() {
            return Ok(());
        }
        if !read_acks(srv, out, &mut inbuf) {
            return Ok(());
        }
        tokio::select! {
            _ = out.wake.notified() => {}
            r = stream.read(&mut chunk) => {
                let n = r?;
                if n == 0 {
                    return Ok(());
                }
                inbuf.extend_from_slice(&chunk[..n]);
            }
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    }
}

/// A replica sends only short REPLCONF ACKs: input this long that is not
/// whole commands closes its connection.
const REPLICA_INPUT_LIMIT: usize = 64 * 1024;

/// REPLCONF ACK <offset> from the replica (anything else is ignored).
/// False when the input is no protocol or grows past REPLICA_INPUT_LIMIT:
/// the connection is closed.
fn read_acks(srv: &Server, out: &ReplicaOut, inbuf: &mut Vec<u8>) -> bool {
    let limits = resp::Limits { max_bulk: 1 << 20, authenticated: true };
    let mut ranges = Vec::new();
    let mut pos = 0;
    let mut acked = false;
    let mut ok = true;
    loop {
        let p = match resp::parse(&inbuf[pos..], limits, &mut ranges) {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(_) => {
                ok = false;
                break;
            }
        };
        let base = pos;
        pos += p.consumed;
        let args: Vec<&[u8]> = match &p.inline {
            Some(v) => v.iter().map(|a| a.as_slice()).collect(),
            None => ranges.iter().map(|r| &inbuf[base + r.start..base + r.end]).collect(),
        };
        if args.len() >= 3 && args[0].eq_ignore_ascii_case(b"replconf") && args[1].eq_ignore_ascii_case(b"ack") {
            if let Some(off) = std::str::from_utf8(args[2]).ok().and_then(|s| s.parse::<u64>().ok()) {
                out.ack.fetch_max(off, Ordering::Relaxed);
                out.last_ack_ms.store(now_ms(), Ordering::Relaxed);
                acked = true;
            }
        }
    }
    inbuf.drain(..pos);
    if acked {
        srv.repl.acks.notify_waiters();
    }
    ok && inbuf.len() <= REPLICA_INPUT_LIMIT
}

/// FAILOVER's start (the command checked the rest): writes wait, and a
/// task watches the replicas' acknowledgements (Redis's
/// updateFailoverStatus, run every 100 ms). False if another FAILOVER
/// started meanwhile.
pub fn start_failover(srv: &Arc<Server>, target: Option<(String, u16)>, timeout_ms: i64, force: bool) -> bool {
    let end_ms = if timeout_ms > 0 { now_ms().saturating_add(timeout_ms) } else { 0 };
    {
        let mut f = srv.repl.failover.lock();
        if f.state != FailoverState::None {
            return false;
        }
        match &target {
            Some((h, p)) => tracing::info!("FAILOVER requested to {h}:{p}."),
            None => tracing::info!("FAILOVER requested to any replica."),
        }
        *f = Failover { state: FailoverState::WaitForSync, target, end_ms, force };
    }
    srv.pause.failover.store(true, Ordering::SeqCst);
    srv.pause.changed.notify_waiters();
    let srv = srv.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if srv.shutting_down.load(Ordering::Relaxed) || !update_failover(&srv) {
                return;
            }
        }
    });
    true
}

/// One look at a waiting FAILOVER; false once it stopped waiting. The
/// replicas' own ACKs (every second) report their offsets: nothing is
/// added to the stream meanwhile, so a replica that acknowledged it all
/// has all of it.
fn update_failover(srv: &Arc<Server>) -> bool {
    let mut f = srv.repl.failover.lock();
    if f.state != FailoverState::WaitForSync {
        return false;
    }
    if f.end_ms != 0 && f.end_ms <= now_ms() {
        match (f.force, f.target.clone()) {
            (true, Some((host, port))) => {
                tracing::info!("FAILOVER to {host}:{port} time out exceeded, failing over.");
                f.state = FailoverState::InProgress;
                drop(f);
                replicaof(srv, host, port);
            }
            _ => {
                drop(f);
                abort_failover(srv, "Replica never caught up before timeout");
            }
        }
        return false;
    }
    let off = srv.repl.stream.offset();
    let synced = |r: &ReplicaOut| r.state.load(Ordering::Relaxed) == ONLINE && r.ack.load(Ordering::Relaxed) == off;
    let replicas = srv.repl.replicas();
    let found = match &f.target {
        Some((h, p)) => replicas
            .iter()
            .find(|r| r.ip == *h && r.port.load(Ordering::Relaxed) == *p)
            .filter(|r| synced(r))
            .map(|_| (h.clone(), *p)),
        None => replicas.iter().find(|r| synced(r)).map(|r| (r.ip.clone(), r.port.load(Ordering::Relaxed))),
    };
    let Some((host, port)) = found else { return true };
    tracing::info!("Failover target {host}:{port} is synced, failing over.");
    f.target = Some((host.clone(), port));
    f.state = FailoverState::InProgress;
    drop(f);
    replicaof(srv, host, port);
    false
}

/// The FAILOVER ended (the target took over, or it was aborted): writes go
/// on.
fn clear_failover(srv: &Server) {
    *srv.repl.failover.lock() = Failover::default();
    srv.pause.failover.store(false, Ordering::SeqCst);
    srv.pause.changed.notify_waiters();
}

/// Redis's abortFailover: a master again if the handover had begun.
pub fn abort_failover(srv: &Server, why: &str) {
    let state = {
        let f = srv.repl.failover.lock();
        match &f.target {
            _ if f.state == FailoverState::None => return,
            Some((h, p)) => tracing::info!("FAILOVER to {h}:{p} aborted: {why}"),
            None => tracing::info!("FAILOVER to any replica aborted: {why}"),
        }
        f.state
    };
    if state == FailoverState::InProgress {
        promote(srv);
    }
    clear_failover(srv);
}

/// The master's periodic jobs: PING in the stream every
/// repl-ping-replica-period seconds, replicas silent for repl-timeout
/// dropped.
pub async fn master_cron(srv: Arc<Server>) {
    let mut last_ping = std::time::Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if srv.shutting_down.load(Ordering::Relaxed) {
            return;
        }
        let period = crate::cfg_num!(srv.config, "repl-ping-replica-period").max(1) as u64;
        let replicas = srv.repl.replicas();
        if replicas.is_empty() || srv.repl.is_replica() {
            continue;
        }
        // No PING while a FAILOVER waits: the stream stays still, so a
        // replica's acknowledgement can match it.
        let failing_over = srv.repl.failover.lock().state != FailoverState::None;
        if last_ping.elapsed() >= Duration::from_secs(period) && !failing_over {
            last_ping = std::time::Instant::now();
            let mut p = crate::propagate::Pending::default();
            p.push(0, crate::propagate::REPL, &[b"PING".as_slice()]);
            srv.feed.with_sinks(|_| commit_raw(&srv, &p));
        }
        let timeout = crate::cfg_num!(srv.config, "repl-timeout").max(1) * 1000;
        for r in replicas {
            if r.state.load(Ordering::Relaxed) == ONLINE && now_ms() - r.last_ack_ms.load(Ordering::Relaxed) > timeout {
                tracing::warn!(
                    "Disconnecting timedout replica (streaming sync): {}:{}",
                    r.ip,
                    r.port.load(Ordering::Relaxed)
                );
                r.dropped.store(true, Ordering::SeqCst);
                r.wake.notify_one();
            }
        }
    }
}

// ------------------------------------------------------------ replica side

/// REPLICAOF host port: (re)starts replicating from `host:port`. Our
/// replicas are dropped (they resync from us).
pub fn replicaof(srv: &Arc<Server>, host: String, port: u16) {
    stop_link(srv);
    for r in srv.repl.replicas() {
        r.dropped.store(true, Ordering::SeqCst);
        r.wake.notify_one();
    }
    let link = Arc::new(MasterLink {
        host,
        port,
        state: Mutex::new("connect"),
        stop: AtomicBool::new(false),
        stop_notify: Notify::new(),
        last_io_ms: AtomicI64::new(now_ms()),
        sync_in_progress: AtomicBool::new(false),
        read_offset: AtomicU64::new(0),
    });
    *srv.repl.master.lock() = Some(link.clone());
    srv.repl.is_replica.store(true, Ordering::SeqCst);
    tracing::info!("Connecting to MASTER {}:{}", link.host, link.port);
    tokio::spawn(replica_task(srv.clone(), link));
}

fn stop_link(srv: &Server) {
    if let Some(l) = srv.repl.master.lock().take() {
        l.stop.store(true, Ordering::SeqCst);
        l.stop_notify.notify_waiters();
    }
}

/// REPLICAOF NO ONE: a master again, with the data it has; a new
/// replication ID (the old one stays valid for our replicas' PSYNC up to
/// the current offset).
pub fn promote(srv: &Server) {
    if !srv.repl.is_replica() {
        return;
    }
    stop_link(srv);
    srv.repl.is_replica.store(false, Ordering::SeqCst);
    // A master's active expiry covers every key from now on.
    srv.repl.local_volatile.lock().clear();
    let off = srv.repl.stream.offset();
    let mut id = srv.replid.lock();
    *srv.repl.replid2.lock() = (id.clone(), off as i64 + 1);
    *id = new_replid();
    tracing::info!("MASTER MODE enabled");
}

async fn replica_task(srv: Arc<Server>, link: Arc<MasterLink>) {
    while !link.stop.load(Ordering::SeqCst) && !srv.shutting_down.load(Ordering::Relaxed) {
        *link.state.lock() = "connecting";
        if let Err(e) = sync_with_master(&srv, &link).await {
            if !link.stop.load(Ordering::SeqCst) {
                tracing::warn!("Error condition on socket for SYNC: {e}");
            }
            // The handover did not get as far as the target's answer.
            abort_failover(&srv, "Failover target could not be reached");
        }
        link.sync_in_progress.store(false, Ordering::Relaxed);
        if link.stop.load(Ordering::SeqCst) {
            return;
        }
        *link.state.lock() = "connect";
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = link.stop_notify.notified() => {}
        }
    }
}

/// A buffered connection to the master.
struct Conn {
    s: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn fill(&mut self) -> std::io::Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        let n = tokio::time::timeout(Duration::from_secs(60), self.s.read(&mut chunk))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "timeout"))??;
        if n == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "connection lost"));
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    /// One reply line (without CRLF); empty keepalive lines are skipped.
    async fn line(&mut self) -> std::io::Result<String> {
        loop {
            while self.buf.first() == Some(&b'\n') {
                self.buf.remove(0);
            }
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let l: Vec<u8> = self.buf.drain(..=i).collect();
                let l = l.strip_suffix(b"\n").unwrap_or(&l);
                let l = l.strip_suffix(b"\r").unwrap_or(l);
                return Ok(String::from_utf8_lossy(l).into_owned());
            }
            self.fill().await?;
        }
    }

    async fn cmd(&mut self, args: &[&[u8]]) -> std::io::Result<String> {
        let mut b = Vec::new();
        crate::propagate::encode(&mut b, args);
        self.s.write_all(&b).await?;
        self.line().await
    }
}

async fn sync_with_master(srv: &Arc<Server>, link: &Arc<MasterLink>) -> std::io::Result<()> {
    let addr = format!("{}:{}", link.host, link.port);
    let s = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(&addr))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timeout"))??;
    let _ = s.set_nodelay(true);
    let mut c = Conn { s, buf: Vec::new() };
    tracing::info!("MASTER <-> REPLICA sync started");
    let err = |m: String| std::io::Error::other(m);
    let pong = c.cmd(&[b"PING"]).await?;
    if pong.starts_with('-')
        && !pong.starts_with("-NOAUTH")
        && !pong.starts_with("-NOPERM")
        && !pong.starts_with("-ERR operation not permitted")
    {
        return Err(err(format!("Error reply to PING from master: '{pong}'")));
    }
    if let Some(pass) = srv.config.get_text("masterauth").filter(|p| !p.is_empty()) {
        let user = srv.config.get_text("masteruser").filter(|u| !u.is_empty());
        let r = match &user {
            Some(u) => c.cmd(&[b"AUTH", u.as_bytes(), pass.as_bytes()]).await?,
            None => c.cmd(&[b"AUTH", pass.as_bytes()]).await?,
        };
        if r.starts_with('-') {
            return Err(err(format!("Unable to AUTH to MASTER: {r}")));
        }
    }
    let port = srv.port.load(Ordering::Relaxed).to_string();
    let port = crate::cfg_num!(srv.config, "replica-announce-port")
        .gt(&0)
        .then(|| crate::cfg_num!(srv.config, "replica-announce-port").to_string())
        .unwrap_or(port);
    let _ = c.cmd(&[b"REPLCONF", b"listening-port", port.as_bytes()]).await?;
    let _ = c.cmd(&[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"]).await?;
    let (myid, myoff) = (srv.replid.lock().clone(), srv.repl.stream.offset());
    let off1 = (myoff + 1).to_string();
    // A master handing over (FAILOVER) asks its target to take over.
    let failing_over = srv.repl.failover.lock().state == FailoverState::InProgress;
    let reply = if failing_over {
        c.cmd(&[b"PSYNC", myid.as_bytes(), off1.as_bytes(), b"FAILOVER"]).await?
    } else {
        c.cmd(&[b"PSYNC", myid.as_bytes(), off1.as_bytes()]).await?
    };
    if failing_over {
        if reply.starts_with("+FULLRESYNC") || reply.starts_with("+CONTINUE") {
            clear_failover(srv);
        } else {
            abort_failover(srv, "Failover target rejected psync request");
            return Err(err(format!("Unexpected reply to PSYNC FAILOVER: {reply}")));
        }
    }
    if let Some(rest) = reply.strip_prefix("+FULLRESYNC ") {
        let mut w = rest.split_whitespace();
        let (Some(id), Some(off)) = (w.next(), w.next().and_then(|o| o.parse::<u64>().ok())) else {
            return Err(err(format!("Bad FULLRESYNC reply: {reply}")));
        };
        tracing::info!("Full resync from master: {id}:{off}");
        *link.state.lock() = "sync";
        link.sync_in_progress.store(true, Ordering::Relaxed);
        let data = read_payload(&mut c).await?;
        let s2 = srv.clone();
        let id = id.to_string();
        tokio::task::spawn_blocking(move || load_sync(&s2, &data, &id, off))
            .await
            .map_err(std::io::Error::other)?
            .map_err(err)?;
        link.sync_in_progress.store(false, Ordering::Relaxed);
        tracing::info!("MASTER <-> REPLICA sync: Finished with success");
    } else if let Some(rest) = reply.strip_prefix("+CONTINUE") {
        let new = rest.trim();
        if !new.is_empty() && new != myid {
            *srv.repl.replid2.lock() = (myid.clone(), myoff as i64 + 1);
            *srv.replid.lock() = new.to_string();
        }
        tracing::info!("Successful partial resynchronization with master.");
    } else {
        return Err(err(format!("Unexpected reply to PSYNC from master: {reply}")));
    }
    // A replica keeps a backlog of its master's stream too (Redis's
    // PSYNC2): promoted, it continues the stream for the other replicas
    // of its old master, and for the old master itself after a FAILOVER.
    srv.repl.stream.ensure_backlog(backlog_cap(srv));
    *link.state.lock() = "connected";
    stream_from_master(srv, link, c).await
}

/// The snapshot: `$<len>` then the bytes, or `$EOF:<40 bytes>` then bytes
/// up to that mark.
async fn read_payload(c: &mut Conn) -> std::io::Result<Vec<u8>> {
    let head = c.line().await?;
    let Some(spec) = head.strip_prefix('$') else {
        return Err(std::io::Error::other(format!("Bad protocol from MASTER, the first byte is not '$': {head}")));
    };
    if let Some(mark) = spec.strip_prefix("EOF:") {
        let mark = mark.as_bytes().to_vec();
        if mark.len() != 40 {
            return Err(std::io::Error::other("Bad EOF mark from MASTER"));
        }
        loop {
            if c.buf.len() >= 40 && c.buf.ends_with(&mark) {
                let mut data = std::mem::take(&mut c.buf);
                data.truncate(data.len() - 40);
                return Ok(data);
            }
            c.fill().await?;
        }
    }
    let len: usize = spec.parse().map_err(|_| std::io::Error::other(format!("Bad bulk length from MASTER: {head}")))?;
    while c.buf.len() < len {
        c.fill().await?;
    }
    let rest = c.buf.split_off(len);
    Ok(std::mem::replace(&mut c.buf, rest))
}

/// Replaces the dataset with the master's snapshot (replica side).
fn load_sync(srv: &Arc<Server>, data: &[u8], id: &str, off: u64) -> Result<(), String> {
    let aof_on = srv.aof.enabled();
    if aof_on {
        crate::aof::stop(srv);
    }
    {
        // Clients get LOADING meanwhile, as from Redis's replica.
        let _loading = srv.loading.begin(srv, data.len() as u64);
        let mut funcs = srv.scripting.functions.lock();
        let mut locked = srv.keyspace.lock_all();
        let now = srv.clock.now_ms();
        crate::txn::touch_all_watched(srv, &mut locked, now);
        // replica-lazy-flush: the old data is freed in the background.
        let lazy = crate::cfg_num!(srv.config, "replica-lazy-flush") != 0;
        srv.lazyfree.empty_dbs(&mut locked, |_| true, lazy);
        srv.repl.local_volatile.lock().clear();
        crate::scripting::functions::clear_all(srv, &mut funcs);
        srv.tracking.invalidate_all(srv);
        crate::persist::load_locked(srv, &mut locked, &mut funcs, data, false)?;
        *srv.replid.lock() = id.to_string();
        *srv.repl.replid2.lock() = ("0".repeat(40), -1);
        srv.repl.stream.set_offset(off);
        if aof_on {
            let _ = srv.config.set_many(&[("appendonly", "yes")], true);
            crate::aof::turn_on(srv, &locked)?;
        }
    }
    Ok(())
}

/// Runs the master's stream (see the module docs).
async fn stream_from_master(srv: &Arc<Server>, link: &Arc<MasterLink>, mut c: Conn) -> std::io::Result<()> {
    let info = Arc::new(crate::client::ClientInfo::new(
        srv.clients.next_id(),
        c.s.peer_addr().ok(),
        c.s.local_addr().ok(),
        now_ms(),
    ));
    *info.flags.lock() = "M".into();
    // Listed by CLIENT LIST (flags=M); CLIENT KILL TYPE master breaks the
    // link, which is then made again.
    srv.clients.add(info.clone());
    struct Listed<'a>(&'a Server, u64);
    impl Drop for Listed<'_> {
        fn drop(&mut self) {
            self.0.clients.remove(self.1);
        }
    }
    let _listed = Listed(srv, info.id);
    let mut client = crate::client::Client::new(info.clone(), true);
    client.master = true;
    let mut out = resp::Out::new(resp::Protocol::Resp2);
    let mut ranges = Vec::new();
    let limits = resp::Limits { max_bulk: i64::MAX, authenticated: true };
    let mut chunk = vec![0u8; 64 * 1024];
    let mut ack_at = std::time::Instant::now();
    let timeout = Duration::from_secs(crate::cfg_num!(srv.config, "repl-timeout").max(1) as u64);
    let mut last_data = std::time::Instant::now();
    let mut inbuf = std::mem::take(&mut c.buf);
    loop {
        // Run every whole command received (none while clients are
        // paused: the replica's offset stays put, as Redis's does).
        let paused = srv.pause.holds(srv.clock.now_ms(), true);
        // (Read once per batch: the setting is text to parse.)
        let limit = replica_limit(srv);
        let mut pos = 0;
        let mut reply: Vec<u8> = Vec::new();
        while !paused {
            let p = match resp::parse(&inbuf[pos..], limits, &mut ranges) {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(e) => return Err(std::io::Error::other(format!("Protocol error from master: {}", e.message()))),
            };
            let base = pos;
            pos += p.consumed;
            let argv: Vec<&[u8]> = match &p.inline {
                Some(v) => v.iter().map(|a| a.as_slice()).collect(),
                None => ranges.iter().map(|r| &inbuf[base + r.start..base + r.end]).collect(),
            };
            if argv.is_empty() {
                continue;
            }
            let getack =
                argv.len() >= 2 && argv[0].eq_ignore_ascii_case(b"replconf") && argv[1].eq_ignore_ascii_case(b"getack");
            if getack {
                let off = srv.repl.stream.offset().to_string();
                crate::propagate::encode(&mut reply, &[b"REPLCONF".as_slice(), b"ACK", off.as_bytes()]);
            } else if !argv[0].eq_ignore_ascii_case(b"ping") {
                let _ = crate::dispatch::dispatch(srv, &mut client, &argv, &mut out);
                out.clear();
            }
            // The bytes go on into our own stream (our offset is the
            // master's), with the feed's lock so nothing interleaves.
            let raw = &inbuf[base..pos];
            srv.feed.with_sinks(|_| srv.repl.stream.put(raw, limit));
        }
        inbuf.drain(..pos);
        link.read_offset.store(srv.repl.stream.offset() + inbuf.len() as u64, Ordering::Relaxed);
        srv.repl.stream.wake_all();
        if !reply.is_empty() {
            c.s.write_all(&reply).await?;
        }
        if ack_at.elapsed() >= Duration::from_secs(1) {
            ack_at = std::time::Instant::now();
            let off = srv.repl.stream.offset().to_string();
            let mut b = Vec::new();
            crate::propagate::encode(&mut b, &[b"REPLCONF".as_slice(), b"ACK", off.as_bytes()]);
            c.s.write_all(&b).await?;
        }
        if link.stop.load(Ordering::SeqCst) || srv.shutting_down.load(Ordering::Relaxed) {
            return Ok(());
        }
        if info.killed.load(Ordering::SeqCst) {
            return Err(std::io::Error::other("the master's client was killed"));
        }
        if last_data.elapsed() > timeout {
            return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "MASTER timeout: no data nor PING received"));
        }
        tokio::select! {
            r = c.s.read(&mut chunk) => {
                let n = r?;
                if n == 0 {
                    return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "connection lost"));
                }
                inbuf.extend_from_slice(&chunk[..n]);
                link.read_offset.store(srv.repl.stream.offset() + inbuf.len() as u64, Ordering::Relaxed);
                last_data = std::time::Instant::now();
                link.last_io_ms.store(now_ms(), Ordering::Relaxed);
                srv.stats.net_repl_input_bytes.fetch_add(n as u64, Ordering::Relaxed);
            }
            _ = tokio::time::sleep(Duration::from_millis(if paused { 10 } else { 1000 })) => {}
            _ = link.stop_notify.notified() => return Ok(()),
            _ = info.kill.notified() => {}
        }
    }
}

/// INFO's replication section.
pub fn info(srv: &Server, s: &mut String) {
    let mut line = |k: &str, v: String| {
        s.push_str(k);
        s.push(':');
        s.push_str(&v);
        s.push_str("\r\n");
    };
    let offset = srv.repl.stream.offset();
    if let Some(l) = srv.repl.master.lock().clone() {
        let state = *l.state.lock();
        line("role", "slave".into());
        line("master_host", l.host.clone());
        line("master_port", l.port.to_string());
        line("master_link_status", if state == "connected" { "up" } else { "down" }.into());
        line("master_last_io_seconds_ago", ((now_ms() - l.last_io_ms.load(Ordering::Relaxed)) / 1000).to_string());
        line("master_sync_in_progress", (l.sync_in_progress.load(Ordering::Relaxed) as u8).to_string());
        line("slave_read_repl_offset", l.read_offset.load(Ordering::Relaxed).max(offset).to_string());
        line("slave_repl_offset", offset.to_string());
        line("slave_priority", crate::cfg_num!(srv.config, "replica-priority").to_string());
        line("slave_read_only", crate::cfg_num!(srv.config, "replica-read-only").to_string());
        line("replica_announced", crate::cfg_num!(srv.config, "replica-announced").to_string());
    } else {
        line("role", "master".into());
    }
    let replicas = srv.repl.replicas();
    line("connected_slaves", replicas.len().to_string());
    for (i, r) in replicas.iter().enumerate() {
        let state = match r.state.load(Ordering::Relaxed) {
            WAIT_BGSAVE => "wait_bgsave",
            SEND_BULK => "send_bulk",
            _ => "online",
        };
        line(
            &format!("slave{i}"),
            format!(
                "ip={},port={},state={state},offset={},lag={}",
                r.ip,
                r.port.load(Ordering::Relaxed),
                r.ack.load(Ordering::Relaxed),
                (now_ms() - r.last_ack_ms.load(Ordering::Relaxed)) / 1000
            ),
        );
    }
    line("master_failover_state", srv.repl.failover.lock().state.name().into());
    line("master_replid", srv.replid.lock().clone());
    let (id2, off2) = srv.repl.replid2.lock().clone();
    line("master_replid2", id2);
    line("master_repl_offset", offset.to_string());
    line("second_repl_offset", off2.to_string());
    let st = srv.repl.stream.inner.lock();
    let (active, first, hist) = match &st.backlog {
        Some(b) => (1, b.first, b.buf.len()),
        None => (0, 0, 0),
    };
    drop(st);
    line("repl_backlog_active", active.to_string());
    line("repl_backlog_size", crate::cfg_num!(srv.config, "repl-backlog-size").to_string());
    line("repl_backlog_first_byte_offset", first.to_string());
    line("repl_backlog_histlen", hist.to_string());
}
