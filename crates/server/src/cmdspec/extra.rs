//! Specs of commands newer than Redis 7.0 (written by hand, in the same form
//! as table.rs, from the reference that has them).
#![allow(unused_imports)]
use super::*;

/// CLIENT SETINFO (7.2), facts from the 7.4 reference's COMMAND INFO.
pub static CLIENT_SETINFO: CommandSpec = CommandSpec {
    name: "client|setinfo",
    arity: 4,
    flags: f::NOSCRIPT | f::LOADING | f::STALE,
    first_key: 0,
    last_key: 0,
    step: 0,
    acl: cat::SLOW | cat::CONNECTION,
    tips: &["request_policy:all_nodes", "response_policy:all_succeeded"],
    key_specs: &[],
    subcommands: &[],
    group: "connection",
    since: "7.2.0",
    complexity: "O(1)",
    doc_flags: 0,
};

/// CLIENT NO-TOUCH (7.2), facts from the 7.4 reference's COMMAND INFO.
pub static CLIENT_NO_TOUCH: CommandSpec = CommandSpec {
    name: "client|no-touch",
    arity: 3,
    flags: f::NOSCRIPT | f::LOADING | f::STALE,
    first_key: 0,
    last_key: 0,
    step: 0,
    acl: cat::SLOW | cat::CONNECTION,
    tips: &[],
    key_specs: &[],
    subcommands: &[],
    group: "connection",
    since: "7.2.0",
    complexity: "O(1)",
    doc_flags: 0,
};

// Hash field expiry: Redis 7.4 (facts from its COMMAND INFO) and the Redis 8.0
// HGETDEL / HGETEX / HSETEX (facts from redis.io's documentation).
pub static HEXPIRE: CommandSpec = CommandSpec {
    name: "hexpire",
    arity: -6,
    flags: f::DENYOOM | f::FAST | f::WRITE,
    first_key: 1,
    last_key: 1,
    step: 1,
    acl: cat::FAST | cat::HASH | cat::WRITE,
    tips: &[],
    key_specs: &[KeySpec {
        flags: ks::RW | ks::UPDATE,
        begin: Begin::Index(1),
        find: Find::Range { last_key: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
    group: "hash",
    since: "7.4.0",
    complexity: "O(N) where N is the number of specified fields",
    doc_flags: 0,
};

pub static HPEXPIRE: CommandSpec = CommandSpec {
    name: "hpexpire",
    arity: -6,
    flags: f::DENYOOM | f::FAST | f::WRITE,
    first_key: 1,
    last_key: 1,
    step: 1,
    acl: cat::FAST | cat::HASH | cat::WRITE,
    tips: &[],
    key_specs: &[KeySpec {
        flags: ks::RW | ks::UPDATE,
        begin: Begin::Index(1),
        find: Find::Range { last_key: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
    group: "hash",
    since: "7.4.0",
    complexity: "O(N) where N is the number of specified fields",
    doc_flags: 0,
};

pub static HEXPIREAT: CommandSpec = CommandSpec {
    name: "hexpireat",
    arity: -6,
    flags: f::DENYOOM | f::FAST | f::WRITE,
    first_key: 1,
    last_key: 1,
    step: 1,
    acl: cat::FAST | cat::HASH | cat::WRITE,
    tips: &[],
    key_specs: &[KeySpec {
        flags: ks::RW | ks::UPDATE,
        begin: Begin::Index(1),
        find: Find::Range { last_key: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
    group: "hash",
    since: "7.4.0",
    complexity: "O(N) where N is the number of specified fields",
    doc_flags: 0,
};

pub static HPEXPIREAT: CommandSpec = CommandSpec {
    name: "hpexpireat",
    arity: -6,
    flags: f::DENYOOM | f::FAST | f::WRITE,
    first_key: 1,
    last_key: 1,
    step: 1,
    acl: cat::FAST | cat::HASH | cat::WRITE,
    tips: &[],
    key_specs: &[KeySpec {
        flags: ks::RW | ks::UPDATE,
        begin: Begin::Index(1),
        find: Find::Range { last_key: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
    group: "hash",
    since: "7.4.0",
    complexity: "O(N) where N is the number of specified fields",
    doc_flags: 0,
};

pub static HTTL: CommandSpec = CommandSpec {
    name: "httl",
    arity: -5,
    flags: f::FAST | f::READONLY,
    first_key: 1,
    last_key: 1,
    step: 1,
    acl: cat::FAST | cat::HASH | cat::READ,
    tips: &[],
    key_specs: &[KeySpec {
        flags: ks::RO | ks::ACCESS,
        begin: Begin::Index(1),
        find: Find::Range { last_key: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
    group: "hash",
    since: "7.4.0",
    complexity: "O(N) where N is the number of specified fields",
    doc_flags: 0,
};

pub static HPTTL: CommandSpec = CommandSpec {
    name: "hpttl",
    arity: -5,
    flags: f::FAST | f::READONLY,
    first_key: 1,
    last_key: 1,
    step: 1,
    acl: cat::FAST | cat::HASH | cat::READ,
    tips: &[],
    key_specs: &[KeySpec {
        flags: ks::RO | ks::ACCESS,
        begin: Begin::Index(1),
        find: Find::Range { last_key: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
    group: "hash",
    since: "7.4.0",
    complexity: "O(N) where N is the number of specified fields",
    doc_flags: 0,
};

pub static HEXPIRETIME: CommandSpec = CommandSpec {
    name: "hexpiretime",
    arity: -5,
    flags: f::FAST | f::READONLY,
    first_key: 1,
    last_key: 1,
    step: 1,
    acl: cat::FAST | cat::HASH | cat::READ,
    tips: &[],
    key_specs: &[KeySpec {
        flags: ks::RO | ks::ACCESS,
        begin: Begin::Index(1),
        find: Find::Range { last_key: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
    group: "hash",
    since: "7.4.0",
    complexity: "O(N) where N is the number of specified fields",
    doc_flags: 0,
};

pub static HPEXPIRETIME: CommandSpec = CommandSpec {
    name: "hpexpiretime",
    arity: -5,
    flags: f::FAST | f::READONLY,
    first_key: 1,
    last_key: 1,
    step: 1,
    acl: cat::FAST | cat::HASH | cat::READ,
    tips: &[],
    key_specs: &[KeySpec {
        flags: ks::RO | ks::ACCESS,
        begin: Begin::Index(1),
        find: Find::Range { last_key: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
    group: "hash",
    since: "7.4.0",
    complexity: "O(N) where N is the number of specified fields",
    doc_flags: 0,
};

pub static HPERSIST: CommandSpec = CommandSpec {
    name: "hpersist",
    arity: -5,
    flags: f::FAST | f::WRITE,
    first_key: 1,
    last_key: 1,
    step: 1,
    acl: cat::FAST | cat::HASH | cat::WRITE,
    tips: &[],
    key_specs: &[KeySpec {
        flags: ks::RW | ks::UPDATE,
        begin: Begin::Index(1),
        find: Find::Range { last_key: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
    group: "hash",
    since: "7.4.0",
    complexity: "O(N) where N is the number of specified fields",
    doc_flags: 0,
};

pub static HGETDEL: CommandSpec = CommandSpec {
    name: "hgetdel",
    arity: -5,
    flags: f::FAST | f::WRITE,
    first_key: 1,
    last_key: 1,
    step: 1,
    acl: cat::FAST | cat::HASH | cat::WRITE,
    tips: &[],
    key_specs: &[KeySpec {
        flags: ks::RW | ks::ACCESS | ks::DELETE,
        begin: Begin::Index(1),
        find: Find::Range { last_key: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
    group: "hash",
    since: "8.0.0",
    complexity: "O(N) where N is the number of specified fields",
    doc_flags: 0,
};

pub static HGETEX: CommandSpec = CommandSpec {
    name: "hgetex",
    arity: -5,
    flags: f::FAST | f::WRITE,
    first_key: 1,
    last_key: 1,
    step: 1,
    acl: cat::FAST | cat::HASH | cat::WRITE,
    tips: &[],
    key_specs: &[KeySpec {
        flags: ks::RW | ks::ACCESS | ks::UPDATE,
        begin: Begin::Index(1),
        find: Find::Range { last_key: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
    group: "hash",
    since: "8.0.0",
    complexity: "O(N) where N is the number of specified fields",
    doc_flags: 0,
};

pub static HSETEX: CommandSpec = CommandSpec {
    name: "hsetex",
    arity: -6,
    flags: f::DENYOOM | f::FAST | f::WRITE,
    first_key: 1,
    last_key: 1,
    step: 1,
    acl: cat::FAST | cat::HASH | cat::WRITE,
    tips: &[],
    key_specs: &[KeySpec {
        flags: ks::RW | ks::UPDATE,
        begin: Begin::Index(1),
        find: Find::Range { last_key: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
    group: "hash",
    since: "8.0.0",
    complexity: "O(N) where N is the number of fields being set.",
    doc_flags: 0,
};

/// Every spec of this file.
pub static ALL: &[&CommandSpec] = &[
    &CLIENT_SETINFO,
    &CLIENT_NO_TOUCH,
    &HEXPIRE,
    &HPEXPIRE,
    &HEXPIREAT,
    &HPEXPIREAT,
    &HTTL,
    &HPTTL,
    &HEXPIRETIME,
    &HPEXPIRETIME,
    &HPERSIST,
    &HGETDEL,
    &HGETEX,
    &HSETEX,
];
