//! redis.call / redis.pcall: a command from a script, through the same
//! checks Redis's scriptCall applies (lookup and arity, noscript, writes in
//! read-only scripts), then the handler itself inside the script's context
//! (every shard is already held). Its reply is written to a scratch buffer in
//! the script's protocol and converted to Lua values.

use super::conv;
use crate::cmdspec::f;
use crate::commands::{registry, Entry};
use crate::ctx::Ctx;
use mlua::{Lua, MultiValue, Value};
use resp::{Out, Protocol};

/// What a run allows and has done.
pub struct RunState {
    /// EVAL_RO, FCALL_RO, or a no-writes script/function.
    pub read_only: bool,
}

/// Finds the command `argv` names (descending into a container), with its
/// arity checked; `None` for an unknown command or a wrong arity, as
/// Redis's lookupCommand plus its arity check.
pub fn lookup(argv: &[&[u8]]) -> Option<&'static Entry> {
    lookup_checked(argv).ok()
}

/// Err(true) for an unknown command, Err(false) for a wrong arity.
fn lookup_checked(argv: &[&[u8]]) -> Result<&'static Entry, bool> {
    let reg = registry();
    let top = reg.get(argv[0]).ok_or(true)?;
    let entry = if top.handler.is_none() && argv.len() >= 2 { reg.sub(top, argv[1]).ok_or(true)? } else { top };
    if entry.handler.is_none() || !entry.spec.arity_ok(argv.len()) {
        return Err(false);
    }
    Ok(entry)
}

/// Converts redis.call's Lua arguments: strings as they are, numbers as
/// `%.17g` (Lua's own conversion would lose precision).
pub fn args_to_argv(args: &MultiValue) -> Result<Vec<Vec<u8>>, &'static str> {
    if args.is_empty() {
        return Err("Please specify at least one argument for this redis lib call");
    }
    let mut argv = Vec::with_capacity(args.len());
    for a in args.iter() {
        argv.push(match a {
            Value::String(s) => s.as_bytes().to_vec(),
            Value::Number(n) => resp::fmt_g17(*n).into_bytes(),
            Value::Integer(n) => n.to_string().into_bytes(),
            _ => return Err("Lua redis lib command arguments must be strings or integers"),
        });
    }
    Ok(argv)
}

fn err_table(lua: &Lua, msg: &str, ignore_stats: bool) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.raw_set("err", format!("ERR {msg}"))?;
    if ignore_stats {
        t.raw_set("ignore_error_stats_update", true)?;
    }
    Ok(Value::Table(t))
}

/// The bridge function: returns `(true, reply)` or `(false, error table)`.
pub fn redis_call(
    lua: &Lua,
    ctx: &mut Ctx<'_>,
    state: &mut RunState,
    resp: i64,
    args: MultiValue,
) -> mlua::Result<(bool, Value)> {
    let argv = match args_to_argv(&args) {
        Ok(a) => a,
        Err(m) => return Ok((false, err_table(lua, m, false)?)),
    };
    drop(args);
    let refs: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
    let entry = match lookup_checked(&refs) {
        Ok(e) => e,
        Err(true) => return Ok((false, err_table(lua, "Unknown Redis command called from script", true)?)),
        Err(false) => {
            return Ok((false, err_table(lua, "Wrong number of args calling Redis command from script", true)?))
        }
    };
    let spec = entry.spec;
    if spec.has(f::NOSCRIPT) && !ctx.srv.deny_scripts_disabled.load(std::sync::atomic::Ordering::Relaxed) {
        return Ok((false, err_table(lua, "This Redis command is not allowed from script", true)?));
    }
    if state.read_only && spec.has(f::WRITE | f::MAY_REPLICATE) {
        return Ok((false, err_table(lua, "Write commands are not allowed from read-only scripts.", true)?));
    }
    if spec.has(f::WRITE) {
        ctx.srv.scripting.busy.wrote.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let proto = if resp == 3 { Protocol::Resp3 } else { Protocol::Resp2 };
    let mut scratch = Out::new(proto);
    std::mem::swap(ctx.out, &mut scratch);
    let client_proto = ctx.client.proto;
    ctx.client.proto = proto;
    let (was_nested, was_in_script) = (ctx.nested, ctx.in_script);
    (ctx.nested, ctx.in_script) = (true, true);
    ctx.srv.stats.commands_processed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    crate::dispatch::execute_locked(ctx, entry, &refs);
    (ctx.nested, ctx.in_script) = (was_nested, was_in_script);
    ctx.client.proto = client_proto;
    std::mem::swap(ctx.out, &mut scratch);
    let reply = scratch.buf;
    let v = conv::reply_to_lua(lua, &reply)?;
    let is_err = reply.first() == Some(&b'-');
    if is_err {
        if let Value::Table(t) = &v {
            t.raw_set("ignore_error_stats_update", true)?;
        }
    }
    Ok((!is_err, v))
}
