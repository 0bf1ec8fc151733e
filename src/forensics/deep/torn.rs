//! Torn checkpoint writes: a database page that differs from the frame a completed checkpoint
//! copied. A checkpoint that reached nBackfill = B wrote, for every page, its newest frame at
//! or before B into the database file; if the file's copy differs from that frame now, the
//! write was torn (part of the page is old) or the file was damaged afterwards. The WAL still
//! holds the right image.

use crate::analysis::wal::FrameState;
use crate::forensics::snapshot::{Forensics, Origin, PageMap, SnapshotSpec};

/// One database page that is not what the checkpoint wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornPage {
    pub page: u32,
    /// The frame the checkpoint copied (the page's newest frame at or before nBackfill).
    pub frame: u32,
    /// The commit that frame belongs to.
    pub commit: Option<u32>,
    pub backfill: u32,
    /// First differing byte offset within the page.
    pub first_diff: u32,
    /// Bytes that differ.
    pub bytes_differ: u32,
    /// True when the file's copy equals the frame over at least its first 512-byte sector and
    /// differs after it (the shape of a write cut short at a sector boundary).
    pub torn_shape: bool,
    /// True when the snapshot checked reads this page from the WAL (SQLite does not see the
    /// damage until the WAL is gone).
    pub hidden_by_wal: bool,
}

impl TornPage {
    pub fn describe(&self) -> String {
        let c = self.commit.map(|c| format!(" (commit {c})")).unwrap_or_default();
        format!(
            "database page {} differs from frame {}{c}, which the completed checkpoint (nBackfill {}) copied there: {} bytes differ from offset {}{}; the WAL still holds the right image{}",
            self.page,
            self.frame,
            self.backfill,
            self.bytes_differ,
            self.first_diff,
            if self.torn_shape { " (a write cut short: the start matches, the rest is older)" } else { "" },
            if self.hidden_by_wal {
                " — SQLite reads that frame now, and sees the damage once the WAL is reset or lost"
            } else {
                ""
            }
        )
    }
}

/// The commit number a frame belongs to (the first commit frame at or after it).
pub fn commit_of(fx: &Forensics<'_>, frame: u32) -> Option<u32> {
    let c = fx.commits();
    let i = c.partition_point(|c| c.frame < frame);
    c.get(i).map(|c| c.number)
}

/// Every torn page, given the -shm's nBackfill (nothing without a trusted -shm).
pub fn find(fx: &Forensics<'_>, spec: SnapshotSpec) -> Vec<TornPage> {
    let (Some(backfill), Some(w)) = (fx.backfill, fx.wal()) else { return Vec::new() };
    if backfill == 0 {
        return Vec::new();
    }
    let mut newest: PageMap<u32> = PageMap::default();
    for f in w.frames.iter().filter(|f| f.index <= backfill && f.state == FrameState::Committed) {
        if f.header.page != 0 {
            newest.insert(f.header.page, f.index);
        }
    }
    let mut pages: Vec<(u32, u32)> = newest.into_iter().collect();
    pages.sort_unstable();
    let snap = fx.snapshot(spec);
    let mut out = Vec::new();
    for (page, frame) in pages {
        if !fx.store.db_has(page) {
            continue;
        }
        let (Ok(db), Ok(fr)) = (fx.store.read(page, Origin::Db), fx.store.read(page, Origin::Frame(frame))) else {
            continue;
        };
        if db == fr {
            continue;
        }
        let diffs: Vec<usize> =
            db.iter().zip(fr.iter()).enumerate().filter(|(_, (a, b))| a != b).map(|(i, _)| i).collect();
        let first = diffs.first().copied().unwrap_or(0);
        // A write cut short leaves whole sectors of the new image, then older bytes — which
        // can match the new ones for a while: the first difference lies at or after the
        // sector boundary where the write stopped.
        let torn_shape = first >= 512;
        out.push(TornPage {
            page,
            frame,
            commit: commit_of(fx, frame),
            backfill,
            first_diff: first as u32,
            bytes_differ: diffs.len() as u32,
            torn_shape,
            hidden_by_wal: matches!(snap.origin(page), Origin::Frame(_)),
        });
    }
    out
}
