//! Capture-quality warnings, said once per capture (`conns --stats`, and above the window's
//! table): what a capture cannot be trusted for.

use tcpladder::capture::pcapng::PcapNgWriter;
use tcpladder::capture::reader::CaptureReader;

use crate::util::{sample, tcpladder};

fn quality_lines(path: &std::path::Path) -> Vec<String> {
    let output = tcpladder(&["conns", "--stats", path.to_str().unwrap_or_default()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|l| l.starts_with("tcpladder: capture quality: "))
        .map(String::from)
        .collect()
}

#[test]
fn a_capture_cut_by_its_snaplen_says_so_and_a_clean_one_says_nothing() {
    let cut = quality_lines(&sample("loss-bulk-2pct.pcap"));
    assert_eq!(cut.len(), 1, "{cut:?}");
    assert!(cut[0].contains("cut by the capture's snapshot length (first: frame 4)"), "{cut:?}");
    assert!(quality_lines(&sample("handshake-client-close.pcap")).is_empty());
}

/// An interface statistics block (pcapng type 5) with `isb_ifdrop` = `drops`, little-endian.
fn statistics_block(drops: u64) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&0u32.to_le_bytes()); // interface 0
    body.extend_from_slice(&[0; 8]); // timestamp
    body.extend_from_slice(&5u16.to_le_bytes());
    body.extend_from_slice(&8u16.to_le_bytes());
    body.extend_from_slice(&drops.to_le_bytes());
    body.extend_from_slice(&[0; 4]); // opt_endofopt
    let length = (body.len() + 12) as u32;
    let mut block = 5u32.to_le_bytes().to_vec();
    block.extend_from_slice(&length.to_le_bytes());
    block.extend_from_slice(&body);
    block.extend_from_slice(&length.to_le_bytes());
    block
}

#[test]
fn the_kernels_drop_count_from_the_interface_statistics_is_reported() {
    let path = std::env::temp_dir().join(format!("tcpladder-isb-{}.pcapng", std::process::id()));
    let mut writer = PcapNgWriter::create(&path, 65_535).unwrap();
    let bytes = std::fs::read(sample("broken-pipe.pcap")).unwrap();
    let mut reader = CaptureReader::new(&bytes[..]).unwrap();
    while let Ok(Some(p)) = reader.next_packet() {
        writer.write(p.link.dlt(), p.ts_nanos, p.data, p.original_len).unwrap();
    }
    writer.flush().unwrap();
    drop(writer);
    // Two statistics blocks: the counts are cumulative, so the last one is the total.
    let mut file = std::fs::read(&path).unwrap();
    file.extend(statistics_block(3));
    file.extend(statistics_block(7));
    std::fs::write(&path, file).unwrap();
    let lines = quality_lines(&path);
    let _ = std::fs::remove_file(&path);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("The capturing kernel dropped 7 packets"), "{lines:?}");
}
