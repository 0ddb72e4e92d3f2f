//! Bitmap commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD,
//! BITFIELD_RO.
//!
//! Bitmaps are plain strings (see `types::bitops` for the bit numbering).
//! Readers see an integer-encoded string as its decimal digits and a missing
//! key as an empty string. Writers grow the string with zero bytes only as
//! far as the highest bit they write, after checking the offset against
//! `proto-max-bulk-len` (in bytes), so memory is bounded by that setting.

use super::Cmd;
use crate::args::{is, parse_i64, Args};
use crate::cmdspec::table as t;
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::notify;
use crate::storage::{Str, Value};
use types::bitops::{self, BitOp, FieldType, Overflow};

pub static COMMANDS: &[Cmd] = &[
    Cmd::new(&t::SETBIT, setbit),
    Cmd::new(&t::GETBIT, getbit),
    Cmd::new(&t::BITCOUNT, bitcount),
    Cmd::new(&t::BITPOS, bitpos),
    Cmd::new(&t::BITOP, bitop),
    Cmd::new(&t::BITFIELD, bitfield),
    Cmd::new(&t::BITFIELD_RO, bitfield_ro),
];

fn bad_offset() -> CmdError {
    CmdError::err("bit offset is not an integer or out of range")
}

/// The byte limit of bit offsets: `proto-max-bulk-len`.
fn offset_limit(ctx: &Ctx<'_>) -> i64 {
    crate::cfg_num!(ctx.srv.config, "proto-max-bulk-len")
}

/// Parses a bit offset. With `hash_bits` > 0 (BITFIELD), `#N` means the
/// N-th field of that width. The byte it falls in must be below
/// `proto-max-bulk-len`.
fn parse_offset(limit: i64, arg: &[u8], hash_bits: u32) -> Result<u64, CmdError> {
    let hash = hash_bits > 0 && arg.first() == Some(&b'#');
    let digits = if hash { &arg[1..] } else { arg };
    let mut off = types::num::parse_i64(digits).ok_or_else(bad_offset)?;
    if hash {
        // Redis multiplies without an overflow check; a wrapped product is
        // caught by the range check below in the same cases.
        off = off.wrapping_mul(hash_bits as i64);
    }
    if off < 0 || (off >> 3) >= limit {
        return Err(bad_offset());
    }
    Ok(off as u64)
}

/// The string at `key`, created or zero-padded so that bit `maxbit` exists,
/// and whether it was created or grown (Redis's lookupStringForBitCommand).
fn string_for_bits<'c>(ctx: &'c mut Ctx<'_>, key: &[u8], maxbit: u64) -> Result<(&'c mut Vec<u8>, bool), CmdError> {
    let need = (maxbit >> 3) as usize + 1;
    if ctx.write_str(key)?.is_none() {
        let s = ctx.add_str(key, Str::raw(vec![0; need]))?;
        return Ok((s.make_raw(), true));
    }
    let v = ctx.write_str(key)?.ok_or_else(|| CmdError::err("internal error: key vanished"))?.make_raw();
    let grown = v.len() < need;
    if grown {
        v.resize(need, 0);
    }
    Ok((v, grown))
}

/// SETBIT key offset value
fn setbit(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (key, off) = (args.next_key()?, args.next_bytes()?);
    let off = parse_offset(offset_limit(ctx), off, 0)?;
    let bad_bit = || CmdError::err("bit is not an integer or out of range");
    let on = types::num::parse_i64(args.next_bytes()?).ok_or_else(bad_bit)?;
    if on & !1 != 0 {
        return Err(bad_bit());
    }
    let (v, grown) = string_for_bits(ctx, key, off)?;
    let old = bitops::set_bit(v, off, on == 1);
    if grown || old != (on == 1) {
        ctx.modified(key);
        ctx.notify(notify::STRING, "setbit", key);
    }
    ctx.out.int(old as i64);
    Ok(())
}

/// GETBIT key offset
fn getbit(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (key, off) = (args.next_key()?, args.next_bytes()?);
    let off = parse_offset(offset_limit(ctx), off, 0)?;
    let bit = match ctx.read_str(key)? {
        Some(s) => bitops::get_bit(s.as_bytes(&mut itoa::Buffer::new()), off),
        None => false,
    };
    ctx.out.int(bit as i64);
    Ok(())
}

/// Reads the optional `BIT | BYTE` unit: true for bits.
fn parse_unit(arg: &[u8]) -> Result<bool, CmdError> {
    if is(arg, "BIT") {
        Ok(true)
    } else if is(arg, "BYTE") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

/// BITCOUNT key [start end [BYTE | BIT]]
fn bitcount(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let rest = args.take_rest();
    // A missing key answers 0 before its arguments are even looked at.
    let Some(s) = ctx.read_str(key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let mut buf = itoa::Buffer::new();
    let p = s.as_bytes(&mut buf);
    let n = match rest.len() {
        0 => bitops::popcount(p),
        2 | 3 => {
            let (start, end) = (parse_i64(rest[0])?, parse_i64(rest[1])?);
            if start < 0 && end < 0 && start > end {
                0
            } else {
                let bits = match rest.get(2) {
                    Some(u) => parse_unit(u)?,
                    None => false,
                };
                bitops::count_range(p, start, end, bits)
            }
        }
        _ => return Err(CmdError::Syntax),
    };
    ctx.out.int(n as i64);
    Ok(())
}

/// BITPOS key bit [start [end [BYTE | BIT]]]
fn bitpos(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let bit = args.next_i64()?;
    if bit != 0 && bit != 1 {
        return Err(CmdError::err("The bit argument must be 1 or 0."));
    }
    let bit = bit == 1;
    let rest = args.take_rest();
    let Some(s) = ctx.read_str(key)? else {
        // A missing key is an endless run of clear bits.
        ctx.out.int(if bit { -1 } else { 0 });
        return Ok(());
    };
    let mut buf = itoa::Buffer::new();
    let p = s.as_bytes(&mut buf);
    let pos = match rest.len() {
        0 if p.is_empty() => -1,
        0 => bitops::first_bit(p, bit),
        1..=3 => {
            let start = parse_i64(rest[0])?;
            let bits = match rest.get(2) {
                Some(u) => parse_unit(u)?,
                None => false,
            };
            let end = rest.get(1).map(|e| parse_i64(e)).transpose()?;
            bitops::pos_range(p, bit, start, end, bits)
        }
        _ => return Err(CmdError::Syntax),
    };
    ctx.out.int(pos);
    Ok(())
}

/// BITOP AND | OR | XOR | NOT destkey key [key ...]
fn bitop(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let name = args.next_bytes()?;
    let op = [("AND", BitOp::And), ("OR", BitOp::Or), ("XOR", BitOp::Xor), ("NOT", BitOp::Not)]
        .into_iter()
        .find(|(w, _)| is(name, w))
        .map(|(_, op)| op)
        .ok_or_else(|| CmdError::Syntax)?;
    let dest = args.next_key()?;
    let keys = args.take_rest();
    if op == BitOp::Not && keys.len() != 1 {
        return Err(CmdError::err("BITOP NOT must be called with a single source key."));
    }
    // First pass: type checks and lengths, with Redis's lookup statistics;
    // the second folds each source into the result without copying it.
    let mut maxlen = 0;
    for k in keys {
        if let Some(s) = ctx.read_str(k)? {
            maxlen = maxlen.max(s.len());
        }
    }
    let mut res: Vec<u8> = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let mut buf = itoa::Buffer::new();
        let src: &[u8] = match ctx.peek(k)? {
            Some(e) => match &e.value {
                Value::Str(s) => s.as_bytes(&mut buf),
                #[allow(unreachable_patterns)]
                _ => return Err(CmdError::WrongType),
            },
            None => &[],
        };
        if i == 0 {
            res = bitops::bitop_first(op, src, maxlen);
        } else {
            bitops::bitop_fold(op, &mut res, src);
        }
    }
    let len = res.len();
    if len > 0 {
        ctx.set_value(dest, Value::Str(Str::raw(res)))?;
        ctx.notify(notify::STRING, "set", dest);
    } else if ctx.delete(dest)? {
        ctx.notify(notify::GENERIC, "del", dest);
    }
    ctx.out.int(len as i64);
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldOp {
    Get,
    Set(i64),
    IncrBy(i64),
}

struct Field {
    op: FieldOp,
    ty: FieldType,
    offset: u64,
    overflow: Overflow,
}

/// Parses BITFIELD's operations; the highest bit written, if any write.
fn parse_fields(limit: i64, args: &[&[u8]]) -> Result<(Vec<Field>, Option<u64>), CmdError> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut highest: Option<u64> = None;
    let mut j = 0;
    while j < args.len() {
        let (sub, left) = (args[j], args.len() - j - 1);
        let op = if is(sub, "GET") && left >= 2 {
            FieldOp::Get
        } else if is(sub, "SET") && left >= 3 {
            FieldOp::Set(0)
        } else if is(sub, "INCRBY") && left >= 3 {
            FieldOp::IncrBy(0)
        } else if is(sub, "OVERFLOW") && left >= 1 {
            let w = args[j + 1];
            overflow = if is(w, "WRAP") {
                Overflow::Wrap
            } else if is(w, "SAT") {
                Overflow::Sat
            } else if is(w, "FAIL") {
                Overflow::Fail
            } else {
                return Err(CmdError::err("Invalid OVERFLOW type specified"));
            };
            j += 2;
            continue;
        } else {
            return Err(CmdError::Syntax);
        };
        let ty = FieldType::parse(args[j + 1]).ok_or_else(|| {
            CmdError::err(
                "Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
            )
        })?;
        let offset = parse_offset(limit, args[j + 2], ty.bits)?;
        let op = match op {
            FieldOp::Get => FieldOp::Get,
            other => {
                let last = offset + ty.bits as u64 - 1;
                highest = Some(highest.map_or(last, |h| h.max(last)));
                let n = parse_i64(args[j + 3])?;
                if matches!(other, FieldOp::Set(_)) {
                    FieldOp::Set(n)
                } else {
                    FieldOp::IncrBy(n)
                }
            }
        };
        ops.push(Field { op, ty, offset, overflow });
        j += if op == FieldOp::Get { 3 } else { 4 };
    }
    Ok((ops, highest))
}

fn field_get(p: &[u8], f: &Field) -> i64 {
    if f.ty.signed {
        bitops::get_signed(p, f.offset, f.ty.bits)
    } else {
        bitops::get_unsigned(p, f.offset, f.ty.bits) as i64
    }
}

/// Runs one SET or INCRBY: the reply (None when OVERFLOW FAIL refuses) and
/// whether the stored bits changed.
fn field_write(p: &mut [u8], f: &Field) -> (Option<i64>, bool) {
    let (bits, off) = (f.ty.bits, f.offset);
    if f.ty.signed {
        let old = bitops::get_signed(p, off, bits);
        let (new, over, reply) = match f.op {
            FieldOp::IncrBy(n) => {
                let o = bitops::signed_overflow(old, n, bits, f.overflow);
                let new = o.unwrap_or_else(|| old.wrapping_add(n));
                (new, o.is_some(), new)
            }
            FieldOp::Set(n) => {
                let o = bitops::signed_overflow(n, 0, bits, f.overflow);
                (o.unwrap_or(n), o.is_some(), old)
            }
            FieldOp::Get => return (Some(old), false),
        };
        if over && f.overflow == Overflow::Fail {
            return (None, false);
        }
        bitops::set_field(p, off, bits, new as u64);
        (Some(reply), old != new)
    } else {
        let old = bitops::get_unsigned(p, off, bits);
        let (new, over, reply) = match f.op {
            FieldOp::IncrBy(n) => {
                let o = bitops::unsigned_overflow(old, n, bits, f.overflow);
                let new = o.unwrap_or_else(|| old.wrapping_add(n as u64));
                (new, o.is_some(), new)
            }
            FieldOp::Set(n) => {
                let o = bitops::unsigned_overflow(n as u64, 0, bits, f.overflow);
                (o.unwrap_or(n as u64), o.is_some(), old)
            }
            FieldOp::Get => return (Some(old as i64), false),
        };
        if over && f.overflow == Overflow::Fail {
            return (None, false);
        }
        bitops::set_field(p, off, bits, new);
        (Some(reply as i64), old != new)
    }
}

fn reply_fields(ctx: &mut Ctx<'_>, replies: &[Option<i64>]) {
    ctx.out.array(replies.len());
    for r in replies {
        match r {
            Some(n) => ctx.out.int(*n),
            None => ctx.out.null(),
        }
    }
}

/// Whether BITFIELD may write (BITFIELD) or only read (BITFIELD_RO).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    ReadWrite,
    ReadOnly,
}

fn bitfield_generic(ctx: &mut Ctx<'_>, args: &mut Args<'_>, access: Access) -> CmdResult {
    let key = args.next_key()?;
    let (ops, highest) = parse_fields(offset_limit(ctx), args.take_rest())?;
    let Some(highest) = highest else {
        // Only reads: a missing key reads as zeroes, nothing is created.
        let mut buf = itoa::Buffer::new();
        let replies: Vec<Option<i64>> = match ctx.read_str(key)? {
            Some(s) => {
                let p = s.as_bytes(&mut buf);
                ops.iter().map(|f| Some(field_get(p, f))).collect()
            }
            None => ops.iter().map(|f| Some(field_get(&[], f))).collect(),
        };
        reply_fields(ctx, &replies);
        return Ok(());
    };
    if access == Access::ReadOnly {
        return Err(CmdError::err("BITFIELD_RO only supports the GET subcommand"));
    }
    let (p, grown) = string_for_bits(ctx, key, highest)?;
    let mut changes = 0u64;
    let mut replies = Vec::with_capacity(ops.len());
    for f in &ops {
        if f.op == FieldOp::Get {
            replies.push(Some(field_get(p, f)));
            continue;
        }
        let (r, diff) = field_write(p, f);
        if r.is_some() && (grown || diff) {
            changes += 1;
        }
        replies.push(r);
    }
    if changes > 0 {
        ctx.modified(key);
        ctx.add_dirty(changes - 1);
        ctx.notify(notify::STRING, "setbit", key);
    }
    reply_fields(ctx, &replies);
    Ok(())
}

/// BITFIELD key [GET encoding offset | [OVERFLOW WRAP | SAT | FAIL]
/// SET encoding offset value | INCRBY encoding offset increment ...]
fn bitfield(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    bitfield_generic(ctx, args, Access::ReadWrite)
}

/// BITFIELD_RO key [GET encoding offset ...]
fn bitfield_ro(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    bitfield_generic(ctx, args, Access::ReadOnly)
}
