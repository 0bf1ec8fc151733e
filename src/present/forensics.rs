//! Text rendering of `timeline`, `history` and `salvage` (the JSON types are in
//! `report::forensics`; text and JSON show the same facts).

use crate::format::escape::{escape as esc, escape_bytes};
use std::fmt::Write as _;

use super::fmt::ranges;
use crate::forensics::history::SourceKind;
use crate::forensics::timeline::RowOp;
use crate::format::escape::escape;
use crate::format::record::Value;
use crate::report::forensics::{
    CommitEntryReport, HistoryReport, KeyReport, NoteReport, SalvageReport, TimelineReport, ValueReport, hex,
};

/// A value for text output: long text and blobs are cut (the JSON always has them whole).
pub fn short(v: &Value) -> String {
    const MAX: usize = 48;
    match v {
        Value::Blob(b) if b.len() > MAX / 2 => {
            format!("X'{}…' ({} bytes)", hex(b.get(..MAX / 2).unwrap_or(b)), b.len())
        }
        Value::Text(t) | Value::TextBytes { text: t, .. } if t.chars().count() > MAX => {
            let cut: String = t.chars().take(MAX).collect();
            format!("'{}…' ({} chars)", esc(&cut.replace('\'', "''")), t.chars().count())
        }
        // Invalid bytes shown as \xNN (UTF-8 databases: the bytes are the text's own).
        Value::TextBytes { text, bytes } if String::from_utf8_lossy(bytes) == text.as_str() => {
            format!("'{}'", escape_bytes(bytes).replace('\'', "''"))
        }
        other => esc(&other.to_string()).into_owned(),
    }
}

/// A row key as text: a rowid, or the primary-key values in parentheses.
pub fn key_text(k: &KeyReport) -> String {
    match k {
        KeyReport::Rowid(r) => r.to_string(),
        KeyReport::Pk(v) => {
            format!("({})", v.iter().map(|x| short(&x.0)).collect::<Vec<_>>().join(", "))
        }
    }
}

/// Text rendering of a timeline.
pub fn render_timeline(r: &TimelineReport) -> String {
    let mut s = render_timeline_head(r.base_db_pages, &r.notes);
    for c in &r.commits {
        s.push_str(&render_commit(c));
    }
    s
}

/// The first lines of a timeline's text.
pub fn render_timeline_head(base_db_pages: u32, notes: &[NoteReport]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "database file: {base_db_pages} pages");
    for n in notes {
        let _ = writeln!(s, "  note [{}] {}", n.code, esc(&n.message));
    }
    s
}

/// One commit of a timeline, as text.
pub fn render_commit(c: &CommitEntryReport) -> String {
    let mut s = String::new();
    let head = match (c.commit, &c.journal) {
        (_, Some(j)) => format!(
            "rollback journal ({}): {} page record(s), the database before that transaction against the file",
            if j.hot {
                "hot: SQLite plays it back on open, undoing the transaction"
            } else {
                "persisted: the last transaction's pre-images"
            },
            j.records.len()
        ),
        (Some(n), None) => format!("commit {n}"),
        (None, None) => "uncommitted tail".to_string(),
    };
    if c.journal.is_some() {
        let _ = writeln!(s, "\n{head}, {} pages", c.db_pages);
    } else {
        let _ = writeln!(s, "\n{head}: frames {}-{}, {} pages", c.first_frame, c.frame, c.db_pages);
    }
    for sc in &c.schema_changes {
        let _ = writeln!(s, "  schema: {} {} {} (root {})", sc.op, sc.kind, esc(&sc.name), sc.root);
    }
    for o in &c.objects {
        let _ = writeln!(s, "  {} ({}): {}", esc(&o.name), o.kind, ranges(&o.pages));
    }
    if let Some(rows) = &c.rows {
        for (t, tr) in rows {
            let _ =
                writeln!(s, "  rows {}: +{} ~{} -{}", esc(t), tr.inserted.len(), tr.updated.len(), tr.deleted.len());
            match &tr.values {
                Some(vals) => {
                    let show = |x: &Option<Vec<ValueReport>>| {
                        x.as_ref()
                            .map(|v| format!("({})", v.iter().map(|x| short(&x.0)).collect::<Vec<_>>().join(", ")))
                            .unwrap_or_default()
                    };
                    for v in vals {
                        let _ = match v.op {
                            RowOp::Insert => writeln!(s, "    + {} {}", key_text(&v.key), show(&v.new)),
                            RowOp::Delete => writeln!(s, "    - {} {}", key_text(&v.key), show(&v.old)),
                            _ => writeln!(s, "    ~ {} {} -> {}", key_text(&v.key), show(&v.old), show(&v.new)),
                        };
                    }
                }
                None => {
                    for (sign, keys) in [("+", &tr.inserted), ("~", &tr.updated), ("-", &tr.deleted)] {
                        if !keys.is_empty() {
                            let more = if keys.len() > 50 { " ..." } else { "" };
                            let _ = writeln!(
                                s,
                                "    {sign} {}{more}",
                                keys.iter().take(50).map(key_text).collect::<Vec<_>>().join(" ")
                            );
                        }
                    }
                }
            }
        }
    }
    for n in &c.notes {
        let _ = writeln!(s, "  note [{}] {}", n.code, esc(&n.message));
    }
    s
}

/// `walinspect history` without `--json`.
pub fn render_history(r: &HistoryReport) -> String {
    let mut s = String::new();
    let key = r.key.as_ref().map_or("(not found)".to_string(), key_text);
    let _ = writeln!(s, "{} {}: {} version(s)", esc(&r.table), key, r.versions.len());
    let cols: Vec<_> = r.columns.iter().map(|c| esc(c)).collect();
    let _ = writeln!(s, "columns: {}", cols.join(", "));
    for v in &r.versions {
        let src = match v.source.kind {
            SourceKind::Commit => format!("commit {}", v.source.commit.unwrap_or(0)),
            SourceKind::DbFile => "database file".to_string(),
            k => format!("{k}{}", v.source.generations_ago.map(|g| format!(" ({g} reset(s) ago)")).unwrap_or_default()),
        };
        let frames =
            if v.source.frames.is_empty() { String::new() } else { format!(" frame(s) {}", ranges(&v.source.frames)) };
        let vals = v.values.as_ref().map_or("(deleted)".to_string(), |x| {
            format!("({})", x.iter().map(|x| short(&x.0)).collect::<Vec<_>>().join(", "))
        });
        let flags = [
            (v.current, "current"),
            (v.sqlite_visible, "visible"),
            (!v.sqlite_visible, "not shown by SQLite"),
            (v.uncertain, "uncertain"),
            (!v.complete, "incomplete"),
            (v.equals_visible_version, "same bytes as a visible version"),
        ]
        .iter()
        .filter(|x| x.0)
        .map(|x| x.1)
        .collect::<Vec<_>>()
        .join(", ");
        let also: Vec<String> = v
            .also_in
            .iter()
            .map(|a| {
                format!(
                    "{}{} frame(s) {}",
                    a.kind,
                    a.generations_ago.map(|g| format!(" ({g} reset(s) ago)")).unwrap_or_default(),
                    ranges(&a.frames)
                )
            })
            .collect();
        let also = if also.is_empty() { String::new() } else { format!("; also in {}", also.join(", ")) };
        let _ = writeln!(s, "  {src:<28} {:<7} {vals}  [{flags}]{frames}{also}", v.op);
    }
    for n in &r.notes {
        let _ = writeln!(s, "  note [{}] {}", n.code, esc(&n.message));
    }
    s
}

/// `walinspect salvage` without `--json`.
pub fn render_salvage(r: &SalvageReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} frame group(s) SQLite does not show; {} cells decoded, {} row version(s) found nowhere else ({} copies equal a visible version)",
        r.groups.len(),
        r.summary.cells_decoded,
        r.summary.rows,
        r.summary.already_current
    );
    for g in &r.groups {
        if g.kind == "journal" {
            let _ = writeln!(
                s,
                "  group {}: journal records {}-{} ({}), the pages before the last transaction, at offsets {}{}",
                g.id,
                g.frames.first,
                g.frames.last,
                g.frames.count,
                g.record_offsets.iter().take(8).map(u64::to_string).collect::<Vec<_>>().join(", "),
                if g.record_offsets.len() > 8 { ", ..." } else { "" }
            );
            continue;
        }
        let _ = writeln!(
            s,
            "  group {}: {} frames {}-{} ({}), salts {:08x} {:08x}{}, {} commit frame(s), {} broken link(s){}",
            g.id,
            g.kind,
            g.frames.first,
            g.frames.last,
            g.frames.count,
            g.salt1,
            g.salt2,
            g.generations_ago.map(|k| format!(", {k} reset(s) ago")).unwrap_or_default(),
            g.commit_frames.len(),
            g.broken_links.len(),
            g.chain_break_frame.map(|f| format!(", the chain broke at frame {f}")).unwrap_or_default()
        );
    }
    for row in &r.rows {
        let key = row.key.as_ref().map_or("?".to_string(), key_text);
        let vals = row.values.iter().map(|x| short(&x.0)).collect::<Vec<_>>().join(", ");
        let _ = writeln!(
            s,
            "  {} {key} ({vals})  [{} via {}; frames {}; {}{}]",
            esc(row.table.as_deref().unwrap_or("(unattributed)")),
            row.kind,
            row.attribution,
            ranges(&row.frames),
            match (row.key_current, row.kind) {
                // Written after what SQLite shows: never committed, or committed past the break.
                (true, "uncommitted" | "after_break") => "newer version of a known row, not shown by SQLite",
                (true, "torn") => "another version of a known row (a partial frame)",
                (true, _) => "older version of a known row",
                (false, _) => "row absent from every visible state",
            },
            if row.uncertain { "; overflow uncertain" } else { "" }
        );
    }
    for n in &r.notes {
        let _ = writeln!(s, "  note [{}] {}", n.code, esc(&n.message));
    }
    if let Some(c) = &r.carving {
        render_carving(&mut s, c);
    }
    s
}

/// The `carving` section of `salvage`.
fn render_carving(s: &mut String, c: &crate::report::forensics::CarvingReport) {
    let m = &c.summary;
    let _ = writeln!(
        s,
        "carving: {} page image(s) ({} distinct), {} record(s) found, {} equal a known version, {} index entr(ies); {} deleted record(s) ({} exact)",
        m.page_images, m.distinct_images, m.records_found, m.equal_known, m.index_entries, m.rows, m.exact
    );
    if !m.dropped_tables.is_empty() {
        let names: Vec<String> = m.dropped_tables.iter().map(|t| escape(t).into_owned()).collect();
        let _ = writeln!(s, "  dropped tables known only from carved schema rows: {}", names.join(", "));
    }
    for row in &c.rows {
        let table = match &row.table {
            Some(t) => escape(t).into_owned(),
            None if row.candidates.is_empty() => format!("(unknown, {} columns)", row.values.len()),
            None => format!("(one of {})", row.candidates.iter().map(|c| escape(c)).collect::<Vec<_>>().join(", ")),
        };
        let key = match (row.rowid, row.rowid_range) {
            (Some(r), _) => format!("rowid {r}"),
            (None, Some([a, b])) => format!("rowid ? ({a}..={b})"),
            (None, None) => "key in values".to_string(),
        };
        let vals = row.values.iter().map(|x| escape(&short(&x.0)).into_owned()).collect::<Vec<_>>().join(", ");
        let at = row.places.first().map_or(String::new(), |p| {
            format!(
                "{} {}page {} offset {}",
                p.file,
                p.frame.map(|f| format!("frame {f} ({}) ", p.state)).unwrap_or_default(),
                p.page,
                p.offset
            )
        });
        let more = if row.places.len() > 1 { format!(" +{} place(s)", row.places.len() - 1) } else { String::new() };
        let inferred =
            if row.inferred.is_empty() { String::new() } else { format!("; inferred {}", row.inferred.join(", ")) };
        let flag = if row.earlier_incarnation { "; may belong to an earlier incarnation of the table" } else { "" };
        let _ =
            writeln!(s, "  {table} {key} ({vals})  [{} {}; {at}{more}{inferred}{flag}]", row.source, row.confidence);
    }
    for n in &c.notes {
        let _ = writeln!(s, "  note [{}] {}", n.code, n.message);
    }
}
