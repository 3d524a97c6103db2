//! "Predict first": before a segment that changes a side's state is shown, the student is asked
//! what that state will be, from three choices, then shown the answer and why.

use crate::tcp::{Connection, TcpState};
use crate::wire::Side;

use super::explain::explain_change;

/// A question asked before segment `index` is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub index: usize,
    pub side: Side,
    /// What is asked, naming the segment and the side.
    pub prompt: String,
    /// Three states, in the state machine's order (never the answer always first).
    pub choices: [TcpState; 3],
    pub answer: TcpState,
    /// Why the state moved: the Details panel's sentence.
    pub explanation: String,
}

/// The question for segment `index`, when it changes a side's state (the side that sent it,
/// else the receiver); `None` for a segment that changes nothing.
pub fn question_at(connection: &Connection, index: usize) -> Option<Question> {
    let segment = connection.segments.get(index)?;
    let sender = segment.dir.sender();
    let before = |side: Side| {
        index.checked_sub(1).and_then(|i| connection.segments.get(i)).map_or(TcpState::Unknown, |s| s.state(side))
    };
    let side = [sender, sender.other()].into_iter().find(|&side| {
        let after = segment.state(side);
        after != before(side) && after != TcpState::Unknown
    })?;
    let answer = segment.state(side);
    let old = before(side);
    let explanation = explain_change(connection, index, side)?;
    let confusable = confusable_with(answer)
        .iter()
        .copied()
        .find(|state| *state != answer && *state != old)
        .unwrap_or(TcpState::Closed);
    // "It stays as it was" is the natural wrong answer; a state that is not one yet is shown
    // as another confusable one.
    // Before its first segment a socket is CLOSED, as the textbook's diagram starts.
    let old = if old == TcpState::Unknown { TcpState::Closed } else { old };
    let stays = if old == answer || old == confusable {
        confusable_with(confusable).iter().copied().find(|s| *s != answer && *s != confusable)
    } else {
        Some(old)
    };
    let mut choices = [answer, confusable, stays.unwrap_or(TcpState::Established)];
    choices.sort_by_key(|state| *state as u8);
    let verb = if side == sender { "sends" } else { "receives" };
    let what = describe_flags(connection, index);
    let prompt = format!("The {} {verb} {what}. What is the {}'s state next?", side.name(), side.name());
    Some(Question { index, side, prompt, choices, answer, explanation })
}

/// The segments of `connection` that get a question, in order.
pub fn question_indices(connection: &Connection) -> Vec<usize> {
    (0..connection.segments.len()).filter(|&index| question_at(connection, index).is_some()).collect()
}

/// The states a student confuses `state` with, most likely first.
fn confusable_with(state: TcpState) -> &'static [TcpState] {
    use TcpState::*;
    match state {
        Listen => &[Closed, SynReceived],
        SynSent => &[SynReceived, Established],
        SynReceived => &[Established, SynSent],
        Established => &[SynReceived, SynSent, CloseWait],
        FinWait1 => &[CloseWait, FinWait2],
        FinWait2 => &[TimeWait, Closing],
        CloseWait => &[FinWait1, LastAck],
        Closing => &[TimeWait, FinWait2],
        LastAck => &[TimeWait, Closed],
        TimeWait => &[Closed, FinWait2],
        Closed => &[TimeWait, CloseWait],
        Unknown => &[Closed, Established],
    }
}

/// "a SYN", "a FIN-ACK", "a RST": the segment as the question names it.
fn describe_flags(connection: &Connection, index: usize) -> String {
    let Some(segment) = connection.segments.get(index) else { return String::new() };
    let flags = segment.flags;
    let name = match (flags.syn(), flags.fin(), flags.rst(), flags.ack()) {
        (_, _, true, _) => "a RST",
        (true, _, _, true) => "a SYN-ACK",
        (true, _, _, false) => "a SYN",
        (_, true, _, _) => "a FIN",
        _ if segment.payload_len > 0 => "data",
        _ => "an ACK",
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::read_capture;
    use crate::EngineConfig;

    fn connection_of(sample: &str) -> Connection {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-captures").join(sample);
        let outcome = read_capture(&path, EngineConfig::default(), 1 << 20, |_, _| std::ops::ControlFlow::Continue(()))
            .unwrap_or_else(|err| panic!("{err}"));
        outcome.engine.connections()[0].clone()
    }

    #[test]
    fn a_handshake_and_close_ask_at_each_state_change_with_the_answer_among_three() {
        let connection = connection_of("handshake-client-close.pcap");
        let questions: Vec<Question> =
            question_indices(&connection).iter().filter_map(|&i| question_at(&connection, i)).collect();
        let first = &questions[0];
        assert_eq!((first.index, first.side, first.answer), (0, Side::Client, TcpState::SynSent));
        assert!(first.prompt.starts_with("The client sends a SYN."), "{}", first.prompt);
        let second = &questions[1];
        assert_eq!((second.side, second.answer), (Side::Server, TcpState::SynReceived));
        for question in &questions {
            assert!(question.choices.contains(&question.answer), "{question:?}");
            let mut distinct = question.choices.to_vec();
            distinct.dedup();
            assert_eq!(distinct.len(), 3, "{question:?}");
            assert!(!question.explanation.is_empty());
        }
        // Not always the first choice: a student could not learn the position instead.
        assert!(questions.iter().any(|q| q.choices[0] != q.answer));
    }
}
