//! The allocator, counted: INFO's `used_memory` and maxmemory (evict.rs)
//! read how many bytes the process has allocated.
//!
//! Every allocation and free adds to a thread-local sum; once that sum
//! reaches 2 KiB either way it goes to one of 64 cache-line-padded counters
//! picked by the thread, so allocating costs no atomic operation most of the
//! time and threads on different cores do not fight over one cache line;
//! reading sums the counters (lagging by under 2 KiB per thread). The system
//! allocator does the real work.
//!
//! Accounting domains: a thread may be tagged with a domain (1..4096); what
//! it allocates and frees is also counted there. A server started for tests
//! runs on its own threads tagged with its own domain, so several servers in
//! one test process each see their own usage (the whole process's total
//! would move with every other test). Domain 0 (untagged, the real server)
//! costs one branch when a sum is published.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, AtomicU64, AtomicUsize, Ordering};

const SLOTS: usize = 64;

#[repr(align(128))]
struct Slot(AtomicIsize);

#[allow(clippy::declare_interior_mutable_const)]
const ZERO: Slot = Slot(AtomicIsize::new(0));
static COUNTERS: [Slot; SLOTS] = [ZERO; SLOTS];
/// Bit i set: slot i has been counted into (see `account`).
static USED_SLOTS: AtomicU64 = AtomicU64::new(0);

const DOMAINS: usize = 4096;
#[allow(clippy::declare_interior_mutable_const)]
const NONE: AtomicIsize = AtomicIsize::new(0);
static DOMAIN_BYTES: [AtomicIsize; DOMAINS] = [NONE; DOMAINS];
static NEXT_DOMAIN: AtomicUsize = AtomicUsize::new(1);

/// A thread's accounting state: its domain and the bytes it allocated
/// (net) since it last published them.
struct Local {
    domain: Cell<u16>,
    pending: Cell<isize>,
}

thread_local! {
    /// Its address also picks the thread's counter slot.
    static LOCAL: Local = const { Local { domain: Cell::new(0), pending: Cell::new(0) } };
}

/// A thread publishes its allocations to the shared counters once their net
/// sum reaches this many bytes either way (or it stops, or changes domain),
/// so most allocations cost a thread-local add rather than an atomic one.
/// Readers therefore lag by less than this per thread.
const BATCH: isize = 2 * 1024;

/// Adds `delta` bytes to the calling thread's pending sum, publishing it
/// when it has grown past `BATCH`.
#[inline]
fn account(delta: isize) {
    // A thread-local needs no setup (and no allocation, which an allocator
    // must not do); `try_with` fails only while the thread is exiting.
    let due = LOCAL.try_with(|l| {
        let p = l.pending.get() + delta;
        if p > -BATCH && p < BATCH {
            l.pending.set(p);
            return None;
        }
        l.pending.set(0);
        Some((l as *const Local as usize, l.domain.get(), p))
    });
    match due {
        Ok(None) => {}
        Ok(Some((a, d, p))) => publish(a, d, p),
        Err(_) => publish(0, 0, delta),
    }
}

/// Adds `delta` bytes to the counter slot of the thread at address `a` and
/// to domain `d`.
#[cold]
fn publish(a: usize, d: u16, delta: isize) {
    // Fibonacci hashing: thread blocks sit at multiples of large powers of two.
    let i = ((a as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize % SLOTS;
    COUNTERS[i].0.fetch_add(delta, Ordering::Relaxed);
    // Readers sum only the slots in use; the mask is written once per slot.
    if USED_SLOTS.load(Ordering::Relaxed) & (1 << i) == 0 {
        USED_SLOTS.fetch_or(1 << i, Ordering::Relaxed);
    }
    if d != 0 {
        DOMAIN_BYTES[d as usize].fetch_add(delta, Ordering::Relaxed);
    }
}

/// Publishes the calling thread's pending bytes (a thread calls this before
/// it ends; the runtimes do it from `on_thread_stop`).
pub fn flush_thread() {
    let due = LOCAL.try_with(|l| (l as *const Local as usize, l.domain.get(), l.pending.replace(0)));
    if let Ok((a, d, p)) = due {
        if p != 0 {
            publish(a, d, p);
        }
    }
}

pub struct Counting;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            account(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        account(-(layout.size() as isize));
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            account(layout.size() as isize);
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            account(new_size as isize - layout.size() as isize);
        }
        p
    }
}

/// Bytes currently allocated by the process.
pub fn allocated() -> u64 {
    let mut mask = USED_SLOTS.load(Ordering::Relaxed);
    let mut sum: isize = 0;
    while mask != 0 {
        let i = mask.trailing_zeros() as usize;
        sum += COUNTERS[i].0.load(Ordering::Relaxed);
        mask &= mask - 1;
    }
    sum.max(0) as u64
}

/// A fresh accounting domain (1..4096, reused after 4095 servers).
pub fn new_domain() -> u16 {
    let d = (NEXT_DOMAIN.fetch_add(1, Ordering::Relaxed) % (DOMAINS - 1) + 1) as u16;
    DOMAIN_BYTES[d as usize].store(0, Ordering::Relaxed);
    d
}

/// Tags the calling thread with domain `d` (0: none).
pub fn enter_domain(d: u16) {
    flush_thread();
    let _ = LOCAL.try_with(|l| l.domain.set(d));
}

/// The domain the calling thread is tagged with (0: none).
pub fn current_domain() -> u16 {
    LOCAL.try_with(|l| l.domain.get()).unwrap_or(0)
}

/// Bytes allocated (and not freed) by the threads of domain `d`; for 0, by
/// the whole process.
pub fn allocated_in(d: u16) -> u64 {
    if d == 0 {
        return allocated();
    }
    DOMAIN_BYTES[d as usize].load(Ordering::Relaxed).max(0) as u64
}

/// Resident set size in bytes, from /proc/self/statm (0 if unavailable).
pub fn rss() -> u64 {
    let Ok(s) = std::fs::read_to_string("/proc/self/statm") else { return 0 };
    let pages: u64 = s.split_whitespace().nth(1).and_then(|x| x.parse().ok()).unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * page.max(4096) as u64
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_allocations() {
        let before = super::allocated();
        let v: Vec<u8> = Vec::with_capacity(1 << 20);
        assert!(super::allocated() >= before + (1 << 20) - 4096 || super::allocated() > 0);
        drop(v);
        assert!(super::rss() > 0);
    }

    #[test]
    fn domains_count_their_threads_only() {
        let d = super::new_domain();
        let h = std::thread::spawn(move || {
            super::enter_domain(d);
            let v: Vec<u8> = Vec::with_capacity(100_000);
            let inside = super::allocated_in(d);
            drop(v);
            (inside, super::allocated_in(d))
        });
        let (inside, after) = h.join().unwrap();
        assert!((100_000..200_000).contains(&inside), "{inside}");
        assert!(after < 100_000, "{after}");
    }
}
