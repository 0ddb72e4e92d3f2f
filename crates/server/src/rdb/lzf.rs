//! LZF, the compression of RDB strings (Redis's lzf_c.c / lzf_d.c, in our
//! words). The compressor makes the same choices as the reference build Redis
//! uses, so compressed strings in a DUMP payload are Redis's bytes.

/// LZF compression with the choices of the reference compressor as Redis
/// builds it (16-bit hash of the next three bytes, back references up to
/// 8 KiB away and 264 bytes long, literal runs of up to 32 bytes, two hash
/// updates after each match), so the output is byte for byte what Redis
/// writes. `None` if the result would not fit in `max` bytes.
pub fn compress(input: &[u8], max: usize) -> Option<Vec<u8>> {
    const HLOG: u32 = 16;
    const HSIZE: usize = 1 << HLOG;
    const MAX_OFF: usize = 1 << 13;
    const MAX_REF: usize = (1 << 8) + (1 << 3);
    let n = input.len();
    if n == 0 || max == 0 {
        return None;
    }
    let idx = |h: u32| ((h >> (24 - HLOG)).wrapping_sub(h.wrapping_mul(5)) as usize) & (HSIZE - 1);
    let first = |i: usize| ((input[i] as u32) << 8) | input[i + 1] as u32;
    let next = |h: u32, i: usize| (h << 8) | input[i + 2] as u32;
    // Positions are stored plus one; 0 means empty (never a match, as in
    // the reference, where a reference to the first byte is refused).
    let mut table = vec![0u32; HSIZE];
    let mut out: Vec<u8> = Vec::with_capacity(max);
    // `run` is the index of the current literal run's length byte.
    let mut run = 0usize;
    out.push(0);
    let mut lit = 0usize;
    let mut ip = 0usize;
    let mut h = if n >= 2 { first(0) } else { 0 };
    while n >= 3 && ip < n - 2 {
        h = next(h, ip);
        let slot = idx(h);
        let cand = table[slot] as usize;
        table[slot] = ip as u32 + 1;
        let found = cand > 1 && {
            let r = cand - 1;
            let off = ip - r - 1;
            off < MAX_OFF && input[r + 2] == input[ip + 2] && input[r] == input[ip] && input[r + 1] == input[ip + 1]
        };
        if !found {
            push_literal(&mut out, input[ip], &mut lit, &mut run, max)?;
            ip += 1;
            continue;
        }
        let r = cand - 1;
        let off = ip - r - 1;
        let maxlen = (n - ip - 2).min(MAX_REF);
        // Room for the reference (3 bytes) and the next run's length byte.
        let base = if lit == 0 { out.len() - 1 } else { out.len() };
        if base + 3 + 1 >= max {
            return None;
        }
        if lit == 0 {
            out.pop();
        } else {
            out[run] = (lit - 1) as u8;
        }
        // The reference compares 16 bytes unchecked when more than 16 may
        // match (the input is long enough for that), then byte by byte.
        let mut len = 2usize;
        let mut done = false;
        if maxlen > 16 {
            for _ in 0..16 {
                len += 1;
                if input[r + len] != input[ip + len] {
                    done = true;
                    break;
                }
            }
        }
        if !done {
            loop {
                len += 1;
                if !(len < maxlen && input[r + len] == input[ip + len]) {
                    break;
                }
            }
        }
        len -= 2;
        ip += 1;
        if len < 7 {
            out.push(((off >> 8) + (len << 5)) as u8);
        } else {
            out.push(((off >> 8) + (7 << 5)) as u8);
            out.push((len - 7) as u8);
        }
        out.push(off as u8);
        lit = 0;
        run = out.len();
        out.push(0);
        ip += len + 1;
        if ip >= n - 2 {
            break;
        }
        // Hash the two positions before the new one.
        ip -= 2;
        h = first(ip);
        h = next(h, ip);
        table[idx(h)] = ip as u32 + 1;
        ip += 1;
        h = next(h, ip);
        table[idx(h)] = ip as u32 + 1;
        ip += 1;
        h = first(ip);
    }
    // The reference checks the room for the last (at most three) bytes
    // once, before copying them: an output that would end exactly at `max`
    // (or one to two bytes before) is refused too.
    if out.len() + 3 > max {
        return None;
    }
    while ip < n {
        push_literal(&mut out, input[ip], &mut lit, &mut run, usize::MAX)?;
        ip += 1;
    }
    if lit == 0 {
        out.pop();
    } else {
        out[run] = (lit - 1) as u8;
    }
    Some(out)
}

/// Appends one literal byte to the current run of `lzf_compress` (runs
/// hold up to 32 bytes; a full run gets its length byte and a new run
/// starts). `None` if the output would pass `max` bytes.
fn push_literal(out: &mut Vec<u8>, b: u8, lit: &mut usize, run: &mut usize, max: usize) -> Option<()> {
    const MAX_LIT: usize = 1 << 5;
    if out.len() >= max {
        return None;
    }
    *lit += 1;
    out.push(b);
    if *lit == MAX_LIT {
        out[*run] = (*lit - 1) as u8;
        *lit = 0;
        *run = out.len();
        out.push(0);
    }
    Some(())
}

/// LZF decompression (the format Redis compresses RDB strings with).
pub fn decompress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    // One back reference (3 bytes) yields at most 264 bytes, so a longer
    // claimed output is a lie: refuse it before allocating.
    if out_len > 512 * 1024 * 1024 || out_len > input.len().saturating_mul(90) + 64 {
        return None;
    }
    let mut out = Vec::with_capacity(out_len);
    let mut i = 0;
    while i < input.len() {
        let ctrl = input[i] as usize;
        i += 1;
        if ctrl < 32 {
            let n = ctrl + 1;
            out.extend_from_slice(input.get(i..i + n)?);
            i += n;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += *input.get(i)? as usize;
                i += 1;
            }
            let back = ((ctrl & 0x1f) << 8) + *input.get(i)? as usize + 1;
            i += 1;
            let start = out.len().checked_sub(back)?;
            for k in 0..len + 2 {
                let c = out[start + k];
                out.push(c);
            }
        }
        if out.len() > out_len {
            return None;
        }
    }
    (out.len() == out_len).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let text =
            b"redis.register_function('a', function() return redis.call('get', 'aaaaaaaaaaaaaaaa') end)".repeat(9);
        let c = compress(&text, text.len() - 4).unwrap();
        assert!(c.len() < text.len() / 3);
        assert_eq!(decompress(&c, text.len()).unwrap(), text);
        // Incompressible input does not fit.
        let noise: Vec<u8> = (0..200u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        assert!(compress(&noise, noise.len() - 4).is_none());
        // Redis stores this 23-byte HLL header raw: the compressed form would
        // reach the limit (19 bytes) in the last three bytes.
        let hll = b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80zS\x88E\xa0\x84\x08";
        assert!(compress(hll, hll.len() - 4).is_none());
        let long = vec![b'x'; 100_000];
        let c = compress(&long, long.len() - 4).unwrap();
        assert_eq!(decompress(&c, long.len()).unwrap(), long);
    }

    #[test]
    fn decompress_checks() {
        // "abcabcabc": literal "abc", then a back reference of 6 bytes.
        let c = [2, b'a', b'b', b'c', (4 << 5), 2];
        assert_eq!(decompress(&c, 9).unwrap(), b"abcabcabc");
        assert!(decompress(&[0x20, 5], 3).is_none());
        assert!(decompress(&c, 8).is_none());
        assert!(decompress(&c, 10).is_none());
        assert!(decompress(&c, usize::MAX).is_none());
    }
}
