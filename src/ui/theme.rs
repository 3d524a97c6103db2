//! Colours: the one palette ([`crate::analysis::palette`]) in egui's colour type, so the table,
//! the ladder, the details and the exports agree.

use egui::Color32;

use crate::analysis::palette::{self, Colour};
use crate::tcp::TcpState;

fn color32(colour: Colour) -> Color32 {
    let [r, g, b] = colour.rgb;
    Color32::from_rgb(r, g, b)
}

/// Fill colour of a state pill; readable text on it is [`pill_text`].
pub fn state_fill(state: TcpState, dark: bool) -> Color32 {
    color32(palette::state_fill(state, dark))
}

/// Text colour on a state pill.
pub fn pill_text(dark: bool) -> Color32 {
    color32(palette::pill_text(dark))
}

/// A reset: red in both themes.
pub fn reset_colour(dark: bool) -> Color32 {
    color32(palette::reset(dark))
}

/// Trouble short of a reset (retransmission, zero window, write after close): amber.
pub fn warning_colour(dark: bool) -> Color32 {
    color32(palette::warning(dark))
}

/// A line in a state's colour (chart series, phase brackets).
pub fn state_line(state: TcpState) -> Color32 {
    color32(palette::state_line(state))
}

/// egui's fonts, with Hack behind Ubuntu-Light for proportional text: labels use arrows (→ ←)
/// and triangles (▲ ▼) that only Hack has, and must not depend on the system's fonts.
pub fn install_fonts(ctx: &egui::Context) {
    let mut fonts = egui::FontDefinitions::default();
    if let Some(family) = fonts.families.get_mut(&egui::FontFamily::Proportional) {
        family.insert(1.min(family.len()), "Hack".to_owned());
    }
    ctx.set_fonts(fonts);
}
