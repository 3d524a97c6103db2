//! The kernel beside the wire, when they disagree, in the window during a live capture: inside a
//! network namespace made for the test, a firewall rule drops the server's FIN after the capture
//! point (tcpdump and libpcap see a packet before the input hook drops it), so the wire says the
//! client got the FIN (CLOSE_WAIT) while the client's kernel never did (ESTABLISHED). The window
//! must show the disagreement, count it, and say in Details which it likely is. Needs root (for
//! `ip netns` and `nft`); skipped without it unless TCPLADDER_REQUIRE_LIVE is set, as in CI.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::{Duration, Instant};

use egui_kittest::kittest::{NodeT, Queryable};
use egui_kittest::Harness;
use tcpladder::ui::TcpLadderApp;

/// A namespace of the test's own, deleted however the test ends.
struct Namespace(String);

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn run(program: &str, args: &[&str]) {
    let status = Command::new(program).args(args).status().unwrap_or_else(|err| panic!("{program}: {err}"));
    assert!(status.success(), "{program} {args:?}");
}

/// Makes a namespace with loopback up and the server's FINs to `port`'s clients dropped on input,
/// and moves this thread (and every thread it starts from now on) into it.
fn enter_namespace_dropping_fins(port: u16) -> Option<Namespace> {
    if !crate::util::root_with_tools(&["ip", "nft"]) || !crate::live::permitted() {
        return None;
    }
    let namespace = Namespace(format!("tlkernel{}", std::process::id()));
    run("ip", &["netns", "add", &namespace.0]);
    run("ip", &["-n", &namespace.0, "link", "set", "lo", "up"]);
    let rules = format!(
        "add table inet tlkernel\n\
         add chain inet tlkernel input {{ type filter hook input priority 0; }}\n\
         add rule inet tlkernel input tcp sport {port} tcp flags & fin == fin drop\n"
    );
    let nft = Command::new("ip")
        .args(["netns", "exec", &namespace.0, "nft", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut nft| {
            nft.stdin.take().map(|mut stdin| stdin.write_all(rules.as_bytes()));
            nft.wait()
        })
        .expect("nft runs");
    assert!(nft.success(), "nft refused {rules}");
    let file = std::fs::File::open(format!("/run/netns/{}", namespace.0)).expect("the namespace's file");
    // SAFETY: setns(2) on a descriptor this function holds open; it changes only the network
    // namespace of the calling thread, which is this test's own.
    let entered = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(entered, 0, "setns: {}", std::io::Error::last_os_error());
    Some(namespace)
}

fn step_until(harness: &mut Harness<'static, TcpLadderApp>, what: &str, done: impl Fn(&Harness<TcpLadderApp>) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !done(harness) {
        assert!(Instant::now() < deadline, "{what}: {:?}", harness.state().live.error);
        std::thread::sleep(Duration::from_millis(20));
        harness.step();
    }
}

#[test]
fn a_segment_dropped_after_the_capture_point_shows_as_a_disagreement_with_its_likely_cause() {
    let port = 19_400 + (std::process::id() % 90) as u16;
    let Some(_namespace) = enter_namespace_dropping_fins(port) else { return };
    let mut harness = Harness::builder()
        .with_size([1600.0, 1000.0])
        .build_eframe(move |cc| TcpLadderApp::new(&cc.egui_ctx, None, None));
    step_until(&mut harness, "the bundled sample did not load", |h| !h.state().is_loading());
    harness.get_by_label("Capture").click();
    harness.run_steps(2);
    harness.get_by_label("Live capture…").click();
    harness.run_steps(2);
    harness.state_mut().live.filter = format!("tcp port {port}");
    harness.state_mut().live.save_path.clear();
    harness.run_steps(2);
    harness.get_by_label("Start").click();
    harness.run_steps(2);
    step_until(&mut harness, "the capture did not start", |h| {
        h.state().with_document(|d| d.is_some_and(|d| d.path.to_string_lossy().starts_with("live capture on")))
    });

    let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind");
    let mut client = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let (mut server, _) = listener.accept().expect("accept");
    client.write_all(b"hello").expect("the request");
    let mut buffer = [0u8; 16];
    let _ = server.read(&mut buffer);
    // The server closes; its FIN is on the wire but never reaches the client's socket.
    drop(server);

    step_until(&mut harness, "the wire never showed the client in CLOSE_WAIT", |h| {
        h.state()
            .with_document(|d| d.is_some_and(|d| d.rows.first().is_some_and(|r| r.client_state.name() == "CLOSE_WAIT")))
    });
    let reason = "The client disagrees: the kernel is still in ESTABLISHED though the wire shows CLOSE_WAIT";
    step_until(&mut harness, "the disagreement was never shown", |h| {
        h.query_all_by_label_contains(reason).next().is_some()
    });
    // Once above the ladder and once in Details, with the likely cause in words.
    let shown: Vec<String> = harness
        .query_all_by_label_contains(reason)
        .filter_map(|node| node.accesskit_node().label().or_else(|| node.accesskit_node().value()))
        .collect();
    let around: Vec<String> = harness
        .query_all_by_label_contains("disagree")
        .filter_map(|node| node.accesskit_node().label().or_else(|| node.accesskit_node().value()))
        .collect();
    assert_eq!(shown.len(), 2, "{shown:?} among {around:?}");
    assert!(shown.iter().all(|text| text.contains("a segment dropped after the capture point")), "{shown:?}");
    assert!(harness.query_all_by_label_contains("1 disagree (1 ever)").next().is_some(), "not counted");
    // The kernel's state beside the inferred pill at the end of the client's lifeline.
    assert!(harness.query_by_label("kernel: ESTABLISHED").is_some(), "no kernel pill on the ladder");
    drop(client);
}
