//! Walking a seized folder without touching it.
//!
//! [`walk`] visits files and folders (recursively, up to `max_depth`), and reads only the first
//! [`SNIFF_LEN`] bytes of each regular file to recognise it by content ([`sniff`]). Symbolic
//! links are not followed unless asked (roots named by the caller always are); when they are, a
//! directory reached twice (a symlink loop, or a second link) is listed once with the reason.
//! FIFOs, devices and sockets are listed, never opened; files that cannot be opened or read are
//! listed with the system's reason. Every open is read-only with `O_NOATIME` where the kernel
//! permits it, and `O_NONBLOCK`, so a file swapped for a FIFO between `lstat` and `open` cannot
//! block the walk.
//!
//! [`hash_file`] reads a whole file (the members of an evidence set) for its SHA-256, and says
//! when it shrank, grew or vanished while being read.

use std::collections::HashMap;
use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{FileStamp, read_full_at};
use crate::format::sniff::{SNIFF_LEN, Sniffed, sniff};

/// How far and how a walk goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WalkOptions {
    /// How deep to go, as `find -maxdepth`: 1 reads a root folder's own entries, 2 also those
    /// of its subfolders, ... (0: only roots that are files). None: no limit.
    pub max_depth: Option<usize>,
    /// Follow symbolic links found inside the folders (roots are always followed).
    pub follow_symlinks: bool,
}

/// A regular file the walk read the first bytes of.
#[derive(Clone, Debug)]
pub struct SeenFile {
    pub path: PathBuf,
    pub stamp: FileStamp,
    /// What the first bytes say.
    pub sniffed: Sniffed,
}

/// Why an entry was not read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreadable {
    pub path: PathBuf,
    pub reason: String,
}

/// Everything a walk found.
#[derive(Clone, Debug, Default)]
pub struct Walked {
    /// Every regular file read, in walk order (SQLite or not: grouping needs the names of all).
    pub files: Vec<SeenFile>,
    /// Entries listed with a reason instead of being read.
    pub unreadable: Vec<Unreadable>,
    /// Symbolic links inside the folders that were not followed.
    pub symlinks_skipped: u64,
    /// Directories visited.
    pub dirs: u64,
    /// Bytes read to recognise the files.
    pub bytes_read: u64,
}

/// Progress callback: called after every file with (files seen so far, bytes read so far).
pub type Progress<'p> = &'p (dyn Fn(u64, u64) + Sync);

/// The kind of a non-regular, non-directory entry, for the reason line.
fn special_kind(m: &Metadata) -> Option<&'static str> {
    let t = m.file_type();
    if t.is_fifo() {
        Some("a FIFO (named pipe): not read")
    } else if t.is_block_device() {
        Some("a block device: not read")
    } else if t.is_char_device() {
        Some("a character device: not read")
    } else if t.is_socket() {
        Some("a socket: not read")
    } else {
        None
    }
}

fn io_reason(what: &str, e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::EACCES) | Some(libc::EPERM) => format!("{what}: permission denied"),
        Some(libc::ELOOP) => format!("{what}: symlink loop (too many levels of symbolic links)"),
        Some(libc::ENOENT) => format!("{what}: vanished (no such file)"),
        _ => format!("{what}: {e}"),
    }
}

/// Open read-only, without updating the access time where permitted, never blocking (a FIFO
/// swapped in after `lstat`), and without following a final symlink unless `follow`.
pub fn open_evidence(path: &Path, follow: bool) -> io::Result<File> {
    let base = libc::O_NONBLOCK | if follow { 0 } else { libc::O_NOFOLLOW };
    match OpenOptions::new().read(true).custom_flags(base | libc::O_NOATIME).open(path) {
        Ok(f) => Ok(f),
        // O_NOATIME is refused for files we do not own (EPERM): open without it.
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => OpenOptions::new().read(true).custom_flags(base).open(path),
        Err(e) => Err(e),
    }
}

/// Walk `roots`, recognising each regular file by its first bytes.
pub fn walk(roots: &[PathBuf], opts: WalkOptions, progress: Progress<'_>) -> Walked {
    let mut w = Walked::default();
    // (dev, ino) of every directory entered -> the path it was entered by.
    let mut dirs_seen: HashMap<(u64, u64), PathBuf> = HashMap::new();
    // (dev, ino) of every file read -> nothing: a file reached twice is read once.
    let mut files_seen: HashMap<(u64, u64), ()> = HashMap::new();
    // Depth-first, in name order, with an explicit stack (no recursion on hostile trees).
    let mut stack: Vec<(PathBuf, usize, bool)> = roots.iter().rev().map(|r| (r.clone(), 0, true)).collect();
    while let Some((path, depth, is_root)) = stack.pop() {
        let lmeta = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) => {
                w.unreadable.push(Unreadable { reason: io_reason("cannot stat", &e), path });
                continue;
            }
        };
        let follow = is_root || opts.follow_symlinks;
        let meta = if lmeta.file_type().is_symlink() {
            if !follow {
                w.symlinks_skipped += 1;
                continue;
            }
            match std::fs::metadata(&path) {
                Ok(m) => m,
                Err(e) => {
                    let reason = if e.kind() == io::ErrorKind::NotFound {
                        "dangling symlink (its target does not exist)".to_string()
                    } else {
                        io_reason("cannot follow symlink", &e)
                    };
                    w.unreadable.push(Unreadable { path, reason });
                    continue;
                }
            }
        } else {
            lmeta
        };
        if meta.is_dir() {
            let id = (meta.dev(), meta.ino());
            if let Some(first) = dirs_seen.get(&id) {
                let reason = if path.starts_with(first) {
                    format!("symlink loop: the same directory as its ancestor {}", first.display())
                } else {
                    format!("already walked as {}", first.display())
                };
                w.unreadable.push(Unreadable { path, reason });
                continue;
            }
            dirs_seen.insert(id, path.clone());
            if opts.max_depth.is_some_and(|m| depth >= m) {
                continue;
            }
            w.dirs += 1;
            let entries = match std::fs::read_dir(&path) {
                Ok(r) => r,
                Err(e) => {
                    w.unreadable.push(Unreadable { reason: io_reason("cannot list directory", &e), path });
                    continue;
                }
            };
            let mut names: Vec<PathBuf> = Vec::new();
            for e in entries {
                match e {
                    Ok(e) => names.push(e.path()),
                    Err(e) => {
                        w.unreadable.push(Unreadable { path: path.clone(), reason: io_reason("cannot list entry", &e) })
                    }
                }
            }
            names.sort();
            let child_depth = depth.saturating_add(1);
            for n in names.into_iter().rev() {
                stack.push((n, child_depth, false));
            }
            continue;
        }
        if let Some(kind) = special_kind(&meta) {
            w.unreadable.push(Unreadable { path, reason: kind.to_string() });
            continue;
        }
        if !meta.is_file() {
            w.unreadable.push(Unreadable { path, reason: "not a regular file: not read".to_string() });
            continue;
        }
        if files_seen.insert((meta.dev(), meta.ino()), ()).is_some() {
            // The same file through another link: read once.
            continue;
        }
        match read_head(&path, follow, &meta) {
            Ok((stamp, head)) => {
                w.bytes_read = w.bytes_read.saturating_add(head.len() as u64);
                w.files.push(SeenFile { path, stamp, sniffed: sniff(&head) });
            }
            Err(reason) => w.unreadable.push(Unreadable { path, reason }),
        }
        progress(w.files.len() as u64, w.bytes_read);
    }
    w
}

/// Open a regular file and read its first bytes, checking that what was opened is the file
/// that was listed.
fn read_head(path: &Path, follow: bool, listed: &Metadata) -> Result<(FileStamp, Vec<u8>), String> {
    let f = open_evidence(path, follow).map_err(|e| io_reason("cannot open", &e))?;
    let m = f.metadata().map_err(|e| io_reason("cannot stat", &e))?;
    if !m.is_file() {
        return Err("replaced by something that is not a regular file while being walked".into());
    }
    if (m.dev(), m.ino()) != (listed.dev(), listed.ino()) {
        return Err("replaced by another file while being walked".into());
    }
    let mut head = vec![0u8; SNIFF_LEN];
    let n = read_full_at(&f, &mut head, 0).map_err(|e| io_reason("cannot read", &e))?;
    head.truncate(n);
    Ok((FileStamp::of(&m), head))
}

/// A file's SHA-256 and what was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileDigest {
    /// Lowercase hex.
    pub sha256: String,
    /// Bytes hashed (the whole file as it was read).
    pub bytes: u64,
    /// Size and identity when opened.
    pub stamp: FileStamp,
}

/// SHA-256 of an open file, read in large positioned reads up to its end. `expected` is the
/// size the file had when listed: a file that ends earlier shrank while being read, one whose
/// modification time or size changed was written meanwhile.
pub fn hash_open(f: &File, expected: Option<&FileStamp>) -> Result<FileDigest, String> {
    let m = f.metadata().map_err(|e| io_reason("cannot stat", &e))?;
    let stamp = FileStamp::of(&m);
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut off = 0u64;
    loop {
        let n = read_full_at(f, &mut buf, off).map_err(|e| io_reason("cannot read", &e))?;
        if let Some(chunk) = buf.get(..n) {
            h.update(chunk);
        }
        off = off.saturating_add(n as u64);
        if n < buf.len() {
            break;
        }
    }
    let after = f.metadata().map(|m| FileStamp::of(&m)).unwrap_or(stamp);
    if off < stamp.len || after.len < stamp.len {
        return Err(format!("shrank while being read ({off} of {} bytes read)", stamp.len));
    }
    if after != stamp || off != stamp.len {
        return Err("changed while being read (size or modification time moved)".into());
    }
    if let Some(e) = expected
        && (e.dev, e.ino) != (stamp.dev, stamp.ino)
    {
        return Err("replaced by another file since it was listed".into());
    }
    if let Some(e) = expected
        && (e.len, e.mtime_ns) != (stamp.len, stamp.mtime_ns)
    {
        return Err(format!("changed since it was listed ({} bytes then, {} now)", e.len, stamp.len));
    }
    let digest = h.finalize();
    let mut sha256 = String::with_capacity(64);
    for b in digest.iter() {
        sha256.push_str(&format!("{b:02x}"));
    }
    Ok(FileDigest { sha256, bytes: off, stamp })
}

/// Open `path` (evidence-safe) and hash it whole; see [`hash_open`].
pub fn hash_file(path: &Path, expected: Option<&FileStamp>) -> Result<FileDigest, String> {
    let f = open_evidence(path, true).map_err(|e| io_reason("cannot open", &e))?;
    hash_open(&f, expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_in_name_order_with_depth_and_reasons() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir_all(root.join("a/b/c")).unwrap();
        std::fs::write(root.join("top.txt"), b"hello").unwrap();
        std::fs::write(root.join("a/one"), b"SQLite format 3\0rest").unwrap();
        std::fs::write(root.join("a/b/two"), b"").unwrap();
        std::fs::write(root.join("a/b/c/three"), b"x").unwrap();
        std::os::unix::fs::symlink(root.join("a"), root.join("a/b/loop")).unwrap();
        let none = |_: u64, _: u64| {};
        let all = walk(&[root.to_path_buf()], WalkOptions::default(), &none);
        let names: Vec<_> = all.files.iter().map(|f| f.path.strip_prefix(root).unwrap().to_path_buf()).collect();
        assert_eq!(names, ["a/b/c/three", "a/b/two", "a/one", "top.txt"].map(PathBuf::from));
        assert_eq!(all.symlinks_skipped, 1);
        assert_eq!(all.files[2].sniffed, Sniffed::Database);
        assert_eq!(all.files[1].sniffed, Sniffed::Empty);

        let shallow = walk(&[root.to_path_buf()], WalkOptions { max_depth: Some(3), ..Default::default() }, &none);
        assert_eq!(shallow.files.len(), 3, "{:?}", shallow.files);

        let follow = walk(&[root.to_path_buf()], WalkOptions { follow_symlinks: true, ..Default::default() }, &none);
        assert_eq!(follow.files.len(), 4);
        assert_eq!(follow.unreadable.len(), 1);
        assert!(follow.unreadable[0].reason.contains("symlink loop"), "{:?}", follow.unreadable);
    }

    #[test]
    fn hash_matches_and_notices_change() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, b"abc").unwrap();
        let h = hash_file(&p, None).unwrap();
        assert_eq!(h.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let mut stale = h.stamp;
        stale.len = 10;
        assert!(hash_file(&p, Some(&stale)).unwrap_err().contains("changed since"));
    }
}
