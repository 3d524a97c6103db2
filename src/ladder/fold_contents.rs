//! What a folded run of data segments holds of the conversation: the messages whose bytes ride in
//! it, so a fold reads "… · the rest of HTTP/1.1 200 OK · 1.2 MB" rather than a byte count alone.

use crate::protocols::{Message, MessageKind};
use crate::tcp::{Direction, Segment};

/// Messages named in one fold; beyond, they are counted.
const NAMED: usize = 2;

/// The messages carried by `segments[first..=last]` (a fold), in words, or `None` when they carry
/// none known.
pub fn fold_contents(segments: &[Segment], (first, last): (usize, usize), messages: &[Message]) -> Option<String> {
    let folded = segments.get(first..=last)?;
    let (first, last) = (folded.first()?.frame, folded.last()?.frame);
    let carries = |message: &Message| {
        let direction = Direction::sent_by(message.side);
        message.first_frame <= last
            && message.last_frame >= first
            && folded.iter().any(|s| {
                s.dir == direction && s.payload_len > 0 && (message.first_frame..=message.last_frame).contains(&s.frame)
            })
    };
    let held: Vec<&Message> = messages.iter().filter(|m| carries(m)).collect();
    let mut parts: Vec<String> = held
        .iter()
        .take(NAMED)
        .map(|message| {
            let label = match message.kind {
                // A turn's label is its size alone: say whose it is.
                MessageKind::Turn => format!("the {}'s {}", message.side.name(), message.label()),
                _ => message.label(),
            };
            if message.first_frame < first {
                format!("the rest of {label}")
            } else {
                label
            }
        })
        .collect();
    if held.len() > NAMED {
        parts.push(format!("and {} more messages", held.len() - NAMED));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::{MessageKind, Protocol};
    use crate::tcp::test_support::connection;
    use crate::tcp::test_support::flags::{A, P, S};
    use crate::wire::Side;

    #[test]
    fn a_fold_names_the_message_it_continues_and_those_it_holds() {
        let mut steps = vec![(true, S, 0, 0, 0, 0), (false, S | A, 0, 1, 0, 0), (true, A, 1, 1, 0, 0)];
        for i in 0..10u32 {
            steps.push((false, P | A, 1 + i * 100, 1, 100, 1));
        }
        let connection = connection(&steps);
        let frame = |index: usize| connection.segments[index].frame;
        let mut response =
            Message::starting(Side::Server, Protocol::Http11, MessageKind::response(200, "OK"), (frame(3), 0));
        response.last_frame = frame(7);
        response.bytes = 500;
        let mut second = Message::starting(Side::Server, Protocol::Unknown, MessageKind::Turn, (frame(8), 0));
        second.last_frame = frame(12);
        second.bytes = 500;
        let said = fold_contents(&connection.segments, (5, 10), &[response.clone(), second]);
        assert_eq!(said.as_deref(), Some("the rest of HTTP/1.1 200 OK · 500 bytes; the server's 500 bytes"));
        // A run before any message holds none.
        assert_eq!(fold_contents(&connection.segments, (0, 2), &[response]), None);
    }
}
