//! Integration tests: real clients over TCP against servers started here.
//! One binary, one module per family; `common` has the helpers; `diff` replays
//! the scripts of tests/diff against redis-server and Hematite.

mod bitmap;
mod blocking;
mod common;
mod config;
mod connection;
mod diff;
mod generic;
mod hll;
mod geo;
mod list;
mod protocol;
mod sort;
mod string;
mod zset;
mod server;
mod hash;
mod set;
mod scripting;
mod txn;
