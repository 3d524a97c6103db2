//! The title row of a panel docked in the left column (live capture, lesson): its name and a
//! button that closes it.

use egui::{RichText, Ui};

/// A docked panel's title with a close button; true when it was clicked.
pub fn docked_header_ui(ui: &mut Ui, title: &str) -> bool {
    let mut close = false;
    ui.horizontal(|ui| {
        // Room for the close button: a long title is cut with an ellipsis, whole on hover.
        let room = (ui.available_width() - 60.0).max(80.0);
        ui.scope(|ui| {
            ui.set_max_width(room);
            ui.add(egui::Label::new(RichText::new(title).heading()).truncate()).on_hover_text(title);
        });
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            close = ui.small_button("close").on_hover_text("close this panel").clicked();
        });
    });
    close
}
