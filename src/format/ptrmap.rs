//! Pointer-map pages (auto-vacuum and incremental-vacuum databases only, header offset 52 ≠ 0)
//! and the lock-byte page (`src/btree.c ptrmapPageno()`, `src/btreeInt.h PENDING_BYTE_PAGE`).
//!
//! The first pointer-map page is page 2; each holds U/5 five-byte entries (1-byte type + u32
//! parent page) for the pages that follow it; the next map page comes after those pages,
//! moved one further when it would be the lock-byte page. The lock-byte page holds the file
//! offsets 0x40000000.. and never holds content.

use super::bytes::be_u32;

/// File offset of SQLite's PENDING_BYTE.
pub const PENDING_BYTE: u64 = 0x4000_0000;

/// The lock-byte page number for a page size.
pub fn lock_byte_page(page_size: u32) -> u32 {
    (PENDING_BYTE / u64::from(page_size.max(1)) + 1) as u32
}

/// Entry types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PtrmapType {
    /// 1: a b-tree root page (parent 0).
    RootPage,
    /// 2: a free page.
    FreePage,
    /// 3: first page of an overflow chain (parent = the page holding the cell).
    Overflow1,
    /// 4: later overflow page (parent = the previous overflow page).
    Overflow2,
    /// 5: non-root b-tree page (parent = the parent b-tree page).
    Btree,
}

impl PtrmapType {
    pub fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(Self::RootPage),
            2 => Some(Self::FreePage),
            3 => Some(Self::Overflow1),
            4 => Some(Self::Overflow2),
            5 => Some(Self::Btree),
            _ => None,
        }
    }
}

/// The pointer-map page that holds the entry for page `p` (`ptrmapPageno`), 0 for p < 2.
pub fn ptrmap_page_for(p: u32, usable: u32, page_size: u32) -> u32 {
    if p < 2 {
        return 0;
    }
    let per = u64::from(usable / 5) + 1;
    let i = (u64::from(p) - 2) / per;
    let mut r = i * per + 2;
    if r == u64::from(lock_byte_page(page_size)) {
        r += 1;
    }
    u32::try_from(r).unwrap_or(0)
}

/// True when page `p` is a pointer-map page (in an auto-vacuum database).
pub fn is_ptrmap_page(p: u32, usable: u32, page_size: u32) -> bool {
    p >= 2 && ptrmap_page_for(p, usable, page_size) == p
}

/// The entry for page `p` on its map page `map` (type byte, parent), if present and typed.
pub fn ptrmap_entry(map_page: &[u8], map: u32, p: u32) -> Option<(Option<PtrmapType>, u32)> {
    let k = p.checked_sub(map)?.checked_sub(1)? as usize;
    let off = k.checked_mul(5)?;
    let t = *map_page.get(off)?;
    let parent = be_u32(map_page, off + 1)?;
    Some((PtrmapType::from_byte(t), parent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions() {
        assert_eq!(lock_byte_page(4096), 262_145);
        assert_eq!(lock_byte_page(1024), 1_048_577);
        assert_eq!(lock_byte_page(65536), 16_385);
        // U = 1024: 204 entries per map page, so map pages are 2, 207, 412, ...
        assert!(is_ptrmap_page(2, 1024, 1024));
        assert!(!is_ptrmap_page(3, 1024, 1024));
        assert_eq!(ptrmap_page_for(206, 1024, 1024), 2);
        assert_eq!(ptrmap_page_for(207, 1024, 1024), 207);
        assert!(is_ptrmap_page(207, 1024, 1024));
        assert!(!is_ptrmap_page(1, 1024, 1024));
        let mut m = vec![0u8; 1024];
        m[5] = 5;
        m[6..10].copy_from_slice(&3u32.to_be_bytes());
        assert_eq!(ptrmap_entry(&m, 2, 4), Some((Some(PtrmapType::Btree), 3)));
        assert_eq!(ptrmap_entry(&m, 2, 2), None);
    }
}
