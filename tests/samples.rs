//! Every sample capture, recorded from the real kernel by `sample-captures/record.py`, read by the
//! CLI: the states tcpladder infers must be the ones the kernel reported for the same sockets
//! (`NAME.kernel.txt`: tracepoint sock/inet_sock_set_state and `ss -tan` at the end), and the
//! connection summary and diagnoses must say what happened.

use serde_json::Value;

use crate::util::{conns, packets, sample, tcpladder};

/// What the kernel recorded for one scenario.
struct Kernel {
    /// (sport, dport, old, new) with the kernel's state names.
    events: Vec<(String, String, String, String)>,
    /// (state, local address, peer address) from `ss -tan`.
    sockets: Vec<(String, String, String)>,
}

fn kernel(name: &str) -> Kernel {
    // A missing or empty oracle fails: a comparison that silently compares nothing proves nothing.
    let path = sample(&format!("{name}.kernel.txt"));
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("the kernel record {}: {err}", path.display()));
    let mut record = Kernel { events: Vec::new(), sockets: Vec::new() };
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            ["event", sport, dport, old, new] => {
                record.events.push((sport.to_string(), dport.to_string(), old.to_string(), new.to_string()));
            }
            ["ss", state, local, peer] => record.sockets.push((state.to_string(), local.to_string(), peer.to_string())),
            _ => {}
        }
    }
    assert!(!record.events.is_empty(), "{}: the kernel record holds no state changes", path.display());
    record
}

fn kernel_name(state: &str) -> &'static str {
    match state {
        "TCP_ESTABLISHED" | "ESTAB" => "ESTABLISHED",
        "TCP_SYN_SENT" | "SYN-SENT" => "SYN_SENT",
        "TCP_SYN_RECV" | "SYN-RECV" => "SYN_RECEIVED",
        "TCP_FIN_WAIT1" | "FIN-WAIT-1" => "FIN_WAIT_1",
        "TCP_FIN_WAIT2" | "FIN-WAIT-2" => "FIN_WAIT_2",
        "TCP_TIME_WAIT" | "TIME-WAIT" => "TIME_WAIT",
        "TCP_CLOSE" => "CLOSED",
        "TCP_CLOSE_WAIT" | "CLOSE-WAIT" => "CLOSE_WAIT",
        "TCP_LAST_ACK" | "LAST-ACK" => "LAST_ACK",
        "TCP_LISTEN" | "LISTEN" => "LISTEN",
        "TCP_CLOSING" | "CLOSING" => "CLOSING",
        _ => "?",
    }
}

fn port(addr: &str) -> &str {
    addr.rsplit(':').next().unwrap_or_default()
}

impl Kernel {
    /// The socket's state at the end of the capture: what `ss` showed, or CLOSED when it was gone.
    fn final_state(&self, local: &str, peer: &str) -> &'static str {
        self.sockets
            .iter()
            .find(|(_, l, p)| l.ends_with(&format!(":{}", port(local))) && p.ends_with(&format!(":{}", port(peer))))
            .map_or("CLOSED", |(state, _, _)| kernel_name(state))
    }

    /// The socket's states in order, as the kernel changed them.
    fn sequence(&self, local: &str, peer: &str) -> Vec<&'static str> {
        let mut states = Vec::new();
        for (sport, dport, old, new) in &self.events {
            // close() after shutdown(SHUT_WR) reports FIN_WAIT1 → FIN_WAIT1 (tcp_close_state maps
            // a state to itself): no change of state, as nghttp's close shows.
            if sport != port(local) || dport != port(peer) || old == new {
                continue;
            }
            if states.is_empty() && old == "TCP_SYN_SENT" {
                states.push("SYN_SENT");
            }
            states.push(kernel_name(new));
        }
        // TIME_WAIT, and FIN_WAIT_2 of an orphaned socket, live on in a timewait socket that `ss`
        // shows while the full socket's last event is a change to CLOSE.
        let final_state = self.final_state(local, peer);
        if final_state != "CLOSED" && states.last() == Some(&"CLOSED") {
            states.pop();
            if states.last() != Some(&final_state) {
                states.push(final_state);
            }
        }
        states
    }
}

/// The states one side of a connection went through, from the per-segment states.
fn inferred_sequence(segments: &[Value], conn: u64, side: &str) -> Vec<String> {
    let mut states: Vec<String> = Vec::new();
    for segment in segments.iter().filter(|s| s["conn"].as_u64() == Some(conn)) {
        for key in [format!("{side}_via"), format!("{side}_state")] {
            if let Some(state) = segment[key.as_str()].as_str() {
                if states.last().map(String::as_str) != Some(state) {
                    states.push(state.to_string());
                }
            }
        }
    }
    let first_real = states.iter().position(|s| s != "UNKNOWN" && s != "LISTEN").unwrap_or(states.len());
    states.drain(..first_real);
    states
}

/// Checks every connection of a sample against the kernel; returns the connections.
pub(crate) fn check_against_kernel(name: &str) -> Vec<Value> {
    let file = format!("{name}.pcap");
    let rows = conns(&file);
    let segments = packets(&file);
    let record = kernel(name);
    assert!(!rows.is_empty(), "{name}: no connections");
    for row in &rows {
        let (client, server) = (row["client"].as_str().unwrap_or(""), row["server"].as_str().unwrap_or(""));
        let id = row["id"].as_u64().unwrap_or(u64::MAX);
        for (side, local, peer) in [("client", client, server), ("server", server, client)] {
            let ours = row[format!("{side}_state").as_str()].as_str().unwrap_or("");
            let theirs = record.final_state(local, peer);
            // A side that never sent a segment leaves no socket for the kernel to report.
            if ours != "UNKNOWN" {
                assert_eq!(ours, theirs, "{name} conn {id}: {side} final state");
            }
            let kernel_sequence = record.sequence(local, peer);
            if !kernel_sequence.is_empty() {
                assert_eq!(
                    inferred_sequence(&segments, id, side),
                    kernel_sequence,
                    "{name} conn {id}: {side} state sequence"
                );
            }
        }
    }
    rows
}

fn codes(row: &Value) -> Vec<(String, String)> {
    row["diagnoses"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|d| (d["code"].as_str().unwrap_or("").to_string(), d["side"].as_str().unwrap_or("-").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn has(row: &Value, code: &str, side: &str) -> bool {
    codes(row).iter().any(|(c, s)| c == code && s == side)
}

fn only(name: &str) -> Value {
    let rows = check_against_kernel(name);
    assert_eq!(rows.len(), 1, "{name}: one connection expected");
    rows.into_iter().next().unwrap_or_default()
}

#[test]
fn handshake_with_data_and_client_first_close() {
    for name in ["handshake-client-close", "handshake-sll2", "handshake-bsd-null", "ipv6-handshake"] {
        let row = only(name);
        assert_eq!(row["conn_state"], "SF", "{name}");
        assert_eq!(row["client_state"], "TIME_WAIT", "{name}");
        assert_eq!(row["server_state"], "CLOSED", "{name}");
        assert!(has(&row, "graceful_close", "client"), "{name}: {:?}", codes(&row));
        assert!(has(&row, "time_wait", "client"), "{name}");
    }
    assert!(only("ipv6-handshake")["client"].as_str().is_some_and(|c| c.starts_with("[::1]:")));
}

#[test]
fn handshake_states_and_numbers_match_tshark() {
    // tshark -r sample-captures/handshake-client-close.pcap: SYN seq 0, SYN-ACK seq 0 ack 1,
    // ACK seq 1 ack 1, data seq 1 len 18, the client's window scaled by 2^10 after the SYN.
    let segments = packets("handshake-client-close.pcap");
    let first = &segments[..3];
    assert_eq!(first[0]["flags"], "S");
    assert_eq!(first[0]["seq"], 0);
    assert_eq!(first[0]["client_state"], "SYN_SENT");
    assert_eq!(first[0]["server_state"], "LISTEN");
    assert!(first[0]["options"]
        .as_str()
        .is_some_and(|o| o.starts_with("mss 65495,sackOK,TS val ") && o.ends_with(",nop,wscale 10")));
    assert_eq!(first[1]["flags"], "S.");
    assert_eq!(first[1]["ack"], 1);
    assert_eq!(first[1]["client_state"], "ESTABLISHED");
    assert_eq!(first[1]["server_state"], "SYN_RECEIVED");
    assert_eq!(first[2]["server_state"], "ESTABLISHED");
    assert_eq!(first[2]["win_scaled"].as_u64(), first[2]["win"].as_u64().map(|w| w << 10));
    let data = &segments[3];
    assert_eq!(data["flags"], "P.");
    assert_eq!((data["seq"].as_u64(), data["len"].as_u64()), (Some(1), Some(18)));
}

#[test]
fn server_first_close() {
    let row = only("server-close-first");
    assert_eq!((row["client_state"].as_str(), row["server_state"].as_str()), (Some("CLOSED"), Some("TIME_WAIT")));
    assert!(has(&row, "graceful_close", "server"));
}

#[test]
fn simultaneous_close_goes_through_closing_on_both_sides() {
    let row = only("simultaneous-close");
    assert_eq!((row["client_state"].as_str(), row["server_state"].as_str()), (Some("TIME_WAIT"), Some("TIME_WAIT")));
    let text = row["diagnoses"].to_string();
    assert!(text.contains("simultaneous close"), "{text}");
}

#[test]
fn close_with_unread_data_resets() {
    let row = only("unread-data-reset");
    assert_eq!(row["conn_state"], "RSTR");
    assert!(has(&row, "reset_by_peer", "client"), "{:?}", codes(&row));
    assert!(row["diagnoses"].to_string().contains("not read"));
}

#[test]
fn write_after_peer_closed_is_a_broken_pipe() {
    let row = only("broken-pipe");
    assert!(has(&row, "broken_pipe", "client"), "{:?}", codes(&row));
    assert!(row["diagnoses"].to_string().contains("EPIPE"));
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    let row = only("refused");
    assert_eq!(row["conn_state"], "REJ");
    assert_eq!(row["history"], "Sr");
    assert!(has(&row, "refused", "client"));
    assert!(row["diagnoses"].to_string().contains("ECONNREFUSED"));
}

#[test]
fn so_linger_zero_is_an_abortive_close() {
    let row = only("linger-zero-abort");
    assert_eq!(row["conn_state"], "RSTO");
    assert!(has(&row, "reset_by_peer", "server"), "{:?}", codes(&row));
    assert!(row["diagnoses"].to_string().contains("SO_LINGER"));
}

#[test]
fn half_close_keeps_receiving() {
    let row = only("half-close");
    assert!(has(&row, "half_close", "client"), "{:?}", codes(&row));
    assert!(row["bytes_s2c"].as_u64().is_some_and(|b| b > 0));
}

#[test]
fn a_server_that_never_closes_is_stuck_in_close_wait() {
    let row = only("close-wait");
    assert_eq!((row["client_state"].as_str(), row["server_state"].as_str()), (Some("FIN_WAIT_2"), Some("CLOSE_WAIT")));
    assert!(has(&row, "close_wait", "server"));
}

#[test]
fn a_receiver_that_stops_reading_advertises_a_zero_window() {
    let row = only("zero-window");
    assert!(has(&row, "zero_window", "server"), "{:?}", codes(&row));
    assert!(!codes(&row).iter().any(|(c, _)| c == "keep_alive"), "zero-window probes are not keep-alives");
}

#[test]
fn a_full_accept_queue_makes_the_client_retransmit_its_syn() {
    let rows = check_against_kernel("accept-queue-full");
    let stuck: Vec<&Value> = rows.iter().filter(|r| has(r, "syn_retransmit", "client")).collect();
    assert_eq!(stuck.len(), 1, "{rows:?}");
    assert_eq!(stuck[0]["conn_state"], "S0");
    assert_eq!(stuck[0]["client_state"], "SYN_SENT");
}

#[test]
fn keep_alive_probes_are_found() {
    let row = only("keep-alive");
    assert!(has(&row, "keep_alive", "client"), "{:?}", codes(&row));
}

#[test]
fn the_text_ladder_shows_both_lifelines_and_state_changes() {
    let path = sample("simultaneous-close.pcap");
    let output = tcpladder(&["ladder", path.to_str().unwrap_or_default(), "--conn", "0"]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(text.contains("client 127.0.0.1:") && text.contains("server 127.0.0.1:18003"), "{text}");
    let ladder: String = text.lines().filter(|line| line.contains('|')).collect();
    assert_eq!(ladder.matches("CLOSING").count(), 2, "{text}");
    assert!(text.contains("|- [S] seq 0"), "{text}");
}

#[test]
fn close_wait_piles_up_on_a_server_that_never_closes() {
    let rows = check_against_kernel("close-wait-pileup");
    assert_eq!(rows.len(), 20);
    for row in &rows {
        assert_eq!(
            (row["client_state"].as_str(), row["server_state"].as_str()),
            (Some("FIN_WAIT_2"), Some("CLOSE_WAIT"))
        );
        assert!(has(row, "close_wait", "server"), "{:?}", codes(row));
    }
    // The states chart shows the pile-up: one more CLOSE_WAIT about every 100 ms, 20 at the end.
    let path = sample("close-wait-pileup.pcap");
    let outcome = tcpladder::session::read_capture(&path, tcpladder::EngineConfig::default(), 1 << 20, |_, _| {
        std::ops::ControlFlow::Continue(())
    })
    .unwrap_or_else(|err| panic!("{err}"));
    let engine = outcome.engine;
    let start = engine.stats().first_ts_nanos.unwrap_or(0);
    let states = tcpladder::analysis::series::states_over_time(engine.connections(), start, engine.capture_end_nanos());
    let close_wait = &states[&tcpladder::tcp::TcpState::CloseWait];
    let first_time_at = |count: f64| close_wait.iter().find(|p| p[1] >= count).map(|p| p[0]);
    let (first, tenth, last) = (first_time_at(1.0), first_time_at(10.0), first_time_at(20.0));
    assert!(first.is_some_and(|t| t < 0.1), "{first:?}");
    assert!(tenth.is_some_and(|t| (0.8..1.5).contains(&t)), "{tenth:?}");
    assert!(last.is_some_and(|t| t > 1.8), "{last:?}");
    assert_eq!(close_wait.last().map(|p| p[1]), Some(20.0), "still 20 at the end of the capture");
    let svg = tcpladder(&["chart", path.to_str().unwrap_or_default(), "--kind", "states"]);
    assert!(String::from_utf8_lossy(&svg.stdout).contains(">CLOSE_WAIT</text>"));
}

#[test]
fn a_client_whose_timeout_fires_first_abandons_its_request_and_the_server_writes_into_a_closed_socket() {
    let row = only("client-timeout");
    assert!(has(&row, "request_abandoned", "client"), "{:?}", codes(&row));
    assert!(has(&row, "broken_pipe", "server"), "the late answer draws a RST: {:?}", codes(&row));
    let text = row["diagnoses"].to_string();
    assert!(text.contains("`GET /slow`") && text.contains("about 1 s") && text.contains("EPIPE"), "{text}");
}

#[test]
fn a_request_on_a_keep_alive_connection_the_server_closed_draws_a_reset() {
    let row = only("keepalive-race");
    assert!(has(&row, "stale_keepalive", "client"), "{:?}", codes(&row));
    let text = row["diagnoses"].to_string();
    assert!(text.contains("`GET /second`") && text.contains("idle for 1.00 s"), "{text}");
    assert!(!has(&row, "request_abandoned", "client"), "the server reset it: {:?}", codes(&row));
}

#[test]
fn a_tls_handshake_names_the_server_and_the_protocols() {
    let row = only("tls-handshake");
    assert!(!has(&row, "tls_alert", "server") && !has(&row, "tls_alert", "client"), "{:?}", codes(&row));
    let packets = crate::util::packets("tls-handshake.pcap");
    let apps: Vec<&str> = packets.iter().filter_map(|p| p["app"].as_str()).collect();
    assert_eq!(apps.first().copied(), Some("ClientHello · SNI api.local · ALPN h2,http/1.1"), "{apps:?}");
    assert!(apps.get(1).is_some_and(|a| a.starts_with("ServerHello · TLS 1.3")), "{apps:?}");
    assert!(apps.iter().skip(2).all(|a| a.starts_with("encrypted")), "after the hellos, only counts: {apps:?}");
}

#[test]
fn a_fatal_tls_alert_in_the_clear_is_a_finding() {
    let row = only("tls-alert");
    assert!(has(&row, "tls_alert", "server"), "{:?}", codes(&row));
    assert!(row["diagnoses"].to_string().contains("`fatal protocol_version`"));
}

#[test]
fn a_reset_names_the_request_in_flight() {
    let row = only("keepalive-race");
    let text = row["diagnoses"].to_string();
    assert!(text.contains("The request in flight was `GET /second` (frame 10)"), "{text}");
}

#[test]
fn a_redis_session_is_kernel_checked_and_closes_gracefully() {
    let row = only("redis");
    assert!(has(&row, "graceful_close", "client"), "{:?}", codes(&row));
}

#[test]
fn one_response_far_slower_than_the_others_is_named() {
    let row = only("slow-response");
    assert!(has(&row, "slow_response", "server"), "{:?}", codes(&row));
    let text = row["diagnoses"].to_string();
    assert!(text.contains("to answer `GET /report` (frame 10)") && text.contains("median of 6 responses"), "{text}");
    // Waits alike are no finding: the redis session's seven, the keep-alive race's one.
    for name in ["redis", "keepalive-race", "close-wait-pileup"] {
        for row in conns(&format!("{name}.pcap")) {
            assert!(!codes(&row).iter().any(|(code, _)| code == "slow_response"), "{name}: {:?}", codes(&row));
        }
    }
}

#[test]
fn nginx_answers_an_oversized_upload_early_and_resets_its_stream_with_no_error() {
    // nghttp POSTs 300 KB; nginx (client_max_body_size 1k) answers 413, then RST_STREAM NO_ERROR.
    let row = only("http2-rst-stream");
    assert!(has(&row, "http2_rst_stream", "server"), "{:?}", codes(&row));
    let reset = row["diagnoses"]
        .as_array()
        .and_then(|list| list.iter().find(|d| d["code"] == "http2_rst_stream"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(reset["frame"], 15, "{reset}");
    let text = reset["text"].as_str().unwrap_or_default();
    assert!(text.contains("stream 13") && text.contains("NO_ERROR") && text.contains("POST /index.html"), "{text}");
    assert!(text.contains("already answered") && text.contains("stops sending"), "{text}");
    // The client's GOAWAY NO_ERROR that follows is a graceful end, no finding.
    assert!(!has(&row, "http2_goaway", "client") && !has(&row, "http2_goaway", "server"), "{:?}", codes(&row));
}

#[test]
fn programs_of_the_field_close_gracefully_kernel_checked() {
    // nginx and curl (HTTP/1.1 keep-alive), nginx and nghttp (HTTP/2), dnsmasq and dig (DNS).
    for name in ["nginx-keepalive", "http2-cleartext", "dns-tcp"] {
        let row = only(name);
        let codes = codes(&row);
        assert!(has(&row, "graceful_close", "client"), "{name}: {codes:?}");
        let unexpected: Vec<_> =
            codes.iter().filter(|(code, _)| !matches!(code.as_str(), "graceful_close" | "time_wait")).collect();
        assert!(unexpected.is_empty(), "{name}: {unexpected:?}");
    }
}
