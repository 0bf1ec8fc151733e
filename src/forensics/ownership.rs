//! Page ownership of one snapshot: which table or index (and in what role: root, interior,
//! leaf, overflow) owns each page, which pages are on the freelist, which are pointer-map
//! pages or the lock-byte page, and which are orphans (reached from nothing: SQLite's
//! `integrity_check` calls them "never used").
//!
//! The schema is read from the snapshot itself (`sqlite_schema` rooted at page 1), so a page
//! is attributed to the objects that existed at that commit.

use crate::forensics::snapshot::NoteCode;
use crate::format::vocab::vocabulary;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::schema::{SchemaEntry, TableDef, parse_create_table};
use super::snapshot::{Note, Origin, PageMap, Snapshot};
use super::walk::{Budget, CellData, PageRole, PageVisit, Visitor, walk_freelist, walk_tree};
use crate::format::btree::BtreePage;
use crate::format::ptrmap::{PtrmapType, is_ptrmap_page, lock_byte_page, ptrmap_entry, ptrmap_page_for};
use crate::format::record::{Value, decode_record};

vocabulary! {
    /// What kind of object owns a b-tree.
    pub enum ObjectKind {
        /// `sqlite_schema` itself (root page 1).
        Schema = "schema",
        Table = "table",
        Index = "index",
    }
}

vocabulary! {
    /// The type of a page's owner, as the timeline reports it.
    pub enum OwnerType {
        Table = "table",
        Index = "index",
        Schema = "schema",
        Freelist = "freelist",
        Ptrmap = "ptrmap",
        LockByte = "lock_byte",
        /// Owned by nothing in the snapshot.
        Orphan = "orphan",
        /// Beyond the snapshot's database size.
        Beyond = "beyond",
        /// A b-tree whose root is not in the catalog.
        Unknown = "unknown",
    }
}

impl From<ObjectKind> for OwnerType {
    fn from(k: ObjectKind) -> Self {
        match k {
            ObjectKind::Schema => Self::Schema,
            ObjectKind::Table => Self::Table,
            ObjectKind::Index => Self::Index,
        }
    }
}

/// A b-tree and what it stores.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectInfo {
    pub root: u32,
    pub name: String,
    pub kind: ObjectKind,
    /// The table an index belongs to (the table's own name for tables).
    pub tbl_name: String,
    /// Record layout (tables only).
    pub table: Option<Arc<TableDef>>,
}

impl ObjectInfo {
    /// The schema table itself, rooted at page 1.
    fn sqlite_schema() -> Self {
        Self {
            root: 1,
            name: "sqlite_schema".into(),
            kind: ObjectKind::Schema,
            tbl_name: "sqlite_schema".into(),
            table: Some(Arc::new(TableDef::sqlite_schema())),
        }
    }

    /// True when rows of this object are user-visible table rows (tables, WITHOUT ROWID
    /// tables, and sqlite_schema).
    pub fn has_rows(&self) -> bool {
        self.table.is_some()
    }
    pub fn without_rowid(&self) -> bool {
        self.table.as_ref().is_some_and(|t| t.without_rowid)
    }
}

/// The objects of one snapshot, from its `sqlite_schema`.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    pub entries: Vec<SchemaEntry>,
    /// b-tree objects by root page (page 1 is sqlite_schema).
    pub objects: BTreeMap<u32, ObjectInfo>,
    pub notes: Vec<Note>,
}

struct SchemaCollector {
    rows: Vec<(Option<i64>, Vec<u8>)>,
    notes: Vec<Note>,
}

impl Visitor for SchemaCollector {
    fn wants_cells(&self) -> bool {
        true
    }
    fn cell(&mut self, c: CellData) {
        self.rows.push((c.rowid, c.payload));
    }
    fn note(&mut self, n: Note) {
        self.notes.push(n);
    }
}

impl Catalog {
    /// Read `sqlite_schema` from a snapshot.
    pub fn read(snap: &Snapshot<'_>, budget: &mut Budget) -> Self {
        let mut cat = Self::default();
        cat.objects.insert(1, ObjectInfo::sqlite_schema());
        if snap.spec.db_pages == 0 {
            return cat;
        }
        let mut c = SchemaCollector { rows: Vec::new(), notes: Vec::new() };
        walk_tree(snap, 1, &mut c, budget);
        cat.notes = c.notes;
        for (rowid, payload) in &c.rows {
            let rec = decode_record(payload, snap.encoding);
            if let Some(e) = rec.error.filter(|_| !rec.is_intact()) {
                cat.notes.push(
                    Note::new(NoteCode::SchemaBadRecord, format!("sqlite_schema row {}: {e}", rowid.unwrap_or(0)))
                        .at_page(1, snap.origin(1)),
                );
            }
            if let Some(e) = SchemaEntry::from_record(&rec.values) {
                cat.entries.push(e);
            }
        }
        cat.rebuild_objects(snap.spec.db_pages);
        cat
    }

    /// Build the same catalog from schema rows already decoded (used when the timeline diffs
    /// sqlite_schema).
    pub fn from_entries(entries: Vec<SchemaEntry>, db_pages: u32) -> Self {
        let mut cat = Self { entries, ..Self::default() };
        cat.objects.insert(1, ObjectInfo::sqlite_schema());
        cat.rebuild_objects(db_pages);
        cat
    }

    fn rebuild_objects(&mut self, db_pages: u32) {
        for e in &self.entries {
            let kind = match e.kind.as_str() {
                "table" => ObjectKind::Table,
                "index" => ObjectKind::Index,
                _ => continue,
            };
            if e.rootpage <= 0 {
                continue; // virtual tables
            }
            let Some(root) = u32::try_from(e.rootpage).ok().filter(|&r| r <= db_pages && r != 1) else {
                self.notes.push(Note::new(
                    NoteCode::SchemaBadRootpage,
                    format!("{} {} has root page {} outside the database (1..={db_pages})", e.kind, e.name, e.rootpage),
                ));
                continue;
            };
            let table = (kind == ObjectKind::Table).then(|| {
                let def = parse_create_table(&e.name, e.sql.as_deref().unwrap_or(""));
                if let Some(p) = &def.problem {
                    self.notes.push(Note::new(
                        NoteCode::SchemaUnparsed,
                        format!("table {}: {p}; its rows are shown by position", e.name),
                    ));
                }
                Arc::new(def)
            });
            if let Some(prev) = self.objects.get(&root) {
                self.notes.push(
                    Note::new(
                        NoteCode::SchemaRootShared,
                        format!("{} and {} both claim root page {root}", prev.name, e.name),
                    )
                    .at_page(root, Origin::Missing),
                );
                continue;
            }
            self.objects
                .insert(root, ObjectInfo { root, name: e.name.clone(), kind, tbl_name: e.tbl_name.clone(), table });
        }
    }

    /// The object named `name` (case-insensitive, like SQLite).
    pub fn by_name(&self, name: &str) -> Option<&ObjectInfo> {
        let name = if name.eq_ignore_ascii_case("sqlite_master") { "sqlite_schema" } else { name };
        self.objects.values().find(|o| o.name.eq_ignore_ascii_case(name))
    }
}

/// Who owns a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OwnerKind {
    /// The b-tree with this root page.
    Tree(u32),
    Freelist,
    Ptrmap,
    LockByte,
}

/// A page's owner, its role, and the page pointing to it (0 for roots and non-b-tree pages).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageOwner {
    pub kind: OwnerKind,
    pub role: PageRole,
    pub parent: u32,
}

/// Ownership of every page of a snapshot.
#[derive(Clone, Debug, Default)]
pub struct Ownership {
    pub db_pages: u32,
    pub pages: PageMap<PageOwner>,
    pub catalog: Catalog,
    pub notes: Vec<Note>,
}

struct Claimer<'o> {
    root: u32,
    pages: &'o mut PageMap<PageOwner>,
    notes: &'o mut Vec<Note>,
    names: &'o BTreeMap<u32, ObjectInfo>,
}

impl Visitor for Claimer<'_> {
    fn page(&mut self, v: PageVisit) {
        claim(
            self.pages,
            self.notes,
            self.names,
            v.page,
            PageOwner { kind: OwnerKind::Tree(self.root), role: v.role, parent: v.parent },
            v.origin,
        );
    }
    fn note(&mut self, n: Note) {
        self.notes.push(n);
    }
}

/// Human name of an owner.
pub fn owner_name(names: &BTreeMap<u32, ObjectInfo>, k: OwnerKind) -> (String, OwnerType) {
    match k {
        OwnerKind::Tree(r) => match names.get(&r) {
            Some(o) => (o.name.clone(), o.kind.into()),
            None => (format!("(b-tree at page {r})"), OwnerType::Unknown),
        },
        OwnerKind::Freelist => ("(freelist)".into(), OwnerType::Freelist),
        OwnerKind::Ptrmap => ("(pointer map)".into(), OwnerType::Ptrmap),
        OwnerKind::LockByte => ("(lock-byte page)".into(), OwnerType::LockByte),
    }
}

/// Record `owner` for page `p`; a page already owned is a `page.claimed_twice` note.
pub fn claim(
    pages: &mut PageMap<PageOwner>,
    notes: &mut Vec<Note>,
    names: &BTreeMap<u32, ObjectInfo>,
    p: u32,
    owner: PageOwner,
    origin: Origin,
) -> bool {
    if let Some(prev) = pages.get(&p) {
        if prev.kind != owner.kind || prev.role != owner.role {
            let (a, _) = owner_name(names, prev.kind);
            let (b, _) = owner_name(names, owner.kind);
            notes.push(
                Note::new(
                    NoteCode::PageClaimedTwice,
                    format!("page {p} is claimed by {a} ({}) and by {b} ({})", prev.role, owner.role),
                )
                .at_page(p, origin),
            );
        }
        return false;
    }
    pages.insert(p, owner);
    true
}

impl Ownership {
    /// Walk every b-tree of the snapshot's schema, the freelist, the pointer map and the
    /// lock-byte page.
    pub fn build(snap: &Snapshot<'_>, budget: &mut Budget) -> Self {
        let catalog = Catalog::read(snap, budget);
        let mut own = Self { db_pages: snap.spec.db_pages, catalog, ..Self::default() };
        if snap.spec.db_pages == 0 {
            return own;
        }
        let names = own.catalog.objects.clone();
        own.claim_fixed(snap, 1..=snap.spec.db_pages);
        for &root in names.keys() {
            let mut c = Claimer { root, pages: &mut own.pages, notes: &mut own.notes, names: &names };
            walk_tree(snap, root, &mut c, budget);
        }
        own.claim_freelist(snap, budget, &names);
        if snap.auto_vacuum() {
            own.check_ptrmap(snap, budget);
        }
        own
    }

    /// Cross-check the pointer map of an auto-vacuum database against the walks: each page's
    /// entry must give the type and parent the walk found (`ptrmap.mismatch`).
    pub fn check_ptrmap(&mut self, snap: &Snapshot<'_>, budget: &mut Budget) {
        let (ps, usable) = (snap.page_size(), snap.usable);
        let mut map_page: Option<(u32, std::sync::Arc<[u8]>)> = None;
        let mut reported = 0usize;
        let mut owned: Vec<(u32, PageOwner)> =
            self.pages.iter().filter(|&(&p, _)| p >= 2 && p <= self.db_pages).map(|(&p, &o)| (p, o)).collect();
        owned.sort_unstable_by_key(|&(p, _)| p);
        for (p, o) in owned {
            let expected = match (o.kind, o.role) {
                (OwnerKind::Ptrmap | OwnerKind::LockByte, _) => continue,
                (OwnerKind::Freelist, _) => (PtrmapType::FreePage, 0),
                (OwnerKind::Tree(_), PageRole::Root) => (PtrmapType::RootPage, 0),
                (OwnerKind::Tree(_), PageRole::Overflow) => {
                    let prev_is_overflow = self.pages.get(&o.parent).is_some_and(|q| q.role == PageRole::Overflow);
                    (if prev_is_overflow { PtrmapType::Overflow2 } else { PtrmapType::Overflow1 }, o.parent)
                }
                (OwnerKind::Tree(_), _) => (PtrmapType::Btree, o.parent),
            };
            let m = ptrmap_page_for(p, usable, ps);
            if map_page.as_ref().map(|x| x.0) != Some(m) {
                if !budget.step() {
                    return;
                }
                map_page = snap.page(m).ok().map(|pr| (m, pr.data));
            }
            let Some((_, data)) = &map_page else { continue };
            let got = ptrmap_entry(data, m, p);
            if got != Some((Some(expected.0), expected.1)) {
                reported += 1;
                if reported <= 100 {
                    let off = u64::from(p.saturating_sub(m).saturating_sub(1)) * 5;
                    self.notes.push(
                        Note::new(
                            NoteCode::PtrmapMismatch,
                            format!(
                                "pointer-map entry of page {p} is {got:?}; the walk found {expected:?} ({})",
                                o.role.as_str()
                            ),
                        )
                        .at_page(m, snap.origin(m))
                        .offset(off),
                    );
                }
            }
        }
    }

    /// Claim the lock-byte page and pointer-map pages within `range`.
    pub fn claim_fixed(&mut self, snap: &Snapshot<'_>, range: std::ops::RangeInclusive<u32>) {
        let range = *range.start()..=(*range.end()).min(snap.extent());
        let lock = lock_byte_page(snap.page_size());
        let names = BTreeMap::new();
        if range.contains(&lock) {
            claim(
                &mut self.pages,
                &mut self.notes,
                &names,
                lock,
                PageOwner { kind: OwnerKind::LockByte, role: PageRole::LockByte, parent: 0 },
                Origin::Missing,
            );
        }
        if snap.auto_vacuum() {
            // Map pages are spaced U/5 + 1 apart: step through them, not through every page.
            let per = snap.usable / 5 + 1;
            let mut p = 2u32;
            while p <= *range.end() {
                for q in [p, p.saturating_add(1)] {
                    if range.contains(&q) && is_ptrmap_page(q, snap.usable, snap.page_size()) {
                        claim(
                            &mut self.pages,
                            &mut self.notes,
                            &names,
                            q,
                            PageOwner { kind: OwnerKind::Ptrmap, role: PageRole::Ptrmap, parent: 0 },
                            snap.origin(q),
                        );
                    }
                }
                let Some(n) = p.checked_add(per) else { break };
                p = n;
            }
        }
    }

    /// Claim the freelist's trunk and leaf pages.
    pub fn claim_freelist(
        &mut self,
        snap: &Snapshot<'_>,
        budget: &mut Budget,
        names: &BTreeMap<u32, ObjectInfo>,
    ) -> Vec<u32> {
        let (trunks, leaves) = walk_freelist(snap, &mut self.notes, budget);
        let mut all = Vec::with_capacity(trunks.len() + leaves.len());
        for (list, role) in [(trunks, PageRole::FreelistTrunk), (leaves, PageRole::FreelistLeaf)] {
            for p in list {
                claim(
                    &mut self.pages,
                    &mut self.notes,
                    names,
                    p,
                    PageOwner { kind: OwnerKind::Freelist, role, parent: 0 },
                    snap.origin(p),
                );
                all.push(p);
            }
        }
        all
    }

    /// Owner of page `p`: (name, type, role). Pages owned by nothing are orphans; pages past
    /// the end are "beyond"; neither has a role.
    pub fn describe(&self, p: u32) -> (String, OwnerType, Option<PageRole>) {
        if p == 0 || p > self.db_pages {
            return ("(beyond the database)".into(), OwnerType::Beyond, None);
        }
        match self.pages.get(&p) {
            Some(o) => {
                let (n, k) = owner_name(&self.catalog.objects, o.kind);
                (n, k, Some(o.role))
            }
            None => ("(orphan)".into(), OwnerType::Orphan, None),
        }
    }

    /// Runs of pages owned by nothing, as inclusive ranges.
    pub fn orphans(&self) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        let mut next = 1u32;
        let mut keys: Vec<u32> = self.pages.keys().copied().collect();
        keys.sort_unstable();
        for p in keys {
            if p > self.db_pages {
                break;
            }
            if p > next {
                out.push((next, p - 1));
            }
            next = p.saturating_add(1);
        }
        if self.db_pages >= next && self.db_pages > 0 {
            out.push((next, self.db_pages));
        }
        out
    }
}

/// A decoded cell of a page, for display.
#[derive(Clone, Debug, PartialEq)]
pub struct CellSummary {
    pub index: usize,
    pub offset: usize,
    pub left_child: Option<u32>,
    pub rowid: Option<i64>,
    pub payload_len: u64,
    pub overflow: Option<u32>,
    /// The values decoded from the local part of the payload (a record spilling to overflow
    /// pages shows the columns that fit).
    pub values: Vec<Value>,
    pub problem: Option<String>,
}

/// Decode the cells of one page image for display (frame detail views). `None` when the page
/// is not a b-tree page.
pub fn page_cells(
    data: &[u8],
    page_no: u32,
    usable: u32,
    enc: crate::format::record::TextEncoding,
) -> Option<Vec<CellSummary>> {
    let bt = BtreePage::parse(data, page_no == 1, usable).ok()?;
    let mut out = Vec::with_capacity(bt.cell_count());
    for i in 0..bt.cell_count() {
        match bt.cell(i) {
            Ok(c) => {
                let rec = (bt.page_type != crate::format::db_header::PageType::TableInterior)
                    .then(|| decode_record(c.local, enc));
                let problem =
                    rec.as_ref().and_then(|r| r.error).filter(|_| c.overflow.is_none()).map(|e| e.to_string());
                out.push(CellSummary {
                    index: i,
                    offset: c.offset,
                    left_child: c.left_child,
                    rowid: c.rowid,
                    payload_len: c.payload_len,
                    overflow: c.overflow,
                    values: rec.map(|r| r.values).unwrap_or_default(),
                    problem,
                });
            }
            Err(e) => out.push(CellSummary {
                index: i,
                offset: bt.cell_offset(i).unwrap_or(0),
                left_child: None,
                rowid: None,
                payload_len: 0,
                overflow: None,
                values: Vec::new(),
                problem: Some(e.to_string()),
            }),
        }
    }
    Some(out)
}
