//! Command families and the registry that binds them to specs.
//!
//! Each family file exports `COMMANDS: &[Cmd]`, binding handlers to the
//! specs of `cmdspec::table` by symbol. `registry()` gathers all families
//! once: lookup by name, container commands for `a|b` subcommands, and an
//! index per command for its statistics. A spec without a binding does not
//! exist for clients (unknown command).

use crate::args::Args;
use crate::cmdspec::{self, CommandSpec};
use crate::ctx::Ctx;
use crate::error::CmdResult;
use ahash::AHashMap as HashMap;
use std::sync::OnceLock;

pub mod acl;
pub mod bitmap;
pub mod client;
pub mod cluster;
pub mod command;
pub mod connection;
pub mod debug;
pub mod dump;
pub mod generic;
pub mod geo;
pub mod hash;
pub mod hyperloglog;
pub mod latency;
pub mod list;
pub mod memory;
pub mod monitor;
pub mod prop;
pub mod pubsub;
pub mod replication;
pub mod scripting;
pub mod server;
pub mod set;
pub mod slowlog;
pub mod sort;
pub mod stream;
pub mod string;
pub mod tracking;
pub mod transaction;
pub mod zset;

pub type Handler = fn(&mut Ctx<'_>, &mut Args<'_>) -> CmdResult;

/// Which shards a command locks before it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lock {
    /// The shards of the keys its key specs name (none if it has no keys).
    Keys,
    /// Every shard: keyspace-wide commands, transactions, scripts.
    All,
}

pub struct Cmd {
    pub spec: &'static CommandSpec,
    pub handler: Handler,
    pub lock: Lock,
    pub members: Members,
}

/// Where a command names members of the collection at its first key (for
/// the prefetcher, which loads their index slots and items a pipeline
/// ahead; a wrong guess only wastes a prefetch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Members {
    None,
    /// Every `step`-th argument from `first` on.
    Every {
        first: u8,
        step: u8,
    },
    /// ZADD: the members of the score/member pairs after the options.
    ZAdd,
}

impl Cmd {
    pub const fn new(spec: &'static CommandSpec, handler: Handler) -> Cmd {
        Cmd { spec, handler, lock: Lock::Keys, members: Members::None }
    }

    /// The command names members at arguments `first`, `first + step`, ...
    pub const fn members(self, first: u8, step: u8) -> Cmd {
        Cmd { members: Members::Every { first, step }, ..self }
    }

    /// The command names members as ZADD does.
    pub const fn zadd_members(self) -> Cmd {
        Cmd { members: Members::ZAdd, ..self }
    }

    /// The command locks every shard.
    pub const fn lock_all(self) -> Cmd {
        Cmd { lock: Lock::All, ..self }
    }
}

/// Every family's bindings.
fn families() -> Vec<&'static [Cmd]> {
    vec![
        acl::COMMANDS,
        client::COMMANDS,
        cluster::COMMANDS,
        command::COMMANDS,
        connection::COMMANDS,
        generic::COMMANDS,
        dump::COMMANDS,
        server::COMMANDS,
        debug::COMMANDS,
        memory::COMMANDS,
        slowlog::COMMANDS,
        latency::COMMANDS,
        monitor::COMMANDS,
        string::COMMANDS,
        pubsub::COMMANDS,
        tracking::COMMANDS,
        stream::COMMANDS,
        zset::COMMANDS,
        geo::COMMANDS,
        sort::COMMANDS,
        bitmap::COMMANDS,
        hyperloglog::COMMANDS,
        list::COMMANDS,
        hash::COMMANDS,
        set::COMMANDS,
        transaction::COMMANDS,
        replication::COMMANDS,
        scripting::COMMANDS,
    ]
}

/// A bound command: a leaf with a handler, or a container of subcommands.
pub struct Entry {
    pub spec: &'static CommandSpec,
    pub handler: Option<Handler>,
    pub lock: Lock,
    /// Index in `Registry::entries` (for statistics).
    pub index: usize,
    /// Subcommands by lowercase name (containers only).
    pub subs: HashMap<Vec<u8>, usize>,
    /// Arguments before the command's own: 2 for a subcommand, else 1.
    pub skip: usize,
    pub members: Members,
}

pub struct Registry {
    pub entries: Vec<Entry>,
    by_name: HashMap<Vec<u8>, usize>,
    /// The names of at most 16 bytes (all of Redis's top-level commands),
    /// for `get`'s fast path.
    short: ShortNames,
}

/// An open-addressing table from a name of at most 16 bytes, lowercased
/// eight bytes at a time, to its entry: a lookup is two word loads, one
/// multiply and (almost always) one slot compare.
#[derive(Default)]
struct ShortNames {
    /// (first word, second word, length, entry index + 1; 0 = empty).
    slots: Vec<(u64, u64, u32, u32)>,
}

/// ASCII lowercase of the eight bytes of `w` (other bytes unchanged).
#[inline]
fn lower_word(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let low7 = w & (0x7f * ONES);
    // The top bit of each byte: set if the byte is >= b'A', >= b'[' (one
    // past b'Z'); bytes with their own top bit set are never letters.
    let ge_a = low7 + (0x80 - b'A' as u64) * ONES;
    let gt_z = low7 + (0x80 - b'[' as u64) * ONES;
    let upper = (ge_a ^ gt_z) & !w & (0x80 * ONES);
    w | (upper >> 2)
}

/// A short name as two lowercased words; None if longer than 16 bytes.
#[inline]
fn short_key(name: &[u8]) -> Option<(u64, u64)> {
    if name.len() > 16 {
        return None;
    }
    let mut b = [0u8; 16];
    b[..name.len()].copy_from_slice(name);
    let w0 = u64::from_le_bytes(b[..8].try_into().unwrap_or_default());
    let w1 = u64::from_le_bytes(b[8..].try_into().unwrap_or_default());
    Some((lower_word(w0), lower_word(w1)))
}

impl ShortNames {
    #[inline]
    fn home(&self, w0: u64, w1: u64, len: usize) -> usize {
        let h = (w0 ^ w1.rotate_left(29) ^ len as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (h >> 32) as usize & (self.slots.len() - 1)
    }

    fn build(names: &HashMap<Vec<u8>, usize>) -> ShortNames {
        let n = names.keys().filter(|k| k.len() <= 16).count();
        let mut t = ShortNames { slots: vec![(0, 0, 0, 0); (n * 4).next_power_of_two().max(16)] };
        for (name, &i) in names {
            let Some((w0, w1)) = short_key(name) else { continue };
            let mask = t.slots.len() - 1;
            let mut j = t.home(w0, w1, name.len());
            while t.slots[j].3 != 0 {
                j = (j + 1) & mask;
            }
            t.slots[j] = (w0, w1, name.len() as u32, i as u32 + 1);
        }
        t
    }

    /// The entry index of `name` (any case), if it is short and known;
    /// None means "look in the full map" only for names over 16 bytes.
    #[inline]
    fn get(&self, name: &[u8]) -> Option<Option<usize>> {
        let (w0, w1) = short_key(name)?;
        let mask = self.slots.len() - 1;
        let mut j = self.home(w0, w1, name.len());
        loop {
            let s = self.slots[j];
            if s.3 == 0 {
                return Some(None);
            }
            if s.0 == w0 && s.1 == w1 && s.2 as usize == name.len() {
                return Some(Some(s.3 as usize - 1));
            }
            j = (j + 1) & mask;
        }
    }
}

fn all_specs() -> impl Iterator<Item = &'static &'static CommandSpec> {
    cmdspec::table::ALL.iter().chain(cmdspec::extra::ALL.iter())
}

impl Registry {
    fn build() -> Registry {
        let mut r = Registry { entries: Vec::new(), by_name: HashMap::default(), short: ShortNames::default() };
        for fam in families() {
            for c in fam {
                let index = r.entries.len();
                let lock = if c.spec.has_unknown_keys() { Lock::All } else { c.lock };
                let skip = if c.spec.name.contains('|') { 2 } else { 1 };
                r.entries.push(Entry {
                    spec: c.spec,
                    handler: Some(c.handler),
                    lock,
                    index,
                    subs: HashMap::default(),
                    skip,
                    members: c.members,
                });
                if let Some((parent, sub)) = c.spec.name.split_once('|') {
                    let pidx = match r.by_name.get(parent.as_bytes()) {
                        Some(&p) => p,
                        None => {
                            let pspec = all_specs()
                                .find(|s| s.name == parent)
                                .unwrap_or_else(|| panic!("no container spec for {}", c.spec.name));
                            let p = r.entries.len();
                            r.entries.push(Entry {
                                spec: pspec,
                                handler: None,
                                lock: Lock::Keys,
                                index: p,
                                subs: HashMap::default(),
                                skip: 1,
                                members: Members::None,
                            });
                            r.by_name.insert(parent.as_bytes().to_vec(), p);
                            p
                        }
                    };
                    r.entries[pidx].subs.insert(sub.as_bytes().to_vec(), index);
                } else {
                    let dup = r.by_name.insert(c.spec.name.as_bytes().to_vec(), index);
                    assert!(dup.is_none(), "command {} bound twice", c.spec.name);
                }
            }
        }
        r.short = ShortNames::build(&r.by_name);
        r
    }

    /// A top-level command by name, any case.
    pub fn get(&self, name: &[u8]) -> Option<&Entry> {
        if let Some(found) = self.short.get(name) {
            return found.map(|i| &self.entries[i]);
        }
        let mut buf = [0u8; 64];
        if name.len() > buf.len() {
            return None;
        }
        let lower = &mut buf[..name.len()];
        lower.copy_from_slice(name);
        lower.make_ascii_lowercase();
        self.by_name.get(&lower[..]).map(|&i| &self.entries[i])
    }

    /// A subcommand of a container entry, any case.
    pub fn sub(&self, container: &Entry, name: &[u8]) -> Option<&Entry> {
        let mut buf = [0u8; 64];
        let lower = buf.get_mut(..name.len())?;
        lower.copy_from_slice(name);
        lower.make_ascii_lowercase();
        container.subs.get(&lower[..]).map(|&i| &self.entries[i])
    }

    /// Top-level entries (containers included), in name order.
    pub fn top_level(&self) -> Vec<&Entry> {
        let mut v: Vec<&Entry> = self.by_name.values().map(|&i| &self.entries[i]).collect();
        v.sort_by_key(|e| e.spec.name);
        v
    }

    /// The subcommand entries of a container, in name order.
    pub fn subs_of(&self, e: &Entry) -> Vec<&Entry> {
        let mut v: Vec<&Entry> = e.subs.values().map(|&i| &self.entries[i]).collect();
        v.sort_by_key(|e| e.spec.name);
        v
    }
}

pub fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(Registry::build)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_builds_and_finds() {
        let r = registry();
        assert!(r.get(b"GET").is_some());
        assert!(r.get(b"nosuchcommand").is_none());
        for e in &r.entries {
            if e.handler.is_none() {
                assert!(!e.subs.is_empty(), "{} is a container without subcommands", e.spec.name);
            }
        }
    }

    #[test]
    fn names_are_found_in_any_case() {
        let r = registry();
        for (name, &i) in &r.by_name {
            let mixed: Vec<u8> =
                name.iter().enumerate().map(|(j, c)| if j % 2 == 0 { c.to_ascii_uppercase() } else { *c }).collect();
            for n in [name.clone(), name.to_ascii_uppercase(), mixed] {
                assert_eq!(r.get(&n).map(|e| e.index), Some(i), "{}", String::from_utf8_lossy(&n));
            }
            // One byte more or less, or a non-letter changed, is another name.
            let mut longer = name.clone();
            longer.push(b'x');
            assert!(r.get(&longer).is_none_or(|e| e.spec.name.as_bytes() == &longer[..]));
            assert!(r.get(&name[..name.len() - 1]).is_none_or(|e| e.spec.name.len() == name.len() - 1));
        }
        // Bytes that only look like letters once their top bit is cleared.
        assert!(r.get(&[b'G' | 0x80, b'E', b'T']).is_none());
        assert!(r.get(b"g\0et").is_none());
        assert!(r.get(b"").is_none());
        assert!(r.get(&[b'a'; 40]).is_none());
    }

    #[test]
    fn lowercases_words() {
        for b in 0..=255u8 {
            let w = u64::from_le_bytes([b, b'Q', 0xC1, b'z', b'@', b'[', b'A', b'Z']);
            let want = u64::from_le_bytes([b.to_ascii_lowercase(), b'q', 0xC1, b'z', b'@', b'[', b'a', b'z']);
            assert_eq!(lower_word(w), want, "byte {b}");
        }
    }
}
