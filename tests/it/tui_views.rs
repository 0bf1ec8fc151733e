//! The TUI's views rendered from a real database state into ratatui's TestBackend, compared
//! with reviewed snapshots (tests/it/snapshots/). Salts and checksums are random per run, so
//! every 8-digit hex word is masked; the scratch directory's path is replaced by `<dir>`.

use std::path::Path;
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use rusqlite::Connection;
use walinspect::source::Paths;
use walinspect::tui::app::App;
use walinspect::tui::event::Event;
use walinspect::tui::views::render;
use walinspect::tui::watcher::{Snapshot, Watcher};

/// The live state of a busy database, frozen: an earlier WAL generation's frames left after a
/// reset (stale), commits, a reader holding an old snapshot (so a checkpoint stops at its
/// mark), and a big transaction in progress that spilled (uncommitted frames).
struct Fixture {
    dir: tempfile::TempDir,
    _writer: Connection,
    _reader: Connection,
}

fn rows(c: &Connection, from: i64, n: i64) {
    c.execute_batch("BEGIN").unwrap();
    for i in from..from + n {
        c.execute("INSERT INTO t(id, v) VALUES (?1, printf('%.*c', 300, char(65 + ?1 % 26)))", [i]).unwrap();
    }
    c.execute_batch("COMMIT").unwrap();
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    let c = Connection::open(&db).unwrap();
    c.pragma_update(None, "page_size", 1024).unwrap();
    c.pragma_update(None, "journal_mode", "wal").unwrap();
    c.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    c.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)").unwrap();
    for k in 0..4 {
        rows(&c, k * 10, 10);
    }
    c.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(())).unwrap();
    rows(&c, 100, 3);
    let r = Connection::open(&db).unwrap();
    r.execute_batch("BEGIN").unwrap();
    r.query_row("SELECT count(*) FROM t", [], |_| Ok(())).unwrap();
    rows(&c, 200, 3);
    c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())).unwrap();
    c.pragma_update(None, "cache_size", 2).unwrap();
    c.execute_batch("BEGIN").unwrap();
    for i in 300..330 {
        c.execute("INSERT INTO t(id, v) VALUES (?1, printf('%.*c', 300, 'x'))", [i]).unwrap();
    }
    Fixture { dir, _writer: c, _reader: r }
}

fn snapshot(f: &Fixture) -> (Watcher, Arc<Snapshot>) {
    let mut w = Watcher::new(Paths::resolve(&f.dir.path().join("app.db")));
    let s = w.poll(&mut |_, _| {}).unwrap();
    (w, Arc::new(stable(s)))
}

/// "pid 4242 (app --serve)" for this test process (the fixture's SQLite connections), wherever
/// a pid and command line appear.
fn fix_pid(t: &str) -> String {
    let t = t.replace(&std::process::id().to_string(), "4242");
    let mut out = String::new();
    let mut rest = t.as_str();
    while let Some(i) = rest.find("pid 4242 (") {
        out.push_str(&rest[..i]);
        out.push_str("pid 4242 (app --serve)");
        let after = &rest[i + "pid 4242 (".len()..];
        rest = after.find(')').map_or("", |e| &after[e + 1..]);
    }
    out.push_str(rest);
    out
}

/// The snapshot with this process's pid and command line replaced by fixed ones in the live
/// state and the findings, and the environment findings (machine-dependent) dropped.
fn stable(mut s: Snapshot) -> Snapshot {
    use walinspect::live::locks::Process;
    s.findings.retain(|x| !x.code.as_str().starts_with("env."));
    for x in &mut s.findings {
        x.message = fix_pid(&x.message);
    }
    if let Some(l) = &s.live {
        let mut l = (**l).clone();
        let fix = |p: &mut Process| {
            if p.pid.is_some() {
                p.pid = Some(4242);
                p.command = Some("app --serve".into());
            }
        };
        l.writer.iter_mut().for_each(fix);
        l.connections.iter_mut().for_each(fix);
        l.checkpointer.iter_mut().for_each(fix);
        for r in &mut l.readers {
            r.readers.iter_mut().for_each(fix);
            r.exclusive.iter_mut().for_each(fix);
        }
        for st in &mut l.starvation {
            st.readers.iter_mut().for_each(fix);
            st.checkpointers.iter_mut().for_each(fix);
        }
        s.live = Some(Arc::new(l));
    }
    s
}

fn app_with(s: &Arc<Snapshot>) -> App {
    let mut app = App::new("app.db", 250);
    app.handle(Event::Snapshot(s.clone()));
    app
}

fn key(app: &mut App, code: KeyCode) {
    app.handle(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn keys(app: &mut App, s: &str) {
    for c in s.chars() {
        key(app, KeyCode::Char(c));
    }
}

/// Mask words of exactly 8 hex digits (salts, checksums: random per run).
fn mask_hex(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let boundary_before = i == 0 || !chars[i - 1].is_ascii_alphanumeric();
        if boundary_before
            && i + 8 <= chars.len()
            && chars[i..i + 8].iter().all(|c| c.is_ascii_hexdigit())
            && chars.get(i + 8).is_none_or(|c| !c.is_ascii_alphanumeric())
        {
            out.push_str("xxxxxxxx");
            i += 8;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

fn screen(app: &App, w: u16, h: u16, dir: &Path) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| render(app, f.area(), f.buffer_mut())).unwrap();
    let buf = t.backend().buffer();
    let mut text = String::new();
    for y in 0..h {
        let mut line = String::new();
        for x in 0..w {
            line.push_str(buf[(x, y)].symbol());
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    // The path can be cut by the screen's edge; replace it and any visible prefix of it.
    let d = dir.display().to_string();
    let text = text.replace(&d, "<dir>");
    mask_hex(&text)
}

#[test]
fn overview() {
    let f = fixture();
    let (_w, s) = snapshot(&f);
    let mut app = app_with(&s);
    for (size, commits) in [(1 << 20, 0), (2 << 20, 3), (3 << 20, 9), (3 << 20, 10), (5 << 20, 20)] {
        app.history.wal_bytes.push_back(size);
        app.history.commits.push_back(commits);
    }
    insta::assert_snapshot!("overview_80x24", screen(&app, 80, 24, f.dir.path()));
    insta::assert_snapshot!("overview_120x32", screen(&app, 120, 32, f.dir.path()));
}

#[test]
fn frames_and_filters() {
    let f = fixture();
    let (_w, s) = snapshot(&f);
    let mut app = app_with(&s);
    keys(&mut app, "2");
    keys(&mut app, "jjjn");
    insta::assert_snapshot!("frames_80x24", screen(&app, 80, 24, f.dir.path()));
    insta::assert_snapshot!("frames_120x30", screen(&app, 120, 30, f.dir.path()));
    keys(&mut app, "ffff");
    insta::assert_snapshot!("frames_stale_only_100x16", screen(&app, 100, 16, f.dir.path()));
    keys(&mut app, "f");
    keys(&mut app, "F");
    keys(&mut app, "2");
    key(&mut app, KeyCode::Enter);
    insta::assert_snapshot!("frames_page_2_100x16", screen(&app, 100, 16, f.dir.path()));
}

#[test]
fn frame_detail_of_page_1_and_of_a_leaf() {
    let f = fixture();
    let (w, s) = snapshot(&f);
    let mut app = app_with(&s);
    let wal = s.analysis.wal.as_ref().unwrap();
    let page1 = wal.frames.iter().find(|r| r.header.page == 1).unwrap().index;
    keys(&mut app, ":");
    keys(&mut app, &page1.to_string());
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.requests.drain(..).collect::<Vec<_>>(), vec![walinspect::tui::event::Request::Frame(page1)]);
    let screen_loading = screen(&app, 80, 24, f.dir.path());
    assert!(screen_loading.contains("reading…"), "{screen_loading}");
    app.handle(Event::Frame { frame: page1, result: w.read_frame(page1).map_err(std::sync::Arc::new) });
    insta::assert_snapshot!("detail_page1_80x24", screen(&app, 80, 24, f.dir.path()));
    keys(&mut app, "l");
    let next = page1 + 1;
    app.handle(Event::Frame { frame: next, result: w.read_frame(next).map_err(std::sync::Arc::new) });
    insta::assert_snapshot!("detail_next_100x30", screen(&app, 100, 30, f.dir.path()));
}

#[test]
fn shm_and_findings() {
    let f = fixture();
    let (_w, s) = snapshot(&f);
    let mut app = app_with(&s);
    keys(&mut app, "4");
    insta::assert_snapshot!("shm_80x24", screen(&app, 80, 24, f.dir.path()));
    keys(&mut app, "5");
    insta::assert_snapshot!("findings_100x24", screen(&app, 100, 24, f.dir.path()));
    keys(&mut app, "j");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.view, walinspect::tui::views::ViewKind::Frames, "Enter on a finding with a frame goes to it");
}

#[test]
fn help_and_pin() {
    let f = fixture();
    let (mut w, s) = snapshot(&f);
    let mut app = app_with(&s);
    keys(&mut app, "?");
    insta::assert_snapshot!("help_80x24", screen(&app, 80, 24, f.dir.path()));
    insta::assert_snapshot!("help_120x40", screen(&app, 120, 40, f.dir.path()));
    keys(&mut app, "x");
    assert!(!app.help);
    keys(&mut app, "p");
    // Commit the transaction in progress: a new state arrives but stays queued.
    f._writer.execute_batch("COMMIT").unwrap();
    let s2 = Arc::new(w.poll(&mut |_, _| {}).unwrap());
    app.handle(Event::Snapshot(s2.clone()));
    assert!(Arc::ptr_eq(app.snap.as_ref().unwrap(), &s), "pinned: the screen keeps the old state");
    insta::assert_snapshot!("pinned_80x24", screen(&app, 80, 24, f.dir.path()));
    keys(&mut app, "p");
    assert!(Arc::ptr_eq(app.snap.as_ref().unwrap(), &s2));
    assert!(app.status.contains("+1 commit"), "{}", app.status);
}

#[test]
fn it_does_not_panic_on_tiny_or_empty_screens() {
    let f = fixture();
    let (w, s) = snapshot(&f);
    let mut app = app_with(&s);
    app.handle(Event::Frame { frame: 1, result: w.read_frame(1).map_err(std::sync::Arc::new) });
    for view in '1'..='7' {
        keys(&mut app, &view.to_string());
        for (wd, ht) in [(1, 1), (10, 3), (20, 5), (40, 10), (80, 4), (200, 60)] {
            screen(&app, wd, ht, f.dir.path());
        }
    }
    let empty = App::new("nothing", 250);
    screen(&empty, 80, 24, f.dir.path());
}

/// Readers over the fixture's database file and WAL, for the forensic functions the worker
/// runs (the test calls them directly).
fn files(dir: &Path) -> (std::fs::File, std::fs::File) {
    (std::fs::File::open(dir.join("app.db")).unwrap(), std::fs::File::open(dir.join("app.db-wal")).unwrap())
}

#[test]
fn locks_view_from_live_locks() {
    use walinspect::report::locks::LocksReport;
    let f = fixture();
    let (_w, s) = snapshot(&f);
    // The probe sees this test process's own SQLite connections (writer inside a transaction,
    // reader pinning a snapshot). Pids, command lines and the filesystem differ per run and
    // machine: they are replaced by fixed values; environment findings are dropped.
    let mut snap = (*s).clone();
    let mut r: LocksReport = (**snap.locks.as_ref().expect("locks probed")).clone();
    assert!(r.locks.iter().any(|l| l.name.as_str() == "write" && l.state == "exclusive"), "the writer holds WRITE");
    assert!(r.state.summary.iter().any(|x| x.starts_with("Writer active")), "{:?}", r.state.summary);
    let pid = std::process::id().to_string();
    for l in &mut r.locks {
        for h in &mut l.holders {
            h.process.pid = Some(4242);
            h.process.command = Some("app --serve".into());
        }
    }
    let fix = |t: &str| {
        let t = t.replace(&pid, "4242");
        // "pid 4242 (command line)" -> a fixed command line.
        let mut out = String::new();
        let mut rest = t.as_str();
        while let Some(i) = rest.find("pid 4242 (") {
            out.push_str(&rest[..i]);
            out.push_str("pid 4242 (app --serve)");
            let after = &rest[i + "pid 4242 (".len()..];
            rest = after.find(')').map_or("", |e| &after[e + 1..]);
        }
        out.push_str(rest);
        out
    };
    r.state.summary = r.state.summary.iter().map(|x| fix(x)).collect();
    r.findings.retain(|x| !x.code.as_str().starts_with("env."));
    for x in &mut r.findings {
        x.message = fix(&x.message);
    }
    if let Some(e) = &mut r.environment {
        if let Some(fs) = &mut e.filesystem {
            fs.name = "ext4".into();
            fs.class = "local";
            fs.source = Some("/dev/sda1".into());
            fs.mount_point = Some("/".into());
            fs.read_only = false;
        }
        e.owner_uid = Some(1000);
        e.owner_name = Some("app".into());
    }
    r.probe.proc_locks_note = None;
    snap.locks = Some(Arc::new(r));
    let mut app = app_with(&Arc::new(snap));
    keys(&mut app, "6");
    assert_eq!(app.view, walinspect::tui::views::ViewKind::Locks);
    insta::assert_snapshot!("locks_120x40", screen(&app, 120, 40, f.dir.path()));
    insta::assert_snapshot!("locks_80x24", screen(&app, 80, 24, f.dir.path()));
}

#[test]
fn frame_detail_shows_owner_and_cells() {
    use walinspect::tui::forensic::frame_forensics;
    let f = fixture();
    let (w, s) = snapshot(&f);
    let mut app = app_with(&s);
    let wal = s.analysis.wal.as_ref().unwrap();
    // A committed leaf of table t (not page 1).
    let frame = wal.frames.iter().find(|r| r.header.page == 2 && r.index <= wal.valid_frames).unwrap().index;
    keys(&mut app, ":");
    keys(&mut app, &frame.to_string());
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Enter);
    let bytes = w.read_frame(frame).unwrap();
    let (db, wf) = files(f.dir.path());
    let info = frame_forensics(
        &s.analysis,
        (Some((&db, s.file(walinspect::source::FileKind::Db).stamp.unwrap().len)), Some((&wf, wal.file_len))),
        frame,
        &bytes.page,
    );
    assert_eq!(info.owner.as_ref().map(|o| (o.0.as_str(), o.1.as_str())), Some(("t", "table")), "{info:?}");
    assert!(info.cells.as_ref().is_some_and(|c| !c.is_empty()));
    app.handle(Event::Frame { frame, result: Ok(bytes) });
    let mut info = info;
    info.micros = 0;
    app.handle(Event::FrameOwner(Arc::new(info)));
    insta::assert_snapshot!("detail_owner_100x30", screen(&app, 100, 30, f.dir.path()));
}

#[test]
fn timeline_and_commit_rows() {
    use walinspect::tui::event::Request;
    use walinspect::tui::forensic::{commit_rows, timeline};
    let f = fixture();
    let (_w, s) = snapshot(&f);
    let mut app = app_with(&s);
    keys(&mut app, "7");
    assert_eq!(app.requests.drain(..).collect::<Vec<_>>(), vec![Request::Timeline], "entering asks for it once");
    assert!(screen(&app, 80, 24, f.dir.path()).contains("computing the timeline"));
    let wal = s.analysis.wal.as_ref().unwrap();
    let (db, wf) = files(f.dir.path());
    let r = || {
        (Some((&db as _, s.file(walinspect::source::FileKind::Db).stamp.unwrap().len)), Some((&wf as _, wal.file_len)))
    };
    let mut t = timeline(&s.analysis, r(), s.seq);
    assert_eq!(t.entries.iter().filter(|e| e.number.is_some()).count(), wal.commits.len());
    t.micros = 0;
    app.handle(Event::Timeline(Arc::new(t)));
    // A new state does not recompute it.
    app.handle(Event::Snapshot(s.clone()));
    assert!(app.requests.is_empty());
    // The last commit is selected (commit 1 is already in the partly checkpointed file: it
    // carries the note commit.checkpointed).
    key(&mut app, KeyCode::Enter);
    let n = app.timeline.selected_number().unwrap();
    assert_eq!(n, 2);
    assert_eq!(app.requests.drain(..).collect::<Vec<_>>(), vec![Request::CommitRows(n)]);
    let mut rows = commit_rows(&s.analysis, r(), s.seq, n);
    assert!(rows.error.is_none(), "{rows:?}");
    let ins: Vec<String> = (200..203).map(|i| i.to_string()).collect();
    assert_eq!(rows.tables.iter().find(|t| t.name == "t").map(|t| t.inserted.clone()), Some(ins));
    rows.micros = 0;
    app.handle(Event::CommitRows(Arc::new(rows)));
    insta::assert_snapshot!("timeline_120x40", screen(&app, 120, 40, f.dir.path()));
    insta::assert_snapshot!("timeline_80x24", screen(&app, 80, 24, f.dir.path()));
}

#[test]
fn frame_detail_names_an_earlier_frame_with_the_same_content() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    let c = Connection::open(&db).unwrap();
    c.pragma_update(None, "page_size", 1024).unwrap();
    c.pragma_update(None, "journal_mode", "wal").unwrap();
    c.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    c.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'abc');").unwrap();
    // Change the row and change it back: the leaf's third image equals its first.
    c.execute_batch("UPDATE t SET v = 'xyz' WHERE id = 1").unwrap();
    c.execute_batch("UPDATE t SET v = 'abc' WHERE id = 1").unwrap();
    let mut w = Watcher::new(Paths::resolve(&db));
    let s = Arc::new(w.poll(&mut |_, _| {}).unwrap());
    let wal = s.analysis.wal.as_ref().unwrap();
    let leaf: Vec<u32> = wal.frames.iter().filter(|r| r.header.page == 2).map(|r| r.index).collect();
    assert!(leaf.len() >= 3, "{leaf:?}");
    let (first, changed, back) = (leaf[leaf.len() - 3], leaf[leaf.len() - 2], leaf[leaf.len() - 1]);
    let b = w.read_frame(back).unwrap();
    assert_eq!(b.crc32, crc32fast::hash(&b.page));
    assert_eq!(b.same_as, Some(first), "the changed-back image equals frame {first}");
    assert_eq!(w.read_frame(changed).unwrap().same_as, None, "the changed image is new");
    let mut app = app_with(&s);
    keys(&mut app, ":");
    keys(&mut app, &back.to_string());
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Enter);
    app.handle(Event::Frame { frame: back, result: Ok(b) });
    let text = screen(&app, 120, 30, dir.path());
    assert!(text.contains(&format!("same content as frame {first}")), "{text}");
}

/// The Events view after real changes (the transaction in progress commits, a checkpoint runs,
/// the reader leaves), at 80x24 and 120x40; its zoomed form; and `/` search marking its matches.
#[test]
fn events_view_zoom_and_search_marks() {
    let f = fixture();
    let (mut w, s) = snapshot(&f);
    let mut app = app_with(&s);
    f._writer.execute_batch("COMMIT").unwrap();
    f._reader.execute_batch("COMMIT").unwrap();
    f._writer.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())).unwrap();
    let s2 = Arc::new(stable(w.poll(&mut |_, _| {}).unwrap()));
    app.handle(Event::Snapshot(s2));
    // Event times are wall-clock: fix them (12:00:00.000, then one second apart).
    for (i, e) in app.events.iter_mut().enumerate() {
        e.at_ms = 43_200_000 + 1000 * i as u64;
    }
    let kinds: Vec<&str> = app.events.iter().map(|e| e.kind).collect();
    for k in ["started", "commit", "checkpoint", "reader_left"] {
        assert!(kinds.contains(&k), "no {k} event in {kinds:?}");
    }
    keys(&mut app, "8");
    assert_eq!(app.view, walinspect::tui::views::ViewKind::Events);
    insta::assert_snapshot!("events_80x24", screen(&app, 80, 24, f.dir.path()));
    insta::assert_snapshot!("events_120x40", screen(&app, 120, 40, f.dir.path()));
    keys(&mut app, "z");
    insta::assert_snapshot!("events_zoomed_80x24", screen(&app, 80, 24, f.dir.path()));
    keys(&mut app, "z");

    // Search: every visible occurrence is marked, in this view and in Locks and Findings.
    for (view, query) in [("8", "checkpoint"), ("6", "read"), ("5", "frame")] {
        keys(&mut app, view);
        keys(&mut app, "/");
        keys(&mut app, query);
        key(&mut app, KeyCode::Enter);
        let mut t = Terminal::new(TestBackend::new(120, 40)).unwrap();
        t.draw(|fr| render(&app, fr.area(), fr.buffer_mut())).unwrap();
        let buf = t.backend().buffer();
        let mark = walinspect::present::theme::Role::SearchMatch.tui();
        let (mut marked, mut found) = (String::new(), 0);
        for y in 3..39u16 {
            let row: String = (0..120u16).map(|x| buf[(x, y)].symbol().to_string()).collect();
            found += row.to_lowercase().matches(query).count();
            for x in 0..120u16 {
                if buf[(x, y)].bg == mark.bg.unwrap() && buf[(x, y)].modifier.contains(ratatui::style::Modifier::BOLD) {
                    marked.push_str(buf[(x, y)].symbol());
                }
            }
        }
        assert!(found > 0, "view {view}: no visible {query:?} to mark");
        assert_eq!(
            marked.to_lowercase(),
            query.repeat(found),
            "view {view}: every visible match is marked, nothing else"
        );
        key(&mut app, KeyCode::Esc);
        assert!(app.search.is_none());
    }
}
