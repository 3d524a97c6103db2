//! Ladder diagrams: labels and layout of a connection, free of any UI toolkit.

pub mod label;
pub mod text;

pub use label::{segment_label, Numbering};
pub use text::render_text_ladder;
