//! Ladder diagrams: labels, layout and explanations of a connection, free of any UI toolkit.

pub mod explain;
pub mod export;
pub mod label;
pub mod layout;
pub mod text;

pub use explain::explain_change;
pub use label::{segment_label, Numbering};
pub use layout::{LadderLayout, LayoutOptions, Phase, RowKind};
pub use text::render_text_ladder;
