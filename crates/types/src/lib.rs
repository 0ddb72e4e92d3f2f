//! Value encodings and data structures: pure, no I/O, no locks.
//!
//! Depends on nothing of ours. The keyspace (in the server crate) stores these
//! types; commands call their methods. Each module documents its
//! representation and invariants at the top.

pub mod bitops;
pub mod bytes16;
pub mod dense;
pub mod geo;
pub mod hash;
pub mod hll;
pub mod list;
pub mod num;
pub mod pqsort;
pub mod set;
pub mod slots;
pub mod stream;
pub mod zset;
