//! The documentation stays true: every finding code is documented with its severity, and the
//! README's example output is what the binary prints today.

use walinspect::analysis::findings::Code;

#[test]
fn every_finding_code_is_documented() {
    let doc = std::fs::read_to_string("docs/findings.md").unwrap();
    for code in Code::ALL {
        let heading = format!("### `{code}`\nSeverity: ");
        assert!(doc.contains(&heading), "docs/findings.md lacks a section for {code}");
    }
    // And nothing documented that the code no longer raises.
    for line in doc.lines().filter(|l| l.starts_with("### `")) {
        let code = line.trim_start_matches("### `").trim_end_matches('`');
        assert!(Code::parse(code).is_some(), "docs/findings.md documents unknown code {code}");
    }
}

#[test]
fn readme_examples_are_current() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    for args in [&["info", "samples/damaged/app.db"][..], &["check", "samples/crashed/app.db"][..]] {
        let r = crate::support::common::run(args);
        assert!(
            readme.contains(&r.stdout),
            "README.md's example of `walinspect {}` is out of date:\n{}",
            args.join(" "),
            r.stdout
        );
    }
    // The README's first two commands, and CI runs the README's test command exactly.
    let first: Vec<&str> = readme.lines().filter(|l| l.starts_with("cargo ")).take(2).collect();
    assert!(first[0].starts_with("cargo run --release -- sample"));
    assert!(first[1].starts_with("cargo test"));
    let cmd = first[1].split('#').next().unwrap().trim();
    let ci = std::fs::read_to_string(".ci/run").unwrap();
    assert!(ci.lines().any(|l| l.trim() == cmd), ".ci/run must run `{cmd}`");
}

#[test]
fn every_note_code_is_documented() {
    use walinspect::forensics::snapshot::NoteCode;
    let doc = std::fs::read_to_string("docs/forensics.md").unwrap();
    let notes = doc.split("## Notes").nth(1).expect("docs/forensics.md has a Notes section");
    let table: Vec<&str> =
        notes.lines().take_while(|l| !l.starts_with("## ")).filter(|l| l.starts_with("| `")).collect();
    for code in NoteCode::ALL {
        assert!(table.iter().any(|l| l.contains(&format!("`{code}`"))), "docs/forensics.md's Notes lack {code}");
    }
    for l in table {
        for c in l.split('|').nth(1).unwrap_or("").split('`').skip(1).step_by(2) {
            assert!(NoteCode::parse(c).is_some(), "docs/forensics.md documents unknown note {c}");
        }
    }
}
