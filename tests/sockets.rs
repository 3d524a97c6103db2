//! `tcpladder sockets` against `ss -tanpH` and `/proc/net/netstat` on sockets in known states:
//! tests/fixtures/sockets.py makes them inside a network namespace made for the test (a full
//! accept queue, a CLOSE_WAIT leak in a child of known pid, FIN_WAIT_2 orphans, TIME_WAIT, a
//! process near `RLIMIT_NOFILE`), so that nothing else on the machine is counted. Needs root
//! (for `ip netns`); skipped without it unless TCPLADDER_REQUIRE_LIVE is set, as in CI.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

/// The namespace and the fixture inside it; both go when the test ends, however it ends.
struct Fixture {
    namespace: String,
    child: Child,
    made: Value,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
        let _ = Command::new("ip").args(["netns", "del", &self.namespace]).status();
    }
}

impl Fixture {
    fn start() -> Option<Self> {
        if !crate::util::root_with_tools(&["ip", "ss", "python3"]) {
            return None;
        }
        static MADE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let nth = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let namespace = format!("tlsockets{}-{nth}", std::process::id());
        let made = Command::new("ip").args(["netns", "add", &namespace]).status().expect("ip netns add");
        assert!(made.success(), "ip netns add {namespace}");
        let up = Command::new("ip").args(["-n", &namespace, "link", "set", "lo", "up"]).status().expect("ip link");
        assert!(up.success());
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sockets.py");
        let mut child = Command::new("ip")
            .args(["netns", "exec", &namespace, "python3", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the fixture starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("its stdout")).read_line(&mut line).expect("the fixture reports");
        let made = serde_json::from_str(&line).unwrap_or_else(|err| panic!("fixture said {line:?}: {err}"));
        Some(Self { namespace, child, made })
    }

    fn run(&self, program: &str, args: &[&str]) -> String {
        let output = Command::new("ip")
            .args(["netns", "exec", &self.namespace, program])
            .args(args)
            .output()
            .unwrap_or_else(|err| panic!("{program}: {err}"));
        assert!(output.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).expect("UTF-8")
    }

    fn number(&self, key: &str) -> u64 {
        self.made[key].as_u64().unwrap_or_else(|| panic!("the fixture's {key}"))
    }
}

/// ss's state names in tcpladder's.
fn state_of_ss(name: &str) -> &'static str {
    match name {
        "ESTAB" => "ESTABLISHED",
        "SYN-SENT" => "SYN_SENT",
        "SYN-RECV" => "SYN_RECEIVED",
        "FIN-WAIT-1" => "FIN_WAIT_1",
        "FIN-WAIT-2" => "FIN_WAIT_2",
        "TIME-WAIT" => "TIME_WAIT",
        "CLOSE-WAIT" => "CLOSE_WAIT",
        "LAST-ACK" => "LAST_ACK",
        "LISTEN" => "LISTEN",
        "CLOSING" => "CLOSING",
        other => panic!("ss printed a state this test does not know: {other}"),
    }
}

type Key = (String, String, String, u64, u64);

/// Each socket ss prints, with the pids holding it.
fn ss_sockets(text: &str) -> BTreeMap<Key, BTreeSet<u64>> {
    text.lines()
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let pids = line
                .split("pid=")
                .skip(1)
                .map(|rest| {
                    rest.split(|c: char| !c.is_ascii_digit()).next().and_then(|n| n.parse().ok()).expect("a pid")
                })
                .collect();
            let key = (
                state_of_ss(fields[0]).to_string(),
                fields[3].to_string(),
                fields[4].to_string(),
                fields[1].parse().expect("Recv-Q"),
                fields[2].parse().expect("Send-Q"),
            );
            (key, pids)
        })
        .collect()
}

#[test]
fn sockets_equal_what_ss_and_the_kernels_counters_show() {
    let Some(fixture) = Fixture::start() else { return };
    let binary = env!("CARGO_BIN_EXE_tcpladder");
    let ss = ss_sockets(&fixture.run("ss", &["-tanpH"]));
    let ours: Vec<Value> = serde_json::from_str(&fixture.run(binary, &["sockets", "--json"])).expect("JSON");
    let ours: BTreeMap<Key, Option<u64>> = ours
        .iter()
        .map(|row| {
            let text = |key: &str| row[key].as_str().unwrap_or_else(|| panic!("{key} in {row}")).to_string();
            let number = |key: &str| row[key].as_u64().unwrap_or_else(|| panic!("{key} in {row}"));
            ((text("state"), text("local"), text("peer"), number("recv_q"), number("send_q")), row["pid"].as_u64())
        })
        .collect();
    assert_eq!(ours.keys().collect::<Vec<_>>(), ss.keys().collect::<Vec<_>>(), "the sockets, as ss -tanH shows them");
    for (key, pid) in &ours {
        let holders = &ss[key];
        match pid {
            Some(pid) => assert!(holders.contains(pid), "{key:?}: pid {pid}, ss says {holders:?}"),
            None => assert!(holders.is_empty(), "{key:?}: no process, ss says {holders:?}"),
        }
    }
    assert_eq!(ours.len(), 24, "4 listeners, 4 pairs, a SYN_SENT, 5 CLOSE_WAIT with their 5 FIN_WAIT_2, a TIME_WAIT");
    let v6 = format!("[::1]:{}", fixture.number("v6_port"));
    assert!(ours.keys().any(|(state, local, ..)| state == "LISTEN" && *local == v6), "the IPv6 listener {v6}");

    let summary: Value = serde_json::from_str(&fixture.run(binary, &["sockets", "--summary", "--json"])).expect("JSON");
    let states: BTreeMap<String, u64> =
        summary["states"].as_object().expect("states").iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap())).collect();
    let expected =
        [("CLOSE_WAIT", 5), ("ESTABLISHED", 8), ("FIN_WAIT_2", 5), ("LISTEN", 4), ("SYN_SENT", 1), ("TIME_WAIT", 1)];
    assert_eq!(states, expected.into_iter().map(|(k, v)| (k.to_string(), v)).collect());

    let full = format!("127.0.0.1:{}", fixture.number("full_port"));
    let listener = summary["listeners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["local"] == full.as_str())
        .expect("the full listener");
    assert_eq!((listener["queued"].as_u64(), listener["backlog"].as_u64()), (Some(3), Some(2)));
    assert_eq!(listener["pid"].as_u64(), Some(fixture.number("fixture_pid")));

    let netstat = fixture.run("cat", &["/proc/net/netstat"]);
    let tcp_ext: Vec<Vec<&str>> =
        netstat.lines().filter(|l| l.starts_with("TcpExt:")).map(|l| l.split_whitespace().collect()).collect();
    let counter = |name: &str| -> u64 {
        let at = tcp_ext[0].iter().position(|n| *n == name).unwrap_or_else(|| panic!("{name} in /proc/net/netstat"));
        tcp_ext[1][at].parse().unwrap()
    };
    assert!(counter("ListenOverflows") >= 1, "the fourth client's SYN found the queue full");
    assert_eq!(summary["overflows"].as_u64(), Some(counter("ListenOverflows")));
    assert_eq!(summary["drops"].as_u64(), Some(counter("ListenDrops")));

    let findings = summary["findings"].as_array().expect("findings");
    let finding =
        |code: &str| findings.iter().find(|f| f["code"] == code).unwrap_or_else(|| panic!("{code} in {findings:?}"));
    let leak = finding("close_wait");
    assert_eq!(leak["pid"].as_u64(), Some(fixture.number("leak_pid")));
    let words = format!("holds 5 CLOSE_WAIT sockets on local port {}", fixture.number("leak_port"));
    assert!(leak["text"].as_str().unwrap().contains(&words), "{leak}");
    assert!(finding("accept_queue_full")["text"].as_str().unwrap().contains("(3 of 2)"));

    let limited = fixture.number("limited_pid");
    assert_eq!(finding("fd_limit")["pid"].as_u64(), Some(limited));
    let process =
        summary["processes"].as_array().unwrap().iter().find(|p| p["pid"] == limited).expect("the limited process");
    let open = std::fs::read_dir(format!("/proc/{limited}/fd")).expect("its fds").count() as u64;
    assert_eq!((process["open_fds"].as_u64(), process["fd_limit"].as_u64()), (Some(open), Some(16)));
}

/// The seconds `ss -o` gives a socket's timer: `timer:(timewait,59sec,0)` → 59.
fn ss_timer_seconds(line: &str) -> Option<f64> {
    let timer = line.split("timer:(").nth(1)?;
    let left = timer.split(',').nth(1)?;
    let (number, unit) = left.split_at(left.find(|c: char| c.is_ascii_alphabetic())?);
    let number: f64 = number.parse().ok()?;
    Some(match unit {
        "ms" => number / 1e3,
        "sec" => number,
        "min" => number * 60.0,
        _ => return None,
    })
}

#[test]
fn timers_equal_what_ss_shows() {
    let Some(fixture) = Fixture::start() else { return };
    let ss = fixture.run("ss", &["-tanoH", "state", "time-wait"]);
    let ours: Vec<Value> = serde_json::from_str(
        &fixture.run(env!("CARGO_BIN_EXE_tcpladder"), &["sockets", "--json", "--state", "time-wait"]),
    )
    .expect("JSON");
    assert_eq!(ours.len(), 1, "{ours:?}");
    let theirs = ss_timer_seconds(ss.lines().next().expect("ss shows the TIME_WAIT socket")).expect("its timer");
    assert_eq!(ours[0]["timer"]["kind"], "time_wait");
    let left = ours[0]["timer"]["remaining_ms"].as_f64().expect("remaining_ms") / 1e3;
    assert!((left - theirs).abs() <= 1.5 && left <= 60.0, "TIME_WAIT ends in {left} s; ss says {theirs} s");
    let syn_sent: Vec<Value> = serde_json::from_str(
        &fixture.run(env!("CARGO_BIN_EXE_tcpladder"), &["sockets", "--json", "--state", "SYN_SENT"]),
    )
    .expect("JSON");
    assert_eq!(syn_sent[0]["timer"]["kind"], "retransmit", "{syn_sent:?}");
}

#[test]
fn a_state_that_is_not_one_is_refused_with_the_names_that_are() {
    let output = crate::util::tcpladder(&["sockets", "--state", "WAITING"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a TCP state: WAITING (try CLOSE_WAIT"));
}

#[test]
fn without_permission_the_view_says_what_it_cannot_see_and_how_to_see_it() {
    let Some(fixture) = Fixture::start() else { return };
    // A copy anyone may run: the build directory may be under a home only root can enter.
    let dir = std::env::temp_dir().join(format!("tcpladder-sockets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a directory");
    let binary = dir.join("tcpladder");
    std::fs::copy(env!("CARGO_BIN_EXE_tcpladder"), &binary).expect("a copy");
    let _ = Command::new("chmod").args(["-R", "a+rX"]).arg(&dir).status();
    let binary = binary.to_str().expect("a UTF-8 path");
    let as_nobody = ["--reuid=65534", "--regid=65534", "--clear-groups", binary, "sockets"];
    let table: Vec<Value> =
        serde_json::from_str(&fixture.run("setpriv", &[&as_nobody[..], &["--json"]].concat())).expect("JSON");
    assert_eq!(table.len(), 24, "the table needs no privilege");
    assert!(table.iter().all(|row| row["pid"].is_null()), "root's processes cannot be looked at");
    let summary: Value =
        serde_json::from_str(&fixture.run("setpriv", &[&as_nobody[..], &["--summary", "--json"]].concat()))
            .expect("JSON");
    let unseen = summary["unseen"].as_str().expect("the summary says what it cannot see");
    assert!(unseen.contains("sockets show no process"), "{unseen}");
    assert!(unseen.contains("setcap cap_sys_ptrace,cap_dac_read_search+ep"), "{unseen}");
    let _ = std::fs::remove_dir_all(dir);
}
