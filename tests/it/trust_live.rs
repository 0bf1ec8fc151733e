//! No false corruption on a healthy live database: `check --json` (and `locks --json`) polled
//! while a real SQLite writer commits as fast as it can, with RESTART and TRUNCATE checkpoints,
//! raise no finding above `info`. (The ≥ 1,000-run measurement is `benches/live_consistency.sh`;
//! this keeps 200 polls.)

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::support::common::*;

fn above_info(v: &serde_json::Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        // `env.*` describe where the temporary directory lies (an overlay in a container), not
        // the reading of the files.
        .filter(|f| f["severity"] != "info" && !f["code"].as_str().unwrap().starts_with("env."))
        .map(|f| format!("{} {}: {}", f["severity"], f["code"], f["message"]))
        .collect()
}

#[test]
fn check_and_locks_under_a_max_rate_writer_stay_at_info() {
    let d = tempdir();
    let db = d.path().join("live.db");
    let stop = Arc::new(AtomicBool::new(false));
    let commits = Arc::new(AtomicU64::new(0));
    let writer = {
        let (db, stop, commits) = (db.clone(), stop.clone(), commits.clone());
        std::thread::spawn(move || {
            let c = rusqlite::Connection::open(&db).unwrap();
            c.busy_timeout(Duration::from_secs(5)).unwrap();
            c.execute_batch(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; PRAGMA wal_autocheckpoint=0;
                 CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v TEXT);",
            )
            .unwrap();
            let mut n: u64 = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                c.execute("INSERT INTO t(v) VALUES (?1)", [format!("{:>1$}", n, (n % 700) as usize)]).unwrap();
                if n.is_multiple_of(400) {
                    c.execute("DELETE FROM t WHERE id < ?1", [n as i64 - 1000]).unwrap();
                }
                if n.is_multiple_of(997) {
                    c.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(())).unwrap();
                }
                if n.is_multiple_of(2503) {
                    c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
                }
                commits.store(n, Ordering::Relaxed);
            }
        })
    };
    while commits.load(Ordering::Relaxed) < 100 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let start = Instant::now();
    let mut bad = Vec::new();
    let (mut runs, mut changing) = (0, 0);
    for i in 0..200 {
        let cmd = if i % 4 == 3 { "locks" } else { "check" };
        let out = std::process::Command::new(bin()).args([cmd, db.to_str().unwrap(), "--json"]).output().unwrap();
        runs += 1;
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{cmd}: bad JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
        if v["findings"].as_array().unwrap().iter().any(|f| f["code"] == "live.changing") {
            changing += 1;
        }
        let b = above_info(&v);
        if !b.is_empty() || out.status.code().is_none_or(|c| c > 1) {
            bad.push(format!("{cmd} run {i} (exit {:?}): {b:?}", out.status.code()));
        }
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let n = commits.load(Ordering::Relaxed);
    eprintln!(
        "{runs} polls in {:.1} s while {n} commits were made; {changing} said live.changing",
        start.elapsed().as_secs_f64()
    );
    assert!(n > 1000, "the writer was busy ({n} commits)");
    assert!(bad.is_empty(), "{} of {runs} polls raised more than info:\n{}", bad.len(), bad.join("\n"));
}
