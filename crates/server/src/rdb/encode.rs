//! Values to RDB objects, in the object types Redis 7.0 writes:
//!
//! * strings: `STRING`;
//! * lists: `LIST_QUICKLIST_2`, the elements cut into listpack nodes where
//!   Redis's quicklist would cut them if the list had been built by pushes
//!   at the tail (the node size rule of `list-max-listpack-size`), so a list
//!   built with RPUSH gets Redis's exact bytes. Lists built otherwise may be
//!   cut elsewhere by Redis (its nodes remember their history); RESTORE reads
//!   any cut;
//! * sets: `SET_INTSET` (our intset keeps Redis's cell width, which never
//!   narrows) or `SET` (members in our order; Redis's is its hash order);
//! * hashes: `HASH_LISTPACK` while small (fields in insertion order, as
//!   Redis), else `HASH`;
//! * sorted sets: `ZSET_LISTPACK` while small (scores as Redis's zset
//!   listpack stores them: an integer when the score is integral and within
//!   ±2^62, else `%.17g` text), else `ZSET_2` (greatest first, binary
//!   doubles, as Redis walks its skiplist);
//! * streams: `STREAM_LISTPACKS_2`: each node's listpack (master entry,
//!   entries with flags and ID deltas, deleted ones kept), then length,
//!   last, first and max-deleted IDs, entries added, and the consumer groups
//!   with their PELs and consumers.

use super::listpack::{write_intset, Writer};
use super::{seal, seal_as, ty, write_len, write_string, RDB_VERSION_74};
use crate::storage::Value;
use types::hash::{FieldTtl, Hash};
use types::list::List;
use types::set::Set;
use types::stream::{Stream, StreamId, SAME_FIELDS};
use types::zset::ZSet;

/// The DUMP payload of `v`.
pub fn dump(v: &Value) -> Vec<u8> {
    dump_with(v, DEFAULT_PACKED_THRESHOLD)
}

/// The DUMP payload of `v`, list elements of `threshold` bytes or more in
/// plain nodes.
pub fn dump_with(v: &Value, threshold: usize) -> Vec<u8> {
    let mut out = Vec::new();
    if write_object(&mut out, v, threshold) {
        seal_as(out, RDB_VERSION_74)
    } else {
        seal(out)
    }
}

/// Appends the type byte and the object of `v` (an RDB file puts the key
/// between the two). True if the object needs Redis 7.4's RDB version (a
/// hash with field TTLs).
pub fn write_object(out: &mut Vec<u8>, v: &Value, threshold: usize) -> bool {
    match v {
        Value::Str(s) => {
            out.push(ty::STRING);
            write_string(out, s.as_bytes(&mut itoa::Buffer::new()));
        }
        Value::List(l) => list(out, l, threshold),
        Value::Set(s) => set(out, s),
        Value::Hash(h) => {
            if let Some(min) = h.min_ttl() {
                ttl_hash(out, h, min);
                return true;
            }
            hash(out, h)
        }
        Value::ZSet(z) => zset(out, z),
        Value::Stream(s) => stream(out, s),
    }
    false
}

/// Quicklist sizes by negative fill (-1..-5), and the safety net of a
/// count-limited node.
const SIZE_LEVELS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
const SIZE_SAFETY_LIMIT: usize = 8192;
/// Redis's overestimate of one entry's overhead when deciding a node is full.
const ENTRY_OVERHEAD: usize = 8;
/// Elements from this size on get a plain node of their own (Redis's
/// quicklist packed threshold, which DEBUG QUICKLIST-PACKED-THRESHOLD
/// changes per server).
pub const DEFAULT_PACKED_THRESHOLD: usize = 1 << 30;
const CONTAINER_PLAIN: u64 = 1;
const CONTAINER_PACKED: u64 = 2;

/// Redis's `_quicklistNodeAllowInsert`: may a node of `bytes` bytes and
/// `count` entries take one more element of `len` bytes?
fn node_takes(fill: i32, bytes: usize, count: usize, len: usize) -> bool {
    let new = bytes + len + ENTRY_OVERHEAD;
    if fill < 0 {
        if let Some(&level) = SIZE_LEVELS.get((-(fill as i64) - 1) as usize) {
            return new <= level;
        }
    }
    new <= SIZE_SAFETY_LIMIT && (count as i64) < fill as i64
}

/// A packed threshold as Redis's `quicklistisSetPackedThreshold` takes it:
/// None above 4 GiB - 1 MiB, 0 for the default.
pub fn packed_threshold(sz: u64) -> Option<usize> {
    if sz > (1u64 << 32) - (1 << 20) {
        return None;
    }
    Some(if sz == 0 { DEFAULT_PACKED_THRESHOLD } else { sz as usize })
}

/// A quicklist node as Redis would hold it: plain (one element, its bytes)
/// or packed (a listpack).
pub struct QlNode {
    pub plain: bool,
    pub data: Vec<u8>,
}

/// The list's elements cut into the nodes of Redis's quicklist (see the
/// module header: as if pushed at the tail).
pub fn quicklist_nodes(l: &List, threshold: usize) -> Vec<QlNode> {
    let mut nodes = Vec::new();
    let mut cur: Option<Writer> = None;
    let mut it = l.iter();
    while let Some(e) = it.next() {
        if e.len() >= threshold {
            if let Some(w) = cur.take() {
                nodes.push(QlNode { plain: false, data: w.finish() });
            }
            nodes.push(QlNode { plain: true, data: e.to_vec() });
            continue;
        }
        if let Some(w) = &cur {
            if !node_takes(l.fill(), w.bytes(), w.count(), e.len()) {
                nodes.push(QlNode { plain: false, data: cur.take().expect("a node").finish() });
            }
        }
        cur.get_or_insert_with(Writer::new).push_str(e);
    }
    if let Some(w) = cur {
        nodes.push(QlNode { plain: false, data: w.finish() });
    }
    nodes
}

fn list(out: &mut Vec<u8>, l: &List, threshold: usize) {
    out.push(ty::LIST_QUICKLIST_2);
    let nodes = quicklist_nodes(l, threshold);
    write_len(out, nodes.len() as u64);
    for n in nodes {
        write_len(out, if n.plain { CONTAINER_PLAIN } else { CONTAINER_PACKED });
        write_string(out, &n.data);
    }
}

fn set(out: &mut Vec<u8>, s: &Set) {
    match s {
        Set::Ints(is) => {
            out.push(ty::SET_INTSET);
            write_string(out, &write_intset(is.width(), is.len(), is.iter()));
        }
        _ => {
            out.push(ty::SET);
            write_len(out, s.len() as u64);
            let mut buf = itoa::Buffer::new();
            for m in s.iter() {
                write_string(out, m.as_bytes(&mut buf));
            }
        }
    }
}

fn hash(out: &mut Vec<u8>, h: &Hash) {
    let mut c = h.cursor();
    if h.encoding() == "hashtable" {
        out.push(ty::HASH);
        write_len(out, h.len() as u64);
        while let Some((f, v)) = c.next_pair() {
            write_string(out, f);
            write_string(out, v);
        }
    } else {
        out.push(ty::HASH_LISTPACK);
        let mut w = Writer::new();
        while let Some((f, v)) = c.next_pair() {
            w.push_str(f);
            w.push_str(v);
        }
        write_string(out, &w.finish());
    }
}

/// A hash with field TTLs, as Redis 7.4.1 writes it: the nearest expiry
/// (8 bytes LE), then for a listpack (`HASH_LISTPACK_EX`) one listpack of
/// field, value, TTL (0 for none) triplets in the encoding's order (fields
/// with a TTL first, nearest first), else (`HASH_METADATA`) a count and per
/// field its TTL relative to the nearest (`ttl - min + 1`, 0 for none), the
/// field and the value.
fn ttl_hash(out: &mut Vec<u8>, h: &Hash, min: i64) {
    let ttl = |f: &[u8]| match h.ttl(f) {
        FieldTtl::At(t) => t,
        _ => 0,
    };
    let mut c = h.cursor();
    if h.encoding() == "hashtable" {
        out.push(ty::HASH_METADATA);
        out.extend_from_slice(&min.to_le_bytes());
        write_len(out, h.len() as u64);
        while let Some((f, v)) = c.next_pair() {
            let t = ttl(f);
            write_len(out, if t == 0 { 0 } else { (t - min) as u64 + 1 });
            write_string(out, f);
            write_string(out, v);
        }
    } else {
        out.push(ty::HASH_LISTPACK_EX);
        out.extend_from_slice(&min.to_le_bytes());
        let mut w = Writer::new();
        while let Some((f, v)) = c.next_pair() {
            w.push_str(f);
            w.push_str(v);
            w.push_int(ttl(f));
        }
        write_string(out, &w.finish());
    }
}

/// Redis's double2ll: the score as an integer when it is integral and
/// within ±2^62 (so -0 becomes 0, as in Redis's listpacks).
fn score_as_int(d: f64) -> Option<i64> {
    let bound = (i64::MAX / 2) as f64;
    if !(-bound..=bound).contains(&d) {
        return None;
    }
    let n = d as i64;
    (n as f64 == d).then_some(n)
}

fn zset(out: &mut Vec<u8>, z: &ZSet) {
    if z.is_pack() {
        out.push(ty::ZSET_LISTPACK);
        let mut w = Writer::new();
        for (m, s) in z.iter() {
            w.push_str(m);
            match score_as_int(s) {
                Some(n) => w.push_int(n),
                None => w.push_str(resp::fmt_g17(s).as_bytes()),
            }
        }
        write_string(out, &w.finish());
    } else {
        out.push(ty::ZSET_2);
        write_len(out, z.len() as u64);
        let n = z.len();
        for (m, s) in z.range(0, n.saturating_sub(1), true) {
            write_string(out, m);
            out.extend_from_slice(&s.to_le_bytes());
        }
    }
}

/// A stream ID as a radix-tree key / raw PEL ID: 16 bytes big endian.
pub(super) fn id_key(id: StreamId) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&id.ms.to_be_bytes());
    k[8..].copy_from_slice(&id.seq.to_be_bytes());
    k
}

fn write_id(out: &mut Vec<u8>, id: StreamId) {
    write_len(out, id.ms);
    write_len(out, id.seq);
}

fn stream(out: &mut Vec<u8>, s: &Stream) {
    out.push(ty::STREAM_LISTPACKS_2);
    write_len(out, s.node_count() as u64);
    for node in s.node_views() {
        write_string(out, &id_key(node.master));
        let mut w = Writer::new();
        w.push_int(node.live as i64);
        w.push_int(node.deleted as i64);
        w.push_int(node.fields.len() as i64);
        for f in node.fields {
            w.push_str(f);
        }
        w.push_int(0);
        for (flags, e) in &node.entries {
            w.push_int(*flags as i64);
            w.push_int(e.id.ms.wrapping_sub(node.master.ms) as i64);
            w.push_int(e.id.seq.wrapping_sub(node.master.seq) as i64);
            let same = flags & SAME_FIELDS != 0;
            if !same {
                w.push_int(e.fields.len() as i64);
            }
            for (f, v) in &e.fields {
                if !same {
                    w.push_str(f);
                }
                w.push_str(v);
            }
            let n = e.fields.len() as i64;
            w.push_int(n + 3 + if same { 0 } else { n + 1 });
        }
        write_string(out, &w.finish());
    }
    write_len(out, s.len);
    write_id(out, s.last_id);
    write_id(out, s.first_id);
    write_id(out, s.max_deleted);
    write_len(out, s.entries_added);
    write_len(out, s.groups.len() as u64);
    for (name, g) in &s.groups {
        write_string(out, name);
        write_id(out, g.last_id);
        write_len(out, g.entries_read as u64);
        write_len(out, g.pel.len() as u64);
        for (id, nack) in &g.pel {
            out.extend_from_slice(&id_key(*id));
            out.extend_from_slice(&nack.delivery_time.to_le_bytes());
            write_len(out, nack.delivery_count);
        }
        write_len(out, g.consumers.len() as u64);
        for (cname, c) in &g.consumers {
            write_string(out, cname);
            out.extend_from_slice(&c.seen_time.to_le_bytes());
            write_len(out, c.pel.len() as u64);
            for id in &c.pel {
                out.extend_from_slice(&id_key(*id));
            }
        }
    }
}
