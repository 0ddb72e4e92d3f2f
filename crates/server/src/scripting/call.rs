//! redis.call / redis.pcall: a command from a script, through the same
//! checks Redis's scriptCall applies (lookup and arity, noscript, writes in
//! read-only scripts), then the handler itself inside the script's context
//! (its shards are added to the held set if
//! the script did not declare its keys). Its reply is written to a scratch buffer in
//! the script's protocol and converted to Lua values.

use super::conv;
use crate::cmdspec::f;
use crate::commands::{registry, Entry};
use crate::ctx::Ctx;
use mlua::{ffi, Lua, MultiValue, Value};
use resp::{Out, Protocol};
use smallvec::SmallVec;
use std::cell::Cell;

/// What a run allows and has done.
pub struct RunState {
    /// EVAL_RO, FCALL_RO, or a no-writes script/function.
    pub read_only: bool,
    /// A script with the allow-oom flag (not an EVAL without shebang): its
    /// commands run even out of memory.
    pub allow_oom: bool,
    /// The declared keys (their shards are held from the start), borrowed
    /// from the command's arguments for the run.
    keys: *const [&'static [u8]],
}

impl RunState {
    pub fn new(read_only: bool, allow_oom: bool, keys: &[&[u8]]) -> RunState {
        RunState { read_only, allow_oom, keys: keys as *const [&[u8]] as *const [&'static [u8]] }
    }

    /// The declared keys.
    fn keys(&self) -> &[&[u8]] {
        // SAFETY: the run ends before the command's arguments are dropped.
        unsafe { &*self.keys }
    }
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

/// What redis.call needs while a script runs, reachable from the C
/// trampolines through `CURRENT` (a run never leaves its thread: even the
/// hand-off of a long script keeps running it on the same thread).
pub struct RunSlot {
    /// The running command's `Ctx` (its lifetime erased).
    ctx: *mut (),
    pub state: RunState,
    /// The script's protocol (redis.setresp).
    pub resp: i64,
    lua: *const Lua,
    /// A reply buffer reused by every redis.call of the run.
    scratch: Vec<u8>,
    /// A redis.call is under way (commands never call back into Lua; this
    /// only guards the `&mut Ctx`).
    in_call: bool,
}

thread_local! {
    static CURRENT: Cell<*mut RunSlot> = const { Cell::new(std::ptr::null_mut()) };
}

/// Publishes a run's slot for the trampolines until dropped.
pub struct Published {
    prev: *mut RunSlot,
}

impl RunSlot {
    pub fn new(ctx: &mut Ctx<'_>, lua: &Lua, state: RunState) -> RunSlot {
        RunSlot { ctx: ctx as *mut Ctx<'_> as *mut (), state, resp: 2, lua, scratch: Vec::new(), in_call: false }
    }

    /// Makes `self` the slot of this thread's running script. `self` must
    /// not move or be dropped while the returned guard lives.
    pub fn publish(&mut self) -> Published {
        Published { prev: CURRENT.with(|c| c.replace(self)) }
    }
}

impl Drop for Published {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.prev));
    }
}

/// True while a script runs on this thread.
pub fn in_run() -> bool {
    CURRENT.with(|c| !c.get().is_null())
}

/// redis.setresp for the running script.
pub fn set_resp(n: i64) {
    let p = CURRENT.with(|c| c.get());
    if !p.is_null() {
        // SAFETY: a published slot outlives its publication.
        unsafe { (*p).resp = n };
    }
}

/// redis.set_repl: where the running script's later calls propagate
/// (bits: 1 AOF, 2 replicas).
pub fn set_repl(n: i64) {
    let p = CURRENT.with(|c| c.get());
    if !p.is_null() {
        // SAFETY: a published slot outlives its publication, and its `Ctx`
        // the run; no redis.call is under way while Lua runs this.
        unsafe {
            if !(*p).in_call {
                let ctx = &mut *((*p).ctx as *mut Ctx<'_>);
                ctx.prop_target = (n & 3) as u8;
            }
        }
    }
}

/// redis.acl_check_cmd: may the user running the script run `argv`?
/// Err for an unknown command (or outside a script).
pub fn acl_check(argv: &[Vec<u8>]) -> Result<bool, &'static str> {
    let p = CURRENT.with(|c| c.get());
    if p.is_null() || argv.is_empty() {
        return Err("Invalid command passed to redis.acl_check_cmd()");
    }
    // SAFETY: a published slot outlives its publication, and its `Ctx`
    // the run; only the client is read here.
    let ctx = unsafe { &*((*p).ctx as *const Ctx<'_>) };
    let refs: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
    let reg = crate::commands::registry();
    let entry =
        reg.get(refs[0])
            .and_then(|e| if e.subs.is_empty() { Some(e) } else { refs.get(1).and_then(|s| reg.sub(e, s)) });
    let Some(entry) = entry else {
        return Err("Invalid command passed to redis.acl_check_cmd()");
    };
    Ok(match &ctx.client.user {
        None => true,
        Some(u) => u.check(entry.spec, entry.index, &refs).is_ok(),
    })
}

/// The memory limit of the Lua state (see engine.rs); lifted while Rust
/// code pushes values without Lua's error protection.
pub const LUA_MEMORY_LIMIT: usize = 1 << 30;

/// redis.call / redis.pcall from the C trampoline: leaves one value on the
/// Lua stack (the reply, or an error table) and returns false for an error.
///
/// # Safety
/// `l` is the state of the running script, called from Lua.
pub unsafe fn redis_call_raw(l: *mut ffi::lua_State) -> bool {
    let p = CURRENT.with(|c| c.get());
    if p.is_null() || (*p).in_call {
        ffi::lua_settop(l, 0);
        push_err(l, "redis.call/pcall can only be called inside a script invocation", false);
        return false;
    }
    let slot = &mut *p;
    slot.in_call = true;
    let ok = call_in(l, slot);
    slot.in_call = false;
    ok
}

/// Runs `f`, which allocates about `bytes` in the Lua state with the C API,
/// so that no allocation can fail (and raise a Lua error through Rust
/// frames): if the state is far enough from its limit, as it nearly always
/// is, nothing needs doing; otherwise the limit is lifted meanwhile.
///
/// # Safety
/// `l` is the state of `lua`.
pub unsafe fn with_room<R>(l: *mut ffi::lua_State, lua: &Lua, bytes: usize, f: impl FnOnce() -> R) -> R {
    let used = ffi::lua_gc(l, ffi::LUA_GCCOUNT, 0).max(0) as usize * 1024;
    // Lua's own structures (string table, tables) cost a few times the
    // bytes they hold; a step of the collector may also resize its tables.
    if used.saturating_add(bytes.saturating_mul(8)).saturating_add(1 << 20) < LUA_MEMORY_LIMIT {
        return f();
    }
    let _ = lua.set_memory_limit(0);
    let r = f();
    let _ = lua.set_memory_limit(LUA_MEMORY_LIMIT);
    r
}

/// One argument of redis.call: a Lua string (borrowed from the stack) or a
/// number formatted as Redis does.
enum Arg<'s> {
    Bytes(&'s [u8]),
    Num(String),
}

unsafe fn call_in(l: *mut ffi::lua_State, slot: &mut RunSlot) -> bool {
    let n = ffi::lua_gettop(l);
    if n == 0 {
        with_room(l, &*slot.lua, 256, || {
            push_err(l, "Please specify at least one argument for this redis lib call", false)
        });
        return false;
    }
    let mut args: SmallVec<[Arg<'_>; 8]> = SmallVec::new();
    for i in 1..=n {
        match ffi::lua_type(l, i) {
            ffi::LUA_TSTRING => {
                let mut len = 0;
                let p = ffi::lua_tolstring(l, i, &mut len);
                args.push(Arg::Bytes(std::slice::from_raw_parts(p as *const u8, len)));
            }
            ffi::LUA_TNUMBER => args.push(Arg::Num(resp::fmt_g17(ffi::lua_tonumber(l, i)))),
            _ => {
                ffi::lua_settop(l, 0);
                with_room(l, &*slot.lua, 256, || {
                    push_err(l, "Lua redis lib command arguments must be strings or integers", false)
                });
                return false;
            }
        }
    }
    let refs: SmallVec<[&[u8]; 8]> = args
        .iter()
        .map(|a| match a {
            Arg::Bytes(b) => *b,
            Arg::Num(s) => s.as_bytes(),
        })
        .collect();
    // SAFETY: the slot's ctx is the running command's, borrowed for the run.
    let ctx = &mut *(slot.ctx as *mut Ctx<'_>);
    let reply = match run_command(ctx, &slot.state, slot.resp, &refs, std::mem::take(&mut slot.scratch)) {
        Ok(r) => r,
        Err((msg, counted)) => {
            ffi::lua_settop(l, 0);
            with_room(l, &*slot.lua, 256, || push_err(l, msg, counted));
            return false;
        }
    };
    drop(refs);
    drop(args);
    // The arguments go first, as in Redis: a call with nearly all of Lua's
    // 8000 C stack slots in arguments still has room for its reply.
    ffi::lua_settop(l, 0);
    with_room(l, &*slot.lua, reply.len() + 64, || conv::push_reply(l, &reply));
    let is_err = reply.first() == Some(&b'-');
    slot.scratch = reply;
    if is_err {
        ffi::lua_pushboolean(l, 1);
        ffi::lua_setfield(l, -2, c"ignore_error_stats_update".as_ptr());
    }
    !is_err
}

/// Pushes `{err = "ERR " .. msg}` (and the flag that keeps Redis from
/// counting it twice in its error statistics).
unsafe fn push_err(l: *mut ffi::lua_State, msg: &str, ignore_stats: bool) {
    ffi::lua_createtable(l, 0, 2);
    let text = format!("ERR {msg}");
    ffi::lua_pushlstring(l, text.as_ptr() as *const std::ffi::c_char, text.len());
    ffi::lua_setfield(l, -2, c"err".as_ptr());
    if ignore_stats {
        ffi::lua_pushboolean(l, 1);
        ffi::lua_setfield(l, -2, c"ignore_error_stats_update".as_ptr());
    }
}

/// Runs one command for a script: Redis's scriptCall checks, then the
/// handler in the script's context, its reply written in the script's
/// protocol to `buf` (cleared first), which is returned. Err is the text of
/// a refusal (before the command ran).
fn run_command(
    ctx: &mut Ctx<'_>,
    state: &RunState,
    resp: i64,
    refs: &[&[u8]],
    mut buf: Vec<u8>,
) -> Result<Vec<u8>, (&'static str, bool)> {
    // Err: the message, and whether it was counted here already. Every
    // refusal of Redis's scriptCall, a failed lookup included, counts as an
    // error reply at once (and as a rejected call of the command, when
    // there is one), and its table carries ignore_error_stats_update.
    let entry = match lookup_checked(refs) {
        Ok(e) => e,
        Err(unknown) => {
            let msg = if unknown {
                "Unknown Redis command called from script"
            } else {
                "Wrong number of args calling Redis command from script"
            };
            if !unknown {
                let reg = registry();
                let top = reg.get(refs[0]);
                let e =
                    top.and_then(
                        |t| if t.handler.is_none() && refs.len() >= 2 { reg.sub(t, refs[1]) } else { Some(t) },
                    );
                if let Some(e) = e {
                    ctx.srv.cmdstats.per[e.index].rejected.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
            ctx.srv.stats.total_error_replies.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            ctx.srv.cmdstats.error(&format!("ERR {msg}"));
            return Err((msg, true));
        }
    };
    let spec = entry.spec;
    let refuse = |msg: &'static str| {
        ctx.srv.cmdstats.per[entry.index].rejected.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        ctx.srv.stats.total_error_replies.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        ctx.srv.cmdstats.error(&format!("ERR {msg}"));
        Err((msg, true))
    };
    if spec.has(f::NOSCRIPT) && !ctx.srv.deny_scripts_disabled.load(std::sync::atomic::Ordering::Relaxed) {
        return refuse("This Redis command is not allowed from script");
    }
    // Redis's scriptVerifyAllowStale: a script may run on a stale replica
    // (allow-stale), the commands it calls only if flagged stale.
    if !spec.has(f::STALE) && crate::dispatch::running_stale(ctx.srv) {
        return refuse("Can not execute the command on a stale replica");
    }
    if state.read_only && (spec.has(f::WRITE) || spec.may_replicate()) {
        return refuse("Write commands are not allowed from read-only scripts.");
    }
    if let Some(u) = ctx.client.user.clone() {
        if let Err(d) = u.check(spec, entry.index, refs) {
            // Redis's scriptVerifyACL: logged with the "lua" context.
            crate::acl::log_denied(ctx.srv, ctx.client, "lua", spec, refs, d);
            return refuse(match d {
                crate::acl::Denied::Command => "The user executing the script can't run this command or subcommand",
                crate::acl::Denied::Key(_) => {
                    "The user executing the script can't access at least one of the keys mentioned in the command arguments"
                }
                crate::acl::Denied::Channel(_) => {
                    "The user executing the script can't publish to the channel mentioned in the command"
                }
            });
        }
    }
    if crate::evict::script_call_refused(ctx.srv, ctx.client, spec, state.allow_oom) {
        // An error reply of its own words (no "ERR " prefix), converted to
        // an error table like any command's error; counted here as a
        // rejected call and an error reply, as Redis's scriptCall does
        // (the table then carries ignore_error_stats_update).
        ctx.srv.cmdstats.per[entry.index].rejected.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        ctx.srv.stats.total_error_replies.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        ctx.srv.cmdstats.error(crate::evict::OOM);
        buf.clear();
        buf.extend_from_slice(b"-");
        buf.extend_from_slice(crate::evict::OOM.as_bytes());
        buf.extend_from_slice(b"\r\n");
        return Ok(buf);
    }
    // Redis's scriptVerifyWriteCommandAllow: after a failed BGSAVE, on a
    // read-only replica, or without enough good replicas, a script's writes
    // fail as the client's would.
    let refusal: Option<std::borrow::Cow<'static, str>> = if !spec.has(f::WRITE) {
        None
    } else if let Some(why) = crate::persist::disk_refusal(ctx.srv) {
        Some(why)
    } else {
        crate::replication::write_refusal(ctx.srv, ctx.client).map(Into::into)
    };
    if let Some(msg) = refusal {
        ctx.srv.cmdstats.per[entry.index].rejected.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        ctx.srv.stats.total_error_replies.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        ctx.srv.cmdstats.error(&msg);
        buf.clear();
        buf.extend_from_slice(b"-");
        buf.extend_from_slice(msg.as_bytes());
        buf.extend_from_slice(b"\r\n");
        return Ok(buf);
    }
    if spec.has(f::WRITE) {
        ctx.srv.scripting.busy.wrote.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    super::cover(ctx, entry, refs, state.keys());
    let proto = if resp == 3 { Protocol::Resp3 } else { Protocol::Resp2 };
    buf.clear();
    let mut scratch = Out { buf, proto };
    std::mem::swap(ctx.out, &mut scratch);
    let client_proto = ctx.client.proto;
    ctx.client.proto = proto;
    let (was_nested, was_in_script) = (ctx.nested, ctx.in_script);
    (ctx.nested, ctx.in_script) = (true, true);
    ctx.srv.stats.commands_processed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    crate::dispatch::execute_locked(ctx, entry, refs);
    (ctx.nested, ctx.in_script) = (was_nested, was_in_script);
    ctx.client.proto = client_proto;
    std::mem::swap(ctx.out, &mut scratch);
    Ok(scratch.buf)
}
