//! tcpladder turns TCP traffic into ladder diagrams a person can read.
//!
//! The library is the whole engine and knows nothing of windows: [`capture`] reads files (pcap,
//! pcapng) and live interfaces (libpcap), [`decode`] turns frames into TCP segments, [`tcp`] tracks
//! connections and infers each side's state, [`protocols`] reads the conversation inside them,
//! [`host`] reads this machine's own socket table, [`analysis`] explains what happened,
//! [`ladder`] lays a connection out, [`summary`] shapes it all for the command line and
//! [`render`] draws charts and pictures for slides. [`session`] reads a file on a background
//! thread for [`ui`], the desktop app, which is the only module that knows egui.

pub mod analysis;
pub mod capture;
pub mod decode;
pub mod engine;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod host;
pub mod ladder;
pub mod lessons;
pub mod protocols;
pub mod render;
pub mod samples;
pub mod session;
pub mod stream;
pub mod summary;
pub mod tcp;
pub mod ui;
pub mod wire;

pub use engine::{Engine, EngineConfig, Stats};
