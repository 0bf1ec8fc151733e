//! Text of the deep check (`check --deep`, `info --deep`): SQLite's verdict line by line, then
//! each damaged page's provenance and intact earlier image, then torn checkpoint writes. Reads
//! the same [`DeepSection`] the JSON prints; evidence-borne text (names, keys) is escaped.

use std::fmt::Write as _;

use super::theme::Style;
use crate::format::escape::escape;
use crate::report::deep::{DeepSection, ProvenanceReport};

/// The deep section as text.
pub fn render_deep(d: &DeepSection, st: Style) -> String {
    let mut o = String::new();
    let state = match (d.commit, d.upto) {
        (Some(c), _) => format!("commit {c} (up to frame {})", d.upto),
        (None, 0) => "the database file alone".to_string(),
        (None, u) => format!("up to frame {u}"),
    };
    let _ = writeln!(o, "{}", st.bold(&format!("Deep check ({}) of {state}, {} pages", d.level, d.pages)));
    let _ = writeln!(o, "  SQLite 3.40 PRAGMA integrity_check would print:");
    for l in &d.sqlite_lines {
        let _ = writeln!(o, "    {}", escape(l));
    }
    if !d.provenance.is_empty() {
        let _ = writeln!(o, "{}", st.bold("Damaged pages"));
    }
    for p in &d.provenance {
        render_provenance(&mut o, p);
    }
    if !d.torn.is_empty() {
        let _ = writeln!(o, "{}", st.bold("Torn checkpoint writes"));
    }
    for t in &d.torn {
        let c = t.commit.map(|c| format!(" (commit {c})")).unwrap_or_default();
        let _ = writeln!(
            o,
            "  page {}: differs from frame {}{c} copied by the checkpoint (nBackfill {}): {} bytes from offset {}{}{}",
            t.page,
            t.frame,
            t.backfill,
            t.bytes_differ,
            t.first_diff,
            if t.torn_shape { ", a write cut short" } else { "" },
            if t.hidden_by_wal { "; SQLite reads the frame now" } else { "" }
        );
    }
    let _ = writeln!(
        o,
        "  {} b-tree pages read; {} trees checked in parallel, {} again in order",
        d.stats.pages_read, d.stats.parallel_trees, d.stats.sequential_trees
    );
    o
}

fn render_provenance(o: &mut String, p: &ProvenanceReport) {
    let owner = p.owner.as_deref().map(|n| format!(" of {}", escape(n))).unwrap_or_default();
    let from = match (p.frame, p.commit) {
        (Some(f), Some(c)) => format!("frame {f} (commit {c})"),
        (Some(f), None) => format!("frame {f} (uncommitted)"),
        _ => "the database file".to_string(),
    };
    let changed = p.last_changed.map(|c| format!(", last changed by commit {c}")).unwrap_or_default();
    let _ = writeln!(o, "  page {}{owner}: image from {from}{changed}", p.page);
    match &p.intact {
        None => {
            let _ = writeln!(
                o,
                "    no intact earlier image anywhere in the evidence ({} examined and rejected)",
                p.rejected
            );
        }
        Some(i) => {
            let cells = match i.damaged_cells {
                Some(d) => format!("{} cells, the damaged image {d}", i.cells),
                None => format!("{} cells, the damaged image does not decode", i.cells),
            };
            let _ = writeln!(o, "    newest intact earlier image: {} ({}, {cells})", i.described, i.page_type);
            let list = |v: &[String]| v.iter().map(|k| escape(k).into_owned()).collect::<Vec<_>>().join(", ");
            if !i.only_in_intact.is_empty() {
                let _ = writeln!(o, "    only in the intact image: {}", list(&i.only_in_intact));
            }
            if !i.only_in_damaged.is_empty() {
                let _ = writeln!(o, "    only in the damaged image: {}", list(&i.only_in_damaged));
            }
            if !i.changed.is_empty() {
                let _ = writeln!(o, "    changed: {}", list(&i.changed));
            }
        }
    }
}
