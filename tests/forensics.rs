//! Forensics on real SQLite states: the per-commit row changes equal what SQLite shows on
//! copies taken after each commit; page ownership agrees with SQLite's dbstat and
//! integrity_check; row history and salvage find versions only stale frames hold.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod forensics_util;

use std::collections::{BTreeMap, BTreeSet};

use forensics_util::*;
use walinspect::analysis::ownership::Ownership;
use walinspect::analysis::timeline::{
    CommitChanges, RowKey, TrackOptions, Tracker, key_values, row_values,
};
use walinspect::analysis::walk::Budget;
use walinspect::format::record::Value;

type Diff = BTreeMap<
    String,
    (BTreeMap<Vec<KeyVal>, Vec<Value>>, BTreeMap<Vec<KeyVal>, Vec<Value>>, BTreeSet<Vec<KeyVal>>),
>;

/// SQLite's changes between two states: table -> (inserted with values, updated with new
/// values, deleted keys). Tables that exist only before are left out (dropped).
fn sqlite_diff(prev: &Contents, cur: &Contents) -> Diff {
    let mut out = Diff::new();
    let empty = BTreeMap::new();
    for (t, rows) in cur {
        let before = prev.get(t).unwrap_or(&empty);
        let mut ins = BTreeMap::new();
        let mut upd = BTreeMap::new();
        let mut del = BTreeSet::new();
        for (k, v) in rows {
            match before.get(k) {
                None => {
                    ins.insert(k.clone(), v.clone());
                }
                // ALTER TABLE ADD COLUMN changes no record: compare the columns both states have.
                Some(o) if o[..o.len().min(v.len())] != v[..o.len().min(v.len())] => {
                    upd.insert(k.clone(), v.clone());
                }
                _ => {}
            }
        }
        for k in before.keys() {
            if !rows.contains_key(k) {
                del.insert(k.clone());
            }
        }
        if !ins.is_empty() || !upd.is_empty() || !del.is_empty() {
            out.insert(t.clone(), (ins, upd, del));
        }
    }
    out
}

fn our_diff(c: &CommitChanges, enc: walinspect::format::record::TextEncoding) -> Diff {
    let mut out = Diff::new();
    for t in &c.tables {
        let mut ins = BTreeMap::new();
        let mut upd = BTreeMap::new();
        let mut del = BTreeSet::new();
        for ch in &t.changes {
            let payload = ch.new.as_deref().or(ch.old.as_deref());
            let key: Vec<KeyVal> =
                key_values(&t.table, &ch.key, payload, enc).iter().map(keyval).collect();
            match (&ch.old, &ch.new) {
                (None, Some(n)) => {
                    ins.insert(key, row_values(&t.table, &ch.key, n, enc).0);
                }
                (Some(_), Some(n)) => {
                    upd.insert(key, row_values(&t.table, &ch.key, n, enc).0);
                }
                (Some(_), None) => {
                    del.insert(key);
                }
                _ => {}
            }
        }
        out.insert(t.name.clone(), (ins, upd, del));
    }
    out
}

/// Drop changes SQLite sees as "updated" with equal values (none) and normalise.
fn assert_same(commit: usize, ours: &Diff, theirs: &Diff) {
    let keys: BTreeSet<&String> = ours.keys().chain(theirs.keys()).collect();
    for t in keys {
        let empty = (BTreeMap::new(), BTreeMap::new(), BTreeSet::new());
        let o = ours.get(t).unwrap_or(&empty);
        let s = theirs.get(t).unwrap_or(&empty);
        assert_eq!(o.0, s.0, "commit {commit}, table {t}: inserted rows differ");
        assert_eq!(o.1, s.1, "commit {commit}, table {t}: updated rows differ");
        assert_eq!(o.2, s.2, "commit {commit}, table {t}: deleted keys differ");
    }
}

/// A blob literal of `n` bytes: a fixed pattern, then `seed` as the last byte.
fn blob(n: usize, seed: u8) -> String {
    let mut s = String::with_capacity(2 * n + 3);
    s.push_str("X'");
    for i in 0..n.saturating_sub(1) {
        s.push_str(&format!("{:02x}", (i % 251) as u8));
    }
    s.push_str(&format!("{seed:02x}'"));
    s
}

/// A workload covering inserts, updates, deletes, overflow rows, an index, a WITHOUT ROWID
/// table, ALTER TABLE ADD COLUMN, CREATE/DROP, a same-size overflow update and VACUUM.
fn build_workload(fx: &mut Fixture) {
    fx.tx("CREATE TABLE t1(id INTEGER PRIMARY KEY, name TEXT, score REAL, data BLOB);
           CREATE INDEX t1_name ON t1(name);
           CREATE TABLE w(k TEXT, n INT, v, PRIMARY KEY(k, n)) WITHOUT ROWID;
           CREATE TABLE t2(a, b);");
    let mut sql = String::new();
    for i in 1..=300 {
        sql.push_str(&format!("INSERT INTO t1 VALUES({i}, 'name{i}', {i}.5, X'{:04x}');", i));
        sql.push_str(&format!("INSERT INTO w VALUES('k{}', {i}, 'v{i}');", i % 17));
    }
    sql.push_str("INSERT INTO t2 VALUES(1, 'one'), (2, 'two');");
    fx.tx(&sql);
    fx.checkpoint_truncate();
    fx.snap(); // copies[0]: the starting state, all in the database file
    fx.commit("INSERT INTO t1 VALUES(1000, 'late', 2.0, NULL)");
    fx.commit("UPDATE t1 SET name = 'renamed' || id WHERE id % 10 = 0");
    fx.commit("DELETE FROM t1 WHERE id BETWEEN 50 AND 150");
    fx.commit(&format!("INSERT INTO t1 VALUES(2000, 'big', 1, {})", blob(5000, 1)));
    fx.commit(&format!("UPDATE t1 SET data = {} WHERE id = 2000", blob(5000, 2)));
    fx.commit("UPDATE w SET v = v || '!' WHERE n % 3 = 0");
    fx.commit("DELETE FROM w WHERE k = 'k3'");
    fx.commit("INSERT INTO w VALUES('new', 1, zeroblob(3000))");
    fx.commit("ALTER TABLE t2 ADD COLUMN c TEXT DEFAULT 'dflt'");
    fx.commit("INSERT INTO t2 VALUES(3, 'three', 'own')");
    fx.commit("UPDATE t2 SET b = 'TWO' WHERE a = 2");
    fx.commit("CREATE TABLE t3(x INTEGER PRIMARY KEY DESC, y REAL); INSERT INTO t3 VALUES(5, 1), (6, 2.5)");
    fx.commit("UPDATE t3 SET y = 7 WHERE x = 5; DELETE FROM t2 WHERE a = 1");
    fx.commit("DROP TABLE t2");
    let mut sql = String::new();
    for i in 3000..3400 {
        sql.push_str(&format!(
            "INSERT INTO t1 VALUES({i}, 'bulk{i}', {i}, {});",
            blob(40 + (i as usize % 700), (i % 250) as u8)
        ));
    }
    fx.commit(&sql);
    fx.commit("DELETE FROM t1 WHERE id % 2 = 1");
    fx.commit("CREATE TABLE u(a INTEGER PRIMARY KEY, b TEXT) ; INSERT INTO u SELECT id, name FROM t1 WHERE id < 200");
    fx.commit("DROP INDEX t1_name; UPDATE t1 SET score = -score WHERE id > 3300");
    fx.commit_raw("VACUUM");
    fx.commit("UPDATE t1 SET name = NULL WHERE id = 1000; DELETE FROM u");
}

#[test]
fn timeline_rows_equal_sqlite_at_every_commit() {
    let mut fx = Fixture::new(1024);
    build_workload(&mut fx);
    let ev = fx.evidence("ev");
    let before = fingerprint(&ev);
    let contents: Vec<Contents> = fx.copies.iter().map(|c| sqlite_contents(c)).collect();
    with_forensics(&ev, |f, a| {
        let commits = f.commits().len();
        assert_eq!(commits + 1, fx.copies.len(), "one WAL commit per transaction");
        assert!(a.wal.as_ref().unwrap().header_accepted());
        let t = Tracker::new(f, TrackOptions { rows: true, ..Default::default() });
        assert!(t.base_notes.is_empty(), "{:?}", t.base_notes);
        let mut n = 0;
        let t = t.run(|tr, c| {
            n += 1;
            let k = c.number.unwrap() as usize;
            let snap = f.snapshot(c.spec);
            let ours = our_diff(&c, snap.encoding);
            let theirs = sqlite_diff(&contents[k - 1], &contents[k]);
            assert_same(k, &ours, &theirs);
            assert!(
                c.notes.iter().all(|n| n.code != "page.claimed_twice"),
                "commit {k}: {:?}",
                c.notes
            );
            // Incremental ownership equals a full walk of the same snapshot.
            let full = Ownership::build(&snap, &mut Budget::default());
            assert_eq!(
                tr.own.pages, full.pages,
                "commit {k}: incremental ownership differs from a full walk"
            );
            assert!(full.orphans().is_empty(), "commit {k}: orphans {:?}", full.orphans());
        });
        assert_eq!(n, commits);
        drop(t);
    });
    assert_eq!(before, fingerprint(&ev), "evidence changed");
}

/// dbstat's view of a copy: page -> (object name, "overflow" or "btree"), plus freelist size.
fn dbstat(copy: &std::path::Path) -> (BTreeMap<u32, (String, &'static str)>, u32, u32, String) {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path().join("x.db");
    copy_set(copy, &t, false);
    let c = rusqlite::Connection::open(&t).unwrap();
    let mut st = c.prepare("SELECT name, pageno, pagetype FROM dbstat").unwrap();
    let rows = st
        .query_map([], |r| {
            let name: String = r.get(0)?;
            let p: u32 = r.get(1)?;
            let ty: String = r.get(2)?;
            Ok((
                p,
                (
                    if name == "sqlite_master" { "sqlite_schema".to_string() } else { name },
                    if ty == "overflow" { "overflow" } else { "btree" },
                ),
            ))
        })
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let free: u32 = c.query_row("PRAGMA freelist_count", [], |r| r.get(0)).unwrap();
    let pages: u32 = c.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
    let ic: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    (rows, free, pages, ic)
}

#[test]
fn ownership_agrees_with_dbstat_and_integrity_check() {
    let mut fx = Fixture::new(1024);
    build_workload(&mut fx);
    let ev = fx.evidence("ev");
    with_forensics(&ev, |f, _| {
        for k in [0u32, 3, 8, 14, 15, 16, 19, f.commits().len() as u32] {
            let spec = if k == 0 { f.base() } else { f.at_commit(k).unwrap() };
            let snap = f.snapshot(spec);
            let own = Ownership::build(&snap, &mut Budget::default());
            let (stat, free, pages, ic) = dbstat(&fx.copies[k as usize]);
            assert_eq!(ic, "ok");
            assert_eq!(spec.db_pages, pages, "commit {k}: size");
            assert!(own.notes.is_empty(), "commit {k}: {:?}", own.notes);
            assert!(own.orphans().is_empty(), "commit {k}: orphans");
            let mut ours = BTreeMap::new();
            let mut our_free = 0;
            for p in 1..=spec.db_pages {
                let (name, kind, role) = own.describe(p);
                match kind {
                    "freelist" => our_free += 1,
                    "table" | "index" | "schema" => {
                        ours.insert(
                            p,
                            (name, if role == "overflow" { "overflow" } else { "btree" }),
                        );
                    }
                    other => panic!("commit {k}: page {p} is {other}"),
                }
            }
            assert_eq!(our_free, free, "commit {k}: freelist pages");
            assert_eq!(ours, stat, "commit {k}: page owners differ from dbstat");
        }
    });
}
