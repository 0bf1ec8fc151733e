//! `walinspect scan` on a seized-folder fixture made by real SQLite (support/tree.rs): the sets
//! found by content and their grouping, each set's findings, frame counts, salvage count and
//! exit status equal to `check`/`salvage` on that set alone, the SHA-256 of every file read,
//! unreadable entries listed, and not one byte or timestamp of the tree changed.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::support::common::{run, tempdir};
use crate::support::tree::{build, is_root, record, record_again, sha256};

fn lines(stdout: &str) -> Vec<Value> {
    stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

fn rel(root: &Path, p: &str) -> String {
    Path::new(p).strip_prefix(root).unwrap().display().to_string()
}

fn codes(v: &Value) -> Vec<String> {
    v["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap().to_string()).collect()
}

#[test]
fn scan_finds_every_set_agrees_with_check_and_changes_nothing() {
    let d = tempdir();
    let root = d.path().join("seized");
    let scratch = d.path().join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    build(&root, &scratch);
    let before = record(&root);

    let r = run(&["scan", "--json", root.to_str().unwrap()]);
    record_again(&root, &before);
    assert_eq!(r.code, 1, "some set has an error-level finding: {}", r.stderr);
    let out = lines(&r.stdout);
    let sets: Vec<&Value> = out.iter().filter(|l| l["type"] == "set").collect();
    let unreadable: Vec<&Value> = out.iter().filter(|l| l["type"] == "unreadable").collect();
    let summary = out.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert!(out.iter().all(|l| l["schema"] == "walinspect.scan"));

    // The sets, their kinds and members.
    let mut got: BTreeMap<String, (String, Vec<String>, bool)> = BTreeMap::new();
    for s in &sets {
        let roles = s["hashes"].as_array().unwrap().iter().map(|h| h["role"].as_str().unwrap().to_string()).collect();
        got.insert(
            rel(&root, s["path"].as_str().unwrap()),
            (s["set_kind"].as_str().unwrap().to_string(), roles, s["renamed"].as_bool().unwrap()),
        );
    }
    let want = |k: &str, roles: &[&str], renamed: bool| {
        (k.to_string(), roles.iter().map(|r| r.to_string()).collect(), renamed)
    };
    let mut expected = BTreeMap::from([
        ("healthy/app.db".to_string(), want("database", &["db", "wal", "shm"], false)),
        ("nested/a/b/deep.db".to_string(), want("database", &["db", "wal"], false)),
        ("tail/open.db".to_string(), want("database", &["db", "wal", "shm"], false)),
        ("gens/reset.db".to_string(), want("database", &["db", "wal", "shm"], false)),
        ("hot/rollback.db".to_string(), want("database", &["db", "journal"], false)),
        ("lone/replica.log".to_string(), want("lone_wal", &["wal"], true)),
        ("orphan/gone.db-shm".to_string(), want("lone_shm", &["shm"], false)),
        ("odd/empty.db".to_string(), want("database", &["db", "wal"], false)),
        ("odd/notes-wal".to_string(), want("lone_wal", &["db", "wal"], false)),
    ]);
    if is_root() {
        // Root reads a mode-000 file: its first bytes say database, the rest is not one.
        expected.insert("junk/locked".to_string(), want("database", &["db"], false));
    }
    assert_eq!(got, expected);

    // Unreadable entries: the FIFO always, the mode-000 file when not root. The symlink loop is
    // not followed by default.
    let reasons: BTreeMap<String, String> = unreadable
        .iter()
        .map(|u| (rel(&root, u["path"].as_str().unwrap()), u["reason"].as_str().unwrap().to_string()))
        .collect();
    assert!(reasons["junk/pipe"].contains("FIFO"), "{reasons:?}");
    if !is_root() {
        assert!(reasons["junk/locked"].contains("permission denied"), "{reasons:?}");
    }
    assert_eq!(summary["symlinks_skipped"], 1);

    // Worst first: the order of the lines follows the worst severity.
    let rank = |s: &Value| match (s["error"].is_null(), s["summary"]["worst"].as_str()) {
        (false, _) => 0,
        (true, Some("error")) => 1,
        (true, Some("warning")) => 2,
        (true, Some(_)) => 3,
        (true, None) => 4,
    };
    let ranks: Vec<u8> = sets.iter().map(|s| rank(s)).collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{ranks:?}");

    for s in &sets {
        let path = s["path"].as_str().unwrap();
        // Hashes of every member equal the bytes on disk.
        for h in s["hashes"].as_array().unwrap() {
            let bytes = std::fs::read(h["path"].as_str().unwrap()).unwrap();
            assert_eq!(h["sha256"].as_str().unwrap(), sha256(&bytes), "{path}");
            assert_eq!(h["size"].as_u64().unwrap(), bytes.len() as u64);
        }
        // The same verdict as `check` on the set alone (a WAL under another name too: `check`
        // recognises it by content).
        let alone = Path::new(path).to_path_buf();
        let c = run(&["check", "--json", alone.to_str().unwrap()]);
        assert_eq!(i64::from(c.code), s["exit_status"].as_i64().unwrap(), "{path}: {}", c.stderr);
        if c.code == 2 {
            assert!(s["error"].as_str().unwrap().ends_with(c.stderr.trim().rsplit(": ").next().unwrap()), "{path}");
            continue;
        }
        let check: Value = serde_json::from_str(&c.stdout).unwrap();
        assert_eq!(codes(&check), codes(s), "{path}");
        assert_eq!(check["summary"], s["summary"], "{path}");
        assert_eq!(check["wal"]["frame_counts"], s["wal"]["frame_counts"], "{path}");
        assert_eq!(check["database"], s["database"], "{path}");
        if let Some(worst) = check["summary"]["worst"].as_str() {
            let first = check["findings"].as_array().unwrap().iter().find(|f| f["severity"] == worst).unwrap();
            assert_eq!(&s["worst_finding"], first, "{path}");
        }
        // Recoverable rows: what `salvage` lists.
        if !s["wal"].is_null() {
            let sv = run(&["salvage", "--json", alone.to_str().unwrap()]);
            let sv: Value = serde_json::from_str(&sv.stdout).unwrap();
            assert_eq!(s["salvage_rows"], sv["summary"]["rows"], "{path}");
        }
    }
    let by = |p: &str| sets.iter().find(|s| s["path"].as_str().unwrap().ends_with(p)).unwrap();
    assert!(by("tail/open.db")["frames"]["uncommitted"].as_u64().unwrap() > 0);
    assert!(by("gens/reset.db")["frames"]["earlier_generations"].as_u64().unwrap() > 0);
    assert!(by("gens/reset.db")["salvage_rows"].as_u64().unwrap() > 0);
    assert!(by("hot/rollback.db")["notes"][0].as_str().unwrap().contains("hot rollback journal"));
    assert_eq!(by("orphan/gone.db-shm")["exit_status"], 2);
    assert_eq!(summary["sets"].as_u64().unwrap() as usize, sets.len());

    // The text: one line per set, worst first, in the same order, and the summary. (The test
    // read the files itself above: record their times afresh.)
    let before = record(&root);
    let t = run(&["scan", root.to_str().unwrap()]);
    record_again(&root, &before);
    let text_paths: Vec<&str> = t.stdout.lines().filter(|l| !l.starts_with(' ') && !l.starts_with("skipped")).collect();
    for (line, s) in text_paths.iter().zip(&sets) {
        assert!(line.contains(s["path"].as_str().unwrap()), "{line}");
    }
    assert!(t.stdout.contains(&format!("Scanned: {} evidence sets", sets.len())), "{}", t.stdout);
}

#[test]
fn symlink_loops_and_depth() {
    let d = tempdir();
    let root = d.path().join("seized");
    let scratch = d.path().join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    build(&root, &scratch);
    let before = record(&root);
    let r = run(&["scan", "--json", "--follow-symlinks", root.to_str().unwrap()]);
    record_again(&root, &before);
    let out = lines(&r.stdout);
    let lp = out
        .iter()
        .find(|l| l["type"] == "unreadable" && l["path"].as_str().unwrap().ends_with("nested/loop"))
        .expect("the loop is listed");
    assert!(lp["reason"].as_str().unwrap().contains("symlink loop"), "{lp}");
    let plain = lines(&run(&["scan", "--json", root.to_str().unwrap()]).stdout);
    let n = |v: &[Value]| v.iter().filter(|l| l["type"] == "set").count();
    assert_eq!(n(&out), n(&plain), "following the loop finds no set twice");

    // --max-depth 2: `nested/a/b/deep.db` is four levels down, healthy/app.db two.
    let shallow = lines(&run(&["scan", "--json", "--max-depth", "2", root.to_str().unwrap()]).stdout);
    let paths: Vec<String> =
        shallow.iter().filter(|l| l["type"] == "set").map(|l| rel(&root, l["path"].as_str().unwrap())).collect();
    assert!(paths.contains(&"healthy/app.db".to_string()), "{paths:?}");
    assert!(!paths.iter().any(|p| p.starts_with("nested/")), "{paths:?}");
}
