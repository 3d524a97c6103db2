//! Where decoders put the messages they find: bounded, and for a summary, forgetting the oldest
//! exchanges (their waits counted in [`Waits`]).

use crate::wire::Side;

use super::message::{Message, MAX_MESSAGES};
use super::waits::Waits;

/// How many messages past its limit a summarising conversation lets in before it forgets.
const RECENT_SLACK: usize = 2;

/// Where decoders put what they find, bounded.
pub(crate) struct Found<'a> {
    pub(crate) messages: &'a mut Vec<Message>,
    pub(crate) dropped: &'a mut u64,
    /// Keep only this many of the latest messages (whole exchanges go), or all up to
    /// [`MAX_MESSAGES`].
    pub(crate) recent: Option<usize>,
    /// Where forgotten exchanges' waits are counted.
    pub(crate) forgotten: &'a mut Option<Box<Waits>>,
}

impl Found<'_> {
    pub(crate) fn push(&mut self, message: Message) {
        if self.messages.len() >= MAX_MESSAGES {
            *self.dropped += 1;
            return;
        }
        self.messages.push(message);
        // A few beyond the limit are let in so that forgetting, which moves what is kept, runs
        // once every few messages rather than on each.
        if let Some(limit) = self.recent {
            if self.messages.len() > limit + RECENT_SLACK {
                while self.messages.len() > limit.max(2) {
                    *self.dropped += forget_oldest_exchange(self.messages, self.forgotten);
                }
            }
        }
    }

    /// The message being read by `side`, if it is the last one found.
    pub(crate) fn last_of(&mut self, side: Side) -> Option<&mut Message> {
        self.messages.last_mut().filter(|message| message.side == side)
    }

    /// The last message `side` started on `stream` (an HTTP/2 stream, a DNS id).
    pub(crate) fn latest_on_stream(&mut self, side: Side, stream: u32) -> Option<&mut Message> {
        self.messages.iter_mut().rev().find(|message| message.side == side && message.stream == Some(stream))
    }

    /// The last message `side` started, wherever it is.
    pub(crate) fn latest_of(&mut self, side: Side) -> Option<&mut Message> {
        self.messages.iter_mut().rev().find(|message| message.side == side)
    }
}

/// Forgets the oldest request with its response (the first answer after it), or the oldest
/// message when it answers nothing kept; returns how many messages went. Pairing stays right:
/// responses answer requests in order.
fn forget_oldest_exchange(messages: &mut Vec<Message>, forgotten: &mut Option<Box<Waits>>) -> u64 {
    if messages.first().is_some_and(Message::is_request) {
        let answer = messages.first().and_then(|request| messages.iter().skip(1).position(|m| request.answered_by(m)));
        let pair = match answer {
            // The common case, a request and its answer side by side: one move of what stays.
            Some(0) => {
                let mut pair = messages.drain(..2);
                pair.next().zip(pair.next())
            }
            Some(at) => {
                let response = messages.remove(at + 1);
                Some((messages.remove(0), response))
            }
            None => None,
        };
        if let Some((request, response)) = pair {
            // Only the protocols whose waits are diagnosed are counted: the others' turns would
            // cost every long connection a histogram for nothing.
            if request.protocol.is_waited_on() {
                forgotten.get_or_insert_with(Box::default).forget(request, response);
            }
            return 2;
        }
    }
    if messages.is_empty() {
        return 0;
    }
    messages.remove(0);
    1
}
