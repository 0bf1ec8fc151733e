//! Bounded walks over a snapshot: b-tree descent, overflow chains, freelist trunks.
//!
//! Every walk keeps a visited set (a page is entered at most once per walk), a depth limit
//! (SQLite's own cursor depth limit is 20) and a step budget shared by the whole operation.
//! Anything odd — a cycle, a child pointer outside the database, a page that is not a b-tree
//! page, a chain that is too short or too long — becomes a [`Note`] with the page, the frame it
//! was read from and the offset, and the walk continues with what remains.

use super::snapshot::{Note, Origin, PageRef, PageSet, Snapshot};
use crate::forensics::snapshot::NoteCode;
use crate::format::btree::{BtreePage, Cell, overflow_content, overflow_next, overflow_page_count};
use crate::format::db_header::PageType;
use crate::format::freelist::FreelistTrunk;
use crate::format::vocab::vocabulary;

/// Deepest b-tree SQLite descends (`BTCURSOR_MAX_DEPTH`).
pub const MAX_DEPTH: usize = 20;
/// Largest payload assembled for one cell (SQLite's default SQLITE_MAX_LENGTH is 1e9; a
/// forensic view of a larger value keeps its first bytes).
pub const MAX_PAYLOAD: u64 = 1 << 30;

/// Work allowed to one operation, counted in page reads.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    pub steps_left: u64,
    pub exhausted: bool,
}

impl Budget {
    pub fn new(steps: u64) -> Self {
        Self { steps_left: steps, exhausted: false }
    }
    /// Take one step; false (once noted by the caller) when the budget is spent.
    pub fn step(&mut self) -> bool {
        if self.steps_left == 0 {
            self.exhausted = true;
            return false;
        }
        self.steps_left -= 1;
        true
    }
}

impl Default for Budget {
    fn default() -> Self {
        Self::new(1 << 32)
    }
}

vocabulary! {
    /// What a page is to its owner (the timeline's `roles`).
    pub enum PageRole {
        Root = "root",
        Interior = "interior",
        Leaf = "leaf",
        Overflow = "overflow",
        FreelistTrunk = "freelist_trunk",
        FreelistLeaf = "freelist_leaf",
        Ptrmap = "ptrmap",
        LockByte = "lock_byte",
        /// Referenced from a b-tree but not decodable as a b-tree page.
        Corrupt = "corrupt",
    }
}

/// A page entered by a walk.
#[derive(Clone, Copy, Debug)]
pub struct PageVisit {
    pub page: u32,
    /// The page that points to it (0 for a root).
    pub parent: u32,
    pub role: PageRole,
    pub origin: Origin,
}

/// A cell whose payload was assembled.
#[derive(Clone, Debug)]
pub struct CellData {
    pub page: u32,
    pub origin: Origin,
    /// Index of the cell in its page's pointer array.
    pub index: usize,
    pub rowid: Option<i64>,
    /// The whole payload (local part + overflow), as much as could be read.
    pub payload: Vec<u8>,
    /// False when the overflow chain ended early or broke.
    pub complete: bool,
}

/// Callbacks of a b-tree walk.
pub trait Visitor {
    /// Whether to enter `child` (pointed to from `parent`). Default: always.
    fn descend(&mut self, _child: u32, _parent: u32) -> bool {
        true
    }
    /// A page entered (b-tree pages and overflow pages).
    fn page(&mut self, _v: PageVisit) {}
    /// Whether cells should be delivered at all.
    fn wants_cells(&self) -> bool {
        false
    }
    /// Whether to assemble this cell's payload (called with the local bytes).
    fn want_cell(&mut self, _page: u32, _rowid: Option<i64>, _local: &[u8]) -> bool {
        true
    }
    fn cell(&mut self, _c: CellData) {}
    fn note(&mut self, n: Note);
}

/// Most notes one walk reports; the rest are counted in one `walk.notes_capped` note, so a
/// page full of bad pointers cannot flood the output.
pub const MAX_NOTES_PER_WALK: usize = 200;

/// Forwards everything to the inner visitor, capping its notes.
struct Capped<'v> {
    inner: &'v mut dyn Visitor,
    notes: usize,
}

impl Visitor for Capped<'_> {
    fn descend(&mut self, child: u32, parent: u32) -> bool {
        self.inner.descend(child, parent)
    }
    fn page(&mut self, v: PageVisit) {
        self.inner.page(v);
    }
    fn wants_cells(&self) -> bool {
        self.inner.wants_cells()
    }
    fn want_cell(&mut self, page: u32, rowid: Option<i64>, local: &[u8]) -> bool {
        self.inner.want_cell(page, rowid, local)
    }
    fn cell(&mut self, c: CellData) {
        self.inner.cell(c);
    }
    fn note(&mut self, n: Note) {
        self.notes += 1;
        if self.notes <= MAX_NOTES_PER_WALK {
            self.inner.note(n);
        }
    }
}

/// Walk the b-tree rooted at `root`. Table trees (types 5/13) deliver leaf cells; index trees
/// (types 2/10) deliver cells of every page, interior ones included (they hold entries too).
/// Overflow pages of every cell of an entered page are visited (so ownership sees them) and
/// assembled when the visitor wants the cell.
pub fn walk_tree(snap: &Snapshot<'_>, root: u32, v: &mut dyn Visitor, budget: &mut Budget) {
    let mut capped = Capped { inner: v, notes: 0 };
    walk_tree_inner(snap, root, &mut capped, budget);
    if capped.notes > MAX_NOTES_PER_WALK {
        let more = capped.notes - MAX_NOTES_PER_WALK;
        capped.inner.note(
            Note::new(
                NoteCode::WalkNotesCapped,
                format!("{more} more notes about the b-tree rooted at {root} were not listed"),
            )
            .at_page(root, snap.origin(root)),
        );
    }
}

fn walk_tree_inner(snap: &Snapshot<'_>, root: u32, v: &mut dyn Visitor, budget: &mut Budget) {
    let mut visited: PageSet = PageSet::default();
    let extent = snap.extent();
    // (page, parent, depth)
    let mut stack: Vec<(u32, u32, usize)> = vec![(root, 0, 0)];
    let mut tree_is_table: Option<bool> = None;
    while let Some((p, parent, depth)) = stack.pop() {
        if !budget.step() {
            v.note(
                Note::new(NoteCode::WalkBudgetExceeded, "the work budget ran out; the walk is incomplete")
                    .at_page(p, Origin::Missing),
            );
            return;
        }
        if !visited.insert(p) {
            v.note(
                Note::new(
                    NoteCode::BtreeCycle,
                    format!("page {p} is reached twice in the b-tree rooted at {root} (from page {parent})"),
                )
                .at_page(p, snap.origin(p)),
            );
            continue;
        }
        if depth > MAX_DEPTH {
            v.note(
                Note::new(NoteCode::BtreeTooDeep, format!("b-tree rooted at {root} deeper than {MAX_DEPTH} levels"))
                    .at_page(p, snap.origin(p)),
            );
            continue;
        }
        let pr = match snap.page(p) {
            Ok(pr) => pr,
            Err(n) => {
                v.note(Note {
                    message: if parent == 0 {
                        format!("{} (the root of a b-tree)", n.message)
                    } else {
                        format!("{} (child of page {parent} in the b-tree rooted at {root})", n.message)
                    },
                    ..n
                });
                continue;
            }
        };
        let bt = match BtreePage::parse(&pr.data, p == 1, snap.usable) {
            Ok(b) => b,
            Err(e) => {
                v.note(
                    Note::new(
                        NoteCode::BtreeBadPage,
                        format!("page {p} of the b-tree rooted at {root} does not decode: {e}"),
                    )
                    .at_page(p, pr.origin)
                    .offset(e.offset),
                );
                v.page(PageVisit { page: p, parent, role: PageRole::Corrupt, origin: pr.origin });
                continue;
            }
        };
        let is_table = bt.is_table();
        match tree_is_table {
            None => tree_is_table = Some(is_table),
            Some(t) if t != is_table => {
                v.note(
                    Note::new(
                        NoteCode::BtreeMixedTypes,
                        format!(
                            "page {p} is a {} page inside a b-tree of the other kind (root {root})",
                            bt.page_type.name()
                        ),
                    )
                    .at_page(p, pr.origin),
                );
                v.page(PageVisit { page: p, parent, role: PageRole::Corrupt, origin: pr.origin });
                continue;
            }
            _ => {}
        }
        let role = if p == root {
            PageRole::Root
        } else if bt.is_leaf() {
            PageRole::Leaf
        } else {
            PageRole::Interior
        };
        v.page(PageVisit { page: p, parent, role, origin: pr.origin });
        // Cells: payload and overflow (not on table interior pages).
        if bt.page_type != PageType::TableInterior {
            visit_cells(snap, &pr, &bt, v, &mut visited, budget);
        }
        if !bt.is_leaf() {
            let kids = bt.children();
            for (k, &c) in kids.iter().enumerate().rev() {
                if c == 0 || c > snap.spec.db_pages {
                    let off = if k + 1 == kids.len() {
                        bt.header.offset as u64 + 8
                    } else {
                        bt.cell_offset(k).unwrap_or(0) as u64
                    };
                    v.note(
                        Note::new(
                            NoteCode::BtreeChildOutOfRange,
                            format!("page {p} points to child page {c}, outside 1..={}", snap.spec.db_pages),
                        )
                        .at_page(p, pr.origin)
                        .offset(off),
                    );
                    continue;
                }
                if c > extent {
                    // Neither the database file nor any frame holds this page: it can only
                    // read as zeros. Not entered, so forged pointers cannot grow the maps.
                    v.note(
                        Note::new(
                            NoteCode::BtreeChildMissing,
                            format!(
                                "page {p} points to child page {c}, which neither the database file nor the WAL holds"
                            ),
                        )
                        .at_page(p, pr.origin),
                    );
                    continue;
                }
                if v.descend(c, p) {
                    stack.push((c, p, depth + 1));
                }
            }
        }
    }
}

fn visit_cells(
    snap: &Snapshot<'_>,
    pr: &PageRef,
    bt: &BtreePage<'_>,
    v: &mut dyn Visitor,
    visited: &mut PageSet,
    budget: &mut Budget,
) {
    let wants = v.wants_cells();
    for i in 0..bt.cell_count() {
        let cell = match bt.cell(i) {
            Ok(c) => c,
            Err(e) => {
                v.note(
                    Note::new(NoteCode::BtreeBadCell, format!("cell {i} of page {}: {e}", pr.page))
                        .at_page(pr.page, pr.origin)
                        .offset(e.offset),
                );
                continue;
            }
        };
        let want = wants && v.want_cell(pr.page, cell.rowid, cell.local);
        let mut payload = if want { Some(cell.local.to_vec()) } else { None };
        let complete = follow_overflow(snap, pr, &cell, v, visited, budget, payload.as_mut());
        if let Some(payload) = payload {
            v.cell(CellData { page: pr.page, origin: pr.origin, index: i, rowid: cell.rowid, payload, complete });
        }
    }
}

/// Follow a cell's overflow chain: visit each page (role Overflow) and append its content to
/// `out` when given. Returns true when the chain delivered the whole payload.
pub fn follow_overflow(
    snap: &Snapshot<'_>,
    holder: &PageRef,
    cell: &Cell<'_>,
    v: &mut dyn Visitor,
    visited: &mut PageSet,
    budget: &mut Budget,
    mut out: Option<&mut Vec<u8>>,
) -> bool {
    let Some(first) = cell.overflow else { return true };
    let usable = snap.usable;
    let need = overflow_page_count(cell.payload_len, cell.local.len() as u32, usable);
    let mut remaining = cell.payload_len.min(MAX_PAYLOAD).saturating_sub(cell.local.len() as u64);
    let mut p = first;
    let mut parent = holder.page;
    let mut n: u64 = 0;
    let at_cell = |note: Note| note.at_page(holder.page, holder.origin).offset(cell.offset as u64);
    while p != 0 {
        if n >= need {
            v.note(at_cell(Note::new(NoteCode::OverflowTooLong, format!("overflow chain of the cell at page {} continues past the {need} pages its payload needs (to page {p})", holder.page))));
            return false;
        }
        if p > snap.spec.db_pages {
            v.note(at_cell(Note::new(
                NoteCode::OverflowOutOfRange,
                format!("overflow page {p} is outside the database (1..={})", snap.spec.db_pages),
            )));
            return false;
        }
        if p > snap.extent() {
            v.note(at_cell(Note::new(
                NoteCode::OverflowMissing,
                format!("overflow page {p} is held by neither the database file nor the WAL"),
            )));
            return false;
        }
        if !visited.insert(p) {
            v.note(at_cell(Note::new(
                NoteCode::OverflowCycle,
                format!("overflow page {p} is reached twice (from page {parent})"),
            )));
            return false;
        }
        if !budget.step() {
            v.note(at_cell(Note::new(
                NoteCode::WalkBudgetExceeded,
                "the work budget ran out inside an overflow chain",
            )));
            return false;
        }
        let pr = match snap.page(p) {
            Ok(pr) => pr,
            Err(e) => {
                v.note(e);
                return false;
            }
        };
        v.page(PageVisit { page: p, parent, role: PageRole::Overflow, origin: pr.origin });
        if let Some(out) = out.as_deref_mut() {
            let content = overflow_content(&pr.data, usable);
            let take = (content.len() as u64).min(remaining) as usize;
            out.extend_from_slice(content.get(..take).unwrap_or(&[]));
            remaining -= take as u64;
        }
        n += 1;
        parent = p;
        p = overflow_next(&pr.data).unwrap_or(0);
    }
    if n < need {
        v.note(at_cell(Note::new(
            NoteCode::OverflowTooShort,
            format!("overflow chain of the cell at page {} ends after {n} of {need} pages", holder.page),
        )));
        return false;
    }
    true
}

/// Pages of the freelist: (trunk pages, leaf pages), with notes for anything odd. Bounded by
/// a visited set and the database size.
pub fn walk_freelist(snap: &Snapshot<'_>, notes: &mut Vec<Note>, budget: &mut Budget) -> (Vec<u32>, Vec<u32>) {
    let mut own = Vec::new();
    let r = walk_freelist_inner(snap, &mut own, budget);
    let n = own.len();
    notes.extend(own.into_iter().take(MAX_NOTES_PER_WALK));
    if n > MAX_NOTES_PER_WALK {
        notes.push(Note::new(
            NoteCode::WalkNotesCapped,
            format!("{} more notes about the freelist were not listed", n - MAX_NOTES_PER_WALK),
        ));
    }
    r
}

fn walk_freelist_inner(snap: &Snapshot<'_>, notes: &mut Vec<Note>, budget: &mut Budget) -> (Vec<u32>, Vec<u32>) {
    let (first, count) = snap.freelist();
    let mut trunks = Vec::new();
    let mut leaves = Vec::new();
    let mut seen: PageSet = PageSet::default();
    let mut p = first;
    let mut parent = 0;
    while p != 0 {
        if p > snap.spec.db_pages {
            notes.push(
                Note::new(
                    NoteCode::FreelistOutOfRange,
                    format!(
                        "freelist trunk page {p} (from {}) is outside the database",
                        if parent == 0 { "the header".to_string() } else { format!("trunk {parent}") }
                    ),
                )
                .at_page(p, Origin::Missing),
            );
            break;
        }
        if !seen.insert(p) {
            notes.push(
                Note::new(NoteCode::FreelistCycle, format!("freelist trunk page {p} is reached twice"))
                    .at_page(p, snap.origin(p)),
            );
            break;
        }
        if !budget.step() {
            notes.push(Note::new(NoteCode::WalkBudgetExceeded, "the work budget ran out in the freelist"));
            break;
        }
        let pr = match snap.page(p) {
            Ok(pr) => pr,
            Err(n) => {
                notes.push(n);
                break;
            }
        };
        let Ok(t) = FreelistTrunk::parse_lenient(&pr.data, snap.usable) else { break };
        if t.leaf_count > crate::format::freelist::max_leaves(snap.usable) {
            notes.push(
                Note::new(
                    NoteCode::FreelistBadTrunk,
                    format!("freelist trunk {p} claims {} leaves, more than SQLite accepts", t.leaf_count),
                )
                .at_page(p, pr.origin)
                .offset(4),
            );
        }
        trunks.push(p);
        if leaves.len() > snap.extent() as usize + 65536 {
            notes.push(
                Note::new(
                    NoteCode::FreelistTooLong,
                    format!(
                        "the freelist lists more leaves than the database can hold ({}); the rest is not read",
                        leaves.len()
                    ),
                )
                .at_page(p, pr.origin),
            );
            break;
        }
        for (k, &l) in t.leaves.iter().enumerate() {
            if l == 0 || l > snap.spec.db_pages {
                notes.push(
                    Note::new(
                        NoteCode::FreelistOutOfRange,
                        format!("freelist leaf {l} on trunk {p} is outside the database"),
                    )
                    .at_page(p, pr.origin)
                    .offset(8 + 4 * k as u64),
                );
            } else if !seen.insert(l) {
                notes.push(
                    Note::new(NoteCode::FreelistDuplicate, format!("page {l} appears twice in the freelist"))
                        .at_page(p, pr.origin)
                        .offset(8 + 4 * k as u64),
                );
            } else {
                leaves.push(l);
            }
        }
        parent = p;
        p = t.next;
    }
    let total = (trunks.len() + leaves.len()) as u64;
    if total != u64::from(count) {
        notes.push(
            Note::new(
                NoteCode::FreelistCountMismatch,
                format!("the header counts {count} freelist pages; the trunks hold {total}"),
            )
            .at_page(1, snap.origin(1))
            .offset(36),
        );
    }
    (trunks, leaves)
}

/// A visitor that only keeps notes (for helpers that walk on their own).
#[derive(Default)]
pub struct NoteSink {
    pub notes: Vec<Note>,
}

impl Visitor for NoteSink {
    fn note(&mut self, n: Note) {
        self.notes.push(n);
    }
}

/// Find the row with `rowid` in the table b-tree rooted at `root` (binary descent, as
/// SQLite's cursor seeks). Returns the cell with its whole payload.
pub fn find_rowid(
    snap: &Snapshot<'_>,
    root: u32,
    rowid: i64,
    notes: &mut Vec<Note>,
    budget: &mut Budget,
) -> Option<CellData> {
    let mut p = root;
    let mut seen: PageSet = PageSet::default();
    for _ in 0..=MAX_DEPTH {
        if !seen.insert(p) || !budget.step() {
            notes.push(
                Note::new(NoteCode::BtreeCycle, format!("page {p} reached twice while seeking rowid {rowid}"))
                    .at_page(p, snap.origin(p)),
            );
            return None;
        }
        let pr = match snap.page(p) {
            Ok(pr) => pr,
            Err(n) => {
                notes.push(n);
                return None;
            }
        };
        let bt = match BtreePage::parse(&pr.data, p == 1, snap.usable) {
            Ok(b) if b.is_table() => b,
            Ok(_) => {
                notes.push(
                    Note::new(NoteCode::BtreeMixedTypes, format!("page {p} is not a table b-tree page"))
                        .at_page(p, pr.origin),
                );
                return None;
            }
            Err(e) => {
                notes.push(
                    Note::new(NoteCode::BtreeBadPage, format!("page {p}: {e}")).at_page(p, pr.origin).offset(e.offset),
                );
                return None;
            }
        };
        if bt.is_leaf() {
            for i in 0..bt.cell_count() {
                let Ok(cell) = bt.cell(i) else { continue };
                if cell.rowid == Some(rowid) {
                    let mut sink = NoteSink::default();
                    let mut payload = cell.local.to_vec();
                    let mut visited = PageSet::default();
                    let complete =
                        follow_overflow(snap, &pr, &cell, &mut sink, &mut visited, budget, Some(&mut payload));
                    notes.append(&mut sink.notes);
                    return Some(CellData {
                        page: p,
                        origin: pr.origin,
                        index: i,
                        rowid: Some(rowid),
                        payload,
                        complete,
                    });
                }
            }
            return None;
        }
        let mut next = bt.right_child();
        for i in 0..bt.cell_count() {
            if let Ok(c) = bt.cell(i)
                && c.rowid.is_some_and(|k| rowid <= k)
            {
                next = c.left_child;
                break;
            }
        }
        match next {
            Some(n) if n != 0 && n <= snap.spec.db_pages => p = n,
            _ => return None,
        }
    }
    notes.push(Note::new(NoteCode::BtreeTooDeep, format!("seeking rowid {rowid} went deeper than {MAX_DEPTH} levels")));
    None
}
