//! What a decoder finds: one message of the conversation, with where it starts and ends.

use serde::Serialize;

use crate::wire::Side;

/// The most of a message head kept for decoding; a longer head is reported, not held.
pub const MAX_HEAD_BYTES: usize = 8 * 1024;
/// The most messages kept per connection; beyond, messages are counted only.
pub const MAX_MESSAGES: usize = 100_000;

/// The protocol a message was read as; the names are what `requests --json` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Protocol {
    #[serde(rename = "http/1.0")]
    Http10,
    #[serde(rename = "http/1.1")]
    Http11,
    /// A protocol tcpladder does not decode: its messages are the turns of the conversation.
    #[serde(rename = "unknown")]
    Unknown,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Self::Http10 => "http/1.0",
            Self::Http11 => "http/1.1",
            Self::Unknown => "unknown",
        }
    }
}

/// What a message is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageKind {
    Request {
        method: String,
        target: String,
        host: Option<String>,
    },
    Response {
        status: u16,
        reason: String,
    },
    /// Bytes one side sent before the other answered, in a protocol not decoded.
    Turn,
}

/// One message, and the segments that carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Who sent it.
    pub side: Side,
    pub protocol: Protocol,
    pub kind: MessageKind,
    /// The frame and time of its first byte.
    pub first_frame: u32,
    pub first_ts_nanos: i64,
    /// The frame and time that completed its head (for a turn: its last byte so far).
    pub head_frame: u32,
    pub head_ts_nanos: i64,
    /// The frame of its last byte seen.
    pub last_frame: u32,
    /// Bytes in all, head and body, holes included.
    pub bytes: u64,
    /// All of it was seen (the body ended where its length said).
    pub complete: bool,
    /// Part of it was never captured (lost before the capture point, or cut by the snaplen).
    pub gaps: bool,
    /// `Connection: close` (or HTTP/1.0 without keep-alive): no message follows on this side.
    pub closes: bool,
    /// `Keep-Alive: timeout=N` announced by a server, in seconds.
    pub keep_alive_timeout: Option<u32>,
    /// `Expect: 100-continue` on a request.
    pub expects_continue: bool,
    /// The protocol an `Upgrade` switches to (`websocket`, `h2c`).
    pub upgrade: Option<String>,
}

impl Message {
    /// A message whose first byte came in `frame` at `ts_nanos`.
    pub fn starting(side: Side, protocol: Protocol, kind: MessageKind, (frame, ts_nanos): (u32, i64)) -> Self {
        Self {
            side,
            protocol,
            kind,
            first_frame: frame,
            first_ts_nanos: ts_nanos,
            head_frame: frame,
            head_ts_nanos: ts_nanos,
            last_frame: frame,
            bytes: 0,
            complete: false,
            gaps: false,
            closes: false,
            keep_alive_timeout: None,
            expects_continue: false,
            upgrade: None,
        }
    }

    /// A request (or, for turns, what the client says).
    pub fn is_request(&self) -> bool {
        matches!(self.kind, MessageKind::Request { .. })
            || (self.kind == MessageKind::Turn && self.side == Side::Client)
    }

    /// An interim HTTP response (100 Continue, 103 Early Hints), which another one follows.
    pub fn is_interim(&self) -> bool {
        matches!(self.kind, MessageKind::Response { status: 100..=199, .. })
            && !matches!(self.kind, MessageKind::Response { status: 101, .. })
    }

    /// The one-line label on the arrow that carries its start: `GET /slow HTTP/1.1 · host
    /// api.local`, `HTTP/1.1 200 OK · 12.0 KB`, `312 bytes`.
    pub fn label(&self) -> String {
        let version = match self.protocol {
            Protocol::Http10 => "HTTP/1.0",
            Protocol::Http11 => "HTTP/1.1",
            Protocol::Unknown => "",
        };
        let mut label = match &self.kind {
            MessageKind::Request { method, target, host } => {
                let host = host.as_ref().map_or(String::new(), |host| format!(" · host {host}"));
                format!("{method} {target} {version}{host}")
            }
            MessageKind::Response { status, reason } => format!("{version} {status} {reason} · {}", size(self.bytes)),
            MessageKind::Turn => size(self.bytes),
        };
        if self.gaps {
            label.push_str(" (not all captured)");
        }
        label
    }

    /// Bytes this message holds on the heap.
    pub fn heap_bytes(&self) -> usize {
        let strings = match &self.kind {
            MessageKind::Request { method, target, host } => {
                method.capacity() + target.capacity() + host.as_ref().map_or(0, String::capacity)
            }
            MessageKind::Response { reason, .. } => reason.capacity(),
            MessageKind::Turn => 0,
        };
        strings + self.upgrade.as_ref().map_or(0, String::capacity)
    }
}

/// "512 bytes", "12.0 KB", "3.4 MB".
fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000 => format!("{:.1} MB", b as f64 / 1e6),
        b if b >= 1_000 => format!("{:.1} KB", b as f64 / 1e3),
        b => format!("{b} bytes"),
    }
}

/// Where decoders put what they find, bounded.
pub(crate) struct Found<'a> {
    pub(crate) messages: &'a mut Vec<Message>,
    pub(crate) dropped: &'a mut u64,
}

impl Found<'_> {
    pub(crate) fn push(&mut self, message: Message) {
        if self.messages.len() < MAX_MESSAGES {
            self.messages.push(message);
        } else {
            *self.dropped += 1;
        }
    }

    /// The message being read by `side`, if it is the last one found.
    pub(crate) fn last_of(&mut self, side: Side) -> Option<&mut Message> {
        self.messages.last_mut().filter(|message| message.side == side)
    }

    /// The last message `side` started, wherever it is.
    pub(crate) fn latest_of(&mut self, side: Side) -> Option<&mut Message> {
        self.messages.iter_mut().rev().find(|message| message.side == side)
    }
}
