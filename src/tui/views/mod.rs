//! Drawing: a function of `&App`, no I/O. One file per view; this one lays out the tab bar,
//! the view, the status line and the overlays (help, prompt).

pub mod detail;
pub mod events;
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
pub use crate::tui::text::severity_counts;

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

/// Draw the whole screen: the header naming the database, the tabs, the view, the status line
/// with the view's key hints, and the overlays (help, prompt). Zoomed, the view has the screen.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    // Only a view with a clickable list sets it again.
    app.list_origin.set((u16::MAX, 0));
    let body = if app.zoom {
        area
    } else {
        let [header, tabs, body, status] =
            Layout::vertical([Constraint::Length(1), Constraint::Length(1), Constraint::Min(1), Constraint::Length(1)])
                .areas(area);
        render_header(app, header, buf);
        render_tabs(app, tabs, buf);
        render_status(app, status, buf);
        body
    };
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
            ViewKind::Events => events::render(app, body, buf),
        }
    }
    if let Some(s) = app.search.as_ref().filter(|s| s.view == app.view && app.snap.is_some()) {
        mark_matches(body, buf, &s.query);
    }
    if app.help {
        help::render(app, area, buf);
    }
    if let Some(p) = &app.prompt {
        let title = match p.kind {
            PromptKind::Jump => " jump to: 123 frame · p42 page · c7 commit ",
            PromptKind::PageFilter => " show only frames of page (empty: all) ",
            PromptKind::Search => " search (Enter; n/N next/previous; empty: clear) ",
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

/// Paint every visible occurrence of the search query (lowercase) in `area`, whatever the view
/// drew there: wrapped lines, cut columns and every view alike. Matching is per screen row,
/// case-insensitive, over the cells' symbols (a wide character's trailing cell is skipped).
fn mark_matches(area: Rect, buf: &mut Buffer, query: &str) {
    if query.is_empty() {
        return;
    }
    let q: Vec<char> = query.chars().collect();
    let style = Role::SearchMatch.tui();
    for y in area.top()..area.bottom() {
        // One entry per character on the row: the lowercase character and its cell's x.
        let mut row: Vec<(char, u16)> = Vec::with_capacity(usize::from(area.width));
        for x in area.left()..area.right() {
            let Some(cell) = buf.cell((x, y)) else { continue };
            for c in cell.symbol().chars() {
                row.extend(c.to_lowercase().map(|l| (l, x)));
            }
        }
        let mut i = 0;
        while i + q.len() <= row.len() {
            let hit = row.get(i..i + q.len()).is_some_and(|w| w.iter().map(|(c, _)| *c).eq(q.iter().copied()));
            if !hit {
                i += 1;
                continue;
            }
            for &(_, x) in row.get(i..i + q.len()).unwrap_or_default() {
                if let Some(cell) = buf.cell_mut((x, y)) {
                    cell.set_style(style);
                }
            }
            i += q.len();
        }
    }
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

/// The header: walinspect, the database being watched, the live marker.
fn render_header(app: &App, area: Rect, buf: &mut Buffer) {
    let live = if app.pinned {
        Span::styled(format!(" PINNED {} ", app.queued), Role::Pinned.tui())
    } else if app.snap.is_some() {
        Span::styled(format!(" ● LIVE {}ms ", app.interval_ms), Role::Live.tui())
    } else {
        Span::styled(" loading ", Role::Changed.tui())
    };
    let live_w = live.content.chars().count();
    let room = usize::from(area.width).saturating_sub(live_w + 13);
    let name = crate::present::fmt::short(&crate::format::escape::escape(&app.title), room);
    Line::from(vec![
        Span::styled(" walinspect ", Role::Title.tui()),
        Span::styled(format!(" {name}"), Role::Heading.tui()),
    ])
    .render(area, buf);
    Line::from(live).right_aligned().render(area, buf);
}

fn render_tabs(app: &App, area: Rect, buf: &mut Buffer) {
    app.screen_width.set(area.width);
    let spans: Vec<Span> = crate::tui::text::tab_layout(app.view, area.width)
        .into_iter()
        .map(
            |(v, text, _, _)| {
                if v == app.view { Span::styled(text, Style::new().reversed().bold()) } else { Span::raw(text) }
            },
        )
        .collect();
    Line::from(spans).render(area, buf);
}

fn render_status(app: &App, area: Rect, buf: &mut Buffer) {
    let seq = app.snap.as_ref().map_or(0, |s| s.seq);
    let (text, role) = if let Some(m) = &app.message {
        (format!(" {}", crate::format::escape::escape(m)), Role::Changed)
    } else if app.pinned && app.queued > 0 {
        (format!(" pinned #{seq} · since: {} · p to catch up", app.queued_changes.describe()), Role::Changed)
    } else {
        (format!(" #{seq} {}", crate::format::escape::escape(&app.status)), Role::StatusBar)
    };
    let width = usize::from(area.width);
    let used = text.chars().count();
    let hints = format!(" {} · ? help ", app.view.hints());
    let hint = if used + hints.chars().count() < width {
        hints
    } else if used + 9 < width {
        " ? help ".to_string()
    } else {
        String::new()
    };
    let text = crate::present::fmt::short(&text, width.saturating_sub(hint.chars().count()));
    Paragraph::new(Line::from(Span::styled(text, role.tui()))).style(Role::StatusBar.tui()).render(area, buf);
    Line::from(Span::styled(hint, Role::Dim.tui())).right_aligned().render(area, buf);
}

fn render_loading(app: &App, area: Rect, buf: &mut Buffer) {
    let mut lines = vec![Line::raw(""), Line::from(format!("  reading {} …", app.title))];
    if let Some((done, total)) = app.progress {
        let pct = (done * 100).checked_div(total).unwrap_or(100);
        lines.push(Line::from(format!("  scanning the -wal: {done} of {total} frames ({pct}%)")));
    }
    Paragraph::new(lines).render(area, buf);
}
