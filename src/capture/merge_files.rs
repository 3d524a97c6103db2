//! Two captures written into one pcapng file in time order, B's clock shifted onto A's, each
//! capture on interfaces of its own (interface 0 is A's), as `mergecap` does but with the clock
//! corrected.

use std::path::Path;

use super::file::CaptureFile;
use super::pcapng::PcapNgWriter;
use crate::error::CaptureError;

/// The biggest packet written (as the reader's cap).
const SNAPLEN: u32 = 1 << 20;

/// A packet read ahead of its turn: its time on A's clock, link type, bytes and length.
struct Pending {
    ts_nanos: i64,
    dlt: i32,
    data: Vec<u8>,
    original_len: u32,
}

fn next(file: &mut CaptureFile, shift: i64) -> Result<Option<Pending>, CaptureError> {
    let packet = file.next_packet().map_err(|damage| CaptureError::Open {
        path: damage.path.clone().into(),
        message: format!(
            "damaged or cut off after packet {} (at byte {}): {}",
            damage.packets_read, damage.byte_offset, damage.message
        ),
    })?;
    Ok(packet.map(|p| Pending {
        ts_nanos: p.ts_nanos.saturating_add(shift),
        dlt: p.link.dlt(),
        data: p.data.to_vec(),
        original_len: p.original_len,
    }))
}

/// Writes every packet of `a` and of `b` (its times plus `shift_b_nanos`) into `out`, in time
/// order; returns how many were written.
pub fn write_merged(a: &Path, b: &Path, shift_b_nanos: i64, out: &Path) -> Result<u64, CaptureError> {
    let write_error = |err: std::io::Error| CaptureError::Write { path: out.to_path_buf(), source: err };
    let mut files = [CaptureFile::open(a)?, CaptureFile::open(b)?];
    let shifts = [0, shift_b_nanos];
    let mut writer = PcapNgWriter::create(out, SNAPLEN).map_err(write_error)?;
    let mut pending = [next(&mut files[0], shifts[0])?, next(&mut files[1], shifts[1])?];
    let mut written = 0u64;
    loop {
        let source = match (&pending[0], &pending[1]) {
            (Some(first), Some(second)) => usize::from(second.ts_nanos < first.ts_nanos),
            (Some(_), None) => 0,
            (None, Some(_)) => 1,
            (None, None) => break,
        };
        let (Some(packet), Some(file)) = (pending.get_mut(source).and_then(Option::take), files.get_mut(source)) else {
            break;
        };
        let tag = u8::try_from(source).unwrap_or(0);
        writer.write_from(tag, packet.dlt, packet.ts_nanos, &packet.data, packet.original_len).map_err(write_error)?;
        written += 1;
        if let Some(slot) = pending.get_mut(source) {
            *slot = next(file, shifts.get(source).copied().unwrap_or(0))?;
        }
    }
    writer.flush().map_err(write_error)?;
    Ok(written)
}
