//! Rebuild the wal-index (`-shm`) the way SQLite's recovery does (`walIndexRecover`,
//! `walIndexAppend`, `walIndexWriteHdr` in `src/wal.c`).
//!
//! What recovery writes, and so what this writes:
//! - the header (both copies, identical): version 3007000, iChange 0, isInit 1, bigEndCksum =
//!   the WAL magic's low bit, szPage (set only when a commit was found, else 0), mxFrame, nPage,
//!   the running checksum at mxFrame ((0, 0) without a commit), the WAL header's salts as raw
//!   bytes, and the header checksum in native word order. When the WAL is too short, has a bad
//!   magic or page size, every field but version/isInit/checksum is 0; with a bad header
//!   checksum the salts and bigEndCksum are still recorded (recovery copies them first);
//! - the checkpoint info: nBackfill 0, aReadMark = [0, mxFrame (or unused when 0), unused ×3],
//!   nBackfillAttempted = mxFrame; the lock bytes and notUsed0 stay 0;
//! - the hash segments: every frame of the chain-valid prefix, committed or not, in order;
//! - one 32 KiB segment per segment recovery visits: up to the one holding the first frame it
//!   rejects (or the last frame in the file), at least one.
//!
//! One quirk is reproduced: recovery builds each segment in a private buffer and copies it whole
//! into the -shm, so when the frame that ends the valid prefix is the *first* of its segment,
//! that segment receives the buffer's previous contents — a copy of the segment before (whose
//! first 136 bytes are never written for segment 0) or, for segment 0 itself, memory that was
//! never written. Bytes SQLite leaves unspecified are written as zeros and listed in
//! [`RebuiltIndex::unspecified`].

use super::{FrameRun, IgnoredReason, RepairError, push_run};
use crate::analysis::wal::{FrameState, HeaderProblem, WalAnalysis};
use crate::format::shm::{
    CheckpointInfo, HeaderFields, INDEX_HEADER_LEN, N_READERS, NPAGE, NPAGE_ONE, READMARK_NOT_USED, SEGMENT_LEN,
    SHM_HEADER_LEN, ShmEndian, WalIndexHeader, frame_segment, index_append,
};

/// What the WAL contributed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WalUse {
    /// No `-wal` file: recovery finds an empty log.
    Absent,
    /// The whole WAL is ignored by recovery for this reason.
    Ignored(HeaderProblem),
    /// The header was accepted and frames were read.
    Read,
}

/// The rebuilt -shm and what went into it.
#[derive(Clone, Debug)]
pub struct RebuiltIndex {
    /// The file's bytes: 32 KiB × `segments`.
    pub bytes: Vec<u8>,
    pub endian: ShmEndian,
    /// The header as written (both copies are this).
    pub header: WalIndexHeader,
    pub ckpt: CheckpointInfo,
    pub segments: u32,
    pub wal_use: WalUse,
    /// Frames entered into the hash tables (the chain-valid prefix).
    pub frames_indexed: u32,
    /// mxFrame.
    pub mx_frame: u32,
    /// Valid frames after mxFrame that are indexed too.
    pub uncommitted_indexed: u32,
    /// Frames in the file that recovery does not index, and why.
    pub frames_ignored: Vec<FrameRun>,
    /// `(to, from)`: segment `to` holds a copy of segment `from` (the quirk described above).
    pub copied_segment: Option<(u32, u32)>,
    /// Byte ranges `(offset, len)` where SQLite copies memory it never wrote; zeros here.
    pub unspecified: Vec<(u64, u64)>,
}

/// Rebuild the -shm SQLite's recovery would write for this WAL (`None`: no `-wal` file), with
/// integers in `endian` (SQLite uses the host's order).
pub fn rebuild_index(wal: Option<&WalAnalysis>, endian: ShmEndian) -> Result<RebuiltIndex, RepairError> {
    let mut fields = HeaderFields::default();
    let mut mx = 0u32;
    let mut indexed = 0u32;
    let mut segments = 1u32;
    let mut wal_use = WalUse::Absent;
    let mut frames_ignored = Vec::new();
    if let Some(w) = wal {
        if let Some(e) = &w.read_error {
            return Err(RepairError::Input(format!("the -wal could not be read whole: {e}")));
        }
        wal_use = match w.header_problem {
            Some(p) => WalUse::Ignored(p),
            None => WalUse::Read,
        };
        if w.header_problem == Some(HeaderProblem::BadVersion) {
            let v = w.header.map_or(0, |h| h.format_version);
            return Err(RepairError::Input(format!(
                "the -wal's format version is {v}, not 3007000: SQLite's recovery refuses it (the database cannot be opened), \
                 so there is no index to rebuild"
            )));
        }
        // Recovery records bigEndCksum and the salts once magic and page size pass, before it
        // checks the header checksum.
        if let Some(h) = w.header.filter(|h| w.file_len > 32 && h.magic_ok() && h.page_size_ok()) {
            fields.big_endian_checksum = (h.magic & 1) as u8;
            fields.salts = [h.salt1, h.salt2];
        }
        if w.header_problem.is_none() {
            indexed = w.chain_valid_frames;
            mx = w.valid_frames;
            let page_size = w.page_size.unwrap_or(0);
            if mx > 0 {
                fields.page_size_raw = ((page_size & 0xff00) | (page_size >> 16)) as u16;
                fields.mx_frame = mx;
                fields.db_pages = w.db_pages;
                fields.frame_checksum = w.mx_checksum;
            }
            // The last frame recovery reads: the one after the valid prefix, if the file has it.
            let in_file = u32::try_from(w.frames_total).unwrap_or(u32::MAX);
            let last_read = if indexed < in_file { indexed + 1 } else { in_file };
            segments = frame_segment(last_read) + 1;
        }
        for f in &w.frames {
            let reason = match f.state {
                FrameState::Committed | FrameState::Uncommitted if w.header_problem.is_none() => {
                    continue;
                }
                FrameState::Stale => IgnoredReason::Stale,
                _ => IgnoredReason::Invalid,
            };
            push_run(&mut frames_ignored, f.index, reason);
        }
    }
    // iVersion 3007000, iChange 0, isInit 1, and the checksum (`walIndexWriteHdr`).
    let hdr = WalIndexHeader::from_fields(fields).sealed(endian).raw;

    let len =
        (segments as usize).checked_mul(SEGMENT_LEN).ok_or_else(|| RepairError::Input("index too large".into()))?;
    let mut bytes = vec![0u8; len];
    let too_short = || RepairError::Input("index too short for its header".into());
    bytes.get_mut(..INDEX_HEADER_LEN).ok_or_else(too_short)?.copy_from_slice(&hdr);
    bytes.get_mut(INDEX_HEADER_LEN..2 * INDEX_HEADER_LEN).ok_or_else(too_short)?.copy_from_slice(&hdr);
    let read_marks: [u32; N_READERS] =
        [0, if mx > 0 { mx } else { READMARK_NOT_USED }, READMARK_NOT_USED, READMARK_NOT_USED, READMARK_NOT_USED];
    let ckpt = CheckpointInfo { backfill: 0, read_marks, lock_bytes: [0; 8], backfill_attempted: mx, not_used0: 0 };
    ckpt.encode_into(&mut bytes, endian).ok_or_else(too_short)?;

    if let Some(w) = wal.filter(|w| w.header_problem.is_none()) {
        for f in w.frames.iter().take(indexed as usize) {
            index_append(&mut bytes, endian, f.index, f.header.page).map_err(|e| RepairError::Input(e.to_string()))?;
        }
    }
    let mut copied_segment = None;
    let mut unspecified = Vec::new();
    if let Some(w) = wal.filter(|w| w.header_problem.is_none() && w.file_len > 32) {
        // The segment recovery stopped in received its private buffer unchanged when no frame
        // of it was valid.
        let stop = indexed.saturating_add(1);
        let k = frame_segment(stop);
        let first_of_k = if k == 0 { 1 } else { NPAGE_ONE + (k - 1) * NPAGE + 1 };
        let frames_in_file = u32::try_from(w.frames_total).unwrap_or(u32::MAX);
        let stopped_here = k + 1 == segments && stop == first_of_k;
        if stopped_here && k == 0 {
            unspecified.push((SHM_HEADER_LEN as u64, (SEGMENT_LEN - SHM_HEADER_LEN) as u64));
        } else if stopped_here && stop <= frames_in_file {
            let (to, from) = (k as usize * SEGMENT_LEN, (k as usize - 1) * SEGMENT_LEN);
            // `k + 1 == segments`, so both segments lie inside `bytes`; checked all the same.
            if to.checked_add(SEGMENT_LEN).is_none_or(|end| end > bytes.len()) {
                return Err(RepairError::Input("index too short for its last segment".into()));
            }
            bytes.copy_within(from..from + SEGMENT_LEN, to);
            if k == 1 {
                if let Some(b) = bytes.get_mut(to..to + SHM_HEADER_LEN) {
                    b.fill(0);
                }
                unspecified.push((to as u64, SHM_HEADER_LEN as u64));
            }
            copied_segment = Some((k, k - 1));
        }
    }
    let header = WalIndexHeader::parse(&bytes, endian).map_err(|e| RepairError::Input(e.to_string()))?;
    let ckpt = CheckpointInfo::parse(&bytes, endian).map_err(|e| RepairError::Input(e.to_string()))?;
    Ok(RebuiltIndex {
        bytes,
        endian,
        header,
        ckpt,
        segments,
        wal_use,
        frames_indexed: indexed,
        mx_frame: mx,
        uncommitted_indexed: indexed.saturating_sub(mx),
        frames_ignored,
        copied_segment,
        unspecified,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::shm::analyze_shm;
    use crate::analysis::wal::analyze_wal_bytes;
    use crate::format::checksum::{WordOrder, wal_checksum};
    use crate::format::wal::frame_checksum;

    /// A WAL with `pages` frames (page numbers as given; commit after each `commit_every`).
    fn wal(pages: &[u32], commit_every: usize, order: WordOrder) -> Vec<u8> {
        let ps = 512u32;
        let mut w = vec![0u8; 32];
        let magic: u32 = if order == WordOrder::Big { 0x377f_0683 } else { 0x377f_0682 };
        w[0..4].copy_from_slice(&magic.to_be_bytes());
        w[4..8].copy_from_slice(&3_007_000u32.to_be_bytes());
        w[8..12].copy_from_slice(&ps.to_be_bytes());
        w[16..20].copy_from_slice(&0x1122_3344u32.to_be_bytes());
        w[20..24].copy_from_slice(&0x5566_7788u32.to_be_bytes());
        let c = wal_checksum(order, &w[..24], [0, 0]);
        w[24..28].copy_from_slice(&c[0].to_be_bytes());
        w[28..32].copy_from_slice(&c[1].to_be_bytes());
        let mut seed = c;
        for (i, &p) in pages.iter().enumerate() {
            let mut f = vec![0u8; 24 + ps as usize];
            f[0..4].copy_from_slice(&p.to_be_bytes());
            if (i + 1) % commit_every == 0 {
                f[4..8].copy_from_slice(&9u32.to_be_bytes());
            }
            f[8..16].copy_from_slice(&w[16..24]);
            f[30] = i as u8;
            seed = frame_checksum(order, seed, &f);
            f[16..20].copy_from_slice(&seed[0].to_be_bytes());
            f[20..24].copy_from_slice(&seed[1].to_be_bytes());
            w.extend_from_slice(&f);
        }
        w
    }

    #[test]
    fn rebuilt_index_is_consistent_with_our_own_checker() {
        let pages: Vec<u32> = (0..9000).map(|i| (i % 37) + 1).collect();
        let w = analyze_wal_bytes(&wal(&pages, 10, WordOrder::Little));
        let r = rebuild_index(Some(&w), ShmEndian::Little).unwrap();
        assert_eq!(r.segments, 3);
        assert_eq!(r.bytes.len(), 3 * SEGMENT_LEN);
        assert_eq!(r.mx_frame, 9000);
        let a = analyze_shm(&r.bytes, Some(&w));
        assert!(a.trusted_header().is_some());
        assert_eq!(a.mismatch_count, 0);
        assert_eq!(a.hash_errors, 0);
        assert_eq!(a.entries_beyond_mx_frame, 0);
        assert_eq!(r.header.page_size(), 512);
        assert_eq!(r.ckpt.read_marks, [0, 9000, READMARK_NOT_USED, READMARK_NOT_USED, READMARK_NOT_USED]);
        assert_eq!(r.ckpt.backfill_attempted, 9000);
    }

    #[test]
    fn uncommitted_frames_are_indexed_and_size_stays_unset_without_commit() {
        let w = analyze_wal_bytes(&wal(&[1, 2, 3], 100, WordOrder::Big));
        let r = rebuild_index(Some(&w), ShmEndian::Little).unwrap();
        assert_eq!((r.mx_frame, r.frames_indexed, r.uncommitted_indexed), (0, 3, 3));
        assert_eq!(r.header.page_size_raw, 0);
        assert_eq!(r.header.big_endian_checksum, 1);
        assert_eq!(r.header.salts(), [0x1122_3344, 0x5566_7788]);
        assert_eq!(r.ckpt.read_marks[1], READMARK_NOT_USED);
        let a = analyze_shm(&r.bytes, Some(&w));
        assert_eq!(a.entries_beyond_mx_frame, 3);
    }

    #[test]
    fn no_wal_gives_one_empty_segment() {
        let r = rebuild_index(None, ShmEndian::Little).unwrap();
        assert_eq!(r.bytes.len(), SEGMENT_LEN);
        assert!(r.bytes[136..].iter().all(|&b| b == 0));
        assert_eq!(r.header.is_init, 1);
        assert!(r.header.checksum_valid(ShmEndian::Little));
    }

    #[test]
    fn break_at_a_segment_start_copies_the_previous_segment() {
        let pages: Vec<u32> = (0..4070).map(|i| (i % 50) + 1).collect();
        let mut b = wal(&pages, 2, WordOrder::Little);
        let off = 32 + 4062 * (512 + 24) + 100; // inside frame 4063
        b[off] ^= 1;
        let w = analyze_wal_bytes(&b);
        assert_eq!(w.chain_valid_frames, 4062);
        let r = rebuild_index(Some(&w), ShmEndian::Little).unwrap();
        assert_eq!(r.segments, 2);
        assert_eq!(r.copied_segment, Some((1, 0)));
        assert_eq!(r.bytes[SEGMENT_LEN + 136..], r.bytes[136..SEGMENT_LEN]);
        assert_eq!(r.unspecified, vec![(SEGMENT_LEN as u64, 136)]);
    }
}
