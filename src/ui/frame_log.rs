//! With `TCPLADDER_FRAME_LOG` set, prints every 10 s how many frames the window drew and the
//! slowest one (time spent in tcpladder's own code): how long runs show the window stays
//! responsive under load.

use std::time::{Duration, Instant};

const EVERY: Duration = Duration::from_secs(10);

/// Frame counts and the slowest frame since the last line.
pub struct FrameLog {
    enabled: bool,
    since: Instant,
    frames: u32,
    slowest: Duration,
    /// The longest wait for a live capture's analysis to hand the document back.
    longest_wait: Duration,
}

impl FrameLog {
    /// Enabled when `TCPLADDER_FRAME_LOG` is set.
    pub fn from_env() -> Self {
        Self {
            enabled: std::env::var_os("TCPLADDER_FRAME_LOG").is_some(),
            since: Instant::now(),
            frames: 0,
            slowest: Duration::ZERO,
            longest_wait: Duration::ZERO,
        }
    }

    /// Records one frame that took `spent`, of which `waited` waiting for the analysis.
    pub fn record(&mut self, spent: Duration, waited: Duration) {
        if !self.enabled {
            return;
        }
        self.frames += 1;
        self.slowest = self.slowest.max(spent);
        self.longest_wait = self.longest_wait.max(waited);
        let elapsed = self.since.elapsed();
        if elapsed >= EVERY {
            eprintln!(
                "tcpladder: frames {} in {:.1} s, slowest {:.1} ms, longest wait for the analysis {:.1} ms",
                self.frames,
                elapsed.as_secs_f64(),
                self.slowest.as_secs_f64() * 1e3,
                self.longest_wait.as_secs_f64() * 1e3
            );
            self.since = Instant::now();
            self.frames = 0;
            self.slowest = Duration::ZERO;
            self.longest_wait = Duration::ZERO;
        }
    }
}
