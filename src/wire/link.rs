//! The link-layer header type of a capture: the number a file or an interface names, and its
//! name for people. Capture reads it, decoding acts on it.

use std::fmt;

/// The link-layer header type of a capture (a `LINKTYPE_*`/`DLT_*` value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// LINKTYPE_ETHERNET (1), with any 802.1Q / QinQ tags.
    Ethernet,
    /// LINKTYPE_NULL (0): 4-byte address family in the writer's byte order (macOS `lo0`).
    BsdNull,
    /// LINKTYPE_LOOP (108): 4-byte address family in network byte order (OpenBSD).
    BsdLoop,
    /// LINKTYPE_RAW (101, and DLT_RAW's platform values 12 and 14): IPv4 or IPv6, no link header.
    RawIp,
    /// LINKTYPE_IPV4 (228).
    Ipv4,
    /// LINKTYPE_IPV6 (229).
    Ipv6,
    /// LINKTYPE_LINUX_SLL (113): what `tcpdump -i any` wrote before libpcap 1.10.
    LinuxSll,
    /// LINKTYPE_LINUX_SLL2 (276): what `tcpdump -i any` writes now.
    LinuxSll2,
    /// Anything else: packets are counted as undecodable.
    Other(i32),
}

impl LinkType {
    /// Maps a DLT / LINKTYPE number to a link type.
    pub fn from_dlt(dlt: i32) -> Self {
        match dlt {
            1 => Self::Ethernet,
            0 => Self::BsdNull,
            108 => Self::BsdLoop,
            101 | 12 | 14 => Self::RawIp,
            228 => Self::Ipv4,
            229 => Self::Ipv6,
            113 => Self::LinuxSll,
            276 => Self::LinuxSll2,
            other => Self::Other(other),
        }
    }

    /// The LINKTYPE number written into capture files.
    pub fn dlt(self) -> i32 {
        match self {
            Self::Ethernet => 1,
            Self::BsdNull => 0,
            Self::BsdLoop => 108,
            Self::RawIp => 101,
            Self::Ipv4 => 228,
            Self::Ipv6 => 229,
            Self::LinuxSll => 113,
            Self::LinuxSll2 => 276,
            Self::Other(v) => v,
        }
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::Ethernet => "Ethernet",
            Self::BsdNull => "BSD loopback (NULL)",
            Self::BsdLoop => "BSD loopback (LOOP)",
            Self::RawIp => "raw IP",
            Self::Ipv4 => "raw IPv4",
            Self::Ipv6 => "raw IPv6",
            Self::LinuxSll => "Linux cooked (SLL)",
            Self::LinuxSll2 => "Linux cooked v2 (SLL2)",
            Self::Other(v) => return write!(f, "link type {v}"),
        };
        f.write_str(name)
    }
}
