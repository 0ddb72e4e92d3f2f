//! Replication commands: SYNC, PSYNC, REPLCONF, REPLICAOF / SLAVEOF, ROLE,
//! WAIT (the protocol itself is in replication.rs).

use super::Cmd;
use crate::args::Args;
use crate::cmdspec::table as t;
use crate::ctx::{After, Ctx};
use crate::error::{CmdError, CmdResult};
use std::sync::atomic::Ordering;

pub static COMMANDS: &[Cmd] = &[
    Cmd::new(&t::SYNC, sync),
    Cmd::new(&t::PSYNC, psync),
    Cmd::new(&t::REPLCONF, replconf),
    Cmd::new(&t::REPLICAOF, replicaof),
    Cmd::new(&t::SLAVEOF, replicaof),
    Cmd::new(&t::ROLE, role),
    Cmd::new(&t::WAIT, wait),
    Cmd::new(&t::FAILOVER, failover),
];

/// The checks SYNC and PSYNC share (Redis's syncCommand).
fn may_sync(ctx: &mut Ctx<'_>) -> Result<(), CmdError> {
    if ctx.srv.repl.failover.lock().state != crate::replication::FailoverState::None {
        return Err(CmdError::msg("NOMASTERLINK Can't SYNC while failing over"));
    }
    if let Some(l) = ctx.srv.repl.master.lock().as_ref() {
        if *l.state.lock() != "connected" {
            return Err(CmdError::msg("NOMASTERLINK Can't SYNC while not connected with my master"));
        }
    }
    if ctx.nested {
        return Err(CmdError::err("Command not allowed inside a transaction"));
    }
    Ok(())
}

/// SYNC
fn sync(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    may_sync(ctx)?;
    ctx.effects.after = After::Replica(crate::replication::SyncRequest { psync: None });
    Ok(())
}

/// PSYNC replicationid offset
fn psync(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let id = String::from_utf8_lossy(args.next_bytes()?).into_owned();
    let off = args.next_bytes()?;
    if args.remaining() > 0 && args.peek().is_some_and(|a| a.eq_ignore_ascii_case(b"failover")) {
        // Our master hands over (its FAILOVER): we take over if it is the
        // master whose stream we have.
        if !ctx.srv.repl.is_replica() {
            return Err(CmdError::err("PSYNC FAILOVER can't be sent to a master."));
        }
        if *ctx.srv.replid.lock() != id {
            return Err(CmdError::err("PSYNC FAILOVER replid must match my replid."));
        }
        crate::replication::promote(ctx.srv);
        tracing::info!("MASTER MODE enabled (failover request from 'id={}')", ctx.client.id);
    }
    may_sync(ctx)?;
    // A bad offset is no error: the replica gets a full sync.
    let off = std::str::from_utf8(off).ok().and_then(|s| s.parse::<i64>().ok()).unwrap_or(-1);
    ctx.effects.after = After::Replica(crate::replication::SyncRequest { psync: Some((id, off)) });
    Ok(())
}

/// REPLCONF option value [option value ...]
fn replconf(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    if args.remaining() % 2 == 1 {
        return Err(CmdError::Syntax);
    }
    while !args.is_empty() {
        let opt = args.next_bytes()?.to_ascii_lowercase();
        let val = args.next_bytes()?;
        match opt.as_slice() {
            b"listening-port" => {
                let p =
                    std::str::from_utf8(val).ok().and_then(|s| s.parse::<i64>().ok()).ok_or(CmdError::NotInteger)?;
                ctx.client.replica_port = p.clamp(0, 65535) as u16;
            }
            b"ip-address" | b"capa" | b"rdb-only" => {}
            b"rdb-filter-only" => {
                for f in String::from_utf8_lossy(val).split_whitespace() {
                    if !f.eq_ignore_ascii_case("functions") {
                        return Err(CmdError::err(format!("Unsupported rdb-filter-only option: {f}")));
                    }
                }
            }
            // From a replica's link (handled there) or a replica's own
            // master: nothing to answer.
            b"ack" | b"getack" => return Ok(()),
            _ => return Err(CmdError::err(format!("Unrecognized REPLCONF option: {}", String::from_utf8_lossy(&opt)))),
        }
    }
    ctx.out.ok();
    Ok(())
}

/// REPLICAOF host port | NO ONE (and SLAVEOF)
fn replicaof(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let host = args.next_bytes()?;
    let port = args.next_bytes()?;
    let srv = ctx.srv;
    if srv.repl.failover.lock().state != crate::replication::FailoverState::None {
        return Err(CmdError::err("REPLICAOF not allowed while failing over."));
    }
    if host.eq_ignore_ascii_case(b"no") && port.eq_ignore_ascii_case(b"one") {
        if srv.repl.is_replica() {
            crate::replication::promote(srv);
            tracing::info!("MASTER MODE enabled (user request from 'id={}')", ctx.client.id);
        }
        ctx.out.ok();
        return Ok(());
    }
    if ctx.client.info.flags.lock().contains('S') {
        return Err(CmdError::err("Command is not valid when client is a replica."));
    }
    let port = std::str::from_utf8(port)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|p| (0..=65535).contains(p))
        .ok_or_else(|| CmdError::err("Invalid master port"))?;
    let host = String::from_utf8_lossy(host).into_owned();
    if let Some(l) = srv.repl.master.lock().as_ref() {
        if l.host.eq_ignore_ascii_case(&host) && l.port as i64 == port {
            ctx.out.simple("OK Already connected to specified master");
            return Ok(());
        }
    }
    let Some(me) = crate::persist::server_arc(srv) else { return Err(CmdError::err("replication is not available")) };
    crate::replication::replicaof(&me, host, port as u16);
    ctx.out.ok();
    Ok(())
}

/// ROLE
fn role(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    let srv = ctx.srv;
    let offset = srv.repl.stream.offset() as i64;
    if let Some(l) = srv.repl.master.lock().clone() {
        let state = *l.state.lock();
        ctx.out.array(5);
        ctx.out.bulk("slave");
        ctx.out.bulk(&l.host);
        ctx.out.int(l.port as i64);
        ctx.out.bulk(state);
        ctx.out.int(if state == "connected" { offset } else { -1 });
        return Ok(());
    }
    let replicas = srv.repl.replicas();
    ctx.out.array(3);
    ctx.out.bulk("master");
    ctx.out.int(offset);
    let online: Vec<_> =
        replicas.iter().filter(|r| r.state.load(Ordering::Relaxed) == crate::replication::ONLINE).collect();
    ctx.out.array(online.len());
    for r in online {
        ctx.out.array(3);
        ctx.out.bulk(&r.ip);
        ctx.out.bulk(r.port.load(Ordering::Relaxed).to_string());
        ctx.out.bulk(r.ack.load(Ordering::Relaxed).to_string());
    }
    Ok(())
}

/// WAIT numreplicas timeout: the number of replicas that acknowledged this
/// connection's last write, once `numreplicas` have or at the timeout.
fn wait(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let n = args.next_i64().map_err(|_| CmdError::NotInteger)?;
    let deadline = crate::blocking::parse_timeout_ms(args.next_bytes()?, ctx.now_ms)?;
    if ctx.srv.repl.is_replica() {
        return Err(CmdError::err("WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated."));
    }
    let offset = ctx.client.woff;
    let acked = ctx.srv.repl.acked(offset);
    if n <= 0 || acked as i64 >= n || !ctx.may_block() {
        ctx.out.int(acked as i64);
        return Ok(());
    }
    ctx.srv.repl.request_acks(ctx.srv);
    ctx.effects.after = After::Wait { n: n as usize, offset, deadline_ms: deadline };
    Ok(())
}

/// FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT milliseconds]: hands
/// the master role to a replica once it has the whole stream (Redis's
/// failoverCommand; the progress is in replication.rs).
fn failover(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    use crate::replication::FailoverState;
    let srv = ctx.srv;
    if args.remaining() == 1 && args.peek().is_some_and(|a| a.eq_ignore_ascii_case(b"abort")) {
        if srv.repl.failover.lock().state == FailoverState::None {
            return Err(CmdError::err("No failover in progress."));
        }
        crate::replication::abort_failover(srv, "Failover manually aborted");
        ctx.out.ok();
        return Ok(());
    }
    let (mut timeout, mut force, mut target): (i64, bool, Option<(String, i64)>) = (0, false, None);
    while !args.is_empty() {
        if timeout == 0 && args.remaining() >= 2 && args.eat("TIMEOUT") {
            timeout = crate::args::parse_i64(args.next_bytes()?)?;
            if timeout <= 0 {
                return Err(CmdError::err("FAILOVER timeout must be greater than 0"));
            }
        } else if target.is_none() && args.remaining() >= 3 && args.eat("TO") {
            let host = String::from_utf8_lossy(args.next_bytes()?).into_owned();
            let port = crate::args::parse_i64(args.next_bytes()?)?;
            target = Some((host, port));
        } else if !force && args.eat("FORCE") {
            force = true;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if srv.repl.failover.lock().state != FailoverState::None {
        return Err(CmdError::err("FAILOVER already in progress."));
    }
    if srv.repl.is_replica() {
        return Err(CmdError::err("FAILOVER is not valid when server is a replica."));
    }
    let replicas = srv.repl.replicas();
    if replicas.is_empty() {
        return Err(CmdError::err("FAILOVER requires connected replicas."));
    }
    if force && (timeout == 0 || target.is_none()) {
        return Err(CmdError::err("FAILOVER with force option requires both a timeout and target HOST and IP."));
    }
    let target = match target {
        Some((host, port)) => {
            let Some(r) = replicas
                .iter()
                .find(|r| r.ip.eq_ignore_ascii_case(&host) && r.port.load(Ordering::Relaxed) as i64 == port)
            else {
                return Err(CmdError::err("FAILOVER target HOST and PORT is not a replica."));
            };
            if r.state.load(Ordering::Relaxed) != crate::replication::ONLINE {
                return Err(CmdError::err("FAILOVER target replica is not online."));
            }
            Some((r.ip.clone(), port as u16))
        }
        None => None,
    };
    let Some(me) = crate::persist::server_arc(srv) else { return Err(CmdError::err("replication is not available")) };
    if !crate::replication::start_failover(&me, target, timeout, force) {
        return Err(CmdError::err("FAILOVER already in progress."));
    }
    ctx.out.ok();
    Ok(())
}
