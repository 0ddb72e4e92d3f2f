//! Keyspace notifications (`notify-keyspace-events`).
//!
//! Commands call `ctx.notify(CLASS, "event", key)`; when the class is enabled
//! the event is published on `__keyspace@<db>__:<key>` and
//! `__keyevent@<db>__:<event>`. The class bits match Redis's flag letters.

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

/// Publishes the event if enabled. No pub/sub exists yet, so nothing is
/// delivered; the messaging work fills this in.
pub fn emit(_srv: &Server, _class: u32, _event: &str, _db: usize, _key: &[u8]) {}
