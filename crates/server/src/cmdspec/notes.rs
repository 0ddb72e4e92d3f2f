//! The notes Redis 7.0.15 attaches to a few key specs, reported verbatim by
//! COMMAND INFO (like the complexity strings of table.rs, these are facts a
//! client compares, not documentation of ours). Kept apart from table.rs so
//! the generated table and the hand-written specs keep one `KeySpec` shape.

/// (command, key spec index, note).
static NOTES: &[(&str, usize, &str)] = &[
    ("bitfield", 0, "This command allows both access and modification of the key"),
    ("eval", 0, "We cannot tell how the keys will be used so we assume the worst, RW and UPDATE"),
    ("eval_ro", 0, "We cannot tell how the keys will be used so we assume the worst, RO and ACCESS"),
    ("fcall", 0, "We cannot tell how the keys will be used so we assume the worst, RW and UPDATE"),
    ("fcall_ro", 0, "We cannot tell how the keys will be used so we assume the worst, RO and ACCESS"),
    ("getex", 0, "RW and UPDATE because it changes the TTL"),
    ("pfcount", 0, "RW because it may change the internal representation of the key, and propagate to replicas"),
    ("set", 0, "RW and ACCESS due to the optional `GET` argument"),
    ("sort", 1, "For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort"),
    ("sort", 2, "For the optional STORE keyword. It is marked 'unknown' because the keyword can appear anywhere in the argument array"),
    ("sort_ro", 1, "For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort"),
    ("xadd", 0, "UPDATE instead of INSERT because of the optional trimming feature"),
];

/// The note of key spec `index` of command `name`, if Redis has one.
pub fn key_spec_notes(name: &str, index: usize) -> Option<&'static str> {
    NOTES.iter().find(|(n, i, _)| *n == name && *i == index).map(|(_, _, t)| *t)
}
