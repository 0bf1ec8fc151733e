//! Frame detail: the frame header, its page's b-tree header and cell pointers, and a hex view.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::{block, label, state_style};
use crate::format::db_header::{BtreePageHeader, DB_HEADER_LEN};
use crate::format::wal::frame_offset;
use crate::present::fmt::short;
use crate::present::theme::Role;
use crate::tui::app::App;

/// Which part of a b-tree page a byte belongs to (for colouring the hex view).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Region {
    DbHeader,
    PageHeader,
    CellPointers,
    Unallocated,
    /// Inside a freeblock of the page's chain: a deleted cell's bytes (all but its first 4)
    /// stay there until overwritten, and `salvage` carves them.
    Freeblock,
    Content,
}

/// The regions of a page, by byte ranges, when it has a b-tree header.
struct Layout2 {
    hdr: Option<BtreePageHeader>,
    ptr_end: usize,
    content: usize,
    /// The freeblock chain as (offset, size), in order (bounded by the chain walk).
    freeblocks: Vec<(usize, usize)>,
}

impl Layout2 {
    fn of(page: &[u8], page_no: u32) -> Self {
        let at = if page_no == 1 { DB_HEADER_LEN } else { 0 };
        let hdr = BtreePageHeader::parse(page, at).ok().filter(|h| h.page_type.is_some());
        let (ptr_end, content) = hdr.map_or((0, 0), |h| {
            let start = at + h.header_len();
            (start + 2 * usize::from(h.cell_count), h.cell_content_start() as usize)
        });
        let freeblocks = match (hdr, u32::try_from(page.len())) {
            (Some(_), Ok(usable)) => crate::format::btree::BtreePage::parse(page, page_no == 1, usable)
                .map(|p| p.freeblocks().0.iter().map(|f| (f.offset, f.size)).collect())
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        Self { hdr, ptr_end, content, freeblocks }
    }
    fn region(&self, page_no: u32, i: usize) -> Region {
        let at = if page_no == 1 { DB_HEADER_LEN } else { 0 };
        let Some(h) = self.hdr else { return Region::Content };
        if i < at {
            Region::DbHeader
        } else if i < at + h.header_len() {
            Region::PageHeader
        } else if i < self.ptr_end {
            Region::CellPointers
        } else if i < self.content {
            Region::Unallocated
        } else if self.freeblocks.iter().any(|&(o, n)| i >= o && i < o + n) {
            Region::Freeblock
        } else {
            Region::Content
        }
    }
}

fn region_style(r: Region) -> Style {
    match r {
        Region::DbHeader => Role::Structure.tui(),
        Region::PageHeader => Role::Key.tui(),
        Region::CellPointers => Role::Changed.tui(),
        Region::Unallocated => Role::Dim.tui(),
        Region::Freeblock => Role::Stale.tui(),
        Region::Content => Style::new(),
    }
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let n = app.detail.frame;
    let (Some(w), Some(rec)) = (app.wal(), app.frame_record(n)) else {
        Line::raw("  no frame selected: choose one in Frames (2) and press Enter").render(area, buf);
        return;
    };
    let top_h = if area.height >= 20 { 8 } else { 6 };
    let cells_h = if area.height >= 30 { 9 } else { 5 };
    let [top, cells, hex] =
        Layout::vertical([Constraint::Length(top_h), Constraint::Length(cells_h), Constraint::Min(1)]).areas(area);
    let [left, right] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(top);

    let h = &rec.header;
    let commit = w.commits.iter().find(|c| c.first_frame <= n && n <= c.frame);
    let newer = w
        .frames
        .iter()
        .skip(n as usize)
        .take(w.valid_frames.saturating_sub(n) as usize)
        .find(|f| f.header.page == h.page)
        .map(|f| f.index);
    let state = Span::styled(rec.state.name(), state_style(rec.state).add_modifier(Modifier::BOLD));
    let mut l = vec![
        Line::from(vec![
            label("offset "),
            Span::raw(format!("{} ", frame_offset(n, w.page_size.unwrap_or(0)))),
            label("state "),
            state,
            Span::raw(rec.generations_ago.map_or(String::new(), |g| {
                format!(" ({} ago)", crate::present::fmt::plural(u64::from(g), "reset", "resets"))
            })),
        ]),
        Line::from(vec![
            label("page "),
            Span::raw(format!("{} ", h.page)),
            label("commit "),
            Span::raw(if h.is_commit() { format!("yes, db size {} pages", h.commit_db_pages) } else { "no".into() }),
        ]),
        Line::from(vec![
            label("salts "),
            Span::raw(format!("{:08x}/{:08x} ", h.salt1, h.salt2)),
            ok_span(rec.salt_match, "= header", "≠ header"),
        ]),
        Line::from(vec![
            label("checksum "),
            Span::raw(format!("{:08x}/{:08x} ", h.checksum1, h.checksum2)),
            ok_span(rec.link_valid, "link ok", "link BAD"),
        ]),
    ];
    l.push(match commit {
        Some(c) => Line::from(vec![
            label("in "),
            Span::raw(format!("commit {} (frames {}..{})", c.number, c.first_frame, c.frame)),
        ]),
        None => Line::from(vec![label("in "), Span::raw("no committed transaction")]),
    });
    if rec.index <= w.valid_frames {
        l.push(Line::from(vec![
            label("newest copy "),
            Span::raw(match newer {
                Some(f) => format!("no, frame {f} is newer"),
                None => "yes".into(),
            }),
        ]));
    }
    if let Some(Ok(b)) = &app.detail.bytes {
        let mut content = vec![label("content "), Span::raw(format!("crc32 {:08x}", b.crc32))];
        if let Some(same) = b.same_as {
            content.push(Span::styled(format!(" · same content as frame {same}"), Role::Accent.tui()));
        }
        l.push(Line::from(content));
    }
    Paragraph::new(l).block(block(&format!("Frame {n} of {}", w.frames.len()))).render(left, buf);

    let mut r = Vec::new();
    r.push(owner_line(app));
    match &app.detail.bytes {
        None => r.push(Line::raw("reading…")),
        Some(Err(e)) => r.push(Line::styled(format!("cannot read: {e}"), Role::Bad.tui())),
        Some(Ok(b)) => {
            if b.header != *h {
                r.push(Line::styled(
                    "changed on disk since this snapshot: showing the bytes now there",
                    Role::Bad.tui(),
                ));
            }
            let lay = Layout2::of(&b.page, h.page);
            match lay.hdr {
                None => r.push(Line::raw(format!(
                    "not a b-tree page (flag byte {:#04x}): overflow, freelist or pointer-map page",
                    b.page.get(if h.page == 1 { 100 } else { 0 }).copied().unwrap_or(0)
                ))),
                Some(bh) => {
                    r.push(Line::from(vec![
                        label("type "),
                        Span::raw(format!("{} ({}) ", bh.page_type.map_or("?", |t| t.name()), bh.flag)),
                        label("cells "),
                        Span::raw(bh.cell_count.to_string()),
                    ]));
                    r.push(Line::from(vec![
                        label("content at "),
                        Span::raw(format!("{} ", bh.cell_content_start())),
                        label("freeblock "),
                        Span::raw(format!("{} ", bh.first_freeblock)),
                        label("fragmented "),
                        Span::raw(bh.fragmented_bytes.to_string()),
                    ]));
                    if let Some(rc) = bh.right_child {
                        r.push(Line::from(vec![label("right child "), Span::raw(rc.to_string())]));
                    }
                    let start = bh.offset + bh.header_len();
                    let ptrs: Vec<String> = (0..usize::from(bh.cell_count).min(64))
                        .filter_map(|i| crate::format::bytes::be_u16(&b.page, start + 2 * i))
                        .map(|p| p.to_string())
                        .collect();
                    let more = if bh.cell_count > 64 { " …" } else { "" };
                    r.push(Line::from(vec![label("cell pointers "), Span::raw(format!("{}{more}", ptrs.join(" ")))]));
                }
            }
        }
    }
    Paragraph::new(r).wrap(Wrap { trim: true }).block(block(&format!("Page {}", h.page))).render(right, buf);
    render_cells(app, cells, buf);
    render_hex(app, hex, buf);
}

fn owner_line(app: &App) -> Line<'static> {
    match &app.detail.owner {
        None => Line::from(vec![label("owner "), Span::styled("…", Role::Dim.tui())]),
        Some(o) => match &o.owner {
            Some((name, kind, role)) => Line::from(vec![
                label("owner "),
                Span::styled(name.clone(), Role::Key.tui()),
                Span::raw(format!(" ({kind}, {}) ", role.map_or("none", |r| r.as_str()))),
                Span::styled(format!("as of {}", o.as_of), Role::Dim.tui()),
            ]),
            None => Line::from(vec![
                label("owner "),
                Span::raw(format!("unknown: {}", o.owner_note.as_deref().unwrap_or("?"))),
            ]),
        },
    }
}

/// The decoded cells of the page: rowid or child, then the values (truncated).
fn render_cells(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(o) = &app.detail.owner else {
        Paragraph::new("decoding…").block(block("Cells")).render(area, buf);
        return;
    };
    let Some(cells) = &o.cells else {
        Paragraph::new("no cells: not a b-tree page").block(block("Cells")).render(area, buf);
        return;
    };
    let h = usize::from(area.height.saturating_sub(1));
    let w = usize::from(area.width);
    let mut lines: Vec<Line> = Vec::new();
    for c in cells.iter().skip(app.detail.cell_first.min(cells.len().saturating_sub(1))).take(h) {
        let mut head = format!("#{:<3} @{:<5}", c.index, c.offset);
        if let Some(ch) = c.left_child {
            head.push_str(&format!(" child {ch}"));
        }
        if let Some(r) = c.rowid {
            head.push_str(&format!(" rowid {r}"));
        }
        let vals: Vec<String> = c.values.iter().map(|v| short(&v.to_string(), 24)).collect();
        let mut text = vals.join(" | ");
        if c.overflow.is_some() {
            text.push_str(&format!(" …(+overflow, {} bytes)", c.payload_len));
        }
        if let Some(p) = &c.problem {
            text.push_str(&format!(" [{p}]"));
        }
        let room = w.saturating_sub(head.len() + 2);
        lines.push(Line::from(vec![
            Span::styled(head, Role::Dim.tui()),
            Span::raw(": "),
            Span::raw(short(&text, room.max(1))),
        ]));
    }
    let shown = lines.len();
    let title = if o.cell_count > shown {
        format!("Cells: {shown} of {} ({} decoded)", o.cell_count, cells.len())
    } else {
        format!("Cells: {}", o.cell_count)
    };
    Paragraph::new(lines).block(block(&title)).render(area, buf);
}

fn ok_span(ok: bool, yes: &'static str, no: &'static str) -> Span<'static> {
    if ok { Span::styled(yes, Role::Good.tui()) } else { Span::styled(no, Role::Alarm.tui()) }
}

fn render_hex(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(Ok(b)) = &app.detail.bytes else { return };
    let page_no = b.header.page;
    let lay = Layout2::of(&b.page, page_no);
    let title = Line::from(vec![
        Span::styled(" page bytes ", Role::Heading.tui()),
        Span::styled("db header ", region_style(Region::DbHeader)),
        Span::styled("b-tree header ", region_style(Region::PageHeader)),
        Span::styled("cell pointers ", region_style(Region::CellPointers)),
        Span::styled("unallocated ", region_style(Region::Unallocated)),
        Span::styled(
            match lay.freeblocks.len() {
                0 => "freeblocks (none) ".to_string(),
                n => format!("freeblocks ({n}, {} B) ", lay.freeblocks.iter().map(|f| f.1).sum::<usize>()),
            },
            region_style(Region::Freeblock),
        ),
        Span::raw("cells"),
    ]);
    title.render(Rect { height: 1, ..area }, buf);
    let h = usize::from(area.height.saturating_sub(1));
    app.detail.height.set(h);
    let lines = b.page.len().div_ceil(16);
    let first = app.detail.scroll.min(lines.saturating_sub(h));
    for (k, line) in (first..(first + h).min(lines)).enumerate() {
        let start = line * 16;
        let bytes = b.page.get(start..(start + 16).min(b.page.len())).unwrap_or(&[]);
        let mut spans = vec![Span::styled(format!("{start:04x}  "), Role::Dim.tui())];
        for (i, byte) in bytes.iter().enumerate() {
            spans.push(Span::styled(format!("{byte:02x} "), region_style(lay.region(page_no, start + i))));
        }
        let ascii: String =
            bytes.iter().map(|&c| if c.is_ascii_graphic() || c == b' ' { c as char } else { '.' }).collect();
        spans.push(Span::styled(format!(" {ascii}"), Role::Secondary.tui()));
        Line::from(spans).render(Rect { y: area.y + 1 + k as u16, height: 1, ..area }, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deleted rows on a real SQLite page (secure_delete off) are marked as freeblocks, and the
    /// bytes marked hold the deleted rows' values (all but each cell's first 4 bytes).
    #[test]
    fn freeblocks_of_a_real_page_are_marked() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("f.db");
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch(
            "PRAGMA page_size=1024; PRAGMA secure_delete=OFF; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);",
        )
        .unwrap();
        for i in 1..=8 {
            c.execute("INSERT INTO t VALUES (?1, printf('gone-or-kept-%02d-%s', ?1, hex(zeroblob(8))))", [i]).unwrap();
        }
        c.execute_batch("DELETE FROM t WHERE id IN (3, 6)").unwrap();
        drop(c);
        let file = std::fs::read(&db).unwrap();
        let page = file.get(1024..2048).unwrap();
        let lay = Layout2::of(page, 2);
        assert_eq!(lay.freeblocks.len(), 2, "two deleted cells, two freeblocks: {:?}", lay.freeblocks);
        for (&(off, size), id) in lay.freeblocks.iter().zip(["06", "03"]) {
            let region: Vec<Region> = (off..off + size).map(|i| lay.region(2, i)).collect();
            assert!(region.iter().all(|&r| r == Region::Freeblock), "every byte of the freeblock at {off} is marked");
            let bytes = page.get(off..off + size).unwrap();
            let text = String::from_utf8_lossy(bytes);
            assert!(text.contains(&format!("gone-or-kept-{id}")), "the freeblock at {off} holds row {id}: {text:?}");
        }
        let kept = page.windows(15).position(|w| w == b"gone-or-kept-04").unwrap();
        assert_eq!(lay.region(2, kept), Region::Content, "a live row is not marked");
    }
}
