//! Sorted-set commands (Redis's t_zset.c semantics, our own code).
//!
//! The set itself is `types::zset::ZSet`; this file parses arguments, picks
//! the rank window a command addresses, and writes replies. Every range
//! command reduces to a window of ascending ranks `[lo, hi)`: scores and lex
//! bounds become ranks through `ZSet::count_before` (O(log N)), LIMIT and REV
//! then cut that window. Scores are replied as doubles (`%.17g` in RESP2,
//! `,` doubles in RESP3); WITHSCORES replies are flat in RESP2 and pairs in
//! RESP3, as Redis 7.0 sends them.
//!
//! Writes follow Redis's bookkeeping: an emptied set is deleted (with a `del`
//! event after the command's own event), and store commands replace their
//! destination or delete it when the result is empty.

use super::{prop, Cmd};
use crate::args::{is, parse_i64, Args};
use crate::blocking::{self, BlockRequest};
use crate::cmdspec::table as t;
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::notify;
use crate::storage::{Key, Value};
use indexmap::map::Entry as MapEntry;
use indexmap::IndexMap;
use rand::Rng;
use resp::Out;
use types::zset::{cmp_entry, Limits, ZSet};

pub static COMMANDS: &[Cmd] = &[
    Cmd::new(&t::ZADD, zadd).zadd_members(),
    Cmd::new(&t::ZINCRBY, zincrby).members(3, 1),
    Cmd::new(&t::ZREM, zrem).members(2, 1),
    Cmd::new(&t::ZCARD, zcard),
    Cmd::new(&t::ZSCORE, zscore).members(2, 1),
    Cmd::new(&t::ZMSCORE, zmscore).members(2, 1),
    Cmd::new(&t::ZRANK, zrank).members(2, 2),
    Cmd::new(&t::ZREVRANK, zrevrank).members(2, 2),
    Cmd::new(&t::ZCOUNT, zcount),
    Cmd::new(&t::ZLEXCOUNT, zlexcount),
    Cmd::new(&t::ZRANGE, zrange),
    Cmd::new(&t::ZRANGESTORE, zrangestore),
    Cmd::new(&t::ZREVRANGE, zrevrange),
    Cmd::new(&t::ZRANGEBYSCORE, zrangebyscore),
    Cmd::new(&t::ZREVRANGEBYSCORE, zrevrangebyscore),
    Cmd::new(&t::ZRANGEBYLEX, zrangebylex),
    Cmd::new(&t::ZREVRANGEBYLEX, zrevrangebylex),
    Cmd::new(&t::ZREMRANGEBYRANK, zremrangebyrank),
    Cmd::new(&t::ZREMRANGEBYSCORE, zremrangebyscore),
    Cmd::new(&t::ZREMRANGEBYLEX, zremrangebylex),
    Cmd::new(&t::ZUNION, zunion),
    Cmd::new(&t::ZINTER, zinter),
    Cmd::new(&t::ZDIFF, zdiff),
    Cmd::new(&t::ZUNIONSTORE, zunionstore),
    Cmd::new(&t::ZINTERSTORE, zinterstore),
    Cmd::new(&t::ZDIFFSTORE, zdiffstore),
    Cmd::new(&t::ZINTERCARD, zintercard),
    Cmd::new(&t::ZPOPMIN, zpopmin),
    Cmd::new(&t::ZPOPMAX, zpopmax),
    Cmd::new(&t::ZMPOP, zmpop),
    Cmd::new(&t::BZPOPMIN, bzpopmin),
    Cmd::new(&t::BZPOPMAX, bzpopmax),
    Cmd::new(&t::BZMPOP, bzmpop),
    Cmd::new(&t::ZRANDMEMBER, zrandmember),
    Cmd::new(&t::ZSCAN, zscan),
];

/// Negative ZRANDMEMBER counts above this are refused: Redis would stream
/// that many replies; we build replies in memory and must stay bounded.
pub const MAX_RANDOM_REPLY: u64 = 1 << 24;

/// The compact-encoding thresholds from the configuration.
pub fn limits(ctx: &Ctx<'_>) -> Limits {
    let c = &ctx.srv.config;
    Limits {
        max_entries: crate::cfg_num!(c, "zset-max-listpack-entries").max(0) as usize,
        max_value: crate::cfg_num!(c, "zset-max-listpack-value").max(0) as usize,
    }
}

/// Redis's getRangeLongFromObjectOrReply: an integer within [min, max];
/// `msg` (without "ERR ") replaces both errors when given.
pub fn range_long(b: &[u8], min: i64, max: i64, msg: Option<&str>) -> Result<i64, CmdError> {
    let v = match types::num::parse_i64(b) {
        Some(v) => v,
        None => return Err(msg.map(CmdError::err).unwrap_or(CmdError::NotInteger)),
    };
    if v < min || v > max {
        return Err(match msg {
            Some(m) => CmdError::err(m),
            None => CmdError::err(format!("value is out of range, value must between {min} and {max}")),
        });
    }
    Ok(v)
}

/// C `strtod` over the whole argument (as Redis parses range bounds): leading
/// white space allowed, the empty string is 0, overflow gives ±inf, the text
/// ends at a NUL byte. NaN is refused.
fn strtod_whole(b: &[u8]) -> Option<f64> {
    let b = match b.iter().position(|&c| c == 0) {
        Some(i) => &b[..i],
        None => b,
    };
    if b.is_empty() {
        return Some(0.0);
    }
    let t = match b.iter().position(|&c| !matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')) {
        Some(i) => &b[i..],
        None => return None,
    };
    if let Some(v) = types::num::parse_f64(t) {
        return Some(v);
    }
    // Out-of-range decimals: strtod saturates where Redis's string2d refuses.
    let s = std::str::from_utf8(t).ok()?;
    if !s.bytes().all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-')) {
        return None;
    }
    s.parse::<f64>().ok().filter(|v| !v.is_nan())
}

/// A score interval (`(` marks an open end).
#[derive(Clone, Copy, Debug)]
pub struct ScoreRange {
    pub min: f64,
    pub minex: bool,
    pub max: f64,
    pub maxex: bool,
}

impl ScoreRange {
    pub fn parse(min: &[u8], max: &[u8]) -> Option<ScoreRange> {
        let one = |b: &[u8]| match b.first() {
            Some(b'(') => strtod_whole(&b[1..]).map(|v| (v, true)),
            _ => strtod_whole(b).map(|v| (v, false)),
        };
        let (min, minex) = one(min)?;
        let (max, maxex) = one(max)?;
        Some(ScoreRange { min, minex, max, maxex })
    }

    /// Ascending ranks `[lo, hi)` of the members inside the interval.
    pub fn ranks(&self, z: &ZSet) -> (usize, usize) {
        let lo =
            if self.minex { z.count_before_score(|s| s <= self.min) } else { z.count_before_score(|s| s < self.min) };
        let hi =
            if self.maxex { z.count_before_score(|s| s < self.max) } else { z.count_before_score(|s| s <= self.max) };
        (lo, hi.max(lo))
    }
}

#[derive(Clone, Copy, Debug)]
enum LexBound<'a> {
    Min,
    Max,
    Incl(&'a [u8]),
    Excl(&'a [u8]),
}

/// A member interval: `[a` closed, `(a` open, `-` and `+` the extremes.
#[derive(Clone, Copy, Debug)]
pub struct LexRange<'a> {
    min: LexBound<'a>,
    max: LexBound<'a>,
}

impl<'a> LexRange<'a> {
    pub fn parse(min: &'a [u8], max: &'a [u8]) -> Option<LexRange<'a>> {
        let one = |b: &'a [u8]| match b.first() {
            Some(b'+') if b.len() == 1 => Some(LexBound::Max),
            Some(b'-') if b.len() == 1 => Some(LexBound::Min),
            Some(b'(') => Some(LexBound::Excl(&b[1..])),
            Some(b'[') => Some(LexBound::Incl(&b[1..])),
            _ => None,
        };
        Some(LexRange { min: one(min)?, max: one(max)? })
    }

    /// Ascending ranks `[lo, hi)` of the members inside the interval.
    pub fn ranks(&self, z: &ZSet) -> (usize, usize) {
        let n = z.len();
        let lo = match self.min {
            LexBound::Min => 0,
            LexBound::Max => n,
            LexBound::Incl(a) => z.count_before(|_, m| m < a),
            LexBound::Excl(a) => z.count_before(|_, m| m <= a),
        };
        let hi = match self.max {
            LexBound::Max => n,
            LexBound::Min => 0,
            LexBound::Incl(b) => z.count_before(|_, m| m <= b),
            LexBound::Excl(b) => z.count_before(|_, m| m < b),
        };
        (lo, hi.max(lo))
    }
}

fn not_float_range() -> CmdError {
    CmdError::err("min or max is not a float")
}

fn not_lex_range() -> CmdError {
    CmdError::err("min or max not valid string range item")
}

/// Redis's rank sanitizing for ZRANGE/ZREMRANGEBYRANK: the ascending ranks
/// `start..=end` addressed by possibly negative indexes, or None if empty.
fn rank_window(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let llen = len as i64;
    let (mut s, mut e) = (start, end);
    if s < 0 {
        s += llen;
    }
    if e < 0 {
        e += llen;
    }
    if s < 0 {
        s = 0;
    }
    if s > e || s >= llen {
        return None;
    }
    if e >= llen {
        e = llen - 1;
    }
    Some((s as usize, e as usize))
}

/// Cuts `[lo, hi)` by LIMIT offset/count in the walk direction; returns the
/// ascending inclusive ranks to emit. A negative offset empties the range and
/// a negative count means "all", as in Redis.
fn limit_window(lo: usize, hi: usize, rev: bool, offset: i64, limit: i64) -> Option<(usize, usize)> {
    if offset < 0 {
        return None;
    }
    let n = hi - lo;
    let off = offset as u64;
    if off >= n as u64 {
        return None;
    }
    let avail = n - off as usize;
    let take = if limit < 0 { avail } else { avail.min(limit as u64 as usize) };
    if take == 0 {
        return None;
    }
    if rev {
        let end = hi - 1 - off as usize;
        Some((end + 1 - take, end))
    } else {
        let start = lo + off as usize;
        Some((start, start + take - 1))
    }
}

/// Writes `n` (member, score) items: flat in RESP2, pairs in RESP3 when
/// scores are included.
pub fn reply_pairs<'z>(out: &mut Out, n: usize, withscores: bool, items: impl Iterator<Item = (&'z [u8], f64)>) {
    let nested = withscores && out.resp3();
    out.array(if withscores && !nested { n * 2 } else { n });
    for (m, s) in items {
        if nested {
            out.array(2);
        }
        out.bulk(m);
        if withscores {
            out.double(s);
        }
    }
}

/// Deletes `key` if its set became empty (with Redis's `del` event).
fn drop_if_empty(ctx: &mut Ctx<'_>, key: &[u8], empty: bool) -> CmdResult {
    if empty {
        ctx.delete(key)?;
        ctx.notify(notify::GENERIC, "del", key);
    }
    Ok(())
}

/// Replaces `dst` with `z`, or deletes it when `z` is empty; replies with
/// the size and emits `event` (or `del`).
fn store_result(ctx: &mut Ctx<'_>, dst: &[u8], z: ZSet, event: &str) -> CmdResult {
    let n = z.len();
    if n > 0 {
        ctx.set_value(dst, Value::ZSet(Box::new(z)))?;
        ctx.notify(notify::ZSET, event, dst);
        ctx.signal_ready(dst);
    } else if ctx.delete(dst)? {
        ctx.notify(notify::GENERIC, "del", dst);
    }
    ctx.out.int(n as i64);
    Ok(())
}

// ---------------------------------------------------------------- ZADD

/// ZADD's options (GEOADD passes its own subset).
#[derive(Default, Clone, Copy)]
pub struct AddFlags {
    pub nx: bool,
    pub xx: bool,
    pub gt: bool,
    pub lt: bool,
    pub ch: bool,
    pub incr: bool,
}

/// ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]
fn zadd(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let mut f = AddFlags::default();
    loop {
        let flag = match args.peek() {
            Some(a) if is(a, "nx") => &mut f.nx,
            Some(a) if is(a, "xx") => &mut f.xx,
            Some(a) if is(a, "ch") => &mut f.ch,
            Some(a) if is(a, "incr") => &mut f.incr,
            Some(a) if is(a, "gt") => &mut f.gt,
            Some(a) if is(a, "lt") => &mut f.lt,
            _ => break,
        };
        *flag = true;
        args.next_bytes()?;
    }
    add_generic(ctx, key, f, args.take_rest())
}

/// ZINCRBY key increment member
fn zincrby(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    add_generic(ctx, key, AddFlags { incr: true, ..AddFlags::default() }, args.take_rest())
}

/// The body of ZADD: `pairs` are score, member, score, member ...
pub fn add_generic(ctx: &mut Ctx<'_>, key: &[u8], f: AddFlags, pairs: &[&[u8]]) -> CmdResult {
    if pairs.is_empty() || pairs.len() % 2 != 0 {
        return Err(CmdError::Syntax);
    }
    if f.nx && f.xx {
        return Err(CmdError::err("XX and NX options at the same time are not compatible"));
    }
    if (f.gt && f.nx) || (f.lt && f.nx) || (f.gt && f.lt) {
        return Err(CmdError::err("GT, LT, and/or NX options at the same time are not compatible"));
    }
    if f.incr && pairs.len() > 2 {
        return Err(CmdError::err("INCR option supports a single increment-element pair"));
    }
    // All scores first: the command applies fully or not at all.
    let scores =
        pairs.chunks(2).map(|p| crate::args::parse_f64(p[0])).collect::<Result<smallvec::SmallVec<[f64; 8]>, _>>()?;
    let lim = limits(ctx);
    // One lookup when the set exists; a second one only after creating it.
    let mut found = ctx.write_zset(key)?;
    if found.is_none() {
        if f.xx {
            if f.incr {
                ctx.out.null();
            } else {
                ctx.out.int(0);
            }
            return Ok(());
        }
        ctx.set_value(key, Value::ZSet(Box::new(ZSet::for_size(1, pairs[1].len(), lim))))?;
        found = ctx.write_zset(key)?;
    }
    let Some((z, out)) = found else { return Err(CmdError::err("internal error: zset vanished")) };
    let (mut added, mut updated, mut processed) = (0i64, 0i64, 0);
    let mut last = 0.0;
    let mut nan = false;
    for (p, &score) in pairs.chunks(2).zip(scores.iter()) {
        // One lookup per member: the closure sees the current score and
        // returns the one to store (None: leave the member as it is).
        z.upsert(p[1], lim, |cur| {
            let s = match cur {
                Some(_) if f.nx => return None,
                None if f.xx => return None,
                Some(cur) => {
                    let s = if f.incr { score + cur } else { score };
                    if s.is_nan() {
                        nan = true;
                        return None;
                    }
                    if (f.lt && s >= cur) || (f.gt && s <= cur) {
                        return None;
                    }
                    if s != cur {
                        updated += 1;
                    }
                    s
                }
                None => {
                    added += 1;
                    score
                }
            };
            last = s;
            processed += 1;
            Some(s)
        });
        if nan {
            break;
        }
    }
    let reply = if nan {
        None
    } else if f.incr {
        Some((processed > 0).then_some(last))
    } else {
        out.int(if f.ch { added + updated } else { added });
        Some(None)
    };
    if added + updated > 0 {
        ctx.modified(key);
        ctx.notify(notify::ZSET, if f.incr { "zincr" } else { "zadd" }, key);
    }
    if added > 0 {
        ctx.signal_ready(key);
    }
    match reply {
        None => return Err(CmdError::err("resulting score is not a number (NaN)")),
        Some(Some(s)) if f.incr => ctx.out.double(s),
        Some(None) if f.incr => ctx.out.null(),
        _ => {}
    }
    Ok(())
}

// ------------------------------------------------------- simple reads

/// ZREM key member [member ...]
fn zrem(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let members = args.take_rest();
    let Some((z, _)) = ctx.write_zset(key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let mut deleted = 0;
    for m in members {
        if z.remove(m).is_some() {
            deleted += 1;
        }
        if z.is_empty() {
            break;
        }
    }
    let empty = z.is_empty();
    if deleted > 0 {
        ctx.modified(key);
        ctx.notify(notify::ZSET, "zrem", key);
        drop_if_empty(ctx, key, empty)?;
    }
    ctx.out.int(deleted);
    Ok(())
}

/// ZCARD key
fn zcard(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let n = ctx.read_zset(key)?.map(|(z, _)| z.len()).unwrap_or(0);
    ctx.out.int(n as i64);
    Ok(())
}

/// ZSCORE key member
fn zscore(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (key, member) = (args.next_key()?, args.next_bytes()?);
    match ctx.read_zset(key)?.and_then(|(z, _)| z.score(member)) {
        Some(s) => ctx.out.double(s),
        None => ctx.out.null(),
    }
    Ok(())
}

/// ZMSCORE key member [member ...]
fn zmscore(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let members = args.take_rest();
    let found = ctx.read_zset(key)?.map(|(z, _)| members.iter().map(|m| z.score(m)).collect::<Vec<_>>());
    ctx.out.array(members.len());
    for s in found.unwrap_or_else(|| vec![None; members.len()]) {
        match s {
            Some(s) => ctx.out.double(s),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn rank_generic(ctx: &mut Ctx<'_>, args: &mut Args<'_>, rev: bool) -> CmdResult {
    let (key, member) = (args.next_key()?, args.next_bytes()?);
    let r = ctx.read_zset(key)?.and_then(|(z, _)| z.rank(member).map(|r| if rev { z.len() - 1 - r } else { r }));
    match r {
        Some(r) => ctx.out.int(r as i64),
        None => ctx.out.null(),
    }
    Ok(())
}

/// ZRANK key member
fn zrank(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    rank_generic(ctx, args, false)
}

/// ZREVRANK key member
fn zrevrank(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    rank_generic(ctx, args, true)
}

/// ZCOUNT key min max
fn zcount(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let r = ScoreRange::parse(args.next_bytes()?, args.next_bytes()?).ok_or_else(not_float_range)?;
    let n = ctx.read_zset(key)?.map(|(z, _)| r.ranks(z)).map(|(lo, hi)| hi - lo).unwrap_or(0);
    ctx.out.int(n as i64);
    Ok(())
}

/// ZLEXCOUNT key min max
fn zlexcount(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let r = LexRange::parse(args.next_bytes()?, args.next_bytes()?).ok_or_else(not_lex_range)?;
    let n = ctx.read_zset(key)?.map(|(z, _)| r.ranks(z)).map(|(lo, hi)| hi - lo).unwrap_or(0);
    ctx.out.int(n as i64);
    Ok(())
}

// ------------------------------------------------------------- ZRANGE

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum By {
    Auto,
    Rank,
    Score,
    Lex,
}

/// The parsed range of a ZRANGE-family command.
enum Parsed<'a> {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange<'a>),
}

impl Parsed<'_> {
    /// The ascending inclusive ranks to emit, and the size hint Redis uses
    /// to pick the destination encoding of ZRANGESTORE (only by rank).
    fn window(&self, z: &ZSet, rev: bool, offset: i64, limit: i64) -> Option<(usize, usize)> {
        let len = z.len();
        match self {
            Parsed::Rank(s, e) => {
                let (s, e) = rank_window(*s, *e, len)?;
                if rev {
                    Some((len - 1 - e, len - 1 - s))
                } else {
                    Some((s, e))
                }
            }
            Parsed::Score(r) => {
                let (lo, hi) = r.ranks(z);
                limit_window(lo, hi, rev, offset, limit)
            }
            Parsed::Lex(r) => {
                let (lo, hi) = r.ranks(z);
                limit_window(lo, hi, rev, offset, limit)
            }
        }
    }
}

fn range_generic(ctx: &mut Ctx<'_>, args: &mut Args<'_>, by: By, rev: Option<bool>, store: bool) -> CmdResult {
    let dst = if store { Some(args.next_key()?) } else { None };
    let key = args.next_key()?;
    let (a_min, a_max) = (args.next_bytes()?, args.next_bytes()?);
    let (mut by, mut rev) = (by, rev);
    let (mut withscores, mut offset, mut limit) = (false, 0i64, -1i64);
    let rest = args.take_rest();
    let mut j = 0;
    while j < rest.len() {
        let (a, left) = (rest[j], rest.len() - j - 1);
        if !store && is(a, "withscores") {
            withscores = true;
        } else if is(a, "limit") && left >= 2 {
            offset = parse_i64(rest[j + 1])?;
            limit = parse_i64(rest[j + 2])?;
            j += 2;
        } else if rev.is_none() && is(a, "rev") {
            rev = Some(true);
        } else if by == By::Auto && is(a, "bylex") {
            by = By::Lex;
        } else if by == By::Auto && is(a, "byscore") {
            by = By::Score;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let rev = rev.unwrap_or(false);
    let by = if by == By::Auto { By::Rank } else { by };
    if limit != -1 && by == By::Rank {
        return Err(CmdError::err("syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"));
    }
    if withscores && by == By::Lex {
        return Err(CmdError::err("syntax error, WITHSCORES not supported in combination with BYLEX"));
    }
    let (a_min, a_max) = if rev && by != By::Rank { (a_max, a_min) } else { (a_min, a_max) };
    let parsed = match by {
        By::Score => Parsed::Score(ScoreRange::parse(a_min, a_max).ok_or_else(not_float_range)?),
        By::Lex => Parsed::Lex(LexRange::parse(a_min, a_max).ok_or_else(not_lex_range)?),
        _ => Parsed::Rank(parse_i64(a_min)?, parse_i64(a_max)?),
    };
    let lim = limits(ctx);
    let Some(dst) = dst else {
        match ctx.read_zset(key)? {
            None => ctx.out.empty_array(),
            Some((z, out)) => match parsed.window(z, rev, offset, limit) {
                None => out.empty_array(),
                Some((s, e)) => reply_pairs(out, e - s + 1, withscores, z.range(s, e, rev)),
            },
        }
        return Ok(());
    };
    let result = match ctx.read_zset(key)? {
        None => ZSet::new_pack(),
        Some((z, _)) => match parsed.window(z, rev, offset, limit) {
            None => ZSet::new_pack(),
            Some((s, e)) => {
                let hint = if matches!(parsed, Parsed::Rank(..)) { e - s + 1 } else { 0 };
                let mut d = ZSet::for_size(hint, 0, lim);
                for (m, sc) in z.range(s, e, rev) {
                    d.insert(m, sc, lim);
                }
                d
            }
        },
    };
    store_result(ctx, dst, result, "zrangestore")
}

/// ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES]
fn zrange(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    range_generic(ctx, args, By::Auto, None, false)
}

/// ZRANGESTORE dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count]
fn zrangestore(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    range_generic(ctx, args, By::Auto, None, true)
}

/// ZREVRANGE key start stop [WITHSCORES]
fn zrevrange(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    range_generic(ctx, args, By::Rank, Some(true), false)
}

/// ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]
fn zrangebyscore(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    range_generic(ctx, args, By::Score, Some(false), false)
}

/// ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]
fn zrevrangebyscore(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    range_generic(ctx, args, By::Score, Some(true), false)
}

/// ZRANGEBYLEX key min max [LIMIT offset count]
fn zrangebylex(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    range_generic(ctx, args, By::Lex, Some(false), false)
}

/// ZREVRANGEBYLEX key max min [LIMIT offset count]
fn zrevrangebylex(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    range_generic(ctx, args, By::Lex, Some(true), false)
}

// ------------------------------------------------------ ZREMRANGEBY*

fn remrange_generic(ctx: &mut Ctx<'_>, args: &mut Args<'_>, by: By) -> CmdResult {
    let key = args.next_key()?;
    let (a, b) = (args.next_bytes()?, args.next_bytes()?);
    let (parsed, event) = match by {
        By::Score => (Parsed::Score(ScoreRange::parse(a, b).ok_or_else(not_float_range)?), "zremrangebyscore"),
        By::Lex => (Parsed::Lex(LexRange::parse(a, b).ok_or_else(not_lex_range)?), "zremrangebylex"),
        _ => (Parsed::Rank(parse_i64(a)?, parse_i64(b)?), "zremrangebyrank"),
    };
    let Some((z, _)) = ctx.write_zset(key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let mut removed = 0;
    if let Some((s, e)) = parsed.window(z, false, 0, -1) {
        z.remove_ranks(s, e - s + 1, |_, _| removed += 1);
    }
    let empty = z.is_empty();
    if removed > 0 {
        ctx.modified(key);
        ctx.notify(notify::ZSET, event, key);
        drop_if_empty(ctx, key, empty)?;
    }
    ctx.out.int(removed);
    Ok(())
}

/// ZREMRANGEBYRANK key start stop
fn zremrangebyrank(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    remrange_generic(ctx, args, By::Rank)
}

/// ZREMRANGEBYSCORE key min max
fn zremrangebyscore(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    remrange_generic(ctx, args, By::Score)
}

/// ZREMRANGEBYLEX key min max
fn zremrangebylex(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    remrange_generic(ctx, args, By::Lex)
}

// ------------------------------------------------- ZUNION/ZINTER/ZDIFF

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

fn aggregate(target: &mut f64, v: f64, agg: Aggregate) {
    match agg {
        Aggregate::Sum => {
            *target += v;
            // inf + -inf: Redis keeps 0 rather than NaN.
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if v < *target {
                *target = v
            }
        }
        Aggregate::Max => {
            if v > *target {
                *target = v
            }
        }
    }
}

/// An input of ZUNION/ZINTER/ZDIFF: a sorted set, a plain set (every score
/// 1, members materialized once), or nothing (missing key).
#[derive(Clone, Copy)]
enum Src<'a> {
    Missing,
    Z(&'a ZSet),
    S(&'a types::set::Set, &'a [Vec<u8>]),
}

impl<'a> Src<'a> {
    fn len(&self) -> usize {
        match self {
            Src::Missing => 0,
            Src::Z(z) => z.len(),
            Src::S(s, _) => s.len(),
        }
    }

    fn score(&self, m: &[u8]) -> Option<f64> {
        match self {
            Src::Missing => None,
            Src::Z(z) => z.score(m),
            Src::S(s, _) => s.contains(m).then_some(1.0),
        }
    }

    fn for_each(&self, mut f: impl FnMut(&'a [u8], f64) -> bool) {
        match self {
            Src::Missing => {}
            Src::Z(z) => {
                for (m, s) in z.iter() {
                    if !f(m, s) {
                        break;
                    }
                }
            }
            Src::S(_, members) => {
                for m in members.iter() {
                    if !f(m, 1.0) {
                        break;
                    }
                }
            }
        }
    }

    fn same(&self, o: &Src<'_>) -> bool {
        match (self, o) {
            (Src::Z(a), Src::Z(b)) => std::ptr::eq(*a, *b),
            (Src::S(a, _), Src::S(b, _)) => std::ptr::eq(*a, *b),
            _ => false,
        }
    }
}

/// Whether a value may be an input of the set operations.
fn is_source(v: &Value) -> bool {
    matches!(v, Value::ZSet(_) | Value::Set(_))
}

/// The members of a plain set, as bytes (empty for other values).
fn set_members(v: Option<&Value>) -> Vec<Vec<u8>> {
    match v {
        Some(Value::Set(s)) => s.iter().map(|m| m.to_vec()).collect(),
        _ => Vec::new(),
    }
}

fn source_of<'a>(v: Option<&'a Value>, members: &'a [Vec<u8>]) -> Src<'a> {
    match v {
        Some(Value::ZSet(z)) => Src::Z(z),
        Some(Value::Set(s)) => Src::S(s, members),
        _ => Src::Missing,
    }
}

fn setop_generic(ctx: &mut Ctx<'_>, args: &mut Args<'_>, op: SetOp, store: bool, card_only: bool) -> CmdResult {
    let dst = if store { Some(args.next_key()?) } else { None };
    let setnum = parse_i64(args.next_bytes()?)?;
    if setnum < 1 {
        return Err(CmdError::err(format!("at least 1 input key is needed for '{}' command", ctx.spec.name)));
    }
    if setnum as u64 > args.remaining() as u64 {
        return Err(CmdError::Syntax);
    }
    let rest = args.take_rest();
    let (keys, opts) = rest.split_at(setnum as usize);
    for k in keys {
        if let Some(e) = ctx.lookup_read(k)? {
            if !is_source(&e.value) {
                return Err(CmdError::WrongType);
            }
        }
    }
    let mut weights = vec![1.0f64; keys.len()];
    let (mut agg, mut withscores, mut limit) = (Aggregate::Sum, false, 0i64);
    let mut j = 0;
    while j < opts.len() {
        let (a, remaining) = (opts[j], opts.len() - j);
        if op != SetOp::Diff && !card_only && remaining > keys.len() && is(a, "weights") {
            for (i, w) in weights.iter_mut().enumerate() {
                *w = types::num::parse_f64(opts[j + 1 + i])
                    .ok_or_else(|| CmdError::err("weight value is not a float"))?;
            }
            j += 1 + keys.len();
        } else if op != SetOp::Diff && !card_only && remaining >= 2 && is(a, "aggregate") {
            let v = opts[j + 1];
            agg = if is(v, "sum") {
                Aggregate::Sum
            } else if is(v, "min") {
                Aggregate::Min
            } else if is(v, "max") {
                Aggregate::Max
            } else {
                return Err(CmdError::Syntax);
            };
            j += 2;
        } else if dst.is_none() && !card_only && is(a, "withscores") {
            withscores = true;
            j += 1;
        } else if card_only && remaining >= 2 && is(a, "limit") {
            limit = range_long(opts[j + 1], 0, i64::MAX, Some("LIMIT can't be negative"))?;
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let lim = limits(ctx);
    let (reader, out) = ctx.reader();
    let mut members: Vec<Vec<Vec<u8>>> = Vec::with_capacity(keys.len());
    for k in keys {
        members.push(set_members(reader.get(k)?));
    }
    let mut srcs: Vec<(Src<'_>, f64)> = Vec::with_capacity(keys.len());
    for ((k, w), m) in keys.iter().zip(&weights).zip(&members) {
        srcs.push((source_of(reader.get(k)?, m), *w));
    }
    if op != SetOp::Diff {
        // Smallest first (a stable sort, as glibc's qsort on these inputs).
        srcs.sort_by_key(|(s, _)| s.len());
    }
    let mut result: Vec<(&[u8], f64)> = Vec::new();
    let mut card = 0u64;
    match op {
        SetOp::Inter => {
            let (first, w0) = srcs[0];
            if first.len() > 0 {
                first.for_each(|m, s| {
                    let mut score = w0 * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    for (src, w) in &srcs[1..] {
                        let v = if src.same(&first) {
                            s * w
                        } else {
                            match src.score(m) {
                                Some(v) => v * w,
                                None => return true,
                            }
                        };
                        aggregate(&mut score, v, agg);
                    }
                    if card_only {
                        card += 1;
                        return !(limit > 0 && card >= limit as u64);
                    }
                    result.push((m, score));
                    true
                });
            }
        }
        SetOp::Union => {
            let mut acc: IndexMap<&[u8], f64, ahash::RandomState> = IndexMap::default();
            for (src, w) in &srcs {
                src.for_each(|m, s| {
                    let mut score = w * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    match acc.entry(m) {
                        MapEntry::Vacant(v) => {
                            v.insert(score);
                        }
                        MapEntry::Occupied(mut o) => aggregate(o.get_mut(), score, agg),
                    }
                    true
                });
            }
            result = acc.into_iter().collect();
        }
        SetOp::Diff => {
            let first = srcs[0].0;
            first.for_each(|m, s| {
                if !srcs[1..].iter().any(|(o, _)| o.same(&first) || o.score(m).is_some()) {
                    result.push((m, s));
                }
                true
            });
        }
    }
    if card_only {
        out.int(card as i64);
        return Ok(());
    }
    result.sort_by(|a, b| cmp_entry(a.1, a.0, b.1, b.0));
    let Some(dst) = dst else {
        reply_pairs(out, result.len(), withscores, result.into_iter());
        return Ok(());
    };
    let z = ZSet::from_sorted(result.into_iter(), lim);
    let event = match op {
        SetOp::Union => "zunionstore",
        SetOp::Inter => "zinterstore",
        SetOp::Diff => "zdiffstore",
    };
    store_result(ctx, dst, z, event)
}

/// ZUNION numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
fn zunion(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    setop_generic(ctx, args, SetOp::Union, false, false)
}

/// ZINTER numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
fn zinter(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    setop_generic(ctx, args, SetOp::Inter, false, false)
}

/// ZDIFF numkeys key [key ...] [WITHSCORES]
fn zdiff(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    setop_generic(ctx, args, SetOp::Diff, false, false)
}

/// ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS ...] [AGGREGATE ...]
fn zunionstore(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    setop_generic(ctx, args, SetOp::Union, true, false)
}

/// ZINTERSTORE destination numkeys key [key ...] [WEIGHTS ...] [AGGREGATE ...]
fn zinterstore(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    setop_generic(ctx, args, SetOp::Inter, true, false)
}

/// ZDIFFSTORE destination numkeys key [key ...]
fn zdiffstore(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    setop_generic(ctx, args, SetOp::Diff, true, false)
}

/// ZINTERCARD numkeys key [key ...] [LIMIT limit]
fn zintercard(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    setop_generic(ctx, args, SetOp::Inter, false, true)
}

// ---------------------------------------------------------------- pops

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Where {
    Min,
    Max,
}

/// How a pop replies.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum PopShape {
    /// ZPOPMIN/ZPOPMAX: flat pairs (pairs in RESP3 when a count was given).
    Plain { nested: bool },
    /// BZPOPMIN/BZPOPMAX: [key, member, score].
    WithKey,
    /// ZMPOP/BZMPOP: [key, [[member, score], ...]].
    Nested,
}

/// Pops up to `count` members from the set at `key` (which must exist and be
/// a sorted set) and replies in `shape`. Emits the events and deletes the key
/// when emptied.
pub fn pop_from(ctx: &mut Ctx<'_>, key: &[u8], wh: Where, count: usize, shape: PopShape) -> CmdResult {
    let Some((z, out)) = ctx.write_zset(key)? else { return Err(CmdError::err("internal error: no zset")) };
    let n = count.min(z.len());
    match shape {
        PopShape::Plain { nested: false } => out.array(n * 2),
        PopShape::Plain { nested: true } => out.array(n),
        PopShape::WithKey => {
            out.array(n * 2 + 1);
            out.bulk(key);
        }
        PopShape::Nested => {
            out.array(2);
            out.bulk(key);
            out.array(n);
        }
    }
    let nested = matches!(shape, PopShape::Plain { nested: true } | PopShape::Nested);
    let start = if wh == Where::Min { 0 } else { z.len() - n };
    let mut popped: Vec<(Box<[u8]>, f64)> = Vec::with_capacity(n);
    z.remove_ranks(start, n, |m, s| popped.push((m.into(), s)));
    if wh == Where::Max {
        popped.reverse();
    }
    let empty = z.is_empty();
    ctx.modified(key);
    // Redis emits the event as it pops the first member, after the reply's
    // header: a RESP3 client listening to its own keys gets it there.
    ctx.notify(notify::ZSET, if wh == Where::Min { "zpopmin" } else { "zpopmax" }, key);
    let out = &mut *ctx.out;
    for (m, s) in &popped {
        if nested {
            out.array(2);
        }
        out.bulk(m);
        out.double(*s);
    }
    drop_if_empty(ctx, key, empty)
}

fn zpop_generic(ctx: &mut Ctx<'_>, args: &mut Args<'_>, wh: Where) -> CmdResult {
    let key = args.next_key()?;
    if args.remaining() > 1 {
        return Err(CmdError::Syntax);
    }
    let count = match args.peek() {
        Some(c) => Some(range_long(c, 0, i64::MAX, Some("value is out of range, must be positive"))?),
        None => None,
    };
    if ctx.write_zset(key)?.is_none() || count == Some(0) {
        ctx.out.empty_array();
        return Ok(());
    }
    let nested = ctx.out.resp3() && count.is_some();
    pop_from(ctx, key, wh, count.unwrap_or(1) as usize, PopShape::Plain { nested })
}

/// ZPOPMIN key [count]
fn zpopmin(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    zpop_generic(ctx, args, Where::Min)
}

/// ZPOPMAX key [count]
fn zpopmax(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    zpop_generic(ctx, args, Where::Max)
}

/// The parsed tail of ZMPOP/BZMPOP: `numkeys key [key ...] MIN|MAX [COUNT count]`.
pub struct MpopArgs<'a> {
    pub keys: &'a [&'a [u8]],
    pub wh: Where,
    pub count: usize,
}

pub fn parse_mpop<'a>(args: &mut Args<'a>) -> Result<MpopArgs<'a>, CmdError> {
    let numkeys = range_long(args.next_bytes()?, 1, i64::MAX, Some("numkeys should be greater than 0"))?;
    if numkeys as u64 >= args.remaining() as u64 {
        return Err(CmdError::Syntax);
    }
    let rest = args.take_rest();
    let (keys, tail) = rest.split_at(numkeys as usize);
    let wh = if is(tail[0], "min") {
        Where::Min
    } else if is(tail[0], "max") {
        Where::Max
    } else {
        return Err(CmdError::Syntax);
    };
    let mut count = None;
    let mut j = 1;
    while j < tail.len() {
        if count.is_none() && is(tail[j], "count") && j + 1 < tail.len() {
            count = Some(range_long(tail[j + 1], 1, i64::MAX, Some("count should be greater than 0"))?);
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(MpopArgs { keys, wh, count: count.unwrap_or(1) as usize })
}

/// The first key of `keys` holding a sorted set; WRONGTYPE stops the search.
pub fn first_nonempty<'k>(ctx: &mut Ctx<'_>, keys: &[&'k [u8]]) -> Result<Option<&'k [u8]>, CmdError> {
    for &k in keys {
        if ctx.write_zset(k)?.is_some() {
            return Ok(Some(k));
        }
    }
    Ok(None)
}

/// Pops as `pop_from` does and propagates the ZPOPMIN or ZPOPMAX it did
/// (Redis's form of ZMPOP, BZMPOP, BZPOPMIN and BZPOPMAX, run at once or
/// served once blocked): with the number popped for the COUNT forms
/// (`count` Some), without a count for BZPOPMIN and BZPOPMAX.
fn pop_propagated(ctx: &mut Ctx<'_>, key: &[u8], wh: Where, count: Option<usize>, shape: PopShape) -> CmdResult {
    let len = if ctx.propagating() { ctx.write_zset(key)?.map_or(0, |(z, _)| z.len()) } else { 0 };
    pop_from(ctx, key, wh, count.unwrap_or(1), shape)?;
    if ctx.propagating() {
        let cmd: &[u8] = if wh == Where::Min { b"ZPOPMIN" } else { b"ZPOPMAX" };
        match count {
            Some(n) => ctx.rewrite_propagation(&[cmd, key, &prop::num(n.min(len))]),
            None => ctx.rewrite_propagation(&[cmd, key]),
        }
    }
    Ok(())
}

/// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]
fn zmpop(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let a = parse_mpop(args)?;
    match first_nonempty(ctx, a.keys)? {
        Some(k) => pop_propagated(ctx, k, a.wh, Some(a.count), PopShape::Nested),
        None => {
            ctx.out.null_array();
            Ok(())
        }
    }
}

/// Blocks on `keys` until one holds a sorted set, or (inside MULTI and
/// scripts, where blocking is not allowed) replies as on timeout.
fn block_or_null(ctx: &mut Ctx<'_>, keys: &[&[u8]], deadline: Option<i64>) {
    if ctx.may_block() {
        let keys = keys.iter().map(|k| Key::from(*k)).collect();
        ctx.block(BlockRequest::new(keys, deadline, blocking::reply_null_array).for_type("zset"));
    } else {
        ctx.out.null_array();
    }
}

fn bzpop_generic(ctx: &mut Ctx<'_>, args: &mut Args<'_>, wh: Where) -> CmdResult {
    let all = args.take_rest();
    let (keys, timeout) = all.split_at(all.len() - 1);
    let deadline = blocking::parse_timeout(timeout[0], ctx.now_ms)?;
    match first_nonempty(ctx, keys)? {
        Some(k) => pop_propagated(ctx, k, wh, None, PopShape::WithKey),
        None => {
            block_or_null(ctx, keys, deadline);
            Ok(())
        }
    }
}

/// BZPOPMIN key [key ...] timeout
fn bzpopmin(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    bzpop_generic(ctx, args, Where::Min)
}

/// BZPOPMAX key [key ...] timeout
fn bzpopmax(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    bzpop_generic(ctx, args, Where::Max)
}

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]
fn bzmpop(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let timeout = args.next_bytes()?;
    let a = parse_mpop(args)?;
    let deadline = blocking::parse_timeout(timeout, ctx.now_ms)?;
    match first_nonempty(ctx, a.keys)? {
        Some(k) => pop_propagated(ctx, k, a.wh, Some(a.count), PopShape::Nested),
        None => {
            block_or_null(ctx, a.keys, deadline);
            Ok(())
        }
    }
}

// ------------------------------------------------------- ZRANDMEMBER

/// ZRANDMEMBER key [count [WITHSCORES]]
fn zrandmember(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let Some(c) = args.peek() else {
        match ctx.read_zset(key)? {
            None => ctx.out.null(),
            Some((z, out)) => {
                let i = rand::thread_rng().gen_range(0..z.len());
                out.bulk(z.nth(i).map(|(m, _)| m).unwrap_or_default());
            }
        }
        return Ok(());
    };
    let l = range_long(c, -i64::MAX, i64::MAX, None)?;
    args.next_bytes()?;
    let withscores = match args.remaining() {
        0 => false,
        1 if is(args.peek().unwrap_or_default(), "withscores") => true,
        _ => return Err(CmdError::Syntax),
    };
    if withscores && !(-i64::MAX / 2..=i64::MAX / 2).contains(&l) {
        return Err(CmdError::err("value is out of range"));
    }
    let Some((z, out)) = ctx.read_zset(key)? else {
        ctx.out.empty_array();
        return Ok(());
    };
    let size = z.len();
    let count = l.unsigned_abs();
    if count == 0 {
        out.empty_array();
        return Ok(());
    }
    let mut rng = rand::thread_rng();
    if l < 0 || count == 1 {
        if count > MAX_RANDOM_REPLY {
            return Err(CmdError::err("value is out of range"));
        }
        let n = count as usize;
        reply_pairs(out, n, withscores, (0..n).filter_map(|_| z.nth(rng.gen_range(0..size))));
        return Ok(());
    }
    if count >= size as u64 {
        // The whole set, in the order Redis's set-operation iterator walks it:
        // from the highest rank down.
        reply_pairs(out, size, withscores, z.range(0, size - 1, true));
        return Ok(());
    }
    // Distinct ranks: a partial shuffle when the sample is a large share of
    // the set, otherwise rejection sampling.
    let n = count as usize;
    let ranks: Vec<usize> = if n * 3 > size {
        let mut all: Vec<usize> = (0..size).collect();
        for i in 0..n {
            let j = rng.gen_range(i..size);
            all.swap(i, j);
        }
        all.truncate(n);
        all
    } else {
        let mut seen = std::collections::HashSet::with_capacity(n);
        let mut v = Vec::with_capacity(n);
        while v.len() < n {
            let r = rng.gen_range(0..size);
            if seen.insert(r) {
                v.push(r);
            }
        }
        v
    };
    reply_pairs(out, n, withscores, ranks.into_iter().filter_map(|r| z.nth(r)));
    Ok(())
}

// ---------------------------------------------------------------- ZSCAN

/// Redis's parseScanCursorOrReply (strtoul over the whole argument).
pub fn parse_cursor(b: &[u8]) -> Result<u64, CmdError> {
    let bad = || CmdError::err("invalid cursor");
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    if b.is_empty() {
        return Ok(0);
    }
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    let mut v: u64 = 0;
    for &c in digits {
        v = v.checked_mul(10).and_then(|v| v.checked_add((c - b'0') as u64)).ok_or_else(bad)?;
    }
    Ok(if neg { v.wrapping_neg() } else { v })
}

/// A score as ZSCAN shows it: a compact set stores the text of Redis's
/// d2string (integral values as integers), a tree set formats `%.17g`.
fn scan_score(s: f64, compact: bool) -> String {
    if compact && s.is_finite() {
        if s == 0.0 {
            return if s.is_sign_negative() { "-0".into() } else { "0".into() };
        }
        let bound = (i64::MAX / 2) as f64;
        if (-bound..=bound).contains(&s) && (s as i64) as f64 == s {
            return (s as i64).to_string();
        }
    }
    resp::fmt_g17(s)
}

/// ZSCAN key cursor [MATCH pattern] [COUNT count]
fn zscan(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let cursor = parse_cursor(args.next_bytes()?)?;
    let Some((z, out)) = ctx.read_zset(key)? else {
        ctx.out.array(2);
        ctx.out.bulk("0");
        ctx.out.empty_array();
        return Ok(());
    };
    let (mut count, mut pattern) = (10i64, None);
    let opts = args.take_rest();
    let mut j = 0;
    while j < opts.len() {
        let (a, left) = (opts[j], opts.len() - j);
        if is(a, "count") && left >= 2 {
            count = parse_i64(opts[j + 1])?;
            if count < 1 {
                return Err(CmdError::Syntax);
            }
        } else if is(a, "match") && left >= 2 {
            pattern = if opts[j + 1] == b"*" { None } else { Some(opts[j + 1]) };
        } else {
            return Err(CmdError::Syntax);
        }
        j += 2;
    }
    let compact = z.is_pack();
    let mut items: Vec<(&[u8], f64)> = Vec::new();
    let next = z.scan(cursor, count as usize, |m, s| {
        if pattern.map(|p| crate::glob::matches(p, m, false)).unwrap_or(true) {
            items.push((m, s));
        }
    });
    out.array(2);
    out.bulk(next.to_string());
    out.array(items.len() * 2);
    for (m, s) in items {
        out.bulk(m);
        out.bulk(scan_score(s, compact));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_bounds() {
        assert!(ScoreRange::parse(b"(1", b"2").is_some_and(|r| r.minex && !r.maxex));
        assert!(ScoreRange::parse(b"", b" 5").is_some_and(|r| r.min == 0.0 && r.max == 5.0));
        assert!(ScoreRange::parse(b"nan", b"1").is_none());
        assert!(ScoreRange::parse(b"1 ", b"1").is_none());
        assert!(ScoreRange::parse(b"1e400", b"-inf").is_some_and(|r| r.min == f64::INFINITY));
        assert!(LexRange::parse(b"-", b"+").is_some());
        assert!(LexRange::parse(b"a", b"+").is_none());
        assert!(LexRange::parse(b"+a", b"+").is_none());
    }

    #[test]
    fn windows() {
        assert_eq!(rank_window(0, -1, 3), Some((0, 2)));
        assert_eq!(rank_window(-100, 100, 3), Some((0, 2)));
        assert_eq!(rank_window(2, 1, 3), None);
        assert_eq!(rank_window(i64::MIN, i64::MAX, 3), Some((0, 2)));
        assert_eq!(limit_window(2, 8, false, 1, 2), Some((3, 4)));
        assert_eq!(limit_window(2, 8, true, 1, 2), Some((5, 6)));
        assert_eq!(limit_window(2, 8, false, -1, 2), None);
        assert_eq!(limit_window(2, 8, false, 0, -5), Some((2, 7)));
        assert_eq!(limit_window(2, 8, false, i64::MAX, 1), None);
    }

    #[test]
    fn cursors_and_scores() {
        assert_eq!(parse_cursor(b""), Ok(0));
        assert_eq!(parse_cursor(b"-1"), Ok(u64::MAX));
        assert!(parse_cursor(b" 1").is_err());
        assert!(parse_cursor(b"18446744073709551616").is_err());
        assert_eq!(scan_score(1e17, true), "100000000000000000");
        assert_eq!(scan_score(1e17, false), "1e+17");
        assert_eq!(scan_score(-0.0, true), "-0");
        assert_eq!(scan_score(1.5, true), "1.5");
    }
}
