//! The database file: header, page-1 b-tree header, size.

use crate::format::db_header::{BtreePageHeader, DB_HEADER_LEN, DbHeader};

/// Everything known about the database file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DbAnalysis {
    pub file_len: u64,
    pub header: DbHeader,
    /// The b-tree header of page 1 at offset 100 (None when the file is too short).
    pub page1: Option<BtreePageHeader>,
    /// The rollback journal beside the database file (`<db>-journal`), when there is one:
    /// SQLite plays a hot one back against this file before it reads anything else.
    pub journal: Option<super::journal::JournalAnalysis>,
}

impl DbAnalysis {
    /// Decode the first bytes of a database file (at least the header; page 1 when present).
    pub fn parse(first_page: &[u8], file_len: u64) -> Result<Self, crate::format::ParseError> {
        let header = DbHeader::parse(first_page)?;
        let page1 = BtreePageHeader::parse(first_page, DB_HEADER_LEN).ok();
        Ok(Self { file_len, header, page1, journal: None })
    }

    /// Pages in the file by its size (rounded down), when the page size is valid.
    pub fn pages_in_file(&self) -> Option<u64> {
        self.header.page_size().map(|p| self.file_len / u64::from(p))
    }

    /// The database size SQLite would use without a WAL: the in-header size when it is valid,
    /// else the size computed from the file.
    pub fn effective_page_count(&self) -> Option<u64> {
        if self.header.page_count_valid() {
            Some(u64::from(self.header.page_count))
        } else {
            self.header.page_size().map(|p| self.file_len.div_ceil(u64::from(p)))
        }
    }
}
