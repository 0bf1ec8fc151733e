//! Every version of one row found anywhere: the database file, each commit of the current
//! WAL generation, the uncommitted tail, frames of earlier generations, frames after a checksum
//! break, frames with foreign salts and a torn last frame — in time order, each labelled with
//! its source and whether SQLite would show it.
//!
//! Carved versions (records deleted into free space) are added by [`add_carved`] from a
//! carving run.
//!
//! Current versions come from the incremental timeline (restricted to the table), so the cost
//! is that of the timeline; salvaged versions come from decoding the frames SQLite ignores
//! (see [`super::salvage`]).

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::HashMap;

use crate::format::fingerprint::fingerprint;
use std::sync::Arc;

use super::carve::{Carving, Place};
use super::ownership::{Catalog, ObjectInfo};
use super::salvage::{GroupKind, all_groups, attribute, scan_groups, track_with_owners};
use super::schema::TableDef;
use super::snapshot::{Forensics, Note};
use super::timeline::{RowKey, RowOp, TrackOptions, key_values, row_key};
use super::walk::{Budget, CellData, Visitor, find_rowid, walk_tree};
use crate::format::db_header::PageType;
use crate::format::record::{TextEncoding, Value};
use crate::format::vocab::vocabulary;

/// Which row: a rowid, or primary-key values of a WITHOUT ROWID table (matched by their text
/// form: `7`, `abc`, `2.5`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySpec {
    Rowid(i64),
    Pk(Vec<String>),
}

vocabulary! {
    /// Where a version of a row was found.
    pub enum SourceKind {
        /// The database file alone (before the first commit of the WAL).
        DbFile = "db_file",
        /// A commit of the current WAL generation.
        Commit = "commit",
        /// Valid frames after the last commit.
        Uncommitted = "uncommitted",
        /// Frames of an earlier WAL generation.
        Stale = "stale",
        /// Frames after the checksum break carrying the current salts.
        AfterBreak = "after_break",
        /// Frames with salts of no recognisable generation.
        Foreign = "foreign",
        /// The partial frame at the end of the file.
        Torn = "torn",
        /// A page record of the rollback journal (before the last, or interrupted, transaction).
        Journal = "journal",
        /// A record carved from free space: a deleted version the database no longer shows
        /// (see `salvage`'s carving section).
        Carved = "carved",
    }
}

vocabulary! {
    /// How a version appears: found as is, or a timeline event.
    pub enum VersionOp {
        Present = "present",
        Insert = "insert",
        Update = "update",
        Delete = "delete",
    }
}

impl From<RowOp> for VersionOp {
    fn from(o: RowOp) -> Self {
        match o {
            RowOp::Insert => Self::Insert,
            RowOp::Update => Self::Update,
            RowOp::Delete => Self::Delete,
        }
    }
}

impl From<GroupKind> for SourceKind {
    fn from(g: GroupKind) -> Self {
        match g {
            GroupKind::Uncommitted => Self::Uncommitted,
            GroupKind::AfterBreak => Self::AfterBreak,
            GroupKind::Stale => Self::Stale,
            GroupKind::Foreign => Self::Foreign,
            GroupKind::Torn => Self::Torn,
            GroupKind::Journal => Self::Journal,
        }
    }
}

/// Where a version was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionSource {
    pub kind: SourceKind,
    /// Commit number (kind "commit").
    pub commit: Option<u32>,
    /// Frames holding this version (the leaf page's frame; several for salvaged copies).
    pub frames: Vec<u32>,
    /// The page holding the cell.
    pub page: Option<u32>,
    pub salts: Option<[u32; 2]>,
    pub generations_ago: Option<u32>,
}

/// One version of the row.
#[derive(Clone, Debug, PartialEq)]
pub struct RowVersion {
    pub source: VersionSource,
    pub op: VersionOp,
    /// Raw record bytes; None for a deletion.
    pub payload: Option<Vec<u8>>,
    /// SQLite shows this version to a reader of some commit (or of the database file alone).
    pub sqlite_visible: bool,
    /// This is the version SQLite shows now.
    pub current: bool,
    /// Salvaged copies: the transaction ends with a commit frame in its generation.
    pub committed_in_generation: Option<bool>,
    /// Salvaged copies: some current version has the same bytes.
    pub equals_visible_version: bool,
    pub complete: bool,
    /// Overflow content taken from outside the frame's generation.
    pub uncertain: bool,
    /// Other places holding exactly these bytes (a copy in an earlier generation, a spilled
    /// page of the uncommitted tail), merged into this entry instead of listed apart.
    pub also_in: Vec<VersionSource>,
    /// `carved` versions: how and where carving found the record.
    pub carved: Option<CarvedVersion>,
}

/// How and where a carved version was found.
#[derive(Clone, Debug, PartialEq)]
pub struct CarvedVersion {
    /// Source class of the first place (`freeblock`, `unallocated`, `freelist_leaf`, ...).
    pub source: &'static str,
    /// Every value read from the bytes and the payload complete.
    pub exact: bool,
    /// Fields rebuilt or chosen (as in `salvage`'s carving section).
    pub inferred: Vec<String>,
    /// Every place the record was seen.
    pub places: Vec<Place>,
}

/// The row's history.
#[derive(Clone, Debug)]
pub struct History {
    pub table: String,
    pub def: Arc<TableDef>,
    pub versions: Vec<RowVersion>,
    pub notes: Vec<Note>,
    pub encoding: TextEncoding,
}

impl History {
    /// Column names for the values of [`History::values`].
    pub fn columns(&self) -> Vec<String> {
        let n = self
            .versions
            .iter()
            .filter_map(|v| v.payload.as_deref())
            .map(|p| crate::format::record::decode_record(p, self.encoding).values.len())
            .max()
            .unwrap_or(0);
        self.def.column_names(n)
    }
    /// Decoded values of a version.
    pub fn values(&self, v: &RowVersion, key: &RowKey) -> Option<(Vec<Value>, Option<String>)> {
        v.payload.as_deref().map(|p| super::timeline::row_values(&self.def, key, p, self.encoding))
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::Text(s) | Value::TextBytes { text: s, .. } => s.clone(),
        Value::Integer(i) => i.to_string(),
        Value::Real(r) => r.to_string(),
        Value::Null => "NULL".into(),
        Value::Blob(b) => b.iter().map(|x| format!("{x:02x}")).collect(),
    }
}

fn matches(spec: &KeySpec, def: &TableDef, key: &RowKey, payload: Option<&[u8]>, enc: TextEncoding) -> bool {
    match (spec, key) {
        (KeySpec::Rowid(r), RowKey::Rowid(k)) => r == k,
        (KeySpec::Pk(want), RowKey::Pk(_)) => {
            let got: Vec<String> = key_values(def, key, payload, enc).iter().map(value_text).collect();
            &got == want
        }
        _ => false,
    }
}

struct PkFinder<'k> {
    obj: &'k ObjectInfo,
    spec: &'k KeySpec,
    enc: TextEncoding,
    found: Vec<(RowKey, CellData)>,
    notes: Vec<Note>,
}

impl Visitor for PkFinder<'_> {
    fn wants_cells(&self) -> bool {
        true
    }
    fn cell(&mut self, c: CellData) {
        let Some(def) = self.obj.table.as_deref() else { return };
        if let Some(k) = row_key(self.obj, c.rowid, &c.payload, self.enc)
            && matches(self.spec, def, &k, Some(&c.payload), self.enc)
        {
            self.found.push((k, c));
        }
    }
    fn note(&mut self, n: Note) {
        self.notes.push(n);
    }
}

/// Every version of `table`'s row `spec`. Errors when the table is unknown in every snapshot
/// read, or the key form does not fit the table.
pub fn history(fx: &Forensics<'_>, table: &str, spec: &KeySpec) -> Result<(History, Option<RowKey>), HistoryError> {
    let mut notes = Vec::new();
    let base = fx.snapshot(fx.base());
    let latest = fx.snapshot(fx.latest());
    let enc = latest.encoding;
    let mut budget = Budget::default();
    let base_cat = Catalog::read(&base, &mut budget);
    let latest_cat = Catalog::read(&latest, &mut budget);
    let obj = latest_cat.by_name(table).or_else(|| base_cat.by_name(table)).cloned();
    let mut versions: Vec<RowVersion> = Vec::new();
    let mut the_key: Option<RowKey> = None;
    // The database file.
    if let Some(o) = base_cat.by_name(table) {
        let def = o.table.clone().unwrap_or_default();
        match (spec, o.without_rowid()) {
            (KeySpec::Rowid(r), false) => {
                if let Some(c) = find_rowid(&base, o.root, *r, &mut notes, &mut budget) {
                    the_key = Some(RowKey::Rowid(*r));
                    versions.push(visible_version(SourceKind::DbFile, None, &c, false));
                }
            }
            (KeySpec::Pk(_), true) => {
                let mut f = PkFinder { obj: o, spec, enc, found: Vec::new(), notes: Vec::new() };
                walk_tree(&base, o.root, &mut f, &mut budget);
                notes.append(&mut f.notes);
                if let Some((k, c)) = f.found.into_iter().next() {
                    the_key = Some(k);
                    versions.push(visible_version(SourceKind::DbFile, None, &c, false));
                }
            }
            _ => return Err(key_form_error(table, def.without_rowid)),
        }
    }
    // The timeline, restricted to this table.
    let mut def: Option<Arc<TableDef>> = obj.as_ref().and_then(|o| o.table.clone());
    let (hist, base_notes) =
        track_with_owners(fx, TrackOptions { rows: true, only_table: Some(table.to_string()), budget: 0 }, |ch| {
            for t in ch.tables.iter().filter(|t| t.name.eq_ignore_ascii_case(table)) {
                for rc in &t.changes {
                    let payload = rc.new.as_deref().or(rc.old.as_deref());
                    if !matches(spec, &t.table, &rc.key, payload, enc) {
                        continue;
                    }
                    the_key.get_or_insert_with(|| rc.key.clone());
                    def.get_or_insert_with(|| t.table.clone());
                    versions.push(RowVersion {
                        source: VersionSource {
                            kind: if ch.committed { SourceKind::Commit } else { SourceKind::Uncommitted },
                            commit: ch.number,
                            frames: rc.origin.frame().into_iter().collect(),
                            page: Some(rc.page),
                            salts: fx.wal().and_then(|w| w.header).map(|h| h.salts()),
                            generations_ago: None,
                        },
                        op: rc.op().into(),
                        payload: rc.new.clone(),
                        sqlite_visible: ch.committed,
                        current: false,
                        committed_in_generation: None,
                        equals_visible_version: false,
                        complete: true,
                        uncertain: false,
                        also_in: Vec::new(),
                        carved: None,
                    });
                }
            }
        });
    notes.extend(base_notes);
    let Some(def) = def.or_else(|| hist.tables.get(table).and_then(|o| o.table.clone())) else {
        return Err(HistoryError::NoSuchTable(table.to_string()));
    };
    if matches!(spec, KeySpec::Rowid(_)) == def.without_rowid {
        return Err(key_form_error(table, def.without_rowid));
    }
    // The version SQLite shows now: the last visible one, unless deleted.
    if let Some(v) = versions.iter_mut().rev().find(|v| v.sqlite_visible) {
        v.current = v.payload.is_some();
    }
    // The visible versions' payloads by content fingerprint (confirmed byte for byte).
    let mut visible: HashMap<u64, Vec<Vec<u8>>> = HashMap::new();
    for p in versions.iter().filter(|v| v.sqlite_visible).filter_map(|v| v.payload.as_ref()) {
        let same = visible.entry(fingerprint(p)).or_default();
        if !same.contains(p) {
            same.push(p.clone());
        }
    }
    let is_visible = |p: &[u8]| visible.get(&fingerprint(p)).is_some_and(|v| v.iter().any(|x| x.as_slice() == p));
    // Salvaged versions by (content fingerprint, salts, kind): one entry per distinct payload
    // of a generation, the frames that hold it gathered.
    let mut seen: HashMap<(u64, [u32; 2], SourceKind), Vec<usize>> = HashMap::new();
    // Frames SQLite ignores, the uncommitted tail included: the timeline sees only the tail's
    // pages a b-tree reaches, while a writer killed mid-transaction with a small cache leaves
    // most of its rows in spilled pages that nothing points to yet.
    let mut salvaged: Vec<RowVersion> = Vec::new();
    {
        let groups: Vec<_> = all_groups(fx);
        let want_type = if def.without_rowid { PageType::IndexLeaf } else { PageType::TableLeaf };
        let rowid = match spec {
            KeySpec::Rowid(r) => Some(*r),
            KeySpec::Pk(_) => None,
        };
        let mut scan_notes = Vec::new();
        scan_groups(
            fx,
            &groups,
            latest.usable,
            &mut scan_notes,
            |t, r| {
                (t == want_type || (def.without_rowid && t == PageType::IndexInterior))
                    && (rowid.is_none() || r == rowid)
            },
            |found| {
                let a = attribute(&hist, &found, enc);
                let named = a.table.as_deref().is_some_and(|t| t.eq_ignore_ascii_case(table));
                let candidate = a.table.is_none() && a.candidates.iter().any(|c| c.eq_ignore_ascii_case(table));
                if !named && !candidate {
                    return;
                }
                let Some(o) = hist.tables.get(a.table.as_deref().unwrap_or(table)).or(obj.as_ref()) else {
                    return;
                };
                let Some(k) = row_key(o, found.rowid, &found.payload, enc) else { return };
                if !matches(spec, &def, &k, Some(&found.payload), enc) {
                    return;
                }
                the_key.get_or_insert(k);
                let Some(g) = groups.get(found.group) else { return };
                let here = VersionSource {
                    kind: g.kind.into(),
                    commit: None,
                    frames: vec![found.frame],
                    page: Some(found.page),
                    salts: Some(g.salts),
                    generations_ago: g.generations_ago,
                };
                // A copy of a version already listed (the same bytes): one entry, both places.
                if let Some(v) = versions.iter_mut().find(|v| v.payload.as_deref() == Some(found.payload.as_slice())) {
                    if v.source.kind == here.kind && v.source.salts == here.salts {
                        if !v.source.frames.contains(&found.frame) {
                            v.source.frames.push(found.frame);
                        }
                    } else if let Some(a) = v.also_in.iter_mut().find(|a| a.kind == here.kind && a.salts == here.salts)
                    {
                        if !a.frames.contains(&found.frame) {
                            a.frames.push(found.frame);
                        }
                    } else {
                        v.also_in.push(here);
                    }
                    return;
                }
                let same = seen.entry((fingerprint(&found.payload), g.salts, SourceKind::from(g.kind))).or_default();
                let prev = same
                    .iter()
                    .copied()
                    .find(|&i| salvaged.get(i).is_some_and(|v| v.payload.as_deref() == Some(found.payload.as_slice())));
                if let Some(prev) = prev.and_then(|i| salvaged.get_mut(i)) {
                    prev.source.frames.push(found.frame);
                    return;
                }
                same.push(salvaged.len());
                salvaged.push(RowVersion {
                    source: here,
                    op: VersionOp::Present,
                    equals_visible_version: is_visible(&found.payload),
                    payload: Some(found.payload),
                    sqlite_visible: false,
                    current: false,
                    committed_in_generation: Some(g.committed(found.frame)),
                    complete: found.complete,
                    uncertain: found.uncertain,
                    also_in: Vec::new(),
                    carved: None,
                });
            },
        );
        notes.extend(scan_notes);
    }
    // Time order: older generations, foreign salts, the file and commits, the tail, then what
    // was written after the checksum break and the torn frame.
    let rank = |v: &RowVersion| match v.source.kind {
        // Deleted from the database file before what any other source shows.
        SourceKind::Carved => 0,
        SourceKind::Stale => 0,
        SourceKind::Foreign => 1,
        // Before the last transaction of the database file.
        SourceKind::Journal => 2,
        SourceKind::DbFile | SourceKind::Commit => 3,
        SourceKind::Uncommitted => 4,
        SourceKind::AfterBreak => 5,
        SourceKind::Torn => 6,
    };
    versions.extend(salvaged);
    versions.sort_by_key(|v| {
        (
            rank(v),
            std::cmp::Reverse(v.source.generations_ago),
            v.source.commit.unwrap_or(0),
            v.source.frames.first().copied().unwrap_or(0),
        )
    });
    Ok((History { table: table.to_string(), def, versions, notes, encoding: enc }, the_key))
}

fn visible_version(kind: SourceKind, commit: Option<u32>, c: &CellData, _uncertain: bool) -> RowVersion {
    RowVersion {
        source: VersionSource {
            kind,
            commit,
            frames: c.origin.frame().into_iter().collect(),
            page: Some(c.page),
            salts: None,
            generations_ago: None,
        },
        op: VersionOp::Present,
        payload: Some(c.payload.clone()),
        sqlite_visible: true,
        current: false,
        committed_in_generation: None,
        equals_visible_version: false,
        complete: c.complete,
        uncertain: false,
        also_in: Vec::new(),
        carved: None,
    }
}

/// The key of a WITHOUT ROWID record (its leading primary-key values), as the timeline keys it.
fn pk_key(def: &TableDef, payload: &[u8], enc: TextEncoding) -> RowKey {
    let rec = crate::format::record::decode_record(payload, enc);
    let mut k = Vec::new();
    for v in rec.values.iter().take(def.pk_len().max(1)) {
        v.key_bytes(&mut k);
    }
    RowKey::Pk(k)
}

/// Add the versions of the row that carving found in free space (`source.kind` `carved`,
/// listed first: deleted before what the other sources show): records attributed to this
/// table whose rowid — or, for WITHOUT ROWID tables, primary key — is the row's. A record
/// whose rowid was lost is not this row's for certain and is left out. A carved record
/// byte-identical to a listed version joins that version's `also_in`. Fills `key` when only
/// carving found the row.
pub fn add_carved(h: &mut History, spec: &KeySpec, key: &mut Option<RowKey>, c: &Carving) {
    let mut carved = Vec::new();
    for r in &c.rows {
        if !r.table.as_deref().is_some_and(|t| t.eq_ignore_ascii_case(&h.table)) {
            continue;
        }
        let k = if h.def.without_rowid {
            pk_key(&h.def, &r.payload, h.encoding)
        } else {
            match r.rowid {
                Some(x) => RowKey::Rowid(x),
                None => continue,
            }
        };
        if !matches(spec, &h.def, &k, Some(&r.payload), h.encoding) {
            continue;
        }
        key.get_or_insert(k);
        let first = r.places.first();
        let mut frames: Vec<u32> = r.places.iter().filter_map(|p| p.frame).collect();
        frames.sort_unstable();
        frames.dedup();
        let source = VersionSource {
            kind: SourceKind::Carved,
            commit: None,
            frames,
            page: first.map(|p| p.page),
            salts: None,
            generations_ago: first.and_then(|p| p.generations_ago),
        };
        if let Some(v) = h.versions.iter_mut().find(|v| v.payload.as_deref() == Some(r.payload.as_slice())) {
            v.also_in.push(source);
            continue;
        }
        carved.push(RowVersion {
            source,
            op: VersionOp::Present,
            payload: Some(r.payload.clone()),
            sqlite_visible: false,
            current: false,
            committed_in_generation: None,
            equals_visible_version: false,
            complete: r.complete,
            uncertain: false,
            also_in: Vec::new(),
            carved: Some(CarvedVersion {
                source: r.source().name(),
                exact: r.exact,
                inferred: r.inferred.clone(),
                places: r.places.clone(),
            }),
        });
    }
    h.versions.splice(0..0, carved);
}

fn key_form_error(table: &str, without_rowid: bool) -> HistoryError {
    HistoryError::WrongKeyForm { table: table.to_string(), without_rowid }
}

/// Why a row's history cannot be looked up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HistoryError {
    /// No version of `sqlite_schema` in the evidence has a table of this name.
    NoSuchTable(String),
    /// A rowid was given for a WITHOUT ROWID table, or a key for a rowid table.
    WrongKeyForm { table: String, without_rowid: bool },
}

impl std::fmt::Display for HistoryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoSuchTable(t) => write!(f, "no table named {t} in the database file or in any commit"),
            Self::WrongKeyForm { table, without_rowid: true } => {
                write!(f, "{table} is a WITHOUT ROWID table: give its primary key with --key (once per key column)")
            }
            Self::WrongKeyForm { table, without_rowid: false } => write!(f, "{table} is a rowid table: give --rowid"),
        }
    }
}

impl std::error::Error for HistoryError {}
