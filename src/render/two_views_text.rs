//! One connection seen from both ends, as text: for each segment when it left its sender's
//! capture and reached the receiver's (B's clock corrected), the one-way delay, or that it was
//! lost between the two.

// Every `let _ = write!(…)` below writes into a String, which cannot fail.
use std::fmt::Write as _;

use crate::analysis::exchanges::duration;
use crate::ladder::label::{segment_label, Numbering};
use crate::ladder::two_views::TwoViews;
use crate::tcp::Connection;

/// The text of `views`: connection `a` of capture A and `b` of capture B.
pub fn render_two_views(a: &Connection, b: &Connection, views: &TwoViews, numbering: Numbering) -> String {
    let mut out = String::new();
    let other = views.a_side.other();
    let _ = writeln!(
        out,
        "connection {} seen from both ends: A on the {} side ({}), B on the {} side ({}); {} lost between them",
        a.id,
        views.a_side.name(),
        if views.a_side == crate::wire::Side::Client { a.client } else { a.server },
        other.name(),
        if other == crate::wire::Side::Client { a.client } else { a.server },
        views.lost()
    );
    let start = views.crossings.iter().filter_map(|c| c.sent_nanos.or(c.arrived_nanos)).min().unwrap_or(0);
    let ms = |t: Option<i64>| t.map_or_else(|| "-".to_string(), |t| format!("{:.3}", (t - start) as f64 / 1e6));
    let _ = writeln!(out, "{:>12} {:>12} {:>10}  segment", "sent (ms)", "arrived (ms)", "delay");
    for crossing in &views.crossings {
        let (in_b, index) = crossing.segment;
        let connection = if in_b { b } else { a };
        let Some(segment) = connection.segments.get(index) else { continue };
        let delay = match (crossing.delay_nanos(), crossing.lost()) {
            (Some(nanos), _) => duration(nanos as f64 / 1e9),
            (None, true) => "lost".to_string(),
            (None, false) => "?".to_string(),
        };
        let arrow = if crossing.from == crate::wire::Side::Client { "→" } else { "←" };
        let _ = writeln!(
            out,
            "{:>12} {:>12} {delay:>10}  {arrow} {}",
            ms(crossing.sent_nanos),
            ms(crossing.arrived_nanos),
            segment_label(connection, segment, numbering)
        );
    }
    out
}
