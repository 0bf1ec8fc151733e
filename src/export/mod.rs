//! Exports for the tools investigators use: the row versions `timeline`, `history` and
//! `salvage` report, as JSON Lines ([`jsonl`]), a folder of CSV files ([`csv`]), one SQLite
//! database ([`sqlite`]) or a review workbook ([`xlsx`]). Documented in `docs/forensics.md`
//! ("Export").
//!
//! Everything starts from the report values (`crate::report::forensics`), so an export holds
//! exactly the rows `--json` prints. Each row version keeps its table's own columns and gains a
//! fixed set of provenance columns ([`PROVENANCE`], prefixed `wi_`): where it was found
//! ([`Source`]: database file, WAL, earlier generation, journal, carved), what SQLite makes of it
//! ([`State`]), the frame, commit, page and byte offset, and whether it was decoded whole
//! ([`Confidence`]). A source that finds rows elsewhere (carving of free space, a rollback
//! journal) adds a [`Source`] and yields [`RowVersion`]s: every writer takes them as they come.
//!
//! Outputs are new files only: the target is checked against the evidence's files (and their
//! `-journal`) with `repair::output`, written to a temporary file beside it and moved into place
//! when complete; an existing target is refused unless `force`.

pub mod csv;
pub mod jsonl;
#[cfg(feature = "sqlite-export")]
pub mod sqlite;
pub mod xlsx;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use crate::format::record::Value;
use crate::repair::RepairError;
use crate::repair::output::{Destination, Protected, check_target, write_whole};
use crate::report::forensics::{CommitEntryReport, HistoryReport, KeyReport, SalvageReport, ValueReport, hex};
use crate::source::Evidence;

/// The provenance columns, without their prefix, in the order they follow a table's columns.
pub const PROVENANCE: [&str; 10] =
    ["source", "state", "op", "key", "frame", "commit", "page", "offset", "confidence", "note"];

/// The prefix of the provenance columns (more underscores when a table's own column collides).
pub const PREFIX: &str = "wi_";

/// Where a row version was found (`wi_source`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// The database file.
    Db,
    /// A frame of the current WAL generation.
    Wal,
    /// A frame of an earlier WAL generation (or of no recognisable one).
    Generation,
    /// A rollback journal's page images.
    Journal,
    /// Free space, freeblocks, unallocated bytes: records found by carving.
    Carved,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Db => "db",
            Self::Wal => "wal",
            Self::Generation => "generation",
            Self::Journal => "journal",
            Self::Carved => "carved",
        }
    }
}

/// What SQLite makes of a row version (`wi_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// The version SQLite shows now.
    Live,
    /// A committed version SQLite showed once and no longer does.
    CommittedOlder,
    /// In frames after the last commit: SQLite never showed it.
    Uncommitted,
    /// In frames of an earlier WAL generation.
    EarlierGeneration,
    /// In frames after a checksum break: SQLite stops reading before them.
    AfterBreak,
    /// In frames whose salts belong to no recognisable generation.
    Foreign,
    /// In the partial frame at the end of the WAL.
    Torn,
    /// A deletion (the values are the row's last values), or a record found in free space.
    Deleted,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::CommittedOlder => "committed-older",
            Self::Uncommitted => "uncommitted",
            Self::EarlierGeneration => "earlier-generation",
            Self::AfterBreak => "after-break",
            Self::Foreign => "foreign",
            Self::Torn => "torn",
            Self::Deleted => "deleted",
        }
    }
}

/// Whether a version was decoded whole (`wi_confidence`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Confidence {
    /// Every byte of the record came from the frame's own generation and decoded.
    Exact,
    /// Something is missing or borrowed: a cut overflow chain, overflow pages from outside the
    /// generation, a record that did not decode whole, a carved fragment.
    Partial,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exact => "exact",
            Self::Partial => "partial",
        }
    }
}

/// Where one row version came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Provenance {
    pub source: Source,
    pub state: State,
    /// "insert", "update", "delete", "present".
    pub op: &'static str,
    /// The row's key in text: a rowid, or the primary-key values joined by ", ".
    pub key: Option<String>,
    pub frame: Option<u32>,
    pub commit: Option<u32>,
    pub page: Option<u32>,
    /// Byte offset in its file: the WAL frame's header, or the database page.
    pub offset: Option<u64>,
    pub confidence: Confidence,
    /// Why the confidence is partial, or what else the examiner should know.
    pub note: Option<String>,
}

impl Provenance {
    /// The provenance values in [`PROVENANCE`] order.
    pub fn values(&self) -> [Value; 10] {
        let t = |s: &str| Value::Text(s.to_string());
        let ot = |s: &Option<String>| s.as_ref().map_or(Value::Null, |s| Value::Text(s.clone()));
        let n = |v: Option<u32>| v.map_or(Value::Null, |v| Value::Integer(i64::from(v)));
        [
            t(self.source.as_str()),
            t(self.state.as_str()),
            t(self.op),
            ot(&self.key),
            n(self.frame),
            n(self.commit),
            n(self.page),
            self.offset.and_then(|o| i64::try_from(o).ok()).map_or(Value::Null, Value::Integer),
            t(self.confidence.as_str()),
            ot(&self.note),
        ]
    }
}

/// One version of one row.
#[derive(Clone, Debug, PartialEq)]
pub struct RowVersion {
    pub prov: Provenance,
    /// The table's columns (padded with NULL to the table's width).
    pub values: Vec<Value>,
}

/// One source table's row versions.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// The table's name in the evidence (any bytes SQLite allows).
    pub name: String,
    pub columns: Vec<String>,
    pub rows: Vec<RowVersion>,
}

impl Table {
    /// The prefix of this table's provenance columns: `wi_`, or with more underscores until no
    /// column of the table collides (SQLite compares column names without case).
    pub fn prefix(&self) -> String {
        let taken: HashSet<String> = self.columns.iter().map(|c| c.to_ascii_lowercase()).collect();
        let mut p = PREFIX.to_string();
        for _ in 0..64 {
            if PROVENANCE.iter().all(|n| !taken.contains(&format!("{p}{n}").to_ascii_lowercase())) {
                break;
            }
            p.push('_');
        }
        p
    }

    /// The provenance column names of this table.
    pub fn provenance_columns(&self) -> Vec<String> {
        let p = self.prefix();
        PROVENANCE.iter().map(|n| format!("{p}{n}")).collect()
    }
}

/// One evidence file the export came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceRow {
    /// "db", "wal", "shm".
    pub role: &'static str,
    pub path: String,
    pub size: u64,
    /// Null when the file could not be read whole.
    pub sha256: Option<String>,
    /// What was read of it.
    pub read: String,
}

impl EvidenceRow {
    /// The files of opened evidence, hashed from the descriptors the analysis read.
    pub fn of(ev: &Evidence) -> Vec<Self> {
        let mut out = Vec::new();
        for (role, f) in [("db", &ev.db), ("wal", &ev.wal), ("shm", &ev.shm)] {
            if let Some(f) = f {
                let h = crate::source::walk::hash_open(&f.file, Some(&f.stamp));
                let read = match &h {
                    Ok(_) => "whole file (read-only, O_NOATIME)".to_string(),
                    Err(e) => format!("not hashed: {e}"),
                };
                out.push(Self {
                    role,
                    path: f.path.display().to_string(),
                    size: f.len(),
                    sha256: h.ok().map(|d| d.sha256),
                    read,
                });
            }
        }
        out
    }
}

/// Everything one export writes.
#[derive(Clone, Debug, PartialEq)]
pub struct Export {
    /// "timeline", "history", "salvage".
    pub command: &'static str,
    /// The command line that made it.
    pub command_line: String,
    /// When it was made (UTC, RFC 3339).
    pub time: String,
    pub tables: Vec<Table>,
    pub evidence: Vec<EvidenceRow>,
}

/// The export formats besides text and JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Csv,
    Sqlite,
    Xlsx,
}

/// Why an export failed.
pub type ExportError = RepairError;

/// Check that `target` may be written, before any work is done, and decide how: never over an
/// evidence file (by name or identity) or a non-regular file. JSON Lines and workbooks may go to
/// standard output (`-o -`) or through a FIFO or character device; an SQLite export needs a
/// regular file and a CSV export a folder (absent, or empty unless `force`).
pub fn check_output(target: &Path, ev: &Evidence, format: Format, force: bool) -> Result<Destination, ExportError> {
    let protected = Protected::of(ev);
    match format {
        Format::Csv => {
            if target.is_dir() {
                let empty = std::fs::read_dir(target).map(|mut d| d.next().is_none()).unwrap_or(false);
                if !empty && !force {
                    return Err(RepairError::Output(format!(
                        "{}: the folder is not empty; use --force to write into it",
                        target.display()
                    )));
                }
                // Each file written inside is checked the same way (never an evidence file).
                check_target(&target.join("manifest.csv"), &protected, force, "export")?;
                return Ok(Destination::File(target.to_path_buf()));
            }
            let dest = check_target(target, &protected, force, "export")?;
            if dest.is_streamed() || target.exists() {
                return Err(RepairError::Output(format!(
                    "{}: a CSV export is a folder of files; name a folder that does not exist yet or is empty",
                    target.display()
                )));
            }
            Ok(dest)
        }
        Format::Sqlite => {
            let dest = check_target(target, &protected, force, "export")?;
            if dest.is_streamed() {
                return Err(RepairError::Output(format!(
                    "{}: an SQLite export needs a regular file, not standard output, a FIFO or a device",
                    target.display()
                )));
            }
            Ok(dest)
        }
        Format::Jsonl | Format::Xlsx => check_target(target, &protected, force, "export"),
    }
}

/// Write `e` in `format` to `target` (see [`check_output`]).
pub fn write(e: &Export, format: Format, target: &Path, ev: &Evidence, force: bool) -> Result<(), ExportError> {
    let dest = check_output(target, ev, format, force)?;
    let protected = Protected::of(ev);
    let streamed = |bytes: &[u8]| write_whole(&dest, &protected, force, bytes);
    match format {
        Format::Jsonl => streamed(
            jsonl::render(e).map_err(|err| RepairError::Output(format!("cannot serialise: {err}")))?.as_bytes(),
        ),
        Format::Xlsx => streamed(&xlsx::render(e)?),
        Format::Csv => csv::write(e, target, force),
        #[cfg(feature = "sqlite-export")]
        Format::Sqlite => sqlite::write(e, target, force),
        #[cfg(not(feature = "sqlite-export"))]
        Format::Sqlite => Err(RepairError::Output("built without the sqlite-export feature".into())),
    }
}

// ----------------------------------------------------------------------------------------------
// From the reports

/// A key in text: a rowid, or the primary-key values joined by ", " (blobs in hex).
pub fn key_text(k: &KeyReport) -> String {
    match k {
        KeyReport::Rowid(r) => r.to_string(),
        KeyReport::Pk(v) => {
            v.iter().map(|x| value_text(&x.0).unwrap_or_else(|| "NULL".into())).collect::<Vec<_>>().join(", ")
        }
    }
}

/// A value as text (CSV cells, keys): integers and reals in their shortest exact form, text as
/// is, blobs in lowercase hex; None for NULL.
pub fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Integer(i) => Some(i.to_string()),
        Value::Real(r) => Some(real_text(*r)),
        Value::Text(t) | Value::TextBytes { text: t, .. } => Some(t.clone()),
        Value::Blob(b) => Some(hex(b)),
    }
}

/// A real in the shortest form that reads back to the same number ("1.0", "0.1", "inf").
pub fn real_text(r: f64) -> String {
    if r.is_nan() {
        "nan".into()
    } else if r.is_infinite() {
        if r > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{r:?}")
    }
}

/// The byte offset of WAL frame `f`'s header, with pages of `page_size` bytes.
fn frame_offset(page_size: Option<u32>, f: u32) -> Option<u64> {
    let ps = u64::from(page_size?);
    Some(32 + u64::from(f.checked_sub(1)?) * (24 + ps))
}

fn padded(values: &[ValueReport], width: usize) -> Vec<Value> {
    let mut v: Vec<Value> = values.iter().map(|x| x.0.clone()).collect();
    if v.len() < width {
        v.resize(width, Value::Null);
    }
    v
}

/// Collects rows by table, keeping the widest column list seen.
#[derive(Default)]
struct Tables {
    order: Vec<String>,
    by_name: HashMap<String, Table>,
}

impl Tables {
    fn push(&mut self, name: &str, columns: &[String], prov: Provenance, values: &[ValueReport]) {
        let t = self.by_name.entry(name.to_string()).or_insert_with(|| {
            self.order.push(name.to_string());
            Table { name: name.to_string(), columns: Vec::new(), rows: Vec::new() }
        });
        if columns.len() > t.columns.len() {
            t.columns = columns.to_vec();
        }
        t.rows.push(RowVersion { prov, values: values.iter().map(|x| x.0.clone()).collect() });
    }

    fn finish(mut self) -> Vec<Table> {
        let mut out = Vec::new();
        for n in &self.order {
            if let Some(mut t) = self.by_name.remove(n) {
                let width = t.columns.len().max(t.rows.iter().map(|r| r.values.len()).max().unwrap_or(0));
                while t.columns.len() < width {
                    t.columns.push(format!("_col{}", t.columns.len()));
                }
                for r in &mut t.rows {
                    let vals: Vec<ValueReport> = r.values.drain(..).map(ValueReport).collect();
                    r.values = padded(&vals, width);
                }
                out.push(t);
            }
        }
        out
    }
}

/// The table that holds salvaged rows no table could be attributed to.
pub const UNATTRIBUTED: &str = "wi_unattributed";

/// The row versions of a `salvage` report. Group kinds the report may grow (carving's) map to
/// [`Source::Carved`] / [`State::Deleted`].
pub fn from_salvage(r: &SalvageReport, page_size: Option<u32>) -> Vec<Table> {
    let mut t = Tables::default();
    for row in &r.rows {
        let (source, state) = match row.kind {
            "uncommitted" => (Source::Wal, State::Uncommitted),
            "after_break" => (Source::Wal, State::AfterBreak),
            "stale" => (Source::Generation, State::EarlierGeneration),
            "foreign" => (Source::Generation, State::Foreign),
            "torn" => (Source::Wal, State::Torn),
            "journal" => (Source::Journal, State::CommittedOlder),
            _ => (Source::Carved, State::Deleted),
        };
        let exact = row.complete && !row.uncertain && row.problem.is_none();
        let mut notes = Vec::new();
        if let Some(p) = &row.problem {
            notes.push(p.clone());
        }
        if !row.complete {
            notes.push("overflow chain incomplete".into());
        }
        if row.uncertain {
            notes.push("overflow content from outside the frame's generation".into());
        }
        if row.attribution != "page_owner" {
            notes.push(format!("table attributed by {}", row.attribution));
        }
        let frame = row.frames.first().copied();
        let prov = Provenance {
            source,
            state,
            op: "present",
            key: row.key.as_ref().map(key_text),
            frame,
            commit: None,
            page: Some(row.page),
            offset: frame.and_then(|f| frame_offset(page_size, f)),
            confidence: if exact { Confidence::Exact } else { Confidence::Partial },
            note: (!notes.is_empty()).then(|| notes.join("; ")),
        };
        t.push(row.table.as_deref().unwrap_or(UNATTRIBUTED), &row.columns, prov, &row.values);
    }
    t.finish()
}

/// The versions of a `history` report (one table).
pub fn from_history(r: &HistoryReport, page_size: Option<u32>) -> Vec<Table> {
    use crate::forensics::history::{SourceKind, VersionOp};
    let mut t = Tables::default();
    let key = r.key.as_ref().map(key_text);
    for v in &r.versions {
        let s = &v.source;
        let (source, in_wal) = match s.kind {
            SourceKind::DbFile => (Source::Db, false),
            SourceKind::Journal => (Source::Journal, false),
            SourceKind::Stale | SourceKind::Foreign => (Source::Generation, true),
            _ => (Source::Wal, true),
        };
        let state = match (v.op, s.kind) {
            (VersionOp::Delete, _) => State::Deleted,
            _ if v.current => State::Live,
            // A journal record is the committed state before the last transaction.
            (_, SourceKind::DbFile | SourceKind::Commit | SourceKind::Journal) => State::CommittedOlder,
            (_, SourceKind::Uncommitted) => State::Uncommitted,
            (_, SourceKind::Stale) => State::EarlierGeneration,
            (_, SourceKind::AfterBreak) => State::AfterBreak,
            (_, SourceKind::Foreign) => State::Foreign,
            (_, SourceKind::Torn) => State::Torn,
        };
        let frame = s.frames.first().copied();
        let offset = if in_wal {
            frame.and_then(|f| frame_offset(page_size, f))
        } else {
            s.page.zip(page_size).map(|(p, ps)| u64::from(p.saturating_sub(1)) * u64::from(ps))
        };
        let exact = v.complete && !v.uncertain && v.problem.is_none();
        let prov = Provenance {
            source,
            state,
            op: v.op.as_str(),
            key: key.clone(),
            frame,
            commit: s.commit,
            page: s.page,
            offset,
            confidence: if exact { Confidence::Exact } else { Confidence::Partial },
            note: v.problem.clone(),
        };
        t.push(&r.table, &r.columns, prov, v.values.as_deref().unwrap_or(&[]));
    }
    if r.versions.is_empty() {
        t.by_name
            .insert(r.table.clone(), Table { name: r.table.clone(), columns: r.columns.clone(), rows: Vec::new() });
        t.order.push(r.table.clone());
    }
    t.finish()
}

/// The row changes of a timeline built with values: each insert and update as the new version,
/// each delete as the row's last values. A committed version is `live` when no later commit
/// changes its row, `committed-older` otherwise; the tail's are `uncommitted`. `wi_frame` is
/// the commit frame.
pub fn from_timeline(commits: &[CommitEntryReport], page_size: Option<u32>) -> Vec<Table> {
    // The last committed change of each (table, key): its index in visiting order.
    let mut last: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut i = 0usize;
    for c in commits.iter() {
        for (name, rows) in c.rows.iter().flatten() {
            for ch in rows.values.iter().flatten() {
                if c.committed {
                    last.insert((name.clone(), key_text(&ch.key)), i);
                }
                i += 1;
            }
        }
    }
    let mut t = Tables::default();
    let mut i = 0usize;
    for c in commits {
        for (name, rows) in c.rows.iter().flatten() {
            let columns = rows.columns.clone().unwrap_or_default();
            for ch in rows.values.iter().flatten() {
                let key = key_text(&ch.key);
                let op = ch.op.as_str();
                let is_delete = ch.new.is_none();
                let state = if !c.committed {
                    State::Uncommitted
                } else if is_delete {
                    State::Deleted
                } else if last.get(&(name.clone(), key.clone())) == Some(&i) {
                    State::Live
                } else {
                    State::CommittedOlder
                };
                let values = ch.new.as_ref().or(ch.old.as_ref()).cloned().unwrap_or_default();
                // The rollback journal's entry: no frame; its records are listed on the entry.
                let journal = c.journal.is_some();
                let prov = Provenance {
                    source: if journal { Source::Journal } else { Source::Wal },
                    state,
                    op,
                    key: Some(key),
                    frame: (!journal).then_some(c.frame),
                    commit: c.commit,
                    page: None,
                    offset: if journal { None } else { frame_offset(page_size, c.frame) },
                    confidence: if ch.problem.is_some() { Confidence::Partial } else { Confidence::Exact },
                    note: ch.problem.clone(),
                };
                t.push(name, &columns, prov, &values);
                i += 1;
            }
        }
    }
    t.finish()
}

/// Now, in UTC, as RFC 3339 (`2026-12-06T08:15:00Z`).
pub fn now_utc() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// A file-system-safe, unique (case-insensitively) name for each table: letters, digits, `-`,
/// `_` and `.` kept, anything else `_`, at most 80 bytes, never hidden, never one of `reserved`.
pub fn safe_names(tables: &[Table], reserved: &[&str], max: usize) -> Vec<String> {
    let mut used: HashSet<String> = reserved.iter().map(|r| r.to_ascii_lowercase()).collect();
    let mut out = Vec::new();
    for t in tables {
        let mut base: String = t
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
            .take(max)
            .collect();
        if base.is_empty() || base.starts_with('.') {
            base.insert_str(0, "t_");
        }
        base.truncate(max);
        let mut name = base.clone();
        let mut n = 2;
        while !used.insert(name.to_ascii_lowercase()) && n < 100_000 {
            let suffix = format!("_{n}");
            let mut b = base.clone();
            b.truncate(max.saturating_sub(suffix.len()));
            name = format!("{b}{suffix}");
            n += 1;
        }
        out.push(name);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, cols: &[&str]) -> Table {
        Table { name: name.into(), columns: cols.iter().map(|c| c.to_string()).collect(), rows: Vec::new() }
    }

    #[test]
    fn provenance_prefix_steps_aside_for_colliding_columns() {
        assert_eq!(table("t", &["a", "b"]).prefix(), "wi_");
        assert_eq!(table("t", &["a", "WI_State"]).prefix(), "wi__");
        assert_eq!(table("t", &["wi_state", "wi__key"]).prefix(), "wi___");
    }

    #[test]
    fn safe_unique_names() {
        let t = [table("a/b", &[]), table("A_B", &[]), table(".hidden", &[]), table("", &[]), table("manifest", &[])];
        assert_eq!(safe_names(&t, &["manifest"], 80), ["a_b", "A_B_2", "t_.hidden", "t_", "manifest_2"]);
    }

    #[test]
    fn reals_read_back_exactly() {
        for r in [0.1, 1.0, -2.5e-300, 1e300, f64::MIN_POSITIVE] {
            assert_eq!(real_text(r).parse::<f64>().unwrap(), r);
        }
        assert!(now_utc().ends_with('Z') && now_utc().len() == 20);
    }
}
