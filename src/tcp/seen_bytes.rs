//! Which of one direction's sequence numbers the capture has already shown, above what the peer
//! acknowledged: the evidence that decides retransmission against out-of-order. Wireshark decides
//! by timing (a segment below the highest one, within an RTT of it, is "out-of-order"), which
//! during SACK recovery on a fast path calls most retransmissions out-of-order; bytes the capture
//! has seen before are sent again, whatever the timing.

use crate::wire::seq::{seq_ge, seq_gt, seq_lt};

/// How many separate ranges are kept: one per hole in flight, plus one. With more holes, the two
/// closest ranges merge (the bytes between are taken as seen: a possible out-of-order segment there
/// reads as a retransmission, the safe side for a tool about loss).
const RANGES: usize = 4;

/// Half-open sequence ranges `[start, end)` of one direction, sorted, not touching.
#[derive(Debug, Clone, Copy, Default)]
pub struct SeenBytes {
    ranges: [(u32, u32); RANGES],
    len: u8,
}

impl SeenBytes {
    fn ranges(&self) -> &[(u32, u32)] {
        self.ranges.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// True when any of `[start, end)` was seen.
    pub fn overlaps(&self, start: u32, end: u32) -> bool {
        self.ranges().iter().any(|&(from, to)| seq_lt(start, to) && seq_gt(end, from))
    }

    /// True when one range holds everything seen and it ends at `end`: no gap left.
    pub fn is_contiguous_to(&self, end: u32) -> bool {
        matches!(self.ranges(), [(_, to)] if *to == end)
    }

    /// Records `[start, end)` as seen.
    pub fn insert(&mut self, start: u32, end: u32) {
        if !seq_gt(end, start) {
            return;
        }
        let mut merged = (start, end);
        let mut kept = [(0, 0); RANGES + 1];
        let mut count = 0;
        for &(from, to) in self.ranges() {
            if seq_ge(to, merged.0) && seq_ge(merged.1, from) {
                merged = (min_seq(from, merged.0), max_seq(to, merged.1));
            } else if let Some(slot) = kept.get_mut(count) {
                *slot = (from, to);
                count += 1;
            }
        }
        if let Some(slot) = kept.get_mut(count) {
            *slot = merged;
            count += 1;
        }
        let ranges = kept.get_mut(..count).unwrap_or_default();
        ranges.sort_unstable_by(|a, b| order(a.0, b.0));
        self.store(ranges);
    }

    /// Forgets what lies below `ack`: the peer has those bytes, and a segment there is a
    /// (spurious) retransmission by that fact alone.
    pub fn forget_below(&mut self, ack: u32) {
        let mut kept = [(0, 0); RANGES];
        let mut count = 0;
        for &(from, to) in self.ranges() {
            if seq_gt(to, ack) {
                if let Some(slot) = kept.get_mut(count) {
                    *slot = (if seq_lt(from, ack) { ack } else { from }, to);
                    count += 1;
                }
            }
        }
        self.ranges = kept;
        self.len = count as u8;
    }

    /// Keeps at most [`RANGES`] ranges, merging the two with the smallest gap between them.
    fn store(&mut self, ranges: &mut [(u32, u32)]) {
        let mut count = ranges.len();
        while count > RANGES {
            let narrowest = (1..count)
                .min_by_key(|&i| {
                    let (Some(left), Some(right)) = (ranges.get(i - 1), ranges.get(i)) else { return u32::MAX };
                    right.0.wrapping_sub(left.1)
                })
                .unwrap_or(1);
            let right_end = ranges.get(narrowest).map(|right| right.1);
            if let (Some(end), Some(left)) = (right_end, ranges.get_mut(narrowest - 1)) {
                left.1 = end;
            }
            ranges.copy_within(narrowest + 1..count, narrowest);
            count -= 1;
        }
        for (slot, &range) in self.ranges.iter_mut().zip(ranges.iter().take(count)) {
            *slot = range;
        }
        self.len = count as u8;
    }
}

fn min_seq(a: u32, b: u32) -> u32 {
    if seq_lt(a, b) {
        a
    } else {
        b
    }
}

fn max_seq(a: u32, b: u32) -> u32 {
    if seq_gt(a, b) {
        a
    } else {
        b
    }
}

fn order(a: u32, b: u32) -> std::cmp::Ordering {
    if seq_lt(a, b) {
        std::cmp::Ordering::Less
    } else if a == b {
        std::cmp::Ordering::Equal
    } else {
        std::cmp::Ordering::Greater
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hole_is_unseen_until_filled() {
        let mut seen = SeenBytes::default();
        seen.insert(100, 200);
        seen.insert(300, 400);
        assert!(seen.overlaps(150, 160));
        assert!(!seen.overlaps(200, 300));
        assert!(seen.overlaps(250, 301));
        seen.insert(200, 300);
        assert_eq!(seen.ranges(), [(100, 400)]);
    }

    #[test]
    fn acknowledged_bytes_are_forgotten_and_ranges_stay_few() {
        let mut seen = SeenBytes::default();
        for start in (0..10).map(|i| i * 1000) {
            seen.insert(start, start + 100);
        }
        assert_eq!(seen.ranges().len(), RANGES);
        assert!(seen.overlaps(9000, 9100) && seen.overlaps(0, 50));
        seen.forget_below(9050);
        assert_eq!(seen.ranges(), [(9050, 9100)]);
    }

    #[test]
    fn ranges_wrap_around_the_sequence_space() {
        let mut seen = SeenBytes::default();
        seen.insert(u32::MAX - 10, 20);
        assert!(seen.overlaps(u32::MAX, 1));
        assert!(seen.overlaps(5, 6));
        assert!(!seen.overlaps(20, 30));
    }
}
