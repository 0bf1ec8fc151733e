//! Text rendering of the `walinspect locks` document (`report::locks` is its JSON).

use crate::format::escape::escape as esc;
use std::fmt::Write as _;

use super::fmt::short;
use super::theme::{Role, Style};
use crate::report::locks::{HolderReport, LocksReport};

fn holder_text(h: &HolderReport) -> String {
    let who = match (h.process.pid, &h.process.command) {
        (Some(p), Some(c)) => format!("{p} {}", short(&esc(c), 48)),
        (Some(p), None) => p.to_string(),
        (None, _) => "? (unidentified)".to_string(),
    };
    if h.process.pid_namespace == "other" { format!("{who} [other PID namespace]") } else { who }
}

/// `walinspect locks` without `--json`. `timing` adds the probe's duration (left out where
/// output is compared between refreshes).
pub fn render(r: &LocksReport, st: Style, timing: bool) -> String {
    let mut o = String::new();
    let path = r.files.db.as_ref().map_or("?", |f| f.path.as_str());
    let _ = write!(o, "{} {}", st.bold("Locks on"), esc(path));
    if timing {
        let _ = write!(
            o,
            "  (probed in {:.2} ms with {}{})",
            r.probe.elapsed_us as f64 / 1000.0,
            r.probe.method.unwrap_or("no query"),
            if r.probe.proc_locks == "skipped" { "" } else { " and /proc/locks" }
        );
    }
    let _ = writeln!(o);
    if let Some(e) = &r.probe.proc_locks_note {
        let _ = writeln!(o, "  {e} (each held lock still names the holder F_GETLK reports)");
    }
    let _ = writeln!(o, "  {:<4} {:<10} {:>10}  {:<9}  holders", "file", "lock", "offset", "state");
    for l in &r.locks {
        let state = st.paint(Role::of_lock_state(l.state), &format!("{:<9}", l.state));
        let holders = l.holders.iter().map(holder_text).collect::<Vec<_>>().join(", ");
        let _ = writeln!(o, "  {:<4} {:<10} {:>10}  {state}  {holders}", l.file, l.name, l.offset);
    }
    if r.files.shm.is_none() {
        let _ = writeln!(o, "  (no -shm file)");
    }
    let _ = writeln!(o, "{}", st.bold("State"));
    for s in &r.state.summary {
        let _ = writeln!(o, "  {s}");
    }
    if let Some(e) = &r.environment {
        let _ = writeln!(o, "{}", st.bold("Environment"));
        if let Some(f) = &e.filesystem {
            let at = match (&f.source, &f.mount_point) {
                (Some(s), Some(m)) => format!(" ({} on {})", esc(s), esc(m)),
                _ => String::new(),
            };
            let _ = writeln!(
                o,
                "  filesystem: {}{at}, {}{}",
                f.name,
                f.class,
                if f.read_only { ", read-only" } else { "" }
            );
        }
        let owner = match (e.owner_uid, &e.owner_name) {
            (Some(u), Some(n)) => format!("uid {u} ({})", esc(n)),
            (Some(u), None) => format!("uid {u}"),
            _ => "unknown".into(),
        };
        let yn = |b: Option<bool>| match b {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "unknown",
        };
        let _ = writeln!(
            o,
            "  database owner: {owner}; directory writable by the owner: {}{}",
            yn(e.directory_writable_by_owner),
            e.shm_writable_by_owner
                .map(|w| format!("; -shm writable by the owner: {}", yn(Some(w))))
                .unwrap_or_default()
        );
    }
    let _ = writeln!(o, "{}", st.bold("Findings"));
    if r.findings.is_empty() {
        let _ = writeln!(o, "  none");
    }
    for f in &r.findings {
        let _ = writeln!(o, "  {} {}: {}", st.severity(f.severity), f.code, esc(&f.message));
    }
    o
}
