//! A pcap and pcapng reader in Rust, for files: every length read from a header is checked against
//! a cap before anything is allocated, damage is reported with the packet number and the exact byte
//! offset, and pcapng interfaces may mix link types (libpcap refuses those files). Live capture
//! still goes through libpcap. pcapng's blocks are read in [`pcapng`].

use std::io::{self, Read};

use crate::wire::{LinkType, SharedBlock};

mod blocks;
mod pcapng;

use blocks::BlockReader;

use super::format::{
    i64_at, u16_at, u32_at, units_to_nanos, PcapRecord, PCAPNG_BYTE_ORDER, PCAPNG_ENHANCED_PACKET,
    PCAPNG_INTERFACE_DESCRIPTION, PCAPNG_INTERFACE_STATISTICS, PCAPNG_ISB_IFDROP, PCAPNG_OBSOLETE_PACKET,
    PCAPNG_SECTION_HEADER, PCAPNG_SIMPLE_PACKET, PCAP_KUZNETSOV, PCAP_MICROS, PCAP_NANOS, PCAP_RECORD_HEADER_LEN,
};

/// The largest packet accepted, in bytes. libpcap's own limit is 256 KiB (262,144), and D-Bus
/// captures use 128 MiB; anything larger than this is damage, not a packet.
pub const MAX_PACKET_LEN: u32 = 1 << 20;
/// The largest pcapng block accepted that is not a packet (interface descriptions, statistics,
/// name resolution): such blocks are skipped without being held in memory, so this bounds only
/// what is obviously damage.
const MAX_BLOCK_LEN: u32 = 1 << 28;

/// Why a capture could not be read (further).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The first bytes, as hex, match no capture format.
    #[error("not a pcap or pcapng file (the first bytes are {0})")]
    NotACapture(String),
    #[error("the file ends inside {what} at byte {offset}")]
    Truncated { what: &'static str, offset: u64 },
    #[error("packet {packet} at byte {offset}: {message}")]
    BadPacket { packet: u64, offset: u64, message: String },
    #[error("block at byte {offset}: {message}")]
    BadBlock { offset: u64, message: String },
    #[error("read error at byte {offset}: {message}")]
    Io { offset: u64, message: String },
}

impl ReadError {
    /// The byte offset where reading stopped.
    pub fn offset(&self) -> u64 {
        match self {
            Self::NotACapture(_) => 0,
            Self::Truncated { offset, .. }
            | Self::BadPacket { offset, .. }
            | Self::BadBlock { offset, .. }
            | Self::Io { offset, .. } => *offset,
        }
    }
}

/// One packet, borrowed from the reader until the next call.
#[derive(Debug, PartialEq, Eq)]
pub struct Packet<'a> {
    pub ts_nanos: i64,
    pub link: LinkType,
    pub data: &'a [u8],
    /// The length on the wire (at least `data.len()` in a sound file).
    pub original_len: u32,
    /// Where the packet's record or block starts in the file.
    pub offset: u64,
    /// The read block `data` lies in, when it was read in place: holding it keeps the bytes
    /// without copying them.
    pub block: Option<&'a SharedBlock>,
}

/// The container format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureFormat {
    Pcap,
    PcapNg,
}

#[derive(Debug, Clone, Copy)]
struct Interface {
    link: LinkType,
    snaplen: u32,
    /// Timestamp units per second as a power: 10^-n (false) or 2^-n (true).
    resolution: (bool, u8),
    offset_seconds: i64,
}

#[derive(Debug)]
enum Format {
    Pcap { big_endian: bool, nanos: bool, extra: usize, link: LinkType },
    PcapNg { big_endian: bool, interfaces: Vec<Interface> },
}

/// Reads packets one at a time from a pcap or pcapng stream.
pub struct CaptureReader<R: Read> {
    input: BlockReader<R>,
    format: Format,
    offset: u64,
    packets: u64,
    buffer: Vec<u8>,
    /// The last timestamp, for pcapng simple packet blocks, which have none.
    last_ts: i64,
    /// Bytes of the last packet, read in place, still to be consumed from `input`.
    pending: usize,
    /// The latest `isb_ifdrop` of each pcapng interface.
    interface_drops: std::collections::BTreeMap<u32, u64>,
}

impl<R: Read> CaptureReader<R> {
    /// Reads the file header; fails when `input` is not a capture.
    pub fn new(input: R) -> Result<Self, ReadError> {
        let mut reader = Self {
            input: BlockReader::new(input),
            format: Format::PcapNg { big_endian: false, interfaces: Vec::new() },
            offset: 0,
            packets: 0,
            buffer: Vec::new(),
            last_ts: 0,
            pending: 0,
            interface_drops: std::collections::BTreeMap::new(),
        };
        let mut magic = [0u8; 4];
        let got = reader.fill(&mut magic)?;
        if got < 4 {
            return Err(ReadError::NotACapture(format!("{:02x?}", magic.get(..got).unwrap_or_default())));
        }
        if u32::from_le_bytes(magic) == PCAPNG_SECTION_HEADER {
            let mut length = [0u8; 4];
            reader.exact(&mut length, "a pcapng section header")?;
            reader.section_header(0, length)?;
            return Ok(reader);
        }
        let (big_endian, magic_value) = match (u32::from_le_bytes(magic), u32::from_be_bytes(magic)) {
            (m @ (PCAP_MICROS | PCAP_NANOS | PCAP_KUZNETSOV), _) => (false, m),
            (_, m @ (PCAP_MICROS | PCAP_NANOS | PCAP_KUZNETSOV)) => (true, m),
            _ => return Err(ReadError::NotACapture(format!("{magic:02x?}"))),
        };
        let mut header = [0u8; 20];
        reader.exact(&mut header, "the pcap file header")?;
        let link = LinkType::from_dlt((u32_at(&header, 16, big_endian) & 0xffff) as i32);
        let extra = if magic_value == PCAP_KUZNETSOV { 8 } else { 0 };
        reader.format = Format::Pcap { big_endian, nanos: magic_value == PCAP_NANOS, extra, link };
        Ok(reader)
    }

    /// Packets the capturing kernel dropped, from the pcapng interface statistics read so far
    /// (summed over interfaces); `None` when the file says nothing (pcap never does).
    pub fn kernel_drops(&self) -> Option<u64> {
        (!self.interface_drops.is_empty()).then(|| self.interface_drops.values().sum())
    }

    /// The container format.
    pub fn format(&self) -> CaptureFormat {
        match self.format {
            Format::Pcap { .. } => CaptureFormat::Pcap,
            Format::PcapNg { .. } => CaptureFormat::PcapNg,
        }
    }

    /// The link type of the file (pcap) or of its first interface (pcapng), once known.
    pub fn link(&self) -> Option<LinkType> {
        match &self.format {
            Format::Pcap { link, .. } => Some(*link),
            Format::PcapNg { interfaces, .. } => interfaces.first().map(|i| i.link),
        }
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads as much of `out` as the input holds; returns how many bytes.
    fn fill(&mut self, out: &mut [u8]) -> Result<usize, ReadError> {
        let mut got = 0;
        while got < out.len() {
            match self.input.read(out.get_mut(got..).unwrap_or_default()) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(ReadError::Io { offset: self.offset + got as u64, message: err.to_string() }),
            }
        }
        self.offset += got as u64;
        Ok(got)
    }

    fn exact(&mut self, out: &mut [u8], what: &'static str) -> Result<(), ReadError> {
        let start = self.offset;
        if self.fill(out)? < out.len() {
            return Err(ReadError::Truncated { what, offset: start });
        }
        Ok(())
    }

    /// Reads `len` bytes into the packet buffer.
    fn read_body(&mut self, len: usize, what: &'static str) -> Result<(), ReadError> {
        let mut buffer = std::mem::take(&mut self.buffer);
        buffer.resize(len, 0);
        let result = self.exact(&mut buffer, what);
        self.buffer = buffer;
        result
    }

    /// Skips `len` bytes without holding them.
    fn skip(&mut self, len: u64, what: &'static str) -> Result<(), ReadError> {
        let start = self.offset;
        let mut left = len;
        while left > 0 {
            let available = match self.input.fill_buf() {
                Ok(buf) => buf.len() as u64,
                Err(err) => return Err(ReadError::Io { offset: self.offset, message: err.to_string() }),
            };
            if available == 0 {
                return Err(ReadError::Truncated { what, offset: start });
            }
            let step = available.min(left);
            self.input.consume(step as usize);
            self.offset += step;
            left -= step;
        }
        Ok(())
    }

    /// The next packet, `Ok(None)` at a clean end of the file.
    pub fn next_packet(&mut self) -> Result<Option<Packet<'_>>, ReadError> {
        self.input.consume(std::mem::take(&mut self.pending));
        match self.format {
            Format::Pcap { big_endian, nanos, extra, link } => self.next_pcap(big_endian, nanos, extra, link),
            Format::PcapNg { .. } => self.next_pcapng(),
        }
    }

    fn next_pcap(
        &mut self,
        big_endian: bool,
        nanos: bool,
        extra: usize,
        link: LinkType,
    ) -> Result<Option<Packet<'_>>, ReadError> {
        let start = self.offset;
        let header_len = PCAP_RECORD_HEADER_LEN + extra;
        // Fast path: the whole record is in the read buffer (gathered there when it straddles
        // two reads), so the packet is handed out in place.
        let total = self.input.fill_at_least(header_len).ok().and_then(|buffered| {
            let captured = u32_at(buffered, 8, big_endian);
            (buffered.len() >= header_len && captured <= MAX_PACKET_LEN).then_some(header_len + captured as usize)
        });
        if let Some(total) = total.filter(|&total| self.input.fill_at_least(total).is_ok_and(|b| b.len() >= total)) {
            let buffered = self.input.buffer();
            let record = PcapRecord::parse(buffered, big_endian, nanos);
            let (ts_nanos, original_len) = (record.ts_nanos, record.original_len);
            self.pending = total;
            self.offset += total as u64;
            self.packets += 1;
            let data = buffered.get(header_len..total).unwrap_or_default();
            let block = Some(self.input.block());
            return Ok(Some(Packet { ts_nanos, link, data, original_len, offset: start, block }));
        }
        let mut header = [0u8; 24];
        let header = header.get_mut(..PCAP_RECORD_HEADER_LEN + extra).unwrap_or_default();
        let packet = self.packets + 1;
        match self.fill(header)? {
            0 => return Ok(None),
            n if n < header.len() => {
                let message = format!("cut off: the file ends {n} bytes into its {}-byte record header", header.len());
                return Err(ReadError::BadPacket { packet, offset: start, message });
            }
            _ => {}
        }
        let PcapRecord { ts_nanos, captured, original_len } = PcapRecord::parse(header, big_endian, nanos);
        if captured > MAX_PACKET_LEN {
            let message = format!(
                "claims {captured} captured bytes, more than any real packet ({MAX_PACKET_LEN} at most); \
                 the record header is damaged"
            );
            return Err(ReadError::BadPacket { packet, offset: start, message });
        }
        self.read_body(captured as usize, "a packet's bytes").map_err(|err| match err {
            ReadError::Truncated { .. } => ReadError::BadPacket {
                packet,
                offset: start,
                message: format!("cut off: the file ends inside its {captured} bytes"),
            },
            other => other,
        })?;
        self.packets = packet;
        Ok(Some(Packet { ts_nanos, link, data: &self.buffer, original_len, offset: start, block: None }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::format::{pcap_file_header, pcap_record_header};

    fn pcap(records: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let mut out = pcap_file_header(101, 65_535).to_vec();
        for (seconds, nanos, data) in records {
            let ts_nanos = i64::from(*seconds) * 1_000_000_000 + i64::from(*nanos);
            out.extend_from_slice(&pcap_record_header(ts_nanos, data.len() as u32, data.len() as u32));
            out.extend_from_slice(data);
        }
        out
    }

    /// (timestamp, bytes, offset) of each packet read.
    type Read = Vec<(i64, Vec<u8>, u64)>;

    fn all(bytes: &[u8]) -> (Read, Option<ReadError>) {
        let mut packets = Vec::new();
        let mut reader = match CaptureReader::new(bytes) {
            Ok(reader) => reader,
            Err(err) => return (packets, Some(err)),
        };
        loop {
            match reader.next_packet() {
                Ok(Some(p)) => packets.push((p.ts_nanos, p.data.to_vec(), p.offset)),
                Ok(None) => return (packets, None),
                Err(err) => return (packets, Some(err)),
            }
        }
    }

    #[test]
    fn reads_pcap_records_with_their_offsets() {
        let bytes = pcap(&[(1, 5, b"abc"), (2, 0, b"")]);
        let (packets, error) = all(&bytes);
        assert_eq!(error, None);
        assert_eq!(packets, vec![(1_000_000_005, b"abc".to_vec(), 24), (2_000_000_000, vec![], 24 + 16 + 3)]);
    }

    #[test]
    fn a_cut_off_packet_keeps_those_before_it() {
        let bytes = pcap(&[(1, 0, b"abcdef"), (2, 0, b"ghijkl")]);
        let (packets, error) = all(&bytes[..bytes.len() - 2]);
        assert_eq!(packets.len(), 1);
        assert_eq!(
            error,
            Some(ReadError::BadPacket {
                packet: 2,
                offset: 24 + 22,
                message: "cut off: the file ends inside its 6 bytes".into()
            })
        );
    }

    #[test]
    fn a_huge_captured_length_is_refused_before_allocating() {
        let mut bytes = pcap(&[(1, 0, b"abcd")]);
        bytes.splice(24 + 8..24 + 12, 0xffff_fff0u32.to_le_bytes());
        let (packets, error) = all(&bytes);
        assert!(packets.is_empty());
        assert!(matches!(error, Some(ReadError::BadPacket { packet: 1, offset: 24, .. })), "{error:?}");
    }

    #[test]
    fn not_a_capture() {
        assert!(matches!(CaptureReader::new(&b"<html>"[..]).err(), Some(ReadError::NotACapture(_))));
        assert!(matches!(CaptureReader::new(&b"ab"[..]).err(), Some(ReadError::NotACapture(_))));
    }
}
