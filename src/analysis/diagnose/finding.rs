//! What a finding is (the side it concerns, its frame, its words), and what every detector reads.

use serde::Serialize;

use crate::tcp::{Connection, Segment, TcpState};

/// Which side a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Client,
    Server,
}

impl Role {
    pub(super) fn of_side(side: usize) -> Self {
        if side == 0 {
            Self::Client
        } else {
            Self::Server
        }
    }
    /// "client" or "server".
    pub fn name(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Server => "server",
        }
    }
    pub(super) fn other(self) -> Self {
        match self {
            Self::Client => Self::Server,
            Self::Server => Self::Client,
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnosis {
    /// Stable snake_case code, e.g. `reset_by_peer`.
    pub code: &'static str,
    /// The side concerned, when there is one.
    pub side: Option<Role>,
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
    pub(super) before: Vec<[TcpState; 2]>,
}

impl<'a> Context<'a> {
    pub(super) fn new(connection: &'a Connection) -> Self {
        let mut before = Vec::with_capacity(connection.segments.len());
        let mut states = [TcpState::Unknown; 2];
        for segment in &connection.segments {
            before.push(states);
            states = segment.states();
        }
        Self { connection, before }
    }
    pub(super) fn segments(&self) -> impl Iterator<Item = (usize, &'a Segment)> {
        self.connection.segments.iter().enumerate()
    }
    pub(super) fn addr(&self, role: Role) -> String {
        let addr = if role == Role::Client { self.connection.client } else { self.connection.server };
        format!("the {} ({addr})", role.name())
    }
    pub(super) fn secs_since_start(&self, segment: &Segment) -> f64 {
        (segment.ts_nanos - self.connection.first_ts_nanos()) as f64 / 1e9
    }
}

pub(super) fn role_of(segment: &Segment) -> Role {
    Role::of_side(segment.dir.sender())
}
