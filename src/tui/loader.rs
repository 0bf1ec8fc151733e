//! The loader thread: polls the files on an interval, sends snapshots to the UI, reads frames
//! on request. All file I/O of the UI happens here; the UI thread never blocks on a file.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::event::{Event, Request};
use super::forensic::{Job, JobKind, Worker};
use super::watcher::{Snapshot, Watcher};
use crate::source::Paths;

const TICK: Duration = Duration::from_secs(1);
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// Start the loader. It ends when the UI hangs up either channel.
pub fn spawn(
    paths: Paths,
    interval: Duration,
    tx: Sender<Event>,
    rx: Receiver<Request>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("walinspect-loader".into())
        .spawn(move || run(Watcher::new(paths), interval, &tx, &rx))
}

fn run(mut w: Watcher, interval: Duration, tx: &Sender<Event>, rx: &Receiver<Request>) {
    let worker = {
        let tx = tx.clone();
        Worker::spawn(move |o| tx.send(Event::from(o)).is_ok())
    }
    .ok();
    let mut latest: Option<Arc<Snapshot>> = None;
    // Recent snapshots: a frame's owner is taken from the newest one in which the frame is the
    // one read (the UI may show an older state than the newest, e.g. pinned or mid-refresh).
    let mut recent: std::collections::VecDeque<Arc<Snapshot>> = std::collections::VecDeque::new();
    let job = |w: &Watcher, latest: &Option<Arc<Snapshot>>, kind: JobKind| {
        if let (Some(wk), Some(s)) = (&worker, latest) {
            let (db, wal) = w.clone_files();
            wk.submit(Job { snap: s.clone(), db, wal, kind });
        }
    };
    let mut next_poll = Instant::now();
    let mut next_tick = Instant::now() + TICK;
    loop {
        let now = Instant::now();
        if now >= next_poll {
            let mut last = Instant::now();
            let mut progress = |done: u64, total: u64| {
                if last.elapsed() >= PROGRESS_EVERY {
                    last = Instant::now();
                    let _ = tx.send(Event::Progress { done, total });
                }
            };
            if let Some(s) = w.poll(&mut progress) {
                let s = Arc::new(s);
                latest = Some(s.clone());
                if recent.len() >= 8 {
                    recent.pop_front();
                }
                recent.push_back(s.clone());
                if tx.send(Event::Snapshot(s)).is_err() {
                    return;
                }
            }
            next_poll = Instant::now() + interval;
        }
        if now >= next_tick {
            if tx.send(Event::Tick).is_err() {
                return;
            }
            next_tick += TICK;
        }
        let wait = next_poll.min(next_tick).saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait) {
            Ok(Request::Frame(n)) => {
                let result = w.read_frame(n).map_err(Arc::new);
                if let Ok(b) = &result {
                    let holds = |s: &&Arc<Snapshot>| {
                        s.analysis.wal.as_ref().and_then(|wa| wa.frame(n)).is_some_and(|r| r.header == b.header)
                    };
                    let snap = recent.iter().rev().find(holds).cloned().or_else(|| latest.clone());
                    job(&w, &snap, JobKind::Frame { frame: n, page: b.page.clone() });
                }
                if tx.send(Event::Frame { frame: n, result }).is_err() {
                    return;
                }
            }
            Ok(Request::Timeline) => job(&w, &latest, JobKind::Timeline),
            Ok(Request::CommitRows(n)) => job(&w, &latest, JobKind::Rows(n)),
            Ok(Request::Deep) => job(&w, &latest, JobKind::Deep),
            Ok(Request::Rescan) => {
                w.force_full_rescan();
                next_poll = Instant::now();
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}
