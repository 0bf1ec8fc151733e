//! `--format csv`: a folder with one CSV file per source table (its own columns, then the
//! provenance columns, then `wi_types`) and `manifest.csv` (tool, command line, time, evidence
//! files with SHA-256, and which file holds which table).
//!
//! RFC 4180: comma-separated, CRLF line ends, a field quoted (with `""` for a quote) when it holds
//! a comma, quote, CR or LF, or starts or ends with a space. SQL NULL is an empty unquoted field;
//! empty text is `""`. Integers and reals are written in their shortest exact form, blobs in
//! lowercase hex; `wi_types` spells each value's type in column order (`n` null, `i` integer, `r`
//! real, `t` text, `b` blob), so a reader can restore the types.

use std::path::Path;

use super::{Export, ExportError, safe_names, value_text};
use crate::format::record::Value;
use crate::repair::output::AtomicOutput;

/// The manifest's file name (never a table's).
pub const MANIFEST: &str = "manifest.csv";

/// One field, quoted when needed. `None` is SQL NULL (an empty unquoted field).
pub fn field(s: Option<&str>) -> String {
    match s {
        None => String::new(),
        Some(s) => {
            let quote = s.is_empty() || s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ');
            if quote { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
        }
    }
}

fn line(fields: impl IntoIterator<Item = Option<String>>) -> String {
    let mut s: Vec<String> = Vec::new();
    for f in fields {
        s.push(field(f.as_deref()));
    }
    let mut l = s.join(",");
    l.push_str("\r\n");
    l
}

/// A value's type letter for `wi_types`.
pub fn type_letter(v: &Value) -> char {
    match v {
        Value::Null => 'n',
        Value::Integer(_) => 'i',
        Value::Real(_) => 'r',
        Value::Text(_) | Value::TextBytes { .. } => 't',
        Value::Blob(_) => 'b',
    }
}

fn write_file(path: &Path, text: &str, force: bool) -> Result<(), ExportError> {
    let mut o = AtomicOutput::create(path, force)?;
    o.write_all(text.as_bytes())?;
    o.commit()
}

/// Write the folder `dir` (created if absent).
pub fn write(e: &Export, dir: &Path, force: bool) -> Result<(), ExportError> {
    if !dir.exists() {
        std::fs::create_dir(dir).map_err(|err| ExportError::io(dir, "create the export folder", err))?;
    }
    let names = safe_names(&e.tables, &["manifest"], 80);
    let mut manifest = line(["record", "name", "value", "file", "size", "sha256"].map(|s| Some(s.to_string())));
    manifest.push_str(&line([
        Some("tool".into()),
        Some("walinspect".into()),
        Some(env!("CARGO_PKG_VERSION").into()),
        None,
        None,
        None,
    ]));
    manifest.push_str(&line([
        Some("command".into()),
        Some(e.command.into()),
        Some(e.command_line.clone()),
        None,
        None,
        None,
    ]));
    manifest.push_str(&line([Some("time".into()), None, Some(e.time.clone()), None, None, None]));
    for f in &e.evidence {
        manifest.push_str(&line([
            Some("evidence".into()),
            Some(f.role.into()),
            Some(f.read.clone()),
            Some(f.path.clone()),
            Some(f.size.to_string()),
            f.sha256.clone(),
        ]));
    }
    for (t, name) in e.tables.iter().zip(&names) {
        let file = format!("{name}.csv");
        let mut header: Vec<Option<String>> = t.columns.iter().map(|c| Some(c.clone())).collect();
        header.extend(t.provenance_columns().into_iter().map(Some));
        header.push(Some(format!("{}types", t.prefix())));
        let mut text = line(header);
        for r in &t.rows {
            let mut f: Vec<Option<String>> = r.values.iter().map(value_text).collect();
            f.extend(r.prov.values().iter().map(value_text));
            f.push(Some(r.values.iter().map(type_letter).collect()));
            text.push_str(&line(f));
        }
        write_file(&dir.join(&file), &text, force)?;
        manifest.push_str(&line([
            Some("table".into()),
            Some(t.name.clone()),
            Some(t.rows.len().to_string()),
            Some(file),
            None,
            None,
        ]));
    }
    write_file(&dir.join(MANIFEST), &manifest, force)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(field(None), "");
        assert_eq!(field(Some("")), "\"\"");
        assert_eq!(field(Some("a,b")), "\"a,b\"");
        assert_eq!(field(Some("say \"hi\"\nbye")), "\"say \"\"hi\"\"\nbye\"");
        assert_eq!(field(Some("plain")), "plain");
    }
}
