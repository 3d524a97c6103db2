//! HTTP/1 messages found in conversations fed segment by segment, as the engine feeds them.

use crate::protocols::{Conversation, Message, Protocol, SegmentBytes};
use crate::wire::{Side, TcpFlags};

/// A conversation from (side, bytes) turns, each one segment, after a handshake.
pub(crate) fn talk(turns: &[(Side, &[u8])]) -> Conversation {
    let mut conversation = Conversation::default();
    let mut seq = [1000u32, 5000u32];
    let mut frame = 0;
    let mut send = |conversation: &mut Conversation, side: Side, flags: u16, payload: &[u8]| {
        frame += 1;
        let (me, peer) = if side == Side::Client { (0, 1) } else { (1, 0) };
        let segment = SegmentBytes {
            sender: side,
            frame,
            ts_nanos: i64::from(frame) * 1_000_000,
            seq: seq[me],
            ack: seq[peer],
            flags: TcpFlags(flags),
            payload_len: payload.len() as u32,
            payload,
        };
        conversation.on_segment(&segment);
        seq[me] = seq[me].wrapping_add(payload.len() as u32 + u32::from(flags & TcpFlags::SYN != 0));
    };
    send(&mut conversation, Side::Client, TcpFlags::SYN, b"");
    send(&mut conversation, Side::Server, TcpFlags::SYN | TcpFlags::ACK, b"");
    for &(side, bytes) in turns {
        send(&mut conversation, side, TcpFlags::ACK | TcpFlags::PSH, bytes);
    }
    conversation.finish();
    conversation
}

pub(crate) fn labels(conversation: &Conversation) -> Vec<String> {
    conversation.messages().iter().map(Message::label).collect()
}

#[test]
fn a_request_and_its_response() {
    let conversation = talk(&[
        (Side::Client, b"GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl\r\n\r\n"),
        (Side::Server, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
    ]);
    assert_eq!(labels(&conversation), ["GET /index.html HTTP/1.1 · host example.com", "HTTP/1.1 200 OK · 43 bytes"]);
    let response = &conversation.messages()[1];
    assert!(response.complete);
    assert_eq!((response.first_frame, response.head_frame), (4, 4));
}

#[test]
fn keep_alive_bodies_by_length_and_chunks_find_the_next_message() {
    let conversation = talk(&[
        (Side::Client, b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"),
        (Side::Server, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nKeep-Alive: timeout=5\r\n\r\n3\r\nxyz\r\n"),
        (Side::Server, b"0\r\n\r\n"),
        (Side::Client, b"GET /b HTTP/1.1\r\nHost: h\r\n\r\n"),
        (Side::Server, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
    ]);
    let found = labels(&conversation);
    assert_eq!(found.len(), 4, "{found:?}");
    assert_eq!(found[2], "GET /b HTTP/1.1 · host h");
    assert!(found[3].starts_with("HTTP/1.1 404 Not Found"), "{found:?}");
    let chunked = &conversation.messages()[1];
    assert!(chunked.complete, "the last chunk ended the body");
    assert_eq!(chunked.kind.keep_alive_timeout(), Some(5));
    assert_eq!(chunked.last_frame, 5);
}

#[test]
fn pipelined_requests_in_one_segment() {
    let conversation = talk(&[
        (Side::Client, b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n"),
        (Side::Server, b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"),
    ]);
    let kinds: Vec<bool> = conversation.messages().iter().map(Message::is_request).collect();
    assert_eq!(kinds, [true, true, false, false]);
}

#[test]
fn a_head_response_has_no_body_and_interim_responses_are_told_apart() {
    let conversation = talk(&[
        (Side::Client, b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n"),
        (Side::Server, b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"),
        (Side::Client, b"PUT /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"),
        (Side::Server, b"HTTP/1.1 100 Continue\r\n\r\n"),
        (Side::Client, b"ok"),
        (Side::Server, b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"),
    ]);
    let messages = conversation.messages();
    assert_eq!(messages.len(), 5, "{:?}", labels(&conversation));
    assert!(messages[1].complete, "a HEAD response ends with its head");
    assert!(messages[2].expects_continue);
    assert!(messages[3].is_interim());
    assert_eq!(messages[4].kind.status(), Some(201));
}

#[test]
fn http_1_0_closes_and_content_decides_not_the_port() {
    let conversation = talk(&[
        (Side::Client, b"GET / HTTP/1.0\r\n\r\n"),
        (Side::Server, b"HTTP/1.0 200 OK\r\n\r\nbody until the close"),
    ]);
    let messages = conversation.messages();
    assert_eq!(messages[0].protocol, Protocol::Http10);
    assert!(messages[0].closes);
    assert_eq!(messages[1].bytes, 19 + 20);
}

#[test]
fn other_protocols_are_turns() {
    let conversation =
        talk(&[(Side::Client, b"SSH-2.0-OpenSSH_9.6\r\n"), (Side::Client, b"more"), (Side::Server, b"SSH-2.0-x\r\n")]);
    assert_eq!(labels(&conversation), ["25 bytes", "11 bytes"]);
    assert!(conversation.messages()[0].is_request());
}

#[test]
fn a_head_cut_by_the_snaplen_says_its_first_line() {
    let mut conversation = Conversation::default();
    let request = b"GET /cut HTTP/1.1\r\nHost: somewhere";
    let segment = SegmentBytes {
        sender: Side::Client,
        frame: 1,
        ts_nanos: 0,
        seq: 1,
        ack: 0,
        flags: TcpFlags(TcpFlags::PSH),
        payload_len: 400,
        payload: request,
    };
    conversation.on_segment(&segment);
    conversation.finish();
    assert_eq!(labels(&conversation), ["GET /cut HTTP/1.1 (not all captured)"]);
}

#[test]
fn a_first_message_that_is_not_http_makes_the_conversation_turns() {
    // The samples' toy protocol: "GET /\n", answered "200 OK\n".
    let conversation = talk(&[(Side::Client, b"GET /\n"), (Side::Server, b"200 OK\n")]);
    assert_eq!(labels(&conversation), ["6 bytes", "7 bytes"]);
    assert!(conversation.messages().iter().all(|m| m.protocol == Protocol::Unknown));
}

/// Bytes from a small generator, so the test is the same on every run.
fn scrambled(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

#[test]
fn hostile_segments_never_panic_and_stay_bounded() {
    let pieces: [&[u8]; 8] = [
        b"*2\r\n$3\r\nGET\r\n$99999999999\r\n",
        b"\x16\x03\x01\x40\x00\x01\x00",
        b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
        b"ffffffffffffffff\r\n",
        b"HTTP/1.1 101 Switching\r\n\r\n",
        b"\r\n0\r\nX: y\r\n\r\n",
        b"CONNECT a:1 HTTP/1.1\r\n\r\n",
    ];
    for seed in 0..200u64 {
        let mut conversation =
            if seed.is_multiple_of(2) { Conversation::default() } else { Conversation::summarising() };
        let noise = scrambled(seed, 4096);
        for step in 0..64u32 {
            let pick = noise[step as usize % noise.len()] as usize;
            let payload: Vec<u8> = match pick % 3 {
                0 => pieces[pick % pieces.len()].to_vec(),
                1 => noise[pick..(pick + 40).min(noise.len())].to_vec(),
                _ => Vec::new(),
            };
            let segment = SegmentBytes {
                sender: if pick.is_multiple_of(2) { Side::Client } else { Side::Server },
                frame: step + 1,
                ts_nanos: i64::from(noise[step as usize]) * if pick.is_multiple_of(5) { i64::MAX / 255 } else { 1 },
                seq: u32::from_le_bytes([noise[pick], noise[pick + 1], 0, 0]).wrapping_mul(seed as u32 + 1),
                ack: u32::from_le_bytes([noise[pick + 2], noise[pick + 3], noise[pick + 4], 0]),
                flags: TcpFlags(u16::from(noise[pick + 5]) & 0x1f),
                payload_len: payload.len() as u32 + u32::from(noise[pick + 6] % 3) * 100,
                payload: &payload,
            };
            conversation.on_segment(&segment);
        }
        conversation.finish();
        assert!(conversation.messages().len() <= crate::protocols::MAX_MESSAGES);
        for message in conversation.messages() {
            let _ = message.label();
        }
    }
}
