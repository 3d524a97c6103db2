//! DNS over TCP (RFC 1035 §4.2.2, RFC 7766): each message behind a two-byte length, read with
//! `hickory-proto`: a query's name and type, a response's code and answer count. Queries may be
//! pipelined and answered out of order, so each message carries its id and responses are paired
//! by it. A message longer than [`MAX_HEAD_BYTES`] (a zone transfer) is read by its header only.

use hickory_proto::op::{Header, Message as DnsMessage, MessageType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};

use crate::stream::StreamEvent;
use crate::wire::{PerSide, Side};

use super::found::Found;
use super::message::MAX_HEAD_BYTES;
use super::message::{Message, MessageKind, Protocol, RequestHead, ResponseHead};

/// The port DNS is served on; elsewhere, only a first segment holding exactly one well-formed
/// query is taken for DNS.
pub const PORT: u16 = 53;
const HEADER: usize = 12;

/// True when `bytes`, the client's first, start a DNS query: on port 53 a plausible header, on any
/// other port a whole query that parses (more may follow it).
pub fn starts_message(side: Side, server_port: u16, bytes: &[u8]) -> bool {
    let [l0, l1, rest @ ..] = bytes else { return false };
    let len = usize::from(u16::from_be_bytes([*l0, *l1]));
    // QR clear (a query), opcode QUERY (0) or NOTIFY/UPDATE (4, 5); one question.
    let plausible = side == Side::Client
        && len >= HEADER
        && matches!(rest, [_, _, flags, _, 0, 1, ..] if flags & 0x80 == 0 && matches!((flags >> 3) & 0xf, 0 | 4 | 5));
    if !plausible {
        return false;
    }
    server_port == PORT
        || rest.get(..len).is_some_and(|query| {
            DnsMessage::from_vec(query).is_ok_and(|m| m.metadata.message_type == MessageType::Query)
        })
}

/// Both directions of a DNS connection.
#[derive(Debug, Clone, Default)]
pub struct Dns {
    readers: PerSide<Messages>,
}

/// One direction's messages.
#[derive(Debug, Clone, Default)]
struct Messages {
    /// The length prefix being read.
    prefix: Vec<u8>,
    /// The length of the message being read, the bytes of it still to come, and those kept.
    len: usize,
    left: usize,
    kept: Vec<u8>,
    first: Option<(u32, i64)>,
    lost: bool,
}

impl Dns {
    pub(crate) fn feed(&mut self, side: Side, event: &StreamEvent<'_>, out: &mut Found<'_>) {
        let reader = &mut self.readers[side];
        // The length prefixes are lost with the bytes.
        if let Some((bytes, at)) = event.data_before_hole(&mut reader.lost) {
            reader.data(side, bytes, at, out);
        }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.readers.client.kept.capacity() + self.readers.server.kept.capacity()
    }
}

impl Messages {
    fn data(&mut self, side: Side, mut bytes: &[u8], at: (u32, i64), out: &mut Found<'_>) {
        while !bytes.is_empty() {
            if self.left == 0 {
                self.first.get_or_insert(at);
                let take = (2 - self.prefix.len()).min(bytes.len());
                self.prefix.extend_from_slice(bytes.get(..take).unwrap_or(bytes));
                bytes = bytes.get(take..).unwrap_or_default();
                if let [l0, l1] = *self.prefix {
                    self.left = usize::from(u16::from_be_bytes([l0, l1]));
                    self.len = self.left;
                    self.prefix.clear();
                    if self.left == 0 {
                        self.first = None;
                    }
                }
                continue;
            }
            let take = self.left.min(bytes.len());
            let room = MAX_HEAD_BYTES.saturating_sub(self.kept.len()).min(take);
            self.kept.extend_from_slice(bytes.get(..room).unwrap_or_default());
            bytes = bytes.get(take..).unwrap_or_default();
            self.left -= take;
            if self.left == 0 {
                let kept = std::mem::take(&mut self.kept);
                let first = self.first.take().unwrap_or(at);
                out.push(message(side, &kept, self.len, first, at));
                self.kept = kept;
                self.kept.clear();
            }
        }
    }
}

/// The message read: a query (type and name) or a response (its code, and how many answers).
fn message(side: Side, bytes: &[u8], len: usize, first: (u32, i64), at: (u32, i64)) -> Message {
    let header = Header::read(&mut BinDecoder::new(bytes)).ok();
    let parsed = DnsMessage::from_vec(bytes).ok();
    let is_query = header.map_or(side == Side::Client, |h| h.metadata.message_type == MessageType::Query);
    let kind = match (is_query, &parsed, header) {
        (true, _, _) => {
            let query = parsed.as_ref().and_then(|m| m.queries.first());
            MessageKind::Request(Box::new(RequestHead {
                method: query.map_or_else(|| "?".into(), |q| q.query_type().to_string().into()),
                target: query.map_or_else(Default::default, |q| q.name().to_ascii().trim_end_matches('.').into()),
                host: None,
                upgrade: None,
                forwarded_for: None,
            }))
        }
        (false, _, Some(header)) => {
            let code = u16::from(header.metadata.response_code);
            let answers = header.counts.answers;
            let plural = if answers == 1 { "" } else { "s" };
            MessageKind::Response(Box::new(ResponseHead {
                status: code,
                reason: format!("{} · {answers} answer{plural}", rcode_name(code)).into(),
                keep_alive_timeout: None,
                upgrade: None,
            }))
        }
        (false, _, None) => MessageKind::Turn,
    };
    let mut message = Message::starting(side, Protocol::Dns, kind, first);
    message.stream = header.map(|h| u32::from(h.metadata.id));
    message.head_ends_at(at);
    message.bytes = len as u64 + 2;
    message.complete = true;
    message
}

/// The response code as `dig` prints it.
fn rcode_name(code: u16) -> String {
    const NAMES: [&str; 11] = [
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH",
        "NOTZONE",
    ];
    NAMES.get(usize::from(code)).map_or_else(|| format!("RCODE{code}"), |name| (*name).to_string())
}

#[cfg(test)]
pub(crate) mod tests {
    use hickory_proto::op::{Message as DnsMessage, MessageType, OpCode, Query, ResponseCode};
    use hickory_proto::rr::{Name, RecordType};

    use crate::wire::Side;

    /// A DNS message behind its two-byte length, as TCP carries it.
    pub(crate) fn framed(id: u16, response: Option<ResponseCode>, name: &str, kind: RecordType) -> Vec<u8> {
        let message_type = if response.is_some() { MessageType::Response } else { MessageType::Query };
        let mut message = DnsMessage::new(id, message_type, OpCode::Query);
        message.add_query(Query::query(Name::from_ascii(name).expect("a name"), kind));
        if let Some(code) = response {
            message.metadata.response_code = code;
        }
        let bytes = message.to_vec().expect("the message encodes");
        [(bytes.len() as u16).to_be_bytes().to_vec(), bytes].concat()
    }

    #[test]
    fn off_port_53_only_a_whole_query_is_dns() {
        assert!(crate::protocols::dns::starts_message(Side::Client, 8053, &framed(1, None, "x.", RecordType::A)));
        let cut = framed(1, None, "x.", RecordType::A);
        assert!(!crate::protocols::dns::starts_message(Side::Client, 8053, &cut[..cut.len() - 1]));
        assert!(crate::protocols::dns::starts_message(Side::Client, crate::protocols::dns::PORT, &cut[..14]));
        assert!(!crate::protocols::dns::starts_message(
            Side::Client,
            crate::protocols::dns::PORT,
            b"\x00\x10GET / HTTP/1.1\r\n"
        ));
        assert!(!crate::protocols::dns::starts_message(Side::Server, crate::protocols::dns::PORT, &cut));
    }
}
