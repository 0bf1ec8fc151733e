//! Checkpoint placement: which commits of the current WAL generation the database file already
//! holds.
//!
//! A checkpoint copies the newest frame of each page, up to a commit frame K, into the database
//! file and records K in the -shm as nBackfill. When a reader keeps the WAL from restarting,
//! frames 1..K stay in the WAL although the file already holds them: the file is then the state
//! *after* the commit ending at K, not the state before commit 1.
//!
//! What a checkpoint copies (SQLite's `walCheckpoint`): for each page, the newest frame the WAL
//! holds at that moment, and only when that frame is at or before K — a page rewritten after K
//! keeps the file's older copy (readers find it in the WAL after nBackfill). So the file is not
//! exactly "the state after K" either, but the state after K read from the frames and the file is
//! exact: pages written up to K are read from their frames, and the others were not touched.
//!
//! Placement is decided, in order:
//!
//! 1. by the -shm's nBackfill, when its header is trusted, belongs to this WAL generation (same
//!    salts), is not stale (its mxFrame is the WAL's valid frame count), nBackfill ends a
//!    commit, every page whose last frame is at or before it is in the file with that frame's
//!    bytes, and no page first written after it is (by content, below);
//! 2. otherwise by page contents: a page whose database-file copy is byte-identical to its
//!    last committed frame was copied by a checkpoint, so the file holds at least the commit of
//!    that frame. The placement is the latest such commit — the smallest commit proven to be
//!    in the file. The state after it, read from the frames and the file, is exact: a page with
//!    no frame up to it was not copied (else it would prove a later commit).
//!
//! Work is one read of each written page in the file and of its last frame.

use super::snapshot::{Forensics, Origin, PageMap, SnapshotSpec};
use crate::format::vocab::vocabulary;

vocabulary! {
    /// How the placement was decided.
    pub enum PlacedBy {
        /// The -shm's nBackfill (checked against page contents).
        Shm = "shm",
        /// Page contents of the frames compared with the database file.
        Content = "content",
        /// Nothing to place: no database file or no commit.
        Nothing = "none",
    }
}

/// Where the database file stands in the WAL's commits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    /// The last commit the database file holds (0: none; the file is the state before commit 1).
    pub commit: u32,
    /// Its commit frame (0 with `commit` 0): frames 1..=frame are already in the file.
    pub frame: u32,
    pub by: PlacedBy,
    /// How it was decided, in one sentence.
    pub reason: String,
}

impl Placement {
    /// The state the database file is: after the placed commit, else the file alone (the
    /// state before commit 1).
    pub fn spec(&self, fx: &Forensics<'_>) -> SnapshotSpec {
        if self.commit == 0 { fx.base() } else { fx.at_commit(self.commit).unwrap_or_else(|| fx.base()) }
    }

    fn nothing(reason: impl Into<String>) -> Self {
        Self { commit: 0, frame: 0, by: PlacedBy::Nothing, reason: reason.into() }
    }
}

/// One committed page: its last committed frame, and whether the database file holds that
/// frame's bytes.
struct PageFrames {
    page: u32,
    last: u32,
    copied: bool,
}

/// Decide which commit the database file holds.
pub fn place(fx: &Forensics<'_>) -> Placement {
    let commits = fx.commits();
    let Some(last) = commits.last() else {
        return Placement::nothing("the WAL has no commit");
    };
    if fx.store.db_len() == 0 {
        return Placement::nothing("there is no database file: no commit is in it");
    }
    let Some(w) = fx.wal() else {
        return Placement::nothing("there is no WAL");
    };
    let mut by_page: PageMap<u32> = PageMap::default();
    for f in w.frames.iter().take_while(|f| f.index <= last.frame) {
        if f.header.page != 0 {
            by_page.insert(f.header.page, f.index);
        }
    }
    let mut pages: Vec<PageFrames> =
        by_page.into_iter().map(|(page, last)| PageFrames { page, last, copied: same(fx, page, last) }).collect();
    pages.sort_unstable_by_key(|p| p.page);
    let commit_of = |frame: u32| commits.partition_point(|c| c.frame < frame) + 1;
    // The latest commit a copied page proves to be in the file.
    let proven = pages.iter().filter(|p| p.copied).map(|p| commit_of(p.last)).max().unwrap_or(0);
    let proven_commit = proven.checked_sub(1).and_then(|i| commits.get(i));
    let proven_frame = proven_commit.map_or(0, |c| c.frame);

    let mut shm_reason = None;
    if let Some(b) = fx.backfill {
        let stale = fx
            .analysis
            .shm
            .as_ref()
            .and_then(|s| s.trusted_header())
            .filter(|h| h.mx_frame != w.valid_frames)
            .map(|h| h.mx_frame);
        let missing = pages.iter().find(|p| p.last <= b && !p.copied).map(|p| p.page);
        if let Some(mx) = stale {
            shm_reason = Some(format!(
                "the -shm is stale (its mxFrame {mx}, the WAL has {} valid frames), so its nBackfill {b} was not used",
                w.valid_frames
            ));
        } else if b < proven_frame {
            shm_reason = Some(format!(
                "the -shm's nBackfill {b} is before frame {proven_frame}, whose page the database file already holds"
            ));
        } else if let Some(p) = missing {
            shm_reason =
                Some(format!("the -shm's nBackfill is {b}, but the database file does not hold page {p} as of it"));
        } else if b == 0 {
            return Placement {
                commit: 0,
                frame: 0,
                by: PlacedBy::Shm,
                reason: "the -shm's nBackfill is 0: no frame of this WAL is in the database file".into(),
            };
        } else if let Some(c) = commits.iter().find(|c| c.frame == b) {
            return Placement {
                commit: c.number,
                frame: c.frame,
                by: PlacedBy::Shm,
                reason: format!(
                    "the -shm's nBackfill {b} ends commit {}, and the database file holds every page last written up to it",
                    c.number
                ),
            };
        } else {
            shm_reason = Some(format!("the -shm's nBackfill {b} does not end a commit of this WAL"));
        }
    }
    let how = match (&shm_reason, fx.analysis.shm.is_some()) {
        (Some(r), _) => format!("{r}; "),
        (None, true) => "the -shm is not trusted or belongs to another WAL generation; ".into(),
        (None, false) => "there is no -shm; ".into(),
    };
    let Some(c) = proven_commit else {
        return Placement {
            commit: 0,
            frame: 0,
            by: PlacedBy::Content,
            reason: format!(
                "{how}by page contents, no page of the WAL is in the database file with its last frame's bytes ({} page(s) compared)",
                pages.len()
            ),
        };
    };
    let behind = pages.iter().filter(|p| p.last <= c.frame && !p.copied).count();
    let torn = if behind == 0 {
        String::new()
    } else {
        format!(" ({behind} page(s) last written up to it are not: an interrupted checkpoint?)")
    };
    Placement {
        commit: c.number,
        frame: c.frame,
        by: PlacedBy::Content,
        reason: format!(
            "{how}by page contents, the database file holds commit {} at least: its page {} has the bytes of its last frame {}{torn}",
            c.number,
            pages.iter().filter(|p| p.copied && commit_of(p.last) == proven).map(|p| p.page).next().unwrap_or(0),
            pages.iter().filter(|p| p.copied && commit_of(p.last) == proven).map(|p| p.last).next().unwrap_or(0),
        ),
    }
}

/// True when the database file holds page `page` with the bytes of frame `frame`.
fn same(fx: &Forensics<'_>, page: u32, frame: u32) -> bool {
    if !fx.store.db_has(page) {
        return false;
    }
    match (fx.store.read(page, Origin::Db), fx.store.read(page, Origin::Frame(frame))) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
