//! Specs of commands newer than Redis 7.0 (written by hand, in the same form
//! as table.rs, from the reference that has them), and their COMMAND DOCS
//! records (in the form of args.rs; Redis 7.4.1's COMMAND DOCS for the 7.2
//! and 7.4 commands, the 8.0 syntax for HGETDEL, HGETEX and HSETEX). The 7.4
//! reference adds `display_text` to each argument; like Redis 7.0.15 we do
//! not report it.
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

/// `FIELDS numfields field [field ...]`, the tail of the hash field expiry commands.
const FIELDS: Arg = Arg {
    name: "fields",
    kind: ArgKind::Block,
    token: Some("FIELDS"),
    args: &[
        Arg { name: "numfields", kind: ArgKind::Integer, ..Arg::NONE },
        Arg { name: "field", kind: ArgKind::Str, flags: argf::MULTIPLE, ..Arg::NONE },
    ],
    ..Arg::NONE
};

const KEY: Arg = Arg { name: "key", kind: ArgKind::Key, key_spec: Some(0), ..Arg::NONE };

/// `[NX | XX | GT | LT]` of the HEXPIRE family.
const CONDITION: Arg = Arg {
    name: "condition",
    kind: ArgKind::OneOf,
    flags: argf::OPTIONAL,
    args: &[
        Arg { name: "nx", kind: ArgKind::PureToken, token: Some("NX"), ..Arg::NONE },
        Arg { name: "xx", kind: ArgKind::PureToken, token: Some("XX"), ..Arg::NONE },
        Arg { name: "gt", kind: ArgKind::PureToken, token: Some("GT"), ..Arg::NONE },
        Arg { name: "lt", kind: ArgKind::PureToken, token: Some("LT"), ..Arg::NONE },
    ],
    ..Arg::NONE
};

/// A record for a command of the HEXPIRE family: key, a time, condition, fields.
macro_rules! expire_docs {
    ($name:literal, $time:literal, $kind:ident) => {
        CommandDocs {
            name: $name,
            deprecated_since: "",
            history: &[],
            args: &[KEY, Arg { name: $time, kind: ArgKind::$kind, ..Arg::NONE }, CONDITION, FIELDS],
        }
    };
}

/// `[EX seconds | PX milliseconds | EXAT ... | PXAT ... | <last>]` of HGETEX
/// (PERSIST) and HSETEX (KEEPTTL).
macro_rules! expiration {
    ($last:literal, $token:literal) => {
        Arg {
            name: "expiration",
            kind: ArgKind::OneOf,
            flags: argf::OPTIONAL,
            args: &[
                Arg { name: "seconds", kind: ArgKind::Integer, token: Some("EX"), ..Arg::NONE },
                Arg { name: "milliseconds", kind: ArgKind::Integer, token: Some("PX"), ..Arg::NONE },
                Arg { name: "unix-time-seconds", kind: ArgKind::UnixTime, token: Some("EXAT"), ..Arg::NONE },
                Arg { name: "unix-time-milliseconds", kind: ArgKind::UnixTime, token: Some("PXAT"), ..Arg::NONE },
                Arg { name: $last, kind: ArgKind::PureToken, token: Some($token), ..Arg::NONE },
            ],
            ..Arg::NONE
        }
    };
}

/// A record for a command that takes a key and fields only (HTTL, HPERSIST ...).
macro_rules! fields_docs {
    ($name:literal) => {
        CommandDocs { name: $name, deprecated_since: "", history: &[], args: &[KEY, FIELDS] }
    };
}

/// The COMMAND DOCS records of this file's commands.
pub static DOCS: &[CommandDocs] = &[
    CommandDocs {
        name: "client|setinfo",
        deprecated_since: "",
        history: &[],
        args: &[Arg {
            name: "attr",
            kind: ArgKind::OneOf,
            args: &[
                Arg { name: "libname", kind: ArgKind::Str, token: Some("LIB-NAME"), ..Arg::NONE },
                Arg { name: "libver", kind: ArgKind::Str, token: Some("LIB-VER"), ..Arg::NONE },
            ],
            ..Arg::NONE
        }],
    },
    CommandDocs {
        name: "client|no-touch",
        deprecated_since: "",
        history: &[],
        args: &[Arg {
            name: "enabled",
            kind: ArgKind::OneOf,
            args: &[
                Arg { name: "on", kind: ArgKind::PureToken, token: Some("ON"), ..Arg::NONE },
                Arg { name: "off", kind: ArgKind::PureToken, token: Some("OFF"), ..Arg::NONE },
            ],
            ..Arg::NONE
        }],
    },
    expire_docs!("hexpire", "seconds", Integer),
    expire_docs!("hpexpire", "milliseconds", Integer),
    expire_docs!("hexpireat", "unix-time-seconds", UnixTime),
    expire_docs!("hpexpireat", "unix-time-milliseconds", UnixTime),
    fields_docs!("httl"),
    fields_docs!("hpttl"),
    fields_docs!("hexpiretime"),
    fields_docs!("hpexpiretime"),
    fields_docs!("hpersist"),
    fields_docs!("hgetdel"),
    CommandDocs {
        name: "hgetex",
        deprecated_since: "",
        history: &[],
        args: &[KEY, expiration!("persist", "PERSIST"), FIELDS],
    },
    CommandDocs {
        name: "hsetex",
        deprecated_since: "",
        history: &[],
        args: &[
            KEY,
            Arg {
                name: "condition",
                kind: ArgKind::OneOf,
                flags: argf::OPTIONAL,
                args: &[
                    Arg { name: "fnx", kind: ArgKind::PureToken, token: Some("FNX"), ..Arg::NONE },
                    Arg { name: "fxx", kind: ArgKind::PureToken, token: Some("FXX"), ..Arg::NONE },
                ],
                ..Arg::NONE
            },
            expiration!("keepttl", "KEEPTTL"),
            Arg {
                name: "fields",
                kind: ArgKind::Block,
                token: Some("FIELDS"),
                args: &[
                    Arg { name: "numfields", kind: ArgKind::Integer, ..Arg::NONE },
                    Arg {
                        name: "data",
                        kind: ArgKind::Block,
                        flags: argf::MULTIPLE,
                        args: &[
                            Arg { name: "field", kind: ArgKind::Str, ..Arg::NONE },
                            Arg { name: "value", kind: ArgKind::Str, ..Arg::NONE },
                        ],
                        ..Arg::NONE
                    },
                ],
                ..Arg::NONE
            },
        ],
    },
];
