//! The wal-index (`-shm`) decoded and checked against the WAL.

use crate::format::shm::{
    CheckpointInfo, HashSegment, INDEX_HEADER_LEN, NSLOT, SHM_HEADER_LEN, ShmEndian, WalIndexHeader, hash_slot,
};

use super::wal::{FrameState, WalAnalysis};

/// At most this many individual index disagreements are kept (the count is always exact).
pub const MAX_LISTED_MISMATCHES: usize = 1000;

/// What is wrong with one aPgno entry compared with the WAL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MismatchKind {
    /// The index names a page the WAL frame does not hold.
    WrongPage,
    /// The index names a frame the WAL file does not contain at all.
    NoSuchFrame,
    /// A frame at or below mxFrame has no entry in the index.
    Missing,
    /// The entry is in aPgno but no hash slot leads to it.
    Unhashed,
}

impl MismatchKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::WrongPage => "wrong_page",
            Self::NoSuchFrame => "no_such_frame",
            Self::Missing => "missing",
            Self::Unhashed => "unhashed",
        }
    }
}

/// One disagreement between the index and the WAL, for a frame ≤ mxFrame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexMismatch {
    pub frame: u32,
    pub segment: u32,
    pub kind: MismatchKind,
    /// Page number the index records (0 = none).
    pub shm_page: u32,
    /// Page number of the WAL frame, when the WAL has that frame.
    pub wal_page: Option<u32>,
}

/// One hash-table segment's summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentSummary {
    pub index: u32,
    pub first_frame: u32,
    pub last_frame: u32,
    /// Non-zero aPgno entries.
    pub entries: u32,
    /// Non-zero hash slots.
    pub hash_entries: u32,
    /// Entries for frames above the index's mxFrame.
    pub entries_beyond_mx_frame: u32,
    /// Those of them that match a valid uncommitted WAL frame.
    pub beyond_uncommitted: u32,
    /// Those of them that match nothing valid (crashed writer, longer earlier WAL).
    pub beyond_other: u32,
    /// Disagreements with the WAL for frames ≤ mxFrame (all kinds).
    pub mismatches: u32,
    /// Hash slots that are out of range, point to an empty aPgno entry, or cannot be reached
    /// by probing from their page's hash slot.
    pub hash_errors: u32,
}

/// Everything known about a -shm file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShmAnalysis {
    pub file_len: u64,
    pub endian: ShmEndian,
    /// The two header copies (None when the file is shorter than 96 bytes).
    pub headers: Option<[WalIndexHeader; 2]>,
    pub checksum_valid: [bool; 2],
    pub headers_identical: bool,
    /// Checkpoint info (None when the file is shorter than 136 bytes).
    pub ckpt: Option<CheckpointInfo>,
    /// Which header copy the index checks used (0 or 1), if any was usable.
    pub reference_header: Option<usize>,
    pub segments: Vec<SegmentSummary>,
    pub mismatches: Vec<IndexMismatch>,
    /// Disagreements for frames ≤ mxFrame, except entries naming frames the WAL does not have
    /// (those are counted in `entries_beyond_wal`: the index is ahead of the WAL).
    pub mismatch_count: u64,
    /// Entries for frames ≤ mxFrame that the WAL file does not contain at all.
    pub entries_beyond_wal: u64,
    pub entries_beyond_mx_frame: u64,
    pub hash_errors: u64,
    /// Set when the file could not be read whole.
    pub read_error: Option<String>,
}

impl ShmAnalysis {
    /// The header copy SQLite would trust: copy 0 when both copies are identical, initialised
    /// and their checksum verifies.
    pub fn trusted_header(&self) -> Option<&WalIndexHeader> {
        let h = self.headers.as_ref()?;
        (self.headers_identical && self.checksum_valid[0] && h[0].is_init != 0).then_some(&h[0])
    }
    /// The header used for the index checks.
    pub fn reference(&self) -> Option<&WalIndexHeader> {
        self.headers.as_ref().zip(self.reference_header).and_then(|(h, i)| h.get(i))
    }
}

/// Decode a -shm held in memory and check its index against `wal` (when there is one).
pub fn analyze_shm(shm: &[u8], wal: Option<&WalAnalysis>) -> ShmAnalysis {
    let endian = ShmEndian::detect(shm);
    let headers = match (
        shm.get(..INDEX_HEADER_LEN).map(|b| WalIndexHeader::parse(b, endian)),
        shm.get(INDEX_HEADER_LEN..2 * INDEX_HEADER_LEN).map(|b| WalIndexHeader::parse(b, endian)),
    ) {
        (Some(Ok(a)), Some(Ok(b))) => Some([a, b]),
        _ => None,
    };
    let checksum_valid = headers.map_or([false, false], |h| [h[0].checksum_valid(endian), h[1].checksum_valid(endian)]);
    let headers_identical = headers.is_some_and(|h| h[0].raw == h[1].raw);
    let ckpt = (shm.len() >= SHM_HEADER_LEN).then(|| CheckpointInfo::parse(shm, endian).ok()).flatten();
    // Use copy 0 when it is sound; else copy 1 (written first, so the newer one after a
    // crash) when it is sound; else none.
    let sound = |i: usize| {
        headers.is_some_and(|h| h.get(i).is_some_and(|x| x.is_init != 0) && checksum_valid.get(i) == Some(&true))
    };
    let reference_header = if sound(0) && (headers_identical || !sound(1)) {
        Some(0)
    } else if sound(1) {
        Some(1)
    } else {
        None
    };
    let mut a = ShmAnalysis {
        file_len: shm.len() as u64,
        endian,
        headers,
        checksum_valid,
        headers_identical,
        ckpt,
        reference_header,
        segments: Vec::new(),
        mismatches: Vec::new(),
        mismatch_count: 0,
        entries_beyond_wal: 0,
        entries_beyond_mx_frame: 0,
        hash_errors: 0,
        read_error: None,
    };
    let mx = a.reference().map_or(0, |h| h.mx_frame);
    for k in 0..HashSegment::count(shm.len()) {
        let Some(seg) = HashSegment::get(shm, k, endian) else { break };
        let s = check_segment(&seg, mx, wal, &mut a);
        a.entries_beyond_mx_frame += u64::from(s.entries_beyond_mx_frame);
        a.hash_errors += u64::from(s.hash_errors);
        a.segments.push(s);
    }
    // Frames ≤ mxFrame whose segment is not even in the file are missing too.
    let covered = a.segments.last().map_or(0, |s| s.last_frame);
    if mx > covered {
        let missing = mx - covered;
        a.mismatch_count += u64::from(missing);
        for frame in covered + 1..=mx {
            if a.mismatches.len() >= MAX_LISTED_MISMATCHES {
                break;
            }
            a.mismatches.push(IndexMismatch {
                frame,
                segment: crate::format::shm::frame_segment(frame),
                kind: MismatchKind::Missing,
                shm_page: 0,
                wal_page: wal.and_then(|w| w.frame(frame)).map(|f| f.header.page),
            });
        }
    }
    a
}

fn check_segment(seg: &HashSegment<'_>, mx: u32, wal: Option<&WalAnalysis>, a: &mut ShmAnalysis) -> SegmentSummary {
    let (first_frame, last_frame) = seg.frame_range();
    let mut s = SegmentSummary {
        index: seg.index,
        first_frame,
        last_frame,
        entries: 0,
        hash_entries: 0,
        entries_beyond_mx_frame: 0,
        beyond_uncommitted: 0,
        beyond_other: 0,
        mismatches: 0,
        hash_errors: 0,
    };
    // Which aPgno slots some hash slot reaches (index 0 unused; 1-based).
    let mut hashed = vec![false; seg.capacity as usize + 1];
    let slots: Vec<u16> = (0..NSLOT).map(|i| seg.hash(i)).collect();
    // back_run[i]: how many consecutive non-empty slots lie just before slot i (cyclically).
    // An entry at slot i whose page hashes to h is reachable by linear probing exactly when no
    // empty slot lies in h..i, i.e. when the distance from h to i is at most back_run[i].
    // Linear time even for a table with no empty slot at all.
    let mut back_run = vec![NSLOT; NSLOT];
    if let Some(empty) = slots.iter().position(|&v| v == 0) {
        let mut run = 0usize;
        for k in 1..=NSLOT {
            let i = (empty + k) & (NSLOT - 1);
            if let Some(b) = back_run.get_mut(i) {
                *b = run;
            }
            run = if slots.get(i).copied().unwrap_or(0) != 0 { run + 1 } else { 0 };
        }
    }
    for (slot, &v) in slots.iter().enumerate() {
        if v == 0 {
            continue;
        }
        s.hash_entries += 1;
        let v32 = u32::from(v);
        if v32 > seg.capacity {
            s.hash_errors += 1;
            continue;
        }
        let page = seg.page(v32);
        if page == 0 {
            s.hash_errors += 1;
            continue;
        }
        let dist = slot.wrapping_sub(hash_slot(page)) & (NSLOT - 1);
        if dist <= back_run.get(slot).copied().unwrap_or(0) {
            if let Some(h) = hashed.get_mut(v as usize) {
                *h = true;
            }
        } else {
            s.hash_errors += 1;
        }
    }
    let push = |a: &mut ShmAnalysis, s: &mut SegmentSummary, m: IndexMismatch| {
        s.mismatches += 1;
        if m.kind == MismatchKind::NoSuchFrame {
            a.entries_beyond_wal += 1;
        } else {
            a.mismatch_count += 1;
        }
        if a.mismatches.len() < MAX_LISTED_MISMATCHES {
            a.mismatches.push(m);
        }
    };
    for idx in 1..=seg.capacity {
        let frame = seg.i_zero + idx;
        let page = seg.page(idx);
        let wal_frame = wal.and_then(|w| w.frame(frame));
        let wal_page = wal_frame.map(|f| f.header.page);
        if page == 0 {
            if frame <= mx {
                push(
                    a,
                    &mut s,
                    IndexMismatch { frame, segment: seg.index, kind: MismatchKind::Missing, shm_page: 0, wal_page },
                );
            }
            continue;
        }
        s.entries += 1;
        if frame > mx {
            s.entries_beyond_mx_frame += 1;
            let uncommitted = wal_frame.is_some_and(|f| f.state == FrameState::Uncommitted && f.header.page == page);
            if uncommitted {
                s.beyond_uncommitted += 1;
            } else {
                s.beyond_other += 1;
            }
            continue;
        }
        let kind = match wal_frame {
            None => Some(MismatchKind::NoSuchFrame),
            Some(f) if f.header.page != page => Some(MismatchKind::WrongPage),
            Some(_) if !hashed.get(idx as usize).copied().unwrap_or(false) => Some(MismatchKind::Unhashed),
            Some(_) => None,
        };
        if let Some(kind) = kind {
            push(a, &mut s, IndexMismatch { frame, segment: seg.index, kind, shm_page: page, wal_page });
        }
    }
    s
}
