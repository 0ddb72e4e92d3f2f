//! CLUSTER, READONLY, READWRITE and ASKING on a server without cluster
//! support: each answers Redis's error for a standalone instance (client
//! libraries probe CLUSTER INFO to learn the mode). Argument counts and
//! unknown subcommands get the dispatcher's usual errors first, as in
//! Redis.

use super::Cmd;
use crate::args::Args;
use crate::cmdspec::table as t;
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};

pub static COMMANDS: &[Cmd] = &[
    Cmd::new(&t::ASKING, disabled),
    Cmd::new(&t::READONLY, disabled),
    Cmd::new(&t::READWRITE, disabled),
    Cmd::new(&t::CLUSTER_ADDSLOTS, disabled),
    Cmd::new(&t::CLUSTER_ADDSLOTSRANGE, disabled),
    Cmd::new(&t::CLUSTER_BUMPEPOCH, disabled),
    Cmd::new(&t::CLUSTER_COUNT_FAILURE_REPORTS, disabled),
    Cmd::new(&t::CLUSTER_COUNTKEYSINSLOT, disabled),
    Cmd::new(&t::CLUSTER_DELSLOTS, disabled),
    Cmd::new(&t::CLUSTER_DELSLOTSRANGE, disabled),
    Cmd::new(&t::CLUSTER_FAILOVER, disabled),
    Cmd::new(&t::CLUSTER_FLUSHSLOTS, disabled),
    Cmd::new(&t::CLUSTER_FORGET, disabled),
    Cmd::new(&t::CLUSTER_GETKEYSINSLOT, disabled),
    Cmd::new(&t::CLUSTER_HELP, disabled),
    Cmd::new(&t::CLUSTER_INFO, disabled),
    Cmd::new(&t::CLUSTER_KEYSLOT, disabled),
    Cmd::new(&t::CLUSTER_LINKS, disabled),
    Cmd::new(&t::CLUSTER_MEET, disabled),
    Cmd::new(&t::CLUSTER_MYID, disabled),
    Cmd::new(&t::CLUSTER_NODES, disabled),
    Cmd::new(&t::CLUSTER_REPLICAS, disabled),
    Cmd::new(&t::CLUSTER_REPLICATE, disabled),
    Cmd::new(&t::CLUSTER_RESET, disabled),
    Cmd::new(&t::CLUSTER_SAVECONFIG, disabled),
    Cmd::new(&t::CLUSTER_SET_CONFIG_EPOCH, disabled),
    Cmd::new(&t::CLUSTER_SETSLOT, disabled),
    Cmd::new(&t::CLUSTER_SHARDS, disabled),
    Cmd::new(&t::CLUSTER_SLAVES, disabled),
    Cmd::new(&t::CLUSTER_SLOTS, disabled),
];

fn disabled(_ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    Err(CmdError::err("This instance has cluster support disabled"))
}
