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
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};

use super::app::{App, PromptKind};
use crate::analysis::findings::Severity;
use crate::analysis::wal::FrameState;
use crate::present::theme::Role;

pub use super::tabs::ViewKind;
pub use crate::present::fmt::human_bytes;

/// The style of a frame state (the palette: `present::theme`).
pub fn state_style(s: FrameState) -> Style {
    Role::of_state(s).tui()
}

/// The style of a finding's severity.
pub fn severity_style(s: Severity) -> Style {
    Role::of_severity(s).tui()
}

/// A label in the label colour.
pub fn label(s: &str) -> Span<'_> {
    Span::styled(s, Role::Label.tui())
}

/// A section title inside a view.
pub fn heading(s: &str) -> Line<'_> {
    Line::from(Span::styled(s, Role::Heading.tui()))
}

/// A bordered block with a title.
pub fn block(title: &str) -> Block<'_> {
    Block::new().borders(Borders::TOP).title(Span::styled(format!(" {title} "), Role::Heading.tui()))
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
        Paragraph::new(Line::from(vec![Span::raw(p.input.as_str()), Span::styled("▏", Role::Accent.tui())]))
            .block(Block::bordered().title(title).border_style(Role::Accent.tui()))
            .render(r, buf);
    }
    guard(area, buf);
}

/// The last guard: views escape untrusted text themselves (`format::escape`); ratatui drops
/// control characters, but a bidirectional override (U+202A–U+202E, U+2066–U+2069) would reach
/// the terminal and reorder what is shown. Any cell that still holds one shows U+FFFD instead.
fn guard(area: Rect, buf: &mut Buffer) {
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            if let Some(cell) = buf.cell_mut((x, y))
                && cell.symbol().chars().any(crate::format::escape::needs_escape)
            {
                cell.set_symbol("\u{fffd}");
            }
        }
    }
}

fn render_tabs(app: &App, area: Rect, buf: &mut Buffer) {
    let mut spans = Vec::new();
    if area.width >= 100 {
        spans.push(Span::styled(" walinspect ", Role::Title.tui()));
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
        Span::styled(format!(" PINNED {} ", app.queued), Role::Pinned.tui())
    } else if app.snap.is_some() {
        Span::styled(format!(" ● LIVE {}ms", app.interval_ms), Role::Live.tui())
    } else {
        Span::styled(" loading ", Role::Changed.tui())
    };
    Line::from(live).right_aligned().render(area, buf);
}

fn render_status(app: &App, area: Rect, buf: &mut Buffer) {
    let seq = app.snap.as_ref().map_or(0, |s| s.seq);
    let line = if let Some(m) = &app.message {
        Line::from(Span::styled(format!(" {}", crate::format::escape::escape(m)), Role::Changed.tui()))
    } else if app.pinned && app.queued > 0 {
        Line::from(vec![
            Span::styled(" pinned #", Role::Changed.tui()),
            Span::styled(seq.to_string(), Role::Changed.tui()),
            Span::raw(format!(" · since: {} · p to catch up", app.queued_changes.describe())),
        ])
    } else {
        Line::from(vec![Span::styled(format!(" #{seq} "), Role::Dim.tui()), Span::raw(app.status.as_str())])
    };
    Paragraph::new(line).style(Role::StatusBar.tui()).render(area, buf);
    Line::from(Span::styled(" ? help  q quit ", Role::Dim.tui())).right_aligned().render(area, buf);
}

fn render_loading(app: &App, area: Rect, buf: &mut Buffer) {
    let mut lines = vec![Line::raw(""), Line::from(format!("  reading {} …", app.title))];
    if let Some((done, total)) = app.progress {
        let pct = (done * 100).checked_div(total).unwrap_or(100);
        lines.push(Line::from(format!("  scanning the -wal: {done} of {total} frames ({pct}%)")));
    }
    Paragraph::new(lines).render(area, buf);
}
