//! Errors the library reports, each saying what is wrong and where.

use std::path::PathBuf;

/// Failure to read a capture file.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The I/O error is the source: the message names only the file, so a chain of errors
    /// printed whole does not say the OS's words twice.
    #[error("{}: cannot read", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: cannot write", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    /// `why` says how it fell short: its first bytes, or where it ends.
    #[error("{}: not a pcap or pcapng capture ({why})", path.display())]
    NotACapture { path: PathBuf, why: String },
    #[error("{}: {message}", path.display())]
    Open { path: PathBuf, message: String },
    /// A compressed capture: what compressed it, and the command that undoes it.
    #[error(
        "{}: a {format}-compressed capture; tcpladder reads gzip, zstd, xz and lz4 as they stream, not {format}: run \
         `{tool} {}` and open the file it writes",
        path.display(),
        path.display()
    )]
    Compressed { path: PathBuf, format: &'static str, tool: &'static str },
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
