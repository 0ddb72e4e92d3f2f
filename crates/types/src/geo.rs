//! Geohashes as Redis stores them in a sorted set.
//!
//! A point is a 52-bit integer (26 bits per axis, latitude and longitude
//! interleaved, longitude on the odd bits) used as the member's score; the
//! latitude range is the Web Mercator one (±85.05112878), so every stored
//! point decodes to the center of its 26-step cell. Searching a radius or a
//! box picks a geohash precision from the radius, takes the cell of the center
//! and its eight neighbors (dropping neighbors that cannot intersect the
//! shape), and scans each cell's score interval; candidates are then filtered
//! by exact distance. Distances use the haversine formula with Redis's earth
//! radius. All arithmetic follows Redis step by step (the same operations in
//! the same order) so replies agree to the last digit.

pub const STEP_MAX: u8 = 26;
pub const LAT_MIN: f64 = -85.05112878;
pub const LAT_MAX: f64 = 85.05112878;
pub const LONG_MIN: f64 = -180.0;
pub const LONG_MAX: f64 = 180.0;
/// Redis's EARTH_RADIUS_IN_METERS.
pub const EARTH_RADIUS: f64 = 6372797.560856;
const MERCATOR_MAX: f64 = 20037726.37;
const D_R: f64 = std::f64::consts::PI / 180.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Hash {
    pub bits: u64,
    pub step: u8,
}

impl Hash {
    pub fn is_zero(&self) -> bool {
        self.bits == 0 && self.step == 0
    }

    /// The hash left-aligned to 52 bits (the sorted-set score).
    pub fn align52(&self) -> u64 {
        self.bits << (52 - self.step as u32 * 2)
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

/// The ranges of the stored encoding.
pub const WGS84: (Range, Range) = (Range { min: LONG_MIN, max: LONG_MAX }, Range { min: LAT_MIN, max: LAT_MAX });

#[derive(Clone, Copy, Debug)]
pub struct Area {
    pub lon: Range,
    pub lat: Range,
}

fn deg_rad(a: f64) -> f64 {
    a * D_R
}

fn rad_deg(a: f64) -> f64 {
    a / D_R
}

/// Spreads the low 32 bits of `x` and `y` over the even and odd bits.
fn interleave(x: u32, y: u32) -> u64 {
    fn spread(v: u32) -> u64 {
        let mut v = v as u64;
        v = (v | (v << 16)) & 0x0000_FFFF_0000_FFFF;
        v = (v | (v << 8)) & 0x00FF_00FF_00FF_00FF;
        v = (v | (v << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
        v = (v | (v << 2)) & 0x3333_3333_3333_3333;
        (v | (v << 1)) & 0x5555_5555_5555_5555
    }
    spread(x) | (spread(y) << 1)
}

/// The inverse of `interleave`: (even bits, odd bits).
fn deinterleave(v: u64) -> (u32, u32) {
    fn squash(mut v: u64) -> u32 {
        v &= 0x5555_5555_5555_5555;
        v = (v | (v >> 1)) & 0x3333_3333_3333_3333;
        v = (v | (v >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
        v = (v | (v >> 4)) & 0x00FF_00FF_00FF_00FF;
        v = (v | (v >> 8)) & 0x0000_FFFF_0000_FFFF;
        v = (v | (v >> 16)) & 0x0000_0000_FFFF_FFFF;
        v as u32
    }
    (squash(v), squash(v >> 1))
}

/// Encodes a point with `step` bits per axis in the given ranges; None when
/// the point is outside them (or outside the Mercator limits).
pub fn encode(lon_r: Range, lat_r: Range, lon: f64, lat: f64, step: u8) -> Option<Hash> {
    if step > 32 || step == 0 {
        return None;
    }
    if !(LONG_MIN..=LONG_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return None;
    }
    if lat < lat_r.min || lat > lat_r.max || lon < lon_r.min || lon > lon_r.max {
        return None;
    }
    let mut lat_off = (lat - lat_r.min) / (lat_r.max - lat_r.min);
    let mut lon_off = (lon - lon_r.min) / (lon_r.max - lon_r.min);
    let scale = (1u64 << step) as f64;
    lat_off *= scale;
    lon_off *= scale;
    Some(Hash { bits: interleave(lat_off as u32, lon_off as u32), step })
}

/// The stored 52-bit score of a point (None outside the limits).
pub fn encode_score(lon: f64, lat: f64) -> Option<u64> {
    encode(WGS84.0, WGS84.1, lon, lat, STEP_MAX).map(|h| h.align52())
}

pub fn decode(lon_r: Range, lat_r: Range, h: Hash) -> Option<Area> {
    if h.is_zero() {
        return None;
    }
    let (ilat, ilon) = deinterleave(h.bits);
    let lat_scale = lat_r.max - lat_r.min;
    let lon_scale = lon_r.max - lon_r.min;
    let div = (1u64 << h.step) as f64;
    Some(Area {
        lat: Range {
            min: lat_r.min + (ilat as f64 / div) * lat_scale,
            max: lat_r.min + ((ilat as f64 + 1.0) / div) * lat_scale,
        },
        lon: Range {
            min: lon_r.min + (ilon as f64 / div) * lon_scale,
            max: lon_r.min + ((ilon as f64 + 1.0) / div) * lon_scale,
        },
    })
}

/// The center of a cell, clamped to the limits: (longitude, latitude).
pub fn area_center(a: &Area) -> (f64, f64) {
    let lon = ((a.lon.min + a.lon.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let lat = ((a.lat.min + a.lat.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    (lon, lat)
}

/// The point a stored score stands for: (longitude, latitude).
pub fn decode_score(score: f64) -> Option<(f64, f64)> {
    let h = Hash { bits: crate::num::c_cast_u64(score), step: STEP_MAX };
    decode(WGS84.0, WGS84.1, h).map(|a| area_center(&a))
}

/// The 11-character base32 geohash GEOHASH replies with (standard ranges).
pub fn geohash_string(lon: f64, lat: f64) -> [u8; 11] {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let std_lon = Range { min: -180.0, max: 180.0 };
    let std_lat = Range { min: -90.0, max: 90.0 };
    let bits = encode(std_lon, std_lat, lon, lat, STEP_MAX).map(|h| h.bits).unwrap_or(0);
    let mut out = [b'0'; 11];
    for (i, c) in out.iter_mut().enumerate().take(10) {
        *c = ALPHABET[((bits >> (52 - (i + 1) * 5)) & 0x1f) as usize];
    }
    out
}

fn move_x(h: &mut Hash, d: i8) {
    if d == 0 {
        return;
    }
    let mut x = h.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let y = h.bits & 0x5555_5555_5555_5555;
    let zz = 0x5555_5555_5555_5555u64 >> (64 - h.step as u32 * 2);
    if d > 0 {
        x = x.wrapping_add(zz + 1);
    } else {
        x |= zz;
        x = x.wrapping_sub(zz + 1);
    }
    x &= 0xaaaa_aaaa_aaaa_aaaau64 >> (64 - h.step as u32 * 2);
    h.bits = x | y;
}

fn move_y(h: &mut Hash, d: i8) {
    if d == 0 {
        return;
    }
    let x = h.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let mut y = h.bits & 0x5555_5555_5555_5555;
    let zz = 0xaaaa_aaaa_aaaa_aaaau64 >> (64 - h.step as u32 * 2);
    if d > 0 {
        y = y.wrapping_add(zz + 1);
    } else {
        y |= zz;
        y = y.wrapping_sub(zz + 1);
    }
    y &= 0x5555_5555_5555_5555u64 >> (64 - h.step as u32 * 2);
    h.bits = x | y;
}

/// Neighbors in Redis's search order after the center:
/// north, south, east, west, north-east, north-west, south-east, south-west.
#[derive(Clone, Copy, Debug, Default)]
pub struct Neighbors {
    pub north: Hash,
    pub south: Hash,
    pub east: Hash,
    pub west: Hash,
    pub north_east: Hash,
    pub north_west: Hash,
    pub south_east: Hash,
    pub south_west: Hash,
}

pub fn neighbors(h: &Hash) -> Neighbors {
    let at = |dx: i8, dy: i8| {
        let mut n = *h;
        move_x(&mut n, dx);
        move_y(&mut n, dy);
        n
    };
    Neighbors {
        east: at(1, 0),
        west: at(-1, 0),
        south: at(0, -1),
        north: at(0, 1),
        north_west: at(-1, 1),
        north_east: at(1, 1),
        south_east: at(1, -1),
        south_west: at(-1, -1),
    }
}

/// Distance along a meridian.
pub fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS * (deg_rad(lat2) - deg_rad(lat1)).abs()
}

/// Haversine distance in meters.
pub fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let lon1r = deg_rad(lon1);
    let lon2r = deg_rad(lon2);
    let v = ((lon2r - lon1r) / 2.0).sin();
    // Same longitude: the cheap formula, exactly as Redis shortcuts it.
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let lat1r = deg_rad(lat1);
    let lat2r = deg_rad(lat2);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS * a.sqrt().asin()
}

/// The area searched: a circle or an axis-aligned box (sizes in the unit,
/// `conversion` meters per unit), around (lon, lat).
#[derive(Clone, Copy, Debug)]
pub enum ShapeKind {
    Radius(f64),
    Box { width: f64, height: f64 },
}

#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub lon: f64,
    pub lat: f64,
    pub conversion: f64,
    pub kind: ShapeKind,
}

impl Shape {
    /// Bounding box (min lon, min lat, max lon, max lat).
    fn bounds(&self) -> [f64; 4] {
        let (h, w) = match self.kind {
            ShapeKind::Radius(r) => (r, r),
            ShapeKind::Box { width, height } => (height / 2.0, width / 2.0),
        };
        let height = self.conversion * h;
        let width = self.conversion * w;
        let lat_delta = rad_deg(height / EARTH_RADIUS);
        let long_delta_top = rad_deg(width / EARTH_RADIUS / deg_rad(self.lat + lat_delta).cos());
        let long_delta_bottom = rad_deg(width / EARTH_RADIUS / deg_rad(self.lat - lat_delta).cos());
        let south = self.lat < 0.0;
        [
            if south { self.lon - long_delta_bottom } else { self.lon - long_delta_top },
            self.lat - lat_delta,
            if south { self.lon + long_delta_bottom } else { self.lon + long_delta_top },
            self.lat + lat_delta,
        ]
    }

    /// The distance (meters) of a point inside the shape, None outside.
    pub fn contains(&self, lon: f64, lat: f64) -> Option<f64> {
        match self.kind {
            ShapeKind::Radius(r) => {
                let d = distance(self.lon, self.lat, lon, lat);
                (d <= r * self.conversion).then_some(d)
            }
            ShapeKind::Box { width, height } => {
                let (w, h) = (width * self.conversion, height * self.conversion);
                if lat_distance(lat, self.lat) > h / 2.0 {
                    return None;
                }
                if distance(lon, lat, self.lon, lat) > w / 2.0 {
                    return None;
                }
                Some(distance(self.lon, self.lat, lon, lat))
            }
        }
    }

    /// The cells to scan, in Redis's order (center first), zero hashes
    /// marking neighbors excluded from the search.
    pub fn cells(&self) -> [Hash; 9] {
        let b = self.bounds();
        let (min_lon, min_lat, max_lon, max_lat) = (b[0], b[1], b[2], b[3]);
        let radius_m = match self.kind {
            ShapeKind::Radius(r) => r,
            ShapeKind::Box { width, height } => {
                ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
            }
        } * self.conversion;
        let mut steps = estimate_steps(radius_m, self.lat);
        let (lr, la) = WGS84;
        let at = |steps: u8| {
            let h = encode(lr, la, self.lon, self.lat, steps).unwrap_or(Hash { bits: 0, step: steps });
            (h, neighbors(&h), decode(lr, la, h))
        };
        let (mut hash, mut n, mut area) = at(steps);
        let dec = |h: Hash| decode(lr, la, h);
        let mut decrease = false;
        if let Some(a) = dec(n.north) {
            decrease |= a.lat.max < max_lat;
        }
        if let Some(a) = dec(n.south) {
            decrease |= a.lat.min > min_lat;
        }
        if let Some(a) = dec(n.east) {
            decrease |= a.lon.max < max_lon;
        }
        if let Some(a) = dec(n.west) {
            decrease |= a.lon.min > min_lon;
        }
        if steps > 1 && decrease {
            steps -= 1;
            (hash, n, area) = at(steps);
        }
        if steps >= 2 {
            if let Some(a) = area {
                let z = Hash::default();
                if a.lat.min < min_lat {
                    (n.south, n.south_west, n.south_east) = (z, z, z);
                }
                if a.lat.max > max_lat {
                    (n.north, n.north_east, n.north_west) = (z, z, z);
                }
                if a.lon.min < min_lon {
                    (n.west, n.south_west, n.north_west) = (z, z, z);
                }
                if a.lon.max > max_lon {
                    (n.east, n.south_east, n.north_east) = (z, z, z);
                }
            }
        }
        [hash, n.north, n.south, n.east, n.west, n.north_east, n.north_west, n.south_east, n.south_west]
    }
}

/// The geohash precision Redis picks for a search radius (meters).
pub fn estimate_steps(range_m: f64, lat: f64) -> u8 {
    if range_m == 0.0 {
        return 26;
    }
    let mut r = range_m;
    let mut step: i32 = 1;
    while r < MERCATOR_MAX {
        r *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

/// The score interval `[min, max)` holding every point of a cell.
pub fn cell_scores(h: Hash) -> (f64, f64) {
    let min = h.align52();
    let max = Hash { bits: h.bits + 1, step: h.step }.align52();
    (min as f64, max as f64)
}

/// A distance as GEODIST and WITHDIST reply: four decimals, rounded half
/// to even from the value times 10^4 (Redis's fixedpoint_d2string).
pub fn fmt_distance(d: f64) -> String {
    if d == 0.0 {
        return "0.0000".into();
    }
    let v = (d * 10000.0).round_ties_even();
    let v = if v >= i64::MAX as f64 {
        i64::MAX
    } else if v <= i64::MIN as f64 {
        i64::MIN
    } else {
        v as i64
    };
    let neg = v < 0;
    let a = v.unsigned_abs();
    format!("{}{}.{:04}", if neg { "-" } else { "" }, a / 10000, a % 10000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_roundtrip() {
        for (x, y) in [(0u32, 0u32), (1, 0), (0, 1), (0x3ff_ffff, 0x155_5555), (12345, 67890)] {
            assert_eq!(deinterleave(interleave(x, y)), (x, y));
        }
        assert_eq!(interleave(1, 0), 1);
        assert_eq!(interleave(0, 1), 2);
    }

    #[test]
    fn known_points() {
        // Palermo, as in Redis's documentation examples.
        let s = encode_score(13.361389, 38.115556).unwrap();
        assert_eq!(s, 3479099956230698);
        let (lon, lat) = decode_score(s as f64).unwrap();
        assert!((lon - 13.361389).abs() < 1e-5 && (lat - 38.115556).abs() < 1e-5);
        let c = encode_score(15.087269, 37.502669).unwrap() as f64;
        let (lon2, lat2) = decode_score(c).unwrap();
        assert_eq!(fmt_distance(distance(lon, lat, lon2, lat2)), "166274.1516");
        assert_eq!(&geohash_string(lon, lat), b"sqc8b49rny0");
        assert!(encode_score(0.0, 86.0).is_none());
    }

    #[test]
    fn distance_format() {
        assert_eq!(fmt_distance(0.0), "0.0000");
        assert_eq!(fmt_distance(0.00005), "0.0000");
        assert_eq!(fmt_distance(1.23456), "1.2346");
        assert_eq!(fmt_distance(12345.6), "12345.6000");
    }

    #[test]
    fn steps() {
        assert_eq!(estimate_steps(0.0, 0.0), 26);
        assert_eq!(estimate_steps(1e9, 0.0), 1);
        assert!(estimate_steps(1000.0, 0.0) > estimate_steps(1000.0, 85.0));
    }

    #[test]
    fn scores_cast_like_c() {
        // All bits set decodes to the clamped corner, as Redis replies.
        assert_eq!(decode_score(-1.0), Some((180.0, LAT_MAX)));
    }
}
