//! One TCP segment as the wire carried it: what decoding yields and tracking consumes.

use std::net::SocketAddr;

use super::TcpFlags;

/// One TCP segment as decoded from a frame, borrowing its options from the frame: what decoding
/// yields and tracking consumes. It lives only while its frame is ingested; a connection keeps
/// the compact `tcp::Segment` instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpPacket<'a> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    /// Payload length from the IP header, so a packet cut by the snaplen keeps its real length.
    pub payload_len: u32,
    /// The payload bytes the capture holds: `payload_len` of them, or fewer when the snaplen cut
    /// the frame.
    pub payload: &'a [u8],
    /// Raw option bytes (possibly empty).
    pub options: &'a [u8],
    /// The IPv4 identification field (IPv6 has none): the order a sender sent its packets in.
    pub ip_id: Option<u16>,
}
