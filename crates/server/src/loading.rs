//! Loading a dataset while clients are connected: at startup (RDB file or
//! AOF) and on a replica taking its master's snapshot. While `active`,
//! commands without the `loading` flag get Redis's LOADING error (see
//! dispatch), and INFO persistence shows the progress as Redis does.
//!
//! The loaders report the bytes read after each key or command
//! (`progress`), which also applies `key-load-delay` (Redis's test knob to
//! slow a load down: microseconds per key; negative N sleeps 1 µs with
//! probability 1/|N|).

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

/// The refusal while loading (Redis's shared.loadingerr).
pub const LOADING_ERR: &str = "LOADING Redis is loading the dataset in memory";

#[derive(Default)]
pub struct Loading {
    /// A load is running and clients are refused (INFO loading:1).
    pub active: AtomicBool,
    /// Unix seconds when it started.
    start: AtomicI64,
    /// Bytes to load (0 when unknown).
    total: AtomicU64,
    /// Bytes read so far.
    loaded: AtomicU64,
    /// Bytes of the files read before the current one (AOF).
    base: AtomicU64,
    /// key-load-delay, read when the load began.
    delay: AtomicI64,
    /// The `used-mem` aux field of the RDB being loaded.
    pub rdb_used_mem: AtomicU64,
}

/// Ends the loading state when dropped (also when the load fails).
pub struct Guard<'a>(&'a Loading);

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.0.active.store(false, Ordering::SeqCst);
        self.0.delay.store(0, Ordering::Relaxed);
    }
}

impl Loading {
    /// Starts a load of `total` bytes that clients see (LOADING replies).
    pub fn begin(&self, srv: &crate::server::Server, total: u64) -> Guard<'_> {
        self.prepare(srv, total);
        self.active.store(true, Ordering::SeqCst);
        Guard(self)
    }

    /// Resets the progress for a load clients do not see (DEBUG RELOAD,
    /// DEBUG LOADAOF: they hold every shard, so others wait instead).
    pub fn prepare(&self, srv: &crate::server::Server, total: u64) {
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        self.start.store(now, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
        self.loaded.store(0, Ordering::Relaxed);
        self.base.store(0, Ordering::Relaxed);
        self.rdb_used_mem.store(0, Ordering::Relaxed);
        self.delay.store(crate::cfg_num!(srv.config, "key-load-delay"), Ordering::Relaxed);
    }

    /// The next bytes reported belong to a file that starts `base` bytes
    /// into the load.
    pub fn set_base(&self, base: u64) {
        self.base.store(base, Ordering::Relaxed);
    }

    /// `pos` bytes of the current file are read (after a key or command).
    pub fn progress(&self, pos: usize) {
        self.loaded.store(self.base.load(Ordering::Relaxed) + pos as u64, Ordering::Relaxed);
        let d = self.delay.load(Ordering::Relaxed);
        if d != 0 {
            delay(d);
        }
    }

    /// INFO persistence's loading_* lines (only while loading).
    pub fn info(&self, s: &mut String) {
        use std::fmt::Write;
        if !self.active.load(Ordering::Relaxed) {
            return;
        }
        let (total, loaded) = (self.total.load(Ordering::Relaxed), self.loaded.load(Ordering::Relaxed));
        let (perc, remaining) = progress_figures(total, loaded);
        let start = self.start.load(Ordering::Relaxed);
        let used_memory = self.rdb_used_mem.load(Ordering::Relaxed);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(start);
        let elapsed = (now - start).max(0);
        let eta = if elapsed == 0 { 1 } else { (elapsed as u128 * remaining as u128 / (loaded as u128 + 1)) as i64 };
        let _ = write!(
            s,
            "loading_start_time:{start}\r\nloading_total_bytes:{total}\r\nloading_rdb_used_mem:{used_memory}\r\nloading_loaded_bytes:{loaded}\r\nloading_loaded_perc:{perc:.2}\r\nloading_eta_seconds:{eta}\r\n"
        );
    }
}

/// (percent done, bytes left) as Redis computes them for INFO.
fn progress_figures(total: u64, loaded: u64) -> (f64, u64) {
    if total == 0 {
        return (0.0, 1);
    }
    (loaded as f64 / total as f64 * 100.0, total.saturating_sub(loaded))
}

/// Redis's debugDelay.
fn delay(usec: i64) {
    let usec = if usec < 0 { u64::from(rand::random::<u64>() % usec.unsigned_abs() == 0) } else { usec as u64 };
    if usec > 0 {
        std::thread::sleep(std::time::Duration::from_micros(usec));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures() {
        assert_eq!(progress_figures(0, 0), (0.0, 1));
        assert_eq!(progress_figures(200, 50), (25.0, 150));
        assert_eq!(progress_figures(100, 120).1, 0);
    }
}
