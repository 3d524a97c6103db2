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
    #[serde(rename = "tls")]
    Tls,
    #[serde(rename = "http/2")]
    Http2,
    #[serde(rename = "redis")]
    Redis,
    #[serde(rename = "dns")]
    Dns,
    /// A protocol tcpladder does not decode: its messages are the turns of the conversation.
    #[serde(rename = "unknown")]
    Unknown,
}

impl Protocol {
    /// HTTP, of any version: requests a client abandons, and the request in flight named by a
    /// reset or a broken pipe.
    pub fn is_http(self) -> bool {
        matches!(self, Self::Http10 | Self::Http11 | Self::Http2)
    }

    /// The protocols whose requests' waits are diagnosed (slow responses, abandoned requests):
    /// those with requests a person names. Turns and TLS handshakes are not waited on.
    pub fn is_waited_on(self) -> bool {
        matches!(self, Self::Http10 | Self::Http11 | Self::Http2 | Self::Redis | Self::Dns)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Http10 => "http/1.0",
            Self::Http11 => "http/1.1",
            Self::Tls => "tls",
            Self::Http2 => "http/2",
            Self::Redis => "redis",
            Self::Dns => "dns",
            Self::Unknown => "unknown",
        }
    }
}

/// What a message is. The heads are boxed: most messages of most connections are turns, which
/// then cost no room for strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageKind {
    Request(Box<RequestHead>),
    Response(Box<ResponseHead>),
    /// A TLS handshake message or alert sent in the clear.
    Tls(Box<TlsHead>),
    /// A Redis command: its name (upper case) and its key, when it has one.
    Command(Box<(String, Option<String>)>),
    /// A Redis reply, in a few words (`+OK`, `-ERR …`, `:1`, `bulk of 5 bytes`).
    Reply(Box<String>),
    /// HTTP/2 frames that carry no request or response (SETTINGS, WINDOW_UPDATE, PING,
    /// RST_STREAM, GOAWAY), sent together.
    Http2Frames(Box<Http2Frames>),
    /// Bytes one side sent before the other answered, in a protocol not decoded (or encrypted).
    Turn,
}

/// HTTP/2 control frames one side sent in one segment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Http2Frames {
    /// Frame types in the order sent, repeats counted: `("WINDOW_UPDATE", 3)`.
    pub frames: Vec<(&'static str, u32)>,
    /// A RST_STREAM or GOAWAY among them.
    pub error: Option<Http2Error>,
}

/// A RST_STREAM (one stream ends) or a GOAWAY (the connection ends after `stream`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Http2Error {
    pub goaway: bool,
    /// The stream reset, or for GOAWAY the last stream the sender will process.
    pub stream: u32,
    pub code: u32,
}

impl Http2Error {
    /// The error code's name (RFC 9113 §7).
    pub fn code_name(&self) -> String {
        const NAMES: [&str; 14] = [
            "NO_ERROR",
            "PROTOCOL_ERROR",
            "INTERNAL_ERROR",
            "FLOW_CONTROL_ERROR",
            "SETTINGS_TIMEOUT",
            "STREAM_CLOSED",
            "FRAME_SIZE_ERROR",
            "REFUSED_STREAM",
            "CANCEL",
            "COMPRESSION_ERROR",
            "CONNECT_ERROR",
            "ENHANCE_YOUR_CALM",
            "INADEQUATE_SECURITY",
            "HTTP_1_1_REQUIRED",
        ];
        let name = usize::try_from(self.code).ok().and_then(|code| NAMES.get(code));
        name.map_or_else(|| format!("error 0x{:x}", self.code), |name| (*name).to_string())
    }
}

/// What a TLS message in the clear says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsHead {
    pub what: TlsWhat,
    /// The server name the client asks for.
    pub sni: Option<String>,
    /// The protocols offered (ClientHello) or the one chosen (ServerHello).
    pub alpn: Vec<String>,
    /// The record's version for a ClientHello, the negotiated one for a ServerHello.
    pub version: Option<String>,
}

/// Which TLS message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsWhat {
    ClientHello,
    ServerHello,
    Alert { fatal: bool, description: String },
}

impl TlsHead {
    pub fn new(what: TlsWhat) -> Self {
        Self { what, sni: None, alpn: Vec::new(), version: None }
    }
}

/// Text of a message head: kept inline up to 23 bytes, so that the method, a short target, the
/// host and the reason of an exchange cost no allocation (they were most of the cost of decoding
/// a keep-alive connection of small requests).
pub type Text = smol_str::SmolStr;

/// An HTTP request line and `Host`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    pub method: Text,
    pub target: Text,
    pub host: Option<Text>,
    /// The protocol an `Upgrade` asks for (`websocket`, `h2c`).
    pub upgrade: Option<Text>,
    /// The client a proxy names in `X-Forwarded-For` (its first address) or `Forwarded: for=`.
    pub forwarded_for: Option<Text>,
}

impl RequestHead {
    /// ` · host api.local`, or nothing without a `Host`.
    fn host_label(&self) -> String {
        self.host.as_ref().map_or(String::new(), |host| format!(" · host {host}"))
    }
}

/// An HTTP status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    pub status: u16,
    pub reason: Text,
    /// `Keep-Alive: timeout=N` announced by the server, in seconds.
    pub keep_alive_timeout: Option<u32>,
    /// The protocol a 101 switches to.
    pub upgrade: Option<Text>,
}

impl MessageKind {
    pub fn request(method: &str, target: &str, host: Option<&str>) -> Self {
        Self::Request(Box::new(RequestHead {
            method: Text::new(method),
            target: Text::new(target),
            host: host.map(Text::new),
            upgrade: None,
            forwarded_for: None,
        }))
    }

    pub fn response(status: u16, reason: &str) -> Self {
        Self::Response(Box::new(ResponseHead {
            status,
            reason: Text::new(reason),
            keep_alive_timeout: None,
            upgrade: None,
        }))
    }

    /// `Keep-Alive: timeout=N` of a response, in seconds.
    pub fn keep_alive_timeout(&self) -> Option<u32> {
        match self {
            Self::Response(head) => head.keep_alive_timeout,
            _ => None,
        }
    }

    pub fn command(name: String, key: Option<String>) -> Self {
        Self::Command(Box::new((name, key)))
    }

    pub fn reply(text: String) -> Self {
        Self::Reply(Box::new(text))
    }

    /// The status of a response.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Response(head) => Some(head.status),
            _ => None,
        }
    }
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
    /// `Expect: 100-continue` on a request.
    pub expects_continue: bool,
    /// What ties a response to its request where they need not come in order: the HTTP/2
    /// stream, the DNS message id. `None`: responses answer requests in order.
    pub stream: Option<u32>,
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
            expects_continue: false,
            stream: None,
        }
    }

    /// Frame `frame`, captured at `ts_nanos`, completed its head (for a turn: carried its last
    /// bytes so far), and is the last frame of it seen.
    pub fn head_ends_at(&mut self, (frame, ts_nanos): (u32, i64)) {
        self.head_frame = frame;
        self.head_ts_nanos = ts_nanos;
        self.last_frame = frame;
    }

    /// A request (or, for turns, what the client says).
    pub fn is_request(&self) -> bool {
        match &self.kind {
            MessageKind::Request(_) => true,
            MessageKind::Tls(head) => head.what == TlsWhat::ClientHello,
            MessageKind::Command(_) => true,
            MessageKind::Reply(_) => false,
            MessageKind::Turn => self.side == Side::Client,
            MessageKind::Response(_) | MessageKind::Http2Frames(_) => false,
        }
    }

    /// A response (or, for turns, what the server says) that answers the request waiting before
    /// it: not an interim response, not HTTP/2's control frames.
    pub fn answers(&self) -> bool {
        self.side == Side::Server && !self.is_interim() && !matches!(self.kind, MessageKind::Http2Frames(_))
    }

    /// True when `response` answers this request: the same stream (or neither has one).
    pub fn answered_by(&self, response: &Message) -> bool {
        response.answers() && response.stream == self.stream
    }

    /// An interim HTTP response (100 Continue, 103 Early Hints), which another one follows.
    pub fn is_interim(&self) -> bool {
        matches!(self.kind.status(), Some(100..=199)) && self.kind.status() != Some(101)
    }

    /// The one-line label on the arrow that carries its start: `GET /slow HTTP/1.1 · host
    /// api.local`, `HTTP/1.1 200 OK · 12.0 KB`, `312 bytes`.
    pub fn label(&self) -> String {
        let version = match self.protocol {
            Protocol::Http10 => "HTTP/1.0",
            Protocol::Http11 => "HTTP/1.1",
            Protocol::Http2 | Protocol::Dns | Protocol::Tls | Protocol::Redis | Protocol::Unknown => "",
        };
        let mut label = match &self.kind {
            MessageKind::Request(head) if self.protocol == Protocol::Dns => {
                format!("query {} {}", head.method, head.target)
            }
            MessageKind::Response(head) if self.protocol == Protocol::Dns => format!("response {}", head.reason),
            MessageKind::Request(head) if self.protocol == Protocol::Http2 => {
                format!(
                    "HEADERS stream {} · {} {}{}",
                    self.stream.unwrap_or(0),
                    head.method,
                    head.target,
                    head.host_label()
                )
            }
            MessageKind::Response(head) if self.protocol == Protocol::Http2 => {
                format!("HEADERS stream {} · {} · {}", self.stream.unwrap_or(0), head.status, size(self.bytes))
            }
            MessageKind::Http2Frames(frames) => http2_label(frames),
            MessageKind::Request(head) => format!("{} {} {version}{}", head.method, head.target, head.host_label()),
            MessageKind::Response(head) => {
                format!("{version} {} {} · {}", head.status, head.reason, size(self.bytes))
            }
            MessageKind::Tls(head) => tls_label(head),
            MessageKind::Command(command) => match &command.1 {
                Some(key) => format!("{} {key}", command.0),
                None => command.0.clone(),
            },
            MessageKind::Reply(text) => text.to_string(),
            MessageKind::Turn if self.protocol == Protocol::Http2 => {
                format!("HEADERS stream {} (not decoded) · {}", self.stream.unwrap_or(0), size(self.bytes))
            }
            MessageKind::Turn if self.protocol == Protocol::Tls => format!("encrypted {}", size(self.bytes)),
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
            MessageKind::Request(head) => {
                std::mem::size_of::<RequestHead>()
                    + text_heap(&head.method)
                    + text_heap(&head.target)
                    + head.host.as_ref().map_or(0, text_heap)
                    + head.upgrade.as_ref().map_or(0, text_heap)
            }
            MessageKind::Response(head) => {
                std::mem::size_of::<ResponseHead>()
                    + text_heap(&head.reason)
                    + head.upgrade.as_ref().map_or(0, text_heap)
            }
            MessageKind::Tls(head) => {
                std::mem::size_of::<TlsHead>()
                    + head.sni.as_ref().map_or(0, String::capacity)
                    + head.alpn.iter().map(String::capacity).sum::<usize>()
                    + head.version.as_ref().map_or(0, String::capacity)
            }
            MessageKind::Command(command) => {
                std::mem::size_of::<(String, Option<String>)>()
                    + command.0.capacity()
                    + command.1.as_ref().map_or(0, String::capacity)
            }
            MessageKind::Reply(text) => std::mem::size_of::<String>() + text.capacity(),
            MessageKind::Http2Frames(frames) => {
                std::mem::size_of::<Http2Frames>() + frames.frames.capacity() * std::mem::size_of::<(&str, u32)>()
            }
            MessageKind::Turn => 0,
        };
        strings
    }
}

/// `ClientHello · SNI example.com · ALPN h2,http/1.1`, `ServerHello · TLS 1.3 · ALPN h2`,
/// `Alert fatal handshake_failure`.
fn tls_label(head: &TlsHead) -> String {
    let mut label = match &head.what {
        TlsWhat::ClientHello => "ClientHello".to_string(),
        TlsWhat::ServerHello => format!("ServerHello · {}", head.version.as_deref().unwrap_or("?")),
        TlsWhat::Alert { description, .. } => format!("Alert {description}"),
    };
    if let Some(sni) = &head.sni {
        label.push_str(&format!(" · SNI {sni}"));
    }
    if !head.alpn.is_empty() {
        label.push_str(&format!(" · ALPN {}", head.alpn.join(",")));
    }
    label
}

/// `SETTINGS · WINDOW_UPDATE`, `RST_STREAM stream 3 · CANCEL`, `GOAWAY after stream 5 ·
/// ENHANCE_YOUR_CALM`, repeats as `PING ×2`.
fn http2_label(frames: &Http2Frames) -> String {
    let names: Vec<String> = frames
        .frames
        .iter()
        .map(|(name, count)| match (*name, frames.error) {
            ("RST_STREAM", Some(error)) if !error.goaway => {
                format!("RST_STREAM stream {} · {}", error.stream, error.code_name())
            }
            ("GOAWAY", Some(error)) if error.goaway => {
                format!("GOAWAY after stream {} · {}", error.stream, error.code_name())
            }
            (name, _) if *count > 1 => format!("{name} ×{count}"),
            (name, _) => name.to_string(),
        })
        .collect();
    names.join(" · ")
}

/// "512 bytes", "12.0 KB", "3.4 MB".
pub fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000 => format!("{:.1} MB", b as f64 / 1e6),
        b if b >= 1_000 => format!("{:.1} KB", b as f64 / 1e3),
        b => format!("{b} bytes"),
    }
}

/// Bytes a [`Text`] holds on the heap: none when it is inline.
fn text_heap(text: &Text) -> usize {
    if text.is_heap_allocated() {
        text.len()
    } else {
        0
    }
}
