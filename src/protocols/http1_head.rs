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
    forwarded_for: Option<&'h [u8]>,
    forwarded: Option<&'h [u8]>,
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
                15 if is(b"X-Forwarded-For") => &mut known.forwarded_for,
                9 if is(b"Forwarded") => &mut known.forwarded,
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

/// The client a proxy forwarded for: `X-Forwarded-For`'s first address, else `Forwarded`'s
/// first `for=` (RFC 7239: quotes, an IPv6 address in brackets, a port after it, all taken off).
pub(super) fn forwarded_client<'a>(forwarded_for: Option<&'a str>, forwarded: Option<&'a str>) -> Option<&'a str> {
    if let Some(first) = forwarded_for.and_then(|list| list.split(',').next()).map(str::trim) {
        return Some(first).filter(|f| !f.is_empty());
    }
    let value = forwarded?.split([',', ';']).map(str::trim).find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.trim().eq_ignore_ascii_case("for").then_some(value.trim())
    })?;
    let value = value.trim_matches('"');
    let host = match value.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => value.split(':').next()?,
    };
    Some(host).filter(|h| !h.is_empty())
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
        MessageKind::Request(head) => {
            head.upgrade = upgrade;
            head.forwarded_for = forwarded_client(text(known.forwarded_for), text(known.forwarded)).map(Text::new);
        }
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

#[cfg(test)]
mod tests {
    use super::{forwarded_client, parse_request, Parsed};
    use crate::protocols::MessageKind;

    #[test]
    fn a_proxied_request_keeps_the_client_it_was_forwarded_for() {
        let head = b"GET /users HTTP/1.1\r\nHost: api\r\nX-Forwarded-For: 10.1.2.3, 10.0.0.1\r\n\r\n";
        let Parsed::Complete(message, ..) = parse_request(head, (1, 0)) else { panic!("not parsed") };
        let MessageKind::Request(request) = message.kind else { panic!("not a request") };
        assert_eq!(request.forwarded_for.as_deref(), Some("10.1.2.3"));
    }

    #[test]
    fn the_forwarded_client_is_the_first_address_a_proxy_names() {
        assert_eq!(forwarded_client(Some("10.0.0.7, 172.16.0.1"), None), Some("10.0.0.7"));
        assert_eq!(forwarded_client(None, Some("for=192.0.2.60;proto=http;by=203.0.113.43")), Some("192.0.2.60"));
        assert_eq!(forwarded_client(None, Some(r#"For="[2001:db8:cafe::17]:4711""#)), Some("2001:db8:cafe::17"));
        assert_eq!(forwarded_client(None, Some("proto=https, for=198.51.100.17:8080")), Some("198.51.100.17"));
        assert_eq!(forwarded_client(None, Some("by=1.2.3.4")), None);
        assert_eq!(forwarded_client(None, None), None);
    }
}
