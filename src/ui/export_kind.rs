//! What the Export menu offers, with the label, extension and file name of each.

use crate::analysis::chart::ChartKind;
use crate::render::export::ExportFormat;

/// What the Export menu writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    /// The selected connection's ladder, or its packets (pcapng).
    Connection(ExportFormat),
    /// The packets of the connections marked in the table.
    MarkedPcapng,
    /// The packets of the connections the table's filters show.
    ShownPcapng,
    ChartSvg,
    ChartPng,
}

/// Pixels per SVG unit of a PNG from the window: crisp on a slide.
pub const PNG_SCALE: f32 = 2.0;

impl ExportKind {
    pub fn label(self) -> &'static str {
        match self {
            Self::Connection(format) => match format {
                ExportFormat::Svg => "Ladder as SVG…",
                ExportFormat::Png => "Ladder as PNG (2×)…",
                ExportFormat::Mermaid => "Ladder as Mermaid…",
                ExportFormat::PlantUml => "Ladder as PlantUML…",
                ExportFormat::Text => "Ladder as text…",
                ExportFormat::Pcapng => "Connection's packets as pcapng…",
            },
            Self::MarkedPcapng => "Packets of the marked connections as pcapng…",
            Self::ShownPcapng => "Packets of the connections shown as pcapng…",
            Self::ChartSvg => "Chart as SVG…",
            Self::ChartPng => "Chart as PNG (2×)…",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Connection(format) => format.extension(),
            Self::MarkedPcapng | Self::ShownPcapng => ExportFormat::Pcapng.extension(),
            Self::ChartSvg => ExportFormat::Svg.extension(),
            Self::ChartPng => ExportFormat::Png.extension(),
        }
    }

    /// The file name offered, from the selected connection, the chart or the set exported.
    pub fn file_name(self, id: Option<u32>, chart: ChartKind) -> String {
        let extension = self.extension();
        match self {
            Self::MarkedPcapng => format!("marked-connections.{extension}"),
            Self::ShownPcapng => format!("filtered-connections.{extension}"),
            Self::ChartSvg | Self::ChartPng if !chart.per_connection() => format!("{}.{extension}", chart.slug()),
            Self::ChartSvg | Self::ChartPng => format!("connection-{}-{}.{extension}", id.unwrap_or(0), chart.slug()),
            Self::Connection(_) => format!("connection-{}.{extension}", id.unwrap_or(0)),
        }
    }
}
