//! The This machine view driven with egui_kittest: sockets this test puts in known states on
//! loopback (a CLOSE_WAIT it leaves open, a listener whose accept queue it fills) are found in
//! the view, in words, with this process named as their holder.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use tcpladder::ui::TcpLadderApp;

/// A listener with backlog 1 and two connections it never accepts: its queue is full (2 of 1).
fn full_listener() -> (socket2::Socket, Vec<TcpStream>, SocketAddr) {
    let listener = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("a socket");
    let any: SocketAddr = "127.0.0.1:0".parse().expect("an address");
    listener.bind(&any.into()).expect("bind");
    listener.listen(1).expect("listen");
    let address = listener.local_addr().expect("its address").as_socket().expect("an inet address");
    let clients = (0..2).map(|_| TcpStream::connect(address).expect("connect")).collect();
    (listener, clients, address)
}

fn wait_for(harness: &mut Harness<'static, TcpLadderApp>, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while harness.query_all_by_label_contains(text).next().is_none() {
        assert!(Instant::now() < deadline, "the view never showed {text:?}");
        std::thread::sleep(Duration::from_millis(50));
        harness.step();
    }
}

#[test]
fn the_machine_view_names_the_process_holding_close_wait_and_the_full_queue() {
    let server = TcpListener::bind("127.0.0.1:0").expect("a listener");
    let port = server.local_addr().expect("its address").port();
    let client = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let (held, _) = server.accept().expect("accept");
    drop(client);
    let (_full, _queued, full_address) = full_listener();

    let mut harness =
        Harness::builder().with_size([1280.0, 720.0]).build_eframe(|cc| TcpLadderApp::new(&cc.egui_ctx, None, None));
    harness.run_steps(3);
    harness.get_by_label("This machine").click();
    harness.run_steps(2);
    assert!(harness.state().show_machine);
    wait_for(&mut harness, &format!("holds 1 CLOSE_WAIT socket on local port {port}"));
    wait_for(&mut harness, &format!("pid {})", std::process::id()));
    wait_for(&mut harness, &format!("Port {}: the accept queue is full (2 of 1)", full_address.port()));
    wait_for(&mut harness, "2 of 1: full");
    harness.get_by_label_contains("Sockets by state");

    // The same button goes back to the ladder, and the watch stops with the view.
    harness.get_by_label("This machine").click();
    harness.run_steps(2);
    assert!(!harness.state().show_machine);
    harness.get_by_label_contains("frame 1: [S] seq 0");
    drop(held);
}
