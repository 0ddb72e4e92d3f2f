//! CRC16 (XMODEM / CCITT, polynomial 0x1021) and Redis Cluster hash slots.

const fn table() -> [u16; 256] {
    let mut t = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = (i as u16) << 8;
        let mut j = 0;
        while j < 8 {
            c = if c & 0x8000 != 0 { (c << 1) ^ 0x1021 } else { c << 1 };
            j += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
}

static TABLE: [u16; 256] = table();

/// `SLICES[k][x]`: the CRC of byte `x` followed by `k` zero bytes. The CRC
/// is linear and starts from 0, so the CRC of 8 bytes after a state `c` is
/// the XOR of the slices of each byte, `c` XORed into the first two: eight
/// independent table reads instead of a chain of eight dependent ones.
const fn slices() -> [[u16; 256]; 8] {
    let t = table();
    let mut s = [[0u16; 256]; 8];
    let mut x = 0;
    while x < 256 {
        s[0][x] = t[x];
        let mut k = 1;
        while k < 8 {
            let c = s[k - 1][x];
            s[k][x] = (c << 8) ^ t[(c >> 8) as usize];
            k += 1;
        }
        x += 1;
    }
    s
}

static SLICES: [[u16; 256]; 8] = slices();

pub fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let s = &SLICES;
        crc = s[7][(c[0] ^ (crc >> 8) as u8) as usize]
            ^ s[6][(c[1] ^ crc as u8) as usize]
            ^ s[5][c[2] as usize]
            ^ s[4][c[3] as usize]
            ^ s[3][c[4] as usize]
            ^ s[2][c[5] as usize]
            ^ s[1][c[6] as usize]
            ^ s[0][c[7] as usize];
    }
    for &b in chunks.remainder() {
        crc = (crc << 8) ^ TABLE[(((crc >> 8) as u8) ^ b) as usize];
    }
    crc
}

/// The cluster slot of a key: CRC16 of the `{tag}` if there is a non-empty
/// one, else of the whole key, modulo 16384.
pub fn key_hash_slot(key: &[u8]) -> u16 {
    if let Some(s) = key.iter().position(|&c| c == b'{') {
        if let Some(e) = key[s + 1..].iter().position(|&c| c == b'}') {
            if e > 0 {
                return crc16(&key[s + 1..s + 1 + e]) & 0x3FFF;
            }
        }
    }
    crc16(key) & 0x3FFF
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Byte at a time, as the specification defines it.
    fn crc16_bytewise(data: &[u8]) -> u16 {
        let mut crc: u16 = 0;
        for &b in data {
            crc = (crc << 8) ^ TABLE[(((crc >> 8) as u8) ^ b) as usize];
        }
        crc
    }

    #[test]
    fn sliced_equals_bytewise() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for len in 0..200 {
            for _ in 0..20 {
                let data: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x as u8
                    })
                    .collect();
                assert_eq!(crc16(&data), crc16_bytewise(&data), "{data:?}");
            }
        }
    }

    #[test]
    fn known_slots() {
        // Values from the Redis Cluster specification.
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(key_hash_slot(b"foo"), 12182);
        assert_eq!(key_hash_slot(b"{user1000}.following"), key_hash_slot(b"user1000"));
        assert_eq!(key_hash_slot(b"foo{}{bar}"), key_hash_slot(b"foo{}{bar}"));
        assert_eq!(key_hash_slot(b"{}x"), crc16(b"{}x") & 0x3FFF);
    }
}
