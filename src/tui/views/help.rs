//! The help overlay: every key, from the same table the key tests check, then the mouse and the
//! colour legend. Sized to its content (up to the screen), scrollable (↑↓ j k PgUp PgDn g G,
//! the wheel), each description wrapped under its own column.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};

use crate::present::theme::Role;
use crate::tui::action::KEYS;
use crate::tui::app::App;

/// Lines after the key table.
const NOTES: &[&str] = &[
    "Mouse: the wheel scrolls; a click selects a tab or a row.",
    "States: committed (green), uncommitted (yellow), invalid (red), stale (magenta).",
    "Severities: error (red), warning (yellow), info. Nothing is ever written to the inspected files.",
];

/// Split `s` into lines of at most `w` characters at spaces.
fn wrap(s: &str, w: usize) -> Vec<String> {
    let w = w.max(8);
    let mut out = Vec::new();
    let mut cur = String::new();
    for word in s.split(' ') {
        let len = cur.chars().count();
        if len > 0 && len + 1 + word.chars().count() > w {
            out.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() || out.is_empty() {
        out.push(cur);
    }
    out
}

/// Every line of the help at this inner width (also what the tests read).
pub fn lines(inner: u16) -> Vec<Line<'static>> {
    let key_w = KEYS.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(10);
    let inner = usize::from(inner);
    // Narrow screens: the description goes under the key.
    let side = inner >= key_w + 2 + 30;
    let mut lines = Vec::new();
    for (k, what) in KEYS {
        if side {
            for (i, part) in wrap(what, inner - key_w - 2).into_iter().enumerate() {
                let key = if i == 0 { format!("{k:<key_w$}  ") } else { " ".repeat(key_w + 2) };
                lines.push(Line::from(vec![Span::styled(key, Role::Key.tui()), Span::raw(part)]));
            }
        } else {
            lines.push(Line::from(Span::styled(k.to_string(), Role::Key.tui())));
            for part in wrap(what, inner.saturating_sub(2)) {
                lines.push(Line::raw(format!("  {part}")));
            }
        }
    }
    lines.push(Line::raw(""));
    for n in NOTES {
        for part in wrap(n, inner) {
            lines.push(Line::from(Span::styled(part, Role::Dim.tui())));
        }
    }
    lines
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let key_w = KEYS.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(10) as u16;
    let w = (key_w + 2 + 72 + 2).min(area.width);
    let all = lines(w.saturating_sub(2));
    let h = (all.len() as u16 + 2).min(area.height);
    let inner_h = usize::from(h.saturating_sub(2));
    app.help_height.set(inner_h);
    let max = all.len().saturating_sub(inner_h);
    let first = app.help_scroll.min(max);
    let title = if max == 0 {
        " keys — any other key closes ".to_string()
    } else {
        format!(" keys {}–{} of {} — ↑↓ PgUp PgDn scroll, other keys close ", first + 1, first + inner_h, all.len())
    };
    let r = Rect {
        x: area.x + (area.width.saturating_sub(w)) / 2,
        y: area.y + (area.height.saturating_sub(h)) / 2,
        width: w,
        height: h,
    };
    Clear.render(r, buf);
    Paragraph::new(all.into_iter().skip(first).take(inner_h).collect::<Vec<_>>())
        .block(Block::bordered().title(title).border_style(Role::Accent.tui()))
        .render(r, buf);
}
