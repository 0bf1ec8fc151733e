//! `walinspect locks`, and the live probe that `check`, `info` and `dump` add to the findings.
//!
//! The probe never acquires a lock and never opens a file for writing (see `source::locks`),
//! so running it against a database in production use cannot make SQLite fail.

use std::io::{self, IsTerminal};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{GlobalArgs, emit_json_line, exit_code, style, write_bytes, write_text};
use crate::analysis::findings::Finding;
use crate::present::locks::render;
use crate::report::Files;
use crate::report::locks::LocksReport;
use crate::session::{Error, Options, probe_live};

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// One probe of the database at `path`: the report and its findings.
pub fn snapshot(path: &Path, opts: Options) -> Result<(LocksReport, Vec<Finding>), Error> {
    let session = crate::session::Session::open(path, opts)?;
    let (ev, a) = (&session.evidence, &session.analysis);
    let at = now_ms();
    let live = probe_live(ev, a);
    let f = session.settled.apply(crate::live::check_with_live(a, &live.facts()));
    let r = LocksReport::build(Files::of(ev), &live.probe, &live.locks, Some(&live.env), &f, at);
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
) -> Result<u8, Error> {
    let st = style(g);
    if !watch {
        let (r, f) = snapshot(path, super::options(g))?;
        if json {
            super::emit_json(&r)?;
        } else {
            write_text(&render(&r, st, true), st.color)?;
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
        match snapshot(path, super::options(g)) {
            Ok((r, f)) => {
                code = exit_code(&f, g.fail_on);
                if json {
                    emit_json_line(&r)?;
                } else if terminal {
                    // Our own clear-screen, then the guarded text.
                    write_bytes(b"\x1b[H\x1b[2J")?;
                    write_text(&render(&r, st, true), st.color)?;
                } else {
                    let text = render(&r, st, false);
                    if last.as_deref() != Some(text.as_str()) {
                        write_text(&format!("--- +{:.3} s\n{text}", start.elapsed().as_secs_f64()), st.color)?;
                        last = Some(text);
                    }
                }
            }
            // The database may vanish for a moment (the last connection deleting the -wal and
            // -shm is not a problem, but a replaced file can be): report and keep watching.
            Err(e @ (Error::Input(_) | Error::Refused(_))) if n > 1 => {
                eprintln!("walinspect: {}", crate::format::escape::escape(&e.to_string()))
            }
            Err(e) => return Err(e),
        }
        if count.is_some_and(|c| n >= c) {
            return Ok(code);
        }
        std::thread::sleep(interval.saturating_sub(tick.elapsed()));
    }
}
