//! Rows for the command line: one per connection, one per segment, as text or JSON.

pub mod retire;
mod rows;
pub mod zeek_log;

pub use rows::{rows_after_retiring, rows_of, RowsOf};

use serde::Serialize;

use std::collections::HashMap;

use crate::analysis::diagnose::Code;
use crate::analysis::{diagnose_with, zeek_summary, Diagnosis};
use crate::ladder::finding_notes;
use crate::protocols::Conversation;
use crate::tcp::{Connection, Direction, Segment, TcpState};
use crate::wire::options::render_options;
use crate::wire::PerSide;

/// Seconds as a float from nanoseconds.
pub fn secs(nanos: i64) -> f64 {
    nanos as f64 / 1e9
}

/// "1.2 MB", "3.0 KB", "512 B".
pub fn human_bytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000 => format!("{:.1} MB", b as f64 / 1e6),
        b if b >= 1_000 => format!("{:.1} KB", b as f64 / 1e3),
        b => format!("{b} B"),
    }
}

/// "3.2 s", "450 ms".
pub fn human_duration(nanos: i64) -> String {
    if nanos >= 1_000_000_000 {
        format!("{:.1} s", nanos as f64 / 1e9)
    } else {
        format!("{:.0} ms", nanos as f64 / 1e6)
    }
}

/// A duration as a person reads it, as fine as it needs (the table's column): the requests'
/// own words below a minute ([`crate::analysis::exchanges::duration`]: `12 µs`, `3.40 ms`,
/// `1.20 s`), minutes above (`2 min 03 s`).
pub fn duration_text(seconds: f64) -> String {
    match seconds {
        s if !s.is_finite() || s < 0.0 => "?".to_string(),
        s if s < 60.0 => crate::analysis::exchanges::duration(s),
        s => format!("{} min {:02.0} s", (s / 60.0).floor(), s % 60.0),
    }
}

/// One connection, as `tcpladder conns --json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct ConnRow {
    pub id: u32,
    pub client: String,
    pub server: String,
    pub first_ts: f64,
    pub last_ts: f64,
    pub duration: f64,
    pub packets: u64,
    pub packets_c2s: u64,
    pub packets_s2c: u64,
    pub bytes_c2s: u64,
    pub bytes_s2c: u64,
    pub client_state: TcpState,
    pub server_state: TcpState,
    pub conn_state: &'static str,
    pub history: String,
    pub mid_stream: bool,
    pub handshake_rtt: Option<f64>,
    pub diagnoses: Vec<Diagnosis>,
    /// The connections a proxy chained to this one ([`crate::analysis::chains`]); filled in by
    /// whoever sees the whole capture.
    pub links: Vec<crate::analysis::chains::Link>,
}

impl ConnRow {
    /// Bytes this row holds, its heap included.
    pub fn bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.client.capacity()
            + self.server.capacity()
            + self.history.capacity()
            + self.diagnoses.capacity() * std::mem::size_of::<Diagnosis>()
            + self.diagnoses.iter().map(|d| d.text.capacity()).sum::<usize>()
    }

    /// Frames of the findings, in order: the arrows the ladder notes and `n` steps through.
    pub fn finding_frames(&self) -> Vec<u32> {
        self.diagnoses.iter().map(|d| d.frame).collect()
    }

    /// What the ladder writes on the arrows for the findings: (frame, a short sentence), with a
    /// broken pipe's fatal write noted too ([`crate::ladder::notes`]).
    pub fn finding_notes(&self, connection: &Connection) -> Vec<(u32, String)> {
        finding_notes(connection, &self.diagnoses).into_iter().map(|note| (note.frame, note.text)).collect()
    }

    /// The row for `connection`, with final states at `capture_end_nanos`; with its
    /// `conversation`, the findings that join the application and TCP too.
    pub fn new(connection: &Connection, conversation: Option<&Conversation>, capture_end_nanos: i64) -> Self {
        let zeek = zeek_summary(connection);
        let PerSide { client: client_state, server: server_state } = connection.reported_states_at(capture_end_nanos);
        let PerSide { client, server } = &connection.sides;
        Self {
            id: connection.id,
            client: connection.client.to_string(),
            server: connection.server.to_string(),
            first_ts: secs(connection.first_ts_nanos()),
            last_ts: secs(connection.last_ts_nanos()),
            duration: secs(connection.last_ts_nanos() - connection.first_ts_nanos()),
            packets: connection.packets(),
            packets_c2s: client.packets,
            packets_s2c: server.packets,
            bytes_c2s: client.payload_bytes,
            bytes_s2c: server.payload_bytes,
            client_state,
            server_state,
            conn_state: zeek.conn_state,
            history: zeek.history,
            mid_stream: connection.mid_stream,
            handshake_rtt: connection.handshake_rtt_nanos.map(secs),
            diagnoses: diagnose_with(connection, conversation, capture_end_nanos),
            links: Vec::new(),
        }
    }

    /// Diagnosis codes joined with commas, or `-`.
    pub fn codes(&self) -> String {
        if self.diagnoses.is_empty() {
            return "-".to_string();
        }
        self.diagnoses.iter().map(|d| d.code.name()).collect::<Vec<_>>().join(",")
    }
}

/// Findings that are about a listener, not one connection: says in `row`'s accept-queue finding
/// how many of the capture's connections to that server waited the same way (the accept queue's
/// depth as the wire shows it), when more than one (`waiting`: such connections by server address).
pub fn note_accept_queue(row: &mut ConnRow, waiting: &HashMap<String, usize>) {
    let Some(&count) = waiting.get(&row.server).filter(|&&count| count > 1) else { return };
    for finding in row.diagnoses.iter_mut().filter(|d| d.code == Code::AcceptBacklog) {
        finding
            .text
            .push_str(&format!(" The accept queue of {} held {count} such connections in this capture.", row.server));
    }
}

/// One segment, as `tcpladder packets --json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct PacketRow {
    /// 1-based, among all packets of the capture.
    pub frame: u32,
    /// Capture time, seconds since the epoch.
    pub ts: f64,
    /// The connection, as `conns` numbers them.
    pub conn: u32,
    /// `c2s` or `s2c`.
    pub dir: &'static str,
    pub src: String,
    pub dst: String,
    /// tcpdump's flag letters.
    pub flags: String,
    /// Relative to the sender's ISN, as Wireshark and tcpdump show it.
    pub seq: u32,
    /// Relative to the receiver's ISN; absent without the ACK flag.
    pub ack: Option<u32>,
    pub next_seq: u32,
    pub seq_raw: u32,
    pub ack_raw: u32,
    /// The raw window field, and scaled by the sender's window scale when that is known.
    pub win: u16,
    pub win_scaled: Option<u32>,
    /// Payload bytes (from the IP header, so a snaplen does not shorten it).
    pub len: u32,
    /// The TCP options as tcpdump prints them.
    pub options: String,
    /// Each side's state after the segment.
    pub client_state: TcpState,
    pub server_state: TcpState,
    /// A state the client passed through within this segment, if any.
    pub client_via: Option<TcpState>,
    pub server_via: Option<TcpState>,
    /// Wireshark's analysis flags (`retransmission`, `duplicate_ack` …).
    pub analysis: Vec<&'static str>,
    /// Which duplicate ACK this is (Wireshark's `tcp.analysis.duplicate_ack_num`).
    pub dup_ack_num: Option<u32>,
    /// The label of the application message that starts in this segment (`GET / HTTP/1.1 · host
    /// example.com`), if one does.
    pub app: Option<String>,
}

impl PacketRow {
    /// The row for the segment at `index` of `connection`.
    pub fn new(connection: &Connection, index: usize, segment: &Segment) -> Self {
        let (src, dst) = endpoints(connection, segment);
        let dup = connection.dup_ack_number(index);
        let sack_base = connection.sides[segment.dir.receiver()].base_seq;
        Self {
            frame: segment.frame,
            ts: secs(segment.ts_nanos),
            conn: connection.id,
            dir: segment.dir.name(),
            src: src.to_string(),
            dst: dst.to_string(),
            flags: segment.flags.to_string(),
            seq: connection.relative_seq(segment),
            ack: connection.relative_ack(segment),
            next_seq: connection.relative_next_seq(segment),
            seq_raw: segment.seq_raw,
            ack_raw: segment.ack_raw,
            win: segment.window_raw,
            win_scaled: connection.scaled_window(segment.dir, segment.window_raw, segment.flags.syn()),
            len: segment.payload_len,
            options: render_options(connection.options_of(segment), sack_base),
            client_state: segment.states.client,
            server_state: segment.states.server,
            client_via: segment.via.client,
            server_via: segment.via.server,
            analysis: segment.analysis.names().collect(),
            dup_ack_num: (dup > 0).then_some(dup),
            app: None,
        }
    }
}

/// Sender and receiver of a segment.
pub fn endpoints(connection: &Connection, segment: &Segment) -> (std::net::SocketAddr, std::net::SocketAddr) {
    match segment.dir {
        Direction::ClientToServer => (connection.client, connection.server),
        Direction::ServerToClient => (connection.server, connection.client),
    }
}

/// The links of `rows`, by connection id, as [`crate::analysis::chains::chain_order`] reads them.
pub fn links_by_id(rows: &[ConnRow]) -> std::collections::BTreeMap<u32, Vec<crate::analysis::chains::Link>> {
    rows.iter().filter(|row| !row.links.is_empty()).map(|row| (row.id, row.links.clone())).collect()
}

/// A row with these endpoints and final states and nothing else, for tests of what reads rows.
#[cfg(test)]
pub(crate) fn test_row(id: u32, (client, server): (&str, &str), states: (TcpState, TcpState)) -> ConnRow {
    ConnRow {
        id,
        client: client.into(),
        server: server.into(),
        first_ts: 0.0,
        last_ts: 0.0,
        duration: 0.0,
        packets: 0,
        packets_c2s: 0,
        packets_s2c: 0,
        bytes_c2s: 0,
        bytes_s2c: 0,
        client_state: states.0,
        server_state: states.1,
        conn_state: "S1",
        history: String::new(),
        mid_stream: false,
        handshake_rtt: None,
        diagnoses: Vec::new(),
        links: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::duration_text;

    #[test]
    fn durations_read_as_fine_as_they_need() {
        assert_eq!(duration_text(0.000_012), "12 µs");
        assert_eq!(duration_text(0.0034), "3.40 ms");
        assert_eq!(duration_text(1.2), "1.20 s");
        assert_eq!(duration_text(123.0), "2 min 03 s");
    }
}
