//! One plain-language verdict from what is already computed: the findings (graded by
//! [`super::grade`]), the lock state (writer, readers and the snapshots they pin, starvation)
//! and the WAL's size and checkpoint progress. Shown first by the TUI's Overview and by `info`;
//! `dump`/`check` JSON carry it as `verdict`.
//!
//! The rules, first match wins:
//! 1. an `error` finding: what SQLite will lose or refuse, and "work on copies";
//! 2. a reader starving checkpoints: the WAL's size (and growth), who pins which frame;
//! 3. a WAL never checkpointed (nBackfill 0) of at least [`BIG_WAL`]: with no process attached
//!    the app died or disabled auto-checkpoint, otherwise auto-checkpoint is off or failing;
//! 4. a `warning` finding: its code and message;
//! 5. healthy: who is attached (writer at work, readers) and whether checkpoints keep up.
//!
//! Process names come from /proc and go through [`crate::format::escape::escape`].

use super::locks::{LiveLocks, Mode, Process};
use crate::analysis::Analysis;
use crate::analysis::findings::{Finding, Severity};
use crate::analysis::wording::{human_bytes, plural, short};
use crate::format::escape::escape;

/// A WAL at least this large (SQLite's default auto-checkpoint threshold, 1000 pages of 4 KiB)
/// that was never checkpointed is worth a verdict of its own.
pub const BIG_WAL: u64 = 4_096_000;

/// How the verdict reads at a glance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tone {
    /// Nothing to do.
    Healthy,
    /// Something to look at (a warning, a starved checkpoint, a WAL that keeps growing).
    Attention,
    /// Data SQLite loses or refuses: act now, on copies.
    Problem,
}

impl Tone {
    pub fn name(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Attention => "attention",
            Self::Problem => "problem",
        }
    }
    pub fn severity(self) -> Severity {
        match self {
            Self::Healthy => Severity::Info,
            Self::Attention => Severity::Warning,
            Self::Problem => Severity::Error,
        }
    }
}

/// The verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub tone: Tone,
    /// One line, plain language, terminal-safe.
    pub text: String,
}

fn who(p: &Process) -> String {
    match (p.pid, &p.command) {
        (Some(pid), Some(c)) => format!("pid {pid} ({})", escape(&short(c, 40))),
        (Some(pid), None) => format!("pid {pid}"),
        (None, _) => "an unidentified process".into(),
    }
}

fn first_sentence(s: &str, max: usize) -> String {
    let cut = s.find(": ").map_or(s, |i| s.get(..i).unwrap_or(s));
    escape(&short(cut, max)).into_owned()
}

/// The verdict on `a` with its (graded) findings and, when probed, the live locks.
/// `growing`: whether the WAL grew over the last samples (the TUI knows; `info` does not).
pub fn verdict(a: &Analysis, findings: &[Finding], locks: Option<&LiveLocks>, growing: Option<bool>) -> Verdict {
    let wal_len = a.wal.as_ref().map_or(0, |w| w.file_len);
    let backfill = a.shm.as_ref().and_then(|s| s.ckpt).map(|c| c.backfill);
    let mx = a.shm.as_ref().and_then(|s| s.reference()).map(|h| h.mx_frame);
    let valid = a.wal.as_ref().map_or(0, |w| w.valid_frames);
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count() as u64;

    let errors = count(Severity::Error);
    if let Some(f) = findings.iter().find(|f| f.severity == Severity::Error) {
        let more = if errors > 1 { format!(" (and {} more)", errors - 1) } else { String::new() };
        return Verdict {
            tone: Tone::Problem,
            text: format!("problem: {} [{}]{more}: work on copies", first_sentence(&f.message, 90), f.code),
        };
    }
    if let Some(s) = locks.and_then(|l| l.starvation.first()) {
        let readers: Vec<String> = s.readers.iter().map(who).collect();
        let grow = match growing {
            Some(true) => " and growing",
            _ => "",
        };
        return Verdict {
            tone: Tone::Attention,
            text: format!(
                "WAL {}{grow}: {} {} a snapshot at frame {}, so checkpoints cannot pass it ({} held back)",
                human_bytes(s.wal_size.unwrap_or(wal_len)),
                readers.join(", "),
                if readers.len() == 1 { "holds" } else { "hold" },
                s.read_mark,
                plural(u64::from(s.frames_held_back), "frame", "frames")
            ),
        };
    }
    let attached = locks.map(|l| l.connections.clone()).unwrap_or_default();
    if wal_len >= BIG_WAL && valid > 0 && backfill.is_none_or(|b| b == 0) {
        let text = match locks {
            Some(l) if l.mode == Mode::Unused => format!(
                "{} WAL, never checkpointed, no process attached: the app died or disabled auto-checkpoint (run PRAGMA wal_checkpoint on a copy to see the result)",
                human_bytes(wal_len)
            ),
            Some(_) => format!(
                "{} WAL, never checkpointed while {} {} it open: auto-checkpoint is disabled (wal_autocheckpoint=0) or cannot run",
                human_bytes(wal_len),
                attached.iter().map(who).collect::<Vec<_>>().join(", "),
                if attached.len() == 1 { "has" } else { "have" }
            ),
            None => format!(
                "{} WAL, never checkpointed: auto-checkpoint is disabled, cannot run, or the app died (not probed: --no-live)",
                human_bytes(wal_len)
            ),
        };
        return Verdict { tone: Tone::Attention, text };
    }
    let warnings = count(Severity::Warning);
    if let Some(f) = findings.iter().find(|f| f.severity == Severity::Warning) {
        let more = if warnings > 1 { format!(" (and {} more)", warnings - 1) } else { String::new() };
        return Verdict {
            tone: Tone::Attention,
            text: format!("attention: {} [{}]{more}", first_sentence(&f.message, 100), f.code),
        };
    }
    Verdict { tone: Tone::Healthy, text: healthy(a, locks, growing, backfill, mx) }
}

fn healthy(
    a: &Analysis,
    locks: Option<&LiveLocks>,
    growing: Option<bool>,
    backfill: Option<u32>,
    mx: Option<u32>,
) -> String {
    let mut parts: Vec<String> = Vec::new();
    match locks {
        None => parts.push("the files are consistent (no live probe)".into()),
        Some(l) if l.mode == Mode::Unused => parts.push("no process has it open".into()),
        Some(l) => {
            if let Some(w) = l.writer.first() {
                parts.push(format!("{} is writing", who(w)));
            }
            let readers = l.readers.iter().map(|r| r.readers.len() as u64).sum::<u64>();
            let conns = l.connections.len() as u64;
            parts.push(format!(
                "{}, {}",
                plural(conns, "connection", "connections"),
                plural(readers, "reader", "readers")
            ));
        }
    }
    if a.wal.is_some() {
        match (backfill, mx) {
            (Some(b), Some(m)) if b >= m => parts.push("everything checkpointed".into()),
            (Some(b), Some(m)) if growing == Some(true) => {
                parts.push(format!("WAL growing, {} of {m} frames checkpointed", b))
            }
            (Some(_), Some(_)) => parts.push("checkpoints keep up".into()),
            _ => {}
        }
    }
    format!("healthy: {}", parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::findings::Code;

    fn empty() -> Analysis {
        Analysis { db: None, db_problem: None, wal: None, shm: None }
    }

    #[test]
    fn an_error_outranks_everything_and_says_work_on_copies() {
        let f = Finding {
            code: Code::ShmAhead,
            severity: Severity::Error,
            message: "the wal-index's mxFrame is 9: details".into(),
            file: None,
            offset: None,
            frame: None,
            page: None,
            count: None,
        };
        let v = verdict(&empty(), &[f], None, None);
        assert_eq!(v.tone, Tone::Problem);
        assert!(v.text.contains("shm.ahead") && v.text.contains("copies"), "{}", v.text);
        assert!(!v.text.contains("details"), "only the first clause: {}", v.text);
    }

    #[test]
    fn nothing_wrong_is_healthy() {
        let v = verdict(&empty(), &[], None, None);
        assert_eq!(v.tone, Tone::Healthy);
        assert!(v.text.starts_with("healthy"), "{}", v.text);
    }
}
