//! Colours: every state has one colour by phase, the same in the table, the ladder and the details.

use egui::Color32;

use crate::tcp::TcpState;

/// The phase a state belongs to, which decides its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatePhase {
    Opening,
    Established,
    Closing,
    TimeWait,
    Closed,
    Unknown,
}

/// The phase of a state.
pub fn phase_of(state: TcpState) -> StatePhase {
    use TcpState::*;
    match state {
        Listen | SynSent | SynReceived => StatePhase::Opening,
        Established => StatePhase::Established,
        FinWait1 | FinWait2 | CloseWait | Closing | LastAck => StatePhase::Closing,
        TimeWait => StatePhase::TimeWait,
        Closed => StatePhase::Closed,
        Unknown => StatePhase::Unknown,
    }
}

/// Fill colour of a state pill; readable text on it is [`pill_text`].
pub fn state_fill(state: TcpState, dark: bool) -> Color32 {
    let (light, dark_fill) = match phase_of(state) {
        StatePhase::Opening => (Color32::from_rgb(0xcf, 0xe3, 0xff), Color32::from_rgb(0x1f, 0x3f, 0x6e)),
        StatePhase::Established => (Color32::from_rgb(0xcd, 0xef, 0xd2), Color32::from_rgb(0x1e, 0x55, 0x2c)),
        StatePhase::Closing => (Color32::from_rgb(0xff, 0xe2, 0xb8), Color32::from_rgb(0x6b, 0x45, 0x10)),
        StatePhase::TimeWait => (Color32::from_rgb(0xe6, 0xd5, 0xfb), Color32::from_rgb(0x4b, 0x2e, 0x73)),
        StatePhase::Closed => (Color32::from_rgb(0xe3, 0xe3, 0xe3), Color32::from_rgb(0x44, 0x44, 0x44)),
        StatePhase::Unknown => (Color32::from_rgb(0xf2, 0xf2, 0xf2), Color32::from_rgb(0x33, 0x33, 0x33)),
    };
    if dark {
        dark_fill
    } else {
        light
    }
}

/// Text colour on a state pill.
pub fn pill_text(dark: bool) -> Color32 {
    if dark {
        Color32::from_rgb(0xf0, 0xf0, 0xf0)
    } else {
        Color32::from_rgb(0x1a, 0x1a, 0x1a)
    }
}

/// A reset: red in both themes.
pub fn reset_colour(dark: bool) -> Color32 {
    if dark {
        Color32::from_rgb(0xff, 0x6b, 0x6b)
    } else {
        Color32::from_rgb(0xc6, 0x28, 0x28)
    }
}

/// Trouble short of a reset (retransmission, zero window, write after close): amber.
pub fn warning_colour(dark: bool) -> Color32 {
    if dark {
        Color32::from_rgb(0xff, 0xc1, 0x4d)
    } else {
        Color32::from_rgb(0xb3, 0x6b, 0x00)
    }
}
