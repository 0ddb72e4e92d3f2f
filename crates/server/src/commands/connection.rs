//! Connection commands: PING, ECHO, SELECT, QUIT, HELLO, AUTH, RESET.

use super::Cmd;
use crate::args::Args;
use crate::cmdspec::table as t;
use crate::ctx::{After, Ctx};
use crate::error::{CmdError, CmdResult};
use resp::Protocol;
use std::sync::atomic::Ordering;

pub static COMMANDS: &[Cmd] = &[
    Cmd::new(&t::PING, ping),
    Cmd::new(&t::ECHO, echo),
    Cmd::new(&t::SELECT, select),
    Cmd::new(&t::QUIT, quit),
    Cmd::new(&t::HELLO, hello),
    Cmd::new(&t::AUTH, auth),
    Cmd::new(&t::RESET, reset),
];

/// RESET
fn reset(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    reset_connection(ctx);
    ctx.out.proto = ctx.client.proto;
    ctx.out.simple("RESET");
    Ok(())
}

/// Brings a connection back to its initial state. Families with
/// per-connection state add their reset here (MULTI/WATCH: discard and
/// unwatch; pub/sub: unsubscribe everything; tracking: turn it off).
pub fn reset_connection(ctx: &mut Ctx<'_>) {
    let needs_auth = !ctx.srv.acl.default_open();
    // Leave MULTI and forget WATCHed keys.
    crate::txn::on_disconnect(ctx.srv, ctx.client);
    let c = &mut *ctx.client;
    ctx.srv.pubsub.forget_client(&c.info);
    ctx.srv.tracking.disable(c);
    crate::commands::monitor::stop(ctx.srv, c);
    ctx.client.reset(needs_auth, ctx.srv.acl.default_user());
}

/// PING [message]
fn ping(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    if args.remaining() > 1 {
        return Err(CmdError::WrongArity("ping".into()));
    }
    // A subscribed RESP2 client gets a multibulk, like a message.
    if ctx.client.info.in_pubsub() && !ctx.out.resp3() {
        ctx.out.array(2);
        ctx.out.bulk("pong");
        ctx.out.bulk(args.peek().unwrap_or(b""));
        return Ok(());
    }
    match args.peek() {
        Some(m) => ctx.out.bulk(m),
        None => ctx.out.simple("PONG"),
    }
    Ok(())
}

/// ECHO message
fn echo(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let m = args.next_bytes()?;
    ctx.out.bulk(m);
    Ok(())
}

/// SELECT index
fn select(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let idx = args.next_i64().map_err(|_| CmdError::NotInteger)?;
    // Redis reads the index as a C int first.
    if idx < i32::MIN as i64 || idx > i32::MAX as i64 {
        return Err(CmdError::err("value is out of range, value must between -2147483648 and 2147483647"));
    }
    if idx < 0 || idx as usize >= ctx.srv.keyspace.ndb() {
        return Err(CmdError::DbIndexOutOfRange);
    }
    ctx.client.select(idx as usize);
    ctx.out.ok();
    Ok(())
}

/// QUIT
fn quit(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    ctx.out.ok();
    ctx.effects.after = After::Close;
    Ok(())
}

/// Logs the connection in as `user` if the password is right (and the
/// user is on); a failure goes to the ACL log.
fn login(ctx: &mut Ctx<'_>, user: &[u8], pass: &[u8], object: &[u8]) -> bool {
    match ctx.srv.acl.authenticate(user, pass) {
        Some(u) => {
            *ctx.client.info.user.lock() = String::from_utf8_lossy(user).into_owned();
            ctx.client.user = Some(u);
            ctx.client.authenticated = true;
            true
        }
        None => {
            crate::acl::log_event(ctx.srv, ctx.client, "auth", object, user);
            false
        }
    }
}

/// Whether `user`/`pass` would log in (the slow log and MONITOR redact as
/// far as HELLO gets, which depends on whether its AUTH succeeds).
pub(crate) fn password_ok(srv: &crate::server::Server, user: &[u8], pass: &[u8]) -> bool {
    srv.acl.authenticate(user, pass).is_some()
}

/// AUTH [username] password
fn auth(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (user, pass): (&[u8], &[u8]) = match args.remaining() {
        1 => (b"default", args.next_bytes()?),
        2 => (args.next_bytes()?, args.next_bytes()?),
        _ => return Err(CmdError::Syntax),
    };
    if args.all().len() == 2 && ctx.srv.acl.default_user().read().nopass() {
        return Err(CmdError::err(
            "AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        ));
    }
    if !login(ctx, user, pass, args.all()[0]) {
        return Err(CmdError::WrongPass);
    }
    ctx.out.ok();
    Ok(())
}

/// HELLO [protover [AUTH username password] [SETNAME clientname]]
fn hello(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let mut proto = None;
    if let Some(v) = args.peek() {
        args.next_bytes()?;
        let n = types::num::parse_i64(v)
            .ok_or_else(|| CmdError::err("Protocol version is not an integer or out of range"))?;
        if !(2..=3).contains(&n) {
            return Err(CmdError::msg("NOPROTO unsupported protocol version"));
        }
        proto = Some(if n == 3 { Protocol::Resp3 } else { Protocol::Resp2 });
    }
    let mut creds = None;
    let mut name = None;
    while !args.is_empty() {
        let opt = args.next_bytes()?;
        let more = args.remaining();
        if opt.eq_ignore_ascii_case(b"AUTH") && more >= 2 {
            creds = Some((args.next_bytes()?, args.next_bytes()?));
        } else if opt.eq_ignore_ascii_case(b"SETNAME") && more >= 1 {
            name = Some(args.next_bytes()?);
        } else {
            return Err(CmdError::err(format!("Syntax error in HELLO option '{}'", String::from_utf8_lossy(opt))));
        }
    }
    if let Some((u, p)) = creds {
        if !login(ctx, u, p, args.all()[0]) {
            return Err(CmdError::WrongPass);
        }
    }
    if !ctx.client.authenticated && ctx.srv.acl.auth_required() {
        return Err(CmdError::msg(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
        ));
    }
    if let Some(n) = name {
        crate::commands::server::validate_client_name(n)?;
        *ctx.client.info.name.lock() = if n.is_empty() { None } else { Some(n.to_vec()) };
    }
    if let Some(p) = proto {
        ctx.client.proto = p;
        ctx.out.proto = p;
        ctx.client.info.resp.store(if p == Protocol::Resp3 { 3 } else { 2 }, Ordering::Relaxed);
    }
    let out = &mut ctx.out;
    out.map(7);
    out.bulk("server");
    out.bulk("redis");
    out.bulk("version");
    out.bulk(crate::commands::server::REDIS_VERSION);
    out.bulk("proto");
    out.int(if ctx.client.proto == Protocol::Resp3 { 3 } else { 2 });
    out.bulk("id");
    out.int(ctx.client.id as i64);
    out.bulk("mode");
    out.bulk("standalone");
    out.bulk("role");
    out.bulk("master");
    out.bulk("modules");
    out.empty_array();
    Ok(())
}
