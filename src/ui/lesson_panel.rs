//! A lesson in the window: its question and code, the live capture of the kernel performing it,
//! what each application saw next to the segment that caused it, and a step-through player.

use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use egui::{RichText, Ui};

use crate::lessons::{port_of, AppEvent, Lesson, Outcome};

use crate::session::document::Document;

/// How long the capture keeps running after the lesson's last call, for the last segments.
const DRAIN: Duration = Duration::from_millis(300);

/// Where a lesson run is.
enum Stage {
    /// The capture is starting.
    WaitingForCapture,
    /// The lesson's sockets are at work on their own thread.
    Running(Receiver<std::io::Result<Outcome>>),
    /// Done; the capture runs a little longer, and the sockets stay open until it stops
    /// (a server that never closes must still be open when the capture ends).
    Draining {
        since: Instant,
        _open_sockets: Outcome,
    },
    Done,
}

/// A lesson being performed or shown.
pub struct LessonRun {
    pub lesson: &'static Lesson,
    stage: Stage,
    pub events: Vec<AppEvent>,
    /// Why the lesson shows a recording, or what went wrong.
    pub note: Option<String>,
    playing: bool,
    speed: f32,
    last_step: Instant,
    /// "Predict first": the ladder grows as the student answers.
    pub predicting: Option<super::predict_panel::Predicting>,
}

/// What the lesson asks the app to do this frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LessonRequest {
    None,
    /// Stop the live capture: the lesson is over.
    StopCapture,
    /// Select this segment of the selected connection.
    Select(usize),
}

impl LessonRun {
    /// A lesson that will run once the capture has started.
    pub fn new(lesson: &'static Lesson) -> Self {
        Self {
            lesson,
            stage: Stage::WaitingForCapture,
            events: Vec::new(),
            note: None,
            playing: false,
            speed: 2.0,
            last_step: Instant::now(),
            predicting: None,
        }
    }

    /// A lesson shown from its recording, because capturing is not possible.
    pub fn recorded(lesson: &'static Lesson, why: &str) -> Self {
        let mut run = Self::new(lesson);
        run.stage = Stage::Done;
        run.note =
            Some(format!("Capturing is not permitted here ({why}), so this is a recording of the same scenario."));
        run
    }

    /// True until the lesson's sockets are done and the capture stopped.
    pub fn in_progress(&self) -> bool {
        !matches!(self.stage, Stage::Done)
    }

    /// Advances the run: starts the sockets once capturing, collects their calls, stops the capture.
    pub fn poll(&mut self, capturing: bool, capture_failed: Option<&str>, ctx: &egui::Context) -> LessonRequest {
        match &mut self.stage {
            Stage::WaitingForCapture => {
                if let Some(error) = capture_failed {
                    self.note = Some(format!("The capture could not start: {error}"));
                    self.stage = Stage::Done;
                } else if capturing {
                    let (sender, receiver) = channel();
                    let lesson = self.lesson;
                    let waker = ctx.clone();
                    std::thread::spawn(move || {
                        // A closed lesson window dropped the receiver: the outcome has no one to go to.
                        let _ = sender.send(lesson.run(port_of(lesson)));
                        waker.request_repaint();
                    });
                    self.stage = Stage::Running(receiver);
                }
                LessonRequest::None
            }
            Stage::Running(receiver) => {
                match receiver.try_recv() {
                    Ok(Ok(outcome)) => {
                        self.events = outcome.events.clone();
                        self.stage = Stage::Draining { since: Instant::now(), _open_sockets: outcome };
                    }
                    Ok(Err(err)) => {
                        self.note = Some(format!("The lesson's sockets failed: {err}"));
                        let nothing = Outcome { events: Vec::new(), held: Vec::new(), held_listeners: Vec::new() };
                        self.stage = Stage::Draining { since: Instant::now(), _open_sockets: nothing };
                    }
                    Err(_) => {}
                }
                LessonRequest::None
            }
            Stage::Draining { since, .. } => {
                if since.elapsed() < DRAIN {
                    ctx.request_repaint_after(DRAIN);
                    return LessonRequest::None;
                }
                if capturing {
                    return LessonRequest::StopCapture;
                }
                // The capture has stopped: the held sockets may close now.
                self.stage = Stage::Done;
                LessonRequest::None
            }
            Stage::Done => LessonRequest::None,
        }
    }

    /// How many segments the ladder shows while predicting; `None` shows them all.
    pub fn revealed(&self) -> Option<usize> {
        self.predicting.as_ref().map(|p| p.revealed)
    }

    /// The player: steps through the segments while playing.
    pub fn play(&mut self, document: &Document, ctx: &egui::Context) -> LessonRequest {
        if !self.playing {
            return LessonRequest::None;
        }
        let Some(count) = document.connection().map(|c| c.segments.len()) else { return LessonRequest::None };
        let interval = Duration::from_secs_f32(1.0 / self.speed.max(0.1));
        ctx.request_repaint_after(interval);
        if self.last_step.elapsed() < interval {
            return LessonRequest::None;
        }
        self.last_step = Instant::now();
        let next = document.selected_segment.map_or(0, |i| i + 1);
        if next >= count {
            self.playing = false;
            return LessonRequest::None;
        }
        LessonRequest::Select(next)
    }

    /// The lesson, docked above the connection table; returns a segment to select, if the
    /// user asked for one.
    pub fn docked_ui(&mut self, ui: &mut Ui, document: Option<&Document>, open: &mut bool) -> LessonRequest {
        if super::docked_header::docked_header_ui(ui, &format!("Lesson: {}", self.lesson.title)) {
            *open = false;
        }
        self.contents_ui(ui, document)
    }

    fn contents_ui(&mut self, ui: &mut Ui, document: Option<&Document>) -> LessonRequest {
        let mut request = LessonRequest::None;
        ui.label(RichText::new(self.lesson.question).strong());
        ui.code(self.lesson.snippet);
        let status = match self.stage {
            Stage::WaitingForCapture => "starting the capture on loopback…",
            Stage::Running(_) => "the sockets are at work…",
            Stage::Draining { .. } => "capturing the last segments…",
            Stage::Done => "done: step through the ladder, or click a call to see its segment",
        };
        ui.label(RichText::new(status).weak());
        if let Some(note) = &self.note {
            ui.label(RichText::new(note).color(ui.visuals().warn_fg_color));
        }
        if !self.events.is_empty() {
            ui.separator();
            ui.label(RichText::new("What the applications saw").strong());
            let start = document.and_then(|d| d.engine.stats().first_ts_nanos).unwrap_or(0);
            for event in &self.events {
                ui.horizontal(|ui| {
                    ui.label(
                        RichText::new(format!("{:>9.6} s", (event.ts_nanos - start) as f64 / 1e9)).monospace().weak(),
                    );
                    ui.label(format!("{} {}", event.side, event.call));
                    let error = event.outcome.starts_with('E');
                    let outcome = RichText::new(format!("→ {}", event.outcome)).monospace();
                    ui.label(if error { outcome.color(ui.visuals().error_fg_color) } else { outcome });
                    if let Some(index) = document.and_then(|d| segment_before(d, event.ts_nanos)) {
                        if ui
                            .small_button("segment")
                            .on_hover_text("the segment just before this call returned")
                            .clicked()
                        {
                            request = LessonRequest::Select(index);
                        }
                    }
                });
            }
        }
        ui.separator();
        if let Some(predicting) = &mut self.predicting {
            match predicting.ui(ui, document) {
                super::predict_panel::PredictStep::Reveal(index) => request = LessonRequest::Select(index),
                super::predict_panel::PredictStep::Finish => self.predicting = None,
                super::predict_panel::PredictStep::None => {}
            }
            ui.separator();
            ui.label(self.lesson.explanation);
            return request;
        }
        if !self.in_progress()
            && ui
                .button("predict first")
                .on_hover_text("the ladder appears segment by segment; before each change of state, you guess it")
                .clicked()
        {
            self.playing = false;
            self.predicting = Some(super::predict_panel::Predicting::default());
        }
        ui.horizontal(|ui| {
            let selected = document.and_then(|d| d.selected_segment);
            if ui.button("◀ previous").clicked() {
                request = LessonRequest::Select(selected.map_or(0, |i| i.saturating_sub(1)));
                self.playing = false;
            }
            if ui.button(if self.playing { "pause" } else { "play ▶" }).clicked() {
                self.playing = !self.playing;
                self.last_step = Instant::now() - Duration::from_secs(10);
            }
            if ui.button("next ▶").clicked() {
                request = LessonRequest::Select(selected.map_or(0, |i| i + 1));
                self.playing = false;
            }
            ui.add(egui::Slider::new(&mut self.speed, 0.5..=5.0).text("segments/s"));
        });
        ui.separator();
        ui.label(self.lesson.explanation);
        request
    }
}

/// The index, in the selected connection, of the last segment captured at or before `ts_nanos`.
pub fn segment_before(document: &Document, ts_nanos: i64) -> Option<usize> {
    let connection = document.connection()?;
    connection.segments.iter().rposition(|s| s.ts_nanos <= ts_nanos)
}
