//! The Requests tab beside the connections: every request of the capture with its answer, how
//! long the server took and what became of it, slowest first on a click, each row jumping to
//! its arrow on the ladder.

use egui::{RichText, Sense, Ui};

use crate::analysis::exchanges::{duration, exchanges, Exchange, Outcome};
use crate::session::document::Document;

use super::action::Action;

/// How the requests are listed.
#[derive(Debug, Default)]
pub struct RequestsState {
    pub slowest_first: bool,
    pub filter: String,
    /// The exchanges, for the document and rows version they were found in.
    cached: Option<((u64, usize), Vec<Exchange>)>,
}

impl RequestsState {
    /// Every exchange of `document`, found again only when its connections changed.
    fn exchanges_of(&mut self, document: &Document) -> &[Exchange] {
        let key = (document.rows_version, document.engine.connections().len());
        let cached = self.cached.take().filter(|(computed_for, _)| *computed_for == key);
        let (_, list) = self.cached.insert(cached.unwrap_or_else(|| {
            let engine = &document.engine;
            let list = engine
                .connections()
                .iter()
                .filter_map(|c| Some(exchanges(c, engine.conversation(c.id)?)))
                .flatten()
                .collect();
            (key, list)
        }));
        list
    }
}

/// The tab's table; a click asks for the request's arrow.
pub fn requests_ui(ui: &mut Ui, document: &Document, state: &mut RequestsState, actions: &mut Vec<Action>) {
    let slowest_first = state.slowest_first;
    let needle = state.filter.to_lowercase();
    let mut shown: Vec<&Exchange> = Vec::new();
    ui.horizontal(|ui| {
        ui.add(
            egui::TextEdit::singleline(&mut state.filter)
                .hint_text("filter: method, path, host, outcome")
                .desired_width(220.0),
        );
        ui.checkbox(&mut state.slowest_first, "slowest first");
    });
    let all = state.exchanges_of(document);
    shown.extend(all.iter().filter(|e| needle.is_empty() || text_of(e).to_lowercase().contains(&needle)));
    if slowest_first {
        shown.sort_by(|a, b| b.latency.unwrap_or(-1.0).total_cmp(&a.latency.unwrap_or(-1.0)));
    }
    ui.label(RichText::new(format!("{} requests, {} shown", all.len(), shown.len())).weak());
    ui.separator();
    let header = format!("{:>4} {:>3} {:>9} {:<8} {}", "conn", "st", "waited", "outcome", "request");
    ui.add(egui::Label::new(RichText::new(header).monospace().strong()).wrap_mode(egui::TextWrapMode::Truncate));
    if shown.is_empty() {
        ui.label(RichText::new("No request in this capture's conversations.").weak());
        return;
    }
    egui::ScrollArea::vertical().id_salt("requests").auto_shrink([false, false]).show_rows(
        ui,
        20.0,
        shown.len(),
        |ui, range| {
            for exchange in shown.get(range).unwrap_or_default() {
                let waited = exchange.latency.map_or_else(|| "-".to_string(), duration);
                let status = exchange.status.map_or_else(|| "-".to_string(), |s| s.to_string());
                let colour = match exchange.outcome {
                    Outcome::Answered => ui.visuals().text_color(),
                    Outcome::Reset | Outcome::Abandoned => super::theme::reset_colour(ui.visuals().dark_mode),
                    Outcome::ServerClosed | Outcome::CaptureEnded => {
                        super::theme::warning_colour(ui.visuals().dark_mode)
                    }
                };
                // The request last: a long one is cut, the numbers before it never are.
                let text = format!(
                    "{:>4} {status:>3} {waited:>9} {:<8} {}",
                    exchange.conn,
                    exchange.outcome.name(),
                    exchange.labels.0
                );
                // One line a row, cut at the panel's edge (so the list never widens the panel and
                // squeezes the ladder); the tooltip has it whole.
                let label = egui::Label::new(RichText::new(text).monospace().color(colour))
                    .wrap_mode(egui::TextWrapMode::Truncate)
                    .sense(Sense::click());
                let response = ui.add(label).on_hover_text(text_of(exchange));
                if response.clicked() {
                    actions.push(Action::ShowFrame { conn: exchange.conn, frame: exchange.request_frame });
                }
            }
        },
    );
}

fn text_of(exchange: &Exchange) -> String {
    format!("{} {} {}", exchange.labels.0, exchange.labels.1.as_deref().unwrap_or(""), exchange.outcome.name())
}
