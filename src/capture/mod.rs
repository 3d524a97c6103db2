//! Reading captures through libpcap (the `pcap` crate). pcap handles live here and nowhere else.

pub mod file;

pub use file::{read_capture, read_frame, CaptureFormat, Progress, ReadOutcome};
