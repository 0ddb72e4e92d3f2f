//! String commands.

use super::Cmd;
use crate::args::Args;
use crate::cmdspec::table as t;
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::notify;
use crate::storage::{Str, Value};

pub static COMMANDS: &[Cmd] = &[Cmd::new(&t::GET, get), Cmd::new(&t::SET, set)];

/// Writes a string value as a bulk reply.
pub fn reply_str(ctx: &mut Ctx<'_>, s: &Str) {
    let mut b = itoa::Buffer::new();
    ctx.out.bulk(s.as_bytes(&mut b));
}

/// GET key
fn get(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    match ctx.read_str(key)? {
        Some(s) => {
            let s = s.clone();
            reply_str(ctx, &s)
        }
        None => ctx.out.null(),
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Cond {
    Nx,
    Xx,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ttl {
    Ex,
    Px,
    ExAt,
    PxAt,
    KeepTtl,
}

/// Converts an expire argument to an absolute time in ms, with Redis's
/// checks and its "invalid expire time" error naming `cmd`.
pub fn expire_to_abs_ms(cmd: &str, raw: &[u8], unit_secs: bool, relative: bool, now_ms: i64) -> Result<i64, CmdError> {
    let v = crate::args::parse_i64(raw)?;
    let bad = || CmdError::InvalidExpire(cmd.to_string());
    if v <= 0 || (unit_secs && v > i64::MAX / 1000) {
        return Err(bad());
    }
    let ms = if unit_secs { v * 1000 } else { v };
    if relative {
        if ms > i64::MAX - now_ms {
            return Err(bad());
        }
        Ok(ms + now_ms)
    } else {
        Ok(ms)
    }
}

/// SET key value [NX | XX] [GET] [EX seconds | PX milliseconds |
/// EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]
fn set(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (key, value) = (args.next_key()?, args.next_bytes()?);
    let (mut cond, mut ttl, mut get) = (None, None, false);
    let mut ttl_arg: Option<&[u8]> = None;
    while !args.is_empty() {
        if args.eat_group(&mut cond, &[("NX", Cond::Nx), ("XX", Cond::Xx)])?.is_some() {
            continue;
        }
        if args.eat("GET") {
            get = true;
            continue;
        }
        let group =
            [("EX", Ttl::Ex), ("PX", Ttl::Px), ("EXAT", Ttl::ExAt), ("PXAT", Ttl::PxAt), ("KEEPTTL", Ttl::KeepTtl)];
        match args.eat_group(&mut ttl, &group)? {
            Some(Ttl::KeepTtl) => continue,
            Some(_) => {
                // An expire option needs its value.
                ttl_arg = Some(args.next_bytes()?);
                continue;
            }
            None => {}
        }
        return Err(CmdError::Syntax);
    }
    let expire_at = match (ttl, ttl_arg) {
        (Some(kind), Some(raw)) => {
            let (secs, rel) = match kind {
                Ttl::Ex => (true, true),
                Ttl::Px => (false, true),
                Ttl::ExAt => (true, false),
                _ => (false, false),
            };
            Some(expire_to_abs_ms("set", raw, secs, rel, ctx.now_ms)?)
        }
        _ => None,
    };
    let old = if get {
        match ctx.read_str(key)? {
            Some(s) => Some(s.clone()),
            None => None,
        }
    } else {
        None
    };
    let found = ctx.lookup_write(key)?.is_some();
    if (cond == Some(Cond::Nx) && found) || (cond == Some(Cond::Xx) && !found) {
        match (get, old) {
            (true, Some(s)) => reply_str(ctx, &s),
            _ => ctx.out.null(),
        }
        return Ok(());
    }
    let keep = ttl == Some(Ttl::KeepTtl);
    let v = Value::Str(Str::from_bytes(value));
    if keep {
        ctx.set_value_keep_ttl(key, v)?;
    } else {
        ctx.set_value(key, v)?;
    }
    ctx.notify(notify::STRING, "set", key);
    if let Some(at) = expire_at {
        ctx.set_expire(key, at)?;
        ctx.notify(notify::GENERIC, "expire", key);
    }
    if get {
        match old {
            Some(s) => reply_str(ctx, &s),
            None => ctx.out.null(),
        }
    } else {
        ctx.out.ok();
    }
    Ok(())
}
