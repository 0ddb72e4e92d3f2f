//! Geospatial commands: points stored as members of a sorted set whose score
//! is the 52-bit geohash (see `types::geo`). GEOADD is ZADD with computed
//! scores; searches scan the score intervals of nine geohash cells and filter
//! by exact distance, in Redis's order.

use super::zset::{add_generic, limits, AddFlags};
use super::Cmd;
use crate::args::{is, parse_f64, Args};
use crate::cmdspec::table as t;
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::notify;
use crate::storage::Value;
use resp::Out;
use types::geo::{self, Shape, ShapeKind};
use types::zset::{cmp_entry, ZSet};

pub static COMMANDS: &[Cmd] = &[
    Cmd::new(&t::GEOADD, geoadd),
    Cmd::new(&t::GEODIST, geodist),
    Cmd::new(&t::GEOHASH, geohash),
    Cmd::new(&t::GEOPOS, geopos),
    Cmd::new(&t::GEORADIUS, georadius),
    Cmd::new(&t::GEORADIUS_RO, georadius_ro),
    Cmd::new(&t::GEORADIUSBYMEMBER, georadiusbymember),
    Cmd::new(&t::GEORADIUSBYMEMBER_RO, georadiusbymember_ro),
    Cmd::new(&t::GEOSEARCH, geosearch),
    Cmd::new(&t::GEOSEARCHSTORE, geosearchstore),
];

/// A longitude and latitude argument pair, within the encodable limits.
fn parse_lonlat(lon: &[u8], lat: &[u8]) -> Result<(f64, f64), CmdError> {
    let (x, y) = (parse_f64(lon)?, parse_f64(lat)?);
    if !(geo::LONG_MIN..=geo::LONG_MAX).contains(&x) || !(geo::LAT_MIN..=geo::LAT_MAX).contains(&y) {
        return Err(CmdError::err(format!("invalid longitude,latitude pair {x:.6},{y:.6}")));
    }
    Ok((x, y))
}

/// Meters per unit.
fn parse_unit(u: &[u8]) -> Result<f64, CmdError> {
    Ok(if is(u, "m") {
        1.0
    } else if is(u, "km") {
        1000.0
    } else if is(u, "ft") {
        0.3048
    } else if is(u, "mi") {
        1609.34
    } else {
        return Err(CmdError::err("unsupported unit provided. please use M, KM, FT, MI"));
    })
}

fn parse_nonneg(b: &[u8], not_num: &str, negative: &str) -> Result<f64, CmdError> {
    let v = types::num::parse_f64(b).ok_or_else(|| CmdError::err(not_num))?;
    if v < 0.0 {
        return Err(CmdError::err(negative));
    }
    Ok(v)
}

/// `radius unit` → (radius, meters per unit).
fn parse_radius(r: &[u8], unit: &[u8]) -> Result<(f64, f64), CmdError> {
    let radius = parse_nonneg(r, "need numeric radius", "radius cannot be negative")?;
    Ok((radius, parse_unit(unit)?))
}

/// A coordinate as Redis replies it (`%.17Lf`, trailing zeros dropped):
/// a bulk string in RESP2, a double in RESP3.
fn human_double(out: &mut Out, d: f64) {
    let s = resp::fmt_long_double(d);
    if out.resp3() {
        out.raw(b",");
        out.raw(s.as_bytes());
        out.raw(b"\r\n");
    } else {
        out.bulk(s);
    }
}

/// GEOADD key [NX | XX] [CH] longitude latitude member [longitude latitude member ...]
fn geoadd(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let key = args.next_key()?;
    let mut f = AddFlags::default();
    loop {
        match args.peek() {
            Some(a) if is(a, "nx") => f.nx = true,
            Some(a) if is(a, "xx") => f.xx = true,
            Some(a) if is(a, "ch") => f.ch = true,
            _ => break,
        }
        args.next_bytes()?;
    }
    let rest = args.take_rest();
    if rest.len() % 3 != 0 || (f.xx && f.nx) {
        return Err(CmdError::Syntax);
    }
    let mut texts: Vec<String> = Vec::with_capacity(rest.len() / 3);
    for t in rest.chunks(3) {
        let (lon, lat) = parse_lonlat(t[0], t[1])?;
        let bits = geo::encode_score(lon, lat).ok_or_else(|| CmdError::err("internal error: unencodable point"))?;
        texts.push(bits.to_string());
    }
    let mut pairs: Vec<&[u8]> = Vec::with_capacity(texts.len() * 2);
    for (t, s) in rest.chunks(3).zip(&texts) {
        pairs.push(s.as_bytes());
        pairs.push(t[2]);
    }
    add_generic(ctx, key, f, &pairs)?;
    // Propagated as the ZADD it is, as Redis does: "zadd", the key and
    // options as written, then the scores and members.
    if ctx.propagating() {
        let argv = args.all();
        let mut v: Vec<&[u8]> = vec![b"zadd"];
        v.extend_from_slice(&argv[1..argv.len() - rest.len()]);
        v.extend_from_slice(&pairs);
        ctx.rewrite_propagation(&v);
    }
    Ok(())
}

/// GEODIST key member1 member2 [M | KM | FT | MI]
fn geodist(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    let (key, m1, m2) = (args.next_key()?, args.next_bytes()?, args.next_bytes()?);
    let to_meter = match args.remaining() {
        0 => 1.0,
        1 => parse_unit(args.next_bytes()?)?,
        _ => return Err(CmdError::Syntax),
    };
    let Some((z, out)) = ctx.read_zset(key)? else {
        ctx.out.null();
        return Ok(());
    };
    let p1 = z.score(m1).and_then(geo::decode_score);
    let p2 = z.score(m2).and_then(geo::decode_score);
    match (p1, p2) {
        (Some((x1, y1)), Some((x2, y2))) => out.bulk(geo::fmt_distance(geo::distance(x1, y1, x2, y2) / to_meter)),
        _ => out.null(),
    }
    Ok(())
}

/// Replies with an array holding `each(point)` for every member argument
/// (None for absent members or keys).
fn per_member(ctx: &mut Ctx<'_>, args: &mut Args<'_>, each: fn(&mut Out, Option<(f64, f64)>)) -> CmdResult {
    let key = args.next_key()?;
    let members = args.take_rest();
    let z = ctx.read_zset(key)?.map(|(z, _)| scores_of(z, members));
    ctx.out.array(members.len());
    for s in z.unwrap_or_else(|| vec![None; members.len()]) {
        each(ctx.out, s.and_then(geo::decode_score));
    }
    Ok(())
}

/// GEOHASH key [member ...]
fn geohash(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    per_member(ctx, args, |out, p| match p {
        Some((lon, lat)) => out.bulk(geo::geohash_string(lon, lat)),
        None => out.null(),
    })
}

/// GEOPOS key [member ...]
fn geopos(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    per_member(ctx, args, |out, p| match p {
        Some((lon, lat)) => {
            out.array(2);
            human_double(out, lon);
            human_double(out, lat);
        }
        None => out.null_array(),
    })
}

/// Scores of several members (None for absent ones).
fn scores_of(z: &ZSet, members: &[&[u8]]) -> Vec<Option<f64>> {
    members.iter().map(|m| z.score(m)).collect()
}

/// A point found by a search.
struct Found {
    member: Box<[u8]>,
    score: f64,
    lon: f64,
    lat: f64,
    dist: f64,
}

/// The points of `z` inside `shape`, cell by cell in Redis's order; stops
/// after `limit` points when `limit > 0` (COUNT ... ANY).
fn points_in(z: &ZSet, shape: &Shape, limit: usize) -> Vec<Found> {
    let cells = shape.cells();
    let mut found = Vec::new();
    let mut last = 0usize;
    for (i, c) in cells.iter().enumerate() {
        if c.is_zero() {
            continue;
        }
        // Huge radii make neighbors coincide; Redis skips a cell equal to
        // the last one scanned (but never compares with the center).
        if last != 0 && *c == cells[last] {
            continue;
        }
        if !found.is_empty() && limit > 0 && found.len() >= limit {
            break;
        }
        let (min, max) = geo::cell_scores(*c);
        let lo = z.count_before_score(|s| s < min);
        let hi = z.count_before_score(|s| s < max);
        if hi > lo {
            for (m, s) in z.range(lo, hi - 1, false) {
                if let Some((lon, lat)) = geo::decode_score(s) {
                    if let Some(dist) = shape.contains(lon, lat) {
                        found.push(Found { member: m.into(), score: s, lon, lat, dist });
                    }
                }
                if !found.is_empty() && limit > 0 && found.len() >= limit {
                    break;
                }
            }
        }
        last = i;
    }
    found
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// GEORADIUS[_RO]: center and radius are positional.
    Coords,
    /// GEORADIUSBYMEMBER[_RO]: center member and radius are positional.
    Member,
    /// GEOSEARCH / GEOSEARCHSTORE: FROM... and BY... options.
    Search,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sort {
    None,
    Asc,
    Desc,
}

fn not_decodable() -> CmdError {
    CmdError::err("could not decode requested zset member")
}

fn member_point(ctx: &mut Ctx<'_>, key: &[u8], member: &[u8]) -> Result<(f64, f64), CmdError> {
    let s = ctx.read_zset(key)?.and_then(|(z, _)| z.score(member));
    s.and_then(geo::decode_score).ok_or_else(not_decodable)
}

fn radius_generic(ctx: &mut Ctx<'_>, args: &mut Args<'_>, v: Variant, nostore: bool, searchstore: bool) -> CmdResult {
    let name = args.all()[0];
    let mut storekey: Option<&[u8]> = if searchstore { Some(args.next_key()?) } else { None };
    let key = args.next_key()?;
    let exists = ctx.read_zset(key)?.is_some();
    let mut center: Option<(f64, f64)> = None;
    let mut kind: Option<ShapeKind> = None;
    let mut conversion = 1.0;
    match v {
        Variant::Coords => {
            let (lon, lat) = (args.next_bytes()?, args.next_bytes()?);
            center = Some(parse_lonlat(lon, lat)?);
            let (r, u) = (args.next_bytes()?, args.next_bytes()?);
            let (radius, conv) = parse_radius(r, u)?;
            kind = Some(ShapeKind::Radius(radius));
            conversion = conv;
        }
        Variant::Member => {
            let member = args.next_bytes()?;
            let (r, u) = (args.next_bytes()?, args.next_bytes()?);
            if exists {
                center = Some(member_point(ctx, key, member)?);
                let (radius, conv) = parse_radius(r, u)?;
                kind = Some(ShapeKind::Radius(radius));
                conversion = conv;
            }
        }
        Variant::Search => {}
    }
    let search = v == Variant::Search;
    let (mut withdist, mut withhash, mut withcoord, mut any) = (false, false, false, false);
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let mut sort = Sort::None;
    let mut count: i64 = 0;
    let mut storedist = false;
    let opts = args.take_rest();
    let mut i = 0;
    while i < opts.len() {
        let (a, more) = (opts[i], opts.len() - i - 1);
        if is(a, "withdist") {
            withdist = true;
        } else if is(a, "withhash") {
            withhash = true;
        } else if is(a, "withcoord") {
            withcoord = true;
        } else if is(a, "any") {
            any = true;
        } else if is(a, "asc") {
            sort = Sort::Asc;
        } else if is(a, "desc") {
            sort = Sort::Desc;
        } else if is(a, "count") && more >= 1 {
            count = crate::args::parse_i64(opts[i + 1])?;
            if count <= 0 {
                return Err(CmdError::err("COUNT must be > 0"));
            }
            i += 1;
        } else if (is(a, "store") || is(a, "storedist")) && more >= 1 && !nostore && !search {
            storekey = Some(opts[i + 1]);
            storedist = is(a, "storedist");
            i += 1;
        } else if is(a, "storedist") && search && searchstore {
            storedist = true;
        } else if is(a, "frommember") && more >= 1 && search && !fromloc {
            if exists {
                center = Some(member_point(ctx, key, opts[i + 1])?);
            }
            frommember = true;
            i += 1;
        } else if is(a, "fromlonlat") && more >= 2 && search && !frommember {
            center = Some(parse_lonlat(opts[i + 1], opts[i + 2])?);
            fromloc = true;
            i += 2;
        } else if is(a, "byradius") && more >= 2 && search && !bybox {
            let (radius, conv) = parse_radius(opts[i + 1], opts[i + 2])?;
            kind = Some(ShapeKind::Radius(radius));
            conversion = conv;
            byradius = true;
            i += 2;
        } else if is(a, "bybox") && more >= 3 && search && !byradius {
            // Both numbers are read before either sign is checked.
            let num = |b: &[u8], what: &str| types::num::parse_f64(b).ok_or_else(|| CmdError::err(what));
            let (width, height) = (num(opts[i + 1], "need numeric width")?, num(opts[i + 2], "need numeric height")?);
            if width < 0.0 || height < 0.0 {
                return Err(CmdError::err("height or width cannot be negative"));
            }
            conversion = parse_unit(opts[i + 3])?;
            kind = Some(ShapeKind::Box { width, height });
            bybox = true;
            i += 3;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if storekey.is_some() && (withdist || withhash || withcoord) {
        let who = if searchstore { "GEOSEARCHSTORE" } else { "STORE option in GEORADIUS" };
        return Err(CmdError::err(format!("{who} is not compatible with WITHDIST, WITHHASH and WITHCOORD options")));
    }
    let name = String::from_utf8_lossy(name);
    if search && !(frommember || fromloc) {
        return Err(CmdError::err(format!("exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}")));
    }
    if search && !(byradius || bybox) {
        return Err(CmdError::err(format!("exactly one of BYRADIUS and BYBOX can be specified for {name}")));
    }
    if any && count == 0 {
        return Err(CmdError::err("the ANY argument requires COUNT argument"));
    }
    let (Some((lon, lat)), Some(kind), true) = (center, kind, exists) else {
        match storekey {
            Some(dst) => {
                if ctx.delete(dst)? {
                    ctx.notify(notify::GENERIC, "del", dst);
                }
                ctx.out.int(0);
            }
            None => ctx.out.empty_array(),
        }
        return Ok(());
    };
    if count != 0 && sort == Sort::None && !any {
        sort = Sort::Asc;
    }
    let shape = Shape { lon, lat, conversion, kind };
    let limit = if any { count as usize } else { 0 };
    let mut found = match ctx.read_zset(key)? {
        Some((z, _)) => points_in(z, &shape, limit),
        None => Vec::new(),
    };
    let returned = if count == 0 { found.len() } else { found.len().min(count as usize) };
    let by_dist = |a: &Found, b: &Found| {
        let o = a.dist.partial_cmp(&b.dist).unwrap_or(std::cmp::Ordering::Equal);
        if sort == Sort::Desc {
            o.reverse()
        } else {
            o
        }
    };
    if sort != Sort::None {
        if returned == found.len() {
            found.sort_by(by_dist);
        } else if returned > 0 {
            // Only the returned head is sorted, by Redis's partial quicksort
            // (its order of equal distances is part of the reply).
            types::pqsort::pqsort(&mut found, 0, returned - 1, &by_dist);
        }
    }
    found.truncate(returned);
    let Some(dst) = storekey else {
        let opts_n = withdist as usize + withhash as usize + withcoord as usize;
        let out = &mut *ctx.out;
        out.array(returned);
        for p in &found {
            if opts_n > 0 {
                out.array(opts_n + 1);
            }
            out.bulk(&p.member);
            if withdist {
                out.bulk(geo::fmt_distance(p.dist / conversion));
            }
            if withhash {
                out.int(p.score as i64);
            }
            if withcoord {
                out.array(2);
                human_double(out, p.lon);
                human_double(out, p.lat);
            }
        }
        return Ok(());
    };
    let mut items: Vec<(&[u8], f64)> =
        found.iter().map(|p| (&*p.member, if storedist { p.dist / conversion } else { p.score })).collect();
    items.sort_by(|a, b| cmp_entry(a.1, a.0, b.1, b.0));
    let lim = limits(ctx);
    let z = ZSet::from_sorted(items.into_iter(), lim);
    if returned > 0 {
        ctx.set_value(dst, Value::ZSet(Box::new(z)))?;
        ctx.notify(notify::ZSET, if search { "geosearchstore" } else { "georadiusstore" }, dst);
        ctx.signal_ready(dst);
    } else if ctx.delete(dst)? {
        ctx.notify(notify::GENERIC, "del", dst);
    }
    ctx.out.int(returned as i64);
    Ok(())
}

/// GEORADIUS key longitude latitude radius M|KM|FT|MI [WITHCOORD] [WITHDIST]
/// [WITHHASH] [COUNT count [ANY]] [ASC | DESC] [STORE key | STOREDIST key]
fn georadius(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    radius_generic(ctx, args, Variant::Coords, false, false)
}

/// GEORADIUS_RO key longitude latitude radius M|KM|FT|MI [options]
fn georadius_ro(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    radius_generic(ctx, args, Variant::Coords, true, false)
}

/// GEORADIUSBYMEMBER key member radius M|KM|FT|MI [options] [STORE key | STOREDIST key]
fn georadiusbymember(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    radius_generic(ctx, args, Variant::Member, false, false)
}

/// GEORADIUSBYMEMBER_RO key member radius M|KM|FT|MI [options]
fn georadiusbymember_ro(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    radius_generic(ctx, args, Variant::Member, true, false)
}

/// GEOSEARCH key FROMMEMBER member | FROMLONLAT longitude latitude
/// BYRADIUS radius unit | BYBOX width height unit [ASC | DESC]
/// [COUNT count [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH]
fn geosearch(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    radius_generic(ctx, args, Variant::Search, true, false)
}

/// GEOSEARCHSTORE destination source FROMMEMBER ... | FROMLONLAT ...
/// BYRADIUS ... | BYBOX ... [ASC | DESC] [COUNT count [ANY]] [STOREDIST]
fn geosearchstore(ctx: &mut Ctx<'_>, args: &mut Args<'_>) -> CmdResult {
    radius_generic(ctx, args, Variant::Search, true, true)
}
