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

/// The sizes a document reports are those of the files it analysed: `files.wal.size` is the
/// `-wal`'s analysed `file_size`, and the frames fit in it.
fn sizes_are_the_analysed_ones(v: &serde_json::Value) {
    let (Some(reported), Some(analysed)) = (v["files"]["wal"]["size"].as_u64(), v["wal"]["file_size"].as_u64()) else {
        return;
    };
    assert_eq!(reported, analysed, "files.wal.size is not the size analysed");
    if let Some(frame) = v["wal"]["frame_size"].as_u64() {
        let frames = v["wal"]["frames_total"].as_u64().unwrap();
        assert_eq!(
            frames,
            analysed.saturating_sub(32) / frame,
            "frames_total does not fit the size analysed: wal {} findings {}",
            serde_json::json!({"file_size": v["wal"]["file_size"], "frames_total": v["wal"]["frames_total"], "partial": v["wal"]["partial"], "read_error": v["wal"]["read_error"], "valid": v["wal"]["valid_frames"], "trailing": v["wal"]["trailing_bytes"]}),
            v["findings"]
        );
    }
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
        if cmd == "check" {
            sizes_are_the_analysed_ones(&v);
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

/// A `-wal` that shrinks while it is read (as a TRUNCATE checkpoint shrinks it to 0 bytes, over
/// and over): every run reports the size it analysed, never the size it saw at open, and a run
/// that had to read again says what moved (`live.reread`, or `live.changing` when the files never
/// held still).
#[test]
fn a_wal_shrinking_mid_run_is_noted_and_the_analysed_size_reported() {
    let d = tempdir();
    let db = d.path().join("shrink.db");
    let c = wal_db(&db, 4096);
    commits(&c, 400);
    let wal = sibling(&db, "-wal");
    let full = std::fs::read(&wal).unwrap();
    assert!(full.len() > 400 * 4096, "a big -wal ({} bytes)", full.len());
    // The -wal alternates between its full length and 0 bytes (the writer's view of a
    // TRUNCATE checkpoint and the next transaction), 1 ms apart.
    let stop = Arc::new(AtomicBool::new(false));
    let flips = Arc::new(AtomicU64::new(0));
    let toggler = {
        let (wal, stop, flips, full) = (wal.clone(), stop.clone(), flips.clone(), full.clone());
        std::thread::spawn(move || {
            use std::io::{Seek, Write};
            let mut f = std::fs::OpenOptions::new().write(true).open(&wal).unwrap();
            while !stop.load(Ordering::Relaxed) {
                f.set_len(0).unwrap();
                std::thread::sleep(Duration::from_millis(1));
                f.seek(std::io::SeekFrom::Start(0)).unwrap();
                f.write_all(&full).unwrap();
                std::thread::sleep(Duration::from_millis(1));
                flips.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let (mut noted, mut sizes) = (0, std::collections::BTreeSet::new());
    for _ in 0..20 {
        let out = std::process::Command::new(bin())
            .args(["dump", db.to_str().unwrap(), "--json", "--no-live"])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
        sizes_are_the_analysed_ones(&v);
        sizes.insert(v["files"]["wal"]["size"].as_u64().unwrap());
        let codes: Vec<&str> = v["findings"].as_array().unwrap().iter().filter_map(|f| f["code"].as_str()).collect();
        if let Some(f) = v["findings"].as_array().unwrap().iter().find(|f| f["code"] == "live.reread") {
            let size = v["files"]["wal"]["size"].as_u64().unwrap();
            let m = f["message"].as_str().unwrap();
            assert!(m.contains(&format!("the -wal at {size} bytes")), "{m}");
            noted += 1;
        } else if codes.contains(&"live.changing") {
            noted += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    toggler.join().unwrap();
    eprintln!("20 runs, {} flips; {noted} said the files moved; sizes seen {sizes:?}", flips.load(Ordering::Relaxed));
    assert!(noted > 0, "no run noted the -wal moving under it");
}
