//! The panels beside the ladder: the connection table on the left, the selected segment's
//! details and the findings on the right, and the one-line summary above the ladder.

use egui::{RichText, Ui};

use crate::summary::ConnRow;

use super::action::Action;
use super::app::TcpLadderApp;
use super::charts::charts_ui;
use super::conn_table::{filters_ui, state_counts_ui, table_ui};
use super::conversation_pane::conversation_ui;
use super::details::{diagnoses_ui, segment_details_ui};
use super::ladder_view::{ladder_ui, select_segment};
use super::machine_view::{kernel_line_ui, machine_ui};
use super::requests_panel::requests_ui;
use super::several_view::several_ui;
use super::sizes::{CHARTS_MIN_HEIGHT, DETAILS_MAX_WIDTH, DETAILS_MIN_WIDTH, DETAILS_WIDTH, LADDER_MIN_WIDTH};
use super::two_views_view::two_views_ui;

impl TcpLadderApp {
    pub(super) fn connections_ui(&mut self, ui: &mut Ui, actions: &mut Vec<Action>) {
        let rows: &[ConnRow] = match (&self.document, &self.loading) {
            (_, Some(loading)) if self.document.is_none() => &loading.rows,
            (Some(document), _) => &document.rows,
            _ => &[],
        };
        ui.horizontal(|ui| {
            ui.selectable_value(
                &mut self.show_requests,
                false,
                RichText::new(format!("Connections ({})", rows.len())).heading(),
            );
            ui.selectable_value(&mut self.show_requests, true, RichText::new("Requests").heading());
        });
        if self.show_requests {
            if let Some(document) = &self.document {
                requests_ui(ui, document, &mut self.requests, actions);
            }
            return;
        }
        let evicted = self.document.as_ref().map_or(0, |d| d.engine.stats().evicted_connections);
        if evicted > 0 {
            ui.label(
                RichText::new(format!("{evicted} older connections were dropped to stay under the memory limit."))
                    .color(ui.visuals().warn_fg_color),
            );
        }
        let warnings = self.document.as_ref().map(|d| d.engine.quality().warnings()).unwrap_or_default();
        if !warnings.is_empty() {
            egui::CollapsingHeader::new(
                RichText::new(format!("Capture quality: {} warnings", warnings.len()))
                    .color(ui.visuals().warn_fg_color),
            )
            .id_salt("capture quality")
            .default_open(true)
            .show(ui, |ui| {
                for warning in &warnings {
                    ui.label(warning);
                }
            });
        }
        if rows.is_empty() && self.loading.is_none() && self.error.is_some() {
            ui.label(RichText::new("Nothing to list: the file could not be read (the message above says why).").weak());
            return;
        }
        let nothing_dropped = std::collections::BTreeMap::new();
        let dropped = self.document.as_ref().map_or(&nothing_dropped, |d| &d.engine.stats().evicted_states);
        state_counts_ui(ui, rows, dropped, &mut self.table);
        filters_ui(ui, &mut self.table);
        let selected = self.document.as_ref().and_then(|d| d.selected_conn);
        if let Some(id) = table_ui(ui, rows, &mut self.table, selected) {
            if let Some(document) = &mut self.document {
                document.select_connection(id);
                document.several = None;
            }
            // Choosing a connection by hand stops following the newest one.
            self.live.follow = false;
        }
    }

    pub(super) fn side_panel_ui(&mut self, ui: &mut Ui, actions: &mut Vec<Action>) {
        let Some(document) = &mut self.document else { return };
        let Some(connection) = document.connection() else {
            ui.label("No connection selected.");
            return;
        };
        let findings = document.row().map(|r| r.diagnoses.clone()).unwrap_or_default();
        let frame = document.selected_segment.and_then(|i| connection.segments.get(i)).map(|s| s.frame);
        let waker = ui.ctx().clone();
        let frame_bytes = frame.and_then(|f| document.frame_bytes(f, move || waker.request_repaint()).cloned());
        let Some(connection) = document.connection() else { return };
        egui::ScrollArea::vertical().id_salt("side").show(ui, |ui| {
            match document.selected_segment {
                Some(index) => segment_details_ui(
                    ui,
                    connection,
                    index,
                    &mut self.field,
                    self.view.numbering,
                    frame_bytes.as_ref(),
                ),
                None => {
                    ui.heading("Segment");
                    ui.label(
                        RichText::new(
                            "Click an arrow, or press j, to see every field and why each side's state changed.",
                        )
                        .weak(),
                    );
                }
            }
            // The kernel's view again where the details are read, with the likely reason
            // when it disagrees with the wire (the line above the ladder is easily missed).
            if self.live.running() {
                if let Some(row) = document.row() {
                    ui.separator();
                    ui.heading("The kernel");
                    kernel_line_ui(ui, &self.machine, row.id);
                }
            }
            ui.separator();
            ui.horizontal(|ui| {
                ui.heading("Findings");
                if ui.button("next finding (n)").clicked() {
                    actions.push(Action::NextFinding);
                }
            });
            if let Some(index) = diagnoses_ui(ui, connection, &findings) {
                actions.push(Action::Select(index));
            }
        });
    }

    /// The panes under the ladder: the Conversation (follow stream) and the charts; a click in
    /// either selects a segment.
    pub(super) fn bottom_panels_ui(&mut self, ui: &mut Ui) {
        if self.show_conversation {
            if let Some(document) = &mut self.document {
                let clicked = egui::Panel::bottom("conversation")
                    .resizable(true)
                    .default_size(240.0)
                    .min_size(120.0)
                    .show(ui, |ui| conversation_ui(ui, document, &mut self.conversation))
                    .inner;
                if let Some(index) = clicked {
                    select_segment(document, &mut self.view, index);
                    self.live.follow = false;
                }
            }
        }
        if self.show_charts && !self.details_folded_for_room {
            if let Some(document) = &mut self.document {
                let clicked = egui::Panel::bottom("charts")
                    .resizable(true)
                    .default_size(260.0)
                    .min_size(CHARTS_MIN_HEIGHT)
                    .show(ui, |ui| charts_ui(ui, document, &mut self.charts, self.view.hovered_segment))
                    .inner;
                if let Some(index) = clicked {
                    select_segment(document, &mut self.view, index);
                    self.live.follow = false;
                }
            }
        }
    }

    /// What surrounds and shows a capture: the details on the right, the panes under the
    /// ladder, and the ladder.
    pub(super) fn capture_panels_ui(&mut self, ui: &mut Ui, actions: &mut Vec<Action>) {
        // The ladder keeps its minimum width: the details panel narrows, then moves under the
        // ladder; its width never follows its content, so the ladder does not jump sideways on
        // a selection. F9 hides it either way (remembered).
        let room = ui.available_width() - LADDER_MIN_WIDTH * self.view.zoom;
        self.details_folded_for_room = self.settings.show_details && room < DETAILS_MIN_WIDTH;
        if self.details_folded_for_room {
            // Under the ladder the details and the charts share one pane, as tabs: two panes
            // would leave the ladder no height on a laptop screen.
            egui::Panel::bottom("details-under")
                .resizable(true)
                .default_size(240.0)
                // A chart needs its axes and a few ticks under the tab row.
                .size_range(CHARTS_MIN_HEIGHT..=(ui.available_height() * 0.55).max(CHARTS_MIN_HEIGHT))
                .show(ui, |ui| {
                    ui.horizontal(|ui| {
                        ui.selectable_value(&mut self.charts_under, false, "Segment and findings");
                        ui.selectable_value(&mut self.charts_under, true, "Charts");
                        ui.label(
                            RichText::new("(the window is narrow: these sit under the ladder; F9 hides them)").weak(),
                        );
                    });
                    if self.charts_under {
                        self.charts_tab_ui(ui);
                    } else {
                        self.side_panel_ui(ui, actions);
                    }
                });
        } else if self.settings.show_details {
            egui::Panel::right("details")
                .resizable(true)
                .default_size(DETAILS_WIDTH.min(room))
                .size_range(DETAILS_MIN_WIDTH..=room.min(DETAILS_MAX_WIDTH))
                .show(ui, |ui| {
                    // Wide content (a hex dump, a long option list) scrolls; it never widens
                    // the panel, which would push the ladder sideways.
                    egui::ScrollArea::horizontal()
                        .id_salt("details-h")
                        .auto_shrink([false, false])
                        .show(ui, |ui| self.side_panel_ui(ui, actions));
                });
        }
        self.bottom_panels_ui(ui);
        egui::CentralPanel::default().show(ui, |ui| {
            let Some(document) = &mut self.document else {
                ui.centered_and_justified(|ui| {
                    ui.label(if self.loading.is_some() {
                        "Reading…"
                    } else {
                        "Open a capture: File › Open, or drop it here."
                    });
                });
                return;
            };
            if let Some(several) = &document.several {
                let selected = document.selected_conn.zip(document.selected_segment);
                if let Some(picked) = several_ui(ui, &document.engine, several, &mut self.view, selected) {
                    document.select_connection(picked.conn);
                    document.selected_segment = Some(picked.index);
                    self.live.follow = false;
                }
                return;
            }
            if let (Some(vantage), Some(id)) = (&mut document.vantage, document.selected_conn) {
                if vantage.views_cached(&document.engine, id).is_some() {
                    ui.checkbox(&mut self.view.both_ends, "Draw it from both ends (the two captures)");
                }
            }
            let views = document.vantage.as_ref().and_then(|v| v.views_cached_peek()).filter(|_| self.view.both_ends);
            if let Some(views) = views {
                if let Some(index) = two_views_ui(ui, document, views, &self.view) {
                    document.selected_segment = Some(index);
                }
                return;
            }
            if let Some(row) = document.row() {
                Self::connection_summary_ui(ui, row);
                state_legend_ui(ui);
                if self.live.running() {
                    kernel_line_ui(ui, &self.machine, row.id);
                }
            }
            self.view.kernel = document
                .row()
                .filter(|_| self.live.running())
                .and_then(|row| self.machine.checks.by_connection.get(&row.id))
                .map(|check| {
                    let side = |side| {
                        let differs = check.disagreement.as_ref().is_some_and(|(s, _)| *s == side);
                        (check.kernel[side].describe(), differs)
                    };
                    crate::wire::PerSide {
                        client: side(crate::wire::Side::Client),
                        server: side(crate::wire::Side::Server),
                    }
                });
            self.view.reveal =
                self.lesson.as_ref().filter(|_| self.lesson_open).and_then(super::lesson_panel::LessonRun::revealed);
            if let Some(index) = ladder_ui(ui, document, &mut self.view) {
                document.selected_segment = Some(index);
                self.live.follow = false;
            }
            if self.view.user_scrolled {
                self.live.follow = false;
            }
        });
    }

    /// The This machine view in the ladder's place; a row's ladder button shows that connection.
    pub(super) fn machine_panel_ui(&mut self, ui: &mut Ui) {
        egui::CentralPanel::default().show(ui, |ui| {
            let rows = self.document.as_ref().map_or(&[][..], |d| &d.rows[..]);
            if let Some(id) = machine_ui(ui, &mut self.machine, rows) {
                if let Some(document) = &mut self.document {
                    document.select_connection(id);
                }
                self.show_machine = false;
            }
        });
    }

    /// The charts as a tab of the pane under the ladder; a click selects a segment.
    fn charts_tab_ui(&mut self, ui: &mut Ui) {
        let Some(document) = &mut self.document else { return };
        if let Some(index) = charts_ui(ui, document, &mut self.charts, self.view.hovered_segment) {
            select_segment(document, &mut self.view, index);
            self.live.follow = false;
        }
    }

    /// The selected connection in one line, and its first finding's headline.
    pub(super) fn connection_summary_ui(ui: &mut Ui, row: &ConnRow) {
        ui.label(
            RichText::new(format!(
                "Connection {}: {} → {} · {} segments · {} · {} {}",
                row.id,
                row.client,
                row.server,
                row.packets,
                crate::summary::duration_text(row.duration),
                row.conn_state,
                row.history
            ))
            .strong(),
        );
        let summary =
            row.diagnoses.first().map_or(String::new(), super::super::analysis::diagnose::finding::Diagnosis::headline);
        if !summary.is_empty() {
            ui.label(super::prose::with_code_spans(ui, &summary, true));
        }
    }
}

/// What the pills' colours mean, in one line above the ladder.
fn state_legend_ui(ui: &mut Ui) {
    let dark = ui.visuals().dark_mode;
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 4.0;
        ui.label(RichText::new("state colours:").weak().small());
        for (name, state) in [
            ("opening", crate::tcp::TcpState::SynSent),
            ("established", crate::tcp::TcpState::Established),
            ("closing", crate::tcp::TcpState::FinWait1),
            ("TIME_WAIT", crate::tcp::TcpState::TimeWait),
            ("closed", crate::tcp::TcpState::Closed),
        ] {
            let chip =
                RichText::new(format!(" {name} ")).small().background_color(super::theme::state_fill(state, dark));
            ui.label(chip.color(super::theme::pill_text(dark)));
        }
        let reset = RichText::new(" reset ").small().background_color(super::theme::reset_colour(dark));
        ui.label(reset.color(egui::Color32::WHITE));
    });
}
