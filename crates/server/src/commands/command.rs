//! The COMMAND family: the server describing itself.
//!
//! Everything here is read from the registry (`commands::registry()`), so
//! only bound commands exist: a spec without a handler is invisible, a
//! container shows only its bound subcommands. COMMAND INFO renders a spec in
//! the exact shape Redis 7.0 uses (flags, categories, tips and key specs as
//! sets; key specs as maps of `begin_search` / `find_keys`). COMMAND DOCS
//! shows the facts of the spec and of its docs record (`cmdspec::docs_of`:
//! argument trees, deprecation, history versions) with our own prose
//! (`cmdspec::summaries`, `cmdspec::history`), in Redis 7.0's field order.
//!
//! Order: Redis walks its command dictionary, whose order is randomised per
//! process; we list commands (and subcommands) by name, which is one of the
//! orders Redis may produce.

use super::{registry, Cmd, Entry};
use crate::args::Args;
use crate::cmdspec::{self, cat, doc, f, ks, table as t, Begin, CommandSpec, Find, KeySpec};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use resp::Out;

pub static COMMANDS: &[Cmd] = &[
    Cmd::new(&t::COMMAND, command),
    Cmd::new(&t::COMMAND_COUNT, count),
    Cmd::new(&t::COMMAND_INFO, info),
    Cmd::new(&t::COMMAND_DOCS, docs),
    Cmd::new(&t::COMMAND_LIST, list),
    Cmd::new(&t::COMMAND_GETKEYS, getkeys),
    Cmd::new(&t::COMMAND_GETKEYSANDFLAGS, getkeysandflags),
    Cmd::new(&t::COMMAND_HELP, help),
];

/// Command flags Redis keeps out of COMMAND INFO.
const HIDDEN_FLAGS: u64 = f::MAY_REPLICATE | f::SENTINEL | f::ONLY_SENTINEL | f::PROTECTED | f::MODULE_NO_CLUSTER;

/// Writes the names of the bits of `v` as a set of simple strings.
fn flag_set(out: &mut Out, v: u64, names: &'static [&'static str], prefix: &str) {
    out.set(v.count_ones() as usize);
    for n in cmdspec::names(v, names) {
        if prefix.is_empty() {
            out.simple(n);
        } else {
            out.simple(format!("{prefix}{n}"));
        }
    }
}

fn key_spec(out: &mut Out, spec: &CommandSpec, i: usize, k: &KeySpec) {
    let notes = cmdspec::notes::key_spec_notes(spec.name, i);
    out.map(if notes.is_some() { 4 } else { 3 });
    if let Some(n) = notes {
        out.bulk("notes");
        out.bulk(n);
    }
    out.bulk("flags");
    flag_set(out, k.flags, ks::NAMES, "");
    out.bulk("begin_search");
    out.map(2);
    out.bulk("type");
    match k.begin {
        Begin::Index(i) => {
            out.bulk("index");
            out.bulk("spec");
            out.map(1);
            out.bulk("index");
            out.int(i as i64);
        }
        Begin::Keyword { keyword, start_from } => {
            out.bulk("keyword");
            out.bulk("spec");
            out.map(2);
            out.bulk("keyword");
            out.bulk(keyword);
            out.bulk("startfrom");
            out.int(start_from as i64);
        }
        Begin::Unknown => {
            out.bulk("unknown");
            out.bulk("spec");
            out.map(0);
        }
    }
    out.bulk("find_keys");
    out.map(2);
    out.bulk("type");
    match k.find {
        Find::Range { last_key, step, limit } => {
            out.bulk("range");
            out.bulk("spec");
            out.map(3);
            for (name, v) in [("lastkey", last_key), ("keystep", step), ("limit", limit)] {
                out.bulk(name);
                out.int(v as i64);
            }
        }
        Find::KeyNum { keynum_idx, first_key, step } => {
            out.bulk("keynum");
            out.bulk("spec");
            out.map(3);
            for (name, v) in [("keynumidx", keynum_idx), ("firstkey", first_key), ("keystep", step)] {
                out.bulk(name);
                out.int(v as i64);
            }
        }
        Find::Unknown => {
            out.bulk("unknown");
            out.bulk("spec");
            out.map(0);
        }
    }
}

/// One command as COMMAND INFO shows it (10 fields).
pub fn write_info(out: &mut Out, e: &Entry) {
    let s = e.spec;
    out.array(10);
    out.bulk(s.name);
    out.int(s.arity as i64);
    flag_set(out, s.flags & !HIDDEN_FLAGS, f::NAMES, "");
    out.int(s.first_key as i64);
    out.int(s.last_key as i64);
    out.int(s.step as i64);
    flag_set(out, s.acl, cat::NAMES, "@");
    out.set(s.tips.len());
    for tip in s.tips {
        out.bulk(tip);
    }
    out.set(s.key_specs.len());
    for (i, k) in s.key_specs.iter().enumerate() {
        key_spec(out, s, i, k);
    }
    let subs = registry().subs_of(e);
    if subs.is_empty() {
        out.set(0);
    } else {
        out.array(subs.len());
        for sub in subs {
            write_info(out, sub);
        }
    }
}

/// One command as COMMAND DOCS shows it: a map whose fields come in Redis
/// 7.0's order (summary, since, group, complexity, doc_flags,
/// deprecated_since, replaced_by, history, arguments, subcommands), each
/// present only when it has something to say.
fn write_docs(out: &mut Out, e: &Entry) {
    let s = e.spec;
    let subs = registry().subs_of(e);
    let d = cmdspec::docs_of(s.name);
    let deprecated = d.map_or("", |d| d.deprecated_since);
    let replaced = cmdspec::history::replaced_by(s.name);
    let history = d.map_or(&[][..], |d| d.history);
    let args = d.map_or(&[][..], |d| d.args);
    let n = 3 // summary, since, group
        + usize::from(!s.complexity.is_empty())
        + usize::from(s.doc_flags != 0)
        + usize::from(!deprecated.is_empty())
        + usize::from(replaced.is_some())
        + usize::from(!history.is_empty())
        + usize::from(!args.is_empty())
        + usize::from(!subs.is_empty());
    out.map(n);
    out.bulk("summary");
    out.bulk(cmdspec::summaries::summary(s.name));
    out.bulk("since");
    out.bulk(s.since);
    out.bulk("group");
    out.bulk(s.group);
    if !s.complexity.is_empty() {
        out.bulk("complexity");
        out.bulk(s.complexity);
    }
    if s.doc_flags != 0 {
        out.bulk("doc_flags");
        flag_set(out, s.doc_flags, doc::NAMES, "");
    }
    if !deprecated.is_empty() {
        out.bulk("deprecated_since");
        out.bulk(deprecated);
    }
    if let Some(r) = replaced {
        out.bulk("replaced_by");
        out.bulk(r);
    }
    if !history.is_empty() {
        out.bulk("history");
        out.set(history.len());
        for (i, v) in history.iter().enumerate() {
            // Two entries may share a version: the nth of them gets our nth text.
            let nth = history[..i].iter().filter(|w| *w == v).count();
            out.array(2);
            out.bulk(v);
            out.bulk(cmdspec::history::history_text(s.name, v, nth));
        }
    }
    if !args.is_empty() {
        out.bulk("arguments");
        write_args(out, args);
    }
    if !subs.is_empty() {
        out.bulk("subcommands");
        out.map(subs.len());
        for sub in subs {
            out.bulk(sub.spec.name);
            write_docs(out, sub);
        }
    }
}

/// An argument list as COMMAND DOCS shows it: an array of maps, with the
/// fields in Redis 7.0's order (name, type, key_spec_index, token, since,
/// deprecated_since, flags, arguments).
fn write_args(out: &mut Out, args: &[cmdspec::Arg]) {
    out.array(args.len());
    for a in args {
        let nested = matches!(a.kind, cmdspec::ArgKind::OneOf | cmdspec::ArgKind::Block);
        let n = 2
            + usize::from(a.key_spec.is_some())
            + usize::from(a.token.is_some())
            + usize::from(!a.since.is_empty())
            + usize::from(!a.deprecated_since.is_empty())
            + usize::from(a.flags != 0)
            + usize::from(nested);
        out.map(n);
        out.bulk("name");
        out.bulk(a.name);
        out.bulk("type");
        out.bulk(a.kind.name());
        if let Some(k) = a.key_spec {
            out.bulk("key_spec_index");
            out.int(k as i64);
        }
        if let Some(t) = a.token {
            out.bulk("token");
            out.bulk(t);
        }
        for (field, v) in [("since", a.since), ("deprecated_since", a.deprecated_since)] {
            if !v.is_empty() {
                out.bulk(field);
                out.bulk(v);
            }
        }
        if a.flags != 0 {
            out.bulk("flags");
            flag_set(out, a.flags, cmdspec::argf::NAMES, "");
        }
        if nested {
            out.bulk("arguments");
            write_args(out, a.args);
        }
    }
}

/// A command by name as COMMAND INFO/DOCS take it: `get`, `config|get`.
pub fn lookup_by_name(name: &[u8]) -> Option<&'static Entry> {
    let reg = registry();
    match name.iter().position(|&c| c == b'|') {
        None => reg.get(name),
        Some(p) => {
            let top = reg.get(&name[..p])?;
            if top.subs.is_empty() {
                return None;
            }
            reg.sub(top, &name[p + 1..])
        }
    }
}

/// COMMAND
fn command(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    let top = registry().top_level();
    ctx.out.array(top.len());
    for e in top {
        write_info(ctx.out, e);
    }
    Ok(())
}

/// COMMAND COUNT
fn count(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    ctx.out.int(registry().top_level().len() as i64);
    Ok(())
}

/// COMMAND INFO [command-name ...]
fn info(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    if args.is_empty() {
        return command(ctx, args);
    }
    let names = args.take_rest();
    ctx.out.array(names.len());
    for n in names {
        match lookup_by_name(n) {
            Some(e) => write_info(ctx.out, e),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// COMMAND DOCS [command-name ...]
fn docs(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let found: Vec<&Entry> = if args.is_empty() {
        registry().top_level()
    } else {
        args.take_rest().iter().filter_map(|n| lookup_by_name(n)).collect()
    };
    ctx.out.map(found.len());
    for e in found {
        ctx.out.bulk(e.spec.name);
        write_docs(ctx.out, e);
    }
    Ok(())
}

enum Filter<'a> {
    All,
    Module,
    AclCat(u64),
    Pattern(&'a [u8]),
}

impl Filter<'_> {
    fn keeps(&self, s: &CommandSpec) -> bool {
        match self {
            Filter::All => true,
            // No modules can be loaded: no command belongs to one.
            Filter::Module => false,
            Filter::AclCat(c) => *c != 0 && s.acl & c != 0,
            Filter::Pattern(p) => crate::glob::matches(p, s.name.as_bytes(), true),
        }
    }
}

/// The bit of an ACL category name (any case), 0 if unknown.
pub fn acl_category(name: &[u8]) -> u64 {
    cat::NAMES.iter().position(|n| n.as_bytes().eq_ignore_ascii_case(name)).map(|i| 1u64 << i).unwrap_or(0)
}

/// COMMAND LIST [FILTERBY MODULE module-name | ACLCAT category | PATTERN pattern]
fn list(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let mut filter = Filter::All;
    while !args.is_empty() {
        // Redis takes FILTERBY only when exactly two arguments follow it.
        if args.remaining() == 3 && args.eat("FILTERBY") {
            let kind = args.next_bytes()?;
            let arg = args.next_bytes()?;
            filter = if kind.eq_ignore_ascii_case(b"MODULE") {
                Filter::Module
            } else if kind.eq_ignore_ascii_case(b"ACLCAT") {
                Filter::AclCat(acl_category(arg))
            } else if kind.eq_ignore_ascii_case(b"PATTERN") {
                Filter::Pattern(arg)
            } else {
                return Err(CmdError::Syntax);
            };
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let reg = registry();
    let mut names = Vec::new();
    for e in reg.top_level() {
        if filter.keeps(e.spec) {
            names.push(e.spec.name);
        }
        for s in reg.subs_of(e) {
            if filter.keeps(s.spec) {
                names.push(s.spec.name);
            }
        }
    }
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk(n);
    }
    Ok(())
}

/// A key found in a command line: its position and access flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRef {
    pub pos: usize,
    pub flags: u64,
}

/// Redis's getKeysUsingKeySpecs: `None` when a spec cannot be followed
/// (unknown, incomplete, or pointing past the arguments).
fn keys_from_specs(spec: &CommandSpec, argv: &[&[u8]]) -> Option<Vec<KeyRef>> {
    let argc = argv.len() as i64;
    let mut out = Vec::new();
    for k in spec.key_specs {
        if k.flags & ks::NOT_KEY != 0 {
            continue;
        }
        let first = match k.begin {
            Begin::Index(i) => i as i64,
            Begin::Keyword { keyword, start_from } => {
                let sf = start_from as i64;
                let (start, end) = if sf > 0 { (sf, argc - 1) } else { (argc + sf, 1) };
                let step = if start <= end { 1 } else { -1 };
                let mut found = 0;
                let mut i = start;
                // As Redis does, the search stops before `end` itself: a
                // keyword in the last place has no key after it anyway.
                while i != end {
                    if i >= argc || i < 1 {
                        break;
                    }
                    if argv[i as usize].eq_ignore_ascii_case(keyword.as_bytes()) {
                        found = i + 1;
                        break;
                    }
                    i += step;
                }
                if found == 0 {
                    continue;
                }
                found
            }
            Begin::Unknown => return None,
        };
        let (first, last, step) = match k.find {
            Find::Range { last_key, step, limit } => {
                let last = if last_key >= 0 {
                    first + last_key as i64
                } else if limit == 0 {
                    argc + last_key as i64
                } else {
                    first + (argc - first) / limit as i64 + last_key as i64
                };
                (first, last, step as i64)
            }
            Find::KeyNum { keynum_idx, first_key, step } => {
                let idx = first + keynum_idx as i64;
                if keynum_idx as i64 >= argc || idx >= argc {
                    return None;
                }
                let n = types::num::parse_i64(argv[idx as usize]).filter(|n| *n >= 0)?;
                let f = first + first_key as i64;
                (f, f + n - 1, step as i64)
            }
            Find::Unknown => return None,
        };
        if last >= argc || last < first || first >= argc {
            return None;
        }
        let mut i = first;
        while i <= last {
            out.push(KeyRef { pos: i as usize, flags: k.flags });
            i += step.max(1);
        }
        if k.flags & ks::INCOMPLETE != 0 {
            return None;
        }
    }
    Some(out)
}

/// Commands whose keys (or key flags) depend on their arguments: Redis asks
/// a command-specific function. `None` if `name` has none.
fn keys_by_function(name: &str, argv: &[&[u8]]) -> Option<Vec<KeyRef>> {
    let argc = argv.len();
    let key = |pos, flags| KeyRef { pos, flags };
    Some(match name {
        // SET ... GET reads the old value.
        "set" => {
            let get = argv[3.min(argc)..].iter().any(|a| a.eq_ignore_ascii_case(b"GET"));
            let flags = if get { ks::RW | ks::ACCESS | ks::UPDATE } else { ks::OW | ks::UPDATE };
            vec![key(1, flags)]
        }
        // BITFIELD with only GET operations just reads.
        "bitfield" => {
            let mut readonly = true;
            let mut i = 2;
            while i < argc {
                let a = argv[i];
                let (op, width) = if a.eq_ignore_ascii_case(b"GET") {
                    (true, 3)
                } else if a.eq_ignore_ascii_case(b"SET") || a.eq_ignore_ascii_case(b"INCRBY") {
                    (false, 4)
                } else if a.eq_ignore_ascii_case(b"OVERFLOW") {
                    (true, 2)
                } else {
                    (true, 1)
                };
                if !op {
                    readonly = false;
                    break;
                }
                i += width;
            }
            let flags = if readonly { ks::RO | ks::ACCESS } else { ks::RW | ks::ACCESS | ks::UPDATE };
            vec![key(1, flags)]
        }
        "sort" | "sort_ro" => {
            let mut v = vec![key(1, ks::RO | ks::ACCESS)];
            if name == "sort" {
                // The last STORE wins; options with arguments are skipped.
                let mut store = None;
                let mut i = 2;
                while i < argc {
                    let a = argv[i];
                    let skip = if a.eq_ignore_ascii_case(b"LIMIT") {
                        2
                    } else if a.eq_ignore_ascii_case(b"GET") || a.eq_ignore_ascii_case(b"BY") {
                        1
                    } else if a.eq_ignore_ascii_case(b"STORE") {
                        if i + 1 < argc {
                            store = Some(i + 1);
                        }
                        1
                    } else {
                        0
                    };
                    i += 1 + skip;
                }
                if let Some(p) = store {
                    v.push(key(p, ks::OW | ks::UPDATE));
                }
            }
            v
        }
        "migrate" => {
            let rw = ks::RW | ks::ACCESS | ks::DELETE;
            if argc > 6 && argv[3].is_empty() {
                match (6..argc).find(|&i| argv[i].eq_ignore_ascii_case(b"KEYS")) {
                    Some(p) => (p + 1..argc).map(|i| key(i, rw)).collect(),
                    None => Vec::new(),
                }
            } else {
                vec![key(3, rw)]
            }
        }
        _ => return None,
    })
}

/// The keys of a full command line, as COMMAND GETKEYS reports them.
pub fn command_keys(argv: &[&[u8]]) -> Result<Vec<KeyRef>, CmdError> {
    let reg = registry();
    let top = reg.get(argv[0]).ok_or_else(|| CmdError::err("Invalid command specified"))?;
    let e = if !top.subs.is_empty() && argv.len() >= 2 {
        reg.sub(top, argv[1]).ok_or_else(|| CmdError::err("Invalid command specified"))?
    } else {
        top
    };
    keys_for_spec(e.spec, argv)
}

/// The keys of `argv` (a full command line) by the rules of spec `s`.
pub fn keys_for_spec(s: &CommandSpec, argv: &[&[u8]]) -> Result<Vec<KeyRef>, CmdError> {
    let has_function = keys_by_function(s.name, &[b"x"]).is_some();
    let has_keys = s.key_specs.iter().any(|k| k.flags & ks::NOT_KEY == 0);
    if !has_keys && !has_function {
        return Err(CmdError::err("The command has no key arguments"));
    }
    if !s.arity_ok(argv.len()) {
        return Err(CmdError::err("Invalid number of arguments specified for command"));
    }
    let variable = s.key_specs.iter().any(|k| k.flags & ks::VARIABLE_FLAGS != 0);
    let mut keys = if has_keys && !variable { keys_from_specs(s, argv) } else { None };
    if keys.is_none() {
        keys = keys_by_function(s.name, argv);
    }
    let keys = keys.unwrap_or_default();
    if keys.is_empty() && !s.has(f::NO_MANDATORY_KEYS) {
        return Err(CmdError::err("Invalid arguments specified for command"));
    }
    Ok(keys)
}

/// COMMAND GETKEYS command [arg ...]
fn getkeys(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let argv = args.take_rest();
    let keys = command_keys(argv)?;
    ctx.out.array(keys.len());
    for k in keys {
        ctx.out.bulk(argv[k.pos]);
    }
    Ok(())
}

/// COMMAND GETKEYSANDFLAGS command [arg ...]
fn getkeysandflags(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let argv = args.take_rest();
    let keys = command_keys(argv)?;
    ctx.out.array(keys.len());
    for k in keys {
        ctx.out.array(2);
        ctx.out.bulk(argv[k.pos]);
        flag_set(ctx.out, k.flags, ks::NAMES, "");
    }
    Ok(())
}

/// Writes a HELP reply in Redis's shape: a title line, our lines, and the
/// closing HELP entry.
pub fn write_help(out: &mut Out, cmd: &str, lines: &[&str]) {
    out.array(lines.len() + 3);
    out.simple(format!("{cmd} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"));
    for l in lines {
        out.simple(l);
    }
    out.simple("HELP");
    out.simple("    Prints this help.");
}

/// COMMAND HELP
fn help(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    write_help(
        ctx.out,
        "COMMAND",
        &[
            "(no subcommand)",
            "    Describes every command of this server.",
            "COUNT",
            "    Number of commands this server has.",
            "LIST [FILTERBY (MODULE <module>|ACLCAT <category>|PATTERN <pattern>)]",
            "    Names of the commands, all of them or those passing the filter.",
            "INFO [<command-name> ...]",
            "    Describes the named commands (all commands without names).",
            "DOCS [<command-name> ...]",
            "    Documentation of the named commands (all commands without names).",
            "GETKEYS <full-command>",
            "    The keys a full command line names.",
            "GETKEYSANDFLAGS <full-command>",
            "    The keys a full command line names, each with its access flags.",
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(line: &[&str]) -> Result<Vec<usize>, CmdError> {
        let argv: Vec<&[u8]> = line.iter().map(|s| s.as_bytes()).collect();
        command_keys(&argv).map(|v| v.into_iter().map(|k| k.pos).collect())
    }

    #[test]
    fn getkeys_rules() {
        assert_eq!(keys(&["get", "a"]), Ok(vec![1]));
        assert_eq!(keys(&["set", "a", "b", "get"]), Ok(vec![1]));
        assert_eq!(
            keys(&["get", "a", "b"]).unwrap_err().to_string(),
            "ERR Invalid number of arguments specified for command"
        );
        assert_eq!(keys(&["ping"]).unwrap_err().to_string(), "ERR The command has no key arguments");
        assert_eq!(keys(&["nosuch"]).unwrap_err().to_string(), "ERR Invalid command specified");
    }

    fn spec_keys(s: &CommandSpec, line: &str) -> String {
        let args: Vec<&[u8]> = line.split(' ').map(|a| if a == "''" { &b""[..] } else { a.as_bytes() }).collect();
        match keys_for_spec(s, &args) {
            Err(e) => e.to_string(),
            Ok(keys) => keys
                .iter()
                .map(|k| {
                    let flags: Vec<&str> = cmdspec::names(k.flags, ks::NAMES).collect();
                    format!("{} {}", String::from_utf8_lossy(args[k.pos]), flags.join(" "))
                })
                .collect::<Vec<_>>()
                .join(" | "),
        }
    }

    /// Expected answers are redis-server 7.0.15's COMMAND GETKEYSANDFLAGS.
    #[test]
    fn keys_of_unbound_specs_follow_redis() {
        let cases: &[(&CommandSpec, &str, &str)] = &[
            (&t::XREAD, "xread count 1 streams a b 0 0", "a RO access | b RO access"),
            (&t::XREAD, "xread streams a", "ERR Invalid number of arguments specified for command"),
            (&t::ZUNIONSTORE, "zunionstore d 2 a b", "d OW update | a RO access | b RO access"),
            (&t::EVAL, "eval s 2 a b c", "a RW access update | b RW access update"),
            (&t::EVAL, "eval s 0", ""),
            (&t::MIGRATE, "migrate h 1 '' 0 5 keys a b", "a RW access delete | b RW access delete"),
            (&t::MIGRATE, "migrate h 1 k 0 5", "k RW access delete"),
            (&t::SORT, "sort k by x store d", "k RO access | d OW update"),
            (&t::SORT_RO, "sort_ro k", "k RO access"),
            (&t::LMPOP, "lmpop 2 a b left", "a RW access delete | b RW access delete"),
            (&t::BLMPOP, "blmpop 0 2 a b left", "a RW access delete | b RW access delete"),
            (&t::GEORADIUS, "georadius k 1 2 3 m store d", "k RO access | d OW update"),
            (&t::GEORADIUS, "georadius k 1 2 3 m storedist d", "k RO access | d OW update"),
            (&t::BITFIELD, "bitfield k get u8 0", "k RO access"),
            (&t::BITFIELD, "bitfield k set u8 0 1", "k RW access update"),
            (&t::ZADD, "zadd k 1 a", "k RW update"),
            (&t::RENAME, "rename a b", "a RW access delete | b OW update"),
            (&t::SMOVE, "smove a b m", "a RW access delete | b RW insert"),
        ];
        for (spec, line, want) in cases {
            assert_eq!(spec_keys(spec, line), *want, "{line}");
        }
    }

    fn docs_of(name: &str, proto: resp::Protocol) -> String {
        let mut out = Out::new(proto);
        write_docs(&mut out, lookup_by_name(name.as_bytes()).unwrap());
        String::from_utf8(out.buf).unwrap()
    }

    fn bulk(s: &str) -> String {
        format!("${}\r\n{s}\r\n", s.len())
    }

    #[test]
    fn docs_rendering() {
        use resp::Protocol::{Resp2, Resp3};
        // A deprecated command: doc flags, deprecation, replacement, arguments.
        let summary = bulk(cmdspec::summaries::summary("getset"));
        let replaced = bulk(cmdspec::history::replaced_by("getset").unwrap());
        let want = format!(
            "%8\r\n$7\r\nsummary\r\n{summary}$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n\
             $10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\ndoc_flags\r\n~1\r\n+deprecated\r\n\
             $16\r\ndeprecated_since\r\n$5\r\n6.2.0\r\n$11\r\nreplaced_by\r\n{replaced}\
             $9\r\narguments\r\n*2\r\n\
             %3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n\
             %2\r\n$4\r\nname\r\n$5\r\nvalue\r\n$4\r\ntype\r\n$6\r\nstring\r\n"
        );
        assert_eq!(docs_of("getset", Resp3), want);
        // History and an optional argument with a version, in RESP2.
        let summary = bulk(cmdspec::summaries::summary("lpop"));
        let text = bulk(cmdspec::history::history_text("lpop", "6.2.0", 0));
        let complexity = bulk("O(N) where N is the number of elements returned");
        let want = format!(
            "*12\r\n$7\r\nsummary\r\n{summary}$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$4\r\nlist\r\n\
             $10\r\ncomplexity\r\n{complexity}\
             $7\r\nhistory\r\n*1\r\n*2\r\n$5\r\n6.2.0\r\n{text}\
             $9\r\narguments\r\n*2\r\n\
             *6\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n\
             *8\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n\
             $5\r\nflags\r\n*1\r\n+optional\r\n"
        );
        assert_eq!(docs_of("lpop", Resp2), want);
        // Nested arguments: a oneof's alternatives under "arguments".
        let d = docs_of("client|reply", Resp3);
        assert!(
            d.ends_with(
                "$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$11\r\non_off_skip\r\n$4\r\ntype\r\n$5\r\noneof\r\n\
                 $9\r\narguments\r\n*3\r\n\
                 %3\r\n$4\r\nname\r\n$2\r\non\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nON\r\n\
                 %3\r\n$4\r\nname\r\n$3\r\noff\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nOFF\r\n\
                 %3\r\n$4\r\nname\r\n$4\r\nskip\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$4\r\nSKIP\r\n"
            ),
            "{d}"
        );
        // A command without a docs record: the spec's fields only.
        assert!(cmdspec::docs_of("ping").is_some() && cmdspec::docs_of("dbsize").is_none());
        assert!(docs_of("dbsize", Resp3).starts_with("%4\r\n"));
    }

    #[test]
    fn whole_table() {
        let reg = registry();
        for e in &reg.entries {
            // COMMAND alone is both: it runs without a subcommand.
            if e.handler.is_none() || e.spec.name == "command" {
                assert!(!e.subs.is_empty(), "{} is a container without subcommands", e.spec.name);
            } else {
                assert!(e.subs.is_empty(), "{} has a handler and subcommands", e.spec.name);
            }
            // Every bound spec is one of the table's (or extra's) specs.
            let known = cmdspec::table::ALL
                .iter()
                .chain(cmdspec::extra::ALL.iter())
                .any(|s| std::ptr::eq(*s, e.spec) || s.subcommands.iter().any(|sub| std::ptr::eq(*sub, e.spec)));
            assert!(known, "{} is not a table spec", e.spec.name);
            // COMMAND DOCS has a summary of ours for every command.
            assert!(!cmdspec::summaries::summary(e.spec.name).is_empty(), "{} has no summary", e.spec.name);
        }
        assert_eq!(reg.top_level().len(), reg.entries.iter().filter(|e| !e.spec.name.contains('|')).count());
        assert_eq!(acl_category(b"KEYSPACE"), cat::KEYSPACE);
        assert_eq!(acl_category(b"nope"), 0);
    }
}
