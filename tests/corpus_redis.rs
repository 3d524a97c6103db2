//! Redis as tshark's RESP dissector reads it: the command each client frame starts, and its key, on
//! the corpus's Redis captures and the redis sample. tshark decodes RESP by port only (6379, or
//! what `-d` says), tcpladder by content: inline commands (`PING\r\n`, which tshark shows without
//! fields) are not compared.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use tcpladder::protocols::MessageKind;

use super::corpus_dir;
use super::http::load;

/// The corpus's Redis captures and the port each one's server listens on.
const REDIS_CAPTURES: &[(&str, u16)] =
    &[("tcpdump/resp_1_benchmark.pcap", 6379), ("zeek/Traces/redis/django-cloud.pcapng", 10625)];

/// Each client frame that starts a RESP array: the command's name and key, as tshark decodes them.
fn tshark(path: &Path, port: u16) -> BTreeMap<u32, (String, String)> {
    let output = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(path)
        .args(["-d", &format!("tcp.port=={port},resp"), "-Y", &format!("resp && tcp.dstport=={port}")])
        .args(["-T", "fields", "-E", "separator=/t", "-e", "frame.number", "-e", "resp.bulk_string.value"])
        .output()
        .expect("tshark runs (CI installs it)");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let (frame, values) = line.split_once('\t')?;
            let mut values = values.split(',').filter(|value| !value.is_empty()).map(unhex);
            let name = values.next()?.to_ascii_uppercase();
            Some((frame.parse().ok()?, (name, values.next().unwrap_or_default())))
        })
        .collect()
}

/// tshark prints a bulk string's bytes in hex.
fn unhex(hex: &str) -> String {
    let bytes: Vec<u8> =
        (0..hex.len() / 2).filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn redis_commands_agree_with_tshark_on_the_corpus() {
    let corpus = corpus_dir();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-captures/redis.pcap");
    let paths = REDIS_CAPTURES
        .iter()
        .map(|(capture, port)| (capture.to_string(), corpus.join(capture), *port))
        .chain([("sample redis.pcap".to_string(), sample, 18020)]);
    let (mut found, mut agree, mut total) = (0, 0, 0);
    let mut differences = Vec::new();
    for (capture, path, port) in paths {
        let engine = load(&path).unwrap_or_else(|| panic!("{capture} reads"));
        let mut ours: BTreeMap<u32, (String, String)> = BTreeMap::new();
        for message in
            engine.connections().iter().filter_map(|c| engine.conversation(c.id)).flat_map(|c| c.messages().iter())
        {
            if let MessageKind::Command(command) = &message.kind {
                let (name, key) = command.as_ref();
                ours.entry(message.head_frame).or_insert_with(|| (name.clone(), key.clone().unwrap_or_default()));
            }
        }
        for (frame, theirs) in tshark(&path, port) {
            total += 1;
            let Some(ours) = ours.get(&frame) else {
                differences.push(format!("{capture} frame {frame}: no command found (tshark: {theirs:?})"));
                continue;
            };
            found += 1;
            if *ours == theirs {
                agree += 1;
            } else {
                differences.push(format!("{capture} frame {frame}: ours {ours:?}, tshark {theirs:?}"));
            }
        }
    }
    println!(
        "\nRedis commands against tshark on {} captures of the corpus and the redis sample:",
        REDIS_CAPTURES.len()
    );
    println!("commands found {found} of {total}; name and key agree {agree} of {found}");
    for difference in &differences {
        println!("  {difference}");
    }
    assert!(total >= 90, "tshark found {total} commands: the captures are not what this test expects");
    assert_eq!(agree, found, "where a command is found, its name and key agree");
    assert_eq!(found, total, "every command tshark decodes is found");
}
