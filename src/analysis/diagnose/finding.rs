//! What a finding is (the side it concerns, its frame, its words), and what every detector reads.

use serde::Serialize;

use crate::tcp::{Connection, Segment, TcpState};
use crate::wire::{PerSide, Side};

/// What a finding is about: its stable snake_case name is what `conns --json`, the filter box and
/// the exports print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    MidStream,
    PortReuse,
    Refused,
    SynRetransmit,
    SynackRetransmit,
    ResetByPeer,
    BrokenPipe,
    RstIgnored,
    CloseWait,
    HalfClose,
    GracefulClose,
    TimeWait,
    ZeroWindow,
    Retransmissions,
    KeepAlive,
    RequestAbandoned,
    StaleKeepalive,
    TlsAlert,
    SlowResponse,
    Http2Goaway,
    Http2RstStream,
    AcceptBacklog,
}

impl Code {
    /// The stable snake_case name, e.g. `reset_by_peer`.
    pub fn name(self) -> &'static str {
        match self {
            Self::MidStream => "mid_stream",
            Self::PortReuse => "port_reuse",
            Self::Refused => "refused",
            Self::SynRetransmit => "syn_retransmit",
            Self::SynackRetransmit => "synack_retransmit",
            Self::ResetByPeer => "reset_by_peer",
            Self::BrokenPipe => "broken_pipe",
            Self::RstIgnored => "rst_ignored",
            Self::CloseWait => "close_wait",
            Self::HalfClose => "half_close",
            Self::GracefulClose => "graceful_close",
            Self::TimeWait => "time_wait",
            Self::ZeroWindow => "zero_window",
            Self::Retransmissions => "retransmissions",
            Self::KeepAlive => "keep_alive",
            Self::RequestAbandoned => "request_abandoned",
            Self::StaleKeepalive => "stale_keepalive",
            Self::TlsAlert => "tls_alert",
            Self::SlowResponse => "slow_response",
            Self::Http2Goaway => "http2_goaway",
            Self::Http2RstStream => "http2_rst_stream",
            Self::AcceptBacklog => "accept_backlog",
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnosis {
    pub code: Code,
    /// The side concerned, when there is one.
    pub side: Option<Side>,
    /// The frame (1-based, among all packets of the capture) that shows it.
    pub frame: u32,
    /// What happened and what it means, in words.
    pub text: String,
    /// The sentence of `text` that says what the application saw (the errno a call returned),
    /// when it is not in the first: the window's headline joins the two.
    #[serde(skip)]
    pub effect: Option<&'static str>,
}

impl Diagnosis {
    /// A finding about `side` (when it concerns one) shown by `frame`.
    pub fn new(code: Code, side: Option<Side>, frame: u32, text: String) -> Self {
        Self { code, side, frame, text, effect: None }
    }

    /// Marks `effect`, a sentence of the text, as what the application saw.
    pub fn showing(self, effect: &'static str) -> Self {
        Self { effect: Some(effect), ..self }
    }

    /// The first sentence of the text, and what the application saw when that is elsewhere.
    pub fn headline(&self) -> String {
        let first = self.text.split_inclusive(". ").next().unwrap_or(&self.text).trim();
        match self.effect {
            Some(effect) if !first.contains(effect) => format!("{first} {effect}"),
            _ => first.to_string(),
        }
    }
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
    /// The segments `side` sent that `keep` picks, in order.
    pub(super) fn sent_by(&self, side: Side, keep: impl Fn(&Segment) -> bool) -> Vec<&'a Segment> {
        self.connection.segments.iter().filter(|s| s.dir.sender() == side && keep(s)).collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_headline_joins_what_the_application_saw() {
        let effect = "The client's connect() fails with ECONNREFUSED.";
        let refused = Diagnosis::new(
            Code::Refused,
            Some(Side::Client),
            2,
            format!("The server answered the SYN with RST. {effect} More words."),
        )
        .showing(effect);
        assert_eq!(refused.headline(), format!("The server answered the SYN with RST. {effect}"));
        let plain = Diagnosis { effect: None, ..refused };
        assert_eq!(plain.headline(), "The server answered the SYN with RST.");
    }

    #[test]
    fn a_code_prints_as_it_serializes() {
        for code in [Code::ResetByPeer, Code::SynackRetransmit, Code::CloseWait] {
            assert_eq!(serde_json::to_string(&code).expect("a code serializes"), format!("\"{}\"", code.name()));
        }
    }
}
