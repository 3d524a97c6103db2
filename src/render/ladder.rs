//! A connection's whole ladder for slides and reports: SVG (text as text), Mermaid
//! `sequenceDiagram`, PlantUML. Folded data runs stay folded unless expanded in the layout.

// Every `let _ = write!(…)` below writes into a String, which cannot fail: the fmt::Result is
// dropped for that reason alone.
use std::fmt::Write as _;

use super::xml;
use crate::analysis::palette;
use crate::tcp::{Connection, Direction, Segment, TcpState};
use crate::wire::Side;

use crate::ladder::label::{analysis_label_at, options_label, segment_label, Numbering};
use crate::ladder::layout::{lifelines, FoldedRun, LadderLayout, Phase, RowKind, ARROW_SLOPE};

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Svg,
    Mermaid,
    PlantUml,
}

/// The states a side took at a segment, as "A → B" text, or `None` if it did not change.
fn change_text(connection: &Connection, index: usize, side: Side) -> Option<String> {
    let segment = connection.segments.get(index)?;
    let before =
        index.checked_sub(1).and_then(|i| connection.segments.get(i)).map_or(TcpState::Unknown, |s| s.state(side));
    let after = segment.state(side);
    match segment.via(side) {
        Some(via) => Some(format!("{via} → {after}")),
        None if before != after => Some(after.name().to_string()),
        None => None,
    }
}

/// A fold as exports write it: exact byte counts.
fn fold_text(run: &FoldedRun, layout: &LadderLayout) -> String {
    let contents = layout.fold_contents(run).map_or(String::new(), |held| format!(" · {held}"));
    format!("{}{contents}", run.describe(|bytes| format!("{bytes} bytes")))
}

/// The notes an arrow carries: analysis flags, then the findings shown at its frame.
fn arrow_notes(connection: &Connection, index: usize, findings: &[(u32, &str)]) -> String {
    let mut notes = analysis_label_at(connection, index);
    let frame = connection.segments.get(index).map_or(0, |s| s.frame);
    for (_, code) in findings.iter().filter(|(f, _)| *f == frame) {
        if !notes.is_empty() {
            notes.push_str(", ");
        }
        notes.push_str(code);
    }
    notes
}

/// How one text format for sequence diagrams writes each part of a ladder; [`sequence_diagram`]
/// walks the rows once for every dialect.
trait Dialect {
    fn header(&self, out: &mut String, connection: &Connection);
    fn arrow(&self, out: &mut String, ends: (&str, &str), reset: bool, label: &str);
    fn state(&self, out: &mut String, side: Side, name: &str, change: &str);
    /// A note across both lifelines: an arrow's notes, a fold, an idle gap.
    fn note(&self, out: &mut String, text: &str);
    fn idle(&self, out: &mut String, seconds: f64);
    fn fold(&self, out: &mut String, text: &str);
    fn footer(&self, _out: &mut String) {}
}

fn sequence_diagram(
    dialect: &dyn Dialect,
    connection: &Connection,
    layout: &LadderLayout,
    numbering: Numbering,
    findings: &[(u32, &str)],
) -> String {
    let mut out = String::new();
    dialect.header(&mut out, connection);
    for row in &layout.rows {
        match row.kind {
            RowKind::Segment(index) => {
                let Some(segment) = connection.segments.get(index) else { continue };
                dialect.arrow(
                    &mut out,
                    ends(segment),
                    segment.flags.rst(),
                    &segment_label(connection, segment, numbering),
                );
                for (side, name) in [(Side::Client, "C"), (Side::Server, "S")] {
                    if let Some(change) = change_text(connection, index, side) {
                        dialect.state(&mut out, side, name, &change);
                    }
                }
                let notes = arrow_notes(connection, index, findings);
                if !notes.is_empty() {
                    dialect.note(&mut out, &notes);
                }
            }
            RowKind::Folded(run) => dialect.fold(&mut out, &fold_text(&run, layout)),
            RowKind::Idle { nanos } => dialect.idle(&mut out, nanos as f64 / 1e9),
        }
    }
    dialect.footer(&mut out);
    out
}

struct Mermaid;

impl Dialect for Mermaid {
    fn header(&self, out: &mut String, connection: &Connection) {
        out.push_str("sequenceDiagram\n");
        let _ = writeln!(out, "    participant C as client {}", connection.client);
        let _ = writeln!(out, "    participant S as server {}", connection.server);
    }
    fn arrow(&self, out: &mut String, (from, to): (&str, &str), reset: bool, label: &str) {
        let arrow = if reset { "-x" } else { "->>" };
        let _ = writeln!(out, "    {from}{arrow}{to}: {}", mermaid_text(label));
    }
    fn state(&self, out: &mut String, side: Side, name: &str, change: &str) {
        let place = if side == Side::Client { "left of" } else { "right of" };
        let _ = writeln!(out, "    Note {place} {name}: {}", mermaid_text(change));
    }
    fn note(&self, out: &mut String, text: &str) {
        let _ = writeln!(out, "    Note over C,S: {}", mermaid_text(text));
    }
    fn idle(&self, out: &mut String, seconds: f64) {
        let _ = writeln!(out, "    Note over C,S: idle {seconds:.3} s");
    }
    fn fold(&self, out: &mut String, text: &str) {
        self.note(out, text);
    }
}

/// Mermaid `sequenceDiagram` of the ladder.
pub fn mermaid(
    connection: &Connection,
    layout: &LadderLayout,
    numbering: Numbering,
    findings: &[(u32, &str)],
) -> String {
    sequence_diagram(&Mermaid, connection, layout, numbering, findings)
}

/// Mermaid treats `;` and `#` specially in messages: use its entity codes.
fn mermaid_text(text: &str) -> String {
    text.replace('#', "#35;").replace(';', "#59;")
}

struct PlantUml;

impl Dialect for PlantUml {
    fn header(&self, out: &mut String, connection: &Connection) {
        out.push_str("@startuml\n");
        let _ = writeln!(out, "participant \"client\\n{}\" as C", connection.client);
        let _ = writeln!(out, "participant \"server\\n{}\" as S", connection.server);
    }
    fn arrow(&self, out: &mut String, (from, to): (&str, &str), reset: bool, label: &str) {
        // A reset is drawn red and ends in a cross.
        let arrow = if reset { "-[#red]>x" } else { "->" };
        let _ = writeln!(out, "{from} {arrow} {to} : {label}");
    }
    fn state(&self, out: &mut String, _side: Side, name: &str, change: &str) {
        let _ = writeln!(out, "hnote over {name} : {change}");
    }
    fn note(&self, out: &mut String, text: &str) {
        let _ = writeln!(out, "note across : {text}");
    }
    fn idle(&self, out: &mut String, seconds: f64) {
        let _ = writeln!(out, "... idle {seconds:.3} s ...");
    }
    fn fold(&self, out: &mut String, text: &str) {
        let _ = writeln!(out, "... {text} ...");
    }
    fn footer(&self, out: &mut String) {
        out.push_str("@enduml\n");
    }
}

/// PlantUML sequence diagram of the ladder.
pub fn plantuml(
    connection: &Connection,
    layout: &LadderLayout,
    numbering: Numbering,
    findings: &[(u32, &str)],
) -> String {
    sequence_diagram(&PlantUml, connection, layout, numbering, findings)
}

fn ends(segment: &Segment) -> (&'static str, &'static str) {
    match segment.dir {
        Direction::ClientToServer => ("C", "S"),
        Direction::ServerToClient => ("S", "C"),
    }
}

const SVG_WIDTH: f32 = 980.0;
const SVG_TIME: f32 = 90.0;
const SVG_PILLS: f32 = 150.0;
const SVG_PHASES: f32 = 150.0;
const SVG_HEADER: f32 = 70.0;

/// The ladder as SVG: lifelines, arrows, labels, state pills and phase brackets, text as text.
pub fn svg(connection: &Connection, layout: &LadderLayout, numbering: Numbering, findings: &[(u32, &str)]) -> String {
    let inner = SVG_WIDTH - SVG_TIME - SVG_PHASES;
    let (client, server) = lifelines(inner, SVG_PILLS);
    let (client, server) = (SVG_TIME + client, SVG_TIME + server);
    let height = SVG_HEADER + layout.height() + 20.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{SVG_WIDTH}" height="{height}" viewBox="0 0 {SVG_WIDTH} {height}" font-family="DejaVu Sans Mono, monospace" font-size="12">"#
    );
    let _ = writeln!(out, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
    let _ = writeln!(
        out,
        r##"<text x="10" y="20" font-family="DejaVu Sans, sans-serif" font-size="14" fill="#111">{}</text>"##,
        xml(&format!(
            "connection {}: {} → {}, {} segments",
            connection.id,
            connection.client,
            connection.server,
            connection.segments.len()
        ))
    );
    for (x, role, address) in [(client, "client", connection.client), (server, "server", connection.server)] {
        let _ = writeln!(out, r##"<text x="{x}" y="44" text-anchor="middle" fill="#666">{role}</text>"##);
        let _ = writeln!(
            out,
            r##"<text x="{x}" y="60" text-anchor="middle" font-weight="bold" fill="#111">{}</text>"##,
            xml(&address.to_string())
        );
        let _ = writeln!(
            out,
            r##"<line x1="{x}" y1="{SVG_HEADER}" x2="{x}" y2="{height}" stroke="#999" stroke-width="1.5"/>"##
        );
    }
    let start = connection.first_ts_nanos();
    for row in &layout.rows {
        let top = SVG_HEADER + row.y;
        match row.kind {
            RowKind::Segment(index) => {
                let Some(segment) = connection.segments.get(index) else { continue };
                let notes = arrow_notes(connection, index, findings);
                svg_segment(&mut out, connection, segment, &notes, top, (client, server), numbering, start);
            }
            RowKind::Folded(run) => {
                let _ = writeln!(
                    out,
                    r##"<rect x="{}" y="{}" width="{}" height="{}" rx="6" fill="#f2f2f2" stroke="#ccc"/>"##,
                    client + 6.0,
                    top + 3.0,
                    server - client - 12.0,
                    row.height - 6.0
                );
                let _ = writeln!(
                    out,
                    r##"<text x="{}" y="{}" text-anchor="middle" fill="#333">{}</text>"##,
                    (client + server) / 2.0,
                    top + row.height / 2.0 + 4.0,
                    xml(&fold_text(&run, layout))
                );
            }
            RowKind::Idle { nanos } => {
                let _ = writeln!(
                    out,
                    r##"<text x="{}" y="{}" text-anchor="middle" fill="#888">· · · idle {:.3} s · · ·</text>"##,
                    (client + server) / 2.0,
                    top + row.height / 2.0 + 4.0,
                    nanos as f64 / 1e9
                );
            }
        }
    }
    for mark in &layout.state_marks {
        let Some(row) = layout.rows.get(mark.row) else { continue };
        let sender = match row.kind {
            RowKind::Segment(index) => connection.segments.get(index).map(|s| s.dir.sender()),
            _ => None,
        };
        let tail = SVG_HEADER + row.y + 18.0;
        let y = if sender == Some(mark.side) { tail } else { tail + ARROW_SLOPE * 34.0 };
        let text = match mark.via {
            Some(via) => format!("{via} → {}", mark.to),
            None => mark.to.name().to_string(),
        };
        let width = 7.3 * text.chars().count() as f32 + 12.0;
        let x = if mark.side == Side::Client { client - 8.0 - width } else { server + 8.0 };
        let _ = writeln!(
            out,
            r##"<rect x="{x}" y="{}" width="{width}" height="16" rx="8" fill="{}"/><text x="{}" y="{}" fill="{}">{}</text>"##,
            y - 8.0,
            svg_state_fill(mark.to),
            x + 6.0,
            y + 4.0,
            palette::pill_text(false).hex(),
            xml(&text)
        );
    }
    for span in &layout.phases {
        let (Some(first), Some(last)) =
            (layout.rows.get(span.rows.start), layout.rows.get(span.rows.end.saturating_sub(1)))
        else {
            continue;
        };
        let (top, bottom) = (SVG_HEADER + first.y + 4.0, SVG_HEADER + last.y + last.height - 4.0);
        let x = SVG_WIDTH - SVG_PHASES + 20.0;
        let _ = writeln!(
            out,
            r##"<path d="M {} {top} H {x} V {bottom} H {}" fill="none" stroke="#888"/><text x="{}" y="{}" fill="#666" font-family="DejaVu Sans, sans-serif" font-size="11">{}</text>"##,
            x - 6.0,
            x - 6.0,
            x + 6.0,
            top + 10.0,
            xml(phase_name(span.phase))
        );
    }
    out.push_str("</svg>\n");
    out
}

fn phase_name(phase: Phase) -> &'static str {
    phase.name()
}

#[allow(clippy::too_many_arguments)]
fn svg_segment(
    out: &mut String,
    connection: &Connection,
    segment: &Segment,
    arrow_notes: &str,
    top: f32,
    (client, server): (f32, f32),
    numbering: Numbering,
    start: i64,
) {
    let (from, to) = if segment.dir == Direction::ClientToServer { (client, server) } else { (server, client) };
    let tail = top + 18.0;
    let head = tail + ARROW_SLOPE * 34.0;
    let colour = if segment.flags.rst() {
        palette::reset(false).hex()
    } else if segment.analysis.is_retransmission() || segment.analysis.has(crate::tcp::AnalysisFlags::ZERO_WINDOW) {
        palette::warning(false).hex()
    } else {
        ARROW_INK.to_string()
    };
    let _ = writeln!(
        out,
        r##"<text x="{}" y="{}" text-anchor="end" fill="#888" font-size="10">{:.6}</text>"##,
        SVG_TIME - 8.0,
        tail + 4.0,
        (segment.ts_nanos - start) as f64 / 1e9
    );
    let direction = if to > from { 1.0 } else { -1.0 };
    let back = to - direction * 10.0;
    let _ = writeln!(
        out,
        r##"<line x1="{from}" y1="{tail}" x2="{back}" y2="{}" stroke="{colour}" stroke-width="1.6"/>"##,
        head - (head - tail) * 10.0 / (to - from).abs().max(1.0)
    );
    let _ = writeln!(
        out,
        r##"<polygon points="{to},{head} {back},{} {back},{}" fill="{colour}"/>"##,
        head - 4.5,
        head + 4.5
    );
    let middle = (from + to) / 2.0;
    let _ = writeln!(
        out,
        r##"<text x="{middle}" y="{}" text-anchor="middle" fill="{colour}">{}</text>"##,
        (tail + head) / 2.0 - 4.0,
        xml(&segment_label(connection, segment, numbering))
    );
    let mut y = head + 14.0;
    let mut notes = Vec::new();
    if segment.flags.syn() {
        notes.push(options_label(connection, segment, numbering));
    }
    if !arrow_notes.is_empty() {
        notes.push(arrow_notes.to_string());
    }
    for note in notes {
        let _ = writeln!(
            out,
            r##"<text x="{middle}" y="{y}" text-anchor="middle" fill="#777" font-size="10">{}</text>"##,
            xml(&note)
        );
        y += 12.0;
    }
}

/// An ordinary arrow on a white slide.
const ARROW_INK: &str = "#222222";

fn svg_state_fill(state: TcpState) -> String {
    palette::state_fill(state, false).hex()
}

/// Renders `connection` in `format`; `findings` are (frame, code) to write on their arrows.
pub fn export(
    connection: &Connection,
    layout: &LadderLayout,
    format: Format,
    numbering: Numbering,
    findings: &[(u32, &str)],
) -> String {
    match format {
        Format::Svg => svg(connection, layout, numbering, findings),
        Format::Mermaid => mermaid(connection, layout, numbering, findings),
        Format::PlantUml => plantuml(connection, layout, numbering, findings),
    }
}
