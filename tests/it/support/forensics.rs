//! Fixture building for the forensics tests: a real SQLite writer in WAL mode, a copy of the
//! database and its -wal after every commit (SQLite's own view of each commit is read from
//! those copies, never from the evidence), and helpers to run walinspect on an evidence copy.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use rusqlite::types::Value as SqlValue;
use walinspect::analysis::{Analysis, ReadAt};
use walinspect::forensics::snapshot::Forensics;
use walinspect::forensics::timeline::{CommitChanges, key_values, row_values};
use walinspect::format::record::Value;
use walinspect::source::Evidence;

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
    pub conn: Connection,
    /// Copies of db + wal after each commit: copies[k] = state after k commits (copies[0] =
    /// the starting state).
    pub copies: Vec<PathBuf>,
}

impl Fixture {
    pub fn new(page_size: u32) -> Self {
        Self::with(page_size, "")
    }

    /// `first` runs before anything else (e.g. `PRAGMA encoding`, `PRAGMA auto_vacuum`).
    pub fn with(page_size: u32, first: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("live.db");
        let conn = Connection::open(&db).unwrap();
        // The page size first: a pragma like auto_vacuum may create the header.
        conn.execute_batch(&format!("PRAGMA page_size={page_size};")).unwrap();
        conn.execute_batch(first).unwrap();
        conn.execute_batch(&format!(
            "PRAGMA page_size={page_size}; PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; PRAGMA secure_delete=OFF; PRAGMA synchronous=NORMAL;"
        ))
        .unwrap();
        Self { dir, db, conn, copies: Vec::new() }
    }

    /// Run `sql` as one transaction.
    pub fn tx(&mut self, sql: &str) {
        self.conn.execute_batch(&format!("BEGIN; {sql}; COMMIT;")).unwrap();
    }

    /// Run `sql` as one transaction and copy the state.
    pub fn commit(&mut self, sql: &str) {
        self.tx(sql);
        self.snap();
    }

    /// Run one statement outside an explicit transaction (VACUUM) and copy the state.
    pub fn commit_raw(&mut self, sql: &str) {
        self.conn.execute_batch(sql).unwrap();
        self.snap();
    }

    /// Copy db + wal into the next numbered directory.
    pub fn snap(&mut self) {
        let d = self.dir.path().join(format!("copy{}", self.copies.len()));
        std::fs::create_dir_all(&d).unwrap();
        let target = d.join("c.db");
        copy_set(&self.db, &target, false);
        self.copies.push(target);
    }

    /// Copy db, wal and shm as evidence (the writer stays open).
    pub fn evidence(&self, name: &str) -> PathBuf {
        let d = self.dir.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        let target = d.join("e.db");
        copy_set(&self.db, &target, true);
        target
    }

    pub fn checkpoint_truncate(&self) {
        self.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
    }
}

pub fn copy_set(src: &Path, dst: &Path, shm: bool) {
    std::fs::copy(src, dst).unwrap();
    let side =
        |s: &str| (PathBuf::from(format!("{}{s}", src.display())), PathBuf::from(format!("{}{s}", dst.display())));
    let (w, wd) = side("-wal");
    if w.exists() {
        std::fs::copy(&w, &wd).unwrap();
    }
    if shm {
        let (s, sd) = side("-shm");
        if s.exists() {
            std::fs::copy(&s, &sd).unwrap();
        }
    }
}

/// SQLite's own content of every table of a copy: table -> key -> values. Keys are rowids
/// (as a one-element vector) for rowid tables and primary-key values for WITHOUT ROWID tables.
pub type Contents = BTreeMap<String, BTreeMap<Vec<KeyVal>, Vec<Value>>>;

#[derive(Clone, Debug, PartialEq, PartialOrd, Eq, Ord)]
pub enum KeyVal {
    I(i64),
    T(String),
    B(Vec<u8>),
    Null,
}

pub fn keyval(v: &Value) -> KeyVal {
    match v {
        Value::Integer(i) => KeyVal::I(*i),
        Value::Text(s) | Value::TextBytes { text: s, .. } => KeyVal::T(s.clone()),
        Value::Blob(b) => KeyVal::B(b.clone()),
        Value::Real(r) => KeyVal::T(format!("{r:?}")),
        Value::Null => KeyVal::Null,
    }
}

pub fn from_sql(v: SqlValue) -> Value {
    match v {
        SqlValue::Null => Value::Null,
        SqlValue::Integer(i) => Value::Integer(i),
        SqlValue::Real(r) => Value::Real(r),
        SqlValue::Text(s) => Value::Text(s),
        SqlValue::Blob(b) => Value::Blob(b),
    }
}

/// Open a COPY with SQLite and read every table (copies the copy first, so the numbered copy
/// itself stays as it was).
pub fn sqlite_contents(copy: &Path) -> Contents {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path().join("x.db");
    copy_set(copy, &t, false);
    let c = Connection::open(&t).unwrap();
    let mut out = Contents::new();
    let tables: Vec<(String, String)> = {
        let mut st =
            c.prepare("SELECT name, coalesce(sql,'') FROM sqlite_schema WHERE type='table' AND rootpage > 0").unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(|r| r.unwrap()).collect()
    };
    for (name, sql) in tables.iter().chain([("sqlite_schema".to_string(), String::new())].iter()) {
        let without_rowid = sql.to_ascii_uppercase().contains("WITHOUT ROWID");
        let pk: Vec<String> = if without_rowid {
            let mut st =
                c.prepare(&format!("SELECT name FROM pragma_table_info('{name}') WHERE pk > 0 ORDER BY pk")).unwrap();
            st.query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect()
        } else {
            Vec::new()
        };
        let cols: Vec<String> = {
            let mut st =
                c.prepare(&format!("SELECT name FROM pragma_table_xinfo('{name}') WHERE hidden IN (0, 3)")).unwrap();
            st.query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect()
        };
        let cols = if name == "sqlite_schema" {
            vec!["type".into(), "name".into(), "tbl_name".into(), "rootpage".into(), "sql".into()]
        } else {
            cols
        };
        let quoted: Vec<String> = cols.iter().map(|c| format!("\"{c}\"")).collect();
        let key_sql = if without_rowid {
            pk.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ")
        } else {
            "rowid".into()
        };
        let q = format!("SELECT {key_sql}, {} FROM \"{name}\"", quoted.join(", "));
        let nkey = if without_rowid { pk.len() } else { 1 };
        let mut st = c.prepare(&q).unwrap();
        let n = st.column_count();
        let mut rows = BTreeMap::new();
        let mut q = st.query([]).unwrap();
        while let Some(r) = q.next().unwrap() {
            let vals: Vec<Value> = (0..n).map(|i| from_sql(r.get::<_, SqlValue>(i).unwrap())).collect();
            let key = vals[..nkey].iter().map(keyval).collect();
            rows.insert(key, vals[nkey..].to_vec());
        }
        out.insert(name.clone(), rows);
    }
    out
}

/// Open evidence and run `f` with a Forensics over it.
pub fn with_forensics<R>(path: &Path, f: impl FnOnce(&Forensics<'_>, &Analysis) -> R) -> R {
    let ev = Evidence::open(path).unwrap();
    let a = walinspect::session::analyze_evidence(&ev, walinspect::session::Options::default());
    let db = ev.db.as_ref().map(|e| (&e.file as &dyn ReadAt, e.len()));
    let wal = ev.wal.as_ref().map(|e| (&e.file as &dyn ReadAt, e.len()));
    let fx = Forensics::new(&a, db, wal).unwrap();
    f(&fx, &a)
}

/// Bytes of the evidence files, to prove they are unchanged.
pub fn fingerprint(path: &Path) -> Vec<(String, Option<Vec<u8>>)> {
    ["", "-wal", "-shm"]
        .iter()
        .map(|s| {
            let p = format!("{}{s}", path.display());
            (p.clone(), std::fs::read(&p).ok())
        })
        .collect()
}

pub type Diff =
    BTreeMap<String, (BTreeMap<Vec<KeyVal>, Vec<Value>>, BTreeMap<Vec<KeyVal>, Vec<Value>>, BTreeSet<Vec<KeyVal>>)>;

/// SQLite's changes between two states: table -> (inserted with values, updated with new
/// values, deleted keys). Tables that exist only before are left out (dropped).
pub fn sqlite_diff(prev: &Contents, cur: &Contents) -> Diff {
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

pub fn our_diff(c: &CommitChanges, enc: walinspect::format::record::TextEncoding) -> Diff {
    let mut out = Diff::new();
    for t in &c.tables {
        let mut ins = BTreeMap::new();
        let mut upd = BTreeMap::new();
        let mut del = BTreeSet::new();
        for ch in &t.changes {
            let payload = ch.new.as_deref().or(ch.old.as_deref());
            let key: Vec<KeyVal> = key_values(&t.table, &ch.key, payload, enc).iter().map(keyval).collect();
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
pub fn assert_same(commit: usize, ours: &Diff, theirs: &Diff) {
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

/// Run the timeline with rows on `ev` and check every commit against SQLite's view of
/// consecutive copies (`copies[k]` = state after commit k). Returns the number of commits.
pub fn check_timeline_against_copies(ev: &Path, copies: &[PathBuf]) -> usize {
    let contents: Vec<Contents> = copies.iter().map(|c| sqlite_contents(c)).collect();
    with_forensics(ev, |f, _| {
        let (base, changes, _) = walinspect::forensics::timeline::timeline(
            f,
            walinspect::forensics::timeline::TrackOptions { rows: true, ..Default::default() },
        );
        assert!(base.is_empty(), "{base:?}");
        let mut n = 0;
        for c in changes.iter().filter(|c| c.committed) {
            let k = c.number.unwrap() as usize;
            assert_same(k, &our_diff(c, f.snapshot(c.spec).encoding), &sqlite_diff(&contents[k - 1], &contents[k]));
            assert!(c.notes.is_empty(), "commit {k}: {:?}", c.notes);
            n += 1;
        }
        n
    })
}

/// xorshift64*: deterministic random numbers for the randomised tests, no dependency.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}
