//! A deleted file still held open: after `rm app.db-wal` while the application runs, the
//! kernel keeps the file's content for as long as a process has it open, reachable as
//! `/proc/PID/fd/N` (whose link reads `/path/app.db-wal (deleted)`). This module finds such
//! descriptors by scanning `/proc/*/fd` — read-only: links are read and the inode is taken with
//! `stat` through the link; nothing is opened for writing, locked or changed.
//!
//! Bounded: at most [`MAX_PROCESSES`] processes and [`MAX_FDS`] descriptors per process are
//! looked at; processes we may not inspect (another user's, without privileges) are skipped.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Processes looked at, at most.
pub const MAX_PROCESSES: usize = 65_536;
/// Descriptors looked at per process, at most.
pub const MAX_FDS: usize = 65_536;

/// One descriptor of a deleted file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeletedOpen {
    pub pid: i64,
    pub fd: u32,
    /// `/proc/PID/fd/N`: read it (cp, walinspect) to save the content.
    pub proc_path: PathBuf,
    /// The file's size now.
    pub size: u64,
    pub dev: u64,
    pub ino: u64,
    /// The process's command line (from /proc; untrusted text).
    pub command: Option<String>,
}

/// Every descriptor, in any visible process but `skip` (walinspect itself, whose own reading
/// descriptor saves nothing), of the deleted file that was at `path` (the absolute path the
/// kernel recorded, compared as `"{path} (deleted)"`). One entry per inode and process (the
/// lowest descriptor).
pub fn find_deleted_open(path: &Path, skip: Option<i64>) -> Vec<DeletedOpen> {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut want = abs.into_os_string();
    want.push(" (deleted)");
    let Ok(procs) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut out: Vec<DeletedOpen> = Vec::new();
    for e in procs.flatten().take(MAX_PROCESSES) {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i64>().ok()) else { continue };
        if Some(pid) == skip {
            continue;
        }
        let fd_dir = e.path().join("fd");
        let Ok(fds) = std::fs::read_dir(&fd_dir) else { continue };
        for f in fds.flatten().take(MAX_FDS) {
            let Ok(target) = std::fs::read_link(f.path()) else { continue };
            if target.as_os_str() != want.as_os_str() {
                continue;
            }
            let Some(fd) = f.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
            let Ok(meta) = std::fs::metadata(f.path()) else { continue };
            if out.iter().any(|o| o.pid == pid && o.ino == meta.ino() && o.dev == meta.dev()) {
                continue;
            }
            let command = crate::source::locks::process_info(pid).command;
            out.push(DeletedOpen {
                pid,
                fd,
                proc_path: f.path(),
                size: meta.len(),
                dev: meta.dev(),
                ino: meta.ino(),
                command,
            });
        }
    }
    out.sort_by_key(|d| (d.pid, d.fd));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_our_own_descriptor_of_a_deleted_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.db-wal");
        std::fs::write(&p, b"0123456789").unwrap();
        let held = std::fs::File::open(&p).unwrap();
        assert!(find_deleted_open(&p, None).is_empty(), "not deleted yet");
        std::fs::remove_file(&p).unwrap();
        let me = i64::from(std::process::id());
        assert!(find_deleted_open(&p, Some(me)).is_empty(), "walinspect's own descriptor is skipped");
        let found = find_deleted_open(&p, None);
        let mine: Vec<_> = found.iter().filter(|d| d.pid == me).collect();
        assert_eq!(mine.len(), 1, "{found:?}");
        assert_eq!(mine[0].size, 10);
        assert_eq!(std::fs::read(&mine[0].proc_path).unwrap(), b"0123456789");
        drop(held);
    }
}
