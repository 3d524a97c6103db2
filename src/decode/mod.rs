//! Decoding: link header → IP (v4/v6, extension headers) → TCP, from a frame's bytes.
//!
//! Nothing here allocates or panics on what a file holds: a frame either yields a [`TcpPacket`]
//! borrowing from it, is some other protocol, or is undecodable for a counted [`SkipReason`].

pub mod link;

use std::net::{IpAddr, SocketAddr};

use etherparse::{IpNumber, LaxIpSlice, TcpSlice};

use crate::wire::{LinkType, TcpFlags, TcpPacket};
use link::{skip_vlan_tags, unwrap_link, Inner, LinkError, ETHER_TYPE_IPV4, ETHER_TYPE_IPV6};

/// What a frame turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded<'a> {
    Tcp(TcpPacket<'a>),
    /// A well-formed frame of another protocol (ARP, UDP, ICMP, …).
    NotTcp,
}

/// Why a frame could not be decoded; each is counted and reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    UnsupportedLinkType,
    TruncatedLinkHeader,
    TruncatedIpHeader,
    MalformedIpHeader,
    TruncatedTcpHeader,
    MalformedTcpHeader,
    /// A non-first IP fragment, or a first fragment: TCP is not reassembled from fragments.
    IpFragment,
}

impl SkipReason {
    /// A stable snake_case name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::UnsupportedLinkType => "unsupported_link_type",
            Self::TruncatedLinkHeader => "truncated_link_header",
            Self::TruncatedIpHeader => "truncated_ip_header",
            Self::MalformedIpHeader => "malformed_ip_header",
            Self::TruncatedTcpHeader => "truncated_tcp_header",
            Self::MalformedTcpHeader => "malformed_tcp_header",
            Self::IpFragment => "ip_fragment",
        }
    }
}

/// Decodes one frame captured with link type `link`.
pub fn decode_frame(link: LinkType, frame: &[u8]) -> Result<Decoded<'_>, SkipReason> {
    let ip = match unwrap_link(link, frame) {
        Ok(Inner::Ip(ip)) => ip,
        Ok(Inner::EtherType(ether_type, rest)) => match skip_vlan_tags(ether_type, rest) {
            Ok((ETHER_TYPE_IPV4 | ETHER_TYPE_IPV6, ip)) => ip,
            Ok(_) => return Ok(Decoded::NotTcp),
            Err(_) => return Err(SkipReason::TruncatedLinkHeader),
        },
        Ok(Inner::NotIp) => return Ok(Decoded::NotTcp),
        Err(LinkError::Truncated) => return Err(SkipReason::TruncatedLinkHeader),
        Err(LinkError::Unsupported) => return Err(SkipReason::UnsupportedLinkType),
    };
    decode_ip(ip)
}

/// Decodes an IPv4 or IPv6 packet (with extension headers) carrying TCP.
fn decode_ip(ip: &[u8]) -> Result<Decoded<'_>, SkipReason> {
    let (sliced, _extension_error) = LaxIpSlice::from_slice(ip).map_err(|err| match err {
        etherparse::err::ip::LaxHeaderSliceError::Len(_) => SkipReason::TruncatedIpHeader,
        etherparse::err::ip::LaxHeaderSliceError::Content(_) => SkipReason::MalformedIpHeader,
    })?;
    let ip_id = match &sliced {
        LaxIpSlice::Ipv4(v4) => Some(v4.header().identification()),
        LaxIpSlice::Ipv6(_) => None,
    };
    let (src_ip, dst_ip, payload, ip_payload_len) = match &sliced {
        LaxIpSlice::Ipv4(v4) => {
            let header = v4.header();
            let payload = v4.payload();
            // A total length of 0 is what TSO captures hold; then the frame decides.
            let declared = match header.total_len() {
                0 => payload.payload.len(),
                total => usize::from(total).saturating_sub(header.slice().len()),
            };
            (IpAddr::V4(header.source_addr()), IpAddr::V4(header.destination_addr()), payload, declared)
        }
        LaxIpSlice::Ipv6(v6) => {
            let header = v6.header();
            let payload = v6.payload();
            // A payload length of 0 is a jumbogram or a TSO capture; then the frame decides.
            let declared = match header.payload_length() {
                0 => payload.payload.len(),
                length => usize::from(length).saturating_sub(v6.extensions().slice().len()),
            };
            (IpAddr::V6(header.source_addr()), IpAddr::V6(header.destination_addr()), payload, declared)
        }
    };
    if payload.ip_number != IpNumber::TCP {
        return Ok(Decoded::NotTcp);
    }
    if payload.fragmented {
        return Err(SkipReason::IpFragment);
    }
    let tcp = TcpSlice::from_slice(payload.payload).map_err(|err| match err {
        etherparse::err::tcp::HeaderSliceError::Len(_) => SkipReason::TruncatedTcpHeader,
        etherparse::err::tcp::HeaderSliceError::Content(_) => SkipReason::MalformedTcpHeader,
    })?;
    let header_len = usize::from(tcp.data_offset()) * 4;
    let payload_len = u32::try_from(ip_payload_len.saturating_sub(header_len)).unwrap_or(u32::MAX);
    Ok(Decoded::Tcp(TcpPacket {
        src: SocketAddr::new(src_ip, tcp.source_port()),
        dst: SocketAddr::new(dst_ip, tcp.destination_port()),
        seq: tcp.sequence_number(),
        ack: tcp.acknowledgment_number(),
        flags: flags_of(&tcp),
        window: tcp.window_size(),
        payload_len,
        options: tcp.slice().get(20..header_len).unwrap_or(&[]),
        payload: tcp.payload().get(..payload_len as usize).unwrap_or(tcp.payload()),
        ip_id,
    }))
}

/// Where each header sits in a frame: byte ranges of the link header, the IP header (with
/// extension headers) and the TCP header (with options).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderSpans {
    pub link: std::ops::Range<usize>,
    pub ip: std::ops::Range<usize>,
    pub tcp: std::ops::Range<usize>,
}

/// The header spans of a TCP frame, or `None` when it is not one.
pub fn header_spans(link: LinkType, frame: &[u8]) -> Option<HeaderSpans> {
    let ip = match unwrap_link(link, frame).ok()? {
        Inner::Ip(ip) => ip,
        Inner::EtherType(ether_type, rest) => match skip_vlan_tags(ether_type, rest).ok()? {
            (ETHER_TYPE_IPV4 | ETHER_TYPE_IPV6, ip) => ip,
            _ => return None,
        },
        Inner::NotIp => return None,
    };
    let ip_start = frame.len() - ip.len();
    let (sliced, _) = LaxIpSlice::from_slice(ip).ok()?;
    let payload = match &sliced {
        LaxIpSlice::Ipv4(v4) => v4.payload().payload,
        LaxIpSlice::Ipv6(v6) => v6.payload().payload,
    };
    let tcp_start = ip_start + (ip.len() - payload.len()).min(ip.len());
    let tcp = TcpSlice::from_slice(payload).ok()?;
    let tcp_len = usize::from(tcp.data_offset()) * 4;
    Some(HeaderSpans { link: 0..ip_start, ip: ip_start..tcp_start, tcp: tcp_start..tcp_start + tcp_len })
}

fn flags_of(tcp: &TcpSlice<'_>) -> TcpFlags {
    let bits = [
        (tcp.fin(), TcpFlags::FIN),
        (tcp.syn(), TcpFlags::SYN),
        (tcp.rst(), TcpFlags::RST),
        (tcp.psh(), TcpFlags::PSH),
        (tcp.ack(), TcpFlags::ACK),
        (tcp.urg(), TcpFlags::URG),
        (tcp.ece(), TcpFlags::ECE),
        (tcp.cwr(), TcpFlags::CWR),
        (tcp.ns(), TcpFlags::AE),
    ];
    TcpFlags(bits.iter().filter(|(set, _)| *set).fold(0, |acc, (_, bit)| acc | bit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn ipv4_syn(payload: &[u8]) -> Vec<u8> {
        let builder = PacketBuilder::ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
            .tcp(40000, 8080, 1000, 65495)
            .syn()
            .options(&[etherparse::TcpOptionElement::MaximumSegmentSize(65495)])
            .expect("etherparse takes an MSS option on a SYN");
        let mut out = Vec::new();
        builder.write(&mut out, payload).expect("writing to a Vec cannot fail");
        out
    }

    #[test]
    fn raw_ipv4_syn_decodes() {
        let frame = ipv4_syn(&[]);
        let Ok(Decoded::Tcp(tcp)) = decode_frame(LinkType::RawIp, &frame) else { panic!("not tcp") };
        assert_eq!(tcp.src.port(), 40000);
        assert_eq!(tcp.dst.port(), 8080);
        assert_eq!(tcp.seq, 1000);
        assert!(tcp.flags.syn());
        assert_eq!(crate::wire::options::render_options(tcp.options, None), "mss 65495");
    }

    #[test]
    fn snaplen_cut_keeps_the_real_payload_length() {
        let frame = ipv4_syn(&[7u8; 100]);
        let cut = &frame[..frame.len() - 90];
        let Ok(Decoded::Tcp(tcp)) = decode_frame(LinkType::RawIp, cut) else { panic!("not tcp") };
        assert_eq!(tcp.payload_len, 100);
    }

    #[test]
    fn header_spans_cover_link_ip_and_tcp() {
        let frame = ipv4_syn(&[1, 2, 3]);
        let mut ethernet = vec![0u8; 12];
        ethernet.extend_from_slice(&[0x08, 0x00]);
        ethernet.extend_from_slice(&frame);
        let spans = header_spans(LinkType::Ethernet, &ethernet).unwrap_or_else(|| panic!("no spans"));
        assert_eq!(spans.link, 0..14);
        assert_eq!(spans.ip, 14..34);
        assert_eq!(spans.tcp, 34..34 + 24);
        assert_eq!(header_spans(LinkType::Ethernet, &ethernet[..20]), None);
    }

    #[test]
    fn every_prefix_of_a_frame_decodes_or_is_skipped() {
        let frame = ipv4_syn(&[1, 2, 3]);
        for link in [LinkType::RawIp, LinkType::Ethernet, LinkType::LinuxSll, LinkType::LinuxSll2, LinkType::BsdNull] {
            for end in 0..frame.len() {
                let _ = decode_frame(link, &frame[..end]);
            }
        }
    }
}
