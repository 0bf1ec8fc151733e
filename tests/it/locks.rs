//! `walinspect locks` against real SQLite processes holding each lock state.
//!
//! Every SQLite connection lives in a child process (Python's `sqlite3` module, the system's
//! SQLite), never in this test process: POSIX locks belong to a process, and opening and
//! closing a database file here would silently drop the locks of a connection held here. The
//! children use a busy timeout of 0, so any lock the probe took would show up as SQLITE_BUSY at
//! once.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use crate::support::common::{Unchanged, bin, sibling, tempdir};
use serde_json::Value;

/// A line-oriented SQLite driver: each stdin line is SQL (answered "ok <rows as JSON>" or
/// "err <code name> <message>"), or `loop MS SQL` (run SQL repeatedly for MS milliseconds,
/// answered `loop {"n": .., "errors": .., "first": ".."}`).
const DRIVER: &str = r#"
import sqlite3, sys, os, json, time
target = sys.argv[1]
con = sqlite3.connect(target, isolation_level=None, timeout=0, uri=target.startswith("file:"))
print("ready", os.getpid(), flush=True)
for line in sys.stdin:
    cmd = line.rstrip("\n")
    if cmd.startswith("loop "):
        _, ms, sql = cmd.split(" ", 2)
        end = time.monotonic() + int(ms) / 1000
        n = errors = 0
        first = ""
        while time.monotonic() < end:
            try:
                con.execute(sql).fetchall()
                n += 1
            except sqlite3.Error as e:
                errors += 1
                first = first or "%s %s" % (getattr(e, "sqlite_errorname", "?"), e)
        print("loop", json.dumps({"n": n, "errors": errors, "first": first}), flush=True)
        continue
    try:
        print("ok", json.dumps(con.execute(cmd).fetchall()), flush=True)
    except sqlite3.Error as e:
        print("err", getattr(e, "sqlite_errorname", "?"), e, flush=True)
"#;

/// A Python every user can run (the setuid tests drop to another uid).
fn python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() { "/usr/bin/python3" } else { "python3" }
}

fn lines_of(r: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for l in BufReader::new(r).lines() {
            let Ok(l) = l else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    rx
}

/// One SQLite connection in a child process.
struct Sql {
    child: Child,
    stdin: ChildStdin,
    out: Receiver<String>,
    /// The connection's pid as seen from this test's PID namespace.
    pid: i64,
}

impl Sql {
    fn open(target: &str) -> Self {
        Self::spawn(Command::new(python()).args(["-c", DRIVER, target]))
    }

    fn spawn(cmd: &mut Command) -> Self {
        let mut child =
            cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("spawn python3");
        let stdin = child.stdin.take().unwrap();
        let out = lines_of(child.stdout.take().unwrap());
        let pid = i64::from(child.id());
        let mut s = Self { child, stdin, out, pid };
        let ready = s.line();
        assert!(ready.starts_with("ready "), "driver did not start: {ready}");
        s
    }

    fn line(&mut self) -> String {
        self.out.recv_timeout(Duration::from_secs(60)).expect("no answer from the SQLite child within 60 s")
    }

    fn send(&mut self, cmd: &str) {
        writeln!(self.stdin, "{cmd}").unwrap();
        self.stdin.flush().unwrap();
    }

    fn q(&mut self, sql: &str) -> String {
        self.send(sql);
        self.line()
    }

    /// Run SQL that must succeed; its rows.
    fn ok(&mut self, sql: &str) -> Value {
        let r = self.q(sql);
        let rows = r.strip_prefix("ok ").unwrap_or_else(|| panic!("{sql}: {r}"));
        serde_json::from_str(rows).unwrap()
    }

    /// Run `sql` in a loop for `ms` milliseconds: (iterations, errors, first error).
    fn run_loop_result(&mut self) -> (u64, u64, String) {
        let r = self.line();
        let v: Value = serde_json::from_str(r.strip_prefix("loop ").unwrap_or_else(|| panic!("{r}"))).unwrap();
        (v["n"].as_u64().unwrap(), v["errors"].as_u64().unwrap(), v["first"].as_str().unwrap().to_string())
    }
}

impl Drop for Sql {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run walinspect with the live probe (unlike `crate::support::common::run`).
fn run_live(args: &[&str]) -> crate::support::common::Run {
    let out = Command::new(bin()).args(args).env("NO_COLOR", "1").output().expect("run walinspect");
    crate::support::common::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A WAL database with a table and a few rows, its creator still connected (idle).
fn wal_db(dir: &Path) -> (PathBuf, Sql) {
    let db = dir.join("app.db");
    let mut a = Sql::open(s(&db));
    assert_eq!(a.ok("PRAGMA journal_mode=WAL"), serde_json::json!([["wal"]]));
    a.ok("PRAGMA wal_autocheckpoint=0");
    a.ok("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
    for _ in 0..3 {
        a.ok("INSERT INTO t(v) VALUES (randomblob(100))");
    }
    (db, a)
}

fn locks_json(db: &Path) -> Value {
    let out = Command::new(bin()).args(["locks", s(db), "--json"]).env("NO_COLOR", "1").output().unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "locks failed: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(v["schema"], "walinspect.locks");
    assert_eq!(v["version"], 1);
    v
}

/// (file, name) -> (state, {pids}) for every lock in the document.
fn table(v: &Value) -> BTreeMap<(String, String), (String, BTreeSet<i64>)> {
    v["locks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let pids = l["holders"].as_array().unwrap().iter().map(|h| h["pid"].as_i64().unwrap_or(0)).collect();
            (
                (l["file"].as_str().unwrap().to_string(), l["name"].as_str().unwrap().to_string()),
                (l["state"].as_str().unwrap().to_string(), pids),
            )
        })
        .collect()
}

/// Assert the whole lock table: `held` lists the locks that are not free, every other lock of
/// the files present must be free with no holder.
fn assert_table(v: &Value, held: &[(&str, &str, &str, &[i64])]) {
    let t = table(v);
    for ((file, name), (state, pids)) in &t {
        match held.iter().find(|(f, n, _, _)| f == file && n == name) {
            Some((_, _, st, want)) => {
                assert_eq!(state, st, "{file}.{name}: {t:?}");
                assert_eq!(pids, &want.iter().copied().collect::<BTreeSet<_>>(), "{file}.{name} holders: {t:?}");
            }
            None => assert!(state == "free" && pids.is_empty(), "{file}.{name} should be free: {t:?}"),
        }
    }
    for (f, n, _, _) in held {
        assert!(t.contains_key(&(f.to_string(), n.to_string())), "{f}.{n} missing from {t:?}");
    }
}

fn codes(v: &Value) -> Vec<String> {
    v["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap().to_string()).collect()
}

fn live_codes(v: &Value) -> Vec<String> {
    // The `env.*_filesystem` findings are right but not the subject when the temporary
    // directory itself is on an overlay (a CI container) or a share.
    let local = v["environment"]["filesystem"]["class"] == "local";
    codes(v)
        .into_iter()
        .filter(|c| c.starts_with("lock.") || (c.starts_with("env.") && (local || !c.ends_with("_filesystem"))))
        .collect()
}

fn pids(v: &Value) -> Vec<i64> {
    v.as_array().unwrap().iter().map(|p| p["pid"].as_i64().unwrap_or(0)).collect()
}

/// The read slots (0..4) a document shows held shared, with their holders.
fn read_slots(v: &Value) -> Vec<(u64, Vec<i64>)> {
    v["state"]["readers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["readers"].as_array().unwrap().is_empty())
        .map(|r| (r["slot"].as_u64().unwrap(), pids(&r["readers"])))
        .collect()
}

#[test]
fn idle_connection() {
    let d = tempdir();
    let (db, a) = wal_db(d.path());
    let guard = Unchanged::record(&db);
    let v = locks_json(&db);
    guard.assert();
    assert_table(&v, &[("db", "shared", "shared", &[a.pid]), ("shm", "dms", "shared", &[a.pid])]);
    assert_eq!(v["locks"].as_array().unwrap().len(), 12, "3 database locks and 9 -shm locks");
    assert_eq!(v["state"]["mode"], "wal");
    assert_eq!(pids(&v["state"]["connections"]), vec![a.pid]);
    assert_eq!(v["state"]["writer"]["running"], false);
    assert!(read_slots(&v).is_empty());
    assert!(live_codes(&v).is_empty(), "{:?}", codes(&v));
    let holder = &v["locks"][2]["holders"][0];
    assert!(holder["command"].as_str().unwrap().contains("python"), "{holder}");
    assert_eq!(holder["lock"], "read");
    assert_eq!(holder["pid_namespace"], "same");
    assert!(v["probe"]["consistent"].as_bool().unwrap());
    assert_eq!(v["probe"]["proc_locks"], "read");
    assert_eq!(v["probe"]["matched"]["db"], "device_and_inode");
}

#[test]
fn reader_inside_a_transaction() {
    let d = tempdir();
    let (db, a) = wal_db(d.path());
    let mut b = Sql::open(s(&db));
    b.ok("BEGIN");
    b.ok("SELECT count(*) FROM t");
    let v = locks_json(&db);
    let slots = read_slots(&v);
    assert_eq!(slots.len(), 1, "one read slot in use: {slots:?}");
    let (slot, holders) = &slots[0];
    assert_eq!(holders, &vec![b.pid]);
    assert!((1..=4).contains(slot), "a reader of a WAL with content uses slot 1..4, not {slot}");
    let name = format!("read{slot}");
    assert_table(
        &v,
        &[
            ("db", "shared", "shared", &[a.pid, b.pid]),
            ("shm", "dms", "shared", &[a.pid, b.pid]),
            ("shm", &name, "shared", &[b.pid]),
        ],
    );
    // Its snapshot is the last commit: no frame behind, nothing starved.
    let r = &v["state"]["readers"][0];
    assert_eq!(r["read_mark"], v["state"]["mx_frame"]);
    assert_eq!(r["frames_behind"], 0);
    assert!(v["state"]["starvation"].as_array().unwrap().is_empty());
    assert!(live_codes(&v).is_empty(), "{:?}", codes(&v));
    b.ok("COMMIT");
    let v = locks_json(&db);
    assert!(read_slots(&v).is_empty());
}

#[test]
fn writer_inside_begin_immediate() {
    let d = tempdir();
    let (db, mut a) = wal_db(d.path());
    let b = Sql::open(s(&db));
    a.ok("BEGIN IMMEDIATE");
    let v = locks_json(&db);
    let slots = read_slots(&v);
    assert_eq!(slots.len(), 1, "the writer also reads: {slots:?}");
    let name = format!("read{}", slots[0].0);
    // b has not read anything yet: it holds nothing.
    assert_table(
        &v,
        &[
            ("db", "shared", "shared", &[a.pid]),
            ("shm", "dms", "shared", &[a.pid]),
            ("shm", "write", "exclusive", &[a.pid]),
            ("shm", &name, "shared", &[a.pid]),
        ],
    );
    assert_eq!(v["state"]["writer"]["running"], true);
    assert_eq!(pids(&v["state"]["writer"]["by"]), vec![a.pid]);
    assert!(
        v["state"]["summary"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| { l.as_str().unwrap().contains(&format!("Writer active: pid {}", a.pid)) })
    );
    assert!(live_codes(&v).is_empty(), "{:?}", codes(&v));
    drop(b);
    a.ok("COMMIT");
    let v = locks_json(&db);
    assert_eq!(v["state"]["writer"]["running"], false);
}

/// Commit `n` rows of 3000 bytes (one frame each, and more for the index pages).
fn grow(a: &mut Sql, n: usize) {
    for _ in 0..n {
        a.ok("INSERT INTO t(v) VALUES (randomblob(3000))");
    }
}

#[test]
fn checkpoint_starved_by_a_reader() {
    let d = tempdir();
    let (db, mut a) = wal_db(d.path());
    let mut b = Sql::open(s(&db));
    b.ok("BEGIN");
    b.ok("SELECT count(*) FROM t");
    grow(&mut a, 20);
    // SQLite's own account: (busy, frames in the log = mxFrame, frames checkpointed).
    let r = a.ok("PRAGMA wal_checkpoint(PASSIVE)");
    let (log, done) = (r[0][1].as_u64().unwrap(), r[0][2].as_u64().unwrap());
    assert!(done < log, "the reader must hold the checkpoint back: {r}");
    let v = locks_json(&db);
    assert_eq!(v["state"]["mx_frame"].as_u64(), Some(log));
    assert_eq!(v["state"]["backfill"].as_u64(), Some(done));
    let st = v["state"]["starvation"].as_array().unwrap();
    assert_eq!(st.len(), 1, "{st:?}");
    let s0 = &st[0];
    assert_eq!(pids(&s0["readers"]), vec![b.pid], "the starving reader is b");
    assert_eq!(s0["read_mark"].as_u64(), Some(done));
    assert_eq!(s0["frames_held_back"].as_u64(), Some(log - done));
    let page = v["state"]["page_size"].as_u64().unwrap();
    assert_eq!(s0["bytes_held_back"].as_u64(), Some((log - done) * (page + 24)));
    assert_eq!(s0["wal_size"].as_u64(), Some(std::fs::metadata(sibling(&db, "-wal")).unwrap().len()));
    // The finding names the reader, the mark, the frames and the bytes.
    let f: Vec<&Value> =
        v["findings"].as_array().unwrap().iter().filter(|f| f["code"] == "lock.checkpoint_starved").collect();
    assert_eq!(f.len(), 1);
    let msg = f[0]["message"].as_str().unwrap();
    assert!(
        msg.contains(&format!("pid {}", b.pid))
            && msg.contains(&format!("frame {done}"))
            && msg.contains(&format!("{} frames", log - done)),
        "{msg}"
    );
    assert_eq!(f[0]["frame"].as_u64(), Some(done + 1));
    assert_eq!(f[0]["count"].as_u64(), Some(log - done));
    assert_eq!(f[0]["severity"], "warning");
    // `check` raises the same finding (exit 0: a warning is below the default threshold).
    let c = run_live(&["check", s(&db), "--json"]);
    assert_eq!(c.code, 0, "{}", c.stderr);
    assert!(c.stdout.contains("lock.checkpoint_starved"));
    assert_eq!(run_live(&["check", s(&db), "--fail-on", "warning"]).code, 1);
    assert!(!run_live(&["check", s(&db), "--json", "--no-live"]).stdout.contains("lock.checkpoint_starved"));
    // The reader ends: nothing starves any more, and the next checkpoint completes.
    b.ok("COMMIT");
    let v = locks_json(&db);
    assert!(v["state"]["starvation"].as_array().unwrap().is_empty());
    assert!(!codes(&v).contains(&"lock.checkpoint_starved".to_string()));
    let r = a.ok("PRAGMA wal_checkpoint(PASSIVE)");
    assert_eq!(r[0][2].as_u64(), Some(log));
}

#[test]
fn checkpoint_starved_by_a_slot0_reader() {
    let d = tempdir();
    let (db, mut a) = wal_db(d.path());
    // Everything checkpointed: a new reader reads the database file alone, through slot 0.
    let r = a.ok("PRAGMA wal_checkpoint(PASSIVE)");
    assert_eq!(r[0][1], r[0][2], "{r}");
    let mut b = Sql::open(s(&db));
    b.ok("BEGIN");
    b.ok("SELECT count(*) FROM t");
    assert_eq!(read_slots(&locks_json(&db)), vec![(0, vec![b.pid])]);
    // New commits restart the WAL; a slot-0 reader lets no checkpoint copy anything.
    grow(&mut a, 5);
    let r = a.ok("PRAGMA wal_checkpoint(PASSIVE)");
    let log = r[0][1].as_u64().unwrap();
    assert_eq!(r[0][2], 0, "SQLite copies nothing while a slot-0 reader reads: {r}");
    let v = locks_json(&db);
    let st = v["state"]["starvation"].as_array().unwrap();
    assert_eq!(st.len(), 1, "{st:?}");
    assert_eq!(
        (st[0]["slot"].as_u64(), st[0]["read_mark"].as_u64(), st[0]["frames_held_back"].as_u64()),
        (Some(0), Some(0), Some(log))
    );
    assert_eq!(pids(&st[0]["readers"]), vec![b.pid]);
    let f = v["findings"].as_array().unwrap().iter().find(|f| f["code"] == "lock.checkpoint_starved").unwrap();
    assert_eq!(f["offset"], 96, "slot 0's cap is nBackfill");
    b.ok("COMMIT");
    assert!(locks_json(&db)["state"]["starvation"].as_array().unwrap().is_empty());
}

#[test]
fn full_checkpoint_blocked_by_a_reader() {
    let d = tempdir();
    let (db, mut a) = wal_db(d.path());
    let mut b = Sql::open(s(&db));
    b.ok("BEGIN");
    b.ok("SELECT count(*) FROM t");
    grow(&mut a, 10);
    let mut c = Sql::open(s(&db));
    c.ok("PRAGMA busy_timeout=30000");
    c.send("PRAGMA wal_checkpoint(FULL)");
    // Wait (bounded) until the checkpointer holds its lock and waits for b.
    let t0 = Instant::now();
    let v = loop {
        let v = locks_json(&db);
        if v["state"]["checkpoint"]["running"] == true || t0.elapsed() > Duration::from_secs(10) {
            break v;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(pids(&v["state"]["checkpoint"]["by"]), vec![c.pid], "{}", v["state"]);
    // FULL takes the writer lock too, and waits for the reader's slot.
    assert_eq!(pids(&v["state"]["writer"]["by"]), vec![c.pid]);
    let st = v["state"]["starvation"].as_array().unwrap();
    assert_eq!(st.len(), 1, "{st:?}");
    assert_eq!(pids(&st[0]["readers"]), vec![b.pid]);
    assert_eq!(pids(&st[0]["checkpoint_waiting"]), vec![c.pid]);
    let msg =
        v["findings"].as_array().unwrap().iter().find(|f| f["code"] == "lock.checkpoint_starved").unwrap()["message"]
            .as_str()
            .unwrap()
            .to_string();
    assert!(msg.contains(&format!("A checkpoint by pid {}", c.pid)), "{msg}");
    // The reader ends: the checkpoint completes.
    b.ok("COMMIT");
    let r = c.line();
    let rows: Value = serde_json::from_str(r.strip_prefix("ok ").unwrap_or_else(|| panic!("{r}"))).unwrap();
    assert_eq!(rows[0][0], 0, "not busy: {rows}");
    assert_eq!(rows[0][1], rows[0][2], "everything checkpointed: {rows}");
}

#[test]
fn exclusive_locking_mode() {
    let d = tempdir();
    let (_, db) = closed_wal_db(d.path());
    let mut e = Sql::open(s(&db));
    e.ok("PRAGMA locking_mode=EXCLUSIVE");
    e.ok("SELECT count(*) FROM t");
    e.ok("INSERT INTO t(v) VALUES (1)");
    assert!(!sibling(&db, "-shm").exists(), "exclusive mode keeps the wal-index in memory");
    let v = locks_json(&db);
    assert_eq!(v["locks"].as_array().unwrap().len(), 3, "no -shm: database locks only");
    assert_table(&v, &[("db", "pending", "exclusive", &[e.pid]), ("db", "shared", "exclusive", &[e.pid])]);
    assert_eq!(v["state"]["mode"], "exclusive_locking_mode");
    assert_eq!(pids(&v["state"]["exclusive"]), vec![e.pid]);
    assert_eq!(live_codes(&v), vec!["lock.exclusive".to_string()]);
    assert_eq!(
        v["findings"].as_array().unwrap().iter().find(|f| f["code"] == "lock.exclusive").unwrap()["severity"],
        "info"
    );
    // The lock is real: another connection is refused.
    let mut other = Sql::open(s(&db));
    assert!(other.q("SELECT count(*) FROM t").starts_with("err SQLITE_BUSY"));
}

#[test]
fn unix_excl_vfs() {
    let d = tempdir();
    let (_, db) = closed_wal_db(d.path());
    let mut u = Sql::open(&format!("file:{}?vfs=unix-excl", s(&db)));
    u.ok("SELECT count(*) FROM t");
    let v = locks_json(&db);
    assert_table(&v, &[("db", "shared", "exclusive", &[u.pid])]);
    assert_eq!(v["state"]["mode"], "unix_excl");
    assert_eq!(live_codes(&v), vec!["lock.exclusive".to_string()]);
}

#[test]
fn probing_never_makes_sqlite_busy() {
    let d = tempdir();
    let (db, mut w) = wal_db(d.path());
    let mut r = Sql::open(s(&db));
    let mut k = Sql::open(s(&db));
    // Control: the loops do report SQLITE_BUSY when a real lock is in the way.
    k.ok("BEGIN IMMEDIATE");
    w.send("loop 200 INSERT INTO t(v) VALUES (randomblob(50))");
    let (_, errors, first) = w.run_loop_result();
    assert!(errors > 0 && first.starts_with("SQLITE_BUSY"), "the control must see SQLITE_BUSY: {errors} {first}");
    k.ok("COMMIT");
    // Only `k` checkpoints: two checkpointers (an automatic one in the writer and k's PASSIVE
    // ones) contend for SQLite's own checkpoint lock and return SQLITE_BUSY to each other,
    // which has nothing to do with the probe.
    w.ok("PRAGMA wal_autocheckpoint=0");
    // SQLite's own readers take the WAL write lock for a moment, too: a reader (or PASSIVE
    // checkpointer) that reads the wal-index header while the writer is updating it sees the
    // two copies differ and takes WAL_WRITE_LOCK to re-read it (wal.c, walIndexReadHdr). A
    // writer with a busy timeout of 0 then fails with SQLITE_BUSY, with or without walinspect
    // (CI saw it 4 times in 3 s). The writer waits up to 1 s for such a moment; the readers
    // keep a timeout of 0. That the probe itself never takes a lock is proven exactly, at the
    // system-call level, by `probes_make_no_locking_or_writing_system_call` below.
    w.ok("PRAGMA busy_timeout=1000");
    // Now write and read continuously while walinspect probes as fast as it can.
    w.send("loop 3000 INSERT INTO t(v) VALUES (randomblob(50))");
    r.send("loop 3000 SELECT count(*), max(id) FROM t");
    k.send("loop 3000 PRAGMA wal_checkpoint(PASSIVE)");
    let t0 = Instant::now();
    let mut probes = 0;
    while t0.elapsed() < Duration::from_millis(2500) {
        let out = Command::new(bin()).args(["locks", s(&db), "--json"]).output().unwrap();
        assert!(matches!(out.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&out.stderr));
        let c = Command::new(bin()).args(["check", s(&db)]).output().unwrap();
        assert!(matches!(c.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&c.stderr));
        probes += 2;
    }
    let watch = Command::new(bin())
        .args(["locks", s(&db), "--watch", "--interval", "10", "--count", "20", "--json"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&watch.stdout).lines().count(), 20);
    let (wn, we, wf) = w.run_loop_result();
    let (rn, re, rf) = r.run_loop_result();
    let (kn, ke, kf) = k.run_loop_result();
    eprintln!("{probes} probes + 20 watch refreshes during {wn} writes, {rn} reads, {kn} checkpoints");
    assert!(wn > 0 && rn > 0 && kn > 0);
    assert_eq!((we, re, ke), (0, 0, 0), "SQLite saw errors while walinspect probed: {wf} / {rf} / {kf}");
}

/// Every read-only command, run under `strace` against a database whose locks are held by real
/// SQLite connections (a reader's snapshot and a writer's open transaction), makes no system
/// call that takes a lock (`F_SETLK`, `F_SETLKW`, `F_OFD_SETLK*`, `flock`) and opens every
/// evidence file read-only, without creating or truncating anything. Skipped, saying so, where
/// `strace` is missing or ptrace is not permitted.
#[test]
fn probes_make_no_locking_or_writing_system_call() {
    let usable = Command::new("strace").args(["-qq", "-o", "/dev/null", "true"]).status().is_ok_and(|s| s.success());
    if !usable {
        eprintln!("SKIPPED: strace is missing or cannot trace here");
        return;
    }
    let d = tempdir();
    let (db, mut w) = wal_db(d.path());
    let mut r = Sql::open(s(&db));
    r.ok("BEGIN");
    r.ok("SELECT count(*) FROM t");
    w.ok("BEGIN IMMEDIATE");
    w.ok("INSERT INTO t(v) VALUES (randomblob(5000))");
    let evidence = [db.clone(), sibling(&db, "-wal"), sibling(&db, "-shm")];
    let trace = d.path().join("trace");
    let commands: &[&[&str]] = &[
        &["locks", "--json"],
        &["locks", "--watch", "--interval", "10", "--count", "3", "--json"],
        &["info"],
        &["check"],
        &["check", "--deep"],
        &["dump", "--json"],
        &["timeline"],
        &["history"],
        &["salvage"],
    ];
    let mut seen_getlk = false;
    let mut evidence_opens = 0;
    for args in commands {
        let (cmd, rest) = args.split_first().unwrap();
        let out = Command::new("strace")
            .args(["-f", "-qq", "-e", "trace=fcntl,flock,open,openat,creat,truncate,ftruncate", "-o"])
            .arg(&trace)
            .arg(bin())
            .arg(cmd)
            .arg(&db)
            .args(rest)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert!(matches!(out.status.code(), Some(0..=2)), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let text = std::fs::read_to_string(&trace).unwrap();
        assert!(text.lines().count() > 3, "{args:?}: strace recorded nothing:\n{text}");
        for line in text.lines() {
            for bad in ["F_SETLK", "F_OFD_SETLK", "flock(", "truncate(", "creat("] {
                assert!(!line.contains(bad), "{args:?} made a forbidden call: {line}");
            }
            let names_evidence = evidence.iter().any(|e| line.contains(&format!("\"{}\"", s(e))));
            if names_evidence && line.contains("open") {
                evidence_opens += 1;
                assert!(line.contains("O_RDONLY"), "{args:?} opened evidence for writing: {line}");
                for flag in ["O_CREAT", "O_TRUNC", "O_WRONLY", "O_RDWR", "O_APPEND"] {
                    assert!(!line.contains(flag), "{args:?} opened evidence with {flag}: {line}");
                }
            }
        }
        seen_getlk |= text.contains("GETLK");
    }
    assert!(evidence_opens >= commands.len() * 2, "the trace shows only {evidence_opens} opens of the evidence");
    assert!(seen_getlk, "the lock probe never asked who holds a lock: the trace does not show the probe at work");
    // (No hashes here: the SQLite connections holding the locks own these files and write them.)
    w.ok("COMMIT");
    r.ok("COMMIT");
}

#[test]
fn watch_reports_each_change_within_one_refresh() {
    let d = tempdir();
    let (db, mut a) = wal_db(d.path());
    let mut child = Command::new(bin())
        .args(["locks", s(&db), "--watch", "--json", "--interval", "100"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = lines_of(child.stdout.take().unwrap());
    let next = |out: &Receiver<String>| -> Value {
        serde_json::from_str(&out.recv_timeout(Duration::from_secs(20)).expect("watch line")).unwrap()
    };
    let first = next(&out);
    assert_eq!(first["state"]["writer"]["running"], false);
    let writer = |v: &Value| pids(&v["state"]["writer"]["by"]);
    let now_ms = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    for (sql, want) in [("BEGIN IMMEDIATE", vec![a.pid]), ("COMMIT", vec![])] {
        a.ok(sql);
        let changed = now_ms();
        // The first document probed after the change shows it.
        loop {
            let v = next(&out);
            if v["probed_at_unix_ms"].as_u64().unwrap() > changed + 1 {
                assert_eq!(writer(&v), want, "after {sql}");
                break;
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn text_output_and_errors() {
    let d = tempdir();
    let (db, mut a) = wal_db(d.path());
    a.ok("BEGIN IMMEDIATE");
    let r = run_live(&["locks", s(&db)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("Locks on "), "{}", r.stdout);
    assert!(r.stdout.contains(&format!("Writer active: pid {}", a.pid)), "{}", r.stdout);
    assert!(
        r.stdout.lines().any(|l| l.contains("write") && l.contains("exclusive") && l.contains(&a.pid.to_string())),
        "{}",
        r.stdout
    );
    // Text --watch on a pipe prints a block only when something changed.
    let w = run_live(&["locks", s(&db), "--watch", "--interval", "10", "--count", "5"]);
    assert_eq!(w.stdout.matches("--- +").count(), 1, "{}", w.stdout);
    // Bad input is exit 2, as for every command.
    let r = run_live(&["locks", s(&d.path().join("nope.db"))]);
    assert_eq!(r.code, 2);
    assert_eq!(run_live(&["locks", s(&db), "--interval", "5"]).code, 2, "--interval needs --watch");
}

/// Run `python3 -c script args` as `uid` (root only), returning stdout.
fn python_as(uid: Option<u32>, script: &str, args: &[&str]) -> String {
    let mut cmd = match uid {
        Some(u) => {
            let mut c = Command::new("setpriv");
            c.args(["--reuid", &u.to_string(), "--regid", &u.to_string(), "--clear-groups", python()]);
            c
        }
        None => Command::new(python()),
    };
    let out = cmd.arg("-c").arg(script).args(args).output().expect("run python");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

const READ_ONE: &str = r#"
import sqlite3, sys
try:
    c = sqlite3.connect(sys.argv[1], timeout=0, uri=sys.argv[1].startswith("file:"))
    c.execute("SELECT count(*) FROM t").fetchall()
    if len(sys.argv) > 2:
        c.execute("INSERT INTO t(v) VALUES (1)")
        c.commit()
    print("OK")
except sqlite3.Error as e:
    print("ERR", getattr(e, "sqlite_errorname", "?"), e)
"#;

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
}

const NOBODY: u32 = 65534;

fn chown(p: &Path, uid: u32) {
    std::os::unix::fs::chown(p, Some(uid), Some(uid)).unwrap();
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn check_codes(db: &Path) -> Vec<String> {
    let r = run_live(&["check", s(db), "--json"]);
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    codes(&serde_json::from_str(&r.stdout).unwrap())
}

/// A closed WAL database (no -wal, no -shm, header still WAL) in its own directory.
fn closed_wal_db(parent: &Path) -> (PathBuf, PathBuf) {
    let dir = parent.join("data");
    std::fs::create_dir(&dir).unwrap();
    let db = dir.join("app.db");
    let (_, mut a) = wal_db(&dir);
    a.ok("PRAGMA wal_checkpoint(TRUNCATE)");
    drop(a);
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(sibling(&db, suffix));
    }
    (dir, db)
}

#[test]
fn readonly_directory_for_real() {
    let d = tempdir();
    chmod(d.path(), 0o755);
    let (dir, db) = closed_wal_db(d.path());
    // Tests usually run as root, who may write anywhere: then the database is given to
    // `nobody`, and SQLite runs as `nobody` to show what the owner would get.
    let owner = if is_root() {
        if Command::new("setpriv").arg("--help").output().is_err() {
            eprintln!("skipping the SQLite side of readonly_directory_for_real: running as root without setpriv");
            None
        } else {
            chown(&db, NOBODY);
            Some(NOBODY)
        }
    } else {
        None
    };
    if is_root() && owner.is_none() {
        return;
    }
    chmod(&dir, 0o555);
    assert!(check_codes(&db).contains(&"env.readonly_directory".to_string()));
    let locks = locks_json(&db);
    assert_eq!(locks["environment"]["directory_writable_by_owner"], false);
    assert_eq!(locks["environment"]["wal_mode"], true);
    // SQLite agrees: as the owner, even a read fails.
    let r = python_as(owner, READ_ONE, &[s(&db)]);
    assert!(r.starts_with("ERR SQLITE_READONLY_DIRECTORY"), "{r}");
    let r = python_as(owner, READ_ONE, &[&format!("file:{}?mode=ro", s(&db))]);
    assert!(r.starts_with("ERR SQLITE_READONLY_DIRECTORY"), "{r}");
    // A writable directory: no finding, and SQLite reads.
    chmod(&dir, 0o755);
    if let Some(u) = owner {
        chown(&dir, u);
    }
    assert!(!check_codes(&db).contains(&"env.readonly_directory".to_string()));
    assert_eq!(python_as(owner, READ_ONE, &[s(&db)]).trim(), "OK");
    if is_root() {
        // Root's database in a 0555 directory: root writes there anyway, no hazard.
        chown(&dir, 0);
        chown(&db, 0);
        chmod(&dir, 0o555);
        assert!(!check_codes(&db).contains(&"env.readonly_directory".to_string()));
        assert_eq!(python_as(None, READ_ONE, &[s(&db)]).trim(), "OK");
    }
    chmod(&dir, 0o755);
}

#[test]
fn shm_not_writable_for_real() {
    let d = tempdir();
    chmod(d.path(), 0o755);
    let dir = d.path().join("data");
    std::fs::create_dir(&dir).unwrap();
    let (db, mut a) = wal_db(&dir);
    grow(&mut a, 2);
    // Keep copies of the live files (a crashed writer's leftovers), then let them go.
    let saved: Vec<(PathBuf, Vec<u8>)> =
        ["", "-wal", "-shm"].iter().map(|x| (sibling(&db, x), std::fs::read(sibling(&db, x)).unwrap())).collect();
    drop(a);
    for (p, b) in &saved {
        std::fs::write(p, b).unwrap();
    }
    let owner = is_root().then_some(NOBODY);
    if let Some(u) = owner {
        chown(&dir, u);
        for (p, _) in &saved {
            chown(p, u);
        }
    }
    assert!(!check_codes(&db).contains(&"env.shm_not_writable".to_string()));
    chmod(&sibling(&db, "-shm"), 0o444);
    assert!(check_codes(&db).contains(&"env.shm_not_writable".to_string()));
    assert_eq!(locks_json(&db)["environment"]["shm_writable_by_owner"], false);
    // SQLite agrees: the owner reads, but cannot write.
    let r = python_as(owner, READ_ONE, &[s(&db), "write"]);
    assert!(r.starts_with("ERR SQLITE_READONLY"), "{r}");
    assert_eq!(python_as(owner, READ_ONE, &[s(&db)]).trim(), "OK");
}

#[test]
fn detached_connection_after_the_shm_was_deleted() {
    let d = tempdir();
    let (db, a) = wal_db(d.path());
    // The classic "fix": delete the -wal and -shm under a running process.
    std::fs::remove_file(sibling(&db, "-shm")).unwrap();
    std::fs::remove_file(sibling(&db, "-wal")).unwrap();
    let mut b = Sql::open(s(&db));
    b.ok("SELECT count(*) FROM sqlite_schema");
    let v = locks_json(&db);
    assert_eq!(pids(&v["state"]["detached"]), vec![a.pid], "{}", v["state"]);
    assert_table(&v, &[("db", "shared", "shared", &[a.pid, b.pid]), ("shm", "dms", "shared", &[b.pid])]);
    assert!(codes(&v).contains(&"lock.detached_connection".to_string()));
    drop(a);
    assert!(!codes(&locks_json(&db)).contains(&"lock.detached_connection".to_string()));
}

/// Whether `unshare` can make PID namespaces here (root, or unprivileged user namespaces).
fn unshare_prefix() -> Option<Vec<&'static str>> {
    for p in [
        vec!["unshare", "--pid", "--fork", "--mount-proc"],
        vec!["unshare", "--user", "--map-root-user", "--pid", "--fork", "--mount-proc"],
    ] {
        let ok = Command::new(p[0]).args(&p[1..]).args(["true"]).output().is_ok_and(|o| o.status.success());
        if ok {
            return Some(p);
        }
    }
    None
}

#[test]
fn holders_in_other_pid_namespaces() {
    let Some(prefix) = unshare_prefix() else {
        eprintln!("skipping holders_in_other_pid_namespaces: unshare cannot create PID namespaces here");
        return;
    };
    let d = tempdir();
    let (db, a) = wal_db(d.path());
    // A second connection in a new PID and mount namespace (a "container").
    let mut c = Sql::spawn(Command::new(prefix[0]).args(&prefix[1..]).args([python(), "-c", DRIVER, s(&db)]));
    c.ok("SELECT count(*) FROM t");
    // Its pid here: the child of the `unshare` process.
    let inner = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", c.pid)).unwrap();
    let cpid: i64 = inner.split_whitespace().next().unwrap().parse().unwrap();
    let v = locks_json(&db);
    assert_table(&v, &[("db", "shared", "shared", &[a.pid, cpid]), ("shm", "dms", "shared", &[a.pid, cpid])]);
    let outside = &v["state"]["namespaces"]["outside"];
    assert_eq!(pids(outside), vec![cpid]);
    assert_eq!(outside[0]["pid_namespace"], "other");
    assert_eq!(outside[0]["inner_pid"], 1, "it is pid 1 in its namespace");
    assert_eq!(v["state"]["namespaces"]["pid_namespaces"], 2);
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "lock.cross_namespace")
        .expect("lock.cross_namespace");
    assert_eq!(f["severity"], "warning");
    // Seen from inside a namespace of its own, walinspect cannot name the holders: the lock
    // states stay right, the holders are unidentified.
    let out = Command::new(prefix[0]).args(&prefix[1..]).args([bin(), "locks", s(&db), "--json"]).output().unwrap();
    let inside: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let shared = inside["locks"].as_array().unwrap().iter().find(|l| l["name"] == "shared").unwrap();
    assert_eq!(shared["state"], "shared");
    assert!(shared["holders"].as_array().unwrap().iter().all(|h| h["pid"].is_null()), "{shared}");
    assert!(codes(&inside).contains(&"lock.unidentified_holder".to_string()), "{:?}", codes(&inside));
    // Only one holder left, in the other namespace: no longer mixed.
    drop(a);
    let v = locks_json(&db);
    assert!(!codes(&v).contains(&"lock.cross_namespace".to_string()), "{:?}", codes(&v));
}

#[test]
fn assert_unlocked_names_the_holders() {
    use walinspect::source::Paths;
    use walinspect::source::locks::assert_unlocked;
    let d = tempdir();
    let (db, mut a) = wal_db(d.path());
    let mut b = Sql::open(s(&db));
    b.ok("SELECT 1 FROM t");
    a.ok("BEGIN IMMEDIATE");
    let paths = Paths::resolve(&db);
    let holders = assert_unlocked(&paths).unwrap_err();
    let by: BTreeSet<i64> = holders.iter().filter_map(|h| h.pid).collect();
    assert_eq!(by, BTreeSet::from([a.pid, b.pid]), "{holders:#?}");
    assert!(
        holders.iter().any(|h| h.pid == Some(a.pid)
            && h.start == 120
            && h.kind == Some(walinspect::source::locks::LockType::Write))
    );
    assert!(holders.iter().all(|h| h.command.as_deref().is_some_and(|c| c.contains("python"))));
    assert!(holders[0].to_string().starts_with("pid "));
    a.ok("COMMIT");
    drop(a);
    drop(b);
    assert_eq!(assert_unlocked(&paths), Ok(()));
    // Nothing locked: /proc/locks is not even read.
    let v = locks_json(&db);
    assert_eq!(v["probe"]["proc_locks"], "skipped");
    assert_eq!(v["state"]["mode"], "unused");
    assert!(v["locks"].as_array().unwrap().iter().all(|l| l["state"] == "free"));
}

#[test]
fn rollback_journal_writer() {
    let d = tempdir();
    let db = d.path().join("r.db");
    let mut a = Sql::open(s(&db));
    a.ok("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
    a.ok("BEGIN IMMEDIATE");
    let v = locks_json(&db);
    assert_eq!(v["locks"].as_array().unwrap().len(), 3);
    assert_table(&v, &[("db", "reserved", "exclusive", &[a.pid]), ("db", "shared", "shared", &[a.pid])]);
    assert_eq!(v["state"]["mode"], "rollback");
    assert_eq!(pids(&v["state"]["writer"]["by"]), vec![a.pid]);
    assert!(live_codes(&v).is_empty(), "{:?}", codes(&v));
}

#[test]
fn local_filesystems_raise_no_hazard() {
    // /dev/shm is tmpfs; the temporary directory is on the disk here (but may be a CI
    // container's overlay, which is then reported, rightly, and not asserted on).
    let mut dirs = vec![tempdir()];
    if Path::new("/dev/shm").is_dir() {
        dirs.push(tempfile::Builder::new().prefix("walinspect-test").tempdir_in("/dev/shm").unwrap());
    }
    for d in &dirs {
        let (db, _a) = wal_db(d.path());
        let v = locks_json(&db);
        let fs = &v["environment"]["filesystem"];
        if fs["class"] != "local" && !d.path().starts_with("/dev/shm") {
            eprintln!("not asserting on {}: it is on {} ({})", d.path().display(), fs["name"], fs["class"]);
            continue;
        }
        assert_eq!(fs["class"], "local", "{}", v["environment"]);
        let live: Vec<String> =
            codes(&v).into_iter().filter(|c| c.starts_with("env.") || c.starts_with("lock.")).collect();
        assert!(live.is_empty(), "{live:?}");
    }
}

#[test]
fn overlay_filesystem_for_real() {
    let d = tempdir();
    let (lower, upper, work, merged) =
        (d.path().join("lower"), d.path().join("upper"), d.path().join("work"), d.path().join("merged"));
    for p in [&lower, &upper, &work, &merged] {
        std::fs::create_dir(p).unwrap();
    }
    let opts = format!("lowerdir={},upperdir={},workdir={}", s(&lower), s(&upper), s(&work));
    let mounted = Command::new("mount")
        .args(["-t", "overlay", "overlay", "-o", &opts, s(&merged)])
        .output()
        .is_ok_and(|o| o.status.success());
    if !mounted {
        eprintln!("skipping overlay_filesystem_for_real: cannot mount an overlay here (needs root)");
        return;
    }
    let result = std::panic::catch_unwind(|| {
        let (db, a) = wal_db(&merged);
        let v = locks_json(&db);
        assert_eq!(v["environment"]["filesystem"]["class"], "overlay");
        assert!(codes(&v).contains(&"env.overlay_filesystem".to_string()), "{:?}", codes(&v));
        // The locks are still found through the overlay.
        assert_table(&v, &[("db", "shared", "shared", &[a.pid]), ("shm", "dms", "shared", &[a.pid])]);
        drop(a);
    });
    let _ = Command::new("umount").arg(s(&merged)).status();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn probe_latency() {
    use walinspect::source::Paths;
    use walinspect::source::locks::probe_paths;
    let d = tempdir();
    let (db, mut a) = wal_db(d.path());
    let mut b = Sql::open(s(&db));
    b.ok("BEGIN");
    b.ok("SELECT count(*) FROM t");
    a.ok("BEGIN IMMEDIATE");
    let paths = Paths::resolve(&db);
    let mut us: Vec<u128> = (0..300)
        .map(|_| {
            let t = Instant::now();
            let p = probe_paths(&paths);
            assert!(p.shm.is_some());
            t.elapsed().as_micros()
        })
        .collect();
    us.sort_unstable();
    let lines = std::fs::read_to_string("/proc/locks").unwrap().lines().count();
    eprintln!(
        "probe latency over 300 probes ({lines} lines in /proc/locks): median {} µs, p90 {} µs, max {} µs",
        us[150], us[270], us[299]
    );
    assert!(us[150] < 50_000, "a probe should take well under 50 ms");
    a.ok("COMMIT");
}
