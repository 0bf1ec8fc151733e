//! The live terminal UI: `walinspect tui PATH` (and bare `walinspect PATH` on a terminal).
//!
//! Threads (std + mpsc, no async runtime): the loader polls the files and sends snapshots
//! (`loader`, `live`); an input thread forwards key and resize events; a signal thread turns
//! SIGTERM/SIGHUP/SIGINT into a clean quit. The UI thread owns the [`app::App`] state, applies
//! events to it and draws it (`views`, a function of `&App`). The terminal is restored on
//! quit, on error, on a signal and on panic (ratatui's hook).

pub mod action;
pub mod app;
pub mod changes;
pub mod demo;
pub mod event;
pub mod events;
pub mod explain;
pub mod forensic;
pub mod loader;
pub mod tabs;
pub mod text;
pub mod views;
pub mod watcher;

use std::path::Path;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::Duration;

use crate::session::Error;
use crate::source::{Evidence, Paths};
use app::App;
use event::{Event, Request};

/// Check the input as the other commands do (exit status 2 with one clear line when it
/// cannot be analysed at all), cheaply: the WAL's frames are not scanned here.
pub fn preflight(path: &Path) -> Result<Paths, Error> {
    let ev = Evidence::open(path)?;
    let db = ev.db.as_ref().map(|f| (&f.file as &dyn crate::analysis::ReadAt, f.len()));
    let mut a = crate::analysis::analyze(&crate::analysis::Inputs { db, wal: None, shm: None });
    // Header only: analysing the first 32 bytes with the real length gives the header facts
    // the contract needs without reading any frame.
    a.wal = ev.wal.as_ref().map(|w| {
        let head = w.read_at(0, crate::format::wal::WAL_HEADER_LEN).unwrap_or_default();
        crate::analysis::wal::analyze_wal(head.as_slice(), w.len())
    });
    crate::session::check_contract(&ev, &a)?;
    Ok(ev.paths)
}

/// Run the UI on `path` until the user quits. Returns the exit status. With `log`, every event
/// of the Events view is appended to that file as a JSON line.
pub fn run(path: &Path, interval: Duration, log: Option<&Path>) -> Result<u8, Error> {
    let paths = preflight(path)?;
    let log = match log {
        Some(l) => Some(open_log(l, &paths)?),
        None => None,
    };
    run_with_log(paths, path.display().to_string(), interval, log, &mut || None)
}

/// Open (append, create) the event log file, refusing any of the inspected files.
fn open_log(l: &Path, paths: &Paths) -> Result<std::fs::File, Error> {
    let same = |p: &Path| {
        let a = std::fs::canonicalize(p).ok();
        let b = std::fs::canonicalize(l).ok();
        (a.is_some() && a == b) || p == l
    };
    if same(&paths.db) || same(&paths.wal) || same(&paths.shm) {
        return Err(Error::Refused(format!("--log {}: that is one of the inspected files", l.display())));
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(l)
        .map_err(|e| Error::system(format!("cannot open the event log {}", l.display()), e))
}

/// Run the UI on already-resolved paths.
pub fn run_paths(paths: Paths, title: String, interval: Duration) -> Result<u8, Error> {
    run_with_log(paths, title, interval, None, &mut || None)
}

/// [`run_paths`] with a watch: `watch` is asked after every event and, when it returns a
/// message, that message is shown and logged (the demo reports its writer's death this way).
pub fn run_watched(
    paths: Paths,
    title: String,
    interval: Duration,
    watch: &mut dyn FnMut() -> Option<String>,
) -> Result<u8, Error> {
    run_with_log(paths, title, interval, None, watch)
}

fn run_with_log(
    paths: Paths,
    title: String,
    interval: Duration,
    log: Option<std::fs::File>,
    watch: &mut dyn FnMut() -> Option<String>,
) -> Result<u8, Error> {
    let (tx, rx) = mpsc::channel::<Event>();
    let (req_tx, req_rx) = mpsc::channel::<Request>();
    let fatal = |e: std::io::Error| Error::system("cannot start the terminal UI", e);
    loader::spawn(paths, interval, tx.clone(), req_rx).map_err(fatal)?;
    spawn_signals(tx.clone()).map_err(fatal)?;
    let mut terminal = ratatui::try_init().map_err(fatal)?;
    let _restore = Restore;
    let _ = crossterm::execute!(std::io::stdout(), crossterm::event::EnableMouseCapture);
    spawn_input(tx).map_err(fatal)?;
    let mut app = App::new(title, interval.as_millis() as u64);
    app.log = log;
    event_loop(&mut terminal, &mut app, &rx, &req_tx, watch).map_err(|e| Error::system("terminal error", e))?;
    Ok(0)
}

/// Restores the terminal when dropped (also on an early return with an error).
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = crossterm::execute!(std::io::stdout(), crossterm::event::DisableMouseCapture);
        ratatui::restore();
    }
}

/// Ctrl-Z: give the terminal back, stop the process (SIGTSTP, as a shell job), and take the
/// terminal again when `fg` continues it.
fn suspend(terminal: &mut ratatui::DefaultTerminal) -> std::io::Result<()> {
    let _ = crossterm::execute!(std::io::stdout(), crossterm::event::DisableMouseCapture);
    ratatui::restore();
    signal_hook::low_level::raise(signal_hook::consts::SIGTSTP)?;
    *terminal = ratatui::try_init()?;
    let _ = crossterm::execute!(std::io::stdout(), crossterm::event::EnableMouseCapture);
    terminal.clear()
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    rx: &Receiver<Event>,
    req: &Sender<Request>,
    watch: &mut dyn FnMut() -> Option<String>,
) -> std::io::Result<()> {
    loop {
        if let Some(m) = watch() {
            app.alert(m);
        }
        terminal.draw(|f| views::render(app, f.area(), f.buffer_mut()))?;
        let Ok(ev) = rx.recv() else { return Ok(()) };
        app.handle(ev);
        // Apply whatever else is already queued before drawing again.
        while !app.quit {
            match rx.try_recv() {
                Ok(ev) => app.handle(ev),
                Err(_) => break,
            }
        }
        for r in app.requests.drain(..) {
            let _ = req.send(r);
        }
        if std::mem::take(&mut app.suspend) {
            suspend(terminal)?;
        }
        if app.quit {
            return Ok(());
        }
    }
}

fn spawn_input(tx: Sender<Event>) -> std::io::Result<()> {
    std::thread::Builder::new().name("walinspect-input".into()).spawn(move || {
        loop {
            let ev = match crossterm::event::read() {
                Ok(crossterm::event::Event::Key(k)) => Event::Key(k),
                Ok(crossterm::event::Event::Resize(..)) => Event::Resize,
                Ok(crossterm::event::Event::Mouse(m)) => Event::Mouse(m),
                Ok(_) => continue,
                Err(_) => Event::Quit,
            };
            let stop = matches!(ev, Event::Quit);
            if tx.send(ev).is_err() || stop {
                return;
            }
        }
    })?;
    Ok(())
}

fn spawn_signals(tx: Sender<Event>) -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGHUP, SIGINT, SIGQUIT])?;
    std::thread::Builder::new().name("walinspect-signals".into()).spawn(move || {
        if signals.forever().next().is_some() {
            let _ = tx.send(Event::Quit);
        }
    })?;
    Ok(())
}
