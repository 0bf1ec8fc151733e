//! The deep check against SQLite itself: a corpus of real databases (tables with indexes,
//! WITHOUT ROWID, overflow values, freelists, auto-vacuum, page sizes 512..65536, rollback and
//! WAL mode) damaged deliberately — a byte of a page header, a cell pointer, a child pointer,
//! a zeroed page, an overflow pointer, a freelist trunk, in the database file or inside a WAL
//! frame with the checksum chain recomputed — and for each state the sqlite3 3.40 shell's
//! `PRAGMA integrity_check` on a copy. walinspect's deep check must print exactly SQLite's
//! Phase-1 lines (so it names exactly the pages SQLite names), nothing on healthy states, and
//! the evidence must be unchanged.

use std::path::{Path, PathBuf};
use std::process::Command;

use rusqlite::Connection;
use serde_json::Value;

use crate::support::common::{Unchanged, cksum, run, sibling, tempdir};

/// The sqlite3 shell under comparison (the reference is 3.40.1).
fn sqlite3() -> Option<&'static str> {
    let ok = Command::new("sqlite3").arg("-version").output().is_ok_and(|o| o.status.success());
    ok.then_some("sqlite3")
}

/// What `PRAGMA integrity_check` says on a copy: Phase-1 lines (None: it could not open or
/// prepare), and whether it reported anything at all.
#[derive(Debug)]
pub struct Verdict {
    pub phase1: Option<Vec<String>>,
    pub ok: bool,
    /// Every line the shell printed: standard output, then its error line (standard error)
    /// when the statement stopped.
    pub all: Vec<String>,
}

const PHASE2: &[&str] = &[
    "row ",
    "wrong # of entries in index",
    "non-unique entry in index",
    "NULL value in",
    "CHECK constraint failed",
    "TEXT value in",
    "NUMERIC value in",
    // Phase 2's cursor hit the corruption: the 3.40 shell prints the error as a row.
    "database disk image is malformed",
];

pub fn integrity_check(db: &Path) -> Verdict {
    let dir = tempdir();
    let copy = dir.path().join("copy.db");
    for s in ["", "-wal"] {
        let src = sibling(db, s);
        if src.exists() {
            std::fs::copy(&src, sibling(&copy, s)).unwrap();
        }
    }
    let out = Command::new(sqlite3().unwrap()).arg(&copy).arg("PRAGMA integrity_check;").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let mut all: Vec<String> = stdout.lines().map(str::to_string).collect();
    all.extend(stderr.lines().map(str::to_string));
    if stdout.trim().is_empty() {
        return Verdict { phase1: None, ok: false, all };
    }
    let lines: Vec<String> = stdout
        .lines()
        .filter(|l| *l != "*** in database main ***" && *l != "ok")
        .filter(|l| !(PHASE2.iter().any(|p| l.starts_with(p)) || l.starts_with("non-") && l.contains(" value in ")))
        .map(str::to_string)
        .collect();
    let ok = stdout.trim() == "ok" && stderr.trim().is_empty();
    Verdict { phase1: Some(lines), ok, all }
}

/// walinspect's `check --deep=full`: the lines it says the sqlite3 shell prints.
pub fn deep_full(db: &Path) -> Vec<String> {
    let guard = Unchanged::record(db);
    let r = run(&["check", db.to_str().unwrap(), "--deep=full", "--json"]);
    guard.assert();
    assert!(r.code == 0 || r.code == 1, "{}: {}", r.code, r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["deep"]["level"], "full");
    v["deep"]["sqlite_lines"].as_array().unwrap().iter().map(|l| l.as_str().unwrap().to_string()).collect()
}

/// walinspect's deep check: the JSON `deep` section.
pub fn deep(db: &Path, extra: &[&str]) -> Value {
    let guard = Unchanged::record(db);
    let mut args = vec!["check", db.to_str().unwrap(), "--deep", "--json"];
    args.extend_from_slice(extra);
    let r = run(&args);
    guard.assert();
    assert!(r.code == 0 || r.code == 1, "{}: {}", r.code, r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    v["deep"].clone()
}

pub fn deep_lines(d: &Value) -> Option<Vec<String>> {
    if !d["unopenable"].is_null() {
        return None;
    }
    Some(d["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap().to_string()).collect())
}

// ---- the corpus ------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
pub struct Config {
    pub page_size: u32,
    pub auto_vacuum: bool,
    pub wal: bool,
}

/// Build a database with a table + two indexes, a WITHOUT ROWID table with overflow values,
/// deletions (a freelist), and in WAL mode later commits in the WAL. Returns the evidence path
/// (a copy of the files taken while the writer was open) and the writer.
pub fn build(dir: &Path, cfg: Config) -> PathBuf {
    let live = dir.join("live.db");
    let c = Connection::open(&live).unwrap();
    c.execute_batch(&format!(
        "PRAGMA page_size={}; PRAGMA auto_vacuum={}; PRAGMA secure_delete=OFF;",
        cfg.page_size,
        if cfg.auto_vacuum { "FULL" } else { "NONE" }
    ))
    .unwrap();
    let rows = if cfg.page_size >= 8192 { 3000 * (cfg.page_size / 8192).min(3) } else { 1500 };
    let blob = cfg.page_size as usize * 2 + 100;
    c.execute_batch(&format!(
        "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c INTEGER);
         CREATE INDEX ic ON t(c);
         CREATE INDEX ib ON t(b);
         CREATE TABLE w(k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID;
         CREATE TABLE big(id INTEGER PRIMARY KEY, v BLOB);
         BEGIN;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<{rows})
           INSERT INTO t SELECT i, printf('%.*c', 10 + i % 40, 'x') || i, i * 7 % 1000 FROM n;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<12)
           INSERT INTO w SELECT printf('key%04d', i), zeroblob({blob}) FROM n;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<6)
           INSERT INTO big SELECT i, randomblob({blob}) FROM n;
         COMMIT;
         DELETE FROM t WHERE a % 3 = 0;
         DELETE FROM big WHERE id % 2 = 0;"
    ))
    .unwrap();
    if cfg.wal {
        c.execute_batch("PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
        c.execute_batch(&format!(
            "UPDATE t SET b = b || 'u' WHERE a % 7 = 1;
             INSERT INTO w VALUES ('zz1', zeroblob({blob}));
             DELETE FROM t WHERE a % 11 = 0;
             UPDATE w SET v = randomblob({blob}) WHERE k = 'key0003';"
        ))
        .unwrap();
    }
    let ev = dir.join("evidence.db");
    for s in ["", "-wal", "-shm"] {
        let src = sibling(&live, s);
        if src.exists() {
            std::fs::copy(&src, sibling(&ev, s)).unwrap();
        }
    }
    drop(c);
    ev
}

/// Where the latest image of a page is: (file, byte offset of the page, WAL frame number).
#[derive(Clone, Debug)]
pub struct Image {
    pub file: PathBuf,
    pub offset: usize,
    pub frame: Option<usize>,
}

pub fn page_size_of(db: &Path) -> usize {
    let b = std::fs::read(db).unwrap();
    match u16::from_be_bytes([b[16], b[17]]) {
        1 => 65536,
        n => n as usize,
    }
}

/// The image of `page` SQLite reads: the newest WAL frame holding it, else the file.
pub fn latest_image(db: &Path, page: u32) -> Image {
    let ps = page_size_of(db);
    let wal = sibling(db, "-wal");
    if let Ok(w) = std::fs::read(&wal) {
        let mut best = None;
        let mut off = 32;
        let mut i = 1;
        while off + 24 + ps <= w.len() {
            if u32::from_be_bytes(w[off..off + 4].try_into().unwrap()) == page {
                best = Some((off + 24, i));
            }
            off += 24 + ps;
            i += 1;
        }
        if let Some((o, i)) = best {
            return Image { file: wal, offset: o, frame: Some(i) };
        }
    }
    Image { file: db.to_path_buf(), offset: (page as usize - 1) * ps, frame: None }
}

pub fn read_image(db: &Path, page: u32) -> Vec<u8> {
    let im = latest_image(db, page);
    let ps = page_size_of(db);
    std::fs::read(&im.file).unwrap()[im.offset..im.offset + ps].to_vec()
}

/// Change the latest image of `page`; a WAL frame gets its checksum chain recomputed from
/// itself to the end so SQLite still reads it.
pub fn damage(db: &Path, page: u32, f: impl FnOnce(&mut [u8])) -> Image {
    let im = latest_image(db, page);
    let ps = page_size_of(db);
    let mut b = std::fs::read(&im.file).unwrap();
    f(&mut b[im.offset..im.offset + ps]);
    if let Some(frame) = im.frame {
        rechain(&mut b, frame);
    }
    std::fs::write(&im.file, b).unwrap();
    im
}

/// Recompute the checksums of frames `from..` of a WAL image.
pub fn rechain(w: &mut [u8], from: usize) {
    let big = u32::from_be_bytes(w[0..4].try_into().unwrap()) & 1 == 1;
    let ps = u32::from_be_bytes(w[8..12].try_into().unwrap()) as usize;
    let word = |b: &[u8], o: usize| u32::from_be_bytes(b[o..o + 4].try_into().unwrap());
    let mut off = 32 + (from - 1) * (ps + 24);
    let mut seed =
        if from == 1 { [word(w, 24), word(w, 28)] } else { [word(w, off - 24 - ps + 16), word(w, off - 24 - ps + 20)] };
    while off + 24 + ps <= w.len() {
        let mut s = cksum(big, &w[off..off + 8], seed);
        s = cksum(big, &w[off + 24..off + 24 + ps], s);
        w[off + 16..off + 20].copy_from_slice(&s[0].to_be_bytes());
        w[off + 20..off + 24].copy_from_slice(&s[1].to_be_bytes());
        seed = s;
        off += 24 + ps;
    }
}

/// Page roles found by decoding the latest images (test-side, independent of the checker).
#[derive(Default, Debug)]
pub struct Roles {
    pub table_leaves: Vec<u32>,
    pub table_interiors: Vec<u32>,
    pub index_leaves: Vec<u32>,
    /// (leaf page, first overflow page) of a cell that spills.
    pub overflow: Vec<(u32, u32)>,
    pub freelist_trunk: u32,
    pub n_page: u32,
}

pub fn roles(db: &Path) -> Roles {
    let ps = page_size_of(db);
    let p1 = read_image(db, 1);
    let n_page = u32::from_be_bytes(p1[28..32].try_into().unwrap());
    let mut r =
        Roles { freelist_trunk: u32::from_be_bytes(p1[32..36].try_into().unwrap()), n_page, ..Roles::default() };
    for p in 2..=n_page {
        let d = read_image(db, p);
        let ncell = u16::from_be_bytes([d[3], d[4]]) as usize;
        match d[0] {
            13 if ncell >= 3 => r.table_leaves.push(p),
            5 if ncell >= 2 => r.table_interiors.push(p),
            10 if ncell >= 2 => {
                r.index_leaves.push(p);
                // First cell: payload varint (1-2 bytes here), local part, then the overflow page.
                let pc = u16::from_be_bytes([d[8], d[9]]) as usize;
                let (len, n) = if d[pc] < 0x80 {
                    (d[pc] as u64, 1)
                } else if d[pc + 1] < 0x80 {
                    ((((d[pc] & 0x7f) as u64) << 7) | d[pc + 1] as u64, 2)
                } else {
                    (((((d[pc] & 0x7f) as u64) << 14) | (((d[pc + 1] & 0x7f) as u64) << 7) | d[pc + 2] as u64), 3)
                };
                let local = walinspect::format::btree::local_payload_len(
                    walinspect::format::db_header::PageType::IndexLeaf,
                    len,
                    ps as u32,
                ) as usize;
                if (local as u64) < len {
                    let o = pc + n + local;
                    r.overflow.push((p, u32::from_be_bytes(d[o..o + 4].try_into().unwrap())));
                }
            }
            _ => {}
        }
    }
    r
}

/// A damage applied to the evidence.
pub type DamageFn = fn(&Path, &Roles);
/// One damage, by name.
pub type Damage = (&'static str, DamageFn);

fn set_u16(d: &mut [u8], o: usize, v: u16) {
    d[o..o + 2].copy_from_slice(&v.to_be_bytes());
}
fn set_u32(d: &mut [u8], o: usize, v: u32) {
    d[o..o + 4].copy_from_slice(&v.to_be_bytes());
}

pub const DAMAGES: &[Damage] = &[
    ("leaf type byte", |db, r| {
        damage(db, r.table_leaves[r.table_leaves.len() / 2], |d| d[0] = 0x07);
    }),
    ("leaf cell count", |db, r| {
        damage(db, r.table_leaves[1], |d| set_u16(d, 3, 0x7fff));
    }),
    ("cell pointer low", |db, r| {
        damage(db, r.table_leaves[0], |d| set_u16(d, 10, 5));
    }),
    ("cell pointer past end", |db, r| {
        let ps = page_size_of(db) as u16;
        damage(db, r.table_leaves[2], |d| set_u16(d, 8, ps.wrapping_sub(6)));
    }),
    ("two pointers one cell", |db, r| {
        damage(db, r.table_leaves[3], |d| {
            let a = u16::from_be_bytes([d[8], d[9]]);
            set_u16(d, 10, a);
        });
    }),
    ("fragment count", |db, r| {
        damage(db, r.index_leaves[0], |d| d[7] = d[7].wrapping_add(5));
    }),
    ("first freeblock", |db, r| {
        let at = (page_size_of(db) - 3) as u16;
        damage(db, r.table_leaves[4], |d| set_u16(d, 1, at));
    }),
    ("child pointer out of range", |db, r| {
        damage(db, r.table_interiors[0], |d| {
            let pc = u16::from_be_bytes([d[12], d[13]]) as usize;
            set_u32(d, pc, 99_999);
        });
    }),
    ("child pointer duplicated", |db, r| {
        damage(db, r.table_interiors[0], |d| {
            let a = u16::from_be_bytes([d[12], d[13]]) as usize;
            let b = u16::from_be_bytes([d[14], d[15]]) as usize;
            let c = u32::from_be_bytes(d[b..b + 4].try_into().unwrap());
            set_u32(d, a, c);
        });
    }),
    ("right child zero", |db, r| {
        damage(db, r.table_interiors[0], |d| set_u32(d, 8, 0));
    }),
    ("zeroed leaf", |db, r| {
        damage(db, r.table_leaves[r.table_leaves.len() - 1], |d| d.fill(0));
    }),
    ("overflow next zero", |db, r| {
        damage(db, r.overflow[0].1, |d| set_u32(d, 0, 0));
    }),
    ("overflow head outside", |db, r| {
        let (leaf, _) = r.overflow[0];
        let n = r.n_page;
        damage(db, leaf, |d| {
            let pc = u16::from_be_bytes([d[8], d[9]]) as usize;
            // The overflow pointer is the cell's last 4 bytes: find it by value.
            let head = r.overflow[0].1.to_be_bytes();
            let at = (pc..=d.len() - 4)
                .find(|&i| d[i..i + 4] == head)
                .unwrap_or_else(|| panic!("page {leaf} pc {pc} head {:?} {:?}", head, &d[pc..]));
            set_u32(d, at, n + 50);
        });
    }),
    ("freelist trunk outside", |db, r| {
        let n = r.n_page;
        damage(db, r.freelist_trunk, |d| set_u32(d, 0, n + 100));
    }),
    ("freelist count", |db, _| {
        damage(db, 1, |d| {
            let v = u32::from_be_bytes(d[36..40].try_into().unwrap());
            set_u32(d, 36, v + 1);
        });
    }),
];

pub const CONFIGS: &[Config] = &[
    Config { page_size: 512, auto_vacuum: false, wal: false },
    Config { page_size: 1024, auto_vacuum: true, wal: true },
    Config { page_size: 4096, auto_vacuum: false, wal: true },
    Config { page_size: 8192, auto_vacuum: true, wal: false },
    Config { page_size: 65536, auto_vacuum: false, wal: true },
];

/// One row of the agreement table.
#[derive(Debug)]
pub struct Row {
    pub config: Config,
    pub damage: &'static str,
    pub in_wal: bool,
    pub sqlite_ok: bool,
    pub agree: bool,
    pub sqlite: Option<Vec<String>>,
    pub ours: Option<Vec<String>>,
    /// `--deep=full` prints every line the shell prints (None: the state cannot be opened).
    pub agree_full: Option<bool>,
    /// `extract --heal`: None when not tried (healthy), else (exit status, SQLite's verdict on
    /// the output is `ok`).
    pub heal: Option<(i32, bool)>,
}

/// `extract --heal` of a damaged state, and SQLite's full integrity_check of the output.
pub fn heal(ev: &Path) -> (i32, bool) {
    let dir = tempdir();
    let out = dir.path().join("healed.db");
    let rep = dir.path().join("healed.json");
    let guard = Unchanged::record(ev);
    let r = run(&[
        "extract",
        ev.to_str().unwrap(),
        "--heal",
        "-o",
        out.to_str().unwrap(),
        "--report",
        rep.to_str().unwrap(),
    ]);
    guard.assert();
    if r.code == 2 {
        assert!(r.stderr.contains("cannot heal exactly"), "{}", r.stderr);
        assert!(!out.exists());
        return (2, false);
    }
    let report: Value = serde_json::from_slice(&std::fs::read(&rep).unwrap()).unwrap();
    assert!(report["heal"]["missing"].as_array().unwrap().is_empty());
    let v = integrity_check(&out);
    if !v.ok && std::env::var_os("DEEP_DEBUG").is_some() {
        eprintln!("HEAL {}: {}\n{}\nsqlite: {:?}", ev.display(), r.stderr, report["heal"], v.phase1);
    }
    (r.code, v.ok)
}

/// Build and compare every state of the corpus.
pub fn corpus() -> Vec<Row> {
    let mut rows = Vec::new();
    for &cfg in CONFIGS {
        let base_dir = tempdir();
        let base = build(base_dir.path(), cfg);
        let mut states: Vec<(&'static str, Option<DamageFn>)> = vec![("healthy", None)];
        states.extend(DAMAGES.iter().map(|(n, f)| (*n, Some(*f))));
        for (name, f) in states {
            let dir = tempdir();
            let ev = dir.path().join("e.db");
            for s in ["", "-wal", "-shm"] {
                if sibling(&base, s).exists() {
                    std::fs::copy(sibling(&base, s), sibling(&ev, s)).unwrap();
                }
            }
            let r = roles(&ev);
            let applicable = match name {
                "freelist trunk outside" => r.freelist_trunk != 0,
                "overflow next zero" | "overflow head outside" => !r.overflow.is_empty(),
                "child pointer out of range" | "child pointer duplicated" | "right child zero" => {
                    !r.table_interiors.is_empty()
                }
                _ => r.table_leaves.len() >= 5 && !r.index_leaves.is_empty(),
            };
            if !applicable {
                continue;
            }
            let mut in_wal = false;
            if let Some(f) = f {
                let wal_before = std::fs::read(sibling(&ev, "-wal")).ok();
                f(&ev, &r);
                in_wal = wal_before != std::fs::read(sibling(&ev, "-wal")).ok();
            }
            let theirs = integrity_check(&ev);
            let d = deep(&ev, &[]);
            let ours = deep_lines(&d);
            let healed = (f.is_some() && !theirs.ok).then(|| heal(&ev));
            let agree_full = theirs.phase1.is_some().then(|| {
                let full = deep_full(&ev);
                if full != theirs.all {
                    eprintln!("full level, {cfg:?} {name}:\n  sqlite: {:?}\n  ours:   {full:?}", theirs.all);
                }
                full == theirs.all
            });
            rows.push(Row {
                config: cfg,
                damage: name,
                in_wal,
                sqlite_ok: theirs.ok,
                agree: ours == theirs.phase1,
                agree_full,
                sqlite: theirs.phase1,
                ours,
                heal: healed,
            });
        }
    }
    rows
}

#[test]
fn deep_check_names_exactly_the_pages_sqlite_names() {
    if sqlite3().is_none() {
        eprintln!("no sqlite3 shell: skipped");
        return;
    }
    let rows = corpus();
    let mut table = String::from(
        "| page size | auto-vacuum | journal | damage | where | SQLite | walinspect | heal | --deep=full |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in &rows {
        table.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.config.page_size,
            if r.config.auto_vacuum { "full" } else { "none" },
            if r.config.wal { "wal" } else { "rollback" },
            r.damage,
            if r.damage == "healthy" {
                "-"
            } else if r.in_wal {
                "WAL frame"
            } else {
                "db file"
            },
            if r.sqlite_ok { "ok".to_string() } else { format!("{} lines", r.sqlite.as_ref().map_or(0, Vec::len)) },
            if r.agree { "same" } else { "DIFFERENT" },
            match r.heal {
                None => "-",
                Some((2, _)) => "refused: no intact image",
                Some((_, true)) => "output ok",
                Some((_, false)) => "OUTPUT DAMAGED",
            },
            match r.agree_full {
                None => "-",
                Some(true) => "same",
                Some(false) => "DIFFERENT",
            }
        ));
    }
    eprintln!("{table}");
    let bad: Vec<&Row> = rows.iter().filter(|r| !r.agree).collect();
    for r in &bad {
        eprintln!("{:?} {}:\n  sqlite: {:?}\n  ours:   {:?}", r.config, r.damage, r.sqlite, r.ours);
    }
    assert!(bad.is_empty(), "{} of {} states disagree", bad.len(), rows.len());
    // The full level prints every line the shell prints (Phase 2's rows, and its error line
    // where the table scan stops on the damage) on every state SQLite can open.
    let full_bad = rows.iter().filter(|r| r.agree_full == Some(false)).count();
    assert_eq!(full_bad, 0, "--deep=full differs from integrity_check on {full_bad} states");
    assert!(rows.iter().filter(|r| r.agree_full.is_some()).count() * 10 >= rows.len() * 9);
    assert!(rows.iter().filter(|r| r.damage == "healthy").all(|r| r.sqlite_ok));
    // Damage to a page SQLite does not use (a freed leaf) leaves it `ok`; most damage shows.
    assert!(rows.iter().filter(|r| r.damage != "healthy" && !r.sqlite_ok).count() * 10 >= rows.len() * 8);
    assert!(rows.iter().any(|r| r.in_wal), "some damage lands in WAL frames");
    // Every heal that found an intact image for every damaged page gives a database that
    // passes SQLite's integrity_check; damage inside WAL frames always has one.
    for r in &rows {
        if let Some((code, ok)) = r.heal
            && std::env::var_os("DEEP_DEBUG").is_none()
        {
            assert!(code == 2 || ok, "{:?} {}: the healed output fails integrity_check", r.config, r.damage);
        }
    }
    // Damage to a b-tree page inside a WAL frame heals when the database is not auto-vacuum
    // (an earlier image exists and the commits it undoes can be undone whole). Under
    // auto-vacuum a commit that moved pages cannot be undone in place, and freelist trunks are
    // not b-tree pages: those heals are refused, never written damaged.
    let btree_damage = |d: &str| !d.starts_with("freelist");
    assert!(
        rows.iter()
            .filter(|r| r.in_wal && !r.sqlite_ok && !r.config.auto_vacuum && btree_damage(r.damage))
            .all(|r| matches!(r.heal, Some((0, true))))
    );
    assert!(rows.iter().filter(|r| matches!(r.heal, Some((0, true)))).count() >= 15);
}

/// The TUI: `D` asks the loader for the deep check, and its findings appear in Findings with
/// the damaged page's provenance.
#[test]
fn tui_key_runs_the_deep_check_and_shows_provenance() {
    use std::sync::Arc;
    use walinspect::analysis::ReadAt;
    use walinspect::tui::app::App;
    use walinspect::tui::event::{Event, Request};
    use walinspect::tui::watcher::Watcher;

    let base_dir = tempdir();
    let ev = build(base_dir.path(), Config { page_size: 4096, auto_vacuum: false, wal: true });
    let r = roles(&ev);
    let leaf = *r.table_leaves.iter().find(|&&p| latest_image(&ev, p).frame.is_some()).unwrap();
    damage(&ev, leaf, |d| d[0] = 0x07);

    let mut w = Watcher::new(walinspect::source::Paths::resolve(&ev));
    let s = Arc::new(w.poll(&mut |_, _| {}).unwrap());
    let mut app = App::new("e.db", 250);
    app.handle(Event::Snapshot(s.clone()));
    app.handle(Event::Key(crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char('D'),
        crossterm::event::KeyModifiers::NONE,
    )));
    assert!(app.requests.contains(&Request::Deep));
    assert!(app.deep_running);

    // What the loader's worker computes for that request.
    let db = std::fs::File::open(&ev).unwrap();
    let wal = std::fs::File::open(sibling(&ev, "-wal")).unwrap();
    let len = |f: &std::fs::File| f.metadata().unwrap().len();
    let d = walinspect::tui::forensic::deep_check(
        &s.analysis,
        (Some((&db as &dyn ReadAt, len(&db))), Some((&wal as &dyn ReadAt, len(&wal)))),
        s.seq,
    );
    app.handle(Event::Deep(Arc::new(d)));
    assert!(!app.deep_running);
    let all = app.all_findings();
    let pos = all.iter().position(|f| f.code.as_str() == "btree.bad_header").unwrap();
    assert_eq!(all[pos].page, Some(leaf));
    app.findings_selected = pos;
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 30)).unwrap();
    t.draw(|f| walinspect::tui::views::render(&app, f.area(), f.buffer_mut())).unwrap();
    let buf = t.backend().buffer();
    let text: String =
        (0..30).map(|y| (0..160).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>() + "\n").collect();
    assert!(text.contains(&format!("Page {leaf}: btreeInitPage() returns error code 11")), "{text}");
    assert!(text.contains("newest intact earlier image"), "{text}");
    assert!(text.contains("deep check: 1 problem"), "{text}");
}

// ---- the full level: index damage --------------------------------------------------------

/// A database whose indexes cover what integrity_check's Phase 2 checks: a rowid table with
/// an index, a two-column NOCASE DESC index and a UNIQUE constraint (an automatic index); a
/// WITHOUT ROWID table with a NOT NULL column and a UNIQUE index on it. In WAL mode a later
/// commit rewrites index pages into the WAL.
fn build_indexed(dir: &Path, page_size: u32, wal: bool) -> PathBuf {
    let live = dir.join("live.db");
    let c = Connection::open(&live).unwrap();
    c.execute_batch(&format!(
        "PRAGMA page_size={page_size}; PRAGMA secure_delete=OFF;
         CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c INTEGER, d TEXT UNIQUE);
         CREATE INDEX ic ON t(c);
         CREATE INDEX ib ON t(b COLLATE NOCASE DESC, c);
         CREATE TABLE w(k TEXT PRIMARY KEY, v INT NOT NULL, x) WITHOUT ROWID;
         CREATE UNIQUE INDEX wv ON w(v);
         BEGIN;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<2000)
           INSERT INTO t SELECT i, printf('%.*c', i % 30, 'x') || i, i * 7 % 1000, printf('d%05d', i) FROM n;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<800)
           INSERT INTO w SELECT printf('k%05d', i), i * 3, printf('%.*c', i % 50, 'y') FROM n;
         COMMIT;"
    ))
    .unwrap();
    if wal {
        c.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;
             UPDATE t SET c = c + 1 WHERE a % 5 = 0; UPDATE w SET x = x || 'z' WHERE v % 4 = 0;",
        )
        .unwrap();
    }
    let ev = dir.join("evidence.db");
    for s in ["", "-wal"] {
        if sibling(&live, s).exists() {
            std::fs::copy(sibling(&live, s), sibling(&ev, s)).unwrap();
        }
    }
    drop(c);
    ev
}

/// Root page of a schema object, read from a copy by SQLite.
fn root_page(db: &Path, name: &str) -> u32 {
    let dir = tempdir();
    let copy = dir.path().join("copy.db");
    for s in ["", "-wal"] {
        if sibling(db, s).exists() {
            std::fs::copy(sibling(db, s), sibling(&copy, s)).unwrap();
        }
    }
    let c = Connection::open(&copy).unwrap();
    c.query_row("SELECT rootpage FROM sqlite_master WHERE name = ?1", [name], |r| r.get(0)).unwrap()
}

/// Pages of a b-tree (latest images) with their type byte, depth first.
fn tree(db: &Path, root: u32) -> Vec<(u32, u8)> {
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(p) = stack.pop() {
        let d = read_image(db, p);
        out.push((p, d[0]));
        if d[0] == 2 || d[0] == 5 {
            let n = u16::from_be_bytes([d[3], d[4]]) as usize;
            for i in 0..n {
                let pc = u16::from_be_bytes([d[12 + 2 * i], d[13 + 2 * i]]) as usize;
                stack.push(u32::from_be_bytes(d[pc..pc + 4].try_into().unwrap()));
            }
            stack.push(u32::from_be_bytes(d[8..12].try_into().unwrap()));
        }
    }
    out
}

/// The `nth` leaf of an index (or WITHOUT ROWID table) with at least 3 cells, preferring one
/// whose latest image is in the WAL.
fn index_leaf(db: &Path, name: &str, nth: usize) -> u32 {
    let leaves: Vec<u32> = tree(db, root_page(db, name))
        .into_iter()
        .filter(|&(p, t)| t == 10 && u16::from_be_bytes(read_image(db, p)[3..5].try_into().unwrap()) >= 3)
        .map(|(p, _)| p)
        .collect();
    let in_wal: Vec<u32> = leaves.iter().copied().filter(|&p| latest_image(db, p).frame.is_some()).collect();
    let pick = if in_wal.len() > nth { in_wal } else { leaves };
    pick[nth.min(pick.len() - 1)]
}

fn varint_at(d: &[u8], i: usize) -> (u64, usize) {
    let mut v = 0u64;
    for k in 0..9 {
        let c = d[i + k];
        if k == 8 {
            return ((v << 8) | c as u64, 9);
        }
        v = (v << 7) | (c & 0x7f) as u64;
        if c < 0x80 {
            return (v, k + 1);
        }
    }
    unreachable!()
}

fn cell_ptr(d: &[u8], i: usize) -> usize {
    u16::from_be_bytes([d[8 + 2 * i], d[9 + 2 * i]]) as usize
}

/// Offset of the first column body of the index cell at `pc` (local payload).
fn first_body(d: &[u8], pc: usize) -> usize {
    let (_, n) = varint_at(d, pc);
    let (hdr, _) = varint_at(d, pc + n);
    pc + n + hdr as usize
}

/// Remove cell `i` of a leaf the way SQLite's dropCell does: pointer gone, its bytes a
/// freeblock in the (sorted) chain.
fn drop_cell(d: &mut [u8], i: usize) {
    let n = u16::from_be_bytes([d[3], d[4]]) as usize;
    let pc = cell_ptr(d, i);
    let (len, k) = varint_at(d, pc);
    let size = (len as usize + k).max(4);
    d.copy_within(10 + 2 * i..8 + 2 * n, 8 + 2 * i);
    d[3..5].copy_from_slice(&((n - 1) as u16).to_be_bytes());
    let mut blocks = vec![(pc, size)];
    let mut f = u16::from_be_bytes([d[1], d[2]]) as usize;
    while f != 0 {
        blocks.push((f, u16::from_be_bytes([d[f + 2], d[f + 3]]) as usize));
        f = u16::from_be_bytes([d[f], d[f + 1]]) as usize;
    }
    blocks.sort();
    d[1..3].copy_from_slice(&(blocks[0].0 as u16).to_be_bytes());
    for (j, &(off, sz)) in blocks.iter().enumerate() {
        let next = blocks.get(j + 1).map_or(0, |b| b.0);
        d[off..off + 2].copy_from_slice(&(next as u16).to_be_bytes());
        d[off + 2..off + 4].copy_from_slice(&(sz as u16).to_be_bytes());
    }
}

type IndexDamageFn = fn(&Path);
type IndexDamage = (&'static str, IndexDamageFn);

const INDEX_DAMAGES: &[IndexDamage] = &[
    ("index key byte", |db| {
        damage(db, index_leaf(db, "ic", 1), |d| {
            let b = first_body(d, cell_ptr(d, 1));
            d[b] ^= 3;
        });
    }),
    ("index key byte, first cell", |db| {
        damage(db, index_leaf(db, "ic", 0), |d| {
            let b = first_body(d, cell_ptr(d, 0));
            d[b] ^= 0x80;
        });
    }),
    ("NOCASE DESC text byte", |db| {
        damage(db, index_leaf(db, "ib", 1), |d| {
            let b = first_body(d, cell_ptr(d, 1));
            d[b] ^= 0x20;
        });
    }),
    ("index cell removed", |db| {
        damage(db, index_leaf(db, "ic", 1), |d| drop_cell(d, 2));
    }),
    ("index pointers swapped", |db| {
        damage(db, index_leaf(db, "ic", 1), |d| {
            let (a, b) = (cell_ptr(d, 1) as u16, cell_ptr(d, 2) as u16);
            d[10..12].copy_from_slice(&b.to_be_bytes());
            d[12..14].copy_from_slice(&a.to_be_bytes());
        });
    }),
    ("index rowid changed", |db| {
        damage(db, index_leaf(db, "ic", 1), |d| {
            let pc = cell_ptr(d, 1);
            let (len, n) = varint_at(d, pc);
            d[pc + n + len as usize - 1] ^= 1;
        });
    }),
    ("UNIQUE duplicate", |db| {
        damage(db, index_leaf(db, "sqlite_autoindex_t_1", 1), |d| {
            let (a, b) = (first_body(d, cell_ptr(d, 1)), first_body(d, cell_ptr(d, 2)));
            let v = d[a..a + 6].to_vec();
            d[b..b + 6].copy_from_slice(&v);
        });
    }),
    ("UNIQUE duplicate, WITHOUT ROWID", |db| {
        damage(db, index_leaf(db, "wv", 1), |d| {
            let (a, b) = (first_body(d, cell_ptr(d, 1)), first_body(d, cell_ptr(d, 2)));
            let (ha, hb) = (d[cell_ptr(d, 1) + 2], d[cell_ptr(d, 2) + 2]);
            if ha == hb {
                let len = match ha {
                    1..=4 => ha as usize,
                    _ => 0,
                };
                let v = d[a..a + len].to_vec();
                d[b..b + len].copy_from_slice(&v);
            }
        });
    }),
    ("WITHOUT ROWID pointers swapped", |db| {
        damage(db, index_leaf(db, "w", 1), |d| {
            let (a, b) = (cell_ptr(d, 0) as u16, cell_ptr(d, 1) as u16);
            d[8..10].copy_from_slice(&b.to_be_bytes());
            d[10..12].copy_from_slice(&a.to_be_bytes());
        });
    }),
    ("WITHOUT ROWID key byte", |db| {
        damage(db, index_leaf(db, "w", 1), |d| {
            let b = first_body(d, cell_ptr(d, 1));
            d[b + 3] ^= 1;
        });
    }),
    ("index interior key byte", |db| {
        let root = root_page(db, "ic");
        // A one-page index (large pages) has no interior page: the state stays healthy.
        let Some(p) = tree(db, root).into_iter().find(|&(_, t)| t == 2).map(|(p, _)| p) else { return };
        damage(db, p, |d| {
            let n = u16::from_be_bytes([d[3], d[4]]) as usize;
            let i = n / 2;
            let pc = u16::from_be_bytes([d[12 + 2 * i], d[13 + 2 * i]]) as usize;
            let b = first_body(d, pc + 4);
            d[b] ^= 0x40;
        });
    }),
];

/// `check --deep=full` prints exactly what `PRAGMA integrity_check` prints — Phase 1 and the
/// table scan's index, UNIQUE, NOT NULL and PRIMARY KEY lines, in SQLite's order — on index
/// damage in the database file and in WAL frames, at several page sizes; and names the index
/// page where the lost entry should be.
#[test]
fn full_level_agrees_with_integrity_check_on_index_damage() {
    if sqlite3().is_none() {
        eprintln!("no sqlite3 shell: skipped");
        return;
    }
    let mut table =
        String::from("| page size | journal | damage | where | SQLite | --deep=full |\n|---|---|---|---|---|---|\n");
    let mut bad = Vec::new();
    let mut damaged = 0;
    let mut in_wal = 0;
    for &(ps, wal) in &[(4096u32, false), (1024, true), (512, false), (65536, true)] {
        let base_dir = tempdir();
        let base = build_indexed(base_dir.path(), ps, wal);
        let mut states: Vec<(&str, Option<IndexDamageFn>)> = vec![("healthy", None)];
        states.extend(INDEX_DAMAGES.iter().map(|(n, f)| (*n, Some(*f))));
        for (name, f) in states {
            let dir = tempdir();
            let ev = dir.path().join("e.db");
            for s in ["", "-wal"] {
                if sibling(&base, s).exists() {
                    std::fs::copy(sibling(&base, s), sibling(&ev, s)).unwrap();
                }
            }
            let wal_before = std::fs::read(sibling(&ev, "-wal")).ok();
            if let Some(f) = f {
                f(&ev);
            }
            let where_ = if f.is_none() {
                "-"
            } else if wal_before != std::fs::read(sibling(&ev, "-wal")).ok() {
                in_wal += 1;
                "WAL frame"
            } else {
                "db file"
            };
            let theirs = integrity_check(&ev);
            let ours = deep_full(&ev);
            if !theirs.ok {
                damaged += 1;
            }
            let same = ours == theirs.all;
            table.push_str(&format!(
                "| {ps} | {} | {name} | {where_} | {} | {} |\n",
                if wal { "wal" } else { "rollback" },
                if theirs.ok { "ok".to_string() } else { format!("{} lines", theirs.all.len()) },
                if same { "same" } else { "DIFFERENT" }
            ));
            if !same {
                bad.push(format!("{ps} {wal} {name}:\n  sqlite: {:?}\n  ours:   {ours:?}", theirs.all));
            }
            // The structure level says nothing about index content.
            if f.is_some() && theirs.phase1.as_ref().is_some_and(Vec::is_empty) {
                assert_eq!(deep_lines(&deep(&ev, &[])).unwrap(), Vec::<String>::new(), "{name}");
            }
        }
    }
    eprintln!("{table}");
    assert!(bad.is_empty(), "{} states disagree:\n{}", bad.len(), bad.join("\n"));
    // Two states stay `ok` by design: a case flip under NOCASE, and an interior-page flip
    // where 64 KiB pages leave the index a single leaf.
    assert!(damaged >= 36, "most index damage shows in integrity_check ({damaged})");
    assert!(in_wal >= 5, "some index damage lands in WAL frames ({in_wal})");
}

// ---- a torn checkpoint write ---------------------------------------------------------------

/// A checkpoint copied frame F of page P into the database file and the write was cut short:
/// the first half of P is the new image, the rest the old one. While the WAL still holds F,
/// SQLite reads P from it (`integrity_check` on db + WAL says `ok`) and the deep check names P
/// as a torn checkpoint write traced to F; without the WAL, SQLite names P too. After the next
/// writer restarts the WAL, SQLite reads the torn page: the deep check names it in SQLite's
/// words, finds the intact image in the older generation's stale frame, and `extract --heal`
/// restores it (the output passes `integrity_check`).
#[test]
fn torn_checkpoint_write_is_named_traced_to_its_frame_and_healed() {
    if sqlite3().is_none() {
        eprintln!("no sqlite3 shell: skipped");
        return;
    }
    let dir = tempdir();
    let live = dir.path().join("live.db");
    let c = Connection::open(&live).unwrap();
    c.execute_batch(
        "PRAGMA page_size=4096; PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;
         CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT); CREATE TABLE u(x);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<399)
           INSERT INTO t SELECT i, printf('v%d', i) || printf('%.20c', 'x') FROM n;
         PRAGMA wal_checkpoint(TRUNCATE);",
    )
    .unwrap();
    let old = std::fs::read(&live).unwrap();
    c.execute_batch("UPDATE t SET b = b || '-new' WHERE a % 3 = 0;").unwrap();
    let (busy, log, done): (i64, i64, i64) =
        c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap();
    assert_eq!((busy, log), (0, done), "the checkpoint completed");
    let new = std::fs::read(&live).unwrap();
    let ps = 4096usize;
    let changed: Vec<u32> = (1..new.len() / ps)
        .filter(|&i| old.get(i * ps..(i + 1) * ps) != new.get(i * ps..(i + 1) * ps))
        .map(|i| i as u32 + 1)
        .collect();
    let p = changed[changed.len() / 2];
    let at = (p as usize - 1) * ps;
    let mut torn = new.clone();
    torn[at + 2048..at + ps].copy_from_slice(&old[at + 2048..at + ps]);
    std::fs::write(&live, &torn).unwrap();
    let copy_as = |name: &str| {
        let ev = dir.path().join(name);
        for s in ["", "-wal", "-shm"] {
            std::fs::copy(sibling(&live, s), sibling(&ev, s)).unwrap();
        }
        ev
    };

    // While the WAL holds the frame: SQLite reads it, the deep check names the torn page.
    let ev = copy_as("a.db");
    let frame = latest_image(&ev, p).frame.expect("the page has a frame") as u64;
    assert!(integrity_check(&ev).ok, "SQLite reads page {p} from the WAL");
    let d = deep(&ev, &[]);
    assert_eq!(d["sqlite_lines"], serde_json::json!(["ok"]));
    let t = d["torn"].as_array().unwrap();
    assert_eq!(t.len(), 1, "{t:?}");
    assert_eq!(t[0]["page"], p);
    assert_eq!(t[0]["frame"].as_u64(), Some(frame));
    // The old tail may match the new image for a few bytes past the cut.
    assert!((2048..2560).contains(&t[0]["first_diff"].as_u64().unwrap()), "{t:?}");
    assert_eq!(t[0]["torn_shape"], true);
    assert_eq!(t[0]["hidden_by_wal"], true);
    let r = run(&["check", ev.to_str().unwrap(), "--deep", "--json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let f = v["findings"].as_array().unwrap().iter().find(|f| f["code"] == "btree.torn_checkpoint").unwrap();
    assert_eq!((f["page"].as_u64(), f["frame"].as_u64()), (Some(p as u64), Some(frame)));
    // Without the WAL, SQLite itself reads the torn page and names it.
    let alone_dir = tempdir();
    let alone = alone_dir.path().join("alone.db");
    std::fs::copy(&ev, &alone).unwrap();
    let v = integrity_check(&alone);
    assert!(!v.ok);
    let names_p = |l: &String| {
        let l = l.to_ascii_lowercase() + " ";
        l.contains(&format!("page {p}:")) || l.contains(&format!("page {p} "))
    };
    let lines = v.phase1.unwrap();
    // Every line but a key-order check at the parent (which blames the parent) names page P.
    let named = lines.iter().filter(|l| names_p(l)).count();
    assert!(names_p(&lines[0]) && named + 1 >= lines.len(), "SQLite names page {p}: {lines:?}");
    assert_eq!(heal(&ev), (0, true), "the heal's output reads page {p} from frame {frame}");

    // The next writer restarts the WAL (touching another table): SQLite now reads the torn page.
    c.execute_batch("INSERT INTO u VALUES (1);").unwrap();
    let ev2 = copy_as("b.db");
    let theirs = integrity_check(&ev2);
    assert!(!theirs.ok);
    let d = deep(&ev2, &[]);
    let ours = deep_lines(&d).unwrap();
    assert_eq!(Some(ours.clone()), theirs.phase1, "the deep check prints SQLite's lines");
    assert!(names_p(&ours[1]) && ours.iter().filter(|l| names_p(l)).count() + 2 >= ours.len(), "{ours:?}");
    let prov = d["provenance"].as_array().unwrap();
    let pp = prov.iter().find(|x| x["page"] == p).expect("provenance of the torn page");
    assert_eq!(pp["origin"], "db");
    assert_eq!(pp["intact"]["source"], "stale_frame", "{pp}");
    assert_eq!(pp["intact"]["frame"].as_u64(), Some(frame));
    assert_eq!(pp["intact"]["generations_ago"], 1);
    assert_eq!(heal(&ev2), (0, true), "the healed output passes integrity_check");
    drop(c);
}
