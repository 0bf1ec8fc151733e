//! The help overlay: every key, from the same table the key tests check.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget, Wrap};

use crate::present::theme::Role;
use crate::tui::action::KEYS;

pub fn render(area: Rect, buf: &mut Buffer) {
    let key_w = KEYS.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(10) as u16;
    let w = area.width.saturating_sub(4).min(key_w + 60).max(20);
    let mut lines: Vec<Line> = KEYS
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!("{k:<width$}  ", width = key_w as usize), Role::Key.tui()),
                Span::raw(*what),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled(
        "States: committed (green), uncommitted (yellow), invalid (red), stale (magenta). Nothing is ever written to the inspected files.",
        Role::Dim.tui(),
    )));
    let h = (lines.len() as u16 + 3).min(area.height);
    let r = Rect {
        x: area.x + (area.width.saturating_sub(w)) / 2,
        y: area.y + (area.height.saturating_sub(h)) / 2,
        width: w.min(area.width),
        height: h,
    };
    Clear.render(r, buf);
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(Block::bordered().title(" keys — any key closes ").border_style(Role::Accent.tui()))
        .render(r, buf);
}
