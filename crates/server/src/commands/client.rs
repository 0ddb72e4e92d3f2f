//! The CLIENT family: a connection looking at and steering connections.
//!
//! What other connections may see or act on lives in `ClientInfo` (shared
//! through the registry); a connection's own state is its `Client`. CLIENT
//! KILL asks the target's task to close (it notices at once through its
//! `kill` notifier); killing oneself closes after the reply. CLIENT PAUSE
//! sets `Server::pause`, which the connection loop consults before running a
//! command (see `net.rs`). UNBLOCK, TRACKING, CACHING, TRACKINGINFO and
//! GETREDIR belong to the blocking and client-side-caching families.

use super::command::write_help;
use super::server::validate_client_name;
use super::Cmd;
use crate::args::Args;
use crate::client::{ClientInfo, ReplyMode};
use crate::cmdspec::{extra, table as t};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;

pub static COMMANDS: &[Cmd] = &[
    Cmd::new(&t::CLIENT_ID, id),
    Cmd::new(&t::CLIENT_SETNAME, setname),
    Cmd::new(&t::CLIENT_GETNAME, getname),
    Cmd::new(&t::CLIENT_LIST, list),
    Cmd::new(&t::CLIENT_INFO, info),
    Cmd::new(&t::CLIENT_KILL, kill),
    Cmd::new(&t::CLIENT_PAUSE, pause),
    Cmd::new(&t::CLIENT_UNPAUSE, unpause),
    Cmd::new(&t::CLIENT_REPLY, reply),
    Cmd::new(&t::CLIENT_NO_EVICT, no_evict),
    Cmd::new(&extra::CLIENT_NO_TOUCH, no_touch),
    Cmd::new(&extra::CLIENT_SETINFO, setinfo),
    Cmd::new(&t::CLIENT_HELP, help),
];

/// Connection kinds as CLIENT LIST TYPE and CLIENT KILL TYPE name them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Normal,
    Replica,
    Master,
    Pubsub,
}

fn parse_kind(name: &[u8]) -> Result<Kind, CmdError> {
    Ok(match name.to_ascii_lowercase().as_slice() {
        b"normal" => Kind::Normal,
        b"slave" | b"replica" => Kind::Replica,
        b"master" => Kind::Master,
        b"pubsub" => Kind::Pubsub,
        _ => return Err(CmdError::err(format!("Unknown client type '{}'", String::from_utf8_lossy(name)))),
    })
}

fn kind_of(c: &ClientInfo) -> Kind {
    let flags = c.flags.lock();
    if flags.contains('S') {
        Kind::Replica
    } else if flags.contains('M') {
        Kind::Master
    } else if flags.contains('P') {
        Kind::Pubsub
    } else {
        Kind::Normal
    }
}

/// One CLIENT LIST line, in Redis 7.0's field order, without the newline.
pub fn describe(c: &ClientInfo, now_ms: i64, out: &mut String) {
    let name = c.name.lock().clone().unwrap_or_default();
    let age = (now_ms - c.created_ms).max(0) / 1000;
    let idle = (now_ms - c.last_interaction_ms.load(Ordering::Relaxed)).max(0) / 1000;
    let qbuf = c.qbuf.load(Ordering::Relaxed);
    let omem = c.omem.load(Ordering::Relaxed);
    let multi = c.in_multi.load(Ordering::Relaxed);
    let _ = write!(
        out,
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} \
         qbuf={} qbuf-free={} argv-mem={} multi-mem={} rbs={} rbp={} obl={} oll={} omem={} tot-mem={} events=r \
         cmd={} user={} redir={} resp={}",
        c.id,
        c.addr,
        c.laddr,
        c.fd.load(Ordering::Relaxed),
        String::from_utf8_lossy(&name),
        age,
        idle,
        c.flags.lock(),
        c.db.load(Ordering::Relaxed),
        c.sub.load(Ordering::Relaxed),
        c.psub.load(Ordering::Relaxed),
        c.ssub.load(Ordering::Relaxed),
        multi,
        qbuf,
        c.qbuf_cap.load(Ordering::Relaxed).saturating_sub(qbuf),
        0,
        0,
        16 * 1024,
        0,
        0,
        0,
        omem,
        c.tot_mem(),
        c.last_cmd_name(),
        c.user.lock(),
        c.redir.load(Ordering::Relaxed),
        c.resp.load(Ordering::Relaxed),
    );
}

/// CLIENT ID
fn id(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    ctx.out.int(ctx.client.id as i64);
    Ok(())
}

/// CLIENT SETNAME connection-name
fn setname(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let n = args.next_bytes()?;
    validate_client_name(n)?;
    *ctx.client.info.name.lock() = if n.is_empty() { None } else { Some(n.to_vec()) };
    ctx.out.ok();
    Ok(())
}

/// CLIENT GETNAME
fn getname(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    match ctx.client.info.name.lock().as_deref() {
        Some(n) => ctx.out.bulk(n),
        None => ctx.out.null(),
    }
    Ok(())
}

/// CLIENT LIST [TYPE NORMAL|MASTER|REPLICA|PUBSUB] [ID client-id [client-id ...]]
fn list(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let mut kind = None;
    let mut ids: Option<Vec<u64>> = None;
    let rest = args.take_rest();
    if rest.len() == 2 && rest[0].eq_ignore_ascii_case(b"TYPE") {
        kind = Some(parse_kind(rest[1])?);
    } else if rest.len() >= 2 && rest[0].eq_ignore_ascii_case(b"ID") {
        let mut v = Vec::new();
        for a in &rest[1..] {
            // Any integer is accepted; ids no client has list nothing.
            match types::num::parse_i64(a) {
                Some(n) if n > 0 => v.push(n as u64),
                Some(_) => {}
                None => return Err(CmdError::err("Invalid client ID")),
            }
        }
        ids = Some(v);
    } else if !rest.is_empty() {
        return Err(CmdError::Syntax);
    }
    let now = ctx.srv.clock.now_ms();
    let mut text = String::new();
    let clients = match &ids {
        // With IDs Redis lists them in the order given (repeats included).
        Some(v) => v.iter().filter_map(|&i| ctx.srv.clients.get(i)).collect(),
        None => ctx.srv.clients.all(),
    };
    for c in clients {
        if kind.is_some_and(|k| kind_of(&c) != k) {
            continue;
        }
        describe(&c, now, &mut text);
        text.push('\n');
    }
    ctx.out.verbatim("txt", text);
    Ok(())
}

/// CLIENT INFO
fn info(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    let mut text = String::new();
    describe(&ctx.client.info, ctx.srv.clock.now_ms(), &mut text);
    text.push('\n');
    ctx.out.verbatim("txt", text);
    Ok(())
}

/// CLIENT KILL ip:port
/// CLIENT KILL [ID id] [TYPE type] [USER user] [ADDR ip:port] [LADDR ip:port] [SKIPME yes|no] [MAXAGE secs]
fn kill(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let rest = args.take_rest();
    let old_form = rest.len() == 1;
    let (mut addr, mut laddr, mut user) = (None::<&[u8]>, None::<&[u8]>, None::<&[u8]>);
    let (mut kind, mut id, mut maxage, mut skipme) = (None, None, None, true);
    if old_form {
        addr = Some(rest[0]);
        // With the old form one may kill oneself.
        skipme = false;
    } else if rest.is_empty() {
        return Err(CmdError::Syntax);
    } else {
        let mut i = 0;
        while i < rest.len() {
            let (opt, val) = (rest[i], rest.get(i + 1).copied());
            let Some(val) = val else { return Err(CmdError::Syntax) };
            match opt.to_ascii_lowercase().as_slice() {
                b"id" => match types::num::parse_i64(val) {
                    Some(n) if n >= 1 => id = Some(n as u64),
                    _ => return Err(CmdError::err("client-id should be greater than 0")),
                },
                b"type" => kind = Some(parse_kind(val)?),
                b"addr" => addr = Some(val),
                b"laddr" => laddr = Some(val),
                b"user" => {
                    if ctx.srv.acl.get(val).is_none() {
                        return Err(CmdError::err(format!("No such user '{}'", String::from_utf8_lossy(val))));
                    }
                    user = Some(val);
                }
                b"skipme" => {
                    skipme = match val.to_ascii_lowercase().as_slice() {
                        b"yes" => true,
                        b"no" => false,
                        _ => return Err(CmdError::Syntax),
                    }
                }
                // MAXAGE (Redis 7.4): connections older than this many seconds.
                b"maxage" => match types::num::parse_i64(val) {
                    Some(n) => maxage = Some(n),
                    None => return Err(CmdError::NotInteger),
                },
                _ => return Err(CmdError::Syntax),
            }
            i += 2;
        }
    }
    let now = ctx.srv.clock.now_ms();
    let me = ctx.client.id;
    let mut killed = 0;
    for c in ctx.srv.clients.all() {
        if addr.is_some_and(|a| a != c.addr.as_bytes())
            || laddr.is_some_and(|a| a != c.laddr.as_bytes())
            || kind.is_some_and(|k| kind_of(&c) != k)
            || id.is_some_and(|i| i != c.id)
            || user.is_some_and(|u| u != c.user.lock().as_bytes())
            || maxage.is_some_and(|m| (now - c.created_ms) / 1000 < m)
            || (skipme && c.id == me)
        {
            continue;
        }
        if c.id == me {
            ctx.client.close_after_reply = true;
        } else {
            free_now(ctx.srv, &c);
        }
        killed += 1;
    }
    if old_form {
        if killed == 0 {
            return Err(CmdError::err("No such client"));
        }
        ctx.out.ok();
    } else {
        ctx.out.int(killed);
    }
    Ok(())
}

/// Kills another connection and, before CLIENT KILL replies, undoes what
/// other clients could see of it: Redis frees the victim synchronously, so
/// a PUBLISH right after counts it no more, PUBSUB and CLIENT LIST no longer
/// show it, and a push to the key it was blocked on stays in the key. Its
/// task closes the socket when it next wakes (and repeats these steps,
/// which find nothing left to do).
pub fn free_now(srv: &crate::server::Server, c: &Arc<ClientInfo>) {
    c.request_kill();
    srv.pubsub.forget_client(c);
    srv.blocking.cancel(c.id);
    srv.tracking.forget_killed(c.id);
    srv.clients.remove(c.id);
}

/// CLIENT PAUSE timeout [WRITE | ALL]
fn pause(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let ms = args.next_bytes()?;
    let writes_only = match args.peek() {
        None => false,
        Some(m) if m.eq_ignore_ascii_case(b"WRITE") => true,
        Some(m) if m.eq_ignore_ascii_case(b"ALL") => false,
        Some(_) => return Err(CmdError::err("CLIENT PAUSE mode must be WRITE or ALL")),
    };
    let ms = types::num::parse_i64(ms).ok_or_else(|| CmdError::err("timeout is not an integer or out of range"))?;
    if ms < 0 {
        return Err(CmdError::err("timeout is negative"));
    }
    let until = ctx.srv.clock.now_ms().saturating_add(ms).max(1);
    let p = &ctx.srv.pause;
    // A second pause keeps the later end and the stricter mode, as Redis does.
    let cur = p.until_ms.load(Ordering::Relaxed);
    let active = cur != 0 && cur > ctx.srv.clock.now_ms();
    if !active || until > cur {
        p.until_ms.store(until, Ordering::Relaxed);
    }
    if !active {
        p.writes_only.store(writes_only, Ordering::Relaxed);
    } else if !writes_only {
        p.writes_only.store(false, Ordering::Relaxed);
    }
    p.changed.notify_waiters();
    ctx.out.ok();
    Ok(())
}

/// CLIENT UNPAUSE
fn unpause(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    ctx.srv.pause.until_ms.store(0, Ordering::Relaxed);
    ctx.srv.pause.changed.notify_waiters();
    ctx.out.ok();
    Ok(())
}

/// CLIENT REPLY ON | OFF | SKIP
fn reply(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let m = args.next_bytes()?;
    if m.eq_ignore_ascii_case(b"ON") {
        ctx.client.reply_mode = ReplyMode::On;
        ctx.out.ok();
    } else if m.eq_ignore_ascii_case(b"OFF") {
        ctx.client.reply_mode = ReplyMode::Off;
    } else if m.eq_ignore_ascii_case(b"SKIP") {
        // SKIP while OFF changes nothing.
        if ctx.client.reply_mode != ReplyMode::Off {
            ctx.client.reply_mode = ReplyMode::SkipNext;
        }
    } else {
        return Err(CmdError::Syntax);
    }
    Ok(())
}

/// ON / OFF of NO-EVICT and NO-TOUCH.
fn on_off(args: &mut Args<'_>) -> Result<bool, CmdError> {
    let v = args.next_bytes()?;
    if v.eq_ignore_ascii_case(b"ON") {
        Ok(true)
    } else if v.eq_ignore_ascii_case(b"OFF") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

/// CLIENT NO-EVICT ON | OFF
fn no_evict(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let on = on_off(args)?;
    ctx.client.no_evict = on;
    ctx.client.info.no_evict.store(on, Ordering::Relaxed);
    ctx.client.info.set_flag('e', on);
    ctx.out.ok();
    Ok(())
}

/// CLIENT NO-TOUCH ON | OFF
fn no_touch(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let on = on_off(args)?;
    ctx.client.no_touch = on;
    ctx.client.info.set_flag('T', on);
    ctx.out.ok();
    Ok(())
}

/// CLIENT SETINFO LIB-NAME libname | LIB-VER libver
fn setinfo(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (attr, val) = (args.next_bytes()?, args.next_bytes()?);
    let slot = if attr.eq_ignore_ascii_case(b"LIB-NAME") {
        &ctx.client.info.lib_name
    } else if attr.eq_ignore_ascii_case(b"LIB-VER") {
        &ctx.client.info.lib_ver
    } else {
        return Err(CmdError::err(format!("Unrecognized option '{}'", String::from_utf8_lossy(attr))));
    };
    if val.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(CmdError::err(format!(
            "{} cannot contain spaces, newlines or special characters.",
            String::from_utf8_lossy(attr).to_ascii_lowercase()
        )));
    }
    *slot.lock() = if val.is_empty() { None } else { Some(val.to_vec()) };
    ctx.out.ok();
    Ok(())
}

/// CLIENT HELP
fn help(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    write_help(
        ctx.out,
        "CLIENT",
        &[
            "ID",
            "    This connection's id.",
            "INFO",
            "    This connection, described as one CLIENT LIST line.",
            "LIST [TYPE (NORMAL|MASTER|REPLICA|PUBSUB)] [ID <id> [<id> ...]]",
            "    One line per connection, optionally only of a type or with given ids.",
            "KILL <ip:port>",
            "    Closes the connection at that address.",
            "KILL <option> <value> [<option> <value> ...]",
            "    Closes every connection matching all the filters: ID, TYPE, USER, ADDR, LADDR, MAXAGE;",
            "    SKIPME (yes by default) spares the calling connection. Replies with the count.",
            "GETNAME",
            "    The name of this connection, if it has one.",
            "SETNAME <name>",
            "    Names this connection (an empty name removes it).",
            "SETINFO (LIB-NAME|LIB-VER) <value>",
            "    Records the client library's name or version.",
            "PAUSE <timeout> [WRITE|ALL]",
            "    Holds back commands of all clients (or only writes) for <timeout> milliseconds.",
            "UNPAUSE",
            "    Ends a pause at once.",
            "REPLY (ON|OFF|SKIP)",
            "    Turns replies to this connection on or off, or skips the next one.",
            "NO-EVICT (ON|OFF)",
            "    Exempts this connection from client eviction.",
            "NO-TOUCH (ON|OFF)",
            "    Keeps this connection's reads from changing the access time of keys.",
        ],
    );
    Ok(())
}
