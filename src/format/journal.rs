//! The rollback journal (`<db>-journal`): header and page records, decoded from bytes.
//!
//! Layout (`src/pager.c`, "Journal file format"): a header of `sector_size` bytes, of which
//! the first 28 hold
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `d9 d5 05 f9 20 a1 63 d7` |
//! | 8 | 4 | nRec: page records in this segment (0xffffffff: up to the end of the file) |
//! | 12 | 4 | cksumInit: the nonce every record's checksum starts from |
//! | 16 | 4 | the database's size in pages before the transaction |
//! | 20 | 4 | sector size (the header's length) |
//! | 24 | 4 | page size |
//!
//! then `nRec` records of a 4-byte page number, the page as it was before the transaction,
//! and a 4-byte checksum: cksumInit plus the page's bytes at `page_size - 200`, `- 400`, ...
//! (down to offset > 0). A journal may hold several segments, each with its own header at a
//! sector boundary. `journal_mode=PERSIST` ends a transaction by zeroing the first 28 bytes
//! only: the records stay, and their checksums still agree on one cksumInit.
//!
//! All integers are big-endian. Everything here is pure: bytes in, views out.

use super::bytes::be_u32;
use super::sniff::JOURNAL_MAGIC;

/// Bytes of the header that carry fields (the rest of the sector is padding).
pub const JOURNAL_HEADER_LEN: usize = 28;

/// A decoded journal header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JournalHeader {
    /// Page records in this segment; `None` for 0xffffffff (to the end of the file).
    pub n_rec: Option<u32>,
    pub cksum_init: u32,
    /// The database's size in pages before the transaction.
    pub db_orig_pages: u32,
    pub sector_size: u32,
    pub page_size: u32,
}

impl JournalHeader {
    /// Decode a header from its first 28 bytes; `None` without the magic.
    pub fn parse(b: &[u8]) -> Option<Self> {
        if !b.starts_with(&JOURNAL_MAGIC) {
            return None;
        }
        let n = be_u32(b, 8)?;
        Some(Self {
            n_rec: (n != u32::MAX).then_some(n),
            cksum_init: be_u32(b, 12)?,
            db_orig_pages: be_u32(b, 16)?,
            sector_size: be_u32(b, 20)?,
            page_size: be_u32(b, 24)?,
        })
    }

    /// Sector size SQLite would use: a power of two in 32..=65536, else 512 (`readJournalHdr`).
    pub fn sector_len(&self) -> u64 {
        if self.sector_size.is_power_of_two() && (32..=65536).contains(&self.sector_size) {
            u64::from(self.sector_size)
        } else {
            512
        }
    }

    /// True when the page size is one SQLite accepts.
    pub fn page_size_ok(&self) -> bool {
        self.page_size.is_power_of_two() && (512..=65536).contains(&self.page_size)
    }
}

/// The checksum SQLite stores after a page record (`pager_cksum`), from `init`.
pub fn record_checksum(init: u32, page: &[u8]) -> u32 {
    let mut c = init;
    let mut i = page.len() as i64 - 200;
    while i > 0 {
        c = c.wrapping_add(u32::from(page.get(i as usize).copied().unwrap_or(0)));
        i -= 200;
    }
    c
}

/// The cksumInit a record's stored checksum implies (stored minus the sampled bytes).
pub fn implied_init(stored: u32, page: &[u8]) -> u32 {
    stored.wrapping_sub(record_checksum(0, page))
}

/// Length of one page record: page number, page, checksum.
pub fn record_len(page_size: u32) -> u64 {
    u64::from(page_size) + 8
}
