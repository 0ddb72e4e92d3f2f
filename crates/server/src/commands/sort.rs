//! SORT and SORT_RO (Redis's sort.c semantics, our own code).
//!
//! The elements of a list, set or sorted set are collected, weighed (by
//! themselves, or by the string or hash field a BY pattern names), sorted
//! numerically or bytewise (ALPHA), cut by LIMIT, and replied either as
//! themselves or through GET patterns. `BY` without `*` means "do not sort":
//! lists and sorted sets keep their order (reversed by DESC), sets keep their
//! iteration order. Patterns name other keys, which the key specs cannot
//! list, so both commands lock every shard.
//!
//! Type access goes through `elements_of` and `field_of`: the small
//! accessors that know each value type.

use super::Cmd;
use crate::args::{is, parse_i64, Args};
use crate::cmdspec::table as t;
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::notify;
use crate::storage::Value;
use std::cmp::Ordering;
use types::list::List;

pub static COMMANDS: &[Cmd] = &[Cmd::new(&t::SORT, sort).lock_all(), Cmd::new(&t::SORT_RO, sort_ro).lock_all()];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    List,
    Set,
    ZSet,
}

/// The kind of a sortable value; None for other types (WRONGTYPE).
fn kind_of(v: &Value) -> Option<Kind> {
    match v {
        Value::ZSet(_) => Some(Kind::ZSet),
        Value::List(_) => Some(Kind::List),
        Value::Set(_) => Some(Kind::Set),
        _ => None,
    }
}

/// The elements of a sortable value: list order, set iteration order, or
/// sorted-set order (ascending).
fn elements_of(v: &Value) -> Vec<Box<[u8]>> {
    match v {
        Value::ZSet(z) => z.iter().map(|(m, _)| m.into()).collect(),
        Value::List(l) => {
            let (mut it, mut all) = (l.iter(), Vec::with_capacity(l.len()));
            while let Some(e) = it.next() {
                all.push(e.into());
            }
            all
        }
        Value::Set(s) => s.iter().map(|m| m.to_vec().into()).collect(),
        _ => Vec::new(),
    }
}

/// The hash field `field` of a value (None if it is not a hash or lacks it).
fn field_of(v: &Value, field: &[u8]) -> Option<Vec<u8>> {
    match v {
        Value::Hash(h) => h.get(field).map(|f| f.to_vec()),
        _ => None,
    }
}

/// The value a BY/GET pattern names for element `elem`: `#` is the element
/// itself, `pre*post` the string at that key, `pre*post->field` a hash field.
fn pattern_value(ctx: &mut Ctx<'_>, pattern: &[u8], elem: &[u8]) -> Result<Option<Vec<u8>>, CmdError> {
    if pattern == b"#" {
        return Ok(Some(elem.to_vec()));
    }
    let Some(star) = pattern.iter().position(|&c| c == b'*') else { return Ok(None) };
    let after = &pattern[star + 1..];
    let arrow = after.windows(2).position(|w| w == b"->").filter(|&i| i + 2 < after.len());
    let (post, field) = match arrow {
        Some(i) => (&after[..i], Some(&after[i + 2..])),
        None => (after, None),
    };
    let mut key = Vec::with_capacity(pattern.len() + elem.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(elem);
    key.extend_from_slice(post);
    let Some(e) = ctx.lookup_read(&key)? else { return Ok(None) };
    Ok(match (field, &e.value) {
        (Some(f), v) => field_of(v, f),
        (None, Value::Str(s)) => Some(s.to_vec()),
        _ => None,
    })
}

/// A weight as SORT reads it: C `strtod` over the whole string (leading
/// space allowed, empty is 0), refusing overflow, underflow and NaN.
fn sort_score(b: &[u8]) -> Option<f64> {
    let b = match b.iter().position(|&c| c == 0) {
        Some(i) => &b[..i],
        None => b,
    };
    if b.is_empty() {
        return Some(0.0);
    }
    let i = b.iter().position(|&c| !matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))?;
    types::num::parse_f64(&b[i..])
}

struct Item {
    elem: Box<[u8]>,
    score: f64,
    /// The BY value for ALPHA sorts by pattern (None: missing key).
    cmp: Option<Vec<u8>>,
}

fn sort_generic(ctx: &mut Ctx<'_>, args: &mut Args<'_>, readonly: bool) -> CmdResult {
    let key = args.next_key()?;
    let (mut desc, mut alpha, mut dontsort) = (false, false, false);
    let (mut limit_start, mut limit_count) = (0i64, -1i64);
    let mut sortby: Option<&[u8]> = None;
    let mut store: Option<&[u8]> = None;
    let mut gets: Vec<&[u8]> = Vec::new();
    let opts = args.take_rest();
    // BY and GET patterns reach keys the arguments do not name: the user
    // must be able to read every key (Redis's user_has_full_key_access).
    let full_access = match &ctx.client.user {
        None => true,
        Some(u) => {
            let entry = super::registry().get(ctx.spec.name.as_bytes()).expect("sort is registered");
            u.read().all_keys_readable(ctx.spec, entry.index, args.all())
        }
    };
    let mut j = 0;
    while j < opts.len() {
        let (a, left) = (opts[j], opts.len() - j - 1);
        if is(a, "asc") {
            desc = false;
        } else if is(a, "desc") {
            desc = true;
        } else if is(a, "alpha") {
            alpha = true;
        } else if is(a, "limit") && left >= 2 {
            limit_start = parse_i64(opts[j + 1])?;
            limit_count = parse_i64(opts[j + 2])?;
            j += 2;
        } else if !readonly && is(a, "store") && left >= 1 {
            store = Some(opts[j + 1]);
            j += 1;
        } else if is(a, "by") && left >= 1 {
            sortby = Some(opts[j + 1]);
            // A constant pattern turns sorting off for good: a later BY
            // with a real pattern does not turn it back on.
            dontsort |= !opts[j + 1].contains(&b'*');
            if opts[j + 1].contains(&b'*') && !full_access {
                return Err(CmdError::err("BY option of SORT denied due to insufficient ACL permissions."));
            }
            j += 1;
        } else if is(a, "get") && left >= 1 {
            if !full_access {
                return Err(CmdError::err("GET option of SORT denied due to insufficient ACL permissions."));
            }
            gets.push(opts[j + 1]);
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let (kind, mut elems) = match ctx.lookup_read(key)? {
        None => (Kind::List, Vec::new()),
        Some(e) => match kind_of(&e.value) {
            Some(k) => (k, elements_of(&e.value)),
            None => return Err(CmdError::WrongType),
        },
    };
    // Sets have no order of their own: a stored result, or one a script
    // sees, is sorted instead.
    if dontsort && kind == Kind::Set && (store.is_some() || ctx.in_script) {
        dontsort = false;
        alpha = true;
        sortby = None;
    }
    let len = elems.len() as i64;
    let mut start = limit_start.max(0).min(len);
    let count = limit_count.max(-1).min(len);
    let mut end = if count < 0 { len - 1 } else { start + count - 1 };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    if end >= len {
        end = len - 1;
    }
    if dontsort && kind != Kind::Set {
        if desc {
            elems.reverse();
        }
        if end >= start {
            elems = elems.drain(start as usize..=end as usize).collect();
            end -= start;
            start = 0;
        } else {
            elems.clear();
        }
    }
    let mut items: Vec<Item> = elems.into_iter().map(|elem| Item { elem, score: 0.0, cmp: None }).collect();
    if !dontsort {
        let mut bad = false;
        for it in items.iter_mut() {
            let by = match sortby {
                Some(p) => match pattern_value(ctx, p, &it.elem)? {
                    Some(v) => v,
                    None => continue,
                },
                None => it.elem.to_vec(),
            };
            if alpha {
                if sortby.is_some() {
                    it.cmp = Some(by);
                }
            } else {
                match sort_score(&by) {
                    Some(s) => it.score = s,
                    None => bad = true,
                }
            }
        }
        let by_pattern = sortby.is_some();
        let cmp = |a: &Item, b: &Item| -> Ordering {
            let c = if !alpha {
                a.score.partial_cmp(&b.score).unwrap_or(Ordering::Equal).then_with(|| a.elem.cmp(&b.elem))
            } else if by_pattern {
                match (&a.cmp, &b.cmp) {
                    (Some(x), Some(y)) => x.cmp(y),
                    (None, None) => Ordering::Equal,
                    (None, _) => Ordering::Less,
                    (_, None) => Ordering::Greater,
                }
            } else {
                a.elem.cmp(&b.elem)
            };
            if desc {
                c.reverse()
            } else {
                c
            }
        };
        if sortby.is_some() && (start != 0 || end != items.len() as i64 - 1) {
            // Redis sorts only the LIMIT window here, with its partial
            // quicksort: ties come out in that algorithm's order.
            if end >= start {
                types::pqsort::pqsort(&mut items, start as usize, end as usize, &cmp);
            }
        } else {
            items.sort_by(cmp);
        }
        if bad {
            return Err(CmdError::err("One or more scores can't be converted into double"));
        }
    }
    let picked: &[Item] = if end >= start { &items[start as usize..=end as usize] } else { &[] };
    let per = if gets.is_empty() { 1 } else { gets.len() };
    let mut values: Vec<Option<Vec<u8>>> = Vec::with_capacity(picked.len() * per);
    for it in picked {
        if gets.is_empty() {
            values.push(Some(it.elem.to_vec()));
        }
        for g in &gets {
            values.push(pattern_value(ctx, g, &it.elem)?);
        }
    }
    match store {
        None => {
            ctx.out.array(values.len());
            for v in values {
                match v {
                    Some(v) => ctx.out.bulk(v),
                    None => ctx.out.null(),
                }
            }
            Ok(())
        }
        Some(dst) => {
            let n = values.len();
            if n > 0 {
                let fill = crate::cfg_num!(ctx.srv.config, "list-max-listpack-size");
                let mut list = List::new(fill.clamp(i32::MIN as i64, i32::MAX as i64) as i32);
                for v in &values {
                    list.push_back(v.as_deref().unwrap_or_default());
                }
                ctx.set_value(dst, Value::List(Box::new(list)))?;
                ctx.notify(notify::LIST, "sortstore", dst);
            } else if ctx.delete(dst)? {
                ctx.notify(notify::GENERIC, "del", dst);
            }
            ctx.out.int(n as i64);
            Ok(())
        }
    }
}

/// SORT key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]]
/// [ASC | DESC] [ALPHA] [STORE destination]
fn sort(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    sort_generic(ctx, args, false)
}

/// SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]]
/// [ASC | DESC] [ALPHA]
fn sort_ro(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    sort_generic(ctx, args, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores() {
        assert_eq!(sort_score(b""), Some(0.0));
        assert_eq!(sort_score(b" 2.5"), Some(2.5));
        assert_eq!(sort_score(b"1e400"), None);
        assert_eq!(sort_score(b"nan"), None);
        assert_eq!(sort_score(b"  "), None);
        assert_eq!(sort_score(b"3x"), None);
    }
}
