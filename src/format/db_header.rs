//! The 100-byte database header (`src/btree.c lockBtree()`, `src/btreeInt.h`) and the b-tree
//! page header that follows it on page 1 (and starts every other b-tree page).

use super::bytes::{be_u16_or0, be_u32_or0, u8_or0};
use super::error::ParseError;

/// `SQLite format 3\0`.
pub const DB_MAGIC: &[u8; 16] = b"SQLite format 3\0";
/// Length of the database header.
pub const DB_HEADER_LEN: usize = 100;

/// Every field of the database header, raw, with interpreting accessors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DbHeader {
    /// The raw 100 bytes.
    pub raw: [u8; DB_HEADER_LEN],
    /// Offset 16, u16: page size; 1 means 65536.
    pub page_size_raw: u16,
    /// Offset 18: file-format write version (1 rollback, 2 WAL).
    pub write_version: u8,
    /// Offset 19: file-format read version (1 rollback, 2 WAL).
    pub read_version: u8,
    /// Offset 20: bytes reserved at the end of every page.
    pub reserved_bytes: u8,
    /// Offset 21: maximum embedded payload fraction (must be 64).
    pub max_payload_fraction: u8,
    /// Offset 22: minimum embedded payload fraction (must be 32).
    pub min_payload_fraction: u8,
    /// Offset 23: leaf payload fraction (must be 32).
    pub leaf_payload_fraction: u8,
    /// Offset 24: file change counter.
    pub change_counter: u32,
    /// Offset 28: database size in pages ("in-header size").
    pub page_count: u32,
    /// Offset 32: first freelist trunk page.
    pub freelist_trunk: u32,
    /// Offset 36: total freelist pages.
    pub freelist_count: u32,
    /// Offset 40: schema cookie.
    pub schema_cookie: u32,
    /// Offset 44: schema format number (1..4).
    pub schema_format: u32,
    /// Offset 48: default page cache size.
    pub default_cache_size: u32,
    /// Offset 52: largest root b-tree page (auto-vacuum), 0 otherwise.
    pub largest_root_page: u32,
    /// Offset 56: text encoding (1 UTF-8, 2 UTF-16le, 3 UTF-16be).
    pub text_encoding: u32,
    /// Offset 60: user_version.
    pub user_version: u32,
    /// Offset 64: incremental-vacuum flag.
    pub incremental_vacuum: u32,
    /// Offset 68: application_id.
    pub application_id: u32,
    /// Offset 92: version-valid-for number.
    pub version_valid_for: u32,
    /// Offset 96: SQLITE_VERSION_NUMBER of the library that last wrote the file.
    pub sqlite_version_number: u32,
}

impl DbHeader {
    /// Decode the header from the first bytes of a database file. Fails only when the input is
    /// shorter than 100 bytes or the magic string is wrong; odd field values are kept as they
    /// are and judged by the accessors.
    pub fn parse(b: &[u8]) -> Result<Self, ParseError> {
        let raw: [u8; DB_HEADER_LEN] =
            b.get(..DB_HEADER_LEN).and_then(|s| s.try_into().ok()).ok_or(ParseError::truncated(0, DB_HEADER_LEN))?;
        if raw.get(..16) != Some(&DB_MAGIC[..]) {
            return Err(ParseError::bad_magic(0));
        }
        let r = &raw[..];
        Ok(Self {
            raw,
            page_size_raw: be_u16_or0(r, 16),
            write_version: u8_or0(r, 18),
            read_version: u8_or0(r, 19),
            reserved_bytes: u8_or0(r, 20),
            max_payload_fraction: u8_or0(r, 21),
            min_payload_fraction: u8_or0(r, 22),
            leaf_payload_fraction: u8_or0(r, 23),
            change_counter: be_u32_or0(r, 24),
            page_count: be_u32_or0(r, 28),
            freelist_trunk: be_u32_or0(r, 32),
            freelist_count: be_u32_or0(r, 36),
            schema_cookie: be_u32_or0(r, 40),
            schema_format: be_u32_or0(r, 44),
            default_cache_size: be_u32_or0(r, 48),
            largest_root_page: be_u32_or0(r, 52),
            text_encoding: be_u32_or0(r, 56),
            user_version: be_u32_or0(r, 60),
            incremental_vacuum: be_u32_or0(r, 64),
            application_id: be_u32_or0(r, 68),
            version_valid_for: be_u32_or0(r, 92),
            sqlite_version_number: be_u32_or0(r, 96),
        })
    }

    /// The page size as SQLite decodes it: the raw value 1 means 65536. `None` when the value is
    /// not a power of two in 512..=65536 (SQLite then refuses the file).
    pub fn page_size(&self) -> Option<u32> {
        let v = if self.page_size_raw == 1 { 65536 } else { u32::from(self.page_size_raw) };
        (v.is_power_of_two() && (512..=65536).contains(&v)).then_some(v)
    }

    /// Usable bytes per page (page size minus reserved bytes), when the page size is valid.
    pub fn usable_size(&self) -> Option<u32> {
        self.page_size().and_then(|p| p.checked_sub(u32::from(self.reserved_bytes)))
    }

    /// True when bytes 18/19 say WAL mode (2, 2).
    pub fn is_wal_mode(&self) -> bool {
        self.write_version == 2 && self.read_version == 2
    }

    /// "utf-8", "utf-16le", "utf-16be" or "unknown". SQLite treats 0 (a database whose
    /// encoding is not yet set) as UTF-8.
    pub fn text_encoding_name(&self) -> &'static str {
        match self.text_encoding {
            0 | 1 => "utf-8",
            2 => "utf-16le",
            3 => "utf-16be",
            _ => "unknown",
        }
    }

    /// True when the in-header page count may be trusted: non-zero and the change counter
    /// equals version-valid-for (`src/btree.c`).
    pub fn page_count_valid(&self) -> bool {
        self.page_count != 0 && self.change_counter == self.version_valid_for
    }

    /// True when the payload fractions are the only legal values 64/32/32.
    pub fn payload_fractions_ok(&self) -> bool {
        self.max_payload_fraction == 64 && self.min_payload_fraction == 32 && self.leaf_payload_fraction == 32
    }

    /// Bytes 72..92 must be zero.
    pub fn reserved_expansion_zero(&self) -> bool {
        self.raw.get(72..92).is_some_and(|s| s.iter().all(|&b| b == 0))
    }

    /// The SQLite library version as "3.40.1".
    pub fn sqlite_version_string(&self) -> String {
        version_string(self.sqlite_version_number)
    }
}

/// Format an SQLITE_VERSION_NUMBER such as 3040001 as "3.40.1".
pub fn version_string(n: u32) -> String {
    format!("{}.{}.{}", n / 1_000_000, (n / 1000) % 1000, n % 1000)
}

/// The kind of a b-tree page, from its flag byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageType {
    IndexInterior,
    TableInterior,
    IndexLeaf,
    TableLeaf,
}

impl PageType {
    pub fn from_flag(b: u8) -> Option<Self> {
        match b {
            2 => Some(Self::IndexInterior),
            5 => Some(Self::TableInterior),
            10 => Some(Self::IndexLeaf),
            13 => Some(Self::TableLeaf),
            _ => None,
        }
    }
    pub fn is_leaf(self) -> bool {
        matches!(self, Self::IndexLeaf | Self::TableLeaf)
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::IndexInterior => "index_interior",
            Self::TableInterior => "table_interior",
            Self::IndexLeaf => "index_leaf",
            Self::TableLeaf => "table_leaf",
        }
    }
}

/// A b-tree page header (8 bytes on leaves, 12 on interior pages).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BtreePageHeader {
    /// Offset of the header within the page (100 on page 1, else 0).
    pub offset: usize,
    pub flag: u8,
    pub page_type: Option<PageType>,
    pub first_freeblock: u16,
    pub cell_count: u16,
    /// Raw start of the cell content area (0 means 65536).
    pub cell_content_raw: u16,
    pub fragmented_bytes: u8,
    /// Right-most child page (interior pages only).
    pub right_child: Option<u32>,
}

impl BtreePageHeader {
    /// Decode the header at `offset` within `page`. An unknown flag byte still decodes (with
    /// `page_type` None) so a dump can show what is there.
    pub fn parse(page: &[u8], offset: usize) -> Result<Self, ParseError> {
        let h = page.get(offset..offset.saturating_add(8)).ok_or(ParseError::truncated(offset as u64, 8))?;
        let flag = u8_or0(h, 0);
        let page_type = PageType::from_flag(flag);
        let right_child = match page_type {
            Some(t) if !t.is_leaf() => Some(
                super::bytes::be_u32(page, offset.saturating_add(8))
                    .ok_or(ParseError::truncated(offset as u64 + 8, 4))?,
            ),
            _ => None,
        };
        Ok(Self {
            offset,
            flag,
            page_type,
            first_freeblock: be_u16_or0(h, 1),
            cell_count: be_u16_or0(h, 3),
            cell_content_raw: be_u16_or0(h, 5),
            fragmented_bytes: u8_or0(h, 7),
            right_child,
        })
    }

    /// Start of the cell content area, with 0 read as 65536.
    pub fn cell_content_start(&self) -> u32 {
        if self.cell_content_raw == 0 { 65536 } else { u32::from(self.cell_content_raw) }
    }

    /// Header length: 12 for interior pages, 8 otherwise.
    pub fn header_len(&self) -> usize {
        if self.right_child.is_some() { 12 } else { 8 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(page_size: u16) -> Vec<u8> {
        let mut b = vec![0u8; 100];
        b[..16].copy_from_slice(DB_MAGIC);
        b[16..18].copy_from_slice(&page_size.to_be_bytes());
        b[18] = 2;
        b[19] = 2;
        b[21] = 64;
        b[22] = 32;
        b[23] = 32;
        b[24..28].copy_from_slice(&7u32.to_be_bytes());
        b[28..32].copy_from_slice(&3u32.to_be_bytes());
        b[92..96].copy_from_slice(&7u32.to_be_bytes());
        b[96..100].copy_from_slice(&3040001u32.to_be_bytes());
        b
    }

    #[test]
    fn page_size_one_means_65536() {
        let h = DbHeader::parse(&header(1)).unwrap();
        assert_eq!(h.page_size(), Some(65536));
        let h = DbHeader::parse(&header(4096)).unwrap();
        assert_eq!(h.page_size(), Some(4096));
        assert!(h.is_wal_mode());
        assert!(h.page_count_valid());
        assert_eq!(h.sqlite_version_string(), "3.40.1");
        assert_eq!(DbHeader::parse(&header(1000)).unwrap().page_size(), None);
        assert_eq!(DbHeader::parse(&header(256)).unwrap().page_size(), None);
    }

    #[test]
    fn short_and_bad_magic() {
        assert_eq!(DbHeader::parse(&header(4096)[..50]), Err(ParseError::truncated(0, 100)));
        let mut b = header(4096);
        b[0] = b'X';
        assert_eq!(DbHeader::parse(&b), Err(ParseError::bad_magic(0)));
    }

    #[test]
    fn btree_header_interior_and_leaf() {
        let mut p = vec![0u8; 512];
        p[0] = 5;
        p[3..5].copy_from_slice(&2u16.to_be_bytes());
        p[8..12].copy_from_slice(&9u32.to_be_bytes());
        let h = BtreePageHeader::parse(&p, 0).unwrap();
        assert_eq!(h.page_type, Some(PageType::TableInterior));
        assert_eq!(h.right_child, Some(9));
        assert_eq!(h.header_len(), 12);
        assert_eq!(h.cell_content_start(), 65536);
        p[0] = 13;
        let h = BtreePageHeader::parse(&p, 0).unwrap();
        assert_eq!(h.right_child, None);
        assert!(BtreePageHeader::parse(&p[..5], 0).is_err());
        assert!(BtreePageHeader::parse(&p, 600).is_err());
    }
}
