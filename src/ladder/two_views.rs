//! One connection seen from both ends (two captures merged): each arrow runs from the time its
//! sender's capture saw it leave to the time the receiver's capture saw it arrive, so its slope is
//! the real one-way delay relative to everything else that happened; a segment only its sender's
//! side saw was lost between the two (it ends in an ×). The vertical axis orders events (sends and
//! arrivals), as a textbook draws them, rather than scaling time, where microsecond delays beside
//! second-long pauses would draw every arrow flat.

use crate::analysis::merge::Merged;
use crate::tcp::Connection;
use crate::wire::Side;

/// One segment between the two ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Crossing {
    pub from: Side,
    /// The segment in the capture that saw it: (true for B, index in that capture's connection).
    pub segment: (bool, usize),
    /// When it left and arrived, on A's clock (B's corrected); `None` when that end did not see it.
    pub sent_nanos: Option<i64>,
    pub arrived_nanos: Option<i64>,
    /// Rows (event ranks) of its two ends; a lost segment's arrival row is where it would be.
    pub sent_row: usize,
    pub arrived_row: usize,
}

impl Crossing {
    /// Seen leaving, never arriving: lost between the two vantage points.
    pub fn lost(&self) -> bool {
        self.sent_nanos.is_some() && self.arrived_nanos.is_none()
    }

    /// The one-way delay, when both ends saw it.
    pub fn delay_nanos(&self) -> Option<i64> {
        Some(self.arrived_nanos? - self.sent_nanos?)
    }
}

/// Connection `a` of capture A and `b` of capture B, the same connection from both ends.
#[derive(Debug, Clone, PartialEq)]
pub struct TwoViews {
    /// The side capture A was taken on.
    pub a_side: Side,
    pub crossings: Vec<Crossing>,
    /// Distinct event times, one row each.
    pub rows: usize,
}

impl TwoViews {
    /// Lays out connection `a` (of A) with its match `b` (of B) as `merged` paired them.
    pub fn new(a: &Connection, b: &Connection, merged: &Merged) -> Option<Self> {
        let &(b_id, a_side) = merged.vantage.get(&a.id)?;
        if b_id != b.id {
            return None;
        }
        let offset = merged.offset_nanos.unwrap_or(0);
        let mut in_b = vec![None; a.segments.len()];
        let mut seen_in_a = vec![false; b.segments.len()];
        for pair in merged.pairs.iter().filter(|p| p.a.0 == a.id && p.b.0 == b.id) {
            if let (Some(slot), Some(seen)) = (in_b.get_mut(pair.a.1), seen_in_a.get_mut(pair.b.1)) {
                *slot = Some(pair.b.1);
                *seen = true;
            }
        }
        let b_time = |index: usize| b.segments.get(index).map(|s| s.ts_nanos + offset);
        let mut crossings = Vec::new();
        for (index, segment) in a.segments.iter().enumerate() {
            let from = segment.dir.sender();
            let other = in_b.get(index).copied().flatten().and_then(b_time);
            let (sent, arrived) =
                if from == a_side { (Some(segment.ts_nanos), other) } else { (other, Some(segment.ts_nanos)) };
            crossings.push(Crossing {
                from,
                segment: (false, index),
                sent_nanos: sent,
                arrived_nanos: arrived,
                sent_row: 0,
                arrived_row: 0,
            });
        }
        // What only B saw: sent from B's side and never seen arriving at A's.
        for (index, segment) in
            b.segments.iter().enumerate().filter(|(i, _)| !seen_in_a.get(*i).copied().unwrap_or(true))
        {
            let from = segment.dir.sender();
            let at = Some(segment.ts_nanos + offset);
            let (sent, arrived) = if from == a_side { (None, at) } else { (at, None) };
            crossings.push(Crossing {
                from,
                segment: (true, index),
                sent_nanos: sent,
                arrived_nanos: arrived,
                sent_row: 0,
                arrived_row: 0,
            });
        }
        crossings.sort_by_key(|c| c.sent_nanos.or(c.arrived_nanos).unwrap_or(0));
        // Rows: the distinct times of every send and arrival, in order.
        let mut times: Vec<i64> = crossings.iter().flat_map(|c| [c.sent_nanos, c.arrived_nanos]).flatten().collect();
        times.sort_unstable();
        times.dedup();
        let row_of = |t: i64| times.partition_point(|&x| x < t);
        for crossing in &mut crossings {
            let sent = crossing.sent_nanos.map(row_of);
            let arrived = crossing.arrived_nanos.map(row_of);
            crossing.sent_row = sent.or(arrived).unwrap_or(0);
            // A lost segment is drawn to where the next event is.
            crossing.arrived_row = arrived.unwrap_or(crossing.sent_row + 1);
        }
        Some(Self { a_side, crossings, rows: times.len() + 1 })
    }

    /// Segments lost between the two vantage points.
    pub fn lost(&self) -> usize {
        self.crossings.iter().filter(|c| c.lost()).count()
    }
}
