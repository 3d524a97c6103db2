//! The Requests tab beside the connections: every request of the capture with its answer, how
//! long the server took and what became of it, sorted by any column, each row jumping to its
//! arrow on the ladder.

use egui::{RichText, Sense, Ui};

use crate::analysis::exchanges::{duration, exchanges, Exchange, Outcome};
use crate::protocols::{size, Protocol};
use crate::session::document::Document;

use super::action::Action;

/// The order of the list.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum RequestOrder {
    /// As the requests were sent, connection by connection.
    #[default]
    Sent,
    Slowest,
    Status,
    Outcome,
    Request,
}

impl RequestOrder {
    const ALL: [Self; 5] = [Self::Sent, Self::Slowest, Self::Status, Self::Outcome, Self::Request];

    fn name(self) -> &'static str {
        match self {
            Self::Sent => "as sent",
            Self::Slowest => "slowest first",
            Self::Status => "status",
            Self::Outcome => "outcome",
            Self::Request => "request",
        }
    }

    fn sort(self, shown: &mut [&Exchange]) {
        match self {
            Self::Sent => {}
            Self::Slowest => shown.sort_by(|a, b| b.latency.unwrap_or(-1.0).total_cmp(&a.latency.unwrap_or(-1.0))),
            // Errors first: the rows an engineer looks for.
            Self::Status => shown.sort_by_key(|e| std::cmp::Reverse(e.status)),
            Self::Outcome => shown.sort_by_key(|e| (e.outcome == Outcome::Answered, e.outcome.name())),
            // By the request as the row shows it (HTTP/2's by method and path, not by stream).
            Self::Request => shown.sort_by_cached_key(|e| request_text(e)),
        }
    }
}

/// How the requests are listed.
#[derive(Debug, Default)]
pub struct RequestsState {
    pub order: RequestOrder,
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
    let needle = state.filter.to_lowercase();
    let mut shown: Vec<&Exchange> = Vec::new();
    ui.horizontal(|ui| {
        ui.add(
            egui::TextEdit::singleline(&mut state.filter)
                .hint_text("filter: method, path, host, outcome")
                .desired_width(220.0),
        );
        egui::ComboBox::from_id_salt("request order").selected_text(format!("sort: {}", state.order.name())).show_ui(
            ui,
            |ui| {
                for order in RequestOrder::ALL {
                    ui.selectable_value(&mut state.order, order, order.name());
                }
            },
        );
    });
    let order = state.order;
    let all = state.exchanges_of(document);
    shown.extend(all.iter().filter(|e| needle.is_empty() || text_of(e).to_lowercase().contains(&needle)));
    order.sort(&mut shown);
    ui.label(RichText::new(format!("{} requests, {} shown", all.len(), shown.len())).weak());
    ui.separator();
    let header = format!(
        "{:>4} {:>3} {:>9} {:<8} {:<5} {:>9} {}",
        "conn", "st", "waited", "outcome", "proto", "answer", "request"
    );
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
                let status = exchange.status_text(4);
                let colour = match exchange.outcome {
                    Outcome::Answered => ui.visuals().text_color(),
                    Outcome::Reset | Outcome::Abandoned => super::theme::reset_colour(ui.visuals().dark_mode),
                    Outcome::ServerClosed | Outcome::CaptureEnded => {
                        super::theme::warning_colour(ui.visuals().dark_mode)
                    }
                };
                // The request last: a long one is cut, the numbers before it never are.
                let answer = if exchange.response_frame.is_some() { size(exchange.bytes.1) } else { "-".to_string() };
                let text = format!(
                    "{:>4} {status:>4} {waited:>9} {:<8} {:<5} {answer:>9} {}",
                    exchange.conn,
                    exchange.outcome.name(),
                    short_name(exchange.protocol),
                    request_text(exchange)
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

/// The request as the table shows it: its label, except that HTTP/2's (`HEADERS stream 13 · GET
/// /index.html · host …`) starts with what the narrow column needs least.
fn request_text(exchange: &Exchange) -> String {
    match (&exchange.method, &exchange.target, exchange.protocol) {
        (Some(method), Some(target), Protocol::Http2) => format!("{method} {target}"),
        _ => exchange.labels.0.clone(),
    }
}

/// The protocol in five letters, for the table's narrow column (`requests --json` has the full
/// names).
fn short_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Http10 => "h1.0",
        Protocol::Http11 => "h1.1",
        Protocol::Http2 => "h2",
        Protocol::Tls => "tls",
        Protocol::Redis => "redis",
        Protocol::Dns => "dns",
        Protocol::Unknown => "-",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(label: &str, status: Option<u16>, latency: Option<f64>, outcome: Outcome) -> Exchange {
        Exchange {
            conn: 0,
            protocol: Protocol::Http11,
            method: None,
            target: None,
            host: None,
            status,
            reply: None,
            sni: None,
            alpn: None,
            command: None,
            request_frame: 1,
            response_frame: None,
            latency,
            outcome,
            response_head_frame: None,
            bytes: (0, 0),
            labels: (label.to_string(), None),
        }
    }

    #[test]
    fn each_order_puts_what_it_names_first() {
        let list = [
            exchange("GET /a", Some(200), Some(0.001), Outcome::Answered),
            exchange("GET /c", Some(503), Some(0.4), Outcome::Answered),
            exchange("GET /b", None, None, Outcome::Abandoned),
        ];
        let first = |order: RequestOrder| {
            let mut shown: Vec<&Exchange> = list.iter().collect();
            order.sort(&mut shown);
            shown.first().map(|e| e.labels.0.clone()).unwrap_or_default()
        };
        assert_eq!(first(RequestOrder::Sent), "GET /a");
        assert_eq!(first(RequestOrder::Slowest), "GET /c");
        assert_eq!(first(RequestOrder::Status), "GET /c");
        assert_eq!(first(RequestOrder::Outcome), "GET /b");
        assert_eq!(first(RequestOrder::Request), "GET /a");
    }
}
