//! -shm: the two header copies side by side (with the WAL's values), differences highlighted;
//! checkpoint info, read marks against mxFrame, and the hash segments.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Gauge, Paragraph, Widget};

use super::{block, label};
use crate::analysis::shm::ShmAnalysis;
use crate::analysis::wal::WalAnalysis;
use crate::format::shm::{READMARK_NOT_USED, WalIndexHeader};
use crate::present::theme::Role;
use crate::tui::app::App;

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let snap = app.snap.as_ref();
    let Some(s) = snap.and_then(|s| s.analysis.shm.as_ref()) else {
        Paragraph::new("  no -shm: no connection has the database open (the last one to close deletes it)")
            .render(area, buf);
        return;
    };
    let wal = snap.and_then(|s| s.analysis.wal.as_ref());
    let Some(hs) = s.headers else {
        Paragraph::new(format!("  the -shm is {} bytes: too short for the wal-index header", s.file_len))
            .render(area, buf);
        return;
    };
    let [headers, ckpt, segs] =
        Layout::vertical([Constraint::Length(14), Constraint::Length(4), Constraint::Min(0)]).areas(area);
    render_headers(s, &hs, wal, headers, buf);
    render_ckpt(s, &hs, ckpt, buf);
    render_segments(app, s, segs, buf);
}

fn render_headers(s: &ShmAnalysis, hs: &[WalIndexHeader; 2], wal: Option<&WalAnalysis>, area: Rect, buf: &mut Buffer) {
    let hex2 = |a: [u32; 2]| format!("{:08x}/{:08x}", a[0], a[1]);
    let wh = wal.and_then(|w| w.header);
    let rows: Vec<(&str, [String; 2], Option<String>)> = vec![
        ("iVersion", hs.map(|h| h.version.to_string()), None),
        ("iChange", hs.map(|h| h.change.to_string()), None),
        ("isInit", hs.map(|h| h.is_init.to_string()), None),
        ("bigEndCksum", hs.map(|h| h.big_endian_checksum.to_string()), wh.map(|h| (h.magic & 1).to_string())),
        ("szPage", hs.map(|h| h.page_size().to_string()), wh.map(|h| h.page_size.to_string())),
        ("mxFrame", hs.map(|h| h.mx_frame.to_string()), wal.map(|w| w.valid_frames.to_string())),
        ("nPage", hs.map(|h| h.db_pages.to_string()), wal.map(|w| w.db_pages.to_string())),
        ("aFrameCksum", hs.map(|h| hex2(h.frame_checksum)), wal.map(|w| hex2(w.mx_checksum))),
        ("aSalt", hs.map(|h| hex2(h.salts())), wh.map(|h| hex2(h.salts()))),
        ("aCksum", hs.map(|h| hex2(h.checksum)), None),
        ("checksum", s.checksum_valid.map(|ok| if ok { "valid".to_string() } else { "INVALID".to_string() }), None),
    ];
    let w0 = 12;
    let mut lines = vec![Line::from(vec![Span::styled(
        format!(" {:<w0$} {:<19} {:<19} {}", "field", "copy 0", "copy 1", "the WAL says"),
        Role::ColumnHeader.tui(),
    )])];
    for (name, v, walv) in rows {
        let differ = v[0] != v[1];
        let bad = Role::Alarm.tui();
        let val = |x: &str| {
            if differ || x == "INVALID" {
                Span::styled(format!("{x:<19} "), bad)
            } else {
                Span::raw(format!("{x:<19} "))
            }
        };
        let mut spans = vec![label_owned(format!(" {name:<w0$} ")), val(&v[0]), val(&v[1])];
        if let Some(wv) = walv {
            let style = if wv != v[0] { Role::Changed.tui() } else { Role::Dim.tui() };
            spans.push(Span::styled(wv, style));
        }
        lines.push(Line::from(spans));
    }
    let title =
        if s.headers_identical { "wal-index header: copies identical" } else { "wal-index header: COPIES DIFFER" };
    let order = match s.endian {
        crate::format::shm::ShmEndian::Little => "little",
        crate::format::shm::ShmEndian::Big => "big",
    };
    Paragraph::new(lines).block(block(&format!("{title} · {} bytes, {order}-endian", s.file_len))).render(area, buf);
}

fn label_owned(s: String) -> Span<'static> {
    Span::styled(s, Role::Secondary.tui())
}

fn render_ckpt(s: &ShmAnalysis, hs: &[WalIndexHeader; 2], area: Rect, buf: &mut Buffer) {
    let Some(c) = s.ckpt else {
        Paragraph::new("  no checkpoint info (file shorter than 136 bytes)").render(area, buf);
        return;
    };
    let mx = s.reference().unwrap_or(&hs[0]).mx_frame;
    let [g, marks] = Layout::vertical([Constraint::Length(2), Constraint::Length(2)]).areas(area);
    let ratio = if mx == 0 { 1.0 } else { (f64::from(c.backfill) / f64::from(mx)).clamp(0.0, 1.0) };
    Gauge::default()
        .block(block("checkpoint"))
        .gauge_style(Role::GaugeTrack.tui())
        .ratio(ratio)
        .label(format!("nBackfill {} of mxFrame {mx} · attempted {}", c.backfill, c.backfill_attempted))
        .render(g, buf);
    let mut spans = vec![label(" read marks ")];
    for (i, &m) in c.read_marks.iter().enumerate() {
        let (text, style) = if m == READMARK_NOT_USED {
            (format!("[{i}] unused  "), Role::Dim.tui())
        } else if m > mx {
            (format!("[{i}] {m} > mxFrame  "), Role::Alarm.tui())
        } else if m < mx && i > 0 {
            (format!("[{i}] {m} (older)  "), Role::Changed.tui())
        } else {
            (format!("[{i}] {m}  "), Role::Good.tui())
        };
        spans.push(Span::styled(text, style));
    }
    Paragraph::new(vec![
        Line::from(spans),
        Line::from(vec![label(" lock bytes "), Span::raw(format!("{:02x?}", c.lock_bytes))]),
    ])
    .render(marks, buf);
}

fn render_segments(app: &App, s: &ShmAnalysis, area: Rect, buf: &mut Buffer) {
    if area.height < 2 {
        return;
    }
    let mut lines = vec![Line::styled(
        format!(
            " {:>3} {:>17} {:>7} {:>6} {:>8} {:>6} {:>6} {:>8} {:>7}",
            "seg", "frames", "entries", "hashed", ">mxFrame", "uncomm", "other", "mismatch", "badhash"
        ),
        Role::ColumnHeader.tui(),
    )];
    let mut rows: Vec<Line> = s
        .segments
        .iter()
        .map(|g| {
            let bad = g.mismatches > 0 || g.hash_errors > 0;
            Line::styled(
                format!(
                    " {:>3} {:>8}..{:<8} {:>7} {:>6} {:>8} {:>6} {:>6} {:>8} {:>7}",
                    g.index,
                    g.first_frame,
                    g.last_frame,
                    g.entries,
                    g.hash_entries,
                    g.entries_beyond_mx_frame,
                    g.beyond_uncommitted,
                    g.beyond_other,
                    g.mismatches,
                    g.hash_errors
                ),
                if bad { Role::Bad.tui() } else { Style::new() },
            )
        })
        .collect();
    for m in s.mismatches.iter().take(50) {
        rows.push(Line::styled(
            format!(
                "     mismatch: frame {} (segment {}) {}: index page {}, WAL page {}",
                m.frame,
                m.segment,
                m.kind.name(),
                m.shm_page,
                m.wal_page.map_or("-".into(), |p| p.to_string())
            ),
            Role::Bad.tui(),
        ));
    }
    let h = usize::from(area.height.saturating_sub(2));
    app.shm_height.set(h);
    let first = app.shm_scroll.min(rows.len().saturating_sub(h));
    lines.extend(rows.into_iter().skip(first).take(h));
    let title = format!(
        "hash segments: {} · index {}",
        s.segments.len(),
        if s.reference_header.is_some() && s.mismatch_count == 0 && s.hash_errors == 0 {
            "agrees with the WAL".to_string()
        } else {
            format!("{} disagreements, {} bad hash slots", s.mismatch_count, s.hash_errors)
        }
    );
    Paragraph::new(lines).block(block(&title)).render(area, buf);
}
