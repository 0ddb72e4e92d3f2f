//! Hash commands, with Redis 7.4's field expiry and Redis 8.0's HGETDEL,
//! HGETEX and HSETEX.
//!
//! The data structure is `types::hash::Hash` (listpack, listpackex and
//! hashtable encodings). Expired fields are reclaimed before any command sees
//! the hash (every key lookup, `Ctx::expire_if_needed`, purges them with the `hexpired`
//! event and delete a hash left empty), so no handler has to skip them; the
//! active expiry cycle reclaims the ones nobody reads (`expire.rs`).
//!
//! Field expiry result codes follow Redis 7.4: -2 no such field (or no key),
//! 0 condition not met, 1 set, 2 deleted because the time is already past;
//! for TTL queries -1 means the field has no TTL, and HPERSIST answers -2, -1
//! or 1.

use super::{prop, Cmd};
use crate::args::{self, Args};
use crate::cmdspec::extra as x;
use crate::cmdspec::table as t;
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::notify;
use resp::Out;
use types::hash::{FieldTtl, Hash};

pub static COMMANDS: &[Cmd] = &[
    Cmd::new(&t::HSET, hset).members(2, 2),
    Cmd::new(&t::HMSET, hmset).members(2, 2),
    Cmd::new(&t::HSETNX, hsetnx).members(2, 2),
    Cmd::new(&t::HGET, hget).members(2, 1),
    Cmd::new(&t::HMGET, hmget).members(2, 1),
    Cmd::new(&t::HGETALL, hgetall),
    Cmd::new(&t::HKEYS, hkeys),
    Cmd::new(&t::HVALS, hvals),
    Cmd::new(&t::HDEL, hdel).members(2, 1),
    Cmd::new(&t::HEXISTS, hexists).members(2, 1),
    Cmd::new(&t::HLEN, hlen),
    Cmd::new(&t::HSTRLEN, hstrlen).members(2, 1),
    Cmd::new(&t::HINCRBY, hincrby).members(2, 2),
    Cmd::new(&t::HINCRBYFLOAT, hincrbyfloat).members(2, 2),
    Cmd::new(&t::HRANDFIELD, hrandfield),
    Cmd::new(&t::HSCAN, hscan),
    Cmd::new(&x::HEXPIRE, hexpire),
    Cmd::new(&x::HPEXPIRE, hpexpire),
    Cmd::new(&x::HEXPIREAT, hexpireat),
    Cmd::new(&x::HPEXPIREAT, hpexpireat),
    Cmd::new(&x::HTTL, httl),
    Cmd::new(&x::HPTTL, hpttl),
    Cmd::new(&x::HEXPIRETIME, hexpiretime),
    Cmd::new(&x::HPEXPIRETIME, hpexpiretime),
    Cmd::new(&x::HPERSIST, hpersist),
    Cmd::new(&x::HGETDEL, hgetdel),
    Cmd::new(&x::HGETEX, hgetex),
    Cmd::new(&x::HSETEX, hsetex),
];

/// Redis 7.4's largest accepted field expiry (EB_EXPIRE_TIME_MAX >> 2), ms.
const HFE_MAX_ABS_TIME_MS: i64 = ((1i64 << 48) - 1) >> 2;

/// Random-element replies larger than this are refused instead of built
/// (Redis streams them until the client is dropped; we answer in one buffer).
pub const MAX_RANDOM_REPLY: u64 = 1 << 24;

/// The reply for fields of a missing key: `n` times the integer, or nulls.
fn reply_absent(out: &mut Out, n: usize, each: Option<i64>) -> CmdResult {
    out.array(n);
    for _ in 0..n {
        match each {
            Some(v) => out.int(v),
            None => out.null(),
        }
    }
    Ok(())
}

/// Deletes `key` when the hash there is empty, with the `del` event.
fn drop_if_empty(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<bool, CmdError> {
    let empty = matches!(ctx.write_hash(key)?, Some(h) if h.is_empty());
    if empty {
        ctx.raw_db(key)?.remove(key);
        ctx.notify(notify::GENERIC, "del", key);
    }
    Ok(empty)
}

// ---- setting ----

fn hset_generic(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> Result<i64, CmdError> {
    let key = args.next_key()?;
    let pairs = args.take_rest();
    if pairs.len() % 2 == 1 {
        return Err(CmdError::WrongArity(ctx.spec.name.to_string()));
    }
    let lim = ctx.hash_limits();
    let h = ctx.write_hash_or_create(key)?;
    h.convert_for(pairs.iter().copied(), lim);
    let created = pairs.chunks(2).filter(|p| h.set(p[0], p[1], lim)).count();
    ctx.modified(key);
    ctx.notify(notify::HASH, "hset", key);
    Ok(created as i64)
}

/// HSET key field value [field value ...]
fn hset(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let n = hset_generic(ctx, args)?;
    ctx.out.int(n);
    Ok(())
}

/// HMSET key field value [field value ...]
fn hmset(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    hset_generic(ctx, args)?;
    ctx.out.ok();
    Ok(())
}

/// HSETNX key field value
fn hsetnx(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (key, field, value) = (args.next_key()?, args.next_bytes()?, args.next_bytes()?);
    if ctx.write_hash(key)?.map(|h| h.contains(field)).unwrap_or(false) {
        ctx.out.int(0);
        return Ok(());
    }
    let lim = ctx.hash_limits();
    let h = ctx.write_hash_or_create(key)?;
    h.convert_for([field, value], lim);
    h.set(field, value, lim);
    ctx.modified(key);
    ctx.notify(notify::HASH, "hset", key);
    ctx.out.int(1);
    Ok(())
}

// ---- reading ----

/// HGET key field
fn hget(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (key, field) = (args.next_key()?, args.next_bytes()?);
    if ctx.read_hash(key)?.is_none() {
        ctx.out.null();
        return Ok(());
    }
    let (h, out) = ctx.hash_out(key)?;
    match h.get(field) {
        Some(v) => out.bulk(&v),
        None => out.null(),
    }
    Ok(())
}

/// HMGET key field [field ...]
fn hmget(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let fields = args.take_rest();
    let found = ctx.read_hash(key)?.is_some();
    if !found {
        return reply_absent(ctx.out, fields.len(), None);
    }
    let (h, out) = ctx.hash_out(key)?;
    out.array(fields.len());
    for f in fields {
        match h.get(f) {
            Some(v) => out.bulk(&v),
            None => out.null(),
        }
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Keys,
    Values,
    Both,
}

fn getall_generic(ctx: &mut Ctx<'_>, args: &mut Args<'_>, part: Part) -> CmdResult {
    let key = args.next_key()?;
    if ctx.read_hash(key)?.is_none() {
        match part {
            Part::Both => ctx.out.map(0),
            _ => ctx.out.empty_array(),
        }
        return Ok(());
    }
    let (h, out) = ctx.hash_out(key)?;
    match part {
        Part::Both => out.map(h.len()),
        _ => out.array(h.len()),
    }
    h.for_each(|f, v| {
        if part != Part::Values {
            out.bulk(f);
        }
        if part != Part::Keys {
            out.bulk(v);
        }
    });
    Ok(())
}

/// HGETALL key
fn hgetall(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    getall_generic(ctx, args, Part::Both)
}

/// HKEYS key
fn hkeys(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    getall_generic(ctx, args, Part::Keys)
}

/// HVALS key
fn hvals(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    getall_generic(ctx, args, Part::Values)
}

/// HEXISTS key field
fn hexists(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (key, field) = (args.next_key()?, args.next_bytes()?);
    let n = ctx.read_hash(key)?.map(|h| h.contains(field) as i64).unwrap_or(0);
    ctx.out.int(n);
    Ok(())
}

/// HLEN key
fn hlen(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let n = ctx.read_hash(key)?.map(|h| h.len() as i64).unwrap_or(0);
    ctx.out.int(n);
    Ok(())
}

/// HSTRLEN key field
fn hstrlen(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (key, field) = (args.next_key()?, args.next_bytes()?);
    let n = ctx.read_hash(key)?.and_then(|h| h.value_len(field)).map_or(0, |n| n as i64);
    ctx.out.int(n);
    Ok(())
}

/// HDEL key field [field ...]
fn hdel(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let fields = args.take_rest();
    let Some(h) = ctx.write_hash(key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let mut deleted = 0;
    for f in fields {
        if h.remove(f) {
            deleted += 1;
            if h.is_empty() {
                break;
            }
        }
    }
    if deleted > 0 {
        ctx.modified(key);
        ctx.notify(notify::HASH, "hdel", key);
        drop_if_empty(ctx, key)?;
    }
    ctx.out.int(deleted);
    Ok(())
}

// ---- counters ----

/// HINCRBY key field increment
fn hincrby(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (key, field) = (args.next_key()?, args.next_bytes()?);
    let incr = args.next_i64()?;
    let cur = match ctx.write_hash(key)?.and_then(|h| h.get(field)) {
        Some(v) => types::num::parse_i64(&v).ok_or_else(|| CmdError::err("hash value is not an integer"))?,
        None => 0,
    };
    let new = cur.checked_add(incr).ok_or_else(|| CmdError::Overflow)?;
    let lim = ctx.hash_limits();
    let mut buf = itoa::Buffer::new();
    ctx.write_hash_or_create(key)?.set_keep_ttl(field, buf.format(new).as_bytes(), lim);
    ctx.modified(key);
    ctx.notify(notify::HASH, "hincrby", key);
    ctx.out.int(new);
    Ok(())
}

/// HINCRBYFLOAT key field increment
fn hincrbyfloat(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (key, field, incr) = (args.next_key()?, args.next_bytes()?, args.next_bytes()?);
    if !types::num::is_long_double(incr) {
        return Err(CmdError::NotFloat);
    }
    // An infinite increment is refused before the key is looked at.
    if incr.to_ascii_lowercase().windows(3).any(|w| w == b"inf") {
        return Err(CmdError::err("value is NaN or Infinity"));
    }
    let cur = ctx.write_hash(key)?.and_then(|h| h.get(field)).map(|v| v.to_vec());
    if let Some(c) = &cur {
        if !types::num::is_long_double(c) {
            return Err(CmdError::err("hash value is not a float"));
        }
    }
    let new = types::num::incr_by_float(cur.as_deref(), incr).map_err(|e| match e {
        types::num::IncrFloatError::NotFloat => CmdError::err("hash value is not a float"),
        types::num::IncrFloatError::BadIncrement => CmdError::NotFloat,
        types::num::IncrFloatError::NanOrInf => CmdError::err("increment would produce NaN or Infinity"),
    })?;
    let lim = ctx.hash_limits();
    let propagating = ctx.propagating();
    let h = ctx.write_hash_or_create(key)?;
    let volatile = propagating && matches!(h.ttl(field), FieldTtl::At(_));
    h.set_keep_ttl(field, &new, lim);
    ctx.modified(key);
    ctx.notify(notify::HASH, "hincrbyfloat", key);
    ctx.out.bulk(&new);
    // Propagated as the value it made (float formatting never differs on a
    // replay): HSET as Redis 7.0 and 7.4 do; for a field with a TTL, which
    // HSET would drop, HSETEX KEEPTTL as Redis 8 does.
    if propagating {
        if volatile {
            ctx.rewrite_propagation(&[b"HSETEX", key, b"KEEPTTL", b"FIELDS", b"1", field, &new]);
        } else {
            ctx.rewrite_propagation(&[b"HSET", key, field, &new]);
        }
    }
    Ok(())
}

// ---- random fields ----

/// The count argument of HRANDFIELD / SRANDMEMBER: Redis accepts
/// [-LONG_MAX, LONG_MAX].
pub fn parse_random_count(b: &[u8]) -> Result<i64, CmdError> {
    let n = args::parse_i64(b)?;
    if n == i64::MIN {
        return Err(CmdError::err(
            "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    Ok(n)
}

/// `k` distinct positions below `n` (k < n), in ascending order.
pub fn sample_positions(n: usize, k: usize, rng: &mut impl rand::Rng) -> Vec<usize> {
    let mut v = rand::seq::index::sample(rng, n, k).into_vec();
    v.sort_unstable();
    v
}

/// HRANDFIELD key [count [WITHVALUES]]
fn hrandfield(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let Some(raw) = args.peek() else {
        if ctx.read_hash(key)?.is_none() {
            ctx.out.null();
            return Ok(());
        }
        let (h, out) = ctx.hash_out(key)?;
        if let Some((f, _)) = h.random(&mut rand::thread_rng()) {
            out.bulk(&f);
        }
        return Ok(());
    };
    args.next_bytes()?;
    let l = parse_random_count(raw)?;
    let with_values = match args.remaining() {
        0 => false,
        1 if args.eat("WITHVALUES") => true,
        _ => return Err(CmdError::Syntax),
    };
    if with_values && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
        return Err(CmdError::err("value is out of range"));
    }
    if ctx.read_hash(key)?.is_none() {
        ctx.out.empty_array();
        return Ok(());
    }
    let (count, unique) = (l.unsigned_abs(), l >= 0);
    let (h, out) = ctx.hash_out(key)?;
    let size = h.len() as u64;
    if count == 0 {
        out.empty_array();
        return Ok(());
    }
    let resp3 = out.resp3();
    let header = |out: &mut Out, n: u64| {
        out.array(if with_values && !resp3 { n as usize * 2 } else { n as usize });
    };
    let pair = |out: &mut Out, f: &[u8], v: &[u8]| {
        if with_values && resp3 {
            out.array(2);
        }
        out.bulk(f);
        if with_values {
            out.bulk(v);
        }
    };
    let mut rng = rand::thread_rng();
    if !unique || count == 1 {
        if count > MAX_RANDOM_REPLY {
            return Err(CmdError::err("value is out of range"));
        }
        header(out, count);
        let pairs = h.pairs();
        for _ in 0..count {
            if let Some((f, v)) = pairs.get(rand::Rng::gen_range(&mut rng, 0..pairs.len())) {
                pair(out, f, v);
            }
        }
        return Ok(());
    }
    if count >= size {
        header(out, size);
        h.for_each(|f, v| pair(out, f, v));
        return Ok(());
    }
    header(out, count);
    let pairs = h.pairs();
    for i in sample_positions(pairs.len(), count as usize, &mut rng) {
        if let Some((f, v)) = pairs.get(i) {
            pair(out, f, v);
        }
    }
    Ok(())
}

// ---- scanning ----

/// A SCAN-family cursor as Redis reads it (C `strtoul`: optional sign, a
/// negative value wraps, the empty string is 0, no leading space).
pub fn parse_scan_cursor(b: &[u8]) -> Result<u64, CmdError> {
    let bad = || CmdError::err("invalid cursor");
    if b.is_empty() {
        return Ok(0);
    }
    let (neg, digits) = match b[0] {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v.checked_mul(10).and_then(|v| v.checked_add((d - b'0') as u64)).ok_or_else(bad)?;
    }
    Ok(if neg { v.wrapping_neg() } else { v })
}

/// MATCH / COUNT (and, for HSCAN, NOVALUES) of the SCAN family.
pub struct ScanOpts<'a> {
    pub pattern: Option<&'a [u8]>,
    pub count: usize,
    pub no_values: bool,
}

impl ScanOpts<'_> {
    pub fn matches(&self, s: &[u8]) -> bool {
        self.pattern.map(|p| crate::glob::matches(p, s, false)).unwrap_or(true)
    }
}

/// Parses the options after the cursor. `allow_novalues` for HSCAN.
pub fn parse_scan_opts<'a>(args: &mut Args<'a>, allow_novalues: bool) -> Result<ScanOpts<'a>, CmdError> {
    let mut o = ScanOpts { pattern: None, count: 10, no_values: false };
    while !args.is_empty() {
        let more = args.remaining() >= 2;
        if more && args.eat("COUNT") {
            let n = args.next_i64()?;
            if n < 1 {
                return Err(CmdError::Syntax);
            }
            o.count = n.min(usize::MAX as i64) as usize;
        } else if more && args.eat("MATCH") {
            let p = args.next_bytes()?;
            o.pattern = if p == b"*" { None } else { Some(p) };
        } else if allow_novalues && args.eat("NOVALUES") {
            o.no_values = true;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(o)
}

/// The empty SCAN reply: cursor 0, no elements.
pub fn reply_empty_scan(out: &mut Out) {
    out.array(2);
    out.bulk(b"0");
    out.empty_array();
}

/// HSCAN key cursor [MATCH pattern] [COUNT count] [NOVALUES]
fn hscan(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let cursor = parse_scan_cursor(args.next_bytes()?)?;
    if ctx.read_hash(key)?.is_none() {
        reply_empty_scan(ctx.out);
        return Ok(());
    }
    let opts = parse_scan_opts(args, true)?;
    let (h, out) = ctx.hash_out(key)?;
    // Matched strings back to back, and where each ends (a pack lends its
    // pairs only during the walk; the reply's length comes first).
    let (mut bytes, mut ends) = (Vec::new(), Vec::new());
    let next = h.scan(cursor, opts.count, |f, v| {
        if opts.matches(f) {
            bytes.extend_from_slice(f);
            ends.push(bytes.len());
            if !opts.no_values {
                bytes.extend_from_slice(v);
                ends.push(bytes.len());
            }
        }
    });
    out.array(2);
    out.bulk(itoa::Buffer::new().format(next).as_bytes());
    out.array(ends.len());
    let mut start = 0;
    for end in ends {
        out.bulk(&bytes[start..end]);
        start = end;
    }
    Ok(())
}

// ---- field expiry (Redis 7.4) ----

#[derive(Clone, Copy, PartialEq, Eq)]
enum Cond {
    Nx,
    Xx,
    Gt,
    Lt,
}

/// Reads an expiry argument and makes it an absolute time in ms, with 7.4's
/// checks (`base` is now for relative forms, 0 for absolute ones).
fn parse_field_expire(ctx: &Ctx<'_>, raw: &[u8], secs: bool, base: i64) -> Result<i64, CmdError> {
    let mut v = args::parse_i64(raw)?;
    if v < 0 {
        return Err(CmdError::err("invalid expire time, must be >= 0"));
    }
    let bad = || CmdError::InvalidExpire(ctx.spec.name.to_string());
    if secs {
        if v > HFE_MAX_ABS_TIME_MS / 1000 {
            return Err(bad());
        }
        v *= 1000;
    }
    if v > HFE_MAX_ABS_TIME_MS - base {
        return Err(bad());
    }
    Ok(v + base)
}

/// Reads `FIELDS numfields field ...` starting at the cursor; `bad_num` is
/// the command's message for a non-positive count.
fn parse_fields<'a>(args: &mut Args<'a>, bad_num: &str) -> Result<&'a [&'a [u8]], CmdError> {
    if !args.peek().map(|a| args::is(a, "FIELDS")).unwrap_or(false) {
        return Err(CmdError::err("Mandatory argument FIELDS is missing or not at the right position"));
    }
    args.next_bytes()?;
    let n = args.peek().and_then(types::num::parse_i64).filter(|&n| n >= 1).ok_or_else(|| CmdError::err(bad_num))?;
    args.next_bytes()?;
    if n as u64 != args.remaining() as u64 {
        return Err(CmdError::err("The `numfields` parameter must match the number of arguments"));
    }
    Ok(args.take_rest())
}

/// Outcome of setting one field's expiry.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SetEx {
    NoField = -2,
    NotMet = 0,
    Set = 1,
    Deleted = 2,
}

/// Sets the expiry of one field (Redis's hashTypeSetEx).
fn set_field_expiry(h: &mut Hash, field: &[u8], at: i64, cond: Option<Cond>, now: i64) -> SetEx {
    let prev = match h.ttl(field) {
        FieldTtl::Missing => return SetEx::NoField,
        FieldTtl::Persistent => None,
        FieldTtl::At(t) => Some(t),
    };
    let met = match (prev, cond) {
        // A field without TTL counts as an infinite TTL.
        (None, Some(Cond::Xx | Cond::Gt)) => false,
        (Some(_), Some(Cond::Nx)) => false,
        (Some(p), Some(Cond::Gt)) => at > p,
        (Some(p), Some(Cond::Lt)) => at < p,
        _ => true,
    };
    if !met {
        return SetEx::NotMet;
    }
    if at <= now {
        h.remove(field);
        return SetEx::Deleted;
    }
    h.set_ttl(field, at);
    SetEx::Set
}

/// Effects after setting expiries: events, key deletion, registration.
fn finish_set_ex(ctx: &mut Ctx<'_>, key: &[u8], updated: usize, deleted: usize) -> CmdResult {
    if updated + deleted == 0 {
        return Ok(());
    }
    ctx.modified(key);
    ctx.notify(notify::HASH, if deleted > 0 { "hdel" } else { "hexpire" }, key);
    if !drop_if_empty(ctx, key)? && updated > 0 {
        ctx.track_hash_ttl(key)?;
    }
    Ok(())
}

/// Propagates the deletion of a field whose new expiry had passed (Redis
/// 7.4's propagateHashFieldDeletion), before the command's own form.
fn propagate_hdel(ctx: &mut Ctx<'_>, key: &[u8], field: &[u8]) {
    ctx.also_propagate(&[b"HDEL", key, field]);
}

fn hexpire_generic(ctx: &mut Ctx<'_>, args: &mut Args<'_>, secs: bool, relative: bool) -> CmdResult {
    let key = args.next_key()?;
    let found = ctx.write_hash(key)?.is_some();
    let base = if relative { ctx.now_ms } else { 0 };
    let at = parse_field_expire(ctx, args.next_bytes()?, secs, base)?;
    let mut cond = None;
    args.eat_group(&mut cond, &[("NX", Cond::Nx), ("XX", Cond::Xx), ("GT", Cond::Gt), ("LT", Cond::Lt)])?;
    let fields_at = args.position() + 2;
    let fields = parse_fields(args, "Parameter `numFields` should be greater than 0")?;
    if !found {
        return reply_absent(ctx.out, fields.len(), Some(SetEx::NoField as i64));
    }
    let now = ctx.now_ms;
    let propagating = ctx.propagating();
    let (h, out) = ctx.hash_out(key)?;
    h.enable_ttl();
    out.array(fields.len());
    let (mut updated, mut deleted) = (0, 0);
    let mut set: Vec<&[u8]> = Vec::new();
    let mut gone: Vec<&[u8]> = Vec::new();
    for &f in fields {
        let r = set_field_expiry(h, f, at, cond, now);
        updated += (r == SetEx::Set) as usize;
        deleted += (r == SetEx::Deleted) as usize;
        if propagating {
            match r {
                SetEx::Set => set.push(f),
                SetEx::Deleted => gone.push(f),
                _ => {}
            }
        }
        out.int(r as i64);
    }
    // Redis 7.4 propagates the fields whose expiry was set as HPEXPIREAT
    // with the absolute time (the others left out), and those deleted
    // because the time had passed as HDELs; nothing else.
    for f in gone {
        propagate_hdel(ctx, key, f);
    }
    if updated == 0 {
        ctx.prevent_propagation();
    } else if propagating {
        let argv = args.all();
        let mut v: Vec<&[u8]> = argv[..fields_at - 1].to_vec();
        let (when, n) = (prop::num(at), prop::num(updated));
        if !ctx.spec.name.eq_ignore_ascii_case("hpexpireat") {
            v[0] = b"HPEXPIREAT";
            v[2] = &when;
        }
        v.push(if updated == fields.len() { argv[fields_at - 1] } else { &n });
        v.extend_from_slice(&set);
        ctx.rewrite_propagation(&v);
    }
    finish_set_ex(ctx, key, updated, deleted)
}

/// HEXPIRE key seconds [NX | XX | GT | LT] FIELDS numfields field [field ...]
fn hexpire(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    hexpire_generic(ctx, args, true, true)
}

/// HPEXPIRE key milliseconds [NX | XX | GT | LT] FIELDS numfields field [field ...]
fn hpexpire(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    hexpire_generic(ctx, args, false, true)
}

/// HEXPIREAT key unix-time-seconds [NX | XX | GT | LT] FIELDS numfields field [field ...]
fn hexpireat(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    hexpire_generic(ctx, args, true, false)
}

/// HPEXPIREAT key unix-time-milliseconds [NX | XX | GT | LT] FIELDS numfields field [field ...]
fn hpexpireat(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    hexpire_generic(ctx, args, false, false)
}

fn httl_generic(ctx: &mut Ctx<'_>, args: &mut Args<'_>, secs: bool, relative: bool) -> CmdResult {
    let key = args.next_key()?;
    let found = ctx.read_hash(key)?.is_some();
    let fields = parse_fields(args, "Number of fields must be a positive integer")?;
    let base = if relative { ctx.now_ms } else { 0 };
    if !found {
        return reply_absent(ctx.out, fields.len(), Some(-2));
    }
    let (h, out) = ctx.hash_out(key)?;
    out.array(fields.len());
    for f in fields {
        out.int(match h.ttl(f) {
            FieldTtl::Missing => -2,
            FieldTtl::Persistent => -1,
            // Seconds round up, as Redis does.
            FieldTtl::At(at) if secs => (at + 999 - base) / 1000,
            FieldTtl::At(at) => at - base,
        });
    }
    Ok(())
}

/// HTTL key FIELDS numfields field [field ...]
fn httl(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    httl_generic(ctx, args, true, true)
}

/// HPTTL key FIELDS numfields field [field ...]
fn hpttl(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    httl_generic(ctx, args, false, true)
}

/// HEXPIRETIME key FIELDS numfields field [field ...]
fn hexpiretime(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    httl_generic(ctx, args, true, false)
}

/// HPEXPIRETIME key FIELDS numfields field [field ...]
fn hpexpiretime(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    httl_generic(ctx, args, false, false)
}

/// HPERSIST key FIELDS numfields field [field ...]
fn hpersist(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let found = ctx.write_hash(key)?.is_some();
    let fields = parse_fields(args, "Number of fields must be a positive integer")?;
    if !found {
        return reply_absent(ctx.out, fields.len(), Some(-2));
    }
    let (h, out) = ctx.hash_out(key)?;
    out.array(fields.len());
    let mut changed = false;
    for f in fields {
        out.int(match h.ttl(f) {
            FieldTtl::Missing => -2,
            FieldTtl::Persistent => -1,
            FieldTtl::At(_) => {
                h.persist(f);
                changed = true;
                1
            }
        });
    }
    if changed {
        ctx.modified(key);
        ctx.notify(notify::HASH, "hpersist", key);
    }
    Ok(())
}

// ---- Redis 8.0: HGETDEL, HGETEX, HSETEX ----

/// HGETDEL key FIELDS numfields field [field ...]
fn hgetdel(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let found = ctx.write_hash(key)?.is_some();
    let fields = parse_fields(args, "Number of fields must be a positive integer")?;
    if !found {
        return reply_absent(ctx.out, fields.len(), None);
    }
    let (h, out) = ctx.hash_out(key)?;
    out.array(fields.len());
    let mut deleted = 0;
    for f in fields {
        let found = match h.get(f) {
            Some(v) => {
                out.bulk(&v);
                true
            }
            None => {
                out.null();
                false
            }
        };
        if found {
            h.remove(f);
            deleted += 1;
        }
    }
    if deleted > 0 {
        ctx.modified(key);
        ctx.notify(notify::HASH, "hdel", key);
        drop_if_empty(ctx, key)?;
        // Propagated as HDEL of the fields it names (Redis 8).
        if ctx.propagating() {
            let mut v: Vec<&[u8]> = vec![b"HDEL", key];
            v.extend_from_slice(fields);
            ctx.rewrite_propagation(&v);
        }
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum GetEx {
    Ex,
    Px,
    ExAt,
    PxAt,
    Persist,
}

/// HGETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds |
/// PXAT unix-time-milliseconds | PERSIST] FIELDS numfields field [field ...]
fn hgetex(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let found = ctx.write_hash(key)?.is_some();
    let mut opt = None;
    let group = [
        ("EX", GetEx::Ex),
        ("PX", GetEx::Px),
        ("EXAT", GetEx::ExAt),
        ("PXAT", GetEx::PxAt),
        ("PERSIST", GetEx::Persist),
    ];
    args.eat_group(&mut opt, &group)?;
    let at = match opt {
        Some(o @ (GetEx::Ex | GetEx::Px | GetEx::ExAt | GetEx::PxAt)) => {
            let secs = matches!(o, GetEx::Ex | GetEx::ExAt);
            let base = if matches!(o, GetEx::Ex | GetEx::Px) { ctx.now_ms } else { 0 };
            Some(parse_field_expire(ctx, args.next_bytes()?, secs, base)?)
        }
        _ => None,
    };
    let fields = parse_fields(args, "Number of fields must be a positive integer")?;
    if !found {
        return reply_absent(ctx.out, fields.len(), None);
    }
    let now = ctx.now_ms;
    let (h, out) = ctx.hash_out(key)?;
    if opt.is_some() {
        h.enable_ttl();
    }
    out.array(fields.len());
    let (mut updated, mut deleted, mut persisted) = (0, 0, 0);
    let mut gone: Vec<&[u8]> = Vec::new();
    for &f in fields {
        match h.get(f) {
            Some(v) => out.bulk(&v),
            None => {
                out.null();
                continue;
            }
        }
        match (opt, at) {
            (Some(GetEx::Persist), _) => persisted += h.persist(f) as usize,
            (_, Some(at)) => match set_field_expiry(h, f, at, None, now) {
                SetEx::Set => updated += 1,
                SetEx::Deleted => {
                    deleted += 1;
                    gone.push(f);
                }
                _ => {}
            },
            _ => {}
        }
    }
    // Never propagated as it ran (Redis 8): as HPERSIST or HPEXPIREAT of
    // the fields it names, or the HDELs of fields whose new time had passed.
    let argv = args.all();
    if persisted > 0 {
        ctx.modified(key);
        ctx.notify(notify::HASH, "hpersist", key);
        if ctx.propagating() {
            let mut v: Vec<&[u8]> = vec![b"HPERSIST"];
            v.extend(argv[1..].iter().enumerate().filter(|&(i, _)| i != 1).map(|(_, a)| *a));
            ctx.rewrite_propagation(&v);
        }
        return Ok(());
    }
    if updated > 0 && ctx.propagating() {
        let when = prop::num(at.unwrap_or_default());
        let mut v: Vec<&[u8]> = vec![b"HPEXPIREAT", key];
        v.push(if opt == Some(GetEx::PxAt) { argv[3] } else { &when });
        v.extend_from_slice(&argv[4..]);
        ctx.rewrite_propagation(&v);
    } else if deleted > 0 {
        for f in gone {
            propagate_hdel(ctx, key, f);
        }
        ctx.prevent_propagation();
    }
    finish_set_ex(ctx, key, updated, deleted)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetCond {
    Fnx,
    Fxx,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetTtl {
    At(i64),
    KeepTtl,
}

/// HSETEX key [FNX | FXX] [EX seconds | PX milliseconds |
/// EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]
/// FIELDS numfields field value [field value ...]
fn hsetex(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let (mut cond, mut ttl) = (None, None);
    let mut time_at = 0;
    let arity = || CmdError::WrongArity("hsetex".into());
    let pairs = loop {
        let Some(a) = args.peek() else { return Err(CmdError::Syntax) };
        args.next_bytes()?;
        if args::is(a, "FIELDS") {
            if args.remaining() < 3 {
                return Err(arity());
            }
            let n = args
                .next_bytes()
                .ok()
                .and_then(types::num::parse_i64)
                .filter(|&n| (1..=i32::MAX as i64).contains(&n))
                .ok_or_else(|| CmdError::err("invalid number of fields"))?;
            let rest = args.take_rest();
            if !rest.len().is_multiple_of(2) || n as usize != rest.len() / 2 {
                return Err(arity());
            }
            break rest;
        }
        let unit = [("EX", (true, true)), ("PX", (false, true)), ("EXAT", (true, false)), ("PXAT", (false, false))];
        if let Some(&(_, (secs, rel))) = unit.iter().find(|(w, _)| args::is(a, w)) {
            if ttl.is_some() {
                return Err(CmdError::err("Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified"));
            }
            time_at = args.position();
            let raw = args.next_bytes().map_err(|_| CmdError::err("missing expire time"))?;
            let base = if rel { ctx.now_ms } else { 0 };
            ttl = Some(SetTtl::At(parse_field_expire(ctx, raw, secs, base)?));
        } else if args::is(a, "KEEPTTL") {
            if ttl.is_some() {
                return Err(CmdError::err("Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified"));
            }
            ttl = Some(SetTtl::KeepTtl);
        } else if args::is(a, "FNX") || args::is(a, "FXX") {
            if cond.is_some() {
                return Err(CmdError::err("Only one of FXX or FNX arguments can be specified"));
            }
            cond = Some(if args::is(a, "FNX") { SetCond::Fnx } else { SetCond::Fxx });
        } else {
            return Err(CmdError::err(format!("unknown argument: {}", String::from_utf8_lossy(a))));
        }
    };
    let existing = ctx.write_hash(key)?;
    let met = match (cond, existing) {
        (Some(SetCond::Fxx), None) => false,
        (Some(SetCond::Fxx), Some(h)) => pairs.chunks(2).all(|p| h.contains(p[0])),
        (Some(SetCond::Fnx), Some(h)) => !pairs.chunks(2).any(|p| h.contains(p[0])),
        _ => true,
    };
    if !met {
        ctx.out.int(0);
        return Ok(());
    }
    let lim = ctx.hash_limits();
    let now = ctx.now_ms;
    let h = ctx.write_hash_or_create(key)?;
    h.convert_for(pairs.iter().copied(), lim);
    let (mut updated, mut deleted) = (0, 0);
    let mut gone: Vec<&[u8]> = Vec::new();
    for p in pairs.chunks(2) {
        match ttl {
            None => {
                h.set(p[0], p[1], lim);
            }
            Some(SetTtl::KeepTtl) => {
                h.set_keep_ttl(p[0], p[1], lim);
            }
            Some(SetTtl::At(at)) => {
                h.set_keep_ttl(p[0], p[1], lim);
                match set_field_expiry(h, p[0], at, None, now) {
                    SetEx::Set => updated += 1,
                    SetEx::Deleted => {
                        deleted += 1;
                        gone.push(p[0]);
                    }
                    _ => {}
                }
            }
        }
    }
    // Redis 8: fields whose time had passed go as HDELs (and the command
    // not at all); EX, PX and EXAT become PXAT with the absolute time.
    if deleted > 0 {
        for f in gone {
            propagate_hdel(ctx, key, f);
        }
        ctx.prevent_propagation();
    } else if let Some(SetTtl::At(at)) = ttl {
        let argv = args.all();
        if ctx.propagating() && !args::is(argv[time_at - 1], "PXAT") {
            let when = prop::num(at);
            let mut v = argv.to_vec();
            v[time_at - 1] = b"PXAT";
            v[time_at] = &when;
            ctx.rewrite_propagation(&v);
        }
    }
    ctx.modified(key);
    ctx.notify(notify::HASH, "hset", key);
    ctx.out.int(1);
    finish_set_ex(ctx, key, updated, deleted)?;
    drop_if_empty(ctx, key)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors() {
        assert_eq!(parse_scan_cursor(b""), Ok(0));
        assert_eq!(parse_scan_cursor(b"+5"), Ok(5));
        assert_eq!(parse_scan_cursor(b"-1"), Ok(u64::MAX));
        assert_eq!(parse_scan_cursor(b"18446744073709551615"), Ok(u64::MAX));
        assert!(parse_scan_cursor(b"18446744073709551616").is_err());
        assert!(parse_scan_cursor(b" 5").is_err());
        assert!(parse_scan_cursor(b"-").is_err());
        assert!(parse_scan_cursor(b"0x1").is_err());
    }

    /// What the field-expiry commands propagate (Redis 7.4's HEXPIRE
    /// family; Redis 8's HGETDEL, HGETEX, HSETEX and HINCRBYFLOAT).
    #[test]
    fn field_expiry_propagation() {
        let got = super::prop::tests::propagated(&[
            "HSET h a 1 b 2 c 3 d 4",
            "HEXPIRE h 100 FIELDS 3 a nofield b",
            "HEXPIRE h 100 NX FIELDS 1 a",
            "HPEXPIREAT h 4102444800000 FIELDS 1 c",
            "HPEXPIRE h 0 FIELDS 2 c nofield",
            "HGETDEL h FIELDS 2 nofield d",
            "HGETDEL h FIELDS 1 nofield",
            "HGETEX h EX 200 FIELDS 2 a nofield",
            "HGETEX h PXAT 4102444800000 FIELDS 1 a",
            "HGETEX h PERSIST FIELDS 1 a",
            "HGETEX h PERSIST FIELDS 1 a",
            "HGETEX h FIELDS 1 a",
            "HSET h x 1",
            "HGETEX h EXAT 1 FIELDS 2 x a",
            "HSETEX h2 FNX EX 100 FIELDS 2 f 1 g 2",
            "HSETEX h2 FNX EX 100 FIELDS 1 f 1",
            "HSETEX h2 PXAT 4102444800000 FIELDS 1 f 2",
            "HSETEX h2 KEEPTTL FIELDS 1 f 3",
            "HINCRBYFLOAT h2 f 1.5",
            "HSETEX h2 FIELDS 1 f 3",
            "HINCRBYFLOAT h2 f 1.5",
            "HSETEX h2 PX 0 FIELDS 2 f 1 g 2",
        ]);
        let got: Vec<String> = got.iter().map(|s| super::prop::tests::untimed(s)).collect();
        assert_eq!(
            got,
            [
                "HSET h a 1 b 2 c 3 d 4",
                "HPEXPIREAT h T FIELDS 2 a b",
                "",
                "HPEXPIREAT h 4102444800000 FIELDS 1 c",
                "HDEL h c",
                "HDEL h nofield d",
                "",
                "HPEXPIREAT h T FIELDS 2 a nofield",
                "HPEXPIREAT h 4102444800000 FIELDS 1 a",
                "HPERSIST h FIELDS 1 a",
                "",
                "",
                "HSET h x 1",
                "HDEL h x | HDEL h a",
                "HSETEX h2 FNX PXAT T FIELDS 2 f 1 g 2",
                "",
                "HSETEX h2 PXAT 4102444800000 FIELDS 1 f 2",
                "HSETEX h2 KEEPTTL FIELDS 1 f 3",
                "HSETEX h2 KEEPTTL FIELDS 1 f 4.5",
                "HSETEX h2 FIELDS 1 f 3",
                "HSET h2 f 4.5",
                "HDEL h2 f | HDEL h2 g",
            ]
        );
    }

    #[test]
    fn expiry_conditions() {
        let lim = types::hash::Limits { max_entries: 10, max_value: 10 };
        let mut h = Hash::new();
        h.set(b"a", b"1", lim);
        assert_eq!(set_field_expiry(&mut h, b"a", 100, Some(Cond::Xx), 0), SetEx::NotMet);
        assert_eq!(set_field_expiry(&mut h, b"a", 100, Some(Cond::Gt), 0), SetEx::NotMet);
        assert_eq!(set_field_expiry(&mut h, b"a", 100, Some(Cond::Lt), 0), SetEx::Set);
        assert_eq!(set_field_expiry(&mut h, b"a", 100, Some(Cond::Nx), 0), SetEx::NotMet);
        assert_eq!(set_field_expiry(&mut h, b"a", 200, Some(Cond::Gt), 0), SetEx::Set);
        assert_eq!(set_field_expiry(&mut h, b"a", 200, Some(Cond::Gt), 0), SetEx::NotMet);
        assert_eq!(set_field_expiry(&mut h, b"a", 150, Some(Cond::Lt), 0), SetEx::Set);
        assert_eq!(set_field_expiry(&mut h, b"b", 150, None, 0), SetEx::NoField);
        assert_eq!(set_field_expiry(&mut h, b"a", 5, None, 10), SetEx::Deleted);
        assert!(h.is_empty());
    }
}
