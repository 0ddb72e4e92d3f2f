//! The `struct` library as Redis bundles it (struct 0.2): pack, unpack and
//! size with the format options `> < ! x b B h H l L T i[n] I[n] f d s c[n]`,
//! native sizes of a 64-bit build, no alignment unless `!` asks for it.

use super::libfn::{check_number, lib_fn};
use mlua::{Lua, MultiValue, Table, Value};

const MAXINTSIZE: usize = 32;
const MAXALIGN: usize = 8;

fn err(m: impl Into<String>) -> mlua::Error {
    mlua::Error::runtime(m.into())
}

fn argerr(n: usize, fname: &str, msg: &str) -> mlua::Error {
    err(format!("bad argument #{n} to '{fname}' ({msg})"))
}

struct Header {
    big: bool,
    align: usize,
}

struct Fmt<'a> {
    f: &'a [u8],
    pos: usize,
}

impl Fmt<'_> {
    fn num(&mut self, default: usize) -> mlua::Result<usize> {
        if !self.f.get(self.pos).is_some_and(|c| c.is_ascii_digit()) {
            return Ok(default);
        }
        let mut a: usize = 0;
        while let Some(&c) = self.f.get(self.pos).filter(|c| c.is_ascii_digit()) {
            a = a
                .checked_mul(10)
                .and_then(|a| a.checked_add((c - b'0') as usize))
                .filter(|a| *a <= i32::MAX as usize)
                .ok_or_else(|| err("integral size overflow"))?;
            self.pos += 1;
        }
        Ok(a)
    }

    fn size(&mut self, opt: u8) -> mlua::Result<usize> {
        Ok(match opt {
            b'B' | b'b' | b'x' => 1,
            b'H' | b'h' => 2,
            b'L' | b'l' | b'T' | b'd' => 8,
            b'f' => 4,
            b'c' => self.num(1)?,
            b'i' | b'I' => {
                let sz = self.num(4)?;
                if sz > MAXINTSIZE {
                    return Err(err(format!("integral size {sz} is larger than limit of {MAXINTSIZE}")));
                }
                sz
            }
            _ => 0,
        })
    }
}

fn to_align(len: usize, h: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    (size - (len & (size - 1))) & (size - 1)
}

fn control(fmt: &mut Fmt<'_>, h: &mut Header, opt: u8, fname: &str) -> mlua::Result<()> {
    match opt {
        b' ' => {}
        b'>' => h.big = true,
        b'<' => h.big = false,
        b'!' => {
            let a = fmt.num(MAXALIGN)?;
            if !a.is_power_of_two() {
                return Err(err(format!("alignment {a} is not a power of 2")));
            }
            h.align = a;
        }
        c => {
            // The option is quoted as the raw byte, which may not be UTF-8.
            let mut m = format!("bad argument #1 to '{fname}' (invalid format option '").into_bytes();
            m.push(c);
            m.extend_from_slice(b"')");
            return Err(super::libfn::raw_error(m));
        }
    }
    Ok(())
}

fn string_arg(args: &MultiValue, i: usize, fname: &str) -> mlua::Result<Vec<u8>> {
    match args.get(i) {
        Some(Value::String(s)) => Ok(s.as_bytes().to_vec()),
        Some(Value::Number(n)) => Ok(super::lua_number_string(*n).into_bytes()),
        Some(Value::Integer(n)) => Ok(n.to_string().into_bytes()),
        other => {
            let got = match other {
                None => "no value",
                Some(Value::Nil) => "nil",
                Some(Value::Boolean(_)) => "boolean",
                Some(Value::Table(_)) => "table",
                Some(Value::Function(_)) => "function",
                _ => "userdata",
            };
            Err(argerr(i + 1, fname, &format!("string expected, got {got}")))
        }
    }
}

fn pack(lua: &Lua, mut args: MultiValue) -> mlua::Result<mlua::LuaString> {
    let f = string_arg(&args, 0, "pack")?;
    // Redis's pack pushes a nil mark after its arguments: a missing argument
    // is reported as nil, not as no value.
    args.push_back(Value::Nil);
    let mut fmt = Fmt { f: &f, pos: 0 };
    let mut h = Header { big: false, align: 1 };
    let mut out: Vec<u8> = Vec::new();
    let mut arg = 1;
    while fmt.pos < f.len() {
        let opt = f[fmt.pos];
        fmt.pos += 1;
        let mut size = fmt.size(opt)?;
        let pad = to_align(out.len(), &h, opt, size);
        out.resize(out.len() + pad, 0);
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = check_number(&args, arg, "pack")?;
                arg += 1;
                let mut v: u64 = if n < 0.0 { types::num::c_cast_i64(n) as u64 } else { types::num::c_cast_u64(n) };
                let mut bytes = vec![0u8; size];
                for b in bytes.iter_mut() {
                    *b = v as u8;
                    v = v.checked_shr(8).unwrap_or(0);
                }
                if h.big {
                    bytes.reverse();
                }
                out.extend_from_slice(&bytes);
            }
            b'x' => out.push(0),
            b'f' => {
                let n = check_number(&args, arg, "pack")? as f32;
                arg += 1;
                out.extend_from_slice(&if h.big { n.to_be_bytes() } else { n.to_le_bytes() });
            }
            b'd' => {
                let n = check_number(&args, arg, "pack")?;
                arg += 1;
                out.extend_from_slice(&if h.big { n.to_be_bytes() } else { n.to_le_bytes() });
            }
            b'c' | b's' => {
                let s = string_arg(&args, arg, "pack")?;
                arg += 1;
                if size == 0 {
                    size = s.len();
                }
                if s.len() < size {
                    return Err(argerr(arg + 1, "pack", "string too short"));
                }
                out.extend_from_slice(&s[..size]);
                if opt == b's' {
                    out.push(0);
                }
                continue;
            }
            _ => control(&mut fmt, &mut h, opt, "pack")?,
        }
    }
    lua.create_string(out)
}

fn unpack(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    let f = string_arg(&args, 0, "unpack")?;
    let data = string_arg(&args, 1, "unpack")?;
    let ld = data.len();
    let start = match args.get(2) {
        None | Some(Value::Nil) => 1.0,
        Some(_) => check_number(&args, 2, "unpack")?,
    };
    // As in Redis's copy, an offset past the data is only caught as data too
    // short for the first item.
    let start = start as i64 - 1;
    if start < 0 {
        return Err(argerr(2, "unpack", "data string too short"));
    }
    let mut pos = start as usize;
    let mut fmt = Fmt { f: &f, pos: 0 };
    let mut h = Header { big: false, align: 1 };
    let mut res: Vec<Value> = Vec::new();
    while fmt.pos < f.len() {
        let opt = f[fmt.pos];
        fmt.pos += 1;
        let mut size = fmt.size(opt)?;
        pos += to_align(pos, &h, opt, size);
        if pos.saturating_add(size) > ld {
            return Err(argerr(2, "unpack", "data string too short"));
        }
        if res.len() > 8000 {
            return Err(err("stack overflow (too many results)"));
        }
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let mut bytes = data[pos..pos + size].to_vec();
                if h.big {
                    bytes.reverse();
                }
                let mut l: u64 = 0;
                for &b in bytes.iter().rev() {
                    l = l.checked_shl(8).unwrap_or(0) | b as u64;
                }
                let v = if opt.is_ascii_lowercase() {
                    // As C shifts on x86-64: the count taken modulo 64
                    // (a 9-byte integer's mask is ~0 << 7).
                    let mask = u64::MAX.wrapping_shl(((size * 8) as u32).wrapping_sub(1));
                    if l & mask != 0 {
                        l |= mask;
                    }
                    l as i64 as f64
                } else {
                    l as f64
                };
                res.push(Value::Number(v));
            }
            b'x' => {}
            b'f' => {
                let b: [u8; 4] = data[pos..pos + 4].try_into().expect("4 bytes");
                let v = if h.big { f32::from_be_bytes(b) } else { f32::from_le_bytes(b) };
                res.push(Value::Number(v as f64));
            }
            b'd' => {
                let b: [u8; 8] = data[pos..pos + 8].try_into().expect("8 bytes");
                let v = if h.big { f64::from_be_bytes(b) } else { f64::from_le_bytes(b) };
                res.push(Value::Number(v));
            }
            b'c' => {
                if size == 0 {
                    let n = match res.last() {
                        Some(Value::Number(n)) => *n,
                        Some(Value::String(s)) => s.to_str().ok().and_then(|s| s.trim().parse().ok()).unwrap_or(-1.0),
                        _ => -1.0,
                    };
                    if n < 0.0 {
                        return Err(err("format 'c0' needs a previous size"));
                    }
                    res.pop();
                    size = n as usize;
                    if size > ld - pos {
                        return Err(argerr(2, "unpack", "data string too short"));
                    }
                }
                res.push(Value::String(lua.create_string(&data[pos..pos + size])?));
            }
            b's' => {
                let Some(z) = data[pos..].iter().position(|&c| c == 0) else {
                    return Err(err("unfinished string in data"));
                };
                res.push(Value::String(lua.create_string(&data[pos..pos + z])?));
                size = z + 1;
            }
            _ => control(&mut fmt, &mut h, opt, "unpack")?,
        }
        pos += size;
    }
    res.push(Value::Number((pos + 1) as f64));
    Ok(MultiValue::from_vec(res))
}

fn size(_: &Lua, args: MultiValue) -> mlua::Result<f64> {
    let f = string_arg(&args, 0, "size")?;
    let mut fmt = Fmt { f: &f, pos: 0 };
    let mut h = Header { big: false, align: 1 };
    let mut pos = 0usize;
    while fmt.pos < f.len() {
        let opt = f[fmt.pos];
        fmt.pos += 1;
        let size = fmt.size(opt)?;
        pos += to_align(pos, &h, opt, size);
        if opt == b's' {
            return Err(argerr(1, "size", "option 's' has no fixed size"));
        } else if opt == b'c' && size == 0 {
            return Err(argerr(1, "size", "option 'c0' has no fixed size"));
        }
        if !opt.is_ascii_alphanumeric() {
            control(&mut fmt, &mut h, opt, "size")?;
        }
        pos += size;
    }
    Ok(pos as f64)
}

pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("pack", lib_fn(lua, pack)?)?;
    t.raw_set("unpack", lib_fn(lua, unpack)?)?;
    t.raw_set("size", lib_fn(lua, size)?)?;
    Ok(t)
}
