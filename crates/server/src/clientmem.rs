//! Client eviction (`maxmemory-clients`), as Redis 7.0 does it.
//!
//! Every connection's memory is its own state and buffers (query buffer,
//! reply buffer, queued transaction, watched keys, subscriptions, tracking
//! prefixes: `own_mem`, computed by its task) plus the output waiting for
//! it (mailbox and unwritten replies, `ClientInfo::omem`). CLIENT LIST shows
//! the sum as `tot-mem`. When the limit is on, the sums are also reported
//! into one server-wide total, and once the total reaches the limit the
//! largest clients are disconnected, biggest size class first, until it is
//! below again (Redis's evictClients, with its power-of-two buckets).
//! Clients with CLIENT NO-EVICT on count but are never chosen.
//!
//! Reports come from the client's own task (after a read, after each
//! command, before waiting on a slow socket, when mail arrives), from
//! PUBLISH for each receiver, and, for other output queued for a client
//! while it is stuck, from the clients cron, every 100 ms while the limit
//! is on. With the limit off
//! nothing is reported and the task only refreshes `own_mem` once per
//! batch, for CLIENT LIST.

use crate::client::{Client, ClientInfo};
use crate::server::Server;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// A connection's fixed cost: its two state structures and the task.
const BASE: usize = std::mem::size_of::<Client>() + std::mem::size_of::<ClientInfo>() + 512;
/// Per watched key, per subscription, per tracking prefix (the entries
/// of the server-wide tables they add besides the client's own).
const PER_WATCH: usize = 64;
const PER_SUB: usize = 96;
const PER_PREFIX: usize = 64;
/// Redis's client memory buckets: up to 32 KiB, then one per power of
/// two, the last for everything above 4 GiB.
const BUCKET_MIN_LOG: u32 = 15;
const BUCKET_MAX_LOG: u32 = 33;

/// The server-wide side.
#[derive(Default)]
pub struct ClientMem {
    /// Sum of the memory last reported by every client.
    total: AtomicUsize,
    /// Held by the one thread evicting.
    evicting: Mutex<()>,
    /// INFO `evicted_clients`.
    pub evicted: AtomicU64,
}

/// The limit in bytes, 0 when client eviction is off (Redis's
/// getClientEvictionLimit): a percentage is of `maxmemory` (off while that
/// is 0), and a limit under 128 KiB counts as 128 KiB, so a mistake cannot
/// lock everyone out.
pub fn limit(srv: &Server) -> usize {
    let v = crate::cfg_num!(srv.config, "maxmemory-clients");
    let bytes = if v < 0 {
        let max = srv.config.maxmemory();
        if max == 0 {
            return 0;
        }
        (max as f64 * (-v) as f64 / 100.0) as u64
    } else if v > 0 {
        v as u64
    } else {
        return 0;
    };
    usize::try_from(bytes).unwrap_or(usize::MAX).max(128 * 1024)
}

/// The size class of `mem` (0 for up to 32 KiB).
pub fn bucket(mem: usize) -> u32 {
    (usize::BITS - mem.leading_zeros()).clamp(BUCKET_MIN_LOG, BUCKET_MAX_LOG) - BUCKET_MIN_LOG
}

/// The room an empty query or reply buffer is counted for: what it is
/// about to shrink to (the clients cron takes back an empty buffer's extra
/// room, a reply buffer is trimmed after big replies), as Redis counts its
/// buffers after a big argument or reply has been handed over.
const EMPTY_BUF: usize = 16 * 1024;

/// Recomputes what the connection holds itself (its task calls this).
/// `qbuf` / `out` are the buffers' (used, allocated) bytes.
pub fn update_own(client: &Client, qbuf: (usize, usize), out: (usize, usize)) {
    let counted = |(used, cap): (usize, usize)| if used == 0 { cap.min(EMPTY_BUF) } else { cap };
    let (qbuf_cap, out_cap) = (counted(qbuf), counted(out));
    let info = &client.info;
    let subs = info.sub.load(Ordering::Relaxed) + info.psub.load(Ordering::Relaxed) + info.ssub.load(Ordering::Relaxed);
    let mem = BASE
        + qbuf_cap
        + out_cap
        + client.multi.as_ref().map_or(0, |m| m.mem())
        + client.watch.keys.len() * PER_WATCH
        + client.tracking.prefixes.len() * PER_PREFIX
        + subs * PER_SUB;
    info.own_mem.store(mem, Ordering::Relaxed);
}

impl ClientMem {
    /// Puts the client's current memory into the total; returns the total.
    pub fn report(&self, info: &ClientInfo) -> usize {
        let mem = info.tot_mem();
        let old = info.mem_reported.swap(mem, Ordering::SeqCst);
        let mut total = self.add(mem, old);
        // Gone meanwhile (see `forget`): take it back out.
        if info.mem_gone.load(Ordering::SeqCst) {
            let back = info.mem_reported.swap(0, Ordering::SeqCst);
            total = self.add(0, back);
        }
        total
    }

    /// Takes a closed or evicted client out of the total.
    pub fn forget(&self, info: &ClientInfo) {
        info.mem_gone.store(true, Ordering::SeqCst);
        let old = info.mem_reported.swap(0, Ordering::SeqCst);
        self.add(0, old);
    }

    fn add(&self, new: usize, old: usize) -> usize {
        if new >= old {
            self.total.fetch_add(new - old, Ordering::SeqCst) + (new - old)
        } else {
            self.total.fetch_sub(old - new, Ordering::SeqCst) - (old - new)
        }
    }

    /// The reported total (INFO, tests).
    pub fn total(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    /// Disconnects clients, largest size class first, while the total is
    /// at or above `limit`. One thread at a time; another one finding the
    /// work taken leaves it to that thread.
    pub fn evict(&self, srv: &Server, limit: usize) {
        if limit == 0 || self.total() < limit {
            return;
        }
        let Some(_one) = self.evicting.try_lock() else { return };
        let mut cands: Vec<(u32, usize, Arc<ClientInfo>)> = srv
            .clients
            .all()
            .into_iter()
            .filter(|c| !c.no_evict.load(Ordering::Relaxed) && !c.killed.load(Ordering::Relaxed))
            .map(|c| {
                let m = c.tot_mem();
                (bucket(m), m, c)
            })
            .collect();
        // Within a class the larger first, then the older.
        cands.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.id.cmp(&b.2.id)));
        for (_, _, c) in cands {
            if self.total() < limit {
                return;
            }
            let mut line = String::new();
            crate::commands::client::describe(&c, srv.clock.now_ms(), &mut line);
            tracing::info!("Evicting client: {line}");
            crate::commands::client::free_now(srv, &c);
            c.drop_mail();
            self.forget(&c);
            self.evicted.fetch_add(1, Ordering::Relaxed);
        }
        if self.total() >= limit {
            tracing::warn!("Over client maxmemory after evicting all evictable clients");
        }
    }

    /// The connection's own check (after a read, after a command, before
    /// waiting to write): recompute, report, evict if over. True if the
    /// connection itself was evicted.
    pub fn check(&self, srv: &Server, client: &Client, qbuf: (usize, usize), out: (usize, usize)) -> bool {
        let limit = limit(srv);
        if limit == 0 {
            return false;
        }
        update_own(client, qbuf, out);
        if self.report(&client.info) >= limit {
            self.evict(srv, limit);
        }
        client.info.killed.load(Ordering::SeqCst)
    }

    /// The clients cron's part: while the limit is on, every client's
    /// latest output backlog is reported (others may have queued output
    /// for a client whose task is stuck writing), then evict if over.
    pub fn cron(&self, srv: &Server) {
        let limit = limit(srv);
        if limit == 0 {
            return;
        }
        for c in srv.clients.all() {
            if !c.killed.load(Ordering::Relaxed) {
                self.report(&c);
            }
        }
        self.evict(srv, limit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_as_redis() {
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(32 * 1024 - 1), 0);
        assert_eq!(bucket(32 * 1024), 1);
        assert_eq!(bucket(64 * 1024), 2);
        assert_eq!(bucket(1 << 40), BUCKET_MAX_LOG - BUCKET_MIN_LOG);
    }

    #[test]
    fn report_and_forget_keep_the_total() {
        let m = ClientMem::default();
        let a = ClientInfo::new(1, None, None, 0);
        let b = ClientInfo::new(2, None, None, 0);
        a.own_mem.store(1000, Ordering::Relaxed);
        b.own_mem.store(500, Ordering::Relaxed);
        assert_eq!(m.report(&a), 1000);
        assert_eq!(m.report(&b), 1500);
        a.own_mem.store(200, Ordering::Relaxed);
        assert_eq!(m.report(&a), 700);
        m.forget(&a);
        assert_eq!(m.total(), 500);
        // A late report of a forgotten client changes nothing.
        assert_eq!(m.report(&a), 500);
        m.forget(&b);
        m.forget(&b);
        assert_eq!(m.total(), 0);
    }
}
