//! Settings: redis.conf files, `--name value` arguments, CONFIG GET/SET/REWRITE.
//!
//! `ITEMS` lists every setting redis-server 7.0.15 has (TLS aside), with its
//! alias, kind, default and flags, taken from the reference (its `CONFIG GET
//! *` and the types and ranges of its config table). The kind says how a value
//! is checked and rendered: booleans, numbers (plain, memory `1gb`/`5k`,
//! memory-or-percent, octal), enums (some take several words, as flags),
//! strings, and a few special settings with their own syntax (save,
//! client-output-buffer-limit, notify-keyspace-events, bind, ...).
//!
//! Values are kept as their canonical text (what CONFIG GET prints) plus a
//! number for numeric, boolean and flag kinds, so hot paths read a number
//! without parsing. Settings whose subsystem exists take effect through these
//! values (maxclients, timeout, requirepass, hz, proto-max-bulk-len,
//! client-query-buffer-limit, databases, ...); `dir` changes the working
//! directory. CONFIG SET of several pairs is atomic: every value is checked
//! before any is stored, and an apply failure restores the old values.

use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// How a numeric setting reads and prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Num {
    Plain,
    /// `1gb`, `100mb`, `5k`; printed in bytes.
    Memory,
    /// A memory value or `N%` (stored as -N, as Redis does).
    MemoryPercent,
    /// Octal digits (unixsocketperm).
    Octal,
}

/// Settings with a syntax of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sp {
    Dir,
    Save,
    ClientOutputBufferLimit,
    OomScoreAdjValues,
    NotifyKeyspaceEvents,
    Bind,
    Replicaof,
    LatencyTrackingInfoPercentiles,
}

#[derive(Clone, Copy, Debug)]
pub enum K {
    Bool,
    /// An integer within [min, max]; `unsigned` only changes how a range
    /// error prints.
    Num {
        min: i128,
        max: i128,
        fmt: Num,
        unsigned: bool,
    },
    /// One of the words; with `fl::MULTI_ARG`, several of them as flags.
    Enum(&'static [&'static str]),
    /// Any text.
    Str {
        empty_is_null: bool,
    },
    Special(Sp),
}

/// Setting flags (Redis's *_CONFIG flags that change behaviour here).
pub mod fl {
    /// Only settable from the config file or command line.
    pub const IMMUTABLE: u32 = 1 << 0;
    /// CONFIG SET needs enable-protected-configs.
    pub const PROTECTED: u32 = 1 << 1;
    /// Not matched by CONFIG GET patterns (exact name only).
    pub const HIDDEN: u32 = 1 << 2;
    /// Holds a secret (kept out of logs).
    pub const SENSITIVE: u32 = 1 << 3;
    /// The value is several space-separated words.
    pub const MULTI_ARG: u32 = 1 << 4;
    /// Cannot change while a data set is loading.
    pub const DENY_LOADING: u32 = 1 << 5;
}

pub struct Item {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub kind: K,
    pub default: &'static str,
    pub flags: u32,
}

impl Item {
    pub fn mutable(&self) -> bool {
        self.flags & fl::IMMUTABLE == 0
    }
}

/// Every setting of redis-server 7.0.15 (generated from the reference, then
/// kept by hand): name, alias, kind, default, flags.
pub static ITEMS: &[Item] = &[
    Item { name: "rdbchecksum", alias: None, kind: K::Bool, default: "yes", flags: fl::IMMUTABLE },
    Item { name: "daemonize", alias: None, kind: K::Bool, default: "no", flags: fl::IMMUTABLE },
    Item { name: "io-threads-do-reads", alias: None, kind: K::Bool, default: "no", flags: fl::IMMUTABLE },
    Item { name: "always-show-logo", alias: None, kind: K::Bool, default: "no", flags: fl::IMMUTABLE },
    Item { name: "protected-mode", alias: None, kind: K::Bool, default: "yes", flags: 0 },
    Item { name: "rdbcompression", alias: None, kind: K::Bool, default: "yes", flags: 0 },
    Item { name: "rdb-del-sync-files", alias: None, kind: K::Bool, default: "no", flags: 0 },
    Item { name: "activerehashing", alias: None, kind: K::Bool, default: "yes", flags: 0 },
    Item { name: "stop-writes-on-bgsave-error", alias: None, kind: K::Bool, default: "yes", flags: 0 },
    Item { name: "set-proc-title", alias: None, kind: K::Bool, default: "yes", flags: fl::IMMUTABLE },
    Item { name: "dynamic-hz", alias: None, kind: K::Bool, default: "yes", flags: 0 },
    Item { name: "lazyfree-lazy-eviction", alias: None, kind: K::Bool, default: "no", flags: 0 },
    Item { name: "lazyfree-lazy-expire", alias: None, kind: K::Bool, default: "no", flags: 0 },
    Item { name: "lazyfree-lazy-server-del", alias: None, kind: K::Bool, default: "no", flags: 0 },
    Item { name: "lazyfree-lazy-user-del", alias: None, kind: K::Bool, default: "no", flags: 0 },
    Item { name: "lazyfree-lazy-user-flush", alias: None, kind: K::Bool, default: "no", flags: 0 },
    Item { name: "repl-disable-tcp-nodelay", alias: None, kind: K::Bool, default: "no", flags: 0 },
    Item { name: "repl-diskless-sync", alias: None, kind: K::Bool, default: "yes", flags: 0 },
    Item { name: "aof-rewrite-incremental-fsync", alias: None, kind: K::Bool, default: "yes", flags: 0 },
    Item { name: "no-appendfsync-on-rewrite", alias: None, kind: K::Bool, default: "no", flags: 0 },
    Item { name: "cluster-require-full-coverage", alias: None, kind: K::Bool, default: "yes", flags: 0 },
    Item { name: "rdb-save-incremental-fsync", alias: None, kind: K::Bool, default: "yes", flags: 0 },
    Item { name: "aof-load-truncated", alias: None, kind: K::Bool, default: "yes", flags: 0 },
    Item { name: "aof-use-rdb-preamble", alias: None, kind: K::Bool, default: "yes", flags: 0 },
    Item { name: "aof-timestamp-enabled", alias: None, kind: K::Bool, default: "no", flags: 0 },
    Item {
        name: "cluster-replica-no-failover",
        alias: Some("cluster-slave-no-failover"),
        kind: K::Bool,
        default: "no",
        flags: 0,
    },
    Item { name: "replica-lazy-flush", alias: Some("slave-lazy-flush"), kind: K::Bool, default: "no", flags: 0 },
    Item {
        name: "replica-serve-stale-data",
        alias: Some("slave-serve-stale-data"),
        kind: K::Bool,
        default: "yes",
        flags: 0,
    },
    Item { name: "replica-read-only", alias: Some("slave-read-only"), kind: K::Bool, default: "yes", flags: 0 },
    Item {
        name: "replica-ignore-maxmemory",
        alias: Some("slave-ignore-maxmemory"),
        kind: K::Bool,
        default: "yes",
        flags: 0,
    },
    Item { name: "jemalloc-bg-thread", alias: None, kind: K::Bool, default: "yes", flags: 0 },
    Item { name: "activedefrag", alias: None, kind: K::Bool, default: "no", flags: 0 },
    Item { name: "syslog-enabled", alias: None, kind: K::Bool, default: "no", flags: fl::IMMUTABLE },
    Item { name: "cluster-enabled", alias: None, kind: K::Bool, default: "no", flags: fl::IMMUTABLE },
    Item { name: "appendonly", alias: None, kind: K::Bool, default: "no", flags: fl::DENY_LOADING },
    Item { name: "cluster-allow-reads-when-down", alias: None, kind: K::Bool, default: "no", flags: 0 },
    Item { name: "cluster-allow-pubsubshard-when-down", alias: None, kind: K::Bool, default: "yes", flags: 0 },
    Item { name: "crash-log-enabled", alias: None, kind: K::Bool, default: "yes", flags: 0 },
    Item { name: "crash-memcheck-enabled", alias: None, kind: K::Bool, default: "yes", flags: 0 },
    Item { name: "use-exit-on-panic", alias: None, kind: K::Bool, default: "no", flags: fl::HIDDEN },
    Item { name: "disable-thp", alias: None, kind: K::Bool, default: "yes", flags: fl::IMMUTABLE },
    Item { name: "cluster-allow-replica-migration", alias: None, kind: K::Bool, default: "yes", flags: 0 },
    Item { name: "replica-announced", alias: None, kind: K::Bool, default: "yes", flags: 0 },
    Item { name: "latency-tracking", alias: None, kind: K::Bool, default: "yes", flags: 0 },
    Item { name: "aof-disable-auto-gc", alias: None, kind: K::Bool, default: "no", flags: 0 },
    Item { name: "replica-ignore-disk-write-errors", alias: None, kind: K::Bool, default: "no", flags: 0 },
    Item { name: "aclfile", alias: None, kind: K::Str { empty_is_null: false }, default: "", flags: fl::IMMUTABLE },
    Item { name: "unixsocket", alias: None, kind: K::Str { empty_is_null: true }, default: "", flags: fl::IMMUTABLE },
    Item { name: "pidfile", alias: None, kind: K::Str { empty_is_null: true }, default: "", flags: fl::IMMUTABLE },
    Item {
        name: "replica-announce-ip",
        alias: Some("slave-announce-ip"),
        kind: K::Str { empty_is_null: true },
        default: "",
        flags: 0,
    },
    Item { name: "masteruser", alias: None, kind: K::Str { empty_is_null: true }, default: "", flags: fl::SENSITIVE },
    Item { name: "cluster-announce-ip", alias: None, kind: K::Str { empty_is_null: true }, default: "", flags: 0 },
    Item {
        name: "cluster-config-file",
        alias: None,
        kind: K::Str { empty_is_null: false },
        default: "nodes.conf",
        flags: fl::IMMUTABLE,
    },
    Item {
        name: "cluster-announce-hostname",
        alias: None,
        kind: K::Str { empty_is_null: true },
        default: "",
        flags: 0,
    },
    Item {
        name: "syslog-ident",
        alias: None,
        kind: K::Str { empty_is_null: false },
        default: "redis",
        flags: fl::IMMUTABLE,
    },
    Item {
        name: "dbfilename",
        alias: None,
        kind: K::Str { empty_is_null: false },
        default: "dump.rdb",
        flags: fl::PROTECTED,
    },
    Item {
        name: "appendfilename",
        alias: None,
        kind: K::Str { empty_is_null: false },
        default: "appendonly.aof",
        flags: fl::IMMUTABLE,
    },
    Item {
        name: "appenddirname",
        alias: None,
        kind: K::Str { empty_is_null: false },
        default: "appendonlydir",
        flags: fl::IMMUTABLE,
    },
    Item {
        name: "server_cpulist",
        alias: None,
        kind: K::Str { empty_is_null: true },
        default: "",
        flags: fl::IMMUTABLE,
    },
    Item { name: "bio_cpulist", alias: None, kind: K::Str { empty_is_null: true }, default: "", flags: fl::IMMUTABLE },
    Item {
        name: "aof_rewrite_cpulist",
        alias: None,
        kind: K::Str { empty_is_null: true },
        default: "",
        flags: fl::IMMUTABLE,
    },
    Item {
        name: "bgsave_cpulist",
        alias: None,
        kind: K::Str { empty_is_null: true },
        default: "",
        flags: fl::IMMUTABLE,
    },
    Item { name: "ignore-warnings", alias: None, kind: K::Str { empty_is_null: false }, default: "", flags: 0 },
    Item {
        name: "proc-title-template",
        alias: None,
        kind: K::Str { empty_is_null: false },
        default: "{title} {listen-addr} {server-mode}",
        flags: 0,
    },
    Item { name: "bind-source-addr", alias: None, kind: K::Str { empty_is_null: true }, default: "", flags: 0 },
    Item { name: "logfile", alias: None, kind: K::Str { empty_is_null: false }, default: "", flags: fl::IMMUTABLE },
    Item { name: "masterauth", alias: None, kind: K::Str { empty_is_null: true }, default: "", flags: fl::SENSITIVE },
    Item { name: "requirepass", alias: None, kind: K::Str { empty_is_null: true }, default: "", flags: fl::SENSITIVE },
    Item {
        name: "supervised",
        alias: None,
        kind: K::Enum(&["upstart", "systemd", "auto", "no"]),
        default: "no",
        flags: fl::IMMUTABLE,
    },
    Item {
        name: "syslog-facility",
        alias: None,
        kind: K::Enum(&["user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"]),
        default: "local0",
        flags: fl::IMMUTABLE,
    },
    Item {
        name: "repl-diskless-load",
        alias: None,
        kind: K::Enum(&["disabled", "on-empty-db", "swapdb"]),
        default: "disabled",
        flags: fl::DENY_LOADING,
    },
    Item {
        name: "loglevel",
        alias: None,
        kind: K::Enum(&["debug", "verbose", "notice", "warning"]),
        default: "notice",
        flags: 0,
    },
    Item {
        name: "maxmemory-policy",
        alias: None,
        kind: K::Enum(&[
            "volatile-lru",
            "volatile-lfu",
            "volatile-random",
            "volatile-ttl",
            "allkeys-lru",
            "allkeys-lfu",
            "allkeys-random",
            "noeviction",
        ]),
        default: "noeviction",
        flags: 0,
    },
    Item {
        name: "appendfsync",
        alias: None,
        kind: K::Enum(&["everysec", "always", "no"]),
        default: "everysec",
        flags: 0,
    },
    Item {
        name: "oom-score-adj",
        alias: None,
        kind: K::Enum(&["no", "yes", "relative", "absolute"]),
        default: "no",
        flags: 0,
    },
    Item {
        name: "acl-pubsub-default",
        alias: None,
        kind: K::Enum(&["allchannels", "resetchannels"]),
        default: "resetchannels",
        flags: 0,
    },
    Item {
        name: "sanitize-dump-payload",
        alias: None,
        kind: K::Enum(&["no", "yes", "clients"]),
        default: "no",
        flags: 0,
    },
    Item {
        name: "enable-protected-configs",
        alias: None,
        kind: K::Enum(&["no", "yes", "local"]),
        default: "no",
        flags: fl::IMMUTABLE,
    },
    Item {
        name: "enable-debug-command",
        alias: None,
        kind: K::Enum(&["no", "yes", "local"]),
        default: "no",
        flags: fl::IMMUTABLE,
    },
    Item {
        name: "enable-module-command",
        alias: None,
        kind: K::Enum(&["no", "yes", "local"]),
        default: "no",
        flags: fl::IMMUTABLE,
    },
    Item {
        name: "cluster-preferred-endpoint-type",
        alias: None,
        kind: K::Enum(&["ip", "hostname", "unknown-endpoint"]),
        default: "ip",
        flags: 0,
    },
    Item {
        name: "propagation-error-behavior",
        alias: None,
        kind: K::Enum(&["ignore", "panic", "panic-on-replicas"]),
        default: "ignore",
        flags: 0,
    },
    Item {
        name: "shutdown-on-sigint",
        alias: None,
        kind: K::Enum(&["default", "save", "nosave", "now", "force"]),
        default: "default",
        flags: fl::MULTI_ARG,
    },
    Item {
        name: "shutdown-on-sigterm",
        alias: None,
        kind: K::Enum(&["default", "save", "nosave", "now", "force"]),
        default: "default",
        flags: fl::MULTI_ARG,
    },
    Item {
        name: "databases",
        alias: None,
        kind: K::Num { min: 1, max: 2147483647, fmt: Num::Plain, unsigned: false },
        default: "16",
        flags: fl::IMMUTABLE,
    },
    Item {
        name: "port",
        alias: None,
        kind: K::Num { min: 0, max: 65535, fmt: Num::Plain, unsigned: false },
        default: "6379",
        flags: 0,
    },
    Item {
        name: "io-threads",
        alias: None,
        kind: K::Num { min: 1, max: 128, fmt: Num::Plain, unsigned: false },
        default: "1",
        flags: fl::IMMUTABLE,
    },
    Item {
        name: "auto-aof-rewrite-percentage",
        alias: None,
        kind: K::Num { min: 0, max: 2147483647, fmt: Num::Plain, unsigned: false },
        default: "100",
        flags: 0,
    },
    Item {
        name: "cluster-replica-validity-factor",
        alias: Some("cluster-slave-validity-factor"),
        kind: K::Num { min: 0, max: 2147483647, fmt: Num::Plain, unsigned: false },
        default: "10",
        flags: 0,
    },
    Item {
        name: "list-max-listpack-size",
        alias: Some("list-max-ziplist-size"),
        kind: K::Num { min: -2147483648, max: 2147483647, fmt: Num::Plain, unsigned: false },
        default: "-2",
        flags: 0,
    },
    Item {
        name: "tcp-keepalive",
        alias: None,
        kind: K::Num { min: 0, max: 2147483647, fmt: Num::Plain, unsigned: false },
        default: "300",
        flags: 0,
    },
    Item {
        name: "cluster-migration-barrier",
        alias: None,
        kind: K::Num { min: 0, max: 2147483647, fmt: Num::Plain, unsigned: false },
        default: "1",
        flags: 0,
    },
    Item {
        name: "active-defrag-cycle-min",
        alias: None,
        kind: K::Num { min: 1, max: 99, fmt: Num::Plain, unsigned: false },
        default: "1",
        flags: 0,
    },
    Item {
        name: "active-defrag-cycle-max",
        alias: None,
        kind: K::Num { min: 1, max: 99, fmt: Num::Plain, unsigned: false },
        default: "25",
        flags: 0,
    },
    Item {
        name: "active-defrag-threshold-lower",
        alias: None,
        kind: K::Num { min: 0, max: 1000, fmt: Num::Plain, unsigned: false },
        default: "10",
        flags: 0,
    },
    Item {
        name: "active-defrag-threshold-upper",
        alias: None,
        kind: K::Num { min: 0, max: 1000, fmt: Num::Plain, unsigned: false },
        default: "100",
        flags: 0,
    },
    Item {
        name: "lfu-log-factor",
        alias: None,
        kind: K::Num { min: 0, max: 2147483647, fmt: Num::Plain, unsigned: false },
        default: "10",
        flags: 0,
    },
    Item {
        name: "lfu-decay-time",
        alias: None,
        kind: K::Num { min: 0, max: 2147483647, fmt: Num::Plain, unsigned: false },
        default: "1",
        flags: 0,
    },
    Item {
        name: "replica-priority",
        alias: Some("slave-priority"),
        kind: K::Num { min: 0, max: 2147483647, fmt: Num::Plain, unsigned: false },
        default: "100",
        flags: 0,
    },
    Item {
        name: "repl-diskless-sync-delay",
        alias: None,
        kind: K::Num { min: 0, max: 2147483647, fmt: Num::Plain, unsigned: false },
        default: "5",
        flags: 0,
    },
    Item {
        name: "maxmemory-samples",
        alias: None,
        kind: K::Num { min: 1, max: 2147483647, fmt: Num::Plain, unsigned: false },
        default: "5",
        flags: 0,
    },
    Item {
        name: "maxmemory-eviction-tenacity",
        alias: None,
        kind: K::Num { min: 0, max: 100, fmt: Num::Plain, unsigned: false },
        default: "10",
        flags: 0,
    },
    Item {
        name: "timeout",
        alias: None,
        kind: K::Num { min: 0, max: 2147483647, fmt: Num::Plain, unsigned: false },
        default: "0",
        flags: 0,
    },
    Item {
        name: "replica-announce-port",
        alias: Some("slave-announce-port"),
        kind: K::Num { min: 0, max: 65535, fmt: Num::Plain, unsigned: false },
        default: "0",
        flags: 0,
    },
    Item {
        name: "tcp-backlog",
        alias: None,
        kind: K::Num { min: 0, max: 2147483647, fmt: Num::Plain, unsigned: false },
        default: "511",
        flags: fl::IMMUTABLE,
    },
    Item {
        name: "cluster-port",
        alias: None,
        kind: K::Num { min: 0, max: 65535, fmt: Num::Plain, unsigned: false },
        default: "0",
        flags: fl::IMMUTABLE,
    },
    Item {
        name: "cluster-announce-bus-port",
        alias: None,
        kind: K::Num { min: 0, max: 65535, fmt: Num::Plain, unsigned: false },
        default: "0",
        flags: 0,
    },
    Item {
        name: "cluster-announce-port",
        alias: None,
        kind: K::Num { min: 0, max: 65535, fmt: Num::Plain, unsigned: false },
        default: "0",
        flags: 0,
    },
    Item {
        name: "cluster-announce-tls-port",
        alias: None,
        kind: K::Num { min: 0, max: 65535, fmt: Num::Plain, unsigned: false },
        default: "0",
        flags: 0,
    },
    Item {
        name: "repl-timeout",
        alias: None,
        kind: K::Num { min: 1, max: 2147483647, fmt: Num::Plain, unsigned: false },
        default: "60",
        flags: 0,
    },
    Item {
        name: "repl-ping-replica-period",
        alias: Some("repl-ping-slave-period"),
        kind: K::Num { min: 1, max: 2147483647, fmt: Num::Plain, unsigned: false },
        default: "10",
        flags: 0,
    },
    Item {
        name: "list-compress-depth",
        alias: None,
        kind: K::Num { min: 0, max: 2147483647, fmt: Num::Plain, unsigned: false },
        default: "0",
        flags: 0,
    },
    Item {
        name: "rdb-key-save-delay",
        alias: None,
        kind: K::Num { min: -2147483648, max: 2147483647, fmt: Num::Plain, unsigned: false },
        default: "0",
        flags: fl::HIDDEN,
    },
    Item {
        name: "key-load-delay",
        alias: None,
        kind: K::Num { min: -2147483648, max: 2147483647, fmt: Num::Plain, unsigned: false },
        default: "0",
        flags: fl::HIDDEN,
    },
    Item {
        name: "active-expire-effort",
        alias: None,
        kind: K::Num { min: 1, max: 10, fmt: Num::Plain, unsigned: false },
        default: "1",
        flags: 0,
    },
    Item {
        name: "hz",
        alias: None,
        kind: K::Num { min: 0, max: 2147483647, fmt: Num::Plain, unsigned: false },
        default: "10",
        flags: 0,
    },
    Item {
        name: "min-replicas-to-write",
        alias: Some("min-slaves-to-write"),
        kind: K::Num { min: 0, max: 2147483647, fmt: Num::Plain, unsigned: false },
        default: "0",
        flags: 0,
    },
    Item {
        name: "min-replicas-max-lag",
        alias: Some("min-slaves-max-lag"),
        kind: K::Num { min: 0, max: 2147483647, fmt: Num::Plain, unsigned: false },
        default: "10",
        flags: 0,
    },
    Item {
        name: "watchdog-period",
        alias: None,
        kind: K::Num { min: 0, max: 2147483647, fmt: Num::Plain, unsigned: false },
        default: "0",
        flags: fl::HIDDEN,
    },
    Item {
        name: "shutdown-timeout",
        alias: None,
        kind: K::Num { min: 0, max: 2147483647, fmt: Num::Plain, unsigned: false },
        default: "10",
        flags: 0,
    },
    Item {
        name: "repl-diskless-sync-max-replicas",
        alias: None,
        kind: K::Num { min: 0, max: 2147483647, fmt: Num::Plain, unsigned: false },
        default: "0",
        flags: 0,
    },
    Item {
        name: "maxclients",
        alias: None,
        kind: K::Num { min: 1, max: 4294967295, fmt: Num::Plain, unsigned: true },
        default: "10000",
        flags: 0,
    },
    Item {
        name: "unixsocketperm",
        alias: None,
        kind: K::Num { min: 0, max: 511, fmt: Num::Octal, unsigned: true },
        default: "0",
        flags: fl::IMMUTABLE,
    },
    Item {
        name: "socket-mark-id",
        alias: None,
        kind: K::Num { min: 0, max: 4294967295, fmt: Num::Plain, unsigned: true },
        default: "0",
        flags: fl::IMMUTABLE,
    },
    Item {
        name: "active-defrag-max-scan-fields",
        alias: None,
        kind: K::Num { min: 1, max: 9223372036854775807, fmt: Num::Plain, unsigned: false },
        default: "1000",
        flags: 0,
    },
    Item {
        name: "slowlog-max-len",
        alias: None,
        kind: K::Num { min: 0, max: 9223372036854775807, fmt: Num::Plain, unsigned: false },
        default: "128",
        flags: 0,
    },
    Item {
        name: "acllog-max-len",
        alias: None,
        kind: K::Num { min: 0, max: 9223372036854775807, fmt: Num::Plain, unsigned: false },
        default: "128",
        flags: 0,
    },
    Item {
        name: "busy-reply-threshold",
        alias: Some("lua-time-limit"),
        kind: K::Num { min: 0, max: 9223372036854775807, fmt: Num::Plain, unsigned: false },
        default: "5000",
        flags: 0,
    },
    Item {
        name: "cluster-node-timeout",
        alias: None,
        kind: K::Num { min: 0, max: 9223372036854775807, fmt: Num::Plain, unsigned: false },
        default: "15000",
        flags: 0,
    },
    Item {
        name: "slowlog-log-slower-than",
        alias: None,
        kind: K::Num { min: -1, max: 9223372036854775807, fmt: Num::Plain, unsigned: false },
        default: "10000",
        flags: 0,
    },
    Item {
        name: "latency-monitor-threshold",
        alias: None,
        kind: K::Num { min: 0, max: 9223372036854775807, fmt: Num::Plain, unsigned: false },
        default: "0",
        flags: 0,
    },
    Item {
        name: "proto-max-bulk-len",
        alias: None,
        kind: K::Num { min: 1048576, max: 9223372036854775807, fmt: Num::Memory, unsigned: false },
        default: "536870912",
        flags: 0,
    },
    Item {
        name: "stream-node-max-entries",
        alias: None,
        kind: K::Num { min: 0, max: 9223372036854775807, fmt: Num::Plain, unsigned: false },
        default: "100",
        flags: 0,
    },
    Item {
        name: "repl-backlog-size",
        alias: None,
        kind: K::Num { min: 1, max: 9223372036854775807, fmt: Num::Memory, unsigned: false },
        default: "1048576",
        flags: 0,
    },
    Item {
        name: "maxmemory",
        alias: None,
        kind: K::Num { min: 0, max: 18446744073709551615, fmt: Num::Memory, unsigned: true },
        default: "0",
        flags: 0,
    },
    Item {
        name: "cluster-link-sendbuf-limit",
        alias: None,
        kind: K::Num { min: 0, max: 18446744073709551615, fmt: Num::Memory, unsigned: true },
        default: "0",
        flags: 0,
    },
    Item {
        name: "hash-max-listpack-entries",
        alias: Some("hash-max-ziplist-entries"),
        kind: K::Num { min: 0, max: 9223372036854775807, fmt: Num::Plain, unsigned: true },
        default: "512",
        flags: 0,
    },
    Item {
        name: "set-max-intset-entries",
        alias: None,
        kind: K::Num { min: 0, max: 9223372036854775807, fmt: Num::Plain, unsigned: true },
        default: "512",
        flags: 0,
    },
    Item {
        name: "zset-max-listpack-entries",
        alias: Some("zset-max-ziplist-entries"),
        kind: K::Num { min: 0, max: 9223372036854775807, fmt: Num::Plain, unsigned: true },
        default: "128",
        flags: 0,
    },
    Item {
        name: "active-defrag-ignore-bytes",
        alias: None,
        kind: K::Num { min: 1, max: 9223372036854775807, fmt: Num::Memory, unsigned: true },
        default: "104857600",
        flags: 0,
    },
    Item {
        name: "hash-max-listpack-value",
        alias: Some("hash-max-ziplist-value"),
        kind: K::Num { min: 0, max: 9223372036854775807, fmt: Num::Memory, unsigned: true },
        default: "64",
        flags: 0,
    },
    Item {
        name: "stream-node-max-bytes",
        alias: None,
        kind: K::Num { min: 0, max: 9223372036854775807, fmt: Num::Memory, unsigned: true },
        default: "4096",
        flags: 0,
    },
    Item {
        name: "zset-max-listpack-value",
        alias: Some("zset-max-ziplist-value"),
        kind: K::Num { min: 0, max: 9223372036854775807, fmt: Num::Memory, unsigned: true },
        default: "64",
        flags: 0,
    },
    Item {
        name: "hll-sparse-max-bytes",
        alias: None,
        kind: K::Num { min: 0, max: 9223372036854775807, fmt: Num::Memory, unsigned: true },
        default: "3000",
        flags: 0,
    },
    Item {
        name: "tracking-table-max-keys",
        alias: None,
        kind: K::Num { min: 0, max: 9223372036854775807, fmt: Num::Plain, unsigned: true },
        default: "1000000",
        flags: 0,
    },
    Item {
        name: "client-query-buffer-limit",
        alias: None,
        kind: K::Num { min: 1048576, max: 9223372036854775807, fmt: Num::Memory, unsigned: true },
        default: "1073741824",
        flags: 0,
    },
    Item {
        name: "maxmemory-clients",
        alias: None,
        kind: K::Num { min: -100, max: 9223372036854775807, fmt: Num::MemoryPercent, unsigned: false },
        default: "0",
        flags: 0,
    },
    Item {
        name: "repl-backlog-ttl",
        alias: None,
        kind: K::Num { min: 0, max: 9223372036854775807, fmt: Num::Plain, unsigned: false },
        default: "3600",
        flags: 0,
    },
    Item {
        name: "auto-aof-rewrite-min-size",
        alias: None,
        kind: K::Num { min: 0, max: 9223372036854775807, fmt: Num::Memory, unsigned: false },
        default: "67108864",
        flags: 0,
    },
    Item {
        name: "loading-process-events-interval-bytes",
        alias: None,
        kind: K::Num { min: 1024, max: 2147483647, fmt: Num::Plain, unsigned: false },
        default: "2097152",
        flags: fl::HIDDEN,
    },
    Item {
        name: "tls-port",
        alias: None,
        kind: K::Num { min: 0, max: 65535, fmt: Num::Plain, unsigned: false },
        default: "0",
        flags: 0,
    },
    Item {
        name: "tls-session-cache-size",
        alias: None,
        kind: K::Num { min: 0, max: 2147483647, fmt: Num::Plain, unsigned: false },
        default: "20480",
        flags: 0,
    },
    Item {
        name: "tls-session-cache-timeout",
        alias: None,
        kind: K::Num { min: 0, max: 2147483647, fmt: Num::Plain, unsigned: false },
        default: "300",
        flags: 0,
    },
    Item { name: "tls-cluster", alias: None, kind: K::Bool, default: "no", flags: 0 },
    Item { name: "tls-replication", alias: None, kind: K::Bool, default: "no", flags: 0 },
    Item { name: "tls-auth-clients", alias: None, kind: K::Enum(&["no", "yes", "optional"]), default: "yes", flags: 0 },
    Item { name: "tls-prefer-server-ciphers", alias: None, kind: K::Bool, default: "no", flags: 0 },
    Item { name: "tls-session-caching", alias: None, kind: K::Bool, default: "yes", flags: 0 },
    Item { name: "tls-cert-file", alias: None, kind: K::Str { empty_is_null: true }, default: "", flags: 0 },
    Item { name: "tls-key-file", alias: None, kind: K::Str { empty_is_null: true }, default: "", flags: 0 },
    Item { name: "tls-key-file-pass", alias: None, kind: K::Str { empty_is_null: true }, default: "", flags: 0 },
    Item { name: "tls-client-cert-file", alias: None, kind: K::Str { empty_is_null: true }, default: "", flags: 0 },
    Item { name: "tls-client-key-file", alias: None, kind: K::Str { empty_is_null: true }, default: "", flags: 0 },
    Item { name: "tls-client-key-file-pass", alias: None, kind: K::Str { empty_is_null: true }, default: "", flags: 0 },
    Item { name: "tls-dh-params-file", alias: None, kind: K::Str { empty_is_null: true }, default: "", flags: 0 },
    Item { name: "tls-ca-cert-file", alias: None, kind: K::Str { empty_is_null: true }, default: "", flags: 0 },
    Item { name: "tls-ca-cert-dir", alias: None, kind: K::Str { empty_is_null: true }, default: "", flags: 0 },
    Item { name: "tls-protocols", alias: None, kind: K::Str { empty_is_null: true }, default: "", flags: 0 },
    Item { name: "tls-ciphers", alias: None, kind: K::Str { empty_is_null: true }, default: "", flags: 0 },
    Item { name: "tls-ciphersuites", alias: None, kind: K::Str { empty_is_null: true }, default: "", flags: 0 },
    Item { name: "dir", alias: None, kind: K::Special(Sp::Dir), default: "", flags: fl::PROTECTED | fl::DENY_LOADING },
    Item {
        name: "save",
        alias: None,
        kind: K::Special(Sp::Save),
        default: "3600 1 300 100 60 10000",
        flags: fl::MULTI_ARG,
    },
    Item {
        name: "client-output-buffer-limit",
        alias: None,
        kind: K::Special(Sp::ClientOutputBufferLimit),
        default: "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        flags: fl::MULTI_ARG,
    },
    Item {
        name: "oom-score-adj-values",
        alias: None,
        kind: K::Special(Sp::OomScoreAdjValues),
        default: "0 200 800",
        flags: fl::MULTI_ARG,
    },
    Item {
        name: "notify-keyspace-events",
        alias: None,
        kind: K::Special(Sp::NotifyKeyspaceEvents),
        default: "",
        flags: 0,
    },
    Item { name: "bind", alias: None, kind: K::Special(Sp::Bind), default: "* -::*", flags: fl::MULTI_ARG },
    Item {
        name: "replicaof",
        alias: Some("slaveof"),
        kind: K::Special(Sp::Replicaof),
        default: "",
        flags: fl::IMMUTABLE | fl::MULTI_ARG,
    },
    Item {
        name: "latency-tracking-info-percentiles",
        alias: None,
        kind: K::Special(Sp::LatencyTrackingInfoPercentiles),
        default: "50 99 99.9",
        flags: fl::MULTI_ARG,
    },
];

/// Directives Redis still accepts in a config file and ignores.
const DEPRECATED: &[&str] = &["list-max-ziplist-entries", "list-max-ziplist-value", "lua-replicate-commands"];

/// The item for a name or alias, any case.
pub fn lookup(name: &str) -> Option<&'static Item> {
    index_of(name).map(|i| &ITEMS[i])
}

/// The position in `ITEMS` of a name or alias, any case.
pub fn index_of(name: &str) -> Option<usize> {
    // Read on hot paths (thresholds per write): a fast non-cryptographic hash.
    static INDEX: std::sync::OnceLock<HashMap<&'static str, usize, ahash::RandomState>> = std::sync::OnceLock::new();
    let idx = INDEX.get_or_init(|| {
        let mut m = HashMap::with_hasher(ahash::RandomState::new());
        for (i, it) in ITEMS.iter().enumerate() {
            m.insert(it.name, i);
            if let Some(a) = it.alias {
                m.insert(a, i);
            }
        }
        m
    });
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        idx.get(name.to_ascii_lowercase().as_str()).copied()
    } else {
        idx.get(name).copied()
    }
}

/// Parses Redis's memory notation: `100`, `1k` (1000), `1kb` (1024), `1mb`,
/// `1gb`, `1b`; no sign allowed.
pub fn parse_memory(s: &str) -> Option<i64> {
    let u = parse_memory_u64(s)?;
    i64::try_from(u).ok()
}

fn parse_memory_u64(s: &str) -> Option<u64> {
    let digits = s.bytes().take_while(|b| b.is_ascii_digit()).count();
    let (num, unit) = s.split_at(digits);
    let mul: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1_000_000,
        "mb" => 1 << 20,
        "g" => 1_000_000_000,
        "gb" => 1 << 30,
        _ => return None,
    };
    if num.is_empty() {
        // strtoull of nothing is 0.
        return Some(0);
    }
    num.parse::<u64>().ok()?.checked_mul(mul)
}

/// strtoll-style: an optional sign and digits, nothing else (empty is 0).
fn strtoll_exact(s: &str) -> Option<i64> {
    if s.is_empty() {
        return Some(0);
    }
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.parse::<i64>().unwrap_or(if s.starts_with('-') { i64::MIN } else { i64::MAX }))
}

#[derive(Clone, Debug, PartialEq)]
struct Val {
    text: String,
    num: i64,
}

impl Val {
    fn new(text: impl Into<String>, num: i64) -> Val {
        Val { text: text.into(), num }
    }
}

/// The keyspace event classes, by letter, in the order Redis prints them.
const EVENT_LETTERS: &[(char, i64)] = &[
    ('g', 1 << 2),
    ('$', 1 << 3),
    ('l', 1 << 4),
    ('s', 1 << 5),
    ('h', 1 << 6),
    ('z', 1 << 7),
    ('x', 1 << 8),
    ('e', 1 << 9),
    ('t', 1 << 10),
    ('d', 1 << 13),
    ('n', 1 << 14),
];
const EVENTS_ALL: i64 =
    (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 13);

fn parse_events(s: &str) -> Option<i64> {
    let mut flags = 0;
    for c in s.chars() {
        flags |= match c {
            'A' => EVENTS_ALL,
            'K' => 1,
            'E' => 2,
            'm' => 1 << 11,
            c => EVENT_LETTERS.iter().find(|(l, _)| *l == c)?.1,
        };
    }
    Some(flags)
}

fn render_events(flags: i64) -> String {
    let mut s = String::new();
    if flags & EVENTS_ALL == EVENTS_ALL {
        s.push('A');
    } else {
        for (c, bit) in EVENT_LETTERS {
            if flags & bit != 0 {
                s.push(*c);
            }
        }
    }
    for (c, bit) in [('K', 1), ('E', 2), ('m', 1 << 11)] {
        if flags & bit != 0 {
            s.push(c);
        }
    }
    s
}

/// Redis's `%f` then trailing zeros (and a bare point) removed.
pub fn trim_double(d: f64) -> String {
    let s = format!("{d:.6}");
    let s = s.trim_end_matches('0');
    s.trim_end_matches('.').to_string()
}

/// Splits a value the way Redis splits a multi-word setting: on single
/// spaces (so two spaces make an empty word).
fn words(value: &str) -> Vec<&str> {
    value.split(' ').collect()
}

/// Checks `value` for `it` and returns its canonical form, or the reason
/// (Redis's text, without the "where"). `old` is the current value (some
/// settings change only the parts given).
fn check(it: &Item, value: &str, old: Option<&Val>) -> Result<Val, String> {
    match it.kind {
        K::Bool => match value.to_ascii_lowercase().as_str() {
            "yes" => Ok(Val::new("yes", 1)),
            "no" => Ok(Val::new("no", 0)),
            _ => Err("argument must be 'yes' or 'no'".into()),
        },
        K::Num { min, max, fmt, unsigned } => {
            let n: i128 = match fmt {
                Num::Plain => types::num::parse_i64(value.as_bytes())
                    .ok_or("argument couldn't be parsed into an integer")? as i128,
                Num::Memory => parse_memory_u64(value).ok_or("argument must be a memory value")? as i128,
                Num::MemoryPercent => match parse_memory_u64(value) {
                    Some(n) => n as i128,
                    None => match value.strip_suffix('%').and_then(|p| types::num::parse_i64(p.as_bytes())) {
                        Some(p) if p >= 0 && value.len() > 1 => -(p as i128),
                        _ => return Err("argument must be a memory or percent value".into()),
                    },
                },
                Num::Octal => i64::from_str_radix(value, 8)
                    .map_err(|_| "argument couldn't be parsed as an octal number".to_string())?
                    as i128,
            };
            // Memory values arrive unsigned; signed settings see them as C does.
            let n = if !unsigned && n > i64::MAX as i128 { n - (1i128 << 64) } else { n };
            if fmt == Num::MemoryPercent && n < 0 {
                if n < min {
                    return Err(format!("percentage argument must be less or equal to {}", -min));
                }
            } else if n < min || n > max {
                return Err(if fmt == Num::Octal {
                    format!("argument must be between {min:o} and {max:o} inclusive")
                } else {
                    format!("argument must be between {min} and {max} inclusive")
                });
            }
            let text = match fmt {
                Num::MemoryPercent if n < 0 => format!("{}%", -n),
                Num::Octal => format!("{n:o}"),
                _ => n.to_string(),
            };
            Ok(Val::new(text, n.clamp(i64::MIN as i128, i64::MAX as i128) as i64))
        }
        K::Enum(names) => {
            let multi = it.flags & fl::MULTI_ARG != 0;
            let err = || format!("argument(s) must be one of the following: {}", names.join(", "));
            if !multi {
                let i = names.iter().position(|n| n.eq_ignore_ascii_case(value)).ok_or_else(err)?;
                // Aliased words (oom-score-adj yes = relative) print as the first name of their value.
                return Ok(Val::new(names[i], i as i64));
            }
            // Flags: each word sets a bit; "default" (the first) is no bits.
            let mut bits = 0i64;
            for w in words(value) {
                let i = names.iter().position(|n| n.eq_ignore_ascii_case(w)).ok_or_else(err)?;
                if i > 0 {
                    bits |= 1 << (i - 1);
                }
            }
            let text = if bits == 0 {
                names[0].to_string()
            } else {
                (1..names.len()).filter(|i| bits & (1 << (i - 1)) != 0).map(|i| names[i]).collect::<Vec<_>>().join(" ")
            };
            if it.name.starts_with("shutdown-on-sig") && bits & 0b11 == 0b11 {
                return Err("shutdown options SAVE and NOSAVE can't be used simultaneously".into());
            }
            Ok(Val::new(text, bits))
        }
        K::Str { .. } => {
            if matches!(it.name, "dbfilename" | "appendfilename") && value.contains('/') {
                return Err(if it.name == "dbfilename" {
                    "dbfilename can't be a path, just a filename".into()
                } else {
                    "appendfilename can't be a path, just a filename".into()
                });
            }
            if it.name == "appenddirname" && value.contains('/') {
                return Err("appenddirname can't be a path, just a dirname".into());
            }
            Ok(Val::new(value, 0))
        }
        K::Special(sp) => check_special(sp, value, old),
    }
}

fn check_special(sp: Sp, value: &str, old: Option<&Val>) -> Result<Val, String> {
    match sp {
        Sp::Dir => Ok(Val::new(value, 0)),
        Sp::Save => {
            if value.is_empty() {
                return Ok(Val::new("", 0));
            }
            let w = words(value);
            if w.len() % 2 == 1 {
                return Err("Invalid save parameters".into());
            }
            let mut parts = Vec::new();
            for (j, x) in w.iter().enumerate() {
                let v = strtoll_exact(x).ok_or("Invalid save parameters")?;
                if (j % 2 == 0 && v < 1) || (j % 2 == 1 && v < 0) {
                    return Err("Invalid save parameters".into());
                }
                parts.push(if j % 2 == 1 { (v as i32).to_string() } else { v.to_string() });
            }
            Ok(Val::new(parts.join(" "), 0))
        }
        Sp::ClientOutputBufferLimit => {
            let w = words(value);
            if !w.len().is_multiple_of(4) {
                return Err("Wrong number of arguments in buffer limit configuration.".into());
            }
            let current = old.map_or("normal 0 0 0 slave 0 0 0 pubsub 0 0 0".to_string(), |v| v.text.clone());
            let mut classes: Vec<[String; 4]> = current
                .split(' ')
                .collect::<Vec<_>>()
                .chunks(4)
                .filter(|c| c.len() == 4)
                .map(|c| [c[0].to_string(), c[1].to_string(), c[2].to_string(), c[3].to_string()])
                .collect();
            let mut updates = Vec::new();
            for g in w.chunks(4) {
                let class = match g[0].to_ascii_lowercase().as_str() {
                    "normal" => "normal",
                    "slave" | "replica" => "slave",
                    "pubsub" => "pubsub",
                    _ => return Err("Invalid client class specified in buffer limit configuration.".into()),
                };
                let bad = || "Error in hard, soft or soft_seconds setting in buffer limit configuration.".to_string();
                let hard = parse_memory_u64(g[1]).ok_or_else(bad)?;
                let soft = parse_memory_u64(g[2]).ok_or_else(bad)?;
                let secs = strtoll_exact(g[3]).ok_or_else(bad)? as i32;
                if secs < 0 {
                    return Err(bad());
                }
                updates.push((class, [class.to_string(), hard.to_string(), soft.to_string(), secs.to_string()]));
            }
            for (class, v) in updates {
                if let Some(c) = classes.iter_mut().find(|c| c[0] == class) {
                    *c = v;
                }
            }
            Ok(Val::new(classes.iter().map(|c| c.join(" ")).collect::<Vec<_>>().join(" "), 0))
        }
        Sp::OomScoreAdjValues => {
            let w = words(value);
            if w.len() != 3 {
                return Err("wrong number of arguments".into());
            }
            let mut v = Vec::new();
            for x in w {
                match strtoll_exact(x) {
                    Some(n) if (-2000..=2000).contains(&n) => v.push(n.to_string()),
                    _ => return Err("Invalid oom-score-adj-values, elements must be between -2000 and 2000.".into()),
                }
            }
            Ok(Val::new(v.join(" "), 0))
        }
        Sp::NotifyKeyspaceEvents => {
            let flags = parse_events(value).ok_or("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")?;
            Ok(Val::new(render_events(flags), flags))
        }
        Sp::Bind => {
            let w: Vec<&str> = if value.is_empty() { Vec::new() } else { words(value) };
            if w.len() > 16 {
                return Err("Too many bind addresses specified.".into());
            }
            Ok(Val::new(w.join(" "), 0))
        }
        Sp::Replicaof => {
            if value.is_empty() && old.is_none() {
                // The default: not a replica.
                return Ok(Val::new("", 0));
            }
            let w = words(value);
            if w.len() != 2 {
                return Err("wrong number of arguments".into());
            }
            if w[0].eq_ignore_ascii_case("no") && w[1].eq_ignore_ascii_case("one") {
                return Ok(Val::new("", 0));
            }
            match strtoll_exact(w[1]) {
                Some(p) if (0..=65535).contains(&p) && !w[1].is_empty() => Ok(Val::new(format!("{} {p}", w[0]), 0)),
                _ => Err("Invalid master port".into()),
            }
        }
        Sp::LatencyTrackingInfoPercentiles => {
            if value.is_empty() {
                return Ok(Val::new("", 0));
            }
            let mut v = Vec::new();
            for x in words(value) {
                let d = types::num::parse_f64(x.as_bytes())
                    .filter(|d| !d.is_nan())
                    .ok_or("Invalid latency-tracking-info-percentiles parameters")?;
                if !(0.0..=100.0).contains(&d) {
                    return Err("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]".into());
                }
                v.push(trim_double(d));
            }
            Ok(Val::new(v.join(" "), 0))
        }
    }
}

/// The live settings.
pub struct Config {
    vals: RwLock<HashMap<&'static str, Val>>,
    /// The numbers of `vals`, by position in `ITEMS`: hot paths read them
    /// without taking the lock.
    nums: Box<[std::sync::atomic::AtomicI64]>,
    /// The config file the server was started with (CONFIG REWRITE).
    file: Mutex<Option<PathBuf>>,
    /// Cached "maxmemory-policy is an LFU policy": read on every key access.
    lfu: AtomicBool,
    /// Cached `maxmemory` in bytes (0: no limit): read before every command.
    maxmemory: AtomicU64,
    /// Bumped after every change, so hot paths can cache parsed values.
    version: AtomicU64,
    /// Rebinds the listening sockets for a new port / bind list (installed
    /// by the running server; see `crate::run`).
    listen_hook: Mutex<Option<ListenHook>>,
    /// `bind` as last set (read by the listen hook for a new port).
    bind_text: Mutex<String>,
    /// `user` directives of the config file and command line: each user's
    /// name and rules, created at startup (acl.rs).
    pub users: Mutex<Vec<Vec<Vec<u8>>>>,
    /// Cached `slowlog-log-slower-than` in µs, `u64::MAX` when negative
    /// (disabled): compared with every command's duration.
    slowlog_us: AtomicU64,
    /// Cached `latency-monitor-threshold` in µs, `u64::MAX` when 0 (the
    /// latency monitor is off): compared with every command's duration.
    latency_us: AtomicU64,
}

/// Binds listeners for (port, bind list) and starts serving them in place
/// of the old ones.
pub type ListenHook = Box<dyn Fn(u16, &str) -> std::io::Result<()> + Send + Sync>;

/// `slowlog-log-slower-than` as one unsigned threshold (negative: never).
fn slowlog_threshold(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// `latency-monitor-threshold` (ms) as a threshold in µs (0: never).
fn latency_threshold(ms: i64) -> u64 {
    match u64::try_from(ms) {
        Ok(0) | Err(_) => u64::MAX,
        Ok(ms) => ms.saturating_mul(1000),
    }
}

impl Default for Config {
    fn default() -> Self {
        let mut m = HashMap::new();
        for it in ITEMS {
            let v = check(it, it.default, None).unwrap_or_else(|e| panic!("default of {}: {e}", it.name));
            m.insert(it.name, v);
        }
        let nums = ITEMS.iter().map(|it| std::sync::atomic::AtomicI64::new(m[it.name].num)).collect();
        let slowlog_us = AtomicU64::new(slowlog_threshold(m["slowlog-log-slower-than"].num));
        let latency_us = AtomicU64::new(latency_threshold(m["latency-monitor-threshold"].num));
        Config {
            vals: RwLock::new(m),
            nums,
            file: Mutex::new(None),
            lfu: AtomicBool::new(false),
            maxmemory: AtomicU64::new(0),
            version: AtomicU64::new(0),
            listen_hook: Mutex::new(None),
            bind_text: Mutex::new(String::new()),
            users: Mutex::new(Vec::new()),
            slowlog_us,
            latency_us,
        }
    }
}

/// Why a CONFIG SET failed, rendered as Redis's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetError {
    Unknown(String),
    /// (argument as given, reason)
    Failed(String, String),
}

impl std::fmt::Display for SetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SetError::Unknown(n) => write!(f, "Unknown option or number of arguments for CONFIG SET - '{n}'"),
            SetError::Failed(n, why) => write!(f, "CONFIG SET failed (possibly related to argument '{n}') - {why}"),
        }
    }
}

impl Config {
    /// True if maxmemory-policy is an LFU policy (cheap: read per key access).
    pub fn lfu(&self) -> bool {
        self.lfu.load(Ordering::Relaxed)
    }

    /// `maxmemory` in bytes, 0 for no limit (cheap: read per command).
    pub fn maxmemory(&self) -> u64 {
        self.maxmemory.load(Ordering::Relaxed)
    }

    /// Installs the running server's listen hook (CONFIG SET port / bind).
    pub fn set_listen_hook(&self, hook: ListenHook) {
        *self.bind_text.lock() = self.get_text("bind").unwrap_or_default();
        *self.listen_hook.lock() = Some(hook);
    }

    /// Commands taking at least this many µs go to the slow log (cheap:
    /// read per command; `u64::MAX` when the log is disabled).
    pub fn slowlog_threshold(&self) -> u64 {
        self.slowlog_us.load(Ordering::Relaxed)
    }

    /// Commands (and other monitored work) taking at least this many µs
    /// are latency events (cheap: read per command; `u64::MAX` when the
    /// latency monitor is off).
    pub fn latency_threshold(&self) -> u64 {
        self.latency_us.load(Ordering::Relaxed)
    }

    /// Sets a value from a config file or the command line (immutable items
    /// allowed). The error is the reason, without the "where".
    pub fn load_set(&self, name: &str, value: &str) -> Result<(), String> {
        let it = lookup(name).ok_or_else(|| "Bad directive or wrong number of arguments".to_string())?;
        let old = self.vals.read().get(it.name).cloned();
        let v = check(it, value, old.as_ref())?;
        self.apply(it, &v, old.as_ref(), false)?;
        self.store_num(it, v.num);
        self.vals.write().insert(it.name, v);
        self.version.fetch_add(1, Ordering::Release);
        Ok(())
    }

    /// Changes after every successful set (for caches of parsed values).
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    fn store_num(&self, it: &Item, n: i64) {
        if let Some(i) = index_of(it.name) {
            self.nums[i].store(n, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// CONFIG SET of one item. The error is Redis's full message tail.
    pub fn runtime_set(&self, name: &str, value: &str) -> Result<(), String> {
        let protected_ok = self.get_text("enable-protected-configs").as_deref() == Some("yes");
        self.set_many(&[(name, value)], protected_ok).map_err(|e| e.to_string())
    }

    /// Checks a CONFIG SET value without applying it; returns the canonical name.
    pub fn check_runtime(&self, name: &str, value: &str) -> Result<&'static str, String> {
        let it = lookup(name).ok_or_else(|| SetError::Unknown(name.to_string()).to_string())?;
        if !it.mutable() {
            return Err(SetError::Failed(name.into(), "can't set immutable config".into()).to_string());
        }
        let old = self.vals.read().get(it.name).cloned();
        check(it, value, old.as_ref()).map_err(|e| SetError::Failed(name.into(), e).to_string())?;
        Ok(it.name)
    }

    /// CONFIG SET name value [name value ...]: all or nothing. `protected_ok`
    /// says whether protected settings (dir, dbfilename) may change for
    /// this client (enable-protected-configs).
    pub fn set_many(&self, pairs: &[(&str, &str)], protected_ok: bool) -> Result<(), SetError> {
        let mut items: Vec<&'static Item> = Vec::with_capacity(pairs.len());
        let mut first_err: Option<SetError> = None;
        for (name, _) in pairs {
            let Some(it) = lookup(name) else { return Err(SetError::Unknown(name.to_string())) };
            if first_err.is_none() {
                if !it.mutable() {
                    first_err = Some(SetError::Failed(name.to_string(), "can't set immutable config".into()));
                } else if it.flags & fl::PROTECTED != 0 && !protected_ok {
                    first_err = Some(SetError::Failed(name.to_string(), "can't set protected config".into()));
                } else if items.iter().any(|x| std::ptr::eq(*x, it)) {
                    first_err = Some(SetError::Failed(name.to_string(), "duplicate parameter".into()));
                }
            }
            items.push(it);
        }
        if let Some(e) = first_err {
            return Err(e);
        }
        let mut vals = self.vals.write();
        let mut new = Vec::with_capacity(items.len());
        for (it, (_, value)) in items.iter().zip(pairs) {
            let v = check(it, value, vals.get(it.name)).map_err(|e| SetError::Failed(it.name.to_string(), e))?;
            new.push(v);
        }
        let old: Vec<Val> = items.iter().map(|it| vals[it.name].clone()).collect();
        for (i, (it, v)) in items.iter().zip(&new).enumerate() {
            if let Err(e) = self.apply(it, v, Some(&old[i]), true) {
                // Undo what was applied, in reverse.
                for j in (0..i).rev() {
                    let _ = self.apply(items[j], &old[j], None, true);
                }
                return Err(SetError::Failed(it.name.to_string(), e));
            }
        }
        for (it, v) in items.iter().zip(new) {
            self.store_num(it, v.num);
            vals.insert(it.name, v);
        }
        self.version.fetch_add(1, Ordering::Release);
        Ok(())
    }

    /// Carries out a setting whose effect is outside this table.
    /// `runtime` is false while reading the config file or command line.
    fn apply(&self, it: &Item, v: &Val, old: Option<&Val>, runtime: bool) -> Result<(), String> {
        if it.name == "maxmemory-policy" {
            self.lfu.store(v.text.ends_with("-lfu"), Ordering::Relaxed);
        }
        if it.name == "maxmemory" {
            self.maxmemory.store(v.num as u64, Ordering::Relaxed);
        }
        if it.name == "rdbcompression" {
            crate::rdb::COMPRESS.store(v.num != 0, Ordering::Relaxed);
        }
        if it.name == "slowlog-log-slower-than" {
            self.slowlog_us.store(slowlog_threshold(v.num), Ordering::Relaxed);
        }
        if it.name == "latency-monitor-threshold" {
            self.latency_us.store(latency_threshold(v.num), Ordering::Relaxed);
        }
        if it.name == "dir" && !v.text.is_empty() {
            std::env::set_current_dir(&v.text).map_err(|e| os_error_text(&e))?;
        }
        // A new port or bind list at run time: the server's listen hook
        // binds the new listeners (the setting is refused, and stays, if
        // that fails). No TLS port can be opened.
        let cur = old.map(|x| x.num);
        // (Called with the settings locked: the other half of the address
        // comes from its own copy.)
        if runtime && it.name == "port" && cur.is_some_and(|c| c != v.num) {
            let bind = self.bind_text.lock().clone();
            if let Some(hook) = self.listen_hook.lock().as_ref() {
                return hook(v.num as u16, &bind)
                    .map_err(|_| "Unable to listen on this port. Check server logs.".into());
            }
        }
        if runtime && it.name == "bind" && old.is_some_and(|o| o.text != v.text) {
            let port = self.num_at(index_of("port").unwrap_or(0)) as u16;
            if let Some(hook) = self.listen_hook.lock().as_ref() {
                hook(port, &v.text).map_err(|_| "Failed to bind to specified addresses.".to_string())?;
                *self.bind_text.lock() = v.text.clone();
                return Ok(());
            }
        }
        if it.name == "bind" && !runtime {
            *self.bind_text.lock() = v.text.clone();
        }
        if runtime && ((it.name == "port" && cur.is_some_and(|c| c != v.num)) || (it.name == "tls-port" && v.num != 0))
        {
            return Err("Unable to listen on this port. Check server logs.".into());
        }
        if runtime && it.name == "bind" && old.is_some_and(|o| o.text != v.text) {
            return Err("Failed to bind to specified addresses.".into());
        }
        Ok(())
    }

    pub fn get_text(&self, name: &str) -> Option<String> {
        let it = lookup(name)?;
        if it.name == "dir" {
            return Some(std::env::current_dir().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default());
        }
        self.vals.read().get(it.name).map(|v| v.text.clone())
    }

    /// The numeric value of a numeric, boolean or flag item (0 for others).
    /// The numeric value of the item at `index_of`'s index (see `cfg_num!`).
    pub fn num_at(&self, i: usize) -> i64 {
        self.nums[i].load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn get_num(&self, name: &str) -> i64 {
        index_of(name).map(|i| self.nums[i].load(std::sync::atomic::Ordering::Relaxed)).unwrap_or(0)
    }

    pub fn get_bool(&self, name: &str) -> bool {
        self.get_num(name) != 0
    }

    /// (name, value) of every item (aliases included) whose name matches the
    /// glob, in table order. Hidden items need their exact name.
    pub fn matching(&self, pattern: &[u8]) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for it in ITEMS {
            if it.flags & fl::HIDDEN != 0 {
                continue;
            }
            for name in std::iter::once(it.name).chain(it.alias) {
                if crate::glob::matches(pattern, name.as_bytes(), true) {
                    out.push((name, self.get_text(it.name).unwrap_or_default()));
                }
            }
        }
        out
    }

    /// CONFIG GET pattern [pattern ...]: each matching name once, in the
    /// order found. A name without glob characters is looked up exactly and
    /// reported as given.
    pub fn get_patterns(&self, patterns: &[&[u8]]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for p in patterns {
            let has_glob = p.iter().any(|c| matches!(c, b'*' | b'?' | b'['));
            if !has_glob {
                let name = String::from_utf8_lossy(p).into_owned();
                if out.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                    continue;
                }
                if let Some(it) = lookup(&name) {
                    out.push((name, self.get_text(it.name).unwrap_or_default()));
                }
                continue;
            }
            for (n, v) in self.matching(p) {
                if !out.iter().any(|(o, _)| o.eq_ignore_ascii_case(n)) {
                    out.push((n.to_string(), v));
                }
            }
        }
        out
    }

    /// Remembers the config file (for CONFIG REWRITE).
    pub fn set_file(&self, path: PathBuf) {
        *self.file.lock() = Some(path);
    }

    pub fn file(&self) -> Option<PathBuf> {
        self.file.lock().clone()
    }

    /// Applies a command line in Redis's style: an optional config file
    /// first (not starting with `--`), then `--name value...` pairs (a
    /// directive takes every word up to the next `--`), which override the
    /// file. Returns the config file's path, if one was given.
    pub fn load_args(&self, args: &[String]) -> Result<Option<PathBuf>, String> {
        let mut rest = args;
        let mut file = None;
        if let Some(first) = rest.first() {
            if !first.starts_with("--") {
                let text = std::fs::read_to_string(first)
                    .map_err(|e| format!("Fatal error, can't open config file '{first}': {}", os_error_text(&e)))?;
                // Resolved before loading: a `dir` line changes the working directory.
                let path = std::fs::canonicalize(first).unwrap_or_else(|_| PathBuf::from(first));
                self.load_text(&text, first)?;
                self.set_file(path.clone());
                file = Some(path);
                rest = &rest[1..];
            }
        }
        let mut text = String::new();
        for a in rest {
            if let Some(name) = a.strip_prefix("--") {
                text.push('\n');
                text.push_str(name);
            } else {
                text.push(' ');
                text.push_str(&quote(a));
            }
        }
        self.load_text(&text, "(command line)")?;
        Ok(file)
    }

    /// Reads redis.conf text. Errors name the line and directive as Redis does.
    pub fn load_text(&self, text: &str, file: &str) -> Result<(), String> {
        for (n, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let words =
                resp_split(t).ok_or_else(|| config_error(file, n + 1, t, "Unbalanced quotes in configuration line"))?;
            if words.is_empty() {
                continue;
            }
            let name = words[0].to_ascii_lowercase();
            if DEPRECATED.contains(&name.as_str()) {
                continue;
            }
            if name == "user" {
                // user <name> [rule ...]: checked now, created at startup.
                // (A rule list given on the command line arrives as one
                // quoted word: it is split again.)
                let mut w: Vec<Vec<u8>> = Vec::new();
                for x in &words[1..] {
                    match resp_split(x) {
                        Some(parts) if words.len() == 2 => w.extend(parts.into_iter().map(|p| p.into_bytes())),
                        _ => w.push(x.as_bytes().to_vec()),
                    }
                }
                let refs: Vec<&[u8]> = w.iter().map(|x| x.as_slice()).collect();
                if refs.is_empty() {
                    return Err(config_error(file, n + 1, t, "wrong number of arguments"));
                }
                crate::acl::parse_user(&refs, false).map_err(|e| config_error(file, n + 1, t, &e))?;
                let mut users = self.users.lock();
                if users.iter().any(|u| u[0] == w[0]) {
                    return Err(config_error(
                        file,
                        n + 1,
                        t,
                        "Duplicate user found. A user can only be defined once in config files",
                    ));
                }
                users.push(w);
                continue;
            }
            let Some(it) = lookup(&name) else {
                return Err(config_error(file, n + 1, t, "Bad directive or wrong number of arguments"));
            };
            if it.flags & fl::MULTI_ARG == 0 && words.len() != 2 {
                return Err(config_error(file, n + 1, t, "wrong number of arguments"));
            }
            let value = words[1..].join(" ");
            self.load_set(&name, &value).map_err(|e| config_error(file, n + 1, t, &e))?;
        }
        Ok(())
    }

    /// The config file's text after CONFIG REWRITE: every line naming a
    /// setting is replaced by the setting's current value (later repeats are
    /// dropped), comments and unknown lines stay, and settings that differ
    /// from their defaults and were not in the file are appended.
    pub fn rewritten(&self, old: &str) -> String {
        const SIGNATURE: &str = "# Generated by CONFIG REWRITE";
        let mut out: Vec<String> = Vec::new();
        let mut done: Vec<&'static str> = Vec::new();
        for line in old.lines() {
            if line.trim() == SIGNATURE {
                continue;
            }
            let t = line.trim();
            let item = if t.is_empty() || t.starts_with('#') {
                None
            } else {
                resp_split(t).and_then(|w| w.first().and_then(|n| lookup(n)))
            };
            match item {
                None => out.push(line.to_string()),
                Some(it) if done.contains(&it.name) => {}
                Some(it) => {
                    done.push(it.name);
                    out.push(self.config_line(it));
                }
            }
        }
        while out.last().is_some_and(|l| l.trim().is_empty()) {
            out.pop();
        }
        let mut added = false;
        for it in ITEMS {
            if done.contains(&it.name) || it.name == "dir" {
                continue;
            }
            let cur = self.vals.read().get(it.name).map(|v| v.text.clone()).unwrap_or_default();
            let default = check(it, it.default, None).map(|v| v.text).unwrap_or_default();
            if cur != default {
                if !added {
                    out.push(SIGNATURE.to_string());
                    added = true;
                }
                out.push(self.config_line(it));
            }
        }
        let mut s = out.join("\n");
        s.push('\n');
        s
    }

    fn config_line(&self, it: &Item) -> String {
        let v = self.get_text(it.name).unwrap_or_default();
        if it.flags & fl::MULTI_ARG != 0 && !v.is_empty() {
            let parts: Vec<String> = v.split(' ').map(quote).collect();
            format!("{} {}", it.name, parts.join(" "))
        } else {
            format!("{} {}", it.name, quote(&v))
        }
    }
}

/// A word for a config file: quoted when it is empty or has special characters.
fn quote(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\'' && b != b'\\') {
        return s.to_string();
    }
    let mut q = String::from("\"");
    for b in s.bytes() {
        match b {
            b'\\' => q.push_str("\\\\"),
            b'"' => q.push_str("\\\""),
            b'\n' => q.push_str("\\n"),
            b'\r' => q.push_str("\\r"),
            b'\t' => q.push_str("\\t"),
            b' '..=b'~' => q.push(b as char),
            _ => q.push_str(&format!("\\x{b:02x}")),
        }
    }
    q.push('"');
    q
}

/// The C library's text for an OS error (what Redis prints with strerror).
pub fn os_error_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn resp_split(line: &str) -> Option<Vec<String>> {
    let parts = resp::parse(format!("{line}\n").as_bytes(), Default::default(), &mut Vec::new()).ok()??;
    Some(parts.inline?.into_iter().map(|b| String::from_utf8_lossy(&b).into_owned()).collect())
}

fn config_error(file: &str, line: usize, text: &str, why: &str) -> String {
    format!("\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line {line}\n>>> '{text}'\n{why}\nin file {file}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cfg_num_reads_the_setting() {
        let c = Config::default();
        assert_eq!(crate::cfg_num!(c, "zset-max-listpack-entries"), c.get_num("zset-max-listpack-entries"));
        c.load_set("zset-max-listpack-entries", "7").unwrap();
        assert_eq!(crate::cfg_num!(c, "zset-max-listpack-entries"), 7);
    }

    #[test]
    fn memory() {
        assert_eq!(parse_memory("1gb"), Some(1 << 30));
        assert_eq!(parse_memory("5k"), Some(5000));
        assert_eq!(parse_memory("1KB"), Some(1024));
        assert_eq!(parse_memory("x"), None);
        assert_eq!(parse_memory("-1"), None);
    }

    #[test]
    fn set_and_get() {
        let c = Config::default();
        assert_eq!(c.get_num("hash-max-ziplist-entries"), 512);
        c.runtime_set("hash-max-ziplist-entries", "7").unwrap();
        assert_eq!(c.get_num("hash-max-listpack-entries"), 7);
        assert!(c.runtime_set("databases", "3").is_err());
        assert!(c.runtime_set("maxmemory-policy", "bogus").is_err());
        c.runtime_set("maxmemory", "1mb").unwrap();
        assert_eq!(c.get_text("maxmemory").unwrap(), "1048576");
        let e = c.load_text("port 7000\nbogus 1\n", "x.conf").unwrap_err();
        assert!(e.contains("line 2") && e.contains("bogus"), "{e}");
        assert_eq!(c.get_num("port"), 7000);
    }

    #[test]
    fn every_default_is_valid_and_names_unique() {
        let c = Config::default();
        let mut names = std::collections::HashSet::new();
        for it in ITEMS {
            assert!(names.insert(it.name), "{} twice", it.name);
            if let Some(a) = it.alias {
                assert!(names.insert(a), "{a} twice");
            }
            assert!(c.get_text(it.name).is_some());
        }
    }

    #[test]
    fn errors_are_redis_texts() {
        let c = Config::default();
        let e = |n: &str, v: &str| c.runtime_set(n, v).unwrap_err();
        assert_eq!(e("nosuch", "1"), "Unknown option or number of arguments for CONFIG SET - 'nosuch'");
        assert_eq!(
            e("maxclients", "0"),
            "CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 4294967295 inclusive"
        );
        assert_eq!(
            e("daemonize", "yes"),
            "CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config"
        );
        assert_eq!(
            e("dir", "/"),
            "CONFIG SET failed (possibly related to argument 'dir') - can't set protected config"
        );
        assert_eq!(
            e("maxmemory-clients", "200%"),
            "CONFIG SET failed (possibly related to argument 'maxmemory-clients') - percentage argument must be less or equal to 100"
        );
        assert_eq!(e("save", "1"), "CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters");
    }

    #[test]
    fn special_kinds() {
        let c = Config::default();
        c.runtime_set("notify-keyspace-events", "KEA").unwrap();
        assert_eq!(c.get_text("notify-keyspace-events").unwrap(), "AKE");
        c.runtime_set("notify-keyspace-events", "gx$").unwrap();
        assert_eq!(c.get_text("notify-keyspace-events").unwrap(), "g$x");
        c.runtime_set("client-output-buffer-limit", "pubsub 1mb 2k 3").unwrap();
        assert_eq!(
            c.get_text("client-output-buffer-limit").unwrap(),
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 2000 3"
        );
        c.runtime_set("shutdown-on-sigterm", "nosave now").unwrap();
        assert_eq!(c.get_text("shutdown-on-sigterm").unwrap(), "nosave now");
        c.runtime_set("maxmemory-clients", "10%").unwrap();
        assert_eq!(c.get_text("maxmemory-clients").unwrap(), "10%");
        c.runtime_set("latency-tracking-info-percentiles", "50 99.99 100").unwrap();
        assert_eq!(c.get_text("latency-tracking-info-percentiles").unwrap(), "50 99.99 100");
    }

    #[test]
    fn atomic_multi_set() {
        let c = Config::default();
        let e = c.set_many(&[("maxclients", "5"), ("hz", "x")], false).unwrap_err();
        assert!(e.to_string().contains("'hz'"));
        assert_eq!(c.get_num("maxclients"), 10000);
        let e = c.set_many(&[("hz", "5"), ("hz", "6")], false).unwrap_err();
        assert_eq!(e.to_string(), "CONFIG SET failed (possibly related to argument 'hz') - duplicate parameter");
        c.set_many(&[("maxclients", "5"), ("hz", "7")], false).unwrap();
        assert_eq!((c.get_num("maxclients"), c.get_num("hz")), (5, 7));
    }

    #[test]
    fn command_line() {
        let c = Config::default();
        let args: Vec<String> =
            ["--port", "7000", "--bind", "127.0.0.1", "::1", "--databases", "4", "--requirepass", "a b", "--save", ""]
                .iter()
                .map(|s| s.to_string())
                .collect();
        assert_eq!(c.load_args(&args), Ok(None));
        assert_eq!(c.get_num("port"), 7000);
        assert_eq!(c.get_text("bind").unwrap(), "127.0.0.1 ::1");
        assert_eq!(c.get_num("databases"), 4);
        assert_eq!(c.get_text("requirepass").unwrap(), "a b");
        assert_eq!(c.get_text("save").unwrap(), "");
        let e = c.load_args(&["--port".to_string(), "x".to_string()]).unwrap_err();
        assert!(e.contains("argument couldn't be parsed into an integer") && e.contains("(command line)"), "{e}");
        let e = c.load_args(&["--nosuch".to_string(), "1".to_string()]).unwrap_err();
        assert!(e.contains("Bad directive"), "{e}");
        let e = c.load_args(&["/nonexistent/x.conf".to_string()]).unwrap_err();
        assert!(e.contains("can't open config file"), "{e}");
        let dir = std::env::temp_dir().join(format!("hematite-conf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("a.conf");
        std::fs::write(&f, "port 7001\nhz 20\n").unwrap();
        let c = Config::default();
        let got = c.load_args(&[f.to_string_lossy().into_owned(), "--hz".into(), "30".into()]).unwrap();
        assert!(got.is_some() && c.file().is_some());
        assert_eq!((c.get_num("port"), c.get_num("hz")), (7001, 30));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn rewrite_keeps_comments_and_appends() {
        let c = Config::default();
        c.load_text("# hi\nport 7000\nport 7001\n", "x").unwrap();
        c.runtime_set("hz", "20").unwrap();
        let s = c.rewritten("# hi\nport 7000\nport 7001\n");
        assert_eq!(s, "# hi\nport 7001\n# Generated by CONFIG REWRITE\nhz 20\n");
        let c2 = Config::default();
        c2.load_text(&s, "x").unwrap();
        assert_eq!(c2.get_num("hz"), 20);
    }
}

/// `Config::get_num` for a setting named by a literal, on a hot path: the
/// name is looked up once per call site, then only the atomic is read.
#[macro_export]
macro_rules! cfg_num {
    ($config:expr, $name:literal) => {{
        static INDEX: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
        let i = *INDEX.get_or_init(|| $crate::config::index_of($name).expect(concat!("setting ", $name)));
        $config.num_at(i)
    }};
}
