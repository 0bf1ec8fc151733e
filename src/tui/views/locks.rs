//! Locks: who holds which lock on the database and its -shm (probed at every refresh without
//! taking any), the state derived from them in sentences, and the environment's hazards.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::block;
use crate::tui::app::App;

pub use crate::tui::text::locks_lines as lines;

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(r) = app.snap.as_ref().and_then(|s| s.locks.as_ref()) else {
        Paragraph::new("  locks are not probed in this session").block(block("Locks")).render(area, buf);
        return;
    };
    let l = lines(r, area.width);
    let h = usize::from(area.height.saturating_sub(1));
    // Rows once wrapped (word wrapping can take a row more now and then: one spare row each).
    let width = usize::from(area.width.max(1));
    let rows: usize = l.iter().map(|x| x.width().div_ceil(width).max(1) + usize::from(x.width() > width)).sum();
    app.locks_lines.set(rows);
    app.locks_height.set(h);
    let first = app.locks_scroll.min(rows.saturating_sub(h));
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
