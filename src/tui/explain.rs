//! Each finding code's explanation, taken from `docs/findings.md` (compiled in), so the UI and
//! the documentation can never disagree: the cause, the consequence and the remedy bullets of
//! the code's section, with the Markdown emphasis removed.

use std::sync::OnceLock;

const DOC: &str = include_str!("../../docs/findings.md");

/// The explanation of `code`, if `docs/findings.md` has a section for it.
pub fn explain(code: crate::analysis::findings::Code) -> Option<&'static str> {
    let code = code.as_str();
    static TABLE: OnceLock<Vec<(String, String)>> = OnceLock::new();
    TABLE.get_or_init(|| parse(DOC)).iter().find(|(c, _)| c == code).map(|(_, e)| e.as_str())
}

/// The explanation of `code` as its parts: ("Cause", text), ("Consequence", text),
/// ("Remedy", text), in the document's order.
pub fn parts(code: crate::analysis::findings::Code) -> Vec<(&'static str, &'static str)> {
    let Some(e) = explain(code) else { return Vec::new() };
    let keys = ["Cause:", "Consequence:", "Remedy:"];
    let mut starts: Vec<(usize, &'static str)> = keys.iter().filter_map(|k| e.find(k).map(|i| (i, *k))).collect();
    starts.sort_unstable();
    let mut out = Vec::new();
    for (n, (i, k)) in starts.iter().enumerate() {
        let end = starts.get(n + 1).map_or(e.len(), |(j, _)| *j);
        let body = e.get(i + k.len()..end).unwrap_or("").trim();
        out.push((k.trim_end_matches(':'), body));
    }
    out
}

/// Split the document into `(code, "Cause: … Consequence: … Remedy: …")` pairs.
fn parse(doc: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut code: Option<String> = None;
    let mut parts: Vec<String> = Vec::new();
    let mut keep = false;
    let mut flush = |code: &mut Option<String>, parts: &mut Vec<String>| {
        if let Some(c) = code.take() {
            out.push((c, parts.join(" ")));
        }
        parts.clear();
    };
    for line in doc.lines() {
        if let Some(rest) = line.strip_prefix("### `") {
            flush(&mut code, &mut parts);
            code = Some(rest.trim_end_matches('`').to_string());
            keep = false;
            continue;
        }
        if line.starts_with("## ") {
            flush(&mut code, &mut parts);
            keep = false;
            continue;
        }
        if code.is_none() {
            continue;
        }
        if let Some(item) = line.strip_prefix("- **") {
            keep = ["Cause:", "Consequence:", "Remedy:"].iter().any(|k| item.starts_with(k));
            if keep {
                parts.push(clean(item));
            }
        } else if keep && line.starts_with("  ") {
            if let Some(last) = parts.last_mut() {
                last.push(' ');
                last.push_str(&clean(line.trim()));
            }
        } else if !line.starts_with("  ") {
            keep = false;
        }
    }
    flush(&mut code, &mut parts);
    out
}

fn clean(s: &str) -> String {
    s.replace("**", "").replace('`', "")
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_finding_code_is_explained_from_the_docs() {
        for code in crate::analysis::findings::Code::ALL {
            let e = super::explain(*code).unwrap_or_else(|| panic!("no explanation for {code}"));
            assert!(e.contains("Consequence:") || e.contains("Cause:"), "{code}: {e}");
        }
        let e = super::explain(crate::analysis::findings::Code::WalChecksumMismatch).unwrap();
        assert!(!e.contains("**") && !e.contains('`'));
    }
}
