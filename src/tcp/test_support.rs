//! Builds connections from short scripts of segments, for unit tests.

use crate::wire::TcpPacket;

use super::{Connection, Tracker};
use crate::wire::TcpFlags;

/// Flag bits by their tcpdump letters, for the scripts of the unit tests.
pub mod flags {
    use crate::wire::TcpFlags;

    pub const S: u16 = TcpFlags::SYN;
    pub const A: u16 = TcpFlags::ACK;
    pub const F: u16 = TcpFlags::FIN;
    pub const R: u16 = TcpFlags::RST;
    pub const P: u16 = TcpFlags::PSH;
}

/// One scripted segment: (sent by the client?, flags, seq, ack, payload length, time in ms).
pub type Step = (bool, u16, u32, u32, u32, i64);

/// Feeds the steps between 127.0.0.1:40000 (client) and 127.0.0.1:80; returns each step's connection id.
pub fn feed(tracker: &mut Tracker, steps: &[Step]) -> Vec<u32> {
    let client = "127.0.0.1:40000".parse().expect("a socket address");
    let server = "127.0.0.1:80".parse().expect("a socket address");
    let mut ids = Vec::new();
    for (frame, &(from_client, flags, seq, ack, len, ms)) in steps.iter().enumerate() {
        let (src, dst) = if from_client { (client, server) } else { (server, client) };
        let packet = TcpPacket {
            src,
            dst,
            seq,
            ack,
            flags: TcpFlags(flags),
            window: 1000,
            payload_len: len,
            options: &[],
            payload: &[],
            ip_id: None,
        };
        ids.push(tracker.ingest(frame as u32 + 1, ms * 1_000_000, &packet));
    }
    ids
}

/// The first connection the steps make.
pub fn connection(steps: &[Step]) -> Connection {
    let mut tracker = Tracker::new(crate::tcp::machine::DEFAULT_TIME_WAIT_NANOS);
    feed(&mut tracker, steps);
    tracker.into_connections().into_iter().next().expect("the packets make a connection")
}
