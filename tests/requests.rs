//! `tcpladder requests` over the kernel-recorded samples: the keys scripts rely on, the pairing,
//! the fates of requests that got no answer, and the `app` label `packets --json` gains.

use serde_json::Value;

use crate::util::{sample, tcpladder};

fn requests(name: &str) -> Vec<Value> {
    let path = sample(name);
    let output = tcpladder(&["requests", "--json", path.to_str().expect("a UTF-8 path")]);
    assert!(output.status.success(), "requests {name}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

#[test]
fn every_key_is_there_in_order_with_null_where_it_does_not_apply() {
    let path = sample("handshake-client-close.pcap");
    let output = tcpladder(&["requests", "--json", path.to_str().expect("a UTF-8 path")]);
    let line = String::from_utf8_lossy(&output.stdout).lines().next().expect("one request").to_string();
    let keys: Vec<String> =
        serde_json::from_str::<serde_json::Map<String, Value>>(&line).expect("an object").keys().cloned().collect();
    let expected = [
        "conn",
        "protocol",
        "method",
        "target",
        "host",
        "status",
        "reply",
        "sni",
        "alpn",
        "command",
        "request_frame",
        "response_frame",
        "latency",
        "outcome",
    ];
    let mut sorted = expected.map(String::from).to_vec();
    sorted.sort();
    let mut got = keys.clone();
    got.sort();
    assert_eq!(got, sorted, "{line}");
    assert!(line.starts_with("{\"conn\":0,\"protocol\":\"http/1.0\",\"method\":\"GET\",\"target\":\"/\""), "{line}");
}

#[test]
fn a_request_is_paired_with_its_response_and_timed() {
    let rows = requests("handshake-client-close.pcap");
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row["status"], 200);
    assert_eq!(row["request_frame"], 4);
    assert_eq!(row["response_frame"], 6);
    assert_eq!(row["outcome"], "answered");
    // tshark -o http.desegment_body:FALSE: http.time of frame 6 is 0.000045 s (frames 4 → 6); with
    // bodies reassembled it waits for the close that ends this HTTP/1.0 body (0.100495 s).
    let latency = row["latency"].as_f64().expect("a latency");
    assert!((latency - 0.000_045).abs() < 0.000_001, "{latency}");
}

#[test]
fn a_toy_protocol_is_read_as_turns_and_each_answer_pairs_with_its_request() {
    // Each of the 20 clients sends "GET /\n" (not HTTP/1.x), the server answers "200 OK\n".
    let rows = requests("close-wait-pileup.pcap");
    assert_eq!(rows.len(), 20);
    assert!(rows.iter().all(|r| r["protocol"] == "unknown" && r["outcome"] == "answered"), "{rows:?}");
}

#[test]
fn a_request_whose_answer_was_never_captured_is_abandoned_when_the_client_closes() {
    // handshake-sll2's capture lacks the response (the client acknowledges 25 bytes never seen).
    let rows = requests("handshake-sll2.pcap");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["outcome"], "abandoned");
}

#[test]
fn a_reset_instead_of_an_answer_says_so() {
    let rows = requests("unread-data-reset.pcap");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["outcome"], "reset");
    assert_eq!(rows[0]["protocol"], "unknown", "not HTTP: a turn of the conversation");
}

#[test]
fn packets_name_the_message_each_segment_starts() {
    let path = sample("handshake-client-close.pcap");
    let output = tcpladder(&["packets", "--json", path.to_str().expect("a UTF-8 path")]);
    let apps: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("a JSON line")["app"].clone())
        .collect();
    assert_eq!(apps[3], "GET / HTTP/1.0");
    assert_eq!(apps[5], "HTTP/1.0 200 OK · 25 bytes");
    assert!(apps[0].is_null());
}

#[test]
fn an_answer_after_the_client_gave_up_is_abandoned_and_a_reused_stale_connection_is_reset() {
    let timeout = requests("client-timeout.pcap");
    assert_eq!(timeout.len(), 1);
    assert_eq!(timeout[0]["outcome"], "abandoned");
    assert_eq!(timeout[0]["status"], 200, "the server did answer, too late");
    assert!(timeout[0]["latency"].as_f64().is_some_and(|l| l > 1.4), "{:?}", timeout[0]);
    let race = requests("keepalive-race.pcap");
    let outcomes: Vec<&str> = race.iter().map(|r| r["outcome"].as_str().unwrap_or("")).collect();
    assert_eq!(outcomes, ["answered", "reset"]);
    assert_eq!(race[1]["target"], "/second");
}

#[test]
fn no_sample_or_corpus_capture_abandons_a_request_it_did_not_build_for_it() {
    // The corpus's one: a request carried on a SYN, and the client's FIN 2 ms later, unanswered.
    for name in ["handshake-sll2.pcap", "half-close.pcap", "close-wait.pcap", "broken-pipe.pcap", "keep-alive.pcap"] {
        let path = sample(name);
        let output = tcpladder(&["conns", "--json", path.to_str().expect("a UTF-8 path")]);
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(!text.contains("request_abandoned") && !text.contains("stale_keepalive"), "{name}: {text}");
    }
}

#[test]
fn a_tls_client_hello_is_a_request_with_its_sni_and_the_chosen_protocol() {
    let rows = requests("tls-handshake.pcap");
    let hello = &rows[0];
    assert_eq!(hello["protocol"], "tls");
    assert_eq!(hello["sni"], "api.local");
    // TLS 1.3 sends the server's choice encrypted: the client's offer is what can be seen.
    assert_eq!(hello["alpn"], "h2,http/1.1");
    assert_eq!(hello["outcome"], "answered");
    assert!(hello["method"].is_null() && hello["status"].is_null());
}

#[test]
fn redis_commands_and_replies_agree_with_what_redis_cli_printed() {
    let rows = requests("redis.pcap");
    let commands: Vec<&str> = rows.iter().map(|r| r["command"].as_str().unwrap_or("")).collect();
    // redis-cli asks COMMAND DOCS when it starts, then sends the six commands it was given.
    assert_eq!(commands, ["COMMAND", "SET", "GET", "INCR", "LRANGE", "GET", "NOSUCHCOMMAND"]);
    assert!(rows.iter().all(|r| r["protocol"] == "redis" && r["outcome"] == "answered"), "{rows:?}");
    // The oracle: what redis-cli printed for each reply (recorded beside the capture).
    let path = sample("redis.redis-cli.txt");
    let printed = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    let printed: Vec<&str> = printed.lines().collect();
    let capture = sample("redis.pcap");
    let output = tcpladder(&["packets", "--json", capture.to_str().expect("a UTF-8 path")]);
    let replies: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("a JSON line"))
        .filter(|p| p["dir"] == "s2c")
        .filter_map(|p| p["app"].as_str().map(str::to_string))
        .skip(1)
        .collect();
    let expected = ["+OK", "bulk of 5 bytes", ":1", "(empty array)", "(nil)"];
    assert_eq!(&replies[..5], expected, "{replies:?}");
    assert_eq!(printed[..3], ["OK", "hello", "1"], "redis-cli: {printed:?}");
    assert!(replies[5].starts_with("-ERR unknown command 'NOSUCHCOMMAND'"), "{replies:?}");
    assert!(printed[5].starts_with("ERR unknown command 'NOSUCHCOMMAND'"), "redis-cli: {printed:?}");
    // The requests' replies, as JSON and in the table's status column (RESP's shorthand).
    let json: Vec<&str> = rows.iter().skip(1).map(|r| r["reply"].as_str().unwrap_or("")).collect();
    assert_eq!(&json[..5], expected);
    let table = tcpladder(&["requests", capture.to_str().expect("a UTF-8 path")]);
    let table = String::from_utf8_lossy(&table.stdout);
    let status: Vec<&str> = table.lines().skip(2).filter_map(|line| line.split_whitespace().nth(3)).collect();
    assert_eq!(&status[..5], ["+OK", "$5", ":1", "*0", "(nil)"], "{table}");
}

/// (protocol, method, target, status, outcome) of each exchange.
fn summary(name: &str) -> Vec<(String, String, String, i64, String)> {
    requests(name)
        .iter()
        .map(|r| {
            let text = |key: &str| r[key].as_str().unwrap_or_default().to_string();
            (text("protocol"), text("method"), text("target"), r["status"].as_i64().unwrap_or(-1), text("outcome"))
        })
        .collect()
}

#[test]
fn nginx_answers_three_requests_on_one_keep_alive_connection_one_of_them_404() {
    let got = summary("nginx-keepalive.pcap");
    let statuses: Vec<(String, i64)> = got.iter().map(|e| (e.2.clone(), e.3)).collect();
    assert_eq!(statuses, [("/index.html".into(), 200), ("/missing".into(), 404), ("/index.html".into(), 200)]);
    assert!(got.iter().all(|e| e.0 == "http/1.1" && e.4 == "answered"), "{got:?}");
}

#[test]
fn http2_streams_are_requests_paired_by_stream() {
    let got = summary("http2-cleartext.pcap");
    let expected = [("/index.html", 200), ("/missing", 404), ("/index.html?again", 200)];
    assert_eq!(got.len(), 3, "{got:?}");
    for (exchange, (target, status)) in got.iter().zip(expected) {
        assert_eq!((exchange.0.as_str(), exchange.1.as_str()), ("http/2", "GET"), "{exchange:?}");
        assert_eq!((exchange.2.as_str(), exchange.3, exchange.4.as_str()), (target, status, "answered"));
    }
    // All three were sent in one segment; their answers came in three.
    let frames: Vec<(u64, u64)> = requests("http2-cleartext.pcap")
        .iter()
        .map(|r| (r["request_frame"].as_u64().unwrap_or(0), r["response_frame"].as_u64().unwrap_or(0)))
        .collect();
    assert!(frames.iter().all(|(request, _)| *request == frames[0].0), "{frames:?}");
    assert!(frames.windows(2).all(|w| w[0].1 < w[1].1), "{frames:?}");
}

#[test]
fn an_http2_upload_refused_early_is_answered_with_its_413() {
    let got = summary("http2-rst-stream.pcap");
    assert_eq!(got, [("http/2".into(), "POST".into(), "/index.html".into(), 413, "answered".into())]);
    let request = &requests("http2-rst-stream.pcap")[0];
    assert_eq!((request["request_frame"].as_u64(), request["response_frame"].as_u64()), (Some(4), Some(10)));
}

#[test]
fn dns_queries_over_tcp_with_their_response_codes() {
    let got = summary("dns-tcp.pcap");
    let expected = [("A", "api.local", 0), ("AAAA", "api.local", 3), ("A", "missing.local", 3)];
    assert_eq!(got.len(), 3, "{got:?}");
    for (exchange, (kind, name, rcode)) in got.iter().zip(expected) {
        assert_eq!(exchange.0, "dns");
        assert_eq!((exchange.1.as_str(), exchange.2.as_str(), exchange.3), (kind, name, rcode));
    }
}
