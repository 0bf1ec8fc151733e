//! Snapshots: the database as SQLite shows it after a given commit, read page by page.
//!
//! A snapshot is the database file plus the chain-valid frames up to a frame number: page P is
//! the newest such frame holding P, else the database file's copy (a page neither has reads as
//! zeros, as SQLite reads past the end of a file). Its size is the commit's db size.
//!
//! Pages are read on demand with positioned reads through [`ReadAt`] (never the whole WAL) and
//! cached by origin — a frame's bytes or a database page's bytes never change within one
//! analysis, so the cache is exact. The per-page frame index is built once from the
//! [`WalAnalysis`] and costs 8 bytes per frame.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, OnceLock};

use crate::analysis::wal::{Commit, FrameState, WalAnalysis};
use crate::analysis::{Analysis, ReadAt};
use crate::format::db_header::DbHeader;
use crate::format::record::TextEncoding;
use crate::format::vocab::vocabulary;
use crate::format::wal::{FRAME_HEADER_LEN, frame_offset};

/// Hashing for page numbers and row keys: much cheaper than SipHash on these small keys, and
/// seeded per process (with a strong 64-bit finaliser) so that hostile page numbers cannot be
/// picked to collide.
#[derive(Clone, Copy, Debug)]
pub struct PageHasher {
    h: u64,
}

#[inline]
fn mix64(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl Hasher for PageHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut a = [0u8; 8];
            for (d, s) in a.iter_mut().zip(chunk) {
                *d = *s;
            }
            self.write_u64(u64::from_le_bytes(a));
        }
    }
    #[inline]
    fn write_u8(&mut self, x: u8) {
        self.write_u64(u64::from(x));
    }
    #[inline]
    fn write_u32(&mut self, x: u32) {
        self.write_u64(u64::from(x));
    }
    #[inline]
    fn write_u64(&mut self, x: u64) {
        self.h = mix64(self.h.rotate_left(23) ^ x);
    }
    #[inline]
    fn write_usize(&mut self, x: usize) {
        self.write_u64(x as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.h
    }
}

/// Builds [`PageHasher`]s with the process seed.
#[derive(Clone, Copy, Debug, Default)]
pub struct PageHash;

impl BuildHasher for PageHash {
    type Hasher = PageHasher;
    #[inline]
    fn build_hasher(&self) -> PageHasher {
        static SEED: OnceLock<u64> = OnceLock::new();
        let seed = *SEED.get_or_init(|| std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64));
        PageHasher { h: seed }
    }
}

/// A set of page numbers.
pub type PageSet = HashSet<u32, PageHash>;
/// A map keyed by page number.
pub type PageMap<V> = HashMap<u32, V, PageHash>;

vocabulary! {
    /// A note code: a stable string documented in `docs/forensics.md` (Notes); never rename one.
    pub enum NoteCode {
        BtreeBadPage = "btree.bad_page",
        BtreeBadCell = "btree.bad_cell",
        BtreeChildOutOfRange = "btree.child_out_of_range",
        BtreeChildMissing = "btree.child_missing",
        BtreeCycle = "btree.cycle",
        BtreeMixedTypes = "btree.mixed_types",
        BtreeTooDeep = "btree.too_deep",
        CarveZeroedFreeSpace = "carve.zeroed_free_space",
        CommitCheckpointed = "commit.checkpointed",
        OverflowCycle = "overflow.cycle",
        OverflowOutOfRange = "overflow.out_of_range",
        OverflowMissing = "overflow.missing",
        OverflowTooLong = "overflow.too_long",
        OverflowTooShort = "overflow.too_short",
        FreelistCycle = "freelist.cycle",
        FreelistDuplicate = "freelist.duplicate",
        FreelistOutOfRange = "freelist.out_of_range",
        FreelistTooLong = "freelist.too_long",
        FreelistBadTrunk = "freelist.bad_trunk",
        FreelistCountMismatch = "freelist.count_mismatch",
        PageClaimedTwice = "page.claimed_twice",
        PtrmapMismatch = "ptrmap.mismatch",
        PageOutOfRange = "page.out_of_range",
        PageUnreadable = "page.unreadable",
        PageInNoFile = "page.in_no_file",
        PagesUnreachable = "pages.unreachable",
        RowDuplicateKey = "row.duplicate_key",
        RowIncomplete = "row.incomplete",
        SchemaBadRecord = "schema.bad_record",
        SchemaBadRootpage = "schema.bad_rootpage",
        SchemaRootShared = "schema.root_shared",
        SchemaUnparsed = "schema.unparsed",
        SnapshotBaseUncertain = "snapshot.base_uncertain",
        SnapshotCheckpointed = "snapshot.checkpointed",
        SnapshotPageSizeMismatch = "snapshot.page_size_mismatch",
        WalkBudgetExceeded = "walk.budget_exceeded",
        WalkNotesCapped = "walk.notes_capped",
    }
}

/// A fact found while reading a snapshot: a stable code, a message and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// Stable code, documented in `docs/forensics.md` (e.g. `btree.cycle`).
    pub code: NoteCode,
    pub message: String,
    /// The page number concerned.
    pub page: Option<u32>,
    /// The WAL frame the page was read from, when it came from the WAL.
    pub frame: Option<u32>,
    /// Byte offset within the page, when known.
    pub offset: Option<u64>,
}

impl Note {
    pub fn new(code: NoteCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), page: None, frame: None, offset: None }
    }
    pub fn at_page(mut self, page: u32, origin: Origin) -> Self {
        self.page = Some(page);
        if let Origin::Frame(f) = origin {
            self.frame = Some(f);
        }
        self
    }
    pub fn offset(mut self, o: u64) -> Self {
        self.offset = Some(o);
        self
    }
}

/// Where a snapshot's copy of a page comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    /// The database file.
    Db,
    /// A WAL frame (1-based).
    Frame(u32),
    /// Neither: the page reads as zeros.
    Missing,
}

impl Origin {
    pub fn frame(self) -> Option<u32> {
        match self {
            Self::Frame(f) => Some(f),
            _ => None,
        }
    }
}

/// A page as read: its number, where it came from, and its bytes (page_size long).
#[derive(Clone, Debug)]
pub struct PageRef {
    pub page: u32,
    pub origin: Origin,
    pub data: Arc<[u8]>,
}

/// Cache budget for page images.
const CACHE_BYTES: usize = 48 << 20;

/// Cache key: (0 = database file page, 1 = WAL frame; page or frame number).
type CacheKey = (u8, u32);

#[derive(Default)]
struct Cache {
    /// Page image and last use.
    map: HashMap<CacheKey, (Arc<[u8]>, u64)>,
    tick: u64,
    capacity: usize,
}

impl Cache {
    fn get(&mut self, k: CacheKey) -> Option<Arc<[u8]>> {
        self.tick += 1;
        let t = self.tick;
        self.map.get_mut(&k).map(|e| {
            e.1 = t;
            e.0.clone()
        })
    }
    fn put(&mut self, k: CacheKey, v: Arc<[u8]>) {
        if self.map.len() >= self.capacity.max(16) {
            // Evict the least recently used quarter.
            let mut ages: Vec<u64> = self.map.values().map(|e| e.1).collect();
            let cut = ages.len() / 4;
            ages.select_nth_unstable(cut);
            let limit = ages.get(cut).copied().unwrap_or(0);
            self.map.retain(|_, e| e.1 > limit);
        }
        self.tick += 1;
        self.map.insert(k, (v, self.tick));
    }
}

/// Read access to page images of the database file and the WAL.
pub struct PageStore<'a> {
    db: Option<(&'a dyn ReadAt, u64)>,
    wal: Option<(&'a dyn ReadAt, u64)>,
    /// Page size used for both files.
    pub page_size: u32,
    cache: RefCell<Cache>,
    zeros: Arc<[u8]>,
}

impl<'a> PageStore<'a> {
    pub fn new(db: Option<(&'a dyn ReadAt, u64)>, wal: Option<(&'a dyn ReadAt, u64)>, page_size: u32) -> Self {
        let capacity = CACHE_BYTES / page_size.max(512) as usize;
        Self {
            db,
            wal,
            page_size,
            cache: RefCell::new(Cache { capacity, ..Cache::default() }),
            zeros: vec![0u8; page_size as usize].into(),
        }
    }

    /// The files this store reads (shareable across threads: each thread builds its own
    /// store, with its own cache, with [`StoreFiles::store`]).
    pub fn files(&self) -> StoreFiles<'a> {
        StoreFiles { db: self.db, wal: self.wal, page_size: self.page_size }
    }

    /// Database file length in bytes (0 without a file).
    pub fn db_len(&self) -> u64 {
        self.db.map_or(0, |d| d.1)
    }

    /// True when the database file holds page `p`.
    pub fn db_has(&self, p: u32) -> bool {
        p >= 1 && u64::from(p) * u64::from(self.page_size) <= self.db_len()
    }

    /// Read page `page` from `origin`. A short read (a file truncated meanwhile) is a note.
    pub fn read(&self, page: u32, origin: Origin) -> Result<Arc<[u8]>, Note> {
        let ps = self.page_size as usize;
        let (key, src, off) = match origin {
            Origin::Missing => return Ok(self.zeros.clone()),
            Origin::Db => {
                let Some((r, _)) = self.db else { return Ok(self.zeros.clone()) };
                ((0u8, page), r, u64::from(page.saturating_sub(1)) * u64::from(self.page_size))
            }
            Origin::Frame(f) => {
                let Some((r, _)) = self.wal else {
                    return Err(
                        Note::new(NoteCode::PageUnreadable, "no -wal to read the frame from").at_page(page, origin)
                    );
                };
                ((1u8, f), r, frame_offset(f, self.page_size) + FRAME_HEADER_LEN as u64)
            }
        };
        if let Some(d) = self.cache.borrow_mut().get(key) {
            return Ok(d);
        }
        let mut buf = vec![0u8; ps];
        match src.read_at_full(off, &mut buf) {
            Ok(n) if n == ps => {}
            Ok(n) if origin == Origin::Db => {
                // A partial last page of the database file: SQLite reads zeros past the end.
                if let Some(rest) = buf.get_mut(n..) {
                    rest.fill(0);
                }
            }
            Ok(n) => {
                return Err(Note::new(
                    NoteCode::PageUnreadable,
                    format!("short read: {n} of {ps} bytes (file changed while reading?)"),
                )
                .at_page(page, origin));
            }
            Err(e) => {
                return Err(Note::new(NoteCode::PageUnreadable, format!("cannot read: {e}")).at_page(page, origin));
            }
        }
        let data: Arc<[u8]> = buf.into();
        self.cache.borrow_mut().put(key, data.clone());
        Ok(data)
    }

    /// Read a frame's page image (any frame, valid or not) without going through a snapshot.
    pub fn read_frame(&self, frame: u32, page: u32) -> Result<Arc<[u8]>, Note> {
        self.read(page, Origin::Frame(frame))
    }

    /// Read a partial trailing frame: whatever bytes exist after its header, zero-padded.
    pub fn read_partial_frame(&self, frame: u32) -> Option<(u32, Vec<u8>, usize)> {
        let (r, len) = self.wal?;
        let off = frame_offset(frame, self.page_size);
        let mut head = [0u8; FRAME_HEADER_LEN];
        if r.read_at_full(off, &mut head).ok()? < FRAME_HEADER_LEN {
            return None;
        }
        let page = crate::format::bytes::be_u32(&head, 0)?;
        let avail = len.saturating_sub(off + FRAME_HEADER_LEN as u64).min(u64::from(self.page_size)) as usize;
        let mut buf = vec![0u8; self.page_size as usize];
        let got = r.read_at_full(off + FRAME_HEADER_LEN as u64, buf.get_mut(..avail)?).ok()?;
        Some((page, buf, got))
    }
}

/// The files behind a [`PageStore`], without its cache.
#[derive(Clone, Copy)]
pub struct StoreFiles<'a> {
    db: Option<(&'a dyn ReadAt, u64)>,
    wal: Option<(&'a dyn ReadAt, u64)>,
    page_size: u32,
}

impl<'a> StoreFiles<'a> {
    /// The database file's reader and length, when there is one.
    pub fn db(self) -> Option<(&'a dyn ReadAt, u64)> {
        self.db
    }

    /// A store over these files with an empty cache.
    pub fn store(self) -> PageStore<'a> {
        PageStore::new(self.db, self.wal, self.page_size)
    }
}

/// Chain-valid frames by page: sorted (page, frame) pairs, built once.
#[derive(Clone, Debug, Default)]
pub struct FrameIndex {
    by_page: Vec<(u32, u32)>,
}

impl FrameIndex {
    /// Index the frames SQLite's recovery accepts (committed and uncommitted tail).
    pub fn build(w: &WalAnalysis) -> Self {
        let mut by_page: Vec<(u32, u32)> = w
            .frames
            .iter()
            .filter(|f| matches!(f.state, FrameState::Committed | FrameState::Uncommitted) && f.header.page != 0)
            .map(|f| (f.header.page, f.index))
            .collect();
        by_page.sort_unstable();
        Self { by_page }
    }

    /// The newest indexed frame holding `page` at or before frame `upto`.
    pub fn latest(&self, page: u32, upto: u32) -> Option<u32> {
        if upto == 0 {
            return None;
        }
        let i = self.by_page.partition_point(|&(p, f)| (p, f) <= (page, upto));
        let (p, f) = *self.by_page.get(i.checked_sub(1)?)?;
        (p == page).then_some(f)
    }

    /// Every indexed frame holding `page`, oldest first.
    pub fn frames_of(&self, page: u32) -> impl Iterator<Item = u32> + '_ {
        let start = self.by_page.partition_point(|&(p, _)| p < page);
        self.by_page.get(start..).unwrap_or(&[]).iter().take_while(move |&&(p, _)| p == page).map(|&(_, f)| f)
    }

    pub fn len(&self) -> usize {
        self.by_page.len()
    }

    /// The largest page number any indexed frame holds.
    pub fn max_page(&self) -> u32 {
        self.by_page.last().map_or(0, |&(p, _)| p)
    }

    pub fn is_empty(&self) -> bool {
        self.by_page.is_empty()
    }
}

/// Which state a snapshot shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotSpec {
    /// Last frame included (0: the database file alone).
    pub upto: u32,
    /// Database size in pages.
    pub db_pages: u32,
}

/// One consistent view of the database.
pub struct Snapshot<'s> {
    store: &'s PageStore<'s>,
    index: &'s FrameIndex,
    pub spec: SnapshotSpec,
    /// The database header as this snapshot's page 1 has it.
    pub header: Option<DbHeader>,
    /// Usable page size (page size minus the reserved bytes of this snapshot's header).
    pub usable: u32,
    pub encoding: TextEncoding,
}

impl<'s> Snapshot<'s> {
    pub fn new(store: &'s PageStore<'s>, index: &'s FrameIndex, spec: SnapshotSpec) -> Self {
        let mut s = Self { store, index, spec, header: None, usable: store.page_size, encoding: TextEncoding::Utf8 };
        if spec.db_pages >= 1
            && let Ok(p1) = s.store.read(1, s.origin(1))
            && let Ok(h) = DbHeader::parse(&p1)
        {
            s.usable = store.page_size.saturating_sub(u32::from(h.reserved_bytes));
            s.encoding = TextEncoding::from_header(h.text_encoding);
            s.header = Some(h);
        }
        s
    }

    pub fn page_size(&self) -> u32 {
        self.store.page_size
    }

    pub fn store(&self) -> &'s PageStore<'s> {
        self.store
    }

    /// Where page `p` comes from in this snapshot (no I/O).
    pub fn origin(&self, p: u32) -> Origin {
        if let Some(f) = self.index.latest(p, self.spec.upto) {
            Origin::Frame(f)
        } else if self.store.db_has(p) {
            Origin::Db
        } else {
            Origin::Missing
        }
    }

    /// Read page `p`. Page 0 and pages beyond the snapshot's size are notes, not reads.
    pub fn page(&self, p: u32) -> Result<PageRef, Note> {
        if p == 0 || p > self.spec.db_pages {
            return Err(Note::new(
                NoteCode::PageOutOfRange,
                format!("page {p} is outside the database (1..={})", self.spec.db_pages),
            )
            .at_page(p, Origin::Missing));
        }
        let origin = self.origin(p);
        if origin == Origin::Missing {
            // Not damage: the page is simply not on disk (a post-mortem WAL without its
            // database file, or a database file shorter than the snapshot).
            return Err(Note::new(NoteCode::PageInNoFile, self.in_no_file(p)).at_page(p, origin));
        }
        let data = self.store.read(p, origin)?;
        Ok(PageRef { page: p, origin, data })
    }

    /// "page N is in no file (...)": why a page of this snapshot has no copy on disk.
    pub fn in_no_file(&self, p: u32) -> String {
        if self.store.db_len() == 0 {
            format!("page {p} is in no file (no database file, no frame)")
        } else {
            format!("page {p} is in no file (beyond the database file's end, no frame)")
        }
    }

    /// True when some page of this snapshot may be in no file: the database file does not
    /// cover the snapshot's size.
    pub fn may_miss_pages(&self) -> bool {
        self.store.db_len() < u64::from(self.spec.db_pages) * u64::from(self.store.page_size)
    }

    /// The last page that can hold anything but zeros: the database file's last page or the
    /// largest page a frame holds, within the snapshot's size. Loops over "every page" stop
    /// here, so a forged db-size field cannot make them run for billions of pages.
    pub fn extent(&self) -> u32 {
        let file_pages =
            u32::try_from(self.store.db_len() / u64::from(self.store.page_size.max(1))).unwrap_or(u32::MAX);
        file_pages.max(self.index.max_page()).min(self.spec.db_pages)
    }

    /// The freelist head and count from this snapshot's header.
    pub fn freelist(&self) -> (u32, u32) {
        self.header.map_or((0, 0), |h| (h.freelist_trunk, h.freelist_count))
    }

    /// True when the header marks an auto-vacuum database (pointer-map pages exist).
    pub fn auto_vacuum(&self) -> bool {
        self.header.is_some_and(|h| h.largest_root_page != 0)
    }
}

/// Everything needed to build snapshots of a database and its WAL.
pub struct Forensics<'a> {
    pub store: PageStore<'a>,
    pub index: FrameIndex,
    pub analysis: &'a Analysis,
    /// Database size of the file alone.
    pub base_pages: u32,
    /// The -shm's nBackfill, when the -shm is trusted and belongs to this WAL.
    pub backfill: Option<u32>,
    pub notes: Vec<Note>,
    /// The rollback journal's reader and length, when there is one (see
    /// [`crate::format::journal`]).
    pub journal: Option<(&'a dyn ReadAt, u64)>,
}

/// Why no snapshot can be built at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoSnapshot {
    /// Neither the database header nor an accepted WAL header gives a page size.
    NoPageSize,
}

impl std::fmt::Display for NoSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoPageSize => {
                f.write_str("no usable page size: neither the database header nor an accepted WAL header gives one")
            }
        }
    }
}

impl std::error::Error for NoSnapshot {}

impl<'a> Forensics<'a> {
    /// Set up page access. `db` and `wal` are the readers the analysis used.
    pub fn new(
        analysis: &'a Analysis,
        db: Option<(&'a dyn ReadAt, u64)>,
        wal: Option<(&'a dyn ReadAt, u64)>,
    ) -> Result<Self, NoSnapshot> {
        let mut notes = Vec::new();
        let wal_ps = analysis.wal.as_ref().filter(|w| w.header_accepted()).and_then(|w| w.page_size);
        let db_ps = analysis.db.as_ref().and_then(|d| d.header.page_size());
        let page_size = match (wal_ps, db_ps) {
            (Some(w), Some(d)) if w != d => {
                notes.push(Note::new(
                    NoteCode::SnapshotPageSizeMismatch,
                    format!("the WAL's page size {w} differs from the database header's {d}; pages are read with {w}"),
                ));
                w
            }
            (Some(w), _) => w,
            (None, Some(d)) => d,
            (None, None) => {
                return Err(NoSnapshot::NoPageSize);
            }
        };
        let db = if analysis.db.is_some() { db } else { None };
        let base_pages = analysis
            .db
            .as_ref()
            .map(|d| {
                let by_file = d.file_len / u64::from(page_size);
                let n = if d.header.page_count_valid() { u64::from(d.header.page_count) } else { by_file };
                u32::try_from(n).unwrap_or(u32::MAX)
            })
            .unwrap_or(0);
        let index = analysis.wal.as_ref().map(FrameIndex::build).unwrap_or_default();
        let backfill = analysis.shm.as_ref().and_then(|s| {
            let h = s.trusted_header()?;
            let w = analysis.wal.as_ref()?.header?;
            (h.salt1 == w.salt1 && h.salt2 == w.salt2).then_some(s.ckpt?.backfill)
        });
        let wal = if analysis.wal.is_some() { wal } else { None };
        Ok(Self {
            store: PageStore::new(db, wal, page_size),
            index,
            analysis,
            base_pages,
            backfill,
            notes,
            journal: None,
        })
    }

    /// Set up page access over opened evidence and its analysis (what the CLI and the TUI
    /// use; tests and fuzzers can use [`Forensics::new`] with byte slices).
    pub fn from_evidence(ev: &'a crate::source::Evidence, analysis: &'a Analysis) -> Result<Self, NoSnapshot> {
        let r = |f: Option<&'a crate::source::EvidenceFile>| f.map(|f| (&f.file as &'a dyn ReadAt, f.len()));
        let mut fx = Self::new(analysis, r(ev.db.as_ref()), r(ev.wal.as_ref()))?;
        fx.journal = r(ev.journal.as_ref());
        Ok(fx)
    }

    pub fn wal(&self) -> Option<&'a WalAnalysis> {
        self.analysis.wal.as_ref()
    }

    /// Commits of the current generation.
    pub fn commits(&self) -> &'a [Commit] {
        self.analysis.wal.as_ref().map_or(&[], |w| w.commits.as_slice())
    }

    /// The database file alone.
    pub fn base(&self) -> SnapshotSpec {
        SnapshotSpec { upto: 0, db_pages: self.base_pages }
    }

    /// The state after commit `n` (1-based).
    pub fn at_commit(&self, n: u32) -> Option<SnapshotSpec> {
        let c = self.commits().get((n as usize).checked_sub(1)?)?;
        Some(SnapshotSpec { upto: c.frame, db_pages: c.db_pages })
    }

    /// The state SQLite shows now: the last commit, else the database file.
    pub fn latest(&self) -> SnapshotSpec {
        self.commits().last().map_or(self.base(), |c| SnapshotSpec { upto: c.frame, db_pages: c.db_pages })
    }

    /// The uncommitted tail (valid frames after the last commit), as if it had committed:
    /// (first frame, last frame, snapshot). The size is the last commit's, grown to the
    /// largest page the tail writes.
    pub fn tail(&self) -> Option<(u32, u32, SnapshotSpec)> {
        let w = self.wal()?;
        if w.chain_valid_frames <= w.valid_frames {
            return None;
        }
        let first = w.valid_frames + 1;
        let last = w.chain_valid_frames;
        let base = self.latest().db_pages;
        let max_page = (first..=last).filter_map(|i| w.frame(i)).map(|f| f.header.page).max().unwrap_or(0);
        Some((first, last, SnapshotSpec { upto: last, db_pages: base.max(max_page) }))
    }

    pub fn snapshot(&self, spec: SnapshotSpec) -> Snapshot<'_> {
        Snapshot::new(&self.store, &self.index, spec)
    }

    /// Pages whose database-file copy a snapshot uses although a checkpoint may already have
    /// overwritten it with a later frame's content: the page has a frame after `spec.upto`
    /// that is at or before nBackfill (unknown nBackfill: any later frame whose bytes equal
    /// the file's copy).
    pub fn uncertain_pages(&self, spec: SnapshotSpec, pages: impl Iterator<Item = u32>) -> Vec<u32> {
        let snap = self.snapshot(spec);
        let mut out = Vec::new();
        for p in pages {
            if snap.origin(p) != Origin::Db {
                continue;
            }
            let later: Vec<u32> = self.index.frames_of(p).filter(|&f| f > spec.upto).collect();
            let Some(&first_later) = later.first() else { continue };
            let uncertain = match self.backfill {
                Some(b) => first_later <= b,
                None => match self.store.read(p, Origin::Db) {
                    Ok(db) => later.iter().any(|&f| self.store.read(p, Origin::Frame(f)).is_ok_and(|d| d == db)),
                    Err(_) => true,
                },
            };
            if uncertain {
                out.push(p);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_index_latest() {
        let idx = FrameIndex { by_page: vec![(1, 2), (1, 5), (3, 1), (3, 4)] };
        assert_eq!(idx.latest(1, 1), None);
        assert_eq!(idx.latest(1, 2), Some(2));
        assert_eq!(idx.latest(1, 4), Some(2));
        assert_eq!(idx.latest(1, 9), Some(5));
        assert_eq!(idx.latest(2, 9), None);
        assert_eq!(idx.latest(3, 3), Some(1));
        assert_eq!(idx.latest(3, 0), None);
        assert_eq!(idx.frames_of(3).collect::<Vec<_>>(), vec![1, 4]);
        assert_eq!(idx.frames_of(7).count(), 0);
    }
}
