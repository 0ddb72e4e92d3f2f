//! MONITOR: a connection that is shown every command the server runs
//! (the stream is written by cmdlog.rs; the dispatcher keeps a monitor
//! away from the keyspace, as Redis does with replicas).

use super::Cmd;
use crate::args::Args;
use crate::client::Client;
use crate::cmdspec::table as t;
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::server::Server;

pub static COMMANDS: &[Cmd] = &[Cmd::new(&t::MONITOR, monitor)];

/// MONITOR
fn monitor(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    // Inside EXEC a client must get one reply per command.
    if ctx.nested {
        return Err(CmdError::err("MONITOR isn't allowed for DENY BLOCKING client"));
    }
    // Already monitoring: Redis ignores it, without a reply.
    if ctx.client.monitor {
        return Ok(());
    }
    ctx.client.monitor = true;
    ctx.client.info.set_flag('O', true);
    ctx.srv.monitors.add(ctx.client.info.clone());
    ctx.out.ok();
    Ok(())
}

/// Ends MONITOR mode (RESET, disconnection).
pub fn stop(srv: &Server, client: &mut Client) {
    if client.monitor {
        client.monitor = false;
        client.info.set_flag('O', false);
        srv.monitors.remove(client.id);
    }
}
