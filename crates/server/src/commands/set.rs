//! Set commands.
//!
//! The data structure is `types::set::Set` (intset and hashtable, as in
//! Redis 7.0). The algebra commands follow Redis's algorithms closely because
//! the algorithm decides the reply order and the result's encoding: SINTER
//! walks the smallest set and replies in its order; SUNION and SDIFF build a
//! result that starts as an intset (so an all-integer result comes back
//! sorted) and reply in its order; the *STORE forms store that result.

use super::hash::MAX_RANDOM_REPLY;
use super::hash::{parse_random_count, parse_scan_cursor, parse_scan_opts, reply_empty_scan, sample_positions};
use super::{prop, Cmd};
use crate::args::Args;
use crate::cmdspec::table as t;
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::notify;
use crate::storage::Value;
use resp::Out;
use types::set::{Member, Set};

pub static COMMANDS: &[Cmd] = &[
    Cmd::new(&t::SADD, sadd).members(2, 1),
    Cmd::new(&t::SREM, srem).members(2, 1),
    Cmd::new(&t::SMEMBERS, smembers),
    Cmd::new(&t::SISMEMBER, sismember).members(2, 1),
    Cmd::new(&t::SMISMEMBER, smismember).members(2, 1),
    Cmd::new(&t::SCARD, scard),
    Cmd::new(&t::SPOP, spop),
    Cmd::new(&t::SRANDMEMBER, srandmember),
    Cmd::new(&t::SMOVE, smove),
    Cmd::new(&t::SINTER, sinter),
    Cmd::new(&t::SINTERCARD, sintercard),
    Cmd::new(&t::SINTERSTORE, sinterstore),
    Cmd::new(&t::SUNION, sunion),
    Cmd::new(&t::SUNIONSTORE, sunionstore),
    Cmd::new(&t::SDIFF, sdiff),
    Cmd::new(&t::SDIFFSTORE, sdiffstore),
    Cmd::new(&t::SSCAN, sscan),
];

/// A member as the bytes Redis would propagate (integers in decimal).
fn member_bytes(m: Member<'_>) -> Vec<u8> {
    match m {
        Member::Int(n) => prop::num(n),
        Member::Bytes(b) => b.to_vec(),
    }
}

fn member_bulk(out: &mut Out, m: Member<'_>) {
    match m {
        Member::Int(n) => out.bulk_int(n),
        Member::Bytes(b) => out.bulk(b),
    }
}

/// The empty set reply (`~0` in RESP3).
fn empty_set(out: &mut Out) {
    out.set(0);
}

/// Deletes `key` when the set there is empty, with the `del` event.
fn drop_if_empty(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<bool, CmdError> {
    let empty = matches!(ctx.write_set(key)?, Some(s) if s.is_empty());
    if empty {
        ctx.raw_db(key)?.remove(key);
        ctx.notify(notify::GENERIC, "del", key);
    }
    Ok(empty)
}

/// SADD key member [member ...]
fn sadd(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let members = args.take_rest();
    let max = ctx.set_max_intset();
    let added = match ctx.write_set(key)? {
        Some(s) => members.iter().filter(|m| s.add(m, max)).count(),
        None => {
            let mut s = Set::for_member(members[0]);
            let n = members.iter().filter(|m| s.add(m, max)).count();
            let lru = ctx.srv.lru_clock();
            ctx.raw_db(key)?.set(key, Value::Set(Box::new(s)), false, lru);
            n
        }
    };
    if added > 0 {
        ctx.modified(key);
        ctx.notify(notify::SET, "sadd", key);
    }
    ctx.out.int(added as i64);
    Ok(())
}

/// SREM key member [member ...]
fn srem(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let members = args.take_rest();
    let Some(s) = ctx.write_set(key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let mut n = 0;
    for m in members {
        if s.remove(m) {
            n += 1;
            if s.is_empty() {
                break;
            }
        }
    }
    if n > 0 {
        ctx.modified(key);
        ctx.notify(notify::SET, "srem", key);
        drop_if_empty(ctx, key)?;
    }
    ctx.out.int(n);
    Ok(())
}

/// SISMEMBER key member
fn sismember(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (key, m) = (args.next_key()?, args.next_bytes()?);
    let n = ctx.read_set(key)?.map(|s| s.contains(m) as i64).unwrap_or(0);
    ctx.out.int(n);
    Ok(())
}

/// SMISMEMBER key member [member ...]
fn smismember(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let members = args.take_rest();
    let found = ctx.read_set(key)?.is_some();
    if !found {
        ctx.out.array(members.len());
        members.iter().for_each(|_| ctx.out.int(0));
        return Ok(());
    }
    let (s, out) = ctx.set_out(key)?;
    out.array(members.len());
    for m in members {
        out.int(s.contains(m) as i64);
    }
    Ok(())
}

/// SCARD key
fn scard(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let n = ctx.read_set(key)?.map(|s| s.len() as i64).unwrap_or(0);
    ctx.out.int(n);
    Ok(())
}

/// SMEMBERS key
fn smembers(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    if ctx.read_set(key)?.is_none() {
        empty_set(ctx.out);
        return Ok(());
    }
    let (s, out) = ctx.set_out(key)?;
    out.set(s.len());
    s.iter().for_each(|m| member_bulk(out, m));
    Ok(())
}

/// SPOP key [count]
fn spop(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let count = match args.next_bytes() {
        Ok(raw) => {
            args.finish()?;
            let n = types::num::parse_i64(raw).filter(|&n| n >= 0);
            Some(n.ok_or_else(|| CmdError::err("value is out of range, must be positive"))? as u64)
        }
        Err(_) => None,
    };
    let mut rng = rand::thread_rng();
    let Some(count) = count else {
        let Some(s) = ctx.write_set(key)? else {
            ctx.out.null();
            return Ok(());
        };
        let m = s.pop_random(&mut rng).unwrap_or_default();
        ctx.out.bulk(&m);
        ctx.modified(key);
        ctx.notify(notify::SET, "spop", key);
        drop_if_empty(ctx, key)?;
        // Propagated as the SREM it did.
        ctx.rewrite_propagation(&[b"SREM", key, &m]);
        return Ok(());
    };
    let Some(s) = ctx.write_set(key)? else {
        empty_set(ctx.out);
        return Ok(());
    };
    if count == 0 {
        empty_set(ctx.out);
        return Ok(());
    }
    let size = s.len() as u64;
    ctx.notify(notify::SET, "spop", key);
    let max = ctx.set_max_intset();
    let propagating = ctx.propagating();
    let (s, out) = ctx.set_out(key)?;
    if count >= size {
        // The whole set, replied as SUNION would (a rebuilt set's order).
        let mut all = Set::new_ints();
        s.iter().for_each(|m| {
            all.add_member(m, max);
        });
        out.set(all.len());
        all.iter().for_each(|m| member_bulk(out, m));
        ctx.raw_db(key)?.remove(key);
        ctx.notify(notify::GENERIC, "del", key);
        ctx.modified(key);
        // Each popped member counts as a change; propagated as a DEL.
        ctx.add_dirty(size - 1);
        ctx.rewrite_propagation(&[b"DEL", key]);
        return Ok(());
    }
    out.set(count as usize);
    let remaining = size - count;
    // Propagated as one SREM per member, in the reply's order.
    let mut popped: Vec<Vec<u8>> = Vec::new();
    if remaining * 5 > count {
        for _ in 0..count {
            let m = s.pop_random(&mut rng).unwrap_or_default();
            out.bulk(&m);
            if propagating {
                popped.push(m);
            }
        }
    } else {
        // Few members stay: move them to a new set and reply with the rest.
        let mut kept: Option<Set> = None;
        for _ in 0..remaining {
            let m = s.pop_random(&mut rng).unwrap_or_default();
            kept.get_or_insert_with(|| Set::for_member(&m)).add(&m, max);
        }
        s.iter().for_each(|m| member_bulk(out, m));
        if propagating {
            popped.extend(s.iter().map(|m| member_bytes(m)));
        }
        if let Some(k) = kept {
            *s = k;
        }
    }
    ctx.modified(key);
    ctx.add_dirty(count - 1);
    for m in &popped {
        ctx.also_propagate(&[b"SREM", key, m]);
    }
    ctx.prevent_propagation();
    Ok(())
}

/// SRANDMEMBER key [count]
fn srandmember(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let Some(raw) = args.peek() else {
        if ctx.read_set(key)?.is_none() {
            ctx.out.null();
            return Ok(());
        }
        let (s, out) = ctx.set_out(key)?;
        if let Some(m) = s.random(&mut rand::thread_rng()) {
            member_bulk(out, m);
        }
        return Ok(());
    };
    args.next_bytes()?;
    args.finish()?;
    let l = parse_random_count(raw)?;
    if ctx.read_set(key)?.is_none() {
        ctx.out.empty_array();
        return Ok(());
    }
    let (s, out) = ctx.set_out(key)?;
    let (count, unique) = (l.unsigned_abs(), l >= 0);
    let size = s.len() as u64;
    let mut rng = rand::thread_rng();
    if count == 0 {
        out.empty_array();
    } else if !unique || count == 1 {
        if count > MAX_RANDOM_REPLY {
            return Err(CmdError::err("value is out of range"));
        }
        out.array(count as usize);
        for _ in 0..count {
            if let Some(m) = s.random(&mut rng) {
                member_bulk(out, m);
            }
        }
    } else if count >= size {
        out.array(size as usize);
        s.iter().for_each(|m| member_bulk(out, m));
    } else {
        out.array(count as usize);
        for i in sample_positions(s.len(), count as usize, &mut rng) {
            member_bulk(out, s.get_index(i));
        }
    }
    Ok(())
}

/// SMOVE source destination member
fn smove(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (src, dst, m) = (args.next_key()?, args.next_key()?, args.next_bytes()?);
    let is_set = |e: &crate::storage::Entry| matches!(e.value, Value::Set(_));
    let src_type = ctx.lookup_write(src)?.map(|e| is_set(e));
    let dst_type = ctx.lookup_write(dst)?.map(|e| is_set(e));
    // A missing source answers 0 before any type check.
    match src_type {
        None => {
            ctx.out.int(0);
            return Ok(());
        }
        Some(false) => return Err(CmdError::WrongType),
        Some(true) if dst_type == Some(false) => return Err(CmdError::WrongType),
        _ => {}
    }
    let dst_found = dst_type.is_some();
    if src == dst {
        let n = ctx.read_set(src)?.map(|s| s.contains(m) as i64).unwrap_or(0);
        ctx.out.int(n);
        return Ok(());
    }
    if !ctx.write_set(src)?.map(|s| s.remove(m)).unwrap_or(false) {
        ctx.out.int(0);
        return Ok(());
    }
    ctx.notify(notify::SET, "srem", src);
    drop_if_empty(ctx, src)?;
    ctx.modified(src);
    let max = ctx.set_max_intset();
    let added = if dst_found {
        ctx.write_set(dst)?.map(|s| s.add(m, max)).unwrap_or(false)
    } else {
        let mut s = Set::for_member(m);
        s.add(m, max);
        let lru = ctx.srv.lru_clock();
        ctx.raw_db(dst)?.set(dst, Value::Set(Box::new(s)), false, lru);
        true
    };
    if added {
        ctx.modified(dst);
        ctx.notify(notify::SET, "sadd", dst);
    }
    ctx.out.int(1);
    Ok(())
}

// ---- algebra ----

/// Looks every key up for reading (expiry, statistics, WRONGTYPE); true for
/// the keys that exist.
fn lookup_all(ctx: &mut Ctx<'_>, keys: &[&[u8]]) -> Result<Vec<bool>, CmdError> {
    let mut found = Vec::with_capacity(keys.len());
    for k in keys {
        found.push(ctx.read_set(k)?.is_some());
    }
    Ok(found)
}

/// Stores `result` at `dst` (or deletes `dst` if it is empty), with the
/// events of the *STORE commands, and replies with its size.
fn store(ctx: &mut Ctx<'_>, dst: &[u8], result: Set, event: &str) -> CmdResult {
    let n = result.len();
    if n > 0 {
        ctx.set_value(dst, Value::Set(Box::new(result)))?;
        ctx.notify(notify::SET, event, dst);
    } else if ctx.delete(dst)? {
        ctx.notify(notify::GENERIC, "del", dst);
    }
    ctx.out.int(n as i64);
    Ok(())
}

enum Inter {
    Reply,
    Card(u64),
    Store,
}

/// The intersection, walking the smallest set (Redis's order). Replies to
/// `out` (SINTER), counts (SINTERCARD, stopping at a non-zero limit), or
/// builds a result set (SINTERSTORE).
fn intersect(ctx: &mut Ctx<'_>, keys: &[&[u8]], mode: Inter) -> Result<Option<Set>, CmdError> {
    let found = lookup_all(ctx, keys)?;
    let max = ctx.set_max_intset();
    if found.iter().any(|f| !f) {
        match mode {
            Inter::Reply => empty_set(ctx.out),
            Inter::Card(_) => ctx.out.int(0),
            Inter::Store => return Ok(Some(Set::new_ints())),
        }
        return Ok(None);
    }
    let dbi = ctx.client.db;
    let locked = &ctx.locked;
    let out = &mut *ctx.out;
    let mut sets: Vec<&Set> = keys.iter().filter_map(|k| Ctx::peek_set(locked, dbi, k)).collect();
    sets.sort_by_key(|s| s.len());
    let first = sets[0];
    let others = &sets[1..];
    let mut survivors =
        first.iter().filter(|m| others.iter().all(|o| std::ptr::eq(*o, first) || o.contains_member(*m)));
    match mode {
        Inter::Reply => {
            let found: Vec<Member<'_>> = survivors.collect();
            out.set(found.len());
            found.into_iter().for_each(|m| member_bulk(out, m));
            Ok(None)
        }
        Inter::Card(limit) => {
            let mut n = 0u64;
            for _ in survivors.by_ref() {
                n += 1;
                if limit > 0 && n >= limit {
                    break;
                }
            }
            out.int(n as i64);
            Ok(None)
        }
        Inter::Store => {
            let mut r = Set::new_ints();
            survivors.for_each(|m| {
                r.add_member(m, max);
            });
            Ok(Some(r))
        }
    }
}

/// SINTER key [key ...]
fn sinter(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let keys = args.take_rest();
    intersect(ctx, keys, Inter::Reply)?;
    Ok(())
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit]
fn sintercard(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let numkeys = args
        .next_bytes()
        .ok()
        .and_then(types::num::parse_i64)
        .filter(|&n| n >= 1)
        .ok_or_else(|| CmdError::err("numkeys should be greater than 0"))?;
    if numkeys as u64 > args.remaining() as u64 {
        return Err(CmdError::err("Number of keys can't be greater than number of args"));
    }
    let keys = &args.rest()[..numkeys as usize];
    let mut opts = Args::new(&args.rest()[numkeys as usize..], 0);
    let mut limit = 0;
    while !opts.is_empty() {
        if opts.remaining() >= 2 && opts.eat("LIMIT") {
            let n = opts.next_bytes().ok().and_then(types::num::parse_i64).filter(|&n| n >= 0);
            limit = n.ok_or_else(|| CmdError::err("LIMIT can't be negative"))? as u64;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    intersect(ctx, keys, Inter::Card(limit))?;
    Ok(())
}

/// SINTERSTORE destination key [key ...]
fn sinterstore(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let dst = args.next_key()?;
    let keys = args.take_rest();
    let r = intersect(ctx, keys, Inter::Store)?.unwrap_or_else(Set::new_ints);
    store(ctx, dst, r, "sinterstore")
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Diff,
}

/// SUNION / SDIFF into a new set, with Redis's algorithms (the choice of
/// SDIFF algorithm decides the result's encoding).
fn union_diff(ctx: &mut Ctx<'_>, keys: &[&[u8]], op: Op) -> Result<Set, CmdError> {
    lookup_all(ctx, keys)?;
    let max = ctx.set_max_intset();
    let dbi = ctx.client.db;
    let sets: Vec<Option<&Set>> = keys.iter().map(|k| Ctx::peek_set(&ctx.locked, dbi, k)).collect();
    let mut r = Set::new_ints();
    match op {
        Op::Union => {
            for s in sets.iter().flatten() {
                s.iter().for_each(|m| {
                    r.add_member(m, max);
                });
            }
        }
        Op::Diff => {
            let Some(first) = sets[0] else { return Ok(r) };
            if sets[1..].iter().flatten().any(|s| std::ptr::eq(*s, first)) {
                return Ok(r);
            }
            let rest: Vec<&Set> = sets[1..].iter().flatten().copied().collect();
            let work1 = (first.len() * rest.len().max(1) + first.len()) / 2;
            let work2: usize = first.len() + rest.iter().map(|s| s.len()).sum::<usize>();
            if work1 <= work2 {
                let mut rest = rest;
                rest.sort_by_key(|s| std::cmp::Reverse(s.len()));
                for m in first.iter() {
                    if !rest.iter().any(|s| s.contains_member(m)) {
                        r.add_member(m, max);
                    }
                }
            } else {
                first.iter().for_each(|m| {
                    r.add_member(m, max);
                });
                for s in rest {
                    s.iter().for_each(|m| {
                        r.remove_member(m);
                    });
                    if r.is_empty() {
                        break;
                    }
                }
            }
        }
    }
    Ok(r)
}

fn reply_set(out: &mut Out, s: &Set) {
    out.set(s.len());
    s.iter().for_each(|m| member_bulk(out, m));
}

/// SUNION key [key ...]
fn sunion(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let r = union_diff(ctx, args.take_rest(), Op::Union)?;
    reply_set(ctx.out, &r);
    Ok(())
}

/// SDIFF key [key ...]
fn sdiff(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let r = union_diff(ctx, args.take_rest(), Op::Diff)?;
    reply_set(ctx.out, &r);
    Ok(())
}

/// SUNIONSTORE destination key [key ...]
fn sunionstore(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let dst = args.next_key()?;
    let r = union_diff(ctx, args.take_rest(), Op::Union)?;
    store(ctx, dst, r, "sunionstore")
}

/// SDIFFSTORE destination key [key ...]
fn sdiffstore(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let dst = args.next_key()?;
    let r = union_diff(ctx, args.take_rest(), Op::Diff)?;
    store(ctx, dst, r, "sdiffstore")
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]
fn sscan(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let cursor = parse_scan_cursor(args.next_bytes()?)?;
    if ctx.read_set(key)?.is_none() {
        reply_empty_scan(ctx.out);
        return Ok(());
    }
    let opts = parse_scan_opts(args, false)?;
    let (s, out) = ctx.set_out(key)?;
    let mut items: Vec<Vec<u8>> = Vec::new();
    let mut buf = itoa::Buffer::new();
    let next = s.scan(cursor, opts.count, |m| {
        let b = m.as_bytes(&mut buf);
        if opts.matches(b) {
            items.push(b.to_vec());
        }
    });
    out.array(2);
    out.bulk(itoa::Buffer::new().format(next).as_bytes());
    out.array(items.len());
    items.iter().for_each(|b| out.bulk(b));
    Ok(())
}
