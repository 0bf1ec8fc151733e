//! `extract` against SQLite's own view: fixtures record SQLite's view (every table, every row,
//! the schema) after each commit while they are built; every extracted commit must open
//! read-only with nothing beside it, pass `PRAGMA integrity_check`, and show exactly that view.
//! Commits that a checkpoint made unrecoverable must be refused with the pages named. Inputs
//! are proven byte-identical afterwards in every run.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::support::common::*;
use crate::support::repair::*;
use rusqlite::Connection;

/// Run statements one commit each, recording SQLite's view after every commit.
struct Recorder {
    states: Vec<Vec<String>>,
}

impl Recorder {
    fn start(c: &Connection) -> Self {
        Self { states: vec![dump_conn(c)] }
    }
    fn commit(&mut self, c: &Connection, sql: &str) {
        c.execute_batch(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        self.states.push(dump_conn(c));
    }
    fn last(&self) -> u32 {
        (self.states.len() - 1) as u32
    }
}

fn commits_in(db: &Path) -> u32 {
    let (_, v) = dump(db);
    v["wal"]["commits"].as_array().unwrap().len() as u32
}

fn ckpt(c: &Connection, mode: &str) -> (i64, i64, i64) {
    c.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap()
}

/// A mixed workload: tables, an index, overflow pages, updates, deletes, a drop, an ALTER.
fn workload(c: &Connection, rec: &mut Recorder) {
    rec.commit(c, "CREATE TABLE a(id INTEGER PRIMARY KEY, name TEXT, n REAL, b BLOB)");
    rec.commit(c, "CREATE INDEX a_name ON a(name)");
    for i in 0..6 {
        rec.commit(c, &format!("INSERT INTO a(name, n, b) VALUES ('row{i}', {i}.5, zeroblob({}))", 10 + i * 300));
    }
    rec.commit(
        c,
        "BEGIN; WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 60) \
         INSERT INTO a(name, b) SELECT 'bulk' || i, randomblob(200) FROM s; COMMIT;",
    );
    rec.commit(c, "UPDATE a SET name = 'renamed' WHERE id % 3 = 0");
    rec.commit(c, "DELETE FROM a WHERE id % 5 = 0");
    rec.commit(c, "CREATE TABLE big(id INTEGER PRIMARY KEY, v BLOB)");
    rec.commit(c, "INSERT INTO big(v) VALUES (randomblob(9000))");
    rec.commit(c, "CREATE TABLE gone(x)");
    rec.commit(c, "INSERT INTO gone VALUES (1), (2)");
    rec.commit(c, "DROP TABLE gone");
    rec.commit(c, "ALTER TABLE a ADD COLUMN extra TEXT DEFAULT 'd'");
    rec.commit(c, "UPDATE a SET extra = 'x' || id WHERE id < 4");
}

#[test]
fn every_commit_of_a_mixed_workload_is_exact() {
    let f = Fixture::new();
    let c = wal_db(&f.db, 1024);
    let mut rec = Recorder::start(&c);
    workload(&c, &mut rec);
    let ev = snapshot(&f.db, f.dir.path(), "ev.db");
    assert_eq!(commits_in(&ev), rec.last(), "one commit per recorded statement");
    assert_eq!(sqlite_view(&ev), *rec.states.last().unwrap());
    for n in 0..=rec.last() {
        let r = extract_equals(&ev, Some(n), &rec.states[n as usize]);
        assert_eq!(r["snapshot"]["commit"], n);
        assert_eq!(r["uncertain_page_count"], 0);
    }
    let r = extract_equals(&ev, None, &sqlite_view(&ev));
    assert_eq!(r["snapshot"]["kind"], "wal_commit");
    assert_eq!(r["snapshot"]["commit"], rec.last());
    assert_eq!(r["backfill"]["source"], "not_needed");
    assert_eq!(r["header"]["write_version"]["after"], 1);
    assert_eq!(r["header"]["read_version"]["after"], 1);

    // The same files without the -shm: nBackfill is unknown, the content check decides.
    let no_shm = snapshot(&ev, f.dir.path(), "noshm.db");
    fs::remove_file(sibling(&no_shm, "-shm")).unwrap();
    for n in [0, 3, rec.last() - 1] {
        let r = extract_equals(&no_shm, Some(n), &rec.states[n as usize]);
        assert_eq!(r["backfill"]["source"], "no_shm");
    }
}

#[test]
fn provenance_report_accounts_for_every_page_and_frame() {
    let f = Fixture::new();
    let c = wal_db(&f.db, 1024);
    let mut rec = Recorder::start(&c);
    workload(&c, &mut rec);
    let ev = snapshot(&f.db, f.dir.path(), "ev.db");
    let (_, d) = dump(&ev);
    let frames_total = d["wal"]["frames_total"].as_u64().unwrap();
    let n = 9;
    let r = extract_equals(&ev, Some(n), &rec.states[n as usize]);
    let db_pages = r["snapshot"]["db_pages"].as_u64().unwrap();
    // Every page once, in order.
    let mut next = 1;
    for s in r["page_sources"].as_array().unwrap() {
        assert_eq!(s["first_page"].as_u64().unwrap(), next);
        next = s["last_page"].as_u64().unwrap() + 1;
        if s["source"] == "wal" {
            let fr = s["frame"].as_u64().unwrap();
            assert!(fr <= r["snapshot"]["commit_frame"].as_u64().unwrap());
            assert_eq!(d["wal"]["frames"][fr as usize - 1]["page"], s["first_page"]);
        }
    }
    assert_eq!(next - 1, db_pages);
    let c = &r["page_counts"];
    assert_eq!(c["wal"].as_u64().unwrap() + c["database_file"].as_u64().unwrap(), db_pages);
    // Every frame is used once or ignored with a reason.
    let used = c["wal"].as_u64().unwrap();
    let ignored: u64 = r["frames_ignored_counts"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(used + ignored, frames_total);
    assert!(r["frames_ignored_counts"]["after_commit"].as_u64().unwrap() > 0);
    assert!(r["frames_ignored_counts"]["superseded"].as_u64().unwrap() > 0);
    assert_eq!(r["snapshot"]["salt1"], d["wal"]["header"]["salt1"]);
    assert_eq!(r["snapshot"]["checksum_order"], "little");
    // The header fields that make SQLite trust the size.
    let e = extract(&ev, f.dir.path(), Some(n), &[]);
    let b = fs::read(&e.out).unwrap();
    assert_eq!((b[18], b[19]), (1, 1));
    assert_eq!(u32::from_be_bytes(b[28..32].try_into().unwrap()) as u64, db_pages);
    assert_eq!(b[24..28], b[92..96]);
    assert_eq!(b.len() as u64, db_pages * 1024);
    assert!(e.run.stderr.contains(&format!("commit {n} of")), "{}", e.run.stderr);
    // --keep-wal-mode keeps bytes 18/19.
    let k = extract(&ev, f.dir.path(), Some(n), &["--keep-wal-mode"]);
    assert_eq!(k.run.code, 0, "{}", k.run.stderr);
    let kb = fs::read(&k.out).unwrap();
    assert_eq!((kb[18], kb[19]), (2, 2));
    assert_eq!(kb[20..], b[20..], "only bytes 18/19 differ");
}

/// A checkpoint limited by a reader copies some pages of later commits into the database
/// file: earlier commits that need the old versions are refused, pages the checkpoint skipped
/// (their newest frame was beyond its limit) are verified by content and kept.
#[test]
fn partial_checkpoint_refuses_what_it_overwrote_and_keeps_what_it_skipped() {
    let f = Fixture::new();
    let c = wal_db(&f.db, 1024);
    c.execute_batch(
        "CREATE TABLE t1(x); CREATE TABLE t2(y); INSERT INTO t1 VALUES ('a'); INSERT INTO t2 VALUES ('b');",
    )
    .unwrap();
    let _ = ckpt(&c, "TRUNCATE"); // everything in the database file; a new WAL generation
    let mut rec = Recorder::start(&c);
    rec.commit(&c, "INSERT INTO t1 VALUES ('c1')"); // page 2
    rec.commit(&c, "INSERT INTO t2 VALUES ('c2')"); // page 3
    rec.commit(&c, "INSERT INTO t1 VALUES ('c3')"); // page 2
    let reader = Connection::open(&f.db).unwrap();
    reader.execute_batch("BEGIN").unwrap();
    let _: i64 = reader.query_row("SELECT count(*) FROM t1", [], |r| r.get(0)).unwrap(); // pinned at commit 3
    rec.commit(&c, "INSERT INTO t2 VALUES ('c4')"); // page 3 again, beyond the reader
    let (_, log, done) = ckpt(&c, "PASSIVE");
    assert!(done > 0 && done < log, "partial checkpoint: {done} of {log}");
    rec.commit(&c, "INSERT INTO t1 VALUES ('c5')");
    let ev = snapshot(&f.db, f.dir.path(), "ev.db");
    let (_, d) = dump(&ev);
    assert_eq!(d["shm"]["backfill"].as_u64().unwrap(), done as u64);
    rebuild_matches_sqlite(&ev);

    // Commit 0 needs page 2 as it was before commit 1; the checkpoint copied commit 3's.
    let e = extract(&ev, f.dir.path(), Some(0), &[]);
    assert_eq!(e.run.code, 2, "{}", e.run.stderr);
    assert!(e.run.stderr.contains("cannot be rebuilt exactly") && e.run.stderr.contains("page 2"), "{}", e.run.stderr);
    let e = extract(&ev, f.dir.path(), Some(0), &["--allow-inexact"]);
    assert_eq!(e.run.code, 1, "{}", e.run.stderr);
    let r = e.report.unwrap();
    assert_eq!(r["exact"], false);
    assert_eq!(r["uncertain_pages"][0]["first_page"], 2);
    assert_eq!(r["uncertain_pages"][0]["reason"], "checkpointed");
    assert_eq!(r["verified_by_content"], serde_json::json!([3]));
    assert_eq!(r["backfill"]["source"], "shm");
    assert!(e.run.stderr.contains("INEXACT"), "{}", e.run.stderr);
    // Commit 1 has page 2 in the WAL; page 3 was skipped by the checkpoint: exact.
    let r = extract_equals(&ev, Some(1), &rec.states[1]);
    assert_eq!(r["verified_by_content"], serde_json::json!([3]));
    for n in 2..=rec.last() {
        extract_equals(&ev, Some(n), &rec.states[n as usize]);
    }
    // Without the -shm the verdicts are the same (content decides).
    let no_shm = snapshot(&ev, f.dir.path(), "noshm.db");
    fs::remove_file(sibling(&no_shm, "-shm")).unwrap();
    assert_eq!(extract(&no_shm, f.dir.path(), Some(0), &[]).run.code, 2);
    extract_equals(&no_shm, Some(1), &rec.states[1]);
    drop(reader);
}

/// After a full checkpoint the database file holds the newest version of every page: a commit
/// that needs an older version of a page it did not write itself is refused; commits whose
/// pages all have frames are still exact.
#[test]
fn full_checkpoint_makes_earlier_commits_inexact_but_the_last_exact() {
    let f = Fixture::new();
    let c = wal_db(&f.db, 4096);
    c.execute_batch("CREATE TABLE t1(x); CREATE TABLE t2(y); INSERT INTO t1 VALUES (0); INSERT INTO t2 VALUES (0);")
        .unwrap();
    let _ = ckpt(&c, "TRUNCATE");
    let mut rec = Recorder::start(&c);
    rec.commit(&c, "INSERT INTO t1 VALUES (1)"); // page 2
    rec.commit(&c, "INSERT INTO t2 VALUES (2)"); // page 3
    rec.commit(&c, "INSERT INTO t1 VALUES (3)"); // page 2
    let (_, log, done) = ckpt(&c, "FULL");
    assert_eq!(log, done);
    let ev = snapshot(&f.db, f.dir.path(), "ev.db");
    rebuild_matches_sqlite(&ev);
    extract_equals(&ev, None, &rec.states[3]);
    extract_equals(&ev, Some(2), &rec.states[2]);
    let e = extract(&ev, f.dir.path(), Some(1), &[]);
    assert_eq!(e.run.code, 2, "{}", e.run.stderr);
    assert!(e.run.stderr.contains("1 page(s) (page 3)"), "{}", e.run.stderr);
    let e = extract(&ev, f.dir.path(), Some(0), &[]);
    assert_eq!(e.run.code, 2, "{}", e.run.stderr);
    assert!(e.run.stderr.contains("2 page(s) (page 2-3)"), "{}", e.run.stderr);
    // --allow-inexact writes it, names the pages and the frames the file holds instead.
    let e = extract(&ev, f.dir.path(), Some(1), &["--allow-inexact"]);
    assert_eq!(e.run.code, 1, "{}", e.run.stderr);
    let r = e.report.unwrap();
    assert_eq!(
        r["uncertain_pages"],
        serde_json::json!([{"first_page": 3, "last_page": 3, "reason": "checkpointed", "frame": 2}])
    );
    assert_eq!(r["backfill"]["bound"], done);
}

#[test]
fn vacuum_that_shrinks_the_database() {
    let f = Fixture::new();
    let c = wal_db(&f.db, 1024);
    let mut rec = Recorder::start(&c);
    rec.commit(&c, "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
    rec.commit(&c, "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 200) INSERT INTO t(v) SELECT randomblob(500) FROM s");
    rec.commit(&c, "DELETE FROM t WHERE id > 10");
    rec.commit(&c, "VACUUM");
    rec.commit(&c, "INSERT INTO t(v) VALUES (x'00')");
    let ev = snapshot(&f.db, f.dir.path(), "ev.db");
    assert_eq!(commits_in(&ev), rec.last());
    rebuild_matches_sqlite(&ev);
    let before = extract_equals(&ev, Some(3), &rec.states[3]);
    let after = extract_equals(&ev, Some(4), &rec.states[4]);
    assert!(after["snapshot"]["db_pages"].as_u64() < before["snapshot"]["db_pages"].as_u64());
    assert!(
        after["frames_ignored_counts"]["beyond_db_size"].as_u64().unwrap() > 0,
        "{}",
        after["frames_ignored_counts"]
    );
    extract_equals(&ev, None, &rec.states[5]);
}

#[test]
fn page_sizes_and_reserved_bytes() {
    for (ps, reserve) in [(512u32, 0i32), (65536, 0), (1024, 24)] {
        let f = Fixture::new();
        let c = Connection::open(&f.db).unwrap();
        c.execute_batch(&format!("PRAGMA page_size={ps};")).unwrap();
        if reserve > 0 {
            let mut n = reserve;
            // SAFETY: a valid open handle, the "main" schema, and a pointer to an int, as
            // SQLITE_FCNTL_RESERVE_BYTES requires. (rusqlite has no safe call for it.)
            #[allow(unsafe_code)]
            let rc = unsafe {
                rusqlite::ffi::sqlite3_file_control(
                    c.handle(),
                    c"main".as_ptr(),
                    rusqlite::ffi::SQLITE_FCNTL_RESERVE_BYTES,
                    (&mut n as *mut i32).cast(),
                )
            };
            assert_eq!(rc, 0);
        }
        c.execute_batch("VACUUM; PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;").unwrap();
        let mut rec = Recorder::start(&c);
        workload(&c, &mut rec);
        let ev = snapshot(&f.db, f.dir.path(), "ev.db");
        let (_, d) = dump(&ev);
        assert_eq!(d["database"]["header"]["reserved_bytes"], reserve);
        assert_eq!(d["wal"]["header"]["page_size"], ps);
        rebuild_matches_sqlite(&ev);
        for n in [1, 8, rec.last()] {
            let r = extract_equals(&ev, Some(n), &rec.states[n as usize]);
            assert_eq!(r["output"]["page_size"], ps);
        }
    }
}

#[test]
fn more_than_8200_frames() {
    let f = Fixture::new();
    let c = wal_db(&f.db, 512);
    c.execute_batch("CREATE TABLE big(id INTEGER PRIMARY KEY, v TEXT)").unwrap();
    let mut middle = None;
    for b in 0..700 {
        c.execute_batch("BEGIN").unwrap();
        for i in 0..50 {
            c.execute("INSERT INTO big(v) VALUES (?1)", [format!("{b}-{i}-{}", "z".repeat(90))]).unwrap();
        }
        c.execute_batch("COMMIT").unwrap();
        if b == 349 {
            middle = Some(dump_conn(&c));
        }
    }
    let ev = snapshot(&f.db, f.dir.path(), "ev.db");
    let (_, d) = dump(&ev);
    assert!(d["wal"]["valid_frames"].as_u64().unwrap() > 8200);
    extract_equals(&ev, None, &dump_conn(&c));
    extract_equals(&ev, Some(351), &middle.unwrap()); // CREATE TABLE is commit 1
}

#[test]
fn big_endian_checksums() {
    let f = Fixture::new();
    let c = wal_db(&f.db, 4096);
    let mut rec = Recorder::start(&c);
    workload(&c, &mut rec);
    let ev = snapshot(&f.db, f.dir.path(), "ev.db");
    patch(&sibling(&ev, "-wal"), |w| rewrite_big_endian(w));
    assert_eq!(sqlite_view(&ev), rec.states[rec.last() as usize], "SQLite accepts the big-endian WAL");
    let r = extract_equals(&ev, None, &rec.states[rec.last() as usize]);
    assert_eq!(r["snapshot"]["checksum_order"], "big");
    extract_equals(&ev, Some(5), &rec.states[5]);
}

#[test]
fn damaged_wals_extract_what_sqlite_shows() {
    let f = Fixture::new();
    let c = wal_db(&f.db, 1024);
    let mut rec = Recorder::start(&c);
    workload(&c, &mut rec);
    // Flipped byte in a middle frame: SQLite stops before it.
    let flipped = snapshot(&f.db, f.dir.path(), "flipped.db");
    patch(&sibling(&flipped, "-wal"), |w| {
        let o = frame_off(w, 20) + 24 + 300;
        w[o] ^= 0x10;
    });
    rebuild_matches_sqlite(&flipped);
    let view = sqlite_view(&flipped);
    let r = extract_equals(&flipped, None, &view);
    let last = r["snapshot"]["commits_available"].as_u64().unwrap() as usize;
    assert_eq!(view, rec.states[last]);
    assert!(r["frames_ignored_counts"]["invalid"].as_u64().unwrap() > 0);
    let e = extract(&flipped, f.dir.path(), Some(last as u32 + 1), &[]);
    assert_eq!(e.run.code, 2);
    assert!(e.run.stderr.contains(&format!("valid commits are 0..={last}")), "{}", e.run.stderr);
    // Torn last frame.
    let torn = snapshot(&f.db, f.dir.path(), "torn.db");
    let wal = sibling(&torn, "-wal");
    let len = fs::metadata(&wal).unwrap().len();
    fs::OpenOptions::new().write(true).open(&wal).unwrap().set_len(len - 500).unwrap();
    rebuild_matches_sqlite(&torn);
    extract_equals(&torn, None, &sqlite_view(&torn));
    // Uncommitted tail from a writer that spilled its cache.
    c.execute_batch("PRAGMA cache_size=2; BEGIN;").unwrap();
    for i in 0..300 {
        c.execute("INSERT INTO a(name) VALUES (?1)", [format!("{i}{}", "u".repeat(300))]).unwrap();
    }
    let crashed = snapshot(&f.db, f.dir.path(), "crashed.db");
    c.execute_batch("ROLLBACK").unwrap();
    rebuild_matches_sqlite(&crashed);
    let r = extract_equals(&crashed, None, &rec.states[rec.last() as usize]);
    assert!(r["frames_ignored_counts"]["uncommitted"].as_u64().unwrap() > 0);
}

#[test]
fn restart_leftovers_are_stale_not_used() {
    let f = Fixture::new();
    let c = wal_db(&f.db, 4096);
    let mut rec = Recorder::start(&c);
    workload(&c, &mut rec);
    let _ = ckpt(&c, "PASSIVE");
    rec.commit(&c, "INSERT INTO a(name) VALUES ('after restart')");
    let ev = snapshot(&f.db, f.dir.path(), "ev.db");
    rebuild_matches_sqlite(&ev);
    let r = extract_equals(&ev, None, &rec.states[rec.last() as usize]);
    assert!(r["frames_ignored_counts"]["stale"].as_u64().unwrap() > 0, "{}", r["frames_ignored_counts"]);
    assert_eq!(r["snapshot"]["commits_available"], 1);
    assert_eq!(r["snapshot"]["checkpoint_seq"], 1);
    // Commit 0 of this generation: the database file after the checkpoint.
    extract_equals(&ev, Some(0), &rec.states[rec.last() as usize - 1]);
}

#[test]
fn databases_without_a_usable_wal() {
    let f = Fixture::new();
    // Rollback mode, no -wal: a plain byte copy.
    let rb = f.path("rollback.db");
    let c = Connection::open(&rb).unwrap();
    c.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1), (2);").unwrap();
    let expected = dump_conn(&c);
    drop(c);
    let e = extract(&rb, f.dir.path(), None, &[]);
    assert_eq!(e.run.code, 0, "{}", e.run.stderr);
    assert_eq!(fs::read(&e.out).unwrap(), fs::read(&rb).unwrap());
    assert_eq!(e.report.as_ref().unwrap()["snapshot"]["kind"], "plain_copy");
    assert!(e.run.stderr.contains("plain copy"), "{}", e.run.stderr);
    assert_eq!(open_extracted(&e.out), expected);
    assert_eq!(extract(&rb, f.dir.path(), Some(1), &[]).run.code, 2);

    // WAL mode, cleanly closed (no -wal): the file's state, converted to rollback mode.
    let w = f.path("closed.db");
    let c = wal_db(&w, 4096);
    commits(&c, 4);
    let expected = dump_conn(&c);
    drop(c);
    assert!(!sibling(&w, "-wal").exists());
    let e = extract(&w, f.dir.path(), None, &[]);
    assert_eq!(e.run.code, 0, "{}", e.run.stderr);
    assert_eq!(e.report.as_ref().unwrap()["snapshot"]["kind"], "database_file");
    assert_eq!(open_extracted(&e.out), expected);

    // A WAL with valid frames but no commit: the database file's own state, said so.
    let g = Fixture::new();
    let c = wal_db(&g.db, 4096);
    commits(&c, 3);
    let _ = ckpt(&c, "TRUNCATE");
    let expected = dump_conn(&c);
    c.execute_batch("PRAGMA cache_size=2; BEGIN;").unwrap();
    for i in 0..300 {
        c.execute("INSERT INTO t(v) VALUES (?1)", [format!("{i}{}", "q".repeat(400))]).unwrap();
    }
    let ev = snapshot(&g.db, g.dir.path(), "ev.db");
    c.execute_batch("ROLLBACK").unwrap();
    let e = extract(&ev, g.dir.path(), None, &[]);
    assert_eq!(e.run.code, 0, "{}", e.run.stderr);
    assert!(e.run.stderr.contains("no valid commit"), "{}", e.run.stderr);
    assert_eq!(open_extracted(&e.out), expected);
    let e = extract(&ev, g.dir.path(), Some(1), &[]);
    assert_eq!(e.run.code, 2);
    assert!(e.run.stderr.contains("no valid commit"), "{}", e.run.stderr);
}

#[test]
fn only_the_wal_survived() {
    let f = Fixture::new();
    let c = wal_db(&f.db, 4096);
    let mut rec = Recorder::start(&c);
    workload(&c, &mut rec);
    let ev = snapshot(&f.db, f.dir.path(), "ev.db");
    fs::remove_file(&ev).unwrap();
    fs::remove_file(sibling(&ev, "-shm")).unwrap();
    let wal = sibling(&ev, "-wal");
    // Every page of a database born in this WAL generation has a frame.
    extract_equals(&wal, None, &rec.states[rec.last() as usize]);
    extract_equals(&wal, Some(4), &rec.states[4]);
    assert_eq!(extract(&wal, f.dir.path(), Some(0), &[]).run.code, 2, "no database file for commit 0");

    // After a checkpoint and restart, pages that live only in the database file are missing.
    let _ = ckpt(&c, "TRUNCATE");
    c.execute_batch("INSERT INTO a(name) VALUES ('late')").unwrap();
    let ev2 = snapshot(&f.db, f.dir.path(), "ev2.db");
    fs::remove_file(&ev2).unwrap();
    let e = extract(&sibling(&ev2, "-wal"), f.dir.path(), None, &[]);
    assert_eq!(e.run.code, 2, "{}", e.run.stderr);
    let e = extract(&sibling(&ev2, "-wal"), f.dir.path(), None, &["--allow-inexact"]);
    assert_ne!(e.run.code, 0, "{}", e.run.stderr);
}

#[test]
fn outputs_are_never_inputs_and_never_clobbered() {
    let f = Fixture::new();
    let c = wal_db(&f.db, 4096);
    commits(&c, 3);
    let ev = snapshot(&f.db, f.dir.path(), "ev.db");
    let p = ev.to_str().unwrap();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let target = format!("{p}{suffix}");
        let r = run_guarded(&ev, &["extract", p, "-o", &target, "--force"]);
        assert_eq!(r.code, 2, "{target}: {}", r.stderr);
    }
    // Through a symlinked directory and a hard link.
    let linkdir = f.path("linkdir");
    std::os::unix::fs::symlink(f.dir.path(), &linkdir).unwrap();
    let r = run_guarded(&ev, &["extract", p, "-o", linkdir.join("ev.db-wal").to_str().unwrap(), "--force"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let hard = f.path("hard.db");
    fs::hard_link(&ev, &hard).unwrap();
    let r = run_guarded(&ev, &["extract", p, "-o", hard.to_str().unwrap(), "--force"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    // Existing output: untouched without --force, replaced with it.
    let out = f.path("out.db");
    fs::write(&out, b"precious").unwrap();
    let r = run_guarded(&ev, &["extract", p, "-o", out.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--force"), "{}", r.stderr);
    assert_eq!(fs::read(&out).unwrap(), b"precious");
    let r = run_guarded(&ev, &["extract", p, "-o", out.to_str().unwrap(), "--force"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(open_extracted(&out), sqlite_view(&ev));
    // The report may not be the output, nor an input; an existing report needs --force.
    let out2 = f.path("out2.db");
    let r = run_guarded(&ev, &["extract", p, "-o", out2.to_str().unwrap(), "--report", out2.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = run_guarded(&ev, &["extract", p, "-o", out2.to_str().unwrap(), "--report", &format!("{p}-wal"), "--force"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(!out2.exists());
    // A -wal beside the output would be read by SQLite with it.
    fs::write(f.path("out3.db-wal"), b"x").unwrap();
    let r = run_guarded(&ev, &["extract", p, "-o", f.path("out3.db").to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(!f.path("out3.db").exists());
    assert_no_temp_files(f.dir.path());
    // Unusable input: exit 2, one line, nothing written.
    let junk = f.path("junk.db");
    fs::write(&junk, vec![9u8; 4096]).unwrap();
    let r = run(&["extract", junk.to_str().unwrap(), "-o", f.path("j.db").to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(!f.path("j.db").exists());
}

/// The stock `sqlite3` shell, when installed, opens the output read-only and its `.dump`
/// equals its `.dump` of (a copy of) the original files.
#[test]
fn stock_sqlite3_shell_agrees() {
    let Ok(v) = Command::new("sqlite3").arg("-version").output() else {
        eprintln!("sqlite3 shell not installed; skipped");
        return;
    };
    assert!(v.status.success());
    let f = Fixture::new();
    let c = wal_db(&f.db, 4096);
    let mut rec = Recorder::start(&c);
    workload(&c, &mut rec);
    let ev = snapshot(&f.db, f.dir.path(), "ev.db");
    let e = extract(&ev, f.dir.path(), None, &[]);
    assert_eq!(e.run.code, 0);
    let shell = |args: &[&str]| {
        let o = Command::new("sqlite3").args(args).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let ours = shell(&["-readonly", e.out.to_str().unwrap(), ".dump"]);
    assert_eq!(shell(&["-readonly", e.out.to_str().unwrap(), "PRAGMA integrity_check"]).trim(), "ok");
    let copy = snapshot(&ev, f.dir.path(), "shellcopy.db");
    let theirs = shell(&[copy.to_str().unwrap(), ".dump"]);
    assert_eq!(ours, theirs);
    for s in ["-wal", "-shm", "-journal"] {
        assert!(!sibling(&e.out, s).exists());
    }
}
