//! Grading findings on a live database: what a working writer leaves on disk for a moment is
//! "in progress", not damage.
//!
//! A writer in the middle of a transaction leaves frames after the last commit
//! (`wal.uncommitted_frames`); one that rewrites a page it spilled earlier in the same
//! transaction writes the following frames with zeroed salts and checksums until it commits
//! (SQLite's `walEncodeFrame` while `iReCksum` is set), so the checksum chain breaks there
//! (`wal.checksum_mismatch` / `wal.salt_mismatch`); a frame being written is torn for a moment
//! (`wal.torn_frame`); and the wal-index lags the WAL (`shm.lagging`) or its two header copies
//! differ (`shm.header_copies_differ`) until the commit is published. Such a finding is
//! *transient* ([`is_transient`]).
//!
//! The rule (documented in `docs/findings.md`, "Live databases"):
//! - while the lock probe shows a process holding the WAL write lock, a transient finding is
//!   shown as `info`, its message starting "in progress (pid N is writing)" ([`grade`]);
//! - `check`, `info`, `dump` and `locks` probe the locks right after reading the files and
//!   apply that rule once;
//! - the TUI, which polls, raises a transient finding only when it is still there after
//!   [`SETTLE_POLLS`] consecutive polls during which nobody held the write lock ([`Settle`]);
//!   until then it stays `info`, "settling". `lock.checkpoint_starved` is held back the same
//!   way for [`STARVED_POLLS`] polls (a read transaction of a few seconds is normal).
//!
//! Pure: the lock state comes in as [`LiveLocks`].

use std::collections::BTreeMap;

use super::locks::{LiveLocks, Mode};
use crate::analysis::Analysis;
use crate::analysis::findings::{Code, Finding, Severity};
use crate::analysis::wal::FrameState;

/// Consecutive polls without a writer after which the TUI raises a transient finding.
pub const SETTLE_POLLS: u32 = 4;

/// Consecutive polls after which the TUI raises `lock.checkpoint_starved` (10 s at the default
/// 250 ms interval): a read transaction of a few seconds holding checkpoints back is normal.
pub const STARVED_POLLS: u32 = 40;

/// The polls `code` must persist in the TUI before it is raised at its own severity.
pub fn settle_polls(code: Code) -> u32 {
    if code == Code::LockCheckpointStarved { STARVED_POLLS } else { SETTLE_POLLS }
}

/// Findings a poll can see when it read the WAL and the -shm at two different moments of a
/// writer's work (a WAL reset or a commit published between the two reads): the index then looks
/// ahead of, or different from, the WAL it was compared with. The TUI counts them on every poll,
/// writer or not, and raises them once they persist for [`SETTLE_POLLS`] polls; `check` and the
/// other commands read once and report them at once.
fn torn_read(code: Code) -> bool {
    matches!(code, Code::ShmAhead | Code::ShmIndexMismatch)
}

/// What the TUI holds back until it persists: the transient findings, checkpoint starvation
/// and the torn-read findings (counted whether or not a writer is at work).
fn held_back(f: &Finding, a: &Analysis) -> bool {
    f.code == Code::LockCheckpointStarved || torn_read(f.code) || is_transient(f, a)
}

/// Whether `f` is a state a healthy writer passes through (see the module documentation).
pub fn is_transient(f: &Finding, a: &Analysis) -> bool {
    match f.code {
        Code::WalUncommittedFrames | Code::WalTornFrame | Code::ShmLagging | Code::ShmHeaderCopiesDiffer => true,
        Code::WalChecksumMismatch | Code::WalSaltMismatch => zero_salt_break(a),
        // A running checkpoint sets nBackfillAttempted before it copies and nBackfill after.
        Code::ShmCheckpointInterrupted => true,
        _ => false,
    }
}

/// The processes whose work explains a transient finding: the checkpointer for
/// `shm.checkpoint_interrupted`, the writer for the others.
fn at_work(f: &Finding, locks: &LiveLocks) -> (Vec<String>, &'static str) {
    if f.code == Code::ShmCheckpointInterrupted {
        let c = locks.checkpointer.iter().map(|p| crate::format::escape::escape(&p.label()).into_owned()).collect();
        (c, "checkpointing")
    } else {
        (writers(locks), "writing")
    }
}

/// The WAL's chain break looks like a transaction in progress: no commit of this generation
/// lies at or beyond it, and every frame from it on carries this generation's salts, zeroed
/// salts (a writer that rewrote a page it spilled earlier writes zero salts until it commits,
/// and the rewritten frame's own checksum no longer verifies), or is stale (an earlier
/// generation's, after the transaction's end).
pub fn zero_salt_break(a: &Analysis) -> bool {
    let Some(w) = &a.wal else { return false };
    let Some(fi) = w.first_invalid else { return false };
    let mut beyond = w.frames.iter().filter(|f| f.index >= fi.frame).peekable();
    if beyond.peek().is_none() {
        return false;
    }
    beyond.all(|f| {
        let zero = f.header.salts() == [0, 0];
        !(f.salt_match && f.header.is_commit()) && (f.salt_match || zero || f.state == FrameState::Stale)
    })
}

/// Who holds the WAL write lock now, as "pid N (cmd)" labels (empty: nobody).
pub fn writers(locks: &LiveLocks) -> Vec<String> {
    if matches!(locks.mode, Mode::Unused | Mode::Rollback) {
        return Vec::new();
    }
    locks.writer.iter().map(|p| crate::format::escape::escape(&p.label()).into_owned()).collect()
}

/// Grade `findings` against the lock state once: while a process holds the write lock, each
/// transient finding becomes `info`, "in progress (pid N is writing): …". Most severe first.
pub fn grade(mut findings: Vec<Finding>, a: &Analysis, locks: Option<&LiveLocks>) -> Vec<Finding> {
    if let Some(l) = locks {
        for f in findings.iter_mut().filter(|f| f.severity > Severity::Info) {
            let (who, doing) = at_work(f, l);
            if !who.is_empty() && is_transient(f, a) {
                f.severity = Severity::Info;
                f.message = format!("in progress ({} is {doing}): {}", who.join(", "), f.message);
            }
        }
    }
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    findings
}

/// The TUI's memory of transient findings across polls.
#[derive(Clone, Debug, Default)]
pub struct Settle {
    /// Per code: consecutive polls it was seen without a writer.
    seen: BTreeMap<Code, u32>,
}

impl Settle {
    /// Grade one poll's findings: as [`grade`], and a transient finding raised without a
    /// writer stays `info` ("settling") until seen on [`SETTLE_POLLS`] polls in a row.
    /// Returns the findings and whether the grading changed something that was not in the
    /// input (a finding just settled, so the caller should show a new state).
    pub fn step(&mut self, findings: Vec<Finding>, a: &Analysis, locks: Option<&LiveLocks>) -> (Vec<Finding>, bool) {
        let mut out = grade(findings, a, locks);
        let mut next = BTreeMap::new();
        let mut settled_now = false;
        for f in out.iter_mut().filter(|f| f.severity > Severity::Info && held_back(f, a)) {
            let starved = f.code == Code::LockCheckpointStarved;
            let torn = torn_read(f.code);
            let writing = !starved && !torn && locks.is_some_and(|l| !at_work(f, l).0.is_empty());
            let n = if writing { 0 } else { self.seen.get(&f.code).copied().unwrap_or(0).saturating_add(1) };
            next.insert(f.code, n);
            let need = settle_polls(f.code);
            if n < need {
                f.severity = Severity::Info;
                f.message = if starved {
                    format!("settling (seen on {n} of {need} polls): {}", f.message)
                } else if torn {
                    format!(
                        "settling (seen on {n} of {need} polls; the WAL and -shm may have been read mid-update): {}",
                        f.message
                    )
                } else {
                    format!("settling (seen on {n} of {need} polls since the write lock was released): {}", f.message)
                };
            } else if n == need {
                settled_now = true;
            }
        }
        let changed = settled_now || next.iter().any(|(c, n)| self.seen.get(c) != Some(n) && *n < settle_polls(*c));
        self.seen = next;
        out.sort_by_key(|f| std::cmp::Reverse(f.severity));
        (out, changed)
    }

    /// Whether a transient finding is waiting to settle (the caller keeps polling it).
    pub fn pending(&self) -> bool {
        self.seen.iter().any(|(c, &n)| n < settle_polls(*c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(code: Code, severity: Severity) -> Finding {
        Finding { code, severity, message: "m".into(), file: None, offset: None, frame: None, page: None, count: None }
    }

    #[test]
    fn a_torn_read_is_raised_only_when_it_persists() {
        let a = Analysis { db: None, db_problem: None, wal: None, shm: None };
        let mut s = Settle::default();
        for i in 1..SETTLE_POLLS {
            let (f, _) = s.step(vec![finding(Code::ShmAhead, Severity::Error)], &a, None);
            assert_eq!(f[0].severity, Severity::Info, "poll {i}");
            assert!(f[0].message.contains("read mid-update"), "{}", f[0].message);
        }
        let (f, _) = s.step(vec![finding(Code::ShmAhead, Severity::Error)], &a, None);
        assert_eq!(f[0].severity, Severity::Error);
        // Cleared on the next poll: it starts again from one.
        let (f, _) = s.step(vec![finding(Code::ShmIndexMismatch, Severity::Error)], &a, None);
        assert_eq!(f[0].severity, Severity::Info);
    }

    #[test]
    fn a_transient_finding_settles_after_the_documented_number_of_polls() {
        let a = Analysis { db: None, db_problem: None, wal: None, shm: None };
        let mut s = Settle::default();
        for i in 1..SETTLE_POLLS {
            let (f, _) = s.step(vec![finding(Code::ShmLagging, Severity::Warning)], &a, None);
            assert_eq!(f[0].severity, Severity::Info, "poll {i}");
            assert!(f[0].message.starts_with("settling"), "{}", f[0].message);
            assert!(s.pending());
        }
        let (f, changed) = s.step(vec![finding(Code::ShmLagging, Severity::Warning)], &a, None);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(changed);
        // A finding that is not transient is never held back.
        let (f, _) = s.step(vec![finding(Code::DbBadPageSize, Severity::Error)], &a, None);
        assert_eq!(f[0].severity, Severity::Error);
        // Gone for one poll: the count starts again.
        let (f, _) = s.step(vec![finding(Code::ShmLagging, Severity::Warning)], &a, None);
        assert_eq!(f[0].severity, Severity::Info);
    }
}
