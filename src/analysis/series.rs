//! Series for charts, computed from a connection's segments (pure): the time-sequence graph with
//! its ACK and receive-window lines, retransmissions and zero windows, throughput, RTT samples,
//! bytes in flight and the advertised window; and, across a capture, how many sockets are in each
//! state over time. x is seconds since the connection's (or capture's) first segment.

use std::collections::BTreeMap;

use crate::tcp::{AnalysisFlags, Connection, Segment, TcpState};
use crate::wire::options::sack_blocks;
use crate::wire::seq::seq_gt;
use crate::wire::{PerSide, Side};

/// A chart series: (x, y) points.
pub type Points = Vec<[f64; 2]>;

/// Vertical bars: (x, y from, y to).
pub type Bars = Vec<[f64; 3]>;

/// One direction's series (index 0: client → server data, 1: server → client data).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DirectionSeries {
    /// Relative sequence number at the end of each data segment.
    pub seq: Points,
    /// Each data segment as a bar (time, first relative byte, one past the last): tcptrace's view.
    pub bars: Bars,
    /// The retransmitted segments among [`Self::bars`].
    pub retransmitted_bars: Bars,
    /// SACK blocks the receiver reported of this direction's data (time, left edge, right edge).
    pub sack_blocks: Bars,
    /// The receiver's cumulative ACK of this direction's data, as it changes.
    pub ack: Points,
    /// The receiver's window's right edge (ACK + scaled window).
    pub window_edge: Points,
    pub retransmissions: Points,
    /// Zero windows advertised by this direction's receiver, at the ACK line.
    pub zero_windows: Points,
    /// Payload bytes per second, over equal intervals, retransmissions included.
    pub throughput: Points,
    /// The same without retransmitted segments: what the application received.
    pub goodput: Points,
    /// Seconds from a data segment to the first ACK that covers it (not for retransmitted data).
    pub rtt: Points,
    /// Bytes sent and not yet acknowledged, after each segment.
    pub in_flight: Points,
    /// The window this direction's sender advertises (scaled when known), over time.
    pub advertised_window: Points,
}

/// Everything the per-connection charts draw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnectionSeries {
    pub directions: PerSide<DirectionSeries>,
    /// Time of each segment, for finding the segment under a click.
    pub segment_times: Vec<f64>,
}

/// Throughput is averaged over this many intervals of the connection's duration.
const THROUGHPUT_INTERVALS: usize = 100;

/// Computes the series of `connection`.
pub fn connection_series(connection: &Connection) -> ConnectionSeries {
    let start = connection.first_ts_nanos();
    let secs = |ts: i64| (ts - start) as f64 / 1e9;
    let mut series = ConnectionSeries::default();
    let mut highest_end: PerSide<Option<u32>> = PerSide::default();
    let mut acked: PerSide<Option<u32>> = PerSide::default();
    // Unacknowledged data segments per direction: (end seq raw, time), oldest first.
    let mut pending: PerSide<Vec<(u32, i64)>> = PerSide::default();
    for segment in &connection.segments {
        let t = secs(segment.ts_nanos);
        series.segment_times.push(t);
        let me = segment.dir.sender();
        let peer = me.other();
        let window = connection.scaled_window(segment.dir, segment.window_raw, segment.flags.syn());
        let window_value = f64::from(window.unwrap_or(u32::from(segment.window_raw)));
        series.directions[me].advertised_window.push([t, window_value]);
        let end = segment.seq_end_raw();
        if segment.payload_len > 0 {
            let relative_start = connection.relative_seq(segment);
            let relative_end = f64::from(relative_start.wrapping_add(segment.payload_len));
            let bar = [t, f64::from(relative_start), relative_end];
            let direction = &mut series.directions[me];
            direction.seq.push([t, relative_end]);
            direction.bars.push(bar);
            if segment.analysis.is_retransmission() {
                direction.retransmissions.push([t, relative_end]);
                direction.retransmitted_bars.push(bar);
                // Karn: a retransmitted range gives no RTT sample.
                pending[me].retain(|&(pending_end, _)| seq_gt(pending_end, end));
            } else {
                pending[me].push((end, segment.ts_nanos));
            }
        }
        if highest_end[me].is_none_or(|h| seq_gt(end, h)) {
            highest_end[me] = Some(end);
        }
        if segment.flags.ack() {
            // This segment acknowledges the peer's data.
            let ack = segment.ack_raw;
            if let Some(relative_ack) = connection.relative_ack(segment) {
                let direction = &mut series.directions[peer];
                let relative_ack = f64::from(relative_ack);
                if acked[peer].is_none_or(|a| seq_gt(ack, a)) || direction.ack.is_empty() {
                    direction.ack.push([t, relative_ack]);
                }
                direction.window_edge.push([t, relative_ack + window_value]);
                if segment.analysis.has(AnalysisFlags::ZERO_WINDOW) {
                    direction.zero_windows.push([t, relative_ack]);
                }
            }
            if acked[peer].is_none_or(|a| seq_gt(ack, a)) {
                acked[peer] = Some(ack);
            }
            if let (Some((blocks, count)), Some(base)) =
                (sack_blocks(connection.options_of(segment)), connection.sides[peer].base_seq)
            {
                // Only blocks of data the peer really sent: a broken or hostile receiver's blocks
                // far outside would flatten the chart.
                let sent = highest_end[peer].map_or(0, |high| high.wrapping_sub(base));
                for &(left, right) in blocks.iter().take(usize::from(count)) {
                    let (left, right) = (left.wrapping_sub(base), right.wrapping_sub(base));
                    if left < right && right <= sent {
                        series.directions[peer].sack_blocks.push([t, f64::from(left), f64::from(right)]);
                    }
                }
            }
            // The newest segment this ACK covers gives the sample (without a list per ACK).
            let newest_covered = pending[peer].iter().rev().find(|&&(e, _)| !seq_gt(e, ack)).copied();
            pending[peer].retain(|&(e, _)| seq_gt(e, ack));
            if let Some((_, sent)) = newest_covered {
                series.directions[peer].rtt.push([t, (segment.ts_nanos - sent) as f64 / 1e9]);
            }
        }
        for side in Side::BOTH {
            if let (Some(high), Some(ack)) = (highest_end[side], acked[side]) {
                let flight = high.wrapping_sub(ack);
                if flight < u32::MAX / 2 {
                    series.directions[side].in_flight.push([t, f64::from(flight)]);
                }
            }
        }
    }
    for side in Side::BOTH {
        let direction = &mut series.directions[side];
        direction.throughput = throughput(connection, side, start, true);
        direction.goodput = throughput(connection, side, start, false);
    }
    series
}

fn throughput(connection: &Connection, side: Side, start: i64, with_retransmissions: bool) -> Points {
    let duration = (connection.last_ts_nanos() - start).max(1);
    let interval = (duration / THROUGHPUT_INTERVALS as i64).max(1);
    let mut bytes = vec![0u64; THROUGHPUT_INTERVALS + 1];
    let counted = |s: &&Segment| s.dir.sender() == side && (with_retransmissions || !s.analysis.is_retransmission());
    for segment in connection.segments.iter().filter(counted) {
        let bucket = ((segment.ts_nanos - start) / interval) as usize;
        if let Some(slot) = bytes.get_mut(bucket) {
            *slot += u64::from(segment.payload_len);
        }
    }
    let seconds = interval as f64 / 1e9;
    bytes.iter().enumerate().map(|(i, &b)| [(i as i64 * interval) as f64 / 1e9, b as f64 / seconds]).collect()
}

/// The index of the segment nearest in time to `x` seconds.
pub fn segment_at(series: &ConnectionSeries, x: f64) -> Option<usize> {
    let times = &series.segment_times;
    let after = times.partition_point(|&t| t < x);
    let distance = |i: usize| times.get(i).map(|t| (t - x).abs());
    [after.checked_sub(1), Some(after)]
        .into_iter()
        .flatten()
        .filter_map(|i| Some((i, distance(i)?)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}

/// Keeps at most two points (the lowest and highest) per bucket of x over `[x_min, x_max]`, so a
/// chart of a million points draws a few thousand; points outside the range are dropped.
pub fn decimate(points: &[[f64; 2]], x_min: f64, x_max: f64, buckets: usize) -> Points {
    let buckets = buckets.max(1);
    let width = (x_max - x_min).max(f64::MIN_POSITIVE) / buckets as f64;
    let visible: Vec<&[f64; 2]> = points.iter().filter(|p| p[0] >= x_min && p[0] <= x_max).collect();
    if visible.len() <= buckets * 2 {
        return visible.into_iter().copied().collect();
    }
    let mut out = Vec::with_capacity(buckets * 2);
    let mut current: Option<(usize, [f64; 2], [f64; 2])> = None;
    for point in visible {
        let bucket = ((point[0] - x_min) / width) as usize;
        match &mut current {
            Some((b, low, high)) if *b == bucket => {
                if point[1] < low[1] {
                    *low = *point;
                }
                if point[1] > high[1] {
                    *high = *point;
                }
            }
            _ => {
                if let Some((_, low, high)) = current.take() {
                    push_pair(&mut out, low, high);
                }
                current = Some((bucket, *point, *point));
            }
        }
    }
    if let Some((_, low, high)) = current {
        push_pair(&mut out, low, high);
    }
    out
}

/// Merges the bars in each bucket of x over `[x_min, x_max]` into one spanning them all, as
/// [`decimate`] does for points; bars outside the range are dropped.
pub fn decimate_bars(bars: &[[f64; 3]], x_min: f64, x_max: f64, buckets: usize) -> Bars {
    let buckets = buckets.max(1);
    let width = (x_max - x_min).max(f64::MIN_POSITIVE) / buckets as f64;
    let visible = bars.iter().filter(|b| b[0] >= x_min && b[0] <= x_max);
    if bars.len() <= buckets * 2 {
        return visible.copied().collect();
    }
    let mut out: Bars = Vec::with_capacity(buckets);
    let mut current_bucket = usize::MAX;
    for bar in visible {
        let bucket = ((bar[0] - x_min) / width) as usize;
        match out.last_mut() {
            Some(merged) if bucket == current_bucket => {
                merged[1] = merged[1].min(bar[1]);
                merged[2] = merged[2].max(bar[2]);
            }
            _ => {
                current_bucket = bucket;
                out.push(*bar);
            }
        }
    }
    out
}

fn push_pair(out: &mut Points, low: [f64; 2], high: [f64; 2]) {
    let (first, second) = if low[0] <= high[0] { (low, high) } else { (high, low) };
    out.push(first);
    if second != first {
        out.push(second);
    }
}

/// How many sockets (two per connection) are in each state over the capture, as step series,
/// with x in seconds since `capture_start_nanos`, each held to `capture_end_nanos`. The picture that
/// shows CLOSE_WAIT piling up.
pub fn states_over_time<'a>(
    connections: impl IntoIterator<Item = &'a Connection>,
    capture_start_nanos: i64,
    capture_end_nanos: i64,
) -> BTreeMap<TcpState, Points> {
    // Every change of a side's state, as (time, state left, state entered).
    let mut changes: Vec<(i64, TcpState, TcpState)> = Vec::new();
    for connection in connections {
        let mut previous = PerSide::new(TcpState::Unknown, TcpState::Unknown);
        for segment in &connection.segments {
            for side in Side::BOTH {
                let (before, now) = (previous[side], segment.state(side));
                if now != before {
                    changes.push((segment.ts_nanos, before, now));
                    previous[side] = now;
                }
            }
        }
    }
    changes.sort_by_key(|&(ts, _, _)| ts);
    let mut counts: BTreeMap<TcpState, i64> = BTreeMap::new();
    let mut series: BTreeMap<TcpState, Points> = BTreeMap::new();
    for (ts, left, entered) in changes {
        let x = (ts - capture_start_nanos) as f64 / 1e9;
        for (state, delta) in [(left, -1), (entered, 1)] {
            if matches!(state, TcpState::Unknown | TcpState::Closed) {
                continue;
            }
            let count = counts.entry(state).or_insert(0);
            let points = series.entry(state).or_default();
            // A step: the old count up to now, then the new one.
            points.push([x, *count as f64]);
            *count += delta;
            points.push([x, *count as f64]);
        }
    }
    let end = (capture_end_nanos - capture_start_nanos) as f64 / 1e9;
    for (state, points) in &mut series {
        if points.last().is_some_and(|last| last[0] < end) {
            points.push([end, counts.get(state).copied().unwrap_or(0) as f64]);
        }
    }
    series
}

/// Across a capture: connections opened and closed per second, and packets per second, each over
/// `intervals` equal intervals; x is seconds since `capture_start_nanos`.
pub struct CaptureRates {
    pub opened: Points,
    pub closed: Points,
    pub packets: Points,
}

/// Computes [`CaptureRates`]: a connection opens at its first segment and closes when both sides
/// are CLOSED or in TIME_WAIT (or not at all within the capture).
pub fn capture_rates<'a>(
    connections: impl IntoIterator<Item = &'a Connection>,
    capture_start_nanos: i64,
    capture_end_nanos: i64,
    intervals: usize,
) -> CaptureRates {
    let intervals = intervals.max(1);
    let span = (capture_end_nanos - capture_start_nanos).max(1);
    let width = (span / intervals as i64).max(1);
    let bucket = |ts: i64| (((ts - capture_start_nanos) / width).max(0) as usize).min(intervals);
    let count = |counts: &mut [u64], ts: i64| {
        if let Some(slot) = counts.get_mut(bucket(ts)) {
            *slot += 1;
        }
    };
    let mut opened = vec![0u64; intervals + 1];
    let mut closed = vec![0u64; intervals + 1];
    let mut packets = vec![0u64; intervals + 1];
    for connection in connections {
        if let Some(first) = connection.segments.first() {
            count(&mut opened, first.ts_nanos);
        }
        let end = connection.segments.iter().find(|s| {
            let PerSide { client, server } = s.states;
            matches!(client, TcpState::Closed | TcpState::TimeWait)
                && matches!(server, TcpState::Closed | TcpState::TimeWait)
        });
        if let Some(end) = end {
            count(&mut closed, end.ts_nanos);
        }
        for segment in &connection.segments {
            count(&mut packets, segment.ts_nanos);
        }
    }
    let seconds = width as f64 / 1e9;
    let rate = |counts: Vec<u64>| -> Points {
        counts.iter().enumerate().map(|(i, &n)| [(i as i64 * width) as f64 / 1e9, n as f64 / seconds]).collect()
    };
    CaptureRates { opened: rate(opened), closed: rate(closed), packets: rate(packets) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::test_support::connection;
    use crate::tcp::test_support::flags::{A, P, S};

    fn transfer() -> Connection {
        // Handshake, two data segments 10 ms apart, each acknowledged 5 ms later.
        connection(&[
            (true, S, 0, 0, 0, 0),
            (false, S | A, 0, 1, 0, 1),
            (true, A, 1, 1, 0, 2),
            (true, P | A, 1, 1, 100, 10),
            (false, A, 1, 101, 0, 15),
            (true, P | A, 101, 1, 100, 20),
            (false, A, 1, 201, 0, 25),
        ])
    }

    #[test]
    fn time_sequence_acks_and_rtt() {
        let series = connection_series(&transfer());
        let client = &series.directions.client;
        assert_eq!(client.seq, vec![[0.010, 101.0], [0.020, 201.0]]);
        assert_eq!(client.ack.last(), Some(&[0.025, 201.0]));
        assert_eq!(client.rtt.len(), 2);
        assert!((client.rtt[0][1] - 0.005).abs() < 1e-9);
        assert_eq!(client.in_flight.last(), Some(&[0.025, 0.0]));
        assert_eq!(series.segment_times.len(), 7);
        assert_eq!(segment_at(&series, 0.0099), Some(3));
    }

    /// A cumulative ACK of two segments is one sample, timed from the newer one (as Wireshark's
    /// ack_rtt: the segment the ACK answers).
    #[test]
    fn a_cumulative_ack_times_the_newest_segment_it_covers() {
        let series = connection_series(&connection(&[
            (true, S, 0, 0, 0, 0),
            (false, S | A, 0, 1, 0, 1),
            (true, A, 1, 1, 0, 2),
            (true, P | A, 1, 1, 100, 10),
            (true, P | A, 101, 1, 100, 20),
            (false, A, 1, 201, 0, 25),
        ]));
        let rtt = &series.directions.client.rtt;
        assert_eq!(rtt.len(), 1);
        assert!((rtt[0][1] - 0.005).abs() < 1e-9, "{rtt:?}");
    }

    #[test]
    fn goodput_leaves_out_retransmissions() {
        let mut steps = vec![(true, S, 0, 0, 0, 0), (false, S | A, 0, 1, 0, 1), (true, A, 1, 1, 0, 2)];
        steps.push((true, P | A, 1, 1, 100, 10));
        steps.push((true, P | A, 1, 1, 100, 300)); // the same bytes again: a retransmission
        steps.push((false, A, 1, 101, 0, 301));
        let series = connection_series(&connection(&steps));
        let sum = |points: &Points| points.iter().map(|p| p[1]).sum::<f64>();
        let client = &series.directions.client;
        assert_eq!(client.retransmitted_bars.len(), 1);
        assert!((sum(&client.throughput) - 2.0 * sum(&client.goodput)).abs() < 1e-6);
        assert!(sum(&client.goodput) > 0.0);
    }

    #[test]
    fn data_segments_become_bars() {
        let series = connection_series(&transfer());
        assert_eq!(series.directions.client.bars, vec![[0.010, 1.0, 101.0], [0.020, 101.0, 201.0]]);
        assert!(series.directions.client.retransmitted_bars.is_empty());
        assert!(series.directions.server.bars.is_empty(), "the server sent no data");
    }

    #[test]
    fn bar_decimation_spans_each_bucket() {
        let bars: Bars = (0..100_000).map(|i| [i as f64, i as f64 * 10.0, i as f64 * 10.0 + 10.0]).collect();
        let reduced = decimate_bars(&bars, 0.0, 100_000.0, 100);
        assert!(reduced.len() <= 101, "{}", reduced.len());
        assert_eq!(reduced.first(), Some(&[0.0, 0.0, 10_000.0]));
        assert_eq!(decimate_bars(&bars, 10.0, 12.0, 100).len(), 3);
    }

    #[test]
    fn decimation_keeps_the_extremes_of_each_bucket() {
        let points: Points =
            (0..1_000_000).map(|i| [i as f64, if i == 500_123 { 1e9 } else { (i % 7) as f64 }]).collect();
        let reduced = decimate(&points, 0.0, 1_000_000.0, 1000);
        assert!(reduced.len() <= 2000, "{}", reduced.len());
        assert!(reduced.iter().any(|p| p[1] == 1e9), "the spike survives");
        assert!(decimate(&points, 10.0, 20.0, 1000).len() == 11, "a narrow range keeps every point");
    }

    #[test]
    fn capture_rates_count_opens_and_packets() {
        let rates = capture_rates(&[transfer()], 0, 25_000_000, 5);
        let opened: f64 = rates.opened.iter().map(|p| p[1]).sum::<f64>() * 0.005;
        let packets: f64 = rates.packets.iter().map(|p| p[1]).sum::<f64>() * 0.005;
        assert!((opened - 1.0).abs() < 1e-9, "{opened}");
        assert!((packets - 7.0).abs() < 1e-9, "{packets}");
        assert!(rates.closed.iter().all(|p| p[1] == 0.0), "the transfer never closed");
    }

    #[test]
    fn states_over_time_count_sockets() {
        let states = states_over_time(&[transfer()], 0, 30_000_000);
        let established = &states[&TcpState::Established];
        assert_eq!(established.last(), Some(&[0.030, 2.0]), "both sides stay ESTABLISHED to the end");
        assert_eq!(states[&TcpState::SynSent].last().map(|p| p[1]), Some(0.0));
    }
}
