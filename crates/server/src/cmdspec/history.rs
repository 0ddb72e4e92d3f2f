//! The prose of COMMAND DOCS beyond summaries, written by us: what changed in
//! each history entry of a command, and what replaces a deprecated command.
//! The versions are facts of the reference (the generated `args.rs` lists
//! them per command); the texts are our own. A command with two entries of
//! one version has two lines here, in the reference's order.

/// (command, version, what changed), by command, oldest first.
static HISTORY: &[(&str, &str, &str)] = &[
    ("acl|getuser", "6.2.0", "Reports Pub/Sub channel patterns."),
    ("acl|getuser", "7.0.0", "Reports selectors; key and channel patterns are shown as rules instead of lists."),
    ("acl|setuser", "6.2.0", "Accepts Pub/Sub channel patterns."),
    ("acl|setuser", "7.0.0", "Accepts selectors and per-key read/write permissions."),
    ("auth", "6.0.0", "Accepts a username before the password (ACL users)."),
    ("bgsave", "3.2.2", "Accepts SCHEDULE."),
    ("bitcount", "7.0.0", "Accepts BYTE or BIT as the unit of the range."),
    ("bitpos", "7.0.0", "Accepts BYTE or BIT as the unit of the range."),
    ("blpop", "6.0.0", "The timeout may have a fractional part."),
    ("brpop", "6.0.0", "The timeout may have a fractional part."),
    ("brpoplpush", "6.0.0", "The timeout may have a fractional part."),
    ("bzpopmax", "6.0.0", "The timeout may have a fractional part."),
    ("bzpopmin", "6.0.0", "The timeout may have a fractional part."),
    ("client|kill", "2.8.12", "Accepts filters given as option-value pairs."),
    ("client|kill", "2.8.12", "Accepts the ID filter."),
    ("client|kill", "3.2.0", "TYPE accepts master."),
    ("client|kill", "5.0.0", "TYPE accepts replica; slave remains an alias."),
    ("client|kill", "6.2.0", "Accepts the LADDR filter."),
    ("client|list", "2.8.12", "Each line shows the connection's id."),
    ("client|list", "5.0.0", "Accepts the TYPE filter."),
    ("client|list", "6.0.0", "Each line shows the connection's user."),
    ("client|list", "6.2.0", "Lines show argv-mem, tot-mem, laddr and redir; accepts the ID filter."),
    ("client|list", "7.0.0", "Lines show resp, multi-mem, rbs and rbp."),
    ("client|list", "7.0.3", "Lines show ssub."),
    ("client|pause", "6.2.0", "Accepts a mode: WRITE pauses only writes."),
    ("cluster|meet", "4.0.0", "Accepts the cluster bus port."),
    ("cluster|slots", "4.0.0", "Replies include node ids."),
    ("cluster|slots", "7.0.0", "Replies include a map of further network details per node."),
    ("command|info", "7.0.0", "Describes every command when given no names."),
    ("config|get", "7.0.0", "Accepts several patterns at once."),
    ("config|set", "7.0.0", "Accepts several parameter-value pairs at once."),
    ("exists", "3.0.3", "Accepts several keys."),
    ("expire", "7.0.0", "Accepts NX, XX, GT and LT."),
    ("expireat", "7.0.0", "Accepts NX, XX, GT and LT."),
    ("flushall", "4.0.0", "Accepts ASYNC."),
    ("flushall", "6.2.0", "Accepts SYNC."),
    ("flushdb", "4.0.0", "Accepts ASYNC."),
    ("flushdb", "6.2.0", "Accepts SYNC."),
    ("geoadd", "6.2.0", "Accepts CH, NX and XX."),
    ("georadius", "6.2.0", "COUNT accepts ANY."),
    ("georadius", "7.0.0", "Units may be written in upper case."),
    ("georadius_ro", "6.2.0", "COUNT accepts ANY."),
    ("georadiusbymember", "7.0.0", "Units may be written in upper case."),
    ("geosearch", "7.0.0", "Units may be written in upper case."),
    ("geosearchstore", "7.0.0", "Units may be written in upper case."),
    ("hdel", "2.4.0", "Accepts several fields."),
    ("hello", "6.2.0", "The protocol version is optional; without arguments the reply describes the connection."),
    ("hset", "4.0.0", "Accepts several field-value pairs."),
    ("info", "7.0.0", "Accepts several sections."),
    ("lpop", "6.2.0", "Accepts a count."),
    ("lpush", "2.4.0", "Accepts several elements."),
    ("lpushx", "4.0.0", "Accepts several elements."),
    ("migrate", "3.0.0", "Accepts COPY and REPLACE."),
    ("migrate", "3.0.6", "Accepts KEYS."),
    ("migrate", "4.0.7", "Accepts AUTH."),
    ("migrate", "6.0.0", "Accepts AUTH2."),
    ("pexpire", "7.0.0", "Accepts NX, XX, GT and LT."),
    ("pexpireat", "7.0.0", "Accepts NX, XX, GT and LT."),
    ("pttl", "2.8.0", "Replies -2 for a missing key."),
    ("renamenx", "3.2.0", "Renaming a key to its own name is no longer an error."),
    ("restore", "3.0.0", "Accepts REPLACE."),
    ("restore", "5.0.0", "Accepts ABSTTL."),
    ("restore", "5.0.0", "Accepts IDLETIME and FREQ."),
    ("restore-asking", "3.0.0", "Accepts REPLACE."),
    ("restore-asking", "5.0.0", "Accepts ABSTTL."),
    ("restore-asking", "5.0.0", "Accepts IDLETIME and FREQ."),
    ("rpop", "6.2.0", "Accepts a count."),
    ("rpush", "2.4.0", "Accepts several elements."),
    ("rpushx", "4.0.0", "Accepts several elements."),
    ("sadd", "2.4.0", "Accepts several members."),
    ("scan", "6.0.0", "Accepts TYPE."),
    ("script|flush", "6.2.0", "Accepts ASYNC and SYNC."),
    ("set", "2.6.12", "Accepts EX, PX, NX and XX."),
    ("set", "6.0.0", "Accepts KEEPTTL."),
    ("set", "6.2.0", "Accepts GET, EXAT and PXAT."),
    ("set", "7.0.0", "NX and GET may be given together."),
    ("shutdown", "7.0.0", "Accepts NOW, FORCE and ABORT."),
    ("slowlog|get", "4.0.0", "Entries include the client's address and name."),
    ("spop", "3.2.0", "Accepts a count."),
    ("srandmember", "2.6.0", "Accepts a count."),
    ("srem", "2.4.0", "Accepts several members."),
    ("ttl", "2.8.0", "Replies -2 for a missing key."),
    ("xadd", "6.2.0", "Accepts NOMKSTREAM, the MINID strategy and LIMIT."),
    ("xadd", "7.0.0", "Accepts IDs of the form <ms>-*."),
    ("xautoclaim", "7.0.0", "The reply ends with the IDs of deleted entries removed from the PEL."),
    ("xgroup|create", "7.0.0", "Accepts ENTRIESREAD."),
    ("xgroup|setid", "7.0.0", "Accepts ENTRIESREAD."),
    ("xinfo|groups", "7.0.0", "Groups show entries-read and lag."),
    ("xinfo|stream", "6.0.0", "Accepts FULL."),
    (
        "xinfo|stream",
        "7.0.0",
        "Shows max-deleted-entry-id, entries-added and recorded-first-entry-id; groups show entries-read and lag.",
    ),
    ("xpending", "6.2.0", "Accepts IDLE; range ends may be exclusive."),
    ("xrange", "6.2.0", "Range ends may be exclusive."),
    ("xrevrange", "6.2.0", "Range ends may be exclusive."),
    ("xsetid", "7.0.0", "Accepts ENTRIESADDED and MAXDELETEDID."),
    ("xtrim", "6.2.0", "Accepts the MINID strategy and LIMIT."),
    ("zadd", "2.4.0", "Accepts several score-member pairs."),
    ("zadd", "3.0.2", "Accepts XX, NX, CH and INCR."),
    ("zadd", "6.2.0", "Accepts GT and LT."),
    ("zrange", "6.2.0", "Accepts REV, BYSCORE, BYLEX and LIMIT."),
    ("zrangebyscore", "2.0.0", "Accepts WITHSCORES."),
    ("zrem", "2.4.0", "Accepts several members."),
    ("zrevrangebyscore", "2.1.6", "Score bounds may be exclusive."),
];

/// (deprecated command, what to use instead).
static REPLACED_BY: &[(&str, &str)] = &[
    ("brpoplpush", "`BLMOVE source destination RIGHT LEFT timeout`"),
    ("cluster|slaves", "`CLUSTER REPLICAS`"),
    ("cluster|slots", "`CLUSTER SHARDS`"),
    ("georadius", "`GEOSEARCH` or `GEOSEARCHSTORE` with `FROMLONLAT` and `BYRADIUS`"),
    ("georadius_ro", "`GEOSEARCH` with `FROMLONLAT` and `BYRADIUS`"),
    ("georadiusbymember", "`GEOSEARCH` or `GEOSEARCHSTORE` with `FROMMEMBER` and `BYRADIUS`"),
    ("georadiusbymember_ro", "`GEOSEARCH` with `FROMMEMBER` and `BYRADIUS`"),
    ("getset", "`SET key value GET`"),
    ("hmset", "`HSET`, which takes several field-value pairs"),
    ("rpoplpush", "`LMOVE source destination RIGHT LEFT`"),
    ("slaveof", "`REPLICAOF`"),
    ("substr", "`GETRANGE`"),
    ("zrangebylex", "`ZRANGE ... BYLEX`"),
    ("zrangebyscore", "`ZRANGE ... BYSCORE`"),
    ("zrevrange", "`ZRANGE ... REV`"),
    ("zrevrangebylex", "`ZRANGE ... BYLEX REV`"),
    ("zrevrangebyscore", "`ZRANGE ... BYSCORE REV`"),
];

/// The text of a command's history entry: the `nth` entry of `version`
/// (0 for the first), empty if we have none.
pub fn history_text(name: &str, version: &str, nth: usize) -> &'static str {
    HISTORY.iter().filter(|(n, v, _)| *n == name && *v == version).nth(nth).map(|(_, _, t)| *t).unwrap_or("")
}

/// What replaces a deprecated command, if it is one.
pub fn replaced_by(name: &str) -> Option<&'static str> {
    REPLACED_BY.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

#[cfg(test)]
mod tests {
    use super::super::{args, extra};

    /// Every history version of the generated records has one text here, in
    /// the same order, and nothing here lacks a record.
    #[test]
    fn texts_match_the_versions() {
        let mut listed = 0;
        for d in args::DOCS.iter().chain(extra::DOCS.iter()) {
            let ours: Vec<&str> = super::HISTORY.iter().filter(|(n, _, _)| *n == d.name).map(|(_, v, _)| *v).collect();
            assert_eq!(ours, d.history, "history of {}", d.name);
            listed += ours.len();
            for (i, v) in d.history.iter().enumerate() {
                let nth = d.history[..i].iter().filter(|w| *w == v).count();
                let text = super::history_text(d.name, v, nth);
                assert!(!text.is_empty() && text.ends_with('.'), "{} {v}", d.name);
            }
            // Exactly the deprecated commands say what replaces them.
            assert_eq!(super::replaced_by(d.name).is_some(), !d.deprecated_since.is_empty(), "{}", d.name);
        }
        assert_eq!(listed, super::HISTORY.len(), "a history text names no command");
        for (n, _) in super::REPLACED_BY {
            assert!(super::super::docs_of(n).is_some_and(|d| !d.deprecated_since.is_empty()), "{n}");
        }
    }
}
