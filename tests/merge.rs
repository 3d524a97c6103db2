//! Two vantage points of one exchange: two network namespaces made for the test, joined by a veth
//! pair, tcpdump on each end. One file's clock is shifted by a known amount; `tcpladder merge` must
//! recover it within 1 ms and match every segment both saw. Needs root (for `ip netns`); skipped
//! without it unless TCPLADDER_REQUIRE_LIVE is set, as in CI.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::util::tcpladder;

/// The two namespaces and their captures; the namespaces go when the test ends, however it ends.
struct Pair {
    names: [String; 2],
    dumps: Vec<Child>,
}

impl Drop for Pair {
    fn drop(&mut self) {
        for dump in &mut self.dumps {
            let _ = dump.kill();
            let _ = dump.wait();
        }
        for name in &self.names {
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
    }
}

fn ip(args: &[&str]) {
    let status = Command::new("ip").args(args).status().unwrap_or_else(|err| panic!("ip {args:?}: {err}"));
    assert!(status.success(), "ip {args:?}");
}

fn permitted() -> bool {
    crate::util::root_with_tools(&["ip", "tcpdump", "python3"])
}

/// Rewrites a pcap (µs, little-endian, as tcpdump writes) with every timestamp moved by `shift`.
fn shift_clock(from: &Path, to: &Path, shift: Duration) {
    let mut bytes = std::fs::read(from).expect("the capture");
    assert_eq!(bytes[..4], [0xd4, 0xc3, 0xb2, 0xa1], "a little-endian µs pcap");
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let word = |b: &[u8], i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let micros = u64::from(word(&bytes, at)) * 1_000_000 + u64::from(word(&bytes, at + 4));
        let shifted = micros + shift.as_micros() as u64;
        bytes[at..at + 4].copy_from_slice(&((shifted / 1_000_000) as u32).to_le_bytes());
        bytes[at + 4..at + 8].copy_from_slice(&((shifted % 1_000_000) as u32).to_le_bytes());
        at += 16 + word(&bytes, at + 8) as usize;
    }
    std::fs::write(to, bytes).expect("the shifted capture");
}

/// Copies a pcap leaving out record `skip` (0-based): a segment lost between the two ends.
fn drop_record(from: &Path, to: &Path, skip: usize) {
    let bytes = std::fs::read(from).expect("the capture");
    let mut out = bytes[..24].to_vec();
    let (mut at, mut index) = (24, 0);
    while at + 16 <= bytes.len() {
        let len = u32::from_le_bytes([bytes[at + 8], bytes[at + 9], bytes[at + 10], bytes[at + 11]]) as usize;
        if index != skip {
            out.extend_from_slice(&bytes[at..at + 16 + len]);
        }
        at += 16 + len;
        index += 1;
    }
    std::fs::write(to, out).expect("the capture with a record left out");
}

fn packets_in(path: &Path) -> usize {
    let output = Command::new("tcpdump").args(["-nr"]).arg(path).stderr(Stdio::null()).output().expect("tcpdump -r");
    String::from_utf8_lossy(&output.stdout).lines().count()
}

#[test]
fn merge_recovers_a_known_clock_shift_between_two_vantage_points() {
    if !permitted() {
        return;
    }
    let id = std::process::id();
    let names = [format!("tlmergea{id}"), format!("tlmergeb{id}")];
    let mut pair = Pair { names: names.clone(), dumps: Vec::new() };
    // Addresses of our own, only inside the namespaces this test made.
    let net = format!("10.251.{}", id % 250);
    let (a_addr, b_addr) = (format!("{net}.1"), format!("{net}.2"));
    for name in &names {
        ip(&["netns", "add", name]);
    }
    let (veth_a, veth_b) = (format!("tlva{}", id % 100_000), format!("tlvb{}", id % 100_000));
    ip(&["link", "add", &veth_a, "netns", &names[0], "type", "veth", "peer", "name", &veth_b, "netns", &names[1]]);
    for (name, dev, addr) in [(&names[0], &veth_a, &a_addr), (&names[1], &veth_b, &b_addr)] {
        ip(&["-n", name, "addr", "add", &format!("{addr}/24"), "dev", dev]);
        ip(&["-n", name, "link", "set", dev, "up"]);
        ip(&["-n", name, "link", "set", "lo", "up"]);
    }
    let dir = std::env::temp_dir().join(format!("tcpladder-merge-{id}"));
    let _ = std::fs::create_dir_all(&dir);
    let files: Vec<PathBuf> = ["a.pcap", "b.pcap"].iter().map(|f| dir.join(f)).collect();
    let port = "18040";
    for ((name, dev), file) in names.iter().zip([&veth_a, &veth_b]).zip(&files) {
        let dump = Command::new("ip")
            .args(["netns", "exec", name, "tcpdump", "-i", dev, "--immediate-mode", "-U", "-n", "-w"])
            .arg(file)
            .args(["tcp port", port].join(" ").split(' '))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tcpdump");
        pair.dumps.push(dump);
    }
    std::thread::sleep(Duration::from_millis(1500));
    let server = format!(
        "import socket; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); \
         s.bind(('{b_addr}', {port})); s.listen(); c,_=s.accept(); d=b''\n\
         while len(d) < 20000: d += c.recv(65536)\n\
         c.sendall(b'y' * 30000); c.recv(10); c.close()"
    );
    let mut serving =
        Command::new("ip").args(["netns", "exec", &names[1], "python3", "-c", &server]).spawn().expect("server");
    std::thread::sleep(Duration::from_millis(500));
    let client = format!(
        "import socket, time; c=socket.create_connection(('{b_addr}', {port})); c.sendall(b'x' * 20000); d=b''\n\
         while len(d) < 30000: d += c.recv(65536)\n\
         time.sleep(0.05); c.close()"
    );
    let done =
        Command::new("ip").args(["netns", "exec", &names[0], "python3", "-c", &client]).status().expect("client");
    assert!(done.success(), "the client failed");
    assert!(serving.wait().expect("server").success(), "the server failed");
    std::thread::sleep(Duration::from_millis(1000));
    for dump in &mut pair.dumps {
        let _ = Command::new("kill").arg(dump.id().to_string()).status();
        let _ = dump.wait();
    }
    let seen = packets_in(&files[0]);
    assert!(seen >= 10, "capture A holds {seen} packets");
    assert_eq!(seen, packets_in(&files[1]), "both ends of the veth pair saw every segment");
    let shifted = dir.join("b-shifted.pcap");
    shift_clock(&files[1], &shifted, Duration::from_micros(2_500_000));
    let output = tcpladder(&["merge", files[0].to_str().unwrap_or(""), shifted.to_str().unwrap_or(""), "--json"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    eprintln!("merge: {report}");
    let offset = report["offset"].as_f64().expect("offset");
    assert!((offset + 2.5).abs() < 0.001, "offset {offset}, expected -2.5 s within 1 ms: {report}");
    assert!(report["uncertainty"].as_f64().is_some_and(|u| u < 0.001), "{report}");
    assert_eq!(report["matched"].as_u64(), Some(seen as u64), "{report}");
    assert_eq!((report["only_a"].as_u64(), report["only_b"].as_u64()), (Some(0), Some(0)));
    // The merged file: both vantage points, B's clock put back, read by tshark.
    let merged = dir.join("merged.pcapng");
    let output = tcpladder(&[
        "merge",
        files[0].to_str().unwrap_or(""),
        shifted.to_str().unwrap_or(""),
        "-o",
        merged.to_str().unwrap_or(""),
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let tshark = Command::new("tshark")
        .args(["-r"])
        .arg(&merged)
        .args(["-T", "fields", "-e", "frame.interface_id", "-e", "frame.time_epoch"])
        .output()
        .expect("tshark");
    let lines: Vec<String> = String::from_utf8_lossy(&tshark.stdout).lines().map(String::from).collect();
    assert_eq!(lines.len(), 2 * seen, "tshark reads both captures in the merged file");
    let times: Vec<f64> = lines.iter().filter_map(|l| l.split('\t').nth(1)?.parse().ok()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "the merged file is in time order");
    assert!(times.last().zip(times.first()).is_some_and(|(l, f)| l - f < 2.0), "B's clock was put back");
    // A segment the client's side saw leave and the server's never saw arrive: lost between them.
    let lossy = dir.join("b-lossy.pcap");
    drop_record(&shifted, &lossy, 3);
    let output = tcpladder(&["merge", files[0].to_str().unwrap_or(""), lossy.to_str().unwrap_or(""), "--conn", "0"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("1 only in A"), "{text}");
    assert!(text.contains("\nconnection 0 seen from both ends: A on the client side"), "{text}");
    assert!(text.contains("; 1 lost between them"), "{text}");
    let lost: Vec<&str> = text.lines().filter(|l| l.contains(" lost  ")).collect();
    assert_eq!(lost.len(), 1, "{text}");
    assert!(lost[0].contains("→"), "the client's segment was lost: {text}");
    // Every other segment arrived after it left: no negative delay once B's clock is corrected.
    assert!(!text.lines().any(|l| l.contains(" -") && l.contains(" µs ")), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The recorded sample (`sample-captures/record_vantage.py`): a client and a server in two
/// namespaces, a router between them dropping 8% of the segments, the server's capture stamped
/// 1.234567 s late.
#[test]
fn the_two_vantage_sample_shows_each_loss_between_the_ends_and_the_clock_offset() {
    let client = crate::util::sample("two-vantage-client.pcap");
    let server = crate::util::sample("two-vantage-server.pcap");
    let (a, b) = (client.to_str().unwrap_or(""), server.to_str().unwrap_or(""));
    let output = tcpladder(&["merge", a, b, "--json"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let offset = report["offset"].as_f64().unwrap_or(0.0);
    assert!((offset + 1.234_567).abs() < 0.001, "{report}");
    let (matched, only_a, only_b) = (report["matched"].as_u64(), report["only_a"].as_u64(), report["only_b"].as_u64());
    assert_eq!(matched.zip(only_a).map(|(m, o)| m + o), Some(packets_in(&client) as u64), "{report}");
    assert_eq!(matched.zip(only_b).map(|(m, o)| m + o), Some(packets_in(&server) as u64), "{report}");
    let output = tcpladder(&["merge", a, b, "--conn", "0"]);
    let text = String::from_utf8_lossy(&output.stdout);
    let lost: Vec<&str> = text.lines().filter(|l| l.contains(" lost  ")).collect();
    assert_eq!(lost.len() as u64, only_a.unwrap_or(0) + only_b.unwrap_or(0), "{text}");
    assert!(!lost.is_empty(), "the router dropped nothing: {text}");
    // A data segment lost on its way is sent again, and that copy arrives: the kernel's own
    // retransmission, paired with its arrival rather than the lost first copy.
    for line in lost.iter().filter(|l| l.contains(" len ") && !l.ends_with(" len 0")) {
        let label = line.split_once("  → ").or_else(|| line.split_once("  ← ")).map_or("", |(_, label)| label);
        let arrived = text.lines().filter(|l| l.ends_with(label) && !l.contains(" lost  ")).count();
        assert!(arrived >= 1, "{label} was lost and never arrived again:\n{text}");
    }
    // Once B's clock is corrected no segment arrives before it left, and none takes a second.
    for line in text.lines().skip(3) {
        assert!(!line.contains(" -0.") && !line.contains(" s  "), "{line}");
    }
}
