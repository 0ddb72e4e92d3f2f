//! Generic key commands.

use super::Cmd;
use crate::args::Args;
use crate::cmdspec::table as t;
use crate::ctx::Ctx;
use crate::error::CmdResult;
use crate::notify;

pub static COMMANDS: &[Cmd] = &[Cmd::new(&t::DEL, del), Cmd::new(&t::EXISTS, exists), Cmd::new(&t::TYPE, type_)];

/// DEL key [key ...]
fn del(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let mut n = 0;
    for key in args.take_rest() {
        if ctx.delete(key)? {
            ctx.notify(notify::GENERIC, "del", key);
            n += 1;
        }
    }
    ctx.out.int(n);
    Ok(())
}

/// EXISTS key [key ...]
fn exists(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let mut n = 0;
    for key in args.take_rest() {
        if ctx.lookup_read(key)?.is_some() {
            n += 1;
        }
    }
    ctx.out.int(n);
    Ok(())
}

/// TYPE key
fn type_(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let name = match ctx.peek(key)? {
        Some(e) => e.value.type_name(),
        None => "none",
    };
    ctx.out.simple(name);
    Ok(())
}
