//! `Bytes16`: an owned byte string in 16 bytes, for collection members.
//!
//! Up to 15 bytes live inside the value (a short member such as `1234567`
//! or `member:123456` costs no allocation at all); longer strings keep a
//! pointer to an exact-size heap block and their length in the remaining
//! bytes. The last byte tells the two apart: an inline length (0..=15) or
//! `HEAP`. Large sets and sorted sets keep one `Bytes16` per member in a
//! dense vector, so a member costs 16 bytes plus its index slot.
//!
//! Equality, hashing and ordering are those of the bytes.

use std::ptr;

/// Bytes held without a heap allocation.
pub const INLINE: usize = 15;
const HEAP: u8 = 0xFF;

#[repr(C, align(8))]
pub struct Bytes16 {
    data: [u8; INLINE],
    tag: u8,
}

// SAFETY: a `Bytes16` uniquely owns its heap block, like a `Box<[u8]>`.
unsafe impl Send for Bytes16 {}
unsafe impl Sync for Bytes16 {}

impl Bytes16 {
    pub fn new(b: &[u8]) -> Bytes16 {
        if b.len() <= INLINE {
            let mut data = [0u8; INLINE];
            data[..b.len()].copy_from_slice(b);
            return Bytes16 { data, tag: b.len() as u8 };
        }
        let len = b.len() as u64;
        assert!(len < 1 << 56, "member too long");
        let p = Box::into_raw(Box::<[u8]>::from(b)) as *mut u8;
        let mut data = [0u8; INLINE];
        data[..8].copy_from_slice(&(p as usize as u64).to_le_bytes());
        data[8..].copy_from_slice(&len.to_le_bytes()[..7]);
        Bytes16 { data, tag: HEAP }
    }

    #[inline]
    fn heap_parts(&self) -> (*mut u8, usize) {
        let p = u64::from_le_bytes(self.data[..8].try_into().expect("8 bytes")) as usize as *mut u8;
        let mut l = [0u8; 8];
        l[..7].copy_from_slice(&self.data[8..]);
        (p, u64::from_le_bytes(l) as usize)
    }

    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        if self.tag != HEAP {
            &self.data[..self.tag as usize]
        } else {
            let (p, len) = self.heap_parts();
            // SAFETY: `p`/`len` describe the live block leaked in `new`.
            unsafe { std::slice::from_raw_parts(p, len) }
        }
    }

    /// Heap bytes owned besides the 16 bytes of the value.
    pub fn heap_bytes(&self) -> usize {
        if self.tag == HEAP {
            self.heap_parts().1
        } else {
            0
        }
    }
}

impl Drop for Bytes16 {
    fn drop(&mut self) {
        if self.tag == HEAP {
            let (p, len) = self.heap_parts();
            // SAFETY: rebuilds the box leaked in `new`, exactly once.
            drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(p, len)) });
        }
    }
}

impl std::ops::Deref for Bytes16 {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Clone for Bytes16 {
    fn clone(&self) -> Bytes16 {
        Bytes16::new(self)
    }
}

impl Default for Bytes16 {
    fn default() -> Bytes16 {
        Bytes16 { data: [0; INLINE], tag: 0 }
    }
}

impl std::fmt::Debug for Bytes16 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self))
    }
}

impl PartialEq for Bytes16 {
    fn eq(&self, o: &Bytes16) -> bool {
        self.as_slice() == o.as_slice()
    }
}

impl Eq for Bytes16 {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_and_heap() {
        assert_eq!(std::mem::size_of::<Bytes16>(), 16);
        for n in [0usize, 1, 15, 16, 17, 300, 70000] {
            let v: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let b = Bytes16::new(&v);
            assert_eq!(&*b, &v[..]);
            assert_eq!(b.heap_bytes(), if n > INLINE { n } else { 0 });
            assert_eq!(&*b.clone(), &v[..]);
        }
        assert!(Bytes16::default().is_empty());
    }
}
