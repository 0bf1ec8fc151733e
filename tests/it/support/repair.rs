//! Helpers for the repair tests: SQLite's own recovered -shm, SQLite's view of a database as a
//! comparable dump, and running `rebuild-shm` / `extract` while proving the inputs unchanged.

use std::fs;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use crate::support::common::{Run, TempDir, Unchanged, run, sibling, tempdir};

/// Lock bytes of the -shm (aLock[8]), the only bytes allowed to differ from SQLite's.
pub const LOCK_BYTES: std::ops::Range<usize> = 120..128;

/// The -shm SQLite writes when it recovers a copy of `db` + `-wal` (no -shm): the copy is
/// opened, a read forces recovery, and the -shm is read while the connection still holds it.
pub fn sqlite_recovered_shm(db: &Path) -> Vec<u8> {
    let dir = tempdir();
    let copy = dir.path().join("copy.db");
    for suffix in ["", "-wal"] {
        let src = sibling(db, suffix);
        if src.exists() {
            fs::copy(&src, sibling(&copy, suffix)).unwrap();
        }
    }
    let c = Connection::open(&copy).unwrap();
    let _: i64 = c.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0)).unwrap();
    let shm = fs::read(sibling(&copy, "-shm")).unwrap();
    drop(c);
    shm
}

/// Every schema row and every row of every table, in a stable order: what `.dump` shows.
pub fn dump_conn(c: &Connection) -> Vec<String> {
    let mut out = Vec::new();
    let mut st = c.prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name").unwrap();
    let schema: Vec<(String, String, String, Option<String>)> =
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).unwrap().map(|r| r.unwrap()).collect();
    for s in &schema {
        out.push(format!("{s:?}"));
    }
    for (ty, name, _, sql) in &schema {
        if ty != "table" || sql.as_deref().is_some_and(|s| s.contains("VIRTUAL")) {
            continue;
        }
        let mut st = c.prepare(&format!("SELECT * FROM \"{name}\" ORDER BY rowid")).unwrap();
        let n = st.column_count();
        let rows = st
            .query_map([], |r| {
                let mut v = Vec::new();
                for i in 0..n {
                    v.push(format!("{:?}", r.get::<_, rusqlite::types::Value>(i)?));
                }
                Ok(v.join("|"))
            })
            .unwrap();
        for r in rows {
            out.push(format!("{name}: {}", r.unwrap()));
        }
    }
    out
}

/// SQLite's view of the files as they are (on a copy of db + -wal + -shm).
pub fn sqlite_view(db: &Path) -> Vec<String> {
    let dir = tempdir();
    let copy = dir.path().join("copy.db");
    for suffix in ["", "-wal", "-shm"] {
        let src = sibling(db, suffix);
        if src.exists() {
            fs::copy(&src, sibling(&copy, suffix)).unwrap();
        }
    }
    let c = Connection::open(&copy).unwrap();
    dump_conn(&c)
}

/// Open an extracted database the way a user would: read-only, nothing beside it. Checks
/// `PRAGMA integrity_check`, that no -wal/-shm/-journal appears, and returns its dump.
pub fn open_extracted(out: &Path) -> Vec<String> {
    for s in ["-wal", "-shm", "-journal"] {
        assert!(!sibling(out, s).exists(), "{s} beside the output before opening");
    }
    let before = fs::read(out).unwrap();
    let c = Connection::open_with_flags(out, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let ok: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(ok, "ok", "integrity_check of {}", out.display());
    let mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "delete", "the extracted database is in rollback mode");
    let d = dump_conn(&c);
    drop(c);
    for s in ["-wal", "-shm", "-journal"] {
        assert!(!sibling(out, s).exists(), "opening the output created {s}");
    }
    assert!(fs::read(out).unwrap() == before, "opening read-only changed the output");
    d
}

/// Run walinspect with `args`, proving the evidence set of `db` unchanged.
pub fn run_guarded(db: &Path, args: &[&str]) -> Run {
    let guard = Unchanged::record(db);
    let r = run(args);
    guard.assert();
    r
}

/// `walinspect rebuild-shm DB -o OUT --report R`; returns (run, output bytes, report).
pub fn rebuild(db: &Path, dir: &Path) -> (Run, Vec<u8>, serde_json::Value) {
    let out = dir.join(format!("rebuilt-{}.shm", unique()));
    let rep = dir.join(format!("rebuilt-{}.json", unique()));
    let r = run_guarded(
        db,
        &["rebuild-shm", db.to_str().unwrap(), "-o", out.to_str().unwrap(), "--report", rep.to_str().unwrap()],
    );
    assert_eq!(r.code, 0, "rebuild-shm failed: {}", r.stderr);
    let bytes = fs::read(&out).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&fs::read(&rep).unwrap()).unwrap();
    (r, bytes, v)
}

/// Compare our -shm with SQLite's byte for byte, except the lock bytes and the ranges the
/// report declares unspecified (SQLite copies uninitialised memory there).
pub fn assert_same_shm(ours: &[u8], sqlite: &[u8], report: &serde_json::Value) {
    assert_eq!(ours.len(), sqlite.len(), "-shm size: ours {} vs SQLite {}", ours.len(), sqlite.len());
    let unspecified: Vec<(usize, usize)> = report["unspecified_bytes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["offset"].as_u64().unwrap() as usize, r["len"].as_u64().unwrap() as usize))
        .collect();
    for (i, (a, b)) in ours.iter().zip(sqlite).enumerate() {
        if LOCK_BYTES.contains(&i) || unspecified.iter().any(|&(o, l)| (o..o + l).contains(&i)) {
            continue;
        }
        assert_eq!(a, b, "-shm byte {i} (segment {}, offset {}): ours {a:#04x}, SQLite {b:#04x}", i / 32768, i % 32768);
    }
}

/// The full check for one state: rebuild, compare with SQLite's recovery, return the report.
pub fn rebuild_matches_sqlite(db: &Path) -> serde_json::Value {
    let dir = tempdir();
    let (_, ours, report) = rebuild(db, dir.path());
    let theirs = sqlite_recovered_shm(db);
    assert_same_shm(&ours, &theirs, &report);
    report
}

/// `walinspect extract DB -o OUT [--commit N] [extra...] --report R`.
pub struct Extracted {
    pub run: Run,
    pub out: PathBuf,
    pub report: Option<serde_json::Value>,
}

pub fn extract(db: &Path, dir: &Path, commit: Option<u32>, extra: &[&str]) -> Extracted {
    let out = dir.join(format!("extract-{}.db", unique()));
    let rep = dir.join(format!("extract-{}.json", unique()));
    let n = commit.map(|c| c.to_string());
    let mut args =
        vec!["extract", db.to_str().unwrap(), "-o", out.to_str().unwrap(), "--report", rep.to_str().unwrap()];
    if let Some(n) = &n {
        args.push("--commit");
        args.push(n);
    }
    args.extend_from_slice(extra);
    let r = run_guarded(db, &args);
    let report = fs::read(&rep).ok().map(|b| serde_json::from_slice(&b).unwrap());
    if r.code == 2 {
        assert!(!out.exists() && !rep.exists(), "a refused extract left files behind");
        assert_no_temp_files(dir);
    }
    Extracted { run: r, out, report }
}

/// No temporary file of ours is left in `dir`.
pub fn assert_no_temp_files(dir: &Path) {
    for e in fs::read_dir(dir).unwrap() {
        let n = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!n.contains(".walinspect-"), "temporary file left behind: {n}");
    }
}

/// Extract commit `n` (None = last) and check it equals `expected` (SQLite's view of it).
pub fn extract_equals(db: &Path, n: Option<u32>, expected: &[String]) -> serde_json::Value {
    let dir = tempdir();
    let e = extract(db, dir.path(), n, &[]);
    assert_eq!(e.run.code, 0, "extract --commit {n:?} failed: {}", e.run.stderr);
    let got = open_extracted(&e.out);
    assert!(
        got == expected,
        "commit {n:?}: extracted content differs from SQLite's view\nours:   {got:?}\nsqlite: {expected:?}"
    );
    let report = e.report.unwrap();
    assert_eq!(report["schema"], "walinspect.extract");
    assert_eq!(report["exact"], true);
    report
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// A directory kept alive with the path of a database in it.
pub struct Fixture {
    pub dir: TempDir,
    pub db: PathBuf,
}

impl Fixture {
    pub fn new() -> Self {
        let dir = tempdir();
        let db = dir.path().join("live.db");
        Self { dir, db }
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}
