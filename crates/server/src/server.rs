//! The state every connection shares: keyspace, settings, clients, counters.

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
        let real = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        real + self.offset_ms.load(Ordering::Relaxed)
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
            &self.total_error_replies,
            &self.unexpected_error_replies,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

pub struct Server {
    pub keyspace: Keyspace,
    pub config: Config,
    pub clients: ClientRegistry,
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
    /// The port actually bound (useful when configured as 0).
    pub port: AtomicU64,
    pub run_id: String,
    /// Keys under WATCH (see `txn`).
    pub watches: crate::txn::Watches,
    /// Lua engines, script cache, function libraries, busy-script state.
    pub scripting: crate::scripting::Scripting,
}

impl Server {
    pub fn new(config: Config) -> Self {
        let ndb = config.get_num("databases").max(1) as usize;
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let clock = Clock::default();
        let started_unix = clock.now_ms() / 1000;
        let run_id: String = (0..40).map(|_| format!("{:x}", rand::random::<u8>() % 16)).collect();
        Server {
            keyspace: Keyspace::new(ndb, (cores * 16).max(64)),
            config,
            clients: ClientRegistry::default(),
            stats: Stats::default(),
            clock,
            started: Instant::now(),
            started_unix,
            lastsave: AtomicI64::new(started_unix),
            dirty: AtomicU64::new(0),
            shutting_down: AtomicBool::new(false),
            shutdown_notify: Notify::new(),
            port: AtomicU64::new(0),
            run_id,
            watches: Default::default(),
            scripting: Default::default(),
        }
    }

    /// The LRU clock: seconds since start, as stored in each entry.
    pub fn lru_clock(&self) -> u32 {
        self.started.elapsed().as_secs() as u32
    }

    pub fn request_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        self.shutdown_notify.notify_waiters();
        self.clients.kill_all();
    }
}
