//! Errors the library reports, each saying what is wrong and where.

use std::path::PathBuf;

/// Failure to read a capture file.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{}: cannot read: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: not a pcap or pcapng capture ({message})", path.display())]
    NotACapture { path: PathBuf, message: String },
    #[error("{}: {message}", path.display())]
    Open { path: PathBuf, message: String },
}

/// Damage found after part of a capture was read: everything before it was kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: damaged or cut off after packet {packets_read} (at byte {byte_offset}): {message}")]
pub struct DamagedCapture {
    pub path: String,
    /// Packets read intact before the damage.
    pub packets_read: u64,
    /// File offset of the damaged record or block.
    pub byte_offset: u64,
    pub message: String,
}
