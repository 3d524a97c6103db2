//! What a finding is (the side it concerns, its frame, its words), and what every detector reads.

use serde::Serialize;

use crate::tcp::{Connection, Segment, TcpState};
use crate::wire::{PerSide, Side};

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnosis {
    /// Stable snake_case code, e.g. `reset_by_peer`.
    pub code: &'static str,
    /// The side concerned, when there is one.
    pub side: Option<Side>,
    /// The frame (1-based, among all packets of the capture) that shows it.
    pub frame: u32,
    /// What happened and what it means, in words.
    pub text: String,
}

pub(super) fn capitalize(text: &mut String) {
    if let Some(first) = text.get(..1) {
        let upper = first.to_ascii_uppercase();
        text.replace_range(..1, &upper);
    }
}

pub(super) struct Context<'a> {
    pub(super) connection: &'a Connection,
    /// Both sides' states before each segment.
    pub(super) before: Vec<PerSide<TcpState>>,
}

impl<'a> Context<'a> {
    pub(super) fn new(connection: &'a Connection) -> Self {
        let mut before = Vec::with_capacity(connection.segments.len());
        let mut states = PerSide::new(TcpState::Unknown, TcpState::Unknown);
        for segment in &connection.segments {
            before.push(states);
            states = segment.states;
        }
        Self { connection, before }
    }
    pub(super) fn segments(&self) -> impl Iterator<Item = (usize, &'a Segment)> {
        self.connection.segments.iter().enumerate()
    }
    pub(super) fn addr(&self, role: Side) -> String {
        let addr = if role == Side::Client { self.connection.client } else { self.connection.server };
        format!("the {} ({addr})", role.name())
    }
    pub(super) fn secs_since_start(&self, segment: &Segment) -> f64 {
        (segment.ts_nanos - self.connection.first_ts_nanos()) as f64 / 1e9
    }
}

pub(super) fn role_of(segment: &Segment) -> Side {
    segment.dir.sender()
}
