//! Exports that read the capture again: the packets of chosen connections, copied from the file
//! into a new pcapng. Drawings of a ladder are [`crate::render::export`].

use std::collections::BTreeSet;
use std::path::Path;

use crate::capture::extract_frames;
use crate::error::CaptureError;
use crate::tcp::Connection;

/// Copies the packets of `connections` from the capture at `capture` into a new pcapng `out`;
/// returns how many were written.
pub fn write_packets<'a>(
    capture: &Path,
    connections: impl IntoIterator<Item = &'a Connection>,
    out: &Path,
) -> Result<u64, CaptureError> {
    let frames: BTreeSet<u32> =
        connections.into_iter().flat_map(|connection| connection.segments.iter().map(|s| s.frame)).collect();
    extract_frames(capture, &frames, out)
}
