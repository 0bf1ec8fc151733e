//! `timeline`, `history` and `salvage` with `--format jsonl|csv|sqlite|xlsx -o PATH`: each export
//! is read back (CSV by an RFC 4180 reader here, SQLite by rusqlite, the workbook by calamine)
//! and must hold exactly the rows `--json` prints, with their provenance. The fixture is made by
//! real SQLite with odd table names, columns that collide with the provenance names, a table
//! named like an export table, values with commas, quotes and newlines, blobs, reals, NULLs,
//! empty strings and large integers; the evidence must be unchanged and never overwritten.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use serde_json::Value;

use crate::support::common::{Unchanged, run, sibling, snapshot, tempdir, wal_db};
use crate::support::tree::sha256;

/// A comparable value.
#[derive(Clone, Debug, PartialEq)]
enum V {
    Null,
    I(i64),
    R(u64),
    T(String),
    B(Vec<u8>),
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn real(s: &str) -> f64 {
    match s {
        "inf" => f64::INFINITY,
        "-inf" => f64::NEG_INFINITY,
        "nan" => f64::NAN,
        _ => s.parse().unwrap(),
    }
}

fn from_json(v: &Value) -> V {
    match v {
        Value::Null => V::Null,
        Value::Number(n) => match n.as_i64() {
            Some(i) => V::I(i),
            None => V::R(n.as_f64().unwrap().to_bits()),
        },
        Value::String(s) => V::T(s.clone()),
        Value::Object(m) if m.contains_key("hex") => V::B(unhex(m["hex"].as_str().unwrap())),
        Value::Object(m) => V::R(real(m["real"].as_str().unwrap()).to_bits()),
        other => panic!("unexpected value {other}"),
    }
}

fn from_sql(v: rusqlite::types::ValueRef<'_>) -> V {
    use rusqlite::types::ValueRef::*;
    match v {
        Null => V::Null,
        Integer(i) => V::I(i),
        Real(r) => V::R(r.to_bits()),
        Text(t) => V::T(String::from_utf8(t.to_vec()).unwrap()),
        Blob(b) => V::B(b.to_vec()),
    }
}

/// The evidence: four tables, an earlier WAL generation (inserts, updates, a delete), six
/// commits in the current one (updates, an insert updated again, a delete) and an uncommitted
/// tail.
fn fixture(dir: &Path) -> PathBuf {
    let live = dir.join("live.db");
    let c = wal_db(&live, 1024);
    c.execute_batch(
        r#"PRAGMA secure_delete=OFF;
        CREATE TABLE "odd name, with ""quotes"" / slash"(id INTEGER PRIMARY KEY, note TEXT, amount REAL, data BLOB);
        CREATE TABLE clash(id INTEGER PRIMARY KEY, wi_source TEXT, "WI_STATE" TEXT, wi_key INTEGER);
        CREATE TABLE wi_evidence(k TEXT PRIMARY KEY, v) WITHOUT ROWID;
        CREATE TABLE plain(id INTEGER PRIMARY KEY, v TEXT);"#,
    )
    .unwrap();
    let odd = r#""odd name, with ""quotes"" / slash""#;
    let png: Vec<u8> = {
        // A real 1x1 PNG (so the workbook gets a thumbnail).
        unhex(
            "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360f8cf000003010100c9fe92ef0000000049454e44ae426082",
        )
    };
    for i in 1..=4i64 {
        c.execute(
            &format!("INSERT INTO {odd} VALUES (?1, ?2, ?3, ?4)"),
            rusqlite::params![i, format!("line one, {i}\nline \"two\"\r\n"), i as f64 / 10.0, vec![i as u8, 0, 255]],
        )
        .unwrap();
    }
    c.execute(&format!("INSERT INTO {odd} VALUES (5, '', NULL, ?1)"), [png]).unwrap();
    c.execute("INSERT INTO clash VALUES (1, 'theirs', 'mine', 9223372036854775807)", []).unwrap();
    c.execute("INSERT INTO wi_evidence VALUES ('a,b', -1.5e300)", []).unwrap();
    for i in 0..6 {
        c.execute("INSERT INTO plain(v) VALUES (?1)", [format!("v{i}")]).unwrap();
    }
    for k in 0..4 {
        c.execute("UPDATE plain SET v = ?1 WHERE id = 2", [format!("version {k}")]).unwrap();
    }
    c.execute("DELETE FROM plain WHERE id = 3", []).unwrap();
    // The next writer restarts the WAL: everything above is an earlier generation beyond frame 2.
    c.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(())).unwrap();
    c.execute("UPDATE plain SET v = 'after restart' WHERE id = 1", []).unwrap();
    c.execute("UPDATE clash SET \"WI_STATE\" = 'changed' WHERE id = 1", []).unwrap();
    c.execute(&format!("INSERT INTO {odd} VALUES (6, 'new,\nrow', 2.5, x'00')"), []).unwrap();
    c.execute(&format!("UPDATE {odd} SET note = 'newer \"6\"' WHERE id = 6"), []).unwrap();
    c.execute("DELETE FROM plain WHERE id = 4", []).unwrap();
    c.execute("INSERT INTO wi_evidence VALUES ('k2', 'v2')", []).unwrap();
    // An uncommitted tail: a transaction larger than the cache spills before its commit.
    c.execute_batch("PRAGMA cache_size=2; BEGIN").unwrap();
    for i in 100..160 {
        c.execute("INSERT INTO plain(id, v) VALUES (?1, ?2)", rusqlite::params![i, "t".repeat(300)]).unwrap();
    }
    let ev = snapshot(&live, dir, "evidence.db");
    c.execute_batch("ROLLBACK").unwrap();
    ev
}

/// RFC 4180 reader: rows of fields, `None` for an empty unquoted field.
fn parse_csv(text: &str) -> Vec<Vec<Option<String>>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        let mut field = String::new();
        let mut quoted = false;
        if chars.peek() == Some(&'"') {
            quoted = true;
            chars.next();
            while let Some(c) = chars.next() {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        field.push('"');
                    } else {
                        break;
                    }
                } else {
                    field.push(c);
                }
            }
        }
        while let Some(&c) = chars.peek() {
            if c == ',' || c == '\r' || c == '\n' {
                break;
            }
            field.push(c);
            chars.next();
        }
        row.push(if quoted || !field.is_empty() { Some(field) } else { None });
        match chars.next() {
            Some(',') => continue,
            Some('\r') => {
                assert_eq!(chars.next(), Some('\n'));
                rows.push(std::mem::take(&mut row));
            }
            Some('\n') => rows.push(std::mem::take(&mut row)),
            None => {
                if row.len() > 1 || row[0].is_some() {
                    rows.push(row);
                }
                break;
            }
            Some(c) => panic!("unexpected {c:?}"),
        }
        if chars.peek().is_none() {
            break;
        }
    }
    rows
}

fn typed(cell: &Option<String>, ty: char) -> V {
    match (ty, cell) {
        ('n', None) => V::Null,
        ('i', Some(s)) => V::I(s.parse().unwrap()),
        ('r', Some(s)) => V::R(real(s).to_bits()),
        ('t', Some(s)) => V::T(s.clone()),
        ('b', Some(s)) => V::B(unhex(s)),
        other => panic!("cell {other:?}"),
    }
}

/// One exported row: source table, values, and (frame, page, key, state) provenance.
#[derive(Clone, Debug, PartialEq)]
struct Row {
    table: String,
    values: Vec<V>,
    frame: Option<i64>,
    page: Option<i64>,
    key: Option<String>,
    state: String,
}

fn key_text(k: &Value) -> Option<String> {
    match k {
        Value::Null => None,
        Value::Number(n) => Some(n.to_string()),
        Value::Array(a) => Some(
            a.iter()
                .map(|x| match from_json(x) {
                    V::T(s) => s,
                    V::I(i) => i.to_string(),
                    other => format!("{other:?}"),
                })
                .collect::<Vec<_>>()
                .join(", "),
        ),
        other => panic!("key {other}"),
    }
}

/// The rows `salvage --json` lists, as the export must hold them (state left empty: compared
/// separately).
fn salvage_rows(doc: &Value) -> Vec<Row> {
    doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| Row {
            table: r["table"].as_str().unwrap_or("wi_unattributed").to_string(),
            values: r["values"].as_array().unwrap().iter().map(from_json).collect(),
            frame: r["frames"][0].as_i64(),
            page: r["page"].as_i64(),
            key: key_text(&r["key"]),
            state: String::new(),
        })
        .collect()
}

/// The changes `timeline --json --values` lists, one row each (new values, or the old ones of a
/// deletion).
fn timeline_rows(doc: &Value) -> Vec<Row> {
    let mut out = Vec::new();
    for c in doc["commits"].as_array().unwrap() {
        for (table, t) in c["rows"].as_object().unwrap() {
            for ch in t["values"].as_array().unwrap() {
                let vals = if ch["new"].is_null() { &ch["old"] } else { &ch["new"] };
                out.push(Row {
                    table: table.clone(),
                    values: vals.as_array().unwrap().iter().map(from_json).collect(),
                    frame: c["frame"].as_i64(),
                    page: None,
                    key: key_text(&ch["key"]),
                    state: String::new(),
                });
            }
        }
    }
    out
}

/// Pads each expected row with NULLs to its table's width in the export.
fn pad(rows: &mut [Row], widths: &BTreeMap<String, usize>) {
    for r in rows {
        r.values.resize(widths[&r.table], V::Null);
    }
}

/// Rows from an exported SQLite database, through `wi_tables`.
fn read_sqlite(path: &Path) -> (Vec<Row>, BTreeMap<String, usize>, Connection) {
    let c = Connection::open(path).unwrap();
    let tables: Vec<(String, String, String)> = c
        .prepare("SELECT source_table, export_table, provenance_prefix FROM wi_tables")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut rows = Vec::new();
    let mut widths = BTreeMap::new();
    for (source, export, prefix) in tables {
        let q = format!("SELECT * FROM \"{}\" ORDER BY rowid", export.replace('"', "\"\""));
        let mut st = c.prepare(&q).unwrap();
        let names: Vec<String> = st.column_names().map(|s| s.to_string()).collect();
        let width = names.len() - 10;
        widths.insert(source.clone(), width);
        assert_eq!(names[width], format!("{prefix}source"), "{names:?}");
        let mut q = st.query([]).unwrap();
        while let Some(r) = q.next().unwrap() {
            let p = |n: &str| names.iter().position(|x| *x == format!("{prefix}{n}")).unwrap();
            rows.push(Row {
                table: source.clone(),
                values: (0..width).map(|i| from_sql(r.get_ref(i).unwrap())).collect(),
                frame: r.get(p("frame")).unwrap(),
                page: r.get(p("page")).unwrap(),
                key: r.get(p("key")).unwrap(),
                state: r.get(p("state")).unwrap(),
            });
        }
    }
    drop(c);
    (rows, widths, Connection::open(path).unwrap())
}

/// Rows from an exported CSV folder, through manifest.csv.
fn read_csv(dir: &Path) -> (Vec<Row>, Vec<Vec<Option<String>>>) {
    let manifest = parse_csv(&std::fs::read_to_string(dir.join("manifest.csv")).unwrap());
    assert_eq!(manifest[0], ["record", "name", "value", "file", "size", "sha256"].map(|s| Some(s.to_string())));
    let mut rows = Vec::new();
    for m in manifest.iter().filter(|m| m[0].as_deref() == Some("table")) {
        let source = m[1].clone().unwrap();
        let file = m[3].clone().unwrap();
        let t = parse_csv(&std::fs::read_to_string(dir.join(&file)).unwrap());
        let header: Vec<String> = t[0].iter().map(|h| h.clone().unwrap()).collect();
        let width = header.len() - 11;
        let prefix = header[width].strip_suffix("source").unwrap().to_string();
        let p = |n: &str| header.iter().position(|x| *x == format!("{prefix}{n}")).unwrap();
        assert_eq!(t.len() - 1, m[2].as_deref().unwrap().parse::<usize>().unwrap());
        for r in &t[1..] {
            let types: Vec<char> = r[p("types")].clone().unwrap_or_default().chars().collect();
            rows.push(Row {
                table: source.clone(),
                values: (0..width).map(|i| typed(&r[i], types[i])).collect(),
                frame: r[p("frame")].as_ref().map(|s| s.parse().unwrap()),
                page: r[p("page")].as_ref().map(|s| s.parse().unwrap()),
                key: r[p("key")].clone(),
                state: r[p("state")].clone().unwrap(),
            });
        }
    }
    (rows, manifest)
}

fn read_jsonl(path: &Path) -> Vec<Row> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            Row {
                table: v["table"].as_str().unwrap().to_string(),
                values: v["values"].as_array().unwrap().iter().map(from_json).collect(),
                frame: v["wi_frame"].as_i64(),
                page: v["wi_page"].as_i64(),
                key: v["wi_key"].as_str().map(str::to_string),
                state: v["wi_state"].as_str().unwrap().to_string(),
            }
        })
        .collect()
}

fn without_state(rows: &[Row]) -> Vec<Row> {
    rows.iter().map(|r| Row { state: String::new(), ..r.clone() }).collect()
}

/// Rows grouped by table, each table's rows in their order (an export is read table by table).
fn by_table(rows: &[Row]) -> Vec<Row> {
    let mut v = rows.to_vec();
    v.sort_by(|a, b| a.table.cmp(&b.table));
    v
}

fn export(args: &[&str], out: &Path) -> crate::support::common::Run {
    let mut a = args.to_vec();
    a.extend_from_slice(&["-o", out.to_str().unwrap()]);
    run(&a)
}

#[test]
fn salvage_exports_round_trip() {
    let d = tempdir();
    let ev = fixture(d.path());
    let db = ev.to_str().unwrap();
    // The files' hashes, read before the guard records their access times.
    let mut expected: Vec<(String, String, i64, String)> = [("db", ""), ("shm", "-shm"), ("wal", "-wal")]
        .iter()
        .map(|(role, sfx)| {
            let p = sibling(&ev, sfx);
            let b = std::fs::read(&p).unwrap();
            (role.to_string(), p.display().to_string(), b.len() as i64, sha256(&b))
        })
        .collect();
    expected.sort();
    let guard = Unchanged::record(&ev);
    let doc: Value = serde_json::from_str(&run(&["salvage", db, "--json"]).stdout).unwrap();
    let mut want = salvage_rows(&doc);
    assert!(want.len() >= 5, "the fixture leaves rows to salvage: {}", want.len());
    let tables: Vec<&str> = want.iter().map(|r| r.table.as_str()).collect();
    assert!(tables.contains(&"plain"), "{tables:?}");

    // SQLite.
    let out = d.path().join("salvage.sqlite");
    let r = export(&["salvage", db, "--format", "sqlite"], &out);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (got, widths, c) = read_sqlite(&out);
    pad(&mut want, &widths);
    assert_eq!(by_table(&without_state(&got)), by_table(&want));
    // The evidence table: every file with its SHA-256.
    let mut ev_rows: Vec<(String, String, i64, String)> = c
        .prepare("SELECT role, path, size, sha256 FROM wi_evidence ORDER BY role")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    ev_rows.sort();
    assert_eq!(ev_rows, expected);
    let states: Vec<String> = got.iter().map(|r| r.state.clone()).collect();
    assert!(states.iter().any(|s| s == "earlier-generation"), "{states:?}");
    assert!(states.iter().any(|s| s == "uncommitted"), "{states:?}");
    // Opens as is: rollback journal mode, integrity ok.
    let mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_ne!(mode, "wal");
    let ok: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(ok, "ok");

    // CSV.
    let dir = d.path().join("salvage-csv");
    let r = export(&["salvage", db, "--format", "csv"], &dir);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (csv_rows, manifest) = read_csv(&dir);
    assert_eq!(by_table(&without_state(&csv_rows)), by_table(&want));
    assert_eq!(csv_rows, got, "CSV and SQLite carry the same provenance");
    let shas: Vec<String> =
        manifest.iter().filter(|m| m[0].as_deref() == Some("evidence")).map(|m| m[5].clone().unwrap()).collect();
    assert_eq!(shas.len(), 3);
    assert!(expected.iter().all(|e| shas.contains(&e.3)));

    // JSON Lines.
    let jl = d.path().join("salvage.jsonl");
    let r = export(&["salvage", db, "--format", "jsonl"], &jl);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut jrows = read_jsonl(&jl);
    pad(&mut jrows, &widths);
    assert_eq!(jrows, got);

    // The workbook.
    let x = d.path().join("salvage.xlsx");
    let r = export(&["salvage", db, "--format", "xlsx"], &x);
    assert_eq!(r.code, 0, "{}", r.stderr);
    check_workbook(&x, &got);
    guard.assert();
}

/// The workbook read back with calamine: one sheet per table with the header, a row per
/// version (grouped by key), values as numbers/text/hex, and the evidence sheet.
fn check_workbook(path: &Path, rows: &[Row]) {
    use calamine::{Data, Reader, Xlsx, open_workbook};
    let mut wb: Xlsx<_> = open_workbook(path).unwrap();
    let names = wb.sheet_names().to_vec();
    assert_eq!(names.last().map(String::as_str), Some("wi_evidence"));
    let ev = wb.worksheet_range("wi_evidence").unwrap();
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    let mut in_sheets = false;
    for r in ev.rows() {
        let s = |i: usize| r.get(i).map(|c| c.to_string()).unwrap_or_default();
        if s(0) == "sheet" {
            in_sheets = true;
            continue;
        }
        if in_sheets && !s(0).is_empty() {
            map.insert(s(1), s(0));
        }
    }
    let mut by_table: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for r in rows {
        by_table.entry(r.table.as_str()).or_default().push(r);
    }
    for (table, want) in by_table {
        let sheet = &map[table];
        let range = wb.worksheet_range(sheet).unwrap();
        let all: Vec<&[Data]> = range.rows().collect();
        assert_eq!(all.len() - 1, want.len(), "{table}");
        let header: Vec<String> = all[0].iter().map(|c| c.to_string()).collect();
        let width = want[0].values.len();
        assert!(header[width].ends_with("source"), "{header:?}");
        let prefix = header[width].strip_suffix("source").unwrap();
        let kpos = header.iter().position(|h| *h == format!("{prefix}key")).unwrap();
        let spos = header.iter().position(|h| *h == format!("{prefix}state")).unwrap();
        // Every exported version is on the sheet, whatever the order.
        let mut seen: Vec<String> = all[1..]
            .iter()
            .map(|r| {
                let cells: Vec<String> = r[..width].iter().map(|c| c.to_string()).collect();
                format!("{}|{}|{}", r[kpos], r[spos], cells.join("|"))
            })
            .collect();
        let mut expected: Vec<String> = want
            .iter()
            .map(|r| {
                let cells: Vec<String> = r
                    .values
                    .iter()
                    .map(|v| match v {
                        V::Null => String::new(),
                        V::I(i) if i.unsigned_abs() <= 1 << 53 => (*i as f64).to_string(),
                        V::I(i) => i.to_string(),
                        V::R(b) => f64::from_bits(*b).to_string(),
                        V::T(t) => t.clone(),
                        V::B(b) => b.iter().map(|x| format!("{x:02x}")).collect(),
                    })
                    .collect();
                format!("{}|{}|{}", r.key.clone().unwrap_or_default(), r.state, cells.join("|"))
            })
            .collect();
        seen.sort();
        expected.sort();
        assert_eq!(seen, expected, "{table}");
        // Versions of one row are next to each other.
        let keys: Vec<String> = all[1..].iter().map(|r| r[kpos].to_string()).collect();
        let mut firsts = keys.clone();
        firsts.dedup();
        let mut uniq = firsts.clone();
        uniq.sort();
        uniq.dedup();
        assert_eq!(firsts.len(), uniq.len(), "{table}: versions of a row are grouped: {keys:?}");
    }
}

#[test]
fn timeline_and_history_exports_round_trip() {
    let d = tempdir();
    let ev = fixture(d.path());
    let db = ev.to_str().unwrap();
    let guard = Unchanged::record(&ev);
    let doc: Value = serde_json::from_str(&run(&["timeline", db, "--json", "--values"]).stdout).unwrap();
    let mut want = timeline_rows(&doc);
    assert!(want.len() >= 4, "{}", want.len());
    let out = d.path().join("timeline.sqlite");
    let r = export(&["timeline", db, "--format", "sqlite"], &out);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (got, widths, _c) = read_sqlite(&out);
    pad(&mut want, &widths);
    let strip = |rows: &[Row]| -> Vec<Row> { rows.iter().map(|r| Row { page: None, ..r.clone() }).collect() };
    assert_eq!(by_table(&strip(&without_state(&got))), by_table(&want));
    // The state of each version: the last committed change of a row is live, earlier ones
    // committed-older, the tail's uncommitted.
    let states: Vec<&str> = got.iter().map(|r| r.state.as_str()).collect();
    for s in ["live", "committed-older", "deleted"] {
        assert!(states.contains(&s), "{s}: {states:?}");
    }

    let dir = d.path().join("timeline-csv");
    assert_eq!(export(&["timeline", db, "--format", "csv"], &dir).code, 0);
    let (csv_rows, _) = read_csv(&dir);
    assert_eq!(csv_rows, got);
    let x = d.path().join("timeline.xlsx");
    assert_eq!(export(&["timeline", db, "--format", "xlsx"], &x).code, 0);
    check_workbook(&x, &got);

    // history of the row with the odd table and colliding names.
    let h: Value =
        serde_json::from_str(&run(&["history", db, "--table", "clash", "--rowid", "1", "--json"]).stdout).unwrap();
    let versions: Vec<Vec<V>> = h["versions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| !v["values"].is_null())
        .map(|v| v["values"].as_array().unwrap().iter().map(from_json).collect())
        .collect();
    let out = d.path().join("history.sqlite");
    let r = export(&["history", db, "--table", "clash", "--rowid", "1", "--format", "sqlite"], &out);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let c = Connection::open(&out).unwrap();
    let prefix: String =
        c.query_row("SELECT provenance_prefix FROM wi_tables WHERE source_table = 'clash'", [], |r| r.get(0)).unwrap();
    assert_eq!(prefix, "wi__", "the table's own wi_source/WI_STATE/wi_key keep their names");
    let mut st = c.prepare("SELECT id, wi_source, \"WI_STATE\", wi_key, wi__state FROM clash ORDER BY rowid").unwrap();
    let got: Vec<(Vec<V>, String)> = st
        .query_map([], |r| Ok(((0..4).map(|i| from_sql(r.get_ref(i).unwrap())).collect::<Vec<V>>(), r.get(4)?)))
        .unwrap()
        .map(Result::unwrap)
        .filter(|(v, _)| v.iter().any(|x| *x != V::Null))
        .collect();
    assert_eq!(got.iter().map(|g| g.0.clone()).collect::<Vec<_>>(), versions);
    assert!(got.iter().any(|g| g.1 == "live"), "{got:?}");
    assert!(versions.iter().any(|v| v[3] == V::I(i64::MAX)), "large integers survive");

    // The odd table name and the table named like an export table, through timeline's export.
    let names: Vec<String> = c
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(names.contains(&"clash".to_string()), "{names:?}");
    let (tl, _, tc) = read_sqlite(&d.path().join("timeline.sqlite"));
    assert!(tl.iter().any(|r| r.table == r#"odd name, with "quotes" / slash"#));
    let exported_as: String = tc
        .query_row("SELECT export_table FROM wi_tables WHERE source_table = 'wi_evidence'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(exported_as, "wi_wi_evidence");
    guard.assert();
}

#[test]
fn exports_never_overwrite() {
    let d = tempdir();
    let ev = fixture(d.path());
    let db = ev.to_str().unwrap();
    let guard = Unchanged::record(&ev);
    for (fmt, target) in [
        ("sqlite", ev.clone()),
        ("csv", d.path().to_path_buf()),
        ("xlsx", sibling(&ev, "-wal")),
        ("jsonl", sibling(&ev, "-journal")),
    ] {
        let r = export(&["salvage", db, "--format", fmt], &target);
        assert_eq!(r.code, 2, "{fmt} over {}: {}", target.display(), r.stdout);
    }
    let out = d.path().join("x.sqlite");
    assert_eq!(export(&["salvage", db, "--format", "sqlite"], &out).code, 0);
    let before = std::fs::read(&out).unwrap();
    let r = export(&["salvage", db, "--format", "sqlite"], &out);
    assert_eq!(r.code, 2, "an existing output is refused");
    assert_eq!(std::fs::read(&out).unwrap(), before);
    assert_eq!(run(&["salvage", db, "--format", "sqlite", "-o", out.to_str().unwrap(), "--force"]).code, 0);
    let r = run(&["salvage", db, "--format", "csv"]);
    assert_eq!(r.code, 2, "csv needs -o");
    // Text and JSON to a file equal stdout.
    let j = d.path().join("s.json");
    assert_eq!(export(&["salvage", db, "--format", "json"], &j).code, 0);
    let a: Value = serde_json::from_slice(&std::fs::read(&j).unwrap()).unwrap();
    let b: Value = serde_json::from_str(&run(&["salvage", db, "--json"]).stdout).unwrap();
    assert_eq!(a["rows"], b["rows"]);
    guard.assert();
}
