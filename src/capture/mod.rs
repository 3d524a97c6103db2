//! Captures: files through tcpladder's own pcap/pcapng reader ([`reader`]: bounded allocations,
//! exact damage offsets, mixed link types), live interfaces through libpcap (the `pcap` crate,
//! used here and nowhere else), and a pcapng writer.

pub mod events;
pub mod file;
pub mod format;
pub mod helper;
pub mod input;
pub mod live;
pub mod merge_files;
pub mod pcapng;
pub mod piped;
pub mod reader;
pub mod source;
pub mod worker;

pub use file::{extract_frames, read_frame, CaptureFile, CaptureFormat, Packet, Progress};

/// A packet's capture time in nanoseconds since the epoch. Captures are opened with nanosecond
/// precision, so libpcap stores nanoseconds in `tv_usec`; the field types differ between platforms
/// (macOS: i32), hence the conversions.
#[allow(clippy::useless_conversion)]
pub(crate) fn ts_nanos(header: &pcap::PacketHeader) -> i64 {
    i64::from(header.ts.tv_sec).saturating_mul(1_000_000_000).saturating_add(i64::from(header.ts.tv_usec))
}
