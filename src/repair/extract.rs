//! Extract a standalone database file as of a commit.
//!
//! The snapshot at commit N (commit frame C, numbered as in `dump`'s `commits`) is what a
//! reader whose snapshot ends at C sees (`walFindFrame` in `src/wal.c`): page P comes from the
//! newest valid frame ≤ C holding P, else from the database file; the database has the commit
//! frame's size. Commit 0 means the database file as it was before this WAL generation; it is
//! also what is extracted when the WAL holds no valid commit.
//!
//! **Exactness.** For the last commit the result is always what SQLite shows: a checkpoint only
//! ever copies frames into the database file, so a page without a frame is untouched. For an
//! earlier commit, a page with no frame ≤ C but with frames after C may have been overwritten
//! in the database file by a checkpoint that copied one of those later frames. Which frames a
//! checkpoint may have copied is bounded by the -shm's checkpoint info: `nBackfill` (done), and
//! `nBackfillAttempted` (set before copying starts, so after a crash or an interrupted
//! checkpoint frames up to it may have been written; SQLite itself refuses to open a snapshot
//! older than it, see `sqlite3WalSnapshotRecover`). Without a -shm that describes this WAL
//! generation the bound is mxFrame. Each such page is then checked by content: if the database
//! file's copy equals one of those later frames it was overwritten (the page is *uncertain*);
//! otherwise the file still holds the older version — a checkpoint copies frames byte for byte
//! and skips pages whose newest frame is beyond its limit, so a copy that matches no later
//! frame is the version the commit saw. Pages that neither a frame ≤ C nor the database file
//! holds are uncertain too.
//!
//! **Header.** The output is a rollback-journal database (bytes 18/19 set from 2 to 1) unless
//! WAL mode is kept, with the in-header page count set to the snapshot's size and
//! version-valid-for set to the change counter, so SQLite trusts that size.
//!
//! Memory stays proportional to the number of frames plus one output window: pages are read
//! with planned positioned reads (frames in file order, neighbours coalesced) and written in
//! large blocks, never the whole WAL or database at once (see [`write()`]).

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;

use super::{FrameRun, IgnoredReason, RepairError, push_run};
use crate::analysis::wal::{FrameState, HeaderProblem, WalAnalysis};
use crate::analysis::{Analysis, ReadAt};
use crate::format::WordOrder;
use crate::format::db_header::DbHeader;
use crate::format::wal::{FRAME_HEADER_LEN, frame_offset};
use crate::source::Evidence;

/// What to extract.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExtractOptions {
    /// Commit number (1-based as in `dump`; 0 = the database file before this WAL generation);
    /// `None` = the last commit.
    pub commit: Option<u32>,
    /// Keep the header's WAL-mode bytes (18/19 = 2) instead of writing a rollback database.
    pub keep_wal_mode: bool,
}

/// Where the snapshot comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotKind {
    /// A commit of the current WAL generation.
    WalCommit,
    /// The database file's own state (commit 0, or no usable commit in the WAL).
    DatabaseFile,
    /// A rollback-mode database without a -wal: copied byte for byte.
    PlainCopy,
}

impl SnapshotKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::WalCommit => "wal_commit",
            Self::DatabaseFile => "database_file",
            Self::PlainCopy => "plain_copy",
        }
    }
}

/// Where one page of the output comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageSource {
    /// The database file.
    DbFile,
    /// A WAL frame.
    Frame(u32),
    /// Zeros: the lock-byte page, which SQLite never stores, beyond the database file.
    Zero,
    /// In no file: written as zeros, uncertain.
    Missing,
}

/// Consecutive output pages with one source (frame runs are single pages).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRun {
    pub first: u32,
    pub last: u32,
    pub source: PageSource,
}

/// Why a page's content at the chosen commit cannot be known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UncertainReason {
    /// The database file's copy equals this later frame: a checkpoint overwrote the page.
    Checkpointed { frame: u32 },
    /// Neither a frame at or before the commit nor the database file holds the page.
    NotInFiles,
}

impl UncertainReason {
    pub fn name(self) -> &'static str {
        match self {
            Self::Checkpointed { .. } => "checkpointed",
            Self::NotInFiles => "not_in_files",
        }
    }
}

/// Uncertain pages, as runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UncertainRun {
    pub first: u32,
    pub last: u32,
    pub reason: UncertainReason,
}

/// Where the bound on checkpointed frames comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackfillSource {
    /// The -shm's checkpoint info (its header is sound and its salts are this WAL's).
    Shm,
    /// No -shm.
    NoShm,
    /// The -shm header fails its checksum or its copies disagree.
    ShmUntrusted,
    /// The -shm describes another WAL generation (salts differ).
    ShmOtherGeneration,
    /// No frame can matter (no usable WAL, or the last commit).
    NotNeeded,
}

impl BackfillSource {
    pub fn name(self) -> &'static str {
        match self {
            Self::Shm => "shm",
            Self::NoShm => "no_shm",
            Self::ShmUntrusted => "shm_untrusted",
            Self::ShmOtherGeneration => "shm_other_generation",
            Self::NotNeeded => "not_needed",
        }
    }
}

/// The bound on frames a checkpoint may have copied into the database file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backfill {
    pub source: BackfillSource,
    /// nBackfill from the -shm, when trusted.
    pub backfill: Option<u32>,
    /// nBackfillAttempted from the -shm, when trusted.
    pub backfill_attempted: Option<u32>,
    /// Frames ≤ this may be in the database file: max(nBackfill, nBackfillAttempted) capped at
    /// mxFrame, or mxFrame when unknown.
    pub bound: u32,
}

/// Header fields changed in the output's page 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderPatch {
    pub write_version: (u8, u8),
    pub read_version: (u8, u8),
    pub page_count: (u32, u32),
    pub version_valid_for: (u32, u32),
    pub change_counter: u32,
}

/// Everything decided before any byte is read: the snapshot, each page's source, the frames
/// that do not contribute and why, the pages to check by content.
#[derive(Clone, Debug)]
pub struct Plan {
    pub kind: SnapshotKind,
    /// Commit number (0 = the database file).
    pub commit: u32,
    /// Commits in the current WAL generation (the valid range is 0..=this).
    pub commits_available: u32,
    /// The commit frame (0 for the database file).
    pub commit_frame: u32,
    pub page_size: u32,
    /// Output size in pages.
    pub db_pages: u32,
    /// Output size in bytes.
    pub output_len: u64,
    pub mx_frame: u32,
    pub chain_valid_frames: u32,
    /// The WAL header's salts, checkpoint sequence and checksum order (when there is a header).
    pub salts: Option<[u32; 2]>,
    pub checkpoint_seq: Option<u32>,
    pub word_order: Option<WordOrder>,
    /// Why SQLite ignores the whole -wal, if it does.
    pub wal_ignored: Option<HeaderProblem>,
    pub runs: Vec<PageRun>,
    pub frames_ignored: Vec<FrameRun>,
    pub backfill: Backfill,
    /// Pages with no frame ≤ C but frames in (C, bound], with those frames.
    pub candidates: BTreeMap<u32, Vec<u32>>,
    pub keep_wal_mode: bool,
    pub notes: Vec<String>,
}

/// The result of reading: uncertain pages, pages verified by content, the patched page 1.
#[derive(Clone, Debug)]
pub struct Verified {
    pub uncertain: Vec<UncertainRun>,
    pub uncertain_count: u64,
    /// Candidate pages whose database-file copy matches no later frame (kept, exact).
    pub verified_by_content: Vec<u32>,
    pub header: Option<HeaderPatch>,
    page1: Option<Vec<u8>>,
}

impl Verified {
    /// True when every page is known exactly.
    pub fn exact(&self) -> bool {
        self.uncertain_count == 0
    }
    /// Up to `max` uncertain page numbers, in order.
    pub fn uncertain_pages(&self, max: usize) -> Vec<u32> {
        let mut v = Vec::new();
        for r in &self.uncertain {
            let mut p = r.first;
            loop {
                if v.len() >= max {
                    return v;
                }
                v.push(p);
                if p >= r.last {
                    break;
                }
                p += 1;
            }
        }
        v
    }
}

/// A readable input.
#[derive(Clone, Copy)]
pub struct Source<'a> {
    pub path: &'a Path,
    pub reader: &'a dyn ReadAt,
    pub len: u64,
}

/// The database file and the -wal, as opened.
#[derive(Clone, Copy, Default)]
pub struct Sources<'a> {
    pub db: Option<Source<'a>>,
    pub wal: Option<Source<'a>>,
}

impl<'a> Sources<'a> {
    pub fn of(ev: &'a Evidence) -> Self {
        let s = |f: &'a Option<crate::source::EvidenceFile>| {
            f.as_ref().map(|f| Source { path: &f.path, reader: &f.file as &dyn ReadAt, len: f.len() })
        };
        Self { db: s(&ev.db), wal: s(&ev.wal) }
    }
}

/// Decide the snapshot and every page's source, reading the snapshot's page 1 to size it as
/// SQLite does: the b-tree's size is the in-header page count (offset 28) when that is valid
/// (non-zero, and version-valid-for at 92 equals the change counter at 24) and not above the
/// pager's size (the commit frame's), else the pager's size (`lockBtree` in `src/btree.c`).
/// A file pre-grown by `SQLITE_FCNTL_CHUNK_SIZE` (browsers do this) records the pager's larger
/// size in its commit frames while the b-tree ends earlier; SQLite shows the b-tree's size.
pub fn plan_from(a: &Analysis, src: &Sources<'_>, opts: &ExtractOptions) -> Result<Plan, RepairError> {
    let db_len = src.db.map(|d| d.len);
    let first = plan(a, db_len, opts)?;
    if first.kind == SnapshotKind::PlainCopy {
        return Ok(first);
    }
    let Some(h) = page1_header(&first, a, src)? else { return Ok(first) };
    if !h.page_count_valid() || h.page_count == first.db_pages {
        return Ok(first);
    }
    if h.page_count > first.db_pages {
        let mut p = first;
        p.notes.push(format!(
            "page 1 says the database has {} pages (a valid count) but the snapshot has {}: SQLite reports such a \
             database as corrupt; extracted with the snapshot's size",
            h.page_count, p.db_pages
        ));
        return Ok(p);
    }
    let mut p = plan_sized(a, db_len, opts, Some(h.page_count))?;
    p.notes.push(format!(
        "the b-tree ends at page {} (the valid in-header page count) while the {} records {} pages (a file \
         pre-grown in chunks): SQLite shows {} pages, and so does the output",
        h.page_count,
        if first.kind == SnapshotKind::WalCommit { "commit frame" } else { "database file" },
        first.db_pages,
        h.page_count
    ));
    Ok(p)
}

/// The database header of the snapshot's page 1, read from its source (`None` when page 1 is
/// in no file or is not a database header: `verify` reports those).
fn page1_header(plan: &Plan, a: &Analysis, src: &Sources<'_>) -> Result<Option<DbHeader>, RepairError> {
    let mut p1 = vec![0u8; plan.page_size as usize];
    match (
        plan.runs.first().filter(|r| r.first == 1).map(|r| r.source),
        a.wal.as_ref(),
        src.wal.as_ref(),
        src.db.as_ref(),
    ) {
        (Some(PageSource::Frame(f)), Some(w), Some(wsrc), _) => {
            let mut frame = Vec::new();
            read_frame(plan, w, wsrc, f, &mut frame)?;
            match frame.get(FRAME_HEADER_LEN..) {
                Some(image) if image.len() == p1.len() => p1.copy_from_slice(image),
                _ => return Ok(None),
            }
        }
        (Some(PageSource::DbFile), _, _, Some(d)) => read_page(d, 0, &mut p1)?,
        _ => return Ok(None),
    }
    Ok(DbHeader::parse(&p1).ok())
}

/// Decide the snapshot and every page's source from the analysis alone, with the pager's size
/// (the commit frame's, or the database file's own); [`plan_from`] also reads page 1 and sizes
/// the output as SQLite's b-tree layer does. `db_len` is the database file's length (`None`
/// when there is no database file).
pub fn plan(a: &Analysis, db_len: Option<u64>, opts: &ExtractOptions) -> Result<Plan, RepairError> {
    plan_sized(a, db_len, opts, None)
}

/// [`plan`], with the output's size in pages set to `btree_pages` when given (at most the
/// pager's size).
fn plan_sized(
    a: &Analysis,
    db_len: Option<u64>,
    opts: &ExtractOptions,
    btree_pages: Option<u32>,
) -> Result<Plan, RepairError> {
    let wal = a.wal.as_ref();
    if let Some(w) = wal {
        if let Some(e) = &w.read_error {
            return Err(RepairError::Input(format!("the -wal could not be read whole: {e}")));
        }
        if w.header_problem == Some(HeaderProblem::BadVersion) {
            return Err(RepairError::Input(format!(
                "the -wal's format version is {}, not 3007000: SQLite refuses to open this database",
                w.header.map_or(0, |h| h.format_version)
            )));
        }
    }
    let wal_ok = wal.filter(|w| w.header_problem.is_none());
    let db_len = db_len.unwrap_or(0);
    let db_header = a.db.as_ref().map(|d| d.header);
    let mut notes = Vec::new();

    let commits_available = wal_ok.map_or(0, |w| w.commits.len() as u32);
    let commit = opts.commit.unwrap_or(commits_available);
    if commit > commits_available {
        return Err(RepairError::Input(if commits_available == 0 {
            format!(
                "there is no commit {commit}: the WAL holds no valid commit (only --commit 0, the database file, exists)"
            )
        } else {
            format!("there is no commit {commit}: valid commits are 0..={commits_available} (0 = the database file)")
        }));
    }

    // Page size: the WAL's when SQLite uses the WAL, and it must agree with the database's.
    let db_page_size = db_header.and_then(|h| h.page_size());
    let page_size = match (wal_ok.and_then(|w| w.page_size), db_page_size) {
        (Some(w), Some(d)) if w != d => {
            return Err(RepairError::Input(format!(
                "page size mismatch: the database header says {d}, the -wal header says {w}"
            )));
        }
        (Some(w), _) => w,
        (None, Some(d)) => d,
        (None, None) => {
            return Err(RepairError::Input(match &a.db_problem {
                Some(p) => format!("no usable WAL commit and the database file is unusable: {p}"),
                None => "the WAL has no valid commit and there is no database file: nothing to extract".to_string(),
            }));
        }
    };
    let ps = u64::from(page_size);

    let no_wal_file = wal.is_none();
    let kind = if commit > 0 {
        SnapshotKind::WalCommit
    } else if no_wal_file && db_header.is_some_and(|h| !h.is_wal_mode()) {
        SnapshotKind::PlainCopy
    } else {
        SnapshotKind::DatabaseFile
    };
    if let Some(w) = wal {
        if let Some(p) = w.header_problem {
            notes.push(format!(
                "SQLite ignores the whole -wal ({}): extracting the database file's own state",
                p.name()
            ));
        } else if commits_available == 0 {
            notes.push("the WAL holds no valid commit: extracting the database file's own state".to_string());
        } else if commit == 0 {
            notes.push("commit 0: the database file as it was before this WAL generation".to_string());
        }
    } else if kind == SnapshotKind::PlainCopy {
        notes.push("not in WAL mode and no -wal: a plain copy of the database file".to_string());
    } else {
        notes.push("no -wal: extracting the database file's own state".to_string());
    }

    if wal_ok.is_some() && db_len == 0 {
        notes.push(if a.db_problem.is_some() {
            "the database file is empty: SQLite would delete this -wal on open and show an empty database; \
             extracted from the WAL alone"
                .to_string()
        } else {
            "no database file: extracted from the WAL alone".to_string()
        });
    }
    let commit_rec = wal_ok.and_then(|w| w.commits.get((commit as usize).wrapping_sub(1)));
    let commit_frame = commit_rec.map_or(0, |c| c.frame);
    let db_pages: u64 = match (kind, commit_rec) {
        (SnapshotKind::WalCommit, Some(c)) => u64::from(c.db_pages),
        (SnapshotKind::PlainCopy, _) => db_len.div_ceil(ps),
        _ => {
            let Some(d) = a.db.as_ref() else {
                let no_commit = opts.commit.is_none() || commits_available == 0;
                return Err(RepairError::Input(match (&a.db_problem, no_commit) {
                    (Some(p), true) => {
                        format!(
                            "the WAL has no valid commit and the database file is unusable ({p}): nothing to extract"
                        )
                    }
                    (None, true) => {
                        "the WAL has no valid commit and there is no database file: nothing to extract".to_string()
                    }
                    (Some(p), false) => {
                        format!("commit 0 is the database file's own state, but the database file is unusable: {p}")
                    }
                    (None, false) => {
                        "commit 0 is the database file's own state, but there is no database file".to_string()
                    }
                }));
            };
            d.effective_page_count().unwrap_or(0)
        }
    };
    // SQLite's checkpointer calls a database larger than the file plus the whole log plus the
    // lock-byte page corrupt; nothing could supply such pages. The rule only means corruption
    // when the database file exists: without it (a post-mortem WAL) the pages the WAL does not
    // hold are unknown, not corrupt, and are listed as in no file.
    let limit = db_len.saturating_add(65536).saturating_add(u64::from(commit_frame).saturating_mul(ps));
    let output_len = db_pages.saturating_mul(ps);
    if kind != SnapshotKind::PlainCopy && db_len > 0 && output_len > limit {
        return Err(RepairError::Input(format!(
            "commit {commit} claims {db_pages} pages of {page_size} bytes, more than the database file and the WAL \
             could hold: the files are corrupt"
        )));
    }
    if db_pages == 0 {
        return Err(RepairError::Input(format!("commit {commit} has an empty database (0 pages): nothing to extract")));
    }
    let db_pages = u32::try_from(db_pages).map_err(|_| RepairError::Input("database too large".into()))?;
    let db_pages = btree_pages.map_or(db_pages, |b| b.min(db_pages));

    // Newest frame ≤ C per page (all frames ≤ C ≤ mxFrame are valid).
    let mut newest: HashMap<u32, u32> = HashMap::new();
    if let Some(w) = wal_ok {
        for f in w.frames.iter().take(commit_frame as usize) {
            newest.insert(f.header.page, f.index);
        }
    }

    let runs = page_runs(kind, db_pages, db_len, ps, &newest);
    let frames_ignored = ignored_frames(wal, wal_ok.is_some(), commit_frame, db_pages, &newest);

    let (backfill, candidates) = match wal_ok {
        Some(w) if commit_frame < w.valid_frames => {
            let b = backfill_bound(a, w);
            let mut c: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
            for f in w.frames.iter().skip(commit_frame as usize).take(b.bound.saturating_sub(commit_frame) as usize) {
                let p = f.header.page;
                if p <= db_pages && !newest.contains_key(&p) {
                    c.entry(p).or_default().push(f.index);
                }
            }
            (b, c)
        }
        _ => (
            Backfill { source: BackfillSource::NotNeeded, backfill: None, backfill_attempted: None, bound: 0 },
            BTreeMap::new(),
        ),
    };

    Ok(Plan {
        kind,
        commit,
        commits_available,
        commit_frame,
        page_size,
        db_pages,
        output_len: if kind == SnapshotKind::PlainCopy { db_len } else { u64::from(db_pages) * ps },
        mx_frame: wal_ok.map_or(0, |w| w.valid_frames),
        chain_valid_frames: wal_ok.map_or(0, |w| w.chain_valid_frames),
        salts: wal.and_then(|w| w.header).map(|h| h.salts()),
        checkpoint_seq: wal.and_then(|w| w.header).map(|h| h.checkpoint_seq),
        word_order: wal.and_then(|w| w.word_order()),
        wal_ignored: wal.and_then(|w| w.header_problem),
        runs,
        frames_ignored,
        backfill,
        candidates,
        keep_wal_mode: opts.keep_wal_mode,
        notes,
    })
}

/// Where each output page comes from, as runs: the newest frame at or before the commit, else
/// the database file (see [`gap`]).
fn page_runs(kind: SnapshotKind, db_pages: u32, db_len: u64, ps: u64, newest: &HashMap<u32, u32>) -> Vec<PageRun> {
    let mut runs = Vec::new();
    if kind == SnapshotKind::PlainCopy {
        runs.push(PageRun { first: 1, last: db_pages, source: PageSource::DbFile });
        return runs;
    }
    let file_pages = db_len.div_ceil(ps);
    let lock_page = u32::try_from(0x4000_0000u64 / ps + 1).unwrap_or(u32::MAX);
    let mut from_wal: Vec<(u32, u32)> = newest.iter().filter(|(p, _)| **p <= db_pages).map(|(p, f)| (*p, *f)).collect();
    from_wal.sort_unstable();
    let mut cursor = 1u32;
    for (p, f) in from_wal {
        if cursor < p {
            gap(&mut runs, cursor, p - 1, file_pages, lock_page);
        }
        runs.push(PageRun { first: p, last: p, source: PageSource::Frame(f) });
        cursor = p.saturating_add(1);
    }
    if cursor <= db_pages && cursor != 0 {
        gap(&mut runs, cursor, db_pages, file_pages, lock_page);
    }
    runs
}

/// Frames that do not contribute to the output, and why, as runs. `wal_used` is false when
/// SQLite ignores the whole WAL.
fn ignored_frames(
    wal: Option<&WalAnalysis>,
    wal_used: bool,
    commit_frame: u32,
    db_pages: u32,
    newest: &HashMap<u32, u32>,
) -> Vec<FrameRun> {
    let mut frames_ignored = Vec::new();
    let Some(w) = wal else { return frames_ignored };
    for f in &w.frames {
        let reason = if !wal_used {
            IgnoredReason::Invalid
        } else {
            match f.state {
                FrameState::Committed if f.index <= commit_frame => {
                    if newest.get(&f.header.page) != Some(&f.index) {
                        IgnoredReason::Superseded
                    } else if f.header.page > db_pages {
                        IgnoredReason::BeyondDbSize
                    } else {
                        continue;
                    }
                }
                FrameState::Committed => IgnoredReason::AfterCommit,
                FrameState::Uncommitted => IgnoredReason::Uncommitted,
                FrameState::Invalid => IgnoredReason::Invalid,
                FrameState::Stale => IgnoredReason::Stale,
            }
        };
        push_run(&mut frames_ignored, f.index, reason);
    }
    frames_ignored
}

/// Pages `first..=last` without a frame: from the database file where it reaches, else zeros
/// for the lock-byte page and missing for anything else.
fn gap(runs: &mut Vec<PageRun>, first: u32, last: u32, file_pages: u64, lock_page: u32) {
    let in_file_last = u64::from(last).min(file_pages);
    if u64::from(first) <= in_file_last {
        push_page_run(runs, first, in_file_last as u32, PageSource::DbFile);
    }
    let beyond = if u64::from(first) > file_pages { first } else { (file_pages + 1).min(u64::from(u32::MAX)) as u32 };
    if beyond > last || u64::from(beyond) <= file_pages {
        return;
    }
    let mut p = beyond;
    if (p..=last).contains(&lock_page) {
        if p < lock_page {
            push_page_run(runs, p, lock_page - 1, PageSource::Missing);
        }
        push_page_run(runs, lock_page, lock_page, PageSource::Zero);
        p = lock_page.saturating_add(1);
        if p == 0 || p > last {
            return;
        }
    }
    push_page_run(runs, p, last, PageSource::Missing);
}

fn push_page_run(runs: &mut Vec<PageRun>, first: u32, last: u32, source: PageSource) {
    if let Some(r) = runs.last_mut()
        && r.source == source
        && !matches!(source, PageSource::Frame(_))
        && r.last.checked_add(1) == Some(first)
    {
        r.last = last;
        return;
    }
    runs.push(PageRun { first, last, source });
}

/// The frames a checkpoint may have copied into the database file.
fn backfill_bound(a: &Analysis, w: &WalAnalysis) -> Backfill {
    let mx = w.valid_frames;
    let unknown = |source| Backfill { source, backfill: None, backfill_attempted: None, bound: mx };
    let Some(shm) = a.shm.as_ref() else {
        return unknown(BackfillSource::NoShm);
    };
    let (Some(h), Some(ck)) = (shm.reference(), shm.ckpt) else {
        return unknown(BackfillSource::ShmUntrusted);
    };
    if Some(h.salts()) != w.header.map(|x| x.salts()) {
        return unknown(BackfillSource::ShmOtherGeneration);
    }
    Backfill {
        source: BackfillSource::Shm,
        backfill: Some(ck.backfill),
        backfill_attempted: Some(ck.backfill_attempted),
        bound: ck.backfill.max(ck.backfill_attempted).min(mx),
    }
}

fn read_page(src: &Source<'_>, offset: u64, buf: &mut [u8]) -> Result<(), RepairError> {
    let n = src.reader.read_at_full(offset, buf).map_err(|e| RepairError::io(src.path, "read", e))?;
    if let Some(rest) = buf.get_mut(n..) {
        rest.fill(0);
    }
    Ok(())
}

/// Read the page data of valid frame `frame`, checking that its header is still the one
/// analysed (page number, salts, checksum): a WAL rewritten meanwhile is an error, not output.
fn read_frame(
    plan: &Plan,
    w: &WalAnalysis,
    src: &Source<'_>,
    frame: u32,
    buf: &mut Vec<u8>,
) -> Result<(), RepairError> {
    let ps = plan.page_size as usize;
    buf.resize(FRAME_HEADER_LEN + ps, 0);
    let n = src
        .reader
        .read_at_full(frame_offset(frame, plan.page_size), buf)
        .map_err(|e| RepairError::io(src.path, "read", e))?;
    let rec = w.frame(frame);
    let hb: [u8; FRAME_HEADER_LEN] = crate::format::bytes::array_at(buf, 0).unwrap_or([0; FRAME_HEADER_LEN]);
    let h = crate::format::wal::FrameHeader::parse(&hb);
    if n != buf.len() || rec.is_none_or(|r| r.header != h) {
        return Err(RepairError::Changed(src.path.to_path_buf()));
    }
    Ok(())
}

/// Read what the plan needs to judge: candidate pages against their later frames, and page 1
/// (which must be a database header; it is patched here).
pub fn verify(plan: &Plan, a: &Analysis, src: &Sources<'_>) -> Result<Verified, RepairError> {
    let ps = plan.page_size as usize;
    let wal = a.wal.as_ref();
    let mut uncertain: Vec<UncertainRun> = Vec::new();
    let mut uncertain_count = 0u64;
    let mut verified_by_content = Vec::new();
    let mut checked: BTreeMap<u32, UncertainReason> = BTreeMap::new();
    if let (Some(w), Some(wsrc)) = (wal, src.wal.as_ref()) {
        let mut db_page = vec![0u8; ps];
        let mut frame = Vec::new();
        for (&p, frames) in &plan.candidates {
            let Some(dsrc) = src.db.as_ref().filter(|d| (u64::from(p) - 1) * (ps as u64) < d.len) else {
                continue; // in no file: already a missing run
            };
            read_page(dsrc, (u64::from(p) - 1) * ps as u64, &mut db_page)?;
            // Newest first: a checkpoint copies the newest frame within its limit.
            let mut hit = None;
            for &f in frames.iter().rev() {
                read_frame(plan, w, wsrc, f, &mut frame)?;
                if frame.get(FRAME_HEADER_LEN..) == Some(&db_page[..]) {
                    hit = Some(f);
                    break;
                }
            }
            match hit {
                Some(frame) => {
                    checked.insert(p, UncertainReason::Checkpointed { frame });
                }
                None => verified_by_content.push(p),
            }
        }
    }
    // Merge checkpointed pages and missing runs into one ordered list.
    let mut events: Vec<UncertainRun> =
        checked.iter().map(|(&p, &r)| UncertainRun { first: p, last: p, reason: r }).collect();
    for r in plan.runs.iter().filter(|r| r.source == PageSource::Missing) {
        events.push(UncertainRun { first: r.first, last: r.last, reason: UncertainReason::NotInFiles });
    }
    events.sort_by_key(|r| r.first);
    for e in events {
        uncertain_count += u64::from(e.last - e.first) + 1;
        uncertain.push(e);
    }

    // Page 1.
    let (page1, header) = if plan.kind == SnapshotKind::PlainCopy {
        (None, None)
    } else {
        let mut p1 = vec![0u8; ps];
        let from = plan.runs.first().filter(|r| r.first == 1).map(|r| r.source);
        match (from, wal, src.wal.as_ref(), src.db.as_ref()) {
            (Some(PageSource::Frame(f)), Some(w), Some(wsrc), _) => {
                let mut frame = Vec::new();
                read_frame(plan, w, wsrc, f, &mut frame)?;
                match frame.get(FRAME_HEADER_LEN..) {
                    Some(image) if image.len() == p1.len() => p1.copy_from_slice(image),
                    _ => {
                        return Err(RepairError::Input(format!(
                            "page 1 of commit {} (frame {f}) could not be read whole",
                            plan.commit
                        )));
                    }
                }
            }
            (Some(PageSource::DbFile), _, _, Some(d)) => read_page(d, 0, &mut p1)?,
            _ => {
                return Err(RepairError::Input(format!(
                    "page 1 of commit {} is in no file: there is no database to extract",
                    plan.commit
                )));
            }
        }
        let before = DbHeader::parse(&p1).map_err(|_| {
            RepairError::Input(format!(
                "page 1 of commit {} ({}) is not an SQLite database header",
                plan.commit,
                match from {
                    Some(PageSource::Frame(f)) => format!("WAL frame {f}"),
                    _ => "the database file".to_string(),
                }
            ))
        })?;
        let patch = patch_header(&mut p1, plan.db_pages, plan.keep_wal_mode, &before);
        (Some(p1), Some(patch))
    };
    Ok(Verified { uncertain, uncertain_count, verified_by_content, header, page1 })
}

fn patch_header(p1: &mut [u8], db_pages: u32, keep_wal_mode: bool, before: &DbHeader) -> HeaderPatch {
    let (mut w, mut r) = (before.write_version, before.read_version);
    if !keep_wal_mode {
        if w == 2 {
            w = 1;
        }
        if r == 2 {
            r = 1;
        }
    }
    let cc = before.change_counter;
    if let Some(b) = p1.get_mut(18) {
        *b = w;
    }
    if let Some(b) = p1.get_mut(19) {
        *b = r;
    }
    if let Some(b) = p1.get_mut(28..32) {
        b.copy_from_slice(&db_pages.to_be_bytes());
    }
    if let Some(b) = p1.get_mut(92..96) {
        b.copy_from_slice(&cc.to_be_bytes());
    }
    HeaderPatch {
        write_version: (before.write_version, w),
        read_version: (before.read_version, r),
        page_count: (before.page_count, db_pages),
        version_valid_for: (before.version_valid_for, cc),
        change_counter: cc,
    }
}

/// Largest block read from the database file at once (a plain copy).
const BLOCK: u64 = 4 << 20;

/// Output assembled per window of this many bytes: the pages of a window are gathered into one
/// buffer and written with one call, so memory stays bounded whatever the database's size. The
/// buffer is reused from window to window: a small one is touched (page-faulted) once, where a
/// 16 MiB one cost 4,096 first-touch faults, more than the extra positioned reads of smaller
/// windows (docs/performance.md).
const WINDOW: u64 = 2 << 20;

/// Frames needed by one window are read in file order; two needed frames at most this many
/// frames apart are read with one positioned read (the frames between are read and dropped:
/// copying a few KiB costs less than another system call).
const FRAME_GAP: u32 = 8;

/// Largest single read of a span of frames.
const SPAN: u64 = 4 << 20;

/// Stream the output: every page from its source, page 1 patched. Returns the bytes written.
///
/// The I/O is planned: the output is built window by window (`WINDOW`); within a window the
/// database file's runs are read with one positioned read each, and the frames it needs are
/// sorted by frame number and read in file order, neighbours coalesced into spans
/// (`FRAME_GAP`, `SPAN`), each frame's header checked against the analysis. Each window
/// is written with one call.
pub fn write(
    plan: &Plan,
    v: &Verified,
    a: &Analysis,
    src: &Sources<'_>,
    out: &mut dyn Write,
    out_path: &Path,
) -> Result<u64, RepairError> {
    let ps = u64::from(plan.page_size);
    let werr = |e| RepairError::io(out_path, "write", e);
    let mut written = 0u64;
    if plan.kind == SnapshotKind::PlainCopy {
        let d = src.db.as_ref().ok_or_else(|| RepairError::Input("no database file".into()))?;
        let mut buf = vec![0u8; BLOCK as usize];
        while written < d.len {
            let n = (d.len - written).min(BLOCK) as usize;
            let b = buf.get_mut(..n).unwrap_or(&mut []);
            let got = d.reader.read_at_full(written, b).map_err(|e| RepairError::io(d.path, "read", e))?;
            if got != n {
                return Err(RepairError::Changed(d.path.to_path_buf()));
            }
            out.write_all(b).map_err(werr)?;
            written += n as u64;
        }
        return Ok(written);
    }
    let per_window = u32::try_from((WINDOW / ps).max(1)).unwrap_or(u32::MAX);
    let mut buf: Vec<u8> = Vec::new();
    let mut span: Vec<u8> = Vec::new();
    let mut frames: Vec<(u32, u32)> = Vec::new();
    let mut run_i = 0usize;
    let mut first = 1u32;
    while first <= plan.db_pages {
        let last = first.saturating_add(per_window - 1).min(plan.db_pages);
        let len = (u64::from(last - first) + 1) * ps;
        buf.clear();
        buf.resize(len as usize, 0);
        frames.clear();
        // The runs overlapping [first, last] (runs are ordered and cover 1..=db_pages).
        while let Some(r) = plan.runs.get(run_i) {
            if r.first > last {
                break;
            }
            let lo = r.first.max(first);
            let hi = r.last.min(last);
            let slot = (u64::from(lo - first) * ps) as usize;
            match r.source {
                PageSource::Frame(f) => frames.push((f, lo)),
                PageSource::DbFile => {
                    let d = src
                        .db
                        .as_ref()
                        .ok_or_else(|| RepairError::Input("database-file source without a database file".into()))?;
                    let n = (u64::from(hi - lo) + 1) * ps;
                    if let Some(dst) = buf.get_mut(slot..slot + n as usize) {
                        read_page(d, u64::from(lo - 1) * ps, dst)?;
                    }
                }
                PageSource::Zero | PageSource::Missing => {}
            }
            if r.last > last {
                break; // continues in the next window
            }
            run_i += 1;
        }
        if !frames.is_empty() {
            let (Some(w), Some(wsrc)) = (a.wal.as_ref(), src.wal.as_ref()) else {
                return Err(RepairError::Input("frame source without a -wal".into()));
            };
            read_frames_into(plan, w, wsrc, &mut frames, first, &mut buf, &mut span)?;
        }
        if first == 1
            && let (Some(p1), Some(dst)) = (v.page1.as_deref(), buf.get_mut(..ps as usize))
        {
            dst.copy_from_slice(p1);
        }
        out.write_all(&buf).map_err(werr)?;
        written += len;
        first = match last.checked_add(1) {
            Some(n) => n,
            None => break,
        };
    }
    Ok(written)
}

/// Read the frames `(frame, page)` into their pages' slots of `buf` (whose first page is
/// `first`), in file order, coalescing neighbours; every frame's header must still be the one
/// analysed (a WAL rewritten meanwhile is an error, not output).
fn read_frames_into(
    plan: &Plan,
    w: &WalAnalysis,
    src: &Source<'_>,
    frames: &mut [(u32, u32)],
    first: u32,
    buf: &mut [u8],
    span: &mut Vec<u8>,
) -> Result<(), RepairError> {
    let ps = u64::from(plan.page_size);
    let fl = ps + FRAME_HEADER_LEN as u64;
    let per_span = u32::try_from((SPAN / fl).max(1)).unwrap_or(1);
    frames.sort_unstable();
    let mut i = 0usize;
    while let Some(&(f0, _)) = frames.get(i) {
        // Extend the span while the next needed frame is close and the span stays bounded.
        let mut j = i + 1;
        let mut f_last = f0;
        while let Some(&(f, _)) = frames.get(j) {
            if f - f_last > FRAME_GAP || f - f0 >= per_span {
                break;
            }
            f_last = f;
            j += 1;
        }
        let n = u64::from(f_last - f0 + 1) * fl;
        span.resize(n as usize, 0);
        let got = src
            .reader
            .read_at_full(frame_offset(f0, plan.page_size), span)
            .map_err(|e| RepairError::io(src.path, "read", e))?;
        if got as u64 != n {
            return Err(RepairError::Changed(src.path.to_path_buf()));
        }
        for &(f, page) in frames.get(i..j).unwrap_or(&[]) {
            let at = (u64::from(f - f0) * fl) as usize;
            let frame = span.get(at..at + fl as usize).unwrap_or(&[]);
            let hb: [u8; FRAME_HEADER_LEN] = crate::format::bytes::array_at(frame, 0).unwrap_or([0; FRAME_HEADER_LEN]);
            let h = crate::format::wal::FrameHeader::parse(&hb);
            if w.frame(f).is_none_or(|r| r.header != h) {
                return Err(RepairError::Changed(src.path.to_path_buf()));
            }
            let slot = (u64::from(page - first) * ps) as usize;
            if let (Some(dst), Some(img)) = (buf.get_mut(slot..slot + ps as usize), frame.get(FRAME_HEADER_LEN..)) {
                dst.copy_from_slice(img);
            }
        }
        i = j;
    }
    Ok(())
}

/// Fail when an input changed since it was opened in a way that could mix two states into
/// the output: the database file in any way (size or modification time: a checkpoint wrote
/// it), the -wal if it shrank or its header changed (a reset or truncation). A -wal that only
/// grew is fine: SQLite never rewrites committed frames of a generation, and every frame used
/// is checked against its analysed header when it is read.
pub fn inputs_unchanged(ev: &Evidence, a: &Analysis) -> Result<(), RepairError> {
    if let Some(f) = &ev.db {
        let now = f.file.metadata().map(|m| crate::source::FileStamp::of(&m));
        if now.ok().is_none_or(|s| s.len != f.stamp.len || s.mtime_ns != f.stamp.mtime_ns) {
            return Err(RepairError::Changed(f.path.clone()));
        }
    }
    if let Some(f) = &ev.wal {
        let len = f.file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut head = [0u8; crate::format::wal::WAL_HEADER_LEN];
        let got = crate::source::read_full_at(&f.file, &mut head, 0).unwrap_or(0);
        let analysed = a.wal.as_ref().and_then(|w| w.header).map(|h| h.raw);
        let same_header = match analysed {
            Some(raw) => got == head.len() && raw == head,
            None => true,
        };
        if len < f.stamp.len || !same_header {
            return Err(RepairError::Changed(f.path.clone()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_split_at_the_file_end_and_the_lock_byte_page() {
        let mut runs = Vec::new();
        gap(&mut runs, 1, 10, 4, 8);
        assert_eq!(
            runs,
            vec![
                PageRun { first: 1, last: 4, source: PageSource::DbFile },
                PageRun { first: 5, last: 7, source: PageSource::Missing },
                PageRun { first: 8, last: 8, source: PageSource::Zero },
                PageRun { first: 9, last: 10, source: PageSource::Missing },
            ]
        );
        let mut runs = Vec::new();
        gap(&mut runs, 5, 6, 10, 8);
        assert_eq!(runs, vec![PageRun { first: 5, last: 6, source: PageSource::DbFile }]);
        let mut runs = Vec::new();
        gap(&mut runs, 3, 3, 0, 3);
        assert_eq!(runs, vec![PageRun { first: 3, last: 3, source: PageSource::Zero }]);
    }

    #[test]
    fn uncertain_pages_are_listed_up_to_a_limit() {
        let v = Verified {
            uncertain: vec![
                UncertainRun { first: 2, last: 2, reason: UncertainReason::Checkpointed { frame: 9 } },
                UncertainRun { first: 5, last: 100, reason: UncertainReason::NotInFiles },
            ],
            uncertain_count: 97,
            verified_by_content: vec![],
            header: None,
            page1: None,
        };
        assert_eq!(v.uncertain_pages(4), vec![2, 5, 6, 7]);
        assert!(!v.exact());
    }
}
