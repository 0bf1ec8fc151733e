//! The text of `scan`: one line per evidence set, worst first, then the entries that could not
//! be read, then a summary. Every path comes from the evidence and goes through
//! [`crate::format::escape::escape`].

use std::fmt::Write as _;

use super::fmt::{human_bytes, plural};
use super::theme::{Role, Style};
use crate::format::escape::escape;
use crate::report::scan::{ScanSetReport, ScanSummaryReport, ScanUnreadableReport};

/// "db+wal+shm" from the files a set holds.
fn members(r: &ScanSetReport) -> String {
    let roles: Vec<&str> = r.hashes.iter().map(|h| h.role).collect();
    if roles.is_empty() { "-".into() } else { roles.join("+") }
}

fn sizes(r: &ScanSetReport) -> String {
    let s: Vec<String> = r.hashes.iter().map(|h| h.size.map_or_else(|| "?".to_string(), human_bytes)).collect();
    s.join("/")
}

/// One set's line: status, worst finding, path, kind, files and sizes, frames, recoverable rows.
pub fn render_set(r: &ScanSetReport, st: Style) -> String {
    let mut o = String::new();
    let (word, role) = match (&r.error, r.summary.worst) {
        (Some(_), _) => ("FAILED", Role::Alarm),
        (None, Some("error")) => ("error", Role::Error),
        (None, Some("warning")) => ("warning", Role::Warning),
        (None, Some(_)) => ("info", Role::Info),
        (None, None) => ("ok", Role::Good),
    };
    let _ = write!(o, "{}  {}", st.paint(role, &format!("{word:<7}")), escape(&r.path));
    let kind = if r.renamed { format!("{} (renamed)", r.set_kind) } else { r.set_kind.to_string() };
    let _ = write!(o, "  {}", st.dim(&format!("{kind} {} {}", members(r), sizes(r))));
    if r.wal.is_some() {
        let f = &r.frames;
        let _ = write!(
            o,
            "  frames {} valid ({} committed, {} uncommitted), {} earlier gen, {} invalid",
            f.valid, f.committed, f.uncommitted, f.earlier_generations, f.invalid
        );
    }
    if let Some(n) = r.salvage_rows.filter(|&n| n > 0) {
        let _ = write!(o, "  {}", st.paint(Role::Changed, &format!("{} recoverable", plural(n as u64, "row", "rows"))));
    }
    if let Some(w) = &r.worst_finding {
        let _ = write!(o, "  {} {}", st.paint(Role::Label, w.code.as_str()), escape(&w.message));
    }
    if let Some(e) = &r.error {
        let _ = write!(o, "  {}", st.paint(Role::Bad, &escape(e)));
    }
    let _ = write!(o, "  {}", st.dim(&format!("exit {}", r.exit_status)));
    o.push('\n');
    for n in &r.notes {
        let _ = writeln!(o, "         {}", st.paint(Role::Changed, &format!("note: {}", escape(n))));
    }
    o
}

/// An entry that could not be read.
pub fn render_unreadable(u: &ScanUnreadableReport, st: Style) -> String {
    format!("{}  {}  {}\n", st.paint(Role::Dim, "skipped"), escape(&u.path), st.dim(&escape(&u.reason)))
}

/// The closing summary.
pub fn render_summary(s: &ScanSummaryReport, st: Style) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} {} in {} ({} seen in {}), {} read, {:.2} s",
        st.bold("Scanned:"),
        plural(s.sets as u64, "evidence set", "evidence sets"),
        plural(s.files_in_sets as u64, "file", "files"),
        plural(s.files_seen, "file", "files"),
        plural(s.directories, "folder", "folders"),
        human_bytes(s.bytes_read),
        s.seconds
    );
    let w = &s.worst;
    let _ = writeln!(
        o,
        "  worst finding: {} error, {} warning, {} info, {} clean, {} not analysable",
        w.error, w.warning, w.info, w.none, w.failed
    );
    let _ = writeln!(
        o,
        "  {} recoverable by salvage; {} not readable; {} not followed",
        plural(s.salvage_rows as u64, "row version", "row versions"),
        plural(s.unreadable as u64, "entry", "entries"),
        plural(s.symlinks_skipped, "symlink", "symlinks"),
    );
    o
}
