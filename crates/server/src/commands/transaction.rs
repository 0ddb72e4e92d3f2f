//! Transaction commands: MULTI, EXEC, DISCARD, WATCH, UNWATCH (see `txn`).

use super::Cmd;
use crate::args::Args;
use crate::cmdspec::table as t;
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::txn;
use std::sync::atomic::Ordering;

pub static COMMANDS: &[Cmd] = &[
    Cmd::new(&t::MULTI, multi),
    Cmd::new(&t::EXEC, exec),
    Cmd::new(&t::DISCARD, discard),
    Cmd::new(&t::WATCH, watch),
    Cmd::new(&t::UNWATCH, unwatch),
];

/// MULTI
fn multi(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::err("MULTI calls can not be nested"));
    }
    txn::begin(ctx.client);
    txn::publish_multi_len(ctx.client);
    ctx.out.ok();
    Ok(())
}

/// DISCARD
fn discard(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    if ctx.client.multi.is_none() {
        return Err(CmdError::err("DISCARD without MULTI"));
    }
    txn::discard(ctx.srv, ctx.client);
    ctx.out.ok();
    Ok(())
}

/// EXEC
fn exec(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    if ctx.client.multi.is_none() {
        return Err(CmdError::err("EXEC without MULTI"));
    }
    let srv = ctx.srv;
    let spec = ctx.spec;
    let give_up = || crate::scripting::busy_error(srv, spec).is_some();
    let Some((_run, locked)) = txn::lock_for_exec(srv, ctx.client, &give_up) else {
        return Err(crate::scripting::busy_error(srv, spec).unwrap_or_else(|| CmdError::err("busy")));
    };
    ctx.locked = locked;
    let Some(m) = ctx.client.multi.take() else { return Ok(()) };
    let now = ctx.now_ms;
    let dirty = ctx.client.watch.dirty.load(Ordering::Relaxed)
        || txn::watched_key_expired(srv, ctx.client, &mut ctx.locked, now);
    txn::discard(srv, ctx.client);
    if m.aborted {
        return Err(CmdError::ExecAbort);
    }
    if dirty {
        ctx.out.null_array();
        return Ok(());
    }
    let was_nested = ctx.nested;
    ctx.nested = true;
    ctx.out.array(m.queue.len());
    for q in &m.queue {
        let argv = m.argv(q);
        if let Some((key, shard, hash)) = m.first_key(q, &argv) {
            ctx.locked.hint_key(key, shard, hash);
        }
        srv.stats.commands_processed.fetch_add(1, Ordering::Relaxed);
        // ACLs are checked again: they may have changed since queuing.
        if let Some(u) = ctx.client.user.clone() {
            if let Err(d) = u.check(q.entry.spec, q.entry.index, &argv) {
                crate::acl::log_denied(srv, ctx.client, "multi", q.entry.spec, &argv, d);
                let reason = match d {
                    crate::acl::Denied::Command => "no permission to execute the command or subcommand",
                    crate::acl::Denied::Key(_) => "no permission to touch the specified keys",
                    crate::acl::Denied::Channel(_) => "no permission to access one of the channels used as arguments",
                };
                ctx.out.error(format!(
                    "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {reason}"
                ));
                continue;
            }
        }
        crate::dispatch::execute_locked(ctx, q.entry, &argv);
    }
    ctx.nested = was_nested;
    txn::end(ctx.client, m);
    Ok(())
}

/// WATCH key [key ...]
fn watch(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::err("WATCH inside MULTI is not allowed"));
    }
    // No point in watching more once a watched key has changed.
    if !ctx.client.watch.dirty.load(Ordering::Relaxed) {
        let db = ctx.client.db;
        let now = ctx.now_ms;
        for key in args.take_rest() {
            let expired = ctx.raw_db(key)?.get(key).map(|e| e.is_expired(now)).unwrap_or(false);
            txn::watch_key(ctx.srv, ctx.client, db, key, expired);
        }
    }
    ctx.out.ok();
    Ok(())
}

/// UNWATCH
fn unwatch(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    txn::unwatch_all(ctx.srv, ctx.client);
    ctx.client.watch.dirty.store(false, Ordering::Relaxed);
    ctx.out.ok();
    Ok(())
}
