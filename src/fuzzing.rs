//! The bodies of the fuzz targets (`fuzz/`), as plain functions so that the ordinary test suite
//! runs them over the seed corpus on stable Rust. Each takes arbitrary bytes, must not panic, and
//! checks the invariants of what it exercises; a broken invariant panics with what was wrong.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use crate::analysis::chart::{connection_chart, ChartKind};
use crate::analysis::series::connection_series;
use crate::analysis::{diagnose, zeek_summary};
use crate::capture::reader::{CaptureReader, MAX_PACKET_LEN};
use crate::decode::{decode_frame, header_spans, Decoded};
use crate::engine::{Engine, EngineConfig};
use crate::ladder::{LadderLayout, LayoutOptions, Numbering, RowKind};
use crate::render::ladder::{export, Format};
use crate::render::render_text_ladder;
use crate::tcp::{Connection, TcpState, Tracker};
use crate::wire::{LinkType, PerSide, Side, TcpFlags, TcpPacket};

/// The link types a frame can be decoded as; the first input byte picks one.
const LINKS: [LinkType; 9] = [
    LinkType::Ethernet,
    LinkType::BsdNull,
    LinkType::BsdLoop,
    LinkType::RawIp,
    LinkType::Ipv4,
    LinkType::Ipv6,
    LinkType::LinuxSll,
    LinkType::LinuxSll2,
    LinkType::Other(147),
];

/// The input for [`decode`] that decodes `frame` as `link`.
pub fn decode_input(link: LinkType, frame: &[u8]) -> Vec<u8> {
    let selector = LINKS.iter().position(|&l| l == link).unwrap_or(LINKS.len() - 1);
    let mut out = vec![selector as u8];
    out.extend_from_slice(frame);
    out
}

/// Link, IP and TCP decoding of one frame.
pub fn decode(data: &[u8]) {
    let Some((&selector, frame)) = data.split_first() else { return };
    let link = LINKS.get(usize::from(selector) % LINKS.len()).copied().unwrap_or(LinkType::Ethernet);
    if let Ok(Decoded::Tcp(packet)) = decode_frame(link, frame) {
        assert!(packet.options.len() <= 40, "TCP options are at most 40 bytes");
        assert_eq!(packet.dst.ip().is_ipv4(), packet.src.ip().is_ipv4(), "one IP version per packet");
    }
    if let Some(spans) = header_spans(link, frame) {
        for span in [&spans.link, &spans.ip, &spans.tcp] {
            assert!(span.start <= span.end && span.end <= frame.len(), "a header span outside the frame");
        }
    }
}

/// The capture reader on a whole file's bytes, feeding an engine.
pub fn capture_file(data: &[u8]) {
    let Ok(mut reader) = CaptureReader::new(data) else { return };
    let mut engine = Engine::new(LinkType::Ethernet, EngineConfig::default());
    let mut last_offset = 0;
    loop {
        match reader.next_packet() {
            Ok(Some(packet)) => {
                assert!(packet.data.len() <= MAX_PACKET_LEN as usize, "a packet above the cap");
                assert!(packet.offset >= last_offset, "offsets go forward");
                last_offset = packet.offset;
                engine.ingest_link(packet.link, packet.ts_nanos, packet.data);
            }
            Ok(None) => break,
            Err(err) => {
                assert!(err.offset() <= data.len() as u64, "damage reported past the end: {err}");
                break;
            }
        }
    }
    assert!(reader.offset() <= data.len() as u64);
    check_connections(engine.connections(), engine.stats().tcp_packets);
}

/// A scripted conversation: each 14-byte record is one segment whose fields the fuzzer chooses,
/// with sequence numbers either raw or following on from what each side sent, so that both
/// plausible and absurd conversations are explored.
pub fn conversation(data: &[u8]) -> Vec<Connection> {
    let mut tracker = Tracker::new(crate::tcp::machine::DEFAULT_TIME_WAIT_NANOS);
    let Some((isns, records)) = data.split_first_chunk::<8>() else { return Vec::new() };
    let client_isn = u32::from_le_bytes([isns[0], isns[1], isns[2], isns[3]]);
    let server_isn = u32::from_le_bytes([isns[4], isns[5], isns[6], isns[7]]);
    let server: SocketAddr = ([127, 0, 0, 1], 80).into();
    // Where each side's next byte is, per client port: [client, server].
    let mut next = [PerSide::new(client_isn, server_isn); 4];
    let mut ts_nanos = 0i64;
    let mut options = Vec::with_capacity(40);
    let mut ingested = 0u64;
    for (frame, record) in records.chunks_exact(14).enumerate() {
        let [control, flags, s0, s1, s2, s3, a0, a1, a2, a3, w0, w1, len, option] =
            <[u8; 14]>::try_from(record).unwrap_or_default();
        let from_client = control & 1 == 1;
        let port_index = usize::from(control >> 1 & 3);
        let client: SocketAddr = ([127, 0, 0, 1], 40_000 + port_index as u16).into();
        let (me, peer) = if from_client { (Side::Client, Side::Server) } else { (Side::Server, Side::Client) };
        let raw_seq = u32::from_le_bytes([s0, s1, s2, s3]);
        let raw_ack = u32::from_le_bytes([a0, a1, a2, a3]);
        let Some(sides) = next.get_mut(port_index) else { continue };
        let seq = if control & 8 == 0 { sides[me].wrapping_add(raw_seq % 3) } else { raw_seq };
        let ack = if control & 16 == 0 { sides[peer].wrapping_sub(raw_ack % 3) } else { raw_ack };
        let mut flag_bits = u16::from(flags);
        if control & 32 != 0 {
            flag_bits |= TcpFlags::ACK;
        }
        let flags = TcpFlags(flag_bits);
        let payload_len = u32::from(len) * if control & 64 != 0 { 1000 } else { 1 };
        sides[me] = seq.wrapping_add(payload_len).wrapping_add(flags.seq_space());
        options.clear();
        match option % 5 {
            1 => options.extend_from_slice(&[2, 4, 0x05, 0xb4, 1, 3, 3, w0]), // MSS, NOP, window scale (any shift)
            2 => {
                // One SACK block near the ACK, possibly outside any window.
                let left = ack.wrapping_add(u32::from(w0) * 100);
                let right = left.wrapping_add(u32::from(w1) * 10);
                options.extend_from_slice(&[1, 1, 5, 10]);
                options.extend_from_slice(&left.to_be_bytes());
                options.extend_from_slice(&right.to_be_bytes());
            }
            3 => options.extend_from_slice(&[1, 1, 8, 10, s0, s1, s2, s3, a0, a1, a2, a3]),
            4 => options.extend_from_slice(&[4, 2]), // SACK permitted
            _ => {}
        }
        ts_nanos += i64::from(option >> 3) * 1_000_000;
        let (src, dst) = if from_client { (client, server) } else { (server, client) };
        let window = u16::from_le_bytes([w0, w1]);
        let packet =
            TcpPacket { src, dst, seq, ack, flags, window, payload_len, options: &options, payload: &[], ip_id: None };
        tracker.ingest(frame as u32 + 1, ts_nanos, &packet);
        ingested += 1;
    }
    let connections = tracker.into_connections();
    check_connections(&connections, ingested);
    connections
}

/// The state machine, sequence numbers and every analysis over a scripted conversation.
pub fn tracker(data: &[u8]) {
    for connection in conversation(data) {
        let end = connection.last_ts_nanos();
        // The fuzz bodies only ask that nothing panics: the results themselves are not checked.
        let _ = diagnose(&connection, end);
        let _ = zeek_summary(&connection);
        let series = connection_series(&connection);
        assert_eq!(series.segment_times.len(), connection.segments.len());
        for kind in ChartKind::ALL {
            if let Some(chart) = connection_chart(kind, &series, String::new()) {
                // Only that drawing does not panic is checked.
                let _ = crate::render::chart_svg(&chart);
            }
        }
    }
}

/// The ladder layout and its renderings over a scripted conversation; the first byte chooses
/// which folded runs are expanded.
pub fn ladder(data: &[u8]) {
    let Some((&expand, rest)) = data.split_first() else { return };
    for connection in conversation(rest) {
        let options = LayoutOptions::default();
        let folded = LadderLayout::new(&connection, &BTreeSet::new(), &[], &options);
        let expanded: BTreeSet<usize> = folded
            .folded_runs()
            .enumerate()
            .filter(|(i, _)| expand >> (i % 8) & 1 == 1)
            .map(|(_, first)| first)
            .collect();
        let layout = LadderLayout::new(&connection, &expanded, &[], &options);
        check_layout(&connection, &layout);
        let end = connection.last_ts_nanos();
        // The renderings must not panic; what they say is checked by the tests of each.
        let _ = render_text_ladder(&connection, None, end, Numbering::Relative);
        for format in [Format::Svg, Format::Mermaid, Format::PlantUml] {
            let _ = export(&connection, &layout, format, Numbering::Absolute, &[]);
        }
    }
}

/// A script for [`conversation`] that replays `connection` (approximately: payloads above 255
/// bytes are rounded to thousands, option kinds to the few the script knows), to seed the fuzzer
/// with real conversations.
pub fn script_of(connection: &Connection) -> Vec<u8> {
    let mut out = Vec::new();
    for (_, side) in connection.sides.iter() {
        out.extend_from_slice(&side.base_seq.unwrap_or(0).to_le_bytes());
    }
    let mut last_ts = connection.first_ts_nanos();
    for segment in &connection.segments {
        let from_client = u8::from(segment.dir == crate::tcp::Direction::ClientToServer);
        let (len, thousands) = match segment.payload_len {
            len @ 0..=255 => (len as u8, 0),
            len => (u8::try_from(len / 1000).unwrap_or(u8::MAX), 64),
        };
        let delta_ms = u8::try_from((segment.ts_nanos - last_ts) / 1_000_000).unwrap_or(u8::MAX).min(31);
        last_ts = segment.ts_nanos;
        let kind = if segment.flags.syn() { 1 } else { 0 };
        out.push(from_client | 8 | 16 | thousands);
        out.push(segment.flags.0 as u8);
        out.extend_from_slice(&segment.seq_raw.to_le_bytes());
        out.extend_from_slice(&segment.ack_raw.to_le_bytes());
        out.extend_from_slice(&segment.window_raw.to_le_bytes());
        out.push(len);
        out.push(delta_ms << 3 | kind);
    }
    out
}

fn check_layout(connection: &Connection, layout: &LadderLayout) {
    let mut shown = 0;
    let mut last_y = f32::NEG_INFINITY;
    for (index, row) in layout.rows.iter().enumerate() {
        assert!(row.y >= last_y && row.y.is_finite(), "rows go down the page");
        last_y = row.y;
        match row.kind {
            RowKind::Segment(segment) => {
                assert!(segment < connection.segments.len());
                assert_eq!(layout.row_of_segment(segment), Some(index));
                shown += 1;
            }
            RowKind::Folded(run) => shown += run.len(),
            RowKind::Idle { .. } => {}
        }
    }
    assert_eq!(shown, connection.segments.len(), "every segment is drawn or folded exactly once");
    assert!(layout.height() >= last_y);
}

/// RFC 9293's transitions (simultaneous open and close included).
fn rfc_edge(from: TcpState, to: TcpState) -> bool {
    use TcpState::*;
    matches!(
        (from, to),
        (Closed, SynSent | Listen)
            | (Listen, SynReceived | SynSent)
            | (SynSent, SynReceived | Established)
            | (SynReceived, Established | FinWait1 | CloseWait)
            | (Established, FinWait1 | CloseWait)
            | (FinWait1, FinWait2 | Closing | TimeWait)
            | (FinWait2 | Closing | LastAck, TimeWait)
            | (CloseWait, LastAck)
    )
}

/// Whether a side may go from `from` to `to` in one step as tcpladder infers it: along RFC 9293's
/// transitions, possibly skipping states whose segments the capture missed, but never backwards;
/// any state from Unknown (a capture that starts mid-connection); Closed after a reset or the end
/// of TIME_WAIT.
fn transition_allowed(from: TcpState, to: TcpState) -> bool {
    if from == to || from == TcpState::Unknown || to == TcpState::Closed {
        return true;
    }
    const ALL: [TcpState; 11] = {
        use TcpState::*;
        [Closed, Listen, SynSent, SynReceived, Established, FinWait1, FinWait2, CloseWait, Closing, LastAck, TimeWait]
    };
    let mut reached = vec![from];
    let mut frontier = vec![from];
    while let Some(state) = frontier.pop() {
        for next in ALL {
            if rfc_edge(state, next) && !reached.contains(&next) {
                reached.push(next);
                frontier.push(next);
            }
        }
    }
    reached.contains(&to)
}

/// What must hold for connections, whatever the input.
fn check_connections<'a>(connections: impl IntoIterator<Item = &'a Connection>, tcp_packets: u64) {
    let mut segments = 0u64;
    for connection in connections {
        assert!(!connection.segments.is_empty(), "a connection without packets");
        segments += connection.segments.len() as u64;
        let mut states = crate::wire::PerSide::new(TcpState::Unknown, TcpState::Unknown);
        let mut last_frame = 0;
        for segment in &connection.segments {
            assert!(segment.frame > last_frame, "segments in frame order");
            last_frame = segment.frame;
            let sender = segment.dir.sender();
            if let Some(base) = connection.sides[sender].base_seq {
                assert_eq!(connection.relative_seq(segment).wrapping_add(base), segment.seq_raw, "relative seq");
            }
            if let (Some(ack), Some(base)) =
                (connection.relative_ack(segment), connection.sides[sender.other()].base_seq)
            {
                assert_eq!(ack.wrapping_add(base), segment.ack_raw, "relative ack");
            }
            for side in crate::wire::Side::BOTH {
                let state = &mut states[side];
                let after = segment.state(side);
                let path = segment.via(side).into_iter().chain([after]);
                for next in path {
                    assert!(
                        transition_allowed(*state, next),
                        "side {side} went {state} → {next} at frame {}",
                        segment.frame
                    );
                    *state = next;
                }
            }
        }
    }
    assert_eq!(segments, tcp_packets, "every TCP packet belongs to one connection");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handshake_script_passes_every_check() {
        let mut data = vec![0xff, 0xff, 0xff, 0xf0, 1, 2, 3, 4]; // a client ISN 16 below 2^32
        let syn = [1u8, TcpFlags::SYN as u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        let syn_ack = [32u8, TcpFlags::SYN as u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        let ack = [1u8 | 32, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 40, 0];
        for record in [syn, syn_ack, ack, ack] {
            data.extend_from_slice(&record);
        }
        let connections = conversation(&data);
        assert_eq!(connections.len(), 1);
        assert_eq!(connections[0].current_states().into_array(), [TcpState::Established, TcpState::Established]);
        tracker(&data);
        ladder(&[0xff].iter().chain(&data).copied().collect::<Vec<_>>());
    }

    #[test]
    fn transitions_follow_the_rfc() {
        assert!(transition_allowed(TcpState::Established, TcpState::CloseWait));
        assert!(transition_allowed(TcpState::SynSent, TcpState::FinWait1), "the SYN-ACK was not captured");
        assert!(!transition_allowed(TcpState::TimeWait, TcpState::Established));
        assert!(!transition_allowed(TcpState::CloseWait, TcpState::FinWait1));
    }
}
