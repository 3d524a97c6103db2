//! Wireshark's TCP sequence analysis (`tcp.analysis.*`), per direction, as in Wireshark 4.0's
//! `tcp_analyze_sequence_number`: retransmissions, out-of-order, lost and ACKed-unseen segments,
//! duplicate ACKs, zero windows and probes, keep-alives, window updates and window full.
//!
//! One decision differs from Wireshark's, on purpose: a segment carrying bytes the capture has
//! already shown is a retransmission, whatever its timing. Wireshark calls a segment below the
//! highest one "out-of-order" when it comes within an RTT of it, so during SACK recovery on a fast
//! path it calls most retransmissions out-of-order (checked against the kernel's own
//! `tcp_retransmit_skb` record in `tests/loss.rs`). Only bytes never seen can be out of order.

use super::seen_bytes::SeenBytes;
use super::segment::AnalysisFlags;
use crate::wire::seq::{seq_gt, seq_lt};
use crate::wire::TcpFlags;

/// Fast retransmissions follow the duplicate ACKs within 20 ms.
const FAST_RETRANSMISSION_WINDOW_NANOS: i64 = 20_000_000;
/// How far below `next_seq` a new gap record takes bytes as seen (a window is far smaller).
const SEEN_BELOW: u32 = 1 << 30;
/// Without a handshake RTT, out-of-order means within 3 ms of the highest segment.
const DEFAULT_OUT_OF_ORDER_NANOS: i64 = 3_000_000;

/// What one direction's analysis remembers between segments.
#[derive(Debug, Clone, Default)]
pub struct FlowAnalysis {
    next_seq: Option<u32>,
    next_seq_time: i64,
    max_seq_to_be_acked: Option<u32>,
    last_ack: u32,
    last_ack_time: i64,
    dup_ack_count: u32,
    /// Scaled window of this direction's last segment; `None` before the first.
    window: Option<u32>,
    last_segment_flags: AnalysisFlags,
    /// Which bytes below `next_seq` the capture has shown, once a gap appeared; until then (most
    /// connections, all their lives) every byte below `next_seq` was seen, and nothing is held.
    gaps: Option<Box<SeenBytes>>,
}

/// The facts about one segment Wireshark's sequence analysis needs, computed once as the packet
/// arrives: the scaled window and the time, which neither the decoded packet nor the state
/// machine's [`super::state::SegmentView`] carries. A struct of its own so the analysis is tested
/// without building a connection.
#[derive(Debug, Clone, Copy)]
pub struct SegmentFacts {
    pub ts_nanos: i64,
    pub flags: TcpFlags,
    pub seq: u32,
    /// 0 when the ACK flag is clear, as Wireshark treats it.
    pub ack: u32,
    pub payload_len: u32,
    /// Scaled window (raw when the scale is unknown).
    pub window: u32,
    /// The receiving direction's window scale shift, when known: for "window full".
    pub reverse_window_shift_known: bool,
}

/// Analyses one segment travelling in `fwd`; `rev` is the other direction. `first_rtt_nanos` is
/// the handshake RTT when known. Returns the flags and the duplicate-ACK number (0 if none).
pub fn analyze(
    fwd: &mut FlowAnalysis,
    rev: &mut FlowAnalysis,
    segment: &SegmentFacts,
    first_rtt_nanos: Option<i64>,
) -> (AnalysisFlags, u32) {
    let mut flags = AnalysisFlags::default();
    let seq = segment.seq;
    let ack = segment.ack;
    let len = segment.payload_len;
    let control = segment.flags.syn() || segment.flags.fin() || segment.flags.rst();
    let rev_window = rev.window.unwrap_or(u32::MAX);
    let fwd_next = fwd.next_seq;
    let mut dup_ack_num = 0;

    'fwd: {
        if len == 1 && fwd_next == Some(seq) && rev_window == 0 {
            flags.set(AnalysisFlags::ZERO_WINDOW_PROBE);
            break 'fwd;
        }
        if segment.window == 0 && !control {
            flags.set(AnalysisFlags::ZERO_WINDOW);
        }
        if fwd_next.is_some_and(|next| seq_gt(seq, next)) && !segment.flags.rst() {
            flags.set(AnalysisFlags::LOST_SEGMENT);
        }
        if len <= 1 && fwd_next.is_some_and(|next| seq == next.wrapping_sub(1)) && !control {
            flags.set(AnalysisFlags::KEEP_ALIVE);
        }
        let same_position = len == 0 && fwd_next == Some(seq) && ack == fwd.last_ack && !control;
        if same_position && segment.window != 0 && fwd.window.is_some_and(|w| w != segment.window) {
            flags.set(AnalysisFlags::WINDOW_UPDATE);
        }
        if len > 0 && segment.reverse_window_shift_known && !control {
            let edge = rev.last_ack.wrapping_add(rev_window);
            if seq.wrapping_add(len) == edge {
                flags.set(AnalysisFlags::WINDOW_FULL);
            }
        }
        let same_window = fwd.window == Some(segment.window);
        if same_position && segment.window != 0 && same_window && rev.last_segment_flags.has(AnalysisFlags::KEEP_ALIVE)
        {
            flags.set(AnalysisFlags::KEEP_ALIVE_ACK);
            break 'fwd;
        }
        if len == 0
            && segment.window == 0
            && same_window
            && fwd_next == Some(seq)
            && (ack == fwd.last_ack || ack == fwd.last_ack.wrapping_add(1))
            && rev.last_segment_flags.has(AnalysisFlags::ZERO_WINDOW_PROBE)
            && !control
        {
            flags.set(AnalysisFlags::ZERO_WINDOW_PROBE_ACK);
            break 'fwd;
        }
        if same_position && segment.window != 0 && same_window {
            fwd.dup_ack_count += 1;
            dup_ack_num = fwd.dup_ack_count;
            flags.set(AnalysisFlags::DUPLICATE_ACK);
        }
    }

    if ack != fwd.last_ack {
        fwd.dup_ack_count = 0;
    }
    if segment.flags.ack() && rev.max_seq_to_be_acked.is_some_and(|max| seq_gt(ack, max)) {
        flags.set(AnalysisFlags::ACK_LOST_SEGMENT);
        rev.max_seq_to_be_acked = rev.next_seq;
    }

    if let (true, Some(gaps)) = (segment.flags.ack(), rev.gaps.as_mut()) {
        gaps.forget_below(ack);
    }
    let carries = len > 0 || segment.flags.syn() || segment.flags.fin();
    if carries && !flags.has(AnalysisFlags::KEEP_ALIVE) {
        classify_retransmission(fwd, rev, segment, first_rtt_nanos, &mut flags);
        if !flags.has(AnalysisFlags::ZERO_WINDOW_PROBE) {
            note_seen(fwd, seq, seq.wrapping_add(len).wrapping_add(segment.flags.seq_space()));
        }
    }

    let mut next_seq = seq.wrapping_add(len);
    if segment.flags.syn() || segment.flags.fin() {
        next_seq = next_seq.wrapping_add(1);
    }
    let probe = flags.has(AnalysisFlags::ZERO_WINDOW_PROBE);
    if !probe && fwd.next_seq.is_none_or(|current| seq_gt(next_seq, current)) {
        fwd.next_seq = Some(next_seq);
        fwd.next_seq_time = segment.ts_nanos;
    }
    if !probe && fwd.max_seq_to_be_acked.is_none_or(|max| max == seq) {
        fwd.max_seq_to_be_acked = fwd.next_seq;
    }
    fwd.window = Some(segment.window);
    fwd.last_ack = ack;
    fwd.last_ack_time = segment.ts_nanos;
    fwd.last_segment_flags = flags;
    (flags, dup_ack_num)
}

/// True when the capture showed any of `[start, end)` before.
fn seen_before(fwd: &FlowAnalysis, start: u32, end: u32) -> bool {
    match (&fwd.gaps, fwd.next_seq) {
        (Some(gaps), _) => gaps.overlaps(start, end),
        (None, Some(next)) => seq_lt(start, next),
        (None, None) => false,
    }
}

/// Records `[start, end)` as seen; the first segment beyond `next_seq` opens a gap record.
fn note_seen(fwd: &mut FlowAnalysis, start: u32, end: u32) {
    let Some(next) = fwd.next_seq else { return };
    if fwd.gaps.is_none() && seq_gt(start, next) {
        let mut gaps = SeenBytes::default();
        // Everything below next_seq counts as seen, as it did without a record; the peer's ACKs
        // trim the range from below.
        gaps.insert(next.wrapping_sub(SEEN_BELOW), next);
        fwd.gaps = Some(Box::new(gaps));
    }
    if let Some(gaps) = fwd.gaps.as_mut() {
        gaps.insert(start, end);
        // Every gap filled: back to holding nothing.
        let end_of_stream = if seq_gt(end, next) { end } else { next };
        if gaps.is_contiguous_to(end_of_stream) {
            fwd.gaps = None;
        }
    }
}

fn classify_retransmission(
    fwd: &FlowAnalysis,
    rev: &FlowAnalysis,
    segment: &SegmentFacts,
    first_rtt_nanos: Option<i64>,
    flags: &mut AnalysisFlags,
) {
    let seq = segment.seq;
    let len = segment.payload_len;
    let mut not_advanced = fwd.next_seq.is_some_and(|next| seq_lt(seq, next));
    // One byte short of next_seq with more than a byte of data: a zero-window probe's successor.
    if len > 1 && fwd.next_seq.is_some_and(|next| next.wrapping_sub(1) == seq) {
        not_advanced = false;
    }
    if len > 0 && rev.last_ack != 0 && !seq_gt(seq.wrapping_add(len), rev.last_ack) {
        flags.set(AnalysisFlags::SPURIOUS_RETRANSMISSION);
        return;
    }
    if !not_advanced {
        return;
    }
    let since_dup_acks = segment.ts_nanos.saturating_sub(rev.last_ack_time);
    if rev.dup_ack_count >= 2 && rev.last_ack == seq && since_dup_acks < FAST_RETRANSMISSION_WINDOW_NANOS {
        flags.set(AnalysisFlags::FAST_RETRANSMISSION);
        return;
    }
    let segment_end = seq.wrapping_add(len).wrapping_add(segment.flags.seq_space());
    let acknowledged = rev.last_ack != 0 && seq_lt(seq, rev.last_ack);
    if acknowledged || seen_before(fwd, seq, segment_end) {
        flags.set(AnalysisFlags::RETRANSMISSION);
        return;
    }
    let since_highest = segment.ts_nanos.saturating_sub(fwd.next_seq_time);
    let threshold = first_rtt_nanos.filter(|&rtt| rtt > 0).unwrap_or(DEFAULT_OUT_OF_ORDER_NANOS);
    if since_highest < threshold && fwd.next_seq != Some(segment_end) {
        flags.set(AnalysisFlags::OUT_OF_ORDER);
        return;
    }
    flags.set(AnalysisFlags::RETRANSMISSION);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(ts: i64, flags: u16, seq: u32, ack: u32, len: u32, window: u32) -> SegmentFacts {
        SegmentFacts {
            ts_nanos: ts,
            flags: TcpFlags(flags),
            seq,
            ack,
            payload_len: len,
            window,
            reverse_window_shift_known: true,
        }
    }
    const A: u16 = TcpFlags::ACK;

    #[test]
    fn repeated_data_is_a_retransmission_and_repeated_acks_are_duplicates() {
        let (mut client, mut server) = (FlowAnalysis::default(), FlowAnalysis::default());
        analyze(&mut client, &mut server, &facts(0, A, 1, 1, 100, 1000), None);
        let (flags, _) = analyze(&mut client, &mut server, &facts(1_000_000_000, A, 1, 1, 100, 1000), None);
        assert!(flags.has(AnalysisFlags::RETRANSMISSION));
        analyze(&mut server, &mut client, &facts(0, A, 1, 101, 0, 5000), None);
        let (flags, num) = analyze(&mut server, &mut client, &facts(1, A, 1, 101, 0, 5000), None);
        assert!(flags.has(AnalysisFlags::DUPLICATE_ACK));
        assert_eq!(num, 1);
    }

    #[test]
    fn bytes_seen_before_are_a_retransmission_even_within_an_rtt_and_unseen_ones_out_of_order() {
        let (mut client, mut server) = (FlowAnalysis::default(), FlowAnalysis::default());
        let rtt = Some(1_000_000);
        analyze(&mut client, &mut server, &facts(0, A, 1, 1, 100, 1000), rtt);
        // 101..201 never appears: 201..301 arrives, then 1..101 again at once (SACK recovery) and
        // 101..201 late, within an RTT of the highest segment.
        analyze(&mut client, &mut server, &facts(10, A, 201, 1, 100, 1000), rtt);
        let (again, _) = analyze(&mut client, &mut server, &facts(20, A, 1, 1, 100, 1000), rtt);
        assert!(again.has(AnalysisFlags::RETRANSMISSION) && !again.has(AnalysisFlags::OUT_OF_ORDER));
        let (late, _) = analyze(&mut client, &mut server, &facts(30, A, 101, 1, 100, 1000), rtt);
        assert!(late.has(AnalysisFlags::OUT_OF_ORDER), "{late:?}");
    }

    #[test]
    fn a_gap_is_a_lost_segment_and_zero_window_is_flagged() {
        let (mut client, mut server) = (FlowAnalysis::default(), FlowAnalysis::default());
        analyze(&mut client, &mut server, &facts(0, A, 1, 1, 100, 1000), None);
        let (flags, _) = analyze(&mut client, &mut server, &facts(1, A, 500, 1, 100, 0), None);
        assert!(flags.has(AnalysisFlags::LOST_SEGMENT));
        assert!(flags.has(AnalysisFlags::ZERO_WINDOW));
    }
}
