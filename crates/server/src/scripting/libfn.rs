//! Library functions written in Rust, exposed to Lua as C closures.
//!
//! A Rust callback's error in mlua is raised as a userdata; Redis's bundled
//! libraries raise strings prefixed with the caller's position
//! ("user_script:1: Cannot serialise ..."). `lib_fn` wraps a Rust
//! implementation (which returns `ok, values...` and never raises) in a C
//! closure that raises the message with `luaL_where(L, 1)` in front, and
//! that keeps the calling script's frame even for a tail call.

use mlua::{ffi, Function, IntoLuaMulti, Lua, MultiValue, Value};
use std::os::raw::c_int;

unsafe extern "C-unwind" fn lib_tramp(l: *mut ffi::lua_State) -> c_int {
    let n = ffi::lua_gettop(l);
    if ffi::lua_checkstack(l, 4) == 0 {
        return 0;
    }
    ffi::lua_pushvalue(l, ffi::lua_upvalueindex(1));
    ffi::lua_insert(l, 1);
    ffi::lua_call(l, n, ffi::LUA_MULTRET);
    if ffi::lua_toboolean(l, 1) == 0 {
        rename_arg_error(l, 2);
        ffi::luaL_where(l, 1);
        ffi::lua_pushvalue(l, 2);
        ffi::lua_concat(l, 2);
        ffi::lua_error(l);
    }
    ffi::lua_remove(l, 1);
    ffi::lua_gettop(l)
}

/// Lua's luaL_argerror names the function as it was called (`'size'` for
/// `struct.size(x)`, `'f'` for a local `f`, `'?'` through pcall) and does
/// not count `self` in a method call. The implementations write the
/// library name; this rewrites "bad argument #N to 'NAME' (MSG)" at stack
/// index `at` with the name the running call has.
///
/// # Safety
/// `l` is the state of the running C function, with the message at `at`.
pub unsafe fn rename_arg_error(l: *mut ffi::lua_State, at: c_int) {
    let mut len = 0;
    let p = ffi::lua_tolstring(l, at, &mut len);
    if p.is_null() {
        return;
    }
    let msg = std::slice::from_raw_parts(p as *const u8, len);
    let Some(rest) = msg.strip_prefix(b"bad argument #") else { return };
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    let Ok(mut narg) = std::str::from_utf8(&rest[..digits]).unwrap_or("").parse::<i64>() else { return };
    let Some(rest) = rest[digits..].strip_prefix(b" to '") else { return };
    let Some(close) = rest.windows(3).position(|w| w == b"' (") else { return };
    let extra = &rest[close + 2..]; // "(MSG)"
    let mut ar: ffi::lua_Debug = std::mem::zeroed();
    if ffi::lua_getstack(l, 0, &mut ar) == 0 {
        return;
    }
    ffi::lua_getinfo(l, c"n".as_ptr(), &mut ar);
    let cstr = |p: *const std::os::raw::c_char| {
        if p.is_null() {
            None
        } else {
            Some(std::ffi::CStr::from_ptr(p).to_bytes())
        }
    };
    let name = cstr(ar.name).unwrap_or(b"?");
    let mut out = Vec::with_capacity(len + 8);
    if cstr(ar.namewhat) == Some(b"method") {
        narg -= 1;
        if narg == 0 {
            out.extend_from_slice(b"calling '");
            out.extend_from_slice(name);
            out.extend_from_slice(b"' on bad self ");
            out.extend_from_slice(extra);
        }
    }
    if out.is_empty() {
        out.extend_from_slice(format!("bad argument #{narg} to '").as_bytes());
        out.extend_from_slice(name);
        out.extend_from_slice(b"' ");
        out.extend_from_slice(extra);
    }
    ffi::lua_pushlstring(l, out.as_ptr() as *const std::os::raw::c_char, out.len());
    ffi::lua_replace(l, at);
}

/// An error message that is not UTF-8 (it quotes a byte of the input).
#[derive(Debug)]
struct RawMessage(Vec<u8>);

impl std::fmt::Display for RawMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.0))
    }
}

impl std::error::Error for RawMessage {}

/// An error whose message `lib_fn` raises byte for byte.
pub fn raw_error(m: Vec<u8>) -> mlua::Error {
    mlua::Error::external(RawMessage(m))
}

/// The message of an error raised by an implementation.
fn message(e: &mlua::Error) -> Vec<u8> {
    match e {
        mlua::Error::RuntimeError(m) => m.clone().into_bytes(),
        mlua::Error::CallbackError { cause, .. } => message(cause),
        mlua::Error::MemoryError(m) => m.clone().into_bytes(),
        mlua::Error::ExternalError(x) => match x.downcast_ref::<RawMessage>() {
            Some(RawMessage(m)) => m.clone(),
            None => x.to_string().into_bytes(),
        },
        e => e.to_string().into_bytes(),
    }
}

/// Wraps `f` as a library function (see the module header).
pub fn lib_fn<R, F>(lua: &Lua, f: F) -> mlua::Result<Function>
where
    R: IntoLuaMulti,
    F: Fn(&Lua, MultiValue) -> mlua::Result<R> + Send + 'static,
{
    let inner = lua.create_function(move |lua, args: MultiValue| {
        let r = f(lua, args).and_then(|r| r.into_lua_multi(lua));
        Ok(match r {
            Ok(mut mv) => {
                mv.push_front(Value::Boolean(true));
                mv
            }
            Err(e) => MultiValue::from_vec(vec![Value::Boolean(false), Value::String(lua.create_string(message(&e))?)]),
        })
    })?;
    // SAFETY: the closure only moves the function pushed as the argument into
    // a C closure's upvalue.
    unsafe { lua.exec_raw::<Function>(inner, |l| ffi::lua_pushcclosure(l, lib_tramp, 1)) }
}

/// Lua's luaL_checknumber: a number or a string convertible to one.
pub fn check_number(args: &MultiValue, i: usize, fname: &str) -> mlua::Result<f64> {
    let bad =
        |got: &str| mlua::Error::runtime(format!("bad argument #{} to '{fname}' (number expected, got {got})", i + 1));
    match args.get(i) {
        Some(Value::Number(n)) => Ok(*n),
        Some(Value::Integer(n)) => Ok(*n as f64),
        Some(Value::String(s)) => {
            let t = s.to_string_lossy();
            let t = t.trim();
            let parsed = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                i64::from_str_radix(h, 16).ok().map(|n| n as f64)
            } else {
                t.parse::<f64>().ok()
            };
            parsed.ok_or_else(|| bad("string"))
        }
        Some(Value::Nil) => Err(bad("nil")),
        None => Err(bad("no value")),
        Some(Value::Boolean(_)) => Err(bad("boolean")),
        Some(Value::Table(_)) => Err(bad("table")),
        Some(Value::Function(_)) => Err(bad("function")),
        Some(_) => Err(bad("userdata")),
    }
}
