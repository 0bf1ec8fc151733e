//! The application state and how events change it. Drawing lives in `views` and only reads
//! this state (`&App`); the only mutation a draw makes is recording how many rows fitted, in
//! `Cell`s, so scrolling can page by what the user sees.

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::Arc;

use super::action::{Action, InputMode, action_for};
use super::changes::Changes;
use super::event::{Event, Request};
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
}

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
    pub locks_scroll: usize,
    pub timeline: TimelineState,
    /// What changed at the last update.
    pub status: String,
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
            locks_scroll: 0,
            timeline: TimelineState::default(),
            status: "loading".into(),
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
            Event::CommitRows(r) => {
                if self.timeline.rows_pending == Some(r.number) {
                    self.timeline.rows_pending = None;
                    self.timeline.rows = Some(r);
                }
            }
            Event::Tick => self.sample(),
            Event::Quit => self.quit = true,
        }
    }

    /// A new state arrived: show it, or queue it while pinned.
    pub fn receive(&mut self, s: Arc<Snapshot>) {
        self.progress = None;
        let base = self.pending.as_ref().or(self.snap.as_ref());
        let ch = base.map_or_else(Changes::default, |old| Changes::between(old, &s));
        self.session_commits += ch.commits;
        if self.pinned {
            self.queued += 1;
            self.queued_changes.merge(&ch);
            self.pending = Some(s);
        } else {
            self.status = if self.snap.is_none() { "first scan done".into() } else { ch.describe() };
            self.show(s);
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
        let page = self.page_len();
        match a {
            Action::Quit => self.quit = true,
            Action::Back => {
                if self.prompt.take().is_some() || std::mem::take(&mut self.help) {
                } else if self.view == ViewKind::Detail {
                    self.view = ViewKind::Frames;
                } else if self.view == ViewKind::Timeline {
                    self.timeline.rows = None;
                    self.timeline.rows_pending = None;
                }
            }
            Action::ToggleHelp => self.help = !self.help,
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
                    let f =
                        self.snap.as_ref().and_then(|s| s.findings.get(self.findings_selected)).and_then(|f| f.frame);
                    match f {
                        Some(f) => self.go_to_frame(f),
                        None => self.message = Some("this finding names no frame".into()),
                    }
                }
                ViewKind::Timeline => self.request_rows(),
                _ => {}
            },
            Action::RefreshTimeline => self.request_timeline(),
            Action::NextCommit => self.step_commit(true),
            Action::PrevCommit => self.step_commit(false),
            Action::StartJump => self.prompt = Some(Prompt { kind: PromptKind::Jump, input: String::new() }),
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
                self.status = "re-reading everything".into();
            }
            Action::Input(c) => {
                if let Some(p) = &mut self.prompt
                    && p.input.len() < 32
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
            self.status = "pinned: updates queue until p is pressed again".into();
        } else {
            let ch = std::mem::take(&mut self.queued_changes);
            let n = std::mem::take(&mut self.queued);
            self.status = if n == 0 {
                "live again, nothing changed".into()
            } else {
                format!("live again: {} ({n} updates)", ch.describe())
            };
            if let Some(s) = self.pending.take() {
                self.show(s);
            }
        }
    }

    /// Rows a page moves, from what the last draw showed.
    fn page_len(&self) -> usize {
        let h = match self.view {
            ViewKind::Detail => self.detail.height.get(),
            ViewKind::Timeline => self.timeline.height.get(),
            _ => self.frames.height.get(),
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
                let n = self.snap.as_ref().map_or(0, |s| s.findings.len());
                self.findings_selected = clamp(self.findings_selected, n);
            }
            ViewKind::Locks => {
                // Scroll by lines; the draw clamps to what there is.
                self.locks_scroll = clamp(self.locks_scroll, 200);
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
