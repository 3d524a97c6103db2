//! Paints a connection's ladder from its pure layout: lifelines, one sloped arrow per segment,
//! state pills where a side's state changes, folded runs, idle bands and phase brackets. Only the
//! rows in view are painted.

use egui::{Align, Align2, Color32, CornerRadius, FontId, Pos2, Rect, Sense, Stroke, Ui, Vec2};

use crate::ladder::label::{analysis_label_at, elide, options_label};
use crate::ladder::layout::{lifelines, FoldedRun, LadderLayout, PhaseSpan, Row, StateMark, ARROW_SLOPE};
use crate::ladder::{segment_label, Numbering, RowKind};
use crate::summary::{human_bytes, human_duration};
use crate::tcp::{AnalysisFlags, Connection, Direction, Segment};
use crate::wire::Side;

use super::theme;
use crate::session::document::Document;

pub use crate::ladder::label::TimeMode;

/// The ladder's view settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LadderViewState {
    pub zoom: f32,
    pub numbering: Numbering,
    pub time_mode: TimeMode,
    /// Scroll so that this segment is in view on the next frame.
    pub scroll_to_segment: Option<usize>,
    /// The user scrolled the ladder this frame (pauses following a live capture).
    pub user_scrolled: bool,
    /// The segment under the pointer, for marking it on the charts.
    pub hovered_segment: Option<usize>,
    /// During a live capture, the kernel's state of each side's socket now, and whether it
    /// disagrees with the wire's: written under the end of each lifeline.
    pub kernel: Option<crate::wire::PerSide<(&'static str, bool)>>,
}

impl Default for LadderViewState {
    fn default() -> Self {
        Self {
            zoom: 1.0,
            numbering: Numbering::Relative,
            time_mode: TimeMode::Relative,
            scroll_to_segment: None,
            user_scrolled: false,
            hovered_segment: None,
            kernel: None,
        }
    }
}

const TIME_COLUMN: f32 = 100.0;
const PILL_MARGIN: f32 = 126.0;
const PHASE_COLUMN: f32 = 26.0;
/// Arrows need this much room between the lifelines for their labels.
const MIN_GAP: f32 = 300.0;
/// Length of an arrow's head at zoom 1: fixed, whatever the arrow's length.
const ARROW_HEAD: f32 = 10.0;
const HEADER_HEIGHT: f32 = 40.0;

/// The narrowest the ladder gets; below it the view scrolls sideways.
pub const MIN_LADDER_WIDTH: f32 = TIME_COLUMN + 2.0 * PILL_MARGIN + MIN_GAP + PHASE_COLUMN;

/// Where the ladder's columns sit for a given width.
struct Columns {
    left: f32,
    client: f32,
    server: f32,
    phases: f32,
    /// The right edge of the time column.
    time: f32,
}

impl Columns {
    /// The columns at `zoom`: they grow with the text, so that zooming in never cuts the time
    /// column or runs a pill over a lifeline.
    fn new(rect: Rect, zoom: f32) -> Self {
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

/// Shows the ladder of the selected connection; returns the segment the user clicked, if any.
pub fn ladder_ui(ui: &mut Ui, document: &mut Document, view: &mut LadderViewState) -> Option<usize> {
    let dark = ui.visuals().dark_mode;
    let Some(id) = document.selected_conn else {
        ui.centered_and_justified(|ui| ui.label("Select a connection to draw its ladder."));
        return None;
    };
    document.layout();
    let connection = document.engine.connection(id)?;
    let layout = document.layout_cached()?;
    let selected = document.selected_segment;
    // Findings sit on the arrow of the frame that shows them.
    let finding_notes = document.row().map(|row| row.finding_notes(connection)).unwrap_or_default();
    let mut findings: Vec<(u32, &str)> = finding_notes.iter().map(|(frame, text)| (*frame, text.as_str())).collect();
    findings.extend(document.annotations.iter().map(|(frame, text)| (*frame, text.as_str())));
    let app_notes = document.app_notes();
    let mut clicked = None;
    let mut expand = None;
    let scroll_to = view.scroll_to_segment.take().and_then(|index| layout.row_of_segment(index));
    egui::ScrollArea::both().auto_shrink([false, false]).id_salt(("ladder", id)).show_viewport(ui, |ui, viewport| {
        let zoom = view.zoom;
        let width = ui.available_width().max(MIN_LADDER_WIDTH * zoom);
        let height = HEADER_HEIGHT + layout.height() * zoom + if view.kernel.is_some() { 30.0 } else { 8.0 };
        let (full, _) = ui.allocate_exact_size(Vec2::new(width, height), Sense::hover());
        // Rows start below the header, which stays at the top of the view.
        let rect = Rect::from_min_max(full.min + Vec2::new(0.0, HEADER_HEIGHT), full.max);
        let columns = Columns::new(rect, zoom);
        view.user_scrolled = ui.rect_contains_pointer(ui.clip_rect()) && ui.input(|i| i.smooth_scroll_delta.y != 0.0);
        view.hovered_segment = None;
        let painter = ui.painter_at(ui.clip_rect());
        let visible = layout.rows_in((viewport.min.y - HEADER_HEIGHT) / zoom, (viewport.max.y - HEADER_HEIGHT) / zoom);
        let stroke = Stroke::new(1.5, ui.visuals().weak_text_color());
        let top = rect.top() + viewport.min.y;
        let bottom = rect.top() + viewport.max.y;
        for x in [columns.client, columns.server] {
            painter.line_segment([Pos2::new(x, top), Pos2::new(x, bottom)], stroke);
        }
        let paint = Paint { ui_painter: &painter, rect, columns: &columns, zoom, dark, numbering: view.numbering };
        for span in &layout.phases {
            paint.phase_bracket(ui, layout, span, &visible);
        }
        for row_index in visible.clone() {
            let Some(row) = layout.rows.get(row_index) else { continue };
            let row_rect = paint.row_rect(row);
            match row.kind {
                RowKind::Segment(index) => {
                    let Some(segment) = connection.segments.get(index) else { continue };
                    let previous = index.checked_sub(1).and_then(|i| connection.segments.get(i));
                    paint.time(ui, connection, segment, previous, row, view.time_mode);
                    let response = ui.interact(row_rect, ui.scope_id().with(("segment", id, index)), Sense::click());
                    let label = segment_label(connection, segment, view.numbering);
                    let codes: Vec<&str> =
                        findings.iter().filter(|(frame, _)| *frame == segment.frame).map(|(_, code)| *code).collect();
                    let app: &[String] = app_notes.get(&segment.frame).map_or(&[], Vec::as_slice);
                    // Findings and what the applications said and saw are read out with the arrow.
                    let mut notes = if codes.is_empty() { String::new() } else { format!(" » {}", codes.join(", ")) };
                    for note in app {
                        notes.push(' ');
                        notes.push_str(note);
                    }
                    response.widget_info(|| {
                        egui::WidgetInfo::selected(
                            egui::Role::Button,
                            true,
                            selected == Some(index),
                            format!("frame {}: {label}{notes}", segment.frame),
                        )
                    });
                    if response.clicked() {
                        clicked = Some(index);
                    }
                    let hovered = response.hovered();
                    if hovered {
                        view.hovered_segment = Some(index);
                    }
                    paint.segment(
                        ui,
                        connection,
                        segment,
                        index,
                        row,
                        &label,
                        (&codes, app),
                        selected == Some(index),
                        hovered,
                    );
                    if hovered {
                        response.on_hover_text(segment_tooltip(connection, segment));
                    }
                }
                RowKind::Folded(run) => {
                    let response = ui.interact(row_rect, ui.scope_id().with(("fold", id, run.first)), Sense::click());
                    let text = fold_text(&run);
                    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &text));
                    paint.fold(ui, row, &text, response.hovered());
                    if response.clicked() {
                        expand = Some(run.first);
                    }
                }
                RowKind::Idle { nanos } => paint.idle(ui, row, nanos),
            }
        }
        for mark in layout.state_marks.iter().filter(|m| visible.contains(&m.row)) {
            if let Some(row) = layout.rows.get(mark.row) {
                let sender = match row.kind {
                    RowKind::Segment(index) => connection.segments.get(index).map(|s| s.dir.sender()),
                    _ => None,
                };
                paint.pill(ui, row, mark, sender == Some(mark.side));
            }
        }
        for (side, (state, differs)) in view.kernel.iter().flat_map(crate::wire::PerSide::iter) {
            let at = Pos2::new(
                if side == Side::Client { columns.client } else { columns.server },
                rect.top() + layout.height() * zoom + 12.0,
            );
            let colour = if *differs { theme::warning_colour(dark) } else { ui.visuals().weak_text_color() };
            painter.text(at, Align2::CENTER_CENTER, format!("kernel: {state}"), FontId::proportional(11.0), colour);
        }
        if let Some(row) = scroll_to.and_then(|r| layout.rows.get(r)) {
            ui.scroll_to_rect(paint.row_rect(row), Some(Align::Center));
        }
        let header =
            Rect::from_min_size(Pos2::new(full.left(), full.top() + viewport.min.y), Vec2::new(width, HEADER_HEIGHT));
        header_ui(ui, &painter, header, &columns, connection, view.time_mode);
    });
    if let Some(first) = expand {
        document.expanded.insert(first);
    }
    clicked
}

/// The lifelines' heads: role and `ip:port` of each side, on top of the rows scrolled under them.
fn header_ui(
    ui: &Ui,
    painter: &egui::Painter,
    header: Rect,
    columns: &Columns,
    connection: &Connection,
    mode: TimeMode,
) {
    painter.rect_filled(header, CornerRadius::ZERO, ui.visuals().panel_fill);
    let strong = ui.visuals().strong_text_color();
    let weak = ui.visuals().weak_text_color();
    for (x, role, addr) in
        [(columns.client, "client", connection.client), (columns.server, "server", connection.server)]
    {
        painter.text(Pos2::new(x, header.top() + 3.0), Align2::CENTER_TOP, role, FontId::proportional(12.0), weak);
        painter.text(
            Pos2::new(x, header.top() + 18.0),
            Align2::CENTER_TOP,
            addr.to_string(),
            FontId::monospace(13.0),
            strong,
        );
    }
    painter.text(
        Pos2::new(columns.left + 4.0, header.top() + 18.0),
        Align2::LEFT_TOP,
        mode.heading(),
        FontId::proportional(12.0),
        weak,
    );
    painter.line_segment([header.left_bottom(), header.right_bottom()], ui.visuals().widgets.noninteractive.bg_stroke);
}

struct Paint<'a> {
    ui_painter: &'a egui::Painter,
    rect: Rect,
    columns: &'a Columns,
    zoom: f32,
    dark: bool,
    numbering: Numbering,
}

impl Paint<'_> {
    fn row_rect(&self, row: &Row) -> Rect {
        Rect::from_min_size(
            Pos2::new(self.rect.left(), self.rect.top() + row.y * self.zoom),
            Vec2::new(self.rect.width(), row.height * self.zoom),
        )
    }

    /// The y of an arrow's tail in a row.
    fn tail_y(&self, row: &Row) -> f32 {
        self.rect.top() + (row.y + 18.0) * self.zoom
    }

    fn head_y(&self, row: &Row) -> f32 {
        self.tail_y(row) + ARROW_SLOPE * 34.0 * self.zoom
    }

    fn font(&self, size: f32) -> FontId {
        FontId::monospace(size * self.zoom.clamp(0.6, 2.5))
    }

    fn time(
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
    fn segment(
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

    fn fold(&self, ui: &Ui, row: &Row, text: &str, hovered: bool) {
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

    fn idle(&self, ui: &Ui, row: &Row, nanos: i64) {
        let rect = self.row_rect(row);
        let text = format!("· · ·  idle {}  · · ·", human_duration(nanos));
        let centre = Pos2::new((self.columns.client + self.columns.server) / 2.0, rect.center().y);
        self.ui_painter.text(centre, Align2::CENTER_CENTER, text, self.font(11.0), ui.visuals().weak_text_color());
    }

    fn pill(&self, ui: &Ui, row: &Row, mark: &StateMark, at_tail: bool) {
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
        let description = format!("{role} state {}", mark.to);
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, &description));
        self.ui_painter.rect_filled(pill, CornerRadius::same(8), theme::state_fill(mark.to, self.dark));
        self.ui_painter.galley(pill.min + Vec2::new(6.0, 2.0), galley, Color32::PLACEHOLDER);
    }

    fn phase_bracket(&self, ui: &Ui, layout: &LadderLayout, span: &PhaseSpan, visible: &std::ops::Range<usize>) {
        if span.rows.end <= visible.start || span.rows.start >= visible.end {
            return;
        }
        let (Some(first), Some(last)) =
            (layout.rows.get(span.rows.start), layout.rows.get(span.rows.end.saturating_sub(1)))
        else {
            return;
        };
        let top = self.row_rect(first).top() + 4.0;
        let bottom = self.row_rect(last).bottom() - 4.0;
        let x = self.columns.phases;
        // In the phase's colour, as its pills are.
        let colour = theme::state_line(span.phase.state());
        let stroke = Stroke::new(1.5, colour);
        self.ui_painter.line_segment([Pos2::new(x, top), Pos2::new(x, bottom)], stroke);
        self.ui_painter.line_segment([Pos2::new(x, top), Pos2::new(x - 6.0, top)], stroke);
        self.ui_painter.line_segment([Pos2::new(x, bottom), Pos2::new(x - 6.0, bottom)], stroke);
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

/// What a fold row says: "412 segments folded: 1.2 MB → · 3.0 KB ←   (click to expand)".
pub fn fold_text(run: &FoldedRun) -> String {
    format!("{}   (click to expand)", run.describe(human_bytes))
}

fn segment_tooltip(connection: &Connection, segment: &Segment) -> String {
    let mut lines = vec![format!("frame {} · {} bytes of payload", segment.frame, segment.payload_len)];
    let scaled = connection.scaled_window(segment.dir, segment.window_raw, segment.flags.syn());
    lines.push(match scaled {
        Some(scaled) if scaled != u32::from(segment.window_raw) => {
            format!("window {scaled} = raw {} scaled by the sender's wscale", segment.window_raw)
        }
        Some(_) => format!("window {} (not scaled)", segment.window_raw),
        None => format!("window {} raw (the sender's scale is unknown: its SYN was not captured)", segment.window_raw),
    });
    for (name, words) in segment.analysis.described() {
        lines.push(format!("{name}: {words}"));
    }
    lines.join("\n")
}
