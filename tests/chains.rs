//! A proxy chain recorded from the real kernel (`sample-captures/record_chain.py`: curl → nginx
//! → a Python backend on loopback): the chain tcpladder finds must be the one nginx's own access
//! log records, the states the kernel's, and the chain's diagnosis must say who gave up first.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::samples::check_against_kernel;
use crate::util::{sample, tcpladder};

/// nginx's access log: (nginx's connection number, the client's address, request, status,
/// upstream address).
fn access_log() -> Vec<(String, String, String, String, String)> {
    let text = std::fs::read_to_string(sample("proxy-chain.nginx-access.log"))
        .unwrap_or_else(|err| panic!("the nginx access log: {err}"));
    let lines: Vec<_> = text
        .lines()
        .map(|line| {
            let (head, rest) = line.split_once(" \"").unwrap_or_else(|| panic!("access log line {line}"));
            let (request, tail) = rest.split_once("\" ").unwrap_or_else(|| panic!("access log line {line}"));
            let head: Vec<&str> = head.split_whitespace().collect();
            let tail: Vec<&str> = tail.split_whitespace().collect();
            (head[0].into(), head[1].into(), request.into(), tail[0].into(), tail[1].into())
        })
        .collect();
    assert_eq!(lines.len(), 3, "{text}");
    lines
}

#[test]
fn the_chain_found_is_the_one_nginx_logged() {
    let rows = check_against_kernel("proxy-chain");
    let by_client: BTreeMap<&str, &Value> = rows.iter().map(|r| (r["client"].as_str().unwrap_or(""), r)).collect();
    let by_id: BTreeMap<u64, &Value> = rows.iter().map(|r| (r["id"].as_u64().unwrap_or(u64::MAX), r)).collect();
    let mut nginx_connections: BTreeMap<String, u64> = BTreeMap::new();
    for (connection, client, request, status, upstream) in access_log() {
        let row = by_client.get(client.as_str()).unwrap_or_else(|| panic!("no connection from {client}"));
        let id = row["id"].as_u64().unwrap_or(u64::MAX);
        // One nginx connection number, one client connection of ours.
        assert_eq!(*nginx_connections.entry(connection).or_insert(id), id, "{request}");
        let links = row["links"].as_array().unwrap_or_else(|| panic!("no links on {id}"));
        let upstreams: Vec<&Value> = links.iter().filter(|l| l["kind"] == "upstream").collect();
        assert_eq!(upstreams.len(), 1, "{request}: {links:?}");
        assert_eq!(upstreams[0]["evidence"], "same_request");
        let up = by_id[&upstreams[0]["conn"].as_u64().unwrap_or(u64::MAX)];
        assert_eq!(up["server"], upstream.as_str(), "{request}: nginx used {upstream}");
        // And the upstream lists this one as its downstream.
        let back = up["links"]
            .as_array()
            .is_some_and(|l| l.iter().any(|l| l["kind"] == "downstream" && l["conn"].as_u64() == Some(id)));
        assert!(back, "{request}: the upstream does not list {id} as downstream");
        if status == "499" {
            assert!(row["diagnoses"].to_string().contains("request_abandoned"), "{row}");
            // nginx accepted it: it closed at once when the client did (not the accept queue).
            assert!(!row["diagnoses"].to_string().contains("accept_backlog"), "{row}");
            assert!(up["diagnoses"].to_string().contains("broken_pipe"), "{up}");
        }
    }
    // Nothing else is linked: three connections, two client ones and nginx's upstream.
    let linked: usize = rows.iter().map(|r| r["links"].as_array().map_or(0, Vec::len)).sum();
    assert_eq!(linked, 4);
}

#[test]
fn the_chain_ladder_draws_client_proxy_backend_and_says_who_gave_up_first() {
    let rows = check_against_kernel("proxy-chain");
    let slow = rows
        .iter()
        .find(|r| r["diagnoses"].to_string().contains("request_abandoned") && r["server"] == "127.0.0.1:18030");
    let id = slow.and_then(|r| r["id"].as_u64()).unwrap_or_else(|| panic!("no abandoned client connection"));
    let path = sample("proxy-chain.pcap");
    let output = tcpladder(&["ladder", path.to_str().unwrap_or_default(), "--conn", &id.to_string(), "--chain"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8_lossy(&output.stdout);
    let heading = text.lines().nth(1).unwrap_or_default();
    // Lanes left to right: the clients, nginx's port, nginx's upstream socket, the backend.
    let at = |socket: &str| heading.find(socket).unwrap_or_else(|| panic!("{socket} missing in {heading}"));
    assert!(at("127.0.0.1:18030") < at("127.0.0.1:18031"));
    for (_, client, ..) in access_log() {
        assert!(at(&client) < at("127.0.0.1:18030"), "{client} right of the proxy: {heading}");
    }
    assert!(text.starts_with("connections "), "{text}");
    let story =
        text.lines().find(|l| l.starts_with("* chain: ")).unwrap_or_else(|| panic!("no chain diagnosis:\n{text}"));
    for words in ["gave up first", "after sending `GET /slow`", "499", "write: broken pipe", "1.00 s", "1.50 s"] {
        assert!(story.contains(words), "{words:?} missing: {story}");
    }
}

#[test]
fn exports_draw_several_connections_with_a_participant_per_socket() {
    let path = sample("proxy-chain.pcap");
    let file = path.to_str().unwrap_or_default();
    let mermaid = tcpladder(&["export", file, "--conn", "0,1,2", "--format", "mermaid"]);
    assert!(mermaid.status.success(), "{}", String::from_utf8_lossy(&mermaid.stderr));
    let text = String::from_utf8_lossy(&mermaid.stdout);
    assert_eq!(text.lines().filter(|l| l.trim_start().starts_with("participant ")).count(), 5, "{text}");
    // The backend's RST to nginx's closed socket ends in a cross, and the story is a note.
    assert_eq!(text.matches("-x").count(), 1, "{text}");
    assert!(text.contains("Note over L0: The client"), "{text}");
    let arrows = text.lines().filter(|l| l.contains("->>") || l.contains("-x")).count();
    let total: u64 = crate::util::conns("proxy-chain.pcap").iter().filter_map(|r| r["packets"].as_u64()).sum();
    assert_eq!(arrows as u64, total, "one arrow per segment of the three connections");
    let svg = tcpladder(&["export", file, "--conn", "0,1,2", "--format", "svg"]);
    assert!(svg.status.success());
    let svg = String::from_utf8_lossy(&svg.stdout);
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<line").count() as u64, total + 5, "a line per arrow and per lifeline");
}
