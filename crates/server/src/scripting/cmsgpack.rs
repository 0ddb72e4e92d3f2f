//! The `cmsgpack` library as Redis bundles it (lua-cmsgpack 0.4): pack any
//! number of values, unpack all of them (or some, from an offset). Integral
//! numbers become the smallest integer type, others a float when exact, else
//! a double; a table whose keys are exactly 1..n is an array, any other
//! table a map; tables nested deeper than 16 become nil.

use super::libfn::lib_fn;
use mlua::{ffi, Lua, MultiValue, Table};
use std::os::raw::c_int;

const MAX_NESTING: usize = 16;

fn err(m: &str) -> mlua::Error {
    mlua::Error::runtime(m.to_string())
}

fn encode_int(out: &mut Vec<u8>, n: i64) {
    if n >= 0 {
        if n <= 127 {
            out.push(n as u8);
        } else if n <= 0xff {
            out.extend_from_slice(&[0xcc, n as u8]);
        } else if n <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2147483648 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_number(out: &mut Vec<u8>, n: f64) {
    // lua_cmsgpack's test: not infinite and unchanged by an (int64_t) cast
    // (which gives i64::MIN for 2^63, so 2^63 is a float).
    let i = types::num::c_cast_i64(n);
    if !n.is_infinite() && i as f64 == n {
        encode_int(out, i);
    } else if (n as f32) as f64 == n {
        out.push(0xca);
        out.extend_from_slice(&(n as f32).to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_len(out: &mut Vec<u8>, len: usize, fix: u8, fix_max: usize, b16: u8, b32: u8) {
    if len < fix_max {
        out.push(fix | len as u8);
    } else if len <= 0xffff {
        out.push(b16);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(b32);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

fn encode_str(out: &mut Vec<u8>, s: &[u8]) {
    let len = s.len();
    if len < 32 {
        out.push(0xa0 | len as u8);
    } else if len <= 0xff {
        out.extend_from_slice(&[0xd9, len as u8]);
    } else if len <= 0xffff {
        out.push(0xda);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
    out.extend_from_slice(s);
}

/// Some(n) when the keys of the table at `idx` are exactly 1..n.
///
/// # Safety
/// `idx` is an absolute index of a table, with 2 free stack slots.
unsafe fn array_len(l: *mut ffi::lua_State, idx: c_int) -> Option<usize> {
    let (mut count, mut max) = (0usize, 0usize);
    ffi::lua_pushnil(l);
    while ffi::lua_next(l, idx) != 0 {
        ffi::lua_pop(l, 1);
        let n = ffi::lua_tonumber(l, -1);
        if ffi::lua_type(l, -1) != ffi::LUA_TNUMBER || n <= 0.0 || n.floor() != n || n > u32::MAX as f64 {
            ffi::lua_pop(l, 1);
            return None;
        }
        max = max.max(n as usize);
        count += 1;
    }
    (max == count).then_some(max)
}

/// Encodes the value at absolute index `idx`. Written against the C API,
/// as the original library is: values held from Rust would each take a
/// slot of a Lua stack, and a map of 100000 strings would run out of them.
///
/// # Safety
/// `idx` is a valid absolute index of `l`.
unsafe fn encode(l: *mut ffi::lua_State, idx: c_int, out: &mut Vec<u8>, level: usize) {
    match ffi::lua_type(l, idx) {
        ffi::LUA_TBOOLEAN => out.push(if ffi::lua_toboolean(l, idx) != 0 { 0xc3 } else { 0xc2 }),
        ffi::LUA_TNUMBER => encode_number(out, ffi::lua_tonumber(l, idx)),
        ffi::LUA_TSTRING => {
            let mut len = 0;
            let p = ffi::lua_tolstring(l, idx, &mut len);
            encode_str(out, std::slice::from_raw_parts(p as *const u8, len));
        }
        // Three slots per level: a key, a value, and array_len's.
        ffi::LUA_TTABLE if level < MAX_NESTING && ffi::lua_checkstack(l, 3) != 0 => match array_len(l, idx) {
            Some(n) => {
                encode_len(out, n, 0x90, 16, 0xdc, 0xdd);
                for i in 1..=n {
                    ffi::lua_rawgeti(l, idx, i as _);
                    encode(l, ffi::lua_gettop(l), out, level + 1);
                    ffi::lua_pop(l, 1);
                }
            }
            None => {
                let mut n = 0usize;
                ffi::lua_pushnil(l);
                while ffi::lua_next(l, idx) != 0 {
                    ffi::lua_pop(l, 1);
                    n += 1;
                }
                encode_len(out, n, 0x80, 16, 0xde, 0xdf);
                ffi::lua_pushnil(l);
                while ffi::lua_next(l, idx) != 0 {
                    let top = ffi::lua_gettop(l);
                    // Only strings are read with lua_tolstring, so the key
                    // lua_next needs is left as it is.
                    encode(l, top - 1, out, level + 1);
                    encode(l, top, out, level + 1);
                    ffi::lua_pop(l, 1);
                }
            }
        },
        _ => out.push(0xc0),
    }
}

enum DecodeError {
    Eof,
    BadFormat,
    /// A table nested where Lua's C stack has no slot left.
    Stack,
}

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(DecodeError::Eof)?;
        let s = self.b.get(self.pos..end).ok_or(DecodeError::Eof)?;
        self.pos = end;
        Ok(s)
    }

    fn uint(&mut self, n: usize) -> Result<u64, DecodeError> {
        Ok(self.take(n)?.iter().fold(0u64, |a, &b| (a << 8) | b as u64))
    }

    /// Decodes one value and pushes it (exactly one slot on success).
    ///
    /// # Safety
    /// `l` has a free slot; the caller made room for the allocations (see
    /// `call::with_room`), so no Lua error can be raised through here.
    unsafe fn decode(&mut self, l: *mut ffi::lua_State, depth: usize) -> Result<(), DecodeError> {
        if depth > 1000 {
            return Err(DecodeError::BadFormat);
        }
        let c = self.take(1)?[0];
        let num = |n: f64| {
            ffi::lua_pushnumber(l, n);
            Ok(())
        };
        match c {
            0x00..=0x7f => num(c as f64),
            0xe0..=0xff => num(c as i8 as f64),
            0xcc => num(self.uint(1)? as f64),
            0xcd => num(self.uint(2)? as f64),
            0xce => num(self.uint(4)? as f64),
            0xcf => num(self.uint(8)? as f64),
            0xd0 => num(self.uint(1)? as u8 as i8 as f64),
            0xd1 => num(self.uint(2)? as u16 as i16 as f64),
            0xd2 => num(self.uint(4)? as u32 as i32 as f64),
            0xd3 => num(self.uint(8)? as i64 as f64),
            0xca => num(f32::from_bits(self.uint(4)? as u32) as f64),
            0xcb => num(f64::from_bits(self.uint(8)?)),
            0xc0 => {
                ffi::lua_pushnil(l);
                Ok(())
            }
            0xc2 | 0xc3 => {
                ffi::lua_pushboolean(l, (c == 0xc3) as c_int);
                Ok(())
            }
            0xa0..=0xbf | 0xd9 | 0xda | 0xdb | 0xc4 | 0xc5 | 0xc6 => {
                let len = match c {
                    0xa0..=0xbf => (c & 0x1f) as usize,
                    0xd9 | 0xc4 => self.uint(1)? as usize,
                    0xda | 0xc5 => self.uint(2)? as usize,
                    _ => self.uint(4)? as usize,
                };
                let s = self.take(len)?;
                ffi::lua_pushlstring(l, s.as_ptr() as *const std::ffi::c_char, s.len());
                Ok(())
            }
            0x90..=0x9f | 0xdc | 0xdd => {
                let len = match c {
                    0x90..=0x9f => (c & 0x0f) as usize,
                    0xdc => self.uint(2)? as usize,
                    _ => self.uint(4)? as usize,
                };
                // Every element takes at least one byte.
                if len > self.b.len() - self.pos {
                    return Err(DecodeError::Eof);
                }
                // The table and an element.
                if ffi::lua_checkstack(l, 2) == 0 {
                    return Err(DecodeError::Stack);
                }
                ffi::lua_createtable(l, 0, 0);
                for i in 1..=len {
                    self.decode(l, depth + 1)?;
                    ffi::lua_rawseti(l, -2, i as _);
                }
                Ok(())
            }
            0x80..=0x8f | 0xde | 0xdf => {
                let len = match c {
                    0x80..=0x8f => (c & 0x0f) as usize,
                    0xde => self.uint(2)? as usize,
                    _ => self.uint(4)? as usize,
                };
                if len > self.b.len() - self.pos {
                    return Err(DecodeError::Eof);
                }
                // The table, a key and a value.
                if ffi::lua_checkstack(l, 3) == 0 {
                    return Err(DecodeError::Stack);
                }
                ffi::lua_createtable(l, 0, 0);
                for _ in 0..len {
                    self.decode(l, depth + 1)?;
                    self.decode(l, depth + 1)?;
                    let t = ffi::lua_type(l, -2);
                    if t == ffi::LUA_TNIL || (t == ffi::LUA_TNUMBER && ffi::lua_tonumber(l, -2).is_nan()) {
                        ffi::lua_pop(l, 2);
                    } else {
                        ffi::lua_rawset(l, -3);
                    }
                }
                Ok(())
            }
            _ => Err(DecodeError::BadFormat),
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Unpack {
    All,
    One,
    Limit,
}

/// Argument `i` as an optional integer (0 when absent), as luaL_optnumber
/// reads it.
///
/// # Safety
/// `l` is the state of a running C function.
unsafe fn opt_int(l: *mut ffi::lua_State, i: c_int, fname: &str) -> Result<i64, String> {
    match ffi::lua_type(l, i) {
        ffi::LUA_TNONE | ffi::LUA_TNIL => Ok(0),
        _ if ffi::lua_isnumber(l, i) != 0 => Ok(ffi::lua_tonumber(l, i) as i64),
        _ => {
            let got = std::ffi::CStr::from_ptr(ffi::luaL_typename(l, i)).to_string_lossy();
            Err(format!("bad argument #{i} to '{fname}' (number expected, got {got})"))
        }
    }
}

/// unpack / unpack_one / unpack_limit: decodes up to `limit` values (0 =
/// all) from `offset`, pushed straight onto the C function's stack as the
/// original library does (values held from Rust would each take a slot of
/// another Lua stack, and those run out near 8000 too). unpack_one and
/// unpack_limit return the next offset (-1 at the end) first. Returns the
/// number of results, or the message to raise.
///
/// # Safety
/// `l` is the state of a running C function.
unsafe fn unpack_raw(l: *mut ffi::lua_State, mode: Unpack) -> Result<c_int, String> {
    let (limit, offset) = match mode {
        Unpack::All => (0, 0),
        Unpack::One => (1, opt_int(l, 2, "unpack_one")?),
        Unpack::Limit => (opt_int(l, 2, "unpack_limit")?, opt_int(l, 3, "unpack_limit")?),
    };
    let t = ffi::lua_type(l, 1);
    if t != ffi::LUA_TSTRING && t != ffi::LUA_TNUMBER {
        let got = std::ffi::CStr::from_ptr(ffi::luaL_typename(l, 1)).to_string_lossy();
        return Err(format!("bad argument #1 to 'unpack' (string expected, got {got})"));
    }
    // A number argument is turned into its string in place, as Lua's
    // luaL_checklstring does; the string stays on the stack meanwhile.
    let mut len = 0;
    let p = ffi::lua_tolstring(l, 1, &mut len);
    let data = std::slice::from_raw_parts(p as *const u8, len);
    if offset < 0 || limit < 0 {
        return Err(format!("Invalid request to unpack with offset of {offset} and limit of {len}."));
    }
    let offset = offset as usize;
    if offset > len {
        return Err(format!("Start offset {offset} greater than input length {len}."));
    }
    // Redis's library pushes each value after its arguments and fails where
    // the C stack's 8000 slots (LUAI_MAXCSTACK) run out; the arguments are
    // dropped here (all but the data) to leave room for the offset too.
    let nargs = ffi::lua_gettop(l) as usize;
    ffi::lua_settop(l, 1);
    let with_offset = mode != Unpack::All;
    let lua = mlua::Lua::get_or_init_from_ptr(l);
    super::call::with_room(l, lua, len.saturating_mul(8).saturating_add(1024), || {
        let mut cur = Cursor { b: data, pos: offset };
        let mut count = 0usize;
        while cur.pos < len && (limit == 0 || (count as i64) < limit) {
            if nargs + count + 1 > 8000 || ffi::lua_checkstack(l, 1) == 0 {
                return Err(if with_offset {
                    "stack overflow (in function mp_unpack_full)".to_string()
                } else {
                    "stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)"
                        .to_string()
                });
            }
            match cur.decode(l, 0) {
                Ok(()) => count += 1,
                Err(DecodeError::Eof) => return Err("Missing bytes in input.".into()),
                Err(DecodeError::BadFormat) => return Err("Bad data format in input.".into()),
                Err(DecodeError::Stack) => return Err("stack overflow".into()),
            }
        }
        if with_offset {
            if ffi::lua_checkstack(l, 1) == 0 {
                return Err("stack overflow (in function mp_unpack_full)".into());
            }
            ffi::lua_pushnumber(l, if cur.pos >= len { -1.0 } else { cur.pos as f64 });
            ffi::lua_insert(l, 2);
            count += 1;
        }
        Ok(count as c_int)
    })
}

/// Runs `unpack_raw`, raising its error with the caller's position.
unsafe fn unpack_c(l: *mut ffi::lua_State, mode: Unpack) -> c_int {
    match unpack_raw(l, mode) {
        Ok(n) => n,
        Err(msg) => {
            ffi::lua_settop(l, 0);
            ffi::lua_pushlstring(l, msg.as_ptr() as *const std::ffi::c_char, msg.len());
            drop(msg);
            super::libfn::rename_arg_error(l, 1);
            ffi::luaL_where(l, 1);
            ffi::lua_insert(l, 1);
            ffi::lua_concat(l, 2);
            ffi::lua_error(l)
        }
    }
}

unsafe extern "C-unwind" fn c_unpack(l: *mut ffi::lua_State) -> c_int {
    unpack_c(l, Unpack::All)
}

unsafe extern "C-unwind" fn c_unpack_one(l: *mut ffi::lua_State) -> c_int {
    unpack_c(l, Unpack::One)
}

unsafe extern "C-unwind" fn c_unpack_limit(l: *mut ffi::lua_State) -> c_int {
    unpack_c(l, Unpack::Limit)
}

pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "pack",
        lib_fn(lua, |lua, args: MultiValue| {
            if args.is_empty() {
                return Err(err("bad argument #0 to 'pack' (MessagePack pack needs input.)"));
            }
            let mut out = Vec::new();
            // SAFETY: the closure only reads the arguments on its stack.
            unsafe {
                lua.exec_raw::<()>(args, |l| {
                    for i in 1..=ffi::lua_gettop(l) {
                        encode(l, i, &mut out, 0);
                    }
                    ffi::lua_settop(l, 0);
                })?;
            }
            lua.create_string(out)
        })?,
    )?;
    // SAFETY: C functions that follow the Lua C API (see `unpack_raw`).
    t.raw_set("unpack", unsafe { lua.create_c_function(c_unpack)? })?;
    t.raw_set("unpack_one", unsafe { lua.create_c_function(c_unpack_one)? })?;
    t.raw_set("unpack_limit", unsafe { lua.create_c_function(c_unpack_limit)? })?;
    t.raw_set("_NAME", "cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    t.raw_set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    t.raw_set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    Ok(t)
}
