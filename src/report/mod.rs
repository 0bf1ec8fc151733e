//! The JSON contract (serde types, separate from the analysis types so refactors cannot change
//! the wire format by accident); their text is in `crate::present`.
//!
//! Every document carries `schema`, `version` and `tool`. Fields may be added within a version;
//! none is ever renamed or retyped. `docs/json-schema.md` documents every field.

pub mod deep;
pub mod forensics;
pub mod locks;
pub mod repair;
pub mod scan;

use serde::Serialize;

use crate::analysis::findings::{Finding, Severity};
use crate::analysis::shm::ShmAnalysis;
use crate::analysis::wal::{FrameState, WalAnalysis};
use crate::analysis::{Analysis, DbAnalysis};
use crate::format::db_header::BtreePageHeader;
use crate::format::shm::{READMARK_NOT_USED, WalIndexHeader};
use crate::source::Evidence;

/// Version of the JSON documents' shape.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize, Clone, Debug)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

impl Tool {
    pub fn this() -> Self {
        Self { name: "walinspect", version: env!("CARGO_PKG_VERSION") }
    }
}

#[derive(Serialize, Clone, Debug)]
pub struct FileRef {
    /// The path, readable (a byte that is not UTF-8 shown as U+FFFD).
    pub path: String,
    /// The path's exact bytes in hex, present only when they are not valid UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_hex: Option<String>,
    pub size: u64,
}

impl FileRef {
    pub fn new(path: &std::path::Path, size: u64) -> Self {
        let (path, path_hex) = path_fields(path);
        Self { path, path_hex, size }
    }
}

/// A path as JSON: the readable string, and its exact bytes in hex when they are not UTF-8.
pub fn path_fields(p: &std::path::Path) -> (String, Option<String>) {
    use std::os::unix::ffi::OsStrExt;
    match p.to_str() {
        Some(s) => (s.to_string(), None),
        None => (p.display().to_string(), Some(forensics::hex(p.as_os_str().as_bytes()))),
    }
}

#[derive(Serialize, Clone, Debug)]
pub struct Files {
    pub db: Option<FileRef>,
    pub wal: Option<FileRef>,
    pub shm: Option<FileRef>,
}

impl Files {
    pub fn of(ev: &Evidence) -> Self {
        let f = |e: Option<&crate::source::EvidenceFile>| e.map(|e| FileRef::new(&e.path, e.len()));
        Self { db: f(ev.db.as_ref()), wal: f(ev.wal.as_ref()), shm: f(ev.shm.as_ref()) }
    }
}

/// `dump` and `check` share this shape; `check` sets `schema` to "walinspect.check".
#[derive(Serialize, Clone, Debug)]
pub struct DumpReport {
    pub schema: &'static str,
    pub version: u32,
    pub tool: Tool,
    pub files: Files,
    pub database: Option<DatabaseReport>,
    pub wal: Option<WalReport>,
    pub shm: Option<ShmReport>,
    pub findings: Vec<FindingReport>,
    pub summary: Summary,
    /// One plain-language verdict (`live::verdict`): what an operator should know first.
    pub verdict: VerdictReport,
}

/// `check --json --findings-only`: the `check` document without the decoded structures
/// (`database`, `wal`, `shm`), for scripts that need the findings of a large WAL.
#[derive(Serialize, Clone, Debug)]
pub struct FindingsOnlyReport {
    pub schema: &'static str,
    pub version: u32,
    pub tool: Tool,
    pub files: Files,
    pub findings: Vec<FindingReport>,
    pub summary: Summary,
    pub verdict: VerdictReport,
}

impl From<DumpReport> for FindingsOnlyReport {
    fn from(r: DumpReport) -> Self {
        Self {
            schema: r.schema,
            version: r.version,
            tool: r.tool,
            files: r.files,
            findings: r.findings,
            summary: r.summary,
            verdict: r.verdict,
        }
    }
}

/// The verdict: its tone ("healthy", "attention", "problem") and one line of text.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct VerdictReport {
    pub tone: &'static str,
    pub text: String,
}

impl From<&crate::live::verdict::Verdict> for VerdictReport {
    fn from(v: &crate::live::verdict::Verdict) -> Self {
        Self { tone: v.tone.name(), text: v.text.clone() }
    }
}

#[derive(Serialize, Clone, Debug)]
pub struct Summary {
    /// The worst severity among the findings ("error", "warning", "info") or null.
    pub worst: Option<&'static str>,
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
}

#[derive(Serialize, Clone, Debug)]
pub struct FindingReport {
    pub code: crate::analysis::findings::Code,
    pub severity: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

impl From<&Finding> for FindingReport {
    fn from(f: &Finding) -> Self {
        Self {
            code: f.code,
            severity: f.severity.name(),
            message: f.message.clone(),
            file: f.file.map(|r| r.key()),
            offset: f.offset,
            frame: f.frame,
            page: f.page,
            count: f.count,
        }
    }
}

#[derive(Serialize, Clone, Debug)]
pub struct DatabaseReport {
    pub header: DbHeaderReport,
    /// The b-tree page header of page 1 (at offset 100).
    pub page1: Option<BtreeHeaderReport>,
    /// Whole pages in the file by its size.
    pub file_pages: Option<u64>,
    /// Bytes beyond the last whole page.
    pub file_trailing_bytes: Option<u64>,
}

#[derive(Serialize, Clone, Debug)]
pub struct DbHeaderReport {
    pub magic: String,
    pub page_size: Option<u32>,
    pub page_size_raw: u16,
    pub write_version: u8,
    pub read_version: u8,
    /// "wal" when both versions are 2, "rollback" when both are 1, else "unknown".
    pub journal_mode: &'static str,
    pub reserved_bytes: u8,
    pub usable_size: Option<u32>,
    pub max_payload_fraction: u8,
    pub min_payload_fraction: u8,
    pub leaf_payload_fraction: u8,
    pub change_counter: u32,
    pub page_count: u32,
    pub page_count_valid: bool,
    pub freelist_trunk: u32,
    pub freelist_count: u32,
    pub schema_cookie: u32,
    pub schema_format: u32,
    pub default_cache_size: u32,
    pub largest_root_page: u32,
    pub auto_vacuum: bool,
    pub text_encoding: u32,
    pub text_encoding_name: &'static str,
    pub user_version: u32,
    pub incremental_vacuum: u32,
    pub application_id: u32,
    pub reserved_expansion_zero: bool,
    pub version_valid_for: u32,
    pub sqlite_version_number: u32,
    pub sqlite_version: String,
}

#[derive(Serialize, Clone, Debug)]
pub struct BtreeHeaderReport {
    pub offset: usize,
    pub flag: u8,
    /// "table_leaf", "table_interior", "index_leaf", "index_interior" or null.
    pub page_type: Option<&'static str>,
    pub first_freeblock: u16,
    pub cell_count: u16,
    pub cell_content_start: u32,
    pub fragmented_bytes: u8,
    pub right_child: Option<u32>,
}

impl From<&BtreePageHeader> for BtreeHeaderReport {
    fn from(h: &BtreePageHeader) -> Self {
        Self {
            offset: h.offset,
            flag: h.flag,
            page_type: h.page_type.map(|t| t.name()),
            first_freeblock: h.first_freeblock,
            cell_count: h.cell_count,
            cell_content_start: h.cell_content_start(),
            fragmented_bytes: h.fragmented_bytes,
            right_child: h.right_child,
        }
    }
}

impl From<&DbAnalysis> for DatabaseReport {
    fn from(d: &DbAnalysis) -> Self {
        let h = &d.header;
        let journal_mode = match (h.write_version, h.read_version) {
            (2, 2) => "wal",
            (1, 1) => "rollback",
            _ => "unknown",
        };
        Self {
            header: DbHeaderReport {
                magic: "SQLite format 3".to_string(),
                page_size: h.page_size(),
                page_size_raw: h.page_size_raw,
                write_version: h.write_version,
                read_version: h.read_version,
                journal_mode,
                reserved_bytes: h.reserved_bytes,
                usable_size: h.usable_size(),
                max_payload_fraction: h.max_payload_fraction,
                min_payload_fraction: h.min_payload_fraction,
                leaf_payload_fraction: h.leaf_payload_fraction,
                change_counter: h.change_counter,
                page_count: h.page_count,
                page_count_valid: h.page_count_valid(),
                freelist_trunk: h.freelist_trunk,
                freelist_count: h.freelist_count,
                schema_cookie: h.schema_cookie,
                schema_format: h.schema_format,
                default_cache_size: h.default_cache_size,
                largest_root_page: h.largest_root_page,
                auto_vacuum: h.largest_root_page != 0,
                text_encoding: h.text_encoding,
                text_encoding_name: h.text_encoding_name(),
                user_version: h.user_version,
                incremental_vacuum: h.incremental_vacuum,
                application_id: h.application_id,
                reserved_expansion_zero: h.reserved_expansion_zero(),
                version_valid_for: h.version_valid_for,
                sqlite_version_number: h.sqlite_version_number,
                sqlite_version: h.sqlite_version_string(),
            },
            page1: d.page1.as_ref().map(BtreeHeaderReport::from),
            file_pages: d.pages_in_file(),
            file_trailing_bytes: h.page_size().map(|p| d.file_len % u64::from(p)),
        }
    }
}

#[derive(Serialize, Clone, Debug)]
pub struct WalHeaderReport {
    pub magic: u32,
    pub magic_valid: bool,
    /// "little" (magic 0x377f0682) or "big" (0x377f0683).
    pub checksum_order: &'static str,
    pub format_version: u32,
    pub page_size: u32,
    pub checkpoint_seq: u32,
    pub salt1: u32,
    pub salt2: u32,
    pub checksum1: u32,
    pub checksum2: u32,
    pub checksum_valid: bool,
    pub computed_checksum: [u32; 2],
}

#[derive(Serialize, Clone, Debug)]
pub struct FirstInvalidReport {
    pub frame: u32,
    pub reason: &'static str,
}

#[derive(Serialize, Clone, Debug)]
pub struct CommitReport {
    pub commit: u32,
    pub frame: u32,
    pub first_frame: u32,
    pub db_pages: u32,
}

#[derive(Serialize, Clone, Debug)]
pub struct FrameReport {
    pub frame: u32,
    pub offset: u64,
    pub page: u32,
    pub commit_db_pages: u32,
    pub salt1: u32,
    pub salt2: u32,
    pub checksum1: u32,
    pub checksum2: u32,
    pub salt_match: bool,
    /// Checksum verified from the previous frame's stored checksum (the header's for frame 1).
    pub checksum_valid: bool,
    pub state: &'static str,
    /// Stale frames: how many WAL resets ago they were written.
    pub generations_ago: Option<u32>,
    /// `dump` only: the CRC-32 of the frame's page image, 8 lowercase hex digits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crc32: Option<String>,
    /// With `dump --owners`: the object owning the frame's page at the end of its
    /// transaction (valid frames only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<forensics::FrameOwnerReport>,
}

#[derive(Serialize, Clone, Debug, Default)]
pub struct FrameCounts {
    pub committed: usize,
    pub uncommitted: usize,
    pub invalid: usize,
    pub stale: usize,
}

#[derive(Serialize, Clone, Debug)]
pub struct WalReport {
    pub file_size: u64,
    pub header: Option<WalHeaderReport>,
    /// False when SQLite ignores (or refuses) the whole file.
    pub header_accepted: bool,
    /// Why: "too_short", "bad_magic", "bad_page_size", "bad_header_checksum", "bad_version".
    pub ignored_reason: Option<&'static str>,
    pub frame_size: Option<u64>,
    pub frames_total: u64,
    pub trailing_bytes: u64,
    pub chain_valid_frames: u32,
    pub valid_frames: u32,
    pub db_pages: u32,
    pub mx_frame_checksum: [u32; 2],
    pub first_invalid: Option<FirstInvalidReport>,
    pub frame_counts: FrameCounts,
    pub commits: Vec<CommitReport>,
    pub frames: Vec<FrameReport>,
    pub read_error: Option<String>,
}

impl From<&WalAnalysis> for WalReport {
    fn from(w: &WalAnalysis) -> Self {
        Self::of(w, true)
    }
}

impl WalReport {
    /// The report of a WAL; without `frames` the per-frame list is left empty (every count and
    /// the commit list are still filled), for summaries of very large WALs.
    pub fn of(w: &WalAnalysis, frames: bool) -> Self {
        let page_size = w.page_size.unwrap_or(0);
        let mut counts = FrameCounts::default();
        for f in &w.frames {
            match f.state {
                FrameState::Committed => counts.committed += 1,
                FrameState::Uncommitted => counts.uncommitted += 1,
                FrameState::Invalid => counts.invalid += 1,
                FrameState::Stale => counts.stale += 1,
            }
        }
        Self {
            file_size: w.file_len,
            header: w.header.as_ref().map(|h| WalHeaderReport {
                magic: h.magic,
                magic_valid: h.magic_ok(),
                checksum_order: match h.word_order() {
                    crate::format::WordOrder::Little => "little",
                    crate::format::WordOrder::Big => "big",
                },
                format_version: h.format_version,
                page_size: h.page_size,
                checkpoint_seq: h.checkpoint_seq,
                salt1: h.salt1,
                salt2: h.salt2,
                checksum1: h.checksum1,
                checksum2: h.checksum2,
                checksum_valid: h.checksum_valid(),
                computed_checksum: h.computed_checksum(),
            }),
            header_accepted: w.header_accepted(),
            ignored_reason: w.header_problem.map(|p| p.name()),
            frame_size: w.page_size.map(|p| u64::from(p) + 24),
            frames_total: w.frames_total,
            trailing_bytes: w.trailing_bytes,
            chain_valid_frames: w.chain_valid_frames,
            valid_frames: w.valid_frames,
            db_pages: w.db_pages,
            mx_frame_checksum: w.mx_checksum,
            first_invalid: w.first_invalid.map(|f| FirstInvalidReport { frame: f.frame, reason: f.reason.name() }),
            frame_counts: counts,
            commits: w
                .commits
                .iter()
                .map(|c| CommitReport {
                    commit: c.number,
                    frame: c.frame,
                    first_frame: c.first_frame,
                    db_pages: c.db_pages,
                })
                .collect(),
            frames: w
                .frames
                .iter()
                .take(if frames { usize::MAX } else { 0 })
                .map(|f| FrameReport {
                    frame: f.index,
                    offset: crate::format::wal::frame_offset(f.index, page_size),
                    page: f.header.page,
                    commit_db_pages: f.header.commit_db_pages,
                    salt1: f.header.salt1,
                    salt2: f.header.salt2,
                    checksum1: f.header.checksum1,
                    checksum2: f.header.checksum2,
                    salt_match: f.salt_match,
                    checksum_valid: f.link_valid,
                    state: f.state.name(),
                    generations_ago: f.generations_ago,
                    crc32: None,
                    owner: None,
                })
                .collect(),
            read_error: w.read_error.clone(),
        }
    }
}

#[derive(Serialize, Clone, Debug)]
pub struct ShmHeaderReport {
    pub version: u32,
    pub unused: u32,
    pub change: u32,
    pub is_init: u8,
    pub big_endian_checksum: u8,
    pub page_size: u32,
    pub page_size_raw: u16,
    pub mx_frame: u32,
    pub db_pages: u32,
    pub frame_checksum: [u32; 2],
    pub salt1: u32,
    pub salt2: u32,
    pub checksum: [u32; 2],
    pub checksum_valid: bool,
}

impl ShmHeaderReport {
    /// The report of one header copy; `valid`: its checksum verifies.
    pub fn of(h: &WalIndexHeader, valid: bool) -> Self {
        Self {
            version: h.version,
            unused: h.unused,
            change: h.change,
            is_init: h.is_init,
            big_endian_checksum: h.big_endian_checksum,
            page_size: h.page_size(),
            page_size_raw: h.page_size_raw,
            mx_frame: h.mx_frame,
            db_pages: h.db_pages,
            frame_checksum: h.frame_checksum,
            salt1: h.salt1,
            salt2: h.salt2,
            checksum: h.checksum,
            checksum_valid: valid,
        }
    }
}

#[derive(Serialize, Clone, Debug)]
pub struct ReadMarkReport {
    pub slot: usize,
    /// The raw value (4294967295 = unused).
    pub value: u32,
    pub in_use: bool,
}

#[derive(Serialize, Clone, Debug)]
pub struct SegmentReport {
    pub segment: u32,
    pub first_frame: u32,
    pub last_frame: u32,
    pub entries: u32,
    pub hash_entries: u32,
    pub entries_beyond_mx_frame: u32,
    pub beyond_uncommitted: u32,
    pub beyond_other: u32,
    pub mismatches: u32,
    pub hash_errors: u32,
}

#[derive(Serialize, Clone, Debug)]
pub struct IndexMismatchReport {
    pub frame: u32,
    pub segment: u32,
    /// "wrong_page", "no_such_frame", "missing", "unhashed".
    pub kind: &'static str,
    pub shm_page: u32,
    pub wal_page: Option<u32>,
}

#[derive(Serialize, Clone, Debug)]
pub struct IndexValidationReport {
    /// Which header copy's mxFrame the checks used (0 or 1), null when neither is sound.
    pub reference_header: Option<usize>,
    pub mx_frame: u32,
    /// True when every entry for frames ≤ mxFrame agrees with the WAL and is reachable.
    pub consistent: bool,
    pub mismatch_count: u64,
    /// Entries for frames ≤ mxFrame that the WAL file does not contain (the index is ahead).
    pub entries_beyond_wal: u64,
    pub mismatches: Vec<IndexMismatchReport>,
    pub entries_beyond_mx_frame: u64,
    pub hash_errors: u64,
}

#[derive(Serialize, Clone, Debug)]
pub struct ShmReport {
    pub file_size: u64,
    /// Byte order of the integers ("little" or "big").
    pub byte_order: &'static str,
    pub headers: Vec<ShmHeaderReport>,
    pub headers_identical: bool,
    pub backfill: Option<u32>,
    pub backfill_attempted: Option<u32>,
    /// The five raw read marks (4294967295 = unused).
    pub read_marks: Option<[u32; 5]>,
    pub readers: Vec<ReadMarkReport>,
    /// The lock bytes 120..128 (normally zero; the OS locks sit on them).
    pub lock_bytes: Option<[u8; 8]>,
    pub not_used0: Option<u32>,
    /// Whole 32 KiB segments in the file.
    pub segment_count: u32,
    pub segments: Vec<SegmentReport>,
    pub index: IndexValidationReport,
    pub read_error: Option<String>,
}

impl From<&ShmAnalysis> for ShmReport {
    fn from(s: &ShmAnalysis) -> Self {
        let headers = s
            .headers
            .as_ref()
            .map(|h| {
                vec![ShmHeaderReport::of(&h[0], s.checksum_valid[0]), ShmHeaderReport::of(&h[1], s.checksum_valid[1])]
            })
            .unwrap_or_default();
        Self {
            file_size: s.file_len,
            byte_order: match s.endian {
                crate::format::shm::ShmEndian::Little => "little",
                crate::format::shm::ShmEndian::Big => "big",
            },
            headers,
            headers_identical: s.headers_identical,
            backfill: s.ckpt.map(|c| c.backfill),
            backfill_attempted: s.ckpt.map(|c| c.backfill_attempted),
            read_marks: s.ckpt.map(|c| c.read_marks),
            readers: s
                .ckpt
                .map(|c| {
                    c.read_marks
                        .iter()
                        .enumerate()
                        .map(|(slot, &value)| ReadMarkReport { slot, value, in_use: value != READMARK_NOT_USED })
                        .collect()
                })
                .unwrap_or_default(),
            lock_bytes: s.ckpt.map(|c| c.lock_bytes),
            not_used0: s.ckpt.map(|c| c.not_used0),
            segment_count: s.segments.len() as u32,
            segments: s
                .segments
                .iter()
                .map(|g| SegmentReport {
                    segment: g.index,
                    first_frame: g.first_frame,
                    last_frame: g.last_frame,
                    entries: g.entries,
                    hash_entries: g.hash_entries,
                    entries_beyond_mx_frame: g.entries_beyond_mx_frame,
                    beyond_uncommitted: g.beyond_uncommitted,
                    beyond_other: g.beyond_other,
                    mismatches: g.mismatches,
                    hash_errors: g.hash_errors,
                })
                .collect(),
            index: IndexValidationReport {
                reference_header: s.reference_header,
                mx_frame: s.reference().map_or(0, |h| h.mx_frame),
                consistent: s.reference_header.is_some()
                    && s.mismatch_count == 0
                    && s.entries_beyond_wal == 0
                    && s.hash_errors == 0,
                mismatch_count: s.mismatch_count,
                entries_beyond_wal: s.entries_beyond_wal,
                mismatches: s
                    .mismatches
                    .iter()
                    .map(|m| IndexMismatchReport {
                        frame: m.frame,
                        segment: m.segment,
                        kind: m.kind.name(),
                        shm_page: m.shm_page,
                        wal_page: m.wal_page,
                    })
                    .collect(),
                entries_beyond_mx_frame: s.entries_beyond_mx_frame,
                hash_errors: s.hash_errors,
            },
            read_error: s.read_error.clone(),
        }
    }
}

impl DumpReport {
    /// Set each frame's `crc32` from the CRC-32s of the page images in frame order
    /// ([`crate::analysis::wal::page_crc32s`]).
    pub fn set_crc32s(&mut self, crcs: &[Option<u32>]) {
        if let Some(w) = self.wal.as_mut() {
            for f in &mut w.frames {
                let i = (f.frame as usize).checked_sub(1);
                f.crc32 = i.and_then(|i| crcs.get(i).copied().flatten()).map(|c| format!("{c:08x}"));
            }
        }
    }

    /// Replace the verdict (by one that knows the live locks).
    pub fn set_verdict(&mut self, v: &crate::live::verdict::Verdict) {
        self.verdict = VerdictReport::from(v);
    }

    /// Build the document for `schema` ("walinspect.dump" or "walinspect.check").
    pub fn build(schema: &'static str, files: Files, a: &Analysis, findings: &[Finding]) -> Self {
        Self::build_with(schema, files, a, findings, true)
    }

    /// [`DumpReport::build`]; without `frames`, `wal.frames` stays empty (text summaries).
    pub fn build_with(schema: &'static str, files: Files, a: &Analysis, findings: &[Finding], frames: bool) -> Self {
        let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
        let verdict = crate::live::verdict::verdict(a, findings, None, None);
        Self {
            verdict: VerdictReport::from(&verdict),
            schema,
            version: SCHEMA_VERSION,
            tool: Tool::this(),
            files,
            database: a.db.as_ref().map(DatabaseReport::from),
            wal: a.wal.as_ref().map(|w| WalReport::of(w, frames)),
            shm: a.shm.as_ref().map(ShmReport::from),
            findings: findings.iter().map(FindingReport::from).collect(),
            summary: Summary {
                worst: findings.iter().map(|f| f.severity).max().map(|s| s.name()),
                errors: count(Severity::Error),
                warnings: count(Severity::Warning),
                infos: count(Severity::Info),
            },
        }
    }
}
