//! This machine's sockets, looked at every half second on a thread of their own: the socket
//! table each time (a few ms to a hundred for 50,000 sockets), the walk of every process's
//! descriptors that finds the owners every few seconds (it costs several times the table), and
//! the census over the last minutes for the chart. The window reads the latest without waiting.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::analysis::machine::{findings_of, MachineFinding};
use crate::host::{self, by_process, ByProcess, ListenCounters, Owners, Snapshot};
use crate::tcp::TcpState;

/// How often the table is read.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(500);
/// How often the owners are looked for again (sooner when sockets appear that no walk saw).
const OWNERS_EVERY: Duration = Duration::from_secs(3);
/// The soonest a walk follows another, however many sockets are new.
const OWNERS_AT_MOST_EVERY: Duration = Duration::from_secs(1);
/// The census kept for the chart: ten minutes of samples.
const HISTORY: usize = 1_200;

/// The census at one moment: sockets in each state, indexed as [`TcpState::ALL`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Seconds since the watch began.
    pub seconds: f64,
    pub counts: [u32; 12],
}

impl Sample {
    pub fn count(&self, state: TcpState) -> u32 {
        TcpState::ALL.iter().position(|s| *s == state).and_then(|i| self.counts.get(i)).copied().unwrap_or(0)
    }
}

/// What the watch has seen.
#[derive(Debug, Default)]
pub struct Watched {
    pub latest: Option<Snapshot>,
    pub findings: Vec<MachineFinding>,
    /// The latest snapshot counted, once per look rather than once per frame (50,000 sockets
    /// take milliseconds to group): by state, and by process, state and port.
    pub census: Vec<(TcpState, u32)>,
    pub groups: Vec<ByProcess>,
    /// Sockets by local port and state, the largest first.
    pub ports: Vec<((u16, TcpState), u32)>,
    /// The last read's failure, in words.
    pub error: Option<String>,
    pub history: VecDeque<Sample>,
    /// The counters when the watch began: how much they grew while it ran.
    pub counters_at_start: Option<ListenCounters>,
    /// How long the last table and the last owners walk took.
    pub table_ms: f64,
    pub owners_ms: f64,
    /// When the owners were last looked for, in seconds since the watch began.
    pub owners_at: f64,
}

/// The watching thread; it stops when this is dropped.
pub struct MachineWatch {
    watched: Arc<Mutex<Watched>>,
    stop: Arc<AtomicBool>,
}

impl MachineWatch {
    /// Starts watching; `notify` is called after each look (to repaint the window).
    pub fn start(notify: impl Fn() + Send + 'static) -> Self {
        let watched = Arc::new(Mutex::new(Watched::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (shared, stopping) = (Arc::clone(&watched), Arc::clone(&stop));
        let spawned = std::thread::Builder::new().name("tcpladder-machine".into()).spawn(move || {
            watch(&shared, &stopping, &notify);
        });
        if let Err(err) = spawned {
            watched.lock().unwrap_or_else(PoisonError::into_inner).error =
                Some(format!("could not start watching this machine's sockets: {err}"));
        }
        Self { watched, stop }
    }

    /// Reads what was seen.
    pub fn with<R>(&self, read: impl FnOnce(&Watched) -> R) -> R {
        read(&self.watched.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Drop for MachineWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn watch(watched: &Mutex<Watched>, stop: &AtomicBool, notify: &dyn Fn()) {
    let proc_root = Path::new("/proc");
    let began = Instant::now();
    let mut owners: Option<(Owners, Instant)> = None;
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        match host::read_table(proc_root) {
            Ok(table) => {
                let table_ms = started.elapsed().as_secs_f64() * 1e3;
                let unknown = owners.as_ref().is_none_or(|(known, _)| {
                    table.sockets.iter().any(|s| s.inode != 0 && !known.by_inode.contains_key(&s.inode))
                });
                let age = owners.as_ref().map_or(Duration::MAX, |(_, at)| at.elapsed());
                let mut owners_ms = None;
                if age >= OWNERS_EVERY || (unknown && age >= OWNERS_AT_MOST_EVERY) {
                    let walk = Instant::now();
                    owners = Some((host::owners(proc_root), Instant::now()));
                    owners_ms = Some(walk.elapsed().as_secs_f64() * 1e3);
                }
                let snapshot = host::join(table, owners.as_ref().map(|(o, _)| o).unwrap_or(&Owners::default()));
                let mut w = watched.lock().unwrap_or_else(PoisonError::into_inner);
                record(&mut w, snapshot, began.elapsed().as_secs_f64(), table_ms, owners_ms);
            }
            Err(err) => watched.lock().unwrap_or_else(PoisonError::into_inner).error = Some(err.to_string()),
        }
        notify();
        std::thread::sleep(SAMPLE_EVERY.saturating_sub(started.elapsed()));
    }
}

fn record(watched: &mut Watched, snapshot: Snapshot, seconds: f64, table_ms: f64, owners_ms: Option<f64>) {
    // Counted once here, for the chart, the chips, the groups and the findings alike.
    let census = host::states(&snapshot.sockets);
    let mut counts = [0u32; 12];
    for &(state, count) in &census {
        if let Some(slot) = TcpState::ALL.iter().position(|s| *s == state).and_then(|i| counts.get_mut(i)) {
            *slot = count;
        }
    }
    if watched.history.len() == HISTORY {
        watched.history.pop_front();
    }
    watched.history.push_back(Sample { seconds, counts });
    watched.counters_at_start.get_or_insert(snapshot.counters);
    watched.groups = by_process(&snapshot);
    watched.findings = findings_of(&snapshot, &watched.groups, None);
    watched.ports = host::by_local_port(&snapshot.sockets);
    watched.census = census;
    watched.table_ms = table_ms;
    if let Some(ms) = owners_ms {
        watched.owners_ms = ms;
        watched.owners_at = seconds;
    }
    watched.error = None;
    watched.latest = Some(snapshot);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watch_sees_a_listener_this_test_opened_with_its_owner() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a listener");
        let local = listener.local_addr().expect("its address");
        let (sender, seen) = std::sync::mpsc::channel();
        let watch = MachineWatch::start(move || {
            let _ = sender.send(());
        });
        seen.recv_timeout(Duration::from_secs(10)).expect("a first look");
        let (found, samples) = watch.with(|w| {
            let snapshot = w.latest.as_ref().expect("a snapshot");
            let socket = snapshot.sockets.iter().find(|s| s.local == local).cloned();
            (socket, w.history.len())
        });
        let socket = found.expect("the listener is in the table");
        assert_eq!(socket.state, TcpState::Listen);
        assert_eq!(socket.pid, Some(std::process::id()));
        assert_eq!(samples, 1);
    }
}
