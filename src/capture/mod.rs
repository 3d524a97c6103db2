//! Reading captures through libpcap (the `pcap` crate), from files and live interfaces. pcap handles
//! live here and nowhere else.

pub mod file;
pub mod live;
pub mod pcapng;
pub mod worker;

pub use file::{read_capture, read_frame, CaptureFormat, Progress, ReadOutcome};
