//! The JSON contract of `timeline`, `history` and `salvage` (documented field by field in
//! `docs/forensics.md`) and the `owner` of `dump` frames (their text: `present::forensics`).
//!
//! Values: SQL NULL is `null`, integers are numbers, reals are numbers (non-finite reals are
//! `{"real": "inf"}` / `"-inf"`), text is a string, blobs are `{"hex": "..."}`; text whose
//! bytes are not valid in the database's encoding is `{"text": "...", "hex": "..."}` (the
//! readable form, invalid sequences as U+FFFD, and the exact bytes). Keys: a rowid is a
//! number; a WITHOUT ROWID primary key is an array of values.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Serialize, Serializer};

use super::{Files, SCHEMA_VERSION, Tool};
use crate::forensics::carve::{Carving, row_values as carve_row_values};
use crate::forensics::history::{History, SourceKind, VersionOp};
use crate::forensics::ownership::{ObjectKind, OwnerType};
use crate::forensics::salvage::Salvage;
use crate::forensics::snapshot::Note;
use crate::forensics::timeline::{CommitChanges, RowKey, RowOp, SchemaOp, WrittenPage, key_values, row_values};
use crate::forensics::walk::PageRole;
use crate::format::record::{TextEncoding, Value};

/// A column value in JSON.
#[derive(Clone, Debug, PartialEq)]
pub struct ValueReport(pub Value);

impl Serialize for ValueReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match &self.0 {
            Value::Null => s.serialize_none(),
            Value::Integer(i) => s.serialize_i64(*i),
            Value::Real(r) if r.is_finite() => s.serialize_f64(*r),
            Value::Real(r) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry(
                    "real",
                    if r.is_nan() {
                        "nan"
                    } else if *r > 0.0 {
                        "inf"
                    } else {
                        "-inf"
                    },
                )?;
                m.end()
            }
            Value::Text(t) => s.serialize_str(t),
            Value::TextBytes { text, bytes } => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("text", text)?;
                m.serialize_entry("hex", &hex(bytes))?;
                m.end()
            }
            Value::Blob(b) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("hex", &hex(b))?;
                m.end()
            }
        }
    }
}

/// Bytes as lowercase hex (blobs in JSON, and in text).
pub fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

fn values(v: Vec<Value>) -> Vec<ValueReport> {
    v.into_iter().map(ValueReport).collect()
}

/// A row key: a rowid (number) or primary-key values (array).
#[derive(Clone, Debug, PartialEq)]
pub enum KeyReport {
    Rowid(i64),
    Pk(Vec<ValueReport>),
}

impl Serialize for KeyReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Rowid(r) => s.serialize_i64(*r),
            Self::Pk(v) => v.serialize(s),
        }
    }
}

/// A note: a stable code, a message and where.
#[derive(Serialize, Clone, Debug)]
pub struct NoteReport {
    pub code: crate::forensics::snapshot::NoteCode,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

impl From<&Note> for NoteReport {
    fn from(n: &Note) -> Self {
        Self { code: n.code, message: n.message.clone(), page: n.page, frame: n.frame, offset: n.offset }
    }
}

fn notes(n: &[Note]) -> Vec<NoteReport> {
    n.iter().map(NoteReport::from).collect()
}

/// The owner of a frame's page, added to `dump --owners` frames.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct FrameOwnerReport {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: OwnerType,
    /// A [`PageRole`] string, or "none" (orphans, pages beyond the database).
    pub role: &'static str,
}

/// A page's role on the wire: its [`PageRole`], or "none".
pub fn role_str(r: Option<PageRole>) -> &'static str {
    r.map_or("none", PageRole::as_str)
}

impl From<&WrittenPage> for FrameOwnerReport {
    fn from(w: &WrittenPage) -> Self {
        Self { name: w.owner.clone(), kind: w.kind, role: role_str(w.role) }
    }
}

// ----------------------------------------------------------------------------------------------
// timeline

#[derive(Serialize, Clone, Debug)]
pub struct ObjectPagesReport {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: OwnerType,
    pub pages: Vec<u32>,
    /// Role of each page in `pages` (same order; see [`role_str`]).
    pub roles: Vec<&'static str>,
}

#[derive(Serialize, Clone, Debug)]
pub struct SchemaChangeReport {
    pub op: SchemaOp,
    #[serde(rename = "type")]
    pub kind: ObjectKind,
    pub name: String,
    pub root: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_root: Option<u32>,
}

#[derive(Serialize, Clone, Debug)]
pub struct RowValuesReport {
    pub op: RowOp,
    pub key: KeyReport,
    pub old: Option<Vec<ValueReport>>,
    pub new: Option<Vec<ValueReport>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

#[derive(Serialize, Clone, Debug, Default)]
pub struct TableRowsReport {
    pub inserted: Vec<KeyReport>,
    pub updated: Vec<KeyReport>,
    pub deleted: Vec<KeyReport>,
    /// With `--values`: the column names of `values[].old`/`new`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    /// With `--values`: every change with the old and new values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<RowValuesReport>>,
}

#[derive(Serialize, Clone, Debug)]
pub struct CommitEntryReport {
    /// 1-based commit number; null for the uncommitted tail.
    pub commit: Option<u32>,
    pub committed: bool,
    /// The commit frame (the tail's last frame).
    pub frame: u32,
    pub first_frame: u32,
    pub db_pages: u32,
    pub objects: Vec<ObjectPagesReport>,
    pub schema_changes: Vec<SchemaChangeReport>,
    /// With `--rows`: TABLE -> changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<BTreeMap<String, TableRowsReport>>,
    pub notes: Vec<NoteReport>,
    /// Set only on the rollback journal's entry (the first): the database before the journal's
    /// transaction, from its page records, against the database file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub journal: Option<JournalEntryReport>,
}

/// Where the journal entry's earlier versions come from.
#[derive(Serialize, Clone, Debug)]
pub struct JournalEntryReport {
    /// SQLite plays the journal back on open (the transaction is undone); false for a
    /// persisted journal (`journal_mode=PERSIST`: the transaction committed).
    pub hot: bool,
    /// The page records used (the first valid record of each page), by page.
    pub records: Vec<JournalRecordReport>,
}

#[derive(Serialize, Clone, Debug)]
pub struct JournalRecordReport {
    pub page: u32,
    /// Byte offset of the record (its page number field) in the journal.
    pub offset: u64,
}

impl JournalEntryReport {
    pub fn build(s: &crate::forensics::timeline::JournalStep) -> Self {
        Self {
            hot: s.hot,
            records: s.records.iter().map(|&(page, offset)| JournalRecordReport { page, offset }).collect(),
        }
    }
}

#[derive(Serialize, Clone, Debug)]
pub struct TimelineReport {
    pub schema: &'static str,
    pub version: u32,
    pub tool: Tool,
    pub files: Files,
    /// Size of the starting state (the database file alone).
    pub base_db_pages: u32,
    /// Notes about the starting state.
    pub notes: Vec<NoteReport>,
    pub commits: Vec<CommitEntryReport>,
}

fn key_report(
    def: &crate::forensics::schema::TableDef,
    key: &RowKey,
    payload: Option<&[u8]>,
    enc: TextEncoding,
) -> KeyReport {
    match key {
        RowKey::Rowid(r) => KeyReport::Rowid(*r),
        RowKey::Pk(_) => KeyReport::Pk(values(key_values(def, key, payload, enc))),
    }
}

impl CommitEntryReport {
    /// Convert one commit's changes. `rows`: include row keys; `with_values`: and values.
    pub fn build(c: &CommitChanges, rows: bool, with_values: bool, enc: TextEncoding) -> Self {
        let mut objects: BTreeMap<(String, OwnerType), ObjectPagesReport> = BTreeMap::new();
        for p in &c.pages {
            let e = objects.entry((p.owner.clone(), p.kind)).or_insert_with(|| ObjectPagesReport {
                name: p.owner.clone(),
                kind: p.kind,
                pages: Vec::new(),
                roles: Vec::new(),
            });
            e.pages.push(p.page);
            e.roles.push(role_str(p.role));
        }
        let rows = rows.then(|| {
            let mut m = BTreeMap::new();
            for t in &c.tables {
                let mut r = TableRowsReport::default();
                let mut vals = Vec::new();
                let mut width = 0;
                for ch in &t.changes {
                    let payload = ch.new.as_deref().or(ch.old.as_deref());
                    let k = key_report(&t.table, &ch.key, payload, enc);
                    match ch.op() {
                        RowOp::Insert => r.inserted.push(k.clone()),
                        RowOp::Delete => r.deleted.push(k.clone()),
                        _ => r.updated.push(k.clone()),
                    }
                    if with_values {
                        let old = ch.old.as_deref().map(|p| row_values(&t.table, &ch.key, p, enc));
                        let new = ch.new.as_deref().map(|p| row_values(&t.table, &ch.key, p, enc));
                        let problem =
                            new.as_ref().and_then(|x| x.1.clone()).or_else(|| old.as_ref().and_then(|x| x.1.clone()));
                        width =
                            width.max(old.as_ref().map_or(0, |x| x.0.len())).max(new.as_ref().map_or(0, |x| x.0.len()));
                        vals.push(RowValuesReport {
                            op: ch.op(),
                            key: k,
                            old: old.map(|x| values(x.0)),
                            new: new.map(|x| values(x.0)),
                            problem,
                        });
                    }
                }
                if with_values {
                    r.columns = Some(t.table.column_names(width));
                    r.values = Some(vals);
                }
                m.insert(t.name.clone(), r);
            }
            m
        });
        Self {
            commit: c.number,
            committed: c.committed,
            frame: c.frame,
            first_frame: c.first_frame,
            db_pages: c.spec.db_pages,
            objects: objects.into_values().collect(),
            schema_changes: c
                .schema_changes
                .iter()
                .map(|s| SchemaChangeReport {
                    op: s.op,
                    kind: s.kind,
                    name: s.name.clone(),
                    root: s.root,
                    old_root: s.old_root,
                })
                .collect(),
            rows,
            notes: notes(&c.notes),
            journal: None,
        }
    }
}

impl TimelineReport {
    pub fn new(files: Files, base_db_pages: u32, commits: Vec<CommitEntryReport>, base_notes: &[Note]) -> Self {
        Self {
            schema: "walinspect.timeline",
            version: SCHEMA_VERSION,
            tool: Tool::this(),
            files,
            base_db_pages,
            notes: notes(base_notes),
            commits,
        }
    }

    /// The document's text up to the opening bracket of `commits` (for streaming: then each
    /// commit from [`timeline_json_commit`], then [`TIMELINE_JSON_END`]).
    pub fn json_head(files: &Files, base_db_pages: u32, base_notes: &[Note]) -> Result<String, serde_json::Error> {
        let r = Self::new(files.clone(), base_db_pages, Vec::new(), base_notes);
        let full = serde_json::to_string_pretty(&r)?;
        // `"commits": []` is the last field: cut it open.
        let cut = full.rfind("\"commits\": []").unwrap_or(full.len());
        Ok(format!("{}\"commits\": [", full.get(..cut).unwrap_or("")))
    }
}

/// One commit of a streamed timeline document (`first`: no leading comma).
pub fn timeline_json_commit(c: &CommitEntryReport, first: bool) -> Result<String, serde_json::Error> {
    let body = serde_json::to_string_pretty(c)?.replace('\n', "\n    ");
    Ok(format!("{}\n    {body}", if first { "" } else { "," }))
}

/// The end of a streamed timeline document.
pub const TIMELINE_JSON_END: &str = "\n  ]\n}\n";

// ----------------------------------------------------------------------------------------------
// history

#[derive(Serialize, Clone, Debug)]
pub struct SourceReport {
    pub kind: SourceKind,
    pub commit: Option<u32>,
    pub frames: Vec<u32>,
    pub page: Option<u32>,
    /// [salt1, salt2] of the frames' generation (null for the database file).
    pub salts: Option<[u32; 2]>,
    pub generations_ago: Option<u32>,
}

impl SourceReport {
    fn of(s: &crate::forensics::history::VersionSource) -> Self {
        Self {
            kind: s.kind,
            commit: s.commit,
            frames: s.frames.clone(),
            page: s.page,
            salts: s.salts,
            generations_ago: s.generations_ago,
        }
    }
}

#[derive(Serialize, Clone, Debug)]
pub struct VersionReport {
    pub source: SourceReport,
    pub op: VersionOp,
    pub sqlite_visible: bool,
    pub current: bool,
    pub committed_in_generation: Option<bool>,
    pub equals_visible_version: bool,
    pub complete: bool,
    pub uncertain: bool,
    /// Null for a deletion.
    pub values: Option<Vec<ValueReport>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// Other places holding exactly these bytes (same shape as `source`).
    pub also_in: Vec<SourceReport>,
}

#[derive(Serialize, Clone, Debug)]
pub struct HistoryReport {
    pub schema: &'static str,
    pub version: u32,
    pub tool: Tool,
    pub files: Files,
    pub table: String,
    pub key: Option<KeyReport>,
    pub columns: Vec<String>,
    pub versions: Vec<VersionReport>,
    pub notes: Vec<NoteReport>,
}

impl HistoryReport {
    pub fn build(files: Files, h: &History, key: Option<&RowKey>) -> Self {
        let enc = h.encoding;
        let versions = h
            .versions
            .iter()
            .map(|v| {
                let decoded = key.and_then(|k| h.values(v, k));
                VersionReport {
                    source: SourceReport::of(&v.source),
                    also_in: v.also_in.iter().map(SourceReport::of).collect(),
                    op: v.op,
                    sqlite_visible: v.sqlite_visible,
                    current: v.current,
                    committed_in_generation: v.committed_in_generation,
                    equals_visible_version: v.equals_visible_version,
                    complete: v.complete,
                    uncertain: v.uncertain,
                    problem: decoded.as_ref().and_then(|d| d.1.clone()),
                    values: decoded.map(|d| values(d.0)),
                }
            })
            .collect();
        let payload = h.versions.iter().find_map(|v| v.payload.as_deref());
        Self {
            schema: "walinspect.history",
            version: SCHEMA_VERSION,
            tool: Tool::this(),
            files,
            table: h.table.clone(),
            key: key.map(|k| key_report(&h.def, k, payload, enc)),
            columns: h.columns(),
            versions,
            notes: notes(&h.notes),
        }
    }
}

// ----------------------------------------------------------------------------------------------
// salvage

#[derive(Serialize, Clone, Debug)]
pub struct FrameRangeReport {
    pub first: u32,
    pub last: u32,
    pub count: usize,
}

#[derive(Serialize, Clone, Debug)]
pub struct GroupReport {
    pub id: usize,
    /// "uncommitted", "after_break", "stale", "foreign", "torn".
    pub kind: &'static str,
    pub salt1: u32,
    pub salt2: u32,
    pub generations_ago: Option<u32>,
    pub frames: FrameRangeReport,
    pub commit_frames: Vec<u32>,
    /// Frames whose checksum does not verify from their predecessor in the group.
    pub broken_links: Vec<u32>,
    /// `after_break`: the frame where the checksum chain broke (SQLite's valid log ends there).
    pub chain_break_frame: Option<u32>,
    /// `journal`: the byte offset of each record in the `-journal` (parallel to the record
    /// numbers `frames` counts); empty for WAL groups.
    pub record_offsets: Vec<u64>,
}

#[derive(Serialize, Clone, Debug)]
pub struct SalvagedRowReport {
    pub table: Option<String>,
    /// "page_owner", "shape", "ambiguous", "unknown".
    pub attribution: &'static str,
    pub candidates: Vec<String>,
    pub key: Option<KeyReport>,
    pub columns: Vec<String>,
    pub values: Vec<ValueReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    pub group: usize,
    pub kind: &'static str,
    pub frames: Vec<u32>,
    pub page: u32,
    /// The key exists in some current snapshot (this is another version of a known row).
    pub key_current: bool,
    pub committed_in_generation: bool,
    pub complete: bool,
    pub uncertain: bool,
}

#[derive(Serialize, Clone, Debug)]
pub struct SalvageSummaryReport {
    pub cells_decoded: u64,
    pub rows: usize,
    pub already_current: u64,
    /// Cells of pages that belonged to an index: entries, not rows (not listed).
    pub index_entries: u64,
}

#[derive(Serialize, Clone, Debug)]
pub struct SalvageReport {
    pub schema: &'static str,
    pub version: u32,
    pub tool: Tool,
    pub files: Files,
    pub groups: Vec<GroupReport>,
    pub summary: SalvageSummaryReport,
    pub rows: Vec<SalvagedRowReport>,
    pub notes: Vec<NoteReport>,
    /// Deleted records carved from free space (null when carving did not run).
    pub carving: Option<CarvingReport>,
}

/// One place a carved record was seen.
#[derive(Serialize, Clone, Debug)]
pub struct CarvedPlaceReport {
    /// "db" or "wal".
    pub file: &'static str,
    pub frame: Option<u32>,
    /// "db_file", "committed", "superseded", "uncommitted", "stale", "invalid".
    pub state: &'static str,
    pub generations_ago: Option<u32>,
    pub page: u32,
    pub offset: u32,
    /// "freeblock", "unallocated", "cell", "page".
    pub region: &'static str,
    /// "freeblock", "unallocated", "freelist_trunk", "freelist_leaf", "beyond_end", "dropped_table".
    pub source: &'static str,
}

/// One carved record.
#[derive(Serialize, Clone, Debug)]
pub struct CarvedRowReport {
    pub table: Option<String>,
    /// "page_owner", "schema_root", "shape", "ambiguous", "unknown".
    pub attribution: &'static str,
    pub candidates: Vec<String>,
    pub rowid: Option<i64>,
    /// [low, high] of a lost rowid (from its varint width), when the table has rowids.
    pub rowid_range: Option<[i64; 2]>,
    pub columns: Vec<String>,
    pub values: Vec<ValueReport>,
    /// "exact" or "partial".
    pub confidence: &'static str,
    pub inferred: Vec<String>,
    pub complete: bool,
    pub earlier_incarnation: bool,
    pub source: &'static str,
    pub places: Vec<CarvedPlaceReport>,
}

#[derive(Serialize, Clone, Debug)]
pub struct CarvingSummaryReport {
    pub page_images: u64,
    pub distinct_images: u64,
    pub records_found: u64,
    pub equal_known: u64,
    pub index_entries: u64,
    pub rows: u64,
    pub exact: u64,
    pub freeblocks: u32,
    pub zeroed_freeblocks: u32,
    pub free_bytes: u64,
    pub zero_free_bytes: u64,
    pub dropped_tables: Vec<String>,
}

#[derive(Serialize, Clone, Debug)]
pub struct CarvingReport {
    pub summary: CarvingSummaryReport,
    pub rows: Vec<CarvedRowReport>,
    pub notes: Vec<NoteReport>,
}

impl CarvingReport {
    pub fn build(c: &Carving) -> Self {
        let rows: Vec<CarvedRowReport> = c
            .rows
            .iter()
            .map(|r| {
                let (columns, vals) = carve_row_values(c, r);
                CarvedRowReport {
                    table: r.table.clone(),
                    attribution: r.how,
                    candidates: r.candidates.clone(),
                    rowid: r.rowid,
                    rowid_range: r.rowid_range.map(|(a, b)| [a, b]),
                    columns,
                    values: values(vals),
                    confidence: if r.exact { "exact" } else { "partial" },
                    inferred: r.inferred.clone(),
                    complete: r.complete,
                    earlier_incarnation: r.earlier_incarnation,
                    source: r.source().name(),
                    places: r
                        .places
                        .iter()
                        .map(|p| CarvedPlaceReport {
                            file: p.file,
                            frame: p.frame,
                            state: p.state,
                            generations_ago: p.generations_ago,
                            page: p.page,
                            offset: p.offset,
                            region: p.region.name(),
                            source: p.source.name(),
                        })
                        .collect(),
                }
            })
            .collect();
        Self {
            summary: CarvingSummaryReport {
                page_images: c.counts.images,
                distinct_images: c.counts.distinct_images,
                records_found: c.counts.records_found,
                equal_known: c.counts.equal_known,
                index_entries: c.counts.index_entries,
                rows: c.counts.rows,
                exact: c.rows.iter().filter(|r| r.exact).count() as u64,
                freeblocks: c.free.freeblocks,
                zeroed_freeblocks: c.free.zeroed_freeblocks,
                free_bytes: c.free.free_bytes,
                zero_free_bytes: c.free.zero_free_bytes,
                dropped_tables: c.dropped_tables.clone(),
            },
            rows,
            notes: notes(&c.notes),
        }
    }
}

impl SalvageReport {
    /// Add the carving section.
    pub fn with_carving(mut self, c: &Carving) -> Self {
        self.carving = Some(CarvingReport::build(c));
        self
    }

    pub fn build(files: Files, s: &Salvage) -> Self {
        let enc = s.encoding;
        let rows = s
            .rows
            .iter()
            .map(|r| {
                let obj = r.attribution.table.as_ref().and_then(|t| s.history.tables.get(t));
                let def = obj.and_then(|o| o.table.clone()).unwrap_or_default();
                let (vals, problem) = match &r.key {
                    Some(k) => row_values(&def, k, &r.payload, enc),
                    None => {
                        let rec = crate::format::record::decode_record(&r.payload, enc);
                        let p = rec.error.filter(|_| !rec.is_intact()).map(|e| e.to_string());
                        (rec.values, p)
                    }
                };
                let columns = if r.key.is_some() {
                    def.column_names(vals.len())
                } else {
                    (0..vals.len()).map(|i| format!("_col{i}")).collect()
                };
                SalvagedRowReport {
                    table: r.attribution.table.clone(),
                    attribution: r.attribution.how,
                    candidates: r.attribution.candidates.clone(),
                    key: r.key.as_ref().map(|k| key_report(&def, k, Some(&r.payload), enc)),
                    columns,
                    values: values(vals),
                    problem,
                    group: r.group,
                    kind: s.groups.get(r.group).map_or("unknown", |g| g.kind.name()),
                    frames: r.frames.clone(),
                    page: r.page,
                    key_current: r.key_current,
                    committed_in_generation: r.committed_in_group,
                    complete: r.complete,
                    uncertain: r.uncertain,
                }
            })
            .collect();
        Self {
            schema: "walinspect.salvage",
            version: SCHEMA_VERSION,
            tool: Tool::this(),
            files,
            groups: s
                .groups
                .iter()
                .enumerate()
                .map(|(id, g)| GroupReport {
                    id,
                    kind: g.kind.name(),
                    salt1: g.salts[0],
                    salt2: g.salts[1],
                    generations_ago: g.generations_ago,
                    frames: FrameRangeReport {
                        first: g.frames.first().copied().unwrap_or(0),
                        last: g.frames.last().copied().unwrap_or(0),
                        count: g.frames.len(),
                    },
                    commit_frames: g.commit_frames.clone(),
                    broken_links: g.broken_links.clone(),
                    chain_break_frame: g.chain_break,
                    record_offsets: g.record_offsets.clone(),
                })
                .collect(),
            summary: SalvageSummaryReport {
                cells_decoded: s.cells_decoded,
                rows: s.rows.len(),
                already_current: s.already_current,
                index_entries: s.index_entries,
            },
            rows,
            notes: notes(&s.notes),
            carving: None,
        }
    }
}
