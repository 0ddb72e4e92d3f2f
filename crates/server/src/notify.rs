//! Keyspace notifications (`notify-keyspace-events`).
//!
//! Commands call `ctx.notify(CLASS, "event", key)`; when the class is enabled
//! the event is published on `__keyspace@<db>__:<key>` and
//! `__keyevent@<db>__:<event>`. The class bits match Redis's flag letters.
//!
//! Events are emitted where they happen, under the shard lock, so their
//! order is the order of the writes. With nobody subscribed to anything the
//! cost is one atomic load; then the enabled classes are checked (a cached
//! copy of the setting), and only then are channel names built.

use crate::pubsub::SelfOut;
use crate::server::Server;

pub const KEYSPACE: u32 = 1 << 0; // K
pub const KEYEVENT: u32 = 1 << 1; // E
pub const GENERIC: u32 = 1 << 2; // g
pub const STRING: u32 = 1 << 3; // $
pub const LIST: u32 = 1 << 4; // l
pub const SET: u32 = 1 << 5; // s
pub const HASH: u32 = 1 << 6; // h
pub const ZSET: u32 = 1 << 7; // z
pub const EXPIRED: u32 = 1 << 8; // x
pub const EVICTED: u32 = 1 << 9; // e
pub const STREAM: u32 = 1 << 10; // t
pub const KEY_MISS: u32 = 1 << 11; // m
pub const LOADED: u32 = 1 << 12; // module only
pub const MODULE: u32 = 1 << 13; // d
pub const NEW: u32 = 1 << 14; // n

/// Redis's NOTIFY_ALL (`A`): every class letter but `m` and the modifiers.
pub const ALL: u32 = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// Publishes the event if its class is enabled.
pub fn emit(srv: &Server, class: u32, event: &str, db: usize, key: &[u8]) {
    emit_from(srv, class, event, db, key, None)
}

/// Like `emit`, with the connection running the command (its own
/// subscription gets the message before the command's reply).
pub fn emit_from(srv: &Server, class: u32, event: &str, db: usize, key: &[u8], mut me: Option<SelfOut<'_>>) {
    if srv.pubsub.is_idle() {
        return;
    }
    let flags = srv.pubsub.notify_flags(srv);
    if flags & class == 0 {
        return;
    }
    let mut dbs = itoa::Buffer::new();
    let dbs = dbs.format(db).as_bytes();
    if flags & KEYSPACE != 0 {
        let chan = [b"__keyspace@", dbs, b"__:", key].concat();
        let me = me.as_mut().map(|m| SelfOut { id: m.id, out: &mut *m.out });
        srv.pubsub.publish(srv, false, &chan, event.as_bytes(), me, srv.clock.now_ms());
    }
    if flags & KEYEVENT != 0 {
        let chan = [b"__keyevent@", dbs, b"__:", event.as_bytes()].concat();
        srv.pubsub.publish(srv, false, &chan, key, me, srv.clock.now_ms());
    }
}
