//! Several connections on one ladder, exported: SVG (and PNG from it), a Mermaid or PlantUML
//! sequence diagram with a participant per socket, or the text ladder. The window's selection
//! and `export --conn 3,7,9` draw the same bytes.

// Every `let _ = write!(…)` below writes into a String, which cannot fail.
use std::fmt::Write as _;

use crate::analysis::palette;
use crate::ladder::label::{elide, segment_label, Numbering};
use crate::ladder::multi::{MultiLayout, MultiRowKind};
use crate::tcp::Connection;

use super::export::{ExportError, ExportFormat};
use super::multi_text::render_multi_text_ladder;
use super::png::png;
use super::xml;

/// Several connections as the export draws them.
#[derive(Debug, Clone, Copy)]
pub struct SeveralExport<'a> {
    /// In the layout's order.
    pub connections: &'a [&'a Connection],
    pub layout: &'a MultiLayout,
    /// The chain's diagnosis, written under the drawing.
    pub story: &'a [String],
    pub capture_end_nanos: i64,
    pub numbering: Numbering,
    pub png_scale: f32,
}

/// The bytes of `several` in `format`.
pub fn several_bytes(format: ExportFormat, several: &SeveralExport<'_>) -> Result<Vec<u8>, ExportError> {
    Ok(match format {
        ExportFormat::Svg => svg(several).into_bytes(),
        ExportFormat::Png => png(&svg(several), several.png_scale)?,
        ExportFormat::Mermaid => sequence(several, Dialect::Mermaid).into_bytes(),
        ExportFormat::PlantUml => sequence(several, Dialect::PlantUml).into_bytes(),
        ExportFormat::Text => render_multi_text_ladder(
            several.connections,
            several.layout,
            several.capture_end_nanos,
            several.numbering,
            several.story,
        )
        .into_bytes(),
        ExportFormat::Pcapng => return Err(ExportError::NotADrawing),
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Mermaid,
    PlantUml,
}

/// Each segment as `#id label`, between its two sockets, in time order.
fn arrows<'a>(several: &'a SeveralExport<'a>) -> impl Iterator<Item = (usize, usize, usize, String, bool)> + 'a {
    several.layout.rows.iter().enumerate().filter_map(move |(row, r)| match r.kind {
        MultiRowKind::Segment { conn, index, from, to } => {
            let connection = several.connections.get(conn)?;
            let segment = connection.segments.get(index)?;
            let label = format!("#{} {}", connection.id, segment_label(connection, segment, several.numbering));
            Some((row, from, to, label, segment.flags.rst()))
        }
        MultiRowKind::Idle { .. } => None,
    })
}

fn sequence(several: &SeveralExport<'_>, dialect: Dialect) -> String {
    let mut out = String::new();
    let layout = several.layout;
    match dialect {
        Dialect::Mermaid => out.push_str("sequenceDiagram\n"),
        Dialect::PlantUml => out.push_str("@startuml\n"),
    }
    for (index, lane) in layout.lanes.iter().enumerate() {
        let _ = match dialect {
            Dialect::Mermaid => writeln!(out, "    participant L{index} as {}", lane.socket),
            Dialect::PlantUml => writeln!(out, "participant \"{}\" as L{index}", lane.socket),
        };
    }
    let mut marks = layout.marks.iter().peekable();
    for (row, from, to, label, reset) in arrows(several) {
        // Mermaid reads `;` and `#` in a message as its own syntax.
        let text = label.replace(';', ",").replace('#', "conn ");
        let _ = match dialect {
            Dialect::Mermaid => writeln!(out, "    L{from}{}L{to}: {text}", if reset { "-x" } else { "->>" }),
            Dialect::PlantUml => writeln!(out, "L{from} {} L{to} : {label}", if reset { "-[#red]>x" } else { "->" }),
        };
        while let Some(mark) = marks.next_if(|mark| mark.row <= row) {
            let state = if layout.shared(mark.lane) {
                format!("conn {} {}", mark.conn_id, mark.to.name())
            } else {
                mark.to.name().to_string()
            };
            let _ = match dialect {
                Dialect::Mermaid => writeln!(out, "    Note over L{}: {state}", mark.lane),
                Dialect::PlantUml => writeln!(out, "hnote over L{} : {state}", mark.lane),
            };
        }
    }
    for sentence in several.story {
        let _ = match dialect {
            Dialect::Mermaid => writeln!(out, "    Note over L0: {}", sentence.replace(';', ",")),
            Dialect::PlantUml => writeln!(out, "note over L0 : {sentence}"),
        };
    }
    if dialect == Dialect::PlantUml {
        out.push_str("@enduml\n");
    }
    out
}

const LANE: f32 = 220.0;
const ROW: f32 = 30.0;
const TOP: f32 = 50.0;
const LEFT: f32 = 20.0;

fn svg(several: &SeveralExport<'_>) -> String {
    let layout = several.layout;
    let x = |lane: usize| LEFT + LANE * (lane as f32 + 0.5);
    let y = |row: usize| TOP + ROW * row as f32;
    let width = LEFT * 2.0 + LANE * layout.lanes.len() as f32;
    let story_height = 18.0 * several.story.len() as f32;
    let height = y(layout.rows.len()) + 20.0 + story_height;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="DejaVu Sans Mono, monospace" font-size="11">"#
    );
    let _ = writeln!(out, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
    for (index, lane) in layout.lanes.iter().enumerate() {
        let _ = writeln!(
            out,
            r##"<text x="{}" y="24" text-anchor="middle" font-size="12" font-weight="bold">{}</text><line x1="{0}" y1="32" x2="{0}" y2="{}" stroke="#888888" stroke-width="1.5"/>"##,
            x(index),
            xml(&lane.socket.to_string()),
            y(layout.rows.len())
        );
    }
    for (row, from, to, label, reset) in arrows(several) {
        let colour = if reset { palette::reset(false).hex() } else { "#333333".to_string() };
        let (x1, x2, top) = (x(from), x(to), y(row));
        let head = if x2 > x1 { -8.0 } else { 8.0 };
        let _ = writeln!(
            out,
            r#"<line x1="{x1}" y1="{}" x2="{x2}" y2="{}" stroke="{colour}" stroke-width="1.3"/><polygon points="{x2},{} {},{} {},{}" fill="{colour}"/>"#,
            top + 12.0,
            top + 22.0,
            top + 22.0,
            x2 + head,
            top + 18.0,
            x2 + head,
            top + 25.0
        );
        let room = ((x2 - x1).abs() / 6.6).max(6.0) as usize;
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}" text-anchor="middle" fill="{colour}">{}</text>"#,
            (x1 + x2) / 2.0,
            top + 9.0,
            xml(&elide(&label, room))
        );
    }
    for mark in &layout.marks {
        let state = if layout.shared(mark.lane) {
            format!("#{} {}", mark.conn_id, mark.to.name())
        } else {
            mark.to.name().to_string()
        };
        let (cx, cy) = (x(mark.lane), y(mark.row) + 22.0);
        let half = 3.6 * state.chars().count() as f32 + 6.0;
        let _ = writeln!(
            out,
            r#"<rect x="{}" y="{}" width="{}" height="15" rx="6" fill="{}"/><text x="{cx}" y="{}" text-anchor="middle" fill="{}">{}</text>"#,
            cx - half,
            cy - 8.0,
            2.0 * half,
            palette::state_fill(mark.to, false).hex(),
            cy + 4.0,
            palette::pill_text(false).hex(),
            xml(&state)
        );
    }
    for (index, sentence) in several.story.iter().enumerate() {
        let _ = writeln!(
            out,
            r#"<text x="{LEFT}" y="{}" font-family="DejaVu Sans, sans-serif">{}</text>"#,
            y(layout.rows.len()) + 20.0 + 18.0 * index as f32,
            xml(sentence)
        );
    }
    out.push_str("</svg>\n");
    out
}
