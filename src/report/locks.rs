//! The `walinspect locks` document (schema "walinspect.locks", version 1; `docs/locks.md`) and
//! its text rendering.

use std::fmt::Write;

use serde::Serialize;

use super::text::Style;
use super::{Files, FindingReport, SCHEMA_VERSION, Summary, Tool};
use crate::analysis::findings::{Finding, Severity};
use crate::live::env::EnvAssessment;
use crate::live::locks::{LiveLocks, Mode, Process};
use crate::source::locks::LockProbe;

/// The whole `locks` document.
#[derive(Serialize, Clone, Debug)]
pub struct LocksReport {
    pub schema: &'static str,
    pub version: u32,
    pub tool: Tool,
    pub files: Files,
    /// When the probe ran (milliseconds since the Unix epoch).
    pub probed_at_unix_ms: u64,
    pub probe: ProbeReport,
    pub locks: Vec<LockReport>,
    pub state: StateReport,
    pub environment: Option<EnvReport>,
    pub findings: Vec<FindingReport>,
    pub summary: Summary,
}

/// How the probe was made.
#[derive(Serialize, Clone, Debug)]
pub struct ProbeReport {
    /// "F_OFD_GETLK" or "F_GETLK"; null when no file could be queried.
    pub method: Option<&'static str>,
    /// "read" (holders are named from it), "skipped" (nothing was locked), "incomplete"
    /// (reading stopped at its time budget) or "unreadable".
    pub proc_locks: &'static str,
    /// Why it is incomplete or unreadable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proc_locks_note: Option<String>,
    /// How the files' `/proc/locks` lines were matched, per file: "device_and_inode",
    /// "inode_only" or "none" (no line names the file).
    pub matched: Matched,
    /// Wall time of the probe, in microseconds.
    pub elapsed_us: u64,
    pub rounds: u32,
    /// The lock states did not change while the probe ran.
    pub consistent: bool,
    /// walinspect's own pid and namespaces.
    pub pid: i64,
    pub pid_namespace: Option<u64>,
    pub mount_namespace: Option<u64>,
}

#[derive(Serialize, Clone, Debug)]
pub struct Matched {
    pub db: Option<&'static str>,
    pub shm: Option<&'static str>,
}

/// One named lock.
#[derive(Serialize, Clone, Debug)]
pub struct LockReport {
    /// "db" or "shm".
    pub file: &'static str,
    pub name: crate::source::locks::LockName,
    pub offset: u64,
    pub len: u64,
    /// "free", "shared" or "exclusive".
    pub state: &'static str,
    pub holders: Vec<HolderReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A process, as holders and in the derived state.
#[derive(Serialize, Clone, Debug)]
pub struct ProcessReport {
    /// null when the holder cannot be identified from here.
    pub pid: Option<i64>,
    pub command: Option<String>,
    /// Compared with walinspect's: "same", "other" or "unknown".
    pub pid_namespace: &'static str,
    pub mount_namespace: &'static str,
    /// Its pid inside its own PID namespace (a container's view), when that is not ours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inner_pid: Option<i64>,
    /// For an unidentified holder: the pid the kernel reported (0 = not visible here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reported_pid: Option<i64>,
}

impl From<&Process> for ProcessReport {
    fn from(p: &Process) -> Self {
        Self {
            pid: p.pid,
            command: p.command.clone(),
            pid_namespace: p.pid_namespace.name(),
            mount_namespace: p.mount_namespace.name(),
            inner_pid: p.inner_pid,
            reported_pid: p.reported_pid,
        }
    }
}

fn procs(ps: &[Process]) -> Vec<ProcessReport> {
    ps.iter().map(ProcessReport::from).collect()
}

/// A holder of one lock.
#[derive(Serialize, Clone, Debug)]
pub struct HolderReport {
    #[serde(flatten)]
    pub process: ProcessReport,
    /// "read" (shared) or "write" (exclusive).
    pub lock: &'static str,
}

/// Something one process may be doing (writer, checkpoint, recovery).
#[derive(Serialize, Clone, Debug)]
pub struct Activity {
    pub running: bool,
    pub by: Vec<ProcessReport>,
}

impl Activity {
    fn of(ps: &[Process]) -> Self {
        Self { running: !ps.is_empty(), by: procs(ps) }
    }
}

#[derive(Serialize, Clone, Debug)]
pub struct ReaderReport {
    /// 0..4.
    pub slot: u8,
    /// The snapshot's last frame: `aReadMark[slot]`; for slot 0, nBackfill (the database file).
    pub read_mark: Option<u32>,
    pub frames_behind: Option<u32>,
    pub readers: Vec<ProcessReport>,
    /// Holding the slot exclusively (setting its mark, or a checkpoint).
    pub exclusive: Vec<ProcessReport>,
}

#[derive(Serialize, Clone, Debug)]
pub struct StarvationReport {
    pub slot: u8,
    pub readers: Vec<ProcessReport>,
    pub read_mark: u32,
    pub mx_frame: u32,
    pub backfill: u32,
    pub frames_held_back: u32,
    pub bytes_held_back: u64,
    pub wal_size: Option<u64>,
    /// Checkpoints running now, waiting for the reader.
    pub checkpoint_waiting: Vec<ProcessReport>,
}

#[derive(Serialize, Clone, Debug)]
pub struct NamespacesReport {
    pub pid_namespaces: usize,
    pub mount_namespaces: usize,
    pub unidentified: usize,
    /// Holders not in walinspect's PID namespace.
    pub outside: Vec<ProcessReport>,
}

/// The derived state, in JSON and in words.
#[derive(Serialize, Clone, Debug)]
pub struct StateReport {
    /// "unused", "wal", "exclusive_locking_mode", "unix_excl", "exclusive_lock", "rollback".
    pub mode: &'static str,
    /// The derived state in sentences.
    pub summary: Vec<String>,
    pub connections: Vec<ProcessReport>,
    pub writer: Activity,
    pub checkpoint: Activity,
    pub recovery: Activity,
    pub mx_frame: Option<u32>,
    pub backfill: Option<u32>,
    pub page_size: Option<u32>,
    pub wal_size: Option<u64>,
    pub readers: Vec<ReaderReport>,
    pub starvation: Vec<StarvationReport>,
    pub exclusive: Vec<ProcessReport>,
    pub detached: Vec<ProcessReport>,
    pub namespaces: NamespacesReport,
}

#[derive(Serialize, Clone, Debug)]
pub struct FilesystemReport {
    pub name: String,
    /// "local", "network", "fuse", "overlay", "unknown".
    pub class: &'static str,
    /// statfs f_type as "0x...".
    pub magic: Option<String>,
    pub mount_point: Option<String>,
    pub source: Option<String>,
    pub read_only: bool,
}

#[derive(Serialize, Clone, Debug)]
pub struct EnvReport {
    pub directory: String,
    pub filesystem: Option<FilesystemReport>,
    pub wal_mode: bool,
    pub owner_uid: Option<u32>,
    pub owner_name: Option<String>,
    pub directory_writable_by_owner: Option<bool>,
    pub shm_writable_by_owner: Option<bool>,
}

impl From<&EnvAssessment> for EnvReport {
    fn from(e: &EnvAssessment) -> Self {
        Self {
            directory: e.directory.clone(),
            filesystem: e.filesystem.as_ref().map(|f| FilesystemReport {
                name: f.name.clone(),
                class: f.class.name(),
                magic: f.magic.map(|m| format!("{m:#x}")),
                mount_point: f.mount_point.clone(),
                source: f.source.clone(),
                read_only: f.read_only,
            }),
            wal_mode: e.wal_mode,
            owner_uid: e.owner_uid,
            owner_name: e.owner_name.clone(),
            directory_writable_by_owner: e.directory_writable_by_owner,
            shm_writable_by_owner: e.shm_writable_by_owner,
        }
    }
}

fn label(p: &Process) -> String {
    let mut s = p.label();
    if let Some(i) = p.inner_pid {
        let _ = write!(s, " [pid {i} in its namespace]");
    }
    s
}

fn labels(ps: &[Process]) -> String {
    ps.iter().map(label).collect::<Vec<_>>().join(", ")
}

/// The derived state in sentences.
pub fn describe(l: &LiveLocks) -> Vec<String> {
    let mut o = vec![format!("Mode: {}.", l.mode.describe())];
    if l.mode == Mode::Unused {
        return o;
    }
    if !l.connections.is_empty() {
        o.push(format!(
            "{} with the database open: {}.",
            plural(l.connections.len(), "process", "processes"),
            labels(&l.connections)
        ));
    }
    if !l.exclusive.is_empty() {
        o.push(format!("Exclusively locked by {}.", labels(&l.exclusive)));
    }
    match (l.writer.is_empty(), l.mode) {
        (false, Mode::Rollback) => o.push(format!("Writer (RESERVED): {}.", labels(&l.writer))),
        (false, _) => o.push(format!("Writer active: {} holds the WAL write lock.", labels(&l.writer))),
        (true, Mode::Wal) => o.push("No writer.".into()),
        _ => {}
    }
    if !l.checkpointer.is_empty() {
        o.push(format!("Checkpoint running: {}.", labels(&l.checkpointer)));
    }
    if !l.recovery.is_empty() {
        o.push(format!("Recovery running (the wal-index is being rebuilt): {}.", labels(&l.recovery)));
    }
    if let (Some(mx), Some(b)) = (l.mx_frame, l.backfill) {
        o.push(format!(
            "WAL: last commit at frame {mx}, {b} frames copied into the database (nBackfill){}.",
            l.wal_size.map(|w| format!(", file {w} bytes")).unwrap_or_default()
        ));
    }
    for r in &l.readers {
        if !r.readers.is_empty() {
            let snap = match (r.slot, r.read_mark) {
                (0, _) => "reads the database file alone (nothing newer in the WAL when it began)".to_string(),
                (_, Some(m)) => format!("reads the snapshot ending at frame {m}"),
                (_, None) => "reads a snapshot whose mark is unknown".to_string(),
            };
            let behind = r
                .frames_behind
                .filter(|&f| f > 0)
                .map(|f| format!(", {f} frames behind the last commit"))
                .unwrap_or_default();
            o.push(format!("Read slot {}: {} {snap}{behind}.", r.slot, labels(&r.readers)));
        }
        if !r.exclusive.is_empty() {
            o.push(format!(
                "Read slot {} held exclusively by {} (setting its mark, or a checkpoint).",
                r.slot,
                labels(&r.exclusive)
            ));
        }
    }
    for s in &l.starvation {
        o.push(format!(
            "Checkpoint starvation: {} pins frame {} (slot {}): frames {}..{} ({} frames, {} bytes) cannot be checkpointed and the WAL cannot restart{}.",
            labels(&s.readers),
            s.read_mark,
            s.slot,
            s.read_mark + 1,
            s.mx_frame,
            s.frames_held_back,
            s.bytes_held_back,
            if s.checkpointers.is_empty() { String::new() } else { format!("; {} is waiting for it", labels(&s.checkpointers)) }
        ));
    }
    if !l.detached.is_empty() {
        o.push(format!("Detached from the current -shm (using a deleted or replaced one): {}.", labels(&l.detached)));
    }
    let ns = &l.namespaces;
    if !ns.outside.is_empty() {
        o.push(format!("Outside walinspect's PID namespace: {}.", labels(&ns.outside)));
    }
    if ns.pid_namespaces >= 2 || ns.mount_namespaces >= 2 {
        o.push(format!("Holders span {} PID and {} mount namespaces.", ns.pid_namespaces, ns.mount_namespaces));
    }
    o
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl LocksReport {
    pub fn build(
        files: Files,
        probe: &LockProbe,
        live: &LiveLocks,
        env: Option<&EnvAssessment>,
        findings: &[Finding],
        probed_at_unix_ms: u64,
    ) -> Self {
        let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
        let matched = |f: Option<&crate::source::locks::FileLocks>| {
            f.map(|f| match f.matched {
                crate::source::locks::InodeMatch::DeviceAndInode => "device_and_inode",
                crate::source::locks::InodeMatch::InodeOnly => "inode_only",
                crate::source::locks::InodeMatch::None => "none",
            })
        };
        Self {
            schema: "walinspect.locks",
            version: SCHEMA_VERSION,
            tool: Tool::this(),
            files,
            probed_at_unix_ms,
            probe: ProbeReport {
                method: probe.method.map(|m| m.name()),
                proc_locks: probe.proc_locks.name(),
                proc_locks_note: probe.proc_locks.note().map(str::to_string),
                matched: Matched { db: matched(probe.db.as_ref()), shm: matched(probe.shm.as_ref()) },
                elapsed_us: u64::try_from(probe.elapsed.as_micros()).unwrap_or(u64::MAX),
                rounds: probe.rounds,
                consistent: probe.consistent,
                pid: probe.own_pid,
                pid_namespace: probe.own.pid,
                mount_namespace: probe.own.mnt,
            },
            locks: live
                .entries
                .iter()
                .map(|e| LockReport {
                    file: e.spec.file.key(),
                    name: e.spec.name,
                    offset: e.spec.offset,
                    len: e.spec.len,
                    state: e.state.name(),
                    holders: e
                        .holders
                        .iter()
                        .map(|h| HolderReport { process: (&h.process).into(), lock: h.kind.name() })
                        .collect(),
                    error: e.error.clone(),
                })
                .collect(),
            state: StateReport {
                mode: live.mode.name(),
                summary: describe(live),
                connections: procs(&live.connections),
                writer: Activity::of(&live.writer),
                checkpoint: Activity::of(&live.checkpointer),
                recovery: Activity::of(&live.recovery),
                mx_frame: live.mx_frame,
                backfill: live.backfill,
                page_size: live.page_size,
                wal_size: live.wal_size,
                readers: live
                    .readers
                    .iter()
                    .map(|r| ReaderReport {
                        slot: r.slot,
                        read_mark: r.read_mark,
                        frames_behind: r.frames_behind,
                        readers: procs(&r.readers),
                        exclusive: procs(&r.exclusive),
                    })
                    .collect(),
                starvation: live
                    .starvation
                    .iter()
                    .map(|s| StarvationReport {
                        slot: s.slot,
                        readers: procs(&s.readers),
                        read_mark: s.read_mark,
                        mx_frame: s.mx_frame,
                        backfill: s.backfill,
                        frames_held_back: s.frames_held_back,
                        bytes_held_back: s.bytes_held_back,
                        wal_size: s.wal_size,
                        checkpoint_waiting: procs(&s.checkpointers),
                    })
                    .collect(),
                exclusive: procs(&live.exclusive),
                detached: procs(&live.detached),
                namespaces: NamespacesReport {
                    pid_namespaces: live.namespaces.pid_namespaces,
                    mount_namespaces: live.namespaces.mount_namespaces,
                    unidentified: live.namespaces.unidentified,
                    outside: procs(&live.namespaces.outside),
                },
            },
            environment: env.map(EnvReport::from),
            findings: findings.iter().map(FindingReport::from).collect(),
            summary: Summary {
                worst: findings.iter().map(|f| f.severity).max().map(|s| s.name()),
                errors: count(Severity::Error),
                warnings: count(Severity::Warning),
                infos: count(Severity::Info),
            },
        }
    }
}

fn holder_text(h: &HolderReport) -> String {
    let who = match (h.process.pid, &h.process.command) {
        (Some(p), Some(c)) => format!("{p} {}", short(c, 48)),
        (Some(p), None) => p.to_string(),
        (None, _) => "? (unidentified)".to_string(),
    };
    if h.process.pid_namespace == "other" { format!("{who} [other PID namespace]") } else { who }
}

fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max.saturating_sub(1)).collect::<String>())
    }
}

/// `walinspect locks` without `--json`. `timing` adds the probe's duration (left out where
/// output is compared between refreshes).
pub fn render(r: &LocksReport, st: Style, timing: bool) -> String {
    let mut o = String::new();
    let path = r.files.db.as_ref().map_or("?", |f| f.path.as_str());
    let _ = write!(o, "{} {}", st.bold("Locks on"), path);
    if timing {
        let _ = write!(
            o,
            "  (probed in {:.2} ms with {}{})",
            r.probe.elapsed_us as f64 / 1000.0,
            r.probe.method.unwrap_or("no query"),
            if r.probe.proc_locks == "skipped" { "" } else { " and /proc/locks" }
        );
    }
    let _ = writeln!(o);
    if let Some(e) = &r.probe.proc_locks_note {
        let _ = writeln!(o, "  {e} (each held lock still names the holder F_GETLK reports)");
    }
    let _ = writeln!(o, "  {:<4} {:<10} {:>10}  {:<9}  holders", "file", "lock", "offset", "state");
    for l in &r.locks {
        let state = match l.state {
            "exclusive" => st.bold(&format!("{:<9}", l.state)),
            "shared" => format!("{:<9}", l.state),
            _ => st.dim(&format!("{:<9}", l.state)),
        };
        let holders = l.holders.iter().map(holder_text).collect::<Vec<_>>().join(", ");
        let _ = writeln!(o, "  {:<4} {:<10} {:>10}  {state}  {holders}", l.file, l.name, l.offset);
    }
    if r.files.shm.is_none() {
        let _ = writeln!(o, "  (no -shm file)");
    }
    let _ = writeln!(o, "{}", st.bold("State"));
    for s in &r.state.summary {
        let _ = writeln!(o, "  {s}");
    }
    if let Some(e) = &r.environment {
        let _ = writeln!(o, "{}", st.bold("Environment"));
        if let Some(f) = &e.filesystem {
            let at = match (&f.source, &f.mount_point) {
                (Some(s), Some(m)) => format!(" ({s} on {m})"),
                _ => String::new(),
            };
            let _ = writeln!(
                o,
                "  filesystem: {}{at}, {}{}",
                f.name,
                f.class,
                if f.read_only { ", read-only" } else { "" }
            );
        }
        let owner = match (e.owner_uid, &e.owner_name) {
            (Some(u), Some(n)) => format!("uid {u} ({n})"),
            (Some(u), None) => format!("uid {u}"),
            _ => "unknown".into(),
        };
        let yn = |b: Option<bool>| match b {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "unknown",
        };
        let _ = writeln!(
            o,
            "  database owner: {owner}; directory writable by the owner: {}{}",
            yn(e.directory_writable_by_owner),
            e.shm_writable_by_owner
                .map(|w| format!("; -shm writable by the owner: {}", yn(Some(w))))
                .unwrap_or_default()
        );
    }
    let _ = writeln!(o, "{}", st.bold("Findings"));
    if r.findings.is_empty() {
        let _ = writeln!(o, "  none");
    }
    for f in &r.findings {
        let _ = writeln!(o, "  {} {}: {}", st.severity(f.severity), f.code, f.message);
    }
    o
}
