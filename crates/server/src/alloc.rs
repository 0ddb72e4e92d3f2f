//! The allocator, counted: INFO's `used_memory` (and maxmemory, later) read
//! how many bytes the process has allocated.
//!
//! Every allocation and free adds to one of 64 cache-line-padded counters
//! picked by the calling thread, so threads on different cores do not fight
//! over one cache line; reading sums them. The system allocator does the real
//! work.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

const SLOTS: usize = 64;

#[repr(align(128))]
struct Slot(AtomicIsize);

#[allow(clippy::declare_interior_mutable_const)]
const ZERO: Slot = Slot(AtomicIsize::new(0));
static COUNTERS: [Slot; SLOTS] = [ZERO; SLOTS];

thread_local! {
    static MARK: u8 = const { 0 };
}

#[inline]
fn slot() -> &'static AtomicIsize {
    // The address of a thread-local tells threads apart without any setup
    // (and without allocating, which an allocator must not do).
    let a = MARK.try_with(|m| m as *const u8 as usize).unwrap_or(0);
    // Fibonacci hashing: thread blocks sit at multiples of large powers of two.
    &COUNTERS[((a as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize % SLOTS].0
}

pub struct Counting;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            slot().fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        slot().fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            slot().fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            slot().fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        }
        p
    }
}

/// Bytes currently allocated by the process.
pub fn allocated() -> u64 {
    COUNTERS.iter().map(|s| s.0.load(Ordering::Relaxed)).sum::<isize>().max(0) as u64
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
}
