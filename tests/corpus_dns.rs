//! DNS over TCP as tshark reads it: each query's name and type, each response's code and
//! `dns.time`, by frame, on the corpus's DNS-over-TCP captures and the dns-tcp sample. Two of
//! the three are on ports other than 53, where tcpladder finds DNS by content alone.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use tcpladder::analysis::exchanges::exchanges;
use tcpladder::protocols::{MessageKind, Protocol};

use super::corpus_dir;
use super::http::load;

/// The captures and the port of their DNS server.
const DNS_CAPTURES: &[(&str, u16)] = &[("tcpdump/dns_tcp.pcap", 53), ("tcpdump/dns_tcp_8053.pcap", 8053)];

/// What a frame says: a query `(name, type)`, or a response `(rcode, dns.time)`.
#[derive(Debug, Default)]
struct Seen {
    queries: BTreeMap<u32, (String, String)>,
    responses: BTreeMap<u32, (u16, Option<f64>)>,
}

fn tshark(path: &Path, port: u16) -> Seen {
    let output = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(path)
        .args(["-d", &format!("tcp.port=={port},dns"), "-Y", "dns && tcp"])
        .args(["-T", "fields", "-E", "occurrence=f", "-e", "frame.number", "-e", "dns.flags.response"])
        .args(["-e", "dns.qry.name", "-e", "dns.qry.type", "-e", "dns.flags.rcode", "-e", "dns.time"])
        .output()
        .expect("tshark runs (CI installs it)");
    let mut seen = Seen::default();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        let [frame, response, name, kind, rcode, time] = fields[..] else { continue };
        let frame: u32 = frame.parse().expect("a frame number");
        if response == "1" || response == "True" {
            seen.responses.insert(frame, (rcode.parse().unwrap_or(0), time.parse().ok()));
        } else {
            let kind = hickory_proto::rr::RecordType::from(kind.parse::<u16>().unwrap_or(0)).to_string();
            seen.queries.insert(frame, (name.to_string(), kind));
        }
    }
    seen
}

fn ours(path: &Path) -> Seen {
    let engine = load(path).expect("the capture reads");
    let mut seen = Seen::default();
    for connection in engine.connections() {
        let Some(conversation) = engine.conversation(connection.id) else { continue };
        for message in conversation.messages().iter().filter(|m| m.protocol == Protocol::Dns) {
            if let MessageKind::Request(head) = &message.kind {
                seen.queries.insert(message.head_frame, (head.target.to_string(), head.method.to_string()));
            }
        }
        for exchange in exchanges(connection, conversation).into_iter().filter(|e| e.protocol == Protocol::Dns) {
            if let (Some(frame), Some(status)) = (exchange.response_head_frame, exchange.status) {
                seen.responses.insert(frame, (status, exchange.latency));
            }
        }
    }
    seen
}

#[test]
fn dns_over_tcp_agrees_with_tshark() {
    let corpus = corpus_dir();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-captures/dns-tcp.pcap");
    let paths = DNS_CAPTURES
        .iter()
        .map(|(capture, port)| (capture.to_string(), corpus.join(capture), *port))
        .chain([("sample dns-tcp.pcap".to_string(), sample, 18025)]);
    let (mut queries, mut query_agree, mut responses, mut response_agree, mut time_agree) = (0, 0, 0, 0, 0);
    let mut differences = Vec::new();
    for (capture, path, port) in paths {
        let (ours, theirs) = (ours(&path), tshark(&path, port));
        for (frame, query) in &theirs.queries {
            queries += 1;
            match ours.queries.get(frame) {
                Some(found) if found == query => query_agree += 1,
                found => differences.push(format!("{capture} frame {frame}: query ours {found:?}, tshark {query:?}")),
            }
        }
        for (frame, (rcode, time)) in &theirs.responses {
            responses += 1;
            let Some((our_rcode, our_time)) = ours.responses.get(frame) else {
                differences.push(format!("{capture} frame {frame}: no response paired (tshark rcode {rcode})"));
                continue;
            };
            if our_rcode == rcode {
                response_agree += 1;
            } else {
                differences.push(format!("{capture} frame {frame}: rcode ours {our_rcode}, tshark {rcode}"));
            }
            match (our_time, time) {
                (Some(a), Some(b)) if (a - b).abs() < 1e-6 => time_agree += 1,
                _ => differences.push(format!("{capture} frame {frame}: time ours {our_time:?}, tshark {time:?}")),
            }
        }
    }
    println!("\nDNS over TCP against tshark on {} captures of the corpus and the dns-tcp sample:", DNS_CAPTURES.len());
    println!("queries (name and type) agree {query_agree} of {queries}; responses paired with the same rcode {response_agree} of {responses}, dns.time {time_agree} of {responses}");
    for difference in &differences {
        println!("  {difference}");
    }
    assert!(
        queries >= 5 && responses >= 5,
        "tshark found {queries} queries: the captures are not what this test expects"
    );
    assert!(differences.is_empty(), "every query, rcode and time agrees");
}
