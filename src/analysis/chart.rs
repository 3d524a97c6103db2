//! What each chart shows, independent of who draws it: the window (egui_plot) and the exports
//! (SVG, PNG) read the same description, so a chart exported for a slide is the chart on screen.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::tcp::{Connection, TcpState};

pub use super::palette::Colour;
use super::palette::{state_line, GREY};
use super::series::{capture_rates, states_over_time, CaptureRates, ConnectionSeries};

/// The charts there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum ChartKind {
    /// Stevens' time-sequence graph: the end of each data segment over time, with the ACK line.
    #[default]
    TimeSequence,
    /// tcptrace's graph: segments as bars, ACK and receive-window lines, SACK blocks,
    /// retransmissions and zero windows.
    Tcptrace,
    Window,
    Throughput,
    Rtt,
    InFlight,
    /// How many sockets are in each state over the capture.
    States,
    /// Connections opened and closed, and packets, per second over the capture.
    Rates,
}

impl ChartKind {
    pub const ALL: [ChartKind; 8] = [
        Self::TimeSequence,
        Self::Tcptrace,
        Self::Window,
        Self::Throughput,
        Self::Rtt,
        Self::InFlight,
        Self::States,
        Self::Rates,
    ];

    /// The name people read.
    pub fn name(self) -> &'static str {
        match self {
            Self::TimeSequence => "time-sequence",
            Self::Tcptrace => "tcptrace",
            Self::Window => "advertised window",
            Self::Throughput => "throughput",
            Self::Rtt => "RTT",
            Self::InFlight => "bytes in flight",
            Self::States => "states over the capture",
            Self::Rates => "opened, closed, packets/s",
        }
    }

    /// The name on the command line.
    pub fn slug(self) -> &'static str {
        match self {
            Self::TimeSequence => "time-sequence",
            Self::Tcptrace => "tcptrace",
            Self::Window => "window",
            Self::Throughput => "throughput",
            Self::Rtt => "rtt",
            Self::InFlight => "in-flight",
            Self::States => "states",
            Self::Rates => "rates",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.slug() == slug)
    }

    /// Whether the chart shows one connection (or the whole capture).
    pub fn per_connection(self) -> bool {
        !matches!(self, Self::States | Self::Rates)
    }

    pub fn x_label(self) -> &'static str {
        if self.per_connection() {
            "time since the connection began (s)"
        } else {
            "time since the capture began (s)"
        }
    }

    /// Whether y counts things, so its ticks are whole numbers.
    pub fn counts(self) -> bool {
        self == Self::States
    }

    pub fn y_label(self) -> &'static str {
        match self {
            Self::TimeSequence | Self::Tcptrace => "relative sequence number",
            Self::Window => "window (bytes)",
            Self::Throughput => "bytes per second",
            Self::Rtt => "seconds",
            Self::InFlight => "bytes",
            Self::States => "sockets in the state",
            Self::Rates => "per second",
        }
    }
}

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mark {
    Line,
    /// A value that holds until the next one (an ACK, a window).
    Steps,
    /// Each value a dot of this radius (in points).
    Dots(f32),
    /// Vertical bars from `[x, y0, y1]`.
    Bars,
}

/// The values of a series: points for lines and dots, bars for bars.
#[derive(Debug, Clone, PartialEq)]
pub enum Values<'a> {
    Points(Cow<'a, [[f64; 2]]>),
    Bars(Cow<'a, [[f64; 3]]>),
}

impl Values<'_> {
    pub fn is_empty(&self) -> bool {
        match self {
            Values::Points(points) => points.is_empty(),
            Values::Bars(bars) => bars.is_empty(),
        }
    }
}

/// One named series of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartSeries<'a> {
    pub name: String,
    pub colour: Colour,
    pub mark: Mark,
    pub values: Values<'a>,
}

/// A chart: its kind (for the axis labels) and its series, drawn in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart<'a> {
    pub kind: ChartKind,
    pub title: String,
    pub series: Vec<ChartSeries<'a>>,
}

impl Chart<'_> {
    /// The first and last x of all series (each series is in time order).
    pub fn x_range(&self) -> Option<(f64, f64)> {
        let ends = self.series.iter().filter_map(|series| match &series.values {
            Values::Points(points) => Some((points.first()?[0], points.last()?[0])),
            Values::Bars(bars) => Some((bars.first()?[0], bars.last()?[0])),
        });
        ends.reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)))
    }
}

const DIRECTIONS: [(&str, Colour); 2] =
    [("client → server", Colour::rgb(0x42, 0x85, 0xf4)), ("server → client", Colour::rgb(0x0f, 0x9d, 0x58))];
const RETRANSMISSION: Colour = Colour::rgb(0xe6, 0x8a, 0x00);
const ZERO_WINDOW: Colour = Colour::rgb(0xd9, 0x30, 0x25);
const SACK: Colour = Colour::rgb(0x9c, 0x27, 0xb0);

fn points(points: &[[f64; 2]]) -> Values<'_> {
    Values::Points(Cow::Borrowed(points))
}

fn bars(bars: &[[f64; 3]]) -> Values<'_> {
    Values::Bars(Cow::Borrowed(bars))
}

/// A per-connection chart of `series`; `None` for the capture-wide kinds.
pub fn connection_chart<'a>(kind: ChartKind, series: &'a ConnectionSeries, title: String) -> Option<Chart<'a>> {
    if !kind.per_connection() {
        return None;
    }
    let mut out = Vec::new();
    for ((direction_name, colour), direction) in
        DIRECTIONS.iter().zip([&series.directions.client, &series.directions.server])
    {
        let colour = *colour;
        let mut add = |name: &str, colour: Colour, mark: Mark, values: Values<'a>| {
            if !values.is_empty() {
                out.push(ChartSeries { name: format!("{direction_name} {name}"), colour, mark, values });
            }
        };
        // A direction without data would only stretch the scale with its window line.
        let has_data = !direction.seq.is_empty();
        match kind {
            ChartKind::TimeSequence if has_data => {
                add("data", colour, Mark::Dots(2.0), points(&direction.seq));
                add("ACK", colour.faded(0.6), Mark::Steps, points(&direction.ack));
                add("retransmissions", RETRANSMISSION, Mark::Dots(4.0), points(&direction.retransmissions));
            }
            ChartKind::Tcptrace if has_data => {
                add("segments", colour, Mark::Bars, bars(&direction.bars));
                add("retransmissions", RETRANSMISSION, Mark::Bars, bars(&direction.retransmitted_bars));
                add("ACK", colour.faded(0.6), Mark::Steps, points(&direction.ack));
                add("window edge", colour.faded(0.35), Mark::Steps, points(&direction.window_edge));
                add("SACK blocks", SACK, Mark::Bars, bars(&direction.sack_blocks));
                add("zero window", ZERO_WINDOW, Mark::Dots(4.0), points(&direction.zero_windows));
            }
            ChartKind::Window => add("advertised", colour, Mark::Steps, points(&direction.advertised_window)),
            ChartKind::Throughput if has_data => {
                add("throughput", colour, Mark::Line, points(&direction.throughput));
                add("goodput", colour.faded(0.5), Mark::Line, points(&direction.goodput));
            }
            ChartKind::Rtt => add("data → ACK", colour, Mark::Dots(3.0), points(&direction.rtt)),
            ChartKind::InFlight if has_data => add("unacknowledged", colour, Mark::Line, points(&direction.in_flight)),
            _ => {}
        }
    }
    Some(Chart { kind, title, series: out })
}

/// `points` as a staircase: each value held until the next point's x.
pub fn steps(points: &[[f64; 2]]) -> Vec<[f64; 2]> {
    let mut out = Vec::with_capacity(points.len() * 2);
    for pair in points.windows(2) {
        if let [from, to] = pair {
            out.push(*from);
            out.push([to[0], from[1]]);
        }
    }
    out.extend(points.last());
    out
}

/// A per-connection chart's title.
pub fn connection_title(connection: &Connection, kind: ChartKind) -> String {
    format!("Connection {} ({} → {}): {}", connection.id, connection.client, connection.server, kind.name())
}

/// How many sockets are in each state over a capture's connections, from `start_nanos` to
/// `end_nanos` (the capture's first and last packets).
pub fn capture_states<'a>(
    connections: impl IntoIterator<Item = &'a Connection>,
    start_nanos: i64,
    end_nanos: i64,
) -> BTreeMap<TcpState, Vec<[f64; 2]>> {
    states_over_time(connections, start_nanos, end_nanos)
}

/// Connections opened and closed, and packets, per second over a capture's connections.
pub fn capture_rates_of<'a>(
    connections: impl IntoIterator<Item = &'a Connection>,
    start_nanos: i64,
    end_nanos: i64,
) -> CaptureRates {
    capture_rates(connections, start_nanos, end_nanos, RATE_INTERVALS)
}

/// The rates chart averages over this many intervals of the capture.
const RATE_INTERVALS: usize = 200;

/// The states chart of the capture `capture_name`: sockets in each state over time.
pub fn states_chart<'a>(states: &'a BTreeMap<TcpState, Vec<[f64; 2]>>, capture_name: &str) -> Chart<'a> {
    let title = format!("Sockets in each state: {capture_name}");
    // CLOSE_WAIT last, on top: it is the line people look for.
    let mut ordered: Vec<_> = states.iter().collect();
    ordered.sort_by_key(|(state, _)| **state == TcpState::CloseWait);
    let series = ordered
        .into_iter()
        .map(|(state, values)| ChartSeries {
            name: state.name().to_string(),
            colour: state_line(*state),
            mark: Mark::Line,
            values: points(values),
        })
        .collect();
    Chart { kind: ChartKind::States, title, series }
}

/// The rates chart of the capture `capture_name`: connections opened and closed, and packets,
/// per second.
pub fn rates_chart<'a>(rates: &'a CaptureRates, capture_name: &str) -> Chart<'a> {
    let line = |name: &str, colour: Colour, values: &'a [[f64; 2]]| ChartSeries {
        name: name.to_string(),
        colour,
        mark: Mark::Line,
        values: points(values),
    };
    Chart {
        kind: ChartKind::Rates,
        title: format!("Connections and packets per second: {capture_name}"),
        series: vec![
            line("connections opened", DIRECTIONS[0].1, &rates.opened),
            line("connections closed", DIRECTIONS[1].1, &rates.closed),
            line("packets", GREY, &rates.packets),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::series::DirectionSeries;

    #[test]
    fn steps_hold_each_value() {
        assert_eq!(
            steps(&[[0.0, 1.0], [2.0, 5.0], [3.0, 4.0]]),
            [[0.0, 1.0], [2.0, 1.0], [2.0, 5.0], [3.0, 5.0], [3.0, 4.0]]
        );
        assert!(steps(&[]).is_empty());
    }

    #[test]
    fn slugs_round_trip() {
        for kind in ChartKind::ALL {
            assert_eq!(ChartKind::from_slug(kind.slug()), Some(kind));
        }
        assert_eq!(ChartKind::from_slug("pie"), None);
    }

    #[test]
    fn tcptrace_shows_bars_sacks_and_skips_a_silent_direction() {
        let client = DirectionSeries {
            seq: vec![[0.0, 10.0]],
            bars: vec![[0.0, 0.0, 10.0]],
            ack: vec![[0.1, 10.0]],
            sack_blocks: vec![[0.1, 20.0, 30.0]],
            ..DirectionSeries::default()
        };
        let server = DirectionSeries { window_edge: vec![[0.0, 5.0]], ..DirectionSeries::default() };
        let series =
            ConnectionSeries { directions: crate::wire::PerSide::new(client, server), segment_times: vec![0.0] };
        let chart =
            connection_chart(ChartKind::Tcptrace, &series, String::new()).expect("a tcptrace chart of this connection");
        let names: Vec<&str> = chart.series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["client → server segments", "client → server ACK", "client → server SACK blocks"]);
        assert_eq!(chart.x_range(), Some((0.0, 0.1)));
        assert!(connection_chart(ChartKind::States, &series, String::new()).is_none());
    }
}
