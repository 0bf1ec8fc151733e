//! The application state and how events change it. Drawing lives in `views` and only reads
//! this state (`&App`); the only mutation a draw makes is recording how many rows fitted, in
//! `Cell`s, so scrolling can page by what the user sees.

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::Arc;

use super::action::{Action, InputMode, action_for};
use super::changes::Changes;
use super::event::{Event, Request};
use super::events::{self, LoggedEvent};
use super::forensic::{CommitRows, FrameForensics, TimelineData};
use super::tabs::ViewKind;
use super::watcher::{FrameBytes, Snapshot};
use crate::analysis::wal::{FrameRecord, FrameState, WalAnalysis};

/// The open prompt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prompt {
    pub kind: PromptKind,
    pub input: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromptKind {
    Jump,
    PageFilter,
    Search,
}

/// An active text search (`/`): the query (lowercase) and the view it searches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Search {
    pub query: String,
    pub view: ViewKind,
}

/// How long a status message stays before the next one replaces it.
pub const STATUS_MIN: std::time::Duration = std::time::Duration::from_secs(3);

/// A parsed jump target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Jump {
    Frame(u32),
    Page(u32),
    Commit(u32),
}

/// Parse `123`, `f123`, `frame 123`, `p42`, `page 42`, `c7`, `commit 7`.
pub fn parse_jump(s: &str) -> Option<Jump> {
    let s = s.trim().to_ascii_lowercase();
    let split = s.find(|c: char| c.is_ascii_digit())?;
    let (word, num) = s.split_at(split);
    let n: u32 = num.trim().parse().ok()?;
    match word.trim() {
        "" | "f" | "frame" | "#" => Some(Jump::Frame(n)),
        "p" | "page" | "pg" => Some(Jump::Page(n)),
        "c" | "commit" => Some(Jump::Commit(n)),
        _ => None,
    }
}

/// The frames list: selection, filters and scrolling.
#[derive(Debug, Default)]
pub struct FramesState {
    /// Selected frame number (1-based); 0 when there is none.
    pub selected: u32,
    pub state_filter: Option<FrameState>,
    pub page_filter: Option<u32>,
    /// Frame numbers passing the filters; None = every frame.
    pub rows: Option<Vec<u32>>,
    /// First visible row (kept by the draw so the selection stays visible).
    pub offset: Cell<usize>,
    /// Rows that fitted at the last draw.
    pub height: Cell<usize>,
}

impl FramesState {
    pub fn len(&self, wal: Option<&WalAnalysis>) -> usize {
        match &self.rows {
            Some(r) => r.len(),
            None => wal.map_or(0, |w| w.frames.len()),
        }
    }
    /// Row of the selected frame (or of the nearest frame after it in the filtered list).
    pub fn position(&self) -> usize {
        match &self.rows {
            Some(r) => r.binary_search(&self.selected).unwrap_or_else(|i| i.min(r.len().saturating_sub(1))),
            None => self.selected.saturating_sub(1) as usize,
        }
    }
    pub fn frame_at(&self, row: usize) -> Option<u32> {
        match &self.rows {
            Some(r) => r.get(row).copied(),
            None => u32::try_from(row + 1).ok(),
        }
    }
    fn refilter(&mut self, wal: Option<&WalAnalysis>) {
        self.rows = if self.state_filter.is_none() && self.page_filter.is_none() {
            None
        } else {
            Some(
                wal.map(|w| {
                    w.frames
                        .iter()
                        .filter(|f| {
                            self.state_filter.is_none_or(|s| f.state == s)
                                && self.page_filter.is_none_or(|p| f.header.page == p)
                        })
                        .map(|f| f.index)
                        .collect()
                })
                .unwrap_or_default(),
            )
        };
    }
}

/// The frame detail: which frame, its bytes once read, hex scrolling.
#[derive(Debug, Default)]
pub struct DetailState {
    pub frame: u32,
    pub bytes: Option<Result<FrameBytes, Arc<std::io::Error>>>,
    /// The page's owner and cells, once the worker has them.
    pub owner: Option<Arc<FrameForensics>>,
    pub scroll: usize,
    pub height: Cell<usize>,
    /// First cell shown (a search match scrolls the cells).
    pub cell_first: usize,
}

/// The timeline view: the commits (computed on request), the selection, and the row changes
/// of one commit (computed on request).
#[derive(Debug, Default)]
pub struct TimelineState {
    pub data: Option<Arc<TimelineData>>,
    /// A timeline computation is under way.
    pub computing: bool,
    /// Selected entry (index into `data.entries`).
    pub selected: usize,
    pub rows: Option<Arc<CommitRows>>,
    /// The commit whose rows are being computed.
    pub rows_pending: Option<u32>,
    pub offset: Cell<usize>,
    pub height: Cell<usize>,
}

impl TimelineState {
    pub fn selected_number(&self) -> Option<u32> {
        self.data.as_ref()?.entries.get(self.selected)?.number
    }
}

/// Samples for the sparklines, one per second.
#[derive(Debug, Default)]
pub struct History {
    pub wal_bytes: VecDeque<u64>,
    pub commits: VecDeque<u64>,
}

pub const HISTORY_LEN: usize = 600;

/// Samples (seconds) over which the verdict judges whether the WAL grows.
pub const GROWTH_WINDOW: usize = 10;

/// The whole UI state.
#[derive(Debug)]
pub struct App {
    /// The path the user named.
    pub title: String,
    pub interval_ms: u64,
    /// The state on screen.
    pub snap: Option<Arc<Snapshot>>,
    /// The newest state not yet shown (while pinned).
    pub pending: Option<Arc<Snapshot>>,
    /// How many states arrived while pinned, and what changed in them.
    pub queued: u32,
    pub queued_changes: Changes,
    pub pinned: bool,
    pub view: ViewKind,
    pub help: bool,
    pub prompt: Option<Prompt>,
    pub frames: FramesState,
    pub detail: DetailState,
    pub shm_scroll: usize,
    pub findings_selected: usize,
    /// The last deep check (key `D`), and whether one is running.
    pub deep: Option<Arc<super::forensic::DeepData>>,
    pub deep_running: bool,
    /// First line of the Findings explanation pane shown.
    pub explain_scroll: usize,
    pub locks_scroll: usize,
    /// Lines the Locks view had, and the rows that fitted, at the last draw.
    pub locks_lines: Cell<usize>,
    pub locks_height: Cell<usize>,
    /// Rows of the Findings list and the Shm view that fitted at the last draw.
    pub findings_height: Cell<usize>,
    pub shm_height: Cell<usize>,
    pub timeline: TimelineState,
    /// The event log (newest last, bounded) and its selection.
    pub events: VecDeque<LoggedEvent>,
    pub events_selected: usize,
    /// Keep the newest event selected as events arrive.
    pub events_follow: bool,
    pub events_height: Cell<usize>,
    /// `tui --log FILE`: every event is appended there as a JSON line.
    pub log: Option<std::fs::File>,
    /// The active search.
    pub search: Option<Search>,
    /// The view's main pane fills the screen.
    pub zoom: bool,
    pub help_scroll: usize,
    pub help_height: Cell<usize>,
    /// The event loop should suspend the process (Ctrl-Z).
    pub suspend: bool,
    /// Where the list rows start on screen and which row is first, at the last draw (for mouse
    /// clicks): (y of the first row, index of the first row).
    pub list_origin: Cell<(u16, usize)>,
    /// The screen's width at the last draw (where the tabs are, for mouse clicks).
    pub screen_width: Cell<u16>,
    /// What changed at the last update.
    pub status: String,
    /// When the status line was last replaced; changes arriving sooner wait in
    /// `status_pending` so each message stays readable for [`STATUS_MIN`].
    pub status_at: Option<std::time::Instant>,
    pub status_pending: Changes,
    /// A one-off message (a failed jump, ...), cleared by the next key.
    pub message: Option<String>,
    pub history: History,
    /// Commits seen arriving during the session (across WAL resets).
    pub session_commits: u64,
    pub progress: Option<(u64, u64)>,
    /// Requests for the loader, taken by the event loop.
    pub requests: Vec<Request>,
    pub quit: bool,
}

impl App {
    /// The live findings, then the last deep check's.
    pub fn all_findings(&self) -> Vec<crate::analysis::findings::Finding> {
        let mut v = self.snap.as_ref().map(|s| s.findings.clone()).unwrap_or_default();
        if let Some(d) = &self.deep {
            v.extend(d.findings.iter().cloned());
        }
        v
    }

    pub fn new(title: impl Into<String>, interval_ms: u64) -> Self {
        Self {
            title: title.into(),
            interval_ms,
            snap: None,
            pending: None,
            queued: 0,
            queued_changes: Changes::default(),
            pinned: false,
            view: ViewKind::Overview,
            help: false,
            prompt: None,
            frames: FramesState::default(),
            detail: DetailState::default(),
            shm_scroll: 0,
            findings_selected: 0,
            deep: None,
            deep_running: false,
            explain_scroll: 0,
            locks_scroll: 0,
            locks_lines: Cell::new(0),
            locks_height: Cell::new(0),
            findings_height: Cell::new(0),
            shm_height: Cell::new(0),
            timeline: TimelineState::default(),
            events: VecDeque::new(),
            events_selected: 0,
            events_follow: true,
            events_height: Cell::new(0),
            log: None,
            search: None,
            zoom: false,
            help_scroll: 0,
            help_height: Cell::new(0),
            suspend: false,
            list_origin: Cell::new((0, 0)),
            screen_width: Cell::new(80),
            status: "loading".into(),
            status_at: None,
            status_pending: Changes::default(),
            message: None,
            history: History::default(),
            session_commits: 0,
            progress: None,
            requests: Vec::new(),
            quit: false,
        }
    }

    pub fn wal(&self) -> Option<&WalAnalysis> {
        self.snap.as_ref().and_then(|s| s.analysis.wal.as_ref())
    }

    /// The verdict on the state on screen (`live::verdict`), with the WAL's growth over the
    /// last [`GROWTH_WINDOW`] samples.
    pub fn verdict(&self) -> Option<crate::live::verdict::Verdict> {
        let s = self.snap.as_ref()?;
        let h = &self.history.wal_bytes;
        let growing = (h.len() > GROWTH_WINDOW).then(|| {
            let now = h.back().copied().unwrap_or(0);
            let then = h.get(h.len() - 1 - GROWTH_WINDOW).copied().unwrap_or(now);
            now > then
        });
        Some(crate::live::verdict::verdict(&s.analysis, &s.findings, s.live.as_deref(), growing))
    }

    pub fn frame_record(&self, frame: u32) -> Option<&FrameRecord> {
        self.wal().and_then(|w| w.frame(frame))
    }

    pub fn mode(&self) -> InputMode {
        if self.prompt.is_some() {
            InputMode::Prompt
        } else if self.help {
            InputMode::Help
        } else {
            InputMode::Normal
        }
    }

    /// Handle one event.
    pub fn handle(&mut self, ev: Event) {
        match ev {
            Event::Key(k) => {
                if let Some(a) = action_for(k, self.mode()) {
                    self.apply(a);
                }
            }
            Event::Resize => {}
            Event::Mouse(m) => self.mouse(m),
            Event::Snapshot(s) => self.receive(s),
            Event::Progress { done, total } => self.progress = Some((done, total)),
            Event::Frame { frame, result } => {
                if frame == self.detail.frame {
                    self.detail.bytes = Some(result);
                }
            }
            Event::FrameOwner(f) => {
                if f.frame == self.detail.frame {
                    self.detail.owner = Some(f);
                }
            }
            Event::Timeline(t) => {
                self.timeline.computing = false;
                let keep = self.timeline.selected_number();
                self.timeline.selected = keep
                    .and_then(|n| t.entries.iter().position(|e| e.number == Some(n)))
                    .unwrap_or(t.entries.len().saturating_sub(1));
                self.timeline.data = Some(t);
            }
            Event::Deep(d) => {
                self.deep_running = false;
                self.status = d.error.clone().unwrap_or_else(|| d.summary.clone());
                self.deep = Some(d);
            }
            Event::CommitRows(r) => {
                if self.timeline.rows_pending == Some(r.number) {
                    self.timeline.rows_pending = None;
                    self.timeline.rows = Some(r);
                }
            }
            Event::Tick => {
                self.sample();
                self.flush_status(false);
            }
            Event::Quit => self.quit = true,
        }
    }

    /// A new state arrived: show it, or queue it while pinned.
    pub fn receive(&mut self, s: Arc<Snapshot>) {
        self.progress = None;
        let base = self.pending.as_ref().or(self.snap.as_ref());
        let ch = base.map_or_else(Changes::default, |old| Changes::between(old, &s));
        let at = events::now_ms();
        let evs = match base {
            Some(old) => events::between(old, &s, &ch, at),
            None => vec![LoggedEvent {
                schema: events::EVENT_SCHEMA,
                at_ms: at,
                kind: "started",
                severity: "info",
                text: format!(
                    "watching {}: {}",
                    crate::format::escape::escape(&self.title),
                    crate::tui::text::severity_counts(&s.findings)
                ),
            }],
        };
        self.record(evs);
        self.session_commits += ch.commits;
        if self.pinned {
            self.queued += 1;
            self.queued_changes.merge(&ch);
            self.pending = Some(s);
        } else {
            if self.snap.is_none() {
                self.set_status("first scan done".into());
            } else {
                self.status_pending.merge(&ch);
                self.flush_status(false);
            }
            self.show(s);
        }
    }

    /// Replace the status line now (or, unless `force`, once the current one was shown for
    /// [`STATUS_MIN`]).
    fn flush_status(&mut self, force: bool) {
        if self.status_pending == Changes::default() {
            return;
        }
        if force || self.status_at.is_none_or(|t| t.elapsed() >= STATUS_MIN) {
            let ch = std::mem::take(&mut self.status_pending);
            self.set_status(ch.describe());
        }
    }

    fn set_status(&mut self, s: String) {
        self.status = s;
        self.status_at = Some(std::time::Instant::now());
    }

    /// Something the operator must see (the demo's writer died): kept on the status line until
    /// the next key, and logged as an event.
    pub fn alert(&mut self, m: String) {
        self.record(vec![LoggedEvent {
            schema: events::EVENT_SCHEMA,
            at_ms: events::now_ms(),
            kind: "alert",
            severity: "warning",
            text: crate::format::escape::escape(&m).into_owned(),
        }]);
        self.set_status(m.clone());
        self.message = Some(m);
    }

    /// Add events to the log (and the log file).
    pub fn record(&mut self, evs: Vec<LoggedEvent>) {
        use std::io::Write as _;
        for e in evs {
            if let Some(f) = &mut self.log
                && let Ok(line) = serde_json::to_string(&e)
            {
                let _ = writeln!(f, "{line}");
            }
            if self.events.len() >= events::MAX_EVENTS {
                self.events.pop_front();
                self.events_selected = self.events_selected.saturating_sub(1);
            }
            self.events.push_back(e);
        }
        if self.events_follow {
            self.events_selected = self.events.len().saturating_sub(1);
        }
    }

    fn show(&mut self, s: Arc<Snapshot>) {
        let first = self.snap.is_none();
        self.snap = Some(s);
        let snap = self.snap.clone();
        self.frames.refilter(snap.as_ref().and_then(|s| s.analysis.wal.as_ref()));
        let n = self.wal().map_or(0, |w| w.frames.len() as u32);
        if first || self.frames.selected == 0 {
            self.frames.selected = n.min(1);
        }
        self.frames.selected = self.frames.selected.min(n);
        let nf = self.snap.as_ref().map_or(0, |s| s.findings.len());
        self.findings_selected = self.findings_selected.min(nf.saturating_sub(1));
        // Re-read the frame in the detail view when its slot changed.
        if self.detail.frame != 0 {
            let on_disk = self.detail.bytes.as_ref().and_then(|b| b.as_ref().ok()).map(|b| b.header);
            let now = self.frame_record(self.detail.frame).map(|r| r.header);
            if on_disk != now {
                self.load_detail(self.detail.frame);
            }
        }
    }

    /// Record a history sample (once a second).
    pub fn sample(&mut self) {
        let latest = self.pending.as_ref().or(self.snap.as_ref());
        let wal = latest.and_then(|s| s.file(crate::source::FileKind::Wal).stamp).map_or(0, |s| s.len);
        push_bounded(&mut self.history.wal_bytes, wal);
        push_bounded(&mut self.history.commits, self.session_commits);
    }

    fn load_detail(&mut self, frame: u32) {
        self.detail.frame = frame;
        self.detail.bytes = None;
        self.detail.owner = None;
        self.requests.push(Request::Frame(frame));
    }

    fn open_detail(&mut self, frame: u32) {
        if frame == 0 || self.frame_record(frame).is_none() {
            self.message = Some("no frame to show".into());
            return;
        }
        if frame != self.detail.frame || self.detail.bytes.is_none() {
            self.detail.scroll = 0;
            self.load_detail(frame);
        }
        self.frames.selected = frame;
        self.view = ViewKind::Detail;
    }

    /// Apply one action.
    pub fn apply(&mut self, a: Action) {
        self.message = None;
        if self.help && self.prompt.is_none() {
            let page = self.help_height.get().saturating_sub(1).max(1) as i64;
            let d = match a {
                Action::Up => -1,
                Action::Down => 1,
                Action::PageUp => -page,
                Action::PageDown => page,
                Action::Top => i64::MIN / 2,
                Action::Bottom => i64::MAX / 2,
                _ => 0,
            };
            if d != 0 {
                // The draw clamps to what there is to scroll.
                self.help_scroll = (self.help_scroll as i64).saturating_add(d).clamp(0, 1000) as usize;
                return;
            }
        }
        let page = self.page_len();
        match a {
            Action::Quit => self.quit = true,
            Action::Back => {
                if self.prompt.take().is_some() || std::mem::take(&mut self.help) {
                } else if self.search.take().is_some() {
                    self.message = Some("search cleared".into());
                } else if self.zoom {
                    self.zoom = false;
                } else if self.view == ViewKind::Detail {
                    self.view = ViewKind::Frames;
                } else if self.view == ViewKind::Timeline {
                    self.timeline.rows = None;
                    self.timeline.rows_pending = None;
                }
            }
            Action::ToggleHelp => {
                self.help = !self.help;
                self.help_scroll = 0;
            }
            Action::NextView => self.switch(self.view.next()),
            Action::PrevView => self.switch(self.view.prev()),
            Action::ShowView(v) => self.switch(v),
            Action::Up => self.move_by(-1),
            Action::Down => self.move_by(1),
            Action::PageUp => self.move_by(-(page as i64)),
            Action::PageDown => self.move_by(page as i64),
            Action::Top => self.move_by(i64::MIN / 2),
            Action::Bottom => self.move_by(i64::MAX / 2),
            Action::Left | Action::Right => {
                let d: i64 = if a == Action::Left { -1 } else { 1 };
                match self.view {
                    ViewKind::Detail => {
                        let next = i64::from(self.detail.frame) + d;
                        let n = self.wal().map_or(0, |w| w.frames.len() as i64);
                        if (1..=n).contains(&next) {
                            self.detail.scroll = 0;
                            self.open_detail(next as u32);
                        }
                    }
                    _ => self.move_by(d),
                }
            }
            Action::Open => match self.view {
                ViewKind::Frames | ViewKind::Overview => self.open_detail(self.frames.selected),
                ViewKind::Findings => {
                    let f = self.all_findings().get(self.findings_selected).and_then(|f| f.frame);
                    match f {
                        Some(f) => self.go_to_frame(f),
                        None => self.message = Some("this finding names no frame".into()),
                    }
                }
                ViewKind::Timeline => self.request_rows(),
                _ => {}
            },
            Action::RefreshTimeline => self.request_timeline(),
            Action::RunDeep => {
                if !self.deep_running {
                    self.deep_running = true;
                    self.requests.push(Request::Deep);
                }
                self.message = Some("deep check running in the background; its findings appear in Findings".into());
                self.view = ViewKind::Findings;
            }
            Action::NextCommit => {
                if self.search.is_some() {
                    self.search_step(true, false)
                } else {
                    self.step_commit(true)
                }
            }
            Action::PrevCommit => {
                if self.search.is_some() {
                    self.search_step(false, false)
                } else {
                    self.step_commit(false)
                }
            }
            Action::StartJump => self.prompt = Some(Prompt { kind: PromptKind::Jump, input: String::new() }),
            Action::StartSearch => {
                let input = self.search.as_ref().map(|s| s.query.clone()).unwrap_or_default();
                self.prompt = Some(Prompt { kind: PromptKind::Search, input });
            }
            Action::ToggleZoom => self.zoom = !self.zoom,
            Action::Suspend => self.suspend = true,
            Action::DetailDown => self.explain_scroll = self.explain_scroll.saturating_add(1).min(200),
            Action::DetailUp => self.explain_scroll = self.explain_scroll.saturating_sub(1),
            Action::StartPageFilter => {
                let input = self.frames.page_filter.map(|p| p.to_string()).unwrap_or_default();
                self.prompt = Some(Prompt { kind: PromptKind::PageFilter, input });
            }
            Action::CycleStateFilter => {
                self.frames.state_filter = match self.frames.state_filter {
                    None => Some(FrameState::Committed),
                    Some(FrameState::Committed) => Some(FrameState::Uncommitted),
                    Some(FrameState::Uncommitted) => Some(FrameState::Invalid),
                    Some(FrameState::Invalid) => Some(FrameState::Stale),
                    Some(FrameState::Stale) => None,
                };
                self.after_filter();
                if self.view != ViewKind::Frames {
                    self.view = ViewKind::Frames;
                }
            }
            Action::TogglePin => self.toggle_pin(),
            Action::Rescan => {
                self.requests.push(Request::Rescan);
                self.set_status("re-reading everything".into());
            }
            Action::Input(c) => {
                if let Some(p) = &mut self.prompt
                    && p.input.chars().count() < 64
                {
                    p.input.push(c);
                }
            }
            Action::Erase => {
                if let Some(p) = &mut self.prompt {
                    p.input.pop();
                }
            }
            Action::Submit => {
                if let Some(p) = self.prompt.take() {
                    self.submit(p);
                }
            }
        }
    }

    fn switch(&mut self, v: ViewKind) {
        if v == ViewKind::Detail && self.detail.frame == 0 {
            self.open_detail(self.frames.selected);
            return;
        }
        if v == ViewKind::Timeline && self.timeline.data.is_none() && !self.timeline.computing {
            self.request_timeline();
        }
        self.view = v;
    }

    /// Ask for the timeline at the newest state (a worker computes it; not on every refresh).
    fn request_timeline(&mut self) {
        if self.snap.is_none() {
            return;
        }
        self.timeline.computing = true;
        self.requests.push(Request::Timeline);
        self.view = ViewKind::Timeline;
    }

    /// Ask for the row changes of the selected commit.
    fn request_rows(&mut self) {
        match self.timeline.selected_number() {
            Some(n) => {
                if self.timeline.rows.as_ref().is_some_and(|r| r.number == n) || self.timeline.rows_pending == Some(n) {
                    return;
                }
                self.timeline.rows = None;
                self.timeline.rows_pending = Some(n);
                self.requests.push(Request::CommitRows(n));
            }
            None if self.timeline.data.is_some() => {
                self.message = Some("row changes are shown for committed transactions only".into())
            }
            None => {}
        }
    }

    fn toggle_pin(&mut self) {
        self.pinned = !self.pinned;
        if self.pinned {
            self.set_status("pinned: updates queue until p is pressed again".into());
        } else {
            let ch = std::mem::take(&mut self.queued_changes);
            let n = std::mem::take(&mut self.queued);
            self.set_status(if n == 0 {
                "live again, nothing changed".into()
            } else {
                format!("live again: {} ({n} updates)", ch.describe())
            });
            if let Some(s) = self.pending.take() {
                self.show(s);
            }
        }
    }

    /// Rows a page moves: the visible height of the view's list at the last draw.
    fn page_len(&self) -> usize {
        let h = match self.view {
            ViewKind::Detail => self.detail.height.get(),
            ViewKind::Timeline => self.timeline.height.get(),
            ViewKind::Locks => self.locks_height.get(),
            ViewKind::Findings => self.findings_height.get(),
            ViewKind::Shm => self.shm_height.get(),
            ViewKind::Events => self.events_height.get(),
            ViewKind::Frames | ViewKind::Overview => self.frames.height.get(),
        };
        h.saturating_sub(1).max(1)
    }

    fn move_by(&mut self, d: i64) {
        let clamp = |cur: usize, len: usize| -> usize {
            if len == 0 {
                return 0;
            }
            (cur as i64).saturating_add(d).clamp(0, len as i64 - 1) as usize
        };
        match self.view {
            ViewKind::Frames | ViewKind::Overview => {
                let len = self.frames.len(self.wal());
                if len == 0 {
                    return;
                }
                let row = clamp(self.frames.position(), len);
                if let Some(f) = self.frames.frame_at(row) {
                    self.frames.selected = f;
                }
            }
            ViewKind::Detail => {
                let lines =
                    self.detail.bytes.as_ref().and_then(|b| b.as_ref().ok()).map_or(0, |b| b.page.len().div_ceil(16));
                self.detail.scroll = clamp(self.detail.scroll, lines);
            }
            ViewKind::Shm => {
                let n = self
                    .snap
                    .as_ref()
                    .and_then(|s| s.analysis.shm.as_ref())
                    .map_or(0, |s| s.segments.len() + s.mismatches.len().min(50));
                self.shm_scroll = clamp(self.shm_scroll, n.max(1));
            }
            ViewKind::Findings => {
                let n = self.snap.as_ref().map_or(0, |s| s.findings.len())
                    + self.deep.as_ref().map_or(0, |d| d.findings.len());
                let before = self.findings_selected;
                self.findings_selected = clamp(self.findings_selected, n);
                if before != self.findings_selected {
                    self.explain_scroll = 0;
                }
            }
            ViewKind::Locks => {
                // Scroll by lines, as far as the last line reaching the bottom (from the last draw).
                let max = self.locks_lines.get().saturating_sub(self.locks_height.get()) + 1;
                self.locks_scroll = clamp(self.locks_scroll.min(max - 1), max);
            }
            ViewKind::Events => {
                let n = self.events.len();
                self.events_selected = clamp(self.events_selected, n);
                self.events_follow = n == 0 || self.events_selected + 1 == n;
            }
            ViewKind::Timeline => {
                let n = self.timeline.data.as_ref().map_or(0, |t| t.entries.len());
                let before = self.timeline.selected;
                self.timeline.selected = clamp(self.timeline.selected, n);
                if self.timeline.selected != before {
                    self.timeline.rows = None;
                    self.timeline.rows_pending = None;
                }
            }
        }
    }

    fn after_filter(&mut self) {
        let snap = self.snap.clone();
        self.frames.refilter(snap.as_ref().and_then(|s| s.analysis.wal.as_ref()));
        if let Some(rows) = &self.frames.rows {
            let pos = self.frames.position();
            self.frames.selected = rows.get(pos).copied().unwrap_or(0);
        } else if self.frames.selected == 0 {
            self.frames.selected = self.wal().map_or(0, |w| (w.frames.len() as u32).min(1));
        }
    }

    fn go_to_frame(&mut self, f: u32) {
        if self.frame_record(f).is_none() {
            self.message = Some(format!("there is no frame {f}"));
            return;
        }
        if self.frames.rows.as_ref().is_some_and(|r| r.binary_search(&f).is_err()) {
            self.frames.state_filter = None;
            self.frames.page_filter = None;
            self.after_filter();
        }
        self.frames.selected = f;
        if self.view != ViewKind::Detail {
            self.view = ViewKind::Frames;
        } else {
            self.open_detail(f);
        }
    }

    fn step_commit(&mut self, forward: bool) {
        let Some(w) = self.wal() else { return };
        let cur = self.frames.selected;
        let is_commit = |f: &&FrameRecord| {
            f.header.is_commit() && self.frames.rows.as_ref().is_none_or(|r| r.binary_search(&f.index).is_ok())
        };
        let found = if forward {
            w.frames.iter().skip(cur as usize).find(is_commit)
        } else {
            w.frames.iter().take((cur as usize).saturating_sub(1)).rev().find(is_commit)
        }
        .map(|f| f.index);
        match found {
            Some(f) => {
                self.frames.selected = f;
                if self.view == ViewKind::Detail {
                    self.open_detail(f);
                } else if self.view != ViewKind::Frames {
                    self.view = ViewKind::Frames;
                }
            }
            None => self.message = Some(format!("no {} commit frame", if forward { "later" } else { "earlier" })),
        }
    }

    fn submit(&mut self, p: Prompt) {
        match p.kind {
            PromptKind::PageFilter => {
                let t = p.input.trim();
                if t.is_empty() {
                    self.frames.page_filter = None;
                } else if let Ok(n) = t.trim_start_matches(['p', 'P']).trim().parse() {
                    self.frames.page_filter = Some(n);
                } else {
                    self.message = Some(format!("not a page number: {t}"));
                    return;
                }
                self.after_filter();
                self.view = ViewKind::Frames;
            }
            PromptKind::Search => {
                let q = p.input.trim().to_lowercase();
                if q.is_empty() {
                    self.search = None;
                    return;
                }
                let view = match self.view {
                    v @ (ViewKind::Findings | ViewKind::Detail | ViewKind::Locks | ViewKind::Events) => v,
                    _ => ViewKind::Findings,
                };
                self.search = Some(Search { query: q, view });
                self.view = view;
                self.search_step(true, true);
            }
            PromptKind::Jump => match parse_jump(&p.input) {
                None => self.message = Some(format!("cannot jump to {:?}: try 123, p42 or c7", p.input)),
                Some(Jump::Frame(f)) => self.go_to_frame(f),
                Some(Jump::Commit(c)) => {
                    let f = self.wal().and_then(|w| w.commits.get((c as usize).checked_sub(1)?)).map(|c| c.frame);
                    match f {
                        Some(f) => self.go_to_frame(f),
                        None => self.message = Some(format!("there is no commit {c}")),
                    }
                }
                Some(Jump::Page(pg)) => {
                    let Some(w) = self.wal() else { return };
                    let cur = self.frames.selected as usize;
                    let hit = w
                        .frames
                        .iter()
                        .skip(cur)
                        .chain(w.frames.iter().take(cur))
                        .find(|f| f.header.page == pg)
                        .map(|f| f.index);
                    match hit {
                        Some(f) => self.go_to_frame(f),
                        None => self.message = Some(format!("no frame holds page {pg}")),
                    }
                }
            },
        }
    }
}

impl App {
    /// The searchable lines of `view` (lowercase), in display order.
    pub fn search_lines(&self, view: ViewKind) -> Vec<String> {
        match view {
            ViewKind::Findings => self
                .snap
                .as_ref()
                .map(|s| s.findings.iter().map(|f| format!("{} {} {}", f.severity.name(), f.code, f.message)).collect())
                .unwrap_or_default(),
            ViewKind::Detail => self
                .detail
                .owner
                .as_ref()
                .and_then(|o| o.cells.as_ref())
                .map(|c| {
                    c.iter()
                        .map(|c| {
                            let vals: Vec<String> = c.values.iter().map(|v| v.to_string()).collect();
                            format!(
                                "#{} rowid {} {}",
                                c.index,
                                c.rowid.map_or(String::new(), |r| r.to_string()),
                                vals.join(" | ")
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
            ViewKind::Locks => self
                .snap
                .as_ref()
                .and_then(|s| s.locks.as_ref())
                .map(|r| {
                    crate::tui::text::locks_lines(r, 200)
                        .iter()
                        .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect::<String>())
                        .collect()
                })
                .unwrap_or_default(),
            ViewKind::Events => {
                self.events.iter().map(|e| format!("{} {} {}", events::clock(e.at_ms), e.kind, e.text)).collect()
            }
            _ => Vec::new(),
        }
        .into_iter()
        .map(|l| l.to_lowercase())
        .collect()
    }

    /// The current position in the searched view.
    fn search_position(&self, view: ViewKind) -> usize {
        match view {
            ViewKind::Findings => self.findings_selected,
            ViewKind::Detail => self.detail.cell_first,
            ViewKind::Locks => self.locks_scroll,
            ViewKind::Events => self.events_selected,
            _ => 0,
        }
    }

    /// Move to the next (or previous) match of the search; `from_here` includes the current
    /// position (a new search).
    fn search_step(&mut self, forward: bool, from_here: bool) {
        let Some(s) = self.search.clone() else { return };
        let lines = self.search_lines(s.view);
        let hits: Vec<usize> = lines.iter().enumerate().filter(|(_, l)| l.contains(&s.query)).map(|(i, _)| i).collect();
        if hits.is_empty() {
            self.message = Some(format!("no match for /{} in {}", s.query, s.view.title()));
            return;
        }
        let cur = self.search_position(s.view);
        let found = if forward {
            hits.iter().find(|&&i| if from_here { i >= cur } else { i > cur }).or(hits.first())
        } else {
            hits.iter().rev().find(|&&i| i < cur).or(hits.last())
        };
        let Some(&i) = found else { return };
        self.view = s.view;
        match s.view {
            ViewKind::Findings => {
                self.findings_selected = i;
                self.explain_scroll = 0;
            }
            ViewKind::Detail => self.detail.cell_first = i,
            ViewKind::Locks => self.locks_scroll = i,
            ViewKind::Events => {
                self.events_selected = i;
                self.events_follow = false;
            }
            _ => {}
        }
        let k = hits.iter().position(|&h| h == i).map_or(0, |p| p + 1);
        self.message = Some(format!("/{}: match {k} of {} (n/N next/previous, Esc clears)", s.query, hits.len()));
    }

    /// A mouse event: the wheel scrolls, a click on the tab bar switches views, a click on a
    /// list row selects it.
    fn mouse(&mut self, m: crossterm::event::MouseEvent) {
        use crossterm::event::{MouseButton, MouseEventKind};
        match m.kind {
            MouseEventKind::ScrollDown => {
                if self.help {
                    self.help_scroll = self.help_scroll.saturating_add(3).min(1000);
                } else {
                    self.move_by(3);
                }
            }
            MouseEventKind::ScrollUp => {
                if self.help {
                    self.help_scroll = self.help_scroll.saturating_sub(3);
                } else {
                    self.move_by(-3);
                }
            }
            MouseEventKind::Down(MouseButton::Left) => {
                if self.help || self.prompt.is_some() {
                    return;
                }
                if m.row == TABS_ROW {
                    if let Some(v) = crate::tui::text::tab_at(self.view, self.screen_width.get(), m.column) {
                        self.switch(v);
                    }
                    return;
                }
                let (y0, first) = self.list_origin.get();
                if m.row < y0 {
                    return;
                }
                let row = first + usize::from(m.row - y0);
                match self.view {
                    ViewKind::Frames => {
                        if let Some(f) = self.frames.frame_at(row).filter(|&f| self.frame_record(f).is_some()) {
                            self.frames.selected = f;
                        }
                    }
                    ViewKind::Findings if row < self.snap.as_ref().map_or(0, |s| s.findings.len()) => {
                        self.findings_selected = row;
                        self.explain_scroll = 0;
                    }
                    ViewKind::Events if row < self.events.len() => {
                        self.events_selected = row;
                        self.events_follow = row + 1 == self.events.len();
                    }
                    ViewKind::Timeline if row < self.timeline.data.as_ref().map_or(0, |t| t.entries.len()) => {
                        self.timeline.selected = row;
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
}

/// The screen row of the tab bar (under the header naming the database).
pub const TABS_ROW: u16 = 1;

fn push_bounded(q: &mut VecDeque<u64>, v: u64) {
    if q.len() >= HISTORY_LEN {
        q.pop_front();
    }
    q.push_back(v);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jump_syntax() {
        let cases = [
            ("123", Some(Jump::Frame(123))),
            (" f7 ", Some(Jump::Frame(7))),
            ("frame 9", Some(Jump::Frame(9))),
            ("p42", Some(Jump::Page(42))),
            ("page 3", Some(Jump::Page(3))),
            ("c7", Some(Jump::Commit(7))),
            ("Commit 2", Some(Jump::Commit(2))),
            ("x5", None),
            ("", None),
            ("p", None),
            ("99999999999", None),
        ];
        for (s, want) in cases {
            assert_eq!(parse_jump(s), want, "{s:?}");
        }
    }
}
