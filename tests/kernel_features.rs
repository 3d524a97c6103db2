//! The kernel's features, recorded by `sample-captures/record_loss.py` with each sysctl set in a
//! namespace of its own (states kernel-checked in `loss.rs`): flags, the data on a Fast Open SYN,
//! and what the diagnoses say.

use serde_json::Value;

use crate::util::{conns, packets, sample, tcpladder};

fn codes(row: &Value) -> Vec<String> {
    row["diagnoses"]
        .as_array()
        .map_or(Vec::new(), |d| d.iter().filter_map(|f| f["code"].as_str().map(String::from)).collect())
}

fn text_of<'a>(row: &'a Value, code: &str) -> &'a str {
    row["diagnoses"]
        .as_array()
        .and_then(|d| d.iter().find(|f| f["code"] == code))
        .and_then(|f| f["text"].as_str())
        .unwrap_or_else(|| panic!("no {code} in {row}"))
}

#[test]
fn ecn_is_negotiated_and_echoed_in_tcpdumps_letters() {
    let segments = packets("ecn.pcap");
    let flags: Vec<&str> = segments.iter().filter_map(|s| s["flags"].as_str()).collect();
    assert_eq!(&flags[..2], ["SEW", "S.E"], "ECN setup: SYN with ECE and CWR, SYN-ACK with ECE");
    // Congestion Experienced marks come back as ECE; the sender answers with CWR.
    assert!(flags.contains(&".E") && flags.contains(&".W"), "{flags:?}");
    let rows = conns("ecn.pcap");
    assert_eq!(codes(&rows[0]), ["graceful_close", "time_wait"]);
}

#[test]
fn fast_open_data_rides_on_the_syn_and_its_request_is_found() {
    let segments = packets("fast-open.pcap");
    let syns: Vec<&Value> = segments.iter().filter(|s| s["flags"] == "S").collect();
    // The first connection only asks for a cookie; the second sends its request inside the SYN.
    assert_eq!(syns[0]["len"], 0);
    assert_eq!(
        (syns[1]["seq"].as_u64(), syns[1]["len"].as_u64(), syns[1]["next_seq"].as_u64()),
        (Some(0), Some(35), Some(36))
    );
    let synack = segments.iter().find(|s| s["conn"] == syns[1]["conn"] && s["flags"] == "S.").expect("SYN-ACK");
    assert_eq!(synack["ack"], 36, "the SYN-ACK acknowledges the SYN and its data");
    let path = sample("fast-open.pcap");
    let output = tcpladder(&["requests", "--json", path.to_str().unwrap_or_default()]);
    let requests: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a requests JSON line"))
        .collect();
    let second = requests.iter().find(|r| r["conn"] == syns[1]["conn"]).expect("the Fast Open request");
    assert_eq!(second["request_frame"], syns[1]["frame"], "{second}");
    assert_eq!((second["method"].as_str(), second["target"].as_str()), (Some("GET"), Some("/")), "{second}");
    for row in conns("fast-open.pcap") {
        assert_eq!((row["client_state"].as_str(), row["server_state"].as_str()), (Some("TIME_WAIT"), Some("CLOSED")));
    }
}

#[test]
fn syn_cookies_change_nothing_a_capture_shows() {
    let rows = conns("syn-cookies.pcap");
    assert_eq!(rows.len(), 1);
    assert_eq!(codes(&rows[0]), ["graceful_close", "time_wait"]);
}

#[test]
fn abort_on_overflow_resets_a_connection_the_server_never_had() {
    let rows = conns("abort-on-overflow.pcap");
    let reset = rows.iter().find(|r| r["bytes_c2s"] == 8).expect("the client whose request drew the RST");
    let text = text_of(reset, "reset_by_peer");
    assert!(text.contains("tcp_abort_on_overflow = 1") && text.contains("never made a socket"), "{text}");
    assert_eq!(reset["server_state"], "CLOSED");
    let segments = packets("abort-on-overflow.pcap");
    let server_states: Vec<&str> =
        segments.iter().filter(|s| s["conn"] == reset["id"]).filter_map(|s| s["server_state"].as_str()).collect();
    assert!(!server_states.contains(&"ESTABLISHED"), "the request socket never became a connection: {server_states:?}");
}

#[test]
fn a_server_out_of_descriptors_leaves_its_clients_in_the_accept_queue() {
    let rows = conns("emfile-accept-queue.pcap");
    let waiting: Vec<&Value> = rows.iter().filter(|r| codes(r).contains(&"accept_backlog".to_string())).collect();
    assert_eq!(waiting.len(), 3, "the one accepted connection was served; three waited");
    let text = text_of(waiting[0], "accept_backlog");
    assert!(text.contains("EMFILE") && text.contains("ss -ltn") && text.contains("held 3 such connections"), "{text}");
    let served = rows.iter().find(|r| !codes(r).contains(&"accept_backlog".to_string())).expect("served");
    assert!(served["bytes_s2c"].as_u64() > Some(0));
}

#[test]
fn the_listener_side_of_an_unanswered_syn_has_no_socket() {
    let rows = conns("accept-queue-full.pcap");
    let unanswered = rows.iter().find(|r| r["conn_state"] == "S0").expect("the connection whose SYNs were dropped");
    assert_eq!(
        (unanswered["client_state"].as_str(), unanswered["server_state"].as_str()),
        (Some("SYN_SENT"), Some("CLOSED"))
    );
    let path = sample("accept-queue-full.pcap");
    let id = unanswered["id"].to_string();
    let output = tcpladder(&["ladder", path.to_str().unwrap_or_default(), "--conn", &id]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("CLOSED (no socket: SYN not answered)"), "{text}");
}
