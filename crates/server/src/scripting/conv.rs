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

use mlua::{ffi, Lua, Table, Value};
use resp::{Agg, Out};

/// Deeper Lua tables than this are cut short with Redis's stack-limit error
/// instead of recursing further.
const MAX_DEPTH: usize = 1000;

/// Converts one complete reply to a Lua value (through `push_reply`).
pub fn reply_to_lua(lua: &Lua, reply: &[u8]) -> mlua::Result<Value> {
    // SAFETY: push_reply leaves exactly one value on the stack.
    unsafe { lua.exec_raw::<Value>((), |l| push_reply(l, reply)) }
}

/// Pushes one complete reply onto the Lua stack as one value, with the
/// C API (this is redis.call's hot path). The Lua state must have no memory
/// limit while this runs (no allocation may raise a Lua error here).
///
/// # Safety
/// `l` is a valid Lua 5.1 state.
pub unsafe fn push_reply(l: *mut ffi::lua_State, reply: &[u8]) {
    let mut p = Parser { b: reply, pos: 0 };
    p.push(l, 0);
}

unsafe fn push_bytes(l: *mut ffi::lua_State, b: &[u8]) {
    ffi::lua_pushlstring(l, b.as_ptr() as *const std::ffi::c_char, b.len());
}

/// Pushes `{ [name] = s }`.
unsafe fn push_field_table(l: *mut ffi::lua_State, name: &std::ffi::CStr, s: &[u8]) {
    ffi::lua_createtable(l, 0, 1);
    push_bytes(l, s);
    ffi::lua_setfield(l, -2, name.as_ptr());
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

    /// `value`'s C API twin: pushes exactly one value.
    unsafe fn push(&mut self, l: *mut ffi::lua_State, depth: usize) {
        // Two slots per level (the table and the value being set).
        if depth > MAX_DEPTH || ffi::lua_checkstack(l, 4) == 0 {
            ffi::lua_pushnil(l);
            return;
        }
        if self.pos >= self.b.len() {
            ffi::lua_pushnil(l);
            return;
        }
        let kind = self.b[self.pos];
        self.pos += 1;
        match kind {
            b':' => ffi::lua_pushnumber(l, self.num() as f64),
            b'$' => match self.bulk() {
                Some(s) => push_bytes(l, s),
                None => ffi::lua_pushboolean(l, 0),
            },
            b'+' => push_field_table(l, c"ok", self.line()),
            b'-' => push_field_table(l, c"err", self.line()),
            b'*' | b'>' => {
                let n = self.num();
                if n < 0 {
                    ffi::lua_pushboolean(l, 0);
                    return;
                }
                ffi::lua_createtable(l, n.min(1 << 16) as i32, 0);
                for i in 0..n {
                    self.push(l, depth + 1);
                    ffi::lua_rawseti(l, -2, i + 1);
                }
            }
            b'%' => {
                let n = self.num();
                ffi::lua_createtable(l, 0, 1);
                // Grown entry by entry, as Redis's lua_newtable is: a
                // presized table would iterate (pairs, the reply) in
                // another order.
                ffi::lua_createtable(l, 0, 0);
                for _ in 0..n {
                    self.push(l, depth + 1);
                    self.push(l, depth + 1);
                    set_unless_nil_key(l);
                }
                ffi::lua_setfield(l, -2, c"map".as_ptr());
            }
            b'~' => {
                let n = self.num();
                ffi::lua_createtable(l, 0, 1);
                // Grown entry by entry, as Redis's lua_newtable is: a
                // presized table would iterate (pairs, the reply) in
                // another order.
                ffi::lua_createtable(l, 0, 0);
                for _ in 0..n {
                    self.push(l, depth + 1);
                    ffi::lua_pushboolean(l, 1);
                    set_unless_nil_key(l);
                }
                ffi::lua_setfield(l, -2, c"set".as_ptr());
            }
            b'_' => {
                self.line();
                ffi::lua_pushnil(l);
            }
            b'#' => ffi::lua_pushboolean(l, (self.line() == b"t") as i32),
            b',' => {
                let line = self.line();
                let d = match line {
                    b"inf" => f64::INFINITY,
                    b"-inf" => f64::NEG_INFINITY,
                    _ => std::str::from_utf8(line).ok().and_then(|s| s.parse().ok()).unwrap_or(f64::NAN),
                };
                ffi::lua_createtable(l, 0, 1);
                ffi::lua_pushnumber(l, d);
                ffi::lua_setfield(l, -2, c"double".as_ptr());
            }
            b'(' => push_field_table(l, c"big_number", self.line()),
            b'=' => {
                let body = self.bulk().unwrap_or_default();
                let (fmt, s) = if body.len() >= 4 { (&body[..3], &body[4..]) } else { (&b"txt"[..], body) };
                ffi::lua_createtable(l, 0, 1);
                ffi::lua_createtable(l, 0, 2);
                push_bytes(l, s);
                ffi::lua_setfield(l, -2, c"string".as_ptr());
                push_bytes(l, fmt);
                ffi::lua_setfield(l, -2, c"format".as_ptr());
                ffi::lua_setfield(l, -2, c"verbatim_string".as_ptr());
            }
            b'|' => {
                // An attribute: skip it, keep the value it decorates.
                let n = self.num();
                for _ in 0..n.saturating_mul(2) {
                    self.push(l, depth + 1);
                    ffi::lua_settop(l, -2);
                }
                self.push(l, depth);
            }
            _ => ffi::lua_pushnil(l),
        }
    }
}

/// `t[k] = v` with the key and value on top of the table; a nil (or NaN)
/// key is dropped, as mlua's raw_set would refuse it.
unsafe fn set_unless_nil_key(l: *mut ffi::lua_State) {
    let nil_key = ffi::lua_type(l, -2) == ffi::LUA_TNIL
        || (ffi::lua_type(l, -2) == ffi::LUA_TNUMBER && ffi::lua_tonumber(l, -2).is_nan());
    if nil_key {
        ffi::lua_settop(l, -3);
    } else {
        ffi::lua_rawset(l, -3);
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

/// A Lua string as Redis passes it on through a C string: up to its first
/// NUL byte (status and error replies are cut there).
pub fn c_string(b: &[u8]) -> &[u8] {
    b.iter().position(|&c| c == 0).map_or(b, |n| &b[..n])
}

fn table_to_reply(out: &mut Out, t: &Table, resp3: bool, depth: usize) {
    if let Value::String(e) = field(t, "err") {
        out.error(c_string(&e.as_bytes()));
        return;
    }
    if let Value::String(s) = field(t, "ok") {
        out.simple(c_string(&s.as_bytes()));
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
