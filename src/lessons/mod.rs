//! Lessons: TCP scenarios performed for real on loopback by ordinary socket calls, each recording
//! what its applications saw (ok, EOF, ECONNRESET, EPIPE, ECONNREFUSED …) with the time, so a
//! ladder of the same traffic can show the error next to the segment that caused it.

mod catalogue;
pub mod record;
mod scenarios;

use catalogue::LESSONS;
pub use record::{errno_name, AppEvent, Lesson, Outcome};

/// Every lesson, in teaching order.
pub fn all() -> &'static [Lesson] {
    &LESSONS
}

/// The lesson with this id.
pub fn find(id: &str) -> Option<&'static Lesson> {
    LESSONS.iter().find(|lesson| lesson.id == id)
}

/// The port a lesson uses: one per lesson, away from common services.
pub fn port_of(lesson: &Lesson) -> u16 {
    let index = LESSONS.iter().position(|l| l.id == lesson.id).unwrap_or(0);
    19_100 + 10 * u16::try_from(index).unwrap_or(0)
}

/// The expected events that did not happen.
pub fn missing_expectations(lesson: &Lesson, events: &[AppEvent]) -> Vec<String> {
    lesson
        .expected
        .iter()
        .filter(|(side, call, outcome)| {
            !events.iter().any(|e| e.side == *side && e.call == *call && e.outcome == *outcome)
        })
        .map(|(side, call, outcome)| format!("{side} {call} → {outcome}"))
        .collect()
}
