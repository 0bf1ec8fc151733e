//! B-tree pages (`src/btreeInt.h`, `src/btree.c decodeFlags()/btreeParseCellPtr()`): the four
//! page types, the cell pointer array, cells and their local/overflow payload split,
//! freeblocks, and overflow pages.
//!
//! ```text
//! page:  [100-byte db header on page 1] | page header (8 or 12) | cell pointers (2×K)
//!        | unallocated | cell content area (cells, freeblocks, fragments) | reserved bytes
//! table leaf (13):      varint P | varint rowid | L payload bytes | [u32 first overflow]
//! table interior (5):   u32 left child | varint rowid
//! index leaf (10):      varint P | L payload bytes | [u32 first overflow]
//! index interior (2):   u32 left child | varint P | L payload bytes | [u32 first overflow]
//! overflow page:        u32 next page (0 = last) | up to U−4 payload bytes
//! ```
//! Offsets in the errors returned here are relative to the start of the page.

use super::bytes::{be_u16, be_u32};
use super::db_header::{BtreePageHeader, DB_HEADER_LEN, PageType};
use super::error::ParseError;
use super::varint::{read_varint, read_varint_i64};

/// Smallest usable page size SQLite accepts (`src/btree.c`: usableSize ≥ 480).
pub const MIN_USABLE_SIZE: u32 = 480;

/// Maximum bytes of payload stored on the page itself (maxLocal) for a page type.
pub fn max_local(t: PageType, usable: u32) -> u32 {
    match t {
        PageType::TableLeaf | PageType::TableInterior => usable.saturating_sub(35),
        PageType::IndexLeaf | PageType::IndexInterior => (usable.saturating_sub(12) * 64 / 255).saturating_sub(23),
    }
}

/// Minimum local payload (minLocal): the same for all types.
pub fn min_local(usable: u32) -> u32 {
    (usable.saturating_sub(12) * 32 / 255).saturating_sub(23)
}

/// Bytes of a payload of `payload_len` bytes stored locally in a cell of page type `t`
/// (`btreeParseCellAdjustSizeForOverflow`).
pub fn local_payload_len(t: PageType, payload_len: u64, usable: u32) -> u32 {
    let max = max_local(t, usable);
    if payload_len <= u64::from(max) {
        return payload_len as u32;
    }
    let min = min_local(usable);
    let span = u64::from(usable.saturating_sub(4)).max(1);
    let k = u64::from(min) + (payload_len - u64::from(min)) % span;
    if k <= u64::from(max) { k as u32 } else { min }
}

/// Number of overflow pages a payload needs: ceil((P − L) / (U − 4)).
pub fn overflow_page_count(payload_len: u64, local_len: u32, usable: u32) -> u64 {
    let rest = payload_len.saturating_sub(u64::from(local_len));
    rest.div_ceil(u64::from(usable.saturating_sub(4)).max(1))
}

/// One cell, borrowed from its page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cell<'a> {
    /// Offset of the cell within the page.
    pub offset: usize,
    /// Interior pages: the left child page.
    pub left_child: Option<u32>,
    /// Table pages: the rowid (integer key).
    pub rowid: Option<i64>,
    /// Total payload bytes (0 on table interior pages).
    pub payload_len: u64,
    /// The payload bytes stored on the page.
    pub local: &'a [u8],
    /// First overflow page when the payload does not fit locally.
    pub overflow: Option<u32>,
    /// Bytes the cell occupies on the page (at least 4, as SQLite counts).
    pub size: usize,
}

impl Cell<'_> {
    /// True when the payload continues on overflow pages.
    pub fn has_overflow(&self) -> bool {
        self.overflow.is_some()
    }
}

/// A freeblock inside the cell content area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Freeblock {
    pub offset: usize,
    /// Size including its 4-byte header.
    pub size: usize,
}

/// A b-tree page view.
#[derive(Clone, Copy, Debug)]
pub struct BtreePage<'a> {
    /// The whole page.
    pub data: &'a [u8],
    pub header: BtreePageHeader,
    pub page_type: PageType,
    /// Usable size U (page size minus reserved bytes).
    pub usable: u32,
}

impl<'a> BtreePage<'a> {
    /// Decode the page header and check that the cell pointer array fits. `is_page1`: the header
    /// starts at offset 100. Fails on an unknown page type, a usable size SQLite refuses, or a
    /// pointer array running past the usable area.
    pub fn parse(data: &'a [u8], is_page1: bool, usable: u32) -> Result<Self, ParseError> {
        if usable < MIN_USABLE_SIZE || usable as usize > data.len() {
            return Err(ParseError::invalid(0, "usable page size below 480 or beyond the page"));
        }
        let off = if is_page1 { DB_HEADER_LEN } else { 0 };
        let header = BtreePageHeader::parse(data, off)?;
        let Some(page_type) = header.page_type else {
            return Err(ParseError::invalid(off as u64, "not a b-tree page (flag byte is not 2, 5, 10 or 13)"));
        };
        let ptr_end = off + header.header_len() + 2 * usize::from(header.cell_count);
        if ptr_end > usable as usize {
            return Err(ParseError::invalid(off as u64 + 3, "cell count: pointer array runs past the page"));
        }
        Ok(Self { data, header, page_type, usable })
    }

    pub fn is_leaf(&self) -> bool {
        self.page_type.is_leaf()
    }

    /// Table b-tree (intkey) pages: types 5 and 13.
    pub fn is_table(&self) -> bool {
        matches!(self.page_type, PageType::TableLeaf | PageType::TableInterior)
    }

    pub fn cell_count(&self) -> usize {
        usize::from(self.header.cell_count)
    }

    /// End of the cell pointer array (start of the unallocated region).
    pub fn pointer_array_end(&self) -> usize {
        self.header.offset + self.header.header_len() + 2 * self.cell_count()
    }

    /// The right-most child (interior pages).
    pub fn right_child(&self) -> Option<u32> {
        self.header.right_child
    }

    /// Offset of cell `i` from the pointer array.
    pub fn cell_offset(&self, i: usize) -> Option<usize> {
        if i >= self.cell_count() {
            return None;
        }
        let p = self.header.offset + self.header.header_len() + 2 * i;
        be_u16(self.data, p).map(usize::from)
    }

    /// Decode cell `i`.
    pub fn cell(&self, i: usize) -> Result<Cell<'a>, ParseError> {
        let ptr_at = self.header.offset + self.header.header_len() + 2 * i;
        let Some(off) = self.cell_offset(i) else {
            return Err(ParseError::invalid(ptr_at as u64, "no such cell"));
        };
        if off < self.pointer_array_end() || off >= self.usable as usize {
            return Err(ParseError::invalid(ptr_at as u64, "cell pointer outside the cell content area"));
        }
        parse_cell(self.data, off, self.page_type, self.usable)
    }

    /// Every cell in pointer order.
    pub fn cells(&self) -> impl Iterator<Item = Result<Cell<'a>, ParseError>> + '_ {
        (0..self.cell_count()).map(move |i| self.cell(i))
    }

    /// Child pages of an interior page in key order: each cell's left child, then the right
    /// child. Cells that do not decode are skipped (the caller reports them through `cell`).
    pub fn children(&self) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.cell_count() + 1);
        if self.is_leaf() {
            return out;
        }
        for i in 0..self.cell_count() {
            if let Some(off) = self.cell_offset(i)
                && off >= self.pointer_array_end()
                && let Some(c) = be_u32(self.data, off)
            {
                out.push(c);
            }
        }
        if let Some(r) = self.right_child() {
            out.push(r);
        }
        out
    }

    /// The freeblock chain, in order, and the first problem that stopped it, if any. Bounded:
    /// offsets must increase, so the walk takes at most U/4 steps.
    pub fn freeblocks(&self) -> (Vec<Freeblock>, Option<ParseError>) {
        let mut out = Vec::new();
        let mut at = usize::from(self.header.first_freeblock);
        let mut min_next = self.pointer_array_end();
        let usable = self.usable as usize;
        while at != 0 {
            if at < min_next || at.saturating_add(4) > usable {
                return (out, Some(ParseError::invalid(at as u64, "freeblock offset out of order or past the page")));
            }
            let (Some(next), Some(size)) = (be_u16(self.data, at), be_u16(self.data, at + 2)) else {
                return (out, Some(ParseError::truncated(at as u64, 4)));
            };
            let size = usize::from(size);
            if size < 4 || at + size > usable {
                return (
                    out,
                    Some(ParseError::invalid(at as u64 + 2, "freeblock size smaller than 4 or past the page")),
                );
            }
            out.push(Freeblock { offset: at, size });
            min_next = at + size;
            at = usize::from(next);
            if out.len() > usable / 4 {
                return (out, Some(ParseError::invalid(at as u64, "freeblock chain too long")));
            }
        }
        (out, None)
    }
}

/// Decode the cell at `off` of a page of type `t`. Every read is bounds-checked against the
/// usable area; the local payload length follows SQLite's split rule.
pub fn parse_cell(data: &[u8], off: usize, t: PageType, usable: u32) -> Result<Cell<'_>, ParseError> {
    let end_limit = (usable as usize).min(data.len());
    let area = data.get(..end_limit).unwrap_or(&[]);
    let trunc = |at: usize, n: usize| ParseError::truncated(at as u64, n);
    let mut p = off;
    let left_child = match t {
        PageType::TableInterior | PageType::IndexInterior => {
            let c = be_u32(area, p).ok_or(trunc(p, 4))?;
            p += 4;
            Some(c)
        }
        _ => None,
    };
    if t == PageType::TableInterior {
        let (rowid, n) = read_varint_i64(area, p).ok_or(trunc(p, 1))?;
        p += n;
        return Ok(Cell {
            offset: off,
            left_child,
            rowid: Some(rowid),
            payload_len: 0,
            local: &[],
            overflow: None,
            size: p - off,
        });
    }
    let (payload_len, n) = read_varint(area, p).ok_or(trunc(p, 1))?;
    p += n;
    let rowid = if t == PageType::TableLeaf {
        let (r, n) = read_varint_i64(area, p).ok_or(trunc(p, 1))?;
        p += n;
        Some(r)
    } else {
        None
    };
    let local_len = local_payload_len(t, payload_len, usable) as usize;
    let local = area.get(p..p.saturating_add(local_len)).ok_or(trunc(p, local_len))?;
    p += local_len;
    let overflow = if (local_len as u64) < payload_len {
        let o = be_u32(area, p).ok_or(trunc(p, 4))?;
        p += 4;
        Some(o)
    } else {
        None
    };
    Ok(Cell { offset: off, left_child, rowid, payload_len, local, overflow, size: (p - off).max(4) })
}

/// The next-page pointer of an overflow page (0 on the last page).
pub fn overflow_next(page: &[u8]) -> Option<u32> {
    be_u32(page, 0)
}

/// The payload bytes an overflow page carries (bytes 4..U).
pub fn overflow_content(page: &[u8], usable: u32) -> &[u8] {
    page.get(4..(usable as usize).min(page.len())).unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_split_matches_sqlite_4096() {
        // U = 4096: table leaf maxLocal 4061, minLocal 489; index maxLocal 1002.
        assert_eq!(max_local(PageType::TableLeaf, 4096), 4061);
        assert_eq!(max_local(PageType::IndexLeaf, 4096), 1002);
        assert_eq!(min_local(4096), 489);
        assert_eq!(local_payload_len(PageType::TableLeaf, 100, 4096), 100);
        assert_eq!(local_payload_len(PageType::TableLeaf, 4061, 4096), 4061);
        // P = 5000: K = 489 + (5000-489) % 4092 = 489 + 419 = 908 <= 4061.
        assert_eq!(local_payload_len(PageType::TableLeaf, 5000, 4096), 908);
        assert_eq!(overflow_page_count(5000, 908, 4096), 1);
        // Index P = 2000: K = 489 + 1511 = 2000 > 1002 -> minLocal.
        assert_eq!(local_payload_len(PageType::IndexLeaf, 2000, 4096), 489);
        assert!(local_payload_len(PageType::TableLeaf, u64::MAX, 4096) <= 4061);
    }

    fn leaf_page() -> Vec<u8> {
        let mut p = vec![0u8; 512];
        p[0] = 13;
        p[3..5].copy_from_slice(&2u16.to_be_bytes());
        p[5..7].copy_from_slice(&500u16.to_be_bytes());
        // cell 0 at 500: P=3, rowid=7, payload 02 01 05
        p[500..506].copy_from_slice(&[3, 7, 2, 1, 5, 0]);
        p[8..10].copy_from_slice(&500u16.to_be_bytes());
        // cell 1 at 490: P=2, rowid=9, payload 01 00 (one NULL column)
        p[490..494].copy_from_slice(&[2, 9, 2, 0]);
        p[10..12].copy_from_slice(&490u16.to_be_bytes());
        p
    }

    #[test]
    fn table_leaf_cells() {
        let p = leaf_page();
        let b = BtreePage::parse(&p, false, 512).unwrap();
        assert_eq!(b.cell_count(), 2);
        let c = b.cell(0).unwrap();
        assert_eq!((c.rowid, c.payload_len, c.local, c.overflow), (Some(7), 3, &[2u8, 1, 5][..], None));
        assert_eq!(b.cell(1).unwrap().rowid, Some(9));
        assert!(b.cell(2).is_err());
        assert!(b.children().is_empty());
        assert_eq!(b.freeblocks(), (vec![], None));
    }

    #[test]
    fn bad_pages_are_errors() {
        let mut p = leaf_page();
        assert!(BtreePage::parse(&p, false, 400).is_err());
        assert!(BtreePage::parse(&p[..100], false, 512).is_err());
        p[0] = 7;
        assert!(BtreePage::parse(&p, false, 512).is_err());
        p[0] = 13;
        p[3..5].copy_from_slice(&400u16.to_be_bytes());
        assert!(BtreePage::parse(&p, false, 512).is_err());
        p[3..5].copy_from_slice(&2u16.to_be_bytes());
        p[8..10].copy_from_slice(&511u16.to_be_bytes());
        let b = BtreePage::parse(&p, false, 512).unwrap();
        assert!(b.cell(0).is_err());
        // Freeblock cycle: points to itself.
        p[1..3].copy_from_slice(&300u16.to_be_bytes());
        p[300..304].copy_from_slice(&[1, 44, 0, 8]);
        let b = BtreePage::parse(&p, false, 512).unwrap();
        let (fb, err) = b.freeblocks();
        assert_eq!(fb.len(), 1);
        assert!(err.is_some());
    }
}
