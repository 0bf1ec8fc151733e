//! Formatting helpers: one definition each, used by every renderer (the text output in
//! [`super::text`], [`super::locks`], [`super::forensics`], and the TUI's views).

use std::fmt::Write as _;

/// Defined once, below `present`, because finding messages use them too.
pub use crate::analysis::wording::{human_bytes, plural, short};

/// Bytes in the human form with the exact count beside it: "512 B", "1.5 KiB (1536 B)".
pub fn size(n: u64) -> String {
    if n < 1024 { format!("{n} B") } else { format!("{} ({n} B)", human_bytes(n)) }
}

/// Page (or frame) numbers as sorted runs: "3-5 9 12-13". Safe at `u32::MAX`.
pub fn ranges(p: &[u32]) -> String {
    let mut v = p.to_vec();
    v.sort_unstable();
    v.dedup();
    let mut out = String::new();
    let mut it = v.into_iter().peekable();
    while let Some(start) = it.next() {
        let mut end = start;
        while let Some(&next) = it.peek() {
            if Some(next) != end.checked_add(1) {
                break;
            }
            end = next;
            it.next();
        }
        if !out.is_empty() {
            out.push(' ');
        }
        let _ = if end == start { write!(out, "{start}") } else { write!(out, "{start}-{end}") };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_cuts_with_an_ellipsis() {
        assert_eq!(short("abcdef", 4), "abc…");
        assert_eq!(short("abc", 4), "abc");
        assert_eq!(short("abc", 0), "…");
        assert_eq!(short("", 0), "");
        assert_eq!(short("ééé", 2), "é…", "characters, not bytes");
    }

    #[test]
    fn human_bytes_at_the_unit_boundaries() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1024), "1.0 KiB");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(1 << 20), "1.0 MiB");
        assert_eq!(human_bytes(1 << 40), "1.0 TiB");
        assert_eq!(human_bytes(1 << 50), "1.0 PiB");
        assert_eq!(human_bytes(u64::MAX), "16.0 EiB");
    }

    #[test]
    fn size_keeps_the_exact_count() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(1023), "1023 B");
        assert_eq!(size(4096), "4.0 KiB (4096 B)");
        assert_eq!(size(u64::MAX), "16.0 EiB (18446744073709551615 B)");
    }

    #[test]
    fn plural_of_one_and_many() {
        assert_eq!(plural(0, "frame", "frames"), "0 frames");
        assert_eq!(plural(1, "process", "processes"), "1 process");
        assert_eq!(plural(u64::MAX, "frame", "frames"), "18446744073709551615 frames");
    }

    #[test]
    fn ranges_join_runs_even_at_the_last_page_number() {
        assert_eq!(ranges(&[]), "");
        assert_eq!(ranges(&[9, 3, 4, 5, 12, 13]), "3-5 9 12-13");
        assert_eq!(ranges(&[7, 7, 8]), "7-8", "duplicates are one page");
        // Page 4294967295 is the largest page number: the run must end there, not overflow.
        assert_eq!(ranges(&[u32::MAX]), "4294967295");
        assert_eq!(ranges(&[u32::MAX - 1, u32::MAX]), "4294967294-4294967295");
        assert_eq!(ranges(&[0, u32::MAX]), "0 4294967295");
    }
}
