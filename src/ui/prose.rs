//! A finding's sentences as the window shows them: what the text marks as code with backticks
//! (`GET /report`, `SO_LINGER`) is set in the monospace font on the code background, instead of
//! printing the backticks (the command line keeps them, for Markdown-minded readers).

use egui::text::{LayoutJob, TextFormat};
use egui::{TextStyle, Ui};

/// `text` laid out with its backticked spans as code, in the weak colour when asked.
pub fn with_code_spans(ui: &Ui, text: &str, weak: bool) -> LayoutJob {
    let style = ui.style();
    let visuals = ui.visuals();
    let color = if weak { visuals.weak_text_color() } else { visuals.text_color() };
    let body = TextFormat { font_id: TextStyle::Body.resolve(style), color, ..TextFormat::default() };
    let code =
        TextFormat { font_id: TextStyle::Monospace.resolve(style), background: visuals.code_bg_color, ..body.clone() };
    let mut job = LayoutJob::default();
    for (part, is_code) in code_spans(text) {
        job.append(&part, 0.0, if is_code { code.clone() } else { body.clone() });
    }
    job
}

/// The pieces of `text` between backticks, each marked whether it is code. A stray backtick
/// (one without its pair) stays as text.
fn code_spans(text: &str) -> Vec<(String, bool)> {
    let parts: Vec<&str> = text.split('`').collect();
    let paired = parts.len() % 2 == 1;
    let last = parts.len().saturating_sub(1);
    parts
        .iter()
        .enumerate()
        .filter_map(|(index, part)| {
            let odd = index % 2 == 1;
            let piece = match (odd, paired || index < last) {
                (true, true) => ((*part).to_string(), true),
                (true, false) => (format!("`{part}"), false),
                (false, _) => ((*part).to_string(), false),
            };
            (!piece.0.is_empty()).then_some(piece)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backticked_spans_become_code_and_the_backticks_go() {
        assert_eq!(
            code_spans("took 400 ms to answer `GET /report` (frame 10)"),
            [("took 400 ms to answer ".into(), false), ("GET /report".into(), true), (" (frame 10)".into(), false)]
        );
        assert_eq!(code_spans("a ` b"), [("a ".to_string(), false), ("` b".to_string(), false)]);
        assert_eq!(code_spans("`x`"), [("x".to_string(), true)]);
    }
}
