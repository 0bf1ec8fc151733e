//! The deep check's JSON (`check --deep --json` adds it as `deep`; documented in
//! `docs/json-schema.md#deep`): SQLite's verdict in its own words, each message with the page
//! it blames and the owning tree, the provenance of each damaged page with its newest intact
//! earlier image and the rows that differ, and torn checkpoint writes.

use serde::Serialize;

use crate::forensics::deep::provenance::Source;
use crate::forensics::deep::{DeepReport, Level, Provenance, TornPage};
use crate::forensics::snapshot::Origin;

#[derive(Serialize, Clone, Debug)]
pub struct DeepSection {
    /// "structure" or "full".
    pub level: &'static str,
    /// Last WAL frame of the state checked (0: the database file alone).
    pub upto: u32,
    /// The commit checked, when the state is one.
    pub commit: Option<u32>,
    /// SQLite's page count for the state.
    pub pages: u32,
    /// Why SQLite could not open the state (no check ran).
    pub unopenable: Option<String>,
    /// What `PRAGMA integrity_check` (3.40) prints: the lines of its first row, then one per
    /// index message; `["ok"]` when nothing is wrong.
    pub sqlite_lines: Vec<String>,
    pub messages: Vec<DeepMessage>,
    pub provenance: Vec<ProvenanceReport>,
    pub torn: Vec<TornReport>,
    /// `--deep=full`: what the table scan did not evaluate (CHECK constraints, partial and
    /// expression indexes, other collations), each with the reason.
    pub skipped: Vec<String>,
    pub stats: DeepStats,
}

#[derive(Serialize, Clone, Debug)]
pub struct DeepMessage {
    pub code: &'static str,
    /// SQLite's exact line.
    pub text: String,
    pub page: Option<u32>,
    /// The tree being checked: its name and "table" or "index".
    pub owner: Option<String>,
    pub owner_type: Option<&'static str>,
}

#[derive(Serialize, Clone, Debug)]
pub struct ProvenanceReport {
    pub page: u32,
    pub owner: Option<String>,
    /// "db" or "wal".
    pub origin: &'static str,
    pub frame: Option<u32>,
    /// The commit that wrote the damaged image.
    pub commit: Option<u32>,
    /// The last commit that changed the page (None: not in the current WAL generation).
    pub last_changed: Option<u32>,
    pub intact: Option<IntactReport>,
    /// Earlier images examined and found damaged or of another kind.
    pub rejected: u32,
}

#[derive(Serialize, Clone, Debug)]
pub struct IntactReport {
    /// "frame", "db" or "stale_frame".
    pub source: &'static str,
    pub frame: Option<u32>,
    pub commit: Option<u32>,
    pub generations_ago: Option<u32>,
    /// Human description of the source.
    pub described: String,
    /// Page type of the intact image.
    pub page_type: &'static str,
    pub cells: u32,
    /// Cells of the damaged image (None: it does not decode).
    pub damaged_cells: Option<u32>,
    pub only_in_intact: Vec<String>,
    pub only_in_damaged: Vec<String>,
    pub changed: Vec<String>,
}

#[derive(Serialize, Clone, Debug)]
pub struct TornReport {
    pub page: u32,
    pub frame: u32,
    pub commit: Option<u32>,
    pub backfill: u32,
    pub first_diff: u32,
    pub bytes_differ: u32,
    pub torn_shape: bool,
    pub hidden_by_wal: bool,
}

#[derive(Serialize, Clone, Debug)]
pub struct DeepStats {
    pub pages_read: u64,
    pub parallel_trees: u32,
    pub sequential_trees: u32,
    /// `--deep=full`: table rows scanned.
    pub rows_scanned: u64,
}

impl DeepSection {
    pub fn build(r: &DeepReport, level: Level) -> Self {
        let messages = r
            .messages
            .iter()
            .chain(&r.index_messages)
            .map(|m| {
                let o = r.owner(m.root);
                DeepMessage {
                    code: m.code.as_str(),
                    text: m.text.clone(),
                    page: m.page,
                    owner: o.map(|o| o.name.clone()),
                    owner_type: o.map(|o| if o.index { "index" } else { "table" }),
                }
            })
            .collect();
        Self {
            level: match level {
                Level::Structure => "structure",
                Level::Full => "full",
            },
            upto: r.upto,
            commit: r.commit,
            pages: r.n_page,
            unopenable: r.unopenable.clone(),
            sqlite_lines: crate::forensics::deep::sqlite_lines(r),
            messages,
            provenance: r.provenance.iter().map(provenance).collect(),
            torn: r.torn.iter().map(torn).collect(),
            skipped: r.index_skipped.clone(),
            stats: DeepStats {
                rows_scanned: r.index_rows,
                pages_read: r.pages_read,
                parallel_trees: r.parallel_trees,
                sequential_trees: r.sequential_trees,
            },
        }
    }
}

fn provenance(p: &Provenance) -> ProvenanceReport {
    ProvenanceReport {
        page: p.page,
        owner: p.owner.clone(),
        origin: if matches!(p.origin, Origin::Frame(_)) { "wal" } else { "db" },
        frame: p.origin.frame(),
        commit: p.commit,
        last_changed: p.last_changed,
        intact: p.intact.as_ref().map(|c| {
            let (source, frame, commit, generations_ago) = match c.source {
                Source::Frame { frame, commit } => ("frame", Some(frame), commit, None),
                Source::DbFile => ("db", None, None, None),
                Source::Stale { frame, generations_ago } => ("stale_frame", Some(frame), None, generations_ago),
            };
            IntactReport {
                source,
                frame,
                commit,
                generations_ago,
                described: c.source.describe(),
                page_type: c.kind.name(),
                cells: c.diff.cells.0,
                damaged_cells: c.diff.cells.1,
                only_in_intact: c.diff.only_in_intact.clone(),
                only_in_damaged: c.diff.only_in_damaged.clone(),
                changed: c.diff.changed.clone(),
            }
        }),
        rejected: p.rejected,
    }
}

fn torn(t: &TornPage) -> TornReport {
    TornReport {
        page: t.page,
        frame: t.frame,
        commit: t.commit,
        backfill: t.backfill,
        first_diff: t.first_diff,
        bytes_differ: t.bytes_differ,
        torn_shape: t.torn_shape,
        hidden_by_wal: t.hidden_by_wal,
    }
}

/// `extract --heal`'s section of the extract report (`heal`; docs/repair-report.md).
#[derive(Serialize, Clone, Debug)]
pub struct HealReport {
    /// Each damaged page: replaced (with its source) or left as it was.
    pub pages: Vec<HealedPageReport>,
    /// Damaged pages with no intact image anywhere in the evidence.
    pub missing: Vec<u32>,
    /// The deep check of the state before healing (SQLite's lines).
    pub before: Vec<String>,
    /// The deep check of the written database (`["ok"]` when it passes).
    pub after: Vec<String>,
    /// Reverted commits whose other pages could not all be put back (indexes may disagree).
    pub inconsistent: bool,
}

#[derive(Serialize, Clone, Debug)]
pub struct HealedPageReport {
    pub page: u32,
    pub owner: Option<String>,
    pub damaged_from: String,
    pub replaced_from: Option<String>,
    pub replaced_frame: Option<u32>,
    pub replaced_commit: Option<u32>,
    pub reverted_commits: Vec<u32>,
    pub only_in_intact: Vec<String>,
    pub only_in_damaged: Vec<String>,
    pub changed: Vec<String>,
    pub also_reverted: Vec<u32>,
    pub not_reverted: Vec<u32>,
}

impl HealReport {
    pub fn build(h: &crate::repair::heal::HealOutcome) -> Self {
        Self {
            pages: h
                .pages
                .iter()
                .map(|p| HealedPageReport {
                    page: p.page,
                    owner: p.owner.clone(),
                    damaged_from: p.damaged_from.clone(),
                    replaced_from: p.replaced_from.clone(),
                    replaced_frame: p.replaced_frame,
                    replaced_commit: p.replaced_commit,
                    reverted_commits: p.reverted_commits.clone(),
                    only_in_intact: p.only_in_intact.clone(),
                    only_in_damaged: p.only_in_damaged.clone(),
                    changed: p.changed.clone(),
                    also_reverted: p.also_reverted.clone(),
                    not_reverted: p.not_reverted.clone(),
                })
                .collect(),
            missing: h.missing.clone(),
            before: h.before.clone(),
            after: h.after.clone(),
            inconsistent: h.inconsistent,
        }
    }
}
