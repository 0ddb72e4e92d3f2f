//! Pub/sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH,
//! PUBSUB introspection. The registry and delivery live in `crate::pubsub`.

use super::Cmd;
use crate::args::Args;
use crate::cmdspec::table as t;
use crate::ctx::Ctx;
use crate::error::CmdResult;
use crate::pubsub::{Kind, SelfOut};

pub static COMMANDS: &[Cmd] = &[
    Cmd::new(&t::SUBSCRIBE, subscribe),
    Cmd::new(&t::PSUBSCRIBE, psubscribe),
    Cmd::new(&t::SSUBSCRIBE, ssubscribe),
    Cmd::new(&t::UNSUBSCRIBE, unsubscribe),
    Cmd::new(&t::PUNSUBSCRIBE, punsubscribe),
    Cmd::new(&t::SUNSUBSCRIBE, sunsubscribe),
    Cmd::new(&t::PUBLISH, publish),
    Cmd::new(&t::SPUBLISH, spublish),
    Cmd::new(&t::PUBSUB_CHANNELS, pubsub_channels),
    Cmd::new(&t::PUBSUB_SHARDCHANNELS, pubsub_shardchannels),
    Cmd::new(&t::PUBSUB_NUMSUB, pubsub_numsub),
    Cmd::new(&t::PUBSUB_SHARDNUMSUB, pubsub_shardnumsub),
    Cmd::new(&t::PUBSUB_NUMPAT, pubsub_numpat),
    Cmd::new(&t::PUBSUB_HELP, pubsub_help),
];

fn sub(ctx: &mut Ctx<'_>, args: &mut Args<'_>, kind: Kind) -> CmdResult {
    for name in args.take_rest() {
        ctx.srv.pubsub.subscribe(&ctx.client.info, kind, name, ctx.out);
    }
    Ok(())
}

fn unsub(ctx: &mut Ctx<'_>, args: &mut Args<'_>, kind: Kind) -> CmdResult {
    let info = &ctx.client.info;
    let names = args.take_rest();
    if names.is_empty() {
        ctx.srv.pubsub.unsubscribe_all(info, kind, Some(ctx.out));
    }
    for name in names {
        ctx.srv.pubsub.unsubscribe(info, kind, name, Some(ctx.out));
    }
    Ok(())
}

/// SUBSCRIBE channel [channel ...]
fn subscribe(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    sub(ctx, args, Kind::Channel)
}

/// PSUBSCRIBE pattern [pattern ...]
fn psubscribe(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    sub(ctx, args, Kind::Pattern)
}

/// SSUBSCRIBE shardchannel [shardchannel ...]
fn ssubscribe(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    // Inside EXEC a client may not block; unlike (P)SUBSCRIBE, Redis makes
    // no exception for transactions here.
    if !ctx.may_block() {
        return Err(crate::error::CmdError::err("SSUBSCRIBE isn't allowed for a DENY BLOCKING client"));
    }
    sub(ctx, args, Kind::Shard)
}

/// UNSUBSCRIBE [channel [channel ...]]
fn unsubscribe(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    unsub(ctx, args, Kind::Channel)
}

/// PUNSUBSCRIBE [pattern [pattern ...]]
fn punsubscribe(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    unsub(ctx, args, Kind::Pattern)
}

/// SUNSUBSCRIBE [shardchannel [shardchannel ...]]
fn sunsubscribe(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    unsub(ctx, args, Kind::Shard)
}

fn publish_to(ctx: &mut Ctx<'_>, args: &mut Args<'_>, shard: bool) -> CmdResult {
    let (channel, msg) = (args.next_bytes()?, args.next_bytes()?);
    let me = SelfOut { id: ctx.client.id, out: &mut *ctx.out };
    let now = ctx.now_ms;
    let n = ctx.srv.pubsub.publish(ctx.srv, shard, channel, msg, Some(me), now);
    // Replicas deliver the message to their own subscribers; the AOF does
    // not keep it (Redis forces the propagation to replication only).
    ctx.force_propagation(crate::propagate::REPL);
    ctx.out.int(n as i64);
    Ok(())
}

/// PUBLISH channel message
fn publish(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    publish_to(ctx, args, false)
}

/// SPUBLISH shardchannel message
fn spublish(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    publish_to(ctx, args, true)
}

fn channels(ctx: &mut Ctx<'_>, args: &mut Args<'_>, kind: Kind) -> CmdResult {
    if args.remaining() > 1 {
        return Err(syntax_error(args));
    }
    let names = ctx.srv.pubsub.names(kind, args.peek());
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk(n);
    }
    Ok(())
}

/// Redis's addReplySubcommandSyntaxError.
fn syntax_error(args: &Args<'_>) -> crate::error::CmdError {
    let all = args.all();
    let sub = String::from_utf8_lossy(&all[1][..all[1].len().min(128)]).into_owned();
    crate::error::CmdError::err(format!(
        "unknown subcommand or wrong number of arguments for '{sub}'. Try {} HELP.",
        String::from_utf8_lossy(all[0]).to_uppercase()
    ))
}

/// PUBSUB CHANNELS [pattern]
fn pubsub_channels(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    channels(ctx, args, Kind::Channel)
}

/// PUBSUB SHARDCHANNELS [pattern]
fn pubsub_shardchannels(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    channels(ctx, args, Kind::Shard)
}

fn numsub(ctx: &mut Ctx<'_>, args: &mut Args<'_>, kind: Kind) -> CmdResult {
    let names = args.take_rest();
    ctx.out.array(names.len() * 2);
    for n in names {
        ctx.out.bulk(n);
        ctx.out.int(ctx.srv.pubsub.numsub(kind, n) as i64);
    }
    Ok(())
}

/// PUBSUB NUMSUB [channel ...]
fn pubsub_numsub(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    numsub(ctx, args, Kind::Channel)
}

/// PUBSUB SHARDNUMSUB [shardchannel ...]
fn pubsub_shardnumsub(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    numsub(ctx, args, Kind::Shard)
}

/// PUBSUB NUMPAT
fn pubsub_numpat(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    ctx.out.int(ctx.srv.pubsub.numpat() as i64);
    Ok(())
}

/// PUBSUB HELP
fn pubsub_help(ctx: &mut Ctx<'_>, _args: &mut Args<'_>) -> CmdResult {
    super::generic::reply_help(
        ctx,
        &[
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
        ],
    );
    Ok(())
}
