//! A lesson's "predict first" mode: the ladder grows a segment at a time, and before a segment
//! that changes a state the student picks what the state will be, then reads why.

use egui::{RichText, Ui};

use crate::ladder::predict::{question_at, Question};
use crate::tcp::TcpState;

use crate::session::document::Document;

/// Where the student is in the ladder, and how the answers went.
#[derive(Debug, Clone, Default)]
pub struct Predicting {
    /// Segments shown so far.
    pub revealed: usize,
    /// The question waiting for an answer, or answered and waiting for "next".
    asked: Option<(Question, Option<TcpState>)>,
    right: u32,
    answered: u32,
}

/// What the student did this frame.
pub enum PredictStep {
    None,
    /// Show (and select) this segment.
    Reveal(usize),
    /// Leave predict mode: show the whole ladder.
    Finish,
}

impl Predicting {
    /// The question on screen, if any.
    pub fn question(&self) -> Option<&Question> {
        self.asked.as_ref().map(|(question, _)| question)
    }

    pub fn ui(&mut self, ui: &mut Ui, document: Option<&Document>) -> PredictStep {
        let Some(connection) = document.and_then(Document::connection) else {
            ui.label(RichText::new("No connection to step through yet.").weak());
            return PredictStep::None;
        };
        let total = connection.segments.len();
        let mut step = PredictStep::None;
        ui.label(format!(
            "Predict first: {} of {total} segments shown · {} of {} answers right",
            self.revealed, self.right, self.answered
        ));
        match &self.asked {
            Some((question, None)) => {
                ui.label(RichText::new(&question.prompt).strong());
                let mut picked = None;
                ui.horizontal_wrapped(|ui| {
                    for choice in question.choices {
                        if ui.button(choice.to_string()).clicked() {
                            picked = Some(choice);
                        }
                    }
                });
                if let Some(choice) = picked {
                    let question = question.clone();
                    self.answered += 1;
                    self.right += u32::from(choice == question.answer);
                    self.revealed = question.index + 1;
                    step = PredictStep::Reveal(question.index);
                    self.asked = Some((question, Some(choice)));
                }
            }
            Some((question, Some(choice))) => {
                let verdict = if *choice == question.answer {
                    RichText::new(format!("Right: {}.", question.answer)).color(ui.visuals().hyperlink_color)
                } else {
                    RichText::new(format!("Not quite: you said {choice}; it is {}.", question.answer))
                        .color(ui.visuals().warn_fg_color)
                };
                ui.label(verdict.strong());
                ui.label(&question.explanation);
            }
            None => {}
        }
        let waiting = matches!(self.asked, Some((_, None)));
        ui.horizontal(|ui| {
            let more = self.revealed < total;
            if ui.add_enabled(more && !waiting, egui::Button::new("next segment ▶")).clicked() {
                step = self.next(connection);
            }
            if ui.button("show the whole ladder").clicked() {
                step = PredictStep::Finish;
            }
        });
        if self.revealed >= total && !waiting {
            ui.label(RichText::new(format!("Done: {} of {} right.", self.right, self.answered)).strong());
        }
        step
    }

    /// Shows the next segment, or asks first when it changes a state.
    fn next(&mut self, connection: &crate::tcp::Connection) -> PredictStep {
        self.asked = None;
        let index = self.revealed;
        match question_at(connection, index) {
            Some(question) => {
                self.asked = Some((question, None));
                PredictStep::None
            }
            None => {
                self.revealed = index + 1;
                PredictStep::Reveal(index)
            }
        }
    }
}
