//! The wire's vocabulary, shared by every layer above: link types, TCP flags and options, and the
//! decoded segment. Pure data and its arithmetic: no I/O, no knowledge of tracking or display.

pub mod flags;
pub mod link;
pub mod options;
pub mod packet;

pub use flags::TcpFlags;
pub use link::LinkType;
pub use packet::TcpPacket;
