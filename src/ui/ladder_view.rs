//! Paints a connection's ladder from its pure layout: lifelines, one sloped arrow per segment,
//! state pills where a side's state changes, folded runs, idle bands and phase brackets. Only the
//! rows in view are painted.

use egui::{Align, Align2, CornerRadius, FontId, Pos2, Rect, Sense, Stroke, Ui, Vec2};

use crate::analysis::exchanges::duration;
use crate::ladder::layout::FoldedRun;
use crate::ladder::{segment_label, Numbering, RowKind};
use crate::summary::human_bytes;
use crate::tcp::{Connection, Segment};
use crate::wire::Side;

use super::ladder_paint::{Columns, Paint, MIN_LADDER_WIDTH};
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
    /// A lesson's "predict first": only the segments before this index are drawn.
    pub reveal: Option<usize>,
    /// With a second capture open, draw the connection from both ends.
    pub both_ends: bool,
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
            reveal: None,
            both_ends: true,
        }
    }
}

const HEADER_HEIGHT: f32 = 40.0;

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
        // Rows past the last revealed segment are not drawn, nor the brackets that would tell
        // what comes.
        let shown_rows = view.reveal.map_or(usize::MAX, |count| {
            count.checked_sub(1).and_then(|last| layout.row_of_segment(last)).map_or(0, |row| row + 1)
        });
        let visible = visible.start.min(shown_rows)..visible.end.min(shown_rows);
        let phases = if view.reveal.is_some() { &[][..] } else { &layout.phases[..] };
        let waits = if view.reveal.is_some() { &[][..] } else { document.waits() };
        for span in phases {
            paint.phase_bracket(ui, layout, span, &visible);
        }
        // Each answered request's wait, bracketed on the client's side from the request to the
        // start of its answer.
        let row_of = |frame: u32| {
            let index = connection.segments.partition_point(|s| s.frame < frame);
            layout.row_of_segment(index).filter(|_| connection.segments.get(index).is_some_and(|s| s.frame == frame))
        };
        for &(request, response, seconds) in waits {
            if let (Some(from), Some(to)) = (row_of(request), row_of(response)) {
                paint.wait_bracket(ui, layout, from..to + 1, &visible, &duration(seconds));
            }
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
                    let text = fold_text(&run, layout.fold_contents(&run));
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
            let text = format!("kernel: {state}");
            let drawn = painter.text(at, Align2::CENTER_CENTER, &text, FontId::proportional(11.0), colour);
            // Painted text is invisible to screen readers (and to the UI tests): the pill is a
            // label to them too, and says on hover what it is.
            let hint = if *differs {
                "The kernel's state of this socket now, which disagrees with the state the wire shows (Details says why)"
            } else {
                "The kernel's state of this socket now, as the socket table shows it: it agrees with the wire"
            };
            ui.interact(drawn, ui.scope_id().with(("kernel pill", side == Side::Client)), egui::Sense::hover())
                .on_hover_text(hint)
                .widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, &text));
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

/// What a fold row says: "412 segments folded: 1.2 MB → · 3.0 KB ←   (click to expand)".
pub fn fold_text(run: &FoldedRun, contents: Option<&str>) -> String {
    let contents = contents.map_or(String::new(), |held| format!(" · {held}"));
    format!("{}{contents}   (click to expand)", run.describe(human_bytes))
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

/// Selects a segment, expanding the fold that hides it and scrolling it into view.
pub(super) fn select_segment(document: &mut Document, view: &mut LadderViewState, index: usize) {
    document.selected_segment = Some(index);
    if let Some(layout) = document.layout() {
        if let Some(row) = layout.row_of_segment(index).and_then(|r| layout.rows.get(r)) {
            if let crate::ladder::RowKind::Folded(run) = row.kind {
                document.expanded.insert(run.first);
            }
        }
    }
    view.scroll_to_segment = Some(index);
}
