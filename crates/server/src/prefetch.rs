//! Prefetching a pipeline's keys before running it.
//!
//! With many keys, a lookup is a chain of cache misses: the index slot, the
//! entry, the value's bytes. Run one command after another and each miss
//! waits for the previous one. Looking ahead over the complete commands of
//! a batch of input, the connection loop first computes every key's hash,
//! then asks the memory system for all their slots, then for all their
//! entries, then for all their values (`KeyMap::prefetch_*`), so the misses
//! of a whole pipeline overlap; the commands then run as usual and find
//! their data in cache. Nothing here changes any state: a key spec that
//! guesses wrong, a shard that is busy (only `try_lock` is used, so no lock
//! order is involved), or a database changed by SELECT within the batch
//! only make a prefetch useless.

use crate::client::Client;
use crate::cmdspec::KeyPositions;
use crate::commands::{registry, Members};
use crate::server::Server;
use crate::storage::keymap::hash_key;
use crate::storage::{Shard, Value};
use parking_lot::MutexGuard;
use resp::Limits;
use smallvec::SmallVec;
use std::ops::Range;

/// At most this many commands are looked over at once.
const MAX_COMMANDS: usize = 32;
/// At most this many keys are prefetched at once.
const MAX_KEYS: usize = 64;
/// At most this many collection members are prefetched at once.
const MAX_MEMBERS: usize = 64;
/// At most this many keys get hints (a repeated key takes no prefetch slot,
/// so this bounds the hints of a command naming one key many times).
const MAX_HINTS: usize = 4 * MAX_KEYS;

/// The commands `batch` parsed, kept so the connection loop need not parse
/// them again: for each, where it starts in the input buffer (relative to
/// the connection loop's batch), its length, and its argument ranges
/// (relative to its start) in `args`.
#[derive(Default)]
pub struct Lookahead {
    cmds: Vec<(usize, usize, Range<usize>)>,
    args: Vec<Range<usize>>,
    next: usize,
    scratch: Vec<Range<usize>>,
}

impl Lookahead {
    pub fn clear(&mut self) {
        self.cmds.clear();
        self.args.clear();
        self.next = 0;
    }

    /// Gives back the room a huge command's argument ranges took (16
    /// bytes an argument, twice), once its batch is done.
    pub fn shrink(&mut self) {
        const KEEP: usize = 4096;
        if self.args.capacity() > KEEP {
            self.args = Vec::new();
        }
        if self.scratch.capacity() > KEEP {
            self.scratch = Vec::new();
        }
        if self.cmds.capacity() > KEEP {
            self.cmds = Vec::new();
        }
    }

    /// The parsed command starting at `pos`, if the look saw it: its length
    /// and its argument ranges relative to `pos`.
    pub fn take(&mut self, pos: usize) -> Option<(usize, &[Range<usize>])> {
        let (start, len, args) = self.cmds.get(self.next)?.clone();
        if start != pos {
            return None;
        }
        self.next += 1;
        Some((len, &self.args[args]))
    }
}

/// Looks over the complete multibulk commands at the start of `buf` (which
/// starts at offset `at` of the connection's batch), remembers their parses
/// in `look`, and prefetches their keys' data when there are at least two
/// keys. Returns how many bytes were looked over.
pub fn batch(srv: &Server, client: &mut Client, buf: &[u8], at: usize, limits: Limits, look: &mut Lookahead) -> usize {
    look.clear();
    let mut scratch = std::mem::take(&mut look.scratch);
    // The commands of the previous look have all run.
    client.key_hints.clear();
    // A single command (no pipeline): nothing to overlap, and its key's
    // slot and hash are computed where they are needed.
    if let Ok(Some(p)) = resp::parse(buf, limits, &mut scratch) {
        if p.inline.is_none() && p.consumed == buf.len() {
            look.args.extend_from_slice(&scratch);
            look.cmds.push((at, p.consumed, 0..look.args.len()));
            look.scratch = scratch;
            return p.consumed;
        }
    }
    let ks = &srv.keyspace;
    let db = client.db;
    // (shard, hash, key's range in buf, index in `guards`)
    let mut keys: SmallVec<[(usize, u64, Range<usize>, usize); MAX_KEYS]> = SmallVec::new();
    let mut guards: SmallVec<[(usize, Option<MutexGuard<'_, Shard>>); 16]> = SmallVec::new();
    let mut pos = 0;
    let mut commands = 0;
    let mut kp = KeyPositions::new();
    let mut hinted = 0;
    // (index in `keys` of the collection, member)
    let mut members: SmallVec<[(usize, &[u8]); MAX_MEMBERS]> = SmallVec::new();
    while commands < MAX_COMMANDS && keys.len() < MAX_KEYS && hinted < MAX_HINTS {
        let parsed = match resp::parse(&buf[pos..], limits, &mut scratch) {
            Ok(Some(p)) if p.inline.is_none() => p,
            _ => break,
        };
        let base = pos;
        pos += parsed.consumed;
        commands += 1;
        let first_arg = look.args.len();
        look.args.extend_from_slice(&scratch);
        look.cmds.push((at + base, parsed.consumed, first_arg..look.args.len()));
        let argv = crate::argv::Argv::from_ranges(buf, base, &scratch);
        let Some(first) = argv.first() else { continue };
        let entry = match client.last_entry {
            Some(e) if first.eq_ignore_ascii_case(e.spec.name.as_bytes()) => e,
            _ => match registry().get(first) {
                Some(e) => e,
                None => continue,
            },
        };
        if !entry.subs.is_empty() || !entry.spec.arity_ok(argv.len()) {
            continue;
        }
        entry.spec.key_positions(&argv, &mut kp);
        let mut first_key = None;
        for &i in kp.iter() {
            if keys.len() == MAX_KEYS || hinted == MAX_HINTS {
                break;
            }
            let k = argv[i];
            // A pipeline on one key (a queue, a counter, a bitmap) names the
            // same key again and again: its hash is known, its data prefetched.
            if let Some((s, h, r, _)) = keys.last() {
                if buf[r.clone()] == *k {
                    client.key_hints.push(k, *s, *h);
                    hinted += 1;
                    first_key.get_or_insert(keys.len() - 1);
                    continue;
                }
            }
            first_key.get_or_insert(keys.len());
            let (shard, hash) = (ks.shard_of(k), hash_key(k));
            client.key_hints.push(k, shard, hash);
            hinted += 1;
            let g = match guards.iter().position(|(s, _)| *s == shard) {
                Some(g) => g,
                None => {
                    guards.push((shard, ks.try_lock_shard(shard)));
                    guards.len() - 1
                }
            };
            // Step 1 at once: parsing the next command hides its latency.
            if let Some(d) = guards[g].1.as_ref().and_then(|s| s.dbs.get(db)) {
                d.map.prefetch_slot(hash);
            }
            keys.push((shard, hash, base + scratch[i].start..base + scratch[i].end, g));
        }
        if let Some(ki) = first_key.filter(|_| members.len() < MAX_MEMBERS) {
            member_args(entry.members, &argv, |m| {
                members.push((ki, m));
                members.len() < MAX_MEMBERS
            });
        }
    }
    look.scratch = scratch;
    if keys.len() < 2 && members.is_empty() {
        return pos;
    }
    let map = |g: usize| guards[g].1.as_ref().and_then(|s| s.dbs.get(db)).map(|d| &d.map);
    // Each key's value, once found (for the members' step).
    let mut values: SmallVec<[Option<&Value>; MAX_KEYS]> = SmallVec::new();
    if keys.len() >= 2 {
        for k in &keys {
            if let Some(m) = map(k.3) {
                m.prefetch_entry(k.1);
            }
        }
        for k in &keys {
            values.push(map(k.3).and_then(|m| m.prefetch_value(k.1, &buf[k.2.clone()])));
        }
    }
    if members.is_empty() {
        return pos;
    }
    if values.is_empty() {
        // One key (a pipeline on one collection): nothing to overlap for
        // the key itself, found here once.
        for k in &keys {
            values.push(map(k.3).and_then(|m| m.position_hashed(k.1, &buf[k.2.clone()]).map(|i| &m.entry_at(i).value)));
        }
    }
    // Members of large collections: their index slots, then the items the
    // slots point at, then the items' heap bytes, each step for all of
    // them before the next, so the misses overlap. Small collections are
    // scanned in place and skipped.
    let mut todo: SmallVec<[(&Value, u64); MAX_MEMBERS]> = SmallVec::new();
    for &(ki, m) in &members {
        if let Some(v) = values.get(ki).copied().flatten().filter(|v| v.indexes_members()) {
            todo.push((v, types::slots::hash(m)));
        }
    }
    for step in 0..3 {
        for &(v, h) in &todo {
            v.prefetch_member(h, step);
        }
    }
    pos
}

/// Calls `f` with each member argument that `members` describes, until it
/// returns false (a command with a million fields is not walked through).
fn member_args<'b>(members: Members, argv: &crate::argv::Argv<'b>, mut f: impl FnMut(&'b [u8]) -> bool) {
    let (mut i, step) = match members {
        Members::None => return,
        Members::Every { first, step } => (first as usize, step as usize),
        Members::ZAdd => {
            let mut i = 2;
            while i < argv.len() && is_zadd_flag(argv[i]) {
                i += 1;
            }
            (i + 1, 2)
        }
    };
    while i < argv.len() && f(argv[i]) {
        i += step;
    }
}

fn is_zadd_flag(a: &[u8]) -> bool {
    [&b"NX"[..], b"XX", b"GT", b"LT", b"CH", b"INCR"].iter().any(|f| a.eq_ignore_ascii_case(f))
}
