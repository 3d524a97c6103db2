//! TLS with `tls-parser`: the ClientHello (SNI, ALPN, the versions offered), the ServerHello (the
//! version and protocol chosen) and alerts sent in the clear are read; everything encrypted (after
//! ChangeCipherSpec, all of TLS 1.3 after the ServerHello) is only counted, in turns, which is
//! all a capture can say of it: an encrypted alert (TLS 1.3's close_notify) is not visible.

use tls_parser::{TlsExtension, TlsMessage, TlsMessageHandshake, TlsVersion};

use crate::stream::StreamEvent;
use crate::wire::{PerSide, Side};

use super::found::Found;
use super::message::{Message, MessageKind, Protocol, TlsHead, TlsWhat};

const HANDSHAKE: u8 = 22;
const ALERT: u8 = 21;
const CHANGE_CIPHER_SPEC: u8 = 20;
const RECORD_HEADER: usize = 5;
/// The largest record (2^14 bytes of plaintext and what encryption may add).
const MAX_RECORD: usize = RECORD_HEADER + (1 << 14) + 2048;

/// True when `bytes` start a TLS handshake record (SSL 3.0 to TLS 1.3 all write 3.x here).
pub fn starts_message(bytes: &[u8]) -> bool {
    matches!(bytes, [HANDSHAKE, 3, minor, ..] if *minor <= 4)
}

/// Both directions of a TLS connection.
#[derive(Debug, Clone, Default)]
pub struct Tls {
    readers: PerSide<Records>,
}

/// One direction's records.
#[derive(Debug, Clone, Default)]
struct Records {
    /// Bytes of a record being read whole (a handshake or alert in the clear).
    buffer: Vec<u8>,
    first: Option<(u32, i64)>,
    /// Bytes left of a record being counted, not read.
    skipping: u64,
    /// After ChangeCipherSpec, or a hole: records are only counted.
    opaque: bool,
}

impl Tls {
    pub(crate) fn feed(&mut self, side: Side, event: &StreamEvent<'_>, out: &mut Found<'_>) {
        let reader = &mut self.readers[side];
        match *event {
            StreamEvent::Hole { len, .. } => {
                // Record boundaries are lost with the bytes: count from here on.
                reader.opaque = true;
                reader.buffer.clear();
                count(side, len, None, out, true);
            }
            StreamEvent::Data { frame, ts_nanos, bytes, .. } => reader.data(side, bytes, (frame, ts_nanos), out),
        }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.readers.client.buffer.capacity() + self.readers.server.buffer.capacity()
    }
}

impl Records {
    fn data(&mut self, side: Side, mut bytes: &[u8], at: (u32, i64), out: &mut Found<'_>) {
        while !bytes.is_empty() {
            if self.skipping > 0 || self.opaque {
                let take = if self.opaque { bytes.len() } else { (self.skipping as usize).min(bytes.len()) };
                self.skipping -= (take as u64).min(self.skipping);
                count(side, take as u64, Some(at), out, false);
                bytes = bytes.get(take..).unwrap_or_default();
                continue;
            }
            if self.buffer.is_empty() {
                self.first = Some(at);
            }
            let wanted = record_len(&self.buffer, bytes);
            let take = wanted.map_or(RECORD_HEADER, |len| len.min(MAX_RECORD)).saturating_sub(self.buffer.len());
            let take = take.min(bytes.len());
            self.buffer.extend_from_slice(bytes.get(..take).unwrap_or(bytes));
            bytes = bytes.get(take..).unwrap_or_default();
            let Some(total) = record_len(&self.buffer, &[]) else { continue };
            let kind = self.buffer.first().copied().unwrap_or_default();
            let readable = matches!(kind, HANDSHAKE | ALERT | CHANGE_CIPHER_SPEC) && total <= MAX_RECORD;
            if !readable {
                // Application data, or a record too large to be a handshake: counted, not kept.
                let held = self.buffer.len() as u64;
                self.skipping = total as u64 - held.min(total as u64);
                self.buffer.clear();
                count(side, held, Some(at), out, false);
                continue;
            }
            if self.buffer.len() < total {
                continue;
            }
            let record = std::mem::take(&mut self.buffer);
            let first = self.first.take().unwrap_or(at);
            if kind == CHANGE_CIPHER_SPEC {
                self.opaque = true;
            }
            read_record(side, &record, first, at, out);
        }
    }
}

/// The whole length of the record that `held` (then `more`) begins, once its header is known.
fn record_len(held: &[u8], more: &[u8]) -> Option<usize> {
    let mut header = held.iter().chain(more).take(RECORD_HEADER).copied();
    let (_, _, _, high, low) = (header.next()?, header.next()?, header.next()?, header.next()?, header.next()?);
    Some(RECORD_HEADER + usize::from(u16::from_be_bytes([high, low])))
}

/// Counts encrypted (or unreadable) bytes into `side`'s current turn.
fn count(side: Side, len: u64, at: Option<(u32, i64)>, out: &mut Found<'_>, gap: bool) {
    let continues = out.last_of(side).is_some_and(|m| m.kind == MessageKind::Turn);
    match (continues, at) {
        (true, _) | (false, None) => {
            if let Some(turn) = out.last_of(side).filter(|m| m.kind == MessageKind::Turn) {
                turn.bytes += len;
                turn.gaps |= gap;
                if let Some(at) = at {
                    turn.head_ends_at(at);
                }
            }
        }
        (false, Some(at)) => {
            let mut turn = Message::starting(side, Protocol::Tls, MessageKind::Turn, at);
            turn.bytes = len;
            turn.complete = true;
            out.push(turn);
        }
    }
}

fn read_record(side: Side, record: &[u8], first: (u32, i64), last: (u32, i64), out: &mut Found<'_>) {
    let Ok((_, plaintext)) = tls_parser::parse_tls_plaintext(record) else {
        count(side, record.len() as u64, Some(first), out, false);
        return;
    };
    for message in &plaintext.msg {
        let head = match message {
            TlsMessage::Handshake(TlsMessageHandshake::ClientHello(hello)) => {
                let mut head = TlsHead::new(TlsWhat::ClientHello);
                head.version = Some(version_name(hello.version));
                extensions_into(&mut head, hello.ext);
                head
            }
            TlsMessage::Handshake(TlsMessageHandshake::ServerHello(hello)) => {
                let mut head = TlsHead::new(TlsWhat::ServerHello);
                head.version = Some(version_name(hello.version));
                extensions_into(&mut head, hello.ext);
                head
            }
            TlsMessage::Alert(alert) => {
                let level = if alert.severity.0 == 2 { "fatal" } else { "warning" };
                TlsHead::new(TlsWhat::Alert {
                    fatal: alert.severity.0 == 2,
                    description: format!("{level} {}", snake_case(&alert.code.to_string())),
                })
            }
            // Certificates, key exchanges and Finished in TLS 1.2 belong to the hello they follow.
            _ => continue,
        };
        let mut message = Message::starting(side, Protocol::Tls, MessageKind::Tls(Box::new(head)), first);
        message.head_ends_at(last);
        message.bytes = record.len() as u64;
        message.complete = true;
        out.push(message);
    }
}

/// SNI, ALPN, and the version TLS 1.3 negotiates in `supported_versions`.
fn extensions_into(head: &mut TlsHead, bytes: Option<&[u8]>) {
    let Some(Ok((_, extensions))) = bytes.map(tls_parser::parse_tls_extensions) else { return };
    for extension in extensions {
        match extension {
            TlsExtension::SNI(names) => {
                head.sni = names.first().map(|(_, name)| String::from_utf8_lossy(name).into_owned());
            }
            TlsExtension::ALPN(protocols) => {
                head.alpn = protocols.iter().map(|p| String::from_utf8_lossy(p).into_owned()).collect();
            }
            TlsExtension::SupportedVersions(versions) if head.what == TlsWhat::ServerHello => {
                if let Some(version) = versions.first() {
                    head.version = Some(version_name(*version));
                }
            }
            _ => {}
        }
    }
}

fn version_name(version: TlsVersion) -> String {
    match version.0 {
        0x0300 => "SSL 3.0".into(),
        0x0301 => "TLS 1.0".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        other => format!("0x{other:04x}"),
    }
}

/// `ProtocolVersion` → `protocol_version`: the RFC's names for alerts.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}
