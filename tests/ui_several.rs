//! Several connections on one ladder in the window: a proxy chain drawn from one connection with
//! Shift+C, every socket a lane, a click on another connection's arrow shows its segment, and
//! Esc goes back to one connection.

use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use tcpladder::ui::TcpLadderApp;

use crate::util::sample;

#[test]
fn shift_c_draws_the_chain_and_a_click_shows_any_connections_segment() {
    let path = sample("proxy-chain.pcap");
    let mut harness = Harness::builder()
        .with_size([1920.0, 1080.0])
        .build_eframe(move |cc| TcpLadderApp::new(&cc.egui_ctx, None, Some(path)));
    while harness.state().is_loading() {
        harness.step();
    }
    harness.run_steps(3);
    // The row is wider than the table's panel: click its id, at its left end.
    let row = harness.get_by_label("connection 2").rect();
    let at = egui::pos2(row.left() + 20.0, row.center().y);
    harness.hover_at(at);
    harness.drag_at(at);
    harness.drop_at(at);
    harness.run_steps(2);
    assert_eq!(harness.state().with_document(|d| d.and_then(|d| d.selected_conn)), Some(2));
    // Room for all five lanes: the details panel folds away (F9).
    harness.key_press(egui::Key::F9);
    harness.key_press_modifiers(egui::Modifiers::SHIFT, egui::Key::C);
    harness.run_steps(3);
    harness.get_by_label_contains("Several connections: connection 2 and its chain (3 connections, 5 sockets)");
    harness.get_by_label_contains("gave up first");
    // The last segment of connection 2 (selected), scrolled into view by End.
    harness.key_press(egui::Key::End);
    harness.run_steps(4);
    for conn in [1, 2] {
        assert!(
            harness.query_all_by_label_contains(&format!("connection {conn} frame ")).next().is_some(),
            "no arrow of connection {conn}"
        );
    }
    // The backend's RST, on nginx's upstream connection: a click shows it in Details.
    harness.get_all_by_label_contains("connection 1 frame ").last().unwrap_or_else(|| panic!("no arrow")).click();
    harness.run_steps(3);
    let selected = harness.state().with_document(|d| d.and_then(|d| d.selected_conn.zip(d.selected_segment)));
    assert!(selected.is_some_and(|(conn, _)| conn == 1), "{selected:?}");
    assert!(harness.state().with_document(|d| d.is_some_and(|d| d.several.is_some())), "the chain stays drawn");
    harness.key_press(egui::Key::Escape);
    harness.run_steps(3);
    assert!(harness.query_by_label_contains("Several connections:").is_none());
    harness.get_by_label_contains("Connection 1: 127.0.0.1:");
}

#[test]
fn two_captures_draw_each_connection_from_both_ends() {
    let (a, b) = (sample("two-vantage-client.pcap"), sample("two-vantage-server.pcap"));
    let mut harness = Harness::builder()
        .with_size([1600.0, 1000.0])
        .build_eframe(move |cc| TcpLadderApp::new(&cc.egui_ctx, None, None));
    let ctx = harness.ctx.clone();
    harness.state_mut().open_two(&ctx, &a, &b);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while harness.query_by_label_contains("lost between the two ends").is_none() {
        assert!(std::time::Instant::now() < deadline, "the second capture was not matched");
        std::thread::sleep(std::time::Duration::from_millis(10));
        harness.step();
    }
    harness.get_by_label_contains("clock corrected by -1.234567 s");
    harness.get_by_label_contains("8 lost between the two ends");
    // The SYN, sent by this (the client's) capture, reached the server's 42 µs later.
    harness.get_by_label_contains("[S] seq 0 win 64240 len 0 · 42 µs");
    // Back to this end's ladder, and again.
    harness.get_by_label("Draw it from both ends (the two captures)").click();
    harness.run_steps(3);
    assert!(harness.query_by_label_contains("[S] seq 0 win 64240 len 0 · 42 µs").is_none());
    harness.get_by_label_contains("client state SYN_SENT");
}
