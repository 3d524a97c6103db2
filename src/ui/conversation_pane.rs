//! The Conversation pane ("Follow stream"): both directions' bytes in the order the applications
//! read them, as text or hex, each piece headed by its frame and sender and, where a message
//! starts, by the message's label; holes marked as holes. Clicking a piece selects its segment on
//! the ladder; selecting a segment scrolls the pane to its bytes.

use std::collections::{HashMap, HashSet};

use egui::{Color32, RichText, Ui};

use crate::protocols::transcript::{Piece, PieceBytes};
use crate::protocols::Conversation;
use crate::session::document::Document;
use crate::wire::Side;

/// Pieces drawn at once: a page around the selected one (a long connection has thousands).
const PAGE: usize = 200;
/// Bytes of one piece drawn; the rest is counted.
const SHOWN_BYTES: usize = 2048;

#[derive(Debug, Default)]
pub struct ConversationState {
    pub hex: bool,
    /// The first piece of the page drawn.
    page_start: usize,
    /// The frame the pane last scrolled to, so it scrolls once per selection.
    scrolled_to: Option<u32>,
}

/// Client bytes in blue, server bytes in orange (Wireshark's Follow Stream colours, kept readable
/// on both themes).
fn side_colour(side: Side, dark: bool) -> Color32 {
    match (side, dark) {
        (Side::Client, true) => Color32::from_rgb(120, 170, 255),
        (Side::Client, false) => Color32::from_rgb(20, 60, 170),
        (Side::Server, true) => Color32::from_rgb(255, 160, 110),
        (Side::Server, false) => Color32::from_rgb(160, 50, 10),
    }
}

/// Draws the pane; returns the segment to select when a piece was clicked.
pub fn conversation_ui(ui: &mut Ui, document: &mut Document, state: &mut ConversationState) -> Option<usize> {
    let waker = ui.ctx().clone();
    let followed = document.followed(move || waker.request_repaint());
    let connection = document.connection()?;
    let selected_frame = document.selected_segment.and_then(|i| connection.segments.get(i)).map(|s| s.frame);
    let mut clicked_frame = None;
    ui.horizontal(|ui| {
        ui.heading("Conversation");
        ui.label(RichText::new("client → server").color(side_colour(Side::Client, ui.visuals().dark_mode)));
        ui.label(RichText::new("server → client").color(side_colour(Side::Server, ui.visuals().dark_mode)));
        ui.separator();
        ui.selectable_value(&mut state.hex, false, "text");
        ui.selectable_value(&mut state.hex, true, "hex");
    });
    let conversation = match followed {
        None => {
            ui.label(RichText::new("Reading this connection's bytes from the file…").weak());
            return None;
        }
        Some(Err(reason)) => {
            ui.label(RichText::new(reason).weak());
            return None;
        }
        Some(Ok(conversation)) => conversation,
    };
    let transcript = conversation.transcript()?;
    if transcript.pieces.is_empty() {
        ui.label(RichText::new("No payload: this connection carried no application bytes.").weak());
        return None;
    }
    let selected_piece = selected_frame.and_then(|frame| transcript.piece_of_frame(frame));
    let scroll_now = selected_frame.is_some() && state.scrolled_to != selected_frame && selected_piece.is_some();
    if let (true, Some(at)) = (scroll_now, selected_piece) {
        if at < state.page_start || at >= state.page_start + PAGE {
            state.page_start = at.saturating_sub(PAGE / 4);
        }
    }
    state.scrolled_to = selected_frame;
    let shown = state.page_start..(state.page_start + PAGE).min(transcript.pieces.len());
    ui.horizontal(|ui| {
        ui.label(
            RichText::new(format!(
                "pieces {}–{} of {}{}",
                shown.start + 1,
                shown.end,
                transcript.pieces.len(),
                if transcript.not_kept > 0 {
                    format!(" · {} bytes past the first MB not kept", transcript.not_kept)
                } else {
                    String::new()
                }
            ))
            .weak(),
        );
        if ui.add_enabled(shown.start > 0, egui::Button::new("◀ earlier")).clicked() {
            state.page_start = state.page_start.saturating_sub(PAGE);
        }
        if ui.add_enabled(shown.end < transcript.pieces.len(), egui::Button::new("later ▶")).clicked() {
            state.page_start += PAGE;
        }
    });
    let dark = ui.visuals().dark_mode;
    let pieces = transcript.pieces.get(shown.clone()).unwrap_or_default();
    let starts = message_starts(&conversation, pieces);
    egui::ScrollArea::vertical().id_salt("conversation").auto_shrink([false, false]).show(ui, |ui| {
        for (at, piece) in transcript.pieces.iter().enumerate().skip(shown.start).take(shown.len()) {
            let selected = selected_piece == Some(at);
            let starting = starts.get(&(piece.frame, piece.side)).map_or("", String::as_str);
            let response = piece_ui(ui, starting, piece, state.hex, selected, dark);
            if response.clicked() {
                clicked_frame = Some(piece.frame);
            }
            if selected && scroll_now {
                // The piece's start (its heading and first bytes), not its middle: a piece can be
                // taller than the pane.
                response.scroll_to_me(Some(egui::Align::Min));
            }
        }
    });
    let frame = clicked_frame?;
    connection.segments.iter().position(|segment| segment.frame == frame)
}

/// The labels of the messages starting in the pieces drawn, by frame and sender: found in one
/// pass over the messages (a long connection has many thousands), each label made once.
fn message_starts(conversation: &Conversation, pieces: &[Piece]) -> HashMap<(u32, Side), String> {
    let frames: HashSet<u32> = pieces.iter().map(|piece| piece.frame).collect();
    let mut starts: HashMap<(u32, Side), String> = HashMap::new();
    for message in conversation.messages().iter().filter(|m| frames.contains(&m.first_frame)) {
        let labels = starts.entry((message.first_frame, message.side)).or_default();
        if !labels.is_empty() {
            labels.push(' ');
        }
        labels.push_str(&format!("«{}»", message.label()));
    }
    starts
}

/// One piece: its heading (frame, sender, size, the labels of the messages starting in it) and
/// its bytes.
fn piece_ui(ui: &mut Ui, starting: &str, piece: &Piece, hex: bool, selected: bool, dark: bool) -> egui::Response {
    let colour = side_colour(piece.side, dark);
    let arrow = match piece.side {
        Side::Client => "client → server",
        Side::Server => "server → client",
    };
    let frame = egui::Frame::new()
        .inner_margin(4.0)
        .stroke(if selected { egui::Stroke::new(2.0, colour) } else { egui::Stroke::NONE })
        .fill(if selected { ui.visuals().faint_bg_color } else { Color32::TRANSPARENT });
    // Labels that click rather than select text, so that a click anywhere on the piece selects
    // its segment; the bytes are copied from the piece's context menu instead.
    let clickable =
        |ui: &mut Ui, text: RichText| ui.add(egui::Label::new(text).selectable(false).sense(egui::Sense::click()));
    let inner = frame.show(ui, |ui| {
        let size = match &piece.bytes {
            PieceBytes::Data(bytes) => format!("{} bytes", bytes.len()),
            PieceBytes::Hole { len, .. } => format!("{len} bytes"),
        };
        let heading = format!("frame {} · {arrow} · {size} at offset {} {}", piece.frame, piece.offset, starting);
        let mut clicked = clickable(ui, RichText::new(heading).small().color(colour));
        match &piece.bytes {
            PieceBytes::Hole { len, cut } => {
                let why =
                    if *cut { "cut by the capture's snaplen" } else { "not captured (lost before the capture point)" };
                let text = RichText::new(format!("⟨ {len} bytes {why} ⟩"))
                    .italics()
                    .color(crate::ui::theme::warning_colour(dark));
                clicked |= clickable(ui, text);
            }
            PieceBytes::Data(bytes) => {
                let shown = bytes.get(..bytes.len().min(SHOWN_BYTES)).unwrap_or_default();
                let text = if hex { hex_dump(shown, piece.offset) } else { printable(shown) };
                clicked |= clickable(ui, RichText::new(text).monospace().color(colour));
                if bytes.len() > shown.len() {
                    ui.label(
                        RichText::new(format!("… {} more bytes in this segment", bytes.len() - shown.len())).weak(),
                    );
                }
                clicked.context_menu(|ui| {
                    if ui.button("Copy as text").clicked() {
                        ui.ctx().copy_text(printable(bytes));
                    }
                    if ui.button("Copy as hex").clicked() {
                        ui.ctx().copy_text(hex_dump(bytes, piece.offset));
                    }
                });
            }
        }
        clicked
    });
    inner.inner.on_hover_text("Select this segment on the ladder (right-click to copy the bytes)")
}

/// The bytes as text: printable ASCII and line breaks as they are (a CR before a line break
/// left out, as Follow Stream does), anything else as `·`.
fn printable(bytes: &[u8]) -> String {
    bytes
        .iter()
        .filter(|&&b| b != b'\r')
        .map(|&b| match b {
            b'\n' => '\n',
            b'\t' => '\t',
            0x20..=0x7e => char::from(b),
            _ => '·',
        })
        .collect()
}

/// `0000001a  47 45 54 20 …  GET …`, 16 bytes a line, offsets in the sender's stream.
fn hex_dump(bytes: &[u8], offset: u64) -> String {
    let mut out = String::new();
    for (line, chunk) in bytes.chunks(16).enumerate() {
        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let text: String =
            chunk.iter().map(|&b| if (0x20..=0x7e).contains(&b) { char::from(b) } else { '.' }).collect();
        out.push_str(&format!("{:08x}  {:<47}  {text}\n", offset + line as u64 * 16, hex.join(" ")));
    }
    out.pop();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_hex_show_every_byte_safely() {
        assert_eq!(printable(b"GET /\r\n\x00\xff"), "GET /\n··");
        assert_eq!(hex_dump(b"GET / HTTP/1.1\r\nHost", 16), "00000010  47 45 54 20 2f 20 48 54 54 50 2f 31 2e 31 0d 0a  GET / HTTP/1.1..\n00000020  48 6f 73 74                                      Host");
    }
}
