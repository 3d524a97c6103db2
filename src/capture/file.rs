//! Opens a pcap or pcapng file and yields its packets with how far reading has got; reads single
//! frames back, and copies chosen frames into a new pcapng. Whoever analyses the packets feeds
//! them on (see `session::read`).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::input::open_input;

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

/// The bytes of a capture, however they come (a file, standard input, decompressed).
type Source = Box<dyn std::io::Read + Send>;

fn open(path: &Path) -> Result<(CaptureReader<Source>, u64, Arc<AtomicU64>), CaptureError> {
    let io_error = |source| CaptureError::Io { path: path.to_path_buf(), source };
    let input = open_input(path).map_err(io_error)?;
    let bytes_total = input.size.unwrap_or(0);
    let compressed = input.compression;
    let reader = CaptureReader::new(input.reader).map_err(|err| match err {
        ReadError::NotACapture(first_bytes) => match compression(path) {
            Some((format, tool)) => CaptureError::Compressed { path: path.to_path_buf(), format, tool },
            None => CaptureError::NotACapture {
                path: path.to_path_buf(),
                why: match compressed {
                    Some(c) => format!("{}-compressed, and inside the first bytes are {first_bytes}", c.name()),
                    None => format!("the first bytes are {first_bytes}"),
                },
            },
        },
        _ if bytes_total < 24 && compressed.is_none() => {
            CaptureError::NotACapture { path: path.to_path_buf(), why: err.to_string() }
        }
        _ if compressed.is_some() => CaptureError::Open {
            path: path.to_path_buf(),
            message: format!("{}-compressed, but the stream is damaged ({err})", compressed.map_or("", |c| c.name())),
        },
        _ => CaptureError::Open { path: path.to_path_buf(), message: err.to_string() },
    })?;
    Ok((reader, bytes_total, input.consumed))
}

/// What compressed the file at `path`, by its first bytes, and the command that undoes it
/// keeping the original (tshark reads these; the reader here does not yet).
fn compression(path: &Path) -> Option<(&'static str, &'static str)> {
    use std::io::Read;
    let mut magic = [0u8; 6];
    let read = File::open(path).and_then(|mut file| file.read(&mut magic)).ok()?;
    let magic = magic.get(..read)?;
    // gzip, zstd, xz and lz4 are read as they stream (see `input`); bzip2 is not.
    const KNOWN: [(&[u8], &str, &str); 1] = [(b"BZh", "bzip2", "bunzip2 -k")];
    KNOWN.iter().find(|(prefix, ..)| magic.starts_with(prefix)).map(|&(_, format, tool)| (format, tool))
}

/// A capture file open for reading, packet by packet.
pub struct CaptureFile {
    path: PathBuf,
    reader: CaptureReader<Source>,
    bytes_total: u64,
    packets: u64,
    /// Raw bytes consumed (of the compressed file, when it is).
    consumed: Arc<AtomicU64>,
}

impl CaptureFile {
    /// Opens `path` and reads its file header.
    pub fn open(path: &Path) -> Result<Self, CaptureError> {
        let (reader, bytes_total, consumed) = open(path)?;
        Ok(Self { path: path.to_path_buf(), reader, bytes_total, packets: 0, consumed })
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
        // Read ahead by the buffer, so never past the end: progress is of the raw file.
        let bytes_read = self.consumed.load(Ordering::Relaxed).min(self.bytes_total.max(self.reader.offset()));
        Progress { bytes_read, bytes_total: self.bytes_total, packets: self.packets }
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
    let (mut reader, _, _) = open(path)?;
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
    let (mut reader, _, _) = open(path)?;
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
