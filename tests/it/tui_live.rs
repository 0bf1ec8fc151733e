//! End to end: the real binary in tmux, watching a database that a real SQLite writer (in this
//! test process; the UI is another process, so no lock is shared) commits to and checkpoints
//! with TRUNCATE and RESTART. New commits must show within a second; the UI must survive WAL
//! resets, truncation and the deletion of the -wal and -shm; the writer must never see
//! SQLITE_BUSY (its busy timeout is 0); and the UI must change nothing in the files.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::support::tmux::{Tmux, tmux_available};

fn open_writer(db: &Path) -> Connection {
    let c = Connection::open(db).unwrap();
    c.busy_timeout(Duration::ZERO).unwrap();
    c.pragma_update(None, "journal_mode", "wal").unwrap();
    c.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    c.execute_batch("CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v BLOB)").unwrap();
    c
}

fn commit(c: &Connection, n: usize) {
    c.execute_batch("BEGIN IMMEDIATE").expect("the writer must never be blocked by the UI");
    for _ in 0..n {
        c.execute("INSERT INTO t(v) VALUES (randomblob(500))", []).unwrap();
    }
    c.execute_batch("COMMIT").expect("the writer must never be blocked by the UI");
}

fn checkpoint(c: &Connection, mode: &str) -> (i64, i64, i64) {
    c.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap()
}

/// Bytes and identity of the three files and the directory listing.
fn fingerprint(dir: &Path) -> Vec<(String, Vec<u8>, i64)> {
    use std::os::unix::fs::MetadataExt;
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
                m.mtime_nsec() + m.mtime() * 1_000_000_000,
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn live_ui_follows_a_writer_through_resets_and_deletion() {
    if !tmux_available() {
        eprintln!("SKIPPED: tmux is not installed, so the live UI test cannot drive a terminal");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    let mut c = open_writer(&db);
    commit(&c, 3);
    let exe = env!("CARGO_BIN_EXE_walinspect");
    let t = Tmux::start("live", &format!("{exe} tui {} --interval 50", db.display()), 100, 30);
    t.wait_for("LIVE", Duration::from_secs(10));
    t.wait_for("commits   2 ·", Duration::from_secs(5));

    // New commits appear within a second (the limits below leave 3 s for a loaded CI machine;
    // the slowest time is printed).
    let mut commits = 2;
    let mut worst = Duration::ZERO;
    for _ in 0..5 {
        commit(&c, 2);
        commits += 1;
        worst = worst.max(t.wait_elapsed(&format!("commits   {commits} ·"), Duration::from_secs(3)));
    }
    // TRUNCATE empties the -wal; the next commit starts a new WAL.
    let (busy, _, _) = checkpoint(&c, "TRUNCATE");
    assert_eq!(busy, 0);
    t.wait_for("WAL       0 bytes", Duration::from_secs(3));
    commit(&c, 1);
    worst = worst.max(t.wait_elapsed("commits   1 ·", Duration::from_secs(3)));
    // RESTART: the next writer resets the WAL and overwrites it in place.
    for _ in 0..3 {
        commit(&c, 1);
    }
    checkpoint(&c, "RESTART");
    commit(&c, 1);
    worst = worst.max(t.wait_elapsed("commits   1 ·", Duration::from_secs(3)));
    t.wait_for("stale", Duration::from_secs(3));

    // A full-speed writer with TRUNCATE checkpoints next to a UI polling every 50 ms: the
    // writer is never refused (busy timeout 0 makes any lock conflict an error).
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < Duration::from_secs(3) {
        commit(&c, 1);
        n += 1;
        if n % 10 == 0 {
            let (busy, _, _) = checkpoint(&c, "TRUNCATE");
            assert_eq!(busy, 0, "a TRUNCATE checkpoint was blocked");
        }
    }
    assert!(t.pane_state().starts_with('0'), "the UI died under load");

    // The last connection closes: SQLite deletes -wal and -shm. The UI stays and says so.
    drop(c);
    assert!(!dir.path().join("app.db-wal").exists());
    t.wait_for("no -wal", Duration::from_secs(3));
    // They come back.
    c = open_writer(&db);
    commit(&c, 1);
    worst = worst.max(t.wait_elapsed("commits   1 ·", Duration::from_secs(3)));
    // Every view and key while the files stand still: nothing of them changes.
    let before = fingerprint(dir.path());
    t.keys(&["2", "G", "Enter", "l", "4", "5", "j", "Enter", "r", ":", "1", "Enter", "p", "p", "?", "x", "1"]);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(fingerprint(dir.path()), before, "the UI changed the files or created one");
    // The writer can still commit at once, and the UI shows it.
    commit(&c, 1);
    t.wait_for("commits   2 ·", Duration::from_secs(3));
    eprintln!("slowest commit to screen: {worst:?}");

    t.keys(&["q"]);
    let start = Instant::now();
    while !t.pane_state().starts_with('1') {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the UI did not quit ({}); screen:\n{}",
            t.pane_state(),
            t.screen()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // tmux can report the pane dead a moment before it knows the exit status (and now and
    // then never does); a status or signal it does report must be a clean exit.
    let start = Instant::now();
    let mut state = t.pane_state();
    while state == "1" && start.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(20));
        state = t.pane_state();
    }
    assert!(state == "1 0" || state == "1", "exit status/signal: {state}");
}
