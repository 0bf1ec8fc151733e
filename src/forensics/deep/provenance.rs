//! Where a damaged page image came from, when it last changed, and the newest intact earlier
//! image of that page anywhere in the evidence (forensic reference §6): earlier frames of the
//! current WAL generation (committed ones first), the database file's copy when the damaged
//! image is a frame, then frames of earlier WAL generations. A candidate is accepted when it
//! differs from the damaged image, passes every page-local check SQLite makes
//! ([`super::page::locally_intact`]), is the kind of page its tree holds (table or index), and
//! its child and overflow pointers stay inside the database. The rows it holds are compared
//! with the damaged image's, by key.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::DeepReport;
use super::integrity::Reader;
use super::page::{init_page, locally_intact};
use super::torn::commit_of;
use crate::analysis::wal::FrameState;
use crate::forensics::snapshot::{Forensics, Origin};
use crate::format::db_header::PageType;
use crate::format::record::decode_record;

/// Where a candidate image is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A frame of the current WAL generation (commit None: the uncommitted tail).
    Frame { frame: u32, commit: Option<u32> },
    /// The database file's copy.
    DbFile,
    /// A frame left by an earlier WAL generation.
    Stale { frame: u32, generations_ago: Option<u32> },
}

impl Source {
    pub fn describe(&self) -> String {
        match *self {
            Self::Frame { frame, commit: Some(c) } => format!("frame {frame} (commit {c})"),
            Self::Frame { frame, commit: None } => format!("frame {frame} (uncommitted)"),
            Self::DbFile => "the database file".into(),
            Self::Stale { frame, generations_ago: Some(g) } => {
                format!("frame {frame} of an earlier WAL generation ({g} reset{} ago)", if g == 1 { "" } else { "s" })
            }
            Self::Stale { frame, generations_ago: None } => format!("frame {frame} of an earlier WAL generation"),
        }
    }
}

/// How the rows of the intact image differ from the damaged one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RowDiff {
    /// Keys (rowids, or index/WITHOUT ROWID records shown as values) only the intact image holds.
    pub only_in_intact: Vec<String>,
    /// Keys only the damaged image holds (rows a heal with this image reverts).
    pub only_in_damaged: Vec<String>,
    /// Keys in both whose content differs.
    pub changed: Vec<String>,
    /// Cells of each image (intact, damaged); None when the damaged page does not decode.
    pub cells: (u32, Option<u32>),
}

/// An intact earlier image.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub source: Source,
    pub kind: PageType,
    pub diff: RowDiff,
    pub data: Arc<[u8]>,
}

/// The provenance of one damaged page.
#[derive(Clone, Debug)]
pub struct Provenance {
    pub page: u32,
    /// The tree the messages blamed this page in.
    pub owner: Option<String>,
    /// Where the damaged image comes from.
    pub origin: Origin,
    /// The commit that wrote the damaged image (None for the database file or the tail).
    pub commit: Option<u32>,
    /// The last commit that changed this page at or before the state checked (None: it was
    /// not written in the current WAL generation).
    pub last_changed: Option<u32>,
    /// The newest intact earlier image.
    pub intact: Option<Candidate>,
    /// Earlier images examined and found damaged or of another kind.
    pub rejected: u32,
}

/// Most keys listed per diff side (the counts are complete).
const MAX_KEYS: usize = 20;

/// Provenance of page `p` in the report's state.
pub fn of_page(fx: &Forensics<'_>, r: &Reader<'_>, rep: &DeepReport, p: u32) -> Provenance {
    let origin = r.origin(p);
    let commit = origin.frame().and_then(|f| commit_of(fx, f));
    let owner_entry =
        rep.messages.iter().chain(&rep.index_messages).find(|m| m.page == Some(p)).and_then(|m| rep.owner(m.root));
    let owner = owner_entry.map(|o| o.name.clone());
    let want_index = owner_entry.map(|o| o.index);
    let damaged = fx.store.read(p, origin).ok();
    let mut prov = Provenance { page: p, owner, origin, commit, last_changed: commit, intact: None, rejected: 0 };
    for source in candidates(fx, rep, p, origin) {
        let img = match source {
            Source::Frame { frame, .. } | Source::Stale { frame, .. } => fx.store.read(p, Origin::Frame(frame)),
            Source::DbFile => fx.store.read(p, Origin::Db),
        };
        let Ok(img) = img else { continue };
        if damaged.as_ref().is_some_and(|d| *d == img) {
            continue;
        }
        match accept(&img, p, rep, want_index) {
            Some(kind) => {
                let diff = diff_rows(&img, damaged.as_deref(), p, rep, fx);
                prov.intact = Some(Candidate { source, kind, diff, data: img });
                break;
            }
            None => prov.rejected += 1,
        }
    }
    prov
}

/// Candidate images, newest first.
fn candidates(fx: &Forensics<'_>, rep: &DeepReport, p: u32, origin: Origin) -> Vec<Source> {
    let mut out = Vec::new();
    let before = match origin {
        Origin::Frame(f) => f,
        _ => 0,
    };
    let mut earlier: Vec<u32> = fx.index.frames_of(p).filter(|&f| f < before && f <= rep.upto.max(before)).collect();
    earlier.reverse();
    // Committed frames first, then the uncommitted tail (never newer than the damaged frame).
    let (committed, tail): (Vec<u32>, Vec<u32>) = earlier.into_iter().partition(|&f| commit_of(fx, f).is_some());
    for f in committed.into_iter().chain(tail) {
        out.push(Source::Frame { frame: f, commit: commit_of(fx, f) });
    }
    if matches!(origin, Origin::Frame(_)) && fx.store.db_has(p) {
        out.push(Source::DbFile);
    }
    if let Some(w) = fx.wal() {
        let mut stale: Vec<(Option<u32>, u32)> = w
            .frames
            .iter()
            .filter(|f| f.state == FrameState::Stale && f.header.page == p)
            .map(|f| (f.generations_ago, f.index))
            .collect();
        // Most recent generation first (fewest resets ago), then the latest frame.
        stale.sort_by(|a, b| a.0.unwrap_or(u32::MAX).cmp(&b.0.unwrap_or(u32::MAX)).then(b.1.cmp(&a.1)));
        out.extend(stale.into_iter().map(|(g, f)| Source::Stale { frame: f, generations_ago: g }));
    }
    out
}

/// The kind of page when `img` is an intact b-tree page of the wanted kind with pointers
/// inside the database.
fn accept(img: &[u8], p: u32, rep: &DeepReport, want_index: Option<bool>) -> Option<PageType> {
    let hdr = if p == 1 { 100 } else { 0 };
    let kind = locally_intact(img, hdr, rep.usable, rep.page_size)?;
    let is_index = matches!(kind, PageType::IndexLeaf | PageType::IndexInterior);
    if want_index.is_some_and(|w| w != is_index) {
        return None;
    }
    let page = init_page(img, hdr, rep.usable, rep.page_size).ok()?;
    let ok = |c: u32| c >= 1 && c <= rep.n_page && c != p;
    if !page.is_leaf() && !ok(page.right_child()) {
        return None;
    }
    for i in 0..page.n_cell {
        let pc = page.pointer(i);
        let info = page.parse_cell(pc);
        if !page.is_leaf() && !ok(page.left_child(pc)) {
            return None;
        }
        if info.payload > info.local && !ok(page.overflow_head(pc, &info)) {
            return None;
        }
    }
    Some(kind)
}

/// Cells of an image by key: rowid (table pages) or the decoded local record (index pages),
/// with a content fingerprint. None when the page does not decode.
fn cells_by_key(img: &[u8], p: u32, rep: &DeepReport, fx: &Forensics<'_>) -> Option<BTreeMap<String, u32>> {
    let hdr = if p == 1 { 100 } else { 0 };
    let page = init_page(img, hdr, rep.usable, rep.page_size).ok()?;
    let enc = fx.snapshot(fx.latest()).encoding;
    let mut out = BTreeMap::new();
    let usable = rep.usable;
    for i in 0..page.n_cell {
        let pc = page.pointer(i);
        if pc < page.content || pc > usable.saturating_sub(4) {
            continue;
        }
        let info = page.parse_cell(pc);
        if pc + info.size > usable {
            continue;
        }
        let body = img.get(pc as usize..(pc + info.size) as usize).unwrap_or(&[]);
        let fp = crate::format::fingerprint::crc32(body);
        let key = if page.intkey() {
            format!("rowid {}", info.key)
        } else {
            let start = (pc + info.size - info.local - if info.payload > info.local { 4 } else { 0 }) as usize;
            let local = img.get(start..start + info.local as usize).unwrap_or(&[]);
            let rec = decode_record(local, enc);
            let vals: Vec<String> = rec.values.iter().map(|v| format!("{v:?}")).collect();
            format!("({})", vals.join(", "))
        };
        out.insert(key, fp);
    }
    Some(out)
}

fn diff_rows(intact: &[u8], damaged: Option<&[u8]>, p: u32, rep: &DeepReport, fx: &Forensics<'_>) -> RowDiff {
    let a = cells_by_key(intact, p, rep, fx).unwrap_or_default();
    let b = damaged.and_then(|d| cells_by_key(d, p, rep, fx));
    let mut diff = RowDiff { cells: (a.len() as u32, b.as_ref().map(|b| b.len() as u32)), ..RowDiff::default() };
    let b = b.unwrap_or_default();
    for (k, fa) in &a {
        match b.get(k) {
            None => diff.only_in_intact.push(k.clone()),
            Some(fb) if fb != fa => diff.changed.push(k.clone()),
            Some(_) => {}
        }
    }
    for k in b.keys() {
        if !a.contains_key(k) {
            diff.only_in_damaged.push(k.clone());
        }
    }
    for v in [&mut diff.only_in_intact, &mut diff.only_in_damaged, &mut diff.changed] {
        if v.len() > MAX_KEYS {
            let n = v.len() - MAX_KEYS;
            v.truncate(MAX_KEYS);
            v.push(format!("… and {n} more"));
        }
    }
    diff
}
