//! The one palette: semantic roles (a frame's state, a finding's severity, a heading, a label,
//! ...) and what each looks like, for the text output ([`anstyle`] escape codes, only when
//! colour is on) and for the TUI (ratatui styles). A colour is chosen here and nowhere else.

use anstyle::{AnsiColor, Color as AnsiColour, Effects};
use ratatui::style::{Color, Modifier, Style as TuiStyle};

use crate::analysis::findings::Severity;
use crate::analysis::wal::FrameState;

/// What a piece of text means; the palette decides how it looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Frame states.
    Committed,
    Uncommitted,
    Invalid,
    Stale,
    /// Finding severities.
    Error,
    Warning,
    Info,
    /// A section title.
    Heading,
    /// The name before a value ("page size").
    Label,
    /// Secondary text: paths, the ASCII column, where a finding is.
    Secondary,
    /// Text that matters little: absent, unused, hints, offsets.
    Dim,
    /// A table's column titles.
    ColumnHeader,
    /// All is well ("none", a valid checksum, a current read mark).
    Good,
    /// Something moved or differs, not wrong in itself (notes, an older read mark, a writer).
    Changed,
    /// Wrong (a bad checksum, an error message).
    Bad,
    /// Wrong and important (starvation, an exclusive lock, a read mark past mxFrame).
    Alarm,
    /// Highlight: explanations, gauges, the cursor, backfilled marks.
    Accent,
    /// Strong highlight: keys in the help, object names, the b-tree header bytes.
    Key,
    /// Structure: the database header bytes, sparklines.
    Structure,
    /// The program's name in the tab bar.
    Title,
    /// The "PINNED" badge.
    Pinned,
    /// Text that matches the active `/` search.
    SearchMatch,
    /// The "LIVE" marker.
    Live,
    /// The status line's background.
    StatusBar,
    /// The empty part of a gauge.
    GaugeTrack,
    /// A lock's state (`walinspect locks`, the Locks view).
    LockExclusive,
    LockShared,
    LockFree,
}

#[derive(Clone, Copy)]
enum Hue {
    Red,
    Green,
    Yellow,
    Blue,
    Magenta,
    Cyan,
    Gray,
    DarkGray,
    Black,
    /// A near-black background (the TUI only; plain in text).
    Shade(u8),
}

#[derive(Clone, Copy)]
struct Spec {
    fg: Option<Hue>,
    bg: Option<Hue>,
    bold: bool,
    dim: bool,
    underline: bool,
}

const fn fg(h: Hue) -> Spec {
    Spec { fg: Some(h), bg: None, bold: false, dim: false, underline: false }
}

const fn bold(h: Hue) -> Spec {
    Spec { fg: Some(h), bg: None, bold: true, dim: false, underline: false }
}

const PLAIN: Spec = Spec { fg: None, bg: None, bold: false, dim: false, underline: false };

/// The palette.
const fn spec(r: Role) -> Spec {
    use Hue::*;
    match r {
        Role::Committed | Role::Good => fg(Green),
        Role::Uncommitted | Role::Changed | Role::LockShared => fg(Yellow),
        Role::Invalid | Role::Bad => fg(Red),
        Role::Stale => fg(Magenta),
        Role::Error | Role::Alarm | Role::LockExclusive => bold(Red),
        Role::Warning => bold(Yellow),
        Role::Info | Role::Accent => fg(Cyan),
        Role::Heading => Spec { bold: true, ..PLAIN },
        Role::Label => Spec { dim: true, ..fg(Gray) },
        Role::Secondary => fg(Gray),
        Role::Dim | Role::LockFree => fg(DarkGray),
        Role::ColumnHeader => Spec { underline: true, ..fg(Gray) },
        Role::Key => bold(Cyan),
        Role::Structure => fg(Blue),
        Role::Title => Spec { bg: Some(Cyan), ..bold(Black) },
        Role::Pinned | Role::SearchMatch => Spec { bg: Some(Yellow), ..bold(Black) },
        Role::Live => bold(Green),
        Role::StatusBar => Spec { bg: Some(Shade(30)), ..PLAIN },
        Role::GaugeTrack => Spec { bg: Some(Shade(40)), ..fg(Cyan) },
    }
}

impl Role {
    pub fn of_state(s: FrameState) -> Self {
        match s {
            FrameState::Committed => Self::Committed,
            FrameState::Uncommitted => Self::Uncommitted,
            FrameState::Invalid => Self::Invalid,
            FrameState::Stale => Self::Stale,
        }
    }

    /// A frame state by its JSON name ("committed", ...); `None` for another word.
    pub fn of_state_name(s: &str) -> Option<Self> {
        Some(match s {
            "committed" => Self::Committed,
            "uncommitted" => Self::Uncommitted,
            "invalid" => Self::Invalid,
            "stale" => Self::Stale,
            _ => return None,
        })
    }

    pub fn of_severity(s: Severity) -> Self {
        match s {
            Severity::Error => Self::Error,
            Severity::Warning => Self::Warning,
            Severity::Info => Self::Info,
        }
    }

    /// A severity by its JSON name; anything else is shown as info.
    pub fn of_severity_name(s: &str) -> Self {
        match s {
            "error" => Self::Error,
            "warning" => Self::Warning,
            _ => Self::Info,
        }
    }

    /// A lock's state by its JSON name ("exclusive", "shared", "free", ...).
    pub fn of_lock_state(s: &str) -> Self {
        match s {
            "exclusive" => Self::LockExclusive,
            "shared" => Self::LockShared,
            _ => Self::LockFree,
        }
    }

    /// The role as an ANSI style for the text output.
    pub fn ansi(self) -> anstyle::Style {
        let s = spec(self);
        let mut e = Effects::new();
        if s.bold {
            e |= Effects::BOLD;
        }
        if s.dim {
            e |= Effects::DIMMED;
        }
        if s.underline {
            e |= Effects::UNDERLINE;
        }
        anstyle::Style::new().fg_color(s.fg.and_then(ansi_colour)).bg_color(s.bg.and_then(ansi_colour)).effects(e)
    }

    /// The role as a ratatui style for the TUI.
    pub fn tui(self) -> TuiStyle {
        let s = spec(self);
        let mut t = TuiStyle::new();
        if let Some(c) = s.fg {
            t = t.fg(tui_colour(c));
        }
        if let Some(c) = s.bg {
            t = t.bg(tui_colour(c));
        }
        if s.bold {
            t = t.add_modifier(Modifier::BOLD);
        }
        if s.dim {
            t = t.add_modifier(Modifier::DIM);
        }
        if s.underline {
            t = t.add_modifier(Modifier::UNDERLINED);
        }
        t
    }
}

fn ansi_colour(h: Hue) -> Option<AnsiColour> {
    let c = match h {
        Hue::Red => AnsiColor::Red,
        Hue::Green => AnsiColor::Green,
        Hue::Yellow => AnsiColor::Yellow,
        Hue::Blue => AnsiColor::Blue,
        Hue::Magenta => AnsiColor::Magenta,
        Hue::Cyan => AnsiColor::Cyan,
        Hue::Gray => AnsiColor::White,
        Hue::DarkGray => AnsiColor::BrightBlack,
        Hue::Black => AnsiColor::Black,
        Hue::Shade(_) => return None,
    };
    Some(c.into())
}

fn tui_colour(h: Hue) -> Color {
    match h {
        Hue::Red => Color::Red,
        Hue::Green => Color::Green,
        Hue::Yellow => Color::Yellow,
        Hue::Blue => Color::Blue,
        Hue::Magenta => Color::Magenta,
        Hue::Cyan => Color::Cyan,
        Hue::Gray => Color::Gray,
        Hue::DarkGray => Color::DarkGray,
        Hue::Black => Color::Black,
        Hue::Shade(v) => Color::Rgb(v, v, v),
    }
}

/// Styling of the text output: with `color` off every function returns its text unchanged.
/// Whether colour is on is the command line's decision (`--color`, `NO_COLOR`, a terminal).
#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub color: bool,
}

impl Style {
    /// `s` in the role's look.
    pub fn paint(&self, role: Role, s: &str) -> String {
        let a = role.ansi();
        if self.color && a != anstyle::Style::new() { format!("{a}{s}{a:#}") } else { s.to_string() }
    }
    pub fn bold(&self, s: &str) -> String {
        self.paint(Role::Heading, s)
    }
    pub fn dim(&self, s: &str) -> String {
        if self.color {
            let a = anstyle::Style::new().dimmed();
            format!("{a}{s}{a:#}")
        } else {
            s.to_string()
        }
    }
    /// A severity's name in its colour.
    pub fn severity(&self, sev: &str) -> String {
        self.paint(Role::of_severity_name(sev), sev)
    }
    /// A frame state's name in its colour, not padded (for running text).
    pub fn state_word(&self, st: &str) -> String {
        match Role::of_state_name(st) {
            Some(r) => self.paint(r, st),
            None => st.to_string(),
        }
    }
    /// A frame state, padded to the longest state's width ("uncommitted"), in its colour.
    pub fn state(&self, st: &str) -> String {
        let padded = format!("{st:<11}");
        match Role::of_state_name(st) {
            Some(r) => self.paint(r, &padded),
            None => padded,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_colour_text_is_unchanged() {
        let st = Style { color: false };
        assert_eq!(st.severity("error"), "error");
        assert_eq!(st.state("committed"), "committed  ");
        assert_eq!(st.bold("Files"), "Files");
        assert_eq!(st.dim("(absent)"), "(absent)");
    }

    #[test]
    fn text_and_tui_share_the_palette() {
        let st = Style { color: true };
        // committed = green, in both.
        assert_eq!(st.state("committed"), "\x1b[32mcommitted  \x1b[0m");
        assert_eq!(Role::of_state(FrameState::Committed).tui(), TuiStyle::new().fg(Color::Green));
        // error = bold red, in both.
        assert_eq!(st.severity("error"), "\x1b[1m\x1b[31merror\x1b[0m");
        assert_eq!(Role::Error.tui(), TuiStyle::new().fg(Color::Red).add_modifier(Modifier::BOLD));
        assert_eq!(st.bold("x"), "\x1b[1mx\x1b[0m");
        // A word that is no state is padded, not painted.
        assert_eq!(st.state("other"), "other      ");
    }
}
