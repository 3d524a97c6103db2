//! A minimal pcapng writer (libpcap writes only pcap): one section, an interface per link type
//! (written when the first packet of that type comes) with nanosecond timestamps, and an enhanced
//! packet block per packet. Readable by Wireshark, tshark, and libpcap when one link type is used.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use super::format::{
    PCAPNG_BYTE_ORDER, PCAPNG_ENHANCED_PACKET, PCAPNG_IF_TSRESOL, PCAPNG_INTERFACE_DESCRIPTION, PCAPNG_SECTION_HEADER,
};

/// `if_tsresol`'s value: timestamps count units of 10^-9 s.
const NANOSECONDS: u8 = 9;

/// Writes packets to a pcapng file.
pub struct PcapNgWriter {
    out: BufWriter<File>,
    snaplen: u32,
    /// The source and link type of each interface described so far; a packet names its index.
    interfaces: Vec<(u8, i32)>,
}

impl PcapNgWriter {
    /// Creates `path` with a section header; interfaces follow as packets need them.
    pub fn create(path: &Path, snaplen: u32) -> std::io::Result<Self> {
        let mut out = BufWriter::new(File::create(path)?);
        // Section header: no options, section length unknown (-1).
        let shb_len = 28u32;
        for word in [PCAPNG_SECTION_HEADER, shb_len, PCAPNG_BYTE_ORDER] {
            out.write_all(&word.to_le_bytes())?;
        }
        out.write_all(&1u16.to_le_bytes())?;
        out.write_all(&0u16.to_le_bytes())?;
        out.write_all(&(-1i64).to_le_bytes())?;
        out.write_all(&shb_len.to_le_bytes())?;
        Ok(Self { out, snaplen, interfaces: Vec::new() })
    }

    /// The index of the interface for link type `dlt` of `source`, describing it first if it
    /// is new.
    fn interface(&mut self, source: u8, dlt: i32) -> std::io::Result<u32> {
        if let Some(index) = self.interfaces.iter().position(|&d| d == (source, dlt)) {
            return Ok(u32::try_from(index).unwrap_or(u32::MAX));
        }
        // Interface description with if_tsresol = 9, then opt_endofopt.
        let idb_len = 32u32;
        let out = &mut self.out;
        out.write_all(&PCAPNG_INTERFACE_DESCRIPTION.to_le_bytes())?;
        out.write_all(&idb_len.to_le_bytes())?;
        out.write_all(&u16::try_from(dlt).unwrap_or(u16::MAX).to_le_bytes())?;
        out.write_all(&0u16.to_le_bytes())?;
        out.write_all(&self.snaplen.to_le_bytes())?;
        out.write_all(&PCAPNG_IF_TSRESOL.to_le_bytes())?;
        out.write_all(&1u16.to_le_bytes())?;
        out.write_all(&[NANOSECONDS, 0, 0, 0])?;
        out.write_all(&[0u8; 4])?;
        out.write_all(&idb_len.to_le_bytes())?;
        self.interfaces.push((source, dlt));
        Ok(u32::try_from(self.interfaces.len() - 1).unwrap_or(u32::MAX))
    }

    /// Appends one packet of link type `dlt`: capture time in nanoseconds, the captured bytes and
    /// the original length.
    pub fn write(&mut self, dlt: i32, ts_nanos: i64, data: &[u8], original_len: u32) -> std::io::Result<()> {
        self.write_from(0, dlt, ts_nanos, data, original_len)
    }

    /// Like [`Self::write`], on an interface of its own for each `source` (two captures merged
    /// keep their vantage points apart).
    pub fn write_from(
        &mut self,
        source: u8,
        dlt: i32,
        ts_nanos: i64,
        data: &[u8],
        original_len: u32,
    ) -> std::io::Result<()> {
        let interface = self.interface(source, dlt)?;
        let captured = u32::try_from(data.len()).unwrap_or(u32::MAX);
        let padded = data.len().next_multiple_of(4);
        let block_len = u32::try_from(32 + padded).unwrap_or(u32::MAX);
        let ts = u64::try_from(ts_nanos).unwrap_or(0);
        self.out.write_all(&PCAPNG_ENHANCED_PACKET.to_le_bytes())?;
        self.out.write_all(&block_len.to_le_bytes())?;
        self.out.write_all(&interface.to_le_bytes())?;
        self.out.write_all(&((ts >> 32) as u32).to_le_bytes())?;
        self.out.write_all(&(ts as u32).to_le_bytes())?;
        self.out.write_all(&captured.to_le_bytes())?;
        self.out.write_all(&original_len.to_le_bytes())?;
        self.out.write_all(data)?;
        self.out.write_all([0u8; 3][..].get(..padded - data.len()).unwrap_or_default())?;
        self.out.write_all(&block_len.to_le_bytes())
    }

    /// Writes buffered packets to the file.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::read_capture;
    use crate::EngineConfig;

    #[test]
    fn what_is_written_reads_back() {
        let path = std::env::temp_dir().join(format!("tcpladder-pcapng-{}.pcapng", std::process::id()));
        let mut writer = PcapNgWriter::create(&path, 65_535).unwrap_or_else(|err| panic!("{err}"));
        let frame = [0x45u8, 0, 0, 20, 0, 0, 0, 0, 64, 6, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1];
        writer.write(101, 1_700_000_000_123_456_789, &frame, 20).unwrap_or_else(|err| panic!("{err}"));
        writer.write(101, 1_700_000_001_000_000_001, &frame[..19], 20).unwrap_or_else(|err| panic!("{err}"));
        writer.flush().unwrap_or_else(|err| panic!("{err}"));
        drop(writer);
        let outcome = read_capture(&path, EngineConfig::default(), 1, |_, _| std::ops::ControlFlow::Continue(()))
            .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(outcome.format, crate::capture::CaptureFormat::PcapNg);
        assert!(outcome.damage.is_none());
        let stats = outcome.engine.stats();
        assert_eq!(stats.packets, 2);
        assert_eq!(stats.first_ts_nanos, Some(1_700_000_000_123_456_789));
        assert_eq!(stats.last_ts_nanos, Some(1_700_000_001_000_000_001));
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn interfaces_of_different_link_types_read_back_in_one_file() {
        use crate::capture::reader::CaptureReader;
        use crate::wire::LinkType;
        let path = std::env::temp_dir().join(format!("tcpladder-mixed-{}.pcapng", std::process::id()));
        let mut writer = PcapNgWriter::create(&path, 65_535).unwrap_or_else(|err| panic!("{err}"));
        for (dlt, byte) in [(1, 1u8), (101, 2), (1, 3), (276, 4)] {
            writer.write(dlt, i64::from(byte), &[byte; 5], 5).unwrap_or_else(|err| panic!("{err}"));
        }
        writer.flush().unwrap_or_else(|err| panic!("{err}"));
        drop(writer);
        let bytes = std::fs::read(&path).unwrap_or_default();
        let mut reader = CaptureReader::new(&bytes[..]).unwrap_or_else(|err| panic!("{err}"));
        let mut read = Vec::new();
        while let Ok(Some(packet)) = reader.next_packet() {
            read.push((packet.link, packet.ts_nanos, packet.data.to_vec()));
        }
        let expected =
            [(LinkType::Ethernet, 1), (LinkType::RawIp, 2), (LinkType::Ethernet, 3), (LinkType::LinuxSll2, 4)];
        let expected: Vec<_> = expected.iter().map(|&(link, b)| (link, i64::from(b), vec![b; 5])).collect();
        assert_eq!(read, expected);
        assert_eq!(reader.offset(), bytes.len() as u64);
        let _ = std::fs::remove_file(path);
    }
}
