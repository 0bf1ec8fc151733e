//! `--format sqlite`: one new SQLite database (rollback journal mode, so it opens as is in DB
//! Browser for SQLite, pandas or the `sqlite3` shell) with
//! - one table per source table: the table's own column names (no declared types, so every
//!   value keeps the type it had), then the provenance columns (`wi_source`, `wi_state`, ...);
//!   a source table whose name SQLite reserves (`sqlite_*`) or that collides with the tables
//!   below is written as `wi_` + its name;
//! - `wi_tables`: source table → table in this file, row count, provenance prefix;
//! - `wi_evidence`: the evidence files (role, path, size, SHA-256, what was read);
//! - `wi_export`: tool, version, command, command line, time.
//!
//! The bundled SQLite writes a temporary file beside the target that is moved into place when
//! complete; the evidence is never opened by SQLite.

use std::collections::HashSet;
use std::path::Path;

use rusqlite::Connection;
use rusqlite::types::Value as SqlValue;

use super::{Export, ExportError};
use crate::format::record::Value;
use crate::repair::output::AtomicOutput;

/// Tables this export writes besides the source tables.
pub const RESERVED: [&str; 3] = ["wi_tables", "wi_evidence", "wi_export"];

/// An SQL identifier, quoted.
pub fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn sql(v: &Value) -> SqlValue {
    match v {
        Value::Null => SqlValue::Null,
        Value::Integer(i) => SqlValue::Integer(*i),
        Value::Real(r) => SqlValue::Real(*r),
        // Bytes not valid in the encoding: the readable text (the JSON export keeps the bytes).
        Value::Text(t) | Value::TextBytes { text: t, .. } => SqlValue::Text(t.clone()),
        Value::Blob(b) => SqlValue::Blob(b.clone()),
    }
}

/// The name each source table gets in the export (unique without regard to case).
pub fn table_names(e: &Export) -> Vec<String> {
    let mut used: HashSet<String> = RESERVED.iter().map(|r| r.to_string()).collect();
    e.tables
        .iter()
        .map(|t| {
            let lower = t.name.to_ascii_lowercase();
            let base = if lower.starts_with("sqlite_") || used.contains(&lower) || t.name.is_empty() {
                format!("wi_{}", t.name)
            } else {
                t.name.clone()
            };
            let mut name = base.clone();
            let mut n = 2;
            while !used.insert(name.to_ascii_lowercase()) && n < 100_000 {
                name = format!("{base}_{n}");
                n += 1;
            }
            name
        })
        .collect()
}

fn db_err(path: &Path, e: rusqlite::Error) -> ExportError {
    ExportError::Output(format!("{}: writing the export database failed: {e}", path.display()))
}

/// Write the export database to `target`.
pub fn write(e: &Export, target: &Path, force: bool) -> Result<(), ExportError> {
    let out = AtomicOutput::create(target, force)?;
    let tmp = out.temp_path().to_path_buf();
    {
        let err = |x| db_err(target, x);
        let mut c = Connection::open(&tmp).map_err(err)?;
        c.execute_batch("PRAGMA journal_mode=MEMORY; PRAGMA synchronous=OFF;").map_err(err)?;
        let tx = c.transaction().map_err(err)?;
        tx.execute_batch(
            "CREATE TABLE wi_export(name TEXT, value TEXT);
             CREATE TABLE wi_evidence(role TEXT, path TEXT, size INTEGER, sha256 TEXT, read TEXT);
             CREATE TABLE wi_tables(source_table TEXT, export_table TEXT, rows INTEGER, provenance_prefix TEXT);",
        )
        .map_err(err)?;
        for (k, v) in [
            ("tool", "walinspect"),
            ("version", env!("CARGO_PKG_VERSION")),
            ("command", e.command),
            ("command_line", e.command_line.as_str()),
            ("time", e.time.as_str()),
        ] {
            tx.execute("INSERT INTO wi_export VALUES (?1, ?2)", [k, v]).map_err(err)?;
        }
        for f in &e.evidence {
            tx.execute(
                "INSERT INTO wi_evidence VALUES (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![f.role, f.path, i64::try_from(f.size).unwrap_or(i64::MAX), f.sha256, f.read],
            )
            .map_err(err)?;
        }
        for (t, name) in e.tables.iter().zip(table_names(e)) {
            let mut cols: Vec<String> = Vec::new();
            let mut seen: HashSet<String> = HashSet::new();
            for c in t.columns.iter().cloned().chain(t.provenance_columns()) {
                let mut c2 = c.clone();
                let mut n = 2;
                while !seen.insert(c2.to_ascii_lowercase()) && n < 100_000 {
                    c2 = format!("{c}_{n}");
                    n += 1;
                }
                cols.push(c2);
            }
            let list: Vec<String> = cols.iter().map(|c| ident(c)).collect();
            tx.execute_batch(&format!("CREATE TABLE {}({})", ident(&name), list.join(", "))).map_err(err)?;
            let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
            {
                let mut st =
                    tx.prepare(&format!("INSERT INTO {} VALUES ({})", ident(&name), marks.join(", "))).map_err(err)?;
                for r in &t.rows {
                    let vals: Vec<SqlValue> = r.values.iter().chain(r.prov.values().iter()).map(sql).collect();
                    st.execute(rusqlite::params_from_iter(vals)).map_err(err)?;
                }
            }
            tx.execute(
                "INSERT INTO wi_tables VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![t.name, name, t.rows.len() as i64, t.prefix()],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        c.close().map_err(|(_, x)| err(x))?;
    }
    out.commit()
}
