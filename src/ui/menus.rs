//! The frame around the ladder: the menu bar with the path box, and the banners under it
//! (reading progress with Cancel, errors, notices, the first-run hint).

use std::path::PathBuf;

use egui::{Key, RichText, Ui};

use crate::lessons;
use crate::summary::human_bytes;

use super::action::{Action, SeveralKind, Zoom};
use super::app::TcpLadderApp;
use super::ladder_view::TimeMode;

impl TcpLadderApp {
    pub(super) fn menu_ui(&mut self, ui: &mut Ui, actions: &mut Vec<Action>) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                if ui.button("Open…").clicked() {
                    ui.close();
                    actions.push(Action::OpenDialog);
                }
                if ui.button("Open two captures (one from each end)…").clicked() {
                    ui.close();
                    actions.push(Action::OpenTwoDialog);
                }
                ui.menu_button("Open recent", |ui| {
                    if self.settings.recent.is_empty() {
                        ui.label(RichText::new("nothing yet").weak());
                    }
                    for path in &self.settings.recent {
                        if ui.button(path.display().to_string()).clicked() {
                            ui.close();
                            actions.push(Action::Open(path.clone()));
                        }
                    }
                });
                if ui.button("Open the bundled sample").clicked() {
                    ui.close();
                    actions.push(Action::OpenBundledSample);
                }
                ui.separator();
                if ui.button("Quit").clicked() {
                    actions.push(Action::Quit);
                }
            });
            ui.menu_button("Export", |ui| self.export_menu_ui(ui, actions));
            ui.menu_button("Capture", |ui| {
                if ui.button("Live capture…").clicked() {
                    ui.close();
                    actions.push(Action::ShowLiveWindow);
                }
            });
            ui.menu_button("Lessons", |ui| {
                ui.label(RichText::new("performed for real on loopback while capturing it").weak());
                for lesson in lessons::all() {
                    if ui.button(lesson.title).on_hover_text(lesson.question).clicked() {
                        ui.close();
                        actions.push(Action::StartLesson(lesson));
                    }
                }
            });
            ui.menu_button("View", |ui| {
                let mut changed = ui.checkbox(&mut self.settings.dark, "Dark theme").changed();
                changed |= ui.checkbox(&mut self.settings.absolute_numbers, "Absolute sequence numbers").changed();
                ui.separator();
                ui.label("Time column");
                for (mode, name) in [
                    (TimeMode::Relative, "ms since the connection began"),
                    (TimeMode::Absolute, "capture clock, time of day (UTC)"),
                    (TimeMode::Delta, "ms since the previous segment"),
                ] {
                    changed |= ui.radio_value(&mut self.settings.time_mode, mode, name).changed();
                }
                ui.separator();
                ui.checkbox(&mut self.show_charts, "Charts under the ladder");
                ui.checkbox(&mut self.show_conversation, "Conversation (follow stream)  (c)");
                ui.checkbox(&mut self.show_machine, "This machine's sockets, in the ladder's place  (m)");
                changed |= ui.checkbox(&mut self.settings.show_details, "Segment details and findings  (F9)").changed();
                ui.separator();
                ui.label("Several connections on one ladder");
                for (text, kind) in [
                    ("The marked connections  (Shift+M)", SeveralKind::Marked),
                    ("This connection and its chain  (Shift+C)", SeveralKind::Chain),
                    ("Everything to or from this port  (Shift+P)", SeveralKind::Port),
                    ("What the filter shows  (Shift+F)", SeveralKind::Filtered),
                ] {
                    if ui.button(text).clicked() {
                        actions.push(Action::ShowSeveral(kind));
                    }
                }
                if ui.button("One connection  (Esc)").clicked() {
                    actions.push(Action::ShowOne);
                }
                ui.separator();
                for (text, zoom) in
                    [("Zoom in  (+)", Zoom::In), ("Zoom out  (-)", Zoom::Out), ("Reset zoom  (0)", Zoom::Reset)]
                {
                    if ui.button(text).clicked() {
                        actions.push(Action::Zoom(zoom));
                    }
                }
                if changed {
                    actions.push(Action::SettingsChanged);
                }
            });
            ui.menu_button("Help", |ui| {
                ui.label("j / ↓, k / ↑: next, previous segment");
                ui.label("PgDn, PgUp, Home, End: jump");
                ui.label("+, -, 0, Ctrl+wheel: zoom");
                ui.label("n: next finding · Esc: clear selection");
                ui.label("c: conversation · m: this machine's sockets");
                ui.label("Drop a capture on the window to open it.");
            });
            ui.separator();
            ui.toggle_value(&mut self.show_machine, "This machine")
                .on_hover_text("This machine's own TCP sockets, as its kernel sees them (m)");
            ui.separator();
            let response = ui.add(
                egui::TextEdit::singleline(&mut self.typed_path)
                    .hint_text("or type a capture's path and press Enter")
                    .desired_width(320.0),
            );
            if response.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter)) && !self.typed_path.trim().is_empty() {
                actions.push(Action::Open(PathBuf::from(self.typed_path.trim())));
            }
        });
    }

    pub(super) fn banners_ui(&mut self, ui: &mut Ui) {
        if let Some(loading) = &self.loading {
            let progress = loading.progress;
            let fraction =
                if progress.bytes_total > 0 { progress.bytes_read as f32 / progress.bytes_total as f32 } else { 0.0 };
            let mut cancel = false;
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!("Reading {}", loading.handle.path.display()));
                let text = format!(
                    "{} of {} · {} packets · {} connections · {:.1} s",
                    human_bytes(progress.bytes_read),
                    human_bytes(progress.bytes_total),
                    progress.packets,
                    loading.rows.len(),
                    loading.started.elapsed().as_secs_f32()
                );
                ui.add(egui::ProgressBar::new(fraction).text(text).desired_width(420.0));
                cancel = ui.button("Cancel").clicked();
            });
            if cancel {
                loading.handle.cancel();
            }
        }
        let mut dismiss_error = false;
        if let Some(error) = &self.error {
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(format!("Error: {error}")).color(ui.visuals().error_fg_color));
                dismiss_error = ui.small_button("dismiss").clicked();
            });
        }
        if dismiss_error {
            self.error = None;
        }
        let mut dismiss_notice = false;
        if let Some(notice) = &self.notice {
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(notice).color(ui.visuals().warn_fg_color));
                dismiss_notice = ui.small_button("dismiss").clicked();
            });
        }
        if dismiss_notice {
            self.notice = None;
        }
        if self.first_run_hint && self.document.is_some() {
            let mut close = false;
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(
                    "This is a bundled sample: a handshake, a request and a close. Click an arrow (or press j) to see \
                     why each side's state changed. Open your own capture with File › Open, or drop it here.",
                ));
                close = ui.small_button("got it").clicked();
            });
            if close {
                self.first_run_hint = false;
            }
        }
    }
}
