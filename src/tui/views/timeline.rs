//! Timeline: one entry per commit (then the uncommitted tail) with the objects whose pages it
//! wrote; Enter shows the selected commit's row changes. Both are computed by the forensic
//! worker on request (entering the view, `t`, Enter), never on every refresh.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::{block, label};
use crate::present::theme::Role;
use crate::tui::app::App;
use crate::tui::forensic::{CommitRows, TimelineEntry};

fn entry_line(e: &TimelineEntry, selected: bool, width: usize) -> Line<'static> {
    let base = if selected { Style::new().add_modifier(Modifier::REVERSED) } else { Style::new() };
    let name = match e.number {
        Some(n) => Span::styled(format!(" c{n:<5}"), base.patch(Role::Live.tui())),
        None => Span::styled(" tail  ", base.patch(Role::Warning.tui())),
    };
    let frames = format!("{:>7}..{:<7} {:>6}p  ", e.first_frame, e.frame, e.db_pages);
    let mut objs: Vec<String> =
        e.schema_changes.iter().map(|s| format!("[{}]", crate::format::escape::escape(s))).collect();
    objs.extend(e.objects.iter().map(|o| format!("{} {}", crate::format::escape::escape(&o.name), o.pages)));
    let mut text = objs.join(", ");
    if e.notes > 0 {
        text.push_str(&format!("  ({} notes)", e.notes));
    }
    let room = width.saturating_sub(7 + frames.len());
    let text = crate::present::fmt::short(&text, room.max(1));
    Line::from(vec![name, Span::styled(frames, base), Span::styled(text, base)])
}

fn keys_text(keys: &[String], max: usize) -> String {
    let shown: Vec<&str> = keys.iter().take(max).map(String::as_str).collect();
    let more = keys.len().saturating_sub(max);
    if more > 0 { format!("{} … (+{more})", shown.join(" ")) } else { shown.join(" ") }
}

fn rows_lines(r: &CommitRows) -> Vec<Line<'static>> {
    let mut l = Vec::new();
    if let Some(e) = &r.error {
        l.push(Line::styled(format!("cannot compute: {e}"), Role::Bad.tui()));
        return l;
    }
    if r.tables.is_empty() {
        l.push(Line::raw("no row changed in any table (pages only: index, freelist or schema work)"));
    }
    for t in &r.tables {
        l.push(Line::from(vec![
            Span::styled(crate::format::escape::escape(&t.name).into_owned(), Role::Heading.tui()),
            Span::raw(format!(
                ": {} inserted, {} updated, {} deleted{}",
                t.inserted.len(),
                t.updated.len(),
                t.deleted.len(),
                if t.more > 0 { format!(" (+{} not listed)", t.more) } else { String::new() }
            )),
        ]));
        for (what, keys, color) in
            [("  + ", &t.inserted, Role::Good), ("  ~ ", &t.updated, Role::Changed), ("  - ", &t.deleted, Role::Bad)]
        {
            if !keys.is_empty() {
                l.push(Line::from(vec![
                    Span::styled(what, color.tui().add_modifier(Modifier::BOLD)),
                    Span::raw(keys_text(keys, 40)),
                ]));
            }
        }
    }
    for n in r.notes.iter().take(5) {
        l.push(Line::styled(format!("note: {n}"), Role::Changed.tui()));
    }
    l
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.timeline;
    let Some(data) = &t.data else {
        let msg = if t.computing { "  computing the timeline…" } else { "  t: compute the timeline" };
        Paragraph::new(msg).block(block("Timeline")).render(area, buf);
        return;
    };
    let rows_h = if area.height >= 30 { 12 } else { 8 };
    let [list, rows] = Layout::vertical([Constraint::Min(3), Constraint::Length(rows_h)]).areas(area);
    let seq = app.snap.as_ref().map_or(0, |s| s.seq);
    let commits = data.entries.iter().filter(|e| e.number.is_some()).count();
    let mut title = format!("Timeline at #{}: {commits} commits, {:.1} ms", data.seq, data.micros as f64 / 1000.0);
    if t.computing {
        title.push_str(" · recomputing…");
    } else if data.seq != seq {
        title.push_str(" · newer state: t to recompute");
    }
    let b = block(&title);
    let inner = b.inner(list);
    b.render(list, buf);
    if let Some(e) = &data.error {
        Line::styled(format!("  {e}"), Role::Bad.tui()).render(inner, buf);
        return;
    }
    let h = usize::from(inner.height.saturating_sub(1));
    t.height.set(h.max(1));
    Line::from(label("  commit   frames          size  objects written (pages)"))
        .render(Rect { height: 1, ..inner }, buf);
    let n = data.entries.len();
    let sel = t.selected.min(n.saturating_sub(1));
    let mut off = t.offset.get();
    if sel < off {
        off = sel;
    } else if h > 0 && sel >= off + h {
        off = sel + 1 - h;
    }
    t.offset.set(off);
    for (k, e) in data.entries.iter().enumerate().skip(off).take(h) {
        let y = inner.y + 1 + (k - off) as u16;
        entry_line(e, k == sel, usize::from(inner.width)).render(Rect { y, height: 1, ..inner }, buf);
    }
    if n == 0 {
        Line::raw("  no commit in the WAL").render(Rect { y: inner.y + 1, height: 1, ..inner }, buf);
    }

    let number = t.selected_number();
    let (title, body): (String, Vec<Line>) = match (&t.rows, t.rows_pending, number) {
        (_, Some(p), _) => (format!("Rows of commit {p}"), vec![Line::raw("computing…")]),
        (Some(r), _, _) => (format!("Rows of commit {} ({:.1} ms)", r.number, r.micros as f64 / 1000.0), rows_lines(r)),
        (None, None, Some(n)) => {
            (format!("Commit {n}"), vec![Line::from(label("Enter: the rows this commit inserted, updated, deleted"))])
        }
        (None, None, None) => {
            ("Uncommitted tail".into(), vec![Line::raw("not committed: no row changes are computed")])
        }
    };
    Paragraph::new(body).wrap(Wrap { trim: true }).block(block(&title)).render(rows, buf);
}
