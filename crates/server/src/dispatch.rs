//! The one place every command passes through.
//!
//! Order of checks, as Redis's processCommand: lookup (unknown command or
//! subcommand), arity, authentication; then the shards named by the key specs
//! are locked in ascending order (or all of them), the handler runs with a
//! frozen clock, its error (if any) becomes the reply, the locks are released,
//! and the effects it declared are carried out.

use crate::args::Args;
use crate::blocking::Waiter;
use crate::client::{Client, ReplyMode};
use crate::cmdspec::{f, CommandSpec, KeyPositions};
use crate::commands::{registry, Entry, Lock};
use crate::ctx::{After, Ctx, Effects};
use crate::error::CmdError;
use crate::server::Server;
use crate::storage::Key;
use resp::Out;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Redis's unknown-command message: the name and up to 128 bytes of arguments.
pub fn unknown_command(argv: &[&[u8]]) -> CmdError {
    let name: String = String::from_utf8_lossy(&argv[0][..argv[0].len().min(128)]).into_owned();
    let mut args = String::new();
    for a in &argv[1..] {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        let s = String::from_utf8_lossy(&a[..a.len().min(room)]).into_owned();
        args.push('\'');
        args.push_str(&s);
        args.push_str("' ");
    }
    CmdError::UnknownCommand { name, args }
}

/// Finds the entry for `argv` (descending into a container), checking arity.
pub fn resolve(argv: &[&[u8]]) -> Result<&'static Entry, CmdError> {
    let reg = registry();
    let top = reg.get(argv[0]).ok_or_else(|| unknown_command(argv))?;
    // A container runs its subcommand; COMMAND alone also runs by itself.
    let entry = if !top.subs.is_empty() && argv.len() >= 2 {
        reg.sub(top, argv[1]).ok_or_else(|| CmdError::UnknownSubcommand {
            cmd: String::from_utf8_lossy(argv[0]).to_uppercase(),
            sub: String::from_utf8_lossy(&argv[1][..argv[1].len().min(128)]).into_owned(),
        })?
    } else {
        top
    };
    if !entry.spec.arity_ok(argv.len()) || entry.handler.is_none() {
        return Err(CmdError::WrongArity(entry.spec.name.to_string()));
    }
    Ok(entry)
}

/// Runs one command from a client and appends its reply to `out`.
pub fn dispatch(srv: &Server, client: &mut Client, argv: &[&[u8]], out: &mut Out) -> After {
    let mark = out.len();
    let after = run(srv, client, argv, out);
    if client.monitor && is_script_call(argv[0]) {
        // A script is shown to monitors when it starts, so a monitor that
        // runs one (no-writes) gets its lines before the reply, as in Redis.
        let mut lines = Vec::new();
        client.info.take_mail(&mut lines);
        out.buf.splice(mark..mark, lines);
    }
    // CLIENT REPLY OFF / SKIP: the reply is dropped after the fact, except
    // (un)subscribe confirmations, which Redis pushes regardless.
    let keep = |out: &Out| is_subscription(argv[0]) && !out.buf[mark..].starts_with(b"-");
    match client.reply_mode {
        ReplyMode::Off if !keep(out) => drop_reply(out, mark),
        ReplyMode::Off => {}
        ReplyMode::Skipping => {
            if !keep(out) {
                drop_reply(out, mark);
            }
            client.reply_mode = ReplyMode::On;
        }
        ReplyMode::SkipNext => client.reply_mode = ReplyMode::Skipping,
        ReplyMode::On => {}
    }
    after
}

/// EVAL, EVALSHA, FCALL and their _RO forms.
fn is_script_call(name: &[u8]) -> bool {
    ["eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"]
        .iter()
        .any(|n| name.eq_ignore_ascii_case(n.as_bytes()))
}

/// Drops what a silenced command wrote after `mark`, except the pushes it
/// sent its own connection (keyspace events, PUBLISH to itself), those
/// written in the middle of a reply (XREADGROUP's xgroup-createconsumer, a
/// pop's event) included: Redis silences replies, not pushes.
fn drop_reply(out: &mut Out, mark: usize) {
    let mut keep: smallvec::SmallVec<[(usize, usize); 4]> = smallvec::SmallVec::new();
    let mut at = mark;
    while at < out.buf.len() {
        let base = at;
        let Some(n) = resp::value_len_pushes(&out.buf[at..], &mut |a, n| keep.push((base + a, n))) else { break };
        if out.buf[at] == b'>' {
            keep.push((at, n));
        }
        at += n;
    }
    let mut to = mark;
    for (from, n) in keep {
        out.buf.copy_within(from..from + n, to);
        to += n;
    }
    out.buf.truncate(to);
}

/// (P|S)(UN)SUBSCRIBE: commands whose whole reply is push messages.
fn is_subscription(name: &[u8]) -> bool {
    let n = name.len();
    n >= 9
        && name[n - 9..].eq_ignore_ascii_case(b"subscribe")
        && matches!(name[..n - 9].to_ascii_lowercase().as_slice(), b"" | b"p" | b"s" | b"un" | b"pun" | b"sun")
}

/// Redis's rejectCommand: a refused command spoils an open transaction; a
/// refused EXEC discards it and gives the reason in an EXECABORT.
fn reject_command(srv: &Server, client: &mut Client, entry: &Entry, argv: &[&[u8]], out: &mut Out, e: CmdError) {
    crate::txn::flag(client);
    if entry.spec.name != "exec" {
        return reject(srv, out, e);
    }
    crate::txn::discard(srv, client);
    // Redis's formatted rejections (arity, subscribed context, replica)
    // carry no "ERR " there; its shared errors (OOM, NOAUTH, BUSY ...)
    // never start with it.
    let msg = e.to_string();
    let why = msg.strip_prefix("ERR ").unwrap_or(&msg);
    reject(srv, out, CmdError::msg(format!("EXECABORT Transaction discarded because of: {why}")));
    // Monitors saw the MULTI: they see this EXEC end it.
    if srv.monitors.active() {
        crate::cmdlog::feed_refused_exec(srv, client, argv);
    }
}

fn reject(srv: &Server, out: &mut Out, e: CmdError) {
    srv.stats.total_error_replies.fetch_add(1, Ordering::Relaxed);
    let msg = e.to_string();
    srv.cmdstats.error(&msg);
    out.error(msg);
}

/// Counts a command refused before it ran (INFO commandstats `rejected_calls`).
fn count_rejected(srv: &Server, entry: &Entry) {
    srv.cmdstats.per[entry.index].rejected.fetch_add(1, Ordering::Relaxed);
}

/// Redis's rejectCommand: a command refused before it runs is counted as
/// rejected and flags an open transaction; a refused EXEC discards it.
pub(crate) fn refuse(srv: &Server, client: &mut Client, entry: &Entry, argv: &[&[u8]], out: &mut Out, e: CmdError) {
    count_rejected(srv, entry);
    reject_command(srv, client, entry, argv, out, e);
}

/// The entry an arity error is about (top-level or subcommand).
fn entry_for_stats(argv: &[&[u8]]) -> Option<&'static Entry> {
    let reg = registry();
    let top = reg.get(argv[0])?;
    if !top.subs.is_empty() && argv.len() >= 2 {
        reg.sub(top, argv[1])
    } else {
        Some(top)
    }
}

/// Counters a connection keeps to itself between flushes, so commands on
/// different cores do not fight over the shared counters' cache lines. Only
/// data commands (`batches`) wait here, one command's calls at a time; any
/// other command (INFO, CLIENT LIST, EXEC, EVAL ...) flushes them before it
/// runs and counts itself directly, and the end of every batch of input
/// flushes them before its replies are written. What INFO reports is thus
/// exact for the connection asking and at most one batch behind for others.
#[derive(Default)]
pub struct Pending {
    /// Registry index of the command counted (meaningful when `calls > 0`).
    entry: usize,
    calls: u64,
    usec: u64,
    /// Commands run from the connection (nested ones not counted).
    processed: u64,
    /// Keyspace hits and misses (any command).
    hits: u64,
    misses: u64,
    /// Whether counts wait here at all: only connection clients flush, so
    /// the short-lived clients of blocked-command serving and the like
    /// count straight into the shared counters.
    pub batched: bool,
}

impl Pending {
    /// Counts a keyspace hit or miss (INFO stats).
    pub fn keyspace(&mut self, srv: &Server, hit: bool) {
        match (self.batched, hit) {
            (true, true) => self.hits += 1,
            (true, false) => self.misses += 1,
            (false, true) => _ = srv.stats.keyspace_hits.fetch_add(1, Ordering::Relaxed),
            (false, false) => _ = srv.stats.keyspace_misses.fetch_add(1, Ordering::Relaxed),
        }
    }
}

/// Adds what `client` has pending to the shared counters.
pub fn flush_stats(srv: &Server, client: &mut Client) {
    let p = &mut client.pending;
    if p.calls > 0 {
        let stat = &srv.cmdstats.per[p.entry];
        stat.calls.fetch_add(p.calls, Ordering::Relaxed);
        stat.usec.fetch_add(p.usec, Ordering::Relaxed);
        (p.calls, p.usec) = (0, 0);
    }
    if p.processed > 0 {
        srv.stats.commands_processed.fetch_add(p.processed, Ordering::Relaxed);
        client.info.tot_cmds.fetch_add(std::mem::take(&mut p.processed), Ordering::Relaxed);
    }
    if p.hits > 0 {
        srv.stats.keyspace_hits.fetch_add(std::mem::take(&mut p.hits), Ordering::Relaxed);
    }
    if p.misses > 0 {
        srv.stats.keyspace_misses.fetch_add(std::mem::take(&mut p.misses), Ordering::Relaxed);
    }
}

/// True if `spec`'s counts may wait in `Pending`: it reads or writes keys,
/// so it cannot report statistics (scripts and transactions excepted).
fn batches(spec: &CommandSpec) -> bool {
    spec.has(f::WRITE | f::READONLY) && !spec.has(f::NOSCRIPT)
}

/// Counts one run of `entry` taking `usec` (INFO commandstats).
fn count_call(srv: &Server, client: &mut Client, entry: &Entry, usec: u64) {
    if !client.pending.batched || !batches(entry.spec) {
        let stat = &srv.cmdstats.per[entry.index];
        stat.calls.fetch_add(1, Ordering::Relaxed);
        stat.usec.fetch_add(usec, Ordering::Relaxed);
        return;
    }
    if client.pending.calls > 0 && client.pending.entry != entry.index {
        flush_stats(srv, client);
    }
    let p = &mut client.pending;
    p.entry = entry.index;
    p.calls += 1;
    p.usec += usec;
}

/// `resolve`, trying the client's previous command first: a pipeline of
/// one command resolves with a single comparison.
fn resolve_cached(client: &mut Client, argv: &[&[u8]]) -> Result<&'static Entry, CmdError> {
    if let Some(e) = client.last_entry {
        // Only commands without subcommands (COMMAND alone runs, but
        // COMMAND LIST must not), reached by their own name.
        if e.subs.is_empty()
            && e.handler.is_some()
            && argv[0].eq_ignore_ascii_case(e.spec.name.as_bytes())
            && e.spec.arity_ok(argv.len())
        {
            return Ok(e);
        }
    }
    let e = resolve(argv)?;
    client.last_entry = Some(e);
    Ok(e)
}

fn run(srv: &Server, client: &mut Client, argv: &[&[u8]], out: &mut Out) -> After {
    let entry = match resolve_cached(client, argv) {
        Ok(e) => e,
        Err(e) => {
            if matches!(e, CmdError::WrongArity(_)) {
                if let Some(entry) = entry_for_stats(argv) {
                    count_rejected(srv, entry);
                    // EXEC with arguments aborts (and discards) like any
                    // refused EXEC, as Redis's rejectCommand does.
                    if entry.spec.name == "exec" {
                        reject_command(srv, client, entry, argv, out, e);
                        return After::Continue;
                    }
                }
            }
            crate::txn::flag(client);
            reject(srv, out, e);
            return After::Continue;
        }
    };
    if !client.authenticated && !entry.spec.has(f::NO_AUTH) && srv.acl.auth_required() {
        refuse(srv, client, entry, argv, out, CmdError::NoAuth);
        return After::Continue;
    }
    if client.multi.is_some() && entry.spec.has(f::NO_MULTI) {
        refuse(srv, client, entry, argv, out, CmdError::err("Command not allowed inside a transaction"));
        return After::Continue;
    }
    if let Some(u) = &client.user {
        if let Err(d) = u.check(entry.spec, entry.index, argv) {
            let msg = crate::acl::denied(srv, client, entry.spec, argv, d);
            refuse(srv, client, entry, argv, out, CmdError::msg(msg));
            return After::Continue;
        }
    }
    if !client.master && crate::evict::refuse_oom(srv, client, entry, argv, out) {
        return After::Continue;
    }
    // stop-writes-on-bgsave-error after a failed BGSAVE, or a failing AOF:
    // writes (and PING) are refused until the disk works again, as Redis
    // does.
    if (!srv.persist.last_bg_ok() || srv.aof.failing())
        && !client.master
        && (entry.spec.name == "ping" || may_write(srv, client, entry.spec, argv))
    {
        if let Some(why) = crate::persist::disk_refusal(srv) {
            refuse(srv, client, entry, argv, out, CmdError::msg(why));
            return After::Continue;
        }
    }
    // NOREPLICAS, then READONLY (Redis's order).
    if (srv.repl.is_replica() || crate::cfg_num!(srv.config, "min-replicas-to-write") > 0)
        && may_write(srv, client, entry.spec, argv)
    {
        if let Some(why) = crate::replication::write_refusal(srv, client) {
            refuse(srv, client, entry, argv, out, CmdError::msg(why));
            return After::Continue;
        }
    }
    // A RESP2 connection in subscribed mode can only (un)subscribe, PING,
    // QUIT and RESET: its replies share the stream with messages.
    if client.proto == resp::Protocol::Resp2 && client.info.in_pubsub() && !SUBSCRIBED_OK.contains(&entry.spec.name) {
        refuse(
            srv,
            client,
            entry,
            argv,
            out,
            CmdError::err(format!(
                "Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
                entry.spec.full_name()
            )),
        );
        return After::Continue;
    }
    // replica-serve-stale-data no: while the link is down only commands
    // flagged stale run (EXEC: if all it queued are).
    // A script that declared flags without allow-stale is refused too
    // (Redis takes the stale flag off EVAL/FCALL for it).
    if running_stale(srv)
        && (lacks_flag(client, entry, f::STALE)
            || script_denies_stale(srv, entry.spec, argv)
            || queued_script_denies_stale(srv, client, entry))
    {
        refuse(srv, client, entry, argv, out, CmdError::msg(MASTERDOWN));
        return After::Continue;
    }
    // A dataset is being loaded: only commands flagged loading run (EXEC:
    // if all it queued are).
    if srv.loading.active.load(Ordering::Relaxed) && lacks_flag(client, entry, f::LOADING) {
        refuse(srv, client, entry, argv, out, CmdError::msg(crate::loading::LOADING_ERR));
        return After::Continue;
    }
    if let Some(e) = crate::scripting::busy_error(srv, entry.spec) {
        refuse(srv, client, entry, argv, out, e);
        return After::Continue;
    }
    if client.monitor && touches_keyspace(srv, client, entry.spec, argv) {
        // Redis treats a monitor as a replica, which may not use the keyspace.
        refuse(srv, client, entry, argv, out, CmdError::err("Replica can't interact with the keyspace"));
        return After::Continue;
    }
    if client.multi.is_some() && !ends_multi(entry.spec) {
        crate::txn::queue(srv, client, entry, argv);
        out.simple("QUEUED");
        return After::Continue;
    }
    let batch = client.pending.batched && batches(entry.spec);
    if !batch || client.pending.entry != entry.index {
        flush_stats(srv, client);
    }
    if batch {
        client.pending.processed += 1;
    } else {
        srv.stats.commands_processed.fetch_add(1, Ordering::Relaxed);
        client.info.tot_cmds.fetch_add(1, Ordering::Relaxed);
    }
    client.info.last_cmd.store(entry.index, Ordering::Relaxed);
    let after = execute(srv, client, entry, argv, out);
    // CLIENT CACHING lasts for one command (CLIENT subcommands excepted), or
    // for a whole transaction.
    if client.tracking.caching && client.multi.is_none() && !entry.spec.name.starts_with("client|") {
        client.tracking.caching = false;
    }
    after
}

/// Redis's is_read_command / is_write_command / is_may_replicate_command
/// (EXEC: by the commands it would run; a script with a shebang: by its
/// flags, as getCommandFlags: writes unless no-writes, never may-replicate).
fn touches_keyspace(srv: &Server, client: &Client, spec: &CommandSpec, argv: &[&[u8]]) -> bool {
    use crate::scripting::flags;
    if spec.name.starts_with("eval") || spec.name.starts_with("fcall") {
        let fl = argv.get(1).and_then(|a| crate::evict::script_flags(srv, spec, a));
        if let Some(fl) = fl.filter(|fl| fl & flags::EVAL_COMPAT == 0) {
            return fl & flags::NO_WRITES == 0 || spec.has(f::READONLY);
        }
    }
    let own = |s: &CommandSpec| s.has(f::WRITE | f::READONLY) || s.may_replicate();
    own(spec)
        || (spec.name == "exec" && client.multi.as_ref().is_some_and(|m| m.queue.iter().any(|q| own(q.entry.spec))))
}

/// Redis's is_write_command: the command's write flag, EXEC by the commands
/// it would run, a script with a shebang by its flags.
fn may_write(srv: &Server, client: &Client, spec: &CommandSpec, argv: &[&[u8]]) -> bool {
    use crate::scripting::flags;
    if spec.name.starts_with("eval") || spec.name.starts_with("fcall") {
        let fl = argv.get(1).and_then(|a| crate::evict::script_flags(srv, spec, a));
        if let Some(fl) = fl.filter(|fl| fl & flags::EVAL_COMPAT == 0) {
            return fl & flags::NO_WRITES == 0;
        }
    }
    spec.has(f::WRITE)
        || (spec.name == "exec"
            && client.multi.as_ref().is_some_and(|m| m.queue.iter().any(|q| q.entry.spec.has(f::WRITE))))
}

/// Redis's reply to a command refused on a stale replica.
pub const MASTERDOWN: &str = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";

/// True on a replica whose link with its master is down while
/// replica-serve-stale-data is no: only commands flagged stale run.
pub fn running_stale(srv: &Server) -> bool {
    srv.repl.is_replica() && crate::cfg_num!(srv.config, "replica-serve-stale-data") == 0 && !srv.repl.link_up()
}

/// An EVAL or FCALL of a script that declared its flags (a shebang, or a
/// function) without allow-stale.
fn script_denies_stale(srv: &Server, spec: &CommandSpec, argv: &[&[u8]]) -> bool {
    use crate::scripting::flags;
    (spec.name.starts_with("eval") || spec.name.starts_with("fcall"))
        && argv
            .get(1)
            .and_then(|a| crate::evict::script_flags(srv, spec, a))
            .is_some_and(|fl| fl & (flags::EVAL_COMPAT | flags::ALLOW_STALE) == 0)
}

/// An EXEC whose queue holds such a script (Redis takes the script's flags
/// into the transaction's when it queues the command).
fn queued_script_denies_stale(srv: &Server, client: &Client, entry: &Entry) -> bool {
    entry.spec.name == "exec"
        && client
            .multi
            .as_ref()
            .is_some_and(|m| m.queue.iter().any(|q| script_denies_stale(srv, q.entry.spec, &m.argv(q))))
}

/// The command lacks `flag` (stale, loading), or it is an EXEC whose queue
/// holds a command that lacks it (Redis's cmd_inv_flags).
fn lacks_flag(client: &Client, entry: &Entry, flag: u64) -> bool {
    !entry.spec.has(flag)
        || (entry.spec.name == "exec"
            && client.multi.as_ref().is_some_and(|m| m.queue.iter().any(|q| !q.entry.spec.has(flag))))
}

/// Commands a RESP2 client may run while subscribed.
const SUBSCRIBED_OK: &[&str] =
    &["ping", "subscribe", "ssubscribe", "unsubscribe", "sunsubscribe", "psubscribe", "punsubscribe", "quit", "reset"];

/// Client-side caching: the keys a read-only command named are remembered
/// for the tracking client (also for commands run by EXEC, as Redis does in
/// `call`). For scripts Redis remembers the keys the script declared, once
/// it has called any read-only command, never those of the calls inside.
fn track_read(ctx: &mut Ctx<'_>, entry: &'static Entry, argv: &[&[u8]]) {
    let spec = entry.spec;
    if spec.name.starts_with("eval") || spec.name.starts_with("fcall") {
        if !std::mem::take(&mut ctx.client.tracking.script_read) {
            return;
        }
    } else if ctx.in_script {
        ctx.client.tracking.script_read |= spec.has(f::READONLY);
        return;
    } else if !spec.has(f::READONLY) || spec.has(f::PUBSUB) {
        return;
    }
    let mut pos = KeyPositions::new();
    spec.key_positions(argv, &mut pos);
    if !pos.is_empty() {
        ctx.srv.tracking.remember(ctx.srv, ctx.client, pos.iter().map(|&i| argv[i]));
    }
}

/// Commands that run at once inside MULTI instead of being queued.
fn ends_multi(spec: &CommandSpec) -> bool {
    matches!(spec.name, "exec" | "discard" | "multi" | "watch" | "quit" | "reset")
}

/// Locks what `entry` needs and runs it. Used by the dispatcher and by
/// anything that replays commands (transactions and scripts use
/// `execute_locked` with the locks they already hold).
pub fn execute(srv: &Server, client: &mut Client, entry: &'static Entry, argv: &[&[u8]], out: &mut Out) -> After {
    let (after, effects) = execute_inner(srv, client, entry, argv, out, None);
    finish(srv, effects);
    after.unwrap_or_default()
}

/// Locks, runs, and handles a block request while the locks are still held.
/// `serving` is the waiter being served by a re-execution: a command that
/// would block again is not registered anew; the waiter is unclaimed (under
/// the locks, so a writer that follows can claim it) and `None` is returned.
fn execute_inner(
    srv: &Server,
    client: &mut Client,
    entry: &'static Entry,
    argv: &[&[u8]],
    out: &mut Out,
    serving: Option<&Waiter>,
) -> (Option<After>, Effects) {
    // While a script runs, wait for the shards in short slices so that a
    // script passing busy-reply-threshold turns the wait into a BUSY reply
    // (and this worker stays free for SCRIPT KILL).
    // A load (which holds every shard) makes a waiting command give up
    // with LOADING, so no worker waits out a load.
    let loading = || srv.loading.active.load(Ordering::Relaxed);
    let give_up = || crate::scripting::busy_error(srv, entry.spec).is_some() || loading();
    // A read-only command leaves a snapshot's pending shards to be copied
    // by the next writer (its lazy expiry removes only keys that any later
    // load of the snapshot would drop too).
    let _reading = entry.spec.has(f::READONLY).then(crate::storage::ReadOnly::enter);
    let locked = match entry.lock {
        Lock::All
            if entry.spec.name == "debug" && argv.get(1).is_some_and(|s| crate::commands::debug::keyspace_free(s)) =>
        {
            Some(srv.keyspace.lock_none())
        }
        Lock::All => srv.keyspace.lock_all_unless(&give_up),
        Lock::Keys => {
            let mut pos = KeyPositions::new();
            entry.spec.key_positions(argv, &mut pos);
            if pos.is_empty() {
                Some(srv.keyspace.lock_none())
            } else {
                let hints = &mut client.key_hints;
                srv.keyspace.lock_keys_hinted(pos.iter().map(|&i| argv[i]), |k| hints.find(k), &give_up)
            }
        }
    };
    drop(_reading);
    let Some(locked) = locked else {
        let e = crate::scripting::busy_error(srv, entry.spec).unwrap_or_else(|| {
            if loading() {
                CmdError::msg(crate::loading::LOADING_ERR)
            } else {
                CmdError::err("busy")
            }
        });
        reject(srv, out, e);
        return (Some(After::Continue), Effects::default());
    };
    let now_ms = match &client.batch_clock {
        Some(b) => {
            client.cmd_start = Some(b.mark);
            srv.clock.at_mark(b)
        }
        None => srv.clock.now_ms(),
    };
    let mut ctx = Ctx::new(srv, client, out, locked, now_ms, entry.spec);
    execute_locked(&mut ctx, entry, argv);
    if serving.is_none() && srv.monitors.active() {
        // Still holding the command's keys: monitors see commands on the
        // same keys in the order they ran.
        crate::cmdlog::feed(&ctx, entry.spec, argv);
    }
    if serving.is_some() {
        // A blocked command is one call however many times it is re-run
        // (Redis counts it once, when it is unblocked).
        srv.cmdstats.per[entry.index].calls.fetch_sub(1, Ordering::Relaxed);
    }
    if !ctx.pending.is_empty() {
        // Still holding the shards: the call's place in the serial order.
        srv.feed.commit(&mut ctx.pending);
        if srv.repl.streaming() {
            ctx.client.woff = srv.repl.stream.offset();
        }
    }
    let Ctx { mut effects, locked, client, .. } = ctx;
    let mut after = Some(std::mem::take(&mut effects.after));
    if let Some(req) = effects.block.take() {
        match serving {
            Some(w) => {
                w.unclaim();
                after = None;
            }
            None => {
                let owned = argv.iter().map(|a| a.to_vec()).collect();
                let mut w = Waiter::new(client.info.clone(), client.db, client.proto, owned, *req);
                w.silent = matches!(client.reply_mode, ReplyMode::Off | ReplyMode::Skipping);
                let w = Arc::new(w);
                srv.blocking.register(w.clone());
                after = Some(After::Block(w));
            }
        }
    }
    drop(locked);
    (after, effects)
}

/// Runs the handler inside an existing context (locks already held).
pub fn execute_locked(ctx: &mut Ctx<'_>, entry: &'static Entry, argv: &[&[u8]]) {
    let Some(handler) = entry.handler else { return };
    let mut args = Args::new(argv, entry.skip);
    let saved = ctx.spec;
    ctx.spec = entry.spec;
    if !batches(entry.spec) {
        // INFO, CLIENT LIST ... inside a transaction or script see all counts.
        flush_stats(ctx.srv, ctx.client);
    }
    let t0 = ctx.client.cmd_start.take().unwrap_or_else(crate::server::ticks::now);
    let dirty0 = ctx.dirty;
    let outer_prop = std::mem::take(&mut ctx.prop);
    let result = handler(ctx, &mut args);
    if ctx.srv.feed.on() {
        record_propagation(ctx, entry, argv, dirty0);
    }
    ctx.prop = outer_prop;
    let t1 = crate::server::ticks::now();
    if let Some(b) = ctx.client.batch_clock.as_mut() {
        b.mark = t1;
    }
    let ns = crate::server::ticks::nanos(t0, t1);
    let usec = ns / 1000;
    count_call(ctx.srv, ctx.client, entry, usec);
    if usec >= ctx.srv.config.slowlog_threshold() {
        crate::cmdlog::log_slow(ctx, entry.spec, argv, usec);
    }
    if usec >= ctx.srv.config.latency_threshold() {
        crate::latency::command_ran(ctx, entry.spec, usec);
    }
    // Top-level commands are shown by `execute_inner` (not when a blocked
    // one is served again); those of EXEC and scripts here.
    if ctx.nested && ctx.srv.monitors.active() {
        crate::cmdlog::feed(ctx, entry.spec, argv);
    }
    let stat = &ctx.srv.cmdstats.per[entry.index];
    // As Redis, a command that blocks enters its latency histogram once,
    // when it is served, with both runs' time (`serve_key`); one that
    // times out never does.
    if let Some(b) = ctx.effects.block.as_mut() {
        b.first_ns = ns;
    } else if !ctx.client.serving && crate::cfg_num!(ctx.srv.config, "latency-tracking") != 0 {
        stat.record(ns);
    }
    if let Err(e) = result {
        stat.failed.fetch_add(1, Ordering::Relaxed);
        ctx.srv.stats.total_error_replies.fetch_add(1, Ordering::Relaxed);
        let msg = e.to_string();
        ctx.srv.cmdstats.error(&msg);
        ctx.out.error(msg);
    }
    if ctx.client.tracking.on {
        track_read(ctx, entry, argv);
    }
    ctx.spec = saved;
}

/// Redis's call(): a command that changed something (or forced it) goes to
/// the call's ops, as it ran or as its handler rewrote it. EXEC is never
/// propagated itself (its commands are).
fn record_propagation(ctx: &mut Ctx<'_>, entry: &'static Entry, argv: &[&[u8]], dirty0: u64) {
    let flags = std::mem::take(&mut ctx.prop);
    if flags.prevent || entry.spec.name == "exec" {
        return;
    }
    let mut target = if ctx.dirty > dirty0 { crate::propagate::ALL } else { 0 };
    target |= flags.force;
    target &= ctx.prop_target;
    if ctx.client.master || ctx.srv.repl.is_replica() {
        // A replica passes its master's stream on as it came, and only
        // that: the writes of its own clients (a writable replica) go to
        // its AOF alone, as Redis's replicationFeedSlaves ignores them.
        target &= crate::propagate::AOF;
    }
    if target == 0 {
        return;
    }
    let db = ctx.client.db;
    match &flags.rewrite {
        Some(v) => ctx.pending.push(db, target, v),
        None => ctx.pending.push(db, target, argv),
    }
}

/// Carries out effects after the locks are released: serves the clients
/// blocked on keys the command made ready, then on keys those served
/// commands made ready, until none are left. Whoever runs commands with
/// `execute_locked` under its own locks calls this after releasing them.
pub fn finish(srv: &Server, effects: Effects) {
    if effects.ready_keys.is_empty() {
        return;
    }
    let mut round = effects.ready_keys;
    while !round.is_empty() {
        // A key signalled several times in one round is served once.
        let mut seen = std::collections::HashSet::new();
        round.retain(|k| seen.insert(k.clone()));
        let mut next = Vec::new();
        for (db, key) in &round {
            serve_key(srv, *db, key, &mut next);
        }
        round = next;
    }
}

/// Redis 7.0 serves a client blocked on several keys from the key that
/// became ready and looks at none of its other keys: not the first of them
/// that has data (they differ when one transaction fills several, served in
/// the order they were signalled), nor one that holds another type (which
/// would answer WRONGTYPE), nor, if the ready key is empty again, any other
/// (the client stays blocked). So the command is re-run on the ready key
/// alone: BLPOP a b c 0 served from c runs as BLPOP c 0, BLMPOP 0 2 a b
/// LEFT as BLMPOP 0 1 b LEFT, XREAD ... STREAMS a b 1-0 2-0 as XREAD ...
/// STREAMS b 2-0 (a key named twice keeps its first ID, as Redis's block
/// does). Commands with one blocking key among others (BLMOVE) are left
/// alone.
fn narrow_to_ready_key<'a>(entry: &'static Entry, argv: &mut Vec<&'a [u8]>, key: &'a [u8]) {
    use crate::cmdspec::{Begin, Find};
    let [spec] = entry.spec.key_specs else { return };
    let mut pos = KeyPositions::new();
    entry.spec.key_positions(argv, &mut pos);
    let (Some(&first), Some(&last), Some(&at)) = (pos.first(), pos.last(), pos.iter().find(|&&i| argv[i] == key))
    else {
        return;
    };
    if pos.len() < 2 || last - first + 1 != pos.len() {
        return;
    }
    let mut v: Vec<&'a [u8]> = Vec::with_capacity(argv.len() - pos.len() + 2);
    v.extend_from_slice(&argv[..first]);
    v.push(key);
    match spec.find {
        // XREAD: the IDs follow the keys, one each.
        Find::Range { limit: 2, .. } => v.push(argv[at + pos.len()]),
        Find::KeyNum { keynum_idx, .. } => match spec.begin {
            Begin::Index(b) => v[(b + keynum_idx) as usize] = b"1",
            _ => return,
        },
        _ => {}
    }
    let rest = if matches!(spec.find, Find::Range { limit: 2, .. }) { last + 1 + pos.len() } else { last + 1 };
    v.extend_from_slice(&argv[rest.min(argv.len())..]);
    *argv = v;
}

/// The type name of the value at `key`, if any (expired or not).
fn type_of(srv: &Server, db: usize, key: &[u8]) -> Option<&'static str> {
    let mut locked = srv.keyspace.lock_keys([key]);
    let shard = locked.shard_mut(key)?;
    shard.dbs.get(db)?.get(key).map(|e| e.value.type_name())
}

/// Serves the waiters of one ready key, first in line first.
fn serve_key(srv: &Server, db: usize, key: &[u8], more: &mut Vec<(usize, Key)>) {
    let current = type_of(srv, db, key);
    for w in srv.blocking.waiters_of(db, key) {
        // XREADGROUP is the exception: a key that stopped being a stream
        // ends its wait with an error (Redis's unblockDeletedStreamReadgroupClients).
        let readgroup = w.argv.first().is_some_and(|c| c.eq_ignore_ascii_case(b"xreadgroup"));
        if matches!((w.key_type, current), (Some(want), Some(have)) if want != have) && !readgroup {
            continue;
        }
        if !w.claim() {
            // Timing out, disconnecting, or being served elsewhere.
            continue;
        }
        let mut argv: Vec<&[u8]> = w.argv.iter().map(|a| a.as_slice()).collect();
        let Ok(entry) = resolve(&argv) else {
            srv.blocking.unregister(&w);
            w.send(w.timeout_bytes());
            continue;
        };
        narrow_to_ready_key(entry, &mut argv, key);
        let mut shadow = Client::new(w.info.clone(), true);
        shadow.db = w.db;
        shadow.proto = w.proto;
        shadow.serving = true;
        let mut out = Out::new(w.proto);
        let t0 = crate::server::ticks::now();
        let mail_mark = w.info.mail_len();
        let (after, effects) = execute_inner(srv, &mut shadow, entry, &argv, &mut out, Some(&w));
        if after.is_none() {
            if w.serve_all {
                continue;
            }
            return;
        }
        srv.blocking.unregister(&w);
        let ns = crate::server::ticks::nanos(t0, crate::server::ticks::now());
        let usec = ns / 1000;
        if crate::cfg_num!(srv.config, "latency-tracking") != 0 {
            srv.cmdstats.per[entry.index].record(w.first_ns + ns);
        }
        crate::cmdlog::log_unblocked(srv, &w, Some(usec));
        srv.latency.observe(srv, crate::latency::event::COMMAND_UNBLOCKING, usec);
        w.send_before(out.buf, Some(mail_mark));
        more.extend(effects.ready_keys);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn narrowed(line: &str, key: &str) -> String {
        let owned: Vec<String> = line.split(' ').map(String::from).collect();
        let mut argv: Vec<&[u8]> = owned.iter().map(|a| a.as_bytes()).collect();
        let entry = resolve(&argv).unwrap();
        narrow_to_ready_key(entry, &mut argv, key.as_bytes());
        argv.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn served_on_the_ready_key_alone() {
        assert_eq!(narrowed("blpop a b c 0", "c"), "blpop c 0");
        assert_eq!(narrowed("brpop a b 0", "a"), "brpop a 0");
        assert_eq!(narrowed("brpop a 0", "a"), "brpop a 0");
        assert_eq!(narrowed("bzpopmax a b a 1.5", "a"), "bzpopmax a 1.5");
        assert_eq!(narrowed("blmpop 0 2 a b left count 3", "b"), "blmpop 0 1 b left count 3");
        assert_eq!(narrowed("bzmpop 0 3 a b c min", "c"), "bzmpop 0 1 c min");
        assert_eq!(narrowed("blmove s d left left 0", "s"), "blmove s d left left 0");
        assert_eq!(narrowed("brpoplpush s s 0", "s"), "brpoplpush s s 0");
        assert_eq!(narrowed("xread count 5 block 0 streams a b 1-0 2-0", "b"), "xread count 5 block 0 streams b 2-0");
        assert_eq!(narrowed("xread block 0 streams a b a 1-0 2-0 3-0", "a"), "xread block 0 streams a 1-0");
        assert_eq!(
            narrowed("xreadgroup group g c count 1000 block 0 noack streams a b > >", "a"),
            "xreadgroup group g c count 1000 block 0 noack streams a >"
        );
        // A key the command does not name (cannot happen) changes nothing.
        assert_eq!(narrowed("blpop a b 0", "z"), "blpop a b 0");
    }
}
