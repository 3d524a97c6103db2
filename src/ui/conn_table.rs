//! The connections table: counts by final state, filters, and a sortable, virtualized list.

use std::collections::BTreeSet;

use egui::{RichText, Sense, Ui, Vec2};

use crate::analysis::Code;
use crate::session::conn_query::{compare_ends, Query};
use crate::summary::{duration_text, ConnRow};
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
    Client,
    Server,
    Diagnoses,
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
    /// Optional columns the user hid (by name).
    pub hidden: BTreeSet<&'static str>,
    /// Column widths the user dragged (by name); the others keep their default.
    pub widths: std::collections::BTreeMap<&'static str, f32>,
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
            let query = Query::parse(&self.filter);
            let mut ids: Vec<&ConnRow> = rows
                .iter()
                .filter(|row| self.quick.matches(row))
                .filter(|row| self.state.is_none_or(|s| row.client_state == s || row.server_state == s))
                .filter(|row| query.is_empty() || query.matches(row))
                .collect();
            ids.sort_by(|a, b| {
                let order = match self.sort {
                    SortKey::Id => a.id.cmp(&b.id),
                    SortKey::Client => compare_ends(&a.client, &b.client),
                    SortKey::Server => compare_ends(&a.server, &b.server),
                    SortKey::Diagnoses => trouble(a).cmp(&trouble(b)).reverse(),
                    SortKey::Packets => a.packets.cmp(&b.packets),
                    SortKey::Bytes => (a.bytes_c2s + a.bytes_s2c).cmp(&(b.bytes_c2s + b.bytes_s2c)),
                    SortKey::Duration => a.duration.total_cmp(&b.duration),
                    SortKey::ClientState => a.client_state.cmp(&b.client_state),
                    SortKey::ServerState => a.server_state.cmp(&b.server_state),
                }
                .then(a.id.cmp(&b.id));
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

/// How a diagnosis is shown: a reset in red, trouble in amber, the normal course of a connection
/// (a graceful close, TIME_WAIT) quiet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Severity {
    Normal,
    Trouble,
    Reset,
}

fn severity(code: Code) -> Severity {
    match code {
        Code::ResetByPeer | Code::BrokenPipe | Code::Refused | Code::RstIgnored => Severity::Reset,
        Code::GracefulClose | Code::TimeWait | Code::HalfClose | Code::KeepAlive => Severity::Normal,
        _ => Severity::Trouble,
    }
}

/// The worst of a row's diagnoses and how many reach it: rows that ended badly sort first.
fn trouble(row: &ConnRow) -> (Severity, usize) {
    let worst = row.diagnoses.iter().map(|d| severity(d.code)).max().unwrap_or(Severity::Normal);
    (worst, row.diagnoses.iter().filter(|d| severity(d.code) == worst).count())
}

/// The diagnosis codes as coloured chips, worst first.
fn chips(ui: &Ui, row: &ConnRow) -> egui::text::LayoutJob {
    let dark = ui.visuals().dark_mode;
    let mut codes: Vec<Code> = row.diagnoses.iter().map(|d| d.code).collect();
    codes.sort_by_key(|&code| std::cmp::Reverse(severity(code)));
    codes.dedup();
    let mut job = egui::text::LayoutJob::default();
    for code in codes {
        let (background, colour) = match severity(code) {
            Severity::Reset => (theme::reset_colour(dark), egui::Color32::WHITE),
            Severity::Trouble => (theme::warning_colour(dark), egui::Color32::BLACK),
            Severity::Normal => (egui::Color32::TRANSPARENT, ui.visuals().weak_text_color()),
        };
        let format = egui::TextFormat {
            font_id: egui::FontId::monospace(11.0),
            color: colour,
            background,
            ..Default::default()
        };
        job.append(&format!(" {} ", code.name()), 2.0, format);
    }
    job
}

/// `ESTABLISHED 12  CLOSE_WAIT 40  TIME_WAIT 300`: final states of every side, like
/// `netstat -n | awk '/^tcp/ {++S[$NF]} END {for(a in S) print a, S[a]}'`. Clicking one filters.
/// `dropped` are the sockets of connections no longer listed (dropped to bound memory), by the
/// state they had then, counted beside (`CLOSED 17493 + 70007 not listed`).
pub fn state_counts_ui(
    ui: &mut Ui,
    rows: &[ConnRow],
    dropped: &std::collections::BTreeMap<TcpState, u64>,
    table: &mut TableState,
) {
    let counts = match &table.state_counts {
        Some((version, counts)) if *version == table.rows_version => counts.clone(),
        _ => {
            let mut counts: std::collections::BTreeMap<TcpState, usize> =
                dropped.keys().map(|&state| (state, 0)).collect();
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
            let not_listed = dropped.get(&state).copied().unwrap_or(0);
            let count = if not_listed > 0 { format!("{count} + {not_listed} not listed") } else { count.to_string() };
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
                .hint_text("filter: text, or state:CLOSE_WAIT diag:reset port:8080 host:10.0.0.5")
                .desired_width(360.0),
        );
        ui.menu_button("columns", |ui| {
            if ui.add_enabled(!table.widths.is_empty(), egui::Button::new("reset widths")).clicked() {
                table.widths.clear();
            }
            for (name, ..) in COLUMNS.iter().filter(|(name, ..)| OPTIONAL.contains(name)) {
                let mut shown = !table.hidden.contains(name);
                if ui.checkbox(&mut shown, *name).changed() {
                    if shown {
                        table.hidden.remove(name);
                    } else {
                        table.hidden.insert(name);
                    }
                }
            }
        });
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

/// The columns, those that tell which connections ended badly first: each side's final state and
/// the diagnoses, then the endpoints and the counts.
const COLUMNS: [(&str, f32, Option<SortKey>); 10] = [
    ("id", 48.0, Some(SortKey::Id)),
    ("client state", 96.0, Some(SortKey::ClientState)),
    ("server state", 96.0, Some(SortKey::ServerState)),
    ("diagnoses", 160.0, Some(SortKey::Diagnoses)),
    ("client", 150.0, Some(SortKey::Client)),
    ("server", 150.0, Some(SortKey::Server)),
    ("pkts", 52.0, Some(SortKey::Packets)),
    ("bytes →/←", 96.0, Some(SortKey::Bytes)),
    ("duration", 76.0, Some(SortKey::Duration)),
    ("zeek", 44.0, None),
];

/// Columns that may be hidden (the id, the states and the diagnoses always show).
const OPTIONAL: [&str; 6] = ["client", "server", "pkts", "bytes →/←", "duration", "zeek"];

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
    let shown: Vec<(&'static str, f32, Option<SortKey>)> = COLUMNS
        .iter()
        .copied()
        .filter(|(name, ..)| !table.hidden.contains(name))
        .map(|(name, width, sort)| (name, table.widths.get(name).copied().unwrap_or(width), sort))
        .collect();
    egui::ScrollArea::horizontal()
        .id_salt("table-h")
        .auto_shrink([false, false])
        .scroll_bar_visibility(egui::scroll_area::ScrollBarVisibility::AlwaysVisible)
        .show(ui, |ui| {
            header_ui(ui, &shown, table);
            ui.separator();
            let visible = table.visible(rows).to_vec();
            if visible.is_empty() {
                let why = if rows.is_empty() {
                    "No connections: the capture holds no TCP connection, or none is open yet."
                } else {
                    "No connection matches the filters (clear the filter box, the quick filter or the state chip)."
                };
                ui.label(RichText::new(why).weak());
            }
            let row_height = 20.0;
            egui::ScrollArea::vertical().id_salt("table-v").auto_shrink([false, false]).show_rows(
                ui,
                row_height,
                visible.len(),
                |ui, range| {
                    for id in visible.get(range).unwrap_or(&[]) {
                        let Some(row) = crate::session::document::row_by_id(rows, *id) else { continue };
                        if row_ui(ui, row, &shown, table, selected == Some(row.id), row_height) {
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

/// The narrowest and widest a column may be dragged.
const COLUMN_WIDTHS: std::ops::RangeInclusive<f32> = 32.0..=600.0;

fn header_ui(ui: &mut Ui, shown: &[(&'static str, f32, Option<SortKey>)], table: &mut TableState) {
    ui.horizontal(|ui| {
        ui.spacing_mut().item_spacing.x = 8.0;
        for &(name, width, sort) in shown {
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
                egui::Label::new(RichText::new(format!("{name}{arrow}")).strong()).sense(Sense::click()).truncate(),
            );
            if let (Some(key), true) = (sort, response.clicked()) {
                if table.sort == key {
                    table.descending = !table.descending;
                } else {
                    table.sort = key;
                    table.descending = false;
                }
            }
            resize_handle_ui(ui, name, width, response.rect, table);
        }
    });
}

/// A handle in the gap right of a column's heading: drag to resize the column, double-click to
/// give it its default width back.
fn resize_handle_ui(ui: &mut Ui, name: &'static str, width: f32, heading: egui::Rect, table: &mut TableState) {
    let gap = ui.spacing().item_spacing.x;
    let handle = egui::Rect::from_min_max(
        egui::pos2(heading.right() + 1.0, heading.top()),
        egui::pos2(heading.right() + gap - 1.0, heading.bottom()),
    );
    let response = ui.interact(handle, ui.scope_id().with(("resize column", name)), Sense::click_and_drag());
    let response = response.on_hover_cursor(egui::CursorIcon::ResizeHorizontal);
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, format!("resize {name}")));
    if response.hovered() || response.dragged() {
        ui.painter().vline(handle.center().x, handle.y_range(), ui.visuals().widgets.hovered.fg_stroke);
    }
    if response.dragged() {
        let dragged = (width + response.drag_delta().x).clamp(*COLUMN_WIDTHS.start(), *COLUMN_WIDTHS.end());
        table.widths.insert(name, dragged);
    }
    if response.double_clicked() {
        table.widths.remove(name);
    }
}

/// One row; true when it was clicked.
fn row_ui(
    ui: &mut Ui,
    row: &ConnRow,
    shown: &[(&str, f32, Option<SortKey>)],
    table: &TableState,
    is_selected: bool,
    height: f32,
) -> bool {
    let dark = ui.visuals().dark_mode;
    let response = ui
        .horizontal(|ui| {
            // Cells are not selectable text: a click anywhere on the row selects it.
            ui.spacing_mut().item_spacing.x = 8.0;
            for &(name, width, _) in shown {
                let size = Vec2::new(width, height);
                let text = |text: String| RichText::new(text).monospace();
                let label = match name {
                    "id" => egui::Label::new(text(row.id.to_string()).strong()),
                    "client state" | "server state" => {
                        let state = if name == "client state" { row.client_state } else { row.server_state };
                        egui::Label::new(
                            text(state.name().to_string())
                                .background_color(theme::state_fill(state, dark))
                                .color(theme::pill_text(dark)),
                        )
                    }
                    "diagnoses" => egui::Label::new(chips(ui, row)),
                    "client" => egui::Label::new(text(row.client.clone())),
                    "server" => egui::Label::new(text(row.server.clone())),
                    "pkts" => egui::Label::new(text(row.packets.to_string())),
                    "bytes →/←" => egui::Label::new(text(format!("{}/{}", row.bytes_c2s, row.bytes_s2c))),
                    "duration" => egui::Label::new(text(duration_text(row.duration))),
                    _ => egui::Label::new(text(row.conn_state.to_string())),
                };
                ui.add_sized(size, label.truncate().selectable(false));
            }
        })
        .response;
    let response = response.interact(Sense::click());
    if is_selected {
        ui.painter().rect_stroke(response.rect, 3.0, ui.visuals().selection.stroke, egui::StrokeKind::Inside);
    }
    response.widget_info(|| {
        egui::WidgetInfo::selected(egui::Role::Button, true, is_selected, format!("connection {}", row.id))
    });
    if table.marked.contains(&row.id) {
        ui.painter().rect_filled(response.rect, 3.0, ui.visuals().selection.bg_fill.gamma_multiply(0.35));
    }
    response.clicked()
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
