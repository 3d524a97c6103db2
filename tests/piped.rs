//! Captures from anywhere: piped from `tcpdump -w -` on standard input, compressed with gzip,
//! zstd, xz or lz4 (found by their bytes, not their names), and a pipe fed to the live view.

use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use tcpladder::capture::worker::{CaptureEnd, LiveEvent};

use crate::util::{sample, tcpladder};

fn conns_of(input: &str) -> String {
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!("{input} | {} conns -", env!("CARGO_BIN_EXE_tcpladder")))
        .output()
        .expect("sh");
    assert!(output.status.success(), "{input}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("UTF-8")
}

#[test]
fn a_capture_piped_from_tcpdump_or_compressed_reads_as_the_file_does() {
    let path = sample("slow-response.pcap");
    let file = path.to_str().unwrap_or_default();
    let direct = tcpladder(&["conns", file]);
    assert!(direct.status.success());
    let direct = String::from_utf8_lossy(&direct.stdout).to_string();
    assert!(direct.lines().count() > 1);
    assert_eq!(conns_of(&format!("tcpdump -r {file} -w - 2>/dev/null")), direct, "tcpdump -w - | conns -");
    assert_eq!(conns_of(&format!("gzip -c {file}")), direct, "gzip on stdin");
    let dir = std::env::temp_dir().join(format!("tcpladder-piped-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    // Named for nothing: the bytes say what they are.
    let gz = dir.join("capture.bin");
    let status = Command::new("sh").arg("-c").arg(format!("gzip -c {file} > {}", gz.display())).status().expect("gzip");
    assert!(status.success());
    let read = tcpladder(&["conns", gz.to_str().unwrap_or_default()]);
    assert_eq!(String::from_utf8_lossy(&read.stdout), direct, "a gzip file named .bin");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_pipe_feeds_the_live_view_every_packet_then_ends() {
    let path = sample("keepalive-race.pcap");
    let expected = {
        let out = Command::new("tcpdump").arg("-nr").arg(&path).stderr(Stdio::null()).output().expect("tcpdump");
        String::from_utf8_lossy(&out.stdout).lines().count()
    };
    let dir = std::env::temp_dir().join(format!("tcpladder-fifo-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let fifo = dir.join("pipe");
    assert!(Command::new("mkfifo").arg(&fifo).status().expect("mkfifo").success());
    // The capture comes through the pipe in two bursts with a quiet second between, as live
    // traffic does: the first five packets, then the rest.
    let script = "import struct, sys, time\n\
        data = open(sys.argv[1], 'rb').read()\n\
        out = open(sys.argv[2], 'wb')\n\
        at, n = 24, 0\n\
        while at < len(data) and n < 5:\n    at += 16 + struct.unpack_from('<I', data, at + 8)[0]\n    n += 1\n\
        out.write(data[:at]); out.flush(); time.sleep(1)\n\
        out.write(data[at:]); out.close()\n";
    let writer = Command::new("python3").arg("-c").arg(script).arg(&path).arg(&fifo).spawn().expect("the writer");
    let (sender, events) = std::sync::mpsc::sync_channel(64);
    let stop = AtomicBool::new(false);
    let reader = std::thread::spawn({
        let fifo = fifo.clone();
        move || tcpladder::capture::piped::run_piped(&fifo, &stop, &sender, &|| {})
    });
    let (mut started, mut frames, mut batches) = (false, 0, 0);
    let end = loop {
        match events.recv_timeout(Duration::from_secs(20)).expect("the pipe's events") {
            LiveEvent::Started { .. } => started = true,
            LiveEvent::Batch { batch, .. } => {
                frames += batch.frames.len();
                batches += 1;
            }
            LiveEvent::Stopped(end) => break end,
        }
    };
    let _ = reader.join();
    let _ = writer.wait_with_output();
    assert!(started);
    assert!(matches!(end, CaptureEnd::Asked), "{:?}", end.error_text());
    assert_eq!(frames, expected, "every packet of the pipe");
    // The first five came in their own batch, before the pipe went quiet.
    assert!(batches >= 2, "{batches} batches");
    let _ = std::fs::remove_dir_all(dir);
}
