//! The loss samples (`sample-captures/record_loss.py`: nftables drops packets inside a namespace,
//! bpftrace records what the kernel did): every retransmission the kernel made must be found (and
//! nothing else called one), and every state change must sit at the frame where the kernel made it.
//! tshark's figures are printed beside ours: it calls most SACK-recovery retransmissions
//! out-of-order.

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;

use crate::samples::check_against_kernel;
use crate::util::{packets, sample};

/// Recorded by `record_loss.py`: the loss scenarios, then the kernel features (ECN, Fast Open,
/// SYN cookies, tcp_abort_on_overflow, a server out of file descriptors).
const RECORDED: [&str; 14] = [
    "loss-bulk-2pct",
    "loss-bulk-5pct",
    "loss-request-response",
    "loss-first-syn",
    "loss-first-synack",
    "loss-handshake-ack",
    "loss-first-fin",
    "loss-last-ack",
    "loss-fin-behind-hole",
    "ecn",
    "fast-open",
    "syn-cookies",
    "abort-on-overflow",
    "emfile-accept-queue",
];

/// The kernel's timed record of one scenario, times in Unix seconds.
#[derive(Default)]
struct Timed {
    /// (time, sport, dport, old, new)
    states: Vec<(f64, u16, u16, String, String)>,
    /// (time, sport, dport, seq, end_seq): tcp_retransmit_skb with the skb's sequence range.
    retransmits: Vec<(f64, u16, u16, u32, u32)>,
    /// (time, sport, dport): tcp_retransmit_synack.
    synacks: Vec<(f64, u16, u16)>,
}

fn timed(name: &str) -> Timed {
    let path = sample(&format!("{name}.kernel.txt"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    let mut clock = None;
    let mut record = Timed::default();
    let number = |s: &str| s.parse::<i64>().unwrap_or_else(|err| panic!("{name}: {s}: {err}"));
    let port = |s: &str| s.parse::<u16>().unwrap_or_else(|err| panic!("{name}: {s}: {err}"));
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let at = |ns: &str| (number(ns) + clock.unwrap_or_else(|| panic!("{name}: no clock line"))) as f64 / 1e9;
        match fields.as_slice() {
            ["clock", offset] => clock = Some(number(offset)),
            ["state", ns, sport, dport, old, new] => {
                record.states.push((at(ns), port(sport), port(dport), old.to_string(), new.to_string()));
            }
            ["retransmit", ns, sport, dport, seq, end] => {
                let seq = seq.parse().unwrap_or_else(|err| panic!("{name}: {seq}: {err}"));
                let end = end.parse().unwrap_or_else(|err| panic!("{name}: {end}: {err}"));
                record.retransmits.push((at(ns), port(sport), port(dport), seq, end));
            }
            ["retransmit_synack", ns, sport, dport] => record.synacks.push((at(ns), port(sport), port(dport))),
            _ => {}
        }
    }
    assert!(!record.states.is_empty(), "{name}: the kernel record has no timed state changes");
    record
}

fn port_of(addr: &Value) -> u16 {
    addr.as_str().and_then(|a| a.rsplit(':').next()).and_then(|p| p.parse().ok()).unwrap_or(0)
}

fn ts(segment: &Value) -> f64 {
    segment["ts"].as_f64().unwrap_or(f64::NAN)
}

/// The frames the kernel retransmitted: each event tied to the captured copy with the kernel's own
/// sequence number, and, when the skb held two segments, to the copy of the second too (a SYN-ACK
/// retransmission, which has no skb, to the latest SYN-ACK before it).
fn kernel_retransmissions(name: &str, segments: &[Value], record: &Timed) -> BTreeSet<u64> {
    // The event fires once the copy is handed to the device; loopback's receive path may run first.
    const SLACK: f64 = 0.002;
    let mut frames = BTreeSet::new();
    for &(at, sport, dport, seq, end) in &record.retransmits {
        let mut next = seq;
        while next != end {
            let copy = segments
                .iter()
                .filter(|s| port_of(&s["src"]) == sport && port_of(&s["dst"]) == dport)
                .filter(|s| s["seq_raw"].as_u64() == Some(u64::from(next)) && ts(s) <= at + SLACK)
                .filter(|s| !frames.contains(&s["frame"].as_u64().unwrap_or(0)))
                .max_by(|a, b| ts(a).total_cmp(&ts(b)))
                .unwrap_or_else(|| panic!("{name}: no captured copy of the retransmission of seq {next} at {at}"));
            frames.insert(copy["frame"].as_u64().unwrap_or(0));
            let space = copy["len"].as_u64().unwrap_or(0)
                + u64::from(copy["flags"].as_str().is_some_and(|f| f.contains('S') || f.contains('F')));
            if space == 0 {
                break;
            }
            next = next.wrapping_add(space as u32);
        }
    }
    for &(at, sport, dport) in &record.synacks {
        let copy = segments
            .iter()
            .filter(|s| port_of(&s["src"]) == sport && port_of(&s["dst"]) == dport && s["flags"] == "S.")
            .filter(|s| ts(s) <= at + SLACK && !frames.contains(&s["frame"].as_u64().unwrap_or(0)))
            .max_by(|a, b| ts(a).total_cmp(&ts(b)))
            .unwrap_or_else(|| panic!("{name}: no captured copy of the SYN-ACK retransmission at {at}"));
        frames.insert(copy["frame"].as_u64().unwrap_or(0));
    }
    frames
}

const RETRANSMISSION_FLAGS: [&str; 3] = ["retransmission", "fast_retransmission", "spurious_retransmission"];

fn ours(segments: &[Value]) -> BTreeSet<u64> {
    segments
        .iter()
        .filter(|s| {
            s["analysis"]
                .as_array()
                .is_some_and(|flags| flags.iter().any(|f| RETRANSMISSION_FLAGS.iter().any(|r| f == r)))
        })
        .filter_map(|s| s["frame"].as_u64())
        .collect()
}

/// tshark's retransmissions and out-of-order segments (frame numbers).
fn tshark(name: &str) -> (BTreeSet<u64>, BTreeSet<u64>) {
    let path = sample(&format!("{name}.pcap"));
    let output = Command::new("tshark")
        .args(["-r", path.to_str().unwrap_or_default(), "-T", "fields", "-e", "frame.number"])
        .args(["-e", "tcp.analysis.retransmission", "-e", "tcp.analysis.fast_retransmission"])
        .args(["-e", "tcp.analysis.spurious_retransmission", "-e", "tcp.analysis.out_of_order"])
        .args(["-E", "occurrence=f"])
        .output()
        .unwrap_or_else(|err| panic!("tshark is the oracle here and must be installed (.ci/deps): {err}"));
    assert!(output.status.success(), "tshark {name}: {}", String::from_utf8_lossy(&output.stderr));
    let (mut retransmissions, mut out_of_order) = (BTreeSet::new(), BTreeSet::new());
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        let frame: u64 = fields.first().and_then(|f| f.parse().ok()).unwrap_or(0);
        if fields.iter().skip(1).take(3).any(|f| !f.is_empty()) {
            retransmissions.insert(frame);
        }
        if fields.get(4).is_some_and(|f| !f.is_empty()) {
            out_of_order.insert(frame);
        }
    }
    (retransmissions, out_of_order)
}

/// (found, claimed, true) counts for recall = found / true and precision = found / claimed.
fn score(found: &BTreeSet<u64>, truth: &BTreeSet<u64>) -> (usize, usize, usize) {
    (found.intersection(truth).count(), found.len(), truth.len())
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

#[test]
fn retransmissions_are_the_kernels_whatever_their_timing() {
    let (mut us, mut them) = ((0, 0, 0), (0, 0, 0));
    println!("sample: kernel retransmissions | tcpladder recall, precision | tshark recall, precision, out-of-order");
    for name in RECORDED {
        let segments = packets(&format!("{name}.pcap"));
        let truth = kernel_retransmissions(name, &segments, &timed(name));
        let claimed = ours(&segments);
        let mine = score(&claimed, &truth);
        let (tshark_retransmissions, tshark_out_of_order) = tshark(name);
        let theirs = score(&tshark_retransmissions, &truth);
        println!(
            "{name}: {} | {:.1}%, {:.1}% | {:.1}%, {:.1}%, {} out-of-order",
            truth.len(),
            100.0 * ratio(mine.0, mine.2),
            100.0 * ratio(mine.0, mine.1),
            100.0 * ratio(theirs.0, theirs.2),
            100.0 * ratio(theirs.0, theirs.1),
            tshark_out_of_order.len()
        );
        let missed: Vec<_> = truth.difference(&claimed).collect();
        let extra: Vec<_> = claimed.difference(&truth).collect();
        println!("  missed frames {missed:?}, not retransmissions {extra:?}");
        us = (us.0 + mine.0, us.1 + mine.1, us.2 + mine.2);
        them = (them.0 + theirs.0, them.1 + theirs.1, them.2 + theirs.2);
    }
    let (recall, precision) = (ratio(us.0, us.2), ratio(us.0, us.1));
    println!(
        "all: {} kernel retransmissions; tcpladder recall {:.1}% precision {:.1}%; tshark recall {:.1}% precision {:.1}%",
        us.2,
        100.0 * recall,
        100.0 * precision,
        100.0 * ratio(them.0, them.2),
        100.0 * ratio(them.0, them.1)
    );
    assert!(us.2 >= 100, "too few retransmissions recorded to measure: {}", us.2);
    assert!(recall >= 0.95 && precision >= 0.99, "recall {recall:.3}, precision {precision:.3}");
}

#[test]
fn the_loss_samples_pass_the_kernel_state_check() {
    for name in RECORDED {
        check_against_kernel(name);
    }
}

fn kernel_state(name: &str) -> String {
    match name.trim_start_matches("TCP_") {
        "SYN_RECV" => "SYN_RECEIVED".into(),
        "FIN_WAIT1" => "FIN_WAIT_1".into(),
        "FIN_WAIT2" => "FIN_WAIT_2".into(),
        "CLOSE" => "CLOSED".into(),
        other => other.into(),
    }
}

/// One side's state changes as we inferred them: (state, frame, time).
fn our_changes(segments: &[&Value], side: &str) -> Vec<(String, u64, f64)> {
    let mut changes: Vec<(String, u64, f64)> = Vec::new();
    for segment in segments {
        for key in [format!("{side}_via"), format!("{side}_state")] {
            if let Some(state) = segment[key.as_str()].as_str() {
                if changes.last().map(|c| c.0.as_str()) != Some(state) {
                    changes.push((state.to_string(), segment["frame"].as_u64().unwrap_or(0), ts(segment)));
                }
            }
        }
    }
    let first_real = changes.iter().position(|c| c.0 != "UNKNOWN" && c.0 != "LISTEN").unwrap_or(changes.len());
    changes.drain(..first_real);
    changes
}

/// One side's state changes as the kernel made them: (state, time). The SYN_SENT of a connecting
/// socket is reported before it has a port, so it is left out; a TIME_WAIT lives on in a timewait
/// socket while the full socket reports a change to CLOSE at the same moment.
fn kernel_changes(record: &Timed, local: u16, peer: u16, final_state: &str) -> Vec<(String, f64)> {
    let mut changes: Vec<(String, f64)> = record
        .states
        .iter()
        .filter(|(_, sport, dport, old, new)| *sport == local && *dport == peer && old != new)
        .map(|(at, _, _, _, new)| (kernel_state(new), *at))
        .collect();
    if final_state != "CLOSED" && changes.last().is_some_and(|c| c.0 == "CLOSED") {
        if let Some(last) = changes.pop() {
            if changes.last().map(|c| c.0.as_str()) != Some(final_state) {
                changes.push((final_state.to_string(), last.1));
            }
        }
    }
    changes
}

/// The frames a state change at `kernel_at` can belong to: the last one captured before it (its
/// receipt), the first after it (its send), and any within loopback's time-stamping jitter.
fn kernel_frames(segments: &[&Value], kernel_at: f64) -> Vec<u64> {
    const JITTER: f64 = 30e-6;
    let frame = |s: &&Value| s["frame"].as_u64().unwrap_or(0);
    let before = segments.iter().filter(|s| ts(s) <= kernel_at).max_by(|a, b| ts(a).total_cmp(&ts(b)));
    let after = segments.iter().filter(|s| ts(s) > kernel_at).min_by(|a, b| ts(a).total_cmp(&ts(b)));
    let near = segments.iter().filter(|s| (ts(s) - kernel_at).abs() <= JITTER);
    before.into_iter().chain(after).chain(near).map(frame).collect()
}

#[test]
fn every_state_change_is_at_the_frame_where_the_kernel_made_it() {
    let mut wrong = Vec::new();
    let mut checked = 0;
    for name in RECORDED {
        let record = timed(name);
        let segments = packets(&format!("{name}.pcap"));
        for row in crate::util::conns(&format!("{name}.pcap")) {
            let id = row["id"].as_u64();
            let mine: Vec<&Value> = segments.iter().filter(|s| s["conn"].as_u64() == id).collect();
            let (client, server) = (port_of(&row["client"]), port_of(&row["server"]));
            for (side, local, peer) in [("client", client, server), ("server", server, client)] {
                let final_state = row[format!("{side}_state").as_str()].as_str().unwrap_or("");
                let theirs = kernel_changes(&record, local, peer, final_state);
                // A request the kernel never made a socket for leaves no record to compare with.
                if theirs.is_empty() {
                    continue;
                }
                let ours: Vec<_> = our_changes(&mine, side).into_iter().filter(|c| c.0 != "SYN_SENT").collect();
                let names = |v: &[(String, f64)]| v.iter().map(|c| c.0.clone()).collect::<Vec<_>>();
                let our_names: Vec<String> = ours.iter().map(|c| c.0.clone()).collect();
                assert_eq!(our_names, names(&theirs), "{name} {side}: state sequence");
                for ((state, frame, at), (_, kernel_at)) in ours.iter().zip(&theirs) {
                    // Linux creates the server's socket only when the handshake's ACK arrives, and
                    // reports its SYN_RECV then: the request's own SYN_RECEIVED is not traced.
                    if state == "SYN_RECEIVED" {
                        continue;
                    }
                    checked += 1;
                    if !kernel_frames(&mine, *kernel_at).contains(frame) {
                        wrong.push(format!(
                            "{name} {side} {state}: ours at frame {frame}, the kernel's {:.1} ms {}",
                            (kernel_at - at).abs() * 1e3,
                            if kernel_at > at { "later" } else { "earlier" }
                        ));
                    }
                }
            }
        }
    }
    println!("{checked} state changes checked against the kernel's moment");
    assert!(wrong.is_empty(), "state changes at the wrong frame:\n{}", wrong.join("\n"));
}
