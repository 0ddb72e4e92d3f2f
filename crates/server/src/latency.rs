//! What the server tells about its own latency: the latency monitor (LATENCY
//! LATEST / HISTORY / GRAPH / DOCTOR / RESET) and the per-command latency
//! histograms (LATENCY HISTOGRAM, INFO latencystats), as Redis 7.0's
//! latency.c, sparkline.c and its use of hdr_histogram.
//!
//! Latency monitor. With `latency-monitor-threshold` at N > 0 ms, a piece of
//! work that took at least N ms is an *event*, filed under a fixed name:
//! `command` (a command not flagged fast), `fast-command` (one flagged
//! fast), `command-unblocking` (serving a client whose blocking command's
//! key became ready), `expire-cycle` (one round of active expiry),
//! `expire-del` (deleting one expired key), `eviction-cycle` (one eviction
//! pass under maxmemory) and `eviction-del` (deleting one evicted key).
//! Redis's other events (fork, AOF and RDB file work, lazy-free waits, the
//! cron while blocked, modules) have no counterpart here and never appear.
//! Each name keeps the last 160 samples of (unix second, ms) in a ring,
//! at most one per second (a second event in the same second keeps the
//! larger latency), and the largest latency seen since it was created.
//! Names appear in the order of their first event; LATENCY RESET deletes
//! them.
//!
//! The monitor costs nothing when off: the cached threshold
//! (`Config::latency_threshold`, µs, `u64::MAX` when off) is compared with
//! the duration the dispatcher measures anyway, and code that times work
//! only for the monitor (`Monitor::start`) reads no clock when it is off.
//! Past the threshold, the events are behind one small mutex.
//!
//! Histograms. Every command's durations are counted in the layout of
//! Redis's hdr_histogram (1 ns to 1 s, two significant digits): 256 exact
//! slots below 256 ns, then 128 slots per power of two, 3072 counters in
//! all, so percentiles (INFO latencystats) and the cumulative buckets of
//! LATENCY HISTOGRAM (at 1024 ns, 2048 ns, ... each reported at the top of
//! its slot) come out as Redis's.

use crate::server::Server;
use parking_lot::Mutex;
use std::fmt::Write as _;

/// The event names (Redis's).
pub mod event {
    pub const COMMAND: &str = "command";
    pub const FAST_COMMAND: &str = "fast-command";
    pub const COMMAND_UNBLOCKING: &str = "command-unblocking";
    pub const EXPIRE_CYCLE: &str = "expire-cycle";
    pub const EXPIRE_DEL: &str = "expire-del";
    pub const EVICTION_CYCLE: &str = "eviction-cycle";
    pub const EVICTION_DEL: &str = "eviction-del";
    pub const EVICTION_LAZYFREE: &str = "eviction-lazyfree";
}

/// Samples kept per event (Redis's LATENCY_TS_LEN).
pub const HISTORY_LEN: usize = 160;

/// One sample: when (unix seconds; 0 marks an unused slot) and how long (ms).
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Sample {
    pub time: i64,
    pub ms: u32,
}

/// The samples of one event name.
pub struct Series {
    pub name: &'static str,
    /// The slot the next new second goes to.
    next: usize,
    /// The largest latency since the series was created.
    pub max: u32,
    ring: Box<[Sample; HISTORY_LEN]>,
}

impl Series {
    fn new(name: &'static str) -> Series {
        Series { name, next: 0, max: 0, ring: Box::new([Sample::default(); HISTORY_LEN]) }
    }

    /// Records `ms` at unix second `now`: one slot per second, the larger
    /// latency winning within a second.
    fn add(&mut self, now: i64, ms: u32) {
        self.max = self.max.max(ms);
        let last = &mut self.ring[(self.next + HISTORY_LEN - 1) % HISTORY_LEN];
        if last.time == now {
            last.ms = last.ms.max(ms);
            return;
        }
        self.ring[self.next] = Sample { time: now, ms };
        self.next = (self.next + 1) % HISTORY_LEN;
    }

    /// The samples, oldest first.
    pub fn samples(&self) -> impl Iterator<Item = Sample> + '_ {
        (0..HISTORY_LEN).map(|j| self.ring[(self.next + j) % HISTORY_LEN]).filter(|s| s.time != 0)
    }

    /// The newest sample.
    pub fn latest(&self) -> Sample {
        self.ring[(self.next + HISTORY_LEN - 1) % HISTORY_LEN]
    }
}

/// The latency monitor's events, in the order they first occurred.
#[derive(Default)]
pub struct Monitor {
    events: Mutex<Vec<Series>>,
}

/// A timing begun by `Monitor::start`: `None` when the monitor is off.
pub type Timing = Option<u64>;

impl Monitor {
    /// Files a sample of `ms` for `name` at unix second `now`.
    pub fn add(&self, name: &'static str, now: i64, ms: u64) {
        let ms = u32::try_from(ms).unwrap_or(u32::MAX);
        let mut g = self.events.lock();
        let i = match g.iter().position(|s| s.name == name) {
            Some(i) => i,
            None => {
                g.push(Series::new(name));
                g.len() - 1
            }
        };
        g[i].add(now, ms);
    }

    /// Files `usec` under `name` if it reaches the threshold.
    pub fn observe(&self, srv: &Server, name: &'static str, usec: u64) {
        if usec >= srv.config.latency_threshold() {
            self.add(name, srv.clock.now_ms().div_euclid(1000), usec / 1000);
        }
    }

    /// Starts timing work watched only by the monitor: reads the clock only
    /// when the monitor is on.
    #[inline]
    pub fn start(srv: &Server) -> Timing {
        (srv.config.latency_threshold() != u64::MAX).then(crate::server::ticks::now)
    }

    /// Ends a timing begun by `start`, filing it under `name` if it reached
    /// the threshold.
    #[inline]
    pub fn end(&self, srv: &Server, name: &'static str, t: Timing) {
        if let Some(t0) = t {
            let usec = crate::server::ticks::nanos(t0, crate::server::ticks::now()) / 1000;
            self.observe(srv, name, usec);
        }
    }

    /// Calls `f` with the events under the monitor's lock.
    pub fn with<R>(&self, f: impl FnOnce(&[Series]) -> R) -> R {
        f(&self.events.lock())
    }

    /// Deletes the events named `name` (any case; all if `None`); returns
    /// how many went.
    pub fn reset(&self, name: Option<&[u8]>) -> usize {
        let mut g = self.events.lock();
        let before = g.len();
        match name {
            None => g.clear(),
            Some(n) => g.retain(|s| !s.name.as_bytes().eq_ignore_ascii_case(n)),
        }
        before - g.len()
    }
}

/// The dispatcher's slow path: a command took `usec`, at least the
/// threshold. Commands run to serve a blocked client are filed by the
/// server as `command-unblocking` instead.
pub fn command_ran(ctx: &crate::ctx::Ctx<'_>, spec: &crate::cmdspec::CommandSpec, usec: u64) {
    if ctx.client.serving {
        return;
    }
    let name = if spec.has(crate::cmdspec::f::FAST) { event::FAST_COMMAND } else { event::COMMAND };
    // Filed at the time it ended, as Redis does (not the command's start).
    ctx.srv.latency.add(name, ctx.srv.clock.now_ms().div_euclid(1000), usec / 1000);
}

// ---------------------------------------------------------------- graph

/// Columns per block of the graph, rows of bars.
const GRAPH_COLS: usize = 80;
const GRAPH_ROWS: usize = 4;
/// Bar tops from lowest to highest (three steps per row); `|` fills below.
const BAR: &[u8; 3] = b"_o#";

/// How long ago `secs` is, as the graph labels it: 12s, 5m, 3h, 2d.
fn ago(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

/// LATENCY GRAPH: a header with the samples' high and low and the all-time
/// high, a rule, then a bar per sample (oldest first) with its age written
/// vertically below, 80 samples per block.
pub fn graph(s: &Series, now: i64) -> String {
    let samples: Vec<Sample> = s.samples().collect();
    let (lo, hi) = samples.iter().fold((u32::MAX, 0), |(lo, hi), x| (lo.min(x.ms), hi.max(x.ms)));
    let lo = if samples.is_empty() { 0 } else { lo };
    let mut out = format!("{} - high {hi} ms, low {lo} ms (all time high {} ms)\n", s.name, s.max);
    out.push_str(&"-".repeat(GRAPH_COLS));
    out.push('\n');
    let bars: Vec<(f64, String)> = samples.iter().map(|x| (x.ms as f64, ago(now - x.time))).collect();
    for (b, block) in bars.chunks(GRAPH_COLS).enumerate() {
        if b > 0 {
            out.push('\n');
        }
        render_block(&mut out, block, lo as f64, hi as f64);
    }
    out
}

/// The rows of one block: bars scaled between `lo` and `hi` over
/// GRAPH_ROWS rows of three steps each, a blank row, then the labels one
/// character per row.
fn render_block(out: &mut String, block: &[(f64, String)], lo: f64, hi: f64) {
    let range = if hi - lo == 0.0 { 1.0 } else { hi - lo };
    let steps = (BAR.len() * GRAPH_ROWS) as i64;
    // Redis truncates the scaled value to an integer before dividing.
    let step_of = |v: f64| ((((v - lo) * steps as f64) as i64) as f64 / range) as i64;
    let steps_of: Vec<i64> = block.iter().map(|(v, _)| step_of(*v).clamp(0, steps - 1)).collect();
    let mut line = vec![b' '; block.len()];
    for row in 0..GRAPH_ROWS {
        line.fill(b' ');
        let base = ((GRAPH_ROWS - row - 1) * BAR.len()) as i64;
        for (c, &step) in line.iter_mut().zip(&steps_of) {
            let k = step - base;
            if k >= BAR.len() as i64 {
                *c = b'|';
            } else if k >= 0 {
                *c = BAR[k as usize];
            }
        }
        push_line(out, &line);
    }
    if block.is_empty() {
        return;
    }
    // One blank row between the bars and the labels.
    line.fill(b' ');
    push_line(out, &line);
    for depth in 0.. {
        let mut any = false;
        line.fill(b' ');
        for (c, (_, label)) in line.iter_mut().zip(block) {
            if let Some(&ch) = label.as_bytes().get(depth) {
                *c = ch;
                any = true;
            }
        }
        if !any {
            break;
        }
        push_line(out, &line);
    }
}

fn push_line(out: &mut String, line: &[u8]) {
    out.push_str(&String::from_utf8_lossy(line));
    out.push('\n');
}

// --------------------------------------------------------------- doctor

/// What the samples of one event amount to (Redis's latencyStats).
#[derive(Debug, Default, PartialEq, Eq)]
struct Summary {
    samples: u64,
    avg: u64,
    /// Mean absolute deviation from `avg`.
    mad: u64,
    /// Seconds from the oldest sample to now (at least 1).
    period: i64,
}

fn summarize(s: &Series, now: i64) -> Summary {
    let v: Vec<Sample> = s.samples().collect();
    if v.is_empty() {
        return Summary::default();
    }
    let n = v.len() as u64;
    let avg = v.iter().map(|x| x.ms as u64).sum::<u64>() / n;
    let mad = v.iter().map(|x| (avg as i64 - x.ms as i64).unsigned_abs()).sum::<u64>() / n;
    let oldest = v.iter().map(|x| x.time).min().unwrap_or(now);
    let period = match now - oldest {
        0 => 1,
        p => p,
    };
    Summary { samples: n, avg, mad, period }
}

/// Advice LATENCY DOCTOR may give, in the order it is given.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Advice {
    SlowlogEnable,
    SlowlogTune,
    SlowlogInspect,
    Scheduler,
    Hz,
    LargeObjects,
    MassEviction,
    DisableThp,
}

/// Settings the doctor's advice depends on.
struct DoctorEnv {
    threshold_ms: i64,
    slowlog_us: i64,
    hz: i64,
    anon_huge_pages: u64,
}

/// Messages Redis gives word for word when there is nothing to report.
const MONITOR_OFF: &str = "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n";
const NO_SPIKES: &str = "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n";

/// LATENCY DOCTOR: one line per event with its statistics, then advice
/// drawn from which events occurred and from the settings.
fn doctor_report(events: &[Series], now: i64, env: &DoctorEnv) -> String {
    if events.is_empty() && env.threshold_ms == 0 {
        return MONITOR_OFF.to_string();
    }
    let mut out = String::new();
    let mut advice: Vec<Advice> = Vec::new();
    // Redis counts advice as it decides on it, also advice it then leaves
    // out (hz already high enough): the count picks the closing text.
    let mut counted = 0;
    let mut give = |a: &[Advice], advice: &mut Vec<Advice>| {
        counted += a.len();
        advice.extend_from_slice(a);
    };
    for (i, s) in events.iter().enumerate() {
        if i == 0 {
            out.push_str("Dave, the latency monitor has recorded the following spikes in this instance.\n\n");
        }
        let sum = summarize(s, now);
        let _ = write!(
            out,
            "{}. {}: {} latency spikes (average {}ms, mean deviation {}ms, period {:.2} sec). Worst all time event {}ms.",
            i + 1,
            s.name,
            sum.samples,
            sum.avg,
            sum.mad,
            sum.period as f64 / sum.samples.max(1) as f64,
            s.max
        );
        match s.name {
            event::COMMAND => {
                if env.slowlog_us < 0 {
                    give(&[Advice::SlowlogEnable], &mut advice);
                } else if env.slowlog_us / 1000 > env.threshold_ms {
                    give(&[Advice::SlowlogTune], &mut advice);
                }
                give(&[Advice::SlowlogInspect, Advice::LargeObjects], &mut advice);
            }
            event::FAST_COMMAND => give(&[Advice::Scheduler], &mut advice),
            event::EXPIRE_CYCLE => give(&[Advice::Hz, Advice::LargeObjects], &mut advice),
            event::EVICTION_DEL => give(&[Advice::LargeObjects], &mut advice),
            event::EVICTION_CYCLE => give(&[Advice::MassEviction], &mut advice),
            _ => {}
        }
        out.push('\n');
    }
    if env.anon_huge_pages > 0 {
        give(&[Advice::DisableThp], &mut advice);
    }
    if events.is_empty() && counted == 0 {
        out.push_str(NO_SPIKES);
        return out;
    }
    if counted == 0 {
        out.push_str("\nThere is no simple remedy for these events. Consider asking the community for help, and include this report.\n");
        return out;
    }
    out.push_str("\nSome suggestions:\n\n");
    advice.sort();
    advice.dedup();
    let sugg_us = env.threshold_ms.saturating_mul(1000);
    for a in advice {
        let line = match a {
            Advice::SlowlogEnable => format!(
                "- Slow commands caused latency spikes, but the slow log is disabled. Turn it on with 'CONFIG SET slowlog-log-slower-than {sugg_us}' to learn which commands they are.\n"
            ),
            Advice::SlowlogTune => format!(
                "- The slow log only records commands slower than the latency monitor threshold. Use 'CONFIG SET slowlog-log-slower-than {sugg_us}' so it records the commands behind these spikes.\n"
            ),
            Advice::SlowlogInspect => "- Look at the slow log (SLOWLOG GET) to find which commands are slow to run; see https://redis.io/commands/slowlog.\n".to_string(),
            Advice::Scheduler => "- Even fast commands were slow, which usually means the server is not getting CPU time when it needs it. You could:\n  1) reduce the load on this system;\n  2) give the server a machine or VM of its own;\n  3) look for other tenants competing for the same hardware;\n  4) measure the system's intrinsic latency with 'redis-cli --intrinsic-latency 100'.\n".to_string(),
            Advice::Hz if env.hz < 100 => "- Expiring keys in smaller steps keeps each expiry cycle short: consider 'CONFIG SET hz 100'.\n".to_string(),
            Advice::Hz => continue,
            Advice::LargeObjects => "- Deleting a large object, whether by a command, by expiry or by eviction, blocks while it is freed. If large objects are deleted often, split them into several smaller ones.\n".to_string(),
            Advice::MassEviction => "- Lowering 'maxmemory' suddenly, or creating large values (set or sorted set intersections, SORT ... STORE, RESTORE) close to the limit, forces the server to evict many keys at once.\n".to_string(),
            Advice::DisableThp => "- The process has transparent huge pages (AnonHugePages), a known cause of latency spikes. Disable them with 'echo never > /sys/kernel/mm/transparent_hugepage/enabled' (also at boot) and restart the server.\n".to_string(),
        };
        out.push_str(&line);
    }
    out
}

/// Bytes of anonymous huge pages mapped by this process (0 if unknown).
fn anon_huge_pages() -> u64 {
    let text = std::fs::read_to_string("/proc/self/smaps_rollup")
        .or_else(|_| std::fs::read_to_string("/proc/self/smaps"))
        .unwrap_or_default();
    text.lines()
        .filter_map(|l| l.strip_prefix("AnonHugePages:"))
        .filter_map(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .sum::<u64>()
        * 1024
}

/// LATENCY DOCTOR's report for this server.
pub fn doctor(srv: &Server) -> String {
    let env = DoctorEnv {
        threshold_ms: crate::cfg_num!(srv.config, "latency-monitor-threshold"),
        slowlog_us: crate::cfg_num!(srv.config, "slowlog-log-slower-than"),
        hz: crate::cfg_num!(srv.config, "hz"),
        anon_huge_pages: anon_huge_pages(),
    };
    let now = srv.clock.now_ms().div_euclid(1000);
    srv.latency.with(|events| doctor_report(events, now, &env))
}

// ----------------------------------------------------------- histograms

/// The histogram layout of Redis's command latencies: hdr_histogram from
/// 1 ns to 1 s with two significant digits. Values below 256 ns have a
/// slot each; above, each power of two [2^k, 2^(k+1)) is cut into 128
/// slots of 2^(k-7) ns.
pub mod hist {
    /// Counters per histogram.
    pub const SLOTS: usize = 24 * HALF;
    const HALF: usize = 128;
    /// Recorded values are clamped to this range (ns).
    const MIN: u64 = 1;
    const MAX: u64 = 1_000_000_000;

    /// The power-of-two band of `v` (0 for values below 256).
    fn band(v: u64) -> u32 {
        (64 - (v | 255).leading_zeros()) - 8
    }

    /// The slot counting a duration of `ns` (clamped to 1 ns ..= 1 s).
    #[inline]
    pub fn slot(ns: u64) -> usize {
        let v = ns.clamp(MIN, MAX);
        let b = band(v);
        ((b as usize + 1) * HALF) + (v >> b) as usize - HALF
    }

    /// The smallest value of slot `i`.
    pub fn lowest(i: usize) -> u64 {
        let (b, s) = match (i / HALF) as i64 - 1 {
            -1 => (0, i % HALF),
            b => (b as u32, i % HALF + HALF),
        };
        (s as u64) << b
    }

    /// The largest value of slot `i`.
    pub fn highest(i: usize) -> u64 {
        let low = lowest(i);
        low + (1u64 << band(low)) - 1
    }

    /// The value at percentile `p` (0..=100) of `counts`, as
    /// hdr_value_at_percentile: the top of the slot holding the
    /// (p% of total, rounded, at least 1)-th value; its bottom for p = 0.
    /// None without values.
    pub fn percentile(counts: &[u64], p: f64) -> Option<u64> {
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        let want = (((p.min(100.0) / 100.0) * total as f64 + 0.5) as u64).max(1);
        let mut seen = 0;
        let i = counts.iter().position(|&c| {
            seen += c;
            seen >= want
        })?;
        Some(if p == 0.0 { lowest(i) } else { highest(i) })
    }

    /// The cumulative buckets of LATENCY HISTOGRAM: at 1024 ns, 2048 ns ...
    /// (each extended to the top of its slot, in whole µs), how many values
    /// are at most that, for the buckets where the count grows. Values past
    /// the last power of two go to the top of the last slot.
    pub fn cumulative(counts: &[u64]) -> Vec<(u64, u64)> {
        let total: u64 = counts.iter().sum();
        let mut out = Vec::new();
        let (mut seen, mut next, mut level) = (0u64, 0usize, 1024u64);
        while seen < total {
            let at = if level <= MAX { slot(level) } else { SLOTS };
            let upto = at.min(SLOTS - 1);
            seen += counts[next..=upto].iter().sum::<u64>();
            next = upto + 1;
            let prev = out.last().map_or(0, |&(_, c)| c);
            if seen > prev {
                out.push((highest(upto) / 1000, seen));
            }
            level *= 2;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sample_per_second_keeps_the_max() {
        let mut s = Series::new("command");
        s.add(100, 5);
        s.add(100, 9);
        s.add(100, 3);
        s.add(101, 2);
        assert_eq!(s.samples().collect::<Vec<_>>(), [Sample { time: 100, ms: 9 }, Sample { time: 101, ms: 2 }]);
        assert_eq!(s.latest(), Sample { time: 101, ms: 2 });
        assert_eq!(s.max, 9);
    }

    #[test]
    fn ring_keeps_the_last_160() {
        let mut s = Series::new("command");
        for t in 1..=200 {
            s.add(t, t as u32);
        }
        let v: Vec<Sample> = s.samples().collect();
        assert_eq!(v.len(), HISTORY_LEN);
        assert_eq!(v[0], Sample { time: 41, ms: 41 });
        assert_eq!(v[159], Sample { time: 200, ms: 200 });
        assert_eq!(s.max, 200);
    }

    #[test]
    fn reset_by_name_any_case() {
        let m = Monitor::default();
        m.add(event::COMMAND, 10, 5);
        m.add(event::EXPIRE_CYCLE, 10, 5);
        m.add(event::COMMAND, 11, 7);
        m.with(|e| assert_eq!(e.iter().map(|s| s.name).collect::<Vec<_>>(), ["command", "expire-cycle"]));
        assert_eq!(m.reset(Some(b"nosuch")), 0);
        assert_eq!(m.reset(Some(b"COMMAND")), 1);
        assert_eq!(m.reset(None), 1);
        assert_eq!(m.reset(None), 0);
    }

    #[test]
    fn graph_as_redis_draws_it() {
        // Redis 7.0.15: two samples, 20 ms two seconds ago, 5 ms one second ago.
        let mut s = Series::new("command");
        s.add(98, 20);
        s.add(99, 5);
        assert_eq!(
            graph(&s, 100),
            format!(
                "command - high 20 ms, low 5 ms (all time high 20 ms)\n{}\n# \n| \n| \n|_\n  \n21\nss\n",
                "-".repeat(80)
            )
        );
        // Equal values: every bar at the bottom step.
        let mut s = Series::new("x");
        s.add(40, 7);
        assert_eq!(
            graph(&s, 100),
            format!("x - high 7 ms, low 7 ms (all time high 7 ms)\n{}\n \n \n \n_\n \n1\nm\n", "-".repeat(80))
        );
    }

    #[test]
    fn graph_blocks_of_80() {
        let mut s = Series::new("x");
        for t in 1..=100 {
            s.add(t, (t % 13) as u32);
        }
        let g = graph(&s, 100);
        let lines: Vec<&str> = g.lines().collect();
        // Header, rule, then per block 4 bar rows, a blank row and the
        // labels ("99s" is three rows), the blocks separated by a newline.
        assert_eq!(lines[2].len(), 80);
        assert_eq!(lines.len(), 2 + (4 + 1 + 3) + 1 + (4 + 1 + 3));
        assert_eq!(lines[10], "");
        assert_eq!(lines[11].len(), 20);
        assert_eq!(ago(59), "59s");
        assert_eq!(ago(60), "1m");
        assert_eq!(ago(7200), "2h");
        assert_eq!(ago(86400 * 3), "3d");
    }

    fn env(threshold_ms: i64) -> DoctorEnv {
        DoctorEnv { threshold_ms, slowlog_us: 10000, hz: 10, anon_huge_pages: 0 }
    }

    #[test]
    fn doctor_fixed_messages_and_lines() {
        assert_eq!(doctor_report(&[], 0, &env(0)), MONITOR_OFF);
        assert_eq!(doctor_report(&[], 0, &env(1)), NO_SPIKES);
        let mut s = Series::new("command");
        s.add(98, 20);
        s.add(99, 5);
        let r = doctor_report(std::slice::from_ref(&s), 100, &env(1));
        assert!(r.contains("\n\n1. command: 2 latency spikes (average 12ms, mean deviation 7ms, period 1.00 sec). Worst all time event 20ms.\n\n"), "{r}");
        assert!(r.contains("'CONFIG SET slowlog-log-slower-than 1000'"), "{r}");
        // An event without advice.
        let mut s = Series::new("command-unblocking");
        s.add(99, 5);
        let r = doctor_report(std::slice::from_ref(&s), 99, &env(1));
        assert!(r.contains("period 1.00 sec"), "{r}");
        assert!(r.ends_with("include this report.\n"), "{r}");
    }

    #[test]
    fn histogram_slots_match_hdr() {
        use hist::*;
        for v in [1u64, 2, 255, 256, 257, 1023, 1024, 1031, 1032, 123_456, 999_999_999, 1_000_000_000] {
            let i = slot(v);
            assert!(lowest(i) <= v && v <= highest(i), "{v}");
        }
        assert_eq!(slot(0), slot(1));
        assert_eq!(slot(5_000_000_000), slot(1_000_000_000));
        assert!(slot(1_000_000_000) < SLOTS);
        assert_eq!(highest(slot(1024)), 1031);
        assert_eq!(highest(slot(32768)), 33023);
        assert_eq!(highest(SLOTS - 1), 1_073_741_823);
    }

    fn counts_of(values: &[u64]) -> Vec<u64> {
        let mut c = vec![0; hist::SLOTS];
        for &v in values {
            c[hist::slot(v)] += 1;
        }
        c
    }

    #[test]
    fn histogram_buckets_as_redis() {
        use hist::cumulative;
        // Redis 7.0.15: DEBUG SLEEP 0.3 and 0.6 (the last bucket past 2^29 ns).
        assert_eq!(cumulative(&counts_of(&[300_000_000])), [(541065, 1)]);
        assert_eq!(cumulative(&counts_of(&[600_000_000])), [(1073741, 1)]);
        assert_eq!(cumulative(&counts_of(&[1_500_000_000])), [(1073741, 1)]);
        assert_eq!(
            cumulative(&counts_of(&[100_000, 150_000, 2_000_000, 600_000_000])),
            [(132, 1), (264, 2), (2113, 3), (1073741, 4)]
        );
        // Below 1024 ns everything is in the first bucket; 1031 ns still is.
        assert_eq!(cumulative(&counts_of(&[1, 500, 1031, 1032, 16_000])), [(1, 3), (2, 4), (16, 5)]);
        assert!(cumulative(&counts_of(&[])).is_empty());
    }

    /// hdr_histogram's logarithmic iterator, step by step as the C library
    /// walks it (a slot at a time, reporting when a slot reaches the next
    /// level, one last report when the slots run out), with Redis's filter
    /// of buckets where the count did not grow.
    fn hdr_log_walk(counts: &[u64]) -> Vec<(u64, u64)> {
        use hist::*;
        let total: u64 = counts.iter().sum();
        let (mut idx, mut value, mut cum, mut top) = (-1i64, 0u64, 0u64, 0u64);
        let mut level = 1024u64;
        let low_of = |l: u64| if l <= 1_000_000_000 { lowest(slot(l)) } else { l };
        let mut level_low = low_of(level);
        let mut out: Vec<(u64, u64)> = Vec::new();
        let report = |top: u64, cum: u64, out: &mut Vec<(u64, u64)>| {
            if cum > out.last().map_or(0, |x| x.1) {
                out.push((top / 1000, cum));
            }
        };
        loop {
            let more = idx + 1 < SLOTS as i64 && lowest((idx + 1) as usize) > level_low;
            if !(cum < total || more) {
                return out;
            }
            loop {
                if value >= level_low {
                    report(top, cum, &mut out);
                    level *= 2;
                    level_low = low_of(level);
                    break;
                }
                idx += 1;
                if idx >= SLOTS as i64 {
                    report(top, cum, &mut out);
                    return out;
                }
                cum += counts[idx as usize];
                value = lowest(idx as usize);
                top = highest(idx as usize);
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn histogram_buckets_follow_the_hdr_iterator(values in proptest::collection::vec(
            proptest::prop_oneof![0u64..5_000, 0u64..5_000_000, 0u64..2_000_000_000], 0..60)) {
            let c = counts_of(&values);
            proptest::prop_assert_eq!(hist::cumulative(&c), hdr_log_walk(&c));
        }
    }

    #[test]
    fn percentiles_as_redis() {
        use hist::percentile;
        // Redis 7.0.15: three SETs of ~8-9 µs gave p0=8.000, p0.0001=8.031,
        // p50=p100=9.023.
        let c = counts_of(&[8_010, 9_000, 9_010]);
        assert_eq!(percentile(&c, 0.0), Some(8000));
        assert_eq!(percentile(&c, 0.0001), Some(8031));
        assert_eq!(percentile(&c, 50.0), Some(9023));
        assert_eq!(percentile(&c, 100.0), Some(9023));
        assert_eq!(percentile(&counts_of(&[]), 50.0), None);
    }
}
