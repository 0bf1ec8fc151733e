//! `walinspect scan PATH...`: walk folders, group the SQLite files found by content into
//! evidence sets, analyse every set as `check` would (in parallel), and print one line per set,
//! worst first, or JSON Lines. A progress line goes to stderr when it is a terminal.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::{Error, GlobalArgs, emit_json_line, options, style, write_out};
use crate::present::fmt::human_bytes;
use crate::present::scan::{render_set, render_summary, render_unreadable};
use crate::report::scan::{ScanSetReport, ScanSummaryReport, ScanTotals, ScanUnreadableReport};
use crate::session::scan::{analyse_all, group};
use crate::source::walk::{WalkOptions, walk};

/// `scan`'s arguments.
#[derive(clap::Args, Debug)]
pub struct ScanArgs {
    /// Files and folders to scan (folders recursively).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Descend at most this many levels (as `find -maxdepth`: 1 = the named folders' own
    /// entries).
    #[arg(long)]
    pub max_depth: Option<usize>,
    /// Follow symbolic links inside the folders (off by default; loops are detected and listed).
    #[arg(long)]
    pub follow_symlinks: bool,
    /// Print JSON Lines: one object per set, per unreadable entry, and a summary (schema
    /// "walinspect.scan", see docs/json-schema.md).
    #[arg(long)]
    pub json: bool,
    /// Do not count the row versions `salvage` would recover (faster on large WALs).
    #[arg(long)]
    pub no_salvage: bool,
}

/// Counters the progress line reads.
#[derive(Default)]
struct Progress {
    files: AtomicU64,
    bytes: AtomicU64,
    sets_total: AtomicU64,
    sets_done: AtomicU64,
    stop: AtomicBool,
}

fn progress_line(p: &Progress, started: Instant, analysing: Option<Instant>) -> String {
    let files = p.files.load(Ordering::Relaxed);
    let bytes = p.bytes.load(Ordering::Relaxed);
    let (done, total) = (p.sets_done.load(Ordering::Relaxed), p.sets_total.load(Ordering::Relaxed));
    let mut s = format!("walk: {files} files, {} read", human_bytes(bytes));
    if let Some(t0) = analysing {
        s.push_str(&format!(" | sets {done}/{total}"));
        let el = t0.elapsed().as_secs_f64();
        if done > 0 && total > done {
            let eta = el / done as f64 * (total - done) as f64;
            s.push_str(&format!(", ETA {eta:.0} s"));
        }
    }
    s.push_str(&format!(" | {:.1} s", started.elapsed().as_secs_f64()));
    s
}

/// Run `scan`.
pub fn run(args: &ScanArgs, g: &GlobalArgs) -> Result<u8, Error> {
    let started = Instant::now();
    let p = Progress::default();
    let show = std::io::stderr().is_terminal();
    let analysing: std::sync::Mutex<Option<Instant>> = std::sync::Mutex::new(None);
    let opts = WalkOptions { max_depth: args.max_depth, follow_symlinks: args.follow_symlinks };
    let fail_on = g.fail_on.severity();
    let (walked, mut reports) = std::thread::scope(|scope| {
        if show {
            scope.spawn(|| {
                while !p.stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(200));
                    let a = analysing.lock().ok().and_then(|g| *g);
                    let _ = write!(std::io::stderr(), "\r\x1b[K{}", progress_line(&p, started, a));
                }
                let _ = write!(std::io::stderr(), "\r\x1b[K");
            });
        }
        let on_file = |n: u64, b: u64| {
            p.files.store(n, Ordering::Relaxed);
            p.bytes.store(b, Ordering::Relaxed);
        };
        let walked = walk(&args.paths, opts, &on_file);
        let sets = group(&walked.files);
        p.sets_total.store(sets.len() as u64, Ordering::Relaxed);
        if let Ok(mut a) = analysing.lock() {
            *a = Some(Instant::now());
        }
        let convert = |o: crate::session::scan::SetOutcome<'_>| {
            let r = ScanSetReport::build(&o, fail_on);
            let hashed: u64 = r.hashes.iter().filter_map(|h| h.size).sum();
            p.bytes.fetch_add(hashed, Ordering::Relaxed);
            r
        };
        let done = |_: &crate::session::scan::EvidenceSet| {
            p.sets_done.fetch_add(1, Ordering::Relaxed);
        };
        let reports = analyse_all(&sets, options(g), !args.no_salvage, &convert, &done);
        p.stop.store(true, Ordering::Relaxed);
        (walked, reports)
    });
    reports.sort_by_cached_key(|r| r.rank());
    let totals = ScanTotals {
        files_seen: walked.files.len() as u64,
        directories: walked.dirs,
        symlinks_skipped: walked.symlinks_skipped,
        sniff_bytes: walked.bytes_read,
        seconds: started.elapsed().as_secs_f64(),
    };
    let unreadable: Vec<ScanUnreadableReport> = walked.unreadable.iter().map(ScanUnreadableReport::from).collect();
    let summary = ScanSummaryReport::build(&reports, unreadable.len(), totals);
    if args.json {
        for r in &reports {
            emit_json_line(r)?;
        }
        for u in &unreadable {
            emit_json_line(u)?;
        }
        emit_json_line(&summary)?;
    } else {
        let st = style(g);
        let mut o = String::new();
        for r in &reports {
            o.push_str(&render_set(r, st));
        }
        for u in &unreadable {
            o.push_str(&render_unreadable(u, st));
        }
        o.push_str(&render_summary(&summary, st));
        write_out(&o)?;
    }
    Ok(summary.exit_status)
}
