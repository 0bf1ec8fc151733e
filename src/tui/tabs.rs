//! The views, as tabs: their order, titles and numbers.

/// The views, in tab order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViewKind {
    Overview,
    Frames,
    Detail,
    Shm,
    Findings,
    Locks,
    Timeline,
    Events,
}

impl ViewKind {
    pub const ALL: [ViewKind; 8] = [
        Self::Overview,
        Self::Frames,
        Self::Detail,
        Self::Shm,
        Self::Findings,
        Self::Locks,
        Self::Timeline,
        Self::Events,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Self::Overview => "Overview",
            Self::Frames => "Frames",
            Self::Detail => "Detail",
            Self::Shm => "-shm",
            Self::Findings => "Findings",
            Self::Locks => "Locks",
            Self::Timeline => "Timeline",
            Self::Events => "Events",
        }
    }
    /// Key hints for the footer: the keys that matter most in this view.
    pub fn hints(self) -> &'static str {
        match self {
            Self::Overview => "Enter frame · Tab views · / search · z zoom",
            Self::Frames => "↑↓ move · Enter open · f/F filter · : jump · n/N commit",
            Self::Detail => "←→ frame · ↑↓ scroll · Esc back · / search cells",
            Self::Shm => "↑↓ scroll · PgUp/PgDn page",
            Self::Findings => "↑↓ select · J/K explanation · Enter frame · / search",
            Self::Locks => "↑↓ scroll · / search · z zoom",
            Self::Timeline => "↑↓ commit · Enter rows · t refresh",
            Self::Events => "↑↓ scroll · G follow · / search",
        }
    }
    pub fn from_number(n: u8) -> Option<Self> {
        Self::ALL.get(usize::from(n).checked_sub(1)?).copied()
    }
    pub fn index(self) -> usize {
        Self::ALL.iter().position(|v| *v == self).unwrap_or(0)
    }
    pub fn next(self) -> Self {
        Self::ALL.get((self.index() + 1) % Self::ALL.len()).copied().unwrap_or(self)
    }
    pub fn prev(self) -> Self {
        Self::ALL.get((self.index() + Self::ALL.len() - 1) % Self::ALL.len()).copied().unwrap_or(self)
    }
}
