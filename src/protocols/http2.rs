//! HTTP/2 in the clear (prior knowledge, or after `Upgrade: h2c`): frames read by type and
//! stream; header blocks (HEADERS, CONTINUATION, PUSH_PROMISE) decoded with `loona-hpack` in the
//! order sent, since HPACK's dynamic table makes every block depend on those before it; DATA
//! counted into its stream's message; RST_STREAM and GOAWAY kept with their error codes. A hole
//! loses the frame boundaries and the table with them: the rest of that side is not read.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use crate::stream::StreamEvent;
use crate::wire::{PerSide, Side};

use super::found::Found;
use super::message::MAX_HEAD_BYTES;
use super::message::{Http2Error, Http2Frames, Message, MessageKind, Protocol, RequestHead, ResponseHead};

/// What a client sends first on an HTTP/2 connection (RFC 9113 §3.4).
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const FRAME_HEADER: usize = 9;
/// The largest HPACK table a peer may ask for here: the table holds strings, and a crafted
/// size update must not make it hold a capture's worth of them.
const MAX_TABLE: usize = 64 * 1024;

const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const PUSH_PROMISE: u8 = 0x5;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;
const CONTINUATION: u8 = 0x9;
const END_STREAM: u8 = 0x1;
const ACK: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;

/// True when `bytes`, sent by the client, start HTTP/2's connection preface.
pub fn starts_message(side: Side, bytes: &[u8]) -> bool {
    let start = bytes.get(..bytes.len().min(PREFACE.len())).unwrap_or(bytes);
    side == Side::Client && start.len() >= 3 && PREFACE.starts_with(start)
}

/// Both directions of an HTTP/2 connection.
#[derive(Debug, Clone, Default)]
pub struct Http2 {
    readers: PerSide<Frames>,
}

/// One direction's frames.
#[derive(Debug, Clone, Default)]
struct Frames {
    /// Bytes of the client's preface still expected.
    preface: usize,
    /// The frame header being read, and where it began.
    header: Vec<u8>,
    header_at: Option<(u32, i64)>,
    frame: Option<Frame>,
    block: Option<Block>,
    hpack: Hpack,
    /// After a hole: the frame boundaries are lost.
    lost: bool,
}

/// The frame being read.
#[derive(Debug, Clone)]
struct Frame {
    kind: u8,
    flags: u8,
    stream: u32,
    len: u32,
    left: u32,
    /// The payload, kept for the frame types read (up to [`MAX_HEAD_BYTES`]).
    payload: Vec<u8>,
    first: (u32, i64),
}

/// A header block being gathered from HEADERS (or PUSH_PROMISE) and its CONTINUATIONs.
#[derive(Debug, Clone)]
struct Block {
    stream: u32,
    push: bool,
    end_stream: bool,
    fragment: Vec<u8>,
    /// Frame bytes of the block on the wire, headers included.
    wire_bytes: u64,
    first: (u32, i64),
}

/// One direction's HPACK table; `None` once a block could not be decoded (too long, or
/// malformed), after which no later block can be. The decoder cannot be cloned; a clone of the
/// engine (made while a chart's thread still reads the old one) shares it, which is right because
/// only the newest copy is ever fed.
#[derive(Clone)]
struct Hpack(Option<Arc<Mutex<loona_hpack::Decoder<'static>>>>);

impl Default for Hpack {
    fn default() -> Self {
        let mut decoder = loona_hpack::Decoder::new();
        decoder.set_max_allowed_table_size(MAX_TABLE);
        Self(Some(Arc::new(Mutex::new(decoder))))
    }
}

impl std::fmt::Debug for Hpack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Hpack" } else { "Hpack(lost)" })
    }
}

/// The fields of a header block tcpladder reads.
#[derive(Debug, Default)]
struct Fields {
    method: Option<String>,
    path: Option<String>,
    authority: Option<String>,
    status: Option<u16>,
}

impl Http2 {
    /// A reader of a connection whose client begins with the preface (prior knowledge, or the
    /// preface it sends after a 101).
    pub(crate) fn new() -> Self {
        let mut http2 = Self::default();
        http2.readers.client.preface = PREFACE.len();
        http2
    }

    pub(crate) fn feed(&mut self, side: Side, event: &StreamEvent<'_>, out: &mut Found<'_>) {
        let reader = &mut self.readers[side];
        // Frame boundaries (and the HPACK table) are lost with the bytes.
        if let Some((bytes, at)) = event.data_before_hole(&mut reader.lost) {
            reader.data(side, bytes, at, out);
        }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        let of = |f: &Frames| {
            f.header.capacity()
                + f.frame.as_ref().map_or(0, |frame| frame.payload.capacity())
                + f.block.as_ref().map_or(0, |block| block.fragment.capacity())
                + if f.hpack.0.is_some() { MAX_TABLE / 16 } else { 0 }
        };
        of(&self.readers.client) + of(&self.readers.server)
    }
}

impl Frames {
    fn data(&mut self, side: Side, mut bytes: &[u8], at: (u32, i64), out: &mut Found<'_>) {
        if self.preface > 0 {
            let expected = PREFACE.get(PREFACE.len() - self.preface..).unwrap_or_default();
            let take = self.preface.min(bytes.len());
            if expected.get(..take) == bytes.get(..take) {
                self.preface -= take;
                bytes = bytes.get(take..).unwrap_or_default();
                control(side, "preface", None, take as u64, at, out);
            } else {
                self.preface = 0;
            }
        }
        while !bytes.is_empty() {
            let Some(frame) = &mut self.frame else {
                let at = *self.header_at.get_or_insert(at);
                let take = (FRAME_HEADER - self.header.len()).min(bytes.len());
                self.header.extend_from_slice(bytes.get(..take).unwrap_or(bytes));
                bytes = bytes.get(take..).unwrap_or_default();
                if let Some(frame) = frame_header(&self.header, at) {
                    self.header.clear();
                    self.header_at = None;
                    let done = frame.left == 0;
                    self.frame = Some(frame);
                    if done {
                        self.end_frame(side, at, out);
                    }
                }
                continue;
            };
            let take = (frame.left as usize).min(bytes.len());
            let chunk = bytes.get(..take).unwrap_or(bytes);
            bytes = bytes.get(take..).unwrap_or_default();
            frame.left -= take as u32;
            if frame.kind == DATA {
                if let Some(message) = out.latest_on_stream(side, frame.stream) {
                    message.bytes += take as u64;
                    message.last_frame = at.0;
                }
            } else if matches!(frame.kind, HEADERS | CONTINUATION | PUSH_PROMISE | RST_STREAM | GOAWAY) {
                let room = MAX_HEAD_BYTES.saturating_sub(frame.payload.len()).min(chunk.len());
                frame.payload.extend_from_slice(chunk.get(..room).unwrap_or_default());
            }
            if frame.left == 0 {
                self.end_frame(side, at, out);
            }
        }
    }

    /// The frame read in full: what it says.
    fn end_frame(&mut self, side: Side, at: (u32, i64), out: &mut Found<'_>) {
        let Some(frame) = self.frame.take() else { return };
        let wire = u64::from(frame.len) + FRAME_HEADER as u64;
        let truncated = frame.payload.len() < frame.len as usize;
        match frame.kind {
            DATA => {
                if frame.flags & END_STREAM != 0 {
                    if let Some(message) = out.latest_on_stream(side, frame.stream) {
                        message.complete = true;
                    }
                }
            }
            HEADERS | PUSH_PROMISE => {
                let skip = if frame.kind == HEADERS { usize::from(frame.flags & PRIORITY != 0) * 5 } else { 4 };
                let fragment = unpadded(&frame.payload, frame.flags, skip);
                if truncated {
                    self.hpack.0 = None;
                }
                self.block = Some(Block {
                    stream: frame.stream,
                    push: frame.kind == PUSH_PROMISE,
                    end_stream: frame.flags & END_STREAM != 0,
                    fragment: fragment.to_vec(),
                    wire_bytes: wire,
                    first: frame.first,
                });
                if frame.flags & END_HEADERS != 0 {
                    self.end_block(side, at, out);
                }
            }
            CONTINUATION => {
                match self.block.as_mut().filter(|block| block.stream == frame.stream) {
                    Some(block) if !truncated && block.fragment.len() + frame.payload.len() <= MAX_HEAD_BYTES => {
                        block.fragment.extend_from_slice(&frame.payload);
                        block.wire_bytes += wire;
                    }
                    _ => self.hpack.0 = None,
                }
                if frame.flags & END_HEADERS != 0 {
                    self.end_block(side, at, out);
                }
            }
            RST_STREAM => {
                let error = Http2Error { goaway: false, stream: frame.stream, code: word(&frame.payload, 0) };
                control(side, "RST_STREAM", Some(error), wire, at, out);
            }
            GOAWAY => {
                let error = Http2Error {
                    goaway: true,
                    stream: word(&frame.payload, 0) & 0x7fff_ffff,
                    code: word(&frame.payload, 4),
                };
                control(side, "GOAWAY", Some(error), wire, at, out);
            }
            kind => control(side, frame_name(kind, frame.flags), None, wire, at, out),
        }
    }

    /// The header block complete: decoded, and a request or response started (or trailers
    /// counted into the stream's message).
    fn end_block(&mut self, side: Side, at: (u32, i64), out: &mut Found<'_>) {
        let Some(block) = self.block.take() else { return };
        let fields = self.hpack.0.as_ref().and_then(|decoder| decode(&mut *decoder.lock().ok()?, &block.fragment));
        if fields.is_none() {
            self.hpack.0 = None;
        }
        if block.push {
            control(side, "PUSH_PROMISE", None, block.wire_bytes, at, out);
            return;
        }
        let fields = fields.unwrap_or_default();
        let starts = match side {
            Side::Client => fields.method.is_some(),
            Side::Server => fields.status.is_some(),
        };
        let existing = out.latest_on_stream(side, block.stream);
        if let (false, Some(message)) = (starts, existing) {
            // Trailers, or a block not decoded on a stream that already has its message.
            message.bytes += block.wire_bytes;
            message.last_frame = at.0;
            message.complete |= block.end_stream;
            return;
        }
        let kind = match (side, fields.method, fields.status) {
            (Side::Client, Some(method), _) => MessageKind::Request(Box::new(RequestHead {
                method: method.into(),
                target: fields.path.unwrap_or_default().into(),
                host: fields.authority.map(Into::into),
                upgrade: None,
                forwarded_for: None,
            })),
            (Side::Server, _, Some(status)) => MessageKind::Response(Box::new(ResponseHead {
                status,
                reason: Default::default(),
                keep_alive_timeout: None,
                upgrade: None,
            })),
            _ => MessageKind::Turn,
        };
        let mut message = Message::starting(side, Protocol::Http2, kind, block.first);
        message.stream = Some(block.stream);
        message.head_ends_at(at);
        message.bytes = block.wire_bytes;
        message.complete = block.end_stream;
        out.push(message);
    }
}

/// A frame header, once all nine bytes are in.
fn frame_header(header: &[u8], first: (u32, i64)) -> Option<Frame> {
    let [l0, l1, l2, kind, flags, s0, s1, s2, s3] = *header else { return None };
    let len = u32::from_be_bytes([0, l0, l1, l2]);
    let stream = u32::from_be_bytes([s0, s1, s2, s3]) & 0x7fff_ffff;
    Some(Frame { kind, flags, stream, len, left: len, payload: Vec::new(), first })
}

/// The header block fragment of a HEADERS or PUSH_PROMISE payload: padding and the priority
/// fields (or the promised stream) taken off.
fn unpadded(payload: &[u8], flags: u8, skip: usize) -> &[u8] {
    let (pad, rest) = match (flags & PADDED != 0, payload) {
        (true, [pad, rest @ ..]) => (usize::from(*pad), rest),
        (true, []) => (0, payload),
        (false, _) => (0, payload),
    };
    let end = rest.len().saturating_sub(pad);
    rest.get(skip.min(end)..end).unwrap_or_default()
}

/// The big-endian u32 at `at`, 0 when the payload is shorter.
fn word(payload: &[u8], at: usize) -> u32 {
    payload.get(at..at + 4).and_then(|bytes| bytes.try_into().ok()).map_or(0, u32::from_be_bytes)
}

fn decode(decoder: &mut loona_hpack::Decoder<'static>, fragment: &[u8]) -> Option<Fields> {
    let mut fields = Fields::default();
    let text = |value: &Cow<'_, [u8]>| {
        String::from_utf8_lossy(value.get(..value.len().min(512)).unwrap_or_default()).into_owned()
    };
    let result = decoder.decode_with_cb(fragment, |name, value| match &*name {
        b":method" => fields.method = Some(text(&value)),
        b":path" => fields.path = Some(text(&value)),
        b":authority" => fields.authority = Some(text(&value)),
        b"host" if fields.authority.is_none() => fields.authority = Some(text(&value)),
        b":status" => fields.status = std::str::from_utf8(&value).ok().and_then(|s| s.parse().ok()),
        _ => {}
    });
    result.ok().map(|()| fields)
}

/// The name a control frame is shown by.
fn frame_name(kind: u8, flags: u8) -> &'static str {
    match (kind, flags & ACK != 0) {
        (SETTINGS, false) => "SETTINGS",
        (SETTINGS, true) => "SETTINGS ACK",
        (PING, false) => "PING",
        (PING, true) => "PING ACK",
        (0x2, _) => "PRIORITY",
        (0x8, _) => "WINDOW_UPDATE",
        (0xa, _) => "ALTSVC",
        (0xc, _) => "ORIGIN",
        (0x10, _) => "PRIORITY_UPDATE",
        _ => "unknown frame",
    }
}

/// A control frame: added to the control frames `side` sent in the same segment, or a new
/// message of them.
fn control(side: Side, name: &'static str, error: Option<Http2Error>, wire: u64, at: (u32, i64), out: &mut Found<'_>) {
    if let Some(message) = out.last_of(side).filter(|m| m.first_frame == at.0) {
        if let MessageKind::Http2Frames(frames) = &mut message.kind {
            if error.is_none() || frames.error.is_none() {
                frames.error = frames.error.or(error);
                match frames.frames.last_mut() {
                    Some((last, count)) if *last == name => *count += 1,
                    _ => frames.frames.push((name, 1)),
                }
                message.bytes += wire;
                return;
            }
        }
    }
    // A summary keeps a few recent messages for the diagnoses, which read only the frames that
    // end something: SETTINGS and WINDOW_UPDATE would push the request a reset names out.
    if error.is_none() && out.recent.is_some() {
        *out.dropped += 1;
        return;
    }
    let frames = Http2Frames { frames: vec![(name, 1)], error };
    let mut message = Message::starting(side, Protocol::Http2, MessageKind::Http2Frames(Box::new(frames)), at);
    message.bytes = wire;
    message.complete = true;
    out.push(message);
}

#[cfg(test)]
#[path = "http2_tests.rs"]
pub(crate) mod tests;
