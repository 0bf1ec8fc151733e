//! What changed between two snapshots, for the status line.

use super::watcher::Snapshot;
use crate::analysis::wal::WalAnalysis;
use crate::source::FileKind;

/// A summary of the differences between two states (or several, merged).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// New commits in the WAL (across resets).
    pub commits: u64,
    /// WAL resets (a new generation: new salts).
    pub resets: u32,
    /// The -wal got shorter (a TRUNCATE checkpoint or journal_size_limit).
    pub truncated: bool,
    pub wal_deleted: bool,
    pub wal_created: bool,
    pub shm_deleted: bool,
    pub shm_created: bool,
    /// nBackfill before and after, when it moved.
    pub backfill: Option<(u32, u32)>,
    pub read_marks: bool,
    pub db_written: bool,
    /// Uncommitted frames now (when they changed).
    pub uncommitted: Option<u32>,
    /// Findings before and after, when the count changed.
    pub findings: Option<(usize, usize)>,
}

fn generation(w: &WalAnalysis) -> Option<(u32, u32, u32)> {
    w.header.filter(|_| w.header_accepted()).map(|h| (h.checkpoint_seq, h.salt1, h.salt2))
}

impl Changes {
    pub fn between(old: &Snapshot, new: &Snapshot) -> Self {
        let mut c = Self::default();
        let (ow, nw) = (old.analysis.wal.as_ref(), new.analysis.wal.as_ref());
        let (ostamp, nstamp) = (old.file(FileKind::Wal).stamp, new.file(FileKind::Wal).stamp);
        c.wal_deleted = ostamp.is_some() && nstamp.is_none();
        c.wal_created = ostamp.is_none() && nstamp.is_some();
        c.truncated =
            matches!((ostamp, nstamp), (Some(a), Some(b)) if b.len < a.len && (a.dev, a.ino) == (b.dev, b.ino));
        let ocommits = ow.map_or(0, |w| w.commits.len() as u64);
        let ncommits = nw.map_or(0, |w| w.commits.len() as u64);
        let (og, ng) = (ow.and_then(generation), nw.and_then(generation));
        if og == ng && ncommits >= ocommits {
            c.commits = ncommits - ocommits;
        } else {
            if ng.is_some() && og.is_some() {
                c.resets = 1;
            }
            c.commits = ncommits;
        }
        let unc = |w: Option<&WalAnalysis>| w.map_or(0, |w| w.chain_valid_frames.saturating_sub(w.valid_frames));
        if unc(ow) != unc(nw) {
            c.uncommitted = Some(unc(nw));
        }
        let (os, ns) = (old.analysis.shm.as_ref(), new.analysis.shm.as_ref());
        c.shm_deleted = old.file(FileKind::Shm).stamp.is_some() && new.file(FileKind::Shm).stamp.is_none();
        c.shm_created = old.file(FileKind::Shm).stamp.is_none() && new.file(FileKind::Shm).stamp.is_some();
        let (ock, nck) = (os.and_then(|s| s.ckpt), ns.and_then(|s| s.ckpt));
        if let (Some(a), Some(b)) = (ock, nck) {
            if a.backfill != b.backfill {
                c.backfill = Some((a.backfill, b.backfill));
            }
            c.read_marks = a.read_marks != b.read_marks;
        }
        let (od, nd) = (old.file(FileKind::Db).stamp, new.file(FileKind::Db).stamp);
        c.db_written =
            od.is_some() && nd.is_some() && od.map(|s| (s.len, s.mtime_ns)) != nd.map(|s| (s.len, s.mtime_ns));
        if old.findings.len() != new.findings.len() {
            c.findings = Some((old.findings.len(), new.findings.len()));
        }
        c
    }

    /// Fold a later change into this one.
    pub fn merge(&mut self, later: &Changes) {
        self.commits += later.commits;
        self.resets += later.resets;
        self.truncated |= later.truncated;
        self.wal_deleted |= later.wal_deleted;
        self.wal_created |= later.wal_created;
        self.shm_deleted |= later.shm_deleted;
        self.shm_created |= later.shm_created;
        self.backfill = match (self.backfill, later.backfill) {
            (Some((a, _)), Some((_, d))) => Some((a, d)),
            (x, None) => x,
            (None, y) => y,
        };
        self.read_marks |= later.read_marks;
        self.db_written |= later.db_written;
        if later.uncommitted.is_some() {
            self.uncommitted = later.uncommitted;
        }
        self.findings = match (self.findings, later.findings) {
            (Some((a, _)), Some((_, d))) => Some((a, d)),
            (x, None) => x,
            (None, y) => y,
        };
    }

    /// One line: "+3 commits · checkpoint 40→120 · WAL reset".
    pub fn describe(&self) -> String {
        let mut p = Vec::new();
        if self.commits > 0 {
            p.push(format!("+{}", crate::present::fmt::plural(self.commits, "commit", "commits")));
        }
        if self.resets > 0 {
            p.push(if self.resets == 1 {
                "WAL reset (new generation)".to_string()
            } else {
                format!("{} WAL resets", self.resets)
            });
        }
        if self.truncated {
            p.push("-wal truncated".into());
        }
        if self.wal_deleted {
            p.push("-wal deleted".into());
        }
        if self.wal_created {
            p.push("-wal created".into());
        }
        if self.shm_deleted {
            p.push("-shm deleted".into());
        }
        if self.shm_created {
            p.push("-shm created".into());
        }
        if let Some((a, b)) = self.backfill {
            p.push(format!("checkpoint: nBackfill {a}→{b}"));
        }
        if let Some(u) = self.uncommitted {
            p.push(if u == 0 { "no uncommitted frames".to_string() } else { format!("{u} uncommitted frames") });
        }
        if self.read_marks {
            p.push("read marks moved".into());
        }
        if self.db_written {
            p.push("database file written".into());
        }
        if let Some((a, b)) = self.findings {
            p.push(format!("findings {a}→{b}"));
        }
        if p.is_empty() { "changed".into() } else { p.join(" · ") }
    }
}
