//! The wal-index (`-shm`): two copies of `WalIndexHdr`, `WalCkptInfo`, and hash-table
//! segments (`src/wal.c`).
//!
//! ```text
//! 0      48      96         100         120     128                  136
//! | hdr0 | hdr1  | nBackfill | aReadMark[5] | aLock[8] | nBackfillAttempted | notUsed0 | pgno_array...
//! segment 0: pgno_array[4062] at 136..16384, hash_array[8192] u16 at 16384..32768
//! segment k: pgno_array[4096] at k*32768, hash_array[8192] at k*32768+16384
//! ```
//! Integers are in the byte order of the host that wrote the file, except the salts, which are
//! a raw copy of WAL header bytes 16..24 (big-endian).

use super::bytes::array_at;
use super::checksum::{WordOrder, wal_checksum};
use super::error::ParseError;

/// Size of one wal-index segment (`WALINDEX_PGSZ`).
pub const SEGMENT_LEN: usize = 32768;
/// Length of one header copy.
pub const INDEX_HEADER_LEN: usize = 48;
/// Offset of the checkpoint info.
pub const CKPT_INFO_OFFSET: usize = 96;
/// Offset of the lock bytes.
pub const LOCK_OFFSET: usize = 120;
/// Length of the whole header area (`WALINDEX_HDR_SIZE`).
pub const SHM_HEADER_LEN: usize = 136;
/// Page-number slots in segment 0 (`HASHTABLE_NPAGE_ONE`).
pub const NPAGE_ONE: u32 = 4062;
/// Page-number slots in later segments (`HASHTABLE_NPAGE`).
pub const NPAGE: u32 = 4096;
/// Hash slots per segment (`HASHTABLE_NSLOT`).
pub const NSLOT: usize = 8192;
/// The hash multiplier (`HASHTABLE_HASH_1`).
pub const HASH_1: u32 = 383;
/// The wal-index version (`WALINDEX_MAX_VERSION`).
pub const INDEX_VERSION: u32 = 3_007_000;
/// Read mark meaning "slot unused" (`READMARK_NOT_USED`).
pub const READMARK_NOT_USED: u32 = 0xffff_ffff;
/// Number of reader slots.
pub const N_READERS: usize = 5;

/// Byte order of the -shm's integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShmEndian {
    Little,
    Big,
}

impl ShmEndian {
    /// The checksum word order matching this byte order.
    pub fn word_order(self) -> WordOrder {
        match self {
            Self::Little => WordOrder::Little,
            Self::Big => WordOrder::Big,
        }
    }
    /// Read a u32 at `off`, or `None` when short.
    #[inline]
    pub fn u32_at(self, b: &[u8], off: usize) -> Option<u32> {
        let a: [u8; 4] = array_at(b, off)?;
        Some(match self {
            Self::Little => u32::from_le_bytes(a),
            Self::Big => u32::from_be_bytes(a),
        })
    }
    /// Read a u16 at `off`, or `None` when short.
    #[inline]
    pub fn u16_at(self, b: &[u8], off: usize) -> Option<u16> {
        let a: [u8; 2] = array_at(b, off)?;
        Some(match self {
            Self::Little => u16::from_le_bytes(a),
            Self::Big => u16::from_be_bytes(a),
        })
    }
    /// Encode a u32 in this order.
    pub fn put_u32(self, v: u32) -> [u8; 4] {
        match self {
            Self::Little => v.to_le_bytes(),
            Self::Big => v.to_be_bytes(),
        }
    }
    /// The byte order of this machine.
    pub fn host() -> Self {
        if cfg!(target_endian = "big") { Self::Big } else { Self::Little }
    }
    /// Guess the order from the first header copy's version field: whichever order reads it as
    /// 3007000; the host order when neither does (zeroed or garbage header).
    pub fn detect(shm: &[u8]) -> Self {
        for e in [Self::host(), Self::Little, Self::Big] {
            if e.u32_at(shm, 0) == Some(INDEX_VERSION) || e.u32_at(shm, 48) == Some(INDEX_VERSION) {
                return e;
            }
        }
        Self::host()
    }
}

/// One copy of `WalIndexHdr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WalIndexHeader {
    pub raw: [u8; INDEX_HEADER_LEN],
    /// iVersion (3007000).
    pub version: u32,
    /// Padding, 0.
    pub unused: u32,
    /// iChange: +1 per commit.
    pub change: u32,
    /// isInit: 1 once written.
    pub is_init: u8,
    /// bigEndCksum: low bit of the WAL magic.
    pub big_endian_checksum: u8,
    /// szPage raw: 1 for 65536.
    pub page_size_raw: u16,
    /// mxFrame: last valid commit frame.
    pub mx_frame: u32,
    /// nPage: database size in pages at mxFrame.
    pub db_pages: u32,
    /// aFrameCksum: running WAL checksum at mxFrame.
    pub frame_checksum: [u32; 2],
    /// aSalt as the WAL header's big-endian values.
    pub salt1: u32,
    pub salt2: u32,
    /// aCksum: checksum of bytes 0..40 of this copy.
    pub checksum: [u32; 2],
}

impl WalIndexHeader {
    /// Decode one 48-byte copy.
    pub fn parse(b: &[u8], e: ShmEndian) -> Result<Self, ParseError> {
        let raw: [u8; INDEX_HEADER_LEN] = array_at(b, 0).ok_or(ParseError::truncated(0, INDEX_HEADER_LEN))?;
        let r = &raw[..];
        let u = |off| e.u32_at(r, off).unwrap_or(0);
        let salt = |off| array_at::<4>(r, off).map(u32::from_be_bytes).unwrap_or(0);
        Ok(Self {
            raw,
            version: u(0),
            unused: u(4),
            change: u(8),
            is_init: r.get(12).copied().unwrap_or(0),
            big_endian_checksum: r.get(13).copied().unwrap_or(0),
            page_size_raw: e.u16_at(r, 14).unwrap_or(0),
            mx_frame: u(16),
            db_pages: u(20),
            frame_checksum: [u(24), u(28)],
            salt1: salt(32),
            salt2: salt(36),
            checksum: [u(40), u(44)],
        })
    }

    /// The page size decoded as SQLite does: `(v & 0xfe00) + ((v & 1) << 16)`.
    pub fn page_size(&self) -> u32 {
        let v = u32::from(self.page_size_raw);
        (v & 0xfe00) + ((v & 1) << 16)
    }

    /// The checksum of bytes 0..40 in the given order, from (0, 0).
    pub fn computed_checksum(&self, e: ShmEndian) -> [u32; 2] {
        wal_checksum(e.word_order(), self.raw.get(..40).unwrap_or(&[]), [0, 0])
    }

    /// True when the stored checksum matches.
    pub fn checksum_valid(&self, e: ShmEndian) -> bool {
        self.computed_checksum(e) == self.checksum
    }

    pub fn salts(&self) -> [u32; 2] {
        [self.salt1, self.salt2]
    }
}

/// `WalCkptInfo`, at offset 96.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckpointInfo {
    /// nBackfill: frames already copied into the database file.
    pub backfill: u32,
    /// aReadMark[0..5].
    pub read_marks: [u32; N_READERS],
    /// `aLock[8]`: the bytes the OS locks sit on (contents meaningless, normally 0).
    pub lock_bytes: [u8; 8],
    /// nBackfillAttempted.
    pub backfill_attempted: u32,
    /// notUsed0.
    pub not_used0: u32,
}

impl CheckpointInfo {
    /// Decode from the start of the -shm (needs 136 bytes).
    pub fn parse(shm: &[u8], e: ShmEndian) -> Result<Self, ParseError> {
        if shm.len() < SHM_HEADER_LEN {
            return Err(ParseError::truncated(CKPT_INFO_OFFSET as u64, SHM_HEADER_LEN - CKPT_INFO_OFFSET));
        }
        let u = |off| e.u32_at(shm, off).unwrap_or(0);
        let mut read_marks = [0u32; N_READERS];
        for (i, m) in read_marks.iter_mut().enumerate() {
            *m = u(100 + 4 * i);
        }
        Ok(Self {
            backfill: u(96),
            read_marks,
            lock_bytes: array_at(shm, LOCK_OFFSET).unwrap_or([0; 8]),
            backfill_attempted: u(128),
            not_used0: u(132),
        })
    }
}

/// The hash slot a page number starts probing from: `(page * 383) & 8191`.
#[inline]
pub fn hash_slot(page: u32) -> usize {
    (page.wrapping_mul(HASH_1) as usize) & (NSLOT - 1)
}

/// Index of the segment holding 1-based frame `frame` (`walFramePage`).
#[inline]
pub fn frame_segment(frame: u32) -> u32 {
    ((u64::from(frame) + u64::from(NPAGE) - u64::from(NPAGE_ONE) - 1) / u64::from(NPAGE)) as u32
}

/// Number of segments needed to index `frames` frames.
pub fn segments_for_frames(frames: u32) -> u32 {
    if frames == 0 { 0 } else { frame_segment(frames) + 1 }
}

/// A view of one hash-table segment.
#[derive(Clone, Copy, Debug)]
pub struct HashSegment<'a> {
    /// Segment number (0-based).
    pub index: u32,
    /// Frame number just before the first frame this segment covers.
    pub i_zero: u32,
    /// Page-number slots (4062 in segment 0, else 4096).
    pub capacity: u32,
    pgno_array: &'a [u8],
    hash_array: &'a [u8],
    endian: ShmEndian,
}

impl<'a> HashSegment<'a> {
    /// The view of segment `k`, or `None` when the -shm is too short to hold it whole.
    pub fn get(shm: &'a [u8], k: u32, endian: ShmEndian) -> Option<Self> {
        let base = (k as usize).checked_mul(SEGMENT_LEN)?;
        let seg = shm.get(base..base.checked_add(SEGMENT_LEN)?)?;
        let (pgno_start, capacity, i_zero) =
            if k == 0 { (SHM_HEADER_LEN, NPAGE_ONE, 0) } else { (0, NPAGE, NPAGE_ONE + (k - 1).saturating_mul(NPAGE)) };
        let pgno_array = seg.get(pgno_start..SEGMENT_LEN / 2)?;
        let hash_array = seg.get(SEGMENT_LEN / 2..)?;
        Some(Self { index: k, i_zero, capacity, pgno_array, hash_array, endian })
    }

    /// Number of whole segments present in a -shm of this length.
    pub fn count(shm_len: usize) -> u32 {
        u32::try_from(shm_len / SEGMENT_LEN).unwrap_or(u32::MAX)
    }

    /// Page number recorded for 1-based slot `idx` (frame `i_zero + idx`); 0 = unused.
    #[inline]
    pub fn page(&self, idx: u32) -> u32 {
        let off = (idx as usize).wrapping_sub(1).wrapping_mul(4);
        self.endian.u32_at(self.pgno_array, off).unwrap_or(0)
    }

    /// Value of hash slot `slot` (a 1-based index into pgno_array; 0 = empty).
    #[inline]
    pub fn hash(&self, slot: usize) -> u16 {
        self.endian.u16_at(self.hash_array, slot.wrapping_mul(2)).unwrap_or(0)
    }

    /// First and last frame numbers this segment can hold.
    pub fn frame_range(&self) -> (u32, u32) {
        (self.i_zero.saturating_add(1), self.i_zero.saturating_add(self.capacity))
    }

    /// Look up the newest frame for `page` among frames in `min_frame..=max_frame` in this
    /// segment, probing as `walFindFrame` does. Bounded: at most NSLOT probes.
    pub fn find(&self, page: u32, min_frame: u32, max_frame: u32) -> Option<u32> {
        let mut slot = hash_slot(page);
        let mut best = None;
        for _ in 0..NSLOT {
            let v = self.hash(slot);
            if v == 0 {
                break;
            }
            let frame = self.i_zero.saturating_add(u32::from(v));
            if frame <= max_frame && frame >= min_frame && self.page(u32::from(v)) == page {
                best = best.max(Some(frame));
            }
            slot = (slot + 1) & (NSLOT - 1);
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_vectors() {
        assert_eq!(hash_slot(3), 1149);
        assert_eq!(hash_slot(7), 2681);
        assert_eq!(hash_slot(2), 766);
        assert_eq!(hash_slot(u32::MAX), (u32::MAX.wrapping_mul(383) & 8191) as usize);
    }

    #[test]
    fn segments() {
        assert_eq!(frame_segment(1), 0);
        assert_eq!(frame_segment(4062), 0);
        assert_eq!(frame_segment(4063), 1);
        assert_eq!(frame_segment(4062 + 4096), 1);
        assert_eq!(frame_segment(4062 + 4096 + 1), 2);
        assert_eq!(segments_for_frames(0), 0);
        assert_eq!(segments_for_frames(8200), 3);
        let shm = vec![0u8; 3 * SEGMENT_LEN];
        let s = HashSegment::get(&shm, 2, ShmEndian::Little).unwrap();
        assert_eq!(s.frame_range(), (8159, 4062 + 2 * 4096));
        assert!(HashSegment::get(&shm, 3, ShmEndian::Little).is_none());
        assert_eq!(s.page(0), 0);
        assert_eq!(s.page(5000), 0);
        assert_eq!(s.hash(9000), 0);
    }

    #[test]
    fn page_size_encoding() {
        let mut b = [0u8; 48];
        b[14..16].copy_from_slice(&1u16.to_le_bytes());
        assert_eq!(WalIndexHeader::parse(&b, ShmEndian::Little).unwrap().page_size(), 65536);
        b[14..16].copy_from_slice(&4096u16.to_le_bytes());
        assert_eq!(WalIndexHeader::parse(&b, ShmEndian::Little).unwrap().page_size(), 4096);
    }

    #[test]
    fn endian_detect() {
        let mut b = vec![0u8; 136];
        b[..4].copy_from_slice(&INDEX_VERSION.to_be_bytes());
        assert_eq!(ShmEndian::detect(&b), ShmEndian::Big);
        b[..4].copy_from_slice(&INDEX_VERSION.to_le_bytes());
        assert_eq!(ShmEndian::detect(&b), ShmEndian::Little);
        assert_eq!(ShmEndian::detect(&[]), ShmEndian::host());
    }
}
