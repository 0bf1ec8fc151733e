//! Phase 1 of SQLite 3.40's `PRAGMA integrity_check` (`sqlite3BtreeIntegrityCheck` and
//! `checkTreePage`, `checkList`, `checkRef`, `checkPtrmap` in `src/btree.c`), re-implemented
//! over a snapshot: the same checks in the same order, the same error budget, and each
//! message in SQLite's exact words, with the page it blames (see
//! `/work/shared/forensic-reference.md` §5 and `docs/findings.md`).
//!
//! The trees are checked in parallel (one task per root): each task keeps its own set of the
//! pages it referenced on top of the shared state after the freelist walk. The tasks' results
//! are then merged in root order; a task that touched a page an earlier tree had already
//! referenced (which sequential SQLite reports as a "2nd reference") is run again, with every
//! later one, sequentially over the merged state — so the output is always exactly the
//! sequential one.

use rayon::prelude::*;

use super::page::{InitError, Page, coverage, init_page};
use super::refs::PageBits;
use crate::analysis::findings::Code;
use crate::forensics::snapshot::{FrameIndex, Origin, PageStore, SnapshotSpec};
use crate::format::bytes::be_u32_or0;
use crate::format::ptrmap::{lock_byte_page, ptrmap_page_for};

/// One message of the check, as SQLite words it, and whom it blames.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub code: Code,
    /// The exact 3.40.1 line (prefix included).
    pub text: String,
    /// The page whose image holds the fault (the parent for a bad pointer, the page itself for
    /// a bad header or cell, the orphan for "never used"); None for the freelist count.
    pub page: Option<u32>,
    /// The b-tree (root page) being checked when the message was made.
    pub root: Option<u32>,
}

/// The printf prefix state of `IntegrityCk` (`zPfx`, `v1`, `v2`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pfx {
    None,
    Freelist,
    Page,
    TreeCell,
    RightChild,
}

#[derive(Clone, Copy, Debug)]
struct State {
    pfx: Pfx,
    v1: u32,
    v2: i32,
}

/// Where page images come from (a fork of the snapshot's store per thread).
pub struct Reader<'a> {
    pub store: PageStore<'a>,
    pub index: &'a FrameIndex,
    pub upto: u32,
}

impl Reader<'_> {
    pub fn origin(&self, p: u32) -> Origin {
        if let Some(f) = self.index.latest(p, self.upto) {
            Origin::Frame(f)
        } else if self.store.db_has(p) {
            Origin::Db
        } else {
            Origin::Missing
        }
    }

    /// The page image (zeros past the end of what exists, like SQLite); Err on an I/O error.
    pub fn read(&self, p: u32) -> Result<std::sync::Arc<[u8]>, String> {
        self.store.read(p, self.origin(p)).map_err(|n| n.message)
    }
}

/// The fixed parameters of one check.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    pub n_page: u32,
    pub page_size: u32,
    pub usable: u32,
    pub auto_vacuum: bool,
    /// `aRoot[0] == 0`: a view or virtual table came first (the 3.40 quirk).
    pub partial: bool,
    pub check_freelist: bool,
    /// Header fields 32, 36, 52, 64.
    pub freelist_head: u32,
    pub freelist_count: u32,
    pub largest_root: u32,
    pub incremental_vacuum: u32,
    /// Pages that can hold anything (file or WAL); the dense part of the page bitmap.
    pub extent: u32,
}

/// The outcome of Phase 1.
#[derive(Clone, Debug, Default)]
pub struct Phase1 {
    pub messages: Vec<Message>,
    /// Errors left in the budget afterwards.
    pub budget_left: u32,
    /// Pages referenced by the freelist and the trees.
    pub referenced: u64,
    /// b-tree pages read.
    pub pages_read: u64,
    /// Trees checked in parallel without conflict / re-run sequentially.
    pub parallel_trees: u32,
    pub sequential_trees: u32,
}

struct Checker<'r, 'a> {
    r: &'r Reader<'a>,
    p: Params,
    /// Shared state the task started from (read-only), when this is a parallel task.
    base: Option<&'r PageBits>,
    own: PageBits,
    /// Pages this checker referenced, in order (to merge a parallel task).
    order: Vec<u32>,
    budget: u32,
    msgs: Vec<Message>,
    st: State,
    root: Option<u32>,
    spans: Vec<u32>,
    pages_read: u64,
}

impl<'r, 'a> Checker<'r, 'a> {
    fn referenced(&self, pg: u32) -> bool {
        self.own.contains(pg) || self.base.is_some_and(|b| b.contains(pg))
    }

    fn msg(&mut self, code: Code, body: String, page: Option<u32>) {
        if self.budget == 0 {
            return;
        }
        self.budget -= 1;
        let text = match self.st.pfx {
            Pfx::None => body,
            Pfx::Freelist => format!("Main freelist: {body}"),
            Pfx::Page => format!("Page {}: {body}", self.st.v1),
            Pfx::TreeCell => format!("On tree page {} cell {}: {body}", self.st.v1, self.st.v2),
            Pfx::RightChild => format!("On page {} at right child: {body}", self.st.v1),
        };
        self.msgs.push(Message { code, text, page, root: self.root });
    }

    /// The page a prefixed message blames: the page being checked, when there is one.
    fn here(&self) -> Option<u32> {
        match self.st.pfx {
            Pfx::Page | Pfx::TreeCell | Pfx::RightChild => Some(self.st.v1),
            _ => None,
        }
    }

    /// `checkRef`: true when the page must not be visited. `list` picks the codes.
    fn check_ref(&mut self, pg: u32, list: ListKind, referrer: Option<u32>) -> bool {
        let blame = referrer.or(self.here());
        if pg > self.p.n_page || pg == 0 {
            self.msg(list.invalid(), format!("invalid page number {}", pg as i32), blame);
            return true;
        }
        if self.referenced(pg) {
            self.msg(list.shared(), format!("2nd reference to page {}", pg as i32), blame);
            return true;
        }
        self.own.insert(pg);
        self.order.push(pg);
        false
    }

    /// `checkPtrmap`.
    fn check_ptrmap(&mut self, child: u32, etype: u8, parent: u32) {
        let map = ptrmap_page_for(child, self.p.usable, self.p.page_size);
        let blame = self.here().or(Some(child));
        let failed = |s: &mut Self| {
            s.msg(Code::PtrmapUnreadable, format!("Failed to read ptrmap key={}", child as i32), blame);
        };
        if map == 0 || child <= map {
            // Page 0/1, or the key is the map page itself (offset < 0): SQLITE_CORRUPT.
            return failed(self);
        }
        let Ok(data) = self.r.read(map) else { return failed(self) };
        let off = 5 * (child - map - 1) as usize;
        let t = crate::format::bytes::u8_or0(&data, off);
        let par = be_u32_or0(&data, off + 1);
        if !(1..=5).contains(&t) {
            return failed(self);
        }
        if t != etype || par != parent {
            self.msg(
                Code::PtrmapBadEntry,
                format!(
                    "Bad ptr map entry key={} expected=({},{}) got=({},{})",
                    child as i32, etype, parent as i32, t, par as i32
                ),
                blame,
            );
        }
    }

    /// `checkList`: a freelist (trunks and leaves) or an overflow chain.
    fn check_list(&mut self, freelist: bool, first: u32, expected: u32) {
        let kind = if freelist { ListKind::Freelist } else { ListKind::Overflow };
        let errs_at_start = self.msgs.len();
        let mut n = expected;
        let mut pg = first;
        let mut referrer = if freelist { None } else { self.here() };
        while pg != 0 && self.budget > 0 {
            if self.check_ref(pg, kind, referrer) {
                break;
            }
            n = n.wrapping_sub(1);
            let Ok(data) = self.r.read(pg) else {
                self.msg(kind.unreadable(), format!("failed to get page {}", pg as i32), Some(pg));
                break;
            };
            if freelist {
                let leaves = be_u32_or0(&data, 4);
                if self.p.auto_vacuum {
                    self.check_ptrmap(pg, 2, 0);
                }
                if leaves > self.p.usable / 4 - 2 {
                    self.msg(
                        Code::FreelistLeafCount,
                        format!("freelist leaf count too big on page {}", pg as i32),
                        Some(pg),
                    );
                    n = n.wrapping_sub(1);
                } else {
                    for i in 0..leaves as usize {
                        let leaf = be_u32_or0(&data, 8 + 4 * i);
                        if self.p.auto_vacuum {
                            self.check_ptrmap(leaf, 2, 0);
                        }
                        self.check_ref(leaf, ListKind::Freelist, Some(pg));
                    }
                    n = n.wrapping_sub(leaves);
                }
            } else if self.p.auto_vacuum && n > 0 {
                let next = be_u32_or0(&data, 0);
                self.check_ptrmap(next, 4, pg);
            }
            referrer = Some(pg);
            pg = be_u32_or0(&data, 0);
        }
        if n != 0 && self.msgs.len() == errs_at_start {
            let (code, what) =
                if freelist { (Code::FreelistSize, "size") } else { (Code::OverflowLength, "overflow list length") };
            // The freelist count is header field 36, on page 1.
            let blame = if freelist { Some(1) } else { self.here() };
            self.msg(
                code,
                format!("{what} is {} but should be {}", expected.wrapping_sub(n) as i32, expected as i32),
                blame,
            );
        }
    }

    /// `checkTreePage`: returns the depth; `min_key` gets the smallest key when the page was
    /// checked (left as it was otherwise, like SQLite's `*piMinKey`).
    fn check_tree_page(&mut self, pg: u32, min_key: &mut i64, bound: i64, depth_left: u32) -> i32 {
        if pg == 0 {
            return 0;
        }
        if self.check_ref(pg, ListKind::Tree, None) {
            return 0;
        }
        let saved = self.st;
        let d = self.tree_page_body(pg, min_key, bound, depth_left);
        self.st = saved;
        d
    }

    fn tree_page_body(&mut self, pg: u32, min_key: &mut i64, bound: i64, depth_left: u32) -> i32 {
        self.st.pfx = Pfx::Page;
        self.st.v1 = pg;
        let data = match self.r.read(pg) {
            Ok(d) => d,
            Err(_) => {
                self.msg(Code::BtreeUnreadable, "unable to get the page. error code=10".into(), Some(pg));
                return 0;
            }
        };
        self.pages_read += 1;
        let hdr = if pg == 1 { 100 } else { 0 };
        let page = match init_page(&data, hdr, self.p.usable, self.p.page_size) {
            Ok(p) => p,
            Err(InitError::FreeSpace) => {
                self.msg(Code::BtreeFreeSpace, "free space corruption".into(), Some(pg));
                return 0;
            }
            Err(_) => {
                self.msg(Code::BtreeBadHeader, "btreeInitPage() returns error code 11".into(), Some(pg));
                return 0;
            }
        };
        self.st.pfx = Pfx::TreeCell;
        self.cells(pg, &page, min_key, bound, depth_left)
    }

    fn cells(&mut self, pg: u32, page: &Page<'_>, min_key: &mut i64, bound: i64, depth_left: u32) -> i32 {
        let usable = self.p.usable;
        let mut max_key = bound;
        let mut can_equal = true;
        let mut depth: i32 = -1;
        let mut coverage_ok = true;
        let mut spans = std::mem::take(&mut self.spans);
        spans.clear();
        if !page.is_leaf() {
            let child = page.right_child();
            if self.p.auto_vacuum {
                self.st.pfx = Pfx::RightChild;
                self.check_ptrmap(child, 5, pg);
            }
            depth = self.child(child, &mut max_key, depth_left);
            can_equal = false;
        }
        let mut i = page.n_cell;
        while i > 0 && self.budget > 0 {
            i -= 1;
            self.st.v2 = i as i32;
            let pc = page.pointer(i);
            if pc < page.content || pc > usable.saturating_sub(4) {
                self.msg(
                    Code::BtreeCellOffset,
                    format!("Offset {pc} out of range {}..{}", page.content, usable as i32 - 4),
                    Some(pg),
                );
                coverage_ok = false;
                continue;
            }
            let info = page.parse_cell(pc);
            if pc + info.size > usable {
                self.msg(Code::BtreeCellExtent, "Extends off end of page".into(), Some(pg));
                coverage_ok = false;
                continue;
            }
            if page.intkey() {
                if if can_equal { info.key > max_key } else { info.key >= max_key } {
                    self.msg(Code::BtreeKeyOrder, format!("Rowid {} out of order", info.key), Some(pg));
                }
                max_key = info.key;
                can_equal = false;
            }
            if info.payload > info.local {
                let n_pages = (info.payload - info.local + usable - 5) / (usable - 4);
                let head = page.overflow_head(pc, &info);
                if self.p.auto_vacuum {
                    self.check_ptrmap(head, 3, pg);
                }
                self.check_list(false, head, n_pages);
            }
            if !page.is_leaf() {
                let child = page.left_child(pc);
                if self.p.auto_vacuum {
                    self.check_ptrmap(child, 5, pg);
                }
                let d2 = self.child(child, &mut max_key, depth_left);
                can_equal = false;
                if d2 != depth {
                    self.msg(Code::BtreeDepth, "Child page depth differs".into(), Some(pg));
                    depth = d2;
                }
            } else {
                spans.push((pc << 16) | (pc + info.size).wrapping_sub(1));
            }
        }
        *min_key = max_key;
        self.st.pfx = Pfx::None;
        if coverage_ok && self.budget > 0 {
            if !page.is_leaf() {
                spans.clear();
                for i in (0..page.n_cell).rev() {
                    let pc = page.pointer(i);
                    let size = page.cell_size(pc);
                    spans.push((pc << 16) | (pc + size).wrapping_sub(1));
                }
            }
            let c = coverage(page, &mut spans);
            if let Some(b) = c.overlap {
                self.msg(Code::BtreeOverlap, format!("Multiple uses for byte {b} of page {pg}"), Some(pg));
            }
            if let Some((n, m)) = c.fragmentation {
                self.msg(
                    Code::BtreeFragmentation,
                    format!("Fragmentation of {} bytes reported as {m} on page {pg}", n as i32),
                    Some(pg),
                );
            }
        }
        self.spans = spans;
        depth + 1
    }

    /// Recurse into a child, bounded: a chain of interior pages deeper than any real tree
    /// (every page is referenced once, but the stack must not grow with a hostile file) is
    /// cut; SQLite's own limit is the page count, which the reference bitmap enforces too.
    fn child(&mut self, child: u32, max_key: &mut i64, depth_left: u32) -> i32 {
        if depth_left == 0 {
            self.msg(Code::BtreeDepth, "Child page depth differs".into(), self.here());
            return 0;
        }
        let bound = *max_key;
        self.check_tree_page(child, max_key, bound, depth_left - 1)
    }
}

/// Which kind of list a `checkRef` failure belongs to (picks the finding code).
#[derive(Clone, Copy, Debug)]
enum ListKind {
    Tree,
    Overflow,
    Freelist,
}

impl ListKind {
    fn invalid(self) -> Code {
        match self {
            Self::Tree => Code::BtreeInvalidPage,
            Self::Overflow => Code::OverflowInvalidPage,
            Self::Freelist => Code::FreelistInvalidPage,
        }
    }
    fn shared(self) -> Code {
        match self {
            Self::Tree => Code::BtreeSharedPage,
            Self::Overflow => Code::OverflowSharedPage,
            Self::Freelist => Code::FreelistSharedPage,
        }
    }
    fn unreadable(self) -> Code {
        match self {
            Self::Tree => Code::BtreeUnreadable,
            Self::Overflow => Code::OverflowUnreadable,
            Self::Freelist => Code::FreelistUnreadable,
        }
    }
}

/// Deeper than any b-tree SQLite can build (a 4-billion-page tree of 2-cell pages is 32 deep).
const MAX_DEPTH: u32 = 64;

/// Run Phase 1 over `roots` (SQLite's order, 0 for views and virtual tables).
pub fn phase1<'a>(make_reader: &(dyn Fn() -> Reader<'a> + Sync), p: Params, roots: &[u32], budget: u32) -> Phase1 {
    let r0 = make_reader();
    let mut global = PageBits::new(p.extent.min(p.n_page));
    let mut seq = Checker {
        r: &r0,
        p,
        base: None,
        own: std::mem::take(&mut global),
        order: Vec::new(),
        budget,
        msgs: Vec::new(),
        st: State { pfx: Pfx::None, v1: 0, v2: 0 },
        root: None,
        spans: Vec::new(),
        pages_read: 0,
    };
    let lock = lock_byte_page(p.page_size);
    if lock <= p.n_page {
        seq.own.insert(lock);
    }
    if p.check_freelist {
        seq.st.pfx = Pfx::Freelist;
        seq.check_list(true, p.freelist_head, p.freelist_count);
        seq.st.pfx = Pfx::None;
    }
    if !p.partial {
        if p.auto_vacuum {
            let mx = roots.iter().copied().max().unwrap_or(0);
            if mx != p.largest_root {
                seq.msg(
                    Code::PtrmapLargestRoot,
                    format!("max rootpage ({}) disagrees with header ({})", mx as i32, p.largest_root as i32),
                    Some(1),
                );
            }
        } else if p.incremental_vacuum != 0 {
            seq.msg(Code::PtrmapLargestRoot, "incremental_vacuum enabled with a max rootpage of zero".into(), Some(1));
        }
    }
    let mut out = Phase1::default();
    // Parallel tasks, one per root, over the state after the freelist.
    let tasks: Vec<u32> = roots.iter().copied().filter(|&r| r != 0).collect();
    let base_budget = seq.budget;
    let results: Vec<TreeRun> = if base_budget == 0 {
        Vec::new()
    } else {
        let base = &seq.own;
        tasks
            .par_iter()
            .map_init(make_reader, |rd, &root| {
                let mut c = Checker {
                    r: rd,
                    p,
                    base: Some(base),
                    own: PageBits::sparse(),
                    order: Vec::new(),
                    budget: base_budget,
                    msgs: Vec::new(),
                    st: State { pfx: Pfx::None, v1: 0, v2: 0 },
                    root: Some(root),
                    spans: Vec::new(),
                    pages_read: 0,
                };
                run_root(&mut c, root);
                TreeRun { msgs: c.msgs, order: c.order, pages_read: c.pages_read }
            })
            .collect()
    };
    let mut sequential_from = None;
    for (k, run) in results.into_iter().enumerate() {
        if run.order.iter().any(|&pg| seq.own.contains(pg)) {
            sequential_from = Some(k);
            break;
        }
        for pg in run.order {
            seq.own.insert(pg);
        }
        seq.pages_read += run.pages_read;
        out.parallel_trees += 1;
        for m in run.msgs {
            if seq.budget == 0 {
                break;
            }
            seq.budget -= 1;
            seq.msgs.push(m);
        }
    }
    if let Some(k) = sequential_from {
        for &root in tasks.get(k..).unwrap_or(&[]) {
            if seq.budget == 0 {
                break;
            }
            seq.root = Some(root);
            run_root(&mut seq, root);
            out.sequential_trees += 1;
        }
        seq.root = None;
    }
    if !p.partial {
        let mut i = 1u32;
        while i <= p.n_page && seq.budget > 0 {
            let is_map = p.auto_vacuum && ptrmap_page_for(i, p.usable, p.page_size) == i;
            let used = seq.own.contains(i);
            if !used && !is_map {
                seq.msg(Code::BtreeNeverUsed, format!("Page {} is never used", i as i32), Some(i));
            }
            if used && is_map {
                seq.msg(Code::PtrmapReferenced, format!("Pointer map page {} is referenced", i as i32), Some(i));
            }
            i = match i.checked_add(1) {
                Some(n) => n,
                None => break,
            };
        }
    }
    out.referenced = seq.own.len();
    out.pages_read = seq.pages_read;
    out.budget_left = seq.budget;
    out.messages = seq.msgs;
    out
}

struct TreeRun {
    msgs: Vec<Message>,
    order: Vec<u32>,
    pages_read: u64,
}

fn run_root(c: &mut Checker<'_, '_>, root: u32) {
    if c.p.auto_vacuum && root > 1 && !c.p.partial {
        c.check_ptrmap(root, 1, 0);
    }
    let mut not_used = 0i64;
    c.check_tree_page(root, &mut not_used, i64::MAX, MAX_DEPTH);
}

/// The snapshot parameters as SQLite's pager and `lockBtree` see them.
pub fn spec_pages(spec: SnapshotSpec) -> u32 {
    spec.db_pages
}
