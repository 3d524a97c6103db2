//! Painting the ladder: where its columns sit at a width and zoom, and each kind of row (an
//! arrow with its label and notes, a state pill, a fold, an idle band, a phase bracket). The view
//! (`ladder_view`) decides what is shown and handles the pointer; this draws it.

use egui::{Align2, Color32, CornerRadius, FontId, Pos2, Rect, Sense, Stroke, Ui, Vec2};

use crate::ladder::label::{analysis_label_at, elide, options_label, TimeMode};
use crate::ladder::layout::{lifelines, LadderLayout, PhaseSpan, Row, StateMark, ARROW_SLOPE};
use crate::ladder::Numbering;
use crate::summary::human_duration;
use crate::tcp::{AnalysisFlags, Connection, Direction, Segment};
use crate::wire::Side;

use super::theme;

const TIME_COLUMN: f32 = 100.0;
const PILL_MARGIN: f32 = 126.0;
const PHASE_COLUMN: f32 = 26.0;
/// Arrows need this much room between the lifelines for their labels.
const MIN_GAP: f32 = 300.0;
/// Length of an arrow's head at zoom 1: fixed, whatever the arrow's length.
const ARROW_HEAD: f32 = 10.0;

/// The narrowest the ladder gets; below it the view scrolls sideways.
pub const MIN_LADDER_WIDTH: f32 = TIME_COLUMN + 2.0 * PILL_MARGIN + MIN_GAP + PHASE_COLUMN;

/// Where the ladder's columns sit for a given width.
pub(super) struct Columns {
    pub(super) left: f32,
    pub(super) client: f32,
    pub(super) server: f32,
    pub(super) phases: f32,
    /// The right edge of the time column.
    pub(super) time: f32,
}

impl Columns {
    /// The columns at `zoom`: they grow with the text, so that zooming in never cuts the time
    /// column or runs a pill over a lifeline.
    pub(super) fn new(rect: Rect, zoom: f32) -> Self {
        let (time, phase) = (TIME_COLUMN * zoom, PHASE_COLUMN * zoom);
        let (client, server) = lifelines(rect.width() - time - phase, PILL_MARGIN * zoom);
        let left = rect.left() + time;
        Self {
            left: rect.left(),
            client: left + client,
            server: left + server,
            phases: rect.right() - phase + 8.0,
            time: left,
        }
    }
}

/// What the ladder is painted with: the painter, where the rows lie, the columns, the zoom.
pub(super) struct Paint<'a> {
    pub(super) ui_painter: &'a egui::Painter,
    pub(super) rect: Rect,
    pub(super) columns: &'a Columns,
    pub(super) zoom: f32,
    pub(super) dark: bool,
    pub(super) numbering: Numbering,
}

impl Paint<'_> {
    pub(super) fn row_rect(&self, row: &Row) -> Rect {
        Rect::from_min_size(
            Pos2::new(self.rect.left(), self.rect.top() + row.y * self.zoom),
            Vec2::new(self.rect.width(), row.height * self.zoom),
        )
    }

    /// The y of an arrow's tail in a row.
    pub(super) fn tail_y(&self, row: &Row) -> f32 {
        self.rect.top() + (row.y + 18.0) * self.zoom
    }

    pub(super) fn head_y(&self, row: &Row) -> f32 {
        self.tail_y(row) + ARROW_SLOPE * 34.0 * self.zoom
    }

    pub(super) fn font(&self, size: f32) -> FontId {
        FontId::monospace(size * self.zoom.clamp(0.6, 2.5))
    }

    pub(super) fn time(
        &self,
        ui: &Ui,
        connection: &Connection,
        segment: &Segment,
        previous: Option<&Segment>,
        row: &Row,
        mode: TimeMode,
    ) {
        let text = mode.format(segment.ts_nanos, connection.first_ts_nanos(), previous.map(|p| p.ts_nanos));
        let pos = Pos2::new(self.columns.time - 6.0, self.tail_y(row));
        self.ui_painter.text(pos, Align2::RIGHT_CENTER, text, self.font(10.5), ui.visuals().weak_text_color());
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn segment(
        &self,
        ui: &Ui,
        connection: &Connection,
        segment: &Segment,
        index: usize,
        row: &Row,
        label: &str,
        (findings, app): (&[&str], &[String]),
        selected: bool,
        hovered: bool,
    ) {
        let (from, to) = match segment.dir {
            Direction::ClientToServer => (self.columns.client, self.columns.server),
            Direction::ServerToClient => (self.columns.server, self.columns.client),
        };
        let cause = findings.contains(&crate::ladder::notes::CAUSE_NOTE);
        let colour = if cause { theme::warning_colour(self.dark) } else { arrow_colour(ui, segment, self.dark) };
        if selected || hovered {
            let band = self.row_rect(row).shrink2(Vec2::new(2.0, 1.0));
            let fill = if selected {
                ui.visuals().selection.bg_fill.gamma_multiply(0.35)
            } else {
                ui.visuals().faint_bg_color
            };
            self.ui_painter.rect_filled(band, CornerRadius::same(4), fill);
            if selected {
                self.ui_painter.rect_stroke(
                    band,
                    CornerRadius::same(4),
                    ui.visuals().selection.stroke,
                    egui::StrokeKind::Inside,
                );
            }
        }
        let width = if selected { 2.6 } else { 1.6 };
        let tail = Pos2::new(from, self.tail_y(row));
        let head = Pos2::new(to, self.head_y(row));
        self.arrow(tail, head, Stroke::new(width, colour));
        let middle = Pos2::new((from + to) / 2.0, (tail.y + head.y) / 2.0 - 3.0 * self.zoom);
        self.ui_painter.text(middle, Align2::CENTER_BOTTOM, label, self.font(12.0), colour);
        let mut notes = Vec::new();
        if segment.flags.syn() {
            notes.push((options_label(connection, segment, self.numbering), ui.visuals().weak_text_color()));
        }
        let analysis = analysis_label_at(connection, index);
        if !analysis.is_empty() {
            notes.push((analysis, colour));
        }
        if !findings.is_empty() {
            let finding_colour = if segment.flags.rst() { colour } else { theme::warning_colour(self.dark) };
            notes.push((format!("» {}", findings.join(", ")), finding_colour));
        }
        // What the applications said: their messages, and how long each request waited, cut to
        // what fits between the lifelines.
        let fits = (((to - from).abs() / (6.5 * self.zoom)) as usize).max(24);
        for note in app {
            notes.push((elide(note, fits), ui.visuals().strong_text_color()));
        }
        let mut y = head.y.max(tail.y) + 3.0 * self.zoom;
        for (text, note_colour) in notes {
            self.ui_painter.text(
                Pos2::new((from + to) / 2.0, y),
                Align2::CENTER_TOP,
                text,
                self.font(10.0),
                note_colour,
            );
            y += 12.0 * self.zoom;
        }
    }

    /// A line with a filled head of fixed size (egui's `arrow` scales the head with the length).
    fn arrow(&self, tail: Pos2, head: Pos2, stroke: Stroke) {
        let direction = (head - tail).normalized();
        let length = ARROW_HEAD * self.zoom.clamp(0.6, 2.5);
        let back = head - direction * length;
        let side = direction.rot90() * (length * 0.45);
        self.ui_painter.line_segment([tail, back], stroke);
        self.ui_painter.add(egui::Shape::convex_polygon(
            vec![head, back + side, back - side],
            stroke.color,
            Stroke::NONE,
        ));
    }

    pub(super) fn fold(&self, ui: &Ui, row: &Row, text: &str, hovered: bool) {
        let rect = self.row_rect(row);
        let band =
            Rect::from_x_y_ranges(self.columns.client + 6.0..=self.columns.server - 6.0, rect.y_range().shrink(3.0));
        let fill = if hovered { ui.visuals().widgets.hovered.bg_fill } else { ui.visuals().faint_bg_color };
        self.ui_painter.rect_filled(band, CornerRadius::same(6), fill);
        self.ui_painter.rect_stroke(
            band,
            CornerRadius::same(6),
            ui.visuals().widgets.noninteractive.bg_stroke,
            egui::StrokeKind::Inside,
        );
        self.ui_painter.text(band.center(), Align2::CENTER_CENTER, text, self.font(11.5), ui.visuals().text_color());
    }

    pub(super) fn idle(&self, ui: &Ui, row: &Row, nanos: i64) {
        let rect = self.row_rect(row);
        let text = format!("· · ·  idle {}  · · ·", human_duration(nanos));
        let centre = Pos2::new((self.columns.client + self.columns.server) / 2.0, rect.center().y);
        self.ui_painter.text(centre, Align2::CENTER_CENTER, text, self.font(11.0), ui.visuals().weak_text_color());
    }

    pub(super) fn pill(&self, ui: &Ui, row: &Row, mark: &StateMark, at_tail: bool) {
        let y = if at_tail { self.tail_y(row) } else { self.head_y(row) };
        let text = match mark.via {
            Some(via) => format!("{via} → {}", mark.to),
            None => mark.to.name().to_string(),
        };
        let font = self.font(11.0);
        let galley = ui.painter().layout_no_wrap(text, font, theme::pill_text(self.dark));
        let size = galley.size() + Vec2::new(12.0, 4.0);
        let gap = 8.0;
        let min = match mark.side {
            Side::Client => Pos2::new(self.columns.client - gap - size.x, y - size.y / 2.0),
            Side::Server => Pos2::new(self.columns.server + gap, y - size.y / 2.0),
        };
        let pill = Rect::from_min_size(min, size);
        // Pills are painted, so give each an accessible node: tests and screen readers read states.
        let role = mark.side.name();
        let response = ui.interact(pill, ui.scope_id().with(("pill", mark.row, mark.side)), Sense::hover());
        let unseen = if mark.assumed { " (not visible in this capture)" } else { "" };
        let description = format!("{role} state {}{unseen}", mark.to);
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, &description));
        self.ui_painter.rect_filled(pill, CornerRadius::same(8), theme::state_fill(mark.to, self.dark));
        if mark.assumed {
            self.hatch(pill);
        }
        self.ui_painter.galley(pill.min + Vec2::new(6.0, 2.0), galley, Color32::PLACEHOLDER);
    }

    /// Diagonal stripes over a pill whose state the capture does not show, only implies.
    fn hatch(&self, pill: Rect) {
        let stroke = Stroke::new(1.0, Color32::from_black_alpha(if self.dark { 150 } else { 90 }));
        let painter = self.ui_painter.with_clip_rect(pill.intersect(self.ui_painter.clip_rect()));
        let mut x = pill.left() - pill.height();
        while x < pill.right() {
            painter.line_segment([Pos2::new(x, pill.bottom()), Pos2::new(x + pill.height(), pill.top())], stroke);
            x += 6.0;
        }
    }

    pub(super) fn phase_bracket(
        &self,
        ui: &Ui,
        layout: &LadderLayout,
        span: &PhaseSpan,
        visible: &std::ops::Range<usize>,
    ) {
        let Some((first, last)) = shown_span(layout, &span.rows, visible) else { return };
        let top = self.row_rect(first).top() + 4.0;
        let bottom = self.row_rect(last).bottom() - 4.0;
        let x = self.columns.phases;
        // In the phase's colour, as its pills are.
        let colour = theme::state_line(span.phase.state());
        self.bracket(x, (top, bottom), -6.0, Stroke::new(1.5, colour));
        // The name runs down beside the bracket, so the column stays narrow.
        let fits = |text: &str| {
            let galley = ui.painter().layout_no_wrap(text.to_string(), FontId::proportional(11.5), colour);
            (galley.size().x <= bottom - top).then_some(galley)
        };
        let Some(galley) = fits(span.phase.name()).or_else(|| fits(span.phase.short_name())) else { return };
        let text = egui::epaint::TextShape::new(Pos2::new(x + 16.0, top), galley, colour)
            .with_angle(std::f32::consts::FRAC_PI_2);
        self.ui_painter.add(text);
    }

    /// A request's wait: a thin bracket just right of the time column over `rows`, from the
    /// request's arrow to its answer's, named with the wait ("45 µs") when it fits.
    pub(super) fn wait_bracket(
        &self,
        ui: &Ui,
        layout: &LadderLayout,
        rows: std::ops::Range<usize>,
        visible: &std::ops::Range<usize>,
        wait: &str,
    ) {
        let Some((first, last)) = shown_span(layout, &rows, visible) else { return };
        let (top, bottom) = (self.tail_y(first), self.head_y(last));
        let x = self.columns.time + 6.0 * self.zoom;
        let colour = ui.visuals().weak_text_color();
        self.bracket(x, (top, bottom), 4.0 * self.zoom, Stroke::new(1.0, colour));
        let galley = ui.painter().layout_no_wrap(wait.to_string(), self.font(9.5), colour);
        if galley.size().x <= bottom - top {
            let at = Pos2::new(x + 12.0 * self.zoom, (top + bottom + galley.size().x) / 2.0);
            let text = egui::epaint::TextShape::new(at, galley, colour).with_angle(-std::f32::consts::FRAC_PI_2);
            self.ui_painter.add(text);
        }
    }

    /// A vertical line at `x` from `top` to `bottom` with a tick of `tick` (negative: to the
    /// left) at each end.
    fn bracket(&self, x: f32, (top, bottom): (f32, f32), tick: f32, stroke: Stroke) {
        self.ui_painter.line_segment([Pos2::new(x, top), Pos2::new(x, bottom)], stroke);
        for y in [top, bottom] {
            self.ui_painter.line_segment([Pos2::new(x, y), Pos2::new(x + tick, y)], stroke);
        }
    }
}

/// The first and last rows of `rows`, when any of them is in view.
fn shown_span<'l>(
    layout: &'l LadderLayout,
    rows: &std::ops::Range<usize>,
    visible: &std::ops::Range<usize>,
) -> Option<(&'l Row, &'l Row)> {
    if rows.end <= visible.start || rows.start >= visible.end {
        return None;
    }
    Some((layout.rows.get(rows.start)?, layout.rows.get(rows.end.checked_sub(1)?)?))
}

fn arrow_colour(ui: &Ui, segment: &Segment, dark: bool) -> Color32 {
    let trouble = AnalysisFlags::RETRANSMISSION
        | AnalysisFlags::FAST_RETRANSMISSION
        | AnalysisFlags::SPURIOUS_RETRANSMISSION
        | AnalysisFlags::ZERO_WINDOW
        | AnalysisFlags::ZERO_WINDOW_PROBE
        | AnalysisFlags::LOST_SEGMENT
        | AnalysisFlags::DUPLICATE_ACK
        | AnalysisFlags::OUT_OF_ORDER;
    if segment.flags.rst() {
        theme::reset_colour(dark)
    } else if segment.analysis.0 & trouble != 0 {
        theme::warning_colour(dark)
    } else {
        ui.visuals().text_color()
    }
}
