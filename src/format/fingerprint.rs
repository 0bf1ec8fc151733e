//! Content fingerprints: the CRC-32 of a byte string (IEEE 802.3, the CRC of zip, gzip, PNG and
//! the `crc32` command, so an examiner can recompute it with any tool), and a 64-bit key for
//! deduplication built from it.

/// The CRC-32 of `b` (`dump --json` gives it for every frame's page image).
#[inline]
pub fn crc32(b: &[u8]) -> u32 {
    crc32fast::hash(b)
}

/// A key under which identical byte strings meet: the CRC-32 in the high half, the length
/// (modulo 2³²) in the low half. Different strings can share a key, so a caller that must be
/// exact confirms with the bytes, or keys by something else as well (a row's table and key,
/// among whose few versions a collision of both CRC and length is about one in 2³²).
#[inline]
pub fn fingerprint(b: &[u8]) -> u64 {
    (u64::from(crc32(b)) << 32) | (b.len() as u64 & 0xffff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_check_value() {
        // The standard check value of CRC-32/ISO-HDLC.
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(&[0u8; 4096]), crc32fast::hash(&[0u8; 4096]));
    }

    #[test]
    fn fingerprint_separates_lengths_and_contents() {
        assert_eq!(fingerprint(b"abc"), fingerprint(b"abc"));
        assert_ne!(fingerprint(b"abc"), fingerprint(b"abd"));
        assert_ne!(fingerprint(&[0u8; 1]), fingerprint(&[0u8; 2]));
        assert_eq!(fingerprint(b"123456789") >> 32, 0xcbf4_3926);
        assert_eq!(fingerprint(b"123456789") & 0xffff_ffff, 9);
    }
}
