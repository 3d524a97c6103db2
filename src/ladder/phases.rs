//! The phases of a connection's life, bracketed beside the ladder and named as a person would
//! say them: "three-way handshake", "SYN retried: no answer", "connection refused", "data
//! transfer", "server closes first", "teardown (reset)".

use std::ops::Range;

use crate::tcp::{Segment, TcpState};
use crate::wire::{PerSide, Side};

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Teardown {
    /// This side closed first, the other followed.
    FourWay(Side),
    /// Both FINs crossed (CLOSING on a side).
    Simultaneous,
    /// A RST ended it.
    Reset,
}

/// How an opening that never reached ESTABLISHED on both sides went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    /// The SYN was sent again and again: nothing answered.
    Unanswered,
    /// A RST answered: nothing listened.
    Refused,
    /// The capture shows no more.
    Incomplete,
}

/// The phases of a connection's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Handshake,
    /// An opening that did not complete: the whole short story of the connection.
    Opening(Opening),
    DataTransfer,
    Teardown(Teardown),
}

impl Phase {
    /// A name for brackets too short for [`Phase::name`].
    pub fn short_name(self) -> &'static str {
        match self {
            Self::Handshake => "handshake",
            Self::Opening(Opening::Unanswered) => "no answer",
            Self::Opening(Opening::Refused) => "refused",
            Self::Opening(Opening::Incomplete) => "opening",
            Self::DataTransfer => "data",
            Self::Teardown(Teardown::Reset) => "reset",
            Self::Teardown(_) => "close",
        }
    }

    /// The name shown beside the bracket.
    pub fn name(self) -> &'static str {
        match self {
            Self::Handshake => "three-way handshake",
            Self::Opening(Opening::Unanswered) => "SYN retried: no answer",
            Self::Opening(Opening::Refused) => "connection refused",
            Self::Opening(Opening::Incomplete) => "handshake not completed",
            Self::DataTransfer => "data transfer",
            Self::Teardown(Teardown::FourWay(Side::Client)) => "client closes first",
            Self::Teardown(Teardown::FourWay(Side::Server)) => "server closes first",
            Self::Teardown(Teardown::Simultaneous) => "simultaneous close",
            Self::Teardown(Teardown::Reset) => "teardown (reset)",
        }
    }

    /// The state whose colour the bracket takes: the phase's own.
    pub fn state(self) -> TcpState {
        match self {
            Self::Handshake | Self::Opening(Opening::Incomplete) => TcpState::SynSent,
            Self::Opening(_) | Self::Teardown(Teardown::Reset) => TcpState::Closed,
            Self::DataTransfer => TcpState::Established,
            Self::Teardown(_) => TcpState::FinWait1,
        }
    }
}

/// A phase spanning rows `rows` (inclusive start, exclusive end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseSpan {
    pub phase: Phase,
    pub rows: Range<usize>,
}

/// The phases of `segments`, laid out on `segment_rows` (each segment's row) of `row_count`.
pub(super) fn phases(segments: &[Segment], segment_rows: &[u32], row_count: usize) -> Vec<PhaseSpan> {
    let row = |index: usize| segment_rows.get(index).map_or(0, |&r| r as usize);
    let established =
        segments.iter().position(|s| s.states == PerSide::new(TcpState::Established, TcpState::Established));
    let opens = segments.first().is_some_and(|s| s.flags.syn());
    if let (None, true) = (established, opens) {
        // Never established: one bracket tells the whole story.
        let syns = segments.iter().filter(|s| s.flags.syn() && !s.flags.ack()).count();
        let fate = if segments.iter().any(|s| s.flags.rst()) {
            Opening::Refused
        } else if syns > 1 && !segments.iter().any(|s| s.flags.syn() && s.flags.ack()) {
            Opening::Unanswered
        } else {
            Opening::Incomplete
        };
        return vec![PhaseSpan { phase: Phase::Opening(fate), rows: 0..row_count }];
    }
    let closing = segments.iter().position(|s| s.flags.fin() || s.flags.rst());
    let mut spans = Vec::new();
    let data_start = match established {
        Some(at) if opens => {
            spans.push(PhaseSpan { phase: Phase::Handshake, rows: 0..row(at) + 1 });
            row(at) + 1
        }
        _ => 0,
    };
    let teardown_start = closing.map(row).unwrap_or(row_count).max(data_start);
    if teardown_start > data_start {
        spans.push(PhaseSpan { phase: Phase::DataTransfer, rows: data_start..teardown_start });
    }
    if let Some(first) = closing {
        let kind = if segments.iter().skip(first).any(|s| s.flags.rst()) {
            Teardown::Reset
        } else if segments
            .iter()
            .any(|s| s.states.into_array().contains(&TcpState::Closing) || s.via.client == Some(TcpState::Closing))
        {
            Teardown::Simultaneous
        } else {
            Teardown::FourWay(segments.get(first).map_or(Side::Client, |s| s.dir.sender()))
        };
        spans.push(PhaseSpan { phase: Phase::Teardown(kind), rows: teardown_start..row_count });
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::test_support::connection;
    use crate::tcp::test_support::flags::{A, F, R, S};

    fn names(steps: &[crate::tcp::test_support::Step]) -> Vec<&'static str> {
        let connection = connection(steps);
        let rows: Vec<u32> = (0..connection.segments.len() as u32).collect();
        phases(&connection.segments, &rows, rows.len()).iter().map(|span| span.phase.name()).collect()
    }

    #[test]
    fn an_opening_that_fails_is_one_bracket_named_for_how_it_failed() {
        assert_eq!(names(&[(true, S, 0, 0, 0, 0), (false, R | A, 0, 1, 0, 0)]), ["connection refused"]);
        let retried = [(true, S, 0, 0, 0, 0), (true, S, 0, 0, 0, 1_000), (true, S, 0, 0, 0, 3_000)];
        assert_eq!(names(&retried), ["SYN retried: no answer"]);
    }

    #[test]
    fn a_close_is_named_for_who_closed_first() {
        let steps = [
            (true, S, 0, 0, 0, 0),
            (false, S | A, 0, 1, 0, 0),
            (true, A, 1, 1, 0, 0),
            (false, F | A, 1, 1, 0, 1),
            (true, F | A, 1, 2, 0, 1),
            (false, A, 2, 2, 0, 1),
        ];
        assert_eq!(names(&steps), ["three-way handshake", "server closes first"]);
    }
}
