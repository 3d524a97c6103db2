//! Damaged files: cut at every byte, bits flipped across the headers, absurd lengths and snaplens,
//! timestamps backwards and far ahead, empty and one-byte packets, link types mixed in one pcapng.
//! Each gives a message that says what is wrong and where (packet number, byte offset) and keeps
//! every packet before the damage.

use std::ops::ControlFlow;

use tcpladder::capture::pcapng::PcapNgWriter;
use tcpladder::capture::reader::CaptureReader;
use tcpladder::error::CaptureError;
use tcpladder::session::{read_capture, ReadOutcome};
use tcpladder::wire::LinkType;
use tcpladder::EngineConfig;

use crate::util::{sample, tcpladder, temp_file};

fn read(bytes: &[u8]) -> Result<ReadOutcome, CaptureError> {
    // Tests run in parallel: a file each.
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = temp_file(&format!("damaged-{n}.bin"), bytes);
    let outcome = read_capture(&path, EngineConfig::default(), u64::MAX, |_, _| ControlFlow::Continue(()));
    let _ = std::fs::remove_file(path);
    outcome
}

/// Where each record of a sound pcap ends.
fn record_ends(bytes: &[u8]) -> Vec<usize> {
    let mut reader = CaptureReader::new(bytes).unwrap_or_else(|err| panic!("{err}"));
    let mut ends = Vec::new();
    while let Ok(Some(packet)) = reader.next_packet() {
        ends.push(packet.offset as usize + 16 + packet.data.len());
    }
    ends
}

/// Appends every packet of sample `name` to `writer`; returns the sample's link type.
fn copy_sample(name: &str, writer: &mut PcapNgWriter) -> Option<LinkType> {
    let bytes = std::fs::read(sample(name)).unwrap_or_default();
    let mut reader = CaptureReader::new(&bytes[..]).unwrap_or_else(|err| panic!("{err}"));
    while let Ok(Some(p)) = reader.next_packet() {
        writer.write(p.link.dlt(), p.ts_nanos, p.data, p.original_len).unwrap_or_else(|err| panic!("{err}"));
    }
    reader.link()
}

/// A pcapng holding the same packets as `sample`.
fn as_pcapng(sample_name: &str) -> Vec<u8> {
    let path = std::env::temp_dir().join(format!("tcpladder-damaged-ng-{}.pcapng", std::process::id()));
    let mut writer = PcapNgWriter::create(&path, 65_535).unwrap_or_else(|err| panic!("{err}"));
    copy_sample(sample_name, &mut writer);
    writer.flush().unwrap_or_else(|err| panic!("{err}"));
    drop(writer);
    let out = std::fs::read(&path).unwrap_or_default();
    let _ = std::fs::remove_file(path);
    out
}

#[test]
fn cut_at_every_byte_keeps_every_whole_packet_and_says_where() {
    let whole = std::fs::read(sample("broken-pipe.pcap")).unwrap_or_default();
    let ends = record_ends(&whole);
    for end in 0..=whole.len() {
        let complete = ends.iter().filter(|&&e| e <= end).count() as u64;
        match read(&whole[..end]) {
            Err(CaptureError::NotACapture { why, .. }) => assert!(end < 24, "{end}: {why}"),
            Err(other) => panic!("{end}: {other}"),
            Ok(outcome) => {
                assert_eq!(outcome.engine.stats().packets, complete, "cut at {end}");
                let at_boundary = end == 24 || ends.contains(&end);
                match outcome.damage {
                    None => assert!(at_boundary, "cut at {end} inside a record went unnoticed"),
                    Some(damage) => {
                        assert!(!at_boundary, "cut at {end} is a clean end");
                        assert_eq!(damage.packets_read, complete);
                        let record_start = ends.iter().rev().find(|&&e| e <= end).copied().unwrap_or(24);
                        assert_eq!(damage.byte_offset, record_start as u64, "cut at {end}: {damage}");
                        let text = damage.to_string();
                        assert!(text.contains(&format!("packet {}", complete + 1)), "{text}");
                        assert!(text.contains(&format!("byte {record_start}")), "{text}");
                    }
                }
            }
        }
    }
}

#[test]
fn a_pcapng_cut_at_every_byte_keeps_every_whole_block() {
    let whole = as_pcapng("half-close.pcap");
    let total = read(&whole).map(|o| o.engine.stats().packets).unwrap_or_default();
    let mut last = 0;
    for end in 0..=whole.len() {
        let Ok(outcome) = read(&whole[..end]) else { continue };
        let packets = outcome.engine.stats().packets;
        assert!(packets >= last, "a longer prefix never reads fewer packets");
        last = packets;
        if let Some(damage) = outcome.damage {
            assert!(damage.byte_offset <= end as u64 && damage.packets_read == packets, "{damage}");
        }
    }
    assert_eq!(last, total);
}

#[test]
fn flipped_bits_in_the_headers_never_lose_the_packets_before_them() {
    let whole = std::fs::read(sample("handshake-client-close.pcap")).unwrap_or_default();
    let ends = record_ends(&whole);
    // The file header, the first record header and the first frame's headers.
    for byte in 0..(24 + 16 + 66).min(whole.len()) {
        for bit in 0..8 {
            let mut bytes = whole.clone();
            bytes[byte] ^= 1 << bit;
            let Ok(outcome) = read(&bytes) else { continue };
            let packets = outcome.engine.stats().packets;
            if let Some(damage) = &outcome.damage {
                assert_eq!(damage.packets_read, packets, "{damage}");
                assert!(damage.byte_offset <= bytes.len() as u64);
            }
            if byte >= 40 {
                // Only the first frame's bytes changed: its length still holds, so all are read.
                assert_eq!(packets, ends.len() as u64, "bit {bit} of byte {byte}");
            }
        }
    }
}

/// `sample`'s bytes with the captured length of record `index` (0-based) replaced.
fn with_caplen(name: &str, index: usize, caplen: u32) -> (Vec<u8>, usize) {
    let mut bytes = std::fs::read(sample(name)).unwrap_or_default();
    let ends = record_ends(&bytes);
    let start = if index == 0 { 24 } else { ends[index - 1] };
    bytes.splice(start + 8..start + 12, caplen.to_le_bytes());
    (bytes, start)
}

#[test]
fn a_4_gb_captured_length_is_damage_not_an_allocation() {
    let (bytes, start) = with_caplen("close-wait.pcap", 3, u32::MAX);
    let outcome = read(&bytes).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(outcome.engine.stats().packets, 3, "the three packets before it are kept");
    let damage = outcome.damage.unwrap_or_else(|| panic!("no damage reported"));
    let text = damage.to_string();
    assert!(text.contains(&format!("packet 4 at byte {start}")) && text.contains("4294967295"), "{text}");
    // The CLI says the same, keeps the packets, and exits 2.
    let path = temp_file("huge-caplen.pcap", &bytes);
    let output = tcpladder(&["packets", path.to_str().unwrap_or_default()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains(&format!("packet 4 at byte {start}")));
    assert_eq!(String::from_utf8_lossy(&output.stdout).lines().count(), 3);
}

#[test]
fn a_pcapng_block_of_2_pow_31_bytes_is_refused_with_its_offset() {
    let mut bytes = as_pcapng("refused.pcap");
    let sound = read(&bytes).map(|o| o.engine.stats().packets).unwrap_or_default();
    assert!(sound >= 2);
    // Blocks: section header (28 bytes), interface (32), then packets. Break the second packet.
    let mut at = 28 + 32;
    at += u32::from_le_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]]) as usize;
    bytes.splice(at + 4..at + 8, (1u32 << 31).to_le_bytes());
    let outcome = read(&bytes).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(outcome.engine.stats().packets, 1);
    let text = outcome.damage.map(|d| d.to_string()).unwrap_or_default();
    assert!(text.contains(&format!("block at byte {at}")) && text.contains("2147483648"), "{text}");
}

#[test]
fn a_snaplen_of_zero_is_ignored() {
    let mut bytes = std::fs::read(sample("refused.pcap")).unwrap_or_default();
    bytes.splice(16..20, 0u32.to_le_bytes());
    let outcome = read(&bytes).unwrap_or_else(|err| panic!("{err}"));
    assert!(outcome.damage.is_none());
    assert_eq!(outcome.engine.connections().len(), 1);
}

#[test]
fn timestamps_backwards_and_far_ahead_change_no_state() {
    let sound = read(&std::fs::read(sample("server-close-first.pcap")).unwrap_or_default())
        .unwrap_or_else(|err| panic!("{err}"));
    let mut bytes = std::fs::read(sample("server-close-first.pcap")).unwrap_or_default();
    let ends = record_ends(&bytes);
    // The third packet an hour back, the fifth in the year 2106.
    let third = ends[1];
    let seconds = u32::from_le_bytes([bytes[third], bytes[third + 1], bytes[third + 2], bytes[third + 3]]);
    bytes.splice(third..third + 4, (seconds - 3600).to_le_bytes());
    let fifth = ends[3];
    bytes.splice(fifth..fifth + 4, u32::MAX.to_le_bytes());
    let outcome = read(&bytes).unwrap_or_else(|err| panic!("{err}"));
    assert!(outcome.damage.is_none());
    let states = |o: &ReadOutcome| {
        o.engine.connections().iter().map(tcpladder::tcp::Connection::current_states).collect::<Vec<_>>()
    };
    assert_eq!(states(&outcome), states(&sound));
    let path = temp_file("time-travel.pcap", &bytes);
    let output = tcpladder(&["conns", "--json", path.to_str().unwrap_or_default()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap_or_default();
    let duration = rows[0]["duration"].as_f64().unwrap_or(-1.0);
    assert!(duration.is_finite() && duration >= 0.0, "{duration}");
}

#[test]
fn empty_and_one_byte_packets_are_counted_and_skipped() {
    let bytes = std::fs::read(sample("refused.pcap")).unwrap_or_default();
    let mut damaged = bytes[..24].to_vec();
    for data in [&b""[..], &b"\x45"[..]] {
        for word in [1u32, 0, data.len() as u32, data.len() as u32] {
            damaged.extend_from_slice(&word.to_le_bytes());
        }
        damaged.extend_from_slice(data);
    }
    damaged.extend_from_slice(&bytes[24..]);
    let outcome = read(&damaged).unwrap_or_else(|err| panic!("{err}"));
    assert!(outcome.damage.is_none());
    let stats = outcome.engine.stats();
    assert_eq!(stats.skipped_total(), 2, "{:?}", stats.skipped);
    assert_eq!(outcome.engine.connections().len(), 1);
}

#[test]
fn link_types_mixed_in_one_pcapng_all_decode() {
    let path = std::env::temp_dir().join(format!("tcpladder-mixed-links-{}.pcapng", std::process::id()));
    let mut writer = PcapNgWriter::create(&path, 65_535).unwrap_or_else(|err| panic!("{err}"));
    let names = ["handshake-bsd-null.pcap", "handshake-sll2.pcap", "ipv6-handshake.pcap"];
    let links: Vec<LinkType> = names.iter().filter_map(|name| copy_sample(name, &mut writer)).collect();
    writer.flush().unwrap_or_else(|err| panic!("{err}"));
    drop(writer);
    assert_eq!(links, [LinkType::BsdNull, LinkType::LinuxSll2, LinkType::Ethernet]);
    let output = tcpladder(&["conns", "--json", path.to_str().unwrap_or_default()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap_or_default();
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(rows.iter().all(|r| r["conn_state"] == "SF"), "{rows:?}");
    let _ = std::fs::remove_file(path);
}
