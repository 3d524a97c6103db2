//! The fuzz targets' bodies (`tcpladder::fuzzing`) over their seeds, on stable Rust: every sample
//! capture and every capture of `../shared/corpus` as a file, each of their frames, each of their
//! connections as a script, and every input the fuzzer ever crashed on (`fuzz/regressions/`).
//! With `TCPLADDER_WRITE_FUZZ_SEEDS=1` it also writes the seeds into `fuzz/corpus/` for cargo fuzz.

use std::path::{Path, PathBuf};

use tcpladder::capture::reader::CaptureReader;
use tcpladder::fuzzing;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn captures(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            captures(&path, out);
        } else if path.extension().is_some_and(|e| e == "pcap" || e == "pcapng" || e == "cap") {
            out.push(path);
        }
    }
}

/// The files under `fuzz/regressions/TARGET/`.
fn regressions(target: &str) -> Vec<Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(root().join("fuzz/regressions").join(target)) else { return Vec::new() };
    entries.flatten().filter_map(|e| std::fs::read(e.path()).ok()).collect()
}

struct Seeds {
    write_to: Option<PathBuf>,
    written: usize,
}

impl Seeds {
    fn keep(&mut self, target: &str, bytes: &[u8]) {
        let Some(dir) = &self.write_to else { return };
        let dir = dir.join(target);
        let _ = std::fs::create_dir_all(&dir);
        self.written += 1;
        let _ = std::fs::write(dir.join(format!("seed-{:06}", self.written)), bytes);
    }
}

#[test]
fn fuzz_bodies_hold_on_every_seed_and_regression() {
    let mut files = Vec::new();
    captures(&root().join("sample-captures"), &mut files);
    let samples = files.len();
    captures(&root().join("../shared/corpus"), &mut files);
    let write_to = std::env::var_os("TCPLADDER_WRITE_FUZZ_SEEDS").map(|_| root().join("fuzz/corpus"));
    let mut seeds = Seeds { write_to, written: 0 };
    let (mut frames, mut scripts) = (0, 0);
    for (index, path) in files.iter().enumerate() {
        let Ok(bytes) = std::fs::read(path) else { continue };
        fuzzing::capture_file(&bytes);
        seeds.keep("capture_file", &bytes);
        let Ok(mut reader) = CaptureReader::new(&bytes[..]) else { continue };
        let mut kept = 0;
        while let Ok(Some(packet)) = reader.next_packet() {
            let input = fuzzing::decode_input(packet.link, packet.data);
            fuzzing::decode(&input);
            frames += 1;
            // A few frames per file are enough to seed the fuzzer.
            if kept < 4 {
                seeds.keep("decode", &input);
                kept += 1;
            }
        }
        let engine = tcpladder::session::read_capture(path, Default::default(), u64::MAX, |_, _| {
            std::ops::ControlFlow::Continue(())
        });
        let Ok(outcome) = engine else { continue };
        for connection in outcome.engine.connections().iter().filter(|c| c.segments.len() <= 2_000).take(20) {
            let script = fuzzing::script_of(connection);
            let replayed = fuzzing::conversation(&script);
            if index < samples {
                // The replay is faithful enough to find the same connection again.
                assert_eq!(replayed.len(), 1, "{}: one connection replayed", path.display());
            }
            fuzzing::tracker(&script);
            let mut ladder = vec![0xff];
            ladder.extend_from_slice(&script);
            fuzzing::ladder(&ladder);
            seeds.keep("tracker", &script);
            seeds.keep("ladder", &ladder);
            scripts += 1;
        }
    }
    for (target, body) in [
        ("decode", fuzzing::decode as fn(&[u8])),
        ("capture_file", fuzzing::capture_file),
        ("tracker", fuzzing::tracker),
        ("ladder", fuzzing::ladder),
    ] {
        for input in regressions(target) {
            body(&input);
        }
    }
    eprintln!("fuzz bodies: {} files, {frames} frames, {scripts} connection scripts", files.len());
    assert!(samples >= 16 && frames > 300 && scripts >= 16);
}
