//! What a capture thread sends whoever analyses it: frames in batches (one buffer per batch,
//! not one allocation per packet), libpcap's counters, and how the capture ended. Live captures
//! and captures piped on standard input send the same.

use std::ops::Range;

use crate::wire::LinkType;

use super::live::LiveError;

/// Frames read since the previous batch.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FrameBatch {
    /// Capture time and the frame's bytes in `bytes`.
    pub frames: Vec<(i64, Range<usize>)>,
    pub bytes: Vec<u8>,
}

impl FrameBatch {
    /// Each frame with its time.
    pub fn iter(&self) -> impl Iterator<Item = (i64, &[u8])> {
        self.frames_of(&self.frames)
    }

    /// The frames in turns of at most `per_turn`, for an analysis that yields between turns.
    pub fn turns(&self, per_turn: usize) -> impl Iterator<Item = impl Iterator<Item = (i64, &[u8])>> {
        self.frames.chunks(per_turn.max(1)).map(|turn| self.frames_of(turn))
    }

    fn frames_of<'a>(&'a self, frames: &'a [(i64, Range<usize>)]) -> impl Iterator<Item = (i64, &'a [u8])> {
        frames.iter().map(|(ts, range)| (*ts, self.bytes.get(range.clone()).unwrap_or(&[])))
    }
}

/// What the capture thread reports.
#[derive(Debug)]
pub enum LiveEvent {
    /// The device is open.
    Started { link: LinkType },
    /// Frames, and libpcap's received and dropped counters so far.
    Batch { batch: FrameBatch, received: u32, dropped: u32 },
    /// The capture stopped: asked to, or failed (the error says what to do).
    Stopped(CaptureEnd),
}

/// How a capture ended.
#[derive(Debug)]
pub enum CaptureEnd {
    /// Asked to stop, or its reader went away.
    Asked,
    /// Reading or saving failed; the error carries the remedy.
    Failed(LiveError),
}

impl CaptureEnd {
    /// The failure's text, remedy included; `None` when the capture was asked to stop.
    pub fn error_text(&self) -> Option<String> {
        match self {
            Self::Asked => None,
            Self::Failed(err) => Some(err.to_string()),
        }
    }
}
