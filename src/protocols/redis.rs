//! Redis's RESP: commands (arrays of bulk strings, or inline) and replies (simple strings,
//! errors, integers, bulk strings, arrays), read as they stream, bulk payloads counted and not kept
//! beyond the first bytes of a command's name and key.

use crate::stream::StreamEvent;
use crate::wire::{PerSide, Side};

use super::found::Found;
use super::message::{Message, MessageKind, Protocol};

/// A RESP line longer than this is not RESP.
const MAX_LINE: usize = 1_024;
/// Bytes of a command's name or key kept for its label.
const MAX_WORD: usize = 64;
/// Arrays nested deeper than this are not followed.
const MAX_DEPTH: usize = 16;

/// True when `bytes`, sent by the client, start a RESP command array (`*2\r\n$3\r\nGET…`).
pub fn starts_message(side: Side, bytes: &[u8]) -> bool {
    side == Side::Client && matches!(bytes, [b'*', b'1'..=b'9', ..])
}

/// Both directions of a Redis connection.
#[derive(Debug, Clone, Default)]
pub struct Redis {
    readers: PerSide<Values>,
}

/// One direction's values.
#[derive(Debug, Clone, Default)]
struct Values {
    line: Vec<u8>,
    /// Bytes of a bulk string (and its CRLF) left to read.
    skip: u64,
    /// Whether the bulk being read is a word of the command's label, kept up to [`MAX_WORD`].
    keeping: bool,
    /// Elements left in each open array, outermost first.
    open: Vec<u32>,
    /// The message being read: its first frame, the words kept, the reply's text.
    first: Option<(u32, i64)>,
    words: Vec<String>,
    reply: Option<String>,
    bytes: u64,
    lost: bool,
}

impl Redis {
    pub(crate) fn feed(&mut self, side: Side, event: &StreamEvent<'_>, out: &mut Found<'_>) {
        let values = &mut self.readers[side];
        // Value boundaries are lost with the bytes: the rest of this side is not read.
        if let Some((bytes, at)) = event.data_before_hole(&mut values.lost) {
            values.data(side, bytes, at, out);
        }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        let of = |v: &Values| v.line.capacity() + v.words.iter().map(String::capacity).sum::<usize>();
        of(&self.readers.client) + of(&self.readers.server)
    }
}

impl Values {
    fn data(&mut self, side: Side, mut bytes: &[u8], at: (u32, i64), out: &mut Found<'_>) {
        while !bytes.is_empty() && !self.lost {
            self.first.get_or_insert(at);
            if self.skip > 0 {
                let take = (self.skip as usize).min(bytes.len());
                if self.keeping {
                    // The CRLF after the payload is skipped too; keep only the payload's start.
                    let payload = bytes.get(..take.min(self.skip.saturating_sub(2) as usize)).unwrap_or_default();
                    if let Some(word) = self.words.last_mut() {
                        let room = MAX_WORD.saturating_sub(word.len());
                        word.push_str(&String::from_utf8_lossy(
                            payload.get(..room.min(payload.len())).unwrap_or_default(),
                        ));
                    }
                }
                self.skip -= take as u64;
                self.bytes += take as u64;
                bytes = bytes.get(take..).unwrap_or_default();
                if self.skip == 0 {
                    self.keeping = false;
                    self.element_done(side, at, out);
                }
                continue;
            }
            let newline = bytes.iter().position(|&b| b == b'\n');
            let take = newline.map_or(bytes.len(), |at| at + 1);
            self.line.extend_from_slice(bytes.get(..take).unwrap_or(bytes));
            self.bytes += take as u64;
            bytes = bytes.get(take..).unwrap_or_default();
            if self.line.len() > MAX_LINE {
                self.lost = true;
                return;
            }
            if newline.is_some() {
                let line = std::mem::take(&mut self.line);
                self.value_line(side, &line, at, out);
            }
        }
    }

    /// A value's first line: its type and, for arrays and bulk strings, what follows.
    fn value_line(&mut self, side: Side, line: &[u8], at: (u32, i64), out: &mut Found<'_>) {
        let text = String::from_utf8_lossy(line.strip_suffix(b"\r\n").or(line.strip_suffix(b"\n")).unwrap_or(line));
        let number = || text.get(1..).and_then(|n| n.parse::<i64>().ok());
        let top = self.open.is_empty();
        match text.as_bytes().first() {
            Some(b'*') => match number() {
                Some(count) if count > 0 && self.open.len() < MAX_DEPTH => {
                    if top && side == Side::Server {
                        self.reply = Some(format!("array of {count}"));
                    }
                    self.open.push(u32::try_from(count).unwrap_or(u32::MAX));
                }
                Some(_) => {
                    if top {
                        self.reply = Some("(empty array)".into());
                    }
                    self.element_done(side, at, out);
                }
                None => self.lost = true,
            },
            Some(b'$') => match number() {
                Some(len) if len >= 0 => {
                    if top && side == Side::Server {
                        self.reply = Some(format!("bulk of {len} bytes"));
                    }
                    // The command's name and its key name the message.
                    self.keeping = side == Side::Client && self.open.len() == 1 && self.words.len() < 2;
                    if self.keeping {
                        self.words.push(String::new());
                    }
                    self.skip = u64::try_from(len).unwrap_or(0) + 2;
                }
                Some(_) => {
                    if top {
                        self.reply = Some("(nil)".into());
                    }
                    self.element_done(side, at, out);
                }
                None => self.lost = true,
            },
            Some(b'+' | b'-' | b':') => {
                if top {
                    self.reply = Some(text.chars().take(MAX_WORD).collect());
                }
                self.element_done(side, at, out);
            }
            _ if side == Side::Client && top => {
                // An inline command: words separated by spaces.
                self.words = text.split_whitespace().take(2).map(|w| w.chars().take(MAX_WORD).collect()).collect();
                self.element_done(side, at, out);
            }
            _ => self.lost = true,
        }
    }

    /// One value ended: close the arrays it completes, and the message when none is open.
    fn element_done(&mut self, side: Side, (frame, ts_nanos): (u32, i64), out: &mut Found<'_>) {
        while let Some(left) = self.open.last_mut() {
            *left = left.saturating_sub(1);
            if *left > 0 {
                return;
            }
            self.open.pop();
        }
        let first = self.first.take().unwrap_or((frame, ts_nanos));
        let kind = match side {
            Side::Client => {
                let mut words = std::mem::take(&mut self.words).into_iter();
                let name = words.next().unwrap_or_default().to_ascii_uppercase();
                MessageKind::command(name, words.next())
            }
            Side::Server => MessageKind::reply(self.reply.take().unwrap_or_default()),
        };
        let mut message = Message::starting(side, Protocol::Redis, kind, first);
        message.head_ends_at((frame, ts_nanos));
        message.bytes = std::mem::take(&mut self.bytes);
        message.complete = true;
        out.push(message);
    }
}
