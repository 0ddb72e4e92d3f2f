//! The `cjson` library as Redis bundles it (lua-cjson 2.1.0 behavior):
//! encode/decode with its number format (`%.14g` by default), escaping
//! (including `\/`), array detection with the sparse-array rule, nesting
//! limits, `cjson.null`, its error texts, and the configuration functions.

use super::fmt_g;
use mlua::{LightUserData, Lua, MultiValue, Table, Value};
use parking_lot::Mutex;
use std::sync::Arc;

#[derive(Clone, Copy)]
struct Config {
    sparse_convert: bool,
    sparse_ratio: i64,
    sparse_safe: i64,
    encode_max_depth: usize,
    decode_max_depth: usize,
    precision: usize,
    encode_invalid_numbers: Invalid,
    decode_invalid_numbers: bool,
    keep_buffer: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Invalid {
    No,
    Yes,
    Null,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            sparse_convert: false,
            sparse_ratio: 2,
            sparse_safe: 10,
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            precision: 14,
            encode_invalid_numbers: Invalid::No,
            decode_invalid_numbers: true,
            keep_buffer: true,
        }
    }
}

type Shared = Arc<Mutex<Config>>;

/// The deepest nesting encode/decode will recurse into.
const MAX_DEPTH_CAP: usize = 1000;

fn null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

fn err(msg: impl Into<String>) -> mlua::Error {
    mlua::Error::runtime(msg.into())
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Boolean(_) => "boolean",
        Value::LightUserData(_) | Value::UserData(_) => "userdata",
        Value::Integer(_) | Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Table(_) => "table",
        Value::Function(_) => "function",
        Value::Thread(_) => "thread",
        _ => "userdata",
    }
}

fn escape_into(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            8 => out.extend_from_slice(b"\\b"),
            12 => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            c if c < 0x20 || c == 0x7f => out.extend_from_slice(format!("\\u{:04x}", c).as_bytes()),
            c => out.push(c),
        }
    }
    out.push(b'"');
}

fn number_into(out: &mut Vec<u8>, cfg: &Config, n: f64) -> mlua::Result<()> {
    if n.is_nan() || n.is_infinite() {
        match cfg.encode_invalid_numbers {
            Invalid::No => return Err(err("Cannot serialise number: must not be NaN or Inf")),
            Invalid::Null => {
                out.extend_from_slice(b"null");
                return Ok(());
            }
            Invalid::Yes => {}
        }
    }
    out.extend_from_slice(fmt_g(n, cfg.precision).as_bytes());
    Ok(())
}

/// The array length of `t` by lua-cjson's rule: `Some(max)` when every key
/// is a positive integer (and the array is not too sparse), `None` for an
/// object.
fn array_length(t: &Table, cfg: &Config) -> mlua::Result<Option<usize>> {
    let (mut max, mut items) = (0f64, 0i64);
    for pair in t.clone().pairs::<Value, Value>() {
        let (k, _) = pair?;
        let n = match k {
            Value::Number(n) => n,
            Value::Integer(n) => n as f64,
            _ => return Ok(None),
        };
        if n < 1.0 || n.floor() != n {
            return Ok(None);
        }
        if n > max {
            max = n;
        }
        items += 1;
    }
    if cfg.sparse_ratio > 0 && max > (items * cfg.sparse_ratio) as f64 && max > cfg.sparse_safe as f64 {
        if !cfg.sparse_convert {
            return Err(err("Cannot serialise table: excessively sparse array"));
        }
        return Ok(None);
    }
    Ok(if max == 0.0 { None } else { Some(max as usize) })
}

fn encode_value(out: &mut Vec<u8>, cfg: &Config, v: &Value, depth: usize) -> mlua::Result<()> {
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(n) => number_into(out, cfg, *n as f64)?,
        Value::Number(n) => number_into(out, cfg, *n)?,
        Value::String(s) => escape_into(out, &s.as_bytes()),
        Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
        Value::Table(t) => {
            let depth = depth + 1;
            if depth > cfg.encode_max_depth {
                return Err(err(format!("Cannot serialise, excessive nesting ({depth})")));
            }
            match array_length(t, cfg)? {
                Some(len) => {
                    out.push(b'[');
                    for i in 1..=len {
                        if i > 1 {
                            out.push(b',');
                        }
                        let e: Value = t.raw_get(i)?;
                        encode_value(out, cfg, &e, depth)?;
                    }
                    out.push(b']');
                }
                None => {
                    out.push(b'{');
                    let mut first = true;
                    for pair in t.clone().pairs::<Value, Value>() {
                        let (k, val) = pair?;
                        if !first {
                            out.push(b',');
                        }
                        first = false;
                        match &k {
                            Value::String(s) => escape_into(out, &s.as_bytes()),
                            Value::Number(n) => {
                                out.push(b'"');
                                number_into(out, cfg, *n)?;
                                out.push(b'"');
                            }
                            Value::Integer(n) => {
                                out.push(b'"');
                                number_into(out, cfg, *n as f64)?;
                                out.push(b'"');
                            }
                            other => {
                                return Err(err(format!(
                                    "Cannot serialise {}: table key must be a number or string",
                                    type_name(other)
                                )))
                            }
                        }
                        out.push(b':');
                        encode_value(out, cfg, &val, depth)?;
                    }
                    out.push(b'}');
                }
            }
        }
        other => return Err(err(format!("Cannot serialise {}: type not supported", type_name(other)))),
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str,
    Num,
    Bool,
    Null,
    Colon,
    Comma,
    End,
    Error(&'static str),
}

impl Tok {
    fn name(self) -> &'static str {
        match self {
            Tok::ObjBegin => "T_OBJ_BEGIN",
            Tok::ObjEnd => "T_OBJ_END",
            Tok::ArrBegin => "T_ARR_BEGIN",
            Tok::ArrEnd => "T_ARR_END",
            Tok::Str => "T_STRING",
            Tok::Num => "T_NUMBER",
            Tok::Bool => "T_BOOLEAN",
            Tok::Null => "T_NULL",
            Tok::Colon => "T_COLON",
            Tok::Comma => "T_COMMA",
            Tok::End => "T_END",
            Tok::Error(e) => e,
        }
    }
}

struct Decoder<'a> {
    s: &'a [u8],
    pos: usize,
    cfg: Config,
    depth: usize,
    // The payload of the last string/number/boolean token.
    text: Vec<u8>,
    num: f64,
    boolean: bool,
    /// Where a string token's error was found.
    err_at: usize,
}

/// C's strtod on the longest valid prefix: the value and the bytes used.
fn strtod(b: &[u8]) -> Option<(f64, usize)> {
    let mut i = 0;
    let neg = match b.first() {
        Some(b'-') => {
            i = 1;
            true
        }
        Some(b'+') => {
            i = 1;
            false
        }
        _ => false,
    };
    let sign = if neg { -1.0 } else { 1.0 };
    let rest = &b[i..];
    let lower: Vec<u8> = rest.iter().take(8).map(|c| c.to_ascii_lowercase()).collect();
    if lower.starts_with(b"infinity") {
        return Some((sign * f64::INFINITY, i + 8));
    }
    if lower.starts_with(b"inf") {
        return Some((sign * f64::INFINITY, i + 3));
    }
    if lower.starts_with(b"nan") {
        return Some((f64::NAN, i + 3));
    }
    if lower.starts_with(b"0x") {
        let digits = rest[2..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
        if digits == 0 {
            return Some((0.0, i + 1));
        }
        let v = rest[2..2 + digits].iter().fold(0f64, |a, &c| a * 16.0 + (c as char).to_digit(16).unwrap_or(0) as f64);
        return Some((sign * v, i + 2 + digits));
    }
    let mut j = i;
    let int_digits = b[j..].iter().take_while(|c| c.is_ascii_digit()).count();
    j += int_digits;
    let mut frac_digits = 0;
    if b.get(j) == Some(&b'.') {
        frac_digits = b[j + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if int_digits + frac_digits > 0 {
            j += 1 + frac_digits;
        }
    }
    if int_digits + frac_digits == 0 {
        return None;
    }
    if matches!(b.get(j), Some(b'e' | b'E')) {
        let mut k = j + 1;
        if matches!(b.get(k), Some(b'+' | b'-')) {
            k += 1;
        }
        let exp_digits = b[k.min(b.len())..].iter().take_while(|c| c.is_ascii_digit()).count();
        if exp_digits > 0 {
            j = k + exp_digits;
        }
    }
    let text = std::str::from_utf8(&b[..j]).ok()?;
    let text = text.strip_prefix('+').unwrap_or(text);
    let text = text.strip_suffix('.').unwrap_or(text);
    text.parse::<f64>().ok().map(|v| (v, j))
}

fn hex4(b: &[u8]) -> Option<u32> {
    let s = std::str::from_utf8(b.get(..4)?).ok()?;
    u32::from_str_radix(s, 16).ok().filter(|_| s.bytes().all(|c| c.is_ascii_hexdigit()))
}

impl Decoder<'_> {
    /// The next token and the position it starts at.
    fn next(&mut self) -> (Tok, usize) {
        while self.pos < self.s.len() && matches!(self.s[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
        let start = self.pos;
        let Some(&c) = self.s.get(self.pos) else { return (Tok::End, start) };
        let t = match c {
            b'{' => {
                self.pos += 1;
                Tok::ObjBegin
            }
            b'}' => {
                self.pos += 1;
                Tok::ObjEnd
            }
            b'[' => {
                self.pos += 1;
                Tok::ArrBegin
            }
            b']' => {
                self.pos += 1;
                Tok::ArrEnd
            }
            b':' => {
                self.pos += 1;
                Tok::Colon
            }
            b',' => {
                self.pos += 1;
                Tok::Comma
            }
            b'"' => {
                let t = self.string();
                if let Tok::Error(_) = t {
                    return (t, self.err_at);
                }
                t
            }
            b'-' | b'0'..=b'9' => self.number(),
            _ if self.cfg.decode_invalid_numbers && self.looks_invalid_number() => self.number(),
            _ => {
                for (word, tok, val) in
                    [("true", Tok::Bool, true), ("false", Tok::Bool, false), ("null", Tok::Null, false)]
                {
                    if self.s[self.pos..].starts_with(word.as_bytes()) {
                        self.pos += word.len();
                        self.boolean = val;
                        return (tok, start);
                    }
                }
                Tok::Error("invalid token")
            }
        };
        (t, start)
    }

    /// lua-cjson's json_is_invalid_number: numbers JSON does not allow but
    /// strtod reads (`+1`, `0x10`, `inf`, `nan`).
    fn looks_invalid_number(&self) -> bool {
        let mut r = &self.s[self.pos..];
        if r.first() == Some(&b'+') {
            r = &r[1..];
        }
        let lower: Vec<u8> = r.iter().take(3).map(|c| c.to_ascii_lowercase()).collect();
        lower.starts_with(b"0x")
            || lower == b"inf"
            || lower == b"nan"
            || lower.first().is_some_and(|c| c.is_ascii_digit())
    }

    fn number(&mut self) -> Tok {
        match strtod(&self.s[self.pos..]) {
            Some((n, used)) => {
                self.num = n;
                self.pos += used;
                Tok::Num
            }
            None => Tok::Error("invalid number"),
        }
    }

    fn string(&mut self) -> Tok {
        let mut i = self.pos + 1;
        let mut out = Vec::new();
        loop {
            self.err_at = i;
            let Some(&c) = self.s.get(i) else { return Tok::Error("unexpected end of string") };
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.s.get(i + 1) else {
                        self.err_at = i + 1;
                        return Tok::Error("unexpected end of string");
                    };
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let Some(mut cp) = hex4(&self.s[i + 2..]) else {
                                return Tok::Error("invalid unicode escape code");
                            };
                            let mut used = 6;
                            if (0xD800..0xDC00).contains(&cp) {
                                let lo = if self.s.get(i + 6) == Some(&b'\\') && self.s.get(i + 7) == Some(&b'u') {
                                    hex4(&self.s[i + 8..])
                                } else {
                                    None
                                };
                                match lo {
                                    Some(lo) if (0xDC00..0xE000).contains(&lo) => {
                                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                                        used = 12;
                                    }
                                    _ => return Tok::Error("invalid unicode escape code"),
                                }
                            } else if (0xDC00..0xE000).contains(&cp) {
                                return Tok::Error("invalid unicode escape code");
                            }
                            let ch = char::from_u32(cp).unwrap_or('\u{FFFD}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                            i += used;
                            continue;
                        }
                        _ => return Tok::Error("invalid escape code"),
                    }
                    i += 2;
                    continue;
                }
                c => out.push(c),
            }
            i += 1;
        }
        self.pos = i + 1;
        self.text = out;
        Tok::Str
    }

    fn expected(&self, what: &str, t: Tok, at: usize) -> mlua::Error {
        err(format!("Expected {what} but found {} at character {}", t.name(), at + 1))
    }

    fn value(&mut self, lua: &Lua, t: Tok, at: usize) -> mlua::Result<Value> {
        Ok(match t {
            Tok::Str => Value::String(lua.create_string(&self.text)?),
            Tok::Num => Value::Number(self.num),
            Tok::Bool => Value::Boolean(self.boolean),
            Tok::Null => null(),
            Tok::ObjBegin => self.object(lua, at)?,
            Tok::ArrBegin => self.array(lua, at)?,
            t => return Err(self.expected("value", t, at)),
        })
    }

    fn descend(&mut self, at: usize) -> mlua::Result<()> {
        self.depth += 1;
        if self.depth > self.cfg.decode_max_depth {
            return Err(err(format!("Found too many nested data structures ({}) at character {}", self.depth, at + 1)));
        }
        Ok(())
    }

    fn object(&mut self, lua: &Lua, at: usize) -> mlua::Result<Value> {
        self.descend(at)?;
        let t = lua.create_table()?;
        let (mut tok, mut pos) = self.next();
        if tok == Tok::ObjEnd {
            self.depth -= 1;
            return Ok(Value::Table(t));
        }
        loop {
            if tok != Tok::Str {
                return Err(self.expected("object key string", tok, pos));
            }
            let key = lua.create_string(&self.text)?;
            let (c, cp) = self.next();
            if c != Tok::Colon {
                return Err(self.expected("colon", c, cp));
            }
            let (vt, vp) = self.next();
            let v = self.value(lua, vt, vp)?;
            t.raw_set(key, v)?;
            let (n, np) = self.next();
            match n {
                Tok::ObjEnd => break,
                Tok::Comma => {}
                other => return Err(self.expected("comma or object end", other, np)),
            }
            (tok, pos) = self.next();
        }
        self.depth -= 1;
        Ok(Value::Table(t))
    }

    fn array(&mut self, lua: &Lua, at: usize) -> mlua::Result<Value> {
        self.descend(at)?;
        let t = lua.create_table()?;
        let (mut tok, mut pos) = self.next();
        if tok == Tok::ArrEnd {
            self.depth -= 1;
            return Ok(Value::Table(t));
        }
        let mut i = 1;
        loop {
            let v = self.value(lua, tok, pos)?;
            t.raw_set(i, v)?;
            i += 1;
            let (n, np) = self.next();
            match n {
                Tok::ArrEnd => break,
                Tok::Comma => {}
                other => return Err(self.expected("comma or array end", other, np)),
            }
            (tok, pos) = self.next();
        }
        self.depth -= 1;
        Ok(Value::Table(t))
    }
}

fn one_arg(args: MultiValue, name: &str) -> mlua::Result<Value> {
    if args.len() != 1 {
        return Err(err(format!("bad argument #1 to '{name}' (expected 1 argument)")));
    }
    Ok(args.into_iter().next().unwrap_or(Value::Nil))
}

fn bool_arg(v: &Value) -> Option<bool> {
    match v {
        Value::Boolean(b) => Some(*b),
        Value::String(s) => match s.to_str().ok()?.as_ref() {
            "on" => Some(true),
            "off" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn int_arg(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => Some(*n as i64),
        Value::Integer(n) => Some(*n),
        Value::String(s) => s.to_str().ok()?.trim().parse::<f64>().ok().map(|n| n as i64),
        _ => None,
    }
}

pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    let cfg: Shared = Arc::new(Mutex::new(Config::default()));
    let c = cfg.clone();
    t.raw_set(
        "encode",
        super::libfn::lib_fn(lua, move |lua, args: MultiValue| {
            let v = one_arg(args, "encode")?;
            let cfg = *c.lock();
            let mut out = Vec::new();
            encode_value(&mut out, &cfg, &v, 0)?;
            lua.create_string(out)
        })?,
    )?;
    let c = cfg.clone();
    t.raw_set(
        "decode",
        super::libfn::lib_fn(lua, move |lua, args: MultiValue| {
            let v = one_arg(args, "decode")?;
            let s = match &v {
                Value::String(s) => s.as_bytes().to_vec(),
                Value::Number(n) => super::lua_number_string(*n).into_bytes(),
                Value::Integer(n) => n.to_string().into_bytes(),
                other => {
                    return Err(err(format!("bad argument #1 to 'decode' (string expected, got {})", type_name(other))))
                }
            };
            // A NUL among the first two bytes means UTF-16 or UTF-32 text
            // (only the first character is sure to be ASCII).
            if s.len() >= 2 && (s[0] == 0 || s[1] == 0) {
                return Err(err("JSON parser does not support UTF-16 or UTF-32"));
            }
            // The C lexer stops at a NUL as at the end of the text.
            let s = &s[..s.iter().position(|&c| c == 0).unwrap_or(s.len())];
            let mut d =
                Decoder { s, pos: 0, cfg: *c.lock(), depth: 0, text: Vec::new(), num: 0.0, boolean: false, err_at: 0 };
            let (tok, at) = d.next();
            let v = d.value(lua, tok, at)?;
            let (end, ep) = d.next();
            if end != Tok::End {
                return Err(d.expected("the end", end, ep));
            }
            Ok(v)
        })?,
    )?;
    t.raw_set("null", null())?;
    t.raw_set("_NAME", "cjson")?;
    t.raw_set("_VERSION", "2.1.0")?;
    // Configuration functions: with no argument they return the setting.
    let c = cfg.clone();
    t.raw_set(
        "encode_sparse_array",
        super::libfn::lib_fn(lua, move |_, args: MultiValue| {
            let mut g = c.lock();
            if let Some(v) = args.front() {
                g.sparse_convert =
                    bool_arg(v).ok_or_else(|| err("bad argument #1 to 'encode_sparse_array' (invalid option)"))?;
            }
            if let Some(v) = args.get(1) {
                g.sparse_ratio = int_arg(v).filter(|n| *n >= 0).ok_or_else(|| {
                    err("bad argument #2 to 'encode_sparse_array' (expected integer between 0 and 2147483647)")
                })?;
            }
            if let Some(v) = args.get(2) {
                g.sparse_safe = int_arg(v).filter(|n| *n >= 0).ok_or_else(|| {
                    err("bad argument #3 to 'encode_sparse_array' (expected integer between 0 and 2147483647)")
                })?;
            }
            Ok((g.sparse_convert, g.sparse_ratio, g.sparse_safe))
        })?,
    )?;
    for (name, which) in [("encode_max_depth", 0), ("decode_max_depth", 1), ("encode_number_precision", 2)] {
        let c = cfg.clone();
        t.raw_set(
            name,
            super::libfn::lib_fn(lua, move |_, args: MultiValue| {
                let mut g = c.lock();
                let (lo, hi) = if which == 2 { (1, 14) } else { (1, i32::MAX as i64) };
                // Deeper nesting than this would recurse past a thread's
                // stack; larger settings are accepted and capped.
                if let Some(v) = args.front() {
                    let n = int_arg(v).filter(|n| (lo..=hi).contains(n)).ok_or_else(|| {
                        err(format!("bad argument #1 to '{name}' (expected integer between {lo} and {hi})"))
                    })? as usize;
                    match which {
                        0 => g.encode_max_depth = n.min(MAX_DEPTH_CAP),
                        1 => g.decode_max_depth = n.min(MAX_DEPTH_CAP),
                        _ => g.precision = n,
                    }
                }
                Ok(match which {
                    0 => g.encode_max_depth,
                    1 => g.decode_max_depth,
                    _ => g.precision,
                })
            })?,
        )?;
    }
    let c = cfg.clone();
    t.raw_set(
        "encode_invalid_numbers",
        super::libfn::lib_fn(lua, move |lua, args: MultiValue| {
            let mut g = c.lock();
            if let Some(v) = args.front() {
                g.encode_invalid_numbers = match v {
                    Value::String(s) if &s.as_bytes()[..] == b"null" => Invalid::Null,
                    v => match bool_arg(v) {
                        Some(true) => Invalid::Yes,
                        Some(false) => Invalid::No,
                        None => return Err(err("bad argument #1 to 'encode_invalid_numbers' (invalid option)")),
                    },
                };
            }
            Ok(match g.encode_invalid_numbers {
                Invalid::Yes => Value::Boolean(true),
                Invalid::No => Value::Boolean(false),
                Invalid::Null => Value::String(lua.create_string("null")?),
            })
        })?,
    )?;
    for (name, which) in [("decode_invalid_numbers", 0), ("encode_keep_buffer", 1)] {
        let c = cfg.clone();
        t.raw_set(
            name,
            super::libfn::lib_fn(lua, move |_, args: MultiValue| {
                let mut g = c.lock();
                if let Some(v) = args.front() {
                    let b = bool_arg(v).ok_or_else(|| err(format!("bad argument #1 to '{name}' (invalid option)")))?;
                    if which == 0 {
                        g.decode_invalid_numbers = b;
                    } else {
                        g.keep_buffer = b;
                    }
                }
                Ok(if which == 0 { g.decode_invalid_numbers } else { g.keep_buffer })
            })?,
        )?;
    }
    Ok(t)
}
