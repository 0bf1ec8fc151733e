//! Writing outputs safely.
//!
//! - An output is never one of the inputs: not the database, its `-wal`, `-shm` or `-journal`
//!   (whether they exist or not — creating a `-shm` or `-journal` beside evidence would change
//!   what SQLite does with it), compared by canonical path and, for existing files, by device
//!   and inode, whatever name reached them (hard links, symlinks, `/dev/stdout`, a standard
//!   output redirected onto the evidence). `--force` never lifts this.
//! - An output never replaces anything but a regular file: a directory, socket or block device
//!   is refused; a character device (`/dev/null`, a terminal) or a FIFO the user names is
//!   written *through* (opened for writing, never created, truncated or renamed over); `-`
//!   means standard output.
//! - An existing regular file is never replaced without `force`.
//! - Bytes for a regular file go to a temporary file created exclusively beside the target, are
//!   synced, and the file is then linked (no `force`: fails if the target appeared meanwhile) or
//!   renamed (`force`) into place; the target is checked again right before. A symlinked target
//!   is resolved first, so the file it names is replaced, never the link. Until
//!   [`Output::commit`], dropping the writer removes the temporary file, so a failure leaves
//!   nothing behind (bytes written through a device, FIFO or standard output cannot be withdrawn).

use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use super::RepairError;
use crate::format::escape::escape_path;
use crate::source::Evidence;

/// One protected location: normalised path, (device, inode) when it exists, and what it is.
type ProtectedEntry = (PathBuf, Option<(u64, u64)>, &'static str);

/// Paths an output must not be.
#[derive(Clone, Debug, Default)]
pub struct Protected {
    entries: Vec<ProtectedEntry>,
}

impl Protected {
    /// The evidence's database, `-wal`, `-shm` and `-journal`, present or not, and the identity
    /// of every evidence file opened.
    pub fn of(ev: &Evidence) -> Self {
        let mut p = Self::default();
        let mut journal = ev.paths.db.clone().into_os_string();
        journal.push("-journal");
        p.add(&ev.paths.db, "the input database");
        p.add(&ev.paths.wal, "the input's -wal");
        p.add(&ev.paths.shm, "the input's -shm");
        p.add(Path::new(&journal), "the input's rollback journal");
        for f in [&ev.db, &ev.wal, &ev.shm].into_iter().flatten() {
            p.entries.push((normalize(&f.path), Some((f.stamp.dev, f.stamp.ino)), "an input file"));
        }
        p
    }

    /// Protect one more path (e.g. the main output, when checking the report's path).
    pub fn add(&mut self, path: &Path, what: &'static str) {
        if path == Path::new(STDOUT) {
            self.entries.push((PathBuf::from(STDOUT), None, what));
            return;
        }
        let id = fs::metadata(path).ok().map(|m| (m.dev(), m.ino()));
        self.entries.push((normalize(path), id, what));
    }

    /// What a file of this identity would clobber, if anything.
    fn clash_id(&self, id: (u64, u64)) -> Option<&'static str> {
        self.entries.iter().find(|(_, i, _)| *i == Some(id)).map(|e| e.2)
    }

    /// What `target` would clobber, if anything.
    fn clash(&self, target: &Path) -> Option<&'static str> {
        let t = normalize(target);
        if let Some(e) = self.entries.iter().find(|(p, _, _)| *p == t) {
            return Some(e.2);
        }
        fs::metadata(target).ok().and_then(|m| self.clash_id((m.dev(), m.ino())))
    }
}

/// The name that means standard output.
pub const STDOUT: &str = "-";

/// Where an output goes, decided by [`check_target`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// Standard output (`-`).
    Stdout,
    /// An existing character device or FIFO, written through (never created or replaced).
    Through(PathBuf),
    /// A regular file (absent, or existing and replaced with `force`), written beside and
    /// moved into place; the path is the file itself, symlinks resolved.
    File(PathBuf),
}

impl Destination {
    /// True when the bytes are written as they come (no temporary file to withdraw).
    pub fn is_streamed(&self) -> bool {
        !matches!(self, Self::File(_))
    }
}

/// An absolute form of `p` with its directory canonicalised (symlinks resolved) and its file
/// name kept, so two spellings of one location compare equal even when the file does not exist.
pub fn normalize(p: &Path) -> PathBuf {
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().map(|d| d.join(p)).unwrap_or_else(|_| p.to_path_buf())
    };
    if let Ok(c) = fs::canonicalize(&abs) {
        return c;
    }
    match (abs.parent(), abs.file_name()) {
        (Some(dir), Some(name)) => fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf()).join(name),
        _ => abs,
    }
}

fn refused(target: &Path, why: impl std::fmt::Display) -> RepairError {
    RepairError::Output(format!("{}: {why}", escape_path(target)))
}

/// What kind of existing thing an output may not replace, if `m` is one.
fn forbidden_kind(m: &Metadata) -> Option<&'static str> {
    let t = m.file_type();
    if t.is_dir() {
        Some("is a directory")
    } else if t.is_socket() {
        Some("is a socket; refusing to replace it")
    } else if t.is_block_device() {
        Some("is a block device; refusing to write to it")
    } else {
        None
    }
}

/// (device, inode) of standard output, when it is open.
fn stdout_identity() -> Option<(u64, u64)> {
    use std::os::fd::AsFd;
    let out = io::stdout();
    let st = rustix::fs::fstat(out.as_fd()).ok()?;
    Some((st.st_dev, st.st_ino))
}

/// Check, before any work is done, that `target` may be written and decide how: not an input
/// (by name or identity, with or without `force`), not a directory, socket or block device,
/// its directory exists, and an existing regular file only with `force`.
pub fn check_target(target: &Path, protected: &Protected, force: bool, what: &str) -> Result<Destination, RepairError> {
    if let Some(clash) = protected.clash(target) {
        return Err(refused(target, format_args!("refusing to write the {what} over {clash}")));
    }
    if target == Path::new(STDOUT) {
        if let Some(id) = stdout_identity()
            && let Some(clash) = protected.clash_id(id)
        {
            return Err(RepairError::Output(format!("standard output is {clash}: refusing to write the {what} to it")));
        }
        return Ok(Destination::Stdout);
    }
    let link = fs::symlink_metadata(target);
    let followed = fs::metadata(target);
    match (link, followed) {
        (Err(e), _) if e.kind() == io::ErrorKind::NotFound => {
            let dir = parent_dir(target);
            if !dir.is_dir() {
                return Err(refused(&dir, "no such directory"));
            }
            Ok(Destination::File(target.to_path_buf()))
        }
        (Err(e), _) => Err(refused(target, e)),
        (Ok(l), Err(_)) if l.file_type().is_symlink() => {
            Err(refused(target, "is a symbolic link to nothing; refusing to write through it"))
        }
        (Ok(_), Err(e)) => Err(refused(target, e)),
        (Ok(_), Ok(m)) => {
            if let Some(why) = forbidden_kind(&m) {
                return Err(refused(target, why));
            }
            let t = m.file_type();
            if t.is_char_device() || t.is_fifo() {
                return Ok(Destination::Through(target.to_path_buf()));
            }
            if !force {
                return Err(refused(target, "already exists; use --force to replace it"));
            }
            // Replace the file a symlink names, never the link itself.
            let real = fs::canonicalize(target).map_err(|e| refused(target, e))?;
            Ok(Destination::File(real))
        }
    }
}

fn parent_dir(target: &Path) -> PathBuf {
    match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Write `bytes` whole to the destination [`check_target`] chose, and commit it (a regular file
/// appears only complete; a stream is written through).
pub fn write_whole(dest: &Destination, protected: &Protected, force: bool, bytes: &[u8]) -> Result<(), RepairError> {
    let mut o = Output::open(dest, protected, force)?;
    o.write_all(bytes)?;
    o.commit()
}

/// An output being written: through standard output or a device/FIFO, or to a temporary file
/// beside a regular file's place.
#[derive(Debug)]
pub enum Output {
    Stdout(io::Stdout),
    Through { path: PathBuf, file: File },
    File(AtomicOutput),
}

impl Output {
    /// Open the destination [`check_target`] chose. A device or FIFO is opened without
    /// creating or truncating, then checked again by what was actually opened.
    pub fn open(dest: &Destination, protected: &Protected, force: bool) -> Result<Self, RepairError> {
        match dest {
            Destination::Stdout => Ok(Self::Stdout(io::stdout())),
            Destination::Through(path) => {
                let file = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| RepairError::io(path, "open for writing", e))?;
                let m = file.metadata().map_err(|e| RepairError::io(path, "stat", e))?;
                let t = m.file_type();
                if !(t.is_char_device() || t.is_fifo()) {
                    return Err(refused(path, "changed into something other than a device or FIFO; refusing"));
                }
                if let Some(clash) = protected.clash_id((m.dev(), m.ino())) {
                    return Err(refused(path, format_args!("is {clash}; refusing")));
                }
                Ok(Self::Through { path: path.clone(), file })
            }
            Destination::File(path) => {
                let mut o = AtomicOutput::create(path, force)?;
                o.protected = Some(protected.clone());
                Ok(Self::File(o))
            }
        }
    }

    /// The path named in error messages.
    pub fn display_path(&self) -> PathBuf {
        match self {
            Self::Stdout(_) => PathBuf::from("<standard output>"),
            Self::Through { path, .. } => path.clone(),
            Self::File(o) => o.tmp.clone(),
        }
    }

    /// Write a whole buffer.
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<(), RepairError> {
        let p = self.display_path();
        Write::write_all(self, bytes).map_err(|e| RepairError::io(&p, "write", e))
    }

    /// Finish: flush a stream, or sync and move a regular file into place.
    pub fn commit(self) -> Result<(), RepairError> {
        match self {
            Self::Stdout(s) => {
                let mut l = s.lock();
                l.flush().map_err(|e| RepairError::io(Path::new("<standard output>"), "write", e))
            }
            Self::Through { path, mut file } => file.flush().map_err(|e| RepairError::io(&path, "write", e)),
            Self::File(o) => o.commit(),
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Stdout(s) => s.lock().write(buf),
            Self::Through { file, .. } => file.write(buf),
            Self::File(o) => match o.file.as_mut() {
                Some(f) => f.write(buf),
                None => Err(io::Error::other("already closed")),
            },
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Self::Stdout(s) => s.lock().write_all(buf),
            Self::Through { file, .. } => file.write_all(buf),
            Self::File(o) => match o.file.as_mut() {
                Some(f) => f.write_all(buf),
                None => Err(io::Error::other("already closed")),
            },
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Stdout(s) => s.lock().flush(),
            Self::Through { file, .. } => file.flush(),
            Self::File(o) => o.file.as_mut().map_or(Ok(()), Write::flush),
        }
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A file being written beside its target; moved into place by [`AtomicOutput::commit`],
/// removed if dropped before.
#[derive(Debug)]
pub struct AtomicOutput {
    target: PathBuf,
    tmp: PathBuf,
    file: Option<File>,
    force: bool,
    /// Checked again right before the move (identity of whatever the target is by then).
    protected: Option<Protected>,
}

impl AtomicOutput {
    /// Create the temporary file (exclusively: an existing file of that name is never reused).
    pub fn create(target: &Path, force: bool) -> Result<Self, RepairError> {
        let dir = parent_dir(target);
        let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "output".into());
        let mut last_err = None;
        for _ in 0..100 {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let tmp = dir.join(format!(".{name}.walinspect-{}-{n}.tmp", std::process::id()));
            match OpenOptions::new().write(true).create_new(true).open(&tmp) {
                Ok(file) => {
                    return Ok(Self { target: target.to_path_buf(), tmp, file: Some(file), force, protected: None });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = Some(e),
                Err(e) => return Err(RepairError::io(&tmp, "create a temporary file", e)),
            }
        }
        let e = last_err.unwrap_or_else(|| io::Error::other("no free temporary name"));
        Err(RepairError::io(&dir, "create a temporary file", e))
    }

    /// The file to write to.
    pub fn file(&mut self) -> Result<&mut File, RepairError> {
        let tmp = self.tmp.clone();
        self.file.as_mut().ok_or_else(|| RepairError::io(&tmp, "write", io::Error::other("already closed")))
    }

    /// Path of the temporary file.
    pub fn temp_path(&self) -> &Path {
        &self.tmp
    }

    /// Write a whole buffer.
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<(), RepairError> {
        use std::io::Write;
        let tmp = self.tmp.clone();
        self.file()?.write_all(bytes).map_err(|e| RepairError::io(&tmp, "write", e))
    }

    /// Right before a rename: whatever is at the target now must be a regular file (or nothing)
    /// and not a protected one. A rename replaces only a directory entry, but it must never
    /// take the place of a device, FIFO, socket, directory or symlink, nor of the evidence.
    fn recheck(&self) -> Result<(), RepairError> {
        match fs::symlink_metadata(&self.target) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(refused(&self.target, e)),
            Ok(m) if !m.file_type().is_file() => {
                Err(refused(&self.target, "is no longer a regular file; refusing to replace it"))
            }
            Ok(m) => match self.protected.as_ref().and_then(|p| p.clash_id((m.dev(), m.ino()))) {
                Some(clash) => Err(refused(&self.target, format_args!("is {clash}; refusing to replace it"))),
                None => Ok(()),
            },
        }
    }

    /// Sync and move into place. Without `force`, fails (leaving nothing) if the target exists.
    pub fn commit(mut self) -> Result<(), RepairError> {
        let file = self.file.take();
        if let Some(f) = file {
            f.sync_all().map_err(|e| RepairError::io(&self.tmp, "sync", e))?;
        }
        if self.force {
            self.recheck()?;
            fs::rename(&self.tmp, &self.target)
                .map_err(|e| RepairError::io(&self.target, "rename the output into place", e))?;
        } else {
            match fs::hard_link(&self.tmp, &self.target) {
                Ok(()) => {
                    let _ = fs::remove_file(&self.tmp);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    return Err(refused(&self.target, "already exists; use --force to replace it"));
                }
                // File systems without hard links: check, then rename (a small race, no worse).
                Err(_) => {
                    if fs::symlink_metadata(&self.target).is_ok() {
                        return Err(refused(&self.target, "already exists; use --force to replace it"));
                    }
                    fs::rename(&self.tmp, &self.target)
                        .map_err(|e| RepairError::io(&self.target, "rename the output into place", e))?;
                }
            }
        }
        // Make the new directory entry durable (best effort).
        if let Ok(d) = File::open(parent_dir(&self.target)) {
            let _ = d.sync_all();
        }
        self.tmp = PathBuf::new();
        Ok(())
    }
}

impl Drop for AtomicOutput {
    fn drop(&mut self) {
        self.file = None;
        if !self.tmp.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_output_leaves_nothing_and_commit_never_clobbers() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("out.bin");
        let mut o = AtomicOutput::create(&target, false).unwrap();
        o.write_all(b"abc").unwrap();
        let tmp = o.temp_path().to_path_buf();
        assert!(tmp.exists());
        drop(o);
        assert!(!tmp.exists() && !target.exists());

        let mut o = AtomicOutput::create(&target, false).unwrap();
        o.write_all(b"one").unwrap();
        o.commit().unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"one");
        let mut o = AtomicOutput::create(&target, false).unwrap();
        o.write_all(b"two").unwrap();
        assert!(matches!(o.commit(), Err(RepairError::Output(_))));
        assert_eq!(fs::read(&target).unwrap(), b"one");
        let mut o = AtomicOutput::create(&target, true).unwrap();
        o.write_all(b"three").unwrap();
        o.commit().unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"three");
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1, "no temporary file left");
    }

    #[test]
    fn targets_that_are_inputs_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let db = d.path().join("a.db");
        fs::write(&db, b"x").unwrap();
        let mut p = Protected::default();
        p.add(&db, "the input database");
        p.add(&d.path().join("a.db-shm"), "the input's -shm");
        assert!(check_target(&db, &p, true, "output").is_err());
        assert!(check_target(&d.path().join("a.db-shm"), &p, true, "output").is_err());
        let link = d.path().join("link.db");
        fs::hard_link(&db, &link).unwrap();
        assert!(check_target(&link, &p, true, "output").is_err(), "hard link to an input");
        let spelled = d.path().join(".").join("a.db");
        assert!(check_target(&spelled, &p, true, "output").is_err());
        assert!(check_target(&d.path().join("new.db"), &p, false, "output").is_ok());
        assert!(check_target(d.path(), &p, true, "output").is_err(), "directory");
        assert!(check_target(&d.path().join("nodir/x.db"), &p, true, "output").is_err());
    }
}
