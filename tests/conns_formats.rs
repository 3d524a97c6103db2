//! `conns --format jsonl` and `--format zeek`, parsed back: JSON Lines hold the rows of `--json`
//! exactly; Zeek's conn.log is read through its own header lines and says what `--json` says, and
//! its rows join tcpladder.log's by `uid`.

use std::collections::HashMap;

use serde_json::Value;

use crate::util::{conns, sample, tcpladder};

fn stdout(args: &[&str]) -> String {
    let output = tcpladder(args);
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The rows of a Zeek log, each a map from the `#fields` names to its cells.
fn zeek_rows(log: &str) -> Vec<HashMap<String, String>> {
    let fields: Vec<&str> =
        log.lines().find_map(|l| l.strip_prefix("#fields\t")).expect("a #fields line").split('\t').collect();
    let types = log.lines().find_map(|l| l.strip_prefix("#types\t")).expect("a #types line");
    assert_eq!(types.split('\t').count(), fields.len(), "a type for each field");
    assert!(
        log.starts_with("#separator \\x09\n")
            && log.trim_end().lines().last().is_some_and(|l| l.starts_with("#close\t"))
    );
    log.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|line| {
            let cells: Vec<&str> = line.split('\t').collect();
            assert_eq!(cells.len(), fields.len(), "{line}");
            fields.iter().zip(cells).map(|(f, c)| (f.to_string(), c.to_string())).collect()
        })
        .collect()
}

#[test]
fn json_lines_hold_the_rows_of_json_one_per_line() {
    for name in ["nginx-keepalive.pcap", "keepalive-race.pcap", "close-wait-pileup.pcap"] {
        let path = sample(name);
        let lines = stdout(&["conns", path.to_str().unwrap_or_default(), "--format", "jsonl"]);
        let parsed: Vec<Value> =
            lines.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}: {e}: {l}"))).collect();
        assert_eq!(parsed, conns(name), "{name}");
    }
}

#[test]
fn the_zeek_conn_log_says_what_json_says() {
    let name = "close-wait-pileup.pcap";
    let path = sample(name);
    let log = stdout(&["conns", path.to_str().unwrap_or_default(), "--format", "zeek"]);
    let rows = zeek_rows(&log);
    let json = conns(name);
    assert_eq!(rows.len(), json.len());
    for (row, conn) in rows.iter().zip(&json) {
        let client = conn["client"].as_str().unwrap_or_default();
        assert_eq!(format!("{}:{}", row["id.orig_h"], row["id.orig_p"]), client);
        assert_eq!(row["proto"], "tcp");
        assert_eq!(row["conn_state"], conn["conn_state"].as_str().unwrap_or_default());
        assert_eq!(row["history"], conn["history"].as_str().unwrap_or_default());
        assert_eq!(row["orig_pkts"], conn["packets_c2s"].to_string());
        assert_eq!(row["resp_pkts"], conn["packets_s2c"].to_string());
        assert_eq!(row["ts"], format!("{:.6}", conn["first_ts"].as_f64().unwrap_or_default()));
        assert!(row["uid"].starts_with('C') && row["uid"].len() == 12, "{}", row["uid"]);
    }
}

#[test]
fn the_two_zeek_logs_join_by_uid() {
    let dir = std::env::temp_dir().join(format!("tcpladder-zeek-{}", std::process::id()));
    let path = sample("keepalive-race.pcap");
    let output = tcpladder(&[
        "conns",
        path.to_str().unwrap_or_default(),
        "--format",
        "zeek",
        "-o",
        dir.to_str().unwrap_or_default(),
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let read = |file: &str| std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let (conn, ours) = (zeek_rows(&read("conn.log")), zeek_rows(&read("tcpladder.log")));
    let json = conns("keepalive-race.pcap");
    assert_eq!((conn.len(), ours.len()), (json.len(), json.len()));
    for ((row, mine), conn_json) in conn.iter().zip(&ours).zip(&json) {
        assert_eq!(row["uid"], mine["uid"]);
        assert_eq!(mine["client_state"], conn_json["client_state"].as_str().unwrap_or_default());
        assert_eq!(mine["server_state"], conn_json["server_state"].as_str().unwrap_or_default());
        let codes: Vec<&str> =
            conn_json["diagnoses"].as_array().into_iter().flatten().filter_map(|d| d["code"].as_str()).collect();
        let mut codes = codes;
        codes.dedup();
        assert_eq!(mine["diagnoses"], if codes.is_empty() { "(empty)".to_string() } else { codes.join(",") });
    }
    assert!(ours.iter().any(|r| r["diagnoses"].contains("stale_keepalive")), "{ours:?}");
    // -o is for the Zeek logs only.
    let refused = tcpladder(&["conns", path.to_str().unwrap_or_default(), "--format", "jsonl", "-o", "x"]);
    assert!(!refused.status.success());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A file past the memory limit is read to its end: the oldest connections are dropped from the
/// list, and the command says how many and how to raise the limit; the rows it lists are the
/// newest, as the unbounded read has them.
#[test]
fn a_file_past_the_memory_limit_is_read_whole_and_says_what_it_left_out() {
    let flood = crate::util::temp_file("limit-flood.pcap", &[]);
    crate::synth::syn_flood(20_000, &mut crate::synth::pcap_sink(&flood));
    let path = flood.to_str().unwrap_or_default();
    let unbounded: Vec<Value> = serde_json::from_str(&stdout(&["conns", "--json", path])).expect("JSON");
    let output = tcpladder(&["conns", "--json", "--memory-limit", "4", path]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let said = String::from_utf8_lossy(&output.stderr);
    let bounded: Vec<Value> = serde_json::from_slice(&output.stdout).expect("JSON");
    let left_out = unbounded.len() - bounded.len();
    assert!(left_out > 0 && !bounded.is_empty(), "{} of {} listed", bounded.len(), unbounded.len());
    assert!(
        said.contains("The memory limit (4 MB) was reached")
            && said.contains(&format!("the {left_out} oldest connections ("))
            && said.contains("--memory-limit MB"),
        "{said}"
    );
    assert_eq!(bounded[..], unbounded[left_out..], "the newest connections, as the unbounded read lists them");
    // Asking for a dropped connection says why it is not there, and the remedy.
    let output = tcpladder(&["ladder", "--conn", "0", "--memory-limit", "4", path]);
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && said.contains("connection 0 was dropped to stay under the memory limit"),
        "{said}"
    );
    let _ = std::fs::remove_file(flood);
}
