//! Freelist trunk pages (`src/btreeInt.h`, `src/btree.c allocateBtreePage()/freePage2()`).
//!
//! The database header holds the first trunk page (offset 32) and the total number of freelist
//! pages (offset 36). A trunk page holds: u32 next trunk (0 ends the list), u32 leaf count n,
//! then n u32 leaf page numbers. SQLite writes at most U/4 − 8 leaves per trunk and accepts up
//! to U/4 − 2 when reading; leaf pages have no defined content.

use super::bytes::be_u32;
use super::error::ParseError;

/// A decoded trunk page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FreelistTrunk {
    /// Next trunk page, 0 on the last.
    pub next: u32,
    /// The leaf count as stored.
    pub leaf_count: u32,
    /// The leaf page numbers (at most the count SQLite accepts).
    pub leaves: Vec<u32>,
}

/// Most leaves SQLite accepts on a trunk when reading: U/4 − 2.
pub fn max_leaves(usable: u32) -> u32 {
    (usable / 4).saturating_sub(2)
}

/// Decode a trunk page. A leaf count above what SQLite accepts is an error (SQLite reports
/// corruption); the leaves that fit are still returned by [`FreelistTrunk::parse_lenient`].
pub fn parse_trunk(page: &[u8], usable: u32) -> Result<FreelistTrunk, ParseError> {
    let t = FreelistTrunk::parse_lenient(page, usable)?;
    if t.leaf_count > max_leaves(usable) {
        return Err(ParseError::invalid(4, "freelist trunk leaf count larger than U/4 - 2"));
    }
    Ok(t)
}

impl FreelistTrunk {
    /// Decode without judging the leaf count; at most `max_leaves(usable)` leaves are read.
    pub fn parse_lenient(page: &[u8], usable: u32) -> Result<Self, ParseError> {
        let next = be_u32(page, 0).ok_or(ParseError::truncated(0, 8))?;
        let leaf_count = be_u32(page, 4).ok_or(ParseError::truncated(4, 4))?;
        let n = leaf_count.min(max_leaves(usable)) as usize;
        let mut leaves = Vec::with_capacity(n.min(page.len() / 4));
        for i in 0..n {
            match be_u32(page, 8 + 4 * i) {
                Some(l) => leaves.push(l),
                None => break,
            }
        }
        Ok(Self { next, leaf_count, leaves })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trunk() {
        let mut p = vec![0u8; 512];
        p[0..4].copy_from_slice(&9u32.to_be_bytes());
        p[4..8].copy_from_slice(&2u32.to_be_bytes());
        p[8..12].copy_from_slice(&5u32.to_be_bytes());
        p[12..16].copy_from_slice(&6u32.to_be_bytes());
        let t = parse_trunk(&p, 512).unwrap();
        assert_eq!((t.next, t.leaves), (9, vec![5, 6]));
        p[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(parse_trunk(&p, 512).is_err());
        assert_eq!(FreelistTrunk::parse_lenient(&p, 512).unwrap().leaves.len(), 126);
        assert!(parse_trunk(&p[..6], 512).is_err());
    }
}
