//! Two captures of the same traffic, from two vantage points (the client's host and the
//! server's): the segments both saw, matched, and the offset of B's clock against A's, found
//! from the one-way delays both ways. A segment sent from A's side reaches B's later; one sent
//! from B's side reaches A's later; the offset is where the two directions' delays agree, and
//! half the gap between them is how sure that is (as NTP bounds a clock from a round trip).

use std::collections::HashMap;

use serde::Serialize;

use crate::tcp::{Connection, Direction, Segment};
use crate::wire::Side;
use crate::Engine;

/// What `tcpladder merge --json` prints.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MergeReport {
    /// Seconds to add to B's clock to put it on A's.
    pub offset: f64,
    /// Half the width of the interval the offset lies in, in seconds.
    pub uncertainty: f64,
    /// Segments found in both captures.
    pub matched: u64,
    pub only_a: u64,
    pub only_b: u64,
}

/// A segment seen in both captures: (connection id, segment index) in A and in B.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair {
    pub a: (u32, usize),
    pub b: (u32, usize),
}

/// The matched segments and the clock offset; `None` for the offset when no segment matched in
/// both directions.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    pub pairs: Vec<Pair>,
    /// For each connection of A seen by B too: B's connection id, and which side A's capture
    /// was taken on (the side whose segments A saw first).
    pub vantage: std::collections::BTreeMap<u32, (u32, Side)>,
    pub offset_nanos: Option<i64>,
    pub uncertainty_nanos: Option<i64>,
    pub only_a: u64,
    pub only_b: u64,
}

impl Merged {
    pub fn report(&self) -> MergeReport {
        MergeReport {
            offset: self.offset_nanos.unwrap_or(0) as f64 / 1e9,
            uncertainty: self.uncertainty_nanos.map_or(f64::INFINITY, |n| n as f64 / 1e9),
            matched: self.pairs.len() as u64,
            only_a: self.only_a,
            only_b: self.only_b,
        }
    }
}

/// What identifies one segment in both captures: its direction and its TCP header's numbers. A
/// retransmission or a duplicate ACK repeats them: such copies pair by time ([`pair_by_time`]).
type Key = (Direction, u32, u32, u32, u16, u16);

fn key(segment: &Segment) -> Key {
    (segment.dir, segment.seq_raw, segment.ack_raw, segment.payload_len, segment.window_raw, segment.flags.0)
}

/// Matches the segments of `a` and `b` and estimates B's clock offset.
pub fn merge(a: &Engine, b: &Engine) -> Merged {
    // Connections of B by their endpoints; a 4-tuple reused pairs in order of appearance.
    let mut in_b: HashMap<(std::net::SocketAddr, std::net::SocketAddr), Vec<&Connection>> = HashMap::new();
    for connection in b.connections() {
        in_b.entry((connection.client, connection.server)).or_default().push(connection);
    }
    let mut pairs = Vec::new();
    let mut vantage = std::collections::BTreeMap::new();
    let mut bounds = Bounds::default();
    // Copies of a segment repeated (retransmissions, duplicate ACKs) wait until the clock is
    // known: they pair by time, not by order, since the first copy may be the one lost.
    let mut repeated: Vec<(&Connection, &Connection, Vec<usize>, Vec<usize>)> = Vec::new();
    for connection in a.connections() {
        let Some(candidates) = in_b.get_mut(&(connection.client, connection.server)) else { continue };
        if candidates.is_empty() {
            continue;
        }
        let other = candidates.remove(0);
        let (found, groups) = match_segments(connection, other);
        if let Some(side) = bounds.add(connection, other, &found) {
            vantage.insert(connection.id, (other.id, side));
        }
        pairs.extend(found);
        repeated.extend(groups.into_iter().map(|(in_a, in_b)| (connection, other, in_a, in_b)));
    }
    let (offset_nanos, uncertainty_nanos) = bounds.offset();
    let offset = offset_nanos.unwrap_or(0);
    for (connection, other, in_a, in_b) in repeated {
        pairs.extend(pair_by_time(connection, other, &in_a, &in_b, offset));
    }
    let segments = |engine: &Engine| engine.connections().iter().map(|c| c.segments.len() as u64).sum::<u64>();
    let matched = pairs.len() as u64;
    Merged {
        only_a: segments(a).saturating_sub(matched),
        only_b: segments(b).saturating_sub(matched),
        pairs,
        vantage,
        offset_nanos,
        uncertainty_nanos,
    }
}

/// A segment's copies in A and in B (indices), where either side holds more than one.
type Repeated = (Vec<usize>, Vec<usize>);

/// The segments of two captures of one connection that are the same segment: those whose
/// numbers appear once on each side, and the groups of repeated ones, for [`pair_by_time`].
fn match_segments(a: &Connection, b: &Connection) -> (Vec<Pair>, Vec<Repeated>) {
    let mut copies: HashMap<Key, Repeated> = HashMap::new();
    for (index, segment) in a.segments.iter().enumerate() {
        copies.entry(key(segment)).or_default().0.push(index);
    }
    for (index, segment) in b.segments.iter().enumerate() {
        copies.entry(key(segment)).or_default().1.push(index);
    }
    let mut pairs = Vec::new();
    let mut repeated = Vec::new();
    for (_, (in_a, in_b)) in copies {
        match (in_a.as_slice(), in_b.as_slice()) {
            ([], _) | (_, []) => {}
            ([one], [other]) => pairs.push(Pair { a: (a.id, *one), b: (b.id, *other) }),
            _ => repeated.push((in_a, in_b)),
        }
    }
    pairs.sort_by_key(|pair| pair.a.1);
    (pairs, repeated)
}

/// Pairs repeated copies by time: each copy in B with the copy in A nearest to it once B's
/// clock is moved by `offset`, the closest pairs first.
fn pair_by_time(a: &Connection, b: &Connection, in_a: &[usize], in_b: &[usize], offset: i64) -> Vec<Pair> {
    let time = |connection: &Connection, index: usize| connection.segments.get(index).map_or(0, |s| s.ts_nanos);
    let mut candidates: Vec<(i64, usize, usize)> = in_a
        .iter()
        .flat_map(|&ia| in_b.iter().map(move |&ib| (ia, ib)))
        .map(|(ia, ib)| ((time(a, ia) - (time(b, ib) + offset)).abs(), ia, ib))
        .collect();
    candidates.sort_unstable();
    let (mut used_a, mut used_b) = (Vec::new(), Vec::new());
    let mut pairs = Vec::new();
    for (_, ia, ib) in candidates {
        if !used_a.contains(&ia) && !used_b.contains(&ib) {
            used_a.push(ia);
            used_b.push(ib);
            pairs.push(Pair { a: (a.id, ia), b: (b.id, ib) });
        }
    }
    pairs
}

/// `A − B` capture times of the matched segments, split by which capture saw them first.
#[derive(Debug, Default)]
struct Bounds {
    /// The largest `tA − tB` of segments sent from A's side: the offset is at least this.
    lower: Option<i64>,
    /// The smallest `tA − tB` of segments sent from B's side: the offset is at most this.
    upper: Option<i64>,
}

impl Bounds {
    /// Adds one connection's matched segments; returns the side A's capture was taken on.
    fn add(&mut self, a: &Connection, b: &Connection, pairs: &[Pair]) -> Option<Side> {
        let mut by_sender: [Vec<i64>; 2] = [Vec::new(), Vec::new()];
        for pair in pairs {
            let (Some(sa), Some(sb)) = (a.segments.get(pair.a.1), b.segments.get(pair.b.1)) else { continue };
            let slot = usize::from(sa.dir.sender() == Side::Server);
            if let Some(list) = by_sender.get_mut(slot) {
                list.push(sa.ts_nanos - sb.ts_nanos);
            }
        }
        let [from_client, from_server] = by_sender;
        let (Some(client_median), Some(server_median)) = (median(&from_client), median(&from_server)) else {
            return None;
        };
        // The side whose segments A saw earlier (relative to B) is A's side.
        let a_side = if client_median <= server_median { Side::Client } else { Side::Server };
        let (from_a, from_b) =
            if a_side == Side::Client { (from_client, from_server) } else { (from_server, from_client) };
        if let Some(most) = from_a.iter().max() {
            self.lower = Some(self.lower.map_or(*most, |l| l.max(*most)));
        }
        if let Some(least) = from_b.iter().min() {
            self.upper = Some(self.upper.map_or(*least, |u| u.min(*least)));
        }
        Some(a_side)
    }

    /// The midpoint of the bounds, and half their distance.
    fn offset(&self) -> (Option<i64>, Option<i64>) {
        match (self.lower, self.upper) {
            (Some(lower), Some(upper)) => (Some(lower + (upper - lower) / 2), Some((upper - lower).abs() / 2)),
            _ => (None, None),
        }
    }
}

fn median(values: &[i64]) -> Option<i64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::read_capture;
    use crate::EngineConfig;

    fn engine_of(sample: &str) -> Engine {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-captures").join(sample);
        read_capture(&path, EngineConfig::default(), 1 << 20, |_, _| std::ops::ControlFlow::Continue(()))
            .unwrap_or_else(|err| panic!("{err}"))
            .engine
    }

    #[test]
    fn a_capture_merged_with_itself_matches_every_segment_with_no_offset() {
        let a = engine_of("slow-response.pcap");
        let b = engine_of("slow-response.pcap");
        let merged = merge(&a, &b);
        let total: usize = a.connections().iter().map(|c| c.segments.len()).sum();
        assert_eq!(merged.pairs.len(), total);
        assert_eq!((merged.only_a, merged.only_b), (0, 0));
        assert_eq!(merged.offset_nanos, Some(0));
        assert_eq!(merged.uncertainty_nanos, Some(0));
    }

    #[test]
    fn a_capture_of_other_traffic_matches_nothing() {
        let merged = merge(&engine_of("slow-response.pcap"), &engine_of("refused.pcap"));
        assert!(merged.pairs.is_empty());
        assert_eq!(merged.offset_nanos, None);
    }
}
