//! The deep check: SQLite's verdict on the content of a snapshot, without SQLite.
//!
//! [`run`] re-implements Phase 1 of SQLite 3.40's `PRAGMA integrity_check` over the snapshot
//! SQLite would show (database file + valid WAL up to mxFrame) or any commit: the freelist, the
//! auto-vacuum header, every b-tree in SQLite's root order with its cells, keys, children,
//! overflow chains and pointer-map entries, the coverage of every page, and pages never used —
//! each message in SQLite's words with the page it blames ([`integrity`]). Then each damaged
//! page gets its provenance and the newest intact earlier image found anywhere in the evidence
//! ([`provenance`]), and database pages a completed checkpoint tore are found ([`torn`]).
//!
//! Memory: one bit per page of the snapshot's real extent (plus per-tree sets of the pages a
//! tree references while trees run in parallel), and the page cache of the store. Hostile
//! structures are bounded by the reference bitmap (every page is entered at most once), a
//! depth limit, and the error budget.

pub mod cursor;
pub mod integrity;
pub mod keys;
pub mod page;
pub mod phase2;
pub mod provenance;
pub mod refs;
pub mod roots;
pub mod torn;

use crate::analysis::findings::{Code, FileKind, Finding, Severity};
use crate::forensics::ownership::Catalog;
use crate::forensics::snapshot::{Forensics, Origin, SnapshotSpec};
use crate::forensics::walk::Budget;
use integrity::{Message, Params, Reader};
pub use provenance::{Candidate, Provenance, RowDiff};
pub use roots::RootEntry;
pub use torn::TornPage;

/// How much the deep check does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Phase 1 of `integrity_check`: structure of every b-tree, freelist, pointer map.
    Structure,
    /// Structure, then every index checked against its table's rows (Phase 2's index checks).
    Full,
}

/// What to check.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub level: Level,
    /// SQLite's error budget (`integrity_check(N)`; 100 by default).
    pub max_errors: u32,
    /// Give each damaged page its provenance and intact earlier image (at most this many).
    pub provenance_pages: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self { level: Level::Structure, max_errors: 100, provenance_pages: 64 }
    }
}

/// Largest error budget accepted (SQLite's is an int; ours bounds the output).
pub const MAX_ERRORS_LIMIT: u32 = 100_000;

/// Everything the deep check found.
#[derive(Clone, Debug, Default)]
pub struct DeepReport {
    /// The state checked.
    pub upto: u32,
    /// The commit checked (None: the database file alone).
    pub commit: Option<u32>,
    /// SQLite's page count for this state (`btreePagecount`).
    pub n_page: u32,
    pub page_size: u32,
    pub usable: u32,
    /// Why SQLite could not open this state at all (then no check runs).
    pub unopenable: Option<String>,
    /// The trees checked, in SQLite's order.
    pub roots: Vec<RootEntry>,
    /// Phase-1 messages in SQLite's order and words.
    pub messages: Vec<Message>,
    /// Phase-2 index messages (`--deep=full`).
    pub index_messages: Vec<Message>,
    /// Indexes the full check could not compare (expressions, partial indexes, ...).
    pub index_skipped: Vec<String>,
    /// The full check's table scan stopped where SQLite's stops with "database disk image is
    /// malformed": (the page a cursor refused, the root of the tree it was reading).
    pub index_aborted: Option<(u32, u32)>,
    /// Rows the full check scanned.
    pub index_rows: u64,
    /// Provenance of each damaged page.
    pub provenance: Vec<Provenance>,
    /// Database pages that differ from the frame a completed checkpoint copied.
    pub torn: Vec<TornPage>,
    pub pages_read: u64,
    pub parallel_trees: u32,
    pub sequential_trees: u32,
}

impl DeepReport {
    /// The pages the messages blame, ascending, without "never used" orphans.
    pub fn damaged_pages(&self) -> Vec<u32> {
        let mut v: Vec<u32> = self
            .messages
            .iter()
            .chain(&self.index_messages)
            .filter(|m| m.code != Code::BtreeNeverUsed)
            .filter_map(|m| m.page)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The name of the tree with this root.
    pub fn owner(&self, root: Option<u32>) -> Option<&RootEntry> {
        let r = root?;
        self.roots.iter().find(|e| e.root == r)
    }

    /// True when SQLite's `integrity_check` would say something other than `ok`.
    pub fn damaged(&self) -> bool {
        self.unopenable.is_some() || !self.messages.is_empty() || !self.index_messages.is_empty()
    }
}

/// Run the deep check on a state (`spec`), `commit` being its number when it is one.
pub fn run(fx: &Forensics<'_>, spec: SnapshotSpec, commit: Option<u32>, opts: Options) -> DeepReport {
    let snap = fx.snapshot(spec);
    let page_size = fx.store.page_size;
    let mut rep = DeepReport { upto: spec.upto, commit, page_size, usable: snap.usable, ..DeepReport::default() };
    // SQLite's pager size: the WAL commit's size, else the file rounded up to whole pages.
    let n_page_file = if spec.upto == 0 {
        u32::try_from(fx.store.db_len().div_ceil(u64::from(page_size.max(1)))).unwrap_or(u32::MAX)
    } else {
        spec.db_pages
    };
    let Some(h) = snap.header else {
        rep.unopenable = Some(if n_page_file == 0 {
            "the database is empty".into()
        } else {
            "page 1 has no valid database header: SQLite reports \"file is not a database\"".into()
        });
        return rep;
    };
    let n_page = if h.page_count_valid() && h.page_count != 0 { h.page_count } else { n_page_file };
    if n_page > n_page_file {
        rep.unopenable = Some(format!(
            "the header says {n_page} pages but this state holds {n_page_file}: SQLite refuses to open it (database disk image is malformed)"
        ));
        return rep;
    }
    rep.n_page = n_page;
    if snap.usable < crate::format::btree::MIN_USABLE_SIZE {
        rep.unopenable = Some("usable page size below 480: SQLite refuses the file".into());
        return rep;
    }
    if let Ok(p1) = fx.store.read(1, snap.origin(1))
        && page::init_page(&p1, 100, snap.usable, page_size).is_err()
    {
        rep.unopenable = Some(
            "page 1 (sqlite_schema) is not a valid b-tree page: the schema cannot be read (database disk image is malformed)".into(),
        );
        return rep;
    }
    let snap_n = fx.snapshot(SnapshotSpec { upto: spec.upto, db_pages: n_page });
    let mut budget = Budget::new(u64::from(n_page.min(snap_n.extent())) + 1024);
    let catalog = Catalog::read(&snap_n, &mut budget);
    rep.roots = roots::root_list(&catalog.entries);
    let roots: Vec<u32> = rep.roots.iter().map(|r| r.root).collect();
    let partial = roots.first() == Some(&0);
    let params = Params {
        n_page,
        page_size,
        usable: snap.usable,
        auto_vacuum: h.largest_root_page != 0,
        partial,
        check_freelist: !partial || roots.get(1) == Some(&1),
        freelist_head: h.freelist_trunk,
        freelist_count: h.freelist_count,
        largest_root: h.largest_root_page,
        incremental_vacuum: h.incremental_vacuum,
        extent: snap_n.extent(),
    };
    let files = fx.store.files();
    let index = &fx.index;
    let make = move || Reader { store: files.store(), index, upto: spec.upto };
    let budget = opts.max_errors.clamp(1, MAX_ERRORS_LIMIT);
    let p1 = integrity::phase1(&make, params, &roots, budget);
    rep.messages = p1.messages;
    rep.pages_read = p1.pages_read;
    rep.parallel_trees = p1.parallel_trees;
    rep.sequential_trees = p1.sequential_trees;
    if opts.level == Level::Full {
        let g = cursor::Geometry { n_page, page_size, usable: snap.usable, enc: snap_n.encoding };
        let p2 = phase2::phase2(&make, g, &catalog.entries, &rep.roots, p1.budget_left);
        rep.index_messages = p2.messages;
        rep.index_skipped = p2.skipped;
        rep.index_rows = p2.rows;
        rep.pages_read += p2.pages_read;
        if let Some((page, root)) = p2.aborted {
            rep.index_aborted = Some((page, root));
            rep.index_messages.push(Message {
                code: Code::IndexScanAborted,
                text: MALFORMED.into(),
                page: Some(page),
                root: Some(root),
            });
        }
    }
    rep.torn = torn::find(fx, spec);
    let damaged = rep.damaged_pages();
    let reader = make();
    rep.provenance =
        damaged.iter().take(opts.provenance_pages).map(|&p| provenance::of_page(fx, &reader, &rep, p)).collect();
    rep
}

/// What the sqlite3 3.40 shell prints (on standard error) when Phase 2 stops on corruption.
pub const MALFORMED: &str = "Error: stepping, database disk image is malformed (11)";

/// The lines the sqlite3 shell prints for `PRAGMA integrity_check` on this state (a stopped
/// Phase 2 ends with the shell's error line, which it writes to standard error).
pub fn sqlite_lines(r: &DeepReport) -> Vec<String> {
    if let Some(u) = &r.unopenable {
        return vec![format!("Error: {u}")];
    }
    let mut out = Vec::new();
    if !r.messages.is_empty() {
        out.push("*** in database main ***".to_string());
        out.extend(r.messages.iter().map(|m| m.text.clone()));
    }
    out.extend(r.index_messages.iter().map(|m| m.text.clone()));
    if out.is_empty() {
        out.push("ok".into());
    }
    out
}

/// The deep check's findings (severity error), one per message, in SQLite's order, then the
/// torn checkpoint writes.
pub fn findings(rep: &DeepReport, fx: &Forensics<'_>) -> Vec<Finding> {
    let snap = fx.snapshot(SnapshotSpec { upto: rep.upto, db_pages: rep.n_page });
    let mut out = Vec::new();
    if let Some(why) = &rep.unopenable {
        out.push(Finding {
            code: Code::BtreeUnopenable,
            severity: Severity::Error,
            message: why.clone(),
            file: Some(FileKind::Db),
            offset: None,
            frame: None,
            page: Some(1),
            count: None,
        });
    }
    for m in rep.messages.iter().chain(&rep.index_messages) {
        let origin = m.page.map(|p| snap.origin(p));
        let owner = rep.owner(m.root).map(|o| {
            format!(" [{} {}]", if o.index { "index" } else { "table" }, crate::format::escape::escape(&o.name))
        });
        out.push(Finding {
            code: m.code,
            severity: Severity::Error,
            message: format!("{}{}", m.text, owner.unwrap_or_default()),
            file: Some(if matches!(origin, Some(Origin::Frame(_))) { FileKind::Wal } else { FileKind::Db }),
            offset: None,
            frame: origin.and_then(Origin::frame),
            page: m.page,
            count: None,
        });
    }
    for t in &rep.torn {
        out.push(Finding {
            code: Code::BtreeTornCheckpoint,
            severity: Severity::Error,
            message: t.describe(),
            file: Some(FileKind::Db),
            offset: Some(u64::from(t.page.saturating_sub(1)) * u64::from(rep.page_size) + u64::from(t.first_diff)),
            frame: Some(t.frame),
            page: Some(t.page),
            count: Some(u64::from(t.bytes_differ)),
        });
    }
    out
}
