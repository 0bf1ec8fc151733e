//! A seized-folder fixture for `scan` and the exports: real SQLite files in nested folders, in
//! every state a triage meets, and a record of every file's bytes and times to prove a scan
//! changed nothing.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use sha2::{Digest, Sha256};

use super::common::{sibling, snapshot, wal_db};

/// True when the tests run as root (chmod 000 does not stop root from reading).
pub fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

pub fn sha256(b: &[u8]) -> String {
    Sha256::digest(b).iter().map(|x| format!("{x:02x}")).collect()
}

fn rows(c: &Connection, from: usize, n: usize) {
    c.execute_batch("CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v TEXT)").unwrap();
    for i in from..from + n {
        c.execute("INSERT INTO t(id, v) VALUES (?1, ?2)", rusqlite::params![i as i64, format!("row {i}")]).unwrap();
    }
}

/// Build the tree under `root` (a scratch folder holds the live databases the copies come from).
/// Relative paths of the evidence sets, with their kinds and members:
///
/// | set | kind | members |
/// |---|---|---|
/// | `healthy/app.db` | database | db wal shm |
/// | `nested/a/b/deep.db` | database | db wal |
/// | `tail/open.db` | database | db wal shm (uncommitted frames) |
/// | `gens/reset.db` | database | db wal shm (earlier generations) |
/// | `hot/rollback.db` | database | db journal (hot) |
/// | `lone/replica.log` | lone_wal (renamed) | wal |
/// | `orphan/gone.db-shm` | lone_shm | shm |
/// | `odd/empty.db` | database | db (0 bytes) wal |
/// | `odd/notes-wal` | lone_wal | db (a text file) wal |
///
/// plus `junk/notes.txt` (not SQLite), `junk/empty`, `junk/pipe` (a FIFO), `junk/locked`
/// (mode 000), and `nested/loop -> ..` (a symlink loop).
pub fn build(root: &Path, scratch: &Path) {
    for d in ["healthy", "nested/a/b", "tail", "gens", "hot", "lone", "orphan", "junk", "odd"] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    // Healthy: five commits, copied while the writer is open.
    let live = scratch.join("healthy.db");
    let c = wal_db(&live, 1024);
    rows(&c, 1, 5);
    snapshot(&live, &root.join("healthy"), "app.db");
    let deep = snapshot(&live, &root.join("nested/a/b"), "deep.db");
    fs::remove_file(sibling(&deep, "-shm")).unwrap();
    // A WAL under another name (a replication log).
    fs::copy(sibling(&live, "-wal"), root.join("lone/replica.log")).unwrap();
    // A -shm whose database and WAL are gone.
    fs::copy(sibling(&live, "-shm"), root.join("orphan/gone.db-shm")).unwrap();
    // A WAL beside a 0-byte database, and one beside a file that is not a database.
    fs::write(root.join("odd/empty.db"), b"").unwrap();
    fs::copy(sibling(&live, "-wal"), root.join("odd/empty.db-wal")).unwrap();
    fs::write(root.join("odd/notes"), "not a database\n").unwrap();
    fs::copy(sibling(&live, "-wal"), root.join("odd/notes-wal")).unwrap();
    drop(c);

    // Uncommitted tail: a transaction larger than the page cache spills frames into the WAL
    // before its commit; the copy is taken then.
    let live = scratch.join("tail.db");
    let c = wal_db(&live, 1024);
    rows(&c, 1, 3);
    c.execute_batch("PRAGMA cache_size=2; BEGIN").unwrap();
    for i in 100..400 {
        c.execute("INSERT INTO t(id, v) VALUES (?1, ?2)", rusqlite::params![i, "y".repeat(200)]).unwrap();
    }
    snapshot(&live, &root.join("tail"), "open.db");
    c.execute_batch("ROLLBACK").unwrap();
    drop(c);

    // Earlier generations: 20 commits and five updates of one row (versions only the WAL
    // holds), a checkpoint that lets the next writer restart the WAL,
    // then two commits overwrite the first frames only.
    let live = scratch.join("gens.db");
    let c = wal_db(&live, 1024);
    rows(&c, 1, 20);
    for k in 0..5 {
        c.execute("UPDATE t SET v = ?1 WHERE id = 3", [format!("version {k}")]).unwrap();
    }
    c.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(())).unwrap();
    rows(&c, 1000, 2);
    snapshot(&live, &root.join("gens"), "reset.db");
    drop(c);

    // A hot rollback journal: copied in the middle of a transaction in rollback mode.
    let live = scratch.join("hot.db");
    let c = Connection::open(&live).unwrap();
    c.execute_batch("PRAGMA journal_mode=DELETE; PRAGMA cache_size=2;").unwrap();
    c.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)").unwrap();
    for i in 0..300 {
        c.execute("INSERT INTO t(id, v) VALUES (?1, ?2)", rusqlite::params![i, "y".repeat(200)]).unwrap();
    }
    // Big enough to spill: the journal is synced and its header's magic written.
    c.execute_batch("BEGIN; UPDATE t SET v = v || ' changed';").unwrap();
    fs::copy(&live, root.join("hot/rollback.db")).unwrap();
    fs::copy(sibling(&live, "-journal"), root.join("hot/rollback.db-journal")).unwrap();
    c.execute_batch("ROLLBACK").unwrap();
    drop(c);

    fs::write(root.join("junk/notes.txt"), "meeting notes, nothing to see\n").unwrap();
    fs::write(root.join("junk/empty"), b"").unwrap();
    let fifo = root.join("junk/pipe");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let locked = root.join("junk/locked");
    fs::write(&locked, b"SQLite format 3\0 but nobody may read it").unwrap();
    fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
    std::os::unix::fs::symlink("..", root.join("nested/loop")).unwrap();
}

/// Every regular file under `root` (symlinks not followed): SHA-256, inode, mtime and atime.
/// Access times are first set far in the past, so a read that bumped them would show.
pub fn record(root: &Path) -> BTreeMap<PathBuf, (String, u64, i64, i64, i64)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p);
            } else if m.is_file() {
                let Ok(bytes) = fs::read(&p) else { continue };
                if let Ok(f) = fs::File::options().write(true).open(&p) {
                    f.set_times(
                        fs::FileTimes::new()
                            .set_accessed(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000)),
                    )
                    .unwrap();
                }
                let m = fs::metadata(&p).unwrap();
                out.insert(p, (sha256(&bytes), m.ino(), m.mtime(), m.mtime_nsec(), m.atime()));
            }
        }
    }
    out
}

/// The same record, without touching the access times (to compare after a scan).
pub fn record_again(root: &Path, before: &BTreeMap<PathBuf, (String, u64, i64, i64, i64)>) {
    let mut now = BTreeMap::new();
    for p in before.keys() {
        // Times first: reading the bytes afterwards may bump the access time itself.
        let m = fs::metadata(p).unwrap();
        now.insert(p.clone(), (m.ino(), m.mtime(), m.mtime_nsec(), m.atime()));
    }
    for (p, (sha, ino, mt, mtn, at)) in before {
        assert_eq!(now[p], (*ino, *mt, *mtn, *at), "{} changed inode, mtime or atime", p.display());
        assert_eq!(&sha256(&fs::read(p).unwrap()), sha, "{} changed content", p.display());
    }
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p);
            } else if m.is_file() {
                files.push(p);
            }
        }
    }
    for f in files {
        assert!(before.contains_key(&f), "{} appeared", f.display());
    }
}
