//! RDB objects to values: every object type of RDB version 10 and the older
//! ones Redis may still send (plain lists, ziplists, quicklists of ziplists,
//! zipmaps, string-scored sorted sets, streams without first/max-deleted
//! IDs).
//!
//! Everything is validated, whatever `sanitize-dump-payload` says: Redis's
//! deep checks (blob integrity, entry counts, sorted unique intsets,
//! duplicate hash fields, set members and zset members, NaN scores, stream
//! entry counts and ID order, PEL consistency) and a few more (every score
//! must parse, a stream's length must match its entries). A failure is
//! `None`, which RESTORE reports as "Bad data format". Empty collections are
//! refused, as Redis refuses them (empty keys cannot exist).
//!
//! Values are built with the same operations our commands use, so their
//! encodings follow our configured thresholds. Streams are the exception:
//! their nodes are kept as written (deleted entries included), as Redis
//! keeps the listpacks it loads, so trimming and a later DUMP see the same
//! nodes as the sender.

use super::listpack::{parse_intset, parse_listpack, parse_ziplist, parse_zipmap, Item};
use super::{ty, Reader};
use crate::storage::{Str, Value};
use std::collections::BTreeSet;
use types::hash::{Hash, Limits as HashLimits};
use types::list::List;
use types::set::{Member, Set};
use types::stream::{Consumer, Entry, Group, Nack, Stream, StreamId, DELETED, SAME_FIELDS};
use types::zset::{Limits as ZLimits, ZSet};

/// The configuration that shapes a loaded value.
#[derive(Clone, Copy, Debug)]
pub struct LoadConfig {
    pub hash: HashLimits,
    pub zset: ZLimits,
    pub max_intset: usize,
    pub list_fill: i32,
}

impl Default for LoadConfig {
    /// Redis's defaults.
    fn default() -> Self {
        LoadConfig {
            hash: HashLimits { max_entries: 128, max_value: 64 },
            zset: ZLimits { max_entries: 128, max_value: 64 },
            max_intset: 512,
            list_fill: -2,
        }
    }
}

/// The value at the start of `p` (a type byte and an object): a payload
/// whose footer `unseal` checked, or a body. Bytes after the object are
/// ignored, as Redis ignores them.
pub fn load(body: &[u8], cfg: &LoadConfig) -> Option<Value> {
    let mut r = Reader::new(body);
    let t = r.byte()?;
    load_object(&mut r, t, cfg)
}

/// The object of type `t` at the reader's position (an RDB file's value,
/// after its type byte and key).
pub fn load_object(r: &mut Reader<'_>, t: u8, cfg: &LoadConfig) -> Option<Value> {
    EMPTY.with(|e| e.set(false));
    let r = &mut *r;
    Some(match t {
        ty::STRING => Value::Str(Str::from_bytes(&r.string()?)),
        ty::LIST => {
            let n = r.count()?;
            let mut l = List::new(cfg.list_fill);
            for _ in 0..n {
                l.push_back(&r.string()?);
            }
            nonempty_list(l)?
        }
        ty::LIST_QUICKLIST | ty::LIST_QUICKLIST_2 => quicklist(r, t == ty::LIST_QUICKLIST_2, cfg)?,
        ty::LIST_ZIPLIST => {
            let blob = r.string()?;
            let mut l = List::new(cfg.list_fill);
            let mut buf = itoa::Buffer::new();
            for it in parse_ziplist(&blob)? {
                l.push_back(it.bytes(&mut buf));
            }
            nonempty_list(l)?
        }
        ty::SET => {
            let n = r.count()?;
            let mut s: Option<Set> = None;
            for _ in 0..n {
                let m = r.string()?;
                let set = s.get_or_insert_with(|| Set::for_member(&m));
                if !set.add(&m, cfg.max_intset) {
                    return None;
                }
            }
            match s {
                Some(s) => Value::Set(Box::new(s)),
                None => return empty(),
            }
        }
        ty::SET_INTSET => {
            let blob = r.string()?;
            let mut s = Set::new_ints();
            for v in parse_intset(&blob)? {
                s.add_member(Member::Int(v), cfg.max_intset);
            }
            if s.len() == 0 {
                return empty();
            }
            Value::Set(Box::new(s))
        }
        ty::HASH => {
            let n = r.count()?;
            let mut h = Hash::new();
            for _ in 0..n {
                let (f, v) = (r.string()?, r.string()?);
                hash_add(&mut h, &f, &v, cfg)?;
            }
            nonempty_hash(h)?
        }
        ty::HASH_ZIPMAP => {
            let blob = r.string()?;
            let mut h = Hash::new();
            for (f, v) in parse_zipmap(&blob)? {
                hash_add(&mut h, f, v, cfg)?;
            }
            nonempty_hash(h)?
        }
        ty::HASH_ZIPLIST | ty::HASH_LISTPACK => {
            let blob = r.string()?;
            let items = if t == ty::HASH_ZIPLIST { parse_ziplist(&blob)? } else { parse_listpack(&blob)? };
            if items.len() % 2 != 0 {
                return None;
            }
            let mut h = Hash::new();
            let (mut b1, mut b2) = (itoa::Buffer::new(), itoa::Buffer::new());
            // Redis keeps a loaded listpack unless it has too many entries;
            // the lengths of its values are not checked.
            let cfg = &count_only(cfg);
            for p in items.chunks_exact(2) {
                hash_add(&mut h, p[0].bytes(&mut b1), p[1].bytes(&mut b2), cfg)?;
            }
            nonempty_hash(h)?
        }
        ty::HASH_LISTPACK_EX => {
            r.u64_le()?;
            let blob = r.string()?;
            let items = parse_listpack(&blob)?;
            if items.len() % 3 != 0 {
                return None;
            }
            let (mut h, mut ttls) = (Hash::new(), Vec::new());
            let (mut b1, mut b2) = (itoa::Buffer::new(), itoa::Buffer::new());
            for t in items.chunks_exact(3) {
                let at = match t[2] {
                    Item::Int(n) => n,
                    Item::Str(s) => types::num::parse_i64(s)?,
                };
                hash_add_ttl(&mut h, &mut ttls, t[0].bytes(&mut b1), t[1].bytes(&mut b2), at, cfg)?;
            }
            with_ttls(h, ttls)?
        }
        ty::HASH_METADATA => {
            let min = r.u64_le()? as i64;
            let n = r.count()?;
            let (mut h, mut ttls) = (Hash::new(), Vec::new());
            for _ in 0..n {
                let rel = r.len()?;
                let at = if rel == 0 { 0 } else { min.checked_add(i64::try_from(rel - 1).ok()?)? };
                let (f, v) = (r.string()?, r.string()?);
                hash_add_ttl(&mut h, &mut ttls, &f, &v, at, cfg)?;
            }
            with_ttls(h, ttls)?
        }
        ty::ZSET | ty::ZSET_2 => {
            // As Redis: loaded into a skiplist (keeping -0 scores), made
            // compact afterwards if it fits.
            let n = r.count()?;
            let mut z = ZSet::new_skip();
            for _ in 0..n {
                let m = r.string()?;
                let score = if t == ty::ZSET_2 { f64::from_bits(r.u64_le()?) } else { text_double(r)? };
                zset_add(&mut z, &m, score, cfg)?;
            }
            z.shrink_if_small(cfg.zset);
            nonempty_zset(z)?
        }
        ty::ZSET_ZIPLIST | ty::ZSET_LISTPACK => {
            let blob = r.string()?;
            let items = if t == ty::ZSET_ZIPLIST { parse_ziplist(&blob)? } else { parse_listpack(&blob)? };
            if items.len() % 2 != 0 {
                return None;
            }
            // As for hashes: only the number of entries can convert it.
            let cfg = &count_only(cfg);
            let mut z = ZSet::for_size(items.len() / 2, 0, cfg.zset);
            let mut buf = itoa::Buffer::new();
            for p in items.chunks_exact(2) {
                let score = match p[1] {
                    Item::Int(n) => n as f64,
                    Item::Str(s) => types::num::parse_f64(s)?,
                };
                zset_add(&mut z, p[0].bytes(&mut buf), score, cfg)?;
            }
            nonempty_zset(z)?
        }
        ty::STREAM_LISTPACKS | ty::STREAM_LISTPACKS_2 => stream(r, t == ty::STREAM_LISTPACKS_2)?,
        _ => return None,
    })
}

/// `cfg` without the value-length limits (for loaded listpacks).
fn count_only(cfg: &LoadConfig) -> LoadConfig {
    let mut c = *cfg;
    c.hash.max_value = usize::MAX;
    c.zset.max_value = usize::MAX;
    c
}

thread_local! {
    /// The last `None` of this thread's decoding was an empty collection
    /// (well formed, but keys cannot be empty): an RDB file's loader skips
    /// such keys, as Redis does, where RESTORE refuses them.
    static EMPTY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn empty() -> Option<Value> {
    EMPTY.with(|e| e.set(true));
    None
}

/// True if the last failed `load_object` on this thread failed only
/// because the collection was empty; clears the flag.
pub fn take_empty() -> bool {
    EMPTY.with(|e| e.replace(false))
}

fn nonempty_list(l: List) -> Option<Value> {
    if l.is_empty() {
        return empty();
    }
    Some(Value::List(Box::new(l)))
}

fn nonempty_hash(h: Hash) -> Option<Value> {
    if h.is_empty() {
        return empty();
    }
    Some(Value::Hash(h))
}

fn nonempty_zset(z: ZSet) -> Option<Value> {
    if z.is_empty() {
        return empty();
    }
    Some(Value::ZSet(Box::new(z)))
}

/// Adds a pair; `None` for a duplicate field.
fn hash_add(h: &mut Hash, f: &[u8], v: &[u8], cfg: &LoadConfig) -> Option<()> {
    if h.contains(f) {
        return None;
    }
    h.set(f, v, cfg.hash);
    Some(())
}

/// Adds a pair, noting its TTL (absolute ms, 0 for none) for `with_ttls`.
fn hash_add_ttl(
    h: &mut Hash,
    ttls: &mut Vec<(Vec<u8>, i64)>,
    f: &[u8],
    v: &[u8],
    at: i64,
    cfg: &LoadConfig,
) -> Option<()> {
    if at < 0 {
        return None;
    }
    hash_add(h, f, v, cfg)?;
    if at > 0 {
        ttls.push((f.to_vec(), at));
    }
    Some(())
}

/// Gives the fields their TTLs, last first: a field given a TTL moves before
/// the fields expiring at the same time or later, so the listpackex order
/// comes out as the payload's (Redis 7.4's). A TTL already past is kept: the
/// field expires on its first access, as ours always do.
fn with_ttls(mut h: Hash, ttls: Vec<(Vec<u8>, i64)>) -> Option<Value> {
    for (f, at) in ttls.iter().rev() {
        h.set_ttl(f, *at);
    }
    nonempty_hash(h)
}

/// Adds a member; `None` for a duplicate member or a NaN score.
fn zset_add(z: &mut ZSet, m: &[u8], score: f64, cfg: &LoadConfig) -> Option<()> {
    if score.is_nan() || z.contains(m) {
        return None;
    }
    z.insert(m, score, cfg.zset);
    Some(())
}

/// A double in the old text form: a length byte (253 NaN, 254 +inf,
/// 255 -inf) and its `%.17g` text.
fn text_double(r: &mut Reader<'_>) -> Option<f64> {
    match r.byte()? {
        253 => None,
        254 => Some(f64::INFINITY),
        255 => Some(f64::NEG_INFINITY),
        n => types::num::parse_f64(r.take(n as usize)?),
    }
}

const CONTAINER_PLAIN: u64 = 1;
const CONTAINER_PACKED: u64 = 2;

fn quicklist(r: &mut Reader<'_>, v2: bool, cfg: &LoadConfig) -> Option<Value> {
    let nodes = r.count()?;
    let mut l = List::new(cfg.list_fill);
    let mut buf = itoa::Buffer::new();
    for _ in 0..nodes {
        let container = if v2 { r.len()? } else { CONTAINER_PACKED };
        let data = r.string()?;
        if data.is_empty() {
            return None;
        }
        // (An empty ziplist or listpack node is skipped, as Redis does.)
        match container {
            CONTAINER_PLAIN => l.push_back(&data),
            CONTAINER_PACKED => {
                let items = if v2 { parse_listpack(&data)? } else { parse_ziplist(&data)? };
                for it in items {
                    l.push_back(it.bytes(&mut buf));
                }
            }
            _ => return None,
        }
    }
    nonempty_list(l)
}

/// Reads a listpack element that must be an integer.
fn int_item(items: &mut std::slice::Iter<'_, Item<'_>>) -> Option<i64> {
    match items.next()? {
        Item::Int(n) => Some(*n),
        Item::Str(s) => types::num::parse_i64(s),
    }
}

/// Reads a listpack element as bytes.
fn str_item(items: &mut std::slice::Iter<'_, Item<'_>>) -> Option<Vec<u8>> {
    Some(items.next()?.bytes(&mut itoa::Buffer::new()).to_vec())
}

fn read_id(r: &mut Reader<'_>) -> Option<StreamId> {
    Some(StreamId::new(r.len()?, r.len()?))
}

fn raw_id(r: &mut Reader<'_>) -> Option<StreamId> {
    let k = r.take(16)?;
    Some(StreamId::new(u64::from_be_bytes(k[..8].try_into().ok()?), u64::from_be_bytes(k[8..].try_into().ok()?)))
}

/// One node's listpack: its entries as (flags, ID, fields) and its master
/// fields. Checks the master entry, every entry's shape and lp-count, the
/// live and deleted counts, and that IDs ascend strictly after `prev`.
type NodeEntries = (Vec<Box<[u8]>>, Vec<(u8, StreamId, Vec<(Vec<u8>, Vec<u8>)>)>);

fn stream_node(master: StreamId, lp: &[u8], prev: &mut Option<StreamId>) -> Option<NodeEntries> {
    let items = parse_listpack(lp)?;
    let mut it = items.iter();
    let live = int_item(&mut it)?;
    let deleted = int_item(&mut it)?;
    let nfields = int_item(&mut it)?;
    if live < 0 || deleted < 0 || nfields < 0 || nfields as usize > items.len() {
        return None;
    }
    let mut master_fields = Vec::with_capacity(nfields as usize);
    for _ in 0..nfields {
        master_fields.push(Box::<[u8]>::from(str_item(&mut it)?));
    }
    if int_item(&mut it)? != 0 {
        return None;
    }
    let total = live.checked_add(deleted)?;
    let mut entries = Vec::new();
    let (mut seen_live, mut seen_deleted) = (0i64, 0i64);
    while it.len() > 0 {
        let flags = int_item(&mut it)?;
        if !(0..=3).contains(&flags) {
            return None;
        }
        let flags = flags as u8;
        let ms = master.ms.checked_add(u64::try_from(int_item(&mut it)?).ok()?)?;
        let seq = master.seq.wrapping_add(int_item(&mut it)? as u64);
        let id = StreamId::new(ms, seq);
        if prev.is_some_and(|p| id <= p) || id < master {
            return None;
        }
        *prev = Some(id);
        let same = flags & SAME_FIELDS != 0;
        let n = if same { nfields } else { int_item(&mut it)? };
        if n < 0 || n as usize > it.len() {
            return None;
        }
        let mut fields = Vec::with_capacity(n as usize);
        let mut shared = master_fields.iter();
        for _ in 0..n {
            let f = if same { shared.next()?.to_vec() } else { str_item(&mut it)? };
            fields.push((f, str_item(&mut it)?));
        }
        if int_item(&mut it)? != n + 3 + if same { 0 } else { n + 1 } {
            return None;
        }
        if flags & DELETED != 0 {
            seen_deleted += 1;
        } else {
            seen_live += 1;
        }
        entries.push((flags, id, fields));
    }
    if entries.is_empty() || seen_live != live || seen_deleted != deleted || entries.len() as i64 != total {
        return None;
    }
    Some((master_fields, entries))
}

fn stream(r: &mut Reader<'_>, v2: bool) -> Option<Value> {
    let mut s = Stream::new();
    let nodes = r.count()?;
    let mut prev = None;
    for _ in 0..nodes {
        let key = r.string()?;
        if key.len() != 16 {
            return None;
        }
        let mut kr = Reader::new(&key);
        let master = raw_id(&mut kr)?;
        let lp = r.string()?;
        let (fields, entries) = stream_node(master, &lp, &mut prev)?;
        let view: Vec<(u8, Entry<'_>)> = entries
            .iter()
            .map(|(f, id, kv)| (*f, Entry { id: *id, fields: kv.iter().map(|(a, b)| (&a[..], &b[..])).collect() }))
            .collect();
        s.push_node(master, fields, &view);
    }
    if r.len()? != s.len {
        return None;
    }
    s.last_id = read_id(r)?;
    if prev.is_some_and(|p| p > s.last_id) {
        return None;
    }
    if v2 {
        s.first_id = read_id(r)?;
        s.max_deleted = read_id(r)?;
        s.entries_added = r.len()?;
    } else {
        // The old format has no first ID: found from the entries, as Redis
        // does.
        s.entries_added = s.len;
        s.refresh_first();
    }
    let ngroups = r.count()?;
    for _ in 0..ngroups {
        let name: Box<[u8]> = r.string()?.into_owned().into();
        let last_id = read_id(r)?;
        // Redis 7.0 writes -1 (as 2^64 - 1) for an unknown counter; the
        // old format has none: estimated from the group's last ID, as Redis
        // does.
        let entries_read = if v2 { r.len()? as i64 } else { s.estimate_distance(last_id) };
        let mut g = Group::new(last_id, entries_read);
        let npel = r.count()?;
        let mut unowned = BTreeSet::new();
        for _ in 0..npel {
            let id = raw_id(r)?;
            let delivery_time = r.u64_le()? as i64;
            let delivery_count = r.len()?;
            let nack = Nack { delivery_time, delivery_count, consumer: Box::from(&b""[..]) };
            if g.pel.insert(id, nack).is_some() {
                return None;
            }
            unowned.insert(id);
        }
        let nconsumers = r.count()?;
        for _ in 0..nconsumers {
            let cname: Box<[u8]> = r.string()?.into_owned().into();
            let seen_time = r.u64_le()? as i64;
            let mut c = Consumer { seen_time, ..Default::default() };
            let n = r.count()?;
            for _ in 0..n {
                let id = raw_id(r)?;
                // Each consumer PEL entry must be in the group's PEL, owned
                // by nobody else.
                if !unowned.remove(&id) {
                    return None;
                }
                g.pel.get_mut(&id)?.consumer = cname.clone();
                c.pel.insert(id);
            }
            if g.consumers.insert(cname, c).is_some() {
                return None;
            }
        }
        if !unowned.is_empty() || s.groups.insert(name, g).is_some() {
            return None;
        }
    }
    Some(Value::Stream(Box::new(s)))
}

/// True for the object types `load_object` reads (a `None` from it is then
/// bad data rather than an unknown type).
pub fn known_type(t: u8) -> bool {
    matches!(
        t,
        ty::STRING
            | ty::LIST
            | ty::SET
            | ty::ZSET
            | ty::HASH
            | ty::ZSET_2
            | ty::HASH_ZIPMAP
            | ty::LIST_ZIPLIST
            | ty::SET_INTSET
            | ty::ZSET_ZIPLIST
            | ty::HASH_ZIPLIST
            | ty::LIST_QUICKLIST
            | ty::STREAM_LISTPACKS
            | ty::HASH_LISTPACK
            | ty::ZSET_LISTPACK
            | ty::LIST_QUICKLIST_2
            | ty::STREAM_LISTPACKS_2
            | ty::HASH_METADATA
            | ty::HASH_LISTPACK_EX
    )
}
