//! Analysis: what the parsers see, turned into facts about the three files together.
//!
//! Pure over its inputs: everything reads through [`ReadAt`], implemented for files and for
//! byte slices, so tests and fuzzers can feed bytes.

pub mod db;
pub mod findings;
pub mod journal;
pub mod shm;
pub mod wal;
pub mod wording;

use std::io;

pub use db::DbAnalysis;
pub use shm::ShmAnalysis;
pub use wal::WalAnalysis;

/// Positioned reads (the only way analysis reads anything).
pub trait ReadAt: Sync {
    /// Read into `buf` at `offset`; returns the bytes read (0 at end of file).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;

    /// The whole content as one slice, when the source already holds it in memory (a byte
    /// buffer or a memory map): readers then verify in place instead of copying.
    fn as_slice(&self) -> Option<&[u8]> {
        None
    }

    /// A hint that `len` bytes at `offset` are about to be read through [`ReadAt::as_slice`]
    /// (a memory map populates its page tables for the range in one call, on the calling
    /// thread, instead of faulting page by page). No effect by default.
    fn will_read(&self, _offset: u64, _len: u64) {}

    /// Fill as much of `buf` as the source allows.
    fn read_at_full(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            let Some(rest) = buf.get_mut(done..) else { break };
            match self.read_at(offset + done as u64, rest) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }
}

impl ReadAt for [u8] {
    fn as_slice(&self) -> Option<&[u8]> {
        Some(self)
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let Some(src) = usize::try_from(offset).ok().and_then(|o| self.get(o..)) else { return Ok(0) };
        let n = src.len().min(buf.len());
        if let (Some(d), Some(s)) = (buf.get_mut(..n), src.get(..n)) {
            d.copy_from_slice(s);
        }
        Ok(n)
    }
}

impl ReadAt for Vec<u8> {
    fn as_slice(&self) -> Option<&[u8]> {
        Some(self)
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.as_slice().read_at(offset, buf)
    }
}

/// A borrowed byte slice as a [`ReadAt`] source, with an optional read-ahead hint (a memory
/// map's bytes and its `will_read`).
pub struct Bytes<'a>(pub &'a [u8], pub Option<&'a (dyn Fn(u64, u64) + Sync)>);

impl ReadAt for Bytes<'_> {
    fn as_slice(&self) -> Option<&[u8]> {
        Some(self.0)
    }
    fn will_read(&self, offset: u64, len: u64) {
        if let Some(f) = self.1 {
            f(offset, len);
        }
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read_at(offset, buf)
    }
}

impl ReadAt for std::fs::File {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(self, buf, offset)
    }
}

/// The three files analysed together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Analysis {
    pub db: Option<DbAnalysis>,
    /// Why the database file could not be decoded, when it exists but is not usable.
    pub db_problem: Option<String>,
    pub wal: Option<WalAnalysis>,
    pub shm: Option<ShmAnalysis>,
}

/// Largest part of a -shm that is read: 64 MiB of segments index 8.4 million frames (a
/// 34 GB WAL of 4 KiB pages); a hostile larger file must not make us allocate without bound.
pub const MAX_SHM_READ: u64 = 64 << 20;

/// Inputs to [`analyze`]: each file as a reader and its length, any may be absent.
pub struct Inputs<'a> {
    pub db: Option<(&'a dyn ReadAt, u64)>,
    pub wal: Option<(&'a dyn ReadAt, u64)>,
    pub shm: Option<(&'a dyn ReadAt, u64)>,
}

/// Analyse the three files.
pub fn analyze(inp: &Inputs<'_>) -> Analysis {
    let (db, db_problem) = match inp.db {
        None => (None, None),
        Some((_, 0)) => (None, Some("the database file is empty (0 bytes)".to_string())),
        Some((r, len)) => {
            let mut first = vec![0u8; 65536.min(len as usize)];
            match r.read_at_full(0, &mut first) {
                Ok(n) => {
                    first.truncate(n);
                    match DbAnalysis::parse(&first, len) {
                        Ok(d) => (Some(d), None),
                        Err(e) => (None, Some(db_problem(&first, &e))),
                    }
                }
                Err(e) => (None, Some(format!("cannot read: {e}"))),
            }
        }
    };
    let wal = inp.wal.map(|(r, len)| wal::analyze_wal(r, len));
    let shm = inp.shm.map(|(r, len)| {
        let mut buf = vec![0u8; len.min(MAX_SHM_READ) as usize];
        match r.read_at_full(0, &mut buf) {
            Ok(n) => {
                buf.truncate(n);
                shm::analyze_shm(&buf, wal.as_ref())
            }
            Err(e) => {
                let mut a = shm::analyze_shm(&[], wal.as_ref());
                a.read_error = Some(e.to_string());
                a
            }
        }
    });
    Analysis { db, db_problem, wal, shm }
}

/// [`db_parse_message`], except that a file too short for the header which does not even
/// begin like one is "not an SQLite database", not "truncated" (a 6-byte text file).
fn db_problem(first: &[u8], e: &crate::format::ParseError) -> String {
    let magic = &crate::format::db_header::DB_MAGIC[..];
    let n = first.len().min(magic.len());
    let begins_like_a_database = first.get(..n).is_some_and(|h| magic.starts_with(h));
    if matches!(e.kind, crate::format::ParseErrorKind::Truncated { .. }) && !begins_like_a_database {
        return format!(
            "not an SQLite database ({}-byte {}, no \"SQLite format 3\" header)",
            first.len(),
            match crate::format::sniff::sniff(first) {
                crate::format::sniff::Sniffed::Other => "file".to_string(),
                s => format!("{} file", s.noun()),
            }
        );
    }
    db_parse_message(e)
}

/// One clear line for a database file that cannot be decoded.
pub fn db_parse_message(e: &crate::format::ParseError) -> String {
    use crate::format::ParseErrorKind;
    match e.kind {
        ParseErrorKind::Truncated { .. } => "truncated: shorter than the 100-byte database header".to_string(),
        ParseErrorKind::BadMagic => "not an SQLite database (no \"SQLite format 3\" header)".to_string(),
        _ => e.to_string(),
    }
}
