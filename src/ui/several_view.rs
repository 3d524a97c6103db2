//! Paints several connections on one ladder: a lifeline per socket under its address, every
//! segment of every chosen connection in time order between its two sockets, the state pills
//! where a socket's state changes. Rows and lanes are virtualised: only what is in view is
//! painted, so 2,000 connections draw as fast as two.

use egui::{Align, Align2, Color32, CornerRadius, FontId, Pos2, Rect, Sense, Stroke, Ui, Vec2};

use crate::ladder::multi::{Lane, MultiLayout, MultiRowKind};
use crate::ladder::segment_label;
use crate::session::several::Several;
use crate::tcp::Connection;
use crate::Engine;

use super::ladder_view::LadderViewState;
use super::theme;

/// Width of one socket's lane, and of the time column, at zoom 1.
const LANE_WIDTH: f32 = 190.0;
const TIME_WIDTH: f32 = 72.0;
const HEADER_HEIGHT: f32 = 40.0;

/// What the user clicked: a segment of one of the connections.
pub struct Picked {
    pub conn: u32,
    pub index: usize,
}

/// Draws `several`; `selected` is the connection and segment Details shows.
pub fn several_ui(
    ui: &mut Ui,
    engine: &Engine,
    several: &Several,
    view: &mut LadderViewState,
    selected: Option<(u32, usize)>,
) -> Option<Picked> {
    let dark = ui.visuals().dark_mode;
    ui.label(egui::RichText::new(format!("Several connections: {} · Esc shows one", several.title)).strong());
    for sentence in &several.story {
        ui.label(super::prose::with_code_spans(ui, sentence, false));
    }
    let layout = &several.layout;
    let connections: Vec<Option<&Connection>> = several.ids.iter().map(|&id| engine.connection(id)).collect();
    let zoom = view.zoom;
    let lane = LANE_WIDTH * zoom;
    let time_width = TIME_WIDTH * zoom;
    let start = connections.iter().flatten().map(|c| c.first_ts_nanos()).min().unwrap_or(0);
    let mut picked = None;
    egui::ScrollArea::both().auto_shrink([false, false]).id_salt("several").show_viewport(ui, |ui, viewport| {
        let width = (time_width + lane * layout.lanes.len() as f32).max(ui.available_width());
        let height = HEADER_HEIGHT + layout.height() * zoom + 8.0;
        let (full, _) = ui.allocate_exact_size(Vec2::new(width, height), Sense::hover());
        let top = full.top() + HEADER_HEIGHT;
        let x_of = |lane_index: usize| full.left() + time_width + lane * (lane_index as f32 + 0.5);
        let painter = ui.painter_at(ui.clip_rect());
        let view_x = (full.left() + viewport.min.x)..=(full.left() + viewport.max.x);
        let first_lane = ((viewport.min.x - time_width) / lane).floor().max(0.0) as usize;
        let last_lane = (((viewport.max.x - time_width) / lane).ceil().max(0.0) as usize).min(layout.lanes.len());
        let weak = ui.visuals().weak_text_color();
        // Sockets of one host sit side by side: every other host's lanes are shaded, so the hosts
        // read as columns (on loopback there is one host and no shading).
        let mut shaded = false;
        // From the first lane, so a host keeps its shade however far the view is scrolled.
        for index in 0..last_lane {
            let host = layout.lanes.get(index).map(Lane::host);
            if index > 0 && layout.lanes.get(index - 1).map(Lane::host) != host {
                shaded = !shaded;
            }
            if shaded && index >= first_lane {
                let band = Rect::from_x_y_ranges(
                    (x_of(index) - lane / 2.0)..=(x_of(index) + lane / 2.0),
                    (top + viewport.min.y)..=(full.top() + viewport.max.y),
                );
                painter.rect_filled(band, CornerRadius::ZERO, ui.visuals().faint_bg_color);
            }
        }
        for index in first_lane..last_lane {
            let x = x_of(index);
            painter.line_segment(
                [Pos2::new(x, top + viewport.min.y), Pos2::new(x, full.top() + viewport.max.y)],
                Stroke::new(1.5, weak),
            );
        }
        let visible = layout.rows_in((viewport.min.y - HEADER_HEIGHT) / zoom, (viewport.max.y - HEADER_HEIGHT) / zoom);
        let font = FontId::monospace(11.0 * zoom);
        let mut previous_time = None;
        for row_index in visible.clone() {
            let Some(row) = layout.rows.get(row_index) else { continue };
            let y = top + row.y * zoom;
            let row_rect = Rect::from_min_size(Pos2::new(full.left(), y), Vec2::new(width, row.height * zoom));
            match row.kind {
                MultiRowKind::Idle { nanos } => {
                    painter.rect_filled(
                        row_rect.shrink2(Vec2::new(0.0, 2.0)),
                        CornerRadius::ZERO,
                        ui.visuals().faint_bg_color,
                    );
                    let text = format!("… {} idle …", crate::analysis::exchanges::duration(nanos as f64 / 1e9));
                    let at = Pos2::new(full.left() + viewport.center().x, row_rect.center().y);
                    painter.text(at, Align2::CENTER_CENTER, text, FontId::proportional(11.0 * zoom), weak);
                }
                MultiRowKind::Segment { conn, index, from, to } => {
                    let Some(connection) = connections.get(conn).copied().flatten() else { continue };
                    let Some(segment) = connection.segments.get(index) else { continue };
                    let (x1, x2) = (x_of(from), x_of(to));
                    let (left, right) = (x1.min(x2), x1.max(x2));
                    // An arrow wholly left or right of the view is not painted.
                    if right < *view_x.start() || left > *view_x.end() {
                        continue;
                    }
                    let hit = Rect::from_x_y_ranges(left..=right, row_rect.y_range());
                    let response =
                        ui.interact(hit, ui.scope_id().with(("several", connection.id, index)), Sense::click());
                    let label = segment_label(connection, segment, view.numbering);
                    let is_selected = selected == Some((connection.id, index));
                    response.widget_info(|| {
                        egui::WidgetInfo::selected(
                            egui::Role::Button,
                            true,
                            is_selected,
                            format!("connection {} frame {}: {label}", connection.id, segment.frame),
                        )
                    });
                    if response.clicked() {
                        picked = Some(Picked { conn: connection.id, index });
                    }
                    if is_selected || response.hovered() {
                        let fill = if is_selected {
                            ui.visuals().selection.bg_fill.gamma_multiply(0.35)
                        } else {
                            ui.visuals().faint_bg_color
                        };
                        painter.rect_filled(hit.expand2(Vec2::new(8.0, 0.0)), CornerRadius::same(4), fill);
                    }
                    let colour =
                        if segment.flags.rst() { theme::reset_colour(dark) } else { ui.visuals().text_color() };
                    let tail = Pos2::new(x1, y + row.height * zoom * 0.45);
                    let head = Pos2::new(x2, y + row.height * zoom * 0.8);
                    arrow(&painter, tail, head, Stroke::new(1.4, colour), zoom);
                    let text = super::super::ladder::label::elide(
                        &format!("#{} {label}", connection.id),
                        ((right - left) / (6.6 * zoom)).max(4.0) as usize,
                    );
                    let middle = Pos2::new((left + right) / 2.0, y + row.height * zoom * 0.32);
                    painter.text(middle, Align2::CENTER_CENTER, text, font.clone(), colour);
                    let time = (segment.ts_nanos - start) as f64 / 1e6;
                    if previous_time != Some(segment.ts_nanos) {
                        let at = Pos2::new(full.left() + viewport.min.x + time_width - 6.0, tail.y);
                        painter.text(at, Align2::RIGHT_CENTER, format!("{time:.3}"), font.clone(), weak);
                    }
                    previous_time = Some(segment.ts_nanos);
                }
            }
        }
        // A key moved the selection: bring its row into view, wherever it is.
        if let (Some(index), Some((conn_id, _))) = (view.scroll_to_segment.take(), selected) {
            let conn = several.ids.iter().position(|&id| id == conn_id);
            let row = layout.rows.iter().find(
                |row| matches!(row.kind, MultiRowKind::Segment { conn: c, index: i, .. } if Some(c) == conn && i == index),
            );
            if let Some(row) = row {
                let y = top + row.y * zoom;
                // Horizontally, the sender's lane comes into view.
                let x = match row.kind {
                    MultiRowKind::Segment { from, .. } => x_of(from),
                    MultiRowKind::Idle { .. } => full.left() + viewport.min.x,
                };
                let rect = Rect::from_min_size(Pos2::new(x, y), Vec2::new(1.0, row.height * zoom));
                // A jump, not a glide: the row may be a million points away.
                ui.scroll_to_rect_animation(rect, Some(Align::Center), egui::style::ScrollAnimation::none());
            }
        }
        for mark in layout.marks_in(&visible) {
            let Some(row) = layout.rows.get(mark.row) else { continue };
            if !(first_lane..last_lane).contains(&mark.lane) {
                continue;
            }
            let text = if layout.shared(mark.lane) {
                format!("#{} {}", mark.conn_id, mark.to.name())
            } else {
                mark.to.name().to_string()
            };
            let at = Pos2::new(x_of(mark.lane), top + (row.y + row.height * 0.8) * zoom);
            pill(&painter, at, &text, theme::state_fill(mark.to, dark), theme::pill_text(dark), zoom);
        }
        let header = Rect::from_min_size(
            Pos2::new(full.left() + viewport.min.x, full.top() + viewport.min.y),
            Vec2::new(viewport.width(), HEADER_HEIGHT),
        );
        painter.rect_filled(header, CornerRadius::ZERO, ui.visuals().panel_fill);
        painter.text(
            Pos2::new(header.left() + 4.0, header.top() + 18.0),
            Align2::LEFT_TOP,
            "time (ms)",
            FontId::proportional(12.0),
            weak,
        );
        for index in first_lane..last_lane {
            let Some(socket) = layout.lanes.get(index) else { continue };
            let x = x_of(index);
            let role = lane_role(layout, index);
            painter.text(Pos2::new(x, header.top() + 3.0), Align2::CENTER_TOP, role, FontId::proportional(12.0), weak);
            painter.text(
                Pos2::new(x, header.top() + 18.0),
                Align2::CENTER_TOP,
                socket.socket.to_string(),
                FontId::monospace(13.0),
                ui.visuals().strong_text_color(),
            );
        }
    });
    picked
}

/// What a lane's socket is: a server port many connect to, or the connections it serves.
fn lane_role(layout: &MultiLayout, lane: usize) -> String {
    let Some(socket) = layout.lanes.get(lane) else { return String::new() };
    let servers = layout.lanes_of.iter().filter(|lanes| lanes.server == lane).count();
    match (servers, socket.connections.as_slice()) {
        (0, [id]) => format!("client of #{id}"),
        (1, [id]) => format!("server of #{id}"),
        (n, _) if n > 1 => format!("server of {n} connections"),
        _ => format!("{} connections", socket.connections.len()),
    }
}

fn arrow(painter: &egui::Painter, tail: Pos2, head: Pos2, stroke: Stroke, zoom: f32) {
    let direction = (head - tail).normalized();
    let length = 9.0 * zoom.clamp(0.6, 2.5);
    let back = head - direction * length;
    let side = direction.rot90() * (length * 0.45);
    painter.line_segment([tail, back], stroke);
    painter.add(egui::Shape::convex_polygon(vec![head, back + side, back - side], stroke.color, Stroke::NONE));
}

fn pill(painter: &egui::Painter, at: Pos2, text: &str, fill: Color32, colour: Color32, zoom: f32) {
    let galley = painter.layout_no_wrap(text.to_string(), FontId::monospace(11.0 * zoom), colour);
    let rect = Rect::from_center_size(at, galley.size() + Vec2::new(10.0, 4.0) * zoom);
    painter.rect_filled(rect, CornerRadius::same(6), fill);
    painter.galley(rect.center() - galley.size() / 2.0, galley, colour);
}
