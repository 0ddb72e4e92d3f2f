//! SLOWLOG: the log of commands that ran longer than
//! `slowlog-log-slower-than` (kept and fed by cmdlog.rs).

use super::Cmd;
use crate::args::Args;
use crate::cmdspec::table as t;
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};

pub static COMMANDS: &[Cmd] = &[
    Cmd::new(&t::SLOWLOG_GET, slowlog_get),
    Cmd::new(&t::SLOWLOG_LEN, slowlog_len),
    Cmd::new(&t::SLOWLOG_RESET, slowlog_reset),
    Cmd::new(&t::SLOWLOG_HELP, slowlog_help),
];

/// SLOWLOG GET [count]
fn slowlog_get(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    // One optional argument: more is Redis's subcommand syntax error.
    if args.remaining() > 1 {
        return Err(CmdError::subcommand_syntax(args.all()));
    }
    let mut count = Some(10);
    if let Some(c) = args.peek() {
        let msg = || CmdError::err("count should be greater than or equal to -1");
        let n = types::num::parse_i64(c).ok_or_else(msg)?;
        count = match n {
            -1 => None,
            n if n < -1 => return Err(msg()),
            // Past the log's length the whole log is sent.
            n => Some(usize::try_from(n).unwrap_or(usize::MAX)),
        };
    }
    let out = &mut *ctx.out;
    ctx.srv.slowlog.newest(count, |entries| {
        out.array(entries.len());
        for e in entries {
            out.array(6);
            out.int(e.id as i64);
            out.int(e.time);
            out.int(e.usec as i64);
            out.array(e.args.len());
            for a in &e.args {
                out.bulk(a);
            }
            out.bulk(e.addr.as_bytes());
            out.bulk(&e.name);
        }
    });
    Ok(())
}

/// SLOWLOG LEN
fn slowlog_len(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    ctx.out.int(ctx.srv.slowlog.len() as i64);
    Ok(())
}

/// SLOWLOG RESET
fn slowlog_reset(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    ctx.srv.slowlog.reset();
    ctx.out.ok();
    Ok(())
}

/// SLOWLOG HELP
fn slowlog_help(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    super::scripting::reply_help(
        ctx,
        "SLOWLOG",
        &[
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ],
    );
    Ok(())
}
