//! One dispatch for every export of a connection's ladder, called by the command line and the
//! window alike, so a format means the same bytes wherever it is asked for.

use crate::analysis::exchanges::ladder_notes;
use crate::ladder::{LadderLayout, Numbering};
use crate::protocols::Conversation;
use crate::tcp::Connection;

use super::ladder::{export, Format};
use super::png::{png, PngError};
use super::text::render_text_ladder;

/// What an export writes: a connection's ladder in one of five forms, or its packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Svg,
    Png,
    Mermaid,
    #[value(name = "plantuml")]
    PlantUml,
    #[value(name = "txt")]
    Text,
    // The packets themselves, copied from the capture (see `session::export`); a plain comment,
    // because clap would print a doc comment in `--help`.
    Pcapng,
}

impl ExportFormat {
    /// The forms of a ladder, in menu order, and then the packets.
    pub const ALL: [Self; 6] = [Self::Svg, Self::Png, Self::Mermaid, Self::PlantUml, Self::Text, Self::Pcapng];

    /// The format a file name's extension names (`x.png`, `x.mmd`, `x.puml`), as `-o` gives it.
    pub fn from_path(path: &std::path::Path) -> Option<Self> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        Self::ALL.into_iter().find(|format| format.extension() == extension).or(match extension.as_str() {
            "mermaid" => Some(Self::Mermaid),
            "plantuml" | "pu" => Some(Self::PlantUml),
            "text" => Some(Self::Text),
            _ => None,
        })
    }

    /// The file name extension for this format.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Svg => "svg",
            Self::Png => "png",
            Self::Mermaid => "mmd",
            Self::PlantUml => "puml",
            Self::Text => "txt",
            Self::Pcapng => "pcapng",
        }
    }
}

impl std::fmt::Display for ExportFormat {
    /// The name the command line takes (`--format plantuml`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = clap::ValueEnum::to_possible_value(self);
        f.write_str(value.as_ref().map_or("", |value| value.get_name()))
    }
}

/// Why an export produced nothing.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Png(#[from] PngError),
    #[error("pcapng holds packets, not a drawing: copy them from the capture")]
    NotADrawing,
}

/// A connection's ladder as the export draws it.
#[derive(Debug, Clone, Copy)]
pub struct LadderExport<'a> {
    pub connection: &'a Connection,
    pub layout: &'a LadderLayout,
    /// The findings noted on arrows: (frame, diagnosis code).
    pub findings: &'a [(u32, &'a str)],
    /// The conversation inside the connection: message labels and waits are noted on arrows.
    pub conversation: Option<&'a Conversation>,
    /// When the capture ends: the text ladder's final states are taken then.
    pub capture_end_nanos: i64,
    pub numbering: Numbering,
    /// Pixels per SVG unit of a PNG.
    pub png_scale: f32,
}

/// The bytes of `ladder` in `format`.
pub fn ladder_bytes(format: ExportFormat, ladder: &LadderExport<'_>) -> Result<Vec<u8>, ExportError> {
    let app = ladder.conversation.map(|c| ladder_notes(ladder.connection, c)).unwrap_or_default();
    let mut notes: Vec<(u32, &str)> = ladder.findings.to_vec();
    notes.extend(app.iter().flat_map(|(frame, texts)| texts.iter().map(|text| (*frame, text.as_str()))));
    let drawn = |format| export(ladder.connection, ladder.layout, format, ladder.numbering, &notes);
    Ok(match format {
        ExportFormat::Svg => drawn(Format::Svg).into_bytes(),
        ExportFormat::Png => png(&drawn(Format::Svg), ladder.png_scale)?,
        ExportFormat::Mermaid => drawn(Format::Mermaid).into_bytes(),
        ExportFormat::PlantUml => drawn(Format::PlantUml).into_bytes(),
        ExportFormat::Text => {
            render_text_ladder(ladder.connection, ladder.conversation, ladder.capture_end_nanos, ladder.numbering)
                .into_bytes()
        }
        ExportFormat::Pcapng => return Err(ExportError::NotADrawing),
    })
}
