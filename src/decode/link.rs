//! Link layers: which DLT a capture uses, and how to find the network-layer bytes behind it.
//!
//! etherparse handles Ethernet (and the VLAN tags behind it), but not Linux cooked SLL2, SLL with
//! the loopback ARPHRD, or BSD loopback; those headers are small enough to read here.

use crate::wire::LinkType;

/// What sits behind a link header that this module unwrapped by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inner<'a> {
    /// An EtherType and the bytes after it (VLAN tags may follow).
    EtherType(u16, &'a [u8]),
    /// IP bytes whose version nibble decides v4 or v6.
    Ip(&'a [u8]),
    /// A protocol the link header names that is not IP.
    NotIp,
}

/// Why a link header could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    /// The frame is shorter than its link header.
    Truncated,
    /// The capture's link type is not one tcpladder decodes.
    Unsupported,
}

const ETHERNET_HEADER_LEN: usize = 14;
const SLL_HEADER_LEN: usize = 16;
const SLL2_HEADER_LEN: usize = 20;
const BSD_HEADER_LEN: usize = 4;
const AF_INET: u32 = 2;
/// AF_INET6 differs between BSDs: NetBSD/OpenBSD 24, FreeBSD 28, macOS 30 (Linux's 10 for good measure).
const AF_INET6_VALUES: [u32; 4] = [24, 28, 30, 10];

/// Strips a link header (Ethernet's, SLL's, SLL2's, BSD loopback's, or none for raw IP).
pub fn unwrap_link(link: LinkType, frame: &[u8]) -> Result<Inner<'_>, LinkError> {
    match link {
        LinkType::RawIp | LinkType::Ipv4 | LinkType::Ipv6 => Ok(Inner::Ip(frame)),
        LinkType::LinuxSll => {
            let (header, rest) = split(frame, SLL_HEADER_LEN)?;
            Ok(Inner::EtherType(be16(header, 14), rest))
        }
        LinkType::LinuxSll2 => {
            let (header, rest) = split(frame, SLL2_HEADER_LEN)?;
            Ok(Inner::EtherType(be16(header, 0), rest))
        }
        LinkType::BsdNull | LinkType::BsdLoop => {
            let (header, rest) = split(frame, BSD_HEADER_LEN)?;
            let bytes: [u8; 4] = header.try_into().map_err(|_| LinkError::Truncated)?;
            // NULL is in the writer's byte order, which the file does not record: try both.
            let family_be = u32::from_be_bytes(bytes);
            let family_le = u32::from_le_bytes(bytes);
            let is_family = |family: u32| family_be == family || family_le == family;
            if is_family(AF_INET) || AF_INET6_VALUES.iter().any(|&v| is_family(v)) {
                Ok(Inner::Ip(rest))
            } else {
                Ok(Inner::NotIp)
            }
        }
        LinkType::Ethernet => {
            let (header, rest) = split(frame, ETHERNET_HEADER_LEN)?;
            Ok(Inner::EtherType(be16(header, 12), rest))
        }
        LinkType::Other(_) => Err(LinkError::Unsupported),
    }
}

/// EtherTypes of 802.1Q, 802.1ad (QinQ) and the older QinQ tag.
const VLAN_ETHER_TYPES: [u16; 3] = [0x8100, 0x88a8, 0x9100];
const VLAN_TAG_LEN: usize = 4;
/// More stacked tags than any real network uses: a bound against crafted frames.
const MAX_VLAN_TAGS: usize = 8;
pub const ETHER_TYPE_IPV4: u16 = 0x0800;
pub const ETHER_TYPE_IPV6: u16 = 0x86dd;

/// Skips VLAN tags; returns the EtherType behind them and the bytes after it.
pub fn skip_vlan_tags(mut ether_type: u16, mut rest: &[u8]) -> Result<(u16, &[u8]), LinkError> {
    for _ in 0..MAX_VLAN_TAGS {
        if !VLAN_ETHER_TYPES.contains(&ether_type) {
            return Ok((ether_type, rest));
        }
        let (tag, after) = split(rest, VLAN_TAG_LEN)?;
        ether_type = be16(tag, 2);
        rest = after;
    }
    Err(LinkError::Truncated)
}

fn split(frame: &[u8], len: usize) -> Result<(&[u8], &[u8]), LinkError> {
    if frame.len() < len {
        return Err(LinkError::Truncated);
    }
    Ok(frame.split_at(len))
}

fn be16(bytes: &[u8], at: usize) -> u16 {
    match bytes.get(at..at + 2) {
        Some(&[hi, lo]) => u16::from_be_bytes([hi, lo]),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bsd_null_accepts_both_byte_orders_and_all_inet6_values() {
        let ip = [0x45u8, 0, 0, 20];
        for family in [2u32, 24, 28, 30] {
            for header in [family.to_le_bytes(), family.to_be_bytes()] {
                let frame = [&header[..], &ip[..]].concat();
                assert_eq!(unwrap_link(LinkType::BsdNull, &frame), Ok(Inner::Ip(&ip[..])));
            }
        }
        let arp = [0u8, 0, 0, 7, 1, 2];
        assert_eq!(unwrap_link(LinkType::BsdNull, &arp), Ok(Inner::NotIp));
    }

    #[test]
    fn sll2_protocol_is_first_field() {
        let mut frame = vec![0x08, 0x00];
        frame.extend_from_slice(&[0; 18]);
        frame.push(0x45);
        assert_eq!(unwrap_link(LinkType::LinuxSll2, &frame), Ok(Inner::EtherType(0x0800, &[0x45][..])));
    }

    #[test]
    fn short_frames_are_truncated_not_panics() {
        for link in [LinkType::LinuxSll, LinkType::LinuxSll2, LinkType::BsdNull] {
            assert_eq!(unwrap_link(link, &[1, 2, 3]), Err(LinkError::Truncated));
        }
    }

    #[test]
    fn qinq_tags_are_skipped() {
        let bytes = [0x00, 0x01, 0x81, 0x00, 0x00, 0x02, 0x08, 0x00, 0x45];
        assert_eq!(skip_vlan_tags(0x88a8, &bytes), Ok((0x0800, &[0x45][..])));
        assert_eq!(skip_vlan_tags(0x8100, &bytes[..2]), Err(LinkError::Truncated));
    }

    #[test]
    fn dlt_round_trips() {
        for dlt in [0, 1, 101, 108, 113, 228, 229, 276] {
            assert_eq!(LinkType::from_dlt(dlt).dlt(), dlt);
        }
    }
}
