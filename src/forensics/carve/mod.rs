//! Deleted records in free space: every page image the evidence holds (each database-file page
//! and each WAL frame, whatever its state or generation) is carved with
//! [`crate::format::carve`] against signatures built from every schema version seen (the
//! database file's, each commit's, and `sqlite_schema` rows carved from free space, so tables
//! dropped before the current WAL generation are still known by name).
//!
//! Pipeline: (1) the known versions — every row payload of the database file's tables, every
//! version a commit or the uncommitted tail wrote, every row salvage found — as content
//! fingerprints; (2) schema rows carved from page-1 and schema-page images give dropped tables;
//! (3) the page images, read in batches of bounded size and carved on all cores (rayon), each
//! distinct image once; (4) every record that equals a known version is dropped (b-tree
//! rebalancing leaves copies of live rows in free space; they are not deletions), the rest are
//! merged by content, listing every place each was seen, attributed and classified.

mod sigs;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use rayon::prelude::*;

use super::ownership::Catalog;
use super::salvage::{OwnerHistory, track_with_owners};
use super::schema::{SchemaEntry, TableDef, parse_create_table};
use super::snapshot::{Forensics, Note, NoteCode, Origin};
use super::timeline::TrackOptions;
use super::walk::{Budget, CellData, Visitor, walk_freelist, walk_tree};
use crate::analysis::wal::FrameState;
use crate::format::btree::{overflow_content, overflow_next, overflow_page_count};
use crate::format::carve::{CarveParams, Carved, FreeStats, Inferred, PageCarve, Region, Signature, carve_page};
use crate::format::fingerprint::fingerprint;
use crate::format::record::{TextEncoding, Value, decode_record};

pub use sigs::SigSet;

/// How a carved record was found (its source class).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// A freeblock of a b-tree page in use.
    Freeblock,
    /// The unallocated gap of a b-tree page in use.
    Unallocated,
    /// A freelist trunk page (beyond its leaf list).
    FreelistTrunk,
    /// A freelist leaf page (its old cells, freeblocks and gap).
    FreelistLeaf,
    /// A page beyond the end of the database (left by a shrink).
    BeyondEnd,
    /// A record of a table that no longer exists.
    DroppedTable,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Self::Freeblock => "freeblock",
            Self::Unallocated => "unallocated",
            Self::FreelistTrunk => "freelist_trunk",
            Self::FreelistLeaf => "freelist_leaf",
            Self::BeyondEnd => "beyond_end",
            Self::DroppedTable => "dropped_table",
        }
    }
}

/// One place a carved record was seen.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Place {
    /// "db" or "wal".
    pub file: &'static str,
    pub frame: Option<u32>,
    /// "db_file", "committed", "superseded", "uncommitted", "stale", "invalid".
    pub state: &'static str,
    pub generations_ago: Option<u32>,
    pub page: u32,
    /// Byte offset of the cell in the page.
    pub offset: u32,
    pub region: Region,
    pub source: Source,
}

/// A record carved from free space.
#[derive(Clone, Debug)]
pub struct CarvedRow {
    pub table: Option<String>,
    /// "page_owner", "shape", "schema_root", "ambiguous".
    pub how: &'static str,
    pub candidates: Vec<String>,
    pub rowid: Option<i64>,
    pub rowid_range: Option<(i64, i64)>,
    /// The record as written (header and body; overflow appended when it could be followed).
    pub payload: Vec<u8>,
    pub payload_len: u64,
    /// The whole payload is present (no overflow, or the chain was followed to its end).
    pub complete: bool,
    /// Fields rebuilt or chosen (`payload_length`, `rowid`, `serial_type_1`, …).
    pub inferred: Vec<String>,
    /// Every value was read from the bytes (the serial types were read or uniquely determined)
    /// and the payload is complete.
    pub exact: bool,
    /// The table name had more than one incarnation (dropped and recreated, or its schema
    /// changed): the record may belong to an earlier one.
    pub earlier_incarnation: bool,
    /// Where it was seen (first the place it was decoded from).
    pub places: Vec<Place>,
}

impl CarvedRow {
    /// The primary source class (of the first place).
    pub fn source(&self) -> Source {
        self.places.first().map_or(Source::Freeblock, |p| p.source)
    }
}

/// Counts per source class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CarveCounts {
    pub images: u64,
    pub distinct_images: u64,
    pub records_found: u64,
    pub equal_known: u64,
    pub rows: u64,
    /// Deleted index entries found (not rows; not listed).
    pub index_entries: u64,
}

/// The carving result.
#[derive(Clone, Debug, Default)]
pub struct Carving {
    pub rows: Vec<CarvedRow>,
    pub counts: CarveCounts,
    pub free: FreeStats,
    /// Tables whose schema came only from carved `sqlite_schema` rows.
    pub dropped_tables: Vec<String>,
    pub tables: BTreeMap<String, Arc<TableDef>>,
    pub encoding: TextEncoding,
    pub notes: Vec<Note>,
}

/// Options.
#[derive(Clone, Copy, Debug)]
pub struct CarveOptions {
    /// Bytes of page images held at once (per batch).
    pub batch_bytes: usize,
}

impl Default for CarveOptions {
    fn default() -> Self {
        Self { batch_bytes: 32 << 20 }
    }
}

fn h64<T: Hash>(t: &T) -> u64 {
    let mut h = DefaultHasher::new();
    t.hash(&mut h);
    h.finish()
}

/// Content key of a payload (CRC-32 and length).
fn pkey(b: &[u8]) -> u64 {
    fingerprint(b)
}

/// Row payloads of the database file's tables (as content keys), and the storage classes seen
/// per table and record position.
struct KnownCollector<'k> {
    known: &'k mut HashSet<u64>,
    seen: &'k mut HashMap<String, sigs::Observed>,
    name: String,
    enc: TextEncoding,
}

impl Visitor for KnownCollector<'_> {
    fn wants_cells(&self) -> bool {
        true
    }
    fn cell(&mut self, c: CellData) {
        self.known.insert(pkey(&c.payload));
        sigs::observe(self.seen, &self.name, &c.payload, self.enc);
    }
    fn note(&mut self, _n: Note) {}
}

/// One page image to carve.
#[derive(Clone, Copy, Debug)]
struct Job {
    page: u32,
    origin: Origin,
    state: &'static str,
    generations_ago: Option<u32>,
    /// The page's role in its era: 0 in use, 1 trunk, 2 leaf, 3 beyond end.
    role: u8,
}

fn frame_state(w: &crate::analysis::wal::WalAnalysis, f: &crate::analysis::wal::FrameRecord) -> &'static str {
    match f.state {
        FrameState::Committed => {
            let later = w
                .frames
                .iter()
                .skip(f.index as usize)
                .take_while(|g| g.index <= w.valid_frames)
                .any(|g| g.header.page == f.header.page);
            if later { "superseded" } else { "committed" }
        }
        FrameState::Uncommitted => "uncommitted",
        FrameState::Stale => "stale",
        FrameState::Invalid => "invalid",
    }
}

/// Carve every page image; `extra_known` are payloads already reported elsewhere (salvage).
pub fn carve(fx: &Forensics<'_>, extra_known: &[&[u8]], opts: CarveOptions) -> Carving {
    let mut out = Carving::default();
    let latest = fx.snapshot(fx.latest());
    let base = fx.snapshot(fx.base());
    let enc = latest.encoding;
    out.encoding = enc;
    let usable = latest.usable;
    // (1) Known versions and schema history.
    let mut known: HashSet<u64> = extra_known.iter().map(|p| pkey(p)).collect();
    let mut seen: HashMap<String, sigs::Observed> = HashMap::new();
    let (hist, _) = track_with_owners(fx, TrackOptions { rows: true, ..TrackOptions::default() }, |ch| {
        for t in &ch.tables {
            for rc in &t.changes {
                if let Some(p) = &rc.new {
                    known.insert(pkey(p));
                    sigs::observe(&mut seen, &t.name, p, enc);
                }
            }
        }
    });
    let mut budget = Budget::default();
    let base_cat = Catalog::read(&base, &mut budget);
    for o in base_cat.objects.values() {
        if o.table.is_some() {
            let mut kc = KnownCollector { known: &mut known, seen: &mut seen, name: o.name.clone(), enc };
            walk_tree(&base, o.root, &mut kc, &mut budget);
        }
    }
    let latest_cat = Catalog::read(&latest, &mut budget);
    // Incarnations: names with more than one (root, sql) over the catalogs seen.
    let mut incarnations: HashMap<String, BTreeSet<(u32, String)>> = HashMap::new();
    for cat in [&base_cat, &latest_cat] {
        for e in &cat.entries {
            if e.kind == "table" {
                incarnations
                    .entry(e.name.clone())
                    .or_default()
                    .insert((u32::try_from(e.rootpage).unwrap_or(0), e.sql.clone().unwrap_or_default()));
            }
        }
    }
    for (name, o) in &hist.tables {
        incarnations.entry(name.clone()).or_default().insert((o.root, String::new()));
    }
    // (2) Page roles and the image jobs.
    let mut notes = Vec::new();
    let (l_trunks, l_leaves) = walk_freelist(&latest, &mut notes, &mut budget);
    let (b_trunks, b_leaves) = walk_freelist(&base, &mut notes, &mut budget);
    let role_in = |p: u32, trunks: &[u32], leaves: &[u32], size: u32| -> u8 {
        if trunks.contains(&p) {
            1
        } else if leaves.contains(&p) {
            2
        } else if p > size {
            3
        } else {
            0
        }
    };
    let (l_trunks_s, l_leaves_s): (Vec<u32>, Vec<u32>) = (sorted(l_trunks), sorted(l_leaves));
    let (b_trunks_s, b_leaves_s): (Vec<u32>, Vec<u32>) = (sorted(b_trunks), sorted(b_leaves));
    let role_l = |p: u32| role_in_sorted(p, &l_trunks_s, &l_leaves_s, latest.spec.db_pages);
    let role_b = |p: u32| role_in_sorted(p, &b_trunks_s, &b_leaves_s, base.spec.db_pages);
    let _ = role_in;
    let mut jobs: Vec<Job> = Vec::new();
    let file_pages = u32::try_from(fx.store.db_len() / u64::from(fx.store.page_size.max(1))).unwrap_or(u32::MAX);
    for p in 1..=file_pages {
        let rb = role_b(p);
        let rl = role_l(p);
        let role = if rb != 0 { rb } else { rl };
        jobs.push(Job { page: p, origin: Origin::Db, state: "db_file", generations_ago: None, role });
    }
    if let Some(w) = fx.wal() {
        for f in &w.frames {
            if f.header.page == 0 {
                continue;
            }
            jobs.push(Job {
                page: f.header.page,
                origin: Origin::Frame(f.index),
                state: frame_state(w, f),
                generations_ago: f.generations_ago,
                role: role_l(f.header.page),
            });
        }
    }
    out.counts.images = jobs.len() as u64;
    // (3) Signatures: every table of every schema version, then dropped tables from carved
    // schema rows.
    let mut set = SigSet::default();
    let mut owners: OwnerHistory = hist;
    for o in base_cat.objects.values().chain(latest_cat.objects.values()) {
        if o.table.is_some() {
            owners.tables.entry(o.name.clone()).or_insert_with(|| o.clone());
            owners.page_owners.entry(o.root).or_default().insert(o.name.clone());
        }
    }
    for (name, o) in &owners.tables {
        if let Some(t) = &o.table {
            set.add(name, t, seen.get(name));
        }
    }
    for cat in [&base_cat, &latest_cat] {
        for e in &cat.entries {
            if e.kind == "index"
                && let (Some(sql), Some(t)) = (&e.sql, cat.by_name(&e.tbl_name).and_then(|o| o.table.clone()))
            {
                set.add_index(&e.name, sql, &t);
            }
        }
    }
    let schema_pages: HashSet<u32> = owners
        .page_owners
        .iter()
        .filter(|(_, n)| n.contains("sqlite_schema"))
        .map(|(p, _)| *p)
        .chain(std::iter::once(1))
        .collect();
    let schema_sig = set.schema_sig();
    let schema_jobs: Vec<Job> = jobs.iter().filter(|j| schema_pages.contains(&j.page)).copied().collect();
    let mut schema_rows: Vec<SchemaEntry> = Vec::new();
    run_jobs(fx, &schema_jobs, usable, enc, &[schema_sig], &|_| Vec::new(), opts, &mut notes, |_, pc| {
        for c in &pc.records {
            let rec = decode_record(&c.record, enc);
            if let Some(e) = SchemaEntry::from_record(&rec.values) {
                schema_rows.push(e);
            }
        }
    });
    let mut dropped_roots: HashMap<u32, String> = HashMap::new();
    for e in schema_rows {
        if e.kind != "table" || e.name.starts_with("sqlite_") {
            continue;
        }
        let def = parse_create_table(&e.name, e.sql.as_deref().unwrap_or(""));
        if def.problem.is_some() || def.columns.is_empty() {
            continue;
        }
        incarnations
            .entry(e.name.clone())
            .or_default()
            .insert((u32::try_from(e.rootpage).unwrap_or(0), e.sql.clone().unwrap_or_default()));
        if !owners.tables.contains_key(&e.name) && !out.dropped_tables.contains(&e.name) {
            out.dropped_tables.push(e.name.clone());
            set.add(&e.name, &def, None);
            out.tables.insert(e.name.clone(), Arc::new(def));
        }
        if let Ok(r) = u32::try_from(e.rootpage)
            && r > 1
            && latest_cat.by_name(&e.name).is_none()
        {
            dropped_roots.insert(r, e.name.clone());
        }
    }
    for (name, o) in &owners.tables {
        if let Some(t) = &o.table {
            out.tables.insert(name.clone(), t.clone());
        }
    }
    let live_names: HashSet<String> = latest_cat.objects.values().map(|o| o.name.clone()).collect();
    // (4) Carve everything.
    let sigs = set.signatures();
    let mut rows: Vec<CarvedRow> = Vec::new();
    let mut by_content: HashMap<u64, usize> = HashMap::new();
    let mut free = FreeStats::default();
    let mut found = 0u64;
    let mut equal_known = 0u64;
    let mut distinct = 0u64;
    let ctx = Ctx { fx, usable, enc };
    let owner_sigs =
        |p: u32| -> Vec<usize> { owners.page_owners.get(&p).map(|n| set.of_names(n.iter())).unwrap_or_default() };
    let mut index_entries = 0u64;
    run_jobs(fx, &jobs, usable, enc, &sigs, &owner_sigs, opts, &mut notes, |job, pc| {
        distinct += 1;
        free.freeblocks += pc.stats.freeblocks;
        free.zeroed_freeblocks += pc.stats.zeroed_freeblocks;
        free.free_bytes += pc.stats.free_bytes;
        free.zero_free_bytes += pc.stats.zero_free_bytes;
        for c in &pc.records {
            found += 1;
            if set.is_index_entry(c.sig) {
                index_entries += 1;
                continue;
            }
            let (payload, complete) = ctx.assemble(job, c);
            let k = pkey(&payload);
            if known.contains(&k) {
                equal_known += 1;
                continue;
            }
            let attr = attribute(&set, &owners, &dropped_roots, job.page, &payload, enc, c);
            let source = classify(job, c, attr.0.as_deref(), &live_names);
            let place = Place {
                file: if job.origin == Origin::Db { "db" } else { "wal" },
                frame: job.origin.frame(),
                state: job.state,
                generations_ago: job.generations_ago,
                page: job.page,
                offset: u32::try_from(c.offset).unwrap_or(u32::MAX),
                region: c.region,
                source,
            };
            let slot = h64(&(k, c.rowid));
            if let Some(&i) = by_content.get(&slot) {
                if let Some(r) = rows.get_mut(i)
                    && !r.places.contains(&place)
                    && r.places.len() < 64
                {
                    r.places.push(place);
                }
                continue;
            }
            let earlier = attr.0.as_ref().is_some_and(|t| incarnations.get(t).is_some_and(|s| s.len() > 1));
            let guess = c.inferred.iter().any(|i| i.is_guess());
            by_content.insert(slot, rows.len());
            rows.push(CarvedRow {
                table: attr.0,
                how: attr.1,
                candidates: attr.2,
                rowid: c.rowid,
                rowid_range: c.rowid_range,
                payload_len: c.payload_len,
                exact: complete && !guess,
                complete,
                inferred: c
                    .inferred
                    .iter()
                    .map(|i| i.describe())
                    .chain((!complete).then(|| "overflow_cut".to_string()))
                    .collect(),
                earlier_incarnation: earlier,
                payload,
                places: vec![place],
            });
        }
    });
    // A version seen with its rowid and also without: keep the one with the rowid.
    let with_rowid: HashSet<u64> = rows.iter().filter(|r| r.rowid.is_some()).map(|r| pkey(&r.payload)).collect();
    let mut merged: Vec<CarvedRow> = Vec::with_capacity(rows.len());
    let mut extra_places: HashMap<u64, Vec<Place>> = HashMap::new();
    for r in rows {
        if r.rowid.is_none() && with_rowid.contains(&pkey(&r.payload)) {
            extra_places.entry(pkey(&r.payload)).or_default().extend(r.places);
        } else {
            merged.push(r);
        }
    }
    for r in &mut merged {
        if r.rowid.is_some()
            && let Some(p) = extra_places.remove(&pkey(&r.payload))
        {
            r.places.extend(p);
        }
    }
    merged.sort_by(|a, b| {
        (a.table.as_deref(), a.rowid, a.places.first()).cmp(&(b.table.as_deref(), b.rowid, b.places.first()))
    });
    out.counts.distinct_images = distinct;
    out.counts.records_found = found;
    out.counts.equal_known = equal_known;
    out.counts.rows = merged.len() as u64;
    out.counts.index_entries = index_entries;
    out.rows = merged;
    out.free = free;
    if free.freeblocks >= 4 && free.zeroed_freeblocks * 10 >= free.freeblocks * 9 {
        notes.push(Note::new(
            NoteCode::CarveZeroedFreeSpace,
            format!(
                "{} of {} freeblocks are all zeros after their 4-byte header: secure_delete evidently zeroed deleted records, so little or nothing can be carved",
                free.zeroed_freeblocks, free.freeblocks
            ),
        ));
    }
    out.notes = notes;
    out
}

fn sorted(mut v: Vec<u32>) -> Vec<u32> {
    v.sort_unstable();
    v.dedup();
    v
}

fn role_in_sorted(p: u32, trunks: &[u32], leaves: &[u32], size: u32) -> u8 {
    if trunks.binary_search(&p).is_ok() {
        1
    } else if leaves.binary_search(&p).is_ok() {
        2
    } else if p > size {
        3
    } else {
        0
    }
}

/// Read the jobs' images in batches of bounded size, carve the distinct ones in parallel, and
/// hand each result (with the first job holding that image) to `f`, in job order.
#[allow(clippy::too_many_arguments)]
fn run_jobs(
    fx: &Forensics<'_>,
    jobs: &[Job],
    usable: u32,
    enc: TextEncoding,
    sigs: &[Signature],
    owner_sigs: &(dyn Fn(u32) -> Vec<usize> + Sync),
    opts: CarveOptions,
    notes: &mut Vec<Note>,
    mut f: impl FnMut(&Job, &PageCarve),
) {
    let ps = fx.store.page_size.max(512) as usize;
    let per_batch = (opts.batch_bytes / ps).max(16);
    let mut seen_images: HashSet<u64> = HashSet::new();
    for chunk in jobs.chunks(per_batch) {
        let mut batch: Vec<(usize, Arc<[u8]>)> = Vec::with_capacity(chunk.len());
        for (i, j) in chunk.iter().enumerate() {
            match fx.store.read(j.page, j.origin) {
                Ok(d) => {
                    // One carve per distinct (page number, role, image).
                    if seen_images.insert(h64(&(j.page, j.role, pkey(&d)))) {
                        batch.push((i, d));
                    }
                }
                Err(n) => notes.push(n),
            }
        }
        let results: Vec<(usize, PageCarve)> = batch
            .par_iter()
            .map(|(i, d)| {
                let j = chunk.get(*i).copied();
                let pc = j.map(|j| carve_one(d, &j, usable, enc, sigs, &owner_sigs(j.page))).unwrap_or_default();
                (*i, pc)
            })
            .collect();
        drop(batch);
        for (i, pc) in &results {
            if let Some(j) = chunk.get(*i) {
                f(j, pc);
            }
        }
    }
}

fn carve_one(d: &[u8], j: &Job, usable: u32, enc: TextEncoding, sigs: &[Signature], owner: &[usize]) -> PageCarve {
    let mut prm =
        CarveParams { usable, page1: j.page == 1, encoding: enc, cells: j.role >= 2, scan_from: None, owner_sigs: 0 };
    if j.role == 1 {
        // A trunk: leaf entries first, then whatever the page held before.
        let n = crate::format::bytes::be_u32(d, 4).unwrap_or(0) as usize;
        prm.scan_from = Some(8 + 4 * n.min(usable as usize / 4));
    }
    // The owner's signatures first (a page in use: its freeblocks are carved with them alone).
    let mut order: Vec<usize> = owner.iter().copied().filter(|&i| i < sigs.len()).collect();
    if j.role == 0 {
        prm.owner_sigs = order.len();
    }
    order.extend((0..sigs.len()).filter(|i| !owner.contains(i)));
    let local: Vec<Signature> = order.iter().filter_map(|&i| sigs.get(i).cloned()).collect();
    let mut pc = carve_page(d, &prm, &local);
    for c in &mut pc.records {
        if let Some(&i) = order.get(c.sig) {
            c.sig = i;
        }
    }
    pc
}

struct Ctx<'c, 'a> {
    fx: &'c Forensics<'a>,
    usable: u32,
    enc: TextEncoding,
}

impl Ctx<'_, '_> {
    /// The record's payload with its overflow chain appended while it can be followed (from
    /// the same file: the database file for database pages, the newest frame at or before the
    /// record's frame otherwise). Returns (payload, complete).
    fn assemble(&self, job: &Job, c: &Carved) -> (Vec<u8>, bool) {
        let mut out = c.record.clone();
        let Some(first) = c.overflow else { return (out, true) };
        // The record holds header + local bodies; the local part is `len − 4 − prefix`.
        let need = overflow_page_count(c.payload_len, out.len() as u32, self.usable);
        let mut remaining = c.payload_len.saturating_sub(out.len() as u64);
        let mut p = first;
        let mut seen = HashSet::new();
        let mut n = 0u64;
        while p != 0 && n < need && remaining > 0 {
            if !seen.insert(p) {
                break;
            }
            let origin = match job.origin {
                Origin::Frame(f) => self.fx.index.latest(p, f).map_or(Origin::Db, Origin::Frame),
                o => o,
            };
            let Ok(d) = self.fx.store.read(p, origin) else { break };
            let content = overflow_content(&d, self.usable);
            let take = (content.len() as u64).min(remaining) as usize;
            out.extend_from_slice(content.get(..take).unwrap_or(&[]));
            remaining -= take as u64;
            n += 1;
            p = overflow_next(&d).unwrap_or(0);
        }
        // A whole chain ends on a page whose next pointer is 0, and its values read as values:
        // a chain that goes on, or ends in implausible bytes, ran into a page reused since (its
        // bytes are not this record's) — keep the local part only, marked incomplete.
        if remaining == 0 && p == 0 && crate::format::carve::record_plausible(&out, self.enc) {
            return (out, true);
        }
        let mut local = c.record.clone();
        local.truncate(c.record.len());
        (local, false)
    }
}

type Attr = (Option<String>, &'static str, Vec<String>);

fn attribute(
    set: &SigSet,
    owners: &OwnerHistory,
    dropped_roots: &HashMap<u32, String>,
    page: u32,
    payload: &[u8],
    enc: TextEncoding,
    c: &Carved,
) -> Attr {
    let _ = enc;
    if c.sig == crate::format::carve::UNKNOWN_SIG {
        return (None, "unknown", Vec::new());
    }
    // The serial types from the header alone (the body of a cut overflow record is short).
    let cands = set.tables_admitting(&header_types(payload), c.sig);
    if let Some(names) = owners.page_owners.get(&page) {
        let hit: Vec<String> = cands.iter().filter(|n| names.contains(*n)).cloned().collect();
        if hit.len() == 1 {
            return (hit.first().cloned(), "page_owner", cands);
        }
    }
    if let Some(n) = dropped_roots.get(&page)
        && cands.contains(n)
    {
        return (Some(n.clone()), "schema_root", cands);
    }
    match cands.len() {
        1 => (cands.first().cloned(), "shape", cands),
        _ => (None, "ambiguous", cands),
    }
}

fn classify(job: &Job, c: &Carved, table: Option<&str>, live: &HashSet<String>) -> Source {
    if table.is_some_and(|t| !live.contains(t)) {
        return Source::DroppedTable;
    }
    match job.role {
        1 => Source::FreelistTrunk,
        2 => Source::FreelistLeaf,
        3 => Source::BeyondEnd,
        _ => match c.region {
            Region::Unallocated => Source::Unallocated,
            _ => Source::Freeblock,
        },
    }
}

/// The serial types a record header lists (up to the first that does not decode).
fn header_types(payload: &[u8]) -> Vec<u64> {
    let mut out = Vec::new();
    let Some((h, w)) = crate::format::varint::read_varint(payload, 0) else { return out };
    let end = usize::try_from(h).unwrap_or(0).min(payload.len());
    let head = payload.get(..end).unwrap_or(&[]);
    let mut at = w;
    while at < end && out.len() < 4096 {
        let Some((t, n)) = crate::format::varint::read_varint(head, at) else { break };
        out.push(t);
        at += n;
    }
    out
}

/// The values of a record whose overflow chain was cut: the whole values, then the cut value's
/// surviving prefix (text trimmed to whole characters, a blob's bytes); the caller marks it.
fn decode_cut(payload: &[u8], enc: TextEncoding) -> Vec<Value> {
    let rec = decode_record(payload, enc);
    if rec.is_intact() {
        return rec.values;
    }
    let types = header_types(payload);
    let mut vals = rec.values;
    let n = vals.len();
    let Some(&t) = types.get(n) else { return vals };
    let Some(h) = crate::format::varint::read_varint(payload, 0).and_then(|(h, _)| usize::try_from(h).ok()) else {
        return vals;
    };
    let before: Option<u64> = types
        .get(..n)
        .unwrap_or(&[])
        .iter()
        .try_fold(0u64, |a, &x| a.checked_add(crate::format::record::serial_type_len(x)?));
    let Some(off) = before.and_then(|b| usize::try_from(b).ok()).and_then(|b| b.checked_add(h)) else {
        return vals;
    };
    let avail = payload.get(off..).unwrap_or(&[]);
    let v = match crate::format::carve::class_of(t) {
        Some(crate::format::carve::class::TEXT) => match enc {
            TextEncoding::Utf8 => {
                let whole = match std::str::from_utf8(avail) {
                    Ok(s) => s,
                    Err(e) => std::str::from_utf8(avail.get(..e.valid_up_to()).unwrap_or(&[])).unwrap_or(""),
                };
                Value::Text(whole.to_string())
            }
            _ => enc.text_value(avail.get(..avail.len() & !1).unwrap_or(&[])),
        },
        Some(crate::format::carve::class::BLOB) => Value::Blob(avail.to_vec()),
        _ => return vals,
    };
    vals.push(v);
    vals
}

/// The values of a carved row in its table's column order (position order when unattributed).
/// For a record whose overflow chain was cut (`complete` false) the cut value is the prefix
/// that survives (never a NULL standing in for it).
pub fn row_values(c: &Carving, r: &CarvedRow) -> (Vec<String>, Vec<Value>) {
    let vals =
        if r.complete { decode_record(&r.payload, c.encoding).values } else { decode_cut(&r.payload, c.encoding) };
    match r.table.as_ref().and_then(|t| c.tables.get(t)) {
        Some(def) => {
            let out = def.row_values(&vals, r.rowid);
            (def.column_names(out.len()), out)
        }
        None => ((0..vals.len()).map(|i| format!("_col{i}")).collect(), vals),
    }
}

/// Is `inferred` a guess that makes a value uncertain?
pub fn inferred_is_guess(i: Inferred) -> bool {
    i.is_guess()
}
