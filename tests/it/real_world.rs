//! Shapes of evidence found in real WAL sets from public projects, browsers and apps (issue
//! "Real-world evidence"), each rebuilt here with a real SQLite and checked against what SQLite
//! itself does on a copy. The comment on each test says where the shape comes from.

use std::fs;
use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::support::common::{codes, dump, run, sibling, tempdir};
use crate::support::forensics::{
    Fixture, assert_same, copy_set, our_diff, sqlite_contents, sqlite_diff, with_forensics,
};
use crate::support::repair::{dump_conn, extract};
use walinspect::forensics::timeline::{TrackOptions, timeline};

/// SQLite's own view of a copy of db + -wal: `PRAGMA page_count`, `integrity_check`, `.dump`.
fn sqlite_says(copy: &Path) -> (i64, String, Vec<String>) {
    let d = tempdir();
    let c2 = d.path().join("c.db");
    copy_set(copy, &c2, false);
    let c = Connection::open(&c2).unwrap();
    let n: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
    let ok: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    (n, ok, dump_conn(&c))
}

/// The same three answers for an extracted database, opened read-only with nothing beside it.
fn extracted_says(out: &Path) -> (i64, String, Vec<String>) {
    let c = Connection::open_with_flags(out, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let n: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
    let ok: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    (n, ok, dump_conn(&c))
}

/// `sql` (an INSERT ... SELECT ... FROM s) with `s(value)` = 1..=n.
fn series(n: u32, sql: &str) -> String {
    format!("WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM s WHERE value < {n}) {sql}")
}

/// Close the fixture's writer (its WAL was truncated first, so nothing is left in a -wal),
/// grow the database file by `pages` zero pages and reopen it in WAL mode.
fn pregrow(f: &mut Fixture, pages: usize, page_size: usize) {
    f.checkpoint_truncate();
    let old = std::mem::replace(&mut f.conn, Connection::open_in_memory().unwrap());
    drop(old);
    let mut b = fs::read(&f.db).unwrap();
    b.resize(b.len() + pages * page_size, 0);
    fs::write(&f.db, b).unwrap();
    f.conn = Connection::open(&f.db).unwrap();
    f.conn.execute_batch("PRAGMA wal_autocheckpoint=0; PRAGMA secure_delete=OFF;").unwrap();
}

/// Browsers (Firefox's places.sqlite, Chromium's History) set `SQLITE_FCNTL_CHUNK_SIZE`, so the
/// database file is pre-grown in chunks beyond the b-tree. The WAL's commit frames then record
/// the pager's size (the file's, 8 pages here) while page 1's valid in-header count says where
/// the b-tree ends; SQLite uses the latter. Growing the file by zero pages after a TRUNCATE
/// checkpoint is exactly what the chunked `ftruncate` does. Every commit's extract must equal
/// SQLite's own `page_count`, `integrity_check` and `.dump` on a copy taken at that commit.
#[test]
fn pregrown_database_extracts_with_the_btree_page_count() {
    let mut f = Fixture::new(4096);
    f.tx("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
    f.tx(&series(30, "INSERT INTO t(v) SELECT printf('%0200d', value) FROM s"));
    pregrow(&mut f, 4, 4096);
    f.snap();
    f.commit("INSERT INTO t(v) VALUES ('one more')");
    // Grows the b-tree into the pre-grown zero pages, commit by commit.
    for k in 0..3 {
        f.commit(&series(12, &format!("INSERT INTO t(v) SELECT printf('%0300d', value + {k}) FROM s")));
    }
    f.commit("DELETE FROM t WHERE id % 3 = 0");
    let ev = f.evidence("ev");
    let commits = f.copies.len() - 1;
    let d = tempdir();
    let mut sizes = Vec::new();
    for n in (1..=commits).map(|n| Some(n as u32)).chain([None]) {
        let e = extract(&ev, d.path(), n, &[]);
        assert_eq!(e.run.code, 0, "extract --commit {n:?}: {}", e.run.stderr);
        let theirs = sqlite_says(&f.copies[n.map_or(commits, |n| n as usize)]);
        let ours = extracted_says(&e.out);
        assert_eq!(theirs.1, "ok");
        assert_eq!(ours, theirs, "commit {n:?}: page_count, integrity_check, dump");
        let report = e.report.unwrap();
        assert_eq!(report["output"]["pages"].as_i64().unwrap(), theirs.0);
        sizes.push(theirs.0);
    }
    // The shape really is the pre-grown one: the WAL's commit frames say more pages.
    let (_, v) = dump(&ev);
    let last_commit_pages = v["wal"]["commits"].as_array().unwrap().last().unwrap()["db_pages"].as_i64().unwrap();
    assert!(sizes.iter().any(|&s| s < last_commit_pages), "sizes {sizes:?} vs commit frame {last_commit_pages}");
}

/// Post-mortem WALs: sqlite-dissect's and plaso's test data, and phone artefacts, often hold a
/// `-wal` without its database file. Pages the WAL does not hold are unknown, not corrupt:
/// `--allow-inexact` writes what the WAL holds and lists the rest (exit 1); without it the
/// refusal names the pages. A WAL with no valid commit says plainly there is nothing.
#[test]
fn post_mortem_wal_extracts_with_allow_inexact() {
    let mut f = Fixture::new(4096);
    f.tx("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
    f.tx(&series(300, "INSERT INTO t(v) SELECT printf('%0500d', value) FROM s"));
    f.checkpoint_truncate();
    // Writes page 1 (the schema) and a few pages; most of the 40-odd pages stay in the file.
    f.tx("CREATE TABLE u(x)");
    f.tx("INSERT INTO u VALUES (1), (2)");
    let ev = f.evidence("ev");
    fs::remove_file(&ev).unwrap();
    fs::remove_file(sibling(&ev, "-shm")).unwrap();
    let wal = sibling(&ev, "-wal");
    let d = tempdir();
    let refused = extract(&wal, d.path(), None, &[]);
    assert_eq!(refused.run.code, 2);
    assert!(refused.run.stderr.contains("cannot be rebuilt exactly") && refused.run.stderr.contains("--allow-inexact"));
    assert!(!refused.run.stderr.contains("corrupt"), "{}", refused.run.stderr);
    let e = extract(&wal, d.path(), None, &["--allow-inexact"]);
    assert_eq!(e.run.code, 1, "{}", e.run.stderr);
    let r = e.report.unwrap();
    assert_eq!(r["exact"], false);
    let pages = r["output"]["pages"].as_u64().unwrap();
    let missing = r["page_counts"]["missing"].as_u64().unwrap();
    let from_wal = r["page_counts"]["wal"].as_u64().unwrap();
    assert_eq!(missing + from_wal, pages);
    assert_eq!(r["uncertain_page_count"].as_u64().unwrap(), missing);
    assert!(r["uncertain_pages"].as_array().unwrap().iter().all(|u| u["reason"] == "not_in_files"));
    // What the WAL holds is there: page 1's schema names both tables.
    let out = fs::read(&e.out).unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("CREATE TABLE u(x)") && text.contains("CREATE TABLE t("));

    // A WAL with no valid commit (frame 1's checksum broken) and no database file.
    let broken = d.path().join("broken.db-wal");
    let mut b = fs::read(&wal).unwrap();
    b[32 + 24 + 100] ^= 0xff;
    fs::write(&broken, b).unwrap();
    let e = extract(&broken, d.path(), None, &["--allow-inexact"]);
    assert_eq!(e.run.code, 2);
    assert!(
        e.run.stderr.contains("the WAL has no valid commit and there is no database file: nothing to extract"),
        "{}",
        e.run.stderr
    );
}

/// A 0-byte database beside a header-only WAL: left by apps killed right after creating their
/// database, and in committed-by-accident repositories. SQLite opens an empty database and
/// deletes the WAL; nothing is lost, so it is analysed, not refused, and graded as info.
#[test]
fn empty_database_beside_header_only_wal_is_analysed() {
    let d = tempdir();
    let live = d.path().join("live.db");
    let c = Connection::open(&live).unwrap();
    c.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; CREATE TABLE t(x); INSERT INTO t VALUES (1);",
    )
    .unwrap();
    c.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(())).unwrap();
    let ev = d.path().join("ev.db");
    fs::write(&ev, b"").unwrap();
    fs::write(sibling(&ev, "-wal"), &fs::read(sibling(&live, "-wal")).unwrap()[..32]).unwrap();
    drop(c);
    for named in [ev.clone(), sibling(&ev, "-wal")] {
        let (code, v) = dump(&named);
        assert_eq!(code, 0, "{v}");
        let f = v["findings"].as_array().unwrap();
        let e = f.iter().find(|x| x["code"] == "db.empty_with_wal").expect("db.empty_with_wal");
        assert_eq!(e["severity"], "info");
        assert!(e["message"].as_str().unwrap().contains("deletes the -wal"));
    }
    // What SQLite does, on a copy: an empty database, the WAL gone.
    let copy = d.path().join("copy.db");
    copy_set(&ev, &copy, false);
    let c = Connection::open(&copy).unwrap();
    let n: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
    drop(c);
    assert_eq!(n, 0);
    assert!(!sibling(&copy, "-wal").exists(), "SQLite deleted the header-only WAL");
}

/// A WAL left by another engine (limbo writes an all-zero-salt header and pads the file):
/// header checksum bad, no frame, zero padding. SQLite ignores it and nothing is lost: no
/// error, and no finding may say SQLite "will use its valid frames".
#[test]
fn foreign_empty_wal_with_bad_header_checksum_is_harmless() {
    let d = tempdir();
    let ev = d.path().join("ev.db");
    let c = Connection::open(&ev).unwrap();
    c.execute_batch("PRAGMA page_size=4096; CREATE TABLE t(x); INSERT INTO t VALUES ('kept');").unwrap();
    drop(c);
    let mut w = Vec::new();
    for v in [0x377f_0682u32, 3_007_000, 4096, 0, 0, 0, 0, 0] {
        w.extend_from_slice(&v.to_be_bytes());
    }
    w.resize(32 + 4096, 0);
    fs::write(sibling(&ev, "-wal"), &w).unwrap();
    let r = run(&["check", ev.to_str().unwrap(), "--json"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let f = v["findings"].as_array().unwrap();
    assert!(f.iter().all(|x| x["severity"] != "error"), "{f:?}");
    for x in f {
        let m = x["message"].as_str().unwrap();
        assert!(!m.contains("will use its valid frames"), "{m}");
        assert!(!m.contains("a write was cut off"), "{m}");
    }
    assert!(codes(&v).contains(&"db.rollback_header_with_wal".to_string()));
    // SQLite agrees: on a copy, the row is there and the WAL is ignored.
    let copy = d.path().join("copy.db");
    copy_set(&ev, &copy, false);
    let c = Connection::open(&copy).unwrap();
    let got: String = c.query_row("SELECT x FROM t", [], |r| r.get(0)).unwrap();
    assert_eq!(got, "kept");
}

/// `journal_size_limit` (Android's default, and many apps') makes SQLite truncate the WAL to
/// the limit at the first commit after a reset; the cut lands inside an old generation's frame.
/// The partial frame's salts are reported as on disk, and said to be an earlier generation's.
#[test]
fn wal_cut_by_journal_size_limit_names_the_old_generation() {
    let d = tempdir();
    let live = d.path().join("live.db");
    let c = Connection::open(&live).unwrap();
    c.execute_batch(
        "PRAGMA page_size=4096; PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; PRAGMA journal_size_limit=10000;
         CREATE TABLE t(x);",
    )
    .unwrap();
    for _ in 0..20 {
        c.execute("INSERT INTO t VALUES (?1)", ["x".repeat(3000)]).unwrap();
    }
    let old_salts = {
        let w = fs::read(sibling(&live, "-wal")).unwrap();
        [u32::from_be_bytes(w[16..20].try_into().unwrap()), u32::from_be_bytes(w[20..24].try_into().unwrap())]
    };
    c.query_row("PRAGMA wal_checkpoint", [], |_| Ok(())).unwrap();
    c.execute("INSERT INTO t VALUES ('new')", []).unwrap();
    let ev = d.path().join("ev.db");
    copy_set(&live, &ev, true);
    drop(c);
    let wal_len = fs::metadata(sibling(&ev, "-wal")).unwrap().len();
    assert_eq!(wal_len, 10000, "SQLite truncated the WAL to journal_size_limit");
    let (_, v) = dump(&ev);
    let torn = v["findings"].as_array().unwrap().iter().find(|x| x["code"] == "wal.torn_frame").unwrap().clone();
    assert_eq!(torn["severity"], "info");
    let m = torn["message"].as_str().unwrap();
    assert!(m.contains("earlier WAL generation") && m.contains(&format!("{:#010x}", old_salts[0])), "{m}");
    let r = run(&["salvage", ev.to_str().unwrap(), "--json"]);
    let s: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let groups = s["groups"].as_array().unwrap();
    let g = groups.iter().find(|g| g["kind"] == "torn").expect("torn group");
    assert_eq!(
        (g["salt1"].as_u64().unwrap(), g["salt2"].as_u64().unwrap()),
        (old_salts[0].into(), old_salts[1].into()),
        "{g}"
    );
    assert_eq!(g["generations_ago"], 1);
    let text = run(&["salvage", ev.to_str().unwrap()]).stdout;
    assert!(!text.contains("00000000 00000000"), "{text}");
}

/// Each command's help is about that command: `rebuild-shm --help` does not describe extract's
/// exit statuses.
#[test]
fn rebuild_shm_help_is_about_rebuild_shm() {
    let r = run(&["rebuild-shm", "--help"]);
    assert_eq!(r.code, 0);
    assert!(!r.stdout.contains("extract") && !r.stdout.contains("allow-inexact"), "{}", r.stdout);
    assert!(r.stdout.contains("Exit status"));
    let r = run(&["extract", "--help"]);
    assert!(r.stdout.contains("--allow-inexact") && r.stdout.contains("1 = written with --allow-inexact"));
}

/// Replication and backup tools store WALs under names that pair with nothing: litestream
/// keeps `0000000000000001.wal` segments, rqlite and backup scripts `wal`, `wal-00`, and
/// committed-by-accident repositories `ok`. Such a file is recognised by its WAL magic (a
/// -shm by its version 3007000) and analysed alone, said once on stderr; `--db`, `--wal` and
/// `--shm` pair files whose names do not match, giving the same analysis as files paired by
/// name.
#[test]
fn files_under_any_name_are_recognised_by_content_and_paired_explicitly() {
    let d = tempdir();
    let live = d.path().join("live.db");
    let c = Connection::open(&live).unwrap();
    c.execute_batch("PRAGMA page_size=4096; PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; CREATE TABLE t(v);")
        .unwrap();
    for i in 0..20 {
        c.execute("INSERT INTO t VALUES (?1)", [format!("row {i}")]).unwrap();
    }
    let named = d.path().join("named.db");
    copy_set(&live, &named, true);
    let store = d.path().join("store");
    fs::create_dir(&store).unwrap();
    fs::copy(&live, store.join("app.sqlite")).unwrap();
    fs::copy(sibling(&live, "-shm"), store.join("shm")).unwrap();
    for n in ["wal", "wal-00", "0000000000000001.wal", "ok"] {
        fs::copy(sibling(&live, "-wal"), store.join(n)).unwrap();
    }
    drop(c);
    let s = |p: &Path| p.to_str().unwrap().to_string();
    for n in ["wal", "wal-00", "0000000000000001.wal", "ok"] {
        let lone = store.join(n);
        let r = run(&["dump", &s(&lone), "--json"]);
        assert!(r.code == 0 || r.code == 1, "{n}: {}", r.stderr);
        assert_eq!(r.stderr.matches("is a WAL by its content").count(), 1, "{n}: said once: {}", r.stderr);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(v["files"]["wal"]["path"], s(&lone));
        assert!(v["files"]["db"].is_null() && v["files"]["shm"].is_null());
        assert_eq!(v["wal"]["commits"].as_array().unwrap().len(), 21, "{n}");
        // Every command takes it: a forensic one too.
        let t = run(&["timeline", &s(&lone), "--json"]);
        assert!(t.code == 0 || t.code == 1, "{n}: {}", t.stderr);
        assert!(!t.stderr.contains("not an SQLite database"));
    }
    // A lone -shm.
    let r = run(&["dump", &s(&store.join("shm")), "--json"]);
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    assert!(r.stderr.contains("is a -shm (wal-index) by its content"));
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(v["shm"].is_object());

    // Explicit pairing equals pairing by name.
    let by_name = run(&["dump", &s(&named), "--json"]);
    let paired = run(&[
        "dump",
        &s(&store.join("app.sqlite")),
        "--wal",
        &s(&store.join("wal-00")),
        "--shm",
        &s(&store.join("shm")),
        "--json",
    ]);
    assert_eq!(paired.code, by_name.code, "{}", paired.stderr);
    let (mut a, mut b): (serde_json::Value, serde_json::Value) =
        (serde_json::from_str(&by_name.stdout).unwrap(), serde_json::from_str(&paired.stdout).unwrap());
    a["files"] = serde_json::Value::Null;
    b["files"] = serde_json::Value::Null;
    assert_eq!(a, b);
    // The lone WAL named first, the database paired with --db: extract equals SQLite's view.
    let out = d.path().join("x.db");
    let r = run(&["extract", &s(&store.join("wal-00")), "--db", &s(&store.join("app.sqlite")), "-o", &s(&out)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let c = Connection::open_with_flags(&out, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    assert_eq!(dump_conn(&c), sqlite_says(&named).2);
    // Two files for one role is refused.
    let r = run(&["check", &s(&store.join("wal")), "--wal", &s(&store.join("ok"))]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("names a second -wal file"), "{}", r.stderr);
}

/// Post-mortem forensics (sqlite-dissect's and plaso's WAL-only test sets): pages that are not
/// in the WAL are missing, not damaged. The timeline says "page N is in no file" and never
/// that a page "does not decode" because it read zeros in place of a page no file holds.
#[test]
fn post_mortem_timeline_speaks_of_missing_pages_as_missing() {
    let mut f = Fixture::new(4096);
    f.tx("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
    f.tx(&series(200, "INSERT INTO t(v) SELECT printf('%0500d', value) FROM s"));
    f.checkpoint_truncate();
    f.tx("CREATE TABLE u(x)");
    f.tx("INSERT INTO u VALUES (1)");
    f.tx("UPDATE t SET v = 'changed' WHERE id = 150");
    let ev = f.evidence("ev");
    fs::remove_file(&ev).unwrap();
    fs::remove_file(sibling(&ev, "-shm")).unwrap();
    let wal = sibling(&ev, "-wal");
    let r = run(&["timeline", wal.to_str().unwrap(), "--json"]);
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let mut notes = Vec::new();
    for c in v["commits"].as_array().unwrap() {
        for n in c["notes"].as_array().unwrap() {
            notes.push((n["code"].as_str().unwrap().to_string(), n["message"].as_str().unwrap().to_string()));
        }
    }
    assert!(notes.iter().all(|(c, _)| c != "btree.bad_page"), "{notes:?}");
    let missing: Vec<_> = notes.iter().filter(|(c, _)| c == "page.in_no_file").collect();
    assert!(!missing.is_empty(), "{notes:?}");
    assert!(missing.iter().all(|(_, m)| m.contains("is in no file (no database file, no frame)")), "{missing:?}");
    for (c, m) in &notes {
        if c == "pages.unreachable" {
            assert!(m.contains("in no file"), "{m}");
        }
    }
}

/// A writer killed mid-transaction with a small page cache (phones' apps, and plaso's test
/// sets): SQLite spilled most of the transaction's pages into the WAL before any b-tree page
/// pointing to them was written. Those rows are in the uncommitted tail; `history` must find
/// every row `salvage` finds, and a copy of a listed version in another place is merged into
/// that version's entry.
#[test]
fn history_finds_the_spilled_uncommitted_rows_salvage_finds() {
    let d = tempdir();
    let live = d.path().join("live.db");
    let c = Connection::open(&live).unwrap();
    c.execute_batch(
        "PRAGMA page_size=1024; PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; PRAGMA secure_delete=OFF;
         PRAGMA cache_size=2; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'committed');",
    )
    .unwrap();
    c.execute_batch("BEGIN").unwrap();
    for i in 2..=290 {
        c.execute("INSERT INTO t VALUES (?1, ?2)", rusqlite::params![i, format!("pending {i:04} {}", "p".repeat(60))])
            .unwrap();
    }
    // The "kill": the files as they are mid-transaction.
    let ev = d.path().join("ev.db");
    copy_set(&live, &ev, true);
    c.execute_batch("ROLLBACK").unwrap();
    drop(c);
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let r = run(&["salvage", &s(&ev), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let mut rowids: Vec<i64> = Vec::new();
    for row in v["rows"].as_array().unwrap() {
        if row["table"] == "t"
            && let Some(id) = row["key"].as_i64()
        {
            rowids.push(id);
        }
    }
    rowids.sort_unstable();
    rowids.dedup();
    assert!(rowids.len() > 200, "salvage found {} pending rows", rowids.len());
    // Every one of them (a sample, to keep the test fast) is in history, from the tail.
    for &id in rowids.iter().step_by(23).chain(rowids.last()) {
        let h = run(&["history", &s(&ev), "--table", "t", "--rowid", &id.to_string(), "--json"]);
        assert!(h.code == 0 || h.code == 1, "{}", h.stderr);
        let hv: serde_json::Value = serde_json::from_str(&h.stdout).unwrap();
        let versions = hv["versions"].as_array().unwrap();
        assert!(!versions.is_empty(), "rowid {id}: not found by history but by salvage");
        assert!(versions.iter().any(|x| x["source"]["kind"] == "uncommitted"), "rowid {id}: {versions:?}");
        assert!(
            versions.iter().all(|x| x["sqlite_visible"] == false || x["source"]["kind"] != "uncommitted"),
            "{versions:?}"
        );
    }
}

/// A WAL whose checksum chain breaks mid-way (bit rot in app data copied off phones, and
/// sqlite-dissect's damaged test sets): rows in the frames after the break were written after
/// what SQLite shows, so they are *newer* versions, and the group names the frame where the
/// chain broke — the same frame `check` names.
#[test]
fn salvage_labels_rows_after_the_break_as_newer_and_names_the_break() {
    let mut f = Fixture::new(1024);
    f.tx("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
    f.tx(&series(20, "INSERT INTO t(v) SELECT 'first ' || value FROM s"));
    for k in 0..4 {
        f.tx(&format!("UPDATE t SET v = 'update {k} of ' || id"));
    }
    let ev = f.evidence("ev");
    let wal = sibling(&ev, "-wal");
    let mut b = fs::read(&wal).unwrap();
    let frames = (b.len() - 32) / (1024 + 24);
    let broken = frames / 2 + 1;
    b[32 + (broken - 1) * (1024 + 24) + 24 + 500] ^= 0x55;
    fs::write(&wal, b).unwrap();
    let s = ev.to_str().unwrap();
    let (_, check) = dump(&ev);
    let named =
        check["findings"].as_array().unwrap().iter().find(|x| x["code"] == "wal.checksum_mismatch").unwrap()["frame"]
            .as_u64()
            .unwrap();
    assert_eq!(named, broken as u64);
    let r = run(&["salvage", s, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let g = v["groups"].as_array().unwrap().iter().find(|g| g["kind"] == "after_break").unwrap().clone();
    assert_eq!(g["chain_break_frame"].as_u64(), Some(named));
    let text = run(&["salvage", s]).stdout;
    assert!(text.contains(&format!("the chain broke at frame {named}")), "{text}");
    assert!(text.contains("newer version of a known row"), "{text}");
    for line in text.lines().filter(|l| l.contains("[after_break via")) {
        assert!(!line.contains("older version"), "{line}");
    }
}

/// A rollback journal beside the database (apps in the default DELETE mode killed mid-write;
/// Android's and iOS's PERSIST-mode databases). A hot journal is played back by SQLite before
/// it reads anything: `check` says so (`db.hot_journal`) and names the pages it restores —
/// exactly the pages whose content differs between the file and what SQLite shows on a copy.
#[test]
fn hot_rollback_journal_is_reported_with_the_pages_it_restores() {
    let d = tempdir();
    let live = d.path().join("live.db");
    let c = Connection::open(&live).unwrap();
    c.execute_batch(
        "PRAGMA page_size=1024; PRAGMA journal_mode=DELETE; PRAGMA cache_size=2;
         CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);",
    )
    .unwrap();
    c.execute_batch(&series(
        200,
        "INSERT INTO t(v) SELECT printf('original %04d %s', value, hex(zeroblob(20))) FROM s",
    ))
    .unwrap();
    c.execute_batch("BEGIN; UPDATE t SET v = 'changed ' || id WHERE id % 2 = 0;").unwrap();
    // The "kill": the database file, already partly overwritten (the cache spilled), and its
    // hot journal.
    let ev = d.path().join("ev.db");
    fs::copy(&live, &ev).unwrap();
    fs::copy(sibling(&live, "-journal"), sibling(&ev, "-journal")).unwrap();
    c.execute_batch("ROLLBACK").unwrap();
    drop(c);
    // What SQLite restores: compare a played-back copy with the file as it is.
    let copy = d.path().join("copy.db");
    fs::copy(&ev, &copy).unwrap();
    fs::copy(sibling(&ev, "-journal"), sibling(&copy, "-journal")).unwrap();
    let cc = Connection::open(&copy).unwrap();
    let n: i64 = cc.query_row("SELECT count(*) FROM t WHERE v LIKE 'changed%'", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 0, "SQLite rolled the journal back");
    drop(cc);
    let before = fs::read(&ev).unwrap();
    let after = fs::read(&copy).unwrap();
    let differing: Vec<u64> = (0..before.len().min(after.len()) / 1024)
        .filter(|&p| before[p * 1024..(p + 1) * 1024] != after[p * 1024..(p + 1) * 1024])
        .map(|p| p as u64 + 1)
        .collect();
    assert!(!differing.is_empty());
    let guard = crate::support::common::Unchanged::record(&ev);
    let r = run(&["check", ev.to_str().unwrap(), "--json"]);
    guard.assert();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["code"] == "db.hot_journal")
        .expect("db.hot_journal")
        .clone();
    let m = f["message"].as_str().unwrap();
    assert!(m.contains("plays it back"), "{m}");
    // Every page that differs is one the journal restores (page 1 may be restored unchanged).
    let restores = f["count"].as_u64().unwrap();
    assert!(restores >= differing.len() as u64, "{m} vs {differing:?}");
    for p in &differing {
        assert!(m.contains(&p.to_string()), "page {p} not named: {m}");
    }
}

/// `journal_mode=PERSIST` (the default of many Android apps) zeroes only the journal's header
/// after each commit: the page records of the last transaction — the rows it deleted or
/// edited, as they were before — stay on disk. They are reported (not as a hot journal), and
/// salvage and history list their rows with provenance `journal`.
#[test]
fn persisted_journal_records_are_a_source_of_row_versions() {
    let d = tempdir();
    let live = d.path().join("live.db");
    let c = Connection::open(&live).unwrap();
    c.execute_batch(
        "PRAGMA page_size=1024; PRAGMA journal_mode=PERSIST; PRAGMA secure_delete=OFF;
         CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);",
    )
    .unwrap();
    c.execute_batch(&series(60, "INSERT INTO t(v) SELECT printf('kept %04d', value) FROM s")).unwrap();
    c.execute_batch("BEGIN; UPDATE t SET v = 'edited' WHERE id = 7; DELETE FROM t WHERE id = 42; COMMIT;").unwrap();
    let ev = d.path().join("ev.db");
    fs::copy(&live, &ev).unwrap();
    fs::copy(sibling(&live, "-journal"), sibling(&ev, "-journal")).unwrap();
    drop(c);
    let j = fs::read(sibling(&ev, "-journal")).unwrap();
    assert!(j[..28].iter().all(|&b| b == 0) && j.len() > 1024, "a PERSIST journal after commit");
    let r = run(&["check", ev.to_str().unwrap(), "--json"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let f = v["findings"].as_array().unwrap();
    assert!(f.iter().all(|x| x["code"] != "db.hot_journal"), "{f:?}");
    let p = f.iter().find(|x| x["code"] == "db.persisted_journal").expect("db.persisted_journal");
    assert_eq!(p["severity"], "info");
    let s = ev.to_str().unwrap();
    // Salvage: the deleted row, from the journal, with its record's offset.
    let r = run(&["salvage", s, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let g = v["groups"].as_array().unwrap().iter().position(|g| g["kind"] == "journal").expect("journal group");
    assert!(!v["groups"][g]["record_offsets"].as_array().unwrap().is_empty());
    let row = v["rows"].as_array().unwrap().iter().find(|r| r["key"] == 42).expect("deleted row 42 salvaged").clone();
    assert_eq!(row["kind"], "journal");
    assert_eq!(row["values"][1], "kept 0042");
    // History: the edited row's earlier version comes before the database file's.
    let h = run(&["history", s, "--table", "t", "--rowid", "7", "--json"]);
    let hv: serde_json::Value = serde_json::from_str(&h.stdout).unwrap();
    let versions = hv["versions"].as_array().unwrap();
    assert_eq!(versions[0]["source"]["kind"], "journal", "{versions:?}");
    assert_eq!(versions[0]["values"][1], "kept 0007");
    assert!(versions.iter().any(|x| x["current"] == true && x["values"][1] == "edited"));
    let h = run(&["history", s, "--table", "t", "--rowid", "42", "--json"]);
    let hv: serde_json::Value = serde_json::from_str(&h.stdout).unwrap();
    assert!(hv["versions"].as_array().unwrap().iter().any(|x| x["source"]["kind"] == "journal"));
}

/// nBackfill as SQLite wrote it in a -shm (little-endian machine: native order, offset 96).
fn shm_backfill(db: &Path) -> u32 {
    let s = fs::read(sibling(db, "-shm")).unwrap();
    u32::from_ne_bytes(s[96..100].try_into().unwrap())
}

/// The placement walinspect decides for evidence `ev`: (commit, frame, method).
fn placed(ev: &Path) -> (u32, u32, String) {
    with_forensics(ev, |fx, _| {
        let p = walinspect::forensics::checkpoint::place(fx);
        (p.commit, p.frame, p.by.to_string())
    })
}

/// The timeline of `ev` against SQLite's own view of each commit (`copies[k]` = after commit
/// k): commits the file already holds are reported as checkpointed, without row changes; every
/// later commit's row changes equal SQLite's.
fn timeline_matches_sqlite(ev: &Path, copies: &[std::path::PathBuf], checkpointed: u32) {
    let contents: Vec<_> = copies.iter().map(|c| sqlite_contents(c)).collect();
    with_forensics(ev, |fx, _| {
        let (base, changes, _) = timeline(fx, TrackOptions { rows: true, ..Default::default() });
        assert_eq!(base.iter().any(|n| n.code.to_string() == "snapshot.checkpointed"), checkpointed > 0, "{base:?}");
        assert!(base.iter().all(|n| n.code.to_string() != "snapshot.base_uncertain"), "{base:?}");
        for c in changes.iter().filter(|c| c.committed) {
            let k = c.number.unwrap();
            if k <= checkpointed {
                assert!(c.tables.is_empty(), "commit {k} is checkpointed: no row changes claimed");
                assert!(c.notes.iter().any(|n| n.code.to_string() == "commit.checkpointed"), "{:?}", c.notes);
            } else {
                let k = k as usize;
                let ours = our_diff(c, fx.snapshot(c.spec).encoding);
                assert_same(k, &ours, &sqlite_diff(&contents[k - 1], &contents[k]));
            }
        }
    })
}

/// Apps with a long-lived reader (a browser's history view, an Android content provider) keep
/// the WAL from restarting: the checkpoint copies frames 1..K into the database file and the
/// WAL keeps growing after K. The database file is then the state after commit K, not the
/// state before commit 1 (an earlier timeline reported 80 false deletions and 80 re-inserts).
/// Built with SQLite's own PASSIVE checkpoint under a pinned reader, then RESTART and TRUNCATE
/// checkpoints; placement must equal the nBackfill SQLite wrote, with the -shm, without it
/// (page contents) and with a stale -shm from before the checkpoint.
#[test]
fn checkpoint_under_a_reader_is_placed_where_sqlite_put_it() {
    let mut f = Fixture::new(1024);
    f.snap();
    f.commit("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE side(x)");
    f.commit(&series(80, "INSERT INTO t(v) SELECT printf('first %04d %s', value, hex(randomblob(20))) FROM s"));
    // Commit 3 writes side's one page, which no later commit rewrites: the checkpoint copies it.
    f.commit("UPDATE t SET v = 'edited ' || id WHERE id % 5 = 0; INSERT INTO side VALUES ('pinned')");
    // A reader pins commit 3; the writer goes on.
    let reader = Connection::open(&f.db).unwrap();
    reader.execute_batch("BEGIN; SELECT count(*) FROM t;").unwrap();
    f.commit("DELETE FROM t WHERE id % 7 = 0");
    let stale = f.evidence("stale");
    f.commit(&series(30, "INSERT INTO t(v) SELECT printf('second %04d', value) FROM s"));
    // PASSIVE: copies frames up to the reader's snapshot (commit 3) and cannot reset the WAL.
    let (busy, log, done): (i64, i64, i64) =
        f.conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap();
    assert_eq!(busy, 0);
    assert!(done > 0 && done < log, "a partial checkpoint: {done} of {log}");
    f.commit("UPDATE t SET v = 'late' WHERE id IN (1, 2, 3, 90)");
    f.commit("DELETE FROM t WHERE id > 95");
    let ev = f.evidence("ev");
    let nbackfill = shm_backfill(&ev);
    assert_eq!(nbackfill as i64, done);
    let (commit, frame, by) = placed(&ev);
    assert_eq!((frame, by.as_str()), (nbackfill, "shm"));
    assert_eq!(commit, 3, "the reader pinned commit 3");
    timeline_matches_sqlite(&ev, &f.copies, commit);

    // Without the -shm: by page contents, the same commit.
    let noshm = f.evidence("noshm");
    fs::remove_file(sibling(&noshm, "-shm")).unwrap();
    assert_eq!(placed(&noshm), (commit, frame, "content".to_string()));
    timeline_matches_sqlite(&noshm, &f.copies, commit);

    // A stale -shm (copied before the checkpoint, nBackfill 0): not trusted for placement.
    let stale_set = f.evidence("stale_set");
    fs::copy(sibling(&stale, "-shm"), sibling(&stale_set, "-shm")).unwrap();
    assert_eq!(placed(&stale_set), (commit, frame, "content".to_string()));
    let r = run(&["timeline", stale_set.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let note = v["notes"].as_array().unwrap().iter().find(|n| n["code"] == "snapshot.checkpointed").unwrap().clone();
    let m = note["message"].as_str().unwrap();
    assert!(m.contains("stale") && m.contains("page contents"), "{m}");
    drop(reader);

    // RESTART with nobody reading: every frame is copied, the WAL stays until the next write.
    let (_, log, done): (i64, i64, i64) =
        f.conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap();
    assert_eq!(done, log);
    let all = f.evidence("restart");
    let last = f.copies.len() as u32 - 1;
    assert_eq!(shm_backfill(&all) as i64, done);
    assert_eq!(placed(&all).0, last);
    fs::remove_file(sibling(&all, "-shm")).unwrap();
    assert_eq!(placed(&all).0, last, "no -shm: every commit is in the file");
    // The next write restarts the WAL: a new generation, nothing of it in the file.
    let base = f.copies.len() - 1;
    f.commit("INSERT INTO t(v) VALUES ('after restart')");
    f.commit("UPDATE t SET v = 'again' WHERE id = 1");
    let gen2 = f.evidence("gen2");
    assert_eq!(placed(&gen2).0, 0);
    timeline_matches_sqlite(&gen2, &f.copies[base..], 0);
    fs::remove_file(sibling(&gen2, "-shm")).unwrap();
    assert_eq!(placed(&gen2), (0, 0, "content".to_string()));

    // TRUNCATE: the WAL is emptied; new commits start a generation the file does not hold.
    f.checkpoint_truncate();
    let base = f.copies.len();
    f.snap();
    f.commit("DELETE FROM t WHERE id < 10");
    let gen3 = f.evidence("gen3");
    fs::remove_file(sibling(&gen3, "-shm")).unwrap();
    assert_eq!(placed(&gen3).0, 0);
    timeline_matches_sqlite(&gen3, &f.copies[base..], 0);
}

/// The journal step of `ev`'s timeline through the library (with the journal opened beside the
/// database, as the CLI does).
fn journal_of(ev: &Path) -> (walinspect::forensics::timeline::JournalStep, walinspect::format::record::TextEncoding) {
    let e = walinspect::source::Evidence::open(ev).unwrap();
    let a = walinspect::session::analyze_evidence(&e, walinspect::session::Options::default());
    let fx = walinspect::forensics::snapshot::Forensics::from_evidence(&e, &a).unwrap();
    let s = walinspect::forensics::timeline::journal_step(&fx, &TrackOptions { rows: true, ..Default::default() })
        .expect("a journal step");
    (s, fx.snapshot(fx.base()).encoding)
}

/// Apps killed mid-transaction in rollback mode (Android apps, desktop tools) leave a hot
/// `-journal`: its page records are the database before the transaction. The timeline shows
/// them as their own entry, first — the rows the interrupted transaction changed in the file,
/// against the pre-images SQLite restores — with provenance (hot, page, record offset). SQLite's
/// own answer: a copy played back (before) against the file opened without its journal (after).
#[test]
fn hot_journal_is_a_timeline_entry_with_provenance() {
    let d = tempdir();
    let live = d.path().join("live.db");
    let c = Connection::open(&live).unwrap();
    c.execute_batch(
        "PRAGMA page_size=1024; PRAGMA journal_mode=DELETE; PRAGMA cache_size=2; PRAGMA secure_delete=OFF;
         CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);",
    )
    .unwrap();
    c.execute_batch(&series(
        200,
        "INSERT INTO t(v) SELECT printf('original %04d %s', value, hex(zeroblob(20))) FROM s",
    ))
    .unwrap();
    c.execute_batch("BEGIN; UPDATE t SET v = 'changed ' || id WHERE id % 2 = 0; DELETE FROM t WHERE id > 190;")
        .unwrap();
    let ev = d.path().join("ev.db");
    fs::copy(&live, &ev).unwrap();
    fs::copy(sibling(&live, "-journal"), sibling(&ev, "-journal")).unwrap();
    c.execute_batch("ROLLBACK").unwrap();
    drop(c);
    // SQLite: before = the played-back copy; after = the file as it is, without its journal.
    let before = d.path().join("before.db");
    fs::copy(&ev, &before).unwrap();
    fs::copy(sibling(&ev, "-journal"), sibling(&before, "-journal")).unwrap();
    // Opening the copy plays its journal back (sqlite_contents reads a copy of db + -wal only).
    let n: i64 = Connection::open(&before).unwrap().query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 200);
    assert!(!sibling(&before, "-journal").exists());
    let after = d.path().join("after.db");
    fs::copy(&ev, &after).unwrap();
    let theirs = sqlite_diff(&sqlite_contents(&before), &sqlite_contents(&after));
    assert!(!theirs.is_empty(), "the cache spilled: the file holds part of the transaction");
    let guard = crate::support::common::Unchanged::record(&ev);
    let (s, enc) = journal_of(&ev);
    assert!(s.hot && !s.changes.committed);
    assert_same(0, &our_diff(&s.changes, enc), &theirs);
    // The CLI: the journal entry comes first, then nothing else (no WAL).
    let r = run(&["timeline", ev.to_str().unwrap(), "--json", "--values"]);
    guard.assert();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let e = &v["commits"][0];
    assert_eq!(e["journal"]["hot"], true);
    assert_eq!(e["journal"]["records"].as_array().unwrap().len(), s.records.len());
    assert!(e["commit"].is_null() && e["committed"] == false);
    let deleted = e["rows"]["t"]["deleted"].as_array().unwrap();
    assert_eq!(deleted.len(), theirs["t"].2.len());
    let r = run(&["timeline", ev.to_str().unwrap()]);
    assert!(r.stdout.contains("rollback journal (hot"), "{}", r.stdout);
    // Provenance: each record's page and offset, as the journal lays them out (read once the
    // evidence's access times were checked).
    let j = fs::read(sibling(&ev, "-journal")).unwrap();
    for &(page, off) in &s.records {
        assert_eq!(u32::from_be_bytes(j[off as usize..off as usize + 4].try_into().unwrap()), page);
    }
}

/// `journal_mode=PERSIST` after a commit: the same entry, not hot, committed (the transaction
/// happened; the journal keeps what it replaced).
#[test]
fn persisted_journal_is_a_committed_timeline_entry() {
    let d = tempdir();
    let live = d.path().join("live.db");
    let c = Connection::open(&live).unwrap();
    c.execute_batch(
        "PRAGMA page_size=1024; PRAGMA journal_mode=PERSIST; PRAGMA secure_delete=OFF;
         CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);",
    )
    .unwrap();
    c.execute_batch(&series(60, "INSERT INTO t(v) SELECT printf('kept %04d', value) FROM s")).unwrap();
    let before = d.path().join("before.db");
    fs::copy(&live, &before).unwrap();
    c.execute_batch("BEGIN; UPDATE t SET v = 'edited' WHERE id = 7; DELETE FROM t WHERE id = 42; INSERT INTO t(v) VALUES ('new'); COMMIT;").unwrap();
    let ev = d.path().join("ev.db");
    fs::copy(&live, &ev).unwrap();
    fs::copy(sibling(&live, "-journal"), sibling(&ev, "-journal")).unwrap();
    drop(c);
    let after = d.path().join("after.db");
    fs::copy(&ev, &after).unwrap();
    let theirs = sqlite_diff(&sqlite_contents(&before), &sqlite_contents(&after));
    let (s, enc) = journal_of(&ev);
    assert!(!s.hot && s.changes.committed);
    assert_same(0, &our_diff(&s.changes, enc), &theirs);
}
