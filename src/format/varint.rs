//! SQLite varints (`src/util.c sqlite3GetVarint`, `src/btreeInt.h`): 1 to 9 bytes, big-endian
//! groups of 7 bits; a byte with its high bit set is followed by another; the ninth byte, when
//! reached, contributes all 8 of its bits. Values are u64; rowids read them as two's-complement
//! i64 (negative values always take 9 bytes).

/// Longest varint.
pub const MAX_VARINT_LEN: usize = 9;

/// Decode the varint starting at `off`: `(value, length in bytes)`, or `None` when the input
/// ends before the varint does.
#[inline]
pub fn read_varint(b: &[u8], off: usize) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for i in 0..8 {
        let byte = *b.get(off.checked_add(i)?)?;
        v = (v << 7) | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    let byte = *b.get(off.checked_add(8)?)?;
    Some(((v << 8) | u64::from(byte), MAX_VARINT_LEN))
}

/// Decode a varint as a signed 64-bit integer (rowids, integer keys).
#[inline]
pub fn read_varint_i64(b: &[u8], off: usize) -> Option<(i64, usize)> {
    read_varint(b, off).map(|(v, n)| (v as i64, n))
}

/// Number of bytes SQLite uses to encode `v`.
pub fn varint_len(v: u64) -> usize {
    if v > 0x00ff_ffff_ffff_ffff {
        return MAX_VARINT_LEN;
    }
    let mut n = 1;
    let mut x = v >> 7;
    while x != 0 {
        n += 1;
        x >>= 7;
    }
    n
}

/// Encode `v` as SQLite does (for tests and tools that build pages).
pub fn write_varint(v: u64) -> Vec<u8> {
    if v > 0x00ff_ffff_ffff_ffff {
        let mut out = Vec::with_capacity(9);
        let hi = v >> 8;
        for i in (0..8).rev() {
            out.push((((hi >> (7 * i)) & 0x7f) as u8) | 0x80);
        }
        out.push((v & 0xff) as u8);
        return out;
    }
    let n = varint_len(v);
    let mut out = Vec::with_capacity(n);
    for i in (0..n).rev() {
        let b = ((v >> (7 * i)) & 0x7f) as u8;
        out.push(if i == 0 { b } else { b | 0x80 });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_to_nine_bytes() {
        assert_eq!(read_varint(&[0x00], 0), Some((0, 1)));
        assert_eq!(read_varint(&[0x7f], 0), Some((127, 1)));
        assert_eq!(read_varint(&[0x81, 0x00], 0), Some((128, 2)));
        assert_eq!(read_varint(&[0xff; 9], 0), Some((u64::MAX, 9)));
        assert_eq!(read_varint_i64(&[0xff; 9], 0), Some((-1, 9)));
        assert_eq!(read_varint(&[0x81], 0), None);
        assert_eq!(read_varint(&[0x81, 0x00], 1), Some((0, 1)));
        assert_eq!(read_varint(&[0x81, 0x00], 2), None);
        assert_eq!(read_varint(&[0x81, 0x00], usize::MAX), None);
    }

    #[test]
    fn round_trip() {
        let cases = [0u64, 1, 127, 128, 240, 2287, 16383, 16384, 1 << 35, 0x00ff_ffff_ffff_ffff, 1 << 56, u64::MAX];
        for v in cases {
            let e = write_varint(v);
            assert_eq!(e.len(), varint_len(v), "{v}");
            assert_eq!(read_varint(&e, 0), Some((v, e.len())), "{v}");
        }
        for v in [-1i64, i64::MIN, -5] {
            let e = write_varint(v as u64);
            assert_eq!(e.len(), 9);
            assert_eq!(read_varint_i64(&e, 0), Some((v, 9)));
        }
    }
}
