//! Partial quicksort with the element order Redis's `pqsort` produces.
//!
//! SORT ... LIMIT (with BY) and GEO searches with COUNT sort only the range
//! they return, with Bentley and McIlroy's three-way quicksort ("Engineering
//! a Sort Function", 1993): median-of-three (ninther above 40 elements)
//! pivots, equal keys gathered at both ends and swapped to the middle,
//! insertion sort below 7 elements, and recursion skipped for partitions
//! that cannot reach the wanted range. The algorithm is not stable, so
//! elements that compare equal come out in an order only this exact
//! procedure reproduces; that order is observable, hence this module.

use std::cmp::Ordering;

/// Sorts `v` so that positions `lo..=hi` hold what a full sort would put
/// there (other positions are partially ordered).
pub fn pqsort<T>(v: &mut [T], lo: usize, hi: usize, cmp: &impl Fn(&T, &T) -> Ordering) {
    if v.is_empty() {
        return;
    }
    part(v, 0, v.len(), lo, hi, cmp);
}

fn med3<T>(v: &[T], a: usize, b: usize, c: usize, cmp: &impl Fn(&T, &T) -> Ordering) -> usize {
    if cmp(&v[a], &v[b]) == Ordering::Less {
        if cmp(&v[b], &v[c]) == Ordering::Less {
            b
        } else if cmp(&v[a], &v[c]) == Ordering::Less {
            c
        } else {
            a
        }
    } else if cmp(&v[b], &v[c]) == Ordering::Greater {
        b
    } else if cmp(&v[a], &v[c]) == Ordering::Less {
        a
    } else {
        c
    }
}

/// Swaps the `n` elements starting at `a` with the `n` starting at `b`.
fn vecswap<T>(v: &mut [T], a: usize, b: usize, n: usize) {
    for i in 0..n {
        v.swap(a + i, b + i);
    }
}

/// True if `[start, start + n)` can hold a position of `lo..=hi`.
fn reaches(start: usize, n: usize, lo: usize, hi: usize) -> bool {
    !((lo < start && hi < start) || (lo >= start + n && hi >= start + n))
}

fn part<T>(v: &mut [T], mut a: usize, mut n: usize, lo: usize, hi: usize, cmp: &impl Fn(&T, &T) -> Ordering) {
    loop {
        if n < 7 {
            for m in a + 1..a + n {
                let mut l = m;
                while l > a && cmp(&v[l - 1], &v[l]) == Ordering::Greater {
                    v.swap(l, l - 1);
                    l -= 1;
                }
            }
            return;
        }
        let mut pm = a + n / 2;
        if n > 7 {
            let mut pl = a;
            let mut pn = a + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d, cmp);
                pm = med3(v, pm - d, pm, pm + d, cmp);
                pn = med3(v, pn - 2 * d, pn - d, pn, cmp);
            }
            pm = med3(v, pl, pm, pn, cmp);
        }
        v.swap(a, pm);
        let (mut pa, mut pb) = (a + 1, a + 1);
        // pc/pd may step below `a + 1`; kept as signed positions.
        let (mut pc, mut pd) = ((a + n - 1) as isize, (a + n - 1) as isize);
        loop {
            while pb as isize <= pc {
                let r = cmp(&v[pb], &v[a]);
                if r == Ordering::Greater {
                    break;
                }
                if r == Ordering::Equal {
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb as isize <= pc {
                let r = cmp(&v[pc as usize], &v[a]);
                if r == Ordering::Less {
                    break;
                }
                if r == Ordering::Equal {
                    v.swap(pc as usize, pd as usize);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb as isize > pc {
                break;
            }
            v.swap(pb, pc as usize);
            pb += 1;
            pc -= 1;
        }
        let pn = a + n;
        let r = (pa - a).min(pb - pa);
        vecswap(v, a, pb - r, r);
        let r = ((pd - pc) as usize).min(pn - pd as usize - 1);
        vecswap(v, pb, pn - r, r);
        let left = pb - pa;
        if left > 1 && reaches(a, left, lo, hi) {
            part(v, a, left, lo, hi, cmp);
        }
        let right = (pd - pc) as usize;
        if right > 1 {
            a = pn - right;
            n = right;
            if reaches(a, n, lo, hi) {
                continue;
            }
        }
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn range_is_sorted(mut v in proptest::collection::vec(0u8..20, 0..300), a in 0usize..300, b in 0usize..300) {
            if v.is_empty() { return Ok(()); }
            let (lo, hi) = (a.min(b) % v.len(), a.max(b) % v.len());
            let (lo, hi) = (lo.min(hi), lo.max(hi));
            let mut want = v.clone();
            want.sort();
            pqsort(&mut v, lo, hi, &|x: &u8, y: &u8| x.cmp(y));
            prop_assert_eq!(&v[lo..=hi], &want[lo..=hi]);
        }

        #[test]
        fn full_range_sorts(mut v in proptest::collection::vec(any::<i32>(), 0..300)) {
            let mut want = v.clone();
            want.sort();
            let n = v.len();
            if n > 0 { pqsort(&mut v, 0, n - 1, &|x: &i32, y: &i32| x.cmp(y)); }
            prop_assert_eq!(v, want);
        }
    }
}
