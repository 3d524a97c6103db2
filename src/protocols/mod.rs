//! The application's messages inside a connection: each direction's byte stream
//! ([`crate::stream`]) cut into messages by a decoder chosen from the bytes themselves (a `GET ` at
//! a stream's start is HTTP on any port; the server's port only where content cannot tell, DNS).
//! HTTP/1.x ([`http1`]), HTTP/2 in the clear ([`http2`]), TLS in the clear ([`tls`]), Redis
//! ([`redis`]) and DNS over TCP ([`dns`]) are decoded; any other protocol is cut into turns, the
//! bytes one side sends before the other answers ([`turns`]), so request and response timing works
//! for every protocol. Heads are kept up to [`MAX_HEAD_BYTES`], bodies are counted, not kept; a
//! recording conversation also keeps both streams' bytes ([`transcript`]) for the Follow-stream
//! pane.

pub mod dns;
mod found;
pub mod http1;
mod http1_head;
pub mod http2;
mod message;
pub mod pipeline;
pub mod redis;
pub mod table;
pub mod tls;
pub mod transcript;
pub mod turns;
mod waits;

use crate::stream::{Reassembler, StreamEvent};
use crate::wire::{PerSide, Side, TcpFlags};

use found::Found;
pub use message::{
    size, Http2Error, Http2Frames, Message, MessageKind, Protocol, RequestHead, ResponseHead, Text, TlsHead, TlsWhat,
    MAX_HEAD_BYTES, MAX_MESSAGES,
};
use transcript::Transcript;
pub use waits::{wait_nanos, Waits};

/// Which decoder reads a connection.
#[derive(Debug, Clone)]
enum Decoder {
    /// Nothing read yet.
    Undecided,
    /// Boxed: most connections of a capture are not HTTP.
    Http(Box<http1::Http>),
    Http2(Box<http2::Http2>),
    Tls(Box<tls::Tls>),
    Redis(Box<redis::Redis>),
    Dns(Box<dns::Dns>),
    Turns(turns::Turns),
}

/// One connection's conversation: both byte streams and the messages found in them.
#[derive(Debug, Clone)]
pub struct Conversation {
    streams: PerSide<Reassembler>,
    decoder: Decoder,
    messages: Vec<Message>,
    /// Messages not kept (past [`MAX_MESSAGES`], or older than the recent ones kept).
    dropped_messages: u64,
    /// Keep only this many of the latest messages, for a summary; `None` keeps them all.
    recent: Option<usize>,
    /// Bytes of each stream the capture does not hold.
    holes: PerSide<u64>,
    /// The waits of the exchanges a summarising conversation forgot (boxed: most connections
    /// forget none).
    forgotten: Option<Box<Waits>>,
    /// The server's port: a hint for protocols content alone does not show (DNS).
    server_port: u16,
    /// Both streams' bytes, kept only for the Conversation pane.
    transcript: Option<Box<Transcript>>,
}

/// Messages a summarising conversation keeps: the last exchanges, which the diagnoses read.
pub const RECENT_MESSAGES: usize = 4;

impl Default for Conversation {
    fn default() -> Self {
        Self {
            streams: PerSide::default(),
            decoder: Decoder::Undecided,
            messages: Vec::new(),
            dropped_messages: 0,
            recent: None,
            holes: PerSide::default(),
            forgotten: None,
            server_port: 0,
            transcript: None,
        }
    }
}

/// One TCP segment, as the conversation needs it.
#[derive(Debug, Clone, Copy)]
pub struct SegmentBytes<'a> {
    pub sender: Side,
    pub frame: u32,
    pub ts_nanos: i64,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub payload_len: u32,
    /// What the capture holds of the payload.
    pub payload: &'a [u8],
}

impl Conversation {
    /// A conversation that keeps only its last [`RECENT_MESSAGES`] messages.
    pub fn summarising() -> Self {
        Self { recent: Some(RECENT_MESSAGES), messages: Vec::with_capacity(RECENT_MESSAGES + 3), ..Self::default() }
    }

    /// A conversation that keeps every message and both streams' bytes (bounded by
    /// [`transcript::MAX_TRANSCRIPT_BYTES`]), for the Conversation pane.
    pub fn recording() -> Self {
        Self { transcript: Some(Box::default()), ..Self::default() }
    }

    /// Both streams' bytes, when [`Self::recording`].
    pub fn transcript(&self) -> Option<&Transcript> {
        self.transcript.as_deref()
    }

    /// The server's port, which tells protocols content alone does not show.
    pub fn serving_port(&mut self, port: u16) {
        self.server_port = port;
    }

    /// Counts each stream from its side's ISN, when its SYN was seen before the conversation began.
    pub fn starting_from(&mut self, isns: PerSide<Option<u32>>) {
        for (side, isn) in isns.iter() {
            if let Some(isn) = *isn {
                self.streams[side].on_syn(isn);
            }
        }
    }

    /// Takes in one segment of the connection.
    pub fn on_segment(&mut self, segment: &SegmentBytes<'_>) {
        let Self { streams, decoder, messages, dropped_messages, recent, holes, forgotten, server_port, transcript } =
            self;
        let port = *server_port;
        let sender = segment.sender;
        let mut out = Found { messages, dropped: dropped_messages, recent: *recent, forgotten };
        if segment.flags.syn() {
            streams[sender].on_syn(segment.seq);
        }
        if segment.flags.ack() && !segment.flags.rst() {
            let receiver = sender.other();
            streams[receiver].on_acknowledged(segment.ack, segment.frame, &mut |event| {
                count_hole(&mut holes[receiver], &event);
                record(transcript, receiver, &event);
                feed(decoder, port, receiver, &event, &mut out);
            });
        }
        if segment.flags.rst() {
            return;
        }
        let at = (segment.frame, segment.ts_nanos);
        // Data rides after the SYN's sequence number.
        let seq = segment.seq.wrapping_add(u32::from(segment.flags.syn()));
        streams[sender].on_segment(seq, segment.payload_len, segment.payload, at, &mut |event| {
            count_hole(&mut holes[sender], &event);
            record(transcript, sender, &event);
            feed(decoder, port, sender, &event, &mut out);
        });
        if segment.flags.fin() {
            streams[sender].on_fin(seq.wrapping_add(segment.payload_len));
        }
    }

    /// The capture ended: bytes waiting behind a gap are read after a hole.
    pub fn finish(&mut self) {
        let Self { streams, decoder, messages, dropped_messages, recent, holes, forgotten, server_port, transcript } =
            self;
        let port = *server_port;
        let mut out = Found { messages, dropped: dropped_messages, recent: *recent, forgotten };
        for side in Side::BOTH {
            streams[side].finish(&mut |event| {
                count_hole(&mut holes[side], &event);
                record(transcript, side, &event);
                feed(decoder, port, side, &event, &mut out);
            });
        }
        if let Decoder::Http(http) = decoder {
            http.finish(&mut out);
        }
    }

    /// Bytes of `side`'s stream the capture does not hold (lost before it, or cut by the snaplen).
    pub fn hole_bytes(&self, side: Side) -> u64 {
        self.holes[side]
    }

    /// The messages found, in the order they started.
    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    /// The labels of the messages that start in each frame (several, pipelined, joined by "; ").
    pub fn labels_by_frame(&self) -> std::collections::BTreeMap<u32, String> {
        let mut labels: std::collections::BTreeMap<u32, String> = std::collections::BTreeMap::new();
        for message in &self.messages {
            let label = labels.entry(message.first_frame).or_default();
            if !label.is_empty() {
                label.push_str("; ");
            }
            label.push_str(&message.label());
        }
        labels
    }

    /// Messages beyond the bound, counted but not kept.
    /// The waits of exchanges forgotten to keep a summary small (none when all are kept).
    pub fn forgotten_waits(&self) -> Option<&Waits> {
        self.forgotten.as_deref()
    }

    pub fn dropped_messages(&self) -> u64 {
        self.dropped_messages
    }

    /// Bytes held on the heap: messages, heads being read, out-of-order bytes.
    pub fn heap_bytes(&self) -> usize {
        let messages: usize = self.messages.iter().map(Message::heap_bytes).sum::<usize>()
            + self.messages.capacity() * std::mem::size_of::<Message>();
        let decoding = match &self.decoder {
            Decoder::Http(http) => std::mem::size_of::<http1::Http>() + http.heap_bytes(),
            Decoder::Tls(tls) => std::mem::size_of::<tls::Tls>() + tls.heap_bytes(),
            Decoder::Http2(http2) => std::mem::size_of::<http2::Http2>() + http2.heap_bytes(),
            Decoder::Redis(redis) => std::mem::size_of::<redis::Redis>() + redis.heap_bytes(),
            Decoder::Dns(dns) => std::mem::size_of::<dns::Dns>() + dns.heap_bytes(),
            Decoder::Undecided | Decoder::Turns(_) => 0,
        };
        messages + decoding + self.streams.client.held_bytes() + self.streams.server.held_bytes()
    }
}

fn record(transcript: &mut Option<Box<Transcript>>, side: Side, event: &StreamEvent<'_>) {
    if let Some(transcript) = transcript {
        transcript.record(side, event);
    }
}

fn count_hole(holes: &mut u64, event: &StreamEvent<'_>) {
    if let StreamEvent::Hole { len, .. } = event {
        *holes += len;
    }
}

fn feed(decoder: &mut Decoder, server_port: u16, side: Side, event: &StreamEvent<'_>, out: &mut Found<'_>) {
    if let (Decoder::Undecided, StreamEvent::Data { bytes, .. }) = (&*decoder, event) {
        *decoder = if http2::starts_message(side, bytes) {
            Decoder::Http2(Box::new(http2::Http2::new()))
        } else if http1::starts_message(side, bytes) {
            Decoder::Http(Box::default())
        } else if tls::starts_message(bytes) {
            Decoder::Tls(Box::default())
        } else if redis::starts_message(side, bytes) {
            Decoder::Redis(Box::default())
        } else if dns::starts_message(side, server_port, bytes) {
            Decoder::Dns(Box::default())
        } else {
            Decoder::Turns(turns::Turns::default())
        };
    }
    // TLS begun inside another protocol (STARTTLS in SMTP, IMAP, LDAP; a CONNECT tunnel): read
    // it from its first record on.
    if let StreamEvent::Data { bytes, .. } = event {
        let switches = match &*decoder {
            Decoder::Turns(_) => true,
            Decoder::Http(http) => http.upgraded(),
            Decoder::Undecided | Decoder::Tls(_) | Decoder::Http2(_) | Decoder::Redis(_) | Decoder::Dns(_) => false,
        };
        if switches && tls::starts_message(bytes) {
            *decoder = Decoder::Tls(Box::default());
        } else if switches && matches!(decoder, Decoder::Http(_)) && upgrade_to_h2c(out) {
            *decoder = Decoder::Http2(Box::new(http2::Http2::new()));
        }
    }
    match decoder {
        Decoder::Undecided => {}
        Decoder::Http(http) => {
            http.feed(side, event, out);
            if let Some(unread) = http.not_http() {
                let mut turns = as_turns(http, out);
                if unread == http1::Unread::Pending {
                    turns.feed(side, event, out);
                }
                *decoder = Decoder::Turns(turns);
            }
        }
        Decoder::Tls(tls) => tls.feed(side, event, out),
        Decoder::Http2(http2) => http2.feed(side, event, out),
        Decoder::Redis(redis) => redis.feed(side, event, out),
        Decoder::Dns(dns) => dns.feed(side, event, out),
        Decoder::Turns(turns) => turns.feed(side, event, out),
    }
}

/// True when the 101 that switched the connection switched it to HTTP/2 (`Upgrade: h2c`). The
/// request that asked for it is then stream 1 (RFC 9113 §3.2): its response is HTTP/2's, not the
/// 101, which is left answering nothing.
fn upgrade_to_h2c(out: &mut Found<'_>) -> bool {
    let is_h2c = |upgrade: &Option<Text>| upgrade.as_deref().is_some_and(|u| u.eq_ignore_ascii_case("h2c"));
    // Asked on every segment of an upgraded connection (a websocket's too): the 101 is the last
    // HTTP message, so looking back stops at it.
    let switched = out
        .messages
        .iter()
        .rev()
        .find_map(|m| match &m.kind {
            MessageKind::Response(head) if head.status == 101 => Some(is_h2c(&head.upgrade)),
            _ => None,
        })
        .unwrap_or(false);
    if switched {
        if let Some(request) = out
            .messages
            .iter_mut()
            .rev()
            .find(|m| matches!(&m.kind, MessageKind::Request(head) if is_h2c(&head.upgrade)))
        {
            request.stream = Some(1);
        }
    }
    switched
}

/// HTTP was given up: what was read becomes the turns of the conversation.
fn as_turns(http: &mut http1::Http, out: &mut Found<'_>) -> turns::Turns {
    for message in out.messages.iter_mut() {
        message.kind = MessageKind::Turn;
        message.protocol = Protocol::Unknown;
        message.complete = true;
    }
    for side in Side::BOTH {
        if let Some((bytes, first)) = http.take_head(side).filter(|(bytes, _)| !bytes.is_empty()) {
            let mut turn = Message::starting(side, Protocol::Unknown, MessageKind::Turn, first);
            turn.bytes = bytes.len() as u64;
            turn.complete = true;
            out.push(turn);
        }
    }
    out.messages.sort_by_key(|message| message.first_frame);
    turns::Turns::default()
}
