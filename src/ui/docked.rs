//! The live-capture and lesson panels, docked at the top of the left column above the
//! connection table: floating windows covered the table and the ladder's time column.

use egui::Ui;

use super::app::TcpLadderApp;
use super::ladder_view::select_segment;
use super::lesson_panel::LessonRequest;

/// The most of the left column's height the docked panels take; the table keeps the rest.
const DOCKED_SHARE: f32 = 0.5;

impl TcpLadderApp {
    /// The open live-capture and lesson panels, scrolled within their share of the column.
    pub(super) fn docked_ui(&mut self, ui: &mut Ui) {
        let lesson_shown = self.lesson_open && self.lesson.is_some();
        if !self.live.open && !lesson_shown {
            return;
        }
        let mut clear = false;
        let mut request = LessonRequest::None;
        egui::ScrollArea::vertical()
            .id_salt("docked")
            .max_height(ui.available_height() * DOCKED_SHARE)
            .auto_shrink([false, true])
            .show(ui, |ui| {
                if let Some(run) = self.lesson.as_mut().filter(|_| self.lesson_open) {
                    request = run.docked_ui(ui, self.document.as_ref(), &mut self.lesson_open);
                    ui.separator();
                }
                if self.live.open {
                    clear = self.live.docked_ui(ui, self.document.as_ref());
                }
            });
        ui.separator();
        if clear {
            self.document = None;
        }
        if let (LessonRequest::Select(index), Some(document)) = (request, &mut self.document) {
            let last = document.connection().map_or(0, |c| c.segments.len().saturating_sub(1));
            select_segment(document, &mut self.view, index.min(last));
            self.live.follow = false;
        }
    }
}
