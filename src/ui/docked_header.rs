//! The title row of a panel docked in the left column (live capture, lesson): its name and a
//! button that closes it.

use egui::{RichText, Ui};

/// A docked panel's title with a close button; true when it was clicked.
pub fn docked_header_ui(ui: &mut Ui, title: &str) -> bool {
    let mut close = false;
    ui.horizontal(|ui| {
        ui.label(RichText::new(title).heading());
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            close = ui.small_button("close").on_hover_text("close this panel").clicked();
        });
    });
    close
}
