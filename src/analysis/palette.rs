//! One palette for the window, the SVG and PNG exports and the charts: each state is coloured by
//! its phase ([`TcpState::phase`]), a reset is red and trouble short of it amber, in both themes.

use crate::tcp::{StatePhase, TcpState};

/// An sRGB colour with its opacity (0..=1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Colour {
    pub rgb: [u8; 3],
    pub opacity: f32,
}

impl Colour {
    pub const fn rgb(r: u8, g: u8, b: u8) -> Self {
        Self { rgb: [r, g, b], opacity: 1.0 }
    }

    pub const fn faded(self, opacity: f32) -> Self {
        Self { rgb: self.rgb, opacity }
    }

    /// `#rrggbb`, for SVG.
    pub fn hex(self) -> String {
        let [r, g, b] = self.rgb;
        format!("#{r:02x}{g:02x}{b:02x}")
    }
}

/// Fill colour of a state pill; readable text on it is [`pill_text`].
pub fn state_fill(state: TcpState, dark: bool) -> Colour {
    let (light, dark_fill) = match state.phase() {
        StatePhase::Opening => (Colour::rgb(0xcf, 0xe3, 0xff), Colour::rgb(0x1f, 0x3f, 0x6e)),
        StatePhase::Established => (Colour::rgb(0xcd, 0xef, 0xd2), Colour::rgb(0x1e, 0x55, 0x2c)),
        StatePhase::Closing => (Colour::rgb(0xff, 0xe2, 0xb8), Colour::rgb(0x6b, 0x45, 0x10)),
        StatePhase::TimeWait => (Colour::rgb(0xe6, 0xd5, 0xfb), Colour::rgb(0x4b, 0x2e, 0x73)),
        StatePhase::Closed => (Colour::rgb(0xe3, 0xe3, 0xe3), Colour::rgb(0x44, 0x44, 0x44)),
        StatePhase::Unknown => (Colour::rgb(0xf2, 0xf2, 0xf2), Colour::rgb(0x33, 0x33, 0x33)),
    };
    if dark {
        dark_fill
    } else {
        light
    }
}

/// Text colour on a state pill.
pub fn pill_text(dark: bool) -> Colour {
    if dark {
        Colour::rgb(0xf0, 0xf0, 0xf0)
    } else {
        Colour::rgb(0x1a, 0x1a, 0x1a)
    }
}

/// A reset: red in both themes.
pub fn reset(dark: bool) -> Colour {
    if dark {
        Colour::rgb(0xff, 0x6b, 0x6b)
    } else {
        Colour::rgb(0xc6, 0x28, 0x28)
    }
}

/// Trouble short of a reset (retransmission, zero window, write after close): amber.
pub fn warning(dark: bool) -> Colour {
    if dark {
        Colour::rgb(0xff, 0xc1, 0x4d)
    } else {
        Colour::rgb(0xb3, 0x6b, 0x00)
    }
}

/// A neutral grey, for what has no phase of its own.
pub const GREY: Colour = Colour::rgb(0x80, 0x80, 0x80);

/// The line colour of a state on a chart: its phase's hue (the hue of its pill), in a shade of its
/// own, so that a chart of states tells LISTEN from SYN_SENT and FIN_WAIT_2 from CLOSE_WAIT; strong
/// enough for a thin line on white.
pub fn state_line(state: TcpState) -> Colour {
    match state {
        TcpState::Listen => Colour::rgb(0x0d, 0x47, 0xa1),
        TcpState::SynSent => Colour::rgb(0x1e, 0x6f, 0xd9),
        TcpState::SynReceived => Colour::rgb(0x4f, 0xa3, 0xf7),
        TcpState::Established => Colour::rgb(0x1e, 0x9e, 0x4a),
        TcpState::FinWait1 => Colour::rgb(0xe6, 0x8a, 0x00),
        TcpState::FinWait2 => Colour::rgb(0xa8, 0x5a, 0x00),
        TcpState::CloseWait => Colour::rgb(0xd3, 0x54, 0x00),
        TcpState::Closing => Colour::rgb(0xf5, 0xb0, 0x41),
        TcpState::LastAck => Colour::rgb(0x8d, 0x6e, 0x00),
        TcpState::TimeWait => Colour::rgb(0x8e, 0x44, 0xd6),
        TcpState::Closed | TcpState::Unknown => GREY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_of_one_phase_share_their_pill_colour_and_each_has_its_own_line() {
        assert_eq!(state_fill(TcpState::CloseWait, false), state_fill(TcpState::FinWait1, false));
        // On a chart, each state its own shade: the states chart must tell them apart.
        let lines: std::collections::BTreeSet<String> =
            TcpState::ALL.iter().skip(2).map(|state| state_line(*state).hex()).collect();
        assert_eq!(lines.len(), TcpState::ALL.len() - 2);
        assert_ne!(state_fill(TcpState::Established, true), state_fill(TcpState::TimeWait, true));
        assert_eq!(state_fill(TcpState::Established, false).hex(), "#cdefd2");
    }
}
