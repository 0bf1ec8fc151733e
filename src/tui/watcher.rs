//! The TUI's watcher: polls the three files on the loader thread and hands the UI snapshots —
//! the WAL followed incrementally by [`crate::live::incremental`], the -shm header re-read each
//! poll, the locks probed through [`crate::session::probe_files`].
//!
//! Reads are positioned reads into owned buffers — never a memory map — so a file truncated or
//! deleted meanwhile gives a short read, never SIGBUS. Nothing is written, created or locked.

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::analysis::findings::{self, Finding};
use crate::analysis::shm::{ShmAnalysis, analyze_shm};
use crate::analysis::wal::WalAnalysis;
use crate::analysis::{Analysis, DbAnalysis, Inputs, MAX_SHM_READ, ReadAt};
use crate::format::shm::SHM_HEADER_LEN;
use crate::format::wal::{FRAME_HEADER_LEN, FrameHeader, frame_offset};
use crate::live::grade::Settle;
use crate::live::incremental::{LiveWal, ScanCost, Tracked};
use crate::live::locks::LiveLocks;
use crate::report::locks::LocksReport;
use crate::report::{FileRef, Files};
use crate::source::{FileKind, FileStamp, Paths, read_full_at};

/// What the watcher knows about one file at a snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileInfo {
    pub role: FileKind,
    pub path: PathBuf,
    /// None when the file does not exist.
    pub stamp: Option<FileStamp>,
}

/// What one refresh cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RefreshCost {
    pub micros: u64,
    /// Of which the lock and environment probe.
    pub lock_micros: u64,
    pub wal: ScanCost,
    pub shm_bytes: u64,
}

/// The state of the three files at one moment, analysed.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// 1 for the first snapshot, +1 per refresh that found a change.
    pub seq: u64,
    pub files: [FileInfo; 3],
    pub analysis: Analysis,
    pub findings: Vec<Finding>,
    pub cost: RefreshCost,
    /// The live locks, their derived state and the environment's hazards, probed at this
    /// refresh (None when the watcher does not probe).
    pub locks: Option<Arc<LocksReport>>,
    /// The lock state as derived (for the verdict and the grading; None without a probe).
    pub live: Option<Arc<LiveLocks>>,
}

impl Snapshot {
    pub fn file(&self, role: FileKind) -> &FileInfo {
        match role {
            FileKind::Db => &self.files[0],
            FileKind::Wal => &self.files[1],
            FileKind::Shm => &self.files[2],
        }
    }
}

/// A WAL frame read on request (for the detail view), with the header as it is now on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameBytes {
    pub frame: u32,
    pub header: FrameHeader,
    /// The page image (may be short when the file was truncated).
    pub page: Vec<u8>,
    /// The CRC-32 of `page` (`dump --json`'s `crc32`).
    pub crc32: u32,
    /// The newest earlier frame of the same page whose page image is identical (same CRC-32,
    /// then compared byte for byte), among the [`SAME_CONTENT_LOOKBACK`] newest earlier frames
    /// of that page.
    pub same_as: Option<u32>,
}

/// How many earlier frames of the same page a frame's detail compares its content with.
pub const SAME_CONTENT_LOOKBACK: usize = 64;

/// Polls the three files and produces snapshots when something changed.
#[derive(Debug)]
pub struct Watcher {
    pub paths: Paths,
    db: Tracked,
    wal: Tracked,
    shm: Tracked,
    live_wal: LiveWal,
    shm_head: Option<Vec<u8>>,
    db_part: (Option<DbAnalysis>, Option<String>),
    shm_part: Option<ShmAnalysis>,
    seq: u64,
    polls: u64,
    /// Re-check the WAL every this many polls even when nothing seems to have changed (a
    /// coarse mtime can hide an in-place rewrite of the same length).
    pub recheck_every: u64,
    /// Probe the locks at every poll (a change of the locks alone makes a new snapshot).
    pub probe_locks: bool,
    locks: Option<Arc<LocksReport>>,
    locks_key: String,
    live: Option<Arc<LiveLocks>>,
    /// The lock and environment findings of the last probe.
    live_findings: Vec<Finding>,
    /// Transient findings held back until they persist (`live::grade`).
    settle: Settle,
}

impl Watcher {
    pub fn new(paths: Paths) -> Self {
        Self {
            db: Tracked::new(&paths.db),
            wal: Tracked::new(&paths.wal),
            shm: Tracked::new(&paths.shm),
            paths,
            live_wal: LiveWal::default(),
            shm_head: None,
            db_part: (None, None),
            shm_part: None,
            seq: 0,
            polls: 0,
            recheck_every: 8,
            probe_locks: true,
            locks: None,
            locks_key: String::new(),
            live: None,
            live_findings: Vec::new(),
            settle: Settle::default(),
        }
    }

    /// Look at the files; a new snapshot when anything changed (always on the first call).
    pub fn poll(&mut self, progress: &mut dyn FnMut(u64, u64)) -> Option<Snapshot> {
        let start = Instant::now();
        let first = self.polls == 0;
        self.polls += 1;
        let mut cost = RefreshCost::default();

        let mut changed = first;
        if self.db.poll() || first {
            changed = true;
            self.db_part = match (&self.db.file, self.db.len()) {
                (Some(f), len) => {
                    let a =
                        crate::analysis::analyze(&Inputs { db: Some((f as &dyn ReadAt, len)), wal: None, shm: None });
                    (a.db, a.db_problem)
                }
                (None, _) => (None, None),
            };
        }

        let wal_stat = self.wal.poll();
        let shm_stat = self.shm.poll();
        let head = self.shm.file.as_ref().map(|f| {
            let mut b = vec![0u8; SHM_HEADER_LEN];
            let n = read_full_at(f, &mut b, 0).unwrap_or(0);
            b.truncate(n);
            b
        });
        let shm_head_changed = head != self.shm_head;
        self.shm_head = head;

        let recheck = self.recheck_every > 0 && self.polls.is_multiple_of(self.recheck_every);
        let mut wal_changed = false;
        if wal_stat || shm_head_changed || recheck || first {
            match (&self.wal.file, self.wal.stamp) {
                (Some(f), Some(st)) => {
                    let (c, scan) = self.live_wal.refresh(f, st.len, (st.dev, st.ino), progress);
                    wal_changed = c || wal_stat;
                    cost.wal = scan;
                }
                _ => {
                    wal_changed = self.live_wal.analysis().is_some() || wal_stat;
                    self.live_wal.reset();
                }
            }
        }

        if shm_stat || shm_head_changed || wal_changed || first {
            changed = true;
            self.shm_part = self.shm.file.as_ref().map(|f| {
                let len = self.shm.len();
                let mut buf = vec![0u8; usize::try_from(len.min(MAX_SHM_READ)).unwrap_or(0)];
                match read_full_at(f, &mut buf, 0) {
                    Ok(n) => {
                        buf.truncate(n);
                        cost.shm_bytes = n as u64;
                        analyze_shm(&buf, self.live_wal.analysis())
                    }
                    Err(e) => {
                        let mut a = analyze_shm(&[], self.live_wal.analysis());
                        a.read_error = Some(e.to_string());
                        a
                    }
                }
            });
        }
        if self.probe_locks {
            let t = Instant::now();
            if self.probe_live_locks() {
                changed = true;
            }
            cost.lock_micros = u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX);
        }
        if !changed && !self.settle.pending() {
            return None;
        }
        let analysis = Analysis {
            db: self.db_part.0.clone(),
            db_problem: self.db_part.1.clone(),
            wal: self.live_wal.analysis().cloned(),
            shm: self.shm_part.clone(),
        };
        let mut all = findings::check(&analysis);
        all.extend(self.live_findings.iter().cloned());
        let (findings, settled) = self.settle.step(all, &analysis, self.live.as_deref());
        if !changed && !settled {
            return None;
        }
        self.seq += 1;
        cost.micros = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
        Some(Snapshot {
            seq: self.seq,
            files: [
                FileInfo { role: FileKind::Db, path: self.paths.db.clone(), stamp: self.db.stamp },
                FileInfo { role: FileKind::Wal, path: self.paths.wal.clone(), stamp: self.wal.stamp },
                FileInfo { role: FileKind::Shm, path: self.paths.shm.clone(), stamp: self.shm.stamp },
            ],
            analysis,
            findings,
            cost,
            locks: self.locks.clone(),
            live: self.live.clone(),
        })
    }

    /// The analysis as of the last poll without the WAL's frames and commits: what the lock
    /// derivation and the environment assessment read (cheap to build at every poll).
    fn light_analysis(&self) -> Analysis {
        Analysis {
            db: self.db_part.0.clone(),
            db_problem: self.db_part.1.clone(),
            wal: self.live_wal.analysis().map(WalAnalysis::summary),
            shm: self.shm_part.clone(),
        }
    }

    /// Probe the locks and the environment on the descriptors already open (nothing is
    /// opened, closed, locked or written). Returns whether anything shown changed.
    fn probe_live_locks(&mut self) -> bool {
        let a = self.light_analysis();
        let live = crate::session::probe_files(self.db.file.as_ref(), self.shm.file.as_ref(), &self.paths, &a);
        let found = crate::live::locks::live_findings(&live.facts());
        let file = |t: &Tracked| t.stamp.map(|s| FileRef::new(&t.path, s.len));
        let files = Files { db: file(&self.db), wal: file(&self.wal), shm: file(&self.shm) };
        let at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let r = LocksReport::build(files, &live.probe, &live.locks, Some(&live.env), &found, at);
        // What the view shows, without the timing that differs at every probe.
        let key = serde_json::to_string(&(&r.locks, &r.state, &r.environment, &r.findings, &r.probe.proc_locks_note))
            .unwrap_or_default();
        let changed = key != self.locks_key || self.locks.is_none();
        self.locks_key = key;
        if changed {
            self.locks = Some(Arc::new(r));
            self.live = Some(Arc::new(live.locks));
            self.live_findings = found;
        }
        changed
    }

    /// Make the next poll re-read the whole WAL (and everything else).
    pub fn force_full_rescan(&mut self) {
        self.live_wal.reset();
        self.db.stamp = None;
        self.shm_head = None;
    }

    /// Descriptors of the database file and the WAL now open, for a worker (duplicates: the
    /// watcher's own stay open).
    pub fn clone_files(&self) -> (Option<File>, Option<File>) {
        (
            self.db.file.as_ref().and_then(|f| f.try_clone().ok()),
            self.wal.file.as_ref().and_then(|f| f.try_clone().ok()),
        )
    }

    /// Read WAL frame `frame` as it is on disk now.
    pub fn read_frame(&self, frame: u32) -> io::Result<FrameBytes> {
        let f =
            self.wal.file.as_ref().ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "the -wal does not exist"))?;
        let page_size = self
            .live_wal
            .analysis()
            .and_then(|a| a.page_size)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "the -wal has no usable page size"))?;
        let mut buf = vec![0u8; FRAME_HEADER_LEN + page_size as usize];
        let n = read_full_at(f, &mut buf, frame_offset(frame, page_size))?;
        if n < FRAME_HEADER_LEN {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("frame {frame} is beyond the end of the -wal now"),
            ));
        }
        buf.truncate(n);
        let hb: [u8; FRAME_HEADER_LEN] = crate::format::bytes::array_at(&buf, 0).unwrap_or([0; 24]);
        let header = FrameHeader::parse(&hb);
        let page = buf.split_off(FRAME_HEADER_LEN);
        let crc32 = crate::format::fingerprint::crc32(&page);
        let same_as = self.same_content(f, page_size, frame, header.page, &page, crc32);
        Ok(FrameBytes { frame, header, page, crc32, same_as })
    }

    /// The newest earlier frame of `page_no` holding exactly `page` (bounded lookback).
    fn same_content(&self, f: &File, page_size: u32, frame: u32, page_no: u32, page: &[u8], crc: u32) -> Option<u32> {
        if page.len() != page_size as usize {
            return None;
        }
        let w = self.live_wal.analysis()?;
        let earlier = w.frames.get(..(frame as usize).saturating_sub(1))?;
        let mut other = vec![0u8; page.len()];
        earlier.iter().rev().filter(|r| r.header.page == page_no).take(SAME_CONTENT_LOOKBACK).find_map(|r| {
            let at = frame_offset(r.index, page_size).checked_add(FRAME_HEADER_LEN as u64)?;
            let n = read_full_at(f, &mut other, at).ok()?;
            (n == other.len() && crate::format::fingerprint::crc32(&other) == crc && other == page).then_some(r.index)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Evidence;
    use rusqlite::Connection;

    fn full(db: &std::path::Path) -> Analysis {
        crate::session::analyze_evidence(&Evidence::open(db).unwrap(), crate::session::Options::default())
    }

    /// Equal analyses, or a panic naming the first difference (not two huge dumps).
    fn assert_same(a: &Analysis, b: &Analysis, what: &str) {
        if a == b {
            return;
        }
        assert_eq!((&a.db, &a.db_problem), (&b.db, &b.db_problem), "database after {what}");
        assert_eq!(a.shm.is_some(), b.shm.is_some(), "-shm presence after {what}");
        if let (Some(x), Some(y)) = (&a.wal, &b.wal) {
            if let Some((f, g)) = x.frames.iter().zip(&y.frames).find(|(f, g)| f != g) {
                panic!("after {what}: frame {} differs: live {f:?}, full {g:?}", f.index);
            }
            let key = |w: &WalAnalysis| {
                (w.file_len, w.frames_total, w.valid_frames, w.chain_valid_frames, w.first_invalid, w.commits.len())
            };
            assert_eq!(key(x), key(y), "WAL after {what}");
        }
        assert_eq!(a.wal.is_some(), b.wal.is_some(), "-wal presence after {what}");
        if let (Some(x), Some(y)) = (&a.shm, &b.shm) {
            assert_eq!((x.headers, x.ckpt, &x.segments), (y.headers, y.ckpt, &y.segments), "-shm after {what}");
        }
        panic!("analyses differ after {what}");
    }

    fn writer(db: &std::path::Path) -> Connection {
        let c = Connection::open(db).unwrap();
        c.pragma_update(None, "journal_mode", "wal").unwrap();
        c.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        c.execute_batch("CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v BLOB);").unwrap();
        c
    }

    fn insert(c: &Connection, n: usize) {
        c.execute_batch("BEGIN").unwrap();
        for _ in 0..n {
            c.execute("INSERT INTO t(v) VALUES (randomblob(700))", []).unwrap();
        }
        c.execute_batch("COMMIT").unwrap();
    }

    /// Poll and check the snapshot equals a full analysis of the files as they are.
    fn step(w: &mut Watcher, db: &std::path::Path, what: &str) -> Option<Snapshot> {
        let s = w.poll(&mut |_, _| {});
        if let Some(s) = &s {
            assert_same(&s.analysis, &full(db), what);
        }
        s
    }

    #[test]
    fn incremental_refresh_equals_full_analysis_through_a_wal_life() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("app.db");
        let c = writer(&db);
        let mut w = Watcher::new(Paths::resolve(&db));
        w.recheck_every = 0;
        // This process holds SQLite connections and `step` opens and closes the files, which
        // drops their POSIX locks: lock changes would make snapshots of their own here.
        w.probe_locks = false;
        let s = step(&mut w, &db, "start").unwrap();
        assert_eq!(s.seq, 1);
        assert!(w.poll(&mut |_, _| {}).is_none(), "nothing changed, no snapshot");

        insert(&c, 30);
        step(&mut w, &db, "commit").unwrap();
        insert(&c, 5);
        let s = step(&mut w, &db, "second commit").unwrap();
        assert!(!s.cost.wal.full, "an appended commit is read incrementally");
        let frames = s.analysis.wal.as_ref().unwrap().frames_total;
        assert!(s.cost.wal.frames_read < frames, "only new frames are read ({:?} of {frames})", s.cost.wal);

        // A checkpoint changes the -shm and the database file, not the WAL.
        c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())).unwrap();
        let s = step(&mut w, &db, "passive checkpoint").unwrap();
        assert_eq!(s.cost.wal.frames_read, 0);

        // RESTART: the next writer resets the WAL and overwrites it in place (same length).
        c.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(())).unwrap();
        step(&mut w, &db, "restart checkpoint");
        insert(&c, 3);
        let s = step(&mut w, &db, "first commit after reset").unwrap();
        assert!(s.cost.wal.full, "a new WAL header starts over");
        assert!(
            s.analysis.wal.as_ref().unwrap().frames.iter().any(|f| f.state == crate::analysis::wal::FrameState::Stale)
        );
        insert(&c, 2);
        let s = step(&mut w, &db, "second commit after reset").unwrap();
        assert!(!s.cost.wal.full);
        assert!(s.cost.wal.frames_kept > 0, "the stale tail is taken over, not re-read: {:?}", s.cost.wal);

        // A transaction in progress that spills, rewrites a page it already wrote, then commits.
        c.pragma_update(None, "cache_size", 2).unwrap();
        c.execute_batch("BEGIN").unwrap();
        for _ in 0..40 {
            c.execute("INSERT INTO t(v) VALUES (randomblob(700))", []).unwrap();
        }
        step(&mut w, &db, "spilled transaction");
        c.execute("UPDATE t SET v = randomblob(700) WHERE id = 1", []).unwrap();
        step(&mut w, &db, "rewrite inside the transaction");
        c.execute_batch("COMMIT").unwrap();
        step(&mut w, &db, "commit of the spilled transaction");

        // TRUNCATE empties the WAL; closing the last connection deletes -wal and -shm.
        c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
        let s = step(&mut w, &db, "truncate").unwrap();
        assert_eq!(s.analysis.wal.as_ref().unwrap().file_len, 0);
        insert(&c, 4);
        step(&mut w, &db, "commit after truncate");
        drop(c);
        let s = step(&mut w, &db, "close").unwrap();
        assert!(s.analysis.wal.is_none() && s.analysis.shm.is_none());
        assert!(s.file(FileKind::Wal).stamp.is_none());
        let c = writer(&db);
        insert(&c, 2);
        let s = step(&mut w, &db, "reopen").unwrap();
        assert!(s.analysis.wal.as_ref().is_some_and(|a| a.valid_frames > 0));
        let f = w.read_frame(1).unwrap();
        assert_eq!(f.header, s.analysis.wal.as_ref().unwrap().frames[0].header);
        assert_eq!(f.page.len(), 4096);
        // Deleted and re-created between two polls (the inode number may come back).
        drop(c);
        let c = writer(&db);
        insert(&c, 1);
        step(&mut w, &db, "closed and reopened between polls").unwrap();
        drop(c);
        let c = writer(&db);
        insert(&c, 2);
        let s2 = step(&mut w, &db, "again").unwrap();
        assert_eq!(s2.analysis.wal.as_ref().unwrap().commits.len(), 1);
    }

    #[test]
    fn a_long_wal_is_followed_through_bytes_damaged_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("d.db");
        let c = writer(&db);
        insert(&c, 200);
        let wal = dir.path().join("d.db-wal");
        let mut w = Watcher::new(Paths::resolve(&db));
        step(&mut w, &db, "start");
        // A foreign in-place change inside a committed frame: a live re-scan trusts committed
        // frames (SQLite never rewrites them within a generation), a forced full one does not.
        let mut bytes = std::fs::read(&wal).unwrap();
        let len = bytes.len();
        bytes[len - 100] ^= 0xff;
        std::fs::write(&wal, &bytes).unwrap();
        w.force_full_rescan();
        let s = step(&mut w, &db, "damaged last frame").unwrap();
        assert!(s.cost.wal.full);
        assert!(s.analysis.wal.unwrap().first_invalid.is_some());
        drop(c);
    }
}

#[cfg(test)]
mod torn_tests {
    use super::*;
    use crate::analysis::wal::analyze_wal_bytes;

    /// SQLite writes a frame's 24-byte header, then its page. A poll can read frames whose
    /// headers are complete and pages are not; once the pages land (headers unchanged), the
    /// next refresh must not keep the verdict of the torn read.
    #[test]
    fn frames_read_while_being_written_are_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        let c = rusqlite::Connection::open(&db).unwrap();
        c.pragma_update(None, "journal_mode", "wal").unwrap();
        c.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        c.execute_batch("CREATE TABLE t(v); BEGIN; INSERT INTO t VALUES (randomblob(9000)); COMMIT;").unwrap();
        let full = std::fs::read(dir.path().join("t.db-wal")).unwrap();
        let frame_len = 4096 + 24;
        let frames = (full.len() - 32) / frame_len;
        assert!(frames >= 4, "{frames} frames");
        for torn_from in 1..frames {
            let mut torn = full.clone();
            for k in torn_from..frames {
                let page = 32 + k * frame_len + 24;
                torn[page..page + 4096].fill(0);
            }
            let mut live = LiveWal::default();
            let (_, _) = live.refresh(&torn, torn.len() as u64, (1, 1), &mut |_, _| {});
            assert!(live.analysis().unwrap().valid_frames < frames as u32);
            let (changed, _) = live.refresh(&full, full.len() as u64, (1, 1), &mut |_, _| {});
            assert!(changed);
            assert_eq!(live.analysis(), Some(&analyze_wal_bytes(&full)), "torn from frame {}", torn_from + 1);
        }
    }
}

#[cfg(test)]
mod race_tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    /// A watcher polling as fast as it can next to a writer that commits, truncates, closes and
    /// reopens: once the writer is idle, a poll must agree with a full analysis.
    #[test]
    fn settles_on_the_truth_after_racing_a_writer() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("r.db");
        let stop = Arc::new(AtomicBool::new(false));
        let idle = Arc::new(AtomicBool::new(false));
        // Incremented each time the writer leaves an idle period: a comparison counts only if
        // the whole of it ran inside one idle period.
        let round_no = Arc::new(AtomicU64::new(0));
        let paths = Paths::resolve(&db);
        {
            let c = rusqlite::Connection::open(&db).unwrap();
            c.pragma_update(None, "journal_mode", "wal").unwrap();
            c.execute_batch("CREATE TABLE t(v)").unwrap();
        }
        let (s2, i2, db2, r2) = (stop.clone(), idle.clone(), db.clone(), round_no.clone());
        let poller = std::thread::spawn(move || {
            let mut w = Watcher::new(paths);
            w.recheck_every = 0;
            let mut checked = 0;
            while !s2.load(Ordering::SeqCst) {
                let epoch = r2.load(Ordering::SeqCst);
                let was_idle = i2.load(Ordering::SeqCst);
                w.poll(&mut |_, _| {});
                if was_idle && i2.load(Ordering::SeqCst) && r2.load(Ordering::SeqCst) == epoch {
                    w.poll(&mut |_, _| {});
                    let live = w.live_wal.analysis().cloned();
                    let full = crate::session::analyze_evidence(
                        &crate::source::Evidence::open(&db2).unwrap(),
                        crate::session::Options::default(),
                    )
                    .wal;
                    let key = |a: &Option<WalAnalysis>| {
                        a.as_ref().map(|a| (a.file_len, a.valid_frames, a.chain_valid_frames, a.frames.clone()))
                    };
                    let still_idle = i2.load(Ordering::SeqCst) && r2.load(Ordering::SeqCst) == epoch;
                    if still_idle && key(&live) != key(&full) {
                        let d = |a: &Option<WalAnalysis>| {
                            a.as_ref().map(|a| {
                                (
                                    a.header.map(|h| (h.checkpoint_seq, h.salt1, h.salt2)),
                                    a.frames
                                        .iter()
                                        .map(|f| (f.header.salt1, f.salt_match, f.link_valid))
                                        .collect::<Vec<_>>(),
                                )
                            })
                        };
                        panic!(
                            "live {:?}\nfull {:?}\nident {:?} stamp {:?}",
                            d(&live),
                            d(&full),
                            w.live_wal.ident(),
                            w.wal.stamp
                        );
                    }
                    checked += 1;
                    while i2.load(Ordering::SeqCst) && !s2.load(Ordering::SeqCst) {
                        std::thread::yield_now();
                    }
                }
            }
            checked
        });
        for round in 0..60 {
            let c = rusqlite::Connection::open(&db).unwrap();
            c.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
            for k in 0..(1 + round % 5) {
                c.execute("INSERT INTO t VALUES (randomblob(3000))", []).unwrap();
                if (round + k) % 7 == 0 {
                    c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
                }
            }
            if round % 2 == 0 {
                drop(c);
            } else {
                std::mem::forget(c);
            }
            idle.store(true, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(15));
            round_no.fetch_add(1, Ordering::SeqCst);
            idle.store(false, Ordering::SeqCst);
        }
        stop.store(true, Ordering::SeqCst);
        let checked = poller.join().unwrap();
        assert!(checked > 10, "only {checked} idle checks");
    }
}
