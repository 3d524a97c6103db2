//! `conns` writes each connection's row once the connection has ended and lets it go: on every
//! sample capture put one after another (200 s apart, so each block's connections end long
//! before the next), behind a connection open from the first packet to the last (every later
//! row waits for its in id order), the rows equal those of `--hold-all`, in every format.

use std::io::Write;

use tcpladder::capture::format::{pcap_file_header, pcap_record_header};
use tcpladder::capture::CaptureFile;
use tcpladder::wire::LinkType;

use crate::synth::{Talk, ACK, CLIENT, PSH, SERVER};
use crate::util::tcpladder;

const SECOND: i64 = 1_000_000_000;

/// Every Ethernet sample capture, each moved to start 200 s after the one before, with one
/// long connection's keep-alive exchange before each.
fn samples_one_after_another(path: &std::path::Path) -> usize {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    out.write_all(&pcap_file_header(LinkType::Ethernet.dlt(), 65_535)).unwrap();
    let ethernet = |ip: &[u8]| [&[0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 8, 0][..], ip].concat();
    let mut long = Talk::new(40_000, 1_000, 9_000);
    long.ends.client.ip = [10, 9, 9, 1];
    long.ends.server.ip = [10, 9, 9, 2];
    let start = 1_800_000_000 * SECOND;
    long.ts_nanos = start;
    let mut frames = Vec::new();
    long.handshake(&[], &mut |ts, frame| frames.push((ts, ethernet(frame))));
    let mut names: Vec<_> = std::fs::read_dir(crate::util::sample(""))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    names.sort();
    let mut blocks = 0;
    for path in names {
        let mut file = CaptureFile::open(&path).unwrap();
        let mut packets = Vec::new();
        while let Ok(Some(packet)) = file.next_packet() {
            if packet.link != LinkType::Ethernet {
                break;
            }
            packets.push((packet.ts_nanos, packet.data.to_vec()));
        }
        let Some(&(first, _)) = packets.first().filter(|_| file.link() == Some(LinkType::Ethernet)) else { continue };
        blocks += 1;
        let block_start = start + blocks as i64 * 200 * SECOND;
        long.ts_nanos = block_start - SECOND;
        for (side, flags, len) in [(CLIENT, PSH | ACK, 1), (SERVER, ACK, 0)] {
            let (ts, frame) = long.send(side, flags, len, &[]);
            frames.push((ts, ethernet(frame)));
        }
        for (ts, data) in packets {
            assert!(ts - first < 190 * SECOND, "{}: longer than a block", path.display());
            frames.push((block_start + ts - first, data));
        }
    }
    for (ts, frame) in frames {
        out.write_all(&pcap_record_header(ts, frame.len() as u32, frame.len() as u32)).unwrap();
        out.write_all(&frame).unwrap();
    }
    out.flush().unwrap();
    blocks
}

fn stdout(args: &[&str]) -> (String, String) {
    let output = tcpladder(args);
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn rows_written_as_connections_end_are_the_rows_of_holding_all() {
    let dir = std::env::temp_dir().join(format!("tcpladder-retire-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let capture = dir.join("samples.pcap");
    let blocks = samples_one_after_another(&capture);
    assert!(blocks >= 30, "{blocks} sample captures");
    let file = capture.to_str().unwrap();
    let (_, stats) = stdout(&["conns", file, "--stats"]);
    let retired: u64 = stats
        .lines()
        .find_map(|l| l.strip_prefix("tcpladder: rows written as their connections ended: "))
        .and_then(|n| n.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no count of retired connections in {stats}"));
    assert!(retired >= 40, "only {retired} connections retired");
    for format in ["table", "json", "zeek"] {
        let (retiring, _) = stdout(&["conns", file, "--format", format]);
        let (holding, _) = stdout(&["conns", file, "--format", format, "--hold-all"]);
        assert!(retiring == holding, "--format {format} differs from --hold-all");
        // The rows behind the long connection, moved to disk a few at a time, come back in order.
        let spilled =
            crate::util::tcpladder_with_env(&["conns", file, "--format", format], &[("TCPLADDER_SPILL_BYTES", "2000")]);
        assert!(spilled.status.success());
        let note = String::from_utf8_lossy(&spilled.stderr);
        assert!(note.contains("rows waited in temporary files"), "nothing was spilled: {note}");
        assert!(String::from_utf8_lossy(&spilled.stdout) == holding, "--format {format} spilled differs");
    }
    // JSON Lines go out as connections end: the same lines, in another order.
    let sorted = |text: String| {
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        lines.sort();
        lines
    };
    let (retiring, _) = stdout(&["conns", file, "--format", "jsonl"]);
    let (holding, _) = stdout(&["conns", file, "--format", "jsonl", "--hold-all"]);
    assert_eq!(sorted(retiring), sorted(holding));
    let logs = |name: &str, hold: bool| {
        let out = dir.join(name);
        let mut args = vec!["conns", file, "--format", "zeek", "-o", out.to_str().unwrap()];
        args.extend(hold.then_some("--hold-all"));
        stdout(&args);
        ["conn.log", "tcpladder.log"].map(|log| std::fs::read_to_string(out.join(log)).unwrap())
    };
    assert!(logs("retiring", false) == logs("holding", true), "the Zeek logs differ");
    std::fs::remove_dir_all(&dir).ok();
}

/// The library's way, with the conversations decoded beside the tracking (no decode thread):
/// the rows of retired connections and of those held to the end are the rows of a read that
/// retires none.
#[test]
fn the_retirer_gives_the_rows_of_a_read_that_holds_all() {
    use std::ops::ControlFlow;
    use tcpladder::session::read_capture;
    use tcpladder::summary::retire::Retirer;
    use tcpladder::EngineConfig;

    let dir = std::env::temp_dir().join(format!("tcpladder-retirer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let capture = dir.join("samples.pcap");
    samples_one_after_another(&capture);
    let row_json = |row: &tcpladder::summary::ConnRow| serde_json::to_value(row).unwrap();
    let held = read_capture(&capture, EngineConfig::default(), 1 << 20, |_, _| ControlFlow::Continue(())).unwrap();
    let expected: Vec<serde_json::Value> = tcpladder::summary::rows_of(&held.engine).map(|r| row_json(&r)).collect();

    let mut retirer = Retirer::default();
    let mut rows = Vec::new();
    let mut waiting = Vec::new();
    let config = EngineConfig { retire_ended: true, ..EngineConfig::default() };
    let read = read_capture(&capture, config, 512, |_, engine| {
        let end = engine.capture_end_nanos();
        for gone in retirer.retire(engine) {
            let row =
                tcpladder::summary::ConnRow::new(&gone.retired.connection, gone.retired.conversation.as_deref(), end);
            if gone.awaits_links {
                if let Some(conversation) = &gone.retired.conversation {
                    retirer.keep_for_links(&gone.retired.connection, conversation);
                }
                waiting.push(row);
            } else {
                rows.push(row);
            }
        }
        ControlFlow::Continue(())
    })
    .unwrap();
    assert!(rows.len() + waiting.len() >= 40, "only {} retired", rows.len() + waiting.len());
    assert!(!waiting.is_empty(), "no retired connection awaited its links");
    let mut at_end = retirer.rows(&read.engine);
    for row in &mut waiting {
        row.links = at_end.take_links(row.id);
    }
    rows.extend(at_end);
    rows.extend(waiting);
    rows.sort_by_key(|row| row.id);
    let got: Vec<serde_json::Value> = rows.iter().map(row_json).collect();
    assert_eq!(got.len(), expected.len());
    for (got, expected) in got.iter().zip(&expected) {
        assert_eq!(got, expected);
    }
    std::fs::remove_dir_all(&dir).ok();
}
