//! The desktop app: a window in which a capture becomes ladder diagrams. It reads the model the
//! loader thread sends through a channel and never blocks on the file.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use egui::Ui;

use crate::capture::live::LiveOptions;
use crate::capture::Progress;
use crate::engine::EngineConfig;
use crate::ladder::Numbering;
use crate::lessons;
use crate::session::document::Document;
use crate::session::loader::{spawn_load, LoadEvent, LoadHandle};
use crate::summary::ConnRow;

use super::action::keyboard_actions;
use super::charts::ChartsState;
use super::conn_table::TableState;
use super::conversation_pane::ConversationState;
use super::details::Field;
use super::frame_log::FrameLog;
use super::ladder_view::{select_segment, LadderViewState, TimeMode};
use super::lesson_panel::{segment_before, LessonRequest, LessonRun};
use super::live_panel::{LiveAction, LivePanel};
use super::machine_view::MachineViewState;
use super::requests_panel::RequestsState;
use super::theme::install_fonts;

/// What survives a restart (eframe persistence); a field missing from an older save takes its
/// default.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Settings {
    pub recent: Vec<PathBuf>,
    pub dark: bool,
    pub absolute_numbers: bool,
    pub time_mode: TimeMode,
    /// The details panel beside the ladder (F9 folds it).
    pub show_details: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            recent: Vec::new(),
            dark: true,
            absolute_numbers: false,
            time_mode: TimeMode::Relative,
            show_details: true,
        }
    }
}

const SETTINGS_KEY: &str = "tcpladder-settings";
const RECENT_LIMIT: usize = 10;
/// A dialog that returns "nothing chosen" faster than this was never shown.
pub(super) const NO_DIALOG_WITHIN: Duration = Duration::from_millis(150);

/// A load in progress.
pub(super) struct Loading {
    pub(super) handle: LoadHandle,
    pub(super) progress: Progress,
    pub(super) rows: Vec<ConnRow>,
    pub(super) started: Instant,
}

/// The application state.
pub struct TcpLadderApp {
    pub(super) settings: Settings,
    pub(super) loading: Option<Loading>,
    pub(super) document: Option<Document>,
    pub(super) error: Option<String>,
    pub(super) notice: Option<String>,
    pub(super) typed_path: String,
    /// The connection table: its filters, sort and marks.
    pub table: TableState,
    pub(super) view: LadderViewState,
    pub(super) field: Field,
    pub(super) first_run_hint: bool,
    pub(super) config: EngineConfig,
    /// The live-capture window and its capture.
    pub live: LivePanel,
    /// The lesson being performed or shown, and whether its window is open.
    pub lesson: Option<LessonRun>,
    pub(super) lesson_open: bool,
    /// The charts under the ladder.
    pub charts: ChartsState,
    /// The Requests tab, and whether it shows instead of the connections.
    pub(super) requests: RequestsState,
    pub(super) show_requests: bool,
    pub show_charts: bool,
    /// The Conversation pane (Follow stream) under the ladder.
    pub show_conversation: bool,
    pub(super) conversation: ConversationState,
    /// The This machine view, shown instead of the ladder, and its watch of the sockets.
    pub show_machine: bool,
    /// The details panel was folded this frame because the ladder needed its room.
    pub(super) details_folded_for_room: bool,
    /// Under the ladder, the charts tab shows instead of the details.
    pub(super) charts_under: bool,
    pub(super) machine: MachineViewState,
    pub(super) frame_log: FrameLog,
    /// The window title last set: the open capture's name, as a task bar and a window manager show it.
    window_title: String,
    /// The other end's capture: waiting for the first to load, then being read and matched.
    pub(super) second_capture: Option<PathBuf>,
    pub(super) vantage_load: Option<crate::session::vantage::VantageLoad>,
}

impl TcpLadderApp {
    /// A new app that opens `file`, or the bundled sample when there is none.
    pub fn new(ctx: &egui::Context, storage: Option<&dyn eframe::Storage>, file: Option<PathBuf>) -> Self {
        Self::with_memory_limit(ctx, storage, file, None)
    }

    /// [`Self::new`], reading files under `memory_limit_bytes` instead of the default share.
    pub fn with_memory_limit(
        ctx: &egui::Context,
        storage: Option<&dyn eframe::Storage>,
        file: Option<PathBuf>,
        memory_limit_bytes: Option<u64>,
    ) -> Self {
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
            second_capture: None,
            vantage_load: None,
            // Files keep every message of the conversation (the ladder labels each one), and a
            // file never takes more than a share of the machine.
            config: EngineConfig {
                keep_all_messages: true,
                memory_limit_bytes: Some(crate::session::read::default_memory_limit()),
                ..EngineConfig::default()
            },
            live: LivePanel::default(),
            lesson: None,
            lesson_open: false,
            charts: ChartsState::default(),
            requests: RequestsState::default(),
            show_requests: false,
            show_charts: true,
            show_conversation: false,
            conversation: ConversationState::default(),
            show_machine: false,
            details_folded_for_room: false,
            charts_under: false,
            machine: MachineViewState::default(),
            frame_log: FrameLog::from_env(),
            window_title: String::new(),
        };
        app.apply_settings(ctx);
        if let Some(limit) = memory_limit_bytes {
            app.set_memory_limit(limit);
        }
        match file.or_else(crate::samples::bundled_sample) {
            Some(path) => app.open(ctx, &path),
            None => app.error = Some("The bundled sample capture is missing; open a capture with File › Open.".into()),
        }
        app
    }

    pub(super) fn apply_settings(&mut self, ctx: &egui::Context) {
        install_fonts(ctx);
        ctx.set_theme(if self.settings.dark { egui::Theme::Dark } else { egui::Theme::Light });
        self.view.numbering = if self.settings.absolute_numbers { Numbering::Absolute } else { Numbering::Relative };
        self.view.time_mode = self.settings.time_mode;
    }

    /// The most a file read from now on may hold (default: half of the machine's memory).
    pub fn set_memory_limit(&mut self, bytes: u64) {
        self.config.memory_limit_bytes = Some(bytes);
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

    /// Opens `a` as usual and, once it is read, `b` beside it: the same traffic captured at the
    /// other end, drawn from both ends.
    pub fn open_two(&mut self, ctx: &egui::Context, a: &Path, b: &Path) {
        self.open(ctx, a);
        self.second_capture = Some(b.to_path_buf());
    }

    /// Starts reading the second capture against the document just loaded.
    fn start_second_capture(&mut self) {
        let (Some(b), Some(document)) = (self.second_capture.take(), &self.document) else { return };
        self.vantage_load = Some(crate::session::vantage::VantageLoad::spawn(Arc::clone(&document.engine), &b, || {}));
    }

    /// Takes the second capture in once it was read and matched.
    pub(super) fn poll_second_capture(&mut self, ctx: &egui::Context) {
        let Some(load) = &self.vantage_load else { return };
        ctx.request_repaint_after(Duration::from_millis(100));
        let Some(result) = load.poll() else { return };
        self.vantage_load = None;
        match (result, &mut self.document) {
            (Ok(vantage), Some(document)) => {
                // Matched, the view above the ladder says it; unmatched, say so once here.
                if vantage.merged.offset_nanos.is_none() {
                    self.error = Some(vantage.summary());
                }
                document.vantage = Some(vantage);
            }
            (Err(err), _) => self.error = Some(format!("The second capture: {err}")),
            (Ok(_), None) => {}
        }
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
                let limit = self.config.memory_limit_bytes.unwrap_or(0);
                if let Some(note) = crate::session::read::limit_reached_note(limit, loaded.engine.stats()) {
                    self.notice = Some(format!("{note}."));
                }
                self.document = Some(Document::new(*loaded));
                self.loading = None;
                self.start_second_capture();
                self.remember(&path);
                self.view.scroll_to_segment = None;
            }
            Some(LoadEvent::Failed(err)) => {
                self.error = Some(err.to_string());
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
            self.lesson = Some(LessonRun::recorded(lesson, error));
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
                    .filter(|e| e.failed_or_ended())
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
                // Following means the newest connection too: a new one is shown as it opens.
                if let Some(newest) = document.rows.last().map(|row| row.id) {
                    document.select_connection(newest);
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
        self.poll_second_capture(&ctx);
        self.poll_live();
        self.poll_lesson(&ctx);
        self.handle_dropped_files(&ctx);
        let title =
            self.document.as_ref().map_or_else(|| "tcpladder".to_string(), |d| format!("{} — tcpladder", d.title()));
        if title != self.window_title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.window_title = title;
        }
        self.table.rows_version = self.document.as_ref().map_or(0, |d| d.rows_version);
        let mut actions = keyboard_actions(&ctx);
        egui::Panel::top("menu").show(ui, |ui| {
            self.menu_ui(ui, &mut actions);
            self.banners_ui(ui);
        });
        // The table may not squeeze the ladder below its minimum width.
        let widest_table = (ui.available_width() - super::sizes::LADDER_MIN_WIDTH * self.view.zoom).max(260.0);
        egui::Panel::left("connections")
            .resizable(true)
            .default_size(440.0_f32.min(widest_table))
            .size_range(260.0..=widest_table)
            .show(ui, |ui| {
                self.docked_ui(ui);
                self.connections_ui(ui, &mut actions);
            });
        // A live capture's local sockets are checked against the kernel's, view shown or not.
        self.machine.set_shown(&ctx, self.show_machine || self.live.running());
        if let (true, Some(document)) = (self.live.running(), &self.document) {
            self.machine.check_live(&document.rows);
        }
        if self.show_machine {
            self.machine_panel_ui(ui);
        } else {
            self.capture_panels_ui(ui, &mut actions);
        }
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
        // An action applied after the panels were drawn changes what they show (a selection the
        // Conversation pane scrolls to): draw once more.
        if !actions.is_empty() {
            ctx.request_repaint();
        }
        for action in actions {
            self.apply(&ctx, action);
        }
        if self.loading.is_some() || self.live.running() {
            ctx.request_repaint_after(Duration::from_millis(100));
        }
    }
}
