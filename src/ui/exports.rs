//! The Export menu: what it offers, and writing the choice through a save dialog (or beside the
//! capture when the system has none). The bytes come from the same functions the command line
//! calls ([`crate::render::export`], [`crate::session::export`]).

use std::path::Path;
use std::time::Instant;

use anyhow::anyhow;
use egui::Ui;

use crate::ladder::Numbering;
use crate::render::export::{ladder_bytes, ExportFormat, LadderExport};
use crate::render::multi_export::{several_bytes, SeveralExport};
use crate::session::document::Document;
use crate::session::export::write_packets;

use super::action::Action;
use super::app::{TcpLadderApp, NO_DIALOG_WITHIN};
use super::export_kind::{ExportKind, PNG_SCALE};

impl TcpLadderApp {
    /// The Export menu: the selected connection's ladder, the chart on screen, packets.
    pub(super) fn export_menu_ui(&mut self, ui: &mut Ui, actions: &mut Vec<Action>) {
        let has_connection = self.document.as_ref().is_some_and(|d| d.connection().is_some());
        let mut picked = None;
        for format in ExportFormat::ALL {
            let kind = ExportKind::Connection(format);
            if ui.add_enabled(has_connection, egui::Button::new(kind.label())).clicked() {
                picked = Some(kind);
            }
        }
        ui.separator();
        let marked = self.table.marked.len();
        let shown = self.document.as_ref().map_or(0, |d| self.table.visible(&d.rows).len());
        for (kind, count) in [(ExportKind::MarkedPcapng, marked), (ExportKind::ShownPcapng, shown)] {
            let button = egui::Button::new(format!("{} ({count})", kind.label()));
            if ui.add_enabled(count > 0, button).clicked() {
                picked = Some(kind);
            }
        }
        ui.separator();
        let chart_ready = self.document.is_some() && (has_connection || !self.charts.chart.per_connection());
        for kind in [ExportKind::ChartSvg, ExportKind::ChartPng] {
            let text = format!("{} ({})", kind.label(), self.charts.chart.name());
            if ui.add_enabled(chart_ready, egui::Button::new(text)).clicked() {
                picked = Some(kind);
            }
        }
        if let Some(kind) = picked {
            ui.close();
            actions.push(Action::Export(kind));
        }
    }

    /// Writes `kind` where the save dialog says, or beside the capture when the system has no
    /// dialog; says where in the window.
    pub fn export(&mut self, kind: ExportKind) {
        let Some(document) = &mut self.document else { return };
        let mut name = kind.file_name(document.selected_conn, self.charts.chart);
        if let (Some(several), ExportKind::Connection(format)) = (&document.several, kind) {
            let ids: Vec<String> = several.ids.iter().take(8).map(u32::to_string).collect();
            let more = if several.ids.len() > 8 { "-and-more" } else { "" };
            name = format!("connections-{}{more}.{}", ids.join("-"), format.extension());
        }
        let asked = Instant::now();
        let picked =
            rfd::FileDialog::new().set_file_name(&name).add_filter(kind.extension(), &[kind.extension()]).save_file();
        let path = match picked {
            Some(path) => path,
            None if asked.elapsed() < NO_DIALOG_WITHIN => crate::session::export::fallback_path(&document.path, &name),
            None => return,
        };
        let written = match kind {
            ExportKind::MarkedPcapng | ExportKind::ShownPcapng => {
                let ids: Vec<u32> = if kind == ExportKind::MarkedPcapng {
                    self.table.marked.iter().copied().collect()
                } else {
                    self.table.visible(&document.rows).to_vec()
                };
                write_connections(document, &ids, &path)
            }
            ExportKind::ChartSvg | ExportKind::ChartPng => {
                let svg = self.charts.current(document, None).map(|chart| crate::render::chart_svg(&chart));
                svg.ok_or_else(|| anyhow!("no chart to export"))
                    .and_then(|svg| write_picture(&svg, kind == ExportKind::ChartPng, &path))
            }
            ExportKind::Connection(ExportFormat::Pcapng) => {
                let ids: Vec<u32> = document.selected_conn.into_iter().collect();
                write_connections(document, &ids, &path)
            }
            ExportKind::Connection(format) => write_ladder(document, format, &path),
        };
        match written {
            Ok(()) => self.notice = Some(format!("Saved {}", path.display())),
            Err(err) => self.error = Some(format!("Could not export to {}: {err:#}", path.display())),
        }
    }
}

/// Writes the packets of the connections `ids` as a new pcapng.
fn write_connections(document: &Document, ids: &[u32], path: &Path) -> anyhow::Result<()> {
    let connections = ids.iter().filter_map(|&id| document.engine.connection(id));
    write_packets(&document.path, connections, path)?;
    Ok(())
}

/// Writes an SVG, or its PNG at [`PNG_SCALE`].
fn write_picture(svg: &str, as_png: bool, path: &Path) -> anyhow::Result<()> {
    let bytes = if as_png { crate::render::png(svg, PNG_SCALE)? } else { svg.as_bytes().to_vec() };
    // The caller names the path; the error says only what went wrong.
    Ok(std::fs::write(path, bytes)?)
}

/// Writes the shown connection's ladder as the window lays it out (folds the user opened stay
/// open), numbered relatively.
fn write_ladder(document: &mut Document, format: ExportFormat, path: &Path) -> anyhow::Result<()> {
    let capture_end_nanos = document.engine.capture_end_nanos();
    if let Some(several) = &document.several {
        // Several connections on one ladder export as shown.
        let connections: Vec<_> = several.ids.iter().filter_map(|&id| document.engine.connection(id)).collect();
        let export = SeveralExport {
            connections: &connections,
            layout: &several.layout,
            story: &several.story,
            capture_end_nanos,
            numbering: Numbering::Relative,
            png_scale: PNG_SCALE,
        };
        return Ok(std::fs::write(path, several_bytes(format, &export)?)?);
    }
    document.layout();
    let (Some(connection), Some(layout)) = (document.connection(), document.layout_cached()) else {
        return Err(anyhow!("no connection"));
    };
    let notes = document.row().map(|row| row.finding_notes(connection)).unwrap_or_default();
    let findings: Vec<(u32, &str)> = notes.iter().map(|(frame, text)| (*frame, text.as_str())).collect();
    let ladder = LadderExport {
        connection,
        layout,
        findings: &findings,
        conversation: document.engine.conversation(connection.id),
        capture_end_nanos,
        numbering: Numbering::Relative,
        png_scale: PNG_SCALE,
    };
    let bytes = ladder_bytes(format, &ladder)?;
    // The caller names the path; the error says only what went wrong.
    Ok(std::fs::write(path, bytes)?)
}
