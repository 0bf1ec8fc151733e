//! The forensic commands: `timeline`, `history`, `salvage`, and `dump --owners`.

use std::path::{Path, PathBuf};

use super::{Error, exit_code, write_out};
use crate::analysis::Analysis;
use crate::export;
use crate::forensics::history::{KeySpec, history};
use crate::forensics::salvage::salvage;
use crate::forensics::snapshot::Forensics;
use crate::forensics::timeline::{TrackOptions, Tracker, frame_owners, journal_step};
use crate::format::escape::{escape_json, escape_output};
use crate::present::forensics::{render_commit, render_history, render_salvage, render_timeline_head};
use crate::report::forensics::{
    CommitEntryReport, FrameOwnerReport, HistoryReport, JournalEntryReport, SalvageReport, TIMELINE_JSON_END,
    TimelineReport, timeline_json_commit,
};
use crate::report::{DumpReport, Files};
use crate::source::Evidence;

/// Set up snapshot access over opened evidence.
pub fn forensics<'a>(ev: &'a Evidence, a: &'a Analysis) -> Result<Forensics<'a>, Error> {
    Forensics::from_evidence(ev, a)
        .map_err(|e| Error::Refused(format!("{}: {e}", ev.paths.get(ev.paths.named).display())))
}

/// `--format`: text, JSON, or an export for other tools.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatArg {
    /// The text for people (the default).
    Text,
    /// One JSON document (as `--json`).
    Json,
    /// One JSON object per row version, with provenance.
    Jsonl,
    /// A folder: one CSV file per source table, and manifest.csv.
    Csv,
    /// One SQLite database: a table per source table, wi_tables, wi_evidence, wi_export.
    Sqlite,
    /// A review workbook: a sheet per table, versions tinted by state, an evidence sheet.
    Xlsx,
}

/// `--format`, `-o` and `--force` of `timeline`, `history` and `salvage`.
#[derive(clap::Args, Debug, Clone)]
pub struct ExportArgs {
    /// Output format: text, json (as --json), or an export of the row versions for other tools:
    /// jsonl, csv (a folder), sqlite, xlsx (see docs/forensics.md, "Export").
    #[arg(long, value_enum, conflicts_with = "json")]
    pub format: Option<FormatArg>,
    /// Write to this file (csv: this folder) instead of stdout; needed for csv, sqlite and xlsx.
    /// Never one of the evidence files; an existing output is refused without --force.
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Replace an existing output (csv: write into a folder that is not empty).
    #[arg(long, requires = "output")]
    pub force: bool,
}

/// Where and how a command writes its result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    pub format: FormatArg,
    pub path: Option<PathBuf>,
    pub force: bool,
}

impl ExportArgs {
    /// The output asked for (`json`: the command's `--json` flag).
    pub fn output(&self, json: bool) -> Result<Output, Error> {
        let format = self.format.unwrap_or(if json { FormatArg::Json } else { FormatArg::Text });
        if matches!(format, FormatArg::Csv | FormatArg::Sqlite | FormatArg::Xlsx) && self.output.is_none() {
            return Err(Error::Refused(format!("--format {} needs -o PATH", format_name(format))));
        }
        Ok(Output { format, path: self.output.clone(), force: self.force })
    }
}

fn format_name(f: FormatArg) -> &'static str {
    match f {
        FormatArg::Text => "text",
        FormatArg::Json => "json",
        FormatArg::Jsonl => "jsonl",
        FormatArg::Csv => "csv",
        FormatArg::Sqlite => "sqlite",
        FormatArg::Xlsx => "xlsx",
    }
}

impl Output {
    /// Text on stdout (what the tests and the TUI-less callers use).
    pub fn text() -> Self {
        Self { format: FormatArg::Text, path: None, force: false }
    }

    /// The export format, when this is one (jsonl, csv, sqlite, xlsx).
    fn export_format(&self) -> Option<export::Format> {
        match self.format {
            FormatArg::Text | FormatArg::Json => None,
            FormatArg::Jsonl => Some(export::Format::Jsonl),
            FormatArg::Csv => Some(export::Format::Csv),
            FormatArg::Sqlite => Some(export::Format::Sqlite),
            FormatArg::Xlsx => Some(export::Format::Xlsx),
        }
    }

    /// Check the target before any work (never an evidence file; no overwrite without --force).
    fn check(&self, ev: &Evidence) -> Result<(), Error> {
        match (&self.path, self.export_format()) {
            (Some(p), Some(f)) => export::check_output(p, ev, f, self.force).map(drop).map_err(failed),
            (Some(p), None) => export::check_output(p, ev, export::Format::Jsonl, self.force).map(drop).map_err(failed),
            (None, _) => Ok(()),
        }
    }

    /// Write a text or JSON document: to stdout (through the terminal guard for its kind), or to
    /// the file (never over evidence or a non-regular file but a FIFO or device named).
    fn document(&self, text: &str, ev: &Evidence) -> Result<(), Error> {
        match (&self.path, self.format == FormatArg::Json) {
            (None, true) => super::write_json(text),
            (None, false) => write_out(text),
            (Some(p), _) => write_new(p, text.as_bytes(), self.force, ev),
        }
    }

    /// Write an export of row versions.
    fn rows(&self, command: &'static str, tables: Vec<export::Table>, ev: &Evidence) -> Result<(), Error> {
        let Some(format) = self.export_format() else { return Ok(()) };
        let e = export::Export {
            command,
            command_line: command_line(),
            time: export::now_utc(),
            tables,
            evidence: export::EvidenceRow::of(ev),
        };
        match &self.path {
            None => super::write_json(
                &export::jsonl::render(&e).map_err(|x| Error::system("cannot serialise", std::io::Error::other(x)))?,
            ),
            Some(p) => export::write(&e, format, p, ev, self.force).map_err(failed),
        }
    }
}

fn failed(e: crate::repair::RepairError) -> Error {
    Error::Failed(Box::new(e))
}

/// Write `bytes` to `p`: a new regular file (temporary file moved into place), or through
/// standard output, a FIFO or a device; never over evidence.
fn write_new(p: &Path, bytes: &[u8], force: bool, ev: &Evidence) -> Result<(), Error> {
    use crate::repair::output::{Protected, check_target, write_whole};
    let protected = Protected::of(ev);
    let dest = check_target(p, &protected, force, "output").map_err(failed)?;
    write_whole(&dest, &protected, force, bytes).map_err(failed)
}

/// This process's command line, each argument quoted for a POSIX shell when needed.
fn command_line() -> String {
    std::env::args_os()
        .map(|a| {
            let s = a.to_string_lossy().into_owned();
            if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c)) {
                s
            } else {
                format!("'{}'", s.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The page size of the evidence (for byte offsets of frames and pages).
fn page_size(a: &Analysis) -> Option<u32> {
    a.wal.as_ref().and_then(|w| w.page_size).or_else(|| a.db.as_ref().and_then(|d| d.header.page_size()))
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
    output: &Output,
    detail: Detail,
    fail_on: super::FailOn,
    opts: crate::session::Options,
) -> Result<u8, Error> {
    use std::io::Write;
    let session = crate::session::Session::open(path, opts)?;
    let (ev, a) = (&session.evidence, &session.analysis);
    output.check(ev)?;
    let fx = forensics(ev, a)?;
    // The rollback journal's entry comes first: its transaction precedes the database file.
    let journal_entry = |rows: bool, values: bool| {
        journal_step(&fx, &TrackOptions { rows, ..TrackOptions::default() }).map(|s| {
            let mut e = CommitEntryReport::build(&s.changes, rows, values, fx.snapshot(fx.base()).encoding);
            e.journal = Some(JournalEntryReport::build(&s));
            e
        })
    };
    if output.export_format().is_some() {
        let t = Tracker::new(&fx, TrackOptions { rows: true, ..TrackOptions::default() });
        let mut commits: Vec<CommitEntryReport> = journal_entry(true, true).into_iter().collect();
        let _ = t.run_while(|_, c| {
            commits.push(CommitEntryReport::build(&c, true, true, fx.snapshot(c.spec).encoding));
            true
        });
        output.rows("timeline", export::from_timeline(&commits, page_size(a)), ev)?;
        return Ok(exit_code(&session.file_findings(), fail_on));
    }
    let json = output.format == FormatArg::Json;
    let (rows, values) = (detail != Detail::Pages, detail == Detail::Values);
    let t = Tracker::new(&fx, TrackOptions { rows, ..TrackOptions::default() });
    let files = Files::of(ev);
    let stdout = std::io::stdout();
    let mut buffer: Vec<u8> = Vec::new();
    let mut out: Box<dyn Write> = match &output.path {
        None => Box::new(std::io::BufWriter::new(stdout.lock())),
        Some(_) => Box::new(&mut buffer),
    };
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
    let mut pending = journal_entry(rows, values);
    if let Some(entry) = pending.take() {
        let text = if json { timeline_json_commit(&entry, first).map_err(ser) } else { Ok(render_commit(&entry)) };
        first = false;
        text.and_then(|s| out.write_all(guard(s).as_bytes()).map_err(Error::from))?;
    }
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
    drop(out);
    if let Some(p) = &output.path {
        write_new(p, &buffer, output.force, ev)?;
    }
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
    output: &Output,
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
    output.check(ev)?;
    let fx = forensics(ev, a)?;
    let (h, k) = history(&fx, table, &spec).map_err(|e| Error::Failed(Box::new(e)))?;
    let r = HistoryReport::build(Files::of(ev), &h, k.as_ref());
    match output.format {
        FormatArg::Json => output.document(&json_text(&r)?, ev)?,
        FormatArg::Text => output.document(&render_history(&r), ev)?,
        _ => output.rows("history", export::from_history(&r, page_size(a)), ev)?,
    }
    Ok(exit_code(&session.file_findings(), fail_on))
}

/// `walinspect salvage`.
pub fn salvage_rows(
    path: &Path,
    output: &Output,
    fail_on: super::FailOn,
    opts: crate::session::Options,
) -> Result<u8, Error> {
    let session = crate::session::Session::open(path, opts)?;
    let (ev, a) = (&session.evidence, &session.analysis);
    output.check(ev)?;
    let fx = forensics(ev, a)?;
    let s = salvage(&fx);
    let known: Vec<&[u8]> = s.rows.iter().map(|r| r.payload.as_slice()).collect();
    let c = crate::forensics::carve::carve(&fx, &known, crate::forensics::carve::CarveOptions::default());
    let r = SalvageReport::build(Files::of(ev), &s).with_carving(&c);
    match output.format {
        FormatArg::Json => output.document(&json_text(&r)?, ev)?,
        FormatArg::Text => output.document(&render_salvage(&r), ev)?,
        _ => output.rows("salvage", export::from_salvage(&r, page_size(a)), ev)?,
    }
    Ok(exit_code(&session.file_findings(), fail_on))
}

/// A document as `--json` prints it (pretty, with a final newline).
fn json_text<T: serde::Serialize>(v: &T) -> Result<String, Error> {
    let mut s =
        serde_json::to_string_pretty(v).map_err(|e| Error::system("cannot serialise", std::io::Error::other(e)))?;
    s.push('\n');
    Ok(s)
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
