//! Keys to actions: a pure function, and the key table the help view shows.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::tabs::ViewKind;

/// Everything a key can ask for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Quit,
    /// Close the help, the prompt, or go back from the frame detail.
    Back,
    ToggleHelp,
    NextView,
    PrevView,
    ShowView(ViewKind),
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    /// Previous / next frame (in the detail view) or segment/finding.
    Left,
    Right,
    /// Open the selected frame (Frames), jump to the finding's frame (Findings).
    Open,
    /// `n`: the next search match while a search is active, else the next commit frame.
    NextCommit,
    /// `N`: the previous search match while a search is active, else the previous commit frame.
    PrevCommit,
    /// Open the jump prompt (`123` frame, `p42` page, `c7` commit).
    StartJump,
    /// Open the search prompt (`/`): text search in the view's findings, cells, locks or events.
    StartSearch,
    /// Maximise the view's main pane (`z`), again to restore.
    ToggleZoom,
    /// Suspend to the shell (Ctrl-Z); `fg` comes back.
    Suspend,
    /// Scroll the secondary pane (the Findings explanation): `J` / `K`.
    DetailDown,
    DetailUp,
    /// Open the page-filter prompt.
    StartPageFilter,
    /// Cycle the state filter: all, committed, uncommitted, invalid, stale.
    CycleStateFilter,
    TogglePin,
    /// Re-read all three files from scratch.
    Rescan,
    /// Recompute the timeline at the newest state (and show it).
    RefreshTimeline,
    /// Run the deep check of the newest state in the background (shown in Findings).
    RunDeep,
    /// Prompt editing.
    Input(char),
    Erase,
    Submit,
}

/// What the keyboard is talking to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputMode {
    Normal,
    /// A prompt is open: keys edit it.
    Prompt,
    /// The help is shown: arrows, j/k, PgUp/PgDn, g/G scroll it; `q` quits; other keys close it.
    Help,
}

/// The action for a key, if any. Only presses count (not repeats' releases).
pub fn action_for(key: KeyEvent, mode: InputMode) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && matches!(key.code, KeyCode::Char('c')) {
        return Some(Action::Quit);
    }
    match mode {
        InputMode::Prompt => match key.code {
            KeyCode::Esc => Some(Action::Back),
            KeyCode::Enter => Some(Action::Submit),
            KeyCode::Backspace => Some(Action::Erase),
            KeyCode::Char(c) if !ctrl => Some(Action::Input(c)),
            _ => None,
        },
        InputMode::Help => match key.code {
            KeyCode::Char('q') => Some(Action::Quit),
            KeyCode::Up | KeyCode::Char('k') => Some(Action::Up),
            KeyCode::Down | KeyCode::Char('j') => Some(Action::Down),
            KeyCode::PageUp => Some(Action::PageUp),
            KeyCode::PageDown | KeyCode::Char(' ') => Some(Action::PageDown),
            KeyCode::Home | KeyCode::Char('g') => Some(Action::Top),
            KeyCode::End | KeyCode::Char('G') => Some(Action::Bottom),
            _ => Some(Action::Back),
        },
        InputMode::Normal => normal(key.code, ctrl),
    }
}

fn normal(code: KeyCode, ctrl: bool) -> Option<Action> {
    use Action::*;
    if ctrl {
        return match code {
            KeyCode::Char('f') | KeyCode::Char('d') => Some(PageDown),
            KeyCode::Char('b') | KeyCode::Char('u') => Some(PageUp),
            KeyCode::Char('n') => Some(Down),
            KeyCode::Char('p') => Some(Up),
            KeyCode::Char('z') => Some(Suspend),
            _ => None,
        };
    }
    Some(match code {
        KeyCode::Char('q') => Quit,
        KeyCode::Esc | KeyCode::Backspace => Back,
        KeyCode::Char('?') | KeyCode::F(1) => ToggleHelp,
        KeyCode::Tab => NextView,
        KeyCode::BackTab => PrevView,
        KeyCode::Char(c @ '1'..='8') => ShowView(ViewKind::from_number(c as u8 - b'0')?),
        KeyCode::Up | KeyCode::Char('k') => Up,
        KeyCode::Down | KeyCode::Char('j') => Down,
        KeyCode::PageUp => PageUp,
        KeyCode::PageDown | KeyCode::Char(' ') => PageDown,
        KeyCode::Home | KeyCode::Char('g') => Top,
        KeyCode::End | KeyCode::Char('G') => Bottom,
        KeyCode::Left | KeyCode::Char('h') | KeyCode::Char('[') => Left,
        KeyCode::Right | KeyCode::Char('l') | KeyCode::Char(']') => Right,
        KeyCode::Enter => Open,
        KeyCode::Char('n') => NextCommit,
        KeyCode::Char('N') => PrevCommit,
        KeyCode::Char(':') => StartJump,
        KeyCode::Char('/') => StartSearch,
        KeyCode::Char('z') => ToggleZoom,
        KeyCode::Char('J') => DetailDown,
        KeyCode::Char('K') => DetailUp,
        KeyCode::Char('F') => StartPageFilter,
        KeyCode::Char('f') => CycleStateFilter,
        KeyCode::Char('p') => TogglePin,
        KeyCode::Char('r') => Rescan,
        KeyCode::Char('t') => RefreshTimeline,
        KeyCode::Char('D') => RunDeep,
        _ => return None,
    })
}

/// The help: every key, grouped. Each key named here is checked by a test to do something.
pub const KEYS: &[(&str, &str)] = &[
    ("q  Ctrl-C", "quit (the terminal is restored)"),
    ("?  F1", "this help (↑↓ PgUp PgDn scroll it; other keys close it)"),
    ("Tab  Shift-Tab", "next / previous view"),
    ("1 2 3 4 5 6 7 8", "Overview, Frames, Frame detail, -shm, Findings, Locks, Timeline, Events"),
    ("↑ ↓  k j  Ctrl-P Ctrl-N", "move the selection / scroll"),
    ("PgUp PgDn  Ctrl-B Ctrl-F  Space", "a page (the visible height) up / down"),
    ("Home End  g G", "first / last (G in Events: follow new events)"),
    ("← →  h l  [ ]", "previous / next frame in the detail view"),
    ("Enter", "open the selected frame; on a finding, go to its frame; on a commit, its row changes"),
    ("Esc  Backspace", "back: close help or prompt, clear the search, leave the detail view"),
    ("/", "search text in the view: findings, cells (detail), locks, events; elsewhere the findings"),
    ("n  N", "next / previous search match; without a search, next / previous commit frame"),
    (":", "jump: 123 = frame 123, p42 = next frame of page 42, c7 = commit 7"),
    ("J  K", "scroll the Findings explanation down / up"),
    ("z", "zoom: the view's main pane fills the screen (again to restore)"),
    ("Ctrl-Z", "suspend to the shell (fg resumes)"),
    ("f", "filter frames by state: all, committed, uncommitted, invalid, stale"),
    ("F", "filter frames by page (empty = no page filter)"),
    ("p", "pin: hold the current state while updates queue; again to catch up"),
    ("r", "re-read all three files from scratch"),
    ("t", "timeline: recompute it at the newest state"),
    ("D", "deep check of the newest state (like PRAGMA integrity_check), in the background: Findings"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }
    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }
    fn ch(c: char) -> KeyEvent {
        key(KeyCode::Char(c))
    }

    #[test]
    fn key_table() {
        let n = InputMode::Normal;
        let cases: Vec<(KeyEvent, InputMode, Option<Action>)> = vec![
            (ch('q'), n, Some(Quit)),
            (ctrl('c'), n, Some(Quit)),
            (ctrl('c'), InputMode::Prompt, Some(Quit)),
            (ctrl('c'), InputMode::Help, Some(Quit)),
            (ch('?'), n, Some(ToggleHelp)),
            (key(KeyCode::F(1)), n, Some(ToggleHelp)),
            (key(KeyCode::Tab), n, Some(NextView)),
            (key(KeyCode::BackTab), n, Some(PrevView)),
            (ch('1'), n, Some(ShowView(ViewKind::Overview))),
            (ch('2'), n, Some(ShowView(ViewKind::Frames))),
            (ch('3'), n, Some(ShowView(ViewKind::Detail))),
            (ch('4'), n, Some(ShowView(ViewKind::Shm))),
            (ch('5'), n, Some(ShowView(ViewKind::Findings))),
            (ch('6'), n, Some(ShowView(ViewKind::Locks))),
            (ch('7'), n, Some(ShowView(ViewKind::Timeline))),
            (ch('8'), n, Some(ShowView(ViewKind::Events))),
            (ch('9'), n, None),
            (ch('t'), n, Some(RefreshTimeline)),
            (ch('D'), n, Some(RunDeep)),
            (ch('t'), InputMode::Prompt, Some(Input('t'))),
            (key(KeyCode::Up), n, Some(Up)),
            (ch('k'), n, Some(Up)),
            (ctrl('p'), n, Some(Up)),
            (key(KeyCode::Down), n, Some(Down)),
            (ch('j'), n, Some(Down)),
            (ctrl('n'), n, Some(Down)),
            (key(KeyCode::PageUp), n, Some(PageUp)),
            (ctrl('b'), n, Some(PageUp)),
            (ctrl('u'), n, Some(PageUp)),
            (key(KeyCode::PageDown), n, Some(PageDown)),
            (ctrl('f'), n, Some(PageDown)),
            (ctrl('d'), n, Some(PageDown)),
            (ch(' '), n, Some(PageDown)),
            (key(KeyCode::Home), n, Some(Top)),
            (ch('g'), n, Some(Top)),
            (key(KeyCode::End), n, Some(Bottom)),
            (ch('G'), n, Some(Bottom)),
            (key(KeyCode::Left), n, Some(Left)),
            (ch('h'), n, Some(Left)),
            (ch('['), n, Some(Left)),
            (key(KeyCode::Right), n, Some(Right)),
            (ch('l'), n, Some(Right)),
            (ch(']'), n, Some(Right)),
            (key(KeyCode::Enter), n, Some(Open)),
            (key(KeyCode::Esc), n, Some(Back)),
            (key(KeyCode::Backspace), n, Some(Back)),
            (ch('n'), n, Some(NextCommit)),
            (ch('N'), n, Some(PrevCommit)),
            (ch('/'), n, Some(StartSearch)),
            (ch(':'), n, Some(StartJump)),
            (ch('f'), n, Some(CycleStateFilter)),
            (ch('F'), n, Some(StartPageFilter)),
            (ch('p'), n, Some(TogglePin)),
            (ch('r'), n, Some(Rescan)),
            (ch('z'), n, Some(ToggleZoom)),
            (ctrl('z'), n, Some(Suspend)),
            (ch('J'), n, Some(DetailDown)),
            (ch('K'), n, Some(DetailUp)),
            // In a prompt, letters are text.
            (ch('q'), InputMode::Prompt, Some(Input('q'))),
            (ch('4'), InputMode::Prompt, Some(Input('4'))),
            (key(KeyCode::Enter), InputMode::Prompt, Some(Submit)),
            (key(KeyCode::Backspace), InputMode::Prompt, Some(Erase)),
            (key(KeyCode::Esc), InputMode::Prompt, Some(Back)),
            (key(KeyCode::Up), InputMode::Prompt, None),
            // In the help, movement keys scroll it, q quits, any other key closes it.
            (ch('j'), InputMode::Help, Some(Down)),
            (key(KeyCode::PageDown), InputMode::Help, Some(PageDown)),
            (ch('x'), InputMode::Help, Some(Back)),
            (ch('?'), InputMode::Help, Some(Back)),
            (ch('q'), InputMode::Help, Some(Quit)),
        ];
        for (k, mode, want) in cases {
            assert_eq!(action_for(k, mode), want, "{k:?} in {mode:?}");
        }
        let mut release = ch('q');
        release.kind = KeyEventKind::Release;
        assert_eq!(action_for(release, InputMode::Normal), None);
    }

    /// Every single-character key the help names does something.
    #[test]
    fn every_key_in_the_help_is_bound() {
        for (keys, what) in KEYS {
            for k in keys.split_whitespace() {
                let ev = match k {
                    "Tab" => key(KeyCode::Tab),
                    "Shift-Tab" => key(KeyCode::BackTab),
                    "Enter" => key(KeyCode::Enter),
                    "Esc" => key(KeyCode::Esc),
                    "Backspace" => key(KeyCode::Backspace),
                    "PgUp" => key(KeyCode::PageUp),
                    "PgDn" => key(KeyCode::PageDown),
                    "Home" => key(KeyCode::Home),
                    "End" => key(KeyCode::End),
                    "Space" => key(KeyCode::Char(' ')),
                    "F1" => key(KeyCode::F(1)),
                    "↑" => key(KeyCode::Up),
                    "↓" => key(KeyCode::Down),
                    "←" => key(KeyCode::Left),
                    "→" => key(KeyCode::Right),
                    _ if k.starts_with("Ctrl-") => ctrl(k.chars().last().unwrap().to_ascii_lowercase()),
                    _ if k.chars().count() == 1 => ch(k.chars().next().unwrap()),
                    _ => panic!("help names an unknown key {k:?} ({what})"),
                };
                assert!(action_for(ev, InputMode::Normal).is_some(), "{k} ({what}) does nothing");
            }
        }
    }
}
