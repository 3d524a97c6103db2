//! The compact per-segment record every connection keeps: 40 bytes, no heap.

use super::state::{SegmentView, TcpState};
use crate::wire::{PerSide, Side, TcpFlags};

/// Which way a segment travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Direction {
    ClientToServer,
    ServerToClient,
}

impl Direction {
    /// `"c2s"` or `"s2c"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::ClientToServer => "c2s",
            Self::ServerToClient => "s2c",
        }
    }
    /// The other direction.
    pub fn reverse(self) -> Self {
        match self {
            Self::ClientToServer => Self::ServerToClient,
            Self::ServerToClient => Self::ClientToServer,
        }
    }
    /// The side that sends a segment going this way.
    pub fn sender(self) -> Side {
        match self {
            Self::ClientToServer => Side::Client,
            Self::ServerToClient => Side::Server,
        }
    }
    /// The side that receives it.
    pub fn receiver(self) -> Side {
        self.sender().other()
    }
    /// The direction in which `side` sends.
    pub fn sent_by(side: Side) -> Self {
        match side {
            Side::Client => Self::ClientToServer,
            Side::Server => Self::ServerToClient,
        }
    }
}

/// Wireshark's TCP analysis flags of one segment, as a bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct AnalysisFlags(pub u16);

impl AnalysisFlags {
    pub const RETRANSMISSION: u16 = 1 << 0;
    pub const FAST_RETRANSMISSION: u16 = 1 << 1;
    pub const SPURIOUS_RETRANSMISSION: u16 = 1 << 2;
    pub const OUT_OF_ORDER: u16 = 1 << 3;
    pub const LOST_SEGMENT: u16 = 1 << 4;
    pub const ACK_LOST_SEGMENT: u16 = 1 << 5;
    pub const DUPLICATE_ACK: u16 = 1 << 6;
    pub const ZERO_WINDOW: u16 = 1 << 7;
    pub const ZERO_WINDOW_PROBE: u16 = 1 << 8;
    pub const ZERO_WINDOW_PROBE_ACK: u16 = 1 << 9;
    pub const KEEP_ALIVE: u16 = 1 << 10;
    pub const KEEP_ALIVE_ACK: u16 = 1 << 11;
    pub const WINDOW_UPDATE: u16 = 1 << 12;
    pub const WINDOW_FULL: u16 = 1 << 13;
    pub const REUSED_PORTS: u16 = 1 << 14;
    /// Not Wireshark's: a RST the receiver ignores because its sequence number is out of window.
    pub const RST_IGNORED: u16 = 1 << 15;

    /// Every flag with its snake_case name and what it means in words, in Wireshark's order.
    pub const NAMES: [(u16, &'static str, &'static str); 16] = [
        (Self::RETRANSMISSION, "retransmission", "sent again: the first copy, or its ACK, was lost or late"),
        (
            Self::FAST_RETRANSMISSION,
            "fast_retransmission",
            "sent again at once after duplicate ACKs said it was missing",
        ),
        (
            Self::SPURIOUS_RETRANSMISSION,
            "spurious_retransmission",
            "sent again although the receiver had already acknowledged it",
        ),
        (Self::OUT_OF_ORDER, "out_of_order", "arrived before an earlier segment of the same direction"),
        (
            Self::LOST_SEGMENT,
            "previous_segment_not_captured",
            "there is a gap before it: a segment was lost or not captured",
        ),
        (Self::ACK_LOST_SEGMENT, "acked_unseen_segment", "acknowledges data the capture never saw"),
        (Self::DUPLICATE_ACK, "duplicate_ack", "repeats the previous ACK: the receiver is missing something"),
        (Self::ZERO_WINDOW, "zero_window", "the receiver's buffer is full: its application is not reading"),
        (Self::ZERO_WINDOW_PROBE, "zero_window_probe", "a one-byte probe to see whether the peer's window opened"),
        (
            Self::ZERO_WINDOW_PROBE_ACK,
            "zero_window_probe_ack",
            "answers a zero-window probe; the window is still closed",
        ),
        (Self::KEEP_ALIVE, "keep_alive", "a keep-alive: checks that an idle peer is still there"),
        (Self::KEEP_ALIVE_ACK, "keep_alive_ack", "answers a keep-alive"),
        (Self::WINDOW_UPDATE, "window_update", "only announces a larger window"),
        (Self::WINDOW_FULL, "window_full", "fills the receiver's window to its last byte"),
        (Self::REUSED_PORTS, "reused_ports", "a new connection on a 4-tuple used before"),
        (Self::RST_IGNORED, "rst_out_of_window", "a reset outside the receiver's window: ignored"),
    ];

    pub fn has(self, bit: u16) -> bool {
        self.0 & bit != 0
    }
    pub fn set(&mut self, bit: u16) {
        self.0 |= bit;
    }
    /// Names of the flags that are set.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        self.described().map(|(name, _)| name)
    }
    /// Names of the flags that are set, each with what it means.
    pub fn described(self) -> impl Iterator<Item = (&'static str, &'static str)> {
        Self::NAMES.into_iter().filter(move |(bit, _, _)| self.has(*bit)).map(|(_, name, words)| (name, words))
    }
    /// True when any retransmission flavour is set.
    pub fn is_retransmission(self) -> bool {
        self.has(Self::RETRANSMISSION | Self::FAST_RETRANSMISSION | Self::SPURIOUS_RETRANSMISSION)
    }
}

/// One TCP segment of a connection, with both sides' states after it.
///
/// Relative numbers, the scaled window and the options' meaning are derived from the connection
/// when asked for, so each record stays small (see `tests` for the size).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// Capture time, nanoseconds since the Unix epoch.
    pub ts_nanos: i64,
    /// 1-based index among all packets of the capture.
    pub frame: u32,
    pub seq_raw: u32,
    pub ack_raw: u32,
    pub payload_len: u32,
    /// Where this segment's option bytes start in the connection's option store.
    pub(crate) options_at: u32,
    pub window_raw: u16,
    pub flags: TcpFlags,
    pub analysis: AnalysisFlags,
    pub(crate) options_len: u8,
    pub dir: Direction,
    /// Each side's state after this segment.
    pub states: PerSide<TcpState>,
    /// A state a side passed through within this segment, e.g. FIN_WAIT_2 on the way from
    /// FIN_WAIT_1 to TIME_WAIT (one byte each: `TcpState` leaves `Option` a niche).
    pub via: PerSide<Option<TcpState>>,
}

impl Segment {
    /// The state-machine view of this segment.
    pub fn view(&self) -> SegmentView {
        SegmentView { flags: self.flags, seq: self.seq_raw, ack: self.ack_raw, payload_len: self.payload_len }
    }
    /// Sets one side's state, clearing any state passed through.
    pub fn set_state(&mut self, side: Side, state: TcpState) {
        self.states[side] = state;
        self.via[side] = None;
    }
    /// The state one side passed through within this segment, if any.
    pub fn via(&self, side: Side) -> Option<TcpState> {
        self.via[side]
    }
    /// The state of one side after this segment.
    pub fn state(&self, side: Side) -> TcpState {
        self.states[side]
    }
    /// Sequence number just past this segment (payload, SYN and FIN counted).
    pub fn seq_end_raw(&self) -> u32 {
        self.view().seq_end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_record_is_forty_bytes() {
        assert_eq!(std::mem::size_of::<Segment>(), 40);
    }
}
