//! One sandboxed Lua 5.1 state and how a script runs in it.
//!
//! The state loads base, table, string, math and debug (debug is only kept
//! privately by the prelude for the error handler), the bundled libraries
//! (cjson, cmsgpack, bit, struct), and Redis's `redis` table; `prelude.lua`
//! then builds the read-only view scripts use as their globals. A run
//! publishes its command context in a thread-local slot (`call::RunSlot`)
//! that redis.call's C function reads, and withdraws it when the run ends,
//! so nothing of a finished run can be reached afterwards; the locks are
//! held by the caller and released by their guards whatever the script does.
//!
//! Cost: the hot path (KEYS/ARGV, redis.call's arguments and reply) uses
//! Lua's C API directly, with the memory limit lifted (see `Unlimited`).
//!
//! An instruction-count hook checks the kill flag (SCRIPT KILL / FUNCTION
//! KILL); once set it keeps failing every 1000 instructions, so a script
//! cannot catch the error with pcall and carry on.

use super::call::{self, RunState};
use super::conv;
use crate::ctx::Ctx;
use crate::error::CmdError;
use mlua::{HookTriggers, Lua, LuaOptions, MultiValue, StdLib, Table, Value, VmState};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Memory a Lua state may use while Lua code runs; past it allocations
/// fail with a Lua error instead of exhausting the machine. Rust code that
/// builds values for a script lifts it for its duration (`Unlimited`):
/// with a limit, mlua guards every API call with a protected call of its
/// own, which costs more than the script.
use super::call::LUA_MEMORY_LIMIT;

/// Lifts the memory limit until dropped.
struct Unlimited<'a>(&'a Lua);

impl<'a> Unlimited<'a> {
    fn new(lua: &'a Lua) -> Self {
        let _ = lua.set_memory_limit(0);
        Unlimited(lua)
    }
}

impl Drop for Unlimited<'_> {
    fn drop(&mut self) {
        let _ = self.0.set_memory_limit(LUA_MEMORY_LIMIT);
    }
}

/// A Lua state's main thread, for the C API.
struct State(*mut mlua::lua_State);
// SAFETY: only used by whoever holds the Engine (behind its mutex).
unsafe impl Send for State {}

/// Redis runs a garbage-collection step every this many scripts.
const GC_PERIOD: u32 = 50;

/// Redis 7.0.15 as REDIS_VERSION_NUM (0x07000f).
const VERSION_NUM: i64 = 0x07000f;

pub struct Engine {
    pub lua: Lua,
    /// The read-only globals view every script and library runs in.
    pub env: Table,
    /// Internal table shared with the prelude (call, resp, run).
    bridge: Table,
    /// While FUNCTION LOAD runs a library's top level: the time (ms since
    /// `epoch`) past which it fails with "FUNCTION LOAD timeout"; 0 otherwise.
    load_deadline: Arc<AtomicI64>,
    /// While a script runs: the hook calls left before it hands the
    /// worker's other connections to another thread (`super::hand_off`);
    /// 0 otherwise.
    handoff_at: Arc<AtomicI64>,
    epoch: Instant,
    /// `bridge.run`, the protected call every run goes through.
    run_fn: mlua::Function,
    state: State,
    /// Runs since the last garbage-collection step.
    runs: std::cell::Cell<u32>,
    /// KEYS and ARGV (see `set_keys_argv`).
    args: [ArgTable; 2],
    /// Registry reference of the scope table (see prelude.lua).
    scope_ref: i32,
    /// None if the Lua table layout is not the expected one.
    shape: Option<TableShape>,
}

/// One of the KEYS and ARGV tables an EVAL sees: kept in the registry and
/// refilled by the next EVAL with as many entries when the script left it
/// exactly as it was made (see `TableShape`), so that such runs allocate no
/// tables (Redis makes two per run).
struct ArgTable {
    /// Registry reference of the global's name ("KEYS" or "ARGV").
    name_ref: i32,
    /// Registry reference of the table.
    table_ref: i32,
    /// How many entries the table was made for (usize::MAX: none yet).
    len: std::cell::Cell<usize>,
    /// The array size it had when made.
    made_size: std::cell::Cell<i32>,
}

/// Reads the shape of a Lua 5.1.5 table (the vendored Lua mlua builds) from
/// its struct: array size, whether it has a metatable, and whether it ever
/// got a hash part. KEYS and ARGV are made as Redis makes them (an empty
/// table, then entries 1..=n in order, which sizes the array part to the
/// next power of two with no hash part); a table that still has that
/// array size, no hash part, no metatable, entries 1..=n and nothing past
/// them is indistinguishable to a script from a fresh one (its `#`
/// operator, `next` order and growth all match). The layout is checked
/// against tables of known shape when the engine starts; if it does not
/// match, tables are never reused.
#[derive(Clone, Copy)]
struct TableShape {
    /// The node address of a table without a hash part (Lua's dummynode).
    empty_node: usize,
}

/// The fields of Lua 5.1.5's `Table` (lobject.h) this reads.
#[repr(C)]
struct LuaTable51 {
    next: *const std::ffi::c_void,
    tt: u8,
    marked: u8,
    flags: u8,
    lsizenode: u8,
    metatable: *const std::ffi::c_void,
    array: *const std::ffi::c_void,
    node: *const std::ffi::c_void,
    lastfree: *const std::ffi::c_void,
    gclist: *const std::ffi::c_void,
    sizearray: std::ffi::c_int,
}

impl TableShape {
    /// # Safety
    /// `l` is a state with room for three stack slots.
    unsafe fn probe(l: *mut mlua::ffi::lua_State) -> Option<TableShape> {
        use mlua::ffi;
        let read = |idx| &*(ffi::lua_topointer(l, idx) as *const LuaTable51);
        ffi::lua_createtable(l, 3, 0);
        ffi::lua_createtable(l, 5, 0);
        ffi::lua_createtable(l, 0, 4);
        let (a, b, c) = (read(-3), read(-2), read(-1));
        let ok = a.sizearray == 3
            && b.sizearray == 5
            && c.sizearray == 0
            && a.node == b.node
            && c.node != a.node
            && c.lsizenode == 2
            && a.lsizenode == 0
            && a.metatable.is_null();
        let empty_node = a.node as usize;
        ffi::lua_settop(l, -4);
        ok.then_some(TableShape { empty_node })
    }

    /// The array size of the table at the top of the stack.
    ///
    /// # Safety
    /// `l` is a state with a table on top.
    unsafe fn array_size(l: *mut mlua::ffi::lua_State) -> i32 {
        (*(mlua::ffi::lua_topointer(l, -1) as *const LuaTable51)).sizearray
    }

    /// True if the table at the top of the stack is as it was made with
    /// array size `size` and entries 1..=n: no hash part, no metatable,
    /// the same array size, entries 1..=n set and none after them.
    ///
    /// # Safety
    /// `l` is a state with a table on top and room for one more slot.
    unsafe fn as_made(&self, l: *mut mlua::ffi::lua_State, n: usize, size: i32) -> bool {
        use mlua::ffi;
        let t = &*(ffi::lua_topointer(l, -1) as *const LuaTable51);
        if t.sizearray != size || t.node as usize != self.empty_node || !t.metatable.is_null() {
            return false;
        }
        for i in 1..=size.max(0) as usize {
            ffi::lua_rawgeti(l, -1, i as _);
            let present = ffi::lua_type(l, -1) != ffi::LUA_TNIL;
            ffi::lua_settop(l, -2);
            if present != (i <= n) {
                return false;
            }
        }
        true
    }
}

/// How a run ended.
pub enum Outcome {
    /// The script's return value was written to the reply.
    Done,
    /// The error reply to send (already formatted).
    Failed(CmdError),
}

/// Redis's drand48 state for math.random (same sequence on every platform).
struct Rand48(u64);

impl Rand48 {
    fn next(&mut self) -> i32 {
        self.0 = (self.0.wrapping_mul(0x5DEECE66D).wrapping_add(0xB)) & ((1 << 48) - 1);
        (self.0 >> 17) as i32
    }
}

impl Engine {
    pub fn new(kill: Arc<AtomicBool>, slow: Arc<super::Slow>) -> mlua::Result<Engine> {
        // SAFETY: the debug library is only reachable by the prelude (it is
        // removed from the globals right after), never by scripts.
        let lua = unsafe {
            Lua::unsafe_new_with(StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG, LuaOptions::default())
        };
        lua.set_memory_limit(LUA_MEMORY_LIMIT)?;
        let g = lua.globals();
        for name in ["print", "dofile", "loadfile", "module", "require", "package", "os", "io"] {
            g.raw_set(name, Value::Nil)?;
        }
        g.raw_set("cjson", super::cjson::open(&lua)?)?;
        g.raw_set("bit", super::bit::open(&lua)?)?;
        g.raw_set("struct", super::structlib::open(&lua)?)?;
        g.raw_set("cmsgpack", super::cmsgpack::open(&lua)?)?;
        let redis = lua.create_table()?;
        redis.raw_set("REDIS_VERSION", crate::commands::server::REDIS_VERSION)?;
        redis.raw_set("REDIS_VERSION_NUM", VERSION_NUM)?;
        redis.raw_set(
            "acl_check_cmd",
            lua.create_function(|_, args: MultiValue| {
                let argv = call::args_to_argv(&args).map_err(mlua::Error::runtime)?;
                let refs: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
                match call::lookup(&refs) {
                    Some(_) => Ok(true),
                    None => Err(mlua::Error::runtime("Invalid command passed to redis.acl_check_cmd()")),
                }
            })?,
        )?;
        g.raw_set("redis", redis)?;
        let rand = Arc::new(parking_lot::Mutex::new(Rand48(0x1234_ABCD_330E)));
        let math: Table = g.raw_get("math")?;
        let r = rand.clone();
        math.raw_set(
            "random",
            lua.create_function(move |_, args: MultiValue| {
                const MAX: i64 = i32::MAX as i64;
                let r = (r.lock().next() as i64 % MAX) as f64 / MAX as f64;
                let int_arg = |v: &Value, n: usize| match v {
                    Value::Number(x) => Ok(*x as i64),
                    Value::Integer(x) => Ok(*x),
                    Value::String(s) => {
                        s.to_str().ok().and_then(|s| s.trim().parse::<f64>().ok()).map(|x| x as i64).ok_or_else(|| {
                            mlua::Error::runtime(format!("bad argument #{n} to 'random' (number expected)"))
                        })
                    }
                    _ => Err(mlua::Error::runtime(format!("bad argument #{n} to 'random' (number expected)"))),
                };
                match args.len() {
                    0 => Ok(r),
                    1 => {
                        let u = int_arg(&args[0], 1)?;
                        if u < 1 {
                            return Err(mlua::Error::runtime("bad argument #1 to 'random' (interval is empty)"));
                        }
                        Ok((r * u as f64).floor() + 1.0)
                    }
                    2 => {
                        let (l, u) = (int_arg(&args[0], 1)?, int_arg(&args[1], 2)?);
                        if l > u {
                            return Err(mlua::Error::runtime("bad argument #2 to 'random' (interval is empty)"));
                        }
                        Ok((r * (u - l + 1) as f64).floor() + l as f64)
                    }
                    _ => Err(mlua::Error::runtime("wrong number of arguments")),
                }
            })?,
        )?;
        math.raw_set(
            "randomseed",
            lua.create_function(move |_, seed: f64| {
                rand.lock().0 = (((seed as i64 as i32) as u32 as u64) << 16) | 0x330E;
                Ok(())
            })?,
        )?;
        let bridge = lua.create_table()?;
        let epoch = Instant::now();
        let load_deadline = Arc::new(AtomicI64::new(0));
        let past_deadline = {
            let d = load_deadline.clone();
            move || {
                let dl = d.load(Ordering::Relaxed);
                dl != 0 && epoch.elapsed().as_millis() as i64 > dl
            }
        };
        let (k, past) = (kill.clone(), past_deadline.clone());
        bridge.raw_set("killed", lua.create_function(move |_, ()| Ok(k.load(Ordering::Relaxed) || past()))?)?;
        bridge.raw_set(
            "unnest",
            lua.create_function(|lua, s: mlua::LuaString| match super::lstr::unnest(&s.as_bytes()) {
                Some(code) => lua.create_string(code),
                None => Ok(s),
            })?,
        )?;
        bridge.raw_set(
            "sha1",
            lua.create_function(|lua, v: Value| {
                let bytes = match &v {
                    Value::String(s) => s.as_bytes().to_vec(),
                    Value::Number(n) => super::lua_number_string(*n).into_bytes(),
                    Value::Integer(n) => n.to_string().into_bytes(),
                    _ => Vec::new(),
                };
                lua.create_string(super::sha1_hex(&bytes))
            })?,
        )?;
        // SAFETY: the trampolines only use the Lua C API on their own stack.
        unsafe {
            bridge.raw_set("c_call", lua.create_c_function(tramp_call)?)?;
            bridge.raw_set("c_pcall", lua.create_c_function(tramp_pcall)?)?;
            bridge.raw_set("c_setresp", lua.create_c_function(tramp_setresp)?)?;
            bridge.raw_set("c_sha1hex", lua.create_c_function(tramp_sha1hex)?)?;
            bridge.raw_set("c_set_repl", lua.create_c_function(tramp_set_repl)?)?;
            bridge.raw_set("c_log", lua.create_c_function(tramp_log)?)?;
            bridge.raw_set("c_register", lua.create_c_function(tramp_register)?)?;
            bridge.raw_set("base_pcall", lua.create_c_function(base_pcall)?)?;
            bridge.raw_set("base_xpcall", lua.create_c_function(base_xpcall)?)?;
        }
        bridge.raw_set("set_resp", lua.create_function(|_, n: i64| Ok(call::set_resp(n)))?)?;
        bridge.raw_set("in_run", lua.create_function(|_, ()| Ok(call::in_run()))?)?;
        bridge.raw_set("repl_target", lua.create_function(|_, n: i64| Ok(call::set_repl(n)))?)?;
        bridge.raw_set(
            "acl_check",
            lua.create_function(|_, args: mlua::Variadic<Value>| {
                let mut argv = Vec::new();
                for a in args.iter() {
                    match a {
                        Value::String(s) => argv.push(s.as_bytes().to_vec()),
                        Value::Integer(n) => argv.push(n.to_string().into_bytes()),
                        Value::Number(n) => argv.push(super::lua_number_string(*n).into_bytes()),
                        _ => return Ok((false, Value::Nil)),
                    }
                }
                Ok(match call::acl_check(&argv) {
                    Ok(b) => (true, Value::Boolean(b)),
                    Err(_) => (false, Value::Boolean(false)),
                })
            })?,
        )?;
        bridge.raw_set(
            "log",
            lua.create_function(|_, (level, msg): (i64, String)| {
                match level {
                    3 => tracing::warn!("{msg}"),
                    2 => tracing::info!("{msg}"),
                    _ => tracing::debug!("{msg}"),
                }
                Ok(())
            })?,
        )?;
        lua.load(include_str!("prelude.lua")).set_name("=hematite").call::<()>((bridge.clone(), g.clone()))?;
        g.raw_set("debug", Value::Nil)?;
        bridge.raw_get::<mlua::Function>("seal")?.call::<()>(())?;
        let scope: Table = bridge.raw_get("scope")?;
        let state = State(lua.exec_raw_lua(|raw| raw.state()));
        // The scope, the names KEYS and ARGV and two empty tables get
        // registry references, so set_keys_argv interns no name.
        let mut refs = [0i32; 5];
        for (i, r) in refs.iter_mut().enumerate() {
            let v = match i {
                0 => Value::Table(scope.clone()),
                1 => Value::String(lua.create_string("KEYS")?),
                2 => Value::String(lua.create_string("ARGV")?),
                _ => Value::Table(lua.create_table()?),
            };
            // SAFETY: the main state at set-up, stack balanced; pushing a
            // value mlua holds and referencing it cannot fail here (the
            // state is far below its memory limit).
            *r = unsafe {
                let l = state.0;
                lua.exec_raw_lua(|raw| raw.push_value(&v))?;
                mlua::ffi::luaL_ref(l, mlua::ffi::LUA_REGISTRYINDEX)
            };
        }
        scope.raw_set("KEYS", Value::Nil)?;
        scope.raw_set("ARGV", Value::Nil)?;
        // SAFETY: the main state at set-up; three slots, popped again.
        let shape =
            unsafe { (mlua::ffi::lua_checkstack(state.0, 3) != 0).then(|| TableShape::probe(state.0)).flatten() };
        let run_fn: mlua::Function = bridge.raw_get("run")?;
        lua.set_named_registry_value(IMPL_KEY, bridge.raw_get::<Table>("impl")?)?;
        let env: Table = bridge.raw_get("env")?;
        let k = kill;
        let past = past_deadline;
        let handoff_at = Arc::new(AtomicI64::new(0));
        let handoff = handoff_at.clone();
        lua.set_hook(HookTriggers::new().every_nth_instruction(1000), move |_lua, _dbg| {
            // Counts down while a script runs (0: not running).
            let left = handoff.load(Ordering::Relaxed);
            if left == 1 {
                handoff.store(super::HANDOFF_RETRY_HOOKS, Ordering::Relaxed);
                super::hand_off();
            } else if left > 1 {
                handoff.store(left - 1, Ordering::Relaxed);
            }
            if past() {
                return Err(mlua::Error::runtime(LOAD_TIMEOUT));
            }
            if k.load(Ordering::Relaxed) {
                return Err(mlua::Error::runtime(KILLED));
            }
            slow.check();
            Ok(VmState::Continue)
        })?;
        // The set-up's garbage goes now, so INFO shows what a state holds.
        lua.gc_collect()?;
        let arg = |name_ref, table_ref| ArgTable {
            name_ref,
            table_ref,
            len: std::cell::Cell::new(usize::MAX),
            made_size: std::cell::Cell::new(0),
        };
        Ok(Engine {
            lua,
            env,
            bridge,
            run_fn,
            load_deadline,
            handoff_at,
            epoch,
            state,
            runs: std::cell::Cell::new(0),
            args: [arg(refs[1], refs[3]), arg(refs[2], refs[4])],
            scope_ref: refs[0],
            shape,
        })
    }

    /// The Lua state's memory, in whole KiB as Redis reports it (its
    /// collector's count).
    pub fn used_memory(&self) -> u64 {
        (self.lua.used_memory() as u64) & !1023
    }

    /// Limits the next library load to `ms` (0 lifts the limit).
    pub fn set_load_timeout(&self, ms: i64) {
        let v = if ms == 0 { 0 } else { self.epoch.elapsed().as_millis() as i64 + ms };
        self.load_deadline.store(v, Ordering::Relaxed);
    }

    /// True once a load has run past its limit.
    pub fn load_timed_out(&self) -> bool {
        let dl = self.load_deadline.load(Ordering::Relaxed);
        dl != 0 && self.epoch.elapsed().as_millis() as i64 > dl
    }

    /// The internal table shared with the prelude.
    pub fn bridge(&self) -> &Table {
        &self.bridge
    }

    /// Compiles a chunk in the sandbox (`name` like "@user_script").
    pub fn compile(&self, code: &[u8], name: &str) -> Result<mlua::Function, String> {
        let unnested = super::lstr::unnest(code);
        let code = unnested.as_deref().unwrap_or(code);
        match self.lua.load(code).set_name(name).set_environment(self.env.clone()).into_function() {
            Ok(f) => Ok(f),
            Err(mlua::Error::SyntaxError { message, .. }) => Err(message),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Sets KEYS and ARGV (EVAL mode).
    pub fn set_keys_argv(&self, keys: &[&[u8]], argv: &[&[u8]]) -> mlua::Result<()> {
        let l = self.state.0;
        let bytes = keys.iter().chain(argv).map(|a| a.len() + 32).sum::<usize>() + 256;
        // SAFETY: `l` is this engine's state.
        unsafe { call::with_room(l, &self.lua, bytes, || self.set_keys_argv_raw(keys, argv)) }
    }

    fn set_keys_argv_raw(&self, keys: &[&[u8]], argv: &[&[u8]]) -> mlua::Result<()> {
        use mlua::ffi;
        let l = self.state.0;
        // SAFETY: the main state, balanced stack; with room below the
        // memory limit (with_room) these calls cannot raise a Lua error.
        unsafe {
            if ffi::lua_checkstack(l, 6) == 0 {
                return Err(mlua::Error::runtime("stack overflow"));
            }
            for (items, t) in [(keys, &self.args[0]), (argv, &self.args[1])] {
                ffi::lua_rawgeti(l, ffi::LUA_REGISTRYINDEX, t.table_ref as _);
                let n = items.len();
                let reuse = t.len.get() == n && self.shape.is_some_and(|s| s.as_made(l, n, t.made_size.get()));
                if !reuse {
                    // A new table, which the scope and the registry then
                    // hold, filled below as Redis fills it.
                    ffi::lua_settop(l, -2);
                    ffi::lua_createtable(l, 0, 0);
                    ffi::lua_pushvalue(l, -1);
                    ffi::lua_rawseti(l, ffi::LUA_REGISTRYINDEX, t.table_ref as _);
                    ffi::lua_rawgeti(l, ffi::LUA_REGISTRYINDEX, self.scope_ref as _);
                    ffi::lua_rawgeti(l, ffi::LUA_REGISTRYINDEX, t.name_ref as _);
                    ffi::lua_pushvalue(l, -3);
                    ffi::lua_rawset(l, -3);
                    ffi::lua_settop(l, -2);
                    t.len.set(n);
                }
                for (i, a) in items.iter().enumerate() {
                    ffi::lua_pushlstring(l, a.as_ptr() as *const std::ffi::c_char, a.len());
                    ffi::lua_rawseti(l, -2, i as i64 + 1);
                }
                if !reuse && self.shape.is_some() {
                    t.made_size.set(TableShape::array_size(l));
                }
                ffi::lua_settop(l, -2);
            }
        }
        Ok(())
    }

    pub fn array(&self, items: &[&[u8]]) -> mlua::Result<Table> {
        let _u = Unlimited::new(&self.lua);
        let t = self.lua.create_table_with_capacity(items.len(), 0)?;
        for (i, a) in items.iter().enumerate() {
            t.raw_set(i + 1, self.lua.create_string(a)?)?;
        }
        Ok(t)
    }

    /// Runs `f` (with `(keys, args)` when `fargs` is given, FCALL mode) in
    /// the context of `ctx`, writing its reply. `name` is what error messages
    /// call the script (its sha, or the function name).
    pub fn run(
        &self,
        ctx: &mut Ctx<'_>,
        f: &mlua::Function,
        fargs: Option<(Table, Table)>,
        state: RunState,
        name: &str,
    ) -> Outcome {
        let saved_db = ctx.client.db;
        // Scripts replicate their effects, never themselves.
        ctx.prevent_propagation();
        let saved_target = std::mem::replace(&mut ctx.prop_target, crate::propagate::ALL);
        self.handoff_at.store(super::HANDOFF_HOOKS, Ordering::Relaxed);
        let mut slot = call::RunSlot::new(ctx, &self.lua, state);
        let published = slot.publish();
        let result = match &fargs {
            Some((k, a)) => self.run_fn.call::<MultiValue>((f, true, k, a)),
            None => self.run_fn.call::<MultiValue>((f, false)),
        };
        drop(published);
        self.handoff_at.store(0, Ordering::Relaxed);
        let resp = slot.resp;
        drop(slot);
        ctx.client.db = saved_db;
        ctx.prop_target = saved_target;
        let kill = ctx.srv.scripting.busy.kill.load(Ordering::Relaxed);
        let failed = !matches!(&result, Ok(v) if matches!(v.front(), Some(Value::Boolean(true))));
        if failed || self.runs.get() + 1 == GC_PERIOD {
            if self.lua.used_memory() > LUA_MEMORY_LIMIT / 4 {
                // A script left much garbage (or hit the limit): collect it
                // now rather than fail the next script.
                let _ = self.lua.gc_collect();
            }
        }
        let mut vals = match result {
            Ok(v) => v.into_iter(),
            Err(e) => {
                if kill {
                    return Outcome::Failed(killed_error(name));
                }
                return Outcome::Failed(CmdError::msg(format!("ERR Error running script {name}, {e}")));
            }
        };
        let ok = matches!(vals.next(), Some(Value::Boolean(true)));
        let v = vals.next().unwrap_or(Value::Nil);
        // Reading a table's fields through mlua needs no protection once the
        // limit is lifted; plain values need no Lua call at all.
        let u = matches!(v, Value::Table(_)).then(|| Unlimited::new(&self.lua));
        if ok {
            // A returned error table is an error reply of EVAL/FCALL itself,
            // counted as one (errorstats, failed_calls) unless it carries
            // ignore_error_stats_update (an error already counted when a
            // redis.call inside made it).
            if let Value::Table(t) = &v {
                if let Ok(Value::String(e)) = t.raw_get::<Value>("err") {
                    if !t.raw_get::<bool>("ignore_error_stats_update").unwrap_or(false) {
                        let msg = String::from_utf8_lossy(conv::c_string(&e.as_bytes())).into_owned();
                        drop(u);
                        return Outcome::Failed(CmdError::msg(msg));
                    }
                    // Counted already, but EVAL/FCALL itself still failed.
                    if let Some(entry) = crate::commands::registry().get(ctx.spec.name.as_bytes()) {
                        let stat = &ctx.srv.cmdstats.per[entry.index];
                        stat.failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            }
            conv::lua_to_reply(ctx.out, &v, resp == 3, 0);
            drop(u);
            // Collect garbage a little from time to time, as Redis does.
            let runs = self.runs.get() + 1;
            self.runs.set(runs % GC_PERIOD);
            if runs == GC_PERIOD {
                // A step worth 8 KiB of allocation (mlua's gc_step does the
                // smallest). Redis steps 50 KiB here; with our larger fixed
                // state each step marks more, so a smaller step keeps the
                // state as small (under 100 KiB after 10,000 small scripts,
                // as Redis's suite checks) at about a third of the cost.
                // SAFETY: only the collector runs, in a protected call.
                let _ = unsafe {
                    self.lua.exec_raw::<()>((), |l| {
                        mlua::ffi::lua_gc(l, mlua::ffi::LUA_GCSTEP, 8);
                    })
                };
            }
            return Outcome::Done;
        }
        if kill {
            match &v {
                Value::Table(t) => {
                    let _ = t.raw_set("err", format!("ERR {KILLED}"));
                }
                _ => return Outcome::Failed(killed_error(name)),
            }
        }
        let counted = matches!(&v, Value::Table(t) if t.raw_get::<bool>("ignore_error_stats_update").unwrap_or(false));
        let msg = format_error(&v, name);
        if counted && !kill {
            // An error a redis.call inside made and counted: the script
            // fails with it without counting it twice (the command itself
            // still failed).
            ctx.out.error(msg.as_bytes());
            if let Some(entry) = crate::commands::registry().get(ctx.spec.name.as_bytes()) {
                ctx.srv.cmdstats.per[entry.index].failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            return Outcome::Done;
        }
        Outcome::Failed(CmdError::msg(msg))
    }
}

const IMPL_KEY: &str = "hematite_impl";

/// Calls `impl[key](...)` from the registry's implementation table; it
/// returns `ok, value`. When not ok and `raise`, the value (an error table)
/// is raised as the Lua error; otherwise the value is returned. Being a C
/// function, the trampoline keeps the calling script's frame (Lua does not
/// elide a tail call into C), so error positions name the script's line.
unsafe fn trampoline(l: *mut mlua::lua_State, key: &std::ffi::CStr, raise: bool) -> std::os::raw::c_int {
    use mlua::ffi;
    let n = ffi::lua_gettop(l);
    if ffi::lua_checkstack(l, 4) == 0 {
        return 0;
    }
    ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, c"hematite_impl".as_ptr());
    ffi::lua_getfield(l, -1, key.as_ptr());
    ffi::lua_remove(l, -2);
    ffi::lua_insert(l, 1);
    ffi::lua_call(l, n, 2);
    if raise && ffi::lua_toboolean(l, 1) == 0 {
        ffi::lua_error(l);
    }
    1
}

macro_rules! trampolines {
    ($($name:ident => $key:literal, $raise:expr;)*) => {$(
        unsafe extern "C-unwind" fn $name(l: *mut mlua::lua_State) -> std::os::raw::c_int {
            trampoline(l, $key, $raise)
        }
    )*};
}

unsafe extern "C-unwind" fn tramp_call(l: *mut mlua::lua_State) -> std::os::raw::c_int {
    if !call::redis_call_raw(l) {
        mlua::ffi::lua_error(l);
    }
    1
}

/// Lua's pcall, with the status slot taken before the call: stock Lua 5.1
/// pushes it after the results, one slot past what the C API allows when
/// they fill the 8000-slot C stack (`pcall(unpack, t)` of 7999 values), which
/// Lua's API checks (on in debug builds) abort on.
unsafe extern "C-unwind" fn base_pcall(l: *mut mlua::lua_State) -> std::os::raw::c_int {
    use mlua::ffi;
    let n = ffi::lua_gettop(l);
    if n == 0 || ffi::lua_checkstack(l, 1) == 0 {
        ffi::luaL_argerror(l, 1, c"value expected".as_ptr());
    }
    ffi::lua_pushboolean(l, 1);
    ffi::lua_insert(l, 1);
    if ffi::lua_pcall(l, n - 1, ffi::LUA_MULTRET, 0) != 0 {
        ffi::lua_pushboolean(l, 0);
        ffi::lua_replace(l, 1);
    }
    ffi::lua_gettop(l)
}

/// Lua's xpcall(f, handler), its status slot taken first (see `base_pcall`).
unsafe extern "C-unwind" fn base_xpcall(l: *mut mlua::lua_State) -> std::os::raw::c_int {
    use mlua::ffi;
    ffi::luaL_checkany(l, 2);
    ffi::lua_settop(l, 2);
    // [handler, true, f]
    ffi::lua_pushboolean(l, 1);
    ffi::lua_insert(l, 1);
    ffi::lua_insert(l, 1);
    if ffi::lua_pcall(l, 0, ffi::LUA_MULTRET, 1) != 0 {
        ffi::lua_pushboolean(l, 0);
        ffi::lua_replace(l, 2);
    }
    ffi::lua_remove(l, 1);
    ffi::lua_gettop(l)
}

unsafe extern "C-unwind" fn tramp_pcall(l: *mut mlua::lua_State) -> std::os::raw::c_int {
    call::redis_call_raw(l);
    1
}

trampolines! {
    tramp_setresp => c"setresp", true;
    tramp_sha1hex => c"sha1hex", true;
    tramp_set_repl => c"set_repl", true;
    tramp_log => c"log", true;
    tramp_register => c"register", true;
}

pub const LOAD_TIMEOUT: &str = "FUNCTION LOAD timeout";

const KILLED: &str = "Script killed by user with SCRIPT KILL...";

fn killed_error(name: &str) -> CmdError {
    CmdError::msg(format!("ERR {KILLED} script: {name}, on @user_script:1."))
}

/// Redis's luaCallFunction error text from the handler's table.
fn format_error(v: &Value, name: &str) -> String {
    let Value::Table(t) = v else {
        let msg = match v {
            Value::String(s) => s.to_string_lossy(),
            _ => "execution failure".to_string(),
        };
        return format!("ERR Error running script {name}, {}", &msg[..msg.len().min(100)]);
    };
    let get = |k: &str| -> Option<String> {
        match t.raw_get::<Value>(k).ok()? {
            Value::String(s) => Some(String::from_utf8_lossy(conv::c_string(&s.as_bytes())).into_owned()),
            Value::Number(n) => Some(super::lua_number_string(n)),
            Value::Integer(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let mut msg = get("err").unwrap_or_else(|| "(null)".into());
    if let (Some(src), Some(line)) = (get("source"), get("line")) {
        msg.push_str(&format!(" script: {name}, on {src}:{line}."));
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> Engine {
        Engine::new(Arc::new(AtomicBool::new(false)), Arc::new(super::super::Slow::default())).unwrap()
    }

    #[test]
    fn lua_table_layout_is_the_expected_one() {
        // Without it KEYS and ARGV are made anew for every run (correct,
        // but slower): an mlua or Lua upgrade must not lose this silently.
        assert!(engine().shape.is_some());
    }

    #[test]
    fn keys_and_argv_tables_are_refilled_only_when_left_as_made() {
        let e = engine();
        let scope: Table = e.bridge.raw_get("scope").unwrap();
        let table = |i: usize| -> Table { scope.raw_get(["KEYS", "ARGV"][i]).unwrap() };
        e.set_keys_argv(&[b"a", b"b", b"c"], &[b"x"]).unwrap();
        let (k1, a1) = (table(0), table(1));
        e.set_keys_argv(&[b"d", b"e", b"f"], &[b"y"]).unwrap();
        assert_eq!(table(0), k1, "same counts, untouched: refilled");
        assert_eq!(table(1), a1);
        assert_eq!(k1.raw_get::<String>(1).unwrap(), "d");
        // A different count, an added entry, a hole, a metatable: new tables.
        e.set_keys_argv(&[b"d", b"e"], &[b"y"]).unwrap();
        assert_ne!(table(0), k1);
        let k2 = table(0);
        k2.raw_set(3, "extra").unwrap();
        e.set_keys_argv(&[b"g", b"h"], &[b"y"]).unwrap();
        assert_ne!(table(0), k2);
        let k3 = table(0);
        assert_eq!(k3.raw_len(), 2);
        k3.raw_set(1, Value::Nil).unwrap();
        e.set_keys_argv(&[b"g", b"h"], &[b"y"]).unwrap();
        assert_ne!(table(0), k3);
        let k4 = table(0);
        k4.set_metatable(Some(e.lua.create_table().unwrap())).unwrap();
        e.set_keys_argv(&[b"g", b"h"], &[b"y"]).unwrap();
        assert_ne!(table(0), k4);
        assert_eq!(table(1), a1, "ARGV untouched all along");
    }
}
