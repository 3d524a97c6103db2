//! Live capture on loopback: `tcpladder capture` and tcpdump capture the same real traffic, and
//! tcpladder must find the same connections and states in both. Needs permission to capture
//! (root or cap_net_raw); skipped without it unless TCPLADDER_REQUIRE_LIVE is set, as in CI.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::util::tcpladder;

fn summary(rows: &[Value]) -> Vec<(String, String, String, String, u64)> {
    rows.iter()
        .map(|r| {
            let text = |key: &str| r[key].as_str().unwrap_or_default().to_string();
            (
                text("client_state"),
                text("server_state"),
                text("conn_state"),
                text("history"),
                r["packets"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

pub fn permitted() -> bool {
    let probe = tcpladder(&["capture", "-i", "lo", "--count", "0", "--duration", "0"]);
    let allowed = probe.status.success();
    if !allowed {
        let why = String::from_utf8_lossy(&probe.stderr).to_string();
        assert!(std::env::var_os("TCPLADDER_REQUIRE_LIVE").is_none(), "live capture required but not permitted: {why}");
        eprintln!("live capture not permitted here, skipped: {why}");
    }
    allowed
}

/// A request, a response and a client-first close on 127.0.0.1:`port`.
pub fn drive(port: u16) {
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap_or_else(|err| panic!("bind: {err}"));
    let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap_or_else(|err| panic!("connect: {err}"));
    let (mut server, _) = listener.accept().unwrap_or_else(|err| panic!("accept: {err}"));
    let mut buffer = [0u8; 16];
    client.write_all(b"hello").unwrap_or_else(|err| panic!("{err}"));
    let _ = server.read(&mut buffer);
    server.write_all(b"world").unwrap_or_else(|err| panic!("{err}"));
    let _ = client.read(&mut buffer);
    drop(client);
    let _ = server.read(&mut buffer);
    drop(server);
}

#[test]
fn a_live_capture_equals_a_tcpdump_capture_of_the_same_traffic() {
    if !permitted() {
        return;
    }
    let port = 18_600 + (std::process::id() % 200) as u16;
    let dir = std::env::temp_dir().join(format!("tcpladder-live-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let saved = dir.join("live.pcapng");
    let reference = dir.join("tcpdump.pcap");
    let filter = format!("tcp port {port}");
    let ours = Command::new(env!("CARGO_BIN_EXE_tcpladder"))
        .args(["capture", "-i", "lo", "-f", &filter, "--duration", "3", "--json", "-w"])
        .arg(&saved)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("{err}"));
    let tcpdump = Command::new("tcpdump")
        .args(["-i", "lo", "-U", "--immediate-mode", "-w"])
        .arg(&reference)
        .arg(&filter)
        .stderr(Stdio::null())
        .spawn();
    std::thread::sleep(Duration::from_millis(800));
    drive(port);
    let output = ours.wait_with_output().unwrap_or_else(|err| panic!("{err}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    // The kernel counts each loopback packet as sent and as received; libpcap keeps one copy.
    assert!(stderr.contains("tcpladder: 10 packets in "), "{stderr}");
    // Once in some runs of the whole suite, the filter's count was 24 with the same 10 packets
    // kept (traffic of another test matching the port, not yet explained): the count is checked
    // to be at least twice the packets, and what was kept is checked against tcpdump below.
    let received: u64 = stderr
        .split(" received by the filter")
        .next()
        .and_then(|head| head.rsplit('(').next())
        .and_then(|count| count.trim().parse().ok())
        .unwrap_or_else(|| panic!("no filter count: {stderr}"));
    assert!(received >= 20 && received.is_multiple_of(2), "{stderr}");
    assert!(stderr.contains(" 0 dropped by the kernel; on lo the kernel counts each packet twice"), "{stderr}");
    let live: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap_or_else(|err| panic!("JSON: {err}"));
    assert_eq!(summary(&live), [("TIME_WAIT".into(), "CLOSED".into(), "SF".into(), "ShADadFf".into(), 10)]);
    let from_file = tcpladder(&["conns", "--json", saved.to_str().unwrap_or_default()]);
    let from_file: Vec<Value> = serde_json::from_slice(&from_file.stdout).unwrap_or_else(|err| panic!("JSON: {err}"));
    assert_eq!(summary(&from_file), summary(&live), "the saved file holds what was analysed live");
    if let Ok(mut tcpdump) = tcpdump {
        std::thread::sleep(Duration::from_millis(300));
        let _ = Command::new("kill").arg("-INT").arg(tcpdump.id().to_string()).status();
        let _ = tcpdump.wait();
        let reference = tcpladder(&["conns", "--json", reference.to_str().unwrap_or_default()]);
        let reference: Vec<Value> =
            serde_json::from_slice(&reference.stdout).unwrap_or_else(|err| panic!("JSON: {err}"));
        assert_eq!(summary(&reference), summary(&live), "tcpdump saw the same connection and states");
    }
    if let Ok(tshark) = Command::new("tshark").arg("-r").arg(&saved).output() {
        assert!(tshark.status.success(), "tshark cannot read the saved pcapng");
        assert_eq!(String::from_utf8_lossy(&tshark.stdout).lines().count(), 10);
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_bad_filter_is_reported_with_libpcaps_reason() {
    let output = tcpladder(&["capture", "-i", "lo", "-f", "tcp prot 80", "--duration", "1"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Without permission the device fails first, with the remedy; with it, the filter does.
    assert!(stderr.contains("bad capture filter `tcp prot 80`") || stderr.contains("setcap"), "{stderr}");
}

#[test]
fn a_lesson_performs_its_scenario_while_capturing_and_places_the_errno() {
    let _ports = crate::util::lesson_ports();
    if !permitted() {
        return;
    }
    let output = tcpladder(&["lesson", "reset-by-peer"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("[R.]"), "the reset is drawn: {text}");
    assert!(text.contains("reset_by_peer (client"), "{text}");
    let errno =
        text.lines().find(|l| l.contains("read()") && l.contains("→ ECONNRESET")).unwrap_or_else(|| panic!("{text}"));
    assert!(errno.contains("(after frame"), "the errno sits after the segment that caused it: {errno}");
}

#[test]
fn a_lesson_that_idles_for_a_second_is_captured_to_its_end() {
    let _ports = crate::util::lesson_ports();
    if !permitted() {
        return;
    }
    // The capture's queue fills while a lesson idles; it is read as the lesson plays, so the
    // segments after the pause (the server's FIN, the request, the RST) are on the ladder.
    let output = tcpladder(&["lesson", "keepalive-race"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("stale_keepalive (client"), "{text}");
    assert!(text.contains("«GET /second HTTP/1.1 · host lesson.local»"), "{text}");
    assert!(text.lines().any(|l| l.contains("write()") && l.contains("→ EPIPE")), "{text}");
}

#[test]
fn without_permission_a_lesson_shows_its_recording_and_the_remedy() {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let setpriv = Command::new("setpriv").arg("--version").output().is_ok_and(|o| o.status.success());
    if !root || !setpriv {
        eprintln!("needs root and setpriv to run as an unprivileged user: skipped");
        return;
    }
    // An unprivileged user must be able to read the binary and the samples beside it.
    let dir = std::env::temp_dir().join(format!("tcpladder-nobody-{}", std::process::id()));
    let samples = dir.join("sample-captures");
    std::fs::create_dir_all(&samples).unwrap_or_else(|err| panic!("{err}"));
    let binary = dir.join("tcpladder");
    std::fs::copy(env!("CARGO_BIN_EXE_tcpladder"), &binary).unwrap_or_else(|err| panic!("{err}"));
    for name in ["handshake-client-close.pcap", "broken-pipe.pcap"] {
        std::fs::copy(crate::util::sample(name), samples.join(name)).unwrap_or_else(|err| panic!("{err}"));
    }
    let _ = Command::new("chmod").args(["-R", "a+rX"]).arg(&dir).status();
    let output = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&binary)
        .args(["lesson", "broken-pipe"])
        .output()
        .unwrap_or_else(|err| panic!("{err}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("setcap cap_net_raw=eip {}", binary.display())), "{stderr}");
    assert!(stdout.contains("this is a recording of the same scenario"), "{stdout}");
    assert!(stdout.contains("broken_pipe (client"), "{stdout}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_unprivileged_user_captures_through_the_helper_that_alone_holds_cap_net_raw() {
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let tools = ["setpriv", "setcap", "getcap"].iter().all(|tool| {
        Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().is_ok_and(|o| o.status.success())
    });
    if !root || !tools {
        assert!(std::env::var_os("TCPLADDER_REQUIRE_LIVE").is_none(), "needs root, setpriv, setcap and getcap");
        eprintln!("needs root, setpriv, setcap and getcap: skipped");
        return;
    }
    let dir = std::env::temp_dir().join(format!("tcpladder-helper-{}", std::process::id()));
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap_or_else(|err| panic!("{err}"));
    let (binary, helper) = (dir.join("tcpladder"), dir.join("tcpladder-capture"));
    std::fs::copy(env!("CARGO_BIN_EXE_tcpladder"), &binary).unwrap_or_else(|err| panic!("{err}"));
    std::fs::copy(env!("CARGO_BIN_EXE_tcpladder-capture"), &helper).unwrap_or_else(|err| panic!("{err}"));
    let _ = Command::new("chmod").args(["-R", "a+rX"]).arg(&dir).status();
    let _ = Command::new("chmod").arg("a+rwx").arg(&out).status();
    let setcap = Command::new("setcap").arg("cap_net_raw=eip").arg(&helper).output();
    assert!(setcap.is_ok_and(|o| o.status.success()), "setcap failed");
    let saved = out.join("saved.pcap");
    let capture = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&binary)
        .args(["capture", "-i", "lo", "-f", "tcp port 18041", "--duration", "3", "--json", "-w"])
        .arg(&saved)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("{err}"));
    std::thread::sleep(std::time::Duration::from_millis(1_000));
    drive(18041);
    let output = capture.wait_with_output().unwrap_or_else(|err| panic!("{err}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let rows: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap_or_else(|err| panic!("{err}: {stderr}"));
    assert_eq!(summary(&rows).len(), 1, "{rows:?}");
    assert_eq!(rows[0]["server"], "127.0.0.1:18041");
    // The helper wrote the save file as the unprivileged user; it holds the same connection.
    let saved_rows = tcpladder(&["conns", "--json", saved.to_str().unwrap_or_default()]);
    let saved_rows: Vec<Value> = serde_json::from_slice(&saved_rows.stdout).unwrap_or_default();
    assert_eq!(summary(&saved_rows), summary(&rows));
    // Only the helper holds the capability.
    let caps = |path: &std::path::Path| {
        Command::new("getcap").arg(path).output().map(|o| String::from_utf8_lossy(&o.stdout).to_string())
    };
    assert!(caps(&helper).is_ok_and(|c| c.contains("cap_net_raw")));
    assert!(caps(&binary).is_ok_and(|c| c.trim().is_empty()));
    let _ = std::fs::remove_dir_all(dir);
}
