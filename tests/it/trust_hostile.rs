//! Untrusted bytes never reach the terminal raw, and JSON keeps the evidence's exact bytes.
//!
//! A database built by a real SQLite holds terminal escape sequences (OSC 52 clipboard, OSC 8
//! link, OSC 0 title, CSI 2J, BEL, CR), bidirectional overrides, a 200 KB string and invalid
//! UTF-8 — in table and column names, in values and in the file's own name. Every command's raw
//! stdout and stderr must hold no C0 control but LF and TAB, no DEL, no C1 control and no bidi
//! override; the JSON must give the exact bytes back.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rusqlite::Connection;

use crate::support::common::*;

const OSC52: &str = "\x1b]52;c;cm0gLXJmIH4K\x07";
const OSC8: &str = "\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\";
const OSC0: &str = "\x1b]0;pwned\x07";
const CSI2J: &str = "\x1b[2J\x1b[H";
const BIDI: &str = "abc\u{202e}fed\u{2066}x\u{2069}\u{202a}";
/// The invalid UTF-8 TEXT value.
const BAD: [u8; 11] = [0x41, 0xff, 0x1b, 0xfe, 0x5b, 0x33, 0x31, 0x6d, 0x42, 0xc0, 0xaf];
/// Placeholders patched into invalid UTF-8 in the database file (same lengths).
const TABLE_PLACEHOLDER: &[u8] = b"zzINVALIDzz";
const TABLE_BYTES: &[u8] = b"z\xff\xfe\x1b[31mzz\xc0";
const COLUMN_PLACEHOLDER: &[u8] = b"yyCOLyy";
const COLUMN_BYTES: &[u8] = b"y\x1b]0;\x07\xff";

/// The hostile database, its file name itself hostile. Returns the database path.
fn hostile(dir: &Path) -> PathBuf {
    assert_eq!(TABLE_PLACEHOLDER.len(), TABLE_BYTES.len());
    assert_eq!(COLUMN_PLACEHOLDER.len(), COLUMN_BYTES.len());
    let build = dir.join("build.db");
    {
        let c = Connection::open(&build).unwrap();
        c.execute_batch("PRAGMA page_size=1024; PRAGMA journal_mode=WAL; PRAGMA secure_delete=OFF;").unwrap();
        c.execute_batch("CREATE TABLE \"zzINVALIDzz\"(id INTEGER PRIMARY KEY, \"yyCOLyy\" TEXT)").unwrap();
        c.execute("INSERT INTO zzINVALIDzz VALUES (1, CAST(?1 AS TEXT))", [&BAD[..]]).unwrap();
        c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    }
    // Invalid UTF-8 in the schema (SQLite stores names as given; only our placeholder is patched).
    let mut bytes = fs::read(&build).unwrap();
    for (from, to, min) in [(TABLE_PLACEHOLDER, TABLE_BYTES, 3), (COLUMN_PLACEHOLDER, COLUMN_BYTES, 1)] {
        let mut n = 0;
        while let Some(i) = bytes.windows(from.len()).position(|w| w == from) {
            bytes[i..i + from.len()].copy_from_slice(to);
            n += 1;
        }
        assert!(n >= min, "the name is in the schema row and its SQL");
    }
    fs::write(&build, &bytes).unwrap();
    let _ = fs::remove_file(sibling(&build, "-wal"));
    let _ = fs::remove_file(sibling(&build, "-shm"));
    let c = Connection::open(&build).unwrap();
    c.execute_batch("PRAGMA wal_autocheckpoint=0; PRAGMA secure_delete=OFF;").unwrap();
    let names = [
        format!("t{OSC52}"),
        format!("o{OSC8}"),
        format!("w{OSC0}"),
        format!("c{CSI2J}\x07\r\x7f\u{9b}"),
        format!("b{BIDI}"),
    ];
    for (i, n) in names.iter().enumerate() {
        let q = n.replace('"', "\"\"");
        c.execute_batch(&format!("CREATE TABLE \"{q}\"(id INTEGER PRIMARY KEY, \"v{q}\" TEXT, k TEXT)")).unwrap();
        for (j, v) in [OSC52, OSC8, OSC0, CSI2J, "bell\x07cr\rdel\x7f", BIDI, "\u{9b}31m c1"].iter().enumerate() {
            c.execute(
                &format!("INSERT INTO \"{q}\"(id, \"v{q}\", k) VALUES (?1, ?2, ?3)"),
                rusqlite::params![j as i64 + 1, format!("{v} row {i}"), n],
            )
            .unwrap();
        }
        c.execute(&format!("INSERT INTO \"{q}\"(id, \"v{q}\") VALUES (100, CAST(?1 AS TEXT))"), [&BAD[..]]).unwrap();
    }
    let big = format!("{OSC52}{}{BIDI}", "\u{202e}x\x1b[2J".repeat(200_000 / 9));
    c.execute(&format!("INSERT INTO \"{}\"(id, \"v{}\") VALUES (500, ?1)", names[0], names[0]), [&big]).unwrap();
    // Some history for timeline/salvage: updates and deletes.
    let q0 = &names[3];
    c.execute_batch(&format!("UPDATE \"{q0}\" SET k = '{OSC0}' || k WHERE id < 4; DELETE FROM \"{q0}\" WHERE id = 2;"))
        .unwrap();
    // The evidence: a copy under a hostile file name, taken while the writer is open.
    let mut name = OsString::from("ev");
    name.push(OsStr::from_bytes(b"\x1b]52;c;QQ==\x07\xff\xe2\x80\xae.db"));
    let ev = dir.join(name);
    for suffix in ["", "-wal", "-shm"] {
        fs::copy(sibling(&build, suffix), sibling(&ev, suffix)).unwrap();
    }
    drop(c);
    ev
}

/// Chars that must never appear raw.
fn forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Fails when raw output holds a forbidden character (or is not UTF-8).
fn assert_clean(what: &str, stream: &str, raw: &[u8]) {
    let text = std::str::from_utf8(raw).unwrap_or_else(|e| panic!("{what}: {stream} is not UTF-8: {e}"));
    if let Some((i, c)) = text.char_indices().find(|(_, c)| forbidden(*c)) {
        let context: String = text[..i].chars().rev().take(60).collect::<Vec<_>>().into_iter().rev().collect();
        panic!("{what}: raw {c:?} in {stream} at byte {i}, after {context:?}");
    }
}

struct Out {
    code: i32,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

fn walinspect(args: &[&OsStr], live: bool) -> Out {
    let mut cmd = Command::new(bin());
    cmd.args(args).env("NO_COLOR", "1");
    if !live {
        cmd.arg("--no-live");
    }
    let o = cmd.output().unwrap();
    Out { code: o.status.code().unwrap_or(-1), stdout: o.stdout, stderr: o.stderr }
}

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

#[test]
fn every_command_keeps_controls_and_bidi_off_the_terminal() {
    let d = tempdir();
    let db = hostile(d.path());
    let guard = Unchanged::record(&db);
    let p = db.as_os_str();
    let mut wal = p.to_owned();
    wal.push("-wal");
    let table = format!("c{CSI2J}\x07\r\x7f\u{9b}");
    let out = d.path().join("out\x1b]0;x\x07.db");
    let mut runs: Vec<Vec<&OsStr>> = vec![
        vec![os("info"), p],
        vec![os("check"), p],
        vec![os("check"), p, os("--json")],
        vec![os("dump"), p],
        vec![os("dump"), p, os("--json"), os("--owners")],
        vec![os("dump"), &wal],
        vec![os("timeline"), p],
        vec![os("timeline"), p, os("--values")],
        vec![os("timeline"), p, os("--values"), os("--json")],
        vec![os("history"), p, os("--table"), os(&table), os("--rowid"), os("1")],
        vec![os("history"), p, os("--table"), os(&table), os("--rowid"), os("1"), os("--json")],
        vec![os("history"), p, os("--table"), os("\x1b]52;c;eA==\x07nope"), os("--rowid"), os("1")],
        vec![os("salvage"), p],
        vec![os("salvage"), p, os("--json")],
        vec![os("locks"), p],
        vec![os("rebuild-shm"), p, os("-o"), out.as_os_str(), os("--force")],
        vec![os("extract"), p, os("-o"), out.as_os_str(), os("--force")],
        vec![os("extract"), p, os("-o"), out.as_os_str()],
        vec![os("extract"), p, os("-o"), p],
        vec![os("check"), os("/nonexistent/\x1b[2J\u{202e}.db")],
    ];
    let not_db = d.path().join("plain\x1b]8;;x\x07.db");
    fs::write(&not_db, b"\x1b]52;c;QQ==\x07 not a database at all, just text with escapes ....").unwrap();
    runs.push(vec![os("info"), not_db.as_os_str()]);
    let o = walinspect(&[os("timeline"), p, os("--values")], false);
    let text = String::from_utf8_lossy(&o.stdout);
    for shown in ["\\x1b]52;c;", "\\u{202e}", "\\x07", "\\xff"] {
        assert!(text.contains(shown), "timeline shows {shown} visibly");
    }
    for args in &runs {
        let what = format!("{args:?}");
        let o = walinspect(args, false);
        assert!(o.code >= 0 && o.code <= 2, "{what}: exit {}", o.code);
        assert_clean(&what, "stdout", &o.stdout);
        assert_clean(&what, "stderr", &o.stderr);
    }
    // The colour path too: only our SGR colour sequences may carry ESC.
    for cmd in ["info", "check", "dump", "locks"] {
        let o = walinspect(&[os(cmd), p, os("--color"), os("always")], false);
        let text = String::from_utf8(o.stdout).unwrap();
        let stripped = strip_sgr(&text);
        assert_clean(cmd, "coloured stdout", stripped.as_bytes());
    }
    guard.assert();
}

/// Text with `ESC [ digits ; m` sequences removed.
fn strip_sgr(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('\x1b') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let end = after
            .strip_prefix("\x1b[")
            .and_then(|r| r.find(|c: char| !(c.is_ascii_digit() || c == ';')).filter(|&j| r.as_bytes()[j] == b'm'));
        match end {
            Some(j) => rest = &after[j + 3..],
            None => {
                out.push('\x1b');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// Every JSON value that is a TEXT: plain strings, and `{text, hex}` objects.
fn texts(v: &serde_json::Value, out: &mut Vec<Vec<u8>>) {
    match v {
        serde_json::Value::String(s) => out.push(s.as_bytes().to_vec()),
        serde_json::Value::Object(m) if m.contains_key("text") && m.contains_key("hex") => {
            let bytes = unhex(m["hex"].as_str().unwrap());
            assert_eq!(String::from_utf8_lossy(&bytes), m["text"].as_str().unwrap(), "text is the readable form");
            out.push(bytes);
        }
        serde_json::Value::Object(m) => m.values().for_each(|x| texts(x, out)),
        serde_json::Value::Array(a) => a.iter().for_each(|x| texts(x, out)),
        _ => {}
    }
}

#[test]
fn json_round_trips_the_exact_bytes() {
    let d = tempdir();
    let db = hostile(d.path());
    let guard = Unchanged::record(&db);
    let p = db.as_os_str();
    // Values, with their exact bytes, wherever SQLite stored them.
    let mut bad_table = String::from("b");
    bad_table.push_str(BIDI);
    let o =
        walinspect(&[os("history"), p, os("--table"), os(&bad_table), os("--rowid"), os("100"), os("--json")], false);
    assert_eq!(o.code, 0, "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut all = Vec::new();
    texts(&v, &mut all);
    assert!(all.contains(&BAD.to_vec()), "history gives the invalid UTF-8 value's exact bytes");
    let o = walinspect(&[os("timeline"), p, os("--values"), os("--json")], false);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut all = Vec::new();
    texts(&v, &mut all);
    assert!(all.contains(&BAD.to_vec()), "timeline gives the exact bytes");
    for s in [OSC52, OSC8, OSC0, BIDI] {
        assert!(all.iter().any(|t| t.windows(s.len()).any(|w| w == s.as_bytes())), "valid text {s:?} kept exactly");
    }
    // The file's own non-UTF-8 name: `path_hex` gives its bytes.
    let o = walinspect(&[os("check"), p, os("--json")], false);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let hex = v["files"]["db"]["path_hex"].as_str().expect("path_hex for a non-UTF-8 path");
    assert_eq!(unhex(hex), p.as_bytes());
    // Owners (names from the schema) in JSON: valid, escaped by JSON.
    let o = walinspect(&[os("dump"), p, os("--json"), os("--owners")], false);
    assert!(o.code <= 1);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        doc["wal"]["frames"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["owner"]["name"].as_str() == Some(&format!("t{OSC52}")))
    );
    guard.assert();
}

#[test]
fn another_process_command_line_is_escaped_in_locks() {
    let d = tempdir();
    let dir = d.path().join("w\x1b]52;c;QQ==\x07\u{202e}dir");
    fs::create_dir(&dir).unwrap();
    let mut writer =
        Command::new(bin()).arg("__demo-writer").arg(&dir).stdin(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
    let db = dir.join("app.db");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut seen = false;
    while std::time::Instant::now() < deadline {
        if db.exists() {
            let o = walinspect(&[os("locks"), db.as_os_str()], true);
            assert_clean("locks (live)", "stdout", &o.stdout);
            assert_clean("locks (live)", "stderr", &o.stderr);
            let text = String::from_utf8_lossy(&o.stdout);
            if text.contains("__demo-writer") {
                assert!(text.contains("\\x1b]52"), "the holder's command line, escaped: {text}");
                seen = true;
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    drop(writer.stdin.take());
    let _ = writer.wait();
    assert!(seen, "the writer was seen holding a lock");
}

#[test]
fn the_tui_shows_no_control_or_bidi_character() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use walinspect::tui::event::Event;

    let d = tempdir();
    let db = hostile(d.path());
    let mut w = walinspect::tui::watcher::Watcher::new(walinspect::source::Paths::resolve(&db));
    let s = std::sync::Arc::new(w.poll(&mut |_, _| {}).unwrap());
    let mut app = walinspect::tui::app::App::new(db.to_string_lossy().as_ref(), 250);
    app.handle(Event::Snapshot(s));
    let mut shown = String::new();
    for _ in 0..8 {
        let mut t = Terminal::new(TestBackend::new(140, 40)).unwrap();
        t.draw(|f| walinspect::tui::views::render(&app, f.area(), f.buffer_mut())).unwrap();
        let buf = t.backend().buffer();
        for y in 0..40 {
            for x in 0..140 {
                let sym = buf[(x, y)].symbol();
                assert!(!sym.chars().any(forbidden), "cell ({x},{y}) holds {sym:?}");
                shown.push_str(sym);
            }
            shown.push('\n');
        }
        app.handle(Event::Key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE)));
    }
    assert!(shown.contains("\\x1b]52"), "the hostile path is shown escaped");
}
