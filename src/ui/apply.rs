//! What each action does to the app: one place where a key, a click or a menu item takes effect,
//! once per frame, after the panels were drawn.

use super::action::{Action, SeveralKind};
use super::app::TcpLadderApp;
use super::ladder_view::select_segment;
use crate::session::several::{Choice, Several};

impl TcpLadderApp {
    /// Does what the user asked for this frame.
    pub(super) fn apply(&mut self, ctx: &egui::Context, action: Action) {
        match action {
            Action::Open(path) => self.open(ctx, &path),
            Action::OpenDialog => self.open_dialog(ctx),
            Action::OpenTwoDialog => self.open_two_dialog(ctx),
            Action::OpenBundledSample => {
                if let Some(sample) = crate::samples::bundled_sample() {
                    self.open(ctx, &sample);
                }
            }
            Action::Quit => ctx.send_viewport_cmd(egui::ViewportCommand::Close),
            Action::ShowLiveWindow => self.live.show_window(),
            Action::StartLesson(lesson) => self.start_lesson(ctx, lesson),
            Action::Export(kind) => self.export(kind),
            Action::Move(step) => {
                let Some(document) = &mut self.document else { return };
                let Some(count) = document.connection().map(|c| c.segments.len()).filter(|&n| n > 0) else { return };
                let target = step.target(document.selected_segment, count);
                select_segment(document, &mut self.view, target);
                // Moving by hand pauses following the newest segment of a live capture.
                self.live.follow = false;
            }
            Action::Select(index) => {
                if let Some(document) = &mut self.document {
                    select_segment(document, &mut self.view, index);
                }
            }
            Action::ShowFrame { conn, frame } => {
                let Some(document) = &mut self.document else { return };
                document.select_connection(conn);
                let index = document.connection().and_then(|c| c.segments.iter().position(|s| s.frame == frame));
                if let Some(index) = index {
                    select_segment(document, &mut self.view, index);
                }
            }
            Action::NextFinding => self.next_finding(),
            Action::ToggleConversation => self.show_conversation = !self.show_conversation,
            Action::ToggleMachine => self.show_machine = !self.show_machine,
            Action::ToggleDetails => {
                self.settings.show_details = !self.settings.show_details;
                self.apply(ctx, Action::SettingsChanged);
            }
            Action::ClearSelection => {
                if let Some(document) = &mut self.document {
                    // Esc leaves the several-connection ladder first, then clears the selection.
                    if document.several.take().is_none() {
                        document.selected_segment = None;
                    }
                }
            }
            Action::Zoom(zoom) => self.view.zoom = zoom.apply(self.view.zoom),
            Action::SettingsChanged => self.apply_settings(ctx),
            Action::ShowSeveral(kind) => self.show_several(kind),
            Action::ShowOne => {
                if let Some(document) = &mut self.document {
                    document.several = None;
                }
            }
        }
    }

    /// Lays out the connections `kind` names and draws them together.
    fn show_several(&mut self, kind: SeveralKind) {
        let Some(document) = &mut self.document else { return };
        let choice = match kind {
            SeveralKind::Marked => Choice::Marked(self.table.marked.iter().copied().collect()),
            SeveralKind::Filtered => Choice::Filtered(self.table.visible(&document.rows).to_vec()),
            SeveralKind::Chain => match document.selected_conn {
                Some(id) => Choice::Chain(id),
                None => return,
            },
            SeveralKind::Port => match document.selected_conn {
                Some(id) => Choice::Port(id),
                None => return,
            },
        };
        document.several = Several::choose(&document.engine, &document.rows, &choice);
        self.show_machine = false;
    }

    fn next_finding(&mut self) {
        let Some(document) = &mut self.document else { return };
        let Some(row) = document.row() else { return };
        let frames = row.finding_frames();
        let Some(connection) = document.connection() else { return };
        let current_frame = document.selected_segment.and_then(|i| connection.segments.get(i)).map_or(0, |s| s.frame);
        let next = frames.iter().find(|&&f| f > current_frame).or(frames.first()).copied();
        if let Some(index) = next.and_then(|f| connection.segments.iter().position(|s| s.frame == f)) {
            select_segment(document, &mut self.view, index);
        }
    }
}
