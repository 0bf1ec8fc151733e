//! The live system around a database: who holds which lock ([`locks`]), what the environment
//! means for WAL mode ([`env`](mod@env)), and following files that change under us ([`incremental`]).
//!
//! System calls and /proc reads live in [`crate::source`] (`source::locks`, `source::env`);
//! this layer interprets what they saw. Wire types are in [`crate::report`].

pub mod env;
pub mod grade;
pub mod incremental;
pub mod locks;
pub mod verdict;

use crate::analysis::Analysis;
use crate::analysis::findings::{self, Finding};

pub use locks::LiveFacts;

/// [`findings::check`] plus the findings only a live probe can raise (`env.*`, `lock.*`, see
/// [`locks::live_findings`]), graded against the lock state ([`grade::grade`]: what a writer
/// holding the write lock is doing is "in progress", `info`), most severe first; within a
/// severity the file findings come first, then the live ones.
pub fn check_with_live(a: &Analysis, live: &LiveFacts) -> Vec<Finding> {
    let mut out = findings::check(a);
    out.extend(locks::live_findings(live));
    correct_for_deleted_wal(&mut out, live);
    grade::grade(out, a, live.locks.as_ref())
}

/// With a deleted -wal still open somewhere, `shm.wal_missing`'s "those transactions are gone"
/// is not true yet: say where they are.
pub fn correct_for_deleted_wal(out: &mut [Finding], live: &LiveFacts) {
    let Some(d) = live.deleted_wal.first() else { return };
    for f in out.iter_mut().filter(|f| f.code == findings::Code::ShmWalMissing) {
        f.message = format!(
            "the wal-index says {} frames are committed in the WAL (mxFrame), and the -wal was deleted — but pid {} still has it open ({}): they are not lost yet; see wal.deleted_but_open to save them",
            f.count.unwrap_or(0),
            d.pid,
            crate::format::escape::escape_path(&d.proc_path)
        );
    }
}
