//! Flags are printed as tcpdump prints them (`F S R P . U E W e`, `[S.E]`, `[SEW]`, `[FS]`): every
//! packet of every sample, compared with tcpdump's own reading of the file.

use std::process::Command;

use crate::util::{packets, sample};

/// tcpdump's flags per frame number (one line per packet without -v).
fn tcpdump_flags(name: &str) -> Vec<(u64, String)> {
    let path = sample(name);
    let output = Command::new("tcpdump")
        .args(["-r", path.to_str().unwrap_or_default(), "-n", "-tt"])
        .output()
        .unwrap_or_else(|err| panic!("tcpdump is the oracle here and must be installed (.ci/deps): {err}"));
    assert!(output.status.success(), "tcpdump {name}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let flags = line.split_once("Flags [")?.1.split_once(']')?.0;
            Some((i as u64 + 1, flags.to_string()))
        })
        .collect()
}

#[test]
fn every_packets_flags_read_as_tcpdump_prints_them() {
    let dir = sample("");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".pcap"))
        .collect();
    names.sort();
    let mut compared = 0;
    let mut combinations = std::collections::BTreeSet::new();
    for name in &names {
        let theirs = tcpdump_flags(name);
        let ours: Vec<(u64, String)> = packets(name)
            .iter()
            .map(|p| (p["frame"].as_u64().unwrap_or(0), p["flags"].as_str().unwrap_or("").to_string()))
            .collect();
        assert_eq!(ours.len(), theirs.len(), "{name}: packets with TCP flags");
        for (mine, tcpdump) in ours.iter().zip(&theirs) {
            assert_eq!(mine, tcpdump, "{name}: frame {} flags", tcpdump.0);
            combinations.insert(tcpdump.1.clone());
        }
        compared += ours.len();
    }
    println!("{compared} packets in {} samples; flag combinations {combinations:?}", names.len());
    assert!(compared > 5_000, "too few packets compared: {compared}");
}
