//! HTTP/1.0 and 1.1 with `httparse`: request and status lines, `Host`, bodies by
//! `Content-Length` or chunked (so the next message on a keep-alive connection is found),
//! pipelining, `Connection: close`, the `Keep-Alive` timeout a server announces, `Expect:
//! 100-continue`, and upgrades. After a hole the reader waits for a segment that starts a message.

use std::collections::VecDeque;

use crate::stream::StreamEvent;
use crate::wire::{PerSide, Side};

use super::found::Found;
use super::http1_head::{first_line_only, parse_request, parse_response, Body, Parsed};
use super::message::{Message, MessageKind, MAX_HEAD_BYTES};

const METHODS: [&[u8]; 9] =
    [b"GET ", b"POST ", b"PUT ", b"HEAD ", b"DELETE ", b"OPTIONS ", b"PATCH ", b"CONNECT ", b"TRACE "];
/// A chunk-size line longer than this is not HTTP.
const MAX_CHUNK_LINE: usize = 1_024;

/// True when `bytes`, sent by `side`, start an HTTP message: a request line from the client, a
/// status line from the server.
pub fn starts_message(side: Side, bytes: &[u8]) -> bool {
    match side {
        Side::Client => METHODS.iter().any(|method| bytes.starts_with(method)),
        Side::Server => bytes.starts_with(b"HTTP/1."),
    }
}

/// Both directions of an HTTP/1 connection.
#[derive(Debug, Clone, Default)]
pub struct Http {
    readers: PerSide<Reader>,
    /// What the requests not answered yet asked, oldest first (a `HEAD` response has no body).
    unanswered: VecDeque<Asked>,
    /// Messages read whole, per side.
    parsed: PerSide<u32>,
    /// The conversation turned out not to be HTTP (a first message that is not): it is read as
    /// turns instead; whether the bytes that showed it still need reading.
    not_http: Option<Unread>,
}

/// What of a request's method shapes its response, kept without a string per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asked {
    /// A `HEAD`: the response has no body.
    Head,
    /// A `CONNECT`: a 2xx makes the connection a tunnel.
    Connect,
    Other,
}

impl Asked {
    fn of(method: &str) -> Self {
        match method {
            "HEAD" => Self::Head,
            "CONNECT" => Self::Connect,
            _ => Self::Other,
        }
    }
}

/// After [`Http::not_http`]: whether the event that showed it was consumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unread {
    /// Its bytes are counted in a message already.
    Consumed,
    /// Its bytes were not read: feed the event to what reads next.
    Pending,
}

#[derive(Debug, Clone, Default)]
enum Reader {
    /// Reading a head: its bytes so far, and where its first byte came.
    #[default]
    Idle,
    Head {
        bytes: Vec<u8>,
        first: (u32, i64),
    },
    Body {
        remaining: u64,
    },
    Chunked(Chunk),
    /// A body that ends when the connection does.
    UntilClose,
    /// After a hole or bytes that are not HTTP: wait for a segment that starts a message.
    Lost,
    /// Switched to another protocol (101): its bytes are not HTTP.
    Upgraded,
}

#[derive(Debug, Clone)]
enum Chunk {
    /// The chunk-size line, read so far.
    Size(Vec<u8>),
    Data(u64),
    /// The CRLF after a chunk's data: how many bytes of it are left.
    DataEnd(u8),
    /// Trailer lines after the last chunk, up to the empty line.
    Trailers(Vec<u8>),
}

impl Http {
    pub(crate) fn feed(&mut self, side: Side, event: &StreamEvent<'_>, out: &mut Found<'_>) {
        match *event {
            StreamEvent::Data { frame, ts_nanos, bytes, .. } => self.data(side, bytes, (frame, ts_nanos), out),
            StreamEvent::Hole { len, .. } => self.hole(side, len, out),
        }
    }

    /// True once a 101 or a CONNECT tunnel switched the connection to another protocol.
    pub(crate) fn upgraded(&self) -> bool {
        matches!(self.readers.client, Reader::Upgraded) && matches!(self.readers.server, Reader::Upgraded)
    }

    /// Set once the conversation showed it is not HTTP.
    pub(crate) fn not_http(&self) -> Option<Unread> {
        self.not_http
    }

    /// The head bytes `side` was reading when HTTP was given up, with where they began.
    pub(crate) fn take_head(&mut self, side: Side) -> Option<(Vec<u8>, (u32, i64))> {
        match std::mem::take(&mut self.readers[side]) {
            Reader::Head { bytes, first } => Some((bytes, first)),
            _ => None,
        }
    }

    /// The connection ended: a head being read is reported with what it holds.
    pub(crate) fn finish(&mut self, out: &mut Found<'_>) {
        for side in Side::BOTH {
            if let Reader::Head { bytes, first } = std::mem::take(&mut self.readers[side]) {
                if let Some(message) = first_line_only(side, &bytes, first) {
                    out.push(message);
                }
            }
        }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        let reader = |reader: &Reader| match reader {
            Reader::Head { bytes, .. } | Reader::Chunked(Chunk::Size(bytes) | Chunk::Trailers(bytes)) => {
                bytes.capacity()
            }
            _ => 0,
        };
        reader(&self.readers.client)
            + reader(&self.readers.server)
            + self.unanswered.capacity() * std::mem::size_of::<Asked>()
    }

    fn data(&mut self, side: Side, mut bytes: &[u8], at: (u32, i64), out: &mut Found<'_>) {
        while !bytes.is_empty() && self.not_http.is_none() {
            let used = match &mut self.readers[side] {
                Reader::Idle | Reader::Lost if !starts_message(side, bytes) => {
                    if self.parsed[side] == 0 {
                        self.not_http = Some(Unread::Pending);
                    }
                    self.readers[side] = Reader::Lost;
                    return;
                }
                Reader::Idle | Reader::Lost => {
                    self.readers[side] = Reader::Head { bytes: Vec::new(), first: at };
                    0
                }
                Reader::Head { .. } => self.head(side, bytes, at, out),
                Reader::Body { remaining } => {
                    let take = (*remaining).min(bytes.len() as u64);
                    *remaining -= take;
                    let done = *remaining == 0;
                    body_bytes(side, take, at.0, done, out);
                    if done {
                        self.readers[side] = Reader::Idle;
                    }
                    take as usize
                }
                Reader::Chunked(chunk) => {
                    let (used, done) = chunked(chunk, bytes);
                    body_bytes(side, used as u64, at.0, done, out);
                    if done {
                        self.readers[side] = Reader::Idle;
                    }
                    used
                }
                Reader::UntilClose => {
                    body_bytes(side, bytes.len() as u64, at.0, false, out);
                    bytes.len()
                }
                Reader::Upgraded => return,
            };
            bytes = bytes.get(used..).unwrap_or_default();
        }
    }

    fn hole(&mut self, side: Side, len: u64, out: &mut Found<'_>) {
        if let Some(message) = out.latest_of(side) {
            message.gaps = true;
        }
        match &mut self.readers[side] {
            Reader::Body { remaining } if len < *remaining => {
                *remaining -= len;
                if let Some(message) = out.last_of(side) {
                    message.bytes += len;
                }
            }
            Reader::Body { remaining } if len == *remaining => {
                if let Some(message) = out.last_of(side) {
                    message.bytes += len;
                }
                self.readers[side] = Reader::Idle;
            }
            Reader::UntilClose => {
                if let Some(message) = out.last_of(side) {
                    message.bytes += len;
                }
            }
            Reader::Head { bytes, first } => {
                let (bytes, first) = (std::mem::take(bytes), *first);
                if let Some(mut message) = first_line_only(side, &bytes, first) {
                    message.gaps = true;
                    out.push(message);
                }
                self.readers[side] = Reader::Lost;
            }
            Reader::Upgraded => {}
            _ => self.readers[side] = Reader::Lost,
        }
    }

    /// Reads head bytes; returns how many of `bytes` were used.
    fn head(&mut self, side: Side, bytes: &[u8], (frame, ts_nanos): (u32, i64), out: &mut Found<'_>) -> usize {
        let Reader::Head { bytes: head, first } = &mut self.readers[side] else { return 0 };
        let before = head.len();
        let room = MAX_HEAD_BYTES.saturating_sub(before);
        let window = bytes.get(..room).unwrap_or(bytes);
        let first = *first;
        let parse = |bytes: &[u8]| match side {
            Side::Client => parse_request(bytes, first),
            Side::Server => parse_response(bytes, first),
        };
        // A head that starts in this segment is parsed where it lies: copying it (and the body
        // bytes behind it) first cost more than the parse, on every keep-alive response.
        let parsed = if before == 0 {
            let parsed = parse(window);
            if !matches!(parsed, Parsed::Complete(..)) {
                head.extend_from_slice(window);
            }
            parsed
        } else {
            head.extend_from_slice(window);
            parse(head)
        };
        match parsed {
            Parsed::Complete(mut message, head_len, body) => {
                self.parsed[side] += 1;
                message.head_ends_at((frame, ts_nanos));
                message.bytes = head_len as u64;
                let used = head_len.saturating_sub(before);
                let next = self.after_head(side, &message, body);
                message.complete = matches!(next, Reader::Idle);
                self.readers[side] = next;
                out.push(message);
                used
            }
            Parsed::Partial if head.len() < MAX_HEAD_BYTES => bytes.len(),
            Parsed::Invalid if self.parsed[side] == 0 && first_line_only(side, head, first).is_none() => {
                // The first message is not HTTP after all ("GET /\n" of a toy protocol); its
                // bytes wait in the head, read as a turn.
                self.not_http = Some(Unread::Consumed);
                bytes.len()
            }
            // Too long a head, or a malformed one: say what the first line says, then wait.
            Parsed::Partial | Parsed::Invalid => {
                let head = std::mem::take(head);
                if let Some(message) = first_line_only(side, &head, first) {
                    self.parsed[side] += 1;
                    if let MessageKind::Request(request) = &message.kind {
                        self.unanswered.push_back(Asked::of(&request.method));
                    }
                    out.push(message);
                }
                self.readers[side] = Reader::Lost;
                bytes.len()
            }
        }
    }

    /// What follows a head: its body, read as its framing says.
    fn after_head(&mut self, side: Side, message: &Message, body: Body) -> Reader {
        let Some(status) = message.kind.status() else {
            if let MessageKind::Request(head) = &message.kind {
                self.unanswered.push_back(Asked::of(&head.method));
            }
            return body.reader();
        };
        if message.is_interim() {
            return Reader::Idle;
        }
        let asked = self.unanswered.pop_front();
        // A 101 switches protocols; a CONNECT answered 2xx becomes a tunnel.
        if status == 101 || (asked == Some(Asked::Connect) && (200..300).contains(&status)) {
            self.readers[side.other()] = Reader::Upgraded;
            return Reader::Upgraded;
        }
        let bodiless = asked == Some(Asked::Head) || status == 204 || status == 304;
        match body {
            _ if bodiless => Reader::Idle,
            Body::None => Reader::UntilClose,
            framed => framed.reader(),
        }
    }
}

impl Body {
    fn reader(self) -> Reader {
        match self {
            Body::None | Body::Length(0) => Reader::Idle,
            Body::Length(remaining) => Reader::Body { remaining },
            Body::Chunked => Reader::Chunked(Chunk::Size(Vec::new())),
        }
    }
}

/// Counts body bytes into the message `side` is sending.
fn body_bytes(side: Side, len: u64, frame: u32, done: bool, out: &mut Found<'_>) {
    if let Some(message) = out.latest_of(side) {
        message.bytes += len;
        message.last_frame = frame;
        message.complete |= done;
    }
}

/// Reads chunked framing from `bytes`: how many were used, and whether the body ended.
fn chunked(chunk: &mut Chunk, bytes: &[u8]) -> (usize, bool) {
    let mut used = 0;
    while used < bytes.len() {
        let rest = bytes.get(used..).unwrap_or_default();
        match chunk {
            Chunk::Size(line) => {
                let newline = rest.iter().position(|&b| b == b'\n');
                let take = newline.map_or(rest.len(), |at| at + 1);
                line.extend_from_slice(rest.get(..take).unwrap_or(rest));
                used += take;
                if line.len() > MAX_CHUNK_LINE {
                    // Not chunked HTTP after all: treat the rest as ending the body.
                    return (used, true);
                }
                if newline.is_some() {
                    match httparse::parse_chunk_size(line) {
                        Ok(httparse::Status::Complete((_, 0))) => *chunk = Chunk::Trailers(Vec::new()),
                        Ok(httparse::Status::Complete((_, size))) => *chunk = Chunk::Data(size),
                        _ => return (used, true),
                    }
                }
            }
            Chunk::Data(remaining) => {
                let take = (*remaining).min(rest.len() as u64);
                *remaining -= take;
                used += take as usize;
                if *remaining == 0 {
                    *chunk = Chunk::DataEnd(2);
                }
            }
            Chunk::DataEnd(left) => {
                let take = usize::from(*left).min(rest.len());
                *left -= take as u8;
                used += take;
                if *left == 0 {
                    *chunk = Chunk::Size(Vec::new());
                }
            }
            Chunk::Trailers(lines) => {
                let newline = rest.iter().position(|&b| b == b'\n');
                let take = newline.map_or(rest.len(), |at| at + 1);
                lines.extend_from_slice(rest.get(..take).unwrap_or(rest));
                used += take;
                if newline.is_some() {
                    // An empty line ends the trailers (and the body); a trailer line is skipped.
                    if lines.as_slice() == b"\r\n" || lines.as_slice() == b"\n" {
                        return (used, true);
                    }
                    lines.clear();
                }
            }
        }
    }
    (used, false)
}

#[cfg(test)]
#[path = "http1_tests.rs"]
pub(crate) mod tests;
