//! What the keyboard, the menus and the panels ask for, as values: collected while a frame is
//! drawn and applied once after it (`TcpLadderApp::apply`), so each request has one meaning
//! wherever it comes from and no panel needs to reach into another's state.

use std::path::PathBuf;

use egui::Key;

use crate::lessons::Lesson;

use super::export_kind::ExportKind;

/// One request of the user's.
#[derive(Clone)]
pub enum Action {
    Open(PathBuf),
    OpenDialog,
    /// Open two captures of the same traffic, one from each end.
    OpenTwoDialog,
    OpenBundledSample,
    Quit,
    ShowLiveWindow,
    StartLesson(&'static Lesson),
    Export(ExportKind),
    /// Move the segment selection.
    Move(Move),
    /// Select this segment of the shown connection.
    Select(usize),
    /// Show connection `conn` with the segment of `frame` selected (from the Requests tab).
    ShowFrame {
        conn: u32,
        frame: u32,
    },
    NextFinding,
    /// Show or hide the Conversation pane (Follow stream).
    ToggleConversation,
    /// Show or hide the This machine view (the kernel's own socket table).
    ToggleMachine,
    /// Fold or unfold the details panel beside the ladder (F9), remembered.
    ToggleDetails,
    ClearSelection,
    Zoom(Zoom),
    /// The View menu changed a setting: apply the theme and numbering.
    SettingsChanged,
    /// Draw several connections on one ladder.
    ShowSeveral(SeveralKind),
    /// Back to the ladder of one connection.
    ShowOne,
}

/// Which connections to draw together, as the menu and the keys name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeveralKind {
    /// The connections marked in the table (Shift+M).
    Marked,
    /// The selected connection and its chain (Shift+C).
    Chain,
    /// Every connection to or from the selected connection's server port (Shift+P).
    Port,
    /// What the table's filter shows (Shift+F).
    Filtered,
}

/// A move of the segment selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    Next,
    Previous,
    PageDown,
    PageUp,
    First,
    Last,
}

/// Segments a page key moves by.
const PAGE: usize = 20;

impl Move {
    /// The segment selected after the move, from `current` among `count` (> 0) segments.
    pub fn target(self, current: Option<usize>, count: usize) -> usize {
        let last = count.saturating_sub(1);
        match (self, current) {
            (Self::First, _) => 0,
            (Self::Last, _) => last,
            (_, None) => 0,
            (Self::Next, Some(c)) => (c + 1).min(last),
            (Self::Previous, Some(c)) => c.saturating_sub(1),
            (Self::PageDown, Some(c)) => (c + PAGE).min(last),
            (Self::PageUp, Some(c)) => c.saturating_sub(PAGE),
        }
    }
}

/// A change of the ladder's zoom.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Zoom {
    In,
    Out,
    Reset,
    /// Ctrl+wheel or a pinch, by this factor.
    By(f32),
}

pub const MIN_ZOOM: f32 = 0.4;
pub const MAX_ZOOM: f32 = 3.0;
/// What one press of `+` or `-` multiplies the zoom by.
const ZOOM_STEP: f32 = 1.15;

impl Zoom {
    /// The zoom after this change, within [`MIN_ZOOM`, `MAX_ZOOM`].
    pub fn apply(self, zoom: f32) -> f32 {
        match self {
            Self::In => (zoom * ZOOM_STEP).min(MAX_ZOOM),
            Self::Out => (zoom / ZOOM_STEP).max(MIN_ZOOM),
            Self::Reset => 1.0,
            Self::By(factor) => (zoom * factor).clamp(MIN_ZOOM, MAX_ZOOM),
        }
    }
}

/// The actions this frame's keys ask for; none while a text field has the keyboard.
pub fn keyboard_actions(ctx: &egui::Context) -> Vec<Action> {
    if ctx.egui_wants_keyboard_input() {
        return Vec::new();
    }
    ctx.input(|input| {
        let mut actions = Vec::new();
        let pressed = |keys: &[Key]| keys.iter().any(|&key| input.key_pressed(key));
        let moves = [
            (&[Key::J, Key::ArrowDown][..], Move::Next),
            (&[Key::K, Key::ArrowUp][..], Move::Previous),
            (&[Key::PageDown][..], Move::PageDown),
            (&[Key::PageUp][..], Move::PageUp),
            (&[Key::Home][..], Move::First),
            (&[Key::End][..], Move::Last),
        ];
        // One move a frame, the first that applies, as the keys are listed.
        if let Some(&(_, step)) = moves.iter().find(|(keys, _)| pressed(keys)) {
            actions.push(Action::Move(step));
        }
        let pinch = input.zoom_delta();
        if pinch != 1.0 {
            actions.push(Action::Zoom(Zoom::By(pinch)));
        }
        for (keys, zoom) in
            [(&[Key::Plus, Key::Equals][..], Zoom::In), (&[Key::Minus], Zoom::Out), (&[Key::Num0], Zoom::Reset)]
        {
            if pressed(keys) {
                actions.push(Action::Zoom(zoom));
            }
        }
        if pressed(&[Key::N]) {
            actions.push(Action::NextFinding);
        }
        // The key event's own modifiers: the frame's may already have been released.
        let with_shift = |wanted: Key| {
            input.events.iter().any(|event| {
                matches!(event, egui::Event::Key { key, pressed: true, modifiers, .. } if *key == wanted && modifiers.shift)
            })
        };
        let shift = input.modifiers.shift || [Key::M, Key::C, Key::P, Key::F].into_iter().any(with_shift);
        for (key, kind) in [
            (Key::M, SeveralKind::Marked),
            (Key::C, SeveralKind::Chain),
            (Key::P, SeveralKind::Port),
            (Key::F, SeveralKind::Filtered),
        ] {
            if with_shift(key) || (input.modifiers.shift && pressed(&[key])) {
                actions.push(Action::ShowSeveral(kind));
            }
        }
        if !shift && pressed(&[Key::C]) {
            actions.push(Action::ToggleConversation);
        }
        if !shift && pressed(&[Key::M]) {
            actions.push(Action::ToggleMachine);
        }
        if pressed(&[Key::F9]) {
            actions.push(Action::ToggleDetails);
        }
        if pressed(&[Key::Escape]) {
            actions.push(Action::ClearSelection);
        }
        actions
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_stay_within_the_segments() {
        assert_eq!(Move::Next.target(None, 5), 0);
        assert_eq!(Move::Next.target(Some(4), 5), 4);
        assert_eq!(Move::PageDown.target(Some(1), 5), 4);
        assert_eq!(Move::PageUp.target(Some(30), 50), 10);
        assert_eq!(Move::Last.target(None, 5), 4);
        assert_eq!(Move::Previous.target(Some(0), 5), 0);
    }

    #[test]
    fn zoom_stays_within_its_bounds() {
        assert_eq!(Zoom::In.apply(MAX_ZOOM), MAX_ZOOM);
        assert_eq!(Zoom::Out.apply(MIN_ZOOM), MIN_ZOOM);
        assert_eq!(Zoom::By(100.0).apply(1.0), MAX_ZOOM);
        assert_eq!(Zoom::Reset.apply(2.0), 1.0);
        assert!((Zoom::In.apply(1.0) - 1.15).abs() < 1e-6);
    }
}
