//! `rebuild-shm --install`: replaces the database's own -shm only when nobody holds a lock,
//! keeps a backup, and refuses (naming the holder) while a real SQLite process has it open.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use crate::support::common::*;

#[test]
fn installs_when_unused_and_keeps_a_backup() {
    let d = tempdir();
    let db = d.path().join("live.db");
    let c = wal_db(&db, 4096);
    commits(&c, 6);
    let old = snapshot(&db, d.path(), "old.db");
    commits(&c, 4);
    let ev = snapshot(&db, d.path(), "ev.db");
    drop(c);
    // A stale index from an earlier state.
    fs::copy(sibling(&old, "-shm"), sibling(&ev, "-shm")).unwrap();
    let stale = fs::read(sibling(&ev, "-shm")).unwrap();
    let db_before = fs::read(&ev).unwrap();
    let wal_before = fs::read(sibling(&ev, "-wal")).unwrap();
    let r = run(&["rebuild-shm", ev.to_str().unwrap(), "--install"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("installed"), "{}", r.stderr);
    // The database and WAL are untouched; the old -shm is backed up byte for byte.
    assert_eq!(fs::read(&ev).unwrap(), db_before);
    assert_eq!(fs::read(sibling(&ev, "-wal")).unwrap(), wal_before);
    let backups: Vec<_> = fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("ev.db-shm.walinspect-backup-"))
        .collect();
    assert_eq!(backups.len(), 1);
    assert_eq!(fs::read(&backups[0]).unwrap(), stale);
    // The installed index is the one SQLite's recovery builds (except the lock bytes).
    let installed = fs::read(sibling(&ev, "-shm")).unwrap();
    let verdict = sqlite_verdict(&ev).unwrap();
    assert_eq!(installed.len(), verdict.shm.len());
    assert_eq!(installed[..120], verdict.shm[..120]);
    assert_eq!(installed[128..], verdict.shm[128..]);
    // And check no longer complains.
    let (_, v) = dump(&ev);
    assert!(codes(&v).iter().all(|c| !c.starts_with("shm.")), "{:?}", codes(&v));
}

#[test]
fn refuses_while_a_process_holds_the_database() {
    let d = tempdir();
    let db = d.path().join("live.db");
    {
        let c = wal_db(&db, 4096);
        commits(&c, 3);
        c.execute_batch("PRAGMA journal_mode=WAL").unwrap();
    }
    // A real SQLite connection in another process (POSIX locks are per process).
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys\nc=sqlite3.connect(sys.argv[1])\nc.execute('pragma wal_autocheckpoint=0')\nc.execute('select count(*) from t').fetchall()\nprint('ready',flush=True)\nsys.stdin.read()",
            db.to_str().unwrap(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    let shm_before = fs::read(sibling(&db, "-shm")).unwrap();
    let r = run(&["rebuild-shm", db.to_str().unwrap(), "--install"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("refusing to install"), "{}", r.stderr);
    assert!(r.stderr.contains(&child.id().to_string()), "names the holder: {}", r.stderr);
    assert_eq!(fs::read(sibling(&db, "-shm")).unwrap(), shm_before, "the live -shm is untouched");
    assert!(
        !fs::read_dir(d.path()).unwrap().any(|e| e.unwrap().file_name().to_string_lossy().contains("backup")),
        "no backup when refused"
    );
    child.stdin.take().unwrap().write_all(b"").unwrap();
    let _ = child.kill();
    let _ = child.wait();
}
