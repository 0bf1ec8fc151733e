//! Human-readable rendering of the report types (the same facts as the JSON).

use crate::format::escape::escape as esc;
use std::fmt::Write;

use super::fmt::{plural, size};
pub use super::theme::Style;
use crate::format::escape::escape;
use crate::report::{DumpReport, FindingReport, ShmHeaderReport, WalReport};

fn mark(v: u32) -> String {
    if v == u32::MAX { "unused".into() } else { v.to_string() }
}

/// The one-screen summary (`walinspect info`).
pub fn render_info(r: &DumpReport, st: Style) -> String {
    let mut o = String::new();
    let role = match r.verdict.tone {
        "problem" => super::theme::Role::Error,
        "attention" => super::theme::Role::Warning,
        _ => super::theme::Role::Good,
    };
    let _ = writeln!(o, "{} {}", st.bold("Verdict:"), st.paint(role, &escape(&r.verdict.text)));
    let _ = writeln!(o, "{}", st.bold("Files"));
    for (name, f) in [("database", &r.files.db), ("-wal", &r.files.wal), ("-shm", &r.files.shm)] {
        match f {
            Some(f) => {
                let _ = writeln!(o, "  {name:<9} {}  {}", esc(&f.path), size(f.size));
            }
            None => {
                let _ = writeln!(o, "  {name:<9} {}", st.dim("(absent)"));
            }
        }
    }
    if let Some(d) = &r.database {
        let h = &d.header;
        let _ = writeln!(o, "{}", st.bold("Database"));
        let _ = writeln!(
            o,
            "  page size {}, {}, {} in header ({}), {} in file",
            h.page_size.map_or("invalid".into(), |p| p.to_string()),
            plural(u64::from(h.reserved_bytes), "reserved byte", "reserved bytes"),
            plural(u64::from(h.page_count), "page", "pages"),
            if h.page_count_valid { "valid" } else { "not trusted" },
            d.file_pages.map_or("? pages".into(), |p| plural(p, "page", "pages"))
        );
        let _ = writeln!(
            o,
            "  journal mode in header: {} ({}/{}), encoding {}, schema format {}, last written by SQLite {}",
            h.journal_mode, h.write_version, h.read_version, h.text_encoding_name, h.schema_format, h.sqlite_version
        );
        let _ = writeln!(
            o,
            "  change counter {}, schema cookie {}, freelist {}, user_version {}, application_id {}",
            h.change_counter,
            h.schema_cookie,
            plural(u64::from(h.freelist_count), "page", "pages"),
            h.user_version,
            h.application_id
        );
    }
    if let Some(w) = &r.wal {
        info_wal(&mut o, w, st);
    }
    if let Some(s) = &r.shm {
        let _ = writeln!(o, "{}", st.bold("-shm (wal-index)"));
        match s.headers.first() {
            None => {
                let _ = writeln!(o, "  {} bytes: no header", s.file_size);
            }
            Some(h) => {
                let _ = writeln!(
                    o,
                    "  mxFrame {}, {} pages, change {}, salts {:08x}/{:08x}, header copies {}, checksums {}",
                    h.mx_frame,
                    h.db_pages,
                    h.change,
                    h.salt1,
                    h.salt2,
                    if s.headers_identical { "identical" } else { "DIFFER" },
                    s.headers.iter().map(|h| if h.checksum_valid { "ok" } else { "BAD" }).collect::<Vec<_>>().join("/")
                );
                if let (Some(b), Some(ba)) = (s.backfill, s.backfill_attempted) {
                    let _ = writeln!(o, "  checkpoint: {} of {} frames backfilled (attempted {})", b, h.mx_frame, ba);
                }
                if let Some(m) = s.read_marks {
                    let _ = writeln!(
                        o,
                        "  read marks: {}",
                        m.iter().enumerate().map(|(i, &v)| format!("[{i}] {}", mark(v))).collect::<Vec<_>>().join("  ")
                    );
                }
                let _ = writeln!(
                    o,
                    "  {}; index {}",
                    plural(s.segment_count as u64, "hash segment", "hash segments"),
                    if s.index.consistent {
                        "entries match the WAL frames' pages".to_string()
                    } else {
                        format!("{} disagreements, {} bad hash slots", s.index.mismatch_count, s.index.hash_errors)
                    }
                );
            }
        }
    }
    render_findings(&mut o, &r.findings, st);
    o
}

fn info_wal(o: &mut String, w: &WalReport, st: Style) {
    let _ = writeln!(o, "{}", st.bold("WAL"));
    let Some(h) = &w.header else {
        let _ = writeln!(o, "  {} bytes: no header", w.file_size);
        return;
    };
    let _ = writeln!(
        o,
        "  magic {:#010x} ({}-endian checksums), version {}, page size {}, checkpoint seq {}, salts {:08x}/{:08x}, header checksum {}",
        h.magic,
        h.checksum_order,
        h.format_version,
        h.page_size,
        h.checkpoint_seq,
        h.salt1,
        h.salt2,
        if h.checksum_valid { "ok" } else { "BAD" }
    );
    if let Some(r) = w.ignored_reason {
        let _ = writeln!(o, "  SQLite ignores this WAL: {r}");
    }
    let c = &w.frame_counts;
    let _ = writeln!(
        o,
        "  {} frames: {} {}, {} {}, {} {}, {} {}{}",
        w.frames_total,
        c.committed,
        st.state_word("committed"),
        c.uncommitted,
        st.state_word("uncommitted"),
        c.invalid,
        st.state_word("invalid"),
        c.stale,
        st.state_word("stale"),
        if w.trailing_bytes > 0 { format!(", plus {} bytes of a torn frame", w.trailing_bytes) } else { String::new() }
    );
    let _ = writeln!(
        o,
        "  valid (mxFrame) {} of {} chain-valid; {}; database size at mxFrame {}",
        w.valid_frames,
        w.chain_valid_frames,
        plural(w.commits.len() as u64, "commit", "commits"),
        plural(u64::from(w.db_pages), "page", "pages")
    );
    if let Some(f) = &w.first_invalid {
        let _ = writeln!(o, "  valid log ends at frame {}: {}", f.frame, f.reason);
    }
}

fn render_findings(o: &mut String, f: &[FindingReport], st: Style) {
    let _ = writeln!(o, "{}", st.bold("Findings"));
    if f.is_empty() {
        let _ = writeln!(o, "  none");
    }
    for x in f {
        let _ = writeln!(o, "  {} {}: {}{}", st.severity(x.severity), x.code, esc(&x.message), location(x));
    }
}

fn location(f: &FindingReport) -> String {
    let mut parts = Vec::new();
    if let Some(file) = f.file {
        parts.push(format!("file {file}"));
    }
    if let Some(v) = f.frame {
        parts.push(format!("frame {v}"));
    }
    if let Some(v) = f.page {
        parts.push(format!("page {v}"));
    }
    if let Some(v) = f.offset {
        parts.push(format!("offset {v}"));
    }
    if parts.is_empty() { String::new() } else { format!(" [{}]", parts.join(", ")) }
}

/// `walinspect check` without `--json`.
pub fn render_check(r: &DumpReport, st: Style) -> String {
    let mut o = String::new();
    render_findings(&mut o, &r.findings, st);
    let _ = writeln!(
        o,
        "{}, {}, {}",
        plural(r.summary.errors as u64, "error", "errors"),
        plural(r.summary.warnings as u64, "warning", "warnings"),
        plural(r.summary.infos as u64, "info", "infos")
    );
    o
}

fn shm_header_line(o: &mut String, i: usize, h: &ShmHeaderReport) {
    let _ = writeln!(
        o,
        "  copy {i}: version {} change {} isInit {} bigEndCksum {} szPage {} mxFrame {} nPage {} frameCksum {:08x}/{:08x} salts {:08x}/{:08x} cksum {:08x}/{:08x} ({})",
        h.version,
        h.change,
        h.is_init,
        h.big_endian_checksum,
        h.page_size,
        h.mx_frame,
        h.db_pages,
        h.frame_checksum[0],
        h.frame_checksum[1],
        h.salt1,
        h.salt2,
        h.checksum[0],
        h.checksum[1],
        if h.checksum_valid { "valid" } else { "INVALID" }
    );
}

/// `walinspect dump` without `--json`: the summary, then every frame and every -shm field.
pub fn render_dump(r: &DumpReport, st: Style) -> String {
    let mut o = render_info(r, st);
    if let Some(d) = &r.database
        && let Some(p) = &d.page1
    {
        let _ = writeln!(o, "{}", st.bold("Page 1 b-tree header"));
        let _ = writeln!(
            o,
            "  type {} (flag {}), {} cells, content at {}, first freeblock {}, {} fragmented bytes",
            p.page_type.unwrap_or("unknown"),
            p.flag,
            p.cell_count,
            p.cell_content_start,
            p.first_freeblock,
            p.fragmented_bytes
        );
    }
    if let Some(w) = &r.wal {
        if !w.commits.is_empty() {
            let _ = writeln!(o, "{}", st.bold("Commits"));
            for c in &w.commits {
                let _ = writeln!(
                    o,
                    "  commit {:>6}  frames {:>8}..{:<8}  db size {} pages",
                    c.commit, c.first_frame, c.frame, c.db_pages
                );
            }
        }
        if !w.frames.is_empty() {
            let _ = writeln!(o, "{}", st.bold("Frames"));
            // A commit frame: its commit's number (this generation's, 1-based) and the database
            // size in pages it commits.
            let number: std::collections::HashMap<u32, u32> = w.commits.iter().map(|c| (c.frame, c.commit)).collect();
            let _ = writeln!(
                o,
                "  {:>8} {:>12} {:>8} {:>7} {:>8} {:>8} {:>8} {:>8} {:>8} {:<5} {:<5} state",
                "frame", "offset", "page", "commit", "db pages", "salt1", "salt2", "cksum1", "cksum2", "salt", "link"
            );
            for f in &w.frames {
                let _ = writeln!(
                    o,
                    "  {:>8} {:>12} {:>8} {:>7} {:>8} {:08x} {:08x} {:08x} {:08x} {:<5} {:<5} {}{}",
                    f.frame,
                    f.offset,
                    f.page,
                    number.get(&f.frame).map_or("-".into(), |n| format!("#{n}")),
                    if f.commit_db_pages > 0 { f.commit_db_pages.to_string() } else { "-".into() },
                    f.salt1,
                    f.salt2,
                    f.checksum1,
                    f.checksum2,
                    if f.salt_match { "ok" } else { "no" },
                    if f.checksum_valid { "ok" } else { "BAD" },
                    st.state_word(f.state),
                    f.generations_ago.map_or(String::new(), |g| format!(
                        " ({} ago)",
                        crate::present::fmt::plural(u64::from(g), "reset", "resets")
                    ))
                );
            }
        }
    }
    if let Some(s) = &r.shm {
        let _ = writeln!(o, "{}", st.bold("-shm detail"));
        let _ = writeln!(o, "  byte order {}, {} bytes", s.byte_order, s.file_size);
        for (i, h) in s.headers.iter().enumerate() {
            shm_header_line(&mut o, i, h);
        }
        if let Some(l) = s.lock_bytes {
            let _ = writeln!(o, "  lock bytes {:02x?}, notUsed0 {}", l, s.not_used0.unwrap_or(0));
        }
        for g in &s.segments {
            let _ = writeln!(
                o,
                "  segment {:>3} frames {:>8}..{:<8} entries {:>5} hash {:>5} beyond mxFrame {:>5} (uncommitted {}, other {}) mismatches {} hash errors {}",
                g.segment,
                g.first_frame,
                g.last_frame,
                g.entries,
                g.hash_entries,
                g.entries_beyond_mx_frame,
                g.beyond_uncommitted,
                g.beyond_other,
                g.mismatches,
                g.hash_errors
            );
        }
        for m in s.index.mismatches.iter().take(50) {
            let _ = writeln!(
                o,
                "  mismatch frame {} (segment {}): {} shm page {} wal page {}",
                m.frame,
                m.segment,
                m.kind,
                m.shm_page,
                m.wal_page.map_or("-".into(), |p| p.to_string())
            );
        }
    }
    o
}
