//! Lua scripting (EVAL family, SCRIPT) and Functions.
//!
//! Locking. One script runs at a time: EVAL, EVALSHA, FCALL (and EXEC of a
//! queue holding one of them) take `Scripting::run_lock` first. The
//! dispatcher locks the shards of the script's declared KEYS (the key specs
//! of EVAL and FCALL name them), so scripts on different keys no longer stop
//! the rest of the keyspace. When a command inside the script reaches a key
//! whose shard is not held, `redis.call` adds that shard to the held set
//! (`Locked::acquire_more`; a keyspace-wide command takes the rest of them):
//! shards are only ever added until the script ends (strict two-phase
//! locking), so the script stays atomic. Adding a shard out of index order
//! could deadlock against a command that locks in ascending order; the
//! keyspace's escalation flag makes such lockers release what they hold and
//! start over, and holding the run lock guarantees that only one thread
//! escalates at a time (docs/architecture.md, "Scripts and transactions").
//! A script waiting for the run lock holds no shard: if the lock is taken,
//! it releases the shards the dispatcher gave it, waits, then locks them
//! again (`enter`).
//!
//! Threads. A script runs on its connection's worker like any command. If
//! it is still running after `HANDOFF_HOOKS` calls of the Lua hook, the hook
//! hands the worker's other connections to a fresh thread (tokio's
//! block_in_place, see `hand_off`), so they keep being served (BUSY
//! replies, SCRIPT KILL).
//!
//! While one runs, `Busy` records its start; once it has run past
//! `busy-reply-threshold`, the dispatcher answers other clients BUSY (before
//! trying to lock anything, and instead of waiting for a shard) unless their
//! command is flagged allow_busy (SCRIPT KILL, FUNCTION KILL, ...). SCRIPT
//! KILL sets a flag that the Lua instruction-count hook turns into an error
//! inside the script.
//!
//! EVAL scripts and function libraries live in two separate Lua states
//! (`engine::Engine`), each behind its own mutex: a script's state is locked
//! after the shards (scripts run inside commands that hold them), and code
//! that takes a state without shards (SCRIPT LOAD, FUNCTION LOAD) never waits
//! for a shard while holding it, so the order cannot cycle.

pub mod bit;
pub mod call;
pub mod cjson;
pub mod cmsgpack;
pub mod conv;
pub mod engine;
pub mod functions;
pub mod libfn;
pub mod lstr;
pub mod structlib;

use crate::cmdspec::{f, CommandSpec, KeyPositions};
use crate::ctx::Ctx;
use crate::error::CmdError;
use crate::server::Server;
use parking_lot::{Mutex, MutexGuard, ReentrantMutex, ReentrantMutexGuard};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What every connection may read about the script running now.
#[derive(Default)]
pub struct Busy {
    /// The server clock (ms) when the running script began, plus one; 0
    /// when no script runs.
    started: AtomicI64,
    /// The running script is a function (FCALL), not an EVAL script.
    is_function: AtomicBool,
    /// The running script has written (SCRIPT KILL then refuses).
    pub wrote: AtomicBool,
    /// SCRIPT KILL / FUNCTION KILL asked the script to stop (read by the
    /// Lua hook).
    pub kill: Arc<AtomicBool>,
    /// The running function's name and command (FUNCTION STATS).
    info: Mutex<(String, Vec<Vec<u8>>)>,
    /// When the running script passes busy-reply-threshold (logged by the
    /// Lua hook).
    pub slow: Arc<Slow>,
}

/// Tells the Lua hook when the running script becomes slow, so that the
/// moment is logged as Redis does ("Slow script detected").
#[derive(Default)]
pub struct Slow {
    /// Monotonic ms (`mono_ms`) at which the script is slow; 0: not armed.
    at: AtomicI64,
    /// Hook calls since the last clock read.
    ticks: std::sync::atomic::AtomicU32,
    function: AtomicBool,
    name: Mutex<String>,
}

/// Milliseconds on a process-wide monotonic clock (never 0).
fn mono_ms() -> i64 {
    static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    EPOCH.get_or_init(std::time::Instant::now).elapsed().as_millis() as i64 + 1
}

impl Slow {
    /// Arms the watch for a script starting now (`threshold_ms` 0: never).
    /// `name`: the function's, or for EVAL the script's SHA1 (logged as
    /// Redis names it, `f_<sha>`). The name's buffer is reused: no
    /// allocation per script.
    pub fn arm(&self, threshold_ms: i64, function: bool, name: &str) {
        if threshold_ms <= 0 {
            return;
        }
        self.function.store(function, Ordering::Relaxed);
        {
            let mut n = self.name.lock();
            n.clear();
            if !function {
                n.push_str("f_");
            }
            n.push_str(name);
        }
        self.at.store(mono_ms() + threshold_ms, Ordering::Relaxed);
    }

    pub fn disarm(&self) {
        self.at.store(0, Ordering::Relaxed);
    }

    /// From the Lua hook (every 1000 instructions): reads the clock every
    /// 16th call, and logs once when the threshold has passed.
    pub fn check(&self) {
        let at = self.at.load(Ordering::Relaxed);
        if at == 0 || self.ticks.fetch_add(1, Ordering::Relaxed) % 16 != 0 {
            return;
        }
        let now = mono_ms();
        if now >= at && self.at.swap(0, Ordering::Relaxed) != 0 {
            let kill = if self.function.load(Ordering::Relaxed) { "FUNCTION KILL" } else { "SCRIPT KILL" };
            tracing::warn!(
                "Slow script detected: still in execution after {} milliseconds. You can try killing the script using the {kill} command. Script name is: {}.",
                now - at,
                self.name.lock()
            );
        }
    }
}

fn elapsed_ms(srv: &Server) -> i64 {
    srv.clock.now_ms()
}

/// Marks a script as running until dropped (also on unwinding).
pub struct Running<'a>(&'a Busy);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.started.store(0, Ordering::Release);
        self.0.kill.store(false, Ordering::Relaxed);
        self.0.slow.disarm();
    }
}

impl Busy {
    /// Marks a script as started at `now_ms` (the command's frozen clock,
    /// so no clock is read here).
    pub fn begin(&self, now_ms: i64, is_function: bool) -> Running<'_> {
        // The flags are published by the Release store of `started`, which
        // readers load first.
        self.is_function.store(is_function, Ordering::Relaxed);
        self.wrote.store(false, Ordering::Relaxed);
        self.kill.store(false, Ordering::Relaxed);
        self.started.store(now_ms.max(0) + 1, Ordering::Release);
        Running(self)
    }

    pub fn set_info(&self, name: &str, argv: &[&[u8]]) {
        *self.info.lock() = (name.to_string(), argv.iter().map(|a| a.to_vec()).collect());
    }

    /// Name, command and duration of the running function.
    pub fn running_info(&self, srv: &Server) -> Option<(String, Vec<Vec<u8>>, i64)> {
        let s = self.started.load(Ordering::SeqCst);
        if s == 0 || !self.is_function() {
            return None;
        }
        let (n, a) = self.info.lock().clone();
        Some((n, a, elapsed_ms(srv) - (s - 1)))
    }

    pub fn running(&self) -> bool {
        self.started.load(Ordering::SeqCst) != 0
    }

    pub fn is_function(&self) -> bool {
        self.is_function.load(Ordering::SeqCst)
    }

    /// True once the running script has passed busy-reply-threshold.
    pub fn timed_out(&self, srv: &Server) -> bool {
        let s = self.started.load(Ordering::SeqCst);
        if s == 0 {
            return false;
        }
        let threshold = crate::cfg_num!(srv.config, "busy-reply-threshold");
        threshold > 0 && elapsed_ms(srv) - (s - 1) >= threshold
    }

    /// SCRIPT KILL (`function` false) or FUNCTION KILL (true).
    pub fn kill(&self, srv: &Server, function: bool) -> Result<(), CmdError> {
        // Redis serves SCRIPT KILL only once the script has timed out (it is
        // single-threaded): wait for that, or for the script to end.
        run_blocking(|| {
            while self.running() && !self.timed_out(srv) {
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        if !self.running() {
            return Err(CmdError::msg("NOTBUSY No scripts in execution right now."));
        }
        if self.wrote.load(Ordering::SeqCst) {
            return Err(CmdError::msg(
                "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.",
            ));
        }
        if self.is_function() != function {
            return Err(busy_message(self.is_function()));
        }
        self.kill.store(true, Ordering::SeqCst);
        Ok(())
    }
}

fn busy_message(function: bool) -> CmdError {
    if function {
        CmdError::msg("BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.")
    } else {
        CmdError::msg("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.")
    }
}

/// The BUSY error for a command arriving while a script has been running
/// too long; `None` if the command may run.
pub fn busy_error(srv: &Server, spec: &CommandSpec) -> Option<CmdError> {
    let busy = &srv.scripting.busy;
    if !busy.running() || spec.has(f::ALLOW_BUSY) || !busy.timed_out(srv) {
        return None;
    }
    Some(busy_message(busy.is_function()))
}

/// The BUSY error if a script has run past busy-reply-threshold, whatever
/// the command (SHUTDOWN that would save gets it, as in Redis).
pub fn busy_now(srv: &Server) -> Option<CmdError> {
    let busy = &srv.scripting.busy;
    (busy.running() && busy.timed_out(srv)).then(|| busy_message(busy.is_function()))
}

/// Script flags (shebang `flags=` and register_function's `flags`).
pub mod flags {
    pub const NO_WRITES: u32 = 1;
    pub const ALLOW_OOM: u32 = 2;
    pub const ALLOW_STALE: u32 = 4;
    pub const NO_CLUSTER: u32 = 8;
    pub const ALLOW_CROSS_SLOT: u32 = 16;
    /// An EVAL script without a shebang: Redis 6 behavior.
    pub const EVAL_COMPAT: u32 = 32;

    pub const NAMES: &[(&str, u32)] = &[
        ("no-writes", NO_WRITES),
        ("allow-oom", ALLOW_OOM),
        ("allow-stale", ALLOW_STALE),
        ("no-cluster", NO_CLUSTER),
        ("allow-cross-slot-keys", ALLOW_CROSS_SLOT),
    ];

    pub fn by_name(name: &[u8]) -> Option<u32> {
        NAMES.iter().find(|(n, _)| n.as_bytes() == name).map(|(_, f)| *f)
    }
}

/// A cached EVAL script.
pub struct Script {
    pub func: mlua::Function,
    pub flags: u32,
    pub body: Vec<u8>,
}

/// The EVAL Lua state and its script cache (sha -> script).
pub struct EvalState {
    pub engine: engine::Engine,
    pub scripts: ahash::AHashMap<String, Script>,
    /// Bytes of the cached bodies and shas (scripts are only ever dropped
    /// all at once, with the state).
    pub scripts_bytes: usize,
}

impl EvalState {
    /// Memory of the script cache: bodies, shas, entries and the table's
    /// slots (Redis's evalScriptsMemory counts the same parts).
    fn cache_memory(&self) -> u64 {
        let entry = std::mem::size_of::<(String, Script)>() + 8;
        (self.scripts_bytes + self.scripts.len() * entry + self.scripts.capacity() * 8) as u64
    }
}

/// Script and function memory for INFO memory.
#[derive(Clone, Copy, Default)]
pub struct MemInfo {
    /// The EVAL Lua state (used_memory_vm_eval).
    pub vm_eval: u64,
    /// The script cache (used_memory_scripts_eval).
    pub scripts_eval: u64,
    pub cached_scripts: u64,
    /// The functions Lua state (used_memory_vm_functions).
    pub vm_functions: u64,
    /// Libraries and functions outside the Lua state (used_memory_functions).
    pub functions: u64,
    pub num_functions: u64,
    pub num_libraries: u64,
}

/// The server's scripting state.
#[derive(Default)]
pub struct Scripting {
    pub busy: Busy,
    /// Created on first use; SCRIPT FLUSH drops it.
    pub eval: Mutex<Option<EvalState>>,
    pub functions: Mutex<Option<functions::Functions>>,
    /// Libraries (high half) and functions (low half), for FUNCTION STATS
    /// while a function holds the functions state.
    pub counts: std::sync::atomic::AtomicU64,
    /// The code of every library, kept beside the functions state for
    /// snapshots (a running function holds that state for as long as it
    /// runs; a snapshot must never wait for it).
    pub lib_codes: Mutex<Vec<Vec<u8>>>,
    /// The last memory figures read; INFO reuses them while a script holds
    /// a Lua state (INFO never waits for one, and may run inside a script).
    mem: Mutex<MemInfo>,
    /// Held by the running script (and by EXEC when its queue has one):
    /// scripts run one at a time. Reentrant, for a script run by EXEC.
    pub run_lock: ReentrantMutex<()>,
}

/// Takes the run lock for a script command whose declared keys the
/// dispatcher has locked (`argv` is the whole command). If another script
/// holds it, the shards are released while waiting (a running script may
/// need one of them) and locked again afterwards; a script that passes
/// busy-reply-threshold meanwhile turns the wait into a BUSY reply.
pub fn enter<'a>(ctx: &mut Ctx<'a>, argv: &[&[u8]]) -> Result<ReentrantMutexGuard<'a, ()>, CmdError> {
    let srv: &'a Server = ctx.srv;
    if let Some(g) = srv.scripting.run_lock.try_lock() {
        return Ok(g);
    }
    let spec = ctx.spec;
    ctx.locked = srv.keyspace.lock_none();
    let g = loop {
        if let Some(g) = srv.scripting.run_lock.try_lock_for(Duration::from_millis(5)) {
            break g;
        }
        if let Some(e) = busy_error(srv, spec) {
            return Err(e);
        }
    };
    let mut pos = KeyPositions::new();
    spec.key_positions(argv, &mut pos);
    let give_up = || busy_error(srv, spec).is_some();
    match srv.keyspace.lock_keys_unless(pos.iter().map(|&i| argv[i]), &give_up) {
        Some(l) => ctx.locked = l,
        None => return Err(busy_error(srv, spec).unwrap_or_else(|| CmdError::err("busy"))),
    }
    Ok(g)
}

/// Makes sure the shards `argv` (a command from a script, resolved to
/// `entry`) needs are held: the shards of its keys, or all of them for a
/// keyspace-wide command (INFO reads every shard too). The caller holds the
/// run lock.
/// `declared` are the script's KEYS, whose shards are held already.
pub fn cover(ctx: &mut Ctx<'_>, entry: &crate::commands::Entry, argv: &[&[u8]], declared: &[&[u8]]) {
    if ctx.locked.holds_all() {
        return;
    }
    if needs_all(entry) {
        ctx.locked.acquire_rest();
        return;
    }
    let mut pos = KeyPositions::new();
    entry.spec.key_positions(argv, &mut pos);
    for &i in pos.iter() {
        if !declared.contains(&argv[i]) {
            ctx.locked.acquire_key(argv[i]);
        }
    }
}

/// True if `entry` reads or writes the whole keyspace rather than the keys
/// its key specs name.
pub fn needs_all(entry: &crate::commands::Entry) -> bool {
    entry.lock == crate::commands::Lock::All || entry.spec.name == "info"
}

/// Takes a Lua state's mutex, answering BUSY instead of waiting behind a
/// script that has run too long.
pub fn lock_state<'a, T>(srv: &Server, m: &'a Mutex<T>, spec: &CommandSpec) -> Result<MutexGuard<'a, T>, CmdError> {
    loop {
        if let Some(g) = m.try_lock_for(Duration::from_millis(5)) {
            return Ok(g);
        }
        if let Some(e) = busy_error(srv, spec) {
            return Err(e);
        }
    }
}

impl Scripting {
    /// Memory of the Lua states and caches, read fresh from the states that
    /// are free, or as last read.
    pub fn memory(&self) -> MemInfo {
        let mut m = self.mem.lock();
        if let Some(g) = self.eval.try_lock() {
            let (vm, scripts, n) = match g.as_ref() {
                Some(st) => (st.engine.used_memory(), st.cache_memory(), st.scripts.len() as u64),
                None => (0, 0, 0),
            };
            (m.vm_eval, m.scripts_eval, m.cached_scripts) = (vm, scripts, n);
        }
        if let Some(g) = self.functions.try_lock() {
            (m.vm_functions, m.functions) = g.as_ref().map_or((0, 0), |f| f.memory());
        }
        let counts = self.counts.load(std::sync::atomic::Ordering::Relaxed);
        (m.num_libraries, m.num_functions) = (counts >> 32, counts & 0xffff_ffff);
        *m
    }

    /// The EVAL state, created if needed.
    pub fn eval_state<'a>(
        &'a self,
        srv: &Server,
        spec: &CommandSpec,
    ) -> Result<parking_lot::MappedMutexGuard<'a, EvalState>, CmdError> {
        let mut g = lock_state(srv, &self.eval, spec)?;
        if g.is_none() {
            let engine = engine::Engine::new(self.busy.kill.clone(), self.busy.slow.clone())
                .map_err(|e| CmdError::err(format!("Failed to create the Lua engine: {e}")))?;
            *g = Some(EvalState { engine, scripts: ahash::AHashMap::new(), scripts_bytes: 0 });
        }
        Ok(MutexGuard::map(g, |o| o.as_mut().expect("just created")))
    }
}

/// A script that has run this many calls of the Lua hook (one per 1000
/// instructions, a few milliseconds in all) hands its worker's other
/// connections to another thread (`hand_off`); shorter ones never pay for
/// it, nor read a clock.
pub const HANDOFF_HOOKS: i64 = 1000;

/// How often (in hook calls) a long script tries the hand-off again (it
/// may not have happened: see `hand_off`).
pub const HANDOFF_RETRY_HOOKS: i64 = 20_000;

/// Called from inside a long script: gives this worker thread's runtime
/// core (its queue of connections) to a new thread with tokio's
/// block_in_place, and carries on running the script without it. The new
/// thread must take the core before block_in_place returns, or the core
/// comes back: a probe task queued on this worker tells when the core is
/// being run elsewhere (or it was stolen by another worker, which then
/// serves the queue anyway); the hook calls this again from time to time in
/// case it came back. Once the core is gone, later calls cost a spawn.
pub fn hand_off() {
    let Ok(h) = tokio::runtime::Handle::try_current() else { return };
    if h.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
        return;
    }
    let moved = Arc::new(AtomicBool::new(false));
    let m = moved.clone();
    h.spawn(async move { m.store(true, Ordering::SeqCst) });
    tokio::task::block_in_place(|| {
        let t0 = std::time::Instant::now();
        while !moved.load(Ordering::SeqCst) && t0.elapsed() < Duration::from_millis(20) {
            std::thread::sleep(Duration::from_micros(50));
        }
    });
}

/// Runs `f` on a thread that may block: the worker's other tasks go to
/// another thread first (tokio's block_in_place). For waits, not scripts.
pub fn run_blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

pub fn sha1_hex(b: &[u8]) -> String {
    sha1_smol::Sha1::from(b).digest().to_string()
}

/// A number as Lua 5.1's tostring writes it (`%.14g`).
pub fn lua_number_string(n: f64) -> String {
    fmt_g(n, 14)
}

/// C's `%.<prec>g`.
pub fn fmt_g(d: f64, prec: usize) -> String {
    if d.is_nan() {
        return if d.is_sign_negative() { "-nan".into() } else { "nan".into() };
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let p = prec.max(1);
    let e = format!("{:.*e}", p - 1, d);
    let (mant, exp) = e.split_once('e').expect("exponent");
    let exp: i32 = exp.parse().expect("exponent digits");
    if exp < -4 || exp >= p as i32 {
        let mant = if mant.contains('.') { mant.trim_end_matches('0').trim_end_matches('.') } else { mant };
        format!("{mant}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.unsigned_abs())
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        let s = format!("{:.*}", decimals, d);
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    }
}

/// Parses an EVAL script's shebang line. Returns the flags and the length of
/// the line (without its newline, which is kept for line numbers).
pub fn parse_shebang(body: &[u8]) -> Result<(u32, usize), CmdError> {
    if !body.starts_with(b"#!") {
        return Ok((flags::EVAL_COMPAT, 0));
    }
    let Some(end) = body.iter().position(|&c| c == b'\n') else {
        return Err(CmdError::err("Invalid script shebang"));
    };
    let line = &body[..end];
    let parts: Vec<&[u8]> = line.split(|c| c.is_ascii_whitespace()).filter(|p| !p.is_empty()).collect();
    if parts.is_empty() {
        return Err(CmdError::err("Invalid engine in script shebang"));
    }
    if parts[0] != b"#!lua" {
        return Err(CmdError::err(format!(
            "Unexpected engine in script shebang: {}",
            String::from_utf8_lossy(parts[0])
        )));
    }
    let mut fl = 0;
    for p in &parts[1..] {
        if let Some(list) = p.strip_prefix(b"flags=") {
            // `flags=` alone declares no flags (Redis splits an empty list
            // into nothing); an empty name inside a list is an error.
            if list.is_empty() {
                continue;
            }
            for name in list.split(|&c| c == b',') {
                match flags::by_name(name) {
                    Some(x) => fl |= x,
                    None => {
                        return Err(CmdError::err(format!(
                            "Unexpected flag in script shebang: {}",
                            String::from_utf8_lossy(name)
                        )))
                    }
                }
            }
        } else {
            return Err(CmdError::err(format!("Unknown lua shebang option: {}", String::from_utf8_lossy(p))));
        }
    }
    Ok((fl, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g_format() {
        assert_eq!(fmt_g(0.1, 14), "0.1");
        assert_eq!(fmt_g(100.0, 14), "100");
        assert_eq!(fmt_g(1e15, 14), "1e+15");
        assert_eq!(fmt_g(123456789012345.0, 14), "1.2345678901234e+14");
        assert_eq!(fmt_g(0.00001, 14), "1e-05");
        assert_eq!(fmt_g(3.14159, 14), "3.14159");
        assert_eq!(fmt_g(-2.5, 14), "-2.5");
    }

    #[test]
    fn shebang() {
        assert_eq!(parse_shebang(b"return 1").unwrap(), (flags::EVAL_COMPAT, 0));
        assert_eq!(parse_shebang(b"#!lua\nreturn 1").unwrap(), (0, 5));
        assert_eq!(parse_shebang(b"#!lua flags=no-writes,allow-oom\n").unwrap().0, flags::NO_WRITES | flags::ALLOW_OOM);
        assert_eq!(parse_shebang(b"#!lua flags=\n").unwrap().0, 0);
        assert!(parse_shebang(b"#!lua flags=no-writes,\n").is_err());
        assert!(parse_shebang(b"#!lua").is_err());
        assert!(parse_shebang(b"#!py\n").is_err());
        assert!(parse_shebang(b"#!lua flags=bad\n").is_err());
        assert_eq!(sha1_hex(b"return 1"), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
    }
}
