//! Settings: redis.conf files, `--name value` arguments, CONFIG GET/SET.
//!
//! Every setting is one row of `ITEMS`: its name, aliases, kind (which says how
//! a value is checked and rendered), default, and whether CONFIG SET may change
//! it at run time. Values are kept as their canonical text (what CONFIG GET
//! prints) plus a parsed number for numeric kinds, so hot paths read a number
//! without parsing. Unknown names are rejected with Redis's messages.

use parking_lot::RwLock;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Bool,
    /// An integer within [min, max].
    Int(i64, i64),
    /// A byte count: accepts `1gb`, `100mb`, `5k` ... and renders in bytes.
    Memory(i64, i64),
    /// One of the given words.
    Enum(&'static [&'static str]),
    /// Several words of the set, space separated (like `notify-keyspace-events` is not).
    String,
    /// Parsed by its own function from (new value, current text) to
    /// (canonical text, number), or Redis's reason for refusing it.
    Special(Special),
}

pub type Special = fn(&str, &str) -> Result<(String, i64), String>;

pub struct Item {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub kind: Kind,
    pub default: &'static str,
    /// CONFIG SET allowed (Redis's IMMUTABLE_CONFIG clear).
    pub mutable: bool,
}

const fn item(name: &'static str, kind: Kind, default: &'static str, mutable: bool) -> Item {
    Item { name, alias: None, kind, default, mutable }
}

const fn aliased(name: &'static str, alias: &'static str, kind: Kind, default: &'static str, mutable: bool) -> Item {
    Item { name, alias: Some(alias), kind, default, mutable }
}

const B: Kind = Kind::Bool;
const S: Kind = Kind::String;
const LL: Kind = Kind::Int(i64::MIN, i64::MAX);
const POS: Kind = Kind::Int(0, i64::MAX);
const INT: Kind = Kind::Int(0, i32::MAX as i64);
const MEM: Kind = Kind::Memory(0, i64::MAX);

/// The settings this server knows.
pub static ITEMS: &[Item] = &[
    item("bind", S, "* -::*", true),
    item("port", Kind::Int(0, 65535), "6379", true),
    item("databases", Kind::Int(1, i32::MAX as i64), "16", false),
    item("requirepass", S, "", true),
    item("maxclients", Kind::Int(1, i32::MAX as i64), "10000", true),
    item("timeout", INT, "0", true),
    item("tcp-keepalive", INT, "300", true),
    item("tcp-backlog", INT, "511", false),
    item("hz", INT, "10", true),
    item("dynamic-hz", B, "yes", true),
    item("dir", S, "", true),
    item("dbfilename", S, "dump.rdb", true),
    item("save", S, "3600 1 300 100 60 10000", true),
    item("appendonly", B, "no", true),
    item("appendfilename", S, "appendonly.aof", false),
    item("appenddirname", S, "appendonlydir", false),
    item("appendfsync", Kind::Enum(&["always", "everysec", "no"]), "everysec", true),
    item("daemonize", B, "no", false),
    item("protected-mode", B, "yes", true),
    item("loglevel", Kind::Enum(&["debug", "verbose", "notice", "warning"]), "notice", true),
    item("logfile", S, "", false),
    item("pidfile", S, "", false),
    item("proto-max-bulk-len", Kind::Memory(1024 * 1024, i64::MAX), "536870912", true),
    item("client-query-buffer-limit", Kind::Memory(1024 * 1024, i64::MAX), "1073741824", true),
    item("maxmemory", MEM, "0", true),
    item(
        "maxmemory-policy",
        Kind::Enum(&[
            "volatile-lru",
            "volatile-lfu",
            "volatile-random",
            "volatile-ttl",
            "allkeys-lru",
            "allkeys-lfu",
            "allkeys-random",
            "noeviction",
        ]),
        "noeviction",
        true,
    ),
    item("maxmemory-samples", Kind::Int(1, i32::MAX as i64), "5", true),
    item("lfu-log-factor", INT, "10", true),
    item("lfu-decay-time", INT, "1", true),
    item("busy-reply-threshold", POS, "5000", true),
    aliased("lua-time-limit", "busy-reply-threshold", POS, "5000", true),
    item("slowlog-log-slower-than", LL, "10000", true),
    item("slowlog-max-len", Kind::Int(0, i64::MAX), "128", true),
    item("latency-monitor-threshold", POS, "0", true),
    item("notify-keyspace-events", Kind::Special(crate::notify::parse_config), "", true),
    item("hash-max-listpack-entries", POS, "128", true),
    item("hash-max-listpack-value", POS, "64", true),
    aliased("hash-max-ziplist-entries", "hash-max-listpack-entries", POS, "128", true),
    aliased("hash-max-ziplist-value", "hash-max-listpack-value", POS, "64", true),
    item("list-max-listpack-size", Kind::Int(i32::MIN as i64, i32::MAX as i64), "-2", true),
    aliased("list-max-ziplist-size", "list-max-listpack-size", Kind::Int(i32::MIN as i64, i32::MAX as i64), "-2", true),
    item("list-compress-depth", INT, "0", true),
    item("set-max-intset-entries", POS, "512", true),
    item("set-max-listpack-entries", POS, "128", true),
    item("set-max-listpack-value", POS, "64", true),
    item("zset-max-listpack-entries", POS, "128", true),
    item("zset-max-listpack-value", POS, "64", true),
    aliased("zset-max-ziplist-entries", "zset-max-listpack-entries", POS, "128", true),
    aliased("zset-max-ziplist-value", "zset-max-listpack-value", POS, "64", true),
    item("hll-sparse-max-bytes", POS, "3000", true),
    item("stream-node-max-bytes", MEM, "4096", true),
    item("stream-node-max-entries", POS, "100", true),
    item("active-expire-effort", Kind::Int(1, 10), "1", true),
    item("lazyfree-lazy-eviction", B, "no", true),
    item("lazyfree-lazy-expire", B, "no", true),
    item("lazyfree-lazy-server-del", B, "no", true),
    item("lazyfree-lazy-user-del", B, "no", true),
    item("lazyfree-lazy-user-flush", B, "no", true),
    item(
        "client-output-buffer-limit",
        Kind::Special(crate::client::parse_obuf_limits),
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        true,
    ),
    item("tracking-table-max-keys", POS, "1000000", true),
    item("io-threads", Kind::Int(1, 128), "1", false),
    item("enable-debug-command", S, "no", false),
    item("activerehashing", B, "yes", true),
    item("rdbcompression", B, "yes", true),
    item("rdbchecksum", B, "yes", true),
    item("stop-writes-on-bgsave-error", B, "yes", true),
    item("replica-read-only", B, "yes", true),
    item("lua-replicate-commands", B, "yes", true),
];

fn lookup(name: &str) -> Option<&'static Item> {
    ITEMS.iter().find(|i| i.name.eq_ignore_ascii_case(name))
}

/// The canonical item for a name or alias (aliases resolve to their target).
fn canonical(name: &str) -> Option<&'static Item> {
    let it = lookup(name)?;
    match it.alias {
        Some(target) => lookup(target),
        None => Some(it),
    }
}

/// Parses Redis's memory notation: `100`, `1k` (1000), `1kb` (1024), `1mb`, `1gb`.
pub fn parse_memory(s: &str) -> Option<i64> {
    let l = s.to_ascii_lowercase();
    let (num, mul): (&str, i64) = if let Some(n) = l.strip_suffix("gb") {
        (n, 1 << 30)
    } else if let Some(n) = l.strip_suffix("mb") {
        (n, 1 << 20)
    } else if let Some(n) = l.strip_suffix("kb") {
        (n, 1 << 10)
    } else if let Some(n) = l.strip_suffix('g') {
        (n, 1_000_000_000)
    } else if let Some(n) = l.strip_suffix('m') {
        (n, 1_000_000)
    } else if let Some(n) = l.strip_suffix('k') {
        (n, 1000)
    } else if let Some(n) = l.strip_suffix('b') {
        (n, 1)
    } else {
        (l.as_str(), 1)
    };
    types::num::parse_i64(num.as_bytes())?.checked_mul(mul)
}

#[derive(Clone)]
struct Val {
    text: String,
    num: i64,
}

/// The live settings.
pub struct Config {
    vals: RwLock<HashMap<&'static str, Val>>,
    /// Bumped on every change, so hot paths can cache parsed values.
    version: AtomicU64,
    /// Cached "maxmemory-policy is an LFU policy": read on every key access.
    lfu: AtomicBool,
}

impl Default for Config {
    fn default() -> Self {
        let mut m = HashMap::new();
        for it in ITEMS.iter().filter(|i| i.alias.is_none()) {
            let v = check(it, it.default, "").expect("defaults are valid");
            m.insert(it.name, v);
        }
        Config { vals: RwLock::new(m), version: AtomicU64::new(0), lfu: AtomicBool::new(false) }
    }
}

fn check(it: &Item, value: &str, old: &str) -> Result<Val, String> {
    match it.kind {
        Kind::Special(f) => f(value, old).map(|(text, num)| Val { text, num }),
        Kind::Bool => match value.to_ascii_lowercase().as_str() {
            "yes" => Ok(Val { text: "yes".into(), num: 1 }),
            "no" => Ok(Val { text: "no".into(), num: 0 }),
            _ => Err("argument must be 'yes' or 'no'".into()),
        },
        Kind::Int(min, max) => {
            let n = types::num::parse_i64(value.as_bytes()).ok_or("argument couldn't be parsed into an integer")?;
            if n < min || n > max {
                return Err(format!("argument must be between {min} and {max} inclusive"));
            }
            Ok(Val { text: n.to_string(), num: n })
        }
        Kind::Memory(min, max) => {
            let n = parse_memory(value).ok_or("argument must be a memory value")?;
            if n < min || n > max {
                return Err(format!("argument must be between {min} and {max} inclusive"));
            }
            Ok(Val { text: n.to_string(), num: n })
        }
        Kind::Enum(words) => {
            let l = value.to_ascii_lowercase();
            if words.contains(&l.as_str()) {
                Ok(Val { text: l, num: 0 })
            } else {
                Err(format!("argument(s) must be one of the following: {}", words.join(", ")))
            }
        }
        Kind::String => Ok(Val { text: value.to_string(), num: 0 }),
    }
}

impl Config {
    fn store(&self, name: &'static str, v: Val) {
        if name == "maxmemory-policy" {
            self.lfu.store(v.text.ends_with("-lfu"), Ordering::Relaxed);
        }
        self.vals.write().insert(name, v);
        self.version.fetch_add(1, Ordering::Release);
    }

    /// True while the maxmemory policy is an LFU one (keys then carry access
    /// frequency counters instead of an LRU clock).
    pub fn lfu(&self) -> bool {
        self.lfu.load(Ordering::Relaxed)
    }

    /// Sets a value from a config file or the command line (immutable items
    /// allowed). The error is the reason, without the "where".
    pub fn load_set(&self, name: &str, value: &str) -> Result<(), String> {
        let it = canonical(name).ok_or_else(|| "Bad directive or wrong number of arguments".to_string())?;
        let v = check(it, value, &self.current(it))?;
        self.store(it.name, v);
        Ok(())
    }

    /// CONFIG SET of one item. The error is Redis's full message tail.
    pub fn runtime_set(&self, name: &str, value: &str) -> Result<(), String> {
        let it = canonical(name)
            .ok_or_else(|| format!("Unknown option or number of arguments for CONFIG SET - '{name}'"))?;
        if !it.mutable {
            return Err(format!("Unsupported CONFIG parameter: {name}"));
        }
        let v = check(it, value, &self.current(it))
            .map_err(|e| format!("CONFIG SET failed (possibly related to argument '{name}') - {e}"))?;
        self.store(it.name, v);
        Ok(())
    }

    /// Checks a CONFIG SET value without applying it (for atomic multi-set).
    pub fn check_runtime(&self, name: &str, value: &str) -> Result<&'static str, String> {
        let it = canonical(name)
            .ok_or_else(|| format!("Unknown option or number of arguments for CONFIG SET - '{name}'"))?;
        if !it.mutable {
            return Err(format!("Unsupported CONFIG parameter: {name}"));
        }
        check(it, value, &self.current(it))
            .map_err(|e| format!("CONFIG SET failed (possibly related to argument '{name}') - {e}"))?;
        Ok(it.name)
    }

    fn current(&self, it: &Item) -> String {
        self.vals.read().get(it.name).map(|v| v.text.clone()).unwrap_or_default()
    }

    /// Changes with every successful set (for caches of parsed values).
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    pub fn get_text(&self, name: &str) -> Option<String> {
        let it = canonical(name)?;
        self.vals.read().get(it.name).map(|v| v.text.clone())
    }

    /// The numeric value of a numeric or boolean item (0 for others).
    pub fn get_num(&self, name: &str) -> i64 {
        canonical(name).and_then(|it| self.vals.read().get(it.name).map(|v| v.num)).unwrap_or(0)
    }

    pub fn get_bool(&self, name: &str) -> bool {
        self.get_num(name) != 0
    }

    /// (name, value) of every item (aliases included) whose name matches the
    /// glob, in table order.
    pub fn matching(&self, pattern: &[u8]) -> Vec<(&'static str, String)> {
        let vals = self.vals.read();
        ITEMS
            .iter()
            .filter(|it| crate::glob::matches(pattern, it.name.as_bytes(), true))
            .filter_map(|it| {
                let target = it.alias.unwrap_or(it.name);
                vals.get(target).map(|v| (it.name, v.text.clone()))
            })
            .collect()
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
            if name == "include" || name == "rename-command" || name == "loadmodule" {
                return Err(config_error(file, n + 1, t, "Bad directive or wrong number of arguments"));
            }
            let value = words[1..].join(" ");
            if words.len() < 2 && !matches!(canonical(&name).map(|i| i.kind), Some(Kind::String | Kind::Special(_))) {
                return Err(config_error(file, n + 1, t, "wrong number of arguments"));
            }
            self.load_set(&name, &value).map_err(|e| config_error(file, n + 1, t, &e))?;
        }
        Ok(())
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
    fn memory() {
        assert_eq!(parse_memory("1gb"), Some(1 << 30));
        assert_eq!(parse_memory("5k"), Some(5000));
        assert_eq!(parse_memory("x"), None);
    }

    #[test]
    fn set_and_get() {
        let c = Config::default();
        assert_eq!(c.get_num("hash-max-ziplist-entries"), 128);
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
}
