//! `walinspect demo`: a live database to watch, with no setup.
//!
//! A scratch directory is created under the system's temporary directory; a child process
//! (`walinspect __demo-writer DIR`, this same binary) runs a real SQLite writer on it —
//! commits, updates, a reader holding a snapshot, a spilling transaction left open for a
//! while, PASSIVE, RESTART and TRUNCATE checkpoints — and the UI watches it. The writer is a
//! separate process on purpose: in one process, the UI opening and closing the database file
//! would drop the writer's POSIX locks. On exit the writer is stopped (its stdin is closed, so
//! it also stops if this process dies) and the directory is removed.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::session::Error;
use crate::source::Paths;

/// The scratch directory and the writer; both cleaned up on drop.
struct Demo {
    dir: PathBuf,
    child: Option<Child>,
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            drop(c.stdin.take());
            let deadline = Instant::now() + Duration::from_secs(3);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            if let Ok(None) = c.try_wait() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn scratch_dir() -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let base = std::env::temp_dir();
    for attempt in 0..100u32 {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let dir = base.join(format!("walinspect-demo-{}-{nanos:x}{attempt}", std::process::id()));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("cannot create a scratch directory"))
}

/// Run the demo: writer + UI; everything is removed on exit.
pub fn run(interval: Duration) -> Result<u8, Error> {
    if !cfg!(feature = "demo") {
        return Err(Error::Refused("this walinspect was built without the `demo` feature".into()));
    }
    let dir = scratch_dir().map_err(|e| Error::system("cannot create a scratch directory", e))?;
    let mut demo = Demo { dir: dir.clone(), child: None };
    let exe = std::env::current_exe().map_err(|e| Error::system("cannot find this program to start the writer", e))?;
    let child = Command::new(exe)
        .arg("__demo-writer")
        .arg(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| Error::system("cannot start the demo writer", e))?;
    demo.child = Some(child);
    let db = dir.join("app.db");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !Path::new(&format!("{}-wal", db.display())).exists() {
        if Instant::now() > deadline {
            return Err(Error::Refused("the demo writer did not start".into()));
        }
        if let Some(Ok(Some(st))) = demo.child.as_mut().map(|c| c.try_wait()) {
            return Err(Error::Refused(format!("the demo writer stopped at once ({st})")));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let title = format!("demo: {}", db.display());
    let mut told = false;
    let mut watch = || {
        if told {
            return None;
        }
        match demo.child.as_mut().map(|c| c.try_wait()) {
            Some(Ok(Some(st))) => {
                told = true;
                Some(format!(
                    "the demo's writer stopped ({st}): nothing changes any more; q quits (a new demo starts a new writer)"
                ))
            }
            _ => None,
        }
    };
    let r = super::run_watched(Paths::resolve(&db), title, interval, &mut watch);
    drop(demo);
    eprintln!("walinspect demo: stopped the writer and removed {}", dir.display());
    r
}

/// Stop flag raised when stdin reaches end of file (the parent closed it or died).
fn watch_stdin() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s = stop.clone();
    let _ = std::thread::Builder::new().name("demo-stdin".into()).spawn(move || {
        let mut buf = [0u8; 64];
        let mut stdin = std::io::stdin();
        while let Ok(n) = stdin.read(&mut buf) {
            if n == 0 {
                break;
            }
        }
        s.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    stop
}

/// The writer child: runs until its stdin closes, then removes `dir`.
#[cfg(feature = "demo")]
pub fn writer(dir: &Path) -> Result<u8, Error> {
    let stop = watch_stdin();
    let r = writer_loop(dir, &stop).map_err(|e| Error::Refused(format!("demo writer: {e}")));
    let _ = std::fs::remove_dir_all(dir);
    r.map(|_| 0)
}

#[cfg(not(feature = "demo"))]
pub fn writer(_dir: &Path) -> Result<u8, Error> {
    let _ = watch_stdin;
    Err(Error::Refused("this walinspect was built without the `demo` feature".into()))
}

#[cfg(feature = "demo")]
fn writer_loop(dir: &Path, stop: &std::sync::atomic::AtomicBool) -> rusqlite::Result<()> {
    use rusqlite::Connection;
    use std::sync::atomic::Ordering;
    let db = dir.join("app.db");
    let c = Connection::open(&db)?;
    c.busy_timeout(Duration::from_secs(2))?;
    c.pragma_update(None, "journal_mode", "wal")?;
    c.pragma_update(None, "wal_autocheckpoint", 0)?;
    c.execute_batch(
        "CREATE TABLE IF NOT EXISTS events(id INTEGER PRIMARY KEY, at TEXT, kind TEXT, payload BLOB);
         CREATE INDEX IF NOT EXISTS events_kind ON events(kind);",
    )?;
    let reader = Connection::open(&db)?;
    reader.busy_timeout(Duration::from_secs(2))?;
    let kinds = ["login", "order", "payment", "refund", "audit"];
    let mut step: u64 = 0;
    let pause = |ms: u64| {
        let end = Instant::now() + Duration::from_millis(ms);
        while Instant::now() < end && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    while !stop.load(Ordering::SeqCst) {
        step += 1;
        let kind = kinds.get((step % kinds.len() as u64) as usize).copied().unwrap_or("audit");
        c.execute_batch("BEGIN IMMEDIATE")?;
        for _ in 0..(1 + step % 4) {
            c.execute(
                "INSERT INTO events(at, kind, payload) VALUES (datetime('now'), ?1, randomblob(300 + abs(random()) % 900))",
                [kind],
            )?;
        }
        if step.is_multiple_of(7) {
            c.execute("UPDATE events SET payload = randomblob(200) WHERE id % 13 = ?1", [(step % 13) as i64])?;
        }
        c.execute_batch("COMMIT")?;
        // A reader holds a snapshot for a while: its read mark stays behind.
        if step % 30 == 10 {
            reader.execute_batch("BEGIN")?;
            reader.query_row("SELECT count(*) FROM events", [], |_| Ok(()))?;
        } else if step % 30 == 20 && !reader.is_autocommit() {
            reader.execute_batch("COMMIT")?;
        }
        match step % 150 {
            0 => c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).map(|_| ())?,
            60 => c.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(())).map(|_| ())?,
            s if s % 20 == 0 => c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())).map(|_| ())?,
            _ => {}
        }
        // Now and then a big transaction spills to the WAL and stays open for a moment:
        // uncommitted frames appear, then commit.
        if step % 45 == 30 {
            c.pragma_update(None, "cache_size", 5)?;
            c.execute_batch("BEGIN IMMEDIATE")?;
            for _ in 0..150 {
                c.execute(
                    "INSERT INTO events(at, kind, payload) VALUES (datetime('now'), 'bulk', randomblob(1500))",
                    [],
                )?;
            }
            pause(1500);
            c.execute_batch("COMMIT")?;
            c.pragma_update(None, "cache_size", -2000)?;
        }
        pause(250);
    }
    if !reader.is_autocommit() {
        reader.execute_batch("COMMIT")?;
    }
    Ok(())
}
