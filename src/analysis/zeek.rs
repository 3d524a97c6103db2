//! Zeek's connection summary: `conn_state` (S0, SF, REJ, RSTO, …) and `history` (ShADadFf…),
//! computed by replaying a connection's segments through Zeek's endpoint state machine
//! (`TCPSessionAdapter::UpdateStateMachine`) with the client as Zeek's originator.

use crate::tcp::{Connection, Direction, Segment};
use crate::wire::seq::seq_diff;
use crate::wire::{PerSide, Side};

/// Zeek's per-endpoint states (`TCP_ENDPOINT_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Inactive,
    SynSent,
    SynAckSent,
    Partial,
    Established,
    Closed,
    Reset,
}

/// Zeek's bit for "this letter was already recorded for this endpoint".
#[derive(Debug, Clone, Copy)]
enum Letter {
    Syn = 1,
    Fin = 2,
    Rst = 4,
    FinRst = 8,
    Data = 16,
    Ack = 32,
    MultiFlag = 64,
}

/// Zeek ignores a SYN or RST whose sequence jumps further than this from the last one seen.
const TOO_LARGE_SEQ_DELTA: i32 = 1_048_576;

#[derive(Debug, Clone, Copy)]
struct ZeekEndpoint {
    state: Endpoint,
    prev_state: Endpoint,
    start_seq: u32,
    last_seq: u32,
    seen: u8,
    last_syn: Option<u32>,
    last_fin: Option<u32>,
    last_rst: Option<u32>,
    retransmits: u64,
    retransmit_threshold: u64,
    zero_windows: u64,
    zero_window_threshold: u64,
    window_shift: u32,
    size: u64,
    /// The highest sequence number the peer acknowledged (Zeek's `ack_seq`).
    ack_seq: u32,
    fins: u32,
    /// Times `last_seq` and `ack_seq` wrapped past 2^32 (a side that sent 4 GiB or more).
    seq_wraps: u64,
    ack_wraps: u64,
    /// A FIN or RST was sent: once both sides did, Zeek stops the connection's clock.
    did_close: bool,
}

impl ZeekEndpoint {
    fn new() -> Self {
        Self {
            state: Endpoint::Inactive,
            prev_state: Endpoint::Inactive,
            start_seq: 0,
            last_seq: 0,
            seen: 0,
            last_syn: None,
            last_fin: None,
            last_rst: None,
            retransmits: 0,
            retransmit_threshold: 1,
            zero_windows: 0,
            zero_window_threshold: 1,
            window_shift: 0,
            size: 0,
            ack_seq: 0,
            fins: 0,
            seq_wraps: 0,
            ack_wraps: 0,
            did_close: false,
        }
    }

    /// Zeek's `TCP_Endpoint::Size`: the bytes sent, from the sequence space (the highest byte
    /// sent or acknowledged), the SYN and FIN octets taken off; 0 for a half-open connection
    /// found and reset.
    fn zeek_size(&self, peer: &ZeekEndpoint) -> u64 {
        let no_data_acked = self.ack_seq == self.start_seq || self.ack_seq == self.start_seq.wrapping_add(1);
        if self.prev_state == Endpoint::SynSent
            && self.state == Endpoint::Reset
            && peer.state == Endpoint::Inactive
            && !no_data_acked
        {
            return 0;
        }
        let full = |seq: u32, wraps: u64| (wraps << 32) + u64::from(seq);
        let top = full(self.last_seq, self.seq_wraps).max(full(self.ack_seq, self.ack_wraps));
        let mut size = top.wrapping_sub(u64::from(self.start_seq));
        // The SYN's octet, then the FIN's.
        size = size.saturating_sub(1);
        if self.fins > 0 {
            size = size.saturating_sub(1);
        }
        size
    }
    /// `last_seq` moves forward to `seq`, counting a wrap past 2^32.
    fn advance_last_seq(&mut self, seq: u32) {
        self.seq_wraps += u64::from(seq < self.last_seq);
        self.last_seq = seq;
    }
    fn set_state(&mut self, state: Endpoint) {
        self.prev_state = self.state;
        self.state = state;
    }
    fn is_inactive(&self) -> bool {
        matches!(self.state, Endpoint::Inactive | Endpoint::Partial)
    }
}

/// Zeek's `conn_state` and `history` for one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZeekSummary {
    pub conn_state: &'static str,
    pub history: String,
    /// `orig_bytes` and `resp_bytes`: what each side sent, as Zeek counts it from the
    /// sequence numbers (retransmissions once, bytes the capture missed included).
    pub bytes: PerSide<u64>,
    /// The time of the last packet before both sides had closed: Zeek's duration ends there,
    /// so the ACK of the last FIN does not lengthen it.
    pub last_ts_nanos: i64,
}

/// Replays `connection` through Zeek's endpoint machine.
pub fn zeek_summary(connection: &Connection) -> ZeekSummary {
    let mut endpoints = PerSide::new(ZeekEndpoint::new(), ZeekEndpoint::new());
    let mut history = String::new();
    if connection.segments.first().is_some_and(|s| s.dir == Direction::ServerToClient) {
        history.push('^');
    }
    let mut last_ts_nanos = connection.first_ts_nanos();
    for segment in &connection.segments {
        if !(endpoints.client.did_close && endpoints.server.did_close) {
            last_ts_nanos = segment.ts_nanos;
        }
        process(connection, segment, &mut endpoints, &mut history);
    }
    let PerSide { client: orig, server: resp } = endpoints;
    let bytes = PerSide::new(orig.zeek_size(&resp), resp.zeek_size(&orig));
    ZeekSummary { conn_state: conn_state(&orig, &resp, &history), history, bytes, last_ts_nanos }
}

fn process(connection: &Connection, segment: &Segment, endpoints: &mut PerSide<ZeekEndpoint>, history: &mut String) {
    let me = segment.dir.sender();
    let is_orig = me == Side::Client;
    let flags = segment.flags;
    let len = if flags.rst() { 0 } else { segment.payload_len };
    let seq = segment.seq_raw;
    let seq_one_past = seq.wrapping_add(len).wrapping_add(flags.seq_space());
    let PerSide { client, server } = endpoints;
    let (endpoint, peer) = if is_orig { (client, server) } else { (server, client) };

    if endpoint.state == Endpoint::Inactive {
        if flags.syn() {
            endpoint.start_seq = seq;
            endpoint.last_seq = seq_one_past;
        } else {
            endpoint.start_seq = seq.wrapping_sub(1);
            endpoint.last_seq = seq;
        }
        endpoint.ack_seq = endpoint.start_seq;
    }
    update_history(endpoint, is_orig, segment, history);
    let window = u32::from(segment.window_raw) << endpoint.window_shift;
    if window == 0 && !flags.rst() && peer.state != Endpoint::Closed && endpoint.state != Endpoint::Reset {
        scaled_entry(&mut endpoint.zero_windows, &mut endpoint.zero_window_threshold, is_orig, 'W', history);
    }
    if flags.syn() {
        if let Some(shift) = connection.sides[me].syn_options.and_then(|o| o.window_scale) {
            endpoint.window_shift = u32::from(shift.min(14));
        }
    }
    if flags.fin() {
        endpoint.fins += 1;
    }
    endpoint.did_close |= flags.fin() || flags.rst();
    if flags.ack() && peer.state == Endpoint::Inactive {
        peer.start_seq = segment.ack_raw.wrapping_sub(1);
        peer.last_seq = segment.ack_raw.wrapping_sub(1);
        peer.ack_seq = segment.ack_raw.wrapping_sub(1);
    } else if flags.ack() && !flags.rst() {
        // Zeek trusts no ACK in a RST, and takes an ACK of 0 far ahead for a broken one.
        let delta = seq_diff(segment.ack_raw, peer.ack_seq);
        if delta > 0 && !(segment.ack_raw == 0 && delta > TOO_LARGE_SEQ_DELTA) {
            peer.ack_wraps += u64::from(segment.ack_raw < peer.ack_seq);
            peer.ack_seq = segment.ack_raw;
        }
    }
    let delta_last = seq_diff(seq_one_past, endpoint.last_seq);
    if (flags.syn() || flags.rst()) && !(-TOO_LARGE_SEQ_DELTA..=TOO_LARGE_SEQ_DELTA).contains(&delta_last) {
    } else if flags.fin() && endpoint.last_seq == endpoint.start_seq.wrapping_add(1) {
        endpoint.advance_last_seq(seq_one_past);
    } else if endpoint.state == Endpoint::Reset {
    } else if delta_last > 0 {
        endpoint.advance_last_seq(seq_one_past);
    } else if len > 0 {
        scaled_entry(&mut endpoint.retransmits, &mut endpoint.retransmit_threshold, is_orig, 'T', history);
    }
    endpoint.size += u64::from(len);
    update_state_machine(endpoint, peer, is_orig, segment, len);
}

fn update_state_machine(
    endpoint: &mut ZeekEndpoint,
    peer: &mut ZeekEndpoint,
    is_orig: bool,
    segment: &Segment,
    len: u32,
) {
    use Endpoint::*;
    let flags = segment.flags;
    match endpoint.state {
        Inactive => {
            if flags.syn() {
                if is_orig {
                    endpoint.set_state(if flags.ack() { SynAckSent } else { SynSent });
                } else {
                    if peer.state == SynSent {
                        peer.set_state(Established);
                    }
                    endpoint.set_state(Established);
                }
            }
            if flags.fin() {
                endpoint.set_state(Closed);
            }
            if flags.rst() {
                endpoint.set_state(Reset);
            }
            if endpoint.state == Inactive {
                if !is_orig && len == 0 && peer.state == SynSent {
                    // An ACK of the SYN before the SYN-ACK does not make the connection partial.
                } else if flags.ack() && peer.state == Established {
                    endpoint.set_state(Established);
                } else {
                    endpoint.set_state(Partial);
                }
            }
        }
        SynSent | SynAckSent => {
            if flags.fin() {
                endpoint.set_state(Closed);
            }
            if flags.rst() {
                endpoint.set_state(Reset);
            }
        }
        Established | Partial => {
            if flags.syn() && endpoint.state == Partial && peer.state == Inactive && !flags.ack() {
                endpoint.set_state(SynSent);
            }
            if flags.fin() && !flags.rst() {
                endpoint.set_state(Closed);
                if peer.state == Reset && peer.prev_state == Closed {
                    peer.set_state(Closed);
                }
            }
            if flags.rst() {
                endpoint.set_state(Reset);
            }
        }
        Closed => {
            if flags.rst() && peer.state != Closed {
                endpoint.set_state(Reset);
            }
        }
        Reset => {}
    }
}

fn update_history(endpoint: &mut ZeekEndpoint, is_orig: bool, segment: &Segment, history: &mut String) {
    let flags = segment.flags;
    let seq = segment.seq_raw;
    let bits = u8::from(flags.syn()) + u8::from(flags.fin()) + u8::from(flags.rst());
    if bits > 1 {
        if flags.fin() && flags.rst() {
            check(endpoint, is_orig, Letter::FinRst, 'I', history);
        } else {
            check(endpoint, is_orig, Letter::MultiFlag, 'Q', history);
        }
    } else if bits == 1 {
        if flags.syn() {
            let code = if flags.ack() { 'H' } else { 'S' };
            if check(endpoint, is_orig, Letter::Syn, code, history) && endpoint.last_syn != Some(seq) {
                push(history, is_orig, code);
            }
            endpoint.last_syn = Some(seq);
        }
        if flags.fin() {
            let fin_at = seq.wrapping_add(segment.payload_len);
            if check(endpoint, is_orig, Letter::Fin, 'F', history) && endpoint.last_fin != Some(fin_at) {
                push(history, is_orig, 'F');
            }
            endpoint.last_fin = Some(fin_at);
        }
        if flags.rst() {
            if check(endpoint, is_orig, Letter::Rst, 'R', history) && endpoint.last_rst != Some(seq) {
                push(history, is_orig, 'R');
            }
            endpoint.last_rst = Some(seq);
        }
    } else if segment.payload_len > 0 {
        check(endpoint, is_orig, Letter::Data, 'D', history);
    } else if flags.ack() {
        check(endpoint, is_orig, Letter::Ack, 'A', history);
    }
}

/// Records `code` the first time; returns true when it had been seen before.
fn check(endpoint: &mut ZeekEndpoint, is_orig: bool, letter: Letter, code: char, history: &mut String) -> bool {
    let bit = letter as u8;
    if endpoint.seen & bit == 0 {
        endpoint.seen |= bit;
        push(history, is_orig, code);
        return false;
    }
    true
}

/// Zeek's scaled entries: the letter again at the 1st, 10th, 100th … occurrence.
fn scaled_entry(counter: &mut u64, threshold: &mut u64, is_orig: bool, code: char, history: &mut String) {
    *counter += 1;
    if *counter == *threshold {
        push(history, is_orig, code);
        *threshold = threshold.saturating_mul(10);
    }
}

fn push(history: &mut String, is_orig: bool, code: char) {
    history.push(if is_orig { code } else { code.to_ascii_lowercase() });
}

fn conn_state(orig: &ZeekEndpoint, resp: &ZeekEndpoint, history: &str) -> &'static str {
    use Endpoint::*;
    let (os, rs) = (orig.state, resp.state);
    if rs == Reset {
        if os == SynSent || os == SynAckSent || (os == Reset && orig.size == 0 && resp.size == 0) {
            "REJ"
        } else if orig.is_inactive() {
            "RSTRH"
        } else {
            "RSTR"
        }
    } else if os == Reset {
        if resp.is_inactive() {
            if is_syn_then_reset(history) {
                "RSTOS0"
            } else {
                "OTH"
            }
        } else {
            "RSTO"
        }
    } else if rs == Closed && os == Closed {
        "SF"
    } else if os == Closed {
        if resp.is_inactive() {
            "SH"
        } else {
            "S2"
        }
    } else if rs == Closed {
        if orig.is_inactive() {
            "SHR"
        } else {
            "S3"
        }
    } else if os == SynSent && rs == Inactive {
        "S0"
    } else if os == Established && rs == Established {
        "S1"
    } else {
        "OTH"
    }
}

/// Zeek's `/\^?S[^HAFGIQ]*R.*/`.
fn is_syn_then_reset(history: &str) -> bool {
    let rest = history.strip_prefix('^').unwrap_or(history);
    let Some(after_s) = rest.strip_prefix('S') else {
        return false;
    };
    for c in after_s.chars() {
        if c == 'R' {
            return true;
        }
        if "HAFGIQ".contains(c) {
            return false;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rstos0_pattern() {
        assert!(is_syn_then_reset("SR"));
        assert!(is_syn_then_reset("^SdR"));
        assert!(!is_syn_then_reset("SAR"));
        assert!(!is_syn_then_reset("S"));
    }
}
