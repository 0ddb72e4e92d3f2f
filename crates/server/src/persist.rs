//! RDB persistence: SAVE, BGSAVE, save points, the save at shutdown and
//! after FLUSHALL, and loading at startup and by DEBUG RELOAD.
//!
//! No fork. SAVE (and the other foreground saves) hold every shard while
//! they write, as Redis blocks while it saves. BGSAVE takes every shard for
//! a moment only, to fix the point in time (`Keyspace::begin_snapshot`),
//! then a writer thread goes through the shards; a command that reaches a
//! shard before the writer first copies that shard out in RDB form (its
//! chunk goes to the writer), so the file holds the keyspace exactly as it
//! was at BGSAVE, while the server keeps serving. Extra memory is the
//! serialized form of the shards changed before the writer got to them,
//! never a second copy of the objects.
//!
//! Files are written to `temp-<pid>-<n>.rdb` in the working directory
//! (`dir`), flushed to disk, then renamed to `dbfilename`, as Redis does.

use crate::rdb::{self, file};
use crate::server::Server;
use crate::storage::{Entry, Locked, Shard, SnapshotSink, Value, NO_EXPIRE};
use parking_lot::Mutex;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

/// The persistence state of a server.
#[derive(Default)]
pub struct Persist {
    me: OnceLock<Weak<Server>>,
    bg: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// A BGSAVE is running (INFO rdb_bgsave_in_progress).
    pub in_progress: AtomicBool,
    /// Whether the last BGSAVE succeeded (starts true).
    last_bg_failed: AtomicBool,
    pub saves: AtomicU64,
    bg_started: Mutex<Option<Instant>>,
    /// Seconds the last BGSAVE took, -1 before the first.
    last_bg_secs: AtomicI64,
    /// Unix seconds of the last BGSAVE attempt.
    last_try: AtomicI64,
    /// BGSAVE SCHEDULE: start one as soon as possible.
    pub scheduled: AtomicBool,
    pub loaded_keys: AtomicU64,
    pub loaded_expired: AtomicU64,
    keys_total: AtomicU64,
    keys_done: AtomicU64,
    /// Makes a running BGSAVE give up (FLUSHALL, DEBUG RELOAD, SHUTDOWN):
    /// it removes its temporary file and never renames it. Checked and set
    /// under `rename`.
    cancel: AtomicBool,
    rename: Mutex<()>,
    seq: AtomicU64,
    /// The save cron thread is running.
    cron: AtomicBool,
    /// A point-in-time snapshot runs (BGSAVE or an AOF rewrite): one at a
    /// time, as Redis runs one child at a time.
    pub snapshot_busy: AtomicBool,
    /// Background snapshots started (INFO total_forks: what Redis forks
    /// for, we snapshot for).
    pub snapshots: AtomicU64,
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

impl Persist {
    /// Remembers the server, for the threads that BGSAVE and the save
    /// cron start (called once the server is shared).
    pub fn attach(srv: &Arc<Server>) {
        let _ = srv.persist.me.set(Arc::downgrade(srv));
        srv.persist.last_bg_secs.store(-1, Ordering::Relaxed);
        if !srv.persist.cron.swap(true, Ordering::SeqCst) {
            let weak = Arc::downgrade(srv);
            std::thread::Builder::new()
                .name("save-cron".into())
                .spawn(move || save_cron(weak))
                .expect("save cron thread");
        }
    }

    pub fn last_bg_ok(&self) -> bool {
        !self.last_bg_failed.load(Ordering::Relaxed)
    }

    /// INFO's persistence fields that change while saving:
    /// (in progress, seconds running or -1, last duration, keys done, keys total).
    pub fn progress(&self) -> (bool, i64, i64, u64, u64) {
        let running = self.in_progress.load(Ordering::Relaxed);
        let cur = if running { self.bg_started.lock().map_or(-1, |t| t.elapsed().as_secs() as i64) } else { -1 };
        (
            running,
            cur,
            self.last_bg_secs.load(Ordering::Relaxed),
            if running { self.keys_done.load(Ordering::Relaxed) } else { 0 },
            if running { self.keys_total.load(Ordering::Relaxed) } else { 0 },
        )
    }

    /// Stops a running BGSAVE (its file is not kept). Does not wait.
    pub fn cancel_bg(&self) {
        let _g = self.rename.lock();
        if self.in_progress.load(Ordering::SeqCst) {
            self.cancel.store(true, Ordering::SeqCst);
        }
    }

    /// Waits for a BGSAVE thread that ended (or was cancelled) to be gone.
    /// The caller must hold no shard.
    pub fn join_bg(&self) {
        let h = self.bg.lock().take();
        if let Some(h) = h {
            let _ = h.join();
        }
    }
}

/// The error writes get after a failed BGSAVE (`writes_denied`).
pub const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// The server as shared (for the threads and tasks commands start).
pub fn server_arc(srv: &Server) -> Option<Arc<Server>> {
    srv.persist.me.get().and_then(|w| w.upgrade())
}

/// Redis's writeCommandsDeniedByDiskError for RDB: the last BGSAVE failed,
/// save points are set and stop-writes-on-bgsave-error is on.
/// Why writes are refused for a disk error, if they are: a failed BGSAVE
/// (stop-writes-on-bgsave-error with save points), then a failing AOF, as
/// Redis's writeCommandsDeniedByDiskError.
pub fn disk_refusal(srv: &Server) -> Option<std::borrow::Cow<'static, str>> {
    if writes_denied(srv) {
        Some(MISCONF.into())
    } else if srv.aof.failing() {
        Some(srv.aof.misconf().into())
    } else {
        None
    }
}

pub fn writes_denied(srv: &Server) -> bool {
    !srv.persist.last_bg_ok()
        && crate::cfg_num!(srv.config, "stop-writes-on-bgsave-error") != 0
        && !save_params(srv).is_empty()
}

/// The save points of the `save` setting: (seconds, changes) pairs.
pub fn save_params(srv: &Server) -> Vec<(i64, u64)> {
    let text = srv.config.get_text("save").unwrap_or_default();
    let w: Vec<&str> = text.split_whitespace().collect();
    w.chunks(2).filter_map(|p| Some((p.first()?.parse().ok()?, p.get(1)?.parse().ok()?))).collect()
}

// ------------------------------------------------------------ writing

/// How keys' access history is written: nothing, idle seconds (LRU
/// policies) or the LFU counter (LFU policies), as of one moment.
#[derive(Clone, Copy)]
struct AccessMode {
    kind: u8,
    lru_clock: u32,
    now_ms: i64,
    decay: i64,
}

impl AccessMode {
    fn of(srv: &Server) -> AccessMode {
        let policy = srv.config.get_text("maxmemory-policy").unwrap_or_default();
        let now_ms = srv.clock.now_ms();
        AccessMode {
            kind: if policy.contains("lru") {
                1
            } else if policy.contains("lfu") {
                2
            } else {
                0
            },
            lru_clock: srv.lru_clock_at(now_ms),
            now_ms,
            decay: crate::cfg_num!(srv.config, "lfu-decay-time"),
        }
    }

    fn of_entry(&self, e: &Entry) -> file::Access {
        match self.kind {
            1 => file::Access::Idle(self.lru_clock.saturating_sub(e.lru) as u64),
            2 => file::Access::Freq(crate::storage::lfu::decayed(e.lru, self.now_ms, self.decay).min(255) as u8),
            _ => file::Access::None,
        }
    }
}

/// One shard in RDB form: a `SELECTDB` group per non-empty database.
/// Returns the bytes and the number of keys.
fn shard_chunk(s: &Shard, threshold: usize, mode: AccessMode) -> (Vec<u8>, u64) {
    let mut out = Vec::new();
    let mut scratch = Vec::new();
    let mut n = 0;
    for (d, db) in s.dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        file::select_db(&mut out, d, db.len(), db.volatile.len());
        for (k, e) in db.map.iter() {
            file::key_value(&mut out, &mut scratch, k, e, threshold, mode.of_entry(e));
            n += 1;
        }
    }
    (out, n)
}

/// True if some hash holds fields with a TTL: the file then needs RDB
/// version 12 (Redis 7.4), which Redis 7.0 cannot read; without such
/// hashes the file is version 10, as Redis 7.0 writes.
fn needs_v12<'a>(shards: impl Iterator<Item = &'a Shard>) -> bool {
    shards.into_iter().any(|s| {
        s.dbs.iter().any(|db| {
            db.hexpires
                .iter()
                .any(|k| matches!(db.get(k), Some(Entry { value: Value::Hash(h), .. }) if h.min_ttl().is_some()))
        })
    })
}

/// The file's start: header, auxiliary fields and function libraries.
fn preamble(srv: &Server, v12: bool) -> Vec<u8> {
    preamble_for(srv, v12, false)
}

/// `preamble`, for an AOF base file when `aof_base`.
pub fn preamble_for(srv: &Server, v12: bool, aof_base: bool) -> Vec<u8> {
    let mut out = Vec::new();
    file::header(&mut out, if v12 { rdb::RDB_VERSION_74 } else { rdb::RDB_VERSION });
    file::aux(&mut out, b"redis-ver", crate::commands::server::REDIS_VERSION.as_bytes());
    file::aux(&mut out, b"redis-bits", b"64");
    file::aux(&mut out, b"ctime", unix_now().to_string().as_bytes());
    file::aux(&mut out, b"used-mem", crate::evict::used_memory(srv).to_string().as_bytes());
    file::aux(&mut out, b"aof-base", if aof_base { b"1" } else { b"0" });
    for code in srv.scripting.lib_codes.lock().iter() {
        file::function(&mut out, code);
    }
    out
}

/// A file being written: bytes go through a buffer and the checksum.
pub struct RdbFile {
    w: std::io::BufWriter<std::fs::File>,
    crc: file::Crc64,
    tmp: String,
}

impl RdbFile {
    fn create(srv: &Server) -> std::io::Result<RdbFile> {
        let tmp = format!("temp-{}-{}.rdb", std::process::id(), srv.persist.seq.fetch_add(1, Ordering::Relaxed));
        RdbFile::create_at(tmp)
    }

    /// A file at `tmp` (its temporary name).
    pub fn create_at(tmp: String) -> std::io::Result<RdbFile> {
        let f = std::fs::File::create(&tmp)?;
        Ok(RdbFile { w: std::io::BufWriter::with_capacity(1 << 16, f), crc: file::Crc64(0), tmp })
    }

    pub fn put(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.crc.update(b);
        self.w.write_all(b)
    }

    /// Writes the footer and syncs; the file is still under its temporary
    /// name.
    /// Flushes and syncs without an RDB footer (a command-form file).
    pub fn finish_raw(self) -> std::io::Result<String> {
        let f = self.w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        Ok(self.tmp)
    }

    pub fn finish(mut self, checksum: bool) -> std::io::Result<String> {
        let mut end = Vec::new();
        file::finish(&mut end, &mut self.crc, checksum);
        self.w.write_all(&end)?;
        let f = self.w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        Ok(self.tmp)
    }
}

fn install(tmp: &str, srv: &Server) -> std::io::Result<()> {
    let name = srv.config.get_text("dbfilename").unwrap_or_else(|| "dump.rdb".into());
    std::fs::rename(tmp, &name)?;
    if let Ok(d) = std::fs::File::open(".") {
        let _ = d.sync_all();
    }
    Ok(())
}

pub fn checksum_on(srv: &Server) -> bool {
    crate::cfg_num!(srv.config, "rdbchecksum") != 0
}

/// After a successful save: Redis's bookkeeping.
fn saved(srv: &Server, dirty_before: u64) {
    let _ = srv.dirty.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |d| Some(d.saturating_sub(dirty_before)));
    srv.lastsave.store(unix_now(), Ordering::Relaxed);
    // Any successful save lifts MISCONF, as Redis's rdbSave does.
    srv.persist.last_bg_failed.store(false, Ordering::Relaxed);
}

/// Writes the preamble and every shard (all held by the caller) to `f`.
pub fn write_all_shards(srv: &Server, locked: &Locked<'_>, f: &mut RdbFile, aof_base: bool) -> std::io::Result<()> {
    let threshold = srv.packed_threshold.load(Ordering::Relaxed);
    let shards = || (0..srv.keyspace.nshards()).filter_map(|i| locked.shard_at_ref(i));
    let v12 = needs_v12(shards());
    let mode = AccessMode::of(srv);
    f.put(&preamble_for(srv, v12, aof_base))?;
    for s in shards() {
        let (chunk, _) = shard_chunk(s, threshold, mode);
        f.put(&chunk)?;
    }
    Ok(())
}

/// SAVE and the other foreground saves: writes the whole keyspace, every
/// shard held by the caller, and installs the file.
pub fn save_locked(srv: &Server, locked: &mut Locked<'_>) -> Result<(), String> {
    assert!(locked.holds_all(), "a foreground save holds every shard");
    // A BGSAVE still running holds an older snapshot: it must not be
    // installed over this one.
    srv.persist.cancel_bg();
    let dirty = srv.dirty.load(Ordering::Relaxed);
    let threshold = srv.packed_threshold.load(Ordering::Relaxed);
    let v12 = needs_v12(locked.shards_mut().map(|s| &*s));
    let mode = AccessMode::of(srv);
    let r = (|| -> std::io::Result<()> {
        let mut f = RdbFile::create(srv)?;
        f.put(&preamble(srv, v12))?;
        let mut scratch = Vec::new();
        let mut buf = Vec::with_capacity(1 << 16);
        for s in locked.shards_mut() {
            for (d, db) in s.dbs.iter().enumerate() {
                if db.is_empty() {
                    continue;
                }
                file::select_db(&mut buf, d, db.len(), db.volatile.len());
                for (k, e) in db.map.iter() {
                    file::key_value(&mut buf, &mut scratch, k, e, threshold, mode.of_entry(e));
                    if buf.len() >= 1 << 16 {
                        f.put(&buf)?;
                        buf.clear();
                    }
                }
            }
        }
        f.put(&buf)?;
        let tmp = f.finish(checksum_on(srv))?;
        let r = {
            let _g = srv.persist.rename.lock();
            install(&tmp, srv)
        };
        if r.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        r
    })();
    match r {
        Ok(()) => {
            saved(srv, dirty);
            tracing::info!("DB saved on disk");
            Ok(())
        }
        Err(e) => {
            tracing::warn!("Failed saving the DB: {e}");
            Err(e.to_string())
        }
    }
}

/// What a background snapshot writes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// An RDB file (BGSAVE, a replica's sync).
    Rdb,
    /// An AOF base in RDB form (aof-base aux field set).
    AofRdb,
    /// An AOF base as commands (aof-use-rdb-preamble no).
    AofCommands,
}

/// What ends a background snapshot: called on its thread with the file's
/// temporary name (written, synced) or the error (the file removed).
pub type SnapshotDone = Box<dyn FnOnce(&Arc<Server>, Result<String, String>) + Send>;

/// Starts a background snapshot into `f` (the caller holds every shard: the
/// moment is now). One runs at a time (`snapshot_busy`). `cancelled` makes
/// the writer stop early (the file is then removed); `done` ends the job.
pub fn start_snapshot(
    srv: &Server,
    locked: &Locked<'_>,
    form: Form,
    f: RdbFile,
    cancelled: Arc<dyn Fn(&Server) -> bool + Send + Sync>,
    done: SnapshotDone,
) -> Result<(), String> {
    assert!(locked.holds_all(), "a snapshot starts with every shard held");
    let Some(me) = srv.persist.me.get().and_then(|w| w.upgrade()) else {
        let _ = std::fs::remove_file(&f.tmp);
        return Err("Background saving is not available".into());
    };
    let p = &srv.persist;
    if p.snapshot_busy.swap(true, Ordering::SeqCst) {
        let _ = std::fs::remove_file(&f.tmp);
        return Err("Background save already in progress".into());
    }
    // The previous writer has ended (snapshot_busy was false): reap it.
    if let Some(h) = p.bg.lock().take() {
        let _ = h.join();
    }
    p.keys_done.store(0, Ordering::Relaxed);
    let threshold = srv.packed_threshold.load(Ordering::Relaxed);
    // Count keys and find the version through a shared view of the shards.
    let (mut total, mut v12) = (0u64, false);
    for i in 0..srv.keyspace.nshards() {
        if let Some(s) = locked.shard_at_ref(i) {
            total += s.dbs.iter().map(|d| d.len() as u64).sum::<u64>();
            v12 = v12 || needs_v12(std::iter::once(s));
        }
    }
    p.keys_total.store(total, Ordering::Relaxed);
    let pre = match form {
        Form::AofCommands => crate::aof::commands_preamble(srv),
        _ => preamble_for(srv, v12, form == Form::AofRdb),
    };
    let (tx, rx) = mpsc::channel::<(Vec<u8>, u64)>();
    let tx = Mutex::new(tx);
    let mode = AccessMode::of(srv);
    let sink: SnapshotSink = Arc::new(move |_i, s: &Shard| {
        let chunk = match form {
            Form::AofCommands => crate::aof::shard_commands(s),
            _ => shard_chunk(s, threshold, mode),
        };
        let _ = tx.lock().send(chunk);
    });
    srv.keyspace.begin_snapshot(locked, sink);
    p.snapshots.fetch_add(1, Ordering::Relaxed);
    let tmp = f.tmp.clone();
    let h = std::thread::Builder::new().name("bgsave".into()).spawn(move || {
        let r = write_snapshot(&me, pre, rx, f, &*cancelled, form != Form::AofCommands);
        me.keyspace.end_snapshot();
        done(&me, r);
        me.persist.snapshot_busy.store(false, Ordering::SeqCst);
    });
    match h {
        Ok(h) => {
            *p.bg.lock() = Some(h);
            Ok(())
        }
        Err(e) => {
            srv.keyspace.end_snapshot();
            let _ = std::fs::remove_file(&tmp);
            p.snapshot_busy.store(false, Ordering::SeqCst);
            Err(e.to_string())
        }
    }
}

/// BGSAVE: fixes the snapshot's moment (the caller holds every shard) and
/// starts the writer thread. Refused while one runs.
pub fn bgsave_locked(srv: &Server, locked: &Locked<'_>) -> Result<(), String> {
    let p = &srv.persist;
    if p.in_progress.load(Ordering::SeqCst) || p.snapshot_busy.load(Ordering::SeqCst) {
        return Err("Background save already in progress".into());
    }
    let f = RdbFile::create(srv).map_err(|e| e.to_string())?;
    p.in_progress.store(true, Ordering::SeqCst);
    p.cancel.store(false, Ordering::SeqCst);
    p.scheduled.store(false, Ordering::Relaxed);
    p.saves.fetch_add(1, Ordering::Relaxed);
    *p.bg_started.lock() = Some(Instant::now());
    p.last_try.store(unix_now(), Ordering::Relaxed);
    let dirty = srv.dirty.load(Ordering::Relaxed);
    let cancelled =
        Arc::new(|srv: &Server| srv.persist.cancel.load(Ordering::SeqCst) || srv.shutting_down.load(Ordering::Relaxed));
    let r = start_snapshot(srv, locked, Form::Rdb, f, cancelled, Box::new(move |srv, r| bgsave_done(srv, r, dirty)));
    match r {
        Ok(()) => {
            tracing::info!("Background saving started");
            Ok(())
        }
        Err(e) => {
            p.in_progress.store(false, Ordering::SeqCst);
            Err(e)
        }
    }
}

/// Writes the snapshot's chunks after `pre`, as they come (see the module
/// docs), and the footer. The temporary name, or the error (file removed).
fn write_snapshot(
    srv: &Server,
    pre: Vec<u8>,
    rx: mpsc::Receiver<(Vec<u8>, u64)>,
    mut f: RdbFile,
    cancelled: &dyn Fn(&Server) -> bool,
    rdb_footer: bool,
) -> Result<String, String> {
    let p = &srv.persist;
    let n = srv.keyspace.nshards();
    let tmp = f.tmp.clone();
    let r = (|| -> Result<(), String> {
        f.put(&pre).map_err(|e| e.to_string())?;
        let (mut got, mut next) = (0, 0);
        while got < n {
            if cancelled(srv) {
                return Err("cancelled".into());
            }
            // Chunks that commands copied out, then the next shard
            // nobody has touched (locking it copies it out).
            let chunk = match rx.try_recv() {
                Ok(c) => c,
                Err(_) if next < n => {
                    drop(srv.keyspace.lock_shard(next));
                    next += 1;
                    continue;
                }
                Err(_) => match rx.recv_timeout(Duration::from_millis(100)) {
                    Ok(c) => c,
                    Err(mpsc::RecvTimeoutError::Timeout) => continue,
                    Err(e) => return Err(e.to_string()),
                },
            };
            got += 1;
            f.put(&chunk.0).map_err(|e| e.to_string())?;
            p.keys_done.fetch_add(chunk.1, Ordering::Relaxed);
            // rdb-key-save-delay (microseconds per key): tests use it
            // to keep a BGSAVE running.
            let delay = crate::cfg_num!(srv.config, "rdb-key-save-delay");
            if delay > 0 && chunk.1 > 0 {
                let until = Instant::now() + Duration::from_micros((delay as u64).saturating_mul(chunk.1));
                while Instant::now() < until && !cancelled(srv) {
                    std::thread::sleep(Duration::from_millis(1).min(until - Instant::now()));
                }
            }
        }
        Ok(())
    })();
    srv.keyspace.end_snapshot();
    let end = |f: RdbFile| if rdb_footer { f.finish(checksum_on(srv)) } else { f.finish_raw() };
    match r.and_then(|()| end(f).map_err(|e| e.to_string())) {
        Ok(t) => Ok(t),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// The end of a BGSAVE: installs the file unless cancelled meanwhile.
fn bgsave_done(srv: &Arc<Server>, r: Result<String, String>, dirty: u64) {
    let p = &srv.persist;
    let cancelled = || p.cancel.load(Ordering::SeqCst) || srv.shutting_down.load(Ordering::Relaxed);
    let ok = match r {
        Ok(tmp) => {
            let _g = p.rename.lock();
            if cancelled() {
                let _ = std::fs::remove_file(&tmp);
                false
            } else {
                match install(&tmp, srv) {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::warn!("Background saving error: {e}");
                        let _ = std::fs::remove_file(&tmp);
                        false
                    }
                }
            }
        }
        Err(e) => {
            if e != "cancelled" {
                tracing::warn!("Background saving error: {e}");
            }
            false
        }
    };
    let secs = p.bg_started.lock().take().map_or(0, |t| t.elapsed().as_secs() as i64);
    p.last_bg_secs.store(secs, Ordering::Relaxed);
    if ok {
        saved(srv, dirty);
        p.last_bg_failed.store(false, Ordering::Relaxed);
        tracing::info!("Background saving terminated with success");
    } else if !p.cancel.load(Ordering::SeqCst) {
        p.last_bg_failed.store(true, Ordering::Relaxed);
    }
    let _g = p.rename.lock();
    p.in_progress.store(false, Ordering::SeqCst);
}

/// Starts a BGSAVE from outside a command (save points, BGSAVE SCHEDULE);
/// while a script runs it waits for no shard (the next tick tries again).
fn bgsave_now(srv: &Server) -> Result<(), String> {
    let busy = || srv.scripting.busy.running();
    let Some(locked) = srv.keyspace.lock_all_unless(&busy) else { return Err("a script is running".into()) };
    bgsave_locked(srv, &locked)
}

/// Redis's serverCron part for RDB: save points and scheduled BGSAVEs.
fn save_cron(weak: Weak<Server>) {
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let Some(srv) = weak.upgrade() else { return };
        if srv.shutting_down.load(Ordering::Relaxed) {
            return;
        }
        let p = &srv.persist;
        if p.in_progress.load(Ordering::SeqCst) || p.snapshot_busy.load(Ordering::SeqCst) {
            continue;
        }
        crate::aof::cron(&srv);
        // Reap a writer that ended (the handle is taken first: the mutex
        // is not held while joining).
        let ended = p.bg.lock().take();
        if let Some(h) = ended {
            let _ = h.join();
        }
        if p.scheduled.load(Ordering::Relaxed) {
            let _ = bgsave_now(&srv);
            continue;
        }
        let now = unix_now();
        let dirty = srv.dirty.load(Ordering::Relaxed);
        let last = srv.lastsave.load(Ordering::Relaxed);
        // After a failed BGSAVE, retry only every 5 seconds (Redis's
        // CONFIG_BGSAVE_RETRY_DELAY).
        let may_try = p.last_bg_ok() || now - p.last_try.load(Ordering::Relaxed) > 5;
        for (secs, changes) in save_params(&srv) {
            if dirty >= changes && now - last > secs && may_try {
                tracing::info!("{changes} changes in {secs} seconds. Saving...");
                let _ = bgsave_now(&srv);
                break;
            }
        }
    }
}

// ------------------------------------------------------------ loading

/// What a load did.
#[derive(Debug, Default, PartialEq)]
pub struct Loaded {
    pub keys: u64,
    pub expired: u64,
    /// Empty collections in the file, skipped.
    pub empty: u64,
    /// Bytes of RDB data (an old AOF's commands may follow).
    pub consumed: usize,
}

/// Loads `data` (a whole RDB file) into the shards the caller holds (every
/// one). `replace`: a key already present is replaced (DEBUG RELOAD
/// MERGE); otherwise a duplicate is an error.
/// `funcs` is the functions state, locked by the caller (before the
/// shards, or while no script can run): a running function may hold it
/// while it waits for a shard.
pub fn load_locked(
    srv: &Server,
    locked: &mut Locked<'_>,
    funcs: &mut Option<crate::scripting::functions::Functions>,
    data: &[u8],
    replace: bool,
) -> Result<Loaded, String> {
    let cfg = crate::commands::dump::load_config(srv);
    let now = srv.clock.now_ms();
    let ndb = srv.keyspace.ndb();
    let mut db = 0usize;
    let mut out = Loaded::default();
    let mut codes = Vec::new();
    let verify = checksum_on(srv) && !srv.skip_checksum.load(Ordering::Relaxed);
    // Libraries come before the keys: they are loaded before the first key
    // (a clash fails the load before any key changes, as in Redis).
    let mut load_libs = |codes: &mut Vec<Vec<u8>>| -> Result<(), String> {
        if codes.is_empty() {
            return Ok(());
        }
        crate::scripting::functions::load_codes(srv, funcs, &std::mem::take(codes), replace)
    };
    out.consumed = file::parse_at(data, &cfg, verify, |item, pos| {
        srv.loading.progress(pos);
        if !matches!(item, file::Item::Function(_) | file::Item::Aux(..)) {
            load_libs(&mut codes)?;
        }
        match item {
            file::Item::Db(d) => {
                if d >= ndb {
                    return Err(format!(
                        "FATAL: Data file was created with a Redis server configured to handle more than {ndb} databases. Exiting"
                    ));
                }
                db = d;
            }
            file::Item::Function(code) => codes.push(code.into_owned()),
            file::Item::Aux(k, v) => {
                if &*k == b"used-mem" {
                    let n = std::str::from_utf8(&v).ok().and_then(|t| t.parse().ok()).unwrap_or(0);
                    srv.loading.rdb_used_mem.store(n, Ordering::Relaxed);
                }
            }
            file::Item::EmptyKey(key) => {
                tracing::warn!("rdbLoadObject skipping empty key: {}", String::from_utf8_lossy(&key));
                out.empty += 1;
            }
            file::Item::Key { key, value, expire_at, idle, freq } => {
                if expire_at != NO_EXPIRE && expire_at < now {
                    out.expired += 1;
                    return Ok(());
                }
                let lru = match (srv.config.lfu(), freq, idle) {
                    (true, Some(f), _) => (crate::storage::lfu::minutes(now) << 8) | f as u32,
                    (false, _, Some(i)) => srv.lru_clock_at(now).saturating_sub(i.min(u32::MAX as u64) as u32),
                    _ => srv.new_access(now),
                };
                let ttl_hash = matches!(&value, Value::Hash(h) if h.min_ttl().is_some());
                let mut e = Entry::new(value, lru);
                e.expire_at = expire_at;
                let shard = locked.shard_mut(&key).ok_or("shard not held")?;
                let d = &mut shard.dbs[db];
                if !replace && d.get(&key).is_some() {
                    return Err(format!("RDB has duplicated key '{}' in DB {db}", String::from_utf8_lossy(&key)));
                }
                if let Some(old) = d.insert_entry(&key, e) {
                    srv.lazyfree.free(&srv.config, crate::lazyfree::Why::ServerDel, old.value);
                }
                if ttl_hash {
                    d.hexpires.insert(key.as_ref().into());
                }
                out.keys += 1;
            }
        }
        Ok(())
    })?;
    load_libs(&mut codes)?;
    srv.persist.loaded_keys.store(out.keys, Ordering::Relaxed);
    srv.persist.loaded_expired.store(out.expired, Ordering::Relaxed);
    Ok(out)
}

/// Reads `dbfilename` from the working directory, if it exists, into an
/// empty server (startup). A file that cannot be read or loaded is an
/// error: the server does not start, as Redis does not.
pub fn load_at_start(srv: &Server) -> Result<(), String> {
    let name = srv.config.get_text("dbfilename").unwrap_or_else(|| "dump.rdb".into());
    let map = match Mapped::open(&name) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("Fatal error loading the DB: {e}. Exiting.")),
    };
    let data = map.bytes();
    let t = Instant::now();
    let _loading = srv.loading.begin(srv, data.len() as u64);
    // (At startup no script runs: the order of the two locks is free.)
    let mut funcs = srv.scripting.functions.lock();
    let mut locked = srv.keyspace.lock_all();
    let r = load_locked(srv, &mut locked, &mut funcs, data, false).inspect_err(|e| {
        tracing::warn!("{e}");
        tracing::warn!("Terminating server after rdb file reading failure.");
    })?;
    drop(locked);
    srv.lastsave.store(unix_now(), Ordering::Relaxed);
    tracing::warn!(
        "Done loading RDB, keys loaded: {}, keys expired: {}, empty keys skipped: {}.",
        r.keys,
        r.expired,
        r.empty
    );
    tracing::warn!("DB loaded from disk: {:.3} seconds", t.elapsed().as_secs_f64());
    Ok(())
}

/// A file mapped read-only, so a load does not hold a second copy of the
/// whole file in memory: its pages are read as the parser reaches them and
/// stay reclaimable page cache.
pub(crate) struct Mapped {
    ptr: *mut libc::c_void,
    len: usize,
}

impl Mapped {
    pub(crate) fn open(path: &str) -> std::io::Result<Mapped> {
        use std::os::fd::AsRawFd;
        let f = std::fs::File::open(path)?;
        let len = usize::try_from(f.metadata()?.len()).map_err(std::io::Error::other)?;
        if len == 0 {
            return Ok(Mapped { ptr: std::ptr::null_mut(), len: 0 });
        }
        // SAFETY: a fresh private read-only mapping of a file we opened;
        // checked for failure below.
        let ptr =
            unsafe { libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_PRIVATE, f.as_raw_fd(), 0) };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: advice on the mapping just made.
        unsafe { libc::madvise(ptr, len, libc::MADV_SEQUENTIAL) };
        Ok(Mapped { ptr, len })
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: the mapping is `len` readable bytes and lives as long as
        // `self`.
        unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.len) }
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: unmapping our own mapping once.
            unsafe { libc::munmap(self.ptr, self.len) };
        }
    }
}

/// The save SHUTDOWN (or a signal) asks for, with every shard taken here;
/// a running BGSAVE is stopped first, as Redis kills its child.
pub fn shutdown_save(srv: &Server) -> Result<(), String> {
    srv.persist.cancel_bg();
    srv.persist.join_bg();
    let mut locked = srv.keyspace.lock_all();
    // (save_locked cancels again: the save cron may have started a BGSAVE
    // between the join and the lock.)
    save_locked(srv, &mut locked)
}

/// A signal asks the server to stop: saves as the `shutdown-on-sigterm` /
/// `shutdown-on-sigint` setting says (by default when save points are
/// set). False if the save failed and the server must keep running.
pub fn signal_shutdown(srv: &Server, setting: &str) -> bool {
    let text = srv.config.get_text(setting).unwrap_or_default();
    let has = |w: &str| text.split_whitespace().any(|x| x.eq_ignore_ascii_case(w));
    // Pending while the cron is paused; then replicas catch up (unless
    // NOW); SHUTDOWN ABORT ends either.
    if srv.shutdown.signal_pending(srv).is_err() || srv.shutdown.wait_for_replicas(srv, has("now")).is_err() {
        return false;
    }
    if !crate::shutdown::aof_allows_exit(srv, has("force")) {
        srv.shutdown.cancel(srv);
        return false;
    }
    let loading = srv.loading.active.load(Ordering::SeqCst);
    if !loading && (has("save") || (!has("nosave") && !save_params(srv).is_empty())) {
        if shutdown_save(srv).is_err() && !has("force") {
            tracing::warn!("Error trying to save the DB, can't exit.");
            srv.shutdown.cancel(srv);
            return false;
        }
    } else {
        srv.persist.cancel_bg();
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Str;

    fn sv(s: &str) -> Value {
        Value::Str(Str::from_bytes(s.as_bytes()))
    }

    #[test]
    fn snapshot_sees_the_moment_it_began() {
        let srv = Server::new(crate::Config::default());
        {
            let mut l = srv.keyspace.lock_all();
            for i in 0..200 {
                let k = format!("k{i}");
                l.shard_mut(k.as_bytes()).unwrap().dbs[0].set(k.as_bytes(), sv("old"), false, 0);
            }
        }
        let chunks = Arc::new(Mutex::new(Vec::new()));
        let c2 = chunks.clone();
        let mode = AccessMode::of(&srv);
        let sink: SnapshotSink = Arc::new(move |_i, s: &Shard| c2.lock().push(shard_chunk(s, usize::MAX, mode)));
        {
            let l = srv.keyspace.lock_all();
            srv.keyspace.begin_snapshot(&l, sink);
        }
        // Readers copy nothing out.
        {
            let _r = crate::storage::ReadOnly::enter();
            drop(srv.keyspace.lock_all());
        }
        assert!(chunks.lock().is_empty());
        // Writes after the start: every one first copies its shard out.
        for i in 0..200 {
            let k = format!("k{i}");
            let mut l = srv.keyspace.lock_keys([k.as_bytes()]);
            l.shard_mut(k.as_bytes()).unwrap().dbs[0].set(k.as_bytes(), sv("new"), false, 0);
        }
        for i in 0..srv.keyspace.nshards() {
            drop(srv.keyspace.lock_shard(i));
        }
        srv.keyspace.end_snapshot();
        let chunks = chunks.lock();
        assert_eq!(chunks.len(), srv.keyspace.nshards(), "each shard exactly once");
        let mut all = Vec::new();
        file::header(&mut all, 10);
        for (c, _) in chunks.iter() {
            all.extend_from_slice(c);
        }
        let mut crc = file::Crc64(0);
        crc.update(&all);
        file::finish(&mut all, &mut crc, true);
        let mut n = 0;
        file::parse(&all, &crate::rdb::LoadConfig::default(), true, |it| {
            if let file::Item::Key { value: Value::Str(s), .. } = it {
                assert_eq!(s.to_vec(), b"old");
                n += 1;
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(n, 200);
    }

    #[test]
    fn save_params_parse() {
        let srv = Server::new(crate::Config::default());
        assert_eq!(save_params(&srv), vec![(3600, 1), (300, 100), (60, 10000)]);
    }
}
