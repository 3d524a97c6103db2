//! Ladder geometry, free of any UI toolkit: which rows a connection shows (segments, folded runs of
//! data, idle bands), where each sits vertically, where each side's state changes, and the phases
//! (handshake, data transfer, teardown). The painter maps these units to pixels with its zoom.

use std::collections::BTreeSet;
use std::ops::Range;

use crate::tcp::{Connection, Direction, Segment, TcpState};
use crate::wire::{PerSide, Side};

/// Sizes in layout units (logical points at zoom 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayoutOptions {
    /// Height of a plain segment row.
    pub row_height: f32,
    /// Extra height for a row with a second line (SYN options, analysis notes).
    pub note_height: f32,
    /// Height of a folded run or an idle band.
    pub band_height: f32,
    /// Runs of more plain data segments than this fold into one row.
    pub fold_longer_than: usize,
    /// Plain segments kept visible at each end of a folded run.
    pub fold_keep: usize,
    /// A silence longer than this between two segments gets an idle band (or a shorter one that
    /// is long for the connection, see [`idle_threshold`]).
    pub idle_nanos: i64,
}

/// A silence of this share of a short connection's whole duration is its story (the broken-pipe
/// sample's 48 ms pause before the fatal write, of 50 ms), and gets a band too ...
const IDLE_SHARE: f64 = 0.4;
/// ... if it lasts at least this long: microsecond gaps on loopback are not silences.
const IDLE_FLOOR_NANOS: i64 = 10_000_000;

/// The shortest gap drawn as an idle band in `segments`: `options.idle_nanos`, or less in a short
/// connection where a gap of [`IDLE_SHARE`] of its duration stands out.
pub fn idle_threshold(segments: &[Segment], options: &LayoutOptions) -> i64 {
    let duration = match (segments.first(), segments.last()) {
        (Some(first), Some(last)) => last.ts_nanos - first.ts_nanos,
        _ => 0,
    };
    options.idle_nanos.min(((duration as f64 * IDLE_SHARE) as i64).max(IDLE_FLOOR_NANOS))
}

impl Default for LayoutOptions {
    fn default() -> Self {
        Self {
            row_height: 34.0,
            note_height: 14.0,
            band_height: 26.0,
            fold_longer_than: 16,
            fold_keep: 3,
            idle_nanos: 200_000_000,
        }
    }
}

/// A run of plain data segments shown as one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FoldedRun {
    /// Indices into the connection's segments, inclusive.
    pub first: usize,
    pub last: usize,
    pub bytes_c2s: u64,
    pub bytes_s2c: u64,
}

impl FoldedRun {
    /// What a fold says, with the byte counts written by `bytes`: "92 segments folded: 2.9 KB →
    /// · 9.0 KB ←" in the window, "… 2900 bytes → …" in exports.
    pub fn describe(&self, bytes: impl Fn(u64) -> String) -> String {
        format!("{} segments folded: {} → · {} ←", self.len(), bytes(self.bytes_c2s), bytes(self.bytes_s2c))
    }

    /// Segments in the run.
    pub fn len(&self) -> usize {
        self.last - self.first + 1
    }
    /// True when the run holds no segment (never, by construction).
    pub fn is_empty(&self) -> bool {
        self.last < self.first
    }
}

/// What a row shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    /// The segment at this index of the connection.
    Segment(usize),
    /// A folded run; the key to expand it is `run.first`.
    Folded(FoldedRun),
    /// Nothing happened for this long.
    Idle { nanos: i64 },
}

/// One row of the ladder.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    pub kind: RowKind,
    /// Top of the row, layout units from the top of the ladder.
    pub y: f32,
    pub height: f32,
}

/// A side's state changed at a row, possibly passing through `via`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateMark {
    pub row: usize,
    pub side: Side,
    pub from: TcpState,
    pub via: Option<TcpState>,
    pub to: TcpState,
    /// Not visible in this capture: the side was assumed to receive the segment, and nothing it
    /// sent afterwards confirms it (drawn hatched; Details says so).
    pub assumed: bool,
}

/// Of `rows` in vertical order, those intersecting `[top, bottom)`, given each one's top and height.
pub(crate) fn overlapping<T>(rows: &[T], top: f32, bottom: f32, span: impl Fn(&T) -> (f32, f32)) -> Range<usize> {
    let start = rows.partition_point(|row| {
        let (y, height) = span(row);
        y + height <= top
    });
    let end = rows.partition_point(|row| span(row).0 < bottom);
    start..end.max(start)
}

use super::phases::phases;
pub use super::phases::{Opening, Phase, PhaseSpan, Teardown};

/// The laid-out ladder of one connection.
#[derive(Debug, Clone, PartialEq)]
pub struct LadderLayout {
    pub rows: Vec<Row>,
    pub state_marks: Vec<StateMark>,
    pub phases: Vec<PhaseSpan>,
    /// For each segment, its row; folded segments map to their fold's row.
    segment_rows: Vec<u32>,
    height: f32,
    /// What each fold holds of the conversation, by the fold's first segment.
    fold_notes: std::collections::BTreeMap<usize, String>,
}

impl LadderLayout {
    /// Lays out `connection`; folds whose first index is in `expanded` are shown in full, and the
    /// segments of frames in `noted` (findings) keep their own row with room for a note.
    pub fn new(connection: &Connection, expanded: &BTreeSet<usize>, noted: &[u32], options: &LayoutOptions) -> Self {
        let segments = &connection.segments;
        let mut plain: Vec<bool> = plain_flags(segments);
        // A frame may be noted several times (a finding and a message): a line for each.
        let mut noted_lines: std::collections::BTreeMap<u32, usize> = std::collections::BTreeMap::new();
        for frame in noted {
            *noted_lines.entry(*frame).or_default() += 1;
        }
        let noted_index = |segment: &Segment| noted_lines.get(&segment.frame).copied().unwrap_or(0);
        for (flag, segment) in plain.iter_mut().zip(segments) {
            *flag &= noted_index(segment) == 0;
        }
        let segment_height = |segment: &Segment| segment_height(segment, noted_index(segment), options);
        let mut rows = Vec::new();
        let mut segment_rows = vec![0u32; segments.len()];
        let mut y = 0.0;
        // Appends a row; returns its index. A segment whose row this is learns it.
        let mut push = |rows: &mut Vec<Row>, segment_rows: &mut [u32], kind: RowKind| {
            let height = match kind {
                RowKind::Segment(i) => segments.get(i).map_or(options.row_height, &segment_height),
                RowKind::Folded(_) | RowKind::Idle { .. } => options.band_height,
            };
            rows.push(Row { kind, y, height });
            y += height;
            let row = u32::try_from(rows.len() - 1).unwrap_or(u32::MAX);
            if let Some(slot) = match kind {
                RowKind::Segment(i) => segment_rows.get_mut(i),
                _ => None,
            } {
                *slot = row;
            }
            row
        };
        let idle_nanos = idle_threshold(segments, options);
        let mut index = 0;
        while index < segments.len() {
            if let Some(previous) = index.checked_sub(1).and_then(|i| segments.get(i)) {
                let gap = segments.get(index).map_or(0, |s| s.ts_nanos - previous.ts_nanos);
                if gap > idle_nanos {
                    push(&mut rows, &mut segment_rows, RowKind::Idle { nanos: gap });
                }
            }
            let run_end = run_end(segments, &plain, index, idle_nanos);
            let run_len = run_end - index;
            if run_len > options.fold_longer_than && !expanded.contains(&(index + options.fold_keep)) {
                let keep = options.fold_keep;
                for i in index..index + keep {
                    push(&mut rows, &mut segment_rows, RowKind::Segment(i));
                }
                let fold = fold_of(segments, index + keep, run_end - keep - 1);
                let row = push(&mut rows, &mut segment_rows, RowKind::Folded(fold));
                for slot in segment_rows.iter_mut().take(fold.last + 1).skip(fold.first) {
                    *slot = row;
                }
                for i in run_end - keep..run_end {
                    push(&mut rows, &mut segment_rows, RowKind::Segment(i));
                }
                index = run_end;
                continue;
            }
            let end = if run_len > 0 { run_end } else { index + 1 };
            for i in index..end {
                let gap = match (i.checked_sub(1).and_then(|p| segments.get(p)), segments.get(i)) {
                    (Some(previous), Some(segment)) if i > index => segment.ts_nanos - previous.ts_nanos,
                    _ => 0,
                };
                if gap > idle_nanos {
                    push(&mut rows, &mut segment_rows, RowKind::Idle { nanos: gap });
                }
                push(&mut rows, &mut segment_rows, RowKind::Segment(i));
            }
            index = end;
        }
        let state_marks = state_marks(connection, &segment_rows);
        let phases = phases(segments, &segment_rows, rows.len());
        Self { rows, state_marks, phases, segment_rows, height: y, fold_notes: Default::default() }
    }

    /// Notes in each fold the messages of `messages` whose bytes it carries.
    pub fn note_fold_contents(&mut self, connection: &Connection, messages: &[crate::protocols::Message]) {
        self.fold_notes = self
            .rows
            .iter()
            .filter_map(|row| match row.kind {
                RowKind::Folded(run) => {
                    super::fold_contents::fold_contents(&connection.segments, (run.first, run.last), messages)
                        .map(|note| (run.first, note))
                }
                _ => None,
            })
            .collect();
    }

    /// What the fold `run` holds of the conversation, once [`Self::note_fold_contents`] said.
    pub fn fold_contents(&self, run: &FoldedRun) -> Option<&str> {
        self.fold_notes.get(&run.first).map(String::as_str)
    }

    /// Total height in layout units.
    pub fn height(&self) -> f32 {
        self.height
    }

    /// The rows that intersect `[top, bottom)`: only these are painted.
    pub fn rows_in(&self, top: f32, bottom: f32) -> Range<usize> {
        overlapping(&self.rows, top, bottom, |row| (row.y, row.height))
    }

    /// The first segment of each folded run, the keys that expand them.
    pub fn folded_runs(&self) -> impl Iterator<Item = usize> + '_ {
        self.rows.iter().filter_map(|row| match row.kind {
            RowKind::Folded(run) => Some(run.first),
            _ => None,
        })
    }

    /// The row showing segment `index` (its fold's row when folded).
    pub fn row_of_segment(&self, index: usize) -> Option<usize> {
        self.segment_rows.get(index).map(|&row| row as usize)
    }

    /// The segment a row shows, when it shows one.
    pub fn segment_of_row(&self, row: usize) -> Option<usize> {
        match self.rows.get(row)?.kind {
            RowKind::Segment(index) => Some(index),
            _ => None,
        }
    }
}

/// x of the client's and the server's lifelines for a ladder `width` wide, leaving `margin` on
/// each side for state pills.
pub fn lifelines(width: f32, margin: f32) -> (f32, f32) {
    let left = margin.min(width / 3.0);
    (left, (width - left).max(left + 1.0))
}

/// How far an arrow drops from its tail to its head, as a share of the row: time passes while a
/// segment travels.
pub const ARROW_SLOPE: f32 = 0.35;

fn segment_height(segment: &Segment, noted_lines: usize, options: &LayoutOptions) -> f32 {
    let notes = [segment.flags.syn(), segment.analysis.0 != 0].iter().filter(|&&n| n).count() + noted_lines;
    options.row_height + notes as f32 * options.note_height
}

/// A segment is plain when it changes no state and has nothing to flag: data and ACKs in bulk.
fn plain_flags(segments: &[Segment]) -> Vec<bool> {
    let mut previous = PerSide::new(TcpState::Unknown, TcpState::Unknown);
    segments
        .iter()
        .map(|segment| {
            let states = segment.states;
            let plain = states == previous
                && segment.via == PerSide::new(None, None)
                && !segment.flags.syn()
                && !segment.flags.fin()
                && !segment.flags.rst()
                && segment.analysis.0 == 0;
            previous = states;
            plain
        })
        .collect()
}

/// The end (exclusive) of the run of plain segments starting at `start`, cut at idle gaps.
fn run_end(segments: &[Segment], plain: &[bool], start: usize, idle_nanos: i64) -> usize {
    let mut end = start;
    while end < segments.len() && plain.get(end).copied().unwrap_or(false) {
        let gap = match (end.checked_sub(1).and_then(|p| segments.get(p)), segments.get(end)) {
            (Some(previous), Some(segment)) => segment.ts_nanos - previous.ts_nanos,
            _ => 0,
        };
        if end > start && gap > idle_nanos {
            break;
        }
        end += 1;
    }
    end
}

fn fold_of(segments: &[Segment], first: usize, last: usize) -> FoldedRun {
    let mut run = FoldedRun { first, last, bytes_c2s: 0, bytes_s2c: 0 };
    for segment in segments.get(first..=last).unwrap_or_default() {
        match segment.dir {
            Direction::ClientToServer => run.bytes_c2s += u64::from(segment.payload_len),
            Direction::ServerToClient => run.bytes_s2c += u64::from(segment.payload_len),
        }
    }
    run
}

fn state_marks(connection: &Connection, segment_rows: &[u32]) -> Vec<StateMark> {
    let segments = &connection.segments;
    let unconfirmed = connection.unconfirmed_receipts();
    let mut marks = Vec::new();
    let mut previous = PerSide::new(TcpState::Unknown, TcpState::Unknown);
    for (index, segment) in segments.iter().enumerate() {
        for side in Side::BOTH {
            let (from, to, via) = (previous[side], segment.state(side), segment.via(side));
            if to != from || via.is_some() {
                let row = segment_rows.get(index).map_or(0, |&r| r as usize);
                let assumed = unconfirmed[side] == Some(index) && segment.dir.receiver() == side;
                marks.push(StateMark { row, side, from, via, to, assumed });
            }
            previous[side] = to;
        }
    }
    marks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::test_support::connection;
    use crate::tcp::test_support::flags::{A, F, P, S};

    /// Handshake, `n` data segments 1 ms apart each acknowledged by the server, client-first close.
    fn bulk(n: u32) -> Connection {
        let mut steps = vec![(true, S, 0, 0, 0, 0), (false, S | A, 0, 1, 0, 0), (true, A, 1, 1, 0, 0)];
        for i in 0..n {
            steps.push((true, P | A, 1 + i * 100, 1, 100, 1 + i64::from(i)));
            steps.push((false, A, 1, 101 + i * 100, 0, 1 + i64::from(i)));
        }
        let end = 1 + n * 100;
        let t = 2 + i64::from(n);
        steps.extend([(true, F | A, end, 1, 0, t), (false, F | A, 1, end + 1, 0, t), (true, A, end + 1, 2, 0, t)]);
        connection(&steps)
    }

    #[test]
    fn a_short_connection_shows_every_segment_with_phases() {
        let layout = LadderLayout::new(&bulk(4), &BTreeSet::new(), &[], &LayoutOptions::default());
        assert_eq!(layout.rows.len(), 14);
        let names: Vec<&str> = layout.phases.iter().map(|p| p.phase.name()).collect();
        assert_eq!(names, ["three-way handshake", "data transfer", "client closes first"]);
        assert_eq!(layout.phases[0].rows, 0..3);
        assert_eq!(layout.phases[2].rows.start, 11);
    }

    #[test]
    fn long_data_runs_fold_and_expand() {
        let connection = bulk(100_000);
        let options = LayoutOptions::default();
        let folded = LadderLayout::new(&connection, &BTreeSet::new(), &[], &options);
        // Handshake, 3 kept, the fold, 3 kept, teardown.
        assert_eq!(folded.rows.len(), 3 + 3 + 1 + 3 + 3);
        let Some(fold) = folded.rows.iter().find_map(|r| match r.kind {
            RowKind::Folded(run) => Some(run),
            _ => None,
        }) else {
            panic!("no fold")
        };
        assert_eq!(fold.len(), 200_000 - 6);
        // The kept segments at the ends carry 300 of the 10,000,000 bytes.
        assert_eq!(fold.bytes_c2s + 300, 100_000 * 100);
        assert_eq!(fold.bytes_s2c, 0);
        assert_eq!(folded.row_of_segment(50_000), Some(6));
        let expanded = LadderLayout::new(&connection, &BTreeSet::from([fold.first]), &[], &options);
        assert_eq!(expanded.rows.len(), 200_006);
        assert_eq!(expanded.segment_of_row(50_003), Some(50_003));
    }

    #[test]
    fn only_visible_rows_are_returned() {
        let layout = LadderLayout::new(&bulk(40), &BTreeSet::from([6]), &[], &LayoutOptions::default());
        let range = layout.rows_in(340.0, 700.0);
        assert!(range.start > 0 && range.end < layout.rows.len());
        for row in &layout.rows[range.clone()] {
            assert!(row.y < 700.0 && row.y + row.height > 340.0);
        }
        assert_eq!(layout.rows_in(-100.0, -1.0).len(), 0);
        assert_eq!(layout.rows_in(0.0, layout.height() + 10.0), 0..layout.rows.len());
    }

    #[test]
    fn rows_stack_without_gaps_and_idle_time_gets_a_band() {
        let connection = connection(&[
            (true, S, 0, 0, 0, 0),
            (false, S | A, 0, 1, 0, 0),
            (true, A, 1, 1, 0, 0),
            (true, P | A, 1, 1, 5, 3_000),
        ]);
        let layout = LadderLayout::new(&connection, &BTreeSet::new(), &[], &LayoutOptions::default());
        assert!(matches!(layout.rows[3].kind, RowKind::Idle { nanos } if nanos == 3_000_000_000));
        for pair in layout.rows.windows(2) {
            assert!((pair[0].y + pair[0].height - pair[1].y).abs() < 1e-3);
        }
    }

    #[test]
    fn state_marks_sit_on_the_side_that_changed() {
        let layout = LadderLayout::new(&bulk(2), &BTreeSet::new(), &[], &LayoutOptions::default());
        let first: Vec<(usize, Side, TcpState)> =
            layout.state_marks.iter().take(4).map(|m| (m.row, m.side, m.to)).collect();
        assert_eq!(
            first,
            [
                (0, Side::Client, TcpState::SynSent),
                (0, Side::Server, TcpState::Listen),
                (1, Side::Client, TcpState::Established),
                (1, Side::Server, TcpState::SynReceived)
            ]
        );
    }

    #[test]
    fn lifelines_leave_room_for_pills() {
        assert_eq!(lifelines(1000.0, 120.0), (120.0, 880.0));
        let (left, right) = lifelines(90.0, 120.0);
        assert!(left < right);
    }

    #[test]
    fn a_silence_long_for_a_short_connection_gets_a_band() {
        let segments = bulk(2).segments;
        let options = LayoutOptions::default();
        // A connection of a few ms: its 1 ms gaps are 1/4 of it, too short to be silences.
        assert_eq!(idle_threshold(&segments, &options), IDLE_FLOOR_NANOS);
        let mut stretched = bulk(2);
        let last = stretched.segments.len() - 1;
        for segment in &mut stretched.segments[last - 2..] {
            segment.ts_nanos += 48_000_000;
        }
        let layout = LadderLayout::new(&stretched, &BTreeSet::new(), &[], &options);
        assert!(layout.rows.iter().any(|row| matches!(row.kind, RowKind::Idle { nanos } if nanos >= 48_000_000)));
    }
}
