//! The forensic commands: `timeline`, `history`, `salvage`, and `dump --owners`.

use std::path::Path;

use super::{Failure, emit_json, exit_code, load, write_out};
use crate::analysis::findings;
use crate::analysis::history::{KeySpec, history};
use crate::analysis::salvage::salvage;
use crate::analysis::snapshot::Forensics;
use crate::analysis::timeline::{TrackOptions, Tracker, frame_owners};
use crate::analysis::{Analysis, ReadAt};
use crate::report::forensics::{
    CommitEntryReport, FrameOwnerReport, HistoryReport, SalvageReport, TimelineReport,
    render_history, render_salvage, render_timeline,
};
use crate::report::{DumpReport, Files};
use crate::source::Evidence;

type Reader<'a> = Option<(&'a dyn ReadAt, u64)>;

fn reader(f: Option<&crate::source::EvidenceFile>) -> Reader<'_> {
    f.map(|f| (&f.file as &dyn ReadAt, f.len()))
}

/// Set up snapshot access over opened evidence.
pub fn forensics<'a>(ev: &'a Evidence, a: &'a Analysis) -> Result<Forensics<'a>, Failure> {
    let (db, wal) = (reader(ev.db.as_ref()), reader(ev.wal.as_ref()));
    Forensics::new(a, db, wal)
        .map_err(|e| Failure::Fatal(format!("{}: {e}", ev.paths.get(ev.paths.named).display())))
}

/// `walinspect timeline`.
pub fn timeline(
    path: &Path,
    json: bool,
    rows: bool,
    values: bool,
    fail_on: super::FailOn,
) -> Result<u8, Failure> {
    let (ev, a) = load(path)?;
    let fx = forensics(&ev, &a)?;
    let rows = rows || values;
    let mut commits = Vec::new();
    let t = Tracker::new(&fx, TrackOptions { rows, ..TrackOptions::default() });
    let base_notes = t.base_notes.clone();
    let _ = t.run(|_, c| {
        let enc = fx.snapshot(c.spec).encoding;
        commits.push(CommitEntryReport::build(&c, rows, values, enc));
    });
    let r = TimelineReport::new(Files::of(&ev), fx.base_pages, commits, &base_notes);
    if json {
        emit_json(&r)?
    } else {
        write_out(&render_timeline(&r))?
    }
    Ok(exit_code(&findings::check(&a), fail_on))
}

/// `walinspect history`.
pub fn row_history(
    path: &Path,
    table: &str,
    rowid: Option<i64>,
    key: &[String],
    json: bool,
    fail_on: super::FailOn,
) -> Result<u8, Failure> {
    let spec = match (rowid, key.is_empty()) {
        (Some(r), true) => KeySpec::Rowid(r),
        (None, false) => KeySpec::Pk(key.to_vec()),
        _ => {
            return Err(Failure::Fatal(
                "give either --rowid R or --key VALUE (once per primary-key column)".into(),
            ));
        }
    };
    let (ev, a) = load(path)?;
    let fx = forensics(&ev, &a)?;
    let (h, k) = history(&fx, table, &spec).map_err(Failure::Fatal)?;
    let r = HistoryReport::build(Files::of(&ev), &h, k.as_ref());
    if json {
        emit_json(&r)?
    } else {
        write_out(&render_history(&r))?
    }
    Ok(exit_code(&findings::check(&a), fail_on))
}

/// `walinspect salvage`.
pub fn salvage_rows(path: &Path, json: bool, fail_on: super::FailOn) -> Result<u8, Failure> {
    let (ev, a) = load(path)?;
    let fx = forensics(&ev, &a)?;
    let s = salvage(&fx);
    let r = SalvageReport::build(Files::of(&ev), &s);
    if json {
        emit_json(&r)?
    } else {
        write_out(&render_salvage(&r))?
    }
    Ok(exit_code(&findings::check(&a), fail_on))
}

/// Fill the `owner` of every valid frame of a dump (runs the timeline without rows).
pub fn add_owners(ev: &Evidence, a: &Analysis, r: &mut DumpReport) {
    let Ok(fx) = forensics(ev, a) else { return };
    let owners = frame_owners(&fx);
    if let Some(w) = r.wal.as_mut() {
        for f in &mut w.frames {
            f.owner = owners.get(&f.frame).map(FrameOwnerReport::from);
        }
    }
}
