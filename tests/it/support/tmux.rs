//! The real binary in a tmux session, driven and read as a person would: the end-to-end TUI
//! tests (`tui_live`, `tui_operator`) share this harness.

use std::process::Command;
use std::time::{Duration, Instant};

/// A detached tmux session running one command; killed on drop.
pub struct Tmux {
    session: String,
}

impl Tmux {
    /// Start `cmd` in a `w`×`h` session (`name` keeps concurrent tests' sessions apart).
    pub fn start(name: &str, cmd: &str, w: u16, h: u16) -> Self {
        let session = format!("walinspect-{name}-{}", std::process::id());
        let ok = Command::new("tmux")
            .args(["new-session", "-d", "-s", &session, "-x", &w.to_string(), "-y", &h.to_string(), cmd])
            .status()
            .unwrap()
            .success();
        assert!(ok, "tmux new-session failed");
        let _ = Command::new("tmux").args(["set-option", "-t", &session, "remain-on-exit", "on"]).status();
        Self { session }
    }

    /// The visible screen.
    pub fn screen(&self) -> String {
        let out = Command::new("tmux").args(["capture-pane", "-p", "-t", &self.session]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Send each key (tmux key names) with a short pause after it.
    pub fn keys(&self, keys: &[&str]) {
        for k in keys {
            Command::new("tmux").args(["send-keys", "-t", &self.session, k]).status().unwrap();
            std::thread::sleep(Duration::from_millis(80));
        }
    }

    /// "1 0" when the process ended with status 0, "0 " while it runs.
    pub fn pane_state(&self) -> String {
        let out = Command::new("tmux")
            .args(["display-message", "-p", "-t", &self.session, "#{pane_dead} #{pane_dead_status}#{pane_dead_signal}"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Wait until the screen contains `what` (failing if the UI exits or `limit` passes);
    /// returns that screen and how long it took.
    pub fn wait(&self, what: &str, limit: Duration) -> (String, Duration) {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(what) {
                return (s, start.elapsed());
            }
            assert!(start.elapsed() < limit, "{what:?} did not appear within {limit:?}; screen:\n{s}");
            let state = self.pane_state();
            assert!(state.starts_with('0'), "the UI exited ({state}); screen:\n{s}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// [`Tmux::wait`], the screen.
    pub fn wait_for(&self, what: &str, limit: Duration) -> String {
        self.wait(what, limit).0
    }

    /// [`Tmux::wait`], how long it took.
    pub fn wait_elapsed(&self, what: &str, limit: Duration) -> Duration {
        self.wait(what, limit).1
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["kill-session", "-t", &self.session]).status();
    }
}

/// Whether `tmux` runs here.
pub fn tmux_available() -> bool {
    Command::new("tmux").arg("-V").output().is_ok_and(|o| o.status.success())
}
