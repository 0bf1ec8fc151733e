//! The forensic commands: `timeline`, `history`, `salvage`, and `dump --owners`.

use std::path::Path;

use super::{Error, emit_json, exit_code, write_out};
use crate::analysis::Analysis;
use crate::forensics::history::{KeySpec, history};
use crate::forensics::salvage::salvage;
use crate::forensics::snapshot::Forensics;
use crate::forensics::timeline::{TrackOptions, Tracker, frame_owners};
use crate::format::escape::{escape_json, escape_output};
use crate::present::forensics::{render_commit, render_history, render_salvage, render_timeline_head};
use crate::report::forensics::{
    CommitEntryReport, FrameOwnerReport, HistoryReport, SalvageReport, TIMELINE_JSON_END, TimelineReport,
    timeline_json_commit,
};
use crate::report::{DumpReport, Files};
use crate::source::Evidence;

/// Set up snapshot access over opened evidence.
pub fn forensics<'a>(ev: &'a Evidence, a: &'a Analysis) -> Result<Forensics<'a>, Error> {
    Forensics::from_evidence(ev, a)
        .map_err(|e| Error::Refused(format!("{}: {e}", ev.paths.get(ev.paths.named).display())))
}

/// How a command prints its document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Text,
    /// One JSON document (`--json`).
    Json,
}

impl Output {
    /// `--json` or not.
    pub fn from_flag(json: bool) -> Self {
        if json { Output::Json } else { Output::Text }
    }
}

/// How much `timeline` shows of each commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    /// The pages written, by owner.
    Pages,
    /// And the keys of the rows inserted, updated, deleted (`--rows`).
    Rows,
    /// And their old and new values (`--values`, implies `--rows`).
    Values,
}

impl Detail {
    /// From `--rows` and `--values`.
    pub fn from_flags(rows: bool, values: bool) -> Self {
        match (rows, values) {
            (_, true) => Detail::Values,
            (true, false) => Detail::Rows,
            (false, false) => Detail::Pages,
        }
    }
}

/// `walinspect timeline`. Streams: each commit is written as soon as it is computed, so
/// memory stays proportional to the frame count whatever the output size.
pub fn timeline(
    path: &Path,
    output: Output,
    detail: Detail,
    fail_on: super::FailOn,
    opts: crate::session::Options,
) -> Result<u8, Error> {
    use std::io::Write;
    let session = crate::session::Session::open(path, opts)?;
    let (ev, a) = (&session.evidence, &session.analysis);
    let fx = forensics(ev, a)?;
    let json = output == Output::Json;
    let (rows, values) = (detail != Detail::Pages, detail == Detail::Values);
    let t = Tracker::new(&fx, TrackOptions { rows, ..TrackOptions::default() });
    let files = Files::of(ev);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let ser = |e: serde_json::Error| Error::system("cannot serialise", std::io::Error::other(e));
    let head = if json {
        TimelineReport::json_head(&files, fx.base_pages, &t.base_notes).map_err(ser)?
    } else {
        render_timeline_head(fx.base_pages, &notes_of(&t.base_notes))
    };
    let guard = |s: String| -> String {
        if json { escape_json(&s).into_owned() } else { escape_output(&s, false).into_owned() }
    };
    out.write_all(guard(head).as_bytes())?;
    let mut failure: Option<Error> = None;
    let mut first = true;
    let _ = t.run_while(|_, c| {
        let enc = fx.snapshot(c.spec).encoding;
        let entry = CommitEntryReport::build(&c, rows, values, enc);
        let text = if json { timeline_json_commit(&entry, first).map_err(ser) } else { Ok(render_commit(&entry)) };
        first = false;
        match text.and_then(|s| out.write_all(guard(s).as_bytes()).map_err(Error::from)) {
            Ok(()) => true,
            Err(e) => {
                failure = Some(e);
                false
            }
        }
    });
    if let Some(f) = failure {
        return Err(f);
    }
    if json {
        out.write_all(if first { "]\n}\n" } else { TIMELINE_JSON_END }.as_bytes())?;
    }
    out.flush()?;
    Ok(exit_code(&session.file_findings(), fail_on))
}

fn notes_of(n: &[crate::forensics::snapshot::Note]) -> Vec<crate::report::forensics::NoteReport> {
    n.iter().map(crate::report::forensics::NoteReport::from).collect()
}

/// `walinspect history`.
pub fn row_history(
    path: &Path,
    table: &str,
    rowid: Option<i64>,
    key: &[String],
    output: Output,
    fail_on: super::FailOn,
    opts: crate::session::Options,
) -> Result<u8, Error> {
    let spec = match (rowid, key.is_empty()) {
        (Some(r), true) => KeySpec::Rowid(r),
        (None, false) => KeySpec::Pk(key.to_vec()),
        _ => {
            return Err(Error::Refused("give either --rowid R or --key VALUE (once per primary-key column)".into()));
        }
    };
    let session = crate::session::Session::open(path, opts)?;
    let (ev, a) = (&session.evidence, &session.analysis);
    let fx = forensics(ev, a)?;
    let (h, k) = history(&fx, table, &spec).map_err(|e| Error::Failed(Box::new(e)))?;
    let r = HistoryReport::build(Files::of(ev), &h, k.as_ref());
    match output {
        Output::Json => emit_json(&r)?,
        Output::Text => write_out(&render_history(&r))?,
    }
    Ok(exit_code(&session.file_findings(), fail_on))
}

/// `walinspect salvage`.
pub fn salvage_rows(
    path: &Path,
    output: Output,
    fail_on: super::FailOn,
    opts: crate::session::Options,
) -> Result<u8, Error> {
    let session = crate::session::Session::open(path, opts)?;
    let (ev, a) = (&session.evidence, &session.analysis);
    let fx = forensics(ev, a)?;
    let s = salvage(&fx);
    let r = SalvageReport::build(Files::of(ev), &s);
    match output {
        Output::Json => emit_json(&r)?,
        Output::Text => write_out(&render_salvage(&r))?,
    }
    Ok(exit_code(&session.file_findings(), fail_on))
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
