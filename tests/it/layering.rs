//! The layering of `src/` (docs/architecture.md), kept by the test suite: a lower layer never
//! names a higher one, siblings never name each other, and the modules inside one layer form
//! no cycle. Non-test code only (a `#[cfg(test)]` block may reach anywhere).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module and its layer, lowest first. Equal ranks are siblings: neither may
/// name the other. The one exception is the command line naming the TUI (`walinspect tui`
/// dispatches to it); the TUI never names the command line.
const LAYERS: &[(&str, u8)] = &[
    ("format", 0),
    ("source", 1),
    ("analysis", 2),
    ("forensics", 3),
    ("live", 3),
    ("session", 4),
    ("repair", 5),
    ("report", 6),
    ("present", 7),
    ("export", 7),
    ("cli", 8),
    ("tui", 8),
];
const ALLOWED_SIBLING_EDGES: &[(&str, &str)] = &[("cli", "tui")];

fn rank(m: &str) -> Option<u8> {
    LAYERS.iter().find(|(n, _)| *n == m).map(|(_, r)| *r)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module path of a source file: `src/tui/views/mod.rs` → ["tui", "views"].
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|c| c.to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|l| l == "mod") {
        parts.pop();
    }
    parts
}

/// The code a module compiles outside tests, without comments: every `#[cfg(test)]` item (a
/// `mod … { … }` block, matched by braces, or a single item up to its `;`) is removed.
fn non_test_code(text: &str) -> String {
    let no_comments: String = text
        .lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = String::new();
    let mut rest = no_comments.as_str();
    while let Some(i) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..i]);
        rest = &rest[i + "#[cfg(test)]".len()..];
        // Skip the item: up to a `;` before any `{`, or a balanced `{ … }`.
        let brace = rest.find('{');
        let semi = rest.find(';');
        match (brace, semi) {
            (_, Some(sc)) if brace.is_none_or(|b| sc < b) => rest = &rest[sc + 1..],
            (Some(b), _) => {
                let mut depth = 0usize;
                let mut end = rest.len();
                for (k, c) in rest[b..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = b + k + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                rest = &rest[end..];
            }
            _ => rest = "",
        }
    }
    out.push_str(rest);
    out
}

fn idents_after<'a>(code: &'a str, prefix: &str) -> Vec<Vec<&'a str>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find(prefix) {
        let before_ok = i == 0 || !rest.as_bytes()[i - 1].is_ascii_alphanumeric() && rest.as_bytes()[i - 1] != b'_';
        rest = &rest[i + prefix.len()..];
        if !before_ok {
            continue;
        }
        let path: Vec<&str> = rest
            .split("::")
            .take(2)
            .map(|seg| seg.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).next().unwrap_or(""))
            .take_while(|s| !s.is_empty())
            .collect();
        out.push(path);
    }
    out
}

/// Edges between modules at depth two (`tui::app` → `tui::views`, `cli` → `session`).
fn edges() -> BTreeSet<(Vec<String>, Vec<String>)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut edges = BTreeSet::new();
    for f in files {
        let m = module_of(&src, &f);
        if m.len() == 1 && (m[0] == "lib" || m[0] == "main") {
            continue;
        }
        let code = non_test_code(&std::fs::read_to_string(&f).unwrap());
        let from: Vec<String> = m.iter().take(2).cloned().collect();
        for p in idents_after(&code, "crate::") {
            let to: Vec<String> = p.iter().take(2).map(|s| s.to_string()).collect();
            if !to.is_empty() && rank(&to[0]).is_some() {
                edges.insert((from.clone(), to));
            }
        }
        // `super::x` names a sibling of the file's module (`src/tui/app.rs`: `tui::x`).
        let parent: Vec<String> = m[..m.len() - 1].to_vec();
        for p in idents_after(&code, "super::") {
            let Some(first) = p.first() else { continue };
            if *first == "super" {
                continue;
            }
            let mut to = parent.clone();
            to.push(first.to_string());
            to.truncate(2);
            if to != from && rank(&to[0]).is_some() {
                edges.insert((from.clone(), to));
            }
        }
    }
    edges
}

#[test]
fn lower_layers_never_name_higher_ones() {
    let mut bad = Vec::new();
    for (from, to) in edges() {
        let (a, b) = (&from[0], &to[0]);
        if a == b {
            continue;
        }
        let (Some(ra), Some(rb)) = (rank(a), rank(b)) else {
            bad.push(format!("{} → {}: module not in LAYERS", from.join("::"), to.join("::")));
            continue;
        };
        let sibling_ok = ALLOWED_SIBLING_EDGES.contains(&(a.as_str(), b.as_str()));
        if rb > ra || (rb == ra && !sibling_ok) {
            bad.push(format!("{} (layer {ra}) names {} (layer {rb})", from.join("::"), to.join("::")));
        }
    }
    assert!(bad.is_empty(), "layering violations:\n{}", bad.join("\n"));
}

#[test]
fn every_top_level_module_has_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    for line in lib.lines() {
        if let Some(m) = line.trim().strip_prefix("pub mod ").and_then(|r| r.strip_suffix(';')) {
            assert!(rank(m).is_some(), "src/{m} has no layer in tests/layering.rs (and docs/architecture.md)");
        }
    }
}

#[test]
fn modules_within_a_layer_form_no_cycle() {
    let mut graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (from, to) in edges() {
        if from.len() == 2 && to.len() == 2 && from[0] == to[0] && from != to {
            graph.entry(from).or_default().insert(to);
        }
    }
    // Depth-first search with colours; report the first cycle found from each start.
    fn visit(
        n: &Vec<String>,
        g: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        stack: &mut Vec<Vec<String>>,
        done: &mut BTreeSet<Vec<String>>,
        cycles: &mut Vec<String>,
    ) {
        if let Some(i) = stack.iter().position(|s| s == n) {
            let c: Vec<String> = stack[i..].iter().chain(std::iter::once(n)).map(|m| m.join("::")).collect();
            cycles.push(c.join(" → "));
            return;
        }
        if done.contains(n) {
            return;
        }
        stack.push(n.clone());
        for m in g.get(n).into_iter().flatten() {
            visit(m, g, stack, done, cycles);
        }
        stack.pop();
        done.insert(n.clone());
    }
    let mut cycles = Vec::new();
    let mut done = BTreeSet::new();
    for n in graph.keys() {
        visit(n, &graph, &mut Vec::new(), &mut done, &mut cycles);
    }
    assert!(cycles.is_empty(), "module cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_checker_sees_a_violation() {
    // The parser itself: a lower layer naming a higher one is an edge it finds.
    let code = non_test_code(
        "use crate::tui::app::App; // crate::cli\nfn f() { super::views::x(); }\n#[cfg(test)] use crate::cli;",
    );
    assert_eq!(idents_after(&code, "crate::"), vec![vec!["tui", "app"]]);
    assert_eq!(idents_after(&code, "super::"), vec![vec!["views", "x"]]);
}
