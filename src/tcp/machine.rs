//! Infers both endpoints' TCP states from what the capture point saw.
//!
//! The model: an endpoint changes state when it *sends* a segment (the capture saw it leave, so
//! the change is certain) and when it *receives* one. The capture point cannot see when a receiver
//! processes a segment; we assume it does so when the segment is captured, and correct that
//! assumption with the receiver's own next segment. A segment's ack field says which of the peer's
//! bytes, SYN and FIN its sender had processed when it sent it. When a side's next segment does
//! not acknowledge a SYN or FIN it was assumed to have received, the receipt really happened
//! after that segment left: the recorded states are corrected and the receipt is replayed after
//! the send. This is how crossing FINs on loopback become what the kernel did (FIN_WAIT_1 →
//! CLOSING → TIME_WAIT on both sides) although the capture lists one FIN first.
//!
//! A capture point also sees segments that are lost after it, and the wire later proves it:
//! - a SYN or FIN sent again before its receiver said anything was not received the first time:
//!   the receipt moves to the copy (the peer entered CLOSE_WAIT on the FIN that got through);
//! - a side that sends its own SYN or FIN again after we took the ACK of it as received had not
//!   received that ACK: it stays in LAST_ACK (or SYN_RECEIVED, FIN_WAIT_1, CLOSING) until the next.

use super::segment::Segment;
use super::state::{after_receive, after_send, receive_path, ReceiverView, SegmentView, TcpState};
use crate::wire::seq::seq_ge;
use crate::wire::{PerSide, Side, TcpFlags};

/// Linux's TIME_WAIT length (2×MSL), 60 s.
pub const DEFAULT_TIME_WAIT_NANOS: i64 = 60_000_000_000;

/// A receipt assumed at capture time that the receiver's next segment has not yet confirmed.
#[derive(Debug, Clone, Copy)]
struct PendingReceipt {
    /// Frame numbers are 32-bit, so segment indexes are too (the record is smaller).
    index: u32,
    state_before: TcpState,
    segment: SegmentView,
}

/// A receipt that moved a side because the segment acknowledged its own SYN or FIN; undone when
/// that side sends the SYN or FIN again (the ACK never reached it).
#[derive(Debug, Clone, Copy)]
struct AckReceipt {
    index: u32,
    /// SYN_RECEIVED (its SYN was acknowledged), or FIN_WAIT_1, CLOSING, LAST_ACK (its FIN).
    state_before: TcpState,
}

/// Both sides' states after a segment, and any state each passed through within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub states: PerSide<TcpState>,
    /// The state a side passed through within the segment, if any.
    pub via: PerSide<Option<TcpState>>,
}

/// Both endpoints' inferred states and what the inference needs to remember.
#[derive(Debug, Clone)]
pub struct StateMachine {
    states: PerSide<TcpState>,
    views: PerSide<ReceiverView>,
    pending: PerSide<Option<PendingReceipt>>,
    acked: PerSide<Option<AckReceipt>>,
    time_wait_since: PerSide<Option<i64>>,
    time_wait_nanos: i64,
}

impl StateMachine {
    /// A machine for a new connection; `time_wait_nanos` is 2×MSL.
    pub fn new(time_wait_nanos: i64) -> Self {
        Self {
            states: PerSide::new(TcpState::Unknown, TcpState::Unknown),
            views: PerSide::default(),
            pending: PerSide::default(),
            acked: PerSide::default(),
            time_wait_since: PerSide::default(),
            time_wait_nanos,
        }
    }

    /// Current states, client first, without TIME_WAIT expiry.
    pub fn states(&self) -> PerSide<TcpState> {
        self.states
    }

    /// States at capture time `ts_nanos`: a TIME_WAIT older than 2×MSL has become CLOSED.
    pub fn states_at(&self, ts_nanos: i64) -> PerSide<TcpState> {
        PerSide::from_fn(
            |side| {
                if self.time_wait_expired(side, ts_nanos) {
                    TcpState::Closed
                } else {
                    self.states[side]
                }
            },
        )
    }

    /// For each side, the segment whose receipt it was assumed to process and that no later
    /// segment of its confirmed: the state it took there is not visible in the capture.
    pub fn unconfirmed_receipts(&self) -> PerSide<Option<usize>> {
        PerSide::from_fn(|side| self.pending[side].map(|p| p.index as usize))
    }

    /// When each side entered TIME_WAIT, if it did.
    pub fn time_wait_since(&self) -> PerSide<Option<i64>> {
        self.time_wait_since
    }

    /// 2×MSL in nanoseconds.
    pub fn time_wait_nanos(&self) -> i64 {
        self.time_wait_nanos
    }

    fn time_wait_expired(&self, side: Side, ts_nanos: i64) -> bool {
        self.states[side] == TcpState::TimeWait
            && self.time_wait_since[side].is_some_and(|since| ts_nanos.saturating_sub(since) >= self.time_wait_nanos)
    }

    /// Processes `segment`, sent by `sender` at `ts_nanos`, advertising
    /// `window` (scaled when known). `history` holds the connection's earlier segments, whose
    /// recorded states may be corrected. Returns both sides' states after the segment.
    pub fn on_segment(
        &mut self,
        sender: Side,
        segment: &SegmentView,
        window: u32,
        ts_nanos: i64,
        history: &mut [Segment],
    ) -> Transition {
        let receiver = sender.other();
        let expired = PerSide::from_fn(|side| self.time_wait_expired(side, ts_nanos));
        for side in Side::BOTH {
            if expired[side] {
                self.states[side] = TcpState::Closed;
            }
        }
        let mut via = PerSide::new(None, None);
        // A RST outside the receiver's window is blind, stale or forged: no evidence that the
        // socket it claims to come from closed (a storm of them must not close the sender).
        if self.rst_would_be_ignored(receiver, segment) {
            return Transition { states: self.states, via };
        }
        let replay = self.check_pending(sender, segment, history);
        // Only a SYN, FIN or RST can show a receipt lost: data and ACKs (most segments) skip it.
        if segment.flags.0 & (TcpFlags::SYN | TcpFlags::FIN | TcpFlags::RST) != 0 {
            self.undo_unreceived_ack(sender, segment, history);
            self.move_unconfirmed_receipt(receiver, segment, history);
        }
        let sender_before = self.states[sender];
        self.send(sender, segment, window, history);
        if let Some(pending) = replay {
            let after_send = self.states[sender];
            self.states[sender] = after_receive(after_send, &pending.segment, &self.views[sender]);
            self.note_time_wait(sender, after_send, ts_nanos);
            if after_send != sender_before && after_send != self.states[sender] {
                via[sender] = Some(after_send);
            }
        }
        via[receiver] = self.receive(receiver, segment, history.len(), ts_nanos);
        for side in Side::BOTH {
            // An expired TIME_WAIT closed silently; a side that moves on went through CLOSED.
            if expired[side] && via[side].is_none() && self.states[side] != TcpState::Closed {
                via[side] = Some(TcpState::Closed);
            }
        }
        Transition { states: self.states, via }
    }

    /// Returns the pending receipt to replay after this send when `segment` shows the sender had
    /// not processed it yet, after rewriting the states recorded since.
    fn check_pending(
        &mut self,
        sender: Side,
        segment: &SegmentView,
        history: &mut [Segment],
    ) -> Option<PendingReceipt> {
        let pending = self.pending[sender].take()?;
        let processed = segment.flags.ack() && seq_ge(segment.ack, pending.segment.seq_end());
        // A RST's ack field is not evidence of anything the sender processed.
        if processed || segment.flags.rst() {
            return None;
        }
        self.states[sender] = pending.state_before;
        for earlier in history.iter_mut().skip(pending.index as usize) {
            earlier.set_state(sender, pending.state_before);
        }
        Some(pending)
    }

    /// `segment` repeats the SYN or FIN whose receipt by `receiver` is still unconfirmed (the
    /// receiver has sent nothing since): the first copy was lost, so the receipt is undone here and
    /// happens again on this copy.
    fn move_unconfirmed_receipt(&mut self, receiver: Side, segment: &SegmentView, history: &mut [Segment]) {
        let Some(pending) = self.pending[receiver] else { return };
        if !carries_syn_or_fin(segment) || segment.seq_end() != pending.segment.seq_end() {
            return;
        }
        self.pending[receiver] = None;
        self.rewind(receiver, pending.index, pending.state_before, history);
    }

    /// `sender` sends its own SYN or FIN again although a receipt took its ACK as received: the
    /// ACK never reached it, and the states since are undone.
    fn undo_unreceived_ack(&mut self, sender: Side, segment: &SegmentView, history: &mut [Segment]) {
        let Some(acked) = self.acked[sender] else { return };
        // A RST without ACK is the reply of a side with no connection (RFC 9293 §3.10.7.1): the
        // handshake's ACK never made a socket there (Linux with tcp_abort_on_overflow, when the
        // accept queue is full, answers the next segment so). Only as an answer to the peer's
        // segment: RFC 793's abort sends a bare RST too, unprompted.
        let answers_the_peer = history
            .last()
            .is_some_and(|last| last.dir.sender() != sender && (last.payload_len > 0 || last.flags.fin()));
        let reply_reset = segment.flags.rst() && !segment.flags.ack() && answers_the_peer;
        if reply_reset && acked.state_before == TcpState::SynReceived {
            self.acked[sender] = None;
            self.rewind(sender, acked.index, acked.state_before, history);
            return;
        }
        let view = &self.views[sender];
        let acknowledged_end = if acked.state_before == TcpState::SynReceived { view.syn_end } else { view.fin_end };
        // A SYN-ACK answering the peer's repeated SYN is a reply, not this side's own timer.
        let reply = segment.flags.syn() && view.syn_unanswered;
        if !carries_syn_or_fin(segment) || reply || Some(segment.seq_end()) != acknowledged_end {
            return;
        }
        self.acked[sender] = None;
        self.rewind(sender, acked.index, acked.state_before, history);
    }

    /// Sets `side` back to `state` from segment `index` on.
    fn rewind(&mut self, side: Side, index: u32, state: TcpState, history: &mut [Segment]) {
        self.states[side] = state;
        if state != TcpState::TimeWait {
            self.time_wait_since[side] = None;
        }
        for earlier in history.iter_mut().skip(index as usize) {
            earlier.set_state(side, state);
        }
    }

    fn send(&mut self, sender: Side, segment: &SegmentView, window: u32, history: &mut [Segment]) {
        let before = self.states[sender];
        let after = after_send(before, segment);
        if after == TcpState::SynReceived && before == TcpState::Unknown {
            // Answering a SYN with SYN-ACK shows this side was listening all along.
            for earlier in history.iter_mut().filter(|s| s.state(sender) == TcpState::Unknown) {
                earlier.set_state(sender, TcpState::Listen);
            }
        }
        self.states[sender] = after;
        let view = &mut self.views[sender];
        if segment.flags.syn() && !segment.flags.rst() {
            view.syn_end = Some(segment.seq.wrapping_add(1));
        }
        if segment.flags.fin() && !segment.flags.rst() {
            view.fin_end = Some(segment.seq_end());
        }
        view.rcv_window = window;
        if segment.flags.syn() {
            view.syn_unanswered = false;
        }
    }

    /// Applies a receipt; returns the state passed through on the way, if any.
    fn receive(&mut self, receiver: Side, segment: &SegmentView, index: usize, ts_nanos: i64) -> Option<TcpState> {
        let before = self.states[receiver];
        let (via, after) = receive_path(before, segment, &self.views[receiver]);
        self.states[receiver] = after;
        self.note_time_wait(receiver, before, ts_nanos);
        if segment.flags.syn() && !segment.flags.ack() {
            self.views[receiver].syn_unanswered = true;
        }
        if after != before && !segment.flags.rst() {
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            // The states an ACK of this side's own SYN or FIN moves it out of.
            if matches!(before, TcpState::SynReceived | TcpState::FinWait1 | TcpState::Closing | TcpState::LastAck) {
                self.acked[receiver] = Some(AckReceipt { index, state_before: before });
            }
            if segment.flags.syn() || segment.flags.fin() {
                self.pending[receiver] = Some(PendingReceipt { index, state_before: before, segment: *segment });
            }
        }
        if !segment.flags.rst() {
            let end = segment.seq_end();
            let view = &mut self.views[receiver];
            if view.rcv_next.is_none_or(|next| seq_ge(end, next)) {
                view.rcv_next = Some(end);
            }
        }
        via
    }

    fn note_time_wait(&mut self, side: Side, before: TcpState, ts_nanos: i64) {
        if self.states[side] == TcpState::TimeWait && before != TcpState::TimeWait {
            self.time_wait_since[side] = Some(ts_nanos);
        }
    }

    /// True when the receiver ignored this RST (its sequence number is outside the window).
    pub fn rst_would_be_ignored(&self, receiver: Side, segment: &SegmentView) -> bool {
        segment.flags.rst() && !self.views[receiver].accepts_rst(self.states[receiver], segment)
    }
}

/// A SYN or FIN that is not part of a RST: what a copy of a lost control segment looks like.
fn carries_syn_or_fin(segment: &SegmentView) -> bool {
    (segment.flags.syn() || segment.flags.fin()) && !segment.flags.rst()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::segment::{AnalysisFlags, Direction};
    use crate::tcp::test_support::flags::{A, F, P, R, S};
    use crate::wire::TcpFlags;
    use TcpState::*;

    /// Feeds (sender, flags, seq, ack, len) and returns the states after each.
    fn run(steps: &[(usize, u16, u32, u32, u32)]) -> Vec<[TcpState; 2]> {
        let mut machine = StateMachine::new(DEFAULT_TIME_WAIT_NANOS);
        let mut history: Vec<Segment> = Vec::new();
        for (i, &(sender, flags, seq, ack, len)) in steps.iter().enumerate() {
            let view = SegmentView { flags: TcpFlags(flags), seq, ack, payload_len: len };
            let transition = machine.on_segment(side(sender), &view, 65535, i as i64, &mut history);
            let states = transition.states;
            history.push(Segment {
                ts_nanos: i as i64,
                frame: i as u32 + 1,
                seq_raw: seq,
                ack_raw: ack,
                payload_len: len,
                options_at: 0,
                window_raw: 65535,
                flags: TcpFlags(flags),
                analysis: AnalysisFlags::default(),
                options_len: 0,
                dir: Direction::sent_by(side(sender)),
                states,
                via: transition.via,
            });
        }
        history.iter().map(|segment| segment.states.into_array()).collect()
    }

    /// The tables below write the client as 0 and the server as 1.
    fn side(index: usize) -> Side {
        if index == 0 {
            Side::Client
        } else {
            Side::Server
        }
    }

    const HANDSHAKE: [(usize, u16, u32, u32, u32); 3] =
        [(0, S, 100, 0, 0), (1, S | A, 500, 101, 0), (0, A, 101, 501, 0)];

    #[test]
    fn three_way_handshake_backfills_listen() {
        let states = run(&HANDSHAKE);
        assert_eq!(states, vec![[SynSent, Listen], [Established, SynReceived], [Established, Established]]);
    }

    #[test]
    fn client_closes_first() {
        let mut steps = HANDSHAKE.to_vec();
        steps.extend([(0, F | A, 101, 501, 0), (1, A, 501, 102, 0), (1, F | A, 501, 102, 0), (0, A, 102, 502, 0)]);
        let states = run(&steps);
        assert_eq!(
            &states[3..],
            &[[FinWait1, CloseWait], [FinWait2, CloseWait], [TimeWait, LastAck], [TimeWait, Closed]]
        );
    }

    #[test]
    fn crossing_fins_are_a_simultaneous_close() {
        let mut steps = HANDSHAKE.to_vec();
        // The server's FIN does not acknowledge the client's: it was sent before the client's arrived.
        steps.extend([(0, F | A, 101, 501, 0), (1, F | A, 501, 101, 0), (0, A, 102, 502, 0), (1, A, 502, 102, 0)]);
        let states = run(&steps);
        assert_eq!(
            &states[3..],
            &[[FinWait1, Established], [Closing, Closing], [Closing, TimeWait], [TimeWait, TimeWait]]
        );
    }

    #[test]
    fn a_reply_reset_after_the_handshake_shows_the_server_never_had_the_connection() {
        let mut steps = HANDSHAKE.to_vec();
        steps.extend([(0, P | A, 101, 501, 8), (1, R, 501, 0, 0)]);
        let states = run(&steps);
        assert_eq!(&states[2..], &[[Established, SynReceived], [Established, SynReceived], [Closed, Closed]]);
    }

    #[test]
    fn refused_connect() {
        let states = run(&[(0, S, 100, 0, 0), (1, R | A, 0, 101, 0)]);
        assert_eq!(states, vec![[SynSent, Unknown], [Closed, Closed]]);
    }

    #[test]
    fn data_after_peer_closed_draws_a_reset() {
        let mut steps = HANDSHAKE.to_vec();
        steps.extend([(1, F | A, 501, 101, 0), (0, A, 101, 502, 0), (0, P | A, 101, 502, 5), (1, R, 502, 0, 0)]);
        let states = run(&steps);
        assert_eq!(
            &states[3..],
            &[[CloseWait, FinWait1], [CloseWait, FinWait2], [CloseWait, FinWait2], [Closed, Closed]]
        );
    }

    #[test]
    fn a_fin_sent_again_before_any_answer_was_received_on_the_copy() {
        let mut steps = HANDSHAKE.to_vec();
        steps.extend([(0, F | A, 101, 501, 0), (0, F | A, 101, 501, 0), (1, A, 501, 102, 0)]);
        let states = run(&steps);
        assert_eq!(&states[3..], &[[FinWait1, Established], [FinWait1, CloseWait], [FinWait2, CloseWait]]);
    }

    #[test]
    fn a_fin_sent_again_after_its_ack_shows_the_ack_was_lost() {
        let mut steps = HANDSHAKE.to_vec();
        steps.extend([(0, F | A, 101, 501, 0), (1, A, 501, 102, 0), (1, F | A, 501, 102, 0), (0, A, 102, 502, 0)]);
        // The client's last ACK is lost: the server sends its FIN again and is closed by the next ACK.
        steps.extend([(1, F | A, 501, 102, 0), (0, A, 102, 502, 0)]);
        let states = run(&steps);
        assert_eq!(&states[5..], &[[TimeWait, LastAck], [TimeWait, LastAck], [TimeWait, LastAck], [TimeWait, Closed]]);
    }

    #[test]
    fn a_syn_ack_sent_again_after_the_handshake_ack_shows_that_ack_was_lost() {
        let mut steps = HANDSHAKE.to_vec();
        steps.extend([(1, S | A, 500, 101, 0), (0, A, 101, 501, 0)]);
        let states = run(&steps);
        assert_eq!(&states[2..], &[[Established, SynReceived], [Established, SynReceived], [Established, Established]]);
        // A SYN-ACK that answers a repeated SYN is a reply, not a sign of a lost ACK.
        let mut replied = HANDSHAKE.to_vec();
        replied.splice(2..2, [(0, S, 100, 0, 0)]);
        replied.push((1, S | A, 500, 101, 0));
        assert_eq!(run(&replied).last(), Some(&[Established, Established]));
    }

    #[test]
    fn rst_in_each_synchronized_state_closes_the_receiver() {
        // Server-first close, then a RST from the client at each step of the server's close.
        let mut base = HANDSHAKE.to_vec();
        base.push((1, F | A, 501, 101, 0));
        let mut after_fin = base.clone();
        after_fin.push((0, R, 101, 0, 0));
        assert_eq!(run(&after_fin)[4], [Closed, Closed], "RST received in FIN_WAIT_1");
        let mut in_fin_wait_2 = base.clone();
        in_fin_wait_2.extend([(0, A, 101, 502, 0), (0, R, 101, 0, 0)]);
        assert_eq!(run(&in_fin_wait_2)[5], [Closed, Closed], "RST received in FIN_WAIT_2");
        let mut in_last_ack = HANDSHAKE.to_vec();
        in_last_ack.extend([(0, F | A, 101, 501, 0), (1, F | A, 501, 102, 0), (0, R, 102, 0, 0)]);
        assert_eq!(run(&in_last_ack)[5], [Closed, Closed], "RST received in LAST_ACK");
        let syn_received = run(&[(0, S, 100, 0, 0), (1, S | A, 500, 101, 0), (0, R, 101, 0, 0)]);
        assert_eq!(syn_received[2], [Closed, Closed], "RST received in SYN_RECEIVED");
    }

    #[test]
    fn a_capture_that_starts_mid_stream_learns_states_from_each_side() {
        let states = run(&[(0, P | A, 1000, 5000, 10), (1, A, 5000, 1010, 0), (1, F | A, 5000, 1010, 0)]);
        assert_eq!(states[0], [Established, Unknown]);
        assert_eq!(states[1], [Established, Established]);
        assert_eq!(states[2], [CloseWait, FinWait1]);
    }

    #[test]
    fn rst_out_of_window_changes_nothing() {
        let mut steps = HANDSHAKE.to_vec();
        steps.push((1, R, 900_000, 0, 0));
        let states = run(&steps);
        assert_eq!(states[3], [Established, Established]);
    }

    #[test]
    fn simultaneous_open() {
        let states = run(&[(0, S, 100, 0, 0), (1, S, 500, 0, 0), (0, S | A, 100, 501, 0), (1, S | A, 500, 101, 0)]);
        assert_eq!(states[1], [SynReceived, SynSent]);
        assert_eq!(states[3], [Established, Established]);
    }

    #[test]
    fn time_wait_expires_after_two_msl() {
        let mut machine = StateMachine::new(10);
        let mut history = Vec::new();
        let seg = |flags, seq, ack| SegmentView { flags: TcpFlags(flags), seq, ack, payload_len: 0 };
        machine.on_segment(side(0), &seg(S, 100, 0), 1, 0, &mut history);
        machine.on_segment(side(1), &seg(S | A, 500, 101), 1, 1, &mut history);
        machine.on_segment(side(0), &seg(A, 101, 501), 1, 2, &mut history);
        machine.on_segment(side(0), &seg(F | A, 101, 501), 1, 3, &mut history);
        machine.on_segment(side(1), &seg(F | A, 501, 102), 1, 4, &mut history);
        assert_eq!(machine.states_at(5).client, TimeWait);
        assert_eq!(machine.states_at(14).client, Closed);
        // Sending again after expiry goes through CLOSED, never straight out of TIME_WAIT.
        let moved = machine.on_segment(side(0), &seg(S | A | F, 102, 502), 1, 20, &mut history);
        assert_eq!(moved.states.client, FinWait1);
        assert_eq!(moved.via.client, Some(Closed));
    }
}
