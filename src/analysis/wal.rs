//! The WAL two ways: as SQLite's recovery (`walIndexRecover`) sees it, and every frame slot on
//! disk classified for an examiner.
//!
//! Each frame's checksum is also verified *per link*: from the previous frame's stored
//! checksum (the header's for frame 1). Inside the valid prefix the running checksum equals the
//! previous stored checksum, so the chain-valid prefix is exactly the longest run of frames
//! whose salts match, whose page is non-zero and whose link verifies — SQLite's rule — while
//! frames beyond the break (stale generations, orphans) can still be judged locally.

use crate::format::wal::{
    FRAME_HEADER_LEN, FrameHeader, WAL_HEADER_LEN, WAL_VERSION, WalHeader, frame_checksum, frame_geometry,
};
use crate::format::{FrameChecksummer, WordOrder};

use super::ReadAt;

/// What an examiner should call a frame slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameState {
    /// Valid and at or before the last commit frame: part of the database SQLite shows.
    Committed,
    /// Valid but after the last commit: a transaction in progress, or a writer that died.
    Uncommitted,
    /// After the chain break, carrying the header's salts or foreign ones: SQLite ignores it.
    Invalid,
    /// Salts of an earlier WAL generation (left behind by a WAL reset).
    Stale,
}

impl FrameState {
    pub fn name(self) -> &'static str {
        match self {
            Self::Committed => "committed",
            Self::Uncommitted => "uncommitted",
            Self::Invalid => "invalid",
            Self::Stale => "stale",
        }
    }
}

/// Why the valid prefix ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvalidReason {
    SaltMismatch,
    PageZero,
    ChecksumMismatch,
}

impl InvalidReason {
    pub fn name(self) -> &'static str {
        match self {
            Self::SaltMismatch => "salt_mismatch",
            Self::PageZero => "page_zero",
            Self::ChecksumMismatch => "checksum_mismatch",
        }
    }
}

/// Why SQLite ignores (or refuses) the whole WAL, if it does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderProblem {
    /// 32 bytes or less: treated as empty without reading the header.
    TooShort,
    BadMagic,
    BadPageSize,
    BadChecksum,
    /// Good checksum but version ≠ 3007000: SQLite refuses to open the database.
    BadVersion,
}

impl HeaderProblem {
    pub fn name(self) -> &'static str {
        match self {
            Self::TooShort => "too_short",
            Self::BadMagic => "bad_magic",
            Self::BadPageSize => "bad_page_size",
            Self::BadChecksum => "bad_header_checksum",
            Self::BadVersion => "bad_version",
        }
    }
}

/// One frame slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameRecord {
    /// 1-based frame number.
    pub index: u32,
    pub header: FrameHeader,
    /// Salts equal the WAL header's.
    pub salt_match: bool,
    /// Checksum verifies from the previous frame's stored checksum (the header's for frame 1).
    pub link_valid: bool,
    pub state: FrameState,
    /// For stale frames: how many WAL resets ago the frame was written.
    pub generations_ago: Option<u32>,
}

/// A commit in the current generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Commit {
    /// 1-based commit number.
    pub number: u32,
    /// The commit frame.
    pub frame: u32,
    /// First frame of the transaction.
    pub first_frame: u32,
    /// Database size in pages after the commit.
    pub db_pages: u32,
}

/// The first frame that ended the valid prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FirstInvalid {
    pub frame: u32,
    pub reason: InvalidReason,
}

/// The partial frame at the end of the file (bytes after the last whole frame).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartialFrame {
    /// 1-based slot number (whole frames + 1).
    pub index: u32,
    /// Bytes present.
    pub len: u64,
    /// Its frame header, when the first 24 bytes are present.
    pub header: Option<FrameHeader>,
    /// Every byte present is zero (padding, not a cut-off write).
    pub all_zero: bool,
    /// Its salts are the header's.
    pub salt_match: bool,
    /// Its salts are those of an earlier generation of this WAL: how many resets ago. A WAL
    /// reset under `journal_size_limit` truncates the file to the limit, which can cut an old
    /// generation's frame in half.
    pub generations_ago: Option<u32>,
}

/// Everything known about a -wal file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalAnalysis {
    pub file_len: u64,
    /// None when the file is shorter than 32 bytes.
    pub header: Option<WalHeader>,
    /// Why SQLite ignores or refuses the whole file, if it does.
    pub header_problem: Option<HeaderProblem>,
    /// Page size used to lay out frames (the header's, when valid).
    pub page_size: Option<u32>,
    pub frames_total: u64,
    pub trailing_bytes: u64,
    pub frames: Vec<FrameRecord>,
    pub chain_valid_frames: u32,
    /// mxFrame: the last commit frame inside the valid prefix (0 if none).
    pub valid_frames: u32,
    /// nPage at mxFrame.
    pub db_pages: u32,
    /// The running checksum at mxFrame (aFrameCksum), (0,0) when there is no commit.
    pub mx_checksum: [u32; 2],
    pub first_invalid: Option<FirstInvalid>,
    pub commits: Vec<Commit>,
    /// Set when the file could not be read to its end (e.g. truncated while reading).
    pub read_error: Option<String>,
    /// The partial frame after the last whole one, when there are such bytes and they were read.
    pub partial: Option<PartialFrame>,
}

impl WalAnalysis {
    /// True when SQLite uses this WAL's frames at all.
    pub fn header_accepted(&self) -> bool {
        self.header_problem.is_none() && self.header.is_some()
    }
    /// The frame record for 1-based frame `i`.
    pub fn frame(&self, i: u32) -> Option<&FrameRecord> {
        self.frames.get((i as usize).checked_sub(1)?)
    }
    pub fn count(&self, state: FrameState) -> usize {
        self.frames.iter().filter(|f| f.state == state).count()
    }
    pub fn word_order(&self) -> Option<WordOrder> {
        self.header.map(|h| h.word_order())
    }
}

/// The CRC-32 ([`crate::format::fingerprint::crc32`]) of every frame's page image, in frame
/// order, read through `r` (one page at a time); `None` for a frame whose page cannot be read
/// whole (the file shrank since it was analysed).
pub fn page_crc32s(r: &dyn ReadAt, w: &WalAnalysis) -> Vec<Option<u32>> {
    let Some(page_size) = w.page_size else { return vec![None; w.frames.len()] };
    let mut buf = vec![0u8; page_size as usize];
    w.frames
        .iter()
        .map(|f| {
            let at = crate::format::wal::frame_offset(f.index, page_size).checked_add(FRAME_HEADER_LEN as u64)?;
            let n = r.read_at_full(at, &mut buf).ok()?;
            (n == buf.len()).then(|| crate::format::fingerprint::crc32(&buf))
        })
        .collect()
}

/// The header problem SQLite's recovery would see, if any.
pub fn header_problem(file_len: u64, h: Option<&WalHeader>) -> Option<HeaderProblem> {
    let Some(h) = h else { return Some(HeaderProblem::TooShort) };
    if file_len <= WAL_HEADER_LEN as u64 {
        Some(HeaderProblem::TooShort)
    } else if !h.magic_ok() {
        Some(HeaderProblem::BadMagic)
    } else if !h.page_size_ok() {
        Some(HeaderProblem::BadPageSize)
    } else if !h.checksum_valid() {
        Some(HeaderProblem::BadChecksum)
    } else if h.format_version != WAL_VERSION {
        Some(HeaderProblem::BadVersion)
    } else {
        None
    }
}

/// How many resets ago a frame with `frame_salts` was written, when its salts are those of an
/// earlier generation of this WAL: salt-1 is one less per reset (bounded by the checkpoint
/// sequence, which counts resets) and salt-2 differs.
pub fn generations_ago(h: &WalHeader, frame_salts: [u32; 2]) -> Option<u32> {
    if frame_salts[1] == h.salt2 {
        return None;
    }
    let k = h.salt1.wrapping_sub(frame_salts[0]);
    (k >= 1 && k <= h.checkpoint_seq).then_some(k)
}

/// What can be known of one frame from its bytes and its predecessor's stored checksum alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FrameFacts {
    pub header: FrameHeader,
    /// The checksum over the frame verifies from `prev_stored`.
    pub link_valid: bool,
}

/// How frame checksums are computed: the serial recurrence (the simple path, SQLite's own
/// formulation) or the vectorised linear form. Both give identical results.
#[derive(Clone, Debug)]
pub enum Checksummer {
    Simple(WordOrder),
    Linear(Box<FrameChecksummer>),
}

impl Checksummer {
    /// The fast form for frames of `page_size` (the simple one when the size is not valid).
    pub fn fast(order: WordOrder, page_size: u32) -> Self {
        if page_size.is_power_of_two() && (512..=65536).contains(&page_size) {
            Self::Linear(Box::new(FrameChecksummer::new(order, page_size)))
        } else {
            Self::Simple(order)
        }
    }
    #[inline]
    pub fn checksum(&self, seed: [u32; 2], frame: &[u8]) -> [u32; 2] {
        match self {
            Self::Simple(order) => frame_checksum(*order, seed, frame),
            Self::Linear(l) => l.checksum(seed, frame),
        }
    }
}

/// Decode a frame and verify its checksum from the previous frame's stored checksum.
#[inline]
pub fn frame_facts(ck: &Checksummer, prev_stored: [u32; 2], frame: &[u8]) -> FrameFacts {
    let hb: [u8; FRAME_HEADER_LEN] = crate::format::bytes::array_at(frame, 0).unwrap_or([0; 24]);
    let header = FrameHeader::parse(&hb);
    let link_valid = ck.checksum(prev_stored, frame) == header.stored_checksum();
    FrameFacts { header, link_valid }
}

/// Incremental scanner: feed frames in order, then [`WalScanner::finish`]. Keeps only
/// per-frame metadata, so memory grows with the frame count, not the file size.
#[derive(Clone, Debug)]
pub struct WalScanner {
    header: WalHeader,
    ck: Checksummer,
    accepted: bool,
    prev_stored: [u32; 2],
    in_chain: bool,
    frames: Vec<FrameRecord>,
    chain_valid: u32,
    mx: u32,
    db_pages: u32,
    mx_checksum: [u32; 2],
    first_invalid: Option<FirstInvalid>,
    commits: Vec<Commit>,
    txn_start: u32,
}

impl WalScanner {
    /// `accepted`: whether recovery accepts the header (else no frame is valid).
    pub fn new(header: WalHeader, accepted: bool) -> Self {
        Self {
            ck: Checksummer::fast(header.word_order(), header.page_size),
            header,
            accepted,
            prev_stored: header.stored_checksum(),
            in_chain: accepted,
            frames: Vec::new(),
            chain_valid: 0,
            mx: 0,
            db_pages: 0,
            mx_checksum: [0, 0],
            first_invalid: None,
            commits: Vec::new(),
            txn_start: 1,
        }
    }

    /// Number of frames fed so far.
    pub fn frames_seen(&self) -> u32 {
        self.frames.len() as u32
    }

    /// Feed the next whole frame (24-byte header + page).
    pub fn push(&mut self, frame: &[u8]) {
        let facts = frame_facts(&self.ck, self.prev_stored, frame);
        self.push_facts(facts);
    }

    /// Use the serial checksum recurrence instead of the linear form (the simple path).
    pub fn use_simple_checksum(&mut self) {
        self.ck = Checksummer::Simple(self.header.word_order());
    }

    /// The stored checksum of the last frame fed (the header's before any): the seed of the next
    /// frame's per-link check.
    pub fn prev_stored(&self) -> [u32; 2] {
        self.prev_stored
    }

    /// How this scanner computes checksums.
    pub fn checksummer(&self) -> &Checksummer {
        &self.ck
    }

    /// Feed the next frame's per-link facts (computed by [`frame_facts`], possibly on another
    /// thread): the chain, commit and classification logic, which is cheap and serial.
    pub fn push_facts(&mut self, facts: FrameFacts) {
        let FrameFacts { header, link_valid } = facts;
        let salt_match = header.salts() == self.header.salts();
        self.push_checked(header, salt_match, link_valid);
    }

    /// Feed the next frame from a record computed earlier for the same slot of the same WAL
    /// generation, without its page: valid when the frame and its predecessor are unchanged
    /// since (same headers), so its link verdict still holds. Used by live re-scans to skip
    /// frames an appending writer cannot have touched.
    pub fn push_known(&mut self, rec: &FrameRecord) {
        self.push_checked(rec.header, rec.salt_match, rec.link_valid);
    }

    /// Forget every frame after `to` so they can be fed again; `to` must lie inside the
    /// chain-valid prefix (frames there never depend on what follows). Returns false, and
    /// changes nothing, when it does not.
    pub fn rewind(&mut self, to: u32) -> bool {
        if to > self.chain_valid {
            return false;
        }
        self.frames.truncate(to as usize);
        self.chain_valid = to;
        self.in_chain = self.accepted;
        self.first_invalid = None;
        self.commits.retain(|c| c.frame <= to);
        let stored =
            |i: u32| (i as usize).checked_sub(1).and_then(|k| self.frames.get(k)).map(|f| f.header.stored_checksum());
        match self.commits.last().copied() {
            Some(c) => {
                self.mx = c.frame;
                self.db_pages = c.db_pages;
                self.mx_checksum = stored(c.frame).unwrap_or([0, 0]);
                self.txn_start = c.frame + 1;
            }
            None => {
                self.mx = 0;
                self.db_pages = 0;
                self.mx_checksum = [0, 0];
                self.txn_start = 1;
            }
        }
        self.prev_stored = stored(to).unwrap_or(self.header.stored_checksum());
        true
    }

    /// The header the scanner judges frames against.
    pub fn header(&self) -> &WalHeader {
        &self.header
    }

    /// mxFrame so far: the last commit frame inside the chain-valid prefix.
    pub fn valid_frames(&self) -> u32 {
        self.mx
    }

    /// Length of the chain-valid prefix so far.
    pub fn chain_valid_frames(&self) -> u32 {
        self.chain_valid
    }

    /// The record of 1-based frame `i` fed so far (its state is only final after `finish`).
    pub fn record(&self, i: u32) -> Option<&FrameRecord> {
        self.frames.get((i as usize).checked_sub(1)?)
    }

    fn push_checked(&mut self, header: FrameHeader, salt_match: bool, link_valid: bool) {
        let index = self.frames.len() as u32 + 1;
        self.prev_stored = header.stored_checksum();
        if self.in_chain {
            let reason = if !salt_match {
                Some(InvalidReason::SaltMismatch)
            } else if header.page == 0 {
                Some(InvalidReason::PageZero)
            } else if !link_valid {
                Some(InvalidReason::ChecksumMismatch)
            } else {
                None
            };
            match reason {
                Some(reason) => {
                    self.in_chain = false;
                    self.first_invalid = Some(FirstInvalid { frame: index, reason });
                }
                None => {
                    self.chain_valid = index;
                    if header.is_commit() {
                        self.mx = index;
                        self.db_pages = header.commit_db_pages;
                        self.mx_checksum = header.stored_checksum();
                        self.commits.push(Commit {
                            number: self.commits.len() as u32 + 1,
                            frame: index,
                            first_frame: self.txn_start,
                            db_pages: header.commit_db_pages,
                        });
                        self.txn_start = index + 1;
                    }
                }
            }
        }
        self.frames.push(FrameRecord {
            index,
            header,
            salt_match,
            link_valid,
            state: FrameState::Invalid,
            generations_ago: None,
        });
    }

    /// Classify every frame and produce the analysis, keeping the scanner to feed more frames
    /// later (live refresh).
    pub fn finish(&self, file_len: u64, trailing_bytes: u64, problem: Option<HeaderProblem>) -> WalAnalysis {
        self.clone().into_analysis(file_len, trailing_bytes, problem)
    }

    /// Classify every frame and produce the analysis.
    pub fn into_analysis(self, file_len: u64, trailing_bytes: u64, problem: Option<HeaderProblem>) -> WalAnalysis {
        let mut frames = self.frames;
        for f in &mut frames {
            f.state = if f.index <= self.mx {
                FrameState::Committed
            } else if f.index <= self.chain_valid {
                FrameState::Uncommitted
            } else if self.accepted && !f.salt_match {
                match generations_ago(&self.header, f.header.salts()) {
                    Some(k) => {
                        f.generations_ago = Some(k);
                        FrameState::Stale
                    }
                    None => FrameState::Invalid,
                }
            } else {
                FrameState::Invalid
            };
        }
        WalAnalysis {
            file_len,
            header: Some(self.header),
            header_problem: problem,
            page_size: Some(self.header.page_size),
            frames_total: frames.len() as u64,
            trailing_bytes,
            frames,
            chain_valid_frames: self.chain_valid,
            valid_frames: self.mx,
            db_pages: self.db_pages,
            mx_checksum: self.mx_checksum,
            first_invalid: self.first_invalid,
            commits: self.commits,
            read_error: None,
            partial: None,
        }
    }
}

/// How [`analyze_wal_opts`] reads and verifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScanOptions {
    /// Worker threads (1 = the simple serial path).
    pub threads: usize,
    /// Use the serial checksum recurrence instead of the vectorised linear form.
    pub simple_checksum: bool,
    /// Bytes read and verified per task (rounded down to whole frames, at least one).
    pub task_bytes: u64,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self { threads: default_threads(), simple_checksum: false, task_bytes: 8 << 20 }
    }
}

impl ScanOptions {
    /// The simple path: one thread, the serial checksum.
    pub fn simple() -> Self {
        Self { threads: 1, simple_checksum: true, ..Self::default() }
    }
}

/// Below this many frames one thread does everything.
const PARALLEL_MIN_FRAMES: u64 = 2048;

/// Worker threads for validating large WALs: the machine's parallelism, at most 8.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).min(8)
}

/// Analyse a WAL through positioned reads of large frame-aligned blocks, verifying frames on
/// [`default_threads`] threads when the WAL is large.
pub fn analyze_wal<R: ReadAt + ?Sized>(r: &R, file_len: u64) -> WalAnalysis {
    analyze_wal_with(r, file_len, default_threads())
}

/// Analyse a WAL with `threads` workers (1 = the simple serial path). Every frame's per-link
/// facts depend only on its bytes and its predecessor's stored checksum, so ranges of frames are
/// verified independently and fed to the serial chain logic in order: the result is identical
/// for any number of threads.
pub fn analyze_wal_with<R: ReadAt + ?Sized>(r: &R, file_len: u64, threads: usize) -> WalAnalysis {
    analyze_wal_opts(r, file_len, ScanOptions { threads, ..ScanOptions::default() })
}

impl WalAnalysis {
    /// This analysis without its per-frame records and commits: the sizes, header and chain
    /// facts (what the lock probe and the environment assessment read; cheap to copy).
    pub fn summary(&self) -> WalAnalysis {
        WalAnalysis {
            file_len: self.file_len,
            header: self.header,
            header_problem: self.header_problem,
            page_size: self.page_size,
            frames_total: self.frames_total,
            trailing_bytes: self.trailing_bytes,
            frames: Vec::new(),
            chain_valid_frames: self.chain_valid_frames,
            valid_frames: self.valid_frames,
            db_pages: self.db_pages,
            mx_checksum: self.mx_checksum,
            first_invalid: self.first_invalid,
            commits: Vec::new(),
            read_error: self.read_error.clone(),
            partial: self.partial,
        }
    }
}

/// Analyse a WAL with explicit [`ScanOptions`]; every choice gives the same result.
pub fn analyze_wal_opts<R: ReadAt + ?Sized>(r: &R, file_len: u64, opts: ScanOptions) -> WalAnalysis {
    let mut head = [0u8; WAL_HEADER_LEN];
    let got = r.read_at_full(0, &mut head).unwrap_or(0);
    let header = WalHeader::parse(head.get(..got).unwrap_or(&[])).ok();
    let problem = header_problem(file_len, header.as_ref());
    let Some(h) = header else {
        return empty_analysis(file_len, None, problem);
    };
    let Some(frame_len) = h.frame_len() else {
        return empty_analysis(file_len, Some(h), problem);
    };
    let (frames_total, trailing) = frame_geometry(file_len, h.page_size);
    let mut scanner = WalScanner::new(h, problem.is_none());
    if opts.simple_checksum {
        scanner.use_simple_checksum();
    }
    let per_task = (opts.task_bytes / frame_len).max(1);
    scanner.frames.reserve(usize::try_from(frames_total.min(1 << 24)).unwrap_or(0));
    let read_error = if opts.threads > 1 && frames_total >= PARALLEL_MIN_FRAMES.min(per_task * 2) {
        scan_parallel(r, &mut scanner, frame_len, frames_total, per_task, opts.threads)
    } else {
        scan_serial(r, &mut scanner, frame_len, frames_total, per_task)
    };
    let mut a = scanner.into_analysis(file_len, trailing, problem);
    // A read that stopped short (the file shrank under a TRUNCATE or RESTART, or an I/O error)
    // analysed only the frames it read: the size reported is that extent, the one analysed,
    // and `read_error` says how far the planned read got.
    let read_to = a.frames_total.checked_mul(frame_len).and_then(|b| b.checked_add(WAL_HEADER_LEN as u64));
    if read_error.is_some()
        && let Some(read_to) = read_to.filter(|&t| t < file_len)
    {
        a.file_len = read_to;
        a.trailing_bytes = 0;
        a.read_error = read_error;
        return a;
    }
    a.read_error = read_error;
    a.partial = read_partial(r, &h, frames_total, frame_len, trailing);
    a
}

/// Read the partial frame after the last whole one (at most one frame's bytes).
fn read_partial<R: ReadAt + ?Sized>(
    r: &R,
    h: &WalHeader,
    frames_total: u64,
    frame_len: u64,
    trailing: u64,
) -> Option<PartialFrame> {
    if trailing == 0 || trailing >= frame_len {
        return None;
    }
    let off = (WAL_HEADER_LEN as u64).checked_add(frames_total.checked_mul(frame_len)?)?;
    let mut buf = vec![0u8; usize::try_from(trailing).ok()?];
    let n = r.read_at_full(off, &mut buf).ok()?;
    let buf = buf.get(..n)?;
    let header = crate::format::bytes::array_at::<FRAME_HEADER_LEN>(buf, 0).map(|b| FrameHeader::parse(&b));
    let salt_match = header.is_some_and(|fh| fh.salts() == h.salts());
    Some(PartialFrame {
        index: u32::try_from(frames_total).ok()?.checked_add(1)?,
        len: n as u64,
        header,
        all_zero: buf.iter().all(|&b| b == 0),
        salt_match,
        generations_ago: header.filter(|_| !salt_match).and_then(|fh| generations_ago(h, fh.salts())),
    })
}

/// Feed every frame of the file into a fresh `scanner` (no frame fed yet), on
/// [`default_threads`] threads when the WAL is large: the first scan of a live view. Returns
/// a read error when the file could not be read to its end.
pub fn scan_all<R: ReadAt + ?Sized>(
    r: &R,
    scanner: &mut WalScanner,
    frame_len: u64,
    frames_total: u64,
) -> Option<String> {
    let opts = ScanOptions::default();
    let per_task = (opts.task_bytes / frame_len).max(1);
    scanner.frames.reserve(usize::try_from(frames_total.min(1 << 24)).unwrap_or(0));
    if scanner.frames_seen() == 0 && opts.threads > 1 && frames_total >= PARALLEL_MIN_FRAMES {
        scan_parallel(r, scanner, frame_len, frames_total, per_task, opts.threads)
    } else {
        let mut buf = Vec::new();
        let mut error = None;
        let skip = u64::from(scanner.frames_seen());
        let off = WAL_HEADER_LEN as u64 + skip * frame_len;
        let mut seen = skip;
        let complete = visit_frames(r, &mut buf, off, frames_total.saturating_sub(skip), frame_len, &mut error, |f| {
            scanner.push(f);
            seen += 1;
        });
        error.or_else(|| (!complete).then(|| shrank(seen, frames_total)))
    }
}

fn shrank(read: u64, total: u64) -> String {
    format!("file shrank while reading: {read} of {total} frames read")
}

/// One thread, one reusable buffer.
fn scan_serial<R: ReadAt + ?Sized>(
    r: &R,
    scanner: &mut WalScanner,
    frame_len: u64,
    frames_total: u64,
    _per_task: u64,
) -> Option<String> {
    let mut buf = Vec::new();
    let mut error = None;
    let mut seen = 0u64;
    let complete = visit_frames(r, &mut buf, WAL_HEADER_LEN as u64, frames_total, frame_len, &mut error, |frame| {
        scanner.push(frame);
        seen += 1;
    });
    match error {
        Some(e) => Some(e),
        None if !complete => Some(shrank(seen, frames_total)),
        None => None,
    }
}

/// Bytes per positioned read: small enough that the copy and the checksum that follows stay in
/// the CPU's cache (a multi-megabyte buffer makes the kernel's copy the bottleneck).
const READ_BLOCK: u64 = 256 << 10;

/// Call `f` on each of the `n` whole frames starting at byte `off`: in place when the source
/// is in memory, else through `buf`, filled by positioned reads of about [`READ_BLOCK`] bytes.
/// Returns false when the source ended early (the file shrank); sets `error` on an I/O error.
fn visit_frames<R: ReadAt + ?Sized>(
    r: &R,
    buf: &mut Vec<u8>,
    off: u64,
    n: u64,
    frame_len: u64,
    error: &mut Option<String>,
    mut f: impl FnMut(&[u8]),
) -> bool {
    let fl = frame_len as usize;
    if let Some(all) = r.as_slice() {
        r.will_read(off, n * frame_len);
        let d = all.get(off as usize..).unwrap_or(&[]);
        let d = d.get(..(n * frame_len) as usize).unwrap_or(d);
        for frame in d.chunks_exact(fl) {
            f(frame);
        }
        return d.len() as u64 / frame_len == n;
    }
    let per_read = (READ_BLOCK / frame_len).max(1);
    if buf.len() < (per_read * frame_len) as usize {
        buf.resize((per_read * frame_len) as usize, 0);
    }
    let mut done = 0u64;
    while done < n {
        let k = per_read.min(n - done);
        let Some(dst) = buf.get_mut(..(k * frame_len) as usize) else { return false };
        let got = match r.read_at_full(off + done * frame_len, dst) {
            Ok(g) => g as u64,
            Err(e) => {
                *error = Some(e.to_string());
                return false;
            }
        };
        let whole = got / frame_len;
        for frame in dst.get(..(whole * frame_len) as usize).unwrap_or(&[]).chunks_exact(fl) {
            f(frame);
        }
        if whole < k {
            return false;
        }
        done += k;
    }
    true
}

/// The result of one task: the facts of its frames, and whether its read came up short.
struct TaskResult {
    facts: Vec<FrameFacts>,
    error: Option<String>,
}

/// Several threads, each reading and verifying whole tasks of ~8 MiB into its own buffer.
/// Tasks are handed out in order through an atomic counter; results are fed to the scanner in
/// frame order once all are done (memory: the facts, ~28 bytes a frame, plus one buffer per
/// thread).
fn scan_parallel<R: ReadAt + ?Sized>(
    r: &R,
    scanner: &mut WalScanner,
    frame_len: u64,
    frames_total: u64,
    per_task: u64,
    threads: usize,
) -> Option<String> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU64, Ordering};
    let tasks = frames_total.div_ceil(per_task);
    let ck = scanner.checksummer().clone();
    let first_seed = scanner.prev_stored();
    let next_task = AtomicU64::new(0);
    let results: Vec<Mutex<Option<TaskResult>>> = (0..tasks).map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..threads.min(tasks as usize).max(1) {
            s.spawn(|| {
                let mut buf = Vec::new();
                loop {
                    let t = next_task.fetch_add(1, Ordering::Relaxed);
                    if t >= tasks {
                        break;
                    }
                    let res = run_task(r, &mut buf, t, per_task, frame_len, frames_total, &ck, first_seed);
                    if let Some(slot) = results.get(t as usize)
                        && let Ok(mut g) = slot.lock()
                    {
                        *g = Some(res);
                    }
                }
            });
        }
    });
    let mut done = 0u64;
    for slot in results {
        let res = slot.into_inner().ok().flatten();
        let Some(res) = res else { return Some("internal: a validation task did not finish".into()) };
        done += res.facts.len() as u64;
        for f in res.facts {
            scanner.push_facts(f);
        }
        if let Some(e) = res.error {
            return Some(if e.is_empty() { shrank(done, frames_total) } else { e });
        }
    }
    None
}

#[allow(clippy::too_many_arguments)]
fn run_task<R: ReadAt + ?Sized>(
    r: &R,
    buf: &mut Vec<u8>,
    t: u64,
    per_task: u64,
    frame_len: u64,
    frames_total: u64,
    ck: &Checksummer,
    first_seed: [u32; 2],
) -> TaskResult {
    let first = t * per_task;
    let n = per_task.min(frames_total - first);
    let off = WAL_HEADER_LEN as u64 + first * frame_len;
    // The seed of the task's first frame: the previous frame's stored checksum.
    let mut seed = first_seed;
    if first > 0 {
        let mut prev = [0u8; 8];
        match r.read_at_full(off - frame_len + 16, &mut prev) {
            Ok(8) => {
                let [a, b, c, d, e, f, g, h] = prev;
                seed = [u32::from_be_bytes([a, b, c, d]), u32::from_be_bytes([e, f, g, h])];
            }
            Ok(_) => return TaskResult { facts: Vec::new(), error: Some(String::new()) },
            Err(e) => return TaskResult { facts: Vec::new(), error: Some(e.to_string()) },
        }
    }
    let mut facts = Vec::with_capacity(n as usize);
    let mut error = None;
    let complete = visit_frames(r, buf, off, n, frame_len, &mut error, |frame| {
        let f = frame_facts(ck, seed, frame);
        seed = f.header.stored_checksum();
        facts.push(f);
    });
    if !complete && error.is_none() {
        error = Some(String::new());
    }
    TaskResult { facts, error }
}

/// Analyse a WAL held in memory.
pub fn analyze_wal_bytes(b: &[u8]) -> WalAnalysis {
    analyze_wal(b, b.len() as u64)
}

fn empty_analysis(file_len: u64, header: Option<WalHeader>, problem: Option<HeaderProblem>) -> WalAnalysis {
    WalAnalysis {
        file_len,
        header,
        header_problem: problem,
        page_size: None,
        frames_total: 0,
        trailing_bytes: file_len.saturating_sub(WAL_HEADER_LEN as u64),
        frames: Vec::new(),
        chain_valid_frames: 0,
        valid_frames: 0,
        db_pages: 0,
        mx_checksum: [0, 0],
        first_invalid: None,
        commits: Vec::new(),
        read_error: None,
        partial: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::wal::WAL_MAGIC_LE;
    use crate::format::wal_checksum;

    /// A WAL of `pages` (page size 512), committing at every frame listed in `commits`.
    fn build(pages: &[u32], commits: &[usize]) -> Vec<u8> {
        let order = WordOrder::Little;
        let mut w = Vec::new();
        for v in [WAL_MAGIC_LE, WAL_VERSION, 512, 0, 7, 9] {
            w.extend_from_slice(&v.to_be_bytes());
        }
        let c = wal_checksum(order, &w, [0, 0]);
        w.extend_from_slice(&c[0].to_be_bytes());
        w.extend_from_slice(&c[1].to_be_bytes());
        let mut prev = c;
        for (i, &p) in pages.iter().enumerate() {
            let mut f = vec![0u8; 24 + 512];
            f[..4].copy_from_slice(&p.to_be_bytes());
            if commits.contains(&(i + 1)) {
                f[4..8].copy_from_slice(&(i as u32 + 1).to_be_bytes());
            }
            f[8..12].copy_from_slice(&7u32.to_be_bytes());
            f[12..16].copy_from_slice(&9u32.to_be_bytes());
            f[24..].fill(i as u8);
            let c = frame_checksum(order, prev, &f);
            f[16..20].copy_from_slice(&c[0].to_be_bytes());
            f[20..24].copy_from_slice(&c[1].to_be_bytes());
            prev = c;
            w.extend_from_slice(&f);
        }
        w
    }

    #[test]
    fn rewind_then_refeed_equals_a_full_scan() {
        let wal = build(&[1, 2, 3, 2, 4, 1], &[2, 4]);
        let full = analyze_wal_bytes(&wal);
        assert_eq!((full.valid_frames, full.chain_valid_frames, full.commits.len()), (4, 6, 2));
        let h = WalHeader::parse(&wal).unwrap();
        let frames: Vec<&[u8]> = wal[32..].chunks_exact(536).collect();
        let mut s = WalScanner::new(h, true);
        frames.iter().for_each(|f| s.push(f));
        for to in 0..=6u32 {
            let mut r = s.clone();
            assert!(r.rewind(to));
            assert_eq!(r.frames_seen(), to);
            for i in to..6 {
                if i % 2 == 0 { r.push(frames[i as usize]) } else { r.push_known(s.record(i + 1).unwrap()) }
            }
            assert_eq!(r.finish(wal.len() as u64, 0, None), full, "rewound to {to}");
        }
        // Not beyond the chain-valid prefix.
        let broken = {
            let mut b = wal.clone();
            b[32 + 536 * 2 + 30] ^= 1;
            b
        };
        let mut s = WalScanner::new(h, true);
        broken[32..].chunks_exact(536).for_each(|f| s.push(f));
        assert_eq!(s.chain_valid_frames(), 2);
        assert!(!s.clone().rewind(3));
        assert!(s.rewind(1));
        assert_eq!((s.valid_frames(), s.header().salt1), (0, 7));
    }
}
