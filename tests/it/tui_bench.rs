//! Measurements for the live UI on a big WAL (not run by default):
//! `WALINSPECT_BENCH_MIB=1024 cargo test --release --test it tui_bench -- --ignored --nocapture`
//! Builds the WAL with a real SQLite in a scratch directory under the system's temporary
//! directory (never in the repository), then times the first scan, incremental refreshes,
//! idle polls and drawing the views.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use rusqlite::Connection;
use walinspect::source::Paths;
use walinspect::tui::app::App;
use walinspect::tui::event::Event;
use walinspect::tui::watcher::Watcher;

#[test]
#[ignore]
fn big_wal_refresh_costs() {
    let mib: u64 = std::env::var("WALINSPECT_BENCH_MIB").ok().and_then(|s| s.parse().ok()).unwrap_or(256);
    // WALINSPECT_BENCH_DIR keeps the files there (to try the binary on them afterwards).
    let tmp = tempfile::tempdir().unwrap();
    let keep = std::env::var_os("WALINSPECT_BENCH_DIR").map(std::path::PathBuf::from);
    let dir_path = keep.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir_path).unwrap();
    let db = dir_path.join("big.db");
    let c = Connection::open(&db).unwrap();
    c.pragma_update(None, "journal_mode", "wal").unwrap();
    c.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    c.pragma_update(None, "cache_size", -200_000).unwrap();
    c.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)").unwrap();
    let t0 = Instant::now();
    let wal = dir_path.join("big.db-wal");
    while std::fs::metadata(&wal).map_or(0, |m| m.len()) < mib << 20 {
        c.execute_batch("BEGIN").unwrap();
        for _ in 0..2000 {
            c.execute("INSERT INTO t(v) VALUES (randomblob(3500))", []).unwrap();
        }
        c.execute_batch("COMMIT").unwrap();
    }
    let wal_len = std::fs::metadata(&wal).unwrap().len();
    eprintln!("built a {} MiB WAL in {:?}", wal_len >> 20, t0.elapsed());

    let mut w = Watcher::new(Paths::resolve(&db));
    let t = Instant::now();
    let s = w.poll(&mut |_, _| {}).unwrap();
    let first = t.elapsed();
    let frames = s.analysis.wal.as_ref().unwrap().frames.len();
    eprintln!(
        "first scan: {frames} frames, {} commits, {:?} ({} MiB/s)",
        s.analysis.wal.as_ref().unwrap().commits.len(),
        first,
        (wal_len as f64 / 1048576.0 / first.as_secs_f64()) as u64
    );

    let idle: Vec<Duration> = (0..20)
        .map(|_| {
            let t = Instant::now();
            assert!(w.poll(&mut |_, _| {}).is_none());
            t.elapsed()
        })
        .collect();
    eprintln!("idle poll (nothing changed): median {:?}", median(idle));

    let mut refresh = Vec::new();
    let mut read = Vec::new();
    for _ in 0..10 {
        c.execute("INSERT INTO t(v) VALUES (randomblob(3500))", []).unwrap();
        let t = Instant::now();
        let s = w.poll(&mut |_, _| {}).unwrap();
        refresh.push(t.elapsed());
        read.push(s.cost.wal.frames_read);
    }
    eprintln!("refresh after one small commit: median {:?} (frames read {:?})", median(refresh), read);

    let mut app = App::new("big.db", 250);
    app.handle(Event::Snapshot(Arc::new(w.poll(&mut |_, _| {}).unwrap_or(s))));
    let mut term = Terminal::new(TestBackend::new(160, 50)).unwrap();
    for (view, keys) in
        [("overview", "1"), ("frames (top)", "2"), ("frames (end)", "G"), ("shm", "4"), ("findings", "5")]
    {
        for ch in keys.chars() {
            app.handle(Event::Key(crossterm::event::KeyEvent::new(
                crossterm::event::KeyCode::Char(ch),
                crossterm::event::KeyModifiers::NONE,
            )));
        }
        let times: Vec<Duration> = (0..20)
            .map(|_| {
                let t = Instant::now();
                term.draw(|f| walinspect::tui::views::render(&app, f.area(), f.buffer_mut())).unwrap();
                t.elapsed()
            })
            .collect();
        eprintln!("draw {view} at 160x50: median {:?}", median(times));
    }
    let t = Instant::now();
    for ch in "ffff".chars() {
        app.handle(Event::Key(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Char(ch),
            crossterm::event::KeyModifiers::NONE,
        )));
    }
    eprintln!("cycling the state filter 4 times over {frames} frames: {:?}", t.elapsed());
    if keep.is_some() {
        // Leave the WAL in place: copy the three files while the connection is open (closing
        // it would checkpoint and delete the WAL).
        for suffix in ["", "-wal", "-shm"] {
            let from = dir_path.join(format!("big.db{suffix}"));
            std::fs::copy(&from, dir_path.join(format!("copy.db{suffix}"))).unwrap();
        }
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}
