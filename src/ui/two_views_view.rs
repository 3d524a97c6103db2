//! Draws one connection from both ends (two captures merged): each arrow from the row where its
//! sender's capture saw it leave to the row where the receiver's saw it arrive, so its slope is
//! the real one-way delay against everything else that happened; a segment lost between the two
//! ends in an ×. The picture textbooks draw, from real captures.

use egui::{Align2, FontId, Pos2, Rect, Sense, Stroke, Ui, Vec2};

use crate::analysis::exchanges::duration;
use crate::ladder::segment_label;
use crate::ladder::two_views::TwoViews;
use crate::session::document::Document;
use crate::wire::Side;

use super::ladder_view::LadderViewState;
use super::theme;

const ROW: f32 = 26.0;
const TIME_WIDTH: f32 = 72.0;
const HEADER_HEIGHT: f32 = 40.0;

/// Draws the selected connection from both ends; returns the segment (of this capture) clicked.
pub fn two_views_ui(ui: &mut Ui, document: &Document, views: &TwoViews, view: &LadderViewState) -> Option<usize> {
    let (Some(vantage), Some(a)) = (&document.vantage, document.connection()) else { return None };
    let b = vantage.merged.vantage.get(&a.id).and_then(|&(id, _)| vantage.b_engine.connection(id))?;
    let dark = ui.visuals().dark_mode;
    ui.label(
        egui::RichText::new(format!("{} · {} lost between the two ends", vantage.summary(), views.lost())).strong(),
    );
    let zoom = view.zoom;
    let row = ROW * zoom;
    let start = views.crossings.iter().filter_map(|c| c.sent_nanos.or(c.arrived_nanos)).min().unwrap_or(0);
    let mut clicked = None;
    egui::ScrollArea::vertical().auto_shrink([false, false]).id_salt(("both ends", a.id)).show_viewport(
        ui,
        |ui, viewport| {
            let width = ui.available_width().max(420.0 * zoom);
            let height = HEADER_HEIGHT + row * (views.rows as f32 + 1.0);
            let (full, _) = ui.allocate_exact_size(Vec2::new(width, height), Sense::hover());
            let top = full.top() + HEADER_HEIGHT;
            let client_x = full.left() + TIME_WIDTH * zoom + 80.0 * zoom;
            let server_x = full.right() - 80.0 * zoom;
            let x_of = |side: Side| if side == Side::Client { client_x } else { server_x };
            let y_of = |r: usize| top + row * (r as f32 + 0.5);
            let painter = ui.painter_at(ui.clip_rect());
            let weak = ui.visuals().weak_text_color();
            for x in [client_x, server_x] {
                painter.line_segment(
                    [Pos2::new(x, top + viewport.min.y), Pos2::new(x, full.top() + viewport.max.y)],
                    Stroke::new(1.5, weak),
                );
            }
            let (first, last) = ((viewport.min.y - HEADER_HEIGHT) / row, (viewport.max.y - HEADER_HEIGHT) / row);
            let font = FontId::monospace(11.0 * zoom);
            for crossing in &views.crossings {
                // Only what crosses the view is painted.
                if (crossing.arrived_row.max(crossing.sent_row) as f32) < first - 1.0
                    || crossing.sent_row as f32 > last + 1.0
                {
                    continue;
                }
                let (in_b, index) = crossing.segment;
                let connection = if in_b { b } else { a };
                let Some(segment) = connection.segments.get(index) else { continue };
                let tail = Pos2::new(x_of(crossing.from), y_of(crossing.sent_row));
                let end = Pos2::new(x_of(crossing.from.other()), y_of(crossing.arrived_row));
                let lost = crossing.lost();
                let head = if lost { tail + (end - tail) * 0.5 } else { end };
                let colour =
                    if lost || segment.flags.rst() { theme::reset_colour(dark) } else { ui.visuals().text_color() };
                let selected = !in_b && document.selected_segment == Some(index);
                let hit = Rect::from_two_pos(tail, head).expand2(Vec2::new(0.0, 6.0));
                let response = ui.interact(hit, ui.scope_id().with(("both ends", in_b, index)), Sense::click());
                let label = segment_label(connection, segment, view.numbering);
                let delay = crossing
                    .delay_nanos()
                    .map_or_else(|| "lost between the ends".to_string(), |n| duration(n as f64 / 1e9));
                response.widget_info(|| {
                    egui::WidgetInfo::selected(egui::Role::Button, true, selected, format!("{label} · {delay}"))
                });
                if response.clicked() && !in_b {
                    clicked = Some(index);
                }
                let stroke = Stroke::new(if selected || response.hovered() { 2.5 } else { 1.3 }, colour);
                painter.line_segment([tail, head], stroke);
                if lost {
                    let s = 5.0 * zoom;
                    painter.line_segment([head + Vec2::new(-s, -s), head + Vec2::new(s, s)], Stroke::new(2.0, colour));
                    painter.line_segment([head + Vec2::new(-s, s), head + Vec2::new(s, -s)], Stroke::new(2.0, colour));
                } else {
                    let direction = (head - tail).normalized();
                    let back = head - direction * 8.0 * zoom;
                    let side = direction.rot90() * 3.6 * zoom;
                    painter.add(egui::Shape::convex_polygon(
                        vec![head, back + side, back - side],
                        colour,
                        Stroke::NONE,
                    ));
                }
                // Above the arrow's middle, clear of the line.
                let middle = tail + (head - tail) * 0.5 - Vec2::new(0.0, 8.0 * zoom);
                painter.text(middle, Align2::CENTER_CENTER, format!("{label} · {delay}"), font.clone(), colour);
                if let Some(sent) = crossing.sent_nanos {
                    let at = Pos2::new(full.left() + TIME_WIDTH * zoom - 4.0, tail.y);
                    painter.text(
                        at,
                        Align2::RIGHT_CENTER,
                        format!("{:.3}", (sent - start) as f64 / 1e6),
                        font.clone(),
                        weak,
                    );
                }
            }
            let header = Rect::from_min_size(
                Pos2::new(full.left(), full.top() + viewport.min.y),
                Vec2::new(width, HEADER_HEIGHT),
            );
            painter.rect_filled(header, 0.0, ui.visuals().panel_fill);
            let names = |side: Side| {
                let capture = if side == views.a_side { "this capture" } else { "the other capture" };
                let socket = if side == Side::Client { a.client } else { a.server };
                (format!("{} · {capture}", side.name()), socket.to_string())
            };
            for side in Side::BOTH {
                let (role, socket) = names(side);
                painter.text(
                    Pos2::new(x_of(side), header.top() + 3.0),
                    Align2::CENTER_TOP,
                    role,
                    FontId::proportional(12.0),
                    weak,
                );
                painter.text(
                    Pos2::new(x_of(side), header.top() + 18.0),
                    Align2::CENTER_TOP,
                    socket,
                    FontId::monospace(13.0),
                    ui.visuals().strong_text_color(),
                );
            }
            painter.text(
                Pos2::new(header.left() + 4.0, header.top() + 18.0),
                Align2::LEFT_TOP,
                "sent (ms)",
                FontId::proportional(12.0),
                weak,
            );
        },
    );
    clicked
}
