//! A chart as SVG for slides: axes with round ticks and units, a legend, text as text.
//! Each series is decimated to the plot's pixel columns, so a million points make a small file.

// Every `let _ = write!(…)` below writes into a String, which cannot fail: the fmt::Result is
// dropped for that reason alone.
use std::fmt::Write as _;

use crate::analysis::chart::{steps, Chart, Colour, Mark, Values};
use crate::analysis::series::{decimate, decimate_bars};

use super::xml;

/// The picture's size, 16:9 like a slide.
pub const WIDTH: f64 = 960.0;
pub const HEIGHT: f64 = 540.0;
const LEFT: f64 = 90.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 44.0;
const LEGEND_ROW: f64 = 18.0;
const LEGEND_COLUMN: f64 = 300.0;

/// The data's extent, padded; never empty.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Bounds {
    x: (f64, f64),
    y: (f64, f64),
}

fn bounds(chart: &Chart) -> Option<Bounds> {
    let mut x = (f64::INFINITY, f64::NEG_INFINITY);
    let mut y = (0.0f64, f64::NEG_INFINITY);
    let mut widen = |px: f64, py: f64| {
        if px.is_finite() && py.is_finite() {
            x = (x.0.min(px), x.1.max(px));
            y = (y.0.min(py), y.1.max(py));
        }
    };
    for series in &chart.series {
        match &series.values {
            Values::Points(points) => points.iter().for_each(|p| widen(p[0], p[1])),
            Values::Bars(bars) => bars.iter().for_each(|b| {
                widen(b[0], b[1]);
                widen(b[0], b[2]);
            }),
        }
    }
    if x.0 > x.1 {
        return None;
    }
    let pad = |(low, high): (f64, f64)| {
        let span = if high > low { high - low } else { high.abs().max(1.0) };
        (low - span * 0.02, high + span * 0.05)
    };
    Some(Bounds { x: pad(x), y: pad(y) })
}

/// Round tick values (1, 2 or 5 × 10ⁿ apart) covering `range`, about `target` of them.
fn ticks(range: (f64, f64), target: f64, whole: bool) -> (Vec<f64>, f64) {
    let raw = (range.1 - range.0) / target;
    let raw = if whole { raw.max(1.0) } else { raw };
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(magnitude * 10.0);
    let first = (range.0 / step).ceil() as i64;
    let last = (range.1 / step).floor() as i64;
    ((first..=last).map(|i| i as f64 * step).collect(), step)
}

/// A tick's text: as many decimals as the step needs, thousands grouped.
fn tick_text(value: f64, step: f64) -> String {
    let decimals = if step >= 1.0 { 0 } else { (-step.log10().floor()) as usize };
    let text = format!("{value:.decimals$}");
    let (integer, fraction) = text.split_once('.').map_or((text.as_str(), None), |(i, f)| (i, Some(f)));
    let (sign, digits) = integer.strip_prefix('-').map_or(("", integer), |d| ("-", d));
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(' ');
        }
        grouped.push(digit);
    }
    match fraction {
        Some(fraction) => format!("{sign}{grouped}.{fraction}"),
        None => format!("{sign}{grouped}"),
    }
}

fn paint(colour: Colour) -> String {
    if colour.opacity < 1.0 {
        format!(r#"{}" opacity="{:.2}"#, colour.hex(), colour.opacity)
    } else {
        colour.hex()
    }
}

/// Renders `chart` as a standalone SVG on a white background.
pub fn chart_svg(chart: &Chart) -> String {
    let legend_rows = chart.series.len().div_ceil(3) as f64;
    let bottom = 56.0 + legend_rows * LEGEND_ROW;
    let (plot_w, plot_h) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - bottom);
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="DejaVu Sans, sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
    let _ = writeln!(out, r##"<text x="{LEFT}" y="24" font-size="15" fill="#111">{}</text>"##, xml(&chart.title));
    let Some(bounds) = bounds(chart) else {
        let _ = writeln!(
            out,
            r##"<text x="{}" y="{}" text-anchor="middle" fill="#666">nothing to plot</text>"##,
            WIDTH / 2.0,
            HEIGHT / 2.0
        );
        out.push_str("</svg>\n");
        return out;
    };
    let sx = |x: f64| LEFT + (x - bounds.x.0) / (bounds.x.1 - bounds.x.0) * plot_w;
    let sy = |y: f64| TOP + plot_h - (y - bounds.y.0) / (bounds.y.1 - bounds.y.0) * plot_h;
    axes(&mut out, chart, bounds, (plot_w, plot_h), &sx, &sy);
    let _ = writeln!(
        out,
        r#"<clipPath id="plot"><rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}"/></clipPath><g clip-path="url(#plot)">"#
    );
    let columns = plot_w as usize;
    for series in &chart.series {
        match (&series.values, series.mark) {
            (Values::Points(points), Mark::Line | Mark::Steps) => {
                let mut shown = decimate(points, bounds.x.0, bounds.x.1, columns);
                if series.mark == Mark::Steps {
                    shown = steps(&shown);
                }
                let mut path = String::new();
                for point in shown {
                    let _ = write!(path, "{:.1},{:.1} ", sx(point[0]), sy(point[1]));
                }
                let _ = writeln!(
                    out,
                    r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="1.5"/>"#,
                    path.trim_end(),
                    paint(series.colour)
                );
            }
            (Values::Points(points), Mark::Dots(_) | Mark::Bars) => {
                let radius = if let Mark::Dots(r) = series.mark { f64::from(r) } else { 2.0 };
                let _ = writeln!(out, r#"<g fill="{}">"#, paint(series.colour));
                for point in decimate(points, bounds.x.0, bounds.x.1, columns) {
                    let _ =
                        writeln!(out, r#"<circle cx="{:.1}" cy="{:.1}" r="{radius}"/>"#, sx(point[0]), sy(point[1]));
                }
                out.push_str("</g>\n");
            }
            (Values::Bars(bars), _) => {
                let _ = writeln!(out, r#"<g stroke="{}" stroke-width="2">"#, paint(series.colour));
                for bar in decimate_bars(bars, bounds.x.0, bounds.x.1, columns) {
                    let (x, top, bottom) = (sx(bar[0]), sy(bar[2]), sy(bar[1]));
                    // A bar never vanishes: at least two pixels tall.
                    let bottom = bottom.max(top + 2.0);
                    let _ = writeln!(out, r#"<line x1="{x:.1}" y1="{top:.1}" x2="{x:.1}" y2="{bottom:.1}"/>"#);
                }
                out.push_str("</g>\n");
            }
        }
    }
    out.push_str("</g>\n");
    legend(&mut out, chart, HEIGHT - legend_rows * LEGEND_ROW - 6.0);
    out.push_str("</svg>\n");
    out
}

fn axes(
    out: &mut String,
    chart: &Chart,
    bounds: Bounds,
    (plot_w, plot_h): (f64, f64),
    sx: &dyn Fn(f64) -> f64,
    sy: &dyn Fn(f64) -> f64,
) {
    let _ =
        writeln!(out, r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#888"/>"##);
    let (x_ticks, x_step) = ticks(bounds.x, 8.0, false);
    for x in x_ticks {
        let px = sx(x);
        let _ = writeln!(
            out,
            r##"<line x1="{px:.1}" y1="{TOP}" x2="{px:.1}" y2="{:.1}" stroke="#eee"/><text x="{px:.1}" y="{:.1}" text-anchor="middle" fill="#444">{}</text>"##,
            TOP + plot_h,
            TOP + plot_h + 16.0,
            tick_text(x, x_step)
        );
    }
    let (y_ticks, y_step) = ticks(bounds.y, 6.0, chart.kind.counts());
    for y in y_ticks {
        let py = sy(y);
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" y1="{py:.1}" x2="{:.1}" y2="{py:.1}" stroke="#eee"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#444">{}</text>"##,
            LEFT + plot_w,
            LEFT - 6.0,
            py + 4.0,
            tick_text(y, y_step)
        );
    }
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#222">{}</text>"##,
        LEFT + plot_w / 2.0,
        TOP + plot_h + 36.0,
        xml(chart.kind.x_label())
    );
    let _ = writeln!(
        out,
        r##"<text transform="translate(16 {:.1}) rotate(-90)" text-anchor="middle" fill="#222">{}</text>"##,
        TOP + plot_h / 2.0,
        xml(chart.kind.y_label())
    );
}

fn legend(out: &mut String, chart: &Chart, top: f64) {
    for (i, series) in chart.series.iter().enumerate() {
        let x = LEFT + (i % 3) as f64 * LEGEND_COLUMN;
        let y = top + (i / 3) as f64 * LEGEND_ROW;
        let swatch = match series.mark {
            Mark::Line | Mark::Steps => format!(
                r#"<line x1="{x}" y1="{y}" x2="{}" y2="{y}" stroke="{}" stroke-width="2"/>"#,
                x + 18.0,
                paint(series.colour)
            ),
            Mark::Dots(_) => format!(r#"<circle cx="{}" cy="{y}" r="4" fill="{}"/>"#, x + 9.0, paint(series.colour)),
            Mark::Bars => format!(
                r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="3"/>"#,
                x + 9.0,
                y - 6.0,
                x + 9.0,
                y + 6.0,
                paint(series.colour)
            ),
        };
        let _ = writeln!(
            out,
            r##"{swatch}<text x="{}" y="{}" fill="#222">{}</text>"##,
            x + 24.0,
            y + 4.0,
            xml(&series.name)
        );
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::analysis::chart::{ChartKind, ChartSeries};

    #[test]
    fn ticks_are_round() {
        assert_eq!(ticks((0.0, 10.0), 5.0, false), (vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0], 2.0));
        let (values, step) = ticks((-0.013, 0.27), 6.0, false);
        assert_eq!(step, 0.05);
        assert_eq!(values.first().map(|v| tick_text(*v, step)), Some("0.00".to_string()));
        assert_eq!(ticks((0.0, 2.1), 6.0, true).0, [0.0, 1.0, 2.0]);
        assert_eq!(tick_text(1_234_567.0, 500_000.0), "1 234 567");
        assert_eq!(tick_text(-2500.0, 500.0), "-2 500");
    }

    #[test]
    fn draws_each_series_and_its_legend() {
        let chart = Chart {
            kind: ChartKind::Tcptrace,
            title: "connection 1 <test>".into(),
            series: vec![
                ChartSeries {
                    name: "segments".into(),
                    colour: crate::analysis::palette::state_line(crate::tcp::TcpState::Established),
                    mark: Mark::Bars,
                    values: Values::Bars(Cow::Owned(vec![[0.0, 0.0, 100.0], [1.0, 100.0, 200.0]])),
                },
                ChartSeries {
                    name: "ACK".into(),
                    colour: crate::analysis::palette::state_line(crate::tcp::TcpState::TimeWait),
                    mark: Mark::Line,
                    values: Values::Points(Cow::Owned(vec![[0.5, 100.0], [1.5, 200.0]])),
                },
            ],
        };
        let svg = chart_svg(&chart);
        assert!(svg.contains("connection 1 &lt;test&gt;"));
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert_eq!(svg.matches("<line x1=").count() - svg.matches("stroke=\"#eee\"").count(), 2 + 2);
        assert!(svg.contains(">relative sequence number<"));
    }

    #[test]
    fn an_empty_chart_says_so() {
        let chart = Chart { kind: ChartKind::Rtt, title: String::new(), series: Vec::new() };
        assert!(chart_svg(&chart).contains("nothing to plot"));
    }
}
