//! Outputs never replace anything but a regular file of ours, and never an evidence file:
//! a FIFO and a character device named as the output are written through and stay what they
//! were; sockets and directories are refused with or without `--force`; `-o -` is standard
//! output; inputs reached through a symlink or a hard link see the WAL SQLite sees and cannot be
//! used to overwrite the evidence (also not through a standard output redirected onto it).

use std::fs;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::common::*;

/// Evidence `e/test.db` (+ -wal, -shm) written by a real SQLite, copied while it was open.
fn evidence(dir: &Path) -> PathBuf {
    let live = dir.join("live.db");
    let c = wal_db(&live, 1024);
    commits(&c, 20);
    fs::create_dir(dir.join("e")).unwrap();
    let ev = snapshot(&live, &dir.join("e"), "test.db");
    drop(c);
    ev
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn mkfifo(p: &Path) {
    let st = Command::new("mkfifo").arg(p).status().unwrap();
    assert!(st.success());
}

/// Read a FIFO to its end on a thread (the writer's open blocks until a reader is there).
fn drain(p: &Path) -> std::thread::JoinHandle<Vec<u8>> {
    let p = p.to_path_buf();
    std::thread::spawn(move || {
        let mut f = fs::File::open(&p).unwrap();
        let mut v = Vec::new();
        f.read_to_end(&mut v).unwrap();
        v
    })
}

#[test]
fn a_fifo_target_is_written_through_and_stays_a_fifo() {
    let d = tempdir();
    let db = evidence(d.path());
    let guard = Unchanged::record(&db);
    let reference = d.path().join("ref.db");
    let r = run(&["extract", s(&db), "-o", s(&reference)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let fifo = d.path().join("out.fifo");
    mkfifo(&fifo);
    for force in [false, true] {
        let reader = drain(&fifo);
        let mut args = vec!["extract", s(&db), "-o", s(&fifo)];
        if force {
            args.push("--force");
        }
        let r = run(&args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(reader.join().unwrap(), fs::read(&reference).unwrap(), "the FIFO carried the database");
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(), "still a FIFO");
    }
    // rebuild-shm and --report through the FIFO too.
    let reader = drain(&fifo);
    let out = d.path().join("rebuilt-shm");
    let r = run(&["rebuild-shm", s(&db), "-o", s(&out), "--report", s(&fifo), "--force"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report: serde_json::Value = serde_json::from_slice(&reader.join().unwrap()).unwrap();
    assert_eq!(report["schema"], "walinspect.rebuild-shm");
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    guard.assert();
}

#[test]
fn a_character_device_is_written_through_never_replaced() {
    let d = tempdir();
    let db = evidence(d.path());
    let guard = Unchanged::record(&db);
    // A private null device where creating one is allowed (root), else the system's /dev/null
    // (write-through only; the test fails, without harm to it, if it would be replaced).
    let private = d.path().join("null");
    let dev = if Command::new("mknod").arg(&private).args(["c", "1", "3"]).status().is_ok_and(|s| s.success()) {
        private
    } else {
        PathBuf::from("/dev/null")
    };
    let before = fs::symlink_metadata(&dev).unwrap();
    assert!(before.file_type().is_char_device());
    for args in [
        vec!["extract", s(&db), "-o", s(&dev)],
        vec!["extract", s(&db), "-o", s(&dev), "--force"],
        vec!["rebuild-shm", s(&db), "-o", s(&dev), "--force"],
        vec!["extract", s(&db), "-o", s(&d.path().join("x.db")), "--report", s(&dev), "--force"],
    ] {
        let r = run(&args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        let now = fs::symlink_metadata(&dev).unwrap();
        assert!(now.file_type().is_char_device(), "{args:?} replaced the device");
        assert_eq!((now.ino(), now.rdev()), (before.ino(), before.rdev()));
    }
    let names: Vec<_> = fs::read_dir(d.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(!names.iter().any(|n| n.to_string_lossy().contains(".tmp")), "no temporary file left: {names:?}");
    guard.assert();
}

#[test]
fn sockets_and_directories_are_refused_even_with_force() {
    let d = tempdir();
    let db = evidence(d.path());
    let sock = d.path().join("s.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let dir = d.path().join("adir");
    fs::create_dir(&dir).unwrap();
    for target in [&sock, &dir] {
        for cmd in ["extract", "rebuild-shm"] {
            let r = run(&[cmd, s(&db), "-o", s(target), "--force"]);
            assert_eq!(r.code, 2, "{cmd} -o {}: {}", target.display(), r.stdout);
            assert!(r.stderr.contains("socket") || r.stderr.contains("directory"), "{}", r.stderr);
        }
        let r = run(&["extract", s(&db), "-o", s(&d.path().join("y.db")), "--report", s(target), "--force"]);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(!d.path().join("y.db").exists(), "nothing written when the report is refused");
    }
    assert!(fs::symlink_metadata(&sock).unwrap().file_type().is_socket());
    assert!(fs::symlink_metadata(&dir).unwrap().is_dir());
}

#[test]
fn dash_is_standard_output() {
    let d = tempdir();
    let db = evidence(d.path());
    let reference = d.path().join("ref.db");
    assert_eq!(run(&["extract", s(&db), "-o", s(&reference)]).code, 0);
    let out = Command::new(bin()).args(["extract", s(&db), "-o", "-", "--no-live"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout, fs::read(&reference).unwrap());
    let out = Command::new(bin())
        .args(["rebuild-shm", s(&db), "-o", s(&d.path().join("r-shm")), "--report", "-", "--no-live"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "walinspect.rebuild-shm");
    let r = run(&["extract", s(&db), "-o", "-", "--report", "-"]);
    assert_eq!(r.code, 2, "both on stdout is refused");
}

/// The WAL a real SQLite sees through `name` (on a copy of the directory, so the evidence is
/// never opened by SQLite): its commit count from `PRAGMA wal_checkpoint`-free reading is the
/// number of rows of `t`.
fn sqlite_rows(dir: &Path, name: &str) -> i64 {
    let copy = tempdir();
    let st = Command::new("cp").arg("-a").arg(format!("{}/.", dir.display())).arg(copy.path()).status().unwrap();
    assert!(st.success());
    let c = rusqlite::Connection::open_with_flags(copy.path().join(name), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap();
    c.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap_or(-1)
}

#[test]
fn a_symlinked_input_sees_the_wal_beside_its_target_and_cannot_overwrite_it() {
    let d = tempdir();
    let db = evidence(d.path());
    let link = d.path().join("link.db");
    std::os::unix::fs::symlink("e/test.db", &link).unwrap();
    // SQLite on a copy first (copying reads the files and moves their access time).
    assert_eq!(sqlite_rows(d.path(), "link.db"), 20, "SQLite sees the 20 committed rows through the link");
    let (_, direct) = dump(&db);
    let (_, via) = dump(&link);
    let guard = Unchanged::record(&db);
    assert!(via["files"]["wal"]["size"].as_u64().unwrap() > 0, "the -wal beside the target: {}", via["files"]);
    assert_eq!(via["wal"]["commits"], direct["wal"]["commits"]);
    for target in [sibling(&db, "-wal"), sibling(&db, "-shm"), db.clone()] {
        for cmd in ["extract", "rebuild-shm"] {
            let r = run(&[cmd, s(&link), "-o", s(&target), "--force"]);
            assert_eq!(r.code, 2, "{cmd} over {}: {}", target.display(), r.stderr);
            assert!(r.stderr.contains("refusing"), "{}", r.stderr);
        }
    }
    // A symlink as the *output* that points at the evidence.
    let out_link = d.path().join("out-link");
    std::os::unix::fs::symlink(sibling(&db, "-wal"), &out_link).unwrap();
    let r = run(&["extract", s(&db), "-o", s(&out_link), "--force"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    guard.assert();
}

#[test]
fn a_hard_link_to_the_evidence_is_refused_as_an_output() {
    let d = tempdir();
    let db = evidence(d.path());
    // A hard-linked database is a database of its own name: SQLite looks for h.db-wal (absent).
    fs::hard_link(&db, d.path().join("h.db")).unwrap();
    let (_, v) = dump(&d.path().join("h.db"));
    assert!(v["files"]["wal"].is_null());
    let guard = Unchanged::record(&db);
    for (suffix, name) in [("-shm", "h-shm"), ("-wal", "h-wal"), ("", "h.db")] {
        let h = d.path().join(name);
        if !h.exists() {
            fs::hard_link(sibling(&db, suffix), &h).unwrap();
        }
        for cmd in ["rebuild-shm", "extract"] {
            let r = run(&[cmd, s(&db), "-o", s(&h), "--force"]);
            assert_eq!(r.code, 2, "{cmd} -o {name}: {}", r.stderr);
            let r = run(&[cmd, s(&db), "-o", s(&d.path().join("ok-out")), "--report", s(&h), "--force"]);
            assert_eq!(r.code, 2, "{cmd} --report {name}: {}", r.stderr);
        }
    }
    // Standard output redirected (appending) onto the evidence's -wal.
    let wal = fs::OpenOptions::new().append(true).open(sibling(&db, "-wal")).unwrap();
    let st = Command::new(bin())
        .args(["extract", s(&db), "-o", "-", "--no-live"])
        .stdout(Stdio::from(wal))
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(2));
    guard.assert();
}
