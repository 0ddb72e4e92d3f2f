//! LATENCY: the latency monitor's events and the per-command latency
//! histograms (both kept by latency.rs).

use super::{registry, Cmd, Entry, Registry};
use crate::args::Args;
use crate::cmdspec::table as t;
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use resp::Agg;

pub static COMMANDS: &[Cmd] = &[
    Cmd::new(&t::LATENCY_DOCTOR, latency_doctor),
    Cmd::new(&t::LATENCY_GRAPH, latency_graph),
    Cmd::new(&t::LATENCY_HELP, latency_help),
    Cmd::new(&t::LATENCY_HISTOGRAM, latency_histogram),
    Cmd::new(&t::LATENCY_HISTORY, latency_history),
    Cmd::new(&t::LATENCY_LATEST, latency_latest),
    Cmd::new(&t::LATENCY_RESET, latency_reset),
];

/// LATENCY LATEST: per event, its name, the time and latency of its newest
/// sample, and its all-time high.
fn latency_latest(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    let out = &mut *ctx.out;
    ctx.srv.latency.with(|events| {
        out.array(events.len());
        for s in events {
            let last = s.latest();
            out.array(4);
            out.bulk(s.name);
            out.int(last.time);
            out.int(last.ms as i64);
            out.int(s.max as i64);
        }
    });
    Ok(())
}

/// LATENCY HISTORY event: the event's samples, oldest first, as
/// [time, latency] pairs (none for an unknown event). Names are matched
/// exactly, as Redis does.
fn latency_history(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let name = args.next_bytes()?;
    let out = &mut *ctx.out;
    ctx.srv.latency.with(|events| {
        let Some(s) = events.iter().find(|s| s.name.as_bytes() == name) else {
            out.empty_array();
            return;
        };
        let at = out.begin_deferred();
        let mut n = 0;
        for x in s.samples() {
            out.array(2);
            out.int(x.time);
            out.int(x.ms as i64);
            n += 1;
        }
        out.end_deferred(at, Agg::Array, n);
    });
    Ok(())
}

/// LATENCY GRAPH event
fn latency_graph(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let name = args.next_bytes()?;
    let now = ctx.srv.clock.now_ms().div_euclid(1000);
    let graph = ctx
        .srv
        .latency
        .with(|events| events.iter().find(|s| s.name.as_bytes() == name).map(|s| crate::latency::graph(s, now)));
    match graph {
        Some(g) => {
            ctx.out.verbatim("txt", g);
            Ok(())
        }
        None => Err(CmdError::err(format!("No samples available for event '{}'", String::from_utf8_lossy(name)))),
    }
}

/// LATENCY DOCTOR
fn latency_doctor(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    let report = crate::latency::doctor(ctx.srv);
    ctx.out.verbatim("txt", report);
    Ok(())
}

/// LATENCY RESET [event ...]: deletes the named events (any case), or all;
/// replies how many went.
fn latency_reset(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let n = if args.is_empty() {
        ctx.srv.latency.reset(None)
    } else {
        args.take_rest().iter().map(|name| ctx.srv.latency.reset(Some(name))).sum()
    };
    ctx.out.int(n as i64);
    Ok(())
}

/// The command LATENCY HISTOGRAM means by `name` (Redis's
/// lookupCommandBySds): a command, or `container|sub`.
fn lookup<'r>(reg: &'r Registry, name: &[u8]) -> Option<&'r Entry> {
    let mut parts = name.split(|&c| c == b'|');
    let top = reg.get(parts.next()?)?;
    let Some(sub) = parts.next() else { return Some(top) };
    if parts.next().is_some() || top.subs.is_empty() {
        return None;
    }
    reg.sub(top, sub)
}

/// Writes `e`'s histogram (if it has one with calls) as a `name ->
/// {calls, histogram_usec}` pair; true if written.
fn write_histogram(ctx: &mut Ctx<'_>, e: &Entry) -> bool {
    let Some(counts) = ctx.srv.cmdstats.per[e.index].hist_counts() else { return false };
    let calls: u64 = counts.iter().sum();
    if calls == 0 {
        return false;
    }
    let buckets = crate::latency::hist::cumulative(&counts);
    let out = &mut *ctx.out;
    out.bulk(e.spec.name);
    out.map(2);
    out.bulk("calls");
    out.int(calls as i64);
    out.bulk("histogram_usec");
    out.map(buckets.len());
    for (usec, n) in buckets {
        out.int(usec as i64);
        out.int(n as i64);
    }
    true
}

/// Writes the histograms of `e` and of its subcommands; returns how many.
fn write_with_subs(ctx: &mut Ctx<'_>, reg: &Registry, e: &Entry) -> usize {
    let mut n = write_histogram(ctx, e) as usize;
    for sub in reg.subs_of(e) {
        n += write_histogram(ctx, sub) as usize;
    }
    n
}

/// LATENCY HISTOGRAM [command ...]: per command with calls (subcommands as
/// `container|sub`; a container stands for its subcommands; unknown names
/// are skipped), the number of calls and the cumulative count of calls per
/// power-of-two latency bucket. Commands come in name order (Redis's is
/// its hash table's).
fn latency_histogram(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let reg = registry();
    let at = ctx.out.begin_deferred();
    let mut n = 0;
    if args.is_empty() {
        for e in reg.top_level() {
            n += write_with_subs(ctx, reg, e);
        }
    } else {
        for name in args.take_rest() {
            if let Some(e) = lookup(reg, name) {
                n += write_with_subs(ctx, reg, e);
            }
        }
    }
    ctx.out.end_deferred(at, Agg::Map, n);
    Ok(())
}

/// LATENCY HELP
fn latency_help(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    super::scripting::reply_help(
        ctx,
        "LATENCY",
        &[
            "DOCTOR",
            "    Return a human readable latency analysis report.",
            "GRAPH <event>",
            "    Return an ASCII latency graph for the <event> class.",
            "HISTORY <event>",
            "    Return time-latency samples for the <event> class.",
            "LATEST",
            "    Return the latest latency samples for all events.",
            "RESET [<event> ...]",
            "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
            "    If no commands are specified then all histograms are replied.",
        ],
    );
    Ok(())
}
