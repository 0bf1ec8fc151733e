//! The rollback journal beside the database: what SQLite will do with it, and the page
//! records it holds (the database as it was before the last, or the interrupted, transaction).
//!
//! SQLite plays a *hot* journal back before it reads anything else, the WAL included
//! (`hasHotJournal` and `pager_playback` in `src/pager.c`): a journal is hot when it exists,
//! its first byte is not zero, the database file is not empty, and no connection holds a
//! RESERVED lock (a writer in the middle of its transaction owns the journal). Playback writes
//! each record whose checksum verifies back into the database file, stops at the first that
//! does not, and truncates the database to the size the header recorded.
//!
//! `journal_mode=PERSIST` ends every transaction by zeroing the header's first 28 bytes: the
//! journal is not hot, but its records stay on disk until overwritten. Their checksums still
//! agree on the lost cksumInit (stored checksum minus the sampled bytes), which tells the
//! records of the last transaction from leftovers of longer earlier ones.

use std::collections::HashMap;

use super::ReadAt;
use crate::format::journal::{JOURNAL_HEADER_LEN, JournalHeader, implied_init, record_len};

/// Records decoded at most (a hostile journal must not make us allocate without bound).
pub const MAX_RECORDS: usize = 1 << 20;

/// One page record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JournalRecord {
    /// Byte offset of the record (its page number) in the journal.
    pub offset: u64,
    /// The page number.
    pub page: u32,
    /// The checksum verifies from the segment's cksumInit (the header's, or for a zeroed
    /// header the value most records agree on).
    pub checksum_ok: bool,
    /// 0-based segment (each segment starts with its own header).
    pub segment: u32,
}

impl JournalRecord {
    /// Offset of the page image.
    pub fn data_offset(&self) -> u64 {
        self.offset + 4
    }
}

/// Everything known about a `-journal` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalAnalysis {
    pub file_len: u64,
    /// The first segment's header, when the journal starts with the magic.
    pub header: Option<JournalHeader>,
    /// The first 28 bytes are zero (`journal_mode=PERSIST` after a commit, or a header
    /// invalidated at the end of a transaction).
    pub zeroed_header: bool,
    /// Page size used to lay out records (the header's, or the database's for a zeroed one).
    pub page_size: Option<u32>,
    /// Page records, in file order (at most [`MAX_RECORDS`]).
    pub records: Vec<JournalRecord>,
    /// Why decoding stopped early, if it did.
    pub problem: Option<String>,
}

impl JournalAnalysis {
    /// True when SQLite would play this journal back on open, given the database file's
    /// length (the RESERVED lock, which the files cannot show, is for the live probe).
    pub fn hot(&self, db_len: u64) -> bool {
        self.header.is_some() && db_len > 0 && self.file_len > 0
    }

    /// The pages a playback would restore: records of the first segments up to the first
    /// checksum failure, deduplicated (the first record of a page wins), ascending.
    pub fn pages_restored(&self) -> Vec<u32> {
        let mut v: Vec<u32> = Vec::new();
        for r in &self.records {
            if !r.checksum_ok {
                break;
            }
            v.push(r.page);
        }
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Records whose checksum verifies (the pages of the last, or interrupted, transaction).
    pub fn valid_records(&self) -> impl Iterator<Item = &JournalRecord> {
        self.records.iter().filter(|r| r.checksum_ok)
    }
}

/// Analyse a journal through `r` (`len` bytes). `db_page_size` lays out the records of a
/// journal whose header was zeroed.
pub fn analyze_journal(r: &dyn ReadAt, len: u64, db_page_size: Option<u32>) -> JournalAnalysis {
    let mut head = [0u8; JOURNAL_HEADER_LEN];
    let got = r.read_at_full(0, &mut head).unwrap_or(0);
    let header = JournalHeader::parse(head.get(..got).unwrap_or(&[])).filter(|h| h.page_size_ok());
    let zeroed_header = got == JOURNAL_HEADER_LEN && head.iter().all(|&b| b == 0);
    let mut a = JournalAnalysis {
        file_len: len,
        header,
        zeroed_header,
        page_size: header.map(|h| h.page_size).or(if zeroed_header { db_page_size } else { None }),
        records: Vec::new(),
        problem: None,
    };
    let Some(ps) = a.page_size else { return a };
    if header.is_some() {
        read_segments(r, len, ps, &mut a);
    } else if zeroed_header {
        read_persisted(r, len, ps, &mut a);
    }
    a
}

/// Segments with live headers: each header's nRec records, then the next header at the next
/// sector boundary.
fn read_segments(r: &dyn ReadAt, len: u64, ps: u32, a: &mut JournalAnalysis) {
    let rl = record_len(ps);
    let mut off = 0u64;
    let mut page = vec![0u8; ps as usize];
    let mut segment = 0u32;
    while off < len && a.records.len() < MAX_RECORDS {
        let mut head = [0u8; JOURNAL_HEADER_LEN];
        if r.read_at_full(off, &mut head).unwrap_or(0) < JOURNAL_HEADER_LEN {
            break;
        }
        let Some(h) = JournalHeader::parse(&head) else { break };
        if h.page_size != ps {
            break;
        }
        let sector = h.sector_len();
        let mut at = off + sector;
        let n = match h.n_rec {
            Some(n) => u64::from(n),
            None => len.saturating_sub(at) / rl,
        };
        for _ in 0..n {
            if at + rl > len || a.records.len() >= MAX_RECORDS {
                break;
            }
            let Some(rec) = read_record(r, at, &mut page, segment, Some(h.cksum_init)) else { break };
            a.records.push(rec);
            at += rl;
        }
        if n == 0 {
            break;
        }
        off = at.div_ceil(sector) * sector;
        segment += 1;
    }
}

/// A zeroed header: records from the first sector boundary on (512, SQLite's usual sector,
/// else 4096), their checksums judged against the cksumInit most of them imply.
fn read_persisted(r: &dyn ReadAt, len: u64, ps: u32, a: &mut JournalAnalysis) {
    let rl = record_len(ps);
    let mut page = vec![0u8; ps as usize];
    let mut best: Option<(usize, Vec<JournalRecord>)> = None;
    for sector in [512u64, 4096] {
        let mut recs = Vec::new();
        let mut votes: HashMap<u32, usize> = HashMap::new();
        let mut inits = Vec::new();
        let mut at = sector;
        while at + rl <= len && recs.len() < MAX_RECORDS {
            let Some(rec) = read_record(r, at, &mut page, 0, None) else { break };
            if rec.page == 0 {
                break;
            }
            let mut tail = [0u8; 4];
            let _ = r.read_at_full(at + 4 + u64::from(ps), &mut tail);
            let init = implied_init(u32::from_be_bytes(tail), &page);
            *votes.entry(init).or_default() += 1;
            inits.push(init);
            recs.push(rec);
            at += rl;
        }
        let Some((&init, &n)) = votes.iter().max_by_key(|(_, n)| **n) else { continue };
        for (rec, i) in recs.iter_mut().zip(&inits) {
            rec.checksum_ok = *i == init;
        }
        if best.as_ref().is_none_or(|b| n > b.0) {
            best = Some((n, recs));
        }
    }
    // One agreeing record proves nothing when there are several: garbage implies a different
    // value per record.
    if let Some((n, recs)) = best
        && (n >= 2 || recs.len() == 1)
    {
        a.records = recs;
    }
}

fn read_record(r: &dyn ReadAt, at: u64, page: &mut [u8], segment: u32, init: Option<u32>) -> Option<JournalRecord> {
    let mut pg = [0u8; 4];
    if r.read_at_full(at, &mut pg).ok()? < 4 {
        return None;
    }
    if r.read_at_full(at + 4, page).ok()? < page.len() {
        return None;
    }
    let mut ck = [0u8; 4];
    if r.read_at_full(at + 4 + page.len() as u64, &mut ck).ok()? < 4 {
        return None;
    }
    let checksum_ok = init.is_some_and(|i| implied_init(u32::from_be_bytes(ck), page) == i);
    Some(JournalRecord { offset: at, page: u32::from_be_bytes(pg), checksum_ok, segment })
}
