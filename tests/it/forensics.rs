//! Forensics on real SQLite states: the per-commit row changes equal what SQLite shows on
//! copies taken after each commit; page ownership agrees with SQLite's dbstat and
//! integrity_check; row history and salvage find versions only stale frames hold.

use std::collections::BTreeMap;

use crate::support::forensics::*;
use walinspect::forensics::ownership::Ownership;
use walinspect::forensics::timeline::{RowKey, TrackOptions, Tracker};
use walinspect::forensics::walk::Budget;
use walinspect::format::record::Value;

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
            assert!(c.notes.is_empty(), "commit {k}: {:?}", c.notes);
            // Incremental ownership equals a full walk of the same snapshot.
            let full = Ownership::build(&snap, &mut Budget::default());
            assert_eq!(tr.own.pages, full.pages, "commit {k}: incremental ownership differs from a full walk");
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
                match kind.as_str() {
                    "freelist" => our_free += 1,
                    "table" | "index" | "schema" => {
                        ours.insert(
                            p,
                            (name, if role.map(|r| r.as_str()) == Some("overflow") { "overflow" } else { "btree" }),
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

fn text_of(v: &Value) -> String {
    match v {
        Value::Text(s) => s.clone(),
        other => format!("{other}"),
    }
}

/// Gen 1 updates row 7 forty times and inserts then deletes row 999; a passive checkpoint
/// backfills everything; gen 2 (after the WAL reset) writes three commits over the start of
/// the file, leaving most of gen 1's frames behind with the old salts.
fn build_generations() -> (Fixture, Vec<String>) {
    let mut fx = Fixture::new(1024);
    let mut sql = String::from("CREATE TABLE h(id INTEGER PRIMARY KEY, v TEXT, pad BLOB);");
    for i in 1..=50 {
        sql.push_str(&format!("INSERT INTO h VALUES({i}, 'init{i}', zeroblob(100));"));
    }
    fx.tx(&sql);
    fx.checkpoint_truncate();
    let mut gen1_values = Vec::new();
    for n in 1..=40 {
        let v = format!("gen1-{n}");
        fx.tx(&format!("UPDATE h SET v = '{v}' WHERE id = 7; UPDATE h SET v = v || 'x' WHERE id = {}", 20 + n % 10));
        gen1_values.push(v);
        if n == 30 {
            fx.tx("INSERT INTO h VALUES(999, 'ghost row', X'00ff')");
        }
        if n == 33 {
            fx.tx("DELETE FROM h WHERE id = 999");
        }
    }
    // Backfill everything; the next writer resets the WAL (new salts) and overwrites its start.
    let (busy, log, ckpt): (i64, i64, i64) =
        fx.conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap();
    assert_eq!((busy, log), (0, ckpt));
    fx.snap(); // copies[0]: the database file after the checkpoint
    fx.commit("UPDATE h SET v = 'gen2-a' WHERE id = 7");
    fx.commit("UPDATE h SET v = 'gen2-b' WHERE id = 7");
    fx.commit("UPDATE h SET v = 'gen2-c' WHERE id = 30");
    (fx, gen1_values)
}

#[test]
fn history_includes_versions_only_stale_frames_hold() {
    use walinspect::forensics::history::{KeySpec, history};
    let (fx, gen1) = build_generations();
    let ev = fx.evidence("ev");
    let before = fingerprint(&ev);
    let contents: Vec<Contents> = fx.copies.iter().map(|c| sqlite_contents(c)).collect();
    with_forensics(&ev, |f, a| {
        let w = a.wal.as_ref().unwrap();
        assert_eq!(f.commits().len(), 3);
        assert!(w.count(walinspect::analysis::wal::FrameState::Stale) > 50, "gen 1 frames remain");
        // The timeline of gen 2 matches SQLite.
        let (_, changes, _) =
            walinspect::forensics::timeline::timeline(f, TrackOptions { rows: true, ..Default::default() });
        for c in changes.iter().filter(|c| c.committed) {
            let k = c.number.unwrap() as usize;
            assert_same(k, &our_diff(c, f.snapshot(c.spec).encoding), &sqlite_diff(&contents[k - 1], &contents[k]));
        }
        let (h, key) = history(f, "h", &KeySpec::Rowid(7)).unwrap();
        assert_eq!(key, Some(RowKey::Rowid(7)));
        let key = key.unwrap();
        let vals: Vec<(String, String, bool)> = h
            .versions
            .iter()
            .map(|v| {
                (
                    v.source.kind.to_string(),
                    h.values(v, &key).map(|(x, _)| text_of(&x[1])).unwrap_or_default(),
                    v.sqlite_visible,
                )
            })
            .collect();
        // The file holds gen 1's last version; the commits add gen2-a and gen2-b.
        let visible: Vec<&str> = vals.iter().filter(|v| v.2).map(|v| v.1.as_str()).collect();
        assert_eq!(visible, vec!["gen1-40", "gen2-a", "gen2-b"], "{vals:?}");
        assert!(h.versions.iter().filter(|v| v.sqlite_visible).all(|v| v.source.kind.as_str() != "stale"));
        // Versions only stale frames hold: every one is a value SQLite showed during gen 1.
        let stale: Vec<&str> = vals.iter().filter(|v| v.0 == "stale").map(|v| v.1.as_str()).collect();
        assert!(stale.len() >= 20, "most of gen 1's versions survive: {stale:?}");
        for s in &stale {
            assert!(gen1.iter().any(|g| g == s), "{s} was never a gen-1 value");
        }
        for late in ["gen1-35", "gen1-38", "gen1-39"] {
            assert!(stale.contains(&late), "{late} missing from {stale:?}");
        }
        assert!(
            h.versions
                .iter()
                .filter(|v| v.source.kind.as_str() == "stale")
                .all(|v| v.source.generations_ago == Some(1) && !v.sqlite_visible)
        );
        // Only the newest version is current.
        assert_eq!(h.versions.iter().filter(|v| v.current).count(), 1);
        assert_eq!(
            h.values(h.versions.iter().find(|v| v.current).unwrap(), &key).map(|(x, _)| text_of(&x[1])),
            Some("gen2-b".into())
        );

        // Salvage: the ghost row exists only in stale frames; row 7's gen-1 versions too.
        let s = walinspect::forensics::salvage::salvage(f);
        let ghost: Vec<_> = s.rows.iter().filter(|r| r.key == Some(RowKey::Rowid(999))).collect();
        assert!(!ghost.is_empty(), "ghost row salvaged");
        assert!(ghost.iter().all(|r| r.attribution.table.as_deref() == Some("h") && !r.key_current));
        assert!(s.rows.iter().filter(|r| r.key == Some(RowKey::Rowid(7))).count() >= 20);
        assert!(s.rows.iter().filter(|r| r.key == Some(RowKey::Rowid(7))).all(|r| r.key_current));
        let g = s.groups.iter().find(|g| g.kind.name() == "stale").unwrap();
        assert_eq!(g.generations_ago, Some(1));
        assert!(g.broken_links.is_empty(), "gen 1's surviving frames chain: {:?}", g.broken_links);
        assert!(!g.commit_frames.is_empty());
    });
    assert_eq!(before, fingerprint(&ev), "evidence changed");
}

#[test]
fn flipped_byte_timeline_stops_where_sqlite_does_and_salvage_finds_the_rest() {
    let mut fx = Fixture::new(1024);
    fx.tx("CREATE TABLE f(id INTEGER PRIMARY KEY, v TEXT)");
    fx.checkpoint_truncate();
    fx.snap();
    for n in 1..=10 {
        fx.commit(&format!(
            "INSERT INTO f VALUES({n}, 'row{n}'); INSERT INTO f VALUES({}, '{}')",
            100 + n,
            "z".repeat(700)
        ));
    }
    let ev = fx.evidence("ev");
    // Flip one byte in the page data of the first frame of commit 6.
    let first6 = with_forensics(&ev, |f, _| f.commits()[5].first_frame);
    let wal = format!("{}-wal", ev.display());
    let mut bytes = std::fs::read(&wal).unwrap();
    let off = 32 + (first6 as usize - 1) * (1024 + 24) + 24 + 600;
    bytes[off] ^= 0x40;
    std::fs::write(&wal, &bytes).unwrap();
    let before = fingerprint(&ev);
    // SQLite (on a copy) sees the first five commits.
    let sqlite_now = sqlite_contents(&ev);
    assert_eq!(sqlite_now["f"].len(), 10);
    let contents: Vec<Contents> = fx.copies.iter().map(|c| sqlite_contents(c)).collect();
    with_forensics(&ev, |f, a| {
        assert_eq!(a.wal.as_ref().unwrap().first_invalid.map(|x| x.frame), Some(first6));
        let (_, changes, _) =
            walinspect::forensics::timeline::timeline(f, TrackOptions { rows: true, ..Default::default() });
        assert_eq!(changes.len(), 5);
        for c in &changes {
            let k = c.number.unwrap() as usize;
            assert_same(k, &our_diff(c, f.snapshot(c.spec).encoding), &sqlite_diff(&contents[k - 1], &contents[k]));
        }
        let s = walinspect::forensics::salvage::salvage(f);
        let g = s.groups.iter().find(|g| g.kind.name() == "after_break").unwrap();
        assert_eq!(g.frames.first(), Some(&first6));
        assert!(g.broken_links.is_empty(), "only the damaged frame breaks its link: {:?}", g.broken_links);
        for n in 7..=10 {
            assert!(
                s.rows.iter().any(|r| r.key == Some(RowKey::Rowid(n))
                    && s.groups[r.group].kind.name() == "after_break"
                    && !r.key_current),
                "row {n} salvaged"
            );
        }
    });
    assert_eq!(before, fingerprint(&ev), "evidence changed");
}
