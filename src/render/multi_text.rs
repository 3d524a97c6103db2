//! A text ladder of several connections for the terminal: a column per socket, each arrow drawn
//! between its two sockets' columns with its connection's id, and the states where they change.

// Every `let _ = write!(…)` below writes into a String, which cannot fail.
use std::fmt::Write as _;

use crate::ladder::label::{elide, segment_label, Numbering};
use crate::ladder::multi::{MultiLayout, MultiRowKind};
use crate::tcp::Connection;

const TIME_WIDTH: usize = 11;
const MIN_LANE: usize = 44;

/// Renders `connections` on one text ladder laid out as `layout` (of the same connections, in
/// the same order); `story` is what the chain's diagnosis says.
pub fn render_multi_text_ladder(
    connections: &[&Connection],
    layout: &MultiLayout,
    capture_end_nanos: i64,
    numbering: Numbering,
    story: &[String],
) -> String {
    let lane_width =
        layout.lanes.iter().map(|l| l.socket.to_string().chars().count() + 4).max().unwrap_or(0).max(MIN_LANE);
    let columns = layout.lanes.len();
    let width = columns * lane_width;
    let centre = |lane: usize| lane * lane_width + lane_width / 2;
    let ids: Vec<String> = connections.iter().map(|c| c.id.to_string()).collect();
    let mut out = String::new();
    let _ = writeln!(out, "connections {}: {} sockets, {} rows", ids.join(", "), columns, layout.rows.len());
    let mut heading = vec![' '; width];
    for (lane, socket) in layout.lanes.iter().enumerate() {
        put_centred(&mut heading, centre(lane), &socket.socket.to_string());
    }
    let _ = writeln!(out, "{:>TIME_WIDTH$} {}", "time (ms)", heading.iter().collect::<String>().trim_end());
    let start = connections.iter().map(|c| c.first_ts_nanos()).min().unwrap_or(0);
    let lifelines = || {
        let mut line = vec![' '; width];
        for lane in 0..columns {
            if let Some(cell) = line.get_mut(centre(lane)) {
                *cell = '|';
            }
        }
        line
    };
    for (row_index, row) in layout.rows.iter().enumerate() {
        match row.kind {
            MultiRowKind::Idle { nanos } => {
                let mut line = lifelines();
                put_centred(&mut line, width / 2, &format!(" … {:.3} ms idle … ", nanos as f64 / 1e6));
                let _ = writeln!(out, "{:>TIME_WIDTH$} {}", "", line.iter().collect::<String>().trim_end());
            }
            MultiRowKind::Segment { conn, index, from, to } => {
                let (Some(connection), Some(segment)) =
                    (connections.get(conn), connections.get(conn).and_then(|c| c.segments.get(index)))
                else {
                    continue;
                };
                let mut line = lifelines();
                let (left, right) = (centre(from.min(to)), centre(from.max(to)));
                let dash = if segment.flags.rst() { '=' } else { '-' };
                for cell in line.iter_mut().take(right).skip(left + 1) {
                    *cell = dash;
                }
                let head = if to > from { right.saturating_sub(1) } else { left + 1 };
                if let Some(cell) = line.get_mut(head) {
                    *cell = if to > from { '>' } else { '<' };
                }
                let label = format!("#{} {}", connection.id, segment_label(connection, segment, numbering));
                // A space each side keeps the label off the dashes.
                let room = right.saturating_sub(left + 6);
                put_centred(&mut line, (left + right) / 2, &format!(" {} ", elide(&label, room)));
                let time = format!("{:.3}", (segment.ts_nanos - start) as f64 / 1e6);
                let _ = writeln!(out, "{time:>TIME_WIDTH$} {}", line.iter().collect::<String>().trim_end());
                let marks: Vec<_> = layout.marks.iter().filter(|m| m.row == row_index).collect();
                if !marks.is_empty() {
                    let mut states = lifelines();
                    for mark in marks {
                        let name = if layout.shared(mark.lane) {
                            format!("#{} {}", mark.conn_id, mark.to.name())
                        } else {
                            mark.to.name().to_string()
                        };
                        put_centred(&mut states, centre(mark.lane), &name);
                    }
                    let _ = writeln!(out, "{:>TIME_WIDTH$} {}", "", states.iter().collect::<String>().trim_end());
                }
            }
        }
    }
    let _ = writeln!(out, "{:>TIME_WIDTH$} {}", "end", final_states(connections, layout, capture_end_nanos));
    for sentence in story {
        let _ = writeln!(out, "\n* chain: {sentence}");
    }
    out
}

/// Each socket's state at the capture's end: `127.0.0.1:80 #3 TIME_WAIT, …`.
fn final_states(connections: &[&Connection], layout: &MultiLayout, capture_end_nanos: i64) -> String {
    let mut parts = Vec::new();
    for (conn, connection) in connections.iter().enumerate() {
        let states = connection.reported_states_at(capture_end_nanos);
        let Some(lanes) = layout.lanes_of.get(conn) else { continue };
        for side in crate::wire::Side::BOTH {
            let socket = layout.lanes.get(lanes[side]).map(|l| l.socket.to_string()).unwrap_or_default();
            parts.push(format!("{socket} (#{}) {}", connection.id, states[side].name()));
        }
    }
    parts.join(", ")
}

/// Writes `text` into `line` centred on `at`, within the line.
fn put_centred(line: &mut [char], at: usize, text: &str) {
    let length = text.chars().count();
    let start = at.saturating_sub(length / 2).min(line.len().saturating_sub(length));
    for (cell, ch) in line.iter_mut().skip(start).zip(text.chars()) {
        *cell = ch;
    }
}
