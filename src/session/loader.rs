//! Loads a capture on a background thread and feeds the UI through a channel: progress with the
//! connections found so far, then the finished model. Cancellable; never blocks the caller.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::analysis::exchanges::ladder_notes;
use crate::capture::Progress;
use crate::engine::{Engine, EngineConfig};
use crate::error::{CaptureError, DamagedCapture};
use crate::ladder::{LadderLayout, LayoutOptions};
use crate::session::read_capture;
use crate::summary::{rows_of, ConnRow};
use crate::tcp::Connection;

/// How often, at most, progress is sent.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(50);
/// How many packets are read between checks of the clock and the cancel flag.
const PACKETS_PER_CHECK: u64 = 4_096;

/// A finished load.
#[derive(Debug)]
pub struct Loaded {
    pub path: PathBuf,
    pub engine: Engine,
    /// One row per connection, in id order.
    pub rows: Vec<ConnRow>,
    /// Damage found after part of the file was read; everything before it is in `engine`.
    pub damage: Option<DamagedCapture>,
    pub cancelled: bool,
    /// The first connection's ladder, laid out here: the window shows it first, and laying out
    /// ten million segments takes a third of a second.
    pub first_layout: Option<LadderLayout>,
    /// The conversation's notes on that connection's arrows.
    pub first_notes: BTreeMap<u32, Vec<String>>,
}

/// What the loading thread reports.
#[derive(Debug)]
pub enum LoadEvent {
    /// Reading goes on; `new_rows` are connections first seen since the last event.
    Progress {
        progress: Progress,
        new_rows: Vec<ConnRow>,
    },
    Finished(Box<Loaded>),
    /// The file could not be read at all.
    Failed(LoadError),
}

/// Why a file could not be loaded at all.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Capture(#[from] CaptureError),
    #[error("cannot start the loading thread: {0}")]
    Thread(std::io::Error),
}

/// What the arrows of `connection` carry besides their labels: the frames that need a line for a
/// note (each finding's frame once, each note of the conversation once) and the conversation's
/// notes by frame (message labels, waits).
pub fn arrow_notes(
    engine: &Engine,
    connection: &Connection,
    row: Option<&ConnRow>,
) -> (Vec<u32>, BTreeMap<u32, Vec<String>>) {
    let mut noted: Vec<u32> =
        row.map(|row| row.finding_notes(connection).into_iter().map(|(frame, _)| frame).collect()).unwrap_or_default();
    noted.sort_unstable();
    noted.dedup();
    let notes = engine.conversation(connection.id).map(|c| ladder_notes(connection, c)).unwrap_or_default();
    noted.extend(notes.iter().flat_map(|(frame, lines)| lines.iter().map(|_| *frame)));
    (noted, notes)
}

/// The caller's side of a load in progress.
#[derive(Debug)]
pub struct LoadHandle {
    pub path: PathBuf,
    pub events: Receiver<LoadEvent>,
    cancel: Arc<AtomicBool>,
}

impl LoadHandle {
    /// Asks the loading thread to stop; it then finishes with what it has read.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

/// Starts loading `path` on a new thread; `notify` is called after each event (to wake the UI).
pub fn spawn_load(path: &Path, config: EngineConfig, notify: impl Fn() + Send + 'static) -> LoadHandle {
    let (sender, events) = channel();
    let cancel = Arc::new(AtomicBool::new(false));
    let handle = LoadHandle { path: path.to_path_buf(), events, cancel: Arc::clone(&cancel) };
    let path = path.to_path_buf();
    let spawned = std::thread::Builder::new().name("tcpladder-load".into()).spawn({
        let sender = sender.clone();
        move || load(&path, config, &cancel, &sender, &notify)
    });
    if let Err(err) = spawned {
        // The handle is returned below, so its receiver is alive: this send cannot fail.
        let _ = sender.send(LoadEvent::Failed(LoadError::Thread(err)));
    }
    handle
}

fn load(path: &Path, config: EngineConfig, cancel: &AtomicBool, sender: &Sender<LoadEvent>, notify: &dyn Fn()) {
    // Rows go out by connection id: the oldest connections may be dropped to bound memory.
    let mut next_row_id = 0u32;
    let mut last_sent = Instant::now();
    let result = read_capture(path, config, PACKETS_PER_CHECK, |progress, engine| {
        if cancel.load(Ordering::Relaxed) {
            return ControlFlow::Break(());
        }
        if last_sent.elapsed() >= PROGRESS_INTERVAL {
            last_sent = Instant::now();
            let end = engine.capture_end_nanos();
            let held = engine.connections();
            let unsent = next_row_id.saturating_sub(engine.first_connection_id()) as usize;
            let new_rows = held
                .range(unsent.min(held.len())..)
                .map(|c| ConnRow::new(c, engine.conversation(c.id), end))
                .collect::<Vec<_>>();
            next_row_id = new_rows.last().map_or(next_row_id, |row| row.id + 1);
            // A closed channel means the UI went away; the read then stops at the next check.
            if sender.send(LoadEvent::Progress { progress: *progress, new_rows }).is_err() {
                return ControlFlow::Break(());
            }
            notify();
        }
        ControlFlow::Continue(())
    });
    let event = match result {
        Ok(outcome) => {
            let rows: Vec<ConnRow> = rows_of(&outcome.engine).collect();
            let first = outcome.engine.connections().front().zip(rows.first()).map(|(connection, row)| {
                let (noted, notes) = arrow_notes(&outcome.engine, connection, Some(row));
                let mut layout = LadderLayout::new(connection, &BTreeSet::new(), &noted, &LayoutOptions::default());
                if let Some(conversation) = outcome.engine.conversation(connection.id) {
                    layout.note_fold_contents(connection, conversation.messages());
                }
                (layout, notes)
            });
            let (first_layout, first_notes) = first.map_or((None, BTreeMap::new()), |(l, n)| (Some(l), n));
            LoadEvent::Finished(Box::new(Loaded {
                path: path.to_path_buf(),
                engine: outcome.engine,
                rows,
                damage: outcome.damage,
                cancelled: outcome.cancelled,
                first_layout,
                first_notes,
            }))
        }
        Err(err) => LoadEvent::Failed(err.into()),
    };
    // A cancelled load dropped the receiver: the outcome is not wanted.
    let _ = sender.send(event);
    notify();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-captures").join(name)
    }

    fn finish(handle: &LoadHandle) -> LoadEvent {
        loop {
            match handle.events.recv_timeout(Duration::from_secs(10)) {
                Ok(LoadEvent::Progress { .. }) => continue,
                Ok(other) => return other,
                Err(err) => panic!("no event: {err}"),
            }
        }
    }

    #[test]
    fn a_sample_loads_in_the_background() {
        let handle = spawn_load(&sample("broken-pipe.pcap"), EngineConfig::default(), || {});
        let LoadEvent::Finished(loaded) = finish(&handle) else { panic!("not finished") };
        assert_eq!(loaded.rows.len(), 1);
        assert!(!loaded.cancelled && loaded.damage.is_none());
    }

    #[test]
    fn the_document_finds_each_answered_requests_wait_for_the_ladder() {
        // Files keep every message, as the window asks.
        let config = EngineConfig { keep_all_messages: true, ..EngineConfig::default() };
        let handle = spawn_load(&sample("nginx-keepalive.pcap"), config, || {});
        let LoadEvent::Finished(loaded) = finish(&handle) else { panic!("not finished") };
        let mut document = crate::session::document::Document::new(*loaded);
        document.layout();
        let waits = document.waits();
        assert_eq!(waits.len(), 3, "three requests on one keep-alive connection: {waits:?}");
        assert!(waits.iter().all(|&(request, response, seconds)| request < response && seconds > 0.0), "{waits:?}");
    }

    #[test]
    fn a_bad_file_fails_with_its_reason() {
        let handle = spawn_load(Path::new("/nonexistent.pcap"), EngineConfig::default(), || {});
        let LoadEvent::Failed(err) = finish(&handle) else { panic!("should fail") };
        let message = err.to_string();
        assert!(message.contains("/nonexistent.pcap"), "{message}");
    }
}
