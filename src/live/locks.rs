//! Live lock state: who holds each of SQLite's locks and what that means — the writer, a
//! running checkpoint or recovery, the readers and the snapshots they pin, checkpoint
//! starvation, exclusive locking modes, holders in other namespaces — and the live findings
//! (`lock.*`, `env.*`).
//!
//! Pure: the probe's results ([`LockProbe`], [`EnvAssessment`]) come in as data, together with
//! the [`Analysis`] of the files (for mxFrame, nBackfill and the read marks).
//!
//! How SQLite uses the locks (`src/wal.c`, `src/os_unix.c`; see `docs/locks.md`):
//! - every connection holds a read lock on the database's SHARED range and on the -shm's DMS
//!   byte for as long as it has the WAL open;
//! - a reader holds READ(k) shared for the length of its read transaction; slot k ≥ 1 pins the
//!   snapshot aReadMark\[k\]; slot 0 means "the database file alone" (nothing in the WAL was
//!   newer when it started);
//! - the writer holds WRITE exclusively, a checkpointer CHECKPOINT (and READ(0) while it copies
//!   frames), recovery RECOVER;
//! - a checkpoint may not copy frames beyond the mark of any slot that is in use, and needs
//!   READ(0) exclusively to copy anything (`walCheckpoint()`), so a long reader holds back every
//!   frame committed after its snapshot, and the WAL cannot restart while anyone reads it.

use crate::analysis::wording::{human_bytes, short};
use std::collections::BTreeSet;

use super::env::EnvAssessment;
use crate::analysis::Analysis;
use crate::analysis::findings::{Code, FileKind, Finding, Severity};
use crate::format::shm::READMARK_NOT_USED;
use crate::source::deleted::DeletedOpen;
use crate::source::locks::{LOCKS, LockClass, LockName, LockProbe, LockSpec, LockType};

/// Whether a lock is held, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LockState {
    Free,
    Shared,
    Exclusive,
}

impl LockState {
    pub fn name(self) -> &'static str {
        match self {
            Self::Free => "free",
            Self::Shared => "shared",
            Self::Exclusive => "exclusive",
        }
    }
}

/// A holder's namespace compared with walinspect's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NsRelation {
    Same,
    Other,
    /// Not readable (the process exited, or reading it needs privileges), or the holder is not
    /// identified.
    Unknown,
}

impl NsRelation {
    pub fn name(self) -> &'static str {
        match self {
            Self::Same => "same",
            Self::Other => "other",
            Self::Unknown => "unknown",
        }
    }
}

/// A process holding a lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Process {
    /// `None` when the holder cannot be identified from here: `/proc/locks` does not show it
    /// (another PID namespace, or another machine on a network filesystem), or it is an
    /// open-file-description lock.
    pub pid: Option<i64>,
    pub command: Option<String>,
    pub pid_namespace: NsRelation,
    pub mount_namespace: NsRelation,
    pub pid_ns: Option<u64>,
    pub mnt_ns: Option<u64>,
    /// Its pid inside its own PID namespace, when that is not ours (the pid a container sees).
    pub inner_pid: Option<i64>,
    /// For an unidentified holder: the pid the kernel reported (0 = not visible from our PID
    /// namespace, -1 = open-file-description lock).
    pub reported_pid: Option<i64>,
}

impl Process {
    fn identified(pid: i64, probe: &LockProbe) -> Self {
        let info = probe.processes.get(&pid);
        let rel = |theirs: Option<u64>, ours: Option<u64>| match (theirs, ours) {
            (Some(t), Some(o)) if t == o => NsRelation::Same,
            (Some(_), Some(_)) => NsRelation::Other,
            _ => NsRelation::Unknown,
        };
        let pid_ns = info.and_then(|i| i.pid_ns);
        let mnt_ns = info.and_then(|i| i.mnt_ns);
        let pid_namespace = rel(pid_ns, probe.own.pid);
        Self {
            pid: Some(pid),
            command: info.and_then(|i| i.command.clone()),
            pid_namespace,
            mount_namespace: rel(mnt_ns, probe.own.mnt),
            pid_ns,
            mnt_ns,
            inner_pid: info.filter(|i| i.ns_pids.len() > 1).and_then(|i| i.ns_pids.last().copied()),
            reported_pid: None,
        }
    }

    fn unidentified(reported: i64) -> Self {
        Self {
            pid: None,
            command: None,
            pid_namespace: NsRelation::Unknown,
            mount_namespace: NsRelation::Unknown,
            pid_ns: None,
            mnt_ns: None,
            inner_pid: None,
            reported_pid: Some(reported),
        }
    }

    /// "pid 123 (python3 app.py)" or "an unidentified process".
    pub fn label(&self) -> String {
        match (self.pid, &self.command) {
            (Some(p), Some(c)) => format!("pid {p} ({})", short(c, 60)),
            (Some(p), None) => format!("pid {p}"),
            (None, _) => "an unidentified process".to_string(),
        }
    }
}

fn labels(ps: &[Process]) -> String {
    ps.iter().map(Process::label).collect::<Vec<_>>().join(", ")
}

/// One process holding one lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holding {
    pub process: Process,
    pub kind: LockType,
}

/// One named lock and its holders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockEntry {
    pub spec: LockSpec,
    pub state: LockState,
    pub holders: Vec<Holding>,
    /// The conflict query failed (the state then comes from `/proc/locks` alone).
    pub error: Option<String>,
}

/// How the database is being used, judged from the locks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// No process holds a lock on the database or the -shm.
    Unused,
    /// WAL mode with a shared -shm: connections coordinate through its locks.
    Wal,
    /// `PRAGMA locking_mode=EXCLUSIVE` in WAL mode: one connection holds PENDING and the SHARED
    /// range exclusively and keeps the wal-index in its own memory (no -shm in use).
    ExclusiveLockingMode,
    /// The `unix-excl` VFS: one connection holds the SHARED range exclusively, no -shm in use.
    UnixExcl,
    /// The database is exclusively locked while the -shm is in use: a connection is closing
    /// (its final checkpoint), changing the journal mode, or switched to exclusive locking
    /// after opening the WAL.
    ExclusiveLock,
    /// Rollback-journal locking (database file locks only).
    Rollback,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Self::Unused => "unused",
            Self::Wal => "wal",
            Self::ExclusiveLockingMode => "exclusive_locking_mode",
            Self::UnixExcl => "unix_excl",
            Self::ExclusiveLock => "exclusive_lock",
            Self::Rollback => "rollback",
        }
    }
    pub fn describe(self) -> &'static str {
        match self {
            Self::Unused => "no process holds a lock on the database",
            Self::Wal => "WAL mode, connections sharing the -shm",
            Self::ExclusiveLockingMode => {
                "WAL in exclusive locking mode (PRAGMA locking_mode=EXCLUSIVE): one connection owns the database, its wal-index lives in its memory"
            }
            Self::UnixExcl => {
                "WAL through the unix-excl VFS: one connection owns the database, its wal-index lives in its memory"
            }
            Self::ExclusiveLock => {
                "the database is exclusively locked while the -shm is in use: a connection is closing (final checkpoint), changing the journal mode, or switched to exclusive locking"
            }
            Self::Rollback => "rollback-journal locking",
        }
    }
}

/// One reader slot (READ0..READ4) in use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReaderSlot {
    pub slot: u8,
    /// Processes reading through it (shared holders).
    pub readers: Vec<Process>,
    /// A process holding it exclusively (changing its mark, or a checkpoint).
    pub exclusive: Vec<Process>,
    /// aReadMark\[slot\] (for slot 0, the snapshot is the database file: nBackfill).
    pub read_mark: Option<u32>,
    /// mxFrame minus the snapshot's last frame.
    pub frames_behind: Option<u32>,
}

/// A reader that holds checkpoints back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Starvation {
    pub slot: u8,
    pub readers: Vec<Process>,
    /// The last frame of the pinned snapshot (aReadMark\[slot\], or nBackfill for slot 0).
    pub read_mark: u32,
    pub mx_frame: u32,
    pub backfill: u32,
    /// Frames `read_mark + 1 ..= mx_frame` cannot be copied into the database file.
    pub frames_held_back: u32,
    /// Those frames' size in the WAL.
    pub bytes_held_back: u64,
    pub wal_size: Option<u64>,
    /// Processes running a checkpoint right now (waiting for the reader).
    pub checkpointers: Vec<Process>,
}

/// Holders in other namespaces.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct NamespaceSummary {
    /// Distinct PID namespaces among the holders (an unidentified holder counts as one more).
    pub pid_namespaces: usize,
    /// Distinct mount namespaces among the identified holders.
    pub mount_namespaces: usize,
    /// Holders not in walinspect's own PID namespace (or not identifiable).
    pub outside: Vec<Process>,
    pub unidentified: usize,
}

/// Everything derived from one probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveLocks {
    /// The named locks of the files that exist (database file, then -shm).
    pub entries: Vec<LockEntry>,
    pub mode: Mode,
    /// Processes with the database open (any lock on it or its -shm).
    pub connections: Vec<Process>,
    /// The WAL writer (WRITE held exclusively), or in rollback mode the RESERVED holder.
    pub writer: Vec<Process>,
    pub checkpointer: Vec<Process>,
    pub recovery: Vec<Process>,
    pub readers: Vec<ReaderSlot>,
    pub starvation: Vec<Starvation>,
    /// Who holds the database exclusively (modes `exclusive_locking_mode`, `unix_excl`,
    /// `exclusive_lock`).
    pub exclusive: Vec<Process>,
    /// Connections holding the database's SHARED lock without the current -shm's DMS lock: they
    /// use another -shm (one deleted or replaced under them).
    pub detached: Vec<Process>,
    pub namespaces: NamespaceSummary,
    pub mx_frame: Option<u32>,
    pub backfill: Option<u32>,
    pub page_size: Option<u32>,
    pub wal_size: Option<u64>,
}

impl LiveLocks {
    pub fn entry(&self, file: FileKind, name: LockName) -> Option<&LockEntry> {
        self.entries.iter().find(|e| e.spec.file == file && e.spec.name == name)
    }
    fn holders(&self, file: FileKind, name: LockName, kind: Option<LockType>) -> Vec<Process> {
        self.entry(file, name)
            .map(|e| e.holders.iter().filter(|h| kind.is_none_or(|k| h.kind == k)).map(|h| h.process.clone()).collect())
            .unwrap_or_default()
    }
}

/// Live facts supplied to `crate::live::check_with_live`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LiveFacts {
    pub locks: Option<LiveLocks>,
    pub env: Option<EnvAssessment>,
    /// Descriptors of the deleted -wal still open in some process (`source::deleted`).
    pub deleted_wal: Vec<DeletedOpen>,
    /// The database file's path (for the commands that save a deleted -wal).
    pub db_path: Option<std::path::PathBuf>,
}

fn entry_for(spec: &LockSpec, probe: &LockProbe) -> Option<LockEntry> {
    let f = probe.file(spec.file)?;
    let (conflict, error) = match f.conflicts.iter().find(|(s, _)| s == spec) {
        Some((_, Ok(c))) => (*c, None),
        Some((_, Err(e))) => (None, Some(e.clone())),
        None => (None, None),
    };
    let mut holders: Vec<Holding> = f
        .entries
        .iter()
        .filter(|e| {
            !e.blocked && matches!(e.class, LockClass::Posix | LockClass::Ofd) && e.overlaps(spec.offset, spec.last())
        })
        .filter_map(|e| {
            let kind = e.kind?;
            let process = if e.pid > 0 { Process::identified(e.pid, probe) } else { Process::unidentified(e.pid) };
            Some(Holding { process, kind })
        })
        .collect();
    holders.sort_by_key(|h| (h.process.pid, h.kind));
    holders.dedup_by(|a, b| a.process.pid.is_some() && a.process.pid == b.process.pid && a.kind == b.kind);
    if holders.is_empty()
        && let Some(c) = conflict
    {
        // The kernel sees a lock /proc/locks does not show: name it as well as we can.
        let pid = i64::from(c.pid);
        let process = if pid > 0 && probe.processes.contains_key(&pid) {
            Process::identified(pid, probe)
        } else {
            Process::unidentified(pid)
        };
        holders.push(Holding { process, kind: c.kind });
    }
    let state = if holders.iter().any(|h| h.kind == LockType::Write) {
        LockState::Exclusive
    } else if holders.is_empty() {
        LockState::Free
    } else {
        LockState::Shared
    };
    Some(LockEntry { spec: *spec, state, holders, error })
}

fn union(lists: &[&[Process]]) -> Vec<Process> {
    let mut out: Vec<Process> = Vec::new();
    for p in lists.iter().flat_map(|l| l.iter()) {
        let dup = out.iter().any(|q| q.pid.is_some() && q.pid == p.pid);
        if !dup {
            out.push(p.clone());
        }
    }
    out
}

/// Derive the live state from a probe and the analysis of the same files.
pub fn derive(probe: &LockProbe, a: &Analysis) -> LiveLocks {
    let entries: Vec<LockEntry> = LOCKS.iter().filter_map(|s| entry_for(s, probe)).collect();
    let mut live = LiveLocks {
        entries,
        mode: Mode::Unused,
        connections: Vec::new(),
        writer: Vec::new(),
        checkpointer: Vec::new(),
        recovery: Vec::new(),
        readers: Vec::new(),
        starvation: Vec::new(),
        exclusive: Vec::new(),
        detached: Vec::new(),
        namespaces: NamespaceSummary::default(),
        mx_frame: None,
        backfill: None,
        page_size: None,
        wal_size: a.wal.as_ref().map(|w| w.file_len),
    };
    let wal_mode = a.wal.is_some() || a.db.as_ref().is_some_and(|d| d.header.is_wal_mode());
    let state = |f: FileKind, n: LockName| live.entry(f, n).map_or(LockState::Free, |e| e.state);
    let db_shared = state(FileKind::Db, LockName::Shared);
    let pending = state(FileKind::Db, LockName::Pending);
    let reserved = state(FileKind::Db, LockName::Reserved);
    let shm_in_use = live.entries.iter().any(|e| e.spec.file == FileKind::Shm && e.state != LockState::Free);
    let db_in_use = live.entries.iter().any(|e| e.spec.file == FileKind::Db && e.state != LockState::Free);
    live.mode = if db_shared == LockState::Exclusive {
        if shm_in_use {
            Mode::ExclusiveLock
        } else if !wal_mode || reserved == LockState::Exclusive {
            Mode::Rollback
        } else if pending == LockState::Exclusive {
            Mode::ExclusiveLockingMode
        } else {
            Mode::UnixExcl
        }
    } else if shm_in_use || (wal_mode && db_in_use) {
        Mode::Wal
    } else if db_in_use {
        Mode::Rollback
    } else {
        Mode::Unused
    };
    if matches!(live.mode, Mode::ExclusiveLockingMode | Mode::UnixExcl | Mode::ExclusiveLock) {
        live.exclusive = live.holders(FileKind::Db, LockName::Shared, Some(LockType::Write));
    }
    let all: Vec<Vec<Process>> =
        live.entries.iter().map(|e| e.holders.iter().map(|h| h.process.clone()).collect()).collect();
    live.connections = union(&all.iter().map(Vec::as_slice).collect::<Vec<_>>());
    live.writer = if live.mode == Mode::Rollback {
        live.holders(FileKind::Db, LockName::Reserved, Some(LockType::Write))
    } else {
        live.holders(FileKind::Shm, LockName::Write, Some(LockType::Write))
    };
    live.checkpointer = live.holders(FileKind::Shm, LockName::Checkpoint, Some(LockType::Write));
    live.recovery = live.holders(FileKind::Shm, LockName::Recover, Some(LockType::Write));

    // Snapshot numbers from the -shm as it was read.
    let shm = a.shm.as_ref();
    let hdr = shm.and_then(|s| s.reference());
    let ckpt = shm.and_then(|s| s.ckpt);
    live.mx_frame = hdr.map(|h| h.mx_frame);
    live.backfill = ckpt.map(|c| c.backfill);
    live.page_size = hdr.map(|h| h.page_size()).or_else(|| a.wal.as_ref().and_then(|w| w.page_size));
    let frame_bytes = u64::from(live.page_size.unwrap_or(0)) + 24;
    for slot in 0..5u8 {
        let Some(name) = LockName::read_slot(slot) else { continue };
        let readers = live.holders(FileKind::Shm, name, Some(LockType::Read));
        let exclusive = live.holders(FileKind::Shm, name, Some(LockType::Write));
        if readers.is_empty() && exclusive.is_empty() {
            continue;
        }
        let read_mark = if slot == 0 {
            ckpt.map(|c| c.backfill)
        } else {
            ckpt.and_then(|c| c.read_marks.get(usize::from(slot)).copied()).filter(|&m| m != READMARK_NOT_USED)
        };
        let frames_behind = live.mx_frame.zip(read_mark).map(|(mx, m)| mx.saturating_sub(m));
        live.readers.push(ReaderSlot { slot, readers, exclusive, read_mark, frames_behind });
    }
    // Starvation: a slot in use whose snapshot ends below mxFrame caps every checkpoint at its
    // mark; it starves checkpoints once they have reached that cap (nBackfill >= mark), or
    // while a checkpoint is running (waiting for it).
    if let (Some(mx), Some(backfill)) = (live.mx_frame, live.backfill) {
        for r in live.readers.iter().filter(|r| !r.readers.is_empty()) {
            let Some(mark) = r.read_mark else { continue };
            let pinned = mark < mx && (r.slot > 0 || backfill < mx);
            if pinned && (backfill >= mark || !live.checkpointer.is_empty()) {
                let frames = mx - mark;
                live.starvation.push(Starvation {
                    slot: r.slot,
                    readers: r.readers.clone(),
                    read_mark: mark,
                    mx_frame: mx,
                    backfill,
                    frames_held_back: frames,
                    bytes_held_back: u64::from(frames) * frame_bytes,
                    wal_size: live.wal_size,
                    checkpointers: live.checkpointer.clone(),
                });
            }
        }
    }
    // Connections attached to another -shm.
    if live.mode == Mode::Wal && probe.shm.is_some() {
        let dms: BTreeSet<Option<i64>> =
            live.holders(FileKind::Shm, LockName::Dms, None).iter().map(|p| p.pid).collect();
        live.detached = live
            .holders(FileKind::Db, LockName::Shared, Some(LockType::Read))
            .into_iter()
            .filter(|p| p.pid.is_some() && !dms.contains(&p.pid))
            .collect();
    }
    // Namespaces.
    let mut pid_ns = BTreeSet::new();
    let mut mnt_ns = BTreeSet::new();
    let mut ns = NamespaceSummary::default();
    for p in &live.connections {
        match p.pid {
            None => ns.unidentified += 1,
            Some(_) => {
                if let Some(n) = p.pid_ns {
                    pid_ns.insert(n);
                }
                if let Some(n) = p.mnt_ns {
                    mnt_ns.insert(n);
                }
            }
        }
        if p.pid_namespace != NsRelation::Same {
            ns.outside.push(p.clone());
        }
    }
    ns.pid_namespaces = pid_ns.len() + usize::from(ns.unidentified > 0);
    ns.mount_namespaces = mnt_ns.len();
    live.namespaces = ns;
    live
}

fn finding(code: Code, severity: Severity, file: Option<FileKind>, message: String) -> Finding {
    Finding { code, severity, message, file, offset: None, frame: None, page: None, count: None }
}

/// "1536 bytes, 1.5 KiB".
fn bytes(n: u64) -> String {
    if n < 1024 { format!("{n} bytes") } else { format!("{n} bytes, {}", human_bytes(n)) }
}

/// Quote `p` for a POSIX shell (single quotes), escaping what a terminal must not interpret.
fn shell_quote(p: &std::path::Path) -> String {
    let s = crate::format::escape::escape_path(p).replace('\'', "'\\''");
    format!("'{s}'")
}

/// `wal.deleted_but_open`: the commands that save the content, named in the message.
fn deleted_wal_findings(live: &LiveFacts, out: &mut Vec<Finding>) {
    for d in &live.deleted_wal {
        let who = match &d.command {
            Some(c) => format!("pid {} ({})", d.pid, crate::format::escape::escape(&short(c, 60))),
            None => format!("pid {}", d.pid),
        };
        let db = live.db_path.clone().unwrap_or_else(|| std::path::PathBuf::from("app.db"));
        let name = db.file_name().map_or_else(|| "app.db".into(), |n| n.to_string_lossy().into_owned());
        let save = std::path::PathBuf::from(format!("saved-{}", d.pid));
        let save_db = save.join(&name);
        let save_wal = save.join(format!("{name}-wal"));
        let mut f = finding(
            Code::WalDeletedButOpen,
            Severity::Error,
            Some(FileKind::Wal),
            format!(
                "the -wal was deleted, but {who} still has it open as {} ({}): the committed transactions in it that are not yet in the database file exist only there, and are lost when that process closes it or exits. Save it now, before anything else: mkdir {} && cp {} {} && cp {} {} && walinspect extract {} -o recovered.db",
                crate::format::escape::escape_path(&d.proc_path),
                bytes(d.size),
                shell_quote(&save),
                shell_quote(&db),
                shell_quote(&save_db),
                shell_quote(&d.proc_path),
                shell_quote(&save_wal),
                shell_quote(&save_db),
            ),
        );
        f.count = Some(d.size);
        out.push(f);
    }
}

/// The findings that only a live probe can raise (`env.*`, `lock.*`, `wal.deleted_but_open`),
/// in a stable order.
pub fn live_findings(live: &LiveFacts) -> Vec<Finding> {
    let mut out = Vec::new();
    deleted_wal_findings(live, &mut out);
    if let Some(env) = &live.env {
        for h in &env.hazards {
            let file = match h.code {
                Code::EnvShmNotWritable => Some(FileKind::Shm),
                _ => Some(FileKind::Db),
            };
            out.push(finding(h.code, Severity::Warning, file, h.message.clone()));
        }
    }
    let Some(l) = &live.locks else { return out };
    for s in &l.starvation {
        let who = labels(&s.readers);
        let slot = if s.slot == 0 {
            "read slot 0: it reads the database file alone, so no checkpoint may copy any frame".to_string()
        } else {
            format!("read slot {}", s.slot)
        };
        let wal = s
            .wal_size
            .map(|w| {
                format!(
                    " The WAL ({}) cannot restart, so it keeps growing while this read transaction lasts.",
                    bytes(w)
                )
            })
            .unwrap_or_default();
        let ckpt = if s.checkpointers.is_empty() {
            format!(
                " Checkpoints have copied everything up to its snapshot (nBackfill {}) and can go no further.",
                s.backfill
            )
        } else {
            format!(" A checkpoint by {} is waiting for it now.", labels(&s.checkpointers))
        };
        let mut f = finding(
            Code::LockCheckpointStarved,
            Severity::Warning,
            Some(FileKind::Shm),
            format!(
                "{who} holds a read transaction on a snapshot ending at frame {} ({slot}) while the last commit is frame {}: checkpoints cannot copy frames {}..{} ({} frames, {}) into the database.{ckpt}{wal} Ending that transaction (or the process) releases them.",
                s.read_mark,
                s.mx_frame,
                s.read_mark + 1,
                s.mx_frame,
                s.frames_held_back,
                bytes(s.bytes_held_back)
            ),
        );
        f.offset = Some(if s.slot == 0 { 96 } else { 100 + 4 * u64::from(s.slot) });
        f.frame = Some(s.read_mark + 1);
        f.count = Some(u64::from(s.frames_held_back));
        out.push(f);
    }
    if !l.detached.is_empty() {
        out.push(finding(
            Code::LockDetachedConnection,
            Severity::Warning,
            Some(FileKind::Shm),
            format!(
                "{} {} the database open (its SHARED lock) without a lock on the current -shm: {} another -shm, one deleted or replaced while it was open; its readers and writers no longer coordinate with the others, which corrupts the database",
                labels(&l.detached),
                if l.detached.len() == 1 { "has" } else { "have" },
                if l.detached.len() == 1 { "it uses" } else { "they use" }
            ),
        ));
    }
    let ns = &l.namespaces;
    if ns.pid_namespaces >= 2 || ns.mount_namespaces >= 2 {
        let severity = if ns.pid_namespaces >= 2 { Severity::Warning } else { Severity::Info };
        let kinds = match (ns.pid_namespaces >= 2, ns.mount_namespaces >= 2) {
            (true, true) => format!("{} PID and {} mount namespaces", ns.pid_namespaces, ns.mount_namespaces),
            (true, false) => format!("{} PID namespaces", ns.pid_namespaces),
            _ => format!("{} mount namespaces", ns.mount_namespaces),
        };
        let mut f = finding(
            Code::LockCrossNamespace,
            severity,
            Some(FileKind::Db),
            format!(
                "the processes holding the database span {kinds} (containers sharing a volume?): {}. WAL locking works across them only while all run on this kernel and open this same file; a copy in an image layer, a second host or a VM sharing the volume over the network is not coordinated",
                labels(&l.connections)
            ),
        );
        f.count = Some(l.connections.len() as u64);
        out.push(f);
    }
    if ns.unidentified > 0 {
        let e: Vec<&str> = l
            .entries
            .iter()
            .filter(|e| e.holders.iter().any(|h| h.process.pid.is_none()))
            .map(|e| e.spec.name.as_str())
            .collect();
        out.push(finding(
            Code::LockUnidentifiedHolder,
            Severity::Info,
            None,
            format!(
                "a process walinspect cannot identify holds {} ({}): it is not listed in /proc/locks, so it runs in another PID namespace (another container, or the host when walinspect runs in one) or on another machine of a network filesystem",
                if e.len() == 1 { "a lock" } else { "locks" },
                e.join(", ")
            ),
        ));
    }
    if matches!(l.mode, Mode::ExclusiveLockingMode | Mode::UnixExcl) {
        out.push(finding(
            Code::LockExclusive,
            Severity::Info,
            Some(FileKind::Db),
            format!(
                "{} holds the database exclusively ({}): every other connection gets SQLITE_BUSY (\"database is locked\") until it closes; its wal-index lives in its memory, so there is no -shm to inspect",
                labels(&l.exclusive),
                if l.mode == Mode::UnixExcl { "the unix-excl VFS, or a comparable exclusive lock" } else { "PRAGMA locking_mode=EXCLUSIVE" }
            ),
        ));
    }
    out
}
