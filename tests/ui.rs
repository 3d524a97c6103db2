//! The desktop app driven through AccessKit with egui_kittest, without a window or a GPU: open a
//! sample, select a connection, click a segment, read the details and the state labels.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use tcpladder::ui::TcpLadderApp;

use crate::util::{sample, tcpladder};

fn open(path: Option<PathBuf>) -> Harness<'static, TcpLadderApp> {
    let mut harness = Harness::builder()
        .with_size([1600.0, 1000.0])
        .build_eframe(move |cc| TcpLadderApp::new(&cc.egui_ctx, None, path));
    wait_until_loaded(&mut harness);
    harness
}

/// Steps the app until its background load has finished, then lets it settle.
fn wait_until_loaded(harness: &mut Harness<'static, TcpLadderApp>) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while harness.state().is_loading() {
        assert!(Instant::now() < deadline, "loading did not finish");
        std::thread::sleep(Duration::from_millis(5));
        harness.step();
    }
    harness.run_steps(3);
}

#[test]
fn the_bundled_sample_opens_with_a_handshake_drawn_and_a_hint() {
    let harness = open(None);
    assert!(harness.state().with_document(|d| d.is_some_and(|d| d.rows.len() == 1)));
    harness.get_by_label_contains("This is a bundled sample");
    harness.get_by_label_contains("frame 1: [S] seq 0");
    harness.get_by_label("client state SYN_SENT");
    harness.get_by_label("server state LISTEN");
    harness.get_by_label("server state SYN_RECEIVED");
    harness.get_by_label_contains("frame 2: [S.] seq 0 ack 1");
}

#[test]
fn the_ladder_names_the_request_and_how_long_the_server_took() {
    let harness = open(None);
    harness.get_by_label_contains("frame 4: [P.] seq 1:19 ack 1 win 65536 len 18 «GET / HTTP/1.0»");
    harness.get_by_label_contains(
        "frame 6: [P.] seq 1:26 ack 19 win 65536 len 25 «HTTP/1.0 200 OK · 25 bytes» server took 45 µs",
    );
}

#[test]
fn the_requests_tab_lists_each_request_and_jumps_to_its_arrow() {
    let mut harness = open(Some(sample("keepalive-race.pcap")));
    harness.get_by_label("Requests").click();
    harness.run_steps(2);
    harness.get_by_label_contains("2 requests, 2 shown");
    // The row, not the arrow: only the row has the outcome before the request.
    harness.get_by_label_contains("reset    h1.1          - GET /second").click();
    harness.run_steps(3);
    harness.get_by_label_contains("Segment 10 · frame 10");
}

#[test]
fn clicking_a_fin_explains_close_wait() {
    let mut harness = open(Some(sample("close-wait.pcap")));
    harness.get_by_label("connection 0").click();
    harness.run_steps(2);
    harness.get_by_label_contains("[F.]").click();
    harness.run_steps(3);
    harness.get_by_label_contains("Segment 6 · frame");
    harness.get_by_label(
        "The server received FIN: the peer will send no more, so it moved ESTABLISHED → CLOSE_WAIT; it stays there \
         until its application calls close().",
    );
    harness.get_by_label("server state CLOSE_WAIT");
    // The frame's real header bytes are read back from the file in the background.
    let deadline = Instant::now() + Duration::from_secs(10);
    while harness.query_by_label("TCP header (32 bytes)").is_none() {
        assert!(Instant::now() < deadline, "the frame's headers never arrived");
        std::thread::sleep(Duration::from_millis(5));
        harness.step();
    }
    harness.get_by_label("link header (14 bytes)");
    harness.get_by_label("IP header (20 bytes)");
    harness.get_by_label("client state FIN_WAIT_1");
    // The finding is in the findings panel and, as the connection's headline, above the ladder.
    let stuck =
        harness.get_all_by_label_contains("is stuck in CLOSE_WAIT because its application never called close()");
    assert_eq!(stuck.count(), 2);
}

#[test]
fn the_keyboard_walks_the_segments() {
    let mut harness = open(Some(sample("refused.pcap")));
    harness.key_press(egui::Key::J);
    harness.run_steps(2);
    assert_eq!(harness.state().with_document(|d| d.and_then(|d| d.selected_segment)), Some(0));
    harness.key_press(egui::Key::J);
    harness.run_steps(2);
    assert_eq!(harness.state().with_document(|d| d.and_then(|d| d.selected_segment)), Some(1));
    harness.get_by_label_contains("The client received a RST");
    harness.key_press(egui::Key::Home);
    harness.run_steps(2);
    assert_eq!(harness.state().with_document(|d| d.and_then(|d| d.selected_segment)), Some(0));
}

#[test]
fn a_broken_pipe_shows_the_reset_and_its_finding() {
    let mut harness = open(Some(sample("broken-pipe.pcap")));
    harness.get_by_label_contains("frame 7: [R] seq");
    // The code is a chip in the table's diagnoses column and the findings panel's heading; the
    // arrows say it in words: the reset, and the write that caused it.
    assert_eq!(harness.query_all_by_label_contains(" broken_pipe ").count(), 1);
    assert_eq!(harness.get_all_by_label("broken_pipe").count(), 1);
    harness.get_by_label_contains("» client's next write() → EPIPE (broken pipe)");
    harness.get_by_label_contains("frame 6: [P.] seq 1:22 ack 2 win 65536 len 21 » write after the peer closed");
    harness.get_by_label("frame 7").click();
    harness.run_steps(3);
    assert_eq!(harness.state().with_document(|d| d.and_then(|d| d.selected_segment)), Some(6));
    harness.get_by_label_contains("The client received a RST");
}

#[test]
fn a_file_that_is_not_a_capture_shows_its_error_in_the_window() {
    let path = std::env::temp_dir().join(format!("tcpladder-ui-{}.pcap", std::process::id()));
    std::fs::write(&path, b"not a capture").unwrap_or_else(|err| panic!("{err}"));
    let harness = open(Some(path.clone()));
    harness.get_by_label_contains("not a pcap or pcapng capture");
    harness.get_by_label_contains("Nothing to list: the file could not be read");
    assert!(harness.state().with_document(|d| d.is_none()));
    let _ = std::fs::remove_file(path);
}

/// Writes a raw-IP pcap of `connections` × 20 segments: big enough that reading takes a while.
fn write_big_capture(path: &std::path::Path, connections: u16) {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    bytes.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    bytes.extend_from_slice(&65_535u32.to_le_bytes());
    bytes.extend_from_slice(&101u32.to_le_bytes());
    for connection in 0..connections {
        for i in 0..20u32 {
            let builder = etherparse::PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
                .tcp(10_000u16.wrapping_add(connection), 80, 1 + i * 10, 1000)
                .ack(1);
            let mut frame = Vec::new();
            let _ = builder.write(&mut frame, &[0u8; 10]);
            let len = frame.len() as u32;
            bytes.extend_from_slice(&(u32::from(connection)).to_le_bytes());
            bytes.extend_from_slice(&i.to_le_bytes());
            bytes.extend_from_slice(&len.to_le_bytes());
            bytes.extend_from_slice(&len.to_le_bytes());
            bytes.extend_from_slice(&frame);
        }
    }
    std::fs::write(path, bytes).unwrap_or_else(|err| panic!("{err}"));
}

#[test]
fn loading_shows_progress_and_can_be_cancelled() {
    let path = std::env::temp_dir().join(format!("tcpladder-big-{}.pcap", std::process::id()));
    write_big_capture(&path, 60_000);
    let file = path.clone();
    let mut harness = Harness::builder()
        .with_size([1600.0, 1000.0])
        .build_eframe(move |cc| TcpLadderApp::new(&cc.egui_ctx, None, Some(file)));
    harness.step();
    assert!(harness.state().is_loading());
    harness.get_by_label_contains("Reading ");
    harness.get_by_label("Cancel").click();
    wait_until_loaded(&mut harness);
    let (cancelled, packets) = harness
        .state()
        .with_document(|d| d.map(|d| (d.cancelled, d.engine.stats().packets)))
        .unwrap_or_else(|| panic!("no document after cancel"));
    assert!(cancelled, "the load finished before Cancel was seen");
    assert!(packets < 1_200_000, "cancelled early, keeping what was read");
    harness.get_by_label_contains("Loading cancelled: showing the");
    let _ = std::fs::remove_file(path);
}

#[test]
fn the_window_is_readable_at_twice_the_scale() {
    let path = sample("simultaneous-close.pcap");
    let mut harness = Harness::builder()
        .with_size([1600.0, 1000.0])
        .with_pixels_per_point(2.0)
        .build_eframe(move |cc| TcpLadderApp::new(&cc.egui_ctx, None, Some(path)));
    wait_until_loaded(&mut harness);
    assert_eq!(
        harness.get_all_by_label("client state CLOSING").count()
            + harness.get_all_by_label("server state CLOSING").count(),
        2
    );
}

/// An in-memory stand-in for eframe's persistent storage.
#[derive(Default)]
struct MemoryStorage(std::collections::HashMap<String, String>);

impl eframe::Storage for MemoryStorage {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.to_string(), value);
    }
    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }
    fn flush(&mut self) {}
}

#[test]
fn recent_files_and_the_theme_survive_a_restart() {
    let mut harness = open(Some(sample("half-close.pcap")));
    harness.get_by_label("View").click();
    harness.run_steps(2);
    harness.get_by_label("Dark theme").click_accesskit();
    harness.run_steps(2);
    assert!(!harness.state().settings().dark, "the checkbox did not change the setting");
    assert_eq!(harness.ctx.theme(), egui::Theme::Light);
    let mut storage = MemoryStorage::default();
    eframe::App::save(harness.state_mut(), &mut storage);
    let mut restarted = Harness::builder()
        .with_size([1600.0, 1000.0])
        .build_eframe(move |cc| TcpLadderApp::new(&cc.egui_ctx, Some(&storage), None));
    restarted.run_steps(2);
    // kittest imposes its own theme after building the app, so check the restored setting.
    assert!(!restarted.state().settings().dark, "the light theme was not restored");
    restarted.get_by_label("File").click();
    restarted.run_steps(2);
    restarted.get_by_label("Open recent").hover();
    restarted.run_steps(3);
    restarted.get_by_label_contains("half-close.pcap");
}

#[test]
fn a_live_capture_in_the_window_draws_the_connection_as_it_happens() {
    if !crate::live::permitted() {
        return;
    }
    let port = 18_900 + (std::process::id() % 90) as u16;
    let mut harness = open(None);
    harness.get_by_label("Capture").click();
    harness.run_steps(2);
    harness.get_by_label("Live capture…").click();
    harness.run_steps(2);
    harness.state_mut().live.filter = format!("tcp port {port}");
    let saved = std::env::temp_dir().join(format!("tcpladder-ui-live-{}.pcap", std::process::id()));
    harness.state_mut().live.save_path = saved.display().to_string();
    harness.run_steps(2);
    harness.get_by_label("filter OK");
    harness.get_by_label("Start").click();
    harness.run_steps(2);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !harness.state().with_document(|d| d.is_some_and(|d| d.path.to_string_lossy().starts_with("live capture on")))
    {
        assert!(Instant::now() < deadline, "the capture did not start: {:?}", harness.state().live.error);
        std::thread::sleep(Duration::from_millis(10));
        harness.step();
    }
    crate::live::drive(port);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !harness
        .state()
        .with_document(|d| d.is_some_and(|d| d.rows.first().is_some_and(|r| r.conn_state == "SF" && r.packets == 10)))
    {
        assert!(Instant::now() < deadline, "the connection did not appear");
        std::thread::sleep(Duration::from_millis(10));
        harness.step();
    }
    harness.run_steps(3);
    harness.get_by_label("client state TIME_WAIT");
    // The kernel beside the wire: the client's socket waits in TIME_WAIT, the server's is freed.
    let kernel = "The kernel now: client TIME_WAIT, server closed and freed";
    let deadline = Instant::now() + Duration::from_secs(10);
    // Above the ladder and again in Details.
    while harness.query_all_by_label_contains(kernel).count() < 2 {
        assert!(Instant::now() < deadline, "the kernel's states never showed beside the wire's");
        std::thread::sleep(Duration::from_millis(20));
        harness.step();
    }
    assert_eq!(harness.query_all_by_label_contains("agrees with the wire").count(), 2);
    // A live capture keeps its newest frames' bytes: Details shows the real headers.
    harness.key_press(egui::Key::Home);
    harness.run_steps(3);
    harness.get_by_label_contains("TCP header (");
    assert!(harness.query_by_label_contains("No frame bytes").is_none());
    // Following the newest means new connections too: the second one is shown as it opens.
    harness.state_mut().live.follow = true;
    crate::live::drive(port);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !harness.state().with_document(|d| d.is_some_and(|d| d.rows.len() == 2)) {
        assert!(Instant::now() < deadline, "the second connection did not appear");
        std::thread::sleep(Duration::from_millis(10));
        harness.step();
    }
    harness.run_steps(3);
    let (selected, newest) = harness
        .state()
        .with_document(|d| d.map(|d| (d.selected_conn, d.rows.last().map(|r| r.id))))
        .unwrap_or_default();
    assert_eq!(selected, newest, "follow newest stayed on the first connection");
    // Its streams are followed from the frames kept in memory: no file needed.
    harness.state_mut().show_conversation = true;
    harness.run_steps(3);
    harness.get_by_label_contains("client → server · 5 bytes at offset 0");
    harness.get_by_label_contains("server → client · 5 bytes at offset 0");
    harness.get_by_label("Stop").click();
    let deadline = Instant::now() + Duration::from_secs(10);
    while harness.state().live.running() {
        assert!(Instant::now() < deadline, "the capture did not stop");
        std::thread::sleep(Duration::from_millis(10));
        harness.step();
    }
    assert_eq!(harness.state().live.error, None);
    if let Ok(tshark) = std::process::Command::new("tshark").arg("-r").arg(&saved).output() {
        assert!(tshark.status.success(), "tshark cannot read the saved pcap");
        assert_eq!(String::from_utf8_lossy(&tshark.stdout).lines().count(), 20);
    }
    let _ = std::fs::remove_file(saved);
}

#[test]
fn a_long_connections_charts_are_computed_on_a_thread_while_the_window_draws() {
    let path = crate::util::temp_file("long-connection.pcap", &[]);
    crate::synth::bulk_transfer(60_000, &mut crate::synth::pcap_sink(&path));
    let file = path.clone();
    let mut harness = Harness::builder()
        .with_size([1600.0, 1000.0])
        .build_eframe(move |cc| TcpLadderApp::new(&cc.egui_ctx, None, Some(file)));
    let deadline = Instant::now() + Duration::from_secs(20);
    while harness.state().is_loading() {
        assert!(Instant::now() < deadline, "loading did not finish");
        std::thread::sleep(Duration::from_millis(5));
        harness.step();
    }
    // The frame that showed the connection handed its 120,007 segments' series to a thread.
    assert_eq!(harness.state().charts.computing_segments(), Some(120_007));
    harness.get_by_label_contains("Computing the charts of 120007 segments");
    let deadline = Instant::now() + Duration::from_secs(20);
    while harness.state().charts.computing_segments().is_some() {
        assert!(Instant::now() < deadline, "the series never came back");
        std::thread::sleep(Duration::from_millis(5));
        harness.step();
    }
    harness.run_steps(2);
    assert!(harness.query_by_label_contains("Computing the charts").is_none());
    let _ = std::fs::remove_file(path);
}

#[test]
fn charts_sit_under_the_ladder_and_switch() {
    let mut harness = open(Some(sample("zero-window.pcap")));
    harness.get_by_label("time-sequence");
    harness.get_by_label("states over the capture").click();
    harness.run_steps(3);
    assert_eq!(harness.state().charts.chart, tcpladder::analysis::chart::ChartKind::States);
    harness.get_by_label("RTT").click();
    harness.run_steps(3);
    assert_eq!(harness.state().charts.chart, tcpladder::analysis::chart::ChartKind::Rtt);
}

#[test]
fn the_export_menu_writes_the_ladder_beside_the_capture_without_a_dialog() {
    let dir = std::env::temp_dir().join(format!("tcpladder-ui-export-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let copy = dir.join("broken-pipe.pcap");
    std::fs::copy(sample("broken-pipe.pcap"), &copy).unwrap_or_else(|err| panic!("{err}"));
    let mut harness = open(Some(copy));
    harness.get_by_label("Export").click();
    harness.run_steps(2);
    harness.get_by_label("Ladder as SVG…").click();
    harness.run_steps(3);
    let saved = dir.join("broken-pipe-connection-0.svg");
    let svg = std::fs::read_to_string(&saved).unwrap_or_else(|err| panic!("{}: {err}", saved.display()));
    assert!(svg.starts_with("<svg") && svg.contains("EPIPE (broken pipe)"));
    harness.get_by_label_contains("Saved ");
    let _ = std::fs::remove_dir_all(dir);
}

/// Ctrl-clicks a table row near its left end (its centre may be scrolled out of the panel).
fn ctrl_click(harness: &mut Harness<'static, TcpLadderApp>, label: &str) {
    let pos = harness.get_by_label(label).rect().left_center() + egui::vec2(12.0, 0.0);
    harness.event(egui::Event::PointerMoved(pos));
    harness.event(egui::Event::ModifiersChanged(egui::Modifiers::COMMAND));
    for pressed in [true, false] {
        let button = egui::PointerButton::Primary;
        harness.event(egui::Event::PointerButton { pos, button, pressed, modifiers: egui::Modifiers::COMMAND });
    }
    harness.event(egui::Event::ModifiersChanged(egui::Modifiers::default()));
    harness.run_steps(2);
}

#[test]
fn marked_connections_and_the_chart_export_from_the_menu() {
    let dir = std::env::temp_dir().join(format!("tcpladder-ui-export-marked-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let copy = dir.join("accept-queue-full.pcap");
    std::fs::copy(sample("accept-queue-full.pcap"), &copy).unwrap_or_else(|err| panic!("{err}"));
    let mut harness = open(Some(copy));
    ctrl_click(&mut harness, "connection 0");
    ctrl_click(&mut harness, "connection 1");
    harness.get_by_label("2 marked");
    harness.get_by_label("Export").click();
    harness.run_steps(2);
    harness.get_by_label_contains("Packets of the marked connections as pcapng").click();
    harness.run_steps(3);
    let saved = dir.join("accept-queue-full-marked-connections.pcapng");
    let packets: u64 = harness.state().with_document(|d| d.map_or(0, |d| d.rows.iter().map(|r| r.packets).sum()));
    let reread = tcpladder(&["conns", "--json", saved.to_str().unwrap_or_default()]);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&reread.stdout).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(rows.len(), 2, "both marked connections");
    assert_eq!(rows.iter().filter_map(|r| r["packets"].as_u64()).sum::<u64>(), packets);

    harness.get_by_label("tcptrace").click();
    harness.run_steps(2);
    harness.get_by_label("Export").click();
    harness.run_steps(2);
    harness.get_by_label_contains("Chart as PNG").click();
    harness.run_steps(3);
    let selected = harness.state().with_document(|d| d.and_then(|d| d.selected_conn)).unwrap_or(0);
    let png =
        std::fs::read(dir.join(format!("accept-queue-full-connection-{selected}-tcptrace.png"))).unwrap_or_default();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG of the chart");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_damaged_capture_says_where_in_the_window_and_keeps_what_came_before() {
    let whole = std::fs::read(sample("close-wait.pcap")).unwrap_or_default();
    // Cut inside the fourth packet: three are whole.
    let mut offset = 24;
    for _ in 0..3 {
        let caplen = u32::from_le_bytes([whole[offset + 8], whole[offset + 9], whole[offset + 10], whole[offset + 11]]);
        offset += 16 + caplen as usize;
    }
    let path = std::env::temp_dir().join(format!("tcpladder-ui-cut-{}.pcap", std::process::id()));
    std::fs::write(&path, &whole[..offset + 20]).unwrap_or_else(|err| panic!("{err}"));
    let harness = open(Some(path.clone()));
    harness.get_by_label_contains(&format!("after packet 3 (at byte {offset})"));
    harness.get_by_label_contains("Everything before it is shown");
    assert_eq!(harness.state().with_document(|d| d.map(|d| d.engine.stats().packets)), Some(3));
    let _ = std::fs::remove_file(path);
}

#[test]
fn the_conversation_pane_shows_both_streams_and_a_click_selects_the_segment() {
    let mut harness = open(Some(sample("nginx-keepalive.pcap")));
    harness.key_press(egui::Key::C);
    // The bytes are read back from the file in the background.
    let deadline = Instant::now() + Duration::from_secs(10);
    while harness.query_by_label_contains("frame 8 · client → server").is_none() {
        assert!(Instant::now() < deadline, "the conversation never arrived");
        std::thread::sleep(Duration::from_millis(5));
        harness.step();
    }
    harness.get_by_label_contains("frame 8 · client → server · 86 bytes at offset 89 «GET /missing HTTP/1.1 · host");
    harness.get_by_label_contains("GET /missing HTTP/1.1\nHost: 127.0.0.1:18022\n");
    harness.get_by_label_contains("HTTP/1.1 404 Not Found\nServer: nginx");
    harness.get_by_label_contains("frame 4 · client → server").click();
    harness.run_steps(3);
    harness.get_by_label_contains("Segment 4 · frame 4");
    // Selecting a segment further down scrolls the pane to its bytes: frame 11's piece, out of
    // view before, can be clicked once the keys have selected it and moved on to an ACK.
    for _ in 0..9 {
        harness.key_press(egui::Key::J);
        harness.run_steps(1);
    }
    harness.run_steps(3);
    harness.get_by_label_contains("Segment 13 · frame 13");
    harness.get_by_label_contains("frame 11 · server → client").click();
    harness.run_steps(3);
    harness.get_by_label_contains("Segment 11 · frame 11");
    harness.get_by_label("hex").click();
    harness.run_steps(2);
    harness.get_by_label_contains("00000000  47 45 54 20 2f 69 6e 64 65 78 2e 68 74 6d 6c 20  GET /index.html ");
}
