//! The write-ahead log: the 32-byte header and the 24-byte frame headers (`src/wal.c`).
//!
//! ```text
//! offset 0        32                 32+24              32+F          (F = page_size + 24)
//!        | header | frame 1 header   | page 1 data  ... | frame 2 header | ...
//! ```
//! All integers are big-endian. Checksums cover the header's first 24 bytes, and for each frame
//! its first 8 header bytes (page number, commit size) followed by the page data, chained from
//! the previous frame (or from the header) — see [`super::checksum`].

use super::bytes::{array_at, be_u32_or0};
pub use super::checksum::frame_checksum;
use super::checksum::{WordOrder, wal_checksum};
use super::error::ParseError;

/// Magic with little-endian checksum words (written by little-endian hosts).
pub const WAL_MAGIC_LE: u32 = 0x377f_0682;
/// Magic with big-endian checksum words.
pub const WAL_MAGIC_BE: u32 = 0x377f_0683;
/// The only WAL format version (`WAL_MAX_VERSION`).
pub const WAL_VERSION: u32 = 3_007_000;
/// Length of the WAL header.
pub const WAL_HEADER_LEN: usize = 32;
/// Length of a frame header.
pub const FRAME_HEADER_LEN: usize = 24;

/// The WAL header, every field raw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WalHeader {
    pub raw: [u8; WAL_HEADER_LEN],
    /// Offset 0: 0x377f0682 or 0x377f0683.
    pub magic: u32,
    /// Offset 4: format version (3007000).
    pub format_version: u32,
    /// Offset 8: page size, stored literally (65536 as 0x00010000).
    pub page_size: u32,
    /// Offset 12: checkpoint sequence number (+1 at every WAL reset).
    pub checkpoint_seq: u32,
    /// Offset 16: salt-1 (+1 at every reset).
    pub salt1: u32,
    /// Offset 20: salt-2 (new random value at every reset).
    pub salt2: u32,
    /// Offset 24: checksum-1 over bytes 0..24.
    pub checksum1: u32,
    /// Offset 28: checksum-2.
    pub checksum2: u32,
}

impl WalHeader {
    /// Decode the 32-byte header. Fails only on short input: a bad magic or checksum is a fact
    /// to report, not a reason to stop reading.
    pub fn parse(b: &[u8]) -> Result<Self, ParseError> {
        let raw: [u8; WAL_HEADER_LEN] = array_at(b, 0).ok_or(ParseError::truncated(0, WAL_HEADER_LEN))?;
        let r = &raw[..];
        Ok(Self {
            raw,
            magic: be_u32_or0(r, 0),
            format_version: be_u32_or0(r, 4),
            page_size: be_u32_or0(r, 8),
            checkpoint_seq: be_u32_or0(r, 12),
            salt1: be_u32_or0(r, 16),
            salt2: be_u32_or0(r, 20),
            checksum1: be_u32_or0(r, 24),
            checksum2: be_u32_or0(r, 28),
        })
    }

    /// True when `(magic & !1) == 0x377f0682`, the only test recovery makes.
    pub fn magic_ok(&self) -> bool {
        self.magic & !1 == WAL_MAGIC_LE
    }

    /// The checksum word order selected by the magic's low bit.
    pub fn word_order(&self) -> WordOrder {
        if self.magic & 1 == 1 { WordOrder::Big } else { WordOrder::Little }
    }

    /// True when the page size is a power of two in 512..=65536 (as recovery requires).
    pub fn page_size_ok(&self) -> bool {
        self.page_size.is_power_of_two() && (512..=65536).contains(&self.page_size)
    }

    /// The checksum of bytes 0..24 computed from (0, 0).
    pub fn computed_checksum(&self) -> [u32; 2] {
        wal_checksum(self.word_order(), self.raw.get(..24).unwrap_or(&[]), [0, 0])
    }

    /// The stored checksum (offsets 24, 28).
    pub fn stored_checksum(&self) -> [u32; 2] {
        [self.checksum1, self.checksum2]
    }

    /// True when the stored checksum matches the computed one.
    pub fn checksum_valid(&self) -> bool {
        self.computed_checksum() == self.stored_checksum()
    }

    /// The salts as a pair.
    pub fn salts(&self) -> [u32; 2] {
        [self.salt1, self.salt2]
    }

    /// Whether SQLite's recovery accepts this header (magic, page size, checksum). The version
    /// is checked after this, and a wrong version is an open error rather than an empty WAL.
    pub fn accepted_by_recovery(&self) -> bool {
        self.magic_ok() && self.page_size_ok() && self.checksum_valid()
    }

    /// Size in bytes of one frame (header + page), when the page size is usable for geometry.
    pub fn frame_len(&self) -> Option<u64> {
        self.page_size_ok().then(|| u64::from(self.page_size) + FRAME_HEADER_LEN as u64)
    }
}

/// A frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FrameHeader {
    /// Offset 0: database page number (0 is never valid).
    pub page: u32,
    /// Offset 4: database size in pages after this commit; 0 on non-commit frames.
    pub commit_db_pages: u32,
    /// Offset 8: salt-1.
    pub salt1: u32,
    /// Offset 12: salt-2.
    pub salt2: u32,
    /// Offset 16: cumulative checksum-1.
    pub checksum1: u32,
    /// Offset 20: cumulative checksum-2.
    pub checksum2: u32,
}

impl FrameHeader {
    /// Decode a frame header from its 24 bytes.
    pub fn parse(b: &[u8; FRAME_HEADER_LEN]) -> Self {
        let r = &b[..];
        Self {
            page: be_u32_or0(r, 0),
            commit_db_pages: be_u32_or0(r, 4),
            salt1: be_u32_or0(r, 8),
            salt2: be_u32_or0(r, 12),
            checksum1: be_u32_or0(r, 16),
            checksum2: be_u32_or0(r, 20),
        }
    }

    pub fn is_commit(&self) -> bool {
        self.commit_db_pages != 0
    }
    pub fn salts(&self) -> [u32; 2] {
        [self.salt1, self.salt2]
    }
    pub fn stored_checksum(&self) -> [u32; 2] {
        [self.checksum1, self.checksum2]
    }
}

/// Byte offset of the header of 1-based frame `i` for a page size.
pub fn frame_offset(i: u32, page_size: u32) -> u64 {
    WAL_HEADER_LEN as u64 + u64::from(i.saturating_sub(1)) * (u64::from(page_size) + FRAME_HEADER_LEN as u64)
}

/// Number of complete frames and the length of a trailing partial frame in a WAL of
/// `file_len` bytes. SQLite considers nothing when the file is not longer than its header.
pub fn frame_geometry(file_len: u64, page_size: u32) -> (u64, u64) {
    let frame_len = u64::from(page_size) + FRAME_HEADER_LEN as u64;
    if file_len <= WAL_HEADER_LEN as u64 {
        return (0, 0);
    }
    let body = file_len - WAL_HEADER_LEN as u64;
    (body / frame_len, body % frame_len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_header() {
        let mut b = [0u8; 32];
        let words = [0x377f0682u32, 0x002de218, 0x400, 2, 0x855a7b97, 0x4f1afffe, 0x6e4a5d98, 0x27254f8c];
        for (i, w) in words.iter().enumerate() {
            b[i * 4..i * 4 + 4].copy_from_slice(&w.to_be_bytes());
        }
        let h = WalHeader::parse(&b).unwrap();
        assert!(h.magic_ok());
        assert_eq!(h.word_order(), WordOrder::Little);
        assert!(h.checksum_valid());
        assert!(h.accepted_by_recovery());
        assert_eq!(h.page_size, 1024);
        assert_eq!(h.frame_len(), Some(1048));
        b[20] ^= 1;
        assert!(!WalHeader::parse(&b).unwrap().checksum_valid());
        assert!(WalHeader::parse(&b[..31]).is_err());
    }

    #[test]
    fn geometry() {
        assert_eq!(frame_offset(1, 4096), 32);
        assert_eq!(frame_offset(3, 4096), 32 + 2 * 4120);
        assert_eq!(frame_geometry(32, 4096), (0, 0));
        assert_eq!(frame_geometry(0, 4096), (0, 0));
        assert_eq!(frame_geometry(32 + 4120 * 2 + 100, 4096), (2, 100));
    }

    #[test]
    fn frame_header_fields() {
        let mut b = [0u8; 24];
        b[3] = 7;
        b[7] = 9;
        b[8..12].copy_from_slice(&5u32.to_be_bytes());
        let f = FrameHeader::parse(&b);
        assert_eq!((f.page, f.commit_db_pages, f.salt1), (7, 9, 5));
        assert!(f.is_commit());
    }
}
