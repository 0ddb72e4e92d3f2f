//! Functions: libraries of Lua functions loaded with FUNCTION LOAD and
//! called with FCALL / FCALL_RO.
//!
//! Libraries live in their own Lua state (separate from EVAL's), keyed by
//! name in sorted order; `owner` maps every function name (lowercased: FCALL
//! ignores case, as Redis does) to its library, so
//! names are unique across libraries. A library is compiled and its top level
//! run into a fresh `Library` first and linked only when everything checks,
//! so a failed LOAD or RESTORE changes nothing.
//!
//! FUNCTION DUMP writes Redis's payload: per library an RDB_OPCODE_FUNCTION2
//! byte and the code as an RDB string, then the RDB version (10) and a CRC64.
//! The RDB encodings (strings, LZF, the version and CRC64 footer) are the
//! `rdb` module's, shared with DUMP/RESTORE.

use super::call::RunState;
use super::engine::{Engine, Outcome};
use super::{flags, lock_state};
use crate::args::Args;
use crate::commands::scripting::{reply_help, split_keys};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::glob;
use crate::rdb;
use mlua::{Table, Value};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;

pub struct Function {
    pub func: mlua::Function,
    pub desc: Option<String>,
    pub flags: u32,
}

pub struct Library {
    pub code: Vec<u8>,
    pub functions: BTreeMap<String, Function>,
}

pub struct Functions {
    engine: Engine,
    libs: BTreeMap<String, Library>,
    owner: HashMap<String, String>,
}

fn valid_name(n: &str) -> bool {
    !n.is_empty() && n.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

const NAME_RULE: &str =
    "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

/// The library name from the `#!lua name=...` line, and the code after it.
fn metadata(code: &[u8]) -> Result<String, String> {
    if !code.starts_with(b"#!") {
        return Err("Missing library metadata".into());
    }
    let Some(end) = code.iter().position(|&c| c == b'\n') else {
        return Err("Invalid library metadata".into());
    };
    // Redis splits the line as redis-cli does, so `name="x"` names `x`.
    let Some(parts) = resp::split_args(&code[..end]) else {
        return Err("Invalid library metadata".into());
    };
    let parts: Vec<String> = parts.iter().map(|p| String::from_utf8_lossy(p).into_owned()).collect();
    if parts.is_empty() {
        return Err("Invalid library metadata".into());
    }
    let mut name = None;
    for p in &parts[1..] {
        if p.len() >= 5 && p[..5].eq_ignore_ascii_case("name=") {
            if name.is_some() {
                return Err("Invalid metadata value, name argument was given multiple times".into());
            }
            name = Some(p[5..].to_string());
            continue;
        }
        return Err(format!("Invalid metadata value given: {p}"));
    }
    let Some(name) = name else { return Err("Library name was not given".into()) };
    if !valid_name(&name) {
        return Err(NAME_RULE.into());
    }
    let engine = &parts[0][2..];
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(format!("Engine '{engine}' not found"));
    }
    Ok(name)
}

impl Functions {
    /// The flags of function `name`, if it exists (the OOM check before
    /// FCALL runs, see evict.rs).
    /// Names are matched without regard to case, as FCALL does.
    pub fn flags_of(&self, name: &str) -> Option<u32> {
        let lib = self.owner.get(&name.to_ascii_lowercase())?;
        let lib = self.libs.get(lib)?;
        lib.functions.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, f)| f.flags)
    }

    fn new(srv: &crate::server::Server) -> Result<Functions, CmdError> {
        let engine = Engine::new(srv.scripting.busy.kill.clone(), srv.scripting.busy.slow.clone())
            .map_err(|e| CmdError::err(format!("Failed to create the Lua engine: {e}")))?;
        Ok(Functions { engine, libs: BTreeMap::new(), owner: HashMap::new() })
    }

    /// Compiles a library and runs its top level (which registers its
    /// functions), without linking it.
    fn compile(&self, code: &[u8]) -> Result<(String, Library), String> {
        let name = metadata(code)?;
        let end = code.iter().position(|&c| c == b'\n').unwrap_or(code.len());
        let lua = &self.engine.lua;
        let bridge = self.engine.bridge();
        let fenv: Table = bridge.raw_get("fenv").map_err(|e| e.to_string())?;
        let unnested = super::lstr::unnest(&code[end..]);
        let body = unnested.as_deref().unwrap_or(&code[end..]);
        let chunk =
            lua.load(body).set_name("@user_function").set_environment(fenv).into_function().map_err(|e| match e {
                mlua::Error::SyntaxError { message, .. } => format!("Error compiling function: {message}"),
                e => format!("Error compiling function: {e}"),
            })?;
        let registered: RefCell<BTreeMap<String, Function>> = RefCell::new(BTreeMap::new());
        let api: Value = bridge.raw_get("load_api_table").unwrap_or(Value::Nil);
        let result = lua.scope(|scope| {
            let reg = scope.create_function(
                |_, (name, func, desc, fl): (String, mlua::Function, Option<String>, Vec<String>)| {
                    if !valid_name(&name) {
                        return Ok(Some(NAME_RULE.to_string()));
                    }
                    let mut bits = 0;
                    for f in &fl {
                        match flags::by_name(f.to_ascii_lowercase().as_bytes()) {
                            Some(b) => bits |= b,
                            None => return Ok(Some("unknown flag given".to_string())),
                        }
                    }
                    let mut r = registered.borrow_mut();
                    if r.contains_key(&name) {
                        return Ok(Some("Function already exists in the library".to_string()));
                    }
                    r.insert(name, Function { func, desc, flags: bits });
                    Ok(None)
                },
            )?;
            bridge.raw_set("register", reg)?;
            bridge.raw_set("load_api", api)?;
            let run: mlua::Function = bridge.raw_get("load_run")?;
            // Redis gives a library's top level 500 ms.
            self.engine.set_load_timeout(500);
            let r = run.call::<(bool, Value)>(chunk);
            let timed_out = self.engine.load_timed_out();
            self.engine.set_load_timeout(0);
            let r = if timed_out { Ok((false, Value::Nil)) } else { r };
            bridge.raw_set("register", Value::Nil)?;
            bridge.raw_set("load_api", Value::Nil)?;
            r
        });
        match result {
            Ok((true, _)) => {}
            Ok((false, Value::Nil)) => {
                return Err(format!("Error registering functions: ERR {}", super::engine::LOAD_TIMEOUT))
            }
            Ok((false, e)) => return Err(format!("Error registering functions: {}", load_error_text(&e))),
            Err(e) => return Err(format!("Error registering functions: ERR {e}")),
        }
        let functions = registered.into_inner();
        if functions.is_empty() {
            return Err("No functions registered".into());
        }
        Ok((name, Library { code: code.to_vec(), functions }))
    }

    /// Links libraries; with `replace`, a library of the same name is
    /// replaced. All or nothing.
    fn link(&mut self, new: Vec<(String, Library)>, replace: bool) -> Result<(), String> {
        for (name, lib) in &new {
            if self.libs.contains_key(name) && !replace {
                return Err(format!("Library '{name}' already exists"));
            }
            for f in lib.functions.keys() {
                if let Some(owner) = self.owner.get(&f.to_ascii_lowercase()) {
                    if owner != name {
                        return Err(format!("Function {f} already exists"));
                    }
                }
            }
        }
        for (name, lib) in new {
            self.unlink(&name);
            for f in lib.functions.keys() {
                self.owner.insert(f.to_ascii_lowercase(), name.clone());
            }
            self.libs.insert(name, lib);
        }
        Ok(())
    }

    fn unlink(&mut self, name: &str) -> bool {
        let Some(old) = self.libs.remove(name) else { return false };
        for f in old.functions.keys() {
            self.owner.remove(&f.to_ascii_lowercase());
        }
        true
    }

    fn counts(&self) -> (usize, usize) {
        (self.libs.len(), self.owner.len())
    }

    /// The Lua state's memory, and the libraries' outside it: their code,
    /// names, descriptions and entries (Redis's functionsMemoryOverhead).
    pub fn memory(&self) -> (u64, u64) {
        let entry = std::mem::size_of::<(String, Function)>() + 2 * std::mem::size_of::<String>();
        let mut bytes = std::mem::size_of::<Functions>();
        for (name, lib) in &self.libs {
            bytes += name.len() + lib.code.len() + std::mem::size_of::<(String, Library)>();
            for (f, func) in &lib.functions {
                bytes += 2 * f.len() + func.desc.as_ref().map_or(0, |d| d.len()) + entry;
            }
        }
        (self.engine.used_memory(), bytes as u64)
    }
}

/// The text of an error raised while a library's top level ran: Redis's
/// error table's `err`, or "ERR " and the message.
fn load_error_text(e: &Value) -> String {
    let text = |v: Value| match v {
        Value::String(s) => Some(s.to_string_lossy()),
        Value::Number(n) => Some(super::lua_number_string(n)),
        Value::Integer(n) => Some(n.to_string()),
        _ => None,
    };
    match e {
        Value::Table(t) => t.raw_get::<Value>("err").ok().and_then(text).unwrap_or_else(|| "(null)".into()),
        v => format!("ERR {}", text(v.clone()).unwrap_or_else(|| "(null)".into())),
    }
}

fn with_functions<R>(ctx: &mut Ctx<'_>, f: impl FnOnce(&mut Functions) -> Result<R, CmdError>) -> Result<R, CmdError> {
    let srv = ctx.srv;
    let mut g = lock_state(srv, &srv.scripting.functions, ctx.spec)?;
    if g.is_none() {
        *g = Some(Functions::new(srv)?);
    }
    let funcs = g.as_mut().expect("just created");
    let r = f(funcs);
    let (l, n) = funcs.counts();
    srv.scripting.counts.store(((l as u64) << 32) | n as u64, Ordering::Relaxed);
    *srv.scripting.lib_codes.lock() = funcs.libs.values().map(|l| l.code.clone()).collect();
    r
}

/// Drops every library (DEBUG RELOAD empties functions with the data, as
/// Redis's emptyData does). Not for use while a function runs.
/// `state` is the functions state, locked by the caller.
pub fn clear_all(srv: &crate::server::Server, state: &mut Option<Functions>) {
    if let Some(fs) = state.as_mut() {
        fs.libs.clear();
        fs.owner.clear();
    }
    srv.scripting.counts.store(0, Ordering::Relaxed);
    srv.scripting.lib_codes.lock().clear();
}

/// Loads libraries from their code (an RDB file). A library that exists
/// already is an error unless `replace`. Not for use while a function runs.
/// `g` is the functions state, locked by the caller.
pub fn load_codes(
    srv: &crate::server::Server,
    g: &mut Option<Functions>,
    codes: &[Vec<u8>],
    replace: bool,
) -> Result<(), String> {
    if g.is_none() {
        *g = Some(Functions::new(srv).map_err(|e| e.to_string())?);
    }
    let fs = g.as_mut().expect("just created");
    let mut libs = Vec::new();
    for c in codes {
        libs.push(fs.compile(c)?);
    }
    fs.link(libs, replace)?;
    let (l, n) = fs.counts();
    srv.scripting.counts.store(((l as u64) << 32) | n as u64, Ordering::Relaxed);
    *srv.scripting.lib_codes.lock() = fs.libs.values().map(|l| l.code.clone()).collect();
    Ok(())
}

/// FUNCTION LOAD [REPLACE] function-code
pub fn load(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let mut replace = false;
    while args.remaining() > 1 {
        let a = args.next_bytes()?;
        if a.eq_ignore_ascii_case(b"REPLACE") {
            replace = true;
            continue;
        }
        return Err(CmdError::err(format!("Unknown option given: {}", String::from_utf8_lossy(a))));
    }
    let Some(code) = args.peek() else { return Err(CmdError::err("Function code is missing")) };
    let name = with_functions(ctx, |fs| {
        // Redis refuses an existing library before it runs the new code.
        let name = metadata(code).map_err(CmdError::err)?;
        if !replace && fs.libs.contains_key(&name) {
            return Err(CmdError::err(format!("Library '{name}' already exists")));
        }
        let (name, lib) = fs.compile(code).map_err(CmdError::err)?;
        fs.link(vec![(name.clone(), lib)], replace).map_err(CmdError::err)?;
        Ok(name)
    })?;
    ctx.add_dirty(1);
    ctx.out.bulk(name);
    Ok(())
}

/// FUNCTION DELETE library-name
pub fn delete(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let name = String::from_utf8_lossy(args.next_bytes()?).into_owned();
    with_functions(ctx, |fs| if fs.unlink(&name) { Ok(()) } else { Err(CmdError::err("Library not found")) })?;
    ctx.add_dirty(1);
    ctx.out.ok();
    Ok(())
}

/// FUNCTION FLUSH [ASYNC | SYNC]
pub fn flush(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    if args.remaining() > 1 {
        return Err(CmdError::subcommand_syntax(args.all()));
    }
    let lazy = crate::lazyfree::flush_mode(&ctx.srv.config, args)
        .ok_or_else(|| CmdError::err("FUNCTION FLUSH only supports SYNC|ASYNC option"))?;
    if lazy {
        // More than 64 functions: the whole state (libraries and the Lua
        // state their functions live in) goes to the lazyfree thread, and
        // the next function command starts a fresh one (Redis's
        // functionsLibCtxClearCurrent with async).
        let srv = ctx.srv;
        let mut g = lock_state(srv, &srv.scripting.functions, ctx.spec)?;
        let n = g.as_ref().map_or(0, |fs| fs.counts().1);
        if n > crate::lazyfree::THRESHOLD {
            let old = g.take();
            srv.scripting.counts.store(0, Ordering::Relaxed);
            srv.scripting.lib_codes.lock().clear();
            drop(g);
            srv.lazyfree.free_many(old, n);
            ctx.add_dirty(1);
            ctx.out.ok();
            return Ok(());
        }
    }
    with_functions(ctx, |fs| {
        fs.libs.clear();
        fs.owner.clear();
        Ok(())
    })?;
    ctx.add_dirty(1);
    ctx.out.ok();
    Ok(())
}

fn reply_flags(ctx: &mut Ctx<'_>, fl: u32) {
    let names: Vec<&str> = flags::NAMES.iter().filter(|(_, b)| fl & b != 0).map(|(n, _)| *n).collect();
    ctx.out.set(names.len());
    for n in names {
        ctx.out.simple(n);
    }
}

/// FUNCTION LIST [LIBRARYNAME library-name-pattern] [WITHCODE]
pub fn list(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (mut with_code, mut pattern): (bool, Option<&[u8]>) = (false, None);
    while let Some(a) = args.peek() {
        args.next_bytes()?;
        if !with_code && a.eq_ignore_ascii_case(b"WITHCODE") {
            with_code = true;
            continue;
        }
        if pattern.is_none() && a.eq_ignore_ascii_case(b"LIBRARYNAME") {
            if args.is_empty() {
                return Err(CmdError::err("library name argument was not given"));
            }
            pattern = Some(args.next_bytes()?);
            continue;
        }
        return Err(CmdError::err(format!("Unknown argument {}", String::from_utf8_lossy(a))));
    }
    // Copy what the reply needs, so the Lua state is not held while replying.
    type Listed = (String, Vec<u8>, Vec<(String, Option<String>, u32)>);
    let libs: Vec<Listed> = with_functions(ctx, |fs| {
        Ok(fs
            .libs
            .iter()
            .filter(|(n, _)| pattern.map(|p| glob::matches(p, n.as_bytes(), true)).unwrap_or(true))
            .map(|(n, l)| {
                let fns = l.functions.iter().map(|(fname, f)| (fname.clone(), f.desc.clone(), f.flags)).collect();
                (n.clone(), if with_code { l.code.clone() } else { Vec::new() }, fns)
            })
            .collect())
    })?;
    ctx.out.array(libs.len());
    for (name, code, fns) in libs {
        ctx.out.map(if with_code { 4 } else { 3 });
        ctx.out.bulk("library_name");
        ctx.out.bulk(name);
        ctx.out.bulk("engine");
        ctx.out.bulk("LUA");
        ctx.out.bulk("functions");
        ctx.out.array(fns.len());
        for (fname, desc, fl) in fns {
            ctx.out.map(3);
            ctx.out.bulk("name");
            ctx.out.bulk(fname);
            ctx.out.bulk("description");
            match desc {
                Some(d) => ctx.out.bulk(d),
                None => ctx.out.null(),
            }
            ctx.out.bulk("flags");
            reply_flags(ctx, fl);
        }
        if with_code {
            ctx.out.bulk("library_code");
            ctx.out.bulk(code);
        }
    }
    Ok(())
}

const RDB_OPCODE_FUNCTION2: u8 = 245;

/// FUNCTION DUMP
pub fn dump(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    let codes: Vec<Vec<u8>> = with_functions(ctx, |fs| Ok(fs.libs.values().map(|l| l.code.clone()).collect()))?;
    let mut p = Vec::new();
    for c in codes {
        p.push(RDB_OPCODE_FUNCTION2);
        rdb::write_string(&mut p, &c);
    }
    ctx.out.bulk(rdb::seal(p));
    Ok(())
}

/// The library codes of a DUMP payload; `None` if it is malformed.
fn parse_payload(p: &[u8]) -> Result<Vec<Vec<u8>>, CmdError> {
    let data = rdb::unseal(p).ok_or_else(|| CmdError::err("DUMP payload version or checksum are wrong"))?;
    let mut r = rdb::Reader::new(data);
    let mut codes = Vec::new();
    while !r.is_empty() {
        match r.byte() {
            Some(RDB_OPCODE_FUNCTION2) => {}
            Some(_) => return Err(CmdError::err("given type is not a function")),
            None => break,
        }
        codes.push(r.string().ok_or_else(|| CmdError::err("can not read data type"))?.into_owned());
    }
    Ok(codes)
}

/// FUNCTION RESTORE serialized-value [FLUSH | APPEND | REPLACE]
pub fn restore(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let payload = args.next_bytes()?;
    #[derive(PartialEq)]
    enum Policy {
        Flush,
        Append,
        Replace,
    }
    let policy = match args.peek() {
        None => Policy::Append,
        Some(a) if args.remaining() == 1 => {
            args.next_bytes()?;
            if a.eq_ignore_ascii_case(b"FLUSH") {
                Policy::Flush
            } else if a.eq_ignore_ascii_case(b"APPEND") {
                Policy::Append
            } else if a.eq_ignore_ascii_case(b"REPLACE") {
                Policy::Replace
            } else {
                return Err(CmdError::err(
                    "Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
                ));
            }
        }
        Some(_) => return Err(CmdError::subcommand_syntax(args.all())),
    };
    let codes = parse_payload(payload)?;
    with_functions(ctx, |fs| {
        let mut libs = Vec::new();
        for c in &codes {
            libs.push(fs.compile(c).map_err(CmdError::err)?);
        }
        if policy == Policy::Flush {
            fs.libs.clear();
            fs.owner.clear();
        }
        // RESTORE words this clash without the quotes FUNCTION LOAD uses.
        if policy == Policy::Append {
            if let Some((n, _)) = libs.iter().find(|(n, _)| fs.libs.contains_key(n)) {
                return Err(CmdError::err(format!("Library {n} already exists")));
            }
        }
        fs.link(libs, policy == Policy::Replace).map_err(CmdError::err)
    })?;
    ctx.add_dirty(1);
    ctx.out.ok();
    Ok(())
}

/// FUNCTION STATS
pub fn stats(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    let busy = &ctx.srv.scripting.busy;
    if busy.running() && !busy.is_function() {
        return Err(CmdError::msg(
            "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
        ));
    }
    let counts = ctx.srv.scripting.counts.load(Ordering::Relaxed);
    ctx.out.map(2);
    ctx.out.bulk("running_script");
    match busy.running_info(ctx.srv) {
        Some((name, argv, ms)) => {
            ctx.out.map(3);
            ctx.out.bulk("name");
            ctx.out.bulk(name);
            ctx.out.bulk("command");
            ctx.out.array(argv.len());
            for a in argv {
                ctx.out.bulk(a);
            }
            ctx.out.bulk("duration_ms");
            ctx.out.int(ms);
        }
        None => ctx.out.null(),
    }
    ctx.out.bulk("engines");
    ctx.out.map(1);
    ctx.out.bulk("LUA");
    ctx.out.map(2);
    ctx.out.bulk("libraries_count");
    ctx.out.int((counts >> 32) as i64);
    ctx.out.bulk("functions_count");
    ctx.out.int((counts & 0xffff_ffff) as i64);
    Ok(())
}

/// FUNCTION KILL
pub fn kill(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    ctx.srv.scripting.busy.kill(ctx.srv, true)?;
    ctx.out.ok();
    Ok(())
}

/// FUNCTION HELP
pub fn help(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    reply_help(
        ctx,
        "FUNCTION",
        &[
            "LOAD [REPLACE] <FUNCTION CODE>",
            "    Create a new library with the given library name and code.",
            "DELETE <LIBRARY NAME>",
            "    Delete the given library.",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "    Return general information on all the libraries:",
            "    * Library name",
            "    * The engine used to run the Library",
            "    * Library description",
            "    * Functions list",
            "    * Library code (if WITHCODE is given)",
            "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
            "STATS",
            "    Return information about the current function running:",
            "    * Function name",
            "    * Command used to run the function",
            "    * Duration in MS that the function is running",
            "    If no function is running, return nil",
            "    In addition, returns a list of available engines.",
            "KILL",
            "    Kill the current running function.",
            "FLUSH [ASYNC|SYNC]",
            "    Delete all the libraries.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the libraries.",
            "    * SYNC: Synchronously flush the libraries.",
            "DUMP",
            "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
            "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
            "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
            "    control how to handle existing libraries (default APPEND):",
            "    * FLUSH: delete all existing libraries.",
            "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
            "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
            "      libraries with the new libraries (notice that even on this option there is a chance of failure",
            "      in case of functions name collision with another library).",
        ],
    );
    Ok(())
}

/// FCALL / FCALL_RO function numkeys [key ...] [arg ...]
pub fn fcall(ctx: &mut Ctx<'_>, args: &mut Args<'_>, ro: bool) -> CmdResult {
    let name = String::from_utf8_lossy(args.next_bytes()?).into_owned();
    let srv = ctx.srv;
    let _run = super::enter(ctx, args.all())?;
    let mut g = lock_state(srv, &srv.scripting.functions, ctx.spec)?;
    let Some(fs) = g.as_mut() else { return Err(CmdError::err("Function not found")) };
    // Function names are case-insensitive (within a library they are not).
    let Some(lib) = fs.owner.get(&name.to_ascii_lowercase()) else { return Err(CmdError::err("Function not found")) };
    let found = fs.libs[lib].functions.iter().find(|(n, _)| n.eq_ignore_ascii_case(&name));
    let Some((_, f)) = found else { return Err(CmdError::err("Function not found")) };
    let n = args.next_bytes()?;
    if types::num::parse_i64(n).is_none() {
        return Err(CmdError::err("Bad number of keys provided"));
    }
    let mut a2 = Args::new(args.all(), args.position() - 1);
    let (keys, argv) = split_keys(&mut a2)?;
    if f.flags & flags::NO_WRITES == 0 && ro {
        return Err(CmdError::err("Can not execute a script with write flag using *_ro command."));
    }
    crate::evict::script_start(srv, ctx.client, f.flags)?;
    let read_only = ro || f.flags & flags::NO_WRITES != 0;
    let allow_oom = f.flags & flags::ALLOW_OOM != 0;
    let func = f.func.clone();
    let k = fs.engine.array(keys).map_err(|e| CmdError::err(e.to_string()))?;
    let a = fs.engine.array(argv).map_err(|e| CmdError::err(e.to_string()))?;
    let _running = srv.scripting.busy.begin(ctx.now_ms, true);
    srv.scripting.busy.set_info(&name, args.all());
    srv.scripting.busy.slow.arm(crate::cfg_num!(srv.config, "busy-reply-threshold"), true, &name);
    let engine = &fs.engine;
    match engine.run(ctx, &func, Some((k, a)), RunState::new(read_only, allow_oom, keys), &name) {
        Outcome::Done => Ok(()),
        Outcome::Failed(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trip() {
        let mut p = vec![RDB_OPCODE_FUNCTION2];
        let code = b"#!lua name=x\nredis.register_function('f', function() return 1 end)".to_vec();
        rdb::write_string(&mut p, &code);
        let mut p = rdb::seal(p);
        assert_eq!(parse_payload(&p).unwrap(), vec![code]);
        let n = p.len();
        p[n - 1] ^= 1;
        assert!(parse_payload(&p).is_err());
    }

    #[test]
    fn library_metadata() {
        assert_eq!(metadata(b"#!lua name=abc\n").unwrap(), "abc");
        assert_eq!(metadata(b"return 1").unwrap_err(), "Missing library metadata");
        assert_eq!(metadata(b"#!lua name=a-b\n").unwrap_err(), NAME_RULE);
        assert_eq!(metadata(b"#!js name=a\n").unwrap_err(), "Engine 'js' not found");
        assert_eq!(metadata(b"#!lua\n").unwrap_err(), "Library name was not given");
        assert_eq!(metadata(b"#!lua foo=1\n").unwrap_err(), "Invalid metadata value given: foo=1");
    }
}
