//! DEBUG: the introspection and test hooks of Redis 7.0's DEBUG command that
//! have a real counterpart here.
//!
//! Digests (DIGEST, DIGEST-VALUE) are Redis's, bit for bit: a dataset built
//! by the same commands digests the same on both servers. Every digest is 20
//! bytes, built from two SHA-1 steps: *xor* (`d ^= sha1(data)`, order
//! independent, for the members of sets, hashes, sorted sets and for the
//! keys of a database) and *mix* (`d = sha1(d ^ sha1(data))`, order
//! dependent, for list elements, stream entries and the parts of one
//! element). A key's digest mixes its name, its type code (4 bytes big
//! endian), then its value, then xors the marker `!!expire!!` when it has a
//! TTL; the dataset digest, per non-empty database in index order, mixes the
//! index (4 bytes big endian) and xors every key's digest. Sorted set scores
//! enter as `%.17g` text of the score as Redis holds it (a listpack keeps an
//! integral score within +-2^62 as an integer, so -0 reads back as 0). Redis
//! 7.0 digests a stream by its entries only (IDs as `ms.seq`, then each field
//! and value): consumer groups, PELs and the stream's counters are not part
//! of it, and are not here either.
//!
//! Keyspace subcommands need every shard: DEBUG is bound with `lock_all`,
//! and DEBUG SLEEP gives the shards back before it waits (only the sleeping
//! connection waits, not the whole server as in Redis).
//!
//! Not implemented, and so answered with Redis's unknown-subcommand error:
//! what needs AOF or replication (LOADAOF, RESTART,
//! CRASH-AND-RECOVER, AOF-FLUSH-SLEEP,
//! REPLICATE, CONFIG-REWRITE-FORCE-ALL), cluster (CLUSTERLINK,
//! DROP-CLUSTER-PACKET-FILTER), crashes and leaks (SEGFAULT, PANIC, ASSERT,
//! OOM, LEAK), allocator and C-structure internals (MALLCTL, MALLCTL-STR,
//! STRUCTSIZE, SDSLEN, LISTPACK, HTSTATS, HTSTATS-KEY: our keyspace and
//! collections are not Redis's dicts, sds strings or listpacks, so their
//! statistics could not be real), CLIENT-EVICTION (Redis's bucket pools) and
//! REPLYBUFFER (Hematite's connections have no reply buffer that a cron
//! resizes or whose peak it resets).

use super::command::write_help;
use super::Cmd;
use crate::args::Args;
use crate::cmdspec::table as t;
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::storage::{Entry, Str, Value, NO_EXPIRE};
use sha1_smol::Sha1;
use std::sync::atomic::Ordering;

pub static COMMANDS: &[Cmd] = &[Cmd::new(&t::DEBUG, debug).lock_all()];

/// DEBUG subcommands that never look at the keyspace: they run without
/// taking its shards (so also while a load holds them, as Redis serves
/// DEBUG LOG during a load).
pub fn keyspace_free(sub: &[u8]) -> bool {
    [&b"log"[..], b"error", b"protocol", b"help", b"stringmatch-test", b"set-active-expire"]
        .iter()
        .any(|s| sub.eq_ignore_ascii_case(s))
}

/// The subcommands HELP lists (pairs of lines as Redis's help shows them).
const HELP: &[&str] = &[
    "AOF-FLUSH-SLEEP <microsec>",
    "    Sleeps this long before each write of the AOF (for testing).",
    "CHANGE-REPL-ID",
    "    Draws a new replication ID (INFO master_replid).",
    "DIGEST",
    "    Replies with a 40-digit hex digest of every database's contents.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Replies with the digest of each key's value (zeros for a missing key).",
    "ERROR <string>",
    "    Replies with <string> as an error line (for testing clients).",
    "LOG <message>",
    "    Writes <message> to the server's log.",
    "OBJECT <key>",
    "    Shows the internals of the value at <key>: encoding, serialized length, LRU.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Creates string keys <prefix>:0 .. <prefix>:<count-1> (prefix `key` by",
    "    default) holding value:<n>, cut or zero-padded to <size> bytes if given.",
    "    Existing keys are left as they are.",
    "PROTOCOL <type>",
    "    Replies with a value of the type: string, integer, double, bignum, null, array, set, map,",
    "    attrib, push, verbatim, true, false.",
    "LOADAOF",
    "    Flushes the AOF buffers on disk and reloads the AOF in memory.",
    "RELOAD [MERGE] [NOFLUSH] [NOSAVE]",
    "    Saves the RDB file, empties the keyspace and loads the file back. NOSAVE:",
    "    load the file as it is; NOFLUSH: keep the current keys (a key also in the",
    "    file is then an error, unless MERGE: the file's value wins).",
    "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
    "    Stops or restarts checking the CRC64 of RESTORE payloads and RDB files.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Stops or restarts the background removal of expired keys.",
    "SET-DISABLE-DENY-SCRIPTS <0|1>",
    "    Lets scripts call commands that are normally denied to them.",
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    List elements of <size> bytes or more become plain quicklist nodes (in DUMP",
    "    payloads and DEBUG OBJECT). At most 4gb; 0 restores the default of 1gb.",
    "SLEEP <seconds>",
    "    Holds this connection for the given (fractional) number of seconds.",
    "STRINGMATCH-TEST",
    "    Runs random patterns through the glob matcher.",
    "QUICKLIST <key> [<0|1>]",
    "    Writes the list's quicklist layout to the log (1: node by node).",
    "PAUSE-CRON <0|1>",
    "    Pauses or resumes the periodic jobs (active expiry, clients cron).",
];

/// DEBUG subcommand [arg ...]
/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: saves the RDB file, empties
/// the keyspace and loads the file back.
fn reload(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (mut merge, mut flush, mut save) = (false, true, true);
    while !args.is_empty() {
        let o = args.next_bytes()?;
        if o.eq_ignore_ascii_case(b"merge") {
            merge = true;
        } else if o.eq_ignore_ascii_case(b"noflush") {
            flush = false;
        } else if o.eq_ignore_ascii_case(b"nosave") {
            save = false;
        } else {
            return Err(CmdError::err("DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options."));
        }
    }
    let srv = ctx.srv;
    // The functions state is emptied and reloaded too. A function that
    // runs holds it and may be waiting for one of the shards this command
    // holds: then RELOAD gives up rather than wait.
    let Some(mut funcs) = srv.scripting.functions.try_lock() else {
        return Err(CmdError::msg(
            "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.",
        ));
    };
    if save {
        srv.persist.cancel_bg();
        crate::persist::save_locked(srv, &mut ctx.locked).map_err(|_| CmdError::msg("ERR"))?;
    }
    let name = srv.config.get_text("dbfilename").unwrap_or_default();
    let load_err = || CmdError::err("Error trying to load the RDB dump");
    let data = std::fs::read(&name).map_err(|_| load_err())?;
    // Other clients get LOADING meanwhile, as from Redis.
    let _loading = srv.loading.begin(srv, data.len() as u64);
    if flush {
        let dirty = srv.dirty.load(Ordering::Relaxed);
        super::server::clear_db(ctx, None, false);
        crate::scripting::functions::clear_all(srv, &mut funcs);
        srv.dirty.store(dirty, Ordering::Relaxed);
    }
    crate::persist::load_locked(srv, &mut ctx.locked, &mut funcs, &data, merge).map_err(|e| {
        tracing::warn!("{e}");
        load_err()
    })?;
    tracing::warn!("DB reloaded by DEBUG RELOAD");
    ctx.out.ok();
    Ok(())
}

fn debug(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let allowed = match ctx.srv.config.get_text("enable-debug-command").as_deref() {
        Some("yes") => true,
        Some("local") => super::server::is_local(&ctx.client.info.addr),
        _ => false,
    };
    if !allowed {
        return Err(CmdError::err(
            "DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.",
        ));
    }
    // DEBUG changes (RELOAD, LOADAOF, POPULATE ...) are never propagated.
    ctx.prevent_propagation();
    let argv = args.all();
    let sub = args.next_bytes()?;
    // Redis's argc: the command name and the subcommand count.
    let argc = args.remaining() + 2;
    let unknown = || CmdError::subcommand_syntax(argv);
    match sub.to_ascii_lowercase().as_slice() {
        b"help" if argc == 2 => {
            write_help(ctx.out, "DEBUG", HELP);
            Ok(())
        }
        b"log" if argc == 3 => {
            let msg = args.next_bytes()?;
            // A C string: the message ends at its first NUL.
            let msg = &msg[..msg.iter().position(|&b| b == 0).unwrap_or(msg.len())];
            tracing::warn!("DEBUG LOG: {}", String::from_utf8_lossy(msg));
            ctx.out.ok();
            Ok(())
        }
        b"object" if argc == 3 => debug_object(ctx, args.next_bytes()?),
        b"reload" => reload(ctx, args),
        b"loadaof" => {
            crate::aof::debug_loadaof(ctx).map_err(|e| {
                tracing::warn!("{e}");
                CmdError::err("Error loading the AOF")
            })?;
            tracing::warn!("Append Only File loaded by DEBUG LOADAOF");
            ctx.out.ok();
            Ok(())
        }
        b"quicklist" if argc == 3 || argc == 4 => {
            let key = args.next_bytes()?;
            let full = if argc == 4 { c_atoi(args.next_bytes()?) } else { 0 };
            debug_quicklist(ctx, key, full != 0)
        }
        b"populate" if (3..=5).contains(&argc) => populate(ctx, args),
        b"digest" if argc == 2 => {
            let d = dataset_digest(ctx);
            ctx.out.simple(hex(&d));
            Ok(())
        }
        b"digest-value" => {
            let keys = args.take_rest();
            let dbi = ctx.client.db;
            ctx.out.array(keys.len());
            for key in keys {
                // No expiry check: a logically expired key still digests.
                let mut d = [0u8; 20];
                if let Some(e) = ctx.locked.shard(key).and_then(|s| s.dbs[dbi].get(key)) {
                    value_digest(&mut d, &e.value, e.expire_at != NO_EXPIRE);
                }
                ctx.out.simple(hex(&d));
            }
            Ok(())
        }
        b"protocol" if argc == 3 => debug_protocol(ctx, args.next_bytes()?),
        b"sleep" if argc == 3 => {
            let secs = c_strtod(args.next_bytes()?);
            if !ctx.nested {
                // Nothing to hold while waiting (see the module header).
                ctx.locked = ctx.srv.keyspace.lock_none();
            }
            // Bounded so a typo cannot hold a worker thread for days.
            let d = std::time::Duration::from_secs_f64(secs.clamp(0.0, 3600.0));
            std::thread::sleep(d);
            ctx.out.ok();
            Ok(())
        }
        b"aof-flush-sleep" if argc == 3 => {
            // atoi: a negative or non-number is 0 (no sleep).
            ctx.srv.aof.set_flush_sleep(c_atoi(args.next_bytes()?).max(0) as u64);
            ctx.out.ok();
            Ok(())
        }
        b"set-skip-checksum-validation" | b"set-active-expire" if argc == 3 => {
            let flag = if sub.eq_ignore_ascii_case(b"set-active-expire") {
                &ctx.srv.active_expire
            } else {
                &ctx.srv.skip_checksum
            };
            flag.store(c_atoi(args.next_bytes()?) != 0, Ordering::Relaxed);
            ctx.out.ok();
            Ok(())
        }
        b"quicklist-packed-threshold" if argc == 3 => {
            let arg = String::from_utf8_lossy(args.next_bytes()?).into_owned();
            let th = crate::config::parse_memory(&arg).and_then(|sz| crate::rdb::packed_threshold(sz as u64));
            let Some(th) = th else {
                return Err(CmdError::err("argument must be a memory value bigger than 1 and smaller than 4gb"));
            };
            ctx.srv.packed_threshold.store(th, Ordering::Relaxed);
            ctx.out.ok();
            Ok(())
        }
        b"error" if argc == 3 => {
            // The message as the whole error line, newlines made spaces.
            let msg: Vec<u8> =
                args.next_bytes()?.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }).collect();
            // Sent as is, as Redis's addReplySds: not counted as an error reply.
            ctx.out.raw(b"-");
            ctx.out.raw(&msg);
            ctx.out.raw(b"\r\n");
            Ok(())
        }
        b"change-repl-id" if argc == 2 => {
            tracing::warn!("Changing replication IDs after receiving DEBUG change-repl-id");
            *ctx.srv.replid.lock() = random_hex40();
            ctx.out.ok();
            Ok(())
        }
        b"stringmatch-test" if argc == 2 => {
            stringmatch_fuzz();
            ctx.out.simple("Apparently Redis did not crash: test passed");
            Ok(())
        }
        b"set-disable-deny-scripts" if argc == 3 => {
            let v = c_atoi(args.next_bytes()?);
            ctx.srv.deny_scripts_disabled.store(v != 0, Ordering::Relaxed);
            ctx.out.ok();
            Ok(())
        }
        b"pause-cron" if argc == 3 => {
            let v = c_atoi(args.next_bytes()?);
            ctx.srv.cron_paused.store(v != 0, Ordering::Relaxed);
            ctx.out.ok();
            Ok(())
        }
        _ => Err(unknown()),
    }
}

/// 40 random hex digits (a replication ID).
fn random_hex40() -> String {
    (0..40).map(|_| char::from_digit(rand::random::<u32>() % 16, 16).expect("a hex digit")).collect()
}

// ---------------------------------------------------------------- digests

/// `d ^= sha1(data)`: adds an element whose order does not matter.
pub fn xor_digest(d: &mut [u8; 20], data: &[u8]) {
    let h = Sha1::from(data).digest().bytes();
    d.iter_mut().zip(h).for_each(|(a, b)| *a ^= b);
}

/// `d = sha1(d ^ sha1(data))`: adds an element after those already in.
pub fn mix_digest(d: &mut [u8; 20], data: &[u8]) {
    xor_digest(d, data);
    *d = Sha1::from(&d[..]).digest().bytes();
}

/// Redis's object type codes (OBJ_STRING ... OBJ_STREAM).
fn type_code(v: &Value) -> u32 {
    match v {
        Value::Str(_) => 0,
        Value::List(_) => 1,
        Value::Set(_) => 2,
        Value::ZSet(_) => 3,
        Value::Hash(_) => 4,
        Value::Stream(_) => 6,
    }
}

/// A sorted set score as text: what Redis's `%.17g` prints for the score it
/// holds (a listpack reads an integral score back from an integer).
fn score_text(s: f64, pack: bool) -> String {
    let bound = (i64::MAX / 2) as f64;
    let held = if pack && (-bound..=bound).contains(&s) && (s as i64) as f64 == s { (s as i64) as f64 } else { s };
    resp::fmt_g17(held)
}

/// Adds one value (type, contents, TTL marker) to `d` (Redis's
/// xorObjectDigest).
pub fn value_digest(d: &mut [u8; 20], v: &Value, has_expire: bool) {
    mix_digest(d, &type_code(v).to_be_bytes());
    let mut buf = itoa::Buffer::new();
    match v {
        Value::Str(s) => mix_digest(d, s.as_bytes(&mut buf)),
        Value::List(l) => {
            let mut it = l.iter();
            while let Some(e) = it.next() {
                mix_digest(d, e);
            }
        }
        Value::Set(s) => {
            for m in s.iter() {
                xor_digest(d, m.as_bytes(&mut buf));
            }
        }
        Value::ZSet(z) => {
            let pack = z.is_pack();
            for (m, s) in z.iter() {
                let mut e = [0u8; 20];
                mix_digest(&mut e, m);
                mix_digest(&mut e, score_text(s, pack).as_bytes());
                xor_digest(d, &e);
            }
        }
        Value::Hash(h) => {
            let mut c = h.cursor();
            while let Some((f, v)) = c.next_pair() {
                let mut e = [0u8; 20];
                mix_digest(&mut e, f);
                mix_digest(&mut e, v);
                xor_digest(d, &e);
            }
        }
        Value::Stream(s) => {
            use types::stream::StreamId;
            let max = StreamId { ms: u64::MAX, seq: u64::MAX };
            s.range(StreamId { ms: 0, seq: 0 }, max, false, |e| {
                mix_digest(d, format!("{}.{}", e.id.ms, e.id.seq).as_bytes());
                for (f, v) in &e.fields {
                    mix_digest(d, f);
                    mix_digest(d, v);
                }
                true
            });
        }
    }
    if has_expire {
        xor_digest(d, b"!!expire!!");
    }
}

/// The digest of one key and its value.
pub fn key_digest(key: &[u8], e: &Entry) -> [u8; 20] {
    let mut d = [0u8; 20];
    mix_digest(&mut d, key);
    value_digest(&mut d, &e.value, e.expire_at != NO_EXPIRE);
    d
}

/// The digest of every database (Redis's computeDatasetDigest); 20 zero
/// bytes for an empty dataset. Expired keys not yet removed count, as in
/// Redis.
fn dataset_digest(ctx: &mut Ctx<'_>) -> [u8; 20] {
    let mut fin = [0u8; 20];
    let ndb = ctx.srv.keyspace.ndb();
    for dbi in 0..ndb {
        if ctx.locked.shards_mut().all(|s| s.dbs[dbi].is_empty()) {
            continue;
        }
        mix_digest(&mut fin, &(dbi as u32).to_be_bytes());
        for shard in ctx.locked.shards_mut() {
            for (k, e) in shard.dbs[dbi].map.iter() {
                xor_digest(&mut fin, &key_digest(k, e));
            }
        }
    }
    fin
}

fn hex(d: &[u8; 20]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------- OBJECT, QUICKLIST

/// DEBUG OBJECT key: Redis's one-line summary. The address is the value's
/// own; refcount, encoding and LRU are what OBJECT reports; the serialized
/// length is the RDB object's (the DUMP payload less its type byte and its
/// 10-byte trailer); lists add their quicklist shape as Redis would hold it
/// (nodes cut as RDB writes them, see `rdb::quicklist_nodes`).
fn debug_object(ctx: &mut Ctx<'_>, key: &[u8]) -> CmdResult {
    let dbi = ctx.client.db;
    let clock = ctx.srv.lru_clock_at(ctx.now_ms);
    let shared = super::generic::sharing_allowed(ctx);
    let compress = crate::cfg_num!(ctx.srv.config, "list-compress-depth") != 0;
    let threshold = ctx.srv.packed_threshold.load(Ordering::Relaxed);
    // Found as stored, a logically expired key too (Redis reads its dict
    // directly, with no expiry check).
    let Some(e) = ctx.locked.shard(key).and_then(|s| s.dbs[dbi].get(key)) else {
        return Err(CmdError::NoSuchKey);
    };
    let v = &e.value;
    let refcount = if shared && super::generic::shared_integer(v) { i32::MAX } else { 1 };
    let serialized = crate::rdb::dump_with(v, threshold).len() - 11;
    let mut extra = String::new();
    if let Value::List(l) = v {
        let nodes = crate::rdb::quicklist_nodes(l, threshold);
        let n = nodes.len().max(1);
        let size: usize = nodes.iter().map(|n| n.data.len()).sum();
        extra = format!(
            " ql_nodes:{} ql_avg_node:{:.2} ql_listpack_max:{} ql_compressed:{} ql_uncompressed_size:{}",
            nodes.len(),
            l.len() as f64 / n as f64,
            l.fill(),
            compress as u8,
            size
        );
    }
    let line = format!(
        "Value at:{:p} refcount:{} encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}{}",
        v as *const Value,
        refcount,
        v.encoding(),
        serialized,
        e.lru & 0xFF_FFFF,
        clock.saturating_sub(e.lru),
        extra
    );
    ctx.out.simple(line);
    Ok(())
}

/// DEBUG QUICKLIST key [0|1]: the list's quicklist shape, written to the
/// log (Redis prints it on standard output).
fn debug_quicklist(ctx: &mut Ctx<'_>, key: &[u8], full: bool) -> CmdResult {
    let threshold = ctx.srv.packed_threshold.load(Ordering::Relaxed);
    let Some(e) = ctx.peek(key)? else {
        return Err(CmdError::NoSuchKey);
    };
    let Value::List(l) = &e.value else {
        return Err(CmdError::err("Not a quicklist encoded object."));
    };
    let nodes = crate::rdb::quicklist_nodes(l, threshold);
    tracing::warn!("{{quicklist}} count: {} len: {} fill: {}", l.len(), nodes.len(), l.fill());
    if full {
        for (i, n) in nodes.iter().enumerate() {
            tracing::warn!(
                "{{quicklist node {i}}} container: {} size: {}",
                if n.plain { "PLAIN" } else { "PACKED" },
                n.data.len()
            );
        }
    }
    ctx.out.simple("Quicklist structure printed on stdout");
    Ok(())
}

// ---------------------------------------------------------------- POPULATE

/// Redis formats POPULATE's names in a 128-byte buffer: longer ones are cut.
const NAME_MAX: usize = 127;

/// DEBUG POPULATE count [prefix] [size]: string keys `prefix:N` (default
/// prefix `key`) holding `value:N`, cut or zero-padded to `size` bytes when
/// a size is given; existing keys are left alone.
fn populate(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let count = positive(args.next_bytes()?)?;
    let prefix = match args.next_bytes() {
        Ok(p) => &p[..p.iter().position(|&b| b == 0).unwrap_or(p.len())],
        Err(_) => b"key",
    };
    let size = match args.next_bytes() {
        Ok(s) => positive(s)? as u64,
        Err(_) => 0,
    };
    // Redis would try to allocate any size (and abort if it cannot); a
    // value is never longer than a string may be here.
    if size > crate::cfg_num!(ctx.srv.config, "proto-max-bulk-len") as u64 {
        return Err(CmdError::StringTooLong);
    }
    let size = size as usize;
    let mut key = Vec::with_capacity(prefix.len().min(NAME_MAX) + 21);
    let mut buf = itoa::Buffer::new();
    for j in 0..count {
        key.clear();
        key.extend_from_slice(prefix);
        key.push(b':');
        key.extend_from_slice(buf.format(j).as_bytes());
        key.truncate(NAME_MAX);
        if ctx.lookup_write(&key)?.is_some() {
            continue;
        }
        let mut val = b"value:".to_vec();
        val.extend_from_slice(buf.format(j).as_bytes());
        if size != 0 {
            val.resize(size, 0);
        }
        let s = if val.len() <= crate::storage::value::EMBSTR_MAX { Str::Emb(val[..].into()) } else { Str::raw(val) };
        ctx.set_value(&key, Value::Str(s))?;
        ctx.modified(&key);
    }
    ctx.out.ok();
    Ok(())
}

/// Redis's getPositiveLongFromObjectOrReply (one message for both a
/// non-number and a negative one).
fn positive(b: &[u8]) -> Result<i64, CmdError> {
    types::num::parse_i64(b).filter(|&n| n >= 0).ok_or_else(|| CmdError::err("value is out of range, must be positive"))
}

// ---------------------------------------------------------------- STRINGMATCH-TEST

/// Redis's stringmatchlen fuzz test, on our matcher: random patterns
/// against random strings must neither panic nor loop.
fn stringmatch_fuzz() {
    const ALPHABET: &[u8] = b"abc?*[]^-\\";
    for _ in 0..1000 {
        let pat: Vec<u8> =
            (0..rand::random::<usize>() % 50).map(|_| ALPHABET[rand::random::<usize>() % ALPHABET.len()]).collect();
        let s: Vec<u8> =
            (0..rand::random::<usize>() % 50).map(|_| ALPHABET[rand::random::<usize>() % ALPHABET.len()]).collect();
        crate::glob::matches(&pat, &s, false);
        crate::glob::matches(&pat, &s, true);
    }
}

// ---------------------------------------------------------------- PROTOCOL

/// C's `atoi`: the leading integer, 0 if none (DEBUG is that lenient).
fn c_atoi(b: &[u8]) -> i64 {
    let s = String::from_utf8_lossy(b);
    let t = s.trim_start();
    let end = t
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && (c == '-' || c == '+'))))
        .map_or(t.len(), |(i, _)| i);
    t[..end].parse().unwrap_or(0)
}

/// C's `strtod`: the longest leading number, 0 if none.
fn c_strtod(b: &[u8]) -> f64 {
    let s = String::from_utf8_lossy(b);
    let t = s.trim_start();
    (1..=t.len())
        .rev()
        .filter(|&i| t.is_char_boundary(i))
        .find_map(|i| t[..i].parse::<f64>().ok())
        .filter(|d| d.is_finite())
        .unwrap_or(0.0)
}

/// DEBUG PROTOCOL <type>: one value of each RESP type, as Redis sends it.
fn debug_protocol(ctx: &mut Ctx<'_>, kind: &[u8]) -> CmdResult {
    let out = &mut *ctx.out;
    match kind.to_ascii_lowercase().as_slice() {
        b"string" => out.bulk("Hello World"),
        b"integer" => out.int(12345),
        // The value Redis sends (close to pi, not pi).
        #[allow(clippy::approx_constant)]
        b"double" => out.double(3.141),
        b"bignum" => out.bignum("1234567999999999999999999999999999999"),
        b"null" => out.null(),
        b"array" => {
            out.array(3);
            (0..3).for_each(|i| out.int(i));
        }
        b"set" => {
            out.set(3);
            (0..3).for_each(|i| out.int(i));
        }
        b"map" => {
            out.map(3);
            for i in 0..3 {
                out.int(i);
                out.bool(i == 1);
            }
        }
        b"attrib" => {
            if out.resp3() {
                out.raw(b"|1\r\n");
                out.bulk("key-popularity");
                out.array(2);
                out.bulk("key:123");
                out.int(90);
            }
            out.bulk("Some real reply following the attribute");
        }
        b"push" => {
            if !out.resp3() {
                return Err(CmdError::err("RESP2 is not supported by this command"));
            }
            out.push(2);
            out.bulk("server-cpu-usage");
            out.int(42);
            out.bulk("Some real reply following the push reply");
        }
        b"true" => out.bool(true),
        b"false" => out.bool(false),
        b"verbatim" => out.verbatim("txt", "This is a verbatim\nstring"),
        _ => {
            return Err(CmdError::err(
                "Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false",
            ))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex_of(d: [u8; 20]) -> String {
        hex(&d)
    }

    #[test]
    fn xor_is_sha1_and_order_free() {
        let mut d = [0u8; 20];
        xor_digest(&mut d, b"abc");
        assert_eq!(hex_of(d), "a9993e364706816aba3e25717850c26c9cd0d89d");
        let (mut ab, mut ba) = ([0u8; 20], [0u8; 20]);
        xor_digest(&mut ab, b"a");
        xor_digest(&mut ab, b"b");
        xor_digest(&mut ba, b"b");
        xor_digest(&mut ba, b"a");
        assert_eq!(ab, ba);
        // The same element twice cancels out.
        xor_digest(&mut ab, b"a");
        xor_digest(&mut ab, b"a");
        assert_eq!(ab, ba);
    }

    #[test]
    fn mix_is_ordered_and_chained() {
        let mut d = [0u8; 20];
        mix_digest(&mut d, b"abc");
        // sha1(0 ^ sha1("abc")) = sha1(sha1("abc")).
        let inner = Sha1::from(b"abc").digest().bytes();
        assert_eq!(d, Sha1::from(&inner[..]).digest().bytes());
        let (mut ab, mut ba) = ([0u8; 20], [0u8; 20]);
        mix_digest(&mut ab, b"a");
        mix_digest(&mut ab, b"b");
        mix_digest(&mut ba, b"b");
        mix_digest(&mut ba, b"a");
        assert_ne!(ab, ba);
        // "fo" + "obar" differs from "foo" + "bar".
        let (mut x, mut y) = ([0u8; 20], [0u8; 20]);
        mix_digest(&mut x, b"fo");
        mix_digest(&mut x, b"obar");
        mix_digest(&mut y, b"foo");
        mix_digest(&mut y, b"bar");
        assert_ne!(x, y);
    }

    #[test]
    fn values_digest_as_redis() {
        // Reference digests from redis-server 7.0.15 (DEBUG DIGEST-VALUE).
        let mut d = [0u8; 20];
        value_digest(&mut d, &Value::Str(Str::from_bytes(b"hello")), false);
        assert_eq!(hex_of(d), "36b23a1456b2dce2c3ed252c456761301dba8060");
        let mut l = types::list::List::new(-2);
        for e in [&b"a"[..], b"b", b"c"] {
            l.push_back(e);
        }
        let mut d = [0u8; 20];
        value_digest(&mut d, &Value::List(Box::new(l)), false);
        assert_eq!(hex_of(d), "8bf72d812571eea9b927f3c11beb0c4165a6ff89");
        // The same string in any encoding digests the same; a TTL changes it.
        let (mut a, mut b) = ([0u8; 20], [0u8; 20]);
        value_digest(&mut a, &Value::Str(Str::Int(12)), false);
        value_digest(&mut b, &Value::Str(Str::raw(b"12".to_vec())), false);
        assert_eq!(a, b);
        value_digest(&mut b, &Value::Str(Str::Emb(b"x"[..].into())), true);
        assert_ne!(a, b);
    }

    #[test]
    fn key_digest_as_redis() {
        // DEBUG DIGEST of a dataset holding only `s` = "hello" in db 0.
        let mut fin = [0u8; 20];
        mix_digest(&mut fin, &0u32.to_be_bytes());
        let e = Entry::new(Value::Str(Str::from_bytes(b"hello")), 0);
        xor_digest(&mut fin, &key_digest(b"s", &e));
        assert_eq!(hex_of(fin), "a500c6b54937da22f2ac1167da1da852479c7339");
    }

    #[test]
    fn scores_as_held() {
        assert_eq!(score_text(-0.0, true), "0");
        assert_eq!(score_text(-0.0, false), "-0");
        assert_eq!(score_text(1e17, true), "1e+17");
        assert_eq!(score_text(0.1, true), "0.10000000000000001");
        assert_eq!(score_text(f64::INFINITY, true), "inf");
        assert_eq!(score_text(2.5, false), "2.5");
    }

    #[test]
    fn lenient_numbers() {
        assert_eq!(c_atoi(b"12abc"), 12);
        assert_eq!(c_atoi(b"abc"), 0);
        assert_eq!(c_atoi(b"-3"), -3);
        assert_eq!(c_strtod(b"0.5s"), 0.5);
        assert_eq!(c_strtod(b"x"), 0.0);
        assert_eq!(positive(b"5"), Ok(5));
        assert!(positive(b"-1").is_err() && positive(b"x").is_err());
    }
}
