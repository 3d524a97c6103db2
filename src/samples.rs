//! The capture a first-time user sees: a handshake, a request and a client-first close.

use std::path::{Path, PathBuf};

/// Where the bundled sample lives, relative to the installation or the source tree.
pub const BUNDLED_SAMPLE: &str = "sample-captures/handshake-client-close.pcap";

/// The bundled sample's path: beside the binary (an installation) or in the source tree.
pub fn bundled_sample() -> Option<PathBuf> {
    let beside_binary = std::env::current_exe().ok().and_then(|exe| exe.parent().map(|dir| dir.join(BUNDLED_SAMPLE)));
    let in_source_tree = Path::new(env!("CARGO_MANIFEST_DIR")).join(BUNDLED_SAMPLE);
    [beside_binary, Some(in_source_tree)].into_iter().flatten().find(|path| path.exists())
}
