//! Streams: an append-only log of entries (ID → field/value pairs) with
//! consumer groups.
//!
//! Representation. Entries are packed into nodes kept in a B-tree keyed by
//! the ID of their first entry (the "master" ID), like Redis's radix tree
//! of listpacks. A node holds a byte buffer of entries in ID order; each
//! entry is stored as a flags byte, its ID as a delta from the master ID,
//! and its values; its field names are omitted when they equal the node's
//! master fields (the fields of the node's first entry), so a stream whose
//! entries share a schema stores each field name once per node. Deletion
//! only sets a flag (a tombstone); a node whose entries are all deleted is
//! removed. Nodes are split exactly where Redis splits its listpacks (by
//! `stream-node-max-entries`, live plus deleted, and by
//! `stream-node-max-bytes` against a model of the listpack's byte size), so
//! approximate trimming (`~`), which only drops whole nodes, leaves the
//! same entries Redis would.
//!
//! Invariants: `len` counts live entries; `last_id` is the greatest ID ever
//! added (or set by XSETID) and never decreases; `first_id` is the first
//! live entry (zero when empty); `max_deleted` is the greatest ID deleted
//! by XDEL (zero if none); `entries_added` counts every entry ever added.
//! Consumer groups are kept by name in byte order, their pending entries
//! (PEL) by ID; each pending entry names the consumer that owns it, and
//! each consumer keeps the set of IDs it owns.

use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const ZERO: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId { ms: u64::MAX, seq: u64::MAX };

    pub const fn new(ms: u64, seq: u64) -> Self {
        StreamId { ms, seq }
    }

    pub fn is_zero(&self) -> bool {
        self.ms == 0 && self.seq == 0
    }

    /// The next ID, or `None` past the greatest.
    pub fn incr(&self) -> Option<StreamId> {
        if self.seq == u64::MAX {
            if self.ms == u64::MAX {
                None
            } else {
                Some(StreamId::new(self.ms + 1, 0))
            }
        } else {
            Some(StreamId::new(self.ms, self.seq + 1))
        }
    }

    /// The previous ID, or `None` before 0-0.
    pub fn decr(&self) -> Option<StreamId> {
        if self.seq == 0 {
            if self.ms == 0 {
                None
            } else {
                Some(StreamId::new(self.ms - 1, u64::MAX))
            }
        } else {
            Some(StreamId::new(self.ms, self.seq - 1))
        }
    }

    /// `ms-seq`.
    pub fn to_bytes(&self) -> Vec<u8> {
        format!("{}-{}", self.ms, self.seq).into_bytes()
    }

    /// Parses `ms[-seq]`; a missing sequence is `missing_seq`, and `ms-*`
    /// gives `(id, false)` (sequence to be generated) when `allow_star`.
    pub fn parse(b: &[u8], missing_seq: u64, allow_star: bool) -> Option<(StreamId, bool)> {
        if b.len() > 127 {
            return None;
        }
        let s = std::str::from_utf8(b).ok()?;
        match s.split_once('-') {
            None => Some((StreamId::new(parse_u64(s)?, missing_seq), true)),
            Some((ms, "*")) if allow_star => Some((StreamId::new(parse_u64(ms)?, 0), false)),
            Some((ms, seq)) => Some((StreamId::new(parse_u64(ms)?, parse_u64(seq)?), true)),
        }
    }
}

/// Redis's string2ull: digits only (no sign), must fit.
fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Entry flags, as in Redis's stream listpacks.
pub const DELETED: u8 = 1;
pub const SAME_FIELDS: u8 = 2;

/// One node as `Stream::node_views` shows it.
pub struct NodeView<'a> {
    pub master: StreamId,
    pub fields: &'a [Box<[u8]>],
    pub live: usize,
    pub deleted: usize,
    /// (flags, entry) in ID order.
    pub entries: Vec<(u8, Entry<'a>)>,
}

/// Bytes of a listpack element's back length, for `len` encoded bytes
/// (Redis's lpEncodeBacklen).
pub fn lp_backlen_bytes(len: usize) -> usize {
    match len {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// Bytes a listpack element of `len` encoded bytes takes with its back length.
fn lp_element(len: usize) -> usize {
    len + lp_backlen_bytes(len)
}

fn lp_int(v: i64) -> usize {
    lp_element(match v {
        0..=127 => 1,
        -4096..=4095 => 2,
        -32768..=32767 => 3,
        -8388608..=8388607 => 4,
        _ if v >= i32::MIN as i64 && v <= i32::MAX as i64 => 5,
        _ => 9,
    })
}

/// Redis's string2ll in its strict form: what listpacks store as integers.
fn as_lp_integer(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let digits = if s[0] == b'-' { &s[1..] } else { s };
    if digits.is_empty() || !digits.iter().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if digits.len() > 1 && digits[0] == b'0' {
        return None;
    }
    if s == b"-0" {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

fn lp_str(s: &[u8]) -> usize {
    if let Some(v) = as_lp_integer(s) {
        return lp_int(v);
    }
    lp_element(match s.len() {
        0..=63 => 1 + s.len(),
        64..=4095 => 2 + s.len(),
        _ => 5 + s.len(),
    })
}

fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn get_varint(buf: &[u8], pos: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let b = buf[*pos];
        *pos += 1;
        v |= ((b & 0x7f) as u64) << shift;
        if b < 0x80 {
            return v;
        }
        shift += 7;
    }
}

fn put_bytes(buf: &mut Vec<u8>, b: &[u8]) {
    put_varint(buf, b.len() as u64);
    buf.extend_from_slice(b);
}

fn get_bytes<'a>(buf: &'a [u8], pos: &mut usize) -> &'a [u8] {
    let n = get_varint(buf, pos) as usize;
    let s = &buf[*pos..*pos + n];
    *pos += n;
    s
}

/// One node: entries sharing a master ID and master fields.
#[derive(Clone, Debug)]
struct Node {
    fields: Vec<Box<[u8]>>,
    data: Vec<u8>,
    live: usize,
    deleted: usize,
    /// Modeled listpack size without the count and deleted elements.
    lp_body: usize,
}

impl Node {
    fn lp_bytes(&self) -> usize {
        7 + self.lp_body + lp_int(self.live as i64) + lp_int(self.deleted as i64)
    }
}

/// An entry as read from a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    pub id: StreamId,
    pub fields: Vec<(&'a [u8], &'a [u8])>,
}

/// Decodes the entry at `pos` of a node; returns it, its flags offset,
/// and the offset after it.
fn decode<'a>(master: StreamId, node: &'a Node, pos: usize) -> (Entry<'a>, u8, usize) {
    let d = &node.data;
    let mut p = pos;
    let flags = d[p];
    p += 1;
    let ms = master.ms.wrapping_add(get_varint(d, &mut p));
    let seq = master.seq.wrapping_add(get_varint(d, &mut p));
    let mut fields = Vec::new();
    if flags & SAME_FIELDS != 0 {
        for f in &node.fields {
            let v = get_bytes(d, &mut p);
            fields.push((&f[..], v));
        }
    } else {
        let n = get_varint(d, &mut p) as usize;
        for _ in 0..n {
            let f = get_bytes(d, &mut p);
            let v = get_bytes(d, &mut p);
            fields.push((f, v));
        }
    }
    (Entry { id: StreamId::new(ms, seq), fields }, flags, p)
}

/// Entry offsets of a node, in order.
fn offsets(master: StreamId, node: &Node) -> Vec<usize> {
    let mut v = Vec::with_capacity(node.live + node.deleted);
    let mut p = 0;
    while p < node.data.len() {
        v.push(p);
        p = decode(master, node, p).2;
    }
    v
}

/// A pending (delivered, unacknowledged) entry of a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nack {
    pub delivery_time: i64,
    pub delivery_count: u64,
    pub consumer: Box<[u8]>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Consumer {
    pub seen_time: i64,
    pub pel: BTreeSet<StreamId>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Group {
    pub last_id: StreamId,
    /// Logical read counter, or -1 when unknown.
    pub entries_read: i64,
    pub pel: BTreeMap<StreamId, Nack>,
    pub consumers: BTreeMap<Box<[u8]>, Consumer>,
}

impl Group {
    pub fn new(last_id: StreamId, entries_read: i64) -> Self {
        Group { last_id, entries_read, ..Default::default() }
    }

    /// Creates the consumer if missing; true if created.
    pub fn create_consumer(&mut self, name: &[u8], now: i64) -> bool {
        if self.consumers.contains_key(name) {
            return false;
        }
        self.consumers.insert(name.into(), Consumer { seen_time: now, pel: BTreeSet::new() });
        true
    }

    /// Deletes a consumer and its pending entries; returns how many it had.
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let c = self.consumers.remove(name)?;
        for id in &c.pel {
            self.pel.remove(id);
        }
        Some(c.pel.len())
    }

    /// Acknowledges an ID; true if it was pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        match self.pel.remove(&id) {
            Some(n) => {
                if let Some(c) = self.consumers.get_mut(&n.consumer) {
                    c.pel.remove(&id);
                }
                true
            }
            None => false,
        }
    }

    /// Makes `consumer` the owner of the pending `id` (creating the entry if
    /// missing) with the given delivery time and count.
    pub fn assign(&mut self, id: StreamId, consumer: &[u8], time: i64, count: u64) {
        if let Some(old) = self.pel.get(&id) {
            if &old.consumer[..] != consumer {
                let oldc = old.consumer.clone();
                if let Some(c) = self.consumers.get_mut(&oldc) {
                    c.pel.remove(&id);
                }
            }
        }
        self.pel.insert(id, Nack { delivery_time: time, delivery_count: count, consumer: consumer.into() });
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pel.insert(id);
        }
    }
}

/// How to trim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trim {
    MaxLen(u64),
    MinId(StreamId),
}

#[derive(Clone, Debug, Default)]
pub struct Stream {
    nodes: BTreeMap<StreamId, Node>,
    pub len: u64,
    pub last_id: StreamId,
    pub first_id: StreamId,
    pub max_deleted: StreamId,
    pub entries_added: u64,
    pub groups: BTreeMap<Box<[u8]>, Group>,
}

/// Node limits (`stream-node-max-bytes`, `stream-node-max-entries`).
#[derive(Clone, Copy, Debug)]
pub struct NodeLimits {
    pub max_bytes: usize,
    pub max_entries: usize,
}

const LP_MAX: usize = 1 << 30;

impl Stream {
    pub fn new() -> Self {
        Stream::default()
    }

    /// Number of nodes (XINFO's radix-tree-keys).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Nodes of a radix tree holding the node keys (XINFO's
    /// radix-tree-nodes), modeled on Redis's compressed radix tree.
    pub fn rax_nodes(&self) -> usize {
        let keys: Vec<[u8; 16]> = self
            .nodes
            .keys()
            .map(|id| {
                let mut k = [0u8; 16];
                k[..8].copy_from_slice(&id.ms.to_be_bytes());
                k[8..].copy_from_slice(&id.seq.to_be_bytes());
                k
            })
            .collect();
        fn count(keys: &[[u8; 16]], depth: usize) -> usize {
            if keys.is_empty() || depth == 16 {
                return 1;
            }
            let first = keys[0][depth];
            if keys.iter().all(|k| k[depth] == first) {
                // A compressed run up to where the keys diverge (or end).
                let last = &keys[keys.len() - 1];
                let mut d = depth;
                while d < 16 && keys[0][d] == last[d] {
                    d += 1;
                }
                return 1 + count(keys, d);
            }
            let mut n = 1;
            let mut i = 0;
            while i < keys.len() {
                let b = keys[i][depth];
                let j = i + keys[i..].iter().take_while(|k| k[depth] == b).count();
                n += count(&keys[i..j], depth + 1);
                i = j;
            }
            n
        }
        if keys.is_empty() {
            1
        } else {
            count(&keys, 0)
        }
    }

    /// Appends an entry with the given (already validated, greater than
    /// `last_id`) ID.
    pub fn append(&mut self, id: StreamId, fields: &[(&[u8], &[u8])], limits: NodeLimits) {
        let max_bytes = if limits.max_bytes == 0 || limits.max_bytes > LP_MAX { LP_MAX } else { limits.max_bytes };
        let total: usize = fields.iter().map(|(f, v)| f.len() + v.len()).sum();
        let need_new = match self.nodes.last_key_value() {
            None => true,
            Some((_, n)) => {
                n.lp_bytes() + total >= max_bytes
                    || (limits.max_entries > 0 && n.live + n.deleted >= limits.max_entries)
            }
        };
        if need_new {
            let mut body = lp_int(fields.len() as i64) + lp_int(0);
            for (f, _) in fields {
                body += lp_str(f);
            }
            let node = Node {
                fields: fields.iter().map(|(f, _)| Box::from(*f)).collect(),
                data: Vec::new(),
                live: 0,
                deleted: 0,
                lp_body: body,
            };
            self.nodes.insert(id, node);
        }
        let (master, node) = self.nodes.iter_mut().next_back().expect("a node");
        let same = node.fields.len() == fields.len() && node.fields.iter().zip(fields).all(|(a, (b, _))| &a[..] == *b);
        let flags = if same { SAME_FIELDS } else { 0 };
        let dms = id.ms.wrapping_sub(master.ms);
        let dseq = id.seq.wrapping_sub(master.seq);
        node.data.push(flags);
        put_varint(&mut node.data, dms);
        put_varint(&mut node.data, dseq);
        let mut lp = lp_int(flags as i64) + lp_int(dms as i64) + lp_int(dseq as i64);
        if !same {
            put_varint(&mut node.data, fields.len() as u64);
            lp += lp_int(fields.len() as i64);
        }
        for (f, v) in fields {
            if !same {
                put_bytes(&mut node.data, f);
                lp += lp_str(f);
            }
            put_bytes(&mut node.data, v);
            lp += lp_str(v);
        }
        let lp_count = fields.len() as i64 + 3 + if same { 0 } else { fields.len() as i64 + 1 };
        lp += lp_int(lp_count);
        node.lp_body += lp;
        node.live += 1;
        self.len += 1;
        self.entries_added += 1;
        self.last_id = id;
        if self.len == 1 {
            self.first_id = id;
        }
    }

    /// Every node as Redis lays out its listpack (for the RDB codec), in
    /// ID order: deleted entries included, with their flags.
    pub fn node_views(&self) -> impl Iterator<Item = NodeView<'_>> + '_ {
        self.nodes.iter().map(|(&master, node)| NodeView {
            master,
            fields: &node.fields,
            live: node.live,
            deleted: node.deleted,
            entries: offsets(master, node)
                .into_iter()
                .map(|p| {
                    let (e, flags, _) = decode(master, node, p);
                    (flags, e)
                })
                .collect(),
        })
    }

    /// Adds a node as read from an RDB listpack (after every node already
    /// held, IDs ascending, validated by the caller: the master fields, and
    /// each entry's flags, ID and field/value pairs). Counts its live entries
    /// into `len`; the caller sets the other metadata.
    pub fn push_node(&mut self, master: StreamId, fields: Vec<Box<[u8]>>, entries: &[(u8, Entry<'_>)]) {
        let mut lp_body = lp_int(fields.len() as i64) + lp_int(0);
        for f in &fields {
            lp_body += lp_str(f);
        }
        let mut node = Node { fields, data: Vec::new(), live: 0, deleted: 0, lp_body };
        for (flags, e) in entries {
            let same = flags & SAME_FIELDS != 0;
            let flags = flags & (SAME_FIELDS | DELETED);
            let dms = e.id.ms.wrapping_sub(master.ms);
            let dseq = e.id.seq.wrapping_sub(master.seq);
            node.data.push(flags);
            put_varint(&mut node.data, dms);
            put_varint(&mut node.data, dseq);
            let mut lp = lp_int(flags as i64) + lp_int(dms as i64) + lp_int(dseq as i64);
            if !same {
                put_varint(&mut node.data, e.fields.len() as u64);
                lp += lp_int(e.fields.len() as i64);
            }
            for (f, v) in &e.fields {
                if !same {
                    put_bytes(&mut node.data, f);
                    lp += lp_str(f);
                }
                put_bytes(&mut node.data, v);
                lp += lp_str(v);
            }
            let n = e.fields.len() as i64;
            lp += lp_int(n + 3 + if same { 0 } else { n + 1 });
            node.lp_body += lp;
            if flags & DELETED != 0 {
                node.deleted += 1;
            } else {
                node.live += 1;
            }
        }
        self.len += node.live as u64;
        self.nodes.insert(master, node);
    }

    /// Visits live entries with `start <= id <= end`, forward or backward,
    /// until `f` returns false.
    pub fn range<'s>(&'s self, start: StreamId, end: StreamId, rev: bool, mut f: impl FnMut(Entry<'s>) -> bool) {
        if start > end {
            return;
        }
        // The node holding `start` is the last one whose master ID <= start.
        let from = self.nodes.range(..=start).next_back().map(|(k, _)| *k).unwrap_or(StreamId::ZERO);
        let nodes = self.nodes.range(from..=end);
        if !rev {
            for (master, node) in nodes {
                let mut p = 0;
                while p < node.data.len() {
                    let (e, flags, next) = decode(*master, node, p);
                    p = next;
                    if e.id > end {
                        return;
                    }
                    if flags & DELETED != 0 || e.id < start {
                        continue;
                    }
                    if !f(e) {
                        return;
                    }
                }
            }
        } else {
            for (master, node) in nodes.rev() {
                for &p in offsets(*master, node).iter().rev() {
                    let (e, flags, _) = decode(*master, node, p);
                    if e.id < start {
                        return;
                    }
                    if flags & DELETED != 0 || e.id > end {
                        continue;
                    }
                    if !f(e) {
                        return;
                    }
                }
            }
        }
    }

    /// The live entry with this ID.
    pub fn get(&self, id: StreamId) -> Option<Entry<'_>> {
        let mut found = None;
        self.range(id, id, false, |e| {
            found = Some(e);
            false
        });
        found
    }

    pub fn contains(&self, id: StreamId) -> bool {
        self.get(id).is_some()
    }

    /// The first (or last) live entry's ID.
    pub fn edge_id(&self, last: bool) -> Option<StreamId> {
        let mut found = None;
        self.range(StreamId::ZERO, StreamId::MAX, last, |e| {
            found = Some(e.id);
            false
        });
        found
    }

    /// Deletes one entry (XDEL); true if it was live.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some((&master, _)) = self.nodes.range(..=id).next_back() else { return false };
        let node = self.nodes.get_mut(&master).expect("node");
        let mut p = 0;
        while p < node.data.len() {
            let (e, flags, next) = decode(master, node, p);
            if e.id == id {
                if flags & DELETED != 0 {
                    return false;
                }
                node.data[p] |= DELETED;
                node.live -= 1;
                node.deleted += 1;
                if node.live == 0 {
                    self.nodes.remove(&master);
                }
                self.len -= 1;
                return true;
            }
            if e.id > id {
                return false;
            }
            p = next;
        }
        false
    }

    /// Updates `first_id` after deletions.
    pub fn refresh_first(&mut self) {
        self.first_id = self.edge_id(false).unwrap_or(StreamId::ZERO);
    }

    /// Trims as XTRIM/XADD do: whole nodes first; with `approx` only whole
    /// nodes; `limit` (0: none) caps the entries removed. Returns how many
    /// entries were removed.
    pub fn trim(&mut self, how: Trim, approx: bool, limit: u64) -> u64 {
        let mut deleted = 0u64;
        loop {
            if let Trim::MaxLen(max) = how {
                if self.len <= max {
                    break;
                }
            }
            let Some((&master, node)) = self.nodes.iter().next() else { break };
            let entries = node.live as u64;
            if limit > 0 && deleted + entries > limit {
                break;
            }
            let remove = match how {
                Trim::MaxLen(max) => self.len - entries >= max,
                Trim::MinId(min) => {
                    let last = offsets(master, node).last().map(|&p| decode(master, node, p).0.id);
                    last.map(|l| l < min).unwrap_or(true)
                }
            };
            if remove {
                self.nodes.remove(&master);
                self.len -= entries;
                deleted += entries;
                continue;
            }
            if approx {
                break;
            }
            // Mark entries of this node deleted until the condition holds.
            let node = self.nodes.get_mut(&master).expect("node");
            let mut p = 0;
            let mut from_node = 0;
            while p < node.data.len() {
                let (e, flags, next) = decode(master, node, p);
                let stop = match how {
                    Trim::MaxLen(max) => self.len <= max,
                    Trim::MinId(min) => e.id >= min,
                };
                if stop {
                    break;
                }
                if flags & DELETED == 0 {
                    node.data[p] |= DELETED;
                    from_node += 1;
                    self.len -= 1;
                }
                p = next;
            }
            node.live -= from_node;
            node.deleted += from_node;
            deleted += from_node as u64;
            break;
        }
        if self.len == 0 {
            self.first_id = StreamId::ZERO;
        } else if deleted > 0 {
            self.refresh_first();
        }
        deleted
    }

    /// True if an entry deleted by XDEL may lie in [start, end] (Redis's
    /// streamRangeHasTombstones).
    pub fn range_has_tombstones(&self, start: StreamId, end: StreamId) -> bool {
        if self.len == 0 || self.max_deleted.is_zero() || self.first_id > self.max_deleted {
            return false;
        }
        start <= self.max_deleted && self.max_deleted <= end
    }

    /// Redis's streamEstimateDistanceFromFirstEverEntry: the logical read
    /// counter of `id`, or -1 when it cannot be known.
    pub fn estimate_distance(&self, id: StreamId) -> i64 {
        if self.entries_added == 0 {
            return 0;
        }
        if self.len == 0 && id <= self.last_id {
            return self.entries_added as i64;
        }
        if id == self.last_id {
            return self.entries_added as i64;
        }
        if id > self.last_id {
            return -1;
        }
        if self.max_deleted.is_zero() || self.max_deleted < self.first_id {
            if id < self.first_id {
                return (self.entries_added - self.len) as i64;
            }
            if id == self.first_id {
                return (self.entries_added - self.len + 1) as i64;
            }
        }
        -1
    }

    /// The lag of a group (XINFO), or `None` when it cannot be known.
    pub fn group_lag(&self, g: &Group) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if g.entries_read != -1 && !self.range_has_tombstones(g.last_id, StreamId::MAX) {
            return Some(self.entries_added as i64 - g.entries_read);
        }
        let read = self.estimate_distance(g.last_id);
        (read != -1).then(|| self.entries_added as i64 - read)
    }

    /// Advances a group past `id` as delivering it does (XREADGROUP).
    pub fn group_delivered(&self, g: &mut Group, id: StreamId) {
        if id > g.last_id {
            if g.entries_read != -1 && !self.range_has_tombstones(id, StreamId::MAX) {
                g.entries_read += 1;
            } else if self.entries_added > 0 {
                g.entries_read = self.estimate_distance(id);
            }
            g.last_id = id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LIM: NodeLimits = NodeLimits { max_bytes: 4096, max_entries: 100 };

    fn ids(s: &Stream, rev: bool) -> Vec<StreamId> {
        let mut v = Vec::new();
        s.range(StreamId::ZERO, StreamId::MAX, rev, |e| {
            v.push(e.id);
            true
        });
        v
    }

    #[test]
    fn append_range_delete() {
        let mut s = Stream::new();
        for i in 1..=250u64 {
            let v = i.to_string();
            let fields: Vec<(&[u8], &[u8])> =
                if i % 7 == 0 { vec![(b"other", v.as_bytes())] } else { vec![(b"a", v.as_bytes()), (b"b", b"x")] };
            s.append(StreamId::new(i, 0), &fields, LIM);
        }
        assert_eq!(s.len, 250);
        assert_eq!(s.node_count(), 3);
        let e = s.get(StreamId::new(14, 0)).unwrap();
        assert_eq!(e.fields, vec![(&b"other"[..], &b"14"[..])]);
        let e = s.get(StreamId::new(15, 0)).unwrap();
        assert_eq!(e.fields, vec![(&b"a"[..], &b"15"[..]), (&b"b"[..], &b"x"[..])]);
        assert!(s.delete(StreamId::new(15, 0)));
        assert!(!s.delete(StreamId::new(15, 0)));
        assert_eq!(s.len, 249);
        let f = ids(&s, false);
        let mut r = ids(&s, true);
        r.reverse();
        assert_eq!(f, r);
        assert_eq!(f.len(), 249);
        assert_eq!(s.trim(Trim::MaxLen(120), true, 0), 99);
        assert_eq!(s.trim(Trim::MaxLen(120), false, 0), 30);
        assert_eq!(s.len, 120);
        assert_eq!(s.first_id, StreamId::new(131, 0));
        assert_eq!(s.trim(Trim::MinId(StreamId::new(240, 0)), false, 0), 109);
        assert_eq!(ids(&s, false).first(), Some(&StreamId::new(240, 0)));
    }

    #[test]
    fn rax_node_model() {
        let mut s = Stream::new();
        assert_eq!(s.rax_nodes(), 1);
        s.append(StreamId::new(1, 0), &[(b"f", b"v")], LIM);
        assert_eq!(s.rax_nodes(), 2);
    }

    #[test]
    fn parse_ids() {
        assert_eq!(StreamId::parse(b"5", 0, false), Some((StreamId::new(5, 0), true)));
        assert_eq!(StreamId::parse(b"5", u64::MAX, false), Some((StreamId::new(5, u64::MAX), true)));
        assert_eq!(StreamId::parse(b"5-*", 0, true), Some((StreamId::new(5, 0), false)));
        assert_eq!(StreamId::parse(b"5-*", 0, false), None);
        assert_eq!(StreamId::parse(b"-1", 0, false), None);
        assert_eq!(StreamId::parse(b"1-2-3", 0, false), None);
        assert_eq!(StreamId::parse(b"18446744073709551616", 0, false), None);
    }

    proptest! {
        #[test]
        fn matches_a_btreemap(ops in proptest::collection::vec((0u8..4, 1u64..60), 1..200)) {
            let mut s = Stream::new();
            let mut model: BTreeMap<StreamId, u64> = BTreeMap::new();
            let mut next = 1u64;
            let small = NodeLimits { max_bytes: 4096, max_entries: 5 };
            for (op, x) in ops {
                match op {
                    0 | 1 => {
                        let id = StreamId::new(next, x);
                        next += 1;
                        let v = x.to_string();
                        s.append(id, &[(b"f", v.as_bytes())], small);
                        model.insert(id, x);
                    }
                    2 => {
                        let id = model.keys().nth(x as usize % (model.len().max(1))).copied();
                        if let Some(id) = id {
                            prop_assert!(s.delete(id));
                            model.remove(&id);
                        }
                    }
                    _ => {
                        let n = s.trim(Trim::MaxLen(x), false, 0);
                        while model.len() as u64 > x { let k = *model.keys().next().unwrap(); model.remove(&k); }
                        prop_assert_eq!(s.len, model.len() as u64);
                        let _ = n;
                    }
                }
                prop_assert_eq!(s.len, model.len() as u64);
                let got = ids(&s, false);
                prop_assert_eq!(&got, &model.keys().copied().collect::<Vec<_>>());
                let mut rev = ids(&s, true);
                rev.reverse();
                prop_assert_eq!(got, rev);
            }
        }
    }
}
