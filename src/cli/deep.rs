//! `check --deep`, `info --deep`: the deep check's flags and its run over a session.

use clap::ValueEnum;

use crate::analysis::findings::Finding;
use crate::forensics::deep::{self, Level};
use crate::forensics::snapshot::Forensics;
use crate::report::deep::DeepSection;
use crate::session::{Error, Session};

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeepArg {
    /// SQLite's structural check (Phase 1 of integrity_check): every b-tree page, overflow
    /// chain, the freelist and the pointer map. Reads each page once.
    Structure,
    /// Structure, then integrity_check's table scan: every row's NOT NULL and datatype checks
    /// and every index entry looked up from its row (missing, extra, non-unique entries, entry
    /// counts). One index descent per row and index: several times the cost of the structure
    /// level (see docs/performance.md).
    Full,
}

impl DeepArg {
    fn level(self) -> Level {
        match self {
            Self::Structure => Level::Structure,
            Self::Full => Level::Full,
        }
    }
}

#[derive(clap::Args, Debug, Clone)]
pub struct DeepArgs {
    /// Also verify the content the way SQLite 3.40's PRAGMA integrity_check does (without
    /// SQLite): every b-tree, overflow chain, the freelist and the pointer map (--deep or
    /// --deep=structure, like quick_check's structural part), and with --deep=full also every
    /// index against its table's rows, NOT NULL and datatypes (all of integrity_check but
    /// CHECK constraints); each problem with the damaged page's provenance and its newest
    /// intact earlier image.
    #[arg(long, value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "structure")]
    pub deep: Option<DeepArg>,
    /// With --deep: check the state after this commit (1-based) instead of the latest.
    #[arg(long, requires = "deep")]
    pub commit: Option<u32>,
    /// With --deep: stop after this many problems, like integrity_check(N) (default 100).
    #[arg(long, requires = "deep", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_errors: u32,
}

/// Run the deep check when asked: its JSON section and its findings.
pub fn run(session: &Session, args: &DeepArgs) -> Result<Option<(DeepSection, Vec<Finding>)>, Error> {
    let Some(level) = args.deep else { return Ok(None) };
    let fx = Forensics::from_evidence(&session.evidence, &session.analysis)
        .map_err(|e| Error::Refused(format!("no deep check: {e}")))?;
    let spec = match args.commit {
        Some(n) => fx.at_commit(n).ok_or_else(|| {
            Error::Refused(format!("no commit {n}: the WAL's current generation has {} commits", fx.commits().len()))
        })?,
        None => fx.latest(),
    };
    let commit = args.commit.or_else(|| (spec.upto > 0).then(|| fx.commits().len() as u32));
    let opts = deep::Options { level: level.level(), max_errors: args.max_errors, ..deep::Options::default() };
    let rep = deep::run(&fx, spec, commit, opts);
    let f = deep::findings(&rep, &fx);
    Ok(Some((DeepSection::build(&rep, opts.level), f)))
}
