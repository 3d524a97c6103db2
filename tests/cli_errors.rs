//! The CLI on files that are not captures, or are cut off: a clear one-line message, a non-zero
//! exit, and everything before the damage.

use crate::util::{sample, tcpladder, temp_file};

#[test]
fn a_missing_file_is_one_clear_line() {
    let output = tcpladder(&["conns", "/nonexistent/capture.pcap"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("/nonexistent/capture.pcap") && stderr.contains("No such file"), "{stderr}");
}

#[test]
fn a_text_file_is_not_a_capture() {
    let path = temp_file("notes.pcap", b"this is not a capture file, just some text\n");
    let output = tcpladder(&["conns", path.to_str().unwrap_or_default()]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not a pcap or pcapng capture"), "{stderr}");
}

#[test]
fn a_capture_cut_mid_packet_keeps_what_came_before() {
    let whole = std::fs::read(sample("handshake-client-close.pcap")).unwrap_or_default();
    let cut = temp_file("cut.pcap", &whole[..whole.len() - 20]);
    let output = tcpladder(&["packets", "--json", cut.to_str().unwrap_or_default()]);
    assert_eq!(output.status.code(), Some(2), "damage exits with 2");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("damaged or cut off after packet"), "{stderr}");
    let full = tcpladder(&["packets", "--json", sample("handshake-client-close.pcap").to_str().unwrap_or_default()]);
    let kept = String::from_utf8_lossy(&output.stdout).lines().count();
    let all = String::from_utf8_lossy(&full.stdout).lines().count();
    assert_eq!(kept, all - 1, "every packet before the cut is kept");
}

#[test]
fn truncating_a_capture_at_every_offset_never_panics() {
    let whole = std::fs::read(sample("broken-pipe.pcap")).unwrap_or_default();
    for end in (0..whole.len()).step_by(7) {
        let path = temp_file("prefix.pcap", &whole[..end]);
        let output = tcpladder(&["conns", path.to_str().unwrap_or_default()]);
        assert!(
            output.status.code().is_some_and(|c| c <= 2),
            "offset {end}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"), "offset {end}");
    }
}

#[test]
fn an_unknown_connection_id_is_an_error() {
    let output = tcpladder(&["ladder", sample("refused.pcap").to_str().unwrap_or_default(), "--conn", "7"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no connection 7"));
}

#[test]
fn a_reader_that_stops_early_is_no_error() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    // 75 KB of JSON Lines: more than a pipe holds, so the writer meets the closed pipe.
    let mut child = Command::new(env!("CARGO_BIN_EXE_tcpladder"))
        .args(["packets", "--json"])
        .arg(sample("close-wait-pileup.pcap"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tcpladder starts");
    let mut first = [0u8; 100];
    child.stdout.take().expect("piped").read_exact(&mut first).expect("output comes");
    let output = child.wait_with_output().expect("tcpladder ends");
    assert_eq!(String::from_utf8_lossy(&output.stderr), "", "as `| head` would see it");
    assert!(output.status.success(), "{:?}", output.status);
}

#[test]
fn a_missing_file_given_to_the_window_is_said_once_and_fails() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tcpladder"))
        .arg("/nonexistent/capture.pcap")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("tcpladder runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert_eq!(stderr.matches("/nonexistent/capture.pcap: cannot read").count(), 1, "{stderr}");
}

#[test]
fn export_takes_its_format_from_the_output_name_or_asks_for_one() {
    let sample = crate::util::sample("broken-pipe.pcap");
    let sample = sample.to_str().unwrap_or_default();
    let out = std::env::temp_dir().join(format!("tcpladder-export-{}.png", std::process::id()));
    let output = tcpladder(&["export", sample, "--conn", "0", "-o", out.to_str().unwrap_or_default()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let bytes = std::fs::read(&out).expect("the PNG");
    assert!(bytes.starts_with(b"\x89PNG"), "a PNG, by the name's extension");
    let _ = std::fs::remove_file(out);
    let output = tcpladder(&["export", sample, "--conn", "0"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("export needs a format: give --format"));
}

#[test]
fn a_compression_not_read_names_the_command_that_undoes_it_and_a_damaged_one_says_so() {
    let plain = std::fs::read(sample("broken-pipe.pcap")).expect("the sample");
    let mut bzipped = b"BZh91AY&SY".to_vec();
    bzipped.extend_from_slice(&plain[..64]);
    let path = temp_file("capture.pcap.bz2", &bzipped);
    let output = tcpladder(&["conns", path.to_str().unwrap_or_default()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("a bzip2-compressed capture") && stderr.contains("bunzip2 -k"), "{stderr}");
    // gzip is read as it streams; a gzip header over garbage is a damaged stream, said so.
    let mut gzipped = vec![0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0x03];
    gzipped.extend_from_slice(&plain[..64]);
    let path = temp_file("capture.pcap.gz", &gzipped);
    let output = tcpladder(&["conns", path.to_str().unwrap_or_default()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("gzip-compressed, but the stream is damaged"), "{stderr}");
}
