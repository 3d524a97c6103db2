//! Which process holds each socket, found as `ss -p` finds it: every `/proc/PID/fd/N` that links
//! to `socket:[INODE]`. Also what each such process may open (`RLIMIT_NOFILE`) and has open.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::path::Path;

use rustc_hash::FxHashMap;
use serde::Serialize;

/// A process that holds sockets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Process {
    pub pid: u32,
    /// Its name (`/proc/PID/comm`).
    pub name: String,
    /// Its command line, arguments joined by spaces.
    pub command: String,
    /// File descriptors open.
    pub open_fds: u32,
    /// The soft `RLIMIT_NOFILE` (`ulimit -n`): an open() past it fails with `EMFILE`. `None`
    /// when unlimited or unreadable.
    pub fd_limit: Option<u64>,
}

/// The processes holding sockets, and what could not be looked at.
#[derive(Debug, Clone, Default)]
pub struct Owners {
    /// Socket inode → the pid holding it (the first found, when a fork shares it). Fx, as the
    /// flow index hashes: inodes are the kernel's counter, not keys anyone picks, and looking up
    /// 50,000 sockets' owners with SipHash took a third of a refresh's time after the dump.
    pub by_inode: FxHashMap<u64, u32>,
    pub processes: HashMap<u32, Process>,
    /// Processes whose descriptors could not be read (another user's, without privilege).
    pub hidden: u32,
}

/// Reads every process under `proc_root` (`/proc`).
pub fn owners(proc_root: &Path) -> Owners {
    let mut owners = Owners::default();
    let Ok(entries) = std::fs::read_dir(proc_root) else { return owners };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok()) else { continue };
        let dir = entry.path();
        let fds = match open_dir(&dir.join("fd")) {
            Ok(fds) => fds,
            Err(err) if err.kind() == ErrorKind::PermissionDenied => {
                owners.hidden += 1;
                continue;
            }
            // Gone since the listing: it exited.
            Err(_) => continue,
        };
        let (open_fds, holds_a_socket) = read_fds(&fds, pid, &mut owners.by_inode);
        if holds_a_socket {
            owners.processes.insert(pid, process(&dir, pid, open_fds));
        }
    }
    owners
}

#[cfg(target_os = "linux")]
type FdDir = rustix::fd::OwnedFd;
#[cfg(not(target_os = "linux"))]
type FdDir = std::path::PathBuf;

#[cfg(target_os = "linux")]
fn open_dir(path: &Path) -> std::io::Result<FdDir> {
    use rustix::fs::{openat, Mode, OFlags, CWD};
    Ok(openat(CWD, path, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?)
}

#[cfg(not(target_os = "linux"))]
fn open_dir(path: &Path) -> std::io::Result<FdDir> {
    std::fs::read_dir(path).map(|_| path.to_path_buf())
}

/// Counts the descriptors in `/proc/PID/fd` and notes the socket inodes among them; returns
/// the count and whether any is a socket. Links are read relative to the open directory into a
/// stack buffer: no path resolved from `/`, no allocation per descriptor.
#[cfg(target_os = "linux")]
fn read_fds(fds: &FdDir, pid: u32, by_inode: &mut FxHashMap<u64, u32>) -> (u32, bool) {
    let Ok(entries) = rustix::fs::Dir::read_from(fds) else { return (0, false) };
    let (mut open_fds, mut holds_a_socket) = (0, false);
    let mut link = [0u8; 64];
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_bytes().starts_with(b".") {
            continue;
        }
        open_fds += 1;
        let Ok(len) = rustix::fs::readlinkat_raw(fds, name, &mut link[..]) else { continue };
        let target = link.get(..len).unwrap_or_default();
        let Some(inode) = std::str::from_utf8(target).ok().and_then(socket_inode) else { continue };
        by_inode.entry(inode).or_insert(pid);
        holds_a_socket = true;
    }
    (open_fds, holds_a_socket)
}

#[cfg(not(target_os = "linux"))]
fn read_fds(fds: &FdDir, pid: u32, by_inode: &mut FxHashMap<u64, u32>) -> (u32, bool) {
    let (mut open_fds, mut holds_a_socket) = (0, false);
    for fd in std::fs::read_dir(fds).into_iter().flatten().flatten() {
        open_fds += 1;
        let Ok(target) = std::fs::read_link(fd.path()) else { continue };
        if let Some(inode) = socket_inode(&target.to_string_lossy()) {
            by_inode.entry(inode).or_insert(pid);
            holds_a_socket = true;
        }
    }
    (open_fds, holds_a_socket)
}

fn process(dir: &Path, pid: u32, open_fds: u32) -> Process {
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap_or_default();
    let name = String::from_utf8_lossy(&read("comm")).trim_end().to_string();
    let command = read("cmdline")
        .split(|&b| b == 0)
        .filter(|arg| !arg.is_empty())
        .map(|arg| String::from_utf8_lossy(arg).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let limits = String::from_utf8_lossy(&read("limits")).into_owned();
    Process { pid, name, command, open_fds, fd_limit: open_files_limit(&limits) }
}

/// `socket:[12345]` → 12345.
fn socket_inode(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
}

/// The soft limit of `Max open files` in a `/proc/PID/limits` text.
pub fn open_files_limit(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|line| line.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files").split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_link_names_its_inode() {
        assert_eq!(socket_inode("socket:[4242]"), Some(4242));
        assert_eq!(socket_inode("pipe:[4242]"), None);
        assert_eq!(socket_inode("/dev/null"), None);
    }

    #[test]
    fn the_soft_open_files_limit_is_read_from_proc_limits() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            16                   1048576              files
";
        assert_eq!(open_files_limit(limits), Some(16));
        assert_eq!(open_files_limit("Max open files            unlimited            unlimited            files"), None);
    }

    #[test]
    fn this_process_is_found_holding_its_own_socket() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a listener");
        let owners = owners(Path::new("/proc"));
        let me = owners.processes.get(&std::process::id()).expect("this process holds a socket");
        assert!(me.open_fds >= 1);
        assert!(owners.by_inode.values().any(|&pid| pid == std::process::id()));
        drop(listener);
    }
}
