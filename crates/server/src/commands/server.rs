//! Server commands.

use super::Cmd;
use crate::args::Args;
use crate::cmdspec::table as t;
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};

/// The Redis version we are compatible with (what clients see).
pub const REDIS_VERSION: &str = "7.0.15";

pub static COMMANDS: &[Cmd] = &[Cmd::new(&t::DBSIZE, dbsize).lock_all(), Cmd::new(&t::FLUSHALL, flushall).lock_all()];

/// Redis's rule for client names: no spaces, newlines or other special
/// characters.
pub fn validate_client_name(n: &[u8]) -> Result<(), CmdError> {
    if n.iter().any(|&c| c < b'!' || c > b'~') {
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

/// FLUSHALL [ASYNC | SYNC]
fn flushall(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    if !args.is_empty() && !args.eat("ASYNC") && !args.eat("SYNC") {
        return Err(CmdError::Syntax);
    }
    args.finish()?;
    crate::txn::touch_all_watched(ctx.srv, &mut ctx.locked, ctx.now_ms);
    for s in ctx.locked.shards_mut() {
        for db in s.dbs.iter_mut() {
            db.clear();
        }
    }
    ctx.out.ok();
    Ok(())
}
