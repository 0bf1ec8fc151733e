//! The real binary in a tmux session, driven and read as a person would: the end-to-end TUI
//! tests (`tui_live`, `tui_operator`) share this harness.

use std::process::Command;
use std::time::{Duration, Instant};

/// A detached tmux session running one command; killed on drop.
pub struct Tmux {
    session: String,
}

impl Tmux {
    /// Start `cmd` in a `w`×`h` session (`name` keeps concurrent tests' sessions apart). Each
    /// session has a tmux server of its own (`-L`, no user configuration): tests sharing one
    /// server raced its exit when another test's last session ended, and saw their own
    /// session vanish. Panes stay after their command exits, so its exit status can be read.
    pub fn start(name: &str, cmd: &str, w: u16, h: u16) -> Self {
        let session = format!("walinspect-{name}-{}", std::process::id());
        let t = Self { session: session.clone() };
        let ok = t
            .tmux()
            .args(["-f", "/dev/null", "start-server", ";", "set-window-option", "-g", "remain-on-exit", "on", ";"])
            .args(["new-session", "-d", "-s", &session, "-x", &w.to_string(), "-y", &h.to_string(), cmd])
            .status()
            .unwrap()
            .success();
        assert!(ok, "tmux new-session failed");
        t
    }

    /// A tmux command on this session's own server.
    fn tmux(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.session]);
        c
    }

    /// The visible screen.
    pub fn screen(&self) -> String {
        let out = self.tmux().args(["capture-pane", "-p", "-t", &self.session]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Send each key (tmux key names) with a short pause after it.
    pub fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.tmux().args(["send-keys", "-t", &self.session, k]).status().unwrap();
            std::thread::sleep(Duration::from_millis(80));
        }
    }

    /// "1 0" when the process ended with status 0, "0 " while it runs.
    pub fn pane_state(&self) -> String {
        let out = self
            .tmux()
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
        let _ = self.tmux().arg("kill-server").status();
    }
}

/// Whether `tmux` runs here.
pub fn tmux_available() -> bool {
    Command::new("tmux").arg("-V").output().is_ok_and(|o| o.status.success())
}
