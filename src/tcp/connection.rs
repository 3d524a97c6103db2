//! One TCP connection: its endpoints, its segments in capture order, and what each side announced.

use std::net::SocketAddr;

use crate::wire::options::SynOptions;
use crate::wire::{PerSide, Side, TcpPacket};

use super::machine::StateMachine;
use super::segment::{AnalysisFlags, Direction, Segment};
use super::sequence_analysis::{analyze, FlowAnalysis, SegmentFacts};
use super::state::{SegmentView, TcpState};

/// What one side of a connection announced and sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct Endpoint {
    /// Packets sent by this side.
    pub packets: u64,
    /// Payload bytes sent by this side.
    pub payload_bytes: u64,
    /// The base of relative sequence numbers (Wireshark's: the ISN, or one before the first seq).
    pub base_seq: Option<u32>,
    /// The ISN, when this side's SYN was seen.
    pub isn: Option<u32>,
    /// Options of this side's SYN, when seen.
    pub syn_options: Option<SynOptions>,
    /// The IPv4 ID of this side's latest packet in send order, and how many steps in order led
    /// to it: capture reordering shows against it.
    pub last_ip_id: Option<(u16, u8)>,
}

impl Endpoint {
    /// Window scale shift this side's windows are scaled by, once known (RFC 7323: only when
    /// both SYNs carried the option; SYNs themselves are never scaled).
    pub fn window_shift(&self, peer: &Endpoint) -> Option<u8> {
        let mine = self.syn_options?;
        // With the peer's SYN unseen, assume it agreed (Wireshark does the same).
        let peer_agreed = peer.syn_options.is_none_or(|theirs| theirs.window_scale.is_some());
        match mine.window_scale {
            // RFC 7323 §2.3: a shift above 14 is used as 14.
            Some(shift) if peer_agreed => Some(shift.min(14)),
            _ => Some(0),
        }
    }
}

/// A TCP connection, identified by its 4-tuple and when it began.
#[derive(Debug, Clone)]
pub struct Connection {
    /// Order of first packet in the capture, from 0.
    pub id: u32,
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// No SYN was seen: the client was chosen by port and the capture starts mid-stream.
    pub mid_stream: bool,
    /// The first SYN reused the 4-tuple of an earlier connection.
    pub reused_ports: bool,
    /// Client first, server second.
    pub sides: PerSide<Endpoint>,
    pub segments: Vec<Segment>,
    option_bytes: Vec<u8>,
    machine: StateMachine,
    flows: [FlowAnalysis; 2],
    /// Duplicate-ACK numbers of the segments that are duplicate ACKs: (segment index, number).
    dup_ack_numbers: Vec<(u32, u32)>,
    /// Time from the client's SYN to the ACK that completed the handshake.
    pub handshake_rtt_nanos: Option<i64>,
    syn_ts_nanos: Option<i64>,
    synack_seen: bool,
    /// A RST was sent that its receiver accepted.
    reset: bool,
    /// Either side reached ESTABLISHED.
    established: bool,
}

impl Connection {
    /// A connection whose first packet is `packet`.
    pub fn new(id: u32, packet: &TcpPacket<'_>, time_wait_nanos: i64) -> Self {
        let flags = packet.flags;
        let (client, server, mid_stream) = if flags.syn() && !flags.ack() {
            (packet.src, packet.dst, false)
        } else if flags.syn() {
            // A SYN-ACK first: its receiver is the client.
            (packet.dst, packet.src, false)
        } else if packet.src.port() >= packet.dst.port() {
            (packet.src, packet.dst, true)
        } else {
            (packet.dst, packet.src, true)
        };
        Self {
            id,
            client,
            server,
            mid_stream,
            reused_ports: false,
            sides: PerSide::default(),
            // Most connections of a scan or flood never get a second segment.
            segments: Vec::with_capacity(1),
            option_bytes: Vec::new(),
            machine: StateMachine::new(time_wait_nanos),
            flows: Default::default(),
            dup_ack_numbers: Vec::new(),
            handshake_rtt_nanos: None,
            syn_ts_nanos: None,
            synack_seen: false,
            reset: false,
            established: false,
        }
    }

    /// The direction of a packet of this connection.
    pub fn direction_of(&self, packet: &TcpPacket<'_>) -> Direction {
        if packet.src == self.client {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        }
    }

    /// Appends a segment: relative bases, analysis flags, states and counters.
    pub fn push(&mut self, frame: u32, ts_nanos: i64, packet: &TcpPacket<'_>) {
        let dir = self.direction_of(packet);
        let (me, peer) = (dir.sender(), dir.receiver());
        let flags = packet.flags;
        self.note_bases(me, peer, packet);
        if flags.syn() {
            self.sides[me].syn_options = Some(SynOptions::from_bytes(packet.options));
            self.note_handshake_time(flags.ack(), ts_nanos);
        } else if flags.ack() && me == Side::Client && self.synack_seen && self.handshake_rtt_nanos.is_none() {
            self.handshake_rtt_nanos = self.syn_ts_nanos.map(|syn| ts_nanos.saturating_sub(syn));
        }
        let scaled_window = self.scaled_window(dir, packet.window, flags.syn());
        let window = scaled_window.unwrap_or(u32::from(packet.window));
        let facts = SegmentFacts {
            ts_nanos,
            flags,
            seq: packet.seq,
            ack: if flags.ack() { packet.ack } else { 0 },
            payload_len: packet.payload_len,
            window,
            reverse_window_shift_known: self.sides[peer].window_shift(&self.sides[me]).is_some(),
        };
        let [client_flow, server_flow] = &mut self.flows;
        let (fwd, rev) = if me == Side::Client { (client_flow, server_flow) } else { (server_flow, client_flow) };
        let (mut analysis, dup_ack_num) = analyze(fwd, rev, &facts, self.handshake_rtt_nanos);
        if dup_ack_num > 0 {
            self.dup_ack_numbers.push((self.segments.len() as u32, dup_ack_num));
        }
        if self.reused_ports && self.segments.is_empty() {
            analysis.set(AnalysisFlags::REUSED_PORTS);
        }
        let view = SegmentView::from(packet);
        if self.machine.rst_would_be_ignored(peer, &view) {
            analysis.set(AnalysisFlags::RST_IGNORED);
        }
        self.reset |= flags.rst() && !analysis.has(AnalysisFlags::RST_IGNORED);
        let transition = self.machine.on_segment(me, &view, window, ts_nanos, &mut self.segments);
        self.established |= transition.states.into_array().contains(&TcpState::Established);
        let (options_at, options_len) = self.store_options(packet.options);
        self.segments.push(Segment {
            ts_nanos,
            frame,
            seq_raw: packet.seq,
            ack_raw: packet.ack,
            payload_len: packet.payload_len,
            options_at,
            window_raw: packet.window,
            flags,
            analysis,
            options_len,
            dir,
            states: transition.states,
            via: transition.via,
        });
        let side = &mut self.sides[me];
        side.packets += 1;
        side.payload_bytes += u64::from(packet.payload_len);
    }

    fn note_bases(&mut self, me: Side, peer: Side, packet: &TcpPacket<'_>) {
        let side = &mut self.sides[me];
        if packet.flags.syn() {
            if side.isn.is_none() {
                side.isn = Some(packet.seq);
                side.base_seq = Some(packet.seq);
            }
        } else if side.base_seq.is_none() {
            side.base_seq = Some(packet.seq.wrapping_sub(1));
        }
        if packet.flags.ack() && self.sides[peer].base_seq.is_none() {
            self.sides[peer].base_seq = Some(packet.ack.wrapping_sub(1));
        }
    }

    fn note_handshake_time(&mut self, is_synack: bool, ts_nanos: i64) {
        if is_synack {
            self.synack_seen = true;
        } else if self.syn_ts_nanos.is_none() {
            self.syn_ts_nanos = Some(ts_nanos);
        }
    }

    fn store_options(&mut self, options: &[u8]) -> (u32, u8) {
        if options.is_empty() {
            return (0, 0);
        }
        let at = u32::try_from(self.option_bytes.len()).unwrap_or(u32::MAX);
        // TCP options are at most 40 bytes, so the length always fits.
        let len = u8::try_from(options.len()).unwrap_or(u8::MAX);
        self.option_bytes.extend_from_slice(options.get(..usize::from(len)).unwrap_or(options));
        (at, len)
    }

    /// The option bytes of a segment of this connection.
    pub fn options_of(&self, segment: &Segment) -> &[u8] {
        let start = segment.options_at as usize;
        self.option_bytes.get(start..start + usize::from(segment.options_len)).unwrap_or(&[])
    }

    /// The window a segment advertises after scaling, or `None` while the scale is unknown.
    /// A SYN's window is never scaled.
    pub fn scaled_window(&self, dir: Direction, window_raw: u16, is_syn: bool) -> Option<u32> {
        if is_syn {
            return Some(u32::from(window_raw));
        }
        let shift = self.sides[dir.sender()].window_shift(&self.sides[dir.receiver()])?;
        Some(u32::from(window_raw) << shift)
    }

    /// Sequence number relative to the sender's base (Wireshark's convention).
    pub fn relative_seq(&self, segment: &Segment) -> u32 {
        let base = self.sides[segment.dir.sender()].base_seq.unwrap_or(segment.seq_raw);
        segment.seq_raw.wrapping_sub(base)
    }

    /// Acknowledgment number relative to the receiver's base, or `None` without the ACK flag.
    pub fn relative_ack(&self, segment: &Segment) -> Option<u32> {
        if !segment.flags.ack() {
            return None;
        }
        let base = self.sides[segment.dir.receiver()].base_seq.unwrap_or(segment.ack_raw);
        Some(segment.ack_raw.wrapping_sub(base))
    }

    /// Relative sequence number just past the segment (Wireshark's `tcp.nxtseq`).
    pub fn relative_next_seq(&self, segment: &Segment) -> u32 {
        self.relative_seq(segment).wrapping_add(segment.payload_len).wrapping_add(segment.flags.seq_space())
    }

    /// Wireshark's duplicate-ACK number of the segment at `index`, 0 when it is not one.
    pub fn dup_ack_number(&self, index: usize) -> u32 {
        let index = index as u32;
        self.dup_ack_numbers
            .binary_search_by_key(&index, |&(i, _)| i)
            .ok()
            .and_then(|at| self.dup_ack_numbers.get(at))
            .map_or(0, |&(_, n)| n)
    }

    /// States right now, client first, without TIME_WAIT expiry.
    pub fn current_states(&self) -> PerSide<TcpState> {
        self.machine.states()
    }

    /// Final states at capture time `end_ts_nanos` (TIME_WAIT older than 2×MSL is CLOSED).
    pub fn states_at(&self, end_ts_nanos: i64) -> PerSide<TcpState> {
        self.machine.states_at(end_ts_nanos)
    }

    /// True when the client's SYN was never answered: the server side sent nothing, so no socket
    /// exists there (a full accept queue drops the SYN; a firewall drops it before).
    pub fn syn_unanswered(&self) -> bool {
        self.sides.server.packets == 0 && self.segments.iter().any(|s| s.flags.syn() && !s.flags.ack())
    }

    /// Final states as reported: [`Self::states_at`], with the server of an unanswered SYN CLOSED,
    /// as the kernel reports a socket it never made (the inference itself keeps it UNKNOWN).
    pub fn reported_states_at(&self, end_ts_nanos: i64) -> PerSide<TcpState> {
        let mut states = self.states_at(end_ts_nanos);
        if self.syn_unanswered() && states.server == TcpState::Unknown {
            states.server = TcpState::Closed;
        }
        states
    }

    /// For each side, the index of a segment whose receipt the capture never confirmed (nothing
    /// the side sent afterwards acknowledges it): the state change there is assumed, not seen.
    pub fn unconfirmed_receipts(&self) -> PerSide<Option<usize>> {
        self.machine.unconfirmed_receipts()
    }

    /// When each side entered TIME_WAIT, and 2×MSL.
    pub fn time_wait(&self) -> (PerSide<Option<i64>>, i64) {
        (self.machine.time_wait_since(), self.machine.time_wait_nanos())
    }

    /// Time of the first segment.
    pub fn first_ts_nanos(&self) -> i64 {
        self.segments.first().map_or(0, |s| s.ts_nanos)
    }

    /// Time of the last segment.
    pub fn last_ts_nanos(&self) -> i64 {
        self.segments.last().map_or(0, |s| s.ts_nanos)
    }

    /// Total packets both ways.
    pub fn packets(&self) -> u64 {
        self.sides.client.packets + self.sides.server.packets
    }

    /// True when both sides are done with the connection: both closed or in TIME_WAIT, or reset.
    pub fn is_finished(&self) -> bool {
        use TcpState::*;
        let PerSide { client, server } = self.machine.states();
        let done = |state| matches!(state, Closed | TimeWait);
        self.reset || (done(client) && done(server))
    }

    /// Moves this connection out, leaving in its place a record of its id and endpoints without
    /// segments ([`Self::is_retired`]) until its holder closes the gap.
    pub(crate) fn take_retired(&mut self) -> Connection {
        let stub = Connection {
            id: self.id,
            client: self.client,
            server: self.server,
            mid_stream: self.mid_stream,
            reused_ports: self.reused_ports,
            sides: PerSide::default(),
            segments: Vec::new(),
            option_bytes: Vec::new(),
            machine: StateMachine::new(self.machine.time_wait_nanos()),
            flows: Default::default(),
            dup_ack_numbers: Vec::new(),
            handshake_rtt_nanos: None,
            syn_ts_nanos: None,
            synack_seen: false,
            reset: false,
            established: false,
        };
        std::mem::replace(self, stub)
    }

    /// True for the record a retired connection leaves behind: every tracked connection has the
    /// segment that began it.
    pub fn is_retired(&self) -> bool {
        self.segments.is_empty()
    }

    /// True once the connection was established and then ended: only then does a SYN with the
    /// same ISN start a new one (before, it is a retransmission, e.g. Windows retrying after RST).
    pub fn ended_after_established(&self) -> bool {
        self.established && self.is_finished()
    }

    /// Returns the spare capacity of its vectors, once no more segments will come.
    pub fn shrink_to_fit(&mut self) {
        self.segments.shrink_to_fit();
        self.option_bytes.shrink_to_fit();
        self.dup_ack_numbers.shrink_to_fit();
    }

    /// Heap bytes this connection holds (segments, options, bookkeeping), for memory reports.
    pub fn heap_bytes(&self) -> usize {
        self.segments.capacity() * std::mem::size_of::<Segment>()
            + self.option_bytes.capacity()
            + self.dup_ack_numbers.capacity() * std::mem::size_of::<(u32, u32)>()
    }
}
