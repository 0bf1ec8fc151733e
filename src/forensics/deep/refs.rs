//! Which pages a check has referenced: one bit per page up to the snapshot's real extent, and a
//! hash set for the (few) page numbers beyond it that a hostile size claim lets pointers name.
//! A 4-billion-page claim therefore costs nothing until pointers actually name such pages, and
//! each of those is a page some real cell pointed to.

use crate::forensics::snapshot::PageSet;

/// A set of page numbers: dense bits for `1..=dense_limit`, sparse above.
#[derive(Clone, Debug, Default)]
pub struct PageBits {
    words: Vec<u64>,
    dense_limit: u32,
    extra: PageSet,
}

impl PageBits {
    /// An empty set whose dense part covers `1..=dense_limit` (bounded by what exists).
    pub fn new(dense_limit: u32) -> Self {
        let words = (dense_limit as usize / 64) + 1;
        Self { words: vec![0; words], dense_limit, extra: PageSet::default() }
    }

    /// An empty set that keeps everything sparse (for small per-tree sets).
    pub fn sparse() -> Self {
        Self { words: Vec::new(), dense_limit: 0, extra: PageSet::default() }
    }

    pub fn contains(&self, p: u32) -> bool {
        if p >= 1 && p <= self.dense_limit {
            let i = (p / 64) as usize;
            self.words.get(i).is_some_and(|w| w & (1u64 << (p % 64)) != 0)
        } else {
            self.extra.contains(&p)
        }
    }

    /// Add `p`; true when it was not there yet.
    pub fn insert(&mut self, p: u32) -> bool {
        if p >= 1 && p <= self.dense_limit {
            let i = (p / 64) as usize;
            match self.words.get_mut(i) {
                Some(w) => {
                    let bit = 1u64 << (p % 64);
                    let new = *w & bit == 0;
                    *w |= bit;
                    new
                }
                None => self.extra.insert(p),
            }
        } else {
            self.extra.insert(p)
        }
    }

    /// Number of pages in the set.
    pub fn len(&self) -> u64 {
        self.words.iter().map(|w| u64::from(w.count_ones())).sum::<u64>() + self.extra.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_and_sparse() {
        let mut b = PageBits::new(100);
        assert!(b.insert(1));
        assert!(!b.insert(1));
        assert!(b.insert(100));
        assert!(b.insert(4_000_000_000));
        assert!(b.contains(4_000_000_000));
        assert!(!b.contains(99));
        assert!(b.insert(0));
        assert_eq!(b.len(), 4);
        let mut s = PageBits::sparse();
        assert!(s.insert(7));
        assert!(s.contains(7));
        assert!(!s.is_empty());
    }
}
