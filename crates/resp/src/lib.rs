//! RESP: the Redis serialization protocol, versions 2 and 3.
//!
//! This crate knows bytes and nothing else: no sockets, no storage, no commands.
//! It depends on nothing of ours.
//!
//! * [`parse`] turns the bytes a client sent into commands. A client may send
//!   RESP multibulk arrays (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`) or inline commands
//!   as typed in telnet (`GET k\r\n`). The parser is incremental: it reports
//!   `Ok(None)` until a whole command has arrived, and it never allocates more
//!   than the bytes that actually arrived (a multibulk count of a million does
//!   not reserve a million slots).
//! * [`Out`] is the reply writer. Every reply is appended to one buffer, so a
//!   pipeline of commands is answered by a single write. It knows the
//!   connection's protocol version and degrades RESP3 types (maps, sets,
//!   doubles, nulls, booleans, verbatim strings, pushes) to their RESP2 shapes
//!   exactly as Redis 7 does.
//! * [`fmt_double`] formats doubles the way Redis 7.0 does (`%.17g`, `inf`,
//!   `-inf`), and [`fmt_long_double`] the way INCRBYFLOAT does.

mod double;
mod out;
mod parse;

pub use double::{fmt_double, fmt_g17, fmt_long_double, parse_double_strict};
pub use out::{value_len, value_len_pushes, Agg, Out, Protocol};
pub use parse::{parse, pending_bulk, split_args, Limits, ParseError, Parsed};
