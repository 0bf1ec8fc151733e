//! `walinspect locks`, and the live probe that `check`, `info` and `dump` add to the findings.
//!
//! The probe never acquires a lock and never opens a file for writing (see `source::locks`),
//! so running it against a database in production use cannot make SQLite fail.

use std::io::{self, IsTerminal};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{Failure, GlobalArgs, emit_json_line, exit_code, load, style, write_out};
use crate::analysis::Analysis;
use crate::analysis::env::{self, EnvAssessment};
use crate::analysis::findings::{self, Finding};
use crate::analysis::locks::{self, LiveFacts, LiveLocks};
use crate::report::Files;
use crate::report::locks::{LocksReport, render};
use crate::source::Evidence;
use crate::source::locks::LockProbe;

/// The live state around opened evidence.
#[derive(Clone, Debug)]
pub struct Live {
    pub probe: LockProbe,
    pub locks: LiveLocks,
    pub env: EnvAssessment,
}

impl Live {
    pub fn facts(&self) -> LiveFacts {
        LiveFacts { locks: Some(self.locks.clone()), env: Some(self.env.clone()) }
    }
}

/// Probe the locks on the files as they were opened (the same inodes that were analysed), and
/// the environment of the database's directory.
pub fn probe_live(ev: &Evidence, a: &Analysis) -> Live {
    probe_files(ev.db.as_ref().map(|f| &f.file), ev.shm.as_ref().map(|f| &f.file), &ev.paths, a)
}

/// [`probe_live`] on files already open (the TUI's watcher keeps its own descriptors open, so
/// nothing is opened or closed per probe).
pub fn probe_files(
    db: Option<&std::fs::File>,
    shm: Option<&std::fs::File>,
    paths: &crate::source::Paths,
    a: &Analysis,
) -> Live {
    let probe = crate::source::locks::probe(db, shm, paths);
    let locks = locks::derive(&probe, a);
    let env = env::assess(&crate::source::env::probe_env(paths), a);
    Live { probe, locks, env }
}

/// The findings `check`, `info` and `dump` report: the files' findings plus the live ones,
/// unless `--no-live`.
pub fn findings_for(ev: &Evidence, a: &Analysis, g: &GlobalArgs) -> Vec<Finding> {
    if g.no_live { findings::check(a) } else { findings::check_with_live(a, &probe_live(ev, a).facts()) }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// One probe of the database at `path`: the report and its findings.
pub fn snapshot(path: &Path) -> Result<(LocksReport, Vec<Finding>), Failure> {
    let (ev, a) = load(path)?;
    let at = now_ms();
    let live = probe_live(&ev, &a);
    let f = findings::check_with_live(&a, &live.facts());
    let r = LocksReport::build(Files::of(&ev), &live.probe, &live.locks, Some(&live.env), &f, at);
    Ok((r, f))
}

/// Run `walinspect locks`.
pub fn run(
    path: &Path,
    json: bool,
    watch: bool,
    interval_ms: u64,
    count: Option<u64>,
    g: &GlobalArgs,
) -> Result<u8, Failure> {
    let st = style(g);
    if !watch {
        let (r, f) = snapshot(path)?;
        if json {
            super::emit_json(&r)?;
        } else {
            write_out(&render(&r, st, true))?;
        }
        return Ok(exit_code(&f, g.fail_on));
    }
    let interval = Duration::from_millis(interval_ms.max(10));
    let terminal = io::stdout().is_terminal();
    let start = Instant::now();
    let mut last: Option<String> = None;
    let mut code = 0;
    let mut n = 0u64;
    loop {
        n += 1;
        let tick = Instant::now();
        match snapshot(path) {
            Ok((r, f)) => {
                code = exit_code(&f, g.fail_on);
                if json {
                    emit_json_line(&r)?;
                } else if terminal {
                    write_out(&format!("\x1b[H\x1b[2J{}", render(&r, st, true)))?;
                } else {
                    let text = render(&r, st, false);
                    if last.as_deref() != Some(text.as_str()) {
                        write_out(&format!("--- +{:.3} s\n{text}", start.elapsed().as_secs_f64()))?;
                        last = Some(text);
                    }
                }
            }
            // The database may vanish for a moment (the last connection deleting the -wal and
            // -shm is not a problem, but a replaced file can be): report and keep watching.
            Err(Failure::Fatal(m)) if n > 1 => eprintln!("walinspect: {m}"),
            Err(e) => return Err(e),
        }
        if count.is_some_and(|c| n >= c) {
            return Ok(code);
        }
        std::thread::sleep(interval.saturating_sub(tick.elapsed()));
    }
}
