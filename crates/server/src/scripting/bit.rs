//! The `bit` library as Redis bundles it (LuaBitOp 1.0.2): 32-bit
//! operations on Lua numbers, results as signed 32-bit integers.

use super::libfn::{check_number, lib_fn};
use mlua::{Lua, MultiValue, Table};

/// LuaBitOp's normalization: round to nearest through the 2^52+2^51 trick
/// and keep the low 32 bits, as a signed integer.
pub fn tobit(n: f64) -> i32 {
    (n + 6755399441055744.0).to_bits() as u32 as i32
}

fn arg(args: &MultiValue, i: usize, name: &str) -> mlua::Result<i32> {
    Ok(tobit(check_number(args, i, name)?))
}

pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("tobit", lib_fn(lua, |_, a| Ok(arg(&a, 0, "tobit")? as f64))?)?;
    t.raw_set("bnot", lib_fn(lua, |_, a| Ok(!arg(&a, 0, "bnot")? as f64))?)?;
    t.raw_set("bswap", lib_fn(lua, |_, a| Ok(arg(&a, 0, "bswap")?.swap_bytes() as f64))?)?;
    type Fold = fn(i32, i32) -> i32;
    let folds: [(&'static str, Fold); 3] = [("band", |x, y| x & y), ("bor", |x, y| x | y), ("bxor", |x, y| x ^ y)];
    for (name, op) in folds {
        t.raw_set(
            name,
            lib_fn(lua, move |_, a| {
                let mut acc = arg(&a, 0, name)?;
                for i in 1..a.len() {
                    acc = op(acc, arg(&a, i, name)?);
                }
                Ok(acc as f64)
            })?,
        )?;
    }
    type Shift = fn(i32, u32) -> i32;
    let shifts: [(&'static str, Shift); 5] = [
        ("lshift", |x, n| ((x as u32) << n) as i32),
        ("rshift", |x, n| ((x as u32) >> n) as i32),
        ("arshift", |x, n| x >> n),
        ("rol", |x, n| (x as u32).rotate_left(n) as i32),
        ("ror", |x, n| (x as u32).rotate_right(n) as i32),
    ];
    for (name, op) in shifts {
        t.raw_set(
            name,
            lib_fn(lua, move |_, a| {
                let x = arg(&a, 0, name)?;
                let n = arg(&a, 1, name)? as u32 & 31;
                Ok(op(x, n) as f64)
            })?,
        )?;
    }
    t.raw_set(
        "tohex",
        lib_fn(lua, |lua, a| {
            let x = arg(&a, 0, "tohex")? as u32;
            let n = if a.len() > 1 && !a[1].is_nil() { arg(&a, 1, "tohex")? } else { 8 };
            let (upper, n) = if n < 0 { (true, n.unsigned_abs()) } else { (false, n as u32) };
            let n = n.min(8) as usize;
            let digits: &[u8] = if upper { b"0123456789ABCDEF" } else { b"0123456789abcdef" };
            let mut buf = vec![b'0'; n];
            let mut b = x;
            for i in (0..n).rev() {
                buf[i] = digits[(b & 15) as usize];
                b >>= 4;
            }
            lua.create_string(buf)
        })?,
    )?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization() {
        assert_eq!(tobit(4294967295.0), -1);
        assert_eq!(tobit(2147483648.0), i32::MIN);
        assert_eq!(tobit(1.5), 2);
        assert_eq!(tobit(2.5), 2);
        assert_eq!(tobit(-1.0), -1);
    }
}
