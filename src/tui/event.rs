//! What reaches the UI thread ([`Event`]) and what it asks of the loader ([`Request`]): the
//! only types the UI, the loader and the workers share.

use std::sync::Arc;

use crossterm::event::KeyEvent;

use super::forensic::{CommitRows, FrameForensics, Outcome, TimelineData};
use super::watcher::{FrameBytes, Snapshot};

/// What reaches the UI thread.
#[derive(Debug)]
pub enum Event {
    Key(KeyEvent),
    /// The terminal was resized (the next draw adapts).
    Resize,
    /// A mouse event (wheel, click).
    Mouse(crossterm::event::MouseEvent),
    /// A new state of the files.
    Snapshot(Arc<Snapshot>),
    /// The first scan of a big WAL is under way.
    Progress {
        done: u64,
        total: u64,
    },
    /// A frame read on request.
    Frame {
        frame: u32,
        result: Result<FrameBytes, Arc<std::io::Error>>,
    },
    /// The owner and decoded cells of a frame's page (after `Frame`).
    FrameOwner(Arc<FrameForensics>),
    /// The per-commit timeline, computed on request.
    Timeline(Arc<TimelineData>),
    /// One commit's row changes, computed on request.
    CommitRows(Arc<CommitRows>),
    /// The deep check of the newest state, computed on request.
    Deep(Arc<super::forensic::DeepData>),
    /// Once a second, for the history sparklines.
    Tick,
    /// A signal asked us to stop.
    Quit,
}

/// What the UI asks the loader for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    Frame(u32),
    Rescan,
    /// Compute the timeline at the newest state.
    Timeline,
    /// Compute the row changes of this commit.
    CommitRows(u32),
    /// Run the deep check of the newest state.
    Deep,
}

impl From<Outcome> for Event {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::FrameOwner(f) => Self::FrameOwner(f),
            Outcome::Timeline(t) => Self::Timeline(t),
            Outcome::CommitRows(r) => Self::CommitRows(r),
            Outcome::Deep(d) => Self::Deep(d),
        }
    }
}
