//! The JSON contract is tested, not only documented. Every document walinspect prints (dump,
//! check, locks, timeline, history, salvage, and the extract and rebuild-shm reports) is
//! produced from real states (the samples, which real SQLite made, and their extracts), every
//! key path is collected, and:
//!
//! (`scan --json` prints JSON Lines: each line is a document.)
//!
//! 1. the set of paths equals `docs/json-fields.txt` (the committed list of every field of
//!    every document; a line starting with `?` is a field the fixtures may not produce). A
//!    renamed or removed field fails here: fields are never renamed.
//! 2. every key of every listed path is documented: for `dump`/`check`, in the Field column of
//!    docs/json-schema.md (or docs/forensics.md for `dump --owners`); for the other documents,
//!    in their own doc (docs/locks.md, docs/forensics.md, docs/repair-report.md), which may
//!    also say "as in `dump`".
//! 3. every field the docs list (a Field column entry, a dotted path such as
//!    `snapshot.kind`, or a key of a `{a, b?, c}` shape) is a key some document has.
//!
//! After adding a field (and documenting it): `WALINSPECT_BLESS_JSON_FIELDS=1 cargo test --test
//! it json_contract` rewrites docs/json-fields.txt; review the diff.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use crate::support::common::{Run, bin, run, tempdir};

const FIELDS_FILE: &str = "docs/json-fields.txt";
const SAMPLES: &[&str] = &["healthy", "damaged", "crashed", "reset"];

/// Objects whose keys are data (table names, reasons), not field names: written `*`.
const DATA_KEYED: &[&str] = &[
    "walinspect.timeline .commits[].rows",
    "walinspect.extract .frames_ignored_counts",
    "walinspect.rebuild-shm .frames_ignored_counts",
];

/// Which doc documents which document (besides json-schema.md's shared `tool`, `files`,
/// `findings` and `summary`).
fn doc_of(schema: &str) -> &'static str {
    match schema {
        "walinspect.dump" | "walinspect.check" | "walinspect.event" | "walinspect.scan" => "docs/json-schema.md",
        "walinspect.locks" => "docs/locks.md",
        "walinspect.timeline" | "walinspect.history" | "walinspect.salvage" => "docs/forensics.md",
        "walinspect.extract" | "walinspect.rebuild-shm" => "docs/repair-report.md",
        other => panic!("a document with an unknown schema: {other}"),
    }
}

/// Runs walinspect (with `--no-live`, except `locks`, whose document is the live probe) and
/// parses its JSON.
fn json(args: &[&str]) -> Value {
    let r = if args.first() == Some(&"locks") {
        let o = std::process::Command::new(bin()).args(args).output().unwrap();
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    } else {
        run(args)
    };
    assert!(r.code == 0 || r.code == 1, "walinspect {args:?}: {} {}", r.code, r.stderr);
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("walinspect {args:?}: {e}"))
}

fn collect(schema: &str, v: &Value, path: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            let data_keyed = DATA_KEYED.contains(&format!("{schema} {path}").as_str());
            for (k, x) in m {
                let p = if data_keyed { format!("{path}.*") } else { format!("{path}.{k}") };
                out.insert(p.clone());
                collect(schema, x, &p, out);
            }
        }
        Value::Array(a) => {
            for x in a {
                collect(schema, x, &format!("{path}[]"), out);
            }
        }
        _ => {}
    }
}

/// Every document of every kind, from the samples; schema → its key paths.
fn produced() -> BTreeMap<String, BTreeSet<String>> {
    let d = tempdir();
    let mut docs: Vec<Value> = Vec::new();
    // A database with deleted records in free space: salvage's `carving.rows`.
    let corpus = crate::support::carve_corpus::build(crate::support::carve_corpus::Params {
        page_size: 4096,
        utf16: false,
        rows: 120,
        seed: 11,
    });
    docs.push(json(&["salvage", corpus.evidence.to_str().unwrap(), "--json"]));
    for s in SAMPLES {
        let db = format!("samples/{s}/app.db");
        docs.push(json(&["dump", &db, "--json"]));
        docs.push(json(&["dump", &db, "--json", "--owners"]));
        docs.push(json(&["check", &db, "--json"]));
        docs.push(json(&["check", &db, "--json", "--findings-only"]));
        docs.push(json(&["info", &db, "--json"]));
        docs.push(json(&["check", &db, "--json", "--deep"]));
        docs.push(json(&["locks", &db, "--json"]));
        docs.push(json(&["timeline", &db, "--json", "--values"]));
        docs.push(json(&["history", &db, "--table", "customer", "--rowid", "1", "--json"]));
        docs.push(json(&["history", &db, "--table", "customer", "--rowid", "999999", "--json"]));
        docs.push(json(&["salvage", &db, "--json"]));
        for (i, extra) in
            [&[][..], &["--commit", "0", "--allow-inexact"][..], &["--commit", "1"][..]].iter().enumerate()
        {
            let out = d.path().join(format!("{s}-{i}.db"));
            let rep = d.path().join(format!("{s}-{i}.json"));
            let mut args = vec!["extract", &db, "-o", out.to_str().unwrap(), "--report", rep.to_str().unwrap()];
            args.extend_from_slice(extra);
            let r = run(&args);
            if rep.exists() {
                docs.push(serde_json::from_slice(&std::fs::read(&rep).unwrap()).unwrap());
            } else {
                assert_ne!(r.code, 0, "extract {args:?} wrote no report: {}", r.stderr);
            }
        }
        let out = d.path().join(format!("{s}.db-shm"));
        let rep = d.path().join(format!("{s}-shm.json"));
        let r = run(&["rebuild-shm", &db, "-o", out.to_str().unwrap(), "--report", rep.to_str().unwrap()]);
        assert!(r.code == 0 || r.code == 1, "rebuild-shm {s}: {}", r.stderr);
        docs.push(serde_json::from_slice(&std::fs::read(&rep).unwrap()).unwrap());
    }
    // `locks` with holders: a copy of a sample with a reader in a read transaction and a
    // writer in a write transaction (this process; the probe is the walinspect child).
    let held = d.path().join("held.db");
    for (suffix, from) in [("", "samples/healthy/app.db"), ("-wal", "samples/healthy/app.db-wal")] {
        std::fs::copy(from, format!("{}{suffix}", held.display())).unwrap();
    }
    let reader = rusqlite::Connection::open(&held).unwrap();
    reader.execute_batch("BEGIN; SELECT count(*) FROM sqlite_schema;").unwrap();
    let writer = rusqlite::Connection::open(&held).unwrap();
    writer.execute_batch("BEGIN IMMEDIATE;").unwrap();
    docs.push(json(&["locks", held.to_str().unwrap(), "--json"]));
    drop((reader, writer));
    // One line of `tui --log` (the TUI itself is driven in tui_live).
    docs.push(
        serde_json::to_value(walinspect::tui::events::LoggedEvent {
            schema: walinspect::tui::events::EVENT_SCHEMA,
            at_ms: 1,
            kind: "commit",
            severity: "info",
            text: "1 commit".into(),
        })
        .unwrap(),
    );

    // `scan --json`: JSON Lines over the samples, with an entry that cannot be read (a FIFO).
    let fifo_dir = d.path().join("scan-extra");
    std::fs::create_dir_all(&fifo_dir).unwrap();
    assert!(std::process::Command::new("mkfifo").arg(fifo_dir.join("pipe")).status().unwrap().success());
    let r = run(&["scan", "samples", fifo_dir.to_str().unwrap(), "--json"]);
    assert!(r.code == 0 || r.code == 1, "scan: {}", r.stderr);
    for l in r.stdout.lines() {
        docs.push(serde_json::from_str(l).unwrap());
    }

    let mut by_schema: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for v in &docs {
        let schema = v["schema"].as_str().expect("every document names its schema").to_string();
        collect(&schema, v, "", by_schema.entry(schema.clone()).or_default());
    }
    by_schema
}

/// docs/json-fields.txt: schema → (path → optional).
fn listed() -> BTreeMap<String, BTreeMap<String, bool>> {
    let text = std::fs::read_to_string(FIELDS_FILE).unwrap_or_default();
    let mut m: BTreeMap<String, BTreeMap<String, bool>> = BTreeMap::new();
    for l in text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (optional, l) = match l.strip_prefix('?') {
            Some(r) => (true, r),
            None => (false, l),
        };
        let (schema, path) = l.split_once(' ').unwrap_or_else(|| panic!("{FIELDS_FILE}: bad line {l:?}"));
        m.entry(schema.to_string()).or_default().insert(path.to_string(), optional);
    }
    m
}

fn write_listed(m: &BTreeMap<String, BTreeMap<String, bool>>) {
    let mut s = String::from(
        "# Every key path of every JSON document walinspect prints, one per line: `SCHEMA PATH`\n\
         # (`[]` = each element of an array, `*` = keys that are data). A line starting with `?` is a\n\
         # field the test fixtures need not produce. Kept in step with the output and the docs by\n\
         # tests/it/json_contract.rs. Fields are never renamed or removed within a version.\n",
    );
    for (schema, paths) in m {
        for (p, optional) in paths {
            s.push_str(&format!("{}{schema} {p}\n", if *optional { "?" } else { "" }));
        }
    }
    std::fs::write(FIELDS_FILE, s).unwrap();
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && s.starts_with(|c: char| c.is_ascii_lowercase())
}

/// The keys a path names (`.a[].b.*` → a, b).
fn keys(path: &str) -> impl Iterator<Item = &str> {
    path.split('.').map(|k| k.trim_end_matches("[]")).filter(|k| is_ident(k))
}

/// Spans between backticks in a line.
fn backticked(line: &str) -> impl Iterator<Item = &str> {
    line.split('`').skip(1).step_by(2)
}

/// The keys of `{a, b?, "c", d: {e}}` shapes in a text: a word or quoted word that starts an
/// element (after `{` or `,`) and ends one (before `,`, `}`, `:` or `?`). Values such as
/// `file: "db"|"shm"` follow a `:` and are skipped.
fn shape_keys(text: &str, out: &mut BTreeSet<String>) {
    let chars: Vec<char> = text.chars().filter(|c| *c != '\\').collect();
    let significant = |mut i: usize, step: isize| -> char {
        loop {
            match i.checked_add_signed(step).and_then(|j| chars.get(j)) {
                Some(' ') => i = i.wrapping_add_signed(step),
                Some(c) => return *c,
                None => return ' ',
            }
        }
    };
    let mut depth = 0usize;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let quoted = c == '"';
        if c == '{' {
            depth += 1;
        } else if c == '}' {
            depth = depth.saturating_sub(1);
        } else if depth > 0 && (quoted || c.is_ascii_alphabetic()) {
            let start = i;
            let mut word = String::new();
            let mut j = if quoted { i + 1 } else { i };
            while let Some(&d) = chars.get(j) {
                if d.is_ascii_alphanumeric() || d == '_' {
                    word.push(d);
                    j += 1;
                } else {
                    break;
                }
            }
            if quoted {
                if chars.get(j) != Some(&'"') {
                    i = j;
                    continue;
                }
                j += 1;
            }
            let end = j - 1;
            if matches!(significant(start, -1), '{' | ',')
                && matches!(significant(end, 1), ',' | '}' | ':' | '?')
                && is_ident(&word)
            {
                out.insert(word);
            }
            i = j;
            continue;
        }
        i += 1;
    }
}

struct DocFields {
    /// Keys a reader finds documented (json-schema.md: its Field column only; other docs: any
    /// backticked span or shape key).
    documented: BTreeSet<String>,
    /// Field names the doc's field tables and shapes claim exist.
    claimed: BTreeSet<String>,
}

fn doc_fields(doc: &str) -> DocFields {
    let text = std::fs::read_to_string(doc).unwrap();
    let strict = doc.ends_with("json-schema.md");
    let mut documented = BTreeSet::new();
    let mut claimed = BTreeSet::new();
    let mut in_field_table = false;
    for line in text.lines() {
        if !line.starts_with('|') {
            in_field_table = false;
        } else if line.to_ascii_lowercase().starts_with("| field |") {
            in_field_table = true;
            continue;
        }
        if in_field_table && !line.starts_with("|---") {
            let first = line.split('|').nth(1).unwrap_or("");
            for span in backticked(first) {
                // `commits[].objects`, `rows.T.inserted`, `probe.matched.db`: each segment.
                for seg in span.split('.').map(|s| s.trim_end_matches("[]").trim_end_matches('?')) {
                    if is_ident(seg) {
                        claimed.insert(seg.to_string());
                        documented.insert(seg.to_string());
                    }
                }
            }
            shape_keys(line, &mut claimed);
            if !strict {
                shape_keys(line, &mut documented);
            }
        }
        if !strict {
            for span in backticked(line) {
                for seg in span.split(['.', ' ', ',']).map(|s| s.trim_end_matches("[]").trim_end_matches('?')) {
                    if is_ident(seg) {
                        documented.insert(seg.to_string());
                    }
                }
            }
            shape_keys(line, &mut documented);
        }
    }
    DocFields { documented, claimed }
}

#[test]
fn every_json_field_is_listed_produced_and_documented() {
    let produced = produced();
    let mut listed = listed();

    // 1. What the documents have equals the committed list.
    let bless = std::env::var_os("WALINSPECT_BLESS_JSON_FIELDS").is_some();
    let mut problems = Vec::new();
    for (schema, paths) in &produced {
        let l = listed.get(schema);
        for p in paths {
            if l.and_then(|l| l.get(p)).is_none() {
                problems.push(format!("{schema} {p}: produced, not in {FIELDS_FILE}"));
            }
        }
    }
    for (schema, paths) in &listed {
        for (p, optional) in paths {
            if !optional && !produced.get(schema).is_some_and(|s| s.contains(p)) {
                problems.push(format!("{schema} {p}: in {FIELDS_FILE}, produced by no fixture (renamed or removed?)"));
            }
        }
    }
    if bless {
        let mut next: BTreeMap<String, BTreeMap<String, bool>> = BTreeMap::new();
        for (schema, paths) in &produced {
            for p in paths {
                let optional = listed.get(schema).and_then(|l| l.get(p)).copied().unwrap_or(false);
                next.entry(schema.clone()).or_default().insert(p.clone(), optional);
            }
        }
        for (schema, paths) in &listed {
            for (p, optional) in paths.iter().filter(|(_, o)| **o) {
                next.entry(schema.clone()).or_default().entry(p.clone()).or_insert(*optional);
            }
        }
        write_listed(&next);
        listed = next;
    } else {
        assert!(
            problems.is_empty(),
            "the JSON output and {FIELDS_FILE} disagree (fields are never renamed or removed; after \
             adding and documenting a field, run with WALINSPECT_BLESS_JSON_FIELDS=1):\n{}",
            problems.join("\n")
        );
    }

    // 2. Every key of every listed path is documented.
    let shared = doc_fields("docs/json-schema.md");
    let owners = doc_fields("docs/forensics.md");
    let mut all_keys = BTreeSet::new();
    let mut undocumented = Vec::new();
    for (schema, paths) in &listed {
        let own = doc_fields(doc_of(schema));
        for p in paths.keys() {
            for k in keys(p) {
                all_keys.insert(k.to_string());
                let found = own.documented.contains(k)
                    || shared.documented.contains(k)
                    || (p.contains(".owner") && owners.documented.contains(k));
                if !found {
                    undocumented.push(format!("{schema} {p}: `{k}` is not documented in {}", doc_of(schema)));
                }
            }
        }
    }
    undocumented.dedup();
    assert!(undocumented.is_empty(), "undocumented JSON fields:\n{}", undocumented.join("\n"));

    // 3. Every field the docs claim is a key of some document.
    let mut phantom = Vec::new();
    for doc in ["docs/json-schema.md", "docs/locks.md", "docs/forensics.md", "docs/repair-report.md"] {
        for k in doc_fields(doc).claimed {
            if !all_keys.contains(&k) {
                phantom.push(format!("{doc}: `{k}` is documented as a field, but no document has it"));
            }
        }
    }
    assert!(phantom.is_empty(), "documented fields that do not exist:\n{}", phantom.join("\n"));
}

#[test]
fn shape_keys_reads_documented_shapes() {
    let mut k = BTreeSet::new();
    shape_keys(r#"`{file: "db"|"shm", name, inner_pid?, holders: [{pid}]}` and `{"name", "type", "role"}`"#, &mut k);
    let want: BTreeSet<String> =
        ["file", "name", "inner_pid", "holders", "pid", "type", "role"].iter().map(|s| s.to_string()).collect();
    assert_eq!(k, want);
    assert!(Path::new(FIELDS_FILE).exists(), "{FIELDS_FILE} is committed");
}
