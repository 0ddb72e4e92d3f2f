//! DUMP and RESTORE: a value serialized as Redis's DUMP payload (see the
//! `rdb` module) and recreated from one.
//!
//! RESTORE follows Redis 7.0's order of checks: options (syntax, IDLETIME
//! and FREQ ranges; IDLETIME and FREQ exclude each other), then an existing
//! key without REPLACE (BUSYKEY), then the TTL, then the payload's version
//! and checksum, then its contents. A TTL already in the past replies OK and
//! creates nothing (deleting, with a `del` event, a key that REPLACE
//! overwrote). IDLETIME applies under an LRU policy (or none), FREQ under an
//! LFU policy; the other is accepted and ignored, as Redis does.

use super::Cmd;
use crate::args::{self, is, Args};
use crate::cmdspec::table as t;
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::notify;
use crate::rdb::{self, LoadConfig};
use crate::storage::lfu;

pub static COMMANDS: &[Cmd] =
    &[Cmd::new(&t::DUMP, dump), Cmd::new(&t::RESTORE, restore), Cmd::new(&t::RESTORE_ASKING, restore)];

/// DUMP key
fn dump(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let threshold = ctx.srv.packed_threshold.load(std::sync::atomic::Ordering::Relaxed);
    let Some(e) = ctx.lookup_read(key)? else {
        ctx.out.null();
        return Ok(());
    };
    let payload = rdb::dump_with(&e.value, threshold);
    ctx.out.bulk(payload);
    Ok(())
}

/// The configuration a restored value is shaped by.
pub fn load_config(ctx: &Ctx<'_>) -> LoadConfig {
    let c = &ctx.srv.config;
    let fill = crate::cfg_num!(c, "list-max-listpack-size");
    LoadConfig {
        hash: ctx.hash_limits(),
        zset: super::zset::limits(ctx),
        max_intset: ctx.set_max_intset(),
        list_fill: fill.clamp(i32::MIN as i64, i32::MAX as i64) as i32,
    }
}

/// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]
fn restore(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (key, ttl_arg, payload) = (args.next_key()?, args.next_bytes()?, args.next_bytes()?);
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq): (Option<i64>, Option<i64>) = (None, None);
    let opts = args.take_rest();
    let mut j = 0;
    while j < opts.len() {
        let (a, more) = (opts[j], opts.len() - j - 1);
        if is(a, "replace") {
            replace = true;
        } else if is(a, "absttl") {
            absttl = true;
        } else if is(a, "idletime") && more >= 1 && freq.is_none() {
            let v = args::parse_i64(opts[j + 1])?;
            if v < 0 {
                return Err(CmdError::err("Invalid IDLETIME value, must be >= 0"));
            }
            idle = Some(v);
            j += 1;
        } else if is(a, "freq") && more >= 1 && idle.is_none() {
            let v = args::parse_i64(opts[j + 1])?;
            if !(0..=255).contains(&v) {
                return Err(CmdError::err("Invalid FREQ value, must be >= 0 and <= 255"));
            }
            freq = Some(v);
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    if !replace && ctx.lookup_write(key)?.is_some() {
        return Err(CmdError::BusyKey);
    }
    let ttl = args::parse_i64(ttl_arg)?;
    if ttl < 0 {
        return Err(CmdError::err("Invalid TTL value, must be >= 0"));
    }
    if rdb::unseal(payload).is_none() {
        return Err(CmdError::err("DUMP payload version or checksum are wrong"));
    }
    // The value is read from the whole payload, footer included, as Redis
    // reads it: a malformed value may run into the footer's bytes.
    let cfg = load_config(ctx);
    let value = rdb::load(payload, &cfg).ok_or_else(|| CmdError::err("Bad data format"))?;

    let now = ctx.now_ms;
    let at = if ttl != 0 && !absttl { ttl.wrapping_add(now) } else { ttl };
    if at != 0 && at <= now {
        // Already expired: nothing is created; a replaced key is deleted.
        if replace && ctx.delete(key)? {
            ctx.notify(notify::GENERIC, "del", key);
        }
        ctx.out.ok();
        return Ok(());
    }
    let existed = replace && ctx.lookup_write(key)?.is_some();
    ctx.set_value(key, value)?;
    // Redis deletes then adds the key, so a replaced key is announced as
    // new too.
    if existed {
        ctx.notify(notify::NEW, "new", key);
    }
    let srv = ctx.srv;
    let lfu_policy = srv.config.lfu();
    let clock = srv.lru_clock_at(now);
    let db = ctx.raw_db(key)?;
    if at != 0 {
        db.set_expire(key, at);
    }
    if let Some(e) = db.get_mut(key) {
        e.lru = match (lfu_policy, freq, idle) {
            (true, Some(f), _) => (lfu::minutes(now) << 8) | f as u32,
            (false, _, Some(i)) => clock.saturating_sub(i.min(u32::MAX as i64) as u32),
            _ => srv.new_access(now),
        };
    }
    ctx.notify(notify::GENERIC, "restore", key);
    ctx.out.ok();
    Ok(())
}
