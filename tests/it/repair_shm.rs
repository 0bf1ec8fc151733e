//! `rebuild-shm` against SQLite's own recovery: for each state, a copy of db + -wal (no -shm)
//! is opened by the bundled SQLite, a read forces `walIndexRecover`, and the -shm it wrote is
//! compared byte for byte with ours (outside the lock bytes). Inputs are proven unchanged.

use std::fs;

use crate::support::common::*;
use crate::support::repair::*;
use rusqlite::Connection;

fn report_u64(v: &serde_json::Value, path: &[&str]) -> u64 {
    let mut x = v;
    for p in path {
        x = &x[*p];
    }
    x.as_u64().unwrap_or_else(|| panic!("{path:?} in {v}"))
}

/// Many commits of ~50 rows each on 512-byte pages: well over 8,200 frames.
fn many_frames(c: &Connection, batches: usize) {
    c.execute_batch("CREATE TABLE IF NOT EXISTS big(id INTEGER PRIMARY KEY, v TEXT)").unwrap();
    for b in 0..batches {
        c.execute_batch("BEGIN").unwrap();
        for i in 0..50 {
            c.execute("INSERT INTO big(v) VALUES (?1)", [format!("{b}-{i}-{}", "z".repeat(90))]).unwrap();
        }
        c.execute_batch("COMMIT").unwrap();
    }
}

#[test]
fn several_commits() {
    let f = Fixture::new();
    let c = wal_db(&f.db, 4096);
    commits(&c, 20);
    let ev = snapshot(&f.db, f.dir.path(), "ev.db");
    let r = rebuild_matches_sqlite(&ev);
    assert_eq!(r["schema"], "walinspect.rebuild-shm");
    assert_eq!(r["version"], 1);
    assert_eq!(report_u64(&r, &["wal", "mx_frame"]), report_u64(&r, &["header", "mx_frame"]));
    assert_eq!(report_u64(&r, &["checkpoint", "backfill"]), 0);
    assert_eq!(report_u64(&r, &["checkpoint", "backfill_attempted"]), report_u64(&r, &["header", "mx_frame"]));
    assert_eq!(r["checkpoint"]["read_marks"][1], r["header"]["mx_frame"]);
    assert_eq!(r["header"]["change"], 0);
    assert_eq!(r["segments"], 1);
    // What SQLite's recovery itself leaves (read from its -shm, native order): iChange 0,
    // nBackfill 0, nBackfillAttempted = mxFrame, read marks [0, mxFrame, unused x3].
    let theirs = sqlite_recovered_shm(&ev);
    let u = |o: usize| u32::from_ne_bytes(theirs[o..o + 4].try_into().unwrap());
    let mx = u(16);
    assert!(mx > 20);
    assert_eq!((u(8), u(96), u(128)), (0, 0, mx), "iChange, nBackfill, nBackfillAttempted");
    assert_eq!([u(100), u(104), u(108), u(112), u(116)], [0, mx, u32::MAX, u32::MAX, u32::MAX]);
    assert_eq!(theirs[0..48], theirs[48..96], "both header copies");
    // Our own checker agrees with the rebuilt file.
    let d = tempdir();
    let out = d.path().join("x.db-shm");
    let (_, bytes, _) = rebuild(&ev, d.path());
    fs::copy(&ev, d.path().join("x.db")).unwrap();
    fs::copy(sibling(&ev, "-wal"), d.path().join("x.db-wal")).unwrap();
    fs::write(&out, bytes).unwrap();
    let (code, v) = dump(&d.path().join("x.db"));
    assert_eq!(code, 0);
    assert_eq!(codes(&v), Vec::<String>::new(), "a rebuilt -shm raises no finding");
}

#[test]
fn uncommitted_tail_is_indexed() {
    let f = Fixture::new();
    let c = wal_db(&f.db, 4096);
    commits(&c, 3);
    c.execute_batch("PRAGMA cache_size=2; BEGIN;").unwrap();
    for i in 0..400 {
        c.execute("INSERT INTO t(v) VALUES (?1)", [format!("{i}{}", "y".repeat(300))]).unwrap();
    }
    let ev = snapshot(&f.db, f.dir.path(), "ev.db");
    c.execute_batch("ROLLBACK").unwrap();
    let r = rebuild_matches_sqlite(&ev);
    assert!(report_u64(&r, &["wal", "uncommitted_indexed"]) > 0, "{r}");
}

#[test]
fn three_segments_on_512_byte_pages() {
    let f = Fixture::new();
    let c = wal_db(&f.db, 512);
    many_frames(&c, 700);
    let ev = snapshot(&f.db, f.dir.path(), "ev.db");
    let r = rebuild_matches_sqlite(&ev);
    assert!(report_u64(&r, &["wal", "frames_indexed"]) > 8200, "{}", r["wal"]);
    assert_eq!(r["segments"], 3);
}

#[test]
fn page_size_65536() {
    let f = Fixture::new();
    let c = wal_db(&f.db, 65536);
    commits(&c, 10);
    let ev = snapshot(&f.db, f.dir.path(), "ev.db");
    let r = rebuild_matches_sqlite(&ev);
    assert_eq!(r["header"]["page_size"], 65536);
    assert_eq!(r["header"]["page_size_raw"], 1);
}

#[test]
fn big_endian_checksums() {
    let f = Fixture::new();
    let c = wal_db(&f.db, 1024);
    commits(&c, 12);
    let ev = snapshot(&f.db, f.dir.path(), "ev.db");
    patch(&sibling(&ev, "-wal"), |w| rewrite_big_endian(w));
    let r = rebuild_matches_sqlite(&ev);
    assert_eq!(r["header"]["big_endian_checksum"], 1);
    assert!(report_u64(&r, &["header", "mx_frame"]) > 10);
}

#[test]
fn torn_tail_and_flipped_byte() {
    let f = Fixture::new();
    let c = wal_db(&f.db, 4096);
    commits(&c, 15);
    let torn = snapshot(&f.db, f.dir.path(), "torn.db");
    let flipped = snapshot(&f.db, f.dir.path(), "flipped.db");
    let wal = sibling(&torn, "-wal");
    let len = fs::metadata(&wal).unwrap().len();
    fs::OpenOptions::new().write(true).open(&wal).unwrap().set_len(len - 1000).unwrap();
    rebuild_matches_sqlite(&torn);
    patch(&sibling(&flipped, "-wal"), |w| {
        let o = frame_off(w, 6) + 24 + 100;
        w[o] ^= 0x40;
    });
    let r = rebuild_matches_sqlite(&flipped);
    assert_eq!(report_u64(&r, &["wal", "frames_indexed"]), 5);
    assert!(r["frames_ignored_counts"]["invalid"].as_u64().unwrap() > 0);
}

#[test]
fn restart_leaves_an_older_generation_behind() {
    let f = Fixture::new();
    let c = wal_db(&f.db, 4096);
    commits(&c, 30);
    let _: (i64, i64, i64) =
        c.query_row("PRAGMA wal_checkpoint", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap();
    commits(&c, 3);
    let ev = snapshot(&f.db, f.dir.path(), "ev.db");
    let r = rebuild_matches_sqlite(&ev);
    assert!(r["frames_ignored_counts"]["stale"].as_u64().unwrap() > 0, "{}", r["frames_ignored_counts"]);
}

#[test]
fn valid_frames_without_any_commit() {
    let f = Fixture::new();
    let c = wal_db(&f.db, 4096);
    commits(&c, 2);
    let _: (i64, i64, i64) =
        c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap();
    c.execute_batch("PRAGMA cache_size=2; BEGIN;").unwrap();
    for i in 0..300 {
        c.execute("INSERT INTO t(v) VALUES (?1)", [format!("{i}{}", "q".repeat(400))]).unwrap();
    }
    let ev = snapshot(&f.db, f.dir.path(), "ev.db");
    c.execute_batch("ROLLBACK").unwrap();
    let r = rebuild_matches_sqlite(&ev);
    assert_eq!(r["header"]["mx_frame"], 0);
    assert_eq!(r["header"]["page_size_raw"], 0, "szPage is only set by a commit");
    assert!(report_u64(&r, &["wal", "frames_indexed"]) > 0);
    assert_eq!(r["checkpoint"]["read_marks"][1], 0xffff_ffffu32);

    // The same WAL cut down to its header, then with a damaged header checksum.
    let header_only = snapshot(&ev, f.dir.path(), "hdr.db");
    fs::OpenOptions::new().write(true).open(sibling(&header_only, "-wal")).unwrap().set_len(32).unwrap();
    let r = rebuild_matches_sqlite(&header_only);
    assert_eq!(r["wal"]["ignored_reason"], "too_short");
    assert_eq!(r["header"]["salt1"], 0, "recovery reads nothing from a 32-byte WAL");
    let bad_ck = snapshot(&ev, f.dir.path(), "badck.db");
    patch(&sibling(&bad_ck, "-wal"), |w| w[17] ^= 0xff);
    let r = rebuild_matches_sqlite(&bad_ck);
    assert_eq!(r["wal"]["ignored_reason"], "bad_header_checksum");
    assert_ne!(r["header"]["salt1"], 0, "recovery copies the salts before checking the header");
}

#[test]
fn no_wal_file_at_all() {
    let f = Fixture::new();
    let c = wal_db(&f.db, 4096);
    commits(&c, 2);
    drop(c); // the last close checkpoints and deletes -wal and -shm
    assert!(!sibling(&f.db, "-wal").exists());
    let r = rebuild_matches_sqlite(&f.db);
    assert_eq!(r["wal"]["status"], "absent");
    assert_eq!(r["segments"], 1);
}

#[test]
fn first_frame_invalid() {
    let f = Fixture::new();
    let c = wal_db(&f.db, 4096);
    commits(&c, 5);
    let ev = snapshot(&f.db, f.dir.path(), "ev.db");
    patch(&sibling(&ev, "-wal"), |w| {
        let o = frame_off(w, 1) + 24 + 50;
        w[o] ^= 1;
    });
    let r = rebuild_matches_sqlite(&ev);
    assert_eq!(r["wal"]["frames_indexed"], 0);
    assert_eq!(r["unspecified_bytes"].as_array().unwrap().len(), 1);
}

#[test]
fn chain_break_at_a_segment_boundary_copies_the_previous_segment() {
    let f = Fixture::new();
    let c = wal_db(&f.db, 512);
    many_frames(&c, 400);
    let ev = snapshot(&f.db, f.dir.path(), "ev.db");
    patch(&sibling(&ev, "-wal"), |w| {
        let o = frame_off(w, 4063) + 24 + 10;
        w[o] ^= 1;
    });
    let r = rebuild_matches_sqlite(&ev);
    assert_eq!(r["wal"]["frames_indexed"], 4062);
    assert_eq!(r["segments"], 2);
    assert_eq!(r["copied_segment"]["segment"], 1);
    assert_eq!(r["copied_segment"]["copy_of"], 0);
}

#[test]
fn refusals() {
    let f = Fixture::new();
    let c = wal_db(&f.db, 4096);
    commits(&c, 3);
    let ev = snapshot(&f.db, f.dir.path(), "ev.db");
    let shm = sibling(&ev, "-shm");
    let p = ev.to_str().unwrap();
    // Over an input, even with --force: refused, nothing changes.
    for target in [p.to_string(), shm.to_str().unwrap().to_string(), format!("{p}-journal")] {
        let r = run_guarded(&ev, &["rebuild-shm", p, "-o", &target, "--force"]);
        assert_eq!(r.code, 2, "{target}: {}", r.stderr);
        assert!(r.stderr.contains("refusing"), "{}", r.stderr);
    }
    assert!(!f.path("ev.db-journal").exists());
    // An existing output without --force.
    let out = f.path("out.shm");
    fs::write(&out, b"keep").unwrap();
    let r = run_guarded(&ev, &["rebuild-shm", p, "-o", out.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert_eq!(fs::read(&out).unwrap(), b"keep");
    let r = run_guarded(&ev, &["rebuild-shm", p, "-o", out.to_str().unwrap(), "--force"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(fs::read(&out).unwrap().len(), 32768);
    // A WAL whose version SQLite refuses.
    let bad = snapshot(&ev, f.dir.path(), "badver.db");
    patch(&sibling(&bad, "-wal"), |w| {
        w[4..8].copy_from_slice(&3007001u32.to_be_bytes());
        let ck = cksum(false, &w[..24], [0, 0]);
        w[24..28].copy_from_slice(&ck[0].to_be_bytes());
        w[28..32].copy_from_slice(&ck[1].to_be_bytes());
    });
    let out2 = f.path("out2.shm");
    let r = run_guarded(&bad, &["rebuild-shm", bad.to_str().unwrap(), "-o", out2.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(!out2.exists());
    assert_no_temp_files(f.dir.path());
    // Unusable input: exit 2, one line.
    let junk = f.path("junk.db");
    fs::write(&junk, vec![7u8; 5000]).unwrap();
    let r = run(&["rebuild-shm", junk.to_str().unwrap(), "-o", f.path("j.shm").to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
}
