//! A capture streamed on standard input (`tcpdump -w - | tcpladder watch -`, or over ssh from
//! another machine), fed to the same analysis as a live capture: one thread reads the stream
//! (it may block for as long as the pipe is quiet), another sends what came in batches, so the
//! last packets before a quiet spell are shown at once.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};

use super::events::{CaptureEnd, FrameBatch, LiveEvent};
use super::file::CaptureFile;
use super::live::LiveError;

/// How often a batch is sent while packets arrive (as for a live capture).
const BATCH_INTERVAL: Duration = Duration::from_millis(50);
const BATCH_PACKETS: usize = 8_192;

/// What the reading thread passes on.
enum Read {
    Started(crate::wire::LinkType),
    Packet(i64, Vec<u8>),
    End(Option<String>),
}

/// Reads the capture streamed from `source` (`-`: standard input; or a named pipe) until it
/// ends or `stop` is set, sending what a live capture sends.
pub fn run_piped(source: &Path, stop: &AtomicBool, sender: &SyncSender<LiveEvent>, notify: &dyn Fn()) {
    let (reads, received) = channel();
    let source = source.to_path_buf();
    let spawned = std::thread::Builder::new().name("tcpladder-stdin".into()).spawn(move || {
        let mut file = match CaptureFile::open(&source) {
            Ok(file) => file,
            Err(err) => {
                let _ = reads.send(Read::End(Some(err.to_string())));
                return;
            }
        };
        let mut started = false;
        loop {
            match file.next_packet() {
                Ok(Some(packet)) => {
                    if !started {
                        started = true;
                        let _ = reads.send(Read::Started(packet.link));
                    }
                    if reads.send(Read::Packet(packet.ts_nanos, packet.data.to_vec())).is_err() {
                        return;
                    }
                }
                Ok(None) => break,
                Err(damage) => {
                    let _ = reads.send(Read::End(Some(damage.to_string())));
                    return;
                }
            }
        }
        let _ = reads.send(Read::End(None));
    });
    if let Err(err) = spawned {
        let _ = sender.send(LiveEvent::Stopped(CaptureEnd::Failed(LiveError::Thread { which: "stdin", source: err })));
        notify();
        return;
    }
    let mut batch = FrameBatch::default();
    let mut last_sent = Instant::now();
    let mut packets = 0u32;
    let end = loop {
        if stop.load(Ordering::Relaxed) {
            break CaptureEnd::Asked;
        }
        match received.recv_timeout(BATCH_INTERVAL) {
            Ok(Read::Started(link)) => {
                let _ = sender.send(LiveEvent::Started { link });
                notify();
            }
            Ok(Read::Packet(ts_nanos, frame)) => {
                let start = batch.bytes.len();
                batch.bytes.extend_from_slice(&frame);
                batch.frames.push((ts_nanos, start..batch.bytes.len()));
                packets = packets.saturating_add(1);
            }
            Ok(Read::End(None)) | Err(RecvTimeoutError::Disconnected) => break CaptureEnd::Asked,
            Ok(Read::End(Some(message))) => break CaptureEnd::Failed(LiveError::Piped { message }),
            Err(RecvTimeoutError::Timeout) => {}
        }
        let due = last_sent.elapsed() >= BATCH_INTERVAL || batch.frames.len() >= BATCH_PACKETS;
        if due && !batch.frames.is_empty() {
            let sent = std::mem::take(&mut batch);
            // A pipe has no kernel counters: every packet read was received, none dropped.
            if sender.send(LiveEvent::Batch { batch: sent, received: packets, dropped: 0 }).is_err() {
                return;
            }
            notify();
            last_sent = Instant::now();
        }
    };
    if !batch.frames.is_empty() {
        let _ = sender.send(LiveEvent::Batch { batch, received: packets, dropped: 0 });
    }
    let _ = sender.send(LiveEvent::Stopped(end));
    notify();
}
