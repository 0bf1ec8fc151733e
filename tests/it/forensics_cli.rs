//! The forensic commands from the outside: JSON contracts, text output, exit codes, bad
//! input, `dump --owners`, and the evidence left untouched.

use std::process::Command;

use crate::support::forensics::*;
use serde_json::Value as J;

fn run(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_walinspect")).args(args).output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn fixture() -> (Fixture, std::path::PathBuf) {
    let mut fx = Fixture::new(1024);
    fx.tx("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, score REAL, data BLOB);
           CREATE TABLE w(k TEXT, n INT, PRIMARY KEY(k, n)) WITHOUT ROWID;
           INSERT INTO t VALUES(1, 'one', 1, X'01'), (2, 'two', 2.5, NULL);
           INSERT INTO w VALUES('a', 1), ('b', 2);");
    fx.checkpoint_truncate();
    fx.snap();
    fx.commit("INSERT INTO t VALUES(3, 'three', 3, X'0303')");
    fx.commit("UPDATE t SET name = 'TWO' WHERE id = 2; DELETE FROM w WHERE k = 'a'");
    fx.commit("DELETE FROM t WHERE id = 1; INSERT INTO w VALUES('c', 3)");
    let ev = fx.evidence("ev");
    (fx, ev)
}

#[test]
fn timeline_json_contract() {
    let (_fx, ev) = fixture();
    let before = fingerprint(&ev);
    let p = ev.to_str().unwrap();
    let (code, out, err) = run(&["timeline", p, "--json", "--values"]);
    assert_eq!(code, 0, "{err}");
    let j: J = serde_json::from_str(&out).unwrap();
    assert_eq!(j["schema"], "walinspect.timeline");
    assert_eq!(j["version"], 1);
    assert_eq!(j["tool"]["name"], "walinspect");
    assert!(j["files"]["wal"]["size"].as_u64().unwrap() > 32);
    let commits = j["commits"].as_array().unwrap();
    assert_eq!(commits.len(), 3);
    for (i, c) in commits.iter().enumerate() {
        assert_eq!(c["commit"], i as u64 + 1);
        assert_eq!(c["committed"], true);
        assert!(c["frame"].as_u64().unwrap() >= c["first_frame"].as_u64().unwrap());
        assert!(c["db_pages"].as_u64().unwrap() >= 3);
        for o in c["objects"].as_array().unwrap() {
            assert!(o["name"].is_string() && o["type"].is_string());
            assert_eq!(o["pages"].as_array().unwrap().len(), o["roles"].as_array().unwrap().len());
        }
    }
    let c1 = &commits[0]["rows"]["t"];
    assert_eq!(c1["inserted"], serde_json::json!([3]));
    assert_eq!(c1["columns"], serde_json::json!(["id", "name", "score", "data"]));
    assert_eq!(c1["values"][0]["new"], serde_json::json!([3, "three", 3.0, {"hex": "0303"}]));
    let c2 = &commits[1]["rows"];
    assert_eq!(c2["t"]["updated"], serde_json::json!([2]));
    assert_eq!(c2["t"]["values"][0]["old"][1], "two");
    assert_eq!(c2["t"]["values"][0]["new"][1], "TWO");
    assert_eq!(c2["w"]["deleted"], serde_json::json!([["a", 1]]));
    let c3 = &commits[2]["rows"];
    assert_eq!(c3["t"]["deleted"], serde_json::json!([1]));
    assert_eq!(c3["w"]["inserted"], serde_json::json!([["c", 3]]));
    // Without --rows there is no "rows" key; --rows without --values has no "values".
    let (_, out, _) = run(&["timeline", p, "--json"]);
    let j: J = serde_json::from_str(&out).unwrap();
    assert!(j["commits"][0].get("rows").is_none());
    let (_, out, _) = run(&["timeline", p, "--json", "--rows"]);
    let j: J = serde_json::from_str(&out).unwrap();
    assert!(j["commits"][0]["rows"]["t"].get("values").is_none());
    assert_eq!(j["commits"][0]["rows"]["t"]["inserted"], serde_json::json!([3]));
    // Text.
    let (code, out, _) = run(&["timeline", p, "--values"]);
    assert_eq!(code, 0);
    assert!(out.contains("commit 2") && out.contains("~ 2 (2, 'two', 2.5, NULL) -> (2, 'TWO', 2.5, NULL)"), "{out}");
    assert_eq!(before, fingerprint(&ev));
}

#[test]
fn history_and_salvage_json_contract() {
    let (_fx, ev) = fixture();
    let before = fingerprint(&ev);
    let p = ev.to_str().unwrap();
    let (code, out, err) = run(&["history", p, "--table", "t", "--rowid", "2", "--json"]);
    assert_eq!(code, 0, "{err}");
    let j: J = serde_json::from_str(&out).unwrap();
    assert_eq!(j["schema"], "walinspect.history");
    assert_eq!(j["table"], "t");
    assert_eq!(j["key"], 2);
    let v = j["versions"].as_array().unwrap();
    assert_eq!(v.len(), 2);
    assert_eq!(v[0]["source"]["kind"], "db_file");
    assert_eq!(v[0]["values"][1], "two");
    assert_eq!(v[1]["source"]["kind"], "commit");
    assert_eq!(v[1]["source"]["commit"], 2);
    assert_eq!(v[1]["op"], "update");
    assert_eq!(v[1]["current"], true);
    let (code, out, _) = run(&["history", p, "--table", "w", "--key", "a", "--key", "1", "--json"]);
    assert_eq!(code, 0);
    let j: J = serde_json::from_str(&out).unwrap();
    assert_eq!(j["key"], serde_json::json!(["a", 1]));
    assert_eq!(j["versions"][1]["op"], "delete");
    assert!(j["versions"][1]["values"].is_null());
    let (code, out, _) = run(&["salvage", p, "--json"]);
    assert_eq!(code, 0);
    let j: J = serde_json::from_str(&out).unwrap();
    assert_eq!(j["schema"], "walinspect.salvage");
    assert_eq!(j["summary"]["rows"], 0);
    assert!(j["groups"].as_array().unwrap().is_empty());
    assert_eq!(before, fingerprint(&ev));
}

#[test]
fn dump_owners_is_opt_in() {
    let (_fx, ev) = fixture();
    let p = ev.to_str().unwrap();
    let (_, out, _) = run(&["dump", p, "--json"]);
    assert!(!out.contains("\"owner\""));
    let (code, out, _) = run(&["dump", p, "--json", "--owners"]);
    assert_eq!(code, 0);
    let j: J = serde_json::from_str(&out).unwrap();
    let frames = j["wal"]["frames"].as_array().unwrap();
    assert!(!frames.is_empty());
    for f in frames {
        let o = &f["owner"];
        assert!(["t", "w", "sqlite_schema", "(freelist)"].contains(&o["name"].as_str().unwrap()), "{o}");
        assert!(o["type"].is_string() && o["role"].is_string());
    }
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let (_fx, ev) = fixture();
    let p = ev.to_str().unwrap();
    for args in [
        vec!["history", p, "--table", "nope", "--rowid", "1"],
        vec!["history", p, "--table", "t"],
        vec!["history", p, "--table", "w", "--rowid", "1"],
        vec!["timeline", "/nonexistent/x.db"],
        vec!["salvage", "/nonexistent/x.db", "--json"],
    ] {
        let (code, out, err) = run(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: no partial output");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    }
    let (code, _, _) = run(&["history", p, "--table", "t", "--rowid", "1", "--key", "x"]);
    assert_eq!(code, 2, "clap refuses both");
}
