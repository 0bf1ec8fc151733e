//! Live evidence: poll the three files and keep an up-to-date analysis, re-reading only what
//! changed.
//!
//! Change detection polls (SQLite writes the `-shm` through a shared map, which file-change
//! notifications do not report): every poll stats the three paths (size, identity, mtime) and
//! re-reads the `-shm`'s first 136 bytes (both header copies and the checkpoint info).
//!
//! The WAL is re-read incrementally. Frames up to mxFrame never change within a generation
//! (SQLite only rewrites frames of the transaction in progress, and a reset changes the
//! header's salts), so a re-scan resumes at mxFrame + 1 with the running checksum stored
//! there, after checking that the WAL header and the frame at mxFrame are still the same.
//! Beyond the old chain break, frames that are unchanged together with their predecessor are
//! taken over without reading them again (an appending writer only touches the frontier). A
//! new header (a WAL reset), a different file, or a shorter file starts over.
//!
//! Reads are positioned reads into owned buffers — never a memory map — so a file truncated or
//! deleted meanwhile gives a short read, never SIGBUS. Nothing is written, created or locked.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::analysis::ReadAt;
use crate::analysis::wal::{WalAnalysis, WalScanner, analyze_wal, header_problem};
use crate::format::wal::{FRAME_HEADER_LEN, FrameHeader, WAL_HEADER_LEN, WalHeader, frame_geometry, frame_offset};
use crate::source::{FileStamp, open_read_only};

/// Largest block read at once while scanning (a whole number of frames is read).
const MAX_BLOCK: u64 = 4 << 20;
/// First block of an incremental re-scan, in frames (doubles up to `MAX_BLOCK`).
const FIRST_BLOCK_FRAMES: u64 = 16;

/// One of the three files, followed by path.
#[derive(Debug)]
pub struct Tracked {
    pub path: PathBuf,
    pub file: Option<File>,
    pub stamp: Option<FileStamp>,
}

impl Tracked {
    pub fn new(path: &Path) -> Self {
        Self { path: path.to_path_buf(), file: None, stamp: None }
    }

    /// Stat the path, (re)open it when it is new or was replaced, close it when it is gone.
    /// Returns true when its stamp (size, identity, mtime) changed.
    pub fn poll(&mut self) -> bool {
        let before = self.stamp;
        match std::fs::metadata(&self.path) {
            Ok(m) if m.is_file() => {
                let now = FileStamp::of(&m);
                let same_file = self.stamp.is_some_and(|s| (s.dev, s.ino) == (now.dev, now.ino));
                // A file deleted and re-created between two polls can get the same inode
                // number back: the one we hold open is then unlinked (no links left).
                let unlinked = self.file.as_ref().is_some_and(|f| f.metadata().map_or(true, |m| m.nlink() == 0));
                if self.file.is_none() || !same_file || unlinked {
                    self.file = open_read_only(&self.path).ok();
                }
                // The stamp of the file actually open (it may differ from the path's if the
                // file was replaced between stat and open).
                self.stamp = self.file.as_ref().and_then(|f| f.metadata().ok()).map(|m| FileStamp::of(&m));
                if self.stamp.is_none() {
                    self.file = None;
                }
            }
            _ => {
                self.file = None;
                self.stamp = None;
            }
        }
        self.stamp != before
    }

    pub fn len(&self) -> u64 {
        self.stamp.map_or(0, |s| s.len)
    }

    /// True when the file is missing or empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What one WAL refresh cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScanCost {
    /// Frames read from the file (taken-over frames are not counted).
    pub frames_read: u64,
    /// Frames taken over unchanged from the previous scan without reading them.
    pub frames_kept: u64,
    pub bytes_read: u64,
    /// True when the scan started over from frame 1.
    pub full: bool,
}

/// The WAL, scanned incrementally.
#[derive(Debug, Default)]
pub struct LiveWal {
    ident: Option<(u64, u64)>,
    scanner: Option<WalScanner>,
    last: Option<WalAnalysis>,
    buf: Vec<u8>,
}

impl LiveWal {
    /// Forget everything (the file disappeared).
    pub fn reset(&mut self) {
        self.ident = None;
        self.scanner = None;
        self.last = None;
    }

    /// The identity (device, inode) of the file the analysis is of.
    pub fn ident(&self) -> Option<(u64, u64)> {
        self.ident
    }

    /// The last analysis.
    pub fn analysis(&self) -> Option<&WalAnalysis> {
        self.last.as_ref()
    }

    /// Bring the analysis up to date with the file as it is now (`len` bytes, identity
    /// `ident` = (dev, inode)). Returns whether the analysis changed, and the cost.
    pub fn refresh<R: ReadAt + ?Sized>(
        &mut self,
        r: &R,
        len: u64,
        ident: (u64, u64),
        progress: &mut dyn FnMut(u64, u64),
    ) -> (bool, ScanCost) {
        let mut cost = ScanCost::default();
        let mut head = [0u8; WAL_HEADER_LEN];
        let got = r.read_at_full(0, &mut head).unwrap_or(0);
        cost.bytes_read += got as u64;
        let header = WalHeader::parse(head.get(..got).unwrap_or(&[])).ok();
        let problem = header_problem(len, header.as_ref());
        let frame_len = header.and_then(|h| h.frame_len());
        let (Some(h), Some(frame_len)) = (header, frame_len) else {
            // No frame layout: nothing beyond the header is read.
            let a = analyze_wal(r, len);
            cost.full = true;
            let changed = self.last.as_ref() != Some(&a);
            self.ident = Some(ident);
            self.scanner = None;
            self.last = Some(a);
            return (changed, cost);
        };
        let (frames_total, trailing) = frame_geometry(len, h.page_size);
        let old = self.last.take();
        let mut resumed = None;
        if let (Some(mut sc), Some(o)) = (self.scanner.take(), old.as_ref()) {
            let mx = sc.valid_frames();
            // Same file, same header, not shorter, and judged the same way: a WAL that was
            // only its header (too short for SQLite to use) is judged anew once frames follow.
            let same = self.ident == Some(ident)
                && sc.header().raw == h.raw
                && len >= o.file_len
                && o.header_problem == problem
                && u64::from(mx) <= frames_total;
            if same && self.anchor_holds(r, &sc, mx, h.page_size, &mut cost) {
                let old_chain = sc.chain_valid_frames();
                if sc.rewind(mx) {
                    resumed = Some((sc, old_chain));
                }
            }
        }
        let (mut sc, keep) = match resumed {
            Some((sc, old_chain)) => (sc, old.as_ref().map(|o| (o, old_chain))),
            None => {
                cost.full = true;
                (WalScanner::new(h, problem.is_none()), None)
            }
        };
        let read_error = self.scan(r, &mut sc, frames_total, frame_len, keep, &mut cost, progress);
        let mut a = sc.finish(len, trailing, problem);
        a.read_error = read_error;
        let changed = old.as_ref() != Some(&a);
        self.ident = Some(ident);
        self.scanner = Some(sc);
        self.last = Some(a);
        (changed, cost)
    }

    /// The frame at mxFrame (where the re-scan resumes) is still the one scanned before.
    fn anchor_holds<R: ReadAt + ?Sized>(
        &self,
        r: &R,
        sc: &WalScanner,
        mx: u32,
        page_size: u32,
        cost: &mut ScanCost,
    ) -> bool {
        if mx == 0 {
            return true;
        }
        let mut hb = [0u8; FRAME_HEADER_LEN];
        let got = r.read_at_full(frame_offset(mx, page_size), &mut hb).unwrap_or(0);
        cost.bytes_read += got as u64;
        got == FRAME_HEADER_LEN && sc.record(mx).is_some_and(|rec| rec.header == FrameHeader::parse(&hb))
    }

    /// Feed frames from the scanner's position to `frames_total`, taking over unchanged
    /// frames beyond the old chain break from `keep` (the previous analysis and its
    /// chain-valid length). Returns a read error, if the file could not be read to its end.
    #[allow(clippy::too_many_arguments)]
    fn scan<R: ReadAt + ?Sized>(
        &mut self,
        r: &R,
        sc: &mut WalScanner,
        frames_total: u64,
        frame_len: u64,
        keep: Option<(&WalAnalysis, u32)>,
        cost: &mut ScanCost,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Option<String> {
        if keep.is_none() && sc.frames_seen() == 0 {
            // A first (or restarted) scan: every core, the fast path.
            let err = crate::analysis::wal::scan_all(r, sc, frame_len, frames_total);
            let n = u64::from(sc.frames_seen());
            cost.frames_read += n;
            cost.bytes_read += n * frame_len;
            progress(n, frames_total);
            return err;
        }
        let max_block = (MAX_BLOCK / frame_len).max(1);
        let mut block = if keep.is_some() { FIRST_BLOCK_FRAMES.min(max_block) } else { max_block };
        let mut next = u64::from(sc.frames_seen()) + 1;
        // Whether frame next-1 is unchanged since the previous scan (the anchor is).
        let mut prev_same = keep.is_some();
        while next <= frames_total {
            let n = block.min(frames_total - next + 1);
            let want = usize::try_from(n * frame_len).unwrap_or(0);
            if self.buf.len() < want {
                self.buf.resize(want, 0);
            }
            let Some(dst) = self.buf.get_mut(..want) else { break };
            let off = WAL_HEADER_LEN as u64 + (next - 1) * frame_len;
            let got = match r.read_at_full(off, dst) {
                Ok(g) => g,
                Err(e) => return Some(e.to_string()),
            };
            cost.bytes_read += got as u64;
            let whole = got as u64 / frame_len;
            let mut resume_at = None;
            for chunk in dst.get(..(whole * frame_len) as usize).unwrap_or(&[]).chunks_exact(frame_len as usize) {
                let i = next;
                let same = keep.is_some_and(|(o, _)| {
                    let hb: [u8; FRAME_HEADER_LEN] = crate::format::bytes::array_at(chunk, 0).unwrap_or([0; 24]);
                    o.frame(i as u32).is_some_and(|rec| rec.header == FrameHeader::parse(&hb))
                });
                sc.push(chunk);
                cost.frames_read += 1;
                next += 1;
                if let (true, true, Some((o, old_chain))) = (same, prev_same, keep)
                    && i >= u64::from(old_chain) + 2
                {
                    // Unchanged with its predecessor, beyond where the writer writes: take
                    // over the following frames of the previous scan, as long as their link
                    // verified then. A frame whose link failed may have been read while it
                    // was being written (SQLite writes a frame's header before its page), so
                    // it is read again.
                    let end = o.frames_total.min(frames_total);
                    while next <= end {
                        match o.frame(next as u32) {
                            Some(rec) if rec.link_valid => {
                                sc.push_known(rec);
                                cost.frames_kept += 1;
                                next += 1;
                            }
                            _ => break,
                        }
                    }
                    resume_at = Some(next);
                    break;
                }
                prev_same = same;
            }
            if let Some(at) = resume_at {
                // Frame at-1 is unchanged (taken over or just compared).
                next = at;
                prev_same = true;
                block = FIRST_BLOCK_FRAMES.min(max_block);
                continue;
            }
            if whole < n {
                return Some(format!("file shrank while reading: {} of {} frames read", next - 1, frames_total));
            }
            progress(next - 1, frames_total);
            block = (block * 2).min(max_block);
        }
        None
    }
}
