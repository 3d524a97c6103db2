//! The desktop app: a window in which a capture becomes ladder diagrams. It reads the model the
//! loader thread sends through a channel and never blocks on the file.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use egui::{Key, RichText, Ui};

use crate::capture::Progress;
use crate::ladder::Numbering;
use crate::session::loader::{spawn_load, LoadEvent, LoadHandle};
use crate::summary::ConnRow;
use crate::EngineConfig;

use super::charts::{charts_ui, ChartsState};
use super::conn_table::{filters_ui, state_counts_ui, table_ui, TableState};
use super::details::{diagnoses_ui, segment_details_ui, Field};
use super::frame_log::FrameLog;
use super::ladder_view::{human_bytes, ladder_ui, LadderViewState, TimeMode};
use super::lesson_panel::{segment_before, LessonRequest, LessonRun};
use super::live_panel::{LiveAction, LivePanel};
use crate::analysis::chart::ChartKind;
use crate::capture::live::LiveOptions;
use crate::lessons;
use crate::session::document::Document;

/// What survives a restart (eframe persistence).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Settings {
    pub recent: Vec<PathBuf>,
    pub dark: bool,
    pub absolute_numbers: bool,
    pub time_mode: TimeMode,
}

impl Default for Settings {
    fn default() -> Self {
        Self { recent: Vec::new(), dark: true, absolute_numbers: false, time_mode: TimeMode::Relative }
    }
}

const SETTINGS_KEY: &str = "tcpladder-settings";
const RECENT_LIMIT: usize = 10;
/// A dialog that returns "nothing chosen" faster than this was never shown.
const NO_DIALOG_WITHIN: Duration = Duration::from_millis(150);
const PAGE: usize = 20;

/// A load in progress.
struct Loading {
    handle: LoadHandle,
    progress: Progress,
    rows: Vec<ConnRow>,
    started: Instant,
}

/// The application state.
pub struct TcpLadderApp {
    settings: Settings,
    loading: Option<Loading>,
    document: Option<Document>,
    error: Option<String>,
    notice: Option<String>,
    typed_path: String,
    table: TableState,
    view: LadderViewState,
    field: Field,
    first_run_hint: bool,
    config: EngineConfig,
    /// The live-capture window and its capture.
    pub live: LivePanel,
    /// The lesson being performed or shown, and whether its window is open.
    pub lesson: Option<LessonRun>,
    lesson_open: bool,
    /// The charts under the ladder.
    pub charts: ChartsState,
    pub show_charts: bool,
    frame_log: FrameLog,
}

impl TcpLadderApp {
    /// A new app that opens `file`, or the bundled sample when there is none.
    pub fn new(ctx: &egui::Context, storage: Option<&dyn eframe::Storage>, file: Option<PathBuf>) -> Self {
        let settings: Settings = storage.and_then(|s| eframe::get_value(s, SETTINGS_KEY)).unwrap_or_default();
        let mut app = Self {
            settings,
            loading: None,
            document: None,
            error: None,
            notice: None,
            typed_path: String::new(),
            table: TableState::default(),
            view: LadderViewState::default(),
            field: Field::None,
            first_run_hint: file.is_none(),
            config: EngineConfig::default(),
            live: LivePanel::default(),
            lesson: None,
            lesson_open: false,
            charts: ChartsState::default(),
            show_charts: true,
            frame_log: FrameLog::from_env(),
        };
        app.apply_settings(ctx);
        match file.or_else(crate::samples::bundled_sample) {
            Some(path) => app.open(ctx, &path),
            None => app.error = Some("The bundled sample capture is missing; open a capture with File › Open.".into()),
        }
        app
    }

    fn apply_settings(&mut self, ctx: &egui::Context) {
        install_fonts(ctx);
        ctx.set_theme(if self.settings.dark { egui::Theme::Dark } else { egui::Theme::Light });
        self.view.numbering = if self.settings.absolute_numbers { Numbering::Absolute } else { Numbering::Relative };
        self.view.time_mode = self.settings.time_mode;
    }

    /// Starts loading `path` in the background; the current document stays until it finishes.
    pub fn open(&mut self, ctx: &egui::Context, path: &Path) {
        if let Some(loading) = self.loading.take() {
            loading.handle.cancel();
        }
        let waker = ctx.clone();
        let handle = spawn_load(path, self.config, move || waker.request_repaint());
        self.loading =
            Some(Loading { handle, progress: Progress::default(), rows: Vec::new(), started: Instant::now() });
        self.error = None;
    }

    /// True while a file is being read.
    pub fn is_loading(&self) -> bool {
        self.loading.is_some()
    }

    /// What is kept across restarts.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Reads the open document, once loaded. Between frames, a live capture's document is with
    /// its analysis thread: it is read there.
    pub fn with_document<R>(&self, read: impl FnOnce(Option<&Document>) -> R) -> R {
        match &self.document {
            Some(document) => read(Some(document)),
            None => self.live.with_lent(read),
        }
    }

    /// Receives what the loader sent, within a small time budget per frame.
    pub fn poll_loader(&mut self) {
        let Some(loading) = &mut self.loading else { return };
        let budget = Instant::now() + Duration::from_millis(8);
        let mut finished = None;
        while Instant::now() < budget {
            match loading.handle.events.try_recv() {
                Ok(LoadEvent::Progress { progress, new_rows }) => {
                    loading.progress = progress;
                    loading.rows.extend(new_rows);
                }
                Ok(other) => {
                    finished = Some(other);
                    break;
                }
                Err(_) => break,
            }
        }
        match finished {
            Some(LoadEvent::Finished(loaded)) => {
                let path = loaded.path.clone();
                if loaded.cancelled {
                    self.notice =
                        Some(format!("Loading cancelled: showing the {} packets read.", loaded.engine.stats().packets));
                }
                if let Some(damage) = &loaded.damage {
                    self.error = Some(format!("{damage}. Everything before it is shown."));
                }
                self.document = Some(Document::new(*loaded));
                self.loading = None;
                self.remember(&path);
                self.view.scroll_to_segment = None;
            }
            Some(LoadEvent::Failed(message)) => {
                self.error = Some(message);
                self.loading = None;
            }
            _ => {}
        }
    }

    /// Performs a lesson: captures loopback on its port while its sockets run.
    pub fn start_lesson(&mut self, ctx: &egui::Context, lesson: &'static lessons::Lesson) {
        self.live.stop();
        self.lesson = Some(LessonRun::new(lesson));
        self.lesson_open = true;
        self.live.follow = true;
        let options =
            LiveOptions { filter: Some(format!("tcp port {}", lessons::port_of(lesson))), ..LiveOptions::loopback() };
        self.live.start_with(ctx, options);
    }

    /// Moves a lesson along; falls back to its recording when capturing is not possible.
    fn poll_lesson(&mut self, ctx: &egui::Context) {
        let Some(run) = &mut self.lesson else { return };
        let live_document = self.document.as_ref().is_some_and(|d| d.capture_id.is_some());
        let capturing = self.live.running() && live_document;
        let failed = if self.live.running() { None } else { self.live.error.clone() };
        if let (Some(error), true, Some(sample)) =
            (&failed, run.in_progress() && run.events.is_empty(), run.lesson.sample)
        {
            let lesson = run.lesson;
            self.lesson = Some(LessonRun::recorded(lesson, error.clone()));
            if let Some(path) = crate::samples::bundled_sample().and_then(|b| b.parent().map(|d| d.join(sample))) {
                self.open(ctx, &path);
            }
            return;
        }
        if run.poll(capturing, failed.as_deref(), ctx) == LessonRequest::StopCapture {
            self.live.stop();
        }
        if let Some(document) = &mut self.document {
            if live_document && !run.events.is_empty() && document.annotations.is_empty() && !run.in_progress() {
                document.annotations = run
                    .events
                    .iter()
                    // Errors and EOFs: the outcomes a reader must connect to a segment.
                    .filter(|e| e.outcome.starts_with('E'))
                    .filter_map(|e| {
                        let index = segment_before(document, e.ts_nanos)?;
                        let frame = document.connection()?.segments.get(index)?.frame;
                        Some((frame, format!("{} {} → {}", e.side, e.call, e.outcome)))
                    })
                    .collect();
            }
            if let LessonRequest::Select(index) = run.play(document, ctx) {
                select_segment(document, &mut self.view, index);
            }
        }
    }

    /// Takes in what the live capture read; follows the newest segment when asked to.
    fn poll_live(&mut self) {
        if let LiveAction::Started(document) = self.live.poll(&mut self.document) {
            if let Some(loading) = self.loading.take() {
                loading.handle.cancel();
            }
            self.document = Some(*document);
            self.first_run_hint = false;
        }
        if self.live.running() && self.live.follow {
            if let Some(document) = &mut self.document {
                if document.selected_conn.is_none() {
                    document.selected_conn = document.rows.last().map(|row| row.id);
                }
                if let Some(last) = document.connection().and_then(|c| c.segments.len().checked_sub(1)) {
                    self.view.scroll_to_segment = Some(last);
                }
            }
        }
    }

    fn remember(&mut self, path: &Path) {
        let Ok(path) = path.canonicalize() else { return };
        if crate::samples::bundled_sample().and_then(|s| s.canonicalize().ok()).as_ref() == Some(&path) {
            return;
        }
        self.settings.recent.retain(|p| p != &path);
        self.settings.recent.insert(0, path);
        self.settings.recent.truncate(RECENT_LIMIT);
    }

    fn open_dialog(&mut self, ctx: &egui::Context) {
        let asked = Instant::now();
        let picked = rfd::FileDialog::new()
            .set_title("Open a capture")
            .add_filter("Captures (pcap, pcapng)", &["pcap", "pcapng", "cap", "dmp"])
            .add_filter("All files", &["*"])
            .pick_file();
        match picked {
            Some(path) => self.open(ctx, &path),
            None if asked.elapsed() < NO_DIALOG_WITHIN => {
                self.notice = Some(
                    "No file dialog appeared: this system has neither the XDG desktop portal nor zenity \
                     (install xdg-desktop-portal-gtk or zenity). Drag a capture onto the window, or type its \
                     path in the box at the top."
                        .into(),
                );
            }
            None => {}
        }
    }

    fn handle_dropped_files(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).collect());
        if let Some(path) = dropped.first() {
            self.open(ctx, path);
        }
    }

    fn keyboard(&mut self, ctx: &egui::Context) {
        if ctx.egui_wants_keyboard_input() {
            return;
        }
        let Some(document) = &mut self.document else { return };
        let Some(count) = document.connection().map(|c| c.segments.len()) else { return };
        let current = document.selected_segment;
        let last = count.saturating_sub(1);
        let target = ctx.input(|i| {
            let down = i.key_pressed(Key::J) || i.key_pressed(Key::ArrowDown);
            let up = i.key_pressed(Key::K) || i.key_pressed(Key::ArrowUp);
            if down {
                Some(current.map_or(0, |c| (c + 1).min(last)))
            } else if up {
                Some(current.map_or(0, |c| c.saturating_sub(1)))
            } else if i.key_pressed(Key::PageDown) {
                Some(current.map_or(0, |c| (c + PAGE).min(last)))
            } else if i.key_pressed(Key::PageUp) {
                Some(current.map_or(0, |c| c.saturating_sub(PAGE)))
            } else if i.key_pressed(Key::Home) {
                Some(0)
            } else if i.key_pressed(Key::End) {
                Some(last)
            } else {
                None
            }
        });
        if let Some(target) = target.filter(|_| count > 0) {
            select_segment(document, &mut self.view, target);
            // Moving by hand pauses following the newest segment of a live capture.
            self.live.follow = false;
        }
        ctx.input(|i| {
            // Ctrl+wheel and pinch.
            let pinch = i.zoom_delta();
            if pinch != 1.0 {
                self.view.zoom = (self.view.zoom * pinch).clamp(0.4, 3.0);
            }
            if i.key_pressed(Key::Plus) || i.key_pressed(Key::Equals) {
                self.view.zoom = (self.view.zoom * 1.15).min(3.0);
            }
            if i.key_pressed(Key::Minus) {
                self.view.zoom = (self.view.zoom / 1.15).max(0.4);
            }
            if i.key_pressed(Key::Num0) {
                self.view.zoom = 1.0;
            }
        });
        if ctx.input(|i| i.key_pressed(Key::N)) {
            self.next_finding();
        }
        if ctx.input(|i| i.key_pressed(Key::Escape)) {
            if let Some(document) = &mut self.document {
                document.selected_segment = None;
            }
        }
    }

    fn next_finding(&mut self) {
        let Some(document) = &mut self.document else { return };
        let Some(row) = document.row() else { return };
        let frames = row.finding_frames();
        let Some(connection) = document.connection() else { return };
        let current_frame = document.selected_segment.and_then(|i| connection.segments.get(i)).map_or(0, |s| s.frame);
        let next = frames.iter().find(|&&f| f > current_frame).or(frames.first()).copied();
        if let Some(index) = next.and_then(|f| connection.segments.iter().position(|s| s.frame == f)) {
            select_segment(document, &mut self.view, index);
        }
    }

    fn menu_ui(&mut self, ui: &mut Ui) {
        let ctx = ui.ctx().clone();
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                if ui.button("Open…").clicked() {
                    ui.close();
                    self.open_dialog(&ctx);
                }
                ui.menu_button("Open recent", |ui| {
                    if self.settings.recent.is_empty() {
                        ui.label(RichText::new("nothing yet").weak());
                    }
                    for path in self.settings.recent.clone() {
                        if ui.button(path.display().to_string()).clicked() {
                            ui.close();
                            self.open(&ctx, &path);
                        }
                    }
                });
                if ui.button("Open the bundled sample").clicked() {
                    ui.close();
                    if let Some(sample) = crate::samples::bundled_sample() {
                        self.open(&ctx, &sample);
                    }
                }
                ui.separator();
                if ui.button("Quit").clicked() {
                    ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                }
            });
            ui.menu_button("Export", |ui| self.export_menu_ui(ui));
            ui.menu_button("Capture", |ui| {
                if ui.button("Live capture…").clicked() {
                    ui.close();
                    self.live.show_window();
                }
            });
            ui.menu_button("Lessons", |ui| {
                ui.label(RichText::new("performed for real on loopback while capturing it").weak());
                for lesson in lessons::all() {
                    if ui.button(lesson.title).on_hover_text(lesson.question).clicked() {
                        ui.close();
                        self.start_lesson(&ctx, lesson);
                    }
                }
            });
            ui.menu_button("View", |ui| {
                let mut changed = ui.checkbox(&mut self.settings.dark, "Dark theme").changed();
                changed |= ui.checkbox(&mut self.settings.absolute_numbers, "Absolute sequence numbers").changed();
                ui.separator();
                ui.label("Time column");
                for (mode, name) in [
                    (TimeMode::Relative, "since the connection began"),
                    (TimeMode::Absolute, "capture clock"),
                    (TimeMode::Delta, "since the previous segment"),
                ] {
                    changed |= ui.radio_value(&mut self.settings.time_mode, mode, name).changed();
                }
                ui.separator();
                ui.checkbox(&mut self.show_charts, "Charts under the ladder");
                ui.separator();
                if ui.button("Zoom in  (+)").clicked() {
                    self.view.zoom = (self.view.zoom * 1.15).min(3.0);
                }
                if ui.button("Zoom out  (-)").clicked() {
                    self.view.zoom = (self.view.zoom / 1.15).max(0.4);
                }
                if ui.button("Reset zoom  (0)").clicked() {
                    self.view.zoom = 1.0;
                }
                if changed {
                    self.apply_settings(&ctx);
                }
            });
            ui.menu_button("Help", |ui| {
                ui.label("j / ↓, k / ↑: next, previous segment");
                ui.label("PgDn, PgUp, Home, End: jump");
                ui.label("+, -, 0, Ctrl+wheel: zoom");
                ui.label("n: next finding · Esc: clear selection");
                ui.label("Drop a capture on the window to open it.");
            });
            ui.separator();
            let response = ui.add(
                egui::TextEdit::singleline(&mut self.typed_path)
                    .hint_text("or type a capture's path and press Enter")
                    .desired_width(320.0),
            );
            if response.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter)) && !self.typed_path.trim().is_empty() {
                let path = PathBuf::from(self.typed_path.trim());
                self.open(&ctx, &path);
            }
        });
    }

    fn banners_ui(&mut self, ui: &mut Ui) {
        if let Some(loading) = &self.loading {
            let progress = loading.progress;
            let fraction =
                if progress.bytes_total > 0 { progress.bytes_read as f32 / progress.bytes_total as f32 } else { 0.0 };
            let mut cancel = false;
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!("Reading {}", loading.handle.path.display()));
                let text = format!(
                    "{} of {} · {} packets · {} connections · {:.1} s",
                    human_bytes(progress.bytes_read),
                    human_bytes(progress.bytes_total),
                    progress.packets,
                    loading.rows.len(),
                    loading.started.elapsed().as_secs_f32()
                );
                ui.add(egui::ProgressBar::new(fraction).text(text).desired_width(420.0));
                cancel = ui.button("Cancel").clicked();
            });
            if cancel {
                loading.handle.cancel();
            }
        }
        let mut dismiss_error = false;
        if let Some(error) = &self.error {
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(format!("Error: {error}")).color(ui.visuals().error_fg_color));
                dismiss_error = ui.small_button("dismiss").clicked();
            });
        }
        if dismiss_error {
            self.error = None;
        }
        let mut dismiss_notice = false;
        if let Some(notice) = &self.notice {
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(notice).color(ui.visuals().warn_fg_color));
                dismiss_notice = ui.small_button("dismiss").clicked();
            });
        }
        if dismiss_notice {
            self.notice = None;
        }
        if self.first_run_hint && self.document.is_some() {
            let mut close = false;
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(
                    "This is a bundled sample: a handshake, a request and a close. Click an arrow (or press j) to see \
                     why each side's state changed. Open your own capture with File › Open, or drop it here.",
                ));
                close = ui.small_button("got it").clicked();
            });
            if close {
                self.first_run_hint = false;
            }
        }
    }

    fn connections_ui(&mut self, ui: &mut Ui) {
        let rows: &[ConnRow] = match (&self.document, &self.loading) {
            (_, Some(loading)) if self.document.is_none() => &loading.rows,
            (Some(document), _) => &document.rows,
            _ => &[],
        };
        ui.heading(format!("Connections ({})", rows.len()));
        let evicted = self.document.as_ref().map_or(0, |d| d.engine.stats().evicted_connections);
        if evicted > 0 {
            ui.label(
                RichText::new(format!("{evicted} older connections were dropped to stay under the memory limit."))
                    .color(ui.visuals().warn_fg_color),
            );
        }
        state_counts_ui(ui, rows, &mut self.table);
        filters_ui(ui, &mut self.table);
        let selected = self.document.as_ref().and_then(|d| d.selected_conn);
        if let Some(id) = table_ui(ui, rows, &mut self.table, selected) {
            if let Some(document) = &mut self.document {
                document.select_connection(id);
            }
        }
    }

    fn side_panel_ui(&mut self, ui: &mut Ui) {
        let Some(document) = &mut self.document else { return };
        let Some(connection) = document.engine.connection(document.selected_conn.unwrap_or(u32::MAX)) else {
            ui.label("No connection selected.");
            return;
        };
        let findings = document.row().map(|r| r.diagnoses.clone()).unwrap_or_default();
        let frame = document.selected_segment.and_then(|i| connection.segments.get(i)).map(|s| s.frame);
        let waker = ui.ctx().clone();
        let frame_bytes = frame.and_then(|f| document.frame_bytes(f, move || waker.request_repaint()).cloned());
        let Some(connection) = document.engine.connection(document.selected_conn.unwrap_or(u32::MAX)) else { return };
        let mut jump = None;
        egui::ScrollArea::vertical().id_salt("side").show(ui, |ui| {
            match document.selected_segment {
                Some(index) => segment_details_ui(
                    ui,
                    connection,
                    index,
                    &mut self.field,
                    self.view.numbering,
                    frame_bytes.as_ref(),
                ),
                None => {
                    ui.heading("Segment");
                    ui.label(
                        RichText::new(
                            "Click an arrow, or press j, to see every field and why each side's state changed.",
                        )
                        .weak(),
                    );
                }
            }
            ui.separator();
            ui.horizontal(|ui| {
                ui.heading("Findings");
                if ui.button("next finding (n)").clicked() {
                    jump = Some(usize::MAX);
                }
            });
            if let Some(index) = diagnoses_ui(ui, connection, &findings) {
                jump = Some(index);
            }
        });
        match jump {
            Some(usize::MAX) => self.next_finding(),
            Some(index) => select_segment(document, &mut self.view, index),
            None => {}
        }
    }
}

/// What the Export menu writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    Svg,
    Png,
    Mermaid,
    PlantUml,
    Text,
    Pcapng,
    /// The packets of the connections marked in the table.
    MarkedPcapng,
    /// The packets of the connections the table's filters show.
    ShownPcapng,
    ChartSvg,
    ChartPng,
}

/// Pixels per SVG unit of a PNG from the window: crisp on a slide.
const PNG_SCALE: f32 = 2.0;

impl ExportKind {
    const LADDER: [ExportKind; 6] = [Self::Svg, Self::Png, Self::Mermaid, Self::PlantUml, Self::Text, Self::Pcapng];

    fn label(self) -> &'static str {
        match self {
            Self::Svg => "Ladder as SVG…",
            Self::Png => "Ladder as PNG (2×)…",
            Self::Mermaid => "Ladder as Mermaid…",
            Self::PlantUml => "Ladder as PlantUML…",
            Self::Text => "Ladder as text…",
            Self::Pcapng => "Connection's packets as pcapng…",
            Self::MarkedPcapng => "Packets of the marked connections as pcapng…",
            Self::ShownPcapng => "Packets of the connections shown as pcapng…",
            Self::ChartSvg => "Chart as SVG…",
            Self::ChartPng => "Chart as PNG (2×)…",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Self::Svg | Self::ChartSvg => "svg",
            Self::Png | Self::ChartPng => "png",
            Self::Mermaid => "mmd",
            Self::PlantUml => "puml",
            Self::Text => "txt",
            Self::Pcapng | Self::MarkedPcapng | Self::ShownPcapng => "pcapng",
        }
    }

    /// The file name offered, from the selected connection, the chart or the set exported.
    fn file_name(self, id: Option<u32>, chart: ChartKind) -> String {
        let extension = self.extension();
        match self {
            Self::MarkedPcapng => format!("marked-connections.{extension}"),
            Self::ShownPcapng => format!("filtered-connections.{extension}"),
            Self::ChartSvg | Self::ChartPng if !chart.per_connection() => format!("{}.{extension}", chart.slug()),
            Self::ChartSvg | Self::ChartPng => format!("connection-{}-{}.{extension}", id.unwrap_or(0), chart.slug()),
            _ => format!("connection-{}.{extension}", id.unwrap_or(0)),
        }
    }
}

impl TcpLadderApp {
    /// The Export menu: the selected connection's ladder, the chart on screen, packets.
    fn export_menu_ui(&mut self, ui: &mut Ui) {
        let has_connection = self.document.as_ref().is_some_and(|d| d.connection().is_some());
        let mut picked = None;
        for kind in ExportKind::LADDER {
            if ui.add_enabled(has_connection, egui::Button::new(kind.label())).clicked() {
                picked = Some(kind);
            }
        }
        ui.separator();
        let marked = self.table.marked.len();
        let shown = self.document.as_ref().map_or(0, |d| self.table.visible(&d.rows).len());
        for (kind, count) in [(ExportKind::MarkedPcapng, marked), (ExportKind::ShownPcapng, shown)] {
            let button = egui::Button::new(format!("{} ({count})", kind.label()));
            if ui.add_enabled(count > 0, button).clicked() {
                picked = Some(kind);
            }
        }
        ui.separator();
        let chart_ready = self.document.is_some() && (has_connection || !self.charts.chart.per_connection());
        for kind in [ExportKind::ChartSvg, ExportKind::ChartPng] {
            let text = format!("{} ({})", kind.label(), self.charts.chart.name());
            if ui.add_enabled(chart_ready, egui::Button::new(text)).clicked() {
                picked = Some(kind);
            }
        }
        if let Some(kind) = picked {
            ui.close();
            self.export(kind);
        }
    }

    /// Writes `kind` where the save dialog says, or beside the capture when the system has no
    /// dialog; says where in the window.
    pub fn export(&mut self, kind: ExportKind) {
        let Some(document) = &mut self.document else { return };
        let name = kind.file_name(document.selected_conn, self.charts.chart);
        let asked = Instant::now();
        let picked =
            rfd::FileDialog::new().set_file_name(&name).add_filter(kind.extension(), &[kind.extension()]).save_file();
        let path = match picked {
            Some(path) => path,
            None if asked.elapsed() < NO_DIALOG_WITHIN => {
                let beside = document.path.parent().filter(|dir| dir.is_dir()).map(Path::to_path_buf);
                beside.unwrap_or_else(std::env::temp_dir).join(&name)
            }
            None => return,
        };
        let written = match kind {
            ExportKind::MarkedPcapng | ExportKind::ShownPcapng => {
                let ids: Vec<u32> = if kind == ExportKind::MarkedPcapng {
                    self.table.marked.iter().copied().collect()
                } else {
                    self.table.visible(&document.rows).to_vec()
                };
                write_packets(document, &ids, &path)
            }
            ExportKind::ChartSvg | ExportKind::ChartPng => {
                let svg = self.charts.current(document, None).map(|chart| crate::render::chart_svg(&chart));
                let svg = svg.ok_or_else(|| "no chart to export".to_string());
                svg.and_then(|svg| write_picture(&svg, kind == ExportKind::ChartPng, &path))
            }
            _ => write_export(document, kind, &path),
        };
        match written {
            Ok(()) => self.notice = Some(format!("Saved {}", path.display())),
            Err(message) => self.error = Some(format!("Could not export to {}: {message}", path.display())),
        }
    }
}

/// Writes the packets of the connections `ids` as a new pcapng.
fn write_packets(document: &Document, ids: &[u32], path: &Path) -> Result<(), String> {
    let frames = ids
        .iter()
        .filter_map(|&id| document.engine.connection(id))
        .flat_map(|connection| connection.segments.iter().map(|s| s.frame))
        .collect();
    crate::capture::extract_frames(&document.path, &frames, path).map(|_| ()).map_err(|err| err.to_string())
}

/// Writes an SVG, or its PNG at [`PNG_SCALE`].
fn write_picture(svg: &str, as_png: bool, path: &Path) -> Result<(), String> {
    let bytes =
        if as_png { crate::render::png(svg, PNG_SCALE).map_err(|e| e.to_string())? } else { svg.as_bytes().to_vec() };
    std::fs::write(path, bytes).map_err(|err| err.to_string())
}

fn write_export(document: &mut Document, kind: ExportKind, path: &Path) -> Result<(), String> {
    use crate::render::ladder::{export, Format};
    let findings: Vec<(u32, &'static str)> =
        document.row().map(|r| r.diagnoses.iter().map(|d| (d.frame, d.code)).collect()).unwrap_or_default();
    let format = match kind {
        ExportKind::Mermaid => Format::Mermaid,
        ExportKind::PlantUml => Format::PlantUml,
        ExportKind::Text => {
            let connection = document.connection().ok_or("no connection")?;
            let text =
                crate::render::render_text_ladder(connection, document.engine.capture_end_nanos(), Numbering::Relative);
            return std::fs::write(path, text).map_err(|err| err.to_string());
        }
        ExportKind::Pcapng => {
            let ids: Vec<u32> = document.selected_conn.into_iter().collect();
            return write_packets(document, &ids, path);
        }
        _ => Format::Svg,
    };
    document.layout();
    let (Some(connection), Some(layout)) = (document.connection(), document.layout_cached()) else {
        return Err("no connection".into());
    };
    let text = export(connection, layout, format, Numbering::Relative, &findings);
    if kind == ExportKind::Png {
        return write_picture(&text, true, path);
    }
    std::fs::write(path, text).map_err(|err| err.to_string())
}

/// The first sentence of a finding, and the one that says what the application saw, if another.
fn headline(text: &str) -> String {
    let sentences: Vec<&str> = text.split_inclusive(". ").collect();
    let mut out = sentences.first().copied().unwrap_or(text).trim().to_string();
    let consequence = sentences.iter().skip(1).find(|s| ["fails", "ECONN", "EPIPE"].iter().any(|k| s.contains(k)));
    if let Some(sentence) = consequence {
        out.push(' ');
        out.push_str(sentence.trim());
    }
    out
}

/// egui's fonts, with Hack behind Ubuntu-Light for proportional text: labels use arrows (→ ←)
/// and triangles (▲ ▼) that only Hack has, and must not depend on the system's fonts.
pub fn install_fonts(ctx: &egui::Context) {
    let mut fonts = egui::FontDefinitions::default();
    if let Some(family) = fonts.families.get_mut(&egui::FontFamily::Proportional) {
        family.insert(1.min(family.len()), "Hack".to_owned());
    }
    ctx.set_fonts(fonts);
}

/// Selects a segment, expanding the fold that hides it and scrolling it into view.
fn select_segment(document: &mut Document, view: &mut LadderViewState, index: usize) {
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

impl eframe::App for TcpLadderApp {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        let frame_started = std::time::Instant::now();
        self.draw(ui);
        self.frame_log.record(frame_started.elapsed(), self.live.waited);
        self.live.lend(&mut self.document);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, SETTINGS_KEY, &self.settings);
    }
}

impl TcpLadderApp {
    fn draw(&mut self, ui: &mut Ui) {
        let ctx = ui.ctx().clone();
        self.poll_loader();
        self.poll_live();
        self.poll_lesson(&ctx);
        self.handle_dropped_files(&ctx);
        self.table.rows_version = self.document.as_ref().map_or(0, |d| d.rows_version);
        self.keyboard(&ctx);
        egui::Panel::top("menu").show(ui, |ui| {
            self.menu_ui(ui);
            self.banners_ui(ui);
        });
        egui::Panel::left("connections").resizable(true).default_size(440.0).min_size(260.0).show(ui, |ui| {
            self.connections_ui(ui);
        });
        egui::Panel::right("details").resizable(true).default_size(330.0).min_size(220.0).show(ui, |ui| {
            self.side_panel_ui(ui);
        });
        if self.show_charts {
            if let Some(document) = &mut self.document {
                let clicked = egui::Panel::bottom("charts")
                    .resizable(true)
                    .default_size(260.0)
                    .min_size(140.0)
                    .show(ui, |ui| charts_ui(ui, document, &mut self.charts, self.view.hovered_segment))
                    .inner;
                if let Some(index) = clicked {
                    select_segment(document, &mut self.view, index);
                    self.live.follow = false;
                }
            }
        }
        egui::CentralPanel::default().show(ui, |ui| {
            let Some(document) = &mut self.document else {
                ui.centered_and_justified(|ui| {
                    ui.label(if self.loading.is_some() {
                        "Reading…"
                    } else {
                        "Open a capture: File › Open, or drop it here."
                    });
                });
                return;
            };
            if let Some(row) = document.row() {
                let summary = row.diagnoses.first().map_or(String::new(), |d| headline(&d.text));
                ui.label(
                    RichText::new(format!(
                        "Connection {}: {} → {} · {} segments · {:.3} s · {} {}",
                        row.id, row.client, row.server, row.packets, row.duration, row.conn_state, row.history
                    ))
                    .strong(),
                );
                if !summary.is_empty() {
                    ui.label(RichText::new(summary).weak());
                }
            }
            if let Some(index) = ladder_ui(ui, document, &mut self.view) {
                document.selected_segment = Some(index);
                self.live.follow = false;
            }
            if self.view.user_scrolled {
                self.live.follow = false;
            }
        });
        if ctx.input(|i| !i.raw.hovered_files.is_empty()) {
            let painter = ctx.layer_painter(egui::LayerId::new(egui::Order::Foreground, egui::Id::NULL.with("drop")));
            let rect = ctx.content_rect();
            painter.rect_filled(rect, 0.0, egui::Color32::from_black_alpha(160));
            painter.text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                "Drop the capture to open it",
                egui::FontId::proportional(24.0),
                egui::Color32::WHITE,
            );
        }
        if self.live.ui(&ctx, self.document.as_ref()) {
            self.document = None;
        }
        if let Some(run) = &mut self.lesson {
            let request = run.ui(&ctx, self.document.as_ref(), &mut self.lesson_open);
            if let (LessonRequest::Select(index), Some(document)) = (request, &mut self.document) {
                let last = document.connection().map_or(0, |c| c.segments.len().saturating_sub(1));
                select_segment(document, &mut self.view, index.min(last));
                self.live.follow = false;
            }
        }
        if self.loading.is_some() || self.live.running() {
            ctx.request_repaint_after(Duration::from_millis(100));
        }
    }
}
