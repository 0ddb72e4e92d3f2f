//! Shutting down with replicas attached, as Redis 7 does: before the final
//! save and exit, writes are paused, the replicas are asked for their
//! offsets (REPLCONF GETACK), and the shutdown waits until every replica
//! has acknowledged the whole stream or `shutdown-timeout` seconds have
//! passed. SHUTDOWN ABORT cancels the wait (the SHUTDOWN gets an error and
//! the server goes on); SHUTDOWN ... NOW skips it.
//!
//! A signal's shutdown is handled by the server's cron in Redis; while the
//! cron is paused (DEBUG PAUSE-CRON) it stays pending, and SHUTDOWN ABORT
//! drops it. `Shutdown::pending` models that.

use crate::server::Server;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[derive(Default)]
pub struct Shutdown {
    /// Waiting for replicas (Redis's isShutdownInitiated).
    initiated: AtomicBool,
    /// SHUTDOWN ABORT asked the wait to end.
    abort: AtomicBool,
    /// Unix ms when the wait ends anyway (INFO shutdown_in_milliseconds).
    deadline_ms: std::sync::atomic::AtomicI64,
    /// A signal asked for a shutdown that has not started (Redis's
    /// shutdown_asap while the cron is paused).
    pending: AtomicBool,
}

/// Why a shutdown did not go on.
#[derive(Debug, PartialEq)]
pub struct Aborted;

/// Every replica acknowledged the whole stream (or there is none).
fn replicas_in_sync(srv: &Server) -> bool {
    let off = srv.repl.stream.offset();
    srv.repl.replicas().iter().all(|r| r.ack.load(Ordering::Relaxed) == off)
}

impl Shutdown {
    /// A signal's shutdown: while the cron is paused it waits (pending);
    /// Err if SHUTDOWN ABORT dropped it meanwhile.
    pub fn signal_pending(&self, srv: &Server) -> Result<(), Aborted> {
        self.pending.store(true, Ordering::SeqCst);
        while srv.cron_paused.load(Ordering::Relaxed) && self.pending.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(10));
        }
        if self.pending.swap(false, Ordering::SeqCst) {
            Ok(())
        } else {
            Err(Aborted)
        }
    }

    /// Lets the replicas catch up before a shutdown (see the module docs).
    /// Blocks the calling thread (a blocking section).
    pub fn wait_for_replicas(&self, srv: &Server, now: bool) -> Result<(), Aborted> {
        let timeout = crate::cfg_num!(srv.config, "shutdown-timeout");
        if now || timeout <= 0 || replicas_in_sync(srv) {
            log_replicas(srv);
            return Ok(());
        }
        if self.initiated.swap(true, Ordering::SeqCst) {
            // Another SHUTDOWN already waits: this one shares its outcome.
            while self.initiated.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(10));
            }
            return Err(Aborted);
        }
        self.abort.store(false, Ordering::SeqCst);
        let clients_paused = srv.pause.holds(srv.clock.now_ms(), true);
        srv.pause.shutdown.store(true, Ordering::SeqCst);
        srv.pause.changed.notify_waiters();
        if !clients_paused {
            srv.repl.request_acks(srv);
        }
        self.deadline_ms.store(crate::server::unix_ms() + timeout * 1000, Ordering::SeqCst);
        tracing::warn!("Waiting for replicas before shutting down.");
        let deadline = Instant::now() + Duration::from_secs(timeout as u64);
        loop {
            if self.abort.swap(false, Ordering::SeqCst) {
                self.cancel(srv);
                return Err(Aborted);
            }
            if replicas_in_sync(srv) || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        log_replicas(srv);
        Ok(())
    }

    /// The shutdown did not happen (aborted, or its save failed): writes
    /// go on.
    pub fn cancel(&self, srv: &Server) {
        srv.pause.shutdown.store(false, Ordering::SeqCst);
        srv.pause.changed.notify_waiters();
        self.initiated.store(false, Ordering::SeqCst);
    }

    /// While waiting for replicas: milliseconds left before the shutdown
    /// goes on anyway.
    pub fn remaining_ms(&self) -> Option<i64> {
        self.initiated
            .load(Ordering::SeqCst)
            .then(|| (self.deadline_ms.load(Ordering::SeqCst) - crate::server::unix_ms()).max(0))
    }

    /// SHUTDOWN ABORT: false if no shutdown is waiting or pending.
    pub fn abort(&self) -> bool {
        let done = if self.initiated.load(Ordering::SeqCst) {
            self.abort.store(true, Ordering::SeqCst);
            true
        } else {
            self.pending.swap(false, Ordering::SeqCst)
        };
        if done {
            tracing::warn!("Shutdown manually aborted.");
        }
        done
    }
}

/// An AOF being turned on (its first rewrite running) stops a shutdown
/// unless FORCE, as Redis's finishShutdown.
pub fn aof_allows_exit(srv: &Server, force: bool) -> bool {
    if srv.aof.state.load(Ordering::SeqCst) != crate::aof::WAIT_REWRITE {
        return true;
    }
    if force {
        tracing::warn!("Writing initial AOF. Exit anyway.");
        return true;
    }
    tracing::warn!("Writing initial AOF, can't exit.");
    tracing::warn!("Errors trying to shut down the server. Check the logs for more information.");
    false
}

/// Redis's finishShutdown lines about replicas.
fn log_replicas(srv: &Server) {
    let replicas = srv.repl.replicas();
    if replicas.is_empty() {
        return;
    }
    let off = srv.repl.stream.offset();
    let now = crate::server::unix_ms();
    let mut lagging = 0;
    for r in &replicas {
        let ack = r.ack.load(Ordering::Relaxed);
        if ack != off {
            lagging += 1;
            let online = r.state.load(Ordering::Relaxed) == crate::replication::ONLINE;
            let lag = if online { (now - r.last_ack_ms.load(Ordering::Relaxed)) / 1000 } else { 0 };
            tracing::warn!(
                "Lagging replica {}:{} reported offset {} behind master, lag={lag}, state={}.",
                r.ip,
                r.port.load(Ordering::Relaxed),
                off.saturating_sub(ack),
                if online { "online" } else { "wait_bgsave" }
            );
        }
    }
    tracing::warn!("{} of {} replicas are in sync when shutting down.", replicas.len() - lagging, replicas.len());
}
