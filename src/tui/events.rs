//! The event log: what happened while the UI watched, timestamped — commits, WAL resets,
//! checkpoints (and who ran them, when the lock probe saw it), truncations, files deleted,
//! created or replaced, readers arriving and leaving, findings appearing and clearing, possible
//! data loss. Derived from two consecutive snapshots ([`between`]); kept in memory (bounded)
//! and, with `tui --log FILE`, appended to FILE as JSON Lines (one [`LoggedEvent`] a line,
//! schema in docs/json-schema.md, "The `tui --log` event log").

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::changes::Changes;
use super::watcher::Snapshot;
use crate::analysis::findings::Severity;
use crate::format::escape::escape;
use crate::present::fmt::plural;
use crate::source::FileKind;

/// The `schema` of every event line.
pub const EVENT_SCHEMA: &str = "walinspect.event";

/// Events kept in memory (the oldest are dropped; the log file keeps everything).
pub const MAX_EVENTS: usize = 5000;

/// One event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LoggedEvent {
    /// Always [`EVENT_SCHEMA`].
    pub schema: &'static str,
    /// Milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// What kind: `commit`, `wal_reset`, `checkpoint`, `truncated`, `file_deleted`,
    /// `file_created`, `file_replaced`, `reader_arrived`, `reader_left`, `writer`,
    /// `finding_raised`, `finding_cleared`, `data_loss`, `started`.
    pub kind: &'static str,
    /// The severity of a finding event or a possible data loss ("info" otherwise).
    pub severity: &'static str,
    /// One line, terminal-safe.
    pub text: String,
}

fn ev(at_ms: u64, kind: &'static str, severity: Severity, text: String) -> LoggedEvent {
    LoggedEvent { schema: EVENT_SCHEMA, at_ms, kind, severity: severity.name(), text }
}

fn readers(s: &Snapshot) -> BTreeMap<(u8, Option<i64>), String> {
    let mut m = BTreeMap::new();
    if let Some(l) = &s.live {
        for r in &l.readers {
            for p in &r.readers {
                let mark = r.read_mark.map_or(String::new(), |m| format!(", snapshot at frame {m}"));
                m.insert((r.slot, p.pid), format!("{} on read slot {}{mark}", escape(&p.label()), r.slot));
            }
        }
    }
    m
}

fn writer(s: &Snapshot) -> Option<String> {
    let l = s.live.as_ref()?;
    let w: Vec<String> = l.writer.iter().map(|p| escape(&p.label()).into_owned()).collect();
    (!w.is_empty()).then(|| w.join(", "))
}

fn checkpointers(s: &Snapshot) -> Option<String> {
    let l = s.live.as_ref()?;
    let w: Vec<String> = l.checkpointer.iter().map(|p| escape(&p.label()).into_owned()).collect();
    (!w.is_empty()).then(|| w.join(", "))
}

/// The events between two consecutive snapshots.
pub fn between(old: &Snapshot, new: &Snapshot, ch: &Changes, at_ms: u64) -> Vec<LoggedEvent> {
    use Severity::*;
    let mut out = Vec::new();
    let nw = new.analysis.wal.as_ref();
    if ch.resets > 0 {
        let salts = nw.and_then(|w| w.header).map_or(String::new(), |h| {
            format!(": new salts {:08x}/{:08x}, checkpoint seq {}", h.salt1, h.salt2, h.checkpoint_seq)
        });
        out.push(ev(at_ms, "wal_reset", Info, format!("WAL reset{salts}")));
    }
    if ch.commits > 0 {
        let last = nw.and_then(|w| w.commits.last());
        let frames = last.map_or(String::new(), |c| format!(", last: commit {} at frame {}", c.number, c.frame));
        out.push(ev(at_ms, "commit", Info, format!("{}{frames}", plural(ch.commits, "commit", "commits"))));
    }
    if let Some((a, b)) = ch.backfill {
        let who = checkpointers(new).or_else(|| checkpointers(old)).map_or(String::new(), |w| format!(" by {w}"));
        out.push(ev(at_ms, "checkpoint", Info, format!("checkpoint{who}: nBackfill {a}→{b}")));
    }
    if ch.truncated {
        let (o, n) = (old.file(FileKind::Wal).stamp, new.file(FileKind::Wal).stamp);
        out.push(ev(
            at_ms,
            "truncated",
            Info,
            format!("-wal truncated: {} → {} bytes", o.map_or(0, |s| s.len), n.map_or(0, |s| s.len)),
        ));
    }
    for kind in [FileKind::Db, FileKind::Wal, FileKind::Shm] {
        let (o, n) = (old.file(kind).stamp, new.file(kind).stamp);
        let name = escape(&new.file(kind).path.display().to_string()).into_owned();
        match (o, n) {
            (Some(_), None) => out.push(ev(at_ms, "file_deleted", Info, format!("{name} deleted"))),
            (None, Some(_)) => out.push(ev(at_ms, "file_created", Info, format!("{name} created"))),
            (Some(a), Some(b)) if (a.dev, a.ino) != (b.dev, b.ino) => {
                out.push(ev(at_ms, "file_replaced", Info, format!("{name} replaced (another inode)")))
            }
            _ => {}
        }
    }
    // Possible data loss: the -wal went away (or was replaced) while it held committed frames
    // not yet copied into the database file.
    let pending = |s: &Snapshot| {
        let valid = s.analysis.wal.as_ref().map_or(0, |w| w.valid_frames);
        let backfill = s.analysis.shm.as_ref().and_then(|x| x.ckpt).map_or(0, |c| c.backfill);
        valid.saturating_sub(backfill)
    };
    let (ow, nwst) = (old.file(FileKind::Wal).stamp, new.file(FileKind::Wal).stamp);
    let wal_gone = ow.is_some() && nwst.is_none_or(|n| ow.is_some_and(|o| (o.dev, o.ino) != (n.dev, n.ino)));
    if wal_gone && pending(old) > 0 {
        out.push(ev(
            at_ms,
            "data_loss",
            Error,
            format!(
                "the -wal was removed or replaced holding {} not yet in the database file: unless a process still has it open (see Findings: wal.deleted_but_open), they are lost",
                plural(u64::from(pending(old)), "committed frame", "committed frames")
            ),
        ));
    }
    match (writer(old), writer(new)) {
        (None, Some(w)) => out.push(ev(at_ms, "writer", Info, format!("{w} started writing"))),
        (Some(w), None) => out.push(ev(at_ms, "writer", Info, format!("{w} stopped writing"))),
        _ => {}
    }
    let (or, nr) = (readers(old), readers(new));
    for (k, v) in &nr {
        if !or.contains_key(k) {
            out.push(ev(at_ms, "reader_arrived", Info, format!("reader arrived: {v}")));
        }
    }
    for (k, v) in &or {
        if !nr.contains_key(k) {
            out.push(ev(at_ms, "reader_left", Info, format!("reader left: {v}")));
        }
    }
    let codes = |s: &Snapshot| -> BTreeSet<(crate::analysis::findings::Code, Severity)> {
        s.findings
            .iter()
            .filter(|f| !(f.message.starts_with("in progress (") || f.message.starts_with("settling (")))
            .map(|f| (f.code, f.severity))
            .collect()
    };
    let (oc, nc) = (codes(old), codes(new));
    // Transient findings graded "in progress" or "settling" come and go with every
    // transaction: not logged until they are raised.
    let logged = |m: &str| !(m.starts_with("in progress (") || m.starts_with("settling ("));
    for f in new.findings.iter().filter(|f| logged(&f.message)) {
        if !oc.contains(&(f.code, f.severity)) {
            out.push(ev(
                at_ms,
                "finding_raised",
                f.severity,
                format!("{} {}: {}", f.severity.name(), f.code, escape(&f.message)),
            ));
        }
    }
    for (code, sev) in oc.difference(&nc) {
        out.push(ev(at_ms, "finding_cleared", Info, format!("cleared: {} {code}", sev.name())));
    }
    out
}

/// The time of day of `at_ms` (UTC), "12:34:56.789".
pub fn clock(at_ms: u64) -> String {
    let ms = at_ms % 1000;
    let s = at_ms / 1000;
    format!("{:02}:{:02}:{:02}.{ms:03}", (s / 3600) % 24, (s / 60) % 60, s % 60)
}

/// Now, in milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
