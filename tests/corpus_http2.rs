//! HTTP/2 as tshark reads it: each HEADERS frame's stream with its `:path` (client) or `:status`
//! (server), frame by frame. The corpus holds no HTTP/2 capture, so the samples recorded from
//! nginx and nghttp are compared; tshark is told the port (`-d`), as it finds HTTP/2 in the clear
//! only by port or by the preface at a connection's start.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use tcpladder::protocols::{MessageKind, Protocol};

use super::http::load;

/// (frame, stream) → the `:path` or `:status` it carries.
type Headers = BTreeMap<(u32, u32), String>;

fn tshark(path: &Path, port: u16) -> Headers {
    let output = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(path)
        .args(["-d", &format!("tcp.port=={port},http2"), "-Y", "http2.type == 1"])
        .args(["-T", "fields", "-E", "occurrence=a", "-E", "aggregator=;", "-e", "frame.number", "-e", "http2.type"])
        .args(["-e", "http2.streamid", "-e", "http2.headers.path", "-e", "http2.headers.status"])
        .output()
        .expect("tshark runs (CI installs it)");
    let mut headers = Headers::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        let [frame, types, streams, paths, statuses] = fields[..] else { continue };
        let frame: u32 = frame.parse().expect("a frame number");
        // HEADERS frames in the order sent; their paths (or statuses) in the same order.
        let headers_streams = types.split(';').zip(streams.split(';')).filter(|(t, _)| *t == "1").map(|(_, s)| s);
        let values = if paths.is_empty() { statuses } else { paths };
        for (stream, value) in headers_streams.zip(values.split(';')) {
            headers.insert((frame, stream.parse().expect("a stream id")), value.to_string());
        }
    }
    headers
}

#[test]
fn http2_headers_agree_with_tshark_on_the_samples() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-captures/http2-cleartext.pcap");
    let engine = load(&sample).expect("the sample reads");
    let mut ours = Headers::new();
    for message in
        engine.connections().iter().filter_map(|c| engine.conversation(c.id)).flat_map(|c| c.messages().iter())
    {
        let value = match &message.kind {
            MessageKind::Request(head) if message.protocol == Protocol::Http2 => head.target.to_string(),
            MessageKind::Response(head) if message.protocol == Protocol::Http2 => head.status.to_string(),
            _ => continue,
        };
        ours.insert((message.head_frame, message.stream.expect("an HTTP/2 message has its stream")), value);
    }
    let theirs = tshark(&sample, 18023);
    let agree = theirs.iter().filter(|(key, value)| ours.get(key) == Some(value)).count();
    println!("\nHTTP/2 HEADERS against tshark on the http2-cleartext sample:");
    println!(
        ":path and :status by frame and stream agree {agree} of {} (tcpladder found {})",
        theirs.len(),
        ours.len()
    );
    assert!(theirs.len() >= 6, "tshark found {} HEADERS: the sample is not what this test expects", theirs.len());
    assert_eq!(ours, theirs, "each HEADERS frame's stream, path and status");
}
