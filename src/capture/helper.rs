//! Least privilege, the way Wireshark does it with dumpcap: a small capture helper,
//! `tcpladder-capture`, is the only program that holds `cap_net_raw`. It opens the interface,
//! writes the save file, and streams the packets as a pcap to its stdout; the window and the CLI
//! run unprivileged and read that stream. libpcap's counters come on stderr, one line a second.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::wire::LinkType;

use super::format::{pcap_file_header, pcap_record_header};
use super::live::{DeviceCapture, LiveError, LiveOptions, Read};
use super::reader::{CaptureReader, MAX_PACKET_LEN};

/// The helper's file name; it is looked for beside the running program.
pub const HELPER_NAME: &str = "tcpladder-capture";
/// How often the helper flushes its output and reports its counters while packets arrive.
const FLUSH_EVERY: Duration = Duration::from_millis(50);
const STATS_EVERY: Duration = Duration::from_secs(1);
/// Packets read from the helper and not yet taken by the caller, at most.
const QUEUED_PACKETS: usize = 65_536;

/// The helper beside the running program, if installed.
pub fn helper_path() -> Option<PathBuf> {
    let path = std::env::current_exe().ok()?.parent()?.join(HELPER_NAME);
    path.is_file().then_some(path)
}

/// The helper's `main`: `tcpladder-capture -i IFACE [-f FILTER] [-s SNAPLEN] [-w FILE] [-p]`.
pub fn helper_main(args: impl Iterator<Item = String>) -> ExitCode {
    let options = match parse_args(args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("error {message}");
            return ExitCode::from(2);
        }
    };
    let mut live = match DeviceCapture::open(&options) {
        Ok(live) => live,
        Err(LiveError::Permission { message, .. }) => {
            eprintln!("permission {message}");
            return ExitCode::from(1);
        }
        Err(err) => {
            eprintln!("error {err}");
            return ExitCode::from(1);
        }
    };
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    let header = pcap_file_header(live.link().dlt(), MAX_PACKET_LEN);
    if out.write_all(&header).and_then(|()| out.flush()).is_err() {
        return ExitCode::SUCCESS;
    }
    let (mut flushed, mut reported) = (Instant::now(), Instant::now());
    loop {
        let mut failed = false;
        let read = live.next(|ts_nanos, frame| failed |= write_record(&mut out, ts_nanos, frame).is_err());
        if failed {
            // The reader went away: that is how a capture is stopped.
            return ExitCode::SUCCESS;
        }
        match read {
            Err(err) => {
                eprintln!("error {err}");
                return ExitCode::from(1);
            }
            Ok(read) => {
                if read == Read::Idle || flushed.elapsed() >= FLUSH_EVERY {
                    // The save file first: what the reader may later drop is already in it.
                    let saved = live.flush();
                    if saved.is_err() || out.flush().is_err() {
                        if let Err(err) = saved {
                            eprintln!("error {err}");
                        }
                        return ExitCode::SUCCESS;
                    }
                    flushed = Instant::now();
                }
            }
        }
        if reported.elapsed() >= STATS_EVERY {
            let (received, dropped) = live.stats().unwrap_or_default();
            eprintln!("stats {received} {dropped}");
            reported = Instant::now();
        }
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<LiveOptions, String> {
    let mut options = LiveOptions::loopback();
    let _program = args.next();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "-i" => options.device = value()?,
            "-f" => options.filter = Some(value()?),
            "-s" => options.snaplen = value()?.parse().map_err(|_| "-s needs a number".to_string())?,
            "-w" => options.save = Some(PathBuf::from(value()?)),
            "-p" => options.promisc = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(options)
}

fn write_record(out: &mut impl Write, ts_nanos: i64, frame: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
    out.write_all(&pcap_record_header(ts_nanos, len, len))?;
    out.write_all(frame)
}

/// A capture run by the helper, read from its output.
pub struct HelperCapture {
    child: Child,
    packets: Receiver<(i64, Vec<u8>)>,
    stats: Arc<Mutex<Option<(u32, u32)>>>,
    link: LinkType,
    device: String,
}

impl HelperCapture {
    /// Starts the helper and waits for its pcap header (or its error).
    pub fn spawn(helper: &std::path::Path, options: &LiveOptions) -> Result<Self, LiveError> {
        let device = options.device.clone();
        let failed = |message: String| LiveError::Device { device: device.clone(), message };
        let mut command = Command::new(helper);
        command.args(["-i", &options.device, "-s", &options.snaplen.to_string()]);
        if let Some(filter) = &options.filter {
            command.args(["-f", filter]);
        }
        if let Some(save) = &options.save {
            command.arg("-w").arg(save);
        }
        if options.promisc {
            command.arg("-p");
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|err| failed(format!("cannot start {}: {err}", helper.display())))?;
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(failed("the capture helper has no output".into()));
        };
        let stats = Arc::new(Mutex::new(None));
        let errors = Arc::new(Mutex::new(Vec::new()));
        let stderr_thread = {
            let (stats, errors) = (Arc::clone(&stats), Arc::clone(&errors));
            std::thread::spawn(move || read_reports(stderr, &stats, &errors))
        };
        let Ok(reader) = CaptureReader::new(stdout) else {
            // No header: the helper failed to open the device. Reap it and read its last words:
            // its stderr says why it failed, which matters more than how waiting for it went.
            let _ = child.wait();
            let _ = stderr_thread.join();
            let lines = errors.lock().map(|e| e.clone()).unwrap_or_default();
            return Err(helper_error(helper, options, &lines));
        };
        let link = reader.link().unwrap_or(LinkType::Ethernet);
        let (sender, packets) = sync_channel(QUEUED_PACKETS);
        std::thread::spawn(move || {
            let mut reader = reader;
            while let Ok(Some(packet)) = reader.next_packet() {
                if sender.send((packet.ts_nanos, packet.data.to_vec())).is_err() {
                    break;
                }
            }
        });
        Ok(Self { child, packets, stats, link, device })
    }

    /// The link type of the packets.
    pub fn link(&self) -> LinkType {
        self.link
    }

    /// The next packet, [`Read::Idle`] when none came within `wait`, an error once the helper ended.
    pub fn next(&mut self, wait: Duration, consume: impl FnOnce(i64, &[u8])) -> Result<Read, LiveError> {
        match self.packets.recv_timeout(wait) {
            Ok((ts_nanos, frame)) => {
                consume(ts_nanos, &frame);
                Ok(Read::Packet)
            }
            Err(RecvTimeoutError::Timeout) => Ok(Read::Idle),
            Err(RecvTimeoutError::Disconnected) => {
                Err(LiveError::Device { device: self.device.clone(), message: "the capture helper stopped".into() })
            }
        }
    }

    /// libpcap's received and dropped counters, as the helper last reported them.
    pub fn stats(&self) -> Option<(u32, u32)> {
        self.stats.lock().ok().and_then(|s| *s)
    }
}

impl std::fmt::Debug for HelperCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HelperCapture").field("link", &self.link()).finish()
    }
}

impl Drop for HelperCapture {
    fn drop(&mut self) {
        // Stopping a helper that already exited fails harmlessly; nothing in a drop can report it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_reports(stderr: impl std::io::Read, stats: &Mutex<Option<(u32, u32)>>, errors: &Mutex<Vec<String>>) {
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        let mut words = line.split_whitespace();
        if words.next() == Some("stats") {
            let numbers: Vec<u32> = words.filter_map(|w| w.parse().ok()).collect();
            if let (Some(&received), Some(&dropped), Ok(mut stats)) = (numbers.first(), numbers.get(1), stats.lock()) {
                *stats = Some((received, dropped));
            }
        } else if let Ok(mut errors) = errors.lock() {
            errors.push(line);
        }
    }
}

fn helper_error(helper: &std::path::Path, options: &LiveOptions, lines: &[String]) -> LiveError {
    let device = options.device.clone();
    let Some(line) = lines.first() else {
        return LiveError::Device { device, message: format!("{} exited without a word", helper.display()) };
    };
    match line.split_once(' ') {
        Some(("permission", message)) => LiveError::Permission {
            device,
            message: message.to_string(),
            remedy: format!(
                "Give the capture helper, and only it, the capability: `sudo setcap cap_net_raw=eip {}` \
                 (add cap_net_admin for promiscuous mode).",
                helper.display()
            ),
        },
        Some((_, message)) => LiveError::Device { device, message: message.to_string() },
        None => LiveError::Device { device, message: line.clone() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_the_helper_writes_is_a_pcap_our_reader_reads() {
        let mut stream = pcap_file_header(LinkType::RawIp.dlt(), MAX_PACKET_LEN).to_vec();
        write_record(&mut stream, 1_700_000_000_123_456_789, &[0x45, 0, 0, 20]).unwrap_or_default();
        let mut reader = CaptureReader::new(&stream[..]).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(reader.link(), Some(LinkType::RawIp));
        let packet = reader.next_packet().ok().flatten().map(|p| (p.ts_nanos, p.data.to_vec()));
        assert_eq!(packet, Some((1_700_000_000_123_456_789, vec![0x45, 0, 0, 20])));
    }

    #[test]
    fn arguments_become_options() {
        let args = ["x", "-i", "eth0", "-f", "tcp port 80", "-s", "128", "-w", "/tmp/a.pcap", "-p"];
        let options =
            parse_args(args.iter().map(std::string::ToString::to_string)).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(options.device, "eth0");
        assert_eq!(options.filter.as_deref(), Some("tcp port 80"));
        assert_eq!((options.snaplen, options.promisc), (128, true));
        assert_eq!(options.save, Some(PathBuf::from("/tmp/a.pcap")));
        assert!(parse_args(["x", "-s"].iter().map(std::string::ToString::to_string)).is_err());
    }

    #[test]
    fn a_helper_without_the_capability_names_the_helper_in_the_remedy() {
        let lines = vec!["permission socket: Operation not permitted".to_string()];
        let err = helper_error(std::path::Path::new("/opt/t/tcpladder-capture"), &LiveOptions::loopback(), &lines);
        assert!(err.to_string().contains("setcap cap_net_raw=eip /opt/t/tcpladder-capture"), "{err}");
    }
}
