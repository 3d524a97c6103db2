//! Requests paired with their responses, and what became of those that got none: the
//! conversation joined to the TCP fate of its connection.

use serde::Serialize;

use crate::protocols::{Conversation, Message, MessageKind, Protocol};
use crate::tcp::Connection;
use crate::wire::Side;

/// What became of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A response came.
    Answered,
    /// The client closed or reset the connection before any response: it gave up.
    Abandoned,
    /// The server reset the connection instead of answering.
    Reset,
    /// The server closed the connection (FIN) without answering.
    ServerClosed,
    /// Still waiting when the capture ended.
    CaptureEnded,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Self::Answered => "answered",
            Self::Abandoned => "abandoned",
            Self::Reset => "reset",
            Self::ServerClosed => "server_closed",
            Self::CaptureEnded => "capture_ended",
        }
    }
}

/// One request and its response, as `tcpladder requests --json` prints it. Keys that do not
/// apply to the protocol are null.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exchange {
    pub conn: u32,
    pub protocol: Protocol,
    pub method: Option<String>,
    pub target: Option<String>,
    pub host: Option<String>,
    pub status: Option<u16>,
    /// A Redis reply in a few words (`+OK`, `-ERR unknown command`, `:1`, `bulk of 5 bytes`).
    pub reply: Option<String>,
    pub sni: Option<String>,
    pub alpn: Option<String>,
    pub command: Option<String>,
    /// The frame that completed the request's head.
    pub request_frame: u32,
    /// The frame that started the response.
    pub response_frame: Option<u32>,
    /// Seconds from `request_frame` to `response_frame`.
    pub latency: Option<f64>,
    pub outcome: Outcome,
    /// The frame that completed the response's head (where tshark shows the response).
    #[serde(skip)]
    pub response_head_frame: Option<u32>,
    /// Bytes of the request and of its response.
    #[serde(skip)]
    pub bytes: (u64, u64),
    /// The one-line labels of the request and of its response.
    #[serde(skip)]
    pub labels: (String, Option<String>),
}

impl Exchange {
    /// The answer's status as a column shows it in `width` characters: the HTTP or DNS status,
    /// or a Redis reply in RESP's own shorthand (`+OK`, `-ERR`, `:1`, `$5`, `*3`); `-` without one.
    pub fn status_text(&self, width: usize) -> String {
        let text = match (&self.status, &self.reply) {
            (Some(status), _) => status.to_string(),
            (None, Some(reply)) => match reply.split_whitespace().collect::<Vec<_>>().as_slice() {
                ["bulk", "of", len, ..] => format!("${len}"),
                ["array", "of", count] => format!("*{count}"),
                ["(empty", "array)"] => "*0".to_string(),
                _ => reply.clone(),
            },
            (None, None) => "-".to_string(),
        };
        if text.chars().count() > width {
            let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
            cut.push('…');
            cut
        } else {
            text
        }
    }
}

/// The exchanges of one connection, in the order the requests were sent.
pub fn exchanges(connection: &Connection, conversation: &Conversation) -> Vec<Exchange> {
    let messages = conversation.messages();
    let mut out = Vec::new();
    for (request, response) in request_pairs(messages) {
        let mut exchange = exchange(connection, request, response);
        if let (None, Some(stream)) = (response, request.stream) {
            exchange.outcome = stream_reset(messages, request, stream).unwrap_or(exchange.outcome);
        }
        out.push(exchange);
    }
    out
}

/// Each request of `messages` with the response that answers it, if any, in the order the
/// requests were sent.
pub fn request_pairs(messages: &[Message]) -> Vec<(&Message, Option<&Message>)> {
    // Requests by their place in the conversation, so that exchanges come in the order sent.
    let mut waiting: Vec<(usize, &Message)> = Vec::new();
    let mut pairs: Vec<(usize, &Message, Option<&Message>)> = Vec::new();
    for (at, message) in messages.iter().enumerate() {
        if message.is_request() {
            waiting.push((at, message));
        } else if message.answers() {
            // The oldest request waiting on the same stream (HTTP/2, DNS), or the oldest of all
            // (the others answer in order). A server that speaks first (a banner) answers none.
            if let Some(i) = waiting.iter().position(|(_, request)| request.answered_by(message)) {
                let (at, request) = waiting.remove(i);
                pairs.push((at, request, Some(message)));
            }
        }
    }
    pairs.extend(waiting.into_iter().map(|(at, request)| (at, request, None)));
    pairs.sort_by_key(|(at, _, _)| *at);
    pairs.into_iter().map(|(_, request, response)| (request, response)).collect()
}

/// One request and its response (if any), joined to the connection's fate.
pub fn exchange(connection: &Connection, request: &Message, response: Option<&Message>) -> Exchange {
    let (method, target, host) = match &request.kind {
        MessageKind::Request(head) => {
            (Some(head.method.to_string()), Some(head.target.to_string()), head.host.as_ref().map(ToString::to_string))
        }
        _ => (None, None, None),
    };
    let status = response.and_then(|r| r.kind.status());
    let (sni, alpn) = match (&request.kind, response.map(|r| &r.kind)) {
        // The protocol the server chose, else those the client offered.
        (MessageKind::Tls(hello), Some(MessageKind::Tls(answer))) if !answer.alpn.is_empty() => {
            (hello.sni.clone(), Some(answer.alpn.join(",")))
        }
        (MessageKind::Tls(hello), _) => (hello.sni.clone(), (!hello.alpn.is_empty()).then(|| hello.alpn.join(","))),
        _ => (None, None),
    };
    let outcome = match response {
        // A response that starts after the client closed or reset came too late: it gave up.
        Some(response) if client_left_before(connection, request.head_frame, response.first_frame) => {
            Outcome::Abandoned
        }
        Some(_) => Outcome::Answered,
        None => fate_after(connection, request.head_frame),
    };
    Exchange {
        conn: connection.id,
        protocol: request.protocol,
        method,
        target,
        host,
        status,
        reply: match response.map(|r| &r.kind) {
            Some(MessageKind::Reply(reply)) => Some(reply.to_string()),
            _ => None,
        },
        sni,
        alpn,
        command: match &request.kind {
            MessageKind::Command(command) => Some(command.0.clone()),
            _ => None,
        },
        request_frame: request.head_frame,
        response_frame: response.map(|r| r.first_frame),
        response_head_frame: response.map(|r| r.head_frame),
        latency: response.map(|r| (r.first_ts_nanos - request.head_ts_nanos) as f64 / 1e9),
        outcome,
        bytes: (request.bytes, response.map_or(0, |r| r.bytes)),
        labels: (request.label(), response.map(Message::label)),
    }
}

/// What an HTTP/2 RST_STREAM (or a GOAWAY that leaves the stream out) after `request` says of
/// its stream: the client cancelled it, or the server refused or reset it.
fn stream_reset(messages: &[Message], request: &Message, stream: u32) -> Option<Outcome> {
    messages.iter().filter(|m| m.first_frame >= request.head_frame).find_map(|m| {
        let MessageKind::Http2Frames(frames) = &m.kind else { return None };
        let error = frames.error?;
        let ends_it =
            if error.goaway { m.side == Side::Server && stream > error.stream } else { error.stream == stream };
        ends_it.then_some(if m.side == Side::Client { Outcome::Abandoned } else { Outcome::Reset })
    })
}

/// What ended a request's wait: the first FIN or RST after `frame`, and who sent it.
fn fate_after(connection: &Connection, frame: u32) -> Outcome {
    match end_of_wait(connection, frame) {
        None => Outcome::CaptureEnded,
        Some(segment) => match (segment.dir.sender(), segment.flags.rst()) {
            (Side::Client, _) => Outcome::Abandoned,
            (Side::Server, true) => Outcome::Reset,
            (Side::Server, false) => Outcome::ServerClosed,
        },
    }
}

/// True when the client had given up before `response` came: it reset the connection, or it
/// closed (FIN) and then answered the response with a RST, its socket closed for reading too. A
/// FIN alone is a half-close: the client may still read the answer.
fn client_left_before(connection: &Connection, request: u32, response: u32) -> bool {
    let from_client = |s: &&crate::tcp::Segment| s.dir.sender() == Side::Client && s.frame > request;
    let mut after_request = connection.segments.iter().filter(from_client);
    let reset_first = after_request.clone().any(|s| s.flags.rst() && s.frame < response);
    let closed_first = after_request.clone().any(|s| s.flags.fin() && s.frame < response);
    reset_first || (closed_first && after_request.any(|s| s.flags.rst() && s.frame > response))
}

/// The first FIN or RST after `frame`.
pub(crate) fn end_of_wait(connection: &Connection, frame: u32) -> Option<&crate::tcp::Segment> {
    connection.segments.iter().filter(|s| s.frame > frame).find(|s| s.flags.fin() || s.flags.rst())
}

/// What the ladder writes beside the arrows, by frame: each message's label where it starts,
/// the wait where its response starts (`server took 2.77 ms`), and for a request with no
/// response what ended the wait (`no response: the client closed after 1.00 s`).
pub fn ladder_notes(
    connection: &Connection,
    conversation: &Conversation,
) -> std::collections::BTreeMap<u32, Vec<String>> {
    let mut notes: std::collections::BTreeMap<u32, Vec<String>> = std::collections::BTreeMap::new();
    for message in conversation.messages() {
        notes.entry(message.first_frame).or_default().push(format!("«{}»", message.label()));
    }
    for exchange in exchanges(connection, conversation) {
        match (exchange.response_frame, exchange.latency) {
            (Some(frame), Some(latency)) if exchange.outcome == Outcome::Answered => {
                notes.entry(frame).or_default().push(format!("server took {}", duration(latency)));
            }
            (Some(frame), Some(latency)) => {
                let late = format!("server took {}: too late, the client had gone", duration(latency));
                notes.entry(frame).or_default().push(late);
                if let Some(end) = end_of_wait(connection, exchange.request_frame) {
                    let start = conversation.messages().iter().find(|m| m.head_frame == exchange.request_frame);
                    let waited = start.map_or(0.0, |m| (end.ts_nanos - m.head_ts_nanos) as f64 / 1e9);
                    let gave_up = format!("no response: the client closed after {}", duration(waited));
                    notes.entry(end.frame).or_default().push(gave_up);
                }
            }
            _ => {
                let Some(end) = end_of_wait(connection, exchange.request_frame) else { continue };
                let start = conversation.messages().iter().find(|m| m.head_frame == exchange.request_frame);
                let waited = start.map_or(0.0, |m| (end.ts_nanos - m.head_ts_nanos) as f64 / 1e9);
                let what = match exchange.outcome {
                    Outcome::Abandoned if end.flags.rst() => "the client reset the connection",
                    Outcome::Abandoned => "the client closed",
                    Outcome::Reset => "reset by the server",
                    _ => "the server closed",
                };
                notes.entry(end.frame).or_default().push(format!("no response: {what} after {}", duration(waited)));
            }
        }
    }
    notes
}

/// "2.77 ms", "1.00 s", "45 µs".
pub fn duration(secs: f64) -> String {
    match secs {
        s if s >= 1.0 => format!("{s:.2} s"),
        s if s >= 0.001 => format!("{:.2} ms", s * 1e3),
        s => format!("{:.0} µs", s * 1e6),
    }
}

#[cfg(test)]
#[path = "exchanges_tests.rs"]
mod tests;
