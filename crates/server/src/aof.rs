//! The append-only file, in Redis 7's multi-part layout.
//!
//! `appenddirname` holds a manifest (`<appendfilename>.manifest`) naming a
//! base file (an RDB snapshot, `<appendfilename>.<seq>.base.rdb`) and the
//! incremental files (`<appendfilename>.<seq>.incr.aof`) written after it,
//! in order. Writes reach the current incremental file through the
//! propagation feed (propagate.rs): the AOF sink collects the commands of
//! each commit in a buffer, a writer thread writes the buffer out and
//! fsyncs it once a second (`appendfsync everysec`), or the commit itself
//! writes and fsyncs (`always`), or the kernel decides (`no`).
//!
//! A rewrite (BGREWRITEAOF, the automatic one past
//! auto-aof-rewrite-percentage, turning appendonly on) opens a new
//! incremental file and takes a fork-less snapshot (persist.rs) at the same
//! moment, every shard held: the snapshot becomes the new base, and the
//! files before the new incremental one become history, deleted once the
//! new manifest is on disk. So the files named by the manifest always hold
//! the whole dataset.
//!
//! Loading replays the base (RDB or commands) and the incremental files with
//! every shard held by the loader; a last file cut in the middle of a
//! command is truncated to its last whole command when aof-load-truncated
//! is on, as Redis does.

use crate::ctx::Ctx;
use crate::server::Server;
use crate::storage::Locked;
use parking_lot::{Condvar, Mutex};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

/// `aof_state`: off, on, or on as soon as its first rewrite ends.
pub const OFF: u8 = 0;
pub const ON: u8 = 1;
pub const WAIT_REWRITE: u8 = 2;

const FSYNC_NO: u8 = 0;
const FSYNC_EVERYSEC: u8 = 1;
const FSYNC_ALWAYS: u8 = 2;

#[derive(Clone, Debug, PartialEq)]
struct FileInfo {
    name: String,
    seq: u64,
    kind: u8,
}

/// The manifest: which files hold the dataset, in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Manifest {
    base: Option<FileInfo>,
    history: Vec<FileInfo>,
    incrs: Vec<FileInfo>,
    base_seq: u64,
    incr_seq: u64,
}

impl Manifest {
    /// Parses a manifest's text (lines `file <name> seq <n> type <b|h|i>`).
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let mut m = Manifest::default();
        if text.is_empty() {
            return Err("Found an empty AOF manifest".into());
        }
        let mut rest = text;
        while !rest.is_empty() {
            // Lines of at most 1024 bytes, each ending in a newline, as
            // Redis reads them; comments skipped, blank lines refused.
            let Some(end) = rest.find('\n').filter(|&e| e < 1024) else {
                if rest.starts_with('#') {
                    break;
                }
                return Err("The AOF manifest file contains too long line".into());
            };
            let line = &rest[..end];
            rest = &rest[end + 1..];
            if line.starts_with('#') {
                continue;
            }
            let line = line.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
            if line.is_empty() {
                return Err("Invalid AOF manifest file format".into());
            }
            let w = split_args(line).ok_or("Invalid AOF manifest file format")?;
            if w.len() < 6 || w.len() % 2 != 0 {
                return Err("Invalid AOF manifest file format".into());
            }
            let (mut name, mut seq, mut kind) = (None, 0u64, 0u8);
            for p in w.chunks(2) {
                match p[0].to_ascii_lowercase().as_str() {
                    "file" => {
                        if p[1].contains('/') {
                            return Err("File can't be a path, just a filename".into());
                        }
                        name = Some(p[1].clone());
                    }
                    "seq" => seq = c_atoll(&p[1]),
                    "type" => kind = p[1].bytes().next().unwrap_or(0),
                    _ => {}
                }
            }
            let Some(name) = name.filter(|_| seq != 0 && kind != 0) else {
                return Err("Invalid AOF manifest file format".into());
            };
            let info = FileInfo { name, seq, kind };
            match kind {
                b'b' => {
                    if m.base.is_some() {
                        return Err("Found duplicate base file information".into());
                    }
                    m.base_seq = seq;
                    m.base = Some(info);
                }
                b'h' => m.history.push(info),
                b'i' => {
                    if seq <= m.incr_seq {
                        return Err("Found a non-monotonic sequence number".into());
                    }
                    m.incr_seq = seq;
                    m.incrs.push(info);
                }
                _ => return Err("Unknown AOF file type".into()),
            }
        }
        Ok(m)
    }

    pub fn render(&self) -> String {
        let mut s = String::new();
        let mut line = |f: &FileInfo| {
            let name = if f.name.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\'' && b != b'\\') {
                f.name.clone()
            } else {
                format!("{:?}", f.name)
            };
            s.push_str(&format!("file {name} seq {} type {}\n", f.seq, f.kind as char));
        };
        self.base.iter().for_each(&mut line);
        self.history.iter().for_each(&mut line);
        self.incrs.iter().for_each(&mut line);
        s
    }

    /// A new base file's name; the old base becomes history.
    fn new_base(&mut self, prefix: &str, rdb: bool) -> String {
        if let Some(mut b) = self.base.take() {
            b.kind = b'h';
            self.history.push(b);
        }
        self.base_seq += 1;
        let name = format!("{prefix}.{}.base.{}", self.base_seq, if rdb { "rdb" } else { "aof" });
        self.base = Some(FileInfo { name: name.clone(), seq: self.base_seq, kind: b'b' });
        name
    }

    /// A new incremental file's name, appended.
    fn new_incr(&mut self, prefix: &str) -> String {
        self.incr_seq += 1;
        let name = format!("{prefix}.{}.incr.aof", self.incr_seq);
        self.incrs.push(FileInfo { name: name.clone(), seq: self.incr_seq, kind: b'i' });
        name
    }

    /// After a rewrite: every incremental file but the last is history.
    fn incrs_to_history(&mut self) {
        let keep = self.incrs.pop();
        for mut f in self.incrs.drain(..) {
            f.kind = b'h';
            self.history.push(f);
        }
        self.incrs.extend(keep);
    }

    fn last_incr(&self) -> Option<&str> {
        self.incrs.last().map(|f| f.name.as_str())
    }

    /// The files to load, in order.
    fn load_order(&self) -> Vec<&FileInfo> {
        self.base.iter().chain(self.incrs.iter()).collect()
    }
}

/// C's atoll: leading digits, 0 for none.
fn c_atoll(s: &str) -> u64 {
    let d: String = s.trim_start().chars().take_while(|c| c.is_ascii_digit()).collect();
    d.parse().unwrap_or(0)
}

/// Splits a manifest line into words (double-quoted words may hold
/// escapes, as Redis's sdssplitargs).
fn split_args(line: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut it = line.chars().peekable();
    loop {
        while it.peek().is_some_and(|c| c.is_whitespace()) {
            it.next();
        }
        let Some(&c) = it.peek() else { return Some(out) };
        let mut w = String::new();
        if c == '"' {
            it.next();
            loop {
                match it.next()? {
                    '"' => break,
                    '\\' => match it.next()? {
                        'n' => w.push('\n'),
                        'r' => w.push('\r'),
                        't' => w.push('\t'),
                        other => w.push(other),
                    },
                    ch => w.push(ch),
                }
            }
        } else {
            while let Some(&ch) = it.peek() {
                if ch.is_whitespace() {
                    break;
                }
                w.push(ch);
                it.next();
            }
        }
        out.push(w);
    }
}

/// What the sink and the writer share.
struct Shared {
    buf: Mutex<Vec<u8>>,
    wake: Condvar,
    io: Mutex<Io>,
    fsync: AtomicU8,
    /// aof-timestamp-enabled: `#TS:<unix seconds>` annotations.
    timestamps: AtomicBool,
    /// The last write failed (INFO aof_last_write_status).
    write_failed: AtomicBool,
    /// The last fsync failed (everysec; Redis's aof_bio_fsync_status).
    fsync_failed: AtomicBool,
    /// errno of the last failed write or fsync.
    write_errno: std::sync::atomic::AtomicI32,
    /// Bytes ever put in `buf`, and how many of them are written: a
    /// connection with replies to send first writes until `written`
    /// reaches what `appended` was (its own commands included).
    appended: AtomicU64,
    written: AtomicU64,
    /// DEBUG AOF-FLUSH-SLEEP: microseconds to sleep before each write.
    flush_sleep: AtomicU64,
    /// Bytes written to the AOF since the server started or the last
    /// rewrite (the part of aof_current_size not yet known from files).
    stop: AtomicBool,
}

#[derive(Default)]
struct Io {
    fd: Option<std::fs::File>,
    /// Bytes in the base and incremental files (aof_current_size).
    size: u64,
    /// Unsynced writes.
    unsynced: bool,
    last_fsync: Option<Instant>,
}

impl Shared {
    /// Writes what the buffer holds; fsyncs when `sync` or (everysec) a
    /// second has passed since the last fsync.
    ///
    /// A failed write keeps the bytes for the next try, and a partial one
    /// is cut back off the file first (or, when the cut fails, only the
    /// rest is kept), as Redis's flushAppendOnlyFile. Until a write and an
    /// fsync succeed again, `failing()` is true and writes are refused with
    /// MISCONF. Under appendfsync always, where the commands' clients have
    /// not had their replies yet, a failed write or fsync stops the server.
    fn flush(&self, sync: bool) {
        self.write_out(sync, true)
    }

    /// Writes what the buffer holds; with `may_fsync`, fsyncs as `flush`
    /// says (the writer thread), else leaves the fsync to it (a connection
    /// writing before its replies, as Redis's beforeSleep does).
    fn write_out(&self, sync: bool, may_fsync: bool) {
        // The buffer is taken under the file's lock: whoever finds the
        // buffer empty knows earlier bytes are written (or failed) once it
        // holds the lock.
        let mut io = self.io.lock();
        let (data, upto) = {
            let mut b = self.buf.lock();
            (std::mem::take(&mut *b), self.appended.load(Ordering::Relaxed))
        };
        let nap = self.flush_sleep.load(Ordering::Relaxed);
        if nap > 0 && !data.is_empty() {
            std::thread::sleep(Duration::from_micros(nap));
        }
        let always = self.fsync.load(Ordering::Relaxed) == FSYNC_ALWAYS;
        if data.is_empty() {
            self.written.fetch_max(upto, Ordering::Relaxed);
        } else {
            let Some(f) = io.fd.as_mut() else { return };
            let mut done = 0;
            let mut err = None;
            while done < data.len() {
                match f.write(&data[done..]) {
                    Ok(0) => {
                        err = Some(std::io::Error::from(std::io::ErrorKind::WriteZero));
                        break;
                    }
                    Ok(n) => done += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        err = Some(e);
                        break;
                    }
                }
            }
            match err {
                None => {
                    io.size += data.len() as u64;
                    io.unsynced = true;
                    self.written.fetch_max(upto, Ordering::Relaxed);
                    solved(&self.write_failed, "write");
                }
                Some(e) => {
                    self.failed(&self.write_failed, &e, always, "write");
                    // Take a partial write back off the file; if that
                    // fails, what was written stays and only the rest is
                    // tried again.
                    let mut keep_from = 0;
                    if done > 0 {
                        let cut =
                            f.metadata().map(|m| m.len().saturating_sub(done as u64)).and_then(|len| f.set_len(len));
                        if cut.is_err() {
                            tracing::warn!("Could not remove short write from the append-only file.");
                            io.size += done as u64;
                            io.unsynced = true;
                            keep_from = done;
                        }
                    }
                    let mut b = self.buf.lock();
                    let mut rest = data[keep_from..].to_vec();
                    rest.extend_from_slice(&b);
                    *b = rest;
                    return;
                }
            }
        }
        if !may_fsync {
            return;
        }
        let mode = self.fsync.load(Ordering::Relaxed);
        let due = sync
            || mode == FSYNC_ALWAYS
            || (mode == FSYNC_EVERYSEC && io.last_fsync.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)));
        if io.unsynced && due {
            if let Some(f) = io.fd.as_ref() {
                match f.sync_data() {
                    Ok(()) => solved(&self.fsync_failed, "fsync"),
                    Err(e) => {
                        self.failed(&self.fsync_failed, &e, always, "fsync");
                        // Try again at the next flush.
                        return;
                    }
                }
            }
            io.unsynced = false;
            io.last_fsync = Some(Instant::now());
        }
    }

    /// Records a failed write or fsync (`what`) in `flag`, logging the
    /// first of a run; under appendfsync always the server stops, as Redis's
    /// flushAppendOnlyFile does, since clients would get replies for writes
    /// that are not on disk.
    fn failed(&self, flag: &AtomicBool, e: &std::io::Error, always: bool, what: &str) {
        self.write_errno.store(e.raw_os_error().unwrap_or(libc_enospc()), Ordering::Relaxed);
        if always {
            tracing::warn!(
                "Can't recover from AOF {what} error when the AOF fsync policy is 'always': {}. Exiting...",
                strerror(e)
            );
            std::process::exit(1);
        }
        if !flag.swap(true, Ordering::Relaxed) {
            tracing::warn!("Error on AOF {what}: {}", strerror(e));
        }
    }

    /// Adds committed bytes to the buffer.
    fn append(&self, bytes: &[u8]) {
        let mut b = self.buf.lock();
        b.extend_from_slice(bytes);
        self.appended.fetch_add(bytes.len() as u64, Ordering::Relaxed);
    }

    /// A write or fsync failed and has not succeeded since.
    fn failing(&self) -> bool {
        self.write_failed.load(Ordering::Relaxed) || self.fsync_failed.load(Ordering::Relaxed)
    }
}

/// A write or fsync (`what`) worked again after failing.
fn solved(flag: &AtomicBool, what: &str) {
    if flag.swap(false, Ordering::Relaxed) {
        tracing::warn!("AOF {what} error looks solved, Redis can write again.");
    }
}

/// ENOSPC, the errno assumed for an error without one.
fn libc_enospc() -> i32 {
    28
}

/// An I/O error's text without std's " (os error N)" suffix: C's strerror,
/// as Redis words its messages.
fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// The feed's AOF consumer.
struct Sink {
    shared: Arc<Shared>,
    selected: Option<usize>,
    /// The second of the last `#TS` annotation.
    last_ts: i64,
}

impl crate::propagate::Sink for Sink {
    fn target(&self) -> u8 {
        crate::propagate::AOF
    }
    fn selected(&mut self) -> &mut Option<usize> {
        &mut self.selected
    }
    fn put(&mut self, bytes: &[u8]) {
        self.shared.append(bytes);
    }
    fn begin(&mut self) {
        if self.shared.timestamps.load(Ordering::Relaxed) {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            if now > self.last_ts {
                self.last_ts = now;
                self.shared.append(format!("#TS:{now}\r\n").as_bytes());
            }
        }
    }
    fn committed(&mut self) {
        if self.shared.fsync.load(Ordering::Relaxed) == FSYNC_ALWAYS {
            self.shared.flush(true);
        }
        // Else written before the next replies go out
        // (`Aof::before_replies`), or by the writer thread within a second.
    }
}

/// The AOF state of a server.
pub struct Aof {
    me: OnceLock<Weak<Server>>,
    pub state: AtomicU8,
    shared: Arc<Shared>,
    manifest: Mutex<Option<Manifest>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    pub rewriting: AtomicBool,
    pub scheduled: AtomicBool,
    pub rewrites: AtomicU64,
    failures: AtomicU64,
    last_rewrite_ok: AtomicBool,
    last_rewrite_secs: AtomicI64,
    started: Mutex<Option<Instant>>,
    cancel: AtomicBool,
    /// Unix ms of the last rewrite's start.
    started_ms: AtomicI64,
    /// aof_current_size after the last rewrite (or at start): the base of
    /// auto-aof-rewrite-percentage.
    rewrite_base_size: AtomicU64,
    /// Set when the files were loaded at startup (or found absent).
    loaded: AtomicBool,
}

impl Default for Aof {
    fn default() -> Self {
        Aof {
            me: OnceLock::new(),
            state: AtomicU8::new(OFF),
            shared: Arc::new(Shared {
                buf: Mutex::new(Vec::new()),
                wake: Condvar::new(),
                io: Mutex::new(Io::default()),
                fsync: AtomicU8::new(FSYNC_EVERYSEC),
                timestamps: AtomicBool::new(false),
                write_failed: AtomicBool::new(false),
                fsync_failed: AtomicBool::new(false),
                write_errno: std::sync::atomic::AtomicI32::new(0),
                appended: AtomicU64::new(0),
                written: AtomicU64::new(0),
                flush_sleep: AtomicU64::new(0),
                stop: AtomicBool::new(false),
            }),
            manifest: Mutex::new(None),
            writer: Mutex::new(None),
            rewriting: AtomicBool::new(false),
            scheduled: AtomicBool::new(false),
            rewrites: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            last_rewrite_ok: AtomicBool::new(true),
            last_rewrite_secs: AtomicI64::new(-1),
            started: Mutex::new(None),
            cancel: AtomicBool::new(false),
            started_ms: AtomicI64::new(0),
            rewrite_base_size: AtomicU64::new(0),
            loaded: AtomicBool::new(false),
        }
    }
}

fn dir(srv: &Server) -> PathBuf {
    PathBuf::from(srv.config.get_text("appenddirname").unwrap_or_else(|| "appendonlydir".into()))
}

fn prefix(srv: &Server) -> String {
    srv.config.get_text("appendfilename").unwrap_or_else(|| "appendonly.aof".into())
}

fn manifest_path(srv: &Server) -> PathBuf {
    dir(srv).join(format!("{}.manifest", prefix(srv)))
}

fn persist_manifest(srv: &Server, m: &Manifest) -> std::io::Result<()> {
    let d = dir(srv);
    let tmp = d.join(format!("temp-{}.manifest", prefix(srv)));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(m.render().as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, manifest_path(srv))?;
    if let Ok(d) = std::fs::File::open(&d) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// aof-use-rdb-preamble: the base is an RDB file (else commands).
fn preamble_on(srv: &Server) -> bool {
    crate::cfg_num!(srv.config, "aof-use-rdb-preamble") != 0
}

fn fsync_mode(srv: &Server) -> u8 {
    match srv.config.get_text("appendfsync").as_deref() {
        Some("always") => FSYNC_ALWAYS,
        Some("no") => FSYNC_NO,
        _ => FSYNC_EVERYSEC,
    }
}

fn file_size(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

fn open_append(p: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().create(true).append(true).open(p)
}

impl Aof {
    /// INFO aof_enabled.
    pub fn enabled(&self) -> bool {
        self.state.load(Ordering::Relaxed) != OFF
    }

    /// Re-reads appendfsync and aof-timestamp-enabled (CONFIG SET).
    pub fn fsync_changed(&self, srv: &Server) {
        self.shared.fsync.store(fsync_mode(srv), Ordering::Relaxed);
        self.shared.timestamps.store(crate::cfg_num!(srv.config, "aof-timestamp-enabled") != 0, Ordering::Relaxed);
    }

    /// Writes are refused (MISCONF) while the AOF is on and its last write
    /// or fsync failed: Redis's DISK_ERROR_TYPE_AOF. One relaxed load or
    /// two on the command path.
    pub fn failing(&self) -> bool {
        self.shared.failing() && self.enabled()
    }

    /// The refusal while `failing()`: Redis's words with strerror(errno).
    pub fn misconf(&self) -> String {
        let e = std::io::Error::from_raw_os_error(self.shared.write_errno.load(Ordering::Relaxed));
        format!("MISCONF Errors writing to the AOF file: {}", strerror(&e))
    }

    /// Before a connection sends replies: what was committed is written to
    /// the file (not fsynced), so a reply never announces a write that a
    /// crash of this process could lose, as Redis writes its AOF buffer in
    /// beforeSleep. One relaxed load when there is nothing to write.
    #[inline]
    pub fn before_replies(&self) {
        let sh = &self.shared;
        if sh.written.load(Ordering::Relaxed) < sh.appended.load(Ordering::Relaxed) && !sh.failing() {
            self.shared.write_out(false, false);
        }
    }

    /// DEBUG AOF-FLUSH-SLEEP: each write of the AOF first sleeps `usec`.
    pub fn set_flush_sleep(&self, usec: u64) {
        self.shared.flush_sleep.store(usec, Ordering::Relaxed);
    }

    /// Writes out (and fsyncs) what is buffered.
    pub fn flush(&self) {
        self.shared.flush(true);
    }

    /// INFO persistence's AOF fields.
    pub fn info(&self, s: &mut String) {
        let running = self.rewriting.load(Ordering::Relaxed);
        let cur = if running { self.started.lock().map_or(-1, |t| t.elapsed().as_secs() as i64) } else { -1 };
        let line = |s: &mut String, k: &str, v: String| {
            s.push_str(k);
            s.push(':');
            s.push_str(&v);
            s.push_str("\r\n");
        };
        line(s, "aof_enabled", (self.enabled() as u8).to_string());
        line(s, "aof_rewrite_in_progress", (running as u8).to_string());
        line(s, "aof_rewrite_scheduled", (self.scheduled.load(Ordering::Relaxed) as u8).to_string());
        line(s, "aof_last_rewrite_time_sec", self.last_rewrite_secs.load(Ordering::Relaxed).to_string());
        line(s, "aof_current_rewrite_time_sec", cur.to_string());
        line(
            s,
            "aof_last_bgrewrite_status",
            if self.last_rewrite_ok.load(Ordering::Relaxed) { "ok" } else { "err" }.into(),
        );
        line(s, "aof_rewrites", self.rewrites.load(Ordering::Relaxed).to_string());
        line(s, "aof_rewrites_consecutive_failures", self.failures.load(Ordering::Relaxed).to_string());
        line(s, "aof_last_write_status", if self.shared.failing() { "err" } else { "ok" }.into());
        line(s, "aof_last_cow_size", "0".into());
    }

    /// The fields Redis adds while AOF is on.
    pub fn info_on(&self, s: &mut String) {
        if self.state.load(Ordering::Relaxed) != ON {
            return;
        }
        let size = self.shared.io.lock().size;
        let pending = self.shared.buf.lock().len();
        for (k, v) in [
            ("aof_current_size", size),
            ("aof_base_size", self.rewrite_base_size.load(Ordering::Relaxed)),
            ("aof_pending_rewrite", self.scheduled.load(Ordering::Relaxed) as u64),
            ("aof_buffer_length", pending as u64),
            ("aof_pending_bio_fsync", 0),
            ("aof_delayed_fsync", 0),
        ] {
            s.push_str(&format!("{k}:{v}\r\n"));
        }
    }
}

/// Remembers the server and starts the AOF when `appendonly` is set (called
/// once the server is shared, after loading, before serving): with no AOF
/// files yet a base is written at once from the dataset (Redis's
/// aofOpenIfNeededOnServerStart); then the last incremental file (a new
/// one if none) is opened for appending.
pub fn start(srv: &Arc<Server>) -> Result<(), String> {
    let a = &srv.aof;
    let _ = a.me.set(Arc::downgrade(srv));
    a.fsync_changed(srv);
    if crate::cfg_num!(srv.config, "appendonly") == 0 {
        return Ok(());
    }
    let d = dir(srv);
    std::fs::create_dir_all(&d).map_err(|e| format!("Can't open or create append-only dir {}: {e}", d.display()))?;
    let mut m = match a.manifest.lock().take() {
        Some(m) => m,
        None => match std::fs::read_to_string(manifest_path(srv)) {
            Ok(t) => Manifest::parse(&t)?,
            Err(_) => Manifest::default(),
        },
    };
    let locked = srv.keyspace.lock_all();
    if m.base.is_none() && m.incrs.is_empty() {
        let name = m.new_base(&prefix(srv), preamble_on(srv));
        write_base_sync(srv, &locked, &d.join(&name)).map_err(|e| format!("Can't write the AOF base {name}: {e}"))?;
        tracing::info!("Creating AOF base file {name} on server start");
    }
    let incr = match m.last_incr() {
        Some(n) => n.to_string(),
        None => m.new_incr(&prefix(srv)),
    };
    let fd = open_append(&d.join(&incr)).map_err(|e| format!("Can't open the append-only file {incr}: {e}"))?;
    persist_manifest(srv, &m).map_err(|e| format!("Can't persist the AOF manifest: {e}"))?;
    let size: u64 = m.load_order().iter().map(|f| file_size(&d.join(&f.name))).sum();
    {
        let mut io = a.shared.io.lock();
        io.fd = Some(fd);
        io.size = size;
    }
    a.rewrite_base_size.store(size, Ordering::Relaxed);
    delete_history(srv, &mut m);
    *a.manifest.lock() = Some(m);
    attach_sink(srv);
    a.state.store(ON, Ordering::SeqCst);
    drop(locked);
    Ok(())
}

/// Attaches the sink (every shard held by the caller, or before serving)
/// and starts the writer thread if needed.
fn attach_sink(srv: &Arc<Server>) {
    let a = &srv.aof;
    a.shared.stop.store(false, Ordering::SeqCst);
    srv.feed.attach(Box::new(Sink { shared: a.shared.clone(), selected: None, last_ts: 0 }));
    let mut w = a.writer.lock();
    if w.as_ref().is_some_and(|h| !h.is_finished()) {
        return;
    }
    let shared = a.shared.clone();
    let weak = Arc::downgrade(srv);
    *w = std::thread::Builder::new()
        .name("aof-writer".into())
        .spawn(move || loop {
            {
                let mut b = shared.buf.lock();
                // Connections write before their replies; this thread
                // writes what is left (background deletions) and fsyncs
                // once a second (everysec), and retries failed writes.
                if !shared.stop.load(Ordering::SeqCst) {
                    shared.wake.wait_for(&mut b, Duration::from_millis(1000));
                }
            }
            shared.flush(false);
            if shared.stop.load(Ordering::SeqCst) || weak.strong_count() == 0 {
                shared.flush(true);
                return;
            }
        })
        .ok();
}

/// Writes the whole dataset (the caller holds every shard) as an RDB base
/// file at `path`, synchronously.
fn write_base_sync(srv: &Server, locked: &Locked<'_>, path: &Path) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = crate::persist::RdbFile::create_at(tmp.to_string_lossy().into_owned())?;
    let t = if preamble_on(srv) {
        crate::persist::write_all_shards(srv, locked, &mut f, true)?;
        f.finish(crate::persist::checksum_on(srv))?
    } else {
        f.put(&commands_preamble(srv))?;
        for i in 0..srv.keyspace.nshards() {
            if let Some(s) = locked.shard_at_ref(i) {
                f.put(&shard_commands(s).0)?;
            }
        }
        f.finish_raw()?
    };
    std::fs::rename(t, path)
}

/// Deletes the history files and drops them from the manifest (on disk
/// too), as Redis's aofDelHistoryFiles.
fn delete_history(srv: &Server, m: &mut Manifest) {
    if m.history.is_empty() {
        return;
    }
    let d = dir(srv);
    for f in m.history.drain(..) {
        let _ = std::fs::remove_file(d.join(&f.name));
    }
    if let Err(e) = persist_manifest(srv, m) {
        tracing::warn!("Can't persist the AOF manifest: {e}");
    }
}

/// Stops the AOF (CONFIG SET appendonly no, shutdown): flushes and fsyncs,
/// detaches the sink, stops a rewrite.
pub fn stop(srv: &Server) {
    let a = &srv.aof;
    if a.state.swap(OFF, Ordering::SeqCst) == OFF {
        return;
    }
    a.cancel.store(true, Ordering::SeqCst);
    srv.feed.detach(|s| s.target() == crate::propagate::AOF);
    a.shared.flush(true);
    a.shared.stop.store(true, Ordering::SeqCst);
    a.shared.wake.notify_all();
    a.shared.io.lock().fd = None;
    // What could not be written goes with the file; a later AOF starts
    // from a new base without the old error.
    {
        let mut b = a.shared.buf.lock();
        b.clear();
        a.shared.written.store(a.shared.appended.load(Ordering::Relaxed), Ordering::Relaxed);
    }
    a.shared.write_failed.store(false, Ordering::Relaxed);
    a.shared.fsync_failed.store(false, Ordering::Relaxed);
}

/// CONFIG SET appendonly yes at run time: the AOF is on once a rewrite has
/// written its first base (the caller holds every shard).
pub fn turn_on(srv: &Server, locked: &Locked<'_>) -> Result<(), String> {
    let a = &srv.aof;
    if a.state.load(Ordering::SeqCst) != OFF {
        return Ok(());
    }
    a.fsync_changed(srv);
    a.state.store(WAIT_REWRITE, Ordering::SeqCst);
    match rewrite_locked(srv, locked) {
        Ok(_) => Ok(()),
        Err(e) => {
            a.state.store(OFF, Ordering::SeqCst);
            Err(e)
        }
    }
}

/// CONFIG SET appendonly yes where no snapshot can start now (inside EXEC,
/// which holds shards, or while another snapshot runs): the rewrite that
/// turns the AOF on starts as soon as possible (the save cron).
pub fn turn_on_later(srv: &Server) {
    let a = &srv.aof;
    if a.state.load(Ordering::SeqCst) != OFF {
        return;
    }
    a.fsync_changed(srv);
    a.state.store(WAIT_REWRITE, Ordering::SeqCst);
    a.scheduled.store(true, Ordering::Relaxed);
    tracing::warn!(
        "AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible."
    );
}

/// What BGREWRITEAOF did.
pub enum Rewrite {
    Started,
    Scheduled,
}

/// BGREWRITEAOF with every shard held: see the module docs. Scheduled while
/// a BGSAVE runs.
pub fn rewrite_locked(srv: &Server, locked: &Locked<'_>) -> Result<Rewrite, String> {
    let a = &srv.aof;
    let Some(me) = a.me.get().and_then(|w| w.upgrade()) else {
        return Err("the AOF is not available".into());
    };
    if a.rewriting.load(Ordering::SeqCst) {
        return Err("Background append only file rewriting already in progress".into());
    }
    if srv.persist.snapshot_busy.load(Ordering::SeqCst) {
        a.scheduled.store(true, Ordering::Relaxed);
        return Ok(Rewrite::Scheduled);
    }
    let d = dir(srv);
    std::fs::create_dir_all(&d).map_err(|e| e.to_string())?;
    let waiting = a.state.load(Ordering::SeqCst) == WAIT_REWRITE;
    let mut mg = a.manifest.lock();
    let mut m = mg.clone().unwrap_or_default();
    // The new incremental file starts now: what was written before is in
    // the snapshot.
    let incr = m.new_incr(&prefix(srv));
    let fd = open_append(&d.join(&incr)).map_err(|e| e.to_string())?;
    if !waiting {
        persist_manifest(srv, &m).map_err(|e| e.to_string())?;
    }
    a.shared.flush(true);
    {
        let mut io = a.shared.io.lock();
        io.fd = Some(fd);
        io.unsynced = false;
    }
    if waiting {
        attach_sink(&me);
    } else {
        // The new file starts with its own SELECT.
        srv.feed.with_sinks(|sinks| {
            for s in sinks.iter_mut().filter(|s| s.target() == crate::propagate::AOF) {
                *s.selected() = None;
            }
        });
    }
    *mg = Some(m);
    drop(mg);
    let tmp = d.join(format!("temp-rewriteaof-bg-{}.aof", std::process::id()));
    let f = crate::persist::RdbFile::create_at(tmp.to_string_lossy().into_owned()).map_err(|e| e.to_string())?;
    a.cancel.store(false, Ordering::SeqCst);
    a.scheduled.store(false, Ordering::Relaxed);
    a.rewriting.store(true, Ordering::SeqCst);
    *a.started.lock() = Some(Instant::now());
    a.started_ms.store(crate::server::unix_ms(), Ordering::Relaxed);
    let cancelled =
        Arc::new(|srv: &Server| srv.aof.cancel.load(Ordering::SeqCst) || srv.shutting_down.load(Ordering::Relaxed));
    let form = if preamble_on(srv) { crate::persist::Form::AofRdb } else { crate::persist::Form::AofCommands };
    let r = crate::persist::start_snapshot(srv, locked, form, f, cancelled, Box::new(rewrite_done));
    match r {
        Ok(()) => {
            tracing::info!("Background append only file rewriting started");
            Ok(Rewrite::Started)
        }
        Err(e) => {
            a.rewriting.store(false, Ordering::SeqCst);
            Err(e)
        }
    }
}

/// The end of a rewrite: the snapshot becomes the base, older files history.
fn rewrite_done(srv: &Arc<Server>, r: Result<String, String>) {
    let a = &srv.aof;
    let secs = a.started.lock().take().map_or(0, |t| t.elapsed().as_secs() as i64);
    a.last_rewrite_secs.store(secs, Ordering::Relaxed);
    let cancelled = a.cancel.load(Ordering::SeqCst) || a.state.load(Ordering::SeqCst) == OFF;
    let ok = match r {
        Ok(tmp) if !cancelled => {
            let d = dir(srv);
            let mut mg = a.manifest.lock();
            let mut m = mg.clone().unwrap_or_default();
            let name = m.new_base(&prefix(srv), preamble_on(srv));
            m.incrs_to_history();
            let r = std::fs::rename(&tmp, d.join(&name)).and_then(|()| persist_manifest(srv, &m));
            match r {
                Ok(()) => {
                    delete_history(srv, &mut m);
                    let size: u64 = m.load_order().iter().map(|f| file_size(&d.join(&f.name))).sum();
                    a.shared.io.lock().size = size;
                    a.rewrite_base_size.store(size, Ordering::Relaxed);
                    *mg = Some(m);
                    true
                }
                Err(e) => {
                    tracing::warn!("Error trying to rename the temporary AOF base file: {e}");
                    let _ = std::fs::remove_file(&tmp);
                    false
                }
            }
        }
        Ok(tmp) => {
            let _ = std::fs::remove_file(tmp);
            false
        }
        Err(e) => {
            if e != "cancelled" {
                tracing::warn!("Background AOF rewrite error: {e}");
            }
            false
        }
    };
    if ok {
        a.rewrites.fetch_add(1, Ordering::Relaxed);
        a.failures.store(0, Ordering::Relaxed);
        a.last_rewrite_ok.store(true, Ordering::Relaxed);
        let _ = a.state.compare_exchange(WAIT_REWRITE, ON, Ordering::SeqCst, Ordering::SeqCst);
        tracing::info!("Background AOF rewrite finished successfully");
    } else if !cancelled {
        a.failures.fetch_add(1, Ordering::Relaxed);
        a.last_rewrite_ok.store(false, Ordering::Relaxed);
        // Turning the AOF on needs a base: try again (the cron spaces the
        // tries out).
        if a.state.load(Ordering::SeqCst) == WAIT_REWRITE {
            a.scheduled.store(true, Ordering::Relaxed);
        }
    }
    a.rewriting.store(false, Ordering::SeqCst);
}

/// Redis's serverCron part for the AOF (from the save cron thread, no
/// snapshot running): scheduled rewrites and auto-aof-rewrite-percentage.
pub fn cron(srv: &Server) {
    let a = &srv.aof;
    if a.rewriting.load(Ordering::SeqCst) {
        return;
    }
    // After failures, wait a second per failure (at most a minute) between
    // tries, as Redis limits its rewrites.
    let fails = a.failures.load(Ordering::Relaxed).min(60);
    let since = a.started_ms.load(Ordering::Relaxed);
    if fails > 0 && crate::server::unix_ms() - since < fails as i64 * 1000 {
        return;
    }
    let go = if a.scheduled.load(Ordering::Relaxed) {
        true
    } else if a.state.load(Ordering::Relaxed) == ON {
        let pct = crate::cfg_num!(srv.config, "auto-aof-rewrite-percentage");
        let min = crate::cfg_num!(srv.config, "auto-aof-rewrite-min-size").max(0) as u64;
        let size = a.shared.io.lock().size;
        let base = a.rewrite_base_size.load(Ordering::Relaxed).max(1);
        pct > 0 && size > min && (size - base.min(size)) * 100 / base >= pct as u64
    } else {
        false
    };
    if go {
        let busy = || srv.scripting.busy.running();
        if let Some(locked) = srv.keyspace.lock_all_unless(&busy) {
            if let Err(e) = rewrite_locked(srv, &locked) {
                tracing::warn!("Can't rewrite the append only file: {e}");
                a.failures.fetch_add(1, Ordering::Relaxed);
                a.started_ms.store(crate::server::unix_ms(), Ordering::Relaxed);
            }
        }
    }
}

// ------------------------------------------------------------ loading

/// Reads the AOF at startup when `appendonly` is on, into an empty server.
/// Absent files are no error (the AOF starts empty, `start` writes a base).
/// An old single-file AOF in `dir` is taken as the base, as Redis upgrades.
/// There are AOF files for `load_at_start` to read.
pub fn files_exist(srv: &Server) -> bool {
    manifest_path(srv).exists() || PathBuf::from(prefix(srv)).exists()
}

pub fn load_at_start(srv: &Server) -> Result<bool, String> {
    let d = dir(srv);
    let m = match std::fs::read_to_string(manifest_path(srv)) {
        Ok(t) => Manifest::parse(&t)?,
        Err(_) => {
            let old = PathBuf::from(prefix(srv));
            if !old.exists() {
                return Ok(false);
            }
            std::fs::create_dir_all(&d).map_err(|e| e.to_string())?;
            let mut m = Manifest::default();
            m.base = Some(FileInfo { name: prefix(srv), seq: 1, kind: b'b' });
            m.base_seq = 1;
            std::fs::rename(&old, d.join(prefix(srv))).map_err(|e| e.to_string())?;
            persist_manifest(srv, &m).map_err(|e| e.to_string())?;
            tracing::info!("Successfully migrated an old-style AOF into the AOF directory");
            m
        }
    };
    let t = Instant::now();
    let total = m.load_order().iter().map(|f| file_size(&d.join(&f.name))).sum();
    let _loading = srv.loading.begin(srv, total);
    load_files(srv, &m)?;
    tracing::info!("DB loaded from append only file: {:.3} seconds", t.elapsed().as_secs_f64());
    *srv.aof.manifest.lock() = Some(m);
    srv.aof.loaded.store(true, Ordering::Relaxed);
    Ok(true)
}

/// Loads every file of `m` in order (each with every shard held).
fn load_files(srv: &Server, m: &Manifest) -> Result<(), String> {
    let d = dir(srv);
    let files = m.load_order();
    let mut done = 0u64;
    for (i, f) in files.iter().enumerate() {
        let last = i + 1 == files.len();
        let path = d.join(&f.name);
        srv.loading.set_base(done);
        done += file_size(&path);
        // Mapped read-only, as RDB files are: no second copy in memory.
        let map = crate::persist::Mapped::open(&path.to_string_lossy())
            .map_err(|e| format!("Fatal error: can't open the append log file {} for reading: {e}", f.name))?;
        let data = map.bytes();
        if data.is_empty() {
            continue;
        }
        let mut start = 0;
        if data.starts_with(b"REDIS") {
            let mut funcs = srv.scripting.functions.lock();
            let mut locked = srv.keyspace.lock_all();
            let r = crate::persist::load_locked(srv, &mut locked, &mut funcs, &data, false)
                .map_err(|e| format!("Error reading the RDB base file {}, AOF loading aborted: {e}", f.name))?;
            drop((locked, funcs));
            if r.consumed >= data.len() {
                continue;
            }
            start = r.consumed;
            srv.loading.set_base(done - data.len() as u64 + start as u64);
            // An old single-file AOF: commands follow its RDB preamble.
            tracing::info!("Reading the remaining AOF tail...");
        }
        match replay(srv, &data[start..]).map_err(|e| e.shifted(start)) {
            Ok(_) => {}
            Err(Replay::Truncated(valid)) => {
                if !last {
                    return Err(format!("Unexpected end of file reading the append only file {}", f.name));
                }
                if crate::cfg_num!(srv.config, "aof-load-truncated") == 0 {
                    return Err(format!(
                        "Unexpected end of file reading the append only file {}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.",
                        f.name
                    ));
                }
                tracing::warn!("!!! Warning: short read while loading the AOF file {}!!!", f.name);
                tracing::warn!("!!! Truncating the AOF {} at offset {valid} !!!", f.name);
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .and_then(|fd| fd.set_len(valid as u64))
                    .map_err(|e| format!("Error truncating the AOF file {}: {e}", f.name))?;
                tracing::warn!("AOF {} loaded anyway because aof-load-truncated is enabled", f.name);
            }
            Err(Replay::Unknown(name)) => {
                return Err(format!("Unknown command '{name}' reading the append only file {}", f.name));
            }
            Err(Replay::Bad(at)) => {
                return Err(format!(
                    "Bad file format reading the append only file {} (offset {at}): make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>",
                    f.name
                ));
            }
        }
    }
    Ok(())
}

impl Replay {
    /// Offsets relative to a tail starting at `by`.
    fn shifted(self, by: usize) -> Replay {
        match self {
            Replay::Truncated(v) => Replay::Truncated(v + by),
            Replay::Bad(v) => Replay::Bad(v + by),
            u => u,
        }
    }
}

/// Why a replay stopped early.
#[derive(Debug, PartialEq)]
pub enum Replay {
    /// The data ends inside a command (or a MULTI without EXEC): the
    /// offset where the last whole command (outside MULTI) ends.
    Truncated(usize),
    /// Not a command at this offset.
    Bad(usize),
    /// A command Hematite does not know.
    Unknown(String),
}

/// One command of AOF data at `at`: Ok(None) at a clean end, Err(true)
/// when cut short, Err(false) for a bad format.
fn next_command(data: &[u8], at: &mut usize, argv: &mut Vec<std::ops::Range<usize>>) -> Result<bool, bool> {
    argv.clear();
    loop {
        if *at >= data.len() {
            return Ok(false);
        }
        // Annotations (#TS:...) are lines of their own.
        if data[*at] == b'#' {
            match data[*at..].iter().position(|&b| b == b'\n') {
                Some(n) => {
                    *at += n + 1;
                    continue;
                }
                None => return Err(true),
            }
        }
        break;
    }
    let line = |at: &mut usize, lead: u8| -> Result<i64, bool> {
        if *at >= data.len() {
            return Err(true);
        }
        if data[*at] != lead {
            return Err(false);
        }
        let Some(n) = data[*at..].iter().position(|&b| b == b'\n') else { return Err(true) };
        let text = &data[*at + 1..*at + n];
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        let v = std::str::from_utf8(text).ok().and_then(|s| s.parse::<i64>().ok()).ok_or(false)?;
        *at += n + 1;
        Ok(v)
    };
    let n = line(at, b'*')?;
    if n < 1 {
        return Err(false);
    }
    for _ in 0..n {
        let len = line(at, b'$')?;
        if len < 0 {
            return Err(false);
        }
        let end = *at + len as usize;
        if end + 2 > data.len() {
            return Err(true);
        }
        argv.push(*at..end);
        *at = end + 2;
    }
    Ok(true)
}

/// Runs AOF commands with every shard held, as a client of its own; MULTI and EXEC only mark where whole transactions end.
pub fn replay(srv: &Server, data: &[u8]) -> Result<u64, Replay> {
    let info = Arc::new(crate::client::ClientInfo::new(u64::MAX - 1, None, None, 0));
    let mut client = crate::client::Client::new(info, true);
    // Keys are taken as the file has them (a TTL in the past is set, not
    // acted on), as a replica takes its master's stream.
    client.master = true;
    let mut out = resp::Out::new(resp::Protocol::Resp2);
    let locked = srv.keyspace.lock_all();
    let ping = crate::commands::registry().get(b"ping").expect("ping").spec;
    let mut ctx = Ctx::new(srv, &mut client, &mut out, locked, srv.clock.now_ms(), ping);
    ctx.nested = true;
    // Nothing loaded is propagated again (DEBUG LOADAOF runs with the AOF
    // on).
    ctx.prop_target = 0;
    let (mut at, mut valid, mut in_multi, mut n) = (0usize, 0usize, false, 0u64);
    let mut ranges = Vec::new();
    let r = loop {
        let start = at;
        match next_command(data, &mut at, &mut ranges) {
            Ok(false) => break if in_multi { Err(Replay::Truncated(valid)) } else { Ok(n) },
            Err(true) => break Err(Replay::Truncated(valid)),
            Err(false) => break Err(Replay::Bad(start)),
            Ok(true) => {}
        }
        let argv: Vec<&[u8]> = ranges.iter().map(|r| &data[r.clone()]).collect();
        if argv[0].eq_ignore_ascii_case(b"multi") {
            in_multi = true;
            continue;
        }
        if argv[0].eq_ignore_ascii_case(b"exec") {
            in_multi = false;
            valid = at;
            continue;
        }
        let Ok(entry) = crate::dispatch::resolve(&argv) else {
            break Err(Replay::Unknown(String::from_utf8_lossy(argv[0]).into_owned()));
        };
        ctx.now_ms = srv.clock.now_ms();
        crate::dispatch::execute_locked(&mut ctx, entry, &argv);
        ctx.out.clear();
        ctx.effects = Default::default();
        ctx.pending = Default::default();
        srv.loading.progress(at);
        n += 1;
        if !in_multi {
            valid = at;
        }
    };
    r
}

/// DEBUG LOADAOF: flushes the AOF, empties the keyspace and loads the AOF
/// files back (the command holds every shard).
pub fn debug_loadaof(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let srv = ctx.srv;
    if srv.aof.state.load(Ordering::SeqCst) != ON {
        return Ok(());
    }
    srv.aof.flush();
    let m = srv.aof.manifest.lock().clone().ok_or("no AOF manifest")?;
    let dirty = srv.dirty.load(Ordering::Relaxed);
    crate::commands::server::clear_db(ctx, None, false);
    srv.dirty.store(dirty, Ordering::Relaxed);
    {
        let Some(mut funcs) = srv.scripting.functions.try_lock() else {
            return Err("busy".into());
        };
        crate::scripting::functions::clear_all(srv, &mut funcs);
    }
    // Other clients get LOADING meanwhile, as from Redis.
    let d = dir(srv);
    let _loading = srv.loading.begin(srv, m.load_order().iter().map(|f| file_size(&d.join(&f.name))).sum());
    // The load takes every shard itself (with a client of its own), then
    // the command takes them back.
    ctx.locked = srv.keyspace.lock_none();
    let r = load_files(srv, &m);
    ctx.locked = srv.keyspace.lock_all();
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_keeps_its_bytes_until_one_works() {
        let a = Aof::default();
        let sh = &a.shared;
        sh.io.lock().fd = Some(std::fs::OpenOptions::new().append(true).open("/dev/full").unwrap());
        sh.buf.lock().extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
        sh.flush(false);
        assert!(sh.failing());
        assert_eq!(a.misconf(), "MISCONF Errors writing to the AOF file: No space left on device");
        // Not on yet: nothing is refused.
        assert!(!a.failing());
        a.state.store(ON, Ordering::SeqCst);
        assert!(a.failing());
        sh.buf.lock().extend_from_slice(b"more");
        let path = std::env::temp_dir().join(format!("hematite-aof-unit-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        sh.io.lock().fd = Some(open_append(&path).unwrap());
        sh.flush(false);
        assert!(!a.failing());
        assert_eq!(std::fs::read(&path).unwrap(), b"*1\r\n$4\r\nPING\r\nmore");
        assert_eq!(sh.io.lock().size, 18);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn manifest_round_trip() {
        let text = "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\nfile appendonly.aof.2.incr.aof seq 2 type i\n";
        let mut m = Manifest::parse(text).unwrap();
        assert_eq!(m.render(), text);
        assert_eq!(m.new_incr("appendonly.aof"), "appendonly.aof.3.incr.aof");
        assert_eq!(m.new_base("appendonly.aof", true), "appendonly.aof.2.base.rdb");
        m.incrs_to_history();
        assert_eq!(
            m.render(),
            "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.1.base.rdb seq 1 type h\nfile appendonly.aof.1.incr.aof seq 1 type h\nfile appendonly.aof.2.incr.aof seq 2 type h\nfile appendonly.aof.3.incr.aof seq 3 type i\n"
        );
        assert!(Manifest::parse("").is_err());
        assert!(Manifest::parse("file a seq x type b\n").is_err());
        assert!(Manifest::parse("file a/b seq 1 type b\n").is_err());
        assert!(Manifest::parse("file a seq 2 type i\nfile b seq 1 type i\n").is_err());
        let q = Manifest::parse("file \"a b\" seq 1 type b\n").unwrap();
        assert_eq!(q.base.unwrap().name, "a b");
    }

    #[test]
    fn commands_and_cuts() {
        let data = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n#TS:123\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
        let (mut at, mut argv) = (0, Vec::new());
        assert_eq!(next_command(data, &mut at, &mut argv), Ok(true));
        assert_eq!(next_command(data, &mut at, &mut argv), Ok(true));
        assert_eq!(&data[argv[2].clone()], b"v");
        assert_eq!(next_command(data, &mut at, &mut argv), Ok(false));
        for cut in 1..data.len() {
            let (mut at, mut ok) = (0, 0);
            loop {
                match next_command(&data[..cut], &mut at, &mut argv) {
                    Ok(true) => ok += 1,
                    Ok(false) => break,
                    Err(t) => {
                        assert!(t, "cut at {cut} is a short read");
                        break;
                    }
                }
            }
            assert!(ok <= 2);
        }
        let mut at = 0;
        assert_eq!(next_command(b"SET k v\r\n", &mut at, &mut argv), Err(false));
    }
}

// ------------------------------------------------------------ command form

/// At most this many items per command of a rewrite (Redis's
/// AOF_REWRITE_ITEMS_PER_CMD).
const ITEMS_PER_CMD: usize = 64;

fn id_text(id: types::stream::StreamId) -> String {
    format!("{}-{}", id.ms, id.seq)
}

/// Writes `head` then `items` (each `per` arguments long) in commands of at
/// most ITEMS_PER_CMD items.
fn batched(out: &mut Vec<u8>, head: &[&[u8]], items: &[Vec<u8>], per: usize) {
    for chunk in items.chunks(ITEMS_PER_CMD * per) {
        let mut argv: Vec<&[u8]> = head.to_vec();
        argv.extend(chunk.iter().map(|v| v.as_slice()));
        crate::propagate::encode(out, &argv);
    }
}

/// One key as the commands that rebuild it (Redis's rewriteAppendOnlyFile
/// without RDB preamble), its TTL as PEXPIREAT.
pub fn key_commands(out: &mut Vec<u8>, key: &[u8], e: &crate::storage::Entry) {
    use crate::propagate::encode;
    use crate::storage::Value;
    let mut ib = itoa::Buffer::new();
    match &e.value {
        Value::Str(s) => encode(out, &[b"SET".as_slice(), key, s.as_bytes(&mut ib)]),
        Value::List(l) => {
            let mut items = Vec::with_capacity(l.len());
            let mut c = l.iter();
            while let Some(v) = c.next() {
                items.push(v.to_vec());
            }
            batched(out, &[b"RPUSH", key], &items, 1);
        }
        Value::Set(s) => {
            let items: Vec<Vec<u8>> = s.iter().map(|m| m.as_bytes(&mut ib).to_vec()).collect();
            batched(out, &[b"SADD", key], &items, 1);
        }
        Value::ZSet(z) => {
            let mut items = Vec::with_capacity(z.len() * 2);
            for (m, sc) in z.iter() {
                items.push(resp::fmt_g17(sc).into_bytes());
                items.push(m.to_vec());
            }
            batched(out, &[b"ZADD", key], &items, 2);
        }
        Value::Hash(h) => {
            let mut items = Vec::with_capacity(h.len() * 2);
            let mut ttls = Vec::new();
            let mut c = h.cursor();
            while let Some((f, v)) = c.next_pair() {
                items.push(f.to_vec());
                items.push(v.to_vec());
                if let types::hash::FieldTtl::At(t) = h.ttl(f) {
                    ttls.push((f.to_vec(), t));
                }
            }
            batched(out, &[b"HMSET", key], &items, 2);
            for (f, t) in ttls {
                let t = t.to_string();
                encode(out, &[b"HPEXPIREAT".as_slice(), key, t.as_bytes(), b"FIELDS", b"1", &f]);
            }
        }
        Value::Stream(s) => stream_commands(out, key, s),
    }
    if e.expire_at != crate::storage::NO_EXPIRE {
        let t = e.expire_at.to_string();
        encode(out, &[b"PEXPIREAT".as_slice(), key, t.as_bytes()]);
    }
}

/// A stream as XADDs (or an empty one by XADD MAXLEN 0), XSETID, and its
/// groups: XGROUP CREATE, XCLAIM per pending entry (FORCE JUSTID), XGROUP
/// CREATECONSUMER for consumers with nothing pending, as Redis 7.0.
fn stream_commands(out: &mut Vec<u8>, key: &[u8], s: &types::stream::Stream) {
    use crate::propagate::encode;
    if s.len > 0 {
        for node in s.node_views() {
            for (flags, e) in &node.entries {
                if flags & types::stream::DELETED != 0 {
                    continue;
                }
                let id = id_text(e.id);
                let mut argv: Vec<&[u8]> = vec![b"XADD", key, id.as_bytes()];
                for (f, v) in &e.fields {
                    argv.push(f);
                    argv.push(v);
                }
                encode(out, &argv);
            }
        }
    } else {
        let id = id_text(s.last_id);
        encode(out, &[b"XADD".as_slice(), key, b"MAXLEN", b"0", id.as_bytes(), b"x", b"y"]);
    }
    let (last, added, maxdel) = (id_text(s.last_id), s.entries_added.to_string(), id_text(s.max_deleted));
    encode(
        out,
        &[
            b"XSETID".as_slice(),
            key,
            last.as_bytes(),
            b"ENTRIESADDED",
            added.as_bytes(),
            b"MAXDELETEDID",
            maxdel.as_bytes(),
        ],
    );
    for (name, g) in &s.groups {
        let (gid, read) = (id_text(g.last_id), g.entries_read.to_string());
        encode(out, &[b"XGROUP".as_slice(), b"CREATE", key, name, gid.as_bytes(), b"ENTRIESREAD", read.as_bytes()]);
        for (cname, c) in &g.consumers {
            if c.pel.is_empty() {
                encode(out, &[b"XGROUP".as_slice(), b"CREATECONSUMER", key, name, cname]);
                continue;
            }
            for id in &c.pel {
                let Some(nack) = g.pel.get(id) else { continue };
                let (idt, time, count) =
                    (id_text(*id), nack.delivery_time.to_string(), nack.delivery_count.to_string());
                encode(
                    out,
                    &[
                        b"XCLAIM".as_slice(),
                        key,
                        name,
                        cname,
                        b"0",
                        idt.as_bytes(),
                        b"TIME",
                        time.as_bytes(),
                        b"RETRYCOUNT",
                        count.as_bytes(),
                        b"JUSTID",
                        b"FORCE",
                    ],
                );
            }
        }
    }
}

/// A shard in command form: a SELECT per non-empty database, then its
/// keys. Returns the bytes and the number of keys.
pub fn shard_commands(s: &crate::storage::Shard) -> (Vec<u8>, u64) {
    let mut out = Vec::new();
    let mut n = 0;
    for (d, db) in s.dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        crate::propagate::encode(&mut out, &[b"SELECT".as_slice(), d.to_string().as_bytes()]);
        for (k, e) in db.map.iter() {
            key_commands(&mut out, k, e);
            n += 1;
        }
    }
    (out, n)
}

/// The start of a command-form base: a `#TS` annotation (with
/// aof-timestamp-enabled), then the function libraries.
pub fn commands_preamble(srv: &Server) -> Vec<u8> {
    let mut out = Vec::new();
    if crate::cfg_num!(srv.config, "aof-timestamp-enabled") != 0 {
        out.extend_from_slice(format!("#TS:{}\r\n", crate::server::unix_ms() / 1000).as_bytes());
    }
    for code in srv.scripting.lib_codes.lock().iter() {
        crate::propagate::encode(&mut out, &[b"FUNCTION".as_slice(), b"LOAD", code]);
    }
    out
}
