//! String commands.
//!
//! Values are `storage::Str`, which keeps Redis's three encodings because
//! OBJECT ENCODING reports them: a SET-style write encodes its argument as
//! Redis's `tryObjectEncoding` does (`int` for a canonical i64, `embstr` up
//! to 44 bytes, `raw` above); APPEND and SETRANGE on an existing key turn the
//! value `raw` (Redis unshares it into a growable sds); the INCR family always
//! stores an `int`; INCRBYFLOAT stores its formatted result as a plain string
//! (`embstr`/`raw`, never `int`, even for "3000").
//!
//! In-place updates (INCR family, INCRBYFLOAT, APPEND, SETRANGE) keep the
//! key's TTL, as Redis's dbOverwrite does; SET, GETSET and MSET clear it.
//! Variants (SETNX, SETEX, PSETEX; INCR/DECR/INCRBY/DECRBY; GETRANGE/SUBSTR)
//! are thin entry points over one shared body each.

use super::{prop, Cmd};
use crate::args::{self, Args};
use crate::cmdspec::table as t;
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::notify;
use crate::storage::value::EMBSTR_MAX;
use crate::storage::{Str, Value};
use resp::Out;
use types::num::{self, IncrFloatError};

pub static COMMANDS: &[Cmd] = &[
    Cmd::new(&t::GET, get),
    Cmd::new(&t::SET, set),
    Cmd::new(&t::SETNX, setnx),
    Cmd::new(&t::SETEX, setex),
    Cmd::new(&t::PSETEX, psetex),
    Cmd::new(&t::GETEX, getex),
    Cmd::new(&t::GETDEL, getdel),
    Cmd::new(&t::GETSET, getset),
    Cmd::new(&t::MGET, mget),
    Cmd::new(&t::MSET, mset),
    Cmd::new(&t::MSETNX, msetnx),
    Cmd::new(&t::APPEND, append),
    Cmd::new(&t::STRLEN, strlen),
    Cmd::new(&t::GETRANGE, getrange),
    Cmd::new(&t::SUBSTR, getrange),
    Cmd::new(&t::SETRANGE, setrange),
    Cmd::new(&t::INCR, incr),
    Cmd::new(&t::DECR, decr),
    Cmd::new(&t::INCRBY, incrby),
    Cmd::new(&t::DECRBY, decrby),
    Cmd::new(&t::INCRBYFLOAT, incrbyfloat),
    Cmd::new(&t::LCS, lcs),
];

/// Writes a string value as a bulk reply.
pub fn reply_str(ctx: &mut Ctx<'_>, s: &Str) {
    write_str(ctx.out, s);
}

fn write_str(out: &mut Out, s: &Str) {
    let mut b = itoa::Buffer::new();
    out.bulk(s.as_bytes(&mut b));
}

/// A string stored as Redis's `createStringObject` would: never `int`.
fn plain_str(b: Vec<u8>) -> Str {
    if b.len() <= EMBSTR_MAX {
        Str::Emb(b.into())
    } else {
        Str::raw(b)
    }
}

/// Redis's checkStringLength: a string may not grow past proto-max-bulk-len.
fn check_len(ctx: &Ctx<'_>, size: usize, append: usize) -> CmdResult {
    let max = crate::cfg_num!(ctx.srv.config, "proto-max-bulk-len");
    match (size as u64).checked_add(append as u64) {
        Some(total) if total <= max as u64 => Ok(()),
        _ => Err(CmdError::StringTooLong),
    }
}

/// Reads a string for a GET-style reply: replies with it (or null) and
/// returns whether it existed; WRONGTYPE for another type.
fn get_reply(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<bool, CmdError> {
    let (entry, out) = ctx.lookup_read_out(key)?;
    match entry.map(|e| &e.value) {
        None => {
            out.null();
            Ok(false)
        }
        Some(Value::Str(s)) => {
            write_str(out, s);
            Ok(true)
        }
        #[allow(unreachable_patterns)]
        Some(_) => Err(CmdError::WrongType),
    }
}

/// GET key
fn get(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    get_reply(ctx, key)?;
    Ok(())
}

/// The expire option of SET, SETEX, PSETEX and GETEX.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ttl {
    Ex,
    Px,
    ExAt,
    PxAt,
    KeepTtl,
    Persist,
}

impl Ttl {
    /// Converts the option's argument to an absolute time in ms with
    /// Redis's checks (getExpireMillisecondsOrReply); the error names the
    /// command.
    fn to_abs_ms(self, cmd: &str, raw: &[u8], now_ms: i64) -> Result<i64, CmdError> {
        let v = args::parse_i64(raw)?;
        let bad = || CmdError::InvalidExpire(cmd.to_string());
        let secs = matches!(self, Ttl::Ex | Ttl::ExAt);
        if v <= 0 || (secs && v > i64::MAX / 1000) {
            return Err(bad());
        }
        let ms = if secs { v * 1000 } else { v };
        if matches!(self, Ttl::Ex | Ttl::Px) {
            // Redis adds and checks for a wrap to <= 0.
            return ms.checked_add(now_ms).filter(|&t| t > 0).ok_or_else(bad);
        }
        Ok(ms)
    }
}

const SET_TTLS: [(&str, Ttl); 5] =
    [("EX", Ttl::Ex), ("PX", Ttl::Px), ("EXAT", Ttl::ExAt), ("PXAT", Ttl::PxAt), ("KEEPTTL", Ttl::KeepTtl)];
const GETEX_TTLS: [(&str, Ttl); 5] =
    [("EX", Ttl::Ex), ("PX", Ttl::Px), ("EXAT", Ttl::ExAt), ("PXAT", Ttl::PxAt), ("PERSIST", Ttl::Persist)];

/// Reads one option of a TTL group with its argument (if it takes one).
/// `Ok(false)` if the next argument is not in the group.
fn eat_ttl<'a>(
    args: &mut Args<'a>,
    group: &[(&str, Ttl)],
    ttl: &mut Option<Ttl>,
    raw: &mut Option<&'a [u8]>,
) -> Result<bool, CmdError> {
    match args.eat_group(ttl, group)? {
        None => Ok(false),
        Some(Ttl::KeepTtl | Ttl::Persist) => Ok(true),
        Some(_) => {
            // A time option needs its value; as the last word it is a syntax error.
            *raw = Some(args.next_bytes()?);
            Ok(true)
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Cond {
    Nx,
    Xx,
}

/// How a SET-family command answers: SET/SETEX/PSETEX with +OK or null,
/// SETNX with 1 or 0.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SetReply {
    Ok,
    Int,
}

struct SetArgs<'a> {
    key: &'a [u8],
    value: &'a [u8],
    cond: Option<Cond>,
    get: bool,
    ttl: Option<Ttl>,
    ttl_raw: Option<&'a [u8]>,
    reply: SetReply,
    /// The command's arguments (SET GET is propagated without its GETs).
    argv: &'a [&'a [u8]],
}

fn parse_set<'a>(args: &mut Args<'a>) -> Result<SetArgs<'a>, CmdError> {
    let (key, value) = (args.next_key()?, args.next_bytes()?);
    let argv = args.all();
    let mut a = SetArgs { key, value, cond: None, get: false, ttl: None, ttl_raw: None, reply: SetReply::Ok, argv };
    while !args.is_empty() {
        if args.eat_group(&mut a.cond, &[("NX", Cond::Nx), ("XX", Cond::Xx)])?.is_some() {
            continue;
        }
        if args.eat("GET") {
            a.get = true;
            continue;
        }
        if eat_ttl(args, &SET_TTLS, &mut a.ttl, &mut a.ttl_raw)? {
            continue;
        }
        return Err(CmdError::Syntax);
    }
    Ok(a)
}

/// SET key value [NX | XX] [GET] [EX seconds | PX milliseconds |
/// EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]
fn set(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let a = parse_set(args)?;
    set_generic(ctx, a)
}

/// SETNX key value
fn setnx(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (key, value) = (args.next_key()?, args.next_bytes()?);
    let argv = args.all();
    let a =
        SetArgs { key, value, cond: Some(Cond::Nx), get: false, ttl: None, ttl_raw: None, reply: SetReply::Int, argv };
    set_generic(ctx, a)
}

/// SETEX key seconds value
fn setex(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    set_with_ttl(ctx, args, Ttl::Ex)
}

/// PSETEX key milliseconds value
fn psetex(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    set_with_ttl(ctx, args, Ttl::Px)
}

fn set_with_ttl(ctx: &mut Ctx<'_>, args: &mut Args<'_>, ttl: Ttl) -> CmdResult {
    let (key, raw, value) = (args.next_key()?, args.next_bytes()?, args.next_bytes()?);
    let argv = args.all();
    let a =
        SetArgs { key, value, cond: None, get: false, ttl: Some(ttl), ttl_raw: Some(raw), reply: SetReply::Ok, argv };
    set_generic(ctx, a)
}

/// The body of SET and its variants (Redis's setGenericCommand).
fn set_generic(ctx: &mut Ctx<'_>, a: SetArgs<'_>) -> CmdResult {
    let expire_at = match (a.ttl, a.ttl_raw) {
        (Some(kind), Some(raw)) => Some(kind.to_abs_ms(ctx.spec.name, raw, ctx.now_ms)?),
        _ => None,
    };
    // With GET the old value is the reply, written before anything else
    // (and a WRONGTYPE stops the command here).
    if a.get {
        get_reply(ctx, a.key)?;
    }
    let found = ctx.lookup_write(a.key)?.is_some();
    if (a.cond == Some(Cond::Nx) && found) || (a.cond == Some(Cond::Xx) && !found) {
        if !a.get {
            match a.reply {
                SetReply::Ok => ctx.out.null(),
                SetReply::Int => ctx.out.int(0),
            }
        }
        return Ok(());
    }
    let v = Value::Str(Str::from_bytes(a.value));
    if a.ttl == Some(Ttl::KeepTtl) {
        ctx.set_value_keep_ttl(a.key, v)?;
    } else {
        ctx.set_value(a.key, v)?;
    }
    ctx.notify(notify::STRING, "set", a.key);
    if let Some(at) = expire_at {
        // Redis stores even an EXAT/PXAT in the past: the key then expires
        // on its next access (no "del" event here).
        ctx.raw_db(a.key)?.set_expire(a.key, at);
        ctx.ttl_set(a.key);
        ctx.notify(notify::GENERIC, "expire", a.key);
        // Propagated with the absolute time, whatever the form (SETEX,
        // PSETEX, SET EX/PX/EXAT/PXAT) and its other flags.
        if ctx.propagating() {
            ctx.rewrite_propagation(&[b"SET", a.key, a.value, b"PXAT", &prop::num(at)]);
        }
    } else if a.get && ctx.propagating() {
        // SET ... GET is propagated without its GETs (any case, wherever
        // they are among the options).
        let v: Vec<&[u8]> = a
            .argv
            .iter()
            .enumerate()
            .filter(|&(i, w)| i < 3 || !w.eq_ignore_ascii_case(b"get"))
            .map(|(_, w)| *w)
            .collect();
        ctx.rewrite_propagation(&v);
    }
    if !a.get {
        match a.reply {
            SetReply::Ok => ctx.out.ok(),
            SetReply::Int => ctx.out.int(1),
        }
    }
    Ok(())
}

/// GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds |
/// PXAT unix-time-milliseconds | PERSIST]
fn getex(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let (mut ttl, mut raw) = (None, None);
    while !args.is_empty() {
        if !eat_ttl(args, &GETEX_TTLS, &mut ttl, &mut raw)? {
            return Err(CmdError::Syntax);
        }
    }
    let Some(s) = ctx.read_str(key)? else {
        ctx.out.null();
        return Ok(());
    };
    // The value is needed after the expire argument is validated, and the
    // key may be deleted before the reply is complete.
    let s = s.clone();
    let expire_at = match (ttl, raw) {
        (Some(kind), Some(raw)) => Some(kind.to_abs_ms(ctx.spec.name, raw, ctx.now_ms)?),
        _ => None,
    };
    reply_str(ctx, &s);
    // Never propagated as it ran: as the DEL, PEXPIREAT or PERSIST it did.
    match (ttl, expire_at) {
        (Some(Ttl::ExAt | Ttl::PxAt), Some(at)) if at <= ctx.now_ms => {
            ctx.raw_db(key)?.remove(key);
            ctx.modified(key);
            ctx.notify(notify::GENERIC, "del", key);
            if ctx.propagating() {
                let del = prop::del_cmd(ctx, "lazyfree-lazy-expire");
                ctx.rewrite_propagation(&[del, key]);
            }
        }
        (_, Some(at)) => {
            ctx.raw_db(key)?.set_expire(key, at);
            ctx.ttl_set(key);
            ctx.modified(key);
            ctx.notify(notify::GENERIC, "expire", key);
            if ctx.propagating() {
                ctx.rewrite_propagation(&[b"PEXPIREAT", key, &prop::num(at)]);
            }
        }
        (Some(Ttl::Persist), None) => {
            if ctx.raw_db(key)?.persist(key) {
                ctx.modified(key);
                ctx.notify(notify::GENERIC, "persist", key);
                ctx.rewrite_propagation(&[b"PERSIST", key]);
            }
        }
        _ => {}
    }
    Ok(())
}

/// GETDEL key
fn getdel(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    if get_reply(ctx, key)? && ctx.delete_for(key, crate::lazyfree::Why::UserDel)? {
        ctx.notify(notify::GENERIC, "del", key);
        if ctx.propagating() {
            let del = prop::del_cmd(ctx, "lazyfree-lazy-user-del");
            ctx.rewrite_propagation(&[del, key]);
        }
    }
    Ok(())
}

/// GETSET key value
fn getset(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (key, value) = (args.next_key()?, args.next_bytes()?);
    get_reply(ctx, key)?;
    ctx.set_value(key, Value::Str(Str::from_bytes(value)))?;
    ctx.notify(notify::STRING, "set", key);
    ctx.rewrite_propagation(&[b"SET", key, value]);
    Ok(())
}

/// MGET key [key ...]
fn mget(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let keys = args.take_rest();
    ctx.out.array(keys.len());
    for key in keys {
        let (entry, out) = ctx.lookup_read_out(key)?;
        match entry.map(|e| &e.value) {
            Some(Value::Str(s)) => write_str(out, s),
            // Missing keys and other types are both nulls.
            _ => out.null(),
        }
    }
    Ok(())
}

/// The key/value pairs of MSET and MSETNX; an odd count is an arity error.
fn pairs<'a>(ctx: &Ctx<'_>, args: &mut Args<'a>) -> Result<&'a [&'a [u8]], CmdError> {
    let kv = args.take_rest();
    if kv.len() % 2 != 0 {
        return Err(CmdError::WrongArity(ctx.spec.name.to_string()));
    }
    Ok(kv)
}

fn set_pairs(ctx: &mut Ctx<'_>, kv: &[&[u8]]) -> CmdResult {
    for p in kv.chunks_exact(2) {
        ctx.set_value(p[0], Value::Str(Str::from_bytes(p[1])))?;
        ctx.notify(notify::STRING, "set", p[0]);
    }
    Ok(())
}

/// MSET key value [key value ...]
fn mset(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let kv = pairs(ctx, args)?;
    set_pairs(ctx, kv)?;
    ctx.out.ok();
    Ok(())
}

/// MSETNX key value [key value ...]
fn msetnx(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let kv = pairs(ctx, args)?;
    for p in kv.chunks_exact(2) {
        if ctx.lookup_write(p[0])?.is_some() {
            ctx.out.int(0);
            return Ok(());
        }
    }
    set_pairs(ctx, kv)?;
    ctx.out.int(1);
    Ok(())
}

/// The string at `key` for writing; WRONGTYPE for another type.
fn write_str_at<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Result<Option<&'c mut Str>, CmdError> {
    match ctx.lookup_write(key)? {
        None => Ok(None),
        Some(e) => match &mut e.value {
            Value::Str(s) => Ok(Some(s)),
            #[allow(unreachable_patterns)]
            _ => Err(CmdError::WrongType),
        },
    }
}

/// APPEND key value
fn append(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (key, value) = (args.next_key()?, args.next_bytes()?);
    let len = match write_str_at(ctx, key)?.map(|s| s.len()) {
        None => {
            // A new key gets the argument encoded as SET would.
            ctx.set_value(key, Value::Str(Str::from_bytes(value)))?;
            value.len()
        }
        Some(cur) => {
            check_len(ctx, cur, value.len())?;
            let Some(s) = write_str_at(ctx, key)? else { return Err(CmdError::NoSuchKey) };
            s.make_raw().extend_from_slice(value);
            ctx.modified(key);
            cur + value.len()
        }
    };
    ctx.notify(notify::STRING, "append", key);
    ctx.out.int(len as i64);
    Ok(())
}

/// STRLEN key
fn strlen(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let n = ctx.read_str(key)?.map(|s| s.len()).unwrap_or(0);
    ctx.out.int(n as i64);
    Ok(())
}

/// The byte range GETRANGE returns for `start..=end` of a `len`-byte string
/// (Redis's index rules, negative indexes from the end), if not empty.
fn range_of(mut start: i64, mut end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    if start < 0 && end < 0 && start > end {
        return None;
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return None;
    }
    Some((start as usize, end as usize))
}

/// GETRANGE key start end (and its old name SUBSTR)
fn getrange(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let (start, end) = (args.next_i64()?, args.next_i64()?);
    let (entry, out) = ctx.lookup_read_out(key)?;
    let s = match entry.map(|e| &e.value) {
        None => {
            out.bulk(b"");
            return Ok(());
        }
        Some(Value::Str(s)) => s,
        #[allow(unreachable_patterns)]
        Some(_) => return Err(CmdError::WrongType),
    };
    let mut buf = itoa::Buffer::new();
    let bytes = s.as_bytes(&mut buf);
    match range_of(start, end, bytes.len()) {
        Some((a, b)) => out.bulk(&bytes[a..=b]),
        None => out.bulk(b""),
    }
    Ok(())
}

/// Zero-extends `v` to `len` bytes (if shorter), failing cleanly when the
/// memory cannot be had (proto-max-bulk-len may be set very high).
fn grow_zeroed(v: &mut Vec<u8>, len: usize) -> CmdResult {
    if v.len() < len {
        v.try_reserve_exact(len - v.len()).map_err(|_| CmdError::err("out of memory growing the string"))?;
        v.resize(len, 0);
    }
    Ok(())
}

/// SETRANGE key offset value
fn setrange(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (key, offset, value) = (args.next_key()?, args.next_i64()?, args.next_bytes()?);
    if offset < 0 {
        return Err(CmdError::err("offset is out of range"));
    }
    let offset = offset as u64;
    let cur = write_str_at(ctx, key)?.map(|s| s.len());
    if value.is_empty() {
        // Writing nothing creates nothing and changes nothing.
        ctx.out.int(cur.unwrap_or(0) as i64);
        return Ok(());
    }
    let max = crate::cfg_num!(ctx.srv.config, "proto-max-bulk-len") as u64;
    let end =
        offset.checked_add(value.len() as u64).filter(|&e| e <= max).ok_or_else(|| CmdError::StringTooLong)? as usize;
    let offset = offset as usize;
    let n = match cur {
        None => {
            let mut v = Vec::new();
            grow_zeroed(&mut v, end)?;
            v[offset..].copy_from_slice(value);
            ctx.set_value(key, Value::Str(Str::raw(v)))?;
            end
        }
        Some(cur) => {
            let Some(s) = write_str_at(ctx, key)? else { return Err(CmdError::NoSuchKey) };
            let raw = s.make_raw();
            grow_zeroed(raw, end)?;
            raw[offset..end].copy_from_slice(value);
            ctx.modified(key);
            cur.max(end)
        }
    };
    ctx.notify(notify::STRING, "setrange", key);
    ctx.out.int(n as i64);
    Ok(())
}

/// INCR key
fn incr(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    incr_by(ctx, key, 1)
}

/// DECR key
fn decr(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    incr_by(ctx, key, -1)
}

/// INCRBY key increment
fn incrby(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (key, by) = (args.next_key()?, args.next_i64()?);
    incr_by(ctx, key, by)
}

/// DECRBY key decrement
fn decrby(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (key, by) = (args.next_key()?, args.next_i64()?);
    // Negating i64::MIN would overflow; Redis has its own message for it.
    let by = by.checked_neg().ok_or_else(|| CmdError::err("decrement would overflow"))?;
    incr_by(ctx, key, by)
}

/// The body of the INCR family: the result is always an `int` value, and the
/// TTL is kept.
fn incr_by(ctx: &mut Ctx<'_>, key: &[u8], by: i64) -> CmdResult {
    let cur = match write_str_at(ctx, key)? {
        None => 0,
        Some(s) => s.as_i64().ok_or_else(|| CmdError::NotInteger)?,
    };
    let new = cur.checked_add(by).ok_or_else(|| CmdError::Overflow)?;
    ctx.set_value_keep_ttl(key, Value::Str(Str::Int(new)))?;
    ctx.notify(notify::STRING, "incrby", key);
    ctx.out.int(new);
    Ok(())
}

/// INCRBYFLOAT key increment
fn incrbyfloat(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (key, by) = (args.next_key()?, args.next_bytes()?);
    let cur = write_str_at(ctx, key)?.map(|s| s.to_vec());
    let new = num::incr_by_float(cur.as_deref(), by).map_err(|e| match e {
        IncrFloatError::NotFloat | IncrFloatError::BadIncrement => CmdError::NotFloat,
        IncrFloatError::NanOrInf => CmdError::err("increment would produce NaN or Infinity"),
    })?;
    ctx.out.bulk(&new);
    // Propagated as the value it made, so that float formatting never
    // differs on a replay.
    if ctx.propagating() {
        ctx.rewrite_propagation(&[b"SET", key, &new, b"KEEPTTL"]);
    }
    ctx.set_value_keep_ttl(key, Value::Str(plain_str(new)))?;
    ctx.notify(notify::STRING, "incrbyfloat", key);
    Ok(())
}

/// The bytes of a string key for LCS: missing keys are empty strings.
fn lcs_operand(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Option<Vec<u8>>, CmdError> {
    Ok(match ctx.lookup_read(key)?.map(|e| &e.value) {
        None => Some(Vec::new()),
        Some(Value::Str(s)) => Some(s.to_vec()),
        #[allow(unreachable_patterns)]
        Some(_) => None,
    })
}

/// One matching range of LCS IDX: positions in a and in b (inclusive).
#[derive(Debug, PartialEq, Eq)]
struct Match {
    a: (u32, u32),
    b: (u32, u32),
}

/// The dynamic-programming table of LCS: `t[i][j]` (flattened) is the LCS
/// length of `a[..i]` and `b[..j]`.
struct LcsTable {
    t: Vec<u32>,
    w: usize,
}

impl LcsTable {
    /// `None` if the table's memory cannot be had.
    fn build(a: &[u8], b: &[u8]) -> Option<LcsTable> {
        let w = b.len() + 1;
        let cells = (a.len() + 1).checked_mul(w)?;
        let mut t = Vec::new();
        t.try_reserve_exact(cells).ok()?;
        t.resize(cells, 0u32);
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                t[i * w + j] = if a[i - 1] == b[j - 1] {
                    t[(i - 1) * w + j - 1] + 1
                } else {
                    t[(i - 1) * w + j].max(t[i * w + j - 1])
                };
            }
        }
        Some(LcsTable { t, w })
    }

    fn at(&self, i: usize, j: usize) -> u32 {
        self.t[i * self.w + j]
    }

    /// Walks back from the end as Redis does (ties move in b), returning the
    /// common subsequence and the matching ranges from last to first.
    fn walk(&self, a: &[u8], b: &[u8]) -> (Vec<u8>, Vec<Match>) {
        let mut seq = vec![0u8; self.at(a.len(), b.len()) as usize];
        let mut k = seq.len();
        let mut ranges = Vec::new();
        let (mut i, mut j) = (a.len(), b.len());
        let mut cur: Option<Match> = None;
        while i > 0 && j > 0 {
            let mut emit = false;
            if a[i - 1] == b[j - 1] {
                seq[k - 1] = a[i - 1];
                k -= 1;
                let (ai, bj) = ((i - 1) as u32, (j - 1) as u32);
                match &mut cur {
                    None => cur = Some(Match { a: (ai, ai), b: (bj, bj) }),
                    // After a match the walk always continues diagonally, so
                    // a new match extends the current range backwards.
                    Some(m) if m.a.0 == ai + 1 && m.b.0 == bj + 1 => {
                        m.a.0 = ai;
                        m.b.0 = bj;
                    }
                    Some(_) => emit = true,
                }
                if let Some(m) = &cur {
                    if m.a.0 == 0 || m.b.0 == 0 {
                        emit = true;
                    }
                }
                i -= 1;
                j -= 1;
            } else {
                if self.at(i - 1, j) > self.at(i, j - 1) {
                    i -= 1;
                } else {
                    j -= 1;
                }
                emit = cur.is_some();
            }
            if emit {
                if let Some(m) = cur.take() {
                    ranges.push(m);
                }
            }
        }
        (seq, ranges)
    }
}

/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]
fn lcs(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (k1, k2) = (args.next_key()?, args.next_key()?);
    let (a, b) = (lcs_operand(ctx, k1)?, lcs_operand(ctx, k2)?);
    let (Some(a), Some(b)) = (a, b) else {
        return Err(CmdError::err("The specified keys must contain string values"));
    };
    let (mut len, mut idx, mut withlen, mut minlen) = (false, false, false, 0i64);
    while !args.is_empty() {
        if args.eat("IDX") {
            idx = true;
        } else if args.eat("LEN") {
            len = true;
        } else if args.eat("WITHMATCHLEN") {
            withlen = true;
        } else if args.remaining() >= 2 && args.eat("MINMATCHLEN") {
            minlen = args.next_i64()?.max(0);
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if len && idx {
        return Err(CmdError::err("If you want both the length and indexes, please just use IDX."));
    }
    if a.len() as u64 >= u32::MAX as u64 - 1 || b.len() as u64 >= u32::MAX as u64 - 1 {
        return Err(CmdError::err("String too long for LCS"));
    }
    let cells = (a.len() as u64 + 1) * (b.len() as u64 + 1);
    let max = crate::cfg_num!(ctx.srv.config, "proto-max-bulk-len") as u64;
    if cells.checked_mul(4).is_none_or(|bytes| bytes > max) {
        return Err(CmdError::err("Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"));
    }
    let table = LcsTable::build(&a, &b)
        .ok_or_else(|| CmdError::err("Insufficient memory, failed allocating transient memory for LCS"))?;
    let total = table.at(a.len(), b.len()) as i64;
    if len {
        ctx.out.int(total);
        return Ok(());
    }
    let (seq, ranges) = table.walk(&a, &b);
    if !idx {
        ctx.out.bulk(&seq);
        return Ok(());
    }
    let shown: Vec<&Match> = ranges.iter().filter(|m| (m.a.1 - m.a.0 + 1) as i64 >= minlen).collect();
    let out = &mut *ctx.out;
    out.map(2);
    out.bulk(b"matches");
    out.array(shown.len());
    for m in shown {
        out.array(if withlen { 3 } else { 2 });
        for (s, e) in [m.a, m.b] {
            out.array(2);
            out.int(s as i64);
            out.int(e as i64);
        }
        if withlen {
            out.int((m.a.1 - m.a.0 + 1) as i64);
        }
    }
    out.bulk(b"len");
    out.int(total);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(range_of(0, -1, 5), Some((0, 4)));
        assert_eq!(range_of(-3, -1, 5), Some((2, 4)));
        assert_eq!(range_of(-1, -3, 5), None);
        assert_eq!(range_of(3, 100, 5), Some((3, 4)));
        assert_eq!(range_of(-100, 1, 5), Some((0, 1)));
        assert_eq!(range_of(0, 0, 0), None);
        assert_eq!(range_of(4, 2, 5), None);
        assert_eq!(range_of(i64::MIN, i64::MAX, 5), Some((0, 4)));
    }

    #[test]
    fn lcs_walk() {
        let (a, b) = (b"ohmytext".as_slice(), b"mynewtext".as_slice());
        let t = LcsTable::build(a, b).unwrap();
        let (seq, ranges) = t.walk(a, b);
        assert_eq!(seq, b"mytext");
        assert_eq!(ranges, vec![Match { a: (4, 7), b: (5, 8) }, Match { a: (2, 3), b: (0, 1) }]);
    }

    #[test]
    fn ttl_conversion() {
        assert_eq!(Ttl::Ex.to_abs_ms("set", b"10", 1000), Ok(11_000));
        assert_eq!(Ttl::PxAt.to_abs_ms("set", b"5", 1000), Ok(5));
        assert!(Ttl::Ex.to_abs_ms("set", b"0", 0).is_err());
        assert!(Ttl::Px.to_abs_ms("set", b"9223372036854775807", 10).is_err());
        assert!(Ttl::ExAt.to_abs_ms("set", b"9223372036854775807", 10).is_err());
    }
}
