//! The command line contract: exit codes, bad input, stdout purity, broken pipes, help.

use std::fs;
use std::io::Read;
use std::process::{Command, Stdio};

use crate::support::common::*;

fn fatal(args: &[&str], needle: &str) {
    let r = run(args);
    assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
    assert!(r.stdout.is_empty(), "no partial output on stdout: {}", r.stdout);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one clear line: {:?}", r.stderr);
    assert!(r.stderr.contains(needle), "{:?} should mention {needle:?}", r.stderr);
}

#[test]
fn bad_input_is_exit_2_with_one_line() {
    let d = tempdir();
    let p = |n: &str| d.path().join(n).to_str().unwrap().to_string();
    fatal(&["dump", &p("nope.db"), "--json"], "no such file");
    fatal(&["dump", d.path().to_str().unwrap(), "--json"], "directory");
    fs::write(p("empty.db"), b"").unwrap();
    fatal(&["dump", &p("empty.db"), "--json"], "empty");
    fs::write(p("short.db"), &b"SQLite format 3\0"[..].repeat(4)[..50]).unwrap();
    fatal(&["check", &p("short.db"), "--json"], "truncated");
    let random: Vec<u8> = (0..5000u32).map(|i| (i.wrapping_mul(2654435761) >> 11) as u8).collect();
    fs::write(p("random.db"), &random).unwrap();
    fatal(&["info", &p("random.db")], "not an SQLite database");
    fs::write(p("garbage.db-wal"), &random).unwrap();
    fatal(&["dump", &p("garbage.db-wal")], "not an SQLite WAL");
    fs::write(p("hdr.db-wal"), &random[..32]).unwrap();
    fatal(&["dump", &p("hdr.db-wal")], "holds no frames");
    fs::write(p("lonely.db-shm"), &random[..100]).unwrap();
    fatal(&["dump", &p("lonely.db-shm")], "no database or -wal");
    // Unreadable file (skipped as root, who reads everything).
    fs::write(p("locked.db"), b"x").unwrap();
    fs::set_permissions(p("locked.db"), std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
    if fs::File::open(p("locked.db")).is_err() {
        fatal(&["dump", &p("locked.db")], "permission denied");
    }
    // Nothing was created next to any of them.
    let names: Vec<String> =
        fs::read_dir(d.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert!(names.iter().all(|n| !n.ends_with("-shm") || n == "lonely.db-shm"), "{names:?}");
    assert!(
        names.iter().all(|n| !n.ends_with("-wal") || n.starts_with("garbage") || n.starts_with("hdr")),
        "{names:?}"
    );
}

#[test]
fn usage_errors_are_exit_2() {
    assert_eq!(run(&["dump"]).code, 2);
    assert_eq!(run(&["frobnicate", "x"]).code, 2);
    assert_eq!(run(&["check", "x", "--fail-on", "sometimes"]).code, 2);
    assert_eq!(run(&[]).code, 2);
}

#[test]
fn fail_on_threshold() {
    let d = tempdir();
    let db = d.path().join("live.db");
    let c = wal_db(&db, 4096);
    commits(&c, 3);
    c.execute_batch("BEGIN; INSERT INTO t(v) VALUES ('pending');").unwrap();
    c.execute_batch("PRAGMA cache_size=1").unwrap();
    let ev = snapshot(&db, d.path(), "ev.db");
    fs::remove_file(sibling(&ev, "-shm")).unwrap();
    // Truncate the WAL mid-frame: a warning.
    let wal = sibling(&ev, "-wal");
    let len = fs::metadata(&wal).unwrap().len();
    fs::OpenOptions::new().write(true).open(&wal).unwrap().set_len(len - 10).unwrap();
    let e = ev.to_str().unwrap();
    assert_eq!(run(&["check", e]).code, 0);
    assert_eq!(run(&["check", e, "--fail-on", "warning"]).code, 1);
    assert_eq!(run(&["check", e, "--fail-on", "info"]).code, 1);
    assert_eq!(run(&["dump", e, "--json", "--fail-on", "warning"]).code, 1);
    let r = run(&["check", e, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["schema"], "walinspect.check");
    assert_eq!(v["version"], 1);
    assert_eq!(v["summary"]["worst"], "warning");
    assert!(v["findings"].as_array().unwrap().iter().any(|f| f["code"] == "wal.torn_frame" && f["offset"].is_u64()));
}

#[test]
fn json_stdout_is_pure_and_complete() {
    let r = run(&["dump", "samples/damaged/app.db", "--json"]);
    assert_eq!(r.code, 1);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("only JSON on stdout");
    for key in ["schema", "version", "tool", "files", "database", "wal", "shm", "findings"] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["tool"]["name"], "walinspect");
    for key in [
        "page_size",
        "write_version",
        "read_version",
        "reserved_bytes",
        "change_counter",
        "page_count",
        "freelist_trunk",
        "freelist_count",
        "schema_cookie",
        "schema_format",
        "text_encoding",
        "user_version",
        "application_id",
        "version_valid_for",
        "sqlite_version_number",
    ] {
        assert!(v["database"]["header"].get(key).is_some(), "database.header.{key}");
    }
    for key in [
        "magic",
        "checksum_order",
        "format_version",
        "page_size",
        "checkpoint_seq",
        "salt1",
        "salt2",
        "checksum1",
        "checksum2",
        "checksum_valid",
    ] {
        assert!(v["wal"]["header"].get(key).is_some(), "wal.header.{key}");
    }
    for key in
        ["frames_total", "trailing_bytes", "chain_valid_frames", "valid_frames", "first_invalid", "commits", "frames"]
    {
        assert!(v["wal"].get(key).is_some(), "wal.{key}");
    }
    for key in [
        "frame",
        "offset",
        "page",
        "commit_db_pages",
        "salt1",
        "salt2",
        "checksum1",
        "checksum2",
        "salt_match",
        "checksum_valid",
        "state",
    ] {
        assert!(v["wal"]["frames"][0].get(key).is_some(), "frame.{key}");
    }
    for key in ["commit", "frame", "db_pages"] {
        assert!(v["wal"]["commits"][0].get(key).is_some(), "commit.{key}");
    }
    for key in ["headers", "headers_identical", "backfill", "backfill_attempted", "read_marks", "segments", "index"] {
        assert!(v["shm"].get(key).is_some(), "shm.{key}");
    }
    for key in [
        "version",
        "change",
        "is_init",
        "big_endian_checksum",
        "page_size",
        "mx_frame",
        "db_pages",
        "frame_checksum",
        "salt1",
        "salt2",
        "checksum",
        "checksum_valid",
    ] {
        assert!(v["shm"]["headers"][1].get(key).is_some(), "shm.headers[].{key}");
    }
}

#[test]
fn broken_pipe_ends_quietly() {
    let mut child = Command::new(bin())
        .args(["dump", "samples/reset/app.db"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut first = [0u8; 10];
    out.read_exact(&mut first).unwrap();
    drop(out);
    let status = child.wait().unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(status.code() == Some(0), "status {status:?}, stderr {err}");
    assert!(err.is_empty(), "{err}");
}

#[test]
fn help_completions_and_man() {
    let r = run(&["--help"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("Exit status"));
    for sub in ["dump", "check", "info"] {
        let r = run(&[sub, "--help"]);
        assert_eq!(r.code, 0);
        assert!(r.stdout.contains("Exit status"), "{sub} --help documents exit codes");
    }
    let r = run(&["completions", "bash"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("walinspect"));
    let r = run(&["man"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains(".TH"));
}

/// Every page the top man page names (`walinspect-COMMAND(1)`) exists, both printed one at a
/// time and written by `man --dir`, and documents that command's own options.
#[test]
fn man_page_names_only_pages_that_exist() {
    let top = run(&["man"]).stdout;
    let named: Vec<String> = top
        .lines()
        .filter_map(|l| l.strip_prefix("walinspect\\-")?.strip_suffix("(1)").map(|n| n.replace("\\-", "-")))
        .collect();
    for c in ["dump", "check", "extract", "scan", "salvage", "rebuild-shm", "tui"] {
        assert!(named.iter().any(|n| n == c), "the top page does not name walinspect-{c}(1): {named:?}");
    }
    assert!(!named.iter().any(|n| n.starts_with('_')), "hidden commands get no page: {named:?}");
    let d = tempdir();
    let out = d.path().join("man1");
    let r = run(&["man", "--dir", out.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for n in &named {
        let page = run(&["man", n]);
        assert_eq!(page.code, 0, "walinspect man {n}: {}", page.stderr);
        let th = format!(".TH walinspect\\-{} 1", n.replace('-', "\\-"));
        let th_plain = format!(".TH walinspect-{n} 1");
        assert!(page.stdout.contains(&th) || page.stdout.contains(&th_plain), "{n}: {}", &page.stdout[..200]);
        let file = std::fs::read_to_string(out.join(format!("walinspect-{n}.1"))).unwrap();
        assert_eq!(file, page.stdout, "{n}: --dir and the printed page differ");
    }
    assert!(run(&["man", "extract"]).stdout.contains("allow\\-inexact"), "extract's page lists its options");
    let bad = run(&["man", "chekc"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("check"), "{}", bad.stderr);
}

#[test]
fn samples_verdicts_and_untouched() {
    let expect: &[(&str, &[&str], i32)] = &[
        ("healthy", &[], 0),
        ("crashed", &["shm.stale_entries", "wal.torn_frame", "wal.uncommitted_frames"], 0),
        ("reset", &["wal.stale_frames"], 0),
        ("damaged", &["shm.ahead", "wal.checksum_mismatch"], 1),
    ];
    for (name, want, code) in expect {
        let db = std::path::Path::new("samples").join(name).join("app.db");
        let (c, v) = dump(&db);
        assert_eq!(&codes(&v), want, "{name}");
        assert_eq!(c, *code, "{name}");
        let r = run(&["sample", name, "--json"]);
        let v2: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(v2["wal"]["frames"], v["wal"]["frames"], "embedded sample {name} equals samples/{name}");
    }
    assert_eq!(run(&["sample", "nope"]).code, 2);
}

#[test]
fn info_is_the_default_when_not_a_terminal() {
    let r = run(&["samples/healthy/app.db"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("Findings"));
    assert!(r.stdout.contains("-shm (wal-index)"));
}

#[test]
fn mmap_gives_the_same_document() {
    for name in ["healthy", "crashed", "reset", "damaged"] {
        let p = format!("samples/{name}/app.db");
        let a = run(&["dump", &p, "--json"]);
        let b = run(&["dump", &p, "--json", "--mmap"]);
        assert_eq!(a.code, b.code);
        assert_eq!(a.stdout, b.stdout, "{name}");
    }
}

#[test]
fn dump_gives_the_crc32_of_every_frame_page_image() {
    let d = tempdir();
    let db = d.path().join("src.db");
    let c = wal_db(&db, 1024);
    commits(&c, 20);
    // Change a row and change it back (same length, rewritten in place): the second commit
    // writes the page image the last insert wrote.
    c.execute_batch("UPDATE t SET v = 'ROW 0 ' WHERE id = 1; UPDATE t SET v = 'row 0 ' WHERE id = 1;").unwrap();
    let copy = snapshot(&db, d.path(), "copy.db");
    drop(c);
    let wal = fs::read(sibling(&copy, "-wal")).unwrap();
    let (_, v) = dump(&copy);
    let frames = v["wal"]["frames"].as_array().unwrap();
    assert!(frames.len() > 20, "{} frames", frames.len());
    let ps = wal_page_size(&wal);
    let mut by_content = std::collections::HashMap::new();
    for f in frames {
        let off = f["offset"].as_u64().unwrap() as usize + 24;
        let want = format!("{:08x}", crc32fast::hash(&wal[off..off + ps]));
        let got = f["crc32"].as_str().expect("a crc32 string on every frame");
        assert_eq!(got, want, "frame {}", f["frame"]);
        assert_eq!(got.len(), 8);
        assert!(got.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)), "{got}");
        by_content
            .entry((f["page"].as_u64().unwrap(), got.to_string()))
            .or_insert_with(Vec::new)
            .push(f["frame"].clone());
    }
    assert!(by_content.values().any(|f| f.len() > 1), "the rewritten page shows the same crc32 twice");
    // `check --json` does not read the pages again: no crc32 there.
    let r = run(&["check", copy.to_str().unwrap(), "--json"]);
    let cv: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(cv["wal"]["frames"].as_array().unwrap().iter().all(|f| f.get("crc32").is_none()));
}
