//! Any protocol not decoded: its messages are the turns of the conversation, the bytes one side
//! sends before the other answers, labelled by size. The client speaks, then the server: that
//! is enough for request and response timing in any protocol.

use crate::stream::StreamEvent;
use crate::wire::{PerSide, Side};

use super::found::Found;
use super::message::{Message, MessageKind, Protocol};

/// Turn-taking state.
#[derive(Debug, Clone, Default)]
pub struct Turns {
    /// Bytes a side never sent into the capture before its next turn began.
    pending_gap: PerSide<bool>,
    last_ts_nanos: i64,
}

impl Turns {
    pub(crate) fn feed(&mut self, side: Side, event: &StreamEvent<'_>, out: &mut Found<'_>) {
        match *event {
            StreamEvent::Data { frame, ts_nanos, bytes, .. } => {
                self.last_ts_nanos = ts_nanos;
                let len = bytes.len() as u64;
                match out.last_of(side) {
                    Some(turn) => {
                        turn.bytes += len;
                        turn.head_ends_at((frame, ts_nanos));
                    }
                    None => {
                        let mut turn = Message::starting(side, Protocol::Unknown, MessageKind::Turn, (frame, ts_nanos));
                        turn.bytes = len;
                        turn.complete = true;
                        turn.gaps = std::mem::take(&mut self.pending_gap[side]);
                        out.push(turn);
                    }
                }
            }
            StreamEvent::Hole { len, .. } => match out.last_of(side) {
                Some(turn) => {
                    turn.bytes += len;
                    turn.gaps = true;
                }
                None => self.pending_gap[side] = true,
            },
        }
    }
}
