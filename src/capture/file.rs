//! Reads a pcap or pcapng file into an [`Engine`], reporting progress and honouring cancellation;
//! reads single frames back, and copies chosen frames into a new pcapng.

use std::fs::File;
use std::ops::ControlFlow;
use std::path::Path;

pub use super::reader::CaptureFormat;
use super::reader::{CaptureReader, ReadError, MAX_PACKET_LEN};

use crate::engine::{Engine, EngineConfig};
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

fn open(path: &Path) -> Result<(CaptureReader<File>, u64), CaptureError> {
    let io_error = |source| CaptureError::Io { path: path.to_path_buf(), source };
    let file = File::open(path).map_err(io_error)?;
    let bytes_total = file.metadata().map_err(io_error)?.len();
    let reader = CaptureReader::new(file).map_err(|err| match err {
        ReadError::NotACapture(_) => CaptureError::NotACapture { path: path.to_path_buf(), message: err.to_string() },
        _ if bytes_total < 24 => CaptureError::NotACapture { path: path.to_path_buf(), message: err.to_string() },
        _ => CaptureError::Open { path: path.to_path_buf(), message: err.to_string() },
    })?;
    Ok((reader, bytes_total))
}

/// Reads `path`, calling `on_progress` every `progress_every` packets; it may stop the read.
/// Damage stops the read and is reported in the outcome with everything before it kept.
pub fn read_capture(
    path: &Path,
    config: EngineConfig,
    progress_every: u64,
    mut on_progress: impl FnMut(&Progress, &Engine) -> ControlFlow<()>,
) -> Result<ReadOutcome, CaptureError> {
    let (mut reader, bytes_total) = open(path)?;
    let format = reader.format();
    let mut engine: Option<Engine> = None;
    let mut progress = Progress { bytes_read: reader.offset(), bytes_total, packets: 0 };
    let every = progress_every.max(1);
    let mut damage = None;
    let mut cancelled = false;
    loop {
        match reader.next_packet() {
            Ok(Some(packet)) => {
                let engine = engine.get_or_insert_with(|| Engine::new(packet.link, config));
                engine.ingest_link(packet.link, packet.ts_nanos, packet.data);
                progress.packets += 1;
                progress.bytes_read = reader.offset();
                if progress.packets.is_multiple_of(every) && on_progress(&progress, engine).is_break() {
                    cancelled = true;
                    break;
                }
            }
            Ok(None) => break,
            Err(err) => {
                damage = Some(DamagedCapture {
                    path: path.display().to_string(),
                    packets_read: progress.packets,
                    byte_offset: err.offset(),
                    message: err.to_string(),
                });
                break;
            }
        }
    }
    let link = reader.link().unwrap_or(LinkType::Ethernet);
    let mut engine = engine.unwrap_or_else(|| Engine::new(link, config));
    engine.finish();
    if !cancelled {
        progress.bytes_read = bytes_total;
        // The final call reports completion; stopping now changes nothing.
        let _ = on_progress(&progress, &engine);
    }
    Ok(ReadOutcome { engine, format, damage, cancelled })
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
    let write_error = |err: std::io::Error| CaptureError::Io { path: out.to_path_buf(), source: err };
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
