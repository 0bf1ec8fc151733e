//! `scan`: group the files a walk recognised into evidence sets, and analyse every set the way
//! `check` analyses one — the same consistent read ([`super::analyze_settled`]), the same bad-input contract
//! ([`check_contract`]), the same findings — in parallel across all cores.
//!
//! Grouping, by content first and names second:
//! 1. every file whose first bytes are a database header starts a set;
//! 2. its `-wal`, `-shm` and `-journal` (by name, whatever their content: SQLite would use them)
//!    join it; an empty file with a WAL beside it is a database too (SQLite treats a 0-byte
//!    database as empty, and the WAL holds its content);
//! 3. a WAL (by content) no database claimed is a lone WAL: named `X-wal`, it takes `X-shm` with
//!    it (as SQLite would), and `X` when that exists but is not a database by content (`check`
//!    reads it beside the WAL); under any other name (a backup, a replication log) it stands
//!    alone;
//! 4. a `-shm` or a rollback journal (by content) no set claimed is a lone `-shm`/journal.
//!
//! A file can belong to two sets (a database named `a-wal` beside a database `a`): each set is
//! what SQLite would open.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{Error, Options, Session, check_contract};
use crate::analysis::findings::Finding;
use crate::format::sniff::Sniffed;
use crate::source::walk::{FileDigest, SeenFile, hash_file, hash_open};
use crate::source::{Evidence, EvidenceFile, FileKind, FileStamp, Paths, SourceError};

/// A file's part in a set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Db,
    Wal,
    Shm,
    Journal,
}

impl Role {
    /// The JSON/text key: "db", "wal", "shm", "journal".
    pub fn key(self) -> &'static str {
        match self {
            Self::Db => "db",
            Self::Wal => "wal",
            Self::Shm => "shm",
            Self::Journal => "journal",
        }
    }
}

/// What a set is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SetKind {
    /// A database (with whatever `-wal`, `-shm`, `-journal` it has).
    Database,
    /// A WAL with no database beside it.
    LoneWal,
    /// A `-shm` with neither database nor WAL.
    LoneShm,
    /// A rollback journal with no database.
    LoneJournal,
}

impl SetKind {
    /// "database", "lone_wal", "lone_shm", "lone_journal".
    pub fn key(self) -> &'static str {
        match self {
            Self::Database => "database",
            Self::LoneWal => "lone_wal",
            Self::LoneShm => "lone_shm",
            Self::LoneJournal => "lone_journal",
        }
    }
}

/// One file of a set, as the walk saw it.
#[derive(Clone, Debug)]
pub struct Member {
    pub role: Role,
    pub path: PathBuf,
    pub sniffed: Sniffed,
    pub stamp: FileStamp,
}

/// An evidence set.
#[derive(Clone, Debug)]
pub struct EvidenceSet {
    pub kind: SetKind,
    /// The file the set is named by (the database, or the lone file).
    pub primary: PathBuf,
    /// In role order.
    pub members: Vec<Member>,
    /// A lone WAL or -shm whose name does not say what it is (no `-wal`/`-shm` suffix).
    pub renamed: bool,
}

impl EvidenceSet {
    pub fn member(&self, role: Role) -> Option<&Member> {
        self.members.iter().find(|m| m.role == role)
    }
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

fn strip_suffix(p: &Path, suffix: &str) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let b = p.as_os_str().as_bytes();
    let base = b.strip_suffix(suffix.as_bytes())?;
    // "-wal" alone (no base name) is not a sibling of anything.
    if base.is_empty() || base.ends_with(b"/") {
        return None;
    }
    Some(PathBuf::from(std::ffi::OsStr::from_bytes(base)))
}

const SIBLINGS: [(&str, Role); 3] = [("-wal", Role::Wal), ("-shm", Role::Shm), ("-journal", Role::Journal)];

fn member(role: Role, f: &SeenFile) -> Member {
    Member { role, path: f.path.clone(), sniffed: f.sniffed, stamp: f.stamp }
}

/// Group the files of a walk into evidence sets (see the module doc), ordered by primary path.
pub fn group(files: &[SeenFile]) -> Vec<EvidenceSet> {
    let by_path: HashMap<&Path, &SeenFile> = files.iter().map(|f| (f.path.as_path(), f)).collect();
    let mut sets: BTreeMap<PathBuf, EvidenceSet> = BTreeMap::new();
    let mut claimed: HashSet<&Path> = HashSet::new();
    let is_db = |f: &SeenFile| {
        f.sniffed == Sniffed::Database
            || (f.sniffed == Sniffed::Empty
                && by_path
                    .get(with_suffix(&f.path, "-wal").as_path())
                    .is_some_and(|w| matches!(w.sniffed, Sniffed::Wal { .. })))
    };
    for f in files.iter().filter(|f| is_db(f)) {
        let mut members = vec![member(Role::Db, f)];
        claimed.insert(&f.path);
        for (suffix, role) in SIBLINGS {
            if let Some(s) = by_path.get(with_suffix(&f.path, suffix).as_path()) {
                members.push(member(role, s));
                claimed.insert(&s.path);
            }
        }
        sets.insert(
            f.path.clone(),
            EvidenceSet { kind: SetKind::Database, primary: f.path.clone(), members, renamed: false },
        );
    }
    for f in files.iter().filter(|f| matches!(f.sniffed, Sniffed::Wal { .. })) {
        if claimed.contains(f.path.as_path()) {
            continue;
        }
        let mut members = vec![member(Role::Wal, f)];
        claimed.insert(&f.path);
        let base = strip_suffix(&f.path, "-wal");
        // The file SQLite would take for its database, when it is not one by content: `check`
        // opens it beside the WAL, so the set holds it too.
        if let Some(db) = base.as_ref().and_then(|b| by_path.get(b.as_path())) {
            members.insert(0, member(Role::Db, db));
        }
        if let Some(shm) = base.as_ref().and_then(|b| by_path.get(with_suffix(b, "-shm").as_path())) {
            members.push(member(Role::Shm, shm));
            claimed.insert(&shm.path);
        }
        sets.insert(
            f.path.clone(),
            EvidenceSet { kind: SetKind::LoneWal, primary: f.path.clone(), members, renamed: base.is_none() },
        );
    }
    for f in files {
        if claimed.contains(f.path.as_path()) {
            continue;
        }
        let (kind, role, suffix) = match f.sniffed {
            Sniffed::Shm { .. } => (SetKind::LoneShm, Role::Shm, "-shm"),
            Sniffed::Journal => (SetKind::LoneJournal, Role::Journal, "-journal"),
            _ => continue,
        };
        let renamed = strip_suffix(&f.path, suffix).is_none();
        sets.insert(
            f.path.clone(),
            EvidenceSet { kind, primary: f.path.clone(), members: vec![member(role, f)], renamed },
        );
    }
    sets.into_values().collect()
}

/// The SHA-256 of one member (or why it could not be read whole).
#[derive(Clone, Debug)]
pub struct MemberHash {
    pub role: Role,
    pub path: PathBuf,
    pub digest: Result<FileDigest, String>,
}

/// What analysing one set gave.
pub struct SetOutcome<'s> {
    pub set: &'s EvidenceSet,
    /// The opened and analysed evidence, or why `check` would stop with exit status 2.
    pub session: Result<Session, Error>,
    /// The findings `check` reports (empty when the session failed).
    pub findings: Vec<Finding>,
    /// Row versions `salvage` would list (None when not computed: no session, or no frame
    /// SQLite ignores).
    pub salvage_rows: Option<usize>,
    /// Every member's hash, in role order.
    pub hashes: Vec<MemberHash>,
    /// Facts about the set that are not findings (a hot journal, a renamed lone WAL, a file that
    /// changed while being analysed).
    pub notes: Vec<String>,
}

/// The paths of a set as the session names them: the members, and for absent roles the
/// name-derived siblings (so the live probe looks where SQLite would).
fn set_paths(set: &EvidenceSet) -> Paths {
    let get = |r: Role| set.member(r).map(|m| m.path.clone());
    let named = match set.kind {
        SetKind::Database => FileKind::Db,
        SetKind::LoneWal => FileKind::Wal,
        SetKind::LoneShm | SetKind::LoneJournal => FileKind::Shm,
    };
    if set.renamed {
        // As `Paths::resolve_paired` names a file recognised by content alone: placeholders for
        // the roles it lacks, never opened.
        let absent = |suffix: &str| with_suffix(&set.primary, suffix);
        return Paths {
            db: get(Role::Db).unwrap_or_else(|| absent(".absent-db")),
            wal: get(Role::Wal).unwrap_or_else(|| absent(".absent-wal")),
            shm: get(Role::Shm).unwrap_or_else(|| absent(".absent-shm")),
            named,
            lone: true,
        };
    }
    let base = match set.kind {
        SetKind::Database => set.primary.clone(),
        SetKind::LoneWal => strip_suffix(&set.primary, "-wal").unwrap_or_else(|| set.primary.clone()),
        SetKind::LoneShm | SetKind::LoneJournal => {
            strip_suffix(&set.primary, "-shm").unwrap_or_else(|| set.primary.clone())
        }
    };
    Paths {
        db: get(Role::Db).unwrap_or_else(|| base.clone()),
        wal: get(Role::Wal).unwrap_or_else(|| with_suffix(&base, "-wal")),
        shm: get(Role::Shm).unwrap_or_else(|| with_suffix(&base, "-shm")),
        named,
        // The walk grouped the members explicitly; nothing else is opened.
        lone: false,
    }
}

/// Open the members of a set (the database's, -wal's and -shm's, exactly those the walk
/// grouped), the named one first so its problem is the one reported.
fn open_set(set: &EvidenceSet) -> Result<Evidence, SourceError> {
    let paths = set_paths(set);
    let open = |r: Role| set.member(r).map(|m| EvidenceFile::open(&m.path)).transpose();
    let named = match paths.named {
        FileKind::Db => Role::Db,
        FileKind::Wal => Role::Wal,
        FileKind::Shm => Role::Shm,
    };
    let first = open(named)?;
    let rest = |r: Role| if r == named { Ok(None) } else { open(r) };
    let (mut db, mut wal, mut shm) = (rest(Role::Db)?, rest(Role::Wal)?, rest(Role::Shm)?);
    match named {
        Role::Db => db = first,
        Role::Wal => wal = first,
        _ => shm = first,
    }
    // The rollback journal beside the database, as `Evidence::open` finds it.
    let journal = db.as_ref().and_then(|_| {
        let mut j = paths.db.clone().into_os_string();
        j.push("-journal");
        EvidenceFile::open_optional(std::path::Path::new(&j)).ok().flatten()
    });
    Ok(Evidence { paths, db, wal, shm, journal, pairing_note: None })
}

/// Analyse one set as `check` would analyse its primary file (see the module doc), hashing
/// every member from the very descriptors the analysis reads.
pub fn analyse<'s>(set: &'s EvidenceSet, options: &Options, want_salvage: bool) -> SetOutcome<'s> {
    let mut notes = Vec::new();
    let mut hashes = Vec::new();
    if set.kind == SetKind::LoneJournal {
        let h = set.members.iter().map(|m| MemberHash {
            role: m.role,
            path: m.path.clone(),
            digest: hash_file(&m.path, Some(&m.stamp)),
        });
        return SetOutcome {
            set,
            session: Err(Error::Input(SourceError::new(
                &set.primary,
                "a rollback journal with no database: journals are not analysed",
            ))),
            findings: Vec::new(),
            salvage_rows: None,
            hashes: h.collect(),
            notes,
        };
    }
    if set.renamed && set.kind == SetKind::LoneWal {
        notes.push("a WAL under another name: recognised by its content, analysed alone".to_string());
    }
    if let Some(j) = set.member(Role::Journal) {
        if j.sniffed == Sniffed::Journal {
            notes.push(
                "hot rollback journal: SQLite would roll it back into the database when it next opens it; \
                 journals are not analysed"
                    .to_string(),
            );
        }
        hashes.push(MemberHash {
            role: Role::Journal,
            path: j.path.clone(),
            digest: hash_file(&j.path, Some(&j.stamp)),
        });
    }
    let ev = match open_set(set) {
        Ok(ev) => ev,
        Err(e) => {
            for m in set.members.iter().filter(|m| m.role != Role::Journal) {
                hashes.push(MemberHash {
                    role: m.role,
                    path: m.path.clone(),
                    digest: hash_file(&m.path, Some(&m.stamp)),
                });
            }
            hashes.sort_by_key(|h| h.role);
            return SetOutcome { set, session: Err(e.into()), findings: Vec::new(), salvage_rows: None, hashes, notes };
        }
    };
    for (role, f) in [(Role::Db, &ev.db), (Role::Wal, &ev.wal), (Role::Shm, &ev.shm)] {
        if let Some(f) = f {
            let walked = set.member(role).map(|m| &m.stamp);
            hashes.push(MemberHash { role, path: f.path.clone(), digest: hash_open(&f.file, walked) });
        }
    }
    hashes.sort_by_key(|h| h.role);
    let (analysis, settled) = super::analyze_settled(&ev, options);
    let mut ev = ev;
    settled.stamp_sizes(&mut ev);
    if let Err(e) = check_contract(&ev, &analysis) {
        return SetOutcome { set, session: Err(e), findings: Vec::new(), salvage_rows: None, hashes, notes };
    }
    let session = Session { evidence: ev, analysis, options: options.clone(), settled };
    let findings = session.findings();
    let salvage_rows = if want_salvage { salvage_count(&session) } else { None };
    for f in [&session.evidence.db, &session.evidence.wal, &session.evidence.shm].into_iter().flatten() {
        let now = f.file.metadata().map(|m| FileStamp::of(&m));
        if now.as_ref().ok() != Some(&f.stamp) {
            notes.push(format!("{} changed while being analysed", f.path.display()));
        }
    }
    SetOutcome { set, session: Ok(session), findings, salvage_rows, hashes, notes }
}

/// How many row versions `salvage` lists for this evidence (0 without a frame SQLite ignores).
fn salvage_count(s: &Session) -> Option<usize> {
    let w = s.analysis.wal.as_ref()?;
    if crate::forensics::salvage::frame_groups(w).is_empty() {
        return Some(0);
    }
    let fx = crate::forensics::snapshot::Forensics::from_evidence(&s.evidence, &s.analysis).ok()?;
    Some(crate::forensics::salvage::salvage(&fx).rows.len())
}

/// Analyse every set in parallel (all cores), handing each outcome to `convert` on the worker
/// that produced it (so the files are closed as soon as the set is done); `done` is called
/// after each set. Results come back in the order of `sets`.
pub fn analyse_all<R: Send>(
    sets: &[EvidenceSet],
    options: Options,
    want_salvage: bool,
    convert: &(dyn Fn(SetOutcome<'_>) -> R + Sync),
    done: &(dyn Fn(&EvidenceSet) + Sync),
) -> Vec<R> {
    sets.par_iter()
        .map(|s| {
            let r = convert(analyse(s, &options, want_salvage));
            done(s);
            r
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(p: &str, sniffed: Sniffed) -> SeenFile {
        SeenFile { path: PathBuf::from(p), stamp: FileStamp { len: 0, dev: 0, ino: 0, mtime_ns: 0 }, sniffed }
    }

    #[test]
    fn groups_by_content_then_names() {
        let wal = Sniffed::Wal { big_endian_checksums: false };
        let shm = Sniffed::Shm { big_endian: false };
        let files = vec![
            seen("/e/a.db", Sniffed::Database),
            seen("/e/a.db-wal", wal),
            seen("/e/a.db-shm", shm),
            seen("/e/a.db-journal", Sniffed::Empty),
            seen("/e/backup.log", wal),
            seen("/e/gone.db-wal", wal),
            seen("/e/gone.db-shm", shm),
            seen("/e/orphan-shm", shm),
            seen("/e/old.db-journal", Sniffed::Journal),
            seen("/e/notes.txt", Sniffed::Other),
            seen("/e/empty.db", Sniffed::Empty),
            seen("/e/empty.db-wal", wal),
            seen("/e/blank", Sniffed::Empty),
            seen("/e/text", Sniffed::Other),
            seen("/e/text-wal", wal),
        ];
        let sets = group(&files);
        let got: Vec<(String, &str, Vec<&str>, bool)> = sets
            .iter()
            .map(|s| {
                (
                    s.primary.display().to_string(),
                    s.kind.key(),
                    s.members.iter().map(|m| m.role.key()).collect(),
                    s.renamed,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("/e/a.db".into(), "database", vec!["db", "wal", "shm", "journal"], false),
                ("/e/backup.log".into(), "lone_wal", vec!["wal"], true),
                ("/e/empty.db".into(), "database", vec!["db", "wal"], false),
                ("/e/gone.db-wal".into(), "lone_wal", vec!["wal", "shm"], false),
                ("/e/old.db-journal".into(), "lone_journal", vec!["journal"], false),
                ("/e/orphan-shm".into(), "lone_shm", vec!["shm"], false),
                ("/e/text-wal".into(), "lone_wal", vec!["db", "wal"], false),
            ]
        );
        let p = set_paths(&sets[1]);
        assert_eq!((p.wal.as_path(), p.named), (Path::new("/e/backup.log"), FileKind::Wal));
    }
}
