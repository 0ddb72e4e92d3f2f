//! The state every connection shares: keyspace, settings, clients, counters.

use crate::blocking::Blocking;
use crate::client::ClientRegistry;
use crate::config::Config;
use crate::storage::Keyspace;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;

/// Wall-clock time in milliseconds, with an offset tests can move forward
/// (so expiry is tested without sleeping).
#[derive(Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    pub fn now_ms(&self) -> i64 {
        Self::real_ms() + self.offset_ms.load(Ordering::Relaxed)
    }

    /// Unix milliseconds, without the offset tests add.
    pub fn real_ms() -> i64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
    }

    /// `now_ms` at the batch clock's mark, without reading the clock.
    pub fn at_mark(&self, b: &crate::client::BatchClock) -> i64 {
        b.base_ms + (ticks::nanos(b.base, b.mark) / 1_000_000) as i64 + self.offset_ms.load(Ordering::Relaxed)
    }

    pub fn now_us(&self) -> i64 {
        let real = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0);
        real + self.offset_ms.load(Ordering::Relaxed) * 1000
    }

    /// Moves the clock forward (tests only ever move it forward).
    pub fn advance_ms(&self, ms: i64) {
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

/// A monotonic tick counter for timing commands: the processor's time-stamp
/// counter where it is invariant (a few cycles to read, against ~20 ns for
/// `clock_gettime` under a hypervisor), else the OS's monotonic clock; ticks
/// become nanoseconds only when a duration is needed. Calibrated once, when
/// the first server starts (up to 200 ms).
pub mod ticks {
    use std::sync::OnceLock;

    static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();

    #[inline]
    fn clock() -> &'static quanta::Clock {
        CLOCK.get_or_init(quanta::Clock::new)
    }

    /// Calibrates the counter now rather than in the first command.
    pub fn init() {
        clock();
    }

    /// The current tick.
    #[inline]
    pub fn now() -> u64 {
        clock().raw()
    }

    /// Nanoseconds from tick `from` to tick `to` (0 if `to` is not later).
    #[inline]
    pub fn nanos(from: u64, to: u64) -> u64 {
        clock().delta_as_nanos(from, to)
    }
}

/// Counters reported by INFO stats.
#[derive(Default)]
pub struct Stats {
    pub connections_received: AtomicU64,
    pub commands_processed: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub expired_keys: AtomicU64,
    pub evicted_keys: AtomicU64,
    pub keyspace_hits: AtomicU64,
    pub keyspace_misses: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    pub net_repl_input_bytes: AtomicU64,
    pub net_repl_output_bytes: AtomicU64,
    pub total_error_replies: AtomicU64,
    pub unexpected_error_replies: AtomicU64,
}

impl Stats {
    pub fn reset(&self) {
        for c in [
            &self.connections_received,
            &self.commands_processed,
            &self.rejected_connections,
            &self.expired_keys,
            &self.evicted_keys,
            &self.keyspace_hits,
            &self.keyspace_misses,
            &self.net_input_bytes,
            &self.net_output_bytes,
            &self.net_repl_input_bytes,
            &self.net_repl_output_bytes,
            &self.total_error_replies,
            &self.unexpected_error_replies,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// Per-command counters for INFO commandstats, indexed by
/// `commands::Entry::index`. Plain relaxed atomics: one add per call; each
/// command's counters have their own cache line, so two commands running on
/// two cores do not fight over one.
#[derive(Default)]
#[repr(align(64))]
pub struct CmdStat {
    pub calls: AtomicU64,
    pub usec: AtomicU64,
    /// Refused before running (arity, authentication, pause rules...).
    pub rejected: AtomicU64,
    /// Ran and replied with an error.
    pub failed: AtomicU64,
    /// Latency histogram (INFO latencystats), allocated on first use.
    pub hist: std::sync::OnceLock<Box<[AtomicU64]>>,
}

impl CmdStat {
    /// Records one call's latency (Redis's hdr_histogram layout, see
    /// `latency::hist`).
    pub fn record(&self, ns: u64) {
        let h = self.hist.get_or_init(|| (0..crate::latency::hist::SLOTS).map(|_| AtomicU64::new(0)).collect());
        h[crate::latency::hist::slot(ns)].fetch_add(1, Ordering::Relaxed);
    }

    /// The histogram's counts (None if nothing was ever recorded).
    pub fn hist_counts(&self) -> Option<Vec<u64>> {
        Some(self.hist.get()?.iter().map(|c| c.load(Ordering::Relaxed)).collect())
    }

    /// The latency (ns) at percentile `p` (0..=100); None without samples.
    pub fn percentile(&self, p: f64) -> Option<u64> {
        crate::latency::hist::percentile(&self.hist_counts()?, p)
    }
}

pub struct CommandStats {
    pub per: Box<[CmdStat]>,
    /// Error replies by their code (the first word), for INFO errorstats.
    pub errors: parking_lot::Mutex<std::collections::BTreeMap<String, u64>>,
}

impl CommandStats {
    fn new() -> Self {
        let n = crate::commands::registry().entries.len();
        CommandStats { per: (0..n).map(|_| CmdStat::default()).collect(), errors: Default::default() }
    }

    /// Counts one error reply by its code: the text before the first space
    /// when one comes within 32 bytes, else "ERR" (Redis's afterErrorReply).
    pub fn error(&self, msg: &str) {
        let head = &msg.as_bytes()[..msg.len().min(32)];
        let code = match head.iter().position(|&c| c == b' ') {
            Some(i) => &msg[..i],
            None => "ERR",
        };
        let mut m = self.errors.lock();
        if let Some(n) = m.get_mut(code) {
            *n += 1;
        } else if m.len() < 128 {
            // Redis stops adding new codes past 128 (a flood of odd codes).
            m.insert(code.to_string(), 1);
        }
    }

    pub fn reset(&self) {
        for c in self.per.iter() {
            for a in [&c.calls, &c.usec, &c.rejected, &c.failed] {
                a.store(0, Ordering::Relaxed);
            }
            if let Some(h) = c.hist.get() {
                h.iter().for_each(|b| b.store(0, Ordering::Relaxed));
            }
        }
        self.errors.lock().clear();
    }
}

/// CLIENT PAUSE state: until when, and whether only writes wait.
#[derive(Default)]
pub struct Pause {
    /// Unix ms until which clients are paused (0: not paused).
    pub until_ms: AtomicI64,
    /// True: only write commands wait (WRITE); false: all commands (ALL).
    pub writes_only: AtomicBool,
    /// Woken on CLIENT UNPAUSE or a new pause.
    pub changed: Notify,
    /// Writes wait while a shutdown waits for replicas (not lifted by
    /// CLIENT UNPAUSE).
    pub shutdown: AtomicBool,
    /// Writes wait while FAILOVER runs (not lifted by CLIENT UNPAUSE).
    pub failover: AtomicBool,
}

impl Pause {
    /// True if, at `now_ms`, a command must wait: every command in an ALL
    /// pause, only writes (or commands that may replicate) in a WRITE pause.
    /// EXEC asks with `writes` = whether its queue holds such a command.
    pub fn holds(&self, now_ms: i64, writes: bool) -> bool {
        let until = self.until_ms.load(Ordering::Relaxed);
        (until != 0 && now_ms < until && (writes || !self.writes_only.load(Ordering::Relaxed)))
            || (writes && (self.shutdown.load(Ordering::Relaxed) || self.failover.load(Ordering::Relaxed)))
    }

    /// Some pause may be on (a cheap first check).
    #[inline]
    pub fn any(&self) -> bool {
        self.until_ms.load(Ordering::Relaxed) != 0
            || self.shutdown.load(Ordering::Relaxed)
            || self.failover.load(Ordering::Relaxed)
    }
}

/// The LRU clock's value when the server starts (seconds; about 48 days).
pub const LRU_BASE: i64 = 1 << 22;

pub struct Server {
    pub keyspace: Keyspace,
    pub config: Config,
    pub clients: ClientRegistry,
    /// Client eviction (maxmemory-clients).
    pub client_mem: crate::clientmem::ClientMem,
    pub stats: Stats,
    pub clock: Clock,
    /// Monotonic start, for uptime.
    pub started: Instant,
    /// Unix seconds at start.
    pub started_unix: i64,
    /// Unix seconds of the last successful save (LASTSAVE).
    pub lastsave: AtomicI64,
    /// Writes since the last save.
    pub dirty: AtomicU64,
    /// Set when the server should stop; `shutdown_notify` wakes the listener.
    pub shutting_down: AtomicBool,
    pub shutdown_notify: Notify,
    /// The addresses listened on, each with its accept loop's stop flag
    /// (CONFIG SET port / bind keep, add and stop listeners);
    /// `listen_change` wakes the accept loops to check their flag.
    pub listeners: parking_lot::Mutex<Vec<(std::net::SocketAddr, std::sync::Arc<std::sync::atomic::AtomicBool>)>>,
    pub listen_change: Notify,
    /// The port actually bound (useful when configured as 0).
    pub port: AtomicU64,
    pub run_id: String,
    pub cmdstats: CommandStats,
    pub pause: Pause,
    /// DEBUG SET-ACTIVE-EXPIRE: the background expiry cycle runs.
    pub active_expire: AtomicBool,
    /// DEBUG SET-DISABLE-DENY-SCRIPTS: scripts may call no-script commands.
    pub deny_scripts_disabled: AtomicBool,
    /// DEBUG PAUSE-CRON: the periodic jobs (active expiry, clients cron)
    /// skip their work.
    pub cron_paused: AtomicBool,
    /// DEBUG QUICKLIST-PACKED-THRESHOLD: list elements this big or bigger
    /// are plain quicklist nodes in DUMP payloads and DEBUG OBJECT.
    pub packed_threshold: std::sync::atomic::AtomicUsize,
    /// INFO's master_replid; DEBUG CHANGE-REPL-ID draws a new one.
    pub replid: parking_lot::Mutex<String>,
    /// The peak of `used_memory` seen by INFO.
    pub peak_memory: AtomicU64,
    /// DEBUG SET-SKIP-CHECKSUM-VALIDATION: RESTORE payloads and RDB files
    /// are not checked against their CRC64.
    pub skip_checksum: AtomicBool,
    /// A dataset being loaded while clients are served (LOADING replies).
    pub loading: crate::loading::Loading,
    /// A shutdown waiting for replicas, or a signal's pending shutdown.
    pub shutdown: crate::shutdown::Shutdown,
    /// used_memory when the server was built (INFO used_memory_startup).
    pub startup_memory: AtomicU64,
    /// Clients blocked on keys (blocking.rs).
    pub blocking: Blocking,
    /// Keys under WATCH (see `txn`).
    pub watches: crate::txn::Watches,
    /// Lua engines, script cache, function libraries, busy-script state.
    pub scripting: crate::scripting::Scripting,
    /// Pub/sub subscriptions and delivery.
    pub pubsub: crate::pubsub::PubSub,
    /// Client-side caching: tracked keys and tracking clients.
    pub tracking: crate::tracking::Tracking,
    /// maxmemory: the eviction pool and the memory accounting (evict.rs).
    pub evictor: crate::evict::Evictor,
    /// The background freeing thread (lazyfree.rs).
    pub lazyfree: crate::lazyfree::LazyFree,
    /// RDB snapshots (persist.rs).
    pub persist: crate::persist::Persist,
    /// Users and the ACL log (acl.rs).
    pub acl: crate::acl::Acl,
    /// MIGRATE's cached connections.
    pub migrate_cache: crate::commands::dump::MigrateCache,
    /// SLOWLOG entries (cmdlog.rs).
    pub slowlog: crate::cmdlog::SlowLog,
    /// Clients in MONITOR mode (cmdlog.rs).
    pub monitors: crate::cmdlog::Monitors,
    /// The latency monitor's events (latency.rs).
    pub latency: crate::latency::Monitor,
    /// The stream of writes for AOF and replication (propagate.rs).
    pub feed: crate::propagate::Feed,
    /// The append-only file (aof.rs).
    pub aof: crate::aof::Aof,
    /// Replication, master and replica sides (replication.rs).
    pub repl: crate::replication::Repl,
}

impl Server {
    pub fn new(config: Config) -> Self {
        let ndb = config.get_num("databases").max(1) as usize;
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let clock = Clock::default();
        let started_unix = clock.now_ms() / 1000;
        let run_id: String = (0..40).map(|_| format!("{:x}", rand::random::<u8>() % 16)).collect();
        let srv = Server {
            keyspace: Keyspace::new(ndb, (cores * 16).max(64)),
            config,
            clients: ClientRegistry::default(),
            client_mem: Default::default(),
            stats: Stats::default(),
            clock,
            started: {
                ticks::init();
                Instant::now()
            },
            started_unix,
            lastsave: AtomicI64::new(started_unix),
            dirty: AtomicU64::new(0),
            shutting_down: AtomicBool::new(false),
            shutdown_notify: Notify::new(),
            listeners: Default::default(),
            listen_change: Notify::new(),
            port: AtomicU64::new(0),
            run_id: run_id.clone(),
            cmdstats: CommandStats::new(),
            pause: Pause::default(),
            active_expire: AtomicBool::new(true),
            deny_scripts_disabled: AtomicBool::new(false),
            cron_paused: AtomicBool::new(false),
            packed_threshold: std::sync::atomic::AtomicUsize::new(crate::rdb::DEFAULT_PACKED_THRESHOLD),
            replid: parking_lot::Mutex::new(run_id),
            peak_memory: AtomicU64::new(0),
            startup_memory: AtomicU64::new(0),
            skip_checksum: AtomicBool::new(false),
            loading: Default::default(),
            shutdown: Default::default(),
            blocking: Blocking::default(),
            watches: Default::default(),
            scripting: Default::default(),
            pubsub: Default::default(),
            tracking: Default::default(),
            evictor: Default::default(),
            lazyfree: Default::default(),
            persist: Default::default(),
            acl: Default::default(),
            migrate_cache: Default::default(),
            slowlog: Default::default(),
            monitors: Default::default(),
            latency: Default::default(),
            feed: Default::default(),
            aof: Default::default(),
            repl: Default::default(),
        };
        // requirepass is the default user's password.
        let pass = srv.config.get_text("requirepass").unwrap_or_default();
        srv.acl.set_requirepass(pass.as_bytes());
        srv.startup_memory.store(crate::evict::used_memory(&srv), Ordering::Relaxed);
        srv
    }

    /// The LRU clock: seconds since start, as stored in each entry.
    /// It follows the server clock (as Redis's follows unixtime), so tests
    /// that advance the clock see keys grow idle.
    pub fn lru_clock(&self) -> u32 {
        self.lru_clock_at(self.clock.now_ms())
    }

    /// The LRU clock at `now_ms` (a command's frozen time: no clock read).
    pub fn lru_clock_at(&self, now_ms: i64) -> u32 {
        // Starts at LRU_BASE, not 0, so an idle time older than the server
        // (RESTORE ... IDLETIME) can still be represented.
        (now_ms / 1000 - self.started_unix + LRU_BASE).clamp(0, u32::MAX as i64) as u32
    }

    /// The access field of a new key at `now_ms`: the LRU clock, or a fresh
    /// LFU counter under an LFU policy.
    pub fn new_access(&self, now_ms: i64) -> u32 {
        if self.config.lfu() {
            crate::storage::lfu::new_field(now_ms)
        } else {
            self.lru_clock_at(now_ms)
        }
    }

    /// The access field of a key accessed at `now_ms` (Redis's LRU clock
    /// update, or updateLFU).
    pub fn touched_access(&self, old: u32, now_ms: i64) -> u32 {
        if self.config.lfu() {
            let (factor, decay) =
                (crate::cfg_num!(self.config, "lfu-log-factor"), crate::cfg_num!(self.config, "lfu-decay-time"));
            crate::storage::lfu::touched(old, now_ms, factor, decay)
        } else {
            self.lru_clock_at(now_ms)
        }
    }

    pub fn request_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        // What the AOF buffered is written and synced before exiting.
        crate::aof::stop(self);
        self.shutdown_notify.notify_waiters();
        self.clients.kill_all();
        self.lazyfree.stop();
    }
}

/// Wall-clock milliseconds since the Unix epoch.
pub fn unix_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
