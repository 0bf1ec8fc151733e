//! Forensics for the UI: the owner and decoded cells of one frame's page, the per-commit
//! timeline, and the row changes of one commit. Pure functions over an analysis and readers;
//! the loader runs them on a worker thread ([`Worker`]), never on the UI thread.

use std::fs::File;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};

use crate::forensics::ownership::OwnerType;
use crate::forensics::timeline::RowOp;
use crate::forensics::walk::PageRole;
use crate::present::fmt::short;
use std::time::Instant;

use super::watcher::Snapshot;
use crate::analysis::{Analysis, ReadAt};
use crate::forensics::ownership::{CellSummary, Ownership, page_cells};
use crate::forensics::snapshot::{Forensics, SnapshotSpec};
use crate::forensics::timeline::{RowKey, TrackOptions, Tracker, key_values};
use crate::forensics::walk::Budget;

/// Page reads allowed to map the owner of one frame's page (the whole database is walked: a
/// larger database gives "unknown" rather than a long wait).
pub const OWNER_BUDGET: u64 = 20_000;
/// Cells decoded and kept for one page.
pub const MAX_CELLS: usize = 512;
/// Page reads allowed to the timeline and to one commit's rows.
pub const TIMELINE_BUDGET: u64 = 1 << 26;
/// Row keys kept per table and operation.
pub const MAX_KEYS: usize = 2_000;

/// Readers of the database file and the WAL, with the lengths the analysis saw.
pub type Readers<'a> = (Option<(&'a dyn ReadAt, u64)>, Option<(&'a dyn ReadAt, u64)>);

/// Who owns a frame's page and what its cells hold.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FrameForensics {
    pub frame: u32,
    /// The snapshot the owner is taken from, in words ("commit 3", "the uncommitted tail", ...).
    pub as_of: String,
    /// (name, type, role), e.g. ("t", table, leaf); no role for orphans and pages beyond.
    pub owner: Option<(String, OwnerType, Option<PageRole>)>,
    /// Why the owner is unknown.
    pub owner_note: Option<String>,
    /// None when the page is not a b-tree page.
    pub cells: Option<Vec<CellSummary>>,
    /// Cells on the page (the list may be cut at [`MAX_CELLS`]).
    pub cell_count: usize,
    pub micros: u64,
}

/// The owner and cells of frame `frame`, whose page image is `page`.
pub fn frame_forensics(a: &Analysis, r: Readers<'_>, frame: u32, page: &[u8]) -> FrameForensics {
    let t = Instant::now();
    let mut out = FrameForensics { frame, ..FrameForensics::default() };
    let Some(rec) = a.wal.as_ref().and_then(|w| w.frame(frame)) else {
        out.owner_note = Some("no such frame".into());
        return out;
    };
    let page_no = rec.header.page;
    let fx = match Forensics::new(a, r.0, r.1) {
        Ok(fx) => fx,
        Err(e) => {
            out.owner_note = Some(e.to_string());
            return out;
        }
    };
    let w = a.wal.as_ref();
    let valid = w.map_or(0, |w| w.valid_frames);
    let commit = w.and_then(|w| w.commits.iter().find(|c| c.first_frame <= frame && frame <= c.frame));
    let (spec, as_of): (SnapshotSpec, String) = match (commit, fx.tail()) {
        (Some(c), _) if frame <= valid => {
            (SnapshotSpec { upto: c.frame, db_pages: c.db_pages }, format!("commit {}", c.number))
        }
        (_, Some((first, last, spec))) if (first..=last).contains(&frame) => {
            (spec, "the uncommitted tail, as if committed".into())
        }
        _ => (fx.latest(), "the current state (this frame is not part of it)".into()),
    };
    out.as_of = as_of;
    let snap = fx.snapshot(spec);
    let mut budget = Budget::new(OWNER_BUDGET);
    let own = Ownership::build(&snap, &mut budget);
    if budget.exhausted {
        out.owner_note = Some(format!("not mapped: the database needs more than {OWNER_BUDGET} page reads"));
    } else {
        out.owner = Some(own.describe(page_no));
    }
    if let Some(mut cells) = page_cells(page, page_no, snap.usable, snap.encoding) {
        out.cell_count = cells.len();
        cells.truncate(MAX_CELLS);
        out.cells = Some(cells);
    }
    out.micros = u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX);
    out
}

/// Pages one commit wrote to one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectPages {
    pub name: String,
    pub kind: OwnerType,
    pub pages: u32,
}

/// One commit of the timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimelineEntry {
    /// None for the uncommitted tail.
    pub number: Option<u32>,
    pub first_frame: u32,
    pub frame: u32,
    pub db_pages: u32,
    pub objects: Vec<ObjectPages>,
    /// "create table x", "drop index y", ...
    pub schema_changes: Vec<String>,
    pub notes: usize,
}

/// The timeline of the WAL at one snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TimelineData {
    /// The snapshot it was computed from.
    pub seq: u64,
    pub entries: Vec<TimelineEntry>,
    pub notes: Vec<String>,
    pub error: Option<String>,
    pub micros: u64,
}

fn options(rows: bool) -> TrackOptions {
    TrackOptions { rows, only_table: None, budget: TIMELINE_BUDGET }
}

/// Every commit (then the uncommitted tail) with the objects whose pages it wrote.
pub fn timeline(a: &Analysis, r: Readers<'_>, seq: u64) -> TimelineData {
    let t = Instant::now();
    let mut out = TimelineData { seq, ..TimelineData::default() };
    let fx = match Forensics::new(a, r.0, r.1) {
        Ok(fx) => fx,
        Err(e) => {
            out.error = Some(e.to_string());
            return out;
        }
    };
    let tr = Tracker::new(&fx, options(false));
    out.notes = tr.base_notes.iter().map(|n| n.message.clone()).collect();
    let mut entries = Vec::new();
    tr.run(|_, c| {
        let mut objects: Vec<ObjectPages> = Vec::new();
        for p in &c.pages {
            match objects.iter_mut().find(|o| o.name == p.owner) {
                Some(o) => o.pages += 1,
                None => objects.push(ObjectPages { name: p.owner.clone(), kind: p.kind, pages: 1 }),
            }
        }
        objects.sort_by(|x, y| y.pages.cmp(&x.pages).then_with(|| x.name.cmp(&y.name)));
        entries.push(TimelineEntry {
            number: c.number,
            first_frame: c.first_frame,
            frame: c.frame,
            db_pages: c.spec.db_pages,
            objects,
            schema_changes: c.schema_changes.iter().map(|s| format!("{} {} {}", s.op, s.kind, s.name)).collect(),
            notes: c.notes.len(),
        });
    });
    out.entries = entries;
    out.micros = u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX);
    out
}

/// The row changes of one table in one commit (keys as text).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableRows {
    pub name: String,
    pub inserted: Vec<String>,
    pub updated: Vec<String>,
    pub deleted: Vec<String>,
    /// Changes left out beyond [`MAX_KEYS`] per operation.
    pub more: usize,
}

/// The row changes of one commit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommitRows {
    pub seq: u64,
    pub number: u32,
    pub tables: Vec<TableRows>,
    pub notes: Vec<String>,
    pub error: Option<String>,
    pub micros: u64,
}

/// The rows commit `number` inserted, updated and deleted, against the state before it: the
/// commits before it are applied without rows (pages only), then this one with rows.
pub fn commit_rows(a: &Analysis, r: Readers<'_>, seq: u64, number: u32) -> CommitRows {
    let t = Instant::now();
    let mut out = CommitRows { seq, number, ..CommitRows::default() };
    let fx = match Forensics::new(a, r.0, r.1) {
        Ok(fx) => fx,
        Err(e) => {
            out.error = Some(e.to_string());
            return out;
        }
    };
    let Some(c) = fx.commits().get((number as usize).wrapping_sub(1)).copied() else {
        out.error = Some(format!("there is no commit {number}"));
        return out;
    };
    let mut tr = Tracker::new(&fx, options(false));
    if number > 1 {
        tr = tr.run_while(|_, ch| ch.number.is_some_and(|n| n + 1 < number));
    }
    tr.set_rows(true);
    let ch = tr.apply(Some(number), c.first_frame, c.frame, SnapshotSpec { upto: c.frame, db_pages: c.db_pages });
    let enc = fx.snapshot(ch.spec).encoding;
    for d in &ch.tables {
        let mut tr_rows = TableRows { name: d.name.clone(), ..TableRows::default() };
        for rc in &d.changes {
            let key = match &rc.key {
                RowKey::Rowid(i) => i.to_string(),
                k @ RowKey::Pk(_) => {
                    let vals = key_values(&d.table, k, rc.new.as_deref().or(rc.old.as_deref()), enc);
                    let s: Vec<String> = vals.iter().map(|v| short(&v.to_string(), 24)).collect();
                    format!("({})", s.join(", "))
                }
            };
            let list = match rc.op() {
                RowOp::Insert => &mut tr_rows.inserted,
                RowOp::Delete => &mut tr_rows.deleted,
                _ => &mut tr_rows.updated,
            };
            if list.len() < MAX_KEYS {
                list.push(key);
            } else {
                tr_rows.more += 1;
            }
        }
        out.tables.push(tr_rows);
    }
    out.notes = ch.notes.iter().map(|n| n.message.clone()).collect();
    out.micros = u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX);
    out
}

/// What a job gives back.
#[derive(Debug)]
pub enum Outcome {
    FrameOwner(Arc<FrameForensics>),
    Timeline(Arc<TimelineData>),
    CommitRows(Arc<CommitRows>),
    Deep(Arc<DeepData>),
}

/// The deep check of the newest state (key `D` in Findings), computed in the background.
#[derive(Clone, Debug, Default)]
pub struct DeepData {
    pub seq: u64,
    /// Its findings (SQLite's words, the owning tree), shown after the live findings.
    pub findings: Vec<crate::analysis::findings::Finding>,
    /// Provenance of each damaged page, by page: one line each.
    pub provenance: Vec<(u32, String)>,
    pub summary: String,
    pub error: Option<String>,
}

/// Run the deep check of the newest state.
pub fn deep_check(a: &Analysis, r: Readers<'_>, seq: u64) -> DeepData {
    use crate::forensics::deep;
    let t = Instant::now();
    let mut out = DeepData { seq, ..DeepData::default() };
    let fx = match Forensics::new(a, r.0, r.1) {
        Ok(fx) => fx,
        Err(e) => {
            out.error = Some(e.to_string());
            return out;
        }
    };
    let spec = fx.latest();
    let commit = (spec.upto > 0).then(|| fx.commits().len() as u32);
    let rep = deep::run(&fx, spec, commit, deep::Options::default());
    out.findings = deep::findings(&rep, &fx);
    let section = crate::report::deep::DeepSection::build(&rep, deep::Level::Structure);
    for p in &section.provenance {
        let from = match (p.frame, p.commit) {
            (Some(f), Some(c)) => format!("frame {f} (commit {c})"),
            (Some(f), None) => format!("frame {f} (uncommitted)"),
            _ => "the database file".to_string(),
        };
        let intact = match &p.intact {
            Some(i) => format!(
                "newest intact earlier image: {} ({} keys only there, {} only in the damaged image, {} changed)",
                i.described,
                i.only_in_intact.len(),
                i.only_in_damaged.len(),
                i.changed.len()
            ),
            None => format!("no intact earlier image in the evidence ({} rejected)", p.rejected),
        };
        out.provenance.push((p.page, format!("image from {from}; {intact}")));
    }
    out.summary = format!(
        "deep check: {} problem{} in {} pages ({} ms); torn checkpoint writes: {}",
        rep.messages.len(),
        if rep.messages.len() == 1 { "" } else { "s" },
        rep.n_page,
        t.elapsed().as_millis(),
        rep.torn.len()
    );
    if let Some(u) = &rep.unopenable {
        out.summary = format!("deep check: SQLite cannot open this state: {u}");
    }
    out
}

/// Work for the forensic worker.
#[derive(Debug)]
pub enum JobKind {
    Frame { frame: u32, page: Vec<u8> },
    Timeline,
    Rows(u32),
    Deep,
}

/// One job: the snapshot it is about and descriptors of its database file and WAL (the
/// same files the snapshot analysed; a file replaced since gives notes, never a crash).
#[derive(Debug)]
pub struct Job {
    pub snap: Arc<Snapshot>,
    pub db: Option<File>,
    pub wal: Option<File>,
    pub kind: JobKind,
}

impl Job {
    fn run(&self) -> Outcome {
        let len = |role| self.snap.file(role).stamp.map_or(0, |s| s.len);
        let db = self.db.as_ref().map(|f| (f as &dyn ReadAt, len(crate::source::FileKind::Db)));
        let wal = self.wal.as_ref().map(|f| (f as &dyn ReadAt, len(crate::source::FileKind::Wal)));
        let a = &self.snap.analysis;
        match &self.kind {
            JobKind::Frame { frame, page } => {
                Outcome::FrameOwner(Arc::new(frame_forensics(a, (db, wal), *frame, page)))
            }
            JobKind::Timeline => Outcome::Timeline(Arc::new(timeline(a, (db, wal), self.snap.seq))),
            JobKind::Rows(n) => Outcome::CommitRows(Arc::new(commit_rows(a, (db, wal), self.snap.seq, *n))),
            JobKind::Deep => Outcome::Deep(Arc::new(deep_check(a, (db, wal), self.snap.seq))),
        }
    }
    fn same_kind(&self, other: &Job) -> bool {
        std::mem::discriminant(&self.kind) == std::mem::discriminant(&other.kind)
    }
}

/// The forensic worker: one thread, jobs in order, a job superseded by a newer one of the same
/// kind is dropped (scrolling through frames does not queue work).
pub struct Worker {
    tx: Sender<Job>,
}

impl Worker {
    /// Start the worker; each job's outcome goes to `deliver`, which returns false when nobody
    /// listens any more (the worker then stops).
    pub fn spawn(deliver: impl Fn(Outcome) -> bool + Send + 'static) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new().name("walinspect-forensics".into()).spawn(move || work(&rx, &deliver))?;
        Ok(Self { tx })
    }
    pub fn submit(&self, job: Job) {
        let _ = self.tx.send(job);
    }
}

fn work(rx: &Receiver<Job>, deliver: &dyn Fn(Outcome) -> bool) {
    while let Ok(first) = rx.recv() {
        let mut queue = vec![first];
        while let Ok(j) = rx.try_recv() {
            queue.retain(|q| !q.same_kind(&j));
            queue.push(j);
        }
        for j in queue {
            if !deliver(j.run()) {
                return;
            }
        }
    }
}
