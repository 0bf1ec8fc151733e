//! Rows SQLite no longer shows: frames of earlier WAL generations (stale salts), frames after
//! a checksum break, the uncommitted tail, frames with foreign salts and a torn last frame.
//!
//! Frames are grouped by kind and salts; each group's internal checksum continuity is checked
//! link by link (a frame verifies from its predecessor's stored checksum), its commit frames
//! listed. The b-tree pages the frames hold are decoded; each cell's overflow chain is read
//! from the newest frame of the same group at or before the end of its transaction, falling
//! back to the current database (then the payload is marked uncertain). A row is attributed to
//! the table that owned the page number at some point (from the timeline), or else to the
//! only table whose shape fits its record. Rows whose exact bytes some current snapshot (the
//! database file or any commit) also holds are not salvage; the rest are reported with their
//! provenance.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use super::ownership::{Catalog, ObjectInfo, OwnerKind, OwnerType};
use super::snapshot::{Forensics, Note};
use super::timeline::{CommitChanges, RowKey, TrackOptions, Tracker, row_key};
use super::walk::{Budget, CellData, Visitor, find_rowid, walk_tree};
use crate::analysis::wal::{FrameState, WalAnalysis};
use crate::format::btree::{BtreePage, Cell, overflow_content, overflow_next, overflow_page_count};
use crate::format::db_header::PageType;
use crate::format::record::{TextEncoding, decode_record};

/// Why SQLite does not show a group's frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GroupKind {
    /// Valid frames after the last commit of the current generation.
    Uncommitted,
    /// Frames after the checksum break carrying the current salts.
    AfterBreak,
    /// Frames of an earlier generation (salts of a previous WAL reset).
    Stale,
    /// Frames whose salts belong to no recognisable generation.
    Foreign,
    /// The partial frame at the end of the file.
    Torn,
    /// Page records of the rollback journal (the pages as they were before the last, or the
    /// interrupted, transaction); "frames" are record numbers (1-based, in file order).
    Journal,
}

impl GroupKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Uncommitted => "uncommitted",
            Self::AfterBreak => "after_break",
            Self::Stale => "stale",
            Self::Foreign => "foreign",
            Self::Torn => "torn",
            Self::Journal => "journal",
        }
    }
}

/// Frames SQLite does not show, grouped by kind and salts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameGroup {
    pub kind: GroupKind,
    pub salts: [u32; 2],
    pub generations_ago: Option<u32>,
    /// Frame numbers, ascending.
    pub frames: Vec<u32>,
    /// Frames whose db-size field marks a commit.
    pub commit_frames: Vec<u32>,
    /// Frames (other than the first of a contiguous run) whose checksum does not verify from
    /// the previous frame's stored checksum.
    pub broken_links: Vec<u32>,
    /// For the frames after the break: the frame where SQLite's valid log ends (the one
    /// `check` names), which may be this group's first frame.
    pub chain_break: Option<u32>,
    /// `Journal`: the byte offset of each record (parallel to `frames`).
    pub record_offsets: Vec<u64>,
}

impl FrameGroup {
    /// End of the transaction holding frame `f` within this group: the next commit frame at or
    /// after `f`, or the group's last frame.
    pub fn txn_end(&self, f: u32) -> u32 {
        let i = self.commit_frames.partition_point(|&c| c < f);
        self.commit_frames.get(i).copied().unwrap_or_else(|| self.frames.last().copied().unwrap_or(f))
    }
    /// True when frame `f`'s transaction ends with a commit frame inside the group.
    pub fn committed(&self, f: u32) -> bool {
        self.commit_frames.partition_point(|&c| c < f) < self.commit_frames.len()
    }
}

/// Group the frames SQLite does not show.
pub fn frame_groups(w: &WalAnalysis) -> Vec<FrameGroup> {
    let mut map: BTreeMap<(GroupKind, [u32; 2]), FrameGroup> = BTreeMap::new();
    let header_salts = w.header.map(|h| h.salts()).unwrap_or([0, 0]);
    for f in &w.frames {
        let kind = match f.state {
            FrameState::Committed => continue,
            FrameState::Uncommitted => GroupKind::Uncommitted,
            FrameState::Stale => GroupKind::Stale,
            FrameState::Invalid if f.header.salts() == header_salts && w.header_accepted() => GroupKind::AfterBreak,
            FrameState::Invalid => GroupKind::Foreign,
        };
        let g = map.entry((kind, f.header.salts())).or_insert_with(|| FrameGroup {
            kind,
            salts: f.header.salts(),
            generations_ago: f.generations_ago,
            frames: Vec::new(),
            commit_frames: Vec::new(),
            broken_links: Vec::new(),
            chain_break: None,
            record_offsets: Vec::new(),
        });
        let contiguous = g.frames.last().is_some_and(|&l| l + 1 == f.index);
        if contiguous && !f.link_valid {
            g.broken_links.push(f.index);
        }
        if f.header.is_commit() {
            g.commit_frames.push(f.index);
        }
        g.frames.push(f.index);
    }
    let mut out: Vec<FrameGroup> = map.into_values().collect();
    if let Some(fi) = w.first_invalid {
        for g in out.iter_mut().filter(|g| g.kind == GroupKind::AfterBreak) {
            g.chain_break = Some(fi.frame);
        }
    }
    out.sort_by_key(|g| (g.kind, std::cmp::Reverse(g.generations_ago), g.frames.first().copied()));
    // The partial frame's salts as on disk (its header is present from 24 bytes on); an
    // earlier generation's salts mean a WAL reset cut the file at journal_size_limit.
    if w.trailing_bytes >= 24
        && let Some(p) = w.partial.filter(|p| !p.all_zero)
        && let Some(h) = p.header
    {
        out.push(FrameGroup {
            kind: GroupKind::Torn,
            salts: h.salts(),
            generations_ago: p.generations_ago,
            frames: vec![p.index],
            commit_frames: Vec::new(),
            broken_links: Vec::new(),
            chain_break: None,
            record_offsets: Vec::new(),
        });
    } else if w.trailing_bytes >= 24 && w.partial.is_none() {
        let torn = u32::try_from(w.frames_total).unwrap_or(u32::MAX).saturating_add(1);
        out.push(FrameGroup {
            kind: GroupKind::Torn,
            salts: [0, 0],
            generations_ago: None,
            frames: vec![torn],
            commit_frames: Vec::new(),
            broken_links: Vec::new(),
            chain_break: None,
            record_offsets: Vec::new(),
        });
    }
    out
}

/// The frame groups and, when the rollback journal holds page records whose checksums verify,
/// one `Journal` group of them (a database without a WAL can have one).
pub fn all_groups(fx: &Forensics<'_>) -> Vec<FrameGroup> {
    let mut out = fx.wal().map(frame_groups).unwrap_or_default();
    let Some(j) = fx.analysis.db.as_ref().and_then(|d| d.journal.as_ref()) else { return out };
    if fx.journal.is_none() || j.page_size != Some(fx.store.page_size) {
        return out;
    }
    let mut frames = Vec::new();
    let mut record_offsets = Vec::new();
    for (i, r) in j.records.iter().enumerate() {
        if r.checksum_ok
            && let Ok(n) = u32::try_from(i + 1)
        {
            frames.push(n);
            record_offsets.push(r.offset);
        }
    }
    if !frames.is_empty() {
        out.push(FrameGroup {
            kind: GroupKind::Journal,
            salts: [0, 0],
            generations_ago: None,
            frames,
            commit_frames: Vec::new(),
            broken_links: Vec::new(),
            chain_break: None,
            record_offsets,
        });
    }
    out
}

/// Page `page`'s image in journal record `n` (1-based), and the page number it holds.
fn journal_record(fx: &Forensics<'_>, n: u32) -> Option<(u32, Arc<[u8]>)> {
    let (r, _) = fx.journal?;
    let rec = fx.analysis.db.as_ref()?.journal.as_ref()?.records.get((n as usize).checked_sub(1)?)?;
    let mut buf = vec![0u8; fx.store.page_size as usize];
    let got = r.read_at_full(rec.data_offset(), &mut buf).ok()?;
    (got == buf.len()).then(|| (rec.page, Arc::from(buf)))
}

/// A row found in a frame SQLite does not show.
#[derive(Clone, Debug)]
pub struct FoundRow {
    pub group: usize,
    pub frame: u32,
    pub page: u32,
    /// Index of the cell in the page's pointer array.
    pub cell: usize,
    pub page_type: PageType,
    pub rowid: Option<i64>,
    pub payload: Vec<u8>,
    /// The overflow chain was read whole.
    pub complete: bool,
    /// Some overflow page came from outside the frame's group (the current database).
    pub uncertain: bool,
}

/// The content key of a payload: its CRC-32 and length ([`crate::format::fingerprint`]).
/// Versions are told apart by (table, key, this), so two versions of one row would have to
/// share both CRC and length to be merged.
fn hash_bytes(b: &[u8]) -> u64 {
    crate::format::fingerprint::fingerprint(b)
}

fn hash_of<T: Hash>(t: &T) -> u64 {
    let mut h = DefaultHasher::new();
    t.hash(&mut h);
    h.finish()
}

/// Reads the b-tree cells of one group's frames, resolving overflow chains within the group.
pub struct GroupReader<'g, 'f, 'a> {
    fx: &'f Forensics<'a>,
    group: &'g FrameGroup,
    index: usize,
    usable: u32,
    /// page -> frames of this group holding it, ascending
    by_page: HashMap<u32, Vec<u32>>,
}

impl<'g, 'f, 'a> GroupReader<'g, 'f, 'a> {
    pub fn new(fx: &'f Forensics<'a>, group: &'g FrameGroup, index: usize, usable: u32) -> Self {
        let mut by_page: HashMap<u32, Vec<u32>> = HashMap::new();
        if group.kind == GroupKind::Journal {
            if let Some(j) = fx.analysis.db.as_ref().and_then(|d| d.journal.as_ref()) {
                for &n in &group.frames {
                    if let Some(r) = j.records.get((n as usize).saturating_sub(1)) {
                        by_page.entry(r.page).or_default().push(n);
                    }
                }
            }
        } else if let Some(w) = fx.wal() {
            for &fr in &group.frames {
                if let Some(r) = w.frame(fr) {
                    by_page.entry(r.header.page).or_default().push(fr);
                }
            }
        }
        Self { fx, group, index, usable, by_page }
    }

    /// The cells of frame `fr` that `want(page_type, rowid, cell index)` accepts, with their
    /// payloads. Torn frames yield the cells wholly inside the bytes present.
    pub fn cells(
        &self,
        fr: u32,
        notes: &mut Vec<Note>,
        want: &dyn Fn(PageType, Option<i64>, usize) -> bool,
    ) -> Vec<FoundRow> {
        let mut out = Vec::new();
        let journal = self.group.kind == GroupKind::Journal;
        let (page, data, valid_len) = if journal {
            let Some((page, data)) = journal_record(self.fx, fr) else { return out };
            let n = data.len();
            (page, data, n)
        } else if self.group.kind == GroupKind::Torn {
            let Some((page, data, got)) = self.fx.store.read_partial_frame(fr) else { return out };
            (page, Arc::<[u8]>::from(data), got)
        } else {
            let Some(rec) = self.fx.wal().and_then(|w| w.frame(fr)) else { return out };
            let page = rec.header.page;
            match self.fx.store.read_frame(fr, page) {
                Ok(d) => {
                    let n = d.len();
                    (page, d, n)
                }
                Err(n) => {
                    notes.push(n);
                    return out;
                }
            }
        };
        if page == 0 {
            return out;
        }
        let Ok(bt) = BtreePage::parse(&data, page == 1, self.usable) else { return out };
        if bt.page_type == PageType::TableInterior {
            return out;
        }
        let end = self.group.txn_end(fr);
        let latest = self.fx.snapshot(self.fx.latest());
        let resolve = |p: u32| -> Option<(Arc<[u8]>, bool)> {
            if journal {
                // The journal's first record of a page is its content before the transaction.
                if let Some(&x) = self.by_page.get(&p).and_then(|fs| fs.first()) {
                    return journal_record(self.fx, x).map(|(_, d)| (d, true));
                }
                return latest.page(p).ok().map(|pr| (pr.data, false));
            }
            let in_group = self.by_page.get(&p).and_then(|fs| fs.iter().rev().find(|&&x| x <= end).copied());
            if let Some(x) = in_group {
                return self.fx.store.read_frame(x, p).ok().map(|d| (d, true));
            }
            latest.page(p).ok().map(|pr| (pr.data, false))
        };
        for i in 0..bt.cell_count() {
            let Ok(cell) = bt.cell(i) else { continue };
            if cell.offset.saturating_add(cell.size) > valid_len || !want(bt.page_type, cell.rowid, i) {
                continue;
            }
            let (payload, complete, uncertain) = assemble(&cell, self.usable, &resolve);
            out.push(FoundRow {
                group: self.index,
                frame: fr,
                page,
                cell: i,
                page_type: bt.page_type,
                rowid: cell.rowid,
                payload,
                complete,
                uncertain,
            });
        }
        out
    }
}

/// Decode the cells of every b-tree page in the groups' frames (`usable` is the database's).
/// `want(page_type, rowid)` filters cells before their payload is assembled; `f` gets each
/// leaf cell (and each index interior cell).
pub fn scan_groups(
    fx: &Forensics<'_>,
    groups: &[FrameGroup],
    usable: u32,
    notes: &mut Vec<Note>,
    want: impl Fn(PageType, Option<i64>) -> bool,
    mut f: impl FnMut(FoundRow),
) {
    for (gi, g) in groups.iter().enumerate() {
        let reader = GroupReader::new(fx, g, gi, usable);
        for &fr in &g.frames {
            for row in reader.cells(fr, notes, &|t, r, _| want(t, r)) {
                f(row);
            }
        }
    }
}

/// Assemble a cell's payload through `resolve` (page → bytes, from-the-group flag), bounded by
/// the page count the payload needs and a visited set.
fn assemble(cell: &Cell<'_>, usable: u32, resolve: &dyn Fn(u32) -> Option<(Arc<[u8]>, bool)>) -> (Vec<u8>, bool, bool) {
    let mut out = cell.local.to_vec();
    let Some(first) = cell.overflow else { return (out, true, false) };
    let need = overflow_page_count(cell.payload_len, cell.local.len() as u32, usable);
    let mut remaining = cell.payload_len.min(super::walk::MAX_PAYLOAD).saturating_sub(cell.local.len() as u64);
    let mut seen = HashSet::new();
    let mut p = first;
    let mut uncertain = false;
    let mut n = 0u64;
    while p != 0 && n < need && remaining > 0 {
        if !seen.insert(p) {
            return (out, false, uncertain);
        }
        let Some((d, own)) = resolve(p) else { return (out, false, uncertain) };
        uncertain |= !own;
        let c = overflow_content(&d, usable);
        let take = (c.len() as u64).min(remaining) as usize;
        out.extend_from_slice(c.get(..take).unwrap_or(&[]));
        remaining -= take as u64;
        n += 1;
        p = overflow_next(&d).unwrap_or(0);
    }
    (out, remaining == 0, uncertain)
}

/// Tables and indexes that ever existed (by name) and the objects that owned each page at
/// some time, gathered by running the timeline.
#[derive(Clone, Debug, Default)]
pub struct OwnerHistory {
    /// Objects with rows (tables, WITHOUT ROWID tables, sqlite_schema).
    pub tables: BTreeMap<String, ObjectInfo>,
    pub indexes: BTreeSet<String>,
    pub page_owners: HashMap<u32, BTreeSet<String>>,
}

impl OwnerHistory {
    fn add_catalog(&mut self, cat: &Catalog) {
        for o in cat.objects.values() {
            if o.has_rows() {
                self.tables.insert(o.name.clone(), o.clone());
            } else {
                self.indexes.insert(o.name.clone());
            }
        }
    }
}

/// Run the timeline (commits, then the uncommitted tail) collecting which objects owned which
/// pages at any time; `f` sees each commit's changes. Returns the history and the notes about
/// the starting state.
pub fn track_with_owners(
    fx: &Forensics<'_>,
    opts: TrackOptions,
    mut f: impl FnMut(&CommitChanges),
) -> (OwnerHistory, Vec<Note>) {
    let mut hist = OwnerHistory::default();
    let tracker = Tracker::new(fx, opts);
    hist.add_catalog(tracker.catalog());
    for (&p, o) in &tracker.own.pages {
        if let OwnerKind::Tree(r) = o.kind
            && let Some(obj) = tracker.own.catalog.objects.get(&r)
        {
            hist.page_owners.entry(p).or_default().insert(obj.name.clone());
        }
    }
    let base_notes = tracker.base_notes.clone();
    let _ = tracker.run(|t, ch| {
        hist.add_catalog(t.catalog());
        for wp in &ch.pages {
            if matches!(wp.kind, OwnerType::Table | OwnerType::Schema | OwnerType::Index) {
                hist.page_owners.entry(wp.page).or_default().insert(wp.owner.clone());
            }
        }
        f(&ch);
    });
    (hist, base_notes)
}

/// Which table a found row belongs to, and how that was decided.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Attribution {
    pub table: Option<String>,
    /// "page_owner" (the page number belonged to that table), "shape" (the only table whose
    /// columns fit), "index" (the page belonged to an index: an index entry, not a row),
    /// "ambiguous" (several fit; `candidates`), "unknown".
    pub how: &'static str,
    pub candidates: Vec<String>,
}

/// Attribute a found row to a table.
pub fn attribute(h: &OwnerHistory, row: &FoundRow, enc: TextEncoding) -> Attribution {
    let table_tree = row.page_type == PageType::TableLeaf;
    let fits = |o: &ObjectInfo| o.without_rowid() != table_tree && o.has_rows();
    if let Some(names) = h.page_owners.get(&row.page) {
        let c: Vec<String> = names.iter().filter(|n| h.tables.get(*n).is_some_and(fits)).cloned().collect();
        if c.len() == 1 {
            return Attribution { table: c.first().cloned(), how: "page_owner", candidates: c };
        }
        if c.is_empty() && !table_tree {
            let idx: Vec<String> = names.iter().filter(|n| h.indexes.contains(*n)).cloned().collect();
            if !idx.is_empty() {
                return Attribution { table: None, how: "index", candidates: idx };
            }
        }
    }
    let ncols = decode_record(&row.payload, enc).values.len();
    let c: Vec<String> = h
        .tables
        .values()
        .filter(|o| fits(o) && o.kind != super::ownership::ObjectKind::Schema)
        .filter(|o| o.table.as_ref().is_some_and(|t| ncols >= 1 && ncols <= t.visible_columns().len().max(1)))
        .map(|o| o.name.clone())
        .collect();
    match c.len() {
        0 => Attribution { table: None, how: "unknown", candidates: c },
        1 => Attribution { table: c.first().cloned(), how: "shape", candidates: c },
        _ => Attribution { table: None, how: "ambiguous", candidates: c },
    }
}

/// One salvaged row version.
#[derive(Clone, Debug)]
pub struct SalvagedRow {
    pub attribution: Attribution,
    pub key: Option<RowKey>,
    pub payload: Vec<u8>,
    pub group: usize,
    /// Frames holding this exact version (ascending).
    pub frames: Vec<u32>,
    pub page: u32,
    pub complete: bool,
    pub uncertain: bool,
    /// True when the key exists in some current snapshot (this is another version of it).
    pub key_current: bool,
    /// True when the frame's transaction ends with a commit frame inside its group.
    pub committed_in_group: bool,
}

/// The salvage result.
#[derive(Clone, Debug, Default)]
pub struct Salvage {
    pub groups: Vec<FrameGroup>,
    pub rows: Vec<SalvagedRow>,
    /// Row copies found that equal a version some current snapshot holds.
    pub already_current: u64,
    /// Index entries found (not rows; not listed).
    pub index_entries: u64,
    /// Cells decoded in all groups.
    pub cells_decoded: u64,
    pub history: OwnerHistory,
    pub notes: Vec<Note>,
    pub encoding: TextEncoding,
}

/// A distinct row version found in ignored frames, without its payload (re-read at the end).
struct Candidate {
    attribution: Attribution,
    key: Option<RowKey>,
    payload_hash: u64,
    group: usize,
    frames: Vec<u32>,
    page: u32,
    /// Where to re-read it: (frame, cell index).
    at: (u32, usize),
    complete: bool,
    uncertain: bool,
}

struct KeyCollector<'k> {
    obj: &'k ObjectInfo,
    enc: TextEncoding,
    wanted: &'k HashSet<RowKey>,
    versions: &'k mut HashSet<u64>,
    keys: &'k mut HashSet<u64>,
    notes: Vec<Note>,
}

impl Visitor for KeyCollector<'_> {
    fn wants_cells(&self) -> bool {
        true
    }
    fn want_cell(&mut self, _page: u32, rowid: Option<i64>, _local: &[u8]) -> bool {
        match rowid {
            Some(r) if !self.obj.without_rowid() => self.wanted.contains(&RowKey::Rowid(r)),
            _ => true,
        }
    }
    fn cell(&mut self, c: CellData) {
        if let Some(k) = row_key(self.obj, c.rowid, &c.payload, self.enc)
            && self.wanted.contains(&k)
        {
            let tk = (self.obj.name.as_str(), &k);
            self.keys.insert(hash_of(&tk));
            self.versions.insert(hash_of(&(tk, hash_bytes(&c.payload))));
        }
    }
    fn note(&mut self, n: Note) {
        self.notes.push(n);
    }
}

/// Find every row version that only frames SQLite does not show hold. Memory grows with the
/// number of *distinct* versions found (hashes and locations), not with the bytes of the
/// frames; payloads are re-read only for the versions reported.
pub fn salvage(fx: &Forensics<'_>) -> Salvage {
    let mut s = Salvage { groups: all_groups(fx), ..Salvage::default() };
    if s.groups.is_empty() {
        return s;
    }
    let latest = fx.snapshot(fx.latest());
    let usable = latest.usable;
    let enc = latest.encoding;
    s.encoding = enc;
    // Pass 1: the timeline gives the owner history, and hashes of every (table, key) and
    // (table, key, version) the commits wrote.
    let mut versions: HashSet<u64> = HashSet::new();
    let mut keys: HashSet<u64> = HashSet::new();
    let (hist, base_notes) = track_with_owners(fx, TrackOptions { rows: true, ..TrackOptions::default() }, |ch| {
        if !ch.committed {
            return;
        }
        for t in &ch.tables {
            for rc in &t.changes {
                let tk = (t.name.as_str(), &rc.key);
                keys.insert(hash_of(&tk));
                if let Some(p) = &rc.new {
                    versions.insert(hash_of(&(tk, hash_bytes(p))));
                }
            }
        }
    });
    s.notes.extend(base_notes);
    // Pass 2: decode the ignored frames; attribute and deduplicate.
    let mut cands: Vec<Candidate> = Vec::new();
    let mut index: HashMap<(Option<String>, Option<RowKey>, u64), usize> = HashMap::new();
    let mut notes = Vec::new();
    let mut decoded = 0u64;
    let mut index_entries = 0u64;
    scan_groups(
        fx,
        &s.groups,
        usable,
        &mut notes,
        |_, _| true,
        |r| {
            decoded += 1;
            let a = attribute(&hist, &r, enc);
            if a.how == "index" {
                index_entries += 1;
                return;
            }
            let key =
                a.table.as_ref().and_then(|t| hist.tables.get(t)).and_then(|o| row_key(o, r.rowid, &r.payload, enc));
            let h = hash_bytes(&r.payload);
            let slot = (a.table.clone(), key.clone(), h);
            if let Some(&i) = index.get(&slot) {
                if let Some(c) = cands.get_mut(i) {
                    c.frames.push(r.frame);
                }
                return;
            }
            index.insert(slot, cands.len());
            cands.push(Candidate {
                attribution: a,
                key,
                payload_hash: h,
                group: r.group,
                frames: vec![r.frame],
                page: r.page,
                at: (r.frame, r.cell),
                complete: r.complete,
                uncertain: r.uncertain,
            });
        },
    );
    drop(index);
    s.cells_decoded = decoded;
    s.index_entries = index_entries;
    // Pass 3: the database file's versions of the candidate keys, table by table.
    let base = fx.snapshot(fx.base());
    let base_cat = Catalog::read(&base, &mut Budget::default());
    let mut wanted_by_table: BTreeMap<String, HashSet<RowKey>> = BTreeMap::new();
    for c in &cands {
        if let (Some(t), Some(k)) = (&c.attribution.table, &c.key) {
            wanted_by_table.entry(t.clone()).or_default().insert(k.clone());
        }
    }
    let mut budget = Budget::default();
    for (t, wanted) in &wanted_by_table {
        let Some(obj) = base_cat.by_name(t) else { continue };
        if !obj.without_rowid() && wanted.len() < 64 {
            for k in wanted {
                if let RowKey::Rowid(r) = k {
                    let mut n = Vec::new();
                    if let Some(c) = find_rowid(&base, obj.root, *r, &mut n, &mut budget) {
                        let tk = (t.as_str(), k);
                        keys.insert(hash_of(&tk));
                        versions.insert(hash_of(&(tk, hash_bytes(&c.payload))));
                    }
                }
            }
        } else {
            let mut kc = KeyCollector { obj, enc, wanted, versions: &mut versions, keys: &mut keys, notes: Vec::new() };
            walk_tree(&base, obj.root, &mut kc, &mut budget);
        }
    }
    // Pass 4: keep the versions no visible state holds; re-read their payloads.
    let mut keep: Vec<Candidate> = Vec::new();
    for c in cands {
        let current = match (&c.attribution.table, &c.key) {
            (Some(t), Some(k)) => versions.contains(&hash_of(&((t.as_str(), k), c.payload_hash))),
            _ => false,
        };
        if current {
            s.already_current += c.frames.len() as u64;
        } else {
            keep.push(c);
        }
    }
    let readers: Vec<GroupReader<'_, '_, '_>> =
        s.groups.iter().enumerate().map(|(i, g)| GroupReader::new(fx, g, i, usable)).collect();
    // Keyed by (group, frame): a journal record number can equal a frame number.
    let mut by_frame: BTreeMap<(usize, u32), Vec<usize>> = BTreeMap::new();
    for (i, c) in keep.iter().enumerate() {
        by_frame.entry((c.group, c.at.0)).or_default().push(i);
    }
    let mut payloads: HashMap<usize, Vec<u8>> = HashMap::new();
    for (&(g, fr), idx) in &by_frame {
        let fr = &fr;
        let Some(reader) = readers.get(g) else { continue };
        let cells: HashSet<usize> = idx.iter().filter_map(|&i| keep.get(i).map(|c| c.at.1)).collect();
        let rows = reader.cells(*fr, &mut notes, &|_, _, i| cells.contains(&i));
        for &i in idx {
            if let Some(c) = keep.get(i)
                && let Some(r) = rows.iter().find(|r| r.cell == c.at.1)
            {
                payloads.insert(i, r.payload.clone());
            }
        }
    }
    for (i, c) in keep.into_iter().enumerate() {
        let key_current = match (&c.attribution.table, &c.key) {
            (Some(t), Some(k)) => keys.contains(&hash_of(&(t.as_str(), k))),
            _ => false,
        };
        let committed_in_group = s.groups.get(c.group).is_some_and(|g| g.committed(c.at.0));
        s.rows.push(SalvagedRow {
            attribution: c.attribution,
            key: c.key,
            payload: payloads.remove(&i).unwrap_or_default(),
            group: c.group,
            frames: c.frames,
            page: c.page,
            complete: c.complete,
            uncertain: c.uncertain,
            key_current,
            committed_in_group,
        });
    }
    s.history = hist;
    s.notes.extend(notes);
    s
}
