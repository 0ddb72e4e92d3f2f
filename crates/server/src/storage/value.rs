//! Values stored in the keyspace.
//!
//! `Value` is one enum with a variant per Redis type; collection payloads are
//! boxed types from the `types` crate so the enum (and so each keyspace entry)
//! stays small. Strings keep Redis's three encodings because OBJECT ENCODING
//! reports them and because they are the cheap representation anyway:
//! `Int` (a decimal that round-trips through i64), `Emb` (at most 44 bytes,
//! held in a `CompactBytes`: inline up to 23 bytes, else allocated exactly), `Raw`
//! (larger, or grown in place by APPEND/SETRANGE; boxed so that `Str` and
//! `Value` fit in 24 bytes, see the size test).

use super::compact::CompactBytes;

/// Redis's OBJ_ENCODING_EMBSTR_SIZE_LIMIT.
pub const EMBSTR_MAX: usize = 44;

#[derive(Clone, Debug, PartialEq)]
pub enum Str {
    Int(i64),
    Emb(CompactBytes),
    Raw(Box<Vec<u8>>),
}

impl Str {
    /// Encodes a string as Redis's `tryObjectEncoding` would.
    pub fn from_bytes(b: &[u8]) -> Str {
        if b.len() <= 20 {
            if let Some(n) = types::num::parse_i64(b) {
                return Str::Int(n);
            }
        }
        if b.len() <= EMBSTR_MAX {
            Str::Emb(b.into())
        } else {
            Str::raw(b.to_vec())
        }
    }

    /// A string that will be modified in place (APPEND, SETRANGE): always raw.
    pub fn raw(b: Vec<u8>) -> Str {
        Str::Raw(Box::new(b))
    }

    pub fn len(&self) -> usize {
        match self {
            Str::Int(n) => itoa::Buffer::new().format(*n).len(),
            Str::Emb(b) => b.len(),
            Str::Raw(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes, formatting an integer into `buf` when needed.
    pub fn as_bytes<'a>(&'a self, buf: &'a mut itoa::Buffer) -> &'a [u8] {
        match self {
            Str::Int(n) => buf.format(*n).as_bytes(),
            Str::Emb(b) => b,
            Str::Raw(v) => v,
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.as_bytes(&mut itoa::Buffer::new()).to_vec()
    }

    /// The integer value, if the string is one (Redis `getLongLongFromObject`).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Str::Int(n) => Some(*n),
            Str::Emb(b) => types::num::parse_i64(b),
            Str::Raw(v) => types::num::parse_i64(v),
        }
    }

    /// Turns the value into a growable raw buffer (for APPEND and SETRANGE).
    pub fn make_raw(&mut self) -> &mut Vec<u8> {
        if !matches!(self, Str::Raw(_)) {
            *self = Str::raw(self.to_vec());
        }
        match self {
            Str::Raw(v) => v,
            _ => unreachable!("just converted"),
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Str::Int(_) => "int",
            Str::Emb(_) => "embstr",
            Str::Raw(_) => "raw",
        }
    }
}

#[derive(Clone)]
pub enum Value {
    Str(Str),
    ZSet(Box<types::zset::ZSet>),
    List(Box<types::list::List>),
    Hash(types::hash::Hash),
    Set(Box<types::set::Set>),
    Stream(Box<types::stream::Stream>),
}

impl Value {
    /// The name TYPE replies with.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::ZSet(_) => "zset",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::Stream(_) => "stream",
        }
    }

    /// True for a large hash, set or sorted set, whose members
    /// `prefetch_member` can load ahead.
    #[inline]
    pub fn indexes_members(&self) -> bool {
        match self {
            Value::Hash(x) => x.has_index(),
            Value::Set(x) => x.has_index(),
            Value::ZSet(x) => x.has_index(),
            _ => false,
        }
    }

    /// Prefetch step `step` (0 index slot, 1 item, 2 heap bytes) for a
    /// member of hash `h` (`types::slots::hash`) of a large hash, set or
    /// sorted set; nothing for other values.
    #[inline]
    pub fn prefetch_member(&self, h: u64, step: u8) {
        match self {
            Value::Hash(x) => x.prefetch_field(h, step),
            Value::Set(x) => x.prefetch_member(h, step),
            Value::ZSet(x) => x.prefetch_member(h, step),
            _ => {}
        }
    }

    /// True for the types clients can block on (lists, sorted sets,
    /// streams): storing one signals its key as ready.
    pub fn wakes_waiters(&self) -> bool {
        matches!(self, Value::List(_) | Value::ZSet(_) | Value::Stream(_))
    }

    /// The name OBJECT ENCODING replies with.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
            // Redis 7.0 has no listpack list encoding (that came in 7.2).
            Value::List(_) => "quicklist",
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::Stream(_) => "stream",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(std::mem::size_of::<Str>(), 24);
        assert_eq!(std::mem::size_of::<Value>(), 24);
    }

    #[test]
    fn encodings() {
        assert_eq!(Str::from_bytes(b"123").encoding(), "int");
        assert_eq!(Str::from_bytes(b"0123").encoding(), "embstr");
        assert_eq!(Str::from_bytes(&[b'a'; 44]).encoding(), "embstr");
        assert_eq!(Str::from_bytes(&[b'a'; 45]).encoding(), "raw");
        assert_eq!(Str::from_bytes(b"-9223372036854775808").as_i64(), Some(i64::MIN));
        let l = Value::List(Box::default());
        assert_eq!((l.type_name(), l.encoding(), l.wakes_waiters()), ("list", "quicklist", true));
    }
}
