//! Consistent reads of a database that may be in use, the way SQLite's readers get one.
//!
//! A reader of a live WAL database trusts the `-shm` header only when its two copies are
//! equal, reads the WAL up to the `mxFrame` that header gives, and starts again when the header
//! changed underneath (`walTryBeginRead` in `src/wal.c`). Reading the three files at different
//! moments without that discipline mixes states: a `-shm` read after the WAL it indexes is
//! "ahead", a WAL reset by a checkpoint in mid-read breaks its checksum chain, a hash table
//! caught in mid-update looks corrupt. None of that is wrong with the database.
//!
//! [`analyze`] reads marks first (the `-shm` header and `nBackfill`, the WAL header and size,
//! the database size), then the `-shm` into memory, then analyses the WAL up to the size it had
//! at the mark, and reads the marks again. The attempt counts when nothing but the WAL's length
//! moved (a WAL that only grew keeps every analysed frame: SQLite never rewrites a frame of the
//! same generation). A result with findings above `info` is accepted only when the files are
//! also still a few milliseconds later (a crashed or damaged database keeps its findings; a
//! writer's transient state does not). Up to [`MAX_ATTEMPTS`] attempts, with short pauses;
//! when the files kept changing, the findings not seen in *every* attempt are shown as `info`
//! and `live.changing` says so ([`Settled::apply`]). A quiet database is read once.
//!
//! `-shm` header copies that differ are retried only while a writer holds the WAL WRITE lock
//! (the one moment SQLite writes them). Without a writer, and with nothing moving across the
//! re-reads, they are a real state of the files (a writer died between its two copies, the
//! `-shm` is damaged) and reported as such.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::analysis::findings::{self, Code, Finding, Severity};
use crate::analysis::wal::WalAnalysis;
use crate::analysis::{self, Analysis, Inputs, MAX_SHM_READ, ReadAt};
use crate::source::{Evidence, EvidenceFile, read_full_at};

/// Attempts at a consistent read before the result is reported as taken from changing files.
pub const MAX_ATTEMPTS: u32 = 8;

/// How long a state with findings must stay unchanged to be believed: looked at again after
/// each pause (35 ms in all: longer than a writer preempted between writing its frames and
/// publishing them in the -shm, on a loaded machine).
const SETTLE: [Duration; 3] = [Duration::from_millis(5), Duration::from_millis(10), Duration::from_millis(20)];

/// Findings that frames beyond the index's mxFrame raise: while a writer holds the WAL WRITE
/// lock they are its transaction in progress (SQLite's readers ignore them too).
const IN_FLIGHT: [Code; 3] = [Code::ShmLagging, Code::WalUncommittedFrames, Code::WalTornFrame];

/// Findings that are in flight when they are located past the index's mxFrame (a frame being
/// written over an earlier generation's, or half written).
const IN_FLIGHT_PAST_MX: [Code; 2] = [Code::WalChecksumMismatch, Code::WalSaltMismatch];

/// The codes above `info` that a writer's transaction in progress explains.
fn in_flight(a: &Analysis, f: &[Finding]) -> BTreeSet<Code> {
    let mx = a.shm.as_ref().and_then(|s| s.trusted_header()).map(|h| h.mx_frame);
    f.iter()
        .filter(|x| x.severity > Severity::Info)
        .filter(|x| {
            IN_FLIGHT.contains(&x.code)
                || (IN_FLIGHT_PAST_MX.contains(&x.code) && x.frame.zip(mx).is_some_and(|(fr, m)| fr > m))
        })
        .map(|x| x.code)
        .collect()
}

fn writer_active(ev: &Evidence) -> bool {
    ev.shm.as_ref().is_some_and(|s| crate::source::locks::writer_active(&s.file))
}

/// What must not move while the files are read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Marks {
    /// The -shm header's two copies (2 × 48 bytes) and `nBackfill` (4 bytes); what there is of
    /// them when the file is shorter; empty when absent.
    shm: Vec<u8>,
    /// The -shm header's two copies are equal (SQLite's readers retry while they differ).
    shm_copies_equal: bool,
    /// The WAL header (32 bytes); empty when absent or shorter.
    wal_head: Vec<u8>,
    wal_len: u64,
    db_len: u64,
}

fn len_now(f: Option<&EvidenceFile>) -> u64 {
    f.and_then(|f| f.file.metadata().ok()).map_or(0, |m| m.len())
}

fn marks(ev: &Evidence) -> Marks {
    let mut m = Marks { shm_copies_equal: true, ..Marks::default() };
    if let Some(s) = &ev.shm {
        let mut head = [0u8; 136];
        let n = read_full_at(&s.file, &mut head, 0).unwrap_or(0);
        if n >= 100 {
            m.shm_copies_equal = head.get(0..48) == head.get(48..96);
        }
        m.shm.extend_from_slice(head.get(..n.min(100)).unwrap_or(&[]));
    }
    if let Some(w) = &ev.wal {
        let mut head = [0u8; 32];
        let n = read_full_at(&w.file, &mut head, 0).unwrap_or(0);
        m.wal_head.extend_from_slice(head.get(..n).unwrap_or(&[]));
    }
    m.wal_len = len_now(ev.wal.as_ref());
    m.db_len = len_now(ev.db.as_ref());
    m
}

/// What changed between two marks, in words; `None` when the read stands (the WAL may grow).
fn moved(before: &Marks, after: &Marks) -> Option<&'static str> {
    if before.shm != after.shm {
        Some("the -shm header changed")
    } else if before.wal_head != after.wal_head {
        Some("the -wal was restarted (new header)")
    } else if after.wal_len < before.wal_len {
        Some("the -wal shrank")
    } else if before.db_len != after.db_len {
        Some("the database file changed size")
    } else {
        None
    }
}

/// How the analysis was read, and what that means for its findings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settled {
    /// Attempts made (1 on quiet files).
    pub attempts: u32,
    /// The files kept changing through every attempt: what changed last.
    pub changing: Option<&'static str>,
    /// With `changing`: the codes above `info` seen in every attempt (kept at their severity).
    pub persistent: BTreeSet<Code>,
    /// Bytes of the -wal analysed (its size at the mark), when there is one.
    pub wal_len: Option<u64>,
    /// Bytes of the database file analysed (its size at the mark), when there is one.
    pub db_len: Option<u64>,
    /// What moved during the attempts that were not kept, in order, each once.
    pub moved: Vec<&'static str>,
}

impl Settled {
    /// Make the sizes `ev` reports the sizes analysed (the -wal and the database file may have
    /// grown or shrunk since they were opened).
    pub fn stamp_sizes(&self, ev: &mut Evidence) {
        if let (Some(w), Some(len)) = (ev.wal.as_mut(), self.wal_len) {
            w.stamp.len = len;
        }
        if let (Some(d), Some(len)) = (ev.db.as_mut(), self.db_len) {
            d.stamp.len = len;
        }
    }

    /// Record the sizes read at the mark `m` as the sizes analysed; a -wal read that stopped
    /// short (it shrank under the read) analysed only what it read (`WalAnalysis::file_len`).
    fn sizes(&mut self, ev: &Evidence, m: &Marks, a: &Analysis) {
        let read = a.wal.as_ref().map_or(m.wal_len, |w| w.file_len.min(m.wal_len));
        self.wal_len = ev.wal.as_ref().map(|_| read);
        self.db_len = ev.db.as_ref().map(|_| m.db_len);
    }

    /// The findings of a read from changing files: each finding above `info` that was not seen
    /// in every attempt is shown as `info` (it comes and goes with the writer), and
    /// `live.changing` says so. Unchanged when the read was consistent.
    ///
    /// A consistent read made after the files moved says so as `live.reread` (`info`): what
    /// moved, and the size of the `-wal` analysed.
    pub fn apply(&self, mut f: Vec<Finding>) -> Vec<Finding> {
        let Some(what) = self.changing else {
            if !self.moved.is_empty() {
                f.push(findings::live_reread(self.attempts, &self.moved, self.wal_len));
            }
            return f;
        };
        let mut demoted = 0u64;
        for x in f.iter_mut() {
            if x.severity > Severity::Info && !self.persistent.contains(&x.code) {
                x.severity = Severity::Info;
                x.message = format!("{} (seen while the files changed: not in every read)", x.message);
                demoted += 1;
            }
        }
        f.push(findings::live_changing(self.attempts, what, demoted));
        f.sort_by_key(|x| std::cmp::Reverse(x.severity));
        f
    }
}

fn analyze_once(ev: &Evidence, m: &Marks) -> Analysis {
    // The -shm first, into memory: everything it indexes up to its mxFrame is already in the
    // WAL (SQLite writes frames before it publishes them), so the WAL read next covers it.
    let shm: Option<Vec<u8>> = ev.shm.as_ref().map(|s| {
        let len = len_now(Some(s)).min(MAX_SHM_READ);
        s.read_at(0, usize::try_from(len).unwrap_or(0)).unwrap_or_default()
    });
    let wal_len = m.wal_len;
    let mut a = analysis::analyze(&Inputs {
        db: ev.db.as_ref().map(|f| (&f.file as &dyn ReadAt, m.db_len)),
        wal: ev.wal.as_ref().map(|f| (&f.file as &dyn ReadAt, wal_len)),
        shm: shm.as_ref().map(|b| (b as &dyn ReadAt, b.len() as u64)),
    });
    super::attach_journal(ev, &mut a);
    a
}

/// Add `what` to `moved` unless it is there already.
fn note(moved: &mut Vec<&'static str>, what: &'static str) {
    if !moved.contains(&what) {
        moved.push(what);
    }
}

fn above_info(f: &[Finding]) -> BTreeSet<Code> {
    f.iter().filter(|x| x.severity > Severity::Info).map(|x| x.code).collect()
}

/// Analyse the evidence from one consistent moment (see the module documentation).
pub fn analyze(ev: &Evidence) -> (Analysis, Settled) {
    let mut settled = Settled::default();
    let mut persistent: Option<BTreeSet<Code>> = None;
    let mut last: Option<(Analysis, Marks)> = None;
    let mut why = "the files changed";
    let mut in_flight_seen: BTreeSet<Code> = BTreeSet::new();
    for attempt in 1..=MAX_ATTEMPTS {
        settled.attempts = attempt;
        if attempt > 1 {
            std::thread::sleep(Duration::from_millis(u64::from(attempt - 1)));
        }
        let before = marks(ev);
        // Copies that differ while a writer holds the WRITE lock are its header update in
        // progress: read again. Without a writer they are a state of the files like any other
        // (a writer that died between its two copies, a damaged -shm): analysed, and believed
        // below only if nothing moves across the re-reads.
        if !before.shm_copies_equal && writer_active(ev) {
            why = "the -shm header's two copies differed (a writer was updating it)";
            note(&mut settled.moved, why);
            continue;
        }
        let a = analyze_once(ev, &before);
        let after = marks(ev);
        let f = findings::check(&a);
        let serious = above_info(&f);
        let seen = |p: Option<BTreeSet<Code>>, s: &BTreeSet<Code>| match p {
            None => s.clone(),
            Some(p) => p.intersection(s).copied().collect(),
        };
        if let Some(w) = moved(&before, &after) {
            why = w;
            note(&mut settled.moved, w);
            persistent = Some(seen(persistent, &serious));
            last = Some((a, before));
            continue;
        }
        if serious.is_empty() {
            settled.sizes(ev, &before, &a);
            return (a, settled);
        }
        // Findings: believe them only if the files are still a moment later.
        let mut still = None;
        for pause in SETTLE {
            std::thread::sleep(pause);
            let later = marks(ev);
            still = match moved(&before, &later) {
                Some(w) => Some(w),
                None if later.wal_len != before.wal_len => Some("the -wal grew"),
                None => None,
            };
            if still.is_some() {
                break;
            }
        }
        // Still files, but a writer holds the WRITE lock and the findings are about frames past
        // the index: its transaction is in flight; look again.
        if still.is_none() && in_flight(&a, &f) == serious && writer_active(ev) {
            in_flight_seen.extend(serious.iter().copied());
            still = Some("a writer was in the middle of a transaction");
        }
        let Some(w) = still else {
            settled.sizes(ev, &before, &a);
            return (a, settled);
        };
        why = w;
        note(&mut settled.moved, w);
        persistent = Some(seen(persistent, &serious));
        last = Some((a, before));
    }
    settled.changing = Some(why);
    settled.persistent = persistent.unwrap_or_default();
    settled.persistent.retain(|c| !in_flight_seen.contains(c));
    match last {
        Some((a, m)) => {
            settled.sizes(ev, &m, &a);
            (a, settled)
        }
        // A writer was updating the -shm header at every attempt: read once anyway, and say so.
        None => {
            let m = marks(ev);
            let a = analyze_once(ev, &m);
            settled.sizes(ev, &m, &a);
            (a, settled)
        }
    }
}

/// Pauses between the re-probes that confirm a starved checkpoint (150 ms in all).
const STARVED_RECHECK: [Duration; 4] =
    [Duration::from_millis(10), Duration::from_millis(20), Duration::from_millis(40), Duration::from_millis(80)];

/// Confirm a starved checkpoint seen by a one-shot command (`check`, `info`, `dump`, `locks`).
///
/// One probe can see a moment's state as starvation: a writer holds a read lock on the snapshot
/// it began with while it commits past it, and the read marks were read with the files a moment
/// before the locks were probed. Re-probe the locks with a fresh read of the `-shm` a few times
/// (150 ms in all) and keep only the starved slots seen in every probe: same slot, same
/// snapshot (read mark), same readers. A reader that really pins a snapshot stays; a moment's
/// state goes. Nothing is re-probed when no starvation was seen.
pub fn confirm_starvation(ev: &Evidence, a: &Analysis, mut live: super::Live) -> super::Live {
    let (Some(shm), false) = (ev.shm.as_ref(), live.locks.starvation.is_empty()) else { return live };
    let base =
        Analysis { db: a.db.clone(), db_problem: None, wal: a.wal.as_ref().map(WalAnalysis::summary), shm: None };
    let pids = |p: &[crate::live::locks::Process]| p.iter().map(|x| x.pid).collect::<BTreeSet<_>>();
    for pause in STARVED_RECHECK {
        if live.locks.starvation.is_empty() {
            break;
        }
        std::thread::sleep(pause);
        let len = len_now(Some(shm)).min(MAX_SHM_READ);
        let bytes = shm.read_at(0, usize::try_from(len).unwrap_or(0)).unwrap_or_default();
        let fresh = Analysis { shm: Some(analysis::shm::analyze_shm(&bytes, base.wal.as_ref())), ..base.clone() };
        let probe = crate::source::locks::probe(ev.db.as_ref().map(|f| &f.file), Some(&shm.file), &ev.paths);
        let again = crate::live::locks::derive(&probe, &fresh);
        live.locks.starvation.retain(|s| {
            again
                .starvation
                .iter()
                .any(|t| t.slot == s.slot && t.read_mark == s.read_mark && pids(&t.readers) == pids(&s.readers))
        });
    }
    live
}
