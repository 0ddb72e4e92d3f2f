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

pub static COMMANDS: &[Cmd] = &[
    Cmd::new(&t::DUMP, dump),
    Cmd::new(&t::RESTORE, restore),
    Cmd::new(&t::RESTORE_ASKING, restore),
    Cmd::new(&t::MIGRATE, migrate),
];

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

/// MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE]
/// [AUTH password | AUTH2 username password] [KEYS key [key ...]]
///
/// DUMP of each key, RESTORE on the target (over a connection kept from
/// an earlier MIGRATE, or a new one), then (without COPY) DEL of the keys
/// the target took. Its key specs are
/// incomplete, so it holds every shard while it talks to the target, as
/// Redis blocks while it does: `timeout` bounds each step.
fn migrate(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    use std::io::{BufRead, Write};
    let argv = args.all();
    let (mut copy, mut replace) = (false, false);
    let mut auth: Option<(Option<&[u8]>, &[u8])> = None;
    let (mut first, mut nkeys) = (3usize, 1usize);
    let mut j = 6;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        let a = argv[j];
        if is(a, "copy") {
            copy = true;
        } else if is(a, "replace") {
            replace = true;
        } else if is(a, "auth") {
            if more == 0 {
                return Err(CmdError::Syntax);
            }
            auth = Some((None, argv[j + 1]));
            j += 1;
        } else if is(a, "auth2") {
            if more < 2 {
                return Err(CmdError::Syntax);
            }
            auth = Some((Some(argv[j + 1]), argv[j + 2]));
            j += 2;
        } else if is(a, "keys") {
            if !argv[3].is_empty() {
                return Err(CmdError::err(
                    "When using MIGRATE KEYS option, the key argument must be set to the empty string",
                ));
            }
            first = j + 1;
            nkeys = argv.len() - j - 1;
            break;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let timeout = types::num::parse_i64(argv[5]).ok_or(CmdError::NotInteger)?;
    let dbid = types::num::parse_i64(argv[4]).ok_or(CmdError::NotInteger)?;
    let timeout = std::time::Duration::from_millis(if timeout <= 0 { 1000 } else { timeout as u64 });
    let threshold = ctx.srv.packed_threshold.load(std::sync::atomic::Ordering::Relaxed);
    // The keys that exist, with their remaining TTL and payload.
    let mut found: Vec<(&[u8], i64, Vec<u8>)> = Vec::new();
    let mut any = false;
    for &k in &argv[first..first + nkeys] {
        let now = ctx.now_ms;
        let Some(e) = ctx.lookup_read(k)? else { continue };
        any = true;
        let ttl = if e.expire_at == crate::storage::NO_EXPIRE {
            0
        } else {
            match e.expire_at - now {
                t if t < 0 => continue,
                t => t.max(1),
            }
        };
        found.push((k, ttl, rdb::dump_with(&e.value, threshold)));
    }
    if !any {
        ctx.out.simple("NOKEY");
        return Ok(());
    }
    fn frame(out: &mut Vec<u8>, parts: &[&[u8]]) {
        out.extend_from_slice(format!("*{}\r\n", parts.len()).as_bytes());
        for p in parts {
            out.extend_from_slice(format!("${}\r\n", p.len()).as_bytes());
            out.extend_from_slice(p);
            out.extend_from_slice(b"\r\n");
        }
    }
    let mut auth_req = Vec::new();
    match auth {
        Some((Some(u), p)) => frame(&mut auth_req, &[b"AUTH", u, p]),
        Some((None, p)) => frame(&mut auth_req, &[b"AUTH", p]),
        None => {}
    }
    let mut restores = Vec::new();
    for (k, ttl, payload) in &found {
        let ttl = ttl.to_string();
        let mut parts: Vec<&[u8]> = vec![b"RESTORE", k, ttl.as_bytes(), payload];
        if replace {
            parts.push(b"REPLACE");
        }
        frame(&mut restores, &parts);
    }
    let connect_err = || CmdError::msg("IOERR error or timeout connecting to the client");
    // (A refused connection shows in Redis as a failed write: its connect
    // does not wait for the answer.)
    let write_err = || CmdError::msg("IOERR error or timeout writing to target instance");
    let read_err = || CmdError::msg("IOERR error or timeout reading to target instance");
    let host = String::from_utf8_lossy(argv[1]).into_owned();
    let port: u16 = std::str::from_utf8(argv[2]).ok().and_then(|p| p.parse().ok()).unwrap_or(0);
    let cache_key = format!("{host}:{port}");
    let line = |rd: &mut std::io::BufReader<&std::net::TcpStream>| -> Result<String, std::io::ErrorKind> {
        let mut l = Vec::new();
        match rd.read_until(b'\n', &mut l) {
            Ok(n) if n > 0 => Ok(String::from_utf8_lossy(&l).trim_end().to_string()),
            Ok(_) => Err(std::io::ErrorKind::UnexpectedEof),
            Err(e) => Err(e.kind()),
        }
    };
    let is_timeout = |k: std::io::ErrorKind| matches!(k, std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut);
    // A socket error before any key was answered is retried once on a new
    // connection (a cached one may have been closed by the target), unless
    // it was a timeout, as Redis does.
    let mut may_retry = true;
    let mut moved: Vec<&[u8]> = Vec::new();
    loop {
        let (stream, last_db) = match ctx.srv.migrate_cache.take(&cache_key) {
            Some(c) => c,
            None => {
                let addr = std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
                    .ok()
                    .and_then(|mut a| a.next())
                    .ok_or_else(connect_err)?;
                let s = std::net::TcpStream::connect_timeout(&addr, timeout).map_err(|e| {
                    if e.kind() == std::io::ErrorKind::ConnectionRefused {
                        write_err()
                    } else {
                        connect_err()
                    }
                })?;
                let _ = s.set_read_timeout(Some(timeout));
                let _ = s.set_write_timeout(Some(timeout));
                let _ = s.set_nodelay(true);
                (s, -1)
            }
        };
        let select = last_db != dbid;
        let mut req = auth_req.clone();
        if select {
            frame(&mut req, &[b"SELECT", dbid.to_string().as_bytes()]);
        }
        req.extend_from_slice(&restores);
        if let Err(e) = (&stream).write_all(&req) {
            if may_retry && !is_timeout(e.kind()) {
                may_retry = false;
                continue;
            }
            return Err(write_err());
        }
        let mut rd = std::io::BufReader::new(&stream);
        // A refused AUTH or SELECT fails every RESTORE behind it; a refused
        // RESTORE only its own key (the others still move).
        let mut target_error: Option<String> = None;
        let mut head = Ok(());
        for expect in [auth.is_some(), select] {
            if !expect {
                continue;
            }
            match line(&mut rd) {
                Ok(l) if l.starts_with('-') => {
                    target_error.get_or_insert(l);
                }
                Ok(_) => {}
                Err(k) => {
                    head = Err(k);
                    break;
                }
            }
        }
        if let Err(k) = head {
            if may_retry && !is_timeout(k) {
                may_retry = false;
                continue;
            }
            return Err(read_err());
        }
        let session_failed = target_error.is_some();
        let mut socket_error = None;
        for (j, (k, _, _)) in found.iter().enumerate() {
            let l = match line(&mut rd) {
                Ok(l) => l,
                Err(e) => {
                    socket_error = Some((j, e));
                    break;
                }
            };
            if l.starts_with('-') || session_failed {
                if l.starts_with('-') {
                    target_error.get_or_insert(l);
                }
            } else if !copy && ctx.delete(k)? {
                ctx.notify(notify::GENERIC, "del", k);
                moved.push(k);
            }
        }
        drop(rd);
        // Propagated as the DEL of the keys the target took (even when it
        // refused others), as Redis does.
        if !moved.is_empty() {
            let mut v: Vec<&[u8]> = vec![b"DEL"];
            v.extend_from_slice(&moved);
            ctx.rewrite_propagation(&v);
        }
        if let Some((j, e)) = socket_error {
            if target_error.is_none() && j == 0 && may_retry && !is_timeout(e) {
                may_retry = false;
                continue;
            }
        } else {
            // The connection stays for the next MIGRATE to this target
            // (its database unknown after an error).
            let db = if target_error.is_some() { -1 } else { dbid };
            ctx.srv.migrate_cache.put(cache_key.clone(), stream, db);
        }
        if let Some(e) = target_error {
            return Err(CmdError::err(format!("Target instance replied with error: {}", &e[1..])));
        }
        if socket_error.is_some() {
            return Err(read_err());
        }
        break;
    }
    ctx.out.ok();
    Ok(())
}

/// MIGRATE's connections to its targets, kept for 10 seconds after their
/// last use (at most 64; INFO migrate_cached_sockets).
#[derive(Default)]
pub struct MigrateCache {
    conns: parking_lot::Mutex<std::collections::HashMap<String, (std::net::TcpStream, i64, std::time::Instant)>>,
}

const MIGRATE_IDLE: std::time::Duration = std::time::Duration::from_secs(10);

impl MigrateCache {
    /// The connection to `target` and the database last selected on it.
    fn take(&self, target: &str) -> Option<(std::net::TcpStream, i64)> {
        let (s, db, used) = self.conns.lock().remove(target)?;
        (used.elapsed() < MIGRATE_IDLE).then_some((s, db))
    }

    fn put(&self, target: String, s: std::net::TcpStream, db: i64) {
        let mut c = self.conns.lock();
        if c.len() >= 64 {
            if let Some(k) = c.keys().next().cloned() {
                c.remove(&k);
            }
        }
        c.insert(target, (s, db, std::time::Instant::now()));
    }

    /// Connections in the cache (those idle too long are closed first).
    pub fn count(&self) -> usize {
        let mut c = self.conns.lock();
        c.retain(|_, (_, _, used)| used.elapsed() < MIGRATE_IDLE);
        c.len()
    }
}

/// The configuration a restored or loaded value is shaped by (the
/// `*-max-*` settings).
pub fn load_config(srv: &crate::server::Server) -> LoadConfig {
    let c = &srv.config;
    let n = |v: i64| v.max(0) as usize;
    LoadConfig {
        hash: types::hash::Limits {
            max_entries: n(crate::cfg_num!(c, "hash-max-listpack-entries")),
            max_value: n(crate::cfg_num!(c, "hash-max-listpack-value")),
        },
        zset: types::zset::Limits {
            max_entries: n(crate::cfg_num!(c, "zset-max-listpack-entries")),
            max_value: n(crate::cfg_num!(c, "zset-max-listpack-value")),
        },
        max_intset: n(crate::cfg_num!(c, "set-max-intset-entries")),
        list_fill: crate::cfg_num!(c, "list-max-listpack-size").clamp(i32::MIN as i64, i32::MAX as i64) as i32,
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
    let crc = !ctx.srv.skip_checksum.load(std::sync::atomic::Ordering::Relaxed);
    if rdb::unseal_checked(payload, crc).is_none() {
        return Err(CmdError::err("DUMP payload version or checksum are wrong"));
    }
    // The value is read from the whole payload, footer included, as Redis
    // reads it: a malformed value may run into the footer's bytes.
    let cfg = load_config(ctx.srv);
    let value = rdb::load(payload, &cfg).ok_or_else(|| {
        // Logged as Redis logs its sanitizer's refusals.
        tracing::warn!("RESTORE of key '{}': integrity check failed", String::from_utf8_lossy(key));
        CmdError::err("Bad data format")
    })?;

    let now = ctx.now_ms;
    let at = if ttl != 0 && !absttl { ttl.wrapping_add(now) } else { ttl };
    if at != 0 && at <= now {
        // Already expired: nothing is created; a replaced key is deleted.
        if replace && ctx.delete(key)? {
            ctx.notify(notify::GENERIC, "del", key);
            ctx.rewrite_propagation(&[b"DEL", key]);
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
    if at != 0 {
        ctx.ttl_set(key);
    }
    ctx.notify(notify::GENERIC, "restore", key);
    ctx.out.ok();
    // A relative TTL is propagated as the absolute time it made (ABSTTL
    // appended), as Redis does.
    if at != 0 && !absttl && ctx.propagating() {
        let when = super::prop::num(at);
        let mut v = args.all().to_vec();
        v[2] = &when;
        v.push(b"ABSTTL");
        ctx.rewrite_propagation(&v);
    }
    Ok(())
}
