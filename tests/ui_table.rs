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

#[test]
fn at_1280_by_720_the_ladder_keeps_its_pills_and_the_details_move_under_it() {
    for size in [[1280.0, 720.0], [1600.0, 1000.0], [1920.0, 1080.0]] {
        let path = sample("broken-pipe.pcap");
        let mut harness = Harness::builder()
            .with_size(size)
            .build_eframe(move |cc| TcpLadderApp::new(&cc.egui_ctx, None, Some(path)));
        while harness.state().is_loading() {
            harness.step();
        }
        harness.run_steps(4);
        let pills: Vec<_> = ["server state LISTEN", "server state SYN_RECEIVED", "client state CLOSE_WAIT"]
            .into_iter()
            .map(|pill| (pill, harness.get_by_label(pill).rect()))
            .collect();
        // The client's pills sit right of the time column (72 px), which keeps its room.
        let pill = harness.get_by_label("client state SYN_SENT").rect();
        assert!(pill.min.x >= 440.0 + 72.0, "the time column is squeezed at {size:?}: {pill:?}");
        // The explanation of a segment is always on screen, beside the ladder or under it.
        harness.get_by_label("frame 7").click();
        harness.run_steps(3);
        let heading = harness.get_by_label_contains("Segment 7").rect();
        assert!(heading.max.y <= size[1] && heading.max.x <= size[0], "{heading:?} at {size:?}");
        // No pill runs under the details panel (beside the ladder) or off the window (under it).
        let beside = heading.min.y < size[1] * 0.5;
        let right_edge = if beside { heading.min.x } else { size[0] };
        for (pill, rect) in pills {
            assert!(rect.max.x < right_edge, "{pill} clipped at {size:?}: {rect:?}, edge {right_edge}");
        }
    }
}

#[test]
fn zooming_in_scales_the_layout_so_no_pill_runs_off_the_ladder() {
    let path = sample("broken-pipe.pcap");
    let mut harness = Harness::builder()
        .with_size([1600.0, 1000.0])
        .build_eframe(move |cc| TcpLadderApp::new(&cc.egui_ctx, None, Some(path)));
    while harness.state().is_loading() {
        harness.step();
    }
    harness.run_steps(3);
    let before = harness.get_by_label("client state SYN_SENT").rect();
    for _ in 0..3 {
        harness.key_press(egui::Key::Plus);
        harness.run_steps(2);
    }
    harness.run_steps(3);
    let after = harness.get_by_label("client state SYN_SENT").rect();
    assert!(after.width() > before.width() * 1.2, "the pill grew: {before:?} → {after:?}");
    // The time column grew with the text: the client's pill starts further right.
    assert!(after.min.x > before.min.x, "{before:?} → {after:?}");
    for pill in ["server state LISTEN", "server state SYN_RECEIVED", "server state FIN_WAIT_2"] {
        let rect = harness.get_by_label(pill).rect();
        assert!(rect.max.x <= 1600.0 - 8.0, "{pill} off the window when zoomed: {rect:?}");
    }
}

#[test]
fn a_column_is_resized_by_dragging_its_heading_edge_and_the_widths_reset_from_the_menu() {
    let mut harness = open("close-wait-pileup.pcap");
    let before = harness.get_by_label("client state").rect();
    let handle = harness.get_by_label("resize client state").rect();
    let start = handle.center();
    harness.hover_at(start);
    harness.run_steps(1);
    harness.drag_at(start);
    harness.run_steps(1);
    for step in 1..=8 {
        harness.hover_at(start + egui::vec2(10.0 * step as f32, 0.0));
        harness.run_steps(1);
    }
    harness.drop_at(start + egui::vec2(80.0, 0.0));
    harness.run_steps(3);
    let widened = harness.state().table.widths.get("client state").copied();
    assert!(widened.is_some_and(|w| w > 150.0), "the column was not widened: {widened:?}");
    // The columns right of it moved over by as much.
    let server = harness.get_by_label("server state").rect();
    assert!(server.min.x > before.max.x + 60.0, "{server:?} vs {before:?}");
    harness.get_by_label("columns").click();
    harness.run_steps(2);
    harness.get_by_label("reset widths").click();
    harness.run_steps(3);
    assert_eq!(harness.state().table.widths.get("client state"), None, "the columns menu resets the widths");
}

/// A file past the window's memory limit loads to its end; the window says how many of the oldest
/// connections it counts but does not list, and the table holds exactly the connections kept.
#[test]
fn a_file_past_the_memory_limit_loads_whole_and_the_window_says_what_it_left_out() {
    let flood = crate::util::temp_file("window-limit-flood.pcap", &[]);
    crate::synth::syn_flood(20_000, &mut crate::synth::pcap_sink(&flood));
    let mut harness = Harness::builder()
        .with_size([1280.0, 720.0])
        .build_eframe(move |cc| TcpLadderApp::new(&cc.egui_ctx, None, None));
    harness.run_steps(2);
    harness.state_mut().set_memory_limit(4 << 20);
    let ctx = harness.ctx.clone();
    harness.state_mut().open(&ctx, &flood);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while harness.state().is_loading() {
        assert!(std::time::Instant::now() < deadline, "loading did not finish");
        harness.step();
    }
    harness.run_steps(3);
    let (kept, evicted, first_id) = harness.state().with_document(|d| {
        let d = d.expect("a document");
        let ids: Vec<u32> = d.rows.iter().map(|r| r.id).collect();
        let kept: Vec<u32> = d.engine.connections().iter().map(|c| c.id).collect();
        assert_eq!(ids, kept, "the table lists exactly the connections kept");
        (kept.len(), d.engine.stats().evicted_connections, d.engine.first_connection_id())
    });
    assert!(kept > 0 && evicted > 0 && u64::from(first_id) == evicted, "{kept} kept, {evicted} dropped");
    harness.get_by_label_contains(&format!("The memory limit (4 MB) was reached: the {evicted} oldest connections ("));
    // The census still counts the dropped connections' sockets, beside the listed ones.
    let dropped: u64 =
        harness.state().with_document(|d| d.map_or(0, |d| d.engine.stats().evicted_states.values().sum()));
    assert_eq!(dropped, 2 * evicted, "both sockets of each dropped connection");
    assert!(
        harness.query_all_by_label_contains(" not listed").next().is_some(),
        "the census counts them beside the listed ones"
    );
    let _ = std::fs::remove_file(flood);
}
