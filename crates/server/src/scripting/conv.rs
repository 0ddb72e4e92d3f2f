//! Conversions between RESP replies and Lua values, as Redis documents them.
//!
//! RESP -> Lua (a command's reply inside a script): integer -> number, bulk
//! -> string, null bulk/array -> false (RESP2) or nil (RESP3), array ->
//! table, status -> {ok=...}, error -> {err=...}; with redis.setresp(3) also
//! map -> {map={...}}, set -> {set={k=true}}, double -> {double=n}, boolean
//! -> boolean, big number -> {big_number="..."}, verbatim ->
//! {verbatim_string={format=..., string=...}}.
//!
//! Lua -> RESP (a script's return value): string -> bulk, number -> integer
//! (truncated), boolean -> 1/null (RESP2 script) or boolean (RESP3 script),
//! table -> {err}/{ok}/{double}/{big_number}/{verbatim_string}/{map}/{set}
//! or an array that stops at the first nil; anything else -> null.

use mlua::{Lua, Table, Value};
use resp::{Agg, Out};

/// Deeper Lua tables than this are cut short with Redis's stack-limit error
/// instead of recursing further.
const MAX_DEPTH: usize = 1000;

/// Converts one complete reply to a Lua value.
pub fn reply_to_lua(lua: &Lua, reply: &[u8]) -> mlua::Result<Value> {
    let mut p = Parser { b: reply, pos: 0 };
    p.value(lua)
}

struct Parser<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn line(&mut self) -> &[u8] {
        let start = self.pos;
        let end = self.b[start..].windows(2).position(|w| w == b"\r\n").map(|p| start + p).unwrap_or(self.b.len());
        self.pos = (end + 2).min(self.b.len());
        &self.b[start..end]
    }

    fn num(&mut self) -> i64 {
        let l = self.line();
        std::str::from_utf8(l).ok().and_then(|s| s.parse().ok()).unwrap_or(0)
    }

    fn bulk(&mut self) -> Option<&[u8]> {
        let n = self.num();
        if n < 0 {
            return None;
        }
        let start = self.pos;
        let end = start.saturating_add(n as usize).min(self.b.len());
        self.pos = (end + 2).min(self.b.len());
        Some(&self.b[start..end])
    }

    fn value(&mut self, lua: &Lua) -> mlua::Result<Value> {
        if self.pos >= self.b.len() {
            return Ok(Value::Nil);
        }
        let kind = self.b[self.pos];
        self.pos += 1;
        Ok(match kind {
            b':' => Value::Number(self.num() as f64),
            b'$' => match self.bulk() {
                Some(s) => Value::String(lua.create_string(s)?),
                None => Value::Boolean(false),
            },
            b'+' => {
                let t = lua.create_table()?;
                t.raw_set("ok", lua.create_string(self.line())?)?;
                Value::Table(t)
            }
            b'-' => {
                let t = lua.create_table()?;
                t.raw_set("err", lua.create_string(self.line())?)?;
                Value::Table(t)
            }
            b'*' | b'>' => {
                let n = self.num();
                if n < 0 {
                    return Ok(Value::Boolean(false));
                }
                let t = lua.create_table_with_capacity(n as usize, 0)?;
                for i in 0..n {
                    let v = self.value(lua)?;
                    t.raw_set(i + 1, v)?;
                }
                Value::Table(t)
            }
            b'%' => {
                let n = self.num();
                let m = lua.create_table()?;
                for _ in 0..n {
                    let k = self.value(lua)?;
                    let v = self.value(lua)?;
                    m.raw_set(k, v)?;
                }
                let t = lua.create_table()?;
                t.raw_set("map", m)?;
                Value::Table(t)
            }
            b'~' => {
                let n = self.num();
                let s = lua.create_table()?;
                for _ in 0..n {
                    let k = self.value(lua)?;
                    s.raw_set(k, true)?;
                }
                let t = lua.create_table()?;
                t.raw_set("set", s)?;
                Value::Table(t)
            }
            b'_' => {
                self.line();
                Value::Nil
            }
            b'#' => Value::Boolean(self.line() == b"t"),
            b',' => {
                let l = self.line();
                let d = match l {
                    b"inf" => f64::INFINITY,
                    b"-inf" => f64::NEG_INFINITY,
                    _ => std::str::from_utf8(l).ok().and_then(|s| s.parse().ok()).unwrap_or(f64::NAN),
                };
                let t = lua.create_table()?;
                t.raw_set("double", d)?;
                Value::Table(t)
            }
            b'(' => {
                let t = lua.create_table()?;
                t.raw_set("big_number", lua.create_string(self.line())?)?;
                Value::Table(t)
            }
            b'=' => {
                let body = self.bulk().unwrap_or_default().to_vec();
                let (fmt, s) = if body.len() >= 4 { (&body[..3], &body[4..]) } else { (&b"txt"[..], &body[..]) };
                let inner = lua.create_table()?;
                inner.raw_set("string", lua.create_string(s)?)?;
                inner.raw_set("format", lua.create_string(fmt)?)?;
                let t = lua.create_table()?;
                t.raw_set("verbatim_string", inner)?;
                Value::Table(t)
            }
            b'|' => {
                // An attribute: skip it, keep the value it decorates.
                let n = self.num();
                for _ in 0..n * 2 {
                    self.value(lua)?;
                }
                return self.value(lua);
            }
            _ => Value::Nil,
        })
    }
}

/// C's `(long long)` conversion on x86-64: out of range and NaN give the
/// "integer indefinite" value, i64::MIN.
pub fn c_long_long(n: f64) -> i64 {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if !(-LIMIT..LIMIT).contains(&n) {
        i64::MIN
    } else {
        n as i64
    }
}

fn field(t: &Table, k: &str) -> Value {
    t.raw_get::<Value>(k).unwrap_or(Value::Nil)
}

/// Writes a Lua value as a reply (see the module header). `resp3` is the
/// script's protocol (redis.setresp), which only decides booleans.
pub fn lua_to_reply(out: &mut Out, v: &Value, resp3: bool, depth: usize) {
    match v {
        Value::String(s) => out.bulk(&s.as_bytes()[..]),
        Value::Boolean(b) => {
            if resp3 {
                out.bool(*b)
            } else if *b {
                out.int(1)
            } else {
                out.null()
            }
        }
        Value::Number(n) => out.int(c_long_long(*n)),
        Value::Integer(n) => out.int(*n),
        Value::Table(t) => {
            if depth >= MAX_DEPTH {
                out.error("ERR reached lua stack limit");
                return;
            }
            table_to_reply(out, t, resp3, depth)
        }
        _ => out.null(),
    }
}

fn table_to_reply(out: &mut Out, t: &Table, resp3: bool, depth: usize) {
    if let Value::String(e) = field(t, "err") {
        let msg = e.to_string_lossy();
        out.error(msg.as_bytes());
        return;
    }
    if let Value::String(s) = field(t, "ok") {
        out.simple(&s.as_bytes()[..]);
        return;
    }
    if let Value::Number(d) = field(t, "double") {
        out.double(d);
        return;
    }
    if let Value::String(s) = field(t, "big_number") {
        let digits: String = s.to_string_lossy().replace(['\r', '\n'], " ");
        out.bignum(&digits);
        return;
    }
    if let Value::Table(vt) = field(t, "verbatim_string") {
        if let (Value::String(fmt), Value::String(s)) = (field(&vt, "format"), field(&vt, "string")) {
            let fmt = fmt.to_string_lossy();
            out.verbatim(&fmt[..fmt.len().min(3)], &s.as_bytes()[..]);
            return;
        }
    }
    if let Value::Table(m) = field(t, "map") {
        let at = out.begin_deferred();
        let mut n = 0;
        for (k, v) in m.pairs::<Value, Value>().flatten() {
            lua_to_reply(out, &k, resp3, depth + 1);
            lua_to_reply(out, &v, resp3, depth + 1);
            n += 1;
        }
        out.end_deferred(at, Agg::Map, n);
        return;
    }
    if let Value::Table(s) = field(t, "set") {
        let at = out.begin_deferred();
        let mut n = 0;
        for (k, _) in s.pairs::<Value, Value>().flatten() {
            lua_to_reply(out, &k, resp3, depth + 1);
            n += 1;
        }
        out.end_deferred(at, Agg::Set, n);
        return;
    }
    let at = out.begin_deferred();
    let mut n = 0;
    loop {
        let v: Value = t.raw_get(n + 1).unwrap_or(Value::Nil);
        if v.is_nil() {
            break;
        }
        lua_to_reply(out, &v, resp3, depth + 1);
        n += 1;
    }
    out.end_deferred(at, Agg::Array, n);
}

#[cfg(test)]
mod tests {
    use super::*;
    use resp::Protocol;

    fn round_trip(reply: &[u8], resp3: bool) -> Vec<u8> {
        let lua = Lua::new();
        let v = reply_to_lua(&lua, reply).unwrap();
        let mut out = Out::new(if resp3 { Protocol::Resp3 } else { Protocol::Resp2 });
        lua_to_reply(&mut out, &v, resp3, 0);
        out.buf
    }

    #[test]
    fn conversions() {
        assert_eq!(round_trip(b":42\r\n", false), b":42\r\n");
        assert_eq!(round_trip(b"$3\r\nabc\r\n", false), b"$3\r\nabc\r\n");
        assert_eq!(round_trip(b"$-1\r\n", false), b"$-1\r\n");
        assert_eq!(round_trip(b"+OK\r\n", false), b"+OK\r\n");
        assert_eq!(round_trip(b"-ERR x\r\n", false), b"-ERR x\r\n");
        assert_eq!(round_trip(b"*2\r\n:1\r\n$1\r\na\r\n", false), b"*2\r\n:1\r\n$1\r\na\r\n");
        // An array stops at the first nil (a null inside becomes false).
        assert_eq!(round_trip(b"*2\r\n$-1\r\n:1\r\n", false), b"*2\r\n$-1\r\n:1\r\n");
        assert_eq!(round_trip(b",1.5\r\n", true), b",1.5\r\n");
        assert_eq!(round_trip(b"#t\r\n", true), b"#t\r\n");
        assert_eq!(round_trip(b"%1\r\n+a\r\n:1\r\n", true), b"%1\r\n+a\r\n:1\r\n");
        assert_eq!(round_trip(b"~1\r\n$1\r\nx\r\n", true), b"~1\r\n$1\r\nx\r\n");
        assert_eq!(round_trip(b"(123\r\n", true), b"(123\r\n");
        assert_eq!(round_trip(b"=7\r\ntxt:abc\r\n", true), b"=7\r\ntxt:abc\r\n");
        assert_eq!(c_long_long(f64::INFINITY), i64::MIN);
        assert_eq!(c_long_long(-2.9), -2);
    }
}
