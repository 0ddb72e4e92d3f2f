//! ACL: users and permissions (the model is in acl.rs).

use super::command::write_help;
use super::Cmd;
use crate::acl;
use crate::args::Args;
use crate::cmdspec::table as t;
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};

pub static COMMANDS: &[Cmd] = &[
    Cmd::new(&t::ACL_CAT, cat),
    Cmd::new(&t::ACL_DELUSER, deluser),
    Cmd::new(&t::ACL_DRYRUN, dryrun),
    Cmd::new(&t::ACL_GENPASS, genpass),
    Cmd::new(&t::ACL_GETUSER, getuser),
    Cmd::new(&t::ACL_HELP, help),
    Cmd::new(&t::ACL_LIST, list),
    Cmd::new(&t::ACL_LOAD, load),
    Cmd::new(&t::ACL_LOG, log),
    Cmd::new(&t::ACL_SAVE, save),
    Cmd::new(&t::ACL_SETUSER, setuser),
    Cmd::new(&t::ACL_USERS, users),
    Cmd::new(&t::ACL_WHOAMI, whoami),
];

const HELP: &[&str] = &[
    "CAT [<category>]",
    "    Lists the command categories, or the commands of <category>.",
    "DELUSER <username> [<username> ...]",
    "    Deletes users (their connections are closed).",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Tells whether the user could run the command, without running it.",
    "GETUSER <username>",
    "    Shows a user's flags, passwords and permissions.",
    "GENPASS [<bits>]",
    "    Returns a random password of 256 bits, or of <bits> bits, in hex.",
    "LIST",
    "    Shows every user as a line of the ACL file.",
    "LOAD",
    "    Replaces the users with those of the ACL file (aclfile).",
    "LOG [<count> | RESET]",
    "    Shows the latest refused commands and failed logins, or clears them.",
    "SAVE",
    "    Writes the users to the ACL file (aclfile).",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Creates a user or changes it; all the attributes apply, or none.",
    "USERS",
    "    Lists the user names.",
    "WHOAMI",
    "    Returns the user this connection is logged in as.",
];

/// ACL SETUSER username [rule ...]
fn setuser(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let name = args.next_bytes()?;
    if name.iter().any(|&c| c.is_ascii_whitespace() || c == 0) {
        return Err(CmdError::err("Usernames can't contain spaces or null characters"));
    }
    let rules = args.take_rest();
    ctx.srv.acl.set_user(name, rules, acl::pubsub_default_all(ctx.srv)).map_err(CmdError::err)?;
    kill_pubsub_clients_without_access(ctx, name);
    ctx.out.ok();
    Ok(())
}

/// Subscribers logged in as `name` whose channels the new rules no longer
/// allow are disconnected (Redis's ACLKillPubsubClientsIfNeeded).
fn kill_pubsub_clients_without_access(ctx: &mut Ctx<'_>, name: &[u8]) {
    let Some(u) = ctx.srv.acl.get(name) else { return };
    let user = u.read();
    for c in ctx.srv.clients.all() {
        if c.user.lock().as_bytes() != name || !c.in_pubsub() {
            continue;
        }
        let ok = {
            let subs = c.subs.lock();
            subs.channels.iter().chain(subs.shard.iter()).all(|ch| user.channel_ok(ch, false))
                && subs.patterns.iter().all(|p| user.channel_ok(p, true))
        };
        if !ok {
            c.request_kill();
        }
    }
}

/// ACL DELUSER username [username ...]
fn deluser(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let names = args.take_rest();
    if names.iter().any(|n| *n == b"default") {
        return Err(CmdError::err("The 'default' user cannot be removed"));
    }
    let gone = ctx.srv.acl.delete(names);
    for u in &gone {
        let name = u.name();
        for c in ctx.srv.clients.all() {
            if *c.user.lock() == name {
                c.request_kill();
            }
        }
    }
    ctx.out.int(gone.len() as i64);
    Ok(())
}

/// ACL GETUSER username
fn getuser(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let Some(u) = ctx.srv.acl.get(args.next_bytes()?) else {
        ctx.out.null();
        return Ok(());
    };
    let u = u.read();
    let out = &mut *ctx.out;
    let sels = u.selector_fields();
    out.map(6);
    out.bulk("flags");
    let flags = u.flag_names();
    out.set(flags.len());
    for f in flags {
        out.bulk(f);
    }
    out.bulk("passwords");
    out.array(u.passwords().len());
    for p in u.passwords() {
        out.bulk(p);
    }
    let fields = |out: &mut resp::Out, s: &[String; 3]| {
        for (name, v) in ["commands", "keys", "channels"].iter().zip(s) {
            out.bulk(name);
            out.bulk(v);
        }
    };
    fields(out, &sels[0]);
    out.bulk("selectors");
    out.array(sels.len() - 1);
    for s in &sels[1..] {
        out.map(3);
        fields(out, s);
    }
    Ok(())
}

/// ACL LIST
fn list(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    let users = ctx.srv.acl.all();
    ctx.out.array(users.len());
    for u in users {
        let u = u.read();
        ctx.out.bulk(format!("user {} {}", u.name, u.describe()));
    }
    Ok(())
}

/// ACL USERS
fn users(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    let users = ctx.srv.acl.all();
    ctx.out.array(users.len());
    for u in users {
        ctx.out.bulk(u.name());
    }
    Ok(())
}

/// ACL WHOAMI
fn whoami(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    let name = ctx.client.info.user.lock().clone();
    ctx.out.bulk(name);
    Ok(())
}

/// ACL CAT [category]
fn cat(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    if args.remaining() > 1 {
        return Err(CmdError::subcommand_syntax(args.all()));
    }
    match args.peek() {
        None => {
            ctx.out.array(crate::cmdspec::cat::NAMES.len());
            for n in crate::cmdspec::cat::NAMES {
                ctx.out.bulk(n);
            }
        }
        Some(c) => {
            let names = acl::commands_in_category(c).ok_or_else(|| {
                CmdError::err(format!("Unknown category '{}'", String::from_utf8_lossy(&c[..c.len().min(128)])))
            })?;
            ctx.out.array(names.len());
            for n in names {
                ctx.out.bulk(n);
            }
        }
    }
    Ok(())
}

/// ACL GENPASS [bits]
fn genpass(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    if args.remaining() > 1 {
        return Err(CmdError::subcommand_syntax(args.all()));
    }
    let bits = match args.peek() {
        None => 256,
        Some(b) => types::num::parse_i64(b).ok_or(CmdError::NotInteger)?,
    };
    if bits <= 0 || bits > 4096 {
        return Err(CmdError::err(
            "ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096",
        ));
    }
    let chars = ((bits + 3) / 4) as usize;
    let s: String = (0..chars).map(|_| format!("{:x}", rand::random::<u8>() & 15)).collect();
    ctx.out.bulk(s);
    Ok(())
}

/// ACL LOG [count | RESET]
fn log(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    if args.remaining() > 1 {
        return Err(CmdError::subcommand_syntax(args.all()));
    }
    let mut count = 10usize;
    if let Some(a) = args.peek() {
        if a.eq_ignore_ascii_case(b"reset") {
            ctx.srv.acl.log.lock().clear();
            ctx.out.ok();
            return Ok(());
        }
        let n = types::num::parse_i64(a).ok_or(CmdError::NotInteger)?;
        count = n.max(0) as usize;
    }
    let now = ctx.srv.clock.now_ms();
    let log = ctx.srv.acl.log.lock();
    let n = count.min(log.len());
    let out = &mut *ctx.out;
    out.array(n);
    for e in log.iter().take(n) {
        out.map(7);
        out.bulk("count");
        out.int(e.count as i64);
        out.bulk("reason");
        out.bulk(e.reason);
        out.bulk("context");
        out.bulk(e.context);
        out.bulk("object");
        out.bulk(&e.object);
        out.bulk("username");
        out.bulk(&e.username);
        out.bulk("age-seconds");
        out.double((now - e.created_ms) as f64 / 1000.0);
        out.bulk("client-info");
        out.bulk(&e.client_info);
    }
    Ok(())
}

/// ACL DRYRUN username command [arg ...]
fn dryrun(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let name = args.next_bytes()?;
    let Some(u) = ctx.srv.acl.get(name) else {
        return Err(CmdError::err(format!("User '{}' not found", String::from_utf8_lossy(name))));
    };
    let argv = args.take_rest();
    let reg = super::registry();
    let entry =
        reg.get(argv[0]).and_then(
            |e| {
                if e.subs.is_empty() {
                    Some(e)
                } else {
                    argv.get(1).and_then(|s| reg.sub(e, s))
                }
            },
        );
    let Some(entry) = entry else {
        return Err(CmdError::err(format!("Command '{}' not found", String::from_utf8_lossy(argv[0]))));
    };
    if !entry.spec.arity_ok(argv.len()) {
        return Err(CmdError::err(format!("wrong number of arguments for '{}' command", entry.spec.full_name())));
    }
    match u.read().check(entry.spec, entry.index, argv) {
        Ok(()) => ctx.out.ok(),
        Err(acl::Denied::Command) => {
            ctx.out.bulk(format!("This user has no permissions to run the '{}' command", entry.spec.full_name()))
        }
        Err(acl::Denied::Key(p)) => ctx
            .out
            .bulk(format!("This user has no permissions to access the '{}' key", String::from_utf8_lossy(argv[p]))),
        Err(acl::Denied::Channel(p)) => ctx
            .out
            .bulk(format!("This user has no permissions to access the '{}' channel", String::from_utf8_lossy(argv[p]))),
    }
    Ok(())
}

fn acl_file(ctx: &Ctx<'_>) -> Result<String, CmdError> {
    match ctx.srv.config.get_text("aclfile") {
        Some(f) if !f.is_empty() => Ok(f),
        _ => Err(CmdError::err(
            "This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.",
        )),
    }
}

/// ACL LOAD
fn load(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    let file = acl_file(ctx)?;
    acl::load_file(ctx.srv, &file).map_err(CmdError::err)?;
    ctx.out.ok();
    Ok(())
}

/// ACL SAVE
fn save(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    let file = acl_file(ctx)?;
    acl::save_file(ctx.srv, &file).map_err(|e| {
        tracing::warn!("Saving the ACL file {file}: {e}");
        CmdError::err("There was an error trying to save the ACLs. Please check the server logs for more information")
    })?;
    ctx.out.ok();
    Ok(())
}

/// ACL HELP
fn help(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    write_help(ctx.out, "ACL", HELP);
    Ok(())
}
