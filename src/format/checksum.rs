//! SQLite's WAL checksum (`walChecksumBytes` in `src/wal.c`).
//!
//! The input is read as 32-bit words, two at a time, into a running state `(s0, s1)`:
//! `s0 += a + s1; s1 += b + s0` (wrapping). The word byte order is chosen by the low bit of the
//! WAL magic (0x377f0683: big-endian words, 0x377f0682: little-endian words), independent of
//! the host. The -shm header checksum uses the same recurrence in the -shm's native order.

/// Byte order of the 32-bit words fed into the checksum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WordOrder {
    Little,
    Big,
}

/// Continue the checksum `seed` over `data`. Trailing bytes beyond a multiple of 8 are ignored
/// (SQLite only ever checksums multiples of 8 bytes).
#[inline]
pub fn wal_checksum(order: WordOrder, data: &[u8], seed: [u32; 2]) -> [u32; 2] {
    match order {
        WordOrder::Little => checksum_words(data, seed, u32::from_le_bytes),
        WordOrder::Big => checksum_words(data, seed, u32::from_be_bytes),
    }
}

#[inline(always)]
fn checksum_words(data: &[u8], seed: [u32; 2], word: fn([u8; 4]) -> u32) -> [u32; 2] {
    let [mut s0, mut s1] = seed;
    for pair in data.chunks_exact(8) {
        let (a, b) = pair.split_at(4);
        let a = word(a.try_into().unwrap_or([0; 4]));
        let b = word(b.try_into().unwrap_or([0; 4]));
        s0 = s0.wrapping_add(a).wrapping_add(s1);
        s1 = s1.wrapping_add(b).wrapping_add(s0);
    }
    [s0, s1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_from_the_reference() {
        let w = [0u8, 0, 0, 1, 0, 0, 0, 2];
        assert_eq!(wal_checksum(WordOrder::Big, &w, [0, 0]), [1, 3]);
        assert_eq!(wal_checksum(WordOrder::Little, &w, [0, 0]), [0x0100_0000, 0x0300_0000]);
        // A real WAL header (magic 0x377f0682 => little-endian words).
        let hdr: [u8; 24] = [
            0x37, 0x7f, 0x06, 0x82, 0x00, 0x2d, 0xe2, 0x18, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00,
            0x00, 0x02, 0x85, 0x5a, 0x7b, 0x97, 0x4f, 0x1a, 0xff, 0xfe,
        ];
        assert_eq!(wal_checksum(WordOrder::Little, &hdr, [0, 0]), [0x6e4a_5d98, 0x2725_4f8c]);
    }

    #[test]
    fn shm_header_vector() {
        let words: [u32; 10] = [
            0x18e22d00, 0, 0x0b000000, 0x01000004, 0x02000000, 0x07000000, 0xc9abeb41,
            0xd7e3fffd, 0x855a7b97, 0x4f1afffe,
        ];
        let mut bytes = Vec::new();
        for w in words {
            bytes.extend_from_slice(&w.to_be_bytes());
        }
        let c = wal_checksum(WordOrder::Little, &bytes, [0, 0]);
        let mut out = Vec::new();
        out.extend_from_slice(&c[0].to_le_bytes());
        out.extend_from_slice(&c[1].to_le_bytes());
        assert_eq!(out, [0xd4, 0x9d, 0x6a, 0x3f, 0x2c, 0xd4, 0x18, 0x96]);
    }

    #[test]
    fn seed_continues() {
        let data: Vec<u8> = (0..64u8).collect();
        let whole = wal_checksum(WordOrder::Big, &data, [7, 9]);
        let (a, b) = data.split_at(24);
        let part = wal_checksum(WordOrder::Big, b, wal_checksum(WordOrder::Big, a, [7, 9]));
        assert_eq!(whole, part);
        // odd tail ignored
        assert_eq!(wal_checksum(WordOrder::Big, &data[..67.min(data.len())], [0, 0]), wal_checksum(WordOrder::Big, &data, [0, 0]));
    }
}
