//! TCP conversations made up in the test, for cases too big or too odd to record: raw IPv4 frames
//! (LINKTYPE_RAW) with correct headers, fed to the engine directly or written as a pcap.

use std::io::Write;

use tcpladder::capture::format::{pcap_file_header, pcap_record_header};
use tcpladder::wire::{LinkType, PerSide, Side};
use tcpladder::{Engine, EngineConfig};

pub const SYN: u8 = 0x02;
pub const ACK: u8 = 0x10;
pub const FIN: u8 = 0x01;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;

/// The two ends, as the tests below write them.
pub const CLIENT: Side = Side::Client;
pub const SERVER: Side = Side::Server;

/// One endpoint: address, port, and the next sequence number it will send.
#[derive(Debug, Clone, Copy)]
pub struct End {
    pub ip: [u8; 4],
    pub port: u16,
    pub next_seq: u32,
}

/// Builds the frames of one conversation, keeping each side's seq and ack as a real stack would.
pub struct Talk {
    pub ends: PerSide<End>,
    pub ts_nanos: i64,
    /// Time between frames.
    pub step_nanos: i64,
    /// Window both sides advertise (raw, before scaling).
    pub window: u16,
    frame: Vec<u8>,
}

impl Talk {
    /// Client `10.0.0.1:port` to server `10.0.0.2:80`, with the given ISNs.
    pub fn new(client_port: u16, client_isn: u32, server_isn: u32) -> Self {
        Self {
            ends: PerSide::new(
                End { ip: [10, 0, 0, 1], port: client_port, next_seq: client_isn },
                End { ip: [10, 0, 0, 2], port: 80, next_seq: server_isn },
            ),
            ts_nanos: 1_700_000_000_000_000_000,
            step_nanos: 10_000,
            window: 65_535,
            frame: Vec::with_capacity(2048),
        }
    }

    /// `side` sends `payload_len` bytes with `flags` and TCP `options` (padded to
    /// 4 bytes); the ack is everything the peer sent. Returns (time, frame).
    pub fn send(&mut self, side: Side, flags: u8, payload_len: usize, options: &[u8]) -> (i64, &[u8]) {
        let seq = self.ends[side].next_seq;
        let ack = if flags & ACK != 0 { self.ends[side.other()].next_seq } else { 0 };
        let consumed = payload_len as u32 + u32::from(flags & (SYN | FIN) != 0);
        self.ends[side].next_seq = seq.wrapping_add(consumed);
        self.raw(side, flags, seq, ack, payload_len, options)
    }

    /// A frame with exactly these numbers; nothing is remembered.
    pub fn raw(
        &mut self,
        side: Side,
        flags: u8,
        seq: u32,
        ack: u32,
        payload_len: usize,
        options: &[u8],
    ) -> (i64, &[u8]) {
        self.ts_nanos += self.step_nanos;
        let (from, to) = (self.ends[side], self.ends[side.other()]);
        ipv4_tcp(&mut self.frame, from, to, flags, seq, ack, self.window, options, payload_len);
        (self.ts_nanos, &self.frame)
    }

    /// SYN, SYN-ACK, ACK, with `syn_options` on both SYNs.
    pub fn handshake(&mut self, syn_options: &[u8], sink: &mut impl FnMut(i64, &[u8])) {
        let (t, f) = self.send(CLIENT, SYN, 0, syn_options);
        sink(t, f);
        let (t, f) = self.send(SERVER, SYN | ACK, 0, syn_options);
        sink(t, f);
        let (t, f) = self.send(CLIENT, ACK, 0, &[]);
        sink(t, f);
    }

    /// Client FIN, server ACK, server FIN, client ACK.
    pub fn close(&mut self, sink: &mut impl FnMut(i64, &[u8])) {
        for (side, flags) in [(CLIENT, FIN | ACK), (SERVER, ACK), (SERVER, FIN | ACK), (CLIENT, ACK)] {
            let (t, f) = self.send(side, flags, 0, &[]);
            sink(t, f);
        }
    }
}

/// `count` SYNs with window scale 7 from distinct (address, port) pairs: 62,500 ports on each of
/// as many addresses as it takes, to one server port.
pub fn syn_flood(count: u32, sink: &mut impl FnMut(i64, &[u8])) {
    let mut talk = Talk::new(1, 0, 0);
    let options = syn_options(7);
    for i in 0..count {
        talk.ends.client.ip = [10, 1, (i / 62_500) as u8, 1];
        talk.ends.client.port = 1_024 + (i % 62_500) as u16;
        let (t, f) = talk.raw(CLIENT, SYN, i.wrapping_mul(2_654_435_761), 0, 0, &options);
        sink(t, f);
    }
}

/// Segment size of [`bulk_transfer`].
pub const MSS: usize = 1_448;

/// One connection: handshake, `rounds` × (a full data segment, its ACK), close. Every segment
/// carries timestamps, like Linux's; the client's numbers start near 2^32 minus 1.3 GB.
pub fn bulk_transfer(rounds: u32, sink: &mut impl FnMut(i64, &[u8])) {
    let mut talk = Talk::new(40_004, 3_000_000_000, 17);
    talk.step_nanos = 1_000;
    let mut syn = syn_options(7);
    syn.extend_from_slice(&[1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0]);
    talk.handshake(&syn, sink);
    let mut timestamps = [1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0];
    for round in 0..rounds {
        timestamps[4..8].copy_from_slice(&round.to_be_bytes());
        let (t, f) = talk.send(CLIENT, ACK, MSS, &timestamps);
        sink(t, f);
        let (t, f) = talk.send(SERVER, ACK, 0, &timestamps);
        sink(t, f);
    }
    talk.close(sink);
}

/// Writes an IPv4 + TCP frame into `out` (payload bytes are zero).
#[allow(clippy::too_many_arguments)]
pub fn ipv4_tcp(
    out: &mut Vec<u8>,
    from: End,
    to: End,
    flags: u8,
    seq: u32,
    ack: u32,
    window: u16,
    options: &[u8],
    payload_len: usize,
) {
    let options_len = options.len().div_ceil(4) * 4;
    let tcp_len = 20 + options_len;
    let total = 20 + tcp_len + payload_len;
    out.clear();
    out.extend_from_slice(&[0x45, 0]);
    out.extend_from_slice(&(total as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
    out.extend_from_slice(&from.ip);
    out.extend_from_slice(&to.ip);
    let checksum = ip_checksum(&out[..20]);
    out[10..12].copy_from_slice(&checksum.to_be_bytes());
    out.extend_from_slice(&from.port.to_be_bytes());
    out.extend_from_slice(&to.port.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&ack.to_be_bytes());
    out.extend_from_slice(&[((tcp_len / 4) as u8) << 4, flags]);
    out.extend_from_slice(&window.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(options);
    out.resize(20 + tcp_len, 1); // NOP padding
    out.resize(total, 0);
}

fn ip_checksum(header: &[u8]) -> u16 {
    let sum: u32 = header.chunks(2).map(|w| u32::from(u16::from_be_bytes([w[0], w[1]]))).sum();
    let folded = (sum & 0xffff) + (sum >> 16);
    !((folded & 0xffff) + (folded >> 16)) as u16
}

/// MSS 1460, SACK permitted, window scale `shift`.
pub fn syn_options(shift: u8) -> Vec<u8> {
    vec![2, 4, 0x05, 0xb4, 4, 2, 1, 3, 3, shift]
}

/// A SACK option with the given blocks.
pub fn sack(blocks: &[(u32, u32)]) -> Vec<u8> {
    let mut option = vec![1, 1, 5, (2 + 8 * blocks.len()) as u8];
    for (left, right) in blocks {
        option.extend_from_slice(&left.to_be_bytes());
        option.extend_from_slice(&right.to_be_bytes());
    }
    option
}

/// An engine for raw-IP frames, with Linux's TIME_WAIT.
pub fn engine() -> Engine {
    Engine::new(LinkType::RawIp, EngineConfig::default())
}

/// A pcap (nanoseconds, LINKTYPE_RAW) written frame by frame, in the library's own layout.
pub struct PcapFile<W: Write> {
    out: W,
}

impl<W: Write> PcapFile<W> {
    pub fn new(mut out: W) -> std::io::Result<Self> {
        out.write_all(&pcap_file_header(LinkType::RawIp.dlt(), 65_535))?;
        Ok(Self { out })
    }

    pub fn write(&mut self, ts_nanos: i64, frame: &[u8]) -> std::io::Result<()> {
        let len = frame.len() as u32;
        self.out.write_all(&pcap_record_header(ts_nanos, len, len))?;
        self.out.write_all(frame)
    }
}

/// A sink that writes each frame to a new pcap at `path`.
pub fn pcap_sink(path: &std::path::Path) -> impl FnMut(i64, &[u8]) {
    let file = std::fs::File::create(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    let mut pcap = PcapFile::new(std::io::BufWriter::new(file)).unwrap_or_else(|err| panic!("{err}"));
    move |t, f| pcap.write(t, f).unwrap_or_else(|err| panic!("{err}"))
}
