//! Charts under the ladder (egui_plot), linked to it both ways: the selected segment is marked,
//! and clicking a chart selects the segment nearest in time. Series are computed once per
//! connection and decimated to the pixels in view, so a million points stay smooth.

use std::collections::BTreeMap;

use egui::{Color32, Ui};
use egui_plot::{Legend, Line, Plot, PlotPoints, Points, VLine};

use crate::analysis::series::{
    capture_rates, connection_series, decimate, segment_at, states_over_time, ConnectionSeries, Points as Series,
};
use crate::tcp::TcpState;

use super::document::Document;
use super::theme;

/// Which chart is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Chart {
    #[default]
    TimeSequence,
    Window,
    Throughput,
    Rtt,
    InFlight,
    States,
    Rates,
}

impl Chart {
    const ALL: [Chart; 6] =
        [Self::TimeSequence, Self::Window, Self::Throughput, Self::Rtt, Self::InFlight, Self::States];

    fn name(self) -> &'static str {
        match self {
            Self::TimeSequence => "time-sequence",
            Self::Window => "advertised window",
            Self::Throughput => "throughput",
            Self::Rtt => "RTT",
            Self::InFlight => "bytes in flight",
            Self::States => "states over the capture",
            Self::Rates => "opened, closed, packets/s",
        }
    }

    fn y_label(self) -> &'static str {
        match self {
            Self::TimeSequence => "relative sequence number",
            Self::Window => "window (bytes)",
            Self::Throughput => "bytes per second",
            Self::Rtt => "seconds",
            Self::InFlight => "bytes",
            Self::States => "sockets",
            Self::Rates => "per second",
        }
    }
}

/// The chart panel's state and caches.
#[derive(Default)]
pub struct ChartsState {
    pub chart: Chart,
    series: Option<(u32, usize, ConnectionSeries)>,
    states: Option<(usize, usize, BTreeMap<TcpState, Series>)>,
}

const DIRECTIONS: [(&str, Color32); 2] = [
    ("client → server", Color32::from_rgb(0x42, 0x85, 0xf4)),
    ("server → client", Color32::from_rgb(0x0f, 0x9d, 0x58)),
];

/// Shows the chart picker and the chart; returns the segment the user clicked, if any.
/// `hovered` is the ladder's segment under the pointer, marked too.
pub fn charts_ui(ui: &mut Ui, document: &Document, state: &mut ChartsState, hovered: Option<usize>) -> Option<usize> {
    ui.horizontal(|ui| {
        for chart in Chart::ALL {
            if ui.selectable_label(state.chart == chart, chart.name()).clicked() {
                state.chart = chart;
            }
        }
        ui.label(egui::RichText::new("drag to pan, scroll to zoom, double-click to reset").weak());
    });
    if state.chart == Chart::States {
        states_chart(ui, document, state);
        return None;
    }
    if state.chart == Chart::Rates {
        rates_chart(ui, document);
        return None;
    }
    let connection = document.connection()?;
    let stale =
        !matches!(&state.series, Some((id, len, _)) if *id == connection.id && *len == connection.segments.len());
    if stale {
        state.series = Some((connection.id, connection.segments.len(), connection_series(connection)));
    }
    let (_, _, series) = state.series.as_ref()?;
    let selected_x = document.selected_segment.and_then(|i| series.segment_times.get(i)).copied();
    let hovered_x = hovered.and_then(|i| series.segment_times.get(i)).copied();
    let chart = state.chart;
    let buckets = (ui.available_width() as usize).max(200);
    let dark = ui.visuals().dark_mode;
    let mut clicked_x = None;
    Plot::new(("chart", chart as u8))
        .legend(Legend::default())
        .x_axis_label("time since the connection began (s)")
        .y_axis_label(chart.y_label())
        .height(ui.available_height().max(120.0))
        .show(ui, |plot| {
            let bounds = plot.plot_bounds();
            let (x_min, x_max) = (bounds.min()[0], bounds.max()[0]);
            let fit = |points: &Series| PlotPoints::from(decimate(points, x_min, x_max, buckets));
            for ((name, colour), direction) in DIRECTIONS.iter().zip(&series.directions) {
                // A direction without data would only stretch the scale with its window line.
                if direction.seq.is_empty() && matches!(chart, Chart::TimeSequence | Chart::Rtt | Chart::InFlight) {
                    continue;
                }
                match chart {
                    Chart::TimeSequence => {
                        plot.points(
                            Points::new(format!("{name} data"), fit(&direction.seq)).color(*colour).radius(2.0),
                        );
                        plot.line(
                            Line::new(format!("{name} ACK"), fit(&direction.ack)).color(colour.gamma_multiply(0.6)),
                        );
                        plot.line(
                            Line::new(format!("{name} window edge"), fit(&direction.window_edge))
                                .color(colour.gamma_multiply(0.35)),
                        );
                        if !direction.retransmissions.is_empty() {
                            let amber = theme::warning_colour(dark);
                            plot.points(
                                Points::new(format!("{name} retransmissions"), fit(&direction.retransmissions))
                                    .color(amber)
                                    .radius(4.0),
                            );
                        }
                        if !direction.zero_windows.is_empty() {
                            let red = theme::reset_colour(dark);
                            plot.points(
                                Points::new(format!("{name} zero window"), fit(&direction.zero_windows))
                                    .color(red)
                                    .radius(4.0),
                            );
                        }
                    }
                    Chart::Window => plot.line(
                        Line::new(format!("{name} advertised"), fit(&direction.advertised_window)).color(*colour),
                    ),
                    Chart::Throughput => {
                        plot.line(Line::new(format!("{name} goodput"), fit(&direction.throughput)).color(*colour))
                    }
                    Chart::Rtt => plot.points(
                        Points::new(format!("{name} data → ACK"), fit(&direction.rtt)).color(*colour).radius(3.0),
                    ),
                    Chart::InFlight => {
                        plot.line(Line::new(format!("{name} unacknowledged"), fit(&direction.in_flight)).color(*colour))
                    }
                    Chart::States | Chart::Rates => {}
                }
            }
            if let Some(x) = selected_x {
                plot.vline(VLine::new("selected segment", x).color(ui_selection(dark)));
            }
            if let Some(x) = hovered_x {
                plot.vline(VLine::new("segment under the pointer", x).color(ui_selection(dark).gamma_multiply(0.4)));
            }
            if plot.response().clicked() {
                clicked_x = plot.pointer_coordinate().map(|p| p.x);
            }
        });
    clicked_x.and_then(|x| segment_at(series, x))
}

fn ui_selection(dark: bool) -> Color32 {
    if dark {
        Color32::from_rgb(0xff, 0xd5, 0x4f)
    } else {
        Color32::from_rgb(0x8a, 0x4b, 0x00)
    }
}

fn states_chart(ui: &mut Ui, document: &Document, state: &mut ChartsState) {
    let connections = document.engine.connections();
    let segments: usize = connections.iter().map(|c| c.segments.len()).sum();
    let stale = !matches!(&state.states, Some((count, total, _)) if *count == connections.len() && *total == segments);
    if stale {
        let start = document.engine.stats().first_ts_nanos.unwrap_or(0);
        state.states = Some((connections.len(), segments, states_over_time(connections, start)));
    }
    let Some((_, _, states)) = &state.states else { return };
    let dark = ui.visuals().dark_mode;
    let buckets = (ui.available_width() as usize).max(200);
    Plot::new("chart-states")
        .legend(Legend::default())
        .x_axis_label("time since the capture began (s)")
        .y_axis_label("sockets in the state")
        .height(ui.available_height().max(120.0))
        .show(ui, |plot| {
            let bounds = plot.plot_bounds();
            for (state, points) in states {
                let colour = theme::state_fill(*state, !dark);
                let points = decimate(points, bounds.min()[0], bounds.max()[0], buckets);
                plot.line(Line::new(state.name(), PlotPoints::from(points)).color(colour));
            }
        });
}

fn rates_chart(ui: &mut Ui, document: &Document) {
    let engine = &document.engine;
    let start = engine.stats().first_ts_nanos.unwrap_or(0);
    let rates = capture_rates(engine.connections(), start, engine.capture_end_nanos(), 200);
    Plot::new("chart-rates")
        .legend(Legend::default())
        .x_axis_label("time since the capture began (s)")
        .y_axis_label("per second")
        .height(ui.available_height().max(120.0))
        .show(ui, |plot| {
            plot.line(Line::new("connections opened", PlotPoints::from(rates.opened)).color(DIRECTIONS[0].1));
            plot.line(Line::new("connections closed", PlotPoints::from(rates.closed)).color(DIRECTIONS[1].1));
            plot.line(Line::new("packets", PlotPoints::from(rates.packets)).color(Color32::GRAY));
        });
}
