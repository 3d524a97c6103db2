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

/// Where an export goes when no save dialog asked: beside the capture when that folder is the
/// user's and writable, else the user's Documents (or Downloads, or home) folder; named from the
/// capture (`broken-pipe-connection-0.svg`) and never over a file that exists (`… (2).svg`).
/// The bundled samples' folder is the program's, not the user's.
pub fn fallback_path(capture: &Path, name: &str) -> std::path::PathBuf {
    let stem = capture.file_stem().and_then(|s| s.to_str()).unwrap_or("capture");
    let named = format!("{stem}-{name}");
    let bundled = crate::samples::bundled_sample().and_then(|sample| sample.parent()?.canonicalize().ok());
    let beside = capture
        .parent()
        .filter(|dir| dir.is_dir() && writable(dir))
        .filter(|dir| bundled.is_none() || dir.canonicalize().ok() != bundled);
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let users = home.iter().flat_map(|home| [home.join("Documents"), home.join("Downloads"), home.clone()]);
    let dir = beside
        .map(Path::to_path_buf)
        .into_iter()
        .chain(users)
        .find(|dir| dir.is_dir() && writable(dir))
        .unwrap_or_else(std::env::temp_dir);
    unused(&dir, &named)
}

/// True when a file can be made in `dir` (tried, not guessed from mode bits).
fn writable(dir: &Path) -> bool {
    let probe = dir.join(format!(".tcpladder-write-test-{}", std::process::id()));
    let made = std::fs::File::create(&probe).is_ok();
    let _ = std::fs::remove_file(&probe);
    made
}

/// `dir/name`, or `dir/stem (2).ext` and so on when that exists.
fn unused(dir: &Path, name: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    if !path.exists() {
        return path;
    }
    let (stem, extension) = name.rsplit_once('.').unwrap_or((name, ""));
    (2..).map(|n| dir.join(format!("{stem} ({n}).{extension}"))).find(|candidate| !candidate.exists()).unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_never_lands_in_the_samples_folder_nor_over_a_file() {
        let sample = crate::samples::bundled_sample().expect("the bundled sample");
        let path = fallback_path(&sample, "connection-0.svg");
        assert_ne!(
            path.parent().and_then(|p| p.canonicalize().ok()),
            sample.parent().and_then(|p| p.canonicalize().ok())
        );
        assert!(path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("handshake-client-close-connection-0")));
        let dir = std::env::temp_dir().join(format!("tcpladder-fallback-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a directory");
        let capture = dir.join("trace.pcap");
        let first = fallback_path(&capture, "connection-0.svg");
        assert_eq!(first, dir.join("trace-connection-0.svg"));
        std::fs::write(&first, b"taken").expect("a file");
        assert_eq!(fallback_path(&capture, "connection-0.svg"), dir.join("trace-connection-0 (2).svg"));
        let _ = std::fs::remove_dir_all(dir);
    }
}
