//! Phase 2 of SQLite 3.40's `PRAGMA integrity_check` (the VDBE program `src/pragma.c`
//! generates), re-implemented: every ordinary table is scanned in key order through a cursor
//! and, row by row, in this order —
//!
//! 1. WITHOUT ROWID: the primary key must be greater than the previous row's
//!    (`row not in PRIMARY KEY order for T`);
//! 2. each column in declaration order (the INTEGER PRIMARY KEY skipped): NOT NULL
//!    (`NULL value in T.C`), then the datatype — STRICT (`non-INT value in T.C`, ...), TEXT
//!    affinity holding a number (`NUMERIC value in T.C`), numeric affinity holding text that
//!    converts (`TEXT value in T.C`). `OP_IsType` reads the cursor's record-header cache
//!    without checking it is current, and every result row invalidates that cache; after a
//!    message in a row, a later column beyond what the next `OP_Column` re-parsed reads as its
//!    DEFAULT's type (NULL). 3.40 really reports e.g. `NULL value in T.D` for a non-NULL D that
//!    way, and so does this;
//! 3. each index in the table's index list (the WITHOUT ROWID primary key skipped): the key
//!    built from the row must be found by a descent of the index b-tree
//!    (`row N missing from index I`, N the scan ordinal); for a UNIQUE index whose key has no
//!    NULL in a nullable column, the next entry must be greater over the key columns
//!    (`non-unique entry in index I`);
//!
//! then, after the scan, each index's entry count must equal the rows counted for it
//! (`wrong # of entries in index I`). Each message is one result row and costs one unit of the
//! error budget Phase 1 left; at zero the program halts. A cursor that meets corruption makes
//! SQLite stop the statement with "database disk image is malformed": that is recorded with
//! the page the cursor refused. CHECK constraints, partial and expression indexes and
//! collations other than BINARY, NOCASE and RTRIM are not evaluated: those are listed as
//! skipped, never guessed.

use rayon::prelude::*;

use super::cursor::{Corrupt, Cursor, Geometry};
use super::integrity::{Message, Reader};
use super::keys::{self, Coll, KeyPart, Mem, T_BLOB, T_FLOAT, T_INT, T_NULL, T_TEXT};
use super::roots::RootEntry;
use crate::analysis::findings::Code;
use crate::forensics::schema::{
    Affinity, IndexDef, KeyColumn, SchemaEntry, TableDef, parse_create_index, parse_create_table,
};
use crate::format::record::{TextEncoding, Value};

/// The result row SQLite 3.40 prints when `OP_Column` finds a record malformed (then halts).
pub const MALFORMED_ROW: &str = "database disk image is malformed";

/// How Phase 2 ended.
#[derive(Clone, Debug, Default)]
pub struct Phase2 {
    pub messages: Vec<Message>,
    /// SQLite stopped with "database disk image is malformed": the page a cursor refused, and
    /// the tree it was reading.
    pub aborted: Option<(u32, u32)>,
    /// What was not evaluated, and why.
    pub skipped: Vec<String>,
    pub rows: u64,
    pub pages_read: u64,
}

/// One index as the check uses it.
#[derive(Clone, Debug)]
struct IndexPlan {
    name: String,
    root: u32,
    unique: bool,
    /// Table columns of the key (None: the rowid), then the rowid or primary-key columns.
    cols: Vec<Option<usize>>,
    n_key: usize,
    parts: Vec<KeyPart>,
    /// Key columns that may hold NULL (not declared NOT NULL).
    nullable: Vec<bool>,
}

/// One table as the check uses it.
#[derive(Clone, Debug)]
struct TablePlan {
    name: String,
    root: u32,
    def: TableDef,
    /// Record position of each declared column (None: VIRTUAL, not stored).
    storage: Vec<Option<usize>>,
    n_nvcol: usize,
    /// WITHOUT ROWID: the primary key's parts over the first record fields.
    pk: Option<Vec<KeyPart>>,
    indexes: Vec<IndexPlan>,
    /// Column checks are not evaluated (a VIRTUAL column needs them).
    skip_columns: bool,
    /// Per declared column: its affinity and its STRICT type mask (computed once).
    aff: Vec<Affinity>,
    strict: Vec<Option<(u8, &'static str)>>,
}

fn coll_of(explicit: Option<&str>, col: Option<&crate::forensics::schema::ColumnDef>) -> Option<Coll> {
    Coll::by_name(explicit.or(col.and_then(|c| c.collation.as_deref())))
}

/// Build the plan of every ordinary table in SQLite's order.
fn plans(entries: &[SchemaEntry], roots: &[RootEntry], skipped: &mut Vec<String>) -> Vec<TablePlan> {
    let mut order: Vec<&str> = Vec::new();
    for r in roots {
        if !order.iter().any(|t| t.eq_ignore_ascii_case(&r.table)) {
            order.push(&r.table);
        }
    }
    let mut out = Vec::new();
    for tname in order {
        if tname == "sqlite_schema" {
            out.push(table_plan("sqlite_master".into(), 1, TableDef::sqlite_schema()));
            continue;
        }
        let Some(t) = entries.iter().find(|e| e.kind == "table" && e.name.eq_ignore_ascii_case(tname)) else {
            continue;
        };
        let Some(sql) = t.sql.as_deref() else { continue };
        if t.rootpage <= 0 {
            continue;
        }
        let def = parse_create_table(&t.name, sql);
        if def.problem.is_some() {
            skipped.push(format!("table {}: its definition could not be read", t.name));
            continue;
        }
        let mut plan = table_plan(t.name.clone(), u32::try_from(t.rootpage).unwrap_or(0), def);
        if plan.def.has_check {
            skipped.push(format!("table {}: CHECK constraints are not evaluated", t.name));
        }
        if plan.skip_columns {
            skipped.push(format!("table {}: NOT NULL and type checks of generated columns", t.name));
        }
        let autos = auto_keys(&plan.def);
        for r in roots.iter().filter(|r| r.index && r.table.eq_ignore_ascii_case(&t.name) && r.name != t.name) {
            let Some(e) = entries.iter().find(|e| e.kind == "index" && e.name == r.name) else { continue };
            let idef = match e.sql.as_deref() {
                Some(s) => parse_create_index(s),
                None => auto_index(&e.name, &t.name, &autos),
            };
            let planned = idef
                .ok_or_else(|| "its definition could not be read".to_string())
                .and_then(|d| index_plan(&plan, &e.name, r.root, d));
            match planned {
                Ok(ip) => plan.indexes.push(ip),
                Err(why) => skipped.push(format!("index {}: {why}", e.name)),
            }
        }
        out.push(plan);
    }
    out
}

fn table_plan(name: String, root: u32, def: TableDef) -> TablePlan {
    let n = def.columns.len();
    let mut storage = vec![None; n];
    let stored: Vec<usize> = (0..n).filter(|&i| def.columns.get(i).is_some_and(|c| c.stored)).collect();
    let order: Vec<usize> = if def.without_rowid {
        let mut o = def.pk.clone();
        o.extend(stored.iter().copied().filter(|c| !def.pk.contains(c)));
        o
    } else {
        stored.clone()
    };
    for (pos, &c) in order.iter().enumerate() {
        if let Some(s) = storage.get_mut(c) {
            *s = Some(pos);
        }
    }
    let pk = def.without_rowid.then(|| {
        let primary = def.keys.iter().find(|k| k.primary);
        def.pk
            .iter()
            .map(|&c| {
                let kc = primary.and_then(|k| k.columns.iter().find(|x| x.column == Some(c)));
                KeyPart {
                    coll: coll_of(kc.and_then(|k| k.collation.as_deref()), def.columns.get(c)).unwrap_or(Coll::Binary),
                    desc: kc.is_some_and(|k| k.desc),
                }
            })
            .collect()
    });
    let skip_columns = def
        .columns
        .iter()
        .any(|c| !c.stored && (c.not_null || (def.strict && !is_any(&c.decl_type)) || c.affinity() != Affinity::Blob));
    let aff = def.columns.iter().map(|c| c.affinity()).collect();
    let strict = def.columns.iter().map(|c| strict_mask(&c.decl_type)).collect();
    TablePlan { name, root, n_nvcol: stored.len(), storage, pk, indexes: Vec::new(), skip_columns, aff, strict, def }
}

fn is_any(decl: &str) -> bool {
    decl.eq_ignore_ascii_case("ANY")
}

/// The constraints that got an automatic index, in creation order (`sqlite_autoindex_T_N`).
fn auto_keys(def: &TableDef) -> Vec<Vec<KeyColumn>> {
    let mut out: Vec<Vec<KeyColumn>> = Vec::new();
    for k in &def.keys {
        if k.primary && (def.without_rowid || (def.ipk.is_some() && k.columns.len() == 1)) {
            continue;
        }
        let same = |a: &Vec<KeyColumn>| {
            a.len() == k.columns.len()
                && a.iter().zip(&k.columns).all(|(x, y)| {
                    x.column == y.column
                        && x.collation.as_deref().map(str::to_ascii_uppercase)
                            == y.collation.as_deref().map(str::to_ascii_uppercase)
                })
        };
        if out.iter().any(same) {
            continue;
        }
        out.push(k.columns.clone());
    }
    out
}

fn auto_index(name: &str, table: &str, autos: &[Vec<KeyColumn>]) -> Option<IndexDef> {
    let prefix = format!("sqlite_autoindex_{table}_");
    let n: usize = name.strip_prefix(&prefix)?.parse().ok()?;
    let cols = autos.get(n.checked_sub(1)?)?.clone();
    Some(IndexDef { unique: true, table: table.into(), columns: cols, has_expression: false, partial: false })
}

fn index_plan(t: &TablePlan, name: &str, root: u32, mut d: IndexDef) -> Result<IndexPlan, String> {
    if d.partial {
        return Err("partial index (its WHERE clause is not evaluated)".into());
    }
    if d.has_expression {
        return Err("index on an expression (not evaluated)".into());
    }
    if !d.resolve(&t.def) {
        return Err("names a column the table does not have".into());
    }
    let mut cols = Vec::new();
    let mut parts = Vec::new();
    let mut nullable = Vec::new();
    for c in &d.columns {
        let Some(ci) = c.column else { return Err("unknown column".into()) };
        let col = t.def.columns.get(ci);
        if col.is_some_and(|c| !c.stored) {
            return Err("index on a VIRTUAL column (not evaluated)".into());
        }
        let coll = coll_of(c.collation.as_deref(), col)
            .ok_or_else(|| "uses a collation other than BINARY, NOCASE or RTRIM".to_string())?;
        let is_rowid = t.def.ipk == Some(ci);
        cols.push(if is_rowid { None } else { Some(ci) });
        parts.push(KeyPart { coll, desc: c.desc });
        nullable.push(!is_rowid && !col.is_some_and(|c| c.not_null));
    }
    let n_key = cols.len();
    match &t.pk {
        None => {
            cols.push(None);
            parts.push(KeyPart { coll: Coll::Binary, desc: false });
        }
        Some(pk_parts) => {
            for (&pc, part) in t.def.pk.iter().zip(pk_parts) {
                let dup = cols.iter().zip(&parts).take(n_key).any(|(c, p)| *c == Some(pc) && p.coll == part.coll);
                if !dup {
                    cols.push(Some(pc));
                    parts.push(*part);
                }
            }
        }
    }
    Ok(IndexPlan { name: name.into(), root, unique: d.unique, cols, n_key, parts, nullable })
}

/// The record of the current row and `OP_Column`'s header cache over it.
struct Row {
    payload: Vec<u8>,
    fields: keys::Fields,
    rowid: i64,
    /// `nHdrParsed` and whether the cache is current (`cacheStatus`).
    parsed: usize,
    valid: bool,
}

impl Row {
    /// `OP_Column` of record field `p2`.
    fn column(&mut self, p2: usize) {
        if !self.valid {
            self.parsed = 0;
            self.valid = true;
        }
        self.parsed = self.parsed.max(self.fields.types.len().min(p2 + 1));
    }
}

struct Task<'r, 'a> {
    t: &'r TablePlan,
    g: Geometry,
    r: &'r Reader<'a>,
    budget: u32,
    msgs: Vec<Message>,
    rows: u64,
    loads: u64,
    /// The program halted after a row (budget or a malformed record).
    halted: bool,
}

/// The outcome of one table.
struct TableRun {
    msgs: Vec<Message>,
    aborted: Option<(u32, u32)>,
    halted: bool,
    rows: u64,
    loads: u64,
}

impl Task<'_, '_> {
    /// A result row; false when the budget is spent (SQLite halts).
    fn emit(&mut self, code: Code, text: String, page: Option<u32>, root: u32, row: Option<&mut Row>) -> bool {
        if let Some(r) = row {
            r.valid = false;
        }
        self.msgs.push(Message { code, text, page, root: Some(root) });
        self.budget = self.budget.saturating_sub(1);
        self.budget > 0
    }

    fn mem_of(&self, v: &Value, aff: Affinity) -> Mem {
        let text = |s: &str| match self.g.enc {
            TextEncoding::Utf8 => s.as_bytes().to_vec(),
            TextEncoding::Utf16le => s.encode_utf16().flat_map(u16::to_le_bytes).collect(),
            TextEncoding::Utf16be => s.encode_utf16().flat_map(u16::to_be_bytes).collect(),
        };
        match (v, aff) {
            (Value::Null, _) => Mem::Null,
            (Value::Integer(i), Affinity::Text) => Mem::Text(text(&i.to_string())),
            (Value::Integer(i), _) => Mem::Int(*i),
            (Value::Real(x), Affinity::Text) => Mem::Text(text(&x.to_string())),
            (Value::Real(x), _) => Mem::Real(*x),
            (Value::Text(s), Affinity::Integer | Affinity::Real | Affinity::Numeric)
                if keys::numeric_text(s.as_bytes(), TextEncoding::Utf8) =>
            {
                let t = s.trim();
                t.parse::<i64>().map(Mem::Int).unwrap_or_else(|_| Mem::Real(t.parse::<f64>().unwrap_or(0.0)))
            }
            (Value::Text(s), _) => Mem::Text(text(s)),
            (Value::TextBytes { bytes, .. }, _) => Mem::Text(bytes.clone()),
            (Value::Blob(b), _) => Mem::Blob(b.clone()),
        }
    }

    /// Table column `j` of the row (`OP_Column`, the rowid for the INTEGER PRIMARY KEY, the
    /// DEFAULT for a field the record is too short to hold).
    fn value(&self, row: &mut Row, j: Option<usize>) -> Mem {
        let Some(j) = j else { return Mem::Int(row.rowid) };
        if self.t.def.ipk == Some(j) {
            return Mem::Int(row.rowid);
        }
        let Some(p) = self.t.storage.get(j).copied().flatten() else { return Mem::Null };
        row.column(p);
        match keys::field(&row.payload, &row.fields, p) {
            Some(m) => m,
            None => self.default_of(j),
        }
    }

    fn default_of(&self, j: usize) -> Mem {
        let c = self.t.def.columns.get(j);
        match c.and_then(|c| c.default.as_ref()) {
            Some(v) => self.mem_of(v, self.t.aff.get(j).copied().unwrap_or(Affinity::Blob)),
            None => Mem::Null,
        }
    }

    fn run(&mut self) -> TableRun {
        let res = self.scan();
        TableRun {
            msgs: std::mem::take(&mut self.msgs),
            aborted: res.err().map(|c| (c.page, self.t.root)),
            halted: self.halted,
            rows: self.rows,
            loads: self.loads,
        }
    }

    /// The scan; Err when a cursor met corruption (the statement stops there).
    fn scan(&mut self) -> Result<(), Corrupt> {
        let t = self.t;
        let intkey = t.pk.is_none();
        let mut cur = Cursor::new(self.r, self.g, t.root, intkey);
        let mut idx: Vec<Cursor<'_, '_>> =
            t.indexes.iter().map(|i| Cursor::new(self.r, self.g, i.root, false)).collect();
        let mut counts = vec![0u64; t.indexes.len()];
        let mut prev_pk: Option<Vec<Mem>> = None;
        let mut more = cur.first()?;
        let mut n: u64 = 0;
        let result = (|| -> Result<bool, Corrupt> {
            while more {
                n += 1;
                self.rows = n;
                let page = cur.position().map_or(t.root, |p| p.0);
                let payload = cur.payload()?;
                let rowid = if intkey { cur.rowid()? } else { 0 };
                let last = t.n_nvcol.saturating_sub(1);
                let peek = cur.payload_peek();
                let Ok(fields) = keys::parse_fields_at(&payload, &peek, last) else {
                    // OP_Column's op_column_corrupt: the program's last rows print SQLite's
                    // error text as a result row and halt.
                    self.msgs.push(Message {
                        code: Code::IndexScanAborted,
                        text: MALFORMED_ROW.into(),
                        page: Some(page),
                        root: Some(t.root),
                    });
                    self.halted = true;
                    return Ok(false);
                };
                let mut row = Row { payload, fields, rowid, parsed: 0, valid: false };
                row.column(last);
                if let Some(parts) = &t.pk {
                    let np = parts.len();
                    if let Some(prev) = &prev_pk {
                        let c =
                            keys::record_compare(&row.payload, prev, parts, np, std::cmp::Ordering::Less, self.g.enc)
                                .map_err(|_| Corrupt { page })?;
                        if c != std::cmp::Ordering::Greater
                            && !prev.first().is_some_and(Mem::is_null)
                            && !self.emit(
                                Code::IndexPkOrder,
                                format!("row not in PRIMARY KEY order for {}", t.name),
                                Some(page),
                                t.root,
                                Some(&mut row),
                            )
                        {
                            return Ok(false);
                        }
                    }
                    // r2 := the key, by OP_Column of each key field (re-parsing a stale cache).
                    let key: Vec<Mem> = (0..np)
                        .map(|i| {
                            row.column(i);
                            keys::field(&row.payload, &row.fields, i).unwrap_or(Mem::Null)
                        })
                        .collect();
                    prev_pk = Some(key);
                }
                if !t.skip_columns && !self.columns(&mut row, page) {
                    return Ok(false);
                }
                for (j, ip) in t.indexes.iter().enumerate() {
                    let key: Vec<Mem> = ip.cols.iter().map(|&c| self.value(&mut row, c)).collect();
                    if let Some(c) = counts.get_mut(j) {
                        *c += 1;
                    }
                    let Some(ic) = idx.get_mut(j) else { continue };
                    let found = ic.seek(&key, &ip.parts, ip.cols.len())?;
                    let at = ic.position().map(|p| p.0);
                    if !found {
                        if !self.emit(
                            Code::IndexMissingEntry,
                            format!("row {n} missing from index {}", ip.name),
                            at,
                            ip.root,
                            Some(&mut row),
                        ) {
                            return Ok(false);
                        }
                        continue;
                    }
                    if ip.unique {
                        let has_null = key.iter().zip(&ip.nullable).take(ip.n_key).any(|(k, &nb)| nb && k.is_null());
                        if has_null || !ic.advance()? {
                            continue;
                        }
                        let c = ic.compare_entry(&key, &ip.parts, ip.n_key)?;
                        if c != std::cmp::Ordering::Greater {
                            let at = ic.position().map(|p| p.0);
                            if !self.emit(
                                Code::IndexNonUnique,
                                format!("non-unique entry in index {}", ip.name),
                                at,
                                ip.root,
                                Some(&mut row),
                            ) {
                                return Ok(false);
                            }
                        }
                    }
                }
                more = cur.advance()?;
            }
            Ok(true)
        })();
        self.loads = cur.loads + idx.iter().map(|c| c.loads).sum::<u64>();
        if !result? {
            return Ok(());
        }
        for (j, ip) in t.indexes.iter().enumerate() {
            let Some(ic) = idx.get_mut(j) else { continue };
            let have = ic.count()?;
            self.loads += ic.loads;
            if have != counts.get(j).copied().unwrap_or(0)
                && !self.emit(
                    Code::IndexEntryCount,
                    format!("wrong # of entries in index {}", ip.name),
                    None,
                    ip.root,
                    None,
                )
            {
                return Ok(());
            }
        }
        Ok(())
    }

    /// The NOT NULL and datatype checks of one row; false when the budget is spent.
    fn columns(&mut self, row: &mut Row, page: u32) -> bool {
        let t = self.t;
        for (j, c) in t.def.columns.iter().enumerate() {
            if t.def.ipk == Some(j) {
                continue;
            }
            let strict_type = t.strict.get(j).copied().flatten();
            let aff = t.aff.get(j).copied().unwrap_or(Affinity::Blob);
            let do_type = if t.def.strict { strict_type.is_some() } else { aff != Affinity::Blob };
            if !c.not_null && !do_type {
                continue;
            }
            let Some(p3) = t.storage.get(j).copied().flatten() else { continue };
            // OP_IsType: the cached header, or the DEFAULT's type past what is parsed.
            let class = if p3 < row.parsed {
                row.fields.types.get(p3).map_or(T_NULL, |&(st, _)| keys::serial_class(st))
            } else {
                self.default_of(j).class()
            };
            let msg = if c.not_null && class == T_NULL {
                Some(format!("NULL value in {}.{}", t.name, c.name))
            } else if !do_type {
                None
            } else if t.def.strict {
                let (mask, name) = strict_type.unwrap_or((0x1f, "ANY"));
                (class & mask == 0).then(|| format!("non-{name} value in {}.{}", t.name, c.name))
            } else if aff == Affinity::Text {
                (class & (T_NULL | T_TEXT | T_BLOB) == 0).then(|| format!("NUMERIC value in {}.{}", t.name, c.name))
            } else if class & (T_NULL | T_INT | T_FLOAT | T_BLOB) != 0 {
                None
            } else {
                // OP_Column into a register, NUMERIC affinity, then the type of the result.
                let v = self.value(row, Some(j));
                let numeric = matches!(&v, Mem::Text(b) if keys::numeric_text(b, self.g.enc))
                    || matches!(v, Mem::Int(_) | Mem::Real(_));
                numeric.then(|| format!("TEXT value in {}.{}", t.name, c.name))
            };
            if let Some(m) = msg {
                let code = if m.starts_with("NULL") { Code::IndexNullValue } else { Code::IndexValueType };
                if !self.emit(code, m, Some(page), t.root, Some(row)) {
                    return false;
                }
            }
        }
        true
    }
}

/// A STRICT column type's `OP_IsType` mask and name (None for ANY).
fn strict_mask(decl: &str) -> Option<(u8, &'static str)> {
    match decl.to_ascii_uppercase().as_str() {
        "BLOB" => Some((T_BLOB | T_NULL, "BLOB")),
        "INT" => Some((T_INT | T_NULL, "INT")),
        "INTEGER" => Some((T_INT | T_NULL, "INTEGER")),
        "REAL" => Some((T_INT | T_FLOAT | T_NULL, "REAL")),
        "TEXT" => Some((T_TEXT | T_NULL, "TEXT")),
        _ => None,
    }
}

/// Run Phase 2 with what Phase 1 left of the budget (`budget` > 0). Tables run in parallel;
/// their results are taken in SQLite's order until the budget is spent or a scan stopped.
pub fn phase2<'a>(
    make_reader: &(dyn Fn() -> Reader<'a> + Sync),
    g: Geometry,
    entries: &[SchemaEntry],
    roots: &[RootEntry],
    budget: u32,
) -> Phase2 {
    let mut out = Phase2::default();
    if budget == 0 {
        return out;
    }
    let tables = plans(entries, roots, &mut out.skipped);
    let runs: Vec<TableRun> = tables
        .par_iter()
        .map_init(make_reader, |rd, t| {
            let mut task = Task { t, g, r: rd, budget, msgs: Vec::new(), rows: 0, loads: 0, halted: false };
            task.run()
        })
        .collect();
    let mut left = budget;
    for run in runs {
        out.rows += run.rows;
        out.pages_read += run.loads;
        for m in run.msgs {
            out.messages.push(m);
            left -= 1;
            if left == 0 {
                return out;
            }
        }
        if run.aborted.is_some() {
            out.aborted = run.aborted;
            return out;
        }
        if run.halted {
            return out;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_masks() {
        assert_eq!(strict_mask("int"), Some((0x11, "INT")));
        assert_eq!(strict_mask("REAL"), Some((0x13, "REAL")));
        assert_eq!(strict_mask("ANY"), None);
    }

    #[test]
    fn autoindex_keys_in_creation_order() {
        let d =
            parse_create_table("t", "CREATE TABLE t(a INTEGER PRIMARY KEY, b UNIQUE, c, UNIQUE(c COLLATE nocase, b))");
        let k = auto_keys(&d);
        assert_eq!(k.len(), 2);
        assert_eq!(k[0][0].column, Some(1));
        assert_eq!(k[1][0].collation.as_deref(), Some("nocase"));
        let w = parse_create_table("w", "CREATE TABLE w(k TEXT PRIMARY KEY, v UNIQUE) WITHOUT ROWID");
        assert_eq!(auto_keys(&w).len(), 1);
    }
}
