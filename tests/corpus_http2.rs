//! HTTP/2 as tshark reads it: each HEADERS frame's stream with its `:path` (client) or `:status`
//! (server), and each RST_STREAM and GOAWAY with its stream and error code, frame by frame. The
//! corpus holds no HTTP/2 capture, so the samples recorded from nginx and nghttp are compared;
//! tshark is told the port (`-d`), as it finds HTTP/2 in the clear only by port or by the preface
//! at a connection's start.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use tcpladder::protocols::{MessageKind, Protocol};

use super::http::load;

/// (frame, stream) → the `:path` or `:status` it carries, or `RST_STREAM 8` / `GOAWAY 0`.
type Frames = BTreeMap<(u32, u32), String>;

/// The samples recorded from nginx and nghttp, with the port nginx listened on.
const SAMPLES: [(&str, u16); 2] = [("http2-cleartext", 18023), ("http2-rst-stream", 18026)];

fn tshark(path: &Path, port: u16) -> Frames {
    let output = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(path)
        .args(["-d", &format!("tcp.port=={port},http2"), "-Y", "http2.type in {1, 3, 7}"])
        .args(["-T", "fields", "-E", "occurrence=a", "-E", "aggregator=;", "-e", "frame.number", "-e", "http2.type"])
        .args(["-e", "http2.streamid", "-e", "http2.headers.path", "-e", "http2.headers.status"])
        .args(["-e", "http2.rst_stream.error", "-e", "http2.goaway.error", "-e", "http2.goaway.last_stream_id"])
        .output()
        .expect("tshark runs (CI installs it)");
    let mut frames = Frames::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        let [frame, types, streams, paths, statuses, rst_errors, goaway_errors, last_streams] = fields[..] else {
            continue;
        };
        let frame: u32 = frame.parse().expect("a frame number");
        let typed = |wanted: &str| -> Vec<u32> {
            types
                .split(';')
                .zip(streams.split(';'))
                .filter(|(t, _)| *t == wanted)
                .map(|(_, s)| s.parse().expect("a stream id"))
                .collect()
        };
        // HEADERS frames in the order sent; their paths (or statuses) in the same order.
        let values = if paths.is_empty() { statuses } else { paths };
        for (stream, value) in typed("1").into_iter().zip(values.split(';')) {
            frames.insert((frame, stream), value.to_string());
        }
        for (stream, code) in typed("3").into_iter().zip(rst_errors.split(';')) {
            frames.insert((frame, stream), format!("RST_STREAM {code}"));
        }
        for (last, code) in last_streams.split(';').zip(goaway_errors.split(';')).filter(|(l, _)| !l.is_empty()) {
            frames.insert((frame, last.parse().expect("a stream id")), format!("GOAWAY {code}"));
        }
    }
    frames
}

fn ours(path: &Path) -> Frames {
    let engine = load(path).expect("the sample reads");
    let mut frames = Frames::new();
    for message in
        engine.connections().iter().filter_map(|c| engine.conversation(c.id)).flat_map(|c| c.messages().iter())
    {
        if message.protocol != Protocol::Http2 {
            continue;
        }
        let stream = || message.stream.expect("an HTTP/2 message has its stream");
        match &message.kind {
            MessageKind::Request(head) => frames.insert((message.head_frame, stream()), head.target.to_string()),
            MessageKind::Response(head) => frames.insert((message.head_frame, stream()), head.status.to_string()),
            MessageKind::Http2Frames(control) => match control.error {
                Some(error) => {
                    let kind = if error.goaway { "GOAWAY" } else { "RST_STREAM" };
                    frames.insert((message.first_frame, error.stream), format!("{kind} {}", error.code))
                }
                None => None,
            },
            _ => None,
        };
    }
    frames
}

#[test]
fn http2_headers_and_stream_errors_agree_with_tshark_on_the_samples() {
    println!("\nHTTP/2 HEADERS, RST_STREAM and GOAWAY against tshark:");
    for (name, port) in SAMPLES {
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("sample-captures/{name}.pcap"));
        let (ours, theirs) = (ours(&sample), tshark(&sample, port));
        let agree = theirs.iter().filter(|(key, value)| ours.get(key) == Some(value)).count();
        println!(
            "{name}: :path, :status and error codes by frame and stream agree {agree} of {} (tcpladder found {})",
            theirs.len(),
            ours.len()
        );
        assert!(theirs.len() >= 3, "{name}: tshark found {} frames: not the sample this test expects", theirs.len());
        assert_eq!(ours, theirs, "{name}: each frame's stream, path, status and error code");
    }
}
