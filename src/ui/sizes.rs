//! The sizes the window's layout keeps to at every window size: the ladder's room first, the
//! panels beside it after.

/// The narrowest the ladder is drawn (its time column, both lifelines with their pills, the
/// addresses), and its vertical scroll bar.
pub const LADDER_MIN_WIDTH: f32 = super::ladder_paint::MIN_LADDER_WIDTH + 16.0;
/// The details panel beside the ladder: its first width, and the range it may be dragged in.
pub const DETAILS_WIDTH: f32 = 320.0;
pub const DETAILS_MIN_WIDTH: f32 = 220.0;
pub const DETAILS_MAX_WIDTH: f32 = 480.0;
/// The lowest the pane holding the charts may be dragged: the plot keeps its axes and ticks.
pub const CHARTS_MIN_HEIGHT: f32 = 180.0;
