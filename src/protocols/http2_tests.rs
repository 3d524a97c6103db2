//! HTTP/2 frames read from conversations fed segment by segment: header blocks split over
//! CONTINUATION and segments, padding, HPACK's table lost and kept, and bytes that are not HTTP/2.
//! (How streams pair into exchanges is tested with the pairing, in `analysis`.)

use crate::protocols::http1::tests::{labels, talk};
use crate::protocols::http2::PREFACE;
use crate::protocols::{MessageKind, Protocol};
use crate::wire::Side;

pub(crate) fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = (payload.len() as u32).to_be_bytes();
    let mut out = vec![len[1], len[2], len[3], kind, flags];
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

pub(crate) fn settings() -> Vec<u8> {
    frame(0x4, 0, 0, &[])
}

/// A request's header block, from one encoder kept across blocks (as a client's is).
pub(crate) fn request(encoder: &mut loona_hpack::Encoder<'_>, path: &str) -> Vec<u8> {
    encoder.encode([
        (&b":method"[..], &b"GET"[..]),
        (b":scheme", b"http"),
        (b":path", path.as_bytes()),
        (b":authority", b"api.local"),
    ])
}

pub(crate) fn response(encoder: &mut loona_hpack::Encoder<'_>, status: &str) -> Vec<u8> {
    encoder.encode([(&b":status"[..], status.as_bytes()), (b"server", b"test")])
}

#[test]
fn a_header_block_split_over_continuation_and_segments_is_read_whole() {
    let mut client = loona_hpack::Encoder::new();
    let block = request(&mut client, "/a-rather-long-path/that/is/split");
    let (first, rest) = block.split_at(5);
    let mut bytes = PREFACE.to_vec();
    bytes.extend(frame(0x1, 0x1, 1, first));
    bytes.extend(frame(0x9, 0x4, 1, rest));
    // Cut the bytes in three segments, through the middle of frame headers.
    let (a, b) = bytes.split_at(30);
    let (b, c) = b.split_at(7);
    let conversation = talk(&[(Side::Client, a), (Side::Client, b), (Side::Client, c)]);
    let request =
        conversation.messages().iter().find(|m| matches!(m.kind, MessageKind::Request(_))).expect("a request");
    assert_eq!(request.label(), "HEADERS stream 1 · GET /a-rather-long-path/that/is/split · host api.local");
    assert!(request.complete, "END_STREAM on the HEADERS frame");
}

#[test]
fn padding_and_priority_are_taken_off_the_block() {
    let mut client = loona_hpack::Encoder::new();
    let block = request(&mut client, "/p");
    let mut payload = vec![3u8]; // pad length
    payload.extend([0, 0, 0, 0, 16]); // stream dependency and weight
    payload.extend(&block);
    payload.extend([0, 0, 0]);
    let bytes = [PREFACE.to_vec(), frame(0x1, 0x4 | 0x8 | 0x20, 1, &payload)].concat();
    assert_eq!(labels(&talk(&[(Side::Client, &bytes)]))[1], "HEADERS stream 1 · GET /p · host api.local");
}

#[test]
fn a_broken_header_block_loses_the_table_not_the_frames() {
    let bytes =
        [PREFACE.to_vec(), frame(0x1, 0x4, 1, &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), frame(0x8, 0, 0, &[0, 0, 1, 0])]
            .concat();
    let conversation = talk(&[(Side::Client, &bytes)]);
    assert_eq!(labels(&conversation), ["preface", "HEADERS stream 1 (not decoded) · 15 bytes", "WINDOW_UPDATE"]);
}

#[test]
fn hostile_frames_never_panic() {
    // Lengths past the end, a frame header cut short, every flag set on every type.
    let mut bytes = PREFACE.to_vec();
    for kind in 0..=0x10u8 {
        bytes.extend(frame(kind, 0xff, 1, &[0xff; 3]));
    }
    bytes.extend([0xff, 0xff, 0xff, 0x1, 0x4, 0, 0]);
    let conversation = talk(&[(Side::Client, &bytes), (Side::Server, &bytes[PREFACE.len()..])]);
    assert!(conversation.messages().iter().all(|m| m.protocol == Protocol::Http2));
}
