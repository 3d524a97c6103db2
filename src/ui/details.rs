//! The details of the selected segment (every field, the state change it caused and why, the TCP
//! header in hex) and the selected connection's findings.

use std::ops::Range;

use egui::{Color32, RichText, Ui};

use crate::analysis::Diagnosis;
use crate::decode::{header_spans, HeaderSpans};
use crate::ladder::explain_change;
use crate::ladder::label::options_label;
use crate::ladder::Numbering;
use crate::summary::{endpoints, secs};
use crate::tcp::{Connection, Segment};
use crate::wire::Side;

use crate::session::document::FrameBytes;

/// Which header field is highlighted in the hex dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Field {
    #[default]
    None,
    Ports,
    Seq,
    Ack,
    Flags,
    Window,
    Options,
}

impl Field {
    fn bytes(self, options_len: usize) -> Range<usize> {
        match self {
            Self::None => 0..0,
            Self::Ports => 0..4,
            Self::Seq => 4..8,
            Self::Ack => 8..12,
            Self::Flags => 12..14,
            Self::Window => 14..16,
            Self::Options => 20..20 + options_len,
        }
    }
}

/// Shows the selected segment; `field` is the highlighted field, which clicking a row changes.
pub fn segment_details_ui(
    ui: &mut Ui,
    connection: &Connection,
    index: usize,
    field: &mut Field,
    numbering: Numbering,
    frame: Option<&FrameBytes>,
) {
    let Some(segment) = connection.segments.get(index) else { return };
    let (src, dst) = endpoints(connection, segment);
    ui.heading(format!("Segment {} · frame {}", index + 1, segment.frame));
    let scaled = connection.scaled_window(segment.dir, segment.window_raw, segment.flags.syn());
    let rel_seq = connection.relative_seq(segment);
    let options = options_label(connection, segment, numbering);
    let rows: Vec<(&str, String, Field)> = vec![
        (
            "time",
            format!("{:.6} s since the connection began", secs(segment.ts_nanos - connection.first_ts_nanos())),
            Field::None,
        ),
        ("from → to", format!("{} {src} → {} {dst}", segment.dir.sender(), segment.dir.receiver()), Field::Ports),
        ("flags", format!("[{}]  {}", segment.flags, flag_words(segment)), Field::Flags),
        (
            "seq",
            format!("{rel_seq} (raw {}), next {}", segment.seq_raw, connection.relative_next_seq(segment)),
            Field::Seq,
        ),
        (
            "ack",
            match connection.relative_ack(segment) {
                Some(ack) => format!("{ack} (raw {})", segment.ack_raw),
                None => "— (no ACK flag)".to_string(),
            },
            Field::Ack,
        ),
        (
            "window",
            match scaled {
                Some(w) if w != u32::from(segment.window_raw) => format!("{w} (raw {} × scale)", segment.window_raw),
                Some(w) => format!("{w}"),
                None => format!("{} raw, scale unknown", segment.window_raw),
            },
            Field::Window,
        ),
        ("payload", format!("{} bytes", segment.payload_len), Field::None),
        ("options", if options.is_empty() { "—".to_string() } else { options }, Field::Options),
    ];
    egui::Grid::new(("segment-fields", index)).num_columns(2).striped(true).show(ui, |ui| {
        for (name, value, row_field) in rows {
            let selected = *field == row_field && row_field != Field::None;
            if ui
                .selectable_label(selected, RichText::new(name).strong())
                .on_hover_text("highlight in the header bytes")
                .clicked()
            {
                *field = if selected { Field::None } else { row_field };
            }
            ui.add(egui::Label::new(RichText::new(value).monospace()).wrap());
            ui.end_row();
        }
    });
    if segment.analysis.0 != 0 {
        ui.add_space(4.0);
        for (name, words) in segment.analysis.described() {
            ui.label(RichText::new(format!("! {name}: {words}")).color(ui.visuals().warn_fg_color));
        }
    }
    ui.add_space(6.0);
    ui.label(RichText::new("State after this segment").strong());
    for side in Side::BOTH {
        let state = segment.state(side);
        match explain_change(connection, index, side) {
            Some(text) => ui.label(text),
            None => ui.label(format!("The {side} stays {state}.")),
        };
    }
    ui.add_space(6.0);
    let spans =
        frame.and_then(|f| f.bytes.as_ref().ok()).and_then(|(link, bytes)| Some((header_spans(*link, bytes)?, bytes)));
    match spans {
        Some((spans, bytes)) => frame_dump_ui(ui, bytes, &spans, field.bytes(connection.options_of(segment).len())),
        None => {
            if let Some(Err(message)) = frame.map(|f| &f.bytes) {
                ui.label(RichText::new(format!("No frame bytes: {message}.")).weak());
            }
            hex_dump_ui(ui, connection, segment, *field);
        }
    }
}

/// The frame's real headers, link, IP and TCP, each on its own lines; `highlight` is relative to
/// the TCP header.
fn frame_dump_ui(ui: &mut Ui, bytes: &[u8], spans: &HeaderSpans, highlight: Range<usize>) {
    let strong = ui.visuals().selection.bg_fill;
    let highlight = (spans.tcp.start + highlight.start)..(spans.tcp.start + highlight.end);
    for (name, range) in [("link", spans.link.clone()), ("IP", spans.ip.clone()), ("TCP", spans.tcp.clone())] {
        if range.is_empty() {
            continue;
        }
        ui.label(RichText::new(format!("{name} header ({} bytes)", range.len())).strong());
        let section = bytes.get(range.clone()).unwrap_or(&[]);
        let per_line = bytes_per_line(ui);
        for (line, chunk) in section.chunks(per_line).enumerate() {
            ui.horizontal(|ui| {
                ui.spacing_mut().item_spacing.x = 4.0;
                ui.label(RichText::new(format!("{:04x}", range.start + line * per_line)).monospace().weak());
                for (i, byte) in chunk.iter().enumerate() {
                    let at = range.start + line * per_line + i;
                    let mut text = RichText::new(format!("{byte:02x}")).monospace();
                    if highlight.contains(&at) {
                        text = text.background_color(strong).color(Color32::WHITE);
                    }
                    ui.label(text);
                }
            });
        }
    }
}

/// As many bytes per line as fit the panel: 4, 8, 12 or 16.
fn bytes_per_line(ui: &Ui) -> usize {
    let byte_width = 21.0;
    let fit = ((ui.available_width() - 44.0) / byte_width).max(4.0) as usize;
    (fit / 4 * 4).clamp(4, 16)
}

fn flag_words(segment: &Segment) -> String {
    let flags = segment.flags;
    let names = [
        (flags.syn(), "SYN"),
        (flags.fin(), "FIN"),
        (flags.rst(), "RST"),
        (flags.psh(), "PSH"),
        (flags.ack(), "ACK"),
        (flags.has(crate::wire::TcpFlags::URG), "URG"),
        (flags.has(crate::wire::TcpFlags::ECE), "ECE"),
        (flags.has(crate::wire::TcpFlags::CWR), "CWR"),
    ];
    names.iter().filter(|(set, _)| *set).map(|(_, name)| *name).collect::<Vec<_>>().join(" ")
}

/// The TCP header rebuilt from the kept fields (the checksum and urgent pointer are not kept).
pub fn header_bytes(connection: &Connection, segment: &Segment) -> Vec<Option<u8>> {
    let (src, dst) = endpoints(connection, segment);
    let options = connection.options_of(segment);
    let offset = u16::try_from((20 + options.len()) / 4).unwrap_or(15);
    let mut bytes: Vec<Option<u8>> = Vec::with_capacity(20 + options.len());
    let mut push = |chunk: &[u8]| bytes.extend(chunk.iter().copied().map(Some));
    push(&src.port().to_be_bytes());
    push(&dst.port().to_be_bytes());
    push(&segment.seq_raw.to_be_bytes());
    push(&segment.ack_raw.to_be_bytes());
    push(&((offset << 12) | segment.flags.0).to_be_bytes());
    push(&segment.window_raw.to_be_bytes());
    bytes.extend([None, None, None, None]);
    bytes.extend(options.iter().copied().map(Some));
    bytes
}

fn hex_dump_ui(ui: &mut Ui, connection: &Connection, segment: &Segment, field: Field) {
    ui.label(RichText::new("TCP header").strong())
        .on_hover_text("rebuilt from the decoded fields; ?? = checksum and urgent pointer, which are not kept");
    let bytes = header_bytes(connection, segment);
    let highlight = field.bytes(connection.options_of(segment).len());
    let strong = ui.visuals().selection.bg_fill;
    for (line, chunk) in bytes.chunks(16).enumerate() {
        ui.horizontal(|ui| {
            ui.spacing_mut().item_spacing.x = 4.0;
            ui.label(RichText::new(format!("{:04x}", line * 16)).monospace().weak());
            for (i, byte) in chunk.iter().enumerate() {
                let at = line * 16 + i;
                let text = byte.map_or("??".to_string(), |b| format!("{b:02x}"));
                let mut rich = RichText::new(text).monospace();
                if highlight.contains(&at) {
                    rich = rich.background_color(strong).color(Color32::WHITE);
                }
                ui.label(rich);
            }
        });
    }
}

/// The connection's findings, each with a button to its frame; returns a segment to select.
pub fn diagnoses_ui(ui: &mut Ui, connection: &Connection, findings: &[Diagnosis]) -> Option<usize> {
    let mut jump = None;
    if findings.is_empty() {
        ui.label(RichText::new("Nothing unusual: no findings for this connection.").weak());
    }
    for finding in findings {
        ui.horizontal_wrapped(|ui| {
            let side = finding.side.map_or("", |s| s.name());
            ui.label(RichText::new(finding.code.name()).strong().monospace());
            ui.label(RichText::new(side).weak());
            if ui.small_button(format!("frame {}", finding.frame)).on_hover_text("select this segment").clicked() {
                jump = connection.segments.iter().position(|s| s.frame == finding.frame);
            }
        });
        ui.label(super::prose::with_code_spans(ui, &finding.text, false));
        ui.add_space(4.0);
    }
    jump
}
