//! The session: what both front ends do before they show anything — open the evidence with
//! explicit [`Options`], analyse it, apply the bad-input contract, probe the live system — and
//! the one error type they share ([`Error`], mapped to exit status 2 in one place:
//! [`Error::exit_status`]).
//!
//! Nothing here is global: every choice (memory-map the -wal, probe the live system) travels in
//! [`Options`], so two sessions in one process cannot change each other's behaviour.

pub mod consistent;
mod error;
pub mod scan;

use std::fs::File;
use std::path::Path;

pub use error::Error;

use crate::analysis::findings::{self, Finding};
use crate::analysis::{self, Analysis, Inputs, ReadAt};
use crate::live::env::{self, EnvAssessment};
use crate::live::locks::{self, LiveFacts, LiveLocks};
use crate::live::verdict::Verdict;
use crate::source::locks::LockProbe;
use crate::source::{Evidence, EvidenceFile, FileKind, Paths, SourceError};

/// How evidence is opened and analysed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Map the -wal instead of reading it (fastest on offline copies; a truncation meanwhile is
    /// fatal, so never the default). The caller installs the SIGBUS handler first
    /// ([`crate::source::mmap::install_sigbus_handler`]).
    pub mmap: bool,
    /// Probe the live system (locks, filesystem, permissions) for findings.
    pub live: bool,
    /// Files paired explicitly (`--db`, `--wal`, `--shm`) with the named one.
    pub pairing: crate::source::Pairing,
}

/// Opened and analysed evidence.
pub struct Session {
    pub evidence: Evidence,
    pub analysis: Analysis,
    pub options: Options,
    /// How the analysis was read from files that may be changing ([`consistent`]).
    pub settled: consistent::Settled,
}

impl Session {
    /// Open the evidence named by `path` and analyse it, applying the bad-input contract: the
    /// named file must be something walinspect can analyse; damage inside otherwise readable
    /// files is left to the findings.
    pub fn open(path: &Path, options: Options) -> Result<Self, Error> {
        let mut evidence = Evidence::open_paired(path, &options.pairing)?;
        let (analysis, settled) = analyze_settled(&evidence, &options);
        settled.stamp_sizes(&mut evidence);
        check_contract(&evidence, &analysis)?;
        Ok(Self { evidence, analysis, options, settled })
    }

    /// The live state around the evidence (probed now).
    pub fn probe_live(&self) -> Live {
        probe_live(&self.evidence, &self.analysis)
    }

    /// The findings `check`, `info` and `dump` report: the files' findings plus the live ones
    /// when [`Options::live`].
    pub fn findings(&self) -> Vec<Finding> {
        self.findings_and_verdict().0
    }

    /// The files' findings alone (no live probe), as read ([`consistent::Settled::apply`]).
    pub fn file_findings(&self) -> Vec<Finding> {
        self.settled.apply(findings::check(&self.analysis))
    }

    /// [`Session::findings`] and the live state they were graded with (None with `--no-live`).
    pub fn findings_with_live(&self) -> (Vec<Finding>, Option<Live>) {
        if self.options.live {
            let live = self.probe_live();
            (self.settled.apply(crate::live::check_with_live(&self.analysis, &live.facts())), Some(live))
        } else {
            (self.file_findings(), None)
        }
    }

    /// [`Session::findings`] and the verdict on them (`live::verdict`), from one live probe.
    pub fn findings_and_verdict(&self) -> (Vec<Finding>, Verdict) {
        if self.options.live {
            let live = self.probe_live();
            let f = self.settled.apply(crate::live::check_with_live(&self.analysis, &live.facts()));
            let v = crate::live::verdict::verdict(&self.analysis, &f, Some(&live.locks), None);
            (f, v)
        } else {
            let f = self.file_findings();
            let v = crate::live::verdict::verdict(&self.analysis, &f, None, None);
            (f, v)
        }
    }
}

/// The live state around opened evidence.
#[derive(Clone, Debug)]
pub struct Live {
    pub probe: LockProbe,
    pub locks: LiveLocks,
    pub env: EnvAssessment,
    /// The deleted -wal, still open in these processes (looked for when there is no -wal, or a
    /// connection uses another -shm than the current one).
    pub deleted_wal: Vec<crate::source::deleted::DeletedOpen>,
    pub db_path: std::path::PathBuf,
}

impl Live {
    pub fn facts(&self) -> LiveFacts {
        LiveFacts {
            locks: Some(self.locks.clone()),
            env: Some(self.env.clone()),
            deleted_wal: self.deleted_wal.clone(),
            db_path: Some(self.db_path.clone()),
        }
    }
}

/// Probe the locks on the files as they were opened (the same inodes that were analysed), and
/// the environment of the database's directory. The probe never takes a lock.
///
/// A starved checkpoint is confirmed by re-probing before it is reported
/// ([`consistent::confirm_starvation`]): one probe can see a writer's own read lock on the
/// snapshot it is committing past.
pub fn probe_live(ev: &Evidence, a: &Analysis) -> Live {
    let live = probe_files(ev.db.as_ref().map(|f| &f.file), ev.shm.as_ref().map(|f| &f.file), &ev.paths, a);
    consistent::confirm_starvation(ev, a, live)
}

/// [`probe_live`] on files already open (the TUI's watcher keeps its own descriptors open, so
/// nothing is opened or closed per probe).
pub fn probe_files(db: Option<&File>, shm: Option<&File>, paths: &Paths, a: &Analysis) -> Live {
    let probe = crate::source::locks::probe(db, shm, paths);
    let locks = locks::derive(&probe, a);
    let env = env::assess(&crate::source::env::probe_env(paths), a);
    let wal_absent = std::fs::symlink_metadata(&paths.wal).is_err();
    let deleted_wal = if wal_absent || !locks.detached.is_empty() {
        crate::source::deleted::find_deleted_open(&paths.wal, Some(i64::from(std::process::id())))
    } else {
        Vec::new()
    };
    Live { probe, locks, env, deleted_wal, db_path: paths.db.clone() }
}

/// The bad-input contract on opened evidence and its analysis (only the database's parse
/// result, the -wal's length and header, and which files exist are consulted).
pub fn check_contract(ev: &Evidence, a: &Analysis) -> Result<(), Error> {
    let named = ev.paths.named;
    let p = ev.paths.get(named);
    match named {
        FileKind::Db => {
            // A 0-byte database beside a -wal (of any size) is a state SQLite handles (it opens
            // an empty database and deletes the -wal): analysed, with a finding saying so.
            let wal_present = ev.wal.is_some();
            if let Some(problem) = &a.db_problem {
                let empty = ev.db.as_ref().is_some_and(|d| d.is_empty());
                if !(empty && wal_present) {
                    return Err(SourceError::new(
                        p,
                        if empty { "empty file (0 bytes): not a database".to_string() } else { problem.clone() },
                    )
                    .into());
                }
            }
        }
        FileKind::Wal => {
            let w = a.wal.as_ref();
            // A database file beside it, even a 0-byte one, makes a state SQLite handles.
            let db_present = ev.db.is_some();
            if !db_present {
                let len = w.map_or(0, |w| w.file_len);
                if len <= 32 {
                    return Err(SourceError::new(
                        p,
                        format!("{len}-byte -wal holds no frames and there is no database file next to it"),
                    )
                    .into());
                }
                if w.and_then(|w| w.header).is_some_and(|h| !h.magic_ok()) {
                    return Err(SourceError::new(
                        p,
                        "not an SQLite WAL (bad magic) and there is no database file next to it",
                    )
                    .into());
                }
            }
        }
        FileKind::Shm => {
            // A -shm recognised by its content and named alone is analysed alone.
            if ev.db.is_none() && ev.wal.is_none() && !ev.paths.lone {
                return Err(SourceError::new(p, "no database or -wal next to this -shm").into());
            }
            if let (Some(_), Some(problem)) = (&ev.db, &a.db_problem)
                && ev.wal.is_none()
            {
                return Err(SourceError::new(&ev.paths.db, problem.clone()).into());
            }
        }
    }
    Ok(())
}

/// Analyse opened evidence from one consistent moment ([`consistent::analyze`]); with
/// [`Options::mmap`] (offline copies) in one pass over the mapped -wal.
pub fn analyze_settled(ev: &Evidence, options: &Options) -> (Analysis, consistent::Settled) {
    if options.mmap {
        (analyze_evidence(ev, options.clone()), consistent::Settled { attempts: 1, ..Default::default() })
    } else {
        consistent::analyze(ev)
    }
}

/// Analyse opened evidence, mapping the -wal when [`Options::mmap`].
pub fn analyze_evidence(ev: &Evidence, options: Options) -> Analysis {
    fn r(f: &Option<EvidenceFile>) -> Option<(&dyn ReadAt, u64)> {
        f.as_ref().map(|f| (&f.file as &dyn ReadAt, f.len()))
    }
    if let Some(w) = &ev.wal {
        w.advise_sequential();
    }
    let mapped = if options.mmap {
        // SAFETY (of the opt-in): the user asked for a map with --mmap, whose help says a
        // concurrent truncation ends the run; the front end installed the SIGBUS handler first.
        #[allow(unsafe_code)]
        ev.wal
            .as_ref()
            .filter(|w| !w.is_empty())
            .and_then(|w| unsafe { crate::source::mmap::Mapped::map(&w.file) }.ok())
    } else {
        None
    };
    let hint = mapped.as_ref().map(|m| move |o: u64, l: u64| m.will_read(o, l));
    let bytes =
        mapped.as_ref().map(|m| analysis::Bytes(m.bytes(), hint.as_ref().map(|h| h as &(dyn Fn(u64, u64) + Sync))));
    let wal = match &bytes {
        Some(b) => Some((b as &dyn ReadAt, b.0.len() as u64)),
        None => r(&ev.wal),
    };
    let mut a = analysis::analyze(&Inputs { db: r(&ev.db), wal, shm: r(&ev.shm) });
    attach_journal(ev, &mut a);
    a
}

/// Add the rollback journal beside the database to its analysis, when there is one.
pub(crate) fn attach_journal(ev: &Evidence, a: &mut Analysis) {
    if let (Some(d), Some(j)) = (a.db.as_mut(), ev.journal.as_ref()) {
        d.journal = Some(analysis::journal::analyze_journal(&j.file, j.len(), d.header.page_size()));
    }
}
