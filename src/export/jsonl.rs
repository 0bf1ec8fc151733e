//! `--format jsonl`: one JSON object per row version, in report order:
//! `{"table", "wi_source", "wi_state", "wi_op", "wi_key", "wi_frame", "wi_commit", "wi_page",
//! "wi_offset", "wi_confidence", "wi_note", "columns", "values"}` — values as in `--json`
//! (integers and reals as numbers, text as strings, blobs as `{"hex": "..."}`, NULL as null).
//! Provenance keys always carry the plain `wi_` prefix: the table's own columns are inside
//! `columns`/`values`, so nothing collides.

use super::{Export, PREFIX, PROVENANCE};
use crate::report::forensics::ValueReport;

/// The text of the export: one line per row version.
pub fn render(e: &Export) -> Result<String, serde_json::Error> {
    let mut out = String::new();
    for t in &e.tables {
        for r in &t.rows {
            let mut m = serde_json::Map::new();
            m.insert("table".into(), serde_json::Value::String(t.name.clone()));
            for (n, v) in PROVENANCE.iter().zip(r.prov.values()) {
                m.insert(format!("{PREFIX}{n}"), serde_json::to_value(ValueReport(v))?);
            }
            m.insert("columns".into(), serde_json::to_value(&t.columns)?);
            let values: Vec<ValueReport> = r.values.iter().cloned().map(ValueReport).collect();
            m.insert("values".into(), serde_json::to_value(values)?);
            out.push_str(&serde_json::to_string(&m)?);
            out.push('\n');
        }
    }
    Ok(out)
}
