//! The head of an HTTP/1 message, read with `httparse`: the request or status line, and the few
//! headers that frame the body and say what follows (`Content-Length`, `Transfer-Encoding`,
//! `Connection`, `Keep-Alive`, `Expect`, `Upgrade`, `Host`).

use crate::wire::Side;

use super::message::{Message, MessageKind, Protocol, Text};

/// Headers parsed at most per message; a head with more is still read, its extra headers unseen.
const MAX_HEADERS: usize = 64;

/// How a message's body is framed.
#[derive(Debug, Clone, Copy)]
pub(super) enum Body {
    /// No length and not chunked: none for a request, until the close for a response.
    None,
    Length(u64),
    Chunked,
}

pub(super) enum Parsed {
    /// The message, the head's length, and its body's framing.
    Complete(Message, usize, Body),
    Partial,
    Invalid,
}

fn protocol_of(version: Option<u8>) -> Protocol {
    match version {
        Some(0) => Protocol::Http10,
        _ => Protocol::Http11,
    }
}

/// The headers read, found in one pass over the head: six lookups by name each scanning every
/// header cost more than the parse itself, on every message of a keep-alive connection.
#[derive(Default)]
struct Known<'h> {
    host: Option<&'h [u8]>,
    connection: Option<&'h [u8]>,
    expect: Option<&'h [u8]>,
    upgrade: Option<&'h [u8]>,
    keep_alive: Option<&'h [u8]>,
    transfer_encoding: Option<&'h [u8]>,
    content_length: Option<&'h [u8]>,
}

impl<'h> Known<'h> {
    /// The first of each header, as `find` by name would give.
    fn of(headers: &[httparse::Header<'h>]) -> Self {
        let mut known = Self::default();
        for header in headers {
            let name = header.name.as_bytes();
            let is = |wanted: &[u8]| name.eq_ignore_ascii_case(wanted);
            let slot = match name.len() {
                4 if is(b"Host") => &mut known.host,
                6 if is(b"Expect") => &mut known.expect,
                7 if is(b"Upgrade") => &mut known.upgrade,
                10 if is(b"Connection") => &mut known.connection,
                10 if is(b"Keep-Alive") => &mut known.keep_alive,
                14 if is(b"Content-Length") => &mut known.content_length,
                17 if is(b"Transfer-Encoding") => &mut known.transfer_encoding,
                _ => continue,
            };
            slot.get_or_insert(header.value);
        }
        known
    }
}

/// A header's value as text, trimmed; `None` when absent or not UTF-8.
fn text(value: Option<&[u8]>) -> Option<&str> {
    value.and_then(|value| std::str::from_utf8(value).ok()).map(str::trim)
}

/// True when `haystack` holds `needle`, ASCII case ignored (`Connection: Keep-Alive, Close`).
fn holds(haystack: Option<&[u8]>, needle: &[u8]) -> bool {
    haystack.is_some_and(|haystack| haystack.windows(needle.len()).any(|window| window.eq_ignore_ascii_case(needle)))
}

/// Framing, close and upgrade, as the headers say.
fn headers_into(message: &mut Message, known: &Known<'_>) -> Body {
    message.closes = holds(known.connection, b"close")
        || (message.protocol == Protocol::Http10 && !holds(known.connection, b"keep-alive"));
    message.expects_continue = text(known.expect).is_some_and(|e| e.eq_ignore_ascii_case("100-continue"));
    let upgrade = text(known.upgrade).map(Text::new);
    match &mut message.kind {
        MessageKind::Request(head) => head.upgrade = upgrade,
        MessageKind::Response(head) => {
            head.upgrade = upgrade;
            head.keep_alive_timeout = text(known.keep_alive)
                .and_then(|value| value.split(',').find_map(|part| part.trim().strip_prefix("timeout=")))
                .and_then(|seconds| seconds.trim().parse().ok());
        }
        MessageKind::Tls(_)
        | MessageKind::Command(_)
        | MessageKind::Reply(_)
        | MessageKind::Http2Frames(_)
        | MessageKind::Turn => {}
    }
    match text(known.content_length).and_then(|length| length.parse().ok()) {
        _ if holds(known.transfer_encoding, b"chunked") => Body::Chunked,
        Some(length) => Body::Length(length),
        None => Body::None,
    }
}

/// Room for the headers of one head, left uninitialised: httparse fills what it finds, and
/// clearing 64 headers first cost as much as parsing a short head.
fn header_room<'b>() -> [std::mem::MaybeUninit<httparse::Header<'b>>; MAX_HEADERS] {
    [const { std::mem::MaybeUninit::uninit() }; MAX_HEADERS]
}

pub(super) fn parse_request(head: &[u8], first: (u32, i64)) -> Parsed {
    let mut headers = header_room();
    let mut request = httparse::Request::new(&mut []);
    match httparse::ParserConfig::default().parse_request_with_uninit_headers(&mut request, head, &mut headers) {
        Ok(httparse::Status::Complete(len)) => {
            let known = Known::of(request.headers);
            let kind = MessageKind::request(
                request.method.unwrap_or_default(),
                request.path.unwrap_or_default(),
                text(known.host),
            );
            let mut message = Message::starting(Side::Client, protocol_of(request.version), kind, first);
            let body = headers_into(&mut message, &known);
            // A request without a length has no body.
            let body = if matches!(body, Body::None) { Body::Length(0) } else { body };
            Parsed::Complete(message, len, body)
        }
        Ok(httparse::Status::Partial) => Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => Parsed::Partial,
        Err(_) => Parsed::Invalid,
    }
}

pub(super) fn parse_response(head: &[u8], first: (u32, i64)) -> Parsed {
    let mut headers = header_room();
    let mut response = httparse::Response::new(&mut []);
    match httparse::ParserConfig::default().parse_response_with_uninit_headers(&mut response, head, &mut headers) {
        Ok(httparse::Status::Complete(len)) => {
            let kind = MessageKind::response(response.code.unwrap_or_default(), response.reason.unwrap_or_default());
            let mut message = Message::starting(Side::Server, protocol_of(response.version), kind, first);
            let body = headers_into(&mut message, &Known::of(response.headers));
            Parsed::Complete(message, len, body)
        }
        Ok(httparse::Status::Partial) => Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => Parsed::Partial,
        Err(_) => Parsed::Invalid,
    }
}

/// A message from a head that will not complete (cut, or too long): what its first line says.
pub(super) fn first_line_only(side: Side, head: &[u8], first: (u32, i64)) -> Option<Message> {
    let line = head.split(|&b| b == b'\n').next().filter(|_| head.contains(&b'\n'))?;
    let line = String::from_utf8_lossy(line);
    let mut words = line.trim_end().splitn(3, ' ');
    let (a, b, c) = (words.next()?, words.next()?, words.next().unwrap_or_default());
    let (kind, version) = match side {
        Side::Client => (MessageKind::request(a, b, None), c),
        Side::Server => (MessageKind::response(b.parse().ok()?, c), a),
    };
    if !version.contains("HTTP/1.") {
        return None;
    }
    let protocol = if version.ends_with("1.0") { Protocol::Http10 } else { Protocol::Http11 };
    let mut message = Message::starting(side, protocol, kind, first);
    message.bytes = head.len() as u64;
    Some(message)
}
