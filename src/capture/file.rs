//! Reads a pcap or pcapng file into an [`Engine`], reporting progress and honouring cancellation.

use std::io::Read;
use std::ops::ControlFlow;
use std::path::Path;

use crate::decode::LinkType;
use crate::engine::{Engine, EngineConfig};
use crate::error::{CaptureError, DamagedCapture};

/// The container format, from the file's magic number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureFormat {
    Pcap,
    PcapNg,
}

const PCAP_FILE_HEADER_LEN: u64 = 24;
const PCAP_RECORD_HEADER_LEN: u64 = 16;
/// An enhanced packet block without options: 28 bytes of header and 4 of trailer.
const PCAPNG_EPB_OVERHEAD: u64 = 32;

/// How far reading has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// Bytes of the file consumed (exact for pcap, estimated for pcapng).
    pub bytes_read: u64,
    pub bytes_total: u64,
    pub packets: u64,
}

/// What reading a file produced.
#[derive(Debug)]
pub struct ReadOutcome {
    pub engine: Engine,
    pub format: CaptureFormat,
    /// Set when the file is damaged or cut off: everything before it is in `engine`.
    pub damage: Option<DamagedCapture>,
    /// True when the progress callback asked to stop.
    pub cancelled: bool,
}

/// Reads `path`, calling `on_progress` every `progress_every` packets; it may stop the read.
pub fn read_capture(
    path: &Path,
    config: EngineConfig,
    progress_every: u64,
    mut on_progress: impl FnMut(&Progress, &Engine) -> ControlFlow<()>,
) -> Result<ReadOutcome, CaptureError> {
    let io_error = |source| CaptureError::Io { path: path.to_path_buf(), source };
    let bytes_total = std::fs::metadata(path).map_err(io_error)?.len();
    let format = sniff_format(path).map_err(io_error)?;
    let mut capture = pcap::Capture::from_file_with_precision(path, pcap::Precision::Nano).map_err(|err| {
        let message = err.to_string();
        if message.contains("unknown file format") || message.contains("truncated dump file") || bytes_total < 24 {
            CaptureError::NotACapture { path: path.to_path_buf(), message }
        } else {
            CaptureError::Open { path: path.to_path_buf(), message }
        }
    })?;
    let link = LinkType::from_dlt(capture.get_datalink().0);
    let mut engine = Engine::new(link, config);
    let mut progress = Progress { bytes_read: PCAP_FILE_HEADER_LEN, bytes_total, packets: 0 };
    let every = progress_every.max(1);
    let mut damage = None;
    let mut cancelled = false;
    loop {
        match capture.next_packet() {
            Ok(packet) => {
                let ts_nanos = super::ts_nanos(packet.header);
                engine.ingest(ts_nanos, packet.data);
                progress.packets += 1;
                progress.bytes_read += record_len(format, packet.header.caplen);
                if progress.packets.is_multiple_of(every) && on_progress(&progress, &engine).is_break() {
                    cancelled = true;
                    break;
                }
            }
            Err(pcap::Error::NoMorePackets) => break,
            Err(err) => {
                damage = Some(DamagedCapture {
                    path: path.display().to_string(),
                    packets_read: progress.packets,
                    byte_offset: progress.bytes_read.min(bytes_total),
                    message: err.to_string(),
                });
                break;
            }
        }
    }
    if !cancelled {
        progress.bytes_read = bytes_total;
        // The final call reports completion; stopping now changes nothing.
        let _ = on_progress(&progress, &engine);
    }
    Ok(ReadOutcome { engine, format, damage, cancelled })
}

fn record_len(format: CaptureFormat, caplen: u32) -> u64 {
    let caplen = u64::from(caplen);
    match format {
        CaptureFormat::Pcap => PCAP_RECORD_HEADER_LEN + caplen,
        CaptureFormat::PcapNg => PCAPNG_EPB_OVERHEAD + caplen.next_multiple_of(4),
    }
}

fn sniff_format(path: &Path) -> std::io::Result<CaptureFormat> {
    let mut magic = [0u8; 4];
    let mut file = std::fs::File::open(path)?;
    let read = file.read(&mut magic)?;
    Ok(if read == 4 && magic == [0x0a, 0x0d, 0x0d, 0x0a] { CaptureFormat::PcapNg } else { CaptureFormat::Pcap })
}

/// The bytes of frame `frame` (1-based) of a capture, and its link type: for showing the real
/// header bytes of one segment without keeping them in memory. Reads from the start of the file.
pub fn read_frame(path: &Path, frame: u32) -> Result<(LinkType, Vec<u8>), CaptureError> {
    let open_error = |err: pcap::Error| CaptureError::Open { path: path.to_path_buf(), message: err.to_string() };
    let mut capture = pcap::Capture::from_file(path).map_err(open_error)?;
    let link = LinkType::from_dlt(capture.get_datalink().0);
    let mut index = 0u32;
    loop {
        let packet = capture.next_packet().map_err(open_error)?;
        index += 1;
        if index == frame {
            return Ok((link, packet.data.to_vec()));
        }
    }
}

/// Copies the frames numbered in `frames` (1-based) from `path` into a new pcapng file `out`;
/// returns how many were written.
pub fn extract_frames(path: &Path, frames: &std::collections::BTreeSet<u32>, out: &Path) -> Result<u64, CaptureError> {
    let open_error = |err: pcap::Error| CaptureError::Open { path: path.to_path_buf(), message: err.to_string() };
    let write_error = |err: std::io::Error| CaptureError::Io { path: out.to_path_buf(), source: err };
    let mut capture = pcap::Capture::from_file_with_precision(path, pcap::Precision::Nano).map_err(open_error)?;
    let link = LinkType::from_dlt(capture.get_datalink().0);
    let mut writer = super::pcapng::PcapNgWriter::create(out, link.dlt(), 262_144).map_err(write_error)?;
    let last = frames.iter().next_back().copied().unwrap_or(0);
    let (mut index, mut written) = (0u32, 0u64);
    while index < last {
        let packet = match capture.next_packet() {
            Ok(packet) => packet,
            Err(pcap::Error::NoMorePackets) => break,
            Err(err) => return Err(open_error(err)),
        };
        index += 1;
        if frames.contains(&index) {
            writer.write(super::ts_nanos(packet.header), packet.data, packet.header.len).map_err(write_error)?;
            written += 1;
        }
    }
    writer.flush().map_err(write_error)?;
    Ok(written)
}
