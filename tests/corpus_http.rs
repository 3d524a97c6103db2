//! HTTP as tshark reads it, on the corpus's HTTP captures: each request's method, target and
//! host, and each response's status and time (tshark's `http.time`, with bodies not reassembled
//! so that the response's frame is where it starts, as `requests` measures).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use std::ops::ControlFlow;

use tcpladder::analysis::exchanges::{exchanges, Exchange};
use tcpladder::session::read_capture;
use tcpladder::{Engine, EngineConfig};

use super::corpus_dir;

pub(crate) fn load(path: &Path) -> Option<Engine> {
    let config = EngineConfig { keep_all_messages: true, ..EngineConfig::default() };
    read_capture(path, config, 1 << 20, |_, _| ControlFlow::Continue(())).ok().map(|outcome| outcome.engine)
}

/// The corpus's captures in which tshark finds HTTP requests (found once with
/// `tshark -Y http.request` over every capture; a capture added to the corpus is added here).
const HTTP_CAPTURES: &[&str] = &[
    "zeek/Traces/http-vlan-0.pcap",
    "zeek/Traces/http/concurrent-range-requests.pcap",
    "zeek/Traces/http/connect-with-header.pcap",
    "zeek/Traces/http/connect-with-smtp.pcap",
    "zeek/Traces/http/get.pcap",
    "zeek/Traces/http/get_nosyn.pcap",
    "zeek/Traces/http/http-desync-request-response-5.pcap",
    "zeek/Traces/http/http-post-large.pcap",
    "zeek/Traces/http/m57-long-49583-80.pcap",
    "zeek/Traces/http/m57-long-49600-80.pcap",
    "zeek/Traces/http/no_crlf.pcap",
    "zeek/Traces/http/zeek-image-1080-80-x.pcapng",
    "zeek/Traces/mixed-vlan-mpls.pcap",
    "zeek/Traces/mpls-in-vlan.pcap",
    "zeek/Traces/nflog-http.pcap",
    "zeek/Traces/tcp/handshake-reorder.pcap",
    "zeek/Traces/tcp/http-on-irc-port-missing-syn.pcapng",
    "zeek/Traces/tcp/miss_end_data.pcap",
    "zeek/Traces/tcp/missing-syn.pcap",
    "zeek/Traces/tcp/no-handshake.pcap",
    "zeek/Traces/tcp/options.pcap",
    "zeek/Traces/tcp/payload-syn.pcap",
    "zeek/Traces/tcp/payload-synack.pcap",
    "zeek/Traces/tcp/qi_internet_SYNACK_curl_jsonip.pcap",
    "zeek/Traces/tcp/retransmit-timeout.pcapng",
    "zeek/Traces/tcp/tcp-fast-open.pcap",
    "zeek/Traces/tunnels/socks.pcap",
    "zeek/Traces/vlan-collisions.pcap",
    "zeek/Traces/vlan-qinqinq.pcap",
    "zeek/Traces/websocket/wstunnel-ssh.pcap",
    "zeek/Traces/wikipedia.pcap",
    "zeek/Traces/zip/descriptor.pcap",
];

/// One HTTP message as tshark prints it.
#[derive(Debug, Default)]
struct Shark {
    method: String,
    uri: String,
    host: String,
    status: String,
    request_in: String,
    time: String,
}

fn tshark(path: &Path) -> BTreeMap<u32, Shark> {
    let output = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(path)
        .args(["-o", "http.desegment_body:FALSE", "-Y", "http", "-T", "fields", "-E", "separator=/t"])
        .args(["-e", "frame.number", "-e", "http.request.method", "-e", "http.request.uri", "-e", "http.host"])
        .args(["-e", "http.response.code", "-e", "http.request_in", "-e", "http.time"])
        .output()
        .expect("tshark runs (CI installs it)");
    let text = String::from_utf8_lossy(&output.stdout);
    let mut messages = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('\t').collect();
        let cell =
            |i: usize| cells.get(i).map(|c| c.split(',').next().unwrap_or_default().to_string()).unwrap_or_default();
        let Ok(frame) = cell(0).parse::<u32>() else { continue };
        let shark =
            Shark { method: cell(1), uri: cell(2), host: cell(3), status: cell(4), request_in: cell(5), time: cell(6) };
        messages.insert(frame, shark);
    }
    messages
}

#[derive(Default)]
struct Agreement {
    fields: BTreeMap<&'static str, (u64, u64)>,
    differences: Vec<String>,
}

impl Agreement {
    fn check(&mut self, field: &'static str, capture: &str, frame: u32, ours: &str, theirs: &str) {
        let entry = self.fields.entry(field).or_default();
        entry.1 += 1;
        if ours == theirs {
            entry.0 += 1;
        } else if self.differences.len() < 40 {
            self.differences.push(format!("{capture} frame {frame} {field}: ours {ours:?}, tshark {theirs:?}"));
        }
    }
}

#[test]
fn http_agrees_with_tshark_on_the_corpus() {
    let corpus = corpus_dir();
    let mut agreement = Agreement::default();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-captures");
    let sample_names = [
        "handshake-client-close.pcap",
        "ipv6-handshake.pcap",
        "client-timeout.pcap",
        "keepalive-race.pcap",
        "slow-response.pcap",
        "nginx-keepalive.pcap",
    ];
    let paths = HTTP_CAPTURES
        .iter()
        .map(|capture| (capture.to_string(), corpus.join(capture)))
        .chain(sample_names.map(|name| (format!("sample {name}"), samples.join(name))));
    for (capture, path) in paths {
        let capture = capture.as_str();
        let engine = load(&path).unwrap_or_else(|| panic!("{capture} reads"));
        let ours: BTreeMap<u32, Exchange> = engine
            .connections()
            .iter()
            .filter_map(|c| Some(exchanges(c, engine.conversation(c.id)?)))
            .flatten()
            .map(|exchange| (exchange.request_frame, exchange))
            .collect();
        let theirs = tshark(&path);
        for (&frame, shark) in theirs.iter().filter(|(_, s)| !s.method.is_empty()) {
            let found = ours.get(&frame);
            agreement.check("request found", capture, frame, &found.is_some().to_string(), "true");
            let Some(exchange) = found else { continue };
            agreement.check(
                "http.request.method",
                capture,
                frame,
                exchange.method.as_deref().unwrap_or(""),
                &shark.method,
            );
            agreement.check("http.request.uri", capture, frame, exchange.target.as_deref().unwrap_or(""), &shark.uri);
            agreement.check("http.host", capture, frame, exchange.host.as_deref().unwrap_or(""), &shark.host);
        }
        for (&frame, shark) in theirs.iter().filter(|(_, s)| !s.status.is_empty()) {
            let Ok(request) = shark.request_in.parse::<u32>() else { continue };
            let Some(exchange) = ours.get(&request) else { continue };
            let status = exchange.status.map(|s| s.to_string()).unwrap_or_default();
            agreement.check("http.response.code", capture, frame, &status, &shark.status);
            let head = exchange.response_head_frame.map(|f| f.to_string()).unwrap_or_default();
            agreement.check("response head frame", capture, frame, &head, &frame.to_string());
            // Our latency runs to the response's first segment; tshark's to the one completing its
            // head: the same where the head fits one segment, which is where they are compared.
            if exchange.response_frame == exchange.response_head_frame {
                let time = exchange.latency.map(|t| format!("{t:.6}")).unwrap_or_default();
                let theirs_time = shark.time.parse::<f64>().map(|t| format!("{t:.6}")).unwrap_or_default();
                agreement.check("http.time", capture, frame, &time, &theirs_time);
            }
        }
    }
    println!(
        "\nHTTP against tshark on {} captures of the corpus and {} samples:",
        HTTP_CAPTURES.len(),
        sample_names.len()
    );
    println!("{:<24} {:>6} {:>6} {:>7}", "field", "agree", "total", "%");
    let mut worst = 100.0f64;
    for (field, (agree, total)) in &agreement.fields {
        let percent = 100.0 * *agree as f64 / (*total).max(1) as f64;
        worst = worst.min(percent);
        println!("{field:<24} {agree:>6} {total:>6} {percent:>6.1}%");
    }
    for difference in &agreement.differences {
        println!("  {difference}");
    }
    let requests = agreement.fields.get("request found").map_or(0, |(_, total)| *total);
    assert!(requests >= 40, "tshark found {requests} requests: the captures are not what this test expects");
    assert!(worst >= MIN_AGREEMENT, "an HTTP field agrees with tshark on {worst:.1}% only");
}

/// Every field agrees this often at least (the differences left are printed and explained in the
/// README).
const MIN_AGREEMENT: f64 = 95.0;
