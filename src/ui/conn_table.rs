//! The connections table: counts by final state, filters, and a sortable, virtualized list.

use std::collections::BTreeSet;

use egui::{RichText, Sense, Ui, Vec2};

use crate::analysis::Code;
use crate::summary::ConnRow;
use crate::tcp::TcpState;

use super::theme;

/// The quick filters above the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QuickFilter {
    #[default]
    All,
    Resets,
    CloseWait,
    Refused,
    Retransmissions,
}

impl QuickFilter {
    const ALL: [QuickFilter; 5] = [Self::All, Self::Resets, Self::CloseWait, Self::Refused, Self::Retransmissions];

    fn label(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Resets => "resets",
            Self::CloseWait => "CLOSE_WAIT",
            Self::Refused => "refused",
            Self::Retransmissions => "retransmissions",
        }
    }

    fn matches(self, row: &ConnRow) -> bool {
        let has = |code: Code| row.diagnoses.iter().any(|d| d.code == code);
        match self {
            Self::All => true,
            Self::Resets => has(Code::ResetByPeer) || has(Code::BrokenPipe) || row.conn_state.starts_with("RST"),
            Self::CloseWait => row.client_state == TcpState::CloseWait || row.server_state == TcpState::CloseWait,
            Self::Refused => has(Code::Refused),
            Self::Retransmissions => {
                has(Code::Retransmissions) || has(Code::SynRetransmit) || has(Code::SynackRetransmit)
            }
        }
    }
}

/// Columns the table sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    #[default]
    Id,
    Packets,
    Bytes,
    Duration,
    ClientState,
    ServerState,
}

/// Filters and sort order, and the rows they select (recomputed only when they change).
#[derive(Debug, Default)]
pub struct TableState {
    pub filter: String,
    pub quick: QuickFilter,
    pub state: Option<TcpState>,
    pub sort: SortKey,
    pub descending: bool,
    /// Connections marked with Ctrl-click or Shift-click, for exporting several at once.
    pub marked: BTreeSet<u32>,
    /// The last row clicked, where a Shift-click range starts.
    anchor: Option<u32>,
    visible: Vec<u32>,
    key: Option<(String, QuickFilter, Option<TcpState>, SortKey, bool, u64)>,
    /// The version of the rows shown ([`crate::session::document::Document::rows_version`]).
    pub rows_version: u64,
    /// Sockets per final state, and the rows version they were counted for.
    state_counts: Option<(u64, Vec<(TcpState, usize)>)>,
}

impl TableState {
    /// Marks after a click on `id`: Ctrl toggles it, Shift adds the range from the last click,
    /// a plain click clears the marks.
    fn mark(&mut self, id: u32, toggle: bool, range: bool, visible: &[u32]) {
        let position = |id: u32| visible.iter().position(|&v| v == id);
        match (range, self.anchor.and_then(position), position(id)) {
            (true, Some(from), Some(to)) => {
                let (low, high) = (from.min(to), from.max(to));
                self.marked.extend(visible.get(low..=high).unwrap_or(&[]));
            }
            _ if toggle => {
                if !self.marked.remove(&id) {
                    self.marked.insert(id);
                }
            }
            _ => self.marked.clear(),
        }
        self.anchor = Some(id);
    }

    /// Ids of the rows that pass the filters, in display order.
    pub fn visible(&mut self, rows: &[ConnRow]) -> &[u32] {
        let key = (self.filter.clone(), self.quick, self.state, self.sort, self.descending, self.rows_version);
        if self.key.as_ref() != Some(&key) {
            let needle = self.filter.to_lowercase();
            let mut ids: Vec<&ConnRow> = rows
                .iter()
                .filter(|row| self.quick.matches(row))
                .filter(|row| self.state.is_none_or(|s| row.client_state == s || row.server_state == s))
                .filter(|row| needle.is_empty() || matches_text(row, &needle))
                .collect();
            ids.sort_by(|a, b| {
                let order = match self.sort {
                    SortKey::Id => a.id.cmp(&b.id),
                    SortKey::Packets => a.packets.cmp(&b.packets),
                    SortKey::Bytes => (a.bytes_c2s + a.bytes_s2c).cmp(&(b.bytes_c2s + b.bytes_s2c)),
                    SortKey::Duration => a.duration.total_cmp(&b.duration),
                    SortKey::ClientState => a.client_state.cmp(&b.client_state),
                    SortKey::ServerState => a.server_state.cmp(&b.server_state),
                };
                if self.descending {
                    order.reverse()
                } else {
                    order
                }
            });
            self.visible = ids.into_iter().map(|row| row.id).collect();
            self.key = Some(key);
        }
        &self.visible
    }
}

fn matches_text(row: &ConnRow, needle: &str) -> bool {
    row.client.to_lowercase().contains(needle)
        || row.server.to_lowercase().contains(needle)
        || row.conn_state.to_lowercase().contains(needle)
        || row.client_state.name().to_lowercase().contains(needle)
        || row.server_state.name().to_lowercase().contains(needle)
        || row.diagnoses.iter().any(|d| d.code.name().contains(needle))
        || row.id.to_string() == needle
}

/// `ESTABLISHED 12  CLOSE_WAIT 40  TIME_WAIT 300`: final states of every side, like
/// `netstat -n | awk '/^tcp/ {++S[$NF]} END {for(a in S) print a, S[a]}'`. Clicking one filters.
pub fn state_counts_ui(ui: &mut Ui, rows: &[ConnRow], table: &mut TableState) {
    let counts = match &table.state_counts {
        Some((version, counts)) if *version == table.rows_version => counts.clone(),
        _ => {
            let mut counts = std::collections::BTreeMap::new();
            for row in rows {
                for state in [row.client_state, row.server_state] {
                    *counts.entry(state).or_insert(0usize) += 1;
                }
            }
            let counts: Vec<(TcpState, usize)> = counts.into_iter().collect();
            table.state_counts = Some((table.rows_version, counts.clone()));
            counts
        }
    };
    let dark = ui.visuals().dark_mode;
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new("sockets by final state:").weak());
        for (state, count) in counts {
            let selected = table.state == Some(state);
            let text = RichText::new(format!("{state} {count}"))
                .background_color(theme::state_fill(state, dark))
                .color(theme::pill_text(dark));
            if ui
                .selectable_label(selected, text)
                .on_hover_text("show only connections with a side in this state")
                .clicked()
            {
                table.state = if selected { None } else { Some(state) };
            }
        }
    });
}

/// Filter box and quick filters.
pub fn filters_ui(ui: &mut Ui, table: &mut TableState) {
    ui.horizontal_wrapped(|ui| {
        ui.add(
            egui::TextEdit::singleline(&mut table.filter)
                .hint_text("filter: address, port, state, diagnosis")
                .desired_width(260.0),
        );
        for quick in QuickFilter::ALL {
            if ui.selectable_label(table.quick == quick, quick.label()).clicked() {
                table.quick = quick;
            }
        }
        if table.marked.is_empty() {
            ui.label(RichText::new("Ctrl-click or Shift-click marks several to export").weak());
        } else {
            ui.label(format!("{} marked", table.marked.len()));
            if ui.small_button("clear marks").clicked() {
                table.marked.clear();
            }
        }
    });
}

const COLUMNS: [(&str, f32, Option<SortKey>); 9] = [
    ("id", 64.0, Some(SortKey::Id)),
    ("client", 150.0, None),
    ("server", 150.0, None),
    ("pkts", 52.0, Some(SortKey::Packets)),
    ("bytes →/←", 96.0, Some(SortKey::Bytes)),
    ("duration", 70.0, Some(SortKey::Duration)),
    ("client state", 104.0, Some(SortKey::ClientState)),
    ("server state", 104.0, Some(SortKey::ServerState)),
    ("zeek", 44.0, None),
];

/// The modifiers held when the mouse button was released: a fast click may release Ctrl within
/// the same frame, before the app reads `Modifiers`.
fn click_modifiers(input: &egui::InputState) -> egui::Modifiers {
    let released = input.events.iter().rev().find_map(|event| match event {
        egui::Event::PointerButton { pressed: false, modifiers, .. } => Some(*modifiers),
        _ => None,
    });
    released.unwrap_or(input.modifiers)
}

/// The table; returns the id of a row the user clicked.
pub fn table_ui(ui: &mut Ui, rows: &[ConnRow], table: &mut TableState, selected: Option<u32>) -> Option<u32> {
    let mut clicked = None;
    egui::ScrollArea::horizontal().id_salt("table-h").auto_shrink([false, false]).show(ui, |ui| {
        ui.horizontal(|ui| {
            for (name, width, sort) in COLUMNS {
                let arrow = match sort {
                    Some(key) if key == table.sort => {
                        if table.descending {
                            " ▼"
                        } else {
                            " ▲"
                        }
                    }
                    _ => "",
                };
                let response = ui.add_sized(
                    [width, 18.0],
                    egui::Label::new(RichText::new(format!("{name}{arrow}")).strong()).sense(Sense::click()),
                );
                if let (Some(key), true) = (sort, response.clicked()) {
                    if table.sort == key {
                        table.descending = !table.descending;
                    } else {
                        table.sort = key;
                        table.descending = false;
                    }
                }
            }
            ui.label(RichText::new("diagnoses").strong());
        });
        ui.separator();
        let dark = ui.visuals().dark_mode;
        let visible = table.visible(rows).to_vec();
        if visible.is_empty() {
            ui.label(RichText::new("No connection matches the filters.").weak());
        }
        let row_height = 20.0;
        egui::ScrollArea::vertical().id_salt("table-v").auto_shrink([false, false]).show_rows(
            ui,
            row_height,
            visible.len(),
            |ui, range| {
                for id in visible.get(range).unwrap_or(&[]) {
                    let Some(row) = crate::session::document::row_by_id(rows, *id) else { continue };
                    let is_selected = selected == Some(row.id);
                    let response = ui
                        .horizontal(|ui| {
                            // Cells are not selectable text: a click anywhere on the row selects it.
                            ui.spacing_mut().item_spacing.x = 8.0;
                            let cells = [
                                row.id.to_string(),
                                row.client.clone(),
                                row.server.clone(),
                                row.packets.to_string(),
                                format!("{}/{}", row.bytes_c2s, row.bytes_s2c),
                                format!("{:.3}s", row.duration),
                            ];
                            for ((text, (_, width, _)), index) in cells.iter().zip(COLUMNS).zip(0..) {
                                let label = if index == 0 {
                                    RichText::new(text).monospace().strong()
                                } else {
                                    RichText::new(text).monospace()
                                };
                                ui.add_sized(
                                    Vec2::new(width, row_height),
                                    egui::Label::new(label).truncate().selectable(false),
                                );
                            }
                            for (state, width) in [(row.client_state, 104.0), (row.server_state, 104.0)] {
                                let text = RichText::new(state.name())
                                    .monospace()
                                    .background_color(theme::state_fill(state, dark))
                                    .color(theme::pill_text(dark));
                                ui.add_sized(Vec2::new(width, row_height), egui::Label::new(text).selectable(false));
                            }
                            ui.add_sized(
                                Vec2::new(44.0, row_height),
                                egui::Label::new(RichText::new(row.conn_state).monospace()).selectable(false),
                            );
                            ui.add(egui::Label::new(RichText::new(row.codes()).small()).selectable(false));
                        })
                        .response;
                    let response = response.interact(Sense::click());
                    if is_selected {
                        ui.painter().rect_stroke(
                            response.rect,
                            3.0,
                            ui.visuals().selection.stroke,
                            egui::StrokeKind::Inside,
                        );
                    }
                    response.widget_info(|| {
                        egui::WidgetInfo::selected(
                            egui::Role::Button,
                            true,
                            is_selected,
                            format!("connection {}", row.id),
                        )
                    });
                    if table.marked.contains(&row.id) {
                        ui.painter().rect_filled(
                            response.rect,
                            3.0,
                            ui.visuals().selection.bg_fill.gamma_multiply(0.35),
                        );
                    }
                    if response.clicked() {
                        clicked = Some(row.id);
                        let modifiers = ui.input(click_modifiers);
                        table.mark(row.id, modifiers.command, modifiers.shift, &visible);
                    }
                }
            },
        );
    });
    clicked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctrl_toggles_shift_extends_plain_click_clears() {
        let mut table = TableState::default();
        let visible = [5, 3, 9, 1, 7];
        table.mark(3, true, false, &visible);
        table.mark(1, true, false, &visible);
        assert_eq!(table.marked, BTreeSet::from([3, 1]));
        table.mark(3, true, false, &visible);
        assert_eq!(table.marked, BTreeSet::from([1]));
        table.mark(7, false, true, &visible);
        assert_eq!(table.marked, BTreeSet::from([3, 9, 1, 7]), "from the last click (3) to 7 in display order");
        table.mark(5, false, false, &visible);
        assert!(table.marked.is_empty());
    }
}
