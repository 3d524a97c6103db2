//! Pictures for slides: charts as SVG, and any SVG as PNG.

pub mod chart_svg;
pub mod png;

pub use chart_svg::chart_svg;
pub use png::{png, PngError};

/// Escapes text for XML (SVG text and attributes).
pub fn xml(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
