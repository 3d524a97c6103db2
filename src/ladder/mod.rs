//! Ladder diagrams: labels, layout and explanations of a connection, free of any UI toolkit. The
//! window and [`crate::render`] both draw this layout.

pub mod explain;
pub mod fold_contents;
pub mod label;
pub mod layout;
pub mod multi;
pub mod notes;
pub mod phases;
pub mod predict;
pub mod two_views;

pub use explain::explain_change;
pub use label::{segment_label, Numbering};
pub use layout::{LadderLayout, LayoutOptions, Phase, RowKind};
pub use notes::{finding_notes, ArrowNote};
