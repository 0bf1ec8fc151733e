//! Writing outputs safely.
//!
//! - An output is never one of the inputs: not the database, its `-wal`, `-shm` or `-journal`
//!   (whether they exist or not — creating a `-shm` or `-journal` beside evidence would change
//!   what SQLite does with it), compared by canonical path and, for existing files, by device
//!   and inode (so hard links and symlinks are caught too).
//! - An existing output is never replaced without `force`.
//! - Bytes go to a temporary file created exclusively beside the target, are synced, and the
//!   file is then linked (no `force`: fails if the target appeared meanwhile) or renamed
//!   (`force`) into place. Until [`AtomicOutput::commit`], dropping the writer removes the
//!   temporary file, so a failure leaves nothing behind.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use super::RepairError;
use crate::source::Evidence;

/// One protected location: normalised path, (device, inode) when it exists, and what it is.
type ProtectedEntry = (PathBuf, Option<(u64, u64)>, &'static str);

/// Paths an output must not be.
#[derive(Clone, Debug, Default)]
pub struct Protected {
    entries: Vec<ProtectedEntry>,
}

impl Protected {
    /// The evidence's database, `-wal`, `-shm` and `-journal`, present or not.
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
        let id = fs::metadata(path).ok().map(|m| (m.dev(), m.ino()));
        self.entries.push((normalize(path), id, what));
    }

    /// What `target` would clobber, if anything.
    fn clash(&self, target: &Path) -> Option<&'static str> {
        let t = normalize(target);
        let tid = fs::metadata(target).ok().map(|m| (m.dev(), m.ino()));
        self.entries.iter().find(|(p, id, _)| *p == t || (tid.is_some() && *id == tid)).map(|e| e.2)
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

/// Check, before any work is done, that `target` may be written: not an input, not a
/// directory, its directory exists, and it does not exist unless `force`.
pub fn check_target(target: &Path, protected: &Protected, force: bool, what: &str) -> Result<(), RepairError> {
    if let Some(clash) = protected.clash(target) {
        return Err(RepairError::Output(format!("{}: refusing to write the {what} over {clash}", target.display())));
    }
    match fs::symlink_metadata(target) {
        Ok(m) if m.is_dir() || fs::metadata(target).is_ok_and(|m| m.is_dir()) => {
            return Err(RepairError::Output(format!("{}: is a directory", target.display())));
        }
        Ok(_) if !force => {
            return Err(RepairError::Output(format!(
                "{}: already exists; use --force to replace it",
                target.display()
            )));
        }
        _ => {}
    }
    let dir = parent_dir(target);
    if !dir.is_dir() {
        return Err(RepairError::Output(format!("{}: no such directory", dir.display())));
    }
    Ok(())
}

fn parent_dir(target: &Path) -> PathBuf {
    match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A file being written beside its target; renamed into place by [`AtomicOutput::commit`],
/// removed if dropped before.
#[derive(Debug)]
pub struct AtomicOutput {
    target: PathBuf,
    tmp: PathBuf,
    file: Option<File>,
    force: bool,
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
                    return Ok(Self { target: target.to_path_buf(), tmp, file: Some(file), force });
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

    /// Sync and move into place. Without `force`, fails (leaving nothing) if the target exists.
    pub fn commit(mut self) -> Result<(), RepairError> {
        let file = self.file.take();
        if let Some(f) = file {
            f.sync_all().map_err(|e| RepairError::io(&self.tmp, "sync", e))?;
        }
        if self.force {
            fs::rename(&self.tmp, &self.target)
                .map_err(|e| RepairError::io(&self.target, "rename the output into place", e))?;
        } else {
            match fs::hard_link(&self.tmp, &self.target) {
                Ok(()) => {
                    let _ = fs::remove_file(&self.tmp);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    return Err(RepairError::Output(format!(
                        "{}: already exists; use --force to replace it",
                        self.target.display()
                    )));
                }
                // File systems without hard links: check, then rename (a small race, no worse).
                Err(_) => {
                    if fs::symlink_metadata(&self.target).is_ok() {
                        return Err(RepairError::Output(format!(
                            "{}: already exists; use --force to replace it",
                            self.target.display()
                        )));
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
