//! Repair: new files built from the evidence (never the evidence itself).
//!
//! - [`shm`]: the wal-index (`-shm`) exactly as SQLite's recovery (`walIndexRecover` in
//!   `src/wal.c`) would rebuild it from the WAL.
//! - [`extract`]: a standalone database file as of the last commit, or of any earlier commit of
//!   the current WAL generation, with the provenance of every page and an honest verdict on
//!   pages whose state at that commit the files can no longer tell.
//! - [`output`]: the only code that creates files: a temporary file beside the target, renamed
//!   into place; never over an input, never over an existing file without `force`.
//!
//! This layer reads the evidence through [`crate::source`] (positioned reads into owned
//! buffers) and uses [`crate::analysis`] for what SQLite's recovery sees; it knows nothing of
//! the JSON contract (that is `report::repair`) or of the command line.

pub mod extract;
pub mod heal;
pub mod output;
pub mod shm;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::format::escape::escape_path;

/// Why a repair could not produce its output. Every variant renders as one clear line.
#[derive(Debug)]
pub enum RepairError {
    /// The evidence cannot give what was asked (commit out of range, WAL refused by SQLite,
    /// no source for the database at all, ...).
    Input(String),
    /// The output cannot be written where asked (exists, is one of the inputs, ...).
    Output(String),
    /// Reading the evidence or writing the output failed.
    Io { path: PathBuf, doing: &'static str, source: io::Error },
    /// An input changed while it was being read (a live database): the result would mix states.
    Changed(PathBuf),
    /// Pages whose content at the chosen commit cannot be known from these files.
    Inexact { commit: u32, pages: Vec<u32>, count: u64 },
}

impl RepairError {
    pub fn io(path: &Path, doing: &'static str, source: io::Error) -> Self {
        Self::Io { path: path.to_path_buf(), doing, source }
    }
}

impl fmt::Display for RepairError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Input(m) | Self::Output(m) => f.write_str(&crate::format::escape::escape(m)),
            Self::Io { path, doing, source } => write!(f, "{}: cannot {doing}: {source}", escape_path(path)),
            Self::Changed(p) => write!(f, "{}: changed while it was being read; try again on a copy", escape_path(p)),
            Self::Inexact { commit, pages, count } => {
                write!(
                    f,
                    "commit {commit} cannot be rebuilt exactly: {count} page(s) ({}) were overwritten by a checkpoint \
                     or are in no file; use --allow-inexact to extract anyway",
                    page_list(pages, *count)
                )
            }
        }
    }
}

impl std::error::Error for RepairError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// "3, 7-9, 12, ..." for up to the pages given, with "and N more" when `count` exceeds them.
pub fn page_list(pages: &[u32], count: u64) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while let Some(&first) = pages.get(i) {
        let mut last = first;
        while pages.get(i + 1).is_some_and(|&n| Some(n) == last.checked_add(1)) {
            i += 1;
            last = pages.get(i).copied().unwrap_or(last);
        }
        parts.push(if first == last { format!("{first}") } else { format!("{first}-{last}") });
        i += 1;
    }
    let listed = pages.len() as u64;
    let mut s = if parts.is_empty() { String::new() } else { format!("page {}", parts.join(", ")) };
    if count > listed {
        if !s.is_empty() {
            s.push_str(", ");
        }
        s.push_str(&format!("and {} more", count - listed));
    }
    s
}

/// A run of consecutive frames ignored for the same reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameRun {
    pub first: u32,
    pub last: u32,
    pub reason: IgnoredReason,
}

/// Why a frame did not contribute to an output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IgnoredReason {
    /// Valid and at or before the chosen commit, but a newer frame of the same page is too.
    Superseded,
    /// The newest version of a page that the chosen commit's database no longer has (it
    /// shrank, e.g. after VACUUM).
    BeyondDbSize,
    /// Committed after the chosen commit.
    AfterCommit,
    /// Valid but after the last commit (a transaction in progress, or a writer that died).
    Uncommitted,
    /// After the break of the checksum chain (or the whole WAL is ignored by SQLite).
    Invalid,
    /// Left behind by an earlier WAL generation.
    Stale,
}

impl IgnoredReason {
    pub fn name(self) -> &'static str {
        match self {
            Self::Superseded => "superseded",
            Self::BeyondDbSize => "beyond_db_size",
            Self::AfterCommit => "after_commit",
            Self::Uncommitted => "uncommitted",
            Self::Invalid => "invalid",
            Self::Stale => "stale",
        }
    }
}

/// Append frame `frame` with `reason` to run-length encoded `runs`.
pub(crate) fn push_run(runs: &mut Vec<FrameRun>, frame: u32, reason: IgnoredReason) {
    if let Some(last) = runs.last_mut()
        && last.reason == reason
        && last.last.checked_add(1) == Some(frame)
    {
        last.last = frame;
        return;
    }
    runs.push(FrameRun { first: frame, last: frame, reason });
}

/// Per-reason totals of run-length encoded frame runs.
pub fn run_counts(runs: &[FrameRun]) -> Vec<(IgnoredReason, u64)> {
    let mut m: std::collections::BTreeMap<IgnoredReason, u64> = std::collections::BTreeMap::new();
    for r in runs {
        *m.entry(r.reason).or_default() += u64::from(r.last - r.first) + 1;
    }
    m.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_lists_compress_ranges() {
        assert_eq!(page_list(&[3, 7, 8, 9, 12], 5), "page 3, 7-9, 12");
        assert_eq!(page_list(&[1, 2], 10), "page 1-2, and 8 more");
        assert_eq!(page_list(&[], 4), "and 4 more");
        assert_eq!(page_list(&[u32::MAX], 1), format!("page {}", u32::MAX));
    }

    #[test]
    fn runs_merge_consecutive_frames_with_one_reason() {
        let mut r = Vec::new();
        for (f, why) in [
            (1, IgnoredReason::Superseded),
            (2, IgnoredReason::Superseded),
            (4, IgnoredReason::Superseded),
            (5, IgnoredReason::Invalid),
        ] {
            push_run(&mut r, f, why);
        }
        assert_eq!(r.len(), 3);
        assert_eq!((r[0].first, r[0].last), (1, 2));
        assert_eq!(run_counts(&r), vec![(IgnoredReason::Superseded, 3), (IgnoredReason::Invalid, 1)]);
    }
}
