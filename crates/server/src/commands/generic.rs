//! Generic key commands: existence, deletion, renaming, copying between
//! databases, TTLs, key listing (KEYS, SCAN, RANDOMKEY) and OBJECT.
//!
//! Everything here is type-agnostic: values are moved (RENAME, MOVE) or
//! cloned (COPY) whole, with their TTL, whatever their type.
//!
//! Commands that touch another database (MOVE, COPY DB) switch the context's
//! database for the duration of the other-side work, as Redis's selectDb
//! does, so lazy expiry, notifications and write bookkeeping name the right
//! database. The shards they need are already held: a shard holds every
//! database.
//!
//! SCAN walks the shards in index order and, inside a shard, the database's
//! dense entry vector from the end toward 0 (`Db::scan_step`). The cursor is
//! `state * nshards + shard`, where `state` 0 means "shard not started" and
//! `state = b + 1` means positions `[0, b)` remain; 0 means done. A key
//! present for a whole iteration is always returned (see `storage`).

use super::Cmd;
use crate::args::{self, Args};
use crate::cmdspec::table as t;
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::lazyfree::Why;
use crate::notify;
use crate::storage::{lfu, Entry, Str, Value, NO_EXPIRE};
use resp::Agg;

pub static COMMANDS: &[Cmd] = &[
    Cmd::new(&t::DEL, del),
    Cmd::new(&t::UNLINK, unlink),
    Cmd::new(&t::EXISTS, exists),
    Cmd::new(&t::TYPE, type_),
    Cmd::new(&t::TOUCH, touch),
    Cmd::new(&t::RENAME, rename),
    Cmd::new(&t::RENAMENX, renamenx),
    Cmd::new(&t::MOVE, move_),
    Cmd::new(&t::COPY, copy),
    Cmd::new(&t::EXPIRE, expire),
    Cmd::new(&t::PEXPIRE, pexpire),
    Cmd::new(&t::EXPIREAT, expireat),
    Cmd::new(&t::PEXPIREAT, pexpireat),
    Cmd::new(&t::TTL, ttl),
    Cmd::new(&t::PTTL, pttl),
    Cmd::new(&t::EXPIRETIME, expiretime),
    Cmd::new(&t::PEXPIRETIME, pexpiretime),
    Cmd::new(&t::PERSIST, persist),
    Cmd::new(&t::KEYS, keys).lock_all(),
    Cmd::new(&t::SCAN, scan).lock_all(),
    Cmd::new(&t::RANDOMKEY, randomkey).lock_all(),
    Cmd::new(&t::OBJECT_ENCODING, object_encoding),
    Cmd::new(&t::OBJECT_REFCOUNT, object_refcount),
    Cmd::new(&t::OBJECT_IDLETIME, object_idletime),
    Cmd::new(&t::OBJECT_FREQ, object_freq),
    Cmd::new(&t::OBJECT_HELP, object_help),
];

/// Redis's lookupKeyReadWithFlags(LOOKUP_NOTOUCH): a read lookup (lazy
/// expiry, hit/miss counters) that leaves the LRU clock alone.
fn lookup_notouch<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Result<Option<&'c mut Entry>, CmdError> {
    let saved = ctx.client.no_touch;
    ctx.client.no_touch = true;
    let found = ctx.lookup_read(key).map(|e| e.is_some());
    ctx.client.no_touch = saved;
    if found? {
        ctx.peek(key)
    } else {
        Ok(None)
    }
}

/// Runs `f` with the context switched to database `db` (Redis's selectDb
/// around cross-database work), restoring it even on error.
fn in_db<R>(ctx: &mut Ctx<'_>, db: usize, f: impl FnOnce(&mut Ctx<'_>) -> Result<R, CmdError>) -> Result<R, CmdError> {
    let saved = ctx.client.db;
    ctx.client.db = db;
    let r = f(ctx);
    ctx.client.db = saved;
    r
}

/// A database index argument (Redis's getIntFromObjectOrReply, then the
/// range check of selectDb).
fn db_index(ctx: &Ctx<'_>, raw: &[u8]) -> Result<usize, CmdError> {
    let n = args::parse_i64(raw)?;
    let n = i32::try_from(n)
        .map_err(|_| CmdError::err("value is out of range, value must between -2147483648 and 2147483647"))?;
    if n < 0 || n as usize >= ctx.srv.keyspace.ndb() {
        return Err(CmdError::DbIndexOutOfRange);
    }
    Ok(n as usize)
}

fn same_object() -> CmdError {
    CmdError::err("source and destination objects are the same")
}

/// DEL key [key ...]
fn del(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    delete_keys(ctx, args, Why::UserDel)
}

/// UNLINK key [key ...]: DEL whose big values are always freed in the
/// background (the reply and events are the same).
fn unlink(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    delete_keys(ctx, args, Why::Unlink)
}

fn delete_keys(ctx: &mut Ctx<'_>, args: &mut Args<'_>, why: Why) -> CmdResult {
    let mut n = 0;
    for key in args.take_rest() {
        if ctx.delete_for(key, why)? {
            ctx.notify(notify::GENERIC, "del", key);
            n += 1;
        }
    }
    ctx.out.int(n);
    Ok(())
}

/// EXISTS key [key ...]
fn exists(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let mut n = 0;
    for key in args.take_rest() {
        if lookup_notouch(ctx, key)?.is_some() {
            n += 1;
        }
    }
    ctx.out.int(n);
    Ok(())
}

/// TOUCH key [key ...]
fn touch(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let mut n = 0;
    for key in args.take_rest() {
        if ctx.lookup_read(key)?.is_some() {
            n += 1;
        }
    }
    ctx.out.int(n);
    Ok(())
}

/// TYPE key
fn type_(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let name = match lookup_notouch(ctx, key)? {
        Some(e) => e.value.type_name(),
        None => "none",
    };
    ctx.out.simple(name);
    Ok(())
}

/// How RENAME and RENAMENX answer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RenameMode {
    /// RENAME: +OK, overwriting the destination.
    Replace,
    /// RENAMENX: 1, or 0 if the destination exists.
    Nx,
}

/// RENAME key newkey
fn rename(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    rename_generic(ctx, args, RenameMode::Replace)
}

/// RENAMENX key newkey
fn renamenx(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    rename_generic(ctx, args, RenameMode::Nx)
}

fn rename_generic(ctx: &mut Ctx<'_>, args: &mut Args<'_>, mode: RenameMode) -> CmdResult {
    let (src, dst) = (args.next_key()?, args.next_key()?);
    let ok = |ctx: &mut Ctx<'_>| match mode {
        RenameMode::Replace => ctx.out.ok(),
        RenameMode::Nx => ctx.out.int(1),
    };
    if ctx.lookup_write(src)?.is_none() {
        return Err(CmdError::NoSuchKey);
    }
    // Renaming a key to itself changes nothing (RENAMENX still says 0).
    if src == dst {
        match mode {
            RenameMode::Replace => ctx.out.ok(),
            RenameMode::Nx => ctx.out.int(0),
        }
        return Ok(());
    }
    if ctx.lookup_write(dst)?.is_some() && mode == RenameMode::Nx {
        ctx.out.int(0);
        return Ok(());
    }
    let entry = ctx.raw_db(src)?.remove(src).ok_or_else(|| CmdError::NoSuchKey)?;
    let volatile = entry.expire_at != NO_EXPIRE;
    if let Some(old) = ctx.raw_db(dst)?.insert_entry(dst, entry) {
        ctx.free(Why::ServerDel, old.value);
    }
    if volatile {
        ctx.ttl_set(dst);
    }
    ctx.modified(src);
    ctx.also_modified(dst);
    ctx.notify(notify::GENERIC, "rename_from", src);
    ctx.notify(notify::GENERIC, "rename_to", dst);
    ctx.signal_ready(dst);
    ok(ctx);
    Ok(())
}

/// MOVE key db
fn move_(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (key, raw) = (args.next_key()?, args.next_bytes()?);
    let dst = db_index(ctx, raw)?;
    if dst == ctx.client.db {
        return Err(same_object());
    }
    if ctx.lookup_write(key)?.is_none() {
        ctx.out.int(0);
        return Ok(());
    }
    if in_db(ctx, dst, |c| Ok(c.lookup_write(key)?.is_some()))? {
        ctx.out.int(0);
        return Ok(());
    }
    let entry = ctx.raw_db(key)?.remove(key).ok_or_else(|| CmdError::NoSuchKey)?;
    ctx.modified(key);
    ctx.notify(notify::GENERIC, "move_from", key);
    in_db(ctx, dst, |c| {
        let volatile = entry.expire_at != NO_EXPIRE;
        c.raw_db(key)?.insert_entry(key, entry);
        if volatile {
            c.ttl_set(key);
        }
        c.also_modified(key);
        c.notify(notify::GENERIC, "move_to", key);
        c.signal_ready(key);
        Ok(())
    })?;
    ctx.out.int(1);
    Ok(())
}

/// COPY source destination [DB destination-db] [REPLACE]
fn copy(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (src, dst) = (args.next_key()?, args.next_key()?);
    let (mut replace, mut db) = (false, ctx.client.db);
    while !args.is_empty() {
        if args.eat("REPLACE") {
            replace = true;
        } else if args.remaining() >= 2 && args.eat("DB") {
            db = db_index(ctx, args.next_bytes()?)?;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if db == ctx.client.db && src == dst {
        return Err(same_object());
    }
    let Some(e) = ctx.lookup_read(src)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let (value, expire_at) = (e.value.clone(), e.expire_at);
    let lru = ctx.srv.new_access(ctx.now_ms);
    let copied = in_db(ctx, db, |c| {
        if c.lookup_write(dst)?.is_some() && !replace {
            return Ok(false);
        }
        if let Some(old) = c.raw_db(dst)?.insert_entry(dst, Entry { value, expire_at, lru, unshared: true }) {
            c.free(Why::ServerDel, old.value);
        }
        if expire_at != NO_EXPIRE {
            c.ttl_set(dst);
        }
        c.modified(dst);
        c.notify(notify::GENERIC, "copy_to", dst);
        c.signal_ready(dst);
        Ok(true)
    })?;
    ctx.out.int(copied as i64);
    Ok(())
}

/// The time argument of the EXPIRE family: its unit, and whether it is
/// relative to now.
#[derive(Clone, Copy)]
enum ExpireKind {
    Secs,
    Ms,
    AtSecs,
    AtMs,
}

/// EXPIRE key seconds [NX | XX | GT | LT]
fn expire(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    expire_generic(ctx, args, ExpireKind::Secs)
}

/// PEXPIRE key milliseconds [NX | XX | GT | LT]
fn pexpire(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    expire_generic(ctx, args, ExpireKind::Ms)
}

/// EXPIREAT key unix-time-seconds [NX | XX | GT | LT]
fn expireat(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    expire_generic(ctx, args, ExpireKind::AtSecs)
}

/// PEXPIREAT key unix-time-milliseconds [NX | XX | GT | LT]
fn pexpireat(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    expire_generic(ctx, args, ExpireKind::AtMs)
}

/// The NX/XX/GT/LT conditions of the EXPIRE family.
#[derive(Default)]
struct ExpireCond {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

impl ExpireCond {
    /// Parses the options (before the time argument is even looked at, as
    /// Redis does) and rejects the combinations Redis rejects.
    fn parse(opts: &[&[u8]]) -> Result<ExpireCond, CmdError> {
        let mut c = ExpireCond::default();
        for o in opts {
            let flag = match o.to_ascii_lowercase().as_slice() {
                b"nx" => &mut c.nx,
                b"xx" => &mut c.xx,
                b"gt" => &mut c.gt,
                b"lt" => &mut c.lt,
                _ => return Err(CmdError::err(format!("Unsupported option {}", String::from_utf8_lossy(o)))),
            };
            *flag = true;
        }
        if c.nx && (c.xx || c.gt || c.lt) {
            return Err(CmdError::err("NX and XX, GT or LT options at the same time are not compatible"));
        }
        if c.gt && c.lt {
            return Err(CmdError::err("GT and LT options at the same time are not compatible"));
        }
        Ok(c)
    }

    /// True if the new expiry `when` may replace `current` (`NO_EXPIRE` counts
    /// as an infinite TTL).
    fn allows(&self, current: i64, when: i64) -> bool {
        let persistent = current == NO_EXPIRE;
        !((self.nx && !persistent)
            || (self.xx && persistent)
            || (self.gt && (persistent || when <= current))
            || (self.lt && !persistent && when >= current))
    }
}

fn expire_generic(ctx: &mut Ctx<'_>, args: &mut Args<'_>, kind: ExpireKind) -> CmdResult {
    let (key, raw) = (args.next_key()?, args.next_bytes()?);
    let cond = ExpireCond::parse(args.take_rest())?;
    let mut when = args::parse_i64(raw)?;
    let bad = || CmdError::InvalidExpire(ctx.spec.name.to_string());
    if matches!(kind, ExpireKind::Secs | ExpireKind::AtSecs) {
        when = when.checked_mul(1000).ok_or_else(bad)?;
    }
    if matches!(kind, ExpireKind::Secs | ExpireKind::Ms) {
        when = when.checked_add(ctx.now_ms).ok_or_else(bad)?;
    }
    let Some(e) = ctx.lookup_write(key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    if !cond.allows(e.expire_at, when) {
        ctx.out.int(0);
        return Ok(());
    }
    // (Not for the master's stream on a replica nor an AOF being loaded:
    // they set the TTL as written, as Redis's checkAlreadyExpired.)
    if when <= ctx.now_ms && !ctx.client.master && !ctx.srv.repl.is_replica() {
        // A time already past deletes the key (replicated as a DEL, or an
        // UNLINK under lazyfree-lazy-expire).
        if let Some(e) = ctx.raw_db(key)?.remove(key) {
            ctx.free(Why::Expire, e.value);
        }
        ctx.modified(key);
        ctx.notify(notify::GENERIC, "del", key);
        if ctx.propagating() {
            let del = super::prop::del_cmd(ctx, "lazyfree-lazy-expire");
            ctx.rewrite_propagation(&[del, key]);
        }
    } else {
        ctx.raw_db(key)?.set_expire(key, when);
        ctx.ttl_set(key);
        ctx.modified(key);
        ctx.notify(notify::GENERIC, "expire", key);
        // Propagated as PEXPIREAT with the absolute time (PEXPIREAT itself
        // as it was written), its options kept.
        if ctx.propagating() && !matches!(kind, ExpireKind::AtMs) {
            let mut v = args.all().to_vec();
            let when = super::prop::num(when);
            v[0] = b"PEXPIREAT";
            v[2] = &when;
            ctx.rewrite_propagation(&v);
        }
    }
    ctx.out.int(1);
    Ok(())
}

/// What the TTL family reports.
#[derive(Clone, Copy)]
enum TtlOut {
    /// Seconds left (rounded).
    Secs,
    /// Milliseconds left.
    Ms,
    /// Absolute unix time in seconds.
    AtSecs,
    /// Absolute unix time in milliseconds.
    AtMs,
}

/// TTL key
fn ttl(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    ttl_generic(ctx, args, TtlOut::Secs)
}

/// PTTL key
fn pttl(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    ttl_generic(ctx, args, TtlOut::Ms)
}

/// EXPIRETIME key
fn expiretime(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    ttl_generic(ctx, args, TtlOut::AtSecs)
}

/// PEXPIRETIME key
fn pexpiretime(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    ttl_generic(ctx, args, TtlOut::AtMs)
}

fn ttl_generic(ctx: &mut Ctx<'_>, args: &mut Args<'_>, what: TtlOut) -> CmdResult {
    let key = args.next_key()?;
    let now = ctx.now_ms;
    let reply = match lookup_notouch(ctx, key)? {
        None => -2,
        Some(e) if e.expire_at == NO_EXPIRE => -1,
        Some(e) => {
            let v = match what {
                TtlOut::Secs | TtlOut::Ms => e.expire_at - now,
                TtlOut::AtSecs | TtlOut::AtMs => e.expire_at,
            }
            .max(0);
            match what {
                TtlOut::Ms | TtlOut::AtMs => v,
                // Redis rounds to the nearest second; its sum is unsigned in
                // effect, so an expiry near i64::MAX rounds up, not down.
                TtlOut::Secs | TtlOut::AtSecs => ((v as u64 + 500) / 1000) as i64,
            }
        }
    };
    ctx.out.int(reply);
    Ok(())
}

/// PERSIST key
fn persist(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let removed = ctx.lookup_write(key)?.is_some() && ctx.raw_db(key)?.persist(key);
    if removed {
        ctx.modified(key);
        ctx.notify(notify::GENERIC, "persist", key);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

/// KEYS pattern
fn keys(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let pattern = args.next_bytes()?;
    let all = pattern == b"*";
    let (dbi, now) = (ctx.client.db, ctx.now_ms);
    let out = &mut *ctx.out;
    let at = out.begin_deferred();
    let mut n = 0;
    for shard in ctx.locked.shards_mut() {
        for (k, e) in &shard.dbs[dbi].map {
            // Expired keys are hidden, not deleted, as in Redis.
            if (all || crate::glob::matches(pattern, k, false)) && !e.is_expired(now) {
                out.bulk(k);
                n += 1;
            }
        }
    }
    out.end_deferred(at, Agg::Array, n);
    Ok(())
}

/// Redis's SCAN cursor parse (strtoul): an optional sign, decimal digits,
/// nothing else; a leading space or an overflow is an error, and a negative
/// number wraps as strtoul's does.
fn parse_cursor(raw: &[u8]) -> Result<u64, CmdError> {
    let bad = || CmdError::err("invalid cursor");
    let (neg, digits) = match raw.first() {
        Some(b'-') => (true, &raw[1..]),
        Some(b'+') => (false, &raw[1..]),
        _ => (false, raw),
    };
    if raw.is_empty() {
        return Ok(0);
    }
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v.checked_mul(10).and_then(|v| v.checked_add((d - b'0') as u64)).ok_or_else(bad)?;
    }
    Ok(if neg { v.wrapping_neg() } else { v })
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
fn scan(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let cursor = parse_cursor(args.next_bytes()?)?;
    let (mut count, mut pattern, mut type_name): (i64, Option<&[u8]>, Option<&[u8]>) = (10, None, None);
    while !args.is_empty() {
        if args.remaining() >= 2 && args.eat("COUNT") {
            count = args.next_i64()?;
            if count < 1 {
                return Err(CmdError::Syntax);
            }
        } else if args.remaining() >= 2 && args.eat("MATCH") {
            // "*" matches everything: no filtering at all.
            pattern = Some(args.next_bytes()?).filter(|p| *p != b"*");
        } else if args.remaining() >= 2 && args.eat("TYPE") {
            type_name = Some(args.next_bytes()?);
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let nshards = ctx.srv.keyspace.nshards() as u64;
    let (mut shard, mut state) = (cursor % nshards, cursor / nshards);
    let (dbi, now) = (ctx.client.db, ctx.now_ms);
    let count = count as usize;
    let (mut visited, mut found, mut dead) = (0usize, Vec::new(), Vec::new());
    let next = loop {
        let Some(s) = ctx.locked.shard_at(shard as usize) else { return Err(CmdError::err("invalid cursor")) };
        let boundary = if state == 0 { usize::MAX } else { (state - 1).min(usize::MAX as u64) as usize };
        let b = s.dbs[dbi].scan_step(boundary, count - visited, |k, e| {
            visited += 1;
            if pattern.is_some_and(|p| !crate::glob::matches(p, k, false)) {
                return;
            }
            // A dead key that matches is reclaimed whatever its type (Redis's
            // type check itself looks the key up, expiring it).
            if e.is_expired(now) {
                dead.push(k.clone());
                return;
            }
            if type_name.is_some_and(|t| !t.eq_ignore_ascii_case(e.value.type_name().as_bytes())) {
                return;
            }
            found.push(k.clone());
        });
        if b == 0 {
            shard += 1;
            state = 0;
            if shard == nshards {
                break 0;
            }
        } else {
            state = b as u64 + 1;
        }
        if visited >= count {
            break state * nshards + shard;
        }
    };
    // Expired keys met on the way are reclaimed (they were all visited, so
    // the swap-removal cannot move an unvisited key).
    for k in &dead {
        ctx.expire_if_needed(k)?;
    }
    ctx.out.array(2);
    ctx.out.bulk_int(next as i64);
    ctx.out.array(found.len());
    for k in &found {
        ctx.out.bulk(k);
    }
    Ok(())
}

/// RANDOMKEY
fn randomkey(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    let dbi = ctx.client.db;
    let mut sizes: Vec<usize> = ctx.locked.shards_mut().map(|s| s.dbs[dbi].len()).collect();
    let mut total: usize = sizes.iter().sum();
    while total > 0 {
        // Draw uniformly over all keys: pick the shard by its share.
        let mut r = rand::random::<u64>() as usize % total;
        let mut shard = 0;
        while r >= sizes[shard] {
            r -= sizes[shard];
            shard += 1;
        }
        let Some(s) = ctx.locked.shard_at(shard) else { return Err(CmdError::err("shard not held")) };
        let Some((k, _)) = s.dbs[dbi].map.get_index(r) else { return Err(CmdError::err("key index out of range")) };
        let k = k.clone();
        // A dead key is reclaimed and another one drawn.
        if !ctx.expire_if_needed(&k)? {
            ctx.out.bulk(&k);
            return Ok(());
        }
        sizes[shard] -= 1;
        total -= 1;
    }
    ctx.out.null();
    Ok(())
}

/// The entry OBJECT inspects: Redis's lookup with LOOKUP_NOTOUCH and
/// LOOKUP_NONOTIFY (hit/miss counted, no LRU touch, no keymiss event).
fn object_entry<'c>(ctx: &'c mut Ctx<'_>, args: &mut Args<'_>) -> Result<Option<&'c mut Entry>, CmdError> {
    let key = args.next_key()?;
    let stats = &ctx.srv.stats;
    let e = ctx.peek(key)?;
    let counter = if e.is_some() { &stats.keyspace_hits } else { &stats.keyspace_misses };
    counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(e)
}

/// True if Redis would hold this value as one of its shared integers
/// (0..9999, refcount INT_MAX).
pub(super) fn shared_integer(v: &Value) -> bool {
    matches!(v, Value::Str(Str::Int(n)) if (0..10000).contains(n))
}

/// Shared integers are not used while an LRU/LFU maxmemory policy is in
/// force (each key needs its own access data).
pub(super) fn sharing_allowed(ctx: &Ctx<'_>) -> bool {
    crate::cfg_num!(ctx.srv.config, "maxmemory") == 0
        || !ctx.srv.config.get_text("maxmemory-policy").is_some_and(|p| p.contains("lru") || p.contains("lfu"))
}

/// OBJECT ENCODING key
fn object_encoding(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    match object_entry(ctx, args)? {
        Some(e) => {
            let enc = e.value.encoding();
            ctx.out.bulk(enc)
        }
        None => ctx.out.null(),
    }
    Ok(())
}

/// OBJECT REFCOUNT key
fn object_refcount(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let Some(e) = object_entry(ctx, args)? else {
        ctx.out.null();
        return Ok(());
    };
    let n = if shared_integer(&e.value) && !e.unshared && sharing_allowed(ctx) { i32::MAX as i64 } else { 1 };
    ctx.out.int(n);
    Ok(())
}

/// Seconds since `lru` on the server's LRU clock.
fn idle_secs(clock: u32, lru: u32) -> i64 {
    clock.saturating_sub(lru) as i64
}

/// OBJECT IDLETIME key
fn object_idletime(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let Some(e) = object_entry(ctx, args)? else {
        ctx.out.null();
        return Ok(());
    };
    let lru = e.lru;
    if ctx.srv.config.lfu() {
        return Err(CmdError::err("An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
    }
    let n = idle_secs(ctx.srv.lru_clock_at(ctx.now_ms), lru);
    ctx.out.int(n);
    Ok(())
}

/// OBJECT FREQ key
fn object_freq(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let Some(e) = object_entry(ctx, args)? else {
        ctx.out.null();
        return Ok(());
    };
    let field = e.lru;
    if !ctx.srv.config.lfu() {
        return Err(CmdError::err("An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
    }
    let decay = crate::cfg_num!(ctx.srv.config, "lfu-decay-time");
    ctx.out.int(lfu::decayed(field, ctx.now_ms, decay) as i64);
    Ok(())
}

/// Replies with a container command's help: Redis's header line, `lines`,
/// and the HELP entry.
pub fn reply_help(ctx: &mut Ctx<'_>, lines: &[&str]) {
    let name = ctx.spec.name.split('|').next().unwrap_or(ctx.spec.name).to_uppercase();
    super::command::write_help(ctx.out, &name, lines);
}

/// OBJECT HELP
fn object_help(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    reply_help(
        ctx,
        &[
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors() {
        assert_eq!(parse_cursor(b"0"), Ok(0));
        assert_eq!(parse_cursor(b""), Ok(0));
        assert_eq!(parse_cursor(b"+12"), Ok(12));
        assert_eq!(parse_cursor(b"-1"), Ok(u64::MAX));
        assert_eq!(parse_cursor(b"007"), Ok(7));
        assert!(parse_cursor(b" 1").is_err());
        assert!(parse_cursor(b"1a").is_err());
        assert!(parse_cursor(b"-").is_err());
        assert!(parse_cursor(b"18446744073709551616").is_err());
        assert_eq!(parse_cursor(b"18446744073709551615"), Ok(u64::MAX));
    }

    #[test]
    fn expire_conditions() {
        let c = |o: &[&str]| ExpireCond::parse(&o.iter().map(|s| s.as_bytes()).collect::<Vec<_>>());
        assert!(c(&["nx", "xx"]).is_err());
        assert!(c(&["gt", "LT"]).is_err());
        assert!(c(&["foo"]).is_err());
        let gt = c(&["GT"]).unwrap();
        assert!(!gt.allows(NO_EXPIRE, 10));
        assert!(gt.allows(5, 10) && !gt.allows(10, 10));
        let lt = c(&["lt"]).unwrap();
        assert!(lt.allows(NO_EXPIRE, 10) && lt.allows(20, 10) && !lt.allows(10, 10));
        let nx = c(&["nx", "nx"]).unwrap();
        assert!(nx.allows(NO_EXPIRE, 1) && !nx.allows(5, 1));
        let xx = c(&["xx", "gt"]).unwrap();
        assert!(!xx.allows(NO_EXPIRE, 1) && xx.allows(5, 6));
    }

    #[test]
    fn idle() {
        assert_eq!(idle_secs(10, 4), 6);
        assert_eq!(idle_secs(3, 4), 0);
    }
}
