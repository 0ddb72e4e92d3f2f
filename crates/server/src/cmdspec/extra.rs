//! Specs of commands newer than Redis 7.0 (written by hand, in the same form
//! as table.rs, from the reference that has them).
#![allow(unused_imports)]
use super::*;

/// Every spec of this file.
pub static ALL: &[&CommandSpec] = &[];
