//! `CompactBytes`: an immutable byte string in 24 bytes, for keys and small values.
//!
//! Up to `INLINE` (23) bytes live inside the value itself, so a typical key
//! (`user:1000`, `key:12345678`) or a short embstr costs no heap allocation
//! at all; longer strings keep a pointer and a length to an exact-size heap
//! block. The last byte is a tag (the inline length, or `HEAP`): being an
//! enum, it leaves the unused tag values to the compiler as a niche, so an
//! enum holding a `CompactBytes` beside 8-byte variants (`Str`, `Value`) stays at
//! 24 bytes.
//!
//! Hashing, equality and ordering are those of the `[u8]` it derefs to, so
//! maps keyed by `CompactBytes` are looked up with a plain `&[u8]`.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::ptr;

/// CompactBytes held without a heap allocation.
pub const INLINE: usize = 23;

/// The tag byte: an inline length (0..=23) or `Heap`.
#[allow(dead_code)] // variants are made by transmuting a checked length
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Tag {
    L0,
    L1,
    L2,
    L3,
    L4,
    L5,
    L6,
    L7,
    L8,
    L9,
    L10,
    L11,
    L12,
    L13,
    L14,
    L15,
    L16,
    L17,
    L18,
    L19,
    L20,
    L21,
    L22,
    L23,
    Heap,
}

impl Tag {
    fn inline(len: usize) -> Tag {
        assert!(len <= INLINE);
        // SAFETY: `Tag` is `repr(u8)` with variants 0..=23 in order, and
        // `len` was just checked to be in that range.
        unsafe { std::mem::transmute::<u8, Tag>(len as u8) }
    }
}

/// Inline: `data[..tag]` holds the bytes. Heap: `data[0..8]` holds the
/// pointer and `data[8..16]` the length of a leaked `Box<[u8]>`.
#[repr(C, align(8))]
pub struct CompactBytes {
    data: [u8; INLINE],
    tag: Tag,
}

// SAFETY: `CompactBytes` uniquely owns its heap block (like `Box<[u8]>`) and never
// shares it; the pointer is stored as plain bytes, so the auto traits would
// be derived anyway — these make the intent explicit.
unsafe impl Send for CompactBytes {}
unsafe impl Sync for CompactBytes {}

impl CompactBytes {
    pub fn new(b: &[u8]) -> CompactBytes {
        if b.len() <= INLINE {
            let mut data = [0u8; INLINE];
            data[..b.len()].copy_from_slice(b);
            CompactBytes { data, tag: Tag::inline(b.len()) }
        } else {
            CompactBytes::from_box(b.into())
        }
    }

    fn from_box(b: Box<[u8]>) -> CompactBytes {
        if b.len() <= INLINE {
            return CompactBytes::new(&b);
        }
        let len = b.len();
        let p = Box::into_raw(b) as *mut u8;
        let mut out = CompactBytes { data: [0u8; INLINE], tag: Tag::Heap };
        // SAFETY: `data` is at offset 0 of an 8-aligned struct and is 23
        // bytes long, so both 8-byte writes are in bounds (unaligned writes
        // are used anyway).
        unsafe {
            ptr::write_unaligned(out.data.as_mut_ptr() as *mut *mut u8, p);
            ptr::write_unaligned(out.data.as_mut_ptr().add(8) as *mut usize, len);
        }
        out
    }

    /// True if the bytes are held without a heap allocation.
    pub fn is_inline(&self) -> bool {
        self.tag != Tag::Heap
    }

    /// Pointer and length of the heap block (only when `!is_inline()`).
    fn heap_parts(&self) -> (*mut u8, usize) {
        // SAFETY: see `from_box`.
        unsafe {
            (
                ptr::read_unaligned(self.data.as_ptr() as *const *mut u8),
                ptr::read_unaligned(self.data.as_ptr().add(8) as *const usize),
            )
        }
    }

    pub fn as_slice(&self) -> &[u8] {
        if self.is_inline() {
            &self.data[..self.tag as usize]
        } else {
            let (p, len) = self.heap_parts();
            // SAFETY: `p`/`len` come from a live `Box<[u8]>` owned by self.
            unsafe { std::slice::from_raw_parts(p, len) }
        }
    }
}

impl Drop for CompactBytes {
    fn drop(&mut self) {
        if !self.is_inline() {
            let (p, len) = self.heap_parts();
            // SAFETY: rebuilds the box leaked in `from_box`, exactly once.
            drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(p, len)) });
        }
    }
}

impl Deref for CompactBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for CompactBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Borrow<[u8]> for CompactBytes {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Clone for CompactBytes {
    fn clone(&self) -> CompactBytes {
        CompactBytes::new(self)
    }
}

impl Default for CompactBytes {
    fn default() -> CompactBytes {
        CompactBytes::new(b"")
    }
}

impl Hash for CompactBytes {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.as_slice().hash(h)
    }
}

impl PartialEq for CompactBytes {
    fn eq(&self, o: &CompactBytes) -> bool {
        self.as_slice() == o.as_slice()
    }
}

impl Eq for CompactBytes {}

impl PartialEq<[u8]> for CompactBytes {
    fn eq(&self, o: &[u8]) -> bool {
        self.as_slice() == o
    }
}

impl PartialOrd for CompactBytes {
    fn partial_cmp(&self, o: &CompactBytes) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for CompactBytes {
    fn cmp(&self, o: &CompactBytes) -> std::cmp::Ordering {
        self.as_slice().cmp(o.as_slice())
    }
}

impl fmt::Debug for CompactBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self))
    }
}

impl From<&[u8]> for CompactBytes {
    fn from(b: &[u8]) -> CompactBytes {
        CompactBytes::new(b)
    }
}

impl<const N: usize> From<&[u8; N]> for CompactBytes {
    fn from(b: &[u8; N]) -> CompactBytes {
        CompactBytes::new(b)
    }
}

impl From<&str> for CompactBytes {
    fn from(s: &str) -> CompactBytes {
        CompactBytes::new(s.as_bytes())
    }
}

impl From<Box<[u8]>> for CompactBytes {
    fn from(b: Box<[u8]>) -> CompactBytes {
        CompactBytes::from_box(b)
    }
}

impl From<Vec<u8>> for CompactBytes {
    fn from(v: Vec<u8>) -> CompactBytes {
        if v.len() <= INLINE {
            CompactBytes::new(&v)
        } else {
            CompactBytes::from_box(v.into_boxed_slice())
        }
    }
}

impl From<&Vec<u8>> for CompactBytes {
    fn from(v: &Vec<u8>) -> CompactBytes {
        CompactBytes::new(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(std::mem::size_of::<CompactBytes>(), 24);
        assert_eq!(std::mem::size_of::<Option<CompactBytes>>(), 24);
    }

    #[test]
    fn inline_heap_boundary() {
        for n in [0, 1, 22, 23, 24, 25, 44, 1000] {
            let v: Vec<u8> = (0..n).map(|i| i as u8).collect();
            for b in
                [CompactBytes::new(&v), CompactBytes::from(v.clone()), CompactBytes::from(v.clone().into_boxed_slice())]
            {
                assert_eq!(b.is_inline(), n <= INLINE, "len {n}");
                assert_eq!(&*b, &v[..]);
                let c = b.clone();
                assert_eq!(c, b);
                assert_eq!(c.len(), n);
                drop(b);
                assert_eq!(&*c, &v[..]);
            }
        }
    }

    #[test]
    fn hashes_and_compares_like_slices() {
        let s = ahash::RandomState::new();
        for v in [&b""[..], b"a", b"key:12345678", &[7u8; 23], &[9u8; 24], &[1u8; 300]] {
            let b = CompactBytes::new(v);
            assert_eq!(s.hash_one(&b), s.hash_one(v));
        }
        let mut m = indexmap::IndexMap::<CompactBytes, u32, ahash::RandomState>::default();
        m.insert(CompactBytes::new(b"short"), 1);
        m.insert(CompactBytes::new(&[b'x'; 40]), 2);
        assert_eq!(m.get(&b"short"[..]), Some(&1));
        assert_eq!(m.get(&[b'x'; 40][..]), Some(&2));
        assert!(CompactBytes::new(b"ab") < CompactBytes::new(b"b"));
        assert!(CompactBytes::new(&[b'a'; 30]) < CompactBytes::new(b"b"));
    }
}
