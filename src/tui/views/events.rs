//! Events: what happened while the UI watched (`tui::events`), newest last, timestamped (UTC).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::block;
use crate::present::fmt::short;
use crate::present::theme::Role;
use crate::tui::app::App;
use crate::tui::events::clock;

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let h = usize::from(area.height.saturating_sub(1));
    app.events_height.set(h);
    let n = app.events.len();
    let sel = app.events_selected.min(n.saturating_sub(1));
    let first = if n <= h { 0 } else { sel.saturating_sub(h.saturating_sub(1)).min(n - h) };
    app.list_origin.set((area.y + 1, first));
    let room = usize::from(area.width).saturating_sub(30);
    let lines: Vec<Line> = app
        .events
        .iter()
        .enumerate()
        .skip(first)
        .take(h)
        .map(|(i, e)| {
            let mut base = Role::of_severity_name(e.severity).tui();
            if e.severity == "info" {
                base = ratatui::style::Style::new();
            }
            if i == sel {
                base = base.add_modifier(Modifier::REVERSED);
            }
            Line::from(vec![
                Span::styled(format!(" {} ", clock(e.at_ms)), Role::Dim.tui()),
                Span::styled(format!("{:<15} ", e.kind), Role::Secondary.tui()),
                Span::styled(short(&e.text, room.max(1)), base),
            ])
        })
        .collect();
    let follow = if app.events_follow { "following" } else { "G to follow" };
    let log = if app.log.is_some() { " · logged to file" } else { "" };
    let title = format!("Events: {n} (UTC){log} · {follow}");
    if lines.is_empty() {
        Paragraph::new("  nothing yet").block(block(&title)).render(area, buf);
    } else {
        Paragraph::new(lines).block(block(&title)).render(area, buf);
    }
}
