//! The command table as data.
//!
//! `table.rs` holds one `CommandSpec` static per command Redis 7.0 knows
//! (generated from the reference by tools/gen_cmdtable.py: these are facts
//! clients and tests compare, so they must match). `extra.rs` holds the specs
//! of newer commands, written by hand. A spec does nothing by itself: the
//! command families bind handlers to specs by symbol (see `commands::TABLE`),
//! and only bound commands exist for clients (COMMAND, COUNT, lookups).
//!
//! COMMAND DOCS needs more than a spec holds: the argument tree, the version
//! a command was deprecated in, the versions of its history. Those live in
//! `CommandDocs` records, found by name (`docs_of`): `args.rs` is generated
//! from the reference's COMMAND DOCS by tools/gen_cmddocs.py, newer commands'
//! records are written in `extra.rs`. The prose around them (summaries,
//! history texts, what replaces a deprecated command) is ours, in
//! `summaries.rs` and `history.rs`.
//!
//! Flag and category bits are numbered in the order Redis prints them, so
//! rendering them in bit order reproduces COMMAND INFO byte for byte.
//! Depends on nothing else of ours.

pub mod args;
pub mod extra;
pub mod history;
pub mod notes;
pub mod summaries;
pub mod table;

/// Key positions of one command: on the stack for the usual few keys.
pub type KeyPositions = smallvec::SmallVec<[usize; 4]>;

pub struct CommandSpec {
    /// Lowercase; `container|sub` for subcommands.
    pub name: &'static str,
    /// Redis convention: counts the name; `-N` means at least N.
    pub arity: i32,
    pub flags: u64,
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    pub acl: u64,
    pub tips: &'static [&'static str],
    pub key_specs: &'static [KeySpec],
    pub subcommands: &'static [&'static CommandSpec],
    pub group: &'static str,
    pub since: &'static str,
    pub complexity: &'static str,
    pub doc_flags: u64,
}

impl CommandSpec {
    pub fn has(&self, flag: u64) -> bool {
        self.flags & flag != 0
    }

    /// Redis's may_replicate flag: commands that may be propagated without
    /// the write flag. COMMAND INFO hides it, so the generated table lacks
    /// it; the list is taken from Redis's command JSON. A WRITE pause holds
    /// them back and read-only scripts may not call them.
    pub fn may_replicate(&self) -> bool {
        matches!(self.name, "eval" | "evalsha" | "fcall" | "pfcount" | "publish" | "spublish")
    }

    /// The name as used in error messages (`config|get`).
    pub fn full_name(&self) -> &'static str {
        self.name
    }

    /// True if some key spec cannot be followed from the arguments alone
    /// (Redis then uses a command-specific key finder): such commands lock
    /// every shard.
    pub fn has_unknown_keys(&self) -> bool {
        self.key_specs.iter().any(|k| matches!(k.begin, Begin::Unknown) || matches!(k.find, Find::Unknown))
    }

    /// True if `argc` (counting the name) fits the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let a = self.arity;
        (a > 0 && argc == a as usize) || (a < 0 && argc >= (-a) as usize)
    }

    /// The positions of the keys in `argv`, following the key specs
    /// (Redis's getKeysUsingKeySpecs). Positions past the end are dropped.
    pub fn key_positions(&self, argv: &[&[u8]], out: &mut KeyPositions) {
        out.clear();
        // The common shape, one key at a fixed index (GET, SET, LPUSH ...),
        // without the general walk below (which gives the same answer).
        if let [KeySpec { begin: Begin::Index(b), find: Find::Range { last_key: 0, .. }, .. }] = self.key_specs {
            if *b >= 1 && (*b as usize) < argv.len() {
                out.push(*b as usize);
            }
            return;
        }
        self.walk_keys(argv, |i, _| out.push(i));
    }

    /// Each key position with the flags of the key spec that found it.
    pub fn walk_keys(&self, argv: &[&[u8]], mut f: impl FnMut(usize, u64)) {
        let argc = argv.len() as i64;
        for ks in self.key_specs {
            let first = match ks.begin {
                Begin::Index(i) => i as i64,
                Begin::Keyword { keyword, start_from } => {
                    let kw = keyword.as_bytes();
                    let (start, end, dir): (i64, i64, i64) = if start_from >= 0 {
                        (start_from as i64, argc - 1, 1)
                    } else {
                        (argc + start_from as i64, 1, -1)
                    };
                    let mut found = None;
                    let mut i = start;
                    while (dir > 0 && i <= end) || (dir < 0 && i >= end) {
                        if i >= 0 && i < argc && argv[i as usize].eq_ignore_ascii_case(kw) {
                            found = Some(i + 1);
                            break;
                        }
                        i += dir;
                    }
                    match found {
                        Some(f) => f,
                        None => continue,
                    }
                }
                Begin::Unknown => continue,
            };
            if first >= argc {
                continue;
            }
            let (first, last, step) = match ks.find {
                Find::Range { last_key, step, limit } => {
                    let last = if last_key >= 0 {
                        first + last_key as i64
                    } else if limit <= 1 {
                        argc + last_key as i64
                    } else {
                        first + ((argc - first) / limit as i64) + last_key as i64
                    };
                    (first, last, step as i64)
                }
                Find::KeyNum { keynum_idx, first_key, step } => {
                    let idx = first + keynum_idx as i64;
                    if idx >= argc {
                        continue;
                    }
                    let Some(n) = types::num::parse_i64(argv[idx as usize]) else { continue };
                    if n <= 0 {
                        continue;
                    }
                    let f = first + first_key as i64;
                    (f, f.saturating_add((n - 1).saturating_mul(step as i64)), step as i64)
                }
                Find::Unknown => continue,
            };
            // As in Redis: a spec that points past the arguments yields no
            // keys; the command itself then reports the arity or syntax error.
            if last >= argc || last < first {
                continue;
            }
            let step = step.max(1);
            let mut i = first;
            while i <= last {
                if i >= 1 {
                    f(i as usize, ks.flags);
                }
                i += step;
            }
        }
    }
}

/// What COMMAND DOCS says of a command beyond its spec. Commands without
/// arguments, history or deprecation have no record.
#[derive(Debug)]
pub struct CommandDocs {
    /// Lowercase, `container|sub` for subcommands, as `CommandSpec::name`.
    pub name: &'static str,
    /// Empty unless the command is deprecated.
    pub deprecated_since: &'static str,
    /// The version of each history entry, oldest first (texts: `history`).
    pub history: &'static [&'static str],
    pub args: &'static [Arg],
}

/// One argument of a command's syntax, as COMMAND DOCS describes it. Empty
/// strings stand for absent versions.
#[derive(Debug)]
pub struct Arg {
    pub name: &'static str,
    pub kind: ArgKind,
    /// The key spec that finds this argument, for keys (and patterns naming keys).
    pub key_spec: Option<u8>,
    /// The literal word that introduces the argument (`EX`), if any. It may
    /// be empty (MIGRATE's `""` in place of a key), which is not absent.
    pub token: Option<&'static str>,
    pub since: &'static str,
    pub deprecated_since: &'static str,
    /// `argf` bits.
    pub flags: u64,
    /// The alternatives of a `OneOf`, the parts of a `Block`.
    pub args: &'static [Arg],
}

impl Arg {
    /// The defaults generated records fill in with `..Arg::NONE`.
    pub const NONE: Arg = Arg {
        name: "",
        kind: ArgKind::Str,
        key_spec: None,
        token: None,
        since: "",
        deprecated_since: "",
        flags: 0,
        args: &[],
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    Str,
    Integer,
    Double,
    Key,
    Pattern,
    UnixTime,
    PureToken,
    OneOf,
    Block,
}

impl ArgKind {
    /// The type name COMMAND DOCS reports.
    pub fn name(self) -> &'static str {
        match self {
            ArgKind::Str => "string",
            ArgKind::Integer => "integer",
            ArgKind::Double => "double",
            ArgKind::Key => "key",
            ArgKind::Pattern => "pattern",
            ArgKind::UnixTime => "unix-time",
            ArgKind::PureToken => "pure-token",
            ArgKind::OneOf => "oneof",
            ArgKind::Block => "block",
        }
    }
}

/// The docs record of a command (`get`, `config|get`), if it has one.
pub fn docs_of(name: &str) -> Option<&'static CommandDocs> {
    match args::DOCS.binary_search_by(|d| d.name.cmp(name)) {
        Ok(i) => Some(&args::DOCS[i]),
        Err(_) => extra::DOCS.iter().find(|d| d.name == name),
    }
}

#[derive(Clone, Copy, Debug)]
pub struct KeySpec {
    pub flags: u64,
    pub begin: Begin,
    pub find: Find,
}

#[derive(Clone, Copy, Debug)]
pub enum Begin {
    Index(i32),
    Keyword { keyword: &'static str, start_from: i32 },
    Unknown,
}

#[derive(Clone, Copy, Debug)]
pub enum Find {
    Range { last_key: i32, step: i32, limit: i32 },
    KeyNum { keynum_idx: i32, first_key: i32, step: i32 },
    Unknown,
}

macro_rules! bits {
    ($mod:ident: $($name:ident = $text:literal),* $(,)?) => {
        pub mod $mod {
            bits!(@consts 0u32; $($name),*);
            /// Names in bit order, as Redis prints them.
            pub static NAMES: &[&str] = &[$($text),*];
        }
    };
    (@consts $n:expr; $name:ident $(, $rest:ident)*) => {
        pub const $name: u64 = 1 << $n;
        bits!(@consts $n + 1; $($rest),*);
    };
    (@consts $n:expr;) => {};
}

bits!(f:
    WRITE = "write", READONLY = "readonly", DENYOOM = "denyoom", MODULE = "module", ADMIN = "admin",
    PUBSUB = "pubsub", NOSCRIPT = "noscript", BLOCKING = "blocking", LOADING = "loading", STALE = "stale",
    SKIP_MONITOR = "skip_monitor", SKIP_SLOWLOG = "skip_slowlog", ASKING = "asking", FAST = "fast",
    NO_AUTH = "no_auth", MAY_REPLICATE = "may_replicate", SENTINEL = "sentinel",
    ONLY_SENTINEL = "only_sentinel", NO_MANDATORY_KEYS = "no_mandatory_keys", PROTECTED = "protected",
    MODULE_NO_CLUSTER = "module_no_cluster", NO_ASYNC_LOADING = "no_async_loading", NO_MULTI = "no_multi",
    MOVABLEKEYS = "movablekeys", ALLOW_BUSY = "allow_busy",
);

bits!(cat:
    KEYSPACE = "keyspace", READ = "read", WRITE = "write", SET = "set", SORTEDSET = "sortedset",
    LIST = "list", HASH = "hash", STRING = "string", BITMAP = "bitmap", HYPERLOGLOG = "hyperloglog",
    GEO = "geo", STREAM = "stream", PUBSUB = "pubsub", ADMIN = "admin", FAST = "fast", SLOW = "slow",
    BLOCKING = "blocking", DANGEROUS = "dangerous", CONNECTION = "connection",
    TRANSACTION = "transaction", SCRIPTING = "scripting",
);

bits!(ks:
    RO = "RO", RW = "RW", OW = "OW", RM = "RM", ACCESS = "access", UPDATE = "update", INSERT = "insert",
    DELETE = "delete", NOT_KEY = "not_key", INCOMPLETE = "incomplete", VARIABLE_FLAGS = "variable_flags",
);

bits!(doc:
    DEPRECATED = "deprecated", SYSCMD = "syscmd",
);

bits!(argf:
    OPTIONAL = "optional", MULTIPLE = "multiple", MULTIPLE_TOKEN = "multiple_token",
);

/// The names of the bits set in `v`, in bit order.
pub fn names(v: u64, table: &'static [&'static str]) -> impl Iterator<Item = &'static str> {
    table.iter().enumerate().filter(move |(i, _)| v & (1 << i) != 0).map(|(_, n)| *n)
}

#[cfg(test)]
mod tests {
    use super::table::*;

    fn keys(spec: &super::CommandSpec, argv: &[&str]) -> Vec<usize> {
        let argv: Vec<&[u8]> = argv.iter().map(|s| s.as_bytes()).collect();
        let mut out = super::KeyPositions::new();
        spec.key_positions(&argv, &mut out);
        out.to_vec()
    }

    /// `docs_of` searches args.rs by bisection, and every record belongs to
    /// a spec whose key specs its key arguments point into.
    #[test]
    fn docs_records() {
        for w in super::args::DOCS.windows(2) {
            assert!(w[0].name < w[1].name, "{} before {}", w[0].name, w[1].name);
        }
        let specs = || {
            ALL.iter()
                .chain(super::extra::ALL.iter())
                .flat_map(|s| std::iter::once(*s).chain(s.subcommands.iter().copied()))
        };
        fn key_specs_used(args: &[super::Arg], max: &mut i32) {
            for a in args {
                *max = (*max).max(a.key_spec.map_or(-1, i32::from));
                key_specs_used(a.args, max);
            }
        }
        for d in super::args::DOCS.iter().chain(super::extra::DOCS.iter()) {
            let spec = specs().find(|s| s.name == d.name).unwrap_or_else(|| panic!("{} has no spec", d.name));
            let mut max = -1;
            key_specs_used(d.args, &mut max);
            assert!(max < spec.key_specs.len() as i32, "{}", d.name);
            assert!(std::ptr::eq(super::docs_of(d.name).unwrap(), d));
        }
        assert!(super::docs_of("nosuch").is_none());
        assert_eq!(super::docs_of("hexpire").unwrap().args.len(), 4);
    }

    #[test]
    fn key_positions() {
        assert_eq!(keys(&GET, &["get", "k"]), vec![1]);
        assert_eq!(keys(&MSET, &["mset", "a", "1", "b", "2"]), vec![1, 3]);
        assert_eq!(keys(&DEL, &["del", "a", "b", "c"]), vec![1, 2, 3]);
        assert_eq!(keys(&EVAL, &["eval", "s", "2", "a", "b", "c"]), vec![3, 4]);
        assert_eq!(keys(&EVAL, &["eval", "s", "0"]), Vec::<usize>::new());
        assert_eq!(keys(&ZUNIONSTORE, &["zunionstore", "d", "2", "a", "b"]), vec![1, 3, 4]);
        assert_eq!(keys(&XREAD, &["xread", "count", "1", "streams", "a", "b", "0", "0"]), vec![4, 5]);
        assert_eq!(keys(&RENAME, &["rename", "a", "b"]), vec![1, 2]);
        // SORT finds BY/GET/STORE keys itself: its specs are incomplete.
        assert!(SORT.has_unknown_keys());
    }
}
