//! Integration tests: real clients over TCP against servers started here.
//! One binary, one module per family; `common` has the helpers; `diff` replays
//! the scripts of tests/diff against redis-server and Hematite.

mod common;
mod connection;
mod diff;
mod protocol;
mod scripting;
mod txn;
