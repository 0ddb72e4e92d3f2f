//! List commands, the blocking pops (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH,
//! BLMPOP) and CLIENT UNBLOCK.
//!
//! Lists live in `types::list::List`. Every write keeps Redis's invariants: a
//! list that becomes empty is deleted (with a `del` event after the command's
//! own event), and a key that receives elements is signalled as ready so
//! clients blocked on it are served once the command is done (blocking.rs).
//!
//! The blocking commands are ordinary handlers: they first try to serve
//! themselves exactly like their non-blocking twins; finding nothing, they ask
//! to block (`ctx.block`), or inside MULTI/scripts reply as on timeout. A
//! blocked client is later served by re-executing the same command, so the
//! reply, events and deletion rules are the ones written here.

use super::{prop, Cmd};
use crate::args::{self, Args};
use crate::blocking::{self, BlockRequest};
use crate::cmdspec::table as t;
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::notify;
use crate::storage::{Key, Value};
use resp::Out;
use types::list::{End, List};

pub static COMMANDS: &[Cmd] = &[
    Cmd::new(&t::LPUSH, lpush),
    Cmd::new(&t::RPUSH, rpush),
    Cmd::new(&t::LPUSHX, lpushx),
    Cmd::new(&t::RPUSHX, rpushx),
    Cmd::new(&t::LPOP, lpop),
    Cmd::new(&t::RPOP, rpop),
    Cmd::new(&t::LLEN, llen),
    Cmd::new(&t::LINDEX, lindex),
    Cmd::new(&t::LRANGE, lrange),
    Cmd::new(&t::LSET, lset),
    Cmd::new(&t::LINSERT, linsert),
    Cmd::new(&t::LREM, lrem),
    Cmd::new(&t::LTRIM, ltrim),
    Cmd::new(&t::LPOS, lpos),
    Cmd::new(&t::LMOVE, lmove),
    Cmd::new(&t::RPOPLPUSH, rpoplpush),
    Cmd::new(&t::LMPOP, lmpop),
    Cmd::new(&t::BLPOP, blpop),
    Cmd::new(&t::BRPOP, brpop),
    Cmd::new(&t::BLMOVE, blmove),
    Cmd::new(&t::BRPOPLPUSH, brpoplpush),
    Cmd::new(&t::BLMPOP, blmpop),
    Cmd::new(&t::CLIENT_UNBLOCK, client_unblock),
];

fn end_event(pop: bool, end: End) -> &'static str {
    match (pop, end) {
        (true, End::Head) => "lpop",
        (true, End::Tail) => "rpop",
        (false, End::Head) => "lpush",
        (false, End::Tail) => "rpush",
    }
}

/// A new empty list with the configured chunk size.
fn new_list(ctx: &Ctx<'_>) -> List {
    let fill = crate::cfg_num!(ctx.srv.config, "list-max-listpack-size");
    List::new(fill.clamp(i32::MIN as i64, i32::MAX as i64) as i32)
}

/// Pushes `elems` at `end` of the list at `key`, creating it. Returns the
/// new length. Declares the write and the ready key; events are the caller's.
fn push_all(ctx: &mut Ctx<'_>, key: &[u8], end: End, elems: &[&[u8]]) -> Result<usize, CmdError> {
    if let Some(l) = ctx.write_list(key)? {
        for e in elems {
            l.push(end, e);
        }
        let n = l.len();
        ctx.modified(key);
        ctx.signal_ready(key);
        return Ok(n);
    }
    let mut l = new_list(ctx);
    for e in elems {
        l.push(end, e);
    }
    let n = l.len();
    // Storing a list signals the key as ready.
    ctx.set_value(key, Value::List(Box::new(l)))?;
    Ok(n)
}

/// After elements were removed: deletes the key if its list is now empty
/// (with the `del` event) and declares the write.
fn after_removal(ctx: &mut Ctx<'_>, key: &[u8]) -> CmdResult {
    let empty = matches!(ctx.peek(key)?.map(|e| &e.value), Some(Value::List(l)) if l.is_empty());
    if empty {
        ctx.raw_db(key)?.remove(key);
        ctx.notify(notify::GENERIC, "del", key);
    }
    ctx.modified(key);
    Ok(())
}

/// LEFT | RIGHT.
fn parse_end(a: &[u8]) -> Result<End, CmdError> {
    if args::is(a, "LEFT") {
        Ok(End::Head)
    } else if args::is(a, "RIGHT") {
        Ok(End::Tail)
    } else {
        Err(CmdError::Syntax)
    }
}

/// An integer in `min..=i64::MAX` where every failure (not a number, too
/// small) gives the one message `msg` (Redis's getRangeLong with a message).
fn ranged(a: &[u8], min: i64, msg: &str) -> Result<i64, CmdError> {
    match types::num::parse_i64(a) {
        Some(n) if n >= min => Ok(n),
        _ => Err(CmdError::err(msg)),
    }
}

fn push_generic(ctx: &mut Ctx<'_>, args: &mut Args<'_>, end: End, only_existing: bool) -> CmdResult {
    let key = args.next_key()?;
    let elems = args.take_rest();
    if only_existing && ctx.write_list(key)?.is_none() {
        ctx.out.int(0);
        return Ok(());
    }
    let n = push_all(ctx, key, end, elems)?;
    ctx.out.int(n as i64);
    ctx.notify(notify::LIST, end_event(false, end), key);
    Ok(())
}

/// LPUSH key element [element ...]
fn lpush(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    push_generic(ctx, args, End::Head, false)
}

/// RPUSH key element [element ...]
fn rpush(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    push_generic(ctx, args, End::Tail, false)
}

/// LPUSHX key element [element ...]
fn lpushx(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    push_generic(ctx, args, End::Head, true)
}

/// RPUSHX key element [element ...]
fn rpushx(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    push_generic(ctx, args, End::Tail, true)
}

fn pop_generic(ctx: &mut Ctx<'_>, args: &mut Args<'_>, end: End) -> CmdResult {
    let key = args.next_key()?;
    let count = match args.remaining() {
        0 => None,
        1 => Some(ranged(args.next_bytes()?, 0, "value is out of range, must be positive")?),
        _ => return Err(CmdError::WrongArity(ctx.spec.name.to_string())),
    };
    let (list, out) = ctx.list_and_out(key, true)?;
    let Some(list) = list else {
        match count {
            Some(_) => out.null_array(),
            None => out.null(),
        }
        return Ok(());
    };
    match count {
        None => {
            list.pop_with(end, |v| out.bulk(v));
        }
        Some(0) => {
            out.empty_array();
            return Ok(());
        }
        Some(n) => reply_pop_range(list, out, end, n),
    }
    ctx.notify(notify::LIST, end_event(true, end), key);
    after_removal(ctx, key)
}

/// Pops up to `n` elements from `end`, replying with them as an array in
/// pop order.
fn reply_pop_range(list: &mut List, out: &mut Out, end: End, n: i64) {
    let n = (n as u64).min(list.len() as u64) as usize;
    out.array(n);
    let mut it = match end {
        End::Head => list.iter(),
        End::Tail => list.iter_rev(),
    };
    for _ in 0..n {
        let Some(v) = it.next() else { break };
        out.bulk(v);
    }
    match end {
        End::Head => list.drop_front(n),
        End::Tail => list.drop_back(n),
    }
}

/// LPOP key [count]
fn lpop(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    pop_generic(ctx, args, End::Head)
}

/// RPOP key [count]
fn rpop(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    pop_generic(ctx, args, End::Tail)
}

/// LLEN key
fn llen(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let n = ctx.read_list(key)?.map_or(0, |l| l.len());
    ctx.out.int(n as i64);
    Ok(())
}

/// LINDEX key index
fn lindex(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (key, index) = (args.next_key()?, args.next_bytes()?);
    let (list, out) = ctx.list_and_out(key, false)?;
    let Some(list) = list else {
        out.null();
        return Ok(());
    };
    let index = args::parse_i64(index)?;
    if list.resolve(index).and_then(|i| list.get_with(i, |v| out.bulk(v))).is_none() {
        out.null();
    }
    Ok(())
}

/// Clamps a Redis range (negative indexes from the end) to positions
/// `start..=end` of a list of `len`; `None` for an empty range.
fn clamp_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { len + start } else { start };
    let mut end = if end < 0 { len + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return None;
    }
    if end >= len {
        end = len - 1;
    }
    Some((start as usize, end as usize))
}

/// LRANGE key start stop
fn lrange(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let (start, stop) = (args.next_i64()?, args.next_i64()?);
    let (list, out) = ctx.list_and_out(key, false)?;
    let Some(list) = list else {
        out.empty_array();
        return Ok(());
    };
    match clamp_range(start, stop, list.len()) {
        None => out.empty_array(),
        Some((s, e)) => {
            out.array(e - s + 1);
            let mut it = list.iter_from(s);
            for _ in s..=e {
                let Some(v) = it.next() else { break };
                out.bulk(v);
            }
        }
    }
    Ok(())
}

/// LSET key index element
fn lset(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (key, index, elem) = (args.next_key()?, args.next_bytes()?, args.next_bytes()?);
    let Some(list) = ctx.write_list(key)? else { return Err(CmdError::NoSuchKey) };
    let index = args::parse_i64(index)?;
    let Some(i) = list.resolve(index) else { return Err(CmdError::IndexOutOfRange) };
    list.set(i, elem);
    ctx.out.ok();
    ctx.modified(key);
    ctx.notify(notify::LIST, "lset", key);
    Ok(())
}

/// LINSERT key BEFORE | AFTER pivot element
fn linsert(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (key, whence, pivot, elem) = (args.next_key()?, args.next_bytes()?, args.next_bytes()?, args.next_bytes()?);
    let after = if args::is(whence, "AFTER") {
        true
    } else if args::is(whence, "BEFORE") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let Some(list) = ctx.write_list(key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let Some(at) = list.position(pivot) else {
        ctx.out.int(-1);
        return Ok(());
    };
    list.insert(at + after as usize, elem);
    let n = list.len();
    ctx.modified(key);
    ctx.notify(notify::LIST, "linsert", key);
    ctx.out.int(n as i64);
    Ok(())
}

/// LREM key count element
fn lrem(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let (count, elem) = (args.next_i64()?, args.next_bytes()?);
    let Some(list) = ctx.write_list(key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let removed = list.remove_matching(elem, count);
    if removed > 0 {
        ctx.notify(notify::LIST, "lrem", key);
        after_removal(ctx, key)?;
    }
    ctx.out.int(removed as i64);
    Ok(())
}

/// LTRIM key start stop
fn ltrim(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let (start, stop) = (args.next_i64()?, args.next_i64()?);
    let Some(list) = ctx.write_list(key)? else {
        ctx.out.ok();
        return Ok(());
    };
    let len = list.len();
    let (ltrim, rtrim) = match clamp_range(start, stop, len) {
        None => (len, 0),
        Some((s, e)) => (s, len - 1 - e),
    };
    list.drop_front(ltrim);
    list.drop_back(rtrim);
    ctx.notify(notify::LIST, "ltrim", key);
    if ltrim + rtrim == 0 {
        // Nothing removed: the key is signalled, but nothing changed (Redis
        // counts the removed elements) and nothing is propagated.
        prop::signal_only(ctx, key);
    } else {
        after_removal(ctx, key)?;
    }
    ctx.out.ok();
    Ok(())
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
fn lpos(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (key, elem) = (args.next_key()?, args.next_bytes()?);
    let (mut rank, mut count, mut maxlen): (i64, Option<i64>, i64) = (1, None, 0);
    while let Some(opt) = args.peek() {
        args.next_bytes()?;
        let has_value = !args.is_empty();
        if args::is(opt, "RANK") && has_value {
            rank = args.next_i64()?;
            if rank == 0 {
                return Err(CmdError::err(
                    "RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                ));
            }
        } else if args::is(opt, "COUNT") && has_value {
            count = Some(ranged(args.next_bytes()?, 0, "COUNT can't be negative")?);
        } else if args::is(opt, "MAXLEN") && has_value {
            maxlen = ranged(args.next_bytes()?, 0, "MAXLEN can't be negative")?;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let (list, out) = ctx.list_and_out(key, false)?;
    let Some(list) = list else {
        match count {
            Some(_) => out.empty_array(),
            None => out.null(),
        }
        return Ok(());
    };
    // Redis 7.0 negates the rank in a C long: RANK -9223372036854775808 stays
    // negative, so every match qualifies and COUNT never stops the scan
    // (7.2 rejects that rank instead).
    let from_tail = rank < 0;
    let skip = if rank == i64::MIN { 0 } else { rank.unsigned_abs() - 1 };
    let limit = match count {
        Some(c) if c > 0 && rank != i64::MIN => c as u64,
        Some(_) => u64::MAX,
        None => 1,
    };
    let scan = if maxlen == 0 { list.len() } else { (maxlen as u64).min(list.len() as u64) as usize };
    let len = list.len();
    let mut it = if from_tail { list.iter_rev() } else { list.iter() };
    // Positions of the matches after the first `skip`, at most `limit`.
    let (mut skip, mut found) = (skip, Vec::new());
    for k in 0..scan {
        if found.len() as u64 >= limit {
            break;
        }
        let Some(v) = it.next() else { break };
        if v != elem {
            continue;
        }
        if skip > 0 {
            skip -= 1;
        } else {
            found.push(if from_tail { len - 1 - k } else { k });
        }
    }
    match count {
        None => match found.first() {
            Some(&i) => out.int(i as i64),
            None => out.null(),
        },
        Some(_) => {
            out.array(found.len());
            for i in found {
                out.int(i as i64);
            }
        }
    }
    Ok(())
}

/// Moves one element from `src` (at `from`) to `dst` (at `to`), replying
/// with it; a missing source replies null. Shared by LMOVE, RPOPLPUSH and
/// the blocking forms once the source has elements.
fn move_one(ctx: &mut Ctx<'_>, src: &[u8], dst: &[u8], from: End, to: End) -> CmdResult {
    if ctx.write_list(src)?.is_none() {
        ctx.out.null();
        return Ok(());
    }
    // The destination's type is checked before anything is popped.
    ctx.write_list(dst)?;
    let v = ctx.write_list(src)?.and_then(|l| l.pop(from)).expect("checked non-empty");
    push_all(ctx, dst, to, &[&v])?;
    ctx.notify(notify::LIST, end_event(false, to), dst);
    ctx.out.bulk(&v);
    ctx.notify(notify::LIST, end_event(true, from), src);
    after_removal(ctx, src)
}

/// LMOVE source destination LEFT | RIGHT LEFT | RIGHT
fn lmove(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (src, dst) = (args.next_key()?, args.next_key()?);
    let from = parse_end(args.next_bytes()?)?;
    let to = parse_end(args.next_bytes()?)?;
    move_one(ctx, src, dst, from, to)
}

/// RPOPLPUSH source destination
fn rpoplpush(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (src, dst) = (args.next_key()?, args.next_key()?);
    move_one(ctx, src, dst, End::Tail, End::Head)
}

/// The parsed `numkeys key [key ...] LEFT|RIGHT [COUNT count]` of LMPOP and
/// BLMPOP.
struct Mpop<'a> {
    keys: &'a [&'a [u8]],
    end: End,
    count: i64,
}

fn parse_mpop<'a>(args: &mut Args<'a>) -> Result<Mpop<'a>, CmdError> {
    let numkeys = ranged(args.next_bytes()?, 1, "numkeys should be greater than 0")?;
    let rest = args.rest();
    if numkeys as u64 >= rest.len() as u64 {
        return Err(CmdError::Syntax);
    }
    let keys = &rest[..numkeys as usize];
    let mut tail = Args::new(&rest[numkeys as usize..], 0);
    let end = parse_end(tail.next_bytes()?)?;
    let mut count = None;
    while let Some(opt) = tail.peek() {
        tail.next_bytes()?;
        if count.is_none() && args::is(opt, "COUNT") && !tail.is_empty() {
            count = Some(ranged(tail.next_bytes()?, 1, "count should be greater than 0")?);
        } else {
            return Err(CmdError::Syntax);
        }
    }
    args.take_rest();
    Ok(Mpop { keys, end, count: count.unwrap_or(1) })
}

/// Pops from the first non-empty list of `keys`. With `count` the reply is
/// `[key, [elements]]`; without, `[key, element]` (BLPOP's shape). False if
/// every list was missing (nothing written).
///
/// Propagated as the pop it did (Redis does so for LMPOP, BLMPOP, BLPOP and
/// BRPOP, run at once or served once blocked): `LPOP key` or `RPOP key`,
/// with a count (as many as it popped) for the `count` forms.
fn pop_first(ctx: &mut Ctx<'_>, keys: &[&[u8]], end: End, count: Option<i64>) -> Result<bool, CmdError> {
    for &key in keys {
        let (list, out) = ctx.list_and_out(key, true)?;
        let Some(list) = list else { continue };
        let len = list.len() as u64;
        out.array(2);
        out.bulk(key);
        match count {
            Some(n) => reply_pop_range(list, out, end, n),
            None => {
                list.pop_with(end, |v| out.bulk(v));
            }
        }
        ctx.notify(notify::LIST, end_event(true, end), key);
        after_removal(ctx, key)?;
        if ctx.propagating() {
            let cmd: &[u8] = if end == End::Head { b"LPOP" } else { b"RPOP" };
            match count {
                Some(n) => ctx.rewrite_propagation(&[cmd, key, &prop::num((n as u64).min(len))]),
                None => ctx.rewrite_propagation(&[cmd, key]),
            }
        }
        return Ok(true);
    }
    Ok(false)
}

/// LMPOP numkeys key [key ...] LEFT | RIGHT [COUNT count]
fn lmpop(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let m = parse_mpop(args)?;
    if !pop_first(ctx, m.keys, m.end, Some(m.count))? {
        ctx.out.null_array();
    }
    Ok(())
}

fn owned_keys(keys: &[&[u8]]) -> Vec<Key> {
    keys.iter().map(|k| Key::from(*k)).collect()
}

/// Blocks on `keys`, or where blocking is not allowed (MULTI, scripts)
/// replies with `denied`. A timeout always replies with a null array, even
/// for BLMOVE, whose denied reply is a null bulk string (Redis 7.0 does so).
fn block_or(ctx: &mut Ctx<'_>, keys: &[&[u8]], deadline: Option<i64>, denied: fn(&mut Out)) {
    if ctx.may_block() {
        ctx.block(BlockRequest::new(owned_keys(keys), deadline, blocking::reply_null_array).for_type("list"));
    } else {
        denied(ctx.out);
    }
}

fn bpop_generic(ctx: &mut Ctx<'_>, args: &mut Args<'_>, end: End) -> CmdResult {
    let all = args.take_rest();
    let (keys, timeout) = all.split_at(all.len() - 1);
    let deadline = blocking::parse_timeout(timeout[0], ctx.now_ms)?;
    if !pop_first(ctx, keys, end, None)? {
        block_or(ctx, keys, deadline, Out::null_array);
    }
    Ok(())
}

/// BLPOP key [key ...] timeout
fn blpop(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    bpop_generic(ctx, args, End::Head)
}

/// BRPOP key [key ...] timeout
fn brpop(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    bpop_generic(ctx, args, End::Tail)
}

/// BLMPOP timeout numkeys key [key ...] LEFT | RIGHT [COUNT count]
fn blmpop(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let timeout = args.next_bytes()?;
    let m = parse_mpop(args)?;
    let deadline = blocking::parse_timeout(timeout, ctx.now_ms)?;
    if !pop_first(ctx, m.keys, m.end, Some(m.count))? {
        block_or(ctx, m.keys, deadline, Out::null_array);
    }
    Ok(())
}

/// Propagated as LMOVE (with the directions as written, or as Redis names
/// them when a blocked client is served: `left`, `right`) or RPOPLPUSH.
fn bmove_generic(ctx: &mut Ctx<'_>, args: &Args<'_>, from: End, to: End, timeout: &[u8]) -> CmdResult {
    let argv = args.all();
    let (src, dst) = (argv[1], argv[2]);
    let deadline = blocking::parse_timeout(timeout, ctx.now_ms)?;
    if ctx.write_list(src)?.is_none() {
        block_or(ctx, &[src], deadline, Out::null);
        return Ok(());
    }
    move_one(ctx, src, dst, from, to)?;
    if ctx.propagating() {
        if ctx.spec.name == "brpoplpush" {
            ctx.rewrite_propagation(&[b"RPOPLPUSH", src, dst]);
        } else if ctx.client.serving {
            let word = |e: End| -> &'static [u8] {
                if e == End::Head {
                    b"left"
                } else {
                    b"right"
                }
            };
            ctx.rewrite_propagation(&[b"LMOVE", src, dst, word(from), word(to)]);
        } else {
            ctx.rewrite_propagation(&[b"LMOVE", src, dst, argv[3], argv[4]]);
        }
    }
    Ok(())
}

/// BLMOVE source destination LEFT | RIGHT LEFT | RIGHT timeout
fn blmove(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    args.next_key()?;
    args.next_key()?;
    let from = parse_end(args.next_bytes()?)?;
    let to = parse_end(args.next_bytes()?)?;
    let timeout = args.next_bytes()?;
    bmove_generic(ctx, args, from, to, timeout)
}

/// BRPOPLPUSH source destination timeout
fn brpoplpush(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    args.next_key()?;
    args.next_key()?;
    let timeout = args.next_bytes()?;
    bmove_generic(ctx, args, End::Tail, End::Head, timeout)
}

/// CLIENT UNBLOCK client-id [TIMEOUT | ERROR]
fn client_unblock(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    if args.remaining() > 2 {
        let sub = args.all()[1];
        let sub = String::from_utf8_lossy(&sub[..sub.len().min(128)]);
        return Err(CmdError::err(format!(
            "unknown subcommand or wrong number of arguments for '{sub}'. Try CLIENT HELP."
        )));
    }
    let id = args.next_bytes()?;
    let error = match args.peek() {
        None => false,
        Some(a) if args::is(a, "TIMEOUT") => false,
        Some(a) if args::is(a, "ERROR") => true,
        Some(_) => return Err(CmdError::err("CLIENT UNBLOCK reason should be TIMEOUT or ERROR")),
    };
    let id = args::parse_i64(id)?;
    let unblocked = if id > 0 { ctx.srv.blocking.unblock(id as u64, error) } else { None };
    if let Some(w) = &unblocked {
        crate::cmdlog::log_unblocked(ctx.srv, w, None);
        if error {
            // The blocked command ends in an error reply: counted as one
            // (errorstats, total_error_replies) and as a failed call.
            let srv = ctx.srv;
            srv.stats.total_error_replies.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            srv.cmdstats.error("UNBLOCKED client unblocked via CLIENT UNBLOCK");
            let name = w.called_argv.as_ref().unwrap_or(&w.argv).first().map(|n| n.to_ascii_lowercase());
            if let Some(e) = name.and_then(|n| crate::commands::registry().get(&n)) {
                srv.cmdstats.per[e.index].failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }
    ctx.out.int(unblocked.is_some() as i64);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(clamp_range(0, -1, 3), Some((0, 2)));
        assert_eq!(clamp_range(-100, 100, 3), Some((0, 2)));
        assert_eq!(clamp_range(2, 1, 3), None);
        assert_eq!(clamp_range(3, 5, 3), None);
        assert_eq!(clamp_range(i64::MIN, i64::MAX, 3), Some((0, 2)));
        assert_eq!(clamp_range(i64::MAX, i64::MIN, 3), None);
        assert_eq!(clamp_range(0, -1, 0), None);
    }

    /// Runs `line` through the handler with `nested` set, as EXEC and
    /// scripts do; returns the reply and whether a block was requested.
    fn run_nested(line: &[&str]) -> (Vec<u8>, bool) {
        use crate::client::{Client, ClientInfo};
        use crate::commands::registry;
        use crate::server::Server;
        use std::sync::Arc;
        let srv = Server::new(crate::Config::default());
        let mut client = Client::new(Arc::new(ClientInfo::new(1, None, None, 0)), true);
        let mut out = Out::new(resp::Protocol::Resp2);
        let argv: Vec<&[u8]> = line.iter().map(|a| a.as_bytes()).collect();
        let entry = registry().get(argv[0]).unwrap();
        let locked = srv.keyspace.lock_all();
        let now_ms = srv.clock.now_ms();
        let mut ctx = Ctx::new(&srv, &mut client, &mut out, locked, now_ms, entry.spec);
        ctx.nested = true;
        crate::dispatch::execute_locked(&mut ctx, entry, &argv);
        let blocked = ctx.effects.block.is_some();
        drop(ctx);
        (out.buf, blocked)
    }

    #[test]
    fn no_blocking_when_nested() {
        assert_eq!(run_nested(&["blpop", "k", "0"]), (b"*-1\r\n".to_vec(), false));
        assert_eq!(run_nested(&["brpop", "a", "b", "0"]), (b"*-1\r\n".to_vec(), false));
        assert_eq!(run_nested(&["blmpop", "0", "1", "k", "left"]), (b"*-1\r\n".to_vec(), false));
        // BLMOVE replies a null bulk string there, not the timeout's null array.
        assert_eq!(run_nested(&["blmove", "k", "d", "left", "left", "0"]), (b"$-1\r\n".to_vec(), false));
        assert_eq!(run_nested(&["brpoplpush", "k", "d", "0"]), (b"$-1\r\n".to_vec(), false));
    }

    #[test]
    fn mpop_parsing() {
        let argv: Vec<&[u8]> = vec![b"lmpop", b"2", b"a", b"b", b"left", b"count", b"3"];
        let mut a = Args::new(&argv, 1);
        let m = parse_mpop(&mut a).unwrap();
        assert_eq!((m.keys.len(), m.end, m.count), (2, End::Head, 3));
        let argv: Vec<&[u8]> = vec![b"lmpop", b"9223372036854775807", b"a", b"left"];
        assert_eq!(parse_mpop(&mut Args::new(&argv, 1)).err(), Some(CmdError::Syntax));
        let argv: Vec<&[u8]> = vec![b"lmpop", b"1", b"a", b"left", b"count", b"1", b"count", b"1"];
        assert_eq!(parse_mpop(&mut Args::new(&argv, 1)).err(), Some(CmdError::Syntax));
    }
}
