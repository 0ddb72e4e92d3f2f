//! Server commands: INFO, CONFIG, DBSIZE, FLUSHDB, FLUSHALL, SWAPDB, TIME,
//! LASTSAVE, SHUTDOWN (DEBUG is in debug.rs).
//!
//! Keyspace-wide commands (DBSIZE, FLUSH*, SWAPDB) lock every shard; INFO's
//! keyspace section locks one shard at a time, so it never stalls the whole
//! server. SAVE, BGSAVE and the saves of SHUTDOWN and FLUSHALL are in
//! persist.rs.

use super::command::write_help;
use super::{registry, Cmd};
use crate::args::Args;
use crate::cmdspec::table as t;
use crate::ctx::{After, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::server::Server;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;

/// The Redis version we are compatible with (what clients see).
pub const REDIS_VERSION: &str = "7.0.15";

pub static COMMANDS: &[Cmd] = &[
    Cmd::new(&t::DBSIZE, dbsize).lock_all(),
    Cmd::new(&t::FLUSHALL, flushall).lock_all(),
    Cmd::new(&t::FLUSHDB, flushdb).lock_all(),
    Cmd::new(&t::SWAPDB, swapdb).lock_all(),
    Cmd::new(&t::TIME, time),
    Cmd::new(&t::LASTSAVE, lastsave),
    Cmd::new(&t::SAVE, save).lock_all(),
    Cmd::new(&t::BGSAVE, bgsave).lock_all(),
    Cmd::new(&t::BGREWRITEAOF, bgrewriteaof).lock_all(),
    Cmd::new(&t::INFO, info),
    Cmd::new(&t::SHUTDOWN, shutdown),
    Cmd::new(&t::CONFIG_GET, config_get),
    Cmd::new(&t::CONFIG_SET, config_set),
    Cmd::new(&t::CONFIG_RESETSTAT, config_resetstat),
    Cmd::new(&t::CONFIG_REWRITE, config_rewrite),
    Cmd::new(&t::CONFIG_HELP, config_help),
];

/// Redis's rule for client names: no spaces, newlines or other special
/// characters.
pub fn validate_client_name(n: &[u8]) -> Result<(), CmdError> {
    if n.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(CmdError::err("Client names cannot contain spaces, newlines or special characters."));
    }
    Ok(())
}

/// DBSIZE
fn dbsize(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    let db = ctx.client.db;
    let n: usize = ctx.locked.shards_mut().map(|s| s.dbs[db].len()).sum();
    ctx.out.int(n as i64);
    Ok(())
}

/// The optional ASYNC | SYNC of FLUSHALL / FLUSHDB: true for ASYNC (the
/// emptied tables are freed by the lazyfree thread). Without either,
/// `lazyfree-lazy-user-flush` decides.
fn flush_mode(ctx: &Ctx<'_>, args: &mut Args<'_>) -> Result<bool, CmdError> {
    let lazy = crate::lazyfree::flush_mode(&ctx.srv.config, args).ok_or(CmdError::Syntax)?;
    args.finish()?;
    Ok(lazy)
}

/// Marks ready every key of database `db` that clients are blocked on, so
/// each re-checks it (after SWAPDB or a flush changed them all).
fn signal_waiting_keys(ctx: &mut Ctx<'_>, db: usize) {
    if ctx.srv.blocking.has_waiters() {
        for k in ctx.srv.blocking.keys_in_db(db) {
            ctx.signal_ready_in(db, &k);
        }
    }
}

/// Empties database `db` (all of them for `None`) in every held shard;
/// returns the keys removed. With `lazy` the emptied tables are freed by
/// the lazyfree thread: the keyspace is empty for everyone at once.
pub(crate) fn clear_db(ctx: &mut Ctx<'_>, db: Option<usize>, lazy: bool) -> u64 {
    match db {
        Some(d) => crate::txn::touch_all_watched_in_db(ctx.srv, &mut ctx.locked, d, None, ctx.now_ms),
        None => crate::txn::touch_all_watched(ctx.srv, &mut ctx.locked, ctx.now_ms),
    }
    let removed = ctx.srv.lazyfree.empty_dbs(&mut ctx.locked, |i| db.is_none_or(|x| x == i), lazy);
    // Hook: WATCH and client-side caching learn about flushes from here.
    ctx.flushed();
    // XREADGROUP clients blocked on a flushed stream are told it is gone.
    match db {
        Some(d) => signal_waiting_keys(ctx, d),
        None => (0..ctx.srv.keyspace.ndb()).for_each(|d| signal_waiting_keys(ctx, d)),
    }
    ctx.add_dirty(removed);
    removed
}

/// FLUSHALL [ASYNC | SYNC]
fn flushall(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let lazy = flush_mode(ctx, args)?;
    clear_db(ctx, None, lazy);
    ctx.force_propagation(crate::propagate::ALL);
    // Redis's flushAllDataAndResetRDB: a running BGSAVE is stopped, and
    // with save points the (empty) dataset is saved at once.
    ctx.srv.persist.cancel_bg();
    if !crate::persist::save_params(ctx.srv).is_empty() {
        let _ = crate::persist::save_locked(ctx.srv, &mut ctx.locked);
    }
    ctx.out.ok();
    Ok(())
}

/// FLUSHDB [ASYNC | SYNC]
fn flushdb(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let lazy = flush_mode(ctx, args)?;
    let db = ctx.client.db;
    clear_db(ctx, Some(db), lazy);
    ctx.force_propagation(crate::propagate::ALL);
    ctx.out.ok();
    Ok(())
}

/// SWAPDB index1 index2
fn swapdb(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let a = args.next_i64().map_err(|_| CmdError::err("invalid first DB index"))?;
    let b = args.next_i64().map_err(|_| CmdError::err("invalid second DB index"))?;
    let n = ctx.srv.keyspace.ndb() as i64;
    if a < 0 || a >= n || b < 0 || b >= n {
        return Err(CmdError::DbIndexOutOfRange);
    }
    if a != b {
        let (a, b) = (a as usize, b as usize);
        crate::txn::touch_all_watched_in_db(ctx.srv, &mut ctx.locked, a, Some(b), ctx.now_ms);
        crate::txn::touch_all_watched_in_db(ctx.srv, &mut ctx.locked, b, Some(a), ctx.now_ms);
        for s in ctx.locked.shards_mut() {
            s.dbs.swap(a, b);
        }
        // Clients blocked on keys of either database may now find them.
        signal_waiting_keys(ctx, a);
        signal_waiting_keys(ctx, b);
    }
    // SWAPDB 0 0 counts as a change too (and is propagated), as in Redis.
    ctx.add_dirty(1);
    ctx.out.ok();
    Ok(())
}

/// TIME
fn time(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    let us = ctx.srv.clock.now_us();
    ctx.out.array(2);
    ctx.out.bulk_int(us / 1_000_000);
    ctx.out.bulk_int(us % 1_000_000);
    Ok(())
}

/// LASTSAVE
fn lastsave(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    ctx.out.int(ctx.srv.lastsave.load(Ordering::Relaxed));
    Ok(())
}

/// SAVE
fn save(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    if ctx.srv.persist.in_progress.load(Ordering::SeqCst) {
        return Err(CmdError::err("Background save already in progress"));
    }
    ctx.srv.persist.saves.fetch_add(1, Ordering::Relaxed);
    crate::persist::save_locked(ctx.srv, &mut ctx.locked).map_err(|_| CmdError::msg("ERR"))?;
    ctx.out.ok();
    Ok(())
}

/// BGSAVE [SCHEDULE]
fn bgsave(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let mut schedule = false;
    if !args.is_empty() {
        if args.remaining() == 1 && args.peek().is_some_and(|a| a.eq_ignore_ascii_case(b"schedule")) {
            schedule = true;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let p = &ctx.srv.persist;
    if p.in_progress.load(Ordering::SeqCst) {
        return Err(CmdError::err("Background save already in progress"));
    }
    if ctx.srv.aof.rewriting.load(Ordering::SeqCst) {
        if schedule {
            p.scheduled.store(true, Ordering::Relaxed);
            ctx.out.simple("Background saving scheduled");
            return Ok(());
        }
        return Err(CmdError::err(
            "Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.",
        ));
    }
    // Inside EXEC a snapshot cannot start (Redis cannot fork there either):
    // it is scheduled.
    let in_exec = ctx.nested && !ctx.in_script;
    if in_exec {
        let _ = schedule;
        p.scheduled.store(true, Ordering::Relaxed);
        ctx.out.simple("Background saving scheduled");
        return Ok(());
    }
    crate::persist::bgsave_locked(ctx.srv, &ctx.locked).map_err(|e| {
        if e.contains("already") {
            CmdError::err(e)
        } else {
            CmdError::msg("ERR")
        }
    })?;
    ctx.out.simple("Background saving started");
    Ok(())
}

/// BGREWRITEAOF
fn bgrewriteaof(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    let a = &ctx.srv.aof;
    if a.rewriting.load(Ordering::SeqCst) {
        return Err(CmdError::err("Background append only file rewriting already in progress"));
    }
    // Inside EXEC (or while a BGSAVE runs) the rewrite is scheduled.
    let in_exec = ctx.nested && !ctx.in_script;
    if in_exec || ctx.srv.persist.snapshot_busy.load(Ordering::SeqCst) {
        a.scheduled.store(true, Ordering::Relaxed);
        ctx.out.simple("Background append only file rewriting scheduled");
        return Ok(());
    }
    match crate::aof::rewrite_locked(ctx.srv, &ctx.locked) {
        Ok(crate::aof::Rewrite::Started) => ctx.out.simple("Background append only file rewriting started"),
        Ok(crate::aof::Rewrite::Scheduled) => ctx.out.simple("Background append only file rewriting scheduled"),
        Err(e) => {
            tracing::warn!("Can't rewrite the append only file: {e}");
            return Err(CmdError::err(
                "Can't execute an AOF background rewriting. Please check the server logs for more information.",
            ));
        }
    }
    Ok(())
}

/// SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE] [ABORT]
fn shutdown(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (mut nosave, mut save, mut now, mut force, mut abort) = (false, false, false, false, false);
    while !args.is_empty() {
        let a = args.next_bytes()?;
        let flag = match a.to_ascii_lowercase().as_slice() {
            b"nosave" => &mut nosave,
            b"save" => &mut save,
            b"now" => &mut now,
            b"force" => &mut force,
            b"abort" => &mut abort,
            _ => return Err(CmdError::Syntax),
        };
        *flag = true;
    }
    if (abort && (nosave || save || now || force)) || (nosave && save) {
        return Err(CmdError::Syntax);
    }
    if abort {
        if !ctx.srv.shutdown.abort() {
            return Err(CmdError::err("No shutdown in progress."));
        }
        ctx.out.ok();
        return Ok(());
    }
    let srv = ctx.srv;
    let failed = || CmdError::err("Errors trying to SHUTDOWN. Check logs.");
    // Without SAVE or NOSAVE, the data is saved when save points are set;
    // never while a load runs (the file would lose what is not loaded yet).
    let loading = srv.loading.active.load(std::sync::atomic::Ordering::SeqCst);
    let saving = !loading && (save || (!nosave && !crate::persist::save_params(srv).is_empty()));
    // A script past busy-reply-threshold holds shards the save needs: only
    // SHUTDOWN NOSAVE can stop the server then.
    if saving {
        if let Some(e) = crate::scripting::busy_now(srv) {
            return Err(e);
        }
    }
    // Replicas catch up first (shutdown-timeout), unless NOW; SHUTDOWN
    // ABORT from another client ends the wait. The client counts as
    // blocked meanwhile.
    let info = ctx.client.info.clone();
    info.paused.store(true, std::sync::atomic::Ordering::Relaxed);
    let waited = crate::scripting::run_blocking(|| srv.shutdown.wait_for_replicas(srv, now));
    info.paused.store(false, std::sync::atomic::Ordering::Relaxed);
    if waited.is_err() {
        return Err(failed());
    }
    if !crate::shutdown::aof_allows_exit(srv, force) {
        srv.shutdown.cancel(srv);
        return Err(failed());
    }
    if saving {
        if crate::persist::shutdown_save(srv).is_err() && !force {
            tracing::warn!("Error trying to save the DB, can't exit.");
            tracing::warn!("Errors trying to shut down the server. Check the logs for more information.");
            srv.shutdown.cancel(srv);
            return Err(failed());
        }
    } else {
        srv.persist.cancel_bg();
    }
    ctx.srv.request_shutdown();
    // Redis closes the connection without a reply when it shuts down.
    ctx.effects.after = After::Close;
    Ok(())
}

/// True for loopback peers (enable-debug-command / enable-protected-configs
/// set to `local`).
pub fn is_local(addr: &str) -> bool {
    addr.starts_with("127.") || addr.starts_with("[::1]") || addr.is_empty()
}

// ---------------------------------------------------------------- CONFIG

/// CONFIG GET parameter [parameter ...]
fn config_get(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let pairs = ctx.srv.config.get_patterns(args.take_rest());
    ctx.out.map(pairs.len());
    for (k, v) in pairs {
        ctx.out.bulk(k);
        ctx.out.bulk(v);
    }
    Ok(())
}

/// CONFIG SET parameter value [parameter value ...]
fn config_set(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let rest = args.take_rest();
    if rest.len() % 2 == 1 {
        return Err(CmdError::Syntax);
    }
    let owned: Vec<(String, String)> = rest
        .chunks(2)
        .map(|p| (String::from_utf8_lossy(p[0]).into_owned(), String::from_utf8_lossy(p[1]).into_owned()))
        .collect();
    let pairs: Vec<(&str, &str)> = owned.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let protected_ok = match ctx.srv.config.get_text("enable-protected-configs").as_deref() {
        Some("yes") => true,
        Some("local") => is_local(&ctx.client.info.addr),
        _ => false,
    };
    // While loading, settings flagged deny-loading are refused with
    // LOADING, unless an earlier argument is wrong anyway (Redis's order).
    if ctx.srv.loading.active.load(std::sync::atomic::Ordering::Relaxed) {
        use crate::config::fl;
        for (name, _) in &pairs {
            let Some(it) = crate::config::lookup(name) else { break };
            if !it.mutable() || (it.flags & fl::PROTECTED != 0 && !protected_ok) {
                break;
            }
            if it.flags & fl::DENY_LOADING != 0 {
                return Err(CmdError::msg(crate::loading::LOADING_ERR));
            }
        }
    }
    ctx.srv.config.set_many(&pairs, protected_ok).map_err(|e| CmdError::err(e.to_string()))?;
    if let Some((_, v)) = pairs.iter().find(|(n, _)| n.eq_ignore_ascii_case("requirepass")) {
        ctx.srv.acl.set_requirepass(v.as_bytes());
    }
    if pairs.iter().any(|(n, _)| n.eq_ignore_ascii_case("repl-backlog-size")) {
        crate::replication::backlog_size_changed(ctx.srv);
    }
    if pairs
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("appendfsync") || n.eq_ignore_ascii_case("aof-timestamp-enabled"))
    {
        ctx.srv.aof.fsync_changed(ctx.srv);
    }
    if pairs.iter().any(|(n, _)| n.eq_ignore_ascii_case("appendonly")) {
        if crate::cfg_num!(ctx.srv.config, "appendonly") != 0
            && (ctx.nested || ctx.srv.persist.snapshot_busy.load(Ordering::SeqCst))
        {
            // (EXEC holds shards: the snapshot cannot take them all now.)
            crate::aof::turn_on_later(ctx.srv);
        } else if crate::cfg_num!(ctx.srv.config, "appendonly") != 0 {
            let srv = ctx.srv;
            let busy = || srv.scripting.busy.running();
            let r = match srv.keyspace.lock_all_unless(&busy) {
                Some(locked) => crate::aof::turn_on(srv, &locked),
                None => Err("a script is running".into()),
            };
            if let Err(e) = r {
                tracing::warn!(
                    "Redis needs to enable the AOF but can't trigger a background AOF rewrite operation: {e}"
                );
                let _ = srv.config.set_many(&[("appendonly", "no")], true);
                return Err(CmdError::err("CONFIG SET failed (possibly related to argument 'appendonly') - Unable to turn on AOF. Check server logs."));
            }
        } else {
            crate::aof::stop(ctx.srv);
        }
    }
    if pairs.iter().any(|(n, _)| n.eq_ignore_ascii_case("maxmemory")) {
        crate::evict::maxmemory_changed(ctx.srv, &mut ctx.locked);
    }
    if pairs.iter().any(|(k, _)| k.eq_ignore_ascii_case("tracking-table-max-keys")) {
        ctx.srv.tracking.enforce_limit(ctx.srv);
    }
    ctx.out.ok();
    Ok(())
}

/// CONFIG RESETSTAT
fn config_resetstat(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    reset_stats(ctx.srv);
    ctx.out.ok();
    Ok(())
}

/// Zeroes what CONFIG RESETSTAT resets: server counters, command and error
/// statistics, the memory peak.
pub fn reset_stats(srv: &Server) {
    srv.stats.reset();
    srv.client_mem.evicted.store(0, Ordering::Relaxed);
    srv.cmdstats.reset();
    srv.peak_memory.store(0, Ordering::Relaxed);
    srv.evictor.reset_stats();
    srv.lazyfree.reset_stats();
    for c in [&srv.repl.sync_full, &srv.repl.sync_partial_ok, &srv.repl.sync_partial_err] {
        c.store(0, Ordering::Relaxed);
    }
}

/// CONFIG REWRITE
fn config_rewrite(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    let Some(path) = ctx.srv.config.file() else {
        return Err(CmdError::err("The server is running without a config file"));
    };
    let fail =
        |e: std::io::Error| CmdError::err(format!("Rewriting config file: {}", crate::config::os_error_text(&e)));
    let old = match std::fs::read_to_string(&path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(fail(e)),
    };
    let mut new = ctx.srv.config.rewritten(&old);
    // Without an ACL file, the users live in the config file: their lines
    // are written anew from the current rules (Redis's
    // rewriteConfigUserOption).
    if ctx.srv.config.get_text("aclfile").is_none_or(|f| f.is_empty()) {
        let is_user = |l: &str| l.split_whitespace().next().is_some_and(|w| w.eq_ignore_ascii_case("user"));
        let mut lines: Vec<String> = new.lines().filter(|l| !is_user(l)).map(String::from).collect();
        for u in ctx.srv.acl.all() {
            let u = u.read();
            lines.push(format!("user {} {}", u.name, u.describe()));
        }
        new = lines.join("\n") + "\n";
    }
    // Write a sibling file then rename it over, so a crash never leaves half a config.
    let tmp = path.with_extension("rewrite.tmp");
    std::fs::write(&tmp, new).map_err(fail)?;
    std::fs::rename(&tmp, &path).map_err(fail)?;
    ctx.out.ok();
    Ok(())
}

/// CONFIG HELP
fn config_help(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    write_help(
        ctx.out,
        "CONFIG",
        &[
            "GET <pattern> [<pattern> ...]",
            "    The settings whose names match the glob-style patterns, with their values.",
            "SET <directive> <value> [<directive> <value> ...]",
            "    Changes settings; either all of them change or none does.",
            "RESETSTAT",
            "    Zeroes the statistics INFO reports.",
            "REWRITE",
            "    Writes the current settings into the configuration file.",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------- INFO

/// The sections INFO knows, in the order it prints them, and whether they
/// are part of `default`.
const SECTIONS: &[(&str, bool)] = &[
    ("server", true),
    ("clients", true),
    ("memory", true),
    ("persistence", true),
    ("stats", true),
    ("replication", true),
    ("cpu", true),
    ("modules", true),
    ("commandstats", false),
    ("errorstats", true),
    ("latencystats", false),
    ("cluster", true),
    ("keyspace", true),
];

/// INFO [section [section ...]]
fn info(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let mut wanted: Vec<&str> = Vec::new();
    let mut add = |name: &'static str| {
        if !wanted.contains(&name) {
            wanted.push(name);
        }
    };
    let rest = args.take_rest();
    if rest.is_empty() {
        SECTIONS.iter().filter(|s| s.1).for_each(|s| add(s.0));
    }
    for a in rest {
        let a = a.to_ascii_lowercase();
        match a.as_slice() {
            b"default" => SECTIONS.iter().filter(|s| s.1).for_each(|s| add(s.0)),
            // `all` leaves out module sections (there are none) but keeps
            // commandstats; `everything` adds the modules list.
            b"all" | b"everything" => SECTIONS.iter().for_each(|s| add(s.0)),
            name => {
                if let Some(s) = SECTIONS.iter().find(|s| s.0.as_bytes() == name) {
                    add(s.0);
                }
            }
        }
    }
    let order: Vec<&str> = SECTIONS.iter().map(|s| s.0).filter(|s| wanted.contains(s)).collect();
    let text = info_text(ctx, &order);
    ctx.out.verbatim("txt", text);
    Ok(())
}

/// The text of the given INFO sections.
pub fn info_text(ctx: &mut Ctx<'_>, sections: &[&str]) -> String {
    let mut s = String::new();
    for (i, name) in sections.iter().enumerate() {
        if i > 0 {
            s.push_str("\r\n");
        }
        match *name {
            "server" => server_section(ctx, &mut s),
            "clients" => clients_section(ctx.srv, &mut s),
            "memory" => memory_section(ctx.srv, &mut ctx.locked, &mut s),
            "persistence" => persistence_section(ctx.srv, &mut s),
            "stats" => stats_section(ctx.srv, &mut s),
            "replication" => replication_section(ctx.srv, &mut s),
            "cpu" => cpu_section(&mut s),
            "modules" => s.push_str("# Modules\r\n"),
            "commandstats" => commandstats_section(ctx.srv, &mut s),
            "errorstats" => errorstats_section(ctx.srv, &mut s),
            "latencystats" => latencystats_section(ctx.srv, &mut s),
            "cluster" => s.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
            "keyspace" => keyspace_section(ctx, &mut s),
            _ => {}
        }
    }
    s
}

macro_rules! fields {
    ($s:expr, $($name:literal => $v:expr),* $(,)?) => {
        $( let _ = write!($s, concat!($name, ":{}\r\n"), $v); )*
    };
}

fn os_name() -> String {
    // SAFETY: uname only fills the struct it is given.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return "Linux".into();
    }
    let f = |b: &[libc::c_char]| {
        let bytes: Vec<u8> = b.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    format!("{} {} {}", f(&u.sysname), f(&u.release), f(&u.machine))
}

fn server_section(ctx: &mut Ctx<'_>, s: &mut String) {
    let srv = ctx.srv;
    let uptime = srv.started.elapsed().as_secs();
    let hz = crate::cfg_num!(srv.config, "hz");
    let exe = std::env::current_exe().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
    let conf = srv.config.file().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
    s.push_str("# Server\r\n");
    fields!(s,
        "redis_version" => REDIS_VERSION,
        "hematite_version" => env!("CARGO_PKG_VERSION"),
        "redis_git_sha1" => "00000000",
        "redis_git_dirty" => 0,
        "redis_build_id" => "0",
        "redis_mode" => "standalone",
        "os" => os_name(),
        "arch_bits" => usize::BITS,
        "monotonic_clock" => "POSIX clock_gettime",
        "multiplexing_api" => "epoll",
        "atomicvar_api" => "c11-builtin",
        "gcc_version" => "0.0.0",
        "process_id" => std::process::id(),
        "process_supervised" => "no",
        "run_id" => &srv.run_id,
        "tcp_port" => srv.port.load(Ordering::Relaxed),
        "server_time_usec" => srv.clock.now_us(),
        "uptime_in_seconds" => uptime,
        "uptime_in_days" => uptime / 86400,
        "hz" => hz,
        "configured_hz" => hz,
        "lru_clock" => srv.lru_clock(),
        "executable" => exe,
        "config_file" => conf,
        "io_threads_active" => 0,
    );
    if let Some(ms) = srv.shutdown.remaining_ms() {
        fields!(s, "shutdown_in_milliseconds" => ms,);
    }
}

fn clients_section(srv: &Server, s: &mut String) {
    let all = srv.clients.all();
    // Clients held back by CLIENT PAUSE count as blocked, as in Redis.
    let paused = all.iter().filter(|c| c.paused.load(Ordering::Relaxed)).count();
    let blocked = srv.blocking.blocked_clients() + paused;
    let tracking = all.iter().filter(|c| c.flags.lock().contains('t')).count();
    let max_in = all.iter().map(|c| c.qbuf.load(Ordering::Relaxed)).max().unwrap_or(0);
    let max_out = all.iter().map(|c| c.omem.load(Ordering::Relaxed)).max().unwrap_or(0);
    // Replicas' connections are listed by CLIENT LIST but not counted here,
    // as in Redis.
    let replicas = all.iter().filter(|c| c.flags.lock().starts_with('S')).count();
    s.push_str("# Clients\r\n");
    fields!(s,
        "connected_clients" => all.len() - replicas,
        "cluster_connections" => 0,
        "maxclients" => crate::cfg_num!(srv.config, "maxclients"),
        "client_recent_max_input_buffer" => max_in,
        "client_recent_max_output_buffer" => max_out,
        "blocked_clients" => blocked,
        "tracking_clients" => tracking,
        "clients_in_timeout_table" => blocked,
    );
}

/// Redis's bytesToHuman: `100B`, `2.00K`, `1.50M` ...
pub fn bytes_to_human(n: u64) -> String {
    const UNITS: &[(u64, &str)] = &[(1 << 50, "P"), (1 << 40, "T"), (1 << 30, "G"), (1 << 20, "M"), (1 << 10, "K")];
    if n < 1024 {
        return format!("{n}B");
    }
    for &(size, unit) in UNITS.iter().rev() {
        if n < size * 1024 || unit == "P" {
            return format!("{:.2}{unit}", n as f64 / size as f64);
        }
    }
    format!("{n}B")
}

fn total_system_memory() -> u64 {
    let Ok(s) = std::fs::read_to_string("/proc/meminfo") else { return 0 };
    s.lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

fn memory_section(srv: &Server, held: &mut crate::storage::Locked<'_>, s: &mut String) {
    let (repl_backlog, repl_pending) = srv.repl.buffers();
    let o = super::memory::overhead(srv, held);
    let (used, peak) = (o.used, o.peak);
    let rss = crate::alloc::rss();
    let total = total_system_memory();
    let maxmemory = crate::cfg_num!(srv.config, "maxmemory").max(0) as u64;
    let policy = srv.config.get_text("maxmemory-policy").unwrap_or_default();
    let frag = if used > 0 { rss as f64 / used as f64 } else { 0.0 };
    let lua = srv.scripting.memory();
    s.push_str("# Memory\r\n");
    fields!(s,
        "used_memory" => used,
        "used_memory_human" => bytes_to_human(used),
        "used_memory_rss" => rss,
        "used_memory_rss_human" => bytes_to_human(rss),
        "used_memory_peak" => peak,
        "used_memory_peak_human" => bytes_to_human(peak),
        "used_memory_peak_perc" => format!("{:.2}%", if peak > 0 { used as f64 * 100.0 / peak as f64 } else { 0.0 }),
        "used_memory_overhead" => o.total,
        "used_memory_startup" => o.startup,
        "used_memory_dataset" => o.dataset(),
        "used_memory_dataset_perc" => format!("{:.2}%", if o.net() > 0 { o.dataset() as f64 * 100.0 / o.net() as f64 } else { 0.0 }),
        "total_system_memory" => total,
        "total_system_memory_human" => bytes_to_human(total),
        "used_memory_lua" => lua.vm_eval,
        "used_memory_vm_eval" => lua.vm_eval,
        "used_memory_lua_human" => bytes_to_human(lua.vm_eval),
        "used_memory_scripts_eval" => lua.scripts_eval,
        "number_of_cached_scripts" => lua.cached_scripts,
        "number_of_functions" => lua.num_functions,
        "number_of_libraries" => lua.num_libraries,
        "used_memory_vm_functions" => lua.vm_functions,
        "used_memory_vm_total" => lua.vm_eval + lua.vm_functions,
        "used_memory_vm_total_human" => bytes_to_human(lua.vm_eval + lua.vm_functions),
        "used_memory_functions" => lua.functions,
        "used_memory_scripts" => lua.scripts_eval + lua.functions,
        "used_memory_scripts_human" => bytes_to_human(lua.scripts_eval + lua.functions),
        "maxmemory" => maxmemory,
        "maxmemory_human" => bytes_to_human(maxmemory),
        "maxmemory_policy" => policy,
        "mem_fragmentation_ratio" => format!("{frag:.2}"),
        "mem_fragmentation_bytes" => rss as i64 - used as i64,
        // No replication backlog, replica or AOF buffers and no cluster
        // links: what is left out of the eviction figure is mail not yet
        // taken by its connection (evict::not_counted).
        "mem_not_counted_for_evict" => crate::evict::not_counted(srv),
        "mem_replication_backlog" => repl_backlog,
        "mem_total_replication_buffers" => repl_backlog + repl_pending,
        "mem_clients_slaves" => repl_pending,
        "mem_cluster_links" => 0,
        "mem_aof_buffer" => 0,
        "mem_allocator" => "libc",
        "active_defrag_running" => 0,
        "lazyfree_pending_objects" => srv.lazyfree.pending(),
        "lazyfreed_objects" => srv.lazyfree.freed(),
    );
}

fn persistence_section(srv: &Server, s: &mut String) {
    let p = &srv.persist;
    let (running, cur, last, done, total) = p.progress();
    s.push_str("# Persistence\r\n");
    fields!(s,
        "loading" => srv.loading.active.load(Ordering::Relaxed) as u8,
        "async_loading" => 0,
        "current_cow_peak" => 0,
        "current_cow_size" => 0,
        "current_cow_size_age" => 0,
        "current_fork_perc" => "0.00",
        "current_save_keys_processed" => done,
        "current_save_keys_total" => total,
        "rdb_changes_since_last_save" => srv.dirty.load(Ordering::Relaxed),
        "rdb_bgsave_in_progress" => running as u8,
        "rdb_last_save_time" => srv.lastsave.load(Ordering::Relaxed),
        "rdb_last_bgsave_status" => if p.last_bg_ok() { "ok" } else { "err" },
        "rdb_last_bgsave_time_sec" => last,
        "rdb_current_bgsave_time_sec" => cur,
        "rdb_saves" => p.saves.load(Ordering::Relaxed),
        "rdb_last_cow_size" => 0,
        "rdb_last_load_keys_expired" => p.loaded_expired.load(Ordering::Relaxed),
        "rdb_last_load_keys_loaded" => p.loaded_keys.load(Ordering::Relaxed),
    );
    srv.aof.info(s);
    fields!(s,
        "module_fork_in_progress" => 0,
        "module_fork_last_cow_size" => 0,
    );
    srv.aof.info_on(s);
    srv.loading.info(s);
}

fn stats_section(srv: &Server, s: &mut String) {
    let st = &srv.stats;
    let g = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    s.push_str("# Stats\r\n");
    fields!(s,
        "total_connections_received" => g(&st.connections_received),
        "total_commands_processed" => g(&st.commands_processed),
        "instantaneous_ops_per_sec" => 0,
        "total_net_input_bytes" => g(&st.net_input_bytes),
        "total_net_output_bytes" => g(&st.net_output_bytes),
        "total_net_repl_input_bytes" => g(&st.net_repl_input_bytes),
        "total_net_repl_output_bytes" => g(&st.net_repl_output_bytes),
        "instantaneous_input_kbps" => "0.00",
        "instantaneous_output_kbps" => "0.00",
        "instantaneous_input_repl_kbps" => "0.00",
        "instantaneous_output_repl_kbps" => "0.00",
        "rejected_connections" => g(&st.rejected_connections),
        "sync_full" => g(&srv.repl.sync_full),
        "sync_partial_ok" => g(&srv.repl.sync_partial_ok),
        "sync_partial_err" => g(&srv.repl.sync_partial_err),
        "expired_keys" => g(&st.expired_keys),
        "expired_stale_perc" => "0.00",
        "expired_time_cap_reached_count" => 0,
        "expire_cycle_cpu_milliseconds" => 0,
        "evicted_keys" => g(&st.evicted_keys),
        "evicted_clients" => srv.client_mem.evicted.load(Ordering::Relaxed),
        "total_eviction_exceeded_time" => srv.evictor.exceeded_ms(srv).0,
        "current_eviction_exceeded_time" => srv.evictor.exceeded_ms(srv).1,
        "keyspace_hits" => g(&st.keyspace_hits),
        "keyspace_misses" => g(&st.keyspace_misses),
        "pubsub_channels" => srv.pubsub.count(crate::pubsub::Kind::Channel),
        "pubsub_patterns" => srv.pubsub.count(crate::pubsub::Kind::Pattern),
        "pubsubshard_channels" => srv.pubsub.count(crate::pubsub::Kind::Shard),
        "latest_fork_usec" => 0,
        "total_forks" => srv.persist.snapshots.load(Ordering::Relaxed),
        "migrate_cached_sockets" => srv.migrate_cache.count(),
        "slave_expires_tracked_keys" => 0,
        "active_defrag_hits" => 0,
        "active_defrag_misses" => 0,
        "active_defrag_key_hits" => 0,
        "active_defrag_key_misses" => 0,
        "total_active_defrag_time" => 0,
        "current_active_defrag_time" => 0,
        "tracking_total_keys" => srv.tracking.totals().0,
        "tracking_total_items" => srv.tracking.totals().1,
        "tracking_total_prefixes" => srv.tracking.totals().2,
        "unexpected_error_replies" => g(&st.unexpected_error_replies),
        "total_error_replies" => g(&st.total_error_replies),
        "dump_payload_sanitizations" => 0,
        "total_reads_processed" => 0,
        "total_writes_processed" => 0,
        "io_threaded_reads_processed" => 0,
        "io_threaded_writes_processed" => 0,
        "reply_buffer_shrinks" => 0,
        "reply_buffer_expands" => 0,
    );
}

fn replication_section(srv: &Server, s: &mut String) {
    s.push_str("# Replication\r\n");
    crate::replication::info(srv, s);
}

fn rusage(who: libc::c_int) -> (f64, f64) {
    // SAFETY: getrusage only fills the struct it is given.
    let mut r: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(who, &mut r) } != 0 {
        return (0.0, 0.0);
    }
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    (t(r.ru_stime), t(r.ru_utime))
}

fn cpu_section(s: &mut String) {
    let (sys, user) = rusage(libc::RUSAGE_SELF);
    let (csys, cuser) = rusage(libc::RUSAGE_CHILDREN);
    // There is no single main thread: the thread serving INFO stands in.
    let (tsys, tuser) = rusage(libc::RUSAGE_THREAD);
    s.push_str("# CPU\r\n");
    fields!(s,
        "used_cpu_sys" => format!("{sys:.6}"),
        "used_cpu_user" => format!("{user:.6}"),
        "used_cpu_sys_children" => format!("{csys:.6}"),
        "used_cpu_user_children" => format!("{cuser:.6}"),
        "used_cpu_sys_main_thread" => format!("{tsys:.6}"),
        "used_cpu_user_main_thread" => format!("{tuser:.6}"),
    );
}

fn commandstats_section(srv: &Server, s: &mut String) {
    s.push_str("# Commandstats\r\n");
    let reg = registry();
    let mut entries: Vec<&super::Entry> = reg.entries.iter().filter(|e| e.handler.is_some()).collect();
    entries.sort_by_key(|e| e.spec.name);
    for e in entries {
        let st = &srv.cmdstats.per[e.index];
        let (calls, usec) = (st.calls.load(Ordering::Relaxed), st.usec.load(Ordering::Relaxed));
        let (rejected, failed) = (st.rejected.load(Ordering::Relaxed), st.failed.load(Ordering::Relaxed));
        if calls == 0 && rejected == 0 && failed == 0 {
            continue;
        }
        let per = if calls > 0 { usec as f64 / calls as f64 } else { 0.0 };
        let _ = write!(
            s,
            "cmdstat_{}:calls={calls},usec={usec},usec_per_call={per:.2},rejected_calls={rejected},failed_calls={failed}\r\n",
            e.spec.name
        );
    }
}

fn latencystats_section(srv: &Server, s: &mut String) {
    s.push_str("# Latencystats\r\n");
    if !srv.config.get_bool("latency-tracking") {
        return;
    }
    let percentiles: Vec<f64> = srv
        .config
        .get_text("latency-tracking-info-percentiles")
        .unwrap_or_default()
        .split(' ')
        .filter_map(|p| p.parse().ok())
        .collect();
    let reg = registry();
    let mut entries: Vec<&super::Entry> = reg.entries.iter().filter(|e| e.handler.is_some()).collect();
    entries.sort_by_key(|e| e.spec.name);
    for e in entries {
        let Some(counts) = srv.cmdstats.per[e.index].hist_counts().filter(|c| c.iter().any(|&n| n > 0)) else {
            continue;
        };
        let _ = write!(s, "latency_percentiles_usec_{}:", e.spec.name);
        for (i, p) in percentiles.iter().enumerate() {
            let v = crate::latency::hist::percentile(&counts, *p).unwrap_or(0) as f64 / 1000.0;
            let name = crate::config::trim_double(*p);
            let _ = write!(s, "{}p{name}={v:.3}", if i > 0 { "," } else { "" });
        }
        s.push_str("\r\n");
    }
}

fn errorstats_section(srv: &Server, s: &mut String) {
    s.push_str("# Errorstats\r\n");
    for (code, n) in srv.cmdstats.errors.lock().iter() {
        let _ = write!(s, "errorstat_{code}:count={n}\r\n");
    }
}

/// Adds one shard's keys, TTL-carrying keys and remaining TTLs per database.
fn tally(shard: &crate::storage::Shard, now: i64, acc: &mut [(u64, u64, i128)]) {
    for (d, db) in shard.dbs.iter().enumerate() {
        acc[d].0 += db.len() as u64;
        acc[d].1 += db.volatile.len() as u64;
        for k in db.volatile.iter() {
            if let Some(e) = db.get(k) {
                acc[d].2 += (e.expire_at - now).max(0) as i128;
            }
        }
    }
}

fn keyspace_section(ctx: &mut Ctx<'_>, s: &mut String) {
    s.push_str("# Keyspace\r\n");
    let srv = ctx.srv;
    let now = srv.clock.now_ms();
    // (keys, expires, sum of remaining TTLs in ms) per database. Inside
    // MULTI or a script every shard is already held; otherwise shards are
    // locked one at a time so INFO never stalls the whole keyspace.
    let mut acc = vec![(0u64, 0u64, 0i128); srv.keyspace.ndb()];
    if ctx.locked.holds_all() {
        for shard in ctx.locked.shards_mut() {
            tally(shard, now, &mut acc);
        }
    } else if srv.loading.active.load(Ordering::Relaxed) {
        // The loader holds the shards: what it has released (none, while
        // it runs) is counted, without waiting for the load.
        for i in 0..srv.keyspace.nshards() {
            if let Some(shard) = srv.keyspace.try_lock_shard(i) {
                tally(&shard, now, &mut acc);
            }
        }
    } else {
        for i in 0..srv.keyspace.nshards() {
            let reading = crate::storage::ReadOnly::enter();
            let shard = srv.keyspace.lock_shard(i);
            drop(reading);
            tally(&shard, now, &mut acc);
        }
    }
    for (d, (keys, expires, ttl_sum)) in acc.into_iter().enumerate() {
        if keys == 0 {
            continue;
        }
        let avg = if expires > 0 { (ttl_sum / expires as i128) as i64 } else { 0 };
        let _ = write!(s, "db{d}:keys={keys},expires={expires},avg_ttl={avg}\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_bytes() {
        assert_eq!(bytes_to_human(100), "100B");
        assert_eq!(bytes_to_human(2048), "2.00K");
        assert_eq!(bytes_to_human(1572864), "1.50M");
        assert_eq!(bytes_to_human(25276518400), "23.54G");
    }

    #[test]
    fn names() {
        assert!(validate_client_name(b"abc").is_ok());
        assert!(validate_client_name(b"a b").is_err());
        assert!(is_local("127.0.0.1:5") && !is_local("10.0.0.1:5"));
    }
}
