//! A command's arguments as slices of the input buffer, built without a
//! heap allocation for up to eight of them (nearly every command): the
//! connection loop and the prefetcher build one per command.

use std::ops::{Deref, Range};

const INLINE: usize = 8;

pub enum Argv<'a> {
    Inline([&'a [u8]; INLINE], usize),
    Heap(Vec<&'a [u8]>),
}

impl<'a> Argv<'a> {
    /// The arguments at `ranges` (offsets from `base`) of `buf`.
    #[inline]
    pub fn from_ranges(buf: &'a [u8], base: usize, ranges: &[Range<usize>]) -> Argv<'a> {
        if ranges.len() <= INLINE {
            let mut a: [&'a [u8]; INLINE] = [&[]; INLINE];
            for (slot, r) in a.iter_mut().zip(ranges) {
                *slot = &buf[base + r.start..base + r.end];
            }
            Argv::Inline(a, ranges.len())
        } else {
            Argv::Heap(ranges.iter().map(|r| &buf[base + r.start..base + r.end]).collect())
        }
    }

    /// Arguments that live elsewhere (inline commands).
    pub fn from_slices(v: &'a [Vec<u8>]) -> Argv<'a> {
        Argv::Heap(v.iter().map(|a| a.as_slice()).collect())
    }
}

impl<'a> Deref for Argv<'a> {
    type Target = [&'a [u8]];

    #[inline]
    fn deref(&self) -> &[&'a [u8]] {
        match self {
            Argv::Inline(a, n) => &a[..*n],
            Argv::Heap(v) => v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_and_heap() {
        let buf = b"abcdefghijklmnopqrstuvwxyz";
        let r: Vec<Range<usize>> = (0..3).map(|i| i * 2..i * 2 + 1).collect();
        let a = Argv::from_ranges(buf, 1, &r);
        assert!(matches!(a, Argv::Inline(..)));
        assert_eq!(&*a, &[&b"b"[..], b"d", b"f"]);
        let r: Vec<Range<usize>> = (0..10).map(|i| i..i + 2).collect();
        let a = Argv::from_ranges(buf, 0, &r);
        assert!(matches!(a, Argv::Heap(..)));
        assert_eq!(a.len(), 10);
        assert_eq!(a[9], b"jk");
        assert!(Argv::from_ranges(buf, 0, &[]).is_empty());
    }
}
