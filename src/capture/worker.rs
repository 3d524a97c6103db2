//! The live-capture thread: reads an interface and sends the frames to whoever analyses them, in
//! batches (one buffer per batch, not one allocation per packet), with libpcap's counters.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use super::events::{CaptureEnd, FrameBatch, LiveEvent};
use super::live::{LiveError, LiveOptions};
use super::source::LiveCapture;

/// How often a batch is sent while packets arrive.
const BATCH_INTERVAL: Duration = Duration::from_millis(50);
/// A batch is sent early when it holds this many packets.
const BATCH_PACKETS: usize = 8_192;
/// Batches waiting for the analysis at most. When it falls behind, the capture thread waits,
/// the kernel's buffer fills and the kernel drops packets, which libpcap counts and the window
/// shows; an unbounded queue would instead grow past any memory limit.
const QUEUED_BATCHES: usize = 16;

/// The caller's side of a running capture.
#[derive(Debug)]
pub struct LiveHandle {
    pub events: Receiver<LiveEvent>,
    stop: Arc<AtomicBool>,
}

impl LiveHandle {
    /// Asks the capture to stop; it flushes the save file and reports `Stopped`.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// The events, for the thread that analyses them, and the means to stop the capture.
    pub fn into_parts(self) -> (Receiver<LiveEvent>, CaptureStop) {
        (self.events, CaptureStop(self.stop))
    }
}

/// Stops a running capture from another thread than the one taking its events.
#[derive(Debug, Clone)]
pub struct CaptureStop(Arc<AtomicBool>);

impl CaptureStop {
    /// Asks the capture to stop; it flushes the save file and reports `Stopped`.
    pub fn stop(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Starts capturing with `options` on a new thread; `notify` wakes the reader after each event.
pub fn spawn_capture(options: LiveOptions, notify: impl Fn() + Send + 'static) -> LiveHandle {
    let (sender, events) = sync_channel(QUEUED_BATCHES);
    let stop = Arc::new(AtomicBool::new(false));
    let handle = LiveHandle { events, stop: Arc::clone(&stop) };
    let thread_sender = sender.clone();
    let spawned = std::thread::Builder::new()
        .name("tcpladder-capture".into())
        .spawn(move || run(&options, &stop, &thread_sender, &notify));
    if let Err(err) = spawned {
        // Sends fail only when the receiver is gone: nobody is left to tell.
        let _ =
            sender.send(LiveEvent::Stopped(CaptureEnd::Failed(LiveError::Thread { which: "capture", source: err })));
    }
    handle
}

fn run(options: &LiveOptions, stop: &AtomicBool, sender: &SyncSender<LiveEvent>, notify: &dyn Fn()) {
    // `-` is a capture piped on standard input (`tcpdump -w - | tcpladder watch -`).
    if options.device == "-" {
        super::piped::run_piped(std::path::Path::new("-"), stop, sender, notify);
        return;
    }
    let mut live = match LiveCapture::open(options) {
        Ok(live) => live,
        Err(err) => {
            // Nobody may be left to tell: then there is nothing to do.
            let _ = sender.send(LiveEvent::Stopped(CaptureEnd::Failed(err)));
            notify();
            return;
        }
    };
    // Sends fail only when the receiver is gone: nobody is left to tell.
    let _ = sender.send(LiveEvent::Started { link: live.link() });
    notify();
    let mut batch = FrameBatch::default();
    let mut last_sent = Instant::now();
    let mut end = CaptureEnd::Asked;
    while !stop.load(Ordering::Relaxed) {
        let read = live.next(|ts_nanos, frame| {
            let start = batch.bytes.len();
            batch.bytes.extend_from_slice(frame);
            batch.frames.push((ts_nanos, start..batch.bytes.len()));
        });
        if let Err(err) = read {
            end = CaptureEnd::Failed(err);
            break;
        }
        if last_sent.elapsed() >= BATCH_INTERVAL || batch.frames.len() >= BATCH_PACKETS {
            if !send_batch(&mut live, &mut batch, sender) {
                return;
            }
            notify();
            last_sent = Instant::now();
        }
    }
    // The last batch flushes the save file; when that fails it has already reported Stopped.
    if send_batch(&mut live, &mut batch, sender) {
        // Sends fail only when the receiver is gone: nobody is left to tell.
        let _ = sender.send(LiveEvent::Stopped(end));
    }
    notify();
}

/// Sends what was read (or only the counters); false when nobody listens any more. The save
/// file is flushed first: whatever the analysis may later drop to stay under its memory limit
/// is already in the file.
fn send_batch(live: &mut LiveCapture, batch: &mut FrameBatch, sender: &SyncSender<LiveEvent>) -> bool {
    if let Err(err) = live.flush() {
        // Nobody may be left to tell: then there is nothing to do.
        let _ = sender.send(LiveEvent::Stopped(CaptureEnd::Failed(err)));
        return false;
    }
    let (received, dropped) = live.stats().unwrap_or_default();
    sender.send(LiveEvent::Batch { batch: std::mem::take(batch), received, dropped }).is_ok()
}
