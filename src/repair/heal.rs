//! `extract --heal`: the extracted state with each page the deep check finds damaged replaced by
//! its newest intact earlier image ([`crate::forensics::deep::provenance`]), every replacement
//! listed, and the written database checked again with the same deep check.
//!
//! A damaged page with no intact image anywhere in the evidence makes the heal inexact: the
//! command refuses unless `--allow-inexact`, and then the page is written as the state has it
//! and listed as left damaged (SQLite's `.recover` on the output reads what remains reachable).

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use super::RepairError;
use crate::analysis::{Inputs, analyze};
use crate::forensics::deep::torn::commit_of;
use crate::forensics::deep::{self, DeepReport, Provenance};
use crate::forensics::snapshot::{Forensics, SnapshotSpec};

/// One page the heal replaced, or could not.
#[derive(Clone, Debug)]
pub struct HealedPage {
    pub page: u32,
    pub owner: Option<String>,
    /// Where the damaged image came from, in words.
    pub damaged_from: String,
    /// The replacement's source in words (None: no intact image; the page was left as it was).
    pub replaced_from: Option<String>,
    pub replaced_frame: Option<u32>,
    pub replaced_commit: Option<u32>,
    /// Commits after the replacement's that wrote this page: their changes to it are reverted.
    pub reverted_commits: Vec<u32>,
    /// Keys only the replacement holds, only the damaged image holds, and changed (from the
    /// page-level row diff).
    pub only_in_intact: Vec<String>,
    pub only_in_damaged: Vec<String>,
    pub changed: Vec<String>,
    /// Other pages those commits wrote, put back to their image before the first of them.
    pub also_reverted: Vec<u32>,
    /// Pages those commits wrote that a later, kept commit wrote again (left as they are).
    pub not_reverted: Vec<u32>,
}

/// What the heal did.
#[derive(Clone, Debug, Default)]
pub struct HealOutcome {
    pub pages: Vec<HealedPage>,
    /// Damaged pages with no intact image.
    pub missing: Vec<u32>,
    /// The deep check's lines for the state before healing.
    pub before: Vec<String>,
    /// The deep check's lines for the written database (["ok"] when it passes).
    pub after: Vec<String>,
    /// A replacement reverts commits whose other pages could not be reverted with it: tables
    /// and their indexes may disagree (the deep check's structure level does not see that).
    pub inconsistent: bool,
}

impl HealOutcome {
    /// Every damaged page had an intact image and the written database passes the deep check.
    pub fn exact(&self) -> bool {
        self.missing.is_empty() && self.after == ["ok"] && !self.inconsistent
    }
}

fn describe_origin(p: &Provenance) -> String {
    match (p.origin.frame(), p.commit) {
        (Some(f), Some(c)) => format!("frame {f} (commit {c})"),
        (Some(f), None) => format!("frame {f} (uncommitted)"),
        _ => "the database file".into(),
    }
}

/// Plan the heal of state `spec` and write the replacements into `out` (a database of
/// `out_pages` pages just written by extract).
pub fn heal(
    fx: &Forensics<'_>,
    spec: SnapshotSpec,
    commit: Option<u32>,
    out: &mut File,
    out_path: &Path,
    out_pages: u32,
) -> Result<HealOutcome, RepairError> {
    let opts = deep::Options { provenance_pages: 4096, ..deep::Options::default() };
    let rep = deep::run(fx, spec, commit, opts);
    let mut outcome = HealOutcome { before: crate::forensics::deep::sqlite_lines(&rep), ..HealOutcome::default() };
    let ps = u64::from(fx.store.page_size);
    let mut primary: Vec<(u32, Vec<u8>)> = Vec::new();
    let mut secondary: Vec<(u32, Vec<u8>)> = Vec::new();
    for p in &rep.provenance {
        let mut h = HealedPage {
            page: p.page,
            owner: p.owner.clone(),
            damaged_from: describe_origin(p),
            replaced_from: None,
            replaced_frame: None,
            replaced_commit: None,
            reverted_commits: Vec::new(),
            only_in_intact: Vec::new(),
            only_in_damaged: Vec::new(),
            changed: Vec::new(),
            also_reverted: Vec::new(),
            not_reverted: Vec::new(),
        };
        match (&p.intact, p.page <= out_pages) {
            (Some(c), true) => {
                primary.push((p.page, c.data.to_vec()));
                let (frame, rc) = match c.source {
                    deep::provenance::Source::Frame { frame, commit } => (Some(frame), commit),
                    deep::provenance::Source::Stale { frame, .. } => (Some(frame), None),
                    deep::provenance::Source::DbFile => (None, None),
                };
                h.replaced_from = Some(c.source.describe());
                h.replaced_frame = frame;
                h.replaced_commit = rc;
                h.reverted_commits = later_commits(fx, p.page, frame.unwrap_or(0), spec.upto);
                // The replacement undoes those commits on this page; undo them on every page
                // they wrote too, so tables and indexes stay consistent with each other (kept
                // only when the result passes the deep check, below).
                let (reverted, kept) = revert_commits(fx, &h.reverted_commits, spec.upto, p.page);
                for (q, img) in reverted {
                    if q > out_pages || rep.provenance.iter().any(|x| x.page == q) {
                        continue;
                    }
                    secondary.push((q, img.to_vec()));
                    h.also_reverted.push(q);
                }
                h.not_reverted = kept;
                h.only_in_intact = c.diff.only_in_intact.clone();
                h.only_in_damaged = c.diff.only_in_damaged.clone();
                h.changed = c.diff.changed.clone();
            }
            _ => outcome.missing.push(p.page),
        }
        outcome.pages.push(h);
    }
    // Pages beyond the provenance cap count as missing (never silently skipped).
    let listed: Vec<u32> = rep.provenance.iter().map(|p| p.page).collect();
    outcome.missing.extend(rep.damaged_pages().into_iter().filter(|p| !listed.contains(p)));
    let originals: Vec<(u32, Vec<u8>)> =
        secondary.iter().map(|(q, _)| read_page(out, out_path, *q, ps).map(|d| (*q, d))).collect::<Result<_, _>>()?;
    for (q, img) in primary.iter().chain(&secondary) {
        write_page(out, out_path, *q, ps, img)?;
    }
    out.flush().map_err(|e| RepairError::io(out_path, "write", e))?;
    outcome.after = check_file(out_path)?;
    if !originals.is_empty() && outcome.after != ["ok"] {
        // Undoing whole commits did not give a consistent database (the size changed, or
        // another commit built on them): keep only the damaged pages' replacements.
        for (q, img) in &originals {
            write_page(out, out_path, *q, ps, img)?;
        }
        out.flush().map_err(|e| RepairError::io(out_path, "write", e))?;
        for h in &mut outcome.pages {
            h.not_reverted.append(&mut h.also_reverted);
            h.not_reverted.sort_unstable();
        }
        outcome.after = check_file(out_path)?;
    }
    if outcome.pages.iter().any(|h| !h.not_reverted.is_empty()) {
        outcome.inconsistent = true;
    }
    outcome.after = check_file(out_path)?;
    if outcome.after == ["ok"] {
        // A page SQLite blames only through a neighbour (a parent whose separator check fails
        // against its damaged child) has no earlier image to take and needs none: it was left
        // as it was and the written database passes the check, so it was not damaged.
        outcome.missing.retain(|&q| q > out_pages);
    }
    Ok(outcome)
}

/// Read page `q` of the output (written so far) through its path: the output handle is
/// write-only.
fn read_page(out: &mut File, path: &Path, q: u32, ps: u64) -> Result<Vec<u8>, RepairError> {
    use std::os::unix::fs::FileExt;
    out.flush().map_err(|e| RepairError::io(path, "write", e))?;
    let f = File::open(path).map_err(|e| RepairError::io(path, "open", e))?;
    let mut buf = vec![0u8; ps as usize];
    f.read_exact_at(&mut buf, u64::from(q - 1) * ps).map_err(|e| RepairError::io(path, "read", e))?;
    Ok(buf)
}

/// Write a page image; page 1 keeps the bytes extract sets in the header (versions 18–19,
/// page count 28–31, version-valid-for and library version 92–99).
fn write_page(out: &mut File, path: &Path, q: u32, ps: u64, img: &[u8]) -> Result<(), RepairError> {
    let mut data = img.to_vec();
    if q == 1 {
        let cur = read_page(out, path, 1, ps)?;
        for r in [18..20, 28..32, 92..100] {
            if let (Some(d), Some(c)) = (data.get_mut(r.clone()), cur.get(r)) {
                d.copy_from_slice(c);
            }
        }
    }
    out.seek(SeekFrom::Start(u64::from(q - 1) * ps)).map_err(|e| RepairError::io(path, "seek", e))?;
    out.write_all(&data).map_err(|e| RepairError::io(path, "write", e))
}

/// Commits after frame `after` (up to `upto`) that wrote page `p`.
fn later_commits(fx: &Forensics<'_>, p: u32, after: u32, upto: u32) -> Vec<u32> {
    let mut v: Vec<u32> =
        fx.index.frames_of(p).filter(|&f| f > after && f <= upto).filter_map(|f| commit_of(fx, f)).collect();
    v.dedup();
    v
}

/// A page number and an image of it.
type PageImage = (u32, std::sync::Arc<[u8]>);

/// Images that undo `commits` (all after the replacement's commit): every page they wrote other
/// than `damaged`, as it was before the first of them. Pages a kept later commit wrote again
/// are not reverted (second list).
fn revert_commits(fx: &Forensics<'_>, commits: &[u32], upto: u32, damaged: u32) -> (Vec<PageImage>, Vec<u32>) {
    let all = fx.commits();
    let Some(first) = commits.iter().min().and_then(|&n| all.get((n as usize).checked_sub(1)?)) else {
        return (Vec::new(), Vec::new());
    };
    let Some(w) = fx.wal() else { return (Vec::new(), Vec::new()) };
    let in_reverted = |frame: u32| {
        commits
            .iter()
            .any(|&n| all.get((n as usize).wrapping_sub(1)).is_some_and(|c| frame >= c.first_frame && frame <= c.frame))
    };
    let mut pages: Vec<u32> = w
        .frames
        .iter()
        .filter(|f| f.index <= upto && in_reverted(f.index) && f.header.page != damaged)
        .map(|f| f.header.page)
        .collect();
    pages.sort_unstable();
    pages.dedup();
    let (mut out, mut kept) = (Vec::new(), Vec::new());
    for q in pages {
        let rewritten_by_kept = fx.index.frames_of(q).any(|f| f >= first.first_frame && f <= upto && !in_reverted(f));
        if rewritten_by_kept {
            kept.push(q);
            continue;
        }
        let before = fx.index.latest(q, first.first_frame.saturating_sub(1));
        let img = match before {
            Some(f) => fx.store.read(q, crate::forensics::snapshot::Origin::Frame(f)),
            None if fx.store.db_has(q) => fx.store.read(q, crate::forensics::snapshot::Origin::Db),
            None => continue,
        };
        if let Ok(img) = img {
            out.push((q, img));
        }
    }
    (out, kept)
}

/// The deep check's lines for a standalone database file.
pub fn check_file(path: &Path) -> Result<Vec<String>, RepairError> {
    let f = File::open(path).map_err(|e| RepairError::io(path, "open", e))?;
    let len = f.metadata().map_err(|e| RepairError::io(path, "stat", e))?.len();
    let a = analyze(&Inputs { db: Some((&f, len)), wal: None, shm: None });
    let Ok(fx) = Forensics::new(&a, Some((&f, len)), None) else {
        return Ok(vec!["Error: no usable page size".into()]);
    };
    let rep: DeepReport = deep::run(&fx, fx.base(), None, deep::Options { provenance_pages: 0, ..Default::default() });
    Ok(crate::forensics::deep::sqlite_lines(&rep))
}
