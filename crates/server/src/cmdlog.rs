//! What the server tells about the commands it ran: the slow log (SLOWLOG)
//! and the MONITOR stream, as Redis 7.0's slowlog.c and
//! replicationFeedMonitors.
//!
//! Both are fed by the dispatcher after a command ran, from every
//! connection on every core, and both cost the common case almost nothing:
//! the slow log is one comparison of the duration the dispatcher measured
//! anyway with a cached threshold (`Config::slowlog_threshold`, `u64::MAX`
//! when disabled); MONITOR is one relaxed load of the number of monitors.
//! Only past those checks is anything formatted or locked.
//!
//! Slow log. Entries are newest first, at most `slowlog-max-len` (trimmed
//! when an entry is added, as Redis does, so lowering the setting shows at
//! the next entry). An entry keeps at most 32 arguments (the last one
//! saying how many more there were) and at most 128 bytes of each
//! argument, the client's address and name; commands called by a script
//! show the script client's address `?:0` and no name. Commands flagged
//! skip_slowlog (EXEC) are not logged; the commands EXEC and scripts run
//! are, each on its own. A command that blocks is logged when it is served,
//! as it was called, with its first run's time plus the serving run's; as
//! in Redis 7.0, one that times out is not logged, and one ended by CLIENT
//! UNBLOCK is logged without arguments (Redis has freed them by then).
//!
//! MONITOR. Each command that ran (not one refused before running) is shown
//! to every monitor as `+<sec>.<usec> [<db> <addr>] "arg" ...`, arguments
//! escaped as Redis's sdscatrepr; `lua` stands for the address of commands
//! called by scripts. Admin and skip_monitor commands are not shown; EVAL
//! and FCALL show themselves when they start, so the commands they call
//! follow them. Lines are formatted and delivered under the monitors' lock
//! while the command still holds its keys, so monitors see one order, the
//! order in which commands on the same keys ran.
//!
//! Secrets (AUTH and HELLO AUTH credentials, CONFIG SET of sensitive
//! settings) show as `(redacted)` in both, at the positions Redis redacts
//! (`redacted`).

use crate::client::{Client, ClientInfo};
use crate::cmdspec::{f, CommandSpec};
use crate::server::Server;
use parking_lot::Mutex;
use smallvec::SmallVec;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Arguments kept per entry (Redis's SLOWLOG_ENTRY_MAX_ARGC).
const MAX_ARGS: usize = 32;
/// Bytes kept per argument (Redis's SLOWLOG_ENTRY_MAX_STRING).
const MAX_ARG_LEN: usize = 128;
/// What a secret argument is replaced with.
const REDACTED: &[u8] = b"(redacted)";

/// One slow log entry, as SLOWLOG GET shows it.
pub struct SlowEntry {
    pub id: u64,
    /// Unix seconds when it was logged.
    pub time: i64,
    pub usec: u64,
    pub args: Vec<Vec<u8>>,
    pub addr: String,
    pub name: Vec<u8>,
}

#[derive(Default)]
struct SlowInner {
    /// Newest first.
    entries: VecDeque<SlowEntry>,
    next_id: u64,
}

/// The slow log, shared by all connections.
#[derive(Default)]
pub struct SlowLog {
    inner: Mutex<SlowInner>,
}

impl SlowLog {
    pub fn len(&self) -> usize {
        self.inner.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// SLOWLOG RESET: entries go, ids go on.
    pub fn reset(&self) {
        let old = std::mem::take(&mut self.inner.lock().entries);
        drop(old);
    }

    /// Adds an entry (its id is given here), then trims to `max_len`.
    fn push(&self, mut e: SlowEntry, max_len: usize) {
        let mut dropped = Vec::new();
        {
            let mut g = self.inner.lock();
            e.id = g.next_id;
            g.next_id += 1;
            g.entries.push_front(e);
            while g.entries.len() > max_len {
                dropped.extend(g.entries.pop_back());
            }
        }
        // Freed outside the lock.
        drop(dropped);
    }

    /// Calls `f` with the `count` newest entries (all if `None`), newest
    /// first, under the log's lock.
    pub fn newest(&self, count: Option<usize>, mut f: impl FnMut(&[&SlowEntry])) {
        let g = self.inner.lock();
        let n = count.unwrap_or(usize::MAX).min(g.entries.len());
        let v: Vec<&SlowEntry> = g.entries.iter().take(n).collect();
        f(&v);
    }
}

/// The argument positions of `argv` that Redis replaces with
/// `(redacted)` before logging the command (its redactClientCommandArgument
/// calls): AUTH's password (and username), HELLO's AUTH pair (up to an
/// option that ends the command with an error), CONFIG SET values of
/// sensitive settings.
pub fn redacted(srv: &Server, spec: &CommandSpec, argv: &[&[u8]]) -> SmallVec<[usize; 4]> {
    let mut r = SmallVec::new();
    match spec.name {
        // More than three arguments is a syntax error before redaction.
        "auth" if argv.len() <= 3 => r.extend(1..argv.len()),
        // Every argument after the subcommand (passwords among the rules).
        "acl|setuser" => r.extend(2..argv.len()),
        "migrate" => {
            let mut j = 6;
            while j < argv.len() {
                let more = argv.len() - 1 - j;
                if argv[j].eq_ignore_ascii_case(b"auth") && more >= 1 {
                    r.push(j + 1);
                    j += 1;
                } else if argv[j].eq_ignore_ascii_case(b"auth2") && more >= 2 {
                    r.extend([j + 1, j + 2]);
                    j += 2;
                } else if argv[j].eq_ignore_ascii_case(b"keys") {
                    break;
                }
                j += 1;
            }
        }
        "hello" => {
            let ok = argv.get(1).is_none_or(|v| types::num::parse_i64(v).is_some_and(|n| (2..=3).contains(&n)));
            let mut j = 2;
            while ok && j < argv.len() {
                let more = argv.len() - 1 - j;
                if argv[j].eq_ignore_ascii_case(b"AUTH") && more >= 2 {
                    r.extend([j + 1, j + 2]);
                    if !crate::commands::connection::password_ok(srv, argv[j + 1], argv[j + 2]) {
                        break;
                    }
                    j += 3;
                } else if argv[j].eq_ignore_ascii_case(b"SETNAME") && more >= 1 {
                    if crate::commands::server::validate_client_name(argv[j + 1]).is_err() {
                        break;
                    }
                    j += 2;
                } else {
                    break;
                }
            }
        }
        // An odd count is a syntax error before redaction; otherwise every
        // pair is looked at, valid or not.
        "config|set" if argv.len().is_multiple_of(2) => {
            for i in (2..argv.len()).step_by(2) {
                let name = String::from_utf8_lossy(argv[i]);
                if crate::config::lookup(&name).is_some_and(|it| it.flags & crate::config::fl::SENSITIVE != 0) {
                    r.push(i + 1);
                }
            }
        }
        _ => {}
    }
    r
}

/// Where the slow log and MONITOR say a command came from.
fn source(client: &Client, in_script: bool) -> (&str, Vec<u8>) {
    if in_script {
        return ("?:0", Vec::new());
    }
    (client.info.peer_id(), client.info.name.lock().clone().unwrap_or_default())
}

/// The slow path of the dispatcher's slow log check: `usec` reached the
/// threshold. Logs the command unless it is flagged skip_slowlog, or it
/// blocked or is being served (`log_unblocked` logs it when the wait ends).
pub fn log_slow(ctx: &mut crate::ctx::Ctx<'_>, spec: &CommandSpec, argv: &[&[u8]], usec: u64) {
    if let Some(b) = ctx.effects.block.as_mut() {
        b.first_usec = Some(usec);
        return;
    }
    if spec.has(f::SKIP_SLOWLOG) || ctx.client.serving {
        return;
    }
    let max_len = crate::cfg_num!(ctx.srv.config, "slowlog-max-len").max(0) as usize;
    let hidden = redacted(ctx.srv, spec, argv);
    let (addr, name) = source(ctx.client, ctx.in_script);
    let e = SlowEntry {
        id: 0,
        time: ctx.now_ms.div_euclid(1000),
        usec,
        args: entry_args(argv, &hidden),
        addr: addr.to_string(),
        name,
    };
    ctx.srv.slowlog.push(e, max_len);
}

/// A blocked command whose wait ended: `served` is the serving run's µs,
/// `None` for CLIENT UNBLOCK. Logged as Redis's updateStatsOnUnblock does,
/// with the first run's time plus the serving run's, when that reaches the
/// threshold.
pub fn log_unblocked(srv: &Server, w: &crate::blocking::Waiter, served: Option<u64>) {
    let threshold = srv.config.slowlog_threshold();
    let usec = w.first_usec.unwrap_or(0) + served.unwrap_or(0);
    if usec < threshold || (served.is_none() && w.first_usec.is_none()) {
        return;
    }
    let called: Vec<&[u8]> = match served {
        Some(_) => w.called_argv.as_ref().unwrap_or(&w.argv).iter().map(|a| a.as_slice()).collect(),
        None => Vec::new(),
    };
    let max_len = crate::cfg_num!(srv.config, "slowlog-max-len").max(0) as usize;
    let e = SlowEntry {
        id: 0,
        time: srv.clock.now_ms().div_euclid(1000),
        usec,
        args: entry_args(&called, &[]),
        addr: w.info.peer_id().to_string(),
        name: w.info.name.lock().clone().unwrap_or_default(),
    };
    srv.slowlog.push(e, max_len);
}

/// The arguments an entry keeps: Redis's limits on count and length.
fn entry_args(argv: &[&[u8]], hidden: &[usize]) -> Vec<Vec<u8>> {
    let kept = argv.len().min(MAX_ARGS);
    let mut out = Vec::with_capacity(kept);
    for (j, a) in argv.iter().take(kept).enumerate() {
        if kept != argv.len() && j == kept - 1 {
            out.push(format!("... ({} more arguments)", argv.len() - kept + 1).into_bytes());
        } else if hidden.contains(&j) {
            out.push(REDACTED.to_vec());
        } else if a.len() > MAX_ARG_LEN {
            let mut s = a[..MAX_ARG_LEN].to_vec();
            s.extend_from_slice(format!("... ({} more bytes)", a.len() - MAX_ARG_LEN).as_bytes());
            out.push(s);
        } else {
            out.push(a.to_vec());
        }
    }
    out
}

/// The clients in MONITOR mode.
#[derive(Default)]
pub struct Monitors {
    /// `list.len()`, read without the lock before every command.
    count: AtomicUsize,
    list: Mutex<Vec<Arc<ClientInfo>>>,
}

impl Monitors {
    /// True if any client monitors (one relaxed load).
    #[inline]
    pub fn active(&self) -> bool {
        self.count.load(Ordering::Relaxed) != 0
    }

    pub fn add(&self, c: Arc<ClientInfo>) {
        let mut l = self.list.lock();
        l.push(c);
        self.count.store(l.len(), Ordering::Relaxed);
    }

    pub fn remove(&self, id: u64) {
        let mut l = self.list.lock();
        l.retain(|c| c.id != id);
        self.count.store(l.len(), Ordering::Relaxed);
    }
}

/// Shows a command that ran to the monitors (the dispatcher's check,
/// `Monitors::active`, comes first). Admin and skip_monitor commands are
/// not shown (EVAL and FCALL show themselves, `feed_script`).
pub fn feed(ctx: &crate::ctx::Ctx<'_>, spec: &CommandSpec, argv: &[&[u8]]) {
    if spec.has(f::ADMIN | f::SKIP_MONITOR) {
        return;
    }
    feed_line(ctx.srv, ctx.client, ctx.in_script, spec, argv);
}

/// EVAL / FCALL: shown when they start, before the commands they call.
pub fn feed_script(ctx: &crate::ctx::Ctx<'_>, argv: &[&[u8]]) {
    if ctx.srv.monitors.active() {
        feed_line(ctx.srv, ctx.client, ctx.in_script, ctx.spec, argv);
    }
}

/// An EXEC refused before it ran (it discarded the transaction): Redis
/// shows it so that monitors, which saw the MULTI, see the transaction end.
pub fn feed_refused_exec(srv: &Server, client: &Client, argv: &[&[u8]]) {
    feed_line(srv, client, false, &crate::cmdspec::table::EXEC, argv);
}

fn feed_line(srv: &Server, client: &Client, in_script: bool, spec: &CommandSpec, argv: &[&[u8]]) {
    let hidden = redacted(srv, spec, argv);
    let mut line = Vec::with_capacity(64 + argv.iter().map(|a| a.len() + 3).sum::<usize>());
    let l = srv.monitors.list.lock();
    // The wall clock (as Redis's gettimeofday), read under the lock, so
    // lines go out in time order.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let mut head = String::with_capacity(48);
    let _ = write!(head, "+{}.{:06} [{} ", now.as_secs(), now.subsec_micros(), client.db);
    head.push_str(if in_script { "lua" } else { client.info.peer_id() });
    head.push_str("] ");
    line.extend_from_slice(head.as_bytes());
    for (j, a) in argv.iter().enumerate() {
        if j > 0 {
            line.push(b' ');
        }
        repr(&mut line, if hidden.contains(&j) { REDACTED } else { a });
    }
    line.extend_from_slice(b"\r\n");
    let limits =
        crate::client::ObufLimits::parse(&srv.config.get_text("client-output-buffer-limit").unwrap_or_default());
    let now_ms = srv.clock.now_ms();
    for m in l.iter() {
        m.deliver(&line, &limits, now_ms);
    }
}

/// Redis's sdscatrepr: a quoted string, `\\` `\"` `\n` `\r` `\t` `\a` `\b`
/// escaped, other non-printable bytes as `\xNN`.
pub fn repr(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'\\' | b'"' => out.extend_from_slice(&[b'\\', c]),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            7 => out.extend_from_slice(b"\\a"),
            8 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(c),
            _ => out.extend_from_slice(format!("\\x{c:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(argv: &[&str], hidden: &[usize]) -> Vec<String> {
        let v: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
        entry_args(&v, hidden).into_iter().map(|a| String::from_utf8(a).unwrap()).collect()
    }

    #[test]
    fn entry_limits() {
        let many: Vec<String> = (0..40).map(|i| i.to_string()).collect();
        let refs: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
        let got = args(&refs, &[]);
        assert_eq!(got.len(), 32);
        assert_eq!(got[30], "30");
        assert_eq!(got[31], "... (9 more arguments)");
        // Exactly 32 arguments are kept as they are.
        assert_eq!(args(&refs[..32], &[])[31], "31");
        let long = "A".repeat(129);
        assert_eq!(args(&["set", &long], &[])[1], format!("{}... (1 more bytes)", &long[..128]));
        assert_eq!(args(&["set", &long[..128]], &[])[1].len(), 128);
        assert_eq!(args(&["auth", "u", "p"], &[1, 2]), ["auth", "(redacted)", "(redacted)"]);
    }

    #[test]
    fn repr_escapes() {
        let mut v = Vec::new();
        repr(&mut v, b"a\"\\\n\r\t\x07\x08\x01\xff ~");
        assert_eq!(v, b"\"a\\\"\\\\\\n\\r\\t\\a\\b\\x01\\xff ~\"");
    }

    #[test]
    fn redaction_positions() {
        let srv = Server::new(crate::Config::default());
        let red = |line: &[&str]| -> Vec<usize> {
            let argv: Vec<&[u8]> = line.iter().map(|a| a.as_bytes()).collect();
            let entry = crate::dispatch::resolve(&argv).unwrap();
            redacted(&srv, entry.spec, &argv).to_vec()
        };
        assert_eq!(red(&["auth", "p"]), [1]);
        assert_eq!(red(&["AUTH", "u", "p"]), [1, 2]);
        assert_eq!(red(&["auth", "a", "b", "c"]), Vec::<usize>::new());
        assert_eq!(red(&["hello", "3", "AUTH", "default", "x"]), [3, 4]);
        assert_eq!(red(&["hello", "3", "auth", "default", "x", "auth", "u", "p"]), [3, 4, 6, 7]);
        assert_eq!(red(&["hello", "3", "auth", "bad", "x", "auth", "u", "p"]), [3, 4]);
        assert_eq!(red(&["hello", "9", "AUTH", "a", "b"]), Vec::<usize>::new());
        assert_eq!(red(&["hello", "2", "SETNAME", "a b", "AUTH", "a", "b"]), Vec::<usize>::new());
        assert_eq!(red(&["hello", "2", "AUTH", "a"]), Vec::<usize>::new());
        assert_eq!(red(&["config", "set", "masterauth", "x", "maxmemory", "1", "requirepass", "y"]), [3, 7]);
        assert_eq!(red(&["config", "set", "masterauth", "x", "nope"]), Vec::<usize>::new());
        assert_eq!(red(&["config", "set", "nosuch", "x", "masteruser", "y"]), [5]);
    }
}
