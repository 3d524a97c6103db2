//! What this machine's sockets say, in words: CLOSE_WAIT sockets a process leaves open (the
//! capture finding's words, now naming the process), listeners whose accept queue is full or has
//! overflowed, and processes near their open-files limit.

use serde::Serialize;

use crate::host::{by_process, listeners, ByProcess, ListenCounters, Snapshot};
use crate::tcp::TcpState;

use super::diagnose::CLOSE_WAIT_PILE_UP;

/// A process near its limit at or above this share of it is warned about.
pub const FD_WARNING_SHARE: f64 = 0.8;

/// One thing this machine's sockets show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MachineFinding {
    /// `close_wait`, `accept_queue_full`, `listen_overflows`, `fd_limit`.
    pub code: &'static str,
    /// The process concerned, when one is.
    pub pid: Option<u32>,
    pub text: String,
}

/// Everything `snapshot` shows worth a sentence; `before` is an earlier snapshot's counters, so
/// that overflows are told as they grow.
pub fn findings(snapshot: &Snapshot, before: Option<ListenCounters>) -> Vec<MachineFinding> {
    findings_of(snapshot, &by_process(snapshot), before)
}

/// [`findings`], with the snapshot's groups by process already counted.
pub fn findings_of(snapshot: &Snapshot, groups: &[ByProcess], before: Option<ListenCounters>) -> Vec<MachineFinding> {
    let mut out = Vec::new();
    for group in groups.iter().filter(|g| g.state == TcpState::CloseWait) {
        out.push(MachineFinding {
            code: "close_wait",
            pid: group.pid,
            text: format!(
                "{}: their peers closed and the application never called close() on them. {CLOSE_WAIT_PILE_UP}",
                capitalized(&group.sentence())
            ),
        });
    }
    for listener in listeners(snapshot).iter().filter(|l| l.is_full()) {
        out.push(MachineFinding {
            code: "accept_queue_full",
            pid: listener.pid,
            text: format!(
                "Port {}: the accept queue is full ({} of {}): new connections' SYNs are dropped; the application \
                 is not calling accept() fast enough.",
                listener.local.port(),
                listener.queued,
                listener.backlog.unwrap_or_default()
            ),
        });
    }
    let counters = snapshot.counters;
    let grown = before.map_or(counters.overflows, |b| counters.overflows.saturating_sub(b.overflows));
    if grown > 0 {
        let since = if before.is_some() {
            "since the last look"
        } else {
            "since boot (or since this network namespace was made)"
        };
        out.push(MachineFinding {
            code: "listen_overflows",
            pid: None,
            text: format!(
                "A connection found a listener's accept queue full {grown} times {since} (ListenOverflows; \
                 ListenDrops {}, SYN cookies sent {}): each time its SYN or its handshake's last ACK was dropped, \
                 so its client waited and retried, or gave up.",
                counters.drops, counters.syncookies_sent
            ),
        });
    }
    for process in snapshot.processes.values() {
        let Some(limit) = process.fd_limit.filter(|&limit| limit > 0) else { continue };
        let share = f64::from(process.open_fds) / limit as f64;
        if share >= FD_WARNING_SHARE {
            out.push(MachineFinding {
                code: "fd_limit",
                pid: Some(process.pid),
                text: format!(
                    "`{}` (pid {}) has {} of {limit} files open ({:.0}% of its `ulimit -n`): at {limit}, accept(), \
                     socket() and open() fail with EMFILE (\"Too many open files\") and new connections wait in \
                     the accept queue. Raise the limit (`LimitNOFILE=` in its systemd unit, `ulimit -n`) or find \
                     the descriptors it leaks (`ls -l /proc/{}/fd`).",
                    process.name,
                    process.pid,
                    process.open_fds,
                    share * 100.0,
                    process.pid
                ),
            });
        }
    }
    out
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}
