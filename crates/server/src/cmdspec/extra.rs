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

/// Every spec of this file.
pub static ALL: &[&CommandSpec] = &[&CLIENT_SETINFO, &CLIENT_NO_TOUCH];
