//! A text ladder diagram for the terminal: two lifelines, one arrow per segment, each side's
//! state printed where it changes.

// Every `let _ = write!(…)` below writes into a String, which cannot fail: the fmt::Result is
// dropped for that reason alone.
use std::fmt::Write as _;

use crate::analysis::exchanges::ladder_notes;
use crate::analysis::{diagnose_with, zeek_summary};
use crate::protocols::Conversation;
use crate::tcp::{Connection, Direction, Segment, TcpState};
use crate::wire::{PerSide, Side};

use crate::ladder::label::{analysis_label, options_label, segment_label, Numbering};

const TIME_WIDTH: usize = 11;
const STATE_WIDTH: usize = 13;
const MIN_ARROW: usize = 44;
const MAX_ARROW: usize = 80;

/// Renders `connection` as a text ladder; final states are taken at `capture_end_nanos`. With its
/// `conversation`, each message's label and each request's wait are written at their arrows.
pub fn render_text_ladder(
    connection: &Connection,
    conversation: Option<&Conversation>,
    capture_end_nanos: i64,
    numbering: Numbering,
) -> String {
    let app = conversation.map(|c| ladder_notes(connection, c)).unwrap_or_default();
    let labels: Vec<String> = connection.segments.iter().map(|s| segment_label(connection, s, numbering)).collect();
    let widest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let arrow = (widest + 6).clamp(MIN_ARROW, MAX_ARROW);
    let mut out = String::new();
    header(&mut out, connection, arrow);
    let start = connection.first_ts_nanos();
    let mut previous = PerSide::new(TcpState::Unknown, TcpState::Unknown);
    let unconfirmed = connection.unconfirmed_receipts();
    for ((segment, label), index) in connection.segments.iter().zip(&labels).zip(0..) {
        let states = segment.states;
        let time = format!("{:.3}", (segment.ts_nanos - start) as f64 / 1e6);
        // A receipt nothing confirmed: "?" marks the state as assumed, not seen.
        let mark = |side: Side, name: &'static str| -> String {
            let assumed = unconfirmed[side] == Some(index) && segment.dir.receiver() == side && !name.is_empty();
            if assumed {
                format!("{name}?")
            } else {
                name.to_string()
            }
        };
        let left = mark(Side::Client, changed(previous.client, states.client, index == 0));
        let right = mark(Side::Server, changed(previous.server, states.server, index == 0));
        let _ =
            writeln!(out, "{time:>TIME_WIDTH$} {left:>STATE_WIDTH$} |{}| {right}", arrow_line(segment, label, arrow));
        let app_notes = app.get(&segment.frame).into_iter().flatten().cloned();
        for note in notes(connection, segment, numbering).into_iter().chain(app_notes) {
            let _ = writeln!(out, "{:>TIME_WIDTH$} {:>STATE_WIDTH$} |{}|", "", "", centered(&note, arrow));
        }
        previous = states;
    }
    let final_states = connection.reported_states_at(capture_end_nanos);
    let server_end = if connection.syn_unanswered() {
        format!("{} (no socket: SYN not answered)", final_states.server.name())
    } else {
        final_states.server.name().to_string()
    };
    let _ = writeln!(
        out,
        "{:>TIME_WIDTH$} {:>STATE_WIDTH$} |{}| {server_end}",
        "end",
        final_states.client.name(),
        " ".repeat(arrow),
    );
    let findings = diagnose_with(connection, conversation, capture_end_nanos);
    if !findings.is_empty() {
        out.push('\n');
        for finding in findings {
            let side = finding.side.map_or("-", |s| s.name());
            let _ = writeln!(out, "* {} ({side}, frame {}): {}", finding.code, finding.frame, finding.text);
        }
    }
    out
}

fn header(out: &mut String, connection: &Connection, arrow: usize) {
    let zeek = zeek_summary(connection);
    let duration_ms = (connection.last_ts_nanos() - connection.first_ts_nanos()) as f64 / 1e6;
    let _ = writeln!(
        out,
        "connection {}: {} → {}, {} segments, {duration_ms:.3} ms, conn_state {}, history {}",
        connection.id,
        connection.client,
        connection.server,
        connection.segments.len(),
        zeek.conn_state,
        zeek.history
    );
    let client = format!("client {}", connection.client);
    let server = format!("server {}", connection.server);
    let _ = writeln!(
        out,
        "{:>TIME_WIDTH$} {:>STATE_WIDTH$} {client}{}{server}",
        "time (ms)",
        "",
        " ".repeat((arrow + 2).saturating_sub(client.chars().count()).max(1))
    );
}

fn changed(previous: TcpState, now: TcpState, first: bool) -> &'static str {
    if first || previous != now {
        now.name()
    } else {
        ""
    }
}

fn arrow_line(segment: &Segment, label: &str, width: usize) -> String {
    let line = if segment.flags.rst() { '=' } else { '-' };
    let label = fit(label, width.saturating_sub(6));
    let fill = width.saturating_sub(label.chars().count() + 4);
    let dashes = |n: usize| line.to_string().repeat(n);
    match segment.dir {
        Direction::ClientToServer => format!("{} {label} {}>", dashes(1), dashes(fill)),
        Direction::ServerToClient => format!("<{} {label} {}", dashes(fill), dashes(1)),
    }
}

fn notes(connection: &Connection, segment: &Segment, numbering: Numbering) -> Vec<String> {
    let mut notes = Vec::new();
    if segment.flags.syn() {
        let options = options_label(connection, segment, numbering);
        if !options.is_empty() {
            notes.push(options);
        }
    }
    let analysis = analysis_label(segment);
    if !analysis.is_empty() {
        notes.push(format!("({analysis})"));
    }
    notes
}

fn centered(text: &str, width: usize) -> String {
    let text = fit(text, width.saturating_sub(2));
    let len = text.chars().count();
    let left = (width.saturating_sub(len)) / 2;
    format!("{}{text}{}", " ".repeat(left), " ".repeat(width.saturating_sub(len + left)))
}

fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}
