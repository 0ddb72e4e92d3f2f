//! Integration tests: real clients over TCP against servers started here.
//! One binary, one module per family; `common` has the helpers; `diff` replays
//! the scripts of tests/diff against redis-server and Hematite.

mod acl;
mod bitmap;
mod blocking;
mod clientevict;
mod cmdlog;
mod common;
mod config;
mod conform;
mod connection;
mod debug;
mod diff;
mod docmask;
mod dump;
mod eviction;
mod generic;
mod geo;
mod hash;
mod hll;
mod latency;
mod lazyfree;
mod list;
mod msgconf;
mod notify;
mod perf;
mod persist;
mod propagation;
mod protocol;
mod pubsub;
mod replication;
mod scriptconf;
mod scripting;
mod server;
mod set;
mod sort;
mod stream;
mod string;
mod tclconf;
mod tracking;
mod txn;
mod zset;
