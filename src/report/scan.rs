//! The JSON Lines of `scan --json` (documented in `docs/json-schema.md`): one object per evidence
//! set (`"type": "set"`) carrying the fields of `check --json` plus the set's kind, the SHA-256
//! of every file read, frame and salvage counts and the exit status `check` would give; one
//! object per entry that could not be read (`"type": "unreadable"`); and a closing
//! `"type": "summary"`. Every line has `schema` "walinspect.scan", `version` and `tool`.

use serde::Serialize;

use super::{
    DatabaseReport, DumpReport, FileRef, Files, FindingReport, SCHEMA_VERSION, ShmReport, Summary, Tool, WalReport,
};
use crate::analysis::findings::Severity;
use crate::session::scan::{MemberHash, SetOutcome};
use crate::source::walk::Unreadable;

/// The schema name of every line.
pub const SCAN_SCHEMA: &str = "walinspect.scan";

/// One file of a set and its hash.
#[derive(Serialize, Clone, Debug)]
pub struct HashReport {
    /// "db", "wal", "shm", "journal".
    pub role: &'static str,
    pub path: String,
    /// Bytes hashed (the whole file); null when it could not be read whole.
    pub size: Option<u64>,
    /// Lowercase hex SHA-256; null when the file could not be read whole.
    pub sha256: Option<String>,
    /// Modification time when read (nanoseconds since the epoch).
    pub mtime_ns: Option<i128>,
    /// Why the file could not be hashed (vanished, shrank, changed, permission).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl From<&MemberHash> for HashReport {
    fn from(h: &MemberHash) -> Self {
        let (size, sha256, mtime_ns, error) = match &h.digest {
            Ok(d) => (Some(d.bytes), Some(d.sha256.clone()), Some(d.stamp.mtime_ns), None),
            Err(e) => (None, None, None, Some(e.clone())),
        };
        Self { role: h.role.key(), path: h.path.display().to_string(), size, sha256, mtime_ns, error }
    }
}

/// Frame counts of the set's WAL (zeros without one).
#[derive(Serialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanFrames {
    /// Frames SQLite would read: committed + uncommitted.
    pub valid: usize,
    pub committed: usize,
    pub uncommitted: usize,
    /// Frames of earlier WAL generations (stale salts).
    pub earlier_generations: usize,
    /// Frames past the checksum break (and foreign salts).
    pub invalid: usize,
}

/// One evidence set.
#[derive(Serialize, Clone, Debug)]
pub struct ScanSetReport {
    pub schema: &'static str,
    pub version: u32,
    pub tool: Tool,
    #[serde(rename = "type")]
    pub line: &'static str,
    /// "database", "lone_wal", "lone_shm", "lone_journal".
    pub set_kind: &'static str,
    /// The file the set is named by.
    pub path: String,
    /// A lone WAL or -shm whose name does not say what it is.
    pub renamed: bool,
    /// As in `check --json` (null entries for roles the set lacks).
    pub files: Files,
    pub hashes: Vec<HashReport>,
    /// As in `check --json`: null when the set could not be analysed.
    pub database: Option<DatabaseReport>,
    pub wal: Option<WalReport>,
    pub shm: Option<ShmReport>,
    pub findings: Vec<FindingReport>,
    pub summary: Summary,
    pub frames: ScanFrames,
    /// The first finding of the worst severity.
    pub worst_finding: Option<FindingReport>,
    /// Row versions `salvage` lists; null when not computed.
    pub salvage_rows: Option<usize>,
    /// What `check` would exit with (0, 1, or 2 when it cannot analyse the set).
    pub exit_status: u8,
    /// Why the set could not be analysed (exit status 2).
    pub error: Option<String>,
    pub notes: Vec<String>,
}

fn empty_summary() -> Summary {
    Summary { worst: None, errors: 0, warnings: 0, infos: 0 }
}

impl ScanSetReport {
    /// The line of one analysed set; `fail_on` decides the exit status as in `check`.
    pub fn build(o: &SetOutcome<'_>, fail_on: Severity) -> Self {
        let set = o.set;
        let hashes: Vec<HashReport> = o.hashes.iter().map(HashReport::from).collect();
        let mut r = Self {
            schema: SCAN_SCHEMA,
            version: SCHEMA_VERSION,
            tool: Tool::this(),
            line: "set",
            set_kind: set.kind.key(),
            path: set.primary.display().to_string(),
            renamed: set.renamed,
            files: Files { db: None, wal: None, shm: None },
            hashes,
            database: None,
            wal: None,
            shm: None,
            findings: Vec::new(),
            summary: empty_summary(),
            frames: ScanFrames::default(),
            worst_finding: None,
            salvage_rows: o.salvage_rows,
            exit_status: 2,
            error: None,
            notes: o.notes.clone(),
        };
        match &o.session {
            Ok(s) => {
                let d = DumpReport::build_with(SCAN_SCHEMA, Files::of(&s.evidence), &s.analysis, &o.findings, true);
                r.files = d.files;
                r.database = d.database;
                if let Some(w) = &d.wal {
                    let c = &w.frame_counts;
                    r.frames = ScanFrames {
                        valid: c.committed.saturating_add(c.uncommitted),
                        committed: c.committed,
                        uncommitted: c.uncommitted,
                        earlier_generations: c.stale,
                        invalid: c.invalid,
                    };
                }
                r.wal = d.wal;
                r.shm = d.shm;
                r.summary = d.summary;
                let worst = o.findings.iter().map(|f| f.severity).max();
                r.worst_finding =
                    worst.and_then(|w| o.findings.iter().find(|f| f.severity == w)).map(FindingReport::from);
                r.findings = d.findings;
                r.exit_status = u8::from(o.findings.iter().any(|f| f.severity >= fail_on));
            }
            Err(e) => {
                r.error = Some(e.to_string());
                let f = |role: &str| {
                    r.hashes
                        .iter()
                        .find(|h| h.role == role)
                        .map(|h| FileRef::new(std::path::Path::new(&h.path), h.size.unwrap_or(0)))
                };
                r.files = Files { db: f("db"), wal: f("wal"), shm: f("shm") };
            }
        }
        r
    }

    /// Sort key, worst first: sets that cannot be analysed, then by worst severity, then by
    /// recoverable rows, then by path.
    pub fn rank(&self) -> (u8, u8, std::cmp::Reverse<usize>, String) {
        let sev = match self.summary.worst {
            Some("error") => 1,
            Some("warning") => 2,
            Some("info") => 3,
            _ => 4,
        };
        (u8::from(self.error.is_none()), sev, std::cmp::Reverse(self.salvage_rows.unwrap_or(0)), self.path.clone())
    }
}

/// An entry the walk could not read.
#[derive(Serialize, Clone, Debug)]
pub struct ScanUnreadableReport {
    pub schema: &'static str,
    pub version: u32,
    pub tool: Tool,
    #[serde(rename = "type")]
    pub line: &'static str,
    pub path: String,
    pub reason: String,
}

impl From<&Unreadable> for ScanUnreadableReport {
    fn from(u: &Unreadable) -> Self {
        Self {
            schema: SCAN_SCHEMA,
            version: SCHEMA_VERSION,
            tool: Tool::this(),
            line: "unreadable",
            path: u.path.display().to_string(),
            reason: u.reason.clone(),
        }
    }
}

/// How many sets had each worst severity.
#[derive(Serialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct WorstCounts {
    pub error: usize,
    pub warning: usize,
    pub info: usize,
    /// Sets without findings.
    pub none: usize,
    /// Sets that could not be analysed.
    pub failed: usize,
}

/// The closing line.
#[derive(Serialize, Clone, Debug)]
pub struct ScanSummaryReport {
    pub schema: &'static str,
    pub version: u32,
    pub tool: Tool,
    #[serde(rename = "type")]
    pub line: &'static str,
    pub sets: usize,
    /// Regular files whose first bytes were read.
    pub files_seen: u64,
    /// Files that belong to some set.
    pub files_in_sets: usize,
    pub directories: u64,
    pub unreadable: usize,
    pub symlinks_skipped: u64,
    /// Bytes read to recognise files plus bytes hashed.
    pub bytes_read: u64,
    pub worst: WorstCounts,
    /// Recoverable row versions over all sets.
    pub salvage_rows: usize,
    pub seconds: f64,
    /// The scan's exit status: 1 when some set's `check` would not exit 0.
    pub exit_status: u8,
}

/// The numbers the summary is built from (the walk's and the clock's).
#[derive(Clone, Copy, Debug, Default)]
pub struct ScanTotals {
    pub files_seen: u64,
    pub directories: u64,
    pub symlinks_skipped: u64,
    pub sniff_bytes: u64,
    pub seconds: f64,
}

impl ScanSummaryReport {
    pub fn build(sets: &[ScanSetReport], unreadable: usize, t: ScanTotals) -> Self {
        let mut worst = WorstCounts::default();
        for s in sets {
            match (s.error.is_some(), s.summary.worst) {
                (true, _) => worst.failed += 1,
                (false, Some("error")) => worst.error += 1,
                (false, Some("warning")) => worst.warning += 1,
                (false, Some(_)) => worst.info += 1,
                (false, None) => worst.none += 1,
            }
        }
        let mut files: Vec<&str> = sets.iter().flat_map(|s| s.hashes.iter().map(|h| h.path.as_str())).collect();
        files.sort_unstable();
        files.dedup();
        let hashed: u64 = sets.iter().flat_map(|s| s.hashes.iter().filter_map(|h| h.size)).sum();
        Self {
            schema: SCAN_SCHEMA,
            version: SCHEMA_VERSION,
            tool: Tool::this(),
            line: "summary",
            sets: sets.len(),
            files_seen: t.files_seen,
            files_in_sets: files.len(),
            directories: t.directories,
            unreadable,
            symlinks_skipped: t.symlinks_skipped,
            bytes_read: t.sniff_bytes.saturating_add(hashed),
            worst,
            salvage_rows: sets.iter().filter_map(|s| s.salvage_rows).sum(),
            seconds: t.seconds,
            exit_status: u8::from(sets.iter().any(|s| s.exit_status != 0)),
        }
    }
}
