//! Which files SQLite would use, and who a file is.
//!
//! SQLite's unix VFS turns the database name into a full path with every symbolic link resolved
//! (`unixFullPathname` in `src/os_unix.c`) and then looks for `<that path>-wal`, `-shm` and
//! `-journal`: a database reached through a symlink has its WAL beside the *target*, not beside
//! the link. [`follow_links`] gives that path. Only the final component matters for where the
//! siblings are (a symlinked directory leads to the same directory entries either way), so the
//! directory part is kept as the user spelled it.
//!
//! Identity is (device, inode): the one thing a hard link, a symlink or `/dev/stdout` cannot
//! disguise. Evidence is protected by it (`repair::output`).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Symlink hops followed at most (Linux gives up at 40 with ELOOP; SQLite at 100).
pub const MAX_LINKS: usize = 40;

/// `path` with its final component's symbolic links followed, as SQLite does for a database
/// name; `path` unchanged when it is not a symlink, or the chain is broken or too long (the
/// open that follows then reports the problem).
pub fn follow_links(path: &Path) -> PathBuf {
    let mut p = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        let Ok(meta) = std::fs::symlink_metadata(&p) else { return p };
        if !meta.file_type().is_symlink() {
            return p;
        }
        let Ok(target) = std::fs::read_link(&p) else { return p };
        p = if target.is_absolute() {
            target
        } else {
            match p.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir.join(target),
                _ => target,
            }
        };
    }
    path.to_path_buf()
}

/// (device, inode) of the file `path` names (symlinks followed), if it exists.
pub fn identity(path: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_followed_to_the_file() {
        let d = tempfile::tempdir().unwrap();
        let real = d.path().join("e").join("test.db");
        std::fs::create_dir(d.path().join("e")).unwrap();
        std::fs::write(&real, b"x").unwrap();
        let l1 = d.path().join("l1.db");
        std::os::unix::fs::symlink("e/test.db", &l1).unwrap();
        let l2 = d.path().join("l2.db");
        std::os::unix::fs::symlink(&l1, &l2).unwrap();
        assert_eq!(identity(&follow_links(&l2)), identity(&real));
        assert_eq!(follow_links(&l1), d.path().join("e/test.db"));
        assert_eq!(follow_links(&real), real);
        let loop_a = d.path().join("a");
        std::os::unix::fs::symlink("b", &loop_a).unwrap();
        std::os::unix::fs::symlink("a", d.path().join("b")).unwrap();
        assert_eq!(follow_links(&loop_a), loop_a, "a loop stays as named");
        assert_eq!(follow_links(Path::new("/nonexistent/x")), Path::new("/nonexistent/x"));
    }
}
