//! The per-commit change timeline, computed incrementally.
//!
//! The tracker builds page ownership once, for the database file (the state before the first
//! commit), and then applies the commits of the current WAL generation in order. For each
//! commit it only looks at the b-trees whose pages the commit wrote:
//!
//! 1. `S` = the pages the commit's frames write. A page of `S` owned by b-tree `T` makes `T`
//!    affected; the page and its ancestors (from the parent links kept in the ownership map)
//!    are *dirty*.
//! 2. `T` is walked in the new snapshot, entering a child only when it is in `S`, dirty, or
//!    was not part of `T` before; every other child is an unchanged subtree (same bytes, same
//!    descendants) and is skipped — this is the sharing of unchanged subtrees by page identity.
//! 3. `T` is walked in the old snapshot, entering a child when it is dirty or was not skipped
//!    by the new walk (so pages that left the tree without being rewritten — freed pages keep
//!    their bytes — are still seen).
//! 4. The cells of the entered pages are compared by key (rowid, or the primary key of a
//!    WITHOUT ROWID table): a key only in the old walk was deleted, only in the new walk
//!    inserted, in both with different payload bytes (overflow included) updated. A row
//!    cannot hide in a skipped subtree on one side only, since skipped subtrees are identical
//!    on both sides.
//! 5. Ownership is updated from the two walks; the freelist is re-read when the header page or
//!    a freelist page changed; `sqlite_schema` changes rebuild the catalog (created, dropped
//!    and moved b-trees are walked whole).
//!
//! Work per commit is proportional to the pages it wrote times the tree depth, never to the
//! database size (except for schema changes that create, drop or move a b-tree).

use crate::forensics::snapshot::NoteCode;
use crate::format::vocab::vocabulary;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use super::ownership::{Catalog, ObjectInfo, ObjectKind, OwnerKind, OwnerType, Ownership, PageOwner, claim};
use super::schema::{SchemaEntry, TableDef};
use super::snapshot::{Forensics, Note, Origin, PageHash, PageMap, PageSet, Snapshot, SnapshotSpec};
use super::walk::{Budget, CellData, PageRole, PageVisit, Visitor, walk_tree};
use crate::format::record::{TextEncoding, Value, decode_record};

/// Identity of a row within its table.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RowKey {
    Rowid(i64),
    /// Canonical bytes of the primary-key values (WITHOUT ROWID tables).
    Pk(Vec<u8>),
}

/// One row's change in a commit. Payloads are the raw record bytes (overflow included).
#[derive(Clone, Debug, PartialEq)]
pub struct RowChange {
    pub key: RowKey,
    pub old: Option<Vec<u8>>,
    pub new: Option<Vec<u8>>,
    /// Where the new (or, for a deletion, the old) version of the row lives.
    pub page: u32,
    pub origin: Origin,
}

impl RowChange {
    pub fn op(&self) -> RowOp {
        match (&self.old, &self.new) {
            (None, Some(_)) => RowOp::Insert,
            (Some(_), None) => RowOp::Delete,
            _ => RowOp::Update,
        }
    }
}

/// The row changes of one table in one commit, sorted by key.
#[derive(Clone, Debug)]
pub struct TableDiff {
    pub root: u32,
    pub name: String,
    pub table: Arc<TableDef>,
    pub changes: Vec<RowChange>,
}

vocabulary! {
    /// What a commit did to a row.
    pub enum RowOp {
        Insert = "insert",
        Update = "update",
        Delete = "delete",
    }
}

vocabulary! {
    /// What a commit did to a b-tree.
    pub enum SchemaOp {
        Create = "create",
        Drop = "drop",
        Rename = "rename",
        /// A new root page (`old_root` set).
        Move = "move",
    }
}

/// A b-tree created, dropped or moved by a commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaChange {
    pub op: SchemaOp,
    pub kind: ObjectKind,
    pub name: String,
    pub root: u32,
    pub old_root: Option<u32>,
}

/// A page a commit wrote and who owns it afterwards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenPage {
    pub page: u32,
    /// The last frame of the commit that writes it.
    pub frame: u32,
    pub owner: String,
    pub kind: OwnerType,
    /// None for orphans and pages beyond the database (`"none"` on the wire).
    pub role: Option<PageRole>,
}

/// Everything one commit changed.
#[derive(Clone, Debug)]
pub struct CommitChanges {
    /// 1-based commit number; None for the uncommitted tail.
    pub number: Option<u32>,
    pub committed: bool,
    pub first_frame: u32,
    pub frame: u32,
    pub spec: SnapshotSpec,
    pub pages: Vec<WrittenPage>,
    pub schema_changes: Vec<SchemaChange>,
    /// Tables with row changes (only when rows are tracked; sqlite_schema always).
    pub tables: Vec<TableDiff>,
    pub notes: Vec<Note>,
}

/// What the tracker collects.
#[derive(Clone, Debug, Default)]
pub struct TrackOptions {
    /// Compare rows of tables (sqlite_schema's rows are always compared).
    pub rows: bool,
    /// Only compare rows of this table (by name, case-insensitive).
    pub only_table: Option<String>,
    /// Work budget in page reads (0 = default).
    pub budget: u64,
}

/// The key of a row with this payload in this object, when the object has rows.
pub fn row_key(obj: &ObjectInfo, rowid: Option<i64>, payload: &[u8], enc: TextEncoding) -> Option<RowKey> {
    let t = obj.table.as_ref()?;
    if !t.without_rowid {
        return rowid.map(RowKey::Rowid);
    }
    let rec = decode_record(payload, enc);
    let mut k = Vec::new();
    for v in rec.values.iter().take(t.pk_len().max(1)) {
        v.key_bytes(&mut k);
    }
    Some(RowKey::Pk(k))
}

/// Decode a row's values in its table's column order (see [`TableDef::row_values`]); the
/// second element describes damage, if any.
pub fn row_values(table: &TableDef, key: &RowKey, payload: &[u8], enc: TextEncoding) -> (Vec<Value>, Option<String>) {
    let rec = decode_record(payload, enc);
    let rowid = match key {
        RowKey::Rowid(r) => Some(*r),
        RowKey::Pk(_) => None,
    };
    let problem = rec.error.filter(|_| !rec.is_intact()).map(|e| e.to_string());
    (table.row_values(&rec.values, rowid), problem)
}

/// The primary-key values of a WITHOUT ROWID row (record prefix), or the rowid.
pub fn key_values(table: &TableDef, key: &RowKey, payload: Option<&[u8]>, enc: TextEncoding) -> Vec<Value> {
    match key {
        RowKey::Rowid(r) => vec![Value::Integer(*r)],
        RowKey::Pk(_) => payload
            .map(|p| decode_record(p, enc).values.into_iter().take(table.pk_len().max(1)).collect())
            .unwrap_or_default(),
    }
}

struct Collected {
    payload: Vec<u8>,
    page: u32,
    origin: Origin,
}

/// What a walk entered: pages (with parents and roles) and the children it skipped.
struct WalkResult {
    pages: Vec<PageVisit>,
    skipped: PageMap<u32>,
    notes: Vec<Note>,
}

/// The pages of one commit: for each written page, the last frame that wrote it.
fn written_pages(fx: &Forensics<'_>, first: u32, last: u32) -> BTreeMap<u32, u32> {
    let mut written = BTreeMap::new();
    if let Some(w) = fx.wal() {
        for i in first..=last {
            if let Some(f) = w.frame(i) {
                written.insert(f.header.page, i);
            }
        }
    }
    written
}

/// The trees a commit's pages belong to (root 1 when page 1 was written).
#[derive(Default)]
struct Affected {
    trees: BTreeSet<u32>,
    /// Per tree, the pages on the paths from its root to the written pages.
    dirty: PageMap<PageSet>,
    /// Trees whose written pages could not be traced to the root: walked in full.
    full: PageSet,
    empty: PageSet,
}

impl Affected {
    fn dirty_of(&self, root: u32) -> &PageSet {
        self.dirty.get(&root).unwrap_or(&self.empty)
    }

    fn walk_of(&self, root: u32) -> TreeWalk {
        if self.full.contains(&root) { TreeWalk::Full } else { TreeWalk::Incremental }
    }
}

/// How a tree is walked on both sides of a commit.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TreeWalk {
    /// Only the dirty paths and the pages they reach that the other side lacks.
    Incremental,
    /// Every page.
    Full,
}

/// Whether a tree diff collects rows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RowsWanted {
    /// Always (sqlite_schema: its rows decide the catalog).
    Always,
    /// When the options ask for this table's rows.
    IfAsked,
}

/// What the trees produced: (root, the new walk, the pages the old walk entered), and the
/// row diffs.
#[derive(Default)]
struct TreeDiffs {
    trees: Vec<(u32, WalkResult, Vec<u32>)>,
    tables: Vec<TableDiff>,
}

/// How the catalog changed: schema changes, dropped roots, trees to walk whole (with what
/// they were before, for a move).
#[derive(Default)]
struct Structure {
    changes: Vec<SchemaChange>,
    dropped: Vec<u32>,
    walk_whole: Vec<(ObjectInfo, Option<ObjectInfo>)>,
}

/// Created, dropped, renamed and moved b-trees between two catalogs.
fn structure_changes(old_objects: &BTreeMap<u32, ObjectInfo>, new_objects: &BTreeMap<u32, ObjectInfo>) -> Structure {
    let mut st = Structure::default();
    let find = |objs: &BTreeMap<u32, ObjectInfo>, o: &ObjectInfo| {
        objs.values().find(|n| n.name == o.name && n.kind == o.kind).map(|n| n.root)
    };
    // A rename keeps the b-tree: the old name is gone, the new one is new, same root.
    let renamed: BTreeSet<u32> = old_objects
        .iter()
        .filter(|&(r, o)| {
            *r != 1
                && find(new_objects, o).is_none()
                && new_objects.get(r).is_some_and(|n| n.kind == o.kind && find(old_objects, n).is_none())
        })
        .map(|(r, _)| *r)
        .collect();
    for (r, o) in old_objects {
        if *r == 1 {
            continue;
        }
        if renamed.contains(r) {
            if let Some(n) = new_objects.get(r) {
                st.changes.push(SchemaChange {
                    op: SchemaOp::Rename,
                    kind: n.kind,
                    name: n.name.clone(),
                    root: *r,
                    old_root: None,
                });
            }
            continue;
        }
        match find(new_objects, o) {
            Some(nr) if nr == *r => {}
            Some(_) => st.dropped.push(*r),
            None => {
                st.dropped.push(*r);
                st.changes.push(SchemaChange {
                    op: SchemaOp::Drop,
                    kind: o.kind,
                    name: o.name.clone(),
                    root: *r,
                    old_root: None,
                });
            }
        }
    }
    for (r, n) in new_objects {
        if *r == 1 || renamed.contains(r) {
            continue;
        }
        let before = old_objects.get(&find(old_objects, n).unwrap_or(0)).cloned();
        if before.as_ref().is_some_and(|b| b.root == *r) {
            continue;
        }
        st.changes.push(SchemaChange {
            op: if before.is_some() { SchemaOp::Move } else { SchemaOp::Create },
            kind: n.kind,
            name: n.name.clone(),
            root: *r,
            old_root: before.as_ref().map(|b| b.root),
        });
        st.walk_whole.push((n.clone(), before));
    }
    st
}

/// A walk that records the pages it enters and, optionally, the rows.
struct DiffWalker<'w> {
    root: u32,
    mode: WalkMode<'w>,
    pages: Vec<PageVisit>,
    skipped: PageMap<u32>,
    rows: Option<(&'w ObjectInfo, TextEncoding)>,
    collected: HashMap<RowKey, Collected, PageHash>,
    notes: Vec<Note>,
    /// (parent, parent rewritten, parent entered by the new walk), cached across siblings.
    parent_facts: (u32, bool, bool),
}

impl<'w> DiffWalker<'w> {
    /// A walker of the tree rooted at `root`, collecting rows of `rows` (object, encoding) when
    /// asked.
    fn new(root: u32, mode: WalkMode<'w>, rows: Option<(&'w ObjectInfo, TextEncoding)>) -> Self {
        Self {
            root,
            mode,
            pages: Vec::new(),
            skipped: HashMap::default(),
            rows,
            collected: HashMap::default(),
            notes: Vec::new(),
            parent_facts: (0, false, false),
        }
    }
}

enum WalkMode<'w> {
    /// Enter everything.
    Full,
    /// New snapshot: enter children changed, dirty or new to the tree.
    New { changed: &'w PageSet, dirty: &'w PageSet, own: &'w PageMap<PageOwner> },
    /// Old snapshot: enter children dirty, or not skipped by the new walk (see `descend`).
    Old { changed: &'w PageSet, dirty: &'w PageSet, skipped_new: &'w PageMap<u32>, new_entered: &'w PageSet },
}

impl Visitor for DiffWalker<'_> {
    fn descend(&mut self, child: u32, parent: u32) -> bool {
        // Facts about the parent are the same for all its children: compute them once.
        if self.parent_facts.0 != parent {
            let (changed_parent, entered_parent) = match &self.mode {
                WalkMode::Full => (false, false),
                WalkMode::New { changed, .. } => (changed.contains(&parent), false),
                WalkMode::Old { changed, new_entered, .. } => {
                    (changed.contains(&parent), new_entered.contains(&parent))
                }
            };
            self.parent_facts = (parent, changed_parent, entered_parent);
        }
        let (_, changed_parent, entered_parent) = self.parent_facts;
        match &self.mode {
            WalkMode::Full => true,
            WalkMode::New { dirty, own, .. } => {
                // A rewritten page of this tree is dirty; a rewritten page from elsewhere is
                // not owned by this tree: both are entered.
                let enter =
                    dirty.contains(&child) || own.get(&child).map(|o| o.kind) != Some(OwnerKind::Tree(self.root));
                // Only a rewritten parent can have a new child list: the children of the
                // others keep their parents, so only these skips need recording.
                if !enter && changed_parent {
                    self.skipped.insert(child, parent);
                }
                enter
            }
            WalkMode::Old { dirty, skipped_new, new_entered, .. } => {
                if dirty.contains(&child) {
                    true
                } else if changed_parent {
                    // The child list changed: a child the new walk did not skip left the tree.
                    !skipped_new.contains_key(&child)
                } else if entered_parent {
                    // Same child list on both sides: mirror the new walk.
                    new_entered.contains(&child)
                } else {
                    // The parent left the tree: so did its subtree.
                    true
                }
            }
        }
    }
    fn page(&mut self, v: PageVisit) {
        self.pages.push(v);
    }
    fn wants_cells(&self) -> bool {
        self.rows.is_some()
    }
    fn cell(&mut self, c: CellData) {
        let Some((obj, enc)) = self.rows else { return };
        let Some(key) = row_key(obj, c.rowid, &c.payload, enc) else { return };
        if !c.complete {
            self.notes.push(
                Note::new(
                    NoteCode::RowIncomplete,
                    format!("row {key:?} of {}: payload incomplete (overflow chain broken)", obj.name),
                )
                .at_page(c.page, c.origin),
            );
        }
        if self
            .collected
            .insert(key.clone(), Collected { payload: c.payload, page: c.page, origin: c.origin })
            .is_some()
        {
            self.notes.push(
                Note::new(NoteCode::RowDuplicateKey, format!("key {key:?} appears twice in {}", obj.name))
                    .at_page(c.page, c.origin),
            );
        }
    }
    fn note(&mut self, n: Note) {
        self.notes.push(n);
    }
}

/// Applies commits one after another, keeping page ownership current.
pub struct Tracker<'f, 'a> {
    fx: &'f Forensics<'a>,
    opts: TrackOptions,
    /// Ownership of the current state.
    pub own: Ownership,
    /// sqlite_schema rows of the current state, by rowid.
    schema_rows: BTreeMap<i64, Vec<u8>>,
    freelist: PageSet,
    /// The current state.
    pub spec: SnapshotSpec,
    budget: Budget,
    /// Notes about the starting state.
    pub base_notes: Vec<Note>,
    /// The last commit the database file already holds (0: none): the tracker starts after
    /// it, and commits up to it are reported as checkpointed, without row changes.
    pub checkpointed: u32,
    /// Where the database file stands in the WAL's commits, and how it was decided.
    pub placement: super::checkpoint::Placement,
}

struct SchemaRows {
    rows: BTreeMap<i64, Vec<u8>>,
    notes: Vec<Note>,
}

impl Visitor for SchemaRows {
    fn wants_cells(&self) -> bool {
        true
    }
    fn cell(&mut self, c: CellData) {
        if let Some(r) = c.rowid {
            self.rows.insert(r, c.payload);
        }
    }
    fn note(&mut self, n: Note) {
        self.notes.push(n);
    }
}

impl<'f, 'a> Tracker<'f, 'a> {
    /// Start from the database file (walks it whole, once), placed at the commit it already
    /// holds ([`super::checkpoint::place`]).
    pub fn new(fx: &'f Forensics<'a>, opts: TrackOptions) -> Self {
        let placement = super::checkpoint::place(fx);
        let spec = placement.spec(fx);
        let mut budget = Budget::new(if opts.budget == 0 { 1 << 36 } else { opts.budget });
        let snap = fx.snapshot(spec);
        let own = Ownership::build(&snap, &mut budget);
        let mut sr = SchemaRows { rows: BTreeMap::new(), notes: Vec::new() };
        if spec.db_pages > 0 {
            walk_tree(&snap, 1, &mut sr, &mut budget);
        }
        let freelist = own.pages.iter().filter(|(_, o)| o.kind == OwnerKind::Freelist).map(|(&p, _)| p).collect();
        let mut base_notes = own.notes.clone();
        base_notes.extend(own.catalog.notes.iter().cloned());
        let commits_pages: BTreeSet<u32> = fx
            .wal()
            .map(|w| w.frames.iter().filter(|f| f.index <= w.chain_valid_frames).map(|f| f.header.page).collect())
            .unwrap_or_default();
        let checkpointed = if spec.upto == 0 { 0 } else { placement.commit };
        if checkpointed > 0 {
            base_notes.push(Note::new(
                NoteCode::SnapshotCheckpointed,
                format!(
                    "the database file already holds commit{} (frames 1..={}), so the timeline starts after commit {checkpointed}: {}",
                    if checkpointed == 1 { " 1".to_string() } else { format!("s 1..={checkpointed}") },
                    spec.upto,
                    placement.reason
                ),
            ));
        }
        let uncertain = fx.uncertain_pages(spec, commits_pages.into_iter().filter(|&p| p <= spec.db_pages));
        if !uncertain.is_empty() {
            base_notes.push(Note::new(
                NoteCode::SnapshotBaseUncertain,
                format!(
                    "{} page(s) of the database file may already hold content of later frames (checkpointed): the state before the first commit, and rows diffed against it, are uncertain for pages {:?}",
                    uncertain.len(),
                    uncertain.iter().take(20).collect::<Vec<_>>()
                ),
            ));
        }
        Self { fx, opts, own, schema_rows: sr.rows, freelist, spec, budget, base_notes, checkpointed, placement }
    }

    /// Compare rows (or not) from the next commit applied on; ownership is kept either way,
    /// so the rows of one commit can be had after applying the earlier ones pages-only.
    pub fn set_rows(&mut self, rows: bool) {
        self.opts.rows = rows;
    }

    /// The catalog of the current state.
    pub fn catalog(&self) -> &Catalog {
        &self.own.catalog
    }

    fn wants_rows(&self, obj: &ObjectInfo) -> bool {
        if obj.kind == ObjectKind::Schema {
            return true;
        }
        if !self.opts.rows || !obj.has_rows() {
            return false;
        }
        self.opts.only_table.as_ref().is_none_or(|t| t.eq_ignore_ascii_case(&obj.name))
    }

    /// Apply every commit, then the uncommitted tail, calling `f` after each.
    pub fn run(self, mut f: impl FnMut(&Self, CommitChanges)) -> Self {
        self.run_while(|t, c| {
            f(t, c);
            true
        })
    }

    /// Like [`Tracker::run`], stopping as soon as `f` returns false.
    pub fn run_while(mut self, mut f: impl FnMut(&Self, CommitChanges) -> bool) -> Self {
        let commits = self.fx.commits().to_vec();
        for c in commits {
            let ch = self.apply(
                Some(c.number),
                c.first_frame,
                c.frame,
                SnapshotSpec { upto: c.frame, db_pages: c.db_pages },
            );
            if !f(&self, ch) {
                return self;
            }
        }
        if let Some((first, last, spec)) = self.fx.tail() {
            let ch = self.apply(None, first, last, spec);
            f(&self, ch);
        }
        self
    }

    /// Apply the frames `first..=last` as one commit producing state `new_spec`. A commit the
    /// database file already holds (at or before [`Tracker::checkpointed`]) leaves the state
    /// as it is and is described without row changes (`commit.checkpointed`).
    pub fn apply(&mut self, number: Option<u32>, first: u32, last: u32, new_spec: SnapshotSpec) -> CommitChanges {
        if let Some(n) = number.filter(|&n| n <= self.checkpointed) {
            return self.checkpointed_commit(n, first, last, new_spec);
        }
        let fx = self.fx;
        let old_spec = self.spec;
        let snaps = (fx.snapshot(old_spec), fx.snapshot(new_spec));
        let mut notes = Vec::new();
        // 1. Pages written (last frame per page).
        let written = written_pages(fx, first, last);
        let changed: PageSet = written.keys().copied().collect();
        // 2. Affected trees and dirty pages.
        let affected = self.affected_trees(&changed);
        // 3. sqlite_schema first: it decides which trees exist; then the created, dropped,
        // renamed and moved b-trees.
        let old_objects = self.own.catalog.objects.clone();
        let mut diffs = TreeDiffs::default();
        let new_catalog = self.diff_schema(&snaps, new_spec, &old_objects, &changed, &affected, &mut diffs, &mut notes);
        let new_objects = new_catalog.as_ref().map_or(&old_objects, |c| &c.objects);
        let structure =
            if new_catalog.is_some() { structure_changes(&old_objects, new_objects) } else { Structure::default() };
        // 4. Affected trees that exist on both sides, then created and moved trees (whole walks).
        self.diff_trees(&snaps, new_objects, &changed, &affected, &structure, &mut diffs);
        // 5. Ownership: releases first, then claims.
        self.update_ownership(&snaps, &changed, &structure.dropped, new_catalog, diffs.trees, &mut notes);
        // 6. Describe the written pages with their new owners.
        let pages = self.describe_written(&written, number.is_some(), &mut notes);
        let mut tables = diffs.tables;
        tables.sort_by(|a, b| a.name.cmp(&b.name));
        CommitChanges {
            number,
            committed: number.is_some(),
            first_frame: first,
            frame: last,
            spec: new_spec,
            pages,
            schema_changes: structure.changes,
            tables,
            notes,
        }
    }

    /// A commit the database file already holds: the pages it wrote, with their owners as of
    /// the checkpointed state, and no row changes (the state before it is no longer on disk).
    fn checkpointed_commit(&self, n: u32, first: u32, last: u32, spec: SnapshotSpec) -> CommitChanges {
        let written = written_pages(self.fx, first, last);
        let mut notes = vec![Note::new(
            NoteCode::CommitCheckpointed,
            format!(
                "commit {n} is already in the database file (checkpointed up to commit {}: {}); the state before it is \
                 no longer on disk, so its row changes are not known; page owners are as of commit {}",
                self.checkpointed, self.placement.by, self.checkpointed
            ),
        )];
        let pages = self.describe_written(&written, true, &mut notes);
        CommitChanges {
            number: Some(n),
            committed: true,
            first_frame: first,
            frame: last,
            spec,
            pages,
            schema_changes: Vec::new(),
            tables: Vec::new(),
            notes,
        }
    }

    /// Step 2: the trees owning a written page, the pages on the path to each written page
    /// (dirty), and the trees whose pages cannot be traced that way (walked in full).
    fn affected_trees(&self, changed: &PageSet) -> Affected {
        let mut a = Affected::default();
        if changed.contains(&1) {
            a.trees.insert(1);
        }
        for &p in changed {
            if let Some(PageOwner { kind: OwnerKind::Tree(r), .. }) = self.own.pages.get(&p).copied() {
                a.trees.insert(r);
                let d = a.dirty.entry(r).or_default();
                if !mark_dirty(&self.own.pages, p, r, d) {
                    a.full.insert(r);
                }
            }
        }
        a
    }

    /// Step 3: diff `sqlite_schema` and, when it changed, the catalog of the new state.
    #[allow(clippy::too_many_arguments)]
    fn diff_schema(
        &mut self,
        snaps: &(Snapshot<'_>, Snapshot<'_>),
        new_spec: SnapshotSpec,
        old_objects: &BTreeMap<u32, ObjectInfo>,
        changed: &PageSet,
        affected: &Affected,
        diffs: &mut TreeDiffs,
        notes: &mut Vec<Note>,
    ) -> Option<Catalog> {
        if !affected.trees.contains(&1) {
            return None;
        }
        let obj = old_objects.get(&1)?.clone();
        let (newer, old_pages, diff) =
            self.diff_tree(snaps, &obj, &obj, changed, affected.dirty_of(1), affected.walk_of(1), RowsWanted::Always);
        let mut new_catalog = None;
        if !diff.changes.is_empty() {
            for ch in &diff.changes {
                if let RowKey::Rowid(r) = ch.key {
                    match &ch.new {
                        Some(p) => {
                            self.schema_rows.insert(r, p.clone());
                        }
                        None => {
                            self.schema_rows.remove(&r);
                        }
                    }
                }
            }
            let enc = snaps.1.encoding;
            let entries: Vec<SchemaEntry> = self
                .schema_rows
                .values()
                .filter_map(|p| SchemaEntry::from_record(&decode_record(p, enc).values))
                .collect();
            let cat = Catalog::from_entries(entries, new_spec.db_pages);
            notes.extend(cat.notes.iter().cloned());
            new_catalog = Some(cat);
        }
        if self.wants_rows(&obj) && !diff.changes.is_empty() {
            diffs.tables.push(diff);
        }
        diffs.trees.push((1, newer, old_pages));
        new_catalog
    }

    /// Step 4: the affected trees that exist on both sides (incremental walks), then the
    /// created and moved ones (whole walks).
    fn diff_trees(
        &mut self,
        snaps: &(Snapshot<'_>, Snapshot<'_>),
        new_objects: &BTreeMap<u32, ObjectInfo>,
        changed: &PageSet,
        affected: &Affected,
        structure: &Structure,
        diffs: &mut TreeDiffs,
    ) {
        let whole: BTreeSet<u32> = structure.walk_whole.iter().map(|(o, _)| o.root).collect();
        for &r in &affected.trees {
            if r == 1 || structure.dropped.contains(&r) || whole.contains(&r) {
                continue;
            }
            let Some(obj) = new_objects.get(&r).cloned() else { continue };
            let (newer, old_pages, diff) = self.diff_tree(
                snaps,
                &obj,
                &obj,
                changed,
                affected.dirty_of(r),
                affected.walk_of(r),
                RowsWanted::IfAsked,
            );
            if !diff.changes.is_empty() && self.wants_rows(&obj) {
                diffs.tables.push(diff);
            }
            diffs.trees.push((r, newer, old_pages));
        }
        for (obj, before) in &structure.walk_whole {
            let old_obj = before.clone().unwrap_or_else(|| obj.clone());
            let (newer, diff) = self.diff_tree_whole(snaps, &old_obj, obj, before.is_some());
            if !diff.changes.is_empty() && self.wants_rows(obj) {
                diffs.tables.push(diff);
            }
            diffs.trees.push((obj.root, newer, Vec::new()));
        }
    }

    /// Step 5: release the pages of dropped trees, of pages trees no longer reach, of a changed
    /// freelist and beyond a shrunk database; then claim what the new walks entered.
    fn update_ownership(
        &mut self,
        (snap_old, snap_new): &(Snapshot<'_>, Snapshot<'_>),
        changed: &PageSet,
        dropped: &[u32],
        new_catalog: Option<Catalog>,
        tree_results: Vec<(u32, WalkResult, Vec<u32>)>,
        notes: &mut Vec<Note>,
    ) {
        let (old_spec, new_spec) = (snap_old.spec, snap_new.spec);
        for &r in dropped {
            self.own.pages.retain(|_, o| o.kind != OwnerKind::Tree(r));
        }
        for (r, newer, old_pages) in &tree_results {
            let entered: PageSet = newer.pages.iter().map(|v| v.page).collect();
            for p in old_pages {
                if !entered.contains(p)
                    && !newer.skipped.contains_key(p)
                    && self.own.pages.get(p).is_some_and(|o| o.kind == OwnerKind::Tree(*r))
                {
                    self.own.pages.remove(p);
                }
            }
        }
        // Every freelist change moves the header's head or count, or rewrites a trunk (a leaf
        // leaving the list is rewritten too): otherwise the list is the same and is not re-read.
        let refresh_freelist = (changed.contains(&1) && snap_old.freelist() != snap_new.freelist())
            || changed.iter().any(|p| self.freelist.contains(p))
            || new_spec.db_pages < old_spec.db_pages;
        if refresh_freelist {
            for p in self.freelist.drain() {
                if self.own.pages.get(&p).is_some_and(|o| o.kind == OwnerKind::Freelist) {
                    self.own.pages.remove(&p);
                }
            }
        }
        if new_spec.db_pages < old_spec.db_pages {
            let n = new_spec.db_pages;
            self.own.pages.retain(|&p, _| p <= n);
        }
        if let Some(cat) = new_catalog {
            self.own.catalog = cat;
        }
        let names = self.own.catalog.objects.clone();
        for (r, newer, _) in &tree_results {
            for v in &newer.pages {
                let owner = PageOwner { kind: OwnerKind::Tree(*r), role: v.role, parent: v.parent };
                match self.own.pages.get(&v.page).copied() {
                    Some(prev) if prev.kind == owner.kind => {
                        self.own.pages.insert(v.page, owner);
                    }
                    _ => {
                        claim(&mut self.own.pages, notes, &names, v.page, owner, v.origin);
                    }
                }
            }
            for (&c, &parent) in &newer.skipped {
                if let Some(o) = self.own.pages.get_mut(&c)
                    && o.kind == OwnerKind::Tree(*r)
                {
                    o.parent = parent;
                }
            }
        }
        for (_, mut newer, _) in tree_results {
            notes.append(&mut newer.notes);
        }
        self.own.db_pages = new_spec.db_pages;
        if new_spec.db_pages > old_spec.db_pages {
            self.own.claim_fixed(snap_new, old_spec.db_pages.saturating_add(1)..=new_spec.db_pages);
        }
        if refresh_freelist {
            let before = self.own.notes.len();
            let fl = self.own.claim_freelist(snap_new, &mut self.budget, &names);
            self.freelist = fl.into_iter().collect();
            notes.extend(self.own.notes.drain(before..));
        }
        notes.append(&mut self.own.notes);
        self.spec = new_spec;
    }

    /// Step 6: each written page with its new owner; a note for pages nothing reaches.
    fn describe_written(
        &self,
        written: &BTreeMap<u32, u32>,
        committed: bool,
        notes: &mut Vec<Note>,
    ) -> Vec<WrittenPage> {
        let pages: Vec<WrittenPage> = written
            .iter()
            .map(|(&page, &frame)| {
                let (owner, kind, role) = self.own.describe(page);
                WrittenPage { page, frame, owner, kind, role }
            })
            .collect();
        let orphans: Vec<u32> = pages.iter().filter(|p| p.kind == OwnerType::Orphan).map(|p| p.page).collect();
        if !orphans.is_empty() {
            let missing = self.fx.snapshot(self.spec).may_miss_pages();
            let why = if missing {
                "pages of this state are in no file (no database file, or a shorter one, and no frame), so the \
                 b-tree pages that point to them may be among those"
            } else if committed {
                "no b-tree, freelist or pointer map of the new state reaches them"
            } else {
                "the transaction is incomplete (pages spilled before its parents were written); `salvage` decodes their rows"
            };
            notes.push(Note::new(
                NoteCode::PagesUnreachable,
                format!(
                    "{} page(s) written here are reachable from nothing: {why}: {:?}",
                    orphans.len(),
                    orphans.iter().take(20).collect::<Vec<_>>()
                ),
            ));
        }
        pages
    }

    /// Diff one tree between the two snapshots (incremental walks).
    #[allow(clippy::too_many_arguments)]
    fn diff_tree(
        &mut self,
        (snap_old, snap_new): &(Snapshot<'_>, Snapshot<'_>),
        old_obj: &ObjectInfo,
        obj: &ObjectInfo,
        changed: &PageSet,
        dirty: &PageSet,
        walk: TreeWalk,
        rows: RowsWanted,
    ) -> (WalkResult, Vec<u32>, TableDiff) {
        let want = rows == RowsWanted::Always || self.wants_rows(obj);
        let full = walk == TreeWalk::Full;
        let r = obj.root;
        let own = &self.own.pages;
        let mut newer = DiffWalker::new(
            r,
            if full { WalkMode::Full } else { WalkMode::New { changed, dirty, own } },
            want.then_some((obj, snap_new.encoding)),
        );
        if r <= snap_new.spec.db_pages {
            walk_tree(snap_new, r, &mut newer, &mut self.budget);
        }
        let skipped_new = std::mem::take(&mut newer.skipped);
        let new_entered: PageSet = newer.pages.iter().map(|v| v.page).collect();
        let mut older = DiffWalker::new(
            old_obj.root,
            if full {
                WalkMode::Full
            } else {
                WalkMode::Old { changed, dirty, skipped_new: &skipped_new, new_entered: &new_entered }
            },
            want.then_some((old_obj, snap_old.encoding)),
        );
        if old_obj.root <= snap_old.spec.db_pages {
            walk_tree(snap_old, old_obj.root, &mut older, &mut self.budget);
        }
        // Notes of the old walk describe a state already reported; only the new ones are kept.
        let old_pages: Vec<u32> = older.pages.iter().map(|v| v.page).collect();
        let diff = compare(obj, older.collected, newer.collected);
        (WalkResult { pages: newer.pages, skipped: skipped_new, notes: newer.notes }, old_pages, diff)
    }

    /// Diff a created (or moved) tree: the whole new tree against the whole old one (nothing
    /// for a created tree).
    fn diff_tree_whole(
        &mut self,
        (snap_old, snap_new): &(Snapshot<'_>, Snapshot<'_>),
        old_obj: &ObjectInfo,
        obj: &ObjectInfo,
        existed: bool,
    ) -> (WalkResult, TableDiff) {
        let rows = self.wants_rows(obj);
        let mut newer = DiffWalker::new(obj.root, WalkMode::Full, rows.then_some((obj, snap_new.encoding)));
        walk_tree(snap_new, obj.root, &mut newer, &mut self.budget);
        let mut older = DiffWalker::new(old_obj.root, WalkMode::Full, rows.then_some((old_obj, snap_old.encoding)));
        if existed && old_obj.root <= snap_old.spec.db_pages {
            walk_tree(snap_old, old_obj.root, &mut older, &mut self.budget);
        }
        let diff = compare(obj, older.collected, newer.collected);
        (WalkResult { pages: newer.pages, skipped: HashMap::default(), notes: newer.notes }, diff)
    }
}

/// Mark `p` and its ancestors in tree `r` dirty. False when the parent chain does not lead to
/// the root (then the caller walks the tree whole).
fn mark_dirty(own: &PageMap<PageOwner>, p: u32, r: u32, dirty: &mut PageSet) -> bool {
    let mut q = p;
    for _ in 0..64 {
        if !dirty.insert(q) {
            return true;
        }
        if q == r {
            return true;
        }
        match own.get(&q) {
            Some(o) if o.kind == OwnerKind::Tree(r) && o.parent != 0 => q = o.parent,
            _ => return false,
        }
    }
    false
}

fn compare(
    obj: &ObjectInfo,
    mut old: HashMap<RowKey, Collected, PageHash>,
    mut new: HashMap<RowKey, Collected, PageHash>,
) -> TableDiff {
    let mut changes = Vec::new();
    for (k, o) in old.drain() {
        match new.remove(&k) {
            None => changes.push(RowChange { key: k, old: Some(o.payload), new: None, page: o.page, origin: o.origin }),
            Some(n) if n.payload != o.payload => changes.push(RowChange {
                key: k,
                old: Some(o.payload),
                new: Some(n.payload),
                page: n.page,
                origin: n.origin,
            }),
            Some(_) => {}
        }
    }
    for (k, n) in new.drain() {
        changes.push(RowChange { key: k, old: None, new: Some(n.payload), page: n.page, origin: n.origin });
    }
    changes.sort_by(|a, b| a.key.cmp(&b.key));
    TableDiff { root: obj.root, name: obj.name.clone(), table: obj.table.clone().unwrap_or_default(), changes }
}

/// Full timeline: every commit, then the uncommitted tail.
pub fn timeline(fx: &Forensics<'_>, opts: TrackOptions) -> (Vec<Note>, Vec<CommitChanges>, Catalog) {
    let mut out = Vec::new();
    let t = Tracker::new(fx, opts);
    let base_notes = t.base_notes.clone();
    let t = t.run(|_, c| out.push(c));
    (base_notes, out, t.own.catalog.clone())
}

/// Owner of the page each valid frame writes, as of the end of its transaction (frame → page).
pub fn frame_owners(fx: &Forensics<'_>) -> HashMap<u32, WrittenPage> {
    let mut out = HashMap::default();
    let t = Tracker::new(fx, TrackOptions::default());
    let _ = t.run(|_, c| {
        let by_page: HashMap<u32, &WrittenPage> = c.pages.iter().map(|p| (p.page, p)).collect();
        if let Some(w) = fx.wal() {
            for i in c.first_frame..=c.frame {
                let Some(f) = w.frame(i) else { continue };
                if let Some(wp) = by_page.get(&f.header.page) {
                    out.insert(i, WrittenPage { frame: i, ..(*wp).clone() });
                }
            }
        }
    });
    out
}

/// The database as it was before the rollback journal's transaction: the first valid record of
/// each page (its content before the transaction) over the database file, cut at the size the
/// journal's header recorded (a zeroed header keeps the file's size).
struct JournalOverlay<'a> {
    db: Option<(&'a dyn crate::analysis::ReadAt, u64)>,
    journal: &'a dyn crate::analysis::ReadAt,
    /// Page → offset of its image in the journal.
    pages: PageMap<u64>,
    page_size: u64,
    len: u64,
}

impl crate::analysis::ReadAt for JournalOverlay<'_> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        if offset >= self.len || buf.is_empty() || self.page_size == 0 {
            return Ok(0);
        }
        let page = u32::try_from(offset / self.page_size + 1).unwrap_or(u32::MAX);
        let within = offset % self.page_size;
        let n = (self.page_size - within).min(self.len - offset).min(buf.len() as u64) as usize;
        let Some(out) = buf.get_mut(..n) else { return Ok(0) };
        match (self.pages.get(&page), self.db) {
            (Some(&at), _) => self.journal.read_at(at + within, out),
            (None, Some((db, _))) => db.read_at(offset, out),
            (None, None) => {
                out.fill(0);
                Ok(n)
            }
        }
    }
}

/// The rollback journal as a step of the timeline: the database before the journal's
/// transaction (its page records over the file) against the database file.
#[derive(Clone, Debug)]
pub struct JournalStep {
    /// The changes, as a commit: `number` None, `committed` false for a hot journal (SQLite
    /// rolls the transaction back on open), true for a persisted one (the transaction
    /// committed; `journal_mode=PERSIST` left its pre-images).
    pub changes: CommitChanges,
    pub hot: bool,
    /// The records used: (page, byte offset of the record in the journal), by page.
    pub records: Vec<(u32, u64)>,
}

/// The journal step, when the database has a rollback journal with valid page records of the
/// database's page size. `rows`: compare rows (`only_table` as in [`TrackOptions`]).
pub fn journal_step(fx: &Forensics<'_>, opts: &TrackOptions) -> Option<JournalStep> {
    let (jr, _) = fx.journal?;
    let db = fx.analysis.db.as_ref()?;
    let j = db.journal.as_ref()?;
    if j.page_size != Some(fx.store.page_size) {
        return None;
    }
    let ps = u64::from(fx.store.page_size);
    let mut pages: PageMap<u64> = PageMap::default();
    let mut records = Vec::new();
    for r in j.valid_records() {
        if r.page != 0 && !pages.contains_key(&r.page) {
            pages.insert(r.page, r.data_offset());
            records.push((r.page, r.offset));
        }
    }
    if pages.is_empty() {
        return None;
    }
    records.sort_unstable();
    let hot = j.hot(db.file_len);
    let after = fx.base();
    let before_pages = j.header.map_or(after.db_pages, |h| h.db_orig_pages);
    let overlay = JournalOverlay {
        db: fx.store.files().db(),
        journal: jr,
        pages,
        page_size: ps,
        len: u64::from(before_pages) * ps,
    };
    let store = super::snapshot::PageStore::new(Some((&overlay, overlay.len)), None, fx.store.page_size);
    let index = super::snapshot::FrameIndex::default();
    let old = Snapshot::new(&store, &index, SnapshotSpec { upto: 0, db_pages: before_pages });
    let new = fx.snapshot(after);
    let mut budget = Budget::new(if opts.budget == 0 { 1 << 36 } else { opts.budget });
    let own_old = Ownership::build(&old, &mut budget);
    let own_new = Ownership::build(&new, &mut budget);
    let mut notes = Vec::new();
    let structure = structure_changes(&own_old.catalog.objects, &own_new.catalog.objects);
    // Trees holding a journaled page on either side, and sqlite_schema.
    let mut trees: BTreeSet<u32> = BTreeSet::from([1]);
    for (p, _) in &records {
        for own in [&own_old, &own_new] {
            if let Some(PageOwner { kind: OwnerKind::Tree(r), .. }) = own.pages.get(p) {
                trees.insert(*r);
            }
        }
    }
    let mut tables = Vec::new();
    for &root in &trees {
        let Some(obj) = own_new.catalog.objects.get(&root) else { continue };
        if !(obj.kind == ObjectKind::Schema
            || (opts.rows
                && obj.has_rows()
                && opts.only_table.as_ref().is_none_or(|t| t.eq_ignore_ascii_case(&obj.name))))
        {
            continue;
        }
        // The same object before: by name (a moved or recreated tree), else by root.
        let old_obj = own_old
            .catalog
            .objects
            .values()
            .find(|o| o.name == obj.name && o.kind == obj.kind)
            .or_else(|| own_old.catalog.objects.get(&root));
        let mut newer = DiffWalker::new(root, WalkMode::Full, Some((obj, new.encoding)));
        walk_tree(&new, root, &mut newer, &mut budget);
        let mut older = DiffWalker::new(root, WalkMode::Full, old_obj.map(|o| (o, old.encoding)));
        if let Some(o) = old_obj {
            walk_tree(&old, o.root, &mut older, &mut budget);
        }
        notes.append(&mut newer.notes);
        let d = compare(obj, older.collected, newer.collected);
        if !d.changes.is_empty() || obj.kind != ObjectKind::Schema {
            tables.push(d);
        }
    }
    tables.retain(|t| !t.changes.is_empty());
    tables.sort_by(|a, b| a.name.cmp(&b.name));
    let pages = records
        .iter()
        .map(|&(page, _)| {
            let (owner, kind, role) = own_new.describe(page);
            WrittenPage { page, frame: 0, owner, kind, role }
        })
        .collect();
    Some(JournalStep {
        changes: CommitChanges {
            number: None,
            committed: !hot,
            first_frame: 0,
            frame: 0,
            spec: after,
            pages,
            schema_changes: structure.changes,
            tables,
            notes,
        },
        hot,
        records,
    })
}
