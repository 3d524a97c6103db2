//! The TCP states of RFC 9293 §3.3.2, and how one endpoint moves between them when it sends or
//! receives a segment. These are pure functions of (state, segment); which event happens when is
//! decided in [`super::machine`].

use std::fmt;

use serde::Serialize;

use crate::wire::seq::{seq_diff, seq_ge};
use crate::wire::{TcpFlags, TcpPacket};

/// One endpoint's TCP state, plus `Unknown` until the wire shows evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
#[repr(u8)]
pub enum TcpState {
    #[default]
    Unknown,
    Closed,
    Listen,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
}

/// The phase of a connection's life a state belongs to: what decides its colour everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatePhase {
    Opening,
    Established,
    Closing,
    TimeWait,
    Closed,
    Unknown,
}

impl TcpState {
    /// The phase this state belongs to.
    pub fn phase(self) -> StatePhase {
        use TcpState::*;
        match self {
            Listen | SynSent | SynReceived => StatePhase::Opening,
            Established => StatePhase::Established,
            FinWait1 | FinWait2 | CloseWait | Closing | LastAck => StatePhase::Closing,
            TimeWait => StatePhase::TimeWait,
            Closed => StatePhase::Closed,
            Unknown => StatePhase::Unknown,
        }
    }

    /// Every state, in RFC order.
    pub const ALL: [TcpState; 12] = [
        Self::Unknown,
        Self::Closed,
        Self::Listen,
        Self::SynSent,
        Self::SynReceived,
        Self::Established,
        Self::FinWait1,
        Self::FinWait2,
        Self::CloseWait,
        Self::Closing,
        Self::LastAck,
        Self::TimeWait,
    ];

    /// The name `netstat` and `ss` users know.
    pub fn name(self) -> &'static str {
        match self {
            Self::Unknown => "UNKNOWN",
            Self::Closed => "CLOSED",
            Self::Listen => "LISTEN",
            Self::SynSent => "SYN_SENT",
            Self::SynReceived => "SYN_RECEIVED",
            Self::Established => "ESTABLISHED",
            Self::FinWait1 => "FIN_WAIT_1",
            Self::FinWait2 => "FIN_WAIT_2",
            Self::CloseWait => "CLOSE_WAIT",
            Self::Closing => "CLOSING",
            Self::LastAck => "LAST_ACK",
            Self::TimeWait => "TIME_WAIT",
        }
    }

    /// Parses a name as printed by [`TcpState::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.name() == name)
    }

    /// States in which both sequence spaces are known (RFC 9293's "synchronized states").
    pub fn is_synchronized(self) -> bool {
        matches!(
            self,
            Self::Established
                | Self::FinWait1
                | Self::FinWait2
                | Self::CloseWait
                | Self::Closing
                | Self::LastAck
                | Self::TimeWait
        )
    }
}

impl fmt::Display for TcpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for TcpState {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// What a segment carries, as far as the state machine cares: 13 bytes, built from the decoded
/// packet as it arrives or from a stored [`super::Segment`]. It exists so that a receipt waiting
/// to be confirmed (`machine::PendingReceipt`) keeps only this, not a 40-byte segment, and so the
/// transition functions are tested on four fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentView {
    pub flags: TcpFlags,
    pub seq: u32,
    pub ack: u32,
    pub payload_len: u32,
}

impl From<&TcpPacket<'_>> for SegmentView {
    fn from(packet: &TcpPacket<'_>) -> Self {
        Self { flags: packet.flags, seq: packet.seq, ack: packet.ack, payload_len: packet.payload_len }
    }
}

impl SegmentView {
    /// The sequence number just after this segment's payload, SYN and FIN.
    pub fn seq_end(&self) -> u32 {
        self.seq.wrapping_add(self.payload_len).wrapping_add(self.flags.seq_space())
    }
}

/// What the receiving endpoint knows about itself that decides how it treats a segment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReceiverView {
    /// The sequence number just after this endpoint's SYN, once it sent one.
    pub syn_end: Option<u32>,
    /// The sequence number just after this endpoint's FIN, once it sent one.
    pub fin_end: Option<u32>,
    /// The next sequence number this endpoint expects from its peer, when known.
    pub rcv_next: Option<u32>,
    /// The window this endpoint last advertised (scaled when known).
    pub rcv_window: u32,
    /// The peer sent a SYN this endpoint has not answered yet (a SYN-ACK now is a reply).
    pub syn_unanswered: bool,
}

impl ReceiverView {
    fn acks(end: Option<u32>, segment: &SegmentView) -> bool {
        segment.flags.ack() && end.is_some_and(|end| seq_ge(segment.ack, end))
    }

    /// RFC 9293 §3.10.7.4 / RFC 5961: a RST counts only when its sequence number is in the
    /// window; in SYN-SENT, only when it acknowledges the SYN.
    pub fn accepts_rst(&self, state: TcpState, segment: &SegmentView) -> bool {
        if state == TcpState::SynSent {
            return !segment.flags.ack() || Self::acks(self.syn_end, segment);
        }
        match self.rcv_next {
            None => true,
            Some(next) => {
                let offset = i64::from(seq_diff(segment.seq, next));
                offset >= 0 && offset <= i64::from(self.rcv_window.max(1))
            }
        }
    }
}

/// The state an endpoint is in after it *sends* `segment` from `state`.
pub fn after_send(state: TcpState, segment: &SegmentView) -> TcpState {
    use TcpState::*;
    let flags = segment.flags;
    if flags.rst() {
        return Closed;
    }
    if flags.syn() {
        let next = match (flags.ack(), state) {
            (false, Unknown | Closed | SynSent) => SynSent,
            (true, Unknown | Closed | Listen | SynSent | SynReceived) => SynReceived,
            (_, other) => other,
        };
        return if flags.fin() { after_fin_sent(next) } else { next };
    }
    if flags.fin() {
        // A plain segment from an endpoint we knew nothing about shows it is synchronized.
        let from = if state == Unknown { Established } else { state };
        return after_fin_sent(from);
    }
    match state {
        // Sending a plain ACK or data shows the endpoint is synchronized.
        Unknown if flags.ack() => Established,
        SynSent if flags.ack() => Established,
        other => other,
    }
}

fn after_fin_sent(state: TcpState) -> TcpState {
    use TcpState::*;
    match state {
        Established | SynReceived | SynSent => FinWait1,
        CloseWait => LastAck,
        // FIN retransmissions, or a FIN from a state that already sent one.
        other => other,
    }
}

/// The state an endpoint is in after it *receives* `segment` in `state`.
pub fn after_receive(state: TcpState, segment: &SegmentView, me: &ReceiverView) -> TcpState {
    receive_path(state, segment, me).1
}

/// Like [`after_receive`], also giving the state passed through on the way, when the segment's
/// ACK and FIN each move the endpoint (FIN_WAIT_1 → FIN_WAIT_2 → TIME_WAIT).
pub fn receive_path(state: TcpState, segment: &SegmentView, me: &ReceiverView) -> (Option<TcpState>, TcpState) {
    let after_ack = receive_ack(state, segment, me);
    let after_fin = receive_fin(after_ack, segment, me);
    let via = (after_ack != state && after_ack != after_fin).then_some(after_ack);
    (via, after_fin)
}

fn receive_ack(state: TcpState, segment: &SegmentView, me: &ReceiverView) -> TcpState {
    use TcpState::*;
    let flags = segment.flags;
    if flags.rst() {
        if !me.accepts_rst(state, segment) {
            return state;
        }
        return Closed;
    }
    let acks_my_syn = ReceiverView::acks(me.syn_end, segment);
    let acks_my_fin = ReceiverView::acks(me.fin_end, segment);
    let mut next = state;
    if flags.syn() {
        next = match (flags.ack(), state) {
            (true, SynSent | SynReceived) if acks_my_syn => Established,
            // Simultaneous open: a bare SYN crosses ours.
            (false, SynSent) => SynReceived,
            (_, other) => other,
        };
    } else if flags.ack() {
        next = match state {
            SynReceived if acks_my_syn => Established,
            SynSent if acks_my_syn => Established,
            FinWait1 if acks_my_fin => FinWait2,
            Closing if acks_my_fin => TimeWait,
            LastAck if acks_my_fin => Closed,
            other => other,
        };
    }
    next
}

fn receive_fin(state: TcpState, segment: &SegmentView, me: &ReceiverView) -> TcpState {
    use TcpState::*;
    let acks_my_fin = ReceiverView::acks(me.fin_end, segment);
    let mut next = state;
    if segment.flags.fin() && !segment.flags.rst() {
        next = match next {
            Established | SynReceived | Unknown => CloseWait,
            FinWait1 if acks_my_fin => TimeWait,
            FinWait1 => Closing,
            FinWait2 => TimeWait,
            other => other,
        };
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::test_support::flags::{A, F, R, S};
    use TcpState::*;

    fn seg(flags: u16, seq: u32, ack: u32, len: u32) -> SegmentView {
        SegmentView { flags: TcpFlags(flags), seq, ack, payload_len: len }
    }

    // Tests for sending.

    #[test]
    fn sending_syn_synack_fin_rst() {
        assert_eq!(after_send(Closed, &seg(S, 0, 0, 0)), SynSent);
        assert_eq!(after_send(Unknown, &seg(S | A, 0, 1, 0)), SynReceived);
        assert_eq!(after_send(Established, &seg(F | A, 1, 1, 0)), FinWait1);
        assert_eq!(after_send(CloseWait, &seg(F | A, 1, 1, 0)), LastAck);
        assert_eq!(after_send(FinWait1, &seg(F | A, 1, 1, 0)), FinWait1, "FIN retransmission");
        assert_eq!(after_send(Established, &seg(R, 1, 0, 0)), Closed);
        assert_eq!(after_send(Unknown, &seg(A, 1, 1, 10)), Established, "mid-stream evidence");
    }

    // Tests for the SYN-SENT state.

    #[test]
    fn syn_sent_receives_synack_or_refusal() {
        let me = ReceiverView { syn_end: Some(101), ..Default::default() };
        assert_eq!(after_receive(SynSent, &seg(S | A, 500, 101, 0), &me), Established);
        assert_eq!(after_receive(SynSent, &seg(R | A, 0, 101, 0), &me), Closed);
        assert_eq!(after_receive(SynSent, &seg(R | A, 0, 99, 0), &me), SynSent, "RST not acking our SYN");
        assert_eq!(after_receive(SynSent, &seg(S, 500, 0, 0), &me), SynReceived, "simultaneous open");
    }

    // Tests for closing.

    #[test]
    fn passive_and_active_close() {
        let me = ReceiverView { fin_end: Some(11), ..Default::default() };
        assert_eq!(after_receive(Established, &seg(F | A, 50, 10, 0), &ReceiverView::default()), CloseWait);
        assert_eq!(after_receive(FinWait1, &seg(A, 50, 11, 0), &me), FinWait2);
        assert_eq!(after_receive(FinWait1, &seg(F | A, 50, 11, 0), &me), TimeWait);
        assert_eq!(after_receive(FinWait1, &seg(F | A, 50, 10, 0), &me), Closing, "FINs crossed");
        assert_eq!(after_receive(Closing, &seg(A, 51, 11, 0), &me), TimeWait);
        assert_eq!(after_receive(FinWait2, &seg(F | A, 50, 11, 0), &me), TimeWait);
        assert_eq!(after_receive(LastAck, &seg(A, 51, 11, 0), &me), Closed);
    }

    // Tests for RST.

    #[test]
    fn rst_outside_the_window_is_ignored() {
        let me = ReceiverView { rcv_next: Some(1000), rcv_window: 100, ..Default::default() };
        assert_eq!(after_receive(Established, &seg(R, 1000, 0, 0), &me), Closed);
        assert_eq!(after_receive(Established, &seg(R, 1050, 0, 0), &me), Closed);
        assert_eq!(after_receive(Established, &seg(R, 5000, 0, 0), &me), Established);
        assert_eq!(after_receive(Established, &seg(R, 900, 0, 0), &me), Established);
    }

    #[test]
    fn names_round_trip() {
        for state in TcpState::ALL {
            assert_eq!(TcpState::from_name(state.name()), Some(state));
        }
    }
}
