//! The one escaping function for untrusted text on its way to a terminal.
//!
//! Table and column names, TEXT values, file names and other processes' command lines come from
//! the evidence or from other local users. Printed raw, they can drive the terminal: OSC 52
//! writes the clipboard, OSC 8 makes fake links, OSC 0 sets the window title, CSI 2J clears the
//! screen, CR overprints a line, and bidirectional overrides reorder what the reader sees.
//!
//! [`escape`] makes every such character visible and keeps everything else exactly:
//!
//! | input | shown as |
//! |---|---|
//! | TAB, LF, CR | `\t`, `\n`, `\r` |
//! | other C0 controls (U+0000–U+001F), DEL (U+007F) | `\xNN` (e.g. `\x1b`) |
//! | C1 controls (U+0080–U+009F) | `\u{NN}` |
//! | bidi embeddings/overrides/isolates (U+202A–U+202E, U+2066–U+2069) | `\u{NNNN}` |
//!
//! [`escape_bytes`] does the same for bytes that may not be UTF-8, showing each invalid byte as
//! `\xNN`. Every text renderer (the CLI's text output and the TUI) goes through these two.

use std::borrow::Cow;
use std::fmt::Write as _;

/// True for the characters [`escape`] rewrites.
pub fn needs_escape(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\u{0}'..='\u{1f}' | '\u{7f}' => {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        }
        _ => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
}

/// `s` with control and bidi-override characters made visible; borrowed when nothing changes.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if needs_escape(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Bytes that should be UTF-8 text, escaped as [`escape`] does, each invalid byte as `\xNN`.
pub fn escape_bytes(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => escape(s),
        Err(_) => {
            let mut out = String::with_capacity(b.len() + 8);
            for chunk in b.utf8_chunks() {
                for c in chunk.valid().chars() {
                    if needs_escape(c) {
                        push_escaped(&mut out, c);
                    } else {
                        out.push(c);
                    }
                }
                for byte in chunk.invalid() {
                    let _ = write!(out, "\\x{byte:02x}");
                }
            }
            Cow::Owned(out)
        }
    }
}

/// The last guard on text output: every character [`escape`] rewrites is made visible except
/// LF and TAB, which lay the text out, and — when `keep_sgr` (colour is on) — the SGR sequences
/// `ESC [ digits/semicolons m` that set colours. Renderers escape untrusted fields themselves;
/// this makes sure nothing they missed reaches the terminal raw.
pub fn escape_output(s: &str, keep_sgr: bool) -> Cow<'_, str> {
    if !s.chars().any(|c| needs_escape(c) && c != '\n' && c != '\t') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if keep_sgr && c == '\u{1b}' {
            let sgr_len = rest
                .strip_prefix("\u{1b}[")
                .and_then(|r| r.find(|c: char| !(c.is_ascii_digit() || c == ';')).map(|i| (r, i)))
                .filter(|(r, i)| r.as_bytes().get(*i) == Some(&b'm'))
                .map(|(_, i)| i + 3);
            if let Some(n) = sgr_len
                && let Some(seq) = rest.get(..n)
            {
                out.push_str(seq);
                rest = rest.get(n..).unwrap_or("");
                continue;
            }
        }
        if needs_escape(c) && c != '\n' && c != '\t' {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
        rest = rest.get(c.len_utf8()..).unwrap_or("");
    }
    Cow::Owned(out)
}

/// A serialised JSON document made terminal-safe: the characters [`escape`] rewrites that a
/// JSON serialiser leaves raw (DEL, C1 controls, bidi overrides) are written as `\uXXXX`
/// escapes. The document means exactly the same (they can only occur inside strings).
pub fn escape_json(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if needs_escape(c) && !matches!(c, '\n' | '\t' | '\r') {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A path for display: its bytes escaped (non-UTF-8 names shown as `\xNN`).
pub fn escape_path(p: &std::path::Path) -> Cow<'_, str> {
    use std::os::unix::ffi::OsStrExt;
    escape_bytes(p.as_os_str().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_are_visible() {
        assert!(matches!(escape("plain ü 表"), Cow::Borrowed(_)));
        assert_eq!(escape("a\x1b]52;c;Zm9v\x07b"), "a\\x1b]52;c;Zm9v\\x07b");
        assert_eq!(escape("x\r\n\ty\x7f"), "x\\r\\n\\ty\\x7f");
        assert_eq!(escape("\u{9b}2J"), "\\u{9b}2J");
        assert_eq!(escape("abc\u{202e}def\u{2066}"), "abc\\u{202e}def\\u{2066}");
        assert_eq!(escape("\u{2067}\u{2069}\u{202a}"), "\\u{2067}\\u{2069}\\u{202a}");
    }

    #[test]
    fn output_guard_keeps_layout_and_our_colours_only() {
        assert_eq!(escape_output("a\tb\nc", false), "a\tb\nc");
        assert_eq!(escape_output("a\x1b[31mb\x1b[0m", false), "a\\x1b[31mb\\x1b[0m");
        assert_eq!(escape_output("a\x1b[1;31mb\x1b[0m\r", true), "a\x1b[1;31mb\x1b[0m\\r");
        assert_eq!(escape_output("\x1b]52;c;x\x07\x1b[2J\x1b[", true), "\\x1b]52;c;x\\x07\\x1b[2J\\x1b[");
        assert_eq!(escape_output("\u{202e}x", true), "\\u{202e}x");
    }

    #[test]
    fn json_guard_keeps_meaning() {
        let doc = serde_json::to_string(&"a\u{202e}b\u{9b}c\u{7f}\x1b\n").unwrap();
        let safe = escape_json(&doc);
        assert!(!safe.chars().any(needs_escape), "{safe}");
        let back: String = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, "a\u{202e}b\u{9b}c\u{7f}\x1b\n");
    }

    #[test]
    fn invalid_utf8_bytes_are_hex() {
        let b = [0x41, 0xff, 0x1b, 0xfe, b'[', b'3', b'1', b'm', b'B', 0xc0, 0xaf];
        assert_eq!(escape_bytes(&b), "A\\xff\\x1b\\xfe[31mB\\xc0\\xaf");
        assert_eq!(escape_bytes(b"ok"), "ok");
    }
}
