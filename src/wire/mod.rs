//! The wire's vocabulary, shared by every layer above: link types, TCP flags and options, the
//! decoded segment, and the two sides of a connection. Pure data and its arithmetic: no I/O, no knowledge of tracking or display.

pub mod flags;
pub mod link;
pub mod options;
pub mod packet;
pub mod seq;
pub mod side;

pub use flags::TcpFlags;
pub use link::LinkType;
pub use packet::TcpPacket;
pub use side::{PerSide, Side};

/// A block of a capture as it was read, shared by whoever still needs packets in it (the reader
/// writes to a block again only once no one else holds it).
pub type SharedBlock = std::sync::Arc<Vec<u8>>;
