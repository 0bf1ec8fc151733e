//! Locks: who holds which lock on the database and its -shm (probed at every refresh without
//! taking any), the state derived from them in sentences, and the environment's hazards.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::{block, heading};
use crate::present::fmt::short;
use crate::present::theme::Role;
use crate::report::locks::{HolderReport, LocksReport};
use crate::tui::app::App;

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
pub fn lines(r: &LocksReport, width: u16) -> Vec<Line<'static>> {
    let mut l = vec![heading("State")];
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
    l.push(heading("Hazards"));
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
        l.push(heading("Environment"));
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

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(r) = app.snap.as_ref().and_then(|s| s.locks.as_ref()) else {
        Paragraph::new("  locks are not probed in this session").block(block("Locks")).render(area, buf);
        return;
    };
    let l = lines(r, area.width);
    let h = usize::from(area.height.saturating_sub(1));
    let first = app.locks_scroll.min(l.len().saturating_sub(h));
    let title = format!(
        "Locks: {} mode, {}",
        r.state.mode,
        match r.state.connections.len() {
            0 => "no process has the database open".to_string(),
            1 => "1 process has it open".to_string(),
            n => format!("{n} processes have it open"),
        }
    );
    Paragraph::new(l)
        .wrap(Wrap { trim: false })
        .scroll((u16::try_from(first).unwrap_or(0), 0))
        .block(block(&title))
        .render(area, buf);
}
