//! How each side closed: who closed first, half-closes, CLOSE_WAIT left open, TIME_WAIT.

use super::finding::{capitalize, role_of, Code, Context, Diagnosis};
use crate::tcp::{AnalysisFlags, Connection, Segment, TcpState};

/// What CLOSE_WAIT sockets do and where their cause lies: said of a capture's connection and of
/// this machine's sockets alike.
pub const CLOSE_WAIT_PILE_UP: &str = "Such sockets pile up (count them with `ss -tan state close-wait`) until the \
     process closes them or exits: look for a missing close() on an error path or a pool that does not notice the \
     peer hung up.";

pub(super) fn closes(context: &Context<'_>, capture_end_nanos: i64, findings: &mut Vec<Diagnosis>) {
    let connection = context.connection;
    let fins: Vec<&Segment> = first_fins(connection);
    let reset = connection.segments.iter().any(|s| s.flags.rst() && !s.analysis.has(AnalysisFlags::RST_IGNORED));
    let final_states = connection.states_at(capture_end_nanos);
    for (side, state) in final_states.iter() {
        if *state != TcpState::CloseWait {
            continue;
        }
        let role = side;
        let Some(peer_fin) = fins.iter().find(|s| s.dir.receiver() == side) else {
            continue;
        };
        let waited = (capture_end_nanos - peer_fin.ts_nanos) as f64 / 1e9;
        findings.push(Diagnosis::new(
            Code::CloseWait,
            Some(role),
            peer_fin.frame,
            format!(
                "{} received the peer's FIN at frame {} and had not sent its own FIN {waited:.1} s later, at the \
                 end of the capture: it is stuck in CLOSE_WAIT because its application never called close() on \
                 the socket. {CLOSE_WAIT_PILE_UP}",
                context.addr(role),
                peer_fin.frame
            ),
        ));
    }
    if let (Some(first), false) = (fins.first(), reset) {
        if fins.len() == 2
            && final_states.into_array().iter().all(|s| matches!(s, TcpState::TimeWait | TcpState::Closed))
        {
            let closer = role_of(first);
            let simultaneous = connection.segments.iter().any(|s| s.states.into_array().contains(&TcpState::Closing));
            let how = if simultaneous {
                "Both sides closed at the same time (a simultaneous close: their FINs crossed, so both went \
                 FIN_WAIT_1 → CLOSING → TIME_WAIT)."
                    .to_string()
            } else {
                format!(
                    "{} closed first (active close: FIN_WAIT_1 → FIN_WAIT_2 → TIME_WAIT) and the {} answered with \
                     its own FIN (passive close: CLOSE_WAIT → LAST_ACK → CLOSED).",
                    context.addr(closer),
                    closer.other().name()
                )
            };
            let mut how = how;
            capitalize(&mut how);
            findings.push(Diagnosis::new(
                Code::GracefulClose,
                Some(closer),
                first.frame,
                format!("Closed gracefully with a FIN from each side and no reset. {how}"),
            ));
        }
        if let Some(half) = half_close(connection, first) {
            findings.push(Diagnosis::new(
                Code::HalfClose,
                Some(role_of(first)),
                first.frame,
                format!(
                    "{} shut down its sending side (a FIN, as shutdown(SHUT_WR) sends) and kept receiving: the \
                     {} sent {half} more bytes after that FIN. A FIN ends one direction only.",
                    context.addr(role_of(first)),
                    role_of(first).other().name()
                ),
            ));
        }
    }
    time_wait(context, capture_end_nanos, findings);
}

pub(super) fn first_fins(connection: &Connection) -> Vec<&Segment> {
    let mut fins: Vec<&Segment> = Vec::new();
    for segment in connection.segments.iter().filter(|s| s.flags.fin()) {
        if fins.iter().all(|f| f.dir != segment.dir) {
            fins.push(segment);
        }
    }
    fins
}

/// Payload bytes the peer sent after `fin`'s sender closed its direction, when more than none.
pub(super) fn half_close(connection: &Connection, fin: &Segment) -> Option<u64> {
    let bytes: u64 = connection
        .segments
        .iter()
        .filter(|s| {
            s.dir != fin.dir && s.ts_nanos > fin.ts_nanos && s.payload_len > 0 && !s.analysis.is_retransmission()
        })
        .map(|s| u64::from(s.payload_len))
        .sum();
    (bytes > 0).then_some(bytes)
}

fn time_wait(context: &Context<'_>, capture_end_nanos: i64, findings: &mut Vec<Diagnosis>) {
    let connection = context.connection;
    let (since, length) = connection.time_wait();
    for (side, since) in since.iter() {
        let Some(since) = *since else { continue };
        let Some(entered) =
            connection.segments.iter().find(|s| s.ts_nanos >= since && s.state(side) == TcpState::TimeWait)
        else {
            continue;
        };
        let role = side;
        let until = (since + length - connection.first_ts_nanos()) as f64 / 1e9;
        let over = if capture_end_nanos >= since + length {
            "It has ended"
        } else {
            "It was still running at the end of the capture"
        };
        findings.push(Diagnosis::new(
            Code::TimeWait,
            Some(role),
            entered.frame,
            format!(
                "{} closed actively, so it holds TIME_WAIT from {:.3} s until {until:.3} s (2×MSL = {} s, \
                 counted from the connection's start); meanwhile this port pair cannot start a new \
                 connection. {over}. TIME_WAIT is normal; thousands of them only mean many short \
                 connections closed by this side.",
                context.addr(role),
                context.secs_since_start(entered),
                length / 1_000_000_000
            ),
        ));
    }
}
