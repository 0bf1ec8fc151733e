//! Ground truth for carving: a real SQLite (bundled, `PRAGMA secure_delete=OFF` set explicitly)
//! writes distinctive row versions through a script of inserts, updates, deletes after
//! checkpoints, range deletes that free and merge b-tree pages, versions that live only inside
//! one transaction, overflow values, a WITHOUT ROWID table, an indexed table, a dropped table
//! and a table dropped and recreated with the same schema. Every version ever written is
//! recorded with its lifetime (commit born, commit died, visible at a commit or not); a byte
//! scan of the evidence files then says which versions are physically present, and where.
//!
//! `measure` runs walinspect's carver on an evidence copy and scores it: recall (versions
//! present in free space and known from no visible state, recovered with exactly their values)
//! and precision (carved records that are real versions), per source class.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use rusqlite::types::Value as Sql;
use walinspect::format::record::{TextEncoding, Value, encode_record};

use super::forensics::{Rng, copy_set};

/// One row version ever written.
#[derive(Clone, Debug)]
pub struct Version {
    pub table: &'static str,
    /// The rowid (rowid tables) or None (WITHOUT ROWID).
    pub rowid: Option<i64>,
    /// Values in declaration order (the INTEGER PRIMARY KEY holds the rowid).
    pub values: Vec<Value>,
    /// Record positions as stored (the IPK as NULL).
    pub stored: Vec<Value>,
    pub died: Option<usize>,
    /// Seen by some commit (false: born and gone inside one transaction).
    pub visible: bool,
    pub overflow: bool,
}

struct TableSpec {
    name: &'static str,
    cols: &'static [&'static str],
    /// Position of the INTEGER PRIMARY KEY, if any.
    ipk: Option<usize>,
    /// WITHOUT ROWID: position of the text primary key.
    pk: Option<usize>,
}

const TABLES: &[TableSpec] = &[
    TableSpec { name: "t1", cols: &["id", "name", "qty", "price", "note"], ipk: Some(0), pk: None },
    TableSpec { name: "t2", cols: &["k", "a", "b"], ipk: None, pk: Some(0) },
    TableSpec { name: "t3", cols: &["x", "y"], ipk: None, pk: None },
    TableSpec { name: "gone", cols: &["g", "label", "n"], ipk: Some(0), pk: None },
    TableSpec { name: "again", cols: &["a", "s"], ipk: Some(0), pk: None },
];

const SCHEMA: &str = "
CREATE TABLE t1(id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER, price REAL, note TEXT);
CREATE TABLE t2(k TEXT PRIMARY KEY, a INTEGER, b BLOB) WITHOUT ROWID;
CREATE TABLE t3(x TEXT, y INTEGER);
CREATE INDEX t3x ON t3(x);
CREATE TABLE gone(g INTEGER PRIMARY KEY, label TEXT, n INTEGER);
CREATE TABLE again(a INTEGER PRIMARY KEY, s TEXT);
";

fn spec(t: &str) -> &'static TableSpec {
    TABLES.iter().find(|s| s.name == t).unwrap()
}

/// Corpus parameters.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    pub page_size: u32,
    pub utf16: bool,
    /// Rows per table (scaled: t1 gets `rows`, the others fewer).
    pub rows: i64,
    pub seed: u64,
}

pub struct Corpus {
    /// Keeps the corpus directory alive.
    pub _dir: tempfile::TempDir,
    pub evidence: PathBuf,
    pub versions: Vec<Version>,
    /// Commit count at the last checkpoint (the database file shows that state).
    pub ckpt: usize,
    pub params: Params,
}

struct Gen {
    conn: Connection,
    rng: Rng,
    commit: usize,
    in_tx: bool,
    versions: Vec<Version>,
    live: HashMap<(&'static str, String), usize>,
    page_size: u32,
    /// Versions born in the open transaction (visible only if they survive it).
    tx_born: Vec<usize>,
}

fn key_of(t: &TableSpec, rowid: Option<i64>, vals: &[Value]) -> String {
    match t.pk {
        Some(p) => format!("{:?}", vals[p]),
        None => format!("{}", rowid.unwrap()),
    }
}

impl Gen {
    fn begin(&mut self) {
        self.conn.execute_batch("BEGIN").unwrap();
        self.in_tx = true;
        self.tx_born.clear();
    }
    fn commit(&mut self) {
        self.conn.execute_batch("COMMIT").unwrap();
        self.commit += 1;
        self.in_tx = false;
        for &i in &self.tx_born {
            if self.versions[i].died.is_none() {
                self.versions[i].visible = true;
            }
        }
        self.tx_born.clear();
    }
    fn checkpoint(&self) {
        self.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
    }

    fn text(&mut self, tag: &str, id: i64, ver: u32) -> String {
        format!("{tag}-{id:06}-v{ver:02}-{:08x}", self.rng.next() as u32)
    }

    /// Values for a new version of (table, id).
    fn make(&mut self, t: &str, id: i64, ver: u32) -> Vec<Value> {
        match t {
            "t1" => {
                let note = match self.rng.below(20) {
                    // Distinctive to its last byte, so a byte scan can tell whether the whole
                    // value (overflow pages included) is still in the file.
                    0 => {
                        let mut t = self.text("ovfl", id, ver);
                        let mut k = 0u32;
                        while t.len() < self.page_size as usize * 2 {
                            t.push_str(&format!("|{k:05}:{id:06}v{ver:02}"));
                            k += 1;
                        }
                        Value::Text(t)
                    }
                    1..=6 => Value::Null,
                    _ => Value::Text(self.text("note", id, ver)),
                };
                vec![
                    Value::Integer(id),
                    Value::Text(self.text("t1", id, ver)),
                    Value::Integer(id * 100 + i64::from(ver)),
                    Value::Real(id as f64 + 0.5 + f64::from(ver)),
                    note,
                ]
            }
            "t2" => {
                let mut b = self.rng.bytes(10);
                b.push(ver as u8);
                vec![Value::Text(format!("k-{id:06}")), Value::Integer(id * 1000 + i64::from(ver)), Value::Blob(b)]
            }
            "t3" => vec![Value::Text(self.text("t3", id, ver)), Value::Integer(-(id * 10 + i64::from(ver)))],
            "gone" => vec![Value::Integer(id), Value::Text(self.text("gone", id, ver)), Value::Integer(id * 7 + 1)],
            "again" => vec![Value::Integer(id), Value::Text(self.text(&format!("again{ver}"), id, 0))],
            _ => unreachable!(),
        }
    }

    fn record(&mut self, t: &'static str, rowid: Option<i64>, vals: Vec<Value>) {
        let s = spec(t);
        let key = key_of(s, rowid, &vals);
        if let Some(&old) = self.live.get(&(t, key.clone())) {
            self.versions[old].died = Some(self.commit + 1);
        }
        let stored: Vec<Value> =
            vals.iter().enumerate().map(|(i, v)| if Some(i) == s.ipk { Value::Null } else { v.clone() }).collect();
        let overflow = encode_record(&stored, TextEncoding::Utf8).len() > self.page_size as usize / 4;
        self.versions.push(Version { table: t, rowid, values: vals, stored, died: None, visible: false, overflow });
        let i = self.versions.len() - 1;
        self.tx_born.push(i);
        self.live.insert((t, key), i);
    }

    fn to_sql(v: &Value) -> Sql {
        match v {
            Value::Null => Sql::Null,
            Value::Integer(i) => Sql::Integer(*i),
            Value::Real(r) => Sql::Real(*r),
            Value::Text(s) => Sql::Text(s.clone()),
            Value::TextBytes { bytes, .. } => Sql::Blob(bytes.clone()),
            Value::Blob(b) => Sql::Blob(b.clone()),
        }
    }

    fn insert(&mut self, t: &'static str, id: i64, ver: u32) {
        let vals = self.make(t, id, ver);
        let s = spec(t);
        let ph = vec!["?"; s.cols.len()].join(",");
        let params: Vec<Sql> = vals.iter().map(Self::to_sql).collect();
        if s.ipk.is_none() && s.pk.is_none() {
            let sql = format!("INSERT INTO {t}(rowid,{}) VALUES (?,{ph})", s.cols.join(","));
            let mut p = vec![Sql::Integer(id)];
            p.extend(params);
            self.conn.execute(&sql, rusqlite::params_from_iter(p)).unwrap();
        } else {
            self.conn.execute(&format!("INSERT INTO {t} VALUES ({ph})"), rusqlite::params_from_iter(params)).unwrap();
        }
        let rowid = if s.pk.is_some() { None } else { Some(id) };
        self.record(t, rowid, vals);
    }

    fn update(&mut self, t: &'static str, id: i64, ver: u32) {
        let vals = self.make(t, id, ver);
        let s = spec(t);
        let set: Vec<String> = s
            .cols
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != s.ipk && Some(*i) != s.pk)
            .map(|(_, c)| format!("{c}=?"))
            .collect();
        let mut params: Vec<Sql> = vals
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != s.ipk && Some(*i) != s.pk)
            .map(|(_, v)| Self::to_sql(v))
            .collect();
        let (wh, key) = match (s.ipk, s.pk) {
            (Some(i), _) => (s.cols[i].to_string(), Sql::Integer(id)),
            (None, Some(p)) => (s.cols[p].to_string(), Self::to_sql(&vals[p])),
            _ => ("rowid".to_string(), Sql::Integer(id)),
        };
        params.push(key);
        let n = self
            .conn
            .execute(&format!("UPDATE {t} SET {} WHERE {wh}=?", set.join(",")), rusqlite::params_from_iter(params))
            .unwrap();
        if n == 1 {
            let rowid = if s.pk.is_some() { None } else { Some(id) };
            self.record(t, rowid, vals);
        }
    }

    fn delete(&mut self, t: &'static str, id: i64) {
        let s = spec(t);
        let (wh, key) = match (s.ipk, s.pk) {
            (Some(i), _) => (s.cols[i].to_string(), Sql::Integer(id)),
            (None, Some(p)) => (s.cols[p].to_string(), Sql::Text(format!("k-{id:06}"))),
            _ => ("rowid".to_string(), Sql::Integer(id)),
        };
        let n = self.conn.execute(&format!("DELETE FROM {t} WHERE {wh}=?"), [key]).unwrap();
        if n == 1 {
            let k = if s.pk.is_some() { format!("{:?}", Value::Text(format!("k-{id:06}"))) } else { id.to_string() };
            if let Some(i) = self.live.remove(&(t, k)) {
                self.versions[i].died = Some(self.commit + 1);
            }
        }
    }

    fn drop_table(&mut self, t: &'static str) {
        self.conn.execute_batch(&format!("DROP TABLE {t}")).unwrap();
        let keys: Vec<(&'static str, String)> = self.live.keys().filter(|k| k.0 == t).cloned().collect();
        for k in keys {
            if let Some(i) = self.live.remove(&k) {
                self.versions[i].died = Some(self.commit + 1);
            }
        }
    }
}

/// Build a corpus and copy it as evidence (db, -wal, -shm) while the writer is still open.
pub fn build(p: Params) -> Corpus {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(&format!("PRAGMA page_size={};", p.page_size)).unwrap();
    if p.utf16 {
        conn.execute_batch("PRAGMA encoding='UTF-16le';").unwrap();
    }
    conn.execute_batch(
        "PRAGMA auto_vacuum=NONE; PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; PRAGMA secure_delete=OFF; PRAGMA synchronous=OFF;",
    )
    .unwrap();
    let on: i64 = conn.query_row("PRAGMA secure_delete", [], |r| r.get(0)).unwrap();
    assert_eq!(on, 0, "secure_delete must be off for the corpus");
    conn.execute_batch(SCHEMA).unwrap();
    let mut g = Gen {
        conn,
        rng: Rng(p.seed | 1),
        commit: 1,
        in_tx: false,
        versions: Vec::new(),
        live: HashMap::new(),
        page_size: p.page_size,
        tx_born: Vec::new(),
    };
    let n = p.rows;
    // 1. Fill.
    g.begin();
    for id in 1..=n {
        g.insert("t1", id, 0);
    }
    for id in 1..=n / 2 {
        g.insert("t2", id, 0);
        g.insert("gone", id, 0);
    }
    for id in 1..=n * 3 / 4 {
        g.insert("t3", id, 0);
    }
    for id in 1..=n / 3 {
        g.insert("again", id, 1);
    }
    g.commit();
    g.checkpoint();
    // 2. Scattered updates and deletes.
    g.begin();
    for id in (1..=n).step_by(5) {
        g.update("t1", id, 1);
    }
    for id in (3..=n).step_by(7) {
        g.delete("t1", id);
    }
    for id in (1..=n / 2).step_by(3) {
        g.delete("t2", id);
    }
    for id in (2..=n / 2).step_by(5) {
        g.update("t2", id, 1);
    }
    for id in (1..=n * 3 / 4).step_by(4) {
        g.delete("t3", id);
    }
    for id in (2..=n * 3 / 4).step_by(9) {
        g.update("t3", id, 1);
    }
    g.commit();
    // 3. A range delete: whole leaves freed, neighbours merged.
    g.begin();
    for id in n / 2..=n * 4 / 5 {
        g.delete("t1", id);
    }
    g.commit();
    // 4. Versions that live only inside one transaction.
    g.begin();
    for id in 100_000..100_000 + n / 20 + 2 {
        g.insert("t1", id, 0);
        g.update("t1", id, 1);
    }
    for id in 100_000..100_000 + n / 20 + 2 {
        g.delete("t1", id);
    }
    g.commit();
    g.checkpoint();
    // 5. Drop one table; drop and recreate another with the same schema.
    g.begin();
    g.drop_table("gone");
    g.drop_table("again");
    g.conn.execute_batch("CREATE TABLE again(a INTEGER PRIMARY KEY, s TEXT)").unwrap();
    for id in 1..=n / 6 {
        g.insert("again", id, 2);
    }
    g.commit();
    g.checkpoint();
    let ckpt = g.commit;
    // 6. WAL era: deletes and updates the WAL holds (known from its commits), and versions
    //    that live only inside one WAL transaction.
    g.begin();
    for id in (2..n / 2).step_by(11) {
        g.delete("t1", id);
    }
    for id in (4..n / 2).step_by(13) {
        g.update("t2", id, 2);
    }
    g.commit();
    g.begin();
    for id in 200_000..200_000 + n / 20 + 2 {
        g.insert("t3", id, 0);
        g.update("t3", id, 1);
    }
    for id in 200_000..200_000 + n / 20 + 2 {
        g.delete("t3", id);
    }
    g.commit();
    let ev_dir = dir.path().join("evidence");
    std::fs::create_dir_all(&ev_dir).unwrap();
    let evidence = ev_dir.join("e.db");
    copy_set(&db, &evidence, true);
    assert!(!g.in_tx);
    Corpus { _dir: dir, evidence, versions: g.versions, ckpt, params: p }
}

impl Version {
    /// Shown by the database file or some commit of the WAL.
    pub fn known(&self, ckpt: usize) -> bool {
        self.visible && self.died.is_none_or(|d| d > ckpt)
    }
    /// The record body (what follows the header) in the database's encoding.
    pub fn body(&self, enc: TextEncoding) -> Vec<u8> {
        let rec = encode_record(&self.stored, enc);
        let (h, _) = walinspect::format::varint::read_varint(&rec, 0).unwrap();
        rec[h as usize..].to_vec()
    }
}

/// Where a version's bytes physically are.
#[derive(Clone, Debug, Default)]
pub struct Presence {
    /// Byte offsets in the database file.
    pub db: Vec<usize>,
    /// Byte offsets in the WAL.
    pub wal: Vec<usize>,
}

/// Freelist pages of a database file image (trunks and leaves), by parsing the header chain.
pub fn freelist_pages(db: &[u8], ps: usize) -> Vec<u32> {
    let mut out = Vec::new();
    let mut t = u32::from_be_bytes(db[32..36].try_into().unwrap());
    let mut steps = 0;
    while t != 0 && steps < 100_000 {
        steps += 1;
        out.push(t);
        let off = (t as usize - 1) * ps;
        if off + 8 > db.len() {
            break;
        }
        let n = u32::from_be_bytes(db[off + 4..off + 8].try_into().unwrap()) as usize;
        for k in 0..n.min(ps / 4 - 2) {
            let o = off + 8 + 4 * k;
            out.push(u32::from_be_bytes(db[o..o + 4].try_into().unwrap()));
        }
        t = u32::from_be_bytes(db[off..off + 4].try_into().unwrap());
    }
    out
}

/// The ground-truth class of a version present in the database file.
pub fn class_of(c: &Corpus, v: &Version, p: &Presence, free_pages: &[u32]) -> &'static str {
    if v.table == "gone"
        || (v.table == "again"
            && v.values.get(1).is_some_and(|s| matches!(s, Value::Text(t) if t.starts_with("again1"))))
    {
        return "dropped_table";
    }
    let ps = c.params.page_size as usize;
    if p.db.iter().any(|&o| free_pages.contains(&((o / ps + 1) as u32))) { "freelist" } else { "btree_free_space" }
}

/// Scores of one source class.
#[derive(Clone, Debug, Default)]
pub struct Score {
    pub present: usize,
    pub exact: usize,
    pub partial: usize,
    pub with_rowid: usize,
}

#[derive(Clone, Debug, Default)]
pub struct Measure {
    /// Per ground-truth class: "btree_free_space", "freelist", "dropped_table" (database
    /// file), "wal_only" (present only in the WAL), "overflow_broken" (an overflowing value whose
    /// start survives but whose end is nowhere in the files: at best partial).
    pub recall: BTreeMap<&'static str, Score>,
    pub carved: usize,
    pub carved_real: usize,
    /// Carved records equal to a version some visible state holds (must be 0).
    pub carved_known: usize,
    /// Carved records without provenance (must be 0).
    pub without_place: usize,
    pub per_source: BTreeMap<String, (usize, usize)>,
    pub false_examples: Vec<String>,
    pub dropped: Vec<String>,
    pub missed_examples: Vec<String>,
}

impl Measure {
    pub fn db_recall(&self) -> (usize, usize) {
        ["btree_free_space", "freelist", "dropped_table"]
            .iter()
            .filter_map(|k| self.recall.get(k))
            .fold((0, 0), |a, s| (a.0 + s.exact, a.1 + s.present))
    }
    pub fn precision(&self) -> f64 {
        if self.carved == 0 { 1.0 } else { self.carved_real as f64 / self.carved as f64 }
    }
}

fn canon(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Integer(i) => format!("n{i}"),
        Value::Real(r) if r.fract() == 0.0 && r.abs() < 9e15 => format!("n{}", *r as i64),
        Value::Real(r) => format!("r{}", r.to_bits()),
        Value::Text(s) => format!("t{s}"),
        Value::TextBytes { bytes, .. } => format!("x{bytes:?}"),
        Value::Blob(b) => format!("b{b:?}"),
    }
}

/// Run the carver on the corpus and score it.
pub fn measure(c: &Corpus) -> Measure {
    use walinspect::forensics::carve::{CarveOptions, carve, row_values};
    let enc = if c.params.utf16 { TextEncoding::Utf16le } else { TextEncoding::Utf8 };
    let db = std::fs::read(&c.evidence).unwrap();
    let wal = std::fs::read(format!("{}-wal", c.evidence.display())).unwrap_or_default();
    let free_pages = freelist_pages(&db, c.params.page_size as usize);
    let carving = super::forensics::with_forensics(&c.evidence, |fx, _| carve(fx, &[], CarveOptions::default()));
    let mut m = Measure { carved: carving.rows.len(), dropped: carving.dropped_tables.clone(), ..Measure::default() };
    // Index versions by (table, values without the IPK).
    let mut by_vals: HashMap<(String, Vec<String>), Vec<usize>> = HashMap::new();
    for (i, v) in c.versions.iter().enumerate() {
        let s = spec(v.table);
        let key: Vec<String> =
            v.values.iter().enumerate().filter(|(k, _)| Some(*k) != s.ipk).map(|(_, x)| canon(x)).collect();
        by_vals.entry((v.table.to_string(), key)).or_default().push(i);
    }
    // Which versions each carved row matched (exactly).
    let mut got: HashMap<usize, (bool, bool)> = HashMap::new();
    for r in &carving.rows {
        if r.places.is_empty() {
            m.without_place += 1;
        }
        let (_, vals) = row_values(&carving, r);
        let tables: Vec<String> = match &r.table {
            Some(t) => vec![t.clone()],
            None if r.candidates.is_empty() => TABLES.iter().map(|t| t.name.to_string()).collect(),
            None => r.candidates.clone(),
        };
        let mut matched = None;
        if r.table.as_deref() == Some("sqlite_schema") {
            // Deleted schema rows are real when they hold a statement the script ran.
            let real = matches!(vals.get(4), Some(Value::Text(sql)) if SCHEMA.contains(sql.as_str()) || sql.starts_with("CREATE TABLE again"));
            let e = m.per_source.entry(r.source().name().to_string()).or_default();
            e.0 += 1;
            if real {
                m.carved_real += 1;
                e.1 += 1;
            } else if m.false_examples.len() < 10 {
                m.false_examples.push(format!("schema {vals:?}"));
            }
            continue;
        }
        for t in &tables {
            let Some(s) = TABLES.iter().find(|s| s.name == t) else { continue };
            let key: Vec<String> =
                vals.iter().enumerate().filter(|(k, _)| Some(*k) != s.ipk).map(|(_, x)| canon(x)).collect();
            if let Some(ids) = by_vals.get(&(t.clone(), key.clone())) {
                let id = ids.iter().copied().find(|&i| r.rowid.is_none() || c.versions[i].rowid == r.rowid);
                if id.is_some() {
                    matched = id;
                    break;
                }
            }
            if !r.complete && key.len() >= 2 {
                // A cut overflow chain: the values before the cut value must be a version's.
                let id = c.versions.iter().position(|v| {
                    v.table == t.as_str()
                        && v.overflow
                        && (r.rowid.is_none() || v.rowid == r.rowid)
                        && v.values
                            .iter()
                            .enumerate()
                            .filter(|(k, _)| Some(*k) != s.ipk)
                            .map(|(_, x)| canon(x))
                            .zip(&key)
                            .enumerate()
                            // Whole values equal; the cut (last) one a prefix of the version's.
                            .all(
                                |(j, (want, got))| {
                                    if j + 1 == key.len() { want.starts_with(got.as_str()) } else { &want == got }
                                },
                            )
                });
                if id.is_some() {
                    matched = id;
                    break;
                }
            }
        }
        let src = r.source().name().to_string();
        let e = m.per_source.entry(src).or_default();
        e.0 += 1;
        match matched {
            Some(i) => {
                m.carved_real += 1;
                e.1 += 1;
                if c.versions[i].known(c.ckpt) {
                    m.carved_known += 1;
                }
                let slot = got.entry(i).or_default();
                slot.0 |= r.exact;
                slot.1 |= r.rowid.is_some();
            }
            None => {
                if m.false_examples.len() < 10 {
                    m.false_examples.push(format!("{:?} {:?} {:?} {:?}", r.table, r.rowid, vals, r.places.first()));
                }
            }
        }
    }
    // One pass over each file: positions whose first 8 bytes start some needle. A needle is a
    // version's body, or for an overflowing version its first and its last 24 bytes (the whole
    // value is present only when its tail is too: overflow pages are reused).
    let mut needles: Vec<(usize, Vec<u8>, bool)> = Vec::new();
    for (i, v) in c.versions.iter().enumerate() {
        if v.known(c.ckpt) {
            continue;
        }
        let body = v.body(enc);
        if v.overflow {
            needles.push((i, body[..24].to_vec(), false));
            needles.push((i, body[body.len() - 24..].to_vec(), true));
        } else if body.len() >= 8 {
            needles.push((i, body, false));
        }
    }
    let mut by_prefix: HashMap<[u8; 8], Vec<usize>> = HashMap::new();
    for (k, n) in needles.iter().enumerate() {
        by_prefix.entry(n.1[..8].try_into().unwrap()).or_default().push(k);
    }
    let scan = |hay: &[u8]| -> HashMap<usize, Vec<usize>> {
        let mut out: HashMap<usize, Vec<usize>> = HashMap::new();
        for (pos, w) in hay.windows(8).enumerate() {
            if let Some(ks) = by_prefix.get(<&[u8; 8]>::try_from(w).unwrap()) {
                for &k in ks {
                    let n = &needles[k].1;
                    if hay.get(pos..pos + n.len()) == Some(&n[..]) {
                        out.entry(k).or_default().push(pos);
                    }
                }
            }
        }
        out
    };
    let in_db = scan(&db);
    let in_wal = scan(&wal);
    let mut heads: HashMap<usize, Presence> = HashMap::new();
    let mut tails: HashMap<usize, bool> = HashMap::new();
    for (k, (i, _, tail)) in needles.iter().enumerate() {
        let (d, w) = (in_db.get(&k).cloned().unwrap_or_default(), in_wal.get(&k).cloned().unwrap_or_default());
        if *tail {
            *tails.entry(*i).or_default() |= !d.is_empty() || !w.is_empty();
        } else {
            heads.insert(*i, Presence { db: d, wal: w });
        }
    }
    for (i, v) in c.versions.iter().enumerate() {
        let Some(p) = heads.get(&i) else { continue };
        let class = if v.overflow && !tails.get(&i).copied().unwrap_or(false) && !(p.db.is_empty() && p.wal.is_empty())
        {
            // The start survives, the end of the value does not: at best a partial record.
            "overflow_broken"
        } else if !p.db.is_empty() {
            class_of(c, v, p, &free_pages)
        } else if !p.wal.is_empty() {
            "wal_only"
        } else {
            continue;
        };
        let s = m.recall.entry(class).or_default();
        s.present += 1;
        match got.get(&i) {
            Some((true, rid)) => {
                s.exact += 1;
                s.with_rowid += usize::from(*rid);
            }
            Some((false, _)) => s.partial += 1,
            None => {
                if m.missed_examples.len() < 10 {
                    m.missed_examples.push(format!("{class} {} {:?} {:?}", v.table, v.rowid, v.values));
                }
            }
        }
    }
    m
}

/// Write a corpus's evidence and ground truth to `dir` (for the benchmark scripts).
pub fn export(c: &Corpus, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    copy_set(&c.evidence, &dir.join("corpus.db"), true);
    let enc = if c.params.utf16 { TextEncoding::Utf16le } else { TextEncoding::Utf8 };
    let rows: Vec<serde_json::Value> = c
        .versions
        .iter()
        .map(|v| {
            serde_json::json!({
                "table": v.table,
                "rowid": v.rowid,
                "values": v.values.iter().map(canon).collect::<Vec<_>>(),
                "body_hex": v.body(enc).iter().map(|b| format!("{b:02x}")).collect::<String>(),
                "known": v.known(c.ckpt),
                "overflow": v.overflow,
            })
        })
        .collect();
    std::fs::write(dir.join("truth.json"), serde_json::to_vec(&rows).unwrap()).unwrap();
}
