//! TCP connection tracking and the state machine. Pure: no I/O, no UI.

pub mod connection;
pub mod flow_index;
pub mod machine;
pub mod quality;
pub mod seen_bytes;
pub mod segment;
pub mod sequence_analysis;
pub mod state;
pub mod tracker;

#[cfg(test)]
pub(crate) mod test_support;

pub use connection::Connection;
pub use segment::{AnalysisFlags, Direction, Segment};
pub use state::{StatePhase, TcpState};
pub use tracker::Tracker;
