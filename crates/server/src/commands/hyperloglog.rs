//! HyperLogLog commands: PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST.
//!
//! A sketch is an ordinary string in Redis's `HYLL` layout (see
//! `types::hll`); these handlers find the string, check that it looks like a
//! sketch, and edit its bytes in place. Like Redis, every command that may
//! write first turns an embedded string into a raw one (dbUnshareStringValue),
//! and a single-key PFCOUNT stores the cardinality it computed in the
//! header, which counts as a write of the key.

use super::Cmd;
use crate::args::{is, Args};
use crate::cmdspec::table as t;
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::notify;
use crate::storage::Str;
use types::hll;

pub static COMMANDS: &[Cmd] = &[
    Cmd::new(&t::PFADD, pfadd),
    Cmd::new(&t::PFCOUNT, pfcount),
    Cmd::new(&t::PFMERGE, pfmerge),
    Cmd::new(&t::PFDEBUG, pfdebug),
    Cmd::new(&t::PFSELFTEST, pfselftest),
];

fn not_hll() -> CmdError {
    CmdError::msg("WRONGTYPE Key is not a valid HyperLogLog string value.")
}

fn corrupt() -> CmdError {
    CmdError::msg("INVALIDOBJ Corrupted HLL object detected")
}

/// The bytes of a string that passes Redis's sketch check; an integer-encoded
/// string never does.
fn hll_bytes(s: &Str) -> Result<&[u8], CmdError> {
    match s {
        Str::Int(_) => Err(not_hll()),
        Str::Emb(b) if hll::is_valid(b) => Ok(b),
        Str::Raw(b) if hll::is_valid(b) => Ok(b),
        _ => Err(not_hll()),
    }
}

/// A checked sketch, unshared for writing.
fn hll_mut(s: &mut Str) -> Result<&mut Vec<u8>, CmdError> {
    hll_bytes(s)?;
    Ok(s.make_raw())
}

fn sparse_max(ctx: &Ctx<'_>) -> usize {
    crate::cfg_num!(ctx.srv.config, "hll-sparse-max-bytes").max(0) as usize
}

/// Declares a write counting `n` changes (Redis adds them to its dirty count).
fn changed(ctx: &mut Ctx<'_>, key: &[u8], n: u64) {
    ctx.modified(key);
    if n > 1 {
        ctx.add_dirty(n - 1);
    }
}

/// An internal error for a key that vanished between two lookups.
fn gone() -> CmdError {
    CmdError::err("internal error: key vanished")
}

/// PFADD key [element ...]
fn pfadd(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let eles = args.take_rest();
    let max = sparse_max(ctx);
    let mut updated = 0u64;
    match ctx.write_str(key)? {
        Some(s) => {
            hll_bytes(s)?;
        }
        None => {
            ctx.add_str(key, Str::raw(hll::new_sparse()))?;
            updated += 1;
        }
    }
    let v = hll_mut(ctx.write_str(key)?.ok_or_else(gone)?)?;
    for e in eles {
        match hll::add(v, e, max) {
            Ok(true) => updated += 1,
            Ok(false) => {}
            Err(hll::Corrupt) => return Err(corrupt()),
        }
    }
    if updated > 0 {
        hll::invalidate(v);
        changed(ctx, key, updated);
        ctx.notify(notify::STRING, "pfadd", key);
    }
    ctx.out.int((updated > 0) as i64);
    Ok(())
}

/// PFCOUNT key [key ...]
fn pfcount(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let keys = args.take_rest();
    if keys.len() > 1 {
        // The union, computed on the side: the keys are not modified.
        let mut max: Box<hll::Raw> = Box::new([0; hll::REGISTERS]);
        for k in keys {
            if let Some(s) = ctx.read_str(k)? {
                hll::merge_into(&mut max, hll_bytes(s)?).map_err(|_| corrupt())?;
            }
        }
        ctx.out.int(hll::count_raw(&max) as i64);
        return Ok(());
    }
    let key = keys[0];
    let Some(s) = ctx.read_str(key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let v = hll_mut(s)?;
    let card = match hll::cached(v) {
        Some(c) => c,
        None => {
            let c = hll::count(v).map_err(|_| corrupt())?;
            hll::set_cached(v, c);
            ctx.modified(key);
            c
        }
    };
    ctx.out.int(card as i64);
    Ok(())
}

/// PFMERGE destkey [sourcekey ...]
fn pfmerge(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let all = args.take_rest();
    let dest = all[0];
    let mut max: Box<hll::Raw> = Box::new([0; hll::REGISTERS]);
    let mut use_dense = false;
    // The destination takes part in the union too.
    for k in all {
        if let Some(s) = ctx.read_str(k)? {
            let v = hll_bytes(s)?;
            use_dense |= !hll::is_sparse(v);
            hll::merge_into(&mut max, v).map_err(|_| corrupt())?;
        }
    }
    let sparse_max = sparse_max(ctx);
    if ctx.write_str(dest)?.is_none() {
        ctx.add_str(dest, Str::raw(hll::new_sparse()))?;
    }
    let v = ctx.write_str(dest)?.ok_or_else(gone)?.make_raw();
    if use_dense {
        hll::to_dense(v).map_err(|_| corrupt())?;
    }
    for (i, &m) in max.iter().enumerate() {
        if m != 0 {
            // The destination was checked by the merge above: this cannot fail.
            let _ = hll::set_register(v, i, m, sparse_max);
        }
    }
    hll::invalidate(v);
    ctx.modified(dest);
    // Redis reports a merge as a mass PFADD.
    ctx.notify(notify::STRING, "pfadd", dest);
    ctx.out.ok();
    Ok(())
}

#[derive(Clone, Copy)]
enum Debug {
    GetReg,
    Decode,
    Encoding,
    ToDense,
}

/// PFDEBUG subcommand key
fn pfdebug(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (sub, key) = (args.next_bytes()?, args.next_key()?);
    let Some(s) = ctx.write_str(key)? else {
        return Err(CmdError::err("The specified key does not exist"));
    };
    let v = hll_mut(s)?;
    const OPS: [(&str, Debug); 4] = [
        ("GETREG", Debug::GetReg),
        ("DECODE", Debug::Decode),
        ("ENCODING", Debug::Encoding),
        ("TODENSE", Debug::ToDense),
    ];
    let op = OPS.iter().find(|(w, _)| is(sub, w)).map(|&(_, d)| d);
    let Some(op) = op else {
        // Redis prints the name as a C string: up to its first NUL byte.
        let name = sub.split(|&b| b == 0).next().unwrap_or(&[]);
        return Err(CmdError::err(format!("Unknown PFDEBUG subcommand '{}'", String::from_utf8_lossy(name))));
    };
    match op {
        Debug::GetReg => {
            // Reading the registers converts the value to dense for good.
            let converted = hll::to_dense(v).map_err(|_| corrupt())?;
            let regs: Vec<u8> = hll::registers(v).collect();
            if converted {
                ctx.add_dirty(1);
            }
            ctx.out.array(regs.len());
            for r in regs {
                ctx.out.int(r as i64);
            }
        }
        Debug::Decode => {
            if !hll::is_sparse(v) {
                return Err(CmdError::err("HLL encoding is not sparse"));
            }
            let text = hll::decode(v);
            ctx.out.bulk(text);
        }
        Debug::Encoding => {
            let name = if hll::is_sparse(v) { "sparse" } else { "dense" };
            ctx.out.simple(name);
        }
        Debug::ToDense => {
            let converted = hll::to_dense(v).map_err(|_| corrupt())?;
            if converted {
                ctx.add_dirty(1);
            }
            ctx.out.int(converted as i64);
        }
    }
    Ok(())
}

/// PFSELFTEST
fn pfselftest(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    args.finish()?;
    let max = sparse_max(ctx);
    match hll::self_test(max, rand::random(), 100, 10_000_000) {
        Ok(()) => ctx.out.ok(),
        Err(m) => return Err(CmdError::msg(format!("TESTFAILED {m}"))),
    }
    Ok(())
}
