//! "Follow stream": one connection's conversation read again from its file with both byte
//! streams kept, for the Conversation pane. The engine keeps only message heads; the pane needs
//! the bytes, which are read back (on a thread) only for the connection shown.

use std::path::Path;

use crate::capture::CaptureFile;
use crate::decode::{decode_frame, Decoded};
use crate::error::CaptureError;
use crate::protocols::{Conversation, SegmentBytes};
use crate::tcp::Connection;

/// `connection`'s conversation, read from `path`, with its transcript. A file damaged after the
/// connection's first frames gives what comes before the damage.
pub fn follow(path: &Path, connection: &Connection) -> Result<Conversation, CaptureError> {
    let frames: Vec<u32> = connection.segments.iter().map(|segment| segment.frame).collect();
    let last = frames.iter().copied().max().unwrap_or(0);
    let mut file = CaptureFile::open(path)?;
    let mut conversation = Conversation::recording();
    conversation.serving_port(connection.server.port());
    let mut frame = 0u32;
    while frame < last {
        let Ok(Some(packet)) = file.next_packet() else { break };
        frame += 1;
        if frames.binary_search(&frame).is_err() {
            continue;
        }
        feed(&mut conversation, connection, frame, packet.ts_nanos, packet.link, packet.data);
    }
    conversation.finish();
    Ok(conversation)
}

/// Decodes one of `connection`'s frames and feeds its segment to `conversation`; false when the
/// bytes are not a TCP segment.
fn feed(
    conversation: &mut Conversation,
    connection: &Connection,
    frame: u32,
    ts_nanos: i64,
    link: crate::wire::LinkType,
    bytes: &[u8],
) -> bool {
    let Ok(Decoded::Tcp(tcp)) = decode_frame(link, bytes) else { return false };
    conversation.on_segment(&SegmentBytes {
        sender: connection.direction_of(&tcp).sender(),
        frame,
        ts_nanos,
        seq: tcp.seq,
        ack: tcp.ack,
        flags: tcp.flags,
        payload_len: tcp.payload_len,
        payload: tcp.payload,
    });
    true
}

/// `connection`'s conversation from frames kept in memory (a live capture's newest), with its
/// transcript; `bytes_of(frame)` gives a frame's bytes while it is kept. Also returns how many of
/// the connection's segments were no longer kept: their bytes are holes in the streams.
pub fn follow_kept<'a>(
    connection: &Connection,
    link: crate::wire::LinkType,
    bytes_of: impl Fn(u32) -> Option<&'a [u8]>,
) -> (Conversation, usize) {
    let mut conversation = Conversation::recording();
    conversation.serving_port(connection.server.port());
    let mut missing = 0;
    for segment in &connection.segments {
        let fed = bytes_of(segment.frame)
            .is_some_and(|bytes| feed(&mut conversation, connection, segment.frame, segment.ts_nanos, link, bytes));
        if !fed {
            missing += 1;
        }
    }
    conversation.finish();
    (conversation, missing)
}
