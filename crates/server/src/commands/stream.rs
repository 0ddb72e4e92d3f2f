//! Stream commands: XADD, XLEN, XRANGE, XREVRANGE, XDEL, XTRIM, XSETID,
//! XREAD, XREADGROUP, XGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM, XINFO.
//! The data structure lives in `types::stream`; this file parses arguments,
//! applies Redis's rules and writes replies.

use super::Cmd;
use crate::args::{is, parse_i64, Args};
use crate::blocking::{self, BlockRequest};
use crate::cmdspec::table as t;
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::notify;
use crate::storage::{Entry as KeyEntry, Key, Value};
use resp::Out;
use types::stream::{Entry, Group, NodeLimits, Stream, StreamId, Trim};

pub static COMMANDS: &[Cmd] = &[
    Cmd::new(&t::XADD, xadd),
    Cmd::new(&t::XLEN, xlen),
    Cmd::new(&t::XRANGE, xrange),
    Cmd::new(&t::XREVRANGE, xrevrange),
    Cmd::new(&t::XDEL, xdel),
    Cmd::new(&t::XTRIM, xtrim),
    Cmd::new(&t::XSETID, xsetid),
    Cmd::new(&t::XREAD, xread),
    Cmd::new(&t::XREADGROUP, xreadgroup),
    Cmd::new(&t::XGROUP_CREATE, xgroup),
    Cmd::new(&t::XGROUP_SETID, xgroup),
    Cmd::new(&t::XGROUP_DESTROY, xgroup),
    Cmd::new(&t::XGROUP_CREATECONSUMER, xgroup),
    Cmd::new(&t::XGROUP_DELCONSUMER, xgroup),
    Cmd::new(&t::XGROUP_HELP, xgroup_help),
    Cmd::new(&t::XACK, xack),
    Cmd::new(&t::XPENDING, xpending),
    Cmd::new(&t::XCLAIM, xclaim),
    Cmd::new(&t::XAUTOCLAIM, xautoclaim),
    Cmd::new(&t::XINFO_STREAM, xinfo_stream),
    Cmd::new(&t::XINFO_GROUPS, xinfo_groups),
    Cmd::new(&t::XINFO_CONSUMERS, xinfo_consumers),
    Cmd::new(&t::XINFO_HELP, xinfo_help),
];

fn invalid_id() -> CmdError {
    CmdError::err("Invalid stream ID specified as stream command argument")
}

/// An ID where `-` and `+` mean the smallest and greatest.
fn parse_id(b: &[u8], missing_seq: u64) -> Result<StreamId, CmdError> {
    match b {
        b"-" => Ok(StreamId::ZERO),
        b"+" => Ok(StreamId::MAX),
        _ => StreamId::parse(b, missing_seq, false).map(|(id, _)| id).ok_or_else(invalid_id),
    }
}

/// An ID where `-` and `+` are not accepted.
fn parse_strict_id(b: &[u8]) -> Result<StreamId, CmdError> {
    StreamId::parse(b, 0, false).map(|(id, _)| id).ok_or_else(invalid_id)
}

/// A range bound: `(id` excludes it.
fn parse_bound(b: &[u8], missing_seq: u64, start: bool) -> Result<StreamId, CmdError> {
    if b.len() > 1 && b[0] == b'(' {
        let id = StreamId::parse(&b[1..], missing_seq, false).map(|(id, _)| id).ok_or_else(invalid_id)?;
        if start {
            id.incr().ok_or_else(|| CmdError::err("invalid start ID for the interval"))
        } else {
            id.decr().ok_or_else(|| CmdError::err("invalid end ID for the interval"))
        }
    } else {
        parse_id(b, missing_seq)
    }
}

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Redis's addReplySubcommandSyntaxError.
fn subcommand_syntax(args: &Args<'_>) -> CmdError {
    let all = args.all();
    CmdError::err(format!(
        "unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        show(&all[1][..all[1].len().min(128)]),
        show(all[0]).to_uppercase()
    ))
}

fn as_stream(e: Option<&mut KeyEntry>) -> Result<Option<&mut Stream>, CmdError> {
    match e {
        None => Ok(None),
        Some(e) => match &mut e.value {
            Value::Stream(s) => Ok(Some(s)),
            #[allow(unreachable_patterns)]
            _ => Err(CmdError::WrongType),
        },
    }
}

fn read_stream<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Result<Option<&'c mut Stream>, CmdError> {
    as_stream(ctx.lookup_read(key)?)
}

fn write_stream<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Result<Option<&'c mut Stream>, CmdError> {
    as_stream(ctx.lookup_write(key)?)
}

fn write_id(o: &mut Out, id: StreamId) {
    o.bulk(id.to_bytes());
}

fn write_entry(o: &mut Out, e: &Entry<'_>) {
    o.array(2);
    write_id(o, e.id);
    o.array(e.fields.len() * 2);
    for (f, v) in &e.fields {
        o.bulk(f);
        o.bulk(v);
    }
}

/// Writes the live entries in [start, end] (at most `limit`) as an array;
/// returns how many.
fn write_range(out: &mut Out, s: &Stream, start: StreamId, end: StreamId, rev: bool, limit: usize) -> usize {
    let at = out.len();
    let mut n = 0usize;
    s.range(start, end, rev, |e| {
        write_entry(out, &e);
        n += 1;
        n < limit
    });
    insert_array_header(out, at, n);
    n
}

/// Puts an array header of `n` items before what was written since `at`.
fn insert_array_header(out: &mut Out, at: usize, n: usize) {
    let mut h = Out::new(out.proto);
    h.array(n);
    out.buf.splice(at..at, h.buf);
}

fn node_limits(ctx: &Ctx<'_>) -> NodeLimits {
    NodeLimits {
        max_bytes: crate::cfg_num!(ctx.srv.config, "stream-node-max-bytes").max(0) as usize,
        max_entries: crate::cfg_num!(ctx.srv.config, "stream-node-max-entries").max(0) as usize,
    }
}

/// Trimming options shared by XADD and XTRIM.
#[derive(Default)]
struct TrimArgs {
    how: Option<Trim>,
    approx: bool,
    limit: u64,
    nomkstream: bool,
    /// XADD's explicit ID and whether its sequence was given.
    id: Option<(StreamId, bool)>,
    /// Where the threshold is in argv (after `~` or `=` if given).
    threshold_at: usize,
}

/// Redis's streamParseAddOrTrimArgsOrReply; returns the options and the
/// position of the ID (XADD).
fn parse_trim(ctx: &Ctx<'_>, argv: &[&[u8]], xadd: bool) -> Result<(TrimArgs, usize), CmdError> {
    let mut a = TrimArgs::default();
    let mut limit_given = false;
    let mut limit: i64 = 0;
    let mut i = 2;
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        let opt = argv[i];
        if xadd && opt == b"*" {
            break;
        } else if (is(opt, "maxlen") || is(opt, "minid")) && more > 0 {
            if a.how.is_some() {
                return Err(CmdError::err(
                    "syntax error, MAXLEN and MINID options at the same time are not compatible",
                ));
            }
            a.approx = false;
            let next = argv[i + 1];
            if more >= 2 && (next == b"~" || next == b"=") {
                a.approx = next == b"~";
                i += 1;
            }
            let v = argv[i + 1];
            a.threshold_at = i + 1;
            if is(opt, "maxlen") {
                let n = parse_i64(v)?;
                if n < 0 {
                    return Err(CmdError::err("The MAXLEN argument must be >= 0."));
                }
                a.how = Some(Trim::MaxLen(n as u64));
            } else {
                a.how = Some(Trim::MinId(parse_strict_id(v)?));
            }
            i += 1;
        } else if is(opt, "limit") && more > 0 {
            limit = parse_i64(argv[i + 1])?;
            if limit < 0 {
                return Err(CmdError::err("The LIMIT argument must be >= 0."));
            }
            limit_given = true;
            i += 1;
        } else if xadd && is(opt, "nomkstream") {
            a.nomkstream = true;
        } else if xadd {
            let (id, seq_given) = StreamId::parse(opt, 0, true).ok_or_else(invalid_id)?;
            a.id = Some((id, seq_given));
            break;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if limit != 0 && a.how.is_none() {
        return Err(CmdError::err("syntax error, LIMIT cannot be used without specifying a trimming strategy"));
    }
    if !xadd && a.how.is_none() {
        return Err(CmdError::err("syntax error, XTRIM must be called with a trimming strategy"));
    }
    if limit_given {
        if !a.approx {
            return Err(CmdError::err("syntax error, LIMIT cannot be used without the special ~ option"));
        }
        a.limit = limit as u64;
    } else if a.approx {
        let l = 100 * crate::cfg_num!(ctx.srv.config, "stream-node-max-entries");
        a.limit = if l <= 0 { 10000 } else { l.min(1_000_000) } as u64;
    }
    Ok((a, i))
}

/// The propagated form of XADD and XTRIM (Redis's streamRewriteTrimArgument
/// and the XADD ID rewrite): an approximate trim (`~`) becomes an exact one
/// (`=`) to the length, or first ID, the stream has now, so that a replay
/// trims the same entries; XADD's ID becomes the one it made when `*` or
/// `ms-*` was given (`id_at`).
fn rewrite_add_or_trim(
    ctx: &mut Ctx<'_>,
    argv: &[&[u8]],
    opts: &TrimArgs,
    s_len: u64,
    first: StreamId,
    id: Option<(usize, StreamId)>,
) {
    if !ctx.propagating() {
        return;
    }
    let mut v: Vec<Vec<u8>> = argv.iter().map(|a| a.to_vec()).collect();
    if opts.approx {
        if let Some(how) = opts.how {
            v[opts.threshold_at - 1] = b"=".to_vec();
            v[opts.threshold_at] = match how {
                Trim::MaxLen(_) => super::prop::num(s_len),
                Trim::MinId(_) => first.to_bytes(),
            };
        }
    }
    if let Some((at, id)) = id {
        v[at] = id.to_bytes();
    }
    ctx.rewrite_propagation(&v);
}

/// XADD key [NOMKSTREAM] [<MAXLEN | MINID> [= | ~] threshold [LIMIT count]]
/// <* | id> field value [field value ...]
fn xadd(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let argv = args.all();
    let key = argv[1];
    let (opts, idpos) = parse_trim(ctx, argv, true)?;
    let fpos = idpos + 1;
    if argv.len() < fpos + 2 || (argv.len() - fpos) % 2 == 1 {
        return Err(CmdError::WrongArity("xadd".into()));
    }
    if let Some((id, true)) = opts.id {
        if id.is_zero() {
            return Err(CmdError::err("The ID specified in XADD must be greater than 0-0"));
        }
    }
    let limits = node_limits(ctx);
    let now = ctx.now_ms.max(0) as u64;
    let on = ctx.propagating();
    if write_stream(ctx, key)?.is_none() {
        if opts.nomkstream {
            ctx.out.null();
            return Ok(());
        }
        // Created before the ID is checked, as Redis does.
        ctx.set_value(key, Value::Stream(Box::default()))?;
    }
    let s = write_stream(ctx, key)?.expect("just created");
    if s.last_id == StreamId::MAX {
        return Err(CmdError::err("The stream has exhausted the last possible ID, unable to add more items"));
    }
    let too_small = || CmdError::err("The ID specified in XADD is equal or smaller than the target stream top item");
    let id = match opts.id {
        Some((id, true)) => id,
        Some((id, false)) if id.ms == s.last_id.ms => {
            if s.last_id.seq == u64::MAX {
                return Err(too_small());
            }
            StreamId::new(id.ms, s.last_id.seq + 1)
        }
        Some((id, false)) => id,
        None if now > s.last_id.ms => StreamId::new(now, 0),
        None => s.last_id.incr().ok_or_else(too_small)?,
    };
    if id <= s.last_id {
        return Err(too_small());
    }
    let fields: Vec<(&[u8], &[u8])> = argv[fpos..].chunks(2).map(|c| (c[0], c[1])).collect();
    if fields.iter().map(|(f, v)| f.len() + v.len()).sum::<usize>() > 1 << 30 {
        return Err(CmdError::err("Elements are too large to be stored"));
    }
    s.append(id, &fields, limits);
    let trimmed = match opts.how {
        Some(how) => s.trim(how, opts.approx, opts.limit),
        None => 0,
    };
    let made_id = !matches!(opts.id, Some((_, true)));
    let propagating = (opts.approx || made_id) && on;
    let first = if propagating && opts.approx { s.edge_id(false) } else { None };
    let (s_len, first) = (s.len, first.unwrap_or(StreamId::MAX));
    if propagating {
        rewrite_add_or_trim(ctx, argv, &opts, s_len, first, made_id.then_some((idpos, id)));
    }
    ctx.out.bulk(id.to_bytes());
    ctx.modified(key);
    ctx.notify(notify::STREAM, "xadd", key);
    if trimmed > 0 {
        ctx.notify(notify::STREAM, "xtrim", key);
    }
    ctx.signal_ready(key);
    Ok(())
}

/// XTRIM key <MAXLEN | MINID> [= | ~] threshold [LIMIT count]
fn xtrim(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let argv = args.all();
    let key = argv[1];
    let (opts, _) = parse_trim(ctx, argv, false)?;
    let propagating = opts.approx && ctx.propagating();
    let (deleted, s_len, first) = match write_stream(ctx, key)? {
        None => (0, 0, StreamId::MAX),
        Some(s) => {
            let d = s.trim(opts.how.expect("checked"), opts.approx, opts.limit);
            let first = if propagating && d > 0 { s.edge_id(false) } else { None };
            (d, s.len, first.unwrap_or(StreamId::MAX))
        }
    };
    if deleted > 0 {
        ctx.notify(notify::STREAM, "xtrim", key);
        ctx.modified(key);
        if opts.approx {
            rewrite_add_or_trim(ctx, argv, &opts, s_len, first, None);
        }
    }
    ctx.out.int(deleted as i64);
    Ok(())
}

/// XLEN key
fn xlen(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let n = read_stream(ctx, key)?.map(|s| s.len).unwrap_or(0);
    ctx.out.int(n as i64);
    Ok(())
}

fn range_cmd(ctx: &mut Ctx<'_>, args: &mut Args<'_>, rev: bool) -> CmdResult {
    let key = args.next_key()?;
    let (a, b) = (args.next_bytes()?, args.next_bytes()?);
    let (start_arg, end_arg) = if rev { (b, a) } else { (a, b) };
    let start = parse_bound(start_arg, 0, true)?;
    let end = parse_bound(end_arg, u64::MAX, false)?;
    let mut count: i64 = -1;
    while !args.is_empty() {
        if args.remaining() >= 2 && args.eat("COUNT") {
            count = args.next_i64()?.max(0);
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let (found, out) = ctx.lookup_read_out(key)?;
    let Some(s) = as_stream(found)? else {
        out.empty_array();
        return Ok(());
    };
    if count == 0 {
        out.null_array();
        return Ok(());
    }
    let limit = if count < 0 { usize::MAX } else { count as usize };
    write_range(out, s, start, end, rev, limit);
    Ok(())
}

/// XRANGE key start end [COUNT count]
fn xrange(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    range_cmd(ctx, args, false)
}

/// XREVRANGE key end start [COUNT count]
fn xrevrange(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    range_cmd(ctx, args, true)
}

/// XDEL key id [id ...]
fn xdel(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let rest = args.take_rest();
    let Some(s) = write_stream(ctx, key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let ids = rest.iter().map(|b| parse_strict_id(b)).collect::<Result<Vec<_>, _>>()?;
    let mut deleted = 0;
    let mut first = false;
    for id in ids {
        if s.delete(id) {
            first |= id == s.first_id;
            s.max_deleted = s.max_deleted.max(id);
            deleted += 1;
        }
    }
    if deleted > 0 {
        if s.len == 0 {
            s.first_id = StreamId::ZERO;
        } else if first {
            s.refresh_first();
        }
        ctx.modified(key);
        ctx.notify(notify::STREAM, "xdel", key);
    }
    ctx.out.int(deleted);
    Ok(())
}

/// XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]
fn xsetid(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let id = parse_strict_id(args.next_bytes()?)?;
    let mut added: i64 = -1;
    let mut max_del = StreamId::ZERO;
    while !args.is_empty() {
        if args.remaining() >= 2 && args.eat("ENTRIESADDED") {
            added = args.next_i64()?;
            if added < 0 {
                return Err(CmdError::err("entries_added must be positive"));
            }
        } else if args.remaining() >= 2 && args.eat("MAXDELETEDID") {
            max_del = parse_strict_id(args.next_bytes()?)?;
            if id < max_del {
                return Err(CmdError::err(
                    "The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                ));
            }
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let s = write_stream(ctx, key)?.ok_or_else(|| CmdError::NoSuchKey)?;
    if s.len > 0 {
        let top = s.edge_id(true).unwrap_or(StreamId::ZERO);
        if id < top {
            return Err(CmdError::err("The ID specified in XSETID is smaller than the target stream top item"));
        }
        if added != -1 && s.len > added as u64 {
            return Err(CmdError::err(
                "The entries_added specified in XSETID is smaller than the target stream length",
            ));
        }
    }
    s.last_id = id;
    if added != -1 {
        s.entries_added = added as u64;
    }
    if !max_del.is_zero() {
        s.max_deleted = max_del;
    }
    ctx.out.ok();
    ctx.add_dirty(1);
    ctx.notify(notify::STREAM, "xsetid", key);
    Ok(())
}

/// Commands a consumer-group operation propagates instead of itself.
type Ops = Vec<Vec<Vec<u8>>>;

/// Redis's streamPropagateXCLAIM: the XCLAIM that makes a replay hold the
/// pending entry `id` as it is now (owner, delivery time and count, and the
/// group's last ID).
fn xclaim_op(
    key: &[u8],
    group: &[u8],
    consumer: &[u8],
    id: &[u8],
    time: i64,
    count: u64,
    last: StreamId,
) -> Vec<Vec<u8>> {
    use super::prop::num;
    vec![
        b"XCLAIM".to_vec(),
        key.to_vec(),
        group.to_vec(),
        consumer.to_vec(),
        b"0".to_vec(),
        id.to_vec(),
        b"TIME".to_vec(),
        num(time),
        b"RETRYCOUNT".to_vec(),
        num(count),
        b"FORCE".to_vec(),
        b"JUSTID".to_vec(),
        b"LASTID".to_vec(),
        last.to_bytes(),
    ]
}

/// Redis's streamPropagateGroupID: XGROUP SETID with the group's last ID
/// and read counter.
fn setid_op(key: &[u8], group: &[u8], g: &Group) -> Vec<Vec<u8>> {
    vec![
        b"XGROUP".to_vec(),
        b"SETID".to_vec(),
        key.to_vec(),
        group.to_vec(),
        g.last_id.to_bytes(),
        b"ENTRIESREAD".to_vec(),
        super::prop::num(g.entries_read),
    ]
}

/// Propagates `ops` instead of the command (which changed `dirty` things).
fn propagate_ops(ctx: &mut Ctx<'_>, ops: Ops, dirty: u64) {
    ctx.add_dirty(dirty);
    for op in &ops {
        ctx.also_propagate(op);
    }
    ctx.prevent_propagation();
}

/// What XREAD and XREADGROUP were asked.
struct ReadArgs<'a> {
    /// BLOCK's deadline (`Some(None)`: forever).
    block: Option<Option<i64>>,
    count: usize,
    group: Option<(&'a [u8], &'a [u8])>,
    noack: bool,
    keys: &'a [&'a [u8]],
    ids: &'a [&'a [u8]],
}

fn parse_read<'a>(
    argv: &'a [&'a [u8]],
    group_cmd: bool,
    now_ms: i64,
    in_script: bool,
) -> Result<ReadArgs<'a>, CmdError> {
    let mut r = ReadArgs { block: None, count: 0, group: None, noack: false, keys: &[], ids: &[] };
    let mut streams_at = 0;
    let mut i = 1;
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        let o = argv[i];
        if is(o, "BLOCK") && more > 0 {
            if in_script {
                let name = String::from_utf8_lossy(argv[0]);
                return Err(CmdError::err(format!("{name} command is not allowed with BLOCK option from scripts")));
            }
            i += 1;
            r.block = Some(blocking::parse_timeout_ms(argv[i], now_ms)?);
        } else if is(o, "COUNT") && more > 0 {
            i += 1;
            r.count = parse_i64(argv[i])?.max(0) as usize;
        } else if is(o, "STREAMS") && more > 0 {
            streams_at = i + 1;
            let n = argv.len() - streams_at;
            if n % 2 != 0 {
                return Err(CmdError::err(
                    "Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
                ));
            }
            r.keys = &argv[streams_at..streams_at + n / 2];
            r.ids = &argv[streams_at + n / 2..];
            break;
        } else if is(o, "GROUP") && more >= 2 {
            if !group_cmd {
                return Err(CmdError::err(
                    "The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            r.group = Some((argv[i + 1], argv[i + 2]));
            i += 2;
        } else if is(o, "NOACK") {
            if !group_cmd {
                return Err(CmdError::err(
                    "The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            r.noack = true;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if streams_at == 0 {
        return Err(CmdError::Syntax);
    }
    if group_cmd && r.group.is_none() {
        return Err(CmdError::err("Missing GROUP option for XREADGROUP"));
    }
    Ok(r)
}

/// The ID after which each key is read: `$` resolved to the stream's last
/// ID; `None` for XREADGROUP's `>` (the group's pointer).
/// `serving`: re-executed for a blocked client (see blocking.rs); its stream
/// or group may have gone meanwhile, which Redis reports in its own words.
fn resolve_ids(ctx: &mut Ctx<'_>, r: &ReadArgs<'_>, serving: bool) -> Result<Vec<Option<StreamId>>, CmdError> {
    let mut v = Vec::with_capacity(r.keys.len());
    for (key, raw) in r.keys.iter().zip(r.ids) {
        let s = match read_stream(ctx, key) {
            // Overwritten by another type while the client waited: gone.
            Err(CmdError::WrongType) if serving && r.group.is_some() => None,
            s => s?,
        };
        if let (Some((g, _)), true) = (r.group, serving) {
            match s.as_ref().map(|s| s.groups.contains_key(g)) {
                None => return Err(CmdError::msg("UNBLOCKED the stream key no longer exists")),
                Some(false) => {
                    return Err(CmdError::msg("NOGROUP the consumer group this client was blocked on no longer exists"))
                }
                Some(true) => {}
            }
        }
        if let Some((g, _)) = r.group {
            if !s.as_ref().map(|s| s.groups.contains_key(g)).unwrap_or(false) {
                return Err(CmdError::msg(format!(
                    "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
                    show(key),
                    show(g)
                )));
            }
        }
        if *raw == b"$" {
            if r.group.is_some() {
                return Err(CmdError::err(
                    "The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.",
                ));
            }
            v.push(Some(s.map(|s| s.last_id).unwrap_or(StreamId::ZERO)));
        } else if *raw == b">" {
            if r.group.is_none() {
                return Err(CmdError::err(
                    "The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
                ));
            }
            v.push(None);
        } else {
            v.push(Some(parse_strict_id(raw)?));
        }
    }
    Ok(v)
}

/// Serves what is available now into `o` (one `key, entries` item per
/// stream that has something); returns how many streams replied. Consumers
/// it creates are pushed on `created` with the length `o` had then: Redis
/// emits xgroup-createconsumer right after writing the stream's name, so a
/// RESP3 client listening to its own keys gets the event inside the reply.
///
/// A synchronous read serves a stream whose last live entry is past the
/// asked ID. A blocked reader (`serving`, its command narrowed to the key
/// that became ready) is served when the stream's last ID ever is past it,
/// as Redis does: entries added then deleted before it runs (XDEL, XTRIM in
/// the same transaction) give it an empty entry list, not a longer wait.
#[allow(clippy::too_many_arguments)]
fn serve_read<'k>(
    ctx: &mut Ctx<'_>,
    r: &ReadArgs<'k>,
    ids: &[Option<StreamId>],
    serving: bool,
    o: &mut Out,
    created: &mut Vec<(&'k [u8], usize)>,
    ops: &mut Ops,
    dirty: &mut u64,
) -> Result<usize, CmdError> {
    let now = ctx.now_ms;
    let propagating = ctx.propagating();
    let limit = if r.count == 0 { usize::MAX } else { r.count };
    let mut served = 0;
    for (i, key) in r.keys.iter().enumerate() {
        let Some(s) = read_stream(ctx, key)? else { continue };
        let newest = if serving { Some(s.last_id) } else { s.edge_id(true) };
        let Some((gname, cname)) = r.group else {
            let after = ids[i].unwrap_or(StreamId::MAX);
            if newest.map(|m| m <= after).unwrap_or(true) {
                continue;
            }
            served += 1;
            if !o.resp3() {
                o.array(2);
            }
            o.bulk(key);
            // `after` is below the last entry, so it has a successor.
            write_range(o, s, after.incr().unwrap_or(StreamId::MAX), StreamId::MAX, false, limit);
            continue;
        };
        // The group is taken out while the stream is read.
        let mut g = s.groups.remove(gname).expect("checked in resolve_ids");
        let history = ids[i];
        let has_new = history.is_some() || newest.map(|m| m > g.last_id).unwrap_or(false);
        if has_new {
            served += 1;
            if !o.resp3() {
                o.array(2);
            }
            o.bulk(key);
            // Counted as Redis does (a change per stream served and per
            // consumer created), propagated as the pending entries it made
            // (XCLAIM), or with NOACK as the consumer it created and the
            // group's new last ID.
            *dirty += 1;
            if g.create_consumer(cname, now) {
                created.push((*key, o.len()));
                *dirty += 1;
                if r.noack && propagating {
                    ops.push(vec![
                        b"XGROUP".to_vec(),
                        b"CREATECONSUMER".to_vec(),
                        key.to_vec(),
                        gname.to_vec(),
                        cname.to_vec(),
                    ]);
                }
            }
            g.consumers.get_mut(cname).expect("consumer").seen_time = now;
            let at = o.len();
            let mut n = 0;
            if let Some(after) = history {
                // The consumer's own pending entries after `after`.
                let pending: Vec<StreamId> = match after.incr() {
                    Some(from) => g.consumers[cname].pel.range(from..).take(limit).copied().collect(),
                    None => Vec::new(),
                };
                for id in pending {
                    match s.get(id) {
                        Some(e) => {
                            write_entry(o, &e);
                            if let Some(nack) = g.pel.get_mut(&id) {
                                nack.delivery_time = now;
                                nack.delivery_count += 1;
                            }
                        }
                        None => {
                            o.array(2);
                            write_id(o, id);
                            o.null_array();
                        }
                    }
                    n += 1;
                }
            } else if let Some(start) = g.last_id.incr() {
                let mut delivered = Vec::new();
                s.range(start, StreamId::MAX, false, |e| {
                    write_entry(o, &e);
                    delivered.push(e.id);
                    delivered.len() < limit
                });
                n = delivered.len();
                for id in delivered {
                    s.group_delivered(&mut g, id);
                    if !r.noack {
                        g.assign(id, cname, now, 1);
                        if propagating {
                            ops.push(xclaim_op(key, gname, cname, &id.to_bytes(), now, 1, g.last_id));
                        }
                    }
                }
                if r.noack && n > 0 && propagating {
                    ops.push(setid_op(key, gname, &g));
                }
            }
            insert_array_header(o, at, n);
        }
        s.groups.insert(gname.into(), g);
    }
    Ok(served)
}

fn read_cmd(ctx: &mut Ctx<'_>, args: &mut Args<'_>, group_cmd: bool) -> CmdResult {
    let r = parse_read(args.all(), group_cmd, ctx.now_ms, ctx.in_script)?;
    let serving = r.block.is_some() && ctx.srv.blocking.is_blocked(ctx.client.id);
    let ids = resolve_ids(ctx, &r, serving)?;
    let mut o = Out::new(ctx.out.proto);
    let mut created = Vec::new();
    let (mut ops, mut dirty) = (Vec::new(), 0);
    let served = serve_read(ctx, &r, &ids, serving, &mut o, &mut created, &mut ops, &mut dirty)?;
    // XREADGROUP propagates what it did to the groups, never itself.
    if group_cmd {
        propagate_ops(ctx, ops, dirty);
    }
    if served > 0 {
        // A served blocked reader: Redis creates the consumer before it
        // starts the reply.
        if serving {
            for (key, _) in created.drain(..) {
                ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
            }
        }
        if ctx.out.resp3() {
            ctx.out.map(served);
        } else {
            ctx.out.array(served);
        }
        let mut from = 0;
        for (key, at) in created {
            ctx.out.raw(&o.buf[from..at]);
            ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
            from = at;
        }
        ctx.out.raw(&o.buf[from..]);
        return Ok(());
    }
    match r.block {
        Some(deadline) if ctx.may_block() => {
            let keys = r.keys.iter().map(|k| Key::from(*k)).collect();
            // A key turned into another type leaves the reader blocked.
            let mut req = BlockRequest::new(keys, deadline, blocking::reply_null_array).for_type("stream");
            req.argv_override = Some(blocked_argv(args.all(), &r, &ids));
            // Waiters of one stream wait for different IDs.
            req.serve_all = true;
            ctx.block(req);
        }
        _ => ctx.out.null_array(),
    }
    Ok(())
}

/// Redis serves a blocked reader at most this many entries per stream when
/// it gave no COUNT.
const BLOCKED_DEFAULT_COUNT: &[u8] = b"1000";

/// The command re-executed when a blocked reader may be served: `$` becomes
/// the ID it stood for when the client blocked, and COUNT defaults as Redis's.
fn blocked_argv(argv: &[&[u8]], r: &ReadArgs<'_>, ids: &[Option<StreamId>]) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = Vec::with_capacity(argv.len() + 2);
    v.push(argv[0].to_vec());
    if r.count == 0 {
        v.push(b"COUNT".to_vec());
        v.push(BLOCKED_DEFAULT_COUNT.to_vec());
    }
    let ids_at = argv.len() - r.ids.len();
    for (i, a) in argv.iter().enumerate().skip(1) {
        match (i >= ids_at, ids.get(i.wrapping_sub(ids_at))) {
            (true, Some(Some(id))) if *a == b"$" => v.push(id.to_bytes()),
            _ => v.push(a.to_vec()),
        }
    }
    v
}

/// XREAD [COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...]
fn xread(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    read_cmd(ctx, args, false)
}

/// XREADGROUP GROUP group consumer [COUNT count] [BLOCK milliseconds]
/// [NOACK] STREAMS key [key ...] id [id ...]
fn xreadgroup(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    read_cmd(ctx, args, true)
}

/// XGROUP CREATE | SETID | DESTROY | CREATECONSUMER | DELCONSUMER: one body,
/// as in Redis (the checks are shared and their order is visible).
fn xgroup(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let argv = args.all();
    let sub = argv[1].to_ascii_lowercase();
    let (key, gname) = (argv[2], argv[3]);
    let create = sub == b"create";
    let mut mkstream = false;
    let mut entries_read: i64 = -1;
    let mut i = 5;
    while i < argv.len() {
        if create && is(argv[i], "MKSTREAM") {
            mkstream = true;
            i += 1;
        } else if (create || sub == b"setid") && is(argv[i], "ENTRIESREAD") && i + 1 < argv.len() {
            entries_read = parse_i64(argv[i + 1])?;
            if entries_read < 0 && entries_read != -1 {
                return Err(CmdError::err("value for ENTRIESREAD must be positive or -1"));
            }
            i += 2;
        } else {
            return Err(subcommand_syntax(args));
        }
    }
    let now = ctx.now_ms;
    let (exists, has_group, last_id) = match write_stream(ctx, key)? {
        Some(s) => (true, s.groups.contains_key(gname), s.last_id),
        None => (false, false, StreamId::ZERO),
    };
    if !mkstream {
        if !exists {
            return Err(CmdError::err(
                "The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.",
            ));
        }
        if !has_group && (sub == b"setid" || sub == b"createconsumer" || sub == b"delconsumer") {
            return Err(CmdError::msg(format!(
                "NOGROUP No such consumer group '{}' for key name '{}'",
                show(gname),
                show(key)
            )));
        }
    }
    match &sub[..] {
        b"create" if argv.len() <= 8 => {
            let id = if argv[4] == b"$" { last_id } else { parse_strict_id(argv[4])? };
            if !exists {
                ctx.set_value(key, Value::Stream(Box::default()))?;
            }
            let s = write_stream(ctx, key)?.expect("exists");
            if s.groups.contains_key(gname) {
                return Err(CmdError::msg("BUSYGROUP Consumer Group name already exists"));
            }
            s.groups.insert(gname.into(), Group::new(id, entries_read));
            ctx.out.ok();
            if exists {
                ctx.add_dirty(1);
            }
            ctx.notify(notify::STREAM, "xgroup-create", key);
        }
        b"setid" if argv.len() == 5 || argv.len() == 7 => {
            let id = if argv[4] == b"$" { last_id } else { parse_id(argv[4], 0)? };
            let s = write_stream(ctx, key)?.expect("exists");
            let g = s.groups.get_mut(gname).expect("checked");
            g.last_id = id;
            g.entries_read = entries_read;
            ctx.out.ok();
            ctx.add_dirty(1);
            ctx.notify(notify::STREAM, "xgroup-setid", key);
        }
        b"destroy" if argv.len() == 4 => {
            let removed = write_stream(ctx, key)?.map(|s| s.groups.remove(gname).is_some()).unwrap_or(false);
            ctx.out.int(removed as i64);
            if removed {
                ctx.add_dirty(1);
                ctx.notify(notify::STREAM, "xgroup-destroy", key);
                ctx.signal_ready(key);
            }
        }
        b"createconsumer" if argv.len() == 5 => {
            let s = write_stream(ctx, key)?.expect("exists");
            let created = s.groups.get_mut(gname).expect("checked").create_consumer(argv[4], now);
            if created {
                ctx.add_dirty(1);
                ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
            }
            ctx.out.int(created as i64);
        }
        b"delconsumer" if argv.len() == 5 => {
            let s = write_stream(ctx, key)?.expect("exists");
            let pending = s.groups.get_mut(gname).expect("checked").delete_consumer(argv[4]);
            if pending.is_some() {
                ctx.add_dirty(1);
                ctx.notify(notify::STREAM, "xgroup-delconsumer", key);
            }
            ctx.out.int(pending.unwrap_or(0) as i64);
        }
        _ => return Err(subcommand_syntax(args)),
    }
    Ok(())
}

/// XGROUP HELP
fn xgroup_help(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    super::generic::reply_help(
        ctx,
        &[
            "CREATE <key> <groupname> <id|$> [option]",
            "    Create a new consumer group. Options are:",
            "    * MKSTREAM",
            "      Create the empty stream if it does not exist.",
            "    * ENTRIESREAD entries_read",
            "      Set the group's entries_read counter (internal use).",
            "CREATECONSUMER <key> <groupname> <consumer>",
            "    Create a new consumer in the specified group.",
            "DELCONSUMER <key> <groupname> <consumer>",
            "    Remove the specified consumer.",
            "DESTROY <key> <groupname>",
            "    Remove the specified group.",
            "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
            "    Set the current group ID and entries_read counter.",
        ],
    );
    Ok(())
}

/// XACK key group id [id ...]
fn xack(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (key, gname) = (args.next_key()?, args.next_bytes()?);
    let rest = args.take_rest();
    let Some(g) = read_stream(ctx, key)?.and_then(|s| s.groups.get_mut(gname)) else {
        ctx.out.int(0);
        return Ok(());
    };
    let ids = rest.iter().map(|b| parse_strict_id(b)).collect::<Result<Vec<_>, _>>()?;
    let n = ids.into_iter().filter(|id| g.ack(*id)).count();
    ctx.out.int(n as i64);
    ctx.add_dirty(n as u64);
    Ok(())
}

fn nogroup(key: &[u8], g: &[u8]) -> CmdError {
    CmdError::msg(format!("NOGROUP No such key '{}' or consumer group '{}'", show(key), show(g)))
}

/// XPENDING key group [[IDLE min-idle-time] start end count [consumer]]
fn xpending(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let argv = args.all();
    let (key, gname) = (argv[1], argv[2]);
    let argc = argv.len();
    if argc != 3 && !(6..=9).contains(&argc) {
        return Err(CmdError::Syntax);
    }
    let mut range = None;
    if argc >= 6 {
        let mut at = 3;
        let mut min_idle = 0;
        if is(argv[3], "IDLE") {
            min_idle = parse_i64(argv[4])?;
            if argc < 8 {
                return Err(CmdError::Syntax);
            }
            at += 2;
        }
        let count = parse_i64(argv[at + 2])?.max(0) as usize;
        let start = parse_bound(argv[at], 0, true)?;
        let end = parse_bound(argv[at + 1], u64::MAX, false)?;
        range = Some((min_idle, start, end, count, argv.get(at + 3).copied()));
    }
    let now = ctx.now_ms;
    let (found, out) = ctx.lookup_read_out(key)?;
    let g = as_stream(found)?.and_then(|s| s.groups.get(gname)).ok_or_else(|| nogroup(key, gname))?;
    let Some((min_idle, start, end, count, consumer)) = range else {
        out.array(4);
        out.int(g.pel.len() as i64);
        match (g.pel.keys().next(), g.pel.keys().next_back()) {
            (Some(first), Some(last)) => {
                write_id(out, *first);
                write_id(out, *last);
                let owners: Vec<_> = g.consumers.iter().filter(|(_, c)| !c.pel.is_empty()).collect();
                out.array(owners.len());
                for (name, c) in owners {
                    out.array(2);
                    out.bulk(name);
                    out.bulk_int(c.pel.len() as i64);
                }
            }
            _ => {
                out.null();
                out.null();
                out.null_array();
            }
        }
        return Ok(());
    };
    let ids: Vec<StreamId> = if start > end {
        Vec::new()
    } else {
        match consumer {
            Some(c) => match g.consumers.get(c) {
                Some(c) => c.pel.range(start..=end).copied().collect(),
                None => {
                    out.empty_array();
                    return Ok(());
                }
            },
            None => g.pel.range(start..=end).map(|(id, _)| *id).collect(),
        }
    };
    let at = out.len();
    let mut n = 0;
    for id in ids {
        if n == count {
            break;
        }
        let nack = &g.pel[&id];
        if min_idle > 0 && now - nack.delivery_time < min_idle {
            continue;
        }
        n += 1;
        out.array(4);
        write_id(out, id);
        out.bulk(&nack.consumer);
        out.int((now - nack.delivery_time).max(0));
        out.int(nack.delivery_count as i64);
    }
    insert_array_header(out, at, n);
    Ok(())
}

/// XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms]
/// [TIME unix-time-milliseconds] [RETRYCOUNT count] [FORCE] [JUSTID]
/// [LASTID lastid]
fn xclaim(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let argv = args.all();
    let (key, gname, cname) = (argv[1], argv[2], argv[3]);
    let now = ctx.now_ms;
    if read_stream(ctx, key)?.and_then(|s| s.groups.get(gname)).is_none() {
        return Err(nogroup(key, gname));
    }
    let min_idle = parse_i64(argv[4]).map_err(|_| CmdError::err("Invalid min-idle-time argument for XCLAIM"))?.max(0);
    let mut j = 5;
    let mut ids = Vec::new();
    while j < argv.len() {
        match StreamId::parse(argv[j], 0, false) {
            Some((id, _)) => ids.push(id),
            None => break,
        }
        j += 1;
    }
    let (mut force, mut justid) = (false, false);
    let mut retry: i64 = -1;
    let mut delivery: i64 = -1;
    let mut last_id = StreamId::ZERO;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        let o = argv[j];
        let num = |b: &[u8], what: &str| {
            parse_i64(b).map_err(|_| CmdError::err(format!("Invalid {what} option argument for XCLAIM")))
        };
        if is(o, "FORCE") {
            force = true;
        } else if is(o, "JUSTID") {
            justid = true;
        } else if is(o, "IDLE") && more > 0 {
            j += 1;
            delivery = now - num(argv[j], "IDLE")?;
        } else if is(o, "TIME") && more > 0 {
            j += 1;
            delivery = num(argv[j], "TIME")?;
        } else if is(o, "RETRYCOUNT") && more > 0 {
            j += 1;
            retry = num(argv[j], "RETRYCOUNT")?;
        } else if is(o, "LASTID") && more > 0 {
            j += 1;
            last_id = parse_strict_id(argv[j])?;
        } else {
            return Err(CmdError::err(format!("Unrecognized XCLAIM option '{}'", show(o))));
        }
        j += 1;
    }
    if delivery < 0 || delivery > now {
        delivery = now;
    }
    let propagating = ctx.propagating();
    let (found, out) = ctx.lookup_read_out(key)?;
    let s = as_stream(found)?.expect("checked");
    let mut g = s.groups.remove(gname).expect("checked");
    let mut claimed = Out::new(out.proto);
    let mut n = 0;
    let mut created = false;
    // Propagated as one XCLAIM per pending entry changed (with the ID as
    // written), or as XGROUP SETID when only LASTID moved the group.
    let (mut ops, mut dirty) = (Ops::new(), 0);
    let mut propagate_last = last_id > g.last_id;
    if last_id > g.last_id {
        g.last_id = last_id;
    }
    for (&id, raw) in ids.iter().zip(&argv[5..]) {
        if !s.contains(id) {
            if let Some(nack) = g.pel.get(&id) {
                if propagating {
                    let (t, c) = (nack.delivery_time, nack.delivery_count);
                    ops.push(xclaim_op(key, gname, &nack.consumer, raw, t, c, g.last_id));
                }
                propagate_last = false;
                dirty += 1;
            }
            g.ack(id);
            continue;
        }
        let (old_time, old_count, owned) = match g.pel.get(&id) {
            Some(nack) => (nack.delivery_time, nack.delivery_count, true),
            // Redis creates a forced entry with one delivery already
            // counted, before the claim itself counts (unless JUSTID).
            None if force => (0, 1, false),
            None => continue,
        };
        if owned && min_idle > 0 && now - old_time < min_idle {
            continue;
        }
        if g.create_consumer(cname, now) {
            created = true;
            dirty += 1;
        }
        g.consumers.get_mut(cname).expect("consumer").seen_time = now;
        let count = if retry >= 0 {
            retry as u64
        } else if !justid {
            old_count + 1
        } else {
            old_count
        };
        g.assign(id, cname, delivery, count);
        if propagating {
            ops.push(xclaim_op(key, gname, cname, raw, delivery, count, g.last_id));
        }
        propagate_last = false;
        dirty += 1;
        if justid {
            write_id(&mut claimed, id);
        } else if let Some(e) = s.get(id) {
            write_entry(&mut claimed, &e);
        }
        n += 1;
    }
    if propagate_last {
        if propagating {
            ops.push(setid_op(key, gname, &g));
        }
        dirty += 1;
    }
    s.groups.insert(gname.into(), g);
    propagate_ops(ctx, ops, dirty);
    ctx.out.array(n);
    // Redis creates the consumer when it claims the first entry, after the
    // reply's header: a RESP3 client listening to its own keys sees the
    // event there.
    if created {
        ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
    }
    ctx.out.raw(&claimed.buf);
    Ok(())
}

/// XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]
fn xautoclaim(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let argv = args.all();
    let (key, gname, cname) = (argv[1], argv[2], argv[3]);
    let now = ctx.now_ms;
    let min_idle =
        parse_i64(argv[4]).map_err(|_| CmdError::err("Invalid min-idle-time argument for XAUTOCLAIM"))?.max(0);
    let start = parse_bound(argv[5], 0, true)?;
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        if is(argv[j], "COUNT") && more > 0 {
            count = parse_i64(argv[j + 1])
                .ok()
                .filter(|c| (1..=i64::MAX / 16).contains(c))
                .ok_or_else(|| CmdError::err("COUNT must be > 0"))?;
            j += 1;
        } else if is(argv[j], "JUSTID") {
            justid = true;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let propagating = ctx.propagating();
    let (found, out) = ctx.lookup_read_out(key)?;
    let s = as_stream(found)?.ok_or_else(|| nogroup(key, gname))?;
    let mut g = s.groups.remove(gname).ok_or_else(|| nogroup(key, gname))?;
    let mut attempts = count.saturating_mul(10);
    let mut claimed = Out::new(out.proto);
    let mut n = 0;
    let mut deleted = Vec::new();
    let mut created = false;
    // Propagated as one XCLAIM per pending entry changed or dropped.
    let (mut ops, mut dirty) = (Ops::new(), 0);
    let mut cursor = Some(start);
    let mut next = StreamId::ZERO;
    while let Some(from) = cursor {
        let Some((&id, nack)) = g.pel.range(from..).next() else { break };
        if attempts == 0 || count == 0 {
            next = id;
            break;
        }
        attempts -= 1;
        let (time, dcount) = (nack.delivery_time, nack.delivery_count);
        cursor = id.incr();
        if !s.contains(id) {
            if propagating {
                ops.push(xclaim_op(key, gname, &nack.consumer, &id.to_bytes(), time, dcount, g.last_id));
            }
            dirty += 1;
            g.ack(id);
            deleted.push(id);
            count -= 1;
            continue;
        }
        if min_idle > 0 && now - time < min_idle {
            continue;
        }
        if g.create_consumer(cname, now) {
            created = true;
            dirty += 1;
        }
        g.consumers.get_mut(cname).expect("consumer").seen_time = now;
        let dcount = if justid { dcount } else { dcount + 1 };
        g.assign(id, cname, now, dcount);
        if propagating {
            ops.push(xclaim_op(key, gname, cname, &id.to_bytes(), now, dcount, g.last_id));
        }
        dirty += 1;
        if justid {
            write_id(&mut claimed, id);
        } else if let Some(e) = s.get(id) {
            write_entry(&mut claimed, &e);
        }
        n += 1;
        count -= 1;
    }
    s.groups.insert(gname.into(), g);
    propagate_ops(ctx, ops, dirty);
    let out = &mut *ctx.out;
    out.array(3);
    write_id(out, next);
    out.array(n);
    // As in XCLAIM: the event comes where the first claimed entry goes.
    if created {
        ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
    }
    let out = &mut *ctx.out;
    out.raw(&claimed.buf);
    out.array(deleted.len());
    for id in deleted {
        write_id(out, id);
    }
    Ok(())
}

fn write_lag(out: &mut Out, s: &Stream, g: &Group) {
    match s.group_lag(g) {
        Some(l) => out.int(l),
        None => out.null(),
    }
}

fn write_entries_read(out: &mut Out, g: &Group) {
    if g.entries_read != -1 {
        out.int(g.entries_read);
    } else {
        out.null();
    }
}

fn existing(found: Option<&mut KeyEntry>) -> Result<&mut Stream, CmdError> {
    as_stream(found)?.ok_or_else(|| CmdError::NoSuchKey)
}

/// XINFO STREAM key [FULL [COUNT count]]
fn xinfo_stream(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let opts = args.take_rest();
    // Redis looks the key up before it reads the options: a missing key or
    // a wrong type wins over a syntax error.
    let (found, out) = ctx.lookup_read_out(key)?;
    let s = existing(found)?;
    let mut full = false;
    let mut count: i64 = 10;
    if !opts.is_empty() {
        if (opts.len() != 1 && opts.len() != 3) || !is(opts[0], "FULL") {
            return Err(subcommand_syntax(args));
        }
        full = true;
        if opts.len() == 3 {
            if !is(opts[1], "COUNT") {
                return Err(subcommand_syntax(args));
            }
            count = parse_i64(opts[2])?;
            if count < 0 {
                count = 10;
            }
        }
    }
    out.map(if full { 9 } else { 10 });
    out.bulk("length");
    out.int(s.len as i64);
    out.bulk("radix-tree-keys");
    out.int(s.node_count() as i64);
    out.bulk("radix-tree-nodes");
    out.int(s.rax_nodes() as i64);
    out.bulk("last-generated-id");
    write_id(out, s.last_id);
    out.bulk("max-deleted-entry-id");
    write_id(out, s.max_deleted);
    out.bulk("entries-added");
    out.int(s.entries_added as i64);
    out.bulk("recorded-first-entry-id");
    write_id(out, s.first_id);
    if !full {
        out.bulk("groups");
        out.int(s.groups.len() as i64);
        for (name, last) in [("first-entry", false), ("last-entry", true)] {
            out.bulk(name);
            let mut any = false;
            s.range(StreamId::ZERO, StreamId::MAX, last, |e| {
                write_entry(out, &e);
                any = true;
                false
            });
            if !any {
                out.null();
            }
        }
        return Ok(());
    }
    let limit = if count == 0 { usize::MAX } else { count as usize };
    out.bulk("entries");
    write_range(out, s, StreamId::ZERO, StreamId::MAX, false, limit);
    out.bulk("groups");
    out.array(s.groups.len());
    for (name, g) in &s.groups {
        out.map(7);
        out.bulk("name");
        out.bulk(name);
        out.bulk("last-delivered-id");
        write_id(out, g.last_id);
        out.bulk("entries-read");
        write_entries_read(out, g);
        out.bulk("lag");
        write_lag(out, s, g);
        out.bulk("pel-count");
        out.int(g.pel.len() as i64);
        out.bulk("pending");
        let shown = g.pel.len().min(limit);
        out.array(shown);
        for (id, nack) in g.pel.iter().take(shown) {
            out.array(4);
            write_id(out, *id);
            out.bulk(&nack.consumer);
            out.int(nack.delivery_time);
            out.int(nack.delivery_count as i64);
        }
        out.bulk("consumers");
        out.array(g.consumers.len());
        for (cname, c) in &g.consumers {
            out.map(4);
            out.bulk("name");
            out.bulk(cname);
            out.bulk("seen-time");
            out.int(c.seen_time);
            out.bulk("pel-count");
            out.int(c.pel.len() as i64);
            out.bulk("pending");
            let shown = c.pel.len().min(limit);
            out.array(shown);
            for id in c.pel.iter().take(shown) {
                let nack = &g.pel[id];
                out.array(3);
                write_id(out, *id);
                out.int(nack.delivery_time);
                out.int(nack.delivery_count as i64);
            }
        }
    }
    Ok(())
}

/// XINFO GROUPS key
fn xinfo_groups(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let (found, out) = ctx.lookup_read_out(key)?;
    let s = existing(found)?;
    out.array(s.groups.len());
    for (name, g) in &s.groups {
        out.map(6);
        out.bulk("name");
        out.bulk(name);
        out.bulk("consumers");
        out.int(g.consumers.len() as i64);
        out.bulk("pending");
        out.int(g.pel.len() as i64);
        out.bulk("last-delivered-id");
        write_id(out, g.last_id);
        out.bulk("entries-read");
        write_entries_read(out, g);
        out.bulk("lag");
        write_lag(out, s, g);
    }
    Ok(())
}

/// XINFO CONSUMERS key group
fn xinfo_consumers(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (key, gname) = (args.next_key()?, args.next_bytes()?);
    let now = ctx.now_ms;
    let (found, out) = ctx.lookup_read_out(key)?;
    let s = existing(found)?;
    let g = s.groups.get(gname).ok_or_else(|| {
        CmdError::msg(format!("NOGROUP No such consumer group '{}' for key name '{}'", show(gname), show(key)))
    })?;
    out.array(g.consumers.len());
    for (name, c) in &g.consumers {
        out.map(3);
        out.bulk("name");
        out.bulk(name);
        out.bulk("pending");
        out.int(c.pel.len() as i64);
        out.bulk("idle");
        out.int((now - c.seen_time).max(0));
    }
    Ok(())
}

/// XINFO HELP
fn xinfo_help(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    super::generic::reply_help(
        ctx,
        &[
            "CONSUMERS <key> <groupname>",
            "    Show consumers of <groupname>.",
            "GROUPS <key>",
            "    Show the stream consumer groups.",
            "STREAM <key> [FULL [COUNT <count>]",
            "    Show information about the stream.",
        ],
    );
    Ok(())
}
