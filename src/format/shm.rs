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

use byteorder::{BigEndian, ByteOrder, LittleEndian};

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

// Offsets of the fields of one `WalIndexHdr` copy (from the copy's start).
/// iVersion.
pub const HDR_VERSION: usize = 0;
/// unused (padding).
pub const HDR_UNUSED: usize = 4;
/// iChange.
pub const HDR_CHANGE: usize = 8;
/// isInit (one byte).
pub const HDR_IS_INIT: usize = 12;
/// bigEndCksum (one byte).
pub const HDR_BIG_END_CKSUM: usize = 13;
/// szPage (u16).
pub const HDR_SZPAGE: usize = 14;
/// mxFrame.
pub const HDR_MX_FRAME: usize = 16;
/// nPage.
pub const HDR_NPAGE: usize = 20;
/// `aFrameCksum[2]`.
pub const HDR_FRAME_CKSUM: usize = 24;
/// `aSalt[2]`: raw bytes of the WAL header's salts.
pub const HDR_SALT: usize = 32;
/// `aCksum[2]`: the checksum of the bytes before it.
pub const HDR_CKSUM: usize = 40;

// Offsets of the fields of `WalCkptInfo` (from the start of the -shm).
/// nBackfill.
pub const CKPT_BACKFILL: usize = CKPT_INFO_OFFSET;
/// `aReadMark[5]`.
pub const CKPT_READ_MARKS: usize = 100;
/// nBackfillAttempted.
pub const CKPT_BACKFILL_ATTEMPTED: usize = 128;
/// notUsed0.
pub const CKPT_NOT_USED0: usize = 132;

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
    /// Read a u32 at `off`, or `None` when short. The order is known only at run time (a -shm
    /// written on a machine of the other endianness reads in that machine's order).
    #[inline]
    pub fn u32_at(self, b: &[u8], off: usize) -> Option<u32> {
        let a: [u8; 4] = array_at(b, off)?;
        Some(match self {
            Self::Little => LittleEndian::read_u32(&a),
            Self::Big => BigEndian::read_u32(&a),
        })
    }
    /// Read a u16 at `off`, or `None` when short.
    #[inline]
    pub fn u16_at(self, b: &[u8], off: usize) -> Option<u16> {
        let a: [u8; 2] = array_at(b, off)?;
        Some(match self {
            Self::Little => LittleEndian::read_u16(&a),
            Self::Big => BigEndian::read_u16(&a),
        })
    }
    /// Encode a u32 in this order.
    pub fn put_u32(self, v: u32) -> [u8; 4] {
        let mut a = [0u8; 4];
        match self {
            Self::Little => LittleEndian::write_u32(&mut a, v),
            Self::Big => BigEndian::write_u32(&mut a, v),
        }
        a
    }
    /// Encode a u16 in this order.
    pub fn put_u16(self, v: u16) -> [u8; 2] {
        let mut a = [0u8; 2];
        match self {
            Self::Little => LittleEndian::write_u16(&mut a, v),
            Self::Big => BigEndian::write_u16(&mut a, v),
        }
        a
    }
    /// Write `v` in this order at `off`; `None` (nothing written) when `b` is too short.
    pub fn write_u32_at(self, b: &mut [u8], off: usize, v: u32) -> Option<()> {
        b.get_mut(off..off.checked_add(4)?)?.copy_from_slice(&self.put_u32(v));
        Some(())
    }
    /// Write `v` in this order at `off`; `None` (nothing written) when `b` is too short.
    pub fn write_u16_at(self, b: &mut [u8], off: usize, v: u16) -> Option<()> {
        b.get_mut(off..off.checked_add(2)?)?.copy_from_slice(&self.put_u16(v));
        Some(())
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
            version: u(HDR_VERSION),
            unused: u(HDR_UNUSED),
            change: u(HDR_CHANGE),
            is_init: r.get(HDR_IS_INIT).copied().unwrap_or(0),
            big_endian_checksum: r.get(HDR_BIG_END_CKSUM).copied().unwrap_or(0),
            page_size_raw: e.u16_at(r, HDR_SZPAGE).unwrap_or(0),
            mx_frame: u(HDR_MX_FRAME),
            db_pages: u(HDR_NPAGE),
            frame_checksum: [u(HDR_FRAME_CKSUM), u(HDR_FRAME_CKSUM + 4)],
            salt1: salt(HDR_SALT),
            salt2: salt(HDR_SALT + 4),
            checksum: [u(HDR_CKSUM), u(HDR_CKSUM + 4)],
        })
    }

    /// A header with these fields (`raw` and `checksum` follow from them: see [`Self::sealed`]).
    pub fn from_fields(fields: HeaderFields) -> Self {
        let HeaderFields { change, big_endian_checksum, page_size_raw, mx_frame, db_pages, frame_checksum, salts } =
            fields;
        Self {
            raw: [0; INDEX_HEADER_LEN],
            version: INDEX_VERSION,
            unused: 0,
            change,
            is_init: 1,
            big_endian_checksum,
            page_size_raw,
            mx_frame,
            db_pages,
            frame_checksum,
            salt1: salts[0],
            salt2: salts[1],
            checksum: [0, 0],
        }
    }

    /// The encoder beside [`Self::parse`]: the 48 bytes of this copy, integers in `e`, the
    /// salts big-endian (SQLite copies them from the WAL header as raw bytes), the stored
    /// `checksum` as it is.
    pub fn encode(&self, e: ShmEndian) -> [u8; INDEX_HEADER_LEN] {
        let mut b = [0u8; INDEX_HEADER_LEN];
        let u32s = [
            (HDR_VERSION, self.version),
            (HDR_UNUSED, self.unused),
            (HDR_CHANGE, self.change),
            (HDR_MX_FRAME, self.mx_frame),
            (HDR_NPAGE, self.db_pages),
            (HDR_FRAME_CKSUM, self.frame_checksum[0]),
            (HDR_FRAME_CKSUM + 4, self.frame_checksum[1]),
            (HDR_CKSUM, self.checksum[0]),
            (HDR_CKSUM + 4, self.checksum[1]),
        ];
        for (off, v) in u32s {
            let _ = e.write_u32_at(&mut b, off, v);
        }
        let _ = e.write_u16_at(&mut b, HDR_SZPAGE, self.page_size_raw);
        for (off, v) in [(HDR_IS_INIT, self.is_init), (HDR_BIG_END_CKSUM, self.big_endian_checksum)] {
            if let Some(x) = b.get_mut(off) {
                *x = v;
            }
        }
        for (off, v) in [(HDR_SALT, self.salt1), (HDR_SALT + 4, self.salt2)] {
            let _ = ShmEndian::Big.write_u32_at(&mut b, off, v);
        }
        b
    }

    /// This header with its checksum computed (as `walIndexWriteHdr` does) and `raw` set to
    /// its encoding in `e`.
    pub fn sealed(mut self, e: ShmEndian) -> Self {
        self.checksum = wal_checksum(e.word_order(), self.encode(e).get(..HDR_CKSUM).unwrap_or(&[]), [0, 0]);
        self.raw = self.encode(e);
        self
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

/// The fields of a header copy that describe the WAL (the rest is fixed or derived), for
/// [`WalIndexHeader::from_fields`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeaderFields {
    pub change: u32,
    pub big_endian_checksum: u8,
    pub page_size_raw: u16,
    pub mx_frame: u32,
    pub db_pages: u32,
    pub frame_checksum: [u32; 2],
    pub salts: [u32; 2],
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
            *m = u(CKPT_READ_MARKS + 4 * i);
        }
        Ok(Self {
            backfill: u(CKPT_BACKFILL),
            read_marks,
            lock_bytes: array_at(shm, LOCK_OFFSET).unwrap_or([0; 8]),
            backfill_attempted: u(CKPT_BACKFILL_ATTEMPTED),
            not_used0: u(CKPT_NOT_USED0),
        })
    }

    /// The encoder beside [`Self::parse`]: write these fields into bytes 96..136 of `shm`;
    /// `None` (nothing written) when `shm` is shorter than the header area.
    pub fn encode_into(&self, shm: &mut [u8], e: ShmEndian) -> Option<()> {
        let area = shm.get_mut(..SHM_HEADER_LEN)?;
        e.write_u32_at(area, CKPT_BACKFILL, self.backfill)?;
        for (i, m) in self.read_marks.iter().enumerate() {
            e.write_u32_at(area, CKPT_READ_MARKS + 4 * i, *m)?;
        }
        area.get_mut(LOCK_OFFSET..LOCK_OFFSET + 8)?.copy_from_slice(&self.lock_bytes);
        e.write_u32_at(area, CKPT_BACKFILL_ATTEMPTED, self.backfill_attempted)?;
        e.write_u32_at(area, CKPT_NOT_USED0, self.not_used0)
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

/// Where a frame's entry lives: its segment, the byte range of that segment, where its page
/// array starts inside it, and the frame's 1-based slot in it (`walHashGet`).
fn segment_slot(frame: u32) -> Option<(u32, usize, usize, u32)> {
    let k = frame_segment(frame);
    let base = (k as usize).checked_mul(SEGMENT_LEN)?;
    let (pgno_start, i_zero) =
        if k == 0 { (SHM_HEADER_LEN, 0) } else { (0, NPAGE_ONE.checked_add((k - 1).checked_mul(NPAGE)?)?) };
    Some((k, base, pgno_start, frame.checked_sub(i_zero)?))
}

/// Why [`index_append`] could not record a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendError {
    /// The frame's segment lies beyond the buffer.
    BeyondIndex { frame: u32 },
    /// Every hash slot of the segment is taken.
    HashFull { segment: u32 },
}

impl std::fmt::Display for AppendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BeyondIndex { frame } => write!(f, "frame {frame} lies beyond the index being built"),
            Self::HashFull { segment } => write!(f, "hash table of segment {segment} is full"),
        }
    }
}

impl std::error::Error for AppendError {}

/// The encoder beside [`HashSegment`] (`walIndexAppend`): record `page` for 1-based `frame` in
/// its segment's page array and hash table (linear probing from [`hash_slot`]), integers in `e`.
pub fn index_append(shm: &mut [u8], e: ShmEndian, frame: u32, page: u32) -> Result<(), AppendError> {
    let beyond = AppendError::BeyondIndex { frame };
    let (k, base, pgno_start, idx) = segment_slot(frame).filter(|s| s.3 > 0).ok_or(beyond)?;
    let seg = shm.get_mut(base..base.checked_add(SEGMENT_LEN).ok_or(beyond)?).ok_or(beyond)?;
    let (pgno, hash) = seg.split_at_mut(SEGMENT_LEN / 2);
    let p = pgno_start + (idx as usize - 1) * 4;
    e.write_u32_at(pgno, p, page).ok_or(beyond)?;
    let idx16 = u16::try_from(idx).map_err(|_| beyond)?;
    let mut slot = hash_slot(page);
    for _ in 0..NSLOT {
        if e.u16_at(hash, 2 * slot) == Some(0) {
            return e.write_u16_at(hash, 2 * slot, idx16).ok_or(beyond);
        }
        slot = (slot + 1) & (NSLOT - 1);
    }
    Err(AppendError::HashFull { segment: k })
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

    #[test]
    fn header_encoder_and_decoder_round_trip_in_both_orders() {
        let fields = HeaderFields {
            change: 7,
            big_endian_checksum: 1,
            page_size_raw: 1,
            mx_frame: u32::MAX,
            db_pages: 0x0102_0304,
            frame_checksum: [0xdead_beef, 0x0bad_f00d],
            salts: [0x1122_3344, 0x5566_7788],
        };
        for e in [ShmEndian::Little, ShmEndian::Big] {
            let h = WalIndexHeader::from_fields(fields).sealed(e);
            let back = WalIndexHeader::parse(&h.raw, e).unwrap();
            assert_eq!(back, h, "{e:?}");
            assert!(back.checksum_valid(e));
            assert_eq!(back.page_size(), 65536);
            assert_eq!((back.version, back.is_init, back.mx_frame), (INDEX_VERSION, 1, u32::MAX));
            // The salts are raw WAL-header bytes, big-endian whatever the order.
            assert_eq!(h.raw[HDR_SALT..HDR_SALT + 8], [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]);
            // Read in the other order, the checksum does not verify.
            let other = if e == ShmEndian::Little { ShmEndian::Big } else { ShmEndian::Little };
            assert!(!WalIndexHeader::parse(&h.raw, other).unwrap().checksum_valid(other));
        }
        let le = WalIndexHeader::from_fields(fields).sealed(ShmEndian::Little).raw;
        assert_eq!(le[HDR_VERSION..HDR_VERSION + 4], INDEX_VERSION.to_le_bytes());
        let be = WalIndexHeader::from_fields(fields).sealed(ShmEndian::Big).raw;
        assert_eq!(be[HDR_NPAGE..HDR_NPAGE + 4], [1, 2, 3, 4]);
    }

    #[test]
    fn checkpoint_info_encoder_and_decoder_round_trip() {
        let c = CheckpointInfo {
            backfill: 3,
            read_marks: [0, 9, READMARK_NOT_USED, 1, u32::MAX - 1],
            lock_bytes: [1, 2, 3, 4, 5, 6, 7, 8],
            backfill_attempted: 9,
            not_used0: 0,
        };
        for e in [ShmEndian::Little, ShmEndian::Big] {
            let mut b = vec![0u8; SHM_HEADER_LEN];
            c.encode_into(&mut b, e).unwrap();
            assert_eq!(CheckpointInfo::parse(&b, e).unwrap(), c);
            assert_eq!(e.u32_at(&b, CKPT_READ_MARKS + 4), Some(9));
        }
        assert_eq!(c.encode_into(&mut [0u8; SHM_HEADER_LEN - 1], ShmEndian::Little), None, "too short: nothing");
    }

    #[test]
    fn hash_segment_encoder_and_decoder_round_trip() {
        for e in [ShmEndian::Little, ShmEndian::Big] {
            let mut shm = vec![0u8; 3 * SEGMENT_LEN];
            // Frames across segment boundaries; pages that collide in the hash (same slot).
            let frames: Vec<(u32, u32)> =
                (1..=4062 + 4096 + 10).map(|f| (f, if f % 3 == 0 { 7 } else { 7 + 8192 * (f % 5) })).collect();
            for &(f, p) in &frames {
                index_append(&mut shm, e, f, p).unwrap();
            }
            for &(f, p) in &frames {
                let seg = HashSegment::get(&shm, frame_segment(f), e).unwrap();
                assert_eq!(seg.page(f - seg.i_zero), p, "frame {f}");
                assert_eq!(seg.find(p, f, f), Some(f), "the hash finds frame {f}");
            }
            assert_eq!(
                index_append(&mut shm, e, 4062 + 2 * 4096 + 1, 1),
                Err(AppendError::BeyondIndex { frame: 4062 + 2 * 4096 + 1 })
            );
            assert_eq!(index_append(&mut shm, e, 0, 1), Err(AppendError::BeyondIndex { frame: 0 }));
        }
    }

    #[test]
    fn integers_in_either_order() {
        let b = [1u8, 2, 3, 4];
        assert_eq!(ShmEndian::Little.u32_at(&b, 0), Some(0x0403_0201));
        assert_eq!(ShmEndian::Big.u32_at(&b, 0), Some(0x0102_0304));
        assert_eq!(ShmEndian::Big.u32_at(&b, 1), None);
        assert_eq!(ShmEndian::Little.put_u16(0x0102), [2, 1]);
        let mut w = [0u8; 3];
        assert_eq!(ShmEndian::Big.write_u32_at(&mut w, 0, 1), None);
        assert_eq!(w, [0; 3]);
    }
}
