//! Pictures and texts for slides and reports: a connection's ladder as SVG, Mermaid, PlantUML
//! or text, charts as SVG, and any SVG as PNG.

pub mod chart_svg;
pub mod export;
pub mod ladder;
pub mod multi_export;
pub mod multi_text;
pub mod png;
pub mod text;
pub mod two_views_text;

pub use chart_svg::chart_svg;
pub use multi_text::render_multi_text_ladder;
pub use png::{png, PngError};
pub use text::render_text_ladder;

/// Escapes text for XML (SVG text and attributes).
pub fn xml(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
