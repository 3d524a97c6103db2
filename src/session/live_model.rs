//! A live capture's analysis thread. It takes the capture thread's batches, feeds them to the
//! document's engine and keeps the table's rows current, so a flood never stalls the window: the
//! window lends it the document between frames and takes it back at the start of each frame,
//! waiting at most for one short piece of work. When the window is minimised and draws nothing,
//! the analysis goes on.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::capture::live::LiveError;
use crate::capture::worker::{CaptureEnd, FrameBatch, LiveEvent};

use crate::session::document::Document;

/// How often the table's rows are recomputed while packets arrive.
const ROW_REFRESH: Duration = Duration::from_millis(250);
/// Above this many rows, the table is refreshed four times less often.
const MANY_ROWS: usize = 20_000;
/// Frames taken in at a time before the window may take the document back.
const FRAMES_PER_TURN: usize = 1_024;
/// Time spent recomputing rows at a time before the window may take the document back.
const ROWS_PER_TURN: Duration = Duration::from_millis(4);
/// The window is woken at most this often to show what arrived.
const REDRAW_EVERY: Duration = Duration::from_millis(40);

/// What the window and the analysis thread share.
#[derive(Default)]
struct Slot {
    /// The document, while lent to the analysis (between frames).
    document: Option<Document>,
    /// The analysis made this document; the window has not shown it yet.
    fresh: bool,
    /// libpcap's counters and the packets analysed, as of the last batch.
    received: u32,
    dropped: u32,
    packets: u64,
    /// The capture ended, and how.
    stopped: Option<CaptureEnd>,
    /// The window let go of the capture: the thread ends.
    closed: bool,
}

/// One live capture's shared state.
pub struct LiveModel {
    /// Tells this capture's document apart from any other the window shows.
    pub id: u64,
    slot: Mutex<Slot>,
    /// Signalled whenever the document moves between the window and the analysis.
    moved: Condvar,
    /// Set while the window waits to take the document back: the analysis yields to it.
    window_waiting: AtomicBool,
}

/// What the window got back at the start of a frame.
pub struct Returned {
    pub document: Option<Document>,
    /// The document is new: show it in place of the current one.
    pub fresh: bool,
    pub received: u32,
    pub dropped: u32,
    pub packets: u64,
    /// Set once: the capture ended, and how.
    pub stopped: Option<CaptureEnd>,
    /// How long the window waited for the analysis to pause.
    pub waited: Duration,
}

impl LiveModel {
    /// Starts the analysis of `events`; new documents are named `label` and hold at most
    /// `memory_limit_bytes`. `wake` asks the window to draw again within the given time.
    pub fn spawn(
        events: Receiver<LiveEvent>,
        label: String,
        memory_limit_bytes: u64,
        wake: impl Fn(Duration) + Send + 'static,
    ) -> Arc<Self> {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let model = Arc::new(Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            slot: Mutex::new(Slot::default()),
            moved: Condvar::new(),
            window_waiting: AtomicBool::new(false),
        });
        let shared = Arc::clone(&model);
        let analysis = Analysis {
            model: shared,
            label,
            memory_limit_bytes,
            rows: RowSchedule { last_refresh: Instant::now(), pending: false },
            started: false,
        };
        let spawned =
            std::thread::Builder::new().name("tcpladder-analysis".into()).spawn(move || analysis.run(&events, &wake));
        if let Err(err) = spawned {
            model.lock().stopped = Some(CaptureEnd::Failed(LiveError::Thread { which: "analysis", source: err }));
        }
        model
    }

    fn lock(&self) -> MutexGuard<'_, Slot> {
        // A panic elsewhere must not take the window down with it: the slot stays usable.
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the document back (the window's frame begins) with the counters and news.
    pub fn take_back(&self) -> Returned {
        let asked = Instant::now();
        self.window_waiting.store(true, Ordering::Release);
        let mut slot = self.lock();
        self.window_waiting.store(false, Ordering::Release);
        let waited = asked.elapsed();
        let returned = Returned {
            document: slot.document.take(),
            fresh: std::mem::take(&mut slot.fresh),
            received: slot.received,
            dropped: slot.dropped,
            packets: slot.packets,
            stopped: slot.stopped.take(),
            waited,
        };
        self.moved.notify_all();
        returned
    }

    /// Lends the document to the analysis until the next frame.
    pub fn lend(&self, document: Document) {
        self.lock().document = Some(document);
        self.moved.notify_all();
    }

    /// The window no longer shows this capture: the analysis ends.
    pub fn close(&self) {
        self.lock().closed = true;
        self.moved.notify_all();
    }

    /// Runs `read` on the lent document while the window is not drawing.
    pub fn with_lent<R>(&self, read: impl FnOnce(Option<&Document>) -> R) -> R {
        read(self.lock().document.as_ref())
    }

    /// The slot once the document is lent and the window is not waiting for it; `None` when the
    /// window let go of the capture.
    fn turn(&self) -> Option<MutexGuard<'_, Slot>> {
        let mut slot = self.lock();
        loop {
            if slot.closed {
                return None;
            }
            if slot.document.is_some() && !self.window_waiting.load(Ordering::Acquire) {
                return Some(slot);
            }
            // Woken when the window lends the document or takes it; the timeout covers a
            // window that set `window_waiting` just before this thread looked.
            slot = self.moved.wait_timeout(slot, Duration::from_millis(5)).map_or_else(|e| e.into_inner().0, |r| r.0);
        }
    }
}

/// The analysis thread's own state.
struct Analysis {
    model: Arc<LiveModel>,
    label: String,
    memory_limit_bytes: u64,
    rows: RowSchedule,
    /// The capture opened its device and the document exists.
    started: bool,
}

/// When the table's rows are recomputed.
struct RowSchedule {
    last_refresh: Instant,
    /// A refresh was begun and not finished.
    pending: bool,
}

impl RowSchedule {
    /// Recomputes rows for one turn when due, or to the end when `all`.
    fn refresh(&mut self, document: &mut Document, all: bool) {
        let every = if document.rows.len() > MANY_ROWS { ROW_REFRESH * 4 } else { ROW_REFRESH };
        if !(all || self.pending || self.last_refresh.elapsed() >= every) {
            return;
        }
        let budget = if all { Duration::MAX } else { ROWS_PER_TURN };
        self.pending = !document.refresh_rows_within(budget);
        if !self.pending {
            self.last_refresh = Instant::now();
        }
    }
}

impl Analysis {
    fn run(mut self, events: &Receiver<LiveEvent>, wake: &dyn Fn(Duration)) {
        loop {
            let event = match events.recv_timeout(ROW_REFRESH) {
                Ok(event) => Some(event),
                Err(RecvTimeoutError::Timeout) => None,
                // The capture thread ends with `Stopped`; without it, it ended all the same.
                Err(RecvTimeoutError::Disconnected) => Some(LiveEvent::Stopped(CaptureEnd::Asked)),
            };
            let carry_on = match event {
                Some(LiveEvent::Started { link }) => {
                    let mut slot = self.model.lock();
                    slot.document = Some(Document::live(&self.label, link, self.memory_limit_bytes, self.model.id));
                    slot.fresh = true;
                    self.started = true;
                    true
                }
                Some(LiveEvent::Batch { batch, received, dropped }) => {
                    let mut slot = self.model.lock();
                    slot.received = received;
                    slot.dropped = dropped;
                    slot.packets += batch.frames.len() as u64;
                    drop(slot);
                    // Quiet batches bring only counters; rows may still be due.
                    if batch.frames.is_empty() {
                        self.refresh_if_due()
                    } else {
                        self.ingest(&batch)
                    }
                }
                Some(LiveEvent::Stopped(end)) => {
                    self.finish(end);
                    wake(Duration::ZERO);
                    return;
                }
                None => self.refresh_if_due(),
            };
            if !carry_on {
                return;
            }
            wake(REDRAW_EVERY);
        }
    }

    /// Feeds `batch` to the document a turn at a time; false when the window let go.
    fn ingest(&mut self, batch: &FrameBatch) -> bool {
        batch.turns(FRAMES_PER_TURN).all(|turn| self.take_turn(|document| document.ingest_frames(turn)))
    }

    /// Continues or begins a row refresh when one is due; false when the window let go.
    fn refresh_if_due(&mut self) -> bool {
        self.take_turn(|_| {})
    }

    /// One turn with the lent document: `work`, then the rows when due. What was evicted is
    /// freed after the window may take the document back. False when the window let go.
    fn take_turn(&mut self, work: impl FnOnce(&mut Document)) -> bool {
        let Some(mut slot) = self.model.turn() else { return false };
        let evicted = slot.document.as_mut().map(|document| {
            work(document);
            self.rows.refresh(document, false);
            document.take_evicted()
        });
        drop(slot);
        drop(evicted);
        true
    }

    /// The capture ended: the rows are brought up to date before the window takes them.
    fn finish(&mut self, end: CaptureEnd) {
        if !self.started {
            self.model.lock().stopped = Some(end);
            return;
        }
        let Some(mut slot) = self.model.turn() else { return };
        if let Some(document) = slot.document.as_mut() {
            self.rows.refresh(document, true);
        }
        slot.stopped = Some(end);
    }
}
