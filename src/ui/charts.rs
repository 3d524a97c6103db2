//! Charts under the ladder (egui_plot), linked to it both ways: the selected segment is marked,
//! and clicking a chart selects the segment nearest in time. Series are computed once per
//! connection and decimated to the pixels in view, so a million points stay smooth.

use std::collections::BTreeMap;
use std::sync::mpsc::{channel, Receiver, TryRecvError};
use std::sync::Arc;

use egui::{Color32, Stroke, Ui};
use egui_plot::{Bar, BarChart, Legend, Line, Plot, PlotPoints, PlotUi, Points, VLine};

use crate::analysis::chart::{self, Chart, ChartKind, Colour, Mark, Values};
use crate::analysis::series::{
    connection_series, decimate, decimate_bars, segment_at, CaptureRates, ConnectionSeries, Points as Series,
};
use crate::tcp::TcpState;
use crate::Engine;

use crate::session::document::Document;

/// A file's connections longer than this get their series computed on a thread: a
/// 10-million-segment one takes seconds, and the window must not stop for them.
const SERIES_IN_BACKGROUND: usize = 100_000;

/// A connection's series are cached for (its id, its segment count).
type SeriesKey = (u32, usize);

/// The chart panel's state and caches.
#[derive(Default)]
pub struct ChartsState {
    pub chart: ChartKind,
    series: Option<(SeriesKey, ConnectionSeries)>,
    /// Series being computed on a thread.
    computing: Option<(SeriesKey, Receiver<ConnectionSeries>)>,
    /// Capture-wide series, with the (connections, segments) they were computed for: a live
    /// capture grows, a loaded file does not, and neither is recomputed every frame.
    capture: Option<((usize, usize), CaptureSeries)>,
}

struct CaptureSeries {
    states: BTreeMap<TcpState, Series>,
    rates: CaptureRates,
}

impl ChartsState {
    /// The chart on screen, built from the same series. `window` is woken when series computed
    /// on a thread are ready (`None` until then); without one (an export) this waits for them.
    pub fn current(&mut self, document: &Document, window: Option<&egui::Context>) -> Option<Chart<'_>> {
        let kind = self.chart;
        match kind {
            ChartKind::States => Some(chart::states_chart(&self.capture_of(document).states, &document.title())),
            ChartKind::Rates => Some(chart::rates_chart(&self.capture_of(document).rates, &document.title())),
            _ => {
                let title = chart::connection_title(document.connection()?, kind);
                chart::connection_chart(kind, self.series_of(document, window)?, title)
            }
        }
    }

    /// Segments of the connection whose series are being computed on a thread.
    pub fn computing_segments(&self) -> Option<usize> {
        self.computing.as_ref().map(|((_, segments), _)| *segments)
    }

    fn series_of(&mut self, document: &Document, window: Option<&egui::Context>) -> Option<&ConnectionSeries> {
        let connection = document.connection()?;
        let key = (connection.id, connection.segments.len());
        if self.series.as_ref().map(|(cached, _)| *cached) != Some(key) {
            let computed = match self.computing.take() {
                Some((computing, receiver)) if computing == key => {
                    let done = match window {
                        Some(_) => receiver.try_recv(),
                        None => receiver.recv().map_err(|_| TryRecvError::Disconnected),
                    };
                    match done {
                        Ok(series) => series,
                        Err(TryRecvError::Empty) => {
                            self.computing = Some((computing, receiver));
                            return None;
                        }
                        // The thread failed: compute here.
                        Err(TryRecvError::Disconnected) => connection_series(connection),
                    }
                }
                _ => match window {
                    Some(window) if key.1 > SERIES_IN_BACKGROUND && document.capture_id.is_none() => {
                        match spawn_series(Arc::clone(&document.engine), key, window.clone()) {
                            Some(receiver) => {
                                self.computing = Some((key, receiver));
                                return None;
                            }
                            None => connection_series(connection),
                        }
                    }
                    _ => connection_series(connection),
                },
            };
            self.series = Some((key, computed));
        }
        self.series.as_ref().map(|(_, series)| series)
    }

    fn capture_of(&mut self, document: &Document) -> &CaptureSeries {
        let connections = document.engine.connections();
        let key = (connections.len(), connections.iter().map(|c| c.segments.len()).sum());
        let cached = self.capture.take().filter(|(computed_for, _)| *computed_for == key);
        let (_, series) = self.capture.insert(cached.unwrap_or_else(|| {
            let (start, end) = document.engine.capture_span();
            let states = chart::capture_states(connections, start, end);
            (key, CaptureSeries { states, rates: chart::capture_rates_of(connections, start, end) })
        }));
        series
    }
}

fn colour32(colour: Colour) -> Color32 {
    let [r, g, b] = colour.rgb;
    Color32::from_rgb(r, g, b).gamma_multiply(colour.opacity)
}

/// Computes the series of connection `key.0` on a thread; wakes `window` when they are ready.
fn spawn_series(engine: Arc<Engine>, key: SeriesKey, window: egui::Context) -> Option<Receiver<ConnectionSeries>> {
    let (sender, receiver) = channel();
    let spawned = std::thread::Builder::new().name("tcpladder-series".into()).spawn(move || {
        if let Some(connection) = engine.connection(key.0) {
            // The window may have moved on to another connection and dropped the receiver: nothing to tell.
            let _ = sender.send(connection_series(connection));
        }
        window.request_repaint();
    });
    spawned.ok().map(|_| receiver)
}

/// Shows the chart picker and the chart; returns the segment the user clicked, if any.
/// `hovered` is the ladder's segment under the pointer, marked too.
pub fn charts_ui(ui: &mut Ui, document: &Document, state: &mut ChartsState, hovered: Option<usize>) -> Option<usize> {
    ui.horizontal_wrapped(|ui| {
        for kind in ChartKind::ALL {
            if ui.selectable_label(state.chart == kind, kind.name()).clicked() {
                state.chart = kind;
            }
        }
        ui.label(egui::RichText::new("drag to pan, scroll to zoom, double-click to reset").weak());
    });
    let kind = state.chart;
    let window = ui.ctx().clone();
    let (selected_x, hovered_x) = match state.series_of(document, Some(&window)) {
        Some(series) if kind.per_connection() => {
            let time_of = |i: Option<usize>| i.and_then(|i| series.segment_times.get(i)).copied();
            (time_of(document.selected_segment), time_of(hovered))
        }
        _ => (None, None),
    };
    if let (true, Some(segments)) = (kind.per_connection(), state.computing_segments()) {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label(format!("Computing the charts of {segments} segments…"));
        });
        return None;
    }
    let chart = state.current(document, Some(&window))?;
    if chart.x_range().is_none() {
        // An empty frame around −0.5…0.5 says nothing: say why there is nothing to draw.
        let text = format!(
            "{}: nothing to plot: this connection has none of what the chart counts (data segments, RTT samples).",
            kind.name()
        );
        ui.label(egui::RichText::new(text).weak());
        return None;
    }
    let buckets = (ui.available_width() as usize).max(200);
    let dark = ui.visuals().dark_mode;
    let mut clicked_x = None;
    Plot::new(("chart", kind.slug()))
        // Top left: the series of these charts grow toward the top right, where the newest
        // data would hide under a legend.
        .legend(Legend::default().position(egui_plot::Corner::LeftTop))
        .x_axis_label(kind.x_label())
        .y_axis_label(kind.y_label())
        .height(ui.available_height().max(120.0))
        .show(ui, |plot| {
            draw(plot, &chart, buckets);
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
    let x = clicked_x.filter(|_| kind.per_connection())?;
    state.series_of(document, Some(&window)).and_then(|series| segment_at(series, x))
}

/// Draws the series of `chart`, each decimated to the pixel columns in view.
fn draw(plot: &mut PlotUi, chart: &Chart, buckets: usize) {
    let bounds = plot.plot_bounds();
    // Until the user zooms or pans, the plot fits what it is given: give it the whole range, or
    // what lies outside the first frame's default bounds would never be shown.
    let (x_min, x_max) = match chart.x_range() {
        Some(range) if plot.auto_bounds().x => range,
        _ => (bounds.min()[0], bounds.max()[0]),
    };
    let bar_width = (x_max - x_min) / buckets as f64;
    for series in &chart.series {
        let colour = colour32(series.colour);
        match (&series.values, series.mark) {
            (Values::Points(points), Mark::Line | Mark::Steps) => {
                let mut shown = decimate(points, x_min, x_max, buckets);
                if series.mark == Mark::Steps {
                    shown = chart::steps(&shown);
                }
                let points = PlotPoints::from(shown);
                // Steps and decimated pairs share x values, which egui_plot would fill as a band.
                plot.line(Line::new(series.name.clone(), points).color(colour).allow_band(false));
            }
            (Values::Points(points), Mark::Dots(radius)) => {
                let points = PlotPoints::from(decimate(points, x_min, x_max, buckets));
                plot.points(Points::new(series.name.clone(), points).color(colour).radius(radius));
            }
            (Values::Points(_), Mark::Bars) => {}
            (Values::Bars(bars), _) => {
                let bars = decimate_bars(bars, x_min, x_max, buckets)
                    .into_iter()
                    .map(|[x, from, to]| {
                        Bar::new(x, to - from)
                            .base_offset(from)
                            .width(bar_width)
                            .fill(colour)
                            .stroke(Stroke::new(1.0, colour))
                    })
                    .collect();
                plot.bar_chart(BarChart::new(series.name.clone(), bars).color(colour));
            }
        }
    }
}

fn ui_selection(dark: bool) -> Color32 {
    if dark {
        Color32::from_rgb(0xff, 0xd5, 0x4f)
    } else {
        Color32::from_rgb(0x8a, 0x4b, 0x00)
    }
}
