//! Client-side caching commands: CLIENT TRACKING, CLIENT CACHING,
//! CLIENT TRACKINGINFO, CLIENT GETREDIR. The state lives in `crate::tracking`.

use super::Cmd;
use crate::args::Args;
use crate::cmdspec::table as t;
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::tracking::ClientTracking;

pub static COMMANDS: &[Cmd] = &[
    Cmd::new(&t::CLIENT_TRACKING, client_tracking),
    Cmd::new(&t::CLIENT_CACHING, client_caching),
    Cmd::new(&t::CLIENT_TRACKINGINFO, client_trackinginfo),
    Cmd::new(&t::CLIENT_GETREDIR, client_getredir),
];

/// True if one prefix is a prefix of the other (both would see a key).
fn overlap(a: &[u8], b: &[u8]) -> bool {
    let n = a.len().min(b.len());
    a[..n] == b[..n]
}

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Redis's check that no two prefixes of one client see the same key.
fn check_prefixes(existing: &[Box<[u8]>], new: &[&[u8]]) -> CmdResult {
    for (i, p) in new.iter().enumerate() {
        if let Some(e) = existing.iter().find(|e| overlap(e, p)) {
            return Err(CmdError::err(format!(
                "Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                show(p),
                show(e)
            )));
        }
        if let Some(q) = new[i + 1..].iter().find(|q| overlap(p, q)) {
            return Err(CmdError::err(format!(
                "Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                show(p),
                show(q)
            )));
        }
    }
    Ok(())
}

/// CLIENT TRACKING <ON | OFF> [REDIRECT client-id] [PREFIX prefix [PREFIX
/// prefix ...]] [BCAST] [OPTIN] [OPTOUT] [NOLOOP]
fn client_tracking(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let mode = args.next_bytes()?;
    let mut opts = ClientTracking::default();
    let mut prefixes: Vec<&[u8]> = Vec::new();
    while let Some(opt) = args.peek() {
        args.next_bytes()?;
        let more = !args.is_empty();
        if opt.eq_ignore_ascii_case(b"redirect") && more {
            if opts.redirect != 0 {
                return Err(CmdError::err("A client can only redirect to a single other client"));
            }
            let id = args.next_i64()?;
            if id <= 0 || ctx.srv.clients.get(id as u64).is_none() {
                return Err(CmdError::err("The client ID you want redirect to does not exist"));
            }
            opts.redirect = id as u64;
        } else if opt.eq_ignore_ascii_case(b"bcast") {
            opts.bcast = true;
        } else if opt.eq_ignore_ascii_case(b"optin") {
            opts.optin = true;
        } else if opt.eq_ignore_ascii_case(b"optout") {
            opts.optout = true;
        } else if opt.eq_ignore_ascii_case(b"noloop") {
            opts.noloop = true;
        } else if opt.eq_ignore_ascii_case(b"prefix") && more {
            prefixes.push(args.next_bytes()?);
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if mode.eq_ignore_ascii_case(b"on") {
        let cur = &ctx.client.tracking;
        if !opts.bcast && !prefixes.is_empty() {
            return Err(CmdError::err("PREFIX option requires BCAST mode to be enabled"));
        }
        if cur.on && cur.bcast != opts.bcast {
            return Err(CmdError::err(
                "You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.",
            ));
        }
        if opts.bcast && (opts.optin || opts.optout) {
            return Err(CmdError::err("OPTIN and OPTOUT are not compatible with BCAST"));
        }
        if opts.optin && opts.optout {
            return Err(CmdError::err("You can't specify both OPTIN mode and OPTOUT mode"));
        }
        if (opts.optin && cur.optout) || (opts.optout && cur.optin) {
            return Err(CmdError::err(
                "You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.",
            ));
        }
        if opts.bcast {
            check_prefixes(&cur.prefixes, &prefixes)?;
        }
        opts.prefixes = prefixes.iter().map(|p| Box::from(*p)).collect();
        ctx.srv.tracking.enable(ctx.client, opts);
    } else if mode.eq_ignore_ascii_case(b"off") {
        ctx.srv.tracking.disable(ctx.client);
    } else {
        return Err(CmdError::Syntax);
    }
    ctx.out.ok();
    Ok(())
}

/// CLIENT CACHING <YES | NO>
fn client_caching(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let t = &mut ctx.client.tracking;
    if !t.on {
        return Err(CmdError::err(
            "CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
        ));
    }
    let opt = args.next_bytes()?;
    if opt.eq_ignore_ascii_case(b"yes") {
        if !t.optin {
            return Err(CmdError::err("CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode."));
        }
    } else if opt.eq_ignore_ascii_case(b"no") {
        if !t.optout {
            return Err(CmdError::err("CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode."));
        }
    } else {
        return Err(CmdError::Syntax);
    }
    t.caching = true;
    ctx.out.ok();
    Ok(())
}

/// CLIENT GETREDIR
fn client_getredir(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    let t = &ctx.client.tracking;
    ctx.out.int(if t.on { t.redirect as i64 } else { -1 });
    Ok(())
}

/// CLIENT TRACKINGINFO
fn client_trackinginfo(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    let t = ctx.client.tracking.clone();
    let broken = t.on && ctx.srv.tracking.broken_redirect(ctx.client.id);
    let mut flags = vec![if t.on { "on" } else { "off" }];
    for (on, name) in [
        (t.bcast, "bcast"),
        (t.optin, "optin"),
        (t.optin && t.caching, "caching-yes"),
        (t.optout, "optout"),
        (t.optout && t.caching, "caching-no"),
        (t.noloop, "noloop"),
        (broken, "broken_redirect"),
    ] {
        if on {
            flags.push(name);
        }
    }
    let out = &mut *ctx.out;
    out.map(3);
    out.bulk("flags");
    out.set(flags.len());
    for f in flags {
        out.bulk(f);
    }
    out.bulk("redirect");
    out.int(if t.on { t.redirect as i64 } else { -1 });
    out.bulk("prefixes");
    out.array(t.prefixes.len());
    for p in &t.prefixes {
        out.bulk(p);
    }
    Ok(())
}
