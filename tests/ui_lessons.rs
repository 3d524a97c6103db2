//! A lesson in the window, docked beside the table, and its "predict first" mode: the ladder
//! grows a segment at a time, and the student answers before each change of state.

use std::time::{Duration, Instant};

use egui_kittest::kittest::{NodeT, Queryable};
use egui_kittest::Harness;
use tcpladder::ui::TcpLadderApp;

use crate::util::sample;

/// The window on a sample, with the lesson `title` performed to its end.
fn open_lesson(title: &str) -> Harness<'static, TcpLadderApp> {
    let path = sample("refused.pcap");
    let mut harness = Harness::builder()
        .with_size([1280.0, 720.0])
        .build_eframe(move |cc| TcpLadderApp::new(&cc.egui_ctx, None, Some(path)));
    harness.run_steps(3);
    harness.get_by_label("Lessons").click();
    harness.run_steps(2);
    harness.get_by_label(title).click();
    let deadline = Instant::now() + Duration::from_secs(15);
    while harness.state().lesson.as_ref().is_none_or(tcpladder::ui::lesson_panel::LessonRun::in_progress) {
        assert!(Instant::now() < deadline, "the lesson did not finish");
        std::thread::sleep(Duration::from_millis(10));
        harness.step();
    }
    harness.run_steps(4);
    harness
}

fn arrows(harness: &Harness<'static, TcpLadderApp>) -> usize {
    harness
        .query_all_by_label_contains("frame ")
        .filter(|node| node.accesskit_node().label().is_some_and(|l| l.starts_with("frame ") && l.contains(':')))
        .count()
}

#[test]
fn predict_first_asks_before_each_change_of_state_and_then_explains_it() {
    let _ports = crate::util::lesson_ports();
    if !crate::live::permitted() {
        return;
    }
    let mut harness = open_lesson("The three-way handshake");
    // Docked in the left column: the lesson hides neither the table's nor the ladder's area.
    let lesson = harness.get_by_label_contains("Lesson: The three-way handshake").rect();
    let time_heading = harness.get_by_label_contains("predict first").rect();
    assert!(lesson.max.x < 640.0 && time_heading.max.x < 640.0, "the lesson is not in the left column: {lesson:?}");
    let total = harness.state().with_document(|d| d.and_then(|d| d.connection()).map_or(0, |c| c.segments.len()));
    assert!(total >= 3, "the handshake has {total} segments");
    harness.get_by_label("predict first").click();
    harness.run_steps(3);
    assert_eq!(arrows(&harness), 0, "the ladder is empty before the first segment");
    harness.get_by_label("next segment ▶").click();
    harness.run_steps(3);
    // The SYN changes the client's state: asked before it is drawn.
    harness.get_by_label_contains("The client sends a SYN. What is the client's state next?");
    assert_eq!(arrows(&harness), 0);
    harness.get_by_role_and_label(egui::accesskit::Role::Button, "CLOSED").click();
    harness.run_steps(3);
    harness.get_by_label_contains("Not quite: you said CLOSED; it is SYN_SENT.");
    // The explanation, in the lesson and in Details.
    assert_eq!(harness.query_all_by_label_contains("its application called connect()").count(), 2);
    assert_eq!(arrows(&harness), 1, "the answered segment is drawn");
    harness.get_by_label("next segment ▶").click();
    harness.run_steps(3);
    harness.get_by_label_contains("The server sends a SYN-ACK");
    harness.get_by_role_and_label(egui::accesskit::Role::Button, "SYN_RECEIVED").click();
    harness.run_steps(3);
    harness.get_by_label_contains("Right: SYN_RECEIVED.");
    harness.get_by_label_contains("1 of 2 answers right");
    assert_eq!(arrows(&harness), 2);
    harness.get_by_label("show the whole ladder").click();
    harness.run_steps(3);
    assert_eq!(arrows(&harness), total);
}

#[test]
fn a_lesson_in_the_window_shows_the_errno_on_its_segment() {
    let _ports = crate::util::lesson_ports();
    if !crate::live::permitted() {
        return;
    }
    let mut harness = open_lesson("Writing after the peer closed: broken pipe");
    let (path, annotations) = harness
        .state()
        .with_document(|d| d.map(|d| (d.path.clone(), d.annotations.clone())))
        .unwrap_or_else(|| panic!("no document"));
    assert!(path.to_string_lossy().starts_with("live capture on"));
    assert!(annotations.iter().any(|(_, text)| text == "client write() → EPIPE"), "{annotations:?}");
    harness.get_by_label("→ EPIPE");
    harness.get_by_label_contains("client write() → EPIPE");
    harness.get_by_label("play ▶").click();
    harness.run_steps(2);
    assert!(
        harness.state().with_document(|d| d.is_some_and(|d| d.selected_segment.is_some())),
        "play selects segments"
    );
}
