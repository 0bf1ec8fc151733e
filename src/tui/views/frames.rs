//! Frames: every frame slot of the -wal, virtualised (only visible rows are built).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::state_style;
use crate::analysis::wal::FrameRecord;
use crate::format::wal::frame_offset;
use crate::present::theme::Role;
use crate::tui::app::App;

/// Which optional columns fit.
struct Columns {
    salts: bool,
    checksums: bool,
}

impl Columns {
    fn for_width(w: u16) -> Self {
        Self { salts: w >= 98, checksums: w >= 116 }
    }
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(w) = app.wal() else {
        Line::raw("  no -wal: nothing to list").render(area, buf);
        return;
    };
    if area.height < 3 {
        return;
    }
    let st = &app.frames;
    let len = st.len(Some(w));
    let h = usize::from(area.height - 2);
    st.height.set(h);
    let pos = st.position().min(len.saturating_sub(1));
    let mut off = st.offset.get();
    if pos < off {
        off = pos;
    } else if pos >= off + h {
        off = pos + 1 - h;
    }
    off = off.min(len.saturating_sub(h));
    st.offset.set(off);

    let backfill = app
        .snap
        .as_ref()
        .and_then(|s| s.analysis.shm.as_ref())
        .filter(|s| s.reference().is_some_and(|r| Some(r.salts()) == w.header.map(|h| h.salts())))
        .and_then(|s| s.ckpt)
        .map_or(0, |c| c.backfill);
    let filter = match (st.state_filter, st.page_filter) {
        (None, None) => "all".to_string(),
        (s, p) => [s.map(|s| s.name().to_string()), p.map(|p| format!("page {p}"))]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", "),
    };
    let shown = if len == 0 { "none".to_string() } else { format!("{}–{} of {len}", off + 1, (off + h).min(len)) };
    let info = Line::from(vec![
        Span::styled(format!(" rows {shown}"), Role::Heading.tui()),
        Span::raw(format!(
            " · filter {filter} · mxFrame {} · chain-valid {} · nBackfill {backfill}",
            w.valid_frames, w.chain_valid_frames
        )),
    ]);
    let mut y = area.y;
    info.render(Rect { y, height: 1, ..area }, buf);
    y += 1;
    let cols = Columns::for_width(area.width);
    Line::from(Span::styled(header(&cols), Role::ColumnHeader.tui())).render(Rect { y, height: 1, ..area }, buf);
    y += 1;
    let page_size = w.page_size.unwrap_or(0);
    app.list_origin.set((y, off));
    for row in off..(off + h).min(len) {
        let Some(f) = st.frame_at(row).and_then(|i| w.frame(i)) else {
            continue;
        };
        let selected = f.index == st.selected;
        let number = w.commits.binary_search_by_key(&f.index, |c| c.frame).ok().and_then(|i| w.commits.get(i));
        let line = row_line(
            f,
            number.map(|c| c.number),
            &cols,
            page_size,
            f.index <= backfill && f.index <= w.valid_frames,
            selected,
        );
        line.render(Rect { y, height: 1, ..area }, buf);
        y += 1;
    }
    if len == 0 {
        Line::raw("  no frame matches the filter (f: next state filter, F: page filter)")
            .render(Rect { y, height: 1, ..area }, buf);
    }
}

fn header(c: &Columns) -> String {
    let mut s = format!(" {:>8} {:>12} {:>8} {:>6} {:>7} ", "frame", "offset", "page", "commit", "db pgs");
    if c.salts {
        s += &format!("{:<17} ", "salts");
    }
    if c.checksums {
        s += &format!("{:<17} ", "checksums");
    }
    s += &format!("{:<4} {:<4} {:<4} {:<16}", "salt", "link", "ckpt", "state");
    s
}

/// One frame's row. `commit`: the number of the commit this frame ends (this generation's, 1-based).
fn row_line(
    f: &FrameRecord,
    commit: Option<u32>,
    c: &Columns,
    page_size: u32,
    backfilled: bool,
    selected: bool,
) -> Line<'static> {
    let h = &f.header;
    let db_pages = if h.is_commit() { h.commit_db_pages.to_string() } else { String::new() };
    let number = commit.map_or(String::new(), |n| format!("#{n}"));
    let mut text = format!(
        " {:>8} {:>12} {:>8} {:>6} {:>7} ",
        f.index,
        frame_offset(f.index, page_size),
        h.page,
        number,
        db_pages
    );
    if c.salts {
        text += &format!("{:08x} {:08x} ", h.salt1, h.salt2);
    }
    if c.checksums {
        text += &format!("{:08x} {:08x} ", h.checksum1, h.checksum2);
    }
    let ok = |b: bool| if b { "ok  " } else { "BAD " };
    let same = |b: bool| if b { "=   " } else { "≠   " };
    let state = match f.generations_ago {
        Some(g) => format!("{} (-{g})", f.state.name()),
        None => f.state.name().to_string(),
    };
    let mut base = Style::new();
    if h.is_commit() {
        base = base.add_modifier(Modifier::BOLD);
    }
    if selected {
        base = base.add_modifier(Modifier::REVERSED);
    }
    let bad = Role::Bad.tui();
    Line::from(vec![
        Span::styled(text, base),
        Span::styled(format!("{} ", same(f.salt_match)), if f.salt_match { base } else { base.patch(bad) }),
        Span::styled(format!("{} ", ok(f.link_valid)), if f.link_valid { base } else { base.patch(bad) }),
        Span::styled(format!("{:<4} ", if backfilled { "✓" } else { "" }), base.patch(Role::Accent.tui())),
        Span::styled(format!("{state:<16}"), base.patch(state_style(f.state))),
    ])
}
