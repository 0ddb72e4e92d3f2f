//! The one place every command passes through.
//!
//! Order of checks, as Redis's processCommand: lookup (unknown command or
//! subcommand), arity, authentication; then the shards named by the key specs
//! are locked in ascending order (or all of them), the handler runs with a
//! frozen clock, its error (if any) becomes the reply, the locks are released,
//! and the effects it declared are carried out.

use crate::args::Args;
use crate::client::{Client, ReplyMode};
use crate::cmdspec::{f, CommandSpec};
use crate::commands::{registry, Entry, Lock};
use crate::ctx::{After, Ctx, Effects};
use crate::error::CmdError;
use crate::server::Server;
use resp::Out;
use std::sync::atomic::Ordering;

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
    let entry = if top.handler.is_none() && argv.len() >= 2 {
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
    // CLIENT REPLY OFF / SKIP: the reply is dropped after the fact.
    match client.reply_mode {
        ReplyMode::Off => out.buf.truncate(mark),
        ReplyMode::Skipping => {
            out.buf.truncate(mark);
            client.reply_mode = ReplyMode::On;
        }
        ReplyMode::SkipNext => client.reply_mode = ReplyMode::Skipping,
        ReplyMode::On => {}
    }
    after
}

fn reject(srv: &Server, out: &mut Out, e: CmdError) {
    srv.stats.total_error_replies.fetch_add(1, Ordering::Relaxed);
    out.error(e.to_string());
}

fn run(srv: &Server, client: &mut Client, argv: &[&[u8]], out: &mut Out) -> After {
    let entry = match resolve(argv) {
        Ok(e) => e,
        Err(e) => {
            crate::txn::flag(client);
            reject(srv, out, e);
            return After::Continue;
        }
    };
    if !client.authenticated && !entry.spec.has(f::NO_AUTH) {
        crate::txn::flag(client);
        reject(srv, out, CmdError::NoAuth);
        return After::Continue;
    }
    if client.multi.is_some() && entry.spec.has(f::NO_MULTI) {
        crate::txn::flag(client);
        reject(srv, out, CmdError::err("Command not allowed inside a transaction"));
        return After::Continue;
    }
    if let Some(e) = crate::scripting::busy_error(srv, entry.spec) {
        crate::txn::flag(client);
        reject(srv, out, e);
        return After::Continue;
    }
    if client.multi.is_some() && !ends_multi(entry.spec) {
        crate::txn::queue(client, entry, argv);
        out.simple("QUEUED");
        return After::Continue;
    }
    srv.stats.commands_processed.fetch_add(1, Ordering::Relaxed);
    client.info.tot_cmds.fetch_add(1, Ordering::Relaxed);
    *client.info.last_cmd.lock() = entry.spec.name;
    execute(srv, client, entry, argv, out)
}

/// Commands that run at once inside MULTI instead of being queued.
fn ends_multi(spec: &CommandSpec) -> bool {
    matches!(spec.name, "exec" | "discard" | "multi" | "watch" | "quit" | "reset")
}

/// Locks what `entry` needs and runs it. Used by the dispatcher and by
/// anything that replays commands (transactions and scripts use
/// `execute_locked` with the locks they already hold).
pub fn execute(srv: &Server, client: &mut Client, entry: &'static Entry, argv: &[&[u8]], out: &mut Out) -> After {
    // While a script runs, wait for the shards in short slices so that a
    // script passing busy-reply-threshold turns the wait into a BUSY reply
    // (and this worker stays free for SCRIPT KILL).
    let give_up = || crate::scripting::busy_error(srv, entry.spec).is_some();
    let locked = match entry.lock {
        Lock::All => srv.keyspace.lock_all_unless(&give_up),
        Lock::Keys => {
            let mut pos = Vec::new();
            entry.spec.key_positions(argv, &mut pos);
            if pos.is_empty() {
                Some(srv.keyspace.lock_none())
            } else {
                srv.keyspace.lock_keys_unless(pos.iter().map(|&i| argv[i]), &give_up)
            }
        }
    };
    let Some(locked) = locked else {
        let e = crate::scripting::busy_error(srv, entry.spec).unwrap_or(CmdError::err("busy"));
        reject(srv, out, e);
        return After::Continue;
    };
    let mut ctx = Ctx {
        srv,
        client,
        out,
        locked,
        now_ms: srv.clock.now_ms(),
        spec: entry.spec,
        effects: Effects::default(),
        nested: false,
    };
    execute_locked(&mut ctx, entry, argv);
    let Ctx { effects, locked, .. } = ctx;
    drop(locked);
    finish(srv, effects)
}

/// Runs the handler inside an existing context (locks already held).
pub fn execute_locked(ctx: &mut Ctx<'_>, entry: &'static Entry, argv: &[&[u8]]) {
    let Some(handler) = entry.handler else { return };
    let skip = if entry.spec.name.contains('|') { 2 } else { 1 };
    let mut args = Args::new(argv, skip);
    let saved = ctx.spec;
    ctx.spec = entry.spec;
    if let Err(e) = handler(ctx, &mut args) {
        ctx.srv.stats.total_error_replies.fetch_add(1, Ordering::Relaxed);
        ctx.out.error(e.to_string());
    }
    ctx.spec = saved;
}

/// Carries out effects after the locks are released.
fn finish(_srv: &Server, effects: Effects) -> After {
    effects.after
}
