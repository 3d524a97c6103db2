//! Live capture through libpcap: list interfaces, open one with a BPF filter, read packets with a
//! timeout (a timeout is "nothing yet", not an error), save what is read, and say exactly what to do
//! when the system does not allow capturing.

use std::path::{Path, PathBuf};

use crate::wire::LinkType;

use super::pcapng::PcapNgWriter;

/// Why live capture failed; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("no permission to capture on {device} ({message}). {remedy}")]
    Permission { device: String, message: String, remedy: String },
    #[error("cannot capture on {device}: {message}")]
    Device { device: String, message: String },
    #[error("bad capture filter `{filter}`: {message}")]
    Filter { filter: String, message: String },
    #[error("cannot write {}: {message}", path.display())]
    Save { path: PathBuf, message: String },
    #[error("cannot list interfaces: {0}")]
    List(String),
    #[error("cannot start the {which} thread: {source}")]
    Thread { which: &'static str, source: std::io::Error },
    /// The capture piped on standard input could not be read (the message names `-`).
    #[error("{message}")]
    Piped { message: String },
}

/// What to run so that capturing works, for this platform. `promisc` needs `cap_net_admin` too.
pub fn permission_remedy(promisc: bool) -> String {
    let binary = std::env::current_exe().map_or_else(|_| "tcpladder".to_string(), |p| p.display().to_string());
    if cfg!(target_os = "macos") {
        "Capturing needs read access to /dev/bpf*: install Wireshark's ChmodBPF helper (or run \
         `sudo chmod o+r /dev/bpf*` until the next reboot), or run tcpladder with sudo."
            .to_string()
    } else if promisc {
        format!("Run `sudo setcap cap_net_raw,cap_net_admin=eip {binary}` once, or run tcpladder with sudo.")
    } else {
        format!(
            "Run `sudo setcap cap_net_raw=eip {binary}` once (add cap_net_admin for promiscuous mode), or \
             run tcpladder with sudo."
        )
    }
}

/// An interface that can be captured on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    pub description: Option<String>,
    pub addresses: Vec<String>,
    pub loopback: bool,
    pub up: bool,
}

/// Interfaces libpcap can open, loopback first.
pub fn list_interfaces() -> Result<Vec<Interface>, LiveError> {
    let devices = pcap::Device::list().map_err(|err| LiveError::List(err.to_string()))?;
    let mut interfaces: Vec<Interface> = devices
        .into_iter()
        .map(|device| Interface {
            loopback: device.flags.is_loopback(),
            up: device.flags.is_up(),
            addresses: device.addresses.iter().map(|a| a.addr.to_string()).collect(),
            description: device.desc,
            name: device.name,
        })
        .collect();
    interfaces.sort_by_key(|i| (!i.loopback, !i.up, i.name.clone()));
    Ok(interfaces)
}

/// Checks a BPF filter for a link type without opening a device; the error is libpcap's.
pub fn check_filter(filter: &str, link: LinkType) -> Result<(), LiveError> {
    let failed = |err: pcap::Error| LiveError::Filter { filter: filter.to_string(), message: err.to_string() };
    let dead = pcap::Capture::dead(pcap::Linktype(link.dlt())).map_err(failed)?;
    dead.compile(filter, true).map(|_| ()).map_err(failed)
}

/// libpcap's default and largest snapshot length: whole packets.
pub const DEFAULT_SNAPLEN: i32 = 262_144;

/// How to capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveOptions {
    pub device: String,
    pub filter: Option<String>,
    pub snaplen: i32,
    pub promisc: bool,
    /// Write every packet read here before anything else happens to it: pcapng when the name ends
    /// in `.pcapng`, pcap otherwise.
    pub save: Option<PathBuf>,
}

impl LiveOptions {
    /// Loopback, no filter, full packets, not promiscuous, not saved.
    pub fn loopback() -> Self {
        let device = if cfg!(target_os = "macos") { "lo0" } else { "lo" };
        Self { device: device.to_string(), filter: None, snaplen: DEFAULT_SNAPLEN, promisc: false, save: None }
    }
}

/// Linux hands packet sockets each loopback packet twice, as sent and as received; libpcap keeps
/// one, but the kernel's counters ("received by the filter", "dropped") count both.
pub fn counters_count_twice(device: &str) -> bool {
    cfg!(target_os = "linux") && device == "lo"
}

/// libpcap's read timeout; in immediate mode Linux ignores it, hence the non-blocking handle.
const READ_TIMEOUT_MS: i32 = 100;
/// How long an idle read waits before reporting "nothing yet", so the caller can stop promptly.
pub const IDLE_WAIT: std::time::Duration = std::time::Duration::from_millis(5);

/// What a read from a live capture found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// A packet, handed to the caller.
    Packet,
    /// Nothing arrived within the wait: not an error, the caller may stop or read again.
    Idle,
}

/// An interface opened by this process (which needs the capability itself).
pub struct DeviceCapture {
    capture: pcap::Capture<pcap::Active>,
    link: LinkType,
    save: Option<Saver>,
    device: String,
}

/// Where saved packets go: libpcap writes pcap; pcapng is written here.
enum Saver {
    Pcap(pcap::Savefile),
    PcapNg(PcapNgWriter, PathBuf),
}

impl std::fmt::Debug for DeviceCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceCapture").field("device", &self.device).field("link", &self.link).finish()
    }
}

impl DeviceCapture {
    /// Opens the device, applies the filter, and creates the save file.
    pub fn open(options: &LiveOptions) -> Result<Self, LiveError> {
        let device = options.device.clone();
        let classify = |err: pcap::Error| classify_open_error(&device, options.promisc, &err);
        let mut capture = pcap::Capture::from_device(device.as_str())
            .map_err(classify)?
            .promisc(options.promisc)
            .snaplen(options.snaplen)
            .timeout(READ_TIMEOUT_MS)
            .immediate_mode(true)
            .precision(pcap::Precision::Nano)
            .open()
            .map_err(classify)?
            .setnonblock()
            .map_err(classify)?;
        if let Some(filter) = &options.filter {
            capture
                .filter(filter, true)
                .map_err(|err| LiveError::Filter { filter: filter.clone(), message: err.to_string() })?;
        }
        let link = LinkType::from_dlt(capture.get_datalink().0);
        let save = match &options.save {
            Some(path) => Some(open_save(&capture, path, options.snaplen)?),
            None => None,
        };
        Ok(Self { capture, link, save, device })
    }

    /// The link type of the packets.
    pub fn link(&self) -> LinkType {
        self.link
    }

    /// The next packet, after saving it if a save file is set, or [`Read::Idle`] when none waits.
    pub fn next(&mut self, consume: impl FnOnce(i64, &[u8])) -> Result<Read, LiveError> {
        match self.capture.next_packet() {
            Ok(packet) => {
                let ts_nanos = super::ts_nanos(packet.header);
                match &mut self.save {
                    Some(Saver::Pcap(save)) => save.write(&packet),
                    Some(Saver::PcapNg(writer, path)) => writer
                        .write(self.link.dlt(), ts_nanos, packet.data, packet.header.len)
                        .map_err(|err| LiveError::Save { path: path.clone(), message: err.to_string() })?,
                    None => {}
                }
                consume(ts_nanos, packet.data);
                Ok(Read::Packet)
            }
            // Non-blocking: nothing is waiting. Pause briefly rather than spin.
            Err(pcap::Error::TimeoutExpired) => {
                std::thread::sleep(IDLE_WAIT);
                Ok(Read::Idle)
            }
            Err(err) => Err(LiveError::Device { device: self.device.clone(), message: err.to_string() }),
        }
    }

    /// Packets the kernel handed over and dropped so far, when libpcap knows.
    pub fn stats(&mut self) -> Option<(u32, u32)> {
        self.capture.stats().ok().map(|s| (s.received, s.dropped))
    }

    /// Flushes the save file.
    pub fn flush(&mut self) -> Result<(), LiveError> {
        let failed = |message: String| LiveError::Save { path: PathBuf::new(), message };
        match &mut self.save {
            Some(Saver::Pcap(save)) => save.flush().map_err(|err| failed(err.to_string())),
            Some(Saver::PcapNg(writer, _)) => writer.flush().map_err(|err| failed(err.to_string())),
            None => Ok(()),
        }
    }
}

fn open_save(capture: &pcap::Capture<pcap::Active>, path: &Path, snaplen: i32) -> Result<Saver, LiveError> {
    let failed = |message: String| LiveError::Save { path: path.to_path_buf(), message };
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("pcapng")) {
        let snaplen = u32::try_from(snaplen).unwrap_or(DEFAULT_SNAPLEN as u32);
        let writer = PcapNgWriter::create(path, snaplen).map_err(|err| failed(err.to_string()))?;
        return Ok(Saver::PcapNg(writer, path.to_path_buf()));
    }
    capture.savefile(path).map(Saver::Pcap).map_err(|err| failed(err.to_string()))
}

fn classify_open_error(device: &str, promisc: bool, err: &pcap::Error) -> LiveError {
    let message = err.to_string();
    let lower = message.to_lowercase();
    if lower.contains("permission") || lower.contains("not permitted") {
        LiveError::Permission { device: device.to_string(), message, remedy: permission_remedy(promisc) }
    } else {
        LiveError::Device { device: device.to_string(), message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_checked_without_a_device() {
        assert!(check_filter("tcp port 8080", LinkType::Ethernet).is_ok());
        let error =
            check_filter("tcp prot 8080", LinkType::Ethernet).err().map(|err| err.to_string()).unwrap_or_default();
        assert!(error.contains("syntax error"), "{error}");
    }

    #[test]
    fn the_remedy_names_the_capability_and_this_binary() {
        let remedy = permission_remedy(false);
        if cfg!(target_os = "linux") {
            assert!(remedy.contains("setcap cap_net_raw=eip /"), "{remedy}");
            assert!(permission_remedy(true).contains("cap_net_raw,cap_net_admin=eip"));
        }
    }

    #[test]
    fn a_permission_error_becomes_a_remedy() {
        let err = pcap::Error::PcapError("socket: Operation not permitted".into());
        assert!(matches!(classify_open_error("lo", false, &err), LiveError::Permission { .. }));
        let err = pcap::Error::PcapError("No such device exists".into());
        assert!(matches!(classify_open_error("nope0", false, &err), LiveError::Device { .. }));
    }
}
