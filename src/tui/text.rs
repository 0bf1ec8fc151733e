//! Text the views draw and the app searches (shared below both, so neither names the other):
//! the severity counts, the tab bar's layout, the Locks view's lines.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::tabs::ViewKind;
use crate::analysis::findings::Severity;
use crate::present::fmt::short;
use crate::present::theme::Role;
use crate::report::locks::{HolderReport, LocksReport};

fn heading_line(s: &str) -> Line<'_> {
    Line::from(Span::styled(s, Role::Heading.tui()))
}

/// "1 error, 2 warnings, 1 info" (zero counts left out; "none" when empty).
pub fn severity_counts(f: &[crate::analysis::findings::Finding]) -> String {
    use crate::present::fmt::plural;
    let n = |s: Severity| f.iter().filter(|x| x.severity == s).count() as u64;
    let parts: Vec<String> = [
        (Severity::Error, "error", "errors"),
        (Severity::Warning, "warning", "warnings"),
        (Severity::Info, "info", "infos"),
    ]
    .iter()
    .filter(|(s, _, _)| n(*s) > 0)
    .map(|(s, one, many)| plural(n(*s), one, many))
    .collect();
    if parts.is_empty() { "none".into() } else { parts.join(", ") }
}

/// Each tab's label and its columns on the tab bar at this width: full titles when they fit,
/// otherwise numbers for all but the active tab (which is always shown in full).
pub fn tab_layout(active: ViewKind, width: u16) -> Vec<(ViewKind, String, u16, u16)> {
    let full: Vec<String> = ViewKind::ALL.iter().map(|v| format!(" {}:{}", v.index() + 1, v.title())).collect();
    let total: usize = full.iter().map(|t| t.chars().count()).sum();
    let mut x = 0u16;
    let mut out = Vec::new();
    for (v, t) in ViewKind::ALL.iter().zip(full) {
        let text = if total <= usize::from(width) || *v == active { t } else { format!(" {}", v.index() + 1) };
        let w = text.chars().count() as u16;
        out.push((*v, text, x, w));
        x = x.saturating_add(w);
    }
    out
}

/// The tab at column `x` of the tab bar (for mouse clicks).
pub fn tab_at(active: ViewKind, width: u16, x: u16) -> Option<ViewKind> {
    tab_layout(active, width).into_iter().find(|(_, _, x0, w)| x >= *x0 && x < x0 + w).map(|(v, ..)| v)
}

fn dim(s: impl Into<String>) -> Span<'static> {
    Span::styled(s.into(), Role::Label.tui())
}

fn state_style(s: &str) -> Style {
    Role::of_lock_state(s).tui()
}

fn holder(h: &HolderReport, cmd_w: usize) -> String {
    let mut s = match (h.process.pid, &h.process.command) {
        (Some(p), Some(c)) => format!("{p} {}", short(&crate::format::escape::escape(c), cmd_w)),
        (Some(p), None) => p.to_string(),
        (None, _) => "? (unidentified)".into(),
    };
    if h.process.pid_namespace == "other" {
        s.push_str(" [other PID ns]");
    }
    s
}

/// The lines of the view (also what the tests read).
pub fn locks_lines(r: &LocksReport, width: u16) -> Vec<Line<'static>> {
    let mut l = vec![heading_line("State")];
    for s in &r.state.summary {
        let st = if s.starts_with("Checkpoint starvation") {
            Role::Alarm.tui()
        } else if s.starts_with("Writer active") || s.starts_with("Checkpoint running") || s.starts_with("Recovery") {
            Role::Changed.tui()
        } else {
            Style::new()
        };
        l.push(Line::from(Span::styled(format!("  {s}"), st)));
    }
    l.push(Line::raw(""));
    l.push(heading_line("Hazards"));
    if r.findings.is_empty() {
        l.push(Line::from(Span::styled("  none: no lock or environment finding", Role::Good.tui())));
    }
    for f in &r.findings {
        l.push(Line::from(vec![
            Span::styled(format!("  {:<8}", f.severity), Role::of_severity_name(f.severity).tui()),
            Span::styled(format!("{} ", f.code), Role::Heading.tui()),
            Span::raw(crate::format::escape::escape(&f.message).into_owned()),
        ]));
    }
    l.push(Line::raw(""));
    l.push(Line::from(vec![
        Span::styled("Locks ", Role::Heading.tui()),
        dim(format!(
            "(probed with {}{}, nothing taken)",
            r.probe.method.unwrap_or("no query"),
            if r.probe.proc_locks == "skipped" { "" } else { " and /proc/locks" }
        )),
    ]));
    if let Some(n) = &r.probe.proc_locks_note {
        l.push(Line::from(Span::styled(format!("  {n}"), Role::Changed.tui())));
    }
    l.push(Line::from(dim("  file lock        state      holders (pid command)")));
    let cmd_w = usize::from(width).saturating_sub(40).clamp(12, 60);
    for k in &r.locks {
        let holders = k.holders.iter().map(|h| holder(h, cmd_w)).collect::<Vec<_>>().join(", ");
        let mut spans = vec![
            Span::raw(format!("  {:<4} {:<10} ", k.file, k.name)),
            Span::styled(format!("{:<10} ", k.state), state_style(k.state)),
            Span::raw(holders),
        ];
        if let Some(e) = &k.error {
            spans.push(Span::styled(format!(" ({e})"), Role::Bad.tui()));
        }
        l.push(Line::from(spans));
    }
    if r.files.shm.is_none() {
        l.push(Line::from(dim("  (no -shm file)")));
    }
    if let Some(e) = &r.environment {
        l.push(Line::raw(""));
        l.push(heading_line("Environment"));
        if let Some(f) = &e.filesystem {
            let at = match (&f.source, &f.mount_point) {
                (Some(s), Some(m)) => format!(" ({s} on {m})"),
                (None, Some(m)) => format!(" (on {m})"),
                _ => String::new(),
            };
            l.push(Line::raw(format!(
                "  filesystem {}{at}: {}{}",
                f.name,
                f.class,
                if f.read_only { ", read-only" } else { "" }
            )));
        }
        let yn = |b: Option<bool>| match b {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "unknown",
        };
        let owner = match (e.owner_uid, &e.owner_name) {
            (Some(u), Some(n)) => format!("uid {u} ({n})"),
            (Some(u), None) => format!("uid {u}"),
            _ => "unknown".into(),
        };
        l.push(Line::raw(format!(
            "  owner {owner}; directory writable by the owner: {}{}",
            yn(e.directory_writable_by_owner),
            e.shm_writable_by_owner.map(|w| format!("; -shm writable: {}", yn(Some(w)))).unwrap_or_default()
        )));
    }
    l
}
