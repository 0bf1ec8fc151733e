//! More real SQLite states for the forensics: UTF-16 databases, page sizes 512 and 65536,
//! auto-vacuum (pointer maps, relocation, truncation), an uncommitted tail left by a writer
//! that spilled its cache, a torn last frame, and WITHOUT ROWID history across generations.

use std::collections::BTreeMap;

use crate::support::forensics::*;
use walinspect::forensics::history::{KeySpec, history};
use walinspect::forensics::ownership::Ownership;
use walinspect::forensics::salvage::salvage;
use walinspect::forensics::timeline::{RowKey, TrackOptions, Tracker, timeline};
use walinspect::forensics::walk::Budget;
use walinspect::format::record::Value;

fn hexblob(n: usize, seed: u8) -> String {
    let mut s = String::from("X'");
    for i in 0..n {
        s.push_str(&format!("{:02x}", (i as u8).wrapping_mul(31).wrapping_add(seed)));
    }
    s.push('\'');
    s
}

/// A workload for any page size: inserts, overflow rows, updates, deletes.
fn workload(fx: &mut Fixture, big: usize) {
    fx.tx("CREATE TABLE t(id INTEGER PRIMARY KEY, s TEXT, b BLOB); CREATE INDEX ts ON t(s);
           CREATE TABLE w(k TEXT PRIMARY KEY, v) WITHOUT ROWID;");
    let mut sql = String::new();
    for i in 1..=150 {
        sql.push_str(&format!("INSERT INTO t VALUES({i}, 'héllo wörld {i} ✓', {});", hexblob(i % 40, i as u8)));
        sql.push_str(&format!("INSERT INTO w VALUES('κλειδί{i}', {i});"));
    }
    fx.tx(&sql);
    fx.checkpoint_truncate();
    fx.snap();
    fx.commit(&format!("INSERT INTO t VALUES(1000, '{}', {})", "长".repeat(big / 3), hexblob(big, 9)));
    fx.commit("UPDATE t SET s = s || ' ünïcode' WHERE id % 9 = 0");
    fx.commit("DELETE FROM t WHERE id BETWEEN 20 AND 120");
    fx.commit(&format!("UPDATE t SET b = {} WHERE id = 1000", hexblob(big, 10)));
    fx.commit("UPDATE w SET v = 'χ' || v WHERE v % 4 = 0; DELETE FROM w WHERE v % 7 = 0");
    fx.commit("DELETE FROM t WHERE id = 1000; INSERT INTO w VALUES('new', zeroblob(10))");
}

/// Ownership of the snapshot after each commit agrees with dbstat on the copy, and the
/// tracker's incremental ownership equals a full walk.
fn check_ownership(ev: &std::path::Path, copies: &[std::path::PathBuf]) {
    with_forensics(ev, |f, _| {
        let t = Tracker::new(f, TrackOptions::default());
        let _ = t.run(|tr, c| {
            let k = c.number.unwrap() as usize;
            let snap = f.snapshot(c.spec);
            let full = Ownership::build(&snap, &mut Budget::default());
            assert!(full.notes.is_empty(), "commit {k}: {:?}", full.notes);
            assert_eq!(tr.own.pages, full.pages, "commit {k}: incremental ownership differs");
            assert!(full.orphans().is_empty(), "commit {k}: orphans {:?}", full.orphans());
            let tmp = tempfile::tempdir().unwrap();
            let x = tmp.path().join("x.db");
            copy_set(&copies[k], &x, false);
            let conn = rusqlite::Connection::open(&x).unwrap();
            let ic: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
            assert_eq!(ic, "ok");
            let mut st = conn.prepare("SELECT name, pageno, pagetype FROM dbstat").unwrap();
            let stat: BTreeMap<u32, (String, bool)> = st
                .query_map([], |r| {
                    let n: String = r.get(0)?;
                    let t: String = r.get(2)?;
                    Ok((r.get(1)?, (if n == "sqlite_master" { "sqlite_schema".into() } else { n }, t == "overflow")))
                })
                .unwrap()
                .map(|r| r.unwrap())
                .collect();
            let free: u32 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0)).unwrap();
            let mut ours = BTreeMap::new();
            let mut our_free = 0;
            for p in 1..=c.spec.db_pages {
                let (name, kind, role) = full.describe(p);
                match kind.as_str() {
                    "table" | "index" | "schema" => {
                        ours.insert(p, (name, role.map(|r| r.as_str()) == Some("overflow")));
                    }
                    "freelist" => our_free += 1,
                    "ptrmap" => assert!(snap.auto_vacuum()),
                    other => panic!("commit {k}: page {p} is {other}"),
                }
            }
            assert_eq!(ours, stat, "commit {k}: owners differ from dbstat");
            assert_eq!(our_free, free, "commit {k}: freelist");
        });
    });
}

#[test]
fn utf16_databases_decode_like_sqlite() {
    for enc in ["UTF-16le", "UTF-16be"] {
        let mut fx = Fixture::with(1024, &format!("PRAGMA encoding = '{enc}';"));
        workload(&mut fx, 3000);
        let ev = fx.evidence("ev");
        let before = fingerprint(&ev);
        with_forensics(&ev, |f, _| assert_eq!(f.snapshot(f.latest()).encoding.name(), enc.to_ascii_lowercase()));
        assert_eq!(check_timeline_against_copies(&ev, &fx.copies), 6, "{enc}");
        check_ownership(&ev, &fx.copies);
        assert_eq!(before, fingerprint(&ev));
    }
}

#[test]
fn page_sizes_and_auto_vacuum_match_sqlite() {
    for (ps, first) in
        [(512, ""), (65536, ""), (1024, "PRAGMA auto_vacuum = FULL;"), (4096, "PRAGMA auto_vacuum = INCREMENTAL;")]
    {
        let mut fx = Fixture::with(ps, first);
        let big = if ps == 65536 { 150_000 } else { 5000 };
        workload(&mut fx, big);
        if first.contains("INCREMENTAL") {
            fx.commit("PRAGMA incremental_vacuum(3)");
        }
        let ev = fx.evidence("ev");
        let n = check_timeline_against_copies(&ev, &fx.copies);
        assert_eq!(n + 1, fx.copies.len(), "page size {ps} {first}");
        check_ownership(&ev, &fx.copies);
        if !first.is_empty() {
            // The database shrank at some commit (auto-vacuum truncates; incremental vacuum
            // releases pages).
            with_forensics(&ev, |f, _| {
                let sizes: Vec<u32> = f.commits().iter().map(|c| c.db_pages).collect();
                assert!(sizes.windows(2).any(|w| w[1] < w[0]), "{sizes:?}");
            });
        }
    }
}

#[test]
fn uncommitted_tail_is_listed_and_salvaged() {
    let mut fx = Fixture::new(1024);
    fx.tx("CREATE TABLE u(id INTEGER PRIMARY KEY, v TEXT)");
    fx.checkpoint_truncate();
    fx.snap();
    fx.commit("INSERT INTO u VALUES(1, 'committed')");
    // A big transaction with a tiny cache spills pages into the WAL before committing.
    fx.conn.execute_batch("PRAGMA cache_size = 2; BEGIN;").unwrap();
    for i in 2..400 {
        fx.conn.execute(&format!("INSERT INTO u VALUES({i}, '{}')", "p".repeat(200)), []).unwrap();
    }
    let ev = fx.evidence("ev");
    fx.conn.execute_batch("ROLLBACK").unwrap();
    let before = fingerprint(&ev);
    let sqlite_now = sqlite_contents(&ev);
    assert_eq!(sqlite_now["u"].len(), 1, "SQLite shows only the committed row");
    with_forensics(&ev, |f, a| {
        let w = a.wal.as_ref().unwrap();
        assert!(w.chain_valid_frames > w.valid_frames, "spilled frames form an uncommitted tail");
        let (_, changes, _) = timeline(f, TrackOptions { rows: true, ..Default::default() });
        let last = changes.last().unwrap();
        assert!(!last.committed && last.number.is_none());
        // The spilled leaves hang from nothing yet (their parents were still in the cache):
        // the timeline says so, and salvage decodes them.
        assert!(last.notes.iter().any(|n| n.code.as_str() == "pages.unreachable"), "{:?}", last.notes);
        assert!(last.pages.iter().any(|p| p.kind.as_str() == "orphan"));
        let s = salvage(f);
        let tail_rows: Vec<_> = s.rows.iter().filter(|r| s.groups[r.group].kind.name() == "uncommitted").collect();
        assert!(tail_rows.len() > 10);
        assert!(
            tail_rows
                .iter()
                .all(|r| !r.committed_in_group && !r.key_current && r.attribution.table.as_deref() == Some("u"))
        );
        assert!(s.rows.iter().all(|r| r.key != Some(RowKey::Rowid(1))), "the committed row is not salvage");
    });
    assert_eq!(before, fingerprint(&ev));
}

#[test]
fn torn_last_frame_is_salvaged() {
    let mut fx = Fixture::new(1024);
    fx.tx("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
    fx.checkpoint_truncate();
    fx.snap();
    for i in 1..=4 {
        fx.commit(&format!("INSERT INTO t VALUES({i}, 'row number {i}')"));
    }
    let ev = fx.evidence("ev");
    let wal = format!("{}-wal", ev.display());
    let len = std::fs::metadata(&wal).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&wal).unwrap();
    f.set_len(len - 40).unwrap();
    drop(f);
    let before = fingerprint(&ev);
    assert_eq!(sqlite_contents(&ev)["t"].len(), 3, "SQLite drops the torn commit");
    with_forensics(&ev, |f, _| {
        assert_eq!(f.commits().len(), 3);
        let s = salvage(f);
        let torn = s.groups.iter().position(|g| g.kind.name() == "torn").unwrap();
        let row4: Vec<_> = s.rows.iter().filter(|r| r.group == torn && r.key == Some(RowKey::Rowid(4))).collect();
        assert_eq!(row4.len(), 1, "{:?}", s.rows);
        assert!(!row4[0].key_current);
    });
    assert_eq!(before, fingerprint(&ev));
}

#[test]
fn without_rowid_history_spans_generations() {
    let mut fx = Fixture::new(1024);
    let mut sql = String::from("CREATE TABLE kv(a TEXT, b INT, v TEXT, PRIMARY KEY(a, b)) WITHOUT ROWID;");
    for i in 0..60 {
        sql.push_str(&format!("INSERT INTO kv VALUES('key', {i}, 'start');"));
    }
    fx.tx(&sql);
    fx.checkpoint_truncate();
    for n in 1..=30 {
        fx.tx(&format!(
            "UPDATE kv SET v = 'g1-{n}' WHERE a = 'key' AND b = 5; UPDATE kv SET v = v || '.' WHERE b = {}",
            30 + n % 20
        ));
    }
    fx.conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())).unwrap();
    fx.snap();
    fx.commit("UPDATE kv SET v = 'g2' WHERE a = 'key' AND b = 5");
    let ev = fx.evidence("ev");
    assert_eq!(check_timeline_against_copies(&ev, &fx.copies), 1);
    with_forensics(&ev, |f, _| {
        let (h, key) = history(f, "kv", &KeySpec::Pk(vec!["key".into(), "5".into()])).unwrap();
        let key = key.unwrap();
        let v: Vec<(&str, String)> = h
            .versions
            .iter()
            .map(|x| {
                let vals = h.values(x, &key).map(|(v, _)| v).unwrap_or_default();
                (
                    x.source.kind.as_str(),
                    vals.get(2)
                        .map(|v| if let Value::Text(s) = v { s.clone() } else { String::new() })
                        .unwrap_or_default(),
                )
            })
            .collect();
        let visible: Vec<&str> =
            h.versions.iter().zip(&v).filter(|(x, _)| x.sqlite_visible).map(|(_, v)| v.1.as_str()).collect();
        assert_eq!(visible, vec!["g1-30", "g2"]);
        let stale: Vec<&str> = v.iter().filter(|x| x.0 == "stale").map(|x| x.1.as_str()).collect();
        assert!(stale.len() >= 10 && stale.iter().all(|s| s.starts_with("g1-")), "{stale:?}");
        assert!(history(f, "kv", &KeySpec::Rowid(1)).is_err(), "rowid on a WITHOUT ROWID table");
        assert!(history(f, "nope", &KeySpec::Rowid(1)).is_err());
    });
}

/// A checkpoint that copied every frame but did not reset the WAL: the database file is the
/// state after the last commit, so the timeline starts there (placed by nBackfill, or by page
/// contents without the -shm) instead of diffing the commits against later pages.
#[test]
fn checkpointed_wal_places_the_starting_state_after_the_checkpoint() {
    let mut fx = Fixture::new(1024);
    fx.tx("CREATE TABLE c(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO c VALUES(1, 'a');");
    fx.checkpoint_truncate();
    fx.tx("UPDATE c SET v = 'b' WHERE id = 1");
    fx.tx("INSERT INTO c VALUES(2, 'x')");
    // Backfilled but not reset: the database file already holds the last commit's pages.
    fx.conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())).unwrap();
    let ev = fx.evidence("ev");
    let check = |by: &str| {
        with_forensics(&ev, |f, _| {
            let p = walinspect::forensics::checkpoint::place(f);
            assert_eq!((p.commit, p.by.as_str()), (2, by), "{p:?}");
            let t = Tracker::new(f, TrackOptions { rows: true, ..TrackOptions::default() });
            assert!(t.base_notes.iter().any(|n| n.code.as_str() == "snapshot.checkpointed"), "{:?}", t.base_notes);
            let mut seen = 0;
            let _ = t.run(|_, c| {
                assert!(c.tables.is_empty(), "no row changes claimed for a checkpointed commit");
                assert!(c.notes.iter().any(|n| n.code.as_str() == "commit.checkpointed"));
                seen += 1;
            });
            assert_eq!(seen, 2);
        })
    };
    with_forensics(&ev, |f, _| assert_eq!(f.backfill, Some(2)));
    check("shm");
    // Without the -shm, the same is found by comparing bytes.
    std::fs::remove_file(format!("{}-shm", ev.display())).unwrap();
    check("content");
}

/// Random workloads (several seeds and page sizes): every commit's row changes equal SQLite's,
/// and incremental ownership equals a full walk.
#[test]
fn random_workloads_match_sqlite_at_every_commit() {
    for (seed, ps) in [(1u64, 512u32), (2, 1024), (3, 4096)] {
        let mut rng = Rng(0x1234_5678 ^ seed);
        let mut fx = Fixture::new(ps);
        fx.tx("CREATE TABLE a(id INTEGER PRIMARY KEY, t TEXT, n REAL, b BLOB); CREATE INDEX a_t ON a(t);
               CREATE TABLE k(x TEXT, y INT, z, PRIMARY KEY(x, y)) WITHOUT ROWID;
               CREATE TABLE plain(p, q);");
        fx.checkpoint_truncate();
        fx.snap();
        for _ in 0..60 {
            let mut sql = String::new();
            for _ in 0..(1 + rng.below(6)) {
                let id = rng.below(400);
                let size = [0u64, 10, 100, 1500, 6000][rng.below(5) as usize];
                match rng.below(9) {
                    0..=2 => sql.push_str(&format!(
                        "INSERT OR REPLACE INTO a VALUES({id}, 't{}', {}.25, zeroblob({size}));",
                        rng.below(50),
                        rng.below(1000)
                    )),
                    3 => sql.push_str(&format!(
                        "UPDATE a SET t = t || 'u', b = zeroblob({size}) WHERE id BETWEEN {id} AND {};",
                        id + rng.below(20)
                    )),
                    4 => sql.push_str(&format!("DELETE FROM a WHERE id BETWEEN {id} AND {};", id + rng.below(30))),
                    5 => sql.push_str(&format!(
                        "INSERT OR REPLACE INTO k VALUES('x{}', {}, zeroblob({size}));",
                        rng.below(30),
                        rng.below(10)
                    )),
                    6 => sql.push_str(&format!("DELETE FROM k WHERE y = {};", rng.below(10))),
                    7 => sql.push_str(&format!("INSERT INTO plain VALUES({id}, 'q{id}');")),
                    _ => sql.push_str(&format!("DELETE FROM plain WHERE rowid % {} = 0;", 2 + rng.below(5))),
                }
            }
            // Make sure every transaction writes something.
            sql.push_str(&format!("INSERT INTO plain VALUES(-1, {});", rng.next() as i64));
            fx.commit(&sql);
        }
        let ev = fx.evidence("ev");
        assert_eq!(check_timeline_against_copies(&ev, &fx.copies), 60, "seed {seed}");
        with_forensics(&ev, |f, _| {
            let t = Tracker::new(f, TrackOptions::default());
            let _ = t.run(|tr, c| {
                let full = Ownership::build(&f.snapshot(c.spec), &mut Budget::default());
                assert_eq!(tr.own.pages, full.pages, "seed {seed} commit {:?}", c.number);
            });
        });
    }
}
