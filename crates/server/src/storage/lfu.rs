//! Access frequency counters for the LFU maxmemory policies.
//!
//! Under an LFU policy an entry's 24-bit access field (`Entry::lru`) holds
//! Redis's layout instead of an LRU clock: the high 16 bits are the minute of
//! the last decrement (unix minutes mod 65536), the low 8 bits a logarithmic
//! counter. A new key starts at `INIT`; each access first decays the counter
//! by one per `lfu-decay-time` minutes elapsed, then increments it with
//! probability `1 / ((counter - INIT) * lfu-log-factor + 1)`, so it saturates
//! at 255 only after about a million accesses (with the default factor 10).

/// The counter of a new key (so new keys are not evicted at once).
pub const INIT: u32 = 5;

/// Unix minutes modulo 2^16, the clock of the decay.
pub fn minutes(now_ms: i64) -> u32 {
    ((now_ms / 1000 / 60) & 0xffff) as u32
}

/// The access field of a new key.
pub fn new_field(now_ms: i64) -> u32 {
    (minutes(now_ms) << 8) | INIT
}

fn elapsed(last: u32, now: u32) -> u32 {
    if now >= last {
        now - last
    } else {
        65535 - last + now
    }
}

/// The counter after the decay due since its last access (OBJECT FREQ).
pub fn decayed(field: u32, now_ms: i64, decay_time: i64) -> u32 {
    let (last, counter) = (field >> 8 & 0xffff, field & 0xff);
    let periods = if decay_time > 0 { elapsed(last, minutes(now_ms)) as i64 / decay_time } else { 0 };
    if periods > counter as i64 {
        0
    } else {
        counter - periods as u32
    }
}

/// One logarithmic increment; `r` is a uniform draw in [0, 1).
pub fn log_incr(counter: u32, log_factor: i64, r: f64) -> u32 {
    if counter >= 255 {
        return 255;
    }
    let base = counter.saturating_sub(INIT) as f64;
    let p = 1.0 / (base * log_factor as f64 + 1.0);
    if r < p {
        counter + 1
    } else {
        counter
    }
}

/// The access field after one access at `now_ms`.
pub fn touched(field: u32, now_ms: i64, log_factor: i64, decay_time: i64) -> u32 {
    let c = log_incr(decayed(field, now_ms, decay_time), log_factor, rand::random::<f64>());
    (minutes(now_ms) << 8) | c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters() {
        let t0 = 1_700_000_000_000;
        let f = new_field(t0);
        assert_eq!(decayed(f, t0, 1), INIT);
        // The first increments above INIT are certain, later ones rarer.
        assert_eq!(log_incr(INIT, 10, 0.99), INIT + 1);
        assert_eq!(log_incr(INIT + 1, 10, 0.5), INIT + 1);
        assert_eq!(log_incr(INIT + 1, 10, 0.05), INIT + 2);
        assert_eq!(log_incr(255, 10, 0.0), 255);
        // One point per decay period, never below zero.
        assert_eq!(decayed(f, t0 + 3 * 60_000, 1), INIT - 3);
        assert_eq!(decayed(f, t0 + 3 * 60_000, 2), INIT - 1);
        assert_eq!(decayed(f, t0 + 30 * 60_000, 1), 0);
        assert_eq!(decayed(f, t0 + 30 * 60_000, 0), INIT);
        assert_eq!(touched(f, t0, 10, 1), f + 1);
    }

    #[test]
    fn minute_clock_wraps() {
        assert_eq!(elapsed(65530, 4), 9);
        assert_eq!(elapsed(4, 10), 6);
    }
}
