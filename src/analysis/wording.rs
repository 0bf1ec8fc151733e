//! The wording shared by every message and renderer: truncation, byte sizes, plurals. Finding
//! messages (here and in `live`) and the lock summary need them below `present`, so they are
//! defined once here; `present::fmt` re-exports them for the text output and the TUI.

/// At most `max` characters, with "…" when cut.
pub fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut o: String = s.chars().take(max.saturating_sub(1)).collect();
        o.push('…');
        o
    }
}

const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

/// Bytes in a short human form: "512 B", "1.5 KiB", "16.0 EiB" (binary units, one decimal).
pub fn human_bytes(n: u64) -> String {
    let mut v = n as f64;
    let mut unit = "B";
    for u in UNITS.iter().skip(1) {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    if unit == "B" { format!("{n} B") } else { format!("{v:.1} {unit}") }
}

/// "1 frame", "2 frames".
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
