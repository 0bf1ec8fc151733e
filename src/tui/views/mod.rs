//! Drawing: a function of `&App`, no I/O. One file per view; this one lays out the tab bar,
//! the view, the status line and the overlays (help, prompt).

pub mod detail;
pub mod findings;
pub mod frames;
pub mod help;
pub mod locks;
pub mod overview;
pub mod shm;
pub mod timeline;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};

use super::app::{App, PromptKind};
use crate::analysis::findings::Severity;
use crate::analysis::wal::FrameState;

pub use super::tabs::ViewKind;

/// The colour of a frame state.
pub fn state_color(s: FrameState) -> Color {
    match s {
        FrameState::Committed => Color::Green,
        FrameState::Uncommitted => Color::Yellow,
        FrameState::Invalid => Color::Red,
        FrameState::Stale => Color::Magenta,
    }
}

pub fn severity_style(s: Severity) -> Style {
    match s {
        Severity::Error => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        Severity::Warning => Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        Severity::Info => Style::new().fg(Color::Cyan),
    }
}

/// A label in the label colour.
pub fn label(s: &str) -> Span<'_> {
    Span::styled(s, Style::new().fg(Color::Gray).add_modifier(Modifier::DIM))
}

/// A section title inside a view.
pub fn heading(s: &str) -> Line<'_> {
    Line::from(Span::styled(s, Style::new().add_modifier(Modifier::BOLD)))
}

/// Bytes in a short human form ("1.5 MiB").
pub fn human_bytes(n: u64) -> String {
    const U: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i < U.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    match U.get(i) {
        Some(u) if i > 0 => format!("{v:.1} {u}"),
        _ => format!("{n} B"),
    }
}

/// A bordered block with a title.
pub fn block(title: &str) -> Block<'_> {
    Block::new()
        .borders(Borders::TOP)
        .title(Span::styled(format!(" {title} "), Style::new().add_modifier(Modifier::BOLD)))
}

/// Draw the whole screen.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let [tabs, body, status] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1), Constraint::Length(1)]).areas(area);
    render_tabs(app, tabs, buf);
    if app.snap.is_none() {
        render_loading(app, body, buf);
    } else {
        match app.view {
            ViewKind::Overview => overview::render(app, body, buf),
            ViewKind::Frames => frames::render(app, body, buf),
            ViewKind::Detail => detail::render(app, body, buf),
            ViewKind::Shm => shm::render(app, body, buf),
            ViewKind::Findings => findings::render(app, body, buf),
            ViewKind::Locks => locks::render(app, body, buf),
            ViewKind::Timeline => timeline::render(app, body, buf),
        }
    }
    render_status(app, status, buf);
    if app.help {
        help::render(area, buf);
    }
    if let Some(p) = &app.prompt {
        let title = match p.kind {
            PromptKind::Jump => " jump to: 123 frame · p42 page · c7 commit ",
            PromptKind::PageFilter => " show only frames of page (empty: all) ",
        };
        let w = area.width.min(60);
        let r = Rect {
            x: area.x + (area.width - w) / 2,
            y: area.y + area.height / 3,
            width: w,
            height: 3.min(area.height),
        };
        Clear.render(r, buf);
        Paragraph::new(Line::from(vec![Span::raw(p.input.as_str()), Span::styled("▏", Style::new().fg(Color::Cyan))]))
            .block(Block::bordered().title(title).border_style(Style::new().fg(Color::Cyan)))
            .render(r, buf);
    }
}

fn render_tabs(app: &App, area: Rect, buf: &mut Buffer) {
    let mut spans = Vec::new();
    if area.width >= 100 {
        spans.push(Span::styled(" walinspect ", Style::new().fg(Color::Black).bg(Color::Cyan).bold()));
    }
    for v in ViewKind::ALL {
        // Narrow screens: "1:Overview" to leave room for the live marker.
        let text = if area.width >= 100 {
            format!(" {} {} ", v.index() + 1, v.title())
        } else {
            format!(" {}:{}", v.index() + 1, v.title())
        };
        spans.push(if v == app.view { Span::styled(text, Style::new().reversed().bold()) } else { Span::raw(text) });
    }
    Line::from(spans).render(area, buf);
    let live = if app.pinned {
        Span::styled(format!(" PINNED {} ", app.queued), Style::new().fg(Color::Black).bg(Color::Yellow).bold())
    } else if app.snap.is_some() {
        Span::styled(format!(" ● LIVE {}ms", app.interval_ms), Style::new().fg(Color::Green).bold())
    } else {
        Span::styled(" loading ", Style::new().fg(Color::Yellow))
    };
    Line::from(live).right_aligned().render(area, buf);
}

fn render_status(app: &App, area: Rect, buf: &mut Buffer) {
    let seq = app.snap.as_ref().map_or(0, |s| s.seq);
    let line = if let Some(m) = &app.message {
        Line::from(Span::styled(format!(" {m}"), Style::new().fg(Color::Yellow)))
    } else if app.pinned && app.queued > 0 {
        Line::from(vec![
            Span::styled(" pinned #", Style::new().fg(Color::Yellow)),
            Span::styled(seq.to_string(), Style::new().fg(Color::Yellow)),
            Span::raw(format!(" · since: {} · p to catch up", app.queued_changes.describe())),
        ])
    } else {
        Line::from(vec![
            Span::styled(format!(" #{seq} "), Style::new().fg(Color::DarkGray)),
            Span::raw(app.status.as_str()),
        ])
    };
    Paragraph::new(line).style(Style::new().bg(Color::Rgb(30, 30, 30))).render(area, buf);
    Line::from(Span::styled(" ? help  q quit ", Style::new().fg(Color::DarkGray))).right_aligned().render(area, buf);
}

fn render_loading(app: &App, area: Rect, buf: &mut Buffer) {
    let mut lines = vec![Line::raw(""), Line::from(format!("  reading {} …", app.title))];
    if let Some((done, total)) = app.progress {
        let pct = (done * 100).checked_div(total).unwrap_or(100);
        lines.push(Line::from(format!("  scanning the -wal: {done} of {total} frames ({pct}%)")));
    }
    Paragraph::new(lines).render(area, buf);
}
