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
    grade::grade(out, a, live.locks.as_ref())
}
