//! Fixture building for the forensics tests: a real SQLite writer in WAL mode, a copy of the
//! database and its -wal after every commit (SQLite's own view of each commit is read from
//! those copies, never from the evidence), and helpers to run walinspect on an evidence copy.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use rusqlite::types::Value as SqlValue;
use walinspect::analysis::snapshot::Forensics;
use walinspect::analysis::{Analysis, ReadAt};
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
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("live.db");
        let conn = Connection::open(&db).unwrap();
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
    let side = |s: &str| {
        (
            PathBuf::from(format!("{}{s}", src.display())),
            PathBuf::from(format!("{}{s}", dst.display())),
        )
    };
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
        Value::Text(s) => KeyVal::T(s.clone()),
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
        let mut st = c.prepare("SELECT name, coalesce(sql,'') FROM sqlite_schema WHERE type='table' AND rootpage > 0").unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(|r| r.unwrap()).collect()
    };
    for (name, sql) in tables.iter().chain([("sqlite_schema".to_string(), String::new())].iter()) {
        let without_rowid = sql.to_ascii_uppercase().contains("WITHOUT ROWID");
        let pk: Vec<String> = if without_rowid {
            let mut st = c
                .prepare(&format!(
                    "SELECT name FROM pragma_table_info('{name}') WHERE pk > 0 ORDER BY pk"
                ))
                .unwrap();
            st.query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect()
        } else {
            Vec::new()
        };
        let cols: Vec<String> = {
            let mut st = c
                .prepare(&format!(
                    "SELECT name FROM pragma_table_xinfo('{name}') WHERE hidden IN (0, 3)"
                ))
                .unwrap();
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
            let vals: Vec<Value> =
                (0..n).map(|i| from_sql(r.get::<_, SqlValue>(i).unwrap())).collect();
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
    let a = walinspect::cli::analyze_evidence(&ev);
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
