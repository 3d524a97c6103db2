//! Opens a pcap or pcapng file and yields its packets with how far reading has got; reads single
//! frames back, and copies chosen frames into a new pcapng. Whoever analyses the packets feeds
//! them on (see `session::read`).

use std::fs::File;
use std::path::{Path, PathBuf};

pub use super::reader::CaptureFormat;
pub use super::reader::Packet;
use super::reader::{CaptureReader, ReadError, MAX_PACKET_LEN};

use crate::error::{CaptureError, DamagedCapture};
use crate::wire::LinkType;

/// How far reading has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// Bytes of the file consumed.
    pub bytes_read: u64,
    pub bytes_total: u64,
    pub packets: u64,
}

fn open(path: &Path) -> Result<(CaptureReader<File>, u64), CaptureError> {
    let io_error = |source| CaptureError::Io { path: path.to_path_buf(), source };
    let file = File::open(path).map_err(io_error)?;
    let bytes_total = file.metadata().map_err(io_error)?.len();
    let reader = CaptureReader::new(file).map_err(|err| match err {
        ReadError::NotACapture(first_bytes) => match compression(path) {
            Some((format, tool)) => CaptureError::Compressed { path: path.to_path_buf(), format, tool },
            None => CaptureError::NotACapture {
                path: path.to_path_buf(),
                why: format!("the first bytes are {first_bytes}"),
            },
        },
        _ if bytes_total < 24 => CaptureError::NotACapture { path: path.to_path_buf(), why: err.to_string() },
        _ => CaptureError::Open { path: path.to_path_buf(), message: err.to_string() },
    })?;
    Ok((reader, bytes_total))
}

/// What compressed the file at `path`, by its first bytes, and the command that undoes it
/// keeping the original (tshark reads these; the reader here does not yet).
fn compression(path: &Path) -> Option<(&'static str, &'static str)> {
    use std::io::Read;
    let mut magic = [0u8; 6];
    let read = File::open(path).and_then(|mut file| file.read(&mut magic)).ok()?;
    let magic = magic.get(..read)?;
    const KNOWN: [(&[u8], &str, &str); 5] = [
        (&[0x1f, 0x8b], "gzip", "gunzip -k"),
        (&[0x28, 0xb5, 0x2f, 0xfd], "zstd", "zstd -d"),
        (&[0x04, 0x22, 0x4d, 0x18], "lz4", "lz4 -d"),
        (&[0xfd, b'7', b'z', b'X', b'Z', 0x00], "xz", "unxz -k"),
        (b"BZh", "bzip2", "bunzip2 -k"),
    ];
    KNOWN.iter().find(|(prefix, ..)| magic.starts_with(prefix)).map(|&(_, format, tool)| (format, tool))
}

/// A capture file open for reading, packet by packet.
pub struct CaptureFile {
    path: PathBuf,
    reader: CaptureReader<File>,
    bytes_total: u64,
    packets: u64,
}

impl CaptureFile {
    /// Opens `path` and reads its file header.
    pub fn open(path: &Path) -> Result<Self, CaptureError> {
        let (reader, bytes_total) = open(path)?;
        Ok(Self { path: path.to_path_buf(), reader, bytes_total, packets: 0 })
    }

    pub fn format(&self) -> CaptureFormat {
        self.reader.format()
    }

    /// The link type of the first interface, once known.
    pub fn link(&self) -> Option<LinkType> {
        self.reader.link()
    }

    /// Packets the capturing kernel dropped, when the file says (pcapng interface statistics).
    pub fn kernel_drops(&self) -> Option<u64> {
        self.reader.kernel_drops()
    }

    /// How far reading has got.
    pub fn progress(&self) -> Progress {
        Progress { bytes_read: self.reader.offset(), bytes_total: self.bytes_total, packets: self.packets }
    }

    /// The next packet, `None` at the end, or the damage that stops the read (everything before
    /// it was yielded intact).
    pub fn next_packet(&mut self) -> Result<Option<Packet<'_>>, DamagedCapture> {
        match self.reader.next_packet() {
            Ok(Some(packet)) => {
                self.packets += 1;
                Ok(Some(packet))
            }
            Ok(None) => Ok(None),
            Err(err) => Err(DamagedCapture {
                path: self.path.display().to_string(),
                packets_read: self.packets,
                byte_offset: err.offset(),
                message: err.to_string(),
            }),
        }
    }
}

/// The bytes of frame `frame` (1-based) of a capture, and its link type: for showing the real
/// header bytes of one segment without keeping them in memory. Reads from the start of the file.
pub fn read_frame(path: &Path, frame: u32) -> Result<(LinkType, Vec<u8>), CaptureError> {
    let (mut reader, _) = open(path)?;
    let damaged = |err: ReadError| CaptureError::Open { path: path.to_path_buf(), message: err.to_string() };
    let mut index = 0u32;
    while let Some(packet) = reader.next_packet().map_err(damaged)? {
        index += 1;
        if index == frame {
            return Ok((packet.link, packet.data.to_vec()));
        }
    }
    Err(CaptureError::Open { path: path.to_path_buf(), message: format!("no frame {frame} (the file has {index})") })
}

/// Copies the frames numbered in `frames` (1-based) from `path` into a new pcapng file `out`;
/// returns how many were written.
pub fn extract_frames(path: &Path, frames: &std::collections::BTreeSet<u32>, out: &Path) -> Result<u64, CaptureError> {
    let (mut reader, _) = open(path)?;
    let damaged = |err: ReadError| CaptureError::Open { path: path.to_path_buf(), message: err.to_string() };
    let write_error = |err: std::io::Error| CaptureError::Write { path: out.to_path_buf(), source: err };
    let mut writer = super::pcapng::PcapNgWriter::create(out, MAX_PACKET_LEN).map_err(write_error)?;
    let last = frames.iter().next_back().copied().unwrap_or(0);
    let (mut index, mut written) = (0u32, 0u64);
    while index < last {
        let Some(packet) = reader.next_packet().map_err(damaged)? else { break };
        index += 1;
        if frames.contains(&index) {
            writer.write(packet.link.dlt(), packet.ts_nanos, packet.data, packet.original_len).map_err(write_error)?;
            written += 1;
        }
    }
    writer.flush().map_err(write_error)?;
    Ok(written)
}
