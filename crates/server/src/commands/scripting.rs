//! Scripting commands: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT *, and
//! Functions (FUNCTION *, FCALL, FCALL_RO). See `scripting`.

use super::Cmd;
use crate::args::Args;
use crate::cmdspec::table as t;
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::scripting::call::RunState;
use crate::scripting::engine::Outcome;
use crate::scripting::{self, flags, functions, sha1_hex, Script};

pub static COMMANDS: &[Cmd] = &[
    Cmd::new(&t::EVAL, eval),
    Cmd::new(&t::EVALSHA, evalsha),
    Cmd::new(&t::EVAL_RO, eval_ro),
    Cmd::new(&t::EVALSHA_RO, evalsha_ro),
    Cmd::new(&t::SCRIPT_LOAD, script_load),
    Cmd::new(&t::SCRIPT_EXISTS, script_exists),
    Cmd::new(&t::SCRIPT_FLUSH, script_flush),
    Cmd::new(&t::SCRIPT_KILL, script_kill),
    Cmd::new(&t::SCRIPT_HELP, script_help),
    Cmd::new(&t::FCALL, fcall),
    Cmd::new(&t::FCALL_RO, fcall_ro),
    Cmd::new(&t::FUNCTION_LOAD, functions::load),
    Cmd::new(&t::FUNCTION_DELETE, functions::delete),
    Cmd::new(&t::FUNCTION_FLUSH, functions::flush),
    Cmd::new(&t::FUNCTION_LIST, functions::list),
    Cmd::new(&t::FUNCTION_DUMP, functions::dump),
    Cmd::new(&t::FUNCTION_RESTORE, functions::restore),
    Cmd::new(&t::FUNCTION_STATS, functions::stats),
    Cmd::new(&t::FUNCTION_KILL, functions::kill),
    Cmd::new(&t::FUNCTION_HELP, functions::help),
];

/// Keys and arguments of a script call.
pub type KeysArgs<'a> = (&'a [&'a [u8]], &'a [&'a [u8]]);

/// Splits `numkeys key... arg...` with Redis's checks.
pub fn split_keys<'a>(args: &mut Args<'a>) -> Result<KeysArgs<'a>, CmdError> {
    let n = args.next_i64()?;
    let rest = args.take_rest();
    if n > rest.len() as i64 {
        return Err(CmdError::err("Number of keys can't be greater than number of args"));
    }
    if n < 0 {
        return Err(CmdError::err("Number of keys can't be negative"));
    }
    Ok(rest.split_at(n as usize))
}

/// Compiles `body` into the cache (if new) and returns its sha.
fn create_script(st: &mut scripting::EvalState, body: &[u8]) -> Result<String, CmdError> {
    let sha = sha1_hex(body);
    if st.scripts.contains_key(&sha) {
        return Ok(sha);
    }
    let (fl, skip) = scripting::parse_shebang(body)?;
    let func = st
        .engine
        .compile(&body[skip..], "@user_script")
        .map_err(|m| CmdError::err(format!("Error compiling script (new function): {m}")))?;
    st.scripts_bytes += body.len() + sha.len();
    st.scripts.insert(sha.clone(), Script { func, flags: fl, body: body.to_vec() });
    Ok(sha)
}

fn eval_generic(ctx: &mut Ctx<'_>, args: &mut Args<'_>, by_sha: bool, ro: bool) -> CmdResult {
    // Shown to monitors first, so the commands the script calls follow.
    crate::cmdlog::feed_script(ctx, args.all());
    let src = args.next_bytes()?;
    let (keys, argv) = split_keys(args)?;
    let srv = ctx.srv;
    let _run = scripting::enter(ctx, args.all())?;
    let mut st = srv.scripting.eval_state(srv, ctx.spec)?;
    let created;
    let mut lower = [0u8; 40];
    let sha: &str = if by_sha {
        // Only a 40-character ASCII name can match; lowercased on the stack.
        if src.len() != 40 || !src.is_ascii() {
            return Err(CmdError::msg("NOSCRIPT No matching script. Please use EVAL."));
        }
        lower.copy_from_slice(src);
        lower.make_ascii_lowercase();
        std::str::from_utf8(&lower).expect("ascii")
    } else {
        created = create_script(&mut st, src)?;
        &created
    };
    let Some(script) = st.scripts.get(sha) else {
        return Err(CmdError::msg("NOSCRIPT No matching script. Please use EVAL."));
    };
    let fl = script.flags;
    let compat = fl & flags::EVAL_COMPAT != 0;
    if !compat && fl & flags::NO_WRITES == 0 && ro {
        return Err(CmdError::err("Can not execute a script with write flag using *_ro command."));
    }
    // Redis's scriptPrepareForRun: a script without flags does not run on a
    // stale replica (one with flags was refused before it got here).
    if compat && crate::dispatch::running_stale(srv) {
        return Err(CmdError::msg(crate::dispatch::MASTERDOWN));
    }
    crate::evict::script_start(srv, ctx.client, fl)?;
    let read_only = ro || (!compat && fl & flags::NO_WRITES != 0);
    let allow_oom = !compat && fl & flags::ALLOW_OOM != 0;
    let func = &script.func;
    st.engine.set_keys_argv(keys, argv).map_err(|e| CmdError::err(e.to_string()))?;
    let _running = srv.scripting.busy.begin(ctx.now_ms, false);
    srv.scripting.busy.slow.arm(crate::cfg_num!(srv.config, "busy-reply-threshold"), false, sha);
    let outcome = st.engine.run(ctx, func, None, RunState::new(read_only, allow_oom, keys), sha);
    match outcome {
        Outcome::Done => Ok(()),
        Outcome::Failed(e) => Err(e),
    }
}

/// EVAL script numkeys [key ...] [arg ...]
fn eval(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    eval_generic(ctx, args, false, false)
}

/// EVALSHA sha1 numkeys [key ...] [arg ...]
fn evalsha(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    eval_generic(ctx, args, true, false)
}

/// EVAL_RO script numkeys [key ...] [arg ...]
fn eval_ro(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    eval_generic(ctx, args, false, true)
}

/// EVALSHA_RO sha1 numkeys [key ...] [arg ...]
fn evalsha_ro(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    eval_generic(ctx, args, true, true)
}

/// SCRIPT LOAD script
fn script_load(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let body = args.next_bytes()?;
    let mut st = ctx.srv.scripting.eval_state(ctx.srv, ctx.spec)?;
    let sha = create_script(&mut st, body)?;
    drop(st);
    ctx.out.bulk(sha);
    Ok(())
}

/// SCRIPT EXISTS sha1 [sha1 ...]
fn script_exists(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let shas = args.take_rest();
    let g = scripting::lock_state(ctx.srv, &ctx.srv.scripting.eval, ctx.spec)?;
    let found: Vec<bool> = shas
        .iter()
        .map(|s| {
            let s = String::from_utf8_lossy(s).to_ascii_lowercase();
            g.as_ref().map(|st| st.scripts.contains_key(&s)).unwrap_or(false)
        })
        .collect();
    drop(g);
    ctx.out.array(found.len());
    for f in found {
        ctx.out.int(f as i64);
    }
    Ok(())
}

/// SCRIPT FLUSH [ASYNC | SYNC]
fn script_flush(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let lazy = match args.remaining() {
        0 | 1 => crate::lazyfree::flush_mode(&ctx.srv.config, args),
        _ => None,
    }
    .ok_or_else(|| CmdError::err("SCRIPT FLUSH only support SYNC|ASYNC option"))?;
    let old = scripting::lock_state(ctx.srv, &ctx.srv.scripting.eval, ctx.spec)?.take();
    // The old Lua state is dropped outside the lock; with ASYNC and more
    // than 64 cached scripts, by the lazyfree thread (the scripts' functions
    // live in the state, so the two go together).
    match old {
        Some(state) if lazy => {
            let n = state.scripts.len();
            ctx.srv.lazyfree.free_many(state, n);
        }
        _ => drop(old),
    }
    ctx.out.ok();
    Ok(())
}

/// SCRIPT KILL
fn script_kill(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    ctx.srv.scripting.busy.kill(ctx.srv, false)?;
    ctx.out.ok();
    Ok(())
}

/// Redis's addReplyHelp: a header, the lines, and the HELP footer.
pub fn reply_help(ctx: &mut Ctx<'_>, cmd: &str, lines: &[&str]) {
    ctx.out.array(lines.len() + 3);
    ctx.out.simple(format!("{cmd} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"));
    for l in lines {
        ctx.out.simple(l);
    }
    ctx.out.simple("HELP");
    ctx.out.simple("    Prints this help.");
}

/// SCRIPT HELP
fn script_help(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    reply_help(
        ctx,
        "SCRIPT",
        &[
            "DEBUG (YES|SYNC|NO)",
            "    Set the debug mode for subsequent scripts executed.",
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache. Very dangerous on replicas.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the scripts cache.",
            "    * SYNC: Synchronously flush the scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
        ],
    );
    Ok(())
}

/// FCALL function numkeys [key ...] [arg ...]
fn fcall(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    crate::cmdlog::feed_script(ctx, args.all());
    functions::fcall(ctx, args, false)
}

/// FCALL_RO function numkeys [key ...] [arg ...]
fn fcall_ro(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    crate::cmdlog::feed_script(ctx, args.all());
    functions::fcall(ctx, args, true)
}
