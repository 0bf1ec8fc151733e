//! Findings: the live `check` result, with the selected finding's explanation.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::{block, severity_style};
use crate::analysis::findings::Finding;
use crate::format::escape::escape;
use crate::present::fmt::short;
use crate::present::theme::Role;
use crate::tui::app::App;
use crate::tui::explain::parts;

fn location(f: &Finding) -> String {
    let mut p = Vec::new();
    if let Some(x) = f.file {
        p.push(x.key().to_string());
    }
    if let Some(x) = f.frame {
        p.push(format!("frame {x}"));
    }
    if let Some(x) = f.page {
        p.push(format!("page {x}"));
    }
    if let Some(x) = f.offset {
        p.push(format!("offset {x}"));
    }
    p.join(", ")
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    if app.snap.is_none() {
        return;
    }
    let all = app.all_findings();
    let f = &all;
    if f.is_empty() {
        let deep = match (&app.deep, app.deep_running) {
            (_, true) => "  (deep check running)",
            (Some(_), false) => "  (deep check: ok)",
            (None, false) => "  (D: run the deep check)",
        };
        Paragraph::new(format!(
            "  no findings: SQLite sees a consistent database, WAL and index, and the live probe sees no hazard{deep}"
        ))
        .wrap(Wrap { trim: true })
        .block(block("Findings"))
        .render(area, buf);
        return;
    }
    let sel = app.findings_selected.min(f.len() - 1);
    // The list gets the rows it needs up to a third of the screen (at least 3); the
    // explanation the rest. Zoomed, the explanation has it all.
    let list_h = if app.zoom { 0 } else { (f.len() as u16 + 1).clamp(4, (area.height / 3).max(4)) };
    let [list, expl] = Layout::vertical([Constraint::Length(list_h), Constraint::Min(0)]).areas(area);
    if !app.zoom {
        render_list(app, f, sel, list, buf);
    }
    let Some(x) = f.get(sel) else { return };
    render_explanation(app, x, expl, buf);
}

fn render_list(app: &App, f: &[Finding], sel: usize, list: Rect, buf: &mut Buffer) {
    let h = usize::from(list.height.saturating_sub(1));
    app.findings_height.set(h);
    let first = sel.saturating_sub(h.saturating_sub(1));
    app.list_origin.set((list.y + 1, first));
    let room = usize::from(list.width).saturating_sub(38).max(1);
    let lines: Vec<Line> = f
        .iter()
        .enumerate()
        .skip(first)
        .take(h)
        .map(|(i, x)| {
            let mut base = Style::new();
            if i == sel {
                base = base.add_modifier(Modifier::REVERSED);
            }
            Line::from(vec![
                Span::styled(format!(" {:<8}", x.severity.name()), severity_style(x.severity).patch(base)),
                Span::styled(format!("{:<28} ", x.code), base.add_modifier(Modifier::BOLD)),
                Span::styled(short(&escape(&x.message), room), base),
            ])
        })
        .collect();
    let deep = match (&app.deep, app.deep_running) {
        (_, true) => " · deep check running".to_string(),
        (Some(d), false) => format!(" · {}", escape(d.error.as_deref().unwrap_or(&d.summary))),
        (None, false) => " · D: deep check".to_string(),
    };
    let title = format!("Findings: {}{deep}", super::severity_counts(f));
    Paragraph::new(lines).block(block(&title)).render(list, buf);
}

/// The selected finding: its message, where, then Cause / Consequence / Remedy each on its own
/// lines (the remedy emphasised), scrolled by J/K.
fn render_explanation(app: &App, x: &Finding, area: Rect, buf: &mut Buffer) {
    let mut e = vec![
        Line::from(Span::raw(escape(&x.message).into_owned())),
        Line::from(Span::styled(format!("where: {}", location(x)), Role::Secondary.tui())),
    ];
    // A deep finding: where its damaged page image came from, and the intact earlier one.
    if let (Some(d), Some(p)) = (&app.deep, x.page)
        && d.findings.iter().any(|df| df.code == x.code && df.page == x.page)
        && let Some((_, prov)) = d.provenance.iter().find(|(q, _)| *q == p)
    {
        e.push(Line::from(Span::styled(format!("page {p}: {}", escape(prov)), Role::Secondary.tui())));
    }
    let parts = parts(x.code);
    if parts.is_empty() {
        e.push(Line::from(Span::styled("(no explanation recorded)", Role::Dim.tui())));
    }
    for (k, text) in parts {
        let style = if k == "Remedy" { Role::Good.tui().add_modifier(Modifier::BOLD) } else { Role::Accent.tui() };
        e.push(Line::from(vec![Span::styled(format!("{k}: "), Role::Heading.tui()), Span::styled(text, style)]));
    }
    if x.frame.is_some() {
        e.push(Line::from(Span::styled("Enter: go to the frame", Role::Dim.tui())));
    }
    // Rows once wrapped, to stop scrolling at the end.
    let width = usize::from(area.width.max(1));
    let rows: usize = e.iter().map(|l| l.width().div_ceil(width).max(1) + usize::from(l.width() > width)).sum();
    let h = usize::from(area.height.saturating_sub(1));
    let first = app.explain_scroll.min(rows.saturating_sub(h));
    let more = if rows > h { format!(" — J/K scroll ({}/{rows})", (first + h).min(rows)) } else { String::new() };
    Paragraph::new(e)
        .wrap(Wrap { trim: true })
        .scroll((u16::try_from(first).unwrap_or(0), 0))
        .block(block(&format!("{}{more}", x.code.as_str())))
        .render(area, buf);
}
