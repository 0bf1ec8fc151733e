//! End to end, as an operator sees it: the real binary in tmux at 80x24, real SQLite writers
//! (the `sqlite3` shell as a separate process, so it can be killed) and a reader in this test
//! process.
//! - a reader pinning a snapshot: the verdict names it and `lock.checkpoint_starved` is on the
//!   Overview; the help overlay shows every key after scrolling;
//! - a writer mid-transaction with spilled pages: no warning or error while it holds the write
//!   lock; once it is killed, the leftovers are raised (after the documented number of polls);
//! - `rm` of the -wal while the writer runs: `wal.deleted_but_open` names the writer's pid, and
//!   the commands it gives save a database equal to what SQLite saw before the deletion.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::support::tmux::Tmux;

fn tools_available() -> bool {
    let ok = |c: &str, a: &str| Command::new(c).arg(a).output().is_ok_and(|o| o.status.success());
    ok("tmux", "-V") && ok("sqlite3", "-version")
}

/// The `sqlite3` shell on `db`, fed through its stdin (kept open: the connection stays).
/// [`Shell::run`] returns once the shell has executed the SQL (it prints a marker after it):
/// starting the UI while the shell was still creating the database made it find a 0-byte file.
struct Shell {
    child: Child,
    out: std::sync::mpsc::Receiver<String>,
}

impl Shell {
    fn open(db: &Path) -> Self {
        let mut child = Command::new("sqlite3")
            .arg(db)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (tx, out) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for l in std::io::BufReader::new(stdout).lines() {
                let Ok(l) = l else { break };
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Self { child, out }
    }
    fn run(&mut self, sql: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(sql.as_bytes()).unwrap();
        stdin.write_all(b"\n.print __walinspect_done__\n").unwrap();
        stdin.flush().unwrap();
        let limit = Instant::now() + Duration::from_secs(60);
        loop {
            let left = limit.saturating_duration_since(Instant::now());
            match self.out.recv_timeout(left) {
                Ok(l) if l == "__walinspect_done__" => return,
                Ok(_) => {}
                Err(e) => panic!("the sqlite3 shell did not finish {sql:?} within 60 s: {e}"),
            }
        }
    }
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn exe() -> &'static str {
    env!("CARGO_BIN_EXE_walinspect")
}

/// Wait until `cond` holds (the shell applies its input asynchronously).
fn until(what: &str, limit: Duration, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "{what} did not happen within {limit:?}");
        std::thread::sleep(Duration::from_millis(30));
    }
}

fn rows(c: &Connection) -> Vec<(i64, String)> {
    let mut st = c.prepare("SELECT id, v FROM t ORDER BY id").unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(|r| r.unwrap()).collect()
}

#[test]
fn verdict_names_the_reader_that_starves_checkpoints_and_help_scrolls() {
    if !tools_available() {
        eprintln!("SKIPPED: tmux or sqlite3 is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    let w = Connection::open(&db).unwrap();
    w.pragma_update(None, "journal_mode", "wal").unwrap();
    w.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    w.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t(v) VALUES ('a');").unwrap();
    // A reader in another process pins the snapshot as of now.
    let mut reader = Shell::open(&db);
    reader.run("BEGIN; SELECT count(*) FROM t;");
    // Commits after its snapshot, then a checkpoint that stops at its mark.
    for i in 0..5 {
        w.execute("INSERT INTO t(v) VALUES (?1)", [format!("row {i}")]).unwrap();
    }
    w.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())).unwrap();
    let t = Tmux::start("op-starved", &format!("{} tui {} --interval 100", exe(), db.display()), 80, 24);
    let pid = format!("pid {}", reader.pid());
    let s = t.wait_for("so checkpoints cannot pass it", Duration::from_secs(10));
    assert!(s.contains(&pid), "the verdict names the reader's pid:\n{s}");
    let s = t.wait_for("lock.checkpoint_starved", Duration::from_secs(20));
    assert!(s.lines().nth(2).is_some_and(|l| l.contains("WAL")), "the verdict is the first line under the tabs:\n{s}");

    // The help at 80x24: every key is on screen at some scroll position.
    t.keys(&["?"]);
    let mut seen = t.wait_for("keys", Duration::from_secs(2));
    for _ in 0..4 {
        t.keys(&["PageDown"]);
        seen.push_str(&t.screen());
    }
    for (keys, _) in walinspect::tui::action::KEYS {
        assert!(seen.contains(keys), "the help never showed {keys:?}:\n{seen}");
    }
    assert!(seen.contains("Mouse:") && seen.contains("States:"), "the notes after the keys:\n{seen}");
    drop(reader);
}

#[test]
fn a_writer_at_work_raises_nothing_and_its_leftovers_are_raised_once_it_dies() {
    if !tools_available() {
        eprintln!("SKIPPED: tmux or sqlite3 is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    let mut w = Shell::open(&db);
    w.run("PRAGMA journal_mode=wal; PRAGMA wal_autocheckpoint=0; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);");
    w.run("INSERT INTO t(v) VALUES ('committed');");
    // A transaction bigger than its cache: pages spill into the WAL before the commit, and
    // rewriting a spilled page writes zero-salt frames.
    w.run("PRAGMA cache_size=2; BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<400) INSERT INTO t(v) SELECT printf('%.500c', 'x') FROM n; UPDATE t SET v = 'y' WHERE id % 7 = 0;");
    let wal = dir.path().join("app.db-wal");
    until("the spill", Duration::from_secs(10), || std::fs::metadata(&wal).is_ok_and(|m| m.len() > 64 * 1024));
    let t = Tmux::start("op-spill", &format!("{} tui {} --interval 100", exe(), db.display()), 80, 24);
    let s = t.wait_for("is writing", Duration::from_secs(10));
    // Several seconds of polls while it holds the lock: nothing above info.
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(2) {
        let s = t.screen();
        assert!(!s.contains(" warning ") && !s.contains(" error "), "a writer at work is graded as damage:\n{s}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(s.contains("healthy"), "the verdict while it writes:\n{s}");
    // The writer dies mid-transaction: its lock goes, its frames stay.
    drop(w);
    let s = t.wait_for(" warning ", Duration::from_secs(20));
    assert!(
        s.contains("wal.uncommitted_frames") || s.contains("wal.checksum_mismatch") || s.contains("wal.salt_mismatch"),
        "the leftovers are raised:\n{s}"
    );
}

#[test]
fn a_deleted_wal_still_open_is_found_and_saved() {
    if !tools_available() {
        eprintln!("SKIPPED: tmux or sqlite3 is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    let mut w = Shell::open(&db);
    w.run("PRAGMA journal_mode=wal; PRAGMA wal_autocheckpoint=0; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);");
    w.run("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<50) INSERT INTO t(v) SELECT 'row ' || i FROM n;");
    w.run("INSERT INTO t(v) VALUES ('last');");
    let wal = dir.path().join("app.db-wal");
    let t = Tmux::start("op-deleted", &format!("{} tui {} --interval 100", exe(), db.display()), 80, 24);
    t.wait_for("commits   3", Duration::from_secs(10));
    // What SQLite sees before the deletion: a copy of the three files, opened by SQLite.
    let before = tempfile::tempdir().unwrap();
    for s in ["", "-wal", "-shm"] {
        std::fs::copy(format!("{}{s}", db.display()), before.path().join(format!("app.db{s}"))).unwrap();
    }
    let expected = rows(&Connection::open(before.path().join("app.db")).unwrap());
    assert_eq!(expected.len(), 51);
    std::fs::remove_file(&wal).unwrap();
    let pid = format!("pid {}", w.pid());
    t.keys(&["5"]);
    let s = t.wait_for("wal.deleted_but_open", Duration::from_secs(20));
    assert!(s.contains(&pid), "the finding names the writer:\n{s}");
    // The same finding from `check`, with the commands that save the content.
    let out = Command::new(exe()).args(["check", "--json", "--findings-only"]).arg(&db).output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "wal.deleted_but_open" && f["message"].as_str().unwrap().contains(&pid))
        .unwrap_or_else(|| panic!("check does not report it: {doc}"));
    let msg = f["message"].as_str().unwrap();
    assert!(msg.contains(&pid), "{msg}");
    let cmd = msg.split("before anything else: ").nth(1).unwrap();
    let work = tempfile::tempdir().unwrap();
    let exe_dir = Path::new(exe()).parent().unwrap();
    let path = format!("{}:{}", exe_dir.display(), std::env::var("PATH").unwrap_or_default());
    let r = Command::new("sh").arg("-c").arg(cmd).current_dir(work.path()).env("PATH", path).output().unwrap();
    assert!(r.status.success(), "{cmd}: {}", String::from_utf8_lossy(&r.stderr));
    let got = rows(&Connection::open(work.path().join("recovered.db")).unwrap());
    assert_eq!(got, expected, "the saved database equals SQLite's view before the deletion");
    drop(w);
}
