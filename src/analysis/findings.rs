//! Findings: what is wrong (or worth knowing), with a stable code, a severity and a location.
//!
//! Codes are stable strings documented in `docs/findings.md`; never rename one. Each is raised
//! exactly when its documented condition holds. Severity: `error` where SQLite will refuse,
//! misread, or committed data is lost; `warning` where data exists that SQLite will discard or a
//! hazard is present; `info` for facts worth knowing. A clean database raises nothing.

use super::Analysis;
use super::wal::{FrameState, HeaderProblem, InvalidReason, PartialFrame, WalAnalysis};
use super::wording::plural;
use crate::format::shm::{READMARK_NOT_USED, ShmEndian};
use crate::format::vocab::vocabulary;
use crate::format::wal::{WAL_HEADER_LEN, frame_offset};

/// How bad a finding is. Ordered: `Info < Warning < Error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

pub use crate::source::FileKind;

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub file: Option<FileKind>,
    pub offset: Option<u64>,
    pub frame: Option<u32>,
    pub page: Option<u32>,
    /// How many things (frames, entries, bytes) the finding is about, where that is useful.
    pub count: Option<u64>,
}

impl Finding {
    fn new(code: Code, severity: Severity, file: FileKind, message: String) -> Self {
        Self { code, severity, message, file: Some(file), offset: None, frame: None, page: None, count: None }
    }
    fn offset(mut self, o: u64) -> Self {
        self.offset = Some(o);
        self
    }
    fn frame(mut self, f: u32) -> Self {
        self.frame = Some(f);
        self
    }
    fn page(mut self, p: u32) -> Self {
        self.page = Some(p);
        self
    }
    fn count(mut self, c: u64) -> Self {
        self.count = Some(c);
        self
    }
}

vocabulary! {
    /// A finding code: a stable string documented in `docs/findings.md`; never rename one.
    pub enum Code {
        DbMissing = "db.missing",
        DbEmptyWithWal = "db.empty_with_wal",
        DbUnreadable = "db.unreadable",
        DbUnsupportedVersion = "db.unsupported_version",
        DbUsableSizeTooSmall = "db.usable_size_too_small",
        DbBadPageSize = "db.bad_page_size",
        DbBadPayloadFractions = "db.bad_payload_fractions",
        DbRollbackHeaderWithWal = "db.rollback_header_with_wal",
        DbHeaderPageCountMismatch = "db.header_page_count_mismatch",
        DbTrailingBytes = "db.trailing_bytes",
        DbHotJournal = "db.hot_journal",
        DbPersistedJournal = "db.persisted_journal",
        WalEmpty = "wal.empty",
        WalTruncatedHeader = "wal.truncated_header",
        WalHeaderOnly = "wal.header_only",
        WalBadMagic = "wal.bad_magic",
        WalBadPageSize = "wal.bad_page_size",
        WalBadHeaderChecksum = "wal.bad_header_checksum",
        WalBadVersion = "wal.bad_version",
        WalPageSizeMismatch = "wal.page_size_mismatch",
        WalTornFrame = "wal.torn_frame",
        WalUncommittedFrames = "wal.uncommitted_frames",
        WalChecksumMismatch = "wal.checksum_mismatch",
        WalSaltMismatch = "wal.salt_mismatch",
        WalPageZero = "wal.page_zero",
        WalStaleFrames = "wal.stale_frames",
        WalOversized = "wal.oversized",
        WalChangedWhileReading = "wal.changed_while_reading",
        // Live probe: a deleted -wal a process still holds open (`live::locks::live_findings`).
        WalDeletedButOpen = "wal.deleted_but_open",
        ShmUnreadable = "shm.unreadable",
        ShmNotInitialized = "shm.not_initialized",
        ShmHeaderCopiesDiffer = "shm.header_copies_differ",
        ShmBadHeaderChecksum = "shm.bad_header_checksum",
        ShmBadVersion = "shm.bad_version",
        ShmForeignByteOrder = "shm.foreign_byte_order",
        ShmStale = "shm.stale",
        ShmLagging = "shm.lagging",
        ShmAhead = "shm.ahead",
        ShmWalMissing = "shm.wal_missing",
        ShmPageSizeMismatch = "shm.page_size_mismatch",
        ShmIndexMismatch = "shm.index_mismatch",
        ShmHashCorrupt = "shm.hash_corrupt",
        ShmStaleEntries = "shm.stale_entries",
        ShmBackfillBeyondEnd = "shm.backfill_beyond_end",
        ShmReadMarkBeyondEnd = "shm.read_mark_beyond_end",
        ShmReadMark0Nonzero = "shm.read_mark0_nonzero",
        ShmCheckpointInterrupted = "shm.checkpoint_interrupted",
        // Live probe (`live::check_with_live`): the environment and the locks of a database in use.
        EnvNetworkFilesystem = "env.network_filesystem",
        EnvOverlayFilesystem = "env.overlay_filesystem",
        EnvReadonlyDirectory = "env.readonly_directory",
        EnvShmNotWritable = "env.shm_not_writable",
        LockCheckpointStarved = "lock.checkpoint_starved",
        LockDetachedConnection = "lock.detached_connection",
        LockCrossNamespace = "lock.cross_namespace",
        LockUnidentifiedHolder = "lock.unidentified_holder",
        LockExclusive = "lock.exclusive",
        // Reading (`session::consistent`): the files kept changing through every attempt.
        LiveChanging = "live.changing",
        // Reading: the files moved during a read, and a later read was consistent.
        LiveReread = "live.reread",
        // Deep check (`forensics::deep`, `check --deep`): SQLite 3.40's integrity_check, re-implemented.
        BtreeUnopenable = "btree.unopenable",
        BtreeInvalidPage = "btree.invalid_page",
        BtreeSharedPage = "btree.shared_page",
        BtreeUnreadable = "btree.unreadable",
        BtreeBadHeader = "btree.bad_header",
        BtreeFreeSpace = "btree.free_space",
        BtreeCellOffset = "btree.cell_offset",
        BtreeCellExtent = "btree.cell_extent",
        BtreeKeyOrder = "btree.key_order",
        BtreeDepth = "btree.depth",
        BtreeOverlap = "btree.overlap",
        BtreeFragmentation = "btree.fragmentation",
        BtreeNeverUsed = "btree.never_used",
        BtreeTornCheckpoint = "btree.torn_checkpoint",
        OverflowInvalidPage = "overflow.invalid_page",
        OverflowSharedPage = "overflow.shared_page",
        OverflowUnreadable = "overflow.unreadable",
        OverflowLength = "overflow.length",
        FreelistInvalidPage = "freelist.invalid_page",
        FreelistSharedPage = "freelist.shared_page",
        FreelistUnreadable = "freelist.unreadable",
        FreelistLeafCount = "freelist.leaf_count",
        FreelistSize = "freelist.size",
        PtrmapBadEntry = "ptrmap.bad_entry",
        PtrmapUnreadable = "ptrmap.unreadable",
        PtrmapReferenced = "ptrmap.referenced",
        PtrmapLargestRoot = "ptrmap.largest_root",
        // Deep check, full level (`check --deep=full`): integrity_check's table scan and index checks.
        IndexMissingEntry = "index.missing_entry",
        IndexNonUnique = "index.non_unique",
        IndexEntryCount = "index.entry_count",
        IndexPkOrder = "index.pk_order",
        IndexNullValue = "index.null_value",
        IndexValueType = "index.value_type",
        IndexScanAborted = "index.scan_aborted",
    }
}

/// `live.changing`: the files changed through every one of `attempts` reads (`what` changed
/// last); `demoted` findings were shown as `info` because not every read saw them.
pub fn live_changing(attempts: u32, what: &str, demoted: u64) -> Finding {
    let mut f = Finding::new(
        Code::LiveChanging,
        Severity::Info,
        FileKind::Wal,
        format!(
            "the files changed during each of {attempts} reads ({what}): a writer is busy; {} seen in only some reads {} shown as info",
            plural(demoted, "finding", "findings"),
            if demoted == 1 { "is" } else { "are" }
        ),
    );
    f.count = Some(u64::from(attempts));
    f
}

/// `live.reread`: the files moved while they were read (`what`, in order, each once); the read
/// was made again, `attempts` in all, and the analysis is the consistent one, of a `-wal` of
/// `wal_len` bytes (None without a `-wal`).
pub fn live_reread(attempts: u32, what: &[&str], wal_len: Option<u64>) -> Finding {
    let size = wal_len.map(|n| format!(" (the -wal at {n} bytes)")).unwrap_or_default();
    let mut f = Finding::new(
        Code::LiveReread,
        Severity::Info,
        FileKind::Wal,
        format!(
            "the files changed while they were read ({}): read again, {attempts} reads in all; the analysis and the sizes reported are those of the last, consistent read{size}",
            what.join("; ")
        ),
    );
    f.count = Some(u64::from(attempts));
    f
}

/// Produce every finding for an analysis, most severe first (stable order within a severity).
pub fn check(a: &Analysis) -> Vec<Finding> {
    let mut out = Vec::new();
    check_db(a, &mut out);
    if let Some(w) = &a.wal {
        check_wal(a, w, &mut out);
    }
    check_shm(a, &mut out);
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}

fn check_db(a: &Analysis, out: &mut Vec<Finding>) {
    use FileKind::Db;
    use Severity::*;
    let wal_has_content = a.wal.as_ref().is_some_and(|w| w.file_len > 0);
    match (&a.db, &a.db_problem) {
        (None, None) => {
            if a.wal.is_some() {
                out.push(Finding::new(Code::DbMissing, Error, Db,
                    "no database file next to the -wal: only the log survives, and pages never written to the WAL are lost; SQLite opening this path creates an empty database and deletes the -wal, destroying the rest — work on copies".into()));
            }
        }
        (None, Some(problem)) => {
            let empty = problem.contains("empty");
            if empty && let Some(w) = a.wal.as_ref() {
                // Graded by what the deletion destroys: committed transactions (error), frames
                // without a commit (warning), or nothing (info: SQLite's own harmless case).
                let committed = w.header_accepted() && w.valid_frames > 0;
                let (sev, msg) = if committed {
                    (
                        Error,
                        format!(
                            "the database file is empty (0 bytes) while the -wal holds {}: SQLite deletes the -wal when it opens a 0-byte database, destroying them; copy the files before opening them with SQLite",
                            plural(w.commits.len() as u64, "committed transaction", "committed transactions")
                        ),
                    )
                } else if w.frames_total > 0 {
                    (
                        Warning,
                        format!(
                            "the database file is empty (0 bytes) and the -wal holds {} but no commit SQLite would use: SQLite opens an empty database and deletes the -wal, destroying them; copy the files before opening them with SQLite",
                            plural(w.frames_total, "frame", "frames")
                        ),
                    )
                } else {
                    (Info, "the database file is empty (0 bytes) and the -wal holds no frame: SQLite opens an empty database and deletes the -wal; nothing is lost".to_string())
                };
                if wal_has_content || committed {
                    out.push(Finding::new(Code::DbEmptyWithWal, sev, Db, msg));
                }
            } else if !empty {
                out.push(Finding::new(Code::DbUnreadable, Error, Db, format!("the database file cannot be decoded: {problem}; SQLite reads it only while the WAL holds a committed page 1, otherwise it refuses it")).offset(0));
            }
        }
        (Some(d), _) => {
            let h = &d.header;
            match h.page_size() {
                None => out.push(
                    Finding::new(
                        Code::DbBadPageSize,
                        Error,
                        Db,
                        format!(
                            "page size field {} is not a power of two in 512..65536: SQLite refuses the file",
                            h.page_size_raw
                        ),
                    )
                    .offset(16),
                ),
                Some(ps) => {
                    // In WAL mode the file alone is only consistent when every committed
                    // frame has been backfilled: a partial checkpoint copies page 1 (with the
                    // new size) but skips pages whose newest frame is beyond the safe frame.
                    if h.page_count_valid() && !wal_pending(a) {
                        let pages = d.file_len / u64::from(ps);
                        if u64::from(h.page_count) != pages {
                            out.push(Finding::new(Code::DbHeaderPageCountMismatch, Warning, Db,
                                format!("the header says {} pages and claims that is valid (change counter = version-valid-for), but the file holds {} pages", h.page_count, pages))
                                .offset(28).count(pages));
                        }
                    }
                    let rem = d.file_len % u64::from(ps);
                    if rem != 0 {
                        out.push(Finding::new(Code::DbTrailingBytes, Warning, Db,
                            format!("the file size is not a multiple of the page size: {rem} bytes of a partial last page")).offset(d.file_len - rem).count(rem));
                    }
                }
            }
            if h.read_version > 2 {
                out.push(
                    Finding::new(
                        Code::DbUnsupportedVersion,
                        Error,
                        Db,
                        format!(
                            "the file-format read version is {}: SQLite refuses to read a database above version 2",
                            h.read_version
                        ),
                    )
                    .offset(19),
                );
            } else if h.write_version > 2 {
                out.push(
                    Finding::new(
                        Code::DbUnsupportedVersion,
                        Warning,
                        Db,
                        format!(
                            "the file-format write version is {}: SQLite opens the database read-only",
                            h.write_version
                        ),
                    )
                    .offset(18),
                );
            }
            if h.usable_size().is_some_and(|u| u < 480) {
                out.push(Finding::new(Code::DbUsableSizeTooSmall, Error, Db,
                    format!("{} reserved bytes leave {} usable bytes per page, below SQLite's minimum of 480: SQLite refuses the file", h.reserved_bytes, h.usable_size().unwrap_or(0))).offset(20));
            }
            if !h.payload_fractions_ok() {
                out.push(
                    Finding::new(
                        Code::DbBadPayloadFractions,
                        Error,
                        Db,
                        format!(
                            "payload fractions are {}/{}/{}, not 64/32/32: SQLite refuses the file",
                            h.max_payload_fraction, h.min_payload_fraction, h.leaf_payload_fraction
                        ),
                    )
                    .offset(21),
                );
            }
            if let Some(j) = &d.journal {
                check_journal(d, j, out);
            }
            if let Some(w) = a.wal.as_ref().filter(|_| !h.is_wal_mode()) {
                // What SQLite does with the -wal decides the grade: it uses committed frames
                // (warning: they are part of what it shows); otherwise nothing is at stake.
                let (sev, what) = if w.header_accepted() && w.valid_frames > 0 {
                    (
                        Warning,
                        format!(
                            "SQLite opens a -wal found next to a non-empty database regardless, and will use its {} valid committed frames",
                            w.valid_frames
                        ),
                    )
                } else if let Some(p) = w.header_problem.filter(|p| *p != HeaderProblem::TooShort) {
                    (
                        Info,
                        format!(
                            "SQLite refuses this -wal's header ({}), so it uses none of its frames and shows the database file alone",
                            p.name()
                        ),
                    )
                } else {
                    (Info, "the -wal holds no committed frame, so SQLite shows the database file alone".to_string())
                };
                out.push(
                    Finding::new(
                        Code::DbRollbackHeaderWithWal,
                        sev,
                        Db,
                        format!(
                            "the header says journal versions {}/{} (not WAL) but a -wal exists: {what}",
                            h.write_version, h.read_version
                        ),
                    )
                    .offset(18),
                );
            }
        }
    }
}

/// The rollback journal beside the database: hot (SQLite plays it back first), or a
/// PERSIST journal whose records outlive its zeroed header.
fn check_journal(d: &super::DbAnalysis, j: &super::journal::JournalAnalysis, out: &mut Vec<Finding>) {
    use FileKind::Db;
    if j.hot(d.file_len) {
        let pages = j.pages_restored();
        let shown: Vec<String> = pages.iter().take(40).map(u32::to_string).collect();
        let more =
            if pages.len() > shown.len() { format!(" and {} more", pages.len() - shown.len()) } else { String::new() };
        let size =
            j.header.map_or(String::new(), |h| format!(", and sets the database back to {} pages", h.db_orig_pages));
        out.push(
            Finding::new(
                Code::DbHotJournal,
                Severity::Warning,
                Db,
                format!(
                    "a hot rollback journal ({} bytes) is beside the database: unless a writer holds a RESERVED lock (a transaction in progress), SQLite plays it back before it reads anything, the WAL included: it restores {} ({}{more}) to their content before the interrupted transaction{size}; the database file alone is not what SQLite shows",
                    j.file_len,
                    plural(pages.len() as u64, "page", "pages"),
                    shown.join(", ")
                ),
            )
            .count(pages.len() as u64),
        );
    } else if j.zeroed_header {
        let n = j.valid_records().count() as u64;
        if n > 0 {
            out.push(
                Finding::new(
                    Code::DbPersistedJournal,
                    Severity::Info,
                    Db,
                    format!(
                        "the rollback journal's header is zeroed (journal_mode=PERSIST after a commit) but it still holds {}: the pages as they were before the last transaction (the rows it deleted or edited, in their earlier form); SQLite ignores them, `salvage` and `history` list their rows (provenance journal)",
                        plural(n, "page record", "page records")
                    ),
                )
                .count(n),
            );
        }
    }
}

/// True when the WAL holds committed frames that are not yet copied into the database file
/// (as far as the -shm of the same generation tells; without one, any committed frame).
fn wal_pending(a: &Analysis) -> bool {
    let Some(w) = a.wal.as_ref().filter(|w| w.header_accepted()) else { return false };
    let backfill = a
        .shm
        .as_ref()
        .and_then(|s| s.trusted_header().filter(|h| w.header.map(|x| x.salts()) == Some(h.salts())).and(s.ckpt))
        .map_or(0, |c| c.backfill);
    w.valid_frames > backfill
}

fn check_wal(a: &Analysis, w: &WalAnalysis, out: &mut Vec<Finding>) {
    use FileKind::Wal;
    use Severity::*;
    if w.file_len == 0 {
        out.push(Finding::new(
            Code::WalEmpty,
            Info,
            Wal,
            "the -wal is empty (0 bytes): normal after a TRUNCATE checkpoint; the database file alone is current"
                .into(),
        ));
        return;
    }
    if w.file_len < WAL_HEADER_LEN as u64 {
        out.push(
            Finding::new(
                Code::WalTruncatedHeader,
                Warning,
                Wal,
                format!("the -wal is {} bytes, shorter than its 32-byte header: SQLite treats it as empty", w.file_len),
            )
            .count(w.file_len),
        );
        return;
    }
    if w.file_len == WAL_HEADER_LEN as u64 {
        out.push(Finding::new(
            Code::WalHeaderOnly,
            Info,
            Wal,
            "the -wal holds only its 32-byte header: SQLite treats it as empty".into(),
        ));
        if w.header.is_some_and(|h| !h.magic_ok()) {
            out.push(
                Finding::new(
                    Code::WalBadMagic,
                    Warning,
                    Wal,
                    "the 32-byte -wal does not start with a WAL magic number".into(),
                )
                .offset(0),
            );
        }
        return;
    }
    let frame_len = w.page_size.map(|p| u64::from(p) + 24);
    match w.header_problem {
        Some(HeaderProblem::BadMagic) => {
            let magic = w.header.map_or(0, |h| h.magic);
            out.push(Finding::new(Code::WalBadMagic, Error, Wal,
                format!("the -wal starts with {magic:#010x}, not a WAL magic (0x377f0682/0x377f0683): SQLite ignores the whole file ({} bytes); any committed data in it is lost to SQLite", w.file_len)).offset(0));
            return;
        }
        Some(HeaderProblem::BadPageSize) => {
            let ps = w.header.map_or(0, |h| h.page_size);
            out.push(Finding::new(Code::WalBadPageSize, Error, Wal,
                format!("the WAL header's page size {ps} is not a power of two in 512..65536: SQLite ignores the whole file")).offset(8));
            return;
        }
        Some(HeaderProblem::BadChecksum) => {
            // Graded by what is at stake: intact commits hidden (error), frames without an
            // intact commit (warning), or no frame at all (info: nothing is lost).
            let intact_commits =
                w.frames.iter().filter(|f| f.salt_match && f.link_valid && f.header.is_commit()).count();
            let (sev, what) = if w.frames_total == 0 {
                (Info, "it holds no frame, so nothing is lost (an empty WAL left by another engine or an interrupted reset); the next writer replaces it".to_string())
            } else if intact_commits > 0 {
                (
                    Error,
                    format!(
                        "its {} are invisible, {} with an intact checksum among them",
                        plural(w.frames_total, "frame", "frames"),
                        plural(intact_commits as u64, "commit frame", "commit frames")
                    ),
                )
            } else {
                (
                    Warning,
                    format!(
                        "its {} are invisible; none is an intact commit frame",
                        plural(w.frames_total, "frame", "frames")
                    ),
                )
            };
            out.push(
                Finding::new(
                    Code::WalBadHeaderChecksum,
                    sev,
                    Wal,
                    format!("the WAL header checksum is wrong: SQLite ignores the whole file: {what}"),
                )
                .offset(24)
                .count(w.frames_total),
            );
        }
        Some(HeaderProblem::BadVersion) => {
            let v = w.header.map_or(0, |h| h.format_version);
            out.push(Finding::new(Code::WalBadVersion, Error, Wal,
                format!("the WAL format version is {v}, not 3007000, under a valid checksum: SQLite refuses to open the database (SQLITE_CANTOPEN)")).offset(4));
        }
        Some(HeaderProblem::TooShort) | None => {}
    }
    if let (Some(h), Some(d)) = (w.header, a.db.as_ref())
        && w.header_accepted()
        && d.header.page_size().is_some_and(|p| p != h.page_size)
    {
        out.push(
            Finding::new(
                Code::WalPageSizeMismatch,
                Error,
                Wal,
                format!(
                    "the WAL's page size is {} but the database's is {}: SQLite cannot use these frames consistently",
                    h.page_size,
                    d.header.page_size().unwrap_or(0)
                ),
            )
            .offset(8),
        );
    }
    if w.trailing_bytes > 0
        && let Some(fl) = frame_len
    {
        let off = WAL_HEADER_LEN as u64 + w.frames_total * fl;
        let n = w.trailing_bytes;
        let salts = |h: &crate::format::wal::FrameHeader| format!("salts {:#010x}/{:#010x}", h.salt1, h.salt2);
        let (sev, msg) = match w.partial {
            Some(p) if p.all_zero => (
                Info,
                format!(
                    "{n} bytes of zeros after the last whole frame (a frame is {fl} bytes): padding, not a cut-off write; SQLite ignores them"
                ),
            ),
            Some(PartialFrame { header: Some(h), generations_ago: Some(k), .. }) => (
                Info,
                format!(
                    "{n} bytes of a partial frame of an earlier WAL generation ({k} {} ago, {}) at the end of the file (a frame is {fl} bytes): a WAL reset truncated the file to journal_size_limit and cut that old frame; nothing of the current generation is lost",
                    if k == 1 { "reset" } else { "resets" },
                    salts(&h)
                ),
            ),
            Some(PartialFrame { header: Some(h), salt_match: false, .. }) => (
                Warning,
                format!(
                    "{n} bytes of a partial frame at the end of the file (a frame is {fl} bytes) with {}, neither this generation's nor an earlier one's: a cut-off copy or a foreign frame; SQLite ignores it",
                    salts(&h)
                ),
            ),
            _ => (
                Warning,
                format!(
                    "{n} bytes of a partial frame at the end of the file (a frame is {fl} bytes): a write was cut off; SQLite ignores it"
                ),
            ),
        };
        out.push(Finding::new(Code::WalTornFrame, sev, Wal, msg).offset(off).frame(w.frames_total as u32 + 1).count(n));
    }
    if w.read_error.is_some() {
        out.push(Finding::new(
            Code::WalChangedWhileReading,
            Warning,
            Wal,
            format!(
                "the -wal changed while it was read ({}): the analysis describes a mix of two states",
                w.read_error.clone().unwrap_or_default()
            ),
        ));
    }
    if !w.header_accepted() {
        return;
    }
    let ps = w.page_size.unwrap_or(0);
    if w.chain_valid_frames > w.valid_frames {
        let n = u64::from(w.chain_valid_frames - w.valid_frames);
        let first = w.valid_frames + 1;
        out.push(Finding::new(Code::WalUncommittedFrames, Warning, Wal,
            format!("{} after the last commit (frames {}..{}): a transaction in progress, or a writer that died; SQLite ignores them", plural(n, "valid frame", "valid frames"), first, w.chain_valid_frames))
            .frame(first).offset(frame_offset(first, ps)).count(n));
    }
    if let Some(fi) = w.first_invalid {
        let beyond: Vec<_> = w.frames.iter().filter(|f| f.index >= fi.frame).collect();
        let same_salts: Vec<_> = beyond.iter().filter(|f| f.salt_match).collect();
        let commits_beyond = same_salts.iter().filter(|f| f.header.is_commit()).count() as u64;
        let frames_beyond = same_salts.len() as u64;
        let first = w.frame(fi.frame);
        let sev = if commits_beyond > 0 { Error } else { Warning };
        let tail = format!(
            "{} and {} of this WAL generation lie at or after it and are invisible to SQLite",
            plural(frames_beyond, "frame", "frames"),
            plural(commits_beyond, "commit", "commits")
        );
        match fi.reason {
            InvalidReason::ChecksumMismatch => out.push(
                Finding::new(
                    Code::WalChecksumMismatch,
                    sev,
                    Wal,
                    format!(
                        "the checksum chain breaks at frame {} (page {}): {tail}",
                        fi.frame,
                        first.map_or(0, |f| f.header.page)
                    ),
                )
                .frame(fi.frame)
                .offset(frame_offset(fi.frame, ps))
                .page(first.map_or(0, |f| f.header.page))
                .count(frames_beyond),
            ),
            InvalidReason::PageZero => out.push(
                Finding::new(
                    Code::WalPageZero,
                    sev,
                    Wal,
                    format!("frame {} has page number 0, which ends the valid log: {tail}", fi.frame),
                )
                .frame(fi.frame)
                .offset(frame_offset(fi.frame, ps))
                .count(frames_beyond),
            ),
            InvalidReason::SaltMismatch => {
                let stale = first.is_some_and(|f| f.state == FrameState::Stale);
                // A break at a stale frame is the normal end of a shorter new generation,
                // unless frames of the current generation follow it.
                if !stale || frames_beyond > 0 {
                    let sev = if commits_beyond > 0 { Error } else { Warning };
                    out.push(Finding::new(Code::WalSaltMismatch, sev, Wal,
                        format!("frame {} carries salts {:#010x}/{:#010x}, neither this generation's nor an earlier one's: the valid log ends there; {tail}",
                            fi.frame, first.map_or(0, |f| f.header.salt1), first.map_or(0, |f| f.header.salt2)))
                        .frame(fi.frame).offset(frame_offset(fi.frame, ps)).count(frames_beyond));
                }
            }
        }
    }
    let stale = w.frames.iter().filter(|f| f.state == FrameState::Stale).count() as u64;
    if stale > 0 {
        let first = w.frames.iter().find(|f| f.state == FrameState::Stale).map_or(0, |f| f.index);
        let mut gens: Vec<u32> = w.frames.iter().filter_map(|f| f.generations_ago).collect();
        gens.sort_unstable();
        gens.dedup();
        let gens: Vec<String> = gens.iter().map(u32::to_string).collect();
        out.push(Finding::new(Code::WalStaleFrames, Info, Wal,
            format!("{} from earlier WAL generations ({} {} ago) remain after the valid end, from frame {first}: older versions of pages, invisible to SQLite, valuable to an examiner",
                plural(stale, "frame", "frames"), gens.join(", "), if gens.len() == 1 && gens.first().is_some_and(|g| g == "1") { "reset" } else { "resets" }))
            .frame(first).offset(frame_offset(first, ps)).count(stale));
    }
    // Much larger than its valid content.
    if let Some(fl) = frame_len {
        let used = WAL_HEADER_LEN as u64 + u64::from(w.chain_valid_frames) * fl;
        if w.file_len >= 4 * used && w.file_len - used >= 16 << 20 {
            out.push(Finding::new(Code::WalOversized, Info, Wal,
                format!("the -wal is {} bytes but its valid content is {} bytes: space left by earlier, longer generations (set journal_size_limit, or checkpoint with TRUNCATE, to reclaim it)", w.file_len, used))
                .count(w.file_len - used));
        }
    }
}

fn check_shm(a: &Analysis, out: &mut Vec<Finding>) {
    use FileKind::Shm;
    use Severity::*;
    let Some(s) = &a.shm else { return };
    if let Some(e) = &s.read_error {
        out.push(Finding::new(Code::ShmUnreadable, Warning, Shm, format!("the -shm could not be read: {e}")));
        return;
    }
    let Some(h) = s.headers.as_ref().filter(|_| s.file_len >= 136) else {
        out.push(Finding::new(Code::ShmNotInitialized, Info, Shm,
            format!("the -shm is {} bytes, too short to hold the wal-index header: the next connection rebuilds it from the WAL (a 3-byte -shm is what SQLite leaves while it starts)", s.file_len)).count(s.file_len));
        return;
    };
    if h[0].is_init == 0 && h[1].is_init == 0 {
        out.push(Finding::new(Code::ShmNotInitialized, Info, Shm,
            "neither wal-index header copy is initialised (isInit = 0): the next connection rebuilds the index from the WAL".into()).offset(12));
        return;
    }
    if s.endian != ShmEndian::host() {
        out.push(Finding::new(
            Code::ShmForeignByteOrder,
            Info,
            Shm,
            "the -shm was written by a host of the other byte order".into(),
        ));
    }
    if !s.headers_identical {
        out.push(Finding::new(Code::ShmHeaderCopiesDiffer, Warning, Shm,
            format!("the two wal-index header copies differ (mxFrame {} vs {}, change {} vs {}): a writer was interrupted while publishing a commit, or is publishing one now; copy 1 is written first, so it is the newer; SQLite runs recovery when they still differ under the write lock",
                h[0].mx_frame, h[1].mx_frame, h[0].change, h[1].change)).offset(0));
    }
    for (i, valid) in s.checksum_valid.iter().enumerate() {
        if !valid {
            out.push(Finding::new(Code::ShmBadHeaderChecksum, Warning, Shm,
                format!("wal-index header copy {i} has a wrong checksum: SQLite will not trust it and rebuilds the index from the WAL (which needs write access to the -shm)")).offset(40 + 48 * i as u64));
        }
    }
    let Some(r) = s.reference() else { return };
    // Offsets of the reference copy's fields.
    let base = 48 * s.reference_header.unwrap_or(0) as u64;
    if r.version != crate::format::shm::INDEX_VERSION {
        out.push(Finding::new(Code::ShmBadVersion, Error, Shm,
            format!("the wal-index version is {}, not 3007000, under a valid checksum: SQLite refuses to open the database (SQLITE_CANTOPEN)", r.version)).offset(base));
    }
    let ckpt = s.ckpt;
    match a.wal.as_ref() {
        None => {
            if r.mx_frame > 0 {
                let lost = ckpt.is_none_or(|c| c.backfill < r.mx_frame);
                out.push(Finding::new(Code::ShmWalMissing, if lost { Error } else { Warning }, Shm,
                    format!("the wal-index says {} frames are committed in the WAL (mxFrame), but there is no -wal: those transactions are gone unless the database file already holds them (nBackfill {})",
                        r.mx_frame, ckpt.map_or(0, |c| c.backfill))).count(u64::from(r.mx_frame)));
            }
        }
        Some(w) => {
            let wal_salts = w.header.map(|h| h.salts());
            if w.header_accepted() && wal_salts != Some(r.salts()) && r.mx_frame > 0 {
                out.push(Finding::new(Code::ShmStale, Warning, Shm,
                    format!("the wal-index belongs to another WAL generation (salts {:#010x}/{:#010x}, the WAL's are {:#010x}/{:#010x}): a reader trusting it would see a state that never existed; the next first connection rebuilds it",
                        r.salt1, r.salt2, wal_salts.map_or(0, |x| x[0]), wal_salts.map_or(0, |x| x[1]))).offset(base + 32));
            } else if w.header_accepted() && wal_salts == Some(r.salts()) {
                if r.mx_frame < w.valid_frames {
                    out.push(Finding::new(Code::ShmLagging, Warning, Shm,
                        format!("the wal-index's mxFrame is {} but the WAL holds {} valid committed frames: live readers do not see the last {} (the writer died before publishing them); recovery will include them",
                            r.mx_frame, w.valid_frames, w.valid_frames - r.mx_frame)).offset(base + 16).frame(r.mx_frame).count(u64::from(w.valid_frames - r.mx_frame)));
                } else if r.mx_frame > w.valid_frames {
                    out.push(Finding::new(Code::ShmAhead, Error, Shm,
                        format!("the wal-index's mxFrame is {} but the WAL has only {} valid committed frames: readers trusting the index read frames that are missing or invalid",
                            r.mx_frame, w.valid_frames)).offset(base + 16).frame(r.mx_frame).count(u64::from(r.mx_frame - w.valid_frames)));
                }
                if let Some(wp) = w.page_size
                    && r.page_size() != wp
                {
                    out.push(
                        Finding::new(
                            Code::ShmPageSizeMismatch,
                            Warning,
                            Shm,
                            format!("the wal-index says page size {} but the WAL's is {wp}", r.page_size()),
                        )
                        .offset(base + 14),
                    );
                }
            }
        }
    }
    // Index contents are only meaningful against the WAL of the same generation.
    let same_generation = a.wal.as_ref().is_some_and(|w| w.header.map(|h| h.salts()) == Some(r.salts()));
    if same_generation && s.mismatch_count > 0 {
        let first = s.mismatches.iter().find(|m| m.kind != super::shm::MismatchKind::NoSuchFrame);
        out.push(Finding::new(Code::ShmIndexMismatch, Error, Shm,
            format!("{} for frames ≤ mxFrame {} with the WAL (first: frame {}, {}): readers look pages up in the wrong frames",
                plural(s.mismatch_count, "wal-index entry", "wal-index entries"), if s.mismatch_count == 1 { "disagrees" } else { "disagree" },
                first.map_or(0, |m| m.frame), first.map_or("", |m| m.kind.name())))
            .frame(first.map_or(0, |m| m.frame)).count(s.mismatch_count));
    }
    if s.hash_errors > 0 {
        out.push(Finding::new(Code::ShmHashCorrupt, Error, Shm,
            format!("{} of the wal-index hash tables are out of range, point at empty entries, or cannot be reached by probing: lookups may miss the newest version of a page", plural(s.hash_errors, "slot", "slots")))
            .count(s.hash_errors));
    }
    let other: u64 = s.segments.iter().map(|g| u64::from(g.beyond_other)).sum();
    if other > 0 {
        out.push(Finding::new(Code::ShmStaleEntries, Info, Shm,
            format!("{} beyond mxFrame {} no valid WAL frame: left by a crashed writer or an earlier, longer WAL (SQLite ignores them)", plural(other, "wal-index entry", "wal-index entries"), if other == 1 { "matches" } else { "match" }))
            .count(other));
    }
    if let Some(c) = ckpt {
        if c.backfill > r.mx_frame {
            out.push(
                Finding::new(
                    Code::ShmBackfillBeyondEnd,
                    Error,
                    Shm,
                    format!(
                        "nBackfill is {} but mxFrame is {}: the checkpoint record claims frames that are not committed",
                        c.backfill, r.mx_frame
                    ),
                )
                .offset(96)
                .count(u64::from(c.backfill)),
            );
        }
        if c.read_marks[0] != 0 {
            out.push(
                Finding::new(
                    Code::ShmReadMark0Nonzero,
                    Warning,
                    Shm,
                    format!("read mark 0 is {}, but SQLite always keeps it 0", c.read_marks[0]),
                )
                .offset(100),
            );
        }
        for (k, &m) in c.read_marks.iter().enumerate().skip(1) {
            if m != READMARK_NOT_USED && m > r.mx_frame {
                out.push(Finding::new(Code::ShmReadMarkBeyondEnd, Warning, Shm,
                    format!("read mark {k} is {m}, beyond mxFrame {}: a reader slot names frames that are not committed", r.mx_frame)).offset(100 + 4 * k as u64).count(u64::from(m)));
            }
        }
        // Recovery sets nBackfillAttempted = mxFrame with nBackfill = 0, so only a non-zero
        // nBackfill below nBackfillAttempted proves an interrupted checkpoint.
        if c.backfill_attempted > c.backfill && c.backfill > 0 {
            out.push(Finding::new(Code::ShmCheckpointInterrupted, Warning, Shm,
                format!("nBackfillAttempted is {} but nBackfill is {}: a checkpoint was interrupted while copying frames into the database file; the database file may hold a mix of versions for pages of frames {}..{} (the WAL still has them; the next checkpoint redoes the copy)",
                    c.backfill_attempted, c.backfill, c.backfill + 1, c.backfill_attempted)).offset(128).count(u64::from(c.backfill_attempted - c.backfill)));
        }
    }
}
