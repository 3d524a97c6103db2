//! The connection table driven with egui_kittest: the columns that say which connections ended
//! badly come first, prefixed filters match one field only, and an empty table says why.

use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use tcpladder::ui::TcpLadderApp;

use crate::util::sample;

fn open(name: &str) -> Harness<'static, TcpLadderApp> {
    let path = sample(name);
    let mut harness = Harness::builder()
        .with_size([1280.0, 720.0])
        .build_eframe(move |cc| TcpLadderApp::new(&cc.egui_ctx, None, Some(path)));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while harness.state().is_loading() {
        assert!(std::time::Instant::now() < deadline, "loading did not finish");
        harness.step();
    }
    harness.run_steps(3);
    harness
}

fn type_filter(harness: &mut Harness<'static, TcpLadderApp>, text: &str) {
    harness.state_mut().table.filter = text.to_string();
    harness.run_steps(3);
}

#[test]
fn states_and_diagnoses_come_first_and_prefixed_filters_match_one_field() {
    let mut harness = open("close-wait-pileup.pcap");
    // At 1280×720 the table's first columns are each side's final state and the diagnoses.
    for header in ["client state", "server state", "diagnoses"] {
        let rect = harness.get_by_label(header).rect();
        assert!(rect.max.x < 440.0, "{header} is off to the right at x = {}", rect.max.x);
    }
    harness.get_all_by_label_contains(" close_wait ").next().expect("a close_wait chip");
    type_filter(&mut harness, "state:CLOSE_WAIT");
    let rows = harness.state().with_document(|d| d.map(|d| d.rows.clone()).unwrap_or_default());
    let shown = harness.state_mut().table.visible(&rows).len();
    assert_eq!(shown, 20);
    type_filter(&mut harness, "state:TIME_WAIT");
    harness.get_by_label_contains("No connection matches the filters (clear the filter box");
    type_filter(&mut harness, "diag:close_wait port:99999");
    harness.get_by_label_contains("No connection matches the filters");
}
