//! A read-only b-tree cursor that moves the way SQLite 3.40's does (`moveToRoot`,
//! `moveToChild`, `moveToLeftmost`, `sqlite3BtreeNext`, `sqlite3BtreeIndexMoveto`,
//! `sqlite3BtreeCount` in `src/btree.c`) and refuses exactly where it refuses: a page number
//! beyond the database, a page `btreeInitPage` rejects (type byte, cell count), a non-root page
//! with no cells or of the other tree kind, a tree deeper than 20, a payload that does not fit
//! its page, an overflow chain that ends early. Phase 2 of `integrity_check` runs its table
//! scans and index look-ups through such cursors, so where one refuses, SQLite stops with
//! "database disk image is malformed" — and the page it refused is the damaged one.

use std::cmp::Ordering;
use std::sync::Arc;

use super::integrity::Reader;
use super::keys::{KeyPart, Malformed, Mem, record_compare};
use super::page::{Page, header_only};
use crate::format::bytes::be_u32_or0;
use crate::format::record::TextEncoding;

/// SQLite's `BTCURSOR_MAX_DEPTH`.
const MAX_DEPTH: usize = 20;

/// Where a cursor stopped with SQLITE_CORRUPT: the page it was reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Corrupt {
    pub page: u32,
}

struct Level {
    data: Arc<[u8]>,
    pgno: u32,
    ix: u32,
}

/// Fixed parameters of every cursor of one check.
#[derive(Clone, Copy, Debug)]
pub struct Geometry {
    pub n_page: u32,
    pub page_size: u32,
    pub usable: u32,
    pub enc: TextEncoding,
}

pub struct Cursor<'r, 'a> {
    r: &'r Reader<'a>,
    g: Geometry,
    root: u32,
    intkey: bool,
    stack: Vec<Level>,
    /// `eState == CURSOR_VALID`: the cursor points at an entry.
    valid: bool,
    /// The page last loaded at each depth: a descent that passes the same page again (the
    /// root and upper levels of every look-up) reuses it instead of reading it again.
    path: Vec<(u32, Arc<[u8]>)>,
    /// Scratch buffer for payloads.
    buf: Vec<u8>,
    /// Pages loaded (for the statistics).
    pub loads: u64,
}

fn hdr_of(pgno: u32) -> usize {
    if pgno == 1 { 100 } else { 0 }
}

impl<'r, 'a> Cursor<'r, 'a> {
    pub fn new(r: &'r Reader<'a>, g: Geometry, root: u32, intkey: bool) -> Self {
        Self { r, g, root, intkey, stack: Vec::new(), valid: false, path: Vec::new(), buf: Vec::new(), loads: 0 }
    }

    /// `getAndInitPage` with the checks of `moveToRoot` / `moveToChild`.
    fn load(&mut self, pgno: u32, is_root: bool) -> Result<Arc<[u8]>, Corrupt> {
        let bad = Corrupt { page: pgno };
        if pgno == 0 || pgno > self.g.n_page {
            return Err(bad);
        }
        let depth = self.stack.len();
        let data = match self.path.get(depth) {
            Some((p, d)) if *p == pgno => d.clone(),
            _ => {
                let d = self.r.read(pgno).map_err(|_| bad)?;
                self.loads += 1;
                self.path.truncate(depth);
                self.path.push((pgno, d.clone()));
                d
            }
        };
        let p = header_only(&data, hdr_of(pgno), self.g.usable, self.g.page_size).map_err(|_| bad)?;
        if p.intkey() != self.intkey {
            return Err(bad);
        }
        if !is_root && p.n_cell < 1 {
            return Err(bad);
        }
        Ok(data)
    }

    fn page<'d>(&self, l: &'d Level) -> Option<Page<'d>> {
        header_only(&l.data, hdr_of(l.pgno), self.g.usable, self.g.page_size).ok()
    }

    /// The page and cell index the cursor points at.
    pub fn position(&self) -> Option<(u32, u32)> {
        self.stack.last().map(|l| (l.pgno, l.ix))
    }

    /// `moveToRoot`; Ok(false) when the tree is empty.
    fn move_to_root(&mut self) -> Result<bool, Corrupt> {
        self.stack.clear();
        let data = self.load(self.root, true)?;
        let (leaf, n) = {
            let p = header_only(&data, hdr_of(self.root), self.g.usable, self.g.page_size)
                .map_err(|_| Corrupt { page: self.root })?;
            (p.is_leaf(), p.n_cell)
        };
        self.stack.push(Level { data, pgno: self.root, ix: 0 });
        if n == 0 {
            if !leaf && self.root != 1 {
                return Err(Corrupt { page: self.root });
            }
            return Ok(false);
        }
        Ok(true)
    }

    fn move_to_child(&mut self, pgno: u32) -> Result<(), Corrupt> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(Corrupt { page: pgno });
        }
        let data = self.load(pgno, false)?;
        self.stack.push(Level { data, pgno, ix: 0 });
        Ok(())
    }

    /// The child pointer at index `ix` of an interior page (the right child at `n_cell`).
    fn child_at(&self) -> Result<u32, Corrupt> {
        let l = self.stack.last().ok_or(Corrupt { page: self.root })?;
        let p = self.page(l).ok_or(Corrupt { page: l.pgno })?;
        Ok(if l.ix >= p.n_cell { p.right_child() } else { p.left_child(self.cell_pc(&p, l.ix)) })
    }

    fn cell_pc(&self, p: &Page<'_>, ix: u32) -> u32 {
        p.pointer(ix) & (self.g.page_size - 1)
    }

    fn move_to_leftmost(&mut self) -> Result<(), Corrupt> {
        loop {
            let l = self.stack.last().ok_or(Corrupt { page: self.root })?;
            let leaf = self.page(l).is_none_or(|p| p.is_leaf());
            if leaf {
                return Ok(());
            }
            let c = self.child_at()?;
            self.move_to_child(c)?;
        }
    }

    /// `sqlite3BtreeFirst`: Ok(false) when the tree is empty.
    pub fn first(&mut self) -> Result<bool, Corrupt> {
        self.valid = false;
        if !self.move_to_root()? {
            return Ok(false);
        }
        self.move_to_leftmost()?;
        self.valid = true;
        Ok(true)
    }

    /// `sqlite3BtreeNext`: Ok(false) at the end.
    pub fn advance(&mut self) -> Result<bool, Corrupt> {
        loop {
            let (n_cell, leaf) = {
                let l = self.stack.last_mut().ok_or(Corrupt { page: self.root })?;
                l.ix += 1;
                let l = self.stack.last().ok_or(Corrupt { page: self.root })?;
                let p = self.page(l).ok_or(Corrupt { page: l.pgno })?;
                (p.n_cell, p.is_leaf())
            };
            let ix = self.stack.last().map_or(0, |l| l.ix);
            if ix < n_cell {
                if !leaf {
                    self.move_to_leftmost_from_cell()?;
                }
                return Ok(true);
            }
            if !leaf {
                let c = self.child_at()?;
                self.move_to_child(c)?;
                self.move_to_leftmost()?;
                return Ok(true);
            }
            // Climb while the parent is past its last cell.
            loop {
                if self.stack.len() <= 1 {
                    self.valid = false;
                    return Ok(false);
                }
                self.stack.pop();
                let l = self.stack.last().ok_or(Corrupt { page: self.root })?;
                let p = self.page(l).ok_or(Corrupt { page: l.pgno })?;
                if l.ix < p.n_cell {
                    break;
                }
            }
            if !self.intkey {
                return Ok(true);
            }
            // Table trees: interior cells are no entries; advance again.
        }
    }

    fn move_to_leftmost_from_cell(&mut self) -> Result<(), Corrupt> {
        let c = self.child_at()?;
        self.move_to_child(c)?;
        self.move_to_leftmost()
    }

    /// The rowid of the entry (table trees).
    pub fn rowid(&self) -> Result<i64, Corrupt> {
        let l = self.stack.last().ok_or(Corrupt { page: self.root })?;
        let p = self.page(l).ok_or(Corrupt { page: l.pgno })?;
        Ok(p.parse_cell(self.cell_pc(&p, l.ix)).key)
    }

    /// The full payload of the entry (local part and overflow chain).
    pub fn payload(&mut self) -> Result<Vec<u8>, Corrupt> {
        let (data, pgno, ix) = {
            let l = self.stack.last().ok_or(Corrupt { page: self.root })?;
            (l.data.clone(), l.pgno, l.ix)
        };
        let p =
            header_only(&data, hdr_of(pgno), self.g.usable, self.g.page_size).map_err(|_| Corrupt { page: pgno })?;
        let pc = self.cell_pc(&p, ix);
        self.payload_of(&p, pc, pgno)
    }

    /// Up to 9 page bytes where the entry's payload starts (past its end too).
    pub fn payload_peek(&self) -> Vec<u8> {
        let Some(l) = self.stack.last() else { return Vec::new() };
        let Some(p) = self.page(l) else { return Vec::new() };
        let at = p.payload_offset(self.cell_pc(&p, l.ix)) as usize;
        (at..at + 9).map(|i| l.data.get(i).copied().unwrap_or(0)).collect()
    }

    fn payload_of(&mut self, p: &Page<'_>, pc: u32, pgno: u32) -> Result<Vec<u8>, Corrupt> {
        let mut out = Vec::new();
        self.payload_into(p, pc, pgno, &mut out)?;
        Ok(out)
    }

    /// The payload of the cell at `pc` into `out` (cleared first).
    fn payload_into(&mut self, p: &Page<'_>, pc: u32, pgno: u32, out: &mut Vec<u8>) -> Result<(), Corrupt> {
        let bad = Corrupt { page: pgno };
        out.clear();
        let info = p.parse_cell(pc);
        let at = p.payload_offset(pc);
        if at > self.g.usable.saturating_sub(info.local) {
            return Err(bad);
        }
        out.extend_from_slice(p.data.get(at as usize..(at + info.local) as usize).ok_or(bad)?);
        let mut left = info.payload.saturating_sub(info.local);
        let mut next = be_u32_or0(p.data, (at + info.local) as usize);
        let chunk = self.g.usable.saturating_sub(4).max(1);
        while left > 0 {
            if next == 0 || next > self.g.n_page {
                return Err(Corrupt { page: if next == 0 { pgno } else { next } });
            }
            let d = self.r.read(next).map_err(|_| Corrupt { page: next })?;
            self.loads += 1;
            let n = left.min(chunk);
            out.extend_from_slice(d.get(4..4 + n as usize).ok_or(Corrupt { page: next })?);
            left -= n;
            next = be_u32_or0(&d, 0);
        }
        Ok(())
    }

    /// `sqlite3BtreeIndexMoveto` + `OP_Found`: true when an entry equal to `key` over
    /// `n_field` fields exists where the descent leads; the cursor is left on it.
    ///
    /// Like 3.40, a cursor left on the last leaf of the tree first tries that leaf: when its
    /// last cell (where the cursor is) or its first cell is not greater than the key, the
    /// search stays on that leaf (`cursorOnLastPage`) — which is why one damaged key there can
    /// hide every later look-up, as SQLite reports.
    pub fn seek(&mut self, key: &[Mem], parts: &[KeyPart], n_field: usize) -> Result<bool, Corrupt> {
        let mut bypass = false;
        if self.valid && self.on_last_leaf() {
            let (data, pgno, ix) = match self.stack.last() {
                Some(l) => (l.data.clone(), l.pgno, l.ix),
                None => return Err(Corrupt { page: self.root }),
            };
            let p = header_only(&data, hdr_of(pgno), self.g.usable, self.g.page_size)
                .map_err(|_| Corrupt { page: pgno })?;
            if ix + 1 == p.n_cell
                && let Some(c) = self.cell_compare(&p, pgno, ix, key, parts, n_field)
                && c != Ordering::Greater
            {
                return Ok(c == Ordering::Equal);
            }
            if self.stack.len() > 1
                && self.cell_compare(&p, pgno, 0, key, parts, n_field).is_some_and(|c| c != Ordering::Greater)
            {
                bypass = true;
            }
        }
        if !bypass && !self.move_to_root()? {
            self.valid = false;
            return Ok(false);
        }
        self.valid = true;
        loop {
            let (data, pgno) = {
                let l = self.stack.last().ok_or(Corrupt { page: self.root })?;
                (l.data.clone(), l.pgno)
            };
            let p = header_only(&data, hdr_of(pgno), self.g.usable, self.g.page_size)
                .map_err(|_| Corrupt { page: pgno })?;
            let n = p.n_cell;
            if n == 0 {
                return Ok(false);
            }
            let (mut lwr, mut upr) = (0i64, i64::from(n) - 1);
            let mut idx = upr >> 1;
            loop {
                let pc = self.cell_pc(&p, idx as u32);
                let mut rec = std::mem::take(&mut self.buf);
                let got = self.payload_into(&p, pc, pgno, &mut rec);
                let c = got.and_then(|()| {
                    record_compare(&rec, key, parts, n_field, Ordering::Equal, self.g.enc)
                        .map_err(|Malformed| Corrupt { page: pgno })
                });
                self.buf = rec;
                let c = c?;
                match c {
                    Ordering::Less => lwr = idx + 1,
                    Ordering::Greater => upr = idx - 1,
                    Ordering::Equal => {
                        if let Some(l) = self.stack.last_mut() {
                            l.ix = idx as u32;
                        }
                        return Ok(true);
                    }
                }
                if lwr > upr {
                    break;
                }
                idx = (lwr + upr) >> 1;
            }
            if p.is_leaf() {
                if let Some(l) = self.stack.last_mut() {
                    l.ix = idx as u32;
                }
                return Ok(false);
            }
            if let Some(l) = self.stack.last_mut() {
                l.ix = lwr as u32;
            }
            let c = self.child_at()?;
            self.move_to_child(c)?;
        }
    }

    /// Every ancestor went down its right-most child and the cursor is on a leaf.
    fn on_last_leaf(&self) -> bool {
        let Some((top, up)) = self.stack.split_last() else { return false };
        self.page(top).is_some_and(|p| p.is_leaf()) && up.iter().all(|l| self.page(l).is_some_and(|p| l.ix >= p.n_cell))
    }

    /// `indexCellCompare`: None when the cell cannot be compared (it does not fit the page or
    /// is malformed), so the short cut is not taken.
    fn cell_compare(
        &mut self,
        p: &Page<'_>,
        pgno: u32,
        ix: u32,
        key: &[Mem],
        parts: &[KeyPart],
        n_field: usize,
    ) -> Option<Ordering> {
        let pc = self.cell_pc(p, ix);
        let rec = self.payload_of(p, pc, pgno).ok()?;
        record_compare(&rec, key, parts, n_field, Ordering::Equal, self.g.enc).ok()
    }

    /// Compare the entry under the cursor with `key` over `n_field` fields (`OP_IdxGT`).
    pub fn compare_entry(&mut self, key: &[Mem], parts: &[KeyPart], n_field: usize) -> Result<Ordering, Corrupt> {
        let rec = self.payload()?;
        let page = self.position().map_or(self.root, |p| p.0);
        record_compare(&rec, key, parts, n_field, Ordering::Less, self.g.enc).map_err(|Malformed| Corrupt { page })
    }

    /// `sqlite3BtreeCount`: entries of the tree (leaf cells, and interior cells of index trees).
    pub fn count(&mut self) -> Result<u64, Corrupt> {
        if !self.move_to_root()? {
            return Ok(0);
        }
        let mut total: u64 = 0;
        loop {
            let (leaf, n) = {
                let l = self.stack.last().ok_or(Corrupt { page: self.root })?;
                let p = self.page(l).ok_or(Corrupt { page: l.pgno })?;
                (p.is_leaf(), p.n_cell)
            };
            if leaf || !self.intkey {
                total += u64::from(n);
            }
            if leaf {
                loop {
                    if self.stack.len() <= 1 {
                        return Ok(total);
                    }
                    self.stack.pop();
                    let l = self.stack.last().ok_or(Corrupt { page: self.root })?;
                    let p = self.page(l).ok_or(Corrupt { page: l.pgno })?;
                    if l.ix < p.n_cell {
                        break;
                    }
                }
                if let Some(l) = self.stack.last_mut() {
                    l.ix += 1;
                }
            }
            let c = self.child_at()?;
            self.move_to_child(c)?;
        }
    }
}
