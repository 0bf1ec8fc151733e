//! `--format xlsx`: the review workbook (written with `rust_xlsxwriter`).
//!
//! - One sheet per source table: the header row (frozen, with filters), then each row's version
//!   history — versions grouped by key, in the order the report lists them (commit order) — each
//!   row tinted by its `wi_state` (live green, committed-older grey, uncommitted yellow,
//!   earlier-generation blue, after-break orange, deleted red, torn/foreign purple). The
//!   columns are the table's own, then the provenance columns, as in the CSV and SQLite exports.
//! - Values: integers and reals as numbers (integers beyond ±2^53, which a spreadsheet cannot
//!   hold exactly, and non-finite reals as text), text as text, BLOBs as lowercase hex — and a
//!   thumbnail over the cell when the BLOB is an image (PNG, JPEG, GIF, BMP) that decodes. A
//!   cell holds at most 32,767 characters: longer text and hex are cut with a marker saying so.
//! - A sheet `wi_evidence`: the evidence files (role, path, size, SHA-256, what was read), the
//!   tool, command line and time, and which sheet holds which source table.
//!
//! Sheet names are the table names made legal (at most 31 characters, none of `[]:*?/\`,
//! unique without regard to case); `wi_evidence` says which is which.

use std::collections::HashSet;

use rust_xlsxwriter::{Color, Format, Image, Workbook, Worksheet, XlsxError};

use super::{Export, ExportError, State, Table, real_text};
use crate::format::record::Value;
use crate::report::forensics::hex;

/// The evidence sheet's name.
pub const EVIDENCE_SHEET: &str = "wi_evidence";
/// Most characters Excel keeps in one cell.
pub const CELL_MAX: usize = 32_767;
/// Most data rows of one sheet (Excel's limit less the header).
pub const ROWS_MAX: usize = 1_048_575;
/// Most thumbnails per workbook (each is a copy of the image).
const IMAGES_MAX: usize = 2_000;
/// Largest BLOB shown as a thumbnail.
const IMAGE_BYTES_MAX: usize = 4 << 20;

/// The tint of a state (RGB).
pub fn tint(s: State) -> u32 {
    match s {
        State::Live => 0xC6EFCE,
        State::CommittedOlder => 0xE7E6E6,
        State::Uncommitted => 0xFFEB9C,
        State::EarlierGeneration => 0xDDEBF7,
        State::AfterBreak => 0xFCE4D6,
        State::Deleted => 0xFFC7CE,
        State::Torn | State::Foreign => 0xE4DFEC,
    }
}

const STATES: [State; 8] = [
    State::Live,
    State::CommittedOlder,
    State::Uncommitted,
    State::EarlierGeneration,
    State::AfterBreak,
    State::Foreign,
    State::Torn,
    State::Deleted,
];

/// Legal, unique sheet names for the tables.
pub fn sheet_names(tables: &[Table]) -> Vec<String> {
    let mut used: HashSet<String> = [EVIDENCE_SHEET, "history"].iter().map(|s| s.to_string()).collect();
    tables
        .iter()
        .map(|t| {
            let mut base: String = t
                .name
                .chars()
                .map(|c| if matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\') || c.is_control() { '_' } else { c })
                .take(31)
                .collect();
            if base.trim().is_empty() {
                base = "table".into();
            }
            if base.starts_with('\'') || base.ends_with('\'') {
                base = base.replace('\'', "_");
            }
            let mut name = base.clone();
            let mut n = 2;
            while !used.insert(name.to_lowercase()) && n < 100_000 {
                let suffix = format!("~{n}");
                let keep = 31usize.saturating_sub(suffix.chars().count());
                name = format!("{}{suffix}", base.chars().take(keep).collect::<String>());
                n += 1;
            }
            name
        })
        .collect()
}

fn cut(s: &str) -> String {
    if s.chars().count() <= CELL_MAX {
        return s.to_string();
    }
    let marker = format!("… [cut: {} characters in all]", s.chars().count());
    let keep = CELL_MAX.saturating_sub(marker.chars().count());
    format!("{}{marker}", s.chars().take(keep).collect::<String>())
}

fn looks_like_image(b: &[u8]) -> bool {
    b.starts_with(b"\x89PNG\r\n\x1a\n")
        || b.starts_with(b"\xff\xd8\xff")
        || b.starts_with(b"GIF8")
        || b.starts_with(b"BM")
}

/// Write one value; returns true when a thumbnail was added.
fn cell(ws: &mut Worksheet, row: u32, col: u16, v: &Value, f: &Format, images: &mut usize) -> Result<(), XlsxError> {
    const EXACT: i64 = 1 << 53;
    match v {
        Value::Null => ws.write_blank(row, col, f).map(|_| ()),
        Value::Integer(i) if (-EXACT..=EXACT).contains(i) => {
            ws.write_number_with_format(row, col, *i as f64, f).map(|_| ())
        }
        Value::Integer(i) => ws.write_string_with_format(row, col, i.to_string(), f).map(|_| ()),
        Value::Real(r) if r.is_finite() => ws.write_number_with_format(row, col, *r, f).map(|_| ()),
        Value::Real(r) => ws.write_string_with_format(row, col, real_text(*r), f).map(|_| ()),
        Value::Text(t) | Value::TextBytes { text: t, .. } => {
            ws.write_string_with_format(row, col, cut(t), f).map(|_| ())
        }
        Value::Blob(b) => {
            ws.write_string_with_format(row, col, cut(&hex(b)), f)?;
            if *images < IMAGES_MAX
                && b.len() <= IMAGE_BYTES_MAX
                && looks_like_image(b)
                && let Ok(img) = Image::new_from_buffer(b)
                && ws.insert_image_fit_to_cell(row, col, &img, true).is_ok()
            {
                *images += 1;
            }
            Ok(())
        }
    }
}

/// Sort key of a row for the history view: numeric keys numerically, then text, then no key.
fn key_order(k: Option<&String>) -> (u8, i64, String) {
    match k {
        Some(k) => match k.parse::<i64>() {
            Ok(n) => (0, n, String::new()),
            Err(_) => (1, 0, k.clone()),
        },
        None => (2, 0, String::new()),
    }
}

fn xerr(e: XlsxError) -> ExportError {
    ExportError::Output(format!("cannot build the workbook: {e}"))
}

fn table_sheet(wb: &mut Workbook, t: &Table, name: &str, images: &mut usize) -> Result<usize, XlsxError> {
    let header = Format::new().set_bold().set_background_color(Color::RGB(0xD9D9D9));
    let formats: Vec<(State, Format)> =
        STATES.iter().map(|s| (*s, Format::new().set_background_color(Color::RGB(tint(*s))))).collect();
    let plain = Format::new();
    let ws = wb.add_worksheet();
    ws.set_name(name)?;
    let cols: Vec<String> = t.columns.iter().cloned().chain(t.provenance_columns()).collect();
    for (i, c) in cols.iter().enumerate() {
        let Ok(ci) = u16::try_from(i) else { break };
        ws.write_string_with_format(0, ci, cut(c), &header)?;
        ws.set_column_width(ci, (c.chars().count() as f64 + 4.0).clamp(8.0, 40.0))?;
    }
    let mut order: Vec<usize> = (0..t.rows.len()).collect();
    order.sort_by_cached_key(|&i| key_order(t.rows.get(i).and_then(|r| r.prov.key.as_ref())));
    let mut written = 0usize;
    for (n, &i) in order.iter().enumerate().take(ROWS_MAX) {
        let Some(r) = t.rows.get(i) else { continue };
        let Ok(row) = u32::try_from(n + 1) else { break };
        let f = formats.iter().find(|(s, _)| *s == r.prov.state).map_or(&plain, |(_, f)| f);
        for (c, v) in r.values.iter().chain(r.prov.values().iter()).enumerate() {
            let Ok(ci) = u16::try_from(c) else { break };
            cell(ws, row, ci, v, f, images)?;
        }
        written += 1;
    }
    ws.set_freeze_panes(1, 0)?;
    let last_col = u16::try_from(cols.len().saturating_sub(1)).unwrap_or(u16::MAX);
    let last_row = u32::try_from(written).unwrap_or(u32::MAX);
    ws.autofilter(0, 0, last_row, last_col)?;
    Ok(written)
}

fn evidence_sheet(wb: &mut Workbook, e: &Export, sheets: &[(String, &Table, usize)]) -> Result<(), XlsxError> {
    let bold = Format::new().set_bold().set_background_color(Color::RGB(0xD9D9D9));
    let ws = wb.add_worksheet();
    ws.set_name(EVIDENCE_SHEET)?;
    for (i, h) in ["role", "path", "size", "sha256", "read"].iter().enumerate() {
        ws.write_string_with_format(0, i as u16, *h, &bold)?;
    }
    let mut row = 1u32;
    for f in &e.evidence {
        ws.write_string(row, 0, f.role)?;
        ws.write_string(row, 1, cut(&f.path))?;
        ws.write_number(row, 2, f.size as f64)?;
        ws.write_string(row, 3, f.sha256.as_deref().unwrap_or(""))?;
        ws.write_string(row, 4, cut(&f.read))?;
        row += 1;
    }
    row += 1;
    for (k, v) in [
        ("tool", "walinspect".to_string()),
        ("version", env!("CARGO_PKG_VERSION").to_string()),
        ("command", e.command.to_string()),
        ("command line", e.command_line.clone()),
        ("time", e.time.clone()),
    ] {
        ws.write_string_with_format(row, 0, k, &bold)?;
        ws.write_string(row, 1, cut(&v))?;
        row += 1;
    }
    row += 1;
    for (i, h) in ["sheet", "source table", "rows", "rows written", "provenance prefix"].iter().enumerate() {
        ws.write_string_with_format(row, i as u16, *h, &bold)?;
    }
    row += 1;
    for (name, t, written) in sheets {
        ws.write_string(row, 0, name.as_str())?;
        ws.write_string(row, 1, cut(&t.name))?;
        ws.write_number(row, 2, t.rows.len() as f64)?;
        ws.write_number(row, 3, *written as f64)?;
        ws.write_string(row, 4, t.prefix())?;
        row += 1;
    }
    ws.set_column_width(1, 60)?;
    ws.set_column_width(3, 66)?;
    Ok(())
}

/// The workbook's bytes.
pub fn render(e: &Export) -> Result<Vec<u8>, ExportError> {
    let mut wb = Workbook::new();
    let names = sheet_names(&e.tables);
    let mut images = 0usize;
    let mut sheets = Vec::new();
    for (t, name) in e.tables.iter().zip(names) {
        let written = table_sheet(&mut wb, t, &name, &mut images).map_err(xerr)?;
        sheets.push((name, t, written));
    }
    evidence_sheet(&mut wb, e, &sheets).map_err(xerr)?;
    wb.save_to_buffer().map_err(xerr)
}
