//! Overview: files, database header essentials, WAL generation, frames by state, commits,
//! checkpoint progress, read marks, activity sparklines, and the current findings.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Gauge, Paragraph, Sparkline, Widget, Wrap};

use super::{block, human_bytes, label, severity_style, state_style};
use crate::analysis::wal::FrameState;
use crate::format::escape::{escape, escape_path};
use crate::format::shm::READMARK_NOT_USED;
use crate::live::verdict::Tone;
use crate::present::fmt::short;
use crate::present::theme::Role;
use crate::tui::app::App;
use crate::tui::watcher::Snapshot;

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(s) = &app.snap else { return };
    let verdict_h = render_verdict(app, area, buf);
    let area = Rect { y: area.y + verdict_h, height: area.height.saturating_sub(verdict_h), ..area };
    let facts_h = facts(s, area.width).len() as u16 + 1;
    if app.zoom {
        render_findings(s, area, buf);
    } else if area.width >= 110 {
        let [left, right] = Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(area);
        let [facts, ckpt, finds] =
            Layout::vertical([Constraint::Length(facts_h), Constraint::Length(4), Constraint::Min(0)]).areas(left);
        render_facts(s, facts, buf);
        render_checkpoint(s, ckpt, buf);
        render_findings(s, finds, buf);
        render_sparklines(app, right, buf);
    } else {
        // The findings come before the sparklines: they get the rows a short screen has.
        let spark = if area.height >= facts_h + 3 + 6 + 4 { 4 } else { 0 };
        let [facts, ckpt, finds, spark] = Layout::vertical([
            Constraint::Length(facts_h),
            Constraint::Length(3),
            Constraint::Min(0),
            Constraint::Length(spark),
        ])
        .areas(area);
        render_facts(s, facts, buf);
        render_checkpoint(s, ckpt, buf);
        render_findings(s, finds, buf);
        render_sparklines(app, spark, buf);
    }
}

/// The verdict, wrapped over at most two lines; returns the rows used.
fn render_verdict(app: &App, area: Rect, buf: &mut Buffer) -> u16 {
    let Some(v) = app.verdict() else { return 0 };
    let role = match v.tone {
        Tone::Healthy => Role::Good,
        Tone::Attention => Role::Warning,
        Tone::Problem => Role::Error,
    };
    let width = usize::from(area.width.max(1));
    let text = format!(" {} ", v.text);
    let rows = text.chars().count().div_ceil(width).clamp(1, 2) as u16;
    let text = short(&text, width * usize::from(rows));
    Paragraph::new(Line::from(Span::styled(text, role.tui().add_modifier(Modifier::BOLD))))
        .wrap(Wrap { trim: false })
        .render(Rect { height: rows.min(area.height), ..area }, buf);
    rows.min(area.height)
}

fn render_facts(s: &Snapshot, area: Rect, buf: &mut Buffer) {
    Paragraph::new(facts(s, area.width)).block(block("State")).render(area, buf);
}

fn facts(s: &Snapshot, width: u16) -> Vec<Line<'static>> {
    let mut l: Vec<Line> = Vec::new();
    for f in &s.files {
        let name = match f.role {
            crate::source::FileKind::Db => "database",
            crate::source::FileKind::Wal => "-wal",
            crate::source::FileKind::Shm => "-shm",
        };
        let size = match f.stamp {
            Some(st) => Span::raw(format!("{:>10}  ", human_bytes(st.len))),
            None => Span::styled(format!("{:>10}  ", "absent"), Role::Dim.tui()),
        };
        l.push(Line::from(vec![
            label_fixed(name, 9),
            size,
            Span::styled(escape_path(&f.path).into_owned(), Role::Secondary.tui()),
        ]));
    }
    let a = &s.analysis;
    match (&a.db, &a.db_problem) {
        (Some(d), _) => {
            let h = &d.header;
            l.push(Line::from(vec![
                label_fixed("database", 9),
                Span::raw(format!(
                    "page size {} · {} pages{} · change counter {} · {} · SQLite {}",
                    h.page_size().map_or("invalid".into(), |p| p.to_string()),
                    h.page_count,
                    if h.page_count_valid() { "" } else { " (not trusted)" },
                    h.change_counter,
                    h.text_encoding_name(),
                    h.sqlite_version_string()
                )),
            ]));
        }
        (None, Some(p)) => {
            l.push(Line::from(vec![label_fixed("database", 9), Span::styled(escape(p).into_owned(), Role::Bad.tui())]))
        }
        (None, None) => {}
    }
    match &a.wal {
        Some(w) => match w.header {
            Some(h) => {
                let accepted = if w.header_accepted() {
                    Span::raw("")
                } else {
                    Span::styled(
                        format!(" · IGNORED by SQLite ({})", w.header_problem.map_or("", |p| p.name())),
                        Role::Bad.tui(),
                    )
                };
                l.push(Line::from(vec![
                    label_fixed("WAL", 9),
                    Span::raw(format!(
                        "generation: checkpoint seq {} · salts {:08x}/{:08x} · {}-endian checksums",
                        h.checkpoint_seq,
                        h.salt1,
                        h.salt2,
                        if h.magic & 1 == 1 { "big" } else { "little" }
                    )),
                    accepted,
                ]));
                let counts = state_counts(w);
                let mut spans = vec![label_fixed("frames", 9), Span::raw(format!("{} = ", w.frames.len()))];
                for (st, n) in STATES.iter().zip(counts) {
                    spans.push(Span::styled(format!("{n} {} ", st.name()), state_style(*st)));
                }
                if w.trailing_bytes > 0 {
                    spans.push(Span::styled(format!("+ {} torn bytes", w.trailing_bytes), Role::Bad.tui()));
                }
                l.push(Line::from(spans));
                let last = w.commits.last().map_or("none".to_string(), |c| {
                    format!("commit {} at frame {} (db {} pages)", c.number, c.frame, c.db_pages)
                });
                l.push(Line::from(vec![
                    label_fixed("commits", 9),
                    Span::raw(format!("{} · last: {last} · mxFrame {}", w.commits.len(), w.valid_frames)),
                ]));
                l.push(state_bar(counts, w.frames.len(), width.saturating_sub(10)));
            }
            None => l.push(Line::from(vec![
                label_fixed("WAL", 9),
                Span::raw(format!("{} bytes, no header: SQLite treats it as empty", w.file_len)),
            ])),
        },
        None => l.push(Line::from(vec![
            label_fixed("WAL", 9),
            Span::styled("no -wal (checkpointed and closed, or never opened in WAL mode)", Role::Dim.tui()),
        ])),
    }
    if let Some(sh) = &a.shm {
        let text = match sh.reference() {
            Some(r) => format!(
                "mxFrame {} · change {} · copies {} · index {}",
                r.mx_frame,
                r.change,
                if sh.headers_identical { "identical" } else { "DIFFER" },
                if sh.mismatch_count == 0 && sh.hash_errors == 0 {
                    "agrees with the WAL".to_string()
                } else {
                    format!("{} disagreements", sh.mismatch_count + sh.hash_errors)
                }
            ),
            None => format!("{} bytes, no usable header", sh.file_len),
        };
        l.push(Line::from(vec![label_fixed("-shm", 9), Span::raw(text)]));
    }
    l
}

fn label_fixed(s: &str, w: usize) -> Span<'static> {
    Span::styled(format!("{s:<w$} "), Role::Secondary.tui().add_modifier(Modifier::BOLD))
}

const STATES: [FrameState; 4] =
    [FrameState::Committed, FrameState::Uncommitted, FrameState::Invalid, FrameState::Stale];

/// Frames per state, in one pass (the list can hold hundreds of thousands).
fn state_counts(w: &crate::analysis::wal::WalAnalysis) -> [usize; 4] {
    let mut c = [0usize; 4];
    for f in &w.frames {
        let i = STATES.iter().position(|s| *s == f.state).unwrap_or(0);
        if let Some(x) = c.get_mut(i) {
            *x += 1;
        }
    }
    c
}

/// A one-line bar of the frame states in proportion.
fn state_bar(counts: [usize; 4], total: usize, width: u16) -> Line<'static> {
    let total = total.max(1);
    let mut spans = vec![Span::raw(format!("{:10}", ""))];
    for (st, n) in STATES.iter().zip(counts) {
        if n == 0 {
            continue;
        }
        let cells = ((n * usize::from(width)) / total).max(1);
        spans.push(Span::styled("█".repeat(cells), state_style(*st)));
    }
    Line::from(spans)
}

fn render_checkpoint(s: &Snapshot, area: Rect, buf: &mut Buffer) {
    let Some(sh) = &s.analysis.shm else { return };
    let (Some(c), Some(r)) = (sh.ckpt, sh.reference()) else { return };
    let [g, m] = Layout::vertical([Constraint::Length(2), Constraint::Min(0)]).areas(area);
    let mx = r.mx_frame;
    let ratio = if mx == 0 { 1.0 } else { (f64::from(c.backfill) / f64::from(mx)).clamp(0.0, 1.0) };
    Gauge::default()
        .block(block("checkpoint progress"))
        .gauge_style(Role::GaugeTrack.tui())
        .ratio(ratio)
        .label(format!("{} of {mx} frames backfilled", c.backfill))
        .render(g, buf);
    let marks: Vec<String> = c
        .read_marks
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, &v)| if v == READMARK_NOT_USED { format!("[{i}] -") } else { format!("[{i}] {v}") })
        .collect();
    Line::from(vec![label(" read marks "), Span::raw(marks.join("  "))]).render(m, buf);
}

fn render_sparklines(app: &App, area: Rect, buf: &mut Buffer) {
    if area.height < 4 {
        return;
    }
    let [a, b] = Layout::vertical([Constraint::Length(area.height / 2), Constraint::Min(0)]).areas(area);
    let w = usize::from(area.width);
    let sizes: Vec<u64> = app.history.wal_bytes.iter().rev().take(w).rev().copied().collect();
    let c: Vec<u64> = app.history.commits.iter().copied().collect();
    let rate: Vec<u64> = c
        .windows(2)
        .map(|p| match p {
            [a, b] => b.saturating_sub(*a),
            _ => 0,
        })
        .collect();
    let rate: Vec<u64> = rate.iter().rev().take(w).rev().copied().collect();
    let now = sizes.last().copied().unwrap_or(0);
    // The size now, and its change over the last one-second sample (a static file: "+0 B/s").
    let before = sizes.iter().rev().nth(1).copied().unwrap_or(now);
    let growth = if now >= before {
        format!("+{}/s", human_bytes(now - before))
    } else {
        format!("-{}/s", human_bytes(before - now))
    };
    Sparkline::default()
        .block(block(&format!("WAL size: {} ({growth})", human_bytes(now))))
        .data(&sizes)
        .style(Role::Structure.tui())
        .render(a, buf);
    Sparkline::default()
        .block(block(&format!(
            "commits per second: {} · {} this session",
            rate.last().copied().unwrap_or(0),
            app.session_commits
        )))
        .data(&rate)
        .style(Role::Good.tui())
        .render(b, buf);
}

fn render_findings(s: &Snapshot, area: Rect, buf: &mut Buffer) {
    if area.height < 2 {
        return;
    }
    let room = usize::from(area.width).saturating_sub(9);
    let lines: Vec<Line> = if s.findings.is_empty() {
        vec![Line::styled(" none", Role::Good.tui())]
    } else {
        s.findings
            .iter()
            .map(|f| {
                Line::from(vec![
                    Span::styled(format!(" {:<8}", f.severity.name()), severity_style(f.severity)),
                    Span::raw(short(&escape(&format!("{}: {}", f.code, f.message)), room)),
                ])
            })
            .collect()
    };
    let title = format!("findings: {} — 5 for details", crate::tui::views::severity_counts(&s.findings));
    Paragraph::new(lines).block(block(&title)).render(area, buf);
}
