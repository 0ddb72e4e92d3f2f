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

pub mod bitmap;
pub mod client;
pub mod command;
pub mod connection;
pub mod dump;
pub mod generic;
pub mod geo;
pub mod hash;
pub mod hyperloglog;
pub mod list;
pub mod memory;
pub mod pubsub;
pub mod scripting;
pub mod server;
pub mod set;
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
        client::COMMANDS,
        command::COMMANDS,
        connection::COMMANDS,
        generic::COMMANDS,
        dump::COMMANDS,
        server::COMMANDS,
        memory::COMMANDS,
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
}

fn all_specs() -> impl Iterator<Item = &'static &'static CommandSpec> {
    cmdspec::table::ALL.iter().chain(cmdspec::extra::ALL.iter())
}

impl Registry {
    fn build() -> Registry {
        let mut r = Registry { entries: Vec::new(), by_name: HashMap::default() };
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
        r
    }

    /// A top-level command by name, any case.
    pub fn get(&self, name: &[u8]) -> Option<&Entry> {
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
        let lower = name.to_ascii_lowercase();
        container.subs.get(&lower).map(|&i| &self.entries[i])
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
}
