//! Live lock probing: which processes hold SQLite's locks on a database and its `-shm`, found
//! without acquiring anything.
//!
//! Two kernel sources are combined:
//! - `fcntl(F_OFD_GETLK)` (or `F_GETLK` on kernels older than 3.15) asks whether a write lock
//!   on a byte range *would* conflict and describes the first conflicting lock: read or write,
//!   and its owner's pid as seen from our PID namespace (0 when the owner is not visible from
//!   it). It is a query: nothing is acquired, so no SQLite process can get `SQLITE_BUSY`
//!   because of it. It works on a read-only descriptor (only `F_SETLK` needs write access).
//! - `/proc/locks` lists every lock of every process with its type, range and owner, keyed by
//!   device and inode. It names *all* the readers of a byte, where `F_GETLK` names one.
//!
//! SQLite's unix VFS places POSIX record locks on the database file (PENDING, RESERVED and the
//! 510-byte SHARED range at 1 GiB) and on the `-shm` (bytes 120..=128: WRITE, CHECKPOINT,
//! RECOVER, READ0..READ4, DMS); see `docs/locks.md`.
//!
//! POSIX caveat: record locks belong to a (process, inode) pair, and closing *any* descriptor
//! of a file drops all of the process's locks on it. walinspect holds no locks, so opening and
//! closing the files here is harmless. A process that itself holds SQLite connections must not
//! probe its own databases this way: it would silently release its connections' locks.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{FileKind, Paths, open_read_only};
use crate::format::vocab::vocabulary;

vocabulary! {
    /// The name of one of SQLite's locks (lower case on the wire and in `docs/locks.md`).
    pub enum LockName {
        Pending = "pending",
        Reserved = "reserved",
        Shared = "shared",
        Write = "write",
        Checkpoint = "checkpoint",
        Recover = "recover",
        Read0 = "read0",
        Read1 = "read1",
        Read2 = "read2",
        Read3 = "read3",
        Read4 = "read4",
        Dms = "dms",
    }
}

impl LockName {
    /// The reader slot's lock (`read0`..`read4`), for slot 0..=4.
    pub fn read_slot(slot: u8) -> Option<Self> {
        [Self::Read0, Self::Read1, Self::Read2, Self::Read3, Self::Read4].get(usize::from(slot)).copied()
    }
}

/// One of SQLite's named locks: a byte range of the database file or of the `-shm`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockSpec {
    pub file: FileKind,
    pub name: LockName,
    pub offset: u64,
    pub len: u64,
}

impl LockSpec {
    /// The last byte of the range.
    pub fn last(&self) -> u64 {
        self.offset + self.len.saturating_sub(1)
    }
}

/// `PENDING_BYTE` (`src/os.h`).
pub const PENDING_BYTE: u64 = 0x4000_0000;
/// `RESERVED_BYTE`.
pub const RESERVED_BYTE: u64 = PENDING_BYTE + 1;
/// `SHARED_FIRST`.
pub const SHARED_FIRST: u64 = PENDING_BYTE + 2;
/// `SHARED_SIZE`.
pub const SHARED_SIZE: u64 = 510;
/// `UNIX_SHM_BASE`: the -shm byte of WAL lock 0 (`src/os_unix.c`).
pub const SHM_LOCK_BASE: u64 = 120;
/// `UNIX_SHM_DMS`: the dead-man-switch byte of the -shm.
pub const SHM_DMS: u64 = 128;

const fn spec(file: FileKind, name: LockName, offset: u64, len: u64) -> LockSpec {
    LockSpec { file, name, offset, len }
}

/// Every named lock, database file first, in the order the report lists them.
pub const LOCKS: [LockSpec; 12] = [
    spec(FileKind::Db, LockName::Pending, PENDING_BYTE, 1),
    spec(FileKind::Db, LockName::Reserved, RESERVED_BYTE, 1),
    spec(FileKind::Db, LockName::Shared, SHARED_FIRST, SHARED_SIZE),
    spec(FileKind::Shm, LockName::Write, SHM_LOCK_BASE, 1),
    spec(FileKind::Shm, LockName::Checkpoint, SHM_LOCK_BASE + 1, 1),
    spec(FileKind::Shm, LockName::Recover, SHM_LOCK_BASE + 2, 1),
    spec(FileKind::Shm, LockName::Read0, SHM_LOCK_BASE + 3, 1),
    spec(FileKind::Shm, LockName::Read1, SHM_LOCK_BASE + 4, 1),
    spec(FileKind::Shm, LockName::Read2, SHM_LOCK_BASE + 5, 1),
    spec(FileKind::Shm, LockName::Read3, SHM_LOCK_BASE + 6, 1),
    spec(FileKind::Shm, LockName::Read4, SHM_LOCK_BASE + 7, 1),
    spec(FileKind::Shm, LockName::Dms, SHM_DMS, 1),
];

/// The named lock `name` of `file`.
pub fn lock_spec(file: FileKind, name: LockName) -> Option<&'static LockSpec> {
    LOCKS.iter().find(|s| s.file == file && s.name == name)
}

/// Read or write (shared or exclusive) lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LockType {
    Read,
    Write,
}

impl LockType {
    pub fn name(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }
}

/// The first lock that conflicts with a write lock on a range, as `F_GETLK` describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conflict {
    pub kind: LockType,
    /// The owner as the kernel reports it in our PID namespace: 0 when it is not visible from
    /// it, -1 for an open-file-description lock. Over NFS a remote owner's number is
    /// meaningless here.
    pub pid: i32,
    pub start: u64,
    /// 0 means "to the end of the file and beyond".
    pub len: u64,
}

/// Which `fcntl` command answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GetlkMethod {
    /// `F_OFD_GETLK` (Linux 3.15+).
    Ofd,
    /// `F_GETLK`.
    Posix,
}

impl GetlkMethod {
    pub fn name(self) -> &'static str {
        match self {
            Self::Ofd => "F_OFD_GETLK",
            Self::Posix => "F_GETLK",
        }
    }
}

/// Test whether a write lock on `start..start+len` (`len` 0 = to EOF and beyond) of `file`
/// would conflict with a lock held through another open file description (`Ofd`) or by
/// another process (`Posix`). Acquires nothing.
#[allow(unsafe_code)]
fn getlk(file: &File, method: GetlkMethod, start: u64, len: u64) -> io::Result<Option<Conflict>> {
    let (Ok(l_start), Ok(l_len)) = (libc::off_t::try_from(start), libc::off_t::try_from(len)) else {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    };
    let cmd = match method {
        GetlkMethod::Ofd => libc::F_OFD_GETLK,
        GetlkMethod::Posix => libc::F_GETLK,
    };
    // SAFETY: `flock` is a plain C struct of integers, for which all-zero bytes are a valid
    // value (F_OFD_GETLK also requires l_pid == 0 on input).
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = l_start;
    fl.l_len = l_len;
    // SAFETY: the descriptor is open for the lifetime of `file`; F_GETLK and F_OFD_GETLK read
    // and write exactly one `struct flock` through the pointer, which points to `fl`, a live,
    // properly aligned local. The call only queries: it acquires and releases nothing.
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), cmd, &mut fl as *mut libc::flock) };
    if rc == -1 {
        return Err(io::Error::last_os_error());
    }
    let kind = match i32::from(fl.l_type) {
        libc::F_UNLCK => return Ok(None),
        libc::F_RDLCK => LockType::Read,
        _ => LockType::Write,
    };
    Ok(Some(Conflict {
        kind,
        pid: fl.l_pid,
        start: u64::try_from(fl.l_start).unwrap_or(0),
        len: u64::try_from(fl.l_len).unwrap_or(0),
    }))
}

/// True when another connection holds the WAL WRITE lock (`-shm` byte 120): a writer is in
/// the middle of a transaction, so frames beyond the index's mxFrame are being written. One
/// query; acquires nothing. False when it cannot be told.
pub fn writer_active(shm: &File) -> bool {
    let mut method = None;
    matches!(getlk_any(shm, &mut method, SHM_LOCK_BASE, 1), Ok(Some(_)))
}

/// `getlk` with `F_OFD_GETLK`, falling back to `F_GETLK` where the kernel lacks it.
fn getlk_any(file: &File, method: &mut Option<GetlkMethod>, start: u64, len: u64) -> io::Result<Option<Conflict>> {
    match method.unwrap_or(GetlkMethod::Ofd) {
        GetlkMethod::Ofd => match getlk(file, GetlkMethod::Ofd, start, len) {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) && method.is_none() => {
                *method = Some(GetlkMethod::Posix);
                getlk(file, GetlkMethod::Posix, start, len)
            }
            r => {
                if r.is_ok() {
                    *method = Some(GetlkMethod::Ofd);
                }
                r
            }
        },
        GetlkMethod::Posix => getlk(file, GetlkMethod::Posix, start, len),
    }
}

// ---- /proc/locks ---------------------------------------------------------------------------

/// What kind of lock a `/proc/locks` line describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockClass {
    /// `fcntl` record lock owned by a process (what SQLite's unix VFS uses).
    Posix,
    /// Open-file-description lock.
    Ofd,
    /// `flock(2)` whole-file lock (SQLite's `unix-flock` VFS).
    Flock,
    /// Lease or delegation.
    Lease,
    /// Anything else (ACCESS, UNKNOWN, ...).
    Other,
}

/// One line of `/proc/locks`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcLock {
    /// The line's ordinal.
    pub id: u64,
    /// A process *waiting* for this lock (a "->" line), not holding it.
    pub blocked: bool,
    pub class: LockClass,
    /// Read or write; `None` for UNLCK.
    pub kind: Option<LockType>,
    /// Owner in the PID namespace of the `/proc` mount; -1 for OFD locks on older kernels.
    pub pid: i64,
    /// The device (hexadecimal major:minor of the superblock) and inode of the locked file.
    pub dev_major: u32,
    pub dev_minor: u32,
    pub ino: u64,
    pub start: u64,
    /// Last byte, inclusive; `None` = to the end of the file.
    pub end: Option<u64>,
}

impl ProcLock {
    /// Whether the lock covers any byte of `first..=last`.
    pub fn overlaps(&self, first: u64, last: u64) -> bool {
        self.start <= last && self.end.is_none_or(|e| e >= first)
    }
}

/// Parse the text of `/proc/locks`. Lines that do not parse are skipped.
///
/// The kernel's format (`fs/locks.c lock_get_status()`):
/// `ID: [-> ]CLASS  ADVISORY  READ|WRITE|UNLCK PID MAJ:MIN:INODE START END|EOF`, with MAJ and MIN
/// in hexadecimal and END inclusive; `<none>:0` replaces the device for a lock without an inode.
pub fn parse_proc_locks(text: &str) -> Vec<ProcLock> {
    text.lines().filter_map(parse_proc_lock_line).collect()
}

fn parse_proc_lock_line(line: &str) -> Option<ProcLock> {
    let mut t = line.split_whitespace().peekable();
    let id = t.next()?.strip_suffix(':')?.parse().ok()?;
    let blocked = t.next_if_eq(&"->").is_some();
    let class = match t.next()? {
        "POSIX" => LockClass::Posix,
        "OFDLCK" => LockClass::Ofd,
        "FLOCK" => LockClass::Flock,
        "LEASE" | "DELEG" => LockClass::Lease,
        _ => LockClass::Other,
    };
    // Skip qualifiers (ADVISORY, MANDATORY, ACTIVE, BREAKING, ...) up to the type.
    let kind = loop {
        match t.next()? {
            "READ" => break Some(LockType::Read),
            "WRITE" => break Some(LockType::Write),
            "UNLCK" => break None,
            _ => {}
        }
    };
    let pid = t.next()?.parse().ok()?;
    let dev = t.next()?;
    if dev.starts_with("<none>") {
        return None;
    }
    let mut d = dev.splitn(3, ':');
    let dev_major = u32::from_str_radix(d.next()?, 16).ok()?;
    let dev_minor = u32::from_str_radix(d.next()?, 16).ok()?;
    let ino = d.next()?.parse().ok()?;
    let start = t.next()?.parse().ok()?;
    let end = match t.next()? {
        "EOF" => None,
        e => Some(e.parse().ok()?),
    };
    Some(ProcLock { id, blocked, class, kind, pid, dev_major, dev_minor, ino, start, end })
}

/// Major and minor numbers of a `dev_t` as Linux encodes it.
pub fn dev_major_minor(dev: u64) -> (u32, u32) {
    let major = ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0x0000_0fff);
    let minor = ((dev >> 12) & 0xffff_ff00) | (dev & 0x0000_00ff);
    (major as u32, minor as u32)
}

/// How a file's `/proc/locks` lines were found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InodeMatch {
    /// By device and inode (the normal case).
    DeviceAndInode,
    /// By inode only: no line carried the file's device, one device did carry its inode (btrfs
    /// subvolumes and some stacked filesystems report another device in `stat` than in
    /// `/proc/locks`).
    InodeOnly,
    /// No line names the file.
    None,
}

/// The `/proc/locks` lines of one file (identified by `stat`'s device and inode).
pub fn select_file_locks(all: &[ProcLock], dev: u64, ino: u64) -> (Vec<ProcLock>, InodeMatch) {
    let (major, minor) = dev_major_minor(dev);
    let exact: Vec<ProcLock> =
        all.iter().filter(|l| l.ino == ino && l.dev_major == major && l.dev_minor == minor).cloned().collect();
    if !exact.is_empty() {
        return (exact, InodeMatch::DeviceAndInode);
    }
    let same_ino: Vec<&ProcLock> = all.iter().filter(|l| l.ino == ino).collect();
    let first_dev = same_ino.first().map(|l| (l.dev_major, l.dev_minor));
    if first_dev.is_some() && same_ino.iter().all(|l| Some((l.dev_major, l.dev_minor)) == first_dev) {
        return (same_ino.into_iter().cloned().collect(), InodeMatch::InodeOnly);
    }
    (Vec::new(), InodeMatch::None)
}

// ---- processes -----------------------------------------------------------------------------

/// What `/proc/PID` tells about a lock holder. Fields are `None` where `/proc` would not say
/// (the process exited, or reading its namespaces needs privileges we lack).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ProcessInfo {
    pub pid: i64,
    /// The command line, arguments separated by spaces; `[comm]` when it has none.
    pub command: Option<String>,
    /// Effective uid.
    pub uid: Option<u32>,
    /// Inode numbers of its PID and mount namespaces (`/proc/PID/ns/{pid,mnt}`).
    pub pid_ns: Option<u64>,
    pub mnt_ns: Option<u64>,
    /// Its pid in each nested PID namespace, outermost first (`NSpid` in `/proc/PID/status`);
    /// the last one is the pid inside its own container.
    pub ns_pids: Vec<i64>,
}

/// Longest command line kept.
const MAX_COMMAND: usize = 4096;

fn read_capped(path: &Path, cap: usize) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let mut buf = Vec::new();
    File::open(path)?.take(cap as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

/// The namespace inode from a `/proc/PID/ns/*` link target such as `pid:[4026531836]`.
pub fn parse_ns_link(target: &str) -> Option<u64> {
    target.split_once(":[")?.1.strip_suffix(']')?.parse().ok()
}

/// Effective uid and `NSpid` from the text of `/proc/PID/status`.
pub fn parse_status(text: &str) -> (Option<u32>, Vec<i64>) {
    let mut uid = None;
    let mut ns_pids = Vec::new();
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("Uid:") {
            uid = v.split_whitespace().nth(1).and_then(|x| x.parse().ok());
        } else if let Some(v) = line.strip_prefix("NSpid:") {
            ns_pids = v.split_whitespace().filter_map(|x| x.parse().ok()).collect();
        }
    }
    (uid, ns_pids)
}

fn ns_of(proc_dir: &Path, which: &str) -> Option<u64> {
    let target = std::fs::read_link(proc_dir.join("ns").join(which)).ok()?;
    parse_ns_link(&target.to_string_lossy())
}

/// Look a process up in `/proc` (the `/proc` of our mount namespace).
pub fn process_info(pid: i64) -> ProcessInfo {
    let dir = PathBuf::from(format!("/proc/{pid}"));
    let command = read_capped(&dir.join("cmdline"), MAX_COMMAND)
        .ok()
        .map(|b| {
            let s: String =
                String::from_utf8_lossy(&b).split('\0').filter(|a| !a.is_empty()).collect::<Vec<_>>().join(" ");
            s
        })
        .filter(|s| !s.is_empty())
        .or_else(|| {
            read_capped(&dir.join("comm"), 64).ok().map(|b| format!("[{}]", String::from_utf8_lossy(&b).trim_end()))
        });
    let (uid, ns_pids) = read_capped(&dir.join("status"), 16384)
        .map(|b| parse_status(&String::from_utf8_lossy(&b)))
        .unwrap_or((None, Vec::new()));
    ProcessInfo { pid, command, uid, pid_ns: ns_of(&dir, "pid"), mnt_ns: ns_of(&dir, "mnt"), ns_pids }
}

/// walinspect's own PID and mount namespaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct OwnNamespaces {
    pub pid: Option<u64>,
    pub mnt: Option<u64>,
}

impl OwnNamespaces {
    pub fn current() -> Self {
        let dir = Path::new("/proc/self");
        Self { pid: ns_of(dir, "pid"), mnt: ns_of(dir, "mnt") }
    }
}

// ---- the probe -----------------------------------------------------------------------------

/// The locks on one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileLocks {
    pub file: FileKind,
    pub path: PathBuf,
    pub dev: u64,
    pub ino: u64,
    /// `F_GETLK` answers for the file's named locks, in [`LOCKS`] order; `Err` holds the error
    /// text when the query failed.
    pub conflicts: Vec<(LockSpec, Answer)>,
    /// `F_GETLK` over the whole file (any byte).
    pub any: Answer,
    /// Its `/proc/locks` lines.
    pub entries: Vec<ProcLock>,
    pub matched: InodeMatch,
}

impl FileLocks {
    /// The `F_GETLK` answer for the lock named `name`.
    pub fn conflict(&self, name: LockName) -> Option<&Conflict> {
        self.conflicts.iter().find(|(s, _)| s.name == name).and_then(|(_, r)| r.as_ref().ok()).and_then(|c| c.as_ref())
    }
}

/// Everything the probe saw, at one moment (within its `elapsed` time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockProbe {
    /// The `fcntl` command used; `None` when no file could be queried.
    pub method: Option<GetlkMethod>,
    pub db: Option<FileLocks>,
    pub shm: Option<FileLocks>,
    /// Whether `/proc/locks` was read whole (it names every holder).
    pub proc_locks: ProcLocksStatus,
    /// Every process named as a holder, by pid.
    pub processes: BTreeMap<i64, ProcessInfo>,
    pub own_pid: i64,
    pub own: OwnNamespaces,
    /// Rounds taken: a round is `F_GETLK` on every lock, `/proc/locks`, `F_GETLK` again; it is
    /// repeated (up to 3 times) while the two `F_GETLK` passes disagree.
    pub rounds: u32,
    /// The two `F_GETLK` passes of the last round agreed: nothing changed while `/proc/locks`
    /// was read.
    pub consistent: bool,
    pub elapsed: Duration,
}

impl LockProbe {
    pub fn file(&self, f: FileKind) -> Option<&FileLocks> {
        match f {
            FileKind::Db => self.db.as_ref(),
            FileKind::Shm => self.shm.as_ref(),
            FileKind::Wal => None,
        }
    }
}

const MAX_ROUNDS: u32 = 3;
/// `/proc/locks` beyond this is not read (a host with millions of locks).
const MAX_PROC_LOCKS: usize = 64 << 20;
/// Longest time spent reading `/proc/locks` in one probe. The kernel rebuilds the text page by
/// page, walking the machine's whole lock list from the start for every page while it blocks
/// lock operations: cheap with the usual tens of locks, seconds with 100,000.
pub const PROC_LOCKS_BUDGET: Duration = Duration::from_millis(250);

/// What became of `/proc/locks` in a probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProcLocksStatus {
    /// Read whole.
    Read,
    /// Not read: `F_GETLK` found no lock at all, so there was no holder to name.
    Skipped,
    /// Reading stopped at the time or size budget: holders may be missing (each held lock
    /// still has the one holder `F_GETLK` names).
    Incomplete(String),
    /// Could not be read: holders come from `F_GETLK` only.
    Unreadable(String),
}

impl ProcLocksStatus {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Skipped => "skipped",
            Self::Incomplete(_) => "incomplete",
            Self::Unreadable(_) => "unreadable",
        }
    }
    pub fn note(&self) -> Option<&str> {
        match self {
            Self::Incomplete(n) | Self::Unreadable(n) => Some(n),
            _ => None,
        }
    }
}

/// Read `/proc/locks` for at most `budget` (and `MAX_PROC_LOCKS` bytes), whole lines only.
pub fn read_proc_locks(budget: Duration) -> (String, ProcLocksStatus) {
    use std::io::Read;
    let t0 = Instant::now();
    let mut f = match File::open("/proc/locks") {
        Ok(f) => f,
        Err(e) => {
            return (String::new(), ProcLocksStatus::Unreadable(format!("/proc/locks unreadable: {e}")));
        }
    };
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        let n = match f.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return (String::new(), ProcLocksStatus::Unreadable(format!("/proc/locks unreadable: {e}")));
            }
        };
        if n == 0 {
            return (String::from_utf8_lossy(&buf).into_owned(), ProcLocksStatus::Read);
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        if buf.len() >= MAX_PROC_LOCKS || t0.elapsed() > budget {
            let keep = buf.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
            buf.truncate(keep);
            let lines = buf.iter().filter(|&&b| b == b'\n').count();
            let note = format!(
                "stopped reading /proc/locks after {} ms and {lines} lines (the machine holds many locks, and the kernel builds this list slowly): some holders may be missing",
                t0.elapsed().as_millis()
            );
            return (String::from_utf8_lossy(&buf).into_owned(), ProcLocksStatus::Incomplete(note));
        }
    }
}

/// An `F_GETLK` answer, or the error text.
pub type Answer = Result<Option<Conflict>, String>;

fn query_file(file: &File, which: FileKind, method: &mut Option<GetlkMethod>) -> (Vec<(LockSpec, Answer)>, Answer) {
    let conflicts = LOCKS
        .iter()
        .filter(|s| s.file == which)
        .map(|s| (*s, getlk_any(file, method, s.offset, s.len).map_err(|e| e.to_string())))
        .collect();
    let any = getlk_any(file, method, 0, 0).map_err(|e| e.to_string());
    (conflicts, any)
}

/// Probe the locks on an opened database file and `-shm` (either may be absent). The files
/// must be the ones at `paths` (used for naming only).
pub fn probe(db: Option<&File>, shm: Option<&File>, paths: &Paths) -> LockProbe {
    let t0 = Instant::now();
    let mut method = None;
    let ident = |f: &File| f.metadata().map(|m| (m.dev(), m.ino())).ok();
    let targets: Vec<(FileKind, &File, PathBuf, (u64, u64))> =
        [(FileKind::Db, db, &paths.db), (FileKind::Shm, shm, &paths.shm)]
            .into_iter()
            .filter_map(|(w, f, p)| f.and_then(|f| ident(f).map(|id| (w, f, p.clone(), id))))
            .collect();
    let mut rounds = 0;
    let mut consistent = false;
    let mut first_pass: Vec<(Vec<(LockSpec, Answer)>, Answer)> = Vec::new();
    let mut text = String::new();
    let mut status = ProcLocksStatus::Skipped;
    while rounds < MAX_ROUNDS {
        rounds += 1;
        first_pass = targets.iter().map(|(w, f, _, _)| query_file(f, *w, &mut method)).collect();
        if first_pass.iter().all(|(c, any)| any == &Ok(None) && c.iter().all(|(_, a)| a == &Ok(None))) {
            // Nothing is locked: no holder to name, and /proc/locks costs every process's
            // lock operations a moment.
            consistent = true;
            status = ProcLocksStatus::Skipped;
            text.clear();
            break;
        }
        (text, status) = read_proc_locks(PROC_LOCKS_BUDGET);
        let second: Vec<_> = targets.iter().map(|(w, f, _, _)| query_file(f, *w, &mut method)).collect();
        if second == first_pass {
            consistent = true;
            break;
        }
        first_pass = second;
    }
    let all = parse_proc_locks(&text);
    let mut files: Vec<FileLocks> = targets
        .iter()
        .zip(first_pass)
        .map(|((w, _, path, (dev, ino)), (conflicts, any))| {
            let (entries, matched) = select_file_locks(&all, *dev, *ino);
            FileLocks { file: *w, path: path.clone(), dev: *dev, ino: *ino, conflicts, any, entries, matched }
        })
        .collect();
    let mut processes = BTreeMap::new();
    for f in &files {
        let pids = f.entries.iter().map(|e| e.pid).chain(
            f.conflicts.iter().filter_map(|(_, c)| c.as_ref().ok().copied().flatten()).map(|c| i64::from(c.pid)),
        );
        for pid in pids.filter(|&p| p > 0) {
            processes.entry(pid).or_insert_with(|| process_info(pid));
        }
    }
    let shm_locks = files.iter().position(|f| f.file == FileKind::Shm).map(|i| files.swap_remove(i));
    let db_locks = files.into_iter().find(|f| f.file == FileKind::Db);
    LockProbe {
        method,
        db: db_locks,
        shm: shm_locks,
        proc_locks: status,
        processes,
        own_pid: i64::from(std::process::id()),
        own: OwnNamespaces::current(),
        rounds,
        consistent,
        elapsed: t0.elapsed(),
    }
}

/// Open the database and `-shm` at `paths` read-only (never creating either) and probe them.
pub fn probe_paths(paths: &Paths) -> LockProbe {
    let db = open_read_only(&paths.db).ok();
    let shm = open_read_only(&paths.shm).ok();
    probe(db.as_ref(), shm.as_ref(), paths)
}

// ---- safe install --------------------------------------------------------------------------

/// A process that holds (or waits for) a lock on one of a database's files, or a reason the
/// absence of holders could not be verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    /// `None` when the holder cannot be identified from here (another PID namespace, another
    /// machine on a network filesystem) or when `note` explains a failed check.
    pub pid: Option<i64>,
    pub command: Option<String>,
    pub file: FileKind,
    pub path: PathBuf,
    /// `None` for a whole-file lock of unknown type or a failed check.
    pub kind: Option<LockType>,
    pub start: u64,
    /// Last byte, inclusive; `None` = to the end of the file.
    pub end: Option<u64>,
    /// Extra words: "waiting", "flock", "cannot verify: ...".
    pub note: Option<String>,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.pid {
            Some(p) => write!(f, "pid {p}")?,
            None => write!(f, "an unidentified process")?,
        }
        if let Some(c) = &self.command {
            write!(f, " ({c})")?;
        }
        if let Some(k) = self.kind {
            let end = self.end.map_or("EOF".to_string(), |e| e.to_string());
            write!(f, " holds a {} lock on {} bytes {}..={}", k.name(), self.path.display(), self.start, end)?;
        } else {
            write!(f, " on {}", self.path.display())?;
        }
        if let Some(n) = &self.note {
            write!(f, " [{n}]")?;
        }
        Ok(())
    }
}

/// Succeed only when no process holds or waits for any lock (POSIX, OFD or flock) on the
/// database file, its `-wal` or its `-shm`, and no `unix-dotfile` lock directory exists;
/// otherwise name every holder. Files that do not exist hold no locks. A file that exists but
/// cannot be opened, or whose locks cannot be queried, is reported as a holder with a `note`
/// (refuse rather than guess).
///
/// This is a snapshot: a process may open the database right after it returns. Callers that
/// replace a file should do so with one `rename(2)` immediately after the check, and say so.
pub fn assert_unlocked(paths: &Paths) -> Result<(), Vec<Holder>> {
    let mut holders = Vec::new();
    // A one-off safety check: allow /proc/locks more time than a probe.
    let (proc_text, proc_status) = read_proc_locks(PROC_LOCKS_BUDGET * 20);
    let all = parse_proc_locks(&proc_text);
    let unverified = |file: FileKind, path: &Path, why: String| Holder {
        pid: None,
        command: None,
        file,
        path: path.to_path_buf(),
        kind: None,
        start: 0,
        end: None,
        note: Some(format!("cannot verify: {why}")),
    };
    for (which, path) in [(FileKind::Db, &paths.db), (FileKind::Wal, &paths.wal), (FileKind::Shm, &paths.shm)] {
        let file = match open_read_only(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => {
                holders.push(unverified(which, path, e.to_string()));
                continue;
            }
        };
        let (dev, ino) = match file.metadata() {
            Ok(m) => (m.dev(), m.ino()),
            Err(e) => {
                holders.push(unverified(which, path, e.to_string()));
                continue;
            }
        };
        let mut method = None;
        let conflict = getlk_any(&file, &mut method, 0, 0);
        let (entries, _) = select_file_locks(&all, dev, ino);
        for e in &entries {
            let info = (e.pid > 0).then(|| process_info(e.pid));
            let note = match (e.blocked, e.class) {
                (true, _) => Some("waiting".to_string()),
                (false, LockClass::Flock) => Some("flock".to_string()),
                (false, LockClass::Ofd) => Some("open file description lock".to_string()),
                (false, LockClass::Lease) => Some("lease".to_string()),
                _ => None,
            };
            holders.push(Holder {
                pid: (e.pid > 0).then_some(e.pid),
                command: info.and_then(|i| i.command),
                file: which,
                path: path.clone(),
                kind: e.kind,
                start: e.start,
                end: e.end,
                note,
            });
        }
        match conflict {
            Ok(Some(c))
                if entries.iter().all(|e| e.blocked || e.class == LockClass::Flock || e.class == LockClass::Lease) =>
            {
                // The kernel sees a lock that /proc/locks does not show us.
                let why = match &proc_status {
                    ProcLocksStatus::Unreadable(e) => e.clone(),
                    ProcLocksStatus::Incomplete(n) => n.clone(),
                    _ => "not listed in /proc/locks: another PID namespace or another machine".to_string(),
                };
                let pid = (c.pid > 0).then_some(i64::from(c.pid));
                holders.push(Holder {
                    pid,
                    command: pid.and_then(|p| process_info(p).command),
                    file: which,
                    path: path.clone(),
                    kind: Some(c.kind),
                    start: c.start,
                    end: if c.len == 0 { None } else { Some(c.start + c.len - 1) },
                    note: Some(format!("reported by F_GETLK; {why}")),
                });
            }
            Ok(_) => {}
            Err(e) => holders.push(unverified(which, path, format!("lock query failed: {e}"))),
        }
    }
    // The unix-dotfile VFS locks by creating a directory named after the database.
    let mut dot = paths.db.clone().into_os_string();
    dot.push(".lock");
    let dot = PathBuf::from(dot);
    if dot.is_dir() {
        holders.push(Holder {
            pid: None,
            command: None,
            file: FileKind::Db,
            path: dot,
            kind: Some(LockType::Write),
            start: 0,
            end: None,
            note: Some("lock directory of the unix-dotfile VFS".into()),
        });
    }
    if holders.is_empty() { Ok(()) } else { Err(holders) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
1: POSIX  ADVISORY  WRITE 11981 fe:00:10010881 120 120
2: POSIX  ADVISORY  READ 11981 fe:00:10010881 124 124
3: POSIX  ADVISORY  READ 11993 fe:00:10010850 1073741826 1073742335
4: OFDLCK ADVISORY  READ -1 00:2e:123 0 EOF
5: FLOCK  ADVISORY  WRITE 1358 fe:00:5365779 0 EOF
6: -> POSIX  ADVISORY  WRITE 12000 fe:00:10010881 120 120
7: LEASE  ACTIVE    READ 900 103:02:77 0 EOF
8: DELEG  BREAKING  UNLCK 901 103:02:78 0 EOF
9: POSIX  *NOINODE* WRITE 5 <none>:0 0 EOF
garbage line
10: POSIX  ADVISORY  READ 12 fe:00:notanumber 0 0
";

    #[test]
    fn parses_proc_locks() {
        let v = parse_proc_locks(SAMPLE);
        assert_eq!(v.len(), 8);
        assert_eq!(
            v[0],
            ProcLock {
                id: 1,
                blocked: false,
                class: LockClass::Posix,
                kind: Some(LockType::Write),
                pid: 11981,
                dev_major: 0xfe,
                dev_minor: 0,
                ino: 10010881,
                start: 120,
                end: Some(120)
            }
        );
        assert_eq!((v[2].start, v[2].end), (SHARED_FIRST, Some(SHARED_FIRST + SHARED_SIZE - 1)));
        assert_eq!((v[3].class, v[3].pid, v[3].dev_minor, v[3].end), (LockClass::Ofd, -1, 0x2e, None));
        assert_eq!(v[4].class, LockClass::Flock);
        assert!(v[5].blocked && v[5].pid == 12000);
        assert_eq!((v[6].class, v[6].dev_major, v[6].dev_minor), (LockClass::Lease, 0x103, 2));
        assert_eq!(v[7].kind, None);
    }

    #[test]
    fn overlap_is_inclusive() {
        let v = parse_proc_locks(SAMPLE);
        assert!(v[0].overlaps(120, 120));
        assert!(!v[0].overlaps(121, 128));
        assert!(v[2].overlaps(SHARED_FIRST + 509, SHARED_FIRST + 509));
        assert!(!v[2].overlaps(PENDING_BYTE, RESERVED_BYTE));
        assert!(v[3].overlaps(u64::MAX - 1, u64::MAX));
    }

    #[test]
    fn dev_numbers() {
        // makedev() as glibc encodes it.
        fn makedev(major: u64, minor: u64) -> u64 {
            ((major & 0xfff) << 8) | ((major & !0xfff) << 32) | (minor & 0xff) | ((minor & !0xff) << 12)
        }
        assert_eq!(dev_major_minor(0xfe00), (254, 0));
        for (ma, mi) in [(259, 70000), (4099, 5), (0, 46), (8, 1)] {
            assert_eq!(dev_major_minor(makedev(ma, mi)), (ma as u32, mi as u32));
        }
    }

    #[test]
    fn selects_by_device_then_inode() {
        let v = parse_proc_locks(SAMPLE);
        let (e, m) = select_file_locks(&v, 0xfe00, 10010881);
        assert_eq!((e.len(), m), (3, InodeMatch::DeviceAndInode));
        // stat reports another device (btrfs subvolume): the inode alone decides when unique.
        let (e, m) = select_file_locks(&v, 0x2b, 10010850);
        assert_eq!((e.len(), m), (1, InodeMatch::InodeOnly));
        let (e, m) = select_file_locks(&v, 0xfe00, 4242);
        assert_eq!((e.len(), m), (0, InodeMatch::None));
    }

    #[test]
    fn namespaces_and_status() {
        assert_eq!(parse_ns_link("pid:[4026531836]"), Some(4026531836));
        assert_eq!(parse_ns_link("garbage"), None);
        let (uid, ns) = parse_status("Name:\tpython3\nUid:\t1000\t1001\t1001\t1001\nNSpid:\t4242\t7\n");
        assert_eq!((uid, ns), (Some(1001), vec![4242, 7]));
    }

    #[test]
    fn lock_table_matches_the_vfs() {
        assert_eq!(
            lock_spec(FileKind::Db, LockName::Shared).map(|s| (s.offset, s.last())),
            Some((0x4000_0002, 0x4000_01ff))
        );
        assert_eq!(lock_spec(FileKind::Shm, LockName::Read4).map(|s| s.offset), Some(127));
        assert_eq!(lock_spec(FileKind::Shm, LockName::Dms).map(|s| s.offset), Some(128));
        assert!(lock_spec(FileKind::Db, LockName::Dms).is_none());
    }

    #[test]
    fn own_process_is_unlocked() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        std::fs::write(&db, b"not even a database").unwrap();
        let paths = Paths::resolve(&db);
        assert_eq!(assert_unlocked(&paths), Ok(()));
        let p = probe_paths(&paths);
        assert!(p.consistent && p.db.is_some() && p.shm.is_none());
        assert!(p.db.as_ref().unwrap().conflicts.iter().all(|(_, c)| c == &Ok(None)));
    }
}
