//! Shared helpers for integration tests: real-SQLite fixtures, damage, SQLite's own verdict on
//! copies, running the binary, and proof that inputs are unchanged.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use rusqlite::Connection;

pub use tempfile::TempDir;

pub fn tempdir() -> TempDir {
    tempfile::Builder::new().prefix("walinspect-test").tempdir().expect("tempdir")
}

pub fn sibling(db: &Path, suffix: &str) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// A fresh WAL-mode database with automatic checkpoints off.
pub fn wal_db(path: &Path, page_size: u32) -> Connection {
    let c = Connection::open(path).expect("open");
    c.execute_batch(&format!("PRAGMA page_size={page_size}; PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;"))
        .expect("pragmas");
    c
}

/// Copy db, -wal and -shm (those that exist) to `dst_dir/name` while the connection that wrote
/// them is still open (closing the last connection would checkpoint and delete the WAL).
pub fn snapshot(db: &Path, dst_dir: &Path, name: &str) -> PathBuf {
    let dst = dst_dir.join(name);
    for suffix in ["", "-wal", "-shm"] {
        let src = sibling(db, suffix);
        if src.exists() {
            fs::copy(&src, sibling(&dst, suffix)).expect("copy");
        }
    }
    dst
}

/// Content, inode, mtime (s, ns) and atime of one file.
type Recorded = (Vec<u8>, u64, i64, i64, i64);

/// Bytes, size, inode and mtime of every file in a set, to prove nothing changed.
pub struct Unchanged {
    entries: Vec<(PathBuf, Option<Recorded>)>,
}

impl Unchanged {
    /// Record the files' state. Their access time is first set far in the past, so that a
    /// read that updated it (even under `relatime`) would show.
    pub fn record(db: &Path) -> Self {
        let mut entries = Vec::new();
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let p = sibling(db, suffix);
            let e = fs::read(&p).ok().map(|bytes| {
                // After reading the bytes (which may itself touch atime), put the access time
                // far in the past: under `relatime` any later read without O_NOATIME updates it.
                let f = fs::File::options().write(true).open(&p).expect("open to set atime");
                f.set_times(
                    fs::FileTimes::new()
                        .set_accessed(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000)),
                )
                .expect("set atime");
                let m = fs::metadata(&p).unwrap();
                (bytes, m.ino(), m.mtime(), m.mtime_nsec(), m.atime())
            });
            entries.push((p, e));
        }
        Self { entries }
    }
    pub fn assert(&self) {
        for (p, before) in &self.entries {
            let now = fs::metadata(p).ok().map(|m| (m.ino(), m.mtime(), m.mtime_nsec(), m.atime()));
            match (before, &now) {
                (None, None) => {}
                (Some(b), Some(n)) => {
                    assert_eq!((b.1, b.2, b.3, b.4), *n, "{} changed inode, mtime or atime", p.display());
                    assert!(b.0 == fs::read(p).unwrap(), "{} changed content", p.display());
                }
                _ => panic!("{} appeared or disappeared", p.display()),
            }
        }
    }
}

/// What SQLite itself makes of a copy of the files (db + -wal, no -shm, so it runs recovery).
#[derive(Debug, Clone)]
pub struct SqliteVerdict {
    /// mxFrame after recovery (`PRAGMA wal_checkpoint` second column, before checkpointing).
    pub mx_frame: i64,
    /// The -shm header SQLite wrote during recovery: mxFrame, nPage, salts (raw BE bytes).
    pub shm_mx_frame: u32,
    pub shm_db_pages: u32,
    pub shm_salts: [u32; 2],
    /// The -shm SQLite wrote, whole.
    pub shm: Vec<u8>,
    pub page_size: i64,
}

/// Let SQLite recover a copy of db + -wal and report what it saw. `None` if SQLite cannot open
/// or read it.
pub fn sqlite_verdict(db: &Path) -> Option<SqliteVerdict> {
    let dir = tempdir();
    let copy = dir.path().join("copy.db");
    for suffix in ["", "-wal"] {
        let src = sibling(db, suffix);
        if src.exists() {
            fs::copy(&src, sibling(&copy, suffix)).expect("copy");
        }
    }
    let c = Connection::open(&copy).ok()?;
    // A read forces recovery of the WAL index.
    let _: i64 = c.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0)).ok()?;
    let shm = fs::read(sibling(&copy, "-shm")).unwrap_or_default();
    let u32le = |o: usize| shm.get(o..o + 4).map_or(0, |b| u32::from_le_bytes(b.try_into().unwrap()));
    let u32be = |o: usize| shm.get(o..o + 4).map_or(0, |b| u32::from_be_bytes(b.try_into().unwrap()));
    // wal_checkpoint(PASSIVE) returns (busy, frames in log, frames checkpointed); the log count
    // is mxFrame. Read it via a read-only look first: the PASSIVE checkpoint does not change it.
    let (_, log, _): (i64, i64, i64) =
        c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).ok()?;
    let page_size: i64 = c.query_row("PRAGMA page_size", [], |r| r.get(0)).ok()?;
    Some(SqliteVerdict {
        mx_frame: log,
        shm_mx_frame: u32le(16),
        shm_db_pages: u32le(20),
        shm_salts: [u32be(32), u32be(36)],
        shm,
        page_size,
    })
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_walinspect")
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Run walinspect on the files alone: `--no-live` keeps the live probe's environment findings
/// (`env.overlay_filesystem` when the temporary directory is a container's overlay, ...) out of
/// the tests about file contents. `tests/it/locks.rs` runs the live probe itself.
pub fn run(args: &[&str]) -> Run {
    let out = Command::new(bin()).args(args).arg("--no-live").env("NO_COLOR", "1").output().expect("run walinspect");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `walinspect dump PATH --json`, parsed; also proves the inputs are unchanged.
pub fn dump(path: &Path) -> (i32, serde_json::Value) {
    let guard = Unchanged::record(&db_of(path));
    let r = run(&["dump", path.to_str().unwrap(), "--json"]);
    guard.assert();
    assert!(r.code == 0 || r.code == 1, "dump failed ({}): {}", r.code, r.stderr);
    let v: serde_json::Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("bad JSON ({e}): {}", r.stdout));
    (r.code, v)
}

/// Finding codes from a dump/check document, sorted.
pub fn codes(v: &serde_json::Value) -> Vec<String> {
    let mut c: Vec<String> =
        v["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap().to_string()).collect();
    c.sort();
    c.dedup();
    c
}

pub fn db_of(p: &Path) -> PathBuf {
    let s = p.to_string_lossy();
    PathBuf::from(s.strip_suffix("-wal").or_else(|| s.strip_suffix("-shm")).unwrap_or(&s).to_string())
}

// ---- damage helpers -------------------------------------------------------------------------

pub fn wal_page_size(wal: &[u8]) -> usize {
    u32::from_be_bytes(wal[8..12].try_into().unwrap()) as usize
}

pub fn frame_off(wal: &[u8], i: usize) -> usize {
    32 + (i - 1) * (wal_page_size(wal) + 24)
}

pub fn patch(path: &Path, f: impl FnOnce(&mut Vec<u8>)) {
    let mut b = fs::read(path).unwrap();
    f(&mut b);
    fs::write(path, b).unwrap();
}

/// SQLite's checksum, written independently of the library (for building fixtures only).
pub fn cksum(big: bool, data: &[u8], seed: [u32; 2]) -> [u32; 2] {
    let [mut s0, mut s1] = seed;
    for p in data.chunks_exact(8) {
        let (a, b) = if big {
            (u32::from_be_bytes(p[..4].try_into().unwrap()), u32::from_be_bytes(p[4..].try_into().unwrap()))
        } else {
            (u32::from_le_bytes(p[..4].try_into().unwrap()), u32::from_le_bytes(p[4..].try_into().unwrap()))
        };
        s0 = s0.wrapping_add(a).wrapping_add(s1);
        s1 = s1.wrapping_add(b).wrapping_add(s0);
    }
    [s0, s1]
}

/// Rewrite a WAL with magic 0x377f0683 and big-endian checksum words for every frame present
/// (re-chaining all frames, valid or not, from the header).
pub fn rewrite_big_endian(wal: &mut [u8]) {
    wal[0..4].copy_from_slice(&0x377f0683u32.to_be_bytes());
    let c = cksum(true, &wal[..24], [0, 0]);
    wal[24..28].copy_from_slice(&c[0].to_be_bytes());
    wal[28..32].copy_from_slice(&c[1].to_be_bytes());
    let ps = wal_page_size(wal);
    let mut seed = c;
    let mut off = 32;
    while off + 24 + ps <= wal.len() {
        let mut s = cksum(true, &wal[off..off + 8], seed);
        s = cksum(true, &wal[off + 24..off + 24 + ps], s);
        wal[off + 16..off + 20].copy_from_slice(&s[0].to_be_bytes());
        wal[off + 20..off + 24].copy_from_slice(&s[1].to_be_bytes());
        seed = s;
        off += 24 + ps;
    }
}

/// Insert `n` rows in separate commits.
pub fn commits(c: &Connection, n: usize) {
    c.execute_batch("CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v TEXT)").unwrap();
    for i in 0..n {
        c.execute("INSERT INTO t(v) VALUES (?1)", [format!("row {i} {}", "x".repeat(i % 50))]).unwrap();
    }
}
