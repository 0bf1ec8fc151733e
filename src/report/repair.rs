//! The provenance documents of the repair commands (the JSON contract; `docs/repair-report.md`
//! documents every field):
//! - `extract --report FILE`: schema "walinspect.extract", version 1;
//! - `rebuild-shm --report FILE`: schema "walinspect.rebuild-shm", version 1.
//!
//! Also the short summaries printed on stderr, rendered from these same documents.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::{Files, SCHEMA_VERSION, ShmHeaderReport, Tool};
use crate::format::WordOrder;
use crate::format::shm::ShmEndian;
use crate::repair::extract::{PageSource, Plan, UncertainReason, Verified};
use crate::repair::shm::{RebuiltIndex, WalUse};
use crate::repair::{FrameRun, run_counts};

/// The file a repair wrote.
#[derive(Serialize, Clone, Debug)]
pub struct OutputFile {
    pub path: String,
    /// The path's exact bytes in hex, present only when they are not valid UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_hex: Option<String>,
    pub size: u64,
}

impl OutputFile {
    pub fn new(path: &std::path::Path, size: u64) -> Self {
        let (path, path_hex) = super::path_fields(path);
        Self { path, path_hex, size }
    }
}

/// Consecutive frames left out for one reason.
#[derive(Serialize, Clone, Debug)]
pub struct FrameRunReport {
    pub first_frame: u32,
    pub last_frame: u32,
    /// "superseded" | "beyond_db_size" | "after_commit" | "uncommitted" | "invalid" | "stale"
    pub reason: &'static str,
}

fn frame_runs(runs: &[FrameRun]) -> (Vec<FrameRunReport>, BTreeMap<&'static str, u64>) {
    let list = runs
        .iter()
        .map(|r| FrameRunReport { first_frame: r.first, last_frame: r.last, reason: r.reason.name() })
        .collect();
    let counts = run_counts(runs).into_iter().map(|(r, n)| (r.name(), n)).collect();
    (list, counts)
}

fn order_name(o: WordOrder) -> &'static str {
    match o {
        WordOrder::Little => "little",
        WordOrder::Big => "big",
    }
}

// ---- extract --------------------------------------------------------------------------------

#[derive(Serialize, Clone, Debug)]
pub struct ExtractReport {
    pub schema: &'static str,
    pub version: u32,
    pub tool: Tool,
    pub files: Files,
    pub output: ExtractOutput,
    pub snapshot: SnapshotReport,
    /// True when every page is known exactly (no uncertain page).
    pub exact: bool,
    pub uncertain_page_count: u64,
    pub uncertain_pages: Vec<UncertainReport>,
    /// Pages with no frame at or before the commit but later frames a checkpoint may have
    /// copied, whose database-file copy matches none of them: the file still holds the version
    /// the commit saw.
    pub verified_by_content: Vec<u32>,
    pub backfill: BackfillReport,
    /// Page 1's header fields before and after (null for a plain copy).
    pub header: Option<HeaderReport>,
    pub page_counts: PageCounts,
    pub page_sources: Vec<PageSourceReport>,
    pub frames_ignored: Vec<FrameRunReport>,
    pub frames_ignored_counts: BTreeMap<&'static str, u64>,
    pub notes: Vec<String>,
}

#[derive(Serialize, Clone, Debug)]
pub struct ExtractOutput {
    pub path: String,
    pub size: u64,
    pub page_size: u32,
    pub pages: u32,
    /// "rollback" | "wal" (the header's bytes 18/19 as written).
    pub journal_mode: &'static str,
}

#[derive(Serialize, Clone, Debug)]
pub struct SnapshotReport {
    /// "wal_commit" | "database_file" | "plain_copy"
    pub kind: &'static str,
    /// 1-based as in dump's `commits`; 0 = the database file before this WAL generation.
    pub commit: u32,
    /// Commits in the current WAL generation; the valid range is 0..=this.
    pub commits_available: u32,
    /// The commit frame (null for the database file).
    pub commit_frame: Option<u32>,
    /// Database size in pages at the commit (= output pages).
    pub db_pages: u32,
    pub mx_frame: u32,
    pub chain_valid_frames: u32,
    /// Why SQLite ignores the whole -wal ("too_short", "bad_magic", ...), or null.
    pub wal_ignored: Option<&'static str>,
    pub salt1: Option<u32>,
    pub salt2: Option<u32>,
    pub checkpoint_seq: Option<u32>,
    /// "little" | "big" (from the WAL magic), or null without a WAL header.
    pub checksum_order: Option<&'static str>,
}

#[derive(Serialize, Clone, Debug)]
pub struct UncertainReport {
    pub first_page: u32,
    pub last_page: u32,
    /// "checkpointed" (the database file holds this later frame's copy) | "not_in_files"
    pub reason: &'static str,
    /// For "checkpointed": the later frame whose content the database file holds.
    pub frame: Option<u32>,
}

#[derive(Serialize, Clone, Debug)]
pub struct BackfillReport {
    /// "shm" | "no_shm" | "shm_untrusted" | "shm_other_generation" | "not_needed"
    pub source: &'static str,
    pub backfill: Option<u32>,
    pub backfill_attempted: Option<u32>,
    /// Frames at or below this may have been copied into the database file.
    pub bound: u32,
}

#[derive(Serialize, Clone, Copy, Debug)]
pub struct Change<T> {
    pub before: T,
    pub after: T,
}

#[derive(Serialize, Clone, Debug)]
pub struct HeaderReport {
    pub write_version: Change<u8>,
    pub read_version: Change<u8>,
    pub page_count: Change<u32>,
    pub version_valid_for: Change<u32>,
    pub change_counter: u32,
}

#[derive(Serialize, Clone, Debug, Default)]
pub struct PageCounts {
    pub wal: u64,
    pub database_file: u64,
    pub zero: u64,
    pub missing: u64,
}

#[derive(Serialize, Clone, Debug)]
pub struct PageSourceReport {
    pub first_page: u32,
    pub last_page: u32,
    /// "database_file" | "wal" | "zero" | "missing"
    pub source: &'static str,
    /// For "wal": the frame.
    pub frame: Option<u32>,
}

impl ExtractReport {
    pub fn build(files: Files, output: OutputFile, plan: &Plan, v: &Verified) -> Self {
        let mut counts = PageCounts::default();
        let page_sources = plan
            .runs
            .iter()
            .map(|r| {
                let n = u64::from(r.last - r.first) + 1;
                let (source, frame) = match r.source {
                    PageSource::DbFile => {
                        counts.database_file += n;
                        ("database_file", None)
                    }
                    PageSource::Frame(f) => {
                        counts.wal += n;
                        ("wal", Some(f))
                    }
                    PageSource::Zero => {
                        counts.zero += n;
                        ("zero", None)
                    }
                    PageSource::Missing => {
                        counts.missing += n;
                        ("missing", None)
                    }
                };
                PageSourceReport { first_page: r.first, last_page: r.last, source, frame }
            })
            .collect();
        let (frames_ignored, frames_ignored_counts) = frame_runs(&plan.frames_ignored);
        let journal_mode = match v.header {
            Some(h) if h.write_version.1 == 2 && h.read_version.1 == 2 => "wal",
            _ => "rollback",
        };
        Self {
            schema: "walinspect.extract",
            version: SCHEMA_VERSION,
            tool: Tool::this(),
            files,
            output: ExtractOutput {
                path: output.path,
                size: output.size,
                page_size: plan.page_size,
                pages: plan.db_pages,
                journal_mode,
            },
            snapshot: SnapshotReport {
                kind: plan.kind.name(),
                commit: plan.commit,
                commits_available: plan.commits_available,
                commit_frame: (plan.commit_frame > 0).then_some(plan.commit_frame),
                db_pages: plan.db_pages,
                mx_frame: plan.mx_frame,
                chain_valid_frames: plan.chain_valid_frames,
                wal_ignored: plan.wal_ignored.map(|p| p.name()),
                salt1: plan.salts.map(|s| s[0]),
                salt2: plan.salts.map(|s| s[1]),
                checkpoint_seq: plan.checkpoint_seq,
                checksum_order: plan.word_order.map(order_name),
            },
            exact: v.exact(),
            uncertain_page_count: v.uncertain_count,
            uncertain_pages: v
                .uncertain
                .iter()
                .map(|u| UncertainReport {
                    first_page: u.first,
                    last_page: u.last,
                    reason: u.reason.name(),
                    frame: match u.reason {
                        UncertainReason::Checkpointed { frame } => Some(frame),
                        UncertainReason::NotInFiles => None,
                    },
                })
                .collect(),
            verified_by_content: v.verified_by_content.clone(),
            backfill: BackfillReport {
                source: plan.backfill.source.name(),
                backfill: plan.backfill.backfill,
                backfill_attempted: plan.backfill.backfill_attempted,
                bound: plan.backfill.bound,
            },
            header: v.header.map(|h| HeaderReport {
                write_version: Change { before: h.write_version.0, after: h.write_version.1 },
                read_version: Change { before: h.read_version.0, after: h.read_version.1 },
                page_count: Change { before: h.page_count.0, after: h.page_count.1 },
                version_valid_for: Change { before: h.version_valid_for.0, after: h.version_valid_for.1 },
                change_counter: h.change_counter,
            }),
            page_counts: counts,
            page_sources,
            frames_ignored,
            frames_ignored_counts,
            notes: plan.notes.clone(),
        }
    }

    /// The short summary printed on stderr.
    pub fn summary(&self) -> String {
        let s = &self.snapshot;
        let mut out = String::new();
        let what = match s.kind {
            "wal_commit" => {
                format!("commit {} of {} (frame {})", s.commit, s.commits_available, s.commit_frame.unwrap_or(0))
            }
            "plain_copy" => "the database file (plain copy)".to_string(),
            _ => "the database file's own state (commit 0)".to_string(),
        };
        let _ = writeln!(
            out,
            "walinspect: extracted {} -> {}: {} pages of {} bytes ({} mode)",
            what, self.output.path, self.output.pages, self.output.page_size, self.output.journal_mode
        );
        if let (Some(a), Some(b)) = (s.salt1, s.salt2) {
            let _ = writeln!(
                out,
                "  WAL: salts {a:#010x} {b:#010x}, checkpoint seq {}, mxFrame {}, {} checksums",
                s.checkpoint_seq.unwrap_or(0),
                s.mx_frame,
                s.checksum_order.unwrap_or("?")
            );
        }
        let c = &self.page_counts;
        let _ = writeln!(
            out,
            "  pages: {} from the WAL, {} from the database file{}{}",
            c.wal,
            c.database_file,
            if c.zero > 0 { format!(", {} zero (lock-byte page)", c.zero) } else { String::new() },
            if c.missing > 0 { format!(", {} in no file (zeros)", c.missing) } else { String::new() }
        );
        if !self.frames_ignored_counts.is_empty() {
            let parts: Vec<String> =
                self.frames_ignored_counts.iter().map(|(k, n)| format!("{n} {}", k.replace('_', " "))).collect();
            let _ = writeln!(out, "  frames not used: {}", parts.join(", "));
        }
        if let Some(h) = &self.header {
            let _ = writeln!(
                out,
                "  header: bytes 18/19 {}/{} -> {}/{}, page count {} -> {}, version-valid-for {} -> {}",
                h.write_version.before,
                h.read_version.before,
                h.write_version.after,
                h.read_version.after,
                h.page_count.before,
                h.page_count.after,
                h.version_valid_for.before,
                h.version_valid_for.after
            );
        }
        if !self.verified_by_content.is_empty() {
            let _ = writeln!(
                out,
                "  {} page(s) with later frames checked by content: the database file still holds the commit's version",
                self.verified_by_content.len()
            );
        }
        if !self.exact {
            let pages: Vec<u32> = self.uncertain_pages.iter().take(20).map(|u| u.first_page).collect();
            let _ = writeln!(
                out,
                "  INEXACT: {} page(s) uncertain ({}); see the report for all",
                self.uncertain_page_count,
                crate::repair::page_list(&pages, self.uncertain_pages.len() as u64)
            );
        }
        for n in &self.notes {
            let _ = writeln!(out, "  note: {n}");
        }
        out
    }
}

// ---- rebuild-shm ----------------------------------------------------------------------------

#[derive(Serialize, Clone, Debug)]
pub struct RebuildShmReport {
    pub schema: &'static str,
    pub version: u32,
    pub tool: Tool,
    pub files: Files,
    pub output: OutputFile,
    /// Byte order of the written integers ("little" | "big": the host's, as SQLite writes).
    pub endian: &'static str,
    pub segments: u32,
    pub wal: ShmWalReport,
    /// The header, as written in both copies.
    pub header: ShmHeaderReport,
    pub checkpoint: ShmCheckpointReport,
    pub frames_ignored: Vec<FrameRunReport>,
    pub frames_ignored_counts: BTreeMap<&'static str, u64>,
    /// Set when a segment is a copy of the one before (SQLite's recovery quirk).
    pub copied_segment: Option<CopiedSegment>,
    /// Byte ranges where SQLite's recovery copies memory it never wrote (written as zeros).
    pub unspecified_bytes: Vec<ByteRange>,
    pub notes: Vec<String>,
}

#[derive(Serialize, Clone, Debug)]
pub struct ShmWalReport {
    /// "read" | "ignored" | "absent"
    pub status: &'static str,
    /// Why recovery ignores the whole WAL, when it does.
    pub ignored_reason: Option<&'static str>,
    pub frames_in_file: u64,
    /// Frames entered into the hash tables (the chain-valid prefix).
    pub frames_indexed: u32,
    pub mx_frame: u32,
    /// Indexed frames after mxFrame (valid, uncommitted).
    pub uncommitted_indexed: u32,
}

#[derive(Serialize, Clone, Debug)]
pub struct ShmCheckpointReport {
    pub backfill: u32,
    pub read_marks: [u32; 5],
    pub backfill_attempted: u32,
}

#[derive(Serialize, Clone, Copy, Debug)]
pub struct CopiedSegment {
    pub segment: u32,
    pub copy_of: u32,
}

#[derive(Serialize, Clone, Copy, Debug)]
pub struct ByteRange {
    pub offset: u64,
    pub len: u64,
}

impl RebuildShmReport {
    pub fn build(files: Files, output: OutputFile, r: &RebuiltIndex, frames_in_file: u64) -> Self {
        let h = &r.header;
        let (frames_ignored, frames_ignored_counts) = frame_runs(&r.frames_ignored);
        let mut notes = Vec::new();
        match r.wal_use {
            WalUse::Absent => notes.push("no -wal: the index of an empty log".to_string()),
            WalUse::Ignored(p) => {
                notes.push(format!("SQLite's recovery ignores the whole -wal ({}): an index of an empty log", p.name()))
            }
            WalUse::Read if r.mx_frame == 0 => notes.push("the WAL holds no valid commit: mxFrame 0".to_string()),
            WalUse::Read => {}
        }
        if let Some((to, from)) = r.copied_segment {
            notes.push(format!(
                "segment {to} is a copy of segment {from}: SQLite's recovery copies its private buffer whole into the segment \
                 where the valid prefix ends, even when no frame of it is valid"
            ));
        }
        if !r.unspecified.is_empty() {
            notes.push(
                "SQLite's recovery leaves some bytes unspecified (uninitialised memory); they are zeros here"
                    .to_string(),
            );
        }
        Self {
            schema: "walinspect.rebuild-shm",
            version: SCHEMA_VERSION,
            tool: Tool::this(),
            files,
            output,
            endian: match r.endian {
                ShmEndian::Little => "little",
                ShmEndian::Big => "big",
            },
            segments: r.segments,
            wal: ShmWalReport {
                status: match r.wal_use {
                    WalUse::Absent => "absent",
                    WalUse::Ignored(_) => "ignored",
                    WalUse::Read => "read",
                },
                ignored_reason: match r.wal_use {
                    WalUse::Ignored(p) => Some(p.name()),
                    _ => None,
                },
                frames_in_file,
                frames_indexed: r.frames_indexed,
                mx_frame: r.mx_frame,
                uncommitted_indexed: r.uncommitted_indexed,
            },
            header: ShmHeaderReport::of(h, h.checksum_valid(r.endian)),
            checkpoint: ShmCheckpointReport {
                backfill: r.ckpt.backfill,
                read_marks: r.ckpt.read_marks,
                backfill_attempted: r.ckpt.backfill_attempted,
            },
            frames_ignored,
            frames_ignored_counts,
            copied_segment: r.copied_segment.map(|(segment, copy_of)| CopiedSegment { segment, copy_of }),
            unspecified_bytes: r.unspecified.iter().map(|&(offset, len)| ByteRange { offset, len }).collect(),
            notes,
        }
    }

    /// The short summary printed on stderr.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let h = &self.header;
        let _ = writeln!(
            out,
            "walinspect: rebuilt -shm -> {}: {} segment(s), {} bytes, {}-endian",
            self.output.path, self.segments, self.output.size, self.endian
        );
        let _ = writeln!(
            out,
            "  header: mxFrame {}, {} pages of {} bytes, salts {:#010x} {:#010x}, frame checksum {:#010x} {:#010x}",
            h.mx_frame, h.db_pages, h.page_size, h.salt1, h.salt2, h.frame_checksum[0], h.frame_checksum[1]
        );
        let w = &self.wal;
        let _ = writeln!(
            out,
            "  frames: {} indexed ({} committed, {} uncommitted) of {} in the -wal",
            w.frames_indexed, w.mx_frame, w.uncommitted_indexed, w.frames_in_file
        );
        if !self.frames_ignored_counts.is_empty() {
            let parts: Vec<String> = self.frames_ignored_counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
            let _ = writeln!(out, "  frames not indexed: {}", parts.join(", "));
        }
        for n in &self.notes {
            let _ = writeln!(out, "  note: {n}");
        }
        out
    }
}
