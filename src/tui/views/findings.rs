//! Findings: the live `check` result, with the selected finding's explanation.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::{block, severity_style};
use crate::analysis::findings::Finding;
use crate::present::theme::Role;
use crate::tui::app::App;
use crate::tui::explain::explain;

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
    let Some(s) = &app.snap else { return };
    let f = &s.findings;
    if f.is_empty() {
        Paragraph::new("  no findings: SQLite sees a consistent database, WAL and index")
            .block(block("Findings"))
            .render(area, buf);
        return;
    }
    let [list, expl] = Layout::vertical([Constraint::Min(3), Constraint::Length(8)]).areas(area);
    let h = usize::from(list.height.saturating_sub(1));
    let sel = app.findings_selected.min(f.len() - 1);
    let first = sel.saturating_sub(h.saturating_sub(1));
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
                Span::styled(crate::format::escape::escape(&x.message).into_owned(), base),
            ])
        })
        .collect();
    let count = |sev| f.iter().filter(|x| x.severity == sev).count();
    use crate::analysis::findings::Severity::*;
    let title = format!("Findings: {} errors, {} warnings, {} infos", count(Error), count(Warning), count(Info));
    Paragraph::new(lines).block(block(&title)).render(list, buf);
    let Some(x) = f.get(sel) else { return };
    let mut e = vec![
        Line::from(Span::raw(crate::format::escape::escape(&x.message).into_owned())),
        Line::from(Span::styled(format!("where: {}", location(x)), Role::Secondary.tui())),
        Line::from(Span::styled(explain(x.code).unwrap_or("(no explanation recorded)"), Role::Accent.tui())),
    ];
    if x.frame.is_some() {
        e.push(Line::from(Span::styled("Enter: go to the frame", Role::Dim.tui())));
    }
    Paragraph::new(e).wrap(Wrap { trim: true }).block(block(x.code.as_str())).render(expl, buf);
}
