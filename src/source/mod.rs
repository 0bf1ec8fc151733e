//! Evidence-safe access to a database's three files.
//!
//! - Paths are resolved from whichever of the three the user names (`db`, `db-wal`, `db-shm`).
//! - Files are opened read-only (with `O_NOATIME` where the kernel allows it, so not even the
//!   access time changes), never created, locked, written or truncated, and never handed to
//!   SQLite.
//! - Reads are positioned reads of large blocks into owned buffers: a file that another process
//!   truncates meanwhile yields a short read, never a SIGBUS (which a memory map would raise).

pub mod mmap;

use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

pub mod deleted;
pub mod env;
pub mod identity;
pub mod locks;
pub mod walk;

/// One file of an evidence set: the database, its `-wal` or its `-shm`. The one name for this
/// notion everywhere (paths, findings, locks).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileKind {
    Db,
    Wal,
    Shm,
}

impl FileKind {
    /// Every kind, in the order files are reported.
    pub const ALL: [Self; 3] = [Self::Db, Self::Wal, Self::Shm];

    /// The human name: "database", "-wal", "-shm".
    pub fn name(self) -> &'static str {
        match self {
            Self::Db => "database",
            Self::Wal => "-wal",
            Self::Shm => "-shm",
        }
    }

    /// The JSON key: "db", "wal", "shm".
    pub fn key(self) -> &'static str {
        match self {
            Self::Db => "db",
            Self::Wal => "wal",
            Self::Shm => "shm",
        }
    }
}

/// Identity and size of a file at the moment it was opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileStamp {
    pub len: u64,
    pub dev: u64,
    pub ino: u64,
    pub mtime_ns: i128,
}

impl FileStamp {
    pub fn of(m: &Metadata) -> Self {
        Self {
            len: m.len(),
            dev: m.dev(),
            ino: m.ino(),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
        }
    }
}

/// One opened evidence file.
#[derive(Debug)]
pub struct EvidenceFile {
    pub path: PathBuf,
    pub file: File,
    pub stamp: FileStamp,
}

/// An error that stops the analysis altogether (exit status 2).
#[derive(Debug)]
pub struct SourceError {
    pub path: PathBuf,
    pub message: String,
}

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}",
            crate::format::escape::escape_path(&self.path),
            crate::format::escape::escape(&self.message)
        )
    }
}

impl std::error::Error for SourceError {}

impl SourceError {
    pub fn new(path: &Path, message: impl Into<String>) -> Self {
        Self { path: path.to_path_buf(), message: message.into() }
    }
    fn io(path: &Path, e: &io::Error) -> Self {
        let message = match e.kind() {
            io::ErrorKind::NotFound => "no such file".to_string(),
            io::ErrorKind::PermissionDenied => "permission denied (cannot read)".to_string(),
            _ => format!("cannot read: {e}"),
        };
        Self::new(path, message)
    }
}

const O_NOATIME: i32 = libc::O_NOATIME;

/// Open a file read-only without changing its access time when permitted.
pub fn open_read_only(path: &Path) -> io::Result<File> {
    match OpenOptions::new().read(true).custom_flags(O_NOATIME).open(path) {
        Ok(f) => Ok(f),
        // O_NOATIME is refused for files we do not own (EPERM): fall back to a plain open.
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => OpenOptions::new().read(true).open(path),
        Err(e) => Err(e),
    }
}

impl EvidenceFile {
    /// Open `path` read-only. A directory or a non-regular file is refused.
    pub fn open(path: &Path) -> Result<Self, SourceError> {
        let meta = std::fs::metadata(path).map_err(|e| SourceError::io(path, &e))?;
        if meta.is_dir() {
            return Err(SourceError::new(path, "is a directory, not a file"));
        }
        if !meta.is_file() {
            return Err(SourceError::new(path, "is not a regular file"));
        }
        let file = open_read_only(path).map_err(|e| SourceError::io(path, &e))?;
        let meta = file.metadata().map_err(|e| SourceError::io(path, &e))?;
        Ok(Self { path: path.to_path_buf(), stamp: FileStamp::of(&meta), file })
    }

    /// Open `path` if it exists; `Ok(None)` when it does not.
    pub fn open_optional(path: &Path) -> Result<Option<Self>, SourceError> {
        match std::fs::symlink_metadata(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            _ => Self::open(path).map(Some),
        }
    }

    /// Tell the kernel the file will be read sequentially (a larger read-ahead window for cold
    /// reads). Advice only: nothing about the file changes.
    pub fn advise_sequential(&self) {
        let _ = rustix::fs::fadvise(&self.file, 0, None, rustix::fs::Advice::Sequential);
    }

    /// Size when opened.
    pub fn len(&self) -> u64 {
        self.stamp.len
    }

    pub fn is_empty(&self) -> bool {
        self.stamp.len == 0
    }

    /// Read up to `len` bytes at `offset`; shorter when the file ends (or was truncated).
    pub fn read_at(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        let n = read_full_at(&self.file, &mut buf, offset)?;
        buf.truncate(n);
        Ok(buf)
    }

    /// Read the whole file (as it is now, up to `limit` bytes).
    pub fn read_all(&self, limit: u64) -> io::Result<Vec<u8>> {
        let len = self.file.metadata()?.len().min(limit);
        self.read_at(0, usize::try_from(len).unwrap_or(usize::MAX))
    }
}

/// Fill `buf` from `offset` with as many positioned reads as needed; returns the bytes read
/// (fewer than `buf.len()` only at end of file).
pub fn read_full_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut done = 0usize;
    while done < buf.len() {
        let Some(rest) = buf.get_mut(done..) else { break };
        match file.read_at(rest, offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// The three paths that belong together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paths {
    pub db: PathBuf,
    pub wal: PathBuf,
    pub shm: PathBuf,
    /// Which one the user named.
    pub named: FileKind,
    /// The named file was recognised by its content under a name that pairs with nothing (a
    /// WAL stored as `wal-00` or `0000000000000001.wal`, a -shm as `shm`): the roles not
    /// given explicitly have placeholder paths (`<named>.absent-db`, ...) and are never
    /// opened.
    pub lone: bool,
}

/// Files named explicitly (`--db`, `--wal`, `--shm`), pairing files whose names do not match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pairing {
    pub db: Option<PathBuf>,
    pub wal: Option<PathBuf>,
    pub shm: Option<PathBuf>,
}

impl Pairing {
    pub fn get(&self, role: FileKind) -> Option<&Path> {
        match role {
            FileKind::Db => self.db.as_deref(),
            FileKind::Wal => self.wal.as_deref(),
            FileKind::Shm => self.shm.as_deref(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.db.is_none() && self.wal.is_none() && self.shm.is_none()
    }
}

/// What a file's first bytes say it is ([`crate::format::sniff::sniff`]); `Other` when it
/// cannot be read.
pub fn sniff_file(path: &Path) -> crate::format::sniff::Sniffed {
    use crate::format::sniff::{SNIFF_LEN, Sniffed, sniff};
    let Ok(f) = open_read_only(path) else { return Sniffed::Other };
    let mut head = [0u8; SNIFF_LEN];
    match read_full_at(&f, &mut head, 0) {
        Ok(n) => sniff(head.get(..n).unwrap_or(&[])),
        Err(_) => Sniffed::Other,
    }
}

impl Paths {
    /// Resolve the siblings of whichever file `path` names, by its `-wal`/`-shm` suffix. The
    /// database's symlinks are followed as SQLite follows them ([`identity::follow_links`]): its
    /// `-wal` and `-shm` are the ones beside the real file.
    pub fn resolve(path: &Path) -> Self {
        use std::os::unix::ffi::OsStrExt;
        let s = path.as_os_str().as_bytes();
        let base_of = |b: &[u8]| PathBuf::from(std::ffi::OsStr::from_bytes(b));
        let (base, named) = if let Some(b) = s.strip_suffix(b"-wal") {
            (base_of(b), FileKind::Wal)
        } else if let Some(b) = s.strip_suffix(b"-shm") {
            (base_of(b), FileKind::Shm)
        } else {
            (path.to_path_buf(), FileKind::Db)
        };
        let base = identity::follow_links(&base);
        let path = &if named == FileKind::Db { base.clone() } else { path.to_path_buf() };
        // Keep the exact bytes of a non-UTF-8 path the user named.
        let named_path = path.to_path_buf();
        let with = |suffix: &str| {
            let mut p = base.clone().into_os_string();
            p.push(suffix);
            PathBuf::from(p)
        };
        let (db, wal, shm) = match named {
            FileKind::Db => (named_path.clone(), with("-wal"), with("-shm")),
            FileKind::Wal => (base.clone(), named_path.clone(), with("-shm")),
            FileKind::Shm => (base.clone(), with("-wal"), named_path.clone()),
        };
        Self { db, wal, shm, named, lone: false }
    }

    /// Resolve by name, then by content: a file whose name pairs it as the database (no
    /// `-wal`/`-shm` suffix) but whose first bytes are a WAL's or a -shm's is analysed as that,
    /// alone (its siblings by name would be a database's). Explicit `pairing` paths then take
    /// their roles. Returns the paths and, when the content decided, one sentence saying so.
    pub fn resolve_paired(path: &Path, pairing: &Pairing) -> Result<(Self, Option<String>), SourceError> {
        use crate::format::sniff::Sniffed;
        let mut p = Self::resolve(path);
        let mut note = None;
        if p.named == FileKind::Db {
            let by_content = match sniff_file(path) {
                Sniffed::Wal { .. } => Some(FileKind::Wal),
                Sniffed::Shm { .. } => Some(FileKind::Shm),
                _ => None,
            };
            if let Some(kind) = by_content {
                let absent = |suffix: &str| {
                    let mut s = path.as_os_str().to_owned();
                    s.push(suffix);
                    PathBuf::from(s)
                };
                p = Self {
                    db: absent(".absent-db"),
                    wal: if kind == FileKind::Wal { path.to_path_buf() } else { absent(".absent-wal") },
                    shm: if kind == FileKind::Shm { path.to_path_buf() } else { absent(".absent-shm") },
                    named: kind,
                    lone: true,
                };
                let noun = if kind == FileKind::Wal { "a WAL" } else { "a -shm (wal-index)" };
                note = Some(format!(
                    "{} is {noun} by its content; no file pairs with it by name, so it is analysed alone{}",
                    crate::format::escape::escape_path(path),
                    match kind {
                        FileKind::Wal => " (pair a database with --db FILE, a -shm with --shm FILE)",
                        _ => " (pair a database with --db FILE, a WAL with --wal FILE)",
                    }
                ));
            }
        }
        for role in FileKind::ALL {
            let Some(given) = pairing.get(role) else { continue };
            if role == p.named && given != path {
                return Err(SourceError::new(
                    given,
                    format!(
                        "--{} names a second {} file: {} already is the {}",
                        role.key(),
                        role.name(),
                        crate::format::escape::escape_path(path),
                        role.name()
                    ),
                ));
            }
            match role {
                FileKind::Db => p.db = given.to_path_buf(),
                FileKind::Wal => p.wal = given.to_path_buf(),
                FileKind::Shm => p.shm = given.to_path_buf(),
            }
        }
        Ok((p, note))
    }

    pub fn get(&self, role: FileKind) -> &Path {
        match role {
            FileKind::Db => &self.db,
            FileKind::Wal => &self.wal,
            FileKind::Shm => &self.shm,
        }
    }
}

/// The opened evidence: any of the three may be absent.
#[derive(Debug)]
pub struct Evidence {
    pub paths: Paths,
    pub db: Option<EvidenceFile>,
    pub wal: Option<EvidenceFile>,
    pub shm: Option<EvidenceFile>,
    /// The rollback journal beside the database (`<db>-journal`), when it exists.
    pub journal: Option<EvidenceFile>,
    /// How the files were paired, when that is not by their names (said once in the output).
    pub pairing_note: Option<String>,
}

impl Evidence {
    /// Open whatever exists of the three. The named file must exist and be a readable regular
    /// file; the others are optional.
    pub fn open(path: &Path) -> Result<Self, SourceError> {
        Self::open_paired(path, &Pairing::default())
    }

    /// [`Evidence::open`] with files paired explicitly, and the named file recognised by its
    /// content ([`Paths::resolve_paired`]). Explicitly paired files must exist.
    pub fn open_paired(path: &Path, pairing: &Pairing) -> Result<Self, SourceError> {
        let (paths, pairing_note) = Paths::resolve_paired(path, pairing)?;
        // The named file first, so its problem is the one reported.
        let named = EvidenceFile::open(paths.get(paths.named))?;
        let slot = |role: FileKind| -> Result<Option<EvidenceFile>, SourceError> {
            if role == paths.named {
                Ok(None)
            } else if let Some(given) = pairing.get(role) {
                EvidenceFile::open(given).map(Some)
            } else if paths.lone {
                Ok(None)
            } else {
                EvidenceFile::open_optional(paths.get(role))
            }
        };
        let (mut db, mut wal, mut shm) = (slot(FileKind::Db)?, slot(FileKind::Wal)?, slot(FileKind::Shm)?);
        match paths.named {
            FileKind::Db => db = Some(named),
            FileKind::Wal => wal = Some(named),
            FileKind::Shm => shm = Some(named),
        }
        let journal = if paths.lone || db.is_none() {
            None
        } else {
            let mut j = paths.db.clone().into_os_string();
            j.push("-journal");
            EvidenceFile::open_optional(Path::new(&j)).ok().flatten()
        };
        Ok(Self { paths, db, wal, shm, journal, pairing_note })
    }

    pub fn file(&self, role: FileKind) -> Option<&EvidenceFile> {
        match role {
            FileKind::Db => self.db.as_ref(),
            FileKind::Wal => self.wal.as_ref(),
            FileKind::Shm => self.shm.as_ref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_siblings() {
        let p = Paths::resolve(Path::new("/x/app.db-wal"));
        assert_eq!(p.db, Path::new("/x/app.db"));
        assert_eq!(p.shm, Path::new("/x/app.db-shm"));
        assert_eq!(p.named, FileKind::Wal);
        let p = Paths::resolve(Path::new("app.db"));
        assert_eq!(p.wal, Path::new("app.db-wal"));
        assert_eq!(p.named, FileKind::Db);
        let p = Paths::resolve(Path::new("a-shm"));
        assert_eq!((p.db.as_path(), p.named), (Path::new("a"), FileKind::Shm));
    }
}
